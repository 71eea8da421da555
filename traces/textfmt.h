/*
 * textfmt.h -- fast, exact text formatting for the trace sinks: a write buffer in front of an
 * outfile, integers without printf, JSON and CSV string quoting, and tick → µs conversion.
 *
 * Time stamps (docs/traces.md, "Time"): the engine counts ticks (isa_clock; trn1: 28 GHz). The
 * tick frequency is a multiple of 1 GHz (it is the LCM of the clocks and 1 GHz, or 1 PHz in the
 * femtosecond fallback), so a µs is a whole number T of ticks and a time stamp is printed as
 *
 *     ticks / T  "."  round(frac · 10^d)          d = ceil(log10(2 · T)), at least 3
 *
 * entirely in integer arithmetic. 10^-d µs is at most half a tick, so distinct ticks print as
 * distinct stamps and round(ts · T) gives the tick back exactly (trn1: T = 28000, d = 5).
 */
#ifndef ASIM_TEXTFMT_H
#define ASIM_TEXTFMT_H

#include <stddef.h>
#include <stdint.h>

#include "isa/timing.h"
#include "traces/outfile.h"

typedef struct textfmt_time {
	uint64_t ticks_per_us;     /* T */
	unsigned decimals;         /* d */
	uint64_t scale;            /* 10^d */
	double ticks_per_ns;       /* for ns figures */
} textfmt_time;

void textfmt_time_init(textfmt_time *t /* OUT */, const isa_clock *clk);

#define TEXTFMT_BUF 16384

typedef struct textfmt_buf {
	outfile *f;                /* borrowed; NULL: the bytes go to `spill` (may be NULL when what is
	                              written always fits the buffer) */
	int (*spill)(void *ud, const char *p, size_t n);
	void *ud;                  /* borrowed: spill's argument */
	size_t n;
	char b[TEXTFMT_BUF];
} textfmt_buf;

void textfmt_init(textfmt_buf *w, outfile *f);
/* A buffer in front of a function instead of a file (the sweep's rows into memory). A spill
 * failure is the function's business (it remembers it). */
void textfmt_init_spill(textfmt_buf *w, int (*spill)(void *ud, const char *p, size_t n), void *ud);
void textfmt_flush(textfmt_buf *w);
void textfmt_puts(textfmt_buf *w, const char *s);
void textfmt_putc(textfmt_buf *w, char c);
void textfmt_u64(textfmt_buf *w, uint64_t v);
/* A double with `decimals` digits after the point ("%.*f"); NaN prints nothing. */
void textfmt_f(textfmt_buf *w, double v, int decimals);
/* Ticks as µs (see above). */
void textfmt_us(textfmt_buf *w, const textfmt_time *t, uint64_t ticks);
/* Ticks as ns with 3 decimals (the summary's convention). */
void textfmt_ns(textfmt_buf *w, const textfmt_time *t, uint64_t ticks);
/* A JSON string literal, quotes included; bytes >= 0x80 and controls as \u00XX. */
void textfmt_json_str(textfmt_buf *w, const char *s);
/* A CSV field (RFC 4180): quoted when it holds a comma, quote, CR or LF. */
void textfmt_csv_str(textfmt_buf *w, const char *s);

#endif
