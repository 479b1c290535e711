"""Forward pass of small random-weight models against tests/ref_numpy.py (float64, numpy):
Llama with GQA, Llama 3 style (rope theta 5e5, rope_freqs divisors, tied or not) and Qwen2
(q/k/v biases, NEOX RoPE, theta 1e6). The models come from tools/mkmodel (llm.c's own GGUF
writer); with ../shared present they carry the real Llama 3 and Qwen2 vocabularies.
Skipped when numpy is not installed. Tolerance: 1e-4 of the largest |logit| (llm.c computes in
float32; the measured differences are around 1e-6)."""
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
LLM = os.environ.get("LLM", "./llm").split()
SHARED = os.environ.get("SHARED", "../shared")
MKMODEL = os.environ.get("MKMODEL", "tools/mkmodel")
TOL = 1e-4

try:
    import numpy  # noqa: F401
    sys.path.insert(0, HERE)
    import ref_numpy
except ImportError:
    ref_numpy = None

SHAPE = ["--dim", "64", "--layers", "2", "--heads", "4", "--kv-heads", "2", "--ffn", "96", "--ctx", "64"]
CASES = [
    ("llama-gqa", SHAPE + ["--vocab", "400"], None),
    ("llama-tied", SHAPE + ["--vocab", "400", "--tied"], None),
    ("llama3-style", SHAPE + ["--rope-theta", "500000", "--rope-freqs", "--vocab", "400"], None),
    ("qwen2", SHAPE + ["--arch", "qwen2", "--rope-theta", "1000000", "--vocab", "400"], None),
    ("llama3-vocab", SHAPE + ["--rope-theta", "500000", "--rope-freqs"], "vocab/ggml-vocab-llama-bpe.gguf"),
    ("qwen2-vocab", SHAPE + ["--arch", "qwen2", "--rope-theta", "1000000", "--tied"], "vocab/ggml-vocab-qwen2.gguf"),
]
PROMPT = "In the beginning God created the heaven and the earth."


def main():
    if ref_numpy is None:
        for name, _, _ in CASES:
            print("SKIP arch.%s: python3-numpy is not installed (the reference needs it)" % name)
        return
    if not os.path.exists(MKMODEL):
        for name, _, _ in CASES:
            print("SKIP arch.%s: %s not built (make tools/mkmodel)" % (name, MKMODEL))
        return
    tmp = tempfile.mkdtemp(prefix="llmarch-")
    for seed, (name, args, vocab) in enumerate(CASES):
        if vocab:
            vpath = os.path.join(SHARED, "assets", vocab)
            if not os.path.exists(vpath):
                print("SKIP arch.%s: %s not found" % (name, vpath))
                continue
            args = args + ["--vocab-from", vpath]
        model = os.path.join(tmp, name + ".gguf")
        r = subprocess.run([MKMODEL, model, "--seed", str(seed + 1)] + args, capture_output=True, text=True)
        if r.returncode:
            print("FAIL arch.%s: mkmodel: %s" % (name, r.stderr.strip()))
            continue
        lg, tk = os.path.join(tmp, name + ".f32"), os.path.join(tmp, name + ".tok")
        r = subprocess.run(LLM + ["run", "-m", model, "-p", PROMPT, "-n", "1", "--temp", "0", "-t", "2",
                                  "--dump-logits", lg, "--dump-tokens", tk], capture_output=True)
        if r.returncode:
            print("FAIL arch.%s: llm exit %d: %s" % (name, r.returncode, r.stderr.decode("utf-8", "replace").strip()[-300:]))
            continue
        ids = [int(t) for t in open(tk).read().split()]
        raw = open(lg, "rb").read()
        got = struct.unpack("<%df" % (len(raw) // 4), raw)
        n_prompt = len(ids) - 1 if len(ids) > 1 else len(ids)
        kv, w = ref_numpy.read_gguf(model)
        ref = ref_numpy.forward(kv, w, ids[:n_prompt])
        scale = max(abs(float(v)) for v in ref)
        err = max(abs(a - float(b)) for a, b in zip(got, ref)) / scale
        ok = len(got) == len(ref) and err <= TOL
        print("%s arch.%s: %d prompt tokens, max |llm - ref| / max|ref| = %.2e (limit %.0e)"
              % ("PASS" if ok else "FAIL", name, n_prompt, err, TOL))


main()
