/*
 * bench_datapath.c -- `make bench`: throughput of the datapath's hot paths on one thread, with
 * the ratio to the targets of issue #3 (per core):
 *
 *     fp32 -> bf16, sr        >= 1.5 G elements/s      (CPFloat: about 0.50)
 *     fp32 -> fp8_e4m3, sr    >= 0.9 G elements/s      (CPFloat: about 0.30)
 *     fp32 -> bf16, rne       >= 3.0 G elements/s      (CPFloat: about 3.7)
 *     bf16 matmul, exact FP32 accumulation in the PE order  >= 4 GFLOP/s
 *
 * Each figure is the best of several repetitions (wall clock, CLOCK_MONOTONIC). Arrays of 1 Mi
 * elements stay in L2/L3 so the figure is the conversion's, not DRAM's.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sim/alloc.h"
#include "sim/datapath/format.h"
#include "sim/datapath/kernels.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void bench_cvt(const char *label, dp_format f, dp_rmode m, const float *x, void *y,
                      size_t n, double target)
{
	dp_cvt c = dp_cvt_make(f, m);
	double best = 1e30;
	for (int rep = 0; rep < 15; rep++) {
		double t0 = now();
		dp_convert_f32_array(&c, x, y, n, 42, 7, (uint64_t)rep * n);
		double t = now() - t0;
		if (t < best)
			best = t;
	}
	double g = (double)n / best / 1e9;
	printf("%-34s %7.3f G elements/s   target %.2f   ratio %.2f\n", label, g, target,
	       g / target);
}

int main(void)
{
	const size_t n = (size_t)1 << 20;
	float *x = asim_malloc(n * sizeof *x);
	uint32_t *y = asim_malloc(n * 4);
	if (!x || !y)
		return 1;
	uint64_t s = 1;
	for (size_t i = 0; i < n; i++) {
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		x[i] = ((float)(s >> 40) / 16777216.0f - 0.5f) * 10.0f;
	}
	bench_cvt("fp32 -> bf16 sr (k=32)", DP_FMT_BF16, DP_SR, x, y, n, 1.5);
	bench_cvt("fp32 -> fp8_e4m3 sr (k=32)", DP_FMT_FP8_E4M3, DP_SR, x, y, n, 0.9);
	bench_cvt("fp32 -> bf16 rne", DP_FMT_BF16, DP_RNE, x, y, n, 3.0);
	bench_cvt("fp32 -> fp16 rne (no target)", DP_FMT_FP16, DP_RNE, x, y, n, 1.0);
	bench_cvt("fp32 -> fp8_e5m2 sr (no target)", DP_FMT_FP8_E5M2, DP_SR, x, y, n, 1.0);

	/* matmul 256 x 512 x 1024, R = 128, bf16 in, bf16 out (rne) */
	const size_t M = 256, N = 512, K = 1024;
	uint16_t *A = asim_malloc(M * K * 2), *B = asim_malloc(K * N * 2), *C = asim_malloc(M * N * 2);
	if (!A || !B || !C)
		return 1;
	dp_cvt bf = dp_cvt_make(DP_FMT_BF16, DP_RNE);
	for (size_t i = 0; i < M * K; i++)
		A[i] = (uint16_t)dp_round_f32(&bf, x[i % n], 0);
	for (size_t i = 0; i < K * N; i++)
		B[i] = (uint16_t)dp_round_f32(&bf, x[(i * 7) % n], 0);
	dp_out out = {bf, 0, 0};
	double best = 1e30;
	asim_err e;
	asim_err_init(&e);
	for (int rep = 0; rep < 5; rep++) {
		double t0 = now();
		if (dp_matmul(DP_FMT_BF16, A, DP_FMT_BF16, B, M, N, K, 128, &out, C, NULL, 1, &e) != 0)
			return 1;
		double t = now() - t0;
		if (t < best)
			best = t;
	}
	double gf = 2.0 * (double)M * (double)N * (double)K / best / 1e9;
	printf("%-34s %7.3f GFLOP/s            target %.2f   ratio %.2f\n",
	       "bf16 matmul 256x512x1024 R=128", gf, 4.0, gf / 4.0);
	asim_free(x);
	asim_free(y);
	asim_free(A);
	asim_free(B);
	asim_free(C);
	return 0;
}
