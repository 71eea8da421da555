/*
 * bench_graph_load.c -- how fast graph YAML loads (parse + validate + infer + hash), and whether
 * the cost is linear in the file size.
 *
 * Builds in memory a chain of residual MLP blocks (matmul with bias and fused GELU, add, layernorm
 * every 8 blocks) of about 1 MB and about 10 MB, loads each with graph_load_buffer() a few times,
 * and prints the best time, MB/s, and the ratio of per-byte costs (1.0 = perfectly linear; a
 * quadratic name lookup would show up here as a ratio near 10).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim/graph.h"
#include "sim/yamldoc.h"

typedef struct buf { char *p; size_t n, cap; } buf;

static void put(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(buf *b, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int w = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
		va_end(ap);
		if (w >= 0 && (size_t)w < b->cap - b->n) {
			b->n += (size_t)w;
			return;
		}
		b->cap = b->cap * 2 + 4096;
		b->p = realloc(b->p, b->cap);
		if (b->p == NULL) {
			fprintf(stderr, "out of memory\n");
			exit(1);
		}
	}
}

static buf make_graph(size_t target)
{
	buf t = {NULL, 0, 0}, o = {NULL, 0, 0};
	put(&t, "accelsim: 1\nname: bench\ndtype: bf16\ntensors:\n  - {name: x0, kind: input, shape: [8, 128, 256]}\n");
	put(&o, "ops:\n");
	size_t i = 0;
	while (t.n + o.n < target) {
		put(&t, "  - {name: blk%zu.w, kind: weight, shape: [256, 256]}\n"
		        "  - {name: blk%zu.b, kind: weight, shape: [256]}\n"
		        "  - {name: blk%zu.h, kind: activation, shape: [8, 128, 256]}\n"
		        "  - {name: x%zu}\n", i, i, i, i + 1);
		put(&o, "  - {name: blk%zu.fc, type: matmul, inputs: [x%zu, blk%zu.w, blk%zu.b], outputs: [blk%zu.h], "
		        "activation: gelu, group: blk%zu}\n"
		        "  - {name: blk%zu.res, type: add, inputs: [x%zu, blk%zu.h], outputs: [x%zu], group: blk%zu}\n",
		    i, i, i, i, i, i, i, i, i, i + 1, i);
		i++;
	}
	put(&t, "%s", o.p);
	free(o.p);
	return t;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* the YAML layer alone (libyaml + sim/yamldoc), to tell the parser's share from the graph's */
static double best_parse(const buf *b)
{
	double best = 1e30;
	for (int rep = 0; rep < 3; rep++) {
		yd_doc d;
		asim_err e;
		asim_err_init(&e);
		double t0 = now();
		int rc = yd_load_buffer(&d, "bench.yaml", b->p, b->n, &e);
		double t = now() - t0;
		yd_free(&d);
		if (rc != 0) {
			fprintf(stderr, "bench_graph_load: %s\n", e.msg);
			exit(1);
		}
		if (t < best)
			best = t;
	}
	return best;
}

static double best_load(const buf *b, size_t *ops)
{
	double best = 1e30;
	for (int rep = 0; rep < 3; rep++) {
		graph g;
		asim_err e;
		asim_err_init(&e);
		double t0 = now();
		int rc = graph_load_buffer(&g, "bench.yaml", b->p, b->n, &e);
		double t = now() - t0;
		if (rc != 0) {
			fprintf(stderr, "bench_graph_load: %s\n", e.msg);
			exit(1);
		}
		*ops = g.n_ops;
		graph_fini(&g);
		if (t < best)
			best = t;
	}
	return best;
}

int main(void)
{
	buf small = make_graph((size_t)1 << 20), big = make_graph((size_t)10 << 20);
	size_t ops_s, ops_b;
	double ts = best_load(&small, &ops_s), tb = best_load(&big, &ops_b);
	printf("graph load  %6.2f MB  %7zu ops  %.3f s  %6.1f MB/s\n", small.n / 1e6, ops_s, ts, small.n / 1e6 / ts);
	printf("graph load  %6.2f MB  %7zu ops  %.3f s  %6.1f MB/s\n", big.n / 1e6, ops_b, tb, big.n / 1e6 / tb);
	printf("per-byte cost, 10 MB vs 1 MB: %.2f (1.00 = linear)\n", (tb / big.n) / (ts / small.n));
	/* parse and full load measured back to back, best of several, so machine noise hits both */
	double tp = 1e30, tl = 1e30;
	for (int i = 0; i < 3; i++) {
		double p = best_parse(&big), l = best_load(&big, &ops_b);
		tp = p < tp ? p : tp;
		tl = l < tl ? l : tl;
	}
	tb = tl;
	printf("of the 10 MB load: YAML parsing (libyaml + yamldoc) %.3f s (%.0f%%), graph checks %.3f s\n",
	       tp, 100 * tp / tb, tb - tp);
	free(small.p);
	free(big.p);
	return 0;
}
