/* fuzz_tokenizer.c - libFuzzer target: the tokenizers, both directions, on arbitrary bytes.
 *
 * Vocabularies, loaded once in LLVMFuzzerInitialize:
 *   - $SHARED/assets/vocab/ggml-vocab-llama-spm.gguf (Llama 2 SentencePiece, 32000 tokens),
 *     $SHARED/assets/llama2c/tok512.bin (a llama2.c tokenizer.bin), and the byte-level BPE
 *     vocabularies ggml-vocab-llama-bpe.gguf (Llama 3) and ggml-vocab-qwen2.gguf, when SHARED
 *     (default ../shared) has them;
 *   - "plain": built here, all 256 byte tokens, "▁" and a few merges, add_space_prefix on;
 *   - "quirky": built here, byte tokens for ASCII only (other bytes fall back to <unk>), no
 *     space prefix, equal, NaN and infinite scores, duplicate pieces, pieces with NUL bytes and a
 *     "▁" inside, user-defined, unused and out-of-range token types.
 * Input: byte 0 picks the vocabulary (modulo the number loaded), byte 1 the options (bit 0: add
 * BOS; bits 1-3: a piece buffer of 1..8 bytes), the rest is the text.
 * Checks: llm_tokenize's size query, a full and a too-small id buffer agree; every id is in the
 * vocabulary; llm_token_to_piece NUL-terminates within the buffer and a small buffer gets a
 * prefix of the full piece; and where the vocabulary can spell every byte, decoding the ids
 * gives the text back (SentencePiece with byte fallback and byte-level BPE are lossless), except
 * for what the format itself loses: SentencePiece's leading space after BOS and "▁" in the text.
 * At start-up every id of every vocabulary is turned into text with several buffer sizes.
 */
#include "fuzz_common.h"
#define LLM_NO_MAIN
#include "../../llm.c"
#include "fuzz_vocab.h"

#define MAX_VOCABS 6
static struct { const char *name; llm_model *m; int lossless; } vocabs[MAX_VOCABS];
static int n_vocabs;

static char byte_names[256][8];

static llm_model *plain_vocab(void) {
    static const char *merges[] = {"\xe2\x96\x81", "e", "t", "h", "a", "o", "n", "th", "he", "\xe2\x96\x81t",
                                   "\xe2\x96\x81th", "\xe2\x96\x81the", "an", "\xe2\x96\x81" "a", "\xe2\x96\x81" "an",
                                   "on", "no", "\xc3\xa9", "\xe2\x96\x81\xe2\x96\x81", "ee", "eee"};
    int nm = (int)(sizeof merges / sizeof *merges), n = 3 + 256 + nm;
    vtok *t = calloc((size_t)n, sizeof *t);
    t[0] = (vtok){"<unk>", -1, 0, TOK_UNKNOWN};
    t[1] = (vtok){"<s>", -1, 0, TOK_CONTROL};
    t[2] = (vtok){"</s>", -1, 0, TOK_CONTROL};
    for (int i = 0; i < 256; i++) {
        snprintf(byte_names[i], sizeof byte_names[i], "<0x%02X>", i);
        t[3 + i] = (vtok){byte_names[i], -1, 0, TOK_BYTE};
    }
    for (int i = 0; i < nm; i++) t[259 + i] = (vtok){merges[i], -1, -(float)i, TOK_NORMAL};
    llm_model *m = build_vocab(t, n, 1);
    free(t);
    return m;
}

