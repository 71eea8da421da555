/*
 * graph_infer.c -- pass 2 of graph loading: topological order, shape and dtype inference and
 * checking, and the work (MACs, FLOPs) of every op.
 *
 * For each op, in file order:
 *   1. every operand must be produced by an earlier op (or be an input/weight): a use before
 *      definition -- and so any cycle -- is reported naming both ops;
 *   2. operand dtypes obey the op's rule (floating point for arithmetic; int32 indices for
 *      embedding; data movement keeps its type);
 *   3. the output shapes are inferred from the operand shapes and attributes; a declared output
 *      shape must equal the inferred one (the message shows both), an omitted one is filled in;
 *   4. MACs and FLOPs are computed by the conventions of docs/graph-format.md ("Work").
 *
 * Layouts (ops.def): conv and pooling activations NCHW, conv weights [C_out, C_in/groups, KH, KW];
 * matmul A[..., M, K] · B[..., K, N] -> [..., M, N] with numpy broadcasting of the batch dims.
 * All arithmetic on sizes is checked for 64-bit overflow: a hostile shape is a user error, never
 * undefined behaviour.
 */
#include "sim/graph.h"
#include "sim/graph_int.h"

#include <string.h>

#define SHAPE_BUF 160

typedef struct oshape {
	uint32_t rank;
	uint64_t d[GRAPH_MAX_RANK + 1];   /* one spare: embedding can exceed the limit, then refused */
} oshape;

static graph_tensor *T(graph_loader *L, uint32_t opi, uint32_t k)
{
	return &L->g->tensors[L->g->ops[opi].in[k]];
}

static const char *S(char *buf, const graph_tensor *t)
{
	return graph_fmt_shape(buf, SHAPE_BUF, t->rank, t->shape);
}

#define ERR(code, node, ...) graph_op_error(L, opi, (node), (code), __VA_ARGS__)
#define IN_NODE(k) (L->opx[opi].in_node[k])

static int mul_chk(uint64_t a, uint64_t b, uint64_t *out) { return __builtin_mul_overflow(a, b, out); }

static int prod(const uint64_t *d, uint32_t n, uint64_t *out)
{
	uint64_t p = 1;
	for (uint32_t i = 0; i < n; i++)
		if (mul_chk(p, d[i], &p))
			return -1;
	*out = p;
	return 0;
}

/* Set output k: inferred shape `s`, dtype `dt` (used unless the tensor states its own). */
static int set_out(graph_loader *L, uint32_t opi, uint32_t k, const oshape *s, asim_dtype dt)
{
	graph *g = L->g;
	graph_op *op = &g->ops[opi];
	uint32_t ti = op->out[k];
	graph_tensor *t = &g->tensors[ti];
	graph_tx *x = &L->tx[ti];
	char a[SHAPE_BUF], b[SHAPE_BUF];
	if (s->rank > GRAPH_MAX_RANK)
		return ERR(ASIM_ERANGE, NULL, "output '%s' would have rank %u; the limit is %d", t->name,
		           s->rank, GRAPH_MAX_RANK);
	if (x->has_shape) {
		if (t->rank != s->rank || memcmp(t->shape, s->d, s->rank * sizeof s->d[0]) != 0)
			return ERR(ASIM_ESHAPE, x->shape_node,
			           "output '%s' is declared with shape %s, but the op produces %s", t->name,
			           graph_fmt_shape(a, sizeof a, t->rank, t->shape),
			           graph_fmt_shape(b, sizeof b, s->rank, s->d));
	} else {
		t->rank = s->rank;
		memcpy(t->shape, s->d, s->rank * sizeof s->d[0]);
		if (prod(t->shape, t->rank, &t->elems))
			return ERR(ASIM_ERANGE, NULL, "output '%s' %s has more than 2^64 elements", t->name,
			           graph_fmt_shape(a, sizeof a, s->rank, s->d));
	}
	graph_op_class cls = graph_op_class_of(op->type);
	int moves = cls == GRAPH_CLASS_MOVE;
	if (x->has_dtype) {
		if (moves && t->dtype != dt)
			return ERR(ASIM_ESCHEMA, x->node, "output '%s' is declared %s, but a %s op moves data "
			           "and keeps its type %s", t->name, asim_dtype_names[t->dtype],
			           graph_op_names[op->type], asim_dtype_names[dt]);
		if (!moves && !asim_dtype_is_float(t->dtype))
			return ERR(ASIM_ESCHEMA, x->node, "output '%s' is %s, but the op computes floating-point "
			           "values; declare a floating-point dtype", t->name, asim_dtype_names[t->dtype]);
	} else if (moves || L->default_dtype < 0) {
		t->dtype = dt;
	} else {
		t->dtype = (asim_dtype)L->default_dtype;
		if (!asim_dtype_is_float(t->dtype))
			t->dtype = dt;
	}
	if (mul_chk(t->elems, (uint64_t)asim_dtype_bytes(t->dtype), &t->bytes))
		return ERR(ASIM_ERANGE, NULL, "output '%s' is larger than 2^64 bytes", t->name);
	return ASIM_OK;
}

/* numpy broadcasting of a[ra] and b[rb] into out; returns -1 on success or the mismatching
 * dimension counted from the right. */
