/* kquants.h - ggml's K-quant formats (Q2_K .. Q6_K, and the Q8_K activations): block layouts,
 * dequantization, quantizers, dots and GEMM tiles. Meant to be merged into rvv_kernels.h, so it
 * follows its conventions: include rvv_kernels.h first (fp16 conversions, dot_fn, gemm_fn,
 * GEMM_FROM_DOT, RVK_GEMM); every hot kernel is name_ref() (portable C, the specification)
 * plus name() that calls the body of this build. There are no vector bodies yet, so name()
 * is the reference in every build (see the table at the end).
 *
 * K-quants group QK_K = 256 weights into a "super-block". The super-block holds one or two
 * fp16 factors (d, dmin) and, per sub-block of 16 or 32 weights, a small integer scale (and
 * min) that multiplies them. All multi-byte fields are little-endian, like GGUF. Every layout
 * here is byte-identical to ggml's, so a tensor is used straight from a GGUF file.
 *
 * Weights decode as
 *   with mins (Q2_K, Q4_K, Q5_K):  w = d * sc[s] * q - dmin * m[s],  q >= 0 (unsigned code)
 *   without   (Q3_K, Q6_K):        w = d * sc[s] * q,                q signed (code - offset)
 * where s is the sub-block of the weight. Activations are Q8_K: x = d * qs (d a float).
 *
 * Dots (weight row . Q8_K activation row), per super-block, in integers and then in float:
 *   isum = sum_s sc[s] * sum_{i in s} q_i * qx_i      exact in int32 (bounds at each dot)
 *   msum = sum_s m[s]  * sum_{i in s} qx_i            exact; the inner sums are Q8_K's bsums
 *   sum = RVK_MAC((float)isum, d * x.d, sum);  sum = RVK_MAC(-(float)msum, dmin * x.d, sum);
 * (Q3_K and Q6_K have no msum and skip the second step; their code offset enters isum through
 * the bsums as well.) RVK_MAC(a, b, acc) is rvv_kernels.h's acc + a*b, one fused multiply-add
 * wherever the target has one, as in the Q8_0 dots. Because isum and msum are exact, any body
 * (vector or not) that computes them in any order gets the same integers; to be bitwise equal
 * to the reference it must then repeat these float steps per super-block, in order.
 *
 * Contracts (as in rvv_kernels.h): n is a multiple of QK_K; a Q8_K row comes from
 * quantize_row_q8_K (its bsums must match its qs); no kernel allocates or keeps state.
 */
#ifndef KQUANTS_H
#define KQUANTS_H

#ifndef RVV_KERNELS_H
#error "include rvv_kernels.h before kquants.h"
#endif

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <math.h>
#include <float.h>

#define QK_K 256
#define K_SCALE_SIZE 12

/* ------------------------------------------------------------------------------------------
 * Block layouts. Element e (0..255) of a super-block, and where its bits live:
 *
 * Q8_K (activations, 292 bytes): d float32; qs[e] int8; bsums[g] = sum of qs[16g .. 16g+15]
 *   (int16), which the dots use to apply the weights' mins without touching qs again.
 *
 * Q4_K (144 bytes, 4.5 bits/weight): d, dmin fp16; scales[12]; qs[128].
 *   8 sub-blocks of 32, s = e / 32, each with a 6-bit scale sc[s] and 6-bit min m[s]:
 *     w = d * sc[s] * q - dmin * m[s],   q in 0..15.
 *   Codes: the row goes in 4 chunks of 64 elements; chunk c = e / 64 uses bytes qs[32c .. 32c+31]:
 *     element 64c + l      (l < 32) is the LOW  nibble of qs[32c + l]   (sub-block 2c)
 *     element 64c + 32 + l          is the HIGH nibble of qs[32c + l]   (sub-block 2c + 1)
 *   Scales: 16 six-bit numbers in 12 bytes. Sub-blocks 0..3 keep theirs whole in the low
 *   6 bits of bytes 0..3 (scale) and 4..7 (min); sub-blocks 4..7 keep their low 4 bits in the
 *   nibbles of bytes 8..11 (scale low, min high) and their top 2 bits in the spare top 2 bits
 *   of bytes 0..3 (scale) and 4..7 (min):
 *     byte    bits 7-6          bits 5-0        |  byte    bits 7-4          bits 3-0
 *     0..3    sc[4..7] >> 4     sc[0..3]        |  8..11   m[4..7] & 15      sc[4..7] & 15
 *     4..7    m[4..7] >> 4      m[0..3]         |
 *
 * Q5_K (176 bytes, 5.5 bits/weight): d, dmin fp16; scales[12]; qh[32]; qs[128].
 *   Like Q4_K (same scales, same nibble placement in qs) plus a fifth bit per code:
 *     q = nibble + 16 * bit s of qh[e % 32],   s = e / 32,   q in 0..31.
 *
 * Q6_K (210 bytes, 6.5625 bits/weight): ql[128]; qh[64]; scales[16] int8; d fp16 (last!).
 *   16 sub-blocks of 16, s = e / 16:   w = d * scales[s] * (q - 32),   q in 0..63.
 *   Two halves of 128, h = e / 128; in a half, quarter k = (e % 128) / 32 and l = e % 32:
 *     low 4 bits:  ql[64h + l]      low nibble (k = 0), high nibble (k = 2)
 *                  ql[64h + 32 + l] low nibble (k = 1), high nibble (k = 3)
 *     high 2 bits: qh[32h + l] bits 2k+1..2k
 *
 * Q3_K (110 bytes, 3.4375 bits/weight): hmask[32]; qs[64]; scales[12]; d fp16.
 *   16 sub-blocks of 16, s = e / 16:   w = d * (sc[s] - 32) * (q - 4),   q in 0..7,
 *   i.e. codes -4..3 and scales -32..31. With h = e / 128, j = (e % 128) / 32, l = e % 32:
 *     low 2 bits:  qs[32h + l] bits 2j+1..2j
 *     high bit:    hmask[l] bit 4h + j       (set: q = low + 4; clear: q = low, code low - 4)
 *   Scales: 16 six-bit numbers (stored + 32) in 12 bytes:
 *     low 4 bits of sc[s]:  byte s % 8, low nibble for s < 8, high nibble for s >= 8
 *     top 2 bits of sc[s]:  byte 8 + s % 4, bits 2(s/4)+1 .. 2(s/4)
 *
 * Q2_K (84 bytes, 2.625 bits/weight): scales[16]; qs[64]; d, dmin fp16.
 *   16 sub-blocks of 16, s = e / 16:  w = d * (scales[s] & 15) * q - dmin * (scales[s] >> 4),
 *   q in 0..3, at qs[32h + l] bits 2j+1..2j (h, j, l as for Q3_K).
 * ---------------------------------------------------------------------------------------- */
