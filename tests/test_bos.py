"""BOS and EOS as the model file says (tokenizer.ggml.add_bos_token / add_eos_token), in
tokenize, run, perplexity and bench; --no-bos turns both off. The default model (SentencePiece,
F32) is rewritten with the keys changed; a Qwen2-architecture model with the real Qwen2
vocabulary (whose file sets add_bos_token = false) must see no BOS in front of its prompt.
Perplexity is checked against the float64 reference (tests/ref_numpy.py) with and without BOS
at the start of each chunk (skipped without numpy)."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llmtest import NO_NUMPY, T1, check, finish, need_shared, reference, run, shared, skip, tmpdir  # noqa: I100
import gguf  # noqa: E402

ref_numpy = reference()

MODEL = "models/kjv.gguf"
MKMODEL = os.environ.get("MKMODEL", "tools/mkmodel")
TEXT = "In the beginning God created the heaven and the earth."


def with_keys(src, dst, **keys):
    """src rewritten with tokenizer.ggml.<key> = bool value for each keyword"""
    g = gguf.Reader(src)
    kvs = [kv for kv in g.kvs if kv[0] not in ["tokenizer.ggml." + k for k in keys]]
    kvs += [["tokenizer.ggml." + k, gguf.BOOL, bool(v)] for k, v in keys.items()]
    with open(dst, "wb") as f:
        f.write(gguf.rebuild(g, kvs=kvs))


def ids(args):
    r = run(["tokenize"] + args + ["-p", TEXT])
    return [int(x) for x in r.out.split()] if r.rc == 0 else r.describe()


def dumped_tokens(args, td, n_new=0):
    path = os.path.join(td, "tokens.txt")
    r = run(["run"] + args + T1 + ["-p", TEXT, "-n", str(n_new), "--temp", "0", "--dump-tokens", path])
    if r.rc != 0:
        return r.describe()
    with open(path, encoding="ascii") as f:
        return [int(x) for x in f.read().split()]


def ppl(args, text_file, ctx):
    r = run(["perplexity"] + args + T1 + ["-f", text_file, "-c", str(ctx)])
    m = re.search(rb"PPL = ([0-9.]+)", r.out)
    return float(m.group(1)) if r.rc == 0 and m else r.describe()


def main():
    if not os.path.exists(MODEL):
        skip("bos", "%s is missing" % MODEL)
        return
    tdo = tmpdir()
    td = tdo.name
    plain = ids(["-m", MODEL, "--no-bos"])
    if not isinstance(plain, list) or not plain:
        check("bos.setup", False, "tokenize --no-bos: %s" % plain)
        return
    files = {}
    for name, keys in [("default", {}), ("nobos", dict(add_bos_token=False)),
                       ("eos", dict(add_eos_token=True)), ("nobos_eos", dict(add_bos_token=False, add_eos_token=True))]:
        files[name] = os.path.join(td, name + ".gguf")
        with_keys(MODEL, files[name], **keys)
    want = {"default": [1] + plain, "nobos": plain, "eos": [1] + plain + [2], "nobos_eos": plain + [2]}
    for name, path in files.items():
        got = ids(["-m", path])
        check("bos.tokenize.%s" % name, got == want[name], "" if got == want[name] else "got %s, want %s" % (got, want[name]))
        got = dumped_tokens(["-m", path], td)
        check("bos.run.%s" % name, got == want[name], "" if got == want[name] else "run's prompt tokens %s, want %s" % (got, want[name]))
        got = ids(["-m", path, "--no-bos"])
        check("bos.no_bos_flag.%s" % name, got == plain, "" if got == plain else "--no-bos gave %s, want %s" % (got, plain))

    # bench's prompt starts with BOS only where the file adds it: it runs either way
    r = run(["bench", "-m", files["nobos"], "-p", "8", "-n", "0", "-r", "1", "-t", "1"])
    check("bos.bench.nobos", r.rc == 0, r.describe())

    # Qwen2: the real vocabulary's file says add_bos_token = false
    if not os.path.exists(MKMODEL):
        skip("bos.qwen2", "%s not built (make tools/mkmodel)" % MKMODEL)
    elif need_shared(["bos.qwen2"]):
        q = os.path.join(td, "qwen2.gguf")
        r = subprocess.run([MKMODEL, q, "--arch", "qwen2", "--dim", "64", "--layers", "1", "--heads", "2",
                            "--kv-heads", "1", "--ffn", "128", "--vocab-from", shared("assets", "vocab", "ggml-vocab-qwen2.gguf")],
                           capture_output=True)
        if r.returncode != 0:
            check("bos.qwen2", False, "mkmodel: %s" % r.stderr.decode("utf-8", "replace"))
        else:
            got = dumped_tokens(["-m", q], td)
            check("bos.qwen2", isinstance(got, list) and got and got[0] != 151643,
                  "prompt tokens %s (151643 is BOS/EOS of Qwen2 and must not lead)" % (got[:8] if isinstance(got, list) else got))

    # perplexity: each chunk starts with BOS only where the file adds one; F32 model, so the
    # float64 reference agrees to about 1e-6
    if ref_numpy is None:
        skip("bos.perplexity", NO_NUMPY)
        return
    text_file = os.path.join(td, "text.txt")
    with open("models/kjv-heldout.txt", encoding="utf-8") as f:
        with open(text_file, "w", encoding="utf-8") as o:
            o.write(f.read()[:6000])
    r = run(["tokenize", "-m", MODEL, "-f", text_file])
    toks = [int(x) for x in r.out.split()]
    kv, w = ref_numpy.read_gguf(MODEL)
    for name, bos in [("default", 1), ("nobos", None)]:
        ours = ppl(["-m", files[name]], text_file, 64)
        want_toks = toks if bos is not None else toks[1:]
        ref = ref_numpy.perplexity(kv, w, want_toks, 64, bos)[0]
        ok = isinstance(ours, float) and abs(ours - ref) <= 1e-5 * ref
        check("bos.perplexity.%s" % name, ok, "llm %s, float64 reference %.6f (chunks %s BOS)" % (ours, ref, "start with" if bos else "without"))


main()
finish()
