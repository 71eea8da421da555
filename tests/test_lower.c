/*
 * test_lower.c -- the lowering, checked statically (without the engine) against expectations
 * worked by hand in each test:
 *
 *   - matmul and convolution of odd shapes: the number of PE instructions equals the tile count
 *     of the documented tiling (docs/lowering.md), and the MACs of the emitted matmuls (Σ K·M·N of
 *     their access patterns) equal the op's MACs exactly;
 *   - HBM bytes moved ≥ the op's compulsory traffic (every input once, every output once);
 *   - every instruction carries a valid graph op; every tile respects the PE array's limits;
 *   - SBUF and PSUM accesses stay within capacity, also on a tiny chip (8×8 PE, 4 KiB partitions)
 *     that forces streaming of weights and inputs;
 *   - the program cannot deadlock: an independent abstract executor (queues in order, semaphores
 *     counting) runs every program to completion;
 *   - an impossible mapping is ASIM_EMAPPING with the op's file:line:column.
 *
 * Graphs and chips are built in C (small helpers below), independent of the loaders.
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "isa/lower.h"
#include "isa/lower_int.h"
#include "sim/alloc.h"

/* ---- builders ---------------------------------------------------------------------------- */

typedef struct tg {
	graph g;
	graph_tensor t[24];
	graph_op o[12];
} tg;

static void tg_init(tg *b)
{
	memset(b, 0, sizeof *b);
	b->g.name = (char *)"test";
	b->g.source = (char *)"test.yaml";
	b->g.tensors = b->t;
	b->g.ops = b->o;
}

static uint32_t tg_tensor(tg *b, asim_dtype dt, graph_tensor_kind k, uint32_t rank, ...)
{
	graph_tensor *t = &b->t[b->g.n_tensors];
	va_list ap;
	va_start(ap, rank);
	t->name = (char *)"t";
	t->dtype = dt;
	t->kind = k;
	t->rank = rank;
	t->elems = 1;
	for (uint32_t i = 0; i < rank; i++) {
		t->shape[i] = va_arg(ap, uint64_t);
		t->elems *= t->shape[i];
	}
	va_end(ap);
	t->bytes = t->elems * asim_dtype_bytes(dt);
	t->producer = -1;
	return (uint32_t)b->g.n_tensors++;
}

static graph_op *tg_op(tg *b, graph_op_type ty, uint32_t nin, const uint32_t *in, uint32_t nout,
                       const uint32_t *out, unsigned long line, unsigned long col)
{
	graph_op *o = &b->o[b->g.n_ops];
	o->name = (char *)"op";
	o->type = ty;
	o->n_in = nin;
	o->n_out = nout;
	memcpy(o->in, in, nin * sizeof *in);
	memcpy(o->out, out, nout * sizeof *out);
	o->a.stride[0] = o->a.stride[1] = 1;
	o->a.dilation[0] = o->a.dilation[1] = 1;
	o->a.groups = 1;
	o->group = -1;
	o->line = line;
	o->col = col;
	for (uint32_t i = 0; i < nout; i++)
		b->t[out[i]].producer = (int32_t)b->g.n_ops;
	b->g.n_ops++;
	return o;
}

static void chip_trn1(chip *c)
{
	memset(c, 0, sizeof *c);
	c->name = (char *)"trn1-test";
	c->cores = 2;
	c->pe = (chip_pe){ .rows = 128, .cols = 128, .clock_ghz = 2.8, .min_ii_cycles = 64,
	                   .max_moving = 512 };
	c->vector = (chip_engine){ .lanes = 128, .clock_ghz = 1.12, .elems_per_cycle = 1 };
	c->scalar = (chip_engine){ .lanes = 128, .clock_ghz = 1.4, .elems_per_cycle = 1 };
	c->sbuf = (chip_sbuf){ .partitions = 128, .partition_bytes = 192 * 1024 };
	c->psum = (chip_psum){ .partitions = 128, .banks = 8, .partition_bytes = 16 * 1024 };
	c->dma = (chip_dma){ .engines = 16, .engine_gb_per_s = 27, .fixed_ns = 64,
	                     .efficient_bytes = 2048 };
	c->sbuf_bytes = 128ull * 192 * 1024;
	c->psum_bytes = 128ull * 16 * 1024;
	c->psum_bank_bytes = 2048;
}

/* 8×8 PE, 8 partitions of 4 KiB SBUF, PSUM 8 × 2 banks of 256 B (64 FP32), 2 DMA queues */
static void chip_tiny(chip *c)
{
	chip_trn1(c);
	c->name = (char *)"tiny";
	c->pe.rows = c->pe.cols = 8;
	c->pe.max_moving = 64;
	c->vector.lanes = c->scalar.lanes = 8;
	c->sbuf = (chip_sbuf){ .partitions = 8, .partition_bytes = 4096 };
	c->psum = (chip_psum){ .partitions = 8, .banks = 2, .partition_bytes = 512 };
	c->dma.engines = 2;
	c->sbuf_bytes = 8 * 4096;
	c->psum_bytes = 8 * 512;
	c->psum_bank_bytes = 256;
}

