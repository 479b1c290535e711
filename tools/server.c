/* server.c - llm-server: an OpenAI-compatible HTTP server for llm.c, built on its public API
 * (llm.h) alone.
 *
 *   llm-server -m MODEL [--host 127.0.0.1] [--port 8080] [--api-key KEY] [-c CTX] [-t THREADS]
 *
 * Endpoints: GET /health, GET /v1/models, POST /v1/completions, POST /v1/chat/completions (each
 * with "stream": true as server-sent events ending in "data: [DONE]").
 *
 * One model, one context, one request at a time: a thread per connection reads and checks its
 * request (bounded sizes, a deadline for the whole request), renders and tokenizes the prompt,
 * then takes a ticket; tickets are served in the order they were taken, and beyond --max-queue
 * waiting ones a request gets 503. The context keeps the tokens of the previous request, so a
 * prompt that extends them (a chat resending its conversation) evaluates only the new part
 * (llm_eval_prompt); answers it gave come back as the tokens they were generated as. Between tokens the server checks that the client is still there and stops
 * generating when it is not.
 */
#define _GNU_SOURCE
#include "llm.h"
#include "http.h"
#include "json.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_HEAD 16384
#define MAX_STOP 16
#define JSON_DEPTH 32

static struct {
    const char *model, *tokenizer, *host, *api_key, *alias, *chat_template, *cpus;
    int port, n_ctx, n_threads, timeout, max_queue, max_conns, no_reuse, verbose;
    long max_body;
} cfg = {.host = "127.0.0.1", .port = 8080, .timeout = 30, .max_queue = 16, .max_conns = 64, .max_body = 1 << 20};

static llm_model *model;
static llm_ctx *ctx;
static int tpl, end_token, n_ctx, n_vocab;
static char model_id[256];
static long long started;
static atomic_int stopping;                 /* set by SIGINT/SIGTERM; read by every thread */
static atomic_int n_conns;
static atomic_ulong request_no;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...) {
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "llm-server: %s\n", line);
}

/* ---- the queue: one request at a time, in the order they came ---------------------------- */

static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_cond = PTHREAD_COND_INITIALIZER;
static unsigned long q_next, q_serving;      /* tickets taken / the ticket being served */

/* a ticket, or -1 when --max-queue requests already wait */
static int queue_enter(unsigned long *ticket) {
    pthread_mutex_lock(&q_lock);
    int ok = q_next - q_serving <= (unsigned long)cfg.max_queue;
    if (ok) *ticket = q_next++;
    pthread_mutex_unlock(&q_lock);
    return ok ? 0 : -1;
}
static void queue_wait(unsigned long ticket) {
    pthread_mutex_lock(&q_lock);
    while (q_serving != ticket) pthread_cond_wait(&q_cond, &q_lock);
    pthread_mutex_unlock(&q_lock);
}
static void queue_leave(void) {
    pthread_mutex_lock(&q_lock);
    q_serving++;
    pthread_cond_broadcast(&q_cond);
    pthread_mutex_unlock(&q_lock);
}

/* The last chat answers: their text as sent and the tokens they were generated as. A conversation
 * that comes back with one renders those tokens (llm_chat_message.tokens), so the cache that holds
 * them is reused even where the text would tokenize differently (SentencePiece answers often start
 * without the space the tokenizer puts before a text). */
#define N_ANSWERS 32
static pthread_mutex_t answers_lock = PTHREAD_MUTEX_INITIALIZER;
static struct { char *text; size_t len; int *toks, n; } answers[N_ANSWERS];
static int answers_next;

/* ---- connections ------------------------------------------------------------------------- */

typedef struct {
    int fd, gone;
    int raw_events;               /* an HTTP/1.0 client: events without chunked framing, then close */
    char peer[64];
    char *buf;
    size_t len, cap;
} conn;

static const char *reason(int status) {
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 417: return "Expectation Failed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Error";
    }
}

static int send_all(conn *cn, const char *p, size_t n) {
    while (n > 0 && !cn->gone) {
        ssize_t w = send(cn->fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) { cn->gone = 1; break; }                  /* closed, reset, or --timeout without progress */
        p += w;
        n -= (size_t)w;
    }
    return cn->gone ? -1 : 0;
}

static void send_response(conn *cn, int status, const char *extra_headers, const char *body, size_t n, int keep) {
    char head[512];
    int hl = snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n%s%s\r\n",
                      status, reason(status), n, keep ? "" : "Connection: close\r\n", extra_headers ? extra_headers : "");
    if (send_all(cn, head, (size_t)hl) == 0) send_all(cn, body, n);
}

