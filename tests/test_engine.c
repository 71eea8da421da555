/*
 * test_engine.c -- the engine reproduces the timing rules it documents, exactly, in ticks.
 *
 * Every expectation is worked out by hand in the comment above it from the published rule
 * (AWS Neuron: back-to-back matmuls cost max(min(64, N_stationary), N_moving) cycles, ×4 for fp32;
 * SCALE-Sim: a weight-stationary fold costs 2·Sr + Sc + T − 2 cycles) and the test chip of
 * tests/testchip.h. The tick on that chip: LCM(2.8 GHz, 1.4 GHz, 1.12 GHz, 1 GHz) = 28 GHz, so
 *     PE cycle = 10 ticks, ACT cycle = 20 ticks, VEC cycle = 25 ticks, 1 ns = 28 ticks,
 *     and 28 GB/s = exactly 1 byte per tick.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isa/asm.h"
#include "sim/alloc.h"
#include "sim/engine.h"
#include "sim/report.h"
#include "tests/testchip.h"
#include "tests/testutil.h"

typedef struct collect {
	event_inst *ev;
	size_t n;
	int began, ended;
	uint64_t end_tick;
} collect;

static int on_begin(void *ud, const event_info *info)
{
	collect *c = ud;
	c->began = 1;
	c->n = info->n_insts;
	c->ev = calloc(info->n_insts ? info->n_insts : 1, sizeof *c->ev);
	return 0;
}

static int on_inst(void *ud, const event_inst *ev)
{
	collect *c = ud;
	cr_assert_lt(ev->index, c->n);
	c->ev[ev->index] = *ev;
	return 0;
}

static int on_end(void *ud, uint64_t t)
{
	collect *c = ud;
	c->ended = 1;
	c->end_tick = t;
	return 0;
}

/* Assemble `text`, run it on `c`, collect one event per instruction. Returns the status. */
static int run_text(const chip *c, const char *text, collect *col, engine_result *r, asim_err *e)
{
	isa_program p;
	asim_err_init(e);
	memset(col, 0, sizeof *col);
	int rc = asm_parse("t.s", text, strlen(text), &p, NULL, e);
	cr_assert_eq(rc, 0, "assembly failed: %s", e->msg);
	event_sink sink = {.ud = col, .begin = on_begin, .inst = on_inst, .end = on_end};
	rc = engine_run(c, &p, &sink, r, e);
	isa_program_fini(&p);
	return rc;
}

static void repeat(char *buf, size_t n, const char *line, int times)
{
	buf[0] = '\0';
	for (int i = 0; i < times; i++) {
		strncat(buf, line, n - strlen(buf) - 1);
		strncat(buf, "\n", n - strlen(buf) - 1);
	}
}

Test(engine, clock_tick_is_lcm_of_the_clocks)
{
	chip c;
	tc_trn1(&c);
	isa_clock k;
	asim_err e;
	asim_err_init(&e);
	cr_assert_eq(isa_clock_derive(&c, &k, &e), 0);
	/* 2.8 GHz = 2^7·5^5·7 kHz, 1.4 GHz = 2^6·5^5·7, 1.12 GHz = 2^8·5^4·7, 1 GHz = 2^6·5^6:
	 * LCM = 2^8·5^6·7 kHz = 28 000 000 kHz. */
	cr_expect_eq(k.exact, 1);
	cr_expect_eq(k.tick_khz, 28000000u);
	cr_expect_eq(k.period[ISA_CLK_PE], 10u);
	cr_expect_eq(k.period[ISA_CLK_ACT], 20u);
	cr_expect_eq(k.period[ISA_CLK_VEC], 25u);
	cr_expect_eq(isa_ns_to_ticks(&k, 1.0), 28u);
	/* A clock that is not a whole number of kHz falls back to a femtosecond tick. */
	c.vector.clock_ghz = 1.0000000001;
	cr_assert_eq(isa_clock_derive(&c, &k, &e), 0);
	cr_expect_eq(k.exact, 0);
	cr_expect_eq(k.tick_khz, 1000000000000ull);
	/* 1000 cycles at 2.8 GHz = 357142.857 ps = 357142857.14 fs -> rounded to the nearest fs */
	cr_expect_eq(isa_cycles_to_ticks(&k, ISA_CLK_PE, 1000), 357142857u);
}

