"""The CLI's error table and help: bad arguments exit 2 with a one-line message; bad files exit 1
with a message naming the file and the problem; nothing ever crashes (signal, status >= 128 or a
sanitizer report) and a failed command leaves no --dump-logits / --dump-tokens file behind.

Corrupted models are built here from a copy of stories260K.gguf with tools/gguf.py. Every check line shows the actual stderr so the messages can be reviewed."""
import os
import random
import re
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llmtest import LLM, SHARED, T1, check, finish, have_shared, run, same_text, shared, skip, tmpdir  # noqa: I100
import gguf  # noqa: E402

GEN = ["-p", "Once upon a time", "-n", "4", "--temp", "0"]

# keywords: the message must contain at least one (case-insensitive)
K_TRUNC = ["truncat", "end of file", "eof", "short", "too small", "beyond", "exceed",
           "out of range", "out of bounds", "size"]
K_RANGE = ["out of range", "out of bounds", "beyond", "exceed", "offset", "range", "truncat",
           "overflow"]
K_SHAPE = ["shape", "dimension", "dims", "mismatch", "expected"]
K_HEAD = ["head"]
K_VOCAB = ["vocab", "token"]


class Case:
    def __init__(self, name, args, rc, keywords=None, names=None, run_dump=True, also=None, timeout=None,
                 no_stdout=False):
        self.name, self.args, self.rc = name, args, rc
        self.keywords = keywords or []
        self.names = names          # a path the message must mention (or its basename)
        self.run_dump = run_dump    # add --dump-logits/--dump-tokens targets
        self.also = also or []      # extra paths that must not exist afterwards
        self.timeout = timeout      # seconds (a FIFO must be refused at once, not block)
        self.no_stdout = no_stdout  # nothing may reach stdout (e.g. no table header before the error)


def run_case(c, td, i):
    dl = os.path.join(td, "dump%d.f32" % i)
    dt = os.path.join(td, "dump%d.tok" % i)
    args = list(c.args) + (["--dump-logits", dl, "--dump-tokens", dt] if c.run_dump else [])
    r = run(args, timeout=c.timeout)
    msg = r.err.decode("utf-8", "replace").strip()
    problems = []
    if c.no_stdout and r.out:
        problems.append("stdout is not empty: %r" % r.out[:80])
    if r.crashed():
        problems.append("CRASH")
    rcs = c.rc if isinstance(c.rc, tuple) else (c.rc,)
    if r.rc not in rcs:
        problems.append("exit %s, expected %s" % (r.rc, " or ".join(map(str, rcs))))
    if not msg:
        problems.append("empty stderr")
    if c.rc == 2 and msg.count("\n") > 0:
        problems.append("usage error is %d lines, expected one" % (msg.count("\n") + 1))
    if c.names and c.names not in msg and os.path.basename(c.names) not in msg:
        problems.append("message does not name %s" % os.path.basename(c.names))
    if c.keywords and not any(k.lower() in msg.lower() for k in c.keywords):
        problems.append("message has none of %s" % "/".join(c.keywords))
    for p in ([dl, dt] if c.run_dump else []) + c.also:
        if os.path.exists(p):
            problems.append("output file %s was created" % os.path.basename(p))
    detail = "%s -> exit %s, stderr: %r" % (r.cmd, r.rc, msg[:300])
    check("cli." + c.name, not problems, ("; ".join(problems) + "; " if problems else "") + detail)


def put(blob, pos, fmt, val):
    b = bytearray(blob)
    struct.pack_into("<" + fmt, b, pos, val)
    return bytes(b)


def write(td, name, data):
    p = os.path.join(td, name)
    with open(p, "wb") as f:
        f.write(data)
    return p


