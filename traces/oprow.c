/*
 * oprow.c -- the per-op row: accumulation, static features, CSV (see oprow.h).
 */
#include "traces/oprow.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const char *const oprow_stall_names[OPROW_STALL_COUNT] = {
#define X(name, str) str,
	OPROW_STALLS(X)
#undef X
};

const char *const oprow_col_names[] = {
#define X(name, kind, unit, doc) #name,
	OPROW_COLUMNS(X)
#undef X
};
const char *const oprow_col_units[] = {
#define X(name, kind, unit, doc) unit,
	OPROW_COLUMNS(X)
#undef X
};
const size_t oprow_ncols = sizeof oprow_col_names / sizeof oprow_col_names[0];

void oprow_acc_add(oprow_acc *a, const event_inst *ev, const double pj[ENERGY_COUNT], int stall)
{
	if (a->insts == 0 || ev->start < a->start)
		a->start = ev->start;
	if (a->insts == 0 || ev->end > a->end)
		a->end = ev->end;
	a->insts++;
	uint32_t e = ev->qindex < 3 ? ev->qindex : 3;   /* queue order: pe, act, vec, dma... */
	a->busy[e] += ev->occupy;
	if (ev->stall > 0 && stall >= 0 && stall < OPROW_STALL_COUNT)
		a->stall[stall] += ev->stall;
	for (int m = 0; m < ISA_MEM_COUNT; m++) {
		a->rd[m] += ev->bytes_read[m];
		a->wr[m] += ev->bytes_written[m];
	}
	a->macs += ev->macs;
	a->flops += ev->flops;
	for (int k = 0; k < ENERGY_COUNT; k++)
		a->pj[k] += pj[k];
}

/* ---- static features -------------------------------------------------------------------- */

static void shapes_text(char *buf, size_t n, const graph *g, const uint32_t *ts, uint32_t nt)
{
	size_t at = 0;
	buf[0] = '\0';
	for (uint32_t i = 0; i < nt && at + 1 < n; i++) {
		const graph_tensor *t = &g->tensors[ts[i]];
		if (i)
			at += (size_t)snprintf(buf + at, n - at, ";");
		for (uint32_t d = 0; d < t->rank && at + 1 < n; d++)
			at += (size_t)snprintf(buf + at, n - at, d ? "x%llu" : "%llu",
			                       (unsigned long long)t->shape[d]);
		if (t->rank == 0 && at + 1 < n)
			at += (size_t)snprintf(buf + at, n - at, "1");
	}
	if (at >= n && n > 4)   /* truncated: say so rather than print a wrong shape */
		memcpy(buf + n - 4, "...", 4);
}

static const char *const class_names[] = {"pe", "vec", "act", "move", "opt"};

static int is_conv(graph_op_type t)
{
	return t == GRAPH_OP_CONV2D || t == GRAPH_OP_CONV2D_BWD_DATA || t == GRAPH_OP_CONV2D_BWD_WEIGHT;
}

static int is_gemm(graph_op_type t)
{
	return t == GRAPH_OP_MATMUL || t == GRAPH_OP_MATMUL_BWD_DATA || t == GRAPH_OP_MATMUL_BWD_WEIGHT;
}

static int is_pool(graph_op_type t)
{
	return t == GRAPH_OP_MAXPOOL || t == GRAPH_OP_AVGPOOL || t == GRAPH_OP_GLOBAL_AVGPOOL;
}

void oprow_geometry(const graph *g, const graph_op *op, oprow_geom *r)
{
#define X(name) r->name = OPROW_NA;
	OPROW_GEOMETRY(X)
#undef X
	const graph_tensor *in0 = op->n_in ? &g->tensors[op->in[0]] : NULL;
	const graph_tensor *out0 = op->n_out ? &g->tensors[op->out[0]] : NULL;
	if (is_gemm(op->type) && out0 && out0->rank >= 2) {
		uint64_t b = 1;
		for (uint32_t d = 0; d + 2 < out0->rank; d++)
			b *= out0->shape[d];
		r->batch = b;
		r->m = out0->shape[out0->rank - 2];
		r->n = out0->shape[out0->rank - 1];
		uint64_t bmn = b * r->m * r->n;
		r->k = bmn ? op->macs / bmn : OPROW_NA;
	}
	if ((is_conv(op->type) || is_pool(op->type)) && op->n_in >= 1 && out0) {
		/* forward geometry: x [N, C_in, H, W], y [N, C_out, H_out, W_out], w [C_out, ., KH, KW] */
		const graph_tensor *x = in0, *y = out0, *w = NULL;
		if (op->type == GRAPH_OP_CONV2D) {
			w = op->n_in > 1 ? &g->tensors[op->in[1]] : NULL;
		} else if (op->type == GRAPH_OP_CONV2D_BWD_DATA) {
			y = in0;
			w = op->n_in > 1 ? &g->tensors[op->in[1]] : NULL;
			x = out0;
		} else if (op->type == GRAPH_OP_CONV2D_BWD_WEIGHT) {
			y = op->n_in > 1 ? &g->tensors[op->in[1]] : NULL;
			w = out0;
		}
		if (x && y && x->rank == 4 && y->rank == 4) {
			r->batch = x->shape[0];
			r->c_in = x->shape[1];
			r->h = x->shape[2];
			r->w = x->shape[3];
			r->c_out = y->shape[1];
			r->h_out = y->shape[2];
			r->w_out = y->shape[3];
		}
		if (w && w->rank == 4) {
			r->kh = w->shape[2];
			r->kw = w->shape[3];
		} else if (op->type == GRAPH_OP_GLOBAL_AVGPOOL && x && x->rank == 4) {
			r->kh = x->shape[2];
			r->kw = x->shape[3];
		} else if (is_pool(op->type)) {
			r->kh = op->a.kernel[0];
			r->kw = op->a.kernel[1];
		}
		if (op->type != GRAPH_OP_GLOBAL_AVGPOOL) {
			r->stride_h = op->a.stride[0];
			r->stride_w = op->a.stride[1];
			r->pad_top = op->a.pad[0];
			r->pad_bottom = op->a.pad[1];
			r->pad_left = op->a.pad[2];
			r->pad_right = op->a.pad[3];
		}
		if (is_conv(op->type)) {
			r->dilation_h = op->a.dilation[0];
			r->dilation_w = op->a.dilation[1];
			r->groups = op->a.groups;
		}
	}
}

