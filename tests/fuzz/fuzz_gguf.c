/* fuzz_gguf.c - libFuzzer target: a GGUF file from an untrusted source.
 *
 * The input is written to a file (model.gguf in a scratch directory) and given to:
 *   1. gguf_open directly; on success every key's value, every string and fixed-size array, and
 *      the first and last byte of every tensor's data are read (the file image is an exact-size
 *      heap block, see fuzz_common.h, so a bounds mistake is an ASan report), and every key is
 *      looked up with gguf_get_int/float/str;
 *   2. llm_model_open with vocab_only = 1; on success a few bytes of the input are tokenized and
 *      every id is turned back into text;
 *   3. llm_model_open with vocab_only = 0 (1 thread); when the model is tiny (at most 2^19
 *      multiply-adds per token), a context of at most 8 positions evaluates 2 tokens,
 *      samples one (default sampler: temperature, top-k, top-p, min-p) and evaluates it;
 *   4. quantize_file to a type chosen by the input (F32 .. Q4_0, Q2_K .. Q6_K); when it succeeds the output must be a valid
 *      GGUF with the same tensors, and a model that loaded must still load.
 * Errors must come with a code and a message; nothing may crash, leak or trip a sanitizer.
 *
 *   make fuzz FUZZ_SECONDS=60      (all targets), or by hand:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined tests/fuzz/fuzz_gguf.c -lm -pthread -o build/fuzz_gguf
 *   build/fuzz_gguf -max_len=65536 CORPUS_DIR
 */
#include "fuzz_common.h"
#define LLM_NO_MAIN
#include "../../llm.c"

static volatile uint8_t sink;

static void touch(const uint8_t *p, uint64_t n) {
    if (!n) return;
    sink ^= p[0];
    sink ^= p[n - 1];
}

static void check_error(int rc, const llm_status *st, const char *what) {
    FUZZ_CHECK(st->code != LLM_OK, "%s failed (rc %d) but the status code is LLM_OK", what, rc);
    FUZZ_CHECK(st->msg[0] != 0, "%s failed (rc %d) without a message", what, rc);
}

/* 1. the reader alone: returns 1 if the file opened */
static int walk_gguf(const char *path, uint64_t *n_kv, uint64_t *n_tensors, int *n_file_type) {
    gguf_file g;
    llm_status st = {0};
    int rc = gguf_open(&g, path, &st);
    if (rc) {
        check_error(rc, &st, "gguf_open");
        FUZZ_CHECK(st.code == rc, "gguf_open returned %d, status code %d", rc, st.code);
        return 0;
    }
    *n_kv = g.n_kv;
    *n_tensors = g.n_tensors;
    *n_file_type = 0;
    for (uint64_t i = 0; i < g.n_kv; i++) {
        const gguf_kv *kv = &g.kv[i];
        touch(kv->key.p, kv->key.len);
        FUZZ_CHECK(kv->type >= 0 && kv->type < GGUF_NTYPES, "key type %d", kv->type);
        if (kv->type == GGUF_STR) {
            uint64_t n = le_uint(kv->val, 8);
            touch(kv->val + 8, n);
        } else if (kv->type == GGUF_ARR) {
            FUZZ_CHECK(kv->arr_type >= 0 && kv->arr_type < GGUF_NTYPES, "array type %d", kv->arr_type);
            if (kv->arr_type == GGUF_STR) {
                const uint8_t *p = kv->val;
                for (uint64_t j = 0; j < kv->arr_n; j++) {
                    uint64_t n = le_uint(p, 8);
                    touch(p + 8, n);
                    p += 8 + n;
                }
            } else if (kv->arr_type != GGUF_ARR) {
                touch(kv->val, kv->arr_n * gguf_vsize[kv->arr_type]);
            }
        } else {
            touch(kv->val, gguf_vsize[kv->type]);
        }
        char key[256];
        size_t kl = kv->key.len < sizeof key - 1 ? kv->key.len : sizeof key - 1;
        memcpy(key, kv->key.p, kl);
        key[kl] = 0;
        int64_t iv;
        double dv;
        gguf_get_int(&g, key, 0, &iv);
        gguf_get_float(&g, key, 0, &dv);
        strview s = gguf_get_str(&g, key);
        touch(s.p, s.len);
        if (sv_eq(kv->key, "general.file_type")) (*n_file_type)++;
    }
    for (uint64_t i = 0; i < g.n_tensors; i++) {
        const gguf_tensor *t = &g.tensors[i];
        touch(t->name.p, t->name.len);
        touch(t->data, t->size);
        FUZZ_CHECK(t->data >= g.mf.data + g.data_offset && t->size <= g.mf.size &&
                       (uint64_t)(t->data - g.mf.data) <= g.mf.size - t->size,
                   "tensor %llu lies outside the file", (unsigned long long)i);
        char name[300];
        snprintf(name, sizeof name, "%.*s", (int)t->name.len, (const char *)t->name.p);
        if (strlen(name) == t->name.len) FUZZ_CHECK(gguf_find_tensor(&g, name) == t, "tensor '%s' not found by name", name);
    }
    gguf_close(&g);
    return 1;
}