def corrupted_ggufs(td):
    """[(case name, path, keywords)] built from stories260K.gguf."""
    src = shared("assets", "gguf", "stories260K.gguf")
    with open(src, "rb") as f:
        blob = f.read()
    g = gguf.Reader(src)
    t0 = g.info("token_embd.weight")
    q0 = g.info("blk.0.attn_q.weight")
    out = []

    def add(name, data, kw):
        out.append((name, write(td, name + ".gguf", data), kw))

    add("gguf_empty", b"", K_TRUNC + ["empty"])
    add("gguf_bad_magic", b"GGUX" + blob[4:], ["magic", "gguf", "format"])
    add("gguf_not_gguf_text", b"this is a text file, not a model\n" * 64, ["magic", "gguf", "format"])
    add("gguf_version_1", put(blob, 4, "I", 1), ["version"])
    add("gguf_version_99", put(blob, 4, "I", 99), ["version"])
    add("gguf_truncated_header", blob[:100], K_TRUNC)
    add("gguf_truncated_tensor_infos", blob[:g.info_end - 100], K_TRUNC)
    add("gguf_truncated_data", blob[:g.data_start + 600000], K_TRUNC)
    add("gguf_n_tensors_huge", put(blob, 8, "Q", 1 << 60), K_TRUNC + ["tensor", "count", "many", "large"])
    add("gguf_n_kv_huge", put(blob, 16, "Q", 1 << 60), K_TRUNC + ["count", "many", "large", "key"])
    add("gguf_string_length_huge", put(blob, 24, "Q", (1 << 63) + 5), K_TRUNC + ["string", "length"])
    tp = g.kv_pos["tokenizer.ggml.tokens"]
    add("gguf_array_count_huge", put(blob, tp + 4, "Q", 1 << 61), K_TRUNC + ["array", "count", "large"])
    add("gguf_kv_type_unknown", put(blob, g.kv_pos["general.architecture"] - 4, "I", 77),
        ["type", "value"])
    off_pos = lambda t: t["info_pos"] + 4 + 8 * len(t["ne"]) + 4
    add("gguf_tensor_offset_out_of_range", put(blob, off_pos(t0), "Q", 1 << 40), K_RANGE)
    add("gguf_tensor_offset_wraps", put(blob, off_pos(t0), "Q", (1 << 64) - 64), K_RANGE)
    add("gguf_tensor_offset_misaligned", put(blob, off_pos(q0), "Q", q0["offset"] + 4),
        ["align"] + K_RANGE)
    add("gguf_tensor_type_unknown", put(blob, off_pos(t0) - 4, "I", 99), ["type"])
    add("gguf_tensor_n_dims_5", put(blob, q0["info_pos"], "I", 5), ["dim", "shape"] + K_TRUNC)
    # same element count, wrong shape: [64, 64] -> [32, 128]
    b = put(blob, q0["info_pos"] + 4, "Q", 32)
    add("gguf_shape_mismatch", put(b, q0["info_pos"] + 12, "Q", 128), K_SHAPE)
    # element count overflowing 64 bits
    b = put(blob, q0["info_pos"] + 4, "Q", 1 << 62)
    add("gguf_tensor_dims_overflow", put(b, q0["info_pos"] + 12, "Q", 64),
        K_SHAPE + K_RANGE + ["large", "size"])
    add("gguf_zero_heads", put(blob, g.kv_pos["llama.attention.head_count"], "I", 0), K_HEAD)
    add("gguf_kv_heads_not_dividing", put(blob, g.kv_pos["llama.attention.head_count_kv"], "I", 3),
        K_HEAD + K_SHAPE + ["divid"])
    add("gguf_zero_layers", put(blob, g.kv_pos["llama.block_count"], "I", 0), ["layer", "block"])

    kvs = [list(kv) for kv in g.kvs]
    for kv in kvs:      # 500 tokens in the vocab, 512 rows in token_embd / output
        if kv[0] in ("tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type"):
            kv[2] = (kv[2][0], kv[2][1][:500])
    add("gguf_vocab_size_mismatch", gguf.rebuild(g, kvs=kvs), K_VOCAB + K_SHAPE)
    kvs = [kv for kv in g.kvs if not kv[0].startswith("tokenizer.ggml.tokens")]
    add("gguf_missing_vocab", gguf.rebuild(g, kvs=kvs), K_VOCAB)
    add("gguf_missing_tensor", gguf.rebuild(g, tensors=[t for t in g.tensors
                                                         if t["name"] != "blk.4.ffn_up.weight"]),
        ["blk.4.ffn_up", "missing", "tensor"])
    kvs = [list(kv) for kv in g.kvs] + [["general.alignment", 4, 0]]
    add("gguf_alignment_zero", gguf_write_raw_alignment(g, kvs), ["align"])
    kvs = [list(kv) for kv in g.kvs]
    for kv in kvs:
        if kv[0] == "general.architecture":
            kv[2] = "mamba"
    add("gguf_unknown_architecture", gguf.rebuild(g, kvs=kvs), ["architecture", "mamba", "support"])
    return out


