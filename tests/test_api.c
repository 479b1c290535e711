/* test_api.c - the public API a chat program needs (llm.h only, linked with build/libllm.a):
 * llm_stop_scan, llm_chat_render and llm_eval_prompt.
 *
 *   tests/test_api CHAT_MODEL KJV_MODEL
 *
 * CHAT_MODEL: a random model whose vocabulary has every template's control tokens
 * (tools/mkmodel --vocab 400); KJV_MODEL: models/kjv-q8_0.gguf (no chat control tokens).
 * Rendering is checked by its properties: an answer renders as the generation prompt, its tokens
 * and the end of turn (what makes a chat's cache reusable), answers are trimmed, DeepSeek-R1 drops
 * the reasoning before </think> (then the tokens given are not used), llama2 gathers system
 * messages into the next [INST]; errors name what is wrong.
 */
#include "llm.h"
#define CHECK_SUITE "api."
#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* the ids of a rendering, allocated; *n gets their count (-1 on error) */
static int *render(const llm_model *m, int tpl, const llm_chat_message *msg, int n_msg, int gen, int *n) {
    llm_status st = {0};
    int need = llm_chat_render(m, tpl, msg, n_msg, gen, NULL, 0, &st);
    *n = need;
    if (need < 0) return NULL;
    int *ids = malloc(((size_t)need + 1) * sizeof(int));
    int got = llm_chat_render(m, tpl, msg, n_msg, gen, ids, need, &st);
    if (got != need) check(0, "size query %d, rendering %d", need, got);
    return ids;
}

static int *tokens(const llm_model *m, const char *text, int *n) {
    int need = llm_tokenize(m, text, strlen(text), 0, NULL, 0);
    int *ids = malloc(((size_t)need + 1) * sizeof(int));
    *n = llm_tokenize(m, text, strlen(text), 0, ids, need);
    return ids;
}

static int same(const int *a, int na, const int *b, int nb) { return na == nb && (na == 0 || !memcmp(a, b, (size_t)na * sizeof(int))); }

static void test_stop(void) {
    const char *stops[] = {"abcd", "c", "", NULL, "world"};
    int stopped;
    size_t r = llm_stop_scan("hello world", 11, 0, stops + 4, 1, &stopped);
    check(r == 6 && stopped, "complete stop string: %zu %d", r, stopped);
    r = llm_stop_scan("hello wor", 9, 0, stops + 4, 1, &stopped);
    check(r == 6 && !stopped, "a tail that may become one is held back: %zu %d", r, stopped);
    r = llm_stop_scan("xab", 3, 0, stops, 1, &stopped);
    check(r == 1 && !stopped, "held back from the earliest possible start: %zu", r);
    r = llm_stop_scan("xabc", 4, 0, stops, 5, &stopped);
    check(r == 3 && stopped, "a complete stop string wins over an earlier partial one: %zu %d", r, stopped);
    r = llm_stop_scan("cab", 3, 1, stops + 1, 1, &stopped);
    check(r == 3 && !stopped, "text before `from` is not looked at: %zu %d", r, stopped);
    r = llm_stop_scan("plain", 5, 0, stops + 2, 2, &stopped);
    check(r == 5 && !stopped, "empty and NULL stop strings are ignored: %zu", r);
    r = llm_stop_scan("", 0, 0, stops, 5, &stopped);
    check(r == 0 && !stopped, "empty text");
}

