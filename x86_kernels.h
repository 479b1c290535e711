/* x86_kernels.h - the x86 port of rvv_kernels.h: AVX2 + FMA + F16C bodies, with VNNI
 * (vpdpbusd: AVX512-VNNI+VL or AVX-VNNI) and 512-bit steps where the build has AVX-512, and
 * layouts of Q8_0, Q4_0 and K-quant (Q2_K .. Q6_K) weights packed 16 rows at a time for
 * AVX-512 VNNI. Included by
 * rvv_kernels.h for x86-64 builds with AVX2, FMA and F16C (e.g. -march=native); other x86 builds
 * use the reference. Read it as the second example of a port: bodies that follow the
 * reference's arithmetic step by step (the contract in rvv_kernels.h), and one table.
 */
#ifndef X86_KERNELS_H
#define X86_KERNELS_H
#include <immintrin.h>

/* ------------------------------------------------------------------------------------------
 * Packed weights (Q8_0x16, Q4_0x16): the layout of Q8_0/Q4_0 matrices this port chooses at
 * load with AVX-512 VNNI (kernel_port.packed). 16 rows interleaved, as many bytes as 16
 * consecutive rows of blocks, regrouped per block index k into one superblock (k = 0, 1, ...):
 *     d[r]       fp16 scale of block k of row r, r = 0..15                      32 bytes
 *     chunk j    64 bytes: bytes 4j..4j+3 of the codes (qs) of block k of rows 0..15, row r
 *                at 4r; Q4_0 j = 0..3, Q8_0 j = 0..7                      256 / 512 bytes
 * Q8_0 codes are stored plus 128 (byte ^ 0x80: 0..255), the unsigned operand x86 wants; Q4_0
 * nibbles are unsigned already.
 * One 64-byte load then holds 4 code bytes of each of 16 rows, and vpdpbusd (4 byte products
 * summed into each 32-bit lane) against the activation's 4 bytes broadcast accumulates block k
 * of 16 rows in one register, lane r = row r: no horizontal sums. Same math as the dots: exact
 * integer sum per block, sum = fma((float)isum, d_w*d_x), block after block.
 * ---------------------------------------------------------------------------------------- */
#define PACK_ROWS 16
static inline void pack_x16(int n, int qsb, void *dst, const void *src, size_t ld) {
    const size_t bs = 2 + (size_t)qsb;
    const uint8_t flip = qsb == QK ? 0x80 : 0;   /* Q8_0: codes + 128 */
    uint8_t *o = (uint8_t *)dst;
    for (int k = 0; k < n / QK; k++, o += PACK_ROWS * bs) {
        for (int r = 0; r < PACK_ROWS; r++) {
            const uint8_t *blk = (const uint8_t *)src + (size_t)r * ld + (size_t)k * bs;
            memcpy(o + 2 * r, blk, 2);
            for (int j = 0; j < qsb; j++) o[2 * PACK_ROWS + 64 * (j / 4) + 4 * r + j % 4] = blk[2 + j] ^ flip;
        }
    }
}

static inline void unpack_x16_block(int qsb, void *blk, const void *group, int k, int r) {
    const uint8_t *sb = (const uint8_t *)group + (size_t)k * PACK_ROWS * (2 + (size_t)qsb);
    const uint8_t flip = qsb == QK ? 0x80 : 0;
    memcpy(blk, sb + 2 * r, 2);
    for (int j = 0; j < qsb; j++) ((uint8_t *)blk)[2 + j] = sb[2 * PACK_ROWS + 64 * (j / 4) + 4 * r + j % 4] ^ flip;
}

/* the weight_layout entry points: qsb = code bytes per block (32 for Q8_0, 16 for Q4_0) */
static inline void unpack_row_x16(int qsb, int n, void *dst, const void *group, int r) {
    for (int k = 0; k < n / QK; k++) unpack_x16_block(qsb, (uint8_t *)dst + (size_t)k * (2 + (size_t)qsb), group, k, r);
}
static inline void pack_q8_0_x16(int n, void *group, const void *src, size_t ld) { pack_x16(n, QK, group, src, ld); }
static inline void pack_q4_0_x16(int n, void *group, const void *src, size_t ld) { pack_x16(n, QK / 2, group, src, ld); }
static inline void unpack_row_q8_0_x16(int n, void *dst, const void *group, int r) { unpack_row_x16(QK, n, dst, group, r); }
static inline void unpack_row_q4_0_x16(int n, void *dst, const void *group, int r) { unpack_row_x16(QK / 2, n, dst, group, r); }

/* ==========================================================================================
 * The bodies. Same contracts as the reference (rvv_kernels.h):
 *  - Q8_0/Q4_0: per block an exact int32 dot, then sum = fma((float)isum, d_w * d_x, sum) block
 *    after block: bitwise equal to the reference and every tile element bitwise equal to the dot.
 *  - f32/f16/bf16: 8 partial sums in one 8-lane register, the last n % 8 elements into lanes
 *    0.. (the other lanes keep their sums), the reference's pairwise combination: bitwise equal
 *    to the reference, for the dot and every tile element.
 *  - fp16 scales are widened with F16C (vcvtph2ps): exact for every code except signalling
 *    NaNs, which come out quiet (fp16_to_fp32 keeps them signalling); a NaN scale gives a NaN
 *    result either way.
 * Row-wise (rmsnorm, softmax, swiglu, rope, axpy): the reference, whose loops the compilers
 * vectorize (the sum32 order and exp_ref are written for it).
 * ======================================================================================== */
#define X86_INLINE static inline __attribute__((always_inline))

#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
#define X86_VNNI 1
#define X86_DPBUSD(acc, u, s) _mm256_dpbusd_epi32((acc), (u), (s))
#elif defined(__AVXVNNI__)
#define X86_VNNI 1
#define X86_DPBUSD(acc, u, s) _mm256_dpbusd_avx_epi32((acc), (u), (s))
#else
#define X86_VNNI 0
#endif
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VNNI__) && defined(__AVX512VL__)
#define X86_512 1   /* AVX-512 F, BW, VL with VNNI: 512-bit steps (below) */
#else
#define X86_512 0
#endif

/* ---- Q8_0 x Q8_0 and Q4_0 x Q8_0 ----------------------------------------------------------
 * Per block and (weight row, activation row) pair: a vector P of 8 int32 whose sum is the
 * block's exact integer dot. vpdpbusd multiplies unsigned by signed bytes, so the weight codes
 * are made unsigned by an offset and the offset's share is subtracted, computed once per
 * activation block (xc below, shared by all weight rows of a tile):
 *   Q4_0: codes c = q - 8 with q in 0..15:  sum (q-8) x = sum q x - 8 sum x
 *   Q8_0: codes w in -128..127, u = w ^ 0x80 = w + 128:  sum w x = sum u x - 128 sum x
 * Every intermediate is far from int32 overflow. Without VNNI: Q4_0 uses vpmaddubsw (no
 * saturation: |q x| <= 15 * 128, pairs < 2^15) + vpmaddwd; Q8_0 widens to int16 + vpmaddwd.
 * x86_tree8 reduces 8 such vectors at once into one vector of 8 sums (lane o = P[o]). The float
 * part then runs with one lane per output: sc = d_w * d_x, acc = fma((float)isum, sc, acc). */
typedef struct { __m256i v, c, lo, hi; } x86_xblk;

X86_INLINE x86_xblk x86_load_x(const int q4, const char *blk) {
    x86_xblk r;
    r.v = _mm256_loadu_si256((const __m256i *)(const void *)(blk + 2));
#if X86_VNNI
    r.c = _mm256_sub_epi32(_mm256_setzero_si256(),
                           X86_DPBUSD(_mm256_setzero_si256(), _mm256_set1_epi8(q4 ? 8 : (char)0x80), r.v));
    r.lo = r.hi = r.c;
#else
    if (q4) {
        r.c = _mm256_sub_epi32(_mm256_setzero_si256(),
                               _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(8), r.v), _mm256_set1_epi16(1)));
        r.lo = r.hi = r.c;
    } else {
        r.c = r.v;
        r.lo = _mm256_cvtepi8_epi16(_mm256_castsi256_si128(r.v));
        r.hi = _mm256_cvtepi8_epi16(_mm256_extracti128_si256(r.v, 1));
    }
#endif
    return r;
}

/* weight block as the unsigned operand: Q4_0 codes 0..15 (low nibbles = elements 0..15, high
 * = 16..31); Q8_0: w ^ 0x80 (VNNI) or the raw codes (int16 path) */
X86_INLINE __m256i x86_load_w(const int q4, const char *blk) {
    if (q4) {
        __m256i q = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)(blk + 2)));
        return _mm256_and_si256(_mm256_srlv_epi64(q, _mm256_set_epi64x(4, 4, 0, 0)), _mm256_set1_epi8(15));
    }
    __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(blk + 2));
#if X86_VNNI
    return _mm256_xor_si256(v, _mm256_set1_epi8((char)0x80));
#else
    return v;
#endif
}

X86_INLINE __m256i x86_prod(const int q4, __m256i w, const x86_xblk *x) {
#if X86_VNNI
    (void)q4;
    return X86_DPBUSD(x->c, w, x->v);
#else
    if (q4) return _mm256_add_epi32(x->c, _mm256_madd_epi16(_mm256_maddubs_epi16(w, x->v), _mm256_set1_epi16(1)));
    return _mm256_add_epi32(_mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm256_castsi256_si128(w)), x->lo),
                            _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm256_extracti128_si256(w, 1)), x->hi));
#endif
}

/* lane o of the result = sum of the 8 lanes of p[o] */
X86_INLINE __m256i x86_tree8(const __m256i *p) {
    __m256i a = _mm256_hadd_epi32(p[0], p[1]), b = _mm256_hadd_epi32(p[2], p[3]);
    __m256i c = _mm256_hadd_epi32(p[4], p[5]), d = _mm256_hadd_epi32(p[6], p[7]);
    a = _mm256_hadd_epi32(a, b);   /* per 128-bit half: sums of that half of p0..p3 */
    c = _mm256_hadd_epi32(c, d);
    return _mm256_add_epi32(_mm256_permute2x128_si256(a, c, 0x20), _mm256_permute2x128_si256(a, c, 0x31));
}

/* fp16 scales of blocks 0..m-1 (m <= 32) of R <= 16 rows (row stride ld, block size bs), as
 * floats in out[kk*R + r], then at least 16 zeros (the tiles read up to 16 floats from any
 * kk*R); out needs room for m*R + 24 floats */
#define X86_SC_PAD 32
X86_INLINE void x86_scales(float *out, const char *p, size_t ld, size_t bs, const int R, int m) {
    uint16_t h[32 * 16 + X86_SC_PAD];
    for (int kk = 0; kk < m; kk++)
        for (int r = 0; r < R; r++) memcpy(&h[kk * R + r], p + (size_t)r * ld + (size_t)kk * bs, 2);
    for (int i = m * R; i < m * R + X86_SC_PAD; i++) h[i] = 0;
    for (int i = 0; i < m * R + 16; i += 8)
        _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(h + i))));
}

#define X86_QCH 32   /* blocks per chunk of scales */
#define X86_PF 512   /* software prefetch distance (bytes) when streaming weight rows (decode) */

/* AVX-512 (F, BW, VNNI): the tiles take two blocks per step in 512-bit registers, lanes 0..7
 * block k and 8..15 block k+1 (same products and offsets as above, twice as wide). */
