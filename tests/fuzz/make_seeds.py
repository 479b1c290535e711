#!/usr/bin/env python3
"""Write the seed corpora of the fuzz targets (standard library only, deterministic; GGUF
containers through tools/gguf.py).

    python3 tests/fuzz/make_seeds.py [OUTDIR]                  (default: tests/fuzz/seeds)
    python3 tests/fuzz/make_seeds.py --shared SHARED OUTDIR    (seeds from the team assets)
    python3 tests/fuzz/make_seeds.py --kquants OUTDIR           (K-quant models, 30-60 KB each)
    python3 tests/fuzz/make_seeds.py --regress [OUTDIR]         (tests/regress/*.gguf)
    python3 tests/fuzz/make_seeds.py --many-tensors N FILE      (a GGUF with N tensors)

OUTDIR/gguf/       tiny but valid llama GGUF files (every tensor type llm.c runs, GQA, tied and
                   separate classifier, GGUF v2 and v3, odd metadata) and a vocab-only file
OUTDIR/llama2c/    llama2.c checkpoint + SEP + tokenizer.bin (the fuzz_llama2c input format)
OUTDIR/tokenizer/  selector byte, option byte, then text (the fuzz_tokenizer input format)
OUTDIR/chat/       selector byte, option byte, TEMPLATE \0 SYSTEM \0 USER (the fuzz_chat format)

The models are a few KB each: dim 8 (32 for the block types), 1-2 layers, a 20-token vocab.
With --shared, seeds are made from SHARED/assets instead (at run time, not committed): the
stories260K and SPM vocab GGUFs, tok512.bin as a tokenizer-only llama2.c input, and the
llama.cpp vocab test strings for the tokenizer, the chat templates of SHARED/assets/chat.
"""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
import gguf  # noqa: E402  (the GGUF container: gguf.gguf_bytes)

U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = (
    gguf.UINT8, gguf.INT8, gguf.UINT16, gguf.INT16, gguf.UINT32, gguf.INT32, gguf.FLOAT32, gguf.BOOL, gguf.STRING,
    gguf.ARRAY, gguf.UINT64, gguf.INT64, gguf.FLOAT64)
T_F32, T_F16, T_Q4_0, T_Q8_0, T_BF16 = gguf.F32, gguf.F16, gguf.Q4_0, gguf.Q8_0, gguf.BF16
T_Q2_K, T_Q3_K, T_Q4_K, T_Q5_K, T_Q6_K = gguf.Q2_K, gguf.Q3_K, gguf.Q4_K, gguf.Q5_K, gguf.Q6_K
# K-quant super-blocks of 256: the offsets of their fp16 scales (d, then dmin if any)
KQ_SCALES = {T_Q2_K: (80, 82), T_Q3_K: (108,), T_Q4_K: (0, 2), T_Q5_K: (0, 2), T_Q6_K: (208,)}

# The separator between the checkpoint and the tokenizer in a fuzz_llama2c input.
L2C_SEP = b"\x00TOKBIN\x00"


class Rng:
    """xorshift32: the same weights on every machine and Python version."""

    def __init__(self, seed):
        self.s = seed or 1

    def next(self):
        s = self.s
        s ^= (s << 13) & 0xFFFFFFFF
        s ^= s >> 17
        s ^= (s << 5) & 0xFFFFFFFF
        self.s = s
        return s

    def uniform(self, scale=1.0):
        return ((self.next() >> 8) / 16777216.0 * 2.0 - 1.0) * scale


def f16(x):
    return struct.pack("<e", x)


def bf16(x):
    return struct.pack("<f", x)[2:4]                     # truncation: fine for seeds