/* An OpenAI-style error: {"error": {"message", "type", "param", "code"}}. */
static void send_error(conn *cn, int status, int keep, const char *param, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static void send_error(conn *cn, int status, int keep, const char *param, const char *code, const char *fmt, ...) {
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    jbuf b = {0};
    jb_puts(&b, "{\"error\":{\"message\":");
    jb_str(&b, msg, strlen(msg));
    jb_printf(&b, ",\"type\":\"%s\",\"param\":", status == 401 ? "authentication_error" : status >= 500 ? "server_error"
                                                 : "invalid_request_error");
    if (param) jb_str(&b, param, strlen(param)); else jb_puts(&b, "null");
    jb_puts(&b, ",\"code\":");
    if (code) jb_str(&b, code, strlen(code)); else jb_puts(&b, "null");
    jb_puts(&b, "}}\n");
    const char *extra = status == 401 ? "WWW-Authenticate: Bearer\r\n" : status == 405 ? "Allow: GET, POST\r\n" : NULL;
    if (!b.oom) send_response(cn, status, extra, b.p, b.n, keep);
    jb_free(&b);
    logf_("%s: %d %s", cn->peer, status, msg);
}

/* Wait for bytes until the deadline: 1 read some, 0 the peer closed, -1 timed out or failed. */
static int conn_fill(conn *cn, double deadline, size_t limit) {
    if (cn->len + 1 >= cn->cap) {
        size_t cap = cn->cap ? 2 * cn->cap : 4096;
        if (cap > limit + 1) cap = limit + 1;
        char *p = cap > cn->cap ? realloc(cn->buf, cap) : NULL;
        if (!p) return -1;
        cn->buf = p;
        cn->cap = cap;
    }
    for (;;) {
        double left = deadline - now();
        if (left <= 0 || stopping) return -1;
        struct pollfd pf = {cn->fd, POLLIN, 0};
        int r = poll(&pf, 1, left > 0.2 ? 200 : (int)(left * 1000) + 1);
        if (r < 0 && errno != EINTR) return -1;
        if (r <= 0) continue;
        ssize_t got = recv(cn->fd, cn->buf + cn->len, cn->cap - 1 - cn->len, 0);
        if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (got <= 0) return got == 0 ? 0 : -1;
        cn->len += (size_t)got;
        return 1;
    }
}

/* Is the client gone? (closed or reset; bytes of a next request do not count) */
static int conn_gone(conn *cn) {
    if (cn->gone) return 1;
    struct pollfd pf = {cn->fd, POLLIN | POLLRDHUP, 0};
    if (poll(&pf, 1, 0) <= 0) return 0;
    if (pf.revents & (POLLHUP | POLLERR)) return cn->gone = 1;
    char c;
    if (pf.revents & (POLLIN | POLLRDHUP)) {
        ssize_t r = recv(cn->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) return cn->gone = 1;
    }
    return 0;
}

/* ---- request fields ---------------------------------------------------------------------- */

typedef struct { char msg[400]; const char *param; } verr;

static int field_err(verr *e, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int field_err(verr *e, const char *key, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    e->param = key;
    return -1;
}

/* A number field in [lo, hi] (an integer if integer): 1 given, 0 absent or null, -1 wrong. */
static int num_field(const json *body, const char *key, int integer, double lo, double hi, double *out, verr *e) {
    const json *v = json_get(body, key);
    if (!v || v->type == JSON_NULL) return 0;
    if (v->type != JSON_NUMBER) return field_err(e, key, "'%s' must be %s, not %s", key, integer ? "an integer" : "a number", json_type_name(v->type));
    if (!(v->number >= lo && v->number <= hi)) return field_err(e, key, "'%s' must be in %g..%g", key, lo, hi);
    if (integer && v->number != (double)(long long)v->number) return field_err(e, key, "'%s' must be an integer", key);
    *out = v->number;
    return 1;
}

static int bool_field(const json *body, const char *key, int *out, verr *e) {
    const json *v = json_get(body, key);
    if (!v || v->type == JSON_NULL) return 0;
    if (v->type != JSON_BOOL) return field_err(e, key, "'%s' must be a boolean, not %s", key, json_type_name(v->type));
    *out = v->boolean;
    return 1;
}

/* a field that must have a given JSON type when present */
static int type_field(const json *body, const char *key, json_type t, verr *e) {
    const json *v = json_get(body, key);
    if (!v || v->type == JSON_NULL || v->type == t) return 0;
    return field_err(e, key, "'%s' must be %s, not %s", key, json_type_name(t), json_type_name(v->type));
}

/* A generation request, checked and tokenized. */
typedef struct {
    int chat, stream, include_usage;
    int *prompt, n_prompt;
    int max_tokens;                 /* -1: until the end-of-turn token or the context end */
    llm_sampler_params sp;
    const char *stop[MAX_STOP];     /* into the request's JSON tree */
    int n_stop;
} job;

/* NUM(key, integer, lo, hi, dst): a number field into dst when given; a wrong one returns -1 */
#define NUM(key, integer, lo, hi, dst) do { double x_ = 0; int r_ = num_field(body, key, integer, lo, hi, &x_, e); \
                                            if (r_ < 0) return -1; \
                                            if (r_ > 0) dst = x_; } while (0)

/* the sampling fields and stop strings both endpoints share */
static int parse_sampling(const json *body, job *jb, verr *e) {
    static atomic_ulong seeds;
    double t = -1, top_p = -1, top_k = -1, min_p = -1, rp = -1, rn = -1, fp = 0, pp = 0, seed = -1e300;
    jb->sp = llm_sampler_default_params();
    NUM("temperature", 0, 0, 100, t);
    NUM("top_p", 0, 0, 1, top_p);
    NUM("top_k", 1, 0, 1e9, top_k);
    NUM("min_p", 0, 0, 1, min_p);
    NUM("repeat_penalty", 0, 0.01, 100, rp);
    NUM("repeat_last_n", 1, 0, 1 << 20, rn);
    NUM("frequency_penalty", 0, -2, 2, fp);
    NUM("presence_penalty", 0, -2, 2, pp);
    NUM("seed", 1, -9.2e18, 9.2e18, seed);
    if (t >= 0) jb->sp.temp = (float)t;
    if (top_p >= 0) jb->sp.top_p = (float)top_p;
    if (top_k >= 0) jb->sp.top_k = (int)top_k;
    if (min_p >= 0) jb->sp.min_p = (float)min_p;
    if (rp >= 0) jb->sp.repeat_penalty = (float)rp;
    if (rn >= 0) jb->sp.repeat_last_n = (int)rn;
    jb->sp.frequency_penalty = (float)fp;
    jb->sp.presence_penalty = (float)pp;
    jb->sp.seed = seed > -1e300 ? (uint64_t)(long long)seed : (uint64_t)time(NULL) * 1000003u + atomic_fetch_add(&seeds, 1);
    if (bool_field(body, "stream", &jb->stream, e) < 0) return -1;
    const json *so = json_get(body, "stream_options");
    if (type_field(body, "stream_options", JSON_OBJECT, e) < 0) return -1;
    if (so && so->type == JSON_OBJECT && bool_field(so, "include_usage", &jb->include_usage, e) < 0) return -1;
    double n = 1;
    if (num_field(body, "n", 1, 1, 1e9, &n, e) < 0) return -1;
    if (n != 1) return field_err(e, "n", "only n = 1 is supported");
    if (type_field(body, "model", JSON_STRING, e) < 0 || type_field(body, "user", JSON_STRING, e) < 0) return -1;
    const json *lb = json_get(body, "logit_bias");
    if (type_field(body, "logit_bias", JSON_OBJECT, e) < 0) return -1;
    if (lb && lb->type == JSON_OBJECT && lb->n) return field_err(e, "logit_bias", "'logit_bias' is not supported");
    const json *st = json_get(body, "stop");
    if (st && st->type == JSON_STRING) {
        if (memchr(st->str, 0, st->len)) return field_err(e, "stop", "'stop' must not contain NUL characters");
        jb->stop[jb->n_stop++] = st->str;
    } else if (st && st->type == JSON_ARRAY) {
        if (st->n > MAX_STOP) return field_err(e, "stop", "at most %d stop strings", MAX_STOP);
        for (const json *s = st->child; s; s = s->next) {
            if (s->type != JSON_STRING) return field_err(e, "stop", "'stop' must hold strings, not %s", json_type_name(s->type));
            if (memchr(s->str, 0, s->len)) return field_err(e, "stop", "'stop' must not contain NUL characters");
            jb->stop[jb->n_stop++] = s->str;
        }
    } else if (st && st->type != JSON_NULL) {
        return field_err(e, "stop", "'stop' must be a string or an array of strings, not %s", json_type_name(st->type));
    }
    return 0;
}

static int parse_completion(const json *body, job *jb, verr *e) {
    double x = 16;                                              /* OpenAI's default for completions */
    NUM("max_tokens", 1, 0, 1e9, x);
    jb->max_tokens = (int)x;
    if (parse_sampling(body, jb, e)) return -1;
    int echo = 0;
    if (bool_field(body, "echo", &echo, e) < 0) return -1;
    if (echo) return field_err(e, "echo", "'echo' is not supported");
    NUM("best_of", 1, 1, 1, x);
    if (num_field(body, "logprobs", 1, 0, 0, &x, e) < 0) return field_err(e, "logprobs", "'logprobs' is not supported");
    const json *sfx = json_get(body, "suffix");
    if (type_field(body, "suffix", JSON_STRING, e) < 0) return -1;
    if (sfx && sfx->type == JSON_STRING && sfx->len) return field_err(e, "suffix", "'suffix' is not supported");
    const json *p = json_get(body, "prompt");
    if (p && p->type == JSON_ARRAY && p->n == 1 && p->child->type == JSON_STRING) p = p->child;   /* ["text"] */
    if (!p) return field_err(e, "prompt", "'prompt' is required");
    if (p->type == JSON_STRING) {
        int need = llm_tokenize_prompt(model, p->str, p->len, 0, NULL, 0);
        if (need < 0 || !(jb->prompt = malloc(((size_t)need + 1) * sizeof(int)))) return field_err(e, "prompt", "out of memory");
        jb->n_prompt = llm_tokenize_prompt(model, p->str, p->len, 0, jb->prompt, need);
        return 0;
    }
    if (p->type == JSON_ARRAY && p->n > 0 && p->child->type == JSON_NUMBER) {   /* token ids */
        if (!(jb->prompt = malloc((size_t)p->n * sizeof(int)))) return field_err(e, "prompt", "out of memory");
        for (const json *t = p->child; t; t = t->next) {
            if (t->type != JSON_NUMBER || !(t->number >= 0 && t->number < n_vocab) || t->number != (double)(int)t->number)
                return field_err(e, "prompt", "a prompt of token ids must hold integers in 0..%d", n_vocab - 1);
            jb->prompt[jb->n_prompt++] = (int)t->number;
        }
        return 0;
    }
    if (p->type == JSON_ARRAY && p->n > 1) return field_err(e, "prompt", "one prompt per request");
    return field_err(e, "prompt", "'prompt' must be a string, an array of one string or an array of token ids");
}

static int parse_chat(const json *body, job *jb, verr *e) {
    double x = -1;                                              /* until the end of the answer or of the context */
    jb->chat = 1;
    NUM("max_tokens", 1, 0, 1e9, x);
    NUM("max_completion_tokens", 1, 0, 1e9, x);
    jb->max_tokens = (int)x;
    if (parse_sampling(body, jb, e)) return -1;
    int lp = 0;
    if (bool_field(body, "logprobs", &lp, e) < 0) return -1;
    if (lp) return field_err(e, "logprobs", "'logprobs' is not supported");
    const json *tools = json_get(body, "tools");
    if (type_field(body, "tools", JSON_ARRAY, e) < 0) return -1;
    if ((tools && tools->type == JSON_ARRAY && tools->n) || (json_get(body, "functions") && json_get(body, "functions")->type != JSON_NULL))
        return field_err(e, "tools", "tools and functions are not supported");
    const json *rf = json_get(body, "response_format");
    if (type_field(body, "response_format", JSON_OBJECT, e) < 0) return -1;
    if (rf && rf->type == JSON_OBJECT) {
        const json *t = json_get(rf, "type");
        if (!t || t->type != JSON_STRING || strcmp(t->str, "text")) return field_err(e, "response_format", "only response_format {\"type\": \"text\"} is supported");
    }
    const json *msgs = json_get(body, "messages");
    if (!msgs) return field_err(e, "messages", "'messages' is required");
    if (msgs->type != JSON_ARRAY || msgs->n == 0) return field_err(e, "messages", "'messages' must be a non-empty array");
    llm_chat_message *cm = calloc((size_t)msgs->n, sizeof *cm);
    char **texts = calloc((size_t)msgs->n, sizeof *texts);
    int rc = cm && texts ? 0 : field_err(e, "messages", "out of memory"), i = 0;
    static const char *param = "messages";
    pthread_mutex_lock(&answers_lock);
    for (const json *m = msgs->child; m && !rc; m = m->next, i++) {
        if (m->type != JSON_OBJECT) { rc = field_err(e, param, "messages[%d] must be an object", i); break; }
        const json *role = json_get(m, "role"), *content = json_get(m, "content");
        if (!role || role->type != JSON_STRING) { rc = field_err(e, param, "messages[%d].role must be a string", i); break; }
        const char *r = role->str;
        if (!strcmp(r, "developer")) r = "system";
        if (strcmp(r, "system") && strcmp(r, "user") && strcmp(r, "assistant")) {
            rc = field_err(e, param, "messages[%d].role '%.40s' is not supported (system, developer, user, assistant)", i, role->str);
            break;
        }
        const json *tc = json_get(m, "tool_calls");
        if (tc && !(tc->type == JSON_NULL || (tc->type == JSON_ARRAY && tc->n == 0))) { rc = field_err(e, param, "tool calls are not supported"); break; }
        /* content: a string, null (an answer without text) or text parts [{"type": "text", "text": ...}] */
        jbuf t = {0};
        if (content && content->type == JSON_STRING) jb_raw(&t, content->str, content->len);
        else if (content && content->type == JSON_ARRAY) {
            for (const json *part = content->child; part && !rc; part = part->next) {
                const json *pt = json_get(part, "type"), *tx = json_get(part, "text");
                if (part->type != JSON_OBJECT || !pt || pt->type != JSON_STRING || strcmp(pt->str, "text") || !tx || tx->type != JSON_STRING)
                    rc = field_err(e, param, "messages[%d].content: only text parts {\"type\": \"text\", \"text\": ...} are supported", i);
                else jb_raw(&t, tx->str, tx->len);
            }
        } else if (content && !(content->type == JSON_NULL && !strcmp(r, "assistant")))
            rc = field_err(e, param, "messages[%d].content must be a string or an array of text parts, not %s", i, json_type_name(content->type));
        else if (!content && strcmp(r, "assistant"))
            rc = field_err(e, param, "messages[%d].content is required", i);
        jb_raw(&t, "", 0);
        if (!rc && t.oom) rc = field_err(e, param, "out of memory");
        if (!rc && t.p && strlen(t.p) != t.n) rc = field_err(e, param, "messages[%d].content must not contain NUL characters", i);
        texts[i] = t.p;
        if (rc) break;
        cm[i].role = r;
        cm[i].content = t.p ? t.p : "";
        for (int k = 0; !strcmp(r, "assistant") && k < N_ANSWERS; k++)
            if (answers[k].toks && answers[k].len == t.n && !memcmp(answers[k].text, t.p ? t.p : "", t.n)) {
                cm[i].tokens = answers[k].toks;
                cm[i].n_tokens = answers[k].n;
                break;
            }
    }
    if (!rc) {
        llm_status st = {0};
        int need = llm_chat_render(model, tpl, cm, msgs->n, 1, NULL, 0, &st);
        if (need < 0 || !(jb->prompt = malloc(((size_t)need + 1) * sizeof(int)))) rc = field_err(e, param, "%s", need < 0 ? st.msg : "out of memory");
        else jb->n_prompt = llm_chat_render(model, tpl, cm, msgs->n, 1, jb->prompt, need, &st);
    }
    pthread_mutex_unlock(&answers_lock);
    for (int k = 0; texts && k < msgs->n; k++) free(texts[k]);
    free(texts);
    free(cm);
    return rc;
}

/* ---- generation -------------------------------------------------------------------------- */

/* An SSE event "data: ...\n\n", in one chunk of the chunked encoding (HTTP/1.1). */
static int send_event(conn *cn, const char *data, size_t n) {
    char head[32];
    int hl = cn->raw_events ? snprintf(head, sizeof head, "data: ") : snprintf(head, sizeof head, "%zx\r\ndata: ", n + 8);
    if (send_all(cn, head, (size_t)hl) || send_all(cn, data, n)) return -1;
    return send_all(cn, "\n\n\r\n", cn->raw_events ? 2 : 4);
}

/* the fields every response and chunk starts with */
static void head_fields(jbuf *b, const job *jb, unsigned long id, int chunk) {
    jb_printf(b, "{\"id\":\"%s-%lu\",\"object\":\"%s\",\"created\":%lld,\"model\":", jb->chat ? "chatcmpl" : "cmpl", id,
              jb->chat ? (chunk ? "chat.completion.chunk" : "chat.completion") : "text_completion", (long long)time(NULL));
    jb_str(b, model_id, strlen(model_id));
}

static void usage_fields(jbuf *b, const job *jb, int n_gen, int reused, double t_prompt, double t_gen) {
    jb_printf(b, ",\"usage\":{\"prompt_tokens\":%d,\"completion_tokens\":%d,\"total_tokens\":%d}", jb->n_prompt, n_gen, jb->n_prompt + n_gen);
    jb_printf(b, ",\"timings\":{\"cache_n\":%d,\"prompt_n\":%d,\"prompt_ms\":%.3f,\"predicted_n\":%d,\"predicted_ms\":%.3f}",
              reused, jb->n_prompt - reused, t_prompt * 1e3, n_gen, t_gen * 1e3);
}

/* a streamed piece of text (or, with finish, the last chunk) */
static int stream_piece(conn *cn, const job *jb, unsigned long id, const char *text, size_t n, const char *finish, int first) {
    jbuf b = {0};
    head_fields(&b, jb, id, 1);
    jb_puts(&b, ",\"choices\":[{\"index\":0,");
    if (jb->chat) {
        jb_puts(&b, "\"delta\":{");
        if (first) jb_puts(&b, "\"role\":\"assistant\",");
        if (!finish || n) { jb_puts(&b, "\"content\":"); jb_str(&b, text, n); }
        jb_puts(&b, "},");
    } else {
        jb_puts(&b, "\"text\":");
        jb_str(&b, text, n);
        jb_puts(&b, ",");
    }
    jb_puts(&b, "\"logprobs\":null,\"finish_reason\":");
    if (finish) jb_printf(&b, "\"%s\"", finish); else jb_puts(&b, "null");
    jb_puts(&b, "}]}");
    int rc = b.oom ? -1 : send_event(cn, b.p, b.n);
    jb_free(&b);
    return rc;
}

/* Serve one checked request; the caller holds the turn. Returns 0 if the connection can go on. */
static int run_job(conn *cn, job *jb, int keep) {
    unsigned long id = atomic_fetch_add(&request_no, 1);
    double t0 = now();
    llm_status st = {0};
    int reused = 0, rc = 0;
    if (jb->max_tokens != 0) {
        if (cfg.no_reuse) rc = llm_eval(ctx, jb->prompt, jb->n_prompt, 0, 0, &st);
        else rc = llm_eval_prompt(ctx, jb->prompt, jb->n_prompt, &reused, &st);
    }
    if (rc) { send_error(cn, 500, 0, NULL, NULL, "evaluating the prompt failed: %s", st.msg); return -1; }
    double t1 = now();
    llm_sampler *s = llm_sampler_new(&jb->sp);
    if (!s) { send_error(cn, 500, 0, NULL, NULL, "out of memory"); return -1; }
    for (int i = 0; i < jb->n_prompt; i++) llm_sampler_accept(s, jb->prompt[i]);
    if (jb->stream) {
        char head[256];
        if (cn->raw_events) keep = 0;                          /* the end of the stream is the end of the connection */
        int hl = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                          "%s%s\r\n", cn->raw_events ? "" : "Transfer-Encoding: chunked\r\n", keep ? "" : "Connection: close\r\n");
        send_all(cn, head, (size_t)hl);
        if (jb->chat) stream_piece(cn, jb, id, "", 0, NULL, 1);
    }
    /* the generation loop of `llm run`, with stop strings: text[0..sent) is final (and streamed) */
    jbuf text = {0};
    int *gen = malloc(((size_t)n_ctx + 2) * sizeof(int));     /* at most n_ctx - n_prompt + 1 tokens */
    int n_gen = 0, prev = jb->n_prompt ? jb->prompt[jb->n_prompt - 1] : -1, stopped = 0;
    size_t sent = 0, final = 0;
    const char *finish = "length";
    char piece[512];
    while (gen && !rc && jb->max_tokens != 0) {
        int next = llm_sample(s, llm_logits(ctx), n_vocab);
        if (llm_is_eog(model, next) || (jb->chat && next == end_token)) { finish = "stop"; break; }
        llm_sampler_accept(s, next);
        gen[n_gen++] = next;
        int pl = llm_token_to_piece(model, prev, next, piece, sizeof piece);
        jb_raw(&text, piece, (size_t)pl);
        prev = next;
        final = llm_stop_scan(text.p, text.n, sent, jb->stop, jb->n_stop, &stopped);
        if (stopped) { finish = "stop"; break; }
        size_t ready = utf8_complete(text.p, final);
        if (jb->stream && ready > sent && stream_piece(cn, jb, id, text.p + sent, ready - sent, NULL, 0)) break;
        if (jb->stream) sent = ready;
        if (n_gen == jb->max_tokens || llm_n_past(ctx) >= n_ctx) break;
        if (conn_gone(cn) || stopping) break;
        rc = llm_eval(ctx, &next, 1, llm_n_past(ctx), 0, &st);
    }
    if (!stopped) final = text.n;
    double t2 = now();
    llm_sampler_free(s);
    if (text.oom || !gen) rc = 1, snprintf(st.msg, sizeof st.msg, "out of memory");
    /* a whole chat answer in valid text: remembered with its tokens before the client has all of it
     * (and can send the next turn) */
    if (jb->chat && !stopped && !rc && n_gen && utf8_valid(text.p, text.n)) {
        char *t = malloc(text.n + 1);
        int *g = malloc((size_t)n_gen * sizeof(int));
        if (t && g) {
            memcpy(t, text.p, text.n);
            memcpy(g, gen, (size_t)n_gen * sizeof(int));
            pthread_mutex_lock(&answers_lock);
            int k = answers_next;
            answers_next = (k + 1) % N_ANSWERS;
            free(answers[k].text);
            free(answers[k].toks);
            answers[k].text = t;
            answers[k].len = text.n;
            answers[k].toks = g;
            answers[k].n = n_gen;
            t = NULL;
            g = NULL;
            pthread_mutex_unlock(&answers_lock);
        }
        free(t);
        free(g);
    }
    if (cn->gone || conn_gone(cn)) {
        logf_("%s: client gone after %d generated tokens; generation stopped", cn->peer, n_gen);
    } else if (rc && !jb->stream) {
        send_error(cn, 500, 0, NULL, NULL, "generation failed: %s", st.msg);
    } else if (jb->stream) {
        if (final > sent || !rc) stream_piece(cn, jb, id, text.p ? text.p + sent : "", final - sent, finish, 0);
        if (jb->include_usage) {
            jbuf b = {0};
            head_fields(&b, jb, id, 1);
            jb_puts(&b, ",\"choices\":[]");
            usage_fields(&b, jb, n_gen, reused, t1 - t0, t2 - t1);
            jb_puts(&b, "}");
            if (!b.oom) send_event(cn, b.p, b.n);
            jb_free(&b);
        }
        send_event(cn, "[DONE]", 6);
        if (!cn->raw_events) send_all(cn, "0\r\n\r\n", 5);
    } else {
        jbuf b = {0};
        head_fields(&b, jb, id, 0);
        jb_puts(&b, ",\"choices\":[{\"index\":0,");
        if (jb->chat) { jb_puts(&b, "\"message\":{\"role\":\"assistant\",\"content\":"); jb_str(&b, text.p ? text.p : "", final); jb_puts(&b, "},"); }
        else { jb_puts(&b, "\"text\":"); jb_str(&b, text.p ? text.p : "", final); jb_puts(&b, ","); }
        jb_printf(&b, "\"logprobs\":null,\"finish_reason\":\"%s\"}]", finish);
        usage_fields(&b, jb, n_gen, reused, t1 - t0, t2 - t1);
        jb_puts(&b, "}\n");
        if (b.oom) send_error(cn, 500, 0, NULL, NULL, "out of memory");
        else send_response(cn, 200, NULL, b.p, b.n, keep);
        jb_free(&b);
    }
    logf_("%s: %s %d: prompt %d tokens (%d from the cache), %d generated (%s), first token after %.0f ms, %.0f ms in all",
          cn->peer, jb->chat ? "chat" : "completion", cn->gone ? 499 : rc ? 500 : 200, jb->n_prompt, reused, n_gen, finish,
          (t1 - t0) * 1e3, (now() - t0) * 1e3);
    jb_free(&text);
    free(gen);
    return cn->gone || rc || (jb->stream && cn->raw_events) ? -1 : 0;
}

