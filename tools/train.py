#!/usr/bin/env python3
"""Train the project's small offline default model on the King James Bible.

Everything comes from Debian packages: the text from `bible-kjv` +
`bible-kjv-text` (the /usr/bin/bible program), a SentencePiece BPE vocabulary,
and a small Llama-architecture model trained with plain PyTorch ops on the CPU.

Outputs (paths relative to the repository root, the parent of tools/):
  build/train/{train,heldout}.txt     the corpus split (not committed)
  models/kjv.model                    the SentencePiece model (reference tokenizer)
  models/kjv.gguf                     GGUF v3, all F32
  models/kjv-q8_0.gguf                GGUF v3, 2-D matrices Q8_0, norms F32
  models/kjv.bin                      llama2.c "v0" checkpoint (shared classifier)
  models/kjv-heldout.txt              held-out verses (perplexity tests)
  tokenizer.bin                       llama2.c tokenizer for the same vocabulary
  tests/fixtures/kjv_ref.json         tokenizer / logits / perplexity references
  tests/fixtures/kjv_ref_logits.f32   last-position logits of the reference prompt

Model: RMSNorm (eps 1e-5), RoPE (theta 10000) rotating adjacent pairs
(x[2i], x[2i+1]) as llama2.c does (so GGUF needs no permutation), grouped-query
attention, SwiGLU FFN w2(silu(w1 x) * w3 x), output head tied to the embedding.

Runs are deterministic for a given --seed on a given machine and thread count.
--eval-only recomputes the fixtures from models/kjv.bin and the tokenizer
without training.
"""
import argparse
import io
import json
import math
import os
import struct
import subprocess
import sys
import time


def _reexec_with_runtime_env():
    """Start again with the thread counts and malloc tuning set in the environment:
    the BLAS and OpenMP read them only when loaded, glibc only at process start.
    On a shared 2-core machine one thread was ~4x faster than two (oversubscribed
    OpenMP/OpenBLAS threads wait on each other), and keeping freed memory in the
    heap avoids a page-fault storm on every large temporary (~50x on elementwise ops).
    One thread also makes runs reproducible."""
    threads = '1'
    for i, a in enumerate(sys.argv):
        if a == '--threads' and i + 1 < len(sys.argv):
            threads = sys.argv[i + 1]
        elif a.startswith('--threads='):
            threads = a.split('=', 1)[1]
    env = dict(os.environ, KJV_TRAIN_ENV='1', OMP_NUM_THREADS=threads,
               OPENBLAS_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
    env.setdefault('MALLOC_MMAP_THRESHOLD_', str(32 << 20))
    env.setdefault('MALLOC_TRIM_THRESHOLD_', str(4 << 30))
    env.setdefault('MALLOC_TOP_PAD_', str(256 << 20))
    os.execve(sys.executable, [sys.executable] + sys.argv, env)


if __name__ == '__main__' and os.environ.get('KJV_TRAIN_ENV') != '1':
    _reexec_with_runtime_env()

import numpy as np  # noqa: E402
import sentencepiece as spm  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HELDOUT_EVERY = 50          # verse i (0-based) is held out when i % 50 == 49
HELDOUT_MAX_BYTES = 200_000
REF_PROMPT = 'In the beginning God'
SAMPLE_PROMPT = 'Ge1:1'
PPL_CTX = 128
# strings whose sentencepiece ids become tokenizer fixtures
REF_STRINGS = [
    'In the beginning God created the heaven and the earth.',
    '',
    ' ',
    '  leading spaces',
    'trailing spaces   ',
    'many     inner   spaces',
    'line one\nline two\n',
    'Ge1:1 In the beginning',
    'Numbers 3:16, 1234567890 and 42.',
    "Punctuation: (yea!) 'nay'; what? -- so.",
    'Tabs\tand \u00e9t\u00e9 na\u00efve \u00fcber',
    'Alpha \u03b1 and omega \u03c9 \U0001F54A',
    'JESUS WEPT',
    'thee thou thy thine hath saith',
]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ------------------------------------------------------------------- corpus
def read_bible():
    """Every verse of the KJV, one per line, as `Ge1:1 In the beginning...`."""
    out = subprocess.run(['bible', '-f', 'Gen1:1-Rev22:21'], stdout=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, check=True).stdout
    lines = out.decode('ascii').split('\n')
    if lines and lines[-1] == '':
        lines.pop()
    if len(lines) < 30000 or not lines[0].startswith('Ge1:1 '):
        raise SystemExit('unexpected output from `bible` (%d lines); are bible-kjv and '
                         'bible-kjv-text installed?' % len(lines))
    return lines


def split_corpus(lines):
    train = [v for i, v in enumerate(lines) if i % HELDOUT_EVERY != HELDOUT_EVERY - 1]
    held = [v for i, v in enumerate(lines) if i % HELDOUT_EVERY == HELDOUT_EVERY - 1]
    return train, held


# ---------------------------------------------------------------- tokenizer
def train_tokenizer(train_lines, vocab_size):
    proto = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(train_lines), model_writer=proto,
        model_type='bpe', vocab_size=vocab_size, byte_fallback=True,
        normalization_rule_name='identity', add_dummy_prefix=True,
        remove_extra_whitespaces=False, split_digits=True,
        character_coverage=1.0, num_threads=1, input_sentence_size=0,
        shuffle_input_sentence=False, max_sentence_length=16384,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1, minloglevel=2)
    return proto.getvalue()


