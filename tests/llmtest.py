"""Shared helpers for the Python tests of llm.c (standard library only; tests/ref_numpy.py, the
float64 reference, needs numpy: reference() returns None without it). GGUF files are read and
written with tools/gguf.py (`import gguf` once this module is imported).

Environment (set by tests/run.sh, which runs everything from the repository top):
  LLM     command that runs the binary, word-split, e.g. "./llm" or
          "qemu-riscv64 -cpu rv64,v=true,vlen=256,elen=64,vext_spec=v1.0 ./llm-rv"
  SHARED  the team's read-only asset directory (default ../shared); tests that need it
          print SKIP lines when it is absent
  TEST_TIMEOUT  seconds allowed for one command (default 120)

Every check prints exactly one line: "PASS name", "FAIL name: reason" or "SKIP name: reason".
A test file exits 1 if any check failed, else 0.
"""
import os
import shlex
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))   # gguf

LLM = shlex.split(os.environ.get("LLM", "./llm"))
# One thread, for runs whose thread count does not matter: llm's results are bitwise the same for
# every thread count (test_ports.py and test_stories.py check that), and tests run side by side
# (tests/run.sh), where a second thread mostly waits for a core and costs more than it brings.
T1 = ["-t", "1"]
SHARED = os.environ.get("SHARED", "../shared")
TIMEOUT = float(os.environ.get("TEST_TIMEOUT", "120"))

_failed = 0


def _oneline(s, limit=400):
    s = str(s).replace("\r", "\\r").replace("\n", "\\n")
    return s if len(s) <= limit else s[:limit] + "..."


def check(name, ok, reason=""):
    """One check line. reason is printed for FAIL (and after PASS when given, as a note)."""
    global _failed
    if ok:
        print("PASS %s%s" % (name, (" (" + _oneline(reason) + ")") if reason else ""))
    else:
        _failed += 1
        print("FAIL %s: %s" % (name, _oneline(reason or "failed")))
    sys.stdout.flush()


def skip(name, reason):
    print("SKIP %s: %s" % (name, _oneline(reason)))
    sys.stdout.flush()


def note(msg):
    """Free-form information (not a check); run.sh passes it through."""
    print("# " + _oneline(msg, 2000))
    sys.stdout.flush()


def finish():
    sys.exit(1 if _failed else 0)


def shared(*parts):
    return os.path.join(SHARED, *parts)


def have_shared():
    return os.path.isdir(os.path.join(SHARED, "assets"))


def need_shared(names):
    """True if ../shared is there; else print a SKIP line for each name and return False."""
    if have_shared():
        return True
    for n in names:
        skip(n, "needs the team assets in SHARED=%s, which is absent" % SHARED)
    return False


class Result:
    def __init__(self, args, rc, out, err):
        self.args, self.rc, self.out, self.err = args, rc, out, err

    @property
    def cmd(self):
        return " ".join(shlex.quote(a) for a in self.args)

    @property
    def errline(self):
        return _oneline(self.err.decode("utf-8", "replace").strip(), 300)

    def crashed(self):
        """A signal, a shell-style 128+ status, a timeout or a sanitizer report."""
        if self.rc is None or self.rc < 0 or self.rc >= 128:
            return True
        e = self.err
        return (b"Sanitizer" in e or b"runtime error:" in e or b"Segmentation fault" in e
                or b"core dumped" in e)

    def describe(self):
        if self.rc is None:
            st = "timed out after %gs" % TIMEOUT
        elif self.rc < 0:
            st = "killed by signal %d" % -self.rc
        else:
            st = "exit %d" % self.rc
        return "%s; %s; stderr: %s" % (self.cmd, st, self.errline)


def run(args, stdin=None, timeout=None):
    """Run `$LLM args`; never raises for the program's behaviour."""
    full = LLM + [str(a) for a in args]
    try:
        p = subprocess.run(full, stdin=subprocess.DEVNULL if stdin is None else None,
                           input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout or TIMEOUT)
        return Result(full, p.returncode, p.stdout, p.stderr)
    except subprocess.TimeoutExpired as e:
        return Result(full, None, e.stdout or b"", e.stderr or b"")
    except OSError as e:
        return Result(full, 127, b"", ("cannot execute: %s" % e).encode())


def same_text(out, expected):
    """stdout equals expected, allowing one trailing newline difference."""
    if out == expected:
        return True
    return out.endswith(b"\n") and out[:-1] == expected or \
        expected.endswith(b"\n") and expected[:-1] == out


def first_diff(a, b):
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return "first difference at byte %d: expected %r, got %r" % (
                i, b[max(0, i - 20):i + 20], a[max(0, i - 20):i + 20])
    return "lengths differ: got %d bytes, expected %d (common prefix equal)" % (len(a), len(b))


def read_f32(path):
    with open(path, "rb") as f:
        data = f.read()
    n = len(data) // 4
    return list(struct.unpack("<%df" % n, data[:4 * n])), len(data)


def compare_logits(got, ref):
    """(max |got-ref| / max |ref|, argmax equal) for two float lists of the same length."""
    mref = max(abs(x) for x in ref) or 1.0
    md = max(abs(a - b) for a, b in zip(got, ref))
    am = lambda v: max(range(len(v)), key=lambda i: v[i])
    return md / mref, am(got) == am(ref), am(got), am(ref)


def tmpdir():
    return tempfile.TemporaryDirectory(prefix="llmtest-")


NO_NUMPY = "python3-numpy is not installed (the float64 reference, tests/ref_numpy.py, needs it)"


def reference():
    """tests/ref_numpy.py, the float64 reference forward pass, or None without numpy (print SKIP
    lines with NO_NUMPY then)."""
    try:
        import ref_numpy
    except ImportError:
        return None
    return ref_numpy
