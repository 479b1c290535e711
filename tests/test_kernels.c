/* tests/test_kernels.c - checks the kernels of rvv_kernels.h (the K-quants: test_kquants.c).
 *
 *   make tests/test_kernels && ./tests/test_kernels          the port of the native build
 *   make test-riscv                                          RVV 1.0 at VLEN 128..1024, XTheadVector and
 *                                                            rv64gc, under qemu
 *
 * One line per check ("PASS" or "FAIL", what was checked, the worst error seen), then
 * "N passed, M failed"; the exit status is non-zero when a check failed.
 *   A. reference bodies against double precision: fp16/bf16 conversions (all 65536 codes,
 *      rounding ties, subnormals, inf/nan), Q8_0/Q4_0 quantization error bounds and rounding
 *      rule, block and float dots, row-wise kernels, exp;
 *   B. the port table of this build (KERNELS_PORT), entry by entry: every non-NULL entry
 *      against its reference, bitwise (the contract between ports);
 *   C. every GEMM tile against its 1x1 case, bitwise, for all nr, nb remainders (the contract
 *      that makes llm.c's output independent of the thread count);
 *   D. the port's packed weight layouts: round trip, and their GEMM against the reference.
 */
#include "rvv_kernels.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <float.h>

#define CHECK_SUITE ""
#include "check.h"

/* the kernels under test: the port table of this build (rvv_kernels.h, KERNELS_PORT) as the build
 * has it (P: NULL entries are the reference's), and resolved (K) */
static const kernel_port *const P = &KERNELS_PORT;
static kernel_port K;
static const char *body_of(const void *entry) { return entry ? P->name : "reference"; }

/* the 1x1 case of a GEMM: one dot */
static float dot_of(gemm_fn g, int n, const void *w, const void *x) {
    float y;
    g(n, 1, 1, &y, 1, w, 0, x, 0);
    return y;
}

/* ---- random data (deterministic) ---------------------------------------------------------- */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd64(void) {   /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static uint32_t rnd32(void) { return (uint32_t)(rnd64() >> 32); }
static float rnd_unit(void) { return (float)((rnd64() >> 40) * (1.0 / 16777216.0)); }   /* [0, 1) */
static float rnd_sym(float a) { return (2.0f * rnd_unit() - 1.0f) * a; }                  /* [-a, a) */
/* roughly normal, occasional outliers: like activations and weights */
static float rnd_act(void) {
    float s = rnd_unit() + rnd_unit() + rnd_unit() + rnd_unit() - 2.0f;
    if ((rnd32() & 63) == 0) s *= 8.0f;
    return s;
}
static void fill_act(float *x, int n, float scale) { for (int i = 0; i < n; i++) x[i] = rnd_act() * scale; }

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) { fprintf(stderr, "out of memory\n"); exit(2); }
    return p;
}

/* distance in units in the last place between two finite floats of the same sign region */
static __attribute__((unused)) double ulp_diff(float a, float b) {
    if (a == b) return 0;
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b) ? 0 : INFINITY;
    int32_t ia = (int32_t)f32_to_bits(a), ib = (int32_t)f32_to_bits(b);
    if (ia < 0) ia = INT32_MIN - ia;
    if (ib < 0) ib = INT32_MIN - ib;
    return fabs((double)ia - (double)ib);
}
/* size of one ulp of a double value rounded to float */
static double ulp_of(double v) {
    v = fabs(v);
    if (v < FLT_MIN) return ldexp(1.0, -149);
    int e;
    frexp(v, &e);
    return ldexp(1.0, e - 24);
}

/* ==========================================================================================
 * A1. conversions
 * ======================================================================================== */
static double half_value(uint16_t h) {   /* exact value of an IEEE half, from its definition */
    int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(1024 + m, e - 25);
    return s ? -v : v;
}

/* nearest half to f (round to nearest, ties to even, overflow to inf), by search on the
 * magnitude: half codes 0..0x7c00 are ordered like their values */
static uint16_t half_nearest(float f) {
    if (isnan(f)) return 0x7e00;
    uint16_t sign = signbit(f) ? 0x8000 : 0;
    double a = fabs((double)f);
    if (a >= 65520.0) return sign | 0x7c00;   /* 65504 + half an ulp (ties go to "even" inf) */
    int lo = 0, hi = 0x7bff;                    /* largest code with value <= a */
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (half_value((uint16_t)mid) <= a) lo = mid;
        else hi = mid - 1;
    }
    int c = lo;
    if (c < 0x7bff || a > 65504.0) {
        double d0 = a - half_value((uint16_t)c), d1 = half_value((uint16_t)(c + 1)) - a;
        if (d1 < d0 || (d1 == d0 && (c & 1))) c++;
    }
    return (uint16_t)(sign | c);
}

static void test_fp16(void) {
    int bad = 0;
    for (int h = 0; h < 65536; h++) {
        double v = half_value((uint16_t)h);
        float f = fp16_to_fp32((uint16_t)h);
        int ok = isnan(v) ? isnan(f) && !!signbit(f) == (h >> 15) : (double)f == v && !!signbit(f) == (h >> 15);
        if (!ok && bad++ < 3) printf("     fp16_to_fp32(0x%04x) = %g, want %g\n", h, f, v);
    }
    check(!bad, "fp16_to_fp32: all 65536 codes exact (zeros, subnormals, inf, nan keep sign)  [%d wrong]", bad);

    bad = 0;
    for (int h = 0; h < 65536; h++) {
        uint16_t back = fp32_to_fp16(fp16_to_fp32((uint16_t)h));
        int isn = (h & 0x7c00) == 0x7c00 && (h & 0x3ff);
        int ok = isn ? (back & 0x7c00) == 0x7c00 && (back & 0x3ff) && (back >> 15) == (h >> 15) : back == h;
        if (!ok && bad++ < 3) printf("     fp16 round trip 0x%04x -> 0x%04x\n", h, back);
    }
    check(!bad, "fp16 round trip fp32_to_fp16(fp16_to_fp32(h)) == h for all codes (nan stays nan)  [%d wrong]", bad);

    /* narrowing: random floats over the whole half range and beyond, plus every tie */
    bad = 0;
    int n = 0;
    for (int i = 0; i < 400000; i++, n++) {
        float f;
        if (i & 1) f = f32_from_bits(rnd32());   /* any float, mostly far out of range */
        else f = ldexpf(rnd_sym(1.0f), (int)(rnd32() % 44) - 28);   /* 2^-28 .. 2^16 */
        uint16_t got = fp32_to_fp16(f), want = half_nearest(f);
        int ok = isnan(f) ? (got & 0x7c00) == 0x7c00 && (got & 0x3ff) : got == want;
        if (!ok && bad++ < 3) printf("     fp32_to_fp16(%a) = 0x%04x, want 0x%04x\n", f, got, want);
    }
    for (int h = 0; h < 0x7bff; h++, n += 2) {   /* midpoints between neighbours: ties to even */
        float mid = (float)((half_value((uint16_t)h) + half_value((uint16_t)(h + 1))) / 2);
        uint16_t want = (uint16_t)(h & 1 ? h + 1 : h);
        if (fp32_to_fp16(mid) != want || fp32_to_fp16(-mid) != (want | 0x8000))
            if (bad++ < 3) printf("     tie %a -> 0x%04x, want 0x%04x\n", mid, fp32_to_fp16(mid), want);
    }
    static const struct { float f; uint16_t h; } fixed[] = {
        {65504.0f, 0x7bff}, {65519.99f, 0x7bff}, {65520.0f, 0x7c00}, {1e9f, 0x7c00}, {-INFINITY, 0xfc00},
        {0x1p-24f, 0x0001}, {0x1p-25f, 0x0000}, {0x1.8p-24f, 0x0002}, {0x1.000002p-25f, 0x0001}, {-0.0f, 0x8000},
        {0x1p-14f, 0x0400}, {0x1.ff8p-15f, 0x03ff}, {0x1.ffcp-15f, 0x0400}, {1.0f + 0x1p-11f, 0x3c00}, {1.0f + 0x3p-11f, 0x3c02},
    };
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++, n++)
        if (fp32_to_fp16(fixed[i].f) != fixed[i].h && bad++ < 6)
            printf("     fp32_to_fp16(%a) = 0x%04x, want 0x%04x\n", fixed[i].f, fp32_to_fp16(fixed[i].f), fixed[i].h);
    check(!bad, "fp32_to_fp16: nearest-even on %d values (random, all midpoints, overflow, subnormal ties)  [%d wrong]", n, bad);
}

static void test_bf16(void) {
    int bad = 0;
    for (int h = 0; h < 65536; h++) {
        float f = bf16_to_fp32((uint16_t)h);
        uint16_t back = fp32_to_bf16(f);
        int isn = (h & 0x7f80) == 0x7f80 && (h & 0x7f);
        int ok = isn ? isnan(f) && (back & 0x7f80) == 0x7f80 && (back & 0x7f) : back == h && f32_to_bits(f) == (uint32_t)h << 16;
        if (!ok && bad++ < 3) printf("     bf16 0x%04x -> %a -> 0x%04x\n", h, f, back);
    }
    check(!bad, "bf16 round trip for all 65536 codes (nan stays nan)  [%d wrong]", bad);

    bad = 0;
    int n = 0;
    for (int i = 0; i < 400000; i++, n++) {
        uint32_t u = rnd32();
        if (i % 4 == 0) u = (u & 0xffff0000u) | 0x8000u;   /* exact ties */
        float f = f32_from_bits(u);
        uint16_t got = fp32_to_bf16(f);
        if (isnan(f)) {
            if (!isnan(bf16_to_fp32(got)) && bad++ < 3) printf("     bf16(nan %08x) = 0x%04x\n", u, got);
            continue;
        }
        uint32_t lo = u & 0xffff0000u;   /* candidates: truncated and one code up (in magnitude) */
        double a = fabs((double)f), vlo = fabs((double)f32_from_bits(lo));
        double vhi = (lo & 0x7fffffffu) == 0x7f7f0000u ? ldexp(1.0, 128) : fabs((double)f32_from_bits(lo + 0x10000u));
        uint32_t want = (a - vlo < vhi - a || (a - vlo == vhi - a && !(lo & 0x10000u))) ? lo : lo + 0x10000u;
        if (got != (uint16_t)(want >> 16) && bad++ < 3) printf("     fp32_to_bf16(%a) = 0x%04x, want 0x%04x\n", f, got, want >> 16);
    }
    check(!bad, "fp32_to_bf16: nearest-even on %d random floats (1/4 exact ties, overflow to inf)  [%d wrong]", n, bad);
}

