"""Memory of a loaded model (Linux /proc): once the weights are placed, the process keeps no page
of the model file's tensor data mapped (the weights live in the per-thread arenas, the norm
vectors in an owned block), for every --numa mode that works on one node and for packed and
unpacked types; and the arenas are in transparent huge pages (when the kernel's THP setting is
"always" or "madvise": the arenas ask for them with madvise), at least half of the weight
bytes. The model waits in `llm chat` for its first line while /proc/PID/smaps is read."""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llmtest import LLM, check, finish, skip, tmpdir  # noqa: I100
import gguf  # noqa: E402

MKMODEL = os.environ.get("MKMODEL", "tools/mkmodel")


def smaps_kib(pid, path):
    """(Rss in KiB of the mappings of `path`, AnonHugePages in KiB of the whole process) in
    process pid"""
    total, huge, inside = 0, 0, False
    real = os.path.realpath(path)
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            head = line.split()
            if re.match(r"[0-9a-f]+-[0-9a-f]+ ", line):      # a mapping's first line
                inside = len(head) >= 6 and os.path.realpath(head[5]) == real
            elif inside and line.startswith("Rss:"):
                total += int(head[1])
            elif line.startswith("AnonHugePages:"):
                huge += int(head[1])
    return total, huge


def thp_mode():
    """the kernel's transparent huge page setting ("always", "madvise", "never"), or None"""
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            m = re.search(r"\[(\w+)\]", f.read())
            return m.group(1) if m else None
    except OSError:
        return None


def loaded_rss(model, extra):
    """start `llm chat` on model, let it answer one line (a forward pass over every layer);
    ((KiB of the file mapped then, KiB in huge pages), error)"""
    p = subprocess.Popen(LLM + ["chat", "-m", model, "--chat-template", "chatml", "-n", "2", "--temp", "0"] + extra,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = b""
    try:
        deadline = time.time() + 60
        os.set_blocking(p.stdout.fileno(), False)
        p.stdin.write(b"hello\n")
        p.stdin.flush()
        while not out and p.poll() is None and time.time() < deadline:
            time.sleep(0.05)
            out += p.stdout.read() or b""
        if not out:
            return None, "no answer on stdout (exit %s)" % p.poll()
        time.sleep(0.5)
        return smaps_kib(p.pid, model), ""
    finally:
        try:
            p.stdin.close()
        except OSError:
            pass
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def main():
    if not os.path.exists("/proc/self/smaps"):
        skip("memory", "no /proc/PID/smaps here")
        return finish()
    if not os.path.exists(MKMODEL):
        skip("memory", "%s not built" % MKMODEL)
        return finish()
    if len(LLM) > 1:
        skip("memory", "LLM runs under a wrapper (%s): its maps are not the model's" % LLM[0])
        return finish()
    thp = thp_mode()
    if thp not in ("always", "madvise"):
        skip("memory.hugepages", "transparent huge pages are %s here" % (thp or "not available"))
    with tmpdir() as td:
        for ttype in ("F16", "Q8_0"):
            model = os.path.join(td, "m-%s.gguf" % ttype)
            subprocess.run([MKMODEL, model, "--type", ttype, "--dim", "512", "--ffn", "1376", "--layers", "4",
                            "--heads", "8", "--kv-heads", "4", "--vocab", "2000"], check=True)
            g = gguf.Reader(model)
            meta_kib = (g.data_start + 4095) // 4096 * 4
            size_kib = os.path.getsize(model) // 1024
            for numa in ("off", "distribute"):
                for th in ("1", "2"):
                    got, why = loaded_rss(model, ["--numa", numa, "-t", th])
                    kib, huge = got if got else (None, 0)
                    name = "memory.%s.%s.t%s" % (ttype, numa, th)
                    check(name, kib is not None and kib <= meta_kib + 8,
                          why or "%d KiB of the %d KiB file mapped, metadata is %d KiB" % (kib, size_kib, meta_kib))
                    if thp in ("always", "madvise"):
                        weights_kib = size_kib - meta_kib
                        check(name + ".hugepages", kib is not None and huge >= weights_kib // 2,
                              why or "%d KiB in transparent huge pages, weights %d KiB (THP %s)" % (huge, weights_kib, thp))
    finish()


main()
