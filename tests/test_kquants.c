/* tests/test_kquants.c - checks the K-quant kernels of rvv_kernels.h (Q2_K..Q6_K weights, Q8_K
 * activations). Self-contained:
 *
 *   cc -O3 -march=native -Wall -Wextra -std=gnu11 -I. -o tests/test_kquants tests/test_kquants.c -lm
 *   clang -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -I. ... (the same file)
 *
 * One line per check (PASS or FAIL, what was checked, the worst error seen), then
 * "N passed, N failed"; the exit status is non-zero when a check failed.
 *   A. layout: a hand-built block per format with known scales and codes, decoded element by
 *      element; blocks made by ggml itself (golden bytes below) decoded and dotted; the scale
 *      packing helpers over every value;
 *   B. Q8_K activations: error bound, bsums, this build's body == reference;
 *   C. round trips quantize -> dequantize for every type (RMS error bounds), 1, 3, 17 blocks;
 *   D. every dot against a double-precision dot of the dequantized rows (float rounding only),
 *      quantized and random blocks, this build's body (the port table's GEMM, 1x1) == reference;
 *   E. every GEMM tile element == the dot, bitwise (padded strides, nr, nb = 1..6);
 *   F. edge cases: all-zero blocks, NaN / inf / huge / subnormal inputs to every quantizer
 *      (run this file under -fsanitize=address,undefined to check there is no UB).
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

/* ---- random data (deterministic) ---------------------------------------------------------- */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd64(void) {   /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static double rnd_unit(void) { return ((rnd64() >> 11) + 0.5) * (1.0 / 9007199254740992.0); }   /* (0, 1) */
static float rnd_gauss(void) { return (float)(sqrt(-2.0 * log(rnd_unit())) * cos(6.283185307179586 * rnd_unit())); }
static void fill_gauss(float *x, int n, float scale) { for (int i = 0; i < n; i++) x[i] = rnd_gauss() * scale; }

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) { fprintf(stderr, "out of memory\n"); exit(2); }
    return p;
}

/* ---- the five weight types behind one interface ------------------------------------------- */
#define KQ_WRAP(t)                                                                                 \
    static void quant_##t(int n, void *y, const float *x) { quantize_row_##t(n, (block_##t *)y, x); } \
    static void deq_##t(int n, float *y, const void *x) { dequantize_row_##t(n, y, (const block_##t *)x); }
KQ_WRAP(q2_K)
KQ_WRAP(q3_K)
KQ_WRAP(q4_K)
KQ_WRAP(q5_K)
KQ_WRAP(q6_K)

typedef struct {
    const char *name;
    size_t bsize;                 /* bytes per super-block */
    void (*quant)(int n, void *y, const float *x);
    void (*deq)(int n, float *y, const void *x);
    int type;                     /* T_Q2_K ...: its GEMM in this build's port table */
    dot_fn dot_ref;
    int off_d, off_dmin;          /* byte offsets of the fp16 d and dmin (-1: no mins) */
    double rms_bound;             /* RMS error / RMS of zero-mean Gaussian data stays below this */
    double rms_bound_mean;        /* the same with a mean of 0.7 sigma: symmetric formats (no mins)
                                     then use about half their codes */
} kq_type;

static const kq_type types[] = {
    {"q2_K", sizeof(block_q2_K), quant_q2_K, deq_q2_K, T_Q2_K, dot_q2_K_q8_K_ref,
     offsetof(block_q2_K, d), offsetof(block_q2_K, dmin), 0.275, 0.26},
    {"q3_K", sizeof(block_q3_K), quant_q3_K, deq_q3_K, T_Q3_K, dot_q3_K_q8_K_ref,
     offsetof(block_q3_K, d), -1, 0.150, 0.16},
    {"q4_K", sizeof(block_q4_K), quant_q4_K, deq_q4_K, T_Q4_K, dot_q4_K_q8_K_ref,
     offsetof(block_q4_K, d), offsetof(block_q4_K, dmin), 0.074, 0.068},
    {"q5_K", sizeof(block_q5_K), quant_q5_K, deq_q5_K, T_Q5_K, dot_q5_K_q8_K_ref,
     offsetof(block_q5_K, d), offsetof(block_q5_K, dmin), 0.037, 0.035},
    {"q6_K", sizeof(block_q6_K), quant_q6_K, deq_q6_K, T_Q6_K, dot_q6_K_q8_K_ref,
     offsetof(block_q6_K, d), -1, 0.018, 0.030},
};
#define N_TYPES (int)(sizeof types / sizeof types[0])

/* this build's kernels (rvv_kernels.h: the port table, NULL entries filled from the reference);
 * the dot of a weight row and an activation row is the GEMM's 1x1 case */
static kernel_port K;
static float port_dot(const kq_type *t, int n, const void *w, const void *x) {
    float y;
    K.gemm[t->type](n, 1, 1, &y, 1, w, 0, x, 0);
    return y;
}

static void set_fp16(void *blk, int off, float v) {
    uint16_t h = fp32_to_fp16(v);
    memcpy((char *)blk + off, &h, 2);
}

/* RMS of (y - x) over RMS of x, over the elements where x is finite */
static double rel_rms(int n, const float *x, const float *y) {
    double e = 0, s = 0;
    for (int i = 0; i < n; i++) {
        if (!isfinite(x[i])) continue;
        e += ((double)y[i] - x[i]) * ((double)y[i] - x[i]);
        s += (double)x[i] * x[i];
    }
    return s > 0 ? sqrt(e / s) : sqrt(e);
}

/* ---- the reference dot: double precision over the dequantized rows ------------------------
 * ref = sum_e w_e * x_e. The float dot rounds isum, d*x.d and their product once each and
 * then adds block after block, so its error is a few float ulps of the magnitude
 *   M = sum_e |x_e| * (|d sc_e q_e| + |dmin m_e|)
 * (the two parts of w_e separately: with mins they cancel, their sizes do not). The parts
 * come from decoding copies of the block with dmin = 0 and with d = 0. */
