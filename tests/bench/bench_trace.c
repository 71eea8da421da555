/*
 * bench_trace.c -- `make bench`: the cost of writing a compressed instruction-level trace.
 *
 * The synthetic 10-million-instruction matmul layer of bench_engine.c (1.25 M groups of: DMA
 * load, 4 matmuls, PSUM evacuation on VEC, activation on ACT, DMA store; 64 graph ops) run on the
 * trn1 test chip with the tracer writing `--trace` as .json.gz (level inst), `--ops` and
 * `--memory`. Prints wall time with and without the tracer, the output size, and memory:
 * ru_maxrss (peak resident set of the process) and the growth of the peak over what the program
 * itself holds before the run (the program holds sizeof(isa_inst) bytes per instruction; the target for the
 * tracer is < 200 MB whatever the length of the run: it streams).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "isa/asm.h"
#include "sim/alloc.h"
#include "sim/engine.h"
#include "tests/testchip.h"
#include "traces/tracer.h"

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

static long maxrss_kb(void)
{
	struct rusage u;
	getrusage(RUSAGE_SELF, &u);
	return u.ru_maxrss;
}

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, res = 0;
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &res) != 2)
			res = 0;
		fclose(f);
	}
	return res * (sysconf(_SC_PAGESIZE) / 1024);
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

int main(void)
{
	chip c;
	tc_trn1(&c);
	c.energy.mac_pj[ASIM_DT_BF16] = 0.5;
	c.energy.sbuf_pj_per_byte = 1.43;
	c.energy.psum_pj_per_byte = 0.44;
	c.energy.hbm_pj_per_bit = 4;
	c.energy.static_w = 30;
	memcpy(c.hash, "0000000000000000", 17);
	size_t groups = 1250000;
	isa_program p;
	build(&p, groups);
	printf("bench_trace: %zu instructions (%zu bytes each in memory), chip %s\n", p.n, sizeof(isa_inst), c.name);
	asim_err e;
	asim_err_init(&e);
	engine_result r;
	double t0 = now_s(), c0 = cpu_s();
	if (engine_run(&c, &p, NULL, &r, &e)) {
		fprintf(stderr, "bench: %s\n", e.msg);
		return 1;
	}
	double t1 = now_s(), c1 = cpu_s();
	engine_result_fini(&r);
	printf("  engine alone:        %.3f s wall, %.3f s CPU\n", t1 - t0, c1 - c0);
	char dir[] = "/tmp/bench_traceXXXXXX";
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	char tr[64], ops[64], mem[64];
	snprintf(tr, sizeof tr, "%s/t.json.gz", dir);
	snprintf(ops, sizeof ops, "%s/o.csv", dir);
	snprintf(mem, sizeof mem, "%s/m.csv.gz", dir);
	long before = rss_kb(), peak_before = maxrss_kb();
	tracer_opts o;
	memset(&o, 0, sizeof o);
	o.trace_path = tr;
	o.ops_path = ops;
	o.memory_path = mem;
	o.version = "bench";
	o.input_name = "bench";
	o.input_hash = "0000000000000000";
	tracer *t;
	t0 = now_s();
	c0 = cpu_s();
	if (tracer_new(&t, &c, &p, NULL, &o, &e)) {
		fprintf(stderr, "bench: %s\n", e.msg);
		return 1;
	}
	event_sink sink = tracer_sink(t);
	if (engine_run(&c, &p, &sink, &r, &e) || tracer_finish(t, &r, &e)) {
		fprintf(stderr, "bench: %s\n", e.msg);
		return 1;
	}
	t1 = now_s();
	c1 = cpu_s();
	long peak = maxrss_kb();
	long growth = peak - (before > peak_before ? before : peak_before);
	if (growth < 0)
		growth = 0;
	printf("  with trace .json.gz: %.3f s wall, %.3f s CPU (%.2f M instructions per CPU second), "
	       "simulated %.3f ms\n", t1 - t0, c1 - c0, (double)p.n / (c1 - c0) / 1e6,
	       isa_ticks_to_ns(&r.clk, r.end) / 1e6);
	printf("  outputs:             trace %.1f MB (gz), ops %ld bytes, memory %ld bytes\n",
	       (double)fsize(tr) / 1e6, fsize(ops), fsize(mem));
	printf("  memory:              peak RSS %.1f MB; RSS before the traced run %.1f MB (the program);\n"
	       "                       growth of the peak during the traced run %.1f MB (target < 200 MB: %s)\n",
	       (double)peak / 1024, (double)before / 1024, (double)growth / 1024, growth < 200 * 1024 ? "met" : "MISSED");
	tracer_free(t);
	engine_result_fini(&r);
	isa_program_fini(&p);
	unlink(tr);
	unlink(ops);
	unlink(mem);
	rmdir(dir);
	return growth < 200 * 1024 ? 0 : 1;
}