def encode_rows(values, cols, ttype):
    """Float values (row-major, rows of `cols`) in a ggml tensor type."""
    out = bytearray()
    if ttype == T_F32:
        for x in values:
            out += struct.pack("<f", x)
    elif ttype == T_F16:
        for x in values:
            out += f16(x)
    elif ttype == T_BF16:
        for x in values:
            out += bf16(x)
    elif ttype in (T_Q8_0, T_Q4_0):
        assert cols % 32 == 0
        for b in range(0, len(values), 32):
            blk = values[b:b + 32]
            amax = max(abs(x) for x in blk)
            if ttype == T_Q8_0:
                d = amax / 127.0
                out += f16(d)
                for x in blk:
                    q = int(round(x / d)) if d else 0
                    out += struct.pack("<b", max(-127, min(127, q)))
            else:
                m = max(blk, key=abs)
                d = m / -8.0
                out += f16(d)
                inv = 1.0 / d if d else 0.0
                codes = [max(0, min(15, int(x * inv + 8.5))) for x in blk]
                for j in range(16):
                    out.append(codes[j] | (codes[j + 16] << 4))
    elif ttype in KQ_SCALES:                             # random codes, small scales
        size, scales = gguf.TENSOR_TYPES[ttype][2], KQ_SCALES[ttype]
        assert cols % 256 == 0
        rng = Rng(len(values) * 31 + ttype)
        for _ in range(len(values) // 256):
            blk = bytearray(rng.next() & 0xFF for _ in range(size))
            for k, at in enumerate(scales):
                blk[at:at + 2] = f16(0.002 if k == 0 else 0.001)
            out += blk
    else:
        raise ValueError(ttype)
    return bytes(out)


# A 20-token SentencePiece vocabulary: control tokens, a few byte tokens, merges.
VOCAB = [("<unk>", 2), ("<s>", 3), ("</s>", 3),
         ("<0x0A>", 6), ("<0x20>", 6), ("<0xC3>", 6), ("<0xA9>", 6), ("<0xE2>", 6),
         ("\u2581", 1), ("a", 1), ("b", 1), ("c", 1), ("\u2581a", 1), ("ab", 1), ("\u2581ab", 1),
         ("ba", 1), ("\u2581b", 1), ("abc", 1), ("\u00e9", 1), ("\u2581c", 1)]


def vocab_kvs(add_space_prefix=None, eot=None, typed_ids=U32, vocab=VOCAB):
    toks = [p for p, _ in vocab]
    kvs = [("tokenizer.ggml.model", STR, "llama"),
           ("tokenizer.ggml.tokens", ARR, (STR, toks)),
           ("tokenizer.ggml.scores", ARR, (F32, [-float(i) for i in range(len(toks))])),
           ("tokenizer.ggml.token_type", ARR, (I32, [t for _, t in vocab])),
           ("tokenizer.ggml.bos_token_id", typed_ids, 1),
           ("tokenizer.ggml.eos_token_id", typed_ids, 2),
           ("tokenizer.ggml.unknown_token_id", typed_ids, 0),
           ("tokenizer.ggml.add_bos_token", BOOL, 1)]
    if add_space_prefix is not None:
        kvs.append(("tokenizer.ggml.add_space_prefix", BOOL, add_space_prefix))
    if eot is not None:
        kvs.append(("tokenizer.ggml.eot_token_id", I32, eot))
    return kvs


def llama_model(seed, dim, hidden, layers, heads, kv_heads, types, tied=False, rope_dims=None,
                version=3, alignment=None, ctx=16, extra_kvs=(), int_type=U32, vocab_kv=None, vocab=VOCAB,
                nan_rows=None, fill_rows=None):
    """types: dict tensor-kind -> ggml type (kinds: embd, out, q, k, v, o, gate, down, up; norms
    are F32). nan_rows: {tensor name: [row, ...]} rows made NaN (F32, F16, BF16: every element;
    Q8_0, Q4_0: the block scales). fill_rows: {F32 tensor name: (rows, values)}: those rows are the
    values repeated."""
    rng = Rng(seed)
    V = len(vocab)
    nan_rows = nan_rows or {}
    hs = dim // heads
    kv_dim = hs * kv_heads

    def mat(name, cols, rows, kind):
        t = types.get(kind, T_F32)
        vals = [rng.uniform(0.5) for _ in range(rows * cols)]
        data = bytearray(encode_rows(vals, cols, t))
        row_bytes = len(data) // rows
        rows_f, values_f = (fill_rows or {}).get(name, ((), ()))
        for r in rows_f:
            assert t == T_F32
            data[r * row_bytes:(r + 1) * row_bytes] = b"".join(
                struct.pack("<f", values_f[i % len(values_f)]) for i in range(cols))
        for r in nan_rows.get(name, ()):
            if t in (T_Q8_0, T_Q4_0):
                blk = 34 if t == T_Q8_0 else 18
                for b in range(r * row_bytes, (r + 1) * row_bytes, blk):
                    data[b:b + 2] = b"\x00\x7e"                  # fp16 NaN scale
            else:
                nan = {T_F32: b"\x00\x00\xc0\x7f", T_F16: b"\x00\x7e", T_BF16: b"\xc0\x7f"}[t]
                data[r * row_bytes:(r + 1) * row_bytes] = nan * cols
        return (name, [cols, rows], t, bytes(data))

    def norm(name, n):
        return (name, [n], T_F32, encode_rows([1.0 + rng.uniform(0.1) for _ in range(n)], n, T_F32))

    kvs = [("general.architecture", STR, "llama"), ("general.name", STR, "fuzz-seed")]
    if alignment is not None:
        kvs.append(("general.alignment", U32, alignment))
    kvs += [("llama.context_length", int_type, ctx),
            ("llama.embedding_length", int_type, dim),
            ("llama.block_count", int_type, layers),
            ("llama.feed_forward_length", int_type, hidden),
            ("llama.attention.head_count", int_type, heads),
            ("llama.attention.head_count_kv", int_type, kv_heads),
            ("llama.attention.layer_norm_rms_epsilon", F32, 1e-5),
            ("llama.rope.freq_base", F32, 10000.0)]
    if rope_dims is not None:
        kvs.append(("llama.rope.dimension_count", int_type, rope_dims))
    kvs += list(extra_kvs)
    kvs += vocab_kv if vocab_kv is not None else vocab_kvs(vocab=vocab)
    tensors = [mat("token_embd.weight", dim, V, "embd"), norm("output_norm.weight", dim)]
    if not tied:
        tensors.append(mat("output.weight", dim, V, "out"))
    for l in range(layers):
        p = "blk.%d." % l
        tensors += [norm(p + "attn_norm.weight", dim),
                    mat(p + "attn_q.weight", dim, dim, "q"),
                    mat(p + "attn_k.weight", dim, kv_dim, "k"),
                    mat(p + "attn_v.weight", dim, kv_dim, "v"),
                    mat(p + "attn_output.weight", dim, dim, "o"),
                    norm(p + "ffn_norm.weight", dim),
                    mat(p + "ffn_gate.weight", dim, hidden, "gate"),
                    mat(p + "ffn_down.weight", hidden, dim, "down"),
                    mat(p + "ffn_up.weight", dim, hidden, "up")]
    return gguf.gguf_bytes(kvs, tensors, version=version, alignment=alignment or 32)


def all_types(t):
    return {k: t for k in ("embd", "out", "q", "k", "v", "o", "gate", "down", "up")}


def gguf_seeds():
    seeds = {}
    seeds["f32.gguf"] = llama_model(1, 8, 16, 1, 2, 2, all_types(T_F32))
    seeds["f32-gqa-tied-v2.gguf"] = llama_model(
        2, 8, 16, 2, 2, 1, all_types(T_F32), tied=True, rope_dims=2, version=2, alignment=16, int_type=I32,
        extra_kvs=[("llama.vocab_size", U64, len(VOCAB)),
                   ("fuzz.nested", ARR, (ARR, [(U8, [1, 2, 3]), (STR, ["x", "yz"])])),
                   ("fuzz.f64", F64, 0.25), ("fuzz.i8", I8, -3), ("fuzz.u16", U16, 7), ("fuzz.i16", I16, -7),
                   ("fuzz.i64", I64, -1)],
        vocab_kv=vocab_kvs(add_space_prefix=0, eot=2, typed_ids=I32))
    seeds["f16.gguf"] = llama_model(3, 8, 16, 1, 2, 2, all_types(T_F16))
    seeds["bf16.gguf"] = llama_model(4, 8, 16, 1, 4, 2, all_types(T_BF16), ctx=4)
    seeds["q8_0.gguf"] = llama_model(5, 32, 32, 1, 2, 1, all_types(T_Q8_0), alignment=64)
    seeds["q4_0.gguf"] = llama_model(6, 32, 32, 1, 2, 2, all_types(T_Q4_0))
    mixed = {"embd": T_Q8_0, "out": T_F16, "q": T_Q8_0, "k": T_F32, "v": T_Q4_0, "o": T_BF16,
             "gate": T_Q4_0, "down": T_F32, "up": T_Q8_0}
    seeds["mixed.gguf"] = llama_model(7, 32, 32, 1, 4, 2, mixed, rope_dims=4)
    seeds["vocab-only.gguf"] = gguf.gguf_bytes([("general.architecture", STR, "llama")] + vocab_kvs(eot=2), [])
    return seeds


def kquant_model(ttype, embd_type=None):
    """dim 256 (the K super-block), one layer whose seven matrices share one block of data;
    token_embd in embd_type (default ttype; F32 gives `quantize` a matrix to turn into K blocks)."""
    rng = Rng(40 + ttype)
    dim, V = 256, len(VOCAB)
    mat = encode_rows([0.0] * dim * dim, dim, ttype)

    def norm(name):
        return (name, [dim], T_F32, encode_rows([1.0 + rng.uniform(0.1) for _ in range(dim)], dim, T_F32))

    kvs = [("general.architecture", STR, "llama"), ("llama.context_length", U32, 8),
           ("llama.embedding_length", U32, dim), ("llama.block_count", U32, 1),
           ("llama.feed_forward_length", U32, dim), ("llama.attention.head_count", U32, 4),
           ("llama.attention.head_count_kv", U32, 4)] + vocab_kvs()
    et = ttype if embd_type is None else embd_type
    embd = [rng.uniform(0.5) for _ in range(dim * V)] if et == T_F32 else [0.0] * dim * V
    tensors = [("token_embd.weight", [dim, V], et, encode_rows(embd, dim, et)),
               norm("output_norm.weight"), norm("blk.0.attn_norm.weight"), norm("blk.0.ffn_norm.weight"),
               ("blk.0.attn_q.weight", [dim, dim], ttype, mat)]
    for name in ("attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_down", "ffn_up"):
        tensors.append(("blk.0.%s.weight" % name, [dim, dim], ttype, "blk.0.attn_q.weight"))
    return gguf.gguf_bytes(kvs, tensors)


def kquant_seeds():
    """Not committed (30-60 KB each): written at run time by tests/fuzz/fuzz.sh."""
    names = {T_Q2_K: "Q2_K", T_Q3_K: "Q3_K", T_Q4_K: "Q4_K", T_Q5_K: "Q5_K", T_Q6_K: "Q6_K"}
    seeds = {"kquant-%s.gguf" % names[t]: kquant_model(t) for t in KQ_SCALES}
    seeds["kquant-Q2_K-f32-embd.gguf"] = kquant_model(T_Q2_K, T_F32)
    return seeds


# ---- llama2.c -------------------------------------------------------------------------------
def l2c_checkpoint(seed, dim, hidden, layers, heads, kv_heads, vocab, seq_len, shared=True):
    rng = Rng(seed)
    hs = dim // heads
    kv_dim = hs * kv_heads
    head = struct.pack("<7i", dim, hidden, layers, heads, kv_heads, vocab if shared else -vocab, seq_len)
    n = (vocab * dim + layers * (2 * dim + 2 * dim * dim + 2 * kv_dim * dim + 3 * hidden * dim) + dim
         + seq_len * hs + (0 if shared else vocab * dim))
    vals = [rng.uniform(0.5) for _ in range(n)]
    # the norm weights near 1 (rms_att, rms_ffn and rms_final): start of each section
    return head + struct.pack("<%df" % n, *vals)


def l2c_tokenizer(pieces):
    out = struct.pack("<i", max(len(p.encode("utf-8")) for p in pieces))
    for i, p in enumerate(pieces):
        b = p.encode("utf-8")
        out += struct.pack("<fi", -float(i), len(b)) + b
    return out


L2C_PIECES = ["<unk>", "\n<s>\n", "\n</s>\n", "<0x0A>", "<0x20>", "<0xC3>", "<0xA9>", " ", "a", "b",
              "c", " a", "ab", " ab", "ba", " b", "abc", "\u00e9", " c", "bc"]


def llama2c_seeds():
    tok = l2c_tokenizer(L2C_PIECES)
    V = len(L2C_PIECES)
    return {
        "shared.l2c": l2c_checkpoint(11, 8, 16, 1, 2, 2, V, 8) + L2C_SEP + tok,
        "separate-gqa.l2c": l2c_checkpoint(12, 8, 16, 2, 2, 1, V, 4, shared=False) + L2C_SEP + tok,
        "tokenizer-only.l2c": L2C_SEP + tok,
    }


# ---- tokenizer texts ------------------------------------------------------------------------
# byte 0 selects the vocabulary (mod the number loaded), byte 1 the options (bit 0: add BOS,
# bits 1-3: a small piece buffer), the rest is the text.
TEXTS = [b"Hello world", b" Hello  world ", b"\xc3\xa9t\xc3\xa9 \xe2\x96\x81x", b"\t\n\r <s></s><0x41>",
         b"\xff\xfe\x80 \xf0\x9f\xa6\x99 \xe6\x97\xa5\xe6\x9c\xac", b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
         b"abcabc ab ba c", b"Once upon a time, there was a little girl named Lily."]


# chat: byte 0 the vocabulary, byte 1 the options, then TEMPLATE \0 SYSTEM \0 USER
CHAT_TEMPLATES = [b"{% for m in messages %}[INST] {{ m['content'] }} [/INST]{% endfor %}",
                  b"<|start_header_id|>{{ role }}<|end_header_id|>\n\n{{ content }}<|eot_id|>",
                  b"{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}",
                  "{{bos_token}}<\uff5cUser\uff5c>{{c}}<\uff5cAssistant\uff5c><think>\n".encode("utf-8"),
                  b"{{ messages }}", b""]


def chat_seeds():
    seeds = {}
    for i, t in enumerate(CHAT_TEMPLATES):
        for opt in (0x13, 0x02, 0x1D):                      # detected/first/system, llama3 forced, chatml forced
            seeds["tpl%d-%02x.chat" % (i, opt)] = bytes([i, opt]) + t + b"\0You are terse.\0Hello [INST] <|im_end|> \xff!"
    return seeds


# http: what a client sends (fuzz_http); json: request bodies (fuzz_json)
HTTP_SEEDS = {
    "get-health.http": b"GET /health HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n",
    "post-completion.http": b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                            b"Authorization: Bearer key\r\nContent-Length: 31\r\n\r\n{\"prompt\": \"hi\", \"stream\": true}",
    "keep-alive-lf.http": b"GET /v1/models HTTP/1.0\nConnection: keep-alive, Upgrade\n\nGET /health HTTP/1.1\n\n",
    "expect.http": b"POST /v1/chat/completions?x=1 HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n"
                   b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}",
}
JSON_SEEDS = {
    "completion.json": b'{"model": "m", "prompt": "In the beginning", "max_tokens": 16, "temperature": 0.7, "stop": ["\\n", "."],'
                       b' "seed": -12345678901, "stream": false, "logit_bias": null}',
    "chat.json": (r'{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": [{"type": "text",'
                  r' "text": "h\u00e9llo \ud83d\ude00 \u0000 \" \\ \/ \b\f\n\r\t"}]}, {"role": "assistant", "content":'
                  ' "<think>x</think>\u2581é"}], "stream_options": {"include_usage": true}}').encode("utf-8"),
    "numbers.json": b"[0, -0, 1e400, -1E-400, 123456789012345678901234567890, 0.5e+3, 1.7976931348623157e308, 5e-324, [], {}]",
    "nested.json": b"[" * 40 + b"{\"a\": [true, false, null]}" + b"]" * 40,
}