#if X86_512
typedef struct { __m512i v, c; } x86_xblk2;
X86_INLINE x86_xblk2 x86_load_x2(const int q4, const char *b0, const char *b1) {
    x86_xblk2 r;
    r.v = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(const void *)(b0 + 2))),
                             _mm256_loadu_si256((const __m256i *)(const void *)(b1 + 2)), 1);
    r.c = _mm512_sub_epi32(_mm512_setzero_si512(),
                           _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(q4 ? 8 : (char)0x80), r.v));
    return r;
}
X86_INLINE __m512i x86_load_w2(const int q4, const char *b0, const char *b1) {
    if (q4) {
        __m512i q = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(const void *)(b0 + 2)));
        q = _mm512_mask_broadcast_i32x4(q, 0xff00, _mm_loadu_si128((const __m128i *)(const void *)(b1 + 2)));
        return _mm512_and_si512(_mm512_srlv_epi64(q, _mm512_set_epi64(4, 4, 0, 0, 4, 4, 0, 0)), _mm512_set1_epi8(15));
    }
    __m512i v = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(const void *)(b0 + 2))),
                                   _mm256_loadu_si256((const __m256i *)(const void *)(b1 + 2)), 1);
    return _mm512_xor_si512(v, _mm512_set1_epi8((char)0x80));
}
/* two levels of an 8-vector reduction: per 128-bit lane, r0 = the lane's sums of p0..p3 and
 * r1 = those of p4..p7 */
X86_INLINE void x86_tree2_512(const __m512i *p, __m512i *r0, __m512i *r1) {
    __m512i q[4];
    for (int i = 0; i < 4; i++)   /* per 128-bit lane: [a0+a2, b0+b2, a1+a3, b1+b3] */
        q[i] = _mm512_add_epi32(_mm512_unpacklo_epi32(p[2 * i], p[2 * i + 1]), _mm512_unpackhi_epi32(p[2 * i], p[2 * i + 1]));
    *r0 = _mm512_add_epi32(_mm512_unpacklo_epi64(q[0], q[1]), _mm512_unpackhi_epi64(q[0], q[1]));
    *r1 = _mm512_add_epi32(_mm512_unpacklo_epi64(q[2], q[3]), _mm512_unpackhi_epi64(q[2], q[3]));
}
/* 8 vectors of 16 int32 (lanes 0..7 block k, 8..15 block k+1) -> lane o: p[o] over block k,
 * lane 8 + o: p[o] over block k+1 */
X86_INLINE __m512i x86_tree8x2(const __m512i *p) {
    __m512i r0, r1;
    x86_tree2_512(p, &r0, &r1);   /* 128-bit lanes 0, 1: block k; 2, 3: block k+1 */
    return _mm512_add_epi32(_mm512_permutex2var_epi64(r0, _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13), r1),
                            _mm512_permutex2var_epi64(r0, _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15), r1));
}
/* scales of tree t (outputs 8t..8t+7) for blocks j, j+1 of a step: lane l < 8 block j, output
 * 8t + l; lane 8 + l block j + 1. dw, dx point at the step's first block (see x86_scales). */
X86_INLINE __m512 x86_sc2(const int R, const int B, const int t, const int j, const float *dw, const float *dx) {
    if (B == 1) {
        __m512 wv = _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_loadu_ps(dw + j * R + 8 * t)),
                                       _mm256_loadu_ps(dw + (j + 1) * R + 8 * t), 1);
        __m512 xv = _mm512_permutexvar_ps(_mm512_setr_epi32(j, j, j, j, j, j, j, j, j + 1, j + 1, j + 1, j + 1, j + 1, j + 1, j + 1, j + 1),
                                          _mm512_castps128_ps512(_mm_loadu_ps(dx)));
        return _mm512_mul_ps(wv, xv);
    }
    /* B == 4, R <= 4: output o = r*4 + b */
#define X86_WI(l) (((j) + (l) / 8) * R + ((8 * t + (l) % 8) / 4 < R ? (8 * t + (l) % 8) / 4 : R - 1))
#define X86_XI(l) (((j) + (l) / 8) * 4 + (l) % 4)
    const __m512i wi = _mm512_setr_epi32(X86_WI(0), X86_WI(1), X86_WI(2), X86_WI(3), X86_WI(4), X86_WI(5), X86_WI(6), X86_WI(7),
                                         X86_WI(8), X86_WI(9), X86_WI(10), X86_WI(11), X86_WI(12), X86_WI(13), X86_WI(14), X86_WI(15));
    const __m512i xi = _mm512_setr_epi32(X86_XI(0), X86_XI(1), X86_XI(2), X86_XI(3), X86_XI(4), X86_XI(5), X86_XI(6), X86_XI(7),
                                         X86_XI(8), X86_XI(9), X86_XI(10), X86_XI(11), X86_XI(12), X86_XI(13), X86_XI(14), X86_XI(15));
#undef X86_WI
#undef X86_XI
    return _mm512_mul_ps(_mm512_permutexvar_ps(wi, _mm512_loadu_ps(dw)), _mm512_permutexvar_ps(xi, _mm512_loadu_ps(dx)));
}
/* acc += block j (low half), then block j+1 (high half): one fused multiply-add per block */
X86_INLINE __m256 x86_fma2(__m256 acc, __m512i isum, __m512 sc) {
    __m512 f = _mm512_cvtepi32_ps(isum);
    acc = _mm256_fmadd_ps(_mm512_castps512_ps256(f), _mm512_castps512_ps256(sc), acc);
    return _mm256_fmadd_ps(_mm512_extractf32x8_ps(f, 1), _mm512_extractf32x8_ps(sc, 1), acc);
}
#endif

/* y[b*ldy + r] = dot(row r of w, row b of x) for r < R, b < B: (R, B) in {16x1, 8x1, 4x1, 4x4,
 * 1x4}. Outputs o = r*B + b, 8 per reduction tree (tree t: outputs 8t..8t+7, lanes past R*B
 * unused). Steps: Q4_0 with AVX-512, 4 blocks per step: each 128-bit lane holds one block,
 * the low nibbles (elements 0..15) against the activation's first 16 bytes and the high
 * nibbles against its last 16, accumulated by two vpdpbusd into 4 int32 per block, so the
 * tree needs one level less; then 2 blocks per step (Q8_0 with AVX-512), then one block per
 * step (AVX2, and the last blocks of a chunk). */
X86_INLINE void x86_q_tile(const int q4, const int R, const int B, int n, float *y, size_t ldy,
                         const char *w, size_t ldw, const char *x, size_t ldx) {
    const int NO = R * B, NT = (NO + 7) / 8, nblk = n / QK;
    const size_t wbs = q4 ? sizeof(block_q4_0) : sizeof(block_q8_0), xbs = sizeof(block_q8_0);
    float dw[X86_QCH * 16 + X86_SC_PAD], dx[X86_QCH * 4 + X86_SC_PAD];
    __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
    const __m256i ridx[2] = {_mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1), _mm256_setr_epi32(2, 2, 2, 2, 3, 3, 3, 3)};
    for (int k0 = 0; k0 < nblk; k0 += X86_QCH) {
        const int m = nblk - k0 < X86_QCH ? nblk - k0 : X86_QCH;
        const char *wk = w + (size_t)k0 * wbs, *xk = x + (size_t)k0 * xbs;
        x86_scales(dw, wk, ldw, wbs, R, m);
        x86_scales(dx, xk, ldx, xbs, B, m);
        int kk = 0;
#if X86_512
        if (q4 && (B == 1 ? R >= 4 : R == 4))
            for (; kk + 4 <= m; kk += 4) {
                __m512i xlo[4], xhi[4], xc[4], p[16];
                const __m512i k8 = _mm512_set1_epi8(8), lowm = _mm512_set1_epi8(15);
                for (int b = 0; b < B; b++) {
                    const char *xb = xk + (size_t)kk * xbs + (size_t)b * ldx + 2;
                    __m512i t01 = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(const void *)xb)),
                                                     _mm256_loadu_si256((const __m256i *)(const void *)(xb + xbs)), 1);
                    __m512i t23 = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(const void *)(xb + 2 * xbs))),
                                                     _mm256_loadu_si256((const __m256i *)(const void *)(xb + 3 * xbs)), 1);
                    xlo[b] = _mm512_shuffle_i64x2(t01, t23, _MM_SHUFFLE(2, 0, 2, 0));   /* first 16 bytes of 4 blocks */
                    xhi[b] = _mm512_shuffle_i64x2(t01, t23, _MM_SHUFFLE(3, 1, 3, 1));   /* last 16 */
                    xc[b] = _mm512_sub_epi32(_mm512_setzero_si512(),
                                             _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), k8, xlo[b]), k8, xhi[b]));
                }
                for (int r = 0; r < R; r++) {
                    const char *wr = wk + (size_t)kk * wbs + (size_t)r * ldw + 2;
                    if (B == 1) _mm_prefetch(wr + X86_PF, _MM_HINT_T0);   /* decode streams R rows from memory */
                    __m512i q = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)(const void *)wr));
                    q = _mm512_inserti32x4(q, _mm_loadu_si128((const __m128i *)(const void *)(wr + wbs)), 1);
                    q = _mm512_inserti32x4(q, _mm_loadu_si128((const __m128i *)(const void *)(wr + 2 * wbs)), 2);
                    q = _mm512_inserti32x4(q, _mm_loadu_si128((const __m128i *)(const void *)(wr + 3 * wbs)), 3);
                    __m512i lo = _mm512_and_si512(q, lowm), hi = _mm512_and_si512(_mm512_srli_epi16(q, 4), lowm);
                    for (int b = 0; b < B; b++)
                        p[r * B + b] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(xc[b], lo, xlo[b]), hi, xhi[b]);
                }
                for (int o = NO; o < NT * 8; o++) p[o] = _mm512_setzero_si512();
                for (int t = 0; t < NT; t++) {
                    __m512i r0, r1;
                    x86_tree2_512(p + 8 * t, &r0, &r1);   /* 128-bit lane j: block kk + j */
                    __m512i s01 = _mm512_permutex2var_epi64(r0, _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11), r1);
                    __m512i s23 = _mm512_permutex2var_epi64(r0, _mm512_setr_epi64(4, 5, 12, 13, 6, 7, 14, 15), r1);
                    acc[t] = x86_fma2(acc[t], s01, x86_sc2(R, B, t, 0, dw + kk * R, dx + kk * B));
                    acc[t] = x86_fma2(acc[t], s23, x86_sc2(R, B, t, 2, dw + kk * R, dx + kk * B));
                }
            }
        for (; kk + 2 <= m; kk += 2) {
            x86_xblk2 xv[4];
            __m512i p[16];
            const char *xa = xk + (size_t)kk * xbs, *wa = wk + (size_t)kk * wbs;
            for (int b = 0; b < B; b++) xv[b] = x86_load_x2(q4, xa + (size_t)b * ldx, xa + (size_t)b * ldx + xbs);
            for (int r = 0; r < R; r++) {
                __m512i wv = x86_load_w2(q4, wa + (size_t)r * ldw, wa + (size_t)r * ldw + wbs);
                for (int b = 0; b < B; b++) p[r * B + b] = _mm512_dpbusd_epi32(xv[b].c, wv, xv[b].v);
            }
            for (int o = NO; o < NT * 8; o++) p[o] = _mm512_setzero_si512();
            for (int t = 0; t < NT; t++) acc[t] = x86_fma2(acc[t], x86_tree8x2(p + 8 * t), x86_sc2(R, B, t, 0, dw + kk * R, dx + kk * B));
        }