static void dot_reference(const kq_type *t, int n, const void *w, const block_q8_K *xq, double *ref, double *mag) {
    const int nb = n / QK_K;
    float *wf = xmalloc(n * sizeof(float)), *a = xmalloc(n * sizeof(float)), *m = xmalloc(n * sizeof(float));
    float *xf = xmalloc(n * sizeof(float));
    char *tmp = xmalloc(nb * t->bsize);
    t->deq(n, wf, w);
    dequantize_row_q8_K(n, xf, xq);
    if (t->off_dmin >= 0) {
        memcpy(tmp, w, nb * t->bsize);
        for (int b = 0; b < nb; b++) set_fp16(tmp + b * t->bsize, t->off_dmin, 0.0f);
        t->deq(n, a, tmp);
        memcpy(tmp, w, nb * t->bsize);
        for (int b = 0; b < nb; b++) set_fp16(tmp + b * t->bsize, t->off_d, 0.0f);
        t->deq(n, m, tmp);
    } else {
        memcpy(a, wf, n * sizeof(float));
        memset(m, 0, n * sizeof(float));
    }
    double r = 0, g = 0;
    for (int i = 0; i < n; i++) {
        r += (double)wf[i] * xf[i];
        g += fabs((double)xf[i]) * (fabs((double)a[i]) + fabs((double)m[i]));
    }
    *ref = r;
    *mag = g;
    free(wf); free(a); free(m); free(xf); free(tmp);
}

/* ==========================================================================================
 * A1. hand-built blocks: known scales and codes placed bit by bit as the format tables say,
 * d and dmin powers of two, so every weight is exact and the decode must match exactly.
 * ======================================================================================== */
static void put_bits(uint8_t *p, int byte, int shift, int v) { p[byte] |= (uint8_t)(v << shift); }

/* Q4_K and Q5_K share these; the 12 bytes were worked out by hand from the scale table */
static const int hb_sc4[8] = {1, 7, 20, 63, 33, 47, 16, 58}, hb_m4[8] = {0, 5, 62, 17, 48, 31, 9, 40};
static const uint8_t hb_scales4[12] = {0x81, 0x87, 0x54, 0xFF, 0xC0, 0x45, 0x3E, 0x91, 0x01, 0xFF, 0x90, 0x8A};
/* Q3_K: scales -32..31, stored + 32, packed by hand */
static const int hb_sc3[16] = {-32, 31, 0, -1, 1, 15, -16, 7, -8, 20, -20, 3, -3, 11, 26, -27};
static const uint8_t hb_scales3[12] = {0x80, 0x4F, 0xC0, 0x3F, 0xD1, 0xBF, 0xA0, 0x57, 0x58, 0xBB, 0xC6, 0x29};
static const int hb_sc6[16] = {-128, 127, -1, 1, 5, -7, 64, -64, 3, 9, -20, 33, 100, -100, 0, 2};
static const int hb_sc2[16] = {15, 0, 1, 7, 8, 3, 12, 5, 9, 2, 14, 6, 11, 4, 13, 10};
static const int hb_m2[16] = {0, 15, 3, 9, 1, 12, 7, 2, 14, 5, 8, 11, 6, 10, 4, 13};

static int compare_exact(const float *y, const double *want, int *first) {
    int bad = 0;
    *first = -1;
    for (int e = 0; e < QK_K; e++)
        if ((double)y[e] != want[e]) { if (*first < 0) *first = e; bad++; }
    return bad;
}

