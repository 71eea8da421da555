/*
 * graph_int.h -- internals shared by the files of the graph module (graph.c: YAML reading, names,
 * checks of references, hash; graph_infer.c: per-op shape inference, dtype rules, MACs/FLOPs).
 *
 * Loading is two passes over the ops (docs/graph-format.md, "Validation order"):
 *
 *   pass 1 (graph.c)        every op: keys, type, attributes, numerics, operand names resolved
 *                           through the name table, producers recorded (a tensor produced twice,
 *                           an input or weight written by an op are refused here);
 *   never-produced check    every activation/output tensor must have a producer;
 *   pass 2 (graph_infer.c)  ops in file order: each operand must be produced by an EARLIER op
 *                           (topological order; a cycle shows up as a use before definition
 *                           naming both ops), then the op's output shapes and dtypes are inferred,
 *                           compared with the declared ones, and its MACs/FLOPs computed.
 *
 * Everything here is borrowed from the loader's `gl` context and lives only while loading.
 */
#ifndef ASIM_GRAPH_INT_H
#define ASIM_GRAPH_INT_H

#include <stdint.h>

#include "sim/graph.h"
#include "sim/yamldoc.h"

/* What the loader remembers about an op beyond graph_op (positions, unresolved attributes). */
typedef struct graph_opx {
	const yd_node *node;                 /* the op's mapping */
	const yd_node *in_node[GRAPH_MAX_IN];/* each operand's name scalar, for positioned messages */
	const yd_node *attr_node;            /* the first shape-affecting attribute, or the op */
	const yd_node *kernel_node;          /* `kernel:`, or NULL (messages then point at the op) */
	uint8_t pad_same;                    /* `padding: same`: pads are resolved during inference */
	uint8_t have_kernel;                 /* `kernel:` given */
	uint8_t have_axis;                   /* `axis:` given */
	uint8_t have_perm;                   /* `perm:` given */
	uint32_t perm_len;
	uint32_t rs_rank;                    /* reshape: target shape, one entry may be -1 */
	int64_t rs[GRAPH_MAX_RANK];
	int64_t axis_raw;                    /* `axis` as written (may be negative) */
} graph_opx;

/* Per-tensor loader facts. */
typedef struct graph_tx {
	const yd_node *node;                 /* the tensor's mapping */
	const yd_node *shape_node;           /* NULL when the shape was omitted */
	uint8_t has_shape, has_dtype;
	uint8_t opt_state;                   /* used as the m / v operand of an optimizer update */
} graph_tx;

typedef struct graph_loader {
	graph *g;
	const yd_doc *d;
	asim_err *e;
	graph_opx *opx;                      /* owned, n_ops */
	graph_tx *tx;                        /* owned, n_tensors */
	int default_dtype;                   /* `dtype:` at the top, or -1 */
} graph_loader;

/* pass 2 for one op (graph_infer.c) */
int graph_infer_op(graph_loader *L, uint32_t opi);

/* Errors about an op: "op 'NAME' (TYPE): ..." at node n (the op's mapping when NULL). */
int graph_op_error(graph_loader *L, uint32_t opi, const yd_node *n, int code, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* "[1, 2, 3]" into buf */
const char *graph_fmt_shape(char *buf, size_t size, uint32_t rank, const uint64_t *shape);

#endif