#endif
        for (; kk < m; kk++) {
            x86_xblk xv[4];
            __m256i p[16];
            for (int b = 0; b < B; b++) xv[b] = x86_load_x(q4, xk + (size_t)kk * xbs + (size_t)b * ldx);
            for (int r = 0; r < R; r++) {
                __m256i wv = x86_load_w(q4, wk + (size_t)kk * wbs + (size_t)r * ldw);
                for (int b = 0; b < B; b++) p[r * B + b] = x86_prod(q4, wv, &xv[b]);
            }
            for (int o = NO; o < NT * 8; o++) p[o] = _mm256_setzero_si256();
            for (int t = 0; t < NT; t++) {
                __m256 sc;
                if (B == 1) sc = _mm256_mul_ps(_mm256_loadu_ps(dw + kk * R + 8 * t), _mm256_broadcast_ss(dx + kk));
                else sc = _mm256_mul_ps(_mm256_permutevar8x32_ps(_mm256_loadu_ps(dw + kk * R), ridx[t]),
                                        _mm256_broadcast_ps((const __m128 *)(const void *)(dx + kk * 4)));
                acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(x86_tree8(p + 8 * t)), sc, acc[t]);
            }
        }
    }
    float out[16];
    _mm256_storeu_ps(out, acc[0]);
    _mm256_storeu_ps(out + 8, acc[1]);
    for (int r = 0; r < R; r++)
        for (int b = 0; b < B; b++) y[(size_t)b * ldy + r] = out[r * B + b];
}

/* one row: the integer sums of 8 consecutive blocks in one tree, then the scalar chain */
X86_INLINE float x86_q_dot(const int q4, int n, const char *w, const char *x) {
    const int nblk = n / QK;
    const size_t wbs = q4 ? sizeof(block_q4_0) : sizeof(block_q8_0), xbs = sizeof(block_q8_0);
    float dw[X86_QCH + X86_SC_PAD], dx[X86_QCH + X86_SC_PAD], fs[8], sc[8], sum = 0.0f;
    for (int k0 = 0; k0 < nblk; k0 += X86_QCH) {
        const int m = nblk - k0 < X86_QCH ? nblk - k0 : X86_QCH;
        const char *wk = w + (size_t)k0 * wbs, *xk = x + (size_t)k0 * xbs;
        x86_scales(dw, wk, 0, wbs, 1, m);
        x86_scales(dx, xk, 0, xbs, 1, m);
        for (int kk = 0; kk < m; kk += 8) {
            const int g = m - kk < 8 ? m - kk : 8;
            __m256i p[8];
            for (int j = 0; j < 8; j++) {
                if (j < g) {
                    x86_xblk xv = x86_load_x(q4, xk + (size_t)(kk + j) * xbs);
                    p[j] = x86_prod(q4, x86_load_w(q4, wk + (size_t)(kk + j) * wbs), &xv);
                } else p[j] = _mm256_setzero_si256();
            }
            _mm256_storeu_ps(fs, _mm256_cvtepi32_ps(x86_tree8(p)));
            _mm256_storeu_ps(sc, _mm256_mul_ps(_mm256_loadu_ps(dw + kk), _mm256_loadu_ps(dx + kk)));
            for (int j = 0; j < g; j++) sum = fmaf(fs[j], sc[j], sum);
        }
    }
    return sum;
}

/* decode (one activation row): 4 rows per tile (streams from memory better than 8 or 16
 * interleaved rows); a single row is the dot */
#define X86_Q_TILE(q4, R, B, n, y, ldy, w, ldw, x, ldx)                                          \
    ((R) == 1 && (B) == 1 ? (void)(*(y) = x86_q_dot((q4), (n), (w), (x)))                       \
                          : x86_q_tile((q4), (R), (B), (n), (y), (ldy), (w), (ldw), (x), (ldx)))
#define X86_Q8_0_TILE(...) X86_Q_TILE(0, __VA_ARGS__)
#define X86_Q4_0_TILE(...) X86_Q_TILE(1, __VA_ARGS__)
GEMM_TILES(x86_gemm_q8_0_q8_0, X86_Q8_0_TILE, 4, 4, 4)
GEMM_TILES(x86_gemm_q4_0_q8_0, X86_Q4_0_TILE, 4, 4, 4)

static inline float x86_dot_q8_0_q8_0(int n, const void *w, const void *x) { return x86_q_dot(0, n, (const char *)w, (const char *)x); }
static inline float x86_dot_q4_0_q8_0(int n, const void *w, const void *x) { return x86_q_dot(1, n, (const char *)w, (const char *)x); }

#if X86_512
/* ---- packed weights (Q8_0x16, Q4_0x16; layout above) with AVX-512 VNNI -----------------------
 * Lane r of a 512-bit register = row r of the group. Per superblock k and activation row b:
 *   isum = off[b][k] + sum_j vpdpbusd(chunk j as unsigned codes, 4 activation bytes broadcast)
 * with unsigned codes (Q8_0: stored as w + 128; Q4_0: q in 0..15, the low nibbles against
 * bytes 0..15 of the activation, the high ones against 16..31: those are taken as 16 q, byte
 * & 0xf0, and their sum shifted right by 4 at the end, exact) and the offset off = -8 sum x
 * (Q4_0) or -128 sum x (Q8_0) computed once per call for every (b, k) chunk below; then
 * acc = fma((float)isum, d_w * d_x, acc) for 16 rows at once: bitwise the dot.
 * The activation bytes are a broadcast memory operand of vpdpbusd (x86_dpbusd_bcst): one
 * instruction instead of two keeps more weight loads in flight (decode is bound by them).
 * Loops: activation rows in chunks of X86_NBX, blocks in chunks of kc (the offsets and
 * activation scales of a chunk, X86_OFFS entries at most, sit on the stack), groups, then tiles
 * of up to 4 activation rows, which reuse each unpacked weight register 4 times (prefill). The
 * 16 partial sums of a tile are kept in y between block chunks. Decode (nb = 1) has one block
 * chunk for rows up to 64K elements and walks X86_STREAMS quarters of the groups side by side:
 * four sequential streams keep more weight loads in flight than one (tools/BENCHMARKS.md has
 * the measurements behind X86_STREAMS and X86_PF_DECODE). */
#define X86_STREAMS 4
#define X86_PF_DECODE 1024   /* decode: software prefetch this far ahead in each stream */
#define X86_NBX 32
#define X86_OFFS 2048
X86_INLINE __m512i x86_dpbusd_bcst(__m512i acc, __m512i w, const void *p) {
#if defined(__clang__)   /* clang folds the broadcast load into vpdpbusd itself */
    int32_t a;
    memcpy(&a, p, 4);
    return _mm512_dpbusd_epi32(acc, w, _mm512_set1_epi32(a));
#else                    /* GCC keeps it a separate instruction: say it in assembly */
    __asm__("vpdpbusd %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(w), "m"(*(const int32_t *)p));
    return acc;
#endif
}
/* G groups (at gw, gw + gstride, ...; outputs at y, y + ygs, ...) x B activation rows,
 * G * B <= 4. The loads of the G groups interleave: G streams in flight. */
X86_INLINE void x86_x16_tile(const int q4, const int G, const int B, int m, int kc, int first, float *y, size_t ldy, size_t ygs,
                           const char *gw, size_t gstride, const char *x, size_t ldx, const int32_t *off, const float *dx) {
    const size_t sbs = (size_t)PACK_ROWS * (q4 ? sizeof(block_q4_0) : sizeof(block_q8_0));
    __m512 acc[4];
    for (int g = 0; g < G; g++)
        for (int b = 0; b < B; b++)
            acc[g * B + b] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(y + (size_t)b * ldy + (size_t)g * ygs);
    for (int kk = 0; kk < m; kk++) {
        const char *xq = x + (size_t)kk * sizeof(block_q8_0) + 2;
        __m512i is[4], is2[4];
        for (int g = 0; g < G; g++)
            for (int b = 0; b < B; b++) { is[g * B + b] = _mm512_set1_epi32(off[b * kc + kk]); is2[g * B + b] = _mm512_setzero_si512(); }
        for (int j = 0; j < (q4 ? 4 : 8); j++)
            for (int g = 0; g < G; g++) {
                const char *sb = gw + (size_t)g * gstride + (size_t)kk * sbs;
                if (B == 1) _mm_prefetch(sb + X86_PF_DECODE + 64 * j, _MM_HINT_T0);
                const __m512i v = _mm512_loadu_si512((const void *)(sb + 2 * PACK_ROWS + 64 * j));
                if (q4) {
                    const __m512i lo = _mm512_and_si512(v, _mm512_set1_epi8(0x0f));
                    const __m512i hi16 = _mm512_and_si512(v, _mm512_set1_epi8((char)0xf0));
                    for (int b = 0; b < B; b++) {
                        is[g * B + b] = x86_dpbusd_bcst(is[g * B + b], lo, xq + (size_t)b * ldx + 4 * j);
                        is2[g * B + b] = x86_dpbusd_bcst(is2[g * B + b], hi16, xq + (size_t)b * ldx + 16 + 4 * j);
                    }
                } else {
                    for (int b = 0; b < B; b++) {
                        if (j & 1) is2[g * B + b] = x86_dpbusd_bcst(is2[g * B + b], v, xq + (size_t)b * ldx + 4 * j);
                        else is[g * B + b] = x86_dpbusd_bcst(is[g * B + b], v, xq + (size_t)b * ldx + 4 * j);
                    }
                }
            }
        for (int g = 0; g < G; g++) {
            const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)(gw + (size_t)g * gstride + (size_t)kk * sbs)));
            for (int b = 0; b < B; b++) {
                const int o = g * B + b;
                is[o] = _mm512_add_epi32(is[o], q4 ? _mm512_srai_epi32(is2[o], 4) : is2[o]);
                acc[o] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is[o]), _mm512_mul_ps(dw, _mm512_set1_ps(dx[b * kc + kk])), acc[o]);
            }
        }
    }
    for (int g = 0; g < G; g++)
        for (int b = 0; b < B; b++) _mm512_storeu_ps(y + (size_t)b * ldy + (size_t)g * ygs, acc[g * B + b]);
}

X86_INLINE void x86_gemm_x16(const int q4, int n, int nr, int nb, float *y, size_t ldy, const char *w,
                           const char *x, size_t ldx) {
    const int nblk = n / QK, ng = nr / PACK_ROWS;
    const size_t sbs = (size_t)PACK_ROWS * (q4 ? sizeof(block_q4_0) : sizeof(block_q8_0)), xbs = sizeof(block_q8_0);
    int32_t off[X86_OFFS];
    float dx[X86_OFFS];
    for (int b0 = 0; b0 < nb; b0 += X86_NBX) {
        const int nbc = nb - b0 < X86_NBX ? nb - b0 : X86_NBX, kc = X86_OFFS / nbc;
        for (int k0 = 0; k0 < nblk; k0 += kc) {
            const int m = nblk - k0 < kc ? nblk - k0 : kc;
            for (int b = 0; b < nbc; b++)
                for (int kk = 0; kk < m; kk++) {
                    const block_q8_0 *xb = (const block_q8_0 *)(const void *)(x + (size_t)(b0 + b) * ldx + (size_t)(k0 + kk) * xbs);
                    int32_t sx = 0;
                    for (int i = 0; i < QK; i++) sx += xb->qs[i];
                    off[b * kc + kk] = (q4 ? -8 : -128) * sx;
                    dx[b * kc + kk] = fp16_to_fp32(xb->d);
                }
            if (nbc == 1) {   /* decode: X86_STREAMS streams, groups g, g + q, g + 2q, ... */
                const int q = ng / X86_STREAMS;
                const size_t gs = (size_t)q * nblk * sbs;
                for (int g = 0; g < q; g++)
                    x86_x16_tile(q4, X86_STREAMS, 1, m, kc, k0 == 0, y + (size_t)b0 * ldy + (size_t)g * PACK_ROWS, ldy, (size_t)q * PACK_ROWS,
                                w + ((size_t)g * nblk + (size_t)k0) * sbs, gs, x + (size_t)b0 * ldx + (size_t)k0 * xbs, ldx, off, dx);
                for (int g = q * X86_STREAMS; g < ng; g++)
                    x86_x16_tile(q4, 1, 1, m, kc, k0 == 0, y + (size_t)b0 * ldy + (size_t)g * PACK_ROWS, ldy, 0,
                                w + ((size_t)g * nblk + (size_t)k0) * sbs, 0, x + (size_t)b0 * ldx + (size_t)k0 * xbs, ldx, off, dx);
                continue;
            }
            for (int g = 0; g < ng; g++) {
                const char *gw = w + ((size_t)g * nblk + (size_t)k0) * sbs;
                for (int bt = 0; bt < nbc; bt += 4) {
                    float *yt = y + (size_t)(b0 + bt) * ldy + (size_t)g * PACK_ROWS;
                    const char *xt = x + (size_t)(b0 + bt) * ldx + (size_t)k0 * xbs;
                    const int32_t *ot = off + bt * kc;
                    const float *dt = dx + bt * kc;
                    switch (nbc - bt < 4 ? nbc - bt : 4) {
                    case 4: x86_x16_tile(q4, 1, 4, m, kc, k0 == 0, yt, ldy, 0, gw, 0, xt, ldx, ot, dt); break;
                    case 3: x86_x16_tile(q4, 1, 3, m, kc, k0 == 0, yt, ldy, 0, gw, 0, xt, ldx, ot, dt); break;
                    case 2: x86_x16_tile(q4, 1, 2, m, kc, k0 == 0, yt, ldy, 0, gw, 0, xt, ldx, ot, dt); break;
                    default: x86_x16_tile(q4, 1, 1, m, kc, k0 == 0, yt, ldy, 0, gw, 0, xt, ldx, ot, dt); break;
                    }
                }
            }
        }
    }
}
static inline void x86_gemm_q8_0_q8_0_x16(int n, int nr, int nb, float *y, size_t ldy, const void *w, size_t ldw,
                                         const void *x, size_t ldx) {
    (void)ldw;
    x86_gemm_x16(0, n, nr, nb, y, ldy, (const char *)w, (const char *)x, ldx);
}
static inline void x86_gemm_q4_0_q8_0_x16(int n, int nr, int nb, float *y, size_t ldy, const void *w, size_t ldw,
                                         const void *x, size_t ldx) {
    (void)ldw;
    x86_gemm_x16(1, n, nr, nb, y, ldy, (const char *)w, (const char *)x, ldx);
}
#endif /* X86_512 */

