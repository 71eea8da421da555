/*
 * functional.c -- the functional executor, the reference, and tensor files (functional.h).
 *
 * Memory images of one core (bytes, little-endian codes):
 *
 *     HBM   [ t0 | t1 | ... ]            lower_hbm_place(); conv filters in the PE-ready layout
 *     SBUF  part 0   [ partition_bytes ]  partitions rows      (an element (p, i, j) of an access
 *           ...                                                 pattern is at byte offset +
 *     PSUM  part 0   [ partition_bytes ]  partitions rows       i·stride[0] + j·stride[1] of
 *                                                               partition part + p; HBM: row p at
 *                                                               offset + p·pstride)
 *
 * Element order of an access pattern: partition p, then free ordinal f = i + j·n[0] (i fastest).
 * Every arithmetic result is an FP32 value (C float, -ffp-contract=off) with NaN made the
 * positive canonical quiet NaN (as the datapath kernels do), rounded once to the destination
 * dtype. Moves (DMA, transpose, tensor_copy) copy codes when the dtypes agree and convert the
 * exact value otherwise. Units: bytes for offsets, elements for counts.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "isa/lower.h"
#include "sim/alloc.h"
#include "sim/datapath/format.h"
#include "sim/datapath/kernels.h"
#include "sim/datapath/npy.h"
#include "sim/datapath/philox.h"
#include "sim/functional.h"

static const char *const func_op_names[] = {
#define OP(name, str, cls, min_in, max_in, nout) str,
#include "sim/ops.def"
#undef OP
};

/* ---- formats and numerics ---------------------------------------------------------------- */

static dp_format fmt_of(asim_dtype dt)
{
	switch (dt) {
	case ASIM_DT_FP32: return DP_FMT_FP32;
	case ASIM_DT_BF16: return DP_FMT_BF16;
	case ASIM_DT_FP16: return DP_FMT_FP16;
	case ASIM_DT_FP8_E4M3: return DP_FMT_FP8_E4M3;
	case ASIM_DT_FP8_E5M2: return DP_FMT_FP8_E5M2;
	default: break;
	}
	ASIM_ASSERT(0 && "not a floating-point dtype");
	return DP_FMT_FP32;
}

/* The conversion of op `gop`'s results to dtype dt: the chip's defaults, overridden by the op. */
static dp_cvt op_cvt(const graph *g, const chip *c, uint32_t gop, asim_dtype dt)
{
	static const dp_rmode modes[ASIM_RND_COUNT] = {DP_RNE, DP_RTZ, DP_RU, DP_RD, DP_SR};
	dp_format f = fmt_of(dt);
	int rnd = (int)c->num.rounding;
	unsigned bits = dp_format_get(f)->bits;
	int sat = bits == 8 ? c->num.saturate_fp8 : bits == 16 ? c->num.saturate_16 : 0;
	unsigned k = c->num.sr_bits >= 1 && c->num.sr_bits <= 32 ? c->num.sr_bits : 32;
	if (g != NULL && gop < g->n_ops) {
		const graph_numerics *n = &g->ops[gop].num;
		if (n->rounding >= 0)
			rnd = n->rounding;
		if (n->saturate >= 0)
			sat = n->saturate;
		if (n->sr_bits > 0)
			k = (unsigned)n->sr_bits;
	}
	ASIM_ASSERT(rnd >= 0 && rnd < ASIM_RND_COUNT);
	dp_cvt cv = dp_cvt_make(f, modes[rnd]);
	cv.saturate = sat != 0;
	cv.sr_bits = k;
	return cv;
}

static float canon(float v)
{
	if (isnan(v)) {
		uint32_t q = 0x7fc00000u;
		memcpy(&v, &q, sizeof v);
	}
	return v;
}

static int act_ewop(graph_act a, dp_ewop *op)
{
	switch (a) {
	case GRAPH_ACT_RELU: *op = DP_EW_RELU; return 1;
	case GRAPH_ACT_RELU6: *op = DP_EW_RELU6; return 1;
	case GRAPH_ACT_GELU: *op = DP_EW_GELU; return 1;
	case GRAPH_ACT_SILU: *op = DP_EW_SILU; return 1;
	case GRAPH_ACT_SIGMOID: *op = DP_EW_SIGMOID; return 1;
	case GRAPH_ACT_TANH: *op = DP_EW_TANH; return 1;
	case GRAPH_ACT_EXP: *op = DP_EW_EXP; return 1;
	default: return 0;
	}
}

/* The FP32 activation (identity for none). */
static float act_f32(graph_act a, float x)
{
	dp_ewop op;
	return act_ewop(a, &op) ? canon(dp_ew_f32(op, x, 0.0f)) : x;
}

/* ---- tensor values ------------------------------------------------------------------------ */

int func_vals_init(func_vals *fv, const graph *g, asim_err *e)
{
	memset(fv, 0, sizeof *fv);
	fv->v = asim_calloc(g->n_tensors + 1, sizeof *fv->v);
	if (fv->v == NULL)
		return asim_errorf(e, ASIM_ENOMEM, "out of memory for tensor values");
	fv->n = g->n_tensors;
	for (size_t t = 0; t < g->n_tensors; t++) {
		fv->v[t] = asim_calloc(g->tensors[t].elems + 1, asim_dtype_bytes(g->tensors[t].dtype));
		if (fv->v[t] == NULL) {
			func_vals_fini(fv);
			return asim_errorf(e, ASIM_ENOMEM, "out of memory for tensor values");
		}
	}
	return 0;
}

void func_vals_fini(func_vals *fv)
{
	if (fv->v != NULL)
		for (size_t t = 0; t < fv->n; t++)
			asim_free(fv->v[t]);
	asim_free(fv->v);
	memset(fv, 0, sizeof *fv);
}

static int is_conv_filter(const graph *g, size_t t)
{
	for (size_t i = 0; i < g->n_ops; i++)
		if (g->ops[i].type == GRAPH_OP_CONV2D && g->ops[i].in[1] == t)
			return 1;
	return 0;
}

/* Rows of the smallest embedding table that tensor t indexes (0: t is no embedding's indices). */
static uint64_t index_bound(const graph *g, size_t t)
{
	uint64_t v = 0;
	for (size_t i = 0; i < g->n_ops; i++)
		if (g->ops[i].type == GRAPH_OP_EMBEDDING && g->ops[i].in[1] == t) {
			uint64_t r = g->tensors[g->ops[i].in[0]].shape[0];
			v = v == 0 || r < v ? r : v;
		}
	return v;
}

/* An integer tensor t is executed only as embedding indices read from an input or weight. */
static int index_only(const graph *g, size_t t)
{
	const graph_tensor *T = &g->tensors[t];
	if (T->kind != GRAPH_INPUT && T->kind != GRAPH_WEIGHT)
		return 0;
	for (size_t i = 0; i < g->n_ops; i++)
		for (uint32_t k = 0; k < g->ops[i].n_in; k++)
			if (g->ops[i].in[k] == t && !(g->ops[i].type == GRAPH_OP_EMBEDDING && k == 1))
				return 0;
	return 1;
}

int func_check_graph(const graph *g, asim_err *e)
{
	for (size_t i = 0; i < g->n_ops; i++) {
		const graph_op *op = &g->ops[i];
		const char *why = NULL;
		for (uint32_t k = 0; k < op->n_in + op->n_out && why == NULL; k++) {
			uint32_t t = k < op->n_in ? op->in[k] : op->out[k - op->n_in];
			if (!asim_dtype_is_float(g->tensors[t].dtype) && !index_only(g, t))
				why = "integer tensors are executed only as embedding indices that are inputs "
				      "or weights";
		}
		if (why == NULL && op->num.dtype >= 0)
			why = "a numerics 'dtype' override (operand conversion) is not lowered yet";
		if (why == NULL && op->num.accum >= 0 && op->num.accum != ASIM_DT_FP32)
			why = "only FP32 accumulation is executed functionally";
		if (why == NULL)
			switch (op->type) {
			case GRAPH_OP_MATMUL: case GRAPH_OP_RESHAPE: case GRAPH_OP_ADD: case GRAPH_OP_SUB:
			case GRAPH_OP_MUL: case GRAPH_OP_RELU: case GRAPH_OP_TRANSPOSE: case GRAPH_OP_CONCAT:
			case GRAPH_OP_MAXPOOL: case GRAPH_OP_AVGPOOL: case GRAPH_OP_GLOBAL_AVGPOOL: case GRAPH_OP_RELU6: case GRAPH_OP_GELU: case GRAPH_OP_SILU:
			case GRAPH_OP_SIGMOID: case GRAPH_OP_TANH: case GRAPH_OP_EXP: case GRAPH_OP_RELU_BWD:
			case GRAPH_OP_SOFTMAX: case GRAPH_OP_LAYERNORM: case GRAPH_OP_RMSNORM:
			case GRAPH_OP_EMBEDDING: case GRAPH_OP_SGD_UPDATE: case GRAPH_OP_ADAM_UPDATE:
				break;
			case GRAPH_OP_MATMUL_BWD_DATA:   /* the lowering refuses what it cannot map */
			case GRAPH_OP_MATMUL_BWD_WEIGHT:
				break;
			case GRAPH_OP_CONV2D_BWD_DATA:   /* W read in its logical layout */
				break;
			case GRAPH_OP_CONV2D_BWD_WEIGHT:
				for (size_t j = 0; j < g->n_ops && why == NULL; j++)
					for (uint32_t k = 0; k < g->ops[j].n_in; k++)
						if (g->ops[j].in[k] == op->out[0])
							why = "its dW (stored in the PE-ready filter layout) is an operand "
							      "of another op, which would read it in that layout";
				break;
			case GRAPH_OP_CONV2D: {
				const graph_tensor *W = &g->tensors[op->in[1]];
				if (W->kind != GRAPH_INPUT && W->kind != GRAPH_WEIGHT)
					why = "a filter computed by another op (the lowering reads filters in the "
					      "PE-ready layout only inputs and weights have)";
				for (size_t j = 0; j < g->n_ops && why == NULL; j++)
					for (uint32_t k = 0; k < g->ops[j].n_in; k++)
						if (g->ops[j].in[k] == op->in[1]
						    && !(g->ops[j].type == GRAPH_OP_CONV2D && k == 1))
							why = "its filter is also an operand of another kind of op (filters "
							      "are stored in the PE-ready layout)";
				break;
			}
			default:       /* every op type of sim/ops.def is a case above */
				why = "this op type is not executed functionally";
				break;
			}
		if (why != NULL) {
			return asim_error_at(e, ASIM_EUNSUPPORTED, g->source, op->line, op->col,
			                     "--functional: op '%s' (%s): %s", op->name,
			                     func_op_names[op->type], why);
		}
	}
	return 0;
}

