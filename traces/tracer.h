/*
 * tracer.h -- the run's event sink: aggregates the engine's event stream per op, per component
 * and over time, and writes the requested files (docs/traces.md):
 *
 *     engine ──events──► tracer ──┬─► oprow_acc per op ───────────► --ops   CSV (at the end)
 *                                 ├─► energy by component / dtype ─► summary
 *                                 ├─► X events, op spans, counters ─► --trace JSON (streamed)
 *                                 └─► occupancy sweep ──────────────► --memory CSV (streamed),
 *                                     (SBUF, PSUM, HBM liveness)      peaks for the summary
 *
 * Time series in time order, streamed. Events arrive in order of completion, not of start; each
 * carries a horizon H (event.h): no later event starts before H. A change point (an op's first
 * start, an op's last end, a power window) is final once it lies before H, so the tracer keeps
 * only the ops and windows between H and the present: memory is O(ops and instructions in flight
 * around the present), not O(run). The HBM bandwidth counter comes from the engine's
 * hbm_rate callback, already in time order.
 *
 * Occupancy (no program declares allocations): an op's SBUF (PSUM) footprint is the set of bytes
 * per partition its instructions touch — the lowering allocates an op's buffers at its start and
 * frees them at its end — times the highest partition touched. SBUF occupancy at time t is the
 * union of the footprints of the ops in progress at t (so it never exceeds the capacity). HBM
 * occupancy is tensor liveness: weights for the whole run; an input from 0 to the end of its last
 * consumer; an activation from its producer's start to its last consumer's end; an output from
 * its producer's start to the end of the run. A reshape's output aliases its input (no bytes of
 * its own; its readers extend its input's life). Intervals are half-open: at one tick, what ends
 * is freed before what starts is allocated.
 *
 * One-op mode (tracer_opts.one_op, used by `accelsim sweep`): only the events of one op are
 * aggregated into its oprow_acc -- the same energy, stall classes and footprints as the --ops row,
 * at the cost of an energy_inst and a stall classification per event of that op; the rest (files,
 * liveness, occupancy, power) is skipped.
 *
 * Life cycle: tracer_init (opens the outputs; counts per op and per semaphore in one pass over the
 * program), engine_run with tracer_sink(), tracer_finish (writes the per-op rows, commits every
 * file), tracer_fini (frees; aborts files not committed).
 */
#ifndef ASIM_TRACER_H
#define ASIM_TRACER_H

#include <stdint.h>

#include "isa/isa.h"
#include "sim/chip.h"
#include "sim/engine.h"
#include "sim/event.h"
#include "sim/graph.h"
#include "traces/energy.h"
#include "traces/oprow.h"

enum { TRACER_LEVEL_INST, TRACER_LEVEL_OP };

typedef struct tracer_opts {
	const char *trace_path;        /* --trace FILE.json[.gz], or NULL */
	int trace_level;               /* TRACER_LEVEL_* */
	const char *ops_path;          /* --ops FILE.csv[.gz], or NULL */
	const char *memory_path;       /* --memory FILE.csv[.gz], or NULL */
	const char *version;           /* accelsim version */
	const char *input_name;        /* graph name, or the program's file */
	const char *input_hash;        /* graph or program hash */
	int one_op;                    /* 1: accumulate op `op`'s per-op row only (tracer_op_acc): no
	                                  files, no time series, no summary -- the sweep's cheap sink */
	uint32_t op;
} tracer_opts;

/* What the summary reports (report.h). Energies in pJ. */
typedef struct tracer_summary {
	double energy_pj[ENERGY_COUNT];         /* by component, static included */
	double energy_total_pj;
	double energy_dtype_pj[ASIM_DT_COUNT];  /* dynamic energy by instruction dtype */
	int have_graph;                          /* the memory figures below are valid */
	uint64_t param_bytes;                    /* graph.param_bytes */
	uint64_t weight_bytes;                   /* every weight-kind tensor (optimizer state too) */
	uint64_t peak_activation_bytes;          /* non-weight tensors live at once, at most */
	uint64_t peak_activation_tick;           /* first time that peak is reached */
	uint64_t peak_hbm_bytes;                 /* weight_bytes + peak_activation_bytes */
	uint64_t sbuf_occupancy_peak_bytes;      /* of the occupancy time series */
	uint64_t psum_occupancy_peak_bytes;
} tracer_summary;

typedef struct tracer tracer;

/* `c`, `p` and `g` (NULL for a program without a graph) are borrowed until tracer_free. Opens
 * the output files of `o` (temporary names). The same as tracer_open(ngops = the program's largest
 * gop + 1), tracer_scan of every instruction, tracer_start. */
int tracer_new(tracer **t /* OUT */, const chip *c, const isa_program *p, const graph *g,
               const tracer_opts *o, asim_err *e);
/* In three steps, for a program that is never whole in memory (sim/rungraph.h): open for ops
 * 0 .. max(ngops, g's ops) - 1; scan every instruction once, in program order, before the run
 * (per-op instruction counts and SBUF/PSUM footprints); start (opens the output files). On a
 * failure of tracer_start the caller still frees. */
int tracer_open(tracer **t /* OUT */, const chip *c, const graph *g, uint32_t ngops,
                const tracer_opts *o, asim_err *e);
void tracer_scan(tracer *t, const isa_inst *in);
/* tracer_scan as a callback (rungraph_opts.scan, with scan_ud = the tracer) */
void tracer_scan_cb(void *t, const isa_inst *in);
int tracer_start(tracer *t, asim_err *e);
event_sink tracer_sink(tracer *t);
/* After a successful engine_run: finish the time series, write the per-op rows, commit. */
int tracer_finish(tracer *t, const engine_result *r, asim_err *e);
/* Valid after tracer_finish. */
const tracer_summary *tracer_get_summary(const tracer *t);
/* The accumulation of op `op` (its footprints included) after engine_run, to be turned into a row
 * by oprow_build; NULL when the program has no such op (or, with one_op, op is not o->op). */
const oprow_acc *tracer_op_acc(const tracer *t, uint32_t op);
void tracer_free(tracer *t);

#endif
