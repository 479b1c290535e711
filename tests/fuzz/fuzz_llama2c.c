/* fuzz_llama2c.c - libFuzzer target: a llama2.c checkpoint and tokenizer.bin from an untrusted source.
 *
 * Input: CHECKPOINT bytes, the 8-byte separator "\0TOKBIN\0", TOKENIZER bytes (without the
 * separator the whole input is the checkpoint and there is no tokenizer). They are written to
 * model.bin and tokenizer.bin in a scratch directory, then:
 *   1. the tokenizer alone (path NULL, tokenizer_path, vocab_only = 1), and through a checkpoint
 *      path with vocab_only = 1; on success a few bytes are tokenized and turned back into text;
 *   2. the checkpoint with its tokenizer (vocab_only = 0, 1 thread); when the model is tiny, a
 *      context of at most 8 positions evaluates 2 tokens, samples one and evaluates it.
 * Errors must come with a code and a message; nothing may crash, leak or trip a sanitizer.
 * tests/fuzz/make_seeds.py writes seeds in this format.
 */
#include "fuzz_common.h"
#define LLM_NO_MAIN
#include "../../llm.c"

static const uint8_t SEP[8] = {0, 'T', 'O', 'K', 'B', 'I', 'N', 0};

static void check_error(const llm_status *st, const char *what) {
    FUZZ_CHECK(st->code != LLM_OK, "%s failed but the status code is LLM_OK", what);
    FUZZ_CHECK(st->msg[0] != 0, "%s failed without a message", what);
}

static void exercise_vocab(const llm_model *m, const uint8_t *text, size_t len) {
    int nv = llm_n_vocab(m);
    int need = llm_tokenize(m, (const char *)text, len, 1, NULL, 0);
    FUZZ_CHECK(need >= 1, "tokenize needs %d ids", need);
    int *ids = malloc((size_t)need * sizeof *ids);
    FUZZ_CHECK(ids, "out of memory");
    int got = llm_tokenize(m, (const char *)text, len, 1, ids, need);
    FUZZ_CHECK(got == need, "tokenize: %d ids, then %d", need, got);
    char buf[1024];
    for (int i = 0; i < got; i++) {
        FUZZ_CHECK(ids[i] >= 0 && ids[i] < nv, "token id %d of %d", ids[i], nv);
        int k = llm_token_to_piece(m, i ? ids[i - 1] : -1, ids[i], buf, sizeof buf);
        FUZZ_CHECK(k >= 0 && (size_t)k < sizeof buf && buf[k] == 0, "token_to_piece returned %d", k);
    }
    free(ids);
    for (int i = 0; i < nv && i < 300; i++) {
        int k = llm_token_to_piece(m, 1, i, buf, sizeof buf);
        FUZZ_CHECK(k >= 0 && (size_t)k < sizeof buf && buf[k] == 0, "token_to_piece(%d) returned %d", i, k);
    }
}

static void run_model(llm_model *m, const uint8_t *data, size_t size) {
    const hparams *hp = &m->hp;
    llm_status st = {0};
    uint64_t per_layer = 2ull * hp->dim * hp->dim + 2ull * hp->dim * hp->kv_dim + 3ull * hp->dim * hp->hidden;
    uint64_t cost = per_layer * hp->n_layers + (uint64_t)hp->vocab * hp->dim;
    if (cost > (1u << 18) || hp->n_layers > 16) return;
    int n_ctx = hp->ctx_train < 8 ? hp->ctx_train : 8;
    llm_ctx *c = llm_ctx_new(m, n_ctx, &st);
    FUZZ_CHECK(c, "llm_ctx_new(%d) failed on a tiny model: %s", n_ctx, st.msg);
    int toks[2] = {llm_token_bos(m), data[size / 2] % hp->vocab};
    int n = n_ctx >= 2 ? 2 : 1;
    int rc = llm_eval(c, toks, n, 0, 0, &st);
    FUZZ_CHECK(rc == LLM_OK, "llm_eval failed: %s", st.msg);
    llm_sampler_params sp = llm_sampler_default_params();
    sp.seed = size;
    llm_sampler *s = llm_sampler_new(&sp);
    FUZZ_CHECK(s, "llm_sampler_new failed");
    int next = llm_sample(s, llm_logits(c), hp->vocab);
    FUZZ_CHECK(next >= 0 && next < hp->vocab, "sampled id %d of %d", next, hp->vocab);
    if (n < n_ctx) {
        rc = llm_eval(c, &next, 1, n, 0, &st);
        FUZZ_CHECK(rc == LLM_OK, "llm_eval (one token) failed: %s", st.msg);
    }
    llm_sampler_free(s);
    llm_ctx_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *sep = memmem(data, size, SEP, sizeof SEP);
    size_t ck_len = sep ? (size_t)(sep - data) : size;
    const uint8_t *tok = sep ? sep + sizeof SEP : NULL;
    size_t tok_len = sep ? size - ck_len - sizeof SEP : 0;
    const char *model_path = fuzz_write(0, "model.bin", data, ck_len);
    const char *tok_path = tok ? fuzz_write(1, "tokenizer.bin", tok, tok_len) : NULL;
    llm_status st = {0};
    llm_model_params mp = llm_model_default_params();
    llm_model *m;

    if (tok_path) {                                         /* 1. the tokenizer alone */
        mp.tokenizer_path = tok_path;
        mp.vocab_only = 1;
        m = llm_model_open(&mp, &st);
        if (m) {
            exercise_vocab(m, data, ck_len < 40 ? ck_len : 40);
            llm_model_free(m);
        } else {
            check_error(&st, "llm_model_open(tokenizer only)");
        }
        if (ck_len) {                                       /* ... named next to a checkpoint */
            mp.path = model_path;
            m = llm_model_open(&mp, &st);
            if (m) llm_model_free(m);
            else check_error(&st, "llm_model_open(checkpoint, vocab_only)");
        }
    }
    if (ck_len) {                                           /* 2. checkpoint + tokenizer */
        mp = llm_model_default_params();
        mp.path = model_path;
        mp.tokenizer_path = tok_path;
        mp.n_threads = 1;
        m = llm_model_open(&mp, &st);
        if (m) {
            int gguf = ck_len >= 4 && !memcmp(data, "GGUF", 4);    /* GGUF by magic, whatever the name */
            FUZZ_CHECK(m->from_llama2c == !gguf, "a .bin file loaded as the wrong format");
            run_model(m, data, size);
            llm_model_free(m);
        } else {
            check_error(&st, "llm_model_open(checkpoint)");
        }
    }
    return 0;
}
