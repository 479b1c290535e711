/* json.c - see json.h. */
#include "json.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- UTF-8 ------------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s[0..n): 1..4, 0 if invalid (overlong forms,
 * surrogates, beyond U+10FFFF), -1 if it is a valid beginning cut short by the end. */
static int utf8_seq(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    if (c < 0x80) return 1;
    int len = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (!len) return 0;
    for (int i = 1; i < len; i++) {
        if ((size_t)i >= n) return -1;
        unsigned lo = 0x80, hi = 0xBF;                          /* the second byte's range excludes the bad forms */
        if (i == 1 && c == 0xE0) lo = 0xA0;                     /* overlong */
        if (i == 1 && c == 0xED) hi = 0x9F;                     /* surrogates */
        if (i == 1 && c == 0xF0) lo = 0x90;                     /* overlong */
        if (i == 1 && c == 0xF4) hi = 0x8F;                     /* > U+10FFFF */
        if (s[i] < lo || s[i] > hi) return 0;
    }
    return len;
}

int utf8_valid(const char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        int l = utf8_seq((const unsigned char *)s + i, n - i);
        if (l <= 0) return 0;
        i += (size_t)l;
    }
    return 1;
}

size_t utf8_complete(const char *s, size_t n) {
    size_t i = n > 3 ? n - 3 : 0;                               /* a cut sequence starts in the last 3 bytes */
    for (; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80 && utf8_seq((const unsigned char *)s + i, n - i) == -1) return i;
    return n;
}

static void put_utf8(char *out, size_t *n, unsigned cp) {
    if (cp < 0x80) out[(*n)++] = (char)cp;
    else if (cp < 0x800) { out[(*n)++] = (char)(0xC0 | cp >> 6); out[(*n)++] = (char)(0x80 | (cp & 63)); }
    else if (cp < 0x10000) {
        out[(*n)++] = (char)(0xE0 | cp >> 12); out[(*n)++] = (char)(0x80 | (cp >> 6 & 63)); out[(*n)++] = (char)(0x80 | (cp & 63));
    } else {
        out[(*n)++] = (char)(0xF0 | cp >> 18); out[(*n)++] = (char)(0x80 | (cp >> 12 & 63));
        out[(*n)++] = (char)(0x80 | (cp >> 6 & 63)); out[(*n)++] = (char)(0x80 | (cp & 63));
    }
}

/* ---- reader ------------------------------------------------------------------------------ */

typedef struct {
    const char *s;
    size_t n, i;
    int depth, max_depth;
    char *err;
    size_t err_cap;
    int failed;
} reader;

static json *bad(reader *r, const char *what) {
    if (!r->failed) snprintf(r->err, r->err_cap, "invalid JSON at byte %zu: %s", r->i, what);
    r->failed = 1;
    return NULL;
}

static void skip_ws(reader *r) {
    while (r->i < r->n && (r->s[r->i] == ' ' || r->s[r->i] == '\t' || r->s[r->i] == '\n' || r->s[r->i] == '\r')) r->i++;
}

static int hex4(reader *r, unsigned *v) {
    if (r->n - r->i < 4) return 0;
    *v = 0;
    for (int k = 0; k < 4; k++) {
        char c = r->s[r->i + k];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return 0;
        *v = *v << 4 | (unsigned)d;
    }
    r->i += 4;
    return 1;
}

/* a string literal at r->i (the opening quote) -> malloc'd decoded bytes */
static char *read_string(reader *r, size_t *len) {
    r->i++;
    size_t start = r->i, cap = 0;
    while (r->i < r->n && r->s[r->i] != '"') r->i += r->s[r->i] == '\\' && r->i + 1 < r->n ? 2 : 1;
    if (r->i >= r->n) { bad(r, "unterminated string"); return NULL; }
    cap = r->i - start;                                         /* decoding never makes it longer */
    size_t end = r->i;
    char *out = malloc(cap + 1);
    if (!out) { bad(r, "out of memory"); return NULL; }
    size_t n = 0;
    for (r->i = start; r->i < end;) {
        unsigned char c = (unsigned char)r->s[r->i];
        if (c < 0x20) { free(out); bad(r, "control character in a string"); return NULL; }
        if (c != '\\') {
            int l = utf8_seq((const unsigned char *)r->s + r->i, end - r->i);
            if (l <= 0) { free(out); bad(r, "invalid UTF-8 in a string"); return NULL; }
            memcpy(out + n, r->s + r->i, (size_t)l);
            n += (size_t)l;
            r->i += (size_t)l;
            continue;
        }
        char e = r->s[++r->i];
        r->i++;
        const char *simple = strchr("\"\\/bfnrt", e);
        if (e && simple) { out[n++] = "\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"]; continue; }
        unsigned cp, lo;
        if (e != 'u' || !hex4(r, &cp)) { free(out); bad(r, "bad escape in a string"); return NULL; }
        if (cp >= 0xD800 && cp <= 0xDBFF) {                     /* a high surrogate needs its low one */
            if (end - r->i < 6 || r->s[r->i] != '\\' || r->s[r->i + 1] != 'u') { free(out); bad(r, "lone surrogate"); return NULL; }
            r->i += 2;
            if (!hex4(r, &lo) || lo < 0xDC00 || lo > 0xDFFF) { free(out); bad(r, "lone surrogate"); return NULL; }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) { free(out); bad(r, "lone surrogate"); return NULL; }
        put_utf8(out, &n, cp);
    }
    r->i = end + 1;
    out[n] = 0;
    *len = n;
    return out;
}

