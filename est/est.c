/*
 * est.c -- op descriptors, hardware-aware features, the ridge fit and prediction (est.h).
 *
 * Features are estimates in ns computed from the chip description the way the lowering maps an
 * op (isa/lower_pe.c, isa/lower_vec.c): output channels on the PE columns (the parallelism factor
 * PF), input channels on the rows, one moving chunk of at most max_moving pixels (one PSUM bank)
 * per instruction, depthwise convolutions on the vector engine one tap at a time, DMA at the
 * smaller of the HBM and the DMA-engine bandwidth. They are not meant to be right on their own:
 * the per-kind linear model weighs them against the simulator's contributions. Because they carry
 * the ceilings (⌈C_out/PF⌉, ⌈pixels/max_moving⌉, ...), the staircases of latency in channel counts
 * are in the features, not left for the regression to discover.
 *
 * The fit: for each kind, ridge regression on standardised features (the constant unpenalised),
 * λ from {1e-8, 1e-6, 1e-4, 1e-2, 1} × rows by 5-fold cross-validation (fold of row r: a
 * splitmix64 hash of the seed and r, mod 5), ties to the smaller λ; then refit on all rows and
 * convert the coefficients back to feature units. Normal equations solved by Cholesky; a feature
 * that does not vary within the kind gets coefficient 0.
 */
#include "config.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "est/est.h"
#include "isa/lower.h"
#include "sim/alloc.h"
#include "sim/engine.h"
#include "sim/rungraph.h"
#include "traces/oprow.h"

const char *const est_feature_names[EST_NX] = {
#define X(name, doc) #name,
	EST_FEATURES(X)
#undef X
#define X(name) #name,
	EST_RAW(X)
#undef X
};
const char *const est_feature_docs[EST_NF] = {
#define X(name, doc) doc,
	EST_FEATURES(X)
#undef X
};

/* ---- op descriptors ---------------------------------------------------------------------- */

/* Append s to the string of length n in dst (capacity cap), truncating; the new length.
 * (snprintf's bytes, without its cost: est_predict_graph names every op of the graph.) */
static size_t str_put(char *dst, size_t cap, size_t n, const char *s)
{
	size_t l = strlen(s);
	if (l > cap - 1 - n)
		l = cap - 1 - n;
	memcpy(dst + n, s, l);
	dst[n + l] = '\0';
	return n + l;
}

void est_op_kind(est_op *o)
{
	const char *var = "";
	if (strcmp(o->type, "conv2d") == 0) {
		if (o->groups > 1 && o->groups == o->c_in)
			var = ".dw";
		else if (o->kh == 1 && o->kw == 1)
			var = ".1x1";
		else
			var = ".kxk";
	}
	int act = o->act[0] != '\0' && strcmp(o->act, "none") != 0;
	size_t n = 0;                     /* type var [+act], truncated as snprintf would */
	n = str_put(o->kind, sizeof o->kind, n, o->type);
	n = str_put(o->kind, sizeof o->kind, n, var);
	if (act) {
		n = str_put(o->kind, sizeof o->kind, n, "+");
		str_put(o->kind, sizeof o->kind, n, o->act);
	}
}

/* The same conventions as the `--ops` columns (docs/traces.md, traces/oprow.c). */
void est_op_from_graph(const graph *g, size_t i, est_op *o)
{
	const graph_op *op = &g->ops[i];
	memset(o, 0, sizeof *o);
	str_put(o->type, sizeof o->type, 0, graph_op_names[op->type]);
	str_put(o->act, sizeof o->act, 0, graph_act_names[op->a.activation]);
	o->macs = (double)op->macs;
	o->flops = (double)op->flops;
	for (uint32_t j = 0; j < op->n_in; j++) {
		const graph_tensor *t = &g->tensors[op->in[j]];
		if (t->kind == GRAPH_WEIGHT)
			o->weight_bytes += (double)t->bytes;
		else
			o->act_in_bytes += (double)t->bytes;
	}
	for (uint32_t j = 0; j < op->n_out; j++) {
		o->act_out_bytes += (double)g->tensors[op->out[j]].bytes;
		o->elems_out += (double)g->tensors[op->out[j]].elems;
	}
	oprow_geom geo;
	oprow_geometry(g, op, &geo);
#define NA0(v) ((v) == OPROW_NA ? 0.0 : (double)(v))
	o->batch = NA0(geo.batch), o->m = NA0(geo.m), o->n = NA0(geo.n), o->k = NA0(geo.k);
	o->h = NA0(geo.h), o->w = NA0(geo.w), o->c_in = NA0(geo.c_in), o->c_out = NA0(geo.c_out);
	o->h_out = NA0(geo.h_out), o->w_out = NA0(geo.w_out), o->kh = NA0(geo.kh), o->kw = NA0(geo.kw);
	o->stride_h = NA0(geo.stride_h), o->stride_w = NA0(geo.stride_w), o->groups = NA0(geo.groups);
#undef NA0
	o->end_ns = NAN;
	est_op_kind(o);
}

/* ---- features ---------------------------------------------------------------------------- */

static double cdiv(double a, double b) { return b > 0 ? ceil(a / b - 1e-9) : 0; }

typedef struct est_parts {
	double pe_ns, pe_tiles, vec_ns, act_ns, insts_ns, w_ns, in_ns, out_ns, desc_ns;
} est_parts;