/* Back-to-back same-shape matmuls issue every max(min(64, M), N) PE cycles (M = N_stationary,
 * N = N_moving), i.e. ×10 ticks. Table worked by hand:
 *     M=32:  N=16 → max(32,16)=32   N=64 → 64   N=128 → 128   N=512 → 512
 *     M=128: N=16 → max(64,16)=64   N=64 → 64   N=128 → 128   N=512 → 512 */
Test(engine, back_to_back_matmuls_follow_the_neuron_rule)
{
	static const struct { unsigned m, n, cycles; } cases[] = {
		{32, 16, 32}, {32, 64, 64}, {32, 128, 128}, {32, 512, 512},
		{128, 16, 64}, {128, 64, 64}, {128, 128, 128}, {128, 512, 512},
	};
	chip c;
	tc_trn1(&c);
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		char line[256], prog[8192];
		snprintf(line, sizeof line,
		         "matmul dst=psum.fp32[p=0:%u,n=%u] stat=sbuf.bf16[p=0:128,n=%u] mov=sbuf.bf16[p=0:128,off=4096,n=%u]",
		         cases[k].m, cases[k].n, cases[k].m, cases[k].n);
		repeat(prog, sizeof prog, line, 8);
		collect col;
		engine_result r;
		asim_err e;
		cr_assert_eq(run_text(&c, prog, &col, &r, &e), 0, "%s", e.msg);
		uint64_t ii = cases[k].cycles * 10u;
		for (int i = 1; i < 8; i++)
			cr_expect_eq(col.ev[i].start - col.ev[i - 1].start, ii, "M=%u N=%u: interval %llu, want %llu",
			             cases[k].m, cases[k].n,
			             (unsigned long long)(col.ev[i].start - col.ev[i - 1].start), (unsigned long long)ii);
		/* the last result leaves fill + drain = 256 cycles after its issue interval */
		cr_expect_eq(r.end, 8 * ii + 2560u);
		cr_expect_eq(r.q[0].busy, 8 * ii);
		/* MACs: K·M·N per matmul */
		cr_expect_eq(r.macs, 8ull * 128 * cases[k].m * cases[k].n);
		cr_expect_eq(r.flops, 2 * r.macs);
		free(col.ev);
		engine_result_fini(&r);
	}
}

/* fp32 operands run at a quarter of the bf16 rate: 4 × max(min(64, 128), 128) = 512 cycles. */
Test(engine, fp32_matmuls_take_four_times_as_long)
{
	chip c;
	tc_trn1(&c);
	char prog[4096];
	repeat(prog, sizeof prog,
	       "matmul dst=psum.fp32[p=0:128,n=128] stat=sbuf.fp32[p=0:128,n=128] mov=sbuf.fp32[p=0:128,off=8192,n=128]", 4);
	collect col;
	engine_result r;
	asim_err e;
	cr_assert_eq(run_text(&c, prog, &col, &r, &e), 0, "%s", e.msg);
	for (int i = 1; i < 4; i++)
		cr_expect_eq(col.ev[i].start - col.ev[i - 1].start, 5120u);
	cr_expect_eq(col.ev[0].cycles, 512u);
	free(col.ev);
	engine_result_fini(&r);
}

/* Serial folds (SCALE-Sim, weight stationary): a fold of T moving columns on an Sr × Sc array takes
 * 2·Sr + Sc + T − 2 cycles = 2·128 + 128 + 64 − 2 = 446 for T = 64, without overlap. With fill =
 * 2·Sr − 1 = 255 and drain = Sc − 1 = 127 the chip reproduces it: 255 + 64 + 127 = 446.
 * Four matmuls with four different stationary tiles are four folds (4 · 446 cycles); four that
 * reuse the SAME stationary tile back to back are one fold of T = 4 · 64 streamed columns:
 * 2·128 + 128 + 256 − 2 = 638 cycles = 446 + 3 · 64. */