static void pieces(const llm_model *m, const int *ids, int n) {
    char buf[1024], small[4];
    for (int i = 0; i < n; i++) {
        int prev = i ? ids[i - 1] : -1;
        int k = llm_token_to_piece(m, prev, ids[i], buf, sizeof buf);
        FUZZ_CHECK(k >= 0 && (size_t)k < sizeof buf && buf[k] == 0, "token_to_piece returned %d", k);
        k = llm_token_to_piece(m, prev, ids[i], small, sizeof small);
        FUZZ_CHECK(k >= 0 && (size_t)k < sizeof small && small[k] == 0, "token_to_piece (cap 4) returned %d", k);
    }
}

/* 2. vocab only */
static void vocab_only(const char *path, const uint8_t *data, size_t size) {
    llm_status st = {0};
    llm_model_params mp = llm_model_default_params();
    mp.path = path;
    mp.vocab_only = 1;
    llm_model *m = llm_model_open(&mp, &st);
    if (!m) { check_error(-1, &st, "llm_model_open(vocab_only)"); return; }
    int nv = llm_n_vocab(m);
    FUZZ_CHECK(nv > 0, "vocab of %d tokens", nv);
    size_t len = size < 48 ? size : 48;
    const char *text = (const char *)data + (size - len);   /* the tail: tensor data or metadata */
    int need = llm_tokenize(m, text, len, 1, NULL, 0);
    FUZZ_CHECK(need >= 1, "tokenize needs %d ids", need);
    int *ids = malloc((size_t)need * sizeof *ids);
    FUZZ_CHECK(ids, "out of memory");
    int got = llm_tokenize(m, text, len, 1, ids, need);
    FUZZ_CHECK(got == need, "tokenize: %d ids, then %d", need, got);
    for (int i = 0; i < got; i++) FUZZ_CHECK(ids[i] >= 0 && ids[i] < nv, "token id %d of %d", ids[i], nv);
    pieces(m, ids, got);
    free(ids);
    int all[64];
    int n = nv < 64 ? nv : 64;
    for (int i = 0; i < n; i++) all[i] = i;
    pieces(m, all, n);
    llm_model_free(m);
}

