/* fuzz_vocab.h - vocabularies for the fuzz targets (include AFTER llm.c: it uses its internals).
 * A minimal GGUF byte builder (independent of llm.c's own writer) for vocabularies made in
 * process, and a loader for the team's vocabularies. */
#ifndef FUZZ_VOCAB_H
#define FUZZ_VOCAB_H

/* ---- a minimal GGUF byte builder (independent of llm.c's writer) ---- */
typedef struct { uint8_t *p; size_t n, cap; } buf;
static void put(buf *b, const void *d, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 256;
        b->p = realloc(b->p, b->cap);
        FUZZ_CHECK(b->p, "out of memory");
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}
static void put_u32(buf *b, uint32_t v) { uint8_t x[4] = {v, v >> 8, v >> 16, v >> 24}; put(b, x, 4); }
static void put_u64(buf *b, uint64_t v) { put_u32(b, (uint32_t)v); put_u32(b, (uint32_t)(v >> 32)); }
static void put_str(buf *b, const char *s, size_t n) { put_u64(b, n); put(b, s, n); }
static void put_key(buf *b, const char *k, uint32_t type) { put_str(b, k, strlen(k)); put_u32(b, type); }

typedef struct { const char *s; int len; float score; int type; } vtok;

/* a vocab-only GGUF of these tokens (llama SentencePiece), with an optional chat template */
static __attribute__((unused)) llm_model *build_vocab_tpl(const vtok *t, int n, int add_space_prefix, const char *tpl,
                                                         size_t tpl_len) {
    buf b = {0};
    put(&b, "GGUF", 4);
    put_u32(&b, 3);
    put_u64(&b, 0);                                     /* tensors */
    put_u64(&b, tpl ? 7 : 6);                           /* keys */
    put_key(&b, "tokenizer.ggml.model", GGUF_STR); put_str(&b, "llama", 5);
    put_key(&b, "tokenizer.ggml.tokens", GGUF_ARR); put_u32(&b, GGUF_STR); put_u64(&b, (uint64_t)n);
    for (int i = 0; i < n; i++) put_str(&b, t[i].s, t[i].len >= 0 ? (size_t)t[i].len : strlen(t[i].s));
    put_key(&b, "tokenizer.ggml.scores", GGUF_ARR); put_u32(&b, GGUF_F32); put_u64(&b, (uint64_t)n);
    for (int i = 0; i < n; i++) put_u32(&b, f32_to_bits(t[i].score));
    put_key(&b, "tokenizer.ggml.token_type", GGUF_ARR); put_u32(&b, GGUF_I32); put_u64(&b, (uint64_t)n);
    for (int i = 0; i < n; i++) put_u32(&b, (uint32_t)t[i].type);
    put_key(&b, "tokenizer.ggml.add_space_prefix", GGUF_BOOL); put(&b, &(uint8_t){(uint8_t)add_space_prefix}, 1);
    put_key(&b, "tokenizer.ggml.eot_token_id", GGUF_I32); put_u32(&b, 2);
    if (tpl) { put_key(&b, "tokenizer.chat_template", GGUF_STR); put_str(&b, tpl, tpl_len); }
    const char *path = fuzz_write(2, "model.gguf", b.p, b.n);
    free(b.p);
    llm_status st = {0};
    llm_model_params mp = llm_model_default_params();
    mp.path = path;
    mp.vocab_only = 1;
    llm_model *m = llm_model_open(&mp, &st);
    FUZZ_CHECK(m, "built-in vocab rejected: %s", st.msg);
    return m;
}

static __attribute__((unused)) llm_model *build_vocab(const vtok *t, int n, int add_space_prefix) {
    return build_vocab_tpl(t, n, add_space_prefix, NULL, 0);
}

/* a vocabulary from SHARED/assets/REL (GGUF, or a llama2.c tokenizer.bin); NULL if absent */
static __attribute__((unused)) llm_model *open_shared(const char *rel, int gguf) {
    const char *shared = getenv("SHARED") ? getenv("SHARED") : "../shared";
    char path[1024];
    snprintf(path, sizeof path, "%s/assets/%s", shared, rel);
    if (access(path, R_OK) != 0) return NULL;
    llm_status st = {0};
    llm_model_params mp = llm_model_default_params();
    mp.vocab_only = 1;
    if (gguf) mp.path = path;
    else mp.tokenizer_path = path;
    llm_model *m = llm_model_open(&mp, &st);
    FUZZ_CHECK(m, "%s: %s", path, st.msg);
    return m;
}

#endif /* FUZZ_VOCAB_H */