static void est_parts_of(const chip *c, const est_op *o, est_parts *p)
{
	memset(p, 0, sizeof *p);
	double es = o->elems_out > 0 ? o->act_out_bytes / o->elems_out : 2;
	asim_dtype dt = es <= 1 ? ASIM_DT_FP8_E4M3 : es <= 2 ? ASIM_DT_BF16 : ASIM_DT_FP32;
	double rate = c->pe.rate[dt] > 0 ? c->pe.rate[dt] : 1;
	double pf = c->pe.cols, rows = c->pe.rows;
	double mm = (double)c->pe.max_moving;
	if (c->psum_bank_bytes / 4 > 0 && (double)(c->psum_bank_bytes / 4) < mm)
		mm = (double)(c->psum_bank_bytes / 4);
	double fold = c->pe.mode == CHIP_PE_SERIAL_FOLDS ? c->pe.fill_cycles + c->pe.drain_cycles : 0;
	double vl = c->vector.lanes, vr = c->vector.elems_per_cycle * c->vector.clock_ghz;
	double sl = c->scalar.lanes, sr = c->scalar.elems_per_cycle * c->scalar.clock_ghz;
	double vfix = c->vector.fixed_cycles / c->vector.clock_ghz;
	double bw = c->hbm.bandwidth_gb_per_s;
	if (c->dma_gb_per_s > 0 && c->dma_gb_per_s < bw)
		bw = c->dma_gb_per_s;
	double b = o->batch > 0 ? o->batch : 1;
	double passes = 0;
	int conv = strcmp(o->type, "conv2d") == 0;
	int dw = conv && o->groups > 1 && o->groups == o->c_in;
	double pix = o->h_out * o->w_out, taps = o->kh * o->kw;
	if (conv && !dw) {
		double g = o->groups > 0 ? o->groups : 1;
		double chunks = cdiv(pix, mm), mv = chunks > 0 ? pix / chunks : 0;
		p->pe_tiles = b * g * cdiv(o->c_out / g, pf) * cdiv(o->c_in / g, rows) * taps * chunks;
		double ii = mv > c->pe.min_ii_cycles ? mv : c->pe.min_ii_cycles;
		p->pe_ns = p->pe_tiles * (ii / rate + fold) / c->pe.clock_ghz;
		p->vec_ns = b * cdiv(o->c_out, vl) * pix / vr;
		passes = b * g * cdiv(o->c_out / g, pf) * chunks;
		p->desc_ns = b * (o->c_in + o->c_out);
	} else if (dw) {
		double chunks = cdiv(pix, mm);
		p->vec_ns = b * cdiv(o->c_out, vl) * pix * taps / vr;
		passes = b * cdiv(o->c_out, vl) * taps * chunks;
		p->desc_ns = b * (o->c_in + o->c_out);
	} else if (o->m > 0 && o->n > 0) {               /* GEMM */
		double chunks = cdiv(o->m, mm), mv = chunks > 0 ? o->m / chunks : 0;
		p->pe_tiles = b * cdiv(o->n, pf) * cdiv(o->k, rows) * chunks;
		double ii = mv > c->pe.min_ii_cycles ? mv : c->pe.min_ii_cycles;
		p->pe_ns = p->pe_tiles * (ii / rate + fold) / c->pe.clock_ghz;
		p->vec_ns = b * cdiv(o->n, vl) * o->m / vr;
		passes = b * cdiv(o->n, pf) * chunks;
		p->desc_ns = b * (o->m + o->k);
	} else if (o->c_in > 0) {                       /* pooling */
		p->vec_ns = b * cdiv(o->c_in, vl) * o->h * o->w / vr;
		passes = b * cdiv(o->c_in, vl) * (o->kh * o->kw > 0 && strcmp(o->type, "global_avgpool") != 0
		                                  ? o->kh * o->kw : 1);
		p->desc_ns = b * (o->c_in + o->c_out);
	} else if (o->elems_out > 0 && strcmp(o->type, "reshape") != 0) {   /* elementwise, ... */
		double in_el = o->act_in_bytes / es;
		p->vec_ns = (in_el > o->elems_out ? in_el : o->elems_out) / (vl * vr);
		passes = cdiv(o->elems_out, vl * mm) + 1;
		p->desc_ns = cdiv(o->elems_out, mm);
	}
	if (o->act[0] && strcmp(o->act, "none") != 0 && o->elems_out > 0)
		p->act_ns = o->elems_out / (sl * sr);
	p->insts_ns = passes * vfix;
	p->w_ns = o->weight_bytes / bw;
	p->in_ns = o->act_in_bytes / bw;
	p->out_ns = o->act_out_bytes / bw;
	p->desc_ns *= c->dma.fixed_ns / (c->dma.engines > 0 ? c->dma.engines : 1);
	if (strcmp(o->type, "reshape") == 0)
		memset(p, 0, sizeof *p);              /* aliases its input: no instruction */
}

static double parts_compute(const est_parts *p) { return p->pe_ns + p->vec_ns + p->act_ns + p->insts_ns; }

/* The features from the parts of the op and its neighbours (NULL at the ends) and its lowered
 * busy times: est_features and est_predict_graph (which computes each op's parts once) share it. */
