/* json.h - a small JSON reader and writer (RFC 8259) for llm-server.
 *
 * The reader builds a tree of malloc'd nodes from untrusted text: strict grammar, strings
 * checked as UTF-8 and decoded (escapes, surrogate pairs), nesting depth bounded, every error a
 * one-line message with its byte offset. The writer appends to a growing buffer and escapes
 * strings, replacing invalid UTF-8 with U+FFFD so that its output is always valid JSON.
 * libc only; compiled on its own by the fuzz target tests/fuzz/fuzz_json.c.
 */
#ifndef JSON_H
#define JSON_H

#include <stddef.h>

typedef enum { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } json_type;

typedef struct json json;
struct json {
    json_type type;
    int boolean;           /* JSON_BOOL */
    double number;         /* JSON_NUMBER */
    char *str;             /* JSON_STRING: decoded UTF-8, NUL-terminated; len bytes (it may hold NULs) */
    size_t len;
    char *key;             /* a member of an object: its name (decoded, NUL-terminated), key_len bytes */
    size_t key_len;
    json *child;           /* JSON_ARRAY, JSON_OBJECT: the first element or member, in order */
    json *next;            /* the next element or member of the parent */
    int n;                 /* JSON_ARRAY, JSON_OBJECT: number of children */
};

/* Parse a whole text (one value, white space around it). NULL on error, with a message in err. */
json *json_parse(const char *text, size_t len, int max_depth, char *err, size_t err_cap);
void json_free(json *v);
/* An object's member by name (the first one if repeated), NULL if absent or v is no object. */
const json *json_get(const json *v, const char *key);
const char *json_type_name(json_type t);

/* Output buffer; on allocation failure oom is set and later appends do nothing. */
typedef struct { char *p; size_t n, cap; int oom; } jbuf;
void jb_raw(jbuf *b, const char *s, size_t n);
void jb_puts(jbuf *b, const char *s);
void jb_printf(jbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void jb_str(jbuf *b, const char *s, size_t n);     /* s as a JSON string literal */
void jb_num(jbuf *b, double x);                     /* shortest text that reads back as x; null if not finite */
void jb_value(jbuf *b, const json *v);              /* a parsed value written back */
void jb_free(jbuf *b);

/* 1 if s[0..n) is valid UTF-8 */
int utf8_valid(const char *s, size_t n);
/* The length of the longest prefix of s[0..n) that does not end inside a UTF-8 sequence that
 * may still be completed (what can be sent of a text that is still growing). */
size_t utf8_complete(const char *s, size_t n);

#endif
