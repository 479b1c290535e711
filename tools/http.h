/* http.h - the head of an HTTP/1.1 request (RFC 9112), parsed from a buffer for llm-server.
 *
 * Strict and bounded: request line "METHOD SP origin-form SP HTTP/1.x", header lines
 * "name: value" (CRLF or LF line ends), a blank line. No obsolete line folding, no control
 * characters, no request bodies in a transfer coding (501: Content-Length only), no smuggling
 * ambiguity (Content-Length repeated with different values or beside Transfer-Encoding is an
 * error). libc only; compiled on its own by the fuzz target tests/fuzz/fuzz_http.c.
 */
#ifndef HTTP_H
#define HTTP_H

#include <stddef.h>

#define HTTP_MAX_LINE 8192         /* request line and each header line */

typedef struct {
    const char *method, *target;   /* into the parsed buffer, not NUL-terminated */
    size_t method_len, target_len; /* target: the path and query as sent */
    const char *auth;              /* Authorization value, NULL if absent */
    size_t auth_len;
    int minor;                     /* HTTP/1.minor */
    long long content_length;      /* -1 if not given */
    int keep_alive;                /* the connection may carry another request after this one */
    int expect_continue;           /* "Expect: 100-continue" */
    int n_headers;
} http_request;

/* Parse the head at the start of buf[0..len), at most max_head bytes. Returns the head's length
 * (through its blank line) when complete, 0 if more bytes are needed, or -status for a request
 * to refuse (400 malformed, 414 request line too long, 417 an Expect other than 100-continue,
 * 431 head too large, 501 transfer coding, 505 version), with a one-line reason in *why. */
int http_parse_head(const char *buf, size_t len, size_t max_head, http_request *req, const char **why);

/* target == path exactly, or path followed by a query ("?...") */
int http_path_is(const http_request *req, const char *path);

#endif
