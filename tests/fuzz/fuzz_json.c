/* fuzz_json.c - libFuzzer target: the JSON reader and writer of llm-server (tools/json.c).
 *
 * Input: a JSON text (or anything). A text that parses must write back (jb_value) as JSON that
 * parses to the same tree, and that second writing must equal the first byte for byte; a text
 * that does not parse must say why. utf8_complete must keep a prefix that is whole UTF-8 when the
 * input is valid UTF-8 with its last sequence cut.
 */
#include "../../tools/json.c"

#include <stdint.h>

#define CHECK(c, ...) do { if (!(c)) { fprintf(stderr, "fuzz check failed: " __VA_ARGS__); fprintf(stderr, "\n"); abort(); } } while (0)

static int same(const json *a, const json *b) {
    for (; a && b; a = a->next, b = b->next) {
        if (a->type != b->type || a->n != b->n || a->key_len != b->key_len || (a->key_len && memcmp(a->key, b->key, a->key_len)))
            return 0;
        if (a->type == JSON_BOOL && a->boolean != b->boolean) return 0;
        if (a->type == JSON_NUMBER && a->number != b->number && !(isinf(a->number) && b->type == JSON_NULL)) return 0;
        if (a->type == JSON_STRING && (a->len != b->len || memcmp(a->str, b->str, a->len))) return 0;
        if (!same(a->child, b->child)) return 0;
    }
    return !a && !b;
}

static int has_inf(const json *v) {
    for (; v; v = v->next) if ((v->type == JSON_NUMBER && !isfinite(v->number)) || has_inf(v->child)) return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[200];
    json *v = json_parse((const char *)data, size, 64, err, sizeof err);
    if (!v) {
        CHECK(!strncmp(err, "invalid JSON at byte ", 21), "no reason given: '%s'", err);
    } else {
        jbuf a = {0}, b = {0};
        jb_value(&a, v);
        CHECK(!a.oom, "out of memory");
        json *w = json_parse(a.p, a.n, 64, err, sizeof err);
        CHECK(w, "written text does not parse: %s: %.200s", err, a.p);
        if (!has_inf(v)) CHECK(same(v, w), "written text parses to another tree: %.200s", a.p);
        jb_value(&b, w);
        CHECK(a.n == b.n && !memcmp(a.p, b.p, a.n), "writing is not stable: %.200s / %.200s", a.p, b.p);
        json_get(v, "messages");
        jb_free(&a); jb_free(&b);
        json_free(w);
        json_free(v);
    }
    /* a string of the input's bytes written as JSON is valid UTF-8 and reads back */
    jbuf s = {0};
    jb_str(&s, (const char *)data, size);
    json *t = json_parse(s.p, s.n, 1, err, sizeof err);
    CHECK(t && t->type == JSON_STRING, "jb_str output does not parse: %s", err);
    size_t k = utf8_complete((const char *)data, size);
    CHECK(k <= size && size - k <= 3, "utf8_complete kept %zu of %zu", k, size);
    json_free(t);
    jb_free(&s);
    return 0;
}