static int bcast(const uint64_t *a, uint32_t ra, const uint64_t *b, uint32_t rb, oshape *out)
{
	uint32_t r = ra > rb ? ra : rb;
	out->rank = r;
	for (uint32_t i = 0; i < r; i++) {
		uint64_t x = i < ra ? a[ra - 1 - i] : 1, y = i < rb ? b[rb - 1 - i] : 1;
		if (x != y && x != 1 && y != 1)
			return (int)i;
		out->d[r - 1 - i] = x == 1 ? y : x;
	}
	return -1;
}

static int need_rank(graph_loader *L, uint32_t opi, uint32_t k, uint32_t lo, uint32_t hi,
                     const char *role)
{
	graph_tensor *t = T(L, opi, k);
	char a[SHAPE_BUF];
	if (t->rank < lo || t->rank > hi) {
		if (lo == hi)
			return ERR(ASIM_ESHAPE, IN_NODE(k), "%s '%s' must have rank %u, not %u (shape %s)", role,
			           t->name, lo, t->rank, S(a, t));
		return ERR(ASIM_ESHAPE, IN_NODE(k), "%s '%s' must have rank %u to %u, not %u (shape %s)", role,
		           t->name, lo, hi, t->rank, S(a, t));
	}
	return ASIM_OK;
}

static int same_shape(graph_loader *L, uint32_t opi, uint32_t k0, uint32_t k, const char *role)
{
	graph_tensor *a = T(L, opi, k0), *b = T(L, opi, k);
	char x[SHAPE_BUF], y[SHAPE_BUF];
	if (a->rank != b->rank || memcmp(a->shape, b->shape, a->rank * sizeof a->shape[0]) != 0)
		return ERR(ASIM_ESHAPE, IN_NODE(k), "%s '%s' has shape %s, but '%s' has %s: they must be equal",
		           role, b->name, S(y, b), a->name, S(x, a));
	return ASIM_OK;
}

static int norm_axis(graph_loader *L, uint32_t opi, uint32_t rank, int64_t dflt)
{
	graph_opx *x = &L->opx[opi];
	int64_t ax = x->have_axis ? x->axis_raw : dflt;
	if (ax < -(int64_t)rank || ax >= (int64_t)rank)
		return ERR(ASIM_ERANGE, x->attr_node, "axis %lld is out of range for rank %u (use -%u to %u)",
		           (long long)ax, rank, rank, rank ? rank - 1 : 0);
	L->g->ops[opi].a.axis = (int32_t)(ax < 0 ? ax + (int64_t)rank : ax);
	return ASIM_OK;
}

/* One spatial dimension of a convolution or pooling window: out = (in + p0 + p1 - eff) / s + 1,
 * eff = dil·(k-1) + 1. With `same`, p0 + p1 is chosen so that out = ceil(in / s) (the extra pad,
 * if odd, goes at the end: TensorFlow's rule). Returns 0, or -1 when the window does not fit. */
static int conv_dim(uint64_t in, uint64_t k, uint32_t s, uint32_t dil, int same, uint32_t *p0,
                    uint32_t *p1, uint64_t *out)
{
	uint64_t eff;
	if (mul_chk(dil, k - 1, &eff) || eff == UINT64_MAX)
		return -1;
	eff += 1;
	if (same) {
		uint64_t o = in / s + (in % s != 0), need;
		if (mul_chk(o - 1, s, &need) || __builtin_add_overflow(need, eff, &need))
			return -1;
		uint64_t total = need > in ? need - in : 0;
		if (total > 0xfffffffeu)
			return -1;
		*p0 = (uint32_t)(total / 2);
		*p1 = (uint32_t)(total - total / 2);
	}
	uint64_t padded;
	if (__builtin_add_overflow(in, (uint64_t)*p0 + *p1, &padded) || padded < eff)
		return -1;
	*out = (padded - eff) / s + 1;
	return 0;
}

/* conv2d / pooling geometry for H and W; `in` is [.., .., H, W], k = [KH, KW]. */
static int conv_geom(graph_loader *L, uint32_t opi, const uint64_t *hw, const uint64_t *k,
                     uint64_t out[2], const char *what, const yd_node *where)
{
	graph_op *op = &L->g->ops[opi];
	graph_attrs *a = &op->a;
	int same = L->opx[opi].pad_same;
	for (int i = 0; i < 2; i++)
		if (conv_dim(hw[i], k[i], a->stride[i], a->dilation[i], same, &a->pad[2 * i],
		             &a->pad[2 * i + 1], &out[i]) != 0)
			return ERR(ASIM_ESHAPE, where,
			           "the %s window (kernel %llu, dilation %u) does not fit in the %s of %llu plus "
			           "padding %u + %u", what, (unsigned long long)k[i], a->dilation[i],
			           i ? "width" : "height", (unsigned long long)hw[i], a->pad[2 * i],
			           a->pad[2 * i + 1]);
	return ASIM_OK;
}

static int check_groups(graph_loader *L, uint32_t opi, uint64_t c, uint64_t co, uint32_t kx,
                        uint32_t kw)
{
	uint32_t gr = L->g->ops[opi].a.groups;
	if (c % gr != 0)
		return ERR(ASIM_ESHAPE, IN_NODE(kx), "%llu input channels are not divisible by groups %u",
		           (unsigned long long)c, gr);
	if (co % gr != 0)
		return ERR(ASIM_ESHAPE, IN_NODE(kw), "%llu output channels are not divisible by groups %u",
		           (unsigned long long)co, gr);
	return ASIM_OK;
}

