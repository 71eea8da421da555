/*
 * sweep_row.c -- the dataset's columns: the ONE place that knows what a sweep row holds.
 *
 *   sample_index, sample_id                       identity of the sample in the sweep
 *   <axis columns>                                one per axis, in spec order: `axis.NAME` for a
 *                                                 template axis, the parameter key (pe_array.cols)
 *                                                 for a chip axis
 *   op features (FEATURES below)                  the target op's type, shapes, attributes, work
 *   outputs (OUTPUTS below)                       the simulated latency, busy/stall per engine, bytes
 *   chip, chip_hash, sweep_hash, seed,            provenance
 *   accelsim_version, n_samples
 *
 * PENDING traces/oprow.h: the op feature columns here are a minimal set. When the per-op trace row
 * lands on main, FEATURES is replaced by oprow's column table (the feature columns of
 * `accelsim run --ops`), so a sweep row carries exactly the per-op trace row's features; nothing
 * outside this file changes. docs/datasets.md documents every column with its unit.
 *
 * Numbers are printed in a fixed form (integers in decimal, nanoseconds with 3 decimals: a
 * picosecond), so a row is a pure function of the sample and the output is byte-reproducible.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "isa/isa.h"
#include "sim/sweep_int.h"

/* A CSV field: quoted only when it holds a comma, a quote or a line break. */
static int put_field(sweep_buf *b, const char *s, int first)
{
	int rc = first ? 0 : sweep_buf_put(b, ",", 1);
	if (rc)
		return rc;
	if (strpbrk(s, ",\"\r\n") == NULL)
		return sweep_buf_put(b, s, strlen(s));
	rc = sweep_buf_put(b, "\"", 1);
	for (const char *p = s; rc == 0 && *p; p++)
		rc = *p == '"' ? sweep_buf_put(b, "\"\"", 2) : sweep_buf_put(b, p, 1);
	return rc ? rc : sweep_buf_put(b, "\"", 1);
}

static int put_u64(sweep_buf *b, uint64_t v) { return sweep_buf_printf(b, ",%" PRIu64, v); }
static int put_ns(sweep_buf *b, const isa_clock *clk, uint64_t ticks)
{
	return sweep_buf_printf(b, ",%.3f", isa_ticks_to_ns(clk, ticks));
}

static void shape_str(const graph *g, const graph_op *op, int which, char *buf, size_t n)
{
	buf[0] = '\0';
	uint32_t t;
	if (which >= 0) {
		if ((uint32_t)which >= op->n_in)
			return;
		t = op->in[which];
	} else {
		t = op->out[0];
	}
	const graph_tensor *ts = &g->tensors[t];
	size_t k = 0;
	for (uint32_t d = 0; d < ts->rank && k + 24 < n; d++)
		k += (size_t)snprintf(buf + k, n - k, "%s%" PRIu64, d ? "x" : "", ts->shape[d]);
	if (ts->rank == 0)
		snprintf(buf, n, "scalar");
}

/* The op feature columns (pending traces/oprow.h), and the output columns. */
#define FEATURES(X) X(op) X(op_type) X(ops) X(n_ops) X(dtype) X(activation) X(group) \
	X(in0_shape) X(in1_shape) X(out_shape) X(kh) X(kw) X(stride_h) X(stride_w) X(pad_top) \
	X(pad_bottom) X(pad_left) X(pad_right) X(dilation_h) X(dilation_w) X(groups) X(transpose_a) \
	X(transpose_b) X(macs) X(flops) X(in_bytes) X(weight_bytes) X(out_bytes) X(total_macs) \
	X(total_flops) X(pe_rows) X(pe_cols)
#define OUTPUTS(X) X(latency_ns) X(latency_cycles) X(n_insts) X(pe_busy_ns) X(act_busy_ns) \
	X(vec_busy_ns) X(dma_busy_ns) X(pe_stall_ns) X(act_stall_ns) X(vec_stall_ns) X(dma_stall_ns) \
	X(hbm_read_bytes) X(hbm_write_bytes) X(sbuf_peak_bytes) X(psum_peak_bytes)
#define PROVENANCE(X) X(chip) X(chip_hash) X(sweep_hash) X(seed) X(accelsim_version) X(n_samples)

int sweep_row_header(const sweep_spec *sp, sweep_buf *b)
{
	b->len = 0;
	int rc = sweep_buf_put(b, "sample_index,sample_id", 22);
	for (uint32_t i = 0; rc == 0 && i < sp->n_axes; i++) {
		char name[200];
		if (sp->axes[i].chip_key)
			snprintf(name, sizeof name, "%s", sp->axes[i].chip_key);
		else
			snprintf(name, sizeof name, "axis.%s", sp->axes[i].name);
		rc = put_field(b, name, 0);
	}
#define X(name) if (rc == 0) rc = sweep_buf_put(b, "," #name, sizeof #name);
	FEATURES(X)
	OUTPUTS(X)
	PROVENANCE(X)
#undef X
	return rc ? rc : sweep_buf_put(b, "\n", 1);
}