def vocab_table(sp):
    """(pieces, scores, ggml token types) of a SentencePiece model."""
    pieces, scores, types = [], [], []
    for i in range(sp.get_piece_size()):
        pieces.append(sp.id_to_piece(i))
        scores.append(sp.get_score(i))
        types.append(2 if sp.is_unknown(i) else 3 if sp.is_control(i)
                     else 6 if sp.is_byte(i) else 1)
    return pieces, scores, types


# -------------------------------------------------------------------- model
class Config:
    def __init__(self, **kw):
        self.dim, self.n_layers, self.n_heads, self.n_kv_heads = 128, 5, 4, 2
        self.hidden_dim, self.vocab_size, self.seq_len = 352, 1024, 256
        self.norm_eps, self.rope_theta = 1e-5, 10000.0
        self.__dict__.update(kw)

    @property
    def head_size(self):
        return self.dim // self.n_heads

    @property
    def kv_dim(self):
        return self.n_kv_heads * self.head_size


def rope_tables(head_size, n_pos, theta):
    """cos/sin of pos * theta^(-2i/head_size), shape (n_pos, head_size/2), float32."""
    freqs = 1.0 / theta ** (torch.arange(0, head_size, 2).float() / head_size)
    angles = torch.outer(torch.arange(n_pos).float(), freqs)
    return torch.cos(angles), torch.sin(angles)


def rmsnorm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def apply_rope(x, cos, sin):
    """x (B, T, heads, hs): rotate each adjacent pair (x[2i], x[2i+1])."""
    a, b = x[..., 0::2], x[..., 1::2]
    c, s = cos[:, None, :], sin[:, None, :]          # (T, 1, hs/2)
    return torch.stack((a * c - b * s, a * s + b * c), dim=-1).flatten(-2)