Test(engine, serial_folds_pay_fill_and_drain_per_matmul)
{
	chip c;
	tc_trn1(&c);
	c.pe.mode = CHIP_PE_SERIAL_FOLDS;
	c.pe.fill_cycles = 255;
	c.pe.drain_cycles = 127;
	char prog[4096];
	size_t at = 0;
	for (int i = 0; i < 4; i++)
		at += (size_t)snprintf(prog + at, sizeof prog - at,
		                       "matmul dst=psum.fp32[p=0:128,n=64] stat=sbuf.bf16[p=0:128,off=%d,n=128] "
		                       "mov=sbuf.bf16[p=0:128,off=4096,n=64]\n", 256 * i);
	collect col;
	engine_result r;
	asim_err e;
	cr_assert_eq(run_text(&c, prog, &col, &r, &e), 0, "%s", e.msg);
	const uint64_t fold = (2 * 128 + 128 + 64 - 2) * 10u;
	for (int i = 0; i < 4; i++) {
		cr_expect_eq(col.ev[i].start, i * fold);
		cr_expect_eq(col.ev[i].end, (i + 1) * fold);
	}
	cr_expect_eq(r.end, 4 * fold);
	free(col.ev);
	engine_result_fini(&r);

	repeat(prog, sizeof prog,
	       "matmul dst=psum.fp32[p=0:128,n=64] stat=sbuf.bf16[p=0:128,n=128] mov=sbuf.bf16[p=0:128,off=4096,n=64]", 4);
	cr_assert_eq(run_text(&c, prog, &col, &r, &e), 0, "%s", e.msg);
	cr_expect_eq(col.ev[0].end, fold);
	for (int i = 1; i < 4; i++)
		cr_expect_eq(col.ev[i].end, fold + i * 64 * 10u, "matmul %d continues the fold", i);
	cr_expect_eq(r.end, (2 * 128 + 128 + 4 * 64 - 2) * 10u);
	free(col.ev);
	engine_result_fini(&r);
}

/* Vector engine: cycles = max(min_ii, fixed + ceil(ceil(parts/lanes) · elems / elems_per_cycle)).
 * Chip: fixed 10, min_ii 64, 1 element per cycle per lane.
 *   n=1,   128 partitions, 128 lanes: max(64, 10 + 1)        = 64   cycles (initiation interval)
 *   n=512, 128 partitions, 128 lanes: max(64, 10 + 512)      = 522  cycles (fixed overhead)
 *   n=512, 128 partitions,  64 lanes: max(64, 10 + 2 · 512)  = 1034 cycles (two passes)
 * and the scalar engine at 1.4 GHz the same in its own cycles (20 ticks each). */
Test(engine, vector_and_scalar_engines_have_ii_and_fixed_overhead)
{
	chip c;
	tc_trn1(&c);
	c.vector.fixed_cycles = 10;
	c.vector.min_ii_cycles = 64;
	c.scalar.fixed_cycles = 10;
	c.scalar.min_ii_cycles = 64;
	const char *prog =
		"tensor_copy dst=sbuf.bf16[p=0:128,n=1] src=sbuf.bf16[p=0:128,off=64,n=1]\n"
		"tensor_copy dst=sbuf.bf16[p=0:128,n=512] src=sbuf.bf16[p=0:128,off=2048,n=512]\n"
		"activate func=relu dst=sbuf.bf16[p=0:128,n=1] src=sbuf.bf16[p=0:128,off=64,n=1]\n"
		"activate func=gelu dst=sbuf.bf16[p=0:128,n=512] src=sbuf.bf16[p=0:128,off=2048,n=512]\n";
	collect col;
	engine_result r;
	asim_err e;
	cr_assert_eq(run_text(&c, prog, &col, &r, &e), 0, "%s", e.msg);
	cr_expect_eq(col.ev[0].end - col.ev[0].start, 64u * 25);
	cr_expect_eq(col.ev[1].start, 64u * 25);
	cr_expect_eq(col.ev[1].end - col.ev[1].start, 522u * 25);
	cr_expect_eq(col.ev[2].end - col.ev[2].start, 64u * 20);
	cr_expect_eq(col.ev[3].end - col.ev[3].start, 522u * 20);
	free(col.ev);
	engine_result_fini(&r);
	c.vector.lanes = 64;
	cr_assert_eq(run_text(&c, "tensor_copy dst=sbuf.bf16[p=0:128,n=512] src=sbuf.bf16[p=0:128,off=2048,n=512]\n",
	                      &col, &r, &e), 0, "%s", e.msg);
	cr_expect_eq(col.ev[0].end, 1034u * 25);
	free(col.ev);
	engine_result_fini(&r);
}