static llm_model *quirky_vocab(void) {
    vtok t[3 + 128 + 24] = {
        {"<unk>", -1, 0, TOK_UNKNOWN}, {"<s>", -1, 0, TOK_CONTROL}, {"</s>", -1, 0, TOK_CONTROL},
    };
    int n = 3;
    for (int i = 0; i < 128; i++) {
        snprintf(byte_names[i], sizeof byte_names[i], "<0x%02x>", i);   /* lower-case hex */
        t[n++] = (vtok){byte_names[i], -1, 0, i & 1 ? TOK_BYTE : 0};    /* type from the name */
    }
    const vtok extra[] = {
        {"a", -1, 0, TOK_NORMAL}, {"b", -1, 0, TOK_NORMAL}, {"ab", -1, 0, TOK_NORMAL}, {"ba", -1, 0, TOK_NORMAL},
        {"aa", -1, 0, TOK_NORMAL}, {"aaa", -1, 1, TOK_NORMAL}, {"abab", -1, 0, TOK_NORMAL},
        {"ab", -1, 5, TOK_NORMAL},                               /* duplicate piece */
        {"\xe2\x96\x81", -1, NAN, TOK_NORMAL}, {"\xe2\x96\x81" "a", -1, INFINITY, TOK_NORMAL},
        {"a\xe2\x96\x81" "b", -1, -INFINITY, TOK_NORMAL}, {"x\0y", 3, 0, TOK_NORMAL}, {"\0", 1, 0, TOK_NORMAL},
        {"<s>", -1, 2, TOK_NORMAL},                              /* a control piece spelled again */
        {"<|user|>", -1, 0, TOK_USER}, {"zz", -1, 0, TOK_UNUSED}, {"zzz", -1, 0, 99},
        {"<0x41>", -1, 0, TOK_NORMAL},                           /* byte-like piece typed normal */
        {"<0xZZ>", -1, 0, TOK_BYTE},                             /* typed byte, not a byte piece */
        {"\xe6\x97\xa5\xe6\x9c\xac", -1, 3, TOK_NORMAL}, {"\xe6\x97\xa5", -1, 0, TOK_NORMAL},
        {"\xc3", -1, 0, TOK_NORMAL}, {"", 0, 0, TOK_NORMAL}, {"\xe2\x96\x81\xe2\x96\x81", -1, 0, TOK_NORMAL},
    };
    for (size_t i = 0; i < sizeof extra / sizeof *extra; i++) t[n++] = extra[i];
    return build_vocab(t, n, 0);
}

/* byte-level BPE; or SPM where every byte has a token and "▁" is a piece: decoding gives the text back */
static int is_lossless(const llm_model *m) {
    const tokenizer *tk = &m->tok;
    if (tk->bpe) return 1;
    for (int i = 0; i < 256; i++) if (tk->byte_id[i] < 0) return 0;
    return tok_lookup(tk, "\xe2\x96\x81", 3) >= 0;
}

static void add_vocab(const char *name, llm_model *m) {
    if (!m) { fprintf(stderr, "fuzz_tokenizer: %s: not found, skipped\n", name); return; }
    vocabs[n_vocabs].name = name;
    vocabs[n_vocabs].m = m;
    vocabs[n_vocabs].lossless = is_lossless(m);
    n_vocabs++;
}

