/*
 * test_engine_stream.c -- the optimised engine (sim/engine.c) against the reference engine
 * (sim/engine_ref.c): the same event stream, bit for bit, on shipped graphs.
 *
 * For each (graph, chip variant) the graph is lowered once and run through engine_run and
 * engine_run_reference with a recording sink. Every field of every event_inst, every hbm_rate call
 * (tick and the bits of the double), the begin record and the end tick are folded into a 64-bit
 * FNV-1a digest per call; the two sequences of digests must be equal (the first difference is
 * reported by position), and so must every field of engine_result.
 *
 * The same graph streamed (sim/rungraph.c: lowered again in a second thread while the engine runs
 * it in pieces, with and without a side store for rarely used queues, pieces of odd sizes so that
 * they end anywhere) must give the same digests and results too, while holding only part of the
 * program at once.
 *
 * Chip variants beyond the shipped files exercise the engine's other paths: serial-fold PE arrays
 * with each dataflow (matmul continuation), a clock that is no whole number of kHz (femtosecond
 * ticks), and a narrow HBM (transfers share bandwidth, so the water filling is exercised), plus a
 * run without a sink (the fast path) whose result must match too.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isa/lower.h"
#include "sim/alloc.h"
#include "sim/chip.h"
#include "sim/engine.h"
#include "sim/engine_int.h"
#include "sim/graph.h"
#include "sim/rungraph.h"
#include "tests/testutil.h"

typedef struct rec {
	uint64_t *h;               /* digest per sink call */
	size_t n, cap;
	uint64_t insts, rates;
} rec;

static uint64_t fnv(uint64_t h, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		h ^= (v >> (8 * i)) & 0xff;
		h *= 0x100000001b3ull;
	}
	return h;
}

static void put(rec *r, uint64_t h)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 4096;
		r->h = realloc(r->h, r->cap * sizeof *r->h);
		cr_assert_not_null(r->h);
	}
	r->h[r->n++] = h;
}

static uint64_t dbits(double d)
{
	uint64_t u;
	memcpy(&u, &d, sizeof u);
	return u;
}

static int s_begin(void *ud, const event_info *in)
{
	uint64_t h = fnv(0xcbf29ce484222325ull, 1);
	h = fnv(h, dbits(in->tick_hz));
	h = fnv(h, (uint64_t)in->exact);
	h = fnv(h, in->n_queues);
	h = fnv(h, in->n_insts);
	put(ud, h);
	return 0;
}

/* what the tracer reads of an instruction the event points to (stall classes: its regions) */
static uint64_t fnv_inst(uint64_t h, const isa_inst *in)
{
	if (in == NULL)
		return fnv(h, 0x5eed);
	const isa_ap *aps[3] = {&in->dst, &in->src[0], &in->src[1]};
	h = fnv(h, in->opcode);
	h = fnv(h, in->signal);
	h = fnv(h, in->gop);
	for (int k = 0; k < 3; k++) {
		h = fnv(h, aps[k]->mem);
		h = fnv(h, aps[k]->part);
		h = fnv(h, aps[k]->nparts);
		h = fnv(h, aps[k]->offset);
		h = fnv(h, isa_ap_extent(aps[k]));
	}
	return h;
}

static int s_inst(void *ud, const event_inst *ev)
{
	uint64_t h = fnv(0xcbf29ce484222325ull, 2);
	h = fnv_inst(h, ev->inst);
	h = fnv_inst(h, ev->releaser);
	h = fnv(h, ev->index);
	h = fnv(h, ev->opcode);
	h = fnv(h, ev->engine);
	h = fnv(h, ev->queue);
	h = fnv(h, ev->qindex);
	h = fnv(h, ev->gop);
	h = fnv(h, ev->line);
	h = fnv(h, ev->dtype);
	h = fnv(h, ev->head);
	h = fnv(h, ev->ready);
	h = fnv(h, ev->start);
	h = fnv(h, ev->end);
	h = fnv(h, ev->occupy);
	h = fnv(h, ev->cycles);
	h = fnv(h, ev->stall);
	h = fnv(h, ev->stall_cause);
	h = fnv(h, ev->stall_sem);
	h = fnv(h, ev->stall_qindex);
	for (int m = 0; m < ISA_MEM_COUNT; m++) {
		h = fnv(h, ev->bytes_read[m]);
		h = fnv(h, ev->bytes_written[m]);
	}
	h = fnv(h, ev->macs);
	h = fnv(h, ev->flops);
	h = fnv(h, ev->horizon);
	rec *r = ud;
	r->insts++;
	put(r, h);
	return 0;
}

static int s_end(void *ud, uint64_t t)
{
	put(ud, fnv(fnv(0xcbf29ce484222325ull, 3), t));
	return 0;
}

