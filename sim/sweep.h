/*
 * sweep.h -- `accelsim sweep`: a spec of axes over an op template → one dataset row per sample.
 *
 * A sweep spec (docs/datasets.md) names a graph template and axes:
 *
 *     axes (in spec order)          constraints             template (graph YAML with ${expr})
 *     chip.pe_array.cols: [64,128]  "C_in % groups == 0"    tensors: [{name: x, shape: [1, ${C_in}, …]}]
 *     C_in:  {range: [16, 64, 16]}                          ops: [{type: conv2d, groups: ${groups}}]
 *     C_out: {pf: [1, 2], offsets: [-1, 0, 1]}
 *
 * The sample list is the cross product of the axes, first axis outermost (slowest varying), last
 * axis fastest, minus the combinations a constraint rejects. An axis's values may depend on the
 * axes before it (its bounds are expressions), so the product is enumerated as nested loops:
 *
 *     for v0 in gen(axis0, {}):                       (constraints over axis 0 checked here)
 *       for v1 in gen(axis1, {v0}):                   (constraints whose last axis is 1 here)
 *         ...  → sample #k (k counts accepted samples from 0)
 *
 * Sample order, and hence sample indices, are a pure function of the spec bytes and the seed.
 * Each sample's id is FNV-1a 64 (splitmix-finalised) over "name=value\n" of every axis.
 *
 * Expressions (sweep_expr.c): integers (int64, overflow is an error), decimals (double), strings;
 * + - * / % (integer / and % floor, like Python's // and %), comparisons, and, or, not,
 * `a divides b` (b % a == 0), min(a, b), max(a, b); names of axes and the built-ins pf
 * (pe_array.cols of the sample's chip) and rows (pe_array.rows). Parsed once, with positions.
 *
 * Threads (sweep_run.c): workers claim samples in order, each simulates with its own chip copy
 * and writes its row into a slot of a reorder ring; the writer emits rows strictly in sample order,
 * so the output does not depend on --jobs.
 */
#ifndef ASIM_SWEEP_H
#define ASIM_SWEEP_H

#include <stddef.h>
#include <stdint.h>

#include "sim/chip.h"
#include "sim/error.h"
#include "sim/yamldoc.h"

/* ---- values and expressions --------------------------------------------------------------- */

typedef enum sweep_vtype { SWEEP_INT, SWEEP_NUM, SWEEP_STR } sweep_vtype;

typedef struct sweep_val {
	sweep_vtype t;
	int64_t i;          /* SWEEP_INT */
	double d;           /* SWEEP_NUM */
	const char *s;      /* SWEEP_STR: borrowed (the spec document or the expression) */
} sweep_val;

/* Variable references inside an expression: an axis index >= 0, or a built-in. */
#define SWEEP_VAR_PF (-1)
#define SWEEP_VAR_ROWS (-2)
#define SWEEP_USES_PF 1u
#define SWEEP_USES_ROWS 2u

typedef struct sweep_xnode sweep_xnode;

typedef struct sweep_expr {
	sweep_xnode *n;     /* owned: the nodes; n[root] is the top */
	uint32_t nn, root;
	int32_t level;      /* highest axis index referenced, -1 if none */
	unsigned uses;      /* SWEEP_USES_PF | SWEEP_USES_ROWS: built-ins it reads */
	const char *file;   /* borrowed: for messages */
	unsigned long line, col;   /* where its text starts */
} sweep_expr;

/* The evaluation context: values of axes 0..n_vals-1, the chip's built-ins. */
typedef struct sweep_ctx {
	const sweep_val *vals;
	uint32_t n_vals;
	int64_t pf, rows;
} sweep_ctx;

/* Name resolution for the parser: returns the axis index of `name` (len bytes) or -1. */
typedef int (*sweep_resolve_fn)(void *ud, const char *name, size_t len);

/* Parse `text` (len bytes) located at file:line:col (the column of its first character).
 * Names resolve through `resolve`; names with an index >= max_var are refused ("defined later");
 * strings in the expression point into `text`, which must outlive the expression. */
int sweep_expr_parse(sweep_expr *x /* OUT */, const char *file, unsigned long line, unsigned long col,
                     const char *text, size_t len, sweep_resolve_fn resolve, void *ud, int32_t max_var,
                     asim_err *e);
void sweep_expr_fini(sweep_expr *x);
/* Evaluate. Errors (division by zero, overflow, type mismatch) carry the operator's position. */
int sweep_expr_eval(const sweep_expr *x, const sweep_ctx *ctx, sweep_val *out /* OUT */, asim_err *e);
/* Truth of a value: non-zero number; a string is an error (reported by the caller). */
int sweep_val_truthy(const sweep_val *v);
/* Canonical text of a value into buf (int: decimal; num: shortest round-trip %.17g form; str: as is).
 * Returns the length (truncated to n-1). */
size_t sweep_val_format(const sweep_val *v, char *buf, size_t n);
int sweep_val_equal(const sweep_val *a, const sweep_val *b);

/* ---- the spec ----------------------------------------------------------------------------- */

typedef struct sweep_spec sweep_spec;

/* Load and check a spec. `chip_override` (--chip) replaces the spec's `chip:`; `seed_override`
 * is used when have_seed. Every mistake is file:line:col. */
int sweep_spec_load(sweep_spec **sp /* OUT */, const char *path, const char *chip_override,
                    int have_seed, uint64_t seed_override, asim_err *e);
void sweep_spec_free(sweep_spec *sp);

uint32_t sweep_spec_n_axes(const sweep_spec *sp);
const char *sweep_spec_axis_name(const sweep_spec *sp, uint32_t i);
const chip *sweep_spec_base_chip(const sweep_spec *sp);
uint64_t sweep_spec_seed(const sweep_spec *sp);
/* 16 hex digits: the spec's bytes, the base chip's hash, the seed, the accelsim version and the
 * row format (SWEEP_ROW_FORMAT). */
const char *sweep_spec_hash(const sweep_spec *sp);

/* The enumerator: samples in order. Values are written to vals[0..n_axes). */
typedef struct sweep_iter sweep_iter;
int sweep_iter_new(sweep_iter **it /* OUT */, const sweep_spec *sp);
void sweep_iter_free(sweep_iter *it);
/* 1: a sample was produced; 0: no more samples; < 0: an error (an expression failed). */
int sweep_iter_next(sweep_iter *it, sweep_val *vals /* OUT */, asim_err *e);
/* Count every sample (a full enumeration). */
int sweep_count(const sweep_spec *sp, uint64_t *n /* OUT */, asim_err *e);
/* The sample id of a value vector: 16 hex digits into out[17]. */
void sweep_sample_id(const sweep_spec *sp, const sweep_val *vals, char out[17]);

/* ---- running ------------------------------------------------------------------------------ */

typedef struct sweep_opts {
	const char *out;           /* "-" for standard output */
	uint32_t jobs;             /* worker threads, >= 1 */
	uint64_t shard_i, shard_n; /* this process runs samples with index % shard_n == shard_i */
	int resume;
	int progress;              /* draw a progress bar on stderr */
	uint64_t checkpoint_rows;  /* flush the journal every K rows (default 64) */
} sweep_opts;

int sweep_run(const sweep_spec *sp, const sweep_opts *o, asim_err *e);

/* Merge shard outputs into one file equal to a single-machine run. */
int sweep_merge(const char *out, const char *const *parts, size_t n_parts, asim_err *e);

/* The journal (checkpoint) path beside an output: OUT + ".journal". Owned by the caller. */
char *sweep_journal_path(const char *out);

#endif
