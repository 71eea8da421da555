/*
 * kernels.h -- functional kernels: the values the hardware computes, bit for bit.
 *
 * Used by the simulator's functional mode and by the numerics harness. Operands are arrays of
 * format codes (uint8_t / uint16_t / uint32_t per dp_format_info.bytes), row-major ("C order").
 * Every kernel computes in FP32 (binary32, round-to-nearest-even: the C float type with
 * -ffp-contract=off, so no fused multiply-add) and rounds each output once with a dp_cvt; with
 * stochastic rounding, output element i (its linear index in the output tensor) takes its random
 * integer from Philox under (seed, stream, i), so results do not depend on threads or tiling.
 *
 * Matmul order (the PE array's; design.md section 3), for C[m][n] = sum_k A[m][k] * B[k][n]
 * with an array of R rows (contraction depth):
 *
 *        k:  0 ........ R-1 | R ....... 2R-1 | ... | tile T-1 (K - (T-1)R rows)
 *            tile 0          tile 1                                     PSUM (FP32)
 *     acc_t = ((+0 + p_tR) + p_tR+1) + ... + p_last        (down the array, in FP32)
 *     psum  = acc_0;  psum = psum + acc_1;  ...;  psum = psum + acc_T-1   (ascending K)
 *     C     = round(psum)                         (once, when PSUM is evacuated)
 *
 * with p_k = A[m][k] * B[k][n] the FP32 product (exact for BF16/FP16/FP8 operands unless it
 * leaves the FP32 range, which only BF16's extreme exponents can; FP32 operands give the RNE
 * product). K = 0 gives +0. The FP32 sums are exactly what a reader can recompute by hand.
 *
 * Conv2d is that matmul over the im2col matrix: input N x C x H x W, weights O x C x KH x KW,
 * output N x O x OH x OW; the contraction index is k = (c * KH + kh) * KW + kw, padding supplies
 * zeros that take part in the sum (exactly as the lowering's zero-filled tiles do); output
 * element (n, o, y, x) is the matmul row (n, y, x) and column o, stored N x O x OH x OW.
 *
 * Elementwise and reductions: inputs decoded to FP32; add and mul in FP32; activations as
 * f(x) evaluated in binary64 with the C library, rounded to FP32 (RNE): the FP32 activation; the
 * FP32 results then rounded once to the output format. Reductions run over the last axis in
 * ascending index: sum (FP32, from +0), max (NaN propagates), softmax (m = max; e_i = FP32
 * exp(x_i - m); s = sum e_i ascending; y_i = e_i / s), layernorm (mu = sum/n; var = sum of
 * (x - mu)^2 / n; y = (x - mu) / sqrt(var + eps)), rmsnorm (ms = sum x^2 / n; y = x / sqrt(ms +
 * eps)), all in FP32 operations in that order.
 *
 * NaN: a NaN result of a kernel's FP32 arithmetic (a NaN operand, Inf - Inf, 0 * Inf) is the
 * positive canonical quiet NaN of the output format, whatever the machine's default NaN.
 */
#ifndef DP_KERNELS_H
#define DP_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "sim/datapath/format.h"

/* Output rounding of a kernel: conversion, and the Philox (seed, stream) for SR. */
typedef struct dp_out {
	dp_cvt cvt;
	uint64_t seed, stream;
} dp_out;

/* Decode n codes of format f into FP32 values (exact: every code of a format no wider than
 * binary32 is a binary32 value). */
void dp_decode_f32_array(dp_format f, const void *src, float *dst, size_t n);

/* Matmul: A is M x K (format fa), B is K x N (format fb), C is M x N codes in out->cvt.fmt.
 * rows = the PE array's depth R (>= 1). psum (optional, M x N) receives the FP32 PSUM values
 * before rounding. threads >= 1; the result is the same for every thread count.
 * Returns 0, ASIM_ERANGE (bad rows/threads), ASIM_ENOMEM. */
int dp_matmul(dp_format fa, const void *A, dp_format fb, const void *B, size_t M, size_t N,
              size_t K, unsigned rows, const dp_out *out, void *C, float *psum, unsigned threads,
              asim_err *e);

/* The same from FP32 operand values (already decoded); the kernel under dp_matmul. */
int dp_matmul_f32(const float *A, const float *B, size_t M, size_t N, size_t K, unsigned rows,
                  float *psum /* OUT, M x N */, unsigned threads, asim_err *e);

typedef struct dp_conv2d_shape {
	size_t n, c, h, w;        /* input */
	size_t o, kh, kw;         /* weights: o x c x kh x kw */
	size_t stride_h, stride_w, pad_h, pad_w;
	size_t oh, ow;            /* derived by dp_conv2d_shape_check */
} dp_conv2d_shape;
/* Validate and derive oh, ow: 0 or ASIM_ESHAPE with a message. */
int dp_conv2d_shape_check(dp_conv2d_shape *s, asim_err *e);
int dp_conv2d(const dp_conv2d_shape *s, dp_format fx, const void *X, dp_format fw, const void *W,
              unsigned rows, const dp_out *out, void *Y, float *psum, unsigned threads,
              asim_err *e);

/* Elementwise operations: DP_EW(ID, "name", arity). */
#define DP_EW_LIST(X)                                                           \
	X(ADD, "add", 2) X(MUL, "mul", 2) X(RELU, "relu", 1) X(RELU6, "relu6", 1) \
	X(GELU, "gelu", 1) X(SILU, "silu", 1) X(SIGMOID, "sigmoid", 1)            \
	X(TANH, "tanh", 1) X(EXP, "exp", 1)
typedef enum dp_ewop {
#define X(id, name, arity) DP_EW_##id,
	DP_EW_LIST(X)
#undef X
	DP_EW_COUNT
} dp_ewop;
const char *dp_ew_name(dp_ewop op);
int dp_ew_arity(dp_ewop op);
int dp_ew_parse(const char *name, dp_ewop *out /* OUT */);
/* The operation on binary64 values: the harness's reference (exact for add/mul of FP32 values
 * up to binary64 rounding, libm accuracy for the rest). */
double dp_ew_f64(dp_ewop op, double x, double y);
/* The FP32 value the datapath computes before output rounding. */
float dp_ew_f32(dp_ewop op, float x, float y);
/* dst[i] = round(op(a[i], b[i])); b is ignored (may be NULL) for unary ops. */
int dp_elementwise(dp_ewop op, dp_format fa, const void *a, dp_format fb, const void *b,
                   size_t n, const dp_out *out, void *dst, asim_err *e);

/* Reductions over the last axis of a rows x len array. */
#define DP_RED_LIST(X) \
	X(SUM, "sum") X(MAX, "max") X(SOFTMAX, "softmax") X(LAYERNORM, "layernorm") X(RMSNORM, "rmsnorm")
typedef enum dp_redop {
#define X(id, name) DP_RED_##id,
	DP_RED_LIST(X)
#undef X
	DP_RED_COUNT
} dp_redop;
const char *dp_red_name(dp_redop op);
int dp_red_parse(const char *name, dp_redop *out /* OUT */);
/* Output elements: rows for sum/max, rows * len for the others. */
size_t dp_red_out_len(dp_redop op, size_t rows, size_t len);
/* The FP32 results before output rounding (dst: dp_red_out_len floats). */
void dp_reduce_f32(dp_redop op, const float *x, size_t rows, size_t len, float eps, float *dst);
int dp_reduce(dp_redop op, dp_format fa, const void *a, size_t rows, size_t len, float eps,
              const dp_out *out, void *dst, asim_err *e);

#endif
