/* rvv_kernels.h - the hot kernels of llm.c: block formats and their math.
 *
 * Every kernel has ONE signature and up to three bodies chosen at compile time:
 *
 *   #if defined(__riscv_xtheadvector)   SG2042 / XuanTie C920: RVV 0.7.1, GCC >= 14
 *   #elif defined(__riscv_vector)       RVV 1.0, any VLEN (vector-length agnostic)
 *   #else                               portable C: the specification
 *   #endif
 *
 * The portable C body is the reference: tests compare every other body against it.
 * Block formats are byte-identical to ggml/GGUF so a tensor is used straight from the file.
 *
 * Contracts shared by all bodies:
 *  - n (elements of a row) is a multiple of the block size for block types (32 for Q8_0/Q4_0);
 *  - a gemm_* tile computes each output element with exactly the same float operations as the
 *    matching dot_* of the same build, so results do not depend on how rows are tiled
 *    (this makes the output bitwise identical for any thread count and batch split);
 *  - no kernel allocates or keeps state.
 */
#ifndef RVV_KERNELS_H
#define RVV_KERNELS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <math.h>

/* ------------------------------------------------------------------------------------------
 * Scalar conversions: IEEE half (F16) and bfloat16 (BF16) <-> float.
 * Both are the top bits of a float in some form; done with integer ops so the result is exact
 * and identical on every target (round-to-nearest-even when narrowing).
 * ---------------------------------------------------------------------------------------- */
