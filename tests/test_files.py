"""Files and streams at the edges: nothing lost, nothing overwritten.

- Output files (quantize, --dump-logits, --dump-tokens, tools/mkmodel): written to a temporary
  created exclusively next to OUT and renamed over it when complete; an OUT that exists and is
  not a regular file (a FIFO, a device, a directory) is refused and left alone; a planted
  symlink is never followed; SIGINT/SIGTERM/SIGHUP and write errors leave no temporary; two
  concurrent runs to one OUT leave one complete output.
- Streams: a failed write to stdout (a full device, a file size limit) is an error naming the
  cause, exit 1; a closed pipe ends the run quietly (SIGPIPE, or status 141 when it is ignored).
- Inputs: prompt files and chat lines longer than the context can hold are refused before they
  are read whole (memory stays bounded on /dev/zero, /dev/urandom, a sparse 8 GiB file).
- A model file truncated while it is read (SIGBUS on the mapping): a message naming the file,
  exit 1, no temporary file left (quantize and info deterministically: the process is held on
  a full pipe while the file shrinks; run: the file is cut as soon as it is mapped).

Models: models/kjv.gguf (in the repository) and random models written by tools/mkmodel.
"""
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llmtest import LLM, check, finish, note, run, skip, tmpdir  # noqa: E402
import gguf  # noqa: E402

MKMODEL = os.environ.get("MKMODEL", "tools/mkmodel")
KJV = "models/kjv.gguf"
ENOSPC_MSG = "writing output: No space left on device"


def mkmodel(path, *args):
    subprocess.run([MKMODEL, path] + list(args), check=True, stdout=subprocess.DEVNULL)
    return path


def extra_files(d, keep):
    """names in directory d other than those in keep (leftover temporaries)"""
    return sorted(n for n in os.listdir(d) if n not in keep)


def kind(path):
    try:
        m = os.lstat(path).st_mode
    except FileNotFoundError:
        return "absent"
    for test, name in ((stat.S_ISFIFO, "fifo"), (stat.S_ISCHR, "chardev"), (stat.S_ISDIR, "dir"),
                       (stat.S_ISLNK, "symlink"), (stat.S_ISREG, "file")):
        if test(m):
            return name
    return "other"


