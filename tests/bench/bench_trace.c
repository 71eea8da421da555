/*
 * bench_trace.c -- `make bench`: a 10-million-instruction run writing its traces, and its memory.
 *
 * Issue #6's bar: "A 10-million-instruction run writes its .gz trace with peak memory under
 * 200 MB". The run is a graph, as users run them: a chain of transformer feed-forward blocks
 * (bf16, 2048 tokens, 4096 → 11008 (gelu) → 4096, Llama-2-7B's FFN sizes without the gate),
 * generated here, on the shipped trn1, with as many blocks as it takes to reach 10 M instructions
 * (counted by lowering, so the figure follows the lowering). It goes the way `accelsim run` goes
 * (sim/rungraph.c: lowered once to count, then lowered again in a second thread while the engine
 * runs it in pieces) with the tracer writing the instruction-level trace as .json.gz, the per-op
 * CSV and the memory CSV.
 *
 * Prints the phases' wall and CPU time, instructions per CPU second, the outputs' sizes, the
 * engine's window (most instructions held at once) and the process's peak resident set
 * (ru_maxrss, everything included) against the 200 MB target, with the ratio. Exit status 1 when
 * the target is missed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sim/alloc.h"
#include "sim/chip.h"
#include "sim/graph.h"
#include "sim/rungraph.h"
#include "traces/tracer.h"

#define TARGET_INSTS 10000000.0

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static long maxrss_kb(void)
{
	struct rusage u;
	getrusage(RUSAGE_SELF, &u);
	return u.ru_maxrss;
}

static double cpu_s(void)
{
	struct rusage u;
	getrusage(RUSAGE_SELF, &u);
	return (double)u.ru_utime.tv_sec + (double)u.ru_utime.tv_usec * 1e-6 + (double)u.ru_stime.tv_sec +
	       (double)u.ru_stime.tv_usec * 1e-6;
}

static long fsize(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

/* `blocks` feed-forward blocks: x_i [2048, 4096] -> up (gelu) [2048, 11008] -> down -> x_{i+1} */
static char *ffn_yaml(int blocks, size_t *len)
{
	size_t cap = 4096 + 512 * (size_t)blocks, n = 0;
	char *b = malloc(cap);
	if (b == NULL)
		return NULL;
	n += (size_t)snprintf(b + n, cap - n, "accelsim: 1\nname: ffn_x%d\ndtype: bf16\ntensors:\n"
	                      "  - {name: x0, kind: input, shape: [2048, 4096]}\n", blocks);
	for (int i = 0; i < blocks; i++)
		n += (size_t)snprintf(b + n, cap - n,
		                      "  - {name: up%d.w, kind: weight, shape: [4096, 11008]}\n"
		                      "  - {name: h%d, kind: activation, shape: [2048, 11008]}\n"
		                      "  - {name: down%d.w, kind: weight, shape: [11008, 4096]}\n"
		                      "  - {name: x%d, kind: %s, shape: [2048, 4096]}\n",
		                      i, i, i, i + 1, i + 1 == blocks ? "output" : "activation");
	n += (size_t)snprintf(b + n, cap - n, "ops:\n");
	for (int i = 0; i < blocks; i++)
		n += (size_t)snprintf(b + n, cap - n,
		                      "  - {name: up%d, type: matmul, inputs: [x%d, up%d.w], outputs: [h%d], activation: gelu}\n"
		                      "  - {name: down%d, type: matmul, inputs: [h%d, down%d.w], outputs: [x%d]}\n",
		                      i, i, i, i, i, i, i, i + 1);
	if (n >= cap) {
		free(b);
		return NULL;
	}
	*len = n;
	return b;
}

static int fail(const asim_err *e)
{
	fprintf(stderr, "bench_trace: %s\n", e->msg);
	return 1;
}