static int set_work(graph_loader *L, uint32_t opi, uint64_t macs, uint64_t per_elem, uint64_t elems,
                    uint64_t extra)
{
	graph_op *op = &L->g->ops[opi];
	uint64_t f;
	if (mul_chk(macs, 2, &f) || mul_chk(per_elem, elems, &per_elem) ||
	    __builtin_add_overflow(f, per_elem, &f) || __builtin_add_overflow(f, extra, &f))
		return ERR(ASIM_ERANGE, NULL, "its work exceeds 2^64 FLOPs");
	op->macs = macs;
	op->flops = f;
	return ASIM_OK;
}

/* batch · M · N · K with overflow checks */
static int pe_macs(graph_loader *L, uint32_t opi, const oshape *batch, uint64_t m, uint64_t n,
                   uint64_t k, uint64_t *out)
{
	uint64_t p;
	if (prod(batch->d, batch->rank, &p) || mul_chk(p, m, &p) || mul_chk(p, n, &p) || mul_chk(p, k, &p))
		return ERR(ASIM_ERANGE, NULL, "its MAC count exceeds 2^64");
	*out = p;
	return ASIM_OK;
}

/* ---- op families ------------------------------------------------------------------------- */

static int infer_matmul(graph_loader *L, uint32_t opi)
{
	graph_op *op = &L->g->ops[opi];
	const graph_attrs *a = &op->a;
	graph_tensor *A = T(L, opi, 0), *Bt = T(L, opi, 1);
	int rc;
	char x[SHAPE_BUF], y[SHAPE_BUF];
	if ((rc = need_rank(L, opi, 0, 2, GRAPH_MAX_RANK, "A")) || (rc = need_rank(L, opi, 1, 2, GRAPH_MAX_RANK, "B")))
		return rc;
	uint64_t M = a->transpose_a ? A->shape[A->rank - 1] : A->shape[A->rank - 2];
	uint64_t K = a->transpose_a ? A->shape[A->rank - 2] : A->shape[A->rank - 1];
	uint64_t Kb = a->transpose_b ? Bt->shape[Bt->rank - 1] : Bt->shape[Bt->rank - 2];
	uint64_t N = a->transpose_b ? Bt->shape[Bt->rank - 2] : Bt->shape[Bt->rank - 1];
	if (K != Kb)
		return ERR(ASIM_ESHAPE, IN_NODE(1), "inner dimensions differ: A '%s' %s has K = %llu%s but B "
		           "'%s' %s has K = %llu%s", A->name, S(x, A), (unsigned long long)K,
		           a->transpose_a ? " (transposed)" : "", Bt->name, S(y, Bt), (unsigned long long)Kb,
		           a->transpose_b ? " (transposed)" : "");
	oshape o;
	int bad = bcast(A->shape, A->rank - 2, Bt->shape, Bt->rank - 2, &o);
	if (bad >= 0)
		return ERR(ASIM_ESHAPE, IN_NODE(1), "batch dimensions of A '%s' %s and B '%s' %s do not "
		           "broadcast", A->name, S(x, A), Bt->name, S(y, Bt));
	uint64_t bias = 0, macs = 0;
	if (op->n_in == 3) {
		graph_tensor *bt = T(L, opi, 2);
		if (bt->rank != 1 || bt->shape[0] != N)
			return ERR(ASIM_ESHAPE, IN_NODE(2), "bias '%s' has shape %s; it must be [%llu] (N)",
			           bt->name, S(x, bt), (unsigned long long)N);
	}
	oshape batch = o;
	o.d[o.rank++] = M;
	o.d[o.rank++] = N;
	if ((rc = pe_macs(L, opi, &batch, M, N, K, &macs)) != 0)
		return rc;
	if ((rc = set_out(L, opi, 0, &o, A->dtype)) != 0)
		return rc;
	uint64_t oe = L->g->tensors[op->out[0]].elems;
	bias = op->n_in == 3 ? oe : 0;
	return set_work(L, opi, macs, a->activation != GRAPH_ACT_NONE, oe, bias);
}