static void test_hand_built(void) {
    float y[QK_K];
    double want[QK_K];
    int bad, first;
    {   /* Q4_K: element 64c + l low nibble of qs[32c + l], 64c + 32 + l the high nibble */
        block_q4_K b;
        memset(&b, 0, sizeof b);
        b.d = 0x3C00;      /* 1.0 */
        b.dmin = 0x3800;   /* 0.5 */
        memcpy(b.scales, hb_scales4, 12);
        for (int e = 0; e < QK_K; e++) {
            int q = (e * 7 + e / 32) & 15;
            put_bits(b.qs, 32 * (e / 64) + e % 32, 4 * ((e / 32) & 1), q);
            want[e] = 1.0 * hb_sc4[e / 32] * q - 0.5 * hb_m4[e / 32];
        }
        dequantize_row_q4_K(QK_K, y, &b);
        bad = compare_exact(y, want, &first);
        check(!bad, "layout q4_K: hand-built block (scales incl. 6-bit values >= 16 in sub-blocks 4..7), 256 elements exact  [%d wrong, first %d]", bad, first);
    }
    {   /* Q5_K: as Q4_K, fifth bit of element e in qh[e % 32] bit e / 32 */
        block_q5_K b;
        memset(&b, 0, sizeof b);
        b.d = 0x3800;      /* 0.5 */
        b.dmin = 0x3400;   /* 0.25 */
        memcpy(b.scales, hb_scales4, 12);
        for (int e = 0; e < QK_K; e++) {
            int q = (e * 13 + e / 16) & 31;
            put_bits(b.qs, 32 * (e / 64) + e % 32, 4 * ((e / 32) & 1), q & 15);
            put_bits(b.qh, e % 32, e / 32, q >> 4);
            want[e] = 0.5 * hb_sc4[e / 32] * q - 0.25 * hb_m4[e / 32];
        }
        dequantize_row_q5_K(QK_K, y, &b);
        bad = compare_exact(y, want, &first);
        check(!bad, "layout q5_K: hand-built block, 256 elements exact  [%d wrong, first %d]", bad, first);
    }
    {   /* Q6_K: h = e/128, k = (e%128)/32, l = e%32: low 4 bits in ql[64h + 32(k&1) + l] nibble k>>1,
         * high 2 bits in qh[32h + l] bits 2k; value d * scales[e/16] * (q - 32) */
        block_q6_K b;
        memset(&b, 0, sizeof b);
        b.d = 0x3400;      /* 0.25 */
        for (int s = 0; s < 16; s++) b.scales[s] = (int8_t)hb_sc6[s];
        for (int e = 0; e < QK_K; e++) {
            int q = (e * 11 + 5) & 63, h = e / 128, k = (e % 128) / 32, l = e % 32;
            put_bits(b.ql, 64 * h + 32 * (k & 1) + l, 4 * (k >> 1), q & 15);
            put_bits(b.qh, 32 * h + l, 2 * k, q >> 4);
            want[e] = 0.25 * hb_sc6[e / 16] * (q - 32);
        }
        dequantize_row_q6_K(QK_K, y, &b);
        bad = compare_exact(y, want, &first);
        check(!bad, "layout q6_K: hand-built block (scales -128..127), 256 elements exact  [%d wrong, first %d]", bad, first);
    }
    {   /* Q3_K: code c = v + 4 (v in -4..3): low 2 bits in qs[32h + l] bits 2j, high bit in
         * hmask[l] bit 4h + j; value d * sc[e/16] * v */
        block_q3_K b;
        memset(&b, 0, sizeof b);
        b.d = 0x3800;      /* 0.5 */
        memcpy(b.scales, hb_scales3, 12);
        for (int e = 0; e < QK_K; e++) {
            int v = (e * 5 + e / 8) % 8 - 4, c = v + 4, h = e / 128, j = (e % 128) / 32, l = e % 32;
            put_bits(b.qs, 32 * h + l, 2 * j, c & 3);
            put_bits(b.hmask, l, 4 * h + j, c >> 2);
            want[e] = 0.5 * hb_sc3[e / 16] * v;
        }
        dequantize_row_q3_K(QK_K, y, &b);
        bad = compare_exact(y, want, &first);
        check(!bad, "layout q3_K: hand-built block (scales -32..31 packed by hand), 256 elements exact  [%d wrong, first %d]", bad, first);
    }
    {   /* Q2_K: scales[s] = sc | m << 4; code in qs[32h + l] bits 2j */
        block_q2_K b;
        memset(&b, 0, sizeof b);
        b.d = 0x4000;      /* 2.0 */
        b.dmin = 0x3000;   /* 0.125 */
        for (int s = 0; s < 16; s++) b.scales[s] = (uint8_t)(hb_sc2[s] | hb_m2[s] << 4);
        for (int e = 0; e < QK_K; e++) {
            int q = (e * 3 + e / 64) & 3, h = e / 128, j = (e % 128) / 32, l = e % 32;
            put_bits(b.qs, 32 * h + l, 2 * j, q);
            want[e] = 2.0 * hb_sc2[e / 16] * q - 0.125 * hb_m2[e / 16];
        }
        dequantize_row_q2_K(QK_K, y, &b);
        bad = compare_exact(y, want, &first);
        check(!bad, "layout q2_K: hand-built block, 256 elements exact  [%d wrong, first %d]", bad, first);
    }
}

/* ==========================================================================================
 * A2. golden blocks made by ggml itself: quantize_row_<type>_ref of golden_x() (2 super-
 * blocks), from the MIT-licensed ggml library as built in llama.cpp (prebuilt binaries of the
 * node-llama-cpp 3.22.1 npm package). For each: ggml's own decode's RMS error against the
 * input, sum (i+1) * y_i of ggml's decode (sensitive to the order of the elements), and
 * ggml's dot of the block with quantize_row_q8_K(golden_a()). Our decode and dot of the same
 * bytes must give the same numbers up to float rounding. This pins the layout to ggml's.
 * ======================================================================================== */
static float golden_x(int i) { return (float)((i * 73 + 41) % 256 - 100 - 20 * (i / 32 % 3)) * (float)(1 << (i / 64)) / 128.0f; }
static float golden_a(int i) { return (float)((i * 29 + 7) % 61 - 30) / 16.0f; }