static void s_rate(void *ud, uint64_t t, double bpt)
{
	rec *r = ud;
	r->rates++;
	put(r, fnv(fnv(fnv(0xcbf29ce484222325ull, 4), t), dbits(bpt)));
}

static void same_result(const engine_result *a, const engine_result *b, const char *what)
{
	cr_assert_eq(a->end, b->end, "%s: end", what);
	cr_assert_eq(a->n_insts, b->n_insts, "%s", what);
	cr_assert_eq(a->n_queues, b->n_queues, "%s", what);
	cr_assert_eq(a->n_gops, b->n_gops, "%s", what);
	cr_assert_eq(memcmp(&a->clk, &b->clk, sizeof a->clk), 0, "%s: clock", what);
	for (uint32_t q = 0; q < a->n_queues; q++) {
		cr_assert_eq(a->q[q].busy, b->q[q].busy, "%s: queue %u busy", what, q);
		cr_assert_eq(a->q[q].stall, b->q[q].stall, "%s: queue %u stall", what, q);
		cr_assert_eq(a->q[q].insts, b->q[q].insts, "%s: queue %u", what, q);
		cr_assert_eq(a->q[q].cycles, b->q[q].cycles, "%s: queue %u cycles", what, q);
		cr_assert_eq(a->q[q].last_end, b->q[q].last_end, "%s: queue %u last_end", what, q);
	}
	for (int m = 0; m < ISA_MEM_COUNT; m++) {
		cr_assert_eq(a->bytes_read[m], b->bytes_read[m], "%s: bytes_read[%d]", what, m);
		cr_assert_eq(a->bytes_written[m], b->bytes_written[m], "%s: bytes_written[%d]", what, m);
	}
	cr_assert_eq(a->macs, b->macs, "%s", what);
	cr_assert_eq(a->flops, b->flops, "%s", what);
	cr_assert_eq(a->sbuf_peak_bytes, b->sbuf_peak_bytes, "%s: sbuf peak", what);
	cr_assert_eq(a->psum_peak_bytes, b->psum_peak_bytes, "%s: psum peak", what);
	for (uint32_t g = 0; g < a->n_gops; g++) {
		const engine_gop_stats *x = &a->gops[g], *y = &b->gops[g];
		cr_assert(x->start == y->start && x->end == y->end && x->busy == y->busy
		          && x->insts == y->insts && x->macs == y->macs && x->flops == y->flops
		          && x->hbm_bytes == y->hbm_bytes, "%s: graph op %u statistics differ", what, g);
	}
}

enum { V_SHIPPED, V_SERIAL_WS, V_SERIAL_OS, V_FS_CLOCK, V_NARROW_HBM };
static const char *const vname[] = {"shipped", "serial folds (weight stationary)",
	"serial folds (output stationary)", "femtosecond ticks", "narrow HBM"};

