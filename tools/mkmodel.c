/* mkmodel - write a random-weight Llama model as GGUF, of any shape and tensor type.
 * For tests and benchmarks: the weights are random, so the text is gibberish, but the shapes,
 * types and file layout are exactly those of a real model.
 *
 *   make tools/mkmodel
 *   tools/mkmodel OUT.gguf [--dim N] [--layers N] [--heads N] [--kv-heads N] [--ffn N] [--ctx N]
 *                 [--vocab N | --vocab-from VOCAB.gguf] [--type F32|F16|BF16|Q8_0|Q4_0|Q2_K..Q6_K|Q4_K_M] [--tied] [--seed S]
 *                 [--arch llama|qwen2] [--rope-theta F] [--rope-freqs] [--chat-template-file JINJA.txt]
 *   e.g. the TinyLlama-1.1B shape: --dim 2048 --layers 22 --heads 32 --kv-heads 4 --ffn 5632 --vocab 32000
 *   --type Q4_K_M writes the mix of the Q4_K_M files people download (see more_bits below).
 *
 * Why it includes llm.c: the GGUF writer (section 10), the quantizers (rvv_kernels.h), the GGUF
 * reader (for --vocab-from) and the output-file guards are internal to llm.c, the runtime that
 * `llm quantize` needs them for; libllm.a exports only the public API of llm.h. Including the
 * file reuses them as they are, so mkmodel writes exactly what llm.c reads and quantizes exactly
 * as `llm quantize` does, and the runtime keeps no code that only tools and tests use: the random
 * model and the synthetic vocabulary live here. tests/numa_check.c includes this file (with
 * MKMODEL_NO_MAIN) to write its model inside a VM that has nothing else.
 */
#define LLM_NO_MAIN
#include "../llm.c"

/* control tokens of the chat templates, at the end of a synthetic vocabulary */
static const char *chat_specials[] = {"<|im_start|>", "<|im_end|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>",
                                      "<|begin_of_text|>", "<\xef\xbd\x9cUser\xef\xbd\x9c>", "<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>",
                                      "<\xef\xbd\x9c" "begin\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>",
                                      "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>"};
#define N_CHAT_SPECIALS ((int)(sizeof chat_specials / sizeof *chat_specials))

/* Synthetic SentencePiece vocabulary: <unk> <s> </s>, 256 byte tokens, then "▁a".."▁z",
 * letters, unique filler pieces, and the chat templates' control tokens last. */
static void add_synthetic_vocab(gguf_writer *w, int n) {   /* scores favour earlier pieces */
    char **pieces = calloc(n, sizeof *pieces);
    int *len = calloc(n, sizeof *len), *types = calloc(n, sizeof *types);
    float *scores = calloc(n, sizeof *scores);
    char buf[64];
    for (int i = 0; i < n; i++) {
        if (i == 0) snprintf(buf, sizeof buf, "<unk>");
        else if (i == 1) snprintf(buf, sizeof buf, "<s>");
        else if (i == 2) snprintf(buf, sizeof buf, "</s>");
        else if (i < 259) snprintf(buf, sizeof buf, "<0x%02X>", i - 3);
        else if (i < 259 + 26) snprintf(buf, sizeof buf, "\xe2\x96\x81%c", 'a' + (i - 259));
        else if (i < 259 + 52) snprintf(buf, sizeof buf, "%c", 'a' + (i - 285));
        else if (i >= n - N_CHAT_SPECIALS) snprintf(buf, sizeof buf, "%s", chat_specials[i - (n - N_CHAT_SPECIALS)]);
        else snprintf(buf, sizeof buf, "\xe2\x96\x81w%d", i);
        pieces[i] = strdup(buf);
        len[i] = (int)strlen(buf);
        types[i] = i == 0 ? TOK_UNKNOWN : i < 3 || i >= n - N_CHAT_SPECIALS ? TOK_CONTROL : i < 259 ? TOK_BYTE : TOK_NORMAL;
        scores[i] = i < 259 ? 0.0f : -(float)i;
    }
    gw_kv_str(w, "tokenizer.ggml.model", "llama");
    gw_kv_arr_str(w, "tokenizer.ggml.tokens", pieces, len, (uint64_t)n);
    gw_kv_arr(w, "tokenizer.ggml.scores", GGUF_F32, scores, (uint64_t)n);
    gw_kv_arr(w, "tokenizer.ggml.token_type", GGUF_I32, types, (uint64_t)n);
    gw_kv_u32(w, "tokenizer.ggml.bos_token_id", 1);
    gw_kv_u32(w, "tokenizer.ggml.eos_token_id", 2);
    gw_kv_u32(w, "tokenizer.ggml.unknown_token_id", 0);
    for (int i = 0; i < n; i++) free(pieces[i]);
    free(pieces); free(len); free(types); free(scores);
}