static void test_render(const llm_model *m, const llm_model *plain) {
    int answer_toks[3] = {7, 8, 9};
    for (int tpl = 0; tpl < 4; tpl++) {
        const char *name = llm_chat_template_name(tpl);
        check(llm_chat_template_by_name(name) == tpl, "%s by name", name);
        llm_chat_message user = {"user", "hello there", NULL, 0};
        llm_chat_message conv[2] = {user, {"assistant", "ignored text", answer_toks, 3}};
        int n_gen, n_plain, n_conv, end = llm_chat_end_token(m, tpl);
        int *gen = render(m, tpl, &user, 1, 1, &n_gen);                 /* the prompt of the first answer */
        int *plain_ = render(m, tpl, &user, 1, 0, &n_plain);           /* the message alone */
        int *full = render(m, tpl, conv, 2, 0, &n_conv);               /* and the answer as generated */
        check(gen && plain_ && full && end >= 0, "%s renders", name);
        if (tpl != LLM_CHAT_DEEPSEEK_R1) {
            /* generation prompt + answer tokens + end of turn (+ chatml's newline) */
            int tail = tpl == LLM_CHAT_CHATML ? n_conv - n_gen - 4 : n_conv - n_gen - 3;
            check(n_conv > n_gen + 3 && !memcmp(full, gen, (size_t)n_gen * sizeof(int)) && !memcmp(full + n_gen, answer_toks, sizeof answer_toks)
                      && full[n_gen + 3] == end && tail >= 0,
                  "%s: the answer renders as the generation prompt, its tokens and the end of turn", name);
        } else {
            /* <｜Assistant｜> + answer tokens + end, after the user message; the generation prompt adds <think>\n */
            check(n_conv == n_plain + 5 && !memcmp(full, plain_, (size_t)n_plain * sizeof(int)) && full[n_plain] == gen[n_plain]
                      && !memcmp(full + n_plain + 1, answer_toks, sizeof answer_toks) && full[n_conv - 1] == end,
                  "%s: the answer renders as <Assistant>, its tokens and the end", name);
        }
        /* answers are trimmed; their text goes through the tokenizer when no tokens are given */
        llm_chat_message a[2] = {user, {"assistant", "  the answer \n", NULL, 0}}, b[2] = {user, {"assistant", "the answer", NULL, 0}};
        int na, nb;
        int *ra = render(m, tpl, a, 2, 1, &na), *rb = render(m, tpl, b, 2, 1, &nb);
        check(same(ra, na, rb, nb), "%s: answers are trimmed", name);
        free(ra); free(rb);
        /* DeepSeek-R1 keeps what follows the last </think>, tokenized anew even when tokens are given */
        llm_chat_message t[3] = {user, {"assistant", "<think>why</think>one</think>\n\n the answer", answer_toks, 3}, {"user", "more", NULL, 0}};
        llm_chat_message k[3] = {user, {"assistant", "the answer", NULL, 0}, {"user", "more", NULL, 0}};
        int nt, nk;
        int *rt = render(m, tpl, t, 3, 1, &nt), *rk = render(m, tpl, k, 3, 1, &nk);
        if (tpl == LLM_CHAT_DEEPSEEK_R1) check(same(rt, nt, rk, nk), "%s: the reasoning is dropped, the tokens not used", name);
        else check(!same(rt, nt, rk, nk), "%s: </think> is text like any other", name);
        free(rt); free(rk);
        /* errors */
        llm_status st = {0};
        llm_chat_message bad[2] = {user, {"tool", "x", NULL, 0}};
        int r = llm_chat_render(m, tpl, bad, 2, 1, NULL, 0, &st);
        check(r == -1 && st.code == LLM_ERR_ARG && strstr(st.msg, "message 2") && strstr(st.msg, "tool"), "%s: unknown role: %d %s", name, r, st.msg);
        if (tpl != LLM_CHAT_LLAMA2) {
            st.code = 0;
            r = llm_chat_render(plain, tpl, &user, 1, 1, NULL, 0, &st);
            check(r == -1 && st.code == LLM_ERR_FORMAT && strstr(st.msg, "no token"), "%s: a vocabulary without its control tokens: %s", name, st.msg);
        }
        free(gen); free(plain_); free(full);
    }
    /* llama2: system messages gather into the next [INST] */
    llm_chat_message sys2[3] = {{"system", "S1", NULL, 0}, {"system", "S2", NULL, 0}, {"user", "U", NULL, 0}};
    int n, nt;
    int *r = render(m, LLM_CHAT_LLAMA2, sys2, 3, 1, &n);
    int *t = tokens(m, "[INST] <<SYS>>\nS1\n<</SYS>>\n\n<<SYS>>\nS2\n<</SYS>>\n\nU [/INST]", &nt);
    check(r && n == nt + 1 && r[0] == llm_token_bos(m) && !memcmp(r + 1, t, (size_t)nt * sizeof(int)), "llama2: two system messages");
    free(r); free(t);
    check(llm_chat_template_by_name("nosuch") == LLM_CHAT_NONE && llm_chat_template_name(7) == NULL, "unknown names");
    llm_status st = {0};
    check(llm_chat_render(m, 9, sys2, 3, 1, NULL, 0, &st) == -1 && st.code == LLM_ERR_ARG, "unknown family");
}