static int infer_matmul_bwd(graph_loader *L, uint32_t opi)
{
	graph *g = L->g;
	graph_op *op = &g->ops[opi];
	const graph_attrs *a = &op->a;
	graph_tensor *P = T(L, opi, 0), *Q = T(L, opi, 1);
	int rc;
	char x[SHAPE_BUF], y[SHAPE_BUF];
	if ((rc = need_rank(L, opi, 0, 2, GRAPH_MAX_RANK, op->type == GRAPH_OP_MATMUL_BWD_DATA ? "dY" : "A")) ||
	    (rc = need_rank(L, opi, 1, 2, GRAPH_MAX_RANK, op->type == GRAPH_OP_MATMUL_BWD_DATA ? "B" : "dY")))
		return rc;
	oshape o, batch;
	uint64_t M, N, K, macs = 0;
	if (op->type == GRAPH_OP_MATMUL_BWD_DATA) {
		/* dY[..., M, N], B (forward layout) -> dA (forward layout of A) */
		M = P->shape[P->rank - 2];
		N = P->shape[P->rank - 1];
		K = a->transpose_b ? Q->shape[Q->rank - 1] : Q->shape[Q->rank - 2];
		uint64_t Nb = a->transpose_b ? Q->shape[Q->rank - 2] : Q->shape[Q->rank - 1];
		if (N != Nb)
			return ERR(ASIM_ESHAPE, IN_NODE(1), "dY '%s' %s has N = %llu but B '%s' %s has N = %llu",
			           P->name, S(x, P), (unsigned long long)N, Q->name, S(y, Q),
			           (unsigned long long)Nb);
		if (bcast(P->shape, P->rank - 2, Q->shape, Q->rank - 2, &o) >= 0)
			return ERR(ASIM_ESHAPE, IN_NODE(1), "batch dimensions of '%s' %s and '%s' %s do not "
			           "broadcast", P->name, S(x, P), Q->name, S(y, Q));
		batch = o;
		o.d[o.rank++] = a->transpose_a ? K : M;
		o.d[o.rank++] = a->transpose_a ? M : K;
	} else {
		/* A (forward layout), dY[..., M, N] -> dB [K, N] summed over batch dims, or with them
		 * when the output is declared with them */
		M = a->transpose_a ? P->shape[P->rank - 1] : P->shape[P->rank - 2];
		K = a->transpose_a ? P->shape[P->rank - 2] : P->shape[P->rank - 1];
		uint64_t Md = Q->shape[Q->rank - 2];
		N = Q->shape[Q->rank - 1];
		if (M != Md)
			return ERR(ASIM_ESHAPE, IN_NODE(1), "A '%s' %s has M = %llu but dY '%s' %s has M = %llu",
			           P->name, S(x, P), (unsigned long long)M, Q->name, S(y, Q),
			           (unsigned long long)Md);
		if (bcast(P->shape, P->rank - 2, Q->shape, Q->rank - 2, &o) >= 0)
			return ERR(ASIM_ESHAPE, IN_NODE(1), "batch dimensions of '%s' %s and '%s' %s do not "
			           "broadcast", P->name, S(x, P), Q->name, S(y, Q));
		batch = o;
		const graph_tensor *out = &g->tensors[op->out[0]];
		if (!(L->tx[op->out[0]].has_shape && batch.rank > 0 && out->rank == batch.rank + 2))
			o.rank = 0;
		o.d[o.rank++] = a->transpose_b ? N : K;
		o.d[o.rank++] = a->transpose_b ? K : N;
	}
	if ((rc = pe_macs(L, opi, &batch, M, N, K, &macs)) != 0 || (rc = set_out(L, opi, 0, &o, P->dtype)) != 0)
		return rc;
	return set_work(L, opi, macs, 0, 0, 0);
}

static int infer_conv(graph_loader *L, uint32_t opi)
{
	graph *g = L->g;
	graph_op *op = &g->ops[opi];
	graph_tensor *X = T(L, opi, 0), *W = T(L, opi, 1);
	int rc;
	char x[SHAPE_BUF], y[SHAPE_BUF];
	if ((rc = need_rank(L, opi, 0, 4, 4, "input (NCHW)")) || (rc = need_rank(L, opi, 1, 4, 4, "weight")))
		return rc;
	uint64_t C = X->shape[1], Co = W->shape[0];
	uint32_t gr = op->a.groups;
	if ((rc = check_groups(L, opi, C, Co, 0, 1)) != 0)
		return rc;
	if (W->shape[1] != C / gr)
		return ERR(ASIM_ESHAPE, IN_NODE(1), "weight '%s' %s must be [C_out, C_in/groups, KH, KW] = "
		           "[%llu, %llu, %llu, %llu] for input '%s' %s with groups %u", W->name, S(y, W),
		           (unsigned long long)Co, (unsigned long long)(C / gr),
		           (unsigned long long)W->shape[2], (unsigned long long)W->shape[3], X->name, S(x, X), gr);
	if (op->n_in == 3) {
		graph_tensor *bt = T(L, opi, 2);
		if (bt->rank != 1 || bt->shape[0] != Co)
			return ERR(ASIM_ESHAPE, IN_NODE(2), "bias '%s' has shape %s; it must be [%llu] (C_out)",
			           bt->name, S(x, bt), (unsigned long long)Co);
	}
	uint64_t hw[2];
	if ((rc = conv_geom(L, opi, X->shape + 2, W->shape + 2, hw, "convolution", IN_NODE(1))) != 0)
		return rc;
	oshape o = {4, {X->shape[0], Co, hw[0], hw[1]}};
	oshape b = {4, {X->shape[0], Co, hw[0], hw[1]}};
	uint64_t macs = 0;
	if ((rc = pe_macs(L, opi, &b, W->shape[1], W->shape[2], W->shape[3], &macs)) != 0 ||
	    (rc = set_out(L, opi, 0, &o, X->dtype)) != 0)
		return rc;
	uint64_t oe = g->tensors[op->out[0]].elems;
	return set_work(L, opi, macs, op->a.activation != GRAPH_ACT_NONE, oe, op->n_in == 3 ? oe : 0);
}

