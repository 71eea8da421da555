/*
 * report.h -- the run summary (design.md §4): text for people, JSON for programs.
 *
 * Built from an engine_result; knows no timing rule. Units are in every JSON key (_ns, _cycles,
 * _bytes, _flops_per_s, _bytes_per_s, _fraction). Figures:
 *
 *   latency        end of the last instruction; ns, and core (PE clock) cycles
 *   FLOP/s         achieved = FLOPs / latency; peak = 2 · rows · cols · PE clock · rate(bf16)
 *   utilisation    per queue: busy ticks / latency ticks (PE: issue intervals; DMA: start..end)
 *   HBM            bytes read + written, achieved bandwidth = bytes / latency, chip peak
 *   SBUF / PSUM    high-water mark of addresses touched (bytes per partition × partitions)
 *   slowest ops    the graph ops (instructions' gop) with the longest start..end span
 *   energy         by component (mac, sbuf, psum, hbm, static) and by dtype; pJ per FLOP;
 *                  average power = energy / latency (traces/energy.h)
 *   memory         parameter bytes, peak activation bytes from tensor liveness, peak HBM
 *                  footprint = weights + peak activations; the budget verdict (traces/tracer.h)
 *
 * Output is a pure function of its inputs: same run, same bytes.
 */
#ifndef ASIM_REPORT_H
#define ASIM_REPORT_H

#include <stdint.h>

#include "isa/isa.h"
#include "sim/chip.h"
#include "sim/engine.h"
#include "traces/outfile.h"
#include "traces/tracer.h"

typedef struct report_meta {
	const char *version;          /* accelsim version */
	const char *input;            /* the graph or program file */
	const char *input_kind;       /* "graph" or "program" */
	const char *input_hash;       /* 16 hex digits */
	uint64_t seed;
	const char *const *gop_names; /* names of graph ops, or NULL ("op N") */
	uint32_t n_gop_names;
	uint32_t top_ops;             /* how many slowest ops to list (default 5 when 0) */
	int has_model_flops;          /* graph inputs: `flops` and achieved FLOP/s are the graph's */
	uint64_t model_flops;         /*   FLOPs; the engine's count is `executed_flops` */
} report_meta;

/* Added by the traces work: energy and memory figures from the tracer (traces/tracer.h). */
typedef struct report_extra {
	const tracer_summary *traces; /* borrowed */
	int have_budget;              /* --memory-budget given */
	uint64_t budget_bytes;
	uint64_t hbm_capacity_bytes;  /* the chip's HBM */
} report_extra;

/* Whether the model fits the memory budget: weights + peak activations <= budget (1 when no
 * budget or no graph). */
int report_fits_budget(const report_extra *x);
/* As report_text / report_json, with the energy and memory figures of `x` (may be NULL). */
int report_text_with(outfile *f, const chip *c, const engine_result *r, const report_meta *m,
                     const report_extra *x);
int report_json_with(outfile *f, const chip *c, const engine_result *r, const report_meta *m,
                     const report_extra *x);

int report_text(outfile *f, const chip *c, const engine_result *r, const report_meta *m);
int report_json(outfile *f, const chip *c, const engine_result *r, const report_meta *m);

/* FNV-1a 64 of a byte string, as 16 lowercase hex digits into out[17]. */
void report_hash(const void *data, size_t len, char out[17]);

#endif