/* max|x[i]| over 8k elements, exact in any order: vmaxps returns its second operand when one
 * is NaN, and the running maximum is that operand, so NaN inputs are skipped (as fmaxf and the
 * reference's strict > skip them) */
X86_INLINE float x86_absmax(const float *x, int k) {
    const __m256 absm = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 mx = _mm256_setzero_ps();
    for (int j = 0; j < k; j++) mx = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(x + 8 * j), absm), mx);
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    return _mm_cvtss_f32(_mm_max_ss(m4, _mm_movehdup_ps(m4)));
}

/* 32 codes in four vectors of 8 int32 (each within -127..127) -> 32 bytes in order at dst */
X86_INLINE void x86_store_codes(int8_t *dst, const __m256i q[4]) {
    __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
    /* packs work per 128-bit half: dwords 0,4,1,5,2,6,3,7 -> 0..7 */
    p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)(void *)dst, p);
}

/* Q8_0 quantization, equal to the reference: max|x| is exact in any order (vmaxps returns its
 * second operand when one is NaN, so NaN inputs are skipped like fmaxf does), x * (127/max|x|)
 * is the same multiply, vroundps to nearest is rintf, and codes whose rounded value is not
 * within +-127 (NaN, inf) become 0. Eight blocks at a time: their maxima first, then
 * 127 / amax and the fp16 of amax / 127 for all eight in vector registers (vcvtps2ph rounds to
 * nearest even like fp32_to_fp16; d is never NaN), then the codes: the divisions and the fp16
 * conversion of one block after the other would sit in one dependency chain. */
static inline void x86_quantize_row_q8_0(int n, block_q8_0 *y, const float *x) {
    const __m256 absm = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    const int nblk = n / QK;
    for (int b0 = 0; b0 < nblk; b0 += 8) {
        const int m = nblk - b0 < 8 ? nblk - b0 : 8;
        const float *xb = x + (size_t)b0 * QK;
        float amax[8] = {0}, id[8];
        uint16_t dh[8];
        for (int b = 0; b < m; b++) amax[b] = x86_absmax(xb + b * QK, QK / 8);
        const __m256 am = _mm256_loadu_ps(amax);
        _mm256_storeu_ps(id, _mm256_and_ps(_mm256_div_ps(_mm256_set1_ps(127.0f), am), _mm256_cmp_ps(am, _mm256_setzero_ps(), _CMP_NEQ_OQ)));
        _mm_storeu_si128((__m128i *)(void *)dh, _mm256_cvtps_ph(_mm256_div_ps(am, _mm256_set1_ps(127.0f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        for (int b = 0; b < m; b++) {
            y[b0 + b].d = dh[b];
            const __m256 ib = _mm256_set1_ps(id[b]);
            __m256i q[4];
            for (int j = 0; j < 4; j++) {
                __m256 t = _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(xb + b * QK + 8 * j), ib), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
                __m256 ok = _mm256_cmp_ps(_mm256_and_ps(t, absm), _mm256_set1_ps(127.0f), _CMP_LE_OQ);   /* not NaN, inf */
                q[j] = _mm256_and_si256(_mm256_cvtps_epi32(t), _mm256_castps_si256(ok));
            }
            x86_store_codes(y[b0 + b].qs, q);
        }
    }
}

/* Q8_K quantization (the K-quants' activations), equal to the reference byte for byte:
 *   amax = max|x| over the block (x86_absmax: NaN inputs skipped);
 *   m    = the first element whose magnitude is amax (the reference's m: its running maximum
 *        only changes on a strictly larger magnitude), found 8 elements at a time by compare
 *        and the lowest mask bit; iscale = -127 / m and d = 1 / iscale as scalars;
 *   q    = rint(iscale * x) (one multiply, vroundps to nearest even), NaN -> 0, otherwise
 *        clamped to -127..127 (only an infinite iscale, from a subnormal m, reaches past it);
 *   bsums[s] = the sum of codes 16s..16s+15: the int32 codes of a group of 16 are two
 *        vectors, added, and 8 groups reduced at once by x86_tree8 (exact integers). */
static inline void x86_quantize_row_q8_K(int n, block_q8_K *y, const float *x) {
    const __m256 absm = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    const __m256 hi = _mm256_set1_ps(127.0f), lo = _mm256_set1_ps(-127.0f);
    for (int b = 0; b < n / QK_K; b++, x += QK_K) {
        const float amax = x86_absmax(x, QK_K / 8);
        float m = 0.0f;
        if (amax != 0.0f) {   /* some element has magnitude amax */
            const __m256 av = _mm256_set1_ps(amax);
            for (int j = 0; j < QK_K / 8; j++) {
                const int hit = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_and_ps(_mm256_loadu_ps(x + 8 * j), absm), av, _CMP_EQ_OQ));
                if (hit) { m = x[8 * j + __builtin_ctz((unsigned)hit)]; break; }
            }
        }
        const float iscale = amax != 0.0f ? -127.0f / m : 0.0f;
        y[b].d = amax != 0.0f ? 1.0f / iscale : 0.0f;
        const __m256 is = _mm256_set1_ps(iscale);
        __m256i s[16];
        for (int g = 0; g < QK_K / 32; g++) {
            __m256i q[4];
            for (int j = 0; j < 4; j++) {
                const __m256 t = _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + 32 * g + 8 * j), is), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
                const __m256 ok = _mm256_cmp_ps(t, t, _CMP_ORD_Q);   /* not NaN */
                q[j] = _mm256_and_si256(_mm256_cvtps_epi32(_mm256_max_ps(_mm256_min_ps(t, hi), lo)), _mm256_castps_si256(ok));
            }
            s[2 * g] = _mm256_add_epi32(q[0], q[1]);
            s[2 * g + 1] = _mm256_add_epi32(q[2], q[3]);
            x86_store_codes(y[b].qs + 32 * g, q);
        }
        /* packs per 128-bit half: sums 0-3, 8-11, 4-7, 12-15 -> 0..15 */
        const __m256i bs = _mm256_permute4x64_epi64(_mm256_packs_epi32(x86_tree8(s), x86_tree8(s + 8)), 0xd8);
        _mm256_storeu_si256((__m256i *)(void *)y[b].bsums, bs);
    }
}

/* ---- float dots and GEMM tiles (f32, f16, bf16 weights; f32 activations) -------------------
 * One 8-lane accumulator per output: exactly the reference's arithmetic (see above). Tiles of
 * R weight rows x B activation rows load each weight vector (and widen it) once for B rows and
 * each activation vector once for R rows; (R, B) in {4x4, 1x4, 8x1, 4x1, 1x1}. */
#define X86_W_F32(p) _mm256_loadu_ps((const float *)(const void *)(p))
#define X86_W_F16(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(p)))
#define X86_W_BF16(p) _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(const void *)(p))), 16))

X86_INLINE float x86_sum8(__m256 a) {   /* ((a0+a4)+(a2+a6)) + ((a1+a5)+(a3+a7)) */
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    return _mm_cvtss_f32(_mm_add_ss(h, _mm_movehdup_ps(h)));
}

#define X86_FLOAT_TILE(NAME, WT, LOADW)                                                             \
    X86_INLINE void NAME(const int R, const int B, int n, float *y, size_t ldy, const char *w,      \
                        size_t ldw, const char *x, size_t ldx) {                                   \
        __m256 acc[8][4];                                                                          \
        for (int r = 0; r < R; r++)                                                                \
            for (int b = 0; b < B; b++) acc[r][b] = _mm256_setzero_ps();                           \
        int i = 0;                                                                                 \
        for (; i + 8 <= n; i += 8) {                                                               \
            __m256 xv[4];                                                                          \
            for (int b = 0; b < B; b++) xv[b] = _mm256_loadu_ps((const float *)(const void *)(x + (size_t)b * ldx) + i); \
            for (int r = 0; r < R; r++) {                                                          \
                __m256 wv = LOADW((const WT *)(const void *)(w + (size_t)r * ldw) + i);            \
                for (int b = 0; b < B; b++) acc[r][b] = _mm256_fmadd_ps(wv, xv[b], acc[r][b]);     \
            }                                                                                      \
        }                                                                                          \
        if (i < n) { /* last n % 8 elements into lanes 0..n%8-1; the other lanes keep their sums */ \
            const int t = n - i;                                                                   \
            const __m256i keep = _mm256_cmpgt_epi32(_mm256_set1_epi32(t), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)); \
            float xt[4][8];                                                                        \
            WT wt[8];                                                                              \
            for (int b = 0; b < B; b++) {                                                          \
                memset(xt[b], 0, sizeof xt[b]);                                                    \
                memcpy(xt[b], (const float *)(const void *)(x + (size_t)b * ldx) + i, (size_t)t * sizeof(float)); \
            }                                                                                      \
            for (int r = 0; r < R; r++) {                                                          \
                memset(wt, 0, sizeof wt);                                                          \
                memcpy(wt, (const WT *)(const void *)(w + (size_t)r * ldw) + i, (size_t)t * sizeof(WT)); \
                __m256 wv = LOADW(wt);                                                             \
                for (int b = 0; b < B; b++)                                                        \
                    acc[r][b] = _mm256_blendv_ps(acc[r][b], _mm256_fmadd_ps(wv, _mm256_loadu_ps(xt[b]), acc[r][b]), \
                                                 _mm256_castsi256_ps(keep));                       \
            }                                                                                      \
        }                                                                                          \
        for (int r = 0; r < R; r++)                                                                \
            for (int b = 0; b < B; b++) y[(size_t)b * ldy + r] = x86_sum8(acc[r][b]);               \
    }
X86_FLOAT_TILE(x86_tile_f32, float, X86_W_F32)
X86_FLOAT_TILE(x86_tile_f16, uint16_t, X86_W_F16)
X86_FLOAT_TILE(x86_tile_bf16, uint16_t, X86_W_BF16)

