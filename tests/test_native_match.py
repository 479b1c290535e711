"""Cross builds against the native build: with LLM set to an emulated binary (e.g. llm-rv under
qemu at some VLEN) and NATIVE_LLM to the native ./llm, the greedy text of quantized models is
identical: stories260K as Q4_0 and Q8_0 (made with the native `quantize`) and the default
model's Q8_0 file: trained models, real text. (tests/test_ports.py compares the logits bit for
bit on random models of every type.) Skipped unless NATIVE_LLM is set and differs from LLM
(make test-riscv sets it)."""
import os
import subprocess
import tempfile

LLM = os.environ.get("LLM", "./llm").split()
NATIVE = os.environ.get("NATIVE_LLM", "").split()
SHARED = os.environ.get("SHARED", "../shared")


def greedy(cmd, model, prompt):
    r = subprocess.run(cmd + ["run", "-m", model, "-p", prompt, "-n", "48", "--temp", "0", "-t", "2"],
                       capture_output=True, timeout=600)
    return r.returncode, r.stdout


def main():
    if not NATIVE or NATIVE == LLM:
        print("SKIP native_match: NATIVE_LLM is not set to a build other than LLM")
        return
    tmp = tempfile.mkdtemp(prefix="llmnative-")
    models = []
    stories = os.path.join(SHARED, "assets", "gguf", "stories260K.gguf")
    if os.path.exists(stories):
        for t in ("Q4_0", "Q8_0"):
            q = os.path.join(tmp, "stories-%s.gguf" % t)
            subprocess.run(NATIVE + ["quantize", stories, q, t], capture_output=True, check=True)
            models.append((q, "Once upon a time"))
    else:
        print("SKIP native_match.stories: %s not found" % stories)
    if os.path.exists("models/kjv-q8_0.gguf"):
        models.append(("models/kjv-q8_0.gguf", "In the beginning"))
    for model, prompt in models:
        a, b = greedy(LLM, model, prompt), greedy(NATIVE, model, prompt)
        ok = a[0] == 0 and a == b
        print("%s native_match.%s: greedy text %s" % ("PASS" if ok else "FAIL", os.path.basename(model),
              "identical to the native build" if ok else "differs (exit %d vs %d): %r vs %r" % (a[0], b[0], a[1][:80], b[1][:80])))


main()
