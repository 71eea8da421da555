/*
 * event.h -- the engine's event stream: one record per executed instruction, pushed to a sink.
 *
 * The engine (sim/engine.c) knows nothing about file formats; a sink (traces/: Perfetto JSON, the
 * per-op CSV, the summary) knows nothing about timing rules. The engine calls
 *
 *     sink->begin(ud, &info)        once, before the first instruction (clocks, queues)
 *     sink->inst(ud, &ev)           once per instruction, in order of completion time
 *                                   (ties: in the order the engine processed them; deterministic)
 *     sink->end(ud, end_tick)       once, after the last instruction, unless the run failed
 *     sink->hbm_rate(ud, tick, r)   whenever the HBM bandwidth in use changes (time order)
 *
 * Any callback may be NULL. A callback returning non-zero (an ASIM_E* code) stops the run with
 * that code. Records are borrowed: valid only during the call.
 *
 * Times are ticks of the run's common clock (isa/timing.h: info.tick_hz ticks per second; trn1:
 * 28 GHz, so a PE cycle is 10 ticks). For an instruction:
 *
 *     head ─────► ready ─────────► start ─────────► end
 *       │  busy    │   stall        │   duration
 *       │ (engine  │ (semaphore     │ (timing rule, and HBM sharing for DMA)
 *       │  busy)   │  not yet met)  │
 *     head  = when it reached the head of its queue (the previous instruction started)
 *     ready = when its engine was free for it
 *     start = when it started: ready + stall (stall > 0 only while a semaphore wait is unmet)
 *     end   = when it completed and signalled its semaphore
 */
#ifndef ASIM_EVENT_H
#define ASIM_EVENT_H

#include <stdint.h>

#include "isa/isa.h"

typedef enum event_stall_cause {
	EVENT_STALL_NONE,          /* started as soon as its engine was free */
	EVENT_STALL_SEM,           /* waited on a semaphore signalled by a compute engine */
	EVENT_STALL_DMA,           /* waited on a semaphore signalled by a DMA queue */
	EVENT_STALL_COUNT
} event_stall_cause;

extern const char *const event_stall_names[EVENT_STALL_COUNT];   /* "none", "semaphore", "dma" */

typedef struct event_inst {
	const isa_inst *inst;      /* the instruction (valid during the callback only) */
	const isa_inst *releaser;  /* the instruction whose completion met its last wait, when it
	                              stalled on a semaphore (valid during the callback), else NULL */
	uint64_t index;            /* position in the program */
	uint16_t opcode;           /* isa_opcode */
	uint8_t engine;            /* isa_engine */
	uint8_t queue;             /* DMA queue (engine == ISA_ENG_DMA) */
	uint32_t qindex;           /* 0 PE, 1 ACT, 2 VEC, 3 + q: the track it runs on */
	uint32_t gop;              /* graph op, or ISA_NO_GOP */
	uint32_t line;             /* source line, 0 if none */
	uint8_t dtype;             /* asim_dtype of the main operand (src0, or dst when none) */
	uint64_t head, ready, start, end;   /* ticks */
	uint64_t occupy;           /* ticks the engine was held (<= end - start when pipelined) */
	uint64_t cycles;           /* occupancy in the engine's own clock (0 for DMA and sync) */
	uint64_t stall;            /* start - ready */
	uint8_t stall_cause;       /* event_stall_cause */
	uint16_t stall_sem;        /* the semaphore it waited for last, or ISA_NO_SEM */
	uint32_t stall_qindex;     /* the queue that signalled it, when stall_cause != NONE */
	uint64_t bytes_read[ISA_MEM_COUNT];
	uint64_t bytes_written[ISA_MEM_COUNT];
	uint64_t macs, flops;
	uint64_t horizon;          /* every instruction not yet reported starts at or after this tick
	                              (min of now and the starts of those in flight): sinks that
	                              build time series in time order flush what lies before it */
} event_inst;

typedef struct event_info {
	double tick_hz;            /* ticks per second */
	int exact;                 /* clocks are whole numbers of ticks */
	uint32_t n_queues;         /* 3 + DMA queues */
	uint64_t n_insts;
} event_info;

typedef struct event_sink {
	void *ud;
	int (*begin)(void *ud, const event_info *info);
	int (*inst)(void *ud, const event_inst *ev);
	int (*end)(void *ud, uint64_t end_tick);
	/* Optional: the HBM bandwidth granted to the transfers in flight (their rates summed, bytes
	 * per tick) from `tick` on. Called in nondecreasing tick order whenever the rates are
	 * recomputed, possibly several times at one tick (the last call holds). */
	void (*hbm_rate)(void *ud, uint64_t tick, double bytes_per_tick);
} event_sink;

#endif
