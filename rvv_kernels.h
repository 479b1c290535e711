/* rvv_kernels.h - the hot kernels of llm.c: block formats, their math, and the RISC-V port.
 *
 * A kernel is specified once, by its reference body: portable C named name_ref(), the clearest
 * code in this file. A *port* gives faster bodies for a family of CPUs, all in one table of
 * entry points (kernel_port, below); an entry left NULL uses the reference. The ports:
 *   reference       portable C, every build
 *   rvv1.0          RVV 1.0 vector bodies, any VLEN >= 128 (vector-length agnostic)
 *   xtheadvector    the same source for RVV 0.7.1 as the SG2042's XuanTie C920 has it (GCC 14)
 *   x86             AVX2 / AVX-512 bodies, in x86_kernels.h: the second example of a port
 * The table of this build is chosen at compile time (the end of this file) and resolved once
 * (kernels_resolve: NULL entries filled from the reference); llm.c calls kernels through it.
 * Vector builds must call kernels_cpu_ok() first thing in main() (see "Can this CPU run it").
 *
 * The contract between ports:
 *  - every body returns the reference's bits, on every target and vector length: integer
 *    sums are exact, and every float operation of the reference (its order of summation, its
 *    fused multiply-adds, its exp) is repeated as written. Sums are in an order any vector
 *    length can follow: block after block for the quantized dots, 8 interleaved partial sums
 *    for the float dots, 32 for the row-wise sums ("sum32"). So llm.c's logits are the same
 *    bits on x86, RVV 1.0 at any VLEN, XTheadVector and plain C: one comparison tells whether
 *    a port is correct;
 *  - a GEMM tile computes each output element with exactly the same float operations as the
 *    1x1 case (the dot), so results do not depend on how rows are tiled (the output is bitwise
 *    identical for any thread count and batch split);
 *  - n (elements of a row) is a multiple of the block size for block types (32 for Q8_0/Q4_0,
 *    256 for the K-quants); no kernel allocates or keeps state.
 * Block formats are byte-identical to ggml/GGUF, so a tensor is used straight from the file.
 *
 * Porting to a new CPU: write the bodies that matter (each bitwise its reference), fill one
 * kernel_port table, add one #elif at the end of this file that selects it, run `make test`
 * (tests/test_kernels.c and tests/test_kquants.c check every non-NULL entry of the table against
 * the reference, and every GEMM tile against its 1x1 case).
 *
 * Compiler quirks met so far, each with its symptom; the code works around them where noted:
 *  1. GCC (every version, GNU C's default -ffp-contract=fast) fuses a*b + c across statements,
 *     so results depend on the compiler's choices: every build uses -ffp-contract=off and
 *     every fused step is written as fmaf().
 *  2. GCC 12.2 with AVX-VNNI vectorizes `s += (q - 32) * qx` (q from bytes) into vpdpbusd,
 *     which takes its first operand as unsigned: wrong Q6_K / Q3_K sums. The code offsets go
 *     through the activation's bsums instead (above dot_q6_K_q8_K_ref).
 *  3. clang 19.1 at -O3 (RISC-V: -O2) drops the fabsf of `fabsf(x[i]) > fabsf(m)` once the loop
 *     is unrolled, and picks a wrong extreme: kq_fit_sym keeps |m| in its own variable.
 *  4. GCC 14.2 for XTheadVector: invalid th.vsetvli for vmv.x.s, internal errors on constant
 *     shifts, vsetivli for small constant lengths, wrong spill code (register groups reloaded
 *     under another LMUL), strided loads under the wrong SEW. Listed with their remedies at
 *     "What GCC 14 needs to emit valid XTheadVector code" below; tests/xthead_check.py checks
 *     the binaries for them.
 *  5. clang 19 for rv64gc, with a K-quant reference dot inlined into the loop of its GEMM
 *     (GEMM_FROM_DOT), emits more instructions per weight than for the dot on its own, and the
 *     scalar build runs these dots: they are kept out of line (KQ_REF_DOT).
 */
#ifndef RVV_KERNELS_H
#define RVV_KERNELS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <math.h>
#include <float.h>
#include <stdio.h>

/* ------------------------------------------------------------------------------------------
 * Scalar conversions: IEEE half (F16) and bfloat16 (BF16) <-> float.
 * Both are the top bits of a float in some form; done with integer ops so the result is exact
 * and identical on every target (round-to-nearest-even when narrowing).
 * ---------------------------------------------------------------------------------------- */
static inline float f32_from_bits(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static inline uint32_t f32_to_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

/* branch-free (so loops over halves vectorize) and exact for every code: normal halves are
 * rebiased (exponent + 112), inf/nan get exponent 255 (payload kept), zeros and subnormals
 * come from an exact subtraction (1.m x 2^-14 - 2^-14 = m x 2^-24) without touching float
 * subnormals, so it holds under flush-to-zero / denormals-are-zero too */
static inline float fp16_to_fp32(uint16_t h) {
    uint32_t u = (uint32_t)(h & 0x7fff) << 13, e = u & 0x0f800000u;
    float f = e ? f32_from_bits(u + (e == 0x0f800000u ? 224u << 23 : 112u << 23))
                : f32_from_bits(u + (113u << 23)) - f32_from_bits(113u << 23);
    return f32_from_bits(f32_to_bits(f) | ((uint32_t)(h & 0x8000) << 16));
}

static inline uint16_t fp32_to_fp16(float f) {
    uint32_t u = f32_to_bits(f);
    uint32_t sign = (u >> 16) & 0x8000;
    uint32_t a = u & 0x7fffffffu;
    if (a >= 0x7f800000u) return (uint16_t)(sign | 0x7c00 | (a > 0x7f800000u ? 0x200 : 0));
    if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00);                     /* overflow -> inf */
    if (a < 0x38800000u) {                                                      /* subnormal half */
        /* value = a * 2^24 in units of the smallest subnormal; round to nearest even */
        float v = f32_from_bits(a) * 16777216.0f;
        uint32_t q = (uint32_t)v;
        float rem = v - (float)q;
        if (rem > 0.5f || (rem == 0.5f && (q & 1))) q++;
        return (uint16_t)(sign | q);
    }
    uint32_t r = a + 0xfff + ((a >> 13) & 1);                                   /* round to nearest even */
    return (uint16_t)(sign | ((r - (112u << 23)) >> 13));
}

static inline float bf16_to_fp32(uint16_t h) { return f32_from_bits((uint32_t)h << 16); }

static inline uint16_t fp32_to_bf16(float f) {
    uint32_t u = f32_to_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);  /* quiet nan */
    return (uint16_t)((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}

/* ------------------------------------------------------------------------------------------
 * Tensor types: ggml's type ids, as GGUF stores them (the ones this runtime computes with).
 * Q8_K exists only as the activations of the K-quant dots.
 * ---------------------------------------------------------------------------------------- */
enum { T_F32 = 0, T_F16 = 1, T_Q4_0 = 2, T_Q8_0 = 8, T_Q2_K = 10, T_Q3_K = 11, T_Q4_K = 12, T_Q5_K = 13, T_Q6_K = 14,
       T_Q8_K = 15, T_BF16 = 30, T_COUNT = 40 };

/* ------------------------------------------------------------------------------------------
 * Block formats (ggml). A row of n elements is n/32 consecutive blocks.
 *   Q8_0: x[i] = d * qs[i],        d fp16, qs int8                    34 bytes / 32 elements
 *   Q4_0: x[j] = d * (lo(qs[j])-8), x[j+16] = d * (hi(qs[j])-8)       18 bytes / 32 elements
 * ---------------------------------------------------------------------------------------- */
#define QK 32
typedef struct { uint16_t d; int8_t qs[QK]; } block_q8_0;
typedef struct { uint16_t d; uint8_t qs[QK / 2]; } block_q4_0;
_Static_assert(sizeof(block_q8_0) == 34, "block_q8_0 must be 34 bytes");
_Static_assert(sizeof(block_q4_0) == 18, "block_q4_0 must be 18 bytes");

/* Quantize a float row to Q8_0, rounded as llama.cpp's x86 and RVV kernels do (and its C
 * reference does not): d = max|x| / 127 stored as fp16, q = round-half-to-even(x * 127/max|x|).
 * The scale is 127/max|x| (llama.cpp's x86 form), not 1/d: the two differ in the last bit for
 * some max|x|, which moves codes that sit on .5. NaN or inf inputs, or x * id overflowing,
 * give code 0 instead of undefined behaviour. */
static inline void quantize_row_q8_0_ref(int n, block_q8_0 *y, const float *x) {
    for (int b = 0; b < n / QK; b++, x += QK) {
        float amax = 0.0f;
        for (int i = 0; i < QK; i++) amax = fmaxf(amax, fabsf(x[i]));
        const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        y[b].d = fp32_to_fp16(amax / 127.0f);
        for (int i = 0; i < QK; i++) {
            float v = rintf(x[i] * id);                         /* in -127..127 for finite x */
            y[b].qs[i] = fabsf(v) <= 127.0f ? (int8_t)v : 0;
        }
    }
}

/* Quantize a float row to Q4_0: d = m / -8 where m is the element of largest magnitude
 * (so m itself maps to code 0 exactly), codes clamp to 0..15. Not hot: used by `quantize`. */
static inline void quantize_row_q4_0(int n, block_q4_0 *y, const float *x) {
    for (int b = 0; b < n / QK; b++, x += QK) {
        float amax = 0.0f, m = 0.0f;
        for (int i = 0; i < QK; i++)
            if (fabsf(x[i]) > amax) { amax = fabsf(x[i]); m = x[i]; }
        float d = m / -8.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = fp32_to_fp16(d);
        for (int j = 0; j < QK / 2; j++) {
            float fl = x[j] * id + 8.5f, fh = x[j + QK / 2] * id + 8.5f;
            int lo = fl == fl ? (int)fminf(fmaxf(fl, 0.0f), 15.0f) : 8, hi = fh == fh ? (int)fminf(fmaxf(fh, 0.0f), 15.0f) : 8;
            y[b].qs[j] = (uint8_t)((lo > 15 ? 15 : lo) | (hi > 15 ? 15 : hi) << 4);
        }
    }
}

static inline void dequantize_row_q8_0(int n, float *y, const block_q8_0 *x) {
    for (int b = 0; b < n / QK; b++) {
        float d = fp16_to_fp32(x[b].d);
        for (int i = 0; i < QK; i++) y[b * QK + i] = d * x[b].qs[i];
    }
}

static inline void dequantize_row_q4_0(int n, float *y, const block_q4_0 *x) {
    for (int b = 0; b < n / QK; b++) {
        float d = fp16_to_fp32(x[b].d);
        for (int j = 0; j < QK / 2; j++) {
            y[b * QK + j] = d * ((x[b].qs[j] & 15) - 8);
            y[b * QK + j + QK / 2] = d * ((x[b].qs[j] >> 4) - 8);
        }
    }
}

/* ==========================================================================================
 * K-quants: ggml's K-quant formats (Q2_K .. Q6_K, and the Q8_K activations): block layouts,
 * dequantization, quantizers; their reference dots and GEMM tiles follow with the others.
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
 *   sum = fmaf((float)isum, d * x.d, sum);  sum = fmaf(-(float)msum, dmin * x.d, sum);
 * (Q3_K and Q6_K have no msum and skip the second step; their code offset enters isum through
 * the bsums as well.) fmaf(a, b, acc) is rvv_kernels.h's acc + a*b, one fused multiply-add
 * wherever the target has one, as in the Q8_0 dots. Because isum and msum are exact, any body
 * (vector or not) that computes them in any order gets the same integers; to be bitwise equal
 * to the reference it must then repeat these float steps per super-block, in order.
 *
 * Contracts (as in rvv_kernels.h): n is a multiple of QK_K; a Q8_K row comes from
 * quantize_row_q8_K (its bsums must match its qs); no kernel allocates or keeps state.
 */
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
    float m = 0.0f, mabs = 0.0f;   /* |m| kept apart: compiler quirk 3 (top of this file) */
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

/* ------------------------------------------------------------------------------------------
 * Dot products: one weight row (w, the weight's own type) with one activation row (x).
 * For block types the activation is Q8_0; per block the integer products are summed exactly
 * and scaled once:  sum_b  d_w[b] * d_x[b] * sum_i q_w[b][i] * q_x[b][i].
 * For float types the activation is float32 and the weight is widened to float.
 * The float sums use 8 interleaved partial sums (lane i takes elements i, i+8, ...), added
 * pairwise at the end: a fixed order that C compilers can vectorize without -ffast-math.
 * ---------------------------------------------------------------------------------------- */
typedef float (*dot_fn)(int n, const void *w, const void *x);

/* Every fused multiply-add of a kernel is written as fmaf(a, b, acc): acc + a*b with one
 * rounding, on every target (without an FMA instruction the C library computes it exactly:
 * slow, but the same answer). Builds use -ffp-contract=off, so a compiler fuses nothing
 * else of its own accord (compiler quirk 1). */

/* one block: the exact integer dot of the codes */
static inline int32_t isum_q8_0_q8_0(const block_q8_0 *a, const block_q8_0 *b) {
    int32_t s = 0;
    for (int i = 0; i < QK; i++) s += a->qs[i] * b->qs[i];
    return s;
}
static inline int32_t isum_q4_0_q8_0(const block_q4_0 *a, const block_q8_0 *b) {
    int32_t s = 0;
    for (int j = 0; j < QK / 2; j++) s += ((a->qs[j] & 15) - 8) * b->qs[j] + ((a->qs[j] >> 4) - 8) * b->qs[j + QK / 2];
    return s;
}

/* a row: block after block, sum = fma((float)isum, d_w * d_x, sum) */
static inline float dot_q8_0_q8_0_ref(int n, const void *w, const void *x) {
    const block_q8_0 *a = (const block_q8_0 *)w, *b = (const block_q8_0 *)x;
    float sum = 0.0f;
    for (int k = 0; k < n / QK; k++)
        sum = fmaf((float)isum_q8_0_q8_0(&a[k], &b[k]), fp16_to_fp32(a[k].d) * fp16_to_fp32(b[k].d), sum);
    return sum;
}

static inline float dot_q4_0_q8_0_ref(int n, const void *w, const void *x) {
    const block_q4_0 *a = (const block_q4_0 *)w;
    const block_q8_0 *b = (const block_q8_0 *)x;
    float sum = 0.0f;
    for (int k = 0; k < n / QK; k++)
        sum = fmaf((float)isum_q4_0_q8_0(&a[k], &b[k]), fp16_to_fp32(a[k].d) * fp16_to_fp32(b[k].d), sum);
    return sum;
}

#define DOT_FLOAT_BODY(WIDEN)                                                   \
    float acc[8] = {0};                                                         \
    int i = 0;                                                                  \
    for (; i + 8 <= n; i += 8)                                                  \
        for (int l = 0; l < 8; l++) acc[l] = fmaf(WIDEN(a[i + l]), b[i + l], acc[l]); \
    for (int l = 0; l < 8 && i < n; i++, l++) acc[l] = fmaf(WIDEN(a[i]), b[i], acc[l]); \
    return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));

#define WIDEN_F32(v) (v)
static inline float dot_f32_f32_ref(int n, const void *w, const void *x) {
    const float *a = (const float *)w, *b = (const float *)x;
    DOT_FLOAT_BODY(WIDEN_F32)
}
static inline float dot_f16_f32_ref(int n, const void *w, const void *x) {
    const uint16_t *a = (const uint16_t *)w; const float *b = (const float *)x;
    DOT_FLOAT_BODY(fp16_to_fp32)
}
static inline float dot_bf16_f32_ref(int n, const void *w, const void *x) {
    const uint16_t *a = (const uint16_t *)w; const float *b = (const float *)x;
    DOT_FLOAT_BODY(bf16_to_fp32)
}

/* ------------------------------------------------------------------------------------------
 * GEMM tiles for batched prefill: nr weight rows times nb activation rows,
 *   y[b * ldy + r] = dot(n, w + r * ldw bytes, x + b * ldx bytes),  0 <= r < nr, 0 <= b < nb.
 * Vector bodies keep several weight rows and activation rows in registers so each load is
 * reused; they must return exactly what the dot of the same build returns (see top).
 * ---------------------------------------------------------------------------------------- */
typedef void (*gemm_fn)(int n, int nr, int nb, float *y, size_t ldy,
                        const void *w, size_t ldw, const void *x, size_t ldx);

#define GEMM_FROM_DOT(name, dot)                                                          \
    static inline void name(int n, int nr, int nb, float *y, size_t ldy,                  \
                            const void *w, size_t ldw, const void *x, size_t ldx) {       \
        for (int b = 0; b < nb; b++)                                                      \
            for (int r = 0; r < nr; r++)                                                  \
                y[(size_t)b * ldy + r] = dot(n, (const char *)w + (size_t)r * ldw,        \
                                             (const char *)x + (size_t)b * ldx);          \
    }
/* The walk of a port's GEMM over its tile TILE(R, B, n, y, ldy, w, ldw, x, ldx) (R weight rows x
 * B activation rows): R4 weight rows x 4 activation rows, then for single activation rows tiles
 * of RA, then RB weight rows, then 1. Every port's Q8_0/Q4_0 and float GEMMs use it. */
#define GEMM_TILES(NAME, TILE, R4, RA, RB)                                                   \
    static inline void NAME(int n, int nr, int nb, float *y, size_t ldy, const void *w, size_t ldw, \
                            const void *x, size_t ldx) {                                           \
        const char *wc = (const char *)w, *xc = (const char *)x;                                   \
        int b = 0;                                                                                 \
        for (; b + 4 <= nb; b += 4) {                                                              \
            int r = 0;                                                                             \
            for (; r + (R4) <= nr; r += (R4))                                                      \
                TILE((R4), 4, n, y + (size_t)b * ldy + r, ldy, wc + r * ldw, ldw, xc + b * ldx, ldx); \
            for (; r < nr; r++) TILE(1, 4, n, y + (size_t)b * ldy + r, ldy, wc + r * ldw, ldw, xc + b * ldx, ldx); \
        }                                                                                          \
        for (; b < nb; b++) {                                                                      \
            int r = 0;                                                                             \
            for (; r + (RA) <= nr; r += (RA))                                                      \
                TILE((RA), 1, n, y + (size_t)b * ldy + r, ldy, wc + r * ldw, ldw, xc + b * ldx, ldx); \
            for (; r + (RB) <= nr; r += (RB))                                                      \
                TILE((RB), 1, n, y + (size_t)b * ldy + r, ldy, wc + r * ldw, ldw, xc + b * ldx, ldx); \
            for (; r < nr; r++) TILE(1, 1, n, y + (size_t)b * ldy + r, ldy, wc + r * ldw, ldw, xc + b * ldx, ldx); \
        }                                                                                          \
    }

GEMM_FROM_DOT(gemm_q8_0_q8_0_ref, dot_q8_0_q8_0_ref)
GEMM_FROM_DOT(gemm_q4_0_q8_0_ref, dot_q4_0_q8_0_ref)
GEMM_FROM_DOT(gemm_f32_f32_ref, dot_f32_f32_ref)
GEMM_FROM_DOT(gemm_f16_f32_ref, dot_f16_f32_ref)
GEMM_FROM_DOT(gemm_bf16_f32_ref, dot_bf16_f32_ref)

/* ------------------------------------------------------------------------------------------
 * Activations: quantize a float row to Q8_K (hot: once per matmul input row), as llama.cpp
 * does: m = the first element of largest magnitude (with its sign), iscale = -127 / m,
 * q = round-half-to-even(iscale * x) (at most 127), d = 1 / iscale (a float, so negative when
 * m > 0: then m itself gets code -127), bsums[g] = sum of q[16g .. 16g+15]. An all-zero block
 * gets d = 0; NaN inputs give code 0 (and are not taken as m); an infinite m makes iscale 0
 * and d infinite (the row is garbage, but nothing is undefined).
 * ---------------------------------------------------------------------------------------- */
