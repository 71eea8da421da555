/*
 * lower_vec.c -- ops on the vector and scalar/activation engines, and data movement:
 * elementwise (add, sub, mul with broadcasting; fused activation), activation ops, relu_backward,
 * SGD-momentum and Adam updates; softmax, layernorm, rmsnorm; max/avg/global pooling; transpose,
 * concat and embedding gather.
 *
 * Streaming elementwise view: every tensor is a flat array; a tile is `rows` ≤ partitions rows of
 * F contiguous elements (the last tile has fewer rows, plus a one-row tail):
 *
 *   HBM  [.... tile t: rows × F elements ....][ tile t+1 ...]
 *   SBUF partition p: [ F elements of row p ]   one buffer per operand, double-buffered
 *
 * Broadcasting add/sub/mul use a tiling aligned with the output's (collapsed) dims instead, so
 * that every operand element is addressed exactly: lower_bcast_op().
 *
 * Row-wise ops (softmax, norms) put rows on partitions and the normalised axis on the free axis;
 * a row that does not fit in SBUF (with its temporaries) is processed in chunks along the free
 * axis in two passes (statistics, then normalisation): rowwise_chunked().
 */
#include <math.h>
#include <string.h>

#include "isa/lower_int.h"

#define VEC_MAX_OPS 6              /* operands of one streamed op (adam: 4 in + 3 out) */

static uint64_t es_of(const lower_ctx *L, uint32_t t) { return asim_dtype_bytes(lower_T(L, t)->dtype); }
static asim_dtype dt_of(const lower_ctx *L, uint32_t t) { return lower_T(L, t)->dtype; }

/* one instruction dst = a <alu> b on the vector engine (b may be NULL for tensor_scalar) */
static void vec_tt(lower_ctx *L, isa_alu alu, const isa_ap *d, lower_buf *wd, int fresh,
                   const isa_ap *a, lower_buf *ba, const isa_ap *b, lower_buf *bb)
{
	isa_inst in = lower_inst(ISA_OP_TENSOR_TENSOR);
	in.func = (uint8_t)alu;
	in.dst = *d;
	in.src[0] = *a;
	in.src[1] = *b;
	lower_compute(L, LOWER_Q_VEC, &in, wd, fresh, ba, bb, NULL);
}

static void vec_ts(lower_ctx *L, isa_alu alu, float imm, const isa_ap *d, lower_buf *wd, int fresh,
                   const isa_ap *a, lower_buf *ba)
{
	isa_inst in = lower_inst(ISA_OP_TENSOR_SCALAR);
	in.func = (uint8_t)alu;
	in.scale = imm;
	in.dst = *d;
	in.src[0] = *a;
	lower_compute(L, LOWER_Q_VEC, &in, wd, fresh, ba, ba == wd ? NULL : NULL, NULL);
}

static void vec_ts_ox(lower_ctx *L, isa_alu alu, float imm, const isa_ap *d, lower_buf *wd,
                      const isa_ap *a, lower_buf *ba, const isa_oidx *ox)
{
	isa_inst in = lower_inst(ISA_OP_TENSOR_SCALAR);
	in.func = (uint8_t)alu;
	in.scale = imm;
	in.dst = *d;
	in.src[0] = *a;
	in.oidx = *ox;
	lower_compute(L, LOWER_Q_VEC, &in, wd, 1, ba, NULL, NULL);
}

static void act_op(lower_ctx *L, graph_act f, const isa_ap *d, lower_buf *wd, int fresh,
                   const isa_ap *a, lower_buf *ba)
{
	isa_inst in = lower_inst(ISA_OP_ACTIVATE);
	in.func = (uint8_t)f;
	in.dst = *d;
	in.src[0] = *a;
	lower_compute(L, LOWER_Q_ACT, &in, wd, fresh, ba, NULL, NULL);   /* in place: after its writers */
}

/* the final, rounding write of an op's output: fresh generation of wd, output indices `ox` */
static void vec_tt_ox(lower_ctx *L, isa_alu alu, const isa_ap *d, lower_buf *wd, const isa_ap *a,
                      lower_buf *ba, const isa_ap *b, lower_buf *bb, const isa_oidx *ox)
{
	isa_inst in = lower_inst(ISA_OP_TENSOR_TENSOR);
	in.func = (uint8_t)alu;
	in.dst = *d;
	in.src[0] = *a;
	in.src[1] = *b;
	in.oidx = *ox;
	lower_compute(L, LOWER_Q_VEC, &in, wd, 1, ba, bb, NULL);
}

static void act_op_ox(lower_ctx *L, graph_act f, const isa_ap *d, lower_buf *wd, const isa_ap *a,
                      lower_buf *ba, const isa_oidx *ox)
{
	isa_inst in = lower_inst(ISA_OP_ACTIVATE);
	in.func = (uint8_t)f;
	in.dst = *d;
	in.src[0] = *a;
	in.oidx = *ox;
	lower_compute(L, LOWER_Q_ACT, &in, wd, 1, ba, NULL, NULL);
}

static graph_act act_of_op(graph_op_type t)
{
	switch (t) {
	case GRAPH_OP_RELU: return GRAPH_ACT_RELU;
	case GRAPH_OP_RELU6: return GRAPH_ACT_RELU6;
	case GRAPH_OP_GELU: return GRAPH_ACT_GELU;
	case GRAPH_OP_SILU: return GRAPH_ACT_SILU;
	case GRAPH_OP_SIGMOID: return GRAPH_ACT_SIGMOID;
	case GRAPH_OP_TANH: return GRAPH_ACT_TANH;
	case GRAPH_OP_EXP: return GRAPH_ACT_EXP;
	default: return GRAPH_ACT_NONE;
	}
}

/* ---- broadcasting add / sub / mul: exact operand addressing ---------------------------------
 *
 * The output's dims are collapsed (size-1 dims dropped; neighbours merged where every operand is
 * contiguous across them or broadcast in both) into c[0..k], each operand with element strides
 * ts[o][d] (0 where it is broadcast). A tile is a 3-level view of that index space:
 *
 *   case A (innermost dim longer than a row):  partition p = chunk p of n0 elements of dim k
 *   case B (a row holds whole dim-k runs):     free (i < c[k], j < n1 of dim k-1); partitions =
 *                                              blocks of n1 along dim k-1, or, when n1 = c[k-1],
 *                                              one index of dim k-2 each
 *   case C (long dim k, many dim-(k-1) rows):  partition p = index p of dim k-1, free = a chunk
 *                                              of dim k (chunks outermost)
 *
 * so every operand's elements of a tile are ONE access pattern (pstride, s0, s1; zero strides
 * where it is broadcast): a broadcast operand is loaded compressed (only its distinct elements)
 * and read with stride 0, and is loaded once for the whole op when it does not vary across
 * tiles (bias vectors, masks, per-channel scales; case C: per chunk). The cases are compared by a
 * cost proxy
 * (tiles × 64 + elements per partition) and the cheaper is used.
 */
typedef struct bc_plan {
	uint32_t nd, k, pd, d1;        /* collapsed dims, innermost, partition dim, 2nd free dim */
	int has_d1;
	uint64_t c[GRAPH_MAX_RANK + 1];
	int64_t ts[GRAPH_MAX_IN + 1][GRAPH_MAX_RANK + 1];  /* operands, then the output (last) */
	uint64_t n0, n1, q;            /* free extents; pd elements per partition */
	uint64_t kc;                   /* case C: dim k in chunks of kc (pd = k − 1), else 0 */
} bc_plan;