/* Copy the tokenizer.* keys of another GGUF (e.g. a vocab-only file) verbatim; *n_vocab = its
 * number of tokens. */
static int copy_vocab(gguf_writer *w, const char *path, int *n_vocab, llm_status *st) {
    gguf_file g;
    int rc = gguf_open(&g, path, st);
    if (rc) return rc;
    *n_vocab = 0;
    for (uint64_t i = 0; i < g.n_kv; i++) {
        if (g.kv[i].key.len < 10 || memcmp(g.kv[i].key.p, "tokenizer.", 10)) continue;
        gw_copy_kv(w, &g, i);
        if (sv_eq(g.kv[i].key, "tokenizer.ggml.tokens")) *n_vocab = (int)g.kv[i].arr_n;
    }
    gguf_close(&g);
    return *n_vocab > 0 ? LLM_OK : fail(st, LLM_ERR_FORMAT, "%s: no vocabulary to copy (tokenizer.ggml.tokens)", path);
}

/* A random-weight Llama model of any shape and type: real shapes, types and layout; uniform
 * weights with the variance of N(0, 1/cols) so activations keep their scale through the layers;
 * norms are 1. */
typedef struct {
    int dim, layers, heads, kv_heads, ffn, ctx, vocab, type, tied;
    int q4_k_m;               /* type Q4_K, with the Q6_K tensors of a Q4_K_M file */
    const char *arch;         /* "llama" (default) or "qwen2" (adds q/k/v biases) */
    float rope_theta;         /* 0: 10000 */
    int rope_freqs;           /* write a Llama 3.1 style rope_freqs.weight */
    const char *vocab_from;   /* copy the tokenizer of this GGUF instead of a synthetic one */
    const char *chat_template; /* tokenizer.chat_template text, or NULL */
    uint64_t seed;
} random_model_spec;

/* Q4_K_M, as llama.cpp's quantizer mixes it: Q4_K everywhere except the output matrix (Q6_K)
 * and attn_v and ffn_down of the layers that get more bits (Q6_K): the first and last eighth of
 * the layers and every third layer in between. */
static int more_bits(int layer, int n_layers) {
    return layer < n_layers / 8 || layer >= 7 * n_layers / 8 || (layer - n_layers / 8) % 3 == 2;
}