/* DMA: fixed 100 ns per descriptor (= 2800 ticks), then bytes at 28 GB/s = 1 byte per tick.
 *   128 rows × 512 bf16 = 131072 bytes, contiguous in HBM, 1024-byte runs in SBUF (≥ 512):
 *       2800 + 131072 = 133872 ticks
 *   the same 16384 bytes in 128-byte runs per partition (n=64 bf16): efficiency 128/512 = ¼,
 *       so 4 ticks per byte: 2800 + 65536 = 68336 ticks */
Test(engine, dma_pays_a_fixed_cost_per_descriptor_and_small_runs_lose_efficiency)
{
	chip c;
	tc_trn1(&c);
	collect col;
	engine_result r;
	asim_err e;
	cr_assert_eq(run_text(&c, "dma @q0 dst=sbuf.bf16[p=0:128,n=512] src=hbm.bf16[rows=128,n=512]\n", &col, &r, &e),
	             0, "%s", e.msg);
	cr_expect_eq(col.ev[0].end, 133872u);
	cr_expect_eq(r.bytes_read[ISA_MEM_HBM], 131072u);
	cr_expect_eq(r.bytes_written[ISA_MEM_SBUF], 131072u);
	cr_expect_eq(col.ev[0].bytes_read[ISA_MEM_HBM], 131072u);
	free(col.ev);
	engine_result_fini(&r);
	cr_assert_eq(run_text(&c, "dma @q3 dst=sbuf.bf16[p=0:128,n=64] src=hbm.bf16[rows=128,n=64]\n", &col, &r, &e),
	             0, "%s", e.msg);
	cr_expect_eq(col.ev[0].end, 68336u);
	cr_expect_eq(col.ev[0].qindex, 3u + 3u);
	free(col.ev);
	engine_result_fini(&r);
}

/* Processor sharing. HBM 28 GB/s = 1 byte/tick, each engine also 1 byte/tick, no fixed cost.
 * One transfer of 28000 bytes alone: 28000 ticks. Two started together share HBM: ½ byte/tick
 * each, so each takes 56000 ticks, twice as long. */
Test(engine, two_equal_transfers_share_hbm)
{
	chip c;
	tc_trn1(&c);
	c.hbm.bandwidth_gb_per_s = 28.0;
	c.dma.fixed_ns = 0;
	const char *one = "dma @q0 dst=sbuf.bf16[p=0:1,n=14000] src=hbm.bf16[n=14000]\n";
	const char *two = "dma @q0 dst=sbuf.bf16[p=0:1,n=14000] src=hbm.bf16[n=14000]\n"
	                  "dma @q1 dst=sbuf.bf16[p=1:2,n=14000] src=hbm.bf16[off=28000,n=14000]\n";
	collect col;
	engine_result r;
	asim_err e;
	cr_assert_eq(run_text(&c, one, &col, &r, &e), 0, "%s", e.msg);
	cr_expect_eq(col.ev[0].end, 28000u);
	free(col.ev);
	engine_result_fini(&r);
	cr_assert_eq(run_text(&c, two, &col, &r, &e), 0, "%s", e.msg);
	cr_expect_eq(col.ev[0].end, 56000u);
	cr_expect_eq(col.ev[1].end, 56000u);
	free(col.ev);
	engine_result_fini(&r);
	/* SBUF-to-SBUF copies do not touch HBM: both run at their engine's 1 byte/tick. */
	cr_assert_eq(run_text(&c, "dma @q0 dst=sbuf.bf16[p=0:1,n=14000] src=sbuf.bf16[p=2:3,n=14000]\n"
	                          "dma @q1 dst=sbuf.bf16[p=1:2,n=14000] src=sbuf.bf16[p=3:4,n=14000]\n",
	                      &col, &r, &e), 0, "%s", e.msg);
	cr_expect_eq(col.ev[0].end, 28000u);
	cr_expect_eq(col.ev[1].end, 28000u);
	free(col.ev);
	engine_result_fini(&r);
}

