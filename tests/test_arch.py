"""Forward pass of small random-weight models against tests/ref_numpy.py (float64, numpy):
Llama with GQA, Llama 3 style (rope theta 5e5, rope_freqs divisors, tied or not) and Qwen2
(q/k/v biases, NEOX RoPE, theta 1e6). The models come from tools/mkmodel (llm.c's own GGUF
writer); with ../shared present they carry the real Llama 3 and Qwen2 vocabularies.
Skipped when numpy is not installed. Tolerance: 1e-4 of the largest |logit| (llm.c computes in
float32; the measured differences are around 1e-6)."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llmtest import LLM, NO_NUMPY, SHARED, check, finish, read_f32, reference, skip, tmpdir  # noqa: E402

MKMODEL = os.environ.get("MKMODEL", "tools/mkmodel")
TOL = 1e-4
ref_numpy = reference()

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
            skip("arch.%s" % name, NO_NUMPY)
        return
    if not os.path.exists(MKMODEL):
        for name, _, _ in CASES:
            skip("arch.%s" % name, "%s not built (make tools/mkmodel)" % MKMODEL)
        return
    with tmpdir() as tmp:
        for seed, (name, args, vocab) in enumerate(CASES):
            if vocab:
                vpath = os.path.join(SHARED, "assets", vocab)
                if not os.path.exists(vpath):
                    skip("arch.%s" % name, "%s not found" % vpath)
                    continue
                args = args + ["--vocab-from", vpath]
            model = os.path.join(tmp, name + ".gguf")
            r = subprocess.run([MKMODEL, model, "--seed", str(seed + 1)] + args, capture_output=True, text=True)
            if r.returncode:
                check("arch.%s" % name, False, "mkmodel: %s" % r.stderr.strip())
                continue
            lg, tk = os.path.join(tmp, name + ".f32"), os.path.join(tmp, name + ".tok")
            r = subprocess.run(LLM + ["run", "-m", model, "-p", PROMPT, "-n", "1", "--temp", "0", "-t", "2",
                                      "--dump-logits", lg, "--dump-tokens", tk], capture_output=True)
            if r.returncode:
                check("arch.%s" % name, False, "llm exit %d: %s" % (r.returncode, r.stderr.decode("utf-8", "replace").strip()[-300:]))
                continue
            with open(tk) as f:
                ids = [int(t) for t in f.read().split()]
            got, _ = read_f32(lg)
            n_prompt = len(ids) - 1 if len(ids) > 1 else len(ids)
            kv, w = ref_numpy.read_gguf(model)
            ref = ref_numpy.forward(kv, w, ids[:n_prompt])
            err = float(max(abs(a - b) for a, b in zip(got, ref)) / abs(ref).max())
            check("arch.%s" % name, len(got) == len(ref) and err <= TOL, "%d prompt tokens, max |llm - ref| / max|ref| = %.2e (limit %.0e)"
                  % (n_prompt, err, TOL))


main()
finish()