#define X86_FLOAT_KERNELS(SFX)                                                                      \
    static inline float x86_dot_##SFX##_f32(int n, const void *w, const void *x) {                  \
        float y;                                                                                   \
        x86_tile_##SFX(1, 1, n, &y, 1, (const char *)w, 0, (const char *)x, 0);                     \
        return y;                                                                                  \
    }                                                                                              \
    GEMM_TILES(x86_gemm_##SFX##_f32, x86_tile_##SFX, 4, 8, 4)
X86_FLOAT_KERNELS(f32)
X86_FLOAT_KERNELS(f16)
X86_FLOAT_KERNELS(bf16)

/* The same dots on x86 (AVX2), 32 codes per step as above: vpmaddubsw multiplies the
 * unsigned codes (Q4_K 0..15, Q5_K 0..31, Q6_K 0..63) with the activation bytes and adds
 * pairs into int16 (at most 2 * 63 * 128 = 16128: no saturation), vpmaddwd multiplies those by the sub-block
 * scale and adds pairs into the 8 int32 lanes of the accumulator. For Q6_K the low 128 bits
 * of a step hold elements 0..15 (sub-block 2k) and the high 128 bits elements 16..31 (2k+1),
 * so its scale vector has one scale per half. (Portable C versions written for
 * auto-vectorization ran slower than the reference: hence intrinsics.) */
X86_INLINE int32_t x86_hsum_i32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}
X86_INLINE __m256i x86_kq_step(__m256i acc, __m256i q, const int8_t *y, __m256i scale) {
    const __m256i p = _mm256_maddubs_epi16(q, _mm256_loadu_si256((const __m256i *)(const void *)y));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(p, scale));
}

/* Q4_K's 12 scale bytes as 8 scales (bytes 0..7) and 8 mins (bytes 8..15), the table above
 * applied to 4 bytes at a time */
X86_INLINE __m128i x86_q4_K_scales(const uint8_t *p) {
    uint32_t w[3];
    memcpy(w, p, 12);
    return _mm_setr_epi32((int)(w[0] & 0x3f3f3f3fu),                                          /* sc[0..3] */
                          (int)((w[2] & 0x0f0f0f0fu) | ((w[0] >> 6) & 0x03030303u) << 4),     /* sc[4..7] */
                          (int)(w[1] & 0x3f3f3f3fu),                                          /* m[0..3] */
                          (int)(((w[2] >> 4) & 0x0f0f0f0fu) | ((w[1] >> 6) & 0x03030303u) << 4));   /* m[4..7] */
}

/* rows bodies (see KQ_ROW_KERNELS): the weight codes are unpacked once per step */
/* byte-shuffle index (within each 128-bit lane) that broadcasts int16 element s of 8 */
#define X86_SC_IDX(s) ((short)(0x0100 + 0x0202 * (s)))
/* Q4_K and Q5_K (q5: + 16 * the code's bit of qh, see the layout table; the two layouts
 * differ only in qh and the offset of qs) */
X86_INLINE void x86_q45_K_rows(const int q5, const int B, int n, const void *w, const char *x, size_t ldx, float *out, size_t ldo) {
    const size_t bsz = q5 ? sizeof(block_q5_K) : sizeof(block_q4_K);
    float sum[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int k = 0; k < n / QK_K; k++) {
        const block_q4_K *a = (const block_q4_K *)(const void *)((const char *)w + (size_t)k * bsz);   /* d, dmin, scales */
        const uint8_t *qs = q5 ? ((const block_q5_K *)(const void *)a)->qs : a->qs;
        const __m256i qh = q5 ? _mm256_loadu_si256((const __m256i *)(const void *)((const block_q5_K *)(const void *)a)->qh) : _mm256_setzero_si256();
        const __m128i sm = x86_q4_K_scales(a->scales), mins = _mm_cvtepu8_epi16(_mm_srli_si128(sm, 8));
        int32_t msum[4], isum[4];
        for (int b = 0; b < B; b++) {
            /* msum = sum_s m[s] * (bsums[2s] + bsums[2s+1]): pairs by hadd (|pair| <= 4096),
             * then one multiply-add of int16 into int32 */
            const int16_t *bsums = KQ_ROW(b, k)->bsums;
            const __m128i bs = _mm_hadd_epi16(_mm_loadu_si128((const __m128i *)(const void *)bsums),
                                              _mm_loadu_si128((const __m128i *)(const void *)(bsums + 8)));
            const __m128i mp = _mm_madd_epi16(mins, bs);
            __m128i ms = _mm_add_epi32(mp, _mm_shuffle_epi32(mp, 0x4e));
            msum[b] = _mm_cvtsi128_si32(_mm_add_epi32(ms, _mm_shuffle_epi32(ms, 0xb1)));
        }
#if X86_512
        /* one 512-bit step per chunk: low nibbles in the low 256 bits, high nibbles in the high
         * 256 bits, against the chunk's 64 activation bytes; scales 2c (low) and 2c + 1 (high) */
        const __m512i sc16 = _mm512_broadcast_i32x4(_mm_cvtepu8_epi16(sm));
        __m512i acc[4];
        for (int b = 0; b < B; b++) acc[b] = _mm512_setzero_si512();
        for (int c = 0; c < QK_K / 64; c++) {
            const __m256i q = _mm256_loadu_si256((const __m256i *)(const void *)(qs + 32 * c));
            __m512i qq = _mm512_and_si512(_mm512_inserti64x4(_mm512_castsi256_si512(q), _mm256_srli_epi16(q, 4), 1), _mm512_set1_epi8(15));
            if (q5) {   /* bit 2c of qh for the low nibbles, 2c + 1 for the high ones, as 16 */
                const __m512i hb = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_srli_epi16(qh, 2 * c)), _mm256_srli_epi16(qh, 2 * c + 1), 1);
                qq = _mm512_or_si512(qq, _mm512_slli_epi16(_mm512_and_si512(hb, _mm512_set1_epi8(1)), 4));
            }
            const __m512i sc = _mm512_shuffle_epi8(sc16, _mm512_inserti64x4(_mm512_set1_epi16(X86_SC_IDX(2 * c)),
                                                                            _mm256_set1_epi16(X86_SC_IDX(2 * c + 1)), 1));
            for (int b = 0; b < B; b++) {
                const __m512i p = _mm512_maddubs_epi16(qq, _mm512_loadu_si512((const void *)(KQ_ROW(b, k)->qs + 64 * c)));
                acc[b] = _mm512_add_epi32(acc[b], _mm512_madd_epi16(p, sc));
            }
        }
        for (int b = 0; b < B; b++) isum[b] = _mm512_reduce_add_epi32(acc[b]);
#else
        /* the 8 scales as int16, in both 128-bit halves; scale s broadcast by a byte shuffle */
        const __m256i sc16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sm)), m4 = _mm256_set1_epi8(15);
        __m256i acc[4];
        for (int b = 0; b < B; b++) acc[b] = _mm256_setzero_si256();
        for (int c = 0; c < QK_K / 64; c++) {
            const __m256i s0 = _mm256_shuffle_epi8(sc16, _mm256_set1_epi16(X86_SC_IDX(2 * c)));
            const __m256i s1 = _mm256_shuffle_epi8(sc16, _mm256_set1_epi16(X86_SC_IDX(2 * c + 1)));
            const __m256i q = _mm256_loadu_si256((const __m256i *)(const void *)(qs + 32 * c));
            __m256i lo = _mm256_and_si256(q, m4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
            if (q5) {   /* bit 2c of qh for the low nibbles, 2c + 1 for the high ones, as 16 */
                const __m256i one = _mm256_set1_epi8(1);
                lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c), one), 4));
                hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c + 1), one), 4));
            }
            for (int b = 0; b < B; b++) {
                acc[b] = x86_kq_step(acc[b], lo, KQ_ROW(b, k)->qs + 64 * c, s0);
                acc[b] = x86_kq_step(acc[b], hi, KQ_ROW(b, k)->qs + 64 * c + 32, s1);
            }
        }
        for (int b = 0; b < B; b++) isum[b] = x86_hsum_i32(acc[b]);
#endif
        const float d = _cvtsh_ss(a->d), dmin = _cvtsh_ss(a->dmin);
        for (int b = 0; b < B; b++) KQ_ACCUMULATE(sum[b], isum[b], msum[b], d, dmin, KQ_ROW(b, k)->d);
    }
    for (int b = 0; b < B; b++) out[(size_t)b * ldo] = sum[b];
}

/* byte-shuffle index that broadcasts int16 element s to the low 128-bit lane and s + 1 to the
 * high one */
#define X86_SC_PAIR(s) _mm256_setr_m128i(_mm_set1_epi16(X86_SC_IDX(s)), _mm_set1_epi16(X86_SC_IDX((s) + 1)))
X86_INLINE void x86_q6_K_rows(const int B, int n, const void *w, const char *x, size_t ldx, float *out, size_t ldo) {
    const block_q6_K *a = (const block_q6_K *)w;
    const __m256i m4 = _mm256_set1_epi8(15), m30 = _mm256_set1_epi8(0x30);
    float sum[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int k = 0; k < n / QK_K; k++) {
        __m256i acc[4];
        int32_t off[4];
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)a[k].scales));
        for (int b = 0; b < B; b++) {
            /* off = sum_s sc[s] * bsums[s], 16 int16 products summed pairwise into int32 */
            off[b] = x86_hsum_i32(_mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i *)(const void *)KQ_ROW(b, k)->bsums)));
            acc[b] = _mm256_setzero_si256();
        }
        for (int h = 0; h < 2; h++) {
            const __m256i l0 = _mm256_loadu_si256((const __m256i *)(const void *)(a[k].ql + 64 * h));
            const __m256i l1 = _mm256_loadu_si256((const __m256i *)(const void *)(a[k].ql + 64 * h + 32));
            const __m256i qh = _mm256_loadu_si256((const __m256i *)(const void *)(a[k].qh + 32 * h));
            /* the half's 8 scales as int16 in both 128-bit lanes; step k takes scale 2k in the
             * low lane and 2k + 1 in the high lane (byte shuffle) */
            const __m256i s16 = _mm256_broadcastsi128_si256(
                _mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i *)(const void *)(a[k].scales + 8 * h))));
            /* shifts of 16-bit lanes: the masks keep each byte's own bits */
            const __m256i q[4] = {
                _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m30)),
                _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m30)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(qh, m30)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4), _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30))};
            const __m256i s[4] = {_mm256_shuffle_epi8(s16, X86_SC_PAIR(0)), _mm256_shuffle_epi8(s16, X86_SC_PAIR(2)),
                                  _mm256_shuffle_epi8(s16, X86_SC_PAIR(4)), _mm256_shuffle_epi8(s16, X86_SC_PAIR(6))};
            for (int j = 0; j < 4; j++)
                for (int b = 0; b < B; b++) acc[b] = x86_kq_step(acc[b], q[j], KQ_ROW(b, k)->qs + 128 * h + 32 * j, s[j]);
        }
        const float d = _cvtsh_ss(a[k].d);
        for (int b = 0; b < B; b++) sum[b] = fmaf((float)(x86_hsum_i32(acc[b]) - 32 * off[b]), d * KQ_ROW(b, k)->d, sum[b]);
    }
    for (int b = 0; b < B; b++) out[(size_t)b * ldo] = sum[b];
}
#undef X86_SC_IDX
#undef X86_SC_PAIR

