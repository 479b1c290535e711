/* tests/xthead_kernels.c - the kernels of rvv_kernels.h as out-of-line functions, so the
 * XTheadVector build can be disassembled and checked (make test-riscv: each has th.v* code).
 * `flatten` inlines the whole kernel into each wrapper, so its code sits under the wrapper's
 * symbol. Also compiles for any other target; nothing calls these functions. */
#include "rvv_kernels.h"

#define XK __attribute__((flatten))

float xk_dot_q8_0_q8_0(int n, const void *w, const void *x);
float xk_dot_q4_0_q8_0(int n, const void *w, const void *x);
void xk_gemm_q8_0_q8_0(int n, int nr, int nb, float *y, size_t ldy, const void *w, size_t ldw, const void *x, size_t ldx);
void xk_gemm_q4_0_q8_0(int n, int nr, int nb, float *y, size_t ldy, const void *w, size_t ldw, const void *x, size_t ldx);
void xk_quantize_row_q8_0(int n, block_q8_0 *y, const float *x);
float xk_dot_q4_K_q8_K(int n, const void *w, const void *x);
float xk_dot_q5_K_q8_K(int n, const void *w, const void *x);
float xk_dot_q6_K_q8_K(int n, const void *w, const void *x);
void xk_quantize_row_q8_K(int n, block_q8_K *y, const float *x);
float xk_dot_f32_f32(int n, const void *w, const void *x);
float xk_dot_f16_f32(int n, const void *w, const void *x);
float xk_dot_bf16_f32(int n, const void *w, const void *x);
void xk_gemm_f32_f32(int n, int nr, int nb, float *y, size_t ldy, const void *w, size_t ldw, const void *x, size_t ldx);
void xk_gemm_f16_f32(int n, int nr, int nb, float *y, size_t ldy, const void *w, size_t ldw, const void *x, size_t ldx);
void xk_gemm_bf16_f32(int n, int nr, int nb, float *y, size_t ldy, const void *w, size_t ldw, const void *x, size_t ldx);
void xk_rmsnorm(int n, float *o, const float *x, const float *w, float eps);
void xk_softmax(int n, float *x);
void xk_swiglu(int n, float *g, const float *u);
void xk_rope_adjacent(int n_rot, float *v, const float *cs);
void xk_axpy(int n, float *y, float a, const float *x);
int xk_cpu_ok(const char **why);
#if defined(__riscv_vector)
void xk_tile4_q4_K_q8_K(int n, const void *w, const char *x, size_t ldx, float *out, size_t ldo);
void xk_tile4_q5_K_q8_K(int n, const void *w, const char *x, size_t ldx, float *out, size_t ldo);
void xk_tile4_q6_K_q8_K(int n, const void *w, const char *x, size_t ldx, float *out, size_t ldo);
#endif

XK float xk_dot_q8_0_q8_0(int n, const void *w, const void *x) { return dot_q8_0_q8_0(n, w, x); }
XK float xk_dot_q4_0_q8_0(int n, const void *w, const void *x) { return dot_q4_0_q8_0(n, w, x); }
XK void xk_gemm_q8_0_q8_0(int n, int nr, int nb, float *y, size_t ldy, const void *w, size_t ldw, const void *x, size_t ldx) {
    gemm_q8_0_q8_0(n, nr, nb, y, ldy, w, ldw, x, ldx);
}
XK void xk_gemm_q4_0_q8_0(int n, int nr, int nb, float *y, size_t ldy, const void *w, size_t ldw, const void *x, size_t ldx) {
    gemm_q4_0_q8_0(n, nr, nb, y, ldy, w, ldw, x, ldx);
}
XK void xk_quantize_row_q8_0(int n, block_q8_0 *y, const float *x) { quantize_row_q8_0(n, y, x); }
XK float xk_dot_q4_K_q8_K(int n, const void *w, const void *x) { return dot_q4_K_q8_K(n, w, x); }
XK float xk_dot_q5_K_q8_K(int n, const void *w, const void *x) { return dot_q5_K_q8_K(n, w, x); }
XK float xk_dot_q6_K_q8_K(int n, const void *w, const void *x) { return dot_q6_K_q8_K(n, w, x); }
XK void xk_quantize_row_q8_K(int n, block_q8_K *y, const float *x) { quantize_row_q8_K(n, y, x); }
XK float xk_dot_f32_f32(int n, const void *w, const void *x) { return dot_f32_f32(n, w, x); }
XK float xk_dot_f16_f32(int n, const void *w, const void *x) { return dot_f16_f32(n, w, x); }
XK float xk_dot_bf16_f32(int n, const void *w, const void *x) { return dot_bf16_f32(n, w, x); }
XK void xk_gemm_f32_f32(int n, int nr, int nb, float *y, size_t ldy, const void *w, size_t ldw, const void *x, size_t ldx) {
    gemm_f32_f32(n, nr, nb, y, ldy, w, ldw, x, ldx);
}
XK void xk_gemm_f16_f32(int n, int nr, int nb, float *y, size_t ldy, const void *w, size_t ldw, const void *x, size_t ldx) {
    gemm_f16_f32(n, nr, nb, y, ldy, w, ldw, x, ldx);
}
XK void xk_gemm_bf16_f32(int n, int nr, int nb, float *y, size_t ldy, const void *w, size_t ldw, const void *x, size_t ldx) {
    gemm_bf16_f32(n, nr, nb, y, ldy, w, ldw, x, ldx);
}
/* the row-wise bodies are out of line on XTheadVector: their code is under their own names
 * (rvk_rmsnorm ...), which make test-riscv checks as well */
XK void xk_rmsnorm(int n, float *o, const float *x, const float *w, float eps) { rmsnorm(n, o, x, w, eps); }
XK void xk_softmax(int n, float *x) { softmax(n, x); }
XK void xk_swiglu(int n, float *g, const float *u) { swiglu(n, g, u); }
XK void xk_rope_adjacent(int n_rot, float *v, const float *cs) { rope_adjacent(n_rot, v, cs); }
XK void xk_axpy(int n, float *y, float a, const float *x) { axpy(n, y, a, x); }
XK int xk_cpu_ok(const char **why) { return kernels_cpu_ok(why); }
#if defined(__riscv_vector)   /* the K-quant GEMM tiles' bodies for four activation rows */
XK void xk_tile4_q4_K_q8_K(int n, const void *w, const char *x, size_t ldx, float *out, size_t ldo) {
    rvk_q4_K_rows(4, n, w, x, ldx, out, ldo);
}
XK void xk_tile4_q5_K_q8_K(int n, const void *w, const char *x, size_t ldx, float *out, size_t ldo) {
    rvk_q5_K_rows(4, n, w, x, ldx, out, ldo);
}
XK void xk_tile4_q6_K_q8_K(int n, const void *w, const char *x, size_t ldx, float *out, size_t ldo) {
    rvk_q6_K_rows(4, n, w, x, ldx, out, ldo);
}
#endif