def metadata_ggufs(td):
    """[(case name, path, keywords, expected rc)]: metadata and shapes the loader must refuse
    with a message naming the key (built from stories260K.gguf)."""
    src = shared("assets", "gguf", "stories260K.gguf")
    g = gguf.Reader(src)
    out = []

    def add(name, extra=(), kw=None, tensors=None, drop=()):
        kvs = [list(kv) for kv in g.kvs if kv[0] not in drop] + [list(kv) for kv in extra]
        # a neutral file name: the message must name the key, not merely the file
        path = write(td, "meta%02d.gguf" % len(out), gguf.rebuild(g, kvs=kvs, tensors=tensors))
        out.append((name, path, kw))

    inf = float("inf")
    add("meta_rope_freq_base_inf", [["llama.rope.freq_base", 6, inf]], ["llama.rope.freq_base"])
    add("meta_rope_freq_base_1e300", [["llama.rope.freq_base", 12, 1e300]], ["llama.rope.freq_base"])
    add("meta_rope_freq_base_nan", [["llama.rope.freq_base", 6, float("nan")]], ["llama.rope.freq_base"])
    add("meta_rms_eps_inf", [["llama.attention.layer_norm_rms_epsilon", 6, inf]],
        ["layer_norm_rms_epsilon"], drop=["llama.attention.layer_norm_rms_epsilon"])
    add("meta_rms_eps_nan", [["llama.attention.layer_norm_rms_epsilon", 6, float("nan")]],
        ["layer_norm_rms_epsilon"], drop=["llama.attention.layer_norm_rms_epsilon"])
    add("meta_rope_scaling_factor_inf", [["llama.rope.scaling.type", 8, "linear"],
                                         ["llama.rope.scaling.factor", 6, inf]], ["rope.scaling.factor"])
    # vocab_size must agree with the 512 tokens whatever integer or float type it has
    for t, v, tag in [(4, 999, "u32"), (10, 999, "u64"), (11, -1, "i64"), (6, 999.0, "f32"), (12, 511.0, "f64"),
                      (8, "999", "string"), (7, True, "bool")]:
        add("meta_vocab_size_%s" % tag, [["llama.vocab_size", t, v]], ["vocab_size"])
    add("meta_duplicate_key", [["llama.block_count", 4, 4]], ["duplicate", "llama.block_count"])
    add("meta_duplicate_key_same_value", [["llama.embedding_length", 4, 64]], ["duplicate", "llama.embedding_length"])
    add("meta_rope_scaling_type_not_string", [["llama.rope.scaling.type", 4, 1]], ["llama.rope.scaling.type"])
    add("meta_architecture_not_string", [["general.architecture", 4, 1]], ["general.architecture"],
        drop=["general.architecture"])
    add("meta_add_bos_token_u32", [["tokenizer.ggml.add_bos_token", 4, 1]], ["add_bos_token"])
    add("meta_add_bos_token_string", [["tokenizer.ggml.add_bos_token", 8, "true"]], ["add_bos_token"])
    add("meta_bos_token_id_string", [["tokenizer.ggml.bos_token_id", 8, "1"]], ["bos_token_id"],
        drop=["tokenizer.ggml.bos_token_id"])
    add("meta_block_count_float", [["llama.block_count", 6, 5.0]], ["llama.block_count"], drop=["llama.block_count"])
    # a real shape error shows the tensor's real shape (3 dims here)
    ts = [dict(t) for t in g.tensors]
    for t in ts:
        if t["name"] == "blk.0.attn_q.weight":
            t["ne"] = [32, 64, 2]
    add("shape_3d_shown", kw=["[32, 64, 2]"], tensors=ts)
    return out


def bpe_without_bytes(td):
    """A byte-level BPE vocabulary with no byte tokens (and no <unk>): 'a', 'b', 'ab'."""
    kvs = [["general.architecture", 8, "llama"], ["tokenizer.ggml.model", 8, "gpt2"],
           ["tokenizer.ggml.pre", 8, "llama-bpe"], ["tokenizer.ggml.tokens", 9, (8, ["a", "b", "ab"])],
           ["tokenizer.ggml.merges", 9, (8, ["a b"])]]
    return write(td, "bpe_no_bytes.gguf", gguf.gguf_bytes(kvs, []))