static void graph_features(oprow *r, const oprow_ctx *ctx, const graph_op *op)
{
	const graph *g = ctx->g;
	r->op_name = op->name;
	r->op_type = graph_op_names[op->type];
	graph_op_class cls = graph_op_class_of(op->type);
	r->op_class = class_names[cls];
	r->fused_activation = graph_act_names[op->a.activation];
	r->fusion_group = op->group >= 0 && (size_t)op->group < g->n_groups ? g->groups[op->group] : NULL;
	const graph_tensor *in0 = op->n_in ? &g->tensors[op->in[0]] : NULL;
	const graph_tensor *out0 = op->n_out ? &g->tensors[op->out[0]] : NULL;
	int dt = op->num.dtype >= 0 ? op->num.dtype : in0 ? (int)in0->dtype : -1;
	r->dtype = dt >= 0 && dt < ASIM_DT_COUNT ? asim_dtype_names[dt] : NULL;
	if (cls == GRAPH_CLASS_PE) {
		int acc = op->num.accum >= 0 ? op->num.accum : (int)ctx->c->num.accum;
		r->accum_dtype = acc < ASIM_DT_COUNT ? asim_dtype_names[acc] : NULL;
	}
	r->out_dtype = out0 ? asim_dtype_names[out0->dtype] : NULL;
	r->n_inputs = op->n_in;
	shapes_text(r->in_shapes_buf, sizeof r->in_shapes_buf, g, op->in, op->n_in);
	shapes_text(r->out_shapes_buf, sizeof r->out_shapes_buf, g, op->out, op->n_out);
	r->in_shapes = r->in_shapes_buf;
	r->out_shapes = r->out_shapes_buf;
	r->macs = op->macs;
	r->flops = op->flops;
	r->weight_bytes = r->activation_in_bytes = r->activation_out_bytes = r->elems_out = 0;
	for (uint32_t i = 0; i < op->n_in; i++) {
		const graph_tensor *t = &g->tensors[op->in[i]];
		if (t->kind == GRAPH_WEIGHT)
			r->weight_bytes += t->bytes;
		else
			r->activation_in_bytes += t->bytes;
	}
	for (uint32_t i = 0; i < op->n_out; i++) {
		r->activation_out_bytes += g->tensors[op->out[i]].bytes;
		r->elems_out += g->tensors[op->out[i]].elems;
	}
	oprow_geom geo;
	oprow_geometry(g, op, &geo);
#define X(name) r->name = geo.name;
	OPROW_GEOMETRY(X)
#undef X
	if ((op->type == GRAPH_OP_SOFTMAX || op->type == GRAPH_OP_LAYERNORM ||
	     op->type == GRAPH_OP_RMSNORM || op->type == GRAPH_OP_CONCAT) && out0 &&
	    op->a.axis >= 0 && (uint32_t)op->a.axis < out0->rank)
		r->axis_len = out0->shape[op->a.axis];
}

static double ns_of(const oprow_ctx *ctx, uint64_t ticks) { return isa_ticks_to_ns(&ctx->clk, ticks); }