/* A short transfer joining mid-way. Engines 1 byte/tick, HBM 42 GB/s = 1.5 bytes/tick.
 *   A (q0): 84000 bytes from t = 0, alone: capped by its engine at 1 byte/tick.
 *   The vector engine copies 1120 elements (fixed 0, min II 0): 1120 cycles × 25 = 28000 ticks,
 *   then signals s0; B (q1, 21000 bytes) waits for s0, so starts at t1 = 28000.
 *   At t1 A has moved 28000, 56000 left. Fair share 1.5 / 2 = 0.75 < cap 1: both at 0.75.
 *   B ends at 28000 + 21000 / 0.75 = 56000; A has moved 21000 more, 35000 left,
 *   alone again at 1 byte/tick: A ends at 56000 + 35000 = 91000. */
Test(engine, a_short_transfer_joining_midway_is_shared_fairly)
{
	chip c;
	tc_trn1(&c);
	c.hbm.bandwidth_gb_per_s = 42.0;
	c.dma.fixed_ns = 0;
	c.vector.fixed_cycles = 0;
	c.vector.min_ii_cycles = 0;
	const char *prog =
		"dma @q0 dst=sbuf.bf16[p=0:1,n=42000] src=hbm.bf16[n=42000]\n"
		"tensor_copy dst=sbuf.bf16[p=1:2,n=1120] src=sbuf.bf16[p=2:3,n=1120] signal s0\n"
		"dma @q1 dst=sbuf.bf16[p=3:4,n=10500] src=hbm.bf16[off=100000,n=10500] wait s0>=1\n";
	collect col;
	engine_result r;
	asim_err e;
	cr_assert_eq(run_text(&c, prog, &col, &r, &e), 0, "%s", e.msg);
	cr_expect_eq(col.ev[1].end, 28000u);
	cr_expect_eq(col.ev[2].start, 28000u);
	cr_expect_eq(col.ev[2].end, 56000u);
	cr_expect_eq(col.ev[0].end, 91000u);
	cr_expect_eq(r.end, 91000u);
	/* B waited 28000 ticks on a semaphore the vector engine signalled */
	cr_expect_eq(col.ev[2].stall, 28000u);
	cr_expect_eq(col.ev[2].stall_cause, EVENT_STALL_SEM);
	cr_expect_eq(col.ev[2].stall_qindex, 2u);
	free(col.ev);
	engine_result_fini(&r);
}

/* PE → VEC → ACT chained by semaphores, each in its own clock domain:
 *   matmul M=N=128: issue 128 cycles + fill 128 + drain 128 = 384 PE cycles = 3840 ticks;
 *   tensor_copy n=100 (fixed 64, min II 64): 64 + 100 = 164 VEC cycles = 4100 ticks;
 *   activate n=100: 164 ACT cycles = 3280 ticks.
 *   Ends: 3840, 7940, 11220 ticks (11220 / 28 = 400.714… ns). */
