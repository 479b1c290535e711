"""Bitwise identical output for any thread count: greedy text and --dump-logits bytes for
-t 1, 2, 3 and 7 on the default model (F32 GGUF, Q8_0 GGUF, llama2.c .bin) and on random
Q4_0, Q8_0, F16, BF16, Q2_K .. Q6_K and Q4_K_M models (tools/mkmodel), with a prompt long enough for two
batches. Quantized models also match with --no-repack (weights in the file's layout).
(stories260K is covered in test_stories.py.)"""
import os
import subprocess
import tempfile

LLM = os.environ.get("LLM", "./llm").split()
MKMODEL = os.environ.get("MKMODEL", "tools/mkmodel")
PROMPT = "In the beginning God created the heaven and the earth. And the earth was without form"


def outputs(model, extra, threads, tmp):
    f = os.path.join(tmp, "l%d.f32" % threads)
    r = subprocess.run(LLM + ["run", "-m", model] + extra + ["-p", PROMPT, "-n", "12", "--temp", "0", "-t", str(threads),
                              "--dump-logits", f], capture_output=True, timeout=300)
    return r.returncode, r.stdout, open(f, "rb").read() if r.returncode == 0 else b""


def main():
    tmp = tempfile.mkdtemp(prefix="llmthreads-")
    models = []
    for m, extra in (("models/kjv.gguf", []), ("models/kjv-q8_0.gguf", []), ("models/kjv.bin", ["-z", "tokenizer.bin"])):
        if os.path.exists(m):
            models.append((m, extra))
        else:
            print("SKIP threads.%s: not there" % os.path.basename(m))
    if os.path.exists(MKMODEL):
        for t in ("Q4_0", "Q8_0", "F16", "BF16", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q4_K_M"):
            p = os.path.join(tmp, "rand-%s.gguf" % t)
            # K-quant rows are 256 elements at least; 500 output rows and the 128 rows of wk, wv
            # split over 3 and 7 threads leave rows that do not fill a 16-row group
            kq = "_K" in t
            subprocess.run([MKMODEL, p, "--type", t, "--dim", "256" if kq else "128", "--ffn", "512" if kq else "320",
                            "--layers", "2", "--heads", "4", "--kv-heads", "2", "--vocab", "500"], check=True)
            models.append((p, []))
    else:
        print("SKIP threads.random: %s not built" % MKMODEL)
    for model, extra in models:
        ref = outputs(model, extra, 1, tmp)
        bad = []
        for t in (2, 3, 7):
            got = outputs(model, extra, t, tmp)
            if got != ref:
                bad.append("-t %d differs (exit %d)" % (t, got[0]))
        ok = ref[0] == 0 and not bad
        print("%s threads.%s: -t 1/2/3/7 text and logits %s" % ("PASS" if ok else "FAIL", os.path.basename(model),
              "identical" if ok else ("; ".join(bad) or "exit %d" % ref[0])))
        if any(q in model.lower() for q in ("q8_0", "q4_0", "q2_k", "q3_k", "q4_k", "q5_k", "q6_k")):
            # weights packed in 16-row groups (the default where the kernels use them; a range's
            # last rows in a tail group, llm.c section 5) against the file's layout
            bad = ["-t %d --no-repack differs" % t for t in (1, 3) if outputs(model, extra + ["--no-repack"], t, tmp) != ref]
            print("%s threads.%s.no-repack: -t 1/3 with --no-repack: text and logits %s" % (
                "FAIL" if bad else "PASS", os.path.basename(model), "; ".join(bad) or "identical"))


main()