/* tiles of a plan: outer index over dims < pd, then blocks of P rows along pd (+ one tail row) */
static uint64_t bc_cost(const bc_plan *b, uint32_t P)
{
	uint64_t outer = 1;
	for (uint32_t d = 0; d < b->pd; d++)
		outer *= b->c[d];
	uint64_t full = b->c[b->pd] / b->q, tail = b->c[b->pd] % b->q != 0;
	uint64_t nch = b->kc ? lower_ceil(b->c[b->k], b->kc) : 1;
	return nch * outer * ((lower_ceil(full, P) + tail) * 64 + (full ? lower_ceil(full, P) : 0) * b->n0 * b->n1
	                      + tail * b->n0 * b->n1);
}

static void bc_collapse(lower_ctx *L, const graph_op *op, bc_plan *b)
{
	const graph_tensor *Y = lower_T(L, op->out[0]);
	uint32_t nin = op->n_in, r = Y->rank;
	int64_t st[GRAPH_MAX_IN + 1][GRAPH_MAX_RANK];
	for (uint32_t o = 0; o <= nin; o++) {
		const graph_tensor *T = lower_T(L, o < nin ? op->in[o] : op->out[0]);
		int64_t m = 1;
		for (int d = (int)r - 1; d >= 0; d--) {
			int td = d - (int)(r - T->rank);
			uint64_t sz = td >= 0 ? T->shape[td] : 1;
			st[o][d] = sz == Y->shape[d] ? m : 0;
			m *= (int64_t)sz;
		}
	}
	b->nd = 0;
	for (uint32_t d = 0; d < r; d++) {
		if (Y->shape[d] == 1)
			continue;
		int merge = b->nd > 0;
		for (uint32_t o = 0; o <= nin && merge; o++)
			merge = st[o][d] * (int64_t)Y->shape[d] == b->ts[o][b->nd - 1]
			        || (st[o][d] == 0 && b->ts[o][b->nd - 1] == 0);
		if (merge) {
			b->c[b->nd - 1] *= Y->shape[d];
			for (uint32_t o = 0; o <= nin; o++)
				b->ts[o][b->nd - 1] = st[o][d];
			continue;
		}
		b->c[b->nd] = Y->shape[d];
		for (uint32_t o = 0; o <= nin; o++)
			b->ts[o][b->nd] = st[o][d];
		b->nd++;
	}
	if (b->nd == 0) {                  /* one element */
		b->nd = 1;
		b->c[0] = 1;
		for (uint32_t o = 0; o <= nin; o++)
			b->ts[o][0] = 0;
	}
	b->k = b->nd - 1;
}

static int lower_bcast_op(lower_ctx *L, const graph_op *op)
{
	uint32_t P = L->c->sbuf.partitions, nin = op->n_in;
	const graph_tensor *Y = lower_T(L, op->out[0]);
	uint64_t E = Y->elems, esy = es_of(L, op->out[0]);
	bc_plan b, a;
	memset(&b, 0, sizeof b);
	bc_collapse(L, op, &b);
	/* per element of a row: 2 slots per operand (broadcast ones use at most that), 2 fp32 temps */
	uint64_t per = 2 * esy + 8;
	for (uint32_t i = 0; i < nin; i++)
		per += 2 * es_of(L, op->in[i]);
	uint64_t Fb = lower_min(lower_budget(L) / per, 16384);
	if (Fb == 0)
		return lower_mapping_error(L, "no room in SBUF for one element per partition");
	uint32_t k = b.k;
	/* case A: chunks of dim k on partitions */
	a = b;
	a.n0 = lower_min(b.c[k], lower_min(Fb, lower_max(1, lower_ceil(E, P))));
	a.n1 = 1;
	a.pd = k;
	a.q = a.n0;
	/* case C: rows along dim k − 1, chunks of dim k */
	bc_plan cc = b;
	if (k >= 1) {
		cc.pd = k - 1;
		cc.q = 1;
		cc.n0 = cc.kc = lower_min(b.c[k], Fb);
		cc.n1 = 1;
		if (bc_cost(&cc, P) < bc_cost(&a, P))
			a = cc;
	}
	/* case B: whole dim-k runs in a row */
	if (b.c[k] <= Fb) {
		b.n0 = b.c[k];
		b.n1 = 1;
		if (k >= 1) {
			b.has_d1 = 1;
			b.d1 = k - 1;
			b.n1 = lower_min(b.c[k - 1], lower_min(lower_max(1, Fb / b.c[k]),
			                                       lower_max(1, lower_ceil(E, b.c[k] * P))));
		}
		if (k >= 1 && b.n1 < b.c[k - 1]) {
			b.pd = k - 1;
			b.q = b.n1;
		} else if (k >= 2) {
			b.pd = k - 2;
			b.q = 1;
		} else {                   /* the whole tensor in one row (k ≤ 1) */
			b.pd = 0;
			b.q = b.c[0];
		}
		if (bc_cost(&a, P) < bc_cost(&b, P))
			b = a;
	} else {
		b = a;
	}
	/* buffers: per operand its compressed row (m0 × m1 distinct elements), resident (one buffer,
	 * reloaded only when its elements change) when it does not vary across the tiles of one
	 * chunk (zero strides on every dim up to pd) */
	uint64_t m0[GRAPH_MAX_IN], m1[GRAPH_MAX_IN];
	int res[GRAPH_MAX_IN];
	lower_buf in_b[GRAPH_MAX_IN][2], out_b[2], t0;
	for (uint32_t i = 0; i < nin; i++) {
		m0[i] = b.ts[i][k] ? b.n0 : 1;
		m1[i] = b.has_d1 && b.ts[i][b.d1] ? b.n1 : 1;
		res[i] = 1;
		for (uint32_t d = 0; d <= b.pd; d++)
			if (b.ts[i][d] != 0)
				res[i] = 0;
		for (int s = 0; s < 2 - res[i]; s++)
			lower_sbuf_alloc(L, &in_b[i][s], m0[i] * m1[i] * es_of(L, op->in[i]));
	}
	for (int s = 0; s < 2; s++)
		lower_sbuf_alloc(L, &out_b[s], b.n0 * b.n1 * esy);
	lower_sbuf_alloc(L, &t0, b.n0 * b.n1 * 4);
	uint64_t outer = 1;
	for (uint32_t d = 0; d < b.pd; d++)
		outer *= b.c[d];
	uint64_t full = b.c[b.pd] / b.q, tail = b.c[b.pd] % b.q;
	int64_t loaded[GRAPH_MAX_IN];
	for (uint32_t i = 0; i < nin; i++)
		loaded[i] = -1;
	uint32_t slot = 0;
	for (uint64_t j0 = 0; j0 < b.c[k]; j0 += b.kc ? b.kc : b.c[k])
	for (uint64_t o = 0; o < outer; o++)
		for (uint64_t ti = 0; ti < lower_ceil(full, P) + (tail != 0); ti++, slot++) {
			/* this tile: rows × (n0 × n1), pd elements [s0·q, ...) of outer index o; the
			 * remainder of pd (tail < q elements) is a last one-row tile */
			int is_tail = ti >= lower_ceil(full, P);
			uint64_t s0 = is_tail ? full : ti * P;
			uint32_t rows = is_tail ? 1 : (uint32_t)lower_min(P, full - s0);
			uint64_t q = is_tail ? tail : b.q;
			uint64_t n0 = b.pd == k ? q : b.kc ? lower_min(b.kc, b.c[k] - j0) : b.n0;
			uint64_t n1 = b.has_d1 && b.pd == b.d1 ? q : b.n1;
			int64_t base[GRAPH_MAX_IN + 1];
			for (uint32_t t = 0; t <= nin; t++) {
				uint64_t idx = o;
				base[t] = (int64_t)(s0 * b.q) * b.ts[t][b.pd] + (int64_t)j0 * b.ts[t][k];
				for (int d = (int)b.pd - 1; d >= 0; d--) {
					base[t] += (int64_t)(idx % b.c[d]) * b.ts[t][d];
					idx /= b.c[d];
				}
			}
			isa_ap a_in[GRAPH_MAX_IN];
			lower_buf *b_in[GRAPH_MAX_IN];
			for (uint32_t i = 0; i < nin; i++) {
				uint32_t t = op->in[i];
				uint64_t e = es_of(L, t);
				int64_t s1b = b.has_d1 ? b.ts[i][b.d1] : 0;
				b_in[i] = &in_b[i][res[i] ? 0 : slot % 2];
				uint32_t l0 = (uint32_t)(b.ts[i][k] ? n0 : 1), l1 = (uint32_t)(s1b ? n1 : 1);
				a_in[i] = lower_ap_sbuf(dt_of(L, t), 0, rows, b_in[i]->off, (uint32_t)n0,
				                        b.ts[i][k] ? e : 0, (uint32_t)n1, s1b ? m0[i] * e : 0);
				if (res[i] && loaded[i] == base[i])
					continue;
				uint32_t lr = res[i] ? (uint32_t)lower_min(P, lower_max(full, 1)) : rows;
				isa_ap src = lower_ap_hbm(dt_of(L, t), L->hbm_addr[t] + (uint64_t)base[i] * e, lr,
				                          (uint64_t)(b.q * (uint64_t)b.ts[i][b.pd]) * e, l0,
				                          (uint64_t)b.ts[i][k] * e, l1, (uint64_t)s1b * e);
				isa_ap d = lower_ap_sbuf(dt_of(L, t), 0, lr, b_in[i]->off, l0, e, l1, m0[i] * e);
				lower_load(L, t, &d, &src, b_in[i], 1);
				loaded[i] = base[i];
			}
			lower_buf *bo = &out_b[slot % 2];
			isa_ap ao = lower_ap_sbuf(Y->dtype, 0, rows, bo->off, (uint32_t)n0, esy, (uint32_t)n1, n0 * esy);
			int64_t ok = b.ts[nin][k], o1 = b.has_d1 ? b.ts[nin][b.d1] : 0;
			int64_t op_ = (int64_t)b.q * b.ts[nin][b.pd];
			isa_oidx ox = lower_oidx(0, base[nin], op_, ok, o1);
			isa_alu alu = op->type == GRAPH_OP_ADD ? ISA_ALU_ADD : op->type == GRAPH_OP_SUB
			              ? ISA_ALU_SUB : ISA_ALU_MUL;
			if (op->a.activation == GRAPH_ACT_NONE) {
				vec_tt_ox(L, alu, &ao, bo, &a_in[0], b_in[0], &a_in[1], b_in[1], &ox);
			} else {
				isa_ap A0 = lower_ap_sbuf(ASIM_DT_FP32, 0, rows, t0.off, (uint32_t)n0, 4, (uint32_t)n1, n0 * 4);
				vec_tt(L, alu, &A0, &t0, 1, &a_in[0], b_in[0], &a_in[1], b_in[1]);
				act_op_ox(L, op->a.activation, &ao, bo, &A0, &t0, &ox);
			}
			isa_ap dst = lower_ap_hbm(Y->dtype, L->hbm_addr[op->out[0]] + (uint64_t)base[nin] * esy, rows,
			                          (uint64_t)op_ * esy, (uint32_t)n0, (uint64_t)ok * esy, (uint32_t)n1,
			                          (uint64_t)o1 * esy);
			lower_store(L, op->out[0], &dst, &ao, bo);
		}
	lower_release(L);
	return 0;
}