static inline void quantize_row_q8_K_ref(int n, block_q8_K *y, const float *x) {
    for (int b = 0; b < n / QK_K; b++, x += QK_K) {
        float amax = 0.0f, m = 0.0f;
        for (int i = 0; i < QK_K; i++)
            if (fabsf(x[i]) > amax) { amax = fabsf(x[i]); m = x[i]; }
        const float iscale = amax != 0.0f ? -127.0f / m : 0.0f;
        y[b].d = amax != 0.0f ? 1.0f / iscale : 0.0f;
        for (int i = 0; i < QK_K; i++) {
            float v = rintf(iscale * x[i]);                   /* in -127..127 for finite x */
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
#define KQ_ACCUMULATE(sum, isum, msum, d, dmin, dx)                 \
    do {                                                           \
        (sum) = fmaf((float)(isum), (d) * (dx), (sum));         \
        (sum) = fmaf(-(float)(msum), (dmin) * (dx), (sum));     \
    } while (0)

/* the reference K-quant dots stay out of line (compiler quirk 5, top of this file) */
#define KQ_REF_DOT static __attribute__((noinline, unused))

/* Q4_K and Q5_K, one body (q5: a constant at each call, so each dot gets its own code). Both
 * blocks start with d, dmin and the scales; a Q5_K code's fifth bit is bit 2c (low nibbles of
 * chunk c) or 2c + 1 (high nibbles) of qh[l].
 * |isum| <= 8 * 63 * 32*15*128 = 31.0M (Q4_K), 8 * 63 * 32*31*128 = 64.0M (Q5_K);
 * |msum| <= 8 * 63 * 32*128 = 2.1M */
static inline __attribute__((always_inline)) float dot_q45_K_ref(const int q5, int n, const void *w, const void *x) {
    const block_q8_K *b = (const block_q8_K *)x;
    const size_t bs = q5 ? sizeof(block_q5_K) : sizeof(block_q4_K);
    float sum = 0.0f;
    for (int k = 0; k < n / QK_K; k++) {
        const void *blk = (const char *)w + (size_t)k * bs;
        const block_q4_K *a4 = (const block_q4_K *)blk;
        const block_q5_K *a5 = (const block_q5_K *)blk;
        const uint8_t *scales = q5 ? a5->scales : a4->scales, *q = q5 ? a5->qs : a4->qs, *qh = q5 ? a5->qh : NULL;
        const int8_t *y = b[k].qs;
        int32_t isum = 0, msum = 0;
        for (int c = 0; c < QK_K / 64; c++, q += 32, y += 64) {
            int sc0, m0, sc1, m1;
            kq_scale_min_k4(2 * c, scales, &sc0, &m0);
            kq_scale_min_k4(2 * c + 1, scales, &sc1, &m1);
            int32_t s0 = 0, s1 = 0;
            for (int l = 0; l < 32; l++) {
                const int h0 = q5 ? ((qh[l] >> (2 * c)) & 1) << 4 : 0, h1 = q5 ? ((qh[l] >> (2 * c + 1)) & 1) << 4 : 0;
                s0 += ((q[l] & 15) | h0) * y[l];
                s1 += ((q[l] >> 4) | h1) * y[l + 32];
            }
            isum += sc0 * s0 + sc1 * s1;
            msum += m0 * (b[k].bsums[4 * c] + b[k].bsums[4 * c + 1]) + m1 * (b[k].bsums[4 * c + 2] + b[k].bsums[4 * c + 3]);
        }
        KQ_ACCUMULATE(sum, isum, msum, fp16_to_fp32(q5 ? a5->d : a4->d), fp16_to_fp32(q5 ? a5->dmin : a4->dmin), b[k].d);
    }
    return sum;
}
KQ_REF_DOT float dot_q4_K_q8_K_ref(int n, const void *w, const void *x) { return dot_q45_K_ref(0, n, w, x); }
KQ_REF_DOT float dot_q5_K_q8_K_ref(int n, const void *w, const void *x) { return dot_q45_K_ref(1, n, w, x); }

/* Q6_K and Q3_K codes carry an offset (q - 32, q - 4). It is applied through the activation's
 * bsums, sum_i (q_i - 32) * qx_i = sum_i q_i * qx_i - 32 * bsum, which is the same integer.
 * Written the direct way it meets compiler quirk 2 (top of this file); tests/test_kquants.c
 * catches that. */

/* |isum| <= 16 * 128 * 16*32*128 = 134.2M < 2^31; no mins */
KQ_REF_DOT float dot_q6_K_q8_K_ref(int n, const void *w, const void *x) {
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
        sum = fmaf((float)isum, fp16_to_fp32(a[k].d) * b[k].d, sum);
    }
    return sum;
}

/* |isum| <= 16 * 32 * 16*4*128 = 4.2M; no mins. Codes 0..7 here, the - 4 through bsums. */
KQ_REF_DOT float dot_q3_K_q8_K_ref(int n, const void *w, const void *x) {
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
        sum = fmaf((float)isum, fp16_to_fp32(a[k].d) * b[k].d, sum);
    }
    return sum;
}

/* |isum| <= 16 * 15 * 16*3*128 = 1.5M, |msum| <= 16 * 15 * 16*128 = 0.5M */
KQ_REF_DOT float dot_q2_K_q8_K_ref(int n, const void *w, const void *x) {
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
 * Row-wise float work of the forward pass.
 *
 * The contract between ports: every body returns the reference's bits. Sums whose order
 * matters are therefore defined here in an order that a vector of any length can follow:
 *   sum32   element i goes into partial sum i % 32 (in order of i; RMSNorm's squares as
 *           p = fmaf(x, x, p)), then the 32 partials fold pairwise, p[j] += p[j + h] for
 *           h = 16, 8, 4, 2, 1: a register of 32 floats (e32m8 at VLEN 128, m1 at VLEN 1024;
 *           four 8-lane registers on x86) walks the row, and the fold is 5 vector adds.
 *   exp     e^x by a fixed sequence of IEEE operations (below), not the C library's expf,
 *           whose last bit differs between libraries and targets.
 * Maxima, element-wise operations and single roundings are exact in any order.
 * ---------------------------------------------------------------------------------------- */
#define SUM32 32
static inline float sum32_fold(float *p) {
    for (int h = SUM32 / 2; h >= 1; h /= 2)
        for (int j = 0; j < h; j++) p[j] += p[j + h];
    return p[0];
}
/* the partial sums of x (sq: of x*x, fused), element i into p[i % 32]; written as whole rows
 * of 32 and a remainder so that compilers vectorize it */
static inline float sum32(int n, const float *x, int sq) {
    float p[SUM32] = {0};
    int i = 0;
    for (; i + SUM32 <= n; i += SUM32)
        for (int j = 0; j < SUM32; j++) p[j] = sq ? fmaf(x[i + j], x[i + j], p[j]) : p[j] + x[i + j];
    for (int j = 0; j < n - i; j++) p[j] = sq ? fmaf(x[i + j], x[i + j], p[j]) : p[j] + x[i + j];
    return sum32_fold(p);
}

/* e^x within about 1 ulp (tests/test_kernels.c measures it): x = k ln2 + r with
 * k = round-to-nearest-even(x / ln2) and ln2 split into a 9-bit head (exact times k) and a
 * tail, so |r| <= ln2/2; e^r by its degree-7 Taylor polynomial (truncation < 0.05 ulp) in
 * Horner form with fused multiply-adds; times 2^k applied as two powers of two, so a result
 * in the subnormal range rounds once. x is clamped to [-104, 89] (beyond, e^x is 0 or inf);
 * NaN passes through. Written with comparisons instead of fminf/fmaxf so loops over it
 * vectorize. */
static inline float exp_ref(float x) {
    float c = x > -104.0f ? x : -104.0f;                      /* NaN becomes -104 here (never */
    c = c < 89.0f ? c : 89.0f;                                /* converted to int) and is returned at the end */
    const float kf = rintf(c * 1.44269504f);
    const int32_t k = (int32_t)kf;
    float r = fmaf(-kf, 0.693359375f, c);                     /* c - k*ln2_hi (exact) */
    r = fmaf(-kf, -2.12194440e-4f, r);                        /*   - k*ln2_lo */
    float p = 1.0f / 5040.0f;
    p = fmaf(p, r, 1.0f / 720.0f);
    p = fmaf(p, r, 1.0f / 120.0f);
    p = fmaf(p, r, 1.0f / 24.0f);
    p = fmaf(p, r, 1.0f / 6.0f);
    p = fmaf(p, r, 0.5f);
    p = fmaf(p, r, 1.0f);
    p = fmaf(p, r, 1.0f);
    const int32_t k1 = k >> 1, k2 = k - k1;                   /* k = k1 + k2 */
    const float e = p * f32_from_bits((uint32_t)(k1 + 127) << 23) * f32_from_bits((uint32_t)(k2 + 127) << 23);
    return x != x ? x : e;
}

/* RMSNorm: o = w * (x / sqrt(mean(x^2) + eps)), the sum of squares in sum32 order */
static inline void rmsnorm_ref(int n, float *o, const float *x, const float *w, float eps) {
    const float scale = 1.0f / sqrtf(sum32(n, x, 1) / n + eps);
    for (int i = 0; i < n; i++) o[i] = w[i] * (scale * x[i]);
}

/* In-place softmax: x = e^(x - max) / sum, the sum in sum32 order */
static inline void softmax_ref(int n, float *x) {
    float max = x[0];
    for (int i = 1; i < n; i++) max = fmaxf(max, x[i]);
    for (int i = 0; i < n; i++) x[i] = exp_ref(x[i] - max);
    const float inv = 1.0f / sum32(n, x, 0);
    for (int i = 0; i < n; i++) x[i] *= inv;
}

/* SwiGLU: g = silu(g) * u, silu(v) = v / (1 + e^-v); element-wise, so any split of a row gives
 * the same bits (matmul chunks apply it piecewise) */
static inline void swiglu_ref(int n, float *g, const float *u) {
    for (int i = 0; i < n; i++) g[i] = g[i] / (1.0f + exp_ref(-g[i])) * u[i];
}

/* RoPE on one head vector, adjacent pairs (GGUF llama, llama2.c): for pair i < n_rot/2,
 * (v[2i], v[2i+1]) is rotated by angle theta_i * pos; cs holds (cos, sin) for each pair:
 *   a' = a c - b s,  b' = a s + b c   (each with the first product fused into the add) */
static inline void rope_adjacent_ref(int n_rot, float *v, const float *cs) {
    for (int i = 0; i < n_rot / 2; i++) {
        float c = cs[2 * i], s = cs[2 * i + 1], a = v[2 * i], b = v[2 * i + 1];
        v[2 * i] = fmaf(a, c, -(b * s));
        v[2 * i + 1] = fmaf(a, s, b * c);
    }
}

/* RoPE, NEOX style (qwen2): the pairs are (v[i], v[i + n_rot/2]) for i < n_rot/2; same angles. */
static inline void rope_neox_ref(int n_rot, float *v, const float *cs) {
    int half = n_rot / 2;
    for (int i = 0; i < half; i++) {
        float c = cs[2 * i], s = cs[2 * i + 1], a = v[i], b = v[i + half];
        v[i] = fmaf(a, c, -(b * s));
        v[i + half] = fmaf(a, s, b * c);
    }
}

/* y += a * x (attention: accumulate a value row weighted by its probability) */
static inline void axpy_ref(int n, float *y, float a, const float *x) {
    for (int i = 0; i < n; i++) y[i] = fmaf(a, x[i], y[i]);
}

/* x *= s (attention: the scores times 1/sqrt(head size)) */
static inline void scale_ref(int n, float *x, float s) {
    for (int i = 0; i < n; i++) x[i] *= s;
}

/* y = sum over j < m of a[j] * v_j, v_j = v + j * ldv (attention: the value rows weighted by
 * their probabilities). Per element from +0, one fused multiply-add per row in row order: the
 * bits of m axpy calls on a zeroed y, whatever the element loop's width. */
static inline void wsum_ref(int n, int m, float *y, const float *a, const float *v, size_t ldv) {
    memset(y, 0, (size_t)n * sizeof *y);
    for (int j = 0; j < m; j++) axpy_ref(n, y, a[j], v + (size_t)j * ldv);
}

/* the index of the first largest element (greedy sampling); NaN never wins, so a row of NaN
 * and -inf gives 0; -0 and +0 are equal, the first of them counts */
static inline int argmax_ref(int n, const float *x) {
    int best = 0;
    float bv = n > 0 && x[0] == x[0] ? x[0] : -INFINITY;
    for (int i = 1; i < n; i++)
        if (x[i] > bv) { bv = x[i]; best = i; }
    return best;
}


/* ==========================================================================================
 * The port table: every entry point llm.c calls, one table per family of CPUs.
 *   gemm[t]         the GEMM (and so the dot, its 1x1 case) of weights of type t with the
 *                   activation rows of t's format: float rows for F32/F16/BF16, Q8_0 rows for
 *                   Q8_0/Q4_0, Q8_K rows for the K-quants (gemm_fn above)
 *   packed[t]       optional: a layout of t's weights that the port chooses at load (below)
 *   choose_layouts  optional: sets packed[] when the table is resolved, for ports whose layout
 *                   depends on the CPU found at run time (RVV 1.0: the vector length)
 *   quantize_q8_0, quantize_q8_K   the activation quantizers
 *   rmsnorm ... wsum                the row-wise float work of the forward pass
 *   cpu_ok          NULL, or a check that the CPU runs the port's instructions (1 = yes; else 0
 *                   and *why says what to use instead); *vlen gets the vector length in bits
 * ======================================================================================== */
typedef void (*quantize_fn)(int n, void *y, const float *x);

/* A weight layout a port may choose at load time: each thread's rows of a matrix are regrouped,
 * `rows` (at most LAYOUT_MAX_ROWS) at a time, into groups of exactly the bytes of those rows; the
 * last rows % `rows` of a thread's range go into one more group of the range's last `rows` rows
 * (llm.c, section 5: where that repeats few rows), or stay in the file's layout.
 *   pack(n, group, src, ld)     `rows` rows of n elements (row stride ld bytes) -> one group
 *   unpack_row(n, dst, g, r)    row r of group g back in the file's layout (embedding lookups)
 *   gemm                        as gemm_fn, with nr a multiple of `rows` and w = nr/rows
 *                               consecutive groups (ldw unused): bitwise the file layout's GEMM */
#define LAYOUT_MAX_ROWS 128
typedef struct {
    int rows;
    void (*pack)(int n, void *group, const void *src, size_t ld);
    void (*unpack_row)(int n, void *dst, const void *group, int r);
    gemm_fn gemm;
} weight_layout;

typedef struct kernel_port {
    const char *name;
    int (*cpu_ok)(const char **why, unsigned *vlen);
    gemm_fn gemm[T_COUNT];
    weight_layout packed[T_COUNT];
    void (*choose_layouts)(struct kernel_port *k);
    void (*quantize_q8_0)(int n, block_q8_0 *y, const float *x);
    void (*quantize_q8_K)(int n, block_q8_K *y, const float *x);
    void (*rmsnorm)(int n, float *o, const float *x, const float *w, float eps);
    void (*softmax)(int n, float *x);
    void (*swiglu)(int n, float *g, const float *u);
    void (*rope_adjacent)(int n_rot, float *v, const float *cs);
    void (*rope_neox)(int n_rot, float *v, const float *cs);
    void (*axpy)(int n, float *y, float a, const float *x);
    void (*scale)(int n, float *x, float s);
    void (*wsum)(int n, int m, float *y, const float *a, const float *v, size_t ldv);
    int (*argmax)(int n, const float *x);
} kernel_port;

static const kernel_port port_reference = {
    .name = "reference",
    .gemm = {[T_F32] = gemm_f32_f32_ref, [T_F16] = gemm_f16_f32_ref, [T_BF16] = gemm_bf16_f32_ref,
             [T_Q8_0] = gemm_q8_0_q8_0_ref, [T_Q4_0] = gemm_q4_0_q8_0_ref, [T_Q2_K] = gemm_q2_K_q8_K_ref,
             [T_Q3_K] = gemm_q3_K_q8_K_ref, [T_Q4_K] = gemm_q4_K_q8_K_ref, [T_Q5_K] = gemm_q5_K_q8_K_ref,
             [T_Q6_K] = gemm_q6_K_q8_K_ref},
    .quantize_q8_0 = quantize_row_q8_0_ref,
    .quantize_q8_K = quantize_row_q8_K_ref,
    .rmsnorm = rmsnorm_ref,
    .softmax = softmax_ref,
    .swiglu = swiglu_ref,
    .rope_adjacent = rope_adjacent_ref,
    .rope_neox = rope_neox_ref,
    .axpy = axpy_ref,
    .scale = scale_ref,
    .wsum = wsum_ref,
    .argmax = argmax_ref,
};

/* ------------------------------------------------------------------------------------------
 * Vector dots and GEMM tiles for Q4_K, Q5_K and Q6_K (RVV 1.0 and XTheadVector, one source;
 * the types of the Q4_K_M and Q5_K_M files people download). Per super-block the codes of 32
 * consecutive elements at a time are multiplied with the activation bytes (8-bit x 8-bit ->
 * 16 bit, vwmul), then multiplied by their sub-block's scale and added into 32 int32 lanes
 * (vwmacc); one reduction per super-block gives isum. That is the reference's integer, exact
 * and summed in another order, and the float steps after it are the reference's: bitwise
 * equal results. Vectors of 32 elements: e8m2 / e16m4 / e32m8 at VLEN 128 (the SG2042), the
 * same vl at any larger VLEN.
 *   Q4_K: chunk c (64 elements) = 32 bytes of qs: low nibbles x y[64c..64c+31] (scale sc[2c]),
 *         high nibbles x y[64c+32..] (sc[2c+1]); the mins go through bsums as in the reference.
 *   Q6_K: half h, quarter j: 32 codes of 6 bits, 4 from ql, 2 from qh (see the layout table),
 *         minus 32; lanes 0..15 are sub-block 8h+2j, lanes 16..31 sub-block 8h+2j+1.
 * Lane bounds: Q4_K 8 products of <= 63*15*128, Q5_K of <= 63*31*128, Q6_K 8 of <= 128*32*128:
 * far below 2^31.
 * ---------------------------------------------------------------------------------------- */
/* The vector bodies below take one weight row against B activation rows (B = 1..4, a
 * compile-time constant; row b at x + b * ldx, its result at out[b * ldo]), named
 * P_T_rows: what depends on the weight row alone (codes, scales) is decoded once and used B
 * times, which is what the GEMM tiles (prefill) gain; decode is B = 1. Each result goes
 * through exactly the integer and float steps of the dot. From them, the dot (B = 1) and the
 * GEMM: blocks of KQ_RB weight rows (which stay in cache) against the activation rows BMAX
 * (<= 4) at a time, each tile size in its own function P_T_rowsB.
 * ATTR of those: noinline for RISC-V, where clang 19, with the four bodies inlined side by
 * side in the GEMM, spends more instructions on the one-row body (decode); x86 keeps them
 * inlined (a call per weight row slows its prefill). */
#define KQ_RB 16
#define KQ_ROW_KERNELS(P, T, ATTR, BMAX)                                                                  \
    KQ_ROWS_B(P, T, 1, ATTR) KQ_ROWS_B(P, T, 2, ATTR) KQ_ROWS_B(P, T, 3, ATTR) KQ_ROWS_B(P, T, 4, ATTR)   \
    static inline float P##_dot_##T##_q8_K(int n, const void *w, const void *x) {                         \
        float y;                                                                                          \
        P##_##T##_rows(1, n, w, (const char *)x, 0, &y, 0);                                               \
        return y;                                                                                         \
    }                                                                                                     \
    static inline void P##_gemm_##T##_q8_K(int n, int nr, int nb, float *y, size_t ldy, const void *w,    \
                                           size_t ldw, const void *x, size_t ldx) {                       \
        for (int r = 0; r < nr; r += KQ_RB) {                                                             \
            const int rn = nr - r < KQ_RB ? nr - r : KQ_RB;                                               \
            const char *wr = (const char *)w + (size_t)r * ldw;                                           \
            for (int b = 0; b < nb; b += (BMAX)) {                                                        \
                const char *xb = (const char *)x + (size_t)b * ldx;                                       \
                float *yb = y + (size_t)b * ldy + r;                                                      \
                const int bn = nb - b < (BMAX) ? nb - b : (BMAX);                                         \
                if ((BMAX) >= 4 && bn == 4) P##_##T##_rows4(n, rn, wr, ldw, xb, ldx, yb, ldy);            \
                else if ((BMAX) >= 3 && bn == 3) P##_##T##_rows3(n, rn, wr, ldw, xb, ldx, yb, ldy);       \
                else if (bn == 2) P##_##T##_rows2(n, rn, wr, ldw, xb, ldx, yb, ldy);                      \
                else P##_##T##_rows1(n, rn, wr, ldw, xb, ldx, yb, ldy);                                   \
            }                                                                                             \
        }                                                                                                 \
    }
/* rn weight rows (at w, w + ldw, ...) against B activation rows */
#define KQ_ROWS_B(P, T, B, ATTR)                                                                          \
    ATTR void P##_##T##_rows##B(int n, int rn, const char *w, size_t ldw, const char *x, size_t ldx,      \
                                float *y, size_t ldy) {                                                   \
        for (int r = 0; r < rn; r++) P##_##T##_rows(B, n, w + (size_t)r * ldw, x, ldx, y + r, ldy);       \
    }
#define KQ_ROW(b, k) ((const block_q8_K *)(const void *)(x + (size_t)(b) * ldx) + (k))

/* ==========================================================================================
 * Vector bodies: RVV 1.0 (any VLEN >= 128, vector-length agnostic) and XTheadVector
 * (RVV 0.7.1 of the SG2042's XuanTie C920, GCC >= 14; GCC then defines __riscv_vector too).
 * One source serves both; RVV_THEAD marks what differs in 0.7.1:
 *   - no fractional LMUL and no vsetivli (we use LMUL >= 1; GCC never emits vsetivli there);
 *   - no vzext/vsext and no vfcvt.rtz: widen with vwcvt(u), round with the _rm intrinsics;
 *   - no tail policies (0.7.1 zeroes the elements past vl): XTheadVector bodies never rely on
 *     them; where RVV 1.0 keeps a tail undisturbed (the last, partial step of a sum), they
 *     take the whole register under a mask instead, whose masked-off elements 0.7.1 keeps;
 *   - GCC 14.2 emits an invalid th.vsetvli for vmv.x.s, so integer scalars leave the vector
 *     unit through a one-element store (RVV_ST_I32);
 *   - GCC 14 has no whole-register loads (vl<n>r.v) for XTheadVector and takes a part of a
 *     register group (vget) only by a copy: such parts are loaded one by one (RVV_COLS).
 * ======================================================================================== */
#if defined(__riscv_vector)
#include <riscv_vector.h>

#if defined(__riscv_xtheadvector)
#define RVV_THEAD 1
#else
#define RVV_THEAD 0
#endif
#define RVV_INLINE static inline __attribute__((always_inline))
/* What GCC 14 needs to emit valid XTheadVector code (each was found by a failing build,
 * a failing test or tests/xthead_check.py; on RVV 1.0 builds they are plain constants):
 *   RVV_N(n)    a constant shift amount or vector length in a register: with a constant
 *               shift (vsll.vi) GCC 14.2 stops with an internal compiler error in its vsetvl
 *               pass (validate_change_or_fail) once a body needs more than a few vector
 *               registers, and with a small constant length (one-element stores, the last
 *               steps of a reduction tree) it wants a vsetivli, which 0.7.1 lacks
 *               (unrecognizable insn); RVV_ONE is RVV_N(1);
 *   RVV_BARRIER()  a compiler barrier (no instruction) between passes over the same data (the
 *               rows of a K-quant tile, the passes of a quantizer over a block): without it
 *               GCC loads the data once for all passes and keeps it in registers (in the
 *               K-quant tiles, the weight codes unpacked once for all rows), runs out of them
 *               and spills.
 * Spills must not happen: GCC 14's spill code for XTheadVector reloads register groups under
 * another LMUL (misaligned groups are illegal instructions). The Makefile builds XTheadVector
 * with -fno-schedule-insns for the same reason (GCC's first scheduling pass moves the loads of
 * the K-quant bodies ahead and runs out of registers). GCC 14 also issues strided loads (vlse)
 * under a vtype of another SEW with the same SEW/LMUL ratio (RVV 1.0's rule; 0.7.1's vlse.v
 * takes SEW-wide elements): XTheadVector bodies load 16-bit fields zero-extended into 32-bit
 * lanes instead (th.vlshu.v, th.vlhu.v) and use strided loads of 32-bit elements only. */
static inline size_t rvv_in_reg(size_t v) { __asm__("" : "+r"(v)); return v; }
static inline int32_t rvv_zero_here(void) { int32_t v = 0; __asm__ volatile("" : "+r"(v)); return v; }   /* not hoisted */
#if RVV_THEAD
#define RVV_N(n) rvv_in_reg(n)
#define RVV_BARRIER() __asm__ volatile("" ::: "memory")
#else
#define RVV_N(n) (n)
#define RVV_BARRIER() ((void)0)
#endif
#define RVV_ONE RVV_N(1)
#define RVV_ST_I32(p, v) __riscv_vse32_v_i32m1((p), (v), RVV_ONE)

static inline size_t rvv_min(size_t a, size_t b) { return a < b ? a : b; }

/* fp16 -> fp32 for a vector of raw halves, exact, same results as fp16_to_fp32().
 * Without Zvfhmin: put exponent and mantissa where a float keeps them (u = |h| << 13) and
 * multiply by 2^112, which rebiases the exponent (15 -> 127) and turns half subnormals into
 * float normals exactly; inf/nan (|h| >= 0x7c00) get the all-ones exponent instead; the sign
 * is copied from bit 15 (moved to bit 31). 8 instructions. With Zvfhmin: one vfwcvt. */
#define RVV_F16W_TO_F32(W, BT, BS)   /* the halves already zero-extended to 32-bit lanes (w) */    \
    RVV_INLINE vfloat32##W##_t rvv_f16w_to_f32_##W(vuint32##W##_t w, size_t vl) {                 \
        vuint32##W##_t u = __riscv_vsll_vx_u32##W(__riscv_vand_vx_u32##W(w, 0x7fff, vl),           \
                                                  RVV_N(13), vl);                                 \
        BT special = __riscv_vmsgtu_vx_u32##W##_##BS(u, 0x0f7fffffu, vl);                          \
        vuint32##W##_t inf = __riscv_vor_vx_u32##W(u, 0x7f800000u, vl);                            \
        vfloat32##W##_t f = __riscv_vfmul_vf_f32##W(__riscv_vreinterpret_v_u32##W##_f32##W(u),     \
                                                    0x1p112f, vl);                                 \
        vuint32##W##_t bits = __riscv_vmerge_vvm_u32##W(__riscv_vreinterpret_v_f32##W##_u32##W(f), \
                                                         inf, special, vl);                        \
        vuint32##W##_t sign = __riscv_vsll_vx_u32##W(w, RVV_N(16), vl);                            \
        return __riscv_vfsgnj_vv_f32##W(__riscv_vreinterpret_v_u32##W##_f32##W(bits),              \
                                        __riscv_vreinterpret_v_u32##W##_f32##W(sign), vl);         \
    }
RVV_F16W_TO_F32(m2, vbool16_t, b16)
RVV_F16W_TO_F32(m4, vbool8_t, b8)
#if (defined(__riscv_zvfhmin) || defined(__riscv_zvfh)) && !RVV_THEAD
#define RVV_F16_TO_F32(M, W)                                                                       \
    RVV_INLINE vfloat32##W##_t rvv_f16_to_f32_##W(vuint16##M##_t h, size_t vl) {                   \
        return __riscv_vfwcvt_f_f_v_f32##W(__riscv_vreinterpret_v_u16##M##_f16##M(h), vl);         \
    }
#else
#define RVV_F16_TO_F32(M, W)                                                                       \
    RVV_INLINE vfloat32##W##_t rvv_f16_to_f32_##W(vuint16##M##_t h, size_t vl) {                   \
        return rvv_f16w_to_f32_##W(__riscv_vwcvtu_x_x_v_u32##W(h, vl), vl);                        \
    }
#endif
RVV_F16_TO_F32(m1, m2)
RVV_F16_TO_F32(m2, m4)

/* the fp16 values at p, p + stride, p + 2 * stride, ... (stride in bytes: the scales of
 * consecutive blocks) as floats. XTheadVector loads them with th.vlshu.v, which zero-extends
 * each half into a 32-bit lane (GCC 14 would issue vlse16.v under the e32,m4 vtype of the
 * code around it, see above) */
RVV_INLINE vfloat32m4_t rvv_ld_f16s_m4(const char *p, size_t stride, size_t vl) {
#if RVV_THEAD
    return rvv_f16w_to_f32_m4(__riscv_th_vlshu_v_u32m4((const uint32_t *)(const void *)p, (ptrdiff_t)stride, vl), vl);
#else
    return rvv_f16_to_f32_m4(__riscv_vlse16_v_u16m2((const uint16_t *)(const void *)p, (ptrdiff_t)stride, vl), vl);
#endif
}