def tokenizer_seeds():
    seeds = {}
    for i, t in enumerate(TEXTS):
        for sel in range(3):
            seeds["text%d-v%d.txt" % (i, sel)] = bytes([sel, (i * 5 + sel) & 0xFF]) + t
    return seeds


def shared_seeds(shared):
    """Seeds made from the team assets; missing files are skipped."""
    a = os.path.join(shared, "assets")

    def read(*parts):
        try:
            with open(os.path.join(a, *parts), "rb") as f:
                return f.read()
        except OSError:
            return None

    gguf, l2c, tok, chat = {}, {}, {}, {}
    for name, parts in (("shared-stories260K.gguf", ("gguf", "stories260K.gguf")),
                        ("shared-vocab-llama-spm.gguf", ("vocab", "ggml-vocab-llama-spm.gguf"))):
        d = read(*parts)
        if d:
            gguf[name] = d
    d = read("llama2c", "tok512.bin")
    if d:
        l2c["shared-tok512.l2c"] = L2C_SEP + d
    d = read("vocab", "ggml-vocab-llama-spm.gguf.inp")
    if d:
        for i, text in enumerate(d.split(b"\n__ggml_vocab_test__\n")):
            if text:
                tok["shared-spm-inp%02d.txt" % i] = bytes([i % 4, i & 0xFF]) + text
    import glob
    import json
    for path in sorted(glob.glob(os.path.join(a, "chat", "*.json"))):
        try:
            with open(path, encoding="utf-8") as f:
                tpl = json.load(f).get("chat_template")
        except (OSError, ValueError):
            continue
        if isinstance(tpl, list):                          # [{"name": ..., "template": ...}, ...]
            tpl = next((x.get("template") for x in tpl if isinstance(x, dict)), None)
        if isinstance(tpl, str):
            name = os.path.basename(path).split(".")[0]
            for opt in (0x13, 0x1C):
                chat["shared-%s-%02x.chat" % (name, opt)] = (bytes([len(chat), opt]) + tpl.encode("utf-8")
                                                             + b"\0Be brief.\0Hi there")
    return (("gguf", gguf), ("llama2c", l2c), ("tokenizer", tok), ("chat", chat))


