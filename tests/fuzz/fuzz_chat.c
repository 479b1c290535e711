/* fuzz_chat.c - libFuzzer target: chat templates (section 11 of llm.c) on untrusted text.
 *
 * Input: byte 0 picks the vocabulary, byte 1 the options (bit 0: first turn, bit 1: with a
 * system prompt, bits 2-4: the family, 0-3 forced, else detected), then TEMPLATE \0 SYSTEM \0 USER
 * (missing parts are empty).
 * Vocabularies: "chat", built here with every family's control tokens and a
 * tokenizer.chat_template of TEMPLATE (rebuilt for each input, so llm_chat_template reads the fuzzed
 * template from the GGUF); "plain", built here without any of them (every special is missing);
 * ggml-vocab-llama-spm.gguf, -llama-bpe.gguf and -qwen2.gguf from $SHARED when present.
 * Checks: tpl_detect returns a family or LLM_CHAT_NONE and agrees with llm_chat_template on a
 * model whose template is TEMPLATE; a conversation (system, user, an answer made of USER with
 * and without </think> and with its tokens, user) renders to ids inside the vocabulary, or fails
 * with the missing special named, and only when the vocabulary really lacks it; a size query
 * agrees with the rendering; the end-of-turn token is in the vocabulary or -1.
 */
#include "fuzz_common.h"
#define LLM_NO_MAIN
#include "../../llm.c"
#include "fuzz_vocab.h"

#define MAX_VOCABS 6
static struct { const char *name; llm_model *m; } vocabs[MAX_VOCABS];
static int n_vocabs;
static vtok *chat_toks;
static int n_chat_toks;
static char byte_names[256][8];

static void add_vocab(const char *name, llm_model *m) {
    if (!m) { fprintf(stderr, "fuzz_chat: %s: not found, skipped\n", name); return; }
    vocabs[n_vocabs].name = name;
    vocabs[n_vocabs].m = m;
    n_vocabs++;
}

static void free_all(void) {
    for (int i = 0; i < n_vocabs; i++) llm_model_free(vocabs[i].m);
    n_vocabs = 0;
    free(chat_toks);
}

/* <unk> <s> </s>, 256 byte tokens, every family's specials, a few merges */
static void make_chat_toks(void) {
    static const char *specials[] = {"<|im_start|>", "<|im_end|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>",
                                     "<|begin_of_text|>", DS_BOS, DS_USER, DS_ASSISTANT, DS_EOS};
    static const char *merges[] = {"\xe2\x96\x81", "[", "INST", "]", "[INST]", "[/INST]", "<think>", "user", "assistant",
                                   "system", "\n", "\n\n", "\xe2\x96\x81" "a", "ab", "<<SYS>>", "<</SYS>>"};
    int ns = (int)(sizeof specials / sizeof *specials), nm = (int)(sizeof merges / sizeof *merges);
    n_chat_toks = 3 + 256 + ns + nm;
    chat_toks = calloc((size_t)n_chat_toks, sizeof *chat_toks);
    FUZZ_CHECK(chat_toks, "out of memory");
    chat_toks[0] = (vtok){"<unk>", -1, 0, TOK_UNKNOWN};
    chat_toks[1] = (vtok){"<s>", -1, 0, TOK_CONTROL};
    chat_toks[2] = (vtok){"</s>", -1, 0, TOK_CONTROL};
    for (int i = 0; i < 256; i++) {
        snprintf(byte_names[i], sizeof byte_names[i], "<0x%02X>", i);
        chat_toks[3 + i] = (vtok){byte_names[i], -1, 0, TOK_BYTE};
    }
    for (int i = 0; i < ns; i++) chat_toks[259 + i] = (vtok){specials[i], -1, 0, TOK_CONTROL};
    for (int i = 0; i < nm; i++) chat_toks[259 + ns + i] = (vtok){merges[i], -1, -(float)i, TOK_NORMAL};
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc; (void)argv;
    make_chat_toks();
    add_vocab("plain", build_vocab(chat_toks, 259, 1));             /* bytes only: no specials */
    add_vocab("llama-spm", open_shared("vocab/ggml-vocab-llama-spm.gguf", 1));
    add_vocab("llama-bpe", open_shared("vocab/ggml-vocab-llama-bpe.gguf", 1));
    add_vocab("qwen2", open_shared("vocab/ggml-vocab-qwen2.gguf", 1));
    atexit(free_all);
    return 0;
}