/* ---- requests ---------------------------------------------------------------------------- */

static int authorized(const http_request *req) {
    if (!cfg.api_key) return 1;
    size_t kl = strlen(cfg.api_key);
    if (!req->auth || req->auth_len != kl + 7 || strncasecmp(req->auth, "Bearer ", 7)) return 0;
    unsigned char diff = 0;                                    /* the same time whatever matches */
    for (size_t i = 0; i < kl; i++) diff |= (unsigned char)(req->auth[7 + i] ^ cfg.api_key[i]);
    return diff == 0;
}

/* Answer one request; returns 0 if the connection may carry another. */
static int handle(conn *cn, const http_request *req, const char *body, size_t body_len) {
    int keep = req->keep_alive;
    int get = req->method_len == 3 && !memcmp(req->method, "GET", 3), post = req->method_len == 4 && !memcmp(req->method, "POST", 4);
    int completions = http_path_is(req, "/v1/completions"), chat = http_path_is(req, "/v1/chat/completions");
    if (http_path_is(req, "/health")) {
        if (!get) { send_error(cn, 405, keep, NULL, NULL, "use GET for /health"); return keep ? 0 : -1; }
        const char *ok = "{\"status\":\"ok\"}\n";
        send_response(cn, 200, NULL, ok, strlen(ok), keep);
        return keep && !cn->gone ? 0 : -1;
    }
    if (!authorized(req)) { send_error(cn, 401, keep, NULL, "invalid_api_key", "invalid or missing API key (Authorization: Bearer KEY)"); return keep ? 0 : -1; }
    if (http_path_is(req, "/v1/models")) {
        if (!get) { send_error(cn, 405, keep, NULL, NULL, "use GET for /v1/models"); return keep ? 0 : -1; }
        jbuf b = {0};
        jb_puts(&b, "{\"object\":\"list\",\"data\":[{\"id\":");
        jb_str(&b, model_id, strlen(model_id));
        jb_printf(&b, ",\"object\":\"model\",\"created\":%lld,\"owned_by\":\"llm.c\",\"meta\":{\"n_ctx\":%d,\"n_vocab\":%d,"
                  "\"chat_template\":\"%s\"}}]}\n", started, n_ctx, n_vocab, llm_chat_template_name(tpl));
        send_response(cn, 200, NULL, b.p, b.n, keep);
        jb_free(&b);
        return keep && !cn->gone ? 0 : -1;
    }
    if (!completions && !chat) {
        send_error(cn, 404, keep, NULL, "not_found", "no endpoint %.*s (GET /health, GET /v1/models, POST /v1/completions, POST /v1/chat/completions)",
                   (int)(req->target_len > 100 ? 100 : req->target_len), req->target);
        return keep ? 0 : -1;
    }
    if (!post) { send_error(cn, 405, keep, NULL, NULL, "use POST for %s", chat ? "/v1/chat/completions" : "/v1/completions"); return keep ? 0 : -1; }
    char err[200];
    json *j = json_parse(body, body_len, JSON_DEPTH, err, sizeof err);
    if (!j) { send_error(cn, 400, keep, NULL, NULL, "%s", err); return keep ? 0 : -1; }
    if (j->type != JSON_OBJECT) {
        send_error(cn, 400, keep, NULL, NULL, "the request body must be a JSON object, not %s", json_type_name(j->type));
        json_free(j);
        return keep ? 0 : -1;
    }
    job jb = {0};
    verr e = {{0}, NULL};
    int rc = chat ? parse_chat(j, &jb, &e) : parse_completion(j, &jb, &e), go_on = keep;
    if (!rc && jb.n_prompt == 0) rc = field_err(&e, chat ? "messages" : "prompt", "the prompt is empty");
    if (rc) {
        send_error(cn, 400, keep, e.param, NULL, "%s", e.msg);
    } else if (jb.n_prompt > n_ctx) {
        send_error(cn, 400, keep, chat ? "messages" : "prompt", "context_length_exceeded",
                   "the prompt is %d tokens, more than the context of %d holds", jb.n_prompt, n_ctx);
    } else {
        unsigned long ticket;
        if (queue_enter(&ticket)) {
            send_error(cn, 503, keep, NULL, NULL, "busy: the queue is full (%d waiting, --max-queue); try again later", cfg.max_queue);
        } else {
            queue_wait(ticket);
            if (conn_gone(cn)) logf_("%s: client gone before its turn", cn->peer), go_on = 0;
            else if (run_job(cn, &jb, keep)) go_on = 0;
            queue_leave();
        }
    }
    free(jb.prompt);
    json_free(j);
    return go_on && !cn->gone ? 0 : -1;
}