int lower_eltwise_op(lower_ctx *L, const graph_op *op)
{
	for (uint32_t i = 0; i < op->n_in; i++)
		if (lower_T(L, op->in[i])->elems < lower_T(L, op->out[0])->elems)
			return lower_bcast_op(L, op);
	uint32_t P = L->c->sbuf.partitions;
	uint32_t nin = op->n_in, nout = op->n_out;
	ASIM_ASSERT(nin + nout <= VEC_MAX_OPS + 1);
	const graph_tensor *Y = lower_T(L, op->out[0]);
	uint64_t E = Y->elems;
	uint64_t budget = lower_budget(L);
	/* per element of a row: 2 slots per operand, 2 fp32 temporaries */
	uint64_t per = 0;
	for (uint32_t i = 0; i < nin; i++)
		per += 2 * es_of(L, op->in[i]);
	for (uint32_t i = 0; i < nout; i++)
		per += 2 * es_of(L, op->out[i]);
	per += 8;
	uint64_t F = lower_min(budget / per, 16384);
	if (F == 0)
		return lower_mapping_error(L, "no room in SBUF for one element per partition");
	F = lower_min(F, lower_ceil(E, P));
	lower_buf in_b[GRAPH_MAX_IN][2], out_b[GRAPH_MAX_OUT][2], t0, t1;
	for (uint32_t i = 0; i < nin; i++)
		for (int s = 0; s < 2; s++)
			lower_sbuf_alloc(L, &in_b[i][s], F * es_of(L, op->in[i]));
	for (uint32_t i = 0; i < nout; i++)
		for (int s = 0; s < 2; s++)
			lower_sbuf_alloc(L, &out_b[i][s], F * es_of(L, op->out[i]));
	lower_sbuf_alloc(L, &t0, F * 4);
	lower_sbuf_alloc(L, &t1, F * 4);
	uint32_t slot = 0;
	for (uint64_t base = 0; base < E; slot++) {
		/* this piece: rows × f elements, starting at flat element `base` */
		uint64_t left = E - base, f = F, rows = lower_min(P, left / F);
		if (rows == 0) {
			rows = 1;
			f = left;
		}
		uint32_t s = slot % 2;
		isa_ap a_in[GRAPH_MAX_IN], a_out[GRAPH_MAX_OUT];
		lower_buf *b_in[GRAPH_MAX_IN], *b_out[GRAPH_MAX_OUT];
		for (uint32_t i = 0; i < nin; i++) {
			uint32_t t = op->in[i];
			const graph_tensor *T = lower_T(L, t);
			uint64_t e = es_of(L, t);
			b_in[i] = &in_b[i][s];
			a_in[i] = lower_ap_sbuf(T->dtype, 0, (uint32_t)rows, in_b[i][s].off, (uint32_t)f, e, 1, 0);
			isa_ap src = lower_ap_hbm(T->dtype, L->hbm_addr[t] + base * e, (uint32_t)rows, f * e,
			                          (uint32_t)f, e, 1, 0);
			lower_load(L, t, &a_in[i], &src, b_in[i], 1);
		}
		for (uint32_t i = 0; i < nout; i++) {
			b_out[i] = &out_b[i][s];
			a_out[i] = lower_ap_sbuf(dt_of(L, op->out[i]), 0, (uint32_t)rows, out_b[i][s].off,
			                         (uint32_t)f, es_of(L, op->out[i]), 1, 0);
		}
		isa_ap A0 = lower_ap_sbuf(ASIM_DT_FP32, 0, (uint32_t)rows, t0.off, (uint32_t)f, 4, 1, 0);
		isa_ap A1 = A0;
		A1.offset = t1.off;
		const graph_attrs *at = &op->a;
		/* output element (p, i) of this piece is flat element base + p·f + i */
		isa_oidx ox = lower_oidx(0, (int64_t)base, (int64_t)f, 1, 0);
		switch (op->type) {
		case GRAPH_OP_ADD: case GRAPH_OP_SUB: case GRAPH_OP_MUL: {
			isa_alu alu = op->type == GRAPH_OP_ADD ? ISA_ALU_ADD : op->type == GRAPH_OP_SUB
			              ? ISA_ALU_SUB : ISA_ALU_MUL;
			if (at->activation == GRAPH_ACT_NONE) {
				vec_tt_ox(L, alu, &a_out[0], b_out[0], &a_in[0], b_in[0], &a_in[1], b_in[1], &ox);
				break;
			}
			/* fused activation: the sum stays FP32 (t0), the activation rounds once */
			vec_tt(L, alu, &A0, &t0, 1, &a_in[0], b_in[0], &a_in[1], b_in[1]);
			act_op_ox(L, at->activation, &a_out[0], b_out[0], &A0, &t0, &ox);
			break;
		}
		case GRAPH_OP_RELU_BWD:    /* dX = dY · (Y > 0) */
			vec_ts(L, ISA_ALU_IS_GT, 0.0f, &A0, &t0, 1, &a_in[1], b_in[1]);
			vec_tt_ox(L, ISA_ALU_MUL, &a_out[0], b_out[0], &a_in[0], b_in[0], &A0, &t0, &ox);
			break;
		case GRAPH_OP_SGD_UPDATE:  /* FP32: m' = ((μ·m) + dW) + λ·W;  W' = W − lr·m' (stored m') */
			vec_ts(L, ISA_ALU_MUL, (float)at->momentum, &A0, &t0, 1, &a_in[2], b_in[2]);
			ox.out = 1;             /* the last step of m' rounds it, once */
			if (at->weight_decay != 0.0) {
				vec_tt(L, ISA_ALU_ADD, &A0, &t0, 0, &A0, &t0, &a_in[1], b_in[1]);
				vec_ts(L, ISA_ALU_MUL, (float)at->weight_decay, &A1, &t1, 1, &a_in[0], b_in[0]);
				vec_tt_ox(L, ISA_ALU_ADD, &a_out[1], b_out[1], &A0, &t0, &A1, &t1, &ox);
			} else {
				vec_tt_ox(L, ISA_ALU_ADD, &a_out[1], b_out[1], &A0, &t0, &a_in[1], b_in[1], &ox);
			}
			vec_ts(L, ISA_ALU_MUL, (float)at->lr, &A0, &t0, 1, &a_out[1], b_out[1]);
			ox.out = 0;
			vec_tt_ox(L, ISA_ALU_SUB, &a_out[0], b_out[0], &a_in[0], b_in[0], &A0, &t0, &ox);
			break;
		case GRAPH_OP_ADAM_UPDATE: /* FP32: m' = (β1·m) + ((1−β1)·g); v' = (β2·v) + ((1−β2)·(g·g));
		                              u = m' / (v'^½ + ε) [+ λ·W];  W' = W − lr·u, from the
		                              stored (rounded) m', v'; bias correction folded into lr */
			vec_ts(L, ISA_ALU_MUL, (float)(1.0 - at->beta1), &A0, &t0, 1, &a_in[1], b_in[1]);
			vec_ts(L, ISA_ALU_MUL, (float)at->beta1, &A1, &t1, 1, &a_in[2], b_in[2]);
			ox.out = 1;
			vec_tt_ox(L, ISA_ALU_ADD, &a_out[1], b_out[1], &A1, &t1, &A0, &t0, &ox);
			vec_tt(L, ISA_ALU_MUL, &A0, &t0, 1, &a_in[1], b_in[1], &a_in[1], b_in[1]);
			vec_ts(L, ISA_ALU_MUL, (float)(1.0 - at->beta2), &A0, &t0, 0, &A0, &t0);
			vec_ts(L, ISA_ALU_MUL, (float)at->beta2, &A1, &t1, 1, &a_in[3], b_in[3]);
			ox.out = 2;
			vec_tt_ox(L, ISA_ALU_ADD, &a_out[2], b_out[2], &A1, &t1, &A0, &t0, &ox);
			vec_ts(L, ISA_ALU_POW, 0.5f, &A1, &t1, 1, &a_out[2], b_out[2]);
			vec_ts(L, ISA_ALU_ADD, (float)at->epsilon, &A1, &t1, 0, &A1, &t1);
			vec_tt(L, ISA_ALU_DIV, &A1, &t1, 0, &a_out[1], b_out[1], &A1, &t1);
			if (at->weight_decay != 0.0) {
				vec_ts(L, ISA_ALU_MUL, (float)at->weight_decay, &A0, &t0, 1, &a_in[0], b_in[0]);
				vec_tt(L, ISA_ALU_ADD, &A1, &t1, 0, &A1, &t1, &A0, &t0);
			}
			vec_ts(L, ISA_ALU_MUL, (float)at->lr, &A1, &t1, 0, &A1, &t1);
			ox.out = 0;
			vec_tt_ox(L, ISA_ALU_SUB, &a_out[0], b_out[0], &a_in[0], b_in[0], &A1, &t1, &ox);
			break;
		default:                   /* activation ops on the ACT engine */
			act_op_ox(L, act_of_op(op->type), &a_out[0], b_out[0], &a_in[0], b_in[0], &ox);
			break;
		}
		for (uint32_t i = 0; i < nout; i++) {
			isa_ap dst = lower_ap_hbm(dt_of(L, op->out[i]), L->hbm_addr[op->out[i]] + base * es_of(L, op->out[i]),
			                          (uint32_t)rows, f * es_of(L, op->out[i]), (uint32_t)f,
			                          es_of(L, op->out[i]), 1, 0);
			lower_store(L, op->out[i], &dst, &a_out[i], b_out[i]);
		}
		base += rows * f;
	}
	lower_release(L);       /* before the buffers (locals) go out of scope */
	return 0;
}

