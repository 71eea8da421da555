/*
 * rungraph.h -- lower a graph and run it on the engine, with the program streamed when it is large.
 *
 *     rungraph_prepare:  lower the graph once, counting every queue's instructions (and showing
 *                        each instruction to an optional scan, e.g. the tracer's). A program of at
 *                        most `resident_max` instructions is kept: it then runs as engine_run
 *                        would run it. A larger one is not kept, except the instructions of the
 *                        queues it uses rarely (the side store, at most `side_max` instructions).
 *     rungraph_run:      a kept program runs from memory. Otherwise a second thread lowers the
 *                        graph again, in pieces of `piece` instructions, while the engine runs
 *                        them (engine_source): only a window of the program is ever in memory.
 *
 * Both ways give the same results and the same events, byte for byte (the engine's pace does not
 * depend on where pieces end; tests/test_rungraph.c compares them). docs/architecture.md
 * "Streaming" gives the memory bound and the figures.
 */
#ifndef ASIM_RUNGRAPH_H
#define ASIM_RUNGRAPH_H

#include <stdint.h>

#include "isa/isa.h"
#include "isa/lower.h"
#include "sim/chip.h"
#include "sim/engine.h"
#include "sim/graph.h"

#define RUNGRAPH_RESIDENT_MAX (1u << 18)  /* instructions kept in memory (~48 MB) */
#define RUNGRAPH_PIECE 8192                /* instructions per streamed piece */
#define RUNGRAPH_SIDE_MAX (1u << 17)       /* instructions in the side store (~24 MB) */

typedef struct rungraph_opts {
	uint64_t resident_max;     /* 0: RUNGRAPH_RESIDENT_MAX; UINT64_MAX: always keep the program */
	uint32_t piece;            /* 0: RUNGRAPH_PIECE */
	uint64_t side_max;         /* 0: RUNGRAPH_SIDE_MAX */
	int no_side;               /* 1: no side store (tests) */
	/* Optional: sees every instruction once, in program order, during rungraph_prepare. */
	void (*scan)(void *ud, const isa_inst *in);
	void *scan_ud;
} rungraph_opts;

typedef struct rungraph_info {
	uint64_t n_insts;
	uint32_t n_gops;           /* largest graph-op index of an instruction + 1 */
	int streamed;              /* the program was not kept */
	uint64_t side_insts;       /* instructions in the side store */
	uint32_t side_queues;      /* queues it serves */
	uint64_t pieces;           /* after rungraph_run: pieces streamed */
	uint64_t window_peak;      /* after rungraph_run: most instructions held in pieces at once */
} rungraph_info;

typedef struct rungraph rungraph;

/* `g` and `c` are borrowed until rungraph_free. On failure *rg is NULL. */
int rungraph_prepare(rungraph **rg /* OUT */, const graph *g, const chip *c, const lower_opts *lo,
                     const rungraph_opts *o /* may be NULL */, asim_err *e);
/* The program, when kept (NULL when it streams). */
const isa_program *rungraph_program(const rungraph *rg);
const rungraph_info *rungraph_get_info(const rungraph *rg);
/* Run once. The same contract as engine_run. */
int rungraph_run(rungraph *rg, const event_sink *sink, engine_result *r /* OUT */, asim_err *e);
void rungraph_free(rungraph *rg);

/* prepare + run + free, no scan: the common case. */
int rungraph_simulate(const graph *g, const chip *c, const event_sink *sink,
                      engine_result *r /* OUT */, asim_err *e);

#endif
