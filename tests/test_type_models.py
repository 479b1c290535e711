"""Every tensor type against a reference build: random models (tools/mkmodel, dim 256, 2
layers, ffn 512, vocab 512) of type F32, F16, BF16, Q8_0, Q4_0 and Q2_K..Q6_K give the same
greedy text and the same logits (--dump-logits, every byte) with LLM as with REF_LLM. make
test-riscv runs it for the RVV 1.0 build at every VLEN and the XTheadVector build (LLM)
against the scalar rv64gc build (REF_LLM): every kernel body equals the reference bitwise
(rvv_kernels.h), so the whole forward pass must too. Random weights give flat logits, where
any difference in the arithmetic would show. Skipped unless REF_LLM is set and differs from
LLM."""
import os
import subprocess
import tempfile

LLM = os.environ.get("LLM", "./llm").split()
REF = os.environ.get("REF_LLM", "").split()
MKMODEL = os.environ.get("MKMODEL", "tools/mkmodel")
TYPES = ("F32", "F16", "BF16", "Q8_0", "Q4_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K")
PROMPT = "a b c d e f g h i j k l m n o p"


def run(cmd, model, dump):
    r = subprocess.run(cmd + ["run", "-m", model, "-p", PROMPT, "-n", "16", "--temp", "0", "-t", "2",
                              "--dump-logits", dump], capture_output=True, timeout=600)
    return r.returncode, r.stdout, open(dump, "rb").read() if r.returncode == 0 else b""


def main():
    if not REF or REF == LLM:
        print("SKIP type_models: REF_LLM is not set to a build other than LLM")
        return
    if not os.path.exists(MKMODEL):
        print("SKIP type_models: %s not built" % MKMODEL)
        return
    tmp = tempfile.mkdtemp(prefix="llmtypes-")
    for t in TYPES:
        model = os.path.join(tmp, "%s.gguf" % t)
        subprocess.run([MKMODEL, model, "--type", t, "--dim", "256", "--ffn", "512", "--layers", "2", "--heads", "4",
                        "--kv-heads", "2", "--vocab", "512"], check=True)
        a = run(LLM, model, os.path.join(tmp, "a.f32"))
        b = run(REF, model, os.path.join(tmp, "b.f32"))
        if a[0] or b[0]:
            print("FAIL type_models.%s: exit %d (reference build %d)" % (t, a[0], b[0]))
        elif a[1] != b[1]:
            print("FAIL type_models.%s: greedy text differs: %r vs %r" % (t, a[1][:80], b[1][:80]))
        elif a[2] != b[2]:
            n = len(a[2]) // 4
            diff = sum(1 for i in range(0, len(a[2]), 4) if a[2][i:i + 4] != b[2][i:i + 4])
            print("FAIL type_models.%s: same text, %d of %d logits differ" % (t, diff, n))
        else:
            print("PASS type_models.%s: greedy text and %d logits identical to the reference build"
                  % (t, len(a[2]) // 4))


main()