static void test_prefix_reuse(llm_model *m) {
    llm_status st = {0};
    llm_ctx *c = llm_ctx_new(m, 128, &st), *fresh = llm_ctx_new(m, 128, &st);
    check(c && fresh, "two contexts of 128 positions");
    const char *text = "In the beginning God created the heaven and the earth. And the earth was without form";
    int ids[128], n = llm_tokenize_prompt(m, text, strlen(text), 0, ids, 128), reused = -1, nv = llm_n_vocab(m);
    check(n > 20 && ids[0] == llm_token_bos(m), "prompt of %d tokens with BOS", n);
    check(llm_n_past(c) == 0, "a new context holds nothing");
    int rc = llm_eval_prompt(c, ids, 12, &reused, &st);
    check(rc == 0 && reused == 0 && llm_n_past(c) == 12, "first prompt: %d reused", reused);
    rc = llm_eval_prompt(c, ids, n, &reused, &st);
    check(rc == 0 && reused == 12 && llm_n_past(c) == n, "its extension: %d reused", reused);
    /* the logits equal those of the whole prompt evaluated in a fresh context */
    float *a = malloc((size_t)nv * sizeof(float));
    memcpy(a, llm_logits(c), (size_t)nv * sizeof(float));
    rc = llm_eval_prompt(fresh, ids, n, &reused, &st);
    check(rc == 0 && reused == 0, "the same prompt in a fresh context: %d reused", reused);
    double md = 0, mx = 0;
    int am = 0, bm = 0;
    for (int i = 0; i < nv; i++) {
        md = fmax(md, fabs(a[i] - llm_logits(fresh)[i]));
        mx = fmax(mx, fabs(llm_logits(fresh)[i]));
        if (a[i] > a[am]) am = i;
        if (llm_logits(fresh)[i] > llm_logits(fresh)[bm]) bm = i;
    }
    check(am == bm && md <= 1e-4 * mx, "reused and fresh logits: max diff %g of %g, argmax %d / %d", md, mx, am, bm);
    rc = llm_eval_prompt(c, ids, n, &reused, &st);
    check(rc == 0 && reused == n - 1, "the same prompt again: only its last token again (%d reused of %d)", reused, n);
    int other[3] = {ids[0], ids[1], (ids[2] + 1) % nv};
    rc = llm_eval_prompt(c, other, 3, &reused, &st);
    check(rc == 0 && reused == 2 && llm_n_past(c) == 3, "a different third token: %d reused", reused);
    rc = llm_eval(c, ids, 2, 10, 0, &st);
    check(rc == 0 && llm_n_past(c) == 3, "evaluating after a gap keeps the known history (%d)", llm_n_past(c));
    rc = llm_eval_prompt(c, ids, 0, &reused, &st);
    check(rc != 0 && st.code == LLM_ERR_ARG, "an empty prompt is an error: %s", st.msg);
    free(a);
    llm_ctx_free(c);
    llm_ctx_free(fresh);
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: test_api CHAT_MODEL KJV_MODEL\n"); return 2; }
    llm_status st = {0};
    llm_model_params mp = llm_model_default_params();
    mp.quiet = 1;
    mp.n_threads = 1;
    mp.path = argv[1];
    llm_model *chat = llm_model_open(&mp, &st);
    mp.path = argv[2];
    llm_model *kjv = llm_model_open(&mp, &st);
    if (!chat || !kjv) { fprintf(stderr, "test_api: %s\n", st.msg); return 1; }
    test_stop();
    test_render(chat, kjv);
    test_prefix_reuse(kjv);
    llm_model_free(chat);
    llm_model_free(kjv);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
