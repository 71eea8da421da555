/*
 * test_datapath_kernels.c -- functional kernels (sim/datapath/kernels.h).
 *
 * Matmul and conv2d are compared with straightforward implementations of the documented order
 * written here, separately (plain loops over one output at a time, operands decoded through
 * dp_decode, rounding through the scalar dp_round_f32), and with hand-derived values where the
 * order visibly matters. Thread counts 1, 2, 3 and 7 must give identical bytes.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "sim/alloc.h"
#include "sim/datapath/kernels.h"
#include "sim/datapath/philox.h"

static uint64_t st = 7;
static uint32_t rnd32(void)
{
	st = st * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(st >> 32);
}

/* Random finite codes of format f, roughly normal-ish magnitudes around 1. */
static void random_codes(dp_format f, void *dst, size_t n)
{
	dp_cvt c = dp_cvt_make(f, DP_RNE);
	for (size_t i = 0; i < n; i++) {
		double x = ((double)rnd32() / 4294967296.0 - 0.5) * 8.0;
		if (rnd32() % 16 == 0)
			x *= 1e-3;
		dp_code_store(f, dst, i, dp_round_f64(&c, x, 0));
	}
}

/* The documented order, one output at a time. */
static float ref_dot(dp_format fa, const void *A, dp_format fb, const void *B, size_t N, size_t K,
                     unsigned R, size_t m, size_t n)
{
	float psum = 0.0f;
	int first = 1;
	for (size_t t0 = 0; t0 < K; t0 += R) {
		float acc = 0.0f;
		for (size_t k = t0; k < K && k < t0 + R; k++) {
			float a = (float)dp_decode(fa, dp_code_load(fa, A, m * K + k));
			float b = (float)dp_decode(fb, dp_code_load(fb, B, k * N + n));
			float p = a * b;
			acc = acc + p;
		}
		if (first)
			psum = acc;
		else
			psum = psum + acc;
		first = 0;
	}
	return psum;
}

static void check_matmul(dp_format fa, dp_format fb, size_t M, size_t N, size_t K, unsigned R,
                         dp_out out)
{
	size_t ba = dp_format_get(fa)->bytes, bb = dp_format_get(fb)->bytes;
	size_t bc = dp_format_get(out.cvt.fmt)->bytes;
	void *A = asim_malloc(M * K * ba + 1), *B = asim_malloc(K * N * bb + 1);
	void *C = asim_malloc(M * N * bc + 1), *C2 = asim_malloc(M * N * bc + 1);
	float *P = asim_malloc(M * N * 4 + 4);
	cr_assert(A && B && C && C2 && P);
	random_codes(fa, A, M * K);
	random_codes(fb, B, K * N);
	asim_err e;
	asim_err_init(&e);
	cr_assert_eq(dp_matmul(fa, A, fb, B, M, N, K, R, &out, C, P, 1, &e), 0, "%s", e.msg);
	for (size_t m = 0; m < M; m++)
		for (size_t n = 0; n < N; n++) {
			float want = ref_dot(fa, A, fb, B, N, K, R, m, n);
			uint32_t wb, gb;
			memcpy(&wb, &want, 4);
			memcpy(&gb, &P[m * N + n], 4);
			cr_assert_eq(gb, wb, "psum[%zu][%zu] M=%zu N=%zu K=%zu R=%u: %a vs %a", m, n, M, N,
			             K, R, P[m * N + n], want);
			uint32_t r = out.cvt.mode == DP_SR
			                     ? dp_sr_random(out.seed, out.stream, m * N + n, out.cvt.sr_bits)
			                     : 0;
			uint32_t code = dp_round_f32(&out.cvt, want, r);
			cr_assert_eq(dp_code_load(out.cvt.fmt, C, m * N + n), code, "C[%zu][%zu]", m, n);
		}
	const unsigned ths[] = {2, 3, 7};
	for (size_t t = 0; t < 3; t++) {
		memset(C2, 0xee, M * N * bc);
		cr_assert_eq(dp_matmul(fa, A, fb, B, M, N, K, R, &out, C2, NULL, ths[t], &e), 0);
		cr_assert(memcmp(C, C2, M * N * bc) == 0, "threads=%u differs", ths[t]);
	}
	asim_free(A);
	asim_free(B);
	asim_free(C);
	asim_free(C2);
	asim_free(P);
}