static const struct { const char *name; double rms, wsum, dot; const char *hex; } golden[] = {
    {"q2_K", 0.298298938, 464226.683838, -474.639008,
     "222212124444243468778888bfcfffff51a63b50a5fa0b51a63b50a5ea0b51a63b50a5ea4b91e63b50a5ea4b91e63b50"
     "3a4394e94e90e53a4394e94e90e53a43a5fa4f90a53a53a5fa4f50a53a53a5eae934ab37222212123434343458576868"
     "ffffbfbf55a53a50a5fa0f54a53a50a5fa0f54a53a50a5ea0f54a53a50a5ea0f50a53a503a53a5fa4e90e53a53a5f94e"
     "90e53a53a5ea4f90e53a5395ea4f50a53a4395eae9445548"},
    {"q3_K", 0.106946761, 377531.102722, -432.277405,
     "274098bf67d0bc274198bf67d0bc27419cbb67d4b823459cbb67d49823459cbbd67f853b811a70d67c853b811a70d67c"
     "b12f812a50fa5cb12f852a50fa5cb52f0ae07ad47d07a10ae07ad47d07a10ae07ad4bd17a14ae07ad4bd17ad4ae07ad4"
     "d3d33423c6c86808eae61a1a8faccea831468a3975cea831468a3975cea831468a3975cea831468ab975cea8314605af"
     "05e872d8b315af05e872d8b315af05e872d87315af05e872d87315af05e8f65cb52f81ea50f65cb52f81ea50f65cb52f"
     "81ea50f65cb52f812a50f65cb52f2c2cf5f50808f8f83939e6e6d9bb"},
    {"q4_K", 0.0512346243, 339224.36908, -479.016968,
     "6723512f4888d0d147868fcaaf10efff3388dd0055aaff3388dd0055aaff3388cd0055aaff3378cd0055aaff2378cd00"
     "75ca0f5397ec2075ca0f5297ec2075ca0f5297ec2075ba0f4297ec2075ba0f42ca0f52a7fd2075ca0f52a7fc2075ca0f"
     "52a7fc2075ca0f52a7fc2075ca0f52a70f52a7fc3085da0f52a7fc3085da0f52a7fc3085da0f52a7fc3085da0f52a7fc"
     "6733f13f4888d0d04944cb8e3fa0ffdf2378cd0055aaff2378cd0055aaff2378cd0055aaff2378cd0055aaff2378cd00"
     "75ca0f52a7fc2075ca0f52a7fc2075ca0f52a7fc2075ca0f52a7ec2075ca0e52ca0f52a7fd3075ca0f52a7fd2075ca0f"
     "52a7fc2075ca0f52a7fc2075ca0f52a70f52a7fc2075ca0f52a7fc2075ca0f52a7fc2075ca0f52a7fc2075ca0f52a7fc"},
    {"q5_K", 0.0228109413, 314211.213257, -471.732483,
     "641f2a2f4848d0cf4786cfcacf2e1fff781c87f0380fe3781c87f0380fe3701c87e0380fc3701c87e0380fc3701c87e0"
     "56ff9901aa44ee55ff9900aa44ee55ff9900aa44ee55ff9900aa44de55ff89000aa40ea55ff9500aa40da55ff850faa3"
     "0da55ef850f9a30da44ef850f9a30da4a50fb550fa500ba50fa550fa500aa50fa55ffa50faa40fa55ff950faa40ea54f"
     "0ea54fe950fa940ea54fe950fa940ea54fe950fa940ea54fe950fa940ea54fe9642f13404848d0cf4844cb8e3f9effef"
     "781c87e0380fe3781c87e0380fe3781c87e0380fc3781c87e0380fc3701c87e054fe9800a943ed54fe9800a943ed54fe"
     "9800a943ed54fe9800a943dc54fe87000ab40eb55ff9500aa40eb55ff9500aa40ea55ff9500aa40da55ff850faa30da5"
     "a40fb55ff9500aa40fa55ff9500aa40ea55ff950faa40ea55ff950faa40ea54f0ea54fe950fa940ea54fe950fa940ea5"
     "4fe950fa940ea54fe950fa940ea54fe9"},
    {"q6_K", 0.013724465, 330106.817486, -483.290466,
     "af5c0a5906b3f0af5d0a5906b3f1b06deac906441150adeabaf74411509debba8b8a09030302818b8a0a030302818b8b"
     "19050301908c8a19151302909c9b191503c0a09d5a3a2703c0b09d5a4a2704d1b19d6a4b2704d0b19e6a4b2704d0b19e"
     "1051a3e6b9fa4d1f5093e6b9fa3c1f5093d5b7fa3c1e5193c5b7fa2c1e5183c56a15c0bf6a05b06a15c0bf6a05b06b15"
     "f08f6a35805b25f08f5a35805b25f08f0d6097c93c63d6096097c93c63d6096097c93c63d6096097c93c63d6096097c9"
     "f1f1eff0e51cddddc5c63c3f808370732218492a0bd0b19263492a0bd0b19263492a1ad2b2a2624a3a1ad2c2a2625939"
     "29d1f537195d9ed0b1f637195d9ed0b2f637185e8fcfb0e627084e8fc0a0e627084e7191c9e90921517191b9e9092151"
     "7191bad90922426191bad90922426191bada7a5c2804e0b29e7a5d2804e0c39e7a5d3815e1c3af7b5d3915e1c3af8b5d"
     "391568d5026895c63368d5026895c63368d5026895c23368d5026895c63368d50268f18c5a25805f26f18c5a25805f26"
     "f18c5a25805f26f18c5a25805f26f18c5a25efee14132021e3e34846393a82807e7f0ea8"},
};

static int hexval(char c) { return c <= '9' ? c - '0' : (c | 32) - 'a' + 10; }

static void test_golden(void) {
    enum { NB = 2, N = NB * QK_K };
    float x[N], a[N], y[N];
    block_q8_K xq[NB];
    for (int i = 0; i < N; i++) { x[i] = golden_x(i); a[i] = golden_a(i); }
    quantize_row_q8_K_ref(N, xq, a);
    for (size_t g = 0; g < sizeof golden / sizeof golden[0]; g++) {
        const kq_type *t = NULL;
        for (int k = 0; k < N_TYPES; k++)
            if (!strcmp(types[k].name, golden[g].name)) t = &types[k];
        unsigned char blk[NB * 256];
        size_t len = strlen(golden[g].hex) / 2;
        if (!t || len != NB * t->bsize) { check(0, "golden %s: table entry has %zu bytes", golden[g].name, len); continue; }
        for (size_t i = 0; i < len; i++) blk[i] = (unsigned char)(hexval(golden[g].hex[2 * i]) << 4 | hexval(golden[g].hex[2 * i + 1]));
        t->deq(N, y, blk);
        double rms = rel_rms(N, x, y), ws = 0, wsa = 0, ref, mag;
        for (int i = 0; i < N; i++) { ws += (double)(i + 1) * y[i]; wsa += (double)(i + 1) * fabs(y[i]); }
        float d = port_dot(t, N, blk, xq);
        dot_reference(t, N, blk, xq, &ref, &mag);
        int ok = fabs(rms - golden[g].rms) <= 1e-6 * golden[g].rms && fabs(ws - golden[g].wsum) <= 1e-6 * wsa &&
                 fabs(d - golden[g].dot) <= 1e-5 * mag;
        check(ok, "layout %s: ggml's blocks decoded: RMS error %.7f (ggml %.7f), sum (i+1)y %.6f (ggml %.6f), dot %.6f (ggml %.6f)",
              t->name, rms, golden[g].rms, ws, golden[g].wsum, d, golden[g].dot);
    }
}

