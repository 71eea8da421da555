/*
 * bench_engine.c -- `make bench`: how many instructions per second the engine simulates.
 *
 * A synthetic program shaped like a large matmul layer on trn1, in groups of 8 instructions:
 *
 *     dma load   (q0..q7, waits for the evacuation two groups back: double buffering) signal s0
 *     matmul ×4  (the first waits for its load; accumulate; the last signals s1)
 *     tensor_copy (PSUM evacuation on VEC, waits s1) signal s2
 *     activate   (ACT, waits s2) signal s3
 *     dma store  (q8..q15, waits s3)
 *
 * 1.25 M groups = 10 M instructions. Prints wall time, simulated instructions per second, the
 * ratio to the target of 5 M instructions/s, and the number of allocations made by engine_run for
 * 1 M and for 10 M instructions: the same count shows the per-instruction path does not allocate.
 *
 * Then shipped graphs on the shipped trn1 (issue #5 targets: ResNet-50 batch 1 in <= 100 ms on one
 * core, load + lower + run and the engine alone): ResNet-50 and a BERT-base layer (seq 128), each
 * phase timed separately -- graph load (YAML parse + checks), lowering with each instruction
 * checked against the chip (sim/rungraph.c, as `accelsim run`), engine -- over several
 * repetitions (best and median: the machine is shared), with the engine's instructions per second
 * and the ratio of each time to the 100 ms target (< 1 meets it). The graphs are found through
 * ASIM_SRCDIR (set by `make bench`), else the current directory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "isa/asm.h"
#include "isa/lower.h"
#include "sim/graph.h"
#include "sim/alloc.h"
#include "sim/engine.h"
#include "sim/rungraph.h"
#include "tests/testchip.h"

static size_t allocs;
static void *counting(void *ud, void *ptr, size_t size)
{
	(void)ud;
	if (size == 0) {
		free(ptr);
		return NULL;
	}
	allocs++;
	return realloc(ptr, size);
}

static isa_ap ap(isa_mem m, asim_dtype dt, uint16_t part, uint16_t nparts, uint64_t off, uint32_t n)
{
	isa_ap a;
	memset(&a, 0, sizeof a);
	a.mem = (uint8_t)m;
	a.dtype = (uint8_t)dt;
	a.part = part;
	a.nparts = nparts;
	a.offset = off;
	a.n[0] = n;
	a.n[1] = 1;
	isa_ap_set_contiguous(&a);
	return a;
}

static isa_inst blank(isa_opcode op, isa_engine eng)
{
	isa_inst in;
	memset(&in, 0, sizeof in);
	in.opcode = (uint16_t)op;
	in.engine = (uint8_t)eng;
	in.signal = ISA_NO_SEM;
	in.wait_sem[0] = in.wait_sem[1] = ISA_NO_SEM;
	in.gop = ISA_NO_GOP;
	return in;
}

static void build(isa_program *p, size_t groups)
{
	isa_program_init(p);
	p->nsems = 4;
	p->dma_queues = 16;
	p->source = asim_strdup("bench");
	p->cap = groups * 8;
	p->insts = asim_calloc(p->cap, sizeof *p->insts);
	if (p->insts == NULL) {
		fprintf(stderr, "bench: out of memory\n");
		exit(1);
	}
	for (size_t g = 0; g < groups; g++) {
		uint32_t buf = (uint32_t)(g & 1) * 65536;
		isa_inst in = blank(ISA_OP_DMA_COPY, ISA_ENG_DMA);
		in.queue = (uint8_t)(g % 8);
		in.dst = ap(ISA_MEM_SBUF, ASIM_DT_BF16, 0, 128, buf, 512);
		in.src[0] = ap(ISA_MEM_HBM, ASIM_DT_BF16, 0, 128, (g % 1024) * 131072, 512);
		if (g >= 2) {
			in.wait_sem[0] = 2;
			in.wait_val[0] = (uint32_t)(g - 1);
		}
		in.signal = 0;
		in.gop = (uint32_t)(g % 64);
		isa_program_push(p, &in);
		for (int k = 0; k < 4; k++) {
			in = blank(ISA_OP_MATMUL, ISA_ENG_PE);
			in.dst = ap(ISA_MEM_PSUM, ASIM_DT_FP32, 0, 128, (uint64_t)(g & 1) * 2048, 512);
			in.src[0] = ap(ISA_MEM_SBUF, ASIM_DT_BF16, 0, 128, 131072 + (uint64_t)k * 256, 128);
			in.src[1] = ap(ISA_MEM_SBUF, ASIM_DT_BF16, 0, 128, buf, 512);
			in.flags = k ? ISA_F_ACCUMULATE : 0;
			if (k == 0) {
				in.wait_sem[0] = 0;
				in.wait_val[0] = (uint32_t)(g + 1);
			}
			if (k == 3)
				in.signal = 1;
			in.gop = (uint32_t)(g % 64);
			isa_program_push(p, &in);
		}
		in = blank(ISA_OP_TENSOR_COPY, ISA_ENG_VEC);
		in.dst = ap(ISA_MEM_SBUF, ASIM_DT_BF16, 0, 128, 140000, 512);
		in.src[0] = ap(ISA_MEM_PSUM, ASIM_DT_FP32, 0, 128, (uint64_t)(g & 1) * 2048, 512);
		in.wait_sem[0] = 1;
		in.wait_val[0] = (uint32_t)(g + 1);
		in.signal = 2;
		isa_program_push(p, &in);
		in = blank(ISA_OP_ACTIVATE, ISA_ENG_ACT);
		in.dst = ap(ISA_MEM_SBUF, ASIM_DT_BF16, 0, 128, 150000, 512);
		in.src[0] = ap(ISA_MEM_SBUF, ASIM_DT_BF16, 0, 128, 140000, 512);
		in.scale = 1.0f;
		in.wait_sem[0] = 2;
		in.wait_val[0] = (uint32_t)(g + 1);
		in.signal = 3;
		isa_program_push(p, &in);
		in = blank(ISA_OP_DMA_COPY, ISA_ENG_DMA);
		in.queue = (uint8_t)(8 + g % 8);
		in.dst = ap(ISA_MEM_HBM, ASIM_DT_BF16, 0, 128, (1ull << 30) + (g % 1024) * 131072, 512);
		in.src[0] = ap(ISA_MEM_SBUF, ASIM_DT_BF16, 0, 128, 150000, 512);
		in.wait_sem[0] = 3;
		in.wait_val[0] = (uint32_t)(g + 1);
		isa_program_push(p, &in);
	}
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int one(const chip *c, size_t groups, int report)
{
	isa_program p;
	build(&p, groups);
	engine_result r;
	asim_err e;
	asim_err_init(&e);
	allocs = 0;
	asim_set_allocator(counting, NULL);
	double t0 = now_s();
	int rc = engine_run(c, &p, NULL, &r, &e);
	double t1 = now_s();
	asim_set_allocator(NULL, NULL);
	if (rc) {
		fprintf(stderr, "bench: %s\n", e.msg);
		return 1;
	}
	double ips = (double)p.n / (t1 - t0);
	printf("  %9zu instructions: %.3f s wall, %.2f M instructions/s (target 5 M/s: ratio %.2f), "
	       "%zu allocations in engine_run, simulated %.3f ms\n",
	       p.n, t1 - t0, ips / 1e6, ips / 5e6, allocs, isa_ticks_to_ns(&r.clk, r.end) / 1e6);
	if (report) {
		char name[16];
		for (uint32_t q = 0; q < 4; q++)
			printf("      %-4s utilisation %.1f%%\n", engine_queue_name(q, name, sizeof name),
			       100.0 * (double)r.q[q].busy / (double)r.end);
	}
	engine_result_fini(&r);
	isa_program_fini(&p);
	return 0;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

enum { REPS = 7 };

/* best and median of REPS timings of each phase of a shipped graph on the shipped trn1 */
static int graph_bench(const char *name)
{
	const char *dir = getenv("ASIM_SRCDIR");
	char path[4096];
	snprintf(path, sizeof path, "%s/models/graphs/%s.yaml", dir ? dir : ".", name);
	double t[4][REPS];   /* load, lower, engine, total */
	size_t n = 0;
	uint64_t end = 0;
	isa_clock clk;
	for (int k = 0; k < REPS; k++) {
		asim_err e;
		asim_err_init(&e);
		chip c;
		graph g;
		rungraph *rg = NULL;
		engine_result r;
		if (chip_load(&c, "trn1", &e)) {
			fprintf(stderr, "bench: %s\n", e.msg);
			return 1;
		}
		lower_opts lo = {0};
		double t0 = now_s();
		int rc = graph_load_file(&g, path, &e);
		double t1 = now_s();
		if (rc == 0)   /* as `accelsim run`: lowered and checked, kept (a small program) */
			rc = rungraph_prepare(&rg, &g, &c, &lo, NULL, &e);
		double t2 = now_s();
		if (rc == 0)
			rc = rungraph_run(rg, NULL, &r, &e);
		double t3 = now_s();
		if (rc) {
			fprintf(stderr, "bench: %s: %s\n", path, e.msg);
			return 1;
		}
		t[0][k] = t1 - t0;
		t[1][k] = t2 - t1;
		t[2][k] = t3 - t2;
		t[3][k] = t3 - t0;
		n = rungraph_get_info(rg)->n_insts;
		end = r.end;
		clk = r.clk;
		engine_result_fini(&r);
		rungraph_free(rg);
		graph_fini(&g);
		chip_fini(&c);
	}
	static const char *const phase[4] = {"graph load", "lower+check", "engine", "total"};
	printf("  %s on trn1: %zu instructions, simulated %.3f ms; best / median of %d runs:\n", name, n,
	       isa_ticks_to_ns(&clk, end) / 1e6, REPS);
	for (int ph = 0; ph < 4; ph++) {
		qsort(t[ph], REPS, sizeof t[ph][0], cmp_d);
		double best = t[ph][0], med = t[ph][REPS / 2];
		printf("      %-10s %8.2f / %8.2f ms  (ratio to 100 ms: %.3f / %.3f)", phase[ph], best * 1e3,
		       med * 1e3, best / 0.1, med / 0.1);
		if (ph == 2)
			printf("  %.2f / %.2f M instructions/s", (double)n / best / 1e6, (double)n / med / 1e6);
		printf("\n");
	}
	return 0;
}

int main(void)
{
	chip c;
	tc_trn1(&c);
	printf("bench_engine: synthetic matmul layer on %s (PE, ACT, VEC, 16 DMA queues)\n", c.name);
	if (one(&c, 125000, 0) || (getenv("BENCH_QUICK") == NULL && one(&c, 1250000, 1)))
		return 1;
	printf("bench_engine: shipped graphs (target: ResNet-50 in <= 100 ms, load + lower + run)\n");
	if (graph_bench("resnet50") || graph_bench("bert_base_layer_s128"))
		return 1;
	return 0;
}