Test(datapath_kernels, matmul_equals_documented_order)
{
	dp_out rne = {dp_cvt_make(DP_FMT_BF16, DP_RNE), 0, 0};
	dp_out sr = {dp_cvt_make(DP_FMT_BF16, DP_SR), 0x1234, 99};
	sr.cvt.sr_bits = 9;
	dp_out f32 = {dp_cvt_make(DP_FMT_FP32, DP_RNE), 0, 0};
	dp_out e4 = {dp_cvt_make(DP_FMT_FP8_E4M3, DP_SR), 5, 6};
	check_matmul(DP_FMT_BF16, DP_FMT_BF16, 37, 45, 300, 128, rne);
	check_matmul(DP_FMT_BF16, DP_FMT_BF16, 16, 32, 256, 128, sr);
	check_matmul(DP_FMT_FP16, DP_FMT_FP16, 9, 17, 33, 4, f32);
	check_matmul(DP_FMT_FP8_E4M3, DP_FMT_FP8_E5M2, 13, 16, 70, 3, e4);
	check_matmul(DP_FMT_FP8_E5M2, DP_FMT_BF16, 5, 3, 1, 1, rne);
	check_matmul(DP_FMT_BF16, DP_FMT_FP16, 8, 19, 129, 128, sr);
	check_matmul(DP_FMT_BF16, DP_FMT_BF16, 4, 16, 0, 128, rne);   /* K = 0 gives +0 */
	check_matmul(DP_FMT_FP32, DP_FMT_FP32, 6, 20, 50, 7, f32);
}

/* Products 2^24, 1, 1, -2^24 (bf16 operands, B = 1): the order decides the answer.
 *   R = 2: tile sums 2^24 (2^24 + 1 ties to even) and 1 - 2^24 = -16777215 (exact); PSUM 1.
 *   R = 4: ((2^24 + 1) + 1) - 2^24 = 0;  R = 1: same as sequential, 0;  R = 3: 2^24 and -2^24: 0.
 */
Test(datapath_kernels, matmul_order_hand_values)
{
	const uint16_t A[4] = {0x4b80, 0x3f80, 0x3f80, 0xcb80};
	const uint16_t B[4] = {0x3f80, 0x3f80, 0x3f80, 0x3f80};
	const unsigned rs[] = {1, 2, 3, 4, 128};
	const float want[] = {0.0f, 1.0f, 0.0f, 0.0f, 0.0f};
	dp_out out = {dp_cvt_make(DP_FMT_FP32, DP_RNE), 0, 0};
	for (int i = 0; i < 5; i++) {
		uint32_t c;
		float p;
		asim_err e;
		asim_err_init(&e);
		cr_assert_eq(dp_matmul(DP_FMT_BF16, A, DP_FMT_BF16, B, 1, 1, 4, rs[i], &out, &c, &p, 1,
		                       &e), 0);
		cr_expect_eq(p, want[i], "R=%u: %a", rs[i], p);
	}
	/* A bad depth is an error, not a crash. */
	asim_err e;
	asim_err_init(&e);
	uint32_t c;
	cr_expect_eq(dp_matmul(DP_FMT_BF16, A, DP_FMT_BF16, B, 1, 1, 4, 0, &out, &c, NULL, 1, &e),
	             ASIM_ERANGE);
}