/* ---- softmax, layernorm, rmsnorm: rows on partitions, the axis on the free dimension ---- */

/*
 * ONE formula per op, whatever the tiling (docs/functional.md §3), all in FP32, the output
 * rounded once by the write that produces it (output indices on it):
 *
 *   softmax    m = max x;  e = exp(x − m);  s = Σ e;  y = e / s
 *   layernorm  mean = Σx · fl(1/L);  d = x − mean;  var = Σ d·d · fl(1/L);
 *              rstd = (var + ε)^−½;  y = ((d · rstd) · γ) + β
 *   rmsnorm    rstd = (Σ x·x · fl(1/L) + ε)^−½;  y = (x · rstd) · γ
 *
 * Sums are running sums from +0 in ascending index (tensor_reduce add, continued with `acc` over
 * the chunks of a row), the max a running max. The row is streamed in passes, one per
 * statistic, then the output pass (softmax and layernorm 3, rmsnorm 2). When the row fits in
 * SBUF (one chunk: Fc = L) it is loaded once and the passes reuse it (γ/β loaded once for the
 * op); otherwise each pass reloads the row chunk by chunk (x read 3 resp. 2 times from HBM),
 * and the results are the same bits: the chunks only split the running reductions.
 *
 * Statistics per row (partition), FP32: slot 0 m / mean, slot 1 s / rstd.
 */