/* ==========================================================================================
 * A2. quantization error bounds
 * ======================================================================================== */
/* The rounding rule of Q8_0 activations, pinned. llama.cpp's x86 kernel (quantize_row_q8_0 with
 * AVX2) scales by id = 127 / max|x| and rounds half to even (_mm256_round_ps to nearest); its RVV
 * kernel scales by 1 / d with d = max|x| / 127 (also half to even), its plain C reference rounds
 * half away from zero (roundf). We follow the x86 kernel in every body. Checked here: ties with
 * max|x| = 127 (id = 1) go to even, and on random rows every code equals rintf(x * (127/max|x|))
 * computed independently, on data where the other two rules give other codes. */
static void test_q8_0_rounding(void) {
    enum { N = 64 * QK };
    static const float tie[] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 126.5f, -125.5f};
    static const int8_t want[] = {0, 2, 2, 0, -2, -2, 126, -126};
    float *x = xmalloc(N * sizeof(float));
    block_q8_0 q[N / QK], v[N / QK];
    int bad = 0, other_scale = 0, other_round = 0;
    for (int i = 0; i < QK; i++) x[i] = i < 8 ? tie[i] : i == 8 ? -127.0f : 0.0f;
    quantize_row_q8_0_ref(QK, q, x);
    K.quantize_q8_0(QK, v, x);
    for (int i = 0; i < 8; i++) bad += q[0].qs[i] != want[i] || v[0].qs[i] != want[i];
    for (int rep = 0; rep < 20; rep++) {
        fill_act(x, N, 1.0f);
        for (int i = 0; i < N; i++) if (rep & 1) x[i] = rintf(x[i] * 64.0f) / 64.0f;   /* many exact halves */
        quantize_row_q8_0_ref(N, q, x);
        K.quantize_q8_0(N, v, x);
        bad += memcmp(q, v, sizeof q) != 0;
        for (int b = 0; b < N / QK; b++) {
            float amax = 0.0f;
            for (int i = 0; i < QK; i++) amax = fmaxf(amax, fabsf(x[b * QK + i]));
            const float id = 127.0f / amax, id_rvv = 1.0f / (amax / 127.0f);
            for (int i = 0; i < QK; i++) {
                const float s = x[b * QK + i] * id;
                bad += q[b].qs[i] != (int)rintf(s);
                other_scale += (int)rintf(x[b * QK + i] * id_rvv) != (int)rintf(s);
                other_round += (int)roundf(s) != (int)rintf(s);
            }
        }
    }
    free(x);
    check(!bad && other_scale && other_round, "quantize_row_q8_0 rounds as llama.cpp's x86 kernel: rint(x * 127/max|x|), ties to even; reference and this build's body  [%d wrong; the 1/d scale would change %d codes, half-away rounding %d]",
          bad, other_scale, other_round);
}

static void test_quant_ref(void) {
    enum { N = 4096 };
    float *x = xmalloc(N * sizeof(float)), *y = xmalloc(N * sizeof(float));
    block_q8_0 q8[N / QK];
    block_q4_0 q4[N / QK];
    double worst8 = 0, worst4 = 0, mean4 = 0;
    int bad = 0;
    for (int rep = 0; rep < 20; rep++) {
        fill_act(x, N, rep < 10 ? 1.0f : ldexpf(1.0f, rep - 15));
        for (int i = 0; i < QK; i++) x[i] = 0.0f;    /* an all-zero block */
        x[QK] = 1e-30f;                              /* a block whose scale underflows fp16 */
        quantize_row_q8_0_ref(N, q8, x);
        dequantize_row_q8_0(N, y, q8);
        for (int b = 0; b < N / QK; b++) {
            double amax = 0;
            int maxcode = 0;
            for (int i = 0; i < QK; i++) {
                amax = fmax(amax, fabs(x[b * QK + i]));
                int c = q8[b].qs[i] < 0 ? -q8[b].qs[i] : q8[b].qs[i];
                if (c > 127) bad++;
                if (c > maxcode) maxcode = c;
            }
            double d = amax / 127;
            /* |x - q*d16| <= |x - q*d| + 127*|d - d16| <= d/2 + 127 * d * 2^-11 (fp16 rounding of d)
             * (+ the smallest subnormal fp16 times 127 when d is below the fp16 range) */
            double bound = d * (0.5 + 127 * 0x1p-11) + 127 * 0x1p-25 + 1e-37;
            for (int i = 0; i < QK; i++) {
                double e = fabs((double)x[b * QK + i] - y[b * QK + i]);
                if (e > bound) bad++;
                if (d > 1e-4) worst8 = fmax(worst8, e / d);
            }
            if (amax > 1e-4 && maxcode != 127) bad++;   /* the largest element maps to +-127 */
        }
        quantize_row_q4_0(N, q4, x);
        dequantize_row_q4_0(N, y, q4);
        for (int b = 0; b < N / QK; b++) {
            double amax = 0;
            for (int i = 0; i < QK; i++) amax = fmax(amax, fabs(x[b * QK + i]));
            double d = amax / 8;
            /* codes 0..15 for -8..7 steps of |d|: |x - q*d| <= |d|/2, except the element of
             * opposite sign to the extreme, which clamps to 7 steps: error up to |d|;
             * plus 8 * |d| * 2^-11 for the fp16 rounding of d */
            double bound = d * (1.0 + 8 * 0x1p-11) + 8 * 0x1p-25 + 1e-37;
            for (int i = 0; i < QK; i++) {
                double e = fabs((double)x[b * QK + i] - y[b * QK + i]);
                if (e > bound) bad++;
                if (d > 1e-4) { worst4 = fmax(worst4, e / d); mean4 += e / d / N / 20; }
            }
        }
    }
    check(!bad && worst8 <= 0.5625, "quantize_row_q8_0_ref -> dequantize: |err| <= d*(1/2 + 127/2048), codes in +-127, max -> 127  [worst %.4f d]", worst8);
    check(!bad && worst4 <= 1.004, "quantize_row_q4_0 -> dequantize: |err| <= |d|*(1 + 8/2048) (clamped end), mean %.3f |d|  [worst %.4f |d|]", mean4, worst4);
    free(x);
    free(y);
}

/* ==========================================================================================
 * A3. dots and row-wise kernels against double precision
 * ======================================================================================== */
/* random Q8_0 / Q4_0 rows: quantized from random floats, or raw random codes and scales */
static void make_q8(int n, block_q8_0 *q, int raw) {
    if (!raw) {
        float *x = xmalloc((size_t)n * sizeof(float));
        fill_act(x, n, 1.0f);
        quantize_row_q8_0_ref(n, q, x);
        free(x);
        return;
    }
    for (int b = 0; b < n / QK; b++) {   /* any code incl. -128, any finite scale incl. subnormal */
        uint16_t d;
        do d = (uint16_t)(rnd32() & 0xbfff); while ((d & 0x7c00) == 0x7c00 || (d & 0x7c00) > 0x5000);
        q[b].d = d;
        for (int i = 0; i < QK; i++) q[b].qs[i] = (int8_t)rnd32();
    }
}
static void make_q4(int n, block_q4_0 *q, int raw) {
    if (!raw) {
        float *x = xmalloc((size_t)n * sizeof(float));
        fill_act(x, n, 0.05f);
        quantize_row_q4_0(n, q, x);
        free(x);
        return;
    }
    for (int b = 0; b < n / QK; b++) {
        uint16_t d;
        do d = (uint16_t)(rnd32() & 0xbfff); while ((d & 0x7c00) == 0x7c00 || (d & 0x7c00) > 0x5000);
        q[b].d = d;
        for (int i = 0; i < QK / 2; i++) q[b].qs[i] = (uint8_t)rnd32();
    }
}