typedef struct { float d; int8_t qs[QK_K]; int16_t bsums[QK_K / 16]; } block_q8_K;
typedef struct { uint16_t d, dmin; uint8_t scales[K_SCALE_SIZE]; uint8_t qs[QK_K / 2]; } block_q4_K;
typedef struct { uint16_t d, dmin; uint8_t scales[K_SCALE_SIZE]; uint8_t qh[QK_K / 8]; uint8_t qs[QK_K / 2]; } block_q5_K;
typedef struct { uint8_t ql[QK_K / 2]; uint8_t qh[QK_K / 4]; int8_t scales[QK_K / 16]; uint16_t d; } block_q6_K;
typedef struct { uint8_t hmask[QK_K / 8]; uint8_t qs[QK_K / 4]; uint8_t scales[K_SCALE_SIZE]; uint16_t d; } block_q3_K;
typedef struct { uint8_t scales[QK_K / 16]; uint8_t qs[QK_K / 4]; uint16_t d, dmin; } block_q2_K;
_Static_assert(sizeof(block_q8_K) == 292, "block_q8_K must be 292 bytes");
_Static_assert(sizeof(block_q4_K) == 144, "block_q4_K must be 144 bytes");
_Static_assert(sizeof(block_q5_K) == 176, "block_q5_K must be 176 bytes");
_Static_assert(sizeof(block_q6_K) == 210, "block_q6_K must be 210 bytes");
_Static_assert(sizeof(block_q3_K) == 110, "block_q3_K must be 110 bytes");
_Static_assert(sizeof(block_q2_K) == 84, "block_q2_K must be 84 bytes");
_Static_assert(offsetof(block_q4_K, qs) == 16 && offsetof(block_q5_K, qs) == 48, "Q4_K/Q5_K field offsets");
_Static_assert(offsetof(block_q6_K, d) == 208 && offsetof(block_q3_K, d) == 108, "Q6_K/Q3_K: d is last");
_Static_assert(offsetof(block_q2_K, d) == 80 && offsetof(block_q8_K, bsums) == 260, "Q2_K/Q8_K field offsets");

/* Q4_K/Q5_K: the 6-bit scale and min of sub-block s (0..7), see the table above. */
static inline void kq_scale_min_k4(int s, const uint8_t *p, int *sc, int *m) {
    if (s < 4) {
        *sc = p[s] & 63;
        *m = p[s + 4] & 63;
    } else {
        *sc = (p[s + 4] & 15) | (p[s - 4] >> 6) << 4;
        *m = (p[s + 4] >> 4) | (p[s] >> 6) << 4;
    }
}
static inline void kq_pack_scale_min_k4(uint8_t *p, const uint8_t *sc, const uint8_t *m) {   /* values < 64 */
    for (int s = 0; s < 4; s++) {
        p[s] = (uint8_t)((sc[s] & 63) | (sc[s + 4] >> 4) << 6);
        p[s + 4] = (uint8_t)((m[s] & 63) | (m[s + 4] >> 4) << 6);
        p[s + 8] = (uint8_t)((sc[s + 4] & 15) | (m[s + 4] & 15) << 4);
    }
}

/* Q3_K: the 16 scales, already minus 32 (-32..31), see the table above. */
static inline void kq_scales_q3(const uint8_t *p, int8_t *sc) {
    for (int s = 0; s < 16; s++)
        sc[s] = (int8_t)((((p[s % 8] >> 4 * (s / 8)) & 15) | ((p[8 + s % 4] >> 2 * (s / 4)) & 3) << 4) - 32);
}
static inline void kq_pack_scales_q3(uint8_t *p, const int8_t *sc) {   /* sc in -32..31 */
    memset(p, 0, K_SCALE_SIZE);
    for (int s = 0; s < 16; s++) {
        int v = sc[s] + 32;
        p[s % 8] |= (uint8_t)((v & 15) << 4 * (s / 8));
        p[8 + s % 4] |= (uint8_t)((v >> 4) << 2 * (s / 4));
    }
}

/* ------------------------------------------------------------------------------------------
 * Dequantization (reference; used by tests and tools, not hot): n floats from n/QK_K blocks.
 * Each weight is (d * sc) * q - (dmin * m) in float, like ggml.
 * ---------------------------------------------------------------------------------------- */
static inline void dequantize_row_q8_K(int n, float *y, const block_q8_K *x) {
    for (int b = 0; b < n / QK_K; b++)
        for (int i = 0; i < QK_K; i++) *y++ = x[b].d * x[b].qs[i];
}

