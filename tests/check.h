/* check.h - the check() of the C test programs: one line per check, "PASS <suite>message" or
 * "FAIL <suite>message" (the result lines of every test that tests/run.sh runs), counted in
 * passed / failed; a program ends with "N passed, N failed" and a non-zero exit status on a
 * failure. check_suite prefixes the names (e.g. "share."); CHECK_SUITE, defined before including
 * this file, is its first value. */
#include <stdarg.h>
#include <stdio.h>

#ifndef CHECK_SUITE
#define CHECK_SUITE ""
#endif

static const char *check_suite = CHECK_SUITE;
static int passed, failed;

static void check(int ok, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("%s %s", ok ? "PASS" : "FAIL", check_suite);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    if (ok) passed++; else failed++;
}
