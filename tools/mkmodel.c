/* mkmodel - write a random-weight Llama model as GGUF, of any shape and tensor type.
 * For tests and benchmarks: the weights are random, so the text is gibberish, but the shapes,
 * types and file layout are exactly those of a real model.
 *
 *   make tools/mkmodel
 *   tools/mkmodel OUT.gguf [--dim N] [--layers N] [--heads N] [--kv-heads N] [--ffn N] [--ctx N]
 *                 [--vocab N | --vocab-from VOCAB.gguf] [--type F32|F16|BF16|Q8_0|Q4_0] [--tied] [--seed S]
 *   e.g. the TinyLlama-1.1B shape: --dim 2048 --layers 22 --heads 32 --kv-heads 4 --ffn 5632 --vocab 32000
 *
 * It is built from llm.c itself (GGUF writer, quantizers), so it writes exactly what llm.c reads.
 */
#define LLM_NO_MAIN
#include "../llm.c"

static uint64_t rng_state = 88172645463325252ull;
static float rnd_uniform(void) { return rng_f32(&rng_state) * 2.0f - 1.0f; }   /* [-1, 1) */

/* Synthetic SentencePiece vocabulary: <unk> <s> </s>, 256 byte tokens, then "▁a".."▁z",
 * letters, and unique filler pieces up to n. Scores favour the earlier (shorter) pieces. */