void func_random_inputs(const graph *g, uint64_t seed, func_vals *fv)
{
	for (size_t t = 0; t < g->n_tensors; t++) {
		const graph_tensor *T = &g->tensors[t];
		if (T->kind != GRAPH_INPUT && T->kind != GRAPH_WEIGHT)
			continue;
		uint64_t stream = ((uint64_t)1 << 63) + ((uint64_t)1 << 32) + t;
		if (!asim_dtype_is_float(T->dtype)) {   /* indices: ⌊word·V / 2^32⌋, a row of the table */
			uint64_t V = index_bound(g, t);
			for (uint64_t i = 0; i < T->elems; i++)
				((int32_t *)fv->v[t])[i] = (int32_t)((dp_philox_word(seed, stream, i) * V) >> 32);
			continue;
		}
		dp_cvt cv = dp_cvt_make(fmt_of(T->dtype), DP_RNE);
		for (uint64_t i = 0; i < T->elems; i++) {
			double u = ((double)dp_philox_word(seed, stream, i) + 0.5) / 4294967296.0;
			dp_code_store(cv.fmt, fv->v[t], i, dp_round_f64(&cv, -1.0 + 2.0 * u, 0));
		}
	}
}

static int name_ok(const char *s)
{
	return s[0] != '\0' && strchr(s, '/') == NULL && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

static char *join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 6;
	char *p = asim_malloc(n);
	if (p != NULL)
		snprintf(p, n, "%s/%s.npy", dir, name);
	return p;
}

static void shape_str(char *buf, size_t n, const size_t *s, size_t nd)
{
	size_t at = 0;
	buf[0] = '\0';
	for (size_t d = 0; d < nd && at < n; d++)
		at += (size_t)snprintf(buf + at, n - at, "%s%zu", d ? ", " : "", s[d]);
}

static const char *const npy_names[] = {"float32", "float64", "uint8", "uint16", "int32", "int64"};

/* int32 indices from int32/int64 data, each a row of the smallest table they index */
static int load_indices(const graph *g, size_t t, const dp_npy *a, const char *pesc,
                        const char *esc, func_vals *fv, asim_err *e)
{
	if (a->dtype != DP_NPY_I32 && a->dtype != DP_NPY_I64)
		return asim_errorf(e, ASIM_ESCHEMA, "%s: tensor '%s' is int32 indices: use int32 or "
		                   "int64 data", pesc, esc);
	uint64_t V = index_bound(g, t);
	for (size_t i = 0; i < a->count; i++) {
		int64_t x = a->dtype == DP_NPY_I32 ? ((const int32_t *)a->data)[i]
		                                   : ((const int64_t *)a->data)[i];
		if (x < 0 || (uint64_t)x >= V)
			return asim_errorf(e, ASIM_ERANGE, "%s: index %lld at element %zu of '%s' is "
			                   "outside the table's %llu rows", pesc, (long long)x, i, esc,
			                   (unsigned long long)V);
		((int32_t *)fv->v[t])[i] = (int32_t)x;
	}
	return 0;
}

int func_load_inputs(const graph *g, const char *dir, func_vals *fv, asim_err *e)
{
	for (size_t t = 0; t < g->n_tensors; t++) {
		const graph_tensor *T = &g->tensors[t];
		if (T->kind != GRAPH_INPUT && T->kind != GRAPH_WEIGHT)
			continue;
		char esc[256];
		asim_escape(esc, sizeof esc, T->name);
		if (!name_ok(T->name))
			return asim_errorf(e, ASIM_EUNSUPPORTED, "--inputs: tensor '%s' has no file name",
			                   esc);
		char *path = join(dir, T->name);
		if (path == NULL)
			return asim_errorf(e, ASIM_ENOMEM, "out of memory");
		char pesc[512];
		asim_escape(pesc, sizeof pesc, path);
		dp_npy a;
		int rc = dp_npy_read(path, &a, e);
		asim_free(path);
		if (rc == ASIM_ENOENT) {
			asim_err_init(e);
			return asim_errorf(e, ASIM_ENOENT, "%s: cannot open the values of %s '%s'", pesc,
			                   T->kind == GRAPH_INPUT ? "input" : "weight", esc);
		}
		if (rc)
			return rc;
		int same = a.ndim == T->rank;
		for (size_t d = 0; same && d < a.ndim; d++)
			same = a.shape[d] == T->shape[d];
		unsigned bytes = (unsigned)asim_dtype_bytes(T->dtype);
		const char *dn = asim_dtype_names[T->dtype];
		if (!same) {
			char s1[160], s2[160];
			size_t ts[GRAPH_MAX_RANK];
			for (uint32_t d = 0; d < T->rank; d++)
				ts[d] = (size_t)T->shape[d];
			shape_str(s1, sizeof s1, a.shape, a.ndim);
			shape_str(s2, sizeof s2, ts, T->rank);
			rc = asim_errorf(e, ASIM_ESHAPE, "%s: shape (%s) does not match tensor '%s' [%s]",
			                 pesc, s1, esc, s2);
		} else if (!asim_dtype_is_float(T->dtype)) {
			rc = load_indices(g, t, &a, pesc, esc, fv, e);
		} else if (a.dtype == DP_NPY_F32 || a.dtype == DP_NPY_F64) {
			dp_cvt cv = dp_cvt_make(fmt_of(T->dtype), DP_RNE);
			for (size_t i = 0; i < a.count; i++) {
				double x;
				if (a.dtype == DP_NPY_F32)
					x = ((const float *)a.data)[i];
				else
					x = ((const double *)a.data)[i];
				dp_code_store(cv.fmt, fv->v[t], i, dp_round_f64(&cv, x, 0));
			}
		} else if ((a.dtype == DP_NPY_U16 && bytes == 2) || (a.dtype == DP_NPY_U8 && bytes == 1)) {
			memcpy(fv->v[t], a.data, a.count * bytes);
		} else {
			rc = asim_errorf(e, ASIM_ESCHEMA, "%s: %s data cannot hold tensor '%s' (%s): use "
			                 "float32/float64, or uint%u raw codes", pesc,
			                 npy_names[a.dtype], esc, dn, bytes * 8);
		}
		dp_npy_free(&a);
		if (rc)
			return rc;
	}
	return 0;
}