int lower_rowwise_op(lower_ctx *L, const graph_op *op)
{
	uint32_t P = L->c->sbuf.partitions;
	uint32_t tx = op->in[0], ty = op->out[0];
	const graph_tensor *X = lower_T(L, tx);
	int sm = op->type == GRAPH_OP_SOFTMAX, ln = op->type == GRAPH_OP_LAYERNORM;
	/* softmax: one axis (rows = outer × inner); norms: the dims from `axis` to the last, flat */
	uint32_t ax = X->rank && (uint32_t)op->a.axis < X->rank ? (uint32_t)op->a.axis : 0;
	uint64_t Lx = 1, inner = 1;
	for (uint32_t d = ax; d < X->rank; d++)
		*(sm && d > ax ? &inner : &Lx) *= X->shape[d];
	uint64_t R = X->elems / lower_max(Lx, 1), esx = es_of(L, tx), esy = es_of(L, ty);
	int has_g = op->n_in > 1, has_b = op->n_in > 2;
	/* per partition and element: x and y double-buffered, the FP32 temporary, γ and β */
	uint64_t per = 2 * esx + 2 * esy + 4 + 2 * 4, budget = lower_budget(L), Fc = Lx;
	if (Lx * per + 64 > budget) {
		if (budget <= 256 + L->chunk * 8 || (budget - 256 - L->chunk * 8) / per == 0)
			return lower_mapping_error(L, "no room in SBUF for one chunk of a row along axis %u", ax);
		Fc = lower_min(Lx, (budget - 256 - L->chunk * 8) / per);
	}
	int one = Fc == Lx;
	lower_buf xb[2], yb[2], tb, gb, bb, st;
	for (int i = 0; i < 2; i++) {
		lower_sbuf_alloc(L, &xb[i], Fc * esx);
		lower_sbuf_alloc(L, &yb[i], Fc * esy);
	}
	lower_sbuf_alloc(L, &tb, Fc * 4);
	lower_sbuf_alloc(L, &gb, Fc * 4);
	lower_sbuf_alloc(L, &bb, Fc * 4);
	lower_sbuf_alloc(L, &st, 64);
	uint32_t rp = (uint32_t)lower_min(P, R);
	float inv = (float)(1.0 / (double)Lx);
	int npass = sm || ln ? 3 : 2;
	/* γ, β (the last dims of x, flat) broadcast to every partition (pstride 0) */
#define GB_AP(k, rn, j0, jn, hbm) ((hbm)                                                       \
	? lower_ap_hbm(dt_of(L, op->in[1 + (k)]), L->hbm_addr[op->in[1 + (k)]] + (j0) * es_of(L, op->in[1 + (k)]), \
	               rn, 0, jn, es_of(L, op->in[1 + (k)]), 1, 0)                               \
	: lower_ap_sbuf(dt_of(L, op->in[1 + (k)]), 0, rn, ((k) ? bb : gb).off, jn, es_of(L, op->in[1 + (k)]), 1, 0))
	for (int k = 0; one && k < has_g + has_b; k++) {
		isa_ap s = GB_AP(k, rp, 0, (uint32_t)Lx, 1), d = GB_AP(k, rp, 0, (uint32_t)Lx, 0);
		lower_load(L, op->in[1 + k], &d, &s, k ? &bb : &gb, 1);
	}
	uint32_t xs = 0, ys = 0;       /* x and y buffers, used alternately */
	int st_fresh = 1;              /* the op's first write of the stats waits for their past */
	for (uint64_t r0 = 0; r0 < R; r0 += rp) {
		uint32_t rn = (uint32_t)lower_min(rp, R - r0);
		/* row r = (outer o, inner i): element j at ((o·Lx + j)·inner + i) */
		uint64_t o = r0 / inner, i0 = r0 % inner;
		if (inner > 1 && i0 + rn > inner)   /* keep tiles inside one outer index */
			rn = (uint32_t)(inner - i0);
		isa_ap S[2];
		for (int k = 0; k < 2; k++)
			S[k] = lower_ap_sbuf(ASIM_DT_FP32, 0, rn, st.off + 4 * (uint64_t)k, 1, 4, 1, 0);
		lower_buf *x = &xb[0];
		for (int pass = 0; pass < npass; pass++)
			for (uint64_t j0 = 0; j0 < Lx; j0 += Fc) {
				uint32_t jn = (uint32_t)lower_min(Fc, Lx - j0);
				int first = j0 == 0, last = j0 + jn == Lx, fin = pass == npass - 1;
				isa_ap SB[2];          /* the statistics broadcast along the chunk */
				for (int k = 0; k < 2; k++)
					SB[k] = lower_ap_sbuf(ASIM_DT_FP32, 0, rn, st.off + 4 * (uint64_t)k, jn, 0, 1, 0);
				uint64_t hx = inner == 1 ? r0 * Lx + j0 : (o * Lx + j0) * inner + i0;
				if (!one || pass == 0) {
					x = &xb[xs++ % 2];
					isa_ap src = lower_ap_hbm(X->dtype, L->hbm_addr[tx] + hx * esx, rn,
					                          inner == 1 ? Lx * esx : esx, jn,
					                          inner == 1 ? esx : inner * esx, 1, 0);
					isa_ap xd = lower_ap_sbuf(X->dtype, 0, rn, x->off, jn, esx, 1, 0);
					lower_load(L, tx, &xd, &src, x, 1);
				}
				isa_ap xa = lower_ap_sbuf(X->dtype, 0, rn, x->off, jn, esx, 1, 0);
				isa_ap ta = lower_ap_sbuf(ASIM_DT_FP32, 0, rn, tb.off, jn, 4, 1, 0);
				isa_inst red = lower_inst(ISA_OP_TENSOR_REDUCE);
				red.func = ISA_ALU_ADD;
				red.flags = first ? 0 : ISA_F_ACCUMULATE;
				if (!fin) {            /* a statistics pass */
					int k = sm || ln ? pass : 1, rx = k == 0;   /* the reduction reads x */
					red.dst = S[k];
					red.src[0] = rx ? xa : ta;
					if (sm && pass == 0)                   /* m = max x (ln pass 0: Σx) */
						red.func = ISA_ALU_MAX;
					if (pass == 1) {                       /* s = Σ exp(x − m); Σ (x − mean)² */
						vec_tt(L, ISA_ALU_SUB, &ta, &tb, 1, &xa, x, &SB[0], &st);
						if (sm)
							act_op(L, GRAPH_ACT_EXP, &ta, &tb, 0, &ta, &tb);
						else
							vec_tt(L, ISA_ALU_MUL, &ta, &tb, 0, &ta, &tb, &ta, &tb);
					} else if (!rx) {                      /* rmsnorm: Σ x² */
						vec_tt(L, ISA_ALU_MUL, &ta, &tb, 1, &xa, x, &xa, x);
					}
					lower_compute(L, LOWER_Q_VEC, &red, &st, st_fresh, rx ? x : &tb, NULL, NULL);
					st_fresh = 0;
					if (last && ln && pass == 0)           /* mean */
						vec_ts(L, ISA_ALU_MUL, inv, &S[0], &st, 0, &S[0], &st);
					if (last && !sm && k == 1) {           /* rstd */
						vec_ts(L, ISA_ALU_MUL, inv, &S[1], &st, 0, &S[1], &st);
						vec_ts(L, ISA_ALU_ADD, (float)op->a.epsilon, &S[1], &st, 0, &S[1], &st);
						vec_ts(L, ISA_ALU_POW, -0.5f, &S[1], &st, 0, &S[1], &st);
					}
					continue;
				}
				/* the output pass: the chunk's results, rounded once by the last write */
				lower_buf *y = &yb[ys++ % 2];
				isa_ap ya = lower_ap_sbuf(dt_of(L, ty), 0, rn, y->off, jn, esy, 1, 0);
				isa_oidx ox = inner == 1 ? lower_oidx(0, (int64_t)hx, (int64_t)Lx, 1, 0)
				                         : lower_oidx(0, (int64_t)hx, 1, (int64_t)inner, 0);
				if (sm) {
					if (!one) {                            /* e again (the same bits) */
						vec_tt(L, ISA_ALU_SUB, &ta, &tb, 1, &xa, x, &SB[0], &st);
						act_op(L, GRAPH_ACT_EXP, &ta, &tb, 0, &ta, &tb);
					}
					vec_tt_ox(L, ISA_ALU_DIV, &ya, y, &ta, &tb, &SB[1], &st, &ox);
				} else {
					if (ln)                                /* d again (ta holds d² or older) */
						vec_tt(L, ISA_ALU_SUB, &ta, &tb, 1, &xa, x, &SB[0], &st);
					int nk = has_g + has_b;
					const isa_ap *a0 = ln ? &ta : &xa;
					lower_buf *b0 = ln ? &tb : x;
					if (nk == 0)
						vec_tt_ox(L, ISA_ALU_MUL, &ya, y, a0, b0, &SB[1], &st, &ox);
					else
						vec_tt(L, ISA_ALU_MUL, &ta, &tb, !ln, a0, b0, &SB[1], &st);
					for (int k = 0; k < nk; k++) {
						lower_buf *gbuf = k ? &bb : &gb;
						isa_ap ga = GB_AP(k, rn, j0, jn, 0);
						if (!one) {
							isa_ap gs = GB_AP(k, rn, j0, jn, 1);
							lower_load(L, op->in[1 + k], &ga, &gs, gbuf, 1);
						}
						isa_alu alu = k ? ISA_ALU_ADD : ISA_ALU_MUL;
						if (k == nk - 1)
							vec_tt_ox(L, alu, &ya, y, &ta, &tb, &ga, gbuf, &ox);
						else
							vec_tt(L, alu, &ta, &tb, 0, &ta, &tb, &ga, gbuf);
					}
				}
				isa_ap dst = lower_ap_hbm(dt_of(L, ty), L->hbm_addr[ty] + hx * esy, rn,
				                          inner == 1 ? Lx * esy : esy, jn,
				                          inner == 1 ? esy : inner * esy, 1, 0);
				lower_store(L, ty, &dst, &ya, y);
			}
		if (inner > 1 && rn < rp)
			r0 -= rp - rn;            /* the loop adds rp: continue right after this tile */
	}