static int write_random_model(const char *out, random_model_spec sp, llm_status *st) {
    if (sp.dim <= 0 || sp.heads <= 0 || sp.kv_heads <= 0 || sp.dim % sp.heads || sp.heads % sp.kv_heads || sp.layers <= 0 ||
        sp.ffn <= 0 || (!sp.vocab_from && sp.vocab < 320 + N_CHAT_SPECIALS))
        return fail(st, LLM_ERR_ARG, "inconsistent model shape (a synthetic vocab needs >= %d tokens)", 320 + N_CHAT_SPECIALS);
    int blck = ttraits[sp.type].blck;
    if (sp.dim % blck || sp.ffn % blck) return fail(st, LLM_ERR_ARG, "dim and ffn must be multiples of %d for %s", blck, ttraits[sp.type].name);
    uint64_t rng = 88172645463325252ull ^ (sp.seed * 0x9e3779b97f4a7c15ull);
    const char *arch = sp.arch ? sp.arch : "llama";
    int qwen2 = !strcmp(arch, "qwen2");
    if (!qwen2 && strcmp(arch, "llama")) return fail(st, LLM_ERR_ARG, "unknown architecture '%s' (llama, qwen2)", arch);
    gguf_writer w = {.alignment = 32};
    char key[96];
#define ARCH_KEY(suffix) (snprintf(key, sizeof key, "%s.%s", arch, suffix), key)
    gw_kv_str(&w, "general.architecture", arch);
    gw_kv_str(&w, "general.name", "random");
    gw_kv_u32(&w, "general.alignment", 32);
    gw_kv_u32(&w, "general.file_type", sp.q4_k_m ? 15u : (uint32_t)ggml_file_type(sp.type));   /* 15: ggml's Q4_K_M */
    gw_kv_u32(&w, ARCH_KEY("context_length"), (uint32_t)sp.ctx);
    gw_kv_u32(&w, ARCH_KEY("embedding_length"), (uint32_t)sp.dim);
    gw_kv_u32(&w, ARCH_KEY("block_count"), (uint32_t)sp.layers);
    gw_kv_u32(&w, ARCH_KEY("feed_forward_length"), (uint32_t)sp.ffn);
    gw_kv_u32(&w, ARCH_KEY("attention.head_count"), (uint32_t)sp.heads);
    gw_kv_u32(&w, ARCH_KEY("attention.head_count_kv"), (uint32_t)sp.kv_heads);
    gw_kv_u32(&w, ARCH_KEY("rope.dimension_count"), (uint32_t)(sp.dim / sp.heads));
    gw_kv_f32(&w, ARCH_KEY("rope.freq_base"), sp.rope_theta > 0 ? sp.rope_theta : 10000.0f);
    gw_kv_f32(&w, ARCH_KEY("attention.layer_norm_rms_epsilon"), 1e-5f);
#undef ARCH_KEY
    if (sp.vocab_from) {
        int rc = copy_vocab(&w, sp.vocab_from, &sp.vocab, st);
        if (rc) { llm_status ignored; gw_close(&w, 0, &ignored); return rc; }
    } else add_synthetic_vocab(&w, sp.vocab);
    if (sp.chat_template) gw_kv_str(&w, "tokenizer.chat_template", sp.chat_template);

    /* rows = 1: a vector (norms: 1; biases: random; rope_freqs: random divisors in [1, 8)) */
    typedef struct { char name[64]; int64_t cols, rows; int kind, type; } spec;
    enum { W_MATRIX, W_NORM, W_BIAS, W_FREQS };
    int kv_dim = sp.dim / sp.heads * sp.kv_heads, n = 0;
    spec *specs = xcalloc((size_t)sp.layers * 12 + 4, sizeof *specs);
    if (!specs) return fail(st, LLM_ERR_NOMEM, "out of memory");
    snprintf(specs[n].name, 64, "token_embd.weight"); specs[n].cols = sp.dim; specs[n].rows = sp.vocab;
    if (sp.q4_k_m && sp.tied) specs[n].type = T_Q6_K;   /* it is the output matrix too */
    n++;
    if (sp.rope_freqs) { snprintf(specs[n].name, 64, "rope_freqs.weight"); specs[n].cols = sp.dim / sp.heads / 2; specs[n].rows = 1; specs[n++].kind = W_FREQS; }
    for (int l = 0; l < sp.layers; l++) {
        int64_t shape[9][2] = {{sp.dim, 1}, {sp.dim, sp.dim}, {sp.dim, kv_dim}, {sp.dim, kv_dim}, {sp.dim, sp.dim},
                               {sp.dim, 1}, {sp.dim, sp.ffn}, {sp.ffn, sp.dim}, {sp.dim, sp.ffn}};
        for (int i = 0; i < 9; i++) {
            snprintf(specs[n].name, 64, "blk.%d.%s.weight", l, layer_tensor_names[i]);
            specs[n].cols = shape[i][0]; specs[n].kind = shape[i][1] == 1 ? W_NORM : W_MATRIX; specs[n].rows = shape[i][1];
            if (sp.q4_k_m && (i == 3 || i == 7) && more_bits(l, sp.layers)) specs[n].type = T_Q6_K;   /* attn_v, ffn_down */
            n++;
            if (qwen2 && i >= 1 && i <= 3) {
                snprintf(specs[n].name, 64, "blk.%d.%s.bias", l, layer_tensor_names[i]);
                specs[n].cols = shape[i][1]; specs[n].rows = 1; specs[n++].kind = W_BIAS;
            }
        }
    }
    snprintf(specs[n].name, 64, "output_norm.weight"); specs[n].cols = sp.dim; specs[n].kind = W_NORM; specs[n++].rows = 1;
    if (!sp.tied) {
        snprintf(specs[n].name, 64, "output.weight"); specs[n].cols = sp.dim; specs[n].rows = sp.vocab;
        if (sp.q4_k_m) specs[n].type = T_Q6_K;
        n++;
    }
    for (int i = 0; i < n; i++) {   /* type 0 (F32) so far: vectors F32, matrices the file's type */
        if (specs[i].rows != 1 && !specs[i].type) specs[i].type = sp.type;
        uint64_t ne[2] = {(uint64_t)specs[i].cols, (uint64_t)specs[i].rows};
        gw_add_tensor(&w, specs[i].name, specs[i].type, specs[i].rows == 1 ? 1 : 2, ne);
    }
    int rc = gw_begin_data(&w, out, st);
    int wide = sp.dim > sp.ffn ? sp.dim : sp.ffn;
    float *row = falloc((size_t)wide);
    uint8_t *buf = aligned_zalloc((size_t)wide * 4);
    if (!rc && (!row || !buf)) rc = fail(st, LLM_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n && !rc; i++) {
        int64_t cols = specs[i].cols;
        int t = specs[i].type;
        float scale = specs[i].kind == W_MATRIX ? sqrtf(3.0f / (float)cols) : 0.5f;
        size_t rb = (size_t)(cols / ttraits[t].blck * ttraits[t].bytes);
        for (int64_t r = 0; r < specs[i].rows; r++) {
            for (int64_t c = 0; c < cols; c++) {
                float u = rng_f32(&rng);
                row[c] = specs[i].kind == W_NORM ? 1.0f : specs[i].kind == W_FREQS ? 1.0f + 7.0f * u : (2.0f * u - 1.0f) * scale;
            }
            float_to_row(t, (int)cols, row, buf);
            gw_tensor_data(&w, buf, rb);
        }
    }
    free(row); free(buf); free(specs);
    int rc2 = gw_close(&w, rc == LLM_OK, st);
    return rc ? rc : rc2;
}