# ---- regression files (tests/regress) --------------------------------------------------------
def tensor_only_gguf(ne):
    """One F32 tensor of shape ne with no data (a zero dimension), no tokenizer."""
    return gguf.gguf_bytes([("general.architecture", STR, "llama")], [("t", ne, T_F32, b"")])


def regress_files():
    big_vocab = VOCAB + [("x%02d" % i, 1) for i in range(44)]          # 64 tokens: more than top-k 40
    f32 = all_types(T_F32)
    return {
        # all logits NaN: llm_sample keeps no candidate and returns c[m - 1] with m = 0
        "ok-sampler-nan-logits.gguf": llama_model(21, 8, 16, 1, 2, 2, f32,
                                                  nan_rows={"output.weight": range(len(VOCAB))}),
        # the logit at the quickselect's first pivot ((64 - 1) / 2 = 31) is NaN: select_top runs off the array
        "ok-sampler-nan-pivot.gguf": llama_model(22, 8, 16, 1, 2, 2, f32, vocab=big_vocab,
                                                 nan_rows={"output.weight": [31]}),
        # NaN activations reach quantize_row_q8_0: (int8_t)roundf(NaN) is undefined behaviour
        "ok-q8_0-nan-activations.gguf": llama_model(23, 32, 32, 1, 2, 1, all_types(T_Q8_0),
                                                    nan_rows={"token_embd.weight": range(len(VOCAB))}),
        # weights so small that 1/d overflows in quantize_row_q4_0: x * id is -inf, cast to int (UB)
        "ok-quantize-tiny-weights.gguf": llama_model(25, 32, 32, 1, 2, 2, f32,
                                                     fill_rows={"blk.0.attn_q.weight": ([0, 5], [1e-39, 5e-40])}),
        # general.alignment 1 puts F32 tensor data at odd addresses (misaligned float loads)
        "bad-misaligned-f32.gguf": llama_model(24, 8, 16, 1, 2, 2, f32, alignment=1,
                                               extra_kvs=[("fuzz.pad", U8, 1)]),
        # shape [0, 2^40]: no data, but `quantize` converts 2^40 empty rows (hangs)
        "bad-quantize-zero-rows.gguf": tensor_only_gguf([0, 1 << 40]),
        # shape [2^26, 0]: no data, but `quantize` allocates and clears two 2^26-float rows
        "bad-quantize-huge-row.gguf": tensor_only_gguf([1 << 26, 0]),
    }