static inline float f32_from_bits(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static inline uint32_t f32_to_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

static inline float fp16_to_fp32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    if (exp == 0x1f) return f32_from_bits(sign | 0x7f800000u | (man << 13));   /* inf / nan */
    if (exp == 0) {                                                             /* zero / subnormal */
        if (man == 0) return f32_from_bits(sign);
        float f = (float)man * (1.0f / 16777216.0f);                           /* man * 2^-24 */
        return sign ? -f : f;
    }
    return f32_from_bits(sign | ((exp + 112) << 23) | (man << 13));
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
 * Block formats (ggml). A row of n elements is n/32 consecutive blocks.
 *   Q8_0: x[i] = d * qs[i],        d fp16, qs int8                    34 bytes / 32 elements
 *   Q4_0: x[j] = d * (lo(qs[j])-8), x[j+16] = d * (hi(qs[j])-8)       18 bytes / 32 elements
 * ---------------------------------------------------------------------------------------- */
#define QK 32
typedef struct { uint16_t d; int8_t qs[QK]; } block_q8_0;
typedef struct { uint16_t d; uint8_t qs[QK / 2]; } block_q4_0;
_Static_assert(sizeof(block_q8_0) == 34, "block_q8_0 must be 34 bytes");
_Static_assert(sizeof(block_q4_0) == 18, "block_q4_0 must be 18 bytes");

/* Quantize a float row to Q8_0: d = max|x| / 127, q = round(x / d) (half away from zero). */
static inline void quantize_row_q8_0(int n, block_q8_0 *y, const float *x) {
    for (int b = 0; b < n / QK; b++, x += QK) {
        float amax = 0.0f;
        for (int i = 0; i < QK; i++) amax = fmaxf(amax, fabsf(x[i]));
        float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = fp32_to_fp16(d);
        for (int i = 0; i < QK; i++) y[b].qs[i] = (int8_t)roundf(x[i] * id);
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
            int lo = (int)(x[j] * id + 8.5f), hi = (int)(x[j + QK / 2] * id + 8.5f);
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

/* ------------------------------------------------------------------------------------------
 * Dot products: one weight row (w, the weight's own type) with one activation row (x).
 * For block types the activation is Q8_0; per block the integer products are summed exactly
 * and scaled once:  sum_b  d_w[b] * d_x[b] * sum_i q_w[b][i] * q_x[b][i].
 * For float types the activation is float32 and the weight is widened to float.
 * The float sums use 8 interleaved partial sums (lane i takes elements i, i+8, ...), added
 * pairwise at the end: a fixed order that C compilers can vectorize without -ffast-math.
 * ---------------------------------------------------------------------------------------- */
typedef float (*dot_fn)(int n, const void *w, const void *x);

static inline float dot_q8_0_q8_0(int n, const void *w, const void *x) {
    const block_q8_0 *a = (const block_q8_0 *)w, *b = (const block_q8_0 *)x;
    float sum = 0.0f;
    for (int k = 0; k < n / QK; k++) {
        int32_t s = 0;
        for (int i = 0; i < QK; i++) s += a[k].qs[i] * b[k].qs[i];
        sum += (float)s * (fp16_to_fp32(a[k].d) * fp16_to_fp32(b[k].d));
    }
    return sum;
}

static inline float dot_q4_0_q8_0(int n, const void *w, const void *x) {
    const block_q4_0 *a = (const block_q4_0 *)w;
    const block_q8_0 *b = (const block_q8_0 *)x;
    float sum = 0.0f;
    for (int k = 0; k < n / QK; k++) {
        int32_t s = 0;
        for (int j = 0; j < QK / 2; j++)
            s += ((a[k].qs[j] & 15) - 8) * b[k].qs[j] + ((a[k].qs[j] >> 4) - 8) * b[k].qs[j + QK / 2];
        sum += (float)s * (fp16_to_fp32(a[k].d) * fp16_to_fp32(b[k].d));
    }
    return sum;
}

#define DOT_FLOAT_BODY(WIDEN)                                                   \
    float acc[8] = {0};                                                         \
    int i = 0;                                                                  \
    for (; i + 8 <= n; i += 8)                                                  \
        for (int l = 0; l < 8; l++) acc[l] += WIDEN(a[i + l]) * b[i + l];       \
    for (int l = 0; i < n; i++, l++) acc[l] += WIDEN(a[i]) * b[i];              \
    return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));

#define WIDEN_F32(v) (v)
static inline float dot_f32_f32(int n, const void *w, const void *x) {
    const float *a = (const float *)w, *b = (const float *)x;
    DOT_FLOAT_BODY(WIDEN_F32)
}
static inline float dot_f16_f32(int n, const void *w, const void *x) {
    const uint16_t *a = (const uint16_t *)w; const float *b = (const float *)x;
    DOT_FLOAT_BODY(fp16_to_fp32)
}
static inline float dot_bf16_f32(int n, const void *w, const void *x) {
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
GEMM_FROM_DOT(gemm_q8_0_q8_0, dot_q8_0_q8_0)
GEMM_FROM_DOT(gemm_q4_0_q8_0, dot_q4_0_q8_0)
GEMM_FROM_DOT(gemm_f32_f32, dot_f32_f32)
GEMM_FROM_DOT(gemm_f16_f32, dot_f16_f32)
GEMM_FROM_DOT(gemm_bf16_f32, dot_bf16_f32)

/* ------------------------------------------------------------------------------------------
 * Row-wise float work of the forward pass.
 * ---------------------------------------------------------------------------------------- */

/* RMSNorm: o = x / sqrt(mean(x^2) + eps) * w */
static inline void rmsnorm(int n, float *o, const float *x, const float *w, float eps) {
    float ss = 0.0f;
    for (int i = 0; i < n; i++) ss += x[i] * x[i];
    float scale = 1.0f / sqrtf(ss / n + eps);
    for (int i = 0; i < n; i++) o[i] = w[i] * (scale * x[i]);
}

/* In-place softmax: x = exp(x - max) / sum */
static inline void softmax(int n, float *x) {
    float max = x[0];
    for (int i = 1; i < n; i++) max = fmaxf(max, x[i]);
    float sum = 0.0f;
    for (int i = 0; i < n; i++) { x[i] = expf(x[i] - max); sum += x[i]; }
    float inv = 1.0f / sum;
    for (int i = 0; i < n; i++) x[i] *= inv;
}

/* SwiGLU: g = silu(g) * u, silu(v) = v / (1 + e^-v) */
static inline void swiglu(int n, float *g, const float *u) {
    for (int i = 0; i < n; i++) g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

/* RoPE on one head vector, adjacent pairs (GGUF llama, llama2.c): for pair i < n_rot/2,
 * (v[2i], v[2i+1]) is rotated by angle theta_i * pos; cs holds (cos, sin) for each pair. */
static inline void rope_adjacent(int n_rot, float *v, const float *cs) {
    for (int i = 0; i < n_rot / 2; i++) {
        float c = cs[2 * i], s = cs[2 * i + 1], a = v[2 * i], b = v[2 * i + 1];
        v[2 * i] = a * c - b * s;
        v[2 * i + 1] = a * s + b * c;
    }
}

/* y += a * x (attention: accumulate a value row weighted by its probability) */
static inline void axpy(int n, float *y, float a, const float *x) {
    for (int i = 0; i < n; i++) y[i] += a * x[i];
}

#endif /* RVV_KERNELS_H */
