/* unit_share.c - matmul work sharing (llm.c section 6): the suite "share" of tests/test_unit.
 *
 * chunk_of must cut every row range into chunks that cover it exactly once, with boundaries
 * a multiple of 16 rows from the range start (the 16-row groups and GEMM tiles of one piece),
 * chunks of at least MM_MIN_CHUNK rows except the last, halving sizes, and one piece with one thread.
 * mm_worker, called for thread 0 alone out of 2 (thread 1 never runs: the extreme of a slow
 * core), must compute every row of every matrix when both threads are on one node, bitwise
 * equal to the dot of the row, and must leave thread 1's rows alone when it is on another node.
 */

static void test_chunk_of(void) {
    int bad = 0, ranges = 0;
    for (int nth = 1; nth <= 3; nth++)
        for (int64_t n = 0; n <= 3000; n += (n < 300 ? 1 : 37)) {
            int64_t at = 0, prev = INT64_MAX, a, b;
            int k = 0;
            for (;; k++) {
                int c = k;
                if (!chunk_of(n, 16, nth, &c, &a, &b)) {
                    if (c != 0) bad++;              /* the count subtracted is the number of chunks */
                    break;
                }
                if (a != at || b <= a || b > n) { bad++; break; }
                if (b < n && (b % 16 || b - a < MM_MIN_CHUNK || b - a > prev)) bad++;
                prev = b - a;
                at = b;
            }
            if (at != n || (nth == 1 && k != (n > 0))) bad++;
            ranges++;
        }
    check(!bad, "chunk_of: %d ranges of 0..3000 rows at 1..3 threads cut exactly once, 16-row boundaries, halving, >= %d rows [%d wrong]",
          ranges, MM_MIN_CHUNK, bad);
}

/* F32 matrices in memory (no slices, file layout) and thread 0 running alone out of two */
static void test_worker(int glu, int other_node) {
    enum { COLS = 64 };
    const int64_t rows[3] = {1000, 200, 200};
    const int n_mats = glu ? 2 : 3;
    tensor w[3];
    float *data[3], *y[3], x[COLS];
    for (int i = 0; i < COLS; i++) x[i] = (float)((i * 7) % 11) / 11.0f - 0.5f;
    const kernel_port k = kernels_resolve();
    mm_task t = {.n_mats = n_mats, .nb = 1, .x = x, .ldx = COLS * sizeof(float), .glu = glu, .k = &k};
    atomic_int claim[2 * CLAIM_STRIDE] = {0};
    int node[2] = {0, other_node};
    t.claim = claim;
    t.node = node;
    for (int j = 0; j < n_mats; j++) {
        int64_t r = glu ? rows[0] : rows[j];
        data[j] = malloc((size_t)r * COLS * sizeof(float));
        y[j] = malloc((size_t)r * sizeof(float));
        for (int64_t i = 0; i < r * COLS; i++) data[j][i] = (float)((i * 13 + j) % 17) / 17.0f - 0.5f;
        for (int64_t i = 0; i < r; i++) y[j][i] = NAN;
        w[j] = (tensor){.type = T_F32, .rows = r, .cols = COLS, .row_bytes = COLS * sizeof(float), .data = (const uint8_t *)data[j]};
        t.w[j] = &w[j];
        t.y[j] = y[j];
    }
    mm_worker(&t, 0, 2);
    int wrong = 0, written = 0;
    for (int j = 0; j < (glu ? 1 : n_mats); j++) {
        int64_t r0, r1;
        rows_of(w[j].rows, 1, 2, &r0, &r1);
        for (int64_t r = 0; r < w[j].rows; r++) {
            float want = dot_f32_f32_ref(COLS, data[j] + r * COLS, x);
            if (glu) {
                float g = want, u = dot_f32_f32_ref(COLS, data[1] + r * COLS, x);
                swiglu_ref(1, &g, &u);
                want = g;
            }
            int theirs = other_node && r >= r0 && r < r1;
            if (theirs) written += !isnan(y[j][r]);
            else if (memcmp(&y[j][r], &want, sizeof want)) wrong++;
        }
    }
    if (!other_node)
        check(!wrong, "%s: thread 0 alone computes all rows (its own and its idle neighbour's), bitwise the dots [%d wrong]",
              glu ? "gate/up + swiglu" : "three matrices", wrong);
    else
        check(!wrong && !written, "%s: a thread on another node is not helped: thread 0 computes only its own rows [%d wrong, %d of thread 1's rows written]",
              glu ? "gate/up + swiglu" : "three matrices", wrong, written);
    for (int j = 0; j < n_mats; j++) { free(data[j]); free(y[j]); }
}

static void suite_share(void) {
    test_chunk_of();
    for (int glu = 0; glu < 2; glu++)
        for (int other = 0; other < 2; other++) test_worker(glu, other);
}