/* the vl consecutive fp16 values at p as floats (XTheadVector: th.vlhu.v, zero-extending into
 * 32-bit lanes, for the same reason) */
RVV_INLINE vfloat32m4_t rvv_ld_f16_m4(const char *p, size_t vl) {
#if RVV_THEAD
    return rvv_f16w_to_f32_m4(__riscv_th_vlhu_v_u32m4((const uint32_t *)(const void *)p, vl), vl);
#else
    return rvv_f16_to_f32_m4(__riscv_vle16_v_u16m2((const uint16_t *)(const void *)p, vl), vl);
#endif
}

/* ---- Q8_0 x Q8_0 and Q4_0 x Q8_0: dots and GEMM tiles ------------------------------------
 * The integer dot of one block is exact in any order, so it takes one widening multiply
 * (Q4_0: multiply + multiply-accumulate of the two nibble halves) and one widening reduction.
 * The float part then repeats the reference step by step: scale = d_w * d_x (one rounding)
 * and sum = fma((float)isum, scale, sum), block after block. So the dot and every element of
 * a GEMM tile are bitwise equal to each other and to the reference.
 * Blocks go in chunks of RVV_QCH; per chunk:
 *   1. integer sums of every output of the tile, block by block (kept on the stack);
 *   2. the fp16 scales of every row: gathered with one strided load per row and chunk,
 *      widened in vector registers, multiplied per output (weight row x activation row);
 *   3. accumulation in block order: scalar fmaf for a single output, otherwise one vfmacc
 *      across all outputs of the tile (lane o = output o).
 * Tiles: R weight rows x B activation rows with (R, B) in {4x4, 1x4, 4x1, 1x1}. */
#define RVV_QCH 32

#define RVV_LD_Q8(blk) __riscv_vle8_v_i8m2(((const block_q8_0 *)(const void *)(blk))->qs, 32)
#define RVV_LD_XLO(blk) __riscv_vle8_v_i8m1(((const block_q8_0 *)(const void *)(blk))->qs, 16)
#define RVV_LD_XHI(blk) __riscv_vle8_v_i8m1(((const block_q8_0 *)(const void *)(blk))->qs + 16, 16)
/* Q4_0 codes minus 8, as int8: v = q ^ 0x88 turns each nibble c into c ^ 8, whose sign
 * extension is c - 8; low nibble: (v << 4) >> 4, high nibble: v >> 4 (arithmetic shifts). */
#define RVV_LD_Q4(blk, lo, hi)                                                                     \
    do {                                                                                           \
        vint8m1_t v_ = __riscv_vreinterpret_v_u8m1_i8m1(__riscv_vxor_vx_u8m1(                      \
            __riscv_vle8_v_u8m1(((const block_q4_0 *)(const void *)(blk))->qs, 16), 0x88, 16));   \
        lo = __riscv_vsra_vx_i8m1(__riscv_vsll_vx_i8m1(v_, 4, 16), 4, 16);                        \
        hi = __riscv_vsra_vx_i8m1(v_, 4, 16);                                                      \
    } while (0)

/* Integer sums of up to four (weight block, activation block) pairs, grouped by element width
 * (multiplies at e8, reductions at e16, one-element stores at e32) so that a group costs three
 * vsetvli instead of three per pair. cnt (1..4) is a compile-time constant. */
RVV_INLINE void rvv_q8_sums(const int cnt, vint8m2_t wa, vint8m2_t xa, vint8m2_t wb, vint8m2_t xb,
                            vint8m2_t wc, vint8m2_t xc, vint8m2_t wd, vint8m2_t xd, int32_t *o, size_t os) {
    const vint32m1_t z = __riscv_vmv_v_x_i32m1(0, RVV_ONE);
    vint16m4_t pa = __riscv_vwmul_vv_i16m4(wa, xa, 32), pb = pa, pc = pa, pd = pa;
    if (cnt > 1) pb = __riscv_vwmul_vv_i16m4(wb, xb, 32);
    if (cnt > 2) pc = __riscv_vwmul_vv_i16m4(wc, xc, 32);
    if (cnt > 3) pd = __riscv_vwmul_vv_i16m4(wd, xd, 32);
    vint32m1_t sa = __riscv_vwredsum_vs_i16m4_i32m1(pa, z, 32), sb = sa, sc = sa, sd = sa;
    if (cnt > 1) sb = __riscv_vwredsum_vs_i16m4_i32m1(pb, z, 32);
    if (cnt > 2) sc = __riscv_vwredsum_vs_i16m4_i32m1(pc, z, 32);
    if (cnt > 3) sd = __riscv_vwredsum_vs_i16m4_i32m1(pd, z, 32);
    RVV_ST_I32(o, sa);
    if (cnt > 1) RVV_ST_I32(o + os, sb);
    if (cnt > 2) RVV_ST_I32(o + 2 * os, sc);
    if (cnt > 3) RVV_ST_I32(o + 3 * os, sd);
}
/* Q4_0: (lo, hi) codes minus 8 times the activation's (first, second) 16 bytes;
 * |(c-8) * x| <= 8 * 128, the sum of two fits int16. All multiplies before all multiply-adds:
 * each pair's multiply-add right after its multiply makes GCC 14 for XTheadVector put every
 * product into one register group and copy it out (a copy and two vsetvli each). */
RVV_INLINE void rvv_q4_sums(const int cnt, vint8m1_t la, vint8m1_t ha, vint8m1_t xla, vint8m1_t xha,
                            vint8m1_t lb, vint8m1_t hb, vint8m1_t xlb, vint8m1_t xhb,
                            vint8m1_t lc, vint8m1_t hc, vint8m1_t xlc, vint8m1_t xhc,
                            vint8m1_t ld, vint8m1_t hd, vint8m1_t xld, vint8m1_t xhd, int32_t *o, size_t os) {
    const vint32m1_t z = __riscv_vmv_v_x_i32m1(0, RVV_ONE);
    vint16m2_t pa = __riscv_vwmul_vv_i16m2(la, xla, 16), pb = pa, pc = pa, pd = pa;
    if (cnt > 1) pb = __riscv_vwmul_vv_i16m2(lb, xlb, 16);
    if (cnt > 2) pc = __riscv_vwmul_vv_i16m2(lc, xlc, 16);
    if (cnt > 3) pd = __riscv_vwmul_vv_i16m2(ld, xld, 16);
    pa = __riscv_vwmacc_vv_i16m2(pa, ha, xha, 16);
    if (cnt > 1) pb = __riscv_vwmacc_vv_i16m2(pb, hb, xhb, 16);
    if (cnt > 2) pc = __riscv_vwmacc_vv_i16m2(pc, hc, xhc, 16);
    if (cnt > 3) pd = __riscv_vwmacc_vv_i16m2(pd, hd, xhd, 16);
    vint32m1_t sa = __riscv_vwredsum_vs_i16m2_i32m1(pa, z, 16), sb = sa, sc = sa, sd = sa;
    if (cnt > 1) sb = __riscv_vwredsum_vs_i16m2_i32m1(pb, z, 16);
    if (cnt > 2) sc = __riscv_vwredsum_vs_i16m2_i32m1(pc, z, 16);
    if (cnt > 3) sd = __riscv_vwredsum_vs_i16m2_i32m1(pd, z, 16);
    RVV_ST_I32(o, sa);
    if (cnt > 1) RVV_ST_I32(o + os, sb);
    if (cnt > 2) RVV_ST_I32(o + 2 * os, sc);
    if (cnt > 3) RVV_ST_I32(o + 3 * os, sd);
}

/* Integer sums for one step: weight blocks w_r = w + r*sw (r < R), activation blocks
 * x_b = x + b*sx (b < B), all compile-time shapes:
 *   diag (1x1 dot, R = B = 4 consecutive blocks): pairs (j, j) -> is[j];
 *   otherwise every (r, b) -> is[r*B + b], grouped by weight row (B = 4) or activation row (B = 1). */
RVV_INLINE void rvv_q_isums(const int q4, const int R, const int B, const int diag,
                            const char *w, size_t sw, const char *x, size_t sx, int32_t *is) {
    if (!q4) {
        vint8m2_t x0 = RVV_LD_Q8(x), x1 = x0, x2 = x0, x3 = x0;
        if (B > 1) x1 = RVV_LD_Q8(x + sx);
        if (B > 2) x2 = RVV_LD_Q8(x + 2 * sx);
        if (B > 3) x3 = RVV_LD_Q8(x + 3 * sx);
        if (diag || B == 1) {
            vint8m2_t w0 = RVV_LD_Q8(w), w1 = w0, w2 = w0, w3 = w0;
            if (R > 1) w1 = RVV_LD_Q8(w + sw);
            if (R > 2) w2 = RVV_LD_Q8(w + 2 * sw);
            if (R > 3) w3 = RVV_LD_Q8(w + 3 * sw);
            if (diag) rvv_q8_sums(R, w0, x0, w1, x1, w2, x2, w3, x3, is, 1);
            else rvv_q8_sums(R, w0, x0, w1, x0, w2, x0, w3, x0, is, 1);
        } else {
            for (int r = 0; r < R; r++) {
                vint8m2_t wr = RVV_LD_Q8(w + r * sw);
                rvv_q8_sums(B, wr, x0, wr, x1, wr, x2, wr, x3, is + r * B, 1);
            }
        }
    } else {
        vint8m1_t xl0 = RVV_LD_XLO(x), xh0 = RVV_LD_XHI(x), xl1 = xl0, xh1 = xh0, xl2 = xl0, xh2 = xh0, xl3 = xl0, xh3 = xh0;
        if (B > 1) { xl1 = RVV_LD_XLO(x + sx); xh1 = RVV_LD_XHI(x + sx); }
        if (B > 2) { xl2 = RVV_LD_XLO(x + 2 * sx); xh2 = RVV_LD_XHI(x + 2 * sx); }
        if (B > 3) { xl3 = RVV_LD_XLO(x + 3 * sx); xh3 = RVV_LD_XHI(x + 3 * sx); }
        if (diag || B == 1) {
            vint8m1_t l0, h0, l1, h1, l2, h2, l3, h3;
            RVV_LD_Q4(w, l0, h0);
            l1 = l2 = l3 = l0;
            h1 = h2 = h3 = h0;
            if (R > 1) RVV_LD_Q4(w + sw, l1, h1);
            if (R > 2) RVV_LD_Q4(w + 2 * sw, l2, h2);
            if (R > 3) RVV_LD_Q4(w + 3 * sw, l3, h3);
            if (diag) rvv_q4_sums(R, l0, h0, xl0, xh0, l1, h1, xl1, xh1, l2, h2, xl2, xh2, l3, h3, xl3, xh3, is, 1);
            else rvv_q4_sums(R, l0, h0, xl0, xh0, l1, h1, xl0, xh0, l2, h2, xl0, xh0, l3, h3, xl0, xh0, is, 1);
        } else {
            for (int r = 0; r < R; r++) {
                vint8m1_t lr, hr;
                RVV_LD_Q4(w + r * sw, lr, hr);
                rvv_q4_sums(B, lr, hr, xl0, xh0, lr, hr, xl1, xh1, lr, hr, xl2, xh2, lr, hr, xl3, xh3, is + r * B, 1);
            }
        }
    }
}

/* fp16 d of m consecutive blocks of bs bytes, as floats */
RVV_INLINE void rvv_block_scales(float *out, const char *blk, size_t bs, int m) {
    for (int k = 0; k < m;) {
        size_t vl = __riscv_vsetvl_e32m4((size_t)(m - k));
        __riscv_vse32_v_f32m4(out + k, rvv_ld_f16s_m4(blk + (size_t)k * bs, bs, vl), vl);
        k += (int)vl;
    }
}

/* y[b*ldy + r] = dot(row r of w, row b of x) for r < R, b < B (see above) */
RVV_INLINE void rvv_q_tile(const int q4, const int R, const int B, int n, float *y, size_t ldy,
                           const char *w, size_t ldw, const char *x, size_t ldx) {
    enum { RB_MAX = 16 };
    const int RB = R * B, nblk = n / QK;
    const size_t wbs = q4 ? sizeof(block_q4_0) : sizeof(block_q8_0), xbs = sizeof(block_q8_0);
    int32_t is[RVV_QCH * RB_MAX];
    float sc[RVV_QCH * RB_MAX], fs[RVV_QCH], dw[4][RVV_QCH], dx[4][RVV_QCH], acc[RB_MAX];
    float sum1 = 0.0f;
    for (int o = 0; o < RB; o++) acc[o] = 0.0f;
    for (int k0 = 0; k0 < nblk; k0 += RVV_QCH) {
        const int m = nblk - k0 < RVV_QCH ? nblk - k0 : RVV_QCH;
        const char *wk = w + (size_t)k0 * wbs, *xk = x + (size_t)k0 * xbs;
        /* 1. integer sums is[kk*RB + o] */
        if (RB == 1) {
            int kk = 0;
            for (; kk + 4 <= m; kk += 4) rvv_q_isums(q4, 4, 4, 1, wk + kk * wbs, wbs, xk + kk * xbs, xbs, is + kk);
            for (; kk < m; kk++) rvv_q_isums(q4, 1, 1, 1, wk + kk * wbs, wbs, xk + kk * xbs, xbs, is + kk);
        } else {
            for (int kk = 0; kk < m; kk++) rvv_q_isums(q4, R, B, 0, wk + kk * wbs, ldw, xk + kk * xbs, ldx, is + kk * RB);
        }
        /* 2. scales sc[kk*RB + o] = d_w[r] * d_x[b] */
        if (RB == 1) {   /* one pass: both scales, their product, the sums as floats (exact) */
            for (int kk = 0; kk < m;) {
                size_t vl = __riscv_vsetvl_e32m4((size_t)(m - kk));
                vfloat32m4_t a = rvv_ld_f16s_m4(wk + (size_t)kk * wbs, wbs, vl);
                vfloat32m4_t b = rvv_ld_f16s_m4(xk + (size_t)kk * xbs, xbs, vl);
                __riscv_vse32_v_f32m4(sc + kk, __riscv_vfmul_vv_f32m4(a, b, vl), vl);
                __riscv_vse32_v_f32m4(fs + kk, __riscv_vfcvt_f_x_v_f32m4(__riscv_vle32_v_i32m4(is + kk, vl), vl), vl);
                kk += (int)vl;
            }
            /* 3. accumulate in block order, one fused multiply-add per block */
            int kk = 0;
            for (; kk + 4 <= m; kk += 4) {
                sum1 = fmaf(fs[kk], sc[kk], sum1);
                sum1 = fmaf(fs[kk + 1], sc[kk + 1], sum1);
                sum1 = fmaf(fs[kk + 2], sc[kk + 2], sum1);
                sum1 = fmaf(fs[kk + 3], sc[kk + 3], sum1);
            }
            for (; kk < m; kk++) sum1 = fmaf(fs[kk], sc[kk], sum1);
            continue;
        }
        for (int r = 0; r < R; r++) rvv_block_scales(dw[r], wk + (size_t)r * ldw, wbs, m);
        for (int b = 0; b < B; b++) rvv_block_scales(dx[b], xk + (size_t)b * ldx, xbs, m);
        for (int r = 0; r < R; r++)
            for (int b = 0; b < B; b++)
                for (int kk = 0; kk < m;) {
                    size_t vl = __riscv_vsetvl_e32m4((size_t)(m - kk));
                    vfloat32m4_t s = __riscv_vfmul_vv_f32m4(__riscv_vle32_v_f32m4(dw[r] + kk, vl),
                                                            __riscv_vle32_v_f32m4(dx[b] + kk, vl), vl);
                    if (RB == 1) __riscv_vse32_v_f32m4(sc + kk, s, vl);
                    else __riscv_vsse32_v_f32m4(sc + kk * RB + r * B + b, (ptrdiff_t)(RB * sizeof(float)), s, vl);
                    kk += (int)vl;
                }
        /* 3. accumulate in block order */
        if (RB <= 4) {   /* VLEN >= 128: one register holds 4 floats */
            vfloat32m1_t a = __riscv_vle32_v_f32m1(acc, RB);
            for (int kk = 0; kk < m; kk++)
                a = __riscv_vfmacc_vv_f32m1(a, __riscv_vfcvt_f_x_v_f32m1(__riscv_vle32_v_i32m1(is + kk * RB, RB), RB),
                                            __riscv_vle32_v_f32m1(sc + kk * RB, RB), RB);
            __riscv_vse32_v_f32m1(acc, a, RB);
        } else {
            vfloat32m4_t a = __riscv_vle32_v_f32m4(acc, RB);
            for (int kk = 0; kk < m; kk++)
                a = __riscv_vfmacc_vv_f32m4(a, __riscv_vfcvt_f_x_v_f32m4(__riscv_vle32_v_i32m4(is + kk * RB, RB), RB),
                                            __riscv_vle32_v_f32m4(sc + kk * RB, RB), RB);
            __riscv_vse32_v_f32m4(acc, a, RB);
        }
    }
    if (RB == 1) y[0] = sum1;
    else
        for (int r = 0; r < R; r++)
            for (int b = 0; b < B; b++) y[(size_t)b * ldy + r] = acc[r * B + b];
}

#define RVV_Q8_0_TILE(...) rvv_q_tile(0, __VA_ARGS__)
#define RVV_Q4_0_TILE(...) rvv_q_tile(1, __VA_ARGS__)
GEMM_TILES(rvv_gemm_q8_0_q8_0, RVV_Q8_0_TILE, 4, 4, 4)
GEMM_TILES(rvv_gemm_q4_0_q8_0, RVV_Q4_0_TILE, 4, 4, 4)

static inline float rvv_dot_q8_0_q8_0(int n, const void *w, const void *x) {
    float y;
    rvv_q_tile(0, 1, 1, n, &y, 1, (const char *)w, 0, (const char *)x, 0);
    return y;
}
static inline float rvv_dot_q4_0_q8_0(int n, const void *w, const void *x) {
    float y;
    rvv_q_tile(1, 1, 1, n, &y, 1, (const char *)w, 0, (const char *)x, 0);
    return y;
}

/* ---- Q8_0 and Q4_0 in rows interleaved by the vector length ---------------------------------
 * The bodies above take one 32-element block per step, which fills a register group at
 * VLEN 128 and leaves the rest of a wider one idle. This layout makes the rows the vector
 * dimension instead, so every instruction does as many rows as the register holds bytes:
 * G = VLEN / 8 rows (16 at VLEN 128, 32 at 256, 64 at 512, 128 at 1024) form a group, chosen at
 * load (rvv_choose_layouts, kernel_port.choose_layouts). A group is G rows' blocks, block by block:
 *   block k of the group:  G fp16 scales d (row r at [r]), then the codes by column:
 *     Q8_0: 32 columns of G bytes, code i of row r at byte 2G + i*G + r;
 *     Q4_0: 16 columns of G bytes, the file's byte j of row r (codes j and j+16) at 2G + j*G + r,
 *           xor 0x88, so that the arithmetic shifts of RVV_LD_Q4 give the codes minus 8.
 * That is exactly the bytes of the G rows (unpack_row undoes it). A column is one register
 * (e8m1), multiplied by the activation's code of that column repeated in G lanes (the splat,
 * below): G multiply-adds per register. The multiplies take two (Q8_0) or four (Q4_0) adjacent
 * columns at once, e8m2 or e8m4 groups of 2G or 4G lanes: lane q*G + r is row r's product of
 * the q-th column. G is VLMAX at e8m1 exactly, so such a group is VLMAX lanes of its LMUL and
 * a part of a whole-register load (RVV 1.0: vl4r.v / vl8r.v, no vsetvl).
 * Integer sums per lane, exact: a Q8_0 product |w * x| <= 128 * 127 fits int16 twice, so two
 * pairs of columns are summed at 16 bits (vwmul, vwmacc) and added into 2G 32-bit lanes
 * (vwadd.wv), whose halves are added per block (rvv_fold2_i32); a Q4_0 product is at most
 * 8 * 127, and the 32 of a block fit int16 (<= 32512): each of the 4G 16-bit lanes sums 8
 * products, the four quarters are added per block (rvv_fold4_i16), and the block becomes
 * float in one widening convert. The float part is the reference's, per lane (row r):
 * sum_r = fma((float)isum_r, d_w[r] * d_x, sum_r), block after block (vfmul.vf, vfmacc.vv):
 * bitwise equal to the dot. XTheadVector (G = 16 on the C920) uses the same layout and bodies;
 * only how the columns get into registers and how the parts are added differ (below). */
static inline size_t rvv_group_rows(void) { return __riscv_vsetvlmax_e8m1(); }
static inline size_t rvv_log2(size_t G) { size_t s = 0; while (((size_t)1 << s) < G) s++; return s; }   /* G a power of 2 */

/* Columns of G bytes (weight codes, splat activation codes) in register groups: RVV_COLS(X, p, LM)
 * declares the columns at p (LM = m4: four, m8: eight), RVV_COLS2(X, k, LM, G) is the group of
 * columns 2k, 2k + 1 (e8m2), RVV_COLS4(X, k, LM, G) that of columns 4k .. 4k + 3 (e8m4), and
 * RVV_LD_COLS4(p, G) / RVV_LD_COLS4U(p, G) the four columns at p (e8m4, signed / unsigned). RVV 1.0 loads all columns in one
 * whole-register load (vl4r.v, vl8r.v: no vsetvl) and names the parts (vget: no instruction).
 * XTheadVector loads each part where it is used (vle8, vl = 2G or 4G, VLMAX of the part): GCC 14
 * has no whole-register loads for it, and takes a part of a register group only by a copy. */
#if RVV_THEAD
#define RVV_COLS(X, p, LM) const int8_t *const X = (const int8_t *)(const void *)(p)
#define RVV_COLS2(X, k, LM, G) __riscv_vle8_v_i8m2((X) + 2 * (size_t)(k) * (G), 2 * (G))
#define RVV_COLS4(X, k, LM, G) __riscv_vle8_v_i8m4((X) + 4 * (size_t)(k) * (G), 4 * (G))
#define RVV_LD_COLS4(p, G) __riscv_vle8_v_i8m4((const int8_t *)(const void *)(p), 4 * (G))
#define RVV_LD_COLS4U(p, G) __riscv_vle8_v_u8m4((const uint8_t *)(const void *)(p), 4 * (G))
#else
#define RVV_COLS(X, p, LM) const vint8##LM##_t X = *(const vint8##LM##_t *)(const void *)(p)
#define RVV_COLS2(X, k, LM, G) __riscv_vget_v_i8##LM##_i8m2(X, k)
#define RVV_COLS4(X, k, LM, G) __riscv_vget_v_i8##LM##_i8m4(X, k)
#define RVV_LD_COLS4(p, G) (*(const vint8m4_t *)(const void *)(p))
#define RVV_LD_COLS4U(p, G) (*(const vuint8m4_t *)(const void *)(p))
#endif
/* the sum v is complete here: clang 19 would otherwise load and multiply every column of a
 * block first, keep the products and spill them */
#if RVV_THEAD
#define RVV_QP_SYNC(v) ((void)0)
#else
#define RVV_QP_SYNC(v) __asm__ volatile("" : "+vr"(v))
#endif
/* Sums over the parts of G lanes of a register group, lane by lane: rvv_fold2_i32 adds the two
 * halves of 2G 32-bit lanes, rvv_fold4_i16 the four quarters of 4G 16-bit lanes. RVV 1.0 adds
 * the named parts; XTheadVector slides the upper part down (vslidedown) and adds, then takes
 * the lowest part (its first register: no instruction). */
RVV_INLINE vint32m4_t rvv_fold2_i32(vint32m8_t s, size_t G) {
#if RVV_THEAD
    return __riscv_vlmul_trunc_v_i32m8_i32m4(__riscv_vadd_vv_i32m8(s, __riscv_vslidedown_vx_i32m8(s, G, G), G));
#else
    return __riscv_vadd_vv_i32m4(__riscv_vget_v_i32m8_i32m4(s, 0), __riscv_vget_v_i32m8_i32m4(s, 1), G);
#endif
}
RVV_INLINE vint16m2_t rvv_fold4_i16(vint16m8_t p, size_t G) {
#if RVV_THEAD
    const vint16m8_t h = __riscv_vadd_vv_i16m8(p, __riscv_vslidedown_vx_i16m8(p, 2 * G, 2 * G), 2 * G);
    return __riscv_vlmul_trunc_v_i16m8_i16m2(__riscv_vadd_vv_i16m8(h, __riscv_vslidedown_vx_i16m8(h, G, G), G));
#else
    const vint16m4_t h = __riscv_vadd_vv_i16m4(__riscv_vget_v_i16m8_i16m4(p, 0), __riscv_vget_v_i16m8_i16m4(p, 1), 2 * G);
    return __riscv_vadd_vv_i16m2(__riscv_vget_v_i16m4_i16m2(h, 0), __riscv_vget_v_i16m4_i16m2(h, 1), G);
#endif
}