static void test_block_dots_ref(void) {
    static const int ns[] = {32, 64, 96, 320, 1024, 4096, 11008};
    double worst8 = 0, worst4 = 0;
    int bad = 0;
    for (size_t t = 0; t < sizeof ns / sizeof *ns; t++)
        for (int raw = 0; raw < 2; raw++) {
            int n = ns[t], nb = n / QK;
            block_q8_0 *a = xmalloc(nb * sizeof *a), *x = xmalloc(nb * sizeof *x);
            block_q4_0 *w = xmalloc(nb * sizeof *w);
            make_q8(n, a, raw);
            make_q8(n, x, raw);
            make_q4(n, w, raw);
            float *fa = xmalloc(n * sizeof(float)), *fx = xmalloc(n * sizeof(float)), *fw = xmalloc(n * sizeof(float));
            dequantize_row_q8_0(n, fa, a);
            dequantize_row_q8_0(n, fx, x);
            dequantize_row_q4_0(n, fw, w);
            double s8 = 0, s4 = 0, m8 = 0, m4 = 0;
            for (int i = 0; i < n; i++) {
                s8 += (double)fa[i] * fx[i]; m8 += fabs((double)fa[i] * fx[i]);
                s4 += (double)fw[i] * fx[i]; m4 += fabs((double)fw[i] * fx[i]);
            }
            /* the integer block sums are exact; per block one rounding of dw*dx and one of the
             * accumulation: |err| <= (nblocks + 1) * 2^-24 * sum |terms| (to first order) */
            double tol8 = (nb + 1) * 0x1p-24 * m8 * 1.01 + 1e-40, tol4 = (nb + 1) * 0x1p-24 * m4 * 1.01 + 1e-40;
            double e8 = fabs(dot_q8_0_q8_0_ref(n, a, x) - s8), e4 = fabs(dot_q4_0_q8_0_ref(n, w, x) - s4);
            if (e8 > tol8 || e4 > tol4) bad++;
            worst8 = fmax(worst8, e8 / tol8);
            worst4 = fmax(worst4, e4 / tol4);
            free(a); free(x); free(w); free(fa); free(fx); free(fw);
        }
    check(!bad, "dot_q8_0_q8_0_ref vs double dot of dequantized rows, n = 32..11008, quantized and raw codes: |err| <= (nblk+1) 2^-24 sum|a x|  [worst %.3f of bound]", worst8);
    check(!bad, "dot_q4_0_q8_0_ref vs double dot of dequantized rows, same bound  [worst %.3f of bound]", worst4);
}

static const int float_ns[] = {1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 1000, 4096, 4099};
#define N_FLOAT_NS (int)(sizeof float_ns / sizeof *float_ns)

static void fill_f16(uint16_t *h, const float *x, int n) { for (int i = 0; i < n; i++) h[i] = fp32_to_fp16(x[i]); }
static void fill_bf16(uint16_t *h, const float *x, int n) { for (int i = 0; i < n; i++) h[i] = fp32_to_bf16(x[i]); }

static void test_float_dots_ref(void) {
    double worst[3] = {0};
    int bad[3] = {0};
    for (int t = 0; t < N_FLOAT_NS; t++) {
        int n = float_ns[t];
        float *a = xmalloc(n * sizeof(float)), *b = xmalloc(n * sizeof(float));
        uint16_t *h = xmalloc(n * 2), *g = xmalloc(n * 2);
        fill_act(a, n, 1.0f);
        fill_act(b, n, 1.0f);
        fill_f16(h, a, n);
        fill_bf16(g, a, n);
        double s[3] = {0}, m[3] = {0};
        for (int i = 0; i < n; i++) {
            double p[3] = {(double)a[i] * b[i], (double)fp16_to_fp32(h[i]) * b[i], (double)bf16_to_fp32(g[i]) * b[i]};
            for (int k = 0; k < 3; k++) s[k] += p[k], m[k] += fabs(p[k]);
        }
        float got[3] = {dot_f32_f32_ref(n, a, b), dot_f16_f32_ref(n, h, b), dot_bf16_f32_ref(n, g, b)};
        for (int k = 0; k < 3; k++) {
            /* 8 chains of ceil(n/8) steps plus 3 levels of pairwise adds */
            double tol = ((n + 7) / 8 + 4) * 0x1p-24 * m[k] * 1.01 + 1e-40, e = fabs(got[k] - s[k]);
            if (e > tol) bad[k]++;
            worst[k] = fmax(worst[k], e / tol);
        }
        free(a); free(b); free(h); free(g);
    }
    check(!bad[0], "dot_f32_f32_ref vs double, n = 1..4099 (odd lengths, partial last group): |err| <= (n/8+4) 2^-24 sum|ab|  [worst %.3f of bound]", worst[0]);
    check(!bad[1], "dot_f16_f32_ref vs double of the widened halves, same bound  [worst %.3f of bound]", worst[1]);
    check(!bad[2], "dot_bf16_f32_ref vs double of the widened bf16, same bound  [worst %.3f of bound]", worst[2]);
}

static void rmsnorm_dbl(int n, double *o, const float *x, const float *w, float eps) {
    double ss = 0;
    for (int i = 0; i < n; i++) ss += (double)x[i] * x[i];
    double s = 1.0 / sqrt(ss / n + eps);
    for (int i = 0; i < n; i++) o[i] = w[i] * s * x[i];
}
static void softmax_dbl(int n, double *o, const float *x) {
    double mx = x[0], sum = 0;
    for (int i = 1; i < n; i++) mx = fmax(mx, x[i]);
    for (int i = 0; i < n; i++) sum += o[i] = exp((double)x[i] - mx);
    for (int i = 0; i < n; i++) o[i] /= sum;
}

typedef void (*rmsnorm_fn)(int, float *, const float *, const float *, float);
typedef void (*softmax_fn)(int, float *);
typedef void (*swiglu_fn)(int, float *, const float *);
typedef void (*rope_fn)(int, float *, const float *);
typedef void (*axpy_fn)(int, float *, float, const float *);

/* Tolerances, in ulps of each result.
 * rmsnorm: about 6 roundings (<= 3 ulp) plus the error of the sum of squares, which enters
 *   through the square root at half weight. A float sum of n positive terms is off by at most
 *   (n-1) 2^-24 relative (n/2 ulp after the root), but rounding errors of random data grow like
 *   sqrt(n): we check 3 + sqrt(n) (deterministic data, so no flakiness).
 * softmax: exp_ref (<= 1.5 ulp), the rounded argument x - max (relative error up to
 *   |x - max| 2^-24, i.e. 2|x - max| ulp), the sum (as above): 4 + sqrt(n) + 2|x - max|.
 * swiglu: exp_ref, add, divide, multiply: 4 ulp. Below 2^-100 an absolute error of 2^-100: for
 *   g < -88.7, exp(-g) overflows and the reference returns 0 instead of about -1e-37.
 * rope: a*c - b*s cancels: 2 ulp of the pair's magnitude max(|a|, |b|).
 * axpy: one fused multiply-add (or multiply and add): 1 ulp (+ 1/2 ulp of a*x unfused). */
static void test_rowwise(const char *tag, rmsnorm_fn rms, softmax_fn smx, swiglu_fn swg, rope_fn rope, axpy_fn ax) {
    static const int ns[] = {1, 3, 8, 17, 64, 100, 288, 1000, 4099};
    struct { double worst; int bad; } e_rms = {0, 0}, e_smx = {0, 0}, e_swg = {0, 0}, e_rope = {0, 0}, e_ax = {0, 0};
    for (size_t t = 0; t < sizeof ns / sizeof *ns; t++) {
        int n = ns[t];
        float *x = xmalloc(n * 4), *w = xmalloc(n * 4), *o = xmalloc(n * 4), *u = xmalloc(n * 4), *cs = xmalloc((n + 1) * 4);
        double *d = xmalloc(n * 8);
        fill_act(x, n, 1.0f);
        fill_act(w, n, 1.0f);
        rms(n, o, x, w, 1e-5f);
        rmsnorm_dbl(n, d, x, w, 1e-5f);
        double tol = 3 + sqrt(n);
        for (int i = 0; i < n; i++) {
            if (fabs(o[i] - d[i]) > tol * ulp_of(d[i])) e_rms.bad++;
            e_rms.worst = fmax(e_rms.worst, fabs(o[i] - d[i]) / ulp_of(d[i]));
        }

        for (int i = 0; i < n; i++) x[i] = rnd_sym(30.0f);   /* logits-like: many results underflow */
        memcpy(o, x, n * 4);
        smx(n, o);
        softmax_dbl(n, d, x);
        float mx = x[0];
        for (int i = 1; i < n; i++) mx = fmaxf(mx, x[i]);
        for (int i = 0; i < n; i++) {
            /* x - max is rounded in float: relative error |x - max| 2^-24 in e^(x - max) */
            double err = fabs(o[i] - d[i]), t = 4 + sqrt(n) + 2 * fabs((double)x[i] - mx);
            if (d[i] < FLT_MIN) { if (err > FLT_MIN * 0x1p-10) e_smx.bad++; continue; }
            if (err > t * ulp_of(d[i])) e_smx.bad++;
            e_smx.worst = fmax(e_smx.worst, err / ulp_of(d[i]) / t);
        }

        for (int i = 0; i < n; i++) { x[i] = rnd_sym(i % 7 == 0 ? 100.0f : 12.0f); u[i] = rnd_act(); }
        memcpy(o, x, n * 4);
        swg(n, o, u);
        for (int i = 0; i < n; i++) {
            double want = (double)x[i] / (1.0 + exp(-(double)x[i])) * u[i], err = fabs(o[i] - want);
            if (fabs(want) < 0x1p-100) { if (err > 0x1p-100) e_swg.bad++; continue; }
            if (err > 4 * ulp_of(want)) e_swg.bad++;
            e_swg.worst = fmax(e_swg.worst, err / ulp_of(want));
        }

        int nr = n & ~1;
        for (int i = 0; i < nr; i += 2) {
            double th = rnd_sym(100.0f);
            cs[i] = (float)cos(th);
            cs[i + 1] = (float)sin(th);
        }
        memcpy(o, x, n * 4);
        rope(nr, o, cs);
        for (int i = 0; i < nr; i += 2) {
            double a = x[i], b = x[i + 1], c = cs[i], s = cs[i + 1];
            double r0 = a * c - b * s, r1 = a * s + b * c, mag = fmax(fabs(a), fabs(b));
            double e0 = fabs(o[i] - r0) / ulp_of(mag), e1 = fabs(o[i + 1] - r1) / ulp_of(mag);
            if (e0 > 2 || e1 > 2) e_rope.bad++;
            e_rope.worst = fmax(e_rope.worst, fmax(e0, e1));
        }
        for (int i = nr; i < n; i++) if (o[i] != x[i]) e_rope.bad++;   /* odd element untouched */

        fill_act(u, n, 1.0f);
        memcpy(o, x, n * 4);
        float a = rnd_sym(2.0f);
        ax(n, o, a, u);
        for (int i = 0; i < n; i++) {
            double want = x[i] + (double)a * u[i], err = fabs(o[i] - want);
            if (err > 1.0 * ulp_of(want) + ulp_of(fabs((double)a * u[i])) * 0.5) e_ax.bad++;
            e_ax.worst = fmax(e_ax.worst, err / ulp_of(want));
        }
        free(x); free(w); free(o); free(u); free(cs); free(d);
    }
    check(!e_rms.bad, "%s rmsnorm vs double, n = 1..4099: <= 3 + sqrt(n) ulp  [worst %.2f ulp]", tag, e_rms.worst);
    check(!e_smx.bad, "%s softmax vs double, n = 1..4099, logits in +-30: <= 4 + sqrt(n) + 2|x-max| ulp  [worst %.2f of bound]", tag, e_smx.worst);
    check(!e_swg.bad, "%s swiglu vs double, |g| up to 100: <= 4 ulp (2^-100 absolute below 2^-100)  [worst %.2f ulp]", tag, e_swg.worst);
    check(!e_rope.bad, "%s rope_adjacent vs double: <= 2 ulp of the pair's magnitude  [worst %.2f]", tag, e_rope.worst);
    check(!e_ax.bad, "%s axpy vs double: <= 1 ulp (+1/2 ulp of a*x when not fused)  [worst %.2f ulp]", tag, e_ax.worst);
}

