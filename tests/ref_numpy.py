"""The float64 reference of the transformer llm.c runs (the one reference forward pass of the
tests), in numpy, for small GGUF models with F32, F16, BF16, Q8_0 or Q4_0 weights: Llama
(adjacent-pair RoPE, optional rope_freqs divisors) and Qwen2 (q/k/v biases, NEOX RoPE). Written
from the model definitions, not from llm.c. Quantized weights are dequantized; the activations that meet them are quantized to Q8_0
first, as llama.cpp (and llm.c) do: per block of 32, amax = max|x|, d = fp16(amax / 127),
q = round-half-even(x * (127 / amax)) in float32, then x = q * d. Everything else is float64.

    python3 tests/ref_numpy.py MODEL.gguf TOKEN_ID... > logits.txt   (last position's logits)
    python3 tests/ref_numpy.py --perplexity CTX MODEL.gguf TOKEN_ID...   (llama.cpp's method)
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import gguf  # noqa: E402

QUANTIZED = (gguf.Q8_0, gguf.Q4_0)


def read_gguf(path):
    """metadata dict and {name: float64 array shaped reversed(ne)} (weights dequantized: exact),
    plus "quantized": the names of the Q8_0 / Q4_0 tensors"""
    r = gguf.Reader(path)
    tensors, quantized = {}, set()
    for t in r.tensors:
        if t["type"] not in (gguf.F32, gguf.F16, gguf.BF16) + QUANTIZED:
            raise ValueError("ref_numpy: tensor %s has type %s; only F32/F16/BF16/Q8_0/Q4_0 models"
                             % (t["name"], gguf.TYPE_NAME.get(t["type"], t["type"])))
        tensors[t["name"]] = r.tensor(t["name"]).astype(np.float64)
        if t["type"] in QUANTIZED:
            quantized.add(t["name"])
    tensors["quantized"] = quantized
    return r.kv, tensors


def q8_0_activations(x, jitter=None):
    """rows of x as llama.cpp's (and llm.c's) Q8_0 activations see them: quantized and back.
    jitter (a numpy Generator) first moves every float32 value one ulp up or down at random: the
    size of the rounding differences between two float32 implementations (tools/ppl_noise.py)"""
    shape = x.shape
    b = x.astype(np.float32).reshape(-1, 32)
    if jitter is not None:
        b = np.nextafter(b, np.where(jitter.random(b.shape) < 0.5, -np.inf, np.inf).astype(np.float32))
    amax = np.abs(b).max(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        idv = np.where(amax > 0, np.float32(127) / amax, np.float32(0)).astype(np.float32)
    q = np.rint(b * idv)                                   # float32 product, ties to even
    d = (amax / np.float32(127)).astype(np.float16).astype(np.float64)
    return (q.astype(np.float64) * d).reshape(shape)


def matmul(w, name, x, jitter=None):
    """x @ W^T, with x quantized to Q8_0 first when W is quantized"""
    if name in w["quantized"]:
        x = q8_0_activations(x, jitter)
    return np.einsum("ti,oi->to", x, w[name])             # numpy's own loops: faster than a reference BLAS


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


def forward(kv, w, tokens, all_logits=False, jitter=None):
    """logits of the last token, or (tokens, vocab) of every token with all_logits (jitter: see
    q8_0_activations)"""
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
        q, k, v = (matmul(w, p + n + ".weight", h, jitter) for n in ("attn_q", "attn_k", "attn_v"))
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
        x = x + matmul(w, p + "attn_output.weight", o, jitter)
        h = rmsnorm(x, w[p + "ffn_norm.weight"], eps)
        g, u = matmul(w, p + "ffn_gate.weight", h, jitter), matmul(w, p + "ffn_up.weight", h, jitter)
        x = x + matmul(w, p + "ffn_down.weight", g / (1 + np.exp(-g)) * u, jitter)
    x = rmsnorm(x, w["output_norm.weight"], eps)
    out = "output.weight" if "output.weight" in w else "token_embd.weight"
    return matmul(w, out, x, jitter) if all_logits else matmul(w, out, x[-1:], jitter)[0]



def perplexity(kv, w, tokens, ctx, bos=None, jitter=None):
    """llama.cpp's method: chunks of ctx tokens (the first replaced by BOS when bos is given),
    each evaluated as one sequence, the log-likelihood of the second half of each (positions
    ctx/2 .. ctx-2 predicting the next token). Returns (ppl, mean nll, count)."""
    nll, count = 0.0, 0
    first = ctx // 2
    for ch in range(len(tokens) // ctx):
        seq = list(tokens[ch * ctx:(ch + 1) * ctx])
        if bos is not None:
            seq[0] = bos
        lg = forward(kv, w, seq, all_logits=True, jitter=jitter)
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