static inline void rvv_pack_q(const int q4, int n, void *group, const void *src, size_t ld) {
    const size_t G = rvv_group_rows(), cols = q4 ? QK / 2 : QK, bs = 2 + cols;
    uint8_t *o = (uint8_t *)group;
    for (int k = 0; k < n / QK; k++, o += G * bs)
        for (size_t r = 0; r < G; r++) {
            const uint8_t *blk = (const uint8_t *)src + r * ld + (size_t)k * bs;
            memcpy(o + 2 * r, blk, 2);
            for (size_t i = 0; i < cols; i++) o[2 * G + i * G + r] = blk[2 + i] ^ (q4 ? 0x88 : 0);
        }
}
static inline void rvv_unpack_row_q(const int q4, int n, void *dst, const void *group, int r) {
    const size_t G = rvv_group_rows(), cols = q4 ? QK / 2 : QK, bs = 2 + cols;
    const uint8_t *g = (const uint8_t *)group;
    uint8_t *blk = (uint8_t *)dst;
    for (int k = 0; k < n / QK; k++, g += G * bs, blk += bs) {
        memcpy(blk, g + 2 * r, 2);
        for (size_t i = 0; i < cols; i++) blk[2 + i] = g[2 * G + i * G + (size_t)r] ^ (q4 ? 0x88 : 0);
    }
}

/* The activation side: code i of an activation block, repeated in G lanes, is column i of the
 * splat buffer, so the weights' columns multiply vector by vector (vwmul.vv, vwmacc.vv) and no
 * scalar load is left in the loop over groups. The buffer holds RVV_QP_XB bytes: 32 columns
 * of G bytes per block, RVV_QP_XB / (32 G) blocks at a time (4 at VLEN 1024); it is built once per
 * activation row and chunk for all groups of the call (vrgather, four columns per instruction). */
#define RVV_QP_XB 16384
/* l / G for the vl = 4G lanes of four columns of a splat (up to 512: computed at e16, narrowed):
 * vrgather by it + i repeats code i .. i + 3 in G lanes each. vl comes from a register the
 * compiler cannot see through: this vector, the same for every call, would otherwise be
 * computed once for the whole GEMM and kept (eight registers), and spilled (GCC 14,
 * XTheadVector) */
RVV_INLINE vuint8m4_t rvv_splat_idx4(size_t vl, size_t G) {
    return __riscv_vncvt_x_x_w_u8m4(__riscv_vsrl_vx_u16m8(__riscv_vid_v_u16m8(vl), rvv_log2(G), vl), vl);
}
RVV_INLINE void rvv_qp_splat(const int q4, int8_t *xs, const char *x, int m, size_t G) {
    const size_t vl = 4 * G + (size_t)rvv_zero_here();
    const vuint8m4_t idx = rvv_splat_idx4(vl, G);
    for (int kk = 0; kk < m; kk++, x += sizeof(block_q8_0), xs += QK * G) {
        const vint8m4_t xv = __riscv_vle8_v_i8m4(((const block_q8_0 *)(const void *)x)->qs, QK);
        /* the column offsets from a register the compiler cannot see through: eight index vectors
         * kept across the loop would be spilled (clang 19) */
        const int base = rvv_zero_here();
        for (int i = 0; i < QK; i += 4) {
            /* Q4_0 pairs the codes j and 16 + j of a byte: its columns go in groups of 4 + 4,
             * 0..3 16..19 4..7 20..23 ... (byte columns j..j+3 use eight adjacent activation columns) */
            const int at = q4 ? (i & 15) / 4 * 8 + (i >= 16) * 4 : i;
            __riscv_vse8_v_i8m4(xs + at * G, __riscv_vrgather_vv_i8m4(xv, __riscv_vadd_vx_u8m4(idx, (uint8_t)(base + i), vl), vl), vl);
        }
    }
}

/* rows of a group (grp, block k0 on) against m splat activation blocks (xs, scales dx): lane r
 * of acc carries row r's sum on from the blocks before */
RVV_INLINE vfloat32m4_t rvv_qp_blocks(const int q4, vfloat32m4_t acc, const char *grp, const int8_t *xs,
                                      const float *dx, int m, size_t G) {
    const size_t gbs = G * (q4 ? sizeof(block_q4_0) : sizeof(block_q8_0));
    for (int kk = 0; kk < m; kk++, grp += gbs, xs += QK * G) {
        const int8_t *c = (const int8_t *)(const void *)(grp + 2 * G);
        vfloat32m4_t isf;
        if (!q4) {
            /* two columns per multiply: lane l < G of a pair's products is row l's product of
             * the even column, lane G + l that of the odd column; two pairs summed at 16 bits,
             * then added into 32-bit lanes. RVV 1.0 takes eight columns of weights and of
             * activations in one whole-register load each (fewer loads and addresses);
             * XTheadVector loads the pairs one by one, both multiplies before both
             * multiply-adds (as in rvv_q4_sums: else GCC 14 copies a product out). The zero
             * comes from a register the compiler cannot see through: a zero vector kept across
             * the loop would be spilled (clang 19) */
            vint32m8_t s = __riscv_vmv_v_x_i32m8(rvv_zero_here(), 2 * G);
#if RVV_THEAD
            for (int j = 0; j < 8; j += 2) {   /* eight columns: two sums of two pairs */
                RVV_COLS(La, c + 4 * j * G, m4);
                RVV_COLS(Xa, xs + 4 * j * G, m4);
                RVV_COLS(Lb, c + 4 * (j + 1) * G, m4);
                RVV_COLS(Xb, xs + 4 * (j + 1) * G, m4);
                vint16m4_t t0 = __riscv_vwmul_vv_i16m4(RVV_COLS2(La, 0, m4, G), RVV_COLS2(Xa, 0, m4, G), 2 * G);
                vint16m4_t t1 = __riscv_vwmul_vv_i16m4(RVV_COLS2(Lb, 0, m4, G), RVV_COLS2(Xb, 0, m4, G), 2 * G);
                t0 = __riscv_vwmacc_vv_i16m4(t0, RVV_COLS2(La, 1, m4, G), RVV_COLS2(Xa, 1, m4, G), 2 * G);
                t1 = __riscv_vwmacc_vv_i16m4(t1, RVV_COLS2(Lb, 1, m4, G), RVV_COLS2(Xb, 1, m4, G), 2 * G);
                s = __riscv_vwadd_wv_i32m8(s, t0, 2 * G);
                s = __riscv_vwadd_wv_i32m8(s, t1, 2 * G);
                RVV_QP_SYNC(s);
            }
#else
            for (int j = 0; j < 4; j++) {   /* eight columns: two sums of two pairs */
                RVV_COLS(L, c + 8 * j * G, m8);
                RVV_COLS(X, xs + 8 * j * G, m8);
                vint16m4_t t = __riscv_vwmul_vv_i16m4(RVV_COLS2(L, 0, m8, G), RVV_COLS2(X, 0, m8, G), 2 * G);
                t = __riscv_vwmacc_vv_i16m4(t, RVV_COLS2(L, 1, m8, G), RVV_COLS2(X, 1, m8, G), 2 * G);
                s = __riscv_vwadd_wv_i32m8(s, t, 2 * G);
                t = __riscv_vwmul_vv_i16m4(RVV_COLS2(L, 2, m8, G), RVV_COLS2(X, 2, m8, G), 2 * G);
                t = __riscv_vwmacc_vv_i16m4(t, RVV_COLS2(L, 3, m8, G), RVV_COLS2(X, 3, m8, G), 2 * G);
                s = __riscv_vwadd_wv_i32m8(s, t, 2 * G);
                RVV_QP_SYNC(s);
            }
#endif
            isf = __riscv_vfcvt_f_x_v_f32m4(rvv_fold2_i32(s, G), G);
        } else {
            vint16m8_t p;
            /* four byte columns j .. j + 3 at a time (e8m4): their codes minus 8, low nibbles and
             * high nibbles (RVV_LD_Q4's shifts), times the activation's columns j .. j + 3 and
             * 16 + j .. 16 + j + 3, which the splat put next to each other (Q4_0's order). Lane
             * q * G + l of the products is row l's of byte column j + q; the four quarters are
             * added at the end (each lane holds 8 products, the sum all 32 of a block) */
            for (int j = 0; j < 4; j++) {
                const vint8m4_t L = RVV_LD_COLS4(c + 4 * j * G, G);
                RVV_COLS(X, xs + 8 * j * G, m8);
                const vint8m4_t lo = __riscv_vsra_vx_i8m4(__riscv_vsll_vx_i8m4(L, RVV_N(4), 4 * G), RVV_N(4), 4 * G);
                const vint8m4_t hi = __riscv_vsra_vx_i8m4(L, RVV_N(4), 4 * G);
                if (j == 0) p = __riscv_vwmul_vv_i16m8(lo, RVV_COLS4(X, 0, m8, G), 4 * G);
                else p = __riscv_vwmacc_vv_i16m8(p, lo, RVV_COLS4(X, 0, m8, G), 4 * G);
                p = __riscv_vwmacc_vv_i16m8(p, hi, RVV_COLS4(X, 1, m8, G), 4 * G);
            }
            isf = __riscv_vfwcvt_f_x_v_f32m4(rvv_fold4_i16(p, G), G);
        }
        const vfloat32m4_t dw = rvv_ld_f16_m4(grp, G);
        acc = __riscv_vfmacc_vv_f32m4(acc, isf, __riscv_vfmul_vf_f32m4(dw, dx[kk], G), G);
    }
    return acc;
}

/* the layout's GEMM: nr / G consecutive groups against nb activation rows; per activation row
 * and chunk of blocks, every group's sums go on from y (a float stored and loaded back: exact) */
RVV_INLINE void rvv_qp_gemm(const int q4, int n, int nr, int nb, float *y, size_t ldy, const void *w,
                            const void *x, size_t ldx) {
    const size_t G = rvv_group_rows(), gbs = G * (q4 ? sizeof(block_q4_0) : sizeof(block_q8_0));
    const int nblk = n / QK, ng = nr / (int)G, cb = (int)(RVV_QP_XB / (QK * G));
    int8_t xs[RVV_QP_XB];
    float dx[RVV_QP_XB / QK / 16];
    for (int b = 0; b < nb; b++) {
        const char *xb = (const char *)x + (size_t)b * ldx;
        float *yb = y + (size_t)b * ldy;
        for (int k0 = 0; k0 < nblk; k0 += cb) {
            const int m = nblk - k0 < cb ? nblk - k0 : cb;
            rvv_block_scales(dx, xb + (size_t)k0 * sizeof(block_q8_0), sizeof(block_q8_0), m);
            rvv_qp_splat(q4, xs, xb + (size_t)k0 * sizeof(block_q8_0), m, G);
            for (int g = 0; g < ng; g++) {
                vfloat32m4_t acc = k0 ? __riscv_vle32_v_f32m4(yb + (size_t)g * G, G) : __riscv_vfmv_v_f_f32m4(0.0f, G);
                acc = rvv_qp_blocks(q4, acc, (const char *)w + (size_t)g * gbs * nblk + (size_t)k0 * gbs, xs, dx, m, G);
                __riscv_vse32_v_f32m4(yb + (size_t)g * G, acc, G);
            }
        }
    }
}

static inline void rvv_pack_q8_0(int n, void *group, const void *src, size_t ld) { rvv_pack_q(0, n, group, src, ld); }
static inline void rvv_pack_q4_0(int n, void *group, const void *src, size_t ld) { rvv_pack_q(1, n, group, src, ld); }
static inline void rvv_unpack_row_q8_0(int n, void *dst, const void *group, int r) { rvv_unpack_row_q(0, n, dst, group, r); }
static inline void rvv_unpack_row_q4_0(int n, void *dst, const void *group, int r) { rvv_unpack_row_q(1, n, dst, group, r); }
static inline void rvv_gemm_q8_0_packed(int n, int nr, int nb, float *y, size_t ldy, const void *w, size_t ldw,
                                        const void *x, size_t ldx) {
    rvv_qp_gemm(0, n, nr, nb, y, ldy, w, x, ldx);
}
static inline void rvv_gemm_q4_0_packed(int n, int nr, int nb, float *y, size_t ldy, const void *w, size_t ldw,
                                        const void *x, size_t ldx) {
    rvv_qp_gemm(1, n, nr, nb, y, ldy, w, x, ldx);
}

/* ---- Q4_K, Q5_K and Q6_K in rows interleaved by the vector length -------------------------
 * The same idea for the K-quants: G = VLEN / 8 rows form a group (rvv_group_rows), and a
 * group is their super-blocks, super-block by super-block, every field transposed so that a
 * field's byte (or fp16) of the G rows is one column of G lanes:
 *   a field of w bytes at offset o of the file's block is, for row r, at o*G + w*r of the
 *   group's super-block (G * sizeof(block) bytes): the fp16 d and dmin (w = 2) are G-lane
 *   vectors, every byte of scales, qh, qs, ql (w = 1) a column, byte i of row r at i*G + r.
 *   Two fields are re-encoded byte by byte (rvv_kp_enc; unpack_row undoes it): Q6_K's qh xor
 *   0xAA (below), and Q5_K's qh with its bits reordered, the bit of sub-block 2c (low
 *   nibbles of the c-th 32 code bytes) at bit c and that of sub-block 2c+1 at bit 4 + c, so
 *   both move to bit 4 with one shift of c (right) or 4 - c (left).
 * So a group holds exactly the bytes of its G rows. The activation's code of element e is
 * column e of a splat buffer (G copies, built once per activation row and chunk of
 * super-blocks for all groups), and a weight column times an activation column is one
 * widening multiply-add of G rows (vwmaccsu.vv / vwmacc.vv), eight columns per whole-register
 * load (vl8r.v).
 * Per lane (row) the integer sums of the reference dot, exact, in another order:
 *   Q4_K: codes 0..15 (vand / vsrl of eight columns at once), |q * x| <= 15 * 128; 16 products
 *     fit int16 (30720), so each sub-block of 32 is two 16-bit partial sums, each added as
 *     isum += sc_j * partial at 32 bits (vwmacc.vv, the scale as int16);
 *     msum = sum_j m_j * (bsums[2j] + bsums[2j+1]), the bsum pair a scalar (vwmacc.vx).
 *     The 6-bit scales and mins are decoded from the 12 scale columns four sub-blocks at a
 *     time (kq_scale_min_k4 on vectors) and kept, as int16 columns, in a buffer.
 *   Q5_K: as Q4_K with the fifth bit or-ed in at bit 4: codes 0..31, |q * x| <= 31 * 128,
 *     8 products fit int16 (31744): a partial sum per eight columns.
 *   Q6_K: the code minus 32 is lo + 16 * (hi - 2), lo the nibble of ql, hi the 2-bit field of
 *     qh. With hi's upper bit flipped (xor 0xAA at pack), the field alone in the top two bits
 *     of a byte is, as a signed byte, 64 * (hi - 2); an arithmetic shift by 2 makes it
 *     16 * (hi - 2), and adding lo gives q - 32 (-32..31) with no bsums term.
 *     |(q - 32) * x| <= 32 * 127 (Q8_K codes are within +-127): 8 products fit int16 (32512),
 *     so a sub-block of 16 is two partials, each isum += sc * partial (sc as int16).
 * The float part is the reference's, per lane, super-block after super-block, on the sums
 * kept in y (a float stored and loaded back: exact):
 *   sum = fma((float)isum, d * dx, sum) (vfmul.vf, vfmacc.vv), and for Q4_K and Q5_K then
 *   sum = fma(-(float)msum, dmin * dx, sum) (vfnmsac.vv: the same single rounding),
 * so every lane is bitwise the reference dot of its row.
 * XTheadVector (G = 16 on the C920) runs the same bodies in steps of four columns instead of
 * eight (RVV_KP_SC, below): one widening multiply-add per step takes its four columns at once,
 * into 4G 16-bit lanes that are folded into G lanes where a partial sum is complete (a Q4_K
 * partial is then 4 products per lane, a Q5_K or Q6_K partial 2). It takes this layout for
 * Q4_K, Q5_K and Q6_K (rvv_choose_layouts). */
#define RVV_KP_XB 32768   /* splat buffer: 256 columns of G bytes per super-block, >= 1 at G = 128 */
/* the columns are read again rather than kept: eight-register values the compiler would keep
 * live across steps do not fit the 32 registers, and their spill code costs more than a load */
#define RVV_KP_RELOAD() __asm__ volatile("" ::: "memory")
/* ... and the sum v is complete here: the compiler would otherwise defer its updates (and
 * spill what they need) to the end of the unrolled loop */
#define RVV_KP_SYNC(v) __asm__ volatile("" : "+vr"(v) : : "memory")

/* the byte of the file's block at i, for row r of G, goes to the group's block at this offset
 * (width-2 fields: d and dmin at 0 and 2 for Q4_K and Q5_K, d at 208 for Q6_K); kt = 4, 5, 6 */
static inline size_t rvv_kp_bs(const int kt) { return kt == 6 ? sizeof(block_q6_K) : kt == 5 ? sizeof(block_q5_K) : sizeof(block_q4_K); }
static inline size_t rvv_kp_off(const int kt, size_t i, size_t r, size_t G) {
    const int q6 = kt == 6;
    const size_t f = q6 ? (i >= 208 ? 208 : i) : (i < 4 ? i & ~(size_t)1 : i), w = (q6 ? i >= 208 : i < 4) ? 2 : 1;
    return f * G + w * r + (i - f);
}
/* Q6_K's qh xor 0xAA; Q5_K's qh bits reordered: bit j (sub-block j) of the file's byte goes to
 * bit j/2 (j even) or 4 + j/2 (j odd) */
static inline uint8_t rvv_kp_enc(const int kt, size_t i, uint8_t v) {
    if (kt == 6) return i >= 128 && i < 192 ? v ^ 0xAA : v;
    if (kt != 5 || i < 16 || i >= 48) return v;
    uint8_t o = 0;
    for (int j = 0; j < 8; j++) o |= (uint8_t)(((v >> j) & 1) << (j % 2 ? 4 + j / 2 : j / 2));
    return o;
}
static inline uint8_t rvv_kp_dec(const int kt, size_t i, uint8_t v) {
    if (kt == 6) return i >= 128 && i < 192 ? v ^ 0xAA : v;
    if (kt != 5 || i < 16 || i >= 48) return v;
    uint8_t o = 0;
    for (int j = 0; j < 8; j++) o |= (uint8_t)(((v >> (j % 2 ? 4 + j / 2 : j / 2)) & 1) << j);
    return o;
}

static inline void rvv_pack_kq(const int kt, int n, void *group, const void *src, size_t ld) {
    const size_t G = rvv_group_rows(), bs = rvv_kp_bs(kt);
    uint8_t *o = (uint8_t *)group;
    for (int k = 0; k < n / QK_K; k++, o += G * bs)
        for (size_t r = 0; r < G; r++) {
            const uint8_t *blk = (const uint8_t *)src + r * ld + (size_t)k * bs;
            for (size_t i = 0; i < bs; i++) o[rvv_kp_off(kt, i, r, G)] = rvv_kp_enc(kt, i, blk[i]);
        }
}
static inline void rvv_unpack_row_kq(const int kt, int n, void *dst, const void *group, int r) {
    const size_t G = rvv_group_rows(), bs = rvv_kp_bs(kt);
    const uint8_t *g = (const uint8_t *)group;
    uint8_t *blk = (uint8_t *)dst;
    for (int k = 0; k < n / QK_K; k++, g += G * bs, blk += bs)
        for (size_t i = 0; i < bs; i++) blk[i] = rvv_kp_dec(kt, i, g[rvv_kp_off(kt, i, (size_t)r, G)]);
}

/* Steps of columns: RVV 1.0 takes eight columns at a time (e8m8: whole-register loads, the
 * columns of a multiply-add named by vget), XTheadVector four (e8m4: vle8, vl = 4G), whose
 * products go into 4G 16-bit lanes at once (lane q*G + r: row r's products of the q-th column of
 * each step), folded into G lanes where a partial sum is complete (rvv_fold4_i16): GCC 14 has no
 * whole-register loads for it and takes a part of a register group only by a copy.
 * RVV_KP_T(vint8) is the type of a step's columns, RVV_KP_F(__riscv_vand_vx_u8) an intrinsic at
 * its LMUL, RVV_KP_P the type of a partial sum's lanes and RVV_KP_PART(P) the partial sum of the
 * G rows (vint16m2_t). */
#define RVV_KP_CAT_(a, b) a##b
#define RVV_KP_CAT(a, b) RVV_KP_CAT_(a, b)
#if RVV_THEAD
#define RVV_KP_SC 4
#define RVV_KP_LM m4
#define RVV_KP_LDU(p) __riscv_vle8_v_u8m4((const uint8_t *)(const void *)(p), 4 * G)
#define RVV_KP_LD(p) __riscv_vle8_v_i8m4((const int8_t *)(const void *)(p), 4 * G)
#define RVV_KP_ST(p, v) __riscv_vse8_v_i8m4((p), (v), vl)
#define RVV_KP_P vint16m8_t
#define RVV_KP_PART(P) rvv_fold4_i16(P, G)
#define RVV_KP_ZEXT16(v, vl) __riscv_vwcvtu_x_x_v_u16m8(v, vl)
#define RVV_KP_SEXT16(v, vl) __riscv_vwcvt_x_x_v_i16m8(v, vl)
#else
#define RVV_KP_SC 8
#define RVV_KP_LM m8
#define RVV_KP_LDU(p) (*(const vuint8m8_t *)(const void *)(p))
#define RVV_KP_LD(p) (*(const vint8m8_t *)(const void *)(p))
#define RVV_KP_ST(p, v) (*(vint8m8_t *)(void *)(p) = (v))
#define RVV_KP_P vint16m2_t
#define RVV_KP_PART(P) (P)
#define RVV_KP_ZEXT16(v, vl) __riscv_vzext_vf2_u16m8(v, vl)
#define RVV_KP_SEXT16(v, vl) __riscv_vsext_vf2_i16m8(v, vl)
#endif
#define RVV_KP_T(t) RVV_KP_CAT(RVV_KP_CAT(t, RVV_KP_LM), _t)
#define RVV_KP_F(f) RVV_KP_CAT(f, RVV_KP_LM)
#define RVV_KP_U2I(v) RVV_KP_CAT(RVV_KP_CAT(RVV_KP_F(__riscv_vreinterpret_v_u8), _i8), RVV_KP_LM)(v)

/* the activation side: super-blocks k0.. k0+m-1 of one Q8_K row as columns of G equal bytes
 * (element e of super-block kk at xs + (kk*256 + e)*G), eight columns per vrgather (e8m8:
 * lane l takes code i + l/G); dx their scales, bp their bsum pairs (Q4_K) */
RVV_INLINE void rvv_kp_splat(int8_t *xs, float *dx, int16_t *bp, const block_q8_K *x, int m, size_t G) {
#if RVV_THEAD   /* four columns per vrgather (e8m4), lane l takes code i + l/G */
    const size_t vl = 4 * G + (size_t)rvv_zero_here();
    const vuint8m4_t idx = rvv_splat_idx4(vl, G);
#else
    const size_t vl = 8 * G;
    vuint8m8_t idx = __riscv_vundefined_u8m8();
    idx = __riscv_vset_v_u8m1_u8m8(idx, 0, __riscv_vmv_v_x_u8m1(0, G));
    idx = __riscv_vset_v_u8m1_u8m8(idx, 1, __riscv_vmv_v_x_u8m1(1, G));
    idx = __riscv_vset_v_u8m1_u8m8(idx, 2, __riscv_vmv_v_x_u8m1(2, G));
    idx = __riscv_vset_v_u8m1_u8m8(idx, 3, __riscv_vmv_v_x_u8m1(3, G));
    idx = __riscv_vset_v_u8m1_u8m8(idx, 4, __riscv_vmv_v_x_u8m1(4, G));
    idx = __riscv_vset_v_u8m1_u8m8(idx, 5, __riscv_vmv_v_x_u8m1(5, G));
    idx = __riscv_vset_v_u8m1_u8m8(idx, 6, __riscv_vmv_v_x_u8m1(6, G));
    idx = __riscv_vset_v_u8m1_u8m8(idx, 7, __riscv_vmv_v_x_u8m1(7, G));
#endif
    for (int kk = 0; kk < m; kk++) {
        dx[kk] = x[kk].d;
        for (int j = 0; j < 8; j++) bp[8 * kk + j] = (int16_t)(x[kk].bsums[2 * j] + x[kk].bsums[2 * j + 1]);
        for (int p = 0; p < QK_K / 32; p++, xs += 32 * G) {
            const RVV_KP_T(vint8) src = RVV_KP_F(__riscv_vle8_v_i8)(x[kk].qs + 32 * p, 32);
            for (int i = 0; i < 32; i += RVV_KP_SC)   /* the index vectors are not hoisted (32 registers) */
                RVV_KP_ST(xs + i * G, RVV_KP_F(__riscv_vrgather_vv_i8)(src, RVV_KP_F(__riscv_vadd_vx_u8)(idx, (uint8_t)(i + rvv_zero_here()), vl), vl));
        }
    }
}