def rm(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def limits(fsize=None, sigpipe_ignored=False):
    """preexec_fn: a file size limit (SIGXFSZ ignored, so writes fail with EFBIG) / SIGPIPE ignored"""
    def f():
        if fsize is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
        if sigpipe_ignored:
            signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    return f


def proc_run(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, preexec=None, timeout=120):
    """(rc, stdout bytes, stderr text); rc None on a timeout"""
    p = subprocess.Popen(LLM + args, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, preexec_fn=preexec)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        return None, out or b"", (err or b"").decode("utf-8", "replace") + " [timed out]"
    return p.returncode, out or b"", err.decode("utf-8", "replace")


def rss_mb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def run_watched(args, stdin=subprocess.DEVNULL, max_mb=400, timeout=60):
    """Run with the resident memory watched: killed when it passes max_mb. Returns
    (rc, stderr text, peak MiB, killed)."""
    p = subprocess.Popen(LLM + args, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = []
    t = threading.Thread(target=lambda: err.append(p.stderr.read()))
    t.start()
    peak, killed, t0 = 0.0, False, time.time()
    while p.poll() is None:
        peak = max(peak, rss_mb(p.pid))
        if peak > max_mb or time.time() - t0 > timeout:
            killed = True
            p.kill()
            break
        time.sleep(0.01)
    p.wait()
    t.join()
    return p.returncode, (err[0] if err else b"").decode("utf-8", "replace"), peak, killed


def wait_mapped(pid, path, timeout=30):
    """poll /proc/PID/maps until the file is mapped; True if it was"""
    real = os.path.realpath(path)
    t0 = time.time()
    while time.time() - t0 < timeout:
        try:
            with open("/proc/%d/maps" % pid) as f:
                if real in f.read():
                    return True
        except OSError:
            return False
        time.sleep(0.0005)
    return False


def full_pipe():
    """(r, w): a pipe whose buffer is full, so the first write to w blocks"""
    r, w = os.pipe()
    os.set_blocking(w, False)
    try:
        while True:
            os.write(w, b"x" * 4096)
    except BlockingIOError:
        pass
    os.set_blocking(w, True)
    return r, w


def drain(fd, sink):
    """read fd to its end in a thread, keeping what is not the pre-filled 'x' padding"""
    def f():
        chunks = []
        while True:
            b = os.read(fd, 65536)
            if not b:
                break
            chunks.append(b)
        sink.append(b"".join(chunks).lstrip(b"x"))
        os.close(fd)
    t = threading.Thread(target=f)
    t.start()
    return t


# ---- output files -----------------------------------------------------------------------------

def output_files(td, big):
    ref = os.path.join(td, "ref-q8.gguf")
    r = run(["quantize", KJV, ref, "Q8_0"])
    if r.rc != 0:
        check("files.quantize_reference", False, r.describe())
        return
    refb = read(ref)
    d = os.path.join(td, "out")
    os.mkdir(d)

    # OUT exists and is not a regular file: refused, left as it was, nothing else created
    targets = [("fifo", lambda p: os.mkfifo(p)), ("dir", lambda p: os.mkdir(p))]
    if os.geteuid() == 0:   # a device node of our own (the real /dev/full must never be at stake)
        targets.append(("chardev", lambda p: os.mknod(p, 0o666 | stat.S_IFCHR, os.makedev(1, 7))))
    else:
        skip("files.quantize_to_chardev", "not root: cannot create a device node to write to")
    for name, make in targets:
        out = os.path.join(d, "to-" + name)
        make(out)
        r = run(["quantize", KJV, out, "Q8_0"], timeout=20)
        left = extra_files(d, {os.path.basename(out)})
        ok = r.rc == 1 and kind(out) == name and not left and "regular" in r.errline and "to-" + name in r.errline
        check("files.quantize_to_%s" % name, ok, "%s; OUT is now %s; left: %s" % (r.describe(), kind(out), left))
        rm(out)

    # a symlink planted where the old code put its temporary: never followed
    victim = os.path.join(td, "victim")
    with open(victim, "w") as f:
        f.write("x\n")
    out = os.path.join(d, "q.gguf")
    os.symlink(victim, out + ".tmp")
    r = run(["quantize", KJV, out, "Q8_0"])
    ok = r.rc == 0 and read(victim) == b"x\n" and kind(out) == "file" and read(out) == refb
    check("files.quantize_planted_tmp_symlink", ok, "%s; victim %r; OUT is a %s%s" % (
        r.describe(), read(victim)[:20], kind(out), ", equal to a clean output" if kind(out) == "file" and read(out) == refb else ""))
    rm(out + ".tmp")
    rm(out)
    # OUT itself a symlink: the link is replaced, its target untouched
    os.symlink(victim, out)
    r = run(["quantize", KJV, out, "Q8_0"])
    ok = r.rc == 0 and read(victim) == b"x\n" and kind(out) == "file" and read(out) == refb
    check("files.quantize_out_symlink_replaced", ok, "%s; victim %r; OUT is a %s" % (r.describe(), read(victim)[:20], kind(out)))
    rm(out)
    with open(victim, "w") as f:
        f.write("x\n")

    # a write error (file size limit, like a full disk): exit 1, no OUT, no temporary
    rc, _, err = proc_run(["quantize", KJV, out, "Q8_0"], preexec=limits(fsize=65536))
    left = extra_files(d, set())
    ok = rc == 1 and "File too large" in err and not left
    check("files.quantize_write_error", ok, "exit %s; stderr %r; left: %s" % (rc, err.strip()[-200:], left))
    for n in left:
        rm(os.path.join(d, n))

    # signals: the temporary is removed, the process ends by the signal
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        # (the signal's default action even when this test runs where it is ignored, e.g. `make test &`)
        p = subprocess.Popen(LLM + ["quantize", big, out, "Q4_K"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             preexec_fn=lambda: [signal.signal(s, signal.SIG_DFL) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)])
        seen, t0 = [], time.time()
        while p.poll() is None and not seen and time.time() - t0 < 60:
            seen = extra_files(d, set())
            time.sleep(0.002)
        if seen:
            time.sleep(0.05)
            p.send_signal(sig)
        _, err = p.communicate()
        left = extra_files(d, set())
        ok = seen and p.returncode == -sig and not left
        check("files.quantize_%s_cleans_up" % signal.Signals(sig).name.lower(), ok,
              "temporary seen: %s; exit %s; left: %s; stderr %r" % (seen, p.returncode, left, err[-200:]))
        for n in left:
            rm(os.path.join(d, n))

    # two runs to one OUT: it ends as one complete output, never a mix. The second (Q8_0, quick)
    # starts once the first (Q4_K, slow) has its temporary, so the two overlap.
    mid = mkmodel(os.path.join(td, "mid.gguf"), "--dim", "256", "--layers", "6", "--ffn", "768", "--vocab", "4096")
    refs = {}
    for t in ("Q4_K", "Q8_0"):
        refs[t] = os.path.join(td, "ref-mid-" + t)
        r = run(["quantize", mid, refs[t], t])
        if r.rc != 0:
            check("files.quantize_concurrent", False, "reference: " + r.describe())
            return
    p1 = subprocess.Popen(LLM + ["quantize", mid, out, "Q4_K"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    t0 = time.time()
    while p1.poll() is None and not extra_files(d, set()) and time.time() - t0 < 60:
        time.sleep(0.002)
    p2 = subprocess.Popen(LLM + ["quantize", mid, out, "Q8_0"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    e1, e2 = p1.communicate()[1], p2.communicate()[1]
    got = read(out) if os.path.exists(out) else b""
    same = [t for t in refs if got == read(refs[t])]
    left = extra_files(d, {"q.gguf"})
    ok = p1.returncode == 0 and p2.returncode == 0 and len(same) == 1 and not left
    check("files.quantize_concurrent", ok, "exits %s, %s; OUT (%d bytes) equals the clean %s output; left: %s; stderr %r %r" % (
        p1.returncode, p2.returncode, len(got), same or "no", left, e1[-120:], e2[-120:]))
    for n in extra_files(d, set()):
        rm(os.path.join(d, n))


def dump_files(td):
    d = os.path.join(td, "dumps")
    os.mkdir(d)
    gen = ["run", "-m", KJV, "-p", "In the beginning", "-n", "8", "--temp", "0"]
    r = run(gen + ["--dump-logits", os.path.join(d, "ref.f32"), "--dump-tokens", os.path.join(d, "ref.txt")])
    if r.rc != 0:
        check("files.dump_reference", False, r.describe())
        return
    ref = {"logits": read(os.path.join(d, "ref.f32")), "tokens": read(os.path.join(d, "ref.txt"))}
    keep = {"ref.f32", "ref.txt"}
    victim = os.path.join(td, "dump-victim")
    for what in ("logits", "tokens"):
        opt = "--dump-" + what
        # a FIFO: refused at once (a plain open would wait for a reader forever)
        out = os.path.join(d, what + ".fifo")
        os.mkfifo(out)
        r = run(gen + [opt, out], timeout=20)
        left = extra_files(d, keep | {what + ".fifo"})
        ok = r.rc == 1 and kind(out) == "fifo" and not left and "regular" in r.errline
        check("files.dump_%s_to_fifo" % what, ok, "%s; OUT is a %s; left %s" % (r.describe(), kind(out), left))
        for n in left + [what + ".fifo"]:
            rm(os.path.join(d, n))
        # OUT a symlink to a file: the link is replaced, the file it points to is not written
        with open(victim, "w") as f:
            f.write("x\n")
        out = os.path.join(d, what + ".link")
        os.symlink(victim, out)
        r = run(gen + [opt, out])
        ok = r.rc == 0 and read(victim) == b"x\n" and kind(out) == "file" and read(out) == ref[what]
        check("files.dump_%s_symlink_not_followed" % what, ok, "%s; victim %r; OUT is a %s" % (
            r.describe(), read(victim)[:20], kind(out)))
        rm(out)
    # a write error on --dump-tokens: reported, exit 1, nothing left
    out = os.path.join(d, "t.txt")
    rc, _, err = proc_run(gen + ["--dump-tokens", out], preexec=limits(fsize=8))
    left = extra_files(d, keep)
    ok = rc == 1 and "File too large" in err and not left
    check("files.dump_tokens_write_error", ok, "exit %s; stderr %r; left %s" % (rc, err.strip()[-200:], left))


def mkmodel_files(td):
    d = os.path.join(td, "mk")
    os.mkdir(d)
    out = os.path.join(d, "m.gguf")
    os.mkfifo(out)
    r = subprocess.run([MKMODEL, out], capture_output=True, timeout=20)
    left = extra_files(d, {"m.gguf"})
    ok = r.returncode == 1 and kind(out) == "fifo" and not left and b"regular" in r.stderr
    check("files.mkmodel_to_fifo", ok, "exit %s; OUT is a %s; left %s; stderr %r" % (r.returncode, kind(out), left, r.stderr[-200:]))
    for n in left + ["m.gguf"]:
        rm(os.path.join(d, n))
    victim = os.path.join(td, "mk-victim")
    with open(victim, "w") as f:
        f.write("x\n")
    os.symlink(victim, out + ".tmp")
    r = subprocess.run([MKMODEL, out], capture_output=True, timeout=60)
    ok = r.returncode == 0 and read(victim) == b"x\n" and kind(out) == "file"
    check("files.mkmodel_planted_tmp_symlink", ok, "exit %s; victim %r; OUT is a %s" % (r.returncode, read(victim)[:20], kind(out)))


# ---- streams ----------------------------------------------------------------------------------

def streams(td):
    text = os.path.join(td, "ppl.txt")
    with open("models/kjv-heldout.txt", "rb") as f:
        data = f.read(6000)
    with open(text, "wb") as f:
        f.write(data)
    cmds = {
        "run": (["run", "-m", KJV, "-p", "In the beginning", "-n", "16", "--temp", "0"], None),
        "tokenize": (["tokenize", "-m", KJV, "-p", "In the beginning"], None),
        "info": (["info", "-m", KJV], None),
        "perplexity": (["perplexity", "-m", KJV, "-f", text, "-c", "64"], None),
        "bench": (["bench", "-m", KJV, "-p", "8", "-n", "4", "-r", "1", "-t", "1", "--membw", "10"], None),
        "chat": (["chat", "-m", KJV, "-n", "8", "--temp", "0"], b"hello\n"),
        "help": (["run", "--help"], None),
    }
    for name, (args, stdin) in cmds.items():
        with open("/dev/full", "wb") as full:
            p = subprocess.run(LLM + args, input=stdin, stdin=None if stdin else subprocess.DEVNULL, stdout=full,
                               stderr=subprocess.PIPE, timeout=120)
        err = p.stderr.decode("utf-8", "replace")
        ok = p.returncode == 1 and ENOSPC_MSG in err
        check("files.stdout_full_%s" % name, ok, "exit %s; stderr %r" % (p.returncode, err.strip()[-200:]))
    # a regular file that cannot grow (like a full file system)
    with open(os.path.join(td, "stdout.txt"), "wb") as f:
        rc, _, err = proc_run(cmds["run"][0], stdout=f, preexec=limits(fsize=10))
    ok = rc == 1 and "writing output: File too large" in err
    check("files.stdout_file_too_large", ok, "exit %s; stderr %r" % (rc, err.strip()[-200:]))
    # a closed pipe: quietly, by SIGPIPE (141 in a shell); with SIGPIPE ignored, exit status 141
    for ignored in (False, True):
        for name in ("run", "info", "tokenize"):
            r, w = os.pipe()
            os.close(r)
            rc, _, err = proc_run(cmds[name][0], stdout=w, preexec=limits(sigpipe_ignored=ignored))
            os.close(w)
            want = 141 if ignored else -signal.SIGPIPE
            ok = rc == want and "writing output" not in err and "Broken pipe" not in err
            check("files.closed_pipe_%s%s" % (name, "_sigpipe_ignored" if ignored else ""), ok,
                  "exit %s, expected %s; stderr %r" % (rc, want, err.strip()[-200:]))


# ---- bounded inputs ---------------------------------------------------------------------------

def bounded_inputs(td):
    sparse = os.path.join(td, "sparse.txt")
    with open(sparse, "wb") as f:
        f.truncate(8 << 30)
    cases = [
        ("run_f_dev_zero", ["run", "-m", KJV, "-f", "/dev/zero", "-n", "4"], None, ["/dev/zero", "context"]),
        ("run_f_dev_urandom", ["run", "-m", KJV, "-f", "/dev/urandom", "-n", "4"], None, ["/dev/urandom", "context"]),
        ("run_f_sparse_8g", ["run", "-m", KJV, "-f", sparse, "-n", "4"], None, ["sparse.txt", "context"]),
        ("perplexity_f_dev_urandom", ["perplexity", "-m", KJV, "-f", "/dev/urandom"], None, ["/dev/urandom", "MiB"]),
        ("perplexity_f_dev_zero", ["perplexity", "-m", KJV, "-f", "/dev/zero"], None, ["/dev/zero", "MiB"]),
        ("perplexity_f_sparse_8g", ["perplexity", "-m", KJV, "-f", sparse], None, ["sparse.txt", "MiB"]),
        ("tokenize_f_dev_zero", ["tokenize", "-m", KJV, "-f", "/dev/zero"], None, ["/dev/zero", "MiB"]),
        ("chat_stdin_dev_zero", ["chat", "-m", KJV, "-n", "4"], "/dev/zero", ["context"]),
    ]
    for name, args, stdin, kw in cases:
        f = open(stdin, "rb") if stdin else subprocess.DEVNULL
        rc, err, peak, killed = run_watched(args, stdin=f)
        if stdin:
            f.close()
        last = err.strip().split("\n")[-1]
        ok = not killed and rc == 1 and all(k in last for k in kw)
        check("files.%s" % name, ok, "exit %s; peak RSS %.0f MiB%s; stderr %r" % (
            rc, peak, " (killed)" if killed else "", err.strip()[-200:]))
    # one chat line longer than the context can hold: an error (exit 1 for piped input), not
    # a silent end of the conversation
    line = b"and the earth was without form and void " * 20000 + b"\n"
    p = subprocess.run(LLM + ["chat", "-m", KJV, "-n", "4", "--temp", "0"], input=b"hello\n" + line, capture_output=True,
                       timeout=120)
    err = p.stderr.decode("utf-8", "replace")
    ok = p.returncode == 1 and "context" in err and "bytes" in err
    check("files.chat_line_too_long", ok, "exit %s; stderr %r" % (p.returncode, err.strip()[-240:]))


# ---- a model file truncated while it is read ----------------------------------------------------

def sigbus(td, big):
    d = os.path.join(td, "bus")
    os.mkdir(d)
    pristine = os.path.join(td, "q8.gguf")
    mkmodel(pristine, "--dim", "256", "--layers", "16", "--ffn", "768", "--vocab", "4096", "--type", "Q8_0")

    # the metadata and tensor table stay, the tensor data goes: reading the data faults
    data_start = gguf.Reader(pristine).data_start

    def held(args, model, hold, keep):
        """run args with stdout or stderr on a full pipe; cut the model to keep bytes once it is mapped"""
        r, w = full_pipe()
        out = []
        kw = {"stdout": w, "stderr": subprocess.PIPE} if hold == "stdout" else {"stdout": subprocess.DEVNULL, "stderr": w}
        p = subprocess.Popen(LLM + args, **kw)
        os.close(w)
        mapped = wait_mapped(p.pid, model)
        os.truncate(model, keep)
        t = drain(r, out)
        err = p.communicate(timeout=120)[1]
        t.join()
        err = (err or b"") if hold == "stdout" else out[0]
        return mapped, p.returncode, err.decode("utf-8", "replace")

    for attempt in range(3):
        model = os.path.join(d, "in.gguf")
        shutil.copyfile(pristine, model)
        # quantize is held on its stderr ("... copied as is") before it reads any tensor data;
        # it faults in the data, with its temporary output open
        mapped, rc, err = held(["quantize", model, os.path.join(d, "out.gguf"), "Q4_0"], model, "stderr", data_start)
        left = extra_files(d, {"in.gguf"})
        ok = mapped and rc == 1 and "changed or truncated while being read" in err and "in.gguf" in err and not left
        check("files.sigbus_quantize.%d" % attempt, ok, "mapped %s; exit %s; left %s; stderr %r" % (
            mapped, rc, left, err.strip()[-200:]))
        shutil.copyfile(pristine, model)
        # info is held on its stdout while it prints the metadata and tensor table from the map
        mapped, rc, err = held(["info", "-m", model], model, "stdout", 0)
        ok = mapped and rc == 1 and "changed or truncated while being read" in err and "in.gguf" in err
        check("files.sigbus_info.%d" % attempt, ok, "mapped %s; exit %s; stderr %r" % (mapped, rc, err.strip()[-200:]))

    # run: the file is cut as soon as it is mapped, while it is parsed or its weights placed
    # (to nothing, or to its metadata: then the placement threads fault); every attempt must end
    # cleanly, and most are hit while reading
    hits, big_data = 0, gguf.Reader(big).data_start
    for attempt in range(4):
        model = os.path.join(d, "run.gguf")
        shutil.copyfile(big, model)
        p = subprocess.Popen(LLM + ["run", "-m", model, "-p", "hi", "-n", "2", "-t", "2"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        mapped = wait_mapped(p.pid, model)
        os.truncate(model, big_data if attempt % 2 else 0)
        err = p.communicate(timeout=120)[1].decode("utf-8", "replace")
        hit = "changed or truncated while being read" in err and "run.gguf" in err
        hits += hit
        ok = mapped and (p.returncode == 0 or (p.returncode == 1 and hit))
        check("files.sigbus_run.%d" % attempt, ok, "mapped %s; exit %s; %s; stderr %r" % (
            mapped, p.returncode, "hit while reading" if hit else "not hit", err.strip()[-200:]))
    check("files.sigbus_run_hit", hits > 0, "%d of 4 attempts cut the file while it was read" % hits)


def main():
    if not os.path.exists(MKMODEL):
        skip("files", "%s not built (make tools/mkmodel)" % MKMODEL)
        return
    if not os.path.exists(KJV):
        skip("files", "%s is missing" % KJV)
        return
    with tmpdir() as td:
        big = mkmodel(os.path.join(td, "big.gguf"), "--dim", "512", "--layers", "6", "--ffn", "1536", "--vocab", "4096")
        note("big model: %.0f MiB F32" % (os.path.getsize(big) / 1048576.0))
        output_files(td, big)
        dump_files(td)
        mkmodel_files(td)
        streams(td)
        bounded_inputs(td)
        sigbus(td, big)


main()
finish()