X86_INLINE void x86_q4_K_rows(const int B, int n, const void *w, const char *x, size_t ldx, float *out, size_t ldo) {
    x86_q45_K_rows(0, B, n, w, x, ldx, out, ldo);
}
X86_INLINE void x86_q5_K_rows(const int B, int n, const void *w, const char *x, size_t ldx, float *out, size_t ldo) {
    x86_q45_K_rows(1, B, n, w, x, ldx, out, ldo);
}
KQ_ROW_KERNELS(x86, q4_K, X86_INLINE, 4)
KQ_ROW_KERNELS(x86, q5_K, X86_INLINE, 4)
KQ_ROW_KERNELS(x86, q6_K, X86_INLINE, 4)

#if X86_512
/* ---- packed K-quants (Q2_Kx16 .. Q6_Kx16) with AVX-512 VNNI -----------------------------------
 * The same idea as Q4_0x16: 16 rows interleaved, super-block by super-block (k = 0, 1, ...),
 * so that lane r of a 512-bit register is row r and vpdpbusd against 4 activation bytes
 * broadcast accumulates 4 elements of 16 rows at once. A group's super-block k holds exactly
 * the bytes of super-block k of its 16 rows, regrouped (offsets in bytes):
 *   Q4_Kx16 (2304 bytes)
 *     0     d[r]                      fp16, r = 0..15
 *     32    dmin[r]                   fp16
 *     64    byte j (0..11) of the scales of row r at 64 + 16j + r: a 64-byte load holds
 *           bytes 0..3 (or 4..7, 8..11) of 16 rows, 128-bit lane j = byte j; the 6-bit
 *           scales and mins of all 16 rows are decoded from these three loads at once
 *     256   byte i (0..127) of the codes (qs) of row r at 256 + 64(i/4) + 4r + i%4
 *   Q5_Kx16 (2816 bytes): as Q4_Kx16 up to the scales, then
 *     256   byte i (0..31) of qh of row r at 256 + 64(i/4) + 4r + i%4
 *     768   byte i (0..127) of qs of row r at 768 + 64(i/4) + 4r + i%4
 *   Q6_Kx16 (3360 bytes)
 *     0     d[r]                      fp16
 *     32    scales in pairs: scale 2t + e (t = 0..7, e = 0, 1) of row r at 32 + 32t + 2r + e, int8,
 *           so that one load widened to int16 gives each row's pair of scales in its 32-bit lane
 *     288   the codes, in the order the tile reads them: for half h and j = 0..7, 192 bytes at
 *           288 + 192(8h + j): bytes 64h + 4j.. of ql (A), bytes 64h + 32 + 4j.. of ql (B) and
 *           bytes 32h + 4j.. of qh (C), 4 of each row r at 4r (so one sequential stream)
 *   Q2_Kx16 (1344 bytes)
 *     0     d[r], 32 dmin[r]           fp16
 *     64    the scale bytes (scale and min) in pairs, as Q6_K's: byte 2t + e of row r at
 *           64 + 32t + 2r + e
 *     320   byte i (0..63) of qs of row r at 320 + 64(i/4) + 4r + i%4
 *   Q3_Kx16 (1760 bytes)
 *     0     d[r]                       fp16
 *     32    byte j (0..11) of the scales of row r at 32 + 16j + r (as Q4_K's)
 *     224   byte i (0..31) of hmask of row r at 224 + 64(i/4) + 4r + i%4
 *     736   byte i (0..63) of qs of row r at 736 + 64(i/4) + 4r + i%4
 * Packing and unpacking are one byte map (kq_x16_pos), applied one way or the other.
 * Per super-block and sub-block s the integer sum of each row is exact in int32 (as in the
 * dot), multiplied by its scale lane by lane (vpmulld); the mins (Q4_K) and the code offset
 * (Q6_K) go through the activation's bsums with vpdpwssd (int16 pairs: scale or min pairs of
 * the row, bsums of the activation); then the float steps of the dot for 16 rows at once:
 * bitwise the dot of each row. */
#define KQ_X16_Q4K (PACK_ROWS * sizeof(block_q4_K))
#define KQ_X16_Q5K (PACK_ROWS * sizeof(block_q5_K))
#define KQ_X16_Q6K (PACK_ROWS * sizeof(block_q6_K))
#define KQ_X16_Q2K (PACK_ROWS * sizeof(block_q2_K))
#define KQ_X16_Q3K (PACK_ROWS * sizeof(block_q3_K))
/* where byte i of super-block k of row r goes inside the group's super-block k */
static inline size_t kq_x16_pos(int type, int i, int r) {
    if (type == T_Q4_K || type == T_Q5_K) {
        if (i < 4) return (size_t)(32 * (i / 2) + 2 * r + i % 2);                       /* d, dmin */
        if (i < 16) return (size_t)(64 + 16 * (i - 4) + r);                             /* scales */
        return (size_t)(256 + 64 * ((i - 16) / 4) + 4 * r + (i - 16) % 4);              /* (qh,) qs */
    }
    if (type == T_Q3_K) {
        if (i < 32) return (size_t)(224 + 64 * (i / 4) + 4 * r + i % 4);                 /* hmask */
        if (i < 96) return (size_t)(736 + 64 * ((i - 32) / 4) + 4 * r + (i - 32) % 4);   /* qs */
        if (i < 108) return (size_t)(32 + 16 * (i - 96) + r);                           /* scales */
        return (size_t)(2 * r + i - 108);                                               /* d */
    }
    if (type == T_Q2_K) {
        if (i < 16) return (size_t)(64 + 32 * (i / 2) + 2 * r + i % 2);                  /* scales */
        if (i < 80) return (size_t)(320 + 64 * ((i - 16) / 4) + 4 * r + (i - 16) % 4);   /* qs */
        return (size_t)(32 * ((i - 80) / 2) + 2 * r + i % 2);                           /* d, dmin */
    }
    if (i < 128) return (size_t)(288 + 192 * (8 * (i / 64) + i % 32 / 4) + 64 * (i % 64 / 32) + 4 * r + i % 4);   /* ql */
    if (i < 192) return (size_t)(288 + 192 * (8 * ((i - 128) / 32) + (i - 128) % 32 / 4) + 128 + 4 * r + i % 4); /* qh */
    if (i < 208) return (size_t)(32 + 32 * ((i - 192) / 2) + 2 * r + i % 2);             /* scales */
    return (size_t)(2 * r + i - 208);                                                   /* d */
}
static inline void kq_pack_x16(int type, int n, void *group, const void *src, size_t ld) {
    const size_t bs = type == T_Q2_K ? sizeof(block_q2_K) : type == T_Q3_K ? sizeof(block_q3_K) : type == T_Q4_K ? sizeof(block_q4_K) : type == T_Q5_K ? sizeof(block_q5_K) : sizeof(block_q6_K);
    for (int k = 0; k < n / QK_K; k++)
        for (int r = 0; r < PACK_ROWS; r++)
            for (int i = 0; i < (int)bs; i++)
                ((uint8_t *)group)[(size_t)k * PACK_ROWS * bs + kq_x16_pos(type, i, r)] =
                    ((const uint8_t *)src)[(size_t)r * ld + (size_t)k * bs + (size_t)i];
}
static inline void kq_unpack_row_x16(int type, int n, void *dst, const void *group, int r) {
    const size_t bs = type == T_Q2_K ? sizeof(block_q2_K) : type == T_Q3_K ? sizeof(block_q3_K) : type == T_Q4_K ? sizeof(block_q4_K) : type == T_Q5_K ? sizeof(block_q5_K) : sizeof(block_q6_K);
    for (int k = 0; k < n / QK_K; k++)
        for (int i = 0; i < (int)bs; i++)
            ((uint8_t *)dst)[(size_t)k * bs + (size_t)i] = ((const uint8_t *)group)[(size_t)k * PACK_ROWS * bs + kq_x16_pos(type, i, r)];
}
static inline void pack_q4_K_x16(int n, void *group, const void *src, size_t ld) { kq_pack_x16(T_Q4_K, n, group, src, ld); }
static inline void pack_q2_K_x16(int n, void *group, const void *src, size_t ld) { kq_pack_x16(T_Q2_K, n, group, src, ld); }
static inline void unpack_row_q2_K_x16(int n, void *dst, const void *group, int r) { kq_unpack_row_x16(T_Q2_K, n, dst, group, r); }
static inline void pack_q3_K_x16(int n, void *group, const void *src, size_t ld) { kq_pack_x16(T_Q3_K, n, group, src, ld); }
static inline void unpack_row_q3_K_x16(int n, void *dst, const void *group, int r) { kq_unpack_row_x16(T_Q3_K, n, dst, group, r); }
static inline void pack_q5_K_x16(int n, void *group, const void *src, size_t ld) { kq_pack_x16(T_Q5_K, n, group, src, ld); }
static inline void pack_q6_K_x16(int n, void *group, const void *src, size_t ld) { kq_pack_x16(T_Q6_K, n, group, src, ld); }
static inline void unpack_row_q5_K_x16(int n, void *dst, const void *group, int r) { kq_unpack_row_x16(T_Q5_K, n, dst, group, r); }
static inline void unpack_row_q4_K_x16(int n, void *dst, const void *group, int r) { kq_unpack_row_x16(T_Q4_K, n, dst, group, r); }
static inline void unpack_row_q6_K_x16(int n, void *dst, const void *group, int r) { kq_unpack_row_x16(T_Q6_K, n, dst, group, r); }

/* int16 pairs (a[r], b[r]) of two 16-byte vectors of unsigned bytes, as lane r */
X86_INLINE __m512i x86_pair_u8(__m128i a, __m128i b) {
    return _mm512_cvtepu8_epi16(_mm256_setr_m128i(_mm_unpacklo_epi8(a, b), _mm_unpackhi_epi8(a, b)));
}

/* bits moved left by s (right by -s) in 16-bit lanes */
X86_INLINE __m512i x86_shift16(__m512i v, const int s) { return s >= 0 ? _mm512_slli_epi16(v, (unsigned)s) : _mm512_srli_epi16(v, (unsigned)-s); }

/* Decode (one activation row) of the packed K-quants: the GEMM walks STREAMS parts of a
 * thread's groups side by side (X86_KQ_X16_GEMM below: two for Q2_K, Q4_K and Q6_K, three
 * for Q5_K, four, as Q4_0, for Q3_K), with a software prefetch X86_KQ_PF bytes ahead in each
 * part (X86_KQ_PF_Q6 for Q6_K's larger super-blocks, X86_PF_DECODE for Q3_K). Fewer streams
 * than Q4_0's four because a K-quant tile keeps per group a super-block's decoded scales and
 * more partial sums, and four groups of them do not fit the 32 vector registers; which count
 * and distance stream fastest per type is measured (tools/BENCHMARKS.md). */
#define X86_KQ_PF 2048
#define X86_KQ_PF_Q6 4096
/* a 512-bit load kept as one instruction: GCC otherwise folds the load into each instruction
 * that uses the value (Q6_K's three code vectors feed four shifts or masks each), which loads
 * the same line up to four times, and the loads are what limits the Q6_K tile. The empty asm
 * only hides the value from that folding; it emits nothing. */
X86_INLINE __m512i x86_load_once(const void *p) {
    __m512i v = _mm512_loadu_si512(p);
    __asm__("" : "+v"(v));
    return v;
}

/* Q4_Kx16 and Q5_Kx16 (q5): G groups (gw, gw + gstride, ...; outputs y, y + ygs, ...) x B
 * activation rows, G * B <= 4, all nsb super-blocks; the weight loads of the G groups
 * interleave (decode). Q5_K: bit 2c (low nibbles) or 2c + 1 (high nibbles) of qh moved to bit 4
 * and merged with the nibble by a bit select (vpternlogd). */
