/*
 * perfetto.h -- Chrome trace-event JSON (the format Perfetto and chrome://tracing open), written
 * event by event: memory is bounded whatever the length of the trace.
 *
 *     {"displayTimeUnit":"ns","otherData":{...},"traceEvents":[
 *     {"ph":"M","pid":0,"name":"process_name","args":{"name":"core 0 (trn1)"}},
 *     {"ph":"M","pid":0,"tid":0,"name":"thread_name","args":{"name":"pe"}},     one per track
 *     {"ph":"X","pid":0,"tid":0,"ts":1.23400,"dur":0.18286,"name":"matmul",...}, one per inst.
 *     {"ph":"X","pid":0,"tid":1000,...,"cat":"op"}                               op spans
 *     {"ph":"C","pid":0,"ts":...,"name":"sbuf_bytes","args":{"sbuf_bytes":..}}   counters
 *     ]}
 *
 * Tracks (tid): 0 pe, 1 act, 2 vec, 3 + q the DMA queue q, 1000 + l the op lane l (ops that
 * overlap in time go to different lanes, so each lane's spans never overlap). Time stamps are
 * µs (textfmt.h: exact to the tick). docs/traces.md lists every field.
 */
#ifndef ASIM_PERFETTO_H
#define ASIM_PERFETTO_H

#include <stdint.h>

#include "traces/textfmt.h"

#define PERFETTO_TID_OPS 1000

typedef struct perfetto {
	textfmt_buf w;
	textfmt_time tf;
	uint64_t events;
} perfetto;

/* Starts the document; `other` is written verbatim as the value of "otherData" (a JSON object). */
void perfetto_begin(perfetto *p, outfile *f, const textfmt_time *tf, const char *other);
/* Starts one event: writes the separator, `{"ph":"<ph>","pid":<pid>` and, when tid >= 0,
 * `,"tid":<tid>`. The caller continues with fields (each starting with ',') and closes it with
 * perfetto_close(). */
void perfetto_open(perfetto *p, char ph, uint32_t pid, int64_t tid);
void perfetto_close(perfetto *p);
/* `,"ts":<µs>` and, for dur >= 0 ticks, `,"dur":<µs>` */
void perfetto_ts(perfetto *p, uint64_t ts, int64_t dur);
/* Metadata: a process or thread name, and a sort index. */
void perfetto_process_name(perfetto *p, uint32_t pid, const char *name);
void perfetto_thread_name(perfetto *p, uint32_t pid, uint32_t tid, const char *name, int sort);
/* A counter sample: {"ph":"C","pid":..,"ts":..,"name":<name>,"args":{<name>:<value>}} with the
 * value printed with `decimals` digits. */
void perfetto_counter(perfetto *p, uint32_t pid, const char *name, uint64_t ts, double value,
                      int decimals);
void perfetto_end(perfetto *p);

#endif