static void check_turns(const llm_model *m, const char *vname, int k, int first, const char *system, const char *user) {
    int nv = llm_n_vocab(m);
    char *think = malloc(2 * strlen(user) + 32);
    FUZZ_CHECK(think, "out of memory");
    sprintf(think, "<think>%s</think>%s", user, user);
    int toks[3] = {0, nv - 1, nv / 2};
    llm_chat_message msgs[6] = {{"system", system, NULL, 0}, {"user", user, NULL, 0}, {"assistant", user, toks, 3},
                                {"user", user, NULL, 0}, {"assistant", think, toks, 3}, {"user", "", NULL, 0}};
    llm_chat_message *msg = system && first ? msgs : msgs + 1;
    int n_msg = system && first ? 6 : 5;
    llm_status st = {0};
    int need = llm_chat_render(m, k, msg, n_msg, first, NULL, 0, &st);
    if (need < 0) {
        FUZZ_CHECK(st.code == LLM_ERR_FORMAT || st.code == LLM_ERR_NOMEM, "%s: family %d: error %d: %s", vname, k, st.code, st.msg);
        const char *q = strchr(st.msg, '\'');                  /* "... no token '<piece>', which ..." */
        if (st.code == LLM_ERR_FORMAT && q) {
            const char *e = strstr(q + 1, "', which");
            FUZZ_CHECK(e && tok_lookup(&m->tok, q + 1, (int)(e - q - 1)) < 0, "%s: family %d: %s, yet it is there", vname, k, st.msg);
        }
    } else {
        int *ids = malloc(((size_t)need + 1) * sizeof(int));
        FUZZ_CHECK(ids, "out of memory");
        int n = llm_chat_render(m, k, msg, n_msg, first, ids, need, &st);
        FUZZ_CHECK(n == need, "%s: family %d: %d ids, the size query said %d", vname, k, n, need);
        for (int i = 0; i < n; i++) FUZZ_CHECK(ids[i] >= 0 && ids[i] < nv, "%s: family %d: id %d of %d", vname, k, ids[i], nv);
        free(ids);
    }
    free(think);
    int end = llm_chat_end_token(m, k);
    FUZZ_CHECK(end >= -1 && end < nv, "%s: family %d: end-of-turn token %d", vname, k, end);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    int sel = data[0], first = data[1] & 1, with_system = (data[1] >> 1) & 1, forced = (data[1] >> 2) & 7;
    /* TEMPLATE \0 SYSTEM \0 USER, each NUL-terminated in a copy */
    char *buf = malloc(size + 2);
    FUZZ_CHECK(buf, "out of memory");
    memcpy(buf, data + 2, size - 2);
    buf[size - 2] = buf[size - 1] = 0;
    buf[size] = buf[size + 1] = 0;
    const char *tpl = buf;
    size_t tpl_len = strlen(tpl);
    const char *system = tpl + tpl_len + (tpl_len < size - 2 ? 1 : 0);
    const char *user = system + strlen(system) + (system + strlen(system) < buf + size - 2 ? 1 : 0);

    int det = tpl_detect(tpl, tpl_len);
    FUZZ_CHECK(det >= LLM_CHAT_NONE && det <= LLM_CHAT_CHATML, "tpl_detect returned %d", det);
    for (int i = 0; i < 4; i++)
        FUZZ_CHECK(llm_chat_template_by_name(llm_chat_template_name(i)) == i, "llm_chat_template_by_name(%s)", tpl_names[i]);

    int v = sel % (n_vocabs + 1);
    llm_model *m;
    const char *vname;
    if (v == n_vocabs) {                                    /* the chat vocab, with TEMPLATE in its GGUF */
        m = build_vocab_tpl(chat_toks, n_chat_toks, 1, tpl, tpl_len);
        vname = "chat";
        int k = llm_chat_template(m);
        FUZZ_CHECK(det == LLM_CHAT_NONE ? k >= 0 && k <= LLM_CHAT_CHATML : k == det, "llm_chat_template %d, tpl_detect %d", k, det);
    } else {
        m = vocabs[v].m;
        vname = vocabs[v].name;
    }
    int k = forced < 4 ? forced : llm_chat_template(m);
    FUZZ_CHECK(k >= 0 && k <= LLM_CHAT_CHATML, "%s: family %d", vname, k);
    check_turns(m, vname, k, first, with_system ? system : NULL, user);
    if (v == n_vocabs) llm_model_free(m);
    free(buf);
    return 0;
}