/* 3. the whole model; returns 1 if it loaded */
static int full_model(const char *path, const uint8_t *data, size_t size) {
    llm_status st = {0};
    llm_model_params mp = llm_model_default_params();
    mp.path = path;
    mp.n_threads = 1;
    llm_model *m = llm_model_open(&mp, &st);
    if (!m) { check_error(-1, &st, "llm_model_open"); return 0; }
    const hparams *hp = &m->hp;
    uint64_t per_layer = 2ull * hp->dim * hp->dim + 2ull * hp->dim * hp->kv_dim + 3ull * hp->dim * hp->hidden;
    uint64_t cost = per_layer * hp->n_layers + (uint64_t)hp->vocab * hp->dim;
    if (cost <= (1u << 19) && hp->n_layers <= 16) {          /* the dim-256 K-quant seeds: 464K */
        int n_ctx = hp->ctx_train < 8 ? hp->ctx_train : 8;
        llm_ctx *c = llm_ctx_new(m, n_ctx, &st);
        FUZZ_CHECK(c, "llm_ctx_new(%d) failed on a tiny model: %s", n_ctx, st.msg);
        int toks[2] = {llm_token_bos(m), data[size / 2] % hp->vocab};
        int n = n_ctx >= 2 ? 2 : 1;
        int rc = llm_eval(c, toks, n, 0, size & 1, &st);
        FUZZ_CHECK(rc == LLM_OK, "llm_eval failed: %s", st.msg);
        llm_sampler_params sp = llm_sampler_default_params();
        sp.seed = size;
        if (data[0] & 1) sp.repeat_penalty = 1.3f;
        llm_sampler *s = llm_sampler_new(&sp);
        FUZZ_CHECK(s, "llm_sampler_new failed");
        for (int i = 0; i < n; i++) llm_sampler_accept(s, toks[i]);
        const float *lg = llm_logits(c) + ((size & 1) ? (size_t)(n - 1) * hp->vocab : 0);
        int next = llm_sample(s, lg, hp->vocab);
        FUZZ_CHECK(next >= 0 && next < hp->vocab, "sampled id %d of %d", next, hp->vocab);
        if (n < n_ctx) {
            rc = llm_eval(c, &next, 1, n, 0, &st);
            FUZZ_CHECK(rc == LLM_OK, "llm_eval (one token) failed: %s", st.msg);
            sp.temp = 0;
            llm_sampler *g = llm_sampler_new(&sp);
            FUZZ_CHECK(g, "llm_sampler_new failed");
            next = llm_sample(g, llm_logits(c), hp->vocab);
            FUZZ_CHECK(next >= 0 && next < hp->vocab, "greedy id %d of %d", next, hp->vocab);
            llm_sampler_free(g);
        }
        rc = llm_eval(c, toks, 1, n_ctx, 0, &st);          /* past the end: an error, not a write */
        FUZZ_CHECK(rc == LLM_ERR_ARG, "llm_eval beyond the context returned %d", rc);
        llm_sampler_free(s);
        llm_ctx_free(c);
    }
    llm_model_free(m);
    return 1;
}

/* 4. quantize, then the output must read back */
static void quantize(const char *path, const uint8_t *data, size_t size, uint64_t n_kv, uint64_t n_tensors,
                     int n_file_type, int loaded) {
    static const int types[] = {T_F32, T_F16, T_BF16, T_Q8_0, T_Q4_0, T_Q2_K, T_Q3_K, T_Q4_K, T_Q5_K, T_Q6_K};
    int type = types[data[size - 1] % (sizeof types / sizeof *types)];
    const char *out = fuzz_path("out.gguf");
    llm_status st = {0};
    fflush(stderr);                                /* quantize notes copied tensors on stderr */
    int saved = dup(2), null = open("/dev/null", O_WRONLY);
    if (null >= 0) { dup2(null, 2); close(null); }
    int rc = quantize_file(path, out, type, &st);
    fflush(stderr);
    if (saved >= 0) { dup2(saved, 2); close(saved); }
    if (rc) {
        check_error(rc, &st, "quantize_file");
        FUZZ_CHECK(!fuzz_has_prefix("out.gguf."), "quantize failed and left its temporary file");
        unlink(out);
        return;
    }
    uint64_t q_kv = 0, q_tensors = 0;
    int q_ft = 0;
    FUZZ_CHECK(walk_gguf(out, &q_kv, &q_tensors, &q_ft), "quantize wrote a file gguf_open rejects");
    FUZZ_CHECK(q_tensors == n_tensors && q_kv == n_kv - n_file_type + 1 && q_ft == 1,
               "quantize: %llu keys and %llu tensors in, %llu and %llu out", (unsigned long long)n_kv,
               (unsigned long long)n_tensors, (unsigned long long)q_kv, (unsigned long long)q_tensors);
    if (loaded) {
        llm_model_params mp = llm_model_default_params();
        mp.path = out;
        mp.n_threads = 1;
        llm_model *m = llm_model_open(&mp, &st);
        FUZZ_CHECK(m, "the model loads, its quantized copy (%s) does not: %s", ttraits[type].name, st.msg);
        llm_model_free(m);
    }
    unlink(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;                       /* an empty file: covered by the CLI tests */
    const char *path = fuzz_write(0, "model.gguf", data, size);
    uint64_t n_kv = 0, n_tensors = 0;
    int n_ft = 0;
    int opened = walk_gguf(path, &n_kv, &n_tensors, &n_ft);
    vocab_only(path, data, size);
    int loaded = full_model(path, data, size);
    FUZZ_CHECK(opened || !loaded, "the model loaded but gguf_open failed");
    if (opened && n_tensors <= 256) quantize(path, data, size, n_kv, n_tensors, n_ft, loaded);
    return 0;
}