#undef GB_AP
	lower_release(L);
	return 0;
}

/* ---- pooling: channels on partitions (rows = N·C planes), taps combined on the vector engine */

int lower_pool_op(lower_ctx *L, const graph_op *op)
{
	uint32_t P = L->c->sbuf.partitions;
	uint32_t tx = op->in[0], ty = op->out[0];
	const graph_tensor *X = lower_T(L, tx), *Y = lower_T(L, ty);
	if (X->rank != 4)
		return lower_mapping_error(L, "pooling needs an NCHW input");
	uint64_t planes = X->shape[0] * X->shape[1], H = X->shape[2], W = X->shape[3];
	uint64_t esx = es_of(L, tx), esy = es_of(L, ty);
	uint64_t budget = lower_budget(L);
	if (op->type == GRAPH_OP_GLOBAL_AVGPOOL) {
		/* plane on a partition: reduce along H·W in pieces that fit */
		uint64_t f = lower_min(H * W, lower_max(1, (budget - 64) / (2 * esx + 8)));
		lower_buf xb[2], acc, ob;
		for (int i = 0; i < 2; i++)
			lower_sbuf_alloc(L, &xb[i], f * esx);
		lower_sbuf_alloc(L, &acc, 8);
		lower_sbuf_alloc(L, &ob, 8);
		uint32_t slot = 0;
		for (uint64_t p0 = 0; p0 < planes; p0 += P) {
			uint32_t pn = (uint32_t)lower_min(P, planes - p0);
			isa_ap a = lower_ap_sbuf(ASIM_DT_FP32, 0, pn, acc.off, 1, 4, 1, 0);
			for (uint64_t e0 = 0; e0 < H * W; e0 += f, slot++) {
				uint32_t en = (uint32_t)lower_min(f, H * W - e0);
				lower_buf *x = &xb[slot % 2];
				isa_ap s = lower_ap_hbm(X->dtype, L->hbm_addr[tx] + (p0 * H * W + e0) * esx, pn, H * W * esx, en, esx, 1, 0);
				isa_ap d = lower_ap_sbuf(X->dtype, 0, pn, x->off, en, esx, 1, 0);
				lower_load(L, tx, &d, &s, x, 1);
				isa_inst red = lower_inst(ISA_OP_TENSOR_REDUCE);
				red.func = ISA_ALU_ADD;
				red.dst = a;
				red.src[0] = d;
				if (e0 > 0)            /* later pieces continue the running sum in acc */
					red.flags = ISA_F_ACCUMULATE;
				lower_compute(L, LOWER_Q_VEC, &red, &acc, e0 == 0, x, NULL, NULL);
			}
			isa_ap o = lower_ap_sbuf(Y->dtype, 0, pn, ob.off, 1, esy, 1, 0);
			isa_oidx ox = lower_oidx(0, (int64_t)p0, 1, 0, 0);
			vec_ts_ox(L, ISA_ALU_MUL, (float)(1.0 / (double)(H * W)), &o, &ob, &a, &acc, &ox);
			isa_ap dst = lower_ap_hbm(Y->dtype, L->hbm_addr[ty] + p0 * esy, pn, esy, 1, esy, 1, 0);
			lower_store(L, ty, &dst, &o, &ob);
		}
		lower_release(L);
		return 0;
	}
	uint64_t KH = op->a.kernel[0] ? op->a.kernel[0] : 1, KW = op->a.kernel[1] ? op->a.kernel[1] : 1;
	uint64_t sh = op->a.stride[0] ? op->a.stride[0] : 1, sw = op->a.stride[1] ? op->a.stride[1] : 1;
	uint64_t OH = Y->shape[2], OW = Y->shape[3], pt = op->a.pad[0], pl = op->a.pad[2];
	/* output chunk rn × OW-columns cn; band rows × cols of input */
	uint64_t cn = OW, rn = OH;
	for (;;) {
		uint64_t br = (rn - 1) * sh + KH, bc = (cn - 1) * sw + KW;
		if (2 * br * bc * esx + rn * cn * (4 + 2 * esy) <= budget)
			break;
		if (rn > 1)
			rn = (rn + 1) / 2;
		else if (cn > 1)
			cn = (cn + 1) / 2;
		else
			return lower_mapping_error(L, "a %llux%llu pooling window does not fit in SBUF",
			                           (unsigned long long)KH, (unsigned long long)KW);
	}
	uint64_t br0 = (rn - 1) * sh + KH, bc0 = (cn - 1) * sw + KW;
	lower_buf band[2], acc, ob[2];
	for (int i = 0; i < 2; i++) {
		lower_sbuf_alloc(L, &band[i], br0 * bc0 * esx);
		lower_sbuf_alloc(L, &ob[i], rn * cn * esy);
	}
	lower_sbuf_alloc(L, &acc, rn * cn * 4);
	int mx = op->type == GRAPH_OP_MAXPOOL;
	uint32_t slot = 0;
	for (uint64_t p0 = 0; p0 < planes; p0 += P)
		for (uint64_t r0 = 0; r0 < OH; r0 += rn)
			for (uint64_t c0 = 0; c0 < OW; c0 += cn, slot++) {
				uint32_t pn = (uint32_t)lower_min(P, planes - p0);
				uint64_t rr = lower_min(rn, OH - r0), cc = lower_min(cn, OW - c0);
				int64_t y0 = (int64_t)(r0 * sh) - (int64_t)pt, x0 = (int64_t)(c0 * sw) - (int64_t)pl;
				uint64_t brow = (rr - 1) * sh + KH, bcol = (cc - 1) * sw + KW;
				int64_t vy0 = y0 < 0 ? 0 : y0, vx0 = x0 < 0 ? 0 : x0;
				int64_t vy1 = lower_min((uint64_t)(y0 + (int64_t)brow), H), vx1 = lower_min((uint64_t)(x0 + (int64_t)bcol), W);
				lower_buf *b = &band[slot % 2];
				isa_ap full = lower_ap_sbuf(X->dtype, 0, pn, b->off, (uint32_t)(brow * bcol), esx, 1, 0);
				int fresh = 1;
				if (vy0 != y0 || vx0 != x0 || vy1 - y0 != (int64_t)brow || vx1 - x0 != (int64_t)bcol) {
					/* padding (a memset): the lowest value of the dtype for max (−inf; −448 in
					 * fp8_e4m3, which has no inf), +0 for average (the count includes padding) */
					float lo = X->dtype == ASIM_DT_FP8_E4M3 ? -448.0f : -INFINITY;
					vec_ts(L, ISA_ALU_SET, mx ? lo : 0.0f, &full, b, 1, &full, b);
					fresh = 0;
				}
				if (vy1 > vy0 && vx1 > vx0) {
					isa_ap s = lower_ap_hbm(X->dtype, L->hbm_addr[tx] + ((p0 * H + (uint64_t)vy0) * W + (uint64_t)vx0) * esx,
					                        pn, H * W * esx, (uint32_t)(vx1 - vx0), esx, (uint32_t)(vy1 - vy0), W * esx);
					isa_ap d = lower_ap_sbuf(X->dtype, 0, pn, b->off + ((uint64_t)(vy0 - y0) * bcol + (uint64_t)(vx0 - x0)) * esx,
					                         (uint32_t)(vx1 - vx0), esx, (uint32_t)(vy1 - vy0), bcol * esx);
					lower_load(L, tx, &d, &s, b, fresh);
				}
				isa_ap a = lower_ap_sbuf(ASIM_DT_FP32, 0, pn, acc.off, (uint32_t)cc, 4, (uint32_t)rr, cc * 4);
				for (uint64_t kh = 0; kh < KH; kh++)
					for (uint64_t kw = 0; kw < KW; kw++) {
						isa_ap w = lower_ap_sbuf(X->dtype, 0, pn, b->off + (kh * bcol + kw) * esx,
						                         (uint32_t)cc, sw * esx, (uint32_t)rr, sh * bcol * esx);
						if (kh == 0 && kw == 0)
							vec_ts(L, ISA_ALU_BYPASS, 0.0f, &a, &acc, 1, &w, b);
						else
							vec_tt(L, mx ? ISA_ALU_MAX : ISA_ALU_ADD, &a, &acc, 0, &a, &acc, &w, b);
					}
				lower_buf *o = &ob[slot % 2];
				isa_ap oa = lower_ap_sbuf(Y->dtype, 0, pn, o->off, (uint32_t)cc, esy, (uint32_t)rr, cc * esy);
				isa_oidx ox = lower_oidx(0, (int64_t)((p0 * OH + r0) * OW + c0), (int64_t)(OH * OW), 1, (int64_t)OW);
				vec_ts_ox(L, ISA_ALU_MUL, mx ? 1.0f : (float)(1.0 / (double)(KH * KW)), &oa, o, &a, &acc, &ox);
				isa_ap dst = lower_ap_hbm(Y->dtype, L->hbm_addr[ty] + ((p0 * OH + r0) * OW + c0) * esy, pn,
				                          OH * OW * esy, (uint32_t)cc, esy, (uint32_t)rr, OW * esy);
				lower_store(L, ty, &dst, &oa, o);
			}
	lower_release(L);
	return 0;
}

