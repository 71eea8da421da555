/*
 * bench_estimator.c -- cost of one estimator prediction vs one full simulation (make bench).
 *
 * On trn1 and on edge-npu (where est_lowered walks more output chunks: PF 16, 32-pixel tiles):
 * fits a model on 40 candidates of models/nas/mobilenetv2_space.yaml (seed 5, simulated
 * in-process), then times est_predict_graph on the first candidate (seed 6) with at least 100 ops
 * of a deeper variant of that space (deep_space below: the shipped space tops out near 80 ops) (the graph is loaded once; the prediction includes feature extraction from the graph). The
 * bar (issue #8): under 1 ms per 100-op graph. Prints the time per prediction, the time of the
 * full simulation of the same graph (lower + run) and their ratio.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "est/est.h"
#include "sim/alloc.h"
#include "sim/nas.h"

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int load_cand(const nas_spec *s, uint64_t seed, uint64_t i, graph *g, asim_err *e)
{
	nas_candidate c;
	if (nas_sample(s, seed, i, &c, e))
		return -1;
	int rc = graph_load_buffer(g, "cand", c.text, c.len, e);
	nas_candidate_fini(&c);
	return rc;
}

/* The shipped space with deeper stages, so its candidates have 100 ops or more. */
static const char deep_space[] =
"nas: 1\nname: deep_space\ndtype: bf16\nbatch: [1]\nresolution: [224]\n"
"stem: {channels: [32], kernel: 3, stride: 2}\nstages:\n"
"  - {expansion: [1], kernel: [3], channels: [16], depth: [1], stride: 1, block: [mbconv]}\n"
"  - {expansion: [3, 6], kernel: [3, 5], channels: [24, 32], depth: [4], stride: 2, block: [mbconv, fused]}\n"
"  - {expansion: [3, 6], kernel: [3, 5], channels: [40, 48], depth: [6], stride: 2, block: [mbconv, fused]}\n"
"  - {expansion: [3, 6], kernel: [3, 5], channels: [64, 72], depth: [6], stride: 2, block: [mbconv]}\n"
"  - {expansion: [3, 6], kernel: [3, 5], channels: [96, 100], depth: [6], stride: 1, block: [mbconv]}\n"
"  - {expansion: [3, 6], kernel: [3, 5], channels: [160, 163], depth: [6], stride: 2, block: [mbconv]}\n"
"  - {expansion: [6], kernel: [3], channels: [320], depth: [1], stride: 1, block: [mbconv]}\n"
"head: {channels: [1280], classes: 1000}\n";

/* Fit on 40 candidates of `space` on `chipname`, time the prediction of `g`; returns 0 when
 * under the bar. */
static int bench_chip(const char *chipname, const nas_spec *s, const graph *g, uint64_t cand)
{
	asim_err e;
	asim_err_init(&e);
	chip c;
	if (chip_load(&c, chipname, &e)) {
		fprintf(stderr, "bench_estimator: %s\n", e.msg);
		return 1;
	}
	est_data d;
	est_data_init(&d);
	for (uint64_t i = 0; i < 40; i++) {
		graph t;
		if (load_cand(s, 5, i, &t, &e) || est_data_add_graph(&d, &t, &c, &e)) {
			fprintf(stderr, "bench_estimator: %s\n", e.msg);
			return 1;
		}
		graph_fini(&t);
	}
	est_model m;
	if (est_fit(&d, &c, 1, &m, &e)) {
		fprintf(stderr, "bench_estimator: %s\n", e.msg);
		return 1;
	}
	est_op *ops = asim_calloc(g->n_ops, sizeof *ops);
	double *pred = asim_calloc(g->n_ops, sizeof *pred);
	int reps = 2000;
	double sink = 0, t0 = now();
	for (int r = 0; r < reps; r++)
		sink += est_predict_graph(&m, &c, g, ops, pred, NULL);
	double per = (now() - t0) / reps;
	int sreps = 5;
	double total = 0;
	t0 = now();
	for (int r = 0; r < sreps; r++)
		est_simulate(g, &c, &total, NULL, &e);
	double sim = (now() - t0) / sreps;
	printf("estimator predict: %zu-op graph (deep_space candidate %llu, seed 6, %s): %.1f us per prediction "
	       "(bar: 1000 us per 100 ops; %.2f us per op)\n", g->n_ops, (unsigned long long)cand, chipname,
	       per * 1e6, per * 1e6 / (double)g->n_ops);
	printf("estimator predict: full simulation of the same graph %.1f us: prediction is %.0fx faster "
	       "(predicted %.0f ns, simulated %.0f ns)\n", sim * 1e6, sim / per, sink / reps, total);
	asim_free(ops);
	asim_free(pred);
	est_model_fini(&m);
	est_data_fini(&d);
	chip_fini(&c);
	return per * 100.0 / (double)g->n_ops < 1e-3 ? 0 : 1;
}

int main(void)
{
	asim_err e;
	asim_err_init(&e);
	nas_spec s;
	if (nas_spec_load_file(&s, ASIM_SRCDIR "/models/nas/mobilenetv2_space.yaml", &e)) {
		fprintf(stderr, "bench_estimator: %s\n", e.msg);
		return 1;
	}
	nas_spec deep;
	if (nas_spec_load_buffer(&deep, "deep_space", deep_space, sizeof deep_space - 1, &e)) {
		fprintf(stderr, "bench_estimator: %s\n", e.msg);
		return 1;
	}
	graph g;
	uint64_t i = 0;
	for (;; i++) {
		if (i == 100 || load_cand(&deep, 6, i, &g, &e)) {
			fprintf(stderr, "bench_estimator: %s\n", e.msg);
			return 1;
		}
		if (g.n_ops >= 100)
			break;
		graph_fini(&g);
	}
	int rc = bench_chip("trn1", &s, &g, i) | bench_chip("edge-npu", &s, &g, i);
	graph_fini(&g);
	nas_spec_fini(&s);
	nas_spec_fini(&deep);
	return rc;
}
