"""An independent float64 reference of the transformer llm.c runs, in numpy, for small GGUF
models with F32, F16, Q8_0 or Q4_0 weights: Llama (adjacent-pair RoPE, optional rope_freqs
divisors) and Qwen2 (q/k/v biases, NEOX RoPE). Written from the model definitions, not from
llm.c. Quantized weights are dequantized; the activations that meet them are quantized to Q8_0
first, as llama.cpp (and llm.c) do: per block of 32, amax = max|x|, d = fp16(amax / 127),
q = round-half-even(x * (127 / amax)) in float32, then x = q * d. Everything else is float64.

    python3 tests/ref_numpy.py MODEL.gguf TOKEN_ID... > logits.txt   (last position's logits)
    python3 tests/ref_numpy.py --perplexity CTX MODEL.gguf TOKEN_ID...   (llama.cpp's method)
"""
import struct
import sys

import numpy as np

GGUF_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
GGUF_FMT = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}


def read_gguf(path):
    """metadata dict and {name: float64 array shaped (ne1, ne0)} for F32/F16 tensors"""
    data = open(path, "rb").read()
    pos = 0

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from(fmt, data, pos)
        pos += struct.calcsize(fmt)
        return v[0]

    def string():
        nonlocal pos
        n = take("<Q")
        s = data[pos:pos + n]
        pos += n
        return s.decode("utf-8", "replace")

    def value(t):
        if t == 8:
            return string()
        if t == 9:
            et, n = take("<I"), take("<Q")
            return [value(et) for _ in range(n)]
        return take(GGUF_FMT[t])

    assert data[:4] == b"GGUF"
    pos = 4
    take("<I")
    n_t, n_kv = take("<Q"), take("<Q")
    kv = {}
    for _ in range(n_kv):
        k = string()
        kv[k] = value(take("<I"))
    infos = []
    for _ in range(n_t):
        name = string()
        nd = take("<I")
        ne = [take("<Q") for _ in range(nd)]
        infos.append((name, ne, take("<I"), take("<Q")))
    align = kv.get("general.alignment", 32)
    base = (pos + align - 1) // align * align
    tensors, quantized = {}, set()
    for name, ne, typ, off in infos:
        count = int(np.prod(ne))
        if typ == 0:
            a = np.frombuffer(data, np.float32, count, base + off)
        elif typ == 1:
            a = np.frombuffer(data, np.float16, count, base + off)
        elif typ in (2, 8):          # Q4_0: fp16 d, 16 bytes of nibbles; Q8_0: fp16 d, 32 int8
            nb = count // 32
            bs = 18 if typ == 2 else 34
            raw = np.frombuffer(data, np.uint8, nb * bs, base + off).reshape(nb, bs)
            d = raw[:, :2].copy().view(np.float16).astype(np.float64)
            if typ == 8:
                q = raw[:, 2:].copy().view(np.int8).astype(np.float64)
            else:            # element j: low nibble of byte j, element j + 16: high nibble
                q = np.concatenate([raw[:, 2:] & 15, raw[:, 2:] >> 4], axis=1).astype(np.float64) - 8
            a = (d * q).reshape(count)
            quantized.add(name)
        else:
            raise SystemExit("ref_numpy: tensor %s has type %d; only F32/F16/Q8_0/Q4_0 models" % (name, typ))
        a = a.astype(np.float64)
        tensors[name] = a.reshape(ne[::-1]) if len(ne) > 1 else a
    tensors["quantized"] = quantized
    return kv, tensors


def q8_0_activations(x):
    """rows of x as llama.cpp's (and llm.c's) Q8_0 activations see them: quantized and back"""
    shape = x.shape
    b = x.astype(np.float32).reshape(-1, 32)
    amax = np.abs(b).max(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        idv = np.where(amax > 0, np.float32(127) / amax, np.float32(0)).astype(np.float32)
    q = np.rint(b * idv)                                   # float32 product, ties to even
    d = (amax / np.float32(127)).astype(np.float16).astype(np.float64)
    return (q.astype(np.float64) * d).reshape(shape)


def matmul(w, name, x):
    """x @ W^T, with x quantized to Q8_0 first when W is quantized"""
    if name in w["quantized"]:
        x = q8_0_activations(x)
    return x @ w[name].T


def rmsnorm(x, w, eps):
    return w * (x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps))


