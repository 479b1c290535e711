/* test_unit - the unit tests of llm.c's internals, with llm.c compiled once for all of them.
 * Each suite is a file that sees all of llm.c (section by section, static functions included):
 *   share   matmul work sharing (tests/unit_share.c)
 *   pool    the thread pool (tests/unit_pool.c; also built with ThreadSanitizer: make test-tsan)
 *   bpe     the byte-level BPE tokenizer against the shared vectors (tests/unit_bpe.c; $SHARED)
 *
 *   tests/test_unit [SUITE...]      the given suites (default: all), in this order
 *
 * One PASS/FAIL line per check (tests/check.h), names prefixed by the suite ("pool."), then
 * "N passed, N failed"; the exit status is 1 if a check failed, 2 for an unknown suite.
 * tests/run.sh runs each suite as a test of its own (unit.share, unit.pool, unit.bpe).
 */
#define LLM_NO_MAIN
#include "../llm.c"

#include "check.h"

#include "unit_share.c"
#include "unit_pool.c"
#include "unit_bpe.c"

static const struct { const char *name; void (*run)(void); } suites[] = {
    {"share", suite_share},
    {"pool", suite_pool},
    {"bpe", suite_bpe},
};
#define N_SUITES (int)(sizeof suites / sizeof *suites)

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);   /* lines out before a hang (a lost wake-up in pool) */
    for (int a = 1; a < argc; a++) {
        int known = 0;
        for (int i = 0; i < N_SUITES; i++) known |= !strcmp(argv[a], suites[i].name);
        if (!known) {
            fprintf(stderr, "test_unit: unknown suite '%s' (share, pool, bpe)\n", argv[a]);
            return 2;
        }
    }
    for (int i = 0; i < N_SUITES; i++) {
        int chosen = argc == 1;
        for (int a = 1; a < argc; a++) chosen |= !strcmp(argv[a], suites[i].name);
        if (!chosen) continue;
        char prefix[32];
        snprintf(prefix, sizeof prefix, "%s.", suites[i].name);
        check_suite = prefix;
        suites[i].run();
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