/* Direct convolution in the documented contraction order (c, kh, kw), tiles of R. */
Test(datapath_kernels, conv2d_equals_direct_loops)
{
	dp_conv2d_shape s = {.n = 2, .c = 5, .h = 7, .w = 6, .o = 3, .kh = 3, .kw = 2,
	                     .stride_h = 2, .stride_w = 1, .pad_h = 1, .pad_w = 1};
	asim_err e;
	asim_err_init(&e);
	cr_assert_eq(dp_conv2d_shape_check(&s, &e), 0);
	cr_assert_eq(s.oh, 4);   /* (7 + 2 - 3) / 2 + 1 */
	cr_assert_eq(s.ow, 7);   /* (6 + 2 - 2) / 1 + 1 */
	uint16_t X[2 * 5 * 7 * 6], W[3 * 5 * 3 * 2], Y[2 * 3 * 4 * 7];
	random_codes(DP_FMT_BF16, X, sizeof X / 2);
	random_codes(DP_FMT_BF16, W, sizeof W / 2);
	dp_out out = {dp_cvt_make(DP_FMT_BF16, DP_SR), 11, 12};
	const unsigned R = 4;
	cr_assert_eq(dp_conv2d(&s, DP_FMT_BF16, X, DP_FMT_BF16, W, R, &out, Y, NULL, 2, &e), 0,
	             "%s", e.msg);
	for (size_t n = 0; n < 2; n++)
		for (size_t o = 0; o < 3; o++)
			for (size_t y = 0; y < 4; y++)
				for (size_t x = 0; x < 7; x++) {
					float psum = 0, acc = 0;
					size_t k = 0;
					for (size_t c = 0; c < 5; c++)
						for (size_t i = 0; i < 3; i++)
							for (size_t j = 0; j < 2; j++, k++) {
								long iy = (long)(y * 2 + i) - 1, ix = (long)(x + j) - 1;
								float xv = 0;
								if (iy >= 0 && iy < 7 && ix >= 0 && ix < 6)
									xv = (float)dp_decode(DP_FMT_BF16,
									                      X[((n * 5 + c) * 7 + (size_t)iy) * 6 + (size_t)ix]);
								float wv = (float)dp_decode(DP_FMT_BF16,
								                            W[((o * 5 + c) * 3 + i) * 2 + j]);
								if (k % R == 0)
									acc = 0;
								acc = acc + xv * wv;
								if (k % R == R - 1 || k == 29)
									psum = k < R ? acc : psum + acc;
							}
					size_t idx = ((n * 3 + o) * 4 + y) * 7 + x;
					uint32_t want = dp_round_f32(&out.cvt, psum,
					                             dp_sr_random(11, 12, idx, 32));
					cr_assert_eq(Y[idx], want, "Y[%zu]", idx);
				}
	s.kh = 20;
	cr_expect_eq(dp_conv2d_shape_check(&s, &e), ASIM_ESHAPE);
}