def many_tensors_gguf(n):
    """n one-float tensors sharing one data block: the duplicate-name check is O(n^2) when naive."""
    return gguf.gguf_bytes([("general.architecture", STR, "llama")],
                           [("t%07d" % i, [1], T_F32, b"\0" * 4 if i == 0 else "t0000000") for i in range(n)])


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    args = sys.argv[1:]
    if args[:1] == ["--many-tensors"]:
        if len(args) != 3:
            sys.exit("usage: make_seeds.py --many-tensors N FILE")
        with open(args[2], "wb") as f:
            f.write(many_tensors_gguf(int(args[1])))
        return
    if args[:1] == ["--regress"]:
        outdir = args[1] if len(args) > 1 else os.path.join(here, "..", "regress")
        os.makedirs(outdir, exist_ok=True)
        for name, data in sorted(regress_files().items()):
            with open(os.path.join(outdir, name), "wb") as f:
                f.write(data)
        print("make_seeds: wrote %d regression files to %s" % (len(regress_files()), outdir))
        return
    if args[:1] == ["--shared"]:
        if len(args) != 3:
            sys.exit("usage: make_seeds.py --shared SHARED OUTDIR")
        outdir, sets = args[2], shared_seeds(args[1])
    elif args[:1] == ["--kquants"]:
        if len(args) != 2:
            sys.exit("usage: make_seeds.py --kquants OUTDIR")
        outdir, sets = args[1], (("gguf", kquant_seeds()),)
    else:
        outdir = args[0] if args else os.path.join(here, "seeds")
        sets = (("gguf", gguf_seeds()), ("llama2c", llama2c_seeds()), ("tokenizer", tokenizer_seeds()),
                ("chat", chat_seeds()), ("http", HTTP_SEEDS), ("json", JSON_SEEDS))
    total = 0
    for sub, seeds in sets:
        d = os.path.join(outdir, sub)
        os.makedirs(d, exist_ok=True)
        for name, data in sorted(seeds.items()):
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
            total += len(data)
    print("make_seeds: wrote %d bytes of seeds to %s" % (total, outdir))


if __name__ == "__main__":
    main()