def rope(x, pos, n_rot, theta, neox, freqs):
    """x: (tokens, heads, head_size); rotate the first n_rot dims of every head"""
    i = np.arange(n_rot // 2)
    inv = theta ** (-2.0 * i / n_rot)
    if freqs is not None:
        inv = inv / freqs
    ang = np.outer(pos, inv)[:, None, :]                    # (tokens, 1, n_rot/2)
    c, s = np.cos(ang), np.sin(ang)
    y = x.copy()
    if neox:
        a, b = x[..., :n_rot // 2], x[..., n_rot // 2:n_rot]
        y[..., :n_rot // 2], y[..., n_rot // 2:n_rot] = a * c - b * s, a * s + b * c
    else:
        a, b = x[..., 0:n_rot:2], x[..., 1:n_rot:2]
        y[..., 0:n_rot:2], y[..., 1:n_rot:2] = a * c - b * s, a * s + b * c
    return y


def forward(kv, w, tokens, all_logits=False):
    """logits of the last token, or (tokens, vocab) of every token with all_logits"""
    arch = kv["general.architecture"]
    dim = kv[arch + ".embedding_length"]
    n_heads = kv[arch + ".attention.head_count"]
    n_kv = kv.get(arch + ".attention.head_count_kv", n_heads)
    hs = dim // n_heads
    n_rot = kv.get(arch + ".rope.dimension_count", hs)
    theta = kv.get(arch + ".rope.freq_base", 10000.0)
    eps = kv.get(arch + ".attention.layer_norm_rms_epsilon", 1e-5)
    neox = arch == "qwen2"
    freqs = w.get("rope_freqs.weight")
    T = len(tokens)
    pos = np.arange(T, dtype=np.float64)
    x = w["token_embd.weight"][tokens]                     # (T, dim)
    mask = np.triu(np.full((T, T), -np.inf), 1)
    for l in range(kv[arch + ".block_count"]):
        p = "blk.%d." % l
        h = rmsnorm(x, w[p + "attn_norm.weight"], eps)
        q, k, v = (matmul(w, p + n + ".weight", h) for n in ("attn_q", "attn_k", "attn_v"))
        if neox:
            q, k, v = q + w[p + "attn_q.bias"], k + w[p + "attn_k.bias"], v + w[p + "attn_v.bias"]
        q = rope(q.reshape(T, n_heads, hs), pos, n_rot, theta, neox, freqs)
        k = rope(k.reshape(T, n_kv, hs), pos, n_rot, theta, neox, freqs)
        v = v.reshape(T, n_kv, hs)
        rep = n_heads // n_kv
        k, v = np.repeat(k, rep, axis=1), np.repeat(v, rep, axis=1)   # head j uses kv head j // rep
        att = np.einsum("thd,shd->hts", q, k) / np.sqrt(hs) + mask
        att = np.exp(att - att.max(-1, keepdims=True))
        att /= att.sum(-1, keepdims=True)
        o = np.einsum("hts,shd->thd", att, v).reshape(T, dim)
        x = x + matmul(w, p + "attn_output.weight", o)
        h = rmsnorm(x, w[p + "ffn_norm.weight"], eps)
        g, u = matmul(w, p + "ffn_gate.weight", h), matmul(w, p + "ffn_up.weight", h)
        x = x + matmul(w, p + "ffn_down.weight", g / (1 + np.exp(-g)) * u)
    x = rmsnorm(x, w["output_norm.weight"], eps)
    out = "output.weight" if "output.weight" in w else "token_embd.weight"
    return matmul(w, out, x) if all_logits else matmul(w, out, x[-1:])[0]



def perplexity(kv, w, tokens, ctx, bos=None):
    """llama.cpp's method: chunks of ctx tokens (the first replaced by BOS when bos is given),
    each evaluated as one sequence, the log-likelihood of the second half of each (positions
    ctx/2 .. ctx-2 predicting the next token). Returns (ppl, mean nll, count)."""
    nll, count = 0.0, 0
    first = ctx // 2
    for ch in range(len(tokens) // ctx):
        seq = list(tokens[ch * ctx:(ch + 1) * ctx])
        if bos is not None:
            seq[0] = bos
        lg = forward(kv, w, seq, all_logits=True)
        for j in range(first, ctx - 1):
            row = lg[j]
            m = row.max()
            nll -= row[seq[j + 1]] - m - np.log(np.exp(row - m).sum())
            count += 1
    return float(np.exp(nll / count)), nll / count, count


if __name__ == "__main__":
    if sys.argv[1] == "--perplexity":
        kv, w = read_gguf(sys.argv[3])
        bos = kv.get("tokenizer.ggml.bos_token_id", 1) if kv.get("tokenizer.ggml.add_bos_token", True) else None
        print("PPL = %.6f" % perplexity(kv, w, [int(t) for t in sys.argv[4:]], int(sys.argv[2]), bos)[0])
    else:
        kv, w = read_gguf(sys.argv[1])
        for v in forward(kv, w, [int(t) for t in sys.argv[2:]]):
            print(repr(float(v)))