Test(engine, clock_domains_mix_exactly)
{
	chip c;
	tc_trn1(&c);
	const char *prog =
		"matmul dst=psum.fp32[p=0:128,n=128] stat=sbuf.bf16[p=0:128,n=128] mov=sbuf.bf16[p=0:128,off=256,n=128] signal s0\n"
		"tensor_copy dst=sbuf.bf16[p=0:128,off=1024,n=100] src=psum.fp32[p=0:128,n=100] wait s0>=1 signal s1\n"
		"activate func=relu dst=sbuf.bf16[p=0:128,off=2048,n=100] src=sbuf.bf16[p=0:128,off=1024,n=100] wait s1>=1\n";
	collect col;
	engine_result r;
	asim_err e;
	cr_assert_eq(run_text(&c, prog, &col, &r, &e), 0, "%s", e.msg);
	cr_expect_eq(col.ev[0].end, 3840u);
	cr_expect_eq(col.ev[1].start, 3840u);
	cr_expect_eq(col.ev[1].end, 7940u);
	cr_expect_eq(col.ev[2].start, 7940u);
	cr_expect_eq(col.ev[2].end, 11220u);
	cr_expect_eq(r.end, 11220u);
	cr_expect_eq(col.ev[1].stall, 3840u);
	cr_expect_eq(col.ev[1].stall_cause, EVENT_STALL_SEM);
	cr_expect_eq(col.ev[1].stall_qindex, 0u);
	cr_expect_eq(col.ev[2].stall_qindex, 2u);
	double ns = isa_ticks_to_ns(&r.clk, r.end);
	cr_expect(ns > 400.71428 && ns < 400.71429, "%.6f ns", ns);
	cr_expect(col.began && col.ended && col.end_tick == 11220u);
	free(col.ev);
	engine_result_fini(&r);
}

/* Without the semaphores the same three run in parallel from t = 0; with the wait of the
 * second one on a DMA transfer the stall is attributed to DMA. */
Test(engine, semaphores_order_engines_and_stalls_name_their_cause)
{
	chip c;
	tc_trn1(&c);
	const char *par =
		"matmul dst=psum.fp32[p=0:128,n=128] stat=sbuf.bf16[p=0:128,n=128] mov=sbuf.bf16[p=0:128,off=256,n=128]\n"
		"tensor_copy dst=sbuf.bf16[p=0:128,off=1024,n=100] src=psum.fp32[p=0:128,n=100]\n";
	collect col;
	engine_result r;
	asim_err e;
	cr_assert_eq(run_text(&c, par, &col, &r, &e), 0, "%s", e.msg);
	cr_expect_eq(col.ev[0].start, 0u);
	cr_expect_eq(col.ev[1].start, 0u);
	cr_expect_eq(col.ev[1].stall_cause, EVENT_STALL_NONE);
	free(col.ev);
	engine_result_fini(&r);
	/* DMA of 1000 bytes: 2800 + 1000 ticks; the copy then starts at 3800. */
	const char *dep =
		"dma @q2 dst=sbuf.bf16[p=0:1,n=500] src=hbm.bf16[n=500] signal s0\n"
		"tensor_copy dst=sbuf.bf16[p=0:1,off=1024,n=500] src=sbuf.bf16[p=0:1,n=500] wait s0>=1\n";
	cr_assert_eq(run_text(&c, dep, &col, &r, &e), 0, "%s", e.msg);
	cr_expect_eq(col.ev[0].end, 3800u);
	cr_expect_eq(col.ev[1].start, 3800u);
	cr_expect_eq(col.ev[1].stall_cause, EVENT_STALL_DMA);
	cr_expect_eq(col.ev[1].stall_qindex, 5u);
	cr_expect_eq(r.q[2].stall, 3800u);
	free(col.ev);
	engine_result_fini(&r);
}

/* PE waits for s0 which ACT signals after waiting for s1, which PE signals after its wait: each
 * wait has a possible signaller (the static check passes), but they wait for each other. */
Test(engine, runtime_deadlock_names_the_blocked_instructions)
{
	chip c;
	tc_trn1(&c);
	const char *prog =
		"wait @pe s0>=1\n"
		"signal @pe s1\n"
		"wait @act s1>=1\n"
		"signal @act s0\n";
	collect col;
	engine_result r;
	asim_err e;
	int rc = run_text(&c, prog, &col, &r, &e);
	cr_expect_eq(rc, ASIM_EDEADLOCK);
	cr_expect_not_null(strstr(e.msg, "t.s:1:1: deadlock"), "%s", e.msg);
	cr_expect_not_null(strstr(e.msg, "pe blocked at instruction 0 (wait, line 1) waiting for s0 >= 1 (s0 = 0)"), "%s", e.msg);
	cr_expect_not_null(strstr(e.msg, "act blocked at instruction 2 (wait, line 3) waiting for s1 >= 1 (s1 = 0)"), "%s", e.msg);
	cr_expect_eq(col.ended, 0);
	free(col.ev);
}