/* ---- data movement ------------------------------------------------------------------------ */

/* stream `rows` rows of `run` elements from src (row stride sps bytes, element stride ses)
 * through SBUF to dst (row stride dps, contiguous): the workhorse of concat and transpose */
static void mv_rows(lower_ctx *L, uint32_t ts, uint64_t saddr, uint64_t sps, uint64_t ses,
                    uint32_t td, uint64_t daddr, uint64_t dps, uint64_t rows, uint64_t run,
                    lower_buf buf[2], uint64_t fmax, uint32_t *slot)
{
	uint32_t P = L->c->sbuf.partitions;
	asim_dtype dt = dt_of(L, ts);
	uint64_t es = asim_dtype_bytes(dt);
	for (uint64_t r0 = 0; r0 < rows; r0 += P)
		for (uint64_t f0 = 0; f0 < run; f0 += fmax) {
			uint32_t rn = (uint32_t)lower_min(P, rows - r0), fn = (uint32_t)lower_min(fmax, run - f0);
			lower_buf *b = &buf[(*slot)++ % 2];
			isa_ap s = lower_ap_hbm(dt, saddr + r0 * sps + f0 * ses, rn, sps, fn, ses, 1, 0);
			isa_ap d = lower_ap_sbuf(dt, 0, rn, b->off, fn, es, 1, 0);
			lower_load(L, ts, &d, &s, b, 1);
			isa_ap o = lower_ap_hbm(dt, daddr + r0 * dps + f0 * es, rn, dps, fn, es, 1, 0);
			lower_store(L, td, &o, &d, b);
		}
}