static void features_of(const est_op *o, const est_parts *prev, const est_parts *p, const est_parts *next,
                        const est_low *l, double f[EST_NX])
{
	double *raw = f + EST_NF;
#define X(name) raw[EST_R_##name] = o->name;
	EST_RAW(X)
#undef X
	f[EST_F_one] = 1;
	f[EST_F_pe_ns] = p->pe_ns;
	f[EST_F_pe_tiles] = p->pe_tiles;
	f[EST_F_vec_ns] = p->vec_ns;
	f[EST_F_act_ns] = p->act_ns;
	f[EST_F_vec_insts_ns] = p->insts_ns;
	f[EST_F_w_ns] = p->w_ns;
	f[EST_F_in_ns] = p->in_ns;
	f[EST_F_out_ns] = p->out_ns;
	f[EST_F_desc_ns] = p->desc_ns;
	double comp = parts_compute(p), dma = p->w_ns + p->in_ns + p->out_ns;
	f[EST_F_bound_ns] = comp > dma ? comp : dma;
	double pc = prev ? parts_compute(prev) : 0;
	f[EST_F_prev_compute_ns] = pc;
	f[EST_F_prev_out_ns] = prev ? prev->out_ns : 0;
	f[EST_F_w_exposed_ns] = p->w_ns > pc ? p->w_ns - pc : 0;
	/* est_low's fields are the low_* features, in order */
	_Static_assert(sizeof(est_low) == (EST_F_low_bound_ns - EST_F_low_pe_ns + 1) * sizeof(double)
	               && offsetof(est_low, desc) == (EST_F_low_desc - EST_F_low_pe_ns) * sizeof(double),
	               "est_low must list the low_* features in order");
	memcpy(&f[EST_F_low_pe_ns], l, sizeof *l);
	f[EST_F_next_w_ns] = next ? next->w_ns : 0;
	f[EST_F_next_compute_ns] = next ? parts_compute(next) : 0;
}

void est_features(const chip *c, const est_op *prev, const est_op *o, const est_op *next, double f[EST_NX])
{
	est_parts p, q, r;
	est_low l;
	est_parts_of(c, o, &p);
	if (prev)
		est_parts_of(c, prev, &q);
	if (next)
		est_parts_of(c, next, &r);
	est_lowered(c, o, &l);
	features_of(o, prev ? &q : NULL, &p, next ? &r : NULL, &l, f);
}

/* ---- data sets --------------------------------------------------------------------------- */

void est_data_init(est_data *d) { memset(d, 0, sizeof *d); }
void est_data_fini(est_data *d)
{
	asim_free(d->ops);
	asim_free(d->graph_start);
	memset(d, 0, sizeof *d);
}

int est_data_begin_graph(est_data *d)
{
	if (asim_grow((void **)&d->graph_start, &d->gcap, d->n_graphs + 1, sizeof *d->graph_start))
		return ASIM_ENOMEM;
	d->graph_start[d->n_graphs++] = d->n;
	return 0;
}

int est_data_push(est_data *d, const est_op *o)
{
	if (d->n_graphs == 0 && est_data_begin_graph(d))
		return ASIM_ENOMEM;
	if (asim_grow((void **)&d->ops, &d->cap, d->n + 1, sizeof *d->ops))
		return ASIM_ENOMEM;
	d->ops[d->n++] = *o;
	return 0;
}

int est_simulate(const graph *g, const chip *c, double *total_ns, double *op_end, asim_err *e)
{
	engine_result r;
	memset(&r, 0, sizeof r);
	int rc = rungraph_simulate(g, c, NULL, &r, e);
	if (rc == 0) {
		*total_ns = isa_ticks_to_ns(&r.clk, r.end);
		if (op_end)
			for (size_t i = 0; i < g->n_ops; i++)
				op_end[i] = i < r.n_gops && r.gops[i].insts ? isa_ticks_to_ns(&r.clk, r.gops[i].end)
				                                            : NAN;
	}
	engine_result_fini(&r);
	return rc;
}

int est_simulate_isolated(const graph *g, size_t i, const chip *c, double *ns, asim_err *e)
{
	const graph_op *op = &g->ops[i];
	graph_tensor t[GRAPH_MAX_IN + GRAPH_MAX_OUT];
	uint32_t map_from[GRAPH_MAX_IN + GRAPH_MAX_OUT];
	uint32_t nt = 0;
	graph_op one = *op;
	one.group = -1;
	for (uint32_t j = 0; j < op->n_in + op->n_out; j++) {
		int is_out = j >= op->n_in;
		uint32_t src = is_out ? op->out[j - op->n_in] : op->in[j];
		uint32_t k = 0;
		while (k < nt && map_from[k] != src)
			k++;
		if (k == nt) {
			map_from[nt] = src;
			t[nt] = g->tensors[src];
			if (is_out) {
				t[nt].kind = GRAPH_OUTPUT;
				t[nt].producer = 0;
			} else {
				if (t[nt].kind != GRAPH_WEIGHT)
					t[nt].kind = GRAPH_INPUT;
				t[nt].producer = -1;
			}
			nt++;
		}
		if (is_out)
			one.out[j - op->n_in] = k;
		else
			one.in[j] = k;
	}
	graph sub;
	memset(&sub, 0, sizeof sub);
	sub.name = g->name;
	sub.source = g->source;
	sub.tensors = t;
	sub.n_tensors = nt;
	sub.ops = &one;
	sub.n_ops = 1;
	sub.total_macs = op->macs;
	sub.total_flops = op->flops;
	memcpy(sub.hash, g->hash, sizeof sub.hash);
	return est_simulate(&sub, c, ns, NULL, e);
}

int est_data_add_graph(est_data *d, const graph *g, const chip *c, asim_err *e)
{
	double total;
	double *end = asim_calloc(g->n_ops ? g->n_ops : 1, sizeof *end);
	if (end == NULL)
		return asim_errorf(e, ASIM_ENOMEM, "out of memory");
	int rc = est_simulate(g, c, &total, end, e);
	if (rc == 0 && (rc = est_data_begin_graph(d)) != 0)
		asim_errorf(e, rc, "out of memory");
	for (size_t i = 0; rc == 0 && i < g->n_ops; i++) {
		est_op o;
		est_op_from_graph(g, i, &o);
		o.end_ns = end[i];
		if ((rc = est_data_push(d, &o)) != 0)
			asim_errorf(e, rc, "out of memory");
	}
	if (rc == 0 && d->chip[0] == '\0')
		snprintf(d->chip, sizeof d->chip, "%s", c->name);
	asim_free(end);
	return rc;
}