static inline void dequantize_row_q4_K(int n, float *y, const block_q4_K *x) {
    for (int b = 0; b < n / QK_K; b++) {
        const float d = fp16_to_fp32(x[b].d), dmin = fp16_to_fp32(x[b].dmin);
        const uint8_t *q = x[b].qs;
        for (int c = 0; c < QK_K / 64; c++, q += 32, y += 64) {   /* sub-blocks 2c (low nibbles), 2c+1 (high) */
            int sc0, m0, sc1, m1;
            kq_scale_min_k4(2 * c, x[b].scales, &sc0, &m0);
            kq_scale_min_k4(2 * c + 1, x[b].scales, &sc1, &m1);
            const float d0 = d * sc0, o0 = dmin * m0, d1 = d * sc1, o1 = dmin * m1;
            for (int l = 0; l < 32; l++) {
                y[l] = d0 * (q[l] & 15) - o0;
                y[l + 32] = d1 * (q[l] >> 4) - o1;
            }
        }
    }
}

static inline void dequantize_row_q5_K(int n, float *y, const block_q5_K *x) {
    for (int b = 0; b < n / QK_K; b++) {
        const float d = fp16_to_fp32(x[b].d), dmin = fp16_to_fp32(x[b].dmin);
        const uint8_t *q = x[b].qs, *qh = x[b].qh;
        for (int c = 0; c < QK_K / 64; c++, q += 32, y += 64) {   /* fifth bits: qh bits 2c, 2c+1 */
            int sc0, m0, sc1, m1;
            kq_scale_min_k4(2 * c, x[b].scales, &sc0, &m0);
            kq_scale_min_k4(2 * c + 1, x[b].scales, &sc1, &m1);
            const float d0 = d * sc0, o0 = dmin * m0, d1 = d * sc1, o1 = dmin * m1;
            for (int l = 0; l < 32; l++) {
                y[l] = d0 * ((q[l] & 15) | ((qh[l] >> (2 * c)) & 1) << 4) - o0;
                y[l + 32] = d1 * ((q[l] >> 4) | ((qh[l] >> (2 * c + 1)) & 1) << 4) - o1;
            }
        }
    }
}