/* ==========================================================================================
 * B. the port table of this build against the reference
 * ======================================================================================== */

static void test_port_quantize(void) {
    if (!P->quantize_q8_0) return;
    enum { N = 4096 };
    float *x = xmalloc(N * 4);
    block_q8_0 a[N / QK], b[N / QK];
    int bad = 0;
    for (int rep = 0; rep < 34; rep++) {
        fill_act(x, N, ldexpf(1.0f, rep % 10 - 5));
        if (rep >= 30) fill_act(x, N, rep < 32 ? ldexpf(1.0f, -12 - 2 * (rep & 1)) : 1e7f * (float)(rep & 1 ? 1 : 30));   /* fp16 d subnormal / inf */
        if (rep == 1) for (int i = 0; i < N; i++) x[i] = 0.0f;
        if (rep >= 2 && rep < 6)   /* ties: amax = 127 -> id = 1: x = k + 0.5 must round to even */
            for (int i = 0; i < N; i++) x[i] = i % QK == 0 ? 127.0f : (float)((int)(rnd32() % 254) - 127) + 0.5f * (rep & 1 ? 1 : -1);
        if (rep == 6) for (int i = 0; i < N; i++) x[i] = ldexpf(rnd_sym(1.0f), -130);   /* subnormal inputs */
        if (rep == 7)   /* NaN, +-inf (codes 0), and an inf block: d = inf, id = 0, x*id NaN */
            for (int i = 0; i < N; i += 13) x[i] = i % 3 == 0 ? NAN : i % 3 == 1 ? INFINITY : -INFINITY;
        const int n = N - QK * (rep % 11);   /* block counts that are not a multiple of 8 too */
        memset(a, 0, sizeof a);
        memset(b, 0, sizeof b);
        quantize_row_q8_0_ref(n, a, x);
        P->quantize_q8_0(n, b, x);
        if (memcmp(a, b, sizeof a)) bad++;
    }
    check(!bad, "%s quantize_q8_0 == reference, bitwise, 34 rows of 118..128 blocks (zeros, .5 ties, subnormals, NaN/inf, fp16 scale subnormal and inf)  [%d rows differ]", P->name, bad);
    free(x);
}

static void test_port_block_dots(void) {
    static const int nblks[] = {1, 2, 3, 4, 5, 7, 8, 31, 32, 33, 63, 64, 65, 128, 130, 344};
    const int types[2] = {T_Q8_0, T_Q4_0};
    for (int k = 0; k < 2; k++) {
        const int t = types[k];
        if (!P->gemm[t]) continue;
        int bad = 0, cnt = 0;
        double worst = 0;
        for (size_t i = 0; i < sizeof nblks / sizeof *nblks; i++)
            for (int raw = 0; raw < 2; raw++) {
                int nb = nblks[i], n = nb * QK;
                block_q8_0 *a = xmalloc(nb * sizeof *a), *x = xmalloc(nb * sizeof *x);
                block_q4_0 *w4 = xmalloc(nb * sizeof *w4);
                make_q8(n, a, raw);
                make_q8(n, x, raw);
                make_q4(n, w4, raw);
                const void *w = t == T_Q8_0 ? (const void *)a : (const void *)w4;
                float r = t == T_Q8_0 ? dot_q8_0_q8_0_ref(n, w, x) : dot_q4_0_q8_0_ref(n, w, x), v = dot_of(P->gemm[t], n, w, x);
                if (memcmp(&r, &v, 4)) bad++;
                worst = fmax(worst, ulp_diff(r, v));
                cnt++;
                free(a); free(x); free(w4);
            }
        check(!bad, "%s gemm %s, 1x1 == reference dot, bitwise, %d rows of 1..344 blocks (chunk edges 32/64/128)  [%d differ, worst %.0f ulp]",
              P->name, t == T_Q8_0 ? "Q8_0" : "Q4_0", cnt, bad, worst);
    }
}

static void test_port_float_dots(void) {
    static const char *names[3] = {"F32", "F16", "BF16"};
    const int types[3] = {T_F32, T_F16, T_BF16};
    for (int k = 0; k < 3; k++) {
        const int t = types[k];
        if (!P->gemm[t]) continue;
        int bad = 0;
        double worst = 0;
        for (int i = 0; i < N_FLOAT_NS; i++)
            for (int rep = 0; rep < 3; rep++) {
                int n = float_ns[i];
                float *a = xmalloc(n * 4), *b = xmalloc(n * 4);
                uint16_t *h = xmalloc(n * 2);
                fill_act(a, n, 1.0f);
                fill_act(b, n, 1.0f);
                if (rep == 2) for (int j = 0; j < n; j += 5) a[j] = ldexpf(rnd_sym(1.0f), -20);   /* fp16 subnormals */
                if (t == T_F16) fill_f16(h, a, n);
                if (t == T_BF16) fill_bf16(h, a, n);
                const void *w = t == T_F32 ? (const void *)a : (const void *)h;
                float r = t == T_F32 ? dot_f32_f32_ref(n, w, b) : t == T_F16 ? dot_f16_f32_ref(n, w, b) : dot_bf16_f32_ref(n, w, b);
                float v = dot_of(P->gemm[t], n, w, b);
                if (memcmp(&r, &v, 4)) bad++;
                worst = fmax(worst, ulp_diff(r, v));
                free(a); free(b); free(h);
            }
        /* the reference's 8 partial sums and combination order: bitwise */
        check(!bad, "%s gemm %s, 1x1 == reference dot, bitwise, n = 1..4099 (partial last group%s)  [%d differ, worst %.0f ulp]",
              P->name, names[k], t == T_F16 ? ", fp16 subnormals" : "", bad, worst);
    }
}

#if defined(__riscv_vector)
#if (defined(__riscv_zvfhmin) || defined(__riscv_zvfh)) && !RVV_THEAD
#define RVV_HW_F16 1
#else
#define RVV_HW_F16 0
#endif
static void test_vector_f16_convert(void) {
    uint16_t h[64];
    float v[64];
    int bad = 0;
    for (int base = 0; base < 65536; base += 64) {
        for (int i = 0; i < 64; i++) h[i] = (uint16_t)(base + i);
        for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < 64;) {
            size_t vl = __riscv_vsetvl_e16m2((size_t)(64 - i));
#if RVV_THEAD   /* second pass: the halves loaded by th.vlhu.v (the f16 weights of the float dots) */
            if (pass) {
                vl = __riscv_vsetvl_e32m2((size_t)(64 - i));
                __riscv_vse32_v_f32m2(v + i, rvv_f16w_to_f32_m2(RVV_LD_H32(h + i, vl), vl), vl);
                i += (int)vl;
                continue;
            }
#endif
#if !RVV_THEAD   /* second pass: the conversion of the packed float layout (rvv_fp16_to_f32_m4) */
            if (pass) {
                __riscv_vse32_v_f32m4(v + i, rvv_fp16_to_f32_m4(__riscv_vle16_v_u16m2(h + i, vl), vl), vl);
                i += (int)vl;
                continue;
            }
#endif
            __riscv_vse32_v_f32m4(v + i, rvv_f16_to_f32_m4(__riscv_vle16_v_u16m2(h + i, vl), vl), vl);
            i += (int)vl;
        }
        for (int i = 0; i < 64; i++) {
            float r = fp16_to_fp32(h[i]);
            /* hardware conversions (Zvfhmin vfwcvt) return RISC-V's canonical NaN: any NaN is fine
             * there; the integer path keeps sign and payload like fp16_to_fp32 */
            if (isnan(r) ? !(isnan(v[i]) && (RVV_HW_F16 || f32_to_bits(v[i]) == f32_to_bits(r))) : f32_to_bits(r) != f32_to_bits(v[i]))
                bad++;
        }
        }
    }
    check(!bad, "vector fp16 -> fp32 (%s) == fp16_to_fp32 for all 65536 codes, bitwise%s  [%d differ]",
          RVV_HW_F16 ? "Zvfhmin vfwcvt" : RVV_THEAD ? "integer widening; and from th.vlhu.v" : "integer widening; and the packed layout's",
          RVV_HW_F16 ? " (NaN: any NaN)" : "", bad);
}
#endif /* __riscv_vector */