class Llama(torch.nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        L, d, kv, h = cfg.n_layers, cfg.dim, cfg.kv_dim, cfg.hidden_dim
        P = torch.nn.Parameter
        self.tok_embeddings = P(torch.empty(cfg.vocab_size, d))
        self.attn_norm = torch.nn.ParameterList([P(torch.ones(d)) for _ in range(L)])
        self.wq = torch.nn.ParameterList([P(torch.empty(d, d)) for _ in range(L)])
        self.wk = torch.nn.ParameterList([P(torch.empty(kv, d)) for _ in range(L)])
        self.wv = torch.nn.ParameterList([P(torch.empty(kv, d)) for _ in range(L)])
        self.wo = torch.nn.ParameterList([P(torch.empty(d, d)) for _ in range(L)])
        self.ffn_norm = torch.nn.ParameterList([P(torch.ones(d)) for _ in range(L)])
        self.w1 = torch.nn.ParameterList([P(torch.empty(h, d)) for _ in range(L)])
        self.w2 = torch.nn.ParameterList([P(torch.empty(d, h)) for _ in range(L)])
        self.w3 = torch.nn.ParameterList([P(torch.empty(h, d)) for _ in range(L)])
        self.norm = P(torch.ones(d))
        cos, sin = rope_tables(cfg.head_size, cfg.seq_len, cfg.rope_theta)
        self.register_buffer('rope_cos', cos, persistent=False)
        self.register_buffer('rope_sin', sin, persistent=False)

    def init_weights(self, gen):
        std_out = 0.02 / math.sqrt(2 * self.cfg.n_layers)   # residual projections
        with torch.no_grad():
            self.tok_embeddings.normal_(0, 0.02, generator=gen)
            for l in range(self.cfg.n_layers):
                for p in (self.wq[l], self.wk[l], self.wv[l], self.w1[l], self.w3[l]):
                    p.normal_(0, 0.02, generator=gen)
                for p in (self.wo[l], self.w2[l]):
                    p.normal_(0, std_out, generator=gen)

    def forward(self, tokens):
        """tokens (B, T) -> logits (B, T, vocab), positions 0..T-1."""
        cfg = self.cfg
        B, T = tokens.shape
        hs, nh, nkv = cfg.head_size, cfg.n_heads, cfg.n_kv_heads
        cos = self.rope_cos[:T].to(self.norm.dtype)
        sin = self.rope_sin[:T].to(self.norm.dtype)
        mask = torch.full((T, T), float('-inf'), dtype=self.norm.dtype).triu(1)
        x = self.tok_embeddings[tokens]
        for l in range(cfg.n_layers):
            xn = rmsnorm(x, self.attn_norm[l], cfg.norm_eps)
            q = apply_rope((xn @ self.wq[l].t()).view(B, T, nh, hs), cos, sin)
            k = apply_rope((xn @ self.wk[l].t()).view(B, T, nkv, hs), cos, sin)
            v = (xn @ self.wv[l].t()).view(B, T, nkv, hs)
            rep = nh // nkv      # query head i uses kv head i // rep
            k = k.repeat_interleave(rep, dim=2)
            v = v.repeat_interleave(rep, dim=2)
            q = q.transpose(1, 2) * (1.0 / math.sqrt(hs))
            k, v = k.transpose(1, 2), v.transpose(1, 2)
            att = q @ k.transpose(-2, -1) + mask
            y = (att.softmax(-1) @ v).transpose(1, 2).reshape(B, T, cfg.dim)
            x = x + y @ self.wo[l].t()
            xn = rmsnorm(x, self.ffn_norm[l], cfg.norm_eps)
            ffn = F.silu(xn @ self.w1[l].t()) * (xn @ self.w3[l].t())
            x = x + ffn @ self.w2[l].t()
        x = rmsnorm(x, self.norm, cfg.norm_eps)
        return x @ self.tok_embeddings.t()      # tied classifier

    def n_params(self):
        return sum(p.numel() for p in self.parameters())


# ------------------------------------------------------------------- export
def layer_tensors(model):
    """Weights as float32 numpy arrays, in PyTorch (out, in) layout."""
    np_ = lambda t: t.detach().to(torch.float32).cpu().numpy()
    L = model.cfg.n_layers
    return {
        'tok': np_(model.tok_embeddings), 'norm': np_(model.norm),
        **{name: [np_(getattr(model, name)[l]) for l in range(L)]
           for name in ('attn_norm', 'wq', 'wk', 'wv', 'wo', 'ffn_norm', 'w1', 'w2', 'w3')}}


def write_gguf(path, model, sp, qtype, name):
    cfg, w = model.cfg, layer_tensors(model)
    pieces, scores, types = vocab_table(sp)
    g = gguf.Writer(alignment=32)
    S, U32, F32 = gguf.STRING, gguf.UINT32, gguf.FLOAT32
    for key, vt, val in [
            ('general.architecture', S, 'llama'), ('general.name', S, name),
            ('general.alignment', U32, 32), ('general.file_type', U32, gguf.FILE_TYPE[qtype]),
            ('llama.context_length', U32, cfg.seq_len), ('llama.embedding_length', U32, cfg.dim),
            ('llama.block_count', U32, cfg.n_layers),
            ('llama.feed_forward_length', U32, cfg.hidden_dim),
            ('llama.attention.head_count', U32, cfg.n_heads),
            ('llama.attention.head_count_kv', U32, cfg.n_kv_heads),
            ('llama.rope.dimension_count', U32, cfg.head_size),
            ('llama.rope.freq_base', F32, cfg.rope_theta),
            ('llama.attention.layer_norm_rms_epsilon', F32, cfg.norm_eps),
            ('llama.vocab_size', U32, cfg.vocab_size),
            ('tokenizer.ggml.model', S, 'llama'),
            ('tokenizer.ggml.bos_token_id', U32, 1), ('tokenizer.ggml.eos_token_id', U32, 2),
            ('tokenizer.ggml.unknown_token_id', U32, 0),
            ('tokenizer.ggml.add_bos_token', gguf.BOOL, True),
            ('tokenizer.ggml.add_eos_token', gguf.BOOL, False),
            ('tokenizer.ggml.add_space_prefix', gguf.BOOL, True)]:
        g.add(key, vt, val)
    g.add('tokenizer.ggml.tokens', gguf.ARRAY, pieces, S)
    g.add('tokenizer.ggml.scores', gguf.ARRAY, scores, F32)
    g.add('tokenizer.ggml.token_type', gguf.ARRAY, types, gguf.INT32)
    mat = lambda a: qtype if a.ndim == 2 else gguf.F32   # norms stay F32
    g.add_tensor('token_embd.weight', w['tok'], mat(w['tok']))
    for l in range(cfg.n_layers):
        for gname, key in [('attn_norm', 'attn_norm'), ('attn_q', 'wq'), ('attn_k', 'wk'),
                           ('attn_v', 'wv'), ('attn_output', 'wo'), ('ffn_norm', 'ffn_norm'),
                           ('ffn_gate', 'w1'), ('ffn_down', 'w2'), ('ffn_up', 'w3')]:
            a = w[key][l]
            g.add_tensor('blk.%d.%s.weight' % (l, gname), a, mat(a))
    g.add_tensor('output_norm.weight', w['norm'], gguf.F32)
    g.write(path)


def write_llama2c_bin(path, model):
    """llama2.c legacy v0 checkpoint; positive vocab_size = shared classifier."""
    cfg, w = model.cfg, layer_tensors(model)
    cos, sin = rope_tables(cfg.head_size, cfg.seq_len, cfg.rope_theta)
    with open(path, 'wb') as f:
        f.write(struct.pack('<7i', cfg.dim, cfg.hidden_dim, cfg.n_layers, cfg.n_heads,
                            cfg.n_kv_heads, cfg.vocab_size, cfg.seq_len))
        parts = [w['tok']] + [np.stack(w[k]) for k in
                              ('attn_norm', 'wq', 'wk', 'wv', 'wo', 'ffn_norm', 'w1', 'w2', 'w3')]
        parts += [w['norm'], cos.numpy(), sin.numpy()]
        for a in parts:
            f.write(np.ascontiguousarray(a, dtype='<f4').tobytes())


def read_llama2c_bin(path):
    """Inverse of write_llama2c_bin -> Llama (float32)."""
    with open(path, 'rb') as f:
        buf = f.read()
    dim, hidden, L, nh, nkv, vocab, seq_len = struct.unpack_from('<7i', buf, 0)
    if vocab < 0:
        raise SystemExit('%s: unshared classifier not supported here' % path)
    cfg = Config(dim=dim, hidden_dim=hidden, n_layers=L, n_heads=nh, n_kv_heads=nkv,
                 vocab_size=vocab, seq_len=seq_len)
    model = Llama(cfg)
    data = np.frombuffer(buf, '<f4', offset=28)
    pos = 0

    def take(*shape):
        nonlocal pos
        n = int(np.prod(shape))
        a = torch.from_numpy(data[pos:pos + n].reshape(shape).copy())
        pos += n
        return a

    kv = cfg.kv_dim
    with torch.no_grad():
        model.tok_embeddings.copy_(take(vocab, dim))
        for name, shape in [('attn_norm', (dim,)), ('wq', (dim, dim)), ('wk', (kv, dim)),
                            ('wv', (kv, dim)), ('wo', (dim, dim)), ('ffn_norm', (dim,)),
                            ('w1', (hidden, dim)), ('w2', (dim, hidden)), ('w3', (hidden, dim))]:
            stacked = take(L, *shape)
            for l in range(L):
                getattr(model, name)[l].copy_(stacked[l])
        model.norm.copy_(take(dim))
    pos += 2 * seq_len * (cfg.head_size // 2)
    if pos != len(data):
        raise SystemExit('%s: %d trailing floats' % (path, len(data) - pos))
    return model


def read_gguf_model(path):
    """A GGUF written by write_gguf -> Llama (weights dequantized to float32)."""
    r = gguf.Reader(path)
    k = r.kv
    cfg = Config(dim=k['llama.embedding_length'], hidden_dim=k['llama.feed_forward_length'],
                 n_layers=k['llama.block_count'], n_heads=k['llama.attention.head_count'],
                 n_kv_heads=k['llama.attention.head_count_kv'],
                 vocab_size=len(k['tokenizer.ggml.tokens']), seq_len=k['llama.context_length'])
    model = Llama(cfg)
    t = lambda n: torch.from_numpy(r.tensor(n).copy())
    with torch.no_grad():
        model.tok_embeddings.copy_(t('token_embd.weight'))
        model.norm.copy_(t('output_norm.weight'))
        for l in range(cfg.n_layers):
            for gname, key in [('attn_norm', 'attn_norm'), ('attn_q', 'wq'), ('attn_k', 'wk'),
                               ('attn_v', 'wv'), ('attn_output', 'wo'), ('ffn_norm', 'ffn_norm'),
                               ('ffn_gate', 'w1'), ('ffn_down', 'w2'), ('ffn_up', 'w3')]:
                getattr(model, key)[l].copy_(t('blk.%d.%s.weight' % (l, gname)))
    return model


def write_llama2c_tokenizer(path, sp):
    """llama2.c tokenizer.bin: max_token_length, then (f32 score, i32 len, bytes)."""
    pieces, scores, _ = vocab_table(sp)
    raw = [p.replace('\u2581', ' ').encode('utf-8') for p in pieces]
    with open(path, 'wb') as f:
        f.write(struct.pack('<i', max(len(b) for b in raw)))
        for b, s in zip(raw, scores):
            f.write(struct.pack('<fi', s, len(b)) + b)


# --------------------------------------------------------------- evaluation
@torch.no_grad()
def perplexity(model, ids, ctx, bos=1):
    """llama.cpp-style: chunks of ctx tokens, first replaced by BOS, score 2nd half."""
    nll = []
    for c in range(len(ids) // ctx):
        seq = torch.tensor([bos] + ids[c * ctx + 1:(c + 1) * ctx])
        logp = model(seq[None])[0].log_softmax(-1)
        for j in range(ctx // 2, ctx - 1):
            nll.append(-logp[j, seq[j + 1]].item())
    nll = np.array(nll, dtype=np.float64)
    mean = nll.mean()
    stderr = nll.std(ddof=1) / math.sqrt(len(nll)) if len(nll) > 1 else 0.0
    ppl = math.exp(mean)
    return dict(ctx=ctx, n_chunks=len(ids) // ctx, n_scored=len(nll), mean_nll=mean,
                ppl=ppl, ppl_err=ppl * stderr)


@torch.no_grad()
def greedy(model, ids, n):
    ids = list(ids)
    for _ in range(n):
        logits = model(torch.tensor(ids[-model.cfg.seq_len:])[None])[0, -1]
        ids.append(int(logits.argmax()))
    return ids


@torch.no_grad()
def sample_text(model, sp, prompt_ids, n, temperature, seed):
    gen = torch.Generator().manual_seed(seed)
    ids = list(prompt_ids)
    for _ in range(n):
        logits = model(torch.tensor(ids[-model.cfg.seq_len:])[None])[0, -1].float()
        if temperature == 0:
            nxt = int(logits.argmax())
        else:
            probs = (logits / temperature).softmax(-1)
            nxt = int(torch.multinomial(probs, 1, generator=gen))
        if nxt in (1, 2):
            break
        ids.append(nxt)
    return sp.decode(ids[1:])


@torch.no_grad()
def write_fixtures(model32, sp, heldout_text, fixtures_dir, q8_path=None):
    """tokenizer cases, reference logits and perplexities, all in float64."""
    os.makedirs(fixtures_dir, exist_ok=True)
    model = Llama(model32.cfg)
    model.load_state_dict(model32.state_dict())
    model.double().eval()
    ref = {'about': 'written by tools/train.py from models/kjv.bin; ids include BOS (1); '
                    'logits/perplexity computed in float64 from the float32 weights',
           'vocab_size': model.cfg.vocab_size}
    ref['tokenize'] = [{'text': s, 'ids': [1] + sp.encode(s)} for s in REF_STRINGS]
    ids = [1] + sp.encode(REF_PROMPT)
    logits = model(torch.tensor(ids)[None])[0, -1]
    logits.to(torch.float32).numpy().astype('<f4').tofile(
        os.path.join(fixtures_dir, 'kjv_ref_logits.f32'))
    top = torch.topk(logits, 5)
    ref['logits'] = {'prompt': REF_PROMPT, 'ids': ids, 'file': 'kjv_ref_logits.f32',
                     'format': 'little-endian float32 x vocab_size, last prompt position',
                     'top5': [[int(i), float(v)] for v, i in zip(top.values, top.indices)]}
    g = greedy(model, ids, 32)
    ref['greedy'] = {'prompt_ids': ids, 'n_new': 32, 'ids': g, 'text': sp.decode(g[1:])}
    toks = [1] + sp.encode(heldout_text)
    ref['perplexity'] = {'file': 'models/kjv-heldout.txt', 'n_tokens': len(toks),
                         'f32': perplexity(model, toks, PPL_CTX)}
    if q8_path:
        mq = read_gguf_model(q8_path).double().eval()
        ref['perplexity']['q8_0_dequantized'] = perplexity(mq, toks, PPL_CTX)
    with open(os.path.join(fixtures_dir, 'kjv_ref.json'), 'w') as f:
        json.dump(ref, f, indent=1, ensure_ascii=False)
        f.write('\n')
    return ref


# ----------------------------------------------------------------- training
def lr_at(step, steps, lr, warmup):
    if step < warmup:
        return lr * (step + 1) / warmup
    t = (step - warmup) / max(1, steps - warmup)
    return lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))   # cosine to lr/10


def batch_at(stream, offsets, T):
    """Windows of T+1 tokens; the first is replaced by BOS (as perplexity does)."""
    idx = offsets[:, None] + torch.arange(T + 1)[None, :]
    w = stream[idx]
    w[:, 0] = 1
    return w[:, :-1], w[:, 1:]


@torch.no_grad()
def eval_loss(model, stream, T, n_windows):
    """Mean next-token loss on evenly spaced windows (deterministic)."""
    starts = torch.linspace(0, len(stream) - T - 2, n_windows).long()
    losses = []
    for i in range(0, n_windows, 16):
        x, y = batch_at(stream, starts[i:i + 16], T)
        losses.append(F.cross_entropy(model(x).flatten(0, 1), y.flatten()).item())
    return float(np.mean(losses))


def train(args, cfg, train_ids, held_ids):
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    model = Llama(cfg)
    model.init_weights(gen)
    log('model: %d parameters (%.2f MB as F32)' % (model.n_params(), model.n_params() * 4e-6))
    decay = [p for p in model.parameters() if p.dim() == 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': args.weight_decay},
                             {'params': no_decay, 'weight_decay': 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8)
    T, B = cfg.seq_len, args.batch_size
    train_stream, held_stream = torch.tensor(train_ids), torch.tensor(held_ids)
    t0 = time.time()
    hist = []
    for step in range(args.steps):
        for grp in opt.param_groups:
            grp['lr'] = lr_at(step, args.steps, args.lr, args.warmup)
        offsets = torch.randint(0, len(train_stream) - T - 1, (B,), generator=gen)
        x, y = batch_at(train_stream, offsets, T)
        loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        hist.append(loss.item())
        if step % args.log_every == 0 or step == args.steps - 1:
            el = time.time() - t0
            log('step %5d/%d  loss %.4f (avg %.4f)  lr %.2e  %.0fs  %.0f tok/s' % (
                step, args.steps, hist[-1], np.mean(hist[-args.log_every:]),
                opt.param_groups[0]['lr'], el, (step + 1) * B * T / el))
        if args.eval_every and step and step % args.eval_every == 0:
            log('  held-out loss %.4f' % eval_loss(model, held_stream, T, 64))
    wall = time.time() - t0
    model.eval()
    stats = {'train_loss_last100': float(np.mean(hist[-100:])),
             'train_loss': eval_loss(model, train_stream, T, 256),
             'heldout_loss': eval_loss(model, held_stream, T, 256),
             'train_seconds': wall, 'steps': args.steps,
             'tokens_seen': args.steps * B * T}
    return model, stats


# --------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        epilog='Default run: about 30 minutes on a busy 2-core machine.',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument('--seed', type=int, default=1234, help='seeds init and batch order')
    ap.add_argument('--out-dir', default=os.path.join(ROOT, 'build', 'train'),
                    help='train.txt, heldout.txt, stats.json (not committed)')
    ap.add_argument('--models-dir', default=os.path.join(ROOT, 'models'), help='exported models')
    ap.add_argument('--tokenizer-bin', default=os.path.join(ROOT, 'tokenizer.bin'),
                    help='llama2.c tokenizer output')
    ap.add_argument('--fixtures-dir', default=os.path.join(ROOT, 'tests', 'fixtures'),
                    help='reference fixtures output')
    ap.add_argument('--eval-only', action='store_true',
                    help='recompute the fixtures from models/kjv.bin and models/kjv.model '
                         '(the tokenizer is retrained if missing) without training')
    ap.add_argument('--vocab-size', type=int, default=1024, help='SentencePiece BPE vocabulary')
    ap.add_argument('--dim', type=int, default=128, help='embedding width')
    ap.add_argument('--n-layers', type=int, default=5, help='transformer blocks')
    ap.add_argument('--n-heads', type=int, default=4, help='query heads')
    ap.add_argument('--n-kv-heads', type=int, default=2, help='key/value heads (GQA)')
    ap.add_argument('--hidden-dim', type=int, default=352, help='SwiGLU hidden width')
    ap.add_argument('--seq-len', type=int, default=256, help='training window = context length')
    ap.add_argument('--batch-size', type=int, default=12, help='windows per step')
    ap.add_argument('--steps', type=int, default=1800, help='optimizer steps')
    ap.add_argument('--lr', type=float, default=2.5e-3, help='peak AdamW learning rate')
    ap.add_argument('--warmup', type=int, default=50, help='linear warmup steps')
    ap.add_argument('--weight-decay', type=float, default=0.1, help='on matrices only')
    ap.add_argument('--threads', type=int, default=1,
                    help='torch/BLAS threads (1 is fastest on a busy 2-core machine)')
    ap.add_argument('--log-every', type=int, default=50, help='steps between loss lines')
    ap.add_argument('--eval-every', type=int, default=500, help='steps between held-out evals (0: off)')
    args = ap.parse_args()

    t_start = time.time()
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    for d in (args.out_dir, args.models_dir, args.fixtures_dir):
        os.makedirs(d, exist_ok=True)

    lines = read_bible()
    train_lines, held_lines = split_corpus(lines)
    train_text = '\n'.join(train_lines) + '\n'
    held_text = '\n'.join(held_lines) + '\n'
    with open(os.path.join(args.out_dir, 'train.txt'), 'w') as f:
        f.write(train_text)
    with open(os.path.join(args.out_dir, 'heldout.txt'), 'w') as f:
        f.write(held_text)
    if len(held_text) >= HELDOUT_MAX_BYTES:       # keep a deterministic subset
        held_small = '\n'.join(held_lines[::2]) + '\n'
        while len(held_small) >= HELDOUT_MAX_BYTES:
            held_small = held_small[:held_small.rindex('\n', 0, len(held_small) - 1) + 1]
    else:
        held_small = held_text
    with open(os.path.join(args.models_dir, 'kjv-heldout.txt'), 'w') as f:
        f.write(held_small)
    log('corpus: %d verses, %d train / %d held out' % (len(lines), len(train_lines),
                                                       len(held_lines)))

    sp_path = os.path.join(args.models_dir, 'kjv.model')
    if args.eval_only and os.path.exists(sp_path):
        with open(sp_path, 'rb') as f:
            proto = f.read()
    else:
        proto = train_tokenizer(train_lines, args.vocab_size)
        with open(sp_path, 'wb') as f:
            f.write(proto)
    sp = spm.SentencePieceProcessor(model_proto=proto)
    write_llama2c_tokenizer(args.tokenizer_bin, sp)
    log('tokenizer: %d pieces' % sp.get_piece_size())

    bin_path = os.path.join(args.models_dir, 'kjv.bin')
    q8_path = os.path.join(args.models_dir, 'kjv-q8_0.gguf')
    if args.eval_only:
        model = read_llama2c_bin(bin_path)
        stats = None
        gg = read_gguf_model(os.path.join(args.models_dir, 'kjv.gguf'))
        for (name, a), b in zip(model.state_dict().items(), gg.state_dict().values()):
            if not torch.equal(a, b):
                raise SystemExit('models/kjv.gguf and models/kjv.bin differ in %s' % name)
    else:
        cfg = Config(dim=args.dim, n_layers=args.n_layers, n_heads=args.n_heads,
                     n_kv_heads=args.n_kv_heads, hidden_dim=args.hidden_dim,
                     vocab_size=sp.get_piece_size(), seq_len=args.seq_len)
        for v in (cfg.dim, cfg.hidden_dim, cfg.kv_dim):
            assert v % 32 == 0, 'dims must be multiples of 32 (ggml blocks)'
        t = time.time()
        train_ids = sp.encode(train_text)
        held_ids = sp.encode(held_text)
        log('encoded: %d train / %d held-out tokens (%.1fs)' % (
            len(train_ids), len(held_ids), time.time() - t))
        model, stats = train(args, cfg, train_ids, held_ids)
        write_llama2c_bin(bin_path, model)
        write_gguf(os.path.join(args.models_dir, 'kjv.gguf'), model, sp, gguf.F32, 'kjv')
        write_gguf(q8_path, model, sp, gguf.Q8_0, 'kjv-q8_0')
        model = read_llama2c_bin(bin_path)        # fixtures from the exported weights

    ref = write_fixtures(model, sp, held_small, args.fixtures_dir, q8_path)
    p = ref['perplexity']['f32']
    log('held-out perplexity (ctx %d): %.4f +/- %.4f' % (p['ctx'], p['ppl'], p['ppl_err']))
    log('greedy: %r' % ref['greedy']['text'])
    if stats:
        log('final: train loss %.4f, held-out loss %.4f, training %.0fs' % (
            stats['train_loss'], stats['heldout_loss'], stats['train_seconds']))
        m = Llama(model.cfg)
        m.load_state_dict(model.state_dict())
        m.eval()
        stats['samples'] = {'prompt': SAMPLE_PROMPT, 'temperature': 0.8, 'n_tokens': 80,
                            'seeds': [1, 2, 3], 'texts': [
                                sample_text(m, sp, [1] + sp.encode(SAMPLE_PROMPT), 80, 0.8, s)
                                for s in (1, 2, 3)]}
        stats['greedy'] = ref['greedy']['text']
        stats['perplexity'] = ref['perplexity']
        log('samples (temperature 0.8, seeds 1-3):')
        for text in stats['samples']['texts']:
            log(text)
        stats['wall_seconds'] = time.time() - t_start
        with open(os.path.join(args.out_dir, 'stats.json'), 'w') as f:
            json.dump(stats, f, indent=1)
    log('wall time %.0fs' % (time.time() - t_start))


if __name__ == '__main__':
    main()
