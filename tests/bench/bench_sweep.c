/*
 * bench_sweep.c -- `make bench`: sweep throughput (rows per second) of the shipped conv2d and
 * matmul sweeps on trn1 with 2 worker threads, against the target of 5,000 op simulations per
 * second on a 2-core machine; and where a sample's time goes (one thread, phase by phase):
 * render the template, load the graph (YAML parse + validation), lower, run the engine (with the
 * sweep's event sink: the tracer in one-op mode), build and format the row (oprow).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "isa/lower.h"
#include "sim/sweep_int.h"
#include "traces/tracer.h"

#define TARGET_ROWS_PER_S 5000.0

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int bench(const char *srcdir, const char *name, int reps)
{
	char path[1024], out[1024];
	snprintf(path, sizeof path, "%s/models/sweeps/%s.yaml", srcdir, name);
	snprintf(out, sizeof out, "/tmp/bench_sweep_%d_%s.csv", (int)getpid(), name);
	sweep_spec *sp;
	asim_err e;
	asim_err_init(&e);
	if (sweep_spec_load(&sp, path, "trn1", 0, 0, &e) != 0) {
		fprintf(stderr, "%s\n", e.msg);
		return 1;
	}
	uint64_t n;
	sweep_count(sp, &n, &e);

	/* end to end, 2 threads */
	double best = 1e30, best_cpu = 1e30;
	for (int r = 0; r < reps; r++) {
		sweep_opts o = {out, 2, 0, 1, 0, 0, 64};
		double c0 = cpu();
		double t0 = now();
		if (sweep_run(sp, &o, &e) != 0) {
			fprintf(stderr, "%s\n", e.msg);
			return 1;
		}
		double t = now() - t0, tc = cpu() - c0;
		if (t < best)
			best = t;
		if (tc < best_cpu)
			best_cpu = tc;
	}
	unlink(out);
	double rate = (double)n / best;
	double cpu_rate = (double)n / best_cpu;
	double load[1] = {0};
	FILE *lf = fopen("/proc/loadavg", "r");
	if (lf) {
		if (fscanf(lf, "%lf", &load[0]) != 1)
			load[0] = 0;
		fclose(lf);
	}
	printf("%-10s %6llu rows  --jobs 2: %8.0f rows/s wall  (%.2fx the %.0f rows/s target; load average %.1f)\n",
	       name, (unsigned long long)n, rate, rate / TARGET_ROWS_PER_S, TARGET_ROWS_PER_S, load[0]);
	printf("           %8.0f rows per CPU-second; 2 idle cores at that rate: %.0f rows/s (%.2fx the target)\n",
	       cpu_rate, 2 * cpu_rate, 2 * cpu_rate / TARGET_ROWS_PER_S);

	/* phases, one thread */
	double tr = 0, tg = 0, tl = 0, te = 0, tf = 0;
	sweep_iter *it;
	sweep_iter_new(&it, sp);
	sweep_val vals[64];
	sweep_buf yaml = {0}, row = {0};
	sweep_rowbuf *rb = malloc(sizeof *rb);
	sweep_rowbuf_init(rb);
	chip c;
	memset(&c, 0, sizeof c);
	isa_program p;
	isa_program_init(&p);
	uint64_t insts = 0, k = 0;
	int have_chip = 0;
	while (sweep_iter_next(it, vals, &e) == 1) {
		if (!have_chip) {
			sweep_make_chip(sp, vals, &c, &e);
			have_chip = 1;
		}
		double t0 = now();
		sweep_render(sp, vals, &yaml, &e);
		double t1 = now();
		graph g;
		if (graph_load_buffer(&g, sweep_template_name(), yaml.p, yaml.len, &e) != 0) {
			fprintf(stderr, "%s\n", e.msg);
			return 1;
		}
		double t2 = now();
		free(p.source);
		p.source = NULL;
		p.n = 0;
		p.nsems = p.dma_queues = 0;
		lower_opts lo = {0};
		lower_graph(&g, &c, &lo, &p, &e);
		double t3 = now();
		engine_result r;
		uint32_t target = 0;
		sweep_target_op(sp, &g, &target, &e);
		tracer *trc;
		tracer_opts to;
		memset(&to, 0, sizeof to);
		to.one_op = 1;
		to.op = target;
		if (tracer_new(&trc, &c, &p, &g, &to, &e) != 0) {
			fprintf(stderr, "%s\n", e.msg);
			return 1;
		}
		event_sink sink = tracer_sink(trc);
		engine_run(&c, &p, &sink, &r, &e);
		tracer_finish(trc, &r, &e);
		double t4 = now();
		char id[17];
		sweep_sample_id(sp, vals, id);
		sweep_row_in in = {sp, vals, k, n, &c, &g, target, &r.clk, tracer_op_acc(trc, target), id};
		row.len = 0;
		sweep_row_format(&in, rb, &row);
		tracer_free(trc);
		double t5 = now();
		insts += p.n;
		engine_result_fini(&r);
		graph_fini(&g);
		tr += t1 - t0;
		tg += t2 - t1;
		tl += t3 - t2;
		te += t4 - t3;
		tf += t5 - t4;
		k++;
	}
	double tot = tr + tg + tl + te + tf;
	printf("           one thread: %.1f us/row (%.0f rows/s); render %.1f%%, graph load %.1f%%, lower %.1f%%, "
	       "engine+sink %.1f%%, row %.1f%%; %.0f instructions/row\n",
	       tot / (double)k * 1e6, (double)k / tot, 100 * tr / tot, 100 * tg / tot, 100 * tl / tot,
	       100 * te / tot, 100 * tf / tot, (double)insts / (double)k);
	sweep_buf_fini(&yaml);
	sweep_buf_fini(&row);
	free(rb);
	isa_program_fini(&p);
	chip_fini(&c);
	sweep_iter_free(it);
	sweep_spec_free(sp);
	return 0;
}

int main(void)
{
	const char *src = getenv("ASIM_SRCDIR");
	if (src == NULL)
		src = ASIM_SRCDIR;
	int rc = bench(src, "conv2d", 3);
	if (rc == 0)
		rc = bench(src, "matmul", 3);
	return rc;
}