static json *read_value(reader *r);

static json *node(reader *r, json_type t) {
    json *v = calloc(1, sizeof *v);
    if (!v) return bad(r, "out of memory");
    v->type = t;
    return v;
}

static json *read_number(reader *r) {
    size_t start = r->i;
    if (r->s[r->i] == '-') r->i++;
    if (r->i < r->n && r->s[r->i] == '0') r->i++;
    else if (r->i < r->n && r->s[r->i] >= '1' && r->s[r->i] <= '9') while (r->i < r->n && r->s[r->i] >= '0' && r->s[r->i] <= '9') r->i++;
    else return bad(r, "bad number");
    if (r->i < r->n && r->s[r->i] == '.') {
        r->i++;
        if (r->i >= r->n || r->s[r->i] < '0' || r->s[r->i] > '9') return bad(r, "bad number");
        while (r->i < r->n && r->s[r->i] >= '0' && r->s[r->i] <= '9') r->i++;
    }
    if (r->i < r->n && (r->s[r->i] == 'e' || r->s[r->i] == 'E')) {
        r->i++;
        if (r->i < r->n && (r->s[r->i] == '+' || r->s[r->i] == '-')) r->i++;
        if (r->i >= r->n || r->s[r->i] < '0' || r->s[r->i] > '9') return bad(r, "bad number");
        while (r->i < r->n && r->s[r->i] >= '0' && r->s[r->i] <= '9') r->i++;
    }
    char buf[512];
    if (r->i - start >= sizeof buf) return bad(r, "number too long");
    memcpy(buf, r->s + start, r->i - start);
    buf[r->i - start] = 0;
    json *v = node(r, JSON_NUMBER);
    if (v) v->number = strtod(buf, NULL);                       /* out of range: +-inf or 0, as strtod says */
    return v;
}