int func_write_outputs(const graph *g, const char *dir, const func_vals *fv, int raw, asim_err *e)
{
	char desc[512];
	asim_escape(desc, sizeof desc, dir);
	if (mkdir(dir, 0777) != 0 && errno != EEXIST)
		return asim_errorf(e, ASIM_EIO, "%s: cannot create the directory: %s", desc,
		                   strerror(errno));
	for (size_t t = 0; t < g->n_tensors; t++) {
		const graph_tensor *T = &g->tensors[t];
		if (T->kind != GRAPH_OUTPUT)
			continue;
		char esc[256];
		asim_escape(esc, sizeof esc, T->name);
		if (!name_ok(T->name))
			return asim_errorf(e, ASIM_EUNSUPPORTED, "--outputs: tensor '%s' has no file name",
			                   esc);
		size_t shape[GRAPH_MAX_RANK];
		for (uint32_t d = 0; d < T->rank; d++)
			shape[d] = (size_t)T->shape[d];
		unsigned bytes = (unsigned)asim_dtype_bytes(T->dtype);
		dp_npy_dtype nt = DP_NPY_F32;
		void *data = fv->v[t], *tmp = NULL;
		if (raw && bytes == 2)
			nt = DP_NPY_U16;
		else if (raw && bytes == 1)
			nt = DP_NPY_U8;
		else if (!(raw || T->dtype == ASIM_DT_FP32)) {
			tmp = asim_calloc(T->elems + 1, sizeof(float));
			if (tmp == NULL)
				return asim_errorf(e, ASIM_ENOMEM, "out of memory");
			dp_decode_f32_array(fmt_of(T->dtype), fv->v[t], tmp, T->elems);
			data = tmp;
		}
		char *path = join(dir, T->name);
		int rc = path == NULL ? asim_errorf(e, ASIM_ENOMEM, "out of memory")
		                      : dp_npy_write(path, nt, shape, T->rank, data, e);
		asim_free(path);
		asim_free(tmp);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- the executor ------------------------------------------------------------------------ */

typedef struct fx {
	const graph *g;
	const chip *c;
	const func_opts *o;
	const isa_program *p;
	asim_err *e;
	uint8_t *mem[ISA_MEM_COUNT];
	uint64_t pbytes[ISA_MEM_COUNT];  /* bytes per partition; HBM: total */
	uint32_t parts[ISA_MEM_COUNT];
	float *A, *B, *P;                /* matmul scratch */
	size_t inst;                     /* the instruction being executed */
} fx;

static uint64_t free_n(const isa_ap *a) { return (uint64_t)a->n[0] * a->n[1]; }

static int bad_inst(fx *X, int code, const char *fmt, const char *detail)
{
	const isa_inst *in = &X->p->insts[X->inst];
	const char *opn = X->g != NULL && in->gop < X->g->n_ops ? X->g->ops[in->gop].name : "-";
	char esc[256];
	asim_escape(esc, sizeof esc, opn);
	return asim_errorf(X->e, code, "functional: instruction %zu (%s, op '%s'): %s%s", X->inst,
	                   isa_opcode_names[in->opcode], esc, fmt, detail ? detail : "");
}

/* The access pattern lies inside its memory (any dtype). */
static int ap_in(fx *X, const isa_ap *a)
{
	if (a->mem == ISA_MEM_NONE || a->mem >= ISA_MEM_COUNT || X->mem[a->mem] == NULL)
		return bad_inst(X, ASIM_EINTERNAL, "operand in no memory", NULL);
	if (a->nparts == 0 || free_n(a) == 0)
		return 0;
	uint64_t es = asim_dtype_bytes((asim_dtype)a->dtype), end = a->offset, t;
	int of = 0;
	of |= __builtin_mul_overflow((uint64_t)(a->n[0] - 1), a->stride[0], &t);
	of |= __builtin_add_overflow(end, t, &end);
	of |= __builtin_mul_overflow((uint64_t)(a->n[1] - 1), a->stride[1], &t);
	of |= __builtin_add_overflow(end, t, &end);
	of |= __builtin_add_overflow(end, es, &end);
	if (a->mem == ISA_MEM_HBM) {
		of |= __builtin_mul_overflow((uint64_t)(a->nparts - 1), a->pstride, &t);
		of |= __builtin_add_overflow(end, t, &end);
	} else if ((uint32_t)a->part + a->nparts > X->parts[a->mem]) {
		return bad_inst(X, ASIM_ERANGE, "partitions beyond the memory", NULL);
	}
	if (of || end > X->pbytes[a->mem])
		return bad_inst(X, ASIM_ERANGE, "bytes beyond the memory", NULL);
	return 0;
}

/* A floating-point operand inside its memory. */
static int ap_ok(fx *X, const isa_ap *a)
{
	if (a->dtype >= ASIM_DT_COUNT || !asim_dtype_is_float((asim_dtype)a->dtype))
		return bad_inst(X, ASIM_EUNSUPPORTED, "operand of dtype ",
		                a->dtype < ASIM_DT_COUNT ? asim_dtype_names[a->dtype] : "?");
	return ap_in(X, a);
}

static uint8_t *ap_at(fx *X, const isa_ap *a, uint64_t p, uint64_t f)
{
	uint64_t i = f % a->n[0], j = f / a->n[0];
	uint64_t off = a->offset + i * a->stride[0] + j * a->stride[1];
	if (a->mem == ISA_MEM_HBM)
		return X->mem[ISA_MEM_HBM] + off + p * a->pstride;
	return X->mem[a->mem] + (a->part + p) * X->pbytes[a->mem] + off;
}

static uint32_t ld_code(const uint8_t *q, unsigned bytes)
{
	uint32_t v = 0;
	for (unsigned b = 0; b < bytes; b++)
		v |= (uint32_t)q[b] << (8 * b);
	return v;
}

static void st_code(uint8_t *q, unsigned bytes, uint32_t v)
{
	for (unsigned b = 0; b < bytes; b++)
		q[b] = (uint8_t)(v >> (8 * b));
}

static float get(fx *X, const isa_ap *a, uint64_t p, uint64_t f)
{
	asim_dtype dt = (asim_dtype)a->dtype;
	uint32_t code = ld_code(ap_at(X, a, p, f), (unsigned)asim_dtype_bytes(dt));
	if (dt == ASIM_DT_FP32) {
		float v;
		memcpy(&v, &code, sizeof v);
		return v;
	}
	return (float)dp_decode(fmt_of(dt), code);
}

/* Write value v to element (p, f) of d, rounded with the op's numerics. `computed`: v is an
 * arithmetic result (NaN made canonical positive); else a conversion (NaN keeps its sign). */
static int put(fx *X, const isa_inst *in, const isa_ap *d, uint64_t p, uint64_t f, float v,
               int computed)
{
	asim_dtype dt = (asim_dtype)d->dtype;
	if (computed)
		v = canon(v);
	dp_cvt cv = op_cvt(X->g, X->c, in->gop, dt);
	uint32_t r = 0;
	if (cv.mode == DP_SR) {
		if (in->oidx.valid) {
			uint64_t i = f % d->n[0], j = f / d->n[0];
			int64_t idx = in->oidx.base + (int64_t)p * in->oidx.step[0]
			              + (int64_t)i * in->oidx.step[1] + (int64_t)j * in->oidx.step[2];
			r = dp_sr_random(X->o->seed, func_stream(in->gop, in->oidx.out), (uint64_t)idx,
			                 cv.sr_bits);
		} else if (!isnan(v)) {
			dp_cvt rne = dp_cvt_make(cv.fmt, DP_RNE);
			rne.saturate = cv.saturate;
			if (dp_decode(cv.fmt, dp_round_f32(&rne, v, 0)) != (double)v)
				return bad_inst(X, ASIM_EUNSUPPORTED, "stochastic rounding of a value that has "
				                "no element index in an output tensor (an intermediate)", NULL);
		}
	}
	st_code(ap_at(X, d, p, f), (unsigned)asim_dtype_bytes(dt), dp_round_f32(&cv, v, r));
	return 0;
}

/* Move element (sp, sf) of s to (dp, df) of d: the code when the dtypes agree, else converted. */
static int move(fx *X, const isa_inst *in, const isa_ap *d, uint64_t dp, uint64_t df,
                const isa_ap *s, uint64_t sp, uint64_t sf)
{
	if (d->dtype == s->dtype) {
		memcpy(ap_at(X, d, dp, df), ap_at(X, s, sp, sf), asim_dtype_bytes((asim_dtype)d->dtype));
		return 0;
	}
	return put(X, in, d, dp, df, get(X, s, sp, sf), 0);
}

static int same_shape(fx *X, const isa_ap *a, const isa_ap *b)
{
	if (a->nparts != b->nparts || free_n(a) != free_n(b))
		return bad_inst(X, ASIM_EINTERNAL, "operand shapes differ", NULL);
	return 0;
}

static float alu(isa_alu op, float a, float b)
{
	switch (op) {
	case ISA_ALU_ADD: return a + b;
	case ISA_ALU_SUB: return a - b;
	case ISA_ALU_MUL: return a * b;
	case ISA_ALU_MAX: return isnan(a) || isnan(b) ? NAN : a > b ? a : b;
	case ISA_ALU_MIN: return isnan(a) || isnan(b) ? NAN : a < b ? a : b;
	case ISA_ALU_BYPASS: return a;
	case ISA_ALU_DIV: return a / b;
	case ISA_ALU_POW: return (float)pow((double)a, (double)b);
	case ISA_ALU_IS_GT: return a > b ? 1.0f : 0.0f;
	case ISA_ALU_SET: return b;
	case ISA_ALU_COUNT: break;
	}
	return NAN;
}

static int exec_matmul(fx *X, const isa_inst *in)
{
	const isa_ap *S = &in->src[0], *M = &in->src[1], *D = &in->dst;
	uint64_t K = S->nparts, Mn = free_n(S), N = free_n(M);
	if (M->nparts != K || D->nparts != Mn || free_n(D) != N)
		return bad_inst(X, ASIM_EINTERNAL, "matmul operand shapes disagree", NULL);
	if (D->dtype != ASIM_DT_FP32)
		return bad_inst(X, ASIM_EUNSUPPORTED, "PSUM in ", asim_dtype_names[D->dtype]);
	if (K == 0 || Mn == 0 || N == 0)
		return 0;
	for (uint64_t k = 0; k < K; k++) {
		for (uint64_t m = 0; m < Mn; m++)
			X->A[m * K + k] = get(X, S, k, m);
		for (uint64_t n = 0; n < N; n++)
			X->B[k * N + n] = get(X, M, k, n);
	}
	/* one instruction = one pass down the array: the tile sum from +0 in ascending k */
	int rc = dp_matmul_f32(X->A, X->B, Mn, N, K, (unsigned)K, X->P, 1, X->e);
	if (rc)
		return rc;
	for (uint64_t m = 0; m < Mn; m++)
		for (uint64_t n = 0; n < N; n++) {
			float v = X->P[m * N + n];
			if (in->flags & ISA_F_ACCUMULATE)
				v = canon(get(X, D, m, n) + v);
			uint32_t code;
			memcpy(&code, &v, sizeof code);
			st_code(ap_at(X, D, m, n), 4, code);
		}
	return 0;
}

/* gather: destination partition p = src's row idx[p] (idx = src1's int32 element p), i.e. the
 * elements at src.offset + idx[p]·src.pstride + i·s0 + j·s1. The index must name a row of the
 * embedding table of the instruction's op: anything else is an error, never a read. */
static int exec_gather(fx *X, const isa_inst *in)
{
	const isa_ap *D = &in->dst, *S0 = &in->src[0], *S1 = &in->src[1];
	int rc;
	if ((rc = ap_ok(X, D)) || (rc = ap_in(X, S1)))
		return rc;
	if (S1->dtype != ASIM_DT_INT32 || S0->mem != ISA_MEM_HBM || S1->nparts != D->nparts
	    || (uint64_t)S0->nparts * free_n(S0) != (uint64_t)D->nparts * free_n(D))
		return bad_inst(X, ASIM_EINTERNAL, "gather operands disagree", NULL);
	const graph_op *op = in->gop < X->g->n_ops ? &X->g->ops[in->gop] : NULL;
	if (op == NULL || op->type != GRAPH_OP_EMBEDDING)
		return bad_inst(X, ASIM_EUNSUPPORTED, "gather outside an embedding op", NULL);
	uint64_t V = X->g->tensors[op->in[0]].shape[0];
	for (uint64_t p = 0; p < D->nparts; p++) {
		int32_t idx = (int32_t)ld_code(ap_at(X, S1, p, 0), 4);
		if (idx < 0 || (uint64_t)idx >= V) {
			char why[96];
			snprintf(why, sizeof why, "%ld outside the table's %llu rows", (long)idx,
			         (unsigned long long)V);
			return bad_inst(X, ASIM_ERANGE, "embedding index ", why);
		}
		isa_ap row = *S0;
		row.nparts = 1;
		row.offset += (uint64_t)idx * S0->pstride;
		if ((rc = ap_ok(X, &row)) != 0)
			return rc;
		for (uint64_t f = 0; f < free_n(D) && rc == 0; f++)
			rc = move(X, in, D, p, f, &row, 0, f);
		if (rc)
			return rc;
	}
	return 0;
}

static int exec_inst(fx *X, const isa_inst *in)
{
	const isa_ap *D = &in->dst, *S0 = &in->src[0], *S1 = &in->src[1];
	int rc = 0;
	switch ((isa_opcode)in->opcode) {
	case ISA_OP_SEM_WAIT: case ISA_OP_SEM_SIGNAL:
		return 0;
	case ISA_OP_DMA_COPY:
		if (in->flags & ISA_F_GATHER)
			return exec_gather(X, in);
		/* integers (embedding indices) are moved, never converted */
		if (D->dtype == S0->dtype && D->dtype == ASIM_DT_INT32
		    ? (rc = ap_in(X, D)) || (rc = ap_in(X, S0)) || (rc = same_shape(X, D, S0))
		    : (rc = ap_ok(X, D)) || (rc = ap_ok(X, S0)) || (rc = same_shape(X, D, S0)))
			return rc;
		for (uint64_t p = 0; p < D->nparts && rc == 0; p++)
			for (uint64_t f = 0; f < free_n(D) && rc == 0; f++)
				rc = move(X, in, D, p, f, S0, p, f);
		return rc;
	case ISA_OP_MATMUL:
		if ((rc = ap_ok(X, D)) || (rc = ap_ok(X, S0)) || (rc = ap_ok(X, S1)))
			return rc;
		return exec_matmul(X, in);
	case ISA_OP_TENSOR_TENSOR: case ISA_OP_TENSOR_SCALAR: {
		int tt = in->opcode == ISA_OP_TENSOR_TENSOR;
		if ((rc = ap_ok(X, D)) || (rc = ap_ok(X, S0)) || (rc = same_shape(X, D, S0)))
			return rc;
		if (tt && ((rc = ap_ok(X, S1)) || (rc = same_shape(X, D, S1))))
			return rc;
		if (in->func >= ISA_ALU_COUNT)
			return bad_inst(X, ASIM_EINTERNAL, "unknown ALU operation", NULL);
		isa_alu op = (isa_alu)in->func;
		for (uint64_t p = 0; p < D->nparts && rc == 0; p++)
			for (uint64_t f = 0; f < free_n(D) && rc == 0; f++) {
				float a = op == ISA_ALU_SET ? 0.0f : get(X, S0, p, f);
				float b = tt ? get(X, S1, p, f) : in->scale;
				rc = put(X, in, D, p, f, alu(op, a, b), op != ISA_ALU_BYPASS);
			}
		return rc;
	}
	case ISA_OP_TENSOR_REDUCE: {
		if ((rc = ap_ok(X, D)) || (rc = ap_ok(X, S0)))
			return rc;
		if (D->nparts != S0->nparts || free_n(D) != 1)
			return bad_inst(X, ASIM_EINTERNAL, "reduce shapes disagree", NULL);
		if (in->func >= ISA_ALU_COUNT)
			return bad_inst(X, ASIM_EINTERNAL, "unknown ALU operation", NULL);
		isa_alu op = (isa_alu)in->func;
		int cont = (in->flags & ISA_F_ACCUMULATE) != 0;
		for (uint64_t p = 0; p < D->nparts && rc == 0; p++) {
			uint64_t f0 = op == ISA_ALU_ADD || cont ? 0 : 1;
			float acc = cont ? get(X, D, p, 0) : op == ISA_ALU_ADD ? 0.0f
			            : free_n(S0) ? get(X, S0, p, 0) : 0.0f;
			for (uint64_t f = f0; f < free_n(S0); f++)
				acc = canon(alu(op, acc, get(X, S0, p, f)));
			rc = put(X, in, D, p, 0, acc, 1);
		}
		return rc;
	}
	case ISA_OP_TRANSPOSE:
		if ((rc = ap_ok(X, D)) || (rc = ap_ok(X, S0)))
			return rc;
		if (D->nparts != free_n(S0) || free_n(D) != S0->nparts)
			return bad_inst(X, ASIM_EINTERNAL, "transpose shapes disagree", NULL);
		for (uint64_t p = 0; p < S0->nparts && rc == 0; p++)
			for (uint64_t f = 0; f < free_n(S0) && rc == 0; f++)
				rc = move(X, in, D, f, p, S0, p, f);
		return rc;
	case ISA_OP_TENSOR_COPY:
		if ((rc = ap_ok(X, D)) || (rc = ap_ok(X, S0)) || (rc = same_shape(X, D, S0)))
			return rc;
		for (uint64_t p = 0; p < D->nparts && rc == 0; p++)
			for (uint64_t f = 0; f < free_n(D) && rc == 0; f++)
				rc = move(X, in, D, p, f, S0, p, f);
		return rc;
	case ISA_OP_ACTIVATE: {
		if ((rc = ap_ok(X, D)) || (rc = ap_ok(X, S0)) || (rc = same_shape(X, D, S0)))
			return rc;
		if (in->func >= GRAPH_ACT_COUNT)
			return bad_inst(X, ASIM_EINTERNAL, "unknown activation function", NULL);
		graph_act fn = (graph_act)in->func;
		int computed = fn != GRAPH_ACT_NONE || in->scale != 1.0f || in->bias != 0.0f;
		for (uint64_t p = 0; p < D->nparts && rc == 0; p++)
			for (uint64_t f = 0; f < free_n(D) && rc == 0; f++) {
				float v = get(X, S0, p, f);
				if (in->scale != 1.0f)     /* identities skipped: -0 stays -0 */
					v = v * in->scale;
				if (in->bias != 0.0f)
					v = v + in->bias;
				rc = put(X, in, D, p, f, act_f32(fn, v), computed);
			}
		return rc;
	}
	case ISA_OP_COUNT:
		break;
	}
	return bad_inst(X, ASIM_EINTERNAL, "unknown opcode", NULL);
}

/* Run the queues: each in program order, an instruction when its waits are met. */
static int fx_schedule(fx *X)
{
	const isa_program *p = X->p;
	uint32_t nq = 0;
	for (size_t i = 0; i < p->n; i++) {
		uint32_t q = isa_queue_index(&p->insts[i]);
		if (q + 1 > nq)
			nq = q + 1;
	}
	size_t *next = asim_calloc(p->n + 1, sizeof *next), *head = asim_calloc(nq + 1, sizeof *head);
	size_t *tail = asim_calloc(nq + 1, sizeof *tail);
	uint32_t *sem = asim_calloc((size_t)p->nsems + 1, sizeof *sem);
	int rc = 0;
	if (!next || !head || !tail || !sem) {
		rc = asim_errorf(X->e, ASIM_ENOMEM, "out of memory");
		goto out;
	}
	for (uint32_t q = 0; q < nq; q++)
		head[q] = tail[q] = SIZE_MAX;
	for (size_t i = 0; i < p->n; i++) {
		uint32_t q = isa_queue_index(&p->insts[i]);
		next[i] = SIZE_MAX;
		if (head[q] == SIZE_MAX)
			head[q] = i;
		else
			next[tail[q]] = i;
		tail[q] = i;
	}
	for (size_t done = 0; done < p->n && rc == 0; done++) {
		size_t pick = SIZE_MAX;
		uint32_t pq = 0;
		for (uint32_t k = 0; k < nq; k++) {
			uint32_t q = X->o->order == FUNC_ORDER_QUEUE_DESC ? nq - 1 - k : k;
			size_t i = head[q];
			if (i == SIZE_MAX)
				continue;
			const isa_inst *in = &p->insts[i];
			int ready = 1;
			for (int w = 0; w < 2; w++)
				if (in->wait_sem[w] != ISA_NO_SEM
				    && (in->wait_sem[w] >= p->nsems || sem[in->wait_sem[w]] < in->wait_val[w]))
					ready = 0;
			if (!ready)
				continue;
			if (pick == SIZE_MAX || (X->o->order == FUNC_ORDER_PROGRAM && i < pick)) {
				pick = i;
				pq = q;
			}
			if (X->o->order == FUNC_ORDER_QUEUE_DESC)
				break;
		}
		if (pick == SIZE_MAX) {
			rc = asim_errorf(X->e, ASIM_EDEADLOCK, "functional: the program deadlocks after %zu "
			                 "of %zu instructions", done, p->n);
			break;
		}
		X->inst = pick;
		rc = exec_inst(X, &p->insts[pick]);
		if (p->insts[pick].signal != ISA_NO_SEM && p->insts[pick].signal < p->nsems)
			sem[p->insts[pick].signal]++;
		head[pq] = next[pick];
	}
out:
	asim_free(next);
	asim_free(head);
	asim_free(tail);
	asim_free(sem);
	return rc;
}

/* conv filter [CO][Cg][KH][KW] (logical) <-> PE-ready [G][Cg][KH][KW][COg]: element index map */
static uint64_t pe_ready_index(const graph_tensor *W, uint64_t G, uint64_t i)
{
	uint64_t CO = W->shape[0], Cg = W->shape[1], taps = W->shape[2] * W->shape[3];
	uint64_t COg = CO / G, tap = i % taps, c = (i / taps) % Cg, co = i / (taps * Cg);
	uint64_t g = co / COg, cog = co % COg;
	return ((g * Cg + c) * taps + tap) * COg + cog;
}

static uint64_t conv_groups_of(const graph *g, size_t t)
{
	for (size_t i = 0; i < g->n_ops; i++)
		if (g->ops[i].type == GRAPH_OP_CONV2D && g->ops[i].in[1] == t)
			return g->ops[i].a.groups ? g->ops[i].a.groups : 1;
	return 1;
}

int func_run(const graph *g, const chip *c, const isa_program *p, const func_opts *o,
             func_vals *fv, asim_err *e)
{
	int rc = func_check_graph(g, e);
	if (rc)
		return rc;
	fx X;
	memset(&X, 0, sizeof X);
	X.g = g;
	X.c = c;
	X.o = o;
	X.p = p;
	X.e = e;
	uint64_t *addr = asim_calloc(g->n_tensors + 1, sizeof *addr);
	if (addr == NULL)
		return asim_errorf(e, ASIM_ENOMEM, "out of memory");
	uint64_t top = lower_hbm_place(g, addr);
	X.pbytes[ISA_MEM_HBM] = top;
	X.parts[ISA_MEM_HBM] = 1;
	X.parts[ISA_MEM_SBUF] = c->sbuf.partitions;
	X.pbytes[ISA_MEM_SBUF] = c->sbuf.partition_bytes;
	X.parts[ISA_MEM_PSUM] = c->psum.partitions;
	X.pbytes[ISA_MEM_PSUM] = c->psum.partition_bytes;
	for (int m = ISA_MEM_HBM; m < ISA_MEM_COUNT; m++)
		X.mem[m] = asim_calloc((size_t)X.parts[m] * X.pbytes[m] + 1, 1);
	size_t scratch = (size_t)c->pe.rows * c->pe.cols + (size_t)c->pe.rows * c->pe.max_moving
	                 + (size_t)c->pe.cols * c->pe.max_moving + 1;
	X.A = asim_calloc(scratch, sizeof(float));
	X.B = asim_calloc(scratch, sizeof(float));
	X.P = asim_calloc(scratch, sizeof(float));
	if (!X.mem[ISA_MEM_HBM] || !X.mem[ISA_MEM_SBUF] || !X.mem[ISA_MEM_PSUM] || !X.A || !X.B || !X.P) {
		rc = asim_errorf(e, ASIM_ENOMEM, "out of memory for the functional memory images");
		goto out;
	}
	/* inputs and weights into HBM (conv filters in the PE-ready layout) */
	for (size_t t = 0; t < g->n_tensors; t++) {
		const graph_tensor *T = &g->tensors[t];
		if (T->kind != GRAPH_INPUT && T->kind != GRAPH_WEIGHT)
			continue;
		unsigned es = (unsigned)asim_dtype_bytes(T->dtype);
		int conv = is_conv_filter(g, t);
		uint64_t G = conv ? conv_groups_of(g, t) : 1;
		for (uint64_t i = 0; i < T->elems; i++) {
			uint64_t j = conv ? pe_ready_index(T, G, i) : i;
			uint32_t code = asim_dtype_is_float(T->dtype) ? dp_code_load(fmt_of(T->dtype), fv->v[t], i)
			                : (uint32_t)((const int32_t *)fv->v[t])[i];
			st_code(X.mem[ISA_MEM_HBM] + addr[t] + j * es, es, code);
		}
	}
	/* the matmul scratch holds one instruction's operands: K ≤ partitions, M, N ≤ limits */
	for (size_t i = 0; i < p->n; i++)
		if (p->insts[i].opcode == ISA_OP_MATMUL) {
			const isa_inst *in = &p->insts[i];
			uint64_t K = in->src[0].nparts, M = free_n(&in->src[0]), N = free_n(&in->src[1]);
			if (K * M >= scratch || K * N >= scratch || M * N >= scratch) {
				X.inst = i;
				rc = bad_inst(&X, ASIM_ERANGE, "matmul larger than the PE array", NULL);
				goto out;
			}
		}
	if ((rc = fx_schedule(&X)) != 0)
		goto out;
	/* every computed tensor out of HBM */
	for (size_t t = 0; t < g->n_tensors; t++) {
		const graph_tensor *T = &g->tensors[t];
		if (T->producer < 0 || !asim_dtype_is_float(T->dtype))
			continue;
		unsigned es = (unsigned)asim_dtype_bytes(T->dtype);
		/* a conv2d_backward_weight's dW is stored in the PE-ready filter layout */
		const graph_op *pr = &g->ops[T->producer];
		int pe_ready = pr->type == GRAPH_OP_CONV2D_BWD_WEIGHT;
		uint64_t G = pr->a.groups ? pr->a.groups : 1;
		for (uint64_t i = 0; i < T->elems; i++) {
			uint64_t j = pe_ready ? pe_ready_index(T, G, i) : i;
			dp_code_store(fmt_of(T->dtype), fv->v[t], i,
			              ld_code(X.mem[ISA_MEM_HBM] + addr[t] + j * es, es));
		}
	}
out:
	for (int m = 0; m < ISA_MEM_COUNT; m++)
		asim_free(X.mem[m]);
	asim_free(X.A);
	asim_free(X.B);
	asim_free(X.P);
	asim_free(addr);
	return rc;
}

/* ---- the reference ----------------------------------------------------------------------- */

static float *decode_t(const graph *g, const func_vals *fv, uint32_t t)
{
	const graph_tensor *T = &g->tensors[t];
	float *x = asim_calloc(T->elems + 1, sizeof *x);
	if (x != NULL)
		dp_decode_f32_array(fmt_of(T->dtype), fv->v[t], x, T->elems);
	return x;
}

/* Round FP32 results y (n) into tensor t: output `out` of op gop, element i = Philox index i. */
static void round_out(const graph *g, const chip *c, const func_opts *o, uint32_t gop,
                      unsigned out, float *y, uint64_t n, func_vals *fv)
{
	uint32_t t = g->ops[gop].out[out];
	dp_cvt cv = op_cvt(g, c, gop, g->tensors[t].dtype);
	for (uint64_t i = 0; i < n; i++)
		y[i] = canon(y[i]);
	dp_convert_f32_array(&cv, y, fv->v[t], n, o->seed, func_stream(gop, out), 0);
}

/* batch offset (in matrices' elements) of tensor T for output batch index bi (broadcasting) */
static uint64_t batch_off(const graph_tensor *T, const graph_tensor *Y, uint64_t bi)
{
	if (T->rank <= 2)
		return 0;
	uint64_t mul = T->shape[T->rank - 1] * T->shape[T->rank - 2], off = 0;
	for (int yi = (int)Y->rank - 3, ti = (int)T->rank - 3; yi >= 0; yi--, ti--) {
		uint64_t idx = bi % Y->shape[yi];
		bi /= Y->shape[yi];
		if (ti < 0)
			continue;
		if (T->shape[ti] != 1)
			off += idx * mul;
		mul *= T->shape[ti];
	}
	return off;
}

static unsigned pe_depth(const chip *c)
{
	return c->pe.rows < c->sbuf.partitions ? c->pe.rows : c->sbuf.partitions;
}

/* matmul and its backward ops as one product Y[M×N] = A[M×K]·B[K×N] per batch, in the lowering's
 * order: dp_matmul_f32 with rows = the array depth (K tiles ascending, each a pass from +0, added
 * in PSUM). matmul: A, B as stored (transposed views with transpose_a/_b); backward data
 * dA = dY·Bᵀ: contraction over N, Bᵀ a view of B as stored, dA written [K, M] with transpose_a;
 * backward weight dB = Aᵀ·dY: Aᵀ a view of A as stored ([M, K], or [K, M] with transpose_a),
 * dB written [N, K] with transpose_b; per batch when dB has batch dims, else the contraction runs
 * over the rows of A and dY with every batch dim folded in (row r = b·M + m, one product). */
static int ref_matmul(const graph *g, const chip *c, const func_opts *o, uint32_t gop,
                      func_vals *fv, asim_err *e)
{
	const graph_op *op = &g->ops[gop];
	const graph_tensor *TA = &g->tensors[op->in[0]], *TB = &g->tensors[op->in[1]];
	const graph_tensor *TY = &g->tensors[op->out[0]];
	int ta = op->a.transpose_a != 0, tb = op->a.transpose_b != 0;
	uint64_t ra = TA->shape[TA->rank - 2], ca = TA->shape[TA->rank - 1];
	uint64_t rb = TB->shape[TB->rank - 2], cb = TB->shape[TB->rank - 1];
	uint64_t M, N, K;
	int yt = 0, fold = 0;         /* Y stored transposed ([N, M]); rows of every batch folded */
	switch (op->type) {
	case GRAPH_OP_MATMUL_BWD_DATA:      /* dY [M, N'] · Bᵀ, B [K', N'] or [N', K'] */
		M = ra; K = ca; N = tb ? cb : rb; yt = ta;
		break;
	case GRAPH_OP_MATMUL_BWD_WEIGHT:    /* Aᵀ [K', M'] · dY [M', N] */
		M = ta ? ra : ca; N = cb; yt = tb;
		fold = TY->rank == 2;
		K = fold ? TB->elems / N : rb;
		break;
	default:
		M = ta ? ca : ra; K = ta ? ra : ca; N = tb ? rb : cb;
		break;
	}
	uint64_t batch = TY->elems / (M * N);
	if (fold && TA->elems != M * K)
		return asim_errorf(e, ASIM_EUNSUPPORTED, "op '%s': A and dY hold different numbers of rows",
		                   op->name);
	float *a = decode_t(g, fv, op->in[0]), *b = decode_t(g, fv, op->in[1]);
	float *bias = op->n_in > 2 ? decode_t(g, fv, op->in[2]) : NULL;
	float *A = asim_calloc(M * K + 1, sizeof *A), *B = asim_calloc(K * N + 1, sizeof *B);
	float *y = asim_calloc(TY->elems + 1, sizeof *y), *ps = asim_calloc(M * N + 1, sizeof *ps);
	int rc = 0;
	if (!a || !b || (op->n_in > 2 && !bias) || !A || !B || !y || !ps) {
		rc = asim_errorf(e, ASIM_ENOMEM, "out of memory");
		goto out;
	}
	for (uint64_t bi = 0; bi < batch && rc == 0; bi++) {
		const float *pa = a + batch_off(TA, TY, bi), *pb = b + batch_off(TB, TY, bi);
		switch (op->type) {
		case GRAPH_OP_MATMUL_BWD_DATA:      /* A = dY [M, N'], B = Bᵀ: [N', K'] */
			memcpy(A, pa, M * K * sizeof *A);
			for (uint64_t k = 0; k < K; k++)
				for (uint64_t n = 0; n < N; n++)
					B[k * N + n] = tb ? pb[k * N + n] : pb[n * K + k];
			break;
		case GRAPH_OP_MATMUL_BWD_WEIGHT:    /* A = Aᵀ [K', rows], B = dY [rows, N] */
			for (uint64_t r = 0; r < K; r++) {
				/* row r of the contraction: batch r / M', row r % M' of that batch's A */
				uint64_t rm = fold ? ra * ca : 0, mr = ta ? ca : ra;
				const float *src = fold ? a + (r / mr) * rm : pa;
				uint64_t rr = fold ? r % mr : r;
				for (uint64_t m = 0; m < M; m++)
					A[m * K + r] = ta ? src[m * mr + rr] : src[rr * M + m];
			}
			memcpy(B, fold ? b : pb, K * N * sizeof *B);
			break;
		default:
			for (uint64_t m = 0; m < M; m++)
				for (uint64_t k = 0; k < K; k++)
					A[m * K + k] = ta ? pa[k * M + m] : pa[m * K + k];
			for (uint64_t k = 0; k < K; k++)
				for (uint64_t n = 0; n < N; n++)
					B[k * N + n] = tb ? pb[n * K + k] : pb[k * N + n];
			break;
		}
		rc = dp_matmul_f32(A, B, M, N, K, pe_depth(c), ps, 1, e);
		float *py = y + bi * M * N;
		for (uint64_t i = 0; i < M * N; i++) {
			float v = ps[i];
			if (bias)
				v = canon(v + bias[i % N]);
			py[yt ? (i % N) * M + i / N : i] = act_f32(op->a.activation, v);
		}
	}
	if (rc == 0)
		round_out(g, c, o, gop, 0, y, TY->elems, fv);
out:
	asim_free(a);
	asim_free(b);
	asim_free(bias);
	asim_free(A);
	asim_free(B);
	asim_free(y);
	asim_free(ps);
	return rc;
}

/* A convolution as the PE array sees it: input [N][C][H][W] (zero-dilated by idil: stored
 * element i of a row at position i·idil), filters read as W[co][ci][kh][kw] (groups G) or, for
 * backward data (flip), the forward filter [C][CO][KH][KW] at the flipped tap. */
typedef struct rconv {
	uint64_t N, C, H, W, CO, OH, OW, KH, KW, G, sh, sw, dh, dw, idil;
	int64_t pt, pl;
	int flip;
} rconv;

/* the geometry of op with input X [N, C, H, W], output channels and pixels those of O (NCHW),
 * a KH × KW filter; no input dilation, filters not flipped */
static rconv rconv_of(const graph_op *op, const graph_tensor *X, const graph_tensor *O, uint64_t KH,
                      uint64_t KW)
{
	const graph_attrs *a = &op->a;
	rconv v = {X->shape[0], X->shape[1], X->shape[2], X->shape[3], O->shape[1], O->shape[2],
	           O->shape[3], KH, KW, a->groups ? a->groups : 1, a->stride[0] ? a->stride[0] : 1,
	           a->stride[1] ? a->stride[1] : 1, a->dilation[0] ? a->dilation[0] : 1,
	           a->dilation[1] ? a->dilation[1] : 1, 1, a->pad[0], a->pad[2], 0};
	return v;
}

/* input value seen by output (oy, ox) at tap (kh, kw): +0 in the padding and dilation holes */
static float rc_x(const rconv *v, const float *x, uint64_t n, uint64_t ci, uint64_t oy, uint64_t ox,
                  uint64_t kh, uint64_t kw)
{
	int64_t iy = (int64_t)(oy * v->sh + kh * v->dh) - v->pt, ix = (int64_t)(ox * v->sw + kw * v->dw) - v->pl;
	int64_t d = (int64_t)v->idil;
	if (iy < 0 || ix < 0 || iy % d || ix % d || iy / d >= (int64_t)v->H || ix / d >= (int64_t)v->W)
		return 0.0f;
	return x[((n * v->C + ci) * v->H + (uint64_t)(iy / d)) * v->W + (uint64_t)(ix / d)];
}

/* filter value of output channel co (in the whole op), contraction channel ci of its group, tap t */
static float rc_w(const rconv *v, const float *w, uint64_t co, uint64_t ci, uint64_t t)
{
	uint64_t taps = v->KH * v->KW;
	return v->flip ? w[(ci * v->CO + co) * taps + taps - 1 - t] : w[(co * (v->C / v->G) + ci) * taps + t];
}

/* conv2d_backward_weight dW[co][ci][kh][kw] = Σ over images and output pixels of
 * X_tap[ci, pixel] · dY[co, pixel], in the lowering's order (docs/lowering.md §4): the pixels of
 * an image in tiles of rn whole output rows (rn = ⌊R/OW⌋, at least 1) or, when a row is wider
 * than the depth R, row segments of R; per tile one pass down the array from +0 over its pixels
 * (row-major), the tiles added in PSUM in order (images ascending, then tiles). FP32 sums into
 * y (logical dW); scratch A [C/G × R], B [R × CO/G], P [C/G × CO/G]. */
static int bwd_weight_sums(const rconv *v, const float *x, const float *dy, uint64_t R, float *A,
                           float *B, float *P, float *y, asim_err *e)
{
	uint64_t taps = v->KH * v->KW, Cg = v->C / v->G, COg = v->CO / v->G;
	uint64_t cn = v->OW < R ? v->OW : R, rn = v->OH < R / cn ? v->OH : R / cn;
	if (rn == 0)
		rn = 1;
	int rc = 0;
	for (uint64_t gi = 0; gi < v->G && rc == 0; gi++)
		for (uint64_t t = 0; t < taps && rc == 0; t++) {
			int first = 1;
			for (uint64_t n = 0; n < v->N && rc == 0; n++)
				for (uint64_t r0 = 0; r0 < v->OH && rc == 0; r0 += rn)
					for (uint64_t q0 = 0; q0 < v->OW && rc == 0; q0 += cn) {
						uint64_t rr = v->OH - r0 < rn ? v->OH - r0 : rn, cc = v->OW - q0 < cn ? v->OW - q0 : cn;
						uint64_t np = rr * cc;
						for (uint64_t p = 0; p < np; p++) {
							uint64_t oy = r0 + p / cc, ox = q0 + p % cc;
							for (uint64_t ci = 0; ci < Cg; ci++)
								A[ci * np + p] = rc_x(v, x, n, gi * Cg + ci, oy, ox, t / v->KW, t % v->KW);
							for (uint64_t j = 0; j < COg; j++)
								B[p * COg + j] = dy[((n * v->CO + gi * COg + j) * v->OH + oy) * v->OW + ox];
						}
						rc = dp_matmul_f32(A, B, Cg, COg, np, (unsigned)np, P, 1, e);
						for (uint64_t ci = 0; ci < Cg && rc == 0; ci++)
							for (uint64_t j = 0; j < COg; j++) {
								float *yy = &y[((gi * COg + j) * Cg + ci) * taps + t];
								*yy = first ? P[ci * COg + j] : canon(*yy + P[ci * COg + j]);
							}
						first = 0;
					}
		}
	return rc;
}

/* conv2d_backward_weight: bwd_weight_sums, one rounding.
 * conv2d and conv2d_backward_data (a stride-1 convolution of dY zero-dilated by the stride with
 * the flipped, transposed filters, padding d·(K−1)−p: docs/lowering.md §4): PE order (C_in tiles
 * of the array depth ascending; within each, taps (kh, kw) row-major; each (tile, tap) a pass
 * down the array from +0 over its channels; passes added in PSUM) for C_in/groups > 1; on
 * serial-fold weight-/input-stationary arrays the im2col order instead (dp_conv2d's:
 * k = ci·taps + tap, K tiles of the depth, each a pass from +0, added in PSUM in ascending k);
 * depthwise forward convs (C_in/groups = 1) on the vector engine: acc = p_tap0, acc = acc + p_tap
 * for the following taps. Then + bias, activation, one rounding. */
static int ref_conv(const graph *g, const chip *c, const func_opts *o, uint32_t gop,
                    func_vals *fv, asim_err *e)
{
	const graph_op *op = &g->ops[gop];
	const graph_tensor *TX = &g->tensors[op->in[0]], *TW = &g->tensors[op->in[1]];
	const graph_tensor *TY = &g->tensors[op->out[0]];
	int bwd_w = op->type == GRAPH_OP_CONV2D_BWD_WEIGHT;   /* inputs X, dY; output dW */
	rconv v = bwd_w ? rconv_of(op, TX, TW, TY->shape[2], TY->shape[3])
	                : rconv_of(op, TX, TY, TW->shape[2], TW->shape[3]);
	v.flip = op->type == GRAPH_OP_CONV2D_BWD_DATA;
	if (v.flip) {                  /* the lowering's transposed convolution (groups refused there) */
		v.idil = v.sh;
		v.pt = (int64_t)(v.dh * (v.KH - 1)) - v.pt;
		v.pl = (int64_t)(v.dw * (v.KW - 1)) - v.pl;
		v.sh = v.sw = 1;
	}
	uint64_t Nn = v.N, CO = v.CO, OW = v.OW, KW = v.KW, taps = v.KH * v.KW;
	uint64_t G = v.G, Cg = v.C / G, COg = CO / G;
	uint64_t R = pe_depth(c), pix = v.OH * OW;
	/* serial-fold weight-/input-stationary arrays fold the im2col contraction K = Cg·taps */
	int im2col = c->pe.mode == CHIP_PE_SERIAL_FOLDS && c->pe.dataflow != CHIP_OUTPUT_STATIONARY;
	uint64_t K = Cg * taps, kd = im2col ? K : R;
	float *x = decode_t(g, fv, op->in[0]), *w = decode_t(g, fv, op->in[1]);
	float *bias = op->n_in > 2 ? decode_t(g, fv, op->in[2]) : NULL;
	float *y = asim_calloc(TY->elems + 1, sizeof *y);
	if (bwd_w) {                   /* scratch of bwd_weight_sums */
		pix = Cg > R ? Cg : R;
		kd = R;
	}
	float *A = asim_calloc(pix * kd + 1, sizeof *A), *B = asim_calloc(kd * COg + 1, sizeof *B);
	float *P = asim_calloc(pix * COg + 1, sizeof *P);
	int rc = 0;
	if (!x || !w || (op->n_in > 2 && !bias) || !y || !A || !B || !P) {
		rc = asim_errorf(e, ASIM_ENOMEM, "out of memory");
		goto out;
	}
	if (bwd_w)
		rc = bwd_weight_sums(&v, x, w, R, A, B, P, y, e);
	for (uint64_t n = 0; n < Nn && rc == 0 && !bwd_w; n++)
		for (uint64_t gi = 0; gi < G && rc == 0; gi++) {
			if (Cg == 1 && !v.flip) {  /* depthwise: output channel co reads input channel gi */
				for (uint64_t j = 0; j < COg; j++) {
					uint64_t co = gi * COg + j;
					for (uint64_t q = 0; q < pix; q++) {
						uint64_t oy = q / OW, ox = q % OW;
						float acc = 0.0f;
						for (uint64_t t = 0; t < taps; t++) {
							float pr = canon(rc_x(&v, x, n, gi, oy, ox, t / KW, t % KW) * rc_w(&v, w, co, 0, t));
							acc = t == 0 ? pr : canon(acc + pr);
						}
						if (bias)
							acc = canon(acc + bias[co]);
						y[(n * CO + co) * pix + q] = act_f32(op->a.activation, acc);
					}
				}
				continue;
			}
			int first = 1;
			if (im2col) {          /* one contraction k = ci·taps + tap in K tiles of R */
				for (uint64_t q = 0; q < pix; q++)
					for (uint64_t k = 0; k < K; k++)
						A[q * K + k] = rc_x(&v, x, n, gi * Cg + k / taps, q / OW, q % OW, k % taps / KW, k % KW);
				for (uint64_t k = 0; k < K; k++)
					for (uint64_t j = 0; j < COg; j++)
						B[k * COg + j] = rc_w(&v, w, gi * COg + j, k / taps, k % taps);
				rc = dp_matmul_f32(A, B, pix, COg, K, (unsigned)R, P, 1, e);
				for (uint64_t q = 0; q < pix && rc == 0; q++)
					for (uint64_t j = 0; j < COg; j++)
						y[(n * CO + gi * COg + j) * pix + q] = P[q * COg + j];
			}
			for (uint64_t c0 = 0; c0 < Cg && rc == 0 && !im2col; c0 += R) {
				uint64_t kn = Cg - c0 < R ? Cg - c0 : R;
				for (uint64_t t = 0; t < taps && rc == 0; t++) {
					for (uint64_t q = 0; q < pix; q++)
						for (uint64_t k = 0; k < kn; k++)
							A[q * kn + k] = rc_x(&v, x, n, gi * Cg + c0 + k, q / OW, q % OW, t / KW, t % KW);
					for (uint64_t k = 0; k < kn; k++)
						for (uint64_t j = 0; j < COg; j++)
							B[k * COg + j] = rc_w(&v, w, gi * COg + j, c0 + k, t);
					rc = dp_matmul_f32(A, B, pix, COg, kn, (unsigned)kn, P, 1, e);
					for (uint64_t q = 0; q < pix && rc == 0; q++)
						for (uint64_t j = 0; j < COg; j++) {
							float *yy = &y[(n * CO + gi * COg + j) * pix + q];
							*yy = first ? P[q * COg + j] : canon(*yy + P[q * COg + j]);
						}
					first = 0;
				}
			}
			for (uint64_t j = 0; j < COg && rc == 0; j++)
				for (uint64_t q = 0; q < pix; q++) {
					uint64_t co = gi * COg + j;
					float *yy = &y[(n * CO + co) * pix + q];
					float val = *yy;
					if (bias)
						val = canon(val + bias[co]);
					*yy = act_f32(op->a.activation, val);
				}
		}
	if (rc == 0)
		round_out(g, c, o, gop, 0, y, TY->elems, fv);
out:
	asim_free(x);
	asim_free(w);
	asim_free(bias);
	asim_free(y);
	asim_free(A);
	asim_free(B);
	asim_free(P);
	return rc;
}

/* numpy broadcasting: the element of T (aligned at the right with Y) that output element e reads */
static uint64_t bcast_index(const graph_tensor *T, const graph_tensor *Y, uint64_t e)
{
	uint64_t idx = 0, mul = 1;
	for (int d = (int)Y->rank - 1, td = (int)T->rank - 1; d >= 0 && td >= 0; d--, td--) {
		uint64_t k = e % Y->shape[d];
		e /= Y->shape[d];
		if (T->shape[td] != 1)
			idx += k * mul;
		mul *= T->shape[td];
	}
	return idx;
}

static int ref_eltwise(const graph *g, const chip *c, const func_opts *o, uint32_t gop,
                       func_vals *fv, asim_err *e)
{
	const graph_op *op = &g->ops[gop];
	uint64_t n = g->tensors[op->out[0]].elems;
	float *a = decode_t(g, fv, op->in[0]), *b = op->n_in > 1 ? decode_t(g, fv, op->in[1]) : NULL;
	float *y = NULL;
	int rc = 0;
	if (!a || (op->n_in > 1 && !b)) {
		rc = asim_errorf(e, ASIM_ENOMEM, "out of memory");
		goto out;
	}
	const graph_tensor *TY = &g->tensors[op->out[0]], *TA = &g->tensors[op->in[0]];
	const graph_tensor *TB = op->n_in > 1 ? &g->tensors[op->in[1]] : TY;
	y = asim_calloc(n + 1, sizeof *y);
	if (y == NULL) {
		rc = asim_errorf(e, ASIM_ENOMEM, "out of memory");
		goto out;
	}
	for (uint64_t i = 0; i < n; i++) {
		float v, ai = a[bcast_index(TA, TY, i)], bi = b ? b[bcast_index(TB, TY, i)] : 0.0f;
		switch (op->type) {
		case GRAPH_OP_ADD: v = act_f32(op->a.activation, canon(ai + bi)); break;
		case GRAPH_OP_SUB: v = act_f32(op->a.activation, canon(ai - bi)); break;
		case GRAPH_OP_MUL: v = act_f32(op->a.activation, canon(ai * bi)); break;
		case GRAPH_OP_RELU_BWD: v = canon(ai * (bi > 0.0f ? 1.0f : 0.0f)); break;
		case GRAPH_OP_RELU: v = act_f32(GRAPH_ACT_RELU, ai); break;
		case GRAPH_OP_RELU6: v = act_f32(GRAPH_ACT_RELU6, ai); break;
		case GRAPH_OP_GELU: v = act_f32(GRAPH_ACT_GELU, ai); break;
		case GRAPH_OP_SILU: v = act_f32(GRAPH_ACT_SILU, ai); break;
		case GRAPH_OP_SIGMOID: v = act_f32(GRAPH_ACT_SIGMOID, ai); break;
		case GRAPH_OP_TANH: v = act_f32(GRAPH_ACT_TANH, ai); break;
		case GRAPH_OP_EXP: v = act_f32(GRAPH_ACT_EXP, ai); break;
		default: ASIM_ASSERT(0); v = 0.0f;
		}
		y[i] = v;
	}
	round_out(g, c, o, gop, 0, y, n, fv);
out:
	asim_free(a);
	asim_free(b);
	asim_free(y);
	return rc;
}

/* sgd_update, adam_update (docs/functional.md §3): per element, every step an FP32 result;
 * m', v' rounded once to their dtypes (output slots 1, 2), and W' computed from the STORED
 * (rounded) m', v', rounded once (slot 0); Philox index = the element's index. */
static int ref_update(const graph *g, const chip *c, const func_opts *o, uint32_t gop,
                      func_vals *fv, asim_err *e)
{
	const graph_op *op = &g->ops[gop];
	const graph_attrs *at = &op->a;
	int adam = op->type == GRAPH_OP_ADAM_UPDATE;
	uint64_t n = g->tensors[op->out[0]].elems;
	float *x[4] = {NULL, NULL, NULL, NULL}, *y[3] = {NULL, NULL, NULL};
	int rc = 0;
	for (uint32_t i = 0; i < op->n_in && rc == 0; i++)
		if ((x[i] = decode_t(g, fv, op->in[i])) == NULL)
			rc = asim_errorf(e, ASIM_ENOMEM, "out of memory");
	for (uint32_t i = 0; i < op->n_out && rc == 0; i++)
		if ((y[i] = asim_calloc(n + 1, sizeof(float))) == NULL)
			rc = asim_errorf(e, ASIM_ENOMEM, "out of memory");
	if (rc)
		goto out;
	float wd = (float)at->weight_decay;
	for (uint64_t i = 0; i < n; i++) {       /* the state: m' (and v') */
		float w = x[0][i], dw = x[1][i], m = x[2][i];
		if (!adam) {
			float mn = canon((float)at->momentum * m);
			y[1][i] = at->weight_decay != 0.0 ? canon(canon(mn + dw) + canon(wd * w)) : canon(mn + dw);
		} else {
			y[1][i] = canon(canon((float)at->beta1 * m) + canon((float)(1.0 - at->beta1) * dw));
			float g2 = canon(canon(dw * dw) * (float)(1.0 - at->beta2));
			y[2][i] = canon(canon((float)at->beta2 * x[3][i]) + g2);
		}
	}
	for (unsigned k = 1; k < op->n_out; k++) {
		round_out(g, c, o, gop, k, y[k], n, fv);
		dp_decode_f32_array(fmt_of(g->tensors[op->out[k]].dtype), fv->v[op->out[k]], y[k], n);
	}
	for (uint64_t i = 0; i < n; i++) {       /* W' from the stored m', v' */
		float w = x[0][i], u = y[1][i];
		if (adam) {
			float den = canon(canon((float)pow((double)y[2][i], 0.5)) + (float)at->epsilon);
			u = canon(u / den);
			if (at->weight_decay != 0.0)
				u = canon(u + canon(wd * w));
		}
		y[0][i] = canon(w - canon((float)at->lr * u));
	}
	round_out(g, c, o, gop, 0, y[0], n, fv);
out:
	for (int i = 0; i < 4; i++)
		asim_free(x[i]);
	for (int i = 0; i < 3; i++)
		asim_free(y[i]);
	return rc;
}

/* transpose (y[i_0..] = x[.. i_d at perm[d] ..]) and concat (slices along axis): codes copied */
static void ref_move(const graph *g, uint32_t gop, func_vals *fv)
{
	const graph_op *op = &g->ops[gop];
	const graph_tensor *TY = &g->tensors[op->out[0]];
	size_t es = asim_dtype_bytes(TY->dtype);
	uint8_t *y = fv->v[op->out[0]];
	for (uint64_t e = 0; e < TY->elems; e++) {
		uint64_t idx[GRAPH_MAX_RANK], r = e;
		for (int d = (int)TY->rank - 1; d >= 0; d--) {
			idx[d] = r % TY->shape[d];
			r /= TY->shape[d];
		}
		uint32_t in = 0;
		uint64_t xi[GRAPH_MAX_RANK];
		if (op->type == GRAPH_OP_TRANSPOSE) {
			for (uint32_t d = 0; d < TY->rank; d++)
				xi[op->a.perm[d]] = idx[d];
		} else {
			uint32_t ax = (uint32_t)op->a.axis;
			memcpy(xi, idx, sizeof xi);
			while (xi[ax] >= g->tensors[op->in[in]].shape[ax])
				xi[ax] -= g->tensors[op->in[in++]].shape[ax];
		}
		const graph_tensor *TX = &g->tensors[op->in[in]];
		uint64_t lin = 0;
		for (uint32_t d = 0; d < TX->rank; d++)
			lin = lin * TX->shape[d] + xi[d];
		memcpy(y + e * es, (const uint8_t *)fv->v[op->in[in]] + lin * es, es);
	}
}

/* embedding: row r of y = table row indices[r], codes copied */
static int ref_embedding(const graph *g, uint32_t gop, func_vals *fv, asim_err *e)
{
	const graph_op *op = &g->ops[gop];
	const graph_tensor *TT = &g->tensors[op->in[0]], *TI = &g->tensors[op->in[1]];
	uint64_t V = TT->shape[0], row = TT->elems / V * asim_dtype_bytes(TT->dtype);
	const int32_t *idx = fv->v[op->in[1]];
	for (uint64_t r = 0; r < TI->elems; r++) {
		if (idx[r] < 0 || (uint64_t)idx[r] >= V) {
			char esc[256];
			asim_escape(esc, sizeof esc, op->name);
			return asim_errorf(e, ASIM_ERANGE, "reference: op '%s' (embedding): index %ld at "
			                   "element %llu outside the table's %llu rows", esc, (long)idx[r],
			                   (unsigned long long)r, (unsigned long long)V);
		}
		memcpy((uint8_t *)fv->v[op->out[0]] + r * row,
		       (const uint8_t *)fv->v[op->in[0]] + (uint64_t)idx[r] * row, row);
	}
	return 0;
}

/* max of the datapath's ALU: NaN if either is NaN, else the larger, the second on equality */
static float max_alu(float a, float b)
{
	return isnan(a) || isnan(b) ? NAN : a > b ? a : b;
}

/* maxpool / avgpool: per output, acc = tap (0, 0), then acc = max(acc, tap) / acc + tap over the
 * taps in row-major order, padding = −inf (−448 in fp8_e4m3) / +0; y = acc · 1 (max) or
 * acc · fl32(1/(KH·KW)), rounded once. global_avgpool: acc = +0 + x_0 + x_1 + ... in ascending
 * h·W + w, y = acc · fl32(1/(H·W)). All FP32. */
static int ref_pool(const graph *g, const chip *c, const func_opts *o, uint32_t gop,
                    func_vals *fv, asim_err *e)
{
	const graph_op *op = &g->ops[gop];
	const graph_tensor *TX = &g->tensors[op->in[0]], *TY = &g->tensors[op->out[0]];
	uint64_t planes = TX->shape[0] * TX->shape[1], H = TX->shape[2], W = TX->shape[3];
	uint64_t OH = TY->shape[2], OW = TY->shape[3];
	float *x = decode_t(g, fv, op->in[0]), *y = asim_calloc(TY->elems + 1, sizeof *y);
	if (x == NULL || y == NULL) {
		asim_free(x);
		asim_free(y);
		return asim_errorf(e, ASIM_ENOMEM, "out of memory");
	}
	int mx = op->type == GRAPH_OP_MAXPOOL;
	uint64_t KH = op->a.kernel[0] ? op->a.kernel[0] : 1, KW = op->a.kernel[1] ? op->a.kernel[1] : 1;
	uint64_t sh = op->a.stride[0] ? op->a.stride[0] : 1, sw = op->a.stride[1] ? op->a.stride[1] : 1;
	int64_t pt = op->a.pad[0], pl = op->a.pad[2];
	float pad = !mx ? 0.0f : TX->dtype == ASIM_DT_FP8_E4M3 ? -448.0f : -INFINITY;
	for (uint64_t pl_ = 0; pl_ < planes; pl_++) {
		const float *xp = x + pl_ * H * W;
		if (op->type == GRAPH_OP_GLOBAL_AVGPOOL) {
			float acc = 0.0f;
			for (uint64_t i = 0; i < H * W; i++)
				acc = canon(acc + xp[i]);
			y[pl_] = canon(acc * (float)(1.0 / (double)(H * W)));
			continue;
		}
		for (uint64_t oy = 0; oy < OH; oy++)
			for (uint64_t ox = 0; ox < OW; ox++) {
				float acc = 0.0f;
				for (uint64_t t = 0; t < KH * KW; t++) {
					int64_t iy = (int64_t)(oy * sh + t / KW) - pt, ix = (int64_t)(ox * sw + t % KW) - pl;
					float v = iy < 0 || ix < 0 || iy >= (int64_t)H || ix >= (int64_t)W
					          ? pad : xp[(uint64_t)iy * W + (uint64_t)ix];
					acc = t == 0 ? v : canon(mx ? max_alu(acc, v) : acc + v);
				}
				float k = mx ? 1.0f : (float)(1.0 / (double)(KH * KW));
				y[(pl_ * OH + oy) * OW + ox] = canon(acc * k);
			}
	}
	round_out(g, c, o, gop, 0, y, TY->elems, fv);
	asim_free(x);
	asim_free(y);
	return 0;
}

/* softmax, layernorm, rmsnorm per row in FP32, every step's result an FP32 value (NaN made
 * canonical), docs/functional.md §3: sums from +0 in ascending index, the max from the first
 * element; softmax y = e / s; norms y = ((d · rstd) · γ) + β with rstd = fl32(pow(var + ε, −½)). */
static int ref_rowwise(const graph *g, const chip *c, const func_opts *o, uint32_t gop,
                       func_vals *fv, asim_err *e)
{
	const graph_op *op = &g->ops[gop];
	const graph_tensor *TX = &g->tensors[op->in[0]];
	int sm = op->type == GRAPH_OP_SOFTMAX, ln = op->type == GRAPH_OP_LAYERNORM;
	uint32_t ax = (uint32_t)op->a.axis;
	uint64_t n = 1, inner = 1;       /* softmax: one axis; norms: the dims from axis on, flat */
	for (uint32_t d = ax; d < TX->rank; d++) {
		if (sm && d > ax)
			inner *= TX->shape[d];
		else
			n *= TX->shape[d];
	}
	float *x = decode_t(g, fv, op->in[0]), *y = asim_calloc(TX->elems + 1, sizeof *y);
	float *gb[2] = {NULL, NULL};
	for (uint32_t k = 1; k < op->n_in; k++)
		gb[k - 1] = decode_t(g, fv, op->in[k]);
	if (!x || !y || (op->n_in > 1 && !gb[0]) || (op->n_in > 2 && !gb[1])) {
		asim_free(x);
		asim_free(y);
		asim_free(gb[0]);
		asim_free(gb[1]);
		return asim_errorf(e, ASIM_ENOMEM, "out of memory");
	}
	float inv = (float)(1.0 / (double)n), eps = (float)op->a.epsilon;
	for (uint64_t r = 0; r < TX->elems / n; r++) {
		uint64_t base = (r / inner) * n * inner + r % inner;
#define AT(j) (base + (j) * inner)
		if (sm) {
			float m = canon(x[AT(0)]), s = 0.0f;
			for (uint64_t j = 1; j < n; j++)
				m = canon(max_alu(m, x[AT(j)]));
			for (uint64_t j = 0; j < n; j++) {
				y[AT(j)] = canon(act_f32(GRAPH_ACT_EXP, canon(x[AT(j)] - m)));
				s = canon(s + y[AT(j)]);
			}
			for (uint64_t j = 0; j < n; j++)
				y[AT(j)] = canon(y[AT(j)] / s);
			continue;
		}
		float mean = 0.0f, ss = 0.0f;
		if (ln) {
			for (uint64_t j = 0; j < n; j++)
				mean = canon(mean + x[AT(j)]);
			mean = canon(mean * inv);
		}
		for (uint64_t j = 0; j < n; j++) {
			float d = ln ? canon(x[AT(j)] - mean) : x[AT(j)];
			ss = canon(ss + canon(d * d));
		}
		float rstd = canon((float)pow((double)canon(canon(ss * inv) + eps), -0.5));
		for (uint64_t j = 0; j < n; j++) {
			float v = canon((ln ? canon(x[AT(j)] - mean) : x[AT(j)]) * rstd);
			if (gb[0])
				v = canon(v * gb[0][j]);
			if (gb[1])
				v = canon(v + gb[1][j]);
			y[AT(j)] = v;
		}
#undef AT
	}
	round_out(g, c, o, gop, 0, y, TX->elems, fv);
	asim_free(x);
	asim_free(y);
	asim_free(gb[0]);
	asim_free(gb[1]);
	return 0;
}

int func_reference(const graph *g, const chip *c, const func_opts *o, func_vals *fv, asim_err *e)
{
	int rc = func_check_graph(g, e);
	for (size_t i = 0; i < g->n_ops && rc == 0; i++) {
		const graph_op *op = &g->ops[i];
		switch (op->type) {
		case GRAPH_OP_MATMUL: case GRAPH_OP_MATMUL_BWD_DATA: case GRAPH_OP_MATMUL_BWD_WEIGHT:
			rc = ref_matmul(g, c, o, (uint32_t)i, fv, e);
			break;
		case GRAPH_OP_CONV2D: case GRAPH_OP_CONV2D_BWD_DATA: case GRAPH_OP_CONV2D_BWD_WEIGHT:
			rc = ref_conv(g, c, o, (uint32_t)i, fv, e);
			break;
		case GRAPH_OP_TRANSPOSE: case GRAPH_OP_CONCAT:
			ref_move(g, (uint32_t)i, fv);
			break;
		case GRAPH_OP_EMBEDDING:
			rc = ref_embedding(g, (uint32_t)i, fv, e);
			break;
		case GRAPH_OP_SGD_UPDATE: case GRAPH_OP_ADAM_UPDATE:
			rc = ref_update(g, c, o, (uint32_t)i, fv, e);
			break;
		case GRAPH_OP_MAXPOOL: case GRAPH_OP_AVGPOOL: case GRAPH_OP_GLOBAL_AVGPOOL:
			rc = ref_pool(g, c, o, (uint32_t)i, fv, e);
			break;
		case GRAPH_OP_SOFTMAX: case GRAPH_OP_LAYERNORM: case GRAPH_OP_RMSNORM:
			rc = ref_rowwise(g, c, o, (uint32_t)i, fv, e);
			break;
		case GRAPH_OP_RESHAPE:
			memcpy(fv->v[op->out[0]], fv->v[op->in[0]],
			       g->tensors[op->in[0]].elems * asim_dtype_bytes(g->tensors[op->in[0]].dtype));
			break;
		default:
			rc = ref_eltwise(g, c, o, (uint32_t)i, fv, e);
			break;
		}
	}
	return rc;
}