/* e^x: the reference (exp_ref) against double exp; the vector body against the reference */
typedef void (*exp_array_fn)(int n, const float *x, float *y);
static void reference_exp(int n, const float *x, float *y) {
    for (int i = 0; i < n; i++) y[i] = exp_ref(x[i]);
}
#if defined(__riscv_vector)
/* noinline: inlined into test_vector_exp's loop, GCC 14 for XTheadVector copies a register
 * group with th.vmv4r.v, which XTheadVector does not have (the assembler rejects it) */
static __attribute__((noinline)) void vector_exp(int n, const float *x, float *y) {
    for (int i = 0; i < n;) {
        size_t vl = __riscv_vsetvl_e32m4((size_t)(n - i));
        __riscv_vse32_v_f32m4(y + i, rvv_exp_m4(__riscv_vle32_v_f32m4(x + i, vl), vl), vl);
        i += (int)vl;
    }
}
static void test_vector_exp(void) {
    enum { N = 4096 };
    static float x[N], y1[N], y2[N];
    int bad = 0;
    for (int rep = 0; rep < 64; rep++) {
        for (int i = 0; i < N; i++) x[i] = rep < 48 ? -104.0f + 193.0f * ((float)(rep * N + i) / (48.0f * N)) : rnd_sym(rep & 1 ? 1.0f : 120.0f);
        if (rep == 63) { x[0] = INFINITY; x[1] = -INFINITY; x[2] = 0.0f; x[3] = -0.0f; x[4] = 1e-30f; }
        reference_exp(N, x, y1);
        vector_exp(N, x, y2);
        for (int i = 0; i < N; i++) bad += f32_to_bits(y1[i]) != f32_to_bits(y2[i]);
    }
    check(!bad, "vector exp == exp_ref bitwise, 262144 arguments in [-120, 120] + specials  [%d differ]", bad);
}
#endif

/* e^x of a body: max error in ulps against double exp over a dense sweep */
static void test_exp(const char *tag, exp_array_fn vexp) {
    enum { CH = 256 };
    float x[CH], y[CH];
    double worst = 0, worst_sub = 0;
    int bad = 0, n = 0;
    for (int rep = 0; rep < 4000; rep++) {
        for (int i = 0; i < CH; i++) {
            if (rep < 3000) x[i] = -104.0f + 193.0f * ((float)(rep * CH + i) / (3000.0f * CH));   /* even sweep */
            else x[i] = rnd_sym(rep & 1 ? 1.0f : 90.0f);
        }
        if (rep == 3999) {
            static const float sp[] = {0.0f, -0.0f, 1e-30f, -1e-30f, 88.72283f, 88.7229f, 89.0f, 100.0f, -87.33654f, -103.2789f, -103.9721f, -104.0f, -200.0f};
            for (size_t i = 0; i < sizeof sp / sizeof *sp; i++) x[i] = sp[i];
            x[20] = INFINITY; x[21] = -INFINITY; x[22] = NAN;
        }
        vexp(CH, x, y);
        for (int i = 0; i < CH; i++, n++) {
            double want = exp((double)x[i]);
            if (isnan(x[i])) { if (!isnan(y[i])) bad++; continue; }
            if (want > FLT_MAX) { if (y[i] != INFINITY) bad++; continue; }
            double err = fabs(y[i] - want) / ulp_of(want);
            if (want < FLT_MIN) { worst_sub = fmax(worst_sub, err); if (err > 1.0) bad++; continue; }
            worst = fmax(worst, err);
            if (err > 1.5) bad++;
        }
    }
    check(!bad, "%s exp vs double exp, %d arguments in [-104, 89] + specials: <= 1.5 ulp (<= 1 ulp of 2^-149 when subnormal)  [worst %.3f ulp, subnormal %.3f]", tag, n, worst, worst_sub);
}

/* The row-wise kernels of this build against the reference on the same data: bitwise (the
 * contract: sums in sum32 order, exp_ref, the same fused multiply-adds). Rows of 1..4099
 * elements (every remainder of 32 and of the vector lengths), softmax over logits in +-30,
 * swiglu with |g| up to 100 (exp's clamp and subnormal results). */
static int bits_differ(const float *a, const float *b, int n) {
    int d = 0;
    for (int i = 0; i < n; i++) d += f32_to_bits(a[i]) != f32_to_bits(b[i]);
    return d;
}
static void test_port_rowwise(void) {
    static const int ns[] = {1, 3, 8, 17, 31, 32, 33, 64, 100, 288, 1000, 4099};
    int b_rms = 0, b_smx = 0, b_swg = 0, b_rope = 0, b_neox = 0, b_ax = 0, b_split = 0, b_sc = 0, b_ws = 0;
    for (size_t t = 0; t < sizeof ns / sizeof *ns; t++) {
        int n = ns[t];
        float *x = xmalloc(n * 4), *w = xmalloc(n * 4), *o1 = xmalloc(n * 4), *o2 = xmalloc(n * 4), *cs = xmalloc(n * 4);
        fill_act(x, n, 1.0f);
        fill_act(w, n, 1.0f);
        rmsnorm_ref(n, o1, x, w, 1e-5f);
        K.rmsnorm(n, o2, x, w, 1e-5f);
        b_rms += bits_differ(o1, o2, n);
        for (int i = 0; i < n; i++) x[i] = rnd_sym(30.0f);
        memcpy(o1, x, n * 4);
        memcpy(o2, x, n * 4);
        softmax_ref(n, o1);
        K.softmax(n, o2);
        b_smx += bits_differ(o1, o2, n);
        for (int i = 0; i < n; i++) { x[i] = rnd_sym(i % 7 == 0 ? 100.0f : 12.0f); w[i] = rnd_act(); }
        memcpy(o1, x, n * 4);
        memcpy(o2, x, n * 4);
        swiglu_ref(n, o1, w);
        K.swiglu(n, o2, w);
        b_swg += bits_differ(o1, o2, n);
        /* the engine applies swiglu to chunks of a row: any split must give the same bits; here
         * pieces of 1, 2, ..., 9, 1, 2, ... elements (every element at some piece's start and end) */
        memcpy(o1, x, n * 4);
        for (int i = 0, len = 1; i < n; i += len, len = len % 9 + 1) K.swiglu(i + len <= n ? len : n - i, o1 + i, w + i);
        if (memcmp(o1, o2, n * 4)) b_split++;
        int nr = n & ~1;
        for (int i = 0; i < nr; i += 2) { double th = rnd_sym(100.0f); cs[i] = (float)cos(th); cs[i + 1] = (float)sin(th); }
        memcpy(o1, x, n * 4);
        memcpy(o2, x, n * 4);
        rope_adjacent_ref(nr, o1, cs);
        K.rope_adjacent(nr, o2, cs);
        b_rope += bits_differ(o1, o2, n);
        memcpy(o1, x, n * 4);
        memcpy(o2, x, n * 4);
        rope_neox_ref(nr, o1, cs);
        K.rope_neox(nr, o2, cs);
        b_neox += bits_differ(o1, o2, n);
        memcpy(o1, x, n * 4);
        memcpy(o2, x, n * 4);
        float a = rnd_sym(2.0f);
        axpy_ref(n, o1, a, w);
        K.axpy(n, o2, a, w);
        b_ax += bits_differ(o1, o2, n);
        memcpy(o1, x, n * 4);
        memcpy(o2, x, n * 4);
        scale_ref(n, o1, a);
        K.scale(n, o2, a);
        b_sc += bits_differ(o1, o2, n);
        /* wsum: m = 1..5 and 33 rows of n (row stride n + 3), their weights in +-1 */
        for (int m = 1; m <= 33; m = m < 5 ? m + 1 : m + 28) {
            float *v = xmalloc((size_t)m * (n + 3) * 4), pa[33];
            for (int j = 0; j < m; j++) { pa[j] = rnd_sym(1.0f); fill_act(v + (size_t)j * (n + 3), n + 3, 1.0f); }
            fill_act(o1, n, 1.0f);
            memcpy(o2, o1, n * 4);
            wsum_ref(n, m, o1, pa, v, (size_t)n + 3);
            K.wsum(n, m, o2, pa, v, (size_t)n + 3);
            b_ws += bits_differ(o1, o2, n);
            free(v);
        }
        free(x); free(w); free(o1); free(o2); free(cs);
    }
    check(!b_rms, "%s rmsnorm == reference, bitwise, n = 1..4099  [%d differ]", body_of(P->rmsnorm), b_rms);
    check(!b_smx, "%s softmax == reference, bitwise  [%d differ]", body_of(P->softmax), b_smx);
    check(!b_swg, "%s swiglu == reference, bitwise  [%d differ]", body_of(P->swiglu), b_swg);
    check(!b_split, "%s swiglu of a row == of it cut into pieces of 1..9 elements, bitwise  [%d lengths differ]", body_of(P->swiglu), b_split);
    check(!b_rope, "%s rope_adjacent == reference, bitwise  [%d differ]", body_of(P->rope_adjacent), b_rope);
    check(!b_neox, "%s rope_neox == reference, bitwise  [%d differ]", body_of(P->rope_neox), b_neox);
    check(!b_ax, "%s axpy == reference, bitwise  [%d differ]", body_of(P->axpy), b_ax);
    check(!b_sc, "%s scale == reference, bitwise  [%d differ]", body_of(P->scale), b_sc);
    /* argmax: random rows, ties of the maximum (first wins, also -0 against +0), NaN anywhere, rows of
     * NaN and -inf only, +inf */
    int b_am = 0, cases = 0;
    for (size_t t = 0; t < sizeof ns / sizeof *ns; t++)
        for (int kind = 0; kind < 6; kind++, cases++) {
            int n = ns[t];
            float *x = xmalloc(n * 4);
            for (int i = 0; i < n; i++) x[i] = rnd_sym(10.0f);
            const int a = n / 3, b = n - 1 - n / 5;
            if (kind == 1) { x[a] = 20.0f; x[b] = 20.0f; }
            if (kind == 2) { for (int i = 0; i < n; i++) x[i] = -fabsf(x[i]) - 1.0f; x[b] = 0.0f; x[a] = -0.0f; }
            if (kind == 3) { x[a] = NAN; x[0] = NAN; x[b] = 30.0f; }
            if (kind == 4) for (int i = 0; i < n; i++) x[i] = i % 3 ? -INFINITY : NAN;
            if (kind == 5) { x[b] = INFINITY; x[a] = NAN; }
            b_am += K.argmax(n, x) != argmax_ref(n, x);
            free(x);
        }
    check(!b_am, "%s argmax == reference (ties, -0/+0, NaN, -inf rows, +inf)  [%d of %d differ]", body_of(P->argmax), b_am, cases);
    check(!b_ws, "%s wsum == reference (m axpy calls on a zeroed row), bitwise, 1..5 and 33 rows  [%d differ]",
          body_of(P->wsum), b_ws);
}