def gguf_write_raw_alignment(g, kvs):
    """The model with a general.alignment key of 0 (data laid out with 32)."""
    return gguf.gguf_bytes(kvs, [(t["name"], t["ne"], t["type"], g.raw(t)) for t in g.tensors], g.version, 32)


def bin_cases(td):
    src = shared("assets", "llama2c", "stories260K.bin")
    tok = shared("assets", "llama2c", "tok512.bin")
    with open(src, "rb") as f:
        blob = f.read()
    with open(tok, "rb") as f:
        tblob = f.read()
    cases = [
        # a missing argument: exit 2 like every usage error
        Case("bin_missing_tokenizer", ["run", "-m", src] + GEN, 2, ["tokenizer", "-z", "vocab"]),
        Case("bin_missing_tokenizer_tokenize", ["tokenize", "-m", src, "-p", "hi"], 2, ["tokenizer", "-z"],
             run_dump=False),
        Case("bin_missing_tokenizer_info", ["info", "-m", src], 2, ["tokenizer", "-z"], run_dump=False),
        Case("bin_tokenizer_vocab_mismatch",
             ["run", "-m", src, "-z", shared("assets", "llama2c", "tokenizer.bin")] + GEN, 1,
             K_VOCAB + K_SHAPE),
    ]
    p = write(td, "truncated.bin", blob[:len(blob) // 2])
    cases.append(Case("bin_truncated", ["run", "-m", p, "-z", tok] + GEN, 1, K_TRUNC, p))
    p = write(td, "header_only.bin", blob[:28])
    cases.append(Case("bin_header_only", ["run", "-m", p, "-z", tok] + GEN, 1, K_TRUNC, p))
    p = write(td, "zero_heads.bin", put(blob, 12, "i", 0))
    cases.append(Case("bin_zero_heads", ["run", "-m", p, "-z", tok] + GEN, 1, K_HEAD, p))
    p = write(td, "negative_dim.bin", put(blob, 0, "i", -64))
    cases.append(Case("bin_negative_dim", ["run", "-m", p, "-z", tok] + GEN, 1,
                      ["dim", "size", "invalid", "config", "header"] + K_TRUNC, p))
    rnd = random.Random(7)
    p = write(td, "garbage.bin", bytes(rnd.getrandbits(8) for _ in range(4096)))
    cases.append(Case("bin_garbage", ["run", "-m", p, "-z", tok] + GEN, 1, None, p))
    p = write(td, "tok_truncated.bin", tblob[:3000])
    cases.append(Case("tokenizer_truncated", ["run", "-m", src, "-z", p] + GEN, 1, None, p))
    p = write(td, "tok_empty.bin", b"")
    cases.append(Case("tokenizer_empty", ["run", "-m", src, "-z", p] + GEN, 1, None, p))
    return cases


def fuzz(td, n=40):
    """Random byte changes in the GGUF header / metadata / tensor infos: exit 0 or 1, never crash."""
    src = shared("assets", "gguf", "stories260K.gguf")
    with open(src, "rb") as f:
        blob = f.read()
    g = gguf.Reader(src)
    rnd = random.Random(1234)
    bad, keep = [], None
    p = os.path.join(td, "fuzz.gguf")
    for i in range(n):
        b = bytearray(blob)
        for _ in range(rnd.randint(1, 4)):
            pos = rnd.randrange(0, g.info_end)
            if rnd.random() < 0.3:
                b[pos:pos + 8] = struct.pack("<Q", rnd.choice([0, 1 << 31, 1 << 32, (1 << 63) + 1,
                                                                (1 << 64) - 1, rnd.getrandbits(64)]))[:len(b[pos:pos + 8])]
            else:
                b[pos] = rnd.getrandbits(8)
        with open(p, "wb") as f:
            f.write(bytes(b))
        r = run(["run", "-m", p, "-p", "Hi", "-n", "2", "--temp", "0"] + T1)
        if r.crashed() or r.rc not in (0, 1):
            keep = keep or tempfile.mkdtemp(prefix="llmtest-fuzz-")
            kp = write(keep, "fuzz_fail_%d.gguf" % i, bytes(b))
            bad.append("mutation %d (kept as %s): %s" % (i, kp, r.describe()))
    check("cli.fuzz_gguf_header", not bad, "%d/%d mutated files handled%s" % (
        n - len(bad), n, ("; " + "; ".join(bad[:3])) if bad else ""))


COMMANDS = ["run", "chat", "tokenize", "info", "perplexity", "quantize", "bench"]


def overview_and_version(td):
    """llm --help and llm alone list the commands, one line each, then how to get a command's
    help; llm --version names the version, the compiler and the kernels (with the VLEN found at
    run time on a vector build), and run, chat and bench print that kernels line first on stderr."""
    r = run(["--help"])
    lines = r.out.decode("utf-8", "replace").splitlines()
    rows = [i for i, l in enumerate(lines) if l.startswith("  ")]     # "  NAME  summary", one per command
    listed = [lines[i].split()[0] for i in rows]
    ok = (r.rc == 0 and lines[0].startswith("usage: llm") and listed == COMMANDS and rows == list(range(rows[0], rows[0] + len(rows)))
          and all(len(lines[i].split()) > 2 for i in rows) and any("llm COMMAND --help" in l for l in lines[rows[-1] + 1:])) \
        if rows else False
    check("cli.help.lists_commands", ok, "%s: exit %s, commands listed %s, stdout %r" % (r.cmd, r.rc, listed, r.out[:400]))
    alone = run([])
    check("cli.no_arguments", alone.rc == 2 and alone.out == b"" and alone.err == r.out,
          "%s: exit %s (expected 2: nothing was asked), stdout %r, stderr %s the --help text" % (
              alone.cmd, alone.rc, alone.out[:80], "is" if alone.err == r.out else "is not"))
    r2 = run(["help", "run"])
    r3 = run(["run", "--help"])
    check("cli.help.help_command", r2.rc == 0 and r2.out == r3.out and r3.rc == 0, "%s vs %s" % (r2.describe(), r3.describe()))
    for args, word in ((["frobnicate"], "frobnicate"), (["help", "frobnicate"], "frobnicate"), (["--version", "x"], "--version"),
                       (["bench", "-m", "x", "--no-bos"], "--no-bos"), (["quantize", "a", "b", "c", "d"], "'d'"),
                       (["quantize", "a", "b", "c", "--no-bos"], "--no-bos"), (["info", "stray"], "stray"),
                       (["bench", "-m", "x", "-t", "1,,2"], "-t"), (["bench", "-m", "x", "--numa", "all"], "--numa")):
        e = run(args)
        msg = e.err.decode("utf-8", "replace").strip()
        check("cli.usage_error.%s" % "_".join(a.strip("-") for a in args[:1] + args[-1:]),
              e.rc == 2 and "\n" not in msg and word in msg and e.out == b"", e.describe())

    r = run(["--version"])
    out = r.out.decode("utf-8", "replace").splitlines()
    m = re.fullmatch(r"kernels: (\S+)( VLEN=(\d+))?", out[2]) if len(out) == 3 else None
    ok = (r.rc == 0 and re.fullmatch(r"llm \d+\.\d+\.\d+", out[0]) is not None
          and re.fullmatch(r"compiler: (gcc|clang) \d+\.\d+\S*.*", out[1]) is not None and m is not None)
    qemu_vlen = re.search(r"vlen=(\d+)", " ".join(LLM))          # a vector build under qemu at a known VLEN
    if ok and qemu_vlen and "v=true" in " ".join(LLM):
        ok = m.group(3) == qemu_vlen.group(1)
    check("cli.version", ok, "%s -> exit %s, stdout %r" % (r.cmd, r.rc, r.out[:300]))
    kernels = out[2] if ok else None
    model = "models/kjv-q8_0.gguf"
    if not os.path.exists(model):
        skip("cli.kernels_line", "%s missing" % model)
        return
    for name, args, stdin in (("run", ["run", "-m", model, "-p", "In the", "-n", "2", "-t", "1"], None),
                              ("chat", ["chat", "-m", model, "-n", "2", "-t", "1"], b"Hello\n"),
                              ("bench", ["bench", "-m", model, "-p", "4", "-n", "2", "-t", "1", "-r", "1", "--membw", "10"], None)):
        r = run(args, stdin=stdin)
        first = r.err.decode("utf-8", "replace").split("\n")[0]
        check("cli.kernels_line.%s" % name, r.rc == 0 and kernels is not None and first == kernels,
              "%s: exit %s, first stderr line %r, llm --version says %r" % (r.cmd, r.rc, first, kernels))
    r = run(["info", "-m", model])
    check("cli.kernels_line.not_info", r.rc == 0 and b"kernels:" not in r.err, r.describe())


    # tokenize with several -f: one line per file, in order, as separate runs print them
    texts = ["In the beginning", "", "and the earth was without form"]
    files = [write(td, "tok%d.txt" % i, t.encode()) for i, t in enumerate(texts)]
    alone = [run(["tokenize", "-m", model, "-f", f]).out for f in files]
    r = run(["tokenize", "-m", model] + [a for f in files[::-1] for a in ("-f", f)])
    check("cli.tokenize_files", r.rc == 0 and r.out == b"".join(alone[::-1]) and len(set(alone)) == 3,
          "%s: stdout %r, one by one %r" % (r.describe(), r.out[:200], alone))
    r = run(["tokenize", "-m", model, "-f", files[0], "-f", os.path.join(td, "nope.txt"), "-f", files[2]])
    check("cli.tokenize_files_missing", r.rc == 1 and r.out == alone[0] and b"nope.txt" in r.err, r.describe())


def main():
    with tmpdir() as td:
        # ---- help and usage (need no assets) ----
        for sub in ["run", "tokenize", "info", "quantize", None]:
            args = ([sub] if sub else []) + ["--help"]
            r = run(args)
            ok = r.rc == 0 and not r.crashed() and b"usage" in r.out.lower()
            check("cli.help.%s" % (sub or "toplevel"), ok,
                  "" if ok else "%s: exit %s, stdout %r" % (r.cmd, r.rc, r.out[:120]))
        r = run(["run", "--help"])
        miss = [o for o in ["-m", "-z", "-p", "-n", "-c", "-t", "--temp", "--top-k", "--top-p",
                            "--min-p", "--repeat-penalty", "--seed", "--dump-logits",
                            "--dump-tokens"] if o.encode() not in r.out]
        check("cli.help.run_lists_options", not miss, "missing: %s" % " ".join(miss) if miss else "")
        overview_and_version(td)

        if not have_shared():
            skip("cli.errors", "needs the team assets in SHARED=%s, which is absent: " % SHARED + "the error table is built from "
                 "stories260K.gguf / .bin")
            return
        model = shared("assets", "gguf", "stories260K.gguf")
        tok = shared("assets", "llama2c", "tok512.bin")
        bin_model = shared("assets", "llama2c", "stories260K.bin")
        vocab = shared("assets", "vocab", "ggml-vocab-llama-spm.gguf")
        M = ["-m", model]
        fifo = os.path.join(td, "fifo.gguf")
        os.mkfifo(fifo)
        cases = [
            # usage errors: exit 2, one line
            Case("arg_n_negative", ["run"] + M + ["-n", "-1"], 2, ["-n"]),
            Case("arg_t_zero", ["run"] + M + ["-t", "0"], 2, ["-t"]),
            Case("arg_temp_not_a_number", ["run"] + M + ["--temp", "abc"], 2, ["--temp", "abc"]),
            Case("arg_n_trailing_junk", ["run"] + M + ["-n", "12x"], 2, ["-n", "12x"]),
            Case("arg_unknown_flag", ["run"] + M + ["--bogus"], 2, ["--bogus"]),
            Case("arg_missing_value", ["run"] + M + ["-n"], 2, ["-n"]),
            Case("arg_unknown_flag_last", ["run"] + M + ["--bogus"], 2, ["unknown"], run_dump=False),
            Case("arg_unknown_flag_default_run", M + ["--bogus"], 2, ["--bogus"]),
            Case("arg_unknown_subcommand", ["frobnicate", "-m", model], 2, ["frobnicate"], run_dump=False),
            Case("arg_run_without_model", ["run", "-p", "hi"], (1, 2), ["-m", "model"]),
            Case("arg_tokenize_without_model", ["tokenize", "-p", "hi"], 2, ["-m", "-z", "model"],
                 run_dump=False),
            Case("arg_quantize_bad_type", ["quantize", model, os.path.join(td, "q.gguf"), "Q9_9"], 2,
                 ["Q9_9", "type"], run_dump=False, also=[os.path.join(td, "q.gguf")]),
            Case("arg_quantize_missing_args", ["quantize", model], 2, None, run_dump=False),
            # file errors: exit 1, message names the file
            Case("missing_file", ["run", "-m", os.path.join(td, "nope.gguf")] + GEN, 1,
                 ["no such", "not found", "cannot open", "can't open", "exist", "open"],
                 os.path.join(td, "nope.gguf")),
            Case("directory_as_model", ["run", "-m", td] + GEN, 1,
                 ["directory", "regular", "read", "open"], td),
            Case("missing_tokenizer_file", ["run", "-m", bin_model, "-z", os.path.join(td, "nope.bin")]
                 + GEN, 1, None, os.path.join(td, "nope.bin")),
            Case("tokenize_missing_input_file", ["tokenize", "-m", vocab, "-f", os.path.join(td, "nope.txt")],
                 1, None, os.path.join(td, "nope.txt"), run_dump=False),
            Case("info_missing_file", ["info", "-m", os.path.join(td, "nope.gguf")], 1, None,
                 os.path.join(td, "nope.gguf"), run_dump=False),
            Case("quantize_missing_input", ["quantize", os.path.join(td, "nope.gguf"),
                                            os.path.join(td, "q2.gguf"), "Q8_0"], 1, None,
                 os.path.join(td, "nope.gguf"), run_dump=False, also=[os.path.join(td, "q2.gguf")]),
            Case("quantize_unwritable_output", ["quantize", model, os.path.join(td, "no", "dir", "q.gguf"),
                                                "Q8_0"], 1, None, "q.gguf", run_dump=False),
            Case("run_vocab_only_gguf", ["run", "-m", vocab] + GEN, 1, ["tensor", "weight"], vocab),
            Case("dump_logits_unwritable", ["run"] + M + GEN + ["--dump-logits",
                 os.path.join(td, "no", "dir", "l.f32")], 1, None, "l.f32", run_dump=False),
            # context
            Case("prompt_longer_than_context", ["run"] + M + ["-c", "4", "-p",
                 "Once upon a time there was a little girl named Lily", "-n", "4"], 1,
                 ["context", "long", "exceed", "fit"]),
            Case("prompt_longer_than_context_bin", ["run", "-m", bin_model, "-z", tok, "-c", "4", "-p",
                 "Once upon a time there was a little girl named Lily", "-n", "4"], 1,
                 ["context", "long", "exceed", "fit"]),
            Case("huge_context", ["run"] + M + ["-c", "2000000000", "-p", "Hi", "-n", "4"], (1, 2),
                 ["memory", "context", "alloc", "large", "exceed", "maximum"]),
            # every bad option value exits 2 with one line
            Case("arg_cpus_garbage", ["run"] + M + GEN + ["--cpus", "garbage"], 2, ["--cpus"]),
            Case("arg_cpus_empty", ["run"] + M + GEN + ["--cpus", ""], 2, ["--cpus"]),
            Case("arg_cpus_open_range", ["run"] + M + GEN + ["--cpus", "0-"], 2, ["--cpus"]),
            Case("arg_cpus_reversed", ["run"] + M + GEN + ["--cpus", "5-3"], 2, ["--cpus"]),
            Case("arg_cpus_garbage_info", ["info"] + M + ["--cpus", "x"], 2, ["--cpus"], run_dump=False),
            Case("arg_cpus_garbage_bench", ["bench"] + M + ["--cpus", "1,,2"], 2, ["--cpus"], run_dump=False,
                 no_stdout=True),
            # -z belongs to llama2.c models: with a GGUF it is an error, not ignored
            Case("arg_tokenize_gguf_with_z", ["tokenize", "-m", vocab, "-z", tok, "-p", "hi"], 2, ["-z"],
                 run_dump=False, no_stdout=True),
            Case("arg_run_gguf_with_z", ["run"] + M + ["-z", tok] + GEN, 2, ["-z"]),
            # bench fails before its table header
            Case("bench_vocab_only", ["bench", "-m", vocab, "-p", "8", "-n", "4", "-r", "1"], 1, ["tensor"], vocab,
                 run_dump=False, no_stdout=True),
            # special files: refused at once, naming them (a FIFO would block a plain open forever)
            Case("fifo_as_model", ["run", "-m", fifo] + GEN, 1, ["regular", "fifo"], fifo, timeout=20),
            Case("fifo_as_model_info", ["info", "-m", fifo], 1, ["regular", "fifo"], fifo, run_dump=False,
                 timeout=20),
            Case("fifo_as_tokenizer", ["tokenize", "-z", fifo, "-p", "hi"], 1, ["regular", "fifo"], fifo,
                 run_dump=False, timeout=20),
            Case("fifo_as_bin_tokenizer", ["run", "-m", bin_model, "-z", fifo] + GEN, 1, ["regular", "fifo"], fifo,
                 timeout=20),
            Case("fifo_as_quantize_input", ["quantize", fifo, os.path.join(td, "qf.gguf"), "Q8_0"], 1,
                 ["regular", "fifo"], fifo, run_dump=False, also=[os.path.join(td, "qf.gguf")], timeout=20),
            Case("char_device_as_model", ["run", "-m", "/dev/zero"] + GEN, 1, ["regular", "device"], "/dev/zero"),
            Case("fifo_as_bench_model", ["bench", "-m", fifo, "-p", "8", "-n", "4", "-r", "1"], 1,
                 ["regular", "fifo"], fifo, run_dump=False, no_stdout=True, timeout=20),
            Case("bpe_vocab_without_byte_tokens", ["tokenize", "-m", bpe_without_bytes(td), "-p", "xyz"], 1,
                 ["byte"], "bpe_no_bytes.gguf", run_dump=False, no_stdout=True),
        ]
        for name, path, kw in metadata_ggufs(td):
            cases.append(Case(name, ["run", "-m", path] + GEN, 1, kw, path))
        # the tokenizer keys are checked for a vocab-only load as well
        for name, path, kw in metadata_ggufs(td):
            if "add_bos" in name or "token_id" in name:
                cases.append(Case(name + "_tokenize", ["tokenize", "-m", path, "-p", "hi"], 1, kw, path,
                                  run_dump=False, no_stdout=True))
        for name, path, kw in corrupted_ggufs(td):
            cases.append(Case(name, ["run", "-m", path] + GEN, 1, kw, path))
        cases.append(Case("gguf_info_truncated", ["info", "-m", os.path.join(td, "gguf_truncated_data.gguf")],
                          1, K_TRUNC, os.path.join(td, "gguf_truncated_data.gguf"), run_dump=False))
        cases += bin_cases(td)
        for i, c in enumerate(cases):
            run_case(c, td, i)

        # unreadable file: chmod 000 does not stop root
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            skip("cli.unreadable_file", "running as root, chmod 000 does not make a file unreadable "
                 "(directory_as_model covers an unreadable path)")
        else:
            p = write(td, "unreadable.gguf", b"GGUF")
            os.chmod(p, 0)
            run_case(Case("unreadable_file", ["run", "-m", p] + GEN, 1,
                          ["permission", "denied", "open", "read"], p), td, 999)

        fuzz(td)

        # ---- behaviour that is not an error ----
        r = run(["run"] + M + ["-p", "Zoo", "-n", "0", "--temp", "0"])
        check("cli.run_n0_prints_prompt", r.rc == 0 and same_text(r.out, b"Zoo"),
              "%s: exit %s, stdout %r" % (r.cmd, r.rc, r.out[:100]))
        # trailing dimensions of size 1 are accepted (as ggml does): same text as the 2-D file
        g = gguf.Reader(model)
        ts = [dict(t) for t in g.tensors]
        for t in ts:
            if t["name"] in ("blk.0.attn_q.weight", "output_norm.weight", "token_embd.weight"):
                t["ne"] = t["ne"] + [1] * (4 - len(t["ne"]))
        p = write(td, "trailing_ones.gguf", gguf.rebuild(g, tensors=ts))
        r0 = run(["run"] + M + ["-p", "Zoo", "-n", "8", "--temp", "0"] + T1)
        r = run(["run", "-m", p, "-p", "Zoo", "-n", "8", "--temp", "0"] + T1)
        check("cli.trailing_unit_dims_accepted", r.rc == 0 and r.out == r0.out and r0.rc == 0,
              "%s: exit %s, stdout %r (2-D file: %r); stderr %s" % (r.cmd, r.rc, r.out[:60], r0.out[:60], r.errline))
        r = run(["info", "-m", model])
        text = (r.out + r.err).decode("utf-8", "replace")
        g = gguf.Reader(model)
        miss = [t["name"] for t in g.tensors if t["name"] not in text]
        miss += [w for w in ["llama", "64", "172", "512"] if w not in text]
        ok = r.rc == 0 and not r.crashed() and not miss
        check("cli.info_gguf", ok, "" if ok else "%s: exit %s, missing from output: %s" % (
            r.cmd, r.rc, " ".join(miss[:8])))


main()
finish()
