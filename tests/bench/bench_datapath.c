/*
 * bench_datapath.c -- `make bench`: throughput of the datapath's hot paths on one thread, with
 * the ratio to the targets of issue #3 (per core):
 *
 *     fp32 -> bf16, sr        >= 1.5 G elements/s      (CPFloat: about 0.50)
 *     fp32 -> fp8_e4m3, sr    >= 0.9 G elements/s      (CPFloat: about 0.30)
 *     fp32 -> bf16, rne       >= 3.0 G elements/s      (CPFloat: about 3.7)
 *     bf16 matmul, exact FP32 accumulation in the PE order  >= 4 GFLOP/s
 *
 * Each conversion is timed over 15 repetitions (wall clock, CLOCK_MONOTONIC); the best and the
 * median are printed, with the dispatch variant that ran (fastcvt.c picks the best one the CPU
 * supports). The targets are judged on the best. Then the SR and rne conversions again with
 * every variant this CPU supports, forced in turn, for comparison. Arrays of 1 Mi elements stay
 * in L2/L3 so the figure is the conversion's, not DRAM's. The machine may be shared: run it
 * several times.
 */
#include <stdint.h>
#include <stdlib.h>
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

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

#define REPS 15

static void bench_cvt(const char *label, dp_format f, dp_rmode m, const float *x, void *y,
                      size_t n, double target)
{
	dp_cvt c = dp_cvt_make(f, m);
	double t[REPS];
	for (int rep = 0; rep < REPS; rep++) {
		double t0 = now();
		dp_convert_f32_array(&c, x, y, n, 42, 7, (uint64_t)rep * n);
		t[rep] = now() - t0;
	}
	qsort(t, REPS, sizeof t[0], cmp_double);
	double best = (double)n / t[0] / 1e9, med = (double)n / t[REPS / 2] / 1e9;
	if (target > 0)
		printf("%-32s %-7s best %6.3f  median %6.3f G elements/s   target %.2f   ratio %.2f\n",
		       label, dp_simd_name(dp_simd_active()), best, med, target, best / target);
	else
		printf("%-32s %-7s best %6.3f  median %6.3f G elements/s   (no target)\n", label,
		       dp_simd_name(dp_simd_active()), best, med);
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
	printf("dispatch: %s (variants supported here:", dp_simd_name(dp_simd_active()));
	for (int v = 0; v < DP_SIMD_COUNT; v++)
		if (dp_simd_supported((dp_simd)v))
			printf(" %s", dp_simd_name((dp_simd)v));
	printf(")\n");
	bench_cvt("fp32 -> bf16 sr (k=32)", DP_FMT_BF16, DP_SR, x, y, n, 1.5);
	bench_cvt("fp32 -> fp8_e4m3 sr (k=32)", DP_FMT_FP8_E4M3, DP_SR, x, y, n, 0.9);
	bench_cvt("fp32 -> bf16 rne", DP_FMT_BF16, DP_RNE, x, y, n, 3.0);
	bench_cvt("fp32 -> fp8_e4m3 rne", DP_FMT_FP8_E4M3, DP_RNE, x, y, n, 0);
	bench_cvt("fp32 -> fp8_e5m2 sr (k=32)", DP_FMT_FP8_E5M2, DP_SR, x, y, n, 0);
	bench_cvt("fp32 -> fp16 rne", DP_FMT_FP16, DP_RNE, x, y, n, 0);
	for (int v = 0; v < DP_SIMD_COUNT; v++) {
		if (!dp_simd_supported((dp_simd)v) || dp_simd_force((dp_simd)v) != 0)
			continue;
		bench_cvt("  forced: fp32 -> bf16 sr", DP_FMT_BF16, DP_SR, x, y, n, 1.5);
		bench_cvt("  forced: fp32 -> fp8_e4m3 sr", DP_FMT_FP8_E4M3, DP_SR, x, y, n, 0.9);
		bench_cvt("  forced: fp32 -> bf16 rne", DP_FMT_BF16, DP_RNE, x, y, n, 3.0);
	}
	dp_simd_force(DP_SIMD_COUNT);

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