/* ---- fitting ----------------------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Solve (A) x = b for a symmetric positive definite p×p A (row-major, overwritten). 0 or -1. */
static int chol_solve(double *A, double *b, int p)
{
	for (int j = 0; j < p; j++) {
		double s = A[j * p + j];
		for (int k = 0; k < j; k++)
			s -= A[j * p + k] * A[j * p + k];
		if (!(s > 0))
			return -1;
		double l = sqrt(s);
		A[j * p + j] = l;
		for (int i = j + 1; i < p; i++) {
			double t = A[i * p + j];
			for (int k = 0; k < j; k++)
				t -= A[i * p + k] * A[j * p + k];
			A[i * p + j] = t / l;
		}
	}
	for (int i = 0; i < p; i++) {
		double t = b[i];
		for (int k = 0; k < i; k++)
			t -= A[i * p + k] * b[k];
		b[i] = t / A[i * p + i];
	}
	for (int i = p - 1; i >= 0; i--) {
		double t = b[i];
		for (int k = i + 1; k < p; k++)
			t -= A[k * p + i] * b[k];
		b[i] = t / A[i * p + i];
	}
	return 0;
}

/* Ridge on standardised columns `use` (count p) of X (n × EST_NF), rows with mask[r] != skip.
 * Output: beta in standardised units (p entries) and intercept; returns 0 or -1. */
typedef struct fit_ctx {
	const double *X, *y;
	size_t n;
	int use[EST_NF], p;
	double mu[EST_NF], sd[EST_NF], ymu;
} fit_ctx;

static int ridge(const fit_ctx *F, const unsigned char *fold, int skip, double lambda, double *beta,
                 double *icpt)
{
	int p = F->p;
	double A[EST_NF * EST_NF], b[EST_NF];
	memset(A, 0, sizeof A);
	memset(b, 0, sizeof b);
	double ysum = 0, cnt = 0;
	double xs[EST_NF];
	memset(xs, 0, sizeof xs);
	for (size_t r = 0; r < F->n; r++) {
		if (fold && fold[r] == skip)
			continue;
		cnt += 1;
		ysum += F->y[r];
		for (int a = 0; a < p; a++)
			xs[a] += (F->X[r * EST_NX + F->use[a]] - F->mu[F->use[a]]) / F->sd[F->use[a]];
	}
	if (cnt < 1)
		return -1;
	double ym = ysum / cnt, xm[EST_NF];
	for (int a = 0; a < p; a++)
		xm[a] = xs[a] / cnt;
	for (size_t r = 0; r < F->n; r++) {
		if (fold && fold[r] == skip)
			continue;
		double z[EST_NF];
		for (int a = 0; a < p; a++)
			z[a] = (F->X[r * EST_NX + F->use[a]] - F->mu[F->use[a]]) / F->sd[F->use[a]] - xm[a];
		double yc = F->y[r] - ym;
		for (int a = 0; a < p; a++) {
			b[a] += z[a] * yc;
			for (int c2 = 0; c2 <= a; c2++)
				A[a * p + c2] += z[a] * z[c2];
		}
	}
	for (int a = 0; a < p; a++) {
		for (int c2 = 0; c2 < a; c2++)
			A[c2 * p + a] = A[a * p + c2];
		A[a * p + a] += lambda * cnt;
	}
	if (p > 0 && chol_solve(A, b, p) != 0)
		return -1;
	double ic = ym;
	for (int a = 0; a < p; a++) {
		beta[a] = b[a];
		ic -= b[a] * xm[a];
	}
	*icpt = ic;
	return 0;
}

static double ridge_eval(const fit_ctx *F, const double *beta, double icpt, size_t r)
{
	double s = icpt;
	for (int a = 0; a < F->p; a++)
		s += beta[a] * (F->X[r * EST_NX + F->use[a]] - F->mu[F->use[a]]) / F->sd[F->use[a]];
	return s;
}


/* ---- gradient-boosted trees on the residual ------------------------------------------------
 *
 * Least-squares boosting: EST_TREES trees of depth ≤ EST_DEPTH, shrinkage EST_SHRINK, leaves of
 * at least EST_MIN_LEAF rows. Candidate thresholds per feature: midpoints between consecutive
 * distinct values when there are at most EST_BINS of them, else the midpoints at EST_BINS
 * quantiles; rows are binned once, and a node's best split comes from per-bin sums (O(rows ×
 * features) per level). Ties between equal gains go to the lower feature, then the lower
 * threshold: deterministic. */
#define EST_TREES 120
#define EST_DEPTH 5
#define EST_SHRINK 0.2
#define EST_MIN_LEAF 3
#define EST_BINS 64

/* Depth of the subtree at node i (a leaf: 0), at most limit + 1. */
static unsigned node_depth(const est_kind *k, int32_t i, unsigned limit)
{
	const est_node *nd = &k->nodes[i];
	if (nd->feat < 0 || limit == 0)
		return nd->feat < 0 ? 0 : 1;
	unsigned l = node_depth(k, nd->left, limit - 1), r = node_depth(k, nd->right, limit - 1);
	return 1 + (l > r ? l : r);
}

