/*
 * graph.h -- the operator graph: tensors, ops in topological order, attributes; checked shapes.
 *
 * A graph is loaded from YAML (docs/graph-format.md), validated, its shapes inferred and checked,
 * and its per-op work (MACs, FLOPs, bytes) computed once; then it is read-only. Tools that build
 * graphs (sweeps, the NAS sampler) write graph YAML text and load it with graph_load_buffer(), so
 * there is exactly one validation path.
 *
 *   tensors[]:  name, dtype, kind, shape ──┐ producer (op index, -1 for inputs and weights)
 *   ops[]:      in[] ──► type + attrs ──► out[]   (every input defined before use: topological)
 *
 * Tensor kinds: INPUT (fed from outside, in HBM), WEIGHT (parameters, in HBM before the run),
 * ACTIVATION (produced and consumed inside the graph), OUTPUT (produced, read after the run).
 * Optimizer state (momentum, Adam moments) is WEIGHT-kind: it persists across steps.
 */
#ifndef ASIM_GRAPH_H
#define ASIM_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "sim/dtype.h"
#include "sim/error.h"

#define GRAPH_MAX_RANK 6
#define GRAPH_MAX_IN 16
#define GRAPH_MAX_OUT 3

typedef enum graph_op_type {
#define OP(name, str, cls, min_in, max_in, nout) GRAPH_OP_##name,
#include "sim/ops.def"
#undef OP
	GRAPH_OP_COUNT
} graph_op_type;

typedef enum graph_op_class { GRAPH_CLASS_PE, GRAPH_CLASS_VEC, GRAPH_CLASS_ACT, GRAPH_CLASS_MOVE,
	                      GRAPH_CLASS_OPT } graph_op_class;

typedef enum graph_tensor_kind { GRAPH_INPUT, GRAPH_WEIGHT, GRAPH_ACTIVATION, GRAPH_OUTPUT } graph_tensor_kind;

/* Activation functions, fused (`activation:` attribute on matmul, conv2d, add, ...) or as ops. */
#define GRAPH_ACT_LIST(X) X(NONE, "none") X(RELU, "relu") X(RELU6, "relu6") X(GELU, "gelu") \
	X(SILU, "silu") X(SIGMOID, "sigmoid") X(TANH, "tanh") X(EXP, "exp")
typedef enum graph_act {
#define X(name, str) GRAPH_ACT_##name,
	GRAPH_ACT_LIST(X)
#undef X
	GRAPH_ACT_COUNT
} graph_act;

typedef struct graph_tensor {
	char *name;                        /* owned */
	asim_dtype dtype;
	graph_tensor_kind kind;
	uint32_t rank;
	uint64_t shape[GRAPH_MAX_RANK];
	uint64_t elems, bytes;
	int32_t producer;                  /* op index, or -1 */
	unsigned long line, col;           /* where it is declared */
} graph_tensor;

typedef struct graph_attrs {           /* unused fields keep their defaults */
	uint8_t transpose_a, transpose_b;  /* matmul */
	uint32_t kernel[2];                /* pooling: KH, KW */
	uint32_t stride[2];                /* conv, pooling: default 1, 1 */
	uint32_t dilation[2];              /* conv: default 1, 1 */
	uint32_t pad[4];                   /* conv, pooling: top, bottom, left, right */
	uint32_t groups;                   /* conv: default 1; = C_in for depthwise */
	int32_t axis;                      /* softmax, concat, norms: normalised to >= 0 */
	uint32_t perm[GRAPH_MAX_RANK];     /* transpose */
	graph_act activation;              /* fused activation applied on output */
	double epsilon;                    /* norms, adam */
	double lr, momentum, weight_decay; /* optimizers */
	double beta1, beta2;               /* adam */
} graph_attrs;

typedef struct graph_numerics {        /* per-op overrides of the chip's defaults */
	int dtype;                         /* compute (operand) dtype, -1: that of the inputs */
	int accum;                         /* accumulator dtype, -1: chip default */
	int rounding;                      /* asim_rounding of the output, -1: chip default */
	int saturate;                      /* 0/1, -1: chip default for the output format */
	int sr_bits;                       /* 1..32, 0: chip default */
} graph_numerics;

typedef struct graph_op {
	char *name;                        /* owned */
	graph_op_type type;
	uint32_t n_in, n_out;
	uint32_t in[GRAPH_MAX_IN];         /* tensor indices */
	uint32_t out[GRAPH_MAX_OUT];
	graph_attrs a;
	graph_numerics num;
	int32_t group;                     /* fusion group index, or -1 */
	/* work, computed at load (conventions in docs/graph-format.md) */
	uint64_t macs;                     /* multiply-accumulates (PE ops) */
	uint64_t flops;                    /* 2 × MACs for PE ops; per-element counts otherwise */
	unsigned long line, col;
} graph_op;

typedef struct graph {
	char *name;                        /* owned: `name:` of the file, else its base name */
	char *source;                      /* owned: file name */
	graph_tensor *tensors;             /* owned */
	size_t n_tensors;
	graph_op *ops;                     /* owned, topological order */
	size_t n_ops;
	char **groups;                     /* owned: fusion group names */
	size_t n_groups;
	uint64_t param_count, param_bytes; /* WEIGHT tensors, except optimizer state (m, v operands) */
	uint64_t total_macs, total_flops;
	char hash[17];                     /* content hash, 16 hex digits */
} graph;

extern const char *const graph_op_names[GRAPH_OP_COUNT];
extern const char *const graph_act_names[GRAPH_ACT_COUNT];
graph_op_class graph_op_class_of(graph_op_type t);

int graph_load_file(graph *g /* OUT */, const char *path, asim_err *e);
int graph_load_buffer(graph *g /* OUT */, const char *name, const char *buf, size_t len, asim_err *e);
void graph_fini(graph *g);
/* Index of a tensor by name, or -1 (a linear scan: callers looking up many names index them). */
int64_t graph_find_tensor(const graph *g, const char *name);

#endif