/* A3. the scale packing helpers over every value at every position */
static void test_scale_packing(void) {
    int bad = 0;
    for (int s = 0; s < 8; s++)
        for (int v = 0; v < 64 * 64; v++) {
            uint8_t sc[8], m[8], p[12];
            for (int k = 0; k < 8; k++) { sc[k] = (uint8_t)(rnd64() & 63); m[k] = (uint8_t)(rnd64() & 63); }
            sc[s] = (uint8_t)(v & 63);
            m[s] = (uint8_t)(v >> 6);
            kq_pack_scale_min_k4(p, sc, m);
            for (int k = 0; k < 8; k++) {
                int a, b;
                kq_scale_min_k4(k, p, &a, &b);
                bad += a != sc[k] || b != m[k];
            }
        }
    check(!bad, "scales q4_K/q5_K: pack then unpack, every (scale, min) pair at every sub-block  [%d wrong]", bad);
    bad = 0;
    for (int s = 0; s < 16; s++)
        for (int v = -32; v < 32; v++) {
            int8_t sc[16], out[16];
            uint8_t p[12];
            for (int k = 0; k < 16; k++) sc[k] = (int8_t)((int)(rnd64() & 63) - 32);
            sc[s] = (int8_t)v;
            kq_pack_scales_q3(p, sc);
            kq_scales_q3(p, out);
            bad += memcmp(sc, out, 16) != 0;
        }
    check(!bad, "scales q3_K: pack then unpack, every value -32..31 at every sub-block  [%d wrong]", bad);
}

/* ==========================================================================================
 * B. Q8_K activations
 * ======================================================================================== */
/* The rounding rule of Q8_K activations, pinned on ties. llama.cpp (quantize_row_q8_K_ref, which
 * its x86 build uses too) takes m = the first element of largest magnitude, iscale = -127/m,
 * q = nearest_int(iscale * x) (round half to even: its "add 1.5 * 2^23" trick) capped at 127,
 * d = 1/iscale. With m = -127, iscale = 1 and the codes are x rounded half to even; with
 * m = +127, iscale = -1, codes of the opposite sign, d = -1. */
static void test_q8_K_ties(void) {
    float x[QK_K];
    block_q8_K q[2];
    static const float tie[] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 126.5f, -125.5f, 3.49f, -3.51f};
    static const int8_t want[] = {0, 2, 2, 0, -2, -2, 126, -126, 3, -4};
    int bad = 0;
    for (int sgn = 0; sgn < 2; sgn++) {
        for (int i = 0; i < QK_K; i++) x[i] = i < 10 ? tie[i] : 0.0f;
        x[100] = sgn ? 127.0f : -127.0f;
        x[200] = sgn ? -127.0f : 127.0f;   /* same magnitude later: not m */
        quantize_row_q8_K_ref(QK_K, q, x);
        K.quantize_q8_K(QK_K, q + 1, x);
        for (int i = 0; i < 10; i++) bad += q[0].qs[i] != (sgn ? -want[i] : want[i]);
        bad += q[0].d != (sgn ? -1.0f : 1.0f) || q[0].qs[100] != -127 || q[0].qs[200] != 127;
        bad += memcmp(&q[0], &q[1], sizeof q[0]) != 0;
    }
    check(!bad, "quantize_row_q8_K rounds as llama.cpp: ties to even, iscale = -127/m with m the first largest (signed), d = 1/iscale; this build's body too  [%d wrong]", bad);
}

static void test_q8_K(void) {
    enum { NB = 17, N = NB * QK_K };
    float *x = xmalloc(N * sizeof(float)), *y = xmalloc(N * sizeof(float));
    block_q8_K *q = xmalloc(NB * sizeof(block_q8_K)), *r = xmalloc(NB * sizeof(block_q8_K));
    int bad = 0, bad_bs = 0, bad_pub = 0;
    double worst = 0;
    for (int rep = 0; rep < 12; rep++) {
        fill_gauss(x, N, rep < 6 ? 1.0f : ldexpf(1.0f, 4 * rep - 30));
        for (int i = 0; i < QK_K; i++) x[QK_K + i] = 0.0f;   /* an all-zero block */
        x[7] *= 50.0f;                                        /* an outlier */
        K.quantize_q8_K(N, q, x);
        quantize_row_q8_K_ref(N, r, x);
        bad_pub += memcmp(q, r, NB * sizeof(block_q8_K)) != 0;
        dequantize_row_q8_K(N, y, q);
        for (int b = 0; b < NB; b++) {
            float amax = 0.0f, m = 0.0f;
            int first = -1, maxcode = 0;
            for (int i = 0; i < QK_K; i++) {
                if (fabsf(x[b * QK_K + i]) > amax) { amax = fabsf(x[b * QK_K + i]); m = x[b * QK_K + i]; first = i; }
                maxcode = abs(q[b].qs[i]) > maxcode ? abs(q[b].qs[i]) : maxcode;
            }
            if (amax > 0 ? q[b].d != 1.0f / (-127.0f / m) || q[b].qs[first] != -127 || maxcode != 127 : q[b].d != 0 || maxcode != 0) bad++;
            const double d = fabs(q[b].d);
            for (int i = 0; i < QK_K; i++) {
                double e = fabs((double)x[b * QK_K + i] - (double)q[b].d * q[b].qs[i]);
                if (e > d * (0.5 + 0x1p-16)) bad++;
                if (d > 0) worst = fmax(worst, e / d);
            }
            for (int g = 0; g < 16; g++) {
                int s = 0;
                for (int i = 0; i < 16; i++) s += q[b].qs[16 * g + i];
                bad_bs += s != q[b].bsums[g];
            }
        }
    }
    check(!bad, "quantize_row_q8_K: d = 1/(-127/m) for m the first element of largest magnitude, which gets -127; |x - d q| <= |d|/2 (worst %.4f |d|), zero blocks all 0  [%d wrong]", worst, bad);
    check(!bad_bs, "quantize_row_q8_K: bsums = sums of groups of 16  [%d wrong]", bad_bs);
    check(!bad_pub, "quantize_row_q8_K: this build's body == reference, bitwise  [%d rows differ]", bad_pub);
    free(x); free(y); free(q); free(r);
}