static void *conn_main(void *arg) {
    conn *cn = arg;
    int one = 1;
    setsockopt(cn->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval tv = {cfg.timeout, 0};
    setsockopt(cn->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);   /* a client that stops reading is gone */
    size_t limit = MAX_HEAD + (size_t)cfg.max_body;
    while (!stopping && !cn->gone) {
        /* the head: a deadline from the first byte (an idle kept-alive connection waits as long) */
        double deadline = now() + cfg.timeout;
        http_request req;
        const char *why;
        int hl, r = 1;
        while ((hl = http_parse_head(cn->buf, cn->len, MAX_HEAD, &req, &why)) == 0 && (r = conn_fill(cn, deadline, limit)) > 0) {}
        if (hl == 0) {
            if (r < 0 && cn->len) send_error(cn, 408, 0, NULL, NULL, "the request head did not arrive within %d s", cfg.timeout);
            else if (r == 0 && cn->len) logf_("%s: closed in the middle of a request head", cn->peer);
            break;
        }
        if (hl < 0) { send_error(cn, -hl, 0, NULL, NULL, "%s", why); break; }
        int has_body = req.content_length > 0;
        int post = req.method_len == 4 && !memcmp(req.method, "POST", 4);
        if (post && req.content_length < 0) { send_error(cn, 411, 0, NULL, NULL, "a POST needs a Content-Length"); break; }
        if (req.content_length > cfg.max_body) {
            send_error(cn, 413, 0, NULL, NULL, "the body of %lld bytes is over the limit of %ld (--max-body)", req.content_length, cfg.max_body);
            break;
        }
        size_t need = (size_t)hl + (has_body ? (size_t)req.content_length : 0);
        if (req.expect_continue && cn->len < need) send_all(cn, "HTTP/1.1 100 Continue\r\n\r\n", 25);
        while (cn->len < need && (r = conn_fill(cn, deadline, limit)) > 0) {}
        if (cn->len < need) {
            if (r < 0) send_error(cn, 408, 0, NULL, NULL, "the request body did not arrive within %d s", cfg.timeout);
            else logf_("%s: closed after %zu of %lld body bytes", cn->peer, cn->len - (size_t)hl, req.content_length);
            break;
        }
        http_parse_head(cn->buf, cn->len, MAX_HEAD, &req, &why);   /* reading the body may have moved the buffer */
        cn->raw_events = req.minor == 0;
        int go_on = handle(cn, &req, cn->buf + hl, need - (size_t)hl) == 0;
        memmove(cn->buf, cn->buf + need, cn->len - need);
        cn->len -= need;
        if (!go_on) break;
    }
    close(cn->fd);
    free(cn->buf);
    free(cn);
    atomic_fetch_sub(&n_conns, 1);
    return NULL;
}

/* ---- main -------------------------------------------------------------------------------- */

static void on_signal(int sig) { (void)sig; stopping = 1; }

static const char *usage_text =
    "usage: llm-server -m MODEL [options]\n"
    "An OpenAI-compatible HTTP server: GET /health, GET /v1/models, POST /v1/completions,\n"
    "POST /v1/chat/completions (\"stream\": true for server-sent events).\n"
    "  -m, --model FILE       GGUF model or llama2.c checkpoint (.bin, with -z)\n"
    "  -z, --tokenizer FILE   llama2.c tokenizer.bin\n"
    "  -c, --ctx-size N       context length (default: the model's, at most 4096)\n"
    "  -t, --threads N        threads (default: online cores)\n"
    "      --cpus LIST        pin thread i to the i-th CPU of LIST\n"
    "      --host ADDR        address to listen on (default 127.0.0.1: this machine only;\n"
    "                         0.0.0.0 for every interface)\n"
    "      --port N           TCP port (default 8080; 0: any free port, printed)\n"
    "      --api-key KEY      require 'Authorization: Bearer KEY' (also from LLM_API_KEY)\n"
    "      --alias NAME       the model's id in responses (default: the file name)\n"
    "      --chat-template T  llama2, llama3, deepseek-r1 or chatml (default: detected as llm chat does)\n"
    "      --timeout S        seconds a client has to send a request, and to take each write (default 30)\n"
    "      --max-queue N      requests that may wait for the model (default 16; more get 503)\n"
    "      --max-conns N      open connections (default 64; more get 503)\n"
    "      --max-body BYTES   largest request body (default 1048576)\n"
    "      --no-cache-reuse   evaluate every prompt whole (for measuring what the reuse saves)\n";

static void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die_usage(const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "llm-server: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see 'llm-server --help')\n");
    exit(2);
}

