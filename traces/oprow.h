/*
 * oprow.h -- THE per-op row: one line per graph op of `--ops FILE.csv[.gz]`, and of the sweep's
 * dataset (the same columns). This is the training data of latency estimators, so every feature
 * an estimator needs is a column (docs/traces.md, "Per-op rows", documents each with its unit).
 *
 * One table, many views: OPROW_COLUMNS(X) lists the columns as
 *
 *     X(name, kind, unit, "meaning")      kind: S text, U unsigned integer, F decimal (3 digits)
 *
 * and expands to the row struct (field `name` of type oprow_S/U/F), the CSV header and the row
 * writer. An unsigned value of OPROW_NA, a NaN decimal and a NULL text are written as an empty
 * field ("not applicable": the matmul columns of a convolution, ...).
 *
 * Life of a row: an oprow_acc per op accumulates the op's instructions from the event stream
 * (oprow_acc_add, in any order: sums, minima and maxima only), then oprow_build() joins it with
 * the op's static features from the graph (shapes, attributes, work) and the run's identity.
 * Without a graph (an assembly program) the graph columns are empty and the name is "op N".
 */
#ifndef ASIM_OPROW_H
#define ASIM_OPROW_H

#include <stdint.h>

#include "isa/timing.h"
#include "sim/chip.h"
#include "sim/event.h"
#include "sim/graph.h"
#include "traces/energy.h"
#include "traces/textfmt.h"

#define OPROW_NA UINT64_MAX

/* Why an instruction waited (a refinement of event_stall_cause, see oprow_stall_names). */
#define OPROW_STALLS(X) X(DMA, "dma") X(ENGINE, "engine") X(SBUF_SPACE, "sbuf_space") \
	X(PSUM_SPACE, "psum_space")
typedef enum oprow_stall {
#define X(name, str) OPROW_STALL_##name,
	OPROW_STALLS(X)
#undef X
	OPROW_STALL_COUNT
} oprow_stall;
extern const char *const oprow_stall_names[OPROW_STALL_COUNT];

#define OPROW_COLUMNS(X) \
	X(accelsim_version, S, "", "accelsim version that wrote the row") \
	X(chip, S, "", "chip name") \
	X(chip_hash, S, "", "chip content hash (16 hex digits)") \
	X(graph, S, "", "graph name (program: its source)") \
	X(graph_hash, S, "", "graph content hash (program: hash of its bytes)") \
	X(op_index, U, "", "index of the op in the graph (topological order)") \
	X(op_name, S, "", "op name") \
	X(op_type, S, "", "op type (matmul, conv2d, ...)") \
	X(op_class, S, "", "where it runs: pe, vec, act, move, opt") \
	X(fused_activation, S, "", "activation fused on the output: none, relu, gelu, ...") \
	X(fusion_group, S, "", "fusion group name; empty when none") \
	X(dtype, S, "", "compute (operand) dtype") \
	X(accum_dtype, S, "", "accumulator dtype (PE ops)") \
	X(out_dtype, S, "", "dtype of the first output") \
	X(n_inputs, U, "", "tensor operands") \
	X(in_shapes, S, "", "input shapes: dims joined by x, tensors by ;") \
	X(out_shapes, S, "", "output shapes, same notation") \
	X(batch, U, "elements", "matmul: product of the output's leading dims; conv/pool: N") \
	X(m, U, "elements", "GEMM M: output rows (output dim -2)") \
	X(n, U, "elements", "GEMM N: output columns (output dim -1)") \
	X(k, U, "elements", "GEMM K: contraction length = MACs / (batch·M·N)") \
	X(h, U, "elements", "conv/pool: input height") \
	X(w, U, "elements", "conv/pool: input width") \
	X(c_in, U, "channels", "conv/pool: input channels") \
	X(c_out, U, "channels", "conv/pool: output channels") \
	X(h_out, U, "elements", "conv/pool: output height") \
	X(w_out, U, "elements", "conv/pool: output width") \
	X(kh, U, "elements", "conv/pool: kernel height") \
	X(kw, U, "elements", "conv/pool: kernel width") \
	X(stride_h, U, "elements", "conv/pool: vertical stride") \
	X(stride_w, U, "elements", "conv/pool: horizontal stride") \
	X(pad_top, U, "elements", "conv/pool: padding") \
	X(pad_bottom, U, "elements", "conv/pool: padding") \
	X(pad_left, U, "elements", "conv/pool: padding") \
	X(pad_right, U, "elements", "conv/pool: padding") \
	X(dilation_h, U, "elements", "conv: dilation") \
	X(dilation_w, U, "elements", "conv: dilation") \
	X(groups, U, "", "conv: groups (C_in for depthwise)") \
	X(axis_len, U, "elements", "softmax/layernorm/rmsnorm/concat: length of the axis") \
	X(elems_out, U, "elements", "elements of all outputs") \
	X(macs, U, "MAC", "multiply-accumulates (graph convention)") \
	X(flops, U, "FLOP", "floating-point operations (graph convention)") \
	X(exec_macs, U, "MAC", "MACs its instructions performed (sums to the summary's macs)") \
	X(exec_flops, U, "FLOP", "FLOPs its instructions performed (sums to the summary's flops)") \
	X(weight_bytes, U, "bytes", "bytes of weight-kind inputs") \
	X(activation_in_bytes, U, "bytes", "bytes of the other inputs") \
	X(activation_out_bytes, U, "bytes", "bytes of the outputs") \
	X(instructions, U, "", "instructions executed for the op") \
	X(start_ns, F, "ns", "first instruction start") \
	X(end_ns, F, "ns", "last instruction end") \
	X(latency_ns, F, "ns", "end - start") \
	X(latency_cycles, U, "cycles", "end - start in PE-clock cycles, rounded up") \
	X(pe_busy_ns, F, "ns", "PE array held (issue intervals)") \
	X(act_busy_ns, F, "ns", "scalar/activation engine held") \
	X(vec_busy_ns, F, "ns", "vector engine held") \
	X(dma_busy_ns, F, "ns", "DMA queues held, summed over queues") \
	X(stall_ns, F, "ns", "time instructions waited on semaphores, summed") \
	X(stall_dma_ns, F, "ns", "... waiting for data a DMA brings") \
	X(stall_engine_ns, F, "ns", "... waiting for another compute engine") \
	X(stall_sbuf_space_ns, F, "ns", "... waiting for SBUF space (its readers to finish)") \
	X(stall_psum_space_ns, F, "ns", "... waiting for PSUM space") \
	X(stall_cause, S, "", "the cause with the most stall: none, dma, engine, sbuf_space, psum_space") \
	X(sbuf_peak_bytes, U, "bytes", "SBUF footprint: bytes per partition touched × partitions") \
	X(psum_peak_bytes, U, "bytes", "PSUM footprint, same measure") \
	X(hbm_read_bytes, U, "bytes", "read from HBM") \
	X(hbm_write_bytes, U, "bytes", "written to HBM") \
	X(sbuf_read_bytes, U, "bytes", "read from SBUF") \
	X(sbuf_write_bytes, U, "bytes", "written to SBUF") \
	X(psum_read_bytes, U, "bytes", "read from PSUM (accumulating matmuls included)") \
	X(psum_write_bytes, U, "bytes", "written to PSUM") \
	X(energy_pj, F, "pJ", "dynamic + static") \
	X(energy_mac_pj, F, "pJ", "MACs × mac_pj[dtype]") \
	X(energy_sbuf_pj, F, "pJ", "SBUF bytes × sbuf_pj_per_byte") \
	X(energy_psum_pj, F, "pJ", "PSUM bytes × psum_pj_per_byte") \
	X(energy_hbm_pj, F, "pJ", "HBM bits × hbm_pj_per_bit") \
	X(energy_static_pj, F, "pJ", "static_w × latency (overlapping ops each count their span)")

