/*
 * bench_chip.c -- cost of the chip module's operations that sit in loops: loading a chip from text
 * (once per run, but a sweep may load thousands) and chip_copy + chip_set_param (once per point of
 * a design-space sweep). Prints microseconds per operation; `make bench` runs it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim/chip.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(void)
{
	asim_err e;
	asim_err_init(&e);
	chip c;
	const int n = getenv("BENCH_N") ? atoi(getenv("BENCH_N")) : 2000;
	double t0 = now_s();
	for (int i = 0; i < n; i++) {
		if (chip_load(&c, "trn1", &e) != 0) {
			fprintf(stderr, "bench_chip: %s\n", e.msg);
			return 1;
		}
		chip_fini(&c);
	}
	double t1 = now_s();
	printf("chip_load(trn1, built-in)          %8.2f us/op  (%d ops)\n", (t1 - t0) * 1e6 / n, n);

	if (chip_load(&c, "trn1", &e) != 0)
		return 1;
	const int m = getenv("BENCH_M") ? atoi(getenv("BENCH_M")) : 20000;
	char val[32];
	t0 = now_s();
	for (int i = 0; i < m; i++) {
		chip d;
		if (chip_copy(&d, &c) != 0)
			return 1;
		snprintf(val, sizeof val, "%d", 1 + i % 128);
		if (chip_set_param(&d, "pe_array.cols", val, &e) != 0) {
			fprintf(stderr, "bench_chip: %s\n", e.msg);
			return 1;
		}
		chip_fini(&d);
	}
	t1 = now_s();
	printf("chip_copy + chip_set_param(cols)   %8.2f us/op  (%d ops)\n", (t1 - t0) * 1e6 / m, m);
	chip_fini(&c);
	return 0;
}