static void add_synthetic_vocab(gguf_writer *w, int n) {
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
        else snprintf(buf, sizeof buf, "\xe2\x96\x81w%d", i);
        pieces[i] = strdup(buf);
        len[i] = (int)strlen(buf);
        types[i] = i == 0 ? TOK_UNKNOWN : i < 3 ? TOK_CONTROL : i < 259 ? TOK_BYTE : TOK_NORMAL;
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

/* Copy the tokenizer.* keys of another GGUF (e.g. a vocab-only file) verbatim. */
static int copy_vocab(gguf_writer *w, const char *path, int *n_vocab) {
    gguf_file g;
    llm_status st;
    if (gguf_open(&g, path, &st)) { fprintf(stderr, "mkmodel: %s\n", st.msg); return 1; }
    for (uint64_t i = 0; i < g.n_kv; i++) {
        if (g.kv[i].key.len < 10 || memcmp(g.kv[i].key.p, "tokenizer.", 10)) continue;
        const uint8_t *b = g.kv[i].key.p - 8, *e = i + 1 < g.n_kv ? g.kv[i + 1].key.p - 8 : g.mf.data + g.kv_end;
        gw_bytes(w, b, (size_t)(e - b));
        w->n_kv++;
        if (sv_eq(g.kv[i].key, "tokenizer.ggml.tokens")) *n_vocab = (int)g.kv[i].arr_n;
    }
    gguf_close(&g);
    return *n_vocab > 0 ? 0 : 1;
}

static int parse_type(const char *s) {
    const int allowed[] = {T_F32, T_F16, T_BF16, T_Q8_0, T_Q4_0};
    for (int i = 0; i < 5; i++) if (!strcasecmp(s, ttraits[allowed[i]].name)) return allowed[i];
    return -1;
}

int main(int argc, char **argv) {
    int dim = 128, layers = 2, heads = 4, kv_heads = 2, ffn = 352, ctx = 512, vocab = 512, type = T_F32, tied = 0;
    const char *out = NULL, *vocab_from = NULL;
    uint64_t seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--tied")) { tied = 1; continue; }
        if (a[0] != '-') { out = a; continue; }
        if (!v) { fprintf(stderr, "mkmodel: %s needs a value\n", a); return 2; }
        i++;
        if (!strcmp(a, "--dim")) dim = atoi(v);
        else if (!strcmp(a, "--layers")) layers = atoi(v);
        else if (!strcmp(a, "--heads")) heads = atoi(v);
        else if (!strcmp(a, "--kv-heads")) kv_heads = atoi(v);
        else if (!strcmp(a, "--ffn")) ffn = atoi(v);
        else if (!strcmp(a, "--ctx")) ctx = atoi(v);
        else if (!strcmp(a, "--vocab")) vocab = atoi(v);
        else if (!strcmp(a, "--vocab-from")) vocab_from = v;
        else if (!strcmp(a, "--seed")) seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--type")) { if ((type = parse_type(v)) < 0) { fprintf(stderr, "mkmodel: unknown type %s\n", v); return 2; } }
        else { fprintf(stderr, "mkmodel: unknown option %s (see the top of tools/mkmodel.c)\n", a); return 2; }
    }
    if (!out) { fprintf(stderr, "usage: mkmodel OUT.gguf [--dim N] [--layers N] [--heads N] [--kv-heads N] [--ffn N] [--ctx N] "
                                "[--vocab N | --vocab-from VOCAB.gguf] [--type T] [--tied] [--seed S]\n"); return 2; }
    if (dim <= 0 || heads <= 0 || kv_heads <= 0 || dim % heads || heads % kv_heads || layers <= 0 || ffn <= 0 || vocab < 320) {
        fprintf(stderr, "mkmodel: inconsistent shape (vocab needs >= 320 synthetic tokens)\n");
        return 2;
    }
    int blck = ttraits[type].blck;
    if (dim % blck || ffn % blck) { fprintf(stderr, "mkmodel: dim and ffn must be multiples of %d for %s\n", blck, ttraits[type].name); return 2; }
    rng_state ^= seed * 0x9e3779b97f4a7c15ull;

    gguf_writer w = {.alignment = 32};
    gw_kv_str(&w, "general.architecture", "llama");
    gw_kv_str(&w, "general.name", "random");
    gw_kv_u32(&w, "general.alignment", 32);
    gw_kv_u32(&w, "general.file_type", (uint32_t)ggml_file_type(type));
    gw_kv_u32(&w, "llama.context_length", (uint32_t)ctx);
    gw_kv_u32(&w, "llama.embedding_length", (uint32_t)dim);
    gw_kv_u32(&w, "llama.block_count", (uint32_t)layers);
    gw_kv_u32(&w, "llama.feed_forward_length", (uint32_t)ffn);
    gw_kv_u32(&w, "llama.attention.head_count", (uint32_t)heads);
    gw_kv_u32(&w, "llama.attention.head_count_kv", (uint32_t)kv_heads);
    gw_kv_u32(&w, "llama.rope.dimension_count", (uint32_t)(dim / heads));
    gw_kv_f32(&w, "llama.rope.freq_base", 10000.0f);
    gw_kv_f32(&w, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    if (vocab_from) { if (copy_vocab(&w, vocab_from, &vocab)) return 1; }
    else add_synthetic_vocab(&w, vocab);

    /* tensor list: name, cols, rows (rows = 1: a norm vector) */
    typedef struct { char name[64]; int64_t cols, rows; } spec;
    int kv_dim = dim / heads * kv_heads, n = 0;
    spec *specs = calloc((size_t)layers * 9 + 3, sizeof *specs);
    snprintf(specs[n].name, 64, "token_embd.weight"); specs[n].cols = dim; specs[n++].rows = vocab;
    for (int l = 0; l < layers; l++) {
        int64_t shape[9][2] = {{dim, 1}, {dim, dim}, {dim, kv_dim}, {dim, kv_dim}, {dim, dim}, {dim, 1}, {dim, ffn}, {ffn, dim}, {dim, ffn}};
        for (int i = 0; i < 9; i++) {
            snprintf(specs[n].name, 64, "blk.%d.%s.weight", l, layer_tensor_names[i]);
            specs[n].cols = shape[i][0]; specs[n++].rows = shape[i][1];
        }
    }
    snprintf(specs[n].name, 64, "output_norm.weight"); specs[n].cols = dim; specs[n++].rows = 1;
    if (!tied) { snprintf(specs[n].name, 64, "output.weight"); specs[n].cols = dim; specs[n++].rows = vocab; }
    for (int i = 0; i < n; i++) {
        uint64_t ne[2] = {(uint64_t)specs[i].cols, (uint64_t)specs[i].rows};
        gw_add_tensor(&w, specs[i].name, specs[i].rows == 1 ? T_F32 : type, specs[i].rows == 1 ? 1 : 2, ne);
    }
    llm_status st;
    if (gw_begin_data(&w, out, &st)) { fprintf(stderr, "mkmodel: %s\n", st.msg); return 1; }
    int wide = dim > ffn ? dim : ffn;
    float *row = malloc((size_t)wide * sizeof(float));
    uint8_t *buf = malloc((size_t)wide * 4);
    for (int i = 0; i < n; i++) {
        int64_t cols = specs[i].cols;
        int t = specs[i].rows == 1 ? T_F32 : type;
        /* uniform weights with the variance of N(0, 1/cols): activations keep their scale through layers */
        float scale = specs[i].rows == 1 ? 0.0f : sqrtf(3.0f / (float)cols);
        size_t rb = (size_t)(cols / ttraits[t].blck * ttraits[t].bytes);
        for (int64_t r = 0; r < specs[i].rows; r++) {
            for (int64_t c = 0; c < cols; c++) row[c] = scale ? rnd_uniform() * scale : 1.0f;
            float_to_row(t, (int)cols, row, buf);
            gw_tensor_data(&w, buf, rb);
        }
    }
    free(row); free(buf); free(specs);
    if (gw_close(&w, 1, &st)) { fprintf(stderr, "mkmodel: %s\n", st.msg); return 1; }
    return 0;
}