/* Copy the subtree at node i to heap slot h (depth d of D) of one flat tree. */
static void flat_fill(const est_kind *k, int32_t i, size_t h, unsigned d, unsigned D, double *thr,
                      double *val, uint8_t *feat)
{
	const est_node *nd = &k->nodes[i];
	if (d == D) {
		val[h - (((size_t)1 << D) - 1)] = nd->value;
		return;
	}
	int leaf = nd->feat < 0;
	feat[h] = (uint8_t)(leaf ? 0 : nd->feat);      /* padding: both sides hold the leaf */
	thr[h] = leaf ? 0 : nd->thr;
	flat_fill(k, leaf ? i : nd->left, 2 * h + 1, d + 1, D, thr, val, feat);
	flat_fill(k, leaf ? i : nd->right, 2 * h + 2, d + 1, D, thr, val, feat);
}

void est_kind_flatten(est_kind *k)
{
	asim_free(k->flat);
	asim_free(k->flat_feat);
	k->flat = NULL;
	k->flat_feat = NULL;
	k->flat_depth = 0;
	unsigned D = 0;
	for (uint32_t t = 0; t < k->n_trees; t++) {
		unsigned d = node_depth(k, (int32_t)k->roots[t], EST_FLAT_DEPTH_MAX);
		if (d > EST_FLAT_DEPTH_MAX)
			return;
		D = d > D ? d : D;
	}
	size_t ni = ((size_t)1 << D) - 1, nl = (size_t)1 << D;
	double *flat = asim_calloc(k->n_trees ? k->n_trees : 1, (ni + nl) * sizeof *flat);
	uint8_t *feat = asim_calloc(k->n_trees && ni ? k->n_trees : 1, ni ? ni : 1);
	if (flat == NULL || feat == NULL) {
		asim_free(flat);
		asim_free(feat);
		return;
	}
	for (uint32_t t = 0; t < k->n_trees; t++)
		flat_fill(k, (int32_t)k->roots[t], 0, 0, D, flat + t * (ni + nl), flat + t * (ni + nl) + ni,
		          feat + t * ni);
	k->flat = flat;
	k->flat_feat = feat;
	k->flat_depth = D;
}

/* One step down a flat tree: x[FEATURE] <= THRESHOLD goes left (NaN goes right, as in the
 * node walk). Branch-free, so the walks of several trees overlap in the pipeline. */
#define EST_FLAT_LANES 8
#define FLAT_STEP(h, feat, thr) ((h) = 2 * (h) + 1 + (size_t)!(f[(feat)[h]] <= (thr)[h]))