X86_INLINE void x86_q45_K_x16_tile(const int q5, const int G, const int B, int nsb, float *y, size_t ldy, size_t ygs,
                                 const char *gw, size_t gstride, const char *x, size_t ldx) {
    const size_t sbs = q5 ? KQ_X16_Q5K : KQ_X16_Q4K, qso = q5 ? 768 : 256;
    __m512 acc[4];
    for (int o = 0; o < G * B; o++) acc[o] = _mm512_setzero_ps();
    const __m512i m0f = _mm512_set1_epi8(0x0f), mf0 = _mm512_set1_epi8((char)0xf0), m3f = _mm512_set1_epi8(0x3f),
                  m30 = _mm512_set1_epi8(0x30);
    for (int k = 0; k < nsb; k++) {
        /* the activation's sums of sub-blocks (bsums in pairs), int16 pairs (P[2t], P[2t+1]) */
        int32_t pp[4][4];
        for (int b = 0; b < B; b++) {
            const int16_t *bsums = KQ_ROW(b, k)->bsums;
            _mm_storeu_si128((__m128i *)(void *)pp[b], _mm_hadd_epi16(_mm_loadu_si128((const __m128i *)(const void *)bsums),
                                                                    _mm_loadu_si128((const __m128i *)(const void *)(bsums + 8))));
        }
        __m512i sc[4][8], isum[4], msum[4];
        for (int g = 0; g < G; g++) {
            const char *sb = gw + (size_t)g * gstride + (size_t)k * sbs;
            const __m512i s0 = _mm512_loadu_si512((const void *)(sb + 64)), s1 = _mm512_loadu_si512((const void *)(sb + 128)),
                          s2 = _mm512_loadu_si512((const void *)(sb + 192));
            /* 128-bit lane j: scale j, min j, scale j + 4, min j + 4 of the 16 rows */
            const __m512i scl = _mm512_and_si512(s0, m3f), mnl = _mm512_and_si512(s1, m3f);
            const __m512i sch = _mm512_or_si512(_mm512_and_si512(s2, m0f), _mm512_and_si512(_mm512_srli_epi16(s0, 2), m30));
            const __m512i mnh = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(s2, 4), m0f), _mm512_and_si512(_mm512_srli_epi16(s1, 2), m30));
            sc[g][0] = _mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(scl, 0));
            sc[g][1] = _mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(scl, 1));
            sc[g][2] = _mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(scl, 2));
            sc[g][3] = _mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(scl, 3));
            sc[g][4] = _mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(sch, 0));
            sc[g][5] = _mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(sch, 1));
            sc[g][6] = _mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(sch, 2));
            sc[g][7] = _mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(sch, 3));
            /* msum = sum_s m[s] * P[s]: int16 pairs of mins against pairs of P */
            const __m512i mp[4] = {x86_pair_u8(_mm512_extracti32x4_epi32(mnl, 0), _mm512_extracti32x4_epi32(mnl, 1)),
                                   x86_pair_u8(_mm512_extracti32x4_epi32(mnl, 2), _mm512_extracti32x4_epi32(mnl, 3)),
                                   x86_pair_u8(_mm512_extracti32x4_epi32(mnh, 0), _mm512_extracti32x4_epi32(mnh, 1)),
                                   x86_pair_u8(_mm512_extracti32x4_epi32(mnh, 2), _mm512_extracti32x4_epi32(mnh, 3))};
            for (int b = 0; b < B; b++) {
                __m512i ms = _mm512_setzero_si512();
                for (int t = 0; t < 4; t++) ms = _mm512_dpwssd_epi32(ms, mp[t], _mm512_set1_epi32(pp[b][t]));
                msum[g * B + b] = ms;
                isum[g * B + b] = _mm512_setzero_si512();
            }
        }
        for (int c = 0; c < QK_K / 64; c++) {
            __m512i lo[4], hi[4];
            for (int o = 0; o < G * B; o++) lo[o] = hi[o] = _mm512_setzero_si512();
            for (int j = 0; j < 8; j++)
                for (int g = 0; g < G; g++) {
                    const char *q = gw + (size_t)g * gstride + (size_t)k * sbs + qso + 512 * c + 64 * j;
                    if (B == 1) _mm_prefetch(q + X86_KQ_PF, _MM_HINT_T0);
                    const __m512i v = _mm512_loadu_si512((const void *)q);
                    __m512i vl, vh;   /* Q4_K: vh = 16 * code */
                    if (q5) {
                        const __m512i h = _mm512_loadu_si512((const void *)(gw + (size_t)g * gstride + (size_t)k * sbs + 256 + 64 * j));
                        const __m512i m10 = _mm512_set1_epi8(0x10);
                        vl = _mm512_ternarylogic_epi32(_mm512_and_si512(x86_shift16(h, 4 - 2 * c), m10), v, m0f, 0xd8);
                        vh = _mm512_ternarylogic_epi32(_mm512_and_si512(x86_shift16(h, 3 - 2 * c), m10), _mm512_srli_epi16(v, 4), m0f, 0xd8);
                    } else {
                        vl = _mm512_and_si512(v, m0f);
                        vh = _mm512_and_si512(v, mf0);
                    }
                    for (int b = 0; b < B; b++) {
                        const int8_t *xq = KQ_ROW(b, k)->qs + 64 * c + 4 * j;
                        lo[g * B + b] = x86_dpbusd_bcst(lo[g * B + b], vl, xq);
                        hi[g * B + b] = x86_dpbusd_bcst(hi[g * B + b], vh, xq + 32);
                    }
                }
            for (int g = 0; g < G; g++)
                for (int b = 0; b < B; b++) {
                    const int o = g * B + b;
                    isum[o] = _mm512_add_epi32(isum[o], _mm512_add_epi32(_mm512_mullo_epi32(lo[o], sc[g][2 * c]),
                                                                         _mm512_mullo_epi32(q5 ? hi[o] : _mm512_srai_epi32(hi[o], 4), sc[g][2 * c + 1])));
                }
        }
        for (int g = 0; g < G; g++) {
            const char *sb = gw + (size_t)g * gstride + (size_t)k * sbs;
            const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)sb));
            const __m512 dmin = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)(sb + 32)));
            for (int b = 0; b < B; b++) {
                const int o = g * B + b;
                const __m512 dx = _mm512_set1_ps(KQ_ROW(b, k)->d);
                acc[o] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[o]), _mm512_mul_ps(d, dx), acc[o]);
                acc[o] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_setzero_si512(), msum[o])), _mm512_mul_ps(dmin, dx), acc[o]);
            }
        }
    }
    for (int g = 0; g < G; g++)
        for (int b = 0; b < B; b++) _mm512_storeu_ps(y + (size_t)b * ldy + (size_t)g * ygs, acc[g * B + b]);
}

/* Q6_Kx16, Q2_Kx16 (q2) and Q3_Kx16 (q3): as the Q4_Kx16 tile, with sub-blocks of 16. Per
 * half h and l = 4j'..4j'+3 the codes of quarters 0..3 of 16 rows:
 *   Q6_K: from 4 bytes of ql (A: bytes 64h + l, B: 64h + 32 + l) and of qh (C: 32h + l): low 4
 *         bits from a nibble of A or B, bits 4-5 from C (bit select by vpternlogd);
 *   Q2_K: from 4 bytes of qs (32h + l), quarter q as its two bits in place (4^q * code), the
 *         sums shifted right by 2q (exact);
 *   Q3_K: the two bits of qs as Q2_K's, moved down, and bit 4h + q of hmask (l) as bit 2.
 * The code offsets (Q6_K 32, Q3_K 4) go through the bsums weighted by the scales, Q2_K's mins
 * through the bsums weighted by the mins. Q3_K's 6-bit scales (stored + 32) are decoded for
 * the 16 rows from three loads, as Q4_K's. */