typedef const char *oprow_S;
typedef uint64_t oprow_U;
typedef double oprow_F;

typedef struct oprow {
#define X(name, kind, unit, doc) oprow_##kind name;
	OPROW_COLUMNS(X)
#undef X
	char name_buf[32];           /* storage behind the text columns that are built */
	char in_shapes_buf[512];
	char out_shapes_buf[256];
} oprow;

typedef struct oprow_acc {
	uint64_t start, end;         /* ticks */
	uint64_t insts;
	uint64_t busy[4];            /* ticks: pe, act, vec, dma */
	uint64_t stall[OPROW_STALL_COUNT];
	uint64_t rd[ISA_MEM_COUNT], wr[ISA_MEM_COUNT];
	uint64_t macs, flops;        /* as executed */
	double pj[ENERGY_COUNT];     /* dynamic components (static added by oprow_build) */
	uint64_t sbuf_fp, psum_fp;   /* footprints, bytes (set by the caller) */
} oprow_acc;

/* Add one instruction: `pj` its dynamic energy, `stall` its oprow_stall class (any value when
 * ev->stall == 0). */
void oprow_acc_add(oprow_acc *a, const event_inst *ev, const double pj[ENERGY_COUNT], int stall);

typedef struct oprow_ctx {
	const char *version, *graph_name, *graph_hash;   /* borrowed */
	const chip *c;               /* borrowed */
	const graph *g;              /* borrowed, may be NULL */
	isa_clock clk;
} oprow_ctx;

/* The op's geometry: GEMM dimensions for matmuls, N/C/H/W/kernel/stride/pad/dilation/groups for
 * convolutions and pooling (backward convs in their forward terms), OPROW_NA where a field does
 * not apply. One definition for the `--ops` columns and the latency estimator's features. */
#define OPROW_GEOMETRY(X) X(batch) X(m) X(n) X(k) X(h) X(w) X(c_in) X(c_out) X(h_out) X(w_out) \
	X(kh) X(kw) X(stride_h) X(stride_w) X(pad_top) X(pad_bottom) X(pad_left) X(pad_right) \
	X(dilation_h) X(dilation_w) X(groups)
typedef struct oprow_geom {
#define X(name) uint64_t name;
	OPROW_GEOMETRY(X)
#undef X
} oprow_geom;
void oprow_geometry(const graph *g, const graph_op *op, oprow_geom *out /* OUT */);

/* Fill `row` for op `op` (its accumulation `a`, which may hold no instruction). The row borrows
 * strings from ctx, the graph and itself. */
void oprow_build(oprow *row /* OUT */, const oprow_ctx *ctx, uint32_t op, const oprow_acc *a);

void oprow_write_header(textfmt_buf *w);
void oprow_write(textfmt_buf *w, const oprow *row);

/* The columns' names, units and meanings (for docs and tests); oprow_ncols of them. */
extern const char *const oprow_col_names[];
extern const char *const oprow_col_units[];
extern const size_t oprow_ncols;

#endif
