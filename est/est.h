/*
 * est.h -- per-op latency estimators for hardware-aware NAS (docs/estimators.md, "Estimator").
 *
 * A NAS loop needs the latency of thousands of candidate networks in milliseconds; the simulator
 * gives it in tens of milliseconds per candidate. The estimator decomposes a graph into its ops,
 * predicts each op's CONTRIBUTION to the whole-graph latency and sums:
 *
 *     graph ──► est_op per op (shapes, work, bytes: the `--ops` columns) ──► features (ns, from the
 *     chip: PE tiles ⌈C_out/PF⌉·⌈C_in/rows⌉·taps·⌈pixels/max_moving⌉, vector passes, DMA bytes /
 *     bandwidth, the previous op's compute under which this op's weights load, ...) ──► one linear
 *     model per op kind ──► Σ contributions = graph latency
 *
 * Contribution, not isolated latency: the simulator overlaps ops (the next op's weight DMA runs
 * under the current op's compute), so whole-graph latency is not the sum of isolated per-op
 * latencies. The training target of op i in a full-graph run is
 *
 *     contribution_i = max(0, end_i − max_{j<i} end_j)        (ns; ops without instructions: 0)
 *
 * whose sum over the graph is exactly the graph's latency. Features of the neighbours (the
 * previous op's compute time, the next op's weight bytes) let the model learn the overlap.
 *
 * Convolutions also get their per-engine busy times AS LOWERED (est_lowered, est/estlow.c): the
 * lowering's own tiling plan (lower_conv_plan_of) walked chunk class by chunk class, each
 * instruction costed by the timing rules -- equal to the sums over the instructions lower_graph
 * emits, without emitting them (microseconds instead of the lowering's milliseconds).
 *
 * Op kind: the op type, a variant for convolutions (dw: depthwise, 1x1, kxk: spatial) and the
 * fused activation, e.g. "conv2d.dw+relu6". Each kind gets a ridge regression in the features
 * (coefficients in ns per feature unit), its ridge strength chosen by 5-fold cross-validation
 * whose fold assignment derives from the seed, plus gradient-boosted regression trees on its
 * residual that split on the features and the raw dimensions (the tiling corners the linear
 * part misses); a pooled model ("*") serves kinds never seen.
 *
 * Units: times in ns (double), sizes in bytes, counts as doubles (they are features).
 * Determinism: fitting is plain double arithmetic in a fixed order, so the same rows and seed
 * give the same model file byte for byte (numbers printed with %.17g).
 */
#ifndef ASIM_EST_H
#define ASIM_EST_H

#include <stddef.h>
#include <stdint.h>

#include "sim/chip.h"
#include "sim/error.h"
#include "sim/graph.h"

#define EST_FORMAT_VERSION 2
#define EST_KIND_MAX 48

/* The features, one table (name, meaning). Feature 0 is the constant. */
#define EST_FEATURES(X) \
	X(one, "constant 1") \
	X(pe_ns, "PE array: tiles x max(min_ii, moving) / rate (+ fill and drain per fold when serial) / clock") \
	X(pe_tiles, "PE tiles: groups x ceil(C_out/PF) x ceil(C_in/rows) x taps x ceil(pixels/max_moving) x batch") \
	X(vec_ns, "vector engine: depthwise taps, eltwise, pooling, PSUM evacuation: ceil(C/lanes) x pixels / rate") \
	X(act_ns, "activation engine: fused activation over the output") \
	X(vec_insts_ns, "fixed cost of the vector/activation instructions (passes x fixed_cycles / clock)") \
	X(w_ns, "weight bytes / DMA bandwidth") \
	X(in_ns, "activation input bytes / DMA bandwidth") \
	X(out_ns, "output bytes / DMA bandwidth") \
	X(desc_ns, "DMA descriptors (channel rows in and out) x fixed_ns / engines") \
	X(bound_ns, "max(compute, DMA): the roofline of the op alone") \
	X(w_exposed_ns, "max(0, w_ns - compute of the previous op): weight load not hidden under it") \
	X(prev_compute_ns, "compute of the previous op") \
	X(next_w_ns, "weight load of the next op (competes for bandwidth at the end of this one)") \
	X(prev_out_ns, "output store of the previous op (drains under this one)") \
	X(next_compute_ns, "compute of the next op") \
	X(low_pe_ns, "convolutions as lowered (est_lowered): PE array busy time") \
	X(low_vec_ns, "as lowered: vector engine busy time (memsets, depthwise taps, evacuation)") \
	X(low_act_ns, "as lowered: activation engine busy time") \
	X(low_load_ns, "as lowered: DMA load time per load queue (descriptor fixed costs + bytes)") \
	X(low_store_ns, "as lowered: DMA store time per store queue") \
	X(low_desc, "as lowered: DMA descriptors") \
	X(low_bound_ns, "as lowered: the busiest engine or DMA side")