/* 16 × 16 PE, 16 partitions of 4 KiB SBUF, PSUM 16 × 4 banks of 256 B, 4 DMA queues */
static void chip_tiny16(chip *c)
{
	chip_tiny(c);
	c->name = (char *)"tiny16";
	c->pe.rows = c->pe.cols = 16;
	c->vector.lanes = c->scalar.lanes = 16;
	c->sbuf.partitions = 16;
	c->psum = (chip_psum){ .partitions = 16, .banks = 4, .partition_bytes = 1024 };
	c->dma.engines = 4;
	c->sbuf_bytes = 16 * 4096;
	c->psum_bytes = 16 * 1024;
}

/* ---- program analysis (independent of the lowering's internals) ---------------------------- */

typedef struct pstats {
	uint64_t matmuls, macs, hbm_bytes, vec, act, dma;
	uint64_t max_k, max_m, max_n;
} pstats;

static uint64_t ap_bytes(const isa_ap *a)
{
	return (uint64_t)a->nparts * a->n[0] * a->n[1] * asim_dtype_bytes((asim_dtype)a->dtype);
}

static pstats analyse(const isa_program *p)
{
	pstats s;
	memset(&s, 0, sizeof s);
	for (size_t i = 0; i < p->n; i++) {
		const isa_inst *in = &p->insts[i];
		switch (in->opcode) {
		case ISA_OP_MATMUL: {
			uint64_t k = in->src[0].nparts, m = (uint64_t)in->src[0].n[0] * in->src[0].n[1];
			uint64_t n = (uint64_t)in->src[1].n[0] * in->src[1].n[1];
			cr_assert_eq(in->src[1].nparts, k, "stationary and moving disagree on K");
			cr_assert_eq(in->dst.nparts, m, "PSUM partitions != stationary columns");
			s.matmuls++;
			s.macs += k * m * n;
			s.max_k = k > s.max_k ? k : s.max_k;
			s.max_m = m > s.max_m ? m : s.max_m;
			s.max_n = n > s.max_n ? n : s.max_n;
			break;
		}
		case ISA_OP_DMA_COPY:
			s.dma++;
			if (in->src[0].mem == ISA_MEM_HBM)
				s.hbm_bytes += ap_bytes(&in->src[0]);
			if (in->dst.mem == ISA_MEM_HBM)
				s.hbm_bytes += ap_bytes(&in->dst);
			break;
		case ISA_OP_ACTIVATE:
			s.act++;
			break;
		case ISA_OP_SEM_WAIT: case ISA_OP_SEM_SIGNAL:
			break;
		default:
			s.vec++;
		}
	}
	return s;
}

/* the highest byte an access pattern touches in a partition, +1 */
static uint64_t ap_end(const isa_ap *a)
{
	uint64_t es = asim_dtype_bytes((asim_dtype)a->dtype);
	uint64_t last = a->offset;
	if (a->n[0])
		last += (a->n[0] - 1) * a->stride[0];
	if (a->n[1])
		last += (a->n[1] - 1) * a->stride[1];
	return last + es;
}

static void check_ap(const chip *c, const isa_ap *a)
{
	if (a->mem == ISA_MEM_SBUF) {
		cr_assert_leq(a->part + a->nparts, c->sbuf.partitions, "SBUF partitions exceeded");
		cr_assert_leq(ap_end(a), c->sbuf.partition_bytes, "SBUF partition bytes exceeded: %llu",
		              (unsigned long long)ap_end(a));
	} else if (a->mem == ISA_MEM_PSUM) {
		uint64_t bank = c->psum.partition_bytes / c->psum.banks;
		cr_assert_leq(a->part + a->nparts, c->psum.partitions, "PSUM partitions exceeded");
		cr_assert_leq(ap_end(a), c->psum.partition_bytes, "PSUM bytes exceeded");
		cr_assert_eq(a->offset / bank, (ap_end(a) - 1) / bank, "PSUM tile crosses a bank");
	}
}

/* Every instruction: valid gop, its engine's limits, memories within capacity; and the program
 * runs to completion on an abstract machine (queues in order, counting semaphores). */
static void check_program(const graph *g, const chip *c, const isa_program *p)
{
	uint32_t nq = p->nsems;
	cr_assert_leq(nq, 64);
	for (size_t i = 0; i < p->n; i++) {
		const isa_inst *in = &p->insts[i];
		cr_assert_lt(in->gop, g->n_ops, "instruction %zu has no valid gop", i);
		check_ap(c, &in->dst);
		check_ap(c, &in->src[0]);
		check_ap(c, &in->src[1]);
		if (in->opcode == ISA_OP_MATMUL) {
			cr_assert_leq(in->src[0].nparts, c->pe.rows);
			cr_assert_leq((uint64_t)in->src[0].n[0] * in->src[0].n[1], c->pe.cols);
			cr_assert_leq((uint64_t)in->src[1].n[0] * in->src[1].n[1], c->pe.max_moving);
			cr_assert_eq(in->dst.mem, ISA_MEM_PSUM);
		}
	}
	/* abstract execution: queue key = (engine, dma queue) */
	size_t *head = calloc(64, sizeof *head);
	uint32_t *sem = calloc(nq ? nq : 1, sizeof *sem);
	size_t *next = calloc(p->n + 1, sizeof *next);
	size_t first[64];
	for (int q = 0; q < 64; q++)
		first[q] = SIZE_MAX;
	size_t lastq[64];
	/* build per-queue linked lists in program order */
	for (size_t i = p->n; i-- > 0;) {
		const isa_inst *in = &p->insts[i];
		int q = in->engine == ISA_ENG_DMA ? 3 + in->queue : in->engine;
		cr_assert_lt(q, 64);
		next[i] = first[q];
		first[q] = i;
	}
	(void)lastq;
	for (int q = 0; q < 64; q++)
		head[q] = first[q];
	size_t done = 0;
	for (int progress = 1; progress;) {
		progress = 0;
		for (int q = 0; q < 64; q++)
			while (head[q] != SIZE_MAX) {
				const isa_inst *in = &p->insts[head[q]];
				int ok = 1;
				for (int w = 0; w < 2; w++)
					if (in->wait_sem[w] != ISA_NO_SEM && sem[in->wait_sem[w]] < in->wait_val[w])
						ok = 0;
				if (!ok)
					break;
				if (in->signal != ISA_NO_SEM) {
					cr_assert_lt(in->signal, nq);
					sem[in->signal]++;
				}
				head[q] = next[head[q]];
				done++;
				progress = 1;
			}
	}
	cr_assert_eq(done, p->n, "deadlock: %zu of %zu instructions ran", done, p->n);
	free(head);
	free(sem);
	free(next);
}