/* ==========================================================================================
 * C. round trips: quantize -> dequantize, RMS error relative to the data's RMS
 * ======================================================================================== */
static void test_round_trips(void) {
    static const int nbs[] = {1, 3, 17};
    enum { NMAX = 17 * QK_K };
    float *x = xmalloc(NMAX * sizeof(float)), *y = xmalloc(NMAX * sizeof(float));
    char *q = xmalloc(17 * 256), *q2 = xmalloc(17 * 256);
    for (int k = 0; k < N_TYPES; k++) {
        const kq_type *t = &types[k];
        double worst = 0, worst_mean = 0, total_e = 0, total_s = 0, worst_const = 0;
        int nondet = 0;
        for (int ni = 0; ni < 3; ni++) {
            const int n = nbs[ni] * QK_K;
            for (int rep = 0; rep < 16; rep++) {
                /* Gaussian, scaled from 2^-12 to 2^9; odd reps with a mean of 0.7 sigma */
                const float sigma = ldexpf(1.0f, 3 * (rep / 2) - 12);
                fill_gauss(x, n, sigma);
                if (rep & 1) for (int i = 0; i < n; i++) x[i] += 0.7f * sigma;
                t->quant(n, q, x);
                t->quant(n, q2, x);
                nondet += memcmp(q, q2, nbs[ni] * t->bsize) != 0;
                t->deq(n, y, q);
                double r = rel_rms(n, x, y);
                if (rep & 1) {
                    worst_mean = fmax(worst_mean, r);
                } else {
                    worst = fmax(worst, r);
                    for (int i = 0; i < n; i++) {
                        total_e += ((double)y[i] - x[i]) * ((double)y[i] - x[i]) / ((double)sigma * sigma);
                        total_s += (double)x[i] * x[i] / ((double)sigma * sigma);
                    }
                }
            }
            /* constant blocks: exact up to the fp16 rounding of d (and the scale fields) */
            for (int i = 0; i < n; i++) x[i] = (i / QK_K % 2 ? -1.0f : 1.0f) * (1.0f + (float)(i / QK_K));
            t->quant(n, q, x);
            t->deq(n, y, q);
            worst_const = fmax(worst_const, rel_rms(n, x, y));
        }
        const double overall = sqrt(total_e / total_s);
        check(overall < t->rms_bound && worst < 1.15 * t->rms_bound && !nondet,
              "round trip %s: zero-mean Gaussian, rows of 1/3/17 blocks: RMS error %.2f %% of the data's RMS (bound %.1f %%), worst row %.2f %%; deterministic",
              t->name, 100 * overall, 100 * t->rms_bound, 100 * worst);
        check(worst_mean < t->rms_bound_mean, "round trip %s: Gaussian with mean 0.7 sigma: worst row %.2f %% of RMS (bound %.1f %%)",
              t->name, 100 * worst_mean, 100 * t->rms_bound_mean);
        check(worst_const < 2e-3, "round trip %s: constant blocks: RMS error %.3g of RMS", t->name, worst_const);
    }
    free(x); free(y); free(q); free(q2);
}

/* ==========================================================================================
 * D. dots against double precision
 * ======================================================================================== */
/* random valid blocks: random bytes, then finite d (and dmin) of either sign */
static void random_blocks(const kq_type *t, int nb, char *w) {
    for (int b = 0; b < nb; b++) {
        char *p = w + b * t->bsize;
        for (size_t i = 0; i < t->bsize; i++) p[i] = (char)rnd64();
        set_fp16(p, t->off_d, (float)((rnd_unit() - 0.5) * 0.1));
        if (t->off_dmin >= 0) set_fp16(p, t->off_dmin, (float)((rnd_unit() - 0.5) * 0.1));
    }
}
/* random Q8_K rows over the whole int8 range, -128 included (quantize_row_q8_K never makes it) */
static void random_q8_K(int nb, block_q8_K *x) {
    for (int b = 0; b < nb; b++) {
        x[b].d = (float)(rnd_unit() * 0.05);
        for (int i = 0; i < QK_K; i++) x[b].qs[i] = (int8_t)(rnd64() & 255);
        if (b == 0) for (int i = 0; i < 32; i++) x[b].qs[i] = -128;
        for (int g = 0; g < 16; g++) {
            int s = 0;
            for (int i = 0; i < 16; i++) s += x[b].qs[16 * g + i];
            x[b].bsums[g] = (int16_t)s;
        }
    }
}
/* the extreme block: every code and scale at the end of its range that makes the integer sums largest */
static void extreme_blocks(const kq_type *t, int nb, char *w, block_q8_K *x) {
    for (int b = 0; b < nb; b++) {
        char *p = w + b * t->bsize;
        memset(p, 0xff, t->bsize);
        if (!strcmp(t->name, "q6_K")) {        /* codes 0 (-32), scales -128 */
            block_q6_K *k = (block_q6_K *)(void *)p;
            memset(k->ql, 0, sizeof k->ql);
            memset(k->qh, 0, sizeof k->qh);
            memset(k->scales, 0x80, sizeof k->scales);
        }
        if (!strcmp(t->name, "q3_K")) {        /* codes -4, scales -32 */
            block_q3_K *k = (block_q3_K *)(void *)p;
            memset(k->qs, 0, sizeof k->qs);
            memset(k->hmask, 0, sizeof k->hmask);
            memset(k->scales, 0, sizeof k->scales);
        }
        set_fp16(p, t->off_d, 0.001f);
        if (t->off_dmin >= 0) set_fp16(p, t->off_dmin, 0.002f);
        x[b].d = 0.01f;
        memset(x[b].qs, 0x80, QK_K);           /* -128 everywhere */
        for (int g = 0; g < 16; g++) x[b].bsums[g] = -2048;
    }
}

