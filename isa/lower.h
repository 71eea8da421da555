/*
 * lower.h -- the compiler back end: graph ops → per-engine instruction queues for one chip.
 *
 * lower_graph() tiles every op of a graph to the chip's PE array (contraction depth = rows,
 * parallelism factor = cols, moving free size ≤ one PSUM bank), to SBUF and PSUM capacity; places
 * buffers (double-buffered so DMA loads overlap compute; spilling when a working set does not
 * fit); emits DMA, matmul, vector and activation instructions with semaphores between engines.
 * Every instruction carries the index of the graph op it implements (isa_inst.gop).
 * SBUF and PSUM capacity are never exceeded: the lowering asserts it.
 * An op that cannot be mapped (e.g. a single row too wide for SBUF even when split) is a user
 * error: ASIM_EMAPPING with the op's file:line:column.
 */
#ifndef ASIM_LOWER_H
#define ASIM_LOWER_H

#include "isa/isa.h"
#include "sim/chip.h"
#include "sim/graph.h"

typedef struct lower_opts {
	uint32_t core;             /* which core the program runs on (0 by default) */
} lower_opts;

/* `p` must be initialised (isa_program_init): the graph's instructions are appended to it, and on
 * failure it is left as it was. */
int lower_graph(const graph *g, const chip *c, const lower_opts *o, isa_program *p /* IN/OUT */,
                asim_err *e);

/* The same lowering, handing each instruction to `emit` in program order instead of storing it
 * (sim/rungraph.c streams programs this way). `emit` returns 0, or a nonzero code that stops the
 * lowering and is returned. The program's semaphores are lower_semaphores(c), one per queue; its
 * instructions name DMA queues below c->dma.engines. */
typedef int (*lower_emit_fn)(void *ud, const isa_inst *in);
int lower_graph_emit(const graph *g, const chip *c, const lower_opts *o, lower_emit_fn emit,
                     void *ud, asim_err *e);
uint32_t lower_semaphores(const chip *c);

/* HBM placement (the same for every chip): addr[t] (n_tensors entries, caller-allocated) receives
 * the byte address of tensor t -- each tensor at its own 512-byte-aligned address in declaration
 * order, a reshape's output aliasing its input. Returns the bytes used. Convolution filters are
 * stored at their address in the PE-ready layout [groups][C_in/groups][KH][KW][C_out/groups]
 * (docs/lowering.md, section 4); every other tensor row-major. */
uint64_t lower_hbm_place(const graph *g, uint64_t *addr /* OUT */);

/* SBUF bytes per partition one op may use (half the ring, whole chunks), and one PSUM bank's
 * bytes per partition: the capacities the tiling plans against. */
uint64_t lower_sbuf_budget(const chip *c);
uint64_t lower_psum_bank_bytes(const chip *c);

/* The tiling plan of a forward convolution, as lower_graph() will choose it, without lowering:
 * for the latency estimator (est/estlow.c), which derives per-engine busy times from it.
 * Geometry: input N×C×H×W, output CO×OH×OW, filter KH×KW, stride, dilation, top/left padding,
 * groups; element bytes of input, weights, output and bias (esb = 0: no bias). */
typedef struct lower_conv_geom {
	uint64_t N, C, H, W, CO, OH, OW, KH, KW, sh, sw, dh, dw, pt, pl, G;
	uint64_t esX, esW, esY, esb;
} lower_conv_geom;

typedef struct lower_conv_plan {
	int vec;                   /* 1: depthwise on the vector engine (C/G == 1) */
	uint64_t rows, cols, mmax; /* PE: contraction rows, stationary columns, moving pixels per tile */
	uint64_t ctn, otn;         /* PE: input- and output-channel tiles per group */
	int w_res;                 /* PE: a group's weights resident in SBUF (else a tile per matmul) */
	uint64_t w_bytes;          /* SBUF bytes per partition of the weight buffer */
	uint64_t rn, cn;           /* output chunk: rows × columns */
} lower_conv_plan;

/* 0, or -1 when the op cannot be mapped (the lowering would report it). */
int lower_conv_plan_of(const chip *c, const lower_conv_geom *g, lower_conv_plan *p /* OUT */);

#endif