Test(datapath_kernels, elementwise_and_activations)
{
	uint16_t a[6] = {0x3f80, 0x4000, 0xc040, 0x0000, 0x7f80, 0x3fc0};   /* 1 2 -3 0 inf 1.5 */
	uint16_t b[6] = {0x3f80, 0x3f00, 0x4040, 0x8000, 0xff80, 0x3b80};   /* 1 .5 3 -0 -inf 2^-8 */
	uint16_t d[6];
	dp_out out = {dp_cvt_make(DP_FMT_BF16, DP_RNE), 0, 0};
	asim_err e;
	asim_err_init(&e);
	cr_assert_eq(dp_elementwise(DP_EW_ADD, DP_FMT_BF16, a, DP_FMT_BF16, b, 6, &out, d, &e), 0);
	/* 2, 2.5, 0 (+0 under RNE), +0 (0 + -0), NaN (inf - inf), 1.5 + 2^-8 -> bf16 1.5 (FP32 exact,
	 * then RNE: 1.5 + 2^-8 is a tie between 1.5 and 1.5078125, even is 1.5) */
	const uint16_t want_add[6] = {0x4000, 0x4020, 0x0000, 0x0000, 0x7fc0, 0x3fc0};
	for (int i = 0; i < 6; i++)
		cr_expect_eq(d[i], want_add[i], "add %d: %04x", i, d[i]);
	cr_assert_eq(dp_elementwise(DP_EW_MUL, DP_FMT_BF16, a, DP_FMT_BF16, b, 6, &out, d, &e), 0);
	const uint16_t want_mul[6] = {0x3f80, 0x3f80, 0xc110, 0x8000, 0xff80, 0x3bc0};
	for (int i = 0; i < 6; i++)
		cr_expect_eq(d[i], want_mul[i], "mul %d: %04x", i, d[i]);
	cr_assert_eq(dp_elementwise(DP_EW_RELU, DP_FMT_BF16, a, DP_FMT_BF16, NULL, 6, &out, d, &e), 0);
	const uint16_t want_relu[6] = {0x3f80, 0x4000, 0x0000, 0x0000, 0x7f80, 0x3fc0};
	for (int i = 0; i < 6; i++)
		cr_expect_eq(d[i], want_relu[i], "relu %d", i);
	cr_assert_eq(dp_elementwise(DP_EW_RELU6, DP_FMT_BF16, a, DP_FMT_BF16, NULL, 6, &out, d, &e), 0);
	cr_expect_eq(d[4], 0x40c0);   /* relu6(inf) = 6 */
	/* Transcendentals: the FP32 value is binary64 f(x) rounded to FP32; sanity values. */
	cr_expect_eq(dp_ew_f32(DP_EW_SIGMOID, 0.0f, 0), 0.5f);
	cr_expect_eq(dp_ew_f32(DP_EW_TANH, 0.0f, 0), 0.0f);
	cr_expect_eq(dp_ew_f32(DP_EW_EXP, 0.0f, 0), 1.0f);
	cr_expect_eq(dp_ew_f32(DP_EW_GELU, 0.0f, 0), 0.0f);
	cr_expect(fabsf(dp_ew_f32(DP_EW_GELU, 1.0f, 0) - 0.8413447f) < 1e-6f);
	cr_expect(fabsf(dp_ew_f32(DP_EW_SILU, 1.0f, 0) - 0.7310586f) < 1e-6f);
	dp_ewop op;
	cr_expect_eq(dp_ew_parse("gelu", &op), 0);
	cr_expect_eq(op, DP_EW_GELU);
	cr_expect_eq(dp_ew_parse("swish", &op), ASIM_ESYNTAX);
}

Test(datapath_kernels, reductions_in_documented_order)
{
	/* FP32 sum, ascending: (1e8 + 1) rounds to 1e8 (ulp 8), - 1e8 = 0, + 1 = 1 */
	float x[4] = {1e8f, 1.0f, -1e8f, 1.0f}, y[4];
	dp_reduce_f32(DP_RED_SUM, x, 1, 4, 0, y);
	cr_expect_eq(y[0], 1.0f);
	dp_reduce_f32(DP_RED_MAX, x, 2, 2, 0, y);
	cr_expect_eq(y[0], 1e8f);
	cr_expect_eq(y[1], 1.0f);
	float s[3] = {0.0f, 0.0f, 0.0f};
	dp_reduce_f32(DP_RED_SOFTMAX, s, 1, 3, 0, y);
	for (int i = 0; i < 3; i++)
		cr_expect_eq(y[i], 1.0f / 3.0f);
	float l[4] = {1, 2, 3, 4};
	dp_reduce_f32(DP_RED_LAYERNORM, l, 1, 4, 0, y);   /* mu 2.5, var 1.25 */
	cr_expect_eq(y[0], -1.5f / sqrtf(1.25f));
	cr_expect_eq(y[3], 1.5f / sqrtf(1.25f));
	dp_reduce_f32(DP_RED_RMSNORM, l, 1, 4, 0, y);     /* ms = 30/4 = 7.5 */
	cr_expect_eq(y[1], 2.0f / sqrtf(7.5f));
	uint16_t a[4] = {0x3f80, 0x4000, 0x4040, 0x4080}, d[1];
	dp_out out = {dp_cvt_make(DP_FMT_BF16, DP_RNE), 0, 0};
	asim_err e;
	asim_err_init(&e);
	cr_assert_eq(dp_reduce(DP_RED_SUM, DP_FMT_BF16, a, 1, 4, 0, &out, d, &e), 0);
	cr_expect_eq(d[0], 0x4120);   /* 10 */
	cr_expect_eq(dp_red_out_len(DP_RED_SOFTMAX, 3, 5), 15);
}