static void prog_free(isa_program *p)
{
	asim_free(p->insts);
	asim_free(p->source);
	memset(p, 0, sizeof *p);
}

static pstats lower_ok(const graph *g, const chip *c, isa_program *p)
{
	asim_err e;
	asim_err_init(&e);
	lower_opts o = { 0 };
	memset(p, 0, sizeof *p);
	int rc = lower_graph(g, c, &o, p, &e);
	cr_assert_eq(rc, 0, "lower_graph failed: %s", e.msg);
	check_program(g, c, p);
	return analyse(p);
}

static uint64_t cdiv(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

/* ---- matmul ------------------------------------------------------------------------------ */

static void mm_case(const chip *c, uint64_t M, uint64_t K, uint64_t N, asim_dtype dt)
{
	tg b;
	tg_init(&b);
	uint32_t A = tg_tensor(&b, dt, GRAPH_INPUT, 2, M, K);
	uint32_t B = tg_tensor(&b, dt, GRAPH_WEIGHT, 2, K, N);
	uint32_t Y = tg_tensor(&b, dt, GRAPH_OUTPUT, 2, M, N);
	uint32_t in[2] = { A, B };
	tg_op(&b, GRAPH_OP_MATMUL, 2, in, 1, &Y, 3, 5);
	isa_program p;
	pstats s = lower_ok(&b.g, c, &p);
	uint64_t mmax = c->pe.max_moving < c->psum.partition_bytes / c->psum.banks / 4
	                ? c->pe.max_moving : c->psum.partition_bytes / c->psum.banks / 4;
	/* hand count: K tiles × N tiles (stationary columns) × M chunks (moving, one PSUM bank) */
	uint64_t want = cdiv(K, c->pe.rows) * cdiv(N, c->pe.cols) * cdiv(M, mmax);
	cr_expect_eq(s.matmuls, want, "%llux%llux%llu: %llu matmuls, want %llu", (unsigned long long)M,
	             (unsigned long long)K, (unsigned long long)N, (unsigned long long)s.matmuls,
	             (unsigned long long)want);
	cr_expect_eq(s.macs, M * K * N);
	uint64_t es = asim_dtype_bytes(dt);
	cr_expect_geq(s.hbm_bytes, (M * K + K * N + M * N) * es);
	prog_free(&p);
}

Test(lower, matmul_odd_shapes_tile_count_and_macs)
{
	chip c;
	chip_trn1(&c);
	mm_case(&c, 300, 200, 130, ASIM_DT_BF16);   /* 2 · 2 · 1 = 4 */
	mm_case(&c, 1100, 129, 257, ASIM_DT_BF16);  /* 2 · 3 · 3 = 18 */
	mm_case(&c, 1, 1, 1, ASIM_DT_FP32);
	mm_case(&c, 513, 4000, 127, ASIM_DT_FP32);  /* 32 · 1 · 2 */
}

Test(lower, matmul_on_tiny_chip_streams_and_stays_in_capacity)
{
	chip c;
	chip_tiny(&c);
	/* B = 200×90 bf16 needs 25 K tiles × 90 × 2 B = 4500 B per partition: more than the chip
	 * has, so the weights stream tile by tile */
	mm_case(&c, 77, 200, 90, ASIM_DT_BF16);
	mm_case(&c, 9, 9, 9, ASIM_DT_FP32);
}

Test(lower, batched_matmul_with_broadcast_weights)
{
	chip c;
	chip_trn1(&c);
	tg b;
	tg_init(&b);
	uint32_t A = tg_tensor(&b, ASIM_DT_BF16, GRAPH_INPUT, 3, 3ull, 40ull, 70ull);
	uint32_t B = tg_tensor(&b, ASIM_DT_BF16, GRAPH_WEIGHT, 2, 70ull, 300ull);
	uint32_t Y = tg_tensor(&b, ASIM_DT_BF16, GRAPH_OUTPUT, 3, 3ull, 40ull, 300ull);
	uint32_t in[2] = { A, B };
	tg_op(&b, GRAPH_OP_MATMUL, 2, in, 1, &Y, 1, 1);
	isa_program p;
	pstats s = lower_ok(&b.g, &c, &p);
	cr_expect_eq(s.matmuls, 3 * 1 * 3 * 1);
	cr_expect_eq(s.macs, 3ull * 40 * 70 * 300);
	prog_free(&p);
}

/* ---- convolution ------------------------------------------------------------------------- */

typedef struct conv_shape {
	uint64_t N, C, H, W, CO, KH, KW, s, d, p, G;
} conv_shape;

static uint64_t conv_out(uint64_t in, uint64_t k, uint64_t s, uint64_t d, uint64_t p)
{
	return (in + 2 * p - d * (k - 1) - 1) / s + 1;
}

static pstats conv_case(const chip *c, conv_shape v, uint64_t *want_mm, uint64_t *want_macs)
{
	tg b;
	tg_init(&b);
	uint64_t OH = conv_out(v.H, v.KH, v.s, v.d, v.p), OW = conv_out(v.W, v.KW, v.s, v.d, v.p);
	uint32_t X = tg_tensor(&b, ASIM_DT_BF16, GRAPH_INPUT, 4, v.N, v.C, v.H, v.W);
	uint32_t Wt = tg_tensor(&b, ASIM_DT_BF16, GRAPH_WEIGHT, 4, v.CO, v.C / v.G, v.KH, v.KW);
	uint32_t Y = tg_tensor(&b, ASIM_DT_BF16, GRAPH_OUTPUT, 4, v.N, v.CO, OH, OW);
	uint32_t in[2] = { X, Wt };
	graph_op *o = tg_op(&b, GRAPH_OP_CONV2D, 2, in, 1, &Y, 7, 3);
	o->a.stride[0] = o->a.stride[1] = (uint32_t)v.s;
	o->a.dilation[0] = o->a.dilation[1] = (uint32_t)v.d;
	for (int i = 0; i < 4; i++)
		o->a.pad[i] = (uint32_t)v.p;
	o->a.groups = (uint32_t)v.G;
	o->a.activation = GRAPH_ACT_RELU;
	isa_program p;
	pstats s = lower_ok(&b.g, c, &p);
	/* documented tiling: per group, per image, output chunks of whole rows (⌊512/OW⌋ rows) when
	 * OW ≤ 512; each chunk: taps × ⌈C_g/rows⌉ × ⌈CO_g/cols⌉ matmuls */
	uint64_t mmax = 512, Cg = v.C / v.G, COg = v.CO / v.G;
	uint64_t chunks = cdiv(OH, mmax / OW);
	*want_mm = v.G * v.N * chunks * v.KH * v.KW * cdiv(Cg, c->pe.rows) * cdiv(COg, c->pe.cols);
	*want_macs = v.N * v.CO * OH * OW * Cg * v.KH * v.KW;
	uint64_t compulsory = (v.N * v.C * v.H * v.W + v.CO * Cg * v.KH * v.KW + v.N * v.CO * OH * OW) * 2;
	cr_expect_geq(s.hbm_bytes, compulsory);
	cr_expect_geq(s.act, 1, "fused relu must be applied on the ACT engine at evacuation");
	prog_free(&p);
	return s;
}

Test(lower, conv_odd_shapes_tile_count_and_macs)
{
	chip c;
	chip_trn1(&c);
	conv_shape cases[] = {
		/* N C   H   W   CO  KH KW s d p G */
		{ 1, 130, 23, 23, 200, 3, 3, 1, 1, 1, 1 },  /* 2 chunks × 9 × 2 × 2 = 72 */
		{ 2, 70, 31, 31, 129, 3, 3, 2, 1, 1, 1 },   /* OH=OW=16: 1 chunk per image */
		{ 1, 64, 20, 37, 64, 3, 3, 1, 2, 2, 1 },    /* dilation 2 */
		{ 1, 3, 224, 224, 64, 7, 7, 2, 1, 3, 1 },   /* the ResNet stem */
		{ 1, 256, 14, 14, 256, 3, 3, 1, 1, 1, 32 }, /* grouped (ResNeXt) on the PE array */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint64_t want, macs;
		pstats s = conv_case(&c, cases[i], &want, &macs);
		cr_expect_eq(s.matmuls, want, "case %zu: %llu matmuls, want %llu", i,
		             (unsigned long long)s.matmuls, (unsigned long long)want);
		cr_expect_eq(s.macs, macs, "case %zu: MACs %llu, want %llu", i,
		             (unsigned long long)s.macs, (unsigned long long)macs);
	}
}

Test(lower, conv_on_tiny_chip_spills_and_stays_in_capacity)
{
	chip c;
	chip_tiny(&c);
	/* weights: 8 C tiles × 9 taps × 40 × 2 B = 5760 B per partition > 4 KiB: streamed */
	conv_shape v = { 1, 60, 13, 11, 40, 3, 3, 1, 1, 1, 1 };
	uint64_t want, macs;
	pstats s = conv_case(&c, v, &want, &macs);
	/* Worked by hand from docs/lowering.md: per-op budget 2048 B per partition (half of 4 KiB);
	 * output staging 2 × 64 px × 2 B = 256; weights stream (2 tiles of 8 cols × 2 B), leaving
	 * about 1700 B. The band of all 8 C tiles, double-buffered, must fit: a chunk of r rows × 11
	 * cols needs 2 × 8 × (r+2) × 13 × 2 B. r = ⌊64/11⌋ = 5 → 2912 B, halved to 3 → 2080 B,
	 * to 2 → 1664 B: fits. So ⌈13/2⌉ = 7 chunks. */
	cr_expect_eq(s.matmuls, 7 * 9 * cdiv(60, 8) * cdiv(40, 8));
	cr_expect_eq(s.macs, macs);
}

Test(lower, depthwise_conv_runs_on_the_vector_engine)
{
	chip c;
	chip_trn1(&c);
	conv_shape v = { 1, 96, 56, 56, 96, 3, 3, 1, 1, 1, 96 };
	uint64_t want, macs;
	pstats s = conv_case(&c, v, &want, &macs);
	cr_expect_eq(s.matmuls, 0);
	/* per output chunk: 9 multiplies + 8 adds; 96 channels fit one partition tile; the chunk is
	 * at most 2048 pixels: 56 × 36 rows → 2 chunks */
	cr_expect_geq(s.vec, 2 * 17);
	cr_expect_eq(s.act, 2);
}

/* ---- every op lowers, on both chips, into a deadlock-free program ------------------------- */

Test(lower, every_op_family_lowers_on_both_chips)
{
	chip chips[2];
	chip_trn1(&chips[0]);
	chip_tiny(&chips[1]);
	for (int ci = 0; ci < 2; ci++) {
		tg b;
		tg_init(&b);
		asim_dtype dt = ASIM_DT_BF16;
		uint32_t x = tg_tensor(&b, dt, GRAPH_INPUT, 4, 2ull, 16ull, 10ull, 10ull);
		uint32_t w = tg_tensor(&b, dt, GRAPH_WEIGHT, 4, 24ull, 16ull, 3ull, 3ull);
		uint32_t y = tg_tensor(&b, dt, GRAPH_ACTIVATION, 4, 2ull, 24ull, 10ull, 10ull);
		uint32_t in2[3];
		in2[0] = x; in2[1] = w;
		graph_op *o = tg_op(&b, GRAPH_OP_CONV2D, 2, in2, 1, &y, 1, 1);
		o->a.pad[0] = o->a.pad[1] = o->a.pad[2] = o->a.pad[3] = 1;
		uint32_t r = tg_tensor(&b, dt, GRAPH_ACTIVATION, 4, 2ull, 24ull, 10ull, 10ull);
		tg_op(&b, GRAPH_OP_GELU, 1, &y, 1, &r, 2, 1);
		uint32_t s = tg_tensor(&b, dt, GRAPH_ACTIVATION, 4, 2ull, 24ull, 10ull, 10ull);
		in2[0] = r; in2[1] = y;
		tg_op(&b, GRAPH_OP_ADD, 2, in2, 1, &s, 3, 1);
		uint32_t pool = tg_tensor(&b, dt, GRAPH_ACTIVATION, 4, 2ull, 24ull, 5ull, 5ull);
		o = tg_op(&b, GRAPH_OP_MAXPOOL, 1, &s, 1, &pool, 4, 1);
		o->a.kernel[0] = o->a.kernel[1] = 2;
		o->a.stride[0] = o->a.stride[1] = 2;
		uint32_t gp = tg_tensor(&b, dt, GRAPH_ACTIVATION, 4, 2ull, 24ull, 1ull, 1ull);
		tg_op(&b, GRAPH_OP_GLOBAL_AVGPOOL, 1, &pool, 1, &gp, 5, 1);
		uint32_t flat = tg_tensor(&b, dt, GRAPH_ACTIVATION, 2, 2ull, 24ull);
		tg_op(&b, GRAPH_OP_RESHAPE, 1, &gp, 1, &flat, 6, 1);
		uint32_t fw = tg_tensor(&b, dt, GRAPH_WEIGHT, 2, 24ull, 10ull);
		uint32_t fb = tg_tensor(&b, dt, GRAPH_WEIGHT, 1, 10ull);
		uint32_t lg = tg_tensor(&b, dt, GRAPH_ACTIVATION, 2, 2ull, 10ull);
		uint32_t in3[3] = { flat, fw, fb };
		tg_op(&b, GRAPH_OP_MATMUL, 3, in3, 1, &lg, 7, 1);
		uint32_t sm = tg_tensor(&b, dt, GRAPH_OUTPUT, 2, 2ull, 10ull);
		o = tg_op(&b, GRAPH_OP_SOFTMAX, 1, &lg, 1, &sm, 8, 1);
		o->a.axis = 1;
		uint32_t tr = tg_tensor(&b, dt, GRAPH_OUTPUT, 2, 10ull, 2ull);
		o = tg_op(&b, GRAPH_OP_TRANSPOSE, 1, &sm, 1, &tr, 9, 1);
		o->a.perm[0] = 1;
		o->a.perm[1] = 0;
		uint32_t ln = tg_tensor(&b, dt, GRAPH_OUTPUT, 2, 2ull, 10ull);
		in3[0] = lg; in3[1] = fb; in3[2] = fb;
		o = tg_op(&b, GRAPH_OP_LAYERNORM, 3, in3, 1, &ln, 10, 1);
		o->a.axis = 1;
		o->a.epsilon = 1e-5;
		/* conv backward ops */
		uint32_t dx = tg_tensor(&b, dt, GRAPH_OUTPUT, 4, 2ull, 16ull, 10ull, 10ull);
		in2[0] = y; in2[1] = w;
		o = tg_op(&b, GRAPH_OP_CONV2D_BWD_DATA, 2, in2, 1, &dx, 11, 1);
		o->a.pad[0] = o->a.pad[1] = o->a.pad[2] = o->a.pad[3] = 1;
		uint32_t dw = tg_tensor(&b, dt, GRAPH_OUTPUT, 4, 24ull, 16ull, 3ull, 3ull);
		in2[0] = x; in2[1] = y;
		o = tg_op(&b, GRAPH_OP_CONV2D_BWD_WEIGHT, 2, in2, 1, &dw, 12, 1);
		o->a.pad[0] = o->a.pad[1] = o->a.pad[2] = o->a.pad[3] = 1;
		isa_program p;
		pstats st = lower_ok(&b.g, &chips[ci], &p);
		/* every op except the reshape emitted something */
		int seen[12] = {0};
		for (size_t i = 0; i < p.n; i++)
			seen[p.insts[i].gop] = 1;
		for (size_t i = 0; i < b.g.n_ops; i++)
			cr_expect_eq(seen[i], b.o[i].type != GRAPH_OP_RESHAPE, "chip %d op %zu", ci, i);
		/* conv + conv-backward-data + backward-weight MACs: 3 × the forward conv's; the
		 * classifier adds 2·24·10 */
		uint64_t conv_macs = 2ull * 24 * 100 * 16 * 9;
		cr_expect_eq(st.macs, 3 * conv_macs + 2 * 24 * 10, "chip %d: MACs %llu", ci,
		             (unsigned long long)st.macs);
		prog_free(&p);
	}
}

Test(lower, matmul_backward_ops_are_matmuls_with_exact_macs)
{
	chip c;
	chip_tiny(&c);
	tg b;
	tg_init(&b);
	uint32_t A = tg_tensor(&b, ASIM_DT_FP32, GRAPH_INPUT, 2, 37ull, 19ull);
	uint32_t B = tg_tensor(&b, ASIM_DT_FP32, GRAPH_WEIGHT, 2, 19ull, 23ull);
	uint32_t dY = tg_tensor(&b, ASIM_DT_FP32, GRAPH_INPUT, 2, 37ull, 23ull);
	uint32_t dA = tg_tensor(&b, ASIM_DT_FP32, GRAPH_OUTPUT, 2, 37ull, 19ull);
	uint32_t dB = tg_tensor(&b, ASIM_DT_FP32, GRAPH_OUTPUT, 2, 19ull, 23ull);
	uint32_t i1[2] = { dY, B }, i2[2] = { A, dY };
	tg_op(&b, GRAPH_OP_MATMUL_BWD_DATA, 2, i1, 1, &dA, 1, 1);
	tg_op(&b, GRAPH_OP_MATMUL_BWD_WEIGHT, 2, i2, 1, &dB, 2, 1);
	isa_program p;
	pstats s = lower_ok(&b.g, &c, &p);
	/* dA: contraction 23 over 8-row tiles (3), 19 output cols over 8 (3), 37 rows over 64 (1);
	 * dB: contraction 37 (5), 23 cols (3), 19 moving (1) */
	cr_expect_eq(s.matmuls, 3 * 3 * 1 + 5 * 3 * 1);
	cr_expect_eq(s.macs, 2ull * 37 * 19 * 23);
	prog_free(&p);
}

Test(lower, optimizer_updates_stream_weights_through_sbuf)
{
	chip c;
	chip_trn1(&c);
	tg b;
	tg_init(&b);
	uint64_t n = 1000003;     /* prime: ragged last tile */
	uint32_t W = tg_tensor(&b, ASIM_DT_FP32, GRAPH_WEIGHT, 1, n);
	uint32_t G = tg_tensor(&b, ASIM_DT_FP32, GRAPH_INPUT, 1, n);
	uint32_t M = tg_tensor(&b, ASIM_DT_FP32, GRAPH_WEIGHT, 1, n);
	uint32_t V = tg_tensor(&b, ASIM_DT_FP32, GRAPH_WEIGHT, 1, n);
	uint32_t W2 = tg_tensor(&b, ASIM_DT_FP32, GRAPH_OUTPUT, 1, n);
	uint32_t M2 = tg_tensor(&b, ASIM_DT_FP32, GRAPH_OUTPUT, 1, n);
	uint32_t V2 = tg_tensor(&b, ASIM_DT_FP32, GRAPH_OUTPUT, 1, n);
	uint32_t in[4] = { W, G, M, V }, out[3] = { W2, M2, V2 };
	graph_op *o = tg_op(&b, GRAPH_OP_ADAM_UPDATE, 4, in, 3, out, 1, 1);
	o->a.lr = 1e-3; o->a.beta1 = 0.9; o->a.beta2 = 0.999; o->a.epsilon = 1e-8;
	isa_program p;
	pstats s = lower_ok(&b.g, &c, &p);
	/* exactly compulsory: 4 reads + 3 writes of n fp32, nothing more */
	cr_expect_eq(s.hbm_bytes, 7 * n * 4);
	cr_expect_eq(s.matmuls, 0);
	prog_free(&p);
}

/* Every small matmul-family shape on the tiny chips either lowers (with exactly the op's MACs)
 * or is an ASIM_EMAPPING error -- never an assertion failure. Each case runs in a forked child,
 * so an abort is seen as a signal: child exit 0 = lowered with M·K·N MACs (counted here from
 * the emitted matmuls' access patterns), 2 = ASIM_EMAPPING, 3 = wrong MACs, 4 = another error.
 * Variants: matmul, transpose_a, transpose_b, both, backward data, backward weight, backward
 * data with transpose_a (dA stored [K, M]), backward weight with both flags (A stored [K, M], dB
 * stored [N, K]); fp32 and bf16; the op alone (the graph's last op: the whole SBUF) or followed by a relu (half). */
static int mm_sweep_child(const chip *c, int variant, uint64_t M, uint64_t K, uint64_t N,
                          asim_dtype dt, int follow)
{
	tg b;
	tg_init(&b);
	uint32_t in[2], Y;
	graph_op_type ty = variant == 4 || variant == 6 ? GRAPH_OP_MATMUL_BWD_DATA
	                 : variant == 5 || variant == 7 ? GRAPH_OP_MATMUL_BWD_WEIGHT : GRAPH_OP_MATMUL;
	int ta = variant == 1 || variant == 3 || variant >= 6, tb = variant == 2 || variant == 3 || variant == 7;
	if (variant == 6) {            /* dA^T[N,M] (stored [K,M] of the op) = (dY[M,K] · B^T)^T, B [N,K] */
		in[0] = tg_tensor(&b, dt, GRAPH_INPUT, 2, M, K);
		in[1] = tg_tensor(&b, dt, GRAPH_WEIGHT, 2, N, K);
		Y = tg_tensor(&b, dt, follow ? GRAPH_ACTIVATION : GRAPH_OUTPUT, 2, N, M);
	} else if (variant == 7) {     /* dB^T[N,M] = (A^T · dY)^T, A stored [M,K] (transpose_a), dY [K,N] */
		in[0] = tg_tensor(&b, dt, GRAPH_INPUT, 2, M, K);
		in[1] = tg_tensor(&b, dt, GRAPH_INPUT, 2, K, N);
		Y = tg_tensor(&b, dt, follow ? GRAPH_ACTIVATION : GRAPH_OUTPUT, 2, N, M);
	} else if (variant == 4) {            /* dA[M,K] = dY[M,N] · B^T, B stored [K,N]: here K ↔ N */
		in[0] = tg_tensor(&b, dt, GRAPH_INPUT, 2, M, K);
		in[1] = tg_tensor(&b, dt, GRAPH_WEIGHT, 2, N, K);
		Y = tg_tensor(&b, dt, follow ? GRAPH_ACTIVATION : GRAPH_OUTPUT, 2, M, N);
	} else if (variant == 5) {     /* dB[M,N] = A^T · dY, A [K,M], dY [K,N] */
		in[0] = tg_tensor(&b, dt, GRAPH_INPUT, 2, K, M);
		in[1] = tg_tensor(&b, dt, GRAPH_INPUT, 2, K, N);
		Y = tg_tensor(&b, dt, follow ? GRAPH_ACTIVATION : GRAPH_OUTPUT, 2, M, N);
	} else {
		in[0] = ta ? tg_tensor(&b, dt, GRAPH_INPUT, 2, K, M) : tg_tensor(&b, dt, GRAPH_INPUT, 2, M, K);
		in[1] = tb ? tg_tensor(&b, dt, GRAPH_WEIGHT, 2, N, K) : tg_tensor(&b, dt, GRAPH_WEIGHT, 2, K, N);
		Y = tg_tensor(&b, dt, follow ? GRAPH_ACTIVATION : GRAPH_OUTPUT, 2, M, N);
	}
	graph_op *o = tg_op(&b, ty, 2, in, 1, &Y, 7, 3);
	o->a.transpose_a = (uint8_t)ta;
	o->a.transpose_b = (uint8_t)tb;
	if (follow) {
		uint32_t Z = variant >= 6 ? tg_tensor(&b, dt, GRAPH_OUTPUT, 2, N, M) : tg_tensor(&b, dt, GRAPH_OUTPUT, 2, M, N);
		tg_op(&b, GRAPH_OP_RELU, 1, &Y, 1, &Z, 8, 3);
	}
	asim_err e;
	asim_err_init(&e);
	lower_opts opts = { 0 };
	isa_program p;
	memset(&p, 0, sizeof p);
	int rc = lower_graph(&b.g, c, &opts, &p, &e);
	if (rc == ASIM_EMAPPING)
		return strncmp(e.msg, "test.yaml:7:3: ", 15) == 0 ? 2 : 4;
	if (rc != 0)
		return 4;
	uint64_t macs = 0;
	for (size_t i = 0; i < p.n; i++)
		if (p.insts[i].opcode == ISA_OP_MATMUL)
			macs += (uint64_t)p.insts[i].src[0].nparts * p.insts[i].src[0].n[0] * p.insts[i].src[0].n[1]
			        * p.insts[i].src[1].n[0] * p.insts[i].src[1].n[1];
	prog_free(&p);
	return macs == M * K * N ? 0 : 3;
}

Test(lower, small_matmul_family_sweep_never_aborts)
{
	static const uint64_t dims[] = { 1, 7, 19, 37, 64, 130, 300 };
	const size_t nd = sizeof dims / sizeof dims[0];
	chip chips[2];
	chip_tiny(&chips[0]);
	chip_tiny16(&chips[1]);
	unsigned mapped = 0, refused = 0;
	for (int ci = 0; ci < 2; ci++)
		for (int v = 0; v < 8; v++)
			for (int d = 0; d < 2; d++)
				for (int f = 0; f < 2; f++)
					for (size_t i = 0; i < nd * nd * nd; i++) {
						uint64_t M = dims[i / (nd * nd)], K = dims[i / nd % nd], N = dims[i % nd];
						asim_dtype dt = d ? ASIM_DT_BF16 : ASIM_DT_FP32;
						fflush(NULL);
						pid_t pid = fork();
						cr_assert_geq(pid, 0);
						if (pid == 0)
							_exit(mm_sweep_child(&chips[ci], v, M, K, N, dt, f));
						int st = 0;
						cr_assert_eq(waitpid(pid, &st, 0), pid);
						cr_expect(WIFEXITED(st), "%s variant %d %s%s M=%llu K=%llu N=%llu: "
						          "killed by signal %d", chips[ci].name, v, d ? "bf16" : "fp32",
						          f ? " +relu" : "", (unsigned long long)M, (unsigned long long)K,
						          (unsigned long long)N, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
						int x = WIFEXITED(st) ? WEXITSTATUS(st) : 0;
						cr_expect(x == 0 || x == 2, "%s variant %d %s%s M=%llu K=%llu N=%llu: exit %d",
						          chips[ci].name, v, d ? "bf16" : "fp32", f ? " +relu" : "",
						          (unsigned long long)M, (unsigned long long)K, (unsigned long long)N, x);
						mapped += x == 0;
						refused += x == 2;
					}
	/* the tiny chips are small, not that small: every one of these shapes maps */
	cr_expect_eq(refused, 0, "%u of %u shapes refused", refused, mapped + refused);
}

/* ---- errors ------------------------------------------------------------------------------ */

/* A softmax / layernorm / rmsnorm row longer than a partition (here 5000 fp32 = 20000 B against
 * a 2 KiB per-op budget on the tiny chip) is processed in chunks along the free axis, one pass per
 * statistic and then the output pass (softmax: max, Σ exp; layernorm: Σx, Σ(x − mean)²; rmsnorm:
 * Σx²), the same formula as an unchunked row (docs/functional.md §3). Hand count of the traffic:
 * x is read 3 times (rmsnorm 2) and y written once, so HBM bytes = 4 · 4 · 5000 · 4 = 320000 for
 * softmax, 3 · 4 · 5000 · 4 = 240000 for rmsnorm without γ; layernorm with γ and β reloads both
 * per row tile per chunk in the output pass (4 rows = one tile: + 2 · 4 · 5000 · 4). */
Test(lower, long_rows_are_processed_in_chunks)
{
	chip c;
	chip_tiny(&c);
	graph_op_type types[3] = { GRAPH_OP_SOFTMAX, GRAPH_OP_RMSNORM, GRAPH_OP_LAYERNORM };
	for (int k = 0; k < 3; k++) {
		tg b;
		tg_init(&b);
		uint32_t x = tg_tensor(&b, ASIM_DT_FP32, GRAPH_INPUT, 2, 4ull, 5000ull);
		uint32_t y = tg_tensor(&b, ASIM_DT_FP32, GRAPH_OUTPUT, 2, 4ull, 5000ull);
		uint32_t in[3] = { x, 0, 0 };
		uint32_t nin = 1;
		if (types[k] == GRAPH_OP_LAYERNORM) {
			in[1] = tg_tensor(&b, ASIM_DT_FP32, GRAPH_WEIGHT, 1, 5000ull);
			in[2] = tg_tensor(&b, ASIM_DT_FP32, GRAPH_WEIGHT, 1, 5000ull);
			nin = 3;
		}
		graph_op *o = tg_op(&b, types[k], nin, in, 1, &y, 12, 9);
		o->a.axis = 1;
		o->a.epsilon = 1e-5;
		isa_program p;
		pstats s = lower_ok(&b.g, &c, &p);
		uint64_t want = (types[k] == GRAPH_OP_RMSNORM ? 3ull : 4ull) * 4 * 5000 * 4
		                + (nin == 3 ? 2ull * 4 * 5000 * 4 : 0);
		cr_expect_eq(s.hbm_bytes, want, "op %d: %llu HBM bytes, want %llu", k,
		             (unsigned long long)s.hbm_bytes, (unsigned long long)want);
		prog_free(&p);
	}
}

Test(lower, conv_with_an_unmappable_receptive_field)
{
	chip c;
	chip_tiny(&c);
	tg b;
	tg_init(&b);
	/* one output pixel of a 45×45 fp32-sized kernel over 8 channels needs 45·45·2 B = 4050 B
	 * twice (double-buffered band) in a 2 KiB per-op budget */
	uint32_t x = tg_tensor(&b, ASIM_DT_BF16, GRAPH_INPUT, 4, 1ull, 8ull, 50ull, 50ull);
	uint32_t w = tg_tensor(&b, ASIM_DT_BF16, GRAPH_WEIGHT, 4, 8ull, 8ull, 45ull, 45ull);
	uint32_t y = tg_tensor(&b, ASIM_DT_BF16, GRAPH_OUTPUT, 4, 1ull, 8ull, 6ull, 6ull);
	uint32_t in[2] = { x, w };
	tg_op(&b, GRAPH_OP_CONV2D, 2, in, 1, &y, 4, 11);
	asim_err e;
	asim_err_init(&e);
	lower_opts opts = { 0 };
	isa_program p;
	memset(&p, 0, sizeof p);
	cr_assert_eq(lower_graph(&b.g, &c, &opts, &p, &e), ASIM_EMAPPING);
	cr_expect(strncmp(e.msg, "test.yaml:4:11: ", 16) == 0, "message: %s", e.msg);
	prog_free(&p);
}