static json *read_container(reader *r, int object) {
    if (++r->depth > r->max_depth) return bad(r, "nested too deeply");
    json *v = node(r, object ? JSON_OBJECT : JSON_ARRAY), **tail = v ? &v->child : NULL;
    if (!v) return NULL;
    r->i++;
    skip_ws(r);
    if (r->i < r->n && r->s[r->i] == (object ? '}' : ']')) { r->i++; r->depth--; return v; }
    for (;;) {
        char *key = NULL;
        size_t key_len = 0;
        if (object) {
            skip_ws(r);
            if (r->i >= r->n || r->s[r->i] != '"') { json_free(v); return bad(r, "expected a member name"); }
            if (!(key = read_string(r, &key_len))) { json_free(v); return NULL; }
            skip_ws(r);
            if (r->i >= r->n || r->s[r->i] != ':') { free(key); json_free(v); return bad(r, "expected ':'"); }
            r->i++;
        }
        json *e = read_value(r);
        if (!e) { free(key); json_free(v); return NULL; }
        e->key = key;
        e->key_len = key_len;
        *tail = e;
        tail = &e->next;
        v->n++;
        skip_ws(r);
        if (r->i < r->n && r->s[r->i] == ',') { r->i++; continue; }
        if (r->i < r->n && r->s[r->i] == (object ? '}' : ']')) { r->i++; r->depth--; return v; }
        json_free(v);
        return bad(r, object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static json *read_value(reader *r) {
    skip_ws(r);
    if (r->i >= r->n) return bad(r, "unexpected end");
    char c = r->s[r->i];
    if (c == '{' || c == '[') return read_container(r, c == '{');
    if (c == '"') {
        size_t len;
        char *s = read_string(r, &len);
        json *v = s ? node(r, JSON_STRING) : NULL;
        if (!v) { free(s); return NULL; }
        v->str = s;
        v->len = len;
        return v;
    }
    if (c == '-' || (c >= '0' && c <= '9')) return read_number(r);
    static const char *words[] = {"null", "false", "true"};
    for (int k = 0; k < 3; k++) {
        size_t l = strlen(words[k]);
        if (r->n - r->i >= l && !memcmp(r->s + r->i, words[k], l)) {
            r->i += l;
            json *v = node(r, k ? JSON_BOOL : JSON_NULL);
            if (v) v->boolean = k == 2;
            return v;
        }
    }
    return bad(r, "unexpected character");
}

json *json_parse(const char *text, size_t len, int max_depth, char *err, size_t err_cap) {
    reader r = {text, len, 0, 0, max_depth, err, err_cap, 0};
    if (err_cap) err[0] = 0;
    json *v = read_value(&r);
    if (!v) return NULL;
    skip_ws(&r);
    if (r.i != r.n) { json_free(v); return bad(&r, "text after the value"); }
    return v;
}

void json_free(json *v) {
    while (v) {
        json *next = v->next;
        json_free(v->child);
        free(v->str);
        free(v->key);
        free(v);
        v = next;
    }
}

const json *json_get(const json *v, const char *key) {
    if (!v || v->type != JSON_OBJECT) return NULL;
    size_t kl = strlen(key);
    for (const json *e = v->child; e; e = e->next)
        if (e->key_len == kl && !memcmp(e->key, key, kl)) return e;
    return NULL;
}

const char *json_type_name(json_type t) {
    static const char *names[] = {"null", "a boolean", "a number", "a string", "an array", "an object"};
    return (unsigned)t < 6 ? names[t] : "?";
}

/* ---- writer ------------------------------------------------------------------------------ */

void jb_raw(jbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) { b->oom = 1; return; }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

void jb_puts(jbuf *b, const char *s) { jb_raw(b, s, strlen(s)); }

void jb_printf(jbuf *b, const char *fmt, ...) {
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof small) { jb_raw(b, small, (size_t)n); return; }
    char *big = malloc((size_t)n + 1);
    if (!big) { b->oom = 1; return; }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    jb_raw(b, big, (size_t)n);
    free(big);
}

void jb_str(jbuf *b, const char *s, size_t n) {
    jb_raw(b, "\"", 1);
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t run = i;                                         /* plain bytes go out in one piece */
        while (run < n && (unsigned char)s[run] >= 0x20 && (unsigned char)s[run] < 0x80 && s[run] != '"' && s[run] != '\\') run++;
        if (run > i) { jb_raw(b, s + i, run - i); i = run; continue; }
        if (c == '"' || c == '\\') { jb_raw(b, c == '"' ? "\\\"" : "\\\\", 2); i++; continue; }
        if (c < 0x20) {
            const char *e = c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;
            if (e) jb_raw(b, e, 2);
            else jb_printf(b, "\\u%04x", c);
            i++;
            continue;
        }
        int l = utf8_seq((const unsigned char *)s + i, n - i);
        if (l > 0) { jb_raw(b, s + i, (size_t)l); i += (size_t)l; }
        else { jb_raw(b, "\xef\xbf\xbd", 3); i++; }             /* U+FFFD for each invalid byte */
    }
    jb_raw(b, "\"", 1);
}

void jb_num(jbuf *b, double x) {
    if (!isfinite(x)) { jb_puts(b, "null"); return; }
    if (fabs(x) < 1e15 && x == (double)(long long)x) { jb_printf(b, "%lld", (long long)x); return; }
    char buf[40];
    for (int prec = 15; prec <= 17; prec++) {                   /* the shortest of these that reads back */
        snprintf(buf, sizeof buf, "%.*g", prec, x);
        if (strtod(buf, NULL) == x) break;
    }
    jb_puts(b, buf);
}

void jb_value(jbuf *b, const json *v) {
    switch (v->type) {
    case JSON_NULL: jb_puts(b, "null"); break;
    case JSON_BOOL: jb_puts(b, v->boolean ? "true" : "false"); break;
    case JSON_NUMBER: jb_num(b, v->number); break;
    case JSON_STRING: jb_str(b, v->str, v->len); break;
    case JSON_ARRAY:
    case JSON_OBJECT:
        jb_raw(b, v->type == JSON_OBJECT ? "{" : "[", 1);
        for (const json *e = v->child; e; e = e->next) {
            if (e != v->child) jb_raw(b, ",", 1);
            if (v->type == JSON_OBJECT) { jb_str(b, e->key, e->key_len); jb_raw(b, ":", 1); }
            jb_value(b, e);
        }
        jb_raw(b, v->type == JSON_OBJECT ? "}" : "]", 1);
        break;
    }
}

void jb_free(jbuf *b) {
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}