/* ==========================================================================================
 * C. GEMM tiles == their 1x1 case, bitwise, for every nr, nb remainder
 * ======================================================================================== */
typedef struct { const char *name; int type, block; size_t wsize; } gemm_case;

static void test_gemm_vs_dot(const gemm_case *gc) {
    const gemm_fn g = K.gemm[gc->type];
    enum { NRMAX = 9, NBMAX = 9 };
    /* block types: n = 96 (3 blocks) and 1056 (33 blocks: crosses the 32-block chunk);
     * float types: n = 37 (partial last group of 8) and 1003 */
    int ns[2];
    if (gc->block) { ns[0] = 96; ns[1] = 1056; }
    else { ns[0] = 37; ns[1] = 1003; }
    int bad = 0, combos = 0;
    for (int t = 0; t < 2; t++) {
        int n = ns[t];
        size_t wrow, xrow;
        if (gc->block) {
            wrow = (size_t)n / QK * gc->wsize + 6;   /* padded rows: ldw, ldx larger than a row */
            xrow = (size_t)n / QK * sizeof(block_q8_0) + 10;
        } else {
            wrow = (size_t)n * gc->wsize + 2 * gc->wsize;
            xrow = (size_t)n * 4 + 12;
        }
        wrow = (wrow + 1) & ~(size_t)1;
        xrow = (xrow + 3) & ~(size_t)3;
        char *w = xmalloc(wrow * NRMAX), *x = xmalloc(xrow * NBMAX);
        float *tmp = xmalloc((size_t)n * 4);
        for (int r = 0; r < NRMAX; r++) {
            fill_act(tmp, n, 1.0f);
            char *row = w + r * wrow;
            if (!gc->block) {
                if (gc->wsize == 4) memcpy(row, tmp, (size_t)n * 4);
                else if (gc->type == T_F16) fill_f16((uint16_t *)(void *)row, tmp, n);
                else fill_bf16((uint16_t *)(void *)row, tmp, n);
            } else if (gc->wsize == sizeof(block_q8_0)) quantize_row_q8_0_ref(n, (block_q8_0 *)(void *)row, tmp);
            else quantize_row_q4_0(n, (block_q4_0 *)(void *)row, tmp);
        }
        for (int b = 0; b < NBMAX; b++) {
            fill_act(tmp, n, 1.0f);
            if (b == 1 || b == 2)
                for (int i = 0; i < n; i++) tmp[i] = b == 1 ? 1.0f : -1.0f;
            if (gc->block) quantize_row_q8_0_ref(n, (block_q8_0 *)(void *)(x + b * xrow), tmp);
            else memcpy(x + b * xrow, tmp, (size_t)n * 4);
        }
        size_t ldy = NRMAX + 3;
        float *y = xmalloc(ldy * NBMAX * 4), *d = xmalloc(ldy * NBMAX * 4);
        for (int r = 0; r < NRMAX; r++)
            for (int b = 0; b < NBMAX; b++) d[b * ldy + r] = dot_of(g, n, w + r * wrow, x + b * xrow);
        for (int nr = 1; nr <= NRMAX; nr++)
            for (int nb = 1; nb <= NBMAX; nb++)
                for (int off = 0; off < 2; off++) {   /* off: start at row 1 / act row 1 */
                    int r0 = off, b0 = off;
                    if (nr + r0 > NRMAX || nb + b0 > NBMAX) continue;
                    for (size_t i = 0; i < ldy * NBMAX; i++) y[i] = NAN;
                    g(n, nr, nb, y + b0 * ldy + r0, ldy, w + r0 * wrow, wrow, x + b0 * xrow, xrow);
                    combos++;
                    for (int b = 0; b < NBMAX; b++)
                        for (int r = 0; r < (int)ldy; r++) {
                            int inside = r >= r0 && r < r0 + nr && b >= b0 && b < b0 + nb;
                            float v = y[b * ldy + r];
                            if (inside ? memcmp(&v, &d[b * ldy + r], 4) != 0 : !isnan(v)) {
                                if (bad++ < 3)
                                    printf("     gemm_%s n=%d nr=%d nb=%d: y[%d][%d] = %a, dot = %a\n", gc->name, n, nr, nb, b, r, v,
                                           inside ? d[b * ldy + r] : NAN);
                            }
                        }
                }
        free(w); free(x); free(tmp); free(y); free(d);
    }
    check(!bad, "%s gemm %s: tiles nr, nb = 1..9 (all remainders) == the 1x1 case bitwise, 2 lengths, padded strides; nothing else written  [%d combos, %d wrong]",
          body_of(P->gemm[gc->type]), gc->name, combos, bad);
}

/* The F32 GEMM of attention's shape: many short rows (keys) of whole steps of 8 (the head size)
 * against 1..5 activation rows (the query heads of a key head), rows 1..9, around 32 (the lanes of
 * an e32m1 register at VLEN 1024) and beyond 64, bitwise the reference GEMM (the dots), padded
 * strides, nothing outside the nr x nb outputs written. */
static void test_gemm_f32_many_rows(void) {
    static const int ns[] = {8, 64, 136}, nrs[] = {1, 3, 4, 5, 8, 9, 31, 32, 33, 65, 100}, nbs[] = {1, 2, 3, 5};
    enum { NRMAX = 100, NBMAX = 5 };
    int bad = 0, combos = 0;
    for (size_t t = 0; t < sizeof ns / sizeof *ns; t++) {
        const int n = ns[t];
        const size_t ldw = (size_t)n * 4 + 8, ldx = (size_t)n * 4 + 4, ldy = NRMAX + 3;
        char *w = xmalloc(ldw * NRMAX), *x = xmalloc(ldx * NBMAX);
        float *y = xmalloc(ldy * NBMAX * 4), *d = xmalloc(ldy * NBMAX * 4);
        for (int r = 0; r < NRMAX; r++) fill_act((float *)(void *)(w + r * ldw), n, 1.0f);
        for (int b = 0; b < NBMAX; b++) fill_act((float *)(void *)(x + b * ldx), n, 1.0f);
        for (size_t a = 0; a < sizeof nrs / sizeof *nrs; a++)
            for (size_t c = 0; c < sizeof nbs / sizeof *nbs; c++) {
                const int nr = nrs[a], nb = nbs[c];
                for (size_t i = 0; i < ldy * NBMAX; i++) y[i] = d[i] = NAN;
                gemm_f32_f32_ref(n, nr, nb, d, ldy, w, ldw, x, ldx);
                K.gemm[T_F32](n, nr, nb, y, ldy, w, ldw, x, ldx);
                combos++;
                for (size_t i = 0; i < ldy * NBMAX; i++)
                    if (isnan(d[i]) ? !isnan(y[i]) : memcmp(&y[i], &d[i], 4) != 0) {
                        if (bad++ < 3) printf("     gemm_F32 n=%d nr=%d nb=%d: y[%zu] = %a, reference %a\n", n, nr, nb, i, y[i], d[i]);
                    }
            }
        free(w); free(x); free(y); free(d);
    }
    check(!bad, "%s gemm F32 of many rows (n = 8, 64, 136; nr = 1..100; nb = 1..5) == reference bitwise, nothing else written  [%d combos, %d wrong]",
          body_of(P->gemm[T_F32]), combos, bad);
}

/* ==========================================================================================
 * D. the port's packed layouts (kernel_port.packed): every row comes back from unpack_row
 *    unchanged, and the layout's GEMM == the reference GEMM on the file's layout, bitwise
 * ======================================================================================== */