static void free_vocabs(void) {
    for (int i = 0; i < n_vocabs; i++) llm_model_free(vocabs[i].m);
    n_vocabs = 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc; (void)argv;
    add_vocab("llama-spm", open_shared("vocab/ggml-vocab-llama-spm.gguf", 1));
    add_vocab("tok512", open_shared("llama2c/tok512.bin", 0));
    add_vocab("llama-bpe", open_shared("vocab/ggml-vocab-llama-bpe.gguf", 1));
    add_vocab("qwen2", open_shared("vocab/ggml-vocab-qwen2.gguf", 1));
    add_vocab("plain", plain_vocab());
    add_vocab("quirky", quirky_vocab());
    atexit(free_vocabs);
    /* every id with several buffer sizes, once */
    static char out[70000];
    for (int v = 0; v < n_vocabs; v++) {
        const llm_model *m = vocabs[v].m;
        for (int id = -2; id < llm_n_vocab(m) + 2; id++) {
            static const size_t caps[] = {sizeof out, 1, 2, 5};
            for (int c = 0; c < 4; c++) {
                int k = llm_token_to_piece(m, c & 1 ? llm_token_bos(m) : -1, id, out, caps[c]);
                FUZZ_CHECK(k >= 0 && (size_t)k < caps[c] && out[k] == 0, "%s: token_to_piece(%d, cap %zu) = %d",
                           vocabs[v].name, id, caps[c], k);
            }
        }
        fprintf(stderr, "fuzz_tokenizer: vocab %d: %s, %d tokens%s\n", v, vocabs[v].name, llm_n_vocab(m),
                vocabs[v].lossless ? ", lossless" : "");
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2 || n_vocabs == 0) return 0;
    int v = data[0] % n_vocabs, add_bos = data[1] & 1;
    size_t cap = 1 + ((data[1] >> 1) & 7);
    const llm_model *m = vocabs[v].m;
    const tokenizer *tk = &m->tok;
    const char *text = (const char *)data + 2;
    size_t len = size - 2;
    int nv = llm_n_vocab(m);

    /* add_special puts BOS and EOS where the file asks (add_bos_token, add_eos_token: Qwen2 adds no BOS) */
    int bos = add_bos && tk->add_bos && tk->bos >= 0, eos = add_bos && tk->add_eos && tk->eos >= 0;
    int need = llm_tokenize(m, text, len, add_bos, NULL, 0);
    FUZZ_CHECK(need >= bos + eos && (len > 0 || need == bos + eos), "tokenize needs %d ids for %zu bytes", need, len);
    int *ids = malloc(((size_t)need + 1) * sizeof *ids);
    FUZZ_CHECK(ids, "out of memory");
    int got = llm_tokenize(m, text, len, add_bos, ids, need);
    FUZZ_CHECK(got == need, "tokenize: %d ids, then %d", need, got);
    if (need > 1) {                                         /* a buffer too small: no overflow */
        int half = need / 2;
        int *part = malloc((size_t)half * sizeof *part);
        FUZZ_CHECK(part, "out of memory");
        got = llm_tokenize(m, text, len, add_bos, part, half);
        FUZZ_CHECK(got == need && !memcmp(part, ids, (size_t)half * sizeof *part), "tokenize into %d of %d ids", half, need);
        free(part);
    }
    if (bos) FUZZ_CHECK(ids[0] == llm_token_bos(m), "first id %d is not BOS", ids[0]);

    /* decode: full pieces concatenated, and a small buffer per piece */
    size_t dcap = 16 * len + 64, dn = 0;
    char *dec = malloc(dcap), piece[70000], small[8];
    FUZZ_CHECK(dec, "out of memory");
    int spm = !tk->bpe;
    int checkable = vocabs[v].lossless && !(spm && memmem(text, len, "\xe2\x96\x81", 3));
    for (int i = 0; i < need; i++) {
        FUZZ_CHECK(ids[i] >= 0 && ids[i] < nv, "token id %d of %d", ids[i], nv);
        int prev = i ? ids[i - 1] : -1;
        int k = llm_token_to_piece(m, prev, ids[i], piece, sizeof piece);
        FUZZ_CHECK(k >= 0 && (size_t)k < sizeof piece && piece[k] == 0, "token_to_piece = %d", k);
        int ks = llm_token_to_piece(m, prev, ids[i], small, cap);
        FUZZ_CHECK(ks >= 0 && (size_t)ks < cap && small[ks] == 0 && ks <= k && !memcmp(small, piece, (size_t)ks),
                   "token_to_piece(id %d, cap %zu) = %d is not a prefix of the %d-byte piece", ids[i], cap, ks, k);
        if (!(bos && i == 0) && tk->type[ids[i]] != TOK_NORMAL && tk->type[ids[i]] != TOK_BYTE) checkable = 0;
        if (dn + (size_t)k <= dcap) { memcpy(dec + dn, piece, (size_t)k); dn += (size_t)k; }
        else checkable = 0;
    }
    if (checkable) {
        /* what the text should decode to; SPM: the space prefix shows, unless after BOS */
        size_t en = 0;
        char *exp = malloc(len + 2);
        FUZZ_CHECK(exp, "out of memory");
        if (spm && tk->add_space_prefix && len > 0) exp[en++] = ' ';   /* empty text: no prefix */
        memcpy(exp + en, text, len);
        en += len;
        char *e = exp;
        if (spm && bos && en > 0 && e[0] == ' ') { e++; en--; }
        FUZZ_CHECK(dn == en && !memcmp(dec, e, en), "%s: the ids of %zu bytes decode to %zu different bytes",
                   vocabs[v].name, len, dn);
        free(exp);
    }
    free(dec);
    free(ids);
    return 0;
}
