/* http.c - see http.h. */
#include "http.h"

#include <string.h>
#include <strings.h>

#define HTTP_MAX_HEADERS 100

static int is_tchar(unsigned char c) {                         /* token characters (RFC 9110 5.6.2) */
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int refuse(const char **why, const char *msg, int status) {
    *why = msg;
    return -status;
}

/* case-insensitive: does the comma-separated list v[0..n) hold the token tok? */
static int list_has(const char *v, size_t n, const char *tok) {
    size_t tl = strlen(tok);
    for (size_t i = 0; i < n;) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ',')) i++;
        size_t s = i;
        while (i < n && v[i] != ',') i++;
        size_t e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t')) e--;
        if (e - s == tl && !strncasecmp(v + s, tok, tl)) return 1;
    }
    return 0;
}

int http_parse_head(const char *buf, size_t len, size_t max_head, http_request *req, const char **why) {
    memset(req, 0, sizeof *req);
    req->content_length = -1;
    *why = "";
    if (len == 0) return 0;
    /* the head ends at the first empty line; until it is there, only the limits are checked */
    const char *nl = memchr(buf, '\n', len);
    if ((nl ? (size_t)(nl - buf) : len) > HTTP_MAX_LINE + 1) return refuse(why, "request line too long", 414);
    size_t end = 0;
    for (size_t i = 0; i < len && !end; i++)
        if (buf[i] == '\n' && ((i >= 1 && buf[i - 1] == '\n') || (i >= 2 && buf[i - 1] == '\r' && buf[i - 2] == '\n'))) end = i + 1;
    if (end > max_head || (!end && len >= max_head)) return refuse(why, "request head too large", 431);
    if (!end) return 0;

    int have_te = 0, close = 0, keep = 0;
    size_t pos = 0, line_no = 0;
    while (pos < end) {
        const char *line = buf + pos, *lf = memchr(line, '\n', end - pos);
        size_t ll = (size_t)(lf - line);                           /* without the LF */
        pos += ll + 1;
        if (ll && line[ll - 1] == '\r') ll--;
        if (ll > HTTP_MAX_LINE) return line_no ? refuse(why, "header line too long", 431) : refuse(why, "request line too long", 414);
        for (size_t i = 0; i < ll; i++) {                           /* no control characters but HTAB */
            unsigned char c = (unsigned char)line[i];
            if ((c < 0x20 && c != '\t') || c == 0x7F) return refuse(why, "control character in the request head", 400);
        }
        if (line_no++ == 0) {                                       /* METHOD SP target SP HTTP/1.x */
            const char *sp1 = memchr(line, ' ', ll), *sp2 = sp1 ? memchr(sp1 + 1, ' ', ll - (size_t)(sp1 + 1 - line)) : NULL;
            if (!sp1 || !sp2 || sp1 == line || sp2 == sp1 + 1) return refuse(why, "malformed request line", 400);
            for (const char *p = line; p < sp1; p++) if (!is_tchar((unsigned char)*p)) return refuse(why, "malformed method", 400);
            req->method = line;
            req->method_len = (size_t)(sp1 - line);
            req->target = sp1 + 1;
            req->target_len = (size_t)(sp2 - sp1 - 1);
            for (size_t i = 0; i < req->target_len; i++)
                if ((unsigned char)req->target[i] <= 0x20 || (unsigned char)req->target[i] >= 0x7F) return refuse(why, "malformed request target", 400);
            if (req->target[0] != '/') return refuse(why, "request target must be a path", 400);
            size_t vl = ll - (size_t)(sp2 + 1 - line);
            const char *v = sp2 + 1;
            if (vl != 8 || memcmp(v, "HTTP/", 5) || v[6] != '.' || v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9')
                return refuse(why, "malformed HTTP version", 400);
            if (v[5] != '1') return refuse(why, "only HTTP/1.x is served", 505);
            req->minor = v[7] - '0';
            continue;
        }
        if (ll == 0) break;                                         /* the blank line */
        if (line[0] == ' ' || line[0] == '\t') return refuse(why, "obsolete header line folding", 400);
        const char *colon = memchr(line, ':', ll);
        if (!colon || colon == line) return refuse(why, "malformed header line", 400);
        for (const char *p = line; p < colon; p++) if (!is_tchar((unsigned char)*p)) return refuse(why, "malformed header name", 400);
        if (++req->n_headers > HTTP_MAX_HEADERS) return refuse(why, "too many header lines", 431);
        size_t nl_ = (size_t)(colon - line);
        const char *v = colon + 1, *ve = line + ll;
        while (v < ve && (*v == ' ' || *v == '\t')) v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
        size_t vl = (size_t)(ve - v);
#define NAME_IS(s) (nl_ == strlen(s) && !strncasecmp(line, s, nl_))
        if (NAME_IS("Content-Length")) {
            long long n = 0;
            if (vl == 0 || vl > 15) return refuse(why, "bad Content-Length", 400);
            for (size_t i = 0; i < vl; i++) {
                if (v[i] < '0' || v[i] > '9') return refuse(why, "bad Content-Length", 400);
                n = n * 10 + (v[i] - '0');
            }
            if (req->content_length >= 0 && req->content_length != n) return refuse(why, "conflicting Content-Length headers", 400);
            req->content_length = n;
        } else if (NAME_IS("Transfer-Encoding")) {
            have_te = 1;
        } else if (NAME_IS("Connection")) {
            close |= list_has(v, vl, "close");
            keep |= list_has(v, vl, "keep-alive");
        } else if (NAME_IS("Expect")) {
            if (vl != 12 || strncasecmp(v, "100-continue", 12)) return refuse(why, "unsupported Expect header", 417);
            req->expect_continue = 1;
        } else if (NAME_IS("Authorization")) {
            if (req->auth) return refuse(why, "repeated Authorization header", 400);
            req->auth = v;
            req->auth_len = vl;
        }
#undef NAME_IS
    }
    if (have_te && req->content_length >= 0) return refuse(why, "both Transfer-Encoding and Content-Length", 400);
    if (have_te) return refuse(why, "request bodies in a transfer coding are not supported (send Content-Length)", 501);
    req->keep_alive = req->minor >= 1 ? !close : keep && !close;
    return (int)end;
}

int http_path_is(const http_request *req, const char *path) {
    size_t n = strlen(path);
    return req->target_len >= n && !memcmp(req->target, path, n) && (req->target_len == n || req->target[n] == '?');
}
