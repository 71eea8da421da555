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
 * DMA start or end for d transfers in flight (d ≤ dma.engines). Never per cycle. The hot loop does
 * not allocate (all state is sized before the first instruction).
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
