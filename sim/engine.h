/*
 * engine.h -- the discrete-event, cycle-approximate execution of a program on one core of a chip.
 *
 * Queues (one track each in traces):
 *
 *     qindex 0: PE array     1: ACT (scalar)     2: VEC     3 .. 3+dma.engines-1: DMA queues q0, q1, …
 *
 * Each queue runs its instructions in program order, one after another. An instruction starts
 * when its queue is free (the previous instruction has released it: after its issue interval on
 * the PE array, after completion elsewhere) and its semaphore waits are met; it takes the time its
 * opcode's timing rule gives (isa/timing.h); it signals its semaphore when it completes. DMA
 * transfers in flight share HBM bandwidth (processor sharing with per-transfer caps: rates are
 * recomputed whenever a transfer enters or leaves its data phase). docs/timing-model.md.
 *
 * Cost: O(log k) per instruction for k events pending (k ≤ a few per queue), plus O(d log d) per
 * DMA start or end for d transfers in flight (d ≤ dma.engines). Never per cycle. The hot loop
 * allocates only to double a ring that is full (the queues' pending instructions, the pieces
 * held): a number of allocations that grows with the window, not with the program.
 *
 * Time: integer ticks of the chip's common clock (isa_clock). Converting to ns or cycles happens
 * only when reporting.
 *
 * One core: the program runs on one core; the other cores of the chip idle, so the running core
 * has the whole chip's HBM bandwidth.
 */
#ifndef ASIM_ENGINE_H
#define ASIM_ENGINE_H

#include <stdint.h>

#include "isa/isa.h"
#include "isa/timing.h"
#include "sim/chip.h"
#include "sim/event.h"

typedef struct engine_queue_stats {
	uint64_t busy;             /* ticks the queue was held (PE: issue intervals; DMA: start..end) */
	uint64_t stall;            /* ticks free but waiting on a semaphore */
	uint64_t insts;
	uint64_t cycles;           /* busy in the engine's own clock (PE/ACT/VEC) */
	uint64_t last_end;         /* completion of its last instruction */
} engine_queue_stats;

typedef struct engine_gop_stats {
	uint64_t start, end;       /* ticks: first start, last completion (0, 0 when no instruction) */
	uint64_t busy;             /* ticks summed over every queue's occupancy */
	uint64_t insts, macs, flops;
	uint64_t hbm_bytes;        /* read + written */
} engine_gop_stats;

typedef struct engine_result {
	isa_clock clk;
	uint64_t end;              /* ticks: completion of the last instruction (the latency) */
	uint64_t n_insts;
	uint32_t n_queues;
	engine_queue_stats *q;     /* owned: n_queues entries */
	uint64_t bytes_read[ISA_MEM_COUNT], bytes_written[ISA_MEM_COUNT];
	uint64_t macs, flops;
	uint64_t sbuf_peak_bytes;  /* high-water mark: highest byte touched per partition × partitions */
	uint64_t psum_peak_bytes;
	engine_gop_stats *gops;    /* owned: n_gops entries (largest gop + 1) */
	uint32_t n_gops;
} engine_result;

/*
 * A program delivered in pieces, in program order (sim/rungraph.c streams the lowering this way,
 * so that a run holds a window of its program, not all of it). The engine asks for a piece only
 * when a queue that still has instructions to run has none in hand; it gives pieces back, oldest
 * first, once every instruction in them has completed (and all remaining ones when it stops).
 * Everything but the pieces is known up front: the instruction count of each queue, so that a
 * queue that has run them all never makes the engine read ahead.
 */
typedef struct engine_source {
	/* The next piece: *n >= 1 instructions at *insts, valid until given back. Returns ASIM_OK or
	 * an error code (with *e set). */
	int (*next)(void *ud, const isa_inst **insts, size_t *n, asim_err *e);
	void (*release)(void *ud, const isa_inst *insts);   /* may be NULL */
	void *ud;
	const char *source;        /* names the program in messages */
	uint64_t n_insts;          /* in all */
	uint32_t nsems;            /* semaphores 0 .. nsems-1 */
	uint32_t n_gops;           /* every gop is < n_gops or ISA_NO_GOP */
	const uint64_t *qcount;    /* instructions per queue (engine.h's qindex), 3 + dma.engines */
	/* Side queues (may be NULL): side[q] != NULL holds all qcount[q] instructions of queue q, at
	 * program positions side_idx[q][k]; the pieces still carry them (they are skipped there).
	 * For queues used so rarely that reading ahead to their next instruction would pull in much
	 * of the program. */
	const isa_inst *const *side;
	const uint64_t *const *side_idx;
} engine_source;

typedef struct engine_stats {
	uint64_t pieces;           /* pieces taken from the source */
	uint64_t window_peak;      /* most instructions held in pieces at once */
} engine_stats;

/* Run a source's program on core 0 of `c`; `st` (may be NULL) receives the window statistics.
 * The same results, events and errors as engine_run on the whole program, except that nothing
 * is checked before the run (isa_check is the source's business; a deadlock is still found and
 * reported when it happens). */
int engine_run_source(const chip *c, const engine_source *src, const event_sink *sink,
                      engine_result *r /* OUT */, engine_stats *st /* OUT, may be NULL */,
                      asim_err *e);

/* A program in memory as a source (pieces of 65,536 instructions), with its queues' counts and
 * graph-op count as the caller knows them (m holds the state; both outlive the run). */
typedef struct engine_mem {
	const isa_program *p;
	size_t at;
} engine_mem;
engine_source engine_mem_source(engine_mem *m, const isa_program *p, const uint64_t *qcount,
                                uint32_t n_gops);

/* Run `p` on core 0 of `c`. The program is first checked against the chip (isa_check): a problem
 * is reported as "source:line: message". A deadlock at run time (no queue can progress, some
 * instructions remain) is ASIM_EDEADLOCK naming every blocked instruction. `sink` may be NULL.
 * On success *r holds the statistics (engine_result_fini frees them); on failure *r is empty. */
int engine_run(const chip *c, const isa_program *p, const event_sink *sink,
               engine_result *r /* OUT */, asim_err *e);
void engine_result_fini(engine_result *r);

/* "pe", "act", "vec", "q0", "q1", …  into buf (>= 16 bytes); returns buf. */
const char *engine_queue_name(uint32_t qindex, char *buf, size_t n);

#endif