static int infer_conv_bwd_data(graph_loader *L, uint32_t opi)
{
	graph *g = L->g;
	graph_op *op = &g->ops[opi];
	graph_tensor *dY = T(L, opi, 0), *W = T(L, opi, 1);
	int rc;
	char x[SHAPE_BUF], y[SHAPE_BUF], z[SHAPE_BUF];
	if ((rc = need_rank(L, opi, 0, 4, 4, "dY (NCHW)")) || (rc = need_rank(L, opi, 1, 4, 4, "weight")))
		return rc;
	uint32_t gr = op->a.groups;
	uint64_t Co = W->shape[0], C;
	if (dY->shape[1] != Co)
		return ERR(ASIM_ESHAPE, IN_NODE(1), "dY '%s' %s has %llu channels but weight '%s' %s has "
		           "C_out = %llu", dY->name, S(x, dY), (unsigned long long)dY->shape[1], W->name,
		           S(y, W), (unsigned long long)Co);
	if (Co % gr != 0)
		return ERR(ASIM_ESHAPE, IN_NODE(1), "%llu output channels are not divisible by groups %u",
		           (unsigned long long)Co, gr);
	if (mul_chk(W->shape[1], gr, &C))
		return ERR(ASIM_ERANGE, IN_NODE(1), "C_in overflows");
	uint32_t oi = op->out[0];
	graph_tensor *dX = &g->tensors[oi];
	oshape o = {4, {dY->shape[0], C, 0, 0}};
	if (L->tx[oi].has_shape && dX->rank == 4) {
		o.d[2] = dX->shape[2];
		o.d[3] = dX->shape[3];
	} else {
		if (L->opx[opi].pad_same)
			return ERR(ASIM_ESCHEMA, L->opx[opi].attr_node, "with padding: same, declare the shape "
			           "of output '%s' (the input size cannot be recovered from dY)", dX->name);
		for (int i = 0; i < 2; i++) {
			/* the smallest input size whose forward convolution gives dY's size */
			uint64_t eff, h;
			const graph_attrs *a = &op->a;
			if (mul_chk(a->dilation[i], W->shape[2 + i] - 1, &eff) || mul_chk(dY->shape[2 + i] - 1,
			    a->stride[i], &h) || __builtin_add_overflow(h, eff + 1, &h))
				return ERR(ASIM_ERANGE, NULL, "the input size overflows");
			uint64_t p = (uint64_t)a->pad[2 * i] + a->pad[2 * i + 1];
			if (h <= p)
				return ERR(ASIM_ESHAPE, L->opx[opi].attr_node, "padding %llu is larger than the "
				           "convolution window allows", (unsigned long long)p);
			o.d[2 + i] = h - p;
		}
	}
	uint64_t hw[2];
	if ((rc = conv_geom(L, opi, o.d + 2, W->shape + 2, hw, "convolution", IN_NODE(1))) != 0)
		return rc;
	if (hw[0] != dY->shape[2] || hw[1] != dY->shape[3])
		return ERR(ASIM_ESHAPE, L->tx[oi].shape_node, "output '%s' is declared with shape %s, whose "
		           "forward convolution gives %llu x %llu, not dY's %llu x %llu (dY %s)", dX->name,
		           graph_fmt_shape(z, sizeof z, dX->rank, dX->shape), (unsigned long long)hw[0],
		           (unsigned long long)hw[1], (unsigned long long)dY->shape[2],
		           (unsigned long long)dY->shape[3], S(x, dY));
	oshape b = {4, {dY->shape[0], Co, dY->shape[2], dY->shape[3]}};
	uint64_t macs = 0;
	if ((rc = pe_macs(L, opi, &b, W->shape[1], W->shape[2], W->shape[3], &macs)) != 0 ||
	    (rc = set_out(L, opi, 0, &o, dY->dtype)) != 0)
		return rc;
	return set_work(L, opi, macs, 0, 0, 0);
}

static int infer_conv_bwd_weight(graph_loader *L, uint32_t opi)
{
	graph *g = L->g;
	graph_op *op = &g->ops[opi];
	graph_tensor *X = T(L, opi, 0), *dY = T(L, opi, 1);
	int rc;
	char x[SHAPE_BUF], y[SHAPE_BUF];
	if ((rc = need_rank(L, opi, 0, 4, 4, "input (NCHW)")) || (rc = need_rank(L, opi, 1, 4, 4, "dY (NCHW)")))
		return rc;
	if (X->shape[0] != dY->shape[0])
		return ERR(ASIM_ESHAPE, IN_NODE(1), "batch sizes differ: input '%s' %s, dY '%s' %s", X->name,
		           S(x, X), dY->name, S(y, dY));
	uint64_t C = X->shape[1], Co = dY->shape[1];
	if ((rc = check_groups(L, opi, C, Co, 0, 1)) != 0)
		return rc;
	uint32_t oi = op->out[0];
	uint64_t k[2];
	if (L->opx[opi].have_kernel) {
		k[0] = op->a.kernel[0];
		k[1] = op->a.kernel[1];
	} else if (L->tx[oi].has_shape && g->tensors[oi].rank == 4) {
		k[0] = g->tensors[oi].shape[2];
		k[1] = g->tensors[oi].shape[3];
		op->a.kernel[0] = (uint32_t)(k[0] > 0x7fffffff ? 0x7fffffff : k[0]);
		op->a.kernel[1] = (uint32_t)(k[1] > 0x7fffffff ? 0x7fffffff : k[1]);
	} else {
		return ERR(ASIM_ESCHEMA, NULL, "give 'kernel: [KH, KW]' or declare the shape of output '%s'",
		           g->tensors[oi].name);
	}
	uint64_t hw[2];
	if ((rc = conv_geom(L, opi, X->shape + 2, k, hw, "convolution", L->opx[opi].kernel_node)) != 0)
		return rc;
	if (hw[0] != dY->shape[2] || hw[1] != dY->shape[3])
		return ERR(ASIM_ESHAPE, IN_NODE(1), "the forward convolution of input '%s' %s gives %llu x "
		           "%llu, but dY '%s' is %s", X->name, S(x, X), (unsigned long long)hw[0],
		           (unsigned long long)hw[1], dY->name, S(y, dY));
	oshape o = {4, {Co, C / op->a.groups, k[0], k[1]}};
	oshape b = {4, {dY->shape[0], Co, dY->shape[2], dY->shape[3]}};
	uint64_t macs = 0;
	if ((rc = pe_macs(L, opi, &b, C / op->a.groups, k[0], k[1], &macs)) != 0 ||
	    (rc = set_out(L, opi, 0, &o, X->dtype)) != 0)
		return rc;
	return set_work(L, opi, macs, 0, 0, 0);
}