double est_kind_eval(const est_kind *k, const double *f)
{
	double s = 0;
	for (int j = 0; j < EST_NF; j++)
		s += k->coef[j] * f[j];
	uint32_t t = 0;
	if (k->flat) {
		unsigned D = k->flat_depth;
		size_t ni = ((size_t)1 << D) - 1, nl = (size_t)1 << D, stride = ni + nl;
		/* EST_FLAT_LANES trees at a time (independent walks overlap in the pipeline); the
		 * leaves are added in tree order, as in the node walk */
		for (; t + EST_FLAT_LANES <= k->n_trees; t += EST_FLAT_LANES) {
			const double *tb = k->flat + t * stride;
			const uint8_t *fb = k->flat_feat + t * ni;
			size_t h[EST_FLAT_LANES] = {0};
			for (unsigned d = 0; d < D; d++)
				for (int j = 0; j < EST_FLAT_LANES; j++)
					FLAT_STEP(h[j], fb + j * ni, tb + j * stride);
			for (int j = 0; j < EST_FLAT_LANES; j++)
				s += tb[j * stride + h[j]];
		}
		for (; t < k->n_trees; t++) {
			const double *t0 = k->flat + t * stride;
			const uint8_t *f0 = k->flat_feat + t * ni;
			size_t h0 = 0;
			for (unsigned d = 0; d < D; d++)
				FLAT_STEP(h0, f0, t0);
			s += t0[h0];
		}
		return s < 0 ? 0 : s;
	}
	for (; t < k->n_trees; t++) {
		const est_node *nd = &k->nodes[k->roots[t]];
		while (nd->feat >= 0)
			nd = &k->nodes[f[nd->feat] <= nd->thr ? nd->left : nd->right];
		s += nd->value;
	}
	return s < 0 ? 0 : s;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

typedef struct gb_ctx {
	size_t n;
	int nthr[EST_NX];
	double thr[EST_NX][EST_BINS];
	unsigned char *bin;       /* n × EST_NX */
	double *res;              /* residuals */
	size_t *idx, *tmp;
	est_node *nodes;
	size_t n_nodes, cap;
	int oom;
} gb_ctx;

static int32_t gb_node(gb_ctx *G, size_t *rows, size_t nr, int depth)
{
	if (asim_grow((void **)&G->nodes, &G->cap, G->n_nodes + 1, sizeof *G->nodes)) {
		G->oom = 1;
		return 0;
	}
	int32_t me = (int32_t)G->n_nodes++;
	double sum = 0;
	for (size_t i = 0; i < nr; i++)
		sum += G->res[rows[i]];
	est_node leaf = {-1, -1, -1, 0, nr ? EST_SHRINK * sum / (double)nr : 0};
	G->nodes[me] = leaf;
	if (depth >= EST_DEPTH || nr < 2 * EST_MIN_LEAF)
		return me;
	double base = nr ? sum * sum / (double)nr : 0, best = base * (1 + 1e-12) + 1e-9;
	int bf = -1, bt = -1;
	double hs[EST_BINS + 1];
	size_t hc[EST_BINS + 1];
	for (int f = 1; f < EST_NX; f++) {
		if (G->nthr[f] == 0)
			continue;
		memset(hs, 0, sizeof hs);
		memset(hc, 0, sizeof hc);
		for (size_t i = 0; i < nr; i++) {
			unsigned b = G->bin[rows[i] * EST_NX + f];
			hs[b] += G->res[rows[i]];
			hc[b]++;
		}
		double ls = 0;
		size_t lc = 0;
		for (int t = 0; t < G->nthr[f]; t++) {      /* left: bins 0..t */
			ls += hs[t];
			lc += hc[t];
			size_t rc = nr - lc;
			if (lc < EST_MIN_LEAF || rc < EST_MIN_LEAF)
				continue;
			double rs = sum - ls;
			double gain = ls * ls / (double)lc + rs * rs / (double)rc;
			if (gain > best) {
				best = gain;
				bf = f;
				bt = t;
			}
		}
	}
	if (bf < 0)
		return me;
	size_t nl = 0, nrr = 0;
	for (size_t i = 0; i < nr; i++) {
		if (G->bin[rows[i] * EST_NX + bf] <= bt)
			rows[nl++] = rows[i];
		else
			G->tmp[nrr++] = rows[i];
	}
	memcpy(rows + nl, G->tmp, nrr * sizeof *rows);
	int32_t l = gb_node(G, rows, nl, depth + 1);
	int32_t r = gb_node(G, rows + nl, nrr, depth + 1);
	if (G->oom)
		return me;
	G->nodes[me].feat = bf;
	G->nodes[me].thr = G->thr[bf][bt];
	G->nodes[me].left = l;
	G->nodes[me].right = r;
	return me;
}

static int gb_fit(est_kind *k, const double *X, const double *y, size_t n)
{
	gb_ctx *G = asim_calloc(1, sizeof *G);
	double *col = asim_calloc(n ? n : 1, sizeof *col);
	int rc = -1;
	if (G == NULL || col == NULL)
		goto out;
	G->n = n;
	G->bin = asim_calloc(n ? n : 1, EST_NX);
	G->res = asim_calloc(n ? n : 1, sizeof *G->res);
	G->idx = asim_calloc(n ? n : 1, sizeof *G->idx);
	G->tmp = asim_calloc(n ? n : 1, sizeof *G->tmp);
	k->roots = asim_calloc(EST_TREES, sizeof *k->roots);
	if (!G->bin || !G->res || !G->idx || !G->tmp || !k->roots)
		goto out;
	for (int f = 1; f < EST_NX; f++) {
		for (size_t r = 0; r < n; r++)
			col[r] = X[r * EST_NX + f];
		qsort(col, n, sizeof *col, cmp_dbl);
		size_t u = 0;
		for (size_t r = 0; r < n; r++)
			if (u == 0 || col[r] != col[u - 1])
				col[u++] = col[r];
		int nt = 0;
		if (u > 1) {
			size_t steps = u - 1 <= EST_BINS ? u - 1 : EST_BINS;
			for (size_t s = 0; s < steps; s++) {
				size_t at = u - 1 <= EST_BINS ? s : (s * (u - 1)) / steps;
				double t = col[at] + (col[at + 1] - col[at]) / 2;
				if (nt == 0 || t > G->thr[f][nt - 1])
					G->thr[f][nt++] = t;
			}
		}
		G->nthr[f] = nt;
		for (size_t r = 0; r < n; r++) {
			double v = X[r * EST_NX + f];
			int lo = 0, hi = nt;              /* first threshold >= v */
			while (lo < hi) {
				int mid = (lo + hi) / 2;
				if (G->thr[f][mid] < v)
					lo = mid + 1;
				else
					hi = mid;
			}
			G->bin[r * EST_NX + f] = (unsigned char)lo;
		}
	}
	for (size_t r = 0; r < n; r++) {
		double s = 0;
		for (int j = 0; j < EST_NF; j++)
			s += k->coef[j] * X[r * EST_NX + j];
		G->res[r] = y[r] - s;
	}
	for (uint32_t t = 0; t < EST_TREES; t++) {
		for (size_t r = 0; r < n; r++)
			G->idx[r] = r;
		size_t first = G->n_nodes;
		gb_node(G, G->idx, n, 0);
		if (G->oom)
			goto out;
		k->roots[t] = (uint32_t)first;
		k->n_trees = t + 1;
		for (size_t r = 0; r < n; r++) {
			const est_node *nd = &G->nodes[first];
			while (nd->feat >= 0)
				nd = &G->nodes[X[r * EST_NX + nd->feat] <= nd->thr ? nd->left : nd->right];
			G->res[r] -= nd->value;
		}
	}
	k->nodes = G->nodes;
	k->n_nodes = G->n_nodes;
	G->nodes = NULL;
	rc = 0;
out:
	if (G) {
		asim_free(G->bin);
		asim_free(G->res);
		asim_free(G->idx);
		asim_free(G->tmp);
		asim_free(G->nodes);
	}
	asim_free(G);
	asim_free(col);
	if (rc) {
		asim_free(k->roots);
		k->roots = NULL;
		k->n_trees = 0;
	}
	return rc;
}

/* Fit one kind on rows X (n × EST_NX), y. */
static int fit_kind(est_kind *k, const double *X, const double *y, size_t n, uint64_t seed)
{
	static const double grid[] = {1e-8, 1e-6, 1e-4, 1e-2, 1};
	fit_ctx F;
	memset(&F, 0, sizeof F);
	F.X = X;
	F.y = y;
	F.n = n;
	k->rows = n;
	for (int j = 0; j < EST_NX; j++) {
		k->lo[j] = INFINITY;
		k->hi[j] = -INFINITY;
		if (j < EST_NF)
			k->coef[j] = 0;
	}
	for (size_t r = 0; r < n; r++)
		for (int j = 0; j < EST_NX; j++) {
			double v = X[r * EST_NX + j];
			if (v < k->lo[j])
				k->lo[j] = v;
			if (v > k->hi[j])
				k->hi[j] = v;
		}
	for (int j = 1; j < EST_NF; j++) {
		double s = 0, s2 = 0;
		for (size_t r = 0; r < n; r++)
			s += X[r * EST_NX + j];
		double mu = s / (double)n;
		for (size_t r = 0; r < n; r++) {
			double d = X[r * EST_NX + j] - mu;
			s2 += d * d;
		}
		double sd = sqrt(s2 / (double)n);
		if (sd > 1e-12 * (fabs(mu) + 1e-300) && sd > 0) {
			F.use[F.p++] = j;
			F.mu[j] = mu;
			F.sd[j] = sd;
		}
	}
	double beta[EST_NF], icpt = 0;
	unsigned char *fold = n >= 10 ? asim_malloc(n) : NULL;
	double best = INFINITY, lam = grid[2];
	if (fold) {
		for (size_t r = 0; r < n; r++)
			fold[r] = (unsigned char)(splitmix64(seed ^ splitmix64(r)) % 5);
		for (size_t gi = 0; gi < sizeof grid / sizeof grid[0]; gi++) {
			double sse = 0;
			int ok = 1;
			for (int f = 0; f < 5 && ok; f++) {
				if (ridge(&F, fold, f, grid[gi], beta, &icpt) != 0) {
					ok = 0;
					break;
				}
				for (size_t r = 0; r < n; r++)
					if (fold[r] == f) {
						double pr = ridge_eval(&F, beta, icpt, r);
						if (pr < 0)
							pr = 0;
						sse += (pr - y[r]) * (pr - y[r]);
					}
			}
			if (ok && sse < best) {
				best = sse;
				lam = grid[gi];
			}
		}
		asim_free(fold);
	}
	k->lambda = lam;
	while (ridge(&F, NULL, -1, k->lambda, beta, &icpt) != 0) {
		if (k->lambda >= 1e6) {          /* degenerate: the mean */
			F.p = 0;
			ridge(&F, NULL, -1, 0, beta, &icpt);
			break;
		}
		k->lambda *= 100;
	}
	k->coef[0] = icpt;
	for (int a = 0; a < F.p; a++) {
		int j = F.use[a];
		k->coef[j] = beta[a] / F.sd[j];
		k->coef[0] -= beta[a] * F.mu[j] / F.sd[j];
	}
	if (gb_fit(k, X, y, n) != 0)
		return -1;
	est_kind_flatten(k);
	return 0;
}

typedef struct kind_ix {
	const char *name;
	size_t row;
} kind_ix;

static int kind_ix_cmp(const void *a, const void *b)
{
	const kind_ix *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x->row < y->row ? -1 : x->row > y->row);
}