static void test_dots(void) {
    static const int nbs[] = {1, 3, 17};
    enum { NMAX = 17 * QK_K };
    float *x = xmalloc(NMAX * sizeof(float));
    char *w = xmalloc(17 * 256);
    block_q8_K *xq = xmalloc(17 * sizeof(block_q8_K));
    for (int k = 0; k < N_TYPES; k++) {
        const kq_type *t = &types[k];
        double worst = 0;   /* |dot - ref| in units of 2^-24 * M */
        int bad = 0, bad_pub = 0, cases = 0;
        for (int ni = 0; ni < 3; ni++) {
            const int nb = nbs[ni], n = nb * QK_K;
            for (int rep = 0; rep < 7; rep++) {
                if (rep < 3) {          /* quantized Gaussian weights and activations */
                    fill_gauss(x, n, 0.02f);
                    t->quant(n, w, x);
                    fill_gauss(x, n, 1.0f);
                    for (int i = 0; i < n; i += 97) x[i] *= 20.0f;   /* outliers */
                    K.quantize_q8_K(n, xq, x);
                } else if (rep < 6) {   /* random valid blocks, full int8 activations */
                    random_blocks(t, nb, w);
                    random_q8_K(nb, xq);
                } else {                /* the largest integer sums */
                    extreme_blocks(t, nb, w, xq);
                }
                double ref, mag;
                dot_reference(t, n, w, xq, &ref, &mag);
                float d = t->dot_ref(n, w, xq), p = port_dot(t, n, w, xq);
                double err = fabs(d - ref) / (0x1p-24 * mag + 1e-300);
                worst = fmax(worst, err);
                if (err > nb + 6) bad++;
                if (memcmp(&d, &p, sizeof d)) bad_pub++;
                cases++;
            }
        }
        check(!bad, "dot_%s_q8_K vs double dot of the dequantized rows, %d cases of 1/3/17 blocks (quantized, random, extreme codes): worst error %.2f x 2^-24 M (bound blocks + 6)  [%d over]",
              t->name, cases, worst, bad);
        check(!bad_pub, "dot_%s_q8_K: this build's body == reference, bitwise  [%d differ]", t->name, bad_pub);
    }
    free(x); free(w); free(xq);
}

/* ==========================================================================================
 * E. GEMM tiles == dots, bitwise
 * ======================================================================================== */
static void test_gemm(void) {
    enum { NB = 3, N = NB * QK_K, NR = 6, NA = 6 };
    float *x = xmalloc(N * sizeof(float));
    for (int k = 0; k < N_TYPES; k++) {
        const kq_type *t = &types[k];
        const size_t ldw = NB * t->bsize + 6, ldx = NB * sizeof(block_q8_K) + 12;   /* padded rows */
        char *w = xmalloc(NR * ldw), *xa = xmalloc(NA * ldx);
        for (int r = 0; r < NR; r++) {
            fill_gauss(x, N, 0.05f);
            t->quant(N, w + r * ldw, x);
        }
        for (int b = 0; b < NA; b++) {
            fill_gauss(x, N, 1.0f);
            K.quantize_q8_K(N, (block_q8_K *)(void *)(xa + b * ldx), x);
        }
        int bad = 0, tiles = 0;
        for (int nr = 1; nr <= NR; nr++)
            for (int nb = 1; nb <= NA; nb++) {
                const size_t ldy = nr + 3;
                float y[NA * (NR + 3)];
                for (size_t i = 0; i < sizeof y / sizeof y[0]; i++) y[i] = -12345.0f;
                K.gemm[t->type](N, nr, nb, y, ldy, w, ldw, xa, ldx);
                for (int b = 0; b < NA; b++)
                    for (size_t r = 0; r < ldy; r++) {
                        float got = y[b * ldy + r];
                        if (b < nb && (int)r < nr) {
                            float want = port_dot(t, N, w + r * ldw, xa + b * ldx);
                            bad += memcmp(&got, &want, sizeof got) != 0;
                        } else {
                            bad += got != -12345.0f;   /* nothing outside the tile is written */
                        }
                    }
                tiles++;
            }
        check(!bad, "gemm_%s_q8_K: %d tiles nr, nb = 1..6, padded strides: every element == dot bitwise, nothing else written  [%d wrong]",
              t->name, tiles, bad);
        free(w); free(xa);
    }
    free(x);
}

/* ==========================================================================================
 * F. edge cases
 * ======================================================================================== */
