/*
 * timing.h -- the timing rules: how long each instruction takes on a given chip.
 *
 * One rule per timing class of isa/opcodes.def, named isa_time_<class>() and dispatched through
 * isa_time_table[], which is expanded from the table (so an opcode without a rule does not link).
 * A rule is a pure function of (chip, clock, instruction): it knows nothing of other instructions
 * in flight. The engine (sim/engine.c) combines the costs with queueing, semaphores and HBM
 * sharing. docs/timing-model.md states every rule with its source.
 *
 * Time is an integer count of ticks (isa_clock). The tick is the period of the least common
 * multiple of every clock of the chip, in kHz, and of 1 GHz (so whole nanoseconds are exact):
 *
 *     trn1:  PE 2.8 GHz, ACT 1.4 GHz, VEC 1.12 GHz, ns 1 GHz  ->  tick = 1 / 28 GHz
 *            PE cycle = 10 ticks, ACT cycle = 20 ticks, VEC cycle = 25 ticks, 1 ns = 28 ticks
 *
 * When a clock is not a whole number of kHz, or the LCM exceeds 10^12 kHz, the tick falls back to
 * one femtosecond and cycle counts are converted by rounding each instruction's duration to the
 * nearest femtosecond (never accumulating floating-point time). 2^64 ticks then still cover more
 * than five hours of simulated time; at 28 GHz more than 20 years.
 *
 * An isa_cost gives two durations for PE/ACT/VEC instructions:
 *
 *     start ──occupy──► next instruction of the engine may start
 *     start ──────────latency──────────► completion (results visible, semaphore signalled)
 *
 * and for DMA a fixed phase (`latency`: descriptor cost + HBM latency) followed by a data phase of
 * `bytes` at up to `peak` bytes per tick, sharing HBM with the other transfers in flight when
 * `hbm` is set; the engine decides when the data phase ends.
 */
#ifndef ASIM_ISA_TIMING_H
#define ASIM_ISA_TIMING_H

#include <math.h>
#include <stdint.h>

#include "isa/isa.h"
#include "sim/chip.h"

typedef enum isa_clock_domain { ISA_CLK_PE, ISA_CLK_ACT, ISA_CLK_VEC, ISA_CLK_COUNT } isa_clock_domain;

typedef struct isa_clock {
	uint64_t tick_khz;                 /* tick frequency in kHz (ticks per millisecond) */
	double tick_hz;                    /* the same, in Hz */
	int exact;                         /* 1: every clock period is a whole number of ticks */
	uint64_t period[ISA_CLK_COUNT];    /* ticks per cycle (exact mode) */
	double period_f[ISA_CLK_COUNT];    /* ticks per cycle (femtosecond fallback) */
	double clock_ghz[ISA_CLK_COUNT];
} isa_clock;

/* Derive the common tick of a chip's clocks. Fails (ASIM_ERANGE) on a clock <= 0. */
int isa_clock_derive(const chip *c, isa_clock *clk /* OUT */, asim_err *e);
uint64_t isa_cycles_to_ticks(const isa_clock *clk, isa_clock_domain d, uint64_t cycles);
uint64_t isa_ns_to_ticks(const isa_clock *clk, double ns);   /* rounded to the nearest tick */
double isa_ticks_to_ns(const isa_clock *clk, uint64_t ticks);

typedef struct isa_cost {
	uint64_t occupy;     /* ticks before the engine may start its next instruction */
	uint64_t latency;    /* ticks from start to completion (>= occupy); DMA: the fixed phase */
	uint64_t cycles;     /* occupancy in the engine's own clock (0 for DMA and sync) */
	double bytes;        /* DMA: bytes of the data phase */
	double peak;         /* DMA: this transfer's peak rate, bytes per tick (efficiency applied) */
	int hbm;             /* DMA: the transfer reads or writes HBM, so shares its bandwidth */
	uint64_t macs, flops;
} isa_cost;

typedef void (*isa_time_fn)(const chip *c, const isa_clock *clk, const isa_inst *in,
                            isa_cost *out /* OUT */);

#define OPCODE(name, mnem, engine, timing, sem) \
	void isa_time_##timing(const chip *c, const isa_clock *clk, const isa_inst *in, isa_cost *out);
#include "isa/opcodes.def"
#undef OPCODE

extern const isa_time_fn isa_time_table[ISA_OP_COUNT];

/* ceil(num / den) for positive doubles, taking a quotient within a relative 1e-9 above an integer
 * as that integer (so 28000 bytes at 28000/7840 bytes per tick take 7840 ticks, not 7841). */
static inline uint64_t isa_ceil_div(double num, double den)
{
	double q = num / den;
	if (!(q > 0))
		return 0;
	double r = ceil(q);
	/* a quotient within a relative 1e-9 above an integer is that integer (rounding error) */
	if (r - q > 1 - 1e-9 * (q > 1 ? q : 1))
		r -= 1;
	return (uint64_t)r;
}

/* Serial-fold PE arrays (pe.mode = serial_folds): does matmul `in`, issued right after `prev`
 * (back to back, no idle cycle), continue prev's fold instead of starting a new one? By dataflow:
 *   weight-/input-stationary: the same stationary operand (the array keeps holding it; more
 *     moving columns stream through), cost ceil(N_moving / rate);
 *   output-stationary: accumulation into the same PSUM region (outputs stay in the PEs; more of
 *     the contraction streams in), cost ceil(K / rate).
 * A new fold costs fill + stream + drain (docs/timing-model.md). */
int isa_matmul_continues(const chip *c, const isa_inst *prev, const isa_inst *in);
/* The continuation cost of `in` (see above), replacing *out's occupancy and latency. */
void isa_time_matmul_continue(const chip *c, const isa_clock *clk, const isa_inst *in,
                              isa_cost *out /* IN/OUT */);

/* DMA efficiency of a descriptor element of `run` bytes: min(1, run / efficient_bytes). */
/* Descriptor prefetch (dma.descriptors_in_flight = D): a queue keeps D descriptors in flight, so
 * the fixed phase (descriptor processing + HBM latency) of a descriptor issued back to back with
 * the previous one began `since` ticks ago -- when descriptor i-D+1 of the burst entered its data
 * phase, or when the burst began -- and only what is left of it is paid: max(0, fixed - since).
 * D = 1: serial, the whole fixed phase. */
uint64_t isa_dma_fixed_left(const chip *c, uint64_t fixed, uint64_t since);
double isa_dma_efficiency(const chip *c, uint64_t run);

#endif
