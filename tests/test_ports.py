"""One answer on every build: the logits are the reference's bits (rvv_kernels.h, "the contract
between ports"). Random models of every tensor type (tools/mkmodel: F32, F16, BF16, Q8_0, Q4_0,
Q2_K..Q6_K, embeddings in the same type, odd shapes: 5 heads over 1 kv head, rows of an odd
number of blocks, a tied classifier for some; vocabularies that end thread ranges in tail groups,
see vocab()) run a 45-token prompt (two batches) and 3 greedy tokens; --dump-logits and
--dump-tokens must be byte-identical
  - for the build under test at 1, 2, 3 and 7 threads and with --numa off / distribute /
    interleave, against the build under test at 2 threads;
  - for every build named in PORTS against the build under test (LLM), when PORTS is set:
    PORTS="name=command;name=command..." (make test-riscv: rv64gc, RVV 1.0 at four VLENs and
    XTheadVector under qemu, against the native build).
No tolerance: a single differing bit is a failure."""
import os
import shlex
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llmtest import LLM, check, finish, skip, tmpdir

MKMODEL = os.environ.get("MKMODEL", "tools/mkmodel")
TYPES = ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"]
PROMPT = " ".join(["abc def ghi", "jkl mno", "pqr stu vwx", "yz"] * 4)
TIMEOUT = float(os.environ.get("TEST_TIMEOUT", "120")) * 3


def shape(t):
    """odd shapes; K-quant rows must hold whole super-blocks of 256"""
    if t.endswith("_K"):
        return ["--dim", "512", "--heads", "8", "--kv-heads", "2", "--ffn", "1280"]
    return ["--dim", "160", "--heads", "5", "--kv-heads", "1", "--ffn", "416"]


def vocab(t):
    """632 rows: two thread ranges of 316 = 256 + 60 rows, whose last rows hold the prompt's tokens
    (259..310), stored in a tail group (llm.c, tail_group) for groups of 16, 32 and 64 rows (x86,
    VLEN 128 .. 512), so the embedding reads them from there. 2045 rows (odd): ranges of 1020 and
    1025 rows, tail groups also for groups of 128 (VLEN 1024) and the file's layout beside them."""
    return "2045" if t in ("Q8_0", "Q5_K") else "632"


def outputs(cmd, model, td, tag, extra):
    lf, tf = os.path.join(td, tag + ".f32"), os.path.join(td, tag + ".tok")
    for f in (lf, tf):
        if os.path.exists(f):
            os.remove(f)
    args = cmd + ["run", "-m", model, "-p", PROMPT, "-n", "3", "--temp", "0", "--dump-logits", lf,
                  "--dump-tokens", tf] + extra
    try:
        r = subprocess.run(args, capture_output=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return None, "%s: timed out" % " ".join(args)
    if r.returncode != 0:
        return None, "%s: exit %d: %s" % (" ".join(args), r.returncode, r.stderr.decode("utf-8", "replace")[-300:])
    with open(lf, "rb") as f, open(tf, "rb") as g:
        return (f.read(), g.read()), ""


def differ(a, b):
    """what differs between two (logits, tokens) outputs"""
    la, lb = a[0], b[0]
    nd = sum(1 for i in range(0, min(len(la), len(lb)), 4) if la[i:i + 4] != lb[i:i + 4])
    return "%d of %d logits differ%s" % (nd, len(la) // 4, ", tokens differ" if a[1] != b[1] else "")


def main():
    if not os.path.exists(MKMODEL):
        skip("ports", "%s not built (make tools/mkmodel)" % MKMODEL)
        return
    ports = []
    for item in filter(None, os.environ.get("PORTS", "").split(";")):
        name, _, cmd = item.partition("=")
        ports.append((name.strip(), shlex.split(cmd)))
    with tmpdir() as td:
        for t in TYPES:
            model = os.path.join(td, "m-%s.gguf" % t)
            tied = ["--tied"] if t in ("F16", "Q4_0", "Q4_K") else []
            r = subprocess.run([MKMODEL, model, "--type", t, "--layers", "2", "--vocab", vocab(t), "--seed", "7"] + shape(t) + tied,
                               capture_output=True)
            if r.returncode != 0:
                check("ports.%s" % t, False, "mkmodel: %s" % r.stderr.decode("utf-8", "replace"))
                continue
            base, why = outputs(LLM, model, td, "base", ["-t", "2"])
            if base is None:
                check("ports.%s" % t, False, why)
                continue
            bad = []
            for extra in (["-t", "1"], ["-t", "3"], ["-t", "7"], ["-t", "2", "--numa", "off"],
                          ["-t", "2", "--numa", "distribute"], ["-t", "2", "--numa", "interleave"]):
                o, why = outputs(LLM, model, td, "var", extra)
                if o != base:
                    bad.append("%s: %s" % (" ".join(extra), why or differ(o, base)))
            check("ports.%s.threads_numa" % t, not bad, "; ".join(bad) if bad else
                  "threads 1/2/3/7, --numa off/distribute/interleave: byte-identical")
            for name, cmd in ports:
                o, why = outputs(cmd, model, td, name, ["-t", "2"])
                check("ports.%s.%s" % (t, name), o == base,
                      "logits and tokens byte-identical to %s" % " ".join(LLM) if o == base else why or differ(o, base))


main()
finish()