static inline void dequantize_row_q6_K(int n, float *y, const block_q6_K *x) {
    for (int b = 0; b < n / QK_K; b++) {
        const float d = fp16_to_fp32(x[b].d);
        for (int h = 0; h < 2; h++, y += 128) {
            const uint8_t *ql = x[b].ql + 64 * h, *qh = x[b].qh + 32 * h;
            const int8_t *sc = x[b].scales + 8 * h;
            for (int l = 0; l < 32; l++) {   /* quarter k: sub-block 2k + l/16 of this half */
                const int is = l / 16;
                y[l] = d * sc[is] * (((ql[l] & 15) | ((qh[l] >> 0) & 3) << 4) - 32);
                y[l + 32] = d * sc[is + 2] * (((ql[l + 32] & 15) | ((qh[l] >> 2) & 3) << 4) - 32);
                y[l + 64] = d * sc[is + 4] * (((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32);
                y[l + 96] = d * sc[is + 6] * (((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32);
            }
        }
    }
}

static inline void dequantize_row_q3_K(int n, float *y, const block_q3_K *x) {
    for (int b = 0; b < n / QK_K; b++) {
        const float d = fp16_to_fp32(x[b].d);
        int8_t sc[16];
        kq_scales_q3(x[b].scales, sc);
        for (int h = 0; h < 2; h++) {
            const uint8_t *q = x[b].qs + 32 * h;
            for (int j = 0; j < 4; j++, y += 32) {   /* bits 2j of qs, bit 4h+j of hmask */
                const float d0 = d * sc[8 * h + 2 * j], d1 = d * sc[8 * h + 2 * j + 1];
                for (int l = 0; l < 32; l++) {
                    int v = ((q[l] >> 2 * j) & 3) - ((x[b].hmask[l] >> (4 * h + j)) & 1 ? 0 : 4);
                    y[l] = (l < 16 ? d0 : d1) * v;
                }
            }
        }
    }
}

static inline void dequantize_row_q2_K(int n, float *y, const block_q2_K *x) {
    for (int b = 0; b < n / QK_K; b++) {
        const float d = fp16_to_fp32(x[b].d), dmin = fp16_to_fp32(x[b].dmin);
        for (int h = 0; h < 2; h++) {
            const uint8_t *q = x[b].qs + 32 * h;
            for (int j = 0; j < 4; j++, y += 32) {
                const uint8_t s0 = x[b].scales[8 * h + 2 * j], s1 = x[b].scales[8 * h + 2 * j + 1];
                const float d0 = d * (s0 & 15), o0 = dmin * (s0 >> 4), d1 = d * (s1 & 15), o1 = dmin * (s1 >> 4);
                for (int l = 0; l < 16; l++) y[l] = d0 * ((q[l] >> 2 * j) & 3) - o0;
                for (int l = 16; l < 32; l++) y[l] = d1 * ((q[l] >> 2 * j) & 3) - o1;
            }
        }
    }
}

/* ------------------------------------------------------------------------------------------
 * Activations: quantize a float row to Q8_K (hot: once per matmul input row).
 * d = max|x| / 127 (a float, not rounded to fp16), q = round(x / d) (half away from zero),
 * bsums[g] = sum of q[16g .. 16g+15]. NaN inputs give code 0; an infinite input makes d
 * infinite (the row is garbage, but nothing is undefined).
 * ---------------------------------------------------------------------------------------- */
static inline void quantize_row_q8_K_ref(int n, block_q8_K *y, const float *x) {
    for (int b = 0; b < n / QK_K; b++, x += QK_K) {
        float amax = 0.0f;
        for (int i = 0; i < QK_K; i++) amax = fmaxf(amax, fabsf(x[i]));
        const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = d;
        for (int i = 0; i < QK_K; i++) {
            float v = roundf(x[i] * id);                      /* in -127..127 for finite x */
            y[b].qs[i] = v == v ? (int8_t)fmaxf(-127.0f, fminf(127.0f, v)) : 0;
        }
        for (int g = 0; g < QK_K / 16; g++) {
            int s = 0;
            for (int i = 0; i < 16; i++) s += y[b].qs[16 * g + i];
            y[b].bsums[g] = (int16_t)s;
        }
    }
}

/* ------------------------------------------------------------------------------------------
 * Dots: one K-quant weight row with one Q8_K activation row (dot_fn signature). The integer
 * sums are exact in int32 even for qx = -128 (bounds per type below); the float part is the
 * two steps of the header comment, super-block by super-block.
 * ---------------------------------------------------------------------------------------- */
#ifndef RVK_MAC   /* acc + a*b, fused where the target has FMA (defined by rvv_kernels.h) */
#define RVK_MAC(a, b, acc) ((a) * (b) + (acc))
#endif
#define KQ_ACCUMULATE(sum, isum, msum, d, dmin, dx)                 \
    do {                                                           \
        (sum) = RVK_MAC((float)(isum), (d) * (dx), (sum));         \
        (sum) = RVK_MAC(-(float)(msum), (dmin) * (dx), (sum));     \
    } while (0)

/* |isum| <= 8 * 63 * 32*15*128 = 31.0M, |msum| <= 8 * 63 * 32*128 = 2.1M */
static inline float dot_q4_K_q8_K_ref(int n, const void *w, const void *x) {
    const block_q4_K *a = (const block_q4_K *)w;
    const block_q8_K *b = (const block_q8_K *)x;
    float sum = 0.0f;
    for (int k = 0; k < n / QK_K; k++) {
        const uint8_t *q = a[k].qs;
        const int8_t *y = b[k].qs;
        int32_t isum = 0, msum = 0;
        for (int c = 0; c < QK_K / 64; c++, q += 32, y += 64) {
            int sc0, m0, sc1, m1;
            kq_scale_min_k4(2 * c, a[k].scales, &sc0, &m0);
            kq_scale_min_k4(2 * c + 1, a[k].scales, &sc1, &m1);
            int32_t s0 = 0, s1 = 0;
            for (int l = 0; l < 32; l++) {
                s0 += (q[l] & 15) * y[l];
                s1 += (q[l] >> 4) * y[l + 32];
            }
            isum += sc0 * s0 + sc1 * s1;
            msum += m0 * (b[k].bsums[4 * c] + b[k].bsums[4 * c + 1]) + m1 * (b[k].bsums[4 * c + 2] + b[k].bsums[4 * c + 3]);
        }
        KQ_ACCUMULATE(sum, isum, msum, fp16_to_fp32(a[k].d), fp16_to_fp32(a[k].dmin), b[k].d);
    }
    return sum;
}

/* |isum| <= 8 * 63 * 32*31*128 = 64.0M, |msum| <= 2.1M */
static inline float dot_q5_K_q8_K_ref(int n, const void *w, const void *x) {
    const block_q5_K *a = (const block_q5_K *)w;
    const block_q8_K *b = (const block_q8_K *)x;
    float sum = 0.0f;
    for (int k = 0; k < n / QK_K; k++) {
        const uint8_t *q = a[k].qs, *qh = a[k].qh;
        const int8_t *y = b[k].qs;
        int32_t isum = 0, msum = 0;
        for (int c = 0; c < QK_K / 64; c++, q += 32, y += 64) {
            int sc0, m0, sc1, m1;
            kq_scale_min_k4(2 * c, a[k].scales, &sc0, &m0);
            kq_scale_min_k4(2 * c + 1, a[k].scales, &sc1, &m1);
            int32_t s0 = 0, s1 = 0;
            for (int l = 0; l < 32; l++) {
                s0 += ((q[l] & 15) | ((qh[l] >> (2 * c)) & 1) << 4) * y[l];
                s1 += ((q[l] >> 4) | ((qh[l] >> (2 * c + 1)) & 1) << 4) * y[l + 32];
            }
            isum += sc0 * s0 + sc1 * s1;
            msum += m0 * (b[k].bsums[4 * c] + b[k].bsums[4 * c + 1]) + m1 * (b[k].bsums[4 * c + 2] + b[k].bsums[4 * c + 3]);
        }
        KQ_ACCUMULATE(sum, isum, msum, fp16_to_fp32(a[k].d), fp16_to_fp32(a[k].dmin), b[k].d);
    }
    return sum;
}

/* Q6_K and Q3_K codes carry an offset (q - 32, q - 4). It is applied through the activation's
 * bsums, sum_i (q_i - 32) * qx_i = sum_i q_i * qx_i - 32 * bsum, which is the same integer.
 * Written the direct way, `s += (q - 32) * qx` with q from bytes, GCC 12.2 with AVX-VNNI
 * (-march=native on this project's x86 machines) vectorizes it into vpdpbusd, which takes the
 * first operand as unsigned, and returns wrong sums; tests/test_kquants.c catches it. */

/* |isum| <= 16 * 128 * 16*32*128 = 134.2M < 2^31; no mins */
static inline float dot_q6_K_q8_K_ref(int n, const void *w, const void *x) {
    const block_q6_K *a = (const block_q6_K *)w;
    const block_q8_K *b = (const block_q8_K *)x;
    float sum = 0.0f;
    for (int k = 0; k < n / QK_K; k++) {
        int32_t isum = 0;
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = a[k].ql + 64 * h, *qh = a[k].qh + 32 * h;
            const int8_t *sc = a[k].scales + 8 * h, *y = b[k].qs + 128 * h;
            for (int is = 0; is < 2; is++) {   /* first / second 16 of each quarter k: sub-block 8h + 2k + is */
                const int16_t *bs = b[k].bsums + 8 * h + is;
                int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                for (int l = 16 * is; l < 16 * is + 16; l++) {
                    s0 += ((ql[l] & 15) | ((qh[l] >> 0) & 3) << 4) * y[l];
                    s1 += ((ql[l + 32] & 15) | ((qh[l] >> 2) & 3) << 4) * y[l + 32];
                    s2 += ((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) * y[l + 64];
                    s3 += ((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) * y[l + 96];
                }
                isum += sc[is] * (s0 - 32 * bs[0]) + sc[is + 2] * (s1 - 32 * bs[2]) +
                        sc[is + 4] * (s2 - 32 * bs[4]) + sc[is + 6] * (s3 - 32 * bs[6]);
            }
        }
        sum = RVK_MAC((float)isum, fp16_to_fp32(a[k].d) * b[k].d, sum);
    }
    return sum;
}

/* |isum| <= 16 * 32 * 16*4*128 = 4.2M; no mins. Codes 0..7 here, the - 4 through bsums. */
static inline float dot_q3_K_q8_K_ref(int n, const void *w, const void *x) {
    const block_q3_K *a = (const block_q3_K *)w;
    const block_q8_K *b = (const block_q8_K *)x;
    float sum = 0.0f;
    for (int k = 0; k < n / QK_K; k++) {
        int8_t sc[16];
        kq_scales_q3(a[k].scales, sc);
        const int8_t *y = b[k].qs;
        int32_t isum = 0;
        for (int h = 0; h < 2; h++) {
            const uint8_t *q = a[k].qs + 32 * h;
            for (int j = 0; j < 4; j++, y += 32) {   /* sub-blocks 8h + 2j (l < 16) and 8h + 2j + 1 */
                int32_t s0 = 0, s1 = 0;
                for (int l = 0; l < 16; l++) {
                    s0 += (((q[l] >> 2 * j) & 3) | ((a[k].hmask[l] >> (4 * h + j)) & 1) << 2) * y[l];
                    s1 += (((q[l + 16] >> 2 * j) & 3) | ((a[k].hmask[l + 16] >> (4 * h + j)) & 1) << 2) * y[l + 16];
                }
                const int s = 8 * h + 2 * j;
                isum += sc[s] * (s0 - 4 * b[k].bsums[s]) + sc[s + 1] * (s1 - 4 * b[k].bsums[s + 1]);
            }
        }
        sum = RVK_MAC((float)isum, fp16_to_fp32(a[k].d) * b[k].d, sum);
    }
    return sum;
}

/* |isum| <= 16 * 15 * 16*3*128 = 1.5M, |msum| <= 16 * 15 * 16*128 = 0.5M */
static inline float dot_q2_K_q8_K_ref(int n, const void *w, const void *x) {
    const block_q2_K *a = (const block_q2_K *)w;
    const block_q8_K *b = (const block_q8_K *)x;
    float sum = 0.0f;
    for (int k = 0; k < n / QK_K; k++) {
        const int8_t *y = b[k].qs;
        int32_t isum = 0, msum = 0;
        for (int s = 0; s < 16; s++) msum += (a[k].scales[s] >> 4) * b[k].bsums[s];
        for (int h = 0; h < 2; h++) {
            const uint8_t *q = a[k].qs + 32 * h;
            for (int j = 0; j < 4; j++, y += 32) {
                int32_t s0 = 0, s1 = 0;
                for (int l = 0; l < 16; l++) {
                    s0 += ((q[l] >> 2 * j) & 3) * y[l];
                    s1 += ((q[l + 16] >> 2 * j) & 3) * y[l + 16];
                }
                isum += (a[k].scales[8 * h + 2 * j] & 15) * s0 + (a[k].scales[8 * h + 2 * j + 1] & 15) * s1;
            }
        }
        KQ_ACCUMULATE(sum, isum, msum, fp16_to_fp32(a[k].d), fp16_to_fp32(a[k].dmin), b[k].d);
    }
    return sum;
}

/* GEMM tiles (gemm_fn, see rvv_kernels.h): every element is the dot of the same build. */
GEMM_FROM_DOT(gemm_q4_K_q8_K_ref, dot_q4_K_q8_K_ref)
GEMM_FROM_DOT(gemm_q5_K_q8_K_ref, dot_q5_K_q8_K_ref)
GEMM_FROM_DOT(gemm_q6_K_q8_K_ref, dot_q6_K_q8_K_ref)
GEMM_FROM_DOT(gemm_q3_K_q8_K_ref, dot_q3_K_q8_K_ref)
GEMM_FROM_DOT(gemm_q2_K_q8_K_ref, dot_q2_K_q8_K_ref)

/* ------------------------------------------------------------------------------------------
 * Weight quantizers (for `llm quantize` and test models; not hot, deterministic, portable).
 * They do not reproduce ggml's output bit for bit; any valid block decodes the same way.
 * Three stages per super-block:
 *   1. each sub-block gets its own float scale (and min) by a small search: 4 candidate
 *      scales around the one that spans the data (a narrower range clips the extremes but
 *      gives finer steps everywhere else), each refined twice by least squares on the codes
 *      it produces; the lowest squared error wins;
 *   2. these scales (and mins) are quantized against the super-block factors d (dmin), which
 *      are rounded to fp16 first: d = largest scale / largest code of the scale field. For each
 *      sub-block, rounding the scale (min) down or up is decided by the error it gives;
 *   3. the codes are recomputed against the scales the block really stores.
 * Non-finite inputs (NaN, +-inf) are treated as 0 so one bad value does not spoil the block's
 * scales; every float -> int conversion is range-checked, so no input is undefined behaviour.
 * d and dmin saturate at the largest fp16 (65504), so every block decodes to finite values;
 * data beyond about 2^21 (Q2_K) .. 2^28 (Q6_K) is clipped there.
 * RMS error relative to the data's RMS, zero-mean Gaussian data (ggml's reference quantizers
 * on the same data in brackets): Q2_K 26.3 % (29.7), Q3_K 14.5 % (15.1), Q4_K 7.2 % (7.2),
 * Q5_K 3.6 % (3.6), Q6_K 1.7 % (1.8). About 10 M weights per second on one x86 core.
 * ---------------------------------------------------------------------------------------- */
#define KQ_NCAND 4   /* candidate scales per sub-block (each refined by least squares twice) */

/* round half away from zero and clamp to [lo, hi]; NaN gives the value in range nearest 0.
 * (The error loops below inline a cheaper form: clamp first, then add 0.5 and truncate.) */
static inline int kq_nearest(float v, int lo, int hi) {
    if (v != v) return lo > 0 ? lo : hi < 0 ? hi : 0;
    if (v <= (float)lo) return lo;
    if (v >= (float)hi) return hi;
    return (int)roundf(v);
}

/* Squared error of x ~= a*q - b with the best codes q in 0..nmax; codes to q when q != NULL. */
static inline double kq_err_asym(int n, const float *x, int nmax, float a, float b, uint8_t *q) {
    double e = 0.0;
    const float ia = a > 0.0f ? 1.0f / a : 0.0f;
    for (int i = 0; i < n; i++) {
        int c = (int)(fminf(fmaxf((x[i] + b) * ia, 0.0f), (float)nmax) + 0.5f);   /* NaN -> 0 */
        double r = (double)a * c - b - x[i];
        e += r * r;
        if (q) q[i] = (uint8_t)c;
    }
    return e;
}

/* Stage 1, with mins: x ~= a*q - b, q in 0..nmax, a >= 0, b >= 0 (the min, -b, is <= 0 as
 * in ggml: the stored min is unsigned). Candidates: the range [min(x, 0), max(x)] shrunk about
 * its middle to 100, 94, 88 and 82 %. */
static inline void kq_fit_asym(int n, const float *x, int nmax, float *pa, float *pb) {
    float lo = 0.0f, hi = x[0];
    for (int i = 0; i < n; i++) { lo = fminf(lo, x[i]); hi = fmaxf(hi, x[i]); }
    *pa = (hi - lo) / nmax;
    *pb = -lo;
    if (!(hi > lo)) { *pa = 0.0f; return; }                  /* all equal: exact with a = 0 */
    double best = kq_err_asym(n, x, nmax, *pa, *pb, NULL);
    for (int c = 0; c < KQ_NCAND; c++) {
        const float f = 1.0f - 0.06f * c, mid = 0.5f * (hi + lo), half = 0.5f * (hi - lo) * f;
        float a = 2.0f * half / nmax, b = fmaxf(0.0f, half - mid);   /* range [mid-half, mid+half] */
        for (int it = 0; it < 3; it++) {
            uint8_t q[32];
            double e = kq_err_asym(n, x, nmax, a, b, q);
            if (e < best) { best = e; *pa = a; *pb = b; }
            if (it == 2) break;
            /* least squares for x ~= a*q + t with these codes, then t = -b <= 0 */
            double sq = 0, sqq = 0, sx = 0, sxq = 0;
            for (int i = 0; i < n; i++) { sq += q[i]; sqq += (double)q[i] * q[i]; sx += x[i]; sxq += (double)x[i] * q[i]; }
            double det = n * sqq - sq * sq, na, nt;
            if (det <= 0) break;
            na = (n * sxq - sq * sx) / det;
            nt = (sx - na * sq) / n;
            if (nt > 0) { nt = 0; na = sxq / sqq; }
            if (!(na > 0 && na <= FLT_MAX && nt >= -FLT_MAX)) break;   /* also keeps the casts defined */
            a = (float)na;
            b = (float)-nt;
        }
    }
}

/* Squared error of x ~= a*q with the best codes q in lo..hi; codes to q when q != NULL. */
static inline double kq_err_sym(int n, const float *x, int lo, int hi, float a, int8_t *q) {
    double e = 0.0;
    const float ia = a != 0.0f ? 1.0f / a : 0.0f;
    for (int i = 0; i < n; i++) {
        int c = (int)(fminf(fmaxf(x[i] * ia - lo, 0.0f), (float)(hi - lo)) + 0.5f) + lo;   /* NaN -> lo */
        double r = (double)a * c - x[i];
        e += r * r;
        if (q) q[i] = (int8_t)c;
    }
    return e;
}

/* Stage 1, symmetric: x ~= a*q, q in lo..hi with lo = -(hi+1) (e.g. -32..31). The element of
 * largest magnitude, m, goes to the longer side: a = m / lo (a takes the sign that does it).
 * Candidates: a times 1.03, 1.00, 0.97, 0.94 (starting a little wide helped Q6_K: 1.72 % RMS
 * error instead of 1.80 % on Gaussian data). */
static inline float kq_fit_sym(int n, const float *x, int lo, int hi) {
    float m = 0.0f, mabs = 0.0f;   /* |m| kept apart: clang 19.1 at -O3 (RISC-V at -O2) drops the
                                      fabs of `if (fabsf(x[i]) > fabsf(m)) m = x[i]` once unrolled */
    for (int i = 0; i < n; i++)
        if (fabsf(x[i]) > mabs) { mabs = fabsf(x[i]); m = x[i]; }
    if (m == 0.0f) return 0.0f;
    float besta = m / lo;
    double best = kq_err_sym(n, x, lo, hi, besta, NULL);
    for (int c = 0; c < KQ_NCAND; c++) {
        float a = m / lo * (1.03f - 0.03f * c);
        for (int it = 0; it < 3; it++) {
            int8_t q[32];
            double e = kq_err_sym(n, x, lo, hi, a, q);
            if (e < best) { best = e; besta = a; }
            if (it == 2) break;
            double sxq = 0, sqq = 0;
            for (int i = 0; i < n; i++) { sxq += (double)x[i] * q[i]; sqq += (double)q[i] * q[i]; }
            if (!(sqq > 0) || sxq == 0) break;
            a = (float)(sxq / sqq);
        }
    }
    return besta;
}

/* Copy one super-block, non-finite values as 0. */
static inline void kq_sanitize(float *dst, const float *x) {
    for (int i = 0; i < QK_K; i++) dst[i] = isfinite(x[i]) ? x[i] : 0.0f;
}

/* Stages 2 and 3 with mins (Q2_K: ns = 16 sub-blocks of 16, 4-bit scale fields; Q4_K/Q5_K:
 * ns = 8 of 32, 6-bit fields). From the float scales a[] and mins b[] of stage 1: fp16 d and
 * dmin, integer sc[] and m[] in 0..smax, codes q[] in 0..nmax. */
static inline void kq_finish_asym(const float *x, int ns, int nmax, int smax, const float *a, const float *b,
                                  uint16_t *pd, uint16_t *pdmin, uint8_t *sc, uint8_t *m, uint8_t *q) {
    const int len = QK_K / ns;
    float amax = 0.0f, bmax = 0.0f;
    for (int s = 0; s < ns; s++) { amax = fmaxf(amax, a[s]); bmax = fmaxf(bmax, b[s]); }
    *pd = fp32_to_fp16(fminf(amax / smax, 65504.0f));
    *pdmin = fp32_to_fp16(fminf(bmax / smax, 65504.0f));
    const float d = fp16_to_fp32(*pd), dmin = fp16_to_fp32(*pdmin);
    const float id = d > 0.0f ? 1.0f / d : 0.0f, idmin = dmin > 0.0f ? 1.0f / dmin : 0.0f;
    for (int s = 0; s < ns; s++) {
        const float *xs = x + s * len;
        /* floor and ceiling of each ideal integer, keep the pair with the lowest error */
        int s0 = kq_nearest(floorf(a[s] * id), 0, smax), m0 = kq_nearest(floorf(b[s] * idmin), 0, smax);
        double best = INFINITY;
        sc[s] = (uint8_t)s0;
        m[s] = (uint8_t)m0;
        for (int ds = 0; ds < 2; ds++)
            for (int dm = 0; dm < 2; dm++) {
                int si = s0 + ds > smax ? smax : s0 + ds, mi = m0 + dm > smax ? smax : m0 + dm;
                double e = kq_err_asym(len, xs, nmax, d * si, dmin * mi, NULL);
                if (e < best) { best = e; sc[s] = (uint8_t)si; m[s] = (uint8_t)mi; }
            }
        kq_err_asym(len, xs, nmax, d * sc[s], dmin * m[s], q + s * len);
    }
}

/* Stages 2 and 3 without mins (Q3_K: scales -32..31 and codes -4..3; Q6_K: -128..127 and
 * -32..31); ns = 16 sub-blocks of 16. The largest-magnitude scale maps to slo. */
static inline void kq_finish_sym(const float *x, int qlo, int qhi, int slo, int shi, const float *a,
                                 uint16_t *pd, int8_t *sc, int8_t *q) {
    float amax = 0.0f, aabs = 0.0f;   /* the scale of largest magnitude (see kq_fit_sym) */
    for (int s = 0; s < 16; s++)
        if (fabsf(a[s]) > aabs) { aabs = fabsf(a[s]); amax = a[s]; }
    *pd = fp32_to_fp16(fmaxf(-65504.0f, fminf(amax / slo, 65504.0f)));
    const float d = fp16_to_fp32(*pd), id = d != 0.0f ? 1.0f / d : 0.0f;
    for (int s = 0; s < 16; s++) {
        const float *xs = x + 16 * s;
        int s0 = kq_nearest(floorf(a[s] * id), slo, shi);
        double best = INFINITY;
        sc[s] = (int8_t)s0;
        for (int ds = 0; ds < 2; ds++) {
            int si = s0 + ds > shi ? shi : s0 + ds;
            double e = kq_err_sym(16, xs, qlo, qhi, d * si, NULL);
            if (e < best) { best = e; sc[s] = (int8_t)si; }
        }
        kq_err_sym(16, xs, qlo, qhi, d * sc[s], q + 16 * s);
    }
}

static inline void quantize_row_q4_K(int n, block_q4_K *y, const float *x) {
    for (int b = 0; b < n / QK_K; b++, x += QK_K) {
        float v[QK_K], a[8], mn[8];
        uint8_t q[QK_K], sc[8], m[8];
        kq_sanitize(v, x);
        for (int s = 0; s < 8; s++) kq_fit_asym(32, v + 32 * s, 15, &a[s], &mn[s]);
        kq_finish_asym(v, 8, 15, 63, a, mn, &y[b].d, &y[b].dmin, sc, m, q);
        kq_pack_scale_min_k4(y[b].scales, sc, m);
        for (int c = 0; c < 4; c++)
            for (int l = 0; l < 32; l++) y[b].qs[32 * c + l] = (uint8_t)(q[64 * c + l] | q[64 * c + 32 + l] << 4);
    }
}

static inline void quantize_row_q5_K(int n, block_q5_K *y, const float *x) {
    for (int b = 0; b < n / QK_K; b++, x += QK_K) {
        float v[QK_K], a[8], mn[8];
        uint8_t q[QK_K], sc[8], m[8];
        kq_sanitize(v, x);
        for (int s = 0; s < 8; s++) kq_fit_asym(32, v + 32 * s, 31, &a[s], &mn[s]);
        kq_finish_asym(v, 8, 31, 63, a, mn, &y[b].d, &y[b].dmin, sc, m, q);
        kq_pack_scale_min_k4(y[b].scales, sc, m);
        memset(y[b].qh, 0, sizeof y[b].qh);
        for (int c = 0; c < 4; c++)
            for (int l = 0; l < 32; l++) {
                const int lo = q[64 * c + l], hi = q[64 * c + 32 + l];
                y[b].qs[32 * c + l] = (uint8_t)((lo & 15) | (hi & 15) << 4);
                y[b].qh[l] |= (uint8_t)((lo >> 4) << (2 * c) | (hi >> 4) << (2 * c + 1));
            }
    }
}

static inline void quantize_row_q6_K(int n, block_q6_K *y, const float *x) {
    for (int b = 0; b < n / QK_K; b++, x += QK_K) {
        float v[QK_K], a[16];
        int8_t q[QK_K];
        kq_sanitize(v, x);
        for (int s = 0; s < 16; s++) a[s] = kq_fit_sym(16, v + 16 * s, -32, 31);
        kq_finish_sym(v, -32, 31, -128, 127, a, &y[b].d, y[b].scales, q);
        for (int h = 0; h < 2; h++)
            for (int l = 0; l < 32; l++) {
                const int q0 = q[128 * h + l] + 32, q1 = q[128 * h + 32 + l] + 32;
                const int q2 = q[128 * h + 64 + l] + 32, q3 = q[128 * h + 96 + l] + 32;
                y[b].ql[64 * h + l] = (uint8_t)((q0 & 15) | (q2 & 15) << 4);
                y[b].ql[64 * h + 32 + l] = (uint8_t)((q1 & 15) | (q3 & 15) << 4);
                y[b].qh[32 * h + l] = (uint8_t)((q0 >> 4) | (q1 >> 4) << 2 | (q2 >> 4) << 4 | (q3 >> 4) << 6);
            }
    }
}

static inline void quantize_row_q3_K(int n, block_q3_K *y, const float *x) {
    for (int b = 0; b < n / QK_K; b++, x += QK_K) {
        float v[QK_K], a[16];
        int8_t q[QK_K], sc[16];
        kq_sanitize(v, x);
        for (int s = 0; s < 16; s++) a[s] = kq_fit_sym(16, v + 16 * s, -4, 3);
        kq_finish_sym(v, -4, 3, -32, 31, a, &y[b].d, sc, q);
        kq_pack_scales_q3(y[b].scales, sc);
        memset(y[b].hmask, 0, sizeof y[b].hmask);
        memset(y[b].qs, 0, sizeof y[b].qs);
        for (int e = 0; e < QK_K; e++) {
            const int c = q[e] + 4, h = e / 128, j = (e % 128) / 32, l = e % 32;
            y[b].qs[32 * h + l] |= (uint8_t)((c & 3) << 2 * j);
            y[b].hmask[l] |= (uint8_t)((c >> 2) << (4 * h + j));
        }
    }
}

static inline void quantize_row_q2_K(int n, block_q2_K *y, const float *x) {
    for (int b = 0; b < n / QK_K; b++, x += QK_K) {
        float v[QK_K], a[16], mn[16];
        uint8_t q[QK_K], sc[16], m[16];
        kq_sanitize(v, x);
        for (int s = 0; s < 16; s++) kq_fit_asym(16, v + 16 * s, 3, &a[s], &mn[s]);
        kq_finish_asym(v, 16, 3, 15, a, mn, &y[b].d, &y[b].dmin, sc, m, q);
        for (int s = 0; s < 16; s++) y[b].scales[s] = (uint8_t)(sc[s] | m[s] << 4);
        memset(y[b].qs, 0, sizeof y[b].qs);
        for (int e = 0; e < QK_K; e++) {
            const int h = e / 128, j = (e % 128) / 32, l = e % 32;
            y[b].qs[32 * h + l] |= (uint8_t)(q[e] << 2 * j);
        }
    }
}

/* ==========================================================================================
 * The kernels llm.c calls, each with the body of this build. No vector bodies exist yet for
 * K-quants, so every build uses the reference. A vector body goes in an
 * #if defined(__riscv_vector) section like rvv_kernels.h's (named rvk_<name>, equal to the
 * reference bitwise, see the header comment); then RVK_KQ becomes RVK_BLOCK for that build.
 * ======================================================================================== */
#define RVK_KQ(name) name##_ref

static inline void quantize_row_q8_K(int n, block_q8_K *y, const float *x) { RVK_KQ(quantize_row_q8_K)(n, y, x); }
static inline float dot_q4_K_q8_K(int n, const void *w, const void *x) { return RVK_KQ(dot_q4_K_q8_K)(n, w, x); }
static inline float dot_q5_K_q8_K(int n, const void *w, const void *x) { return RVK_KQ(dot_q5_K_q8_K)(n, w, x); }
static inline float dot_q6_K_q8_K(int n, const void *w, const void *x) { return RVK_KQ(dot_q6_K_q8_K)(n, w, x); }
static inline float dot_q3_K_q8_K(int n, const void *w, const void *x) { return RVK_KQ(dot_q3_K_q8_K)(n, w, x); }
static inline float dot_q2_K_q8_K(int n, const void *w, const void *x) { return RVK_KQ(dot_q2_K_q8_K)(n, w, x); }
RVK_GEMM(gemm_q4_K_q8_K, RVK_KQ)
RVK_GEMM(gemm_q5_K_q8_K, RVK_KQ)
RVK_GEMM(gemm_q6_K_q8_K, RVK_KQ)
RVK_GEMM(gemm_q3_K_q8_K, RVK_KQ)
RVK_GEMM(gemm_q2_K_q8_K, RVK_KQ)

#endif /* KQUANTS_H */
