"""Shared helpers for the Python tests of llm.c (standard library only).

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

LLM = shlex.split(os.environ.get("LLM", "./llm"))
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


# ---- GGUF (read / write), enough to inspect and to build corrupted copies --------------------

GGUF_SCALAR = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q",
               12: "d"}
GGML_TYPE_NAME = {0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 8: "Q8_0",
                  10: "Q2_K", 11: "Q3_K", 12: "Q4_K", 13: "Q5_K", 14: "Q6_K", 30: "BF16"}
GGML_TYPE_ID = {v: k for k, v in GGML_TYPE_NAME.items()}
# (elements per block, bytes per block)
GGML_BLOCK = {0: (1, 4), 1: (1, 2), 30: (1, 2), 8: (32, 34), 2: (32, 18)}


class GGUF:
    """A parsed GGUF file. kvs: list of [key, type, value] where arrays are (elem_type, list).
    tensors: list of dicts {name, dims, type, offset, info_pos} (info_pos = byte position of the
    tensor info record's n_dims field, for in-place patching). data_start: start of tensor data.
    Field positions of kvs are in kv_pos[key] = byte position of the value."""

    def __init__(self, blob):
        self.blob = blob
        self.pos = 0
        if blob[:4] != b"GGUF":
            raise ValueError("bad magic")
        self.pos = 4
        self.version = self._rd("I")
        n_tensors = self._rd("Q")
        n_kv = self._rd("Q")
        self.kvs, self.kv_pos = [], {}
        for _ in range(n_kv):
            key = self._str()
            t = self._rd("I")
            self.kv_pos[key] = self.pos
            self.kvs.append([key, t, self._val(t)])
        self.tensors = []
        for _ in range(n_tensors):
            name = self._str()
            ip = self.pos
            nd = self._rd("I")
            dims = [self._rd("Q") for _ in range(nd)]
            t = self._rd("I")
            off = self._rd("Q")
            self.tensors.append(dict(name=name, dims=dims, type=t, offset=off, info_pos=ip))
        self.info_end = self.pos
        a = self.alignment
        self.data_start = (self.pos + a - 1) // a * a

    def _rd(self, fmt):
        v = struct.unpack_from("<" + fmt, self.blob, self.pos)[0]
        self.pos += struct.calcsize("<" + fmt)
        return v

    def _str(self):
        n = self._rd("Q")
        if n > len(self.blob):
            raise ValueError("string length out of range")
        s = self.blob[self.pos:self.pos + n]
        self.pos += n
        return s.decode("utf-8")

    def _val(self, t):
        if t == 8:
            return self._str()
        if t == 9:
            et = self._rd("I")
            n = self._rd("Q")
            if n > len(self.blob):
                raise ValueError("array length out of range")
            return (et, [self._val(et) for _ in range(n)])
        return self._rd(GGUF_SCALAR[t])

    def kv(self, key, default=None):
        for k, t, v in self.kvs:
            if k == key:
                return v
        return default

    @property
    def alignment(self):
        return self.kv("general.alignment", 32) or 32

    def tensor(self, name):
        for t in self.tensors:
            if t["name"] == name:
                return t
        return None

    def nbytes(self, t):
        ne = 1
        for d in t["dims"]:
            ne *= d
        be, bb = GGML_BLOCK[t["type"]]
        return ne // be * bb

    def data(self, t):
        s = self.data_start + t["offset"]
        return self.blob[s:s + self.nbytes(t)]


def gguf_load(path):
    with open(path, "rb") as f:
        return GGUF(f.read())


def _w_str(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def _w_val(t, v):
    if t == 8:
        return _w_str(v)
    if t == 9:
        et, items = v
        return struct.pack("<IQ", et, len(items)) + b"".join(_w_val(et, x) for x in items)
    return struct.pack("<" + GGUF_SCALAR[t], v)


def gguf_write(kvs, tensors, version=3, alignment=32):
    """Build a GGUF blob. kvs: [key, type, value]; tensors: list of (name, dims, type, bytes).
    Offsets are assigned contiguously with the given alignment."""
    out = [b"GGUF", struct.pack("<IQQ", version, len(tensors), len(kvs))]
    for k, t, v in kvs:
        out.append(_w_str(k) + struct.pack("<I", t) + _w_val(t, v))
    off, datas = 0, []
    for name, dims, t, data in tensors:
        out.append(_w_str(name) + struct.pack("<I", len(dims)) +
                   b"".join(struct.pack("<Q", d) for d in dims) + struct.pack("<IQ", t, off))
        pad = (-len(data)) % alignment
        datas.append(data + b"\0" * pad)
        off += len(data) + pad
    head = b"".join(out)
    head += b"\0" * ((-len(head)) % alignment)
    return head + b"".join(datas)


def gguf_rebuild(g, kvs=None, tensors=None):
    """Rewrite a parsed GGUF with possibly modified kvs / tensor list (dims and type from the
    dicts, data taken from the original file)."""
    kvs = g.kvs if kvs is None else kvs
    ts = g.tensors if tensors is None else tensors
    return gguf_write(kvs, [(t["name"], t["dims"], t["type"], t.get("bytes", g.data(t)))
                            for t in ts], g.version, g.alignment)


# ---- scalar formats ---------------------------------------------------------------------------

def f16_to_f32(h):
    return struct.unpack("<e", struct.pack("<H", h))[0]


def bf16_to_f32(h):
    return struct.unpack("<f", struct.pack("<I", h << 16))[0]


def f32_to_bf16_rne(x):
    u = struct.unpack("<I", struct.pack("<f", x))[0]
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16) & 0xFFFF


def dequantize(t_type, data):
    """Dequantize a whole tensor's bytes to a list of floats."""
    if t_type == 0:
        return list(struct.unpack("<%df" % (len(data) // 4), data))
    if t_type == 1:
        return list(struct.unpack("<%de" % (len(data) // 2), data))
    if t_type == 30:
        return [bf16_to_f32(h) for h in struct.unpack("<%dH" % (len(data) // 2), data)]
    out = []
    if t_type == 8:      # Q8_0: f16 d, 32 x int8
        for b in range(0, len(data), 34):
            d = struct.unpack_from("<e", data, b)[0]
            out.extend(d * q for q in struct.unpack_from("<32b", data, b + 2))
        return out
    if t_type == 2:      # Q4_0: f16 d, 16 bytes; low nibbles = elements 0..15, high = 16..31
        for b in range(0, len(data), 18):
            d = struct.unpack_from("<e", data, b)[0]
            qs = data[b + 2:b + 18]
            out.extend(d * ((q & 15) - 8) for q in qs)
            out.extend(d * ((q >> 4) - 8) for q in qs)
        return out
    raise ValueError("type %d" % t_type)