int est_fit(const est_data *d, const chip *c, uint64_t seed, est_model *m, asim_err *e)
{
	memset(m, 0, sizeof *m);
	if (d->n == 0)
		return asim_errorf(e, ASIM_ESCHEMA, "no training rows");
	double *X = asim_calloc(d->n, EST_NX * sizeof *X);
	double *y = asim_calloc(d->n, sizeof *y);
	double *Xs = asim_calloc(d->n, EST_NX * sizeof *Xs);
	double *ys = asim_calloc(d->n, sizeof *ys);
	kind_ix *ix = asim_calloc(d->n, sizeof *ix);
	int rc = 0;
	if (!X || !y || !Xs || !ys || !ix) {
		rc = asim_errorf(e, ASIM_ENOMEM, "out of memory");
		goto out;
	}
	double sxy = 0, sxx = 0;
	for (size_t gi = 0; gi < d->n_graphs; gi++) {
		size_t a = d->graph_start[gi], b = gi + 1 < d->n_graphs ? d->graph_start[gi + 1] : d->n;
		double run = 0, fl = 0;
		for (size_t i = a; i < b; i++) {
			const est_op *o = &d->ops[i];
			est_features(c, i > a ? &d->ops[i - 1] : NULL, o, i + 1 < b ? &d->ops[i + 1] : NULL,
			             &X[i * EST_NX]);
			double t = 0;
			if (!isnan(o->end_ns)) {
				t = o->end_ns > run ? o->end_ns - run : 0;
				if (o->end_ns > run)
					run = o->end_ns;
			}
			y[i] = t;
			fl += o->flops;
			ix[i].name = o->kind;
			ix[i].row = i;
		}
		sxy += run * fl;
		sxx += fl * fl;
	}
	m->flops_ns = sxx > 0 ? sxy / sxx : 0;
	qsort(ix, d->n, sizeof *ix, kind_ix_cmp);
	size_t nk = 1;
	for (size_t i = 1; i < d->n; i++)
		nk += strcmp(ix[i].name, ix[i - 1].name) != 0;
	m->kinds = asim_calloc(nk + 1, sizeof *m->kinds);
	if (!m->kinds) {
		rc = asim_errorf(e, ASIM_ENOMEM, "out of memory");
		goto out;
	}
	m->n_kinds = nk + 1;
	snprintf(m->kinds[0].name, EST_KIND_MAX, "*");
	if (fit_kind(&m->kinds[0], X, y, d->n, seed) != 0) {
		rc = asim_errorf(e, ASIM_ENOMEM, "out of memory");
		goto out;
	}
	size_t k = 1;
	for (size_t i = 0; i < d->n;) {
		size_t j = i;
		while (j < d->n && strcmp(ix[j].name, ix[i].name) == 0) {
			memcpy(&Xs[(j - i) * EST_NX], &X[ix[j].row * EST_NX], EST_NX * sizeof *X);
			ys[j - i] = y[ix[j].row];
			j++;
		}
		snprintf(m->kinds[k].name, EST_KIND_MAX, "%s", ix[i].name);
		if (fit_kind(&m->kinds[k], Xs, ys, j - i, seed) != 0) {
			rc = asim_errorf(e, ASIM_ENOMEM, "out of memory");
			goto out;
		}
		k++;
		i = j;
	}
	snprintf(m->chip, sizeof m->chip, "%s", c->name);
	memcpy(m->chip_hash, c->hash, sizeof m->chip_hash);
	m->seed = seed;
	m->rows = d->n;
	m->graphs = d->n_graphs;
out:
	asim_free(X);
	asim_free(y);
	asim_free(Xs);
	asim_free(ys);
	asim_free(ix);
	if (rc)
		est_model_fini(m);
	return rc;
}

