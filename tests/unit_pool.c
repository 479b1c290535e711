/* unit_pool.c - the thread pool (llm.c section 4): the suite "pool" of tests/test_unit.
 *
 * pool_run must run its task exactly once on every thread and return only when all are done,
 * also when workers fall asleep between tasks and when the caller sleeps waiting for them:
 * tasks are started after no gap, a short gap, a gap around the spin limit (SPIN_SECONDS, where
 * a worker decides to sleep while the next task is being started) and a long gap, in a
 * pseudo-random order, with 2, 3 and 5 threads (5: more threads than most test machines have
 * cores, so threads are also descheduled mid-handshake). A lost wake-up hangs the test (the
 * runner's timeout fails it). Built also with ThreadSanitizer (make test-tsan).
 */

typedef struct { atomic_long calls; atomic_int seen[8], bad; int round_of[8]; int round; } pool_probe;

static void probe_task(void *arg, int ith, int nth) {
    pool_probe *p = arg;
    atomic_fetch_add(&p->calls, 1);
    if (p->round_of[ith] == p->round) atomic_fetch_add(&p->bad, 1);      /* twice in one round (only ith writes it) */
    p->round_of[ith] = p->round;
    atomic_fetch_add(&p->seen[ith], 1);
    volatile int spin = 0;
    for (int i = 0; i < (ith * 37) % 300; i++) spin++;   /* threads finish at different times */
}

static void test_pool(int nt, long tasks) {
    llm_model m;
    memset(&m, 0, sizeof m);
    int cpus[8] = {-1, -1, -1, -1, -1, -1, -1, -1};
    m.n_threads = nt;
    m.thread_cpu = cpus;
    if (pool_create(&m) != LLM_OK || m.n_threads != nt) { check(0, "%d threads: pool_create", nt); return; }
    pool_probe *p = xcalloc(1, sizeof *p);
    for (int i = 0; i < 8; i++) p->round_of[i] = -1;
    unsigned r = 12345;
    long incomplete = 0;
    for (long i = 0; i < tasks; i++) {
        p->round = (int)i;
        pool_run(m.pool, probe_task, p);
        for (int t = 0; t < nt; t++)       /* every thread done with this round when pool_run returns */
            if (p->round_of[t] != (int)i) incomplete++;
        r = r * 1103515245u + 12345u;
        int mode = (int)((r >> 16) % 4);
        double gap = mode == 0 ? 0 : mode == 1 ? 5e-6 : mode == 2 ? SPIN_SECONDS * (0.9 + 0.02 * (double)((r >> 8) % 10)) : 4 * SPIN_SECONDS;
        double t0 = now_sec();
        while (now_sec() - t0 < gap) cpu_relax();
    }
    int uneven = 0;
    for (int t = 0; t < nt; t++) uneven += atomic_load(&p->seen[t]) != tasks;
    check(atomic_load(&p->calls) == (long)nt * tasks && !uneven && !atomic_load(&p->bad) && !incomplete,
          "%d threads, %ld tasks after gaps of 0, 5 us, ~SPIN_SECONDS and 4x it: each thread ran each task once, all done at return  [%ld calls, %d threads uneven, %ld unfinished]",
          nt, tasks, (long)atomic_load(&p->calls), uneven, incomplete);
    pool_destroy(m.pool);
    free(p);
}

static void suite_pool(void) {
    test_pool(2, 20000);
    test_pool(3, 10000);
    test_pool(5, 4000);
}