X86_INLINE void x86_q236_K_x16_tile(const int q2, const int q3, const int G, const int B, int nsb, float *y, size_t ldy, size_t ygs,
                                  const char *gw, size_t gstride, const char *x, size_t ldx) {
    const size_t sbs = q2 ? KQ_X16_Q2K : q3 ? KQ_X16_Q3K : KQ_X16_Q6K, spo = q2 ? 64 : 32;
    __m512 acc[4];
    for (int o = 0; o < G * B; o++) acc[o] = _mm512_setzero_ps();
    const __m512i m0f = _mm512_set1_epi8(0x0f), m30 = _mm512_set1_epi8(0x30);
    for (int k = 0; k < nsb; k++) {
        __m512i isum[4], off[4], sp[4][8];
        for (int g = 0; g < G; g++) {
            const char *sb = gw + (size_t)g * gstride + (size_t)k * sbs;
            /* off = sum_s sc[s] * bsums[s] (Q6_K) or sum_s m[s] * bsums[s] (Q2_K): int16 pairs of
             * scales (mins) against pairs of bsums */
            __m512i mp[8];
            if (q3) {   /* lane j of L[i]: scale 4i + j (+ 32) of the 16 rows */
                const __m512i b0 = _mm512_loadu_si512((const void *)(sb + 32)), b1 = _mm512_loadu_si512((const void *)(sb + 96)),
                              b2 = _mm512_loadu_si512((const void *)(sb + 160));
                const __m512i L[4] = {_mm512_ternarylogic_epi32(_mm512_and_si512(_mm512_slli_epi16(b2, 4), m30), b0, m0f, 0xd8),
                                      _mm512_ternarylogic_epi32(_mm512_and_si512(_mm512_slli_epi16(b2, 2), m30), b1, m0f, 0xd8),
                                      _mm512_ternarylogic_epi32(_mm512_and_si512(b2, m30), _mm512_srli_epi16(b0, 4), m0f, 0xd8),
                                      _mm512_ternarylogic_epi32(_mm512_and_si512(_mm512_srli_epi16(b2, 2), m30), _mm512_srli_epi16(b1, 4), m0f, 0xd8)};
                const __m512i m32 = _mm512_set1_epi16(32);
                for (int i = 0; i < 4; i++) {   /* the lane numbers are immediates: constants at -O0 too */
                    sp[g][2 * i] = mp[2 * i] =
                        _mm512_sub_epi16(x86_pair_u8(_mm512_extracti32x4_epi32(L[i], 0), _mm512_extracti32x4_epi32(L[i], 1)), m32);
                    sp[g][2 * i + 1] = mp[2 * i + 1] =
                        _mm512_sub_epi16(x86_pair_u8(_mm512_extracti32x4_epi32(L[i], 2), _mm512_extracti32x4_epi32(L[i], 3)), m32);
                }
            } else for (int t = 0; t < 8; t++) {
                const __m256i p8 = _mm256_loadu_si256((const __m256i *)(const void *)(sb + spo + 32 * t));
                if (q2) {
                    const __m512i p16 = _mm512_cvtepu8_epi16(p8);
                    sp[g][t] = _mm512_and_si512(p16, _mm512_set1_epi16(15));
                    mp[t] = _mm512_srli_epi16(p16, 4);
                } else sp[g][t] = mp[t] = _mm512_cvtepi8_epi16(p8);
            }
            for (int b = 0; b < B; b++) {
                const int16_t *bsums = KQ_ROW(b, k)->bsums;
                __m512i o = _mm512_setzero_si512();
                for (int t = 0; t < 8; t++) {
                    int32_t pr;
                    memcpy(&pr, bsums + 2 * t, 4);
                    o = _mm512_dpwssd_epi32(o, mp[t], _mm512_set1_epi32(pr));
                }
                off[g * B + b] = o;
                isum[g * B + b] = _mm512_setzero_si512();
            }
        }
        for (int h = 0; h < 2; h++)
            for (int u = 0; u < 2; u++) {   /* l in 16u..16u+15: sub-blocks 8h + 2q + u, quarter q */
                __m512i s[4][4];
                for (int o = 0; o < G * B; o++) s[o][0] = s[o][1] = s[o][2] = s[o][3] = _mm512_setzero_si512();
                for (int j = 4 * u; j < 4 * u + 4; j++)
                    for (int g = 0; g < G; g++) {
                        const char *sb = gw + (size_t)g * gstride + (size_t)k * sbs;
                        __m512i q[4];
                        if (q3) {
                            const char *pq = sb + 736 + 64 * (8 * h + j), *ph = sb + 224 + 64 * j;
                            if (B == 1) _mm_prefetch(pq + X86_PF_DECODE, _MM_HINT_T0);
                            const __m512i v = _mm512_loadu_si512((const void *)pq), hm = _mm512_loadu_si512((const void *)ph);
                            /* 0xd8 with 0x03: bits 0-1 from v >> 2q, the rest from the hmask bit moved to bit 2 */
                            for (int qq = 0; qq < 4; qq++)
                                q[qq] = _mm512_ternarylogic_epi32(_mm512_and_si512(x86_shift16(hm, 2 - 4 * h - qq), _mm512_set1_epi8(4)),
                                                                  x86_shift16(v, -2 * qq), _mm512_set1_epi8(3), 0xd8);
                        } else if (q2) {
                            const char *pq = sb + 320 + 64 * (8 * h + j);
                            if (B == 1) _mm_prefetch(pq + X86_KQ_PF, _MM_HINT_T0);
                            const __m512i v = _mm512_loadu_si512((const void *)pq);
                            for (int qq = 0; qq < 4; qq++) q[qq] = _mm512_and_si512(v, _mm512_set1_epi8((char)(3 << 2 * qq)));
                        } else {
                            const char *pa = sb + 288 + 192 * (8 * h + j), *pb = pa + 64, *pc = pa + 128;
                            if (B == 1) {
                                _mm_prefetch(pa + X86_KQ_PF_Q6, _MM_HINT_T0);
                                _mm_prefetch(pb + X86_KQ_PF_Q6, _MM_HINT_T0);
                                _mm_prefetch(pc + X86_KQ_PF_Q6, _MM_HINT_T0);
                            }
                            const __m512i a = x86_load_once(pa), bq = x86_load_once(pb), c = x86_load_once(pc);
                            /* 0xd8: the second operand's bits where the third (0x0f) is set, else the first's */
                            q[0] = _mm512_ternarylogic_epi32(_mm512_and_si512(_mm512_slli_epi16(c, 4), m30), a, m0f, 0xd8);
                            q[1] = _mm512_ternarylogic_epi32(_mm512_and_si512(_mm512_slli_epi16(c, 2), m30), bq, m0f, 0xd8);
                            q[2] = _mm512_ternarylogic_epi32(_mm512_and_si512(c, m30), _mm512_srli_epi16(a, 4), m0f, 0xd8);
                            q[3] = _mm512_ternarylogic_epi32(_mm512_and_si512(_mm512_srli_epi16(c, 2), m30), _mm512_srli_epi16(bq, 4), m0f, 0xd8);
                        }
                        for (int b = 0; b < B; b++) {
                            const int8_t *xq = KQ_ROW(b, k)->qs + 128 * h + 4 * j;
                            for (int qq = 0; qq < 4; qq++) s[g * B + b][qq] = x86_dpbusd_bcst(s[g * B + b][qq], q[qq], xq + 32 * qq);
                        }
                    }
                for (int g = 0; g < G; g++) {
                    for (int qq = 0; qq < 4; qq++) {   /* scale 8h + 2qq + u: int16 half u of pair 4h + qq */
                        const __m512i pr = sp[g][4 * h + qq];
                        const __m512i scv = _mm512_srai_epi32(u ? pr : _mm512_slli_epi32(pr, 16), 16);
                        for (int b = 0; b < B; b++) {
                            const __m512i sq = q2 ? _mm512_srai_epi32(s[g * B + b][qq], 2 * qq) : s[g * B + b][qq];
                            isum[g * B + b] = _mm512_add_epi32(isum[g * B + b], _mm512_mullo_epi32(sq, scv));
                        }
                    }
                }
            }
        for (int g = 0; g < G; g++) {
            const char *sb = gw + (size_t)g * gstride + (size_t)k * sbs;
            const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)sb));
            for (int b = 0; b < B; b++) {
                const int o = g * B + b;
                const __m512 dx = _mm512_set1_ps(KQ_ROW(b, k)->d);
                if (q2) {   /* off = msum */
                    const __m512 dmin = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)(sb + 32)));
                    acc[o] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[o]), _mm512_mul_ps(d, dx), acc[o]);
                    acc[o] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_setzero_si512(), off[o])), _mm512_mul_ps(dmin, dx), acc[o]);
                } else {
                    const __m512i is = _mm512_sub_epi32(isum[o], _mm512_slli_epi32(off[o], q3 ? 2 : 5));
                    acc[o] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is), _mm512_mul_ps(d, dx), acc[o]);
                }
            }
        }
    }
    for (int g = 0; g < G; g++)
        for (int b = 0; b < B; b++) _mm512_storeu_ps(y + (size_t)b * ldy + (size_t)g * ygs, acc[g * B + b]);
}

X86_INLINE void x86_q6_K_x16_tile(const int G, const int B, int nsb, float *y, size_t ldy, size_t ygs,
                                const char *gw, size_t gstride, const char *x, size_t ldx) {
    x86_q236_K_x16_tile(0, 0, G, B, nsb, y, ldy, ygs, gw, gstride, x, ldx);
}
X86_INLINE void x86_q2_K_x16_tile(const int G, const int B, int nsb, float *y, size_t ldy, size_t ygs,
                                const char *gw, size_t gstride, const char *x, size_t ldx) {
    x86_q236_K_x16_tile(1, 0, G, B, nsb, y, ldy, ygs, gw, gstride, x, ldx);
}
X86_INLINE void x86_q3_K_x16_tile(const int G, const int B, int nsb, float *y, size_t ldy, size_t ygs,
                                const char *gw, size_t gstride, const char *x, size_t ldx) {
    x86_q236_K_x16_tile(0, 1, G, B, nsb, y, ldy, ygs, gw, gstride, x, ldx);
}

/* GEMM on packed K-quant groups: decode (nb = 1) walks STREAMS parts of the groups side by
 * side; prefill takes activation rows X86_NBX at a time, and per group tiles of up to 4 of
 * them, which reuse each decoded weight register 4 times. */
#define X86_KQ_X16_GEMM(T, SBS, STREAMS)                                                                             \
    static inline void x86_gemm_##T##_q8_K_x16(int n, int nr, int nb, float *y, size_t ldy, const void *w, size_t ldw, \
                                               const void *x, size_t ldx) {                                          \
        (void)ldw;                                                                                                   \
        const int nsb = n / QK_K, ng = nr / PACK_ROWS;                                                               \
        const size_t gb = (size_t)nsb * (SBS);                                                                       \
        const char *wc = (const char *)w, *xc = (const char *)x;                                                     \
        if (nb == 1) {                                                                                               \
            const int q = ng / STREAMS;                                                                              \
            for (int g = 0; g < q; g++)                                                                              \
                x86_##T##_x16_tile(STREAMS, 1, nsb, y + (size_t)g * PACK_ROWS, ldy, (size_t)q * PACK_ROWS,           \
                                   wc + (size_t)g * gb, (size_t)q * gb, xc, ldx);                                    \
            for (int g = q * STREAMS; g < ng; g++)                                                                   \
                x86_##T##_x16_tile(1, 1, nsb, y + (size_t)g * PACK_ROWS, ldy, 0, wc + (size_t)g * gb, 0, xc, ldx);   \
            return;                                                                                                  \
        }                                                                                                            \
        for (int b0 = 0; b0 < nb; b0 += X86_NBX) {                                                                   \
            const int nbc = nb - b0 < X86_NBX ? nb - b0 : X86_NBX;                                                   \
            for (int g = 0; g < ng; g++)                                                                             \
                for (int bt = 0; bt < nbc; bt += 4) {                                                                \
                    float *yt = y + (size_t)(b0 + bt) * ldy + (size_t)g * PACK_ROWS;                                 \
                    const char *gw = wc + (size_t)g * gb, *xt = xc + (size_t)(b0 + bt) * ldx;                        \
                    switch (nbc - bt < 4 ? nbc - bt : 4) {                                                           \
                    case 4: x86_##T##_x16_tile(1, 4, nsb, yt, ldy, 0, gw, 0, xt, ldx); break;                        \
                    case 3: x86_##T##_x16_tile(1, 3, nsb, yt, ldy, 0, gw, 0, xt, ldx); break;                        \
                    case 2: x86_##T##_x16_tile(1, 2, nsb, yt, ldy, 0, gw, 0, xt, ldx); break;                        \
                    default: x86_##T##_x16_tile(1, 1, nsb, yt, ldy, 0, gw, 0, xt, ldx); break;                       \
                    }                                                                                                \
                }                                                                                                    \
        }                                                                                                            \
    }
X86_INLINE void x86_q4_K_x16_tile(const int G, const int B, int nsb, float *y, size_t ldy, size_t ygs,
                                const char *gw, size_t gstride, const char *x, size_t ldx) {
    x86_q45_K_x16_tile(0, G, B, nsb, y, ldy, ygs, gw, gstride, x, ldx);
}
X86_INLINE void x86_q5_K_x16_tile(const int G, const int B, int nsb, float *y, size_t ldy, size_t ygs,
                                const char *gw, size_t gstride, const char *x, size_t ldx) {
    x86_q45_K_x16_tile(1, G, B, nsb, y, ldy, ygs, gw, gstride, x, ldx);
}
X86_KQ_X16_GEMM(q4_K, KQ_X16_Q4K, 2)
X86_KQ_X16_GEMM(q5_K, KQ_X16_Q5K, 3)
X86_KQ_X16_GEMM(q6_K, KQ_X16_Q6K, 2)
X86_KQ_X16_GEMM(q2_K, KQ_X16_Q2K, 2)
X86_KQ_X16_GEMM(q3_K, KQ_X16_Q3K, 4)
#endif /* X86_512 */

static const kernel_port port_x86 = {
#if X86_512
    .name = "x86-avx512-vnni",
#elif X86_VNNI
    .name = "x86-avx2-vnni",
#else
    .name = "x86-avx2",
#endif
    .gemm = {[T_F32] = x86_gemm_f32_f32, [T_F16] = x86_gemm_f16_f32, [T_BF16] = x86_gemm_bf16_f32,
             [T_Q8_0] = x86_gemm_q8_0_q8_0, [T_Q4_0] = x86_gemm_q4_0_q8_0, [T_Q4_K] = x86_gemm_q4_K_q8_K,
             [T_Q5_K] = x86_gemm_q5_K_q8_K, [T_Q6_K] = x86_gemm_q6_K_q8_K},
#if X86_512
    .packed = {[T_Q8_0] = {PACK_ROWS, pack_q8_0_x16, unpack_row_q8_0_x16, x86_gemm_q8_0_q8_0_x16},
               [T_Q4_0] = {PACK_ROWS, pack_q4_0_x16, unpack_row_q4_0_x16, x86_gemm_q4_0_q8_0_x16},
               [T_Q2_K] = {PACK_ROWS, pack_q2_K_x16, unpack_row_q2_K_x16, x86_gemm_q2_K_q8_K_x16},
               [T_Q3_K] = {PACK_ROWS, pack_q3_K_x16, unpack_row_q3_K_x16, x86_gemm_q3_K_q8_K_x16},
               [T_Q4_K] = {PACK_ROWS, pack_q4_K_x16, unpack_row_q4_K_x16, x86_gemm_q4_K_q8_K_x16},
               [T_Q5_K] = {PACK_ROWS, pack_q5_K_x16, unpack_row_q5_K_x16, x86_gemm_q5_K_q8_K_x16},
               [T_Q6_K] = {PACK_ROWS, pack_q6_K_x16, unpack_row_q6_K_x16, x86_gemm_q6_K_q8_K_x16}},
#endif
    .quantize_q8_0 = x86_quantize_row_q8_0,
    .quantize_q8_K = x86_quantize_row_q8_K,
};
#endif /* X86_KERNELS_H */