/* The pipelined PE array: a matmul that waits for a semaphore does not hide behind the previous
 * one; the stream restarts and pays only what the rule says. 2 matmuls N=512 back to back, then a
 * third that waits for a vector copy ending at 40000 ticks (1600 VEC cycles: fixed 64 + 1536):
 *   starts 0, 5120, then max(10240, 40000) = 40000; end 40000 + 5120 + 2560 = 47680. */
Test(engine, waiting_matmul_restarts_the_pipeline)
{
	chip c;
	tc_trn1(&c);
	const char *prog =
		"matmul dst=psum.fp32[p=0:128,n=512] stat=sbuf.bf16[p=0:128,n=128] mov=sbuf.bf16[p=0:128,off=256,n=512]\n"
		"matmul dst=psum.fp32[p=0:128,n=512] stat=sbuf.bf16[p=0:128,n=128] mov=sbuf.bf16[p=0:128,off=256,n=512]\n"
		"tensor_copy dst=sbuf.bf16[p=0:128,off=4096,n=1536] src=sbuf.bf16[p=0:128,off=8192,n=1536] signal s0\n"
		"matmul dst=psum.fp32[p=0:128,n=512] stat=sbuf.bf16[p=0:128,n=128] mov=sbuf.bf16[p=0:128,off=256,n=512] wait s0>=1\n";
	collect col;
	engine_result r;
	asim_err e;
	cr_assert_eq(run_text(&c, prog, &col, &r, &e), 0, "%s", e.msg);
	cr_expect_eq(col.ev[1].start, 5120u);
	cr_expect_eq(col.ev[2].end, 40000u);
	cr_expect_eq(col.ev[3].start, 40000u);
	cr_expect_eq(col.ev[3].end, 47680u);
	cr_expect_eq(col.ev[3].stall, 40000u - 10240u);
	free(col.ev);
	engine_result_fini(&r);
}

Test(engine, run_statistics_per_graph_op_and_memory_high_water)
{
	chip c;
	tc_trn1(&c);
	/* op 0: a DMA of 1000 contiguous bytes (2800 + 1000 = 3800 ticks);
	 * op 1: a copy from 3800 for 64 + 500 VEC cycles */
	const char *prog =
		"dma @q0 dst=sbuf.bf16[p=0:1,off=1000,n=500] src=hbm.bf16[n=500] signal s0 gop=0\n"
		"tensor_copy dst=psum.fp32[p=0:2,off=64,n=500] src=sbuf.bf16[p=0:2,n=500] wait s0>=1 gop=1\n";
	collect col;
	engine_result r;
	asim_err e;
	cr_assert_eq(run_text(&c, prog, &col, &r, &e), 0, "%s", e.msg);
	cr_assert_eq(r.n_gops, 2u);
	cr_expect_eq(r.gops[0].start, 0u);
	cr_expect_eq(r.gops[0].end, 3800u);
	cr_expect_eq(r.gops[0].hbm_bytes, 1000u);
	cr_expect_eq(r.gops[1].start, 3800u);
	cr_expect_eq(r.gops[1].end, 3800u + 564u * 25);
	cr_expect_eq(r.gops[1].busy, 564u * 25);
	/* SBUF: highest byte 1000 + 1000 = 2000 per partition, partitions 0..1 → 4000 bytes;
	 * PSUM: 64 + 2000 = 2064 bytes per partition, 2 partitions → 4128 bytes */
	cr_expect_eq(r.sbuf_peak_bytes, 4000u);
	cr_expect_eq(r.psum_peak_bytes, 4128u);
	free(col.ev);
	engine_result_fini(&r);
}