void est_model_fini(est_model *m)
{
	for (size_t k = 0; m->kinds && k < m->n_kinds; k++) {
		asim_free(m->kinds[k].roots);
		asim_free(m->kinds[k].nodes);
		asim_free(m->kinds[k].flat);
		asim_free(m->kinds[k].flat_feat);
	}
	asim_free(m->kinds);
	memset(m, 0, sizeof *m);
}

/* ---- prediction -------------------------------------------------------------------------- */

const est_kind *est_model_find(const est_model *m, const char *kind)
{
	size_t lo = 1, hi = m->n_kinds;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(m->kinds[mid].name, kind);
		if (c == 0)
			return &m->kinds[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Ops of one signature within a prediction: NAS candidates repeat block shapes, and an op's
 * parts and lowered busy times are pure functions of its est_op (bytes equal: values equal). */
#define EST_MEMO 64
typedef struct est_memo {
	uint64_t hash;
	size_t op;                /* index of the op it was computed for; SIZE_MAX: empty */
	est_parts parts;
	est_low low;
	const est_kind *kind;     /* NULL: a kind the model has not seen */
} est_memo;

/* A hash of the op's type and numbers (the kind derives from them), two multiply chains */
static uint64_t op_hash(const est_op *o)
{
	unsigned char b[sizeof *o - offsetof(est_op, batch)];
	memcpy(b, &o->batch, sizeof b);
	uint64_t h0, h1 = 0x9e3779b97f4a7c15ULL;
	memcpy(&h0, o->type, 8);
	size_t i = 0;
	for (; i + 16 <= sizeof b; i += 16) {
		uint64_t w0, w1;
		memcpy(&w0, b + i, 8);
		memcpy(&w1, b + i + 8, 8);
		h0 = (h0 ^ w0) * 0xff51afd7ed558ccdULL;
		h1 = (h1 ^ w1) * 0xc4ceb9fe1a85ec53ULL;
	}
	for (; i + 8 <= sizeof b; i += 8) {
		uint64_t w;
		memcpy(&w, b + i, 8);
		h0 = (h0 ^ w) * 0xff51afd7ed558ccdULL;
	}
	h0 ^= h1 ^ (h1 >> 29);
	return h0 ^ (h0 >> 32);
}

/* op i's parts, lowered busy times and model kind, from the memo when an earlier op of the same
 * bytes computed them */
static void op_parts(const est_model *m, const chip *c, const est_op *ops, size_t i, est_memo *memo,
                     est_parts *p, est_low *low, const est_kind **kind)
{
	uint64_t h = op_hash(&ops[i]);
	est_memo *e = &memo[h % EST_MEMO];
	if (e->op != SIZE_MAX && e->hash == h && memcmp(&ops[e->op], &ops[i], sizeof ops[i]) == 0) {
		*p = e->parts;
		*low = e->low;
		*kind = e->kind;
		return;
	}
	est_parts_of(c, &ops[i], p);
	est_lowered(c, &ops[i], low);
	*kind = est_model_find(m, ops[i].kind);
	e->hash = h;
	e->op = i;
	e->parts = *p;
	e->low = *low;
	e->kind = *kind;
}

double est_predict_graph(const est_model *m, const chip *c, const graph *g, est_op *ops, double *pred,
                         unsigned char *oor)
{
	est_op *own = NULL;
	if (ops == NULL) {
		own = ops = asim_calloc(g->n_ops ? g->n_ops : 1, sizeof *ops);
		if (ops == NULL)
			return NAN;
	}
	size_t n = g->n_ops;
	for (size_t i = 0; i < n; i++)
		est_op_from_graph(g, i, &ops[i]);
	est_memo memo[EST_MEMO];
	for (int j = 0; j < EST_MEMO; j++)
		memo[j].op = SIZE_MAX;
	/* ops i-1, i, i+1 in a rolling window: each op's parts and lowered times computed once */
	est_parts P[3];
	est_low L[2];
	const est_kind *K[2];
	if (n > 0)
		op_parts(m, c, ops, 0, memo, &P[1], &L[0], &K[0]);
	double total = 0;
	for (size_t i = 0; i < n; i++) {
		if (i + 1 < n)
			op_parts(m, c, ops, i + 1, memo, &P[2], &L[1], &K[1]);
		double f[EST_NX];
		features_of(&ops[i], i ? &P[0] : NULL, &P[1], i + 1 < n ? &P[2] : NULL, &L[0], f);
		const est_kind *k = K[0];
		int out = k == NULL;
		if (k == NULL)
			k = &m->kinds[0];
		double s = est_kind_eval(k, f);
		for (int j = 0; j < EST_NX; j++)
			if (f[j] < k->lo[j] || f[j] > k->hi[j])
				out = 1;
		if (s < 0)
			s = 0;
		pred[i] = s;
		if (oor)
			oor[i] = (unsigned char)out;
		total += s;
		P[0] = P[1];
		P[1] = P[2];
		L[0] = L[1];
		K[0] = K[1];
	}
	asim_free(own);
	return total;
}