void oprow_build(oprow *r, const oprow_ctx *ctx, uint32_t op, const oprow_acc *a)
{
	/* every column empty, then filled */
#define X(name, kind, unit, doc) oprow_clear_##kind(&r->name);
#define oprow_clear_S(p) (*(p) = NULL)
#define oprow_clear_U(p) (*(p) = OPROW_NA)
#define oprow_clear_F(p) (*(p) = NAN)
	OPROW_COLUMNS(X)
#undef X
#undef oprow_clear_S
#undef oprow_clear_U
#undef oprow_clear_F
	r->accelsim_version = ctx->version;
	r->chip = ctx->c->name;
	r->chip_hash = ctx->c->hash;
	r->graph = ctx->graph_name;
	r->graph_hash = ctx->graph_hash;
	r->op_index = op;
	if (ctx->g && op < ctx->g->n_ops) {
		graph_features(r, ctx, &ctx->g->ops[op]);
	} else {
		snprintf(r->name_buf, sizeof r->name_buf, "op %u", op);
		r->op_name = r->name_buf;
	}
	r->instructions = a->insts;
	r->exec_macs = a->macs;
	r->exec_flops = a->flops;
	if (a->insts) {
		r->start_ns = ns_of(ctx, a->start);
		r->end_ns = ns_of(ctx, a->end);
		r->latency_ns = ns_of(ctx, a->end - a->start);
		double tpc = ctx->clk.exact ? (double)ctx->clk.period[ISA_CLK_PE] : ctx->clk.period_f[ISA_CLK_PE];
		uint64_t span = a->end - a->start;
		r->latency_cycles = ctx->clk.exact ? (span + ctx->clk.period[ISA_CLK_PE] - 1) / ctx->clk.period[ISA_CLK_PE]
		                                   : (uint64_t)ceil((double)span / tpc - 1e-9);
	}
	r->pe_busy_ns = ns_of(ctx, a->busy[0]);
	r->act_busy_ns = ns_of(ctx, a->busy[1]);
	r->vec_busy_ns = ns_of(ctx, a->busy[2]);
	r->dma_busy_ns = ns_of(ctx, a->busy[3]);
	uint64_t st = 0, most = 0;
	r->stall_cause = "none";
	for (int k = 0; k < OPROW_STALL_COUNT; k++) {
		st += a->stall[k];
		if (a->stall[k] > most) {
			most = a->stall[k];
			r->stall_cause = oprow_stall_names[k];
		}
	}
	r->stall_ns = ns_of(ctx, st);
	r->stall_dma_ns = ns_of(ctx, a->stall[OPROW_STALL_DMA]);
	r->stall_engine_ns = ns_of(ctx, a->stall[OPROW_STALL_ENGINE]);
	r->stall_sbuf_space_ns = ns_of(ctx, a->stall[OPROW_STALL_SBUF_SPACE]);
	r->stall_psum_space_ns = ns_of(ctx, a->stall[OPROW_STALL_PSUM_SPACE]);
	r->sbuf_peak_bytes = a->sbuf_fp;
	r->psum_peak_bytes = a->psum_fp;
	r->hbm_read_bytes = a->rd[ISA_MEM_HBM];
	r->hbm_write_bytes = a->wr[ISA_MEM_HBM];
	r->sbuf_read_bytes = a->rd[ISA_MEM_SBUF];
	r->sbuf_write_bytes = a->wr[ISA_MEM_SBUF];
	r->psum_read_bytes = a->rd[ISA_MEM_PSUM];
	r->psum_write_bytes = a->wr[ISA_MEM_PSUM];
	double stat = a->insts ? energy_static_pj(ctx->c, (double)(a->end - a->start) / ctx->clk.tick_hz) : 0;
	r->energy_mac_pj = a->pj[ENERGY_MAC];
	r->energy_sbuf_pj = a->pj[ENERGY_SBUF];
	r->energy_psum_pj = a->pj[ENERGY_PSUM];
	r->energy_hbm_pj = a->pj[ENERGY_HBM];
	r->energy_static_pj = stat;
	r->energy_pj = a->pj[ENERGY_MAC] + a->pj[ENERGY_SBUF] + a->pj[ENERGY_PSUM] + a->pj[ENERGY_HBM] + stat;
}

/* ---- CSV ---------------------------------------------------------------------------------- */

void oprow_write_header(textfmt_buf *w)
{
	for (size_t i = 0; i < oprow_ncols; i++) {
		if (i)
			textfmt_putc(w, ',');
		textfmt_puts(w, oprow_col_names[i]);
	}
	textfmt_putc(w, '\n');
}

static void put_S(textfmt_buf *w, const char *s) { textfmt_csv_str(w, s); }
static void put_U(textfmt_buf *w, uint64_t v)
{
	if (v != OPROW_NA)
		textfmt_u64(w, v);
}
static void put_F(textfmt_buf *w, double v) { textfmt_f(w, v, 3); }

void oprow_write(textfmt_buf *w, const oprow *r)
{
	int first = 1;
#define X(name, kind, unit, doc) \
	if (!first)                \
		textfmt_putc(w, ',');  \
	first = 0;                 \
	put_##kind(w, r->name);
	OPROW_COLUMNS(X)
#undef X
	textfmt_putc(w, '\n');
}
