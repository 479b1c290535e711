/* fuzz_http.c - libFuzzer target: the HTTP request-head parser of llm-server (tools/http.c).
 *
 * Input: the bytes a client sends. The head is parsed whole, then fed as it would arrive (one
 * prefix after another, cut at every 7th byte): a prefix may only be "incomplete" or give the
 * same verdict as the whole; a complete head's fields must lie inside it (method a token, target
 * starting with '/', no control characters), Content-Length as sent.
 */
#include "../../tools/http.c"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(c, ...) do { if (!(c)) { fprintf(stderr, "fuzz check failed: " __VA_ARGS__); fprintf(stderr, "\n"); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *buf = (const char *)data, *why;
    size_t max_head = 16384;
    http_request req, part;
    int whole = http_parse_head(buf, size, max_head, &req, &why);
    CHECK(whole >= -505 && (whole <= 0 || (size_t)whole <= size), "verdict %d for %zu bytes", whole, size);
    if (whole > 0) {
        CHECK(req.method >= buf && req.method + req.method_len <= buf + whole && req.method_len > 0, "method outside the head");
        CHECK(req.target >= buf && req.target + req.target_len <= buf + whole && req.target[0] == '/', "target outside the head");
        for (size_t i = 0; i < req.target_len; i++) CHECK(req.target[i] > 0x20 && req.target[i] < 0x7F, "control in the target");
        CHECK(!req.auth || (req.auth >= buf && req.auth + req.auth_len <= buf + whole), "authorization outside the head");
        CHECK(req.content_length >= -1 && req.content_length < 1000000000000000LL, "content length %lld", req.content_length);
        CHECK(req.minor >= 0 && req.minor <= 9, "minor %d", req.minor);
        http_path_is(&req, "/v1/completions");
    }
    for (size_t cut = 0; cut < size; cut += 7) {
        int v = http_parse_head(buf, cut, max_head, &part, &why);
        CHECK(v == 0 || v == whole || (v < 0 && whole < 0),
              "prefix of %zu bytes: %d, whole: %d", cut, v, whole);
        if (v > 0) CHECK(v == whole && part.content_length == req.content_length, "prefix of %zu bytes completed differently", cut);
    }
    return 0;
}