int lower_move_op(lower_ctx *L, const graph_op *op)
{
	uint32_t P = L->c->sbuf.partitions;
	uint32_t ty = op->out[0];
	const graph_tensor *Y = lower_T(L, ty);
	uint64_t es = es_of(L, ty), budget = lower_budget(L);
	uint64_t fmax = lower_max(1, lower_min(budget / (2 * es), 16384));
	lower_buf buf[2];
	uint32_t slot = 0;
	if (op->type == GRAPH_OP_CONCAT) {
		for (int i = 0; i < 2; i++)
			lower_sbuf_alloc(L, &buf[i], fmax * es);
		uint32_t ax = (uint32_t)op->a.axis;
		uint64_t outer = 1, inner = 1;
		for (uint32_t d = 0; d < ax; d++)
			outer *= Y->shape[d];
		for (uint32_t d = ax + 1; d < Y->rank; d++)
			inner *= Y->shape[d];
		uint64_t orow = Y->shape[ax] * inner, at = 0;
		for (uint32_t i = 0; i < op->n_in; i++) {
			const graph_tensor *T = lower_T(L, op->in[i]);
			uint64_t run = T->shape[ax] * inner;
			mv_rows(L, op->in[i], L->hbm_addr[op->in[i]], run * es, es, ty,
			        L->hbm_addr[ty] + at * es, orow * es, outer, run, buf, fmax, &slot);
			at += run;
		}
		lower_release(L);
		return 0;
	}
	if (op->type == GRAPH_OP_EMBEDDING) {
		/* Indices r = p·f + c (f = ⌈nidx/P⌉ per partition, loaded contiguously); gather c reads
		 * column c of the indices: destination partition p receives table row idx[p·f + c]
		 * (one DMA descriptor per row, ISA_F_GATHER: src row p at table + idx[p]·row bytes),
		 * and the rows are stored to output rows p·f + c. */
		uint32_t tt = op->in[0], ti = op->in[1];
		const graph_tensor *T = lower_T(L, tt), *I = lower_T(L, ti);
		uint64_t D = T->shape[T->rank - 1], nidx = I->elems, esi = es_of(L, ti);
		uint64_t dn = lower_min(D, fmax);
		uint64_t f = lower_ceil(nidx, P), full = nidx / f, rem = nidx - full * f;
		lower_buf ib;
		lower_sbuf_alloc(L, &ib, f * esi);
		for (int i = 0; i < 2; i++)
			lower_sbuf_alloc(L, &buf[i], dn * es);
		isa_ap s = lower_ap_hbm(I->dtype, L->hbm_addr[ti], (uint32_t)full, f * esi, (uint32_t)f, esi, 1, 0);
		isa_ap d = lower_ap_sbuf(I->dtype, 0, (uint32_t)full, ib.off, (uint32_t)f, esi, 1, 0);
		lower_load(L, ti, &d, &s, &ib, 1);
		if (rem) {   /* the last, partly filled partition */
			s = lower_ap_hbm(I->dtype, L->hbm_addr[ti] + full * f * esi, 1, rem * esi, (uint32_t)rem, esi, 1, 0);
			d = lower_ap_sbuf(I->dtype, (uint32_t)full, 1, ib.off, (uint32_t)rem, esi, 1, 0);
			lower_load(L, ti, &d, &s, &ib, 0);
		}
		for (uint64_t c = 0; c < f; c++)
			for (uint64_t d0 = 0; d0 < D; d0 += dn) {
				uint32_t rn = (uint32_t)(full + (c < rem)), n = (uint32_t)lower_min(dn, D - d0);
				lower_buf *b = &buf[slot++ % 2];
				isa_inst g = lower_inst(ISA_OP_DMA_COPY);
				g.flags = ISA_F_GATHER;
				g.src[0] = lower_ap_hbm(T->dtype, L->hbm_addr[tt] + d0 * es, rn, D * es, n, es, 1, 0);
				g.src[1] = lower_ap_sbuf(I->dtype, 0, rn, ib.off + c * esi, 1, esi, 1, 0);
				g.dst = lower_ap_sbuf(T->dtype, 0, rn, b->off, n, es, 1, 0);
				lower_dep dep = lower_buf_fill(b);
				lower_dep_merge(&dep, &ib.wr);
				lower_dep_merge(&dep, &L->tdep[tt]);
				lower_dep tok = lower_nodep;
				lower_exec(L, LOWER_Q_DMA + L->rr_load++ % L->nload, &g, &dep, &tok);
				lower_buf_wrote(b, &tok);
				lower_buf_read(&ib, &tok);
				isa_ap o = lower_ap_hbm(T->dtype, L->hbm_addr[ty] + (c * D + d0) * es, rn, f * D * es, n, es, 1, 0);
				lower_store(L, ty, &o, &g.dst, b);
			}
		lower_release(L);
		return 0;
	}
	/* transpose by `perm` */
	uint32_t tx = op->in[0];
	const graph_tensor *X = lower_T(L, tx);
	uint32_t r = X->rank;
	uint64_t xs[GRAPH_MAX_RANK];
	for (int d = (int)r - 1, m = 1; d >= 0; d--) {
		xs[d] = (uint64_t)m;
		m *= (int)X->shape[d];
	}
	int swap_last2 = r >= 2 && op->a.perm[r - 1] == r - 2 && op->a.perm[r - 2] == r - 1;
	for (uint32_t d = 0; d + 2 < r; d++)
		if (op->a.perm[d] != d)
			swap_last2 = 0;
	if (swap_last2) {
		/* [.., R, C] → [.., C, R] in 128×128 blocks: load rows, VEC transpose, store rows */
		uint64_t R = X->shape[r - 2], C = X->shape[r - 1], B = X->elems / lower_max(R * C, 1);
		uint32_t blk = P < 128 ? P : 128;
		lower_buf ob[2];
		for (int i = 0; i < 2; i++) {
			lower_sbuf_alloc(L, &buf[i], blk * es);
			lower_sbuf_alloc(L, &ob[i], blk * es);
		}
		for (uint64_t b = 0; b < B; b++)
			for (uint64_t r0 = 0; r0 < R; r0 += blk)
				for (uint64_t c0 = 0; c0 < C; c0 += blk, slot++) {
					uint32_t rn = (uint32_t)lower_min(blk, R - r0), cn = (uint32_t)lower_min(blk, C - c0);
					lower_buf *ib = &buf[slot % 2], *o = &ob[slot % 2];
					isa_ap s = lower_ap_hbm(X->dtype, L->hbm_addr[tx] + ((b * R + r0) * C + c0) * es, rn, C * es, cn, es, 1, 0);
					isa_ap d = lower_ap_sbuf(X->dtype, 0, rn, ib->off, cn, es, 1, 0);
					lower_load(L, tx, &d, &s, ib, 1);
					isa_inst tr = lower_inst(ISA_OP_TRANSPOSE);
					tr.src[0] = d;
					tr.dst = lower_ap_sbuf(X->dtype, 0, cn, o->off, rn, es, 1, 0);
					lower_compute(L, LOWER_Q_VEC, &tr, o, 1, ib, NULL, NULL);
					isa_ap dd = lower_ap_hbm(X->dtype, L->hbm_addr[ty] + ((b * C + c0) * R + r0) * es, cn, R * es, rn, es, 1, 0);
					lower_store(L, ty, &dd, &tr.dst, o);
				}
		lower_release(L);
		return 0;
	}
	/* general permutation: each output row (last dim) is a strided run of the input; rows of the
	 * second-to-last output dim go to partitions; strided (descriptor-heavy) gathers */
	for (int i = 0; i < 2; i++)
		lower_sbuf_alloc(L, &buf[i], fmax * es);
	uint64_t last = r ? Y->shape[r - 1] : 1, sec = r >= 2 ? Y->shape[r - 2] : 1;
	uint64_t outer = Y->elems / lower_max(last * sec, 1);
	uint64_t sl = r ? xs[op->a.perm[r - 1]] : 1, ss = r >= 2 ? xs[op->a.perm[r - 2]] : 0;
	for (uint64_t o = 0; o < outer; o++) {
		uint64_t idx = o, off = 0;
		for (int d = (int)r - 3; d >= 0; d--) {
			uint64_t k = idx % Y->shape[d];
			idx /= Y->shape[d];
			off += k * xs[op->a.perm[d]];
		}
		mv_rows(L, tx, L->hbm_addr[tx] + off * es, ss * es, sl * es, ty,
		        L->hbm_addr[ty] + o * sec * last * es, last * es, sec, last, buf, fmax, &slot);
	}
	lower_release(L);
	return 0;
}
