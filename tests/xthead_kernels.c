/* tests/xthead_kernels.c - the RISC-V vector bodies of rvv_kernels.h (the entries of port_rvv)
 * as out-of-line functions, so the XTheadVector build can be disassembled and checked (make
 * test-riscv: each has th.v* code). `flatten` inlines the whole kernel into each wrapper, so its
 * code sits under the wrapper's symbol (xt_NAME for the body rvv_NAME). Compiles to nothing
 * on other targets; nothing calls these functions. */
#include "rvv_kernels.h"

#if defined(__riscv_vector)
#define XT(ret, name, params, args)                                                                \
    ret xt_##name params;                                                                          \
    __attribute__((flatten)) ret xt_##name params { return rvv_##name args; }
#define GEMM_PARAMS (int n, int nr, int nb, float *y, size_t ldy, const void *w, size_t ldw, const void *x, size_t ldx)
#define GEMM_ARGS (n, nr, nb, y, ldy, w, ldw, x, ldx)
#define DOT_PARAMS (int n, const void *w, const void *x)
#define ROWS_PARAMS (int n, const void *w, const char *x, size_t ldx, float *out, size_t ldo)

XT(void, quantize_row_q8_0, (int n, block_q8_0 *y, const float *x), (n, y, x))
XT(void, quantize_row_q8_K, (int n, block_q8_K *y, const float *x), (n, y, x))
XT(float, dot_q8_0_q8_0, DOT_PARAMS, (n, w, x))
XT(float, dot_q4_0_q8_0, DOT_PARAMS, (n, w, x))
XT(float, dot_q4_K_q8_K, DOT_PARAMS, (n, w, x))
XT(float, dot_q5_K_q8_K, DOT_PARAMS, (n, w, x))
XT(float, dot_q6_K_q8_K, DOT_PARAMS, (n, w, x))
XT(float, dot_f32_f32, DOT_PARAMS, (n, w, x))
XT(float, dot_f16_f32, DOT_PARAMS, (n, w, x))
XT(float, dot_bf16_f32, DOT_PARAMS, (n, w, x))
XT(void, gemm_q8_0_q8_0, GEMM_PARAMS, GEMM_ARGS)
XT(void, gemm_q4_0_q8_0, GEMM_PARAMS, GEMM_ARGS)
XT(void, gemm_f32_f32, GEMM_PARAMS, GEMM_ARGS)
XT(void, gemm_f16_f32, GEMM_PARAMS, GEMM_ARGS)
XT(void, gemm_bf16_f32, GEMM_PARAMS, GEMM_ARGS)
/* the GEMMs of the packed layouts XTheadVector chooses (rvv_choose_layouts) */
XT(void, gemm_q8_0_packed, GEMM_PARAMS, GEMM_ARGS)
XT(void, gemm_q4_0_packed, GEMM_PARAMS, GEMM_ARGS)
XT(void, gemm_f32_packed, GEMM_PARAMS, GEMM_ARGS)
XT(void, gemm_f16_packed, GEMM_PARAMS, GEMM_ARGS)
XT(void, gemm_bf16_packed, GEMM_PARAMS, GEMM_ARGS)
XT(void, gemm_q4_K_packed, GEMM_PARAMS, GEMM_ARGS)
XT(void, gemm_q5_K_packed, GEMM_PARAMS, GEMM_ARGS)
XT(void, gemm_q6_K_packed, GEMM_PARAMS, GEMM_ARGS)
/* the K-quant GEMM tiles' bodies for four activation rows: xt_tile4_T_q8_K */
#define XT_TILE4(T)                                                                                    void xt_tile4_##T##_q8_K ROWS_PARAMS;                                                              __attribute__((flatten)) void xt_tile4_##T##_q8_K ROWS_PARAMS { rvv_##T##_rows(4, n, w, x, ldx, out, ldo); }
XT_TILE4(q4_K)
XT_TILE4(q5_K)
XT_TILE4(q6_K)
/* the row-wise bodies are out of line on XTheadVector: their code is under their own names
 * (rvv_rmsnorm ...), which make test-riscv checks as well */
XT(void, rmsnorm, (int n, float *o, const float *x, const float *w, float eps), (n, o, x, w, eps))
XT(void, softmax, (int n, float *x), (n, x))
XT(void, swiglu, (int n, float *g, const float *u), (n, g, u))
XT(void, rope_adjacent, (int n_rot, float *v, const float *cs), (n_rot, v, cs))
XT(void, axpy, (int n, float *y, float a, const float *x), (n, y, a, x))
XT(void, scale, (int n, float *x, float s), (n, x, s))
XT(int, argmax, (int n, const float *x), (n, x))
XT(void, wsum, (int n, int m, float *y, const float *a, const float *v, size_t ldv), (n, m, y, a, v, ldv))
#endif