int sweep_row_format(const sweep_row_in *in, sweep_buf *b)
{
	const sweep_spec *sp = in->sp;
	const graph *g = in->g;
	const graph_op *op = &g->ops[in->target];
	const engine_result *r = in->r;
	const isa_clock *clk = &r->clk;
	const graph_attrs *a = &op->a;
	char tmp[256];
	int rc = sweep_buf_printf(b, "%" PRIu64 ",%s", in->index, in->sample_id);
	for (uint32_t i = 0; rc == 0 && i < sp->n_axes; i++) {
		if (in->vals[i].t == SWEEP_STR)
			rc = put_field(b, in->vals[i].s, 0);
		else {
			sweep_val_format(&in->vals[i], tmp, sizeof tmp);
			rc = put_field(b, tmp, 0);
		}
	}
	/* features of the target op */
	if (rc == 0)
		rc = put_field(b, op->name, 0);
	if (rc == 0)
		rc = put_field(b, graph_op_names[op->type], 0);
	if (rc == 0) {
		size_t k = 0;
		tmp[0] = '\0';
		for (size_t i = 0; i < g->n_ops && k + 32 < sizeof tmp; i++)
			k += (size_t)snprintf(tmp + k, sizeof tmp - k, "%s%s", i ? "+" : "", graph_op_names[g->ops[i].type]);
		rc = put_field(b, tmp, 0);
	}
	if (rc == 0)
		rc = put_u64(b, g->n_ops);
	if (rc == 0)
		rc = put_field(b, asim_dtype_names[g->tensors[op->out[0]].dtype], 0);
	if (rc == 0)
		rc = put_field(b, graph_act_names[a->activation], 0);
	if (rc == 0)
		rc = put_field(b, op->group >= 0 ? g->groups[op->group] : "", 0);
	for (int w = 0; rc == 0 && w < 3; w++) {
		shape_str(g, op, w < 2 ? w : -1, tmp, sizeof tmp);
		rc = put_field(b, tmp, 0);
	}
	uint64_t kh = 0, kw = 0;
	graph_op_class cls = graph_op_class_of(op->type);
	if (op->type == GRAPH_OP_CONV2D && op->n_in >= 2 && g->tensors[op->in[1]].rank == 4) {
		kh = g->tensors[op->in[1]].shape[2];
		kw = g->tensors[op->in[1]].shape[3];
	} else if (a->kernel[0]) {
		kh = a->kernel[0];
		kw = a->kernel[1];
	}
	if (rc == 0)
		rc = sweep_buf_printf(b, ",%" PRIu64 ",%" PRIu64 ",%u,%u,%u,%u,%u,%u,%u,%u,%u,%u,%u", kh, kw, a->stride[0],
		                      a->stride[1], a->pad[0], a->pad[1], a->pad[2], a->pad[3], a->dilation[0],
		                      a->dilation[1], a->groups, a->transpose_a, a->transpose_b);
	uint64_t in_b = 0, w_b = 0, out_b = 0;
	for (uint32_t i = 0; i < op->n_in; i++) {
		const graph_tensor *t = &g->tensors[op->in[i]];
		if (t->kind == GRAPH_WEIGHT)
			w_b += t->bytes;
		else
			in_b += t->bytes;
	}
	for (uint32_t i = 0; i < op->n_out; i++)
		out_b += g->tensors[op->out[i]].bytes;
	(void)cls;
	if (rc == 0)
		rc = sweep_buf_printf(b, ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
		                      ",%" PRIu64 ",%u,%u", op->macs, op->flops, in_b, w_b, out_b, g->total_macs,
		                      g->total_flops, in->c->pe.rows, in->c->pe.cols);
	/* outputs: the whole sample (every op of the template) */
	uint64_t cycles = clk->exact && clk->period[ISA_CLK_PE]
	                      ? r->end / clk->period[ISA_CLK_PE]
	                      : (uint64_t)(isa_ticks_to_ns(clk, r->end) * clk->clock_ghz[ISA_CLK_PE] + 0.5);
	if (rc == 0)
		rc = put_ns(b, clk, r->end);
	if (rc == 0)
		rc = sweep_buf_printf(b, ",%" PRIu64 ",%" PRIu64, cycles, r->n_insts);
	uint64_t dma_busy = 0, dma_stall = 0;
	for (uint32_t q = 3; q < r->n_queues; q++) {
		dma_busy += r->q[q].busy;
		dma_stall += r->q[q].stall;
	}
	for (uint32_t q = 0; rc == 0 && q < 3; q++)
		rc = put_ns(b, clk, q < r->n_queues ? r->q[q].busy : 0);
	if (rc == 0)
		rc = put_ns(b, clk, dma_busy);
	for (uint32_t q = 0; rc == 0 && q < 3; q++)
		rc = put_ns(b, clk, q < r->n_queues ? r->q[q].stall : 0);
	if (rc == 0)
		rc = put_ns(b, clk, dma_stall);
	if (rc == 0)
		rc = sweep_buf_printf(b, ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64, r->bytes_read[ISA_MEM_HBM],
		                      r->bytes_written[ISA_MEM_HBM], r->sbuf_peak_bytes, r->psum_peak_bytes);
	/* provenance */
	if (rc == 0)
		rc = put_field(b, in->c->name ? in->c->name : "", 0);
	if (rc == 0)
		rc = sweep_buf_printf(b, ",%s,%s,%" PRIu64 ",%s,%" PRIu64 "\n", in->c->hash, sp->hash, sp->seed,
		                      PACKAGE_VERSION, in->n_samples);
	return rc;
}