/* Raw op dimensions the trees also split on (not in the linear part). */
#define EST_RAW(X) X(c_in) X(c_out) X(h_out) X(w_out) X(kh) X(stride_h) X(groups) X(m) X(n) X(k) \
	X(elems_out)

enum {
#define X(name, doc) EST_F_##name,
	EST_FEATURES(X)
#undef X
	EST_NF
};
enum {
#define X(name) EST_R_##name,
	EST_RAW(X)
#undef X
	EST_NRAW
};
#define EST_NX (EST_NF + EST_NRAW)  /* features, then raw dimensions at EST_NF + EST_R_* */
extern const char *const est_feature_names[EST_NX];   /* features, then raw dimensions */
extern const char *const est_feature_docs[EST_NF];

/* One op as the estimator sees it: the per-op row of `accelsim run --ops` (docs/traces.md),
 * reduced to the columns the features use. Counts are doubles; absent values are 0. */
typedef struct est_op {
	char kind[EST_KIND_MAX];
	char type[24];
	char act[12];
	double batch, m, n, k, h, w, c_in, c_out, h_out, w_out, kh, kw, stride_h, stride_w, groups;
	double elems_out, macs, flops, weight_bytes, act_in_bytes, act_out_bytes;
	double end_ns;            /* full-graph run: last instruction end; NaN when no instruction */
} est_op;

/* Fill `o` for op `i` of `g` with the conventions of the `--ops` columns; end_ns = NaN. */
void est_op_from_graph(const graph *g, size_t i, est_op *o /* OUT */);
/* Derive o->kind from type, groups, c_in, kh, kw and act. */
void est_op_kind(est_op *o);
/* The features of `o` between its neighbours (NULL at the ends), then its raw dimensions. */
void est_features(const chip *c, const est_op *prev, const est_op *o, const est_op *next,
                  double f[EST_NX] /* OUT */);

/* Per-engine busy times of a forward convolution as the lowering tiles it (est/estlow.c; zeros
 * for other ops), in ns; desc counts DMA descriptors. */
typedef struct est_low {
	double pe_ns, vec_ns, act_ns, load_ns, store_ns, desc, bound_ns;
} est_low;
void est_lowered(const chip *c, const est_op *o, est_low *out /* OUT */);

/* A regression tree node: internal when feat >= 0 (x[feat] <= thr goes left), else a leaf. */
typedef struct est_node {
	int32_t feat, left, right;
	double thr, value;
} est_node;