static int infer_pool(graph_loader *L, uint32_t opi)
{
	graph_op *op = &L->g->ops[opi];
	graph_tensor *X = T(L, opi, 0);
	int rc;
	if ((rc = need_rank(L, opi, 0, 4, 4, "input (NCHW)")) != 0)
		return rc;
	if (op->type == GRAPH_OP_GLOBAL_AVGPOOL) {
		oshape o = {4, {X->shape[0], X->shape[1], 1, 1}};
		if ((rc = set_out(L, opi, 0, &o, X->dtype)) != 0)
			return rc;
		return set_work(L, opi, 0, 1, X->elems, 0);
	}
	uint64_t k[2] = {op->a.kernel[0], op->a.kernel[1]}, hw[2];
	if ((rc = conv_geom(L, opi, X->shape + 2, k, hw, "pooling", L->opx[opi].kernel_node)) != 0)
		return rc;
	oshape o = {4, {X->shape[0], X->shape[1], hw[0], hw[1]}};
	if ((rc = set_out(L, opi, 0, &o, X->dtype)) != 0)
		return rc;
	uint64_t win = k[0] * k[1];   /* both < 2^31 */
	return set_work(L, opi, 0, win, L->g->tensors[op->out[0]].elems, 0);
}

static int infer_binary(graph_loader *L, uint32_t opi)
{
	graph_op *op = &L->g->ops[opi];
	graph_tensor *A = T(L, opi, 0), *Bt = T(L, opi, 1);
	char x[SHAPE_BUF], y[SHAPE_BUF];
	oshape o;
	int bad = bcast(A->shape, A->rank, Bt->shape, Bt->rank, &o);
	if (bad >= 0)
		return ERR(ASIM_ESHAPE, IN_NODE(1), "shapes %s of '%s' and %s of '%s' do not broadcast "
		           "(dimension %d from the right: %llu vs %llu)", S(x, A), A->name, S(y, Bt), Bt->name,
		           -(bad + 1), (unsigned long long)(bad < (int)A->rank ? A->shape[A->rank - 1 - bad] : 1),
		           (unsigned long long)(bad < (int)Bt->rank ? Bt->shape[Bt->rank - 1 - bad] : 1));
	int rc = set_out(L, opi, 0, &o, A->dtype);
	if (rc != 0)
		return rc;
	return set_work(L, opi, 0, 1 + (op->a.activation != GRAPH_ACT_NONE),
	                L->g->tensors[op->out[0]].elems, 0);
}

static int infer_unary(graph_loader *L, uint32_t opi, uint64_t per_elem)
{
	graph_tensor *X = T(L, opi, 0);
	oshape o = {X->rank, {0}};
	memcpy(o.d, X->shape, X->rank * sizeof X->shape[0]);
	int rc = set_out(L, opi, 0, &o, X->dtype);
	if (rc != 0)
		return rc;
	return set_work(L, opi, 0, per_elem, X->elems, 0);
}

static int infer_norm(graph_loader *L, uint32_t opi)
{
	graph_op *op = &L->g->ops[opi];
	graph_tensor *X = T(L, opi, 0);
	int rc;
	char x[SHAPE_BUF], y[SHAPE_BUF];
	if ((rc = need_rank(L, opi, 0, 1, GRAPH_MAX_RANK, "input")) != 0 ||
	    (rc = norm_axis(L, opi, X->rank, -1)) != 0)
		return rc;
	uint32_t ax = (uint32_t)op->a.axis;
	for (uint32_t k = 1; k < op->n_in; k++) {
		graph_tensor *p = T(L, opi, k);
		if (p->rank != X->rank - ax || memcmp(p->shape, X->shape + ax, p->rank * sizeof p->shape[0]))
			return ERR(ASIM_ESHAPE, IN_NODE(k), "%s '%s' has shape %s; it must be %s, the normalised "
			           "dimensions of '%s'", k == 1 ? "gamma" : "beta", p->name, S(x, p),
			           graph_fmt_shape(y, sizeof y, X->rank - ax, X->shape + ax), X->name);
	}
	uint64_t per = (op->type == GRAPH_OP_LAYERNORM ? 5 : 3) + (op->n_in - 1);
	return infer_unary(L, opi, per);
}