static void compare(const char *graph_name, const char *chip_name, int variant)
{
	char rel[256], what[512];
	snprintf(rel, sizeof rel, "models/graphs/%s", graph_name);
	snprintf(what, sizeof what, "%s on %s (%s)", graph_name, chip_name, vname[variant]);
	char *path = tu_srcpath(rel);
	asim_err e;
	asim_err_init(&e);
	chip c;
	cr_assert_eq(chip_load(&c, chip_name, &e), 0, "%s", e.msg);
	switch (variant) {
	case V_SERIAL_WS:
		c.pe.mode = CHIP_PE_SERIAL_FOLDS;
		c.pe.dataflow = CHIP_WEIGHT_STATIONARY;
		break;
	case V_SERIAL_OS:
		c.pe.mode = CHIP_PE_SERIAL_FOLDS;
		c.pe.dataflow = CHIP_OUTPUT_STATIONARY;
		break;
	case V_FS_CLOCK:
		c.vector.clock_ghz = 1.1234567891;
		break;
	case V_NARROW_HBM:
		c.hbm.bandwidth_gb_per_s /= 7.3;
		break;
	}
	graph g;
	cr_assert_eq(graph_load_file(&g, path, &e), 0, "%s", e.msg);
	isa_program p;
	isa_program_init(&p);
	lower_opts lo = {0};
	cr_assert_eq(lower_graph(&g, &c, &lo, &p, &e), 0, "%s: %s", what, e.msg);
	rec ra = {0}, rb = {0};
	event_sink sa = {&ra, s_begin, s_inst, s_end, s_rate};
	event_sink sb = {&rb, s_begin, s_inst, s_end, s_rate};
	engine_result a, b, n;
	cr_assert_eq(engine_run(&c, &p, &sa, &a, &e), 0, "%s: %s", what, e.msg);
	cr_assert_eq(engine_run_reference(&c, &p, &sb, &b, &e), 0, "%s: %s", what, e.msg);
	cr_assert_eq(engine_run(&c, &p, NULL, &n, &e), 0, "%s: %s", what, e.msg);
	cr_assert_eq(rb.insts, p.n, "%s", what);
	cr_assert_gt(rb.rates, 0, "%s: no HBM rate change", what);
	size_t k = 0;
	while (k < ra.n && k < rb.n && ra.h[k] == rb.h[k])
		k++;
	cr_assert(k == ra.n && k == rb.n,
	          "%s: event streams differ at sink call %zu of %zu (reference: %zu calls)", what, k,
	          ra.n, rb.n);
	same_result(&a, &b, what);
	same_result(&n, &b, what);
	/* streamed: pieces of 53 or 509 instructions, side store of 97 instructions or none */
	static const struct { uint32_t piece; uint64_t side; int no_side; } sv[] = {
		{53, 97, 0}, {509, 0, 1},
	};
	for (size_t v = 0; v < sizeof sv / sizeof sv[0]; v++) {
		rec rs = {0};
		event_sink ss = {&rs, s_begin, s_inst, s_end, s_rate};
		rungraph_opts ro;
		memset(&ro, 0, sizeof ro);
		ro.resident_max = 1;
		ro.piece = sv[v].piece;
		ro.side_max = sv[v].side;
		ro.no_side = sv[v].no_side;
		rungraph *rg;
		engine_result m;
		cr_assert_eq(rungraph_prepare(&rg, &g, &c, &lo, &ro, &e), 0, "%s: %s", what, e.msg);
		cr_assert_null(rungraph_program(rg), "%s: kept although resident_max = 1", what);
		cr_assert_eq(rungraph_run(rg, &ss, &m, &e), 0, "%s (streamed): %s", what, e.msg);
		const rungraph_info *info = rungraph_get_info(rg);
		cr_assert(info->streamed && info->n_insts == p.n, "%s", what);
		k = 0;
		while (k < rs.n && k < rb.n && rs.h[k] == rb.h[k])
			k++;
		cr_assert(k == rs.n && k == rb.n, "%s, streamed in pieces of %u: event streams differ at "
		          "sink call %zu of %zu (reference: %zu calls)", what, sv[v].piece, k, rs.n, rb.n);
		same_result(&m, &b, what);
		/* a window, not the program: on the larger graphs, whose queues all work throughout,
		 * less than a quarter of it at once (measured: 3 to 9 %) */
		cr_assert(p.n < 20000 || info->window_peak < p.n / 4, "%s: the window held %" PRIu64
		          " of %zu instructions", what, info->window_peak, p.n);
		cr_log_info("%s, pieces of %u%s: %" PRIu64 " instructions, window peak %" PRIu64
		            " (%.1f %%), side store %" PRIu64 " instructions on %u queues", what,
		            sv[v].piece, sv[v].no_side ? ", no side store" : "", info->n_insts,
		            info->window_peak, 100.0 * (double)info->window_peak / (double)info->n_insts,
		            info->side_insts, info->side_queues);
		engine_result_fini(&m);
		rungraph_free(rg);
		free(rs.h);
	}
	engine_result_fini(&a);
	engine_result_fini(&b);
	engine_result_fini(&n);
	free(ra.h);
	free(rb.h);
	isa_program_fini(&p);
	graph_fini(&g);
	chip_fini(&c);
	free(path);
}

Test(engine_stream, resnet50_trn1) { compare("resnet50.yaml", "trn1", V_SHIPPED); }
Test(engine_stream, bert_base_trn1) { compare("bert_base_layer_s128.yaml", "trn1", V_SHIPPED); }
Test(engine_stream, mobilenet_trn2) { compare("mobilenet_v2.yaml", "trn2", V_SHIPPED); }
Test(engine_stream, mlp_train_inf2) { compare("mlp_train_step.yaml", "inf2", V_SHIPPED); }
Test(engine_stream, mobilenet_edge_npu) { compare("mobilenet_v2_fused.yaml", "edge-npu", V_SHIPPED); }
Test(engine_stream, bert_serial_ws) { compare("bert_base_layer_s128.yaml", "trn1", V_SERIAL_WS); }
Test(engine_stream, mlp_serial_os) { compare("mlp.yaml", "trn1", V_SERIAL_OS); }
Test(engine_stream, resnet50_fs_clock) { compare("resnet50.yaml", "trn1", V_FS_CLOCK); }
Test(engine_stream, bert_narrow_hbm) { compare("bert_base_layer_s128.yaml", "trn1", V_NARROW_HBM); }