/* one weight row of the type, from n floats (the file's quantizers) */
static void quantize_weight_row(int type, int n, void *row, const float *x) {
    switch (type) {
    case T_Q4_0: quantize_row_q4_0(n, row, x); break;
    case T_Q8_0: quantize_row_q8_0_ref(n, row, x); break;
    case T_Q4_K: quantize_row_q4_K(n, row, x); break;
    case T_Q5_K: quantize_row_q5_K(n, row, x); break;
    case T_Q6_K: quantize_row_q6_K(n, row, x); break;
    case T_Q3_K: quantize_row_q3_K(n, row, x); break;
    case T_Q2_K: quantize_row_q2_K(n, row, x); break;
    }
}

/* The packed layouts' GEMM against the reference GEMM on the file's layout, bitwise: the
 * first 1..5 and 9 groups of the NG packed in wp (w: the same rows, file layout) against nb =
 * 1..5 and 35 of the NBMAX activation rows in x; outside the nr x nb result nothing is written. */
enum { NG = 9, NBMAX = 35 };
static void packed_gemm_sweep(const weight_layout *L, gemm_fn ref, const char *name, int n, const char *w, size_t wrow,
                              const char *wp, const char *x, size_t xrow, int *combos, int *bad) {
    static const int nbs[6] = {1, 2, 3, 4, 5, 35}, ngs[6] = {1, 2, 3, 4, 5, 9};
    const int G = L->rows;
    const size_t ldy = (size_t)G * NG + 5;
    float *y = xmalloc(ldy * NBMAX * 4), *d = xmalloc(ldy * NBMAX * 4);
    ref(n, G * NG, NBMAX, d, ldy, w, wrow, x, xrow);
    for (int ig = 0; ig < 6; ig++)
        for (int ib = 0; ib < 6; ib++) {
            const int nr = ngs[ig] * G, nb = nbs[ib];
            for (size_t i = 0; i < ldy * NBMAX; i++) y[i] = NAN;
            L->gemm(n, nr, nb, y, ldy, wp, 0, x, xrow);
            (*combos)++;
            for (int b = 0; b < NBMAX; b++)
                for (int r = 0; r < (int)ldy; r++) {
                    const int inside = r < nr && b < nb;
                    const float v = y[b * ldy + r];
                    if (inside ? memcmp(&v, &d[b * ldy + r], 4) != 0 : !isnan(v)) {
                        if ((*bad)++ < 3)
                            printf("     packed %s n=%d nr=%d nb=%d: y[%d][%d] = %a, reference = %a\n", name, n, nr, nb, b, r, v,
                                   inside ? d[b * ldy + r] : NAN);
                    }
                }
        }
    free(y); free(d);
}

static void test_packed(int type) {
    const weight_layout *L = &K.packed[type];   /* the resolved table: layouts may be chosen then */
    if (!L->pack) return;
    static const struct { int type; const char *name; size_t bs; } kinds[] = {
        {T_Q8_0, "Q8_0", sizeof(block_q8_0)}, {T_Q4_0, "Q4_0", sizeof(block_q4_0)}, {T_Q2_K, "Q2_K", sizeof(block_q2_K)},
        {T_Q3_K, "Q3_K", sizeof(block_q3_K)}, {T_Q4_K, "Q4_K", sizeof(block_q4_K)}, {T_Q5_K, "Q5_K", sizeof(block_q5_K)},
        {T_Q6_K, "Q6_K", sizeof(block_q6_K)}};
    int ki = 0;
    while (kinds[ki].type != type) ki++;
    const char *name = kinds[ki].name;
    const size_t wbs = kinds[ki].bs;
    const int kq = type != T_Q4_0 && type != T_Q8_0, bk = kq ? QK_K : QK;   /* K-quants: Q8_K activations */
    const size_t xbs = kq ? sizeof(block_q8_K) : sizeof(block_q8_0);
    const gemm_fn ref = port_reference.gemm[type];
    const int G = L->rows;
    /* n = 96, 1056, 4160 (130 blocks: three chunks of the x86 body), for the K-quants 256,
     * 1280, 5632; nb up to 35 (two activation chunks); 1, 2, 3, 4, 5, 9 groups (decode walks
     * 4 streams plus the rest) */
    const int ns[3] = {kq ? 256 : 96, kq ? 1280 : 1056, kq ? 5632 : 4160};
    int bad_rt = 0, bad = 0, combos = 0;
    for (int t = 0; t < 3; t++) {
        const int n = ns[t], nblk = n / bk;
        const size_t wrow = (size_t)nblk * wbs + 4, xrow = (size_t)nblk * xbs + (kq ? 4 : 6), gbytes = (size_t)G * nblk * wbs;
        char *w = xmalloc(wrow * G * NG), *wp = xmalloc(gbytes * NG), *x = xmalloc(xrow * NBMAX), *row = xmalloc((size_t)nblk * wbs);
        float *tmp = xmalloc((size_t)n * 4);
        /* rows and activations of constant +-1 among the random ones: the extreme codes (all
         * -32 of Q6_K, 15 and 31 of Q4_K and Q5_K, +-127 of the activations), where a partial
         * sum of a layout's kernel would first leave its integer width */
        for (int r = 0; r < G * NG; r++) {
            fill_act(tmp, n, 1.0f);
            if (r % 4 == 1 || r % 4 == 3)
                for (int i = 0; i < n; i++) tmp[i] = r % 4 == 1 ? 1.0f : -1.0f;
            quantize_weight_row(type, n, w + r * wrow, tmp);
        }
        for (int g = 0; g < NG; g++) L->pack(n, wp + g * gbytes, w + (size_t)g * G * wrow, wrow);
        for (int r = 0; r < G * NG; r++) {
            L->unpack_row(n, row, wp + (r / G) * gbytes, r % G);
            if (memcmp(row, w + r * wrow, (size_t)nblk * wbs)) bad_rt++;
        }
        for (int b = 0; b < NBMAX; b++) {
            fill_act(tmp, n, 1.0f);
            if (b == 1 || b == 2)
                for (int i = 0; i < n; i++) tmp[i] = b == 1 ? 1.0f : -1.0f;
            if (kq) quantize_row_q8_K_ref(n, (block_q8_K *)(void *)(x + b * xrow), tmp);
            else quantize_row_q8_0_ref(n, (block_q8_0 *)(void *)(x + b * xrow), tmp);
        }
        packed_gemm_sweep(L, ref, name, n, w, wrow, wp, x, xrow, &combos, &bad);
        free(w); free(wp); free(x); free(row); free(tmp);
    }
    check(!bad_rt, "%s packed %s (%d rows per group): every row comes back unchanged", P->name, name, G);
    check(!bad, "%s packed %s GEMM == reference GEMM on the file's layout, bitwise: 1..5 and 9 groups, nb 1..5 and 35, 3 lengths; nothing else written  [%d combos, %d wrong]",
          P->name, name, combos, bad);
}

/* the float types' layouts: weights from fill_act (every fifth element of F16 weights an fp16
 * subnormal), float activation rows; n with every remainder mod 8 and several chunks of steps */
static void test_packed_float(int type) {
    const weight_layout *L = &K.packed[type];
    if (!L->pack) return;
    const char *name = type == T_F32 ? "F32" : type == T_F16 ? "F16" : "BF16";
    const size_t es = type == T_F32 ? 4 : 2;
    const gemm_fn ref = port_reference.gemm[type];
    const int G = L->rows;
    const int ns[5] = {5, 96, 101, 1061, 4163};
    int bad_rt = 0, bad = 0, combos = 0;
    for (int t = 0; t < 5; t++) {
        const int n = ns[t];
        const size_t wrow = (size_t)n * es + 4, xrow = (size_t)n * 4 + 12, gbytes = (size_t)G * n * es;
        char *w = xmalloc(wrow * G * NG), *wp = xmalloc(gbytes * NG), *x = xmalloc(xrow * NBMAX), *row = xmalloc((size_t)n * es);
        float *tmp = xmalloc((size_t)n * 4);
        for (int r = 0; r < G * NG; r++) {
            fill_act(tmp, n, 1.0f);
            if (type == T_F16) for (int j = r % 5; j < n; j += 5) tmp[j] = ldexpf(rnd_sym(1.0f), -20);
            if (type == T_F32) memcpy(w + r * wrow, tmp, (size_t)n * 4);
            if (type == T_F16) fill_f16((uint16_t *)(void *)(w + r * wrow), tmp, n);
            if (type == T_BF16) fill_bf16((uint16_t *)(void *)(w + r * wrow), tmp, n);
        }
        for (int g = 0; g < NG; g++) L->pack(n, wp + g * gbytes, w + (size_t)g * G * wrow, wrow);
        for (int r = 0; r < G * NG; r++) {
            L->unpack_row(n, row, wp + (r / G) * gbytes, r % G);
            if (memcmp(row, w + r * wrow, (size_t)n * es)) bad_rt++;
        }
        for (int b = 0; b < NBMAX; b++) fill_act((float *)(void *)(x + b * xrow), n, 1.0f);
        packed_gemm_sweep(L, ref, name, n, w, wrow, wp, x, xrow, &combos, &bad);
        free(w); free(wp); free(x); free(row); free(tmp);
    }
    check(!bad_rt, "%s packed %s (%d rows per group): every row comes back unchanged", P->name, name, G);
    check(!bad, "%s packed %s GEMM == reference GEMM on the file's layout, bitwise: 1..5 and 9 groups, nb 1..5 and 35, n = 5, 96, 101, 1061, 4163; nothing else written  [%d combos, %d wrong]",
          P->name, name, combos, bad);
}

static void test_dispatch(void) {
    const char *why = NULL;
    check(kernels_cpu_ok(&why) && !why, "kernels_cpu_ok, kernel variant: %s", kernels_variant());
}

