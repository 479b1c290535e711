/* check.h - the check() of the C test programs: one line per check, "PASS <suite>message" or
 * "FAIL <suite>message", counted in passed / failed (the program prints "N passed, N failed" and
 * exits non-zero on a failure). Define CHECK_SUITE (e.g. "share.") before including it, and
 * CHECK_OK where a program's pass word is not "PASS". */
#include <stdarg.h>
#include <stdio.h>

#ifndef CHECK_OK
#define CHECK_OK "PASS"
#endif

static int passed, failed;

static void check(int ok, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("%s %s", ok ? CHECK_OK : "FAIL", CHECK_SUITE);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    if (ok) passed++; else failed++;
}