static long int_arg(const char *flag, const char *v, long lo, long hi) {
    char *end;
    errno = 0;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || errno || end == v || *end || x < lo || x > hi) die_usage("%s needs an integer in %ld..%ld, got '%s'", flag, lo, hi, v ? v : "");
    return x;
}

static void parse_args(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { fputs(usage_text, stdout); exit(0); }
        if (!strcmp(a, "--no-cache-reuse")) { cfg.no_reuse = 1; continue; }
        if (a[0] != '-') die_usage("unexpected argument '%s'", a);
        if (!v) die_usage("option %s needs a value", a);
        i++;
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) cfg.model = v;
        else if (!strcmp(a, "-z") || !strcmp(a, "--tokenizer")) cfg.tokenizer = v;
        else if (!strcmp(a, "-c") || !strcmp(a, "--ctx-size")) cfg.n_ctx = (int)int_arg(a, v, 1, 1 << 24);
        else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) cfg.n_threads = (int)int_arg(a, v, 1, 1024);
        else if (!strcmp(a, "--cpus")) cfg.cpus = v;
        else if (!strcmp(a, "--host")) cfg.host = v;
        else if (!strcmp(a, "--port")) cfg.port = (int)int_arg(a, v, 0, 65535);
        else if (!strcmp(a, "--api-key")) cfg.api_key = v;
        else if (!strcmp(a, "--alias")) cfg.alias = v;
        else if (!strcmp(a, "--chat-template")) cfg.chat_template = v;
        else if (!strcmp(a, "--timeout")) cfg.timeout = (int)int_arg(a, v, 1, 86400);
        else if (!strcmp(a, "--max-queue")) cfg.max_queue = (int)int_arg(a, v, 0, 100000);
        else if (!strcmp(a, "--max-conns")) cfg.max_conns = (int)int_arg(a, v, 1, 100000);
        else if (!strcmp(a, "--max-body")) cfg.max_body = int_arg(a, v, 1, 1L << 30);
        else die_usage("unknown option '%s'", a);
    }
    if (!cfg.model) die_usage("no model given (-m MODEL)");
    if (cfg.api_key && !*cfg.api_key) die_usage("--api-key is empty");
    if (!cfg.api_key && getenv("LLM_API_KEY") && *getenv("LLM_API_KEY")) cfg.api_key = getenv("LLM_API_KEY");
    if (cfg.chat_template && llm_chat_template_by_name(cfg.chat_template) == LLM_CHAT_NONE)
        die_usage("unknown chat template '%s' (llama2, llama3, deepseek-r1, chatml)", cfg.chat_template);
}