#ifndef MKMODEL_NO_MAIN
static void usage(FILE *f) {
    fprintf(f, "usage: mkmodel OUT.gguf [--dim N] [--layers N] [--heads N] [--kv-heads N] [--ffn N] [--ctx N] "
               "[--vocab N | --vocab-from VOCAB.gguf] [--type T] [--tied] [--seed S] [--arch llama|qwen2] [--rope-theta F] [--rope-freqs] [--chat-template-file JINJA.txt]\n"
               "A model with random weights of the given shape (see the top of tools/mkmodel.c).\n");
}

/* a bad value: one line, exit 2 (as llm's options) */
static void bad_value(const char *opt, const char *v, const char *want) {
    fprintf(stderr, "mkmodel: %s needs %s, got '%s'\n", opt, want, v);
    exit(2);
}

static int int_arg(const char *opt, const char *v) {
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < 0 || x > INT_MAX) bad_value(opt, v, "an integer in 0..2147483647");
    return (int)x;
}

int main(int argc, char **argv) {
    random_model_spec sp = {.dim = 128, .layers = 2, .heads = 4, .kv_heads = 2, .ffn = 352, .ctx = 512, .vocab = 512,
                            .type = T_F32, .seed = 1};
    const char *out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        if (!strcmp(a, "--tied")) { sp.tied = 1; continue; }
        if (!strcmp(a, "--rope-freqs")) { sp.rope_freqs = 1; continue; }
        if (a[0] != '-') {
            if (out) { fprintf(stderr, "mkmodel: one output file, not '%s' and '%s'\n", out, a); return 2; }
            out = a;
            continue;
        }
        if (!v) { fprintf(stderr, "mkmodel: %s needs a value\n", a); return 2; }
        i++;
        if (!strcmp(a, "--dim")) sp.dim = int_arg(a, v);
        else if (!strcmp(a, "--layers")) sp.layers = int_arg(a, v);
        else if (!strcmp(a, "--heads")) sp.heads = int_arg(a, v);
        else if (!strcmp(a, "--kv-heads")) sp.kv_heads = int_arg(a, v);
        else if (!strcmp(a, "--ffn")) sp.ffn = int_arg(a, v);
        else if (!strcmp(a, "--ctx")) sp.ctx = int_arg(a, v);
        else if (!strcmp(a, "--vocab")) sp.vocab = int_arg(a, v);
        else if (!strcmp(a, "--vocab-from")) sp.vocab_from = v;
        else if (!strcmp(a, "--seed")) {
            char *end;
            errno = 0;
            sp.seed = strtoull(v, &end, 10);
            if (errno || end == v || *end || v[0] == '-') bad_value(a, v, "an unsigned integer");
        }
        else if (!strcmp(a, "--arch")) sp.arch = v;
        else if (!strcmp(a, "--chat-template-file")) {
            llm_status rs;
            size_t len;
            if (!(sp.chat_template = read_text(v, (size_t)1 << 20, "the most a chat template may have", &len, &rs))) { fprintf(stderr, "mkmodel: %s\n", rs.msg); return 1; }
        }
        else if (!strcmp(a, "--rope-theta")) {
            char *end;
            sp.rope_theta = strtof(v, &end);
            if (end == v || *end || !(sp.rope_theta > 0 && sp.rope_theta < INFINITY)) bad_value(a, v, "a positive number");
        }
        else if (!strcmp(a, "--type")) {
            sp.q4_k_m = !strcasecmp(v, "Q4_K_M");
            if ((sp.type = sp.q4_k_m ? T_Q4_K : writable_type(v)) < 0) bad_value(a, v, "one of " WRITABLE_TYPES ", Q4_K_M");
        }
        else { fprintf(stderr, "mkmodel: unknown option %s (see the top of tools/mkmodel.c)\n", a); return 2; }
    }
    if (!out) {
        usage(stderr);
        return 2;
    }
    llm_status st;
    install_file_guards("mkmodel");       /* an interrupted run leaves no temporary file */
    int rc = write_random_model(out, sp, &st);
    if (rc) { fprintf(stderr, "mkmodel: %s\n", st.msg); return rc == LLM_ERR_ARG ? 2 : 1; }
    return 0;
}
#endif /* MKMODEL_NO_MAIN */
