"""A pure-Python (double precision) Llama forward pass, as llama2.c's run.c computes it, for
small GGUF models such as stories260K. Used to check the logits that `llm --dump-logits`
writes, independently of llm.c. Slow (about a second per token for 260K parameters), so only
for tiny models and short prompts."""
import math

from llmtest import dequantize, gguf_load


class Model:
    def __init__(self, path):
        g = gguf_load(path)
        a = g.kv("general.architecture")
        self.dim = g.kv(a + ".embedding_length")
        self.n_layers = g.kv(a + ".block_count")
        self.n_heads = g.kv(a + ".attention.head_count")
        self.n_kv_heads = g.kv(a + ".attention.head_count_kv", self.n_heads)
        self.eps = g.kv(a + ".attention.layer_norm_rms_epsilon", 1e-5)
        self.theta = g.kv(a + ".rope.freq_base", 10000.0)
        self.head_size = self.dim // self.n_heads
        self.kv_dim = self.head_size * self.n_kv_heads
        self.w = {}
        for t in g.tensors:
            v = dequantize(t["type"], g.data(t))
            if len(t["dims"]) == 2:
                cols = t["dims"][0]
                v = [v[r * cols:(r + 1) * cols] for r in range(t["dims"][1])]
            self.w[t["name"]] = v
        if "output.weight" not in self.w:
            self.w["output.weight"] = self.w["token_embd.weight"]
        self.vocab = len(self.w["token_embd.weight"])


def _matvec(W, x):
    return [math.fsum(a * b for a, b in zip(row, x)) for row in W]


def _rmsnorm(x, w, eps):
    s = 1.0 / math.sqrt(math.fsum(v * v for v in x) / len(x) + eps)
    return [wi * (xi * s) for xi, wi in zip(x, w)]


def forward(m, tokens):
    """Logits (list of vocab floats) after feeding tokens at positions 0..len-1."""
    hs, kvd = m.head_size, m.kv_dim
    kv_mul = m.n_heads // m.n_kv_heads
    kcache = [[] for _ in range(m.n_layers)]
    vcache = [[] for _ in range(m.n_layers)]
    for pos, tok in enumerate(tokens):
        x = list(m.w["token_embd.weight"][tok])
        for l in range(m.n_layers):
            p = "blk.%d." % l
            xb = _rmsnorm(x, m.w[p + "attn_norm.weight"], m.eps)
            q = _matvec(m.w[p + "attn_q.weight"], xb)
            k = _matvec(m.w[p + "attn_k.weight"], xb)
            v = _matvec(m.w[p + "attn_v.weight"], xb)
            # RoPE on adjacent pairs (llama2.c / GGUF "llama" layout)
            for i in range(0, m.dim, 2):
                freq = 1.0 / (m.theta ** ((i % hs) / hs))
                c, s = math.cos(pos * freq), math.sin(pos * freq)
                for vec in ((q, k) if i < kvd else (q,)):
                    a, b = vec[i], vec[i + 1]
                    vec[i], vec[i + 1] = a * c - b * s, a * s + b * c
            kcache[l].append(k)
            vcache[l].append(v)
            out = []
            for h in range(m.n_heads):
                qh = q[h * hs:(h + 1) * hs]
                o = (h // kv_mul) * hs
                sc = [math.fsum(a * b for a, b in zip(qh, kt[o:o + hs])) / math.sqrt(hs)
                      for kt in kcache[l]]
                mx = max(sc)
                e = [math.exp(s - mx) for s in sc]
                z = math.fsum(e)
                out.extend(math.fsum(e[t] / z * vcache[l][t][o + j] for t in range(len(e)))
                           for j in range(hs))
            x = [a + b for a, b in zip(x, _matvec(m.w[p + "attn_output.weight"], out))]
            xb = _rmsnorm(x, m.w[p + "ffn_norm.weight"], m.eps)
            g = _matvec(m.w[p + "ffn_gate.weight"], xb)
            u = _matvec(m.w[p + "ffn_up.weight"], xb)
            hb = [a / (1.0 + math.exp(-a)) * b for a, b in zip(g, u)]
            x = [a + b for a, b in zip(x, _matvec(m.w[p + "ffn_down.weight"], hb))]
    x = _rmsnorm(x, m.w["output_norm.weight"], m.eps)
    return _matvec(m.w["output.weight"], x)