static int listen_on(const char *host, int port, char *shown, size_t cap) {
    struct addrinfo hints = {0}, *ai;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    int rc = getaddrinfo(host, ps, &hints, &ai);
    if (rc) { fprintf(stderr, "llm-server: %s: %s\n", host, gai_strerror(rc)); return -1; }
    int fd = -1, err = 0;
    for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) { err = errno; continue; }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, a->ai_addr, a->ai_addrlen) || listen(fd, 128)) { err = errno; close(fd); fd = -1; }
    }
    freeaddrinfo(ai);
    if (fd < 0) { fprintf(stderr, "llm-server: cannot listen on %s port %d: %s\n", host, port, strerror(err)); return -1; }
    struct sockaddr_storage sa;
    socklen_t sl = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    char addr[INET6_ADDRSTRLEN] = "?";
    int p = 0;
    if (sa.ss_family == AF_INET) { inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, addr, sizeof addr); p = ntohs(((struct sockaddr_in *)&sa)->sin_port); }
    else { inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&sa)->sin6_addr, addr, sizeof addr); p = ntohs(((struct sockaddr_in6 *)&sa)->sin6_port); }
    snprintf(shown, cap, sa.ss_family == AF_INET6 ? "http://[%s]:%d" : "http://%s:%d", addr, p);
    return fd;
}