/* eight products of a weight column group (Q, codes) and an activation column group (X) into
 * the 16-bit partial P (first: P starts with them); Q unsigned (Q4_K) or signed (Q6_K) */
#define RVV_KP_MAC8(P, first, MUL, MAC, Q, X, QT)                                                   \
    do {                                                                                         \
        P = (first) ? MUL(__riscv_vget_v_i8m8_i8m1(X, 0), __riscv_vget_v_##QT##8m8_##QT##8m1(Q, 0), G)  \
                    : MAC(P, __riscv_vget_v_i8m8_i8m1(X, 0), __riscv_vget_v_##QT##8m8_##QT##8m1(Q, 0), G); \
        P = MAC(P, __riscv_vget_v_i8m8_i8m1(X, 1), __riscv_vget_v_##QT##8m8_##QT##8m1(Q, 1), G);      \
        P = MAC(P, __riscv_vget_v_i8m8_i8m1(X, 2), __riscv_vget_v_##QT##8m8_##QT##8m1(Q, 2), G);      \
        P = MAC(P, __riscv_vget_v_i8m8_i8m1(X, 3), __riscv_vget_v_##QT##8m8_##QT##8m1(Q, 3), G);      \
        P = MAC(P, __riscv_vget_v_i8m8_i8m1(X, 4), __riscv_vget_v_##QT##8m8_##QT##8m1(Q, 4), G);      \
        P = MAC(P, __riscv_vget_v_i8m8_i8m1(X, 5), __riscv_vget_v_##QT##8m8_##QT##8m1(Q, 5), G);      \
        P = MAC(P, __riscv_vget_v_i8m8_i8m1(X, 6), __riscv_vget_v_##QT##8m8_##QT##8m1(Q, 6), G);      \
        P = MAC(P, __riscv_vget_v_i8m8_i8m1(X, 7), __riscv_vget_v_##QT##8m8_##QT##8m1(Q, 7), G);      \
    } while (0)
#define RVV_KP_MULSU(x, q, vl) __riscv_vwmulsu_vv_i16m2(x, q, vl)
#define RVV_KP_MACSU(p, x, q, vl) __riscv_vwmaccsu_vv_i16m2(p, x, q, vl)
#define RVV_KP_MUL(x, q, vl) __riscv_vwmul_vv_i16m2(x, q, vl)
#define RVV_KP_MAC(p, x, q, vl) __riscv_vwmacc_vv_i16m2(p, x, q, vl)

/* the products of a step of columns (Q codes, X activation columns) into the partial P (first:
 * P starts with them); Q unsigned (MACSU: Q4_K, Q5_K) or signed (MAC: Q6_K) */
#if RVV_THEAD
#define RVV_KP_MACSU_STEP(P, first, Q, X) \
    (P = (first) ? __riscv_vwmulsu_vv_i16m8(X, Q, 4 * G) : __riscv_vwmaccsu_vv_i16m8(P, X, Q, 4 * G))
#define RVV_KP_MAC_STEP(P, first, Q, X) \
    (P = (first) ? __riscv_vwmul_vv_i16m8(X, Q, 4 * G) : __riscv_vwmacc_vv_i16m8(P, X, Q, 4 * G))
#else
#define RVV_KP_MACSU_STEP(P, first, Q, X) RVV_KP_MAC8(P, first, RVV_KP_MULSU, RVV_KP_MACSU, Q, X, u)
#define RVV_KP_MAC_STEP(P, first, Q, X) RVV_KP_MAC8(P, first, RVV_KP_MUL, RVV_KP_MAC, Q, X, i)
#endif

/* the float part of one super-block for the G rows, on the sums in y (k: first super-block) */
RVV_INLINE void rvv_kp_float(float *y, const int first, const uint8_t *d16, vint32m4_t isum, float dx, size_t G) {
    vfloat32m4_t acc = first ? __riscv_vfmv_v_f_f32m4(0.0f, G) : __riscv_vle32_v_f32m4(y, G);
    const vfloat32m4_t d = rvv_ld_f16_m4((const char *)d16, G);
    acc = __riscv_vfmacc_vv_f32m4(acc, __riscv_vfcvt_f_x_v_f32m4(isum, G), __riscv_vfmul_vf_f32m4(d, dx, G), G);
    __riscv_vse32_v_f32m4(y, acc, G);
}

/* a step of columns of a Q4_K or Q5_K super-block: the low (high = 0) or high nibbles of the code
 * bytes at q (Q5_K: with the fifth bits of sub-block 2c or 2c + 1 from qh, moved to bit 4) times
 * the activation columns at x, into the partial P (first: P starts with them) */
RVV_INLINE RVV_KP_P rvv_kp_q45_step(const int q5, const int high, const int first, RVV_KP_P P, const uint8_t *q,
                                    const uint8_t *qh, const int8_t *x, int c, size_t G) {
    const size_t GS = RVV_KP_SC * G;
    RVV_KP_T(vuint8) v = high ? RVV_KP_F(__riscv_vsrl_vx_u8)(RVV_KP_LDU(q), RVV_N(4), GS) : RVV_KP_F(__riscv_vand_vx_u8)(RVV_KP_LDU(q), 15, GS);
    if (q5) {
        const RVV_KP_T(vuint8) b = RVV_KP_LDU(qh);
        v = RVV_KP_F(__riscv_vor_vv_u8)(v, RVV_KP_F(__riscv_vand_vx_u8)(high ? RVV_KP_F(__riscv_vsrl_vx_u8)(b, RVV_N(c), GS)
                                                                              : RVV_KP_F(__riscv_vsll_vx_u8)(b, RVV_N(4 - c), GS), 16, GS), GS);
    }
    const RVV_KP_T(vint8) X = RVV_KP_LD(x);
    RVV_KP_MACSU_STEP(P, first, v, X);
    return P;
}

/* one Q4_K or Q5_K super-block of a group (blk) against one activation super-block (xs, dx,
 * bp); the sums of the G rows go on from y */
RVV_INLINE void rvv_kp_q45_K_sb(const int q5, float *y, const int first, const uint8_t *blk, const int8_t *xs, float dx,
                                const int16_t *bp, int16_t *s16, size_t G) {
    {   /* scales sc_j (columns 0..7 of s16) and mins m_j (8..15), kq_scale_min_k4 on four columns at once */
        const uint8_t *sc = blk + 4 * G;
        const vuint8m4_t A = RVV_LD_COLS4U(sc, G), B = RVV_LD_COLS4U(sc + 4 * G, G), C = RVV_LD_COLS4U(sc + 8 * G, G);
        const size_t vl = 4 * G;
        const vuint8m4_t s03 = __riscv_vand_vx_u8m4(A, 63, vl), m03 = __riscv_vand_vx_u8m4(B, 63, vl);
        const vuint8m4_t s47 = __riscv_vor_vv_u8m4(__riscv_vand_vx_u8m4(C, 15, vl),
                                                   __riscv_vsll_vx_u8m4(__riscv_vsrl_vx_u8m4(A, RVV_N(6), vl), RVV_N(4), vl), vl);
        const vuint8m4_t m47 = __riscv_vor_vv_u8m4(__riscv_vsrl_vx_u8m4(C, RVV_N(4), vl),
                                                   __riscv_vsll_vx_u8m4(__riscv_vsrl_vx_u8m4(B, RVV_N(6), vl), RVV_N(4), vl), vl);
        __riscv_vse16_v_u16m8((uint16_t *)(void *)s16, RVV_KP_ZEXT16(s03, vl), vl);
        __riscv_vse16_v_u16m8((uint16_t *)(void *)(s16 + 4 * G), RVV_KP_ZEXT16(s47, vl), vl);
        __riscv_vse16_v_u16m8((uint16_t *)(void *)(s16 + 8 * G), RVV_KP_ZEXT16(m03, vl), vl);
        __riscv_vse16_v_u16m8((uint16_t *)(void *)(s16 + 12 * G), RVV_KP_ZEXT16(m47, vl), vl);
    }
    const size_t GS = RVV_KP_SC * G, G8 = 8 * G, G32 = 32 * G;
    const int NS = 8 / RVV_KP_SC;       /* steps per eight columns */
    const uint8_t *q = blk + (q5 ? 48 : 16) * G;   /* columns 8e .. 8e + 7 of the codes, e = 0 .. 15 */
    const int8_t *x = xs;               /* their low nibbles' activation columns; the high's at + 32G */
    const int16_t *s = s16;
    vint32m4_t isum = __riscv_vmv_v_x_i32m4(rvv_zero_here(), G);
    for (int c = 0; c < 4; c++, x += G32, s += 2 * G) {    /* sub-blocks 2c (low nibbles) and 2c + 1 (high) */
        const uint8_t *qh = blk + 16 * G;                  /* Q5_K: the fifth bits of columns l, bits c and 4 + c */
        for (int h = 0; h < 2; h++) {                      /* 16 of their 32 columns: one partial sum each (Q4_K) */
            RVV_KP_P pl, ph;
            RVV_KP_SYNC(isum);
            /* eight columns: NS steps. Q5_K: a partial sum of the low nibbles, then of the high
             * nibbles; Q4_K: the steps of both in turn */
            for (int e = 0; e < 2; e++, q += G8, x += G8, qh += G8) {
                RVV_KP_RELOAD();
                for (int u = 0; u < NS; u++) {
                    pl = rvv_kp_q45_step(q5, 0, (q5 || e == 0) && u == 0, pl, q + u * GS, qh + u * GS, x + u * GS, c, G);
                    if (q5 && u == NS - 1) isum = __riscv_vwmacc_vv_i32m4(isum, __riscv_vle16_v_i16m2(s, G), RVV_KP_PART(pl), G);
                    RVV_KP_SYNC(pl);
                    if (!q5) {
                        ph = rvv_kp_q45_step(q5, 1, e == 0 && u == 0, ph, q + u * GS, qh + u * GS, x + G32 + u * GS, c, G);
                        RVV_KP_SYNC(ph);
                    }
                }
                for (int u = 0; q5 && u < NS; u++) {
                    ph = rvv_kp_q45_step(q5, 1, u == 0, ph, q + u * GS, qh + u * GS, x + G32 + u * GS, c, G);
                    if (u == NS - 1) isum = __riscv_vwmacc_vv_i32m4(isum, __riscv_vle16_v_i16m2(s + G, G), RVV_KP_PART(ph), G);
                    RVV_KP_SYNC(ph);
                }
            }
            if (!q5) {
                isum = __riscv_vwmacc_vv_i32m4(isum, __riscv_vle16_v_i16m2(s, G), RVV_KP_PART(pl), G);
                isum = __riscv_vwmacc_vv_i32m4(isum, __riscv_vle16_v_i16m2(s + G, G), RVV_KP_PART(ph), G);
            }
        }
    }
    rvv_kp_float(y, first, blk, isum, dx, G);
    vint32m4_t msum = __riscv_vmv_v_x_i32m4(rvv_zero_here(), G);
    for (int j = 0; j < 8; j++) msum = __riscv_vwmacc_vx_i32m4(msum, bp[j], __riscv_vle16_v_i16m2(s16 + (8 + j) * G, G), G);
    const vfloat32m4_t dm = rvv_ld_f16_m4((const char *)(blk + 2 * G), G);
    __riscv_vse32_v_f32m4(y, __riscv_vfnmsac_vv_f32m4(__riscv_vle32_v_f32m4(y, G), __riscv_vfcvt_f_x_v_f32m4(msum, G),
                                                      __riscv_vfmul_vf_f32m4(dm, dx, G), G), G);
}

/* quarter k of half h of a Q6_K super-block (32 elements, 8 columns at a time: four steps) */
RVV_INLINE vint32m4_t rvv_kp_q6_quarter(vint32m4_t isum, const int k, const uint8_t *l, const uint8_t *hb, const int8_t *x,
                                        const int16_t *s, size_t G) {
    const size_t GS = RVV_KP_SC * G;
    const int NS = 8 / RVV_KP_SC;       /* steps per eight columns: a partial sum */
    RVV_KP_P p;
    for (int t = 0; t < 4 * NS; t++, l += GS, hb += GS, x += GS) {
        RVV_KP_SYNC(isum);
        /* lo: the nibble of ql[64h + 32(k&1) + i] (low for k < 2); 16 (hi - 2) from bits 2k, 2k+1 of qh[32h + i] */
        const RVV_KP_T(vuint8) L = RVV_KP_LDU(l);
        const RVV_KP_T(vint8) H = RVV_KP_LD(hb);
        const RVV_KP_T(vuint8) lo = k < 2 ? RVV_KP_F(__riscv_vand_vx_u8)(L, 15, GS) : RVV_KP_F(__riscv_vsrl_vx_u8)(L, RVV_N(4), GS);
        const RVV_KP_T(vint8) top = k == 0 ? RVV_KP_F(__riscv_vsll_vx_i8)(H, RVV_N(6), GS)
                                     : RVV_KP_F(__riscv_vand_vx_i8)(k < 3 ? RVV_KP_F(__riscv_vsll_vx_i8)(H, RVV_N(6 - 2 * k), GS) : H, -64, GS);
        const RVV_KP_T(vint8) q = RVV_KP_F(__riscv_vadd_vv_i8)(RVV_KP_F(__riscv_vsra_vx_i8)(top, RVV_N(2), GS),
                                                           RVV_KP_U2I(lo), GS);
        RVV_KP_RELOAD();
        const RVV_KP_T(vint8) X = RVV_KP_LD(x);
        RVV_KP_MAC_STEP(p, t % NS == 0, q, X);
        if (t % NS == NS - 1) isum = __riscv_vwmacc_vv_i32m4(isum, __riscv_vle16_v_i16m2(s + (t / NS / 2) * G, G), RVV_KP_PART(p), G);
    }
    return isum;
}

/* one Q6_K super-block of a group against one activation super-block */
RVV_INLINE void rvv_kp_q6_K_sb(float *y, const int first, const uint8_t *blk, const int8_t *xs, float dx, int16_t *s16, size_t G) {
    {   /* the 16 scales as int16 columns */
        const int8_t *sc = (const int8_t *)(const void *)(blk + 192 * G);
        const size_t vl = 4 * G;
        for (int i = 0; i < 4; i++)
            __riscv_vse16_v_i16m8(s16 + 4 * i * G, RVV_KP_SEXT16(RVV_LD_COLS4(sc + 4 * i * G, G), vl), vl);
    }
    const uint8_t *ql = blk, *qh = blk + 128 * G;
    vint32m4_t isum = __riscv_vmv_v_x_i32m4(rvv_zero_here(), G);
    for (int h = 0; h < 2; h++, ql += 64 * G, qh += 32 * G, xs += 128 * G, s16 += 8 * G) {   /* element 128h + 32k + i */
        isum = rvv_kp_q6_quarter(isum, 0, ql, qh, xs, s16, G);
        isum = rvv_kp_q6_quarter(isum, 1, ql + 32 * G, qh, xs + 32 * G, s16 + 2 * G, G);
        isum = rvv_kp_q6_quarter(isum, 2, ql, qh, xs + 64 * G, s16 + 4 * G, G);
        isum = rvv_kp_q6_quarter(isum, 3, ql + 32 * G, qh, xs + 96 * G, s16 + 6 * G, G);
    }
    rvv_kp_float(y, first, blk + 208 * G, isum, dx, G);
}

/* the layouts' GEMM: nr / G consecutive groups against nb activation rows, in chunks of
 * super-blocks the splat buffer holds; every group's sums go on in y */
RVV_INLINE void rvv_kp_gemm(const int kt, int n, int nr, int nb, float *y, size_t ldy, const void *w, const void *x, size_t ldx) {
    const size_t G = rvv_group_rows(), gbs = G * rvv_kp_bs(kt);
    const int nblk = n / QK_K, ng = nr / (int)G, cb = (int)(RVV_KP_XB / (QK_K * G));
    int8_t xs[RVV_KP_XB];
    int16_t s16[16 * 128], bp[8 * (RVV_KP_XB / QK_K / 16)];
    float dx[RVV_KP_XB / QK_K / 16];
    for (int b = 0; b < nb; b++) {
        const block_q8_K *xb = (const block_q8_K *)(const void *)((const char *)x + (size_t)b * ldx);
        for (int k0 = 0; k0 < nblk; k0 += cb) {
            const int m = nblk - k0 < cb ? nblk - k0 : cb;
            rvv_kp_splat(xs, dx, bp, xb + k0, m, G);
            float *yg = y + (size_t)b * ldy;
            const uint8_t *wg = (const uint8_t *)w + (size_t)k0 * gbs;
            for (int g = 0; g < ng; g++, yg += G, wg += gbs * nblk) {
                const uint8_t *blk = wg;
                const int8_t *xk = xs;
                for (int kk = 0; kk < m; kk++, blk += gbs, xk += QK_K * G) {
                    if (kt == 6) rvv_kp_q6_K_sb(yg, k0 + kk == 0, blk, xk, dx[kk], s16, G);
                    else rvv_kp_q45_K_sb(kt == 5, yg, k0 + kk == 0, blk, xk, dx[kk], bp + 8 * kk, s16, G);
                }
            }
        }
    }
}

static inline void rvv_pack_q4_K(int n, void *group, const void *src, size_t ld) { rvv_pack_kq(4, n, group, src, ld); }
static inline void rvv_unpack_row_q4_K(int n, void *dst, const void *group, int r) { rvv_unpack_row_kq(4, n, dst, group, r); }
static inline void rvv_gemm_q4_K_packed(int n, int nr, int nb, float *y, size_t ldy, const void *w, size_t ldw,
                                        const void *x, size_t ldx) {
    rvv_kp_gemm(4, n, nr, nb, y, ldy, w, x, ldx);
}
static inline void rvv_pack_q5_K(int n, void *group, const void *src, size_t ld) { rvv_pack_kq(5, n, group, src, ld); }
static inline void rvv_unpack_row_q5_K(int n, void *dst, const void *group, int r) { rvv_unpack_row_kq(5, n, dst, group, r); }
static inline void rvv_gemm_q5_K_packed(int n, int nr, int nb, float *y, size_t ldy, const void *w, size_t ldw,
                                        const void *x, size_t ldx) {
    rvv_kp_gemm(5, n, nr, nb, y, ldy, w, x, ldx);
}
static inline void rvv_pack_q6_K(int n, void *group, const void *src, size_t ld) { rvv_pack_kq(6, n, group, src, ld); }
static inline void rvv_unpack_row_q6_K(int n, void *dst, const void *group, int r) { rvv_unpack_row_kq(6, n, dst, group, r); }
static inline void rvv_gemm_q6_K_packed(int n, int nr, int nb, float *y, size_t ldy, const void *w, size_t ldw,
                                        const void *x, size_t ldx) {
    rvv_kp_gemm(6, n, nr, nb, y, ldy, w, x, ldx);
}

/* ---- F32, F16 and BF16 in rows interleaved by the vector length ------------------------------
 * A float dot keeps 8 partial sums (lane l takes elements l, l+8, l+16, ... in order, each a
 * chain of fused multiply-adds; see the float dots below), so one row fills 8 lanes: an e32m2
 * vector at VLEN 128, and a wider vector cannot take more of the same row without changing
 * the order of its sums. Here the lanes take more rows: G = VLEN / 64 rows (2 at VLEN 128,
 * 4 at 256, 8 at 512, 16 at 1024) form a group, and one e32m4 vector of V = 8G lanes holds
 * partial sum l of row r in lane l*G + r. A group is its rows' elements in steps of 8:
 *   step k (elements 8k .. 8k+7): element 8k+l of row r at [k*V + l*G + r];
 *   the last t = n % 8 elements likewise (l < t), so the last step is t*G elements long.
 * That is exactly the elements of the G rows, in the file's encoding (unpack_row undoes it).
 * A step is one contiguous load of V weights, widened to float (F16: integer ops, or vfwcvt
 * with Zvfhmin; BF16: a shift), times the activation's elements 8k+l, each repeated G times
 * (lanes l*G .. l*G+G-1), in one vfmacc: lane l*G+r does row r's fmaf of lane l in the
 * reference. The last t elements: vl = t*G with the tail undisturbed, so lanes l >= t keep
 * their sums, as in the reference. Then the reference's combination ((a0+a4)+(a2+a6)) +
 * ((a1+a5)+(a3+a7)): three slide-and-add steps over 4G, 2G and G lanes leave row r's sum in
 * lane r. Bitwise the reference dot of every row.
 * The repeated activations ("splats") are built by an indexed load (lane j reads element
 * j / G) into a buffer, once per activation row and chunk of steps, and read by every group of
 * a block of RVV_FP_GB groups (by all groups when the row fits one chunk). A group's sums go on
 * from one chunk to the next through a small buffer (a float stored and loaded back: exact).
 * Two activation rows share each load and conversion of the weights (prefill); the tile
 * takes up to four, but with four accumulators clang 19 spills at LMUL 4.
 * XTheadVector (G = 2 on the C920) runs the same bodies: the halves zero-extended into 32-bit
 * lanes by th.vlhu.v, the last t elements over all V lanes under a mask of the first t*G
 * (RVV_FMACC_TAIL), and the steps not unrolled (see rvv_fp_tile). */
#define RVV_FP_XS 8192   /* floats: the splats of RVV_FP_NB activation rows, one chunk of steps each */
#define RVV_FP_GB 8      /* groups per block */
#define RVV_FP_NB 2      /* activation rows per pass over the weights (2 or 4) */
static inline size_t rvv_fgroup_rows(void) { return __riscv_vsetvlmax_e32m4() / 8; }

/* fp16 -> fp32, exact, as fp16_to_fp32, in 7 instructions at SEW 32 (the load's e16 needs no
 * vtype of its own): s = (sign-extended h << 13) & 0x8fffe000 keeps the sign at bit 31 and puts
 * exponent and mantissa where a float keeps them; s times 2^112 is then the value with its
 * sign (normals and subnormals alike, exact); inf/nan (exponent 31: (s << 1) > 0x1effffff) take
 * exponent 255 with sign and payload kept (s | 0x7f800000), as fp16_to_fp32 gives them. */
#if !RVV_THEAD
RVV_INLINE vfloat32m4_t rvv_fp16_to_f32_m4(vuint16m2_t h, size_t vl) {
#if defined(__riscv_zvfhmin) || defined(__riscv_zvfh)
    return rvv_f16_to_f32_m4(h, vl);
#else
    const vint32m4_t w = __riscv_vsext_vf2_i32m4(__riscv_vreinterpret_v_u16m2_i16m2(h), vl);
    const vuint32m4_t s = __riscv_vand_vx_u32m4(__riscv_vreinterpret_v_i32m4_u32m4(__riscv_vsll_vx_i32m4(w, 13, vl)),
                                                0x8fffe000u, vl);
    const vbool8_t special = __riscv_vmsgtu_vx_u32m4_b8(__riscv_vsll_vx_u32m4(s, 1, vl), 0x1effffffu, vl);
    const vuint32m4_t f = __riscv_vreinterpret_v_f32m4_u32m4(
        __riscv_vfmul_vf_f32m4(__riscv_vreinterpret_v_u32m4_f32m4(s), 0x1p112f, vl));
    return __riscv_vreinterpret_v_u32m4_f32m4(__riscv_vor_vx_u32m4_mu(special, f, s, 0x7f800000u, vl));
#endif
}
#endif

/* vl weights of a step as floats; et: 0 F32, 1 F16, 2 BF16. XTheadVector loads the halves
 * zero-extended into 32-bit lanes (th.vlhu.v: GCC 14 would issue vle16 under the e32 vtype) */
RVV_INLINE vfloat32m4_t rvv_fp_ldw(const int et, const char *p, size_t vl) {
    if (et == 0) return __riscv_vle32_v_f32m4((const float *)(const void *)p, vl);
#if RVV_THEAD
    const vuint32m4_t w = __riscv_th_vlhu_v_u32m4((const uint32_t *)(const void *)p, vl);
    if (et == 1) return rvv_f16w_to_f32_m4(w, vl);
    return __riscv_vreinterpret_v_u32m4_f32m4(__riscv_vsll_vx_u32m4(w, RVV_N(16), vl));
#else
    const vuint16m2_t h = __riscv_vle16_v_u16m2((const uint16_t *)(const void *)p, vl);
    if (et == 1) return rvv_fp16_to_f32_m4(h, vl);
    return __riscv_vreinterpret_v_u32m4_f32m4(__riscv_vsll_vx_u32m4(__riscv_vzext_vf2_u32m4(h, vl), 16, vl));
#endif
}

/* a + c * x in lanes 0 .. tvl - 1 of V, the other lanes kept: RVV 1.0 with tail undisturbed;
 * XTheadVector (no tail policy) over all V lanes under the mask tail of lanes < tvl (declared
 * by RVV_FP_TAIL_MASK), whose masked-off lanes it keeps (c and x loaded with vl = tvl) */
#if RVV_THEAD
#define RVV_FP_TAIL_MASK(tvl, V) const vbool8_t tail = __riscv_vmsltu_vx_u32m4_b8(__riscv_vid_v_u32m4(V), (unsigned)(tvl), V)
#define RVV_FMACC_TAIL(a, c, x, tvl, V) __riscv_vfmacc_vv_f32m4_mu(tail, a, c, x, V)
#else
#define RVV_FP_TAIL_MASK(tvl, V) ((void)0)
#define RVV_FMACC_TAIL(a, c, x, tvl, V) __riscv_vfmacc_vv_f32m4_tu(a, c, x, tvl)
#endif

/* lanes l*G + r (l < 8) of a -> lane r: ((a0+a4)+(a2+a6)) + ((a1+a5)+(a3+a7)), stored at y */
RVV_INLINE void rvv_fp_fold(vfloat32m4_t a, float *y, size_t G) {
    a = __riscv_vfadd_vv_f32m4(a, __riscv_vslidedown_vx_f32m4(a, 4 * G, 4 * G), 4 * G);
    a = __riscv_vfadd_vv_f32m4(a, __riscv_vslidedown_vx_f32m4(a, 2 * G, 2 * G), 2 * G);
    a = __riscv_vfadd_vv_f32m4(a, __riscv_vslidedown_vx_f32m4(a, G, G), G);
    __riscv_vse32_v_f32m4(y, a, G);
}

/* one group (w at the chunk's first step) against B activation rows (splats xs + b * xst):
 * nf full steps, then (tvl > 0) the last t elements in tvl = t*G lanes. The sums start at zero
 * (first) or from part, and end in y (last) or in part. */
RVV_INLINE void rvv_fp_tile(const int et, const int B, const char *w, const float *xs, size_t xst, int nf,
                            size_t tvl, int first, int last, float *part, float *y, size_t ldy, size_t G) {
    const size_t V = 8 * G, step = V * (et == 0 ? 4 : 2);
    vfloat32m4_t a0, a1, a2, a3;
    if (first) {
        a0 = __riscv_vfmv_v_f_f32m4(0.0f, V);
        a1 = a2 = a3 = a0;
    } else {
        a0 = __riscv_vle32_v_f32m4(part, V);
        a1 = a2 = a3 = a0;
        if (B > 1) a1 = __riscv_vle32_v_f32m4(part + V, V);
        if (B > 2) a2 = __riscv_vle32_v_f32m4(part + 2 * V, V);
        if (B > 3) a3 = __riscv_vle32_v_f32m4(part + 3 * V, V);
    }
#define RVV_FP_STEP(k)                                                                              \
    {                                                                                               \
        const vfloat32m4_t c = rvv_fp_ldw(et, w + (k) * step, V);                                  \
        a0 = __riscv_vfmacc_vv_f32m4(a0, c, __riscv_vle32_v_f32m4(xs + (k) * V, V), V);             \
        if (B > 1) a1 = __riscv_vfmacc_vv_f32m4(a1, c, __riscv_vle32_v_f32m4(xs + (k) * V + xst, V), V); \
        if (B > 2) a2 = __riscv_vfmacc_vv_f32m4(a2, c, __riscv_vle32_v_f32m4(xs + (k) * V + 2 * xst, V), V); \
        if (B > 3) a3 = __riscv_vfmacc_vv_f32m4(a3, c, __riscv_vle32_v_f32m4(xs + (k) * V + 3 * xst, V), V); \
    }
    int s = 0;
    /* unrolled: the same operations (not on XTheadVector: GCC 14 then moves a sum between
     * register groups at the loop's end, with th.vmv4r.v, which XTheadVector does not have) */
    if (!RVV_THEAD)
        for (; s + 4 <= nf; s += 4, w += 4 * step, xs += 4 * V) {
            RVV_FP_STEP(0)
            RVV_FP_STEP(1)
            RVV_FP_STEP(2)
            RVV_FP_STEP(3)
        }
    for (; s < nf; s++, w += step, xs += V) RVV_FP_STEP(0)
#undef RVV_FP_STEP
    if (tvl) {
        const vfloat32m4_t c = rvv_fp_ldw(et, w, tvl);
        RVV_FP_TAIL_MASK(tvl, V);
        a0 = RVV_FMACC_TAIL(a0, c, __riscv_vle32_v_f32m4(xs, tvl), tvl, V);
        if (B > 1) a1 = RVV_FMACC_TAIL(a1, c, __riscv_vle32_v_f32m4(xs + xst, tvl), tvl, V);
        if (B > 2) a2 = RVV_FMACC_TAIL(a2, c, __riscv_vle32_v_f32m4(xs + 2 * xst, tvl), tvl, V);
        if (B > 3) a3 = RVV_FMACC_TAIL(a3, c, __riscv_vle32_v_f32m4(xs + 3 * xst, tvl), tvl, V);
    }
    if (last) {
        rvv_fp_fold(a0, y, G);
        if (B > 1) rvv_fp_fold(a1, y + ldy, G);
        if (B > 2) rvv_fp_fold(a2, y + 2 * ldy, G);
        if (B > 3) rvv_fp_fold(a3, y + 3 * ldy, G);
    } else {
        __riscv_vse32_v_f32m4(part, a0, V);
        if (B > 1) __riscv_vse32_v_f32m4(part + V, a1, V);
        if (B > 2) __riscv_vse32_v_f32m4(part + 2 * V, a2, V);
        if (B > 3) __riscv_vse32_v_f32m4(part + 3 * V, a3, V);
    }
}

/* byte offsets (l / G) * 4 for the V lanes l of a step: the activation's element that lane l
 * multiplies. vl from a register the compiler cannot see through, so that each loop computes
 * them where it uses them (three instructions) rather than once per call: kept across the
 * whole GEMM, GCC 14 for XTheadVector spills them */
RVV_INLINE vuint32m4_t rvv_fp_idx(size_t G, size_t V) {
    const size_t vl = V + (size_t)rvv_zero_here();
    return __riscv_vsll_vx_u32m4(__riscv_vsrl_vx_u32m4(__riscv_vid_v_u32m4(vl), rvv_log2(G), vl), RVV_N(2), vl);
}

/* F16 against several activation rows (prefill), when a group's S steps fit RVV_FP_XS floats:
 * the group's weights converted to floats once (wc), then for each pair of activation rows one
 * load of a converted step and the activations repeated G times by an indexed load (idx: byte
 * offset (j / G) * 4) into each row's vfmacc. The same lanes, values and order as rvv_fp_tile
 * on the splat: bitwise the same sums. */
RVV_INLINE void rvv_fp16_gemm_rows(int n, int ng, int nb, float *y, size_t ldy, const void *w, const void *x,
                                   size_t ldx, size_t G) {
    const size_t V = 8 * G, gbytes = (size_t)n * G * 2;
    const int nfull = n / 8, t = n % 8;
    const size_t tvl = (size_t)t * G;
    float wc[RVV_FP_XS];
    for (int g = 0; g < ng; g++) {
        const char *wg = (const char *)w + (size_t)g * gbytes;
        const vuint32m4_t idx = rvv_fp_idx(G, V);
        for (int k = 0; k < nfull; k++)
            __riscv_vse32_v_f32m4(wc + (size_t)k * V, rvv_fp_ldw(1, wg + (size_t)k * V * 2, V), V);
        if (tvl) __riscv_vse32_v_f32m4(wc + (size_t)nfull * V, rvv_fp_ldw(1, wg + (size_t)nfull * V * 2, tvl), tvl);
        for (int b = 0; b < nb; b += 2) {
            const float *x0 = (const float *)(const void *)((const char *)x + (size_t)b * ldx);
            const float *x1 = b + 1 < nb ? (const float *)(const void *)((const char *)x + (size_t)(b + 1) * ldx) : x0;
            vfloat32m4_t a0 = __riscv_vfmv_v_f_f32m4(0.0f, V), a1 = a0;
            const float *c = wc;
            int k = 0;
            for (; k < nfull; k++, c += V, x0 += 8, x1 += 8) {
                const vfloat32m4_t cw = __riscv_vle32_v_f32m4(c, V);
                a0 = __riscv_vfmacc_vv_f32m4(a0, cw, __riscv_vluxei32_v_f32m4(x0, idx, V), V);
                a1 = __riscv_vfmacc_vv_f32m4(a1, cw, __riscv_vluxei32_v_f32m4(x1, idx, V), V);
            }
            if (tvl) {
                const vfloat32m4_t cw = __riscv_vle32_v_f32m4(c, tvl);
                RVV_FP_TAIL_MASK(tvl, V);
                a0 = RVV_FMACC_TAIL(a0, cw, __riscv_vluxei32_v_f32m4(x0, idx, tvl), tvl, V);
                a1 = RVV_FMACC_TAIL(a1, cw, __riscv_vluxei32_v_f32m4(x1, idx, tvl), tvl, V);
            }
            float *yg = y + (size_t)b * ldy + (size_t)g * G;
            rvv_fp_fold(a0, yg, G);
            if (b + 1 < nb) rvv_fp_fold(a1, yg + ldy, G);
        }
    }
}

/* the layout's GEMM: nr / G consecutive groups against nb activation rows (float) */
RVV_INLINE void rvv_fp_gemm(const int et, int n, int nr, int nb, float *y, size_t ldy, const void *w,
                            const void *x, size_t ldx) {
    const size_t G = rvv_fgroup_rows(), V = 8 * G, gbytes = (size_t)n * G * (et == 0 ? 4 : 2);
    const int ng = nr / (int)G, nfull = n / 8, t = n % 8, S = nfull + (t != 0);
    if (et == 1 && nb >= 2 && (size_t)S * V <= RVV_FP_XS) {
        rvv_fp16_gemm_rows(n, ng, nb, y, ldy, w, x, ldx, G);
        return;
    }
    const int cs = RVV_FP_XS / RVV_FP_NB / (int)V, one = S <= cs;   /* steps per chunk; one chunk */
    const size_t xst = (size_t)cs * V;
    float xs[RVV_FP_XS], part[RVV_FP_GB * RVV_FP_NB * 128];
    for (int b0 = 0; b0 < nb; b0 += RVV_FP_NB) {
        const int bt = nb - b0 < RVV_FP_NB ? nb - b0 : RVV_FP_NB;
        for (int g0 = 0; g0 < ng; g0 += RVV_FP_GB) {
            const int gn = ng - g0 < RVV_FP_GB ? ng - g0 : RVV_FP_GB;
            for (int s0 = 0; s0 < S; s0 += cs) {
                const int s1 = S - s0 < cs ? S : s0 + cs, nf = (s1 < nfull ? s1 : nfull) - s0;
                const size_t tvl = s1 == S ? (size_t)t * G : 0;
                if (!one || g0 == 0)
                    for (int b = 0; b < bt; b++) {   /* the splat of elements 8*s0 .. of activation row b0 + b */
                        const float *xe = (const float *)(const void *)((const char *)x + (size_t)(b0 + b) * ldx) + 8 * s0;
                        const int m = (s1 * 8 < n ? s1 * 8 : n) - 8 * s0;
                        float *o = xs + b * xst;
                        const vuint32m4_t idx = rvv_fp_idx(G, V);
                        int j = 0;
                        for (; j + 8 <= m; j += 8, xe += 8, o += V) __riscv_vse32_v_f32m4(o, __riscv_vluxei32_v_f32m4(xe, idx, V), V);
                        if (j < m) {
                            const size_t vl = (size_t)(m - j) * G;
                            __riscv_vse32_v_f32m4(o, __riscv_vluxei32_v_f32m4(xe, idx, vl), vl);
                        }
                    }
                for (int g = g0; g < g0 + gn; g++) {
                    const char *wg = (const char *)w + (size_t)g * gbytes + (size_t)s0 * V * (et == 0 ? 4 : 2);
                    float *pt = part + (size_t)(g - g0) * RVV_FP_NB * V, *yg = y + (size_t)b0 * ldy + (size_t)g * G;
                    const int first = s0 == 0, last = s1 == S;
                    if (bt == 1) rvv_fp_tile(et, 1, wg, xs, xst, nf, tvl, first, last, pt, yg, ldy, G);
                    else if (RVV_FP_NB == 2 || bt == 2) rvv_fp_tile(et, 2, wg, xs, xst, nf, tvl, first, last, pt, yg, ldy, G);
                    else if (bt == 3) rvv_fp_tile(et, 3, wg, xs, xst, nf, tvl, first, last, pt, yg, ldy, G);
                    else rvv_fp_tile(et, 4, wg, xs, xst, nf, tvl, first, last, pt, yg, ldy, G);
                }
            }
        }
    }
}

/* element j of row r of the group is at [(j / 8) * 8G + (j % 8) * G + r] */
#define RVV_FP_LAYOUT(SFX, ET, T)                                                                  \
    static inline void rvv_pack_##SFX(int n, void *group, const void *src, size_t ld) {            \
        const size_t G = rvv_fgroup_rows();                                                        \
        T *o = (T *)group;                                                                         \
        for (size_t r = 0; r < G; r++) {                                                           \
            const T *s = (const T *)(const void *)((const char *)src + r * ld);                    \
            for (int j = 0; j < n; j++) o[(size_t)(j / 8) * 8 * G + (size_t)(j % 8) * G + r] = s[j]; \
        }                                                                                          \
    }                                                                                              \
    static inline void rvv_unpack_row_##SFX(int n, void *dst, const void *group, int r) {          \
        const size_t G = rvv_fgroup_rows();                                                        \
        const T *g = (const T *)group;                                                             \
        T *d = (T *)dst;                                                                           \
        for (int j = 0; j < n; j++) d[j] = g[(size_t)(j / 8) * 8 * G + (size_t)(j % 8) * G + (size_t)r]; \
    }                                                                                              \
    static inline void rvv_gemm_##SFX##_packed(int n, int nr, int nb, float *y, size_t ldy, const void *w, \
                                               size_t ldw, const void *x, size_t ldx) {            \
        rvv_fp_gemm(ET, n, nr, nb, y, ldy, w, x, ldx);                                             \
    }
RVV_FP_LAYOUT(f32, 0, float)
RVV_FP_LAYOUT(f16, 1, uint16_t)
RVV_FP_LAYOUT(bf16, 2, uint16_t)

/* the packed layouts of this CPU's vector length (above), set when the table is resolved */
static inline void rvv_choose_layouts(kernel_port *k) {
    const int GF = (int)rvv_fgroup_rows();
    if (GF <= 16) {   /* VLEN <= 1024: the part buffer of rvv_fp_gemm holds no more */
        k->packed[T_F32] = (weight_layout){GF, rvv_pack_f32, rvv_unpack_row_f32, rvv_gemm_f32_packed};
        k->packed[T_F16] = (weight_layout){GF, rvv_pack_f16, rvv_unpack_row_f16, rvv_gemm_f16_packed};
        k->packed[T_BF16] = (weight_layout){GF, rvv_pack_bf16, rvv_unpack_row_bf16, rvv_gemm_bf16_packed};
    }
    const int G = (int)rvv_group_rows();
    if (G > 128) return;   /* VLEN > 1024: the splat's byte indices (< 2G) and buffer hold no more */
    k->packed[T_Q8_0] = (weight_layout){G, rvv_pack_q8_0, rvv_unpack_row_q8_0, rvv_gemm_q8_0_packed};
    k->packed[T_Q4_0] = (weight_layout){G, rvv_pack_q4_0, rvv_unpack_row_q4_0, rvv_gemm_q4_0_packed};
    k->packed[T_Q4_K] = (weight_layout){G, rvv_pack_q4_K, rvv_unpack_row_q4_K, rvv_gemm_q4_K_packed};
    k->packed[T_Q5_K] = (weight_layout){G, rvv_pack_q5_K, rvv_unpack_row_q5_K, rvv_gemm_q5_K_packed};
    k->packed[T_Q6_K] = (weight_layout){G, rvv_pack_q6_K, rvv_unpack_row_q6_K, rvv_gemm_q6_K_packed};
}

/* Q8_0 quantization, equal to the reference: max|x| is exact in any order, x * (127/max|x|)
 * is the same multiply, the float->int conversion rounds half to even (RNE) like rintf, and
 * codes whose rounded value is not within +-127 (NaN, inf) become 0. */
static inline void rvv_quantize_row_q8_0(int n, block_q8_0 *y, const float *x) {
    const vfloat32m1_t zero = __riscv_vfmv_v_f_f32m1(0.0f, RVV_ONE);
    for (int b = 0; b < n / QK; b++, x += QK) {
        vfloat32m8_t v = __riscv_vle32_v_f32m8(x, QK);
        vfloat32m1_t mx = __riscv_vfredmax_vs_f32m8_f32m1(__riscv_vfabs_v_f32m8(v, QK), zero, QK);
        const float amax = __riscv_vfmv_f_s_f32m1_f32(mx), id = amax != 0.0f ? 127.0f / amax : 0.0f;
        y[b].d = fp32_to_fp16(amax / 127.0f);
        vfloat32m8_t s = __riscv_vfmul_vf_f32m8(v, id, QK);
        vint32m8_t q = __riscv_vfcvt_x_f_v_i32m8_rm(s, __RISCV_FRM_RNE, QK);
        /* like the reference: code 0 unless |round(s)| <= 127 (NaN, inf, overflowed x*id) */
        vbool4_t ok = __riscv_vmflt_vf_f32m8_b4(__riscv_vfabs_v_f32m8(s, QK), 127.5f, QK);
        q = __riscv_vmerge_vvm_i32m8(__riscv_vmv_v_x_i32m8(0, QK), q, ok, QK);
        __riscv_vse8_v_i8m2(y[b].qs, __riscv_vncvt_x_x_w_i8m2(__riscv_vncvt_x_x_w_i16m4(q, QK), QK), QK);
    }
}

/* ---- float dots and GEMM tiles --------------------------------------------------------------
 * Exactly the reference's arithmetic: 8 partial sums (lane l of an 8-element vector takes
 * elements l, l+8, ...; fused multiply-adds like the reference's fmaf), the last n % 8
 * elements into lanes 0.. (the other lanes keep their sums), then the same pairwise
 * combination. The result does not depend on VLEN and equals the reference bitwise.
 * Eight lanes is one e32m2 vector at VLEN 128; each lane is one dependency chain, so a single
 * dot runs at one vfmacc per FMA latency; GEMM tiles (2 weight rows x 4 activation rows)
 * run 8 independent chains and convert each weight vector once for 4 activation rows.
 * The last n % 8 elements: RVV 1.0 takes them with vl = n % 8 and a tail-undisturbed
 * multiply-add. XTheadVector has no tail policy (0.7.1 zeroes the lanes past vl): there the
 * step runs over all 8 lanes under a mask of lanes < n % 8 (tail), whose masked-off lanes 0.7.1
 * leaves undisturbed and whose masked loads read nothing there. XTheadVector also loads
 * halves zero-extended into 32-bit lanes in one instruction (th.vlhu.v: no e16 vtype). */
#if RVV_THEAD
#define RVV_LD_H32(p, vl) __riscv_th_vlhu_v_u32m2((const uint32_t *)(const void *)(p), (vl))
#define RVV_LD_H32_M(p, vl) __riscv_th_vlhu_v_u32m2_m(tail, (const uint32_t *)(const void *)(p), (vl))
#define RVV_W_F32(p, vl) __riscv_vle32_v_f32m2((p), (vl))
#define RVV_W_F16(p, vl) rvv_f16w_to_f32_m2(RVV_LD_H32(p, vl), (vl))
#define RVV_W_BF16(p, vl) __riscv_vreinterpret_v_u32m2_f32m2(__riscv_vsll_vx_u32m2(RVV_LD_H32(p, vl), RVV_N(16), (vl)))
#define RVV_W_F32_M(p, vl) __riscv_vle32_v_f32m2_m(tail, (p), (vl))
#define RVV_W_F16_M(p, vl) rvv_f16w_to_f32_m2(RVV_LD_H32_M(p, vl), (vl))
#define RVV_W_BF16_M(p, vl) __riscv_vreinterpret_v_u32m2_f32m2(__riscv_vsll_vx_u32m2(RVV_LD_H32_M(p, vl), RVV_N(16), (vl)))
#define RVV_X_F32_M(p, vl) __riscv_vle32_v_f32m2_m(tail, (p), (vl))
#define RVV_FMACC_M(acc, a, b, vl) __riscv_vfmacc_vv_f32m2_mu(tail, (acc), (a), (b), (vl))
#define RVV_FTAIL(LOADW)                                                                           \
    if (i < n) {                                                                                   \
        const vbool16_t tail = __riscv_vmsltu_vx_u32m2_b16(__riscv_vid_v_u32m2(8), (unsigned)(n - i), 8); \
        RVV_FSTEP(LOADW##_M, RVV_X_F32_M, i, 8, RVV_FMACC_M);                                      \
    }
#else
#define RVV_W_F32(p, vl) __riscv_vle32_v_f32m2((p), (vl))
#define RVV_W_F16(p, vl) rvv_f16_to_f32_m2(__riscv_vle16_v_u16m1((p), (vl)), (vl))
#define RVV_W_BF16(p, vl)                                                                          \
    __riscv_vreinterpret_v_u32m2_f32m2(                                                            \
        __riscv_vsll_vx_u32m2(__riscv_vwcvtu_x_x_v_u32m2(__riscv_vle16_v_u16m1((p), (vl)), (vl)), 16, (vl)))
#define RVV_FTAIL(LOADW)                                                                           \
    if (i < n) RVV_FSTEP(LOADW, __riscv_vle32_v_f32m2, i, (size_t)(n - i), __riscv_vfmacc_vv_f32m2_tu);
#endif

RVV_INLINE float rvv_sum8(vfloat32m2_t a) {   /* ((a0+a4)+(a2+a6)) + ((a1+a5)+(a3+a7)) */
    vfloat32m2_t h = __riscv_vfadd_vv_f32m2(a, __riscv_vslidedown_vx_f32m2(a, 4, 4), 4);
    h = __riscv_vfadd_vv_f32m2(h, __riscv_vslidedown_vx_f32m2(h, 2, 2), 2);
    h = __riscv_vfadd_vv_f32m2(h, __riscv_vslidedown_vx_f32m2(h, 1, RVV_ONE), RVV_ONE);
    return __riscv_vfmv_f_s_f32m2_f32(h);
}

/* one step of 8 (or, last, fewer) elements: every activation row loaded once (LOADX), each
 * weight row loaded (and widened) once (LOADW) and multiplied into its B accumulators */
#define RVV_FSTEP(LOADW, LOADX, i, vl, FMACC)                                                      \
    do {                                                                                           \
        vfloat32m2_t v0 = LOADX(x0 + (i), vl), v1 = v0, v2 = v0, v3 = v0;                          \
        if (B > 1) v1 = LOADX(x1 + (i), vl);                                                       \
        if (B > 2) v2 = LOADX(x2 + (i), vl);                                                       \
        if (B > 3) v3 = LOADX(x3 + (i), vl);                                                       \
        vfloat32m2_t c = LOADW(w0 + (i), vl);                                                      \
        a00 = FMACC(a00, c, v0, vl);                                                               \
        if (B > 1) a01 = FMACC(a01, c, v1, vl);                                                    \
        if (B > 2) a02 = FMACC(a02, c, v2, vl);                                                    \
        if (B > 3) a03 = FMACC(a03, c, v3, vl);                                                    \
        if (R > 1) {                                                                               \
            c = LOADW(w1 + (i), vl);                                                               \
            a10 = FMACC(a10, c, v0, vl);                                                           \
            if (B > 1) a11 = FMACC(a11, c, v1, vl);                                                \
            if (B > 2) a12 = FMACC(a12, c, v2, vl);                                                \
            if (B > 3) a13 = FMACC(a13, c, v3, vl);                                                \
        }                                                                                          \
    } while (0)

#define RVV_FLOAT_TILE(NAME, WT, LOADW, UNROLL)                                                    \
    RVV_INLINE void NAME(const int R, const int B, int n, float *y, size_t ldy, const char *w,     \
                         size_t ldw, const char *x, size_t ldx) {                                  \
        const WT *w0 = (const WT *)(const void *)w, *w1 = (const WT *)(const void *)(w + (R > 1 ? ldw : 0)); \
        const float *x0 = (const float *)(const void *)x;                                          \
        const float *x1 = (const float *)(const void *)(x + (B > 1 ? ldx : 0));                    \
        const float *x2 = (const float *)(const void *)(x + (B > 2 ? 2 * ldx : 0));                \
        const float *x3 = (const float *)(const void *)(x + (B > 3 ? 3 * ldx : 0));                \
        vfloat32m2_t a00 = __riscv_vfmv_v_f_f32m2(0.0f, 8), a01 = a00, a02 = a00, a03 = a00;       \
        vfloat32m2_t a10 = a00, a11 = a00, a12 = a00, a13 = a00;                                   \
        int i = 0;                                                                                 \
        for (; (UNROLL) && i + 32 <= n; i += 32) { /* unrolled: same operations, less overhead */   \
            RVV_FSTEP(LOADW, __riscv_vle32_v_f32m2, i, 8, __riscv_vfmacc_vv_f32m2);                \
            RVV_FSTEP(LOADW, __riscv_vle32_v_f32m2, i + 8, 8, __riscv_vfmacc_vv_f32m2);            \
            RVV_FSTEP(LOADW, __riscv_vle32_v_f32m2, i + 16, 8, __riscv_vfmacc_vv_f32m2);           \
            RVV_FSTEP(LOADW, __riscv_vle32_v_f32m2, i + 24, 8, __riscv_vfmacc_vv_f32m2);           \
        }                                                                                          \
        for (; i + 8 <= n; i += 8) RVV_FSTEP(LOADW, __riscv_vle32_v_f32m2, i, 8, __riscv_vfmacc_vv_f32m2); \
        /* the last n % 8 elements go to lanes 0.., the other lanes keep their sums */             \
        RVV_FTAIL(LOADW)                                                                           \
        y[0] = rvv_sum8(a00);                                                                      \
        if (B > 1) y[ldy] = rvv_sum8(a01);                                                         \
        if (B > 2) y[2 * ldy] = rvv_sum8(a02);                                                     \
        if (B > 3) y[3 * ldy] = rvv_sum8(a03);                                                     \
        if (R > 1) {                                                                               \
            y[1] = rvv_sum8(a10);                                                                  \
            if (B > 1) y[ldy + 1] = rvv_sum8(a11);                                                 \
            if (B > 2) y[2 * ldy + 1] = rvv_sum8(a12);                                             \
            if (B > 3) y[3 * ldy + 1] = rvv_sum8(a13);                                             \
        }                                                                                          \
    }
/* XTheadVector: f32 and bf16 tiles of 2 x 4 rows are not unrolled, f16 tiles (more registers
 * for the conversion) have 1 x 4 rows: otherwise GCC 14 copies register groups with th.vmv2r.v,
 * which XTheadVector does not have, or spills (see the top of the vector bodies) */
RVV_FLOAT_TILE(rvv_tile_f32, float, RVV_W_F32, !RVV_THEAD)
RVV_FLOAT_TILE(rvv_tile_f16, uint16_t, RVV_W_F16, 1)
RVV_FLOAT_TILE(rvv_tile_bf16, uint16_t, RVV_W_BF16, !RVV_THEAD)

#define RVV_FLOAT_KERNELS(SFX, R4, GEMM)                                                           \
    static inline float rvv_dot_##SFX##_f32(int n, const void *w, const void *x) {                 \
        float y;                                                                                   \
        rvv_tile_##SFX(1, 1, n, &y, 1, (const char *)w, 0, (const char *)x, 0);                    \
        return y;                                                                                  \
    }                                                                                              \
    GEMM_TILES(GEMM, rvv_tile_##SFX, R4, 2, 2)
RVV_FLOAT_KERNELS(f32, 2, rvv_gemm_f32_tiles)
RVV_FLOAT_KERNELS(f16, RVV_THEAD ? 1 : 2, rvv_gemm_f16_f32)
RVV_FLOAT_KERNELS(bf16, 2, rvv_gemm_bf16_f32)

#if !RVV_THEAD
/* F32 rows across lanes, for many short rows (attention's scores: the keys are the weight rows,
 * n = the head size): lane r is row r, and partial sum j (element i + j, i = 0, 8, 16 ...) of the
 * rows is register j, filled by one strided segment load of 8 elements per row. Each partial
 * sum takes the same fused multiply-adds in the same order as in the tile, and the 8 are folded
 * as rvv_sum8 does, lane by lane: bitwise the dot. VLMAX(e32m1) rows per step, two activation
 * rows (the query heads that share a key head) per pass over the rows. */
#define RVV_LANES_ACC(A) vfloat32m1_t A##0 = z, A##1 = z, A##2 = z, A##3 = z, A##4 = z, A##5 = z, A##6 = z, A##7 = z
#define RVV_LANES_FMA(A, q)                                                                        \
    A##0 = __riscv_vfmacc_vf_f32m1(A##0, (q)[i], __riscv_vget_v_f32m1x8_f32m1(s, 0), vl);           \
    A##1 = __riscv_vfmacc_vf_f32m1(A##1, (q)[i + 1], __riscv_vget_v_f32m1x8_f32m1(s, 1), vl);       \
    A##2 = __riscv_vfmacc_vf_f32m1(A##2, (q)[i + 2], __riscv_vget_v_f32m1x8_f32m1(s, 2), vl);       \
    A##3 = __riscv_vfmacc_vf_f32m1(A##3, (q)[i + 3], __riscv_vget_v_f32m1x8_f32m1(s, 3), vl);       \
    A##4 = __riscv_vfmacc_vf_f32m1(A##4, (q)[i + 4], __riscv_vget_v_f32m1x8_f32m1(s, 4), vl);       \
    A##5 = __riscv_vfmacc_vf_f32m1(A##5, (q)[i + 5], __riscv_vget_v_f32m1x8_f32m1(s, 5), vl);       \
    A##6 = __riscv_vfmacc_vf_f32m1(A##6, (q)[i + 6], __riscv_vget_v_f32m1x8_f32m1(s, 6), vl);       \
    A##7 = __riscv_vfmacc_vf_f32m1(A##7, (q)[i + 7], __riscv_vget_v_f32m1x8_f32m1(s, 7), vl)
#define RVV_LANES_FOLD(A)                                                                          \
    __riscv_vfadd_vv_f32m1(__riscv_vfadd_vv_f32m1(__riscv_vfadd_vv_f32m1(A##0, A##4, vl),             \
                                                  __riscv_vfadd_vv_f32m1(A##2, A##6, vl), vl),        \
                           __riscv_vfadd_vv_f32m1(__riscv_vfadd_vv_f32m1(A##1, A##5, vl),             \
                                                  __riscv_vfadd_vv_f32m1(A##3, A##7, vl), vl), vl)
RVV_INLINE void rvv_gemm_f32_lanes(int n, int nr, int nb, float *y, size_t ldy, const char *w, size_t ldw,
                                   const char *x, size_t ldx) {
    for (int r = 0; r < nr;) {
        const size_t vl = __riscv_vsetvl_e32m1((size_t)(nr - r));
        const vfloat32m1_t z = __riscv_vfmv_v_f_f32m1(0.0f, vl);
        for (int b = 0; b < nb; b += 2) {
            const float *q0 = (const float *)(const void *)(x + (size_t)b * ldx);
            const float *q1 = b + 1 < nb ? (const float *)(const void *)(x + (size_t)(b + 1) * ldx) : q0;
            const float *p = (const float *)(const void *)(w + (size_t)r * ldw);
            RVV_LANES_ACC(a);
            RVV_LANES_ACC(c);
            for (int i = 0; i < n; i += 8, p += 8) {
                const vfloat32m1x8_t s = __riscv_vlsseg8e32_v_f32m1x8(p, (ptrdiff_t)ldw, vl);
                RVV_LANES_FMA(a, q0);
                RVV_LANES_FMA(c, q1);
            }
            __riscv_vse32_v_f32m1(y + (size_t)b * ldy + r, RVV_LANES_FOLD(a), vl);
            if (b + 1 < nb) __riscv_vse32_v_f32m1(y + (size_t)(b + 1) * ldy + r, RVV_LANES_FOLD(c), vl);
        }
        r += (int)vl;
    }
}
#undef RVV_LANES_ACC
#undef RVV_LANES_FMA
#undef RVV_LANES_FOLD
#endif

/* rows across lanes when there are enough rows of whole steps of 8 (RVV 1.0), else the tiles */
static inline void rvv_gemm_f32_f32(int n, int nr, int nb, float *y, size_t ldy, const void *w, size_t ldw,
                                    const void *x, size_t ldx) {
#if !RVV_THEAD
    if (n % 8 == 0 && nr >= 4) {
        rvv_gemm_f32_lanes(n, nr, nb, y, ldy, (const char *)w, ldw, (const char *)x, ldx);
        return;
    }
#endif
    rvv_gemm_f32_tiles(n, nr, nb, y, ldy, w, ldw, x, ldx);
}

/* ---- row-wise float work ------------------------------------------------------------------
 * Bitwise the reference. sum32: partial sum j lives in lane j of an e32m8 group (32 lanes at
 * VLEN 128; at larger VLEN the group has more lanes and the first 32 are used); the last
 * n % 32 elements go to lanes 0.. with the others undisturbed (RVV 1.0: _tu; XTheadVector: a
 * mask, as in the float dots), then rvv_fold32 halves the 32 lanes five times, as sum32_fold. */
/* XTheadVector: the row-wise bodies stay out of line. Inlined into llm.c's forward pass, GCC
 * 14 keeps their constants (exp's coefficients as LMUL-4 vectors) in registers across the
 * whole pass and spills (see the top of the vector bodies); RVV 1.0 builds inline them. */
#if RVV_THEAD
#define RVV_ROWWISE static __attribute__((noinline, unused))
#else
#define RVV_ROWWISE static inline
#endif
RVV_INLINE vfloat32m8_t rvv_sum32_step(const int sq, vfloat32m8_t acc, const float *x, size_t vl, size_t v32) {
    /* acc + x * x (sq) or acc + x in lanes 0..vl-1 (vl <= v32 = 32), the other lanes kept */
#if RVV_THEAD
    if (vl < v32) {
        const vbool4_t tail = __riscv_vmsltu_vx_u32m8_b4(__riscv_vid_v_u32m8(v32), (unsigned)vl, v32);
        const vfloat32m8_t v = __riscv_vle32_v_f32m8_m(tail, x, v32);
        return sq ? __riscv_vfmacc_vv_f32m8_mu(tail, acc, v, v, v32) : __riscv_vfadd_vv_f32m8_mu(tail, acc, acc, v, v32);
    }
    const vfloat32m8_t v = __riscv_vle32_v_f32m8(x, vl);
    return sq ? __riscv_vfmacc_vv_f32m8(acc, v, v, vl) : __riscv_vfadd_vv_f32m8(acc, v, vl);
#else
    const vfloat32m8_t v = __riscv_vle32_v_f32m8(x, vl);
    return sq ? __riscv_vfmacc_vv_f32m8_tu(acc, v, v, vl) : __riscv_vfadd_vv_f32m8_tu(acc, acc, v, vl);
#endif
}
RVV_INLINE float rvv_fold32(vfloat32m8_t p) {
    for (size_t h = SUM32 / 2; h >= 1; h /= 2) p = __riscv_vfadd_vv_f32m8(p, __riscv_vslidedown_vx_f32m8(p, h, RVV_N(h)), RVV_N(h));
    return __riscv_vfmv_f_s_f32m8_f32(p);
}
/* e^x for a vector: exp_ref's steps, one for one (so the same bits) */
RVV_INLINE vfloat32m4_t rvv_exp_m4(vfloat32m4_t x, size_t vl) {
    vbool8_t nan = __riscv_vmfne_vv_f32m4_b8(x, x, vl);
    vfloat32m4_t c = __riscv_vfmin_vf_f32m4(__riscv_vfmax_vf_f32m4(x, -104.0f, vl), 89.0f, vl);
    vint32m4_t k = __riscv_vfcvt_x_f_v_i32m4_rm(__riscv_vfmul_vf_f32m4(c, 1.44269504f, vl), __RISCV_FRM_RNE, vl);
    vfloat32m4_t kf = __riscv_vfcvt_f_x_v_f32m4(k, vl);
    vfloat32m4_t r = __riscv_vfnmsac_vf_f32m4(c, 0.693359375f, kf, vl);        /* c - k*ln2_hi (exact) */
    r = __riscv_vfnmsac_vf_f32m4(r, -2.12194440e-4f, kf, vl);                   /*   - k*ln2_lo */
    vfloat32m4_t p = __riscv_vfmv_v_f_f32m4(1.0f / 5040.0f, vl);
    p = __riscv_vfmadd_vv_f32m4(p, r, __riscv_vfmv_v_f_f32m4(1.0f / 720.0f, vl), vl);
    p = __riscv_vfmadd_vv_f32m4(p, r, __riscv_vfmv_v_f_f32m4(1.0f / 120.0f, vl), vl);
    p = __riscv_vfmadd_vv_f32m4(p, r, __riscv_vfmv_v_f_f32m4(1.0f / 24.0f, vl), vl);
    p = __riscv_vfmadd_vv_f32m4(p, r, __riscv_vfmv_v_f_f32m4(1.0f / 6.0f, vl), vl);
    p = __riscv_vfmadd_vv_f32m4(p, r, __riscv_vfmv_v_f_f32m4(0.5f, vl), vl);
    p = __riscv_vfmadd_vv_f32m4(p, r, __riscv_vfmv_v_f_f32m4(1.0f, vl), vl);
    p = __riscv_vfmadd_vv_f32m4(p, r, __riscv_vfmv_v_f_f32m4(1.0f, vl), vl);
    vint32m4_t k1 = __riscv_vsra_vx_i32m4(k, RVV_N(1), vl), k2 = __riscv_vsub_vv_i32m4(k, k1, vl);   /* k = k1 + k2 */
    vfloat32m4_t s1 = __riscv_vreinterpret_v_i32m4_f32m4(__riscv_vsll_vx_i32m4(__riscv_vadd_vx_i32m4(k1, 127, vl), RVV_N(23), vl));
    vfloat32m4_t s2 = __riscv_vreinterpret_v_i32m4_f32m4(__riscv_vsll_vx_i32m4(__riscv_vadd_vx_i32m4(k2, 127, vl), RVV_N(23), vl));
    vfloat32m4_t e = __riscv_vfmul_vv_f32m4(__riscv_vfmul_vv_f32m4(p, s1, vl), s2, vl);
    return __riscv_vmerge_vvm_f32m4(e, x, nan, vl);
}

RVV_ROWWISE void rvv_rmsnorm(int n, float *o, const float *x, const float *w, float eps) {
    const size_t v32 = __riscv_vsetvl_e32m8(SUM32);
    vfloat32m8_t acc = __riscv_vfmv_v_f_f32m8(0.0f, v32);
    for (int i = 0; i < n; i += SUM32) acc = rvv_sum32_step(1, acc, x + i, rvv_min((size_t)(n - i), v32), v32);
    const float scale = 1.0f / sqrtf(rvv_fold32(acc) / n + eps);
    for (int i = 0; i < n;) {
        size_t vl = __riscv_vsetvl_e32m4((size_t)(n - i));
        vfloat32m4_t v = __riscv_vfmul_vf_f32m4(__riscv_vle32_v_f32m4(x + i, vl), scale, vl);
        __riscv_vse32_v_f32m4(o + i, __riscv_vfmul_vv_f32m4(__riscv_vle32_v_f32m4(w + i, vl), v, vl), vl);
        i += (int)vl;
    }
}

RVV_ROWWISE void rvv_softmax(int n, float *x) {
    const size_t vlmax = __riscv_vsetvlmax_e32m4(), v32 = __riscv_vsetvl_e32m8(SUM32);
    vfloat32m1_t mv = __riscv_vfmv_v_f_f32m1(x[0], RVV_ONE);
    for (int i = 0; i < n;) {   /* the maximum is exact in any order */
        size_t vl = rvv_min((size_t)(n - i), vlmax);
        mv = __riscv_vfredmax_vs_f32m4_f32m1(__riscv_vle32_v_f32m4(x + i, vl), mv, vl);
        i += (int)vl;
    }
    const float max = __riscv_vfmv_f_s_f32m1_f32(mv);
    for (int i = 0; i < n;) {
        size_t vl = rvv_min((size_t)(n - i), vlmax);
        __riscv_vse32_v_f32m4(x + i, rvv_exp_m4(__riscv_vfsub_vf_f32m4(__riscv_vle32_v_f32m4(x + i, vl), max, vl), vl), vl);
        i += (int)vl;
    }
    vfloat32m8_t acc = __riscv_vfmv_v_f_f32m8(0.0f, v32);
    for (int i = 0; i < n; i += SUM32) acc = rvv_sum32_step(0, acc, x + i, rvv_min((size_t)(n - i), v32), v32);
    const float inv = 1.0f / rvv_fold32(acc);
    for (int i = 0; i < n;) {
        size_t vl = __riscv_vsetvl_e32m4((size_t)(n - i));
        __riscv_vse32_v_f32m4(x + i, __riscv_vfmul_vf_f32m4(__riscv_vle32_v_f32m4(x + i, vl), inv, vl), vl);
        i += (int)vl;
    }
}

RVV_ROWWISE void rvv_swiglu(int n, float *g, const float *u) {
    for (int i = 0; i < n;) {
        size_t vl = __riscv_vsetvl_e32m4((size_t)(n - i));
        vfloat32m4_t v = __riscv_vle32_v_f32m4(g + i, vl);
        vfloat32m4_t den = __riscv_vfadd_vf_f32m4(rvv_exp_m4(__riscv_vfneg_v_f32m4(v, vl), vl), 1.0f, vl);
        v = __riscv_vfmul_vv_f32m4(__riscv_vfdiv_vv_f32m4(v, den, vl), __riscv_vle32_v_f32m4(u + i, vl), vl);
        __riscv_vse32_v_f32m4(g + i, v, vl);
        i += (int)vl;
    }
}

RVV_ROWWISE void rvv_rope_adjacent(int n_rot, float *v, const float *cs) {
    const int np = n_rot / 2;
#if RVV_THEAD   /* strided loads and stores of the pairs' halves: with segment loads (tuples) GCC 14
                   copies every register group once more */
    for (int i = 0; i < np;) {
        const size_t vl = __riscv_vsetvl_e32m4((size_t)(np - i));
        const vfloat32m4_t a = __riscv_vlse32_v_f32m4(v + 2 * i, 8, vl), b = __riscv_vlse32_v_f32m4(v + 2 * i + 1, 8, vl);
        const vfloat32m4_t c = __riscv_vlse32_v_f32m4(cs + 2 * i, 8, vl), s = __riscv_vlse32_v_f32m4(cs + 2 * i + 1, 8, vl);
        __riscv_vsse32_v_f32m4(v + 2 * i, 8, __riscv_vfmsac_vv_f32m4(__riscv_vfmul_vv_f32m4(b, s, vl), a, c, vl), vl);
        __riscv_vsse32_v_f32m4(v + 2 * i + 1, 8, __riscv_vfmacc_vv_f32m4(__riscv_vfmul_vv_f32m4(b, c, vl), a, s, vl), vl);
        i += (int)vl;
    }
    return;
#endif
    for (int i = 0; i < np;) {
        size_t vl = __riscv_vsetvl_e32m2((size_t)(np - i));
        vfloat32m2x2_t ab = __riscv_vlseg2e32_v_f32m2x2(v + 2 * i, vl);
        vfloat32m2x2_t cs2 = __riscv_vlseg2e32_v_f32m2x2(cs + 2 * i, vl);
        vfloat32m2_t a = __riscv_vget_v_f32m2x2_f32m2(ab, 0), b = __riscv_vget_v_f32m2x2_f32m2(ab, 1);
        vfloat32m2_t c = __riscv_vget_v_f32m2x2_f32m2(cs2, 0), s = __riscv_vget_v_f32m2x2_f32m2(cs2, 1);
        vfloat32m2_t r0 = __riscv_vfmsac_vv_f32m2(__riscv_vfmul_vv_f32m2(b, s, vl), a, c, vl);   /* a*c - b*s */
        vfloat32m2_t r1 = __riscv_vfmacc_vv_f32m2(__riscv_vfmul_vv_f32m2(b, c, vl), a, s, vl);   /* a*s + b*c */
        ab = __riscv_vset_v_f32m2_f32m2x2(ab, 0, r0);
        ab = __riscv_vset_v_f32m2_f32m2x2(ab, 1, r1);
        __riscv_vsseg2e32_v_f32m2x2(v + 2 * i, ab, vl);
        i += (int)vl;
    }
}


RVV_ROWWISE void rvv_axpy(int n, float *y, float a, const float *x) {
    for (int i = 0; i < n;) {
        size_t vl = __riscv_vsetvl_e32m8((size_t)(n - i));
        vfloat32m8_t v = __riscv_vfmacc_vf_f32m8(__riscv_vle32_v_f32m8(y + i, vl), a, __riscv_vle32_v_f32m8(x + i, vl), vl);
        __riscv_vse32_v_f32m8(y + i, v, vl);
        i += (int)vl;
    }
}

RVV_ROWWISE void rvv_scale(int n, float *x, float s) {
    for (int i = 0; i < n;) {
        size_t vl = __riscv_vsetvl_e32m8((size_t)(n - i));
        __riscv_vse32_v_f32m8(x + i, __riscv_vfmul_vf_f32m8(__riscv_vle32_v_f32m8(x + i, vl), s, vl), vl);
        i += (int)vl;
    }
}

/* argmax: the largest value m (vfredmax ignores NaN, like the reference's comparisons), then the
 * first element equal to it; no m above -inf (all NaN or -inf): 0, as the reference */
RVV_ROWWISE int rvv_argmax(int n, const float *x) {
    vfloat32m1_t m = __riscv_vfmv_s_f_f32m1(-INFINITY, RVV_ONE);
    for (int i = 0; i < n;) {
        size_t vl = __riscv_vsetvl_e32m8((size_t)(n - i));
        m = __riscv_vfredmax_vs_f32m8_f32m1(__riscv_vle32_v_f32m8(x + i, vl), m, vl);
        i += (int)vl;
    }
    const float mx = __riscv_vfmv_f_s_f32m1_f32(m);
    if (!(mx > -INFINITY)) return 0;
    for (int i = 0; i < n;) {
        size_t vl = __riscv_vsetvl_e32m8((size_t)(n - i));
        long f = __riscv_vfirst_m_b4(__riscv_vmfeq_vf_f32m8_b4(__riscv_vle32_v_f32m8(x + i, vl), mx, vl), vl);
        if (f >= 0) return i + (int)f;
        i += (int)vl;
    }
    return 0;
}

/* the sums of a chunk of columns stay in registers over all m rows (one load and one vfmacc
 * per row), instead of m axpy passes over y */
RVV_ROWWISE void rvv_wsum(int n, int m, float *y, const float *a, const float *v, size_t ldv) {
    for (int i = 0; i < n;) {
        size_t vl = __riscv_vsetvl_e32m8((size_t)(n - i));
        vfloat32m8_t acc = __riscv_vfmv_v_f_f32m8(0.0f, vl);
        const float *p = v + i;
        for (int j = 0; j < m; j++, p += ldv) acc = __riscv_vfmacc_vf_f32m8(acc, a[j], __riscv_vle32_v_f32m8(p, vl), vl);
        __riscv_vse32_v_f32m8(y + i, acc, vl);
        i += (int)vl;
    }
}

#define RVV_KQCH 64   /* Q4_K: super-blocks whose fp16 d and dmin are converted at once (in vectors,
                         rvv_block_scales): 15 % fewer instructions per token than one at a time
                         (dim 2048); for Q6_K's single d it made no difference */
#define RVV_KQ_KERNELS(T) KQ_ROW_KERNELS(rvv, T, static __attribute__((noinline, unused)), 4)

/* Q8_K quantization, equal to the reference: max|x| is exact in any order; m is the first
 * element whose magnitude equals it (vfirst of a compare); iscale * x is the same multiply and
 * the conversion rounds half to even like rintf; NaN codes become 0; the bsums by 16 strided
 * loads (byte l of each group of 16) added into 16 int16 lanes (|bsum| <= 16 * 127). */
static inline void rvv_quantize_row_q8_K(int n, block_q8_K *y, const float *x) {
    const size_t vl = __riscv_vsetvl_e32m8(32);   /* 32 at every VLEN >= 128 */
    for (int b = 0; b < n / QK_K; b++, x += QK_K) {
        vfloat32m1_t mx = __riscv_vfmv_v_f_f32m1(0.0f, 1);
        for (int i = 0; i < QK_K; i += 32) mx = __riscv_vfredmax_vs_f32m8_f32m1(__riscv_vfabs_v_f32m8(__riscv_vle32_v_f32m8(x + i, vl), vl), mx, vl);
        const float amax = __riscv_vfmv_f_s_f32m1_f32(mx);
        float m = amax;
        RVV_BARRIER();
        for (int i = 0; i < QK_K; i += 32) {
            const long f = __riscv_vfirst_m_b4(__riscv_vmfeq_vf_f32m8_b4(__riscv_vfabs_v_f32m8(__riscv_vle32_v_f32m8(x + i, vl), vl), amax, vl), vl);
            if (f >= 0) { m = x[i + f]; break; }
        }
        /* zeros (and NaNs) only: iscale 0 makes every code 0, as in the reference (no memset
         * call here: GCC for XTheadVector would spill the vector registers around it) */
        const float iscale = amax != 0.0f ? -127.0f / m : 0.0f;
        y[b].d = amax != 0.0f ? 1.0f / iscale : 0.0f;
        RVV_BARRIER();
        for (int i = 0; i < QK_K; i += 32) {
            const vfloat32m8_t s = __riscv_vfmul_vf_f32m8(__riscv_vle32_v_f32m8(x + i, vl), iscale, vl);
            vint32m8_t q = __riscv_vfcvt_x_f_v_i32m8_rm(s, __RISCV_FRM_RNE, vl);
            q = __riscv_vmin_vx_i32m8(__riscv_vmax_vx_i32m8(q, -127, vl), 127, vl);
            q = __riscv_vmerge_vvm_i32m8(__riscv_vmv_v_x_i32m8(0, vl), q, __riscv_vmfeq_vv_f32m8_b4(s, s, vl), vl);
            __riscv_vse8_v_i8m2(y[b].qs + i, __riscv_vncvt_x_x_w_i8m2(__riscv_vncvt_x_x_w_i16m4(q, vl), vl), vl);
        }
        vint16m2_t bs = __riscv_vwcvt_x_x_v_i16m2(__riscv_vlse8_v_i8m1(y[b].qs, 16, 16), 16);
        for (int l = 1; l < 16; l++) bs = __riscv_vwadd_wv_i16m2(bs, __riscv_vlse8_v_i8m1(y[b].qs + l, 16, 16), 16);
        __riscv_vse16_v_i16m2(y[b].bsums, bs, 16);
    }
}

/* the sum of the lanes of an int32 vector, out through a one-element store */
#define RVV_KQ_ISUM(M)                                                                             \
    RVV_INLINE int32_t rvv_kq_isum_##M(vint32##M##_t acc, size_t vl) {                             \
        int32_t r;                                                                                 \
        RVV_ST_I32(&r, __riscv_vredsum_vs_i32##M##_i32m1(acc, __riscv_vmv_v_x_i32m1(0, vl), vl));  \
        return r;                                                                                  \
    }
RVV_KQ_ISUM(m2)
RVV_KQ_ISUM(m4)
RVV_KQ_ISUM(m8)

/* msum = sum_s m[s] * (bsums[2s] + bsums[2s+1]) of a Q8_K row, with mv = the 8 mins, each
 * twice (lanes 2s and 2s+1): one widening multiply by the 16 bsums and a reduction
 * (|m * bsum| <= 63 * 16*128, 16 of them: far below 2^31) */
RVV_INLINE int32_t rvv_kq_msum(vint16m2_t mv, const int16_t *bsums) {
    return rvv_kq_isum_m4(__riscv_vwmul_vv_i32m4(mv, __riscv_vle16_v_i16m2(bsums, 16), 16), 16);
}

/* the codes of chunk c (64 elements): l = low nibbles (elements 64c..64c+31), h = high
 * nibbles (64c+32..64c+63); Q5_K adds 16 * bit 2c (l) or 2c + 1 (h) of qh */
RVV_INLINE void rvv_q45_codes(const int q5, const uint8_t *qs, vuint8m2_t qh, int c, vuint8m2_t *l, vuint8m2_t *h, size_t vl) {
    const vuint8m2_t q = __riscv_vle8_v_u8m2(qs + 32 * c, vl);
    *l = __riscv_vand_vx_u8m2(q, 15, vl);
    *h = __riscv_vsrl_vx_u8m2(q, RVV_N(4), vl);
    if (q5) {
        *l = __riscv_vor_vv_u8m2(*l, __riscv_vsll_vx_u8m2(__riscv_vand_vx_u8m2(__riscv_vsrl_vx_u8m2(qh, RVV_N(2 * c), vl), 1, vl), RVV_N(4), vl), vl);
        *h = __riscv_vor_vv_u8m2(*h, __riscv_vsll_vx_u8m2(__riscv_vand_vx_u8m2(__riscv_vsrl_vx_u8m2(qh, RVV_N(2 * c + 1), vl), 1, vl), RVV_N(4), vl), vl);
    }
}

/* Q4_K and Q5_K (q5: the fifth bit of each code from qh, see the layout table); the two
 * layouts differ only in qh and the offset of qs. Per super-block the fp16 factors, scales
 * and mins are decoded once for the B activation rows; the codes are unpacked per row (a few
 * vector instructions; one accumulator of 8 registers per row leaves no room to keep them),
 * for Q5_K with B > 1 once into a buffer. */
RVV_INLINE void rvv_q45_K_rows(const int q5, const int B, int n, const void *w, const char *x, size_t ldx, float *out, size_t ldo) {
    const size_t bs = q5 ? sizeof(block_q5_K) : sizeof(block_q4_K);
    const size_t vl = __riscv_vsetvl_e8m2(32);   /* 32 at every VLEN >= 128 */
    float sum[4] = {0.0f, 0.0f, 0.0f, 0.0f}, d[RVV_KQCH], dmin[RVV_KQCH];
    for (int k = 0; k < n / QK_K; k++) {
        const block_q4_K *a = (const block_q4_K *)(const void *)((const char *)w + (size_t)k * bs);   /* d, dmin, scales */
        const uint8_t *qs = q5 ? ((const block_q5_K *)(const void *)a)->qs : a->qs;
        if (k % RVV_KQCH == 0) {   /* the fp16 factors of the next super-blocks, converted in vectors */
            const int cnt = n / QK_K - k < RVV_KQCH ? n / QK_K - k : RVV_KQCH;
            rvv_block_scales(d, (const char *)&a->d, bs, cnt);
            rvv_block_scales(dmin, (const char *)&a->dmin, bs, cnt);
        }
        int sc[8];
        int16_t m2[16];   /* the mins, each twice (rvv_kq_msum) */
        for (int s = 0; s < 8; s++) {
            int m;
            kq_scale_min_k4(s, a->scales, &sc[s], &m);
            m2[2 * s] = m2[2 * s + 1] = (int16_t)m;
        }
        const vint16m2_t mv = __riscv_vle16_v_i16m2(m2, 16);
        vuint8m2_t qh = __riscv_vmv_v_x_u8m2(0, vl);
        if (q5) qh = __riscv_vle8_v_u8m2(((const block_q5_K *)(const void *)a)->qh, vl);
        uint8_t cq[QK_K];   /* Q5_K with B > 1: the codes, unpacked once (its fifth bit costs 8
                               vector instructions per chunk) */
        for (int c = 0; q5 && B > 1 && c < QK_K / 64; c++) {
            vuint8m2_t l, h;
            rvv_q45_codes(q5, qs, qh, c, &l, &h, vl);
            __riscv_vse8_v_u8m2(cq + 64 * c, l, vl);
            __riscv_vse8_v_u8m2(cq + 64 * c + 32, h, vl);
        }
        for (int r = 0; r < B; r++) {
            RVV_BARRIER();
            const block_q8_K *b = KQ_ROW(r, k);
            const int32_t msum = rvv_kq_msum(mv, b->bsums);
            vint32m8_t acc;   /* the first product initializes it (a zero vector would be a
                                 loop-invariant constant that GCC keeps on the stack) */
            for (int c = 0; c < QK_K / 64; c++) {
                const int sc0 = sc[2 * c], sc1 = sc[2 * c + 1];
                vuint8m2_t l, h;
                if (q5 && B > 1) {
                    l = __riscv_vle8_v_u8m2(cq + 64 * c, vl);
                    h = __riscv_vle8_v_u8m2(cq + 64 * c + 32, vl);
                } else {
                    rvv_q45_codes(q5, qs, qh, c, &l, &h, vl);
                }
                const vint16m4_t p0 = __riscv_vwmul_vv_i16m4(__riscv_vreinterpret_v_u8m2_i8m2(l), __riscv_vle8_v_i8m2(b->qs + 64 * c, vl), vl);
                const vint16m4_t p1 = __riscv_vwmul_vv_i16m4(__riscv_vreinterpret_v_u8m2_i8m2(h), __riscv_vle8_v_i8m2(b->qs + 64 * c + 32, vl), vl);
                acc = c == 0 ? __riscv_vwmul_vx_i32m8(p0, (int16_t)sc0, vl) : __riscv_vwmacc_vx_i32m8(acc, (int16_t)sc0, p0, vl);
                acc = __riscv_vwmacc_vx_i32m8(acc, (int16_t)sc1, p1, vl);
            }
            KQ_ACCUMULATE(sum[r], rvv_kq_isum_m8(acc, vl), msum, d[k % RVV_KQCH], dmin[k % RVV_KQCH], b->d);
        }
    }
    for (int r = 0; r < B; r++) out[(size_t)r * ldo] = sum[r];
}
RVV_INLINE void rvv_q4_K_rows(const int B, int n, const void *w, const char *x, size_t ldx, float *out, size_t ldo) {
    rvv_q45_K_rows(0, B, n, w, x, ldx, out, ldo);
}
RVV_INLINE void rvv_q5_K_rows(const int B, int n, const void *w, const char *x, size_t ldx, float *out, size_t ldo) {
    rvv_q45_K_rows(1, B, n, w, x, ldx, out, ldo);
}
RVV_KQ_KERNELS(q4_K)
RVV_KQ_KERNELS(q5_K)

/* Q6_K: the codes are unpacked minus 32 (-32..31, signed), so the offset needs no bsums term;
 * per 32 elements (lanes 0..15 sub-block 2j, 16..31 sub-block 2j+1) one widening multiply
 * and two widening multiply-adds: all lanes by the first scale, then the upper lanes (masked)
 * by the difference of the two (a vector of the two scales per step costs as many
 * instructions, and GCC 14 for XTheadVector keeps those vectors live across steps and rows
 * and spills). Lane bound: 8 steps of |32 * 128 * (sa + (sb - sa))| <= 2^19, far below 2^31.
 * With B > 1 the codes go to a buffer once, which every row's pass then reads. */
RVV_INLINE vint32m8_t rvv_q6_step(const int first, vint32m8_t acc, vint8m2_t q, const int8_t *y, int sa, int sb, vbool4_t upper, size_t vl) {
    const vint16m4_t p = __riscv_vwmul_vv_i16m4(q, __riscv_vle8_v_i8m2(y, vl), vl);
    acc = first ? __riscv_vwmul_vx_i32m8(p, (int16_t)sa, vl) : __riscv_vwmacc_vx_i32m8(acc, (int16_t)sa, p, vl);
    return __riscv_vwmacc_vx_i32m8_mu(upper, acc, (int16_t)(sb - sa), p, vl);
}
/* quarter j of a half: low 4 bits from l (low nibble for j < 2, else high), bits 4-5 from
 * qh bits 2j+1..2j; minus 32 */
RVV_INLINE vint8m2_t rvv_q6_codes(vuint8m2_t l, vuint8m2_t qh, int j, size_t vl) {
    const vuint8m2_t lo = j < 2 ? __riscv_vand_vx_u8m2(l, 15, vl) : __riscv_vsrl_vx_u8m2(l, RVV_N(4), vl);
    const vuint8m2_t hi = j == 0 ? __riscv_vsll_vx_u8m2(qh, RVV_N(4), vl)
                        : j == 1 ? __riscv_vsll_vx_u8m2(qh, RVV_N(2), vl)
                        : j == 2 ? qh : __riscv_vsrl_vx_u8m2(qh, RVV_N(2), vl);
    const vuint8m2_t q = __riscv_vor_vv_u8m2(lo, __riscv_vand_vx_u8m2(hi, 0x30, vl), vl);
    return __riscv_vsub_vx_i8m2(__riscv_vreinterpret_v_u8m2_i8m2(q), 32, vl);
}
RVV_INLINE void rvv_q6_K_rows(const int B, int n, const void *w, const char *x, size_t ldx, float *out, size_t ldo) {
    const block_q6_K *a = (const block_q6_K *)w;
    const size_t vl = __riscv_vsetvl_e8m2(32);
    const vbool4_t upper = __riscv_vmsgeu_vx_u16m4_b4(__riscv_vid_v_u16m4(vl), 16, vl);   /* lanes 16..31 */
    float sum[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int k = 0; k < n / QK_K; k++) {
        const int8_t *sc = a[k].scales;
        int32_t isum[4];
        int8_t cq[QK_K];   /* B > 1: the codes of element 128h + 32j at cq[128h + 32j] */
        vint32m8_t acc;   /* the first step initializes it (see rvv_q45_K_rows) */
        for (int h = 0; h < 2; h++) {
            const vuint8m2_t l0 = __riscv_vle8_v_u8m2(a[k].ql + 64 * h, vl), l1 = __riscv_vle8_v_u8m2(a[k].ql + 64 * h + 32, vl);
            const vuint8m2_t qh = __riscv_vle8_v_u8m2(a[k].qh + 32 * h, vl);
            for (int j = 0; j < 4; j++) {
                const vint8m2_t q = rvv_q6_codes(j % 2 ? l1 : l0, qh, j, vl);
                if (B == 1) acc = rvv_q6_step(h + j == 0, acc, q, KQ_ROW(0, k)->qs + 128 * h + 32 * j, sc[8 * h + 2 * j], sc[8 * h + 2 * j + 1], upper, vl);
                else __riscv_vse8_v_i8m2(cq + 128 * h + 32 * j, q, vl);
            }
        }
        if (B == 1) isum[0] = rvv_kq_isum_m8(acc, vl);
        for (int r = 0; B > 1 && r < B; r++) {
            RVV_BARRIER();
            const int8_t *y = KQ_ROW(r, k)->qs;
            for (int j = 0; j < QK_K / 32; j++)
                acc = rvv_q6_step(j == 0, acc, __riscv_vle8_v_i8m2(cq + 32 * j, vl), y + 32 * j, sc[2 * j], sc[2 * j + 1], upper, vl);
            isum[r] = rvv_kq_isum_m8(acc, vl);
        }
        const float d = fp16_to_fp32(a[k].d);
        for (int r = 0; r < B; r++) sum[r] = fmaf((float)isum[r], d * KQ_ROW(r, k)->d, sum[r]);
    }
    for (int r = 0; r < B; r++) out[(size_t)r * ldo] = sum[r];
}
RVV_KQ_KERNELS(q6_K)


/* ==========================================================================================
 * Can this CPU run the vector code compiled in?
 *   kernels_cpu_ok(&why)  (the end of this file) calls the port's cpu_ok: 1 if yes; else 0 and
 *                         *why says what to do. Call it first thing in main(): built with V, the
 *                         compiler may use vector instructions anywhere (inlined memset,
 *                         vectorized loops), and a CPU without them stops with SIGILL.
 * How, on Linux: an RVV 1.0 build first needs the kernel to announce V (AT_HWCAP bit 'V' or
 * riscv_hwprobe IMA_V): only then does it save vector registers across context switches.
 * Then every vector build runs one pair of vsetvli under a temporary SIGILL handler and
 * checks VLMAX(e8,m1) == 4 * VLMAX(e32,m1). The ratio tells the two vector encodings apart:
 * RVV 1.0's vsetvli sets ta/ma bits that a 0.7.1 unit rejects (vill, vl = 0), and 0.7.1's
 * "e32,m1,d1" reads as e16,m1 on an RVV 1.0 unit (ratio 2). XTheadVector has no hwcap bit:
 * vendor kernels for the SG2042 enable it, upstream kernels keep vectors off on T-Head C9xx
 * (GhostWrite mitigation), where the probe gets SIGILL and reports it.
 * ======================================================================================== */
#include <stdio.h>
#if defined(__linux__)
#include <signal.h>
#include <setjmp.h>
#include <unistd.h>
#include <sys/auxv.h>
#include <sys/syscall.h>

static inline sigjmp_buf *rvv_probe_jmp(void) { static sigjmp_buf jb; return &jb; }
static inline void rvv_probe_sigill(int sig) { (void)sig; siglongjmp(*rvv_probe_jmp(), 1); }

/* RVV 1.0 announced by the kernel. Volatile stores: the compiler must not merge them into a
 * vector store, nothing here may use V before we know it is there. */
static inline int rvv_kernel_has_v(void) {
    if (getauxval(AT_HWCAP) & (1ul << ('V' - 'A'))) return 1;
    int64_t pair[2];
    ((volatile int64_t *)pair)[0] = 4;   /* RISCV_HWPROBE_KEY_IMA_EXT_0 */
    ((volatile int64_t *)pair)[1] = 0;
    if (syscall(258 /* __NR_riscv_hwprobe, Linux >= 6.4 */, pair, 1, 0, NULL, 0) == 0 &&
        ((volatile int64_t *)pair)[0] == 4 && (((volatile int64_t *)pair)[1] & 4 /* RISCV_HWPROBE_IMA_V */))
        return 1;
    return 0;
}
#endif

static __attribute__((noinline, unused)) void rvv_probe_vlmax(volatile size_t *e8, volatile size_t *e32) {
    *e8 = __riscv_vsetvlmax_e8m1();
    *e32 = __riscv_vsetvlmax_e32m1();
}

/* state: 0 not probed, 1 usable, -1 not; vlen in bits */
static inline int rvv_probe(const char **why, unsigned *vlen) {
    static int state;
    static const char *msg;
    static unsigned bits;
#if defined(__riscv_xtheadvector)
#define RVV_ISA "XTheadVector (RVV 0.7.1 of T-Head C906/C910/C920, e.g. SG2042)"
#else
#define RVV_ISA "RISC-V vector instructions (RVV 1.0)"
#endif
    if (!state) {
        volatile size_t e8 = 0, e32 = 0;
        volatile int ill = 0;
#if defined(__linux__)
#if !defined(__riscv_xtheadvector)
        if (!rvv_kernel_has_v()) ill = 1;
#endif
        if (!ill) {
            void (*old)(int) = signal(SIGILL, rvv_probe_sigill);
            if (sigsetjmp(*rvv_probe_jmp(), 1) == 0) rvv_probe_vlmax(&e8, &e32);
            else ill = 1;
            signal(SIGILL, old);
        }
#else
        rvv_probe_vlmax(&e8, &e32);
#endif
        if (ill)
            msg = "this binary uses " RVV_ISA " but the CPU/kernel does not offer them; use the riscv-scalar build";
#if defined(__riscv_xtheadvector)
        else if (e32 == 0 || e8 != 4 * e32)
            msg = "this binary uses " RVV_ISA " but this CPU's vector unit is RVV 1.0; use the riscv (RVV 1.0) build";
#else
        else if (e32 == 0 || e8 != 4 * e32)
            msg = "this binary uses " RVV_ISA " but this CPU's vector unit is not RVV 1.0 (XTheadVector / RVV 0.7.1 "
                  "as on the SG2042?); use the riscv-xthead or the riscv-scalar build";
#endif
        else if (e8 < 16)
            msg = "this binary's vector kernels need VLEN >= 128 bits; use the riscv-scalar build";
        bits = (unsigned)(e8 * 8);
        state = msg ? -1 : 1;
    }
    if (why) *why = msg;
    if (vlen) *vlen = bits;
    return state > 0;
}
#undef RVV_ISA

static inline int rvv_cpu_ok(const char **why, unsigned *vlen) { return rvv_probe(why, vlen); }

/* one table for both: the XTheadVector build compiles the same bodies for RVV 0.7.1 */
static const kernel_port port_rvv = {
    .name = RVV_THEAD ? "xtheadvector" : "rvv1.0",
    .cpu_ok = rvv_cpu_ok,
    .choose_layouts = rvv_choose_layouts,
    .gemm = {[T_F32] = rvv_gemm_f32_f32, [T_F16] = rvv_gemm_f16_f32, [T_BF16] = rvv_gemm_bf16_f32,
             [T_Q8_0] = rvv_gemm_q8_0_q8_0, [T_Q4_0] = rvv_gemm_q4_0_q8_0, [T_Q4_K] = rvv_gemm_q4_K_q8_K,
             [T_Q5_K] = rvv_gemm_q5_K_q8_K, [T_Q6_K] = rvv_gemm_q6_K_q8_K},
    .quantize_q8_0 = rvv_quantize_row_q8_0,
    .quantize_q8_K = rvv_quantize_row_q8_K,
    .rmsnorm = rvv_rmsnorm,
    .softmax = rvv_softmax,
    .swiglu = rvv_swiglu,
    .rope_adjacent = rvv_rope_adjacent,
    .axpy = rvv_axpy,
    .scale = rvv_scale,
    .wsum = rvv_wsum,
    .argmax = rvv_argmax,
};
#endif /* __riscv_vector */

/* ==========================================================================================
 * The port of this build: one #elif per family of CPUs.
 * ======================================================================================== */
#if defined(__riscv_vector)            /* RVV 1.0, and XTheadVector (GCC defines both macros) */
#define KERNELS_PORT port_rvv
#elif defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include "x86_kernels.h"
#define KERNELS_PORT port_x86
#else
#define KERNELS_PORT port_reference
#endif

/* the table of this build with every NULL entry taken from the reference (no vector
 * instruction runs here: kernels_resolve adds the layouts, which may ask the vector unit) */
static inline kernel_port kernels_filled(void) {
    kernel_port k = KERNELS_PORT;
    const kernel_port *r = &port_reference;
    for (int t = 0; t < T_COUNT; t++)
        if (!k.gemm[t]) k.gemm[t] = r->gemm[t];
#define KERNELS_FILL(f) if (!k.f) k.f = r->f
    KERNELS_FILL(quantize_q8_0); KERNELS_FILL(quantize_q8_K); KERNELS_FILL(rmsnorm); KERNELS_FILL(softmax);
    KERNELS_FILL(swiglu); KERNELS_FILL(rope_adjacent); KERNELS_FILL(rope_neox); KERNELS_FILL(axpy);
    KERNELS_FILL(scale); KERNELS_FILL(wsum); KERNELS_FILL(argmax);
#undef KERNELS_FILL
    return k;
}

/* the table the engine uses: filled, and with the weight layouts this CPU's vector length picks */
static inline kernel_port kernels_resolve(void) {
    kernel_port k = kernels_filled();
    if (k.choose_layouts) k.choose_layouts(&k);
    return k;
}

static inline int kernels_cpu_ok(const char **why) {
    if (why) *why = NULL;
    return KERNELS_PORT.cpu_ok ? KERNELS_PORT.cpu_ok(why, NULL) : 1;
}

/* "reference", "x86-avx512-vnni", "rvv1.0 VLEN=256", "xtheadvector VLEN=128", ... */
static inline const char *kernels_variant(void) {
    static char buf[64];
    unsigned vlen = 0;
    if (!KERNELS_PORT.cpu_ok) return KERNELS_PORT.name;
    if (KERNELS_PORT.cpu_ok(NULL, &vlen)) snprintf(buf, sizeof buf, "%s VLEN=%u", KERNELS_PORT.name, vlen);
    else snprintf(buf, sizeof buf, "%s (not usable on this CPU)", KERNELS_PORT.name);
    return buf;
}

#endif /* RVV_KERNELS_H */