typedef struct est_kind {
	char name[EST_KIND_MAX];
	uint64_t rows;
	double lambda;
	double coef[EST_NF];      /* ns per feature unit */
	double lo[EST_NX], hi[EST_NX];   /* the range seen in training */
	/* gradient-boosted trees on the linear part's residual (ns); tree t starts at node
	 * roots[t], every tree's nodes are contiguous */
	uint32_t n_trees;
	uint32_t *roots;          /* owned */
	est_node *nodes;          /* owned */
	size_t n_nodes;
	/* The same trees for prediction (est_kind_flatten; in memory only, the file keeps the
	 * nodes): each padded to a complete tree of depth flat_depth, in heap order (children of
	 * i: 2i+1, 2i+2); a leaf above the bottom is repeated under padding splits. Tree t's
	 * thresholds then leaf values are flat[t × (2^d − 1 + 2^d) ...], its split features
	 * flat_feat[t × (2^d − 1) ...]. NULL: prediction walks the nodes (same values). */
	unsigned flat_depth;
	double *flat;             /* owned */
	uint8_t *flat_feat;       /* owned */
} est_kind;

typedef struct est_model {
	char chip[64];
	char chip_hash[17];
	uint64_t seed;
	uint64_t rows, graphs;
	double flops_ns;          /* FLOPs baseline: graph latency ≈ flops_ns × FLOPs (least squares) */
	est_kind *kinds;          /* owned, sorted by name; kinds[0] is "*" (pooled) */
	size_t n_kinds;
} est_model;

/* A training set: ops of full-graph runs, graph after graph, in op order. */
typedef struct est_data {
	est_op *ops;              /* owned */
	size_t n, cap;
	size_t *graph_start;      /* owned: index of each graph's first op; n_graphs entries */
	size_t n_graphs, gcap;
	char chip[64];            /* the chip of the rows ("" until the first row) */
} est_data;

void est_data_init(est_data *d);
void est_data_fini(est_data *d);
int est_data_begin_graph(est_data *d);
int est_data_push(est_data *d, const est_op *o);
/* Append the rows of a per-op CSV (`accelsim run --ops`, `accelsim estimator dataset`; .gz read
 * through zlib). A new graph starts where op_index is 0 or graph_hash changes. */
int est_data_read_csv(est_data *d, const char *path, asim_err *e);
/* Append one full-graph simulation of `g` on `c` (what `accelsim run --ops` would record). */
int est_data_add_graph(est_data *d, const graph *g, const chip *c, asim_err *e);

/* Simulate `g` on `c` in-process: total latency, and per op the end of its last instruction
 * (NaN for ops without instructions) when op_end is not NULL (g->n_ops entries). */
int est_simulate(const graph *g, const chip *c, double *total_ns /* OUT */, double *op_end /* OUT */,
                 asim_err *e);
/* Simulate op `i` of `g` alone (its inputs in HBM, its output written back), in-process. */
int est_simulate_isolated(const graph *g, size_t i, const chip *c, double *ns /* OUT */, asim_err *e);

int est_fit(const est_data *d, const chip *c, uint64_t seed, est_model *m /* OUT */, asim_err *e);
void est_model_fini(est_model *m);
int est_model_write(const est_model *m, const char *path, asim_err *e);
int est_model_read(est_model *m /* OUT */, const char *path, asim_err *e);

/* Prediction of a whole graph: per-op contributions into pred (g->n_ops entries), returns the
 * total. out_of_range[i] (may be NULL) gets 1 when op i's features leave its kind's training
 * range or its kind was never seen. `ops` is scratch of g->n_ops entries (may be NULL: then the
 * function allocates, and returns NaN on out-of-memory). */
double est_predict_graph(const est_model *m, const chip *c, const graph *g, est_op *ops,
                         double *pred, unsigned char *out_of_range);
const est_kind *est_model_find(const est_model *m, const char *kind);
/* One op's contribution from its features (EST_NX of them): linear part + trees, at least 0. */
double est_kind_eval(const est_kind *k, const double *f);
/* Build k's flat trees from its nodes (est_fit and est_model_read call it). Trees deeper than
 * EST_FLAT_DEPTH_MAX, or out of memory: k stays unflattened (slower, same predictions). */
#define EST_FLAT_DEPTH_MAX 6
void est_kind_flatten(est_kind *k);

#endif