int main(int argc, char **argv) {
    parse_args(argc, argv);
    llm_status st = {0};
    llm_model_params mp = llm_model_default_params();
    mp.path = cfg.model;
    mp.tokenizer_path = cfg.tokenizer;
    mp.n_threads = cfg.n_threads;
    mp.cpus = cfg.cpus;
    if (!(model = llm_model_open(&mp, &st))) { fprintf(stderr, "llm-server: %s\n", st.msg); return 1; }
    n_ctx = cfg.n_ctx ? cfg.n_ctx : llm_n_ctx_train(model) < 4096 ? llm_n_ctx_train(model) : 4096;
    if (!(ctx = llm_ctx_new(model, n_ctx, &st))) { fprintf(stderr, "llm-server: %s\n", st.msg); llm_model_free(model); return 1; }
    n_vocab = llm_n_vocab(model);
    tpl = cfg.chat_template ? llm_chat_template_by_name(cfg.chat_template) : llm_chat_template(model);
    end_token = llm_chat_end_token(model, tpl);
    const char *base = strrchr(cfg.model, '/') ? strrchr(cfg.model, '/') + 1 : cfg.model;
    snprintf(model_id, sizeof model_id, "%s", cfg.alias ? cfg.alias : base);
    started = (long long)time(NULL);

    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;                                  /* no SA_RESTART: poll returns */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    char shown[128];
    int lfd = listen_on(cfg.host, cfg.port, shown, sizeof shown);
    if (lfd < 0) { llm_ctx_free(ctx); llm_model_free(model); return 1; }
    fprintf(stderr, "llm-server: listening on %s (model %s, context %d, chat template %s%s%s)\n", shown, model_id, n_ctx,
            llm_chat_template_name(tpl), cfg.api_key ? ", API key required" : "", cfg.no_reuse ? ", no cache reuse" : "");
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 << 10);
    while (!stopping) {
        struct pollfd pf = {lfd, POLLIN, 0};
        if (poll(&pf, 1, 500) <= 0) continue;
        struct sockaddr_storage peer;
        socklen_t pl = sizeof peer;
        int fd = accept4(lfd, (struct sockaddr *)&peer, &pl, SOCK_CLOEXEC);
        if (fd < 0) continue;
        conn *cn = calloc(1, sizeof *cn);
        if (!cn) { close(fd); continue; }
        cn->fd = fd;
        char a[INET6_ADDRSTRLEN] = "?";
        if (peer.ss_family == AF_INET) inet_ntop(AF_INET, &((struct sockaddr_in *)&peer)->sin_addr, a, sizeof a);
        else if (peer.ss_family == AF_INET6) inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&peer)->sin6_addr, a, sizeof a);
        snprintf(cn->peer, sizeof cn->peer, "%s:%d", a, ntohs(peer.ss_family == AF_INET ? ((struct sockaddr_in *)&peer)->sin_port
                                                               : ((struct sockaddr_in6 *)&peer)->sin6_port));
        pthread_t th;
        if (atomic_fetch_add(&n_conns, 1) >= cfg.max_conns) {
            atomic_fetch_sub(&n_conns, 1);
            send_error(cn, 503, 0, NULL, NULL, "too many connections (%d, --max-conns)", cfg.max_conns);
            close(fd);
            free(cn);
        } else if (pthread_create(&th, &attr, conn_main, cn)) {
            atomic_fetch_sub(&n_conns, 1);
            send_error(cn, 503, 0, NULL, NULL, "cannot start a thread for the connection");
            close(fd);
            free(cn);
        }
    }
    close(lfd);
    /* connections see `stopping` within their poll interval; a generation ends at its next token */
    for (int i = 0; i < 100 && atomic_load(&n_conns) > 0; i++) usleep(50000);
    fprintf(stderr, "llm-server: stopped\n");
    if (atomic_load(&n_conns) > 0) return 0;                   /* still busy: leave the model to the exit */
    for (int k = 0; k < N_ANSWERS; k++) { free(answers[k].text); free(answers[k].toks); }
    llm_ctx_free(ctx);
    llm_model_free(model);
    return 0;
}
