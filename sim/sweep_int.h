/*
 * sweep_int.h -- internals shared by sweep_spec.c (spec, enumeration, template), sweep_run.c
 * (threads, journal, merge) and sweep_row.c (the dataset's columns: its own, then traces/oprow.h's).
 *
 * The template is compiled once into a flat list of pieces; rendering a sample concatenates them:
 *
 *     piece: text "accelsim: 1\nname: conv2d\ntensors:\n-\n  name: x\n  shape:\n  - 1\n  - "
 *     piece: expr #0 (C_in), raw
 *     piece: text "\n  - "
 *     ...
 *
 * The rendered YAML is block style with one scalar per line, so a graph error's line number maps
 * back, through line_map, to the position of the template node in the spec (errors name the spec,
 * never the generated text).
 */
#ifndef ASIM_SWEEP_INT_H
#define ASIM_SWEEP_INT_H

#include <stddef.h>
#include <stdint.h>

#include "sim/chip.h"
#include "sim/graph.h"
#include "sim/engine.h"
#include "sim/sweep.h"
#include "sim/yamldoc.h"
#include "traces/oprow.h"
#include "traces/textfmt.h"

typedef enum sweep_gen {
	SWEEP_GEN_LIST,        /* items: literals or expressions */
	SWEEP_GEN_RANGE,       /* from, to (inclusive), step */
	SWEEP_GEN_LOG,         /* from, to, n: geometric, rounded when integer, deduplicated */
	SWEEP_GEN_UNIFORM,     /* lo, hi, n draws */
	SWEEP_GEN_LOG_UNIFORM, /* lo, hi, n draws, uniform in log */
	SWEEP_GEN_PF           /* k·pf + d for k in ks, d in offsets, values < 1 dropped */
} sweep_gen;

typedef struct sweep_item {    /* a list entry: a literal, or an expression when is_expr */
	int is_expr;
	sweep_val lit;
	sweep_expr x;
} sweep_item;

typedef struct sweep_axis {
	const char *name;          /* borrowed from the document: "C_in" or "chip.pe_array.cols" */
	const char *chip_key;      /* "pe_array.cols" for a chip axis, else NULL */
	const yd_node *node;       /* its value node, for messages */
	sweep_gen gen;
	sweep_item *items;         /* owned: LIST items; RANGE/LOG/...: items[0] from, [1] to, [2] step */
	size_t n_items;
	sweep_item *items2;        /* owned: PF offsets */
	size_t n_items2;
	uint64_t n;                /* LOG, UNIFORM, LOG_UNIFORM: count */
	uint64_t stream;           /* random stream: hash of the name */
} sweep_axis;

typedef struct sweep_piece {
	const char *text;          /* borrowed (document or the pieces' own text) */
	size_t len;
	int32_t expr;              /* index in tpl_exprs, or -1 for text only */
	uint8_t quoted;            /* expression value goes inside a double-quoted scalar */
} sweep_piece;

typedef struct sweep_pos { unsigned long line, col; } sweep_pos;

struct sweep_spec {
	char *file;                /* owned */
	char *bytes;               /* owned: the spec file's bytes */
	size_t n_bytes;
	yd_doc doc;
	char *name;                /* owned: the graph name (spec `name:`, else the file's base name) */
	const char *target;        /* borrowed: `target:` op name, or NULL (the first op) */
	const yd_node *target_node;
	uint64_t seed;
	chip base;                 /* the chip before chip axes */
	sweep_axis *axes;          /* owned */
	uint32_t n_axes;
	int32_t pf_axis, rows_axis;    /* chip axes setting pe_array.cols / .rows, or -1 */
	sweep_expr *cons;          /* owned: constraints */
	uint32_t n_cons;
	sweep_expr *tpl_exprs;     /* owned */
	uint32_t n_tpl_exprs;
	sweep_piece *pieces;       /* owned */
	size_t n_pieces;
	char *tpl_text;            /* owned: text the pieces point into */
	sweep_pos *line_map;       /* owned: rendered line (1-based) → spec position */
	size_t n_lines;
	const yd_node *template_node;
	char hash[17];
};

/* A growable byte buffer (one per thread). */
typedef struct sweep_buf {
	char *p;
	size_t len, cap;
} sweep_buf;

int sweep_buf_put(sweep_buf *b, const char *s, size_t n);
int sweep_buf_printf(sweep_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sweep_buf_fini(sweep_buf *b);

/* The chip's built-ins for a value vector (pf, rows). */
void sweep_ctx_for(const sweep_spec *sp, const sweep_val *vals, sweep_ctx *ctx /* OUT */);
/* Render the graph YAML of a sample into b (cleared first). */
int sweep_render(const sweep_spec *sp, const sweep_val *vals, sweep_buf *b, asim_err *e);
/* Apply the chip axes of `vals` to a copy of the base chip (c must be empty or a chip: it is
 * replaced). */
int sweep_make_chip(const sweep_spec *sp, const sweep_val *vals, chip *c, asim_err *e);
/* The name rendered graphs are loaded under; their error positions are mapped back by
 * sweep_sample_error. */
const char *sweep_template_name(void);
/* Rewrite an error from loading/lowering/running a rendered sample into a spec position:
 * "spec:L:C: sample #I (a=1, b=2): message". */
void sweep_sample_error(const sweep_spec *sp, const sweep_val *vals, uint64_t index, asim_err *e);
/* The index of the target op in g, or an error at the spec's `target:`. */
int sweep_target_op(const sweep_spec *sp, const graph *g, uint32_t *op /* OUT */, asim_err *e);

/* ---- rows (sweep_row.c): the ONE place that knows the dataset's columns ------------------- */

/* The row format: 2 = the sweep's own columns + traces/oprow.h's OPROW_COLUMNS (1 was a minimal
 * set of op features and whole-sample outputs). Hashed into sweep_hash, so --resume and --merge
 * refuse rows of another format. */
#define SWEEP_ROW_FORMAT 2

typedef struct sweep_row_in {
	const sweep_spec *sp;
	const sweep_val *vals;
	uint64_t index, n_samples;
	const chip *c;             /* the sample's chip */
	const graph *g;            /* the rendered graph */
	uint32_t target;
	const isa_clock *clk;      /* the run's clock (engine_result.clk) */
	const oprow_acc *acc;      /* the target op's events (tracer one-op mode) */
	const char *sample_id;
} sweep_row_in;

/* Per-thread scratch of the row writer (large: one per worker, on the heap). */
typedef struct sweep_rowbuf {
	textfmt_buf w;             /* spills into `to` */
	sweep_buf *to;
	int rc;
	oprow row;
} sweep_rowbuf;

void sweep_rowbuf_init(sweep_rowbuf *s);
/* The header line into b (cleared first). */
int sweep_row_header(const sweep_spec *sp, sweep_rowbuf *s, sweep_buf *b);
/* 0 when a header line (len bytes, '\n' included) has this version's columns: the sweep's own
 * first, the op columns last; -1 otherwise (another accelsim's format, or not a sweep). */
int sweep_row_check_header(const char *line, size_t len);
/* Append one row to b. */
int sweep_row_format(const sweep_row_in *in, sweep_rowbuf *s, sweep_buf *b);

#endif