static int infer_transpose(graph_loader *L, uint32_t opi)
{
	graph_op *op = &L->g->ops[opi];
	graph_opx *ox = &L->opx[opi];
	graph_tensor *X = T(L, opi, 0);
	char x[SHAPE_BUF];
	if (ox->perm_len != X->rank)
		return ERR(ASIM_ESHAPE, ox->attr_node, "perm has %u entries but '%s' %s has rank %u",
		           ox->perm_len, X->name, S(x, X), X->rank);
	unsigned seen = 0;
	oshape o = {X->rank, {0}};
	for (uint32_t i = 0; i < X->rank; i++) {
		uint32_t p = op->a.perm[i];
		if (p >= X->rank || (seen & (1u << p)))
			return ERR(ASIM_ESHAPE, ox->attr_node, "perm must be a permutation of 0..%u (each once)",
			           X->rank - 1);
		seen |= 1u << p;
		o.d[i] = X->shape[p];
	}
	int rc = set_out(L, opi, 0, &o, X->dtype);
	return rc ? rc : set_work(L, opi, 0, 0, 0, 0);
}

static int infer_reshape(graph_loader *L, uint32_t opi)
{
	graph_opx *ox = &L->opx[opi];
	graph_tensor *X = T(L, opi, 0);
	char x[SHAPE_BUF];
	oshape o = {ox->rs_rank, {0}};
	uint64_t known = 1;
	int minus = -1;
	for (uint32_t i = 0; i < ox->rs_rank; i++) {
		if (ox->rs[i] < 0) {
			minus = (int)i;
			continue;
		}
		o.d[i] = (uint64_t)ox->rs[i];
		if (mul_chk(known, o.d[i], &known))
			return ERR(ASIM_ERANGE, ox->attr_node, "the target shape has more than 2^64 elements");
	}
	if (minus >= 0) {
		if (X->elems % known != 0)
			return ERR(ASIM_ESHAPE, ox->attr_node, "cannot reshape '%s' %s (%llu elements): %llu is "
			           "not divisible by the product %llu of the other target dimensions", X->name,
			           S(x, X), (unsigned long long)X->elems, (unsigned long long)X->elems,
			           (unsigned long long)known);
		o.d[minus] = X->elems / known;
		known = X->elems;
	}
	if (known != X->elems) {
		char y[SHAPE_BUF];
		return ERR(ASIM_ESHAPE, ox->attr_node, "cannot reshape '%s' %s (%llu elements) to %s "
		           "(%llu elements)", X->name, S(x, X), (unsigned long long)X->elems,
		           graph_fmt_shape(y, sizeof y, o.rank, o.d), (unsigned long long)known);
	}
	int rc = set_out(L, opi, 0, &o, X->dtype);
	return rc ? rc : set_work(L, opi, 0, 0, 0, 0);
}

static int infer_concat(graph_loader *L, uint32_t opi)
{
	graph_op *op = &L->g->ops[opi];
	graph_tensor *X = T(L, opi, 0);
	char x[SHAPE_BUF], y[SHAPE_BUF];
	int rc;
	if ((rc = need_rank(L, opi, 0, 1, GRAPH_MAX_RANK, "input")) || (rc = norm_axis(L, opi, X->rank, 0)))
		return rc;
	uint32_t ax = (uint32_t)op->a.axis;
	oshape o = {X->rank, {0}};
	memcpy(o.d, X->shape, X->rank * sizeof X->shape[0]);
	for (uint32_t k = 1; k < op->n_in; k++) {
		graph_tensor *t = T(L, opi, k);
		int ok = t->rank == X->rank;
		for (uint32_t i = 0; ok && i < X->rank; i++)
			ok = i == ax || t->shape[i] == X->shape[i];
		if (!ok)
			return ERR(ASIM_ESHAPE, IN_NODE(k), "'%s' %s and '%s' %s differ outside the concatenation "
			           "axis %u", X->name, S(x, X), t->name, S(y, t), ax);
		if (t->dtype != X->dtype)
			return ERR(ASIM_ESCHEMA, IN_NODE(k), "'%s' is %s but '%s' is %s: concatenated tensors "
			           "have one dtype", t->name, asim_dtype_names[t->dtype], X->name,
			           asim_dtype_names[X->dtype]);
		if (__builtin_add_overflow(o.d[ax], t->shape[ax], &o.d[ax]))
			return ERR(ASIM_ERANGE, IN_NODE(k), "the concatenated dimension overflows 64 bits");
	}
	rc = set_out(L, opi, 0, &o, X->dtype);
	return rc ? rc : set_work(L, opi, 0, 0, 0, 0);
}