static void test_edges(void) {
    enum { NB = 3, N = NB * QK_K };
    float x[N], y[N];
    char w[NB * 256];
    block_q8_K xq[NB], xr[NB];
    int bad_q8 = 0;
    for (int k = 0; k < N_TYPES; k++) {
        const kq_type *t = &types[k];
        /* all zero */
        memset(x, 0, sizeof x);
        t->quant(N, w, x);
        t->deq(N, y, w);
        int bad = 0;
        for (int i = 0; i < N; i++) bad += y[i] != 0.0f;
        fill_gauss(x, N, 1.0f);
        K.quantize_q8_K(N, xq, x);
        bad += port_dot(t, N, w, xq) != 0.0f;
        memset(x, 0, sizeof x);
        K.quantize_q8_K(N, xq, x);
        random_blocks(t, NB, w);
        bad += port_dot(t, N, w, xq) != 0.0f;
        check(!bad, "edge %s: all-zero rows quantize to blocks that decode to 0; dots with a zero row are 0  [%d wrong]", t->name, bad);

        /* NaN and infinities among normal data: treated as 0, the rest quantizes as usual */
        fill_gauss(x, N, 1.0f);
        x[3] = NAN; x[100] = INFINITY; x[300] = -INFINITY; x[301] = -NAN;
        t->quant(N, w, x);
        t->deq(N, y, w);
        bad = 0;
        for (int i = 0; i < N; i++) bad += !isfinite(y[i]);
        double r = rel_rms(N, x, y);
        check(!bad && r < 1.5 * t->rms_bound, "edge %s: NaN/+-inf inputs: every decoded value finite, RMS error of the rest %.2f %%  [%d not finite]", t->name, 100 * r, bad);

        /* all NaN / all inf / huge / subnormal rows: must not be undefined (run under UBSan),
         * and d saturates at the largest fp16, so every row decodes to finite values */
        static const float fills[] = {NAN, INFINITY, -INFINITY, FLT_MAX, -FLT_MAX, 1e30f, 1e-40f, -1e-44f, 65504.0f * 64};
        bad = 0;
        for (size_t f = 0; f < sizeof fills / sizeof fills[0]; f++) {
            for (int i = 0; i < N; i++) x[i] = (i % 3 == 0) ? fills[f] : (i % 3 == 1 ? -fills[f] * 0.5f : 0.0f);
            t->quant(N, w, x);
            t->deq(N, y, w);
            for (int i = 0; i < N; i++) bad += !isfinite(y[i]);
            K.quantize_q8_K(N, xq, x);
            quantize_row_q8_K_ref(N, xr, x);
            bad_q8 += memcmp(xq, xr, sizeof xq) != 0;
            volatile float v = port_dot(t, N, w, xq);
            (void)v;
        }
        check(!bad, "edge %s: rows of NaN, +-inf, +-FLT_MAX, 1e30, subnormals, 2^22: quantizers and dot defined, every row decodes finite  [%d not finite]",
              t->name, bad);
    }
    /* Q8_K with NaN: code 0 there, the rest as usual; with inf: defined (d = inf) */
    fill_gauss(x, N, 1.0f);
    x[5] = NAN;
    K.quantize_q8_K(N, xq, x);
    quantize_row_q8_K_ref(N, xr, x);
    bad_q8 += memcmp(xq, xr, sizeof xq) != 0;
    int bad = xq[0].qs[5] != 0 || !(xq[0].d > 0 && isfinite(xq[0].d));
    x[6] = INFINITY;
    K.quantize_q8_K(N, xq, x);
    quantize_row_q8_K_ref(N, xr, x);
    bad_q8 += memcmp(xq, xr, sizeof xq) != 0;
    bad += xq[0].qs[5] != 0;
    check(!bad, "edge q8_K: a NaN input gets code 0 and does not change d; an infinite input is defined");
    check(!bad_q8, "edge q8_K: this build's body == reference on the rows above (NaN, +-inf, huge, subnormal)  [%d rows differ]", bad_q8);
}

/* Instruction counts (tools/RISCV.md): `test_kquants bench TYPE REPS [ref]` calls the dot of TYPE
 * (q2_K .. q6_K) REPS times on rows of 4096 elements (the reference body with "ref"), or with
 * env GEMM_NB = B its GEMM on tiles of 16 weight rows x B activation rows (16 * B outputs per
 * call); run it under qemu with an instruction-count plugin for REPS and for 0 and divide the
 * difference by REPS (and by the outputs of a tile). */
static __attribute__((noinline)) int bench(const char *name, long reps, int ref) {
    enum { N = 4096, NR = 16, NBMAX = 8 };
    const kq_type *t = NULL;
    for (int k = 0; k < N_TYPES; k++)
        if (!strcmp(types[k].name, name)) t = &types[k];
    const int nb = getenv("GEMM_NB") ? atoi(getenv("GEMM_NB")) : 0;
    if (!t || nb < 0 || nb > NBMAX) return 2;
    const size_t ldw = N / QK_K * t->bsize, ldx = N / QK_K * sizeof(block_q8_K);
    float *x = xmalloc(N * sizeof(float)), y[NR * NBMAX];
    char *w = xmalloc(NR * ldw), *xq = xmalloc(NBMAX * ldx);
    for (int r = 0; r < NR; r++) {
        fill_gauss(x, N, 0.02f);
        t->quant(N, w + r * ldw, x);
    }
    for (int b = 0; b < NBMAX; b++) {
        fill_gauss(x, N, 1.0f);
        quantize_row_q8_K_ref(N, (block_q8_K *)(void *)(xq + b * ldx), x);
    }
    volatile float sink = 0;
    for (long i = 0; i < reps; i++) {
        if (nb) K.gemm[t->type](N, NR, nb, y, NR, w, ldw, xq, ldx);
        else sink = ref ? t->dot_ref(N, w, xq) : port_dot(t, N, w, xq);
    }
    (void)sink;
    return 0;
}

static __attribute__((noinline)) int run_tests(void) {
    test_hand_built();
    test_golden();
    test_q8_K_ties();
    test_scale_packing();
    test_q8_K();
    test_round_trips();
    test_dots();
    test_gemm();
    test_edges();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

int main(int argc, char **argv) {
    /* first, before anything the compiler may have vectorized: can this CPU run our code? */
    const char *why;
    if (!kernels_cpu_ok(&why)) {
        fprintf(stderr, "test_kquants: %s\n", why);
        return 2;
    }
    K = kernels_resolve();
    if (argc >= 4 && !strcmp(argv[1], "bench")) return bench(argv[2], atol(argv[3]), argc > 4 && !strcmp(argv[4], "ref"));
    return run_tests();
}