static __attribute__((noinline)) int run_tests(void) {
    K = kernels_resolve();
    test_dispatch();
    test_fp16();
    test_bf16();
    test_quant_ref();
    test_q8_0_rounding();
    test_block_dots_ref();
    test_float_dots_ref();
    test_rowwise("reference", rmsnorm_ref, softmax_ref, swiglu_ref, rope_adjacent_ref, axpy_ref);
    test_exp("reference", reference_exp);
    test_port_quantize();
    test_port_block_dots();
    test_port_float_dots();
#if defined(__riscv_vector)
    test_vector_f16_convert();
    test_vector_exp();
#endif
    test_port_rowwise();
    static const gemm_case cases[] = {
        {"Q8_0", T_Q8_0, 1, sizeof(block_q8_0)}, {"Q4_0", T_Q4_0, 1, sizeof(block_q4_0)}, {"F32", T_F32, 0, 4},
        {"F16", T_F16, 0, 2}, {"BF16", T_BF16, 0, 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) test_gemm_vs_dot(&cases[i]);
    test_gemm_f32_many_rows();
    const int packed_types[] = {T_Q8_0, T_Q4_0, T_Q2_K, T_Q3_K, T_Q4_K, T_Q5_K, T_Q6_K};
    for (size_t i = 0; i < sizeof packed_types / sizeof *packed_types; i++) test_packed(packed_types[i]);
    test_packed_float(T_F32);
    test_packed_float(T_F16);
    test_packed_float(T_BF16);
#if defined(__riscv_vector)
    if (__riscv_vsetvlmax_e8m1() <= 128)   /* VLEN <= 1024: the layouts' buffers hold a group's columns */
        check(K.packed[T_Q8_0].pack && K.packed[T_Q4_0].pack && K.packed[T_Q4_K].pack && K.packed[T_Q5_K].pack && K.packed[T_Q6_K].pack && K.packed[T_F32].pack && K.packed[T_F16].pack && K.packed[T_BF16].pack,
              "%s has packed layouts for Q8_0, Q4_0, Q4_K, Q5_K, Q6_K (%d rows per group), F32, F16 and BF16 (%d rows)", P->name,
              K.packed[T_Q8_0].rows, K.packed[T_F32].rows);
#endif
#if defined(X86_512) && X86_512
    check(P->packed[T_Q8_0].pack && P->packed[T_Q4_0].pack && P->packed[T_Q2_K].pack && P->packed[T_Q3_K].pack && P->packed[T_Q4_K].pack && P->packed[T_Q5_K].pack && P->packed[T_Q6_K].pack,
          "%s has packed layouts for Q8_0, Q4_0 and Q2_K .. Q6_K", P->name);
#endif
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

/* ==========================================================================================
 * Instruction counts (tools/RISCV.md): `test_kernels bench KERNEL REPS [ref]` calls one kernel
 * REPS times on rows of 4096 elements (the reference body with "ref"); run it under qemu with
 * the rvcount plugin for REPS and for 0 and divide the difference by REPS.
 * Kernels: quantize dot_q8 dot_q4 dot_f32 dot_f16 dot_bf16, gemm_q8 gemm_q4 gemm_f32 gemm_f16
 * (tiles of NR x NB, env GEMM_NR / GEMM_NB, default 4 x 4), rmsnorm softmax swiglu axpy rope
 * scale wsum (64 value rows of 64 weighted into one), and where the build has a packed layout
 * for the type, gemm_q8_packed gemm_q4_packed gemm_f32_packed gemm_f16_packed (one group of
 * the layout's rows against NB activation rows, packed before the calls).
 * ======================================================================================== */
static __attribute__((noinline)) int bench(const char *k, long reps, int ref) {
    enum { N = 4096, NRMAX = LAYOUT_MAX_ROWS, NBMAX = 32 };
    int nr = getenv("GEMM_NR") ? atoi(getenv("GEMM_NR")) : 4, nb = getenv("GEMM_NB") ? atoi(getenv("GEMM_NB")) : 4;
    if (nr < 1 || nr > NRMAX || nb < 1 || nb > NBMAX) return 2;
    float *xf = xmalloc((size_t)N * NBMAX * 4), *wf = xmalloc((size_t)N * NRMAX * 4), *y = xmalloc(NRMAX * NBMAX * 4);
    uint16_t *wh = xmalloc((size_t)N * NRMAX * 2);
    block_q8_0 *xq = xmalloc((size_t)N / QK * NBMAX * sizeof(block_q8_0)), *w8 = xmalloc((size_t)N / QK * NRMAX * sizeof(block_q8_0));
    block_q4_0 *w4 = xmalloc((size_t)N / QK * NRMAX * sizeof(block_q4_0));
    fill_act(xf, N * NBMAX, 1.0f);
    fill_act(wf, N * NRMAX, 0.05f);
    fill_f16(wh, wf, N * NRMAX);
    for (int b = 0; b < NBMAX; b++) quantize_row_q8_0_ref(N, xq + (size_t)b * (N / QK), xf + (size_t)b * N);
    for (int r = 0; r < NRMAX; r++) {
        quantize_row_q8_0_ref(N, w8 + (size_t)r * (N / QK), wf + (size_t)r * N);
        quantize_row_q4_0(N, w4 + (size_t)r * (N / QK), wf + (size_t)r * N);
    }
    const size_t l8 = N / QK * sizeof(block_q8_0), l4 = N / QK * sizeof(block_q4_0);
    volatile float sink = 0;
    const kernel_port *kp = ref ? &port_reference : &K;
    /* a packed layout's GEMM: one group of its rows, packed here (not counted: REPS = 0 packs too) */
    const int pt = !strcmp(k, "gemm_q8_packed") ? T_Q8_0 : !strcmp(k, "gemm_q4_packed") ? T_Q4_0
                 : !strcmp(k, "gemm_f32_packed") ? T_F32 : !strcmp(k, "gemm_f16_packed") ? T_F16 : -1;
    void *group = NULL;
    if (pt >= 0) {
        const weight_layout *L = &kp->packed[pt];
        if (!L->pack) { fprintf(stderr, "%s: %s has no packed layout for this type\n", k, kp->name); return 2; }
        const void *src = pt == T_Q8_0 ? (const void *)w8 : pt == T_Q4_0 ? (const void *)w4 : pt == T_F32 ? (const void *)wf : (const void *)wh;
        const size_t ld = pt == T_Q8_0 ? l8 : pt == T_Q4_0 ? l4 : pt == T_F32 ? N * 4 : N * 2;
        group = xmalloc(ld * (size_t)L->rows);
        L->pack(N, group, src, ld);
    }
    for (long i = 0; i < reps; i++) {
        if (!strcmp(k, "quantize")) kp->quantize_q8_0(N, xq, xf);
        else if (!strcmp(k, "dot_q8")) sink = dot_of(kp->gemm[T_Q8_0], N, w8, xq);
        else if (!strcmp(k, "dot_q4")) sink = dot_of(kp->gemm[T_Q4_0], N, w4, xq);
        else if (!strcmp(k, "dot_f32")) sink = dot_of(kp->gemm[T_F32], N, wf, xf);
        else if (!strcmp(k, "dot_f16")) sink = dot_of(kp->gemm[T_F16], N, wh, xf);
        else if (!strcmp(k, "dot_bf16")) sink = dot_of(kp->gemm[T_BF16], N, wh, xf);
        else if (!strcmp(k, "gemm_q8")) kp->gemm[T_Q8_0](N, nr, nb, y, NRMAX, w8, l8, xq, l8);
        else if (!strcmp(k, "gemm_q4")) kp->gemm[T_Q4_0](N, nr, nb, y, NRMAX, w4, l4, xq, l8);
        else if (!strcmp(k, "gemm_f32")) kp->gemm[T_F32](N, nr, nb, y, NRMAX, wf, N * 4, xf, N * 4);
        else if (!strcmp(k, "gemm_f16")) kp->gemm[T_F16](N, nr, nb, y, NRMAX, wh, N * 2, xf, N * 4);
        else if (!strcmp(k, "rmsnorm")) kp->rmsnorm(N, y, xf, wf, 1e-5f);
        else if (!strcmp(k, "softmax")) kp->softmax(N, xf);
        else if (!strcmp(k, "swiglu")) kp->swiglu(N, xf, wf);
        else if (!strcmp(k, "axpy")) kp->axpy(N, xf, 1e-3f, wf);
        else if (!strcmp(k, "scale")) kp->scale(N, xf, 0.999f);
        else if (!strcmp(k, "wsum")) kp->wsum(64, N / 64, y, xf, wf, 64);   /* attention: 64 rows of 64 */
        else if (!strcmp(k, "rope")) kp->rope_adjacent(N, xf, wf);
        else if (pt >= 0) {
            const size_t lx = pt == T_Q8_0 || pt == T_Q4_0 ? l8 : N * 4;
            kp->packed[pt].gemm(N, kp->packed[pt].rows, nb, y, NRMAX, group, 0, pt == T_Q8_0 || pt == T_Q4_0 ? (const void *)xq : (const void *)xf, lx);
        }
        else { fprintf(stderr, "unknown kernel %s\n", k); return 2; }
    }
    (void)sink;
    free(group);
    return 0;
}

int main(int argc, char **argv) {
    /* first, before anything the compiler may have vectorized: can this CPU run our code? */
    const char *why;
    if (!kernels_cpu_ok(&why)) {
        fprintf(stderr, "test_kernels: %s\n", why);
        return 2;
    }
    K = kernels_resolve();
    if (argc >= 4 && !strcmp(argv[1], "bench")) return bench(argv[2], atol(argv[3]), argc > 4 && !strcmp(argv[4], "ref"));
    return run_tests();
}