static int infer_embedding(graph_loader *L, uint32_t opi)
{
	graph_tensor *Tb = T(L, opi, 0), *I = T(L, opi, 1);
	int rc;
	if ((rc = need_rank(L, opi, 0, 2, 2, "table [V, D]")) != 0)
		return rc;
	if (I->dtype != ASIM_DT_INT32)
		return ERR(ASIM_ESCHEMA, IN_NODE(1), "indices '%s' must be int32, not %s", I->name,
		           asim_dtype_names[I->dtype]);
	oshape o = {I->rank + 1, {0}};
	memcpy(o.d, I->shape, I->rank * sizeof I->shape[0]);
	o.d[I->rank] = Tb->shape[1];
	rc = set_out(L, opi, 0, &o, Tb->dtype);
	return rc ? rc : set_work(L, opi, 0, 0, 0, 0);
}

static int infer_optimizer(graph_loader *L, uint32_t opi)
{
	graph_op *op = &L->g->ops[opi];
	graph_tensor *W = T(L, opi, 0);
	static const char *const roles[] = {"weight", "gradient", "first moment", "second moment"};
	int rc;
	for (uint32_t k = 1; k < op->n_in; k++)
		if ((rc = same_shape(L, opi, 0, k, roles[k])) != 0)
			return rc;
	oshape o = {W->rank, {0}};
	memcpy(o.d, W->shape, W->rank * sizeof W->shape[0]);
	for (uint32_t k = 0; k < op->n_out; k++)
		if ((rc = set_out(L, opi, k, &o, T(L, opi, k == 0 ? 0 : k + 1)->dtype)) != 0)
			return rc;
	uint64_t per = (op->type == GRAPH_OP_SGD_UPDATE ? 4 : 12) + (op->a.weight_decay > 0 ? 2 : 0);
	return set_work(L, opi, 0, per, W->elems, 0);
}

/* ---- the pass ---------------------------------------------------------------------------- */

int graph_infer_op(graph_loader *L, uint32_t opi)
{
	graph *g = L->g;
	graph_op *op = &g->ops[opi];
	graph_op_class cls = graph_op_class_of(op->type);
	for (uint32_t k = 0; k < op->n_in; k++) {
		graph_tensor *t = T(L, opi, k);
		if (t->producer >= (int32_t)opi) {
			if (t->producer == (int32_t)opi)
				return ERR(ASIM_EREF, IN_NODE(k), "reads its own output '%s'", t->name);
			const graph_op *p = &g->ops[t->producer];
			return ERR(ASIM_EREF, IN_NODE(k), "uses tensor '%s' before it is defined: op '%s' "
			           "(line %lu) produces it later; ops must be listed in topological order, and "
			           "a cycle has none", t->name, p->name, p->line);
		}
		int is_index = op->type == GRAPH_OP_EMBEDDING && k == 1;
		if (!is_index && cls != GRAPH_CLASS_MOVE && !asim_dtype_is_float(t->dtype))
			return ERR(ASIM_ESCHEMA, IN_NODE(k), "computes on floating-point values, but input '%s' "
			           "is %s", t->name, asim_dtype_names[t->dtype]);
	}
	switch (op->type) {
	case GRAPH_OP_MATMUL: return infer_matmul(L, opi);
	case GRAPH_OP_MATMUL_BWD_DATA:
	case GRAPH_OP_MATMUL_BWD_WEIGHT: return infer_matmul_bwd(L, opi);
	case GRAPH_OP_CONV2D: return infer_conv(L, opi);
	case GRAPH_OP_CONV2D_BWD_DATA: return infer_conv_bwd_data(L, opi);
	case GRAPH_OP_CONV2D_BWD_WEIGHT: return infer_conv_bwd_weight(L, opi);
	case GRAPH_OP_MAXPOOL:
	case GRAPH_OP_AVGPOOL:
	case GRAPH_OP_GLOBAL_AVGPOOL: return infer_pool(L, opi);
	case GRAPH_OP_ADD:
	case GRAPH_OP_SUB:
	case GRAPH_OP_MUL: return infer_binary(L, opi);
	case GRAPH_OP_RELU:
	case GRAPH_OP_RELU6:
	case GRAPH_OP_GELU:
	case GRAPH_OP_SILU:
	case GRAPH_OP_SIGMOID:
	case GRAPH_OP_TANH:
	case GRAPH_OP_EXP: return infer_unary(L, opi, 1);
	case GRAPH_OP_SOFTMAX: {
		int rc = need_rank(L, opi, 0, 1, GRAPH_MAX_RANK, "input");
		if (rc == 0)
			rc = norm_axis(L, opi, T(L, opi, 0)->rank, -1);
		return rc ? rc : infer_unary(L, opi, 5);
	}
	case GRAPH_OP_LAYERNORM:
	case GRAPH_OP_RMSNORM: return infer_norm(L, opi);
	case GRAPH_OP_TRANSPOSE: return infer_transpose(L, opi);
	case GRAPH_OP_RESHAPE: return infer_reshape(L, opi);
	case GRAPH_OP_CONCAT: return infer_concat(L, opi);
	case GRAPH_OP_EMBEDDING: return infer_embedding(L, opi);
	case GRAPH_OP_RELU_BWD: {
		int rc = same_shape(L, opi, 0, 1, "Y");
		return rc ? rc : infer_unary(L, opi, 1);
	}
	case GRAPH_OP_SGD_UPDATE:
	case GRAPH_OP_ADAM_UPDATE: return infer_optimizer(L, opi);
	case GRAPH_OP_COUNT: break;
	}
	ASIM_ASSERT(0);
	return ASIM_EINTERNAL;
}