Test(engine, same_program_gives_byte_identical_summary_json)
{
	chip c;
	tc_trn1(&c);
	const char *prog =
		"dma @q0 dst=sbuf.bf16[p=0:128,n=512] src=hbm.bf16[rows=128,n=512] signal s0 gop=0\n"
		"dma @q1 dst=sbuf.bf16[p=0:128,off=1024,n=128] src=hbm.bf16[off=131072,rows=128,n=128] signal s0 gop=0\n"
		"matmul dst=psum.fp32[p=0:128,n=512] stat=sbuf.bf16[p=0:128,off=1024,n=128] mov=sbuf.bf16[p=0:128,n=512] wait s0>=2 signal s1 gop=1\n"
		"tensor_copy dst=sbuf.bf16[p=0:128,off=4096,n=512] src=psum.fp32[p=0:128,n=512] wait s1>=1 signal s2 gop=2\n"
		"dma @q2 dst=hbm.bf16[off=262144,rows=128,n=512] src=sbuf.bf16[p=0:128,off=4096,n=512] wait s2>=1 gop=3\n";
	char *dir = tu_mkdtemp();
	char *txt[2];
	for (int k = 0; k < 2; k++) {
		collect col;
		engine_result r;
		asim_err e;
		cr_assert_eq(run_text(&c, prog, &col, &r, &e), 0, "%s", e.msg);
		char path[512];
		snprintf(path, sizeof path, "%s/s%d.json", dir, k);
		outfile f;
		cr_assert_eq(outfile_open(&f, path, &e), 0);
		report_meta m = {"test", "t.s", "program", "0000000000000000", 7, NULL, 0, 0, 0, 0};
		report_json(&f, &c, &r, &m);
		cr_assert_eq(outfile_commit(&f, &e), 0);
		txt[k] = tu_read_file(path, NULL);
		free(col.ev);
		engine_result_fini(&r);
	}
	cr_assert_not_null(txt[0]);
	cr_expect_str_eq(txt[0], txt[1]);
	cr_expect_not_null(strstr(txt[0], "\"seed\": 7"));
	cr_expect_not_null(strstr(txt[0], "\"chip_hash\": \"0123456789abcdef\""));
	/* HBM: 131072 + 32768 read, 131072 written */
	cr_expect_not_null(strstr(txt[0], "\"hbm_read_bytes\": 163840"), "%s", txt[0]);
	cr_expect_not_null(strstr(txt[0], "\"hbm_write_bytes\": 131072"));
	free(txt[0]);
	free(txt[1]);
	tu_rmtree(dir);
	free(dir);
}

/* Allocation failure anywhere in a run returns ASIM_ENOMEM cleanly (no crash, no leak under ASan). */
static long fail_after;
static void *failing(void *ud, void *ptr, size_t size)
{
	(void)ud;
	if (size == 0) {
		free(ptr);
		return NULL;
	}
	if (fail_after-- <= 0)
		return NULL;
	return realloc(ptr, size);
}

Test(engine, out_of_memory_is_reported_not_a_crash)
{
	chip c;
	tc_trn1(&c);
	const char *text =
		"dma @q0 dst=sbuf.bf16[p=0:128,n=512] src=hbm.bf16[rows=128,n=512] signal s0\n"
		"matmul dst=psum.fp32[p=0:128,n=512] stat=sbuf.bf16[p=0:128,n=128] mov=sbuf.bf16[p=0:128,n=512] wait s0>=1\n";
	isa_program p;
	asim_err e;
	asim_err_init(&e);
	cr_assert_eq(asm_parse("t.s", text, strlen(text), &p, NULL, &e), 0);
	int saw_fail = 0;
	for (long k = 0; k < 64; k++) {
		engine_result r;
		asim_err_init(&e);
		fail_after = k;
		asim_set_allocator(failing, NULL);
		int rc = engine_run(&c, &p, NULL, &r, &e);
		asim_set_allocator(NULL, NULL);
		if (rc == 0) {
			engine_result_fini(&r);
			break;
		}
		cr_expect_eq(rc, ASIM_ENOMEM, "%d: %s", rc, e.msg);
		saw_fail = 1;
	}
	cr_expect(saw_fail);
	isa_program_fini(&p);
}