int main(void)
{
	asim_err e;
	asim_err_init(&e);
	chip c;
	if (chip_load(&c, "trn1", &e))
		return fail(&e);
	graph g;
	/* enough blocks for TARGET_INSTS, counted by lowering: one block, two blocks, then the
	 * count of a middle block gives the number; more if still short */
	int blocks = 1;
	double n1 = 0;
	for (;;) {
		size_t len = 0;
		char *yaml = ffn_yaml(blocks, &len);
		if (yaml == NULL || graph_load_buffer(&g, "ffn.yaml", yaml, len, &e))
			return yaml ? fail(&e) : 1;
		free(yaml);
		rungraph *probe;
		lower_opts lo = {0};
		rungraph_opts po;
		memset(&po, 0, sizeof po);
		po.resident_max = 1;       /* count only: keep nothing */
		po.no_side = 1;
		if (rungraph_prepare(&probe, &g, &c, &lo, &po, &e))
			return fail(&e);
		double n = (double)rungraph_get_info(probe)->n_insts;
		rungraph_free(probe);
		if (n >= TARGET_INSTS)
			break;
		graph_fini(&g);
		if (blocks == 1) {
			n1 = n;
			blocks = 2;
		} else if (blocks == 2) {
			double mid = n - n1 > 1 ? n - n1 : 1;
			blocks = 2 + (int)((TARGET_INSTS - n) / mid + 0.999);
		} else {
			blocks++;
		}
	}
	char dir[] = "/tmp/bench_traceXXXXXX";
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	char tr[64], ops[64], mem[64];
	snprintf(tr, sizeof tr, "%s/t.json.gz", dir);
	snprintf(ops, sizeof ops, "%s/o.csv", dir);
	snprintf(mem, sizeof mem, "%s/m.csv.gz", dir);
	tracer_opts o;
	memset(&o, 0, sizeof o);
	o.trace_path = tr;
	o.ops_path = ops;
	o.memory_path = mem;
	o.version = "bench";
	o.input_name = g.name;
	o.input_hash = "0000000000000000";
	double t0 = now_s(), c0 = cpu_s();
	tracer *t;
	rungraph *rg;
	rungraph_opts ro;
	memset(&ro, 0, sizeof ro);
	ro.scan = tracer_scan_cb;
	lower_opts lo = {0};
	if (tracer_open(&t, &c, &g, 0, &o, &e))
		return fail(&e);
	ro.scan_ud = t;
	if (rungraph_prepare(&rg, &g, &c, &lo, &ro, &e) || tracer_start(t, &e))
		return fail(&e);
	double t1 = now_s(), c1 = cpu_s();
	const rungraph_info *info = rungraph_get_info(rg);
	engine_result r;
	event_sink sink = tracer_sink(t);
	if (rungraph_run(rg, &sink, &r, &e) || tracer_finish(t, &r, &e))
		return fail(&e);
	double t2 = now_s(), c2 = cpu_s();
	long peak = maxrss_kb();
	double n = (double)info->n_insts;
	printf("bench_trace: %s on %s, %.2f M instructions (%zu bytes each), streamed: %s\n", g.name,
	       c.name, n / 1e6, sizeof(isa_inst), info->streamed ? "yes" : "no");
	printf("  prepare (lower once, count, tracer scan): %.3f s wall, %.3f s CPU\n", t1 - t0, c1 - c0);
	printf("  run with trace .json.gz, ops, memory:     %.3f s wall, %.3f s CPU (lowering thread "
	       "included), %.2f M instructions per wall second; simulated %.3f ms\n", t2 - t1, c2 - c1,
	       n / (t2 - t1) / 1e6, isa_ticks_to_ns(&r.clk, r.end) / 1e6);
	printf("  outputs: trace %.1f MB (gz), ops %ld bytes, memory %ld bytes\n",
	       (double)fsize(tr) / 1e6, fsize(ops), fsize(mem));
	printf("  window: at most %llu instructions held (%.2f %% of the program) in %llu pieces "
	       "taken; side store %llu instructions on %u queues\n",
	       (unsigned long long)info->window_peak, 100.0 * (double)info->window_peak / n,
	       (unsigned long long)info->pieces, (unsigned long long)info->side_insts, info->side_queues);
	printf("  memory: peak RSS of the process %.1f MB; target < 200 MB: ratio %.2f (%s); the "
	       "whole program would take %.0f MB\n", (double)peak / 1024, (double)peak / 1024 / 200,
	       peak < 200 * 1024 ? "met" : "MISSED", n * (double)sizeof(isa_inst) / 1e6);
	tracer_free(t);
	rungraph_free(rg);
	engine_result_fini(&r);
	graph_fini(&g);
	chip_fini(&c);
	unlink(tr);
	unlink(ops);
	unlink(mem);
	rmdir(dir);
	return peak < 200 * 1024 ? 0 : 1;
}
