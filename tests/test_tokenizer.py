"""Tokenizer against published test vectors (`llm tokenize`).

- llama.cpp's vocab tests (ggml-vocab-*.gguf + .inp/.out): no BOS, text from a file (-f) so
  the bytes are exact; one check per string, all strings of a vocabulary in one process (one -f
  per string, one output line each: a 128K-token vocabulary is loaded once, not 46 times).
- llama2.c's test.c cases on tokenizer.bin given with -z only (BOS included).
- llama-tokenizer-js cases on the SPM GGUF vocab (BOS included).
- BPE vocabularies: listed below, disabled until the byte-level BPE tokenizer exists.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llmtest import SHARED, check, finish, have_shared, run, shared, skip, tmpdir

SEP = "\n__ggml_vocab_test__\n"

# (check name, vocab gguf, test-vector basename) for llama.cpp's vocab tests, enabled.
VOCAB_TESTS = [
    ("spm", "ggml-vocab-llama-spm.gguf", "ggml-vocab-llama-spm.gguf"),
]

# ---- BPE: disabled --------------------------------------------------------------------------
# Byte-level BPE (Llama 3, Qwen2, DeepSeek-R1-Distill-Qwen) is a later issue. To enable, set
# BPE_ENABLED = True (or run with LLM_TEST_BPE=1); until then each set prints one SKIP line.
BPE_ENABLED = os.environ.get("LLM_TEST_BPE", "1") == "1"
BPE_VOCAB_TESTS = [
    ("llama-bpe", "ggml-vocab-llama-bpe.gguf", "ggml-vocab-llama-bpe.gguf"),
    ("qwen2", "ggml-vocab-qwen2.gguf", "ggml-vocab-qwen2.gguf"),
    ("deepseek-r1-qwen", "ggml-vocab-qwen2.gguf", "ggml-vocab-deepseek-r1-qwen.gguf"),  # same pre-tokenizer
]
# llama3-tokenizer-js cases (no BOS); the one flagged needs_special_token_parsing is skipped
# unless the CLI grows a flag for parsing special tokens.
BPE_JS_TESTS = ("llama3_bpe_js_tests.json", "ggml-vocab-llama-bpe.gguf")
# ---------------------------------------------------------------------------------------------


def tokenize(args):
    """Returns (ids or None, error text)."""
    r = run(["tokenize"] + args)
    if r.rc != 0 or r.crashed():
        return None, r.describe()
    text = r.out.decode("utf-8", "replace")
    body = text[:-1] if text.endswith("\n") else text
    if "\n" in body:
        return None, "%s: output is not one line: %r" % (r.cmd, text[:200])
    if body != " ".join(body.split()):
        return None, "%s: ids not separated by single spaces: %r" % (r.cmd, text[:200])
    try:
        return [int(x) for x in body.split()], r.cmd
    except ValueError:
        return None, "%s: output is not integers: %r" % (r.cmd, text[:200])


def tokenize_files(args, texts, td, tag):
    """Ids of each text, through one `llm tokenize ... -f F1 -f F2 ...` (one line per file):
    [(ids or None, what was run / the error)]."""
    files = []
    for i, t in enumerate(texts):
        files.append(os.path.join(td, "%s.%d.txt" % (tag, i)))
        with open(files[-1], "wb") as f:
            f.write(t.encode("utf-8"))
    r = run(["tokenize"] + args + [a for f in files for a in ("-f", f)])
    lines = r.out.decode("utf-8", "replace").split("\n")
    if r.rc != 0 or r.crashed() or len(lines) != len(texts) + 1 or lines[-1] != "":
        why = "%s (%d output lines for %d files)" % (r.describe(), len(lines) - 1, len(texts))
        return [(None, why)] * len(texts)
    out = []
    for line in lines[:-1]:
        try:
            ok = line == " ".join(line.split())
            out.append(([int(x) for x in line.split()], r.cmd) if ok else (None, "ids not separated by single spaces: %r" % line[:200]))
        except ValueError:
            out.append((None, "output is not integers: %r" % line[:200]))
    return out


def vocab_test(tag, vocab, base, td):
    vpath = shared("assets", "vocab", vocab)
    with open(shared("assets", "vocab", base + ".inp"), encoding="utf-8") as f:
        inp = f.read()
    with open(shared("assets", "vocab", base + ".out"), encoding="utf-8") as f:
        out = f.read().split("\n")
    strings = inp.split(SEP)
    if strings and strings[-1] == "":
        strings.pop()
    n_ok = 0
    results = tokenize_files(["-m", vpath, "--no-bos"], strings, td, tag)
    for i, s in enumerate(strings):
        name = "tokenizer.%s.vocab[%02d]" % (tag, i)
        want = [int(x) for x in out[i].split()]
        got, why = results[i]
        ok = got == want
        n_ok += ok
        check(name, ok, "" if ok else "text %r: %s; expected %s, got %s" % (
            s, why, want, got if got is not None else "error"))
    return n_ok, len(strings)


def json_cases(name, fname, margs, with_bos, td, use_file=False, batch=False):
    """One check per case: -p TEXT, or -f FILE with use_file; with batch, the cases that need no
    --special go through one process (tokenize_files)."""
    with open(shared("assets", "testvectors", fname), encoding="utf-8") as f:
        data = json.load(f)
    base = list(margs) + ([] if with_bos else ["--no-bos"])
    plain = [i for i, c in enumerate(data["cases"]) if batch and not c.get("needs_special_token_parsing")]
    batched = dict(zip(plain, tokenize_files(base, [data["cases"][i]["text"] for i in plain], td, name)))
    for i, c in enumerate(data["cases"]):
        n = "%s[%02d]" % (name, i)
        args = list(base)
        if c.get("needs_special_token_parsing"):
            # the case comes from the Llama 3.1 tokenizer, whose id 128008 is <|eom_id|>; the
            # Llama 3.0 vocabulary in the assets has <|reserved_special_token_4|> there
            c = dict(c, text=c["text"].replace("<|eom_id|>", "<|reserved_special_token_4|>"))
            args.append("--special")
        if i in batched:
            got, why = batched[i]
            check(n, got == c["ids"], "text %r: %s; expected %s, got %s" % (
                c["text"], why, c["ids"], got if got is not None else "error"))
            continue
        if use_file:
            tf = os.path.join(td, "case.txt")
            with open(tf, "wb") as f:
                f.write(c["text"].encode("utf-8"))
            args += ["-f", tf]
        else:
            args += ["-p", c["text"]]
        got, why = tokenize(args)
        check(n, got == c["ids"], "text %r: %s; expected %s, got %s" % (
            c["text"], why, c["ids"], got if got is not None else "error"))


def main():
    if not have_shared():
        for tag, _, _ in VOCAB_TESTS:
            skip("tokenizer.%s.vocab" % tag, "needs the team assets in SHARED=%s, which is absent: " % SHARED + "llama.cpp vocab vectors")
        skip("tokenizer.llama2c", "needs the team assets in SHARED=%s, which is absent: " % SHARED + "llama2c/tokenizer.bin")
        skip("tokenizer.spm_js", "needs the team assets in SHARED=%s, which is absent: " % SHARED + "llama2_spm_js_tests.json")
        return
    with tmpdir() as td:
        for tag, vocab, base in VOCAB_TESTS:
            ok, n = vocab_test(tag, vocab, base, td)
            print("# tokenizer.%s: %d/%d" % (tag, ok, n))
        # llama2.c tokenizer.bin alone (-z, no -m), BOS included
        json_cases("tokenizer.llama2c", "llama2c_tokenizer_test_c.json",
                   ["-z", shared("assets", "llama2c", "tokenizer.bin")], True, td)
        # the same cases through -f (file bytes exactly)
        json_cases("tokenizer.llama2c_file", "llama2c_tokenizer_test_c.json",
                   ["-z", shared("assets", "llama2c", "tokenizer.bin")], True, td, use_file=True)
        json_cases("tokenizer.spm_js", "llama2_spm_js_tests.json",
                   ["-m", shared("assets", "vocab", "ggml-vocab-llama-spm.gguf")], True, td)

        # BPE (disabled section)
        if not BPE_ENABLED:
            for tag, _, _ in BPE_VOCAB_TESTS:
                skip("tokenizer.%s.vocab" % tag, "BPE tokenizer tests disabled (later issue; "
                     "LLM_TEST_BPE=1 enables them)")
            skip("tokenizer.llama3_js", "BPE tokenizer tests disabled (later issue; LLM_TEST_BPE=1)")
        else:
            for tag, vocab, base in BPE_VOCAB_TESTS:
                ok, n = vocab_test(tag, vocab, base, td)
                print("# tokenizer.%s: %d/%d" % (tag, ok, n))
            json_cases("tokenizer.llama3_js", BPE_JS_TESTS[0],
                       ["-m", shared("assets", "vocab", BPE_JS_TESTS[1])], False, td, batch=True)


main()
finish()
