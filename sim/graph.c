/*
 * graph.c -- reading an operator graph from YAML: the document, tensors, ops, attributes,
 * numerics overrides, fusion groups, name resolution, reference checks, totals, content hash.
 *
 * What it models: a compiled operator graph as docs/graph-format.md defines it, i.e.
 *
 *     accelsim: 1                     format version (anything else is refused)
 *     name: mlp                       optional label
 *     dtype: bf16                     optional default element type of tensors
 *     tensors: [ {name, kind, dtype, shape}, ... ]
 *     ops:     [ {name, type, inputs, outputs, <attributes>, <numerics>, group}, ... ]
 *
 * Invariants established here (and relied on by every later stage):
 *   - tensor names are unique, op names are unique (two separate name spaces), both looked up
 *     through an open-addressing hash table, so loading is linear in the file size;
 *   - every operand names a declared tensor; an input or weight is never written by an op; no
 *     tensor is produced twice; every activation/output is produced by exactly one op;
 *   - ops are in topological order (checked in pass 2, graph_infer.c);
 *   - every shape has rank <= GRAPH_MAX_RANK, no zero dimension, and its element count and byte
 *     size fit in 64 bits;
 *   - the ops of a fusion group are consecutive.
 * Units: shapes in elements, sizes in bytes, work in MACs (multiply-accumulates) and FLOPs.
 *
 * The content hash is FNV-1a (64 bit) over a canonical byte stream of the validated graph, folded
 * through a 64-bit finaliser; it therefore does not depend on formatting, comments, key order, or
 * on writing a default explicitly (docs/graph-format.md, "Content hash").
 */
#include "sim/graph.h"
#include "sim/graph_int.h"
#include "sim/alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *const graph_op_names[GRAPH_OP_COUNT] = {
#define OP(name, str, cls, min_in, max_in, nout) str,
#include "sim/ops.def"
#undef OP
};

const char *const graph_act_names[GRAPH_ACT_COUNT] = {
#define X(name, str) str,
	GRAPH_ACT_LIST(X)
#undef X
};

static const unsigned char op_class[GRAPH_OP_COUNT] = {
#define OP(name, str, cls, min_in, max_in, nout) GRAPH_CLASS_##cls,
#include "sim/ops.def"
#undef OP
};
static const unsigned char op_min_in[GRAPH_OP_COUNT] = {
#define OP(name, str, cls, min_in, max_in, nout) min_in,
#include "sim/ops.def"
#undef OP
};
static const unsigned char op_max_in[GRAPH_OP_COUNT] = {
#define OP(name, str, cls, min_in, max_in, nout) max_in,
#include "sim/ops.def"
#undef OP
};
static const unsigned char op_nout[GRAPH_OP_COUNT] = {
#define OP(name, str, cls, min_in, max_in, nout) nout,
#include "sim/ops.def"
#undef OP
};

graph_op_class graph_op_class_of(graph_op_type t)
{
	ASIM_ASSERT((unsigned)t < GRAPH_OP_COUNT);
	return (graph_op_class)op_class[t];
}

static const char *const kind_names[] = {"input", "weight", "activation", "output"};

/* ---- attributes: which op type takes which key ------------------------------------------- */

enum {
	A_TA, A_TB, A_ACT, A_STRIDE, A_PAD, A_DIL, A_GROUPS, A_KERNEL, A_AXIS, A_EPS, A_PERM,
	A_SHAPE, A_LR, A_MOM, A_WD, A_B1, A_B2, A_COUNT
};
static const char *const attr_names[A_COUNT] = {
	"transpose_a", "transpose_b", "activation", "stride", "padding", "dilation", "groups",
	"kernel", "axis", "epsilon", "perm", "shape", "lr", "momentum", "weight_decay", "beta1", "beta2",
};
#define B(x) (1u << (x))
#define CONV_ATTRS (B(A_STRIDE) | B(A_PAD) | B(A_DIL) | B(A_GROUPS))
static uint32_t op_attrs(graph_op_type t)
{
	switch (t) {
	case GRAPH_OP_MATMUL: return B(A_TA) | B(A_TB) | B(A_ACT);
	case GRAPH_OP_CONV2D: return CONV_ATTRS | B(A_ACT);
	case GRAPH_OP_MAXPOOL:
	case GRAPH_OP_AVGPOOL: return B(A_KERNEL) | B(A_STRIDE) | B(A_PAD);
	case GRAPH_OP_ADD:
	case GRAPH_OP_SUB:
	case GRAPH_OP_MUL: return B(A_ACT);
	case GRAPH_OP_SOFTMAX: return B(A_AXIS);
	case GRAPH_OP_LAYERNORM:
	case GRAPH_OP_RMSNORM: return B(A_AXIS) | B(A_EPS);
	case GRAPH_OP_TRANSPOSE: return B(A_PERM);
	case GRAPH_OP_RESHAPE: return B(A_SHAPE);
	case GRAPH_OP_CONCAT: return B(A_AXIS);
	case GRAPH_OP_MATMUL_BWD_DATA:
	case GRAPH_OP_MATMUL_BWD_WEIGHT: return B(A_TA) | B(A_TB);
	case GRAPH_OP_CONV2D_BWD_DATA: return CONV_ATTRS;
	case GRAPH_OP_CONV2D_BWD_WEIGHT: return CONV_ATTRS | B(A_KERNEL);
	case GRAPH_OP_SGD_UPDATE: return B(A_LR) | B(A_MOM) | B(A_WD);
	case GRAPH_OP_ADAM_UPDATE: return B(A_LR) | B(A_B1) | B(A_B2) | B(A_EPS) | B(A_WD);
	default: return 0;
	}
}

enum { K_NAME, K_TYPE, K_INPUTS, K_OUTPUTS, K_GROUP, K_DTYPE, K_ACCUM, K_ROUNDING, K_SATURATE,
       K_SRBITS, K_COUNT };
static const char *const op_keys[K_COUNT] = {
	"name", "type", "inputs", "outputs", "group", "dtype", "accum", "rounding", "saturate", "sr_bits",
};
#define K_FIRST_NUMERIC K_DTYPE

/* ---- names ------------------------------------------------------------------------------- */

/* Open-addressing table from name to index; keys are borrowed (owned by the graph). */
typedef struct ntab {
	const char **key;
	uint32_t *val;
	size_t cap;   /* power of two, at least twice the entries */
} ntab;

static uint64_t fnv1a(const void *p, size_t n, uint64_t h)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}
#define FNV_OFFSET 0xcbf29ce484222325ULL

static int ntab_init(ntab *t, size_t n)
{
	size_t cap = 16;
	while (cap < 2 * n + 2)
		cap *= 2;
	t->cap = cap;
	t->key = asim_calloc(cap, sizeof *t->key);
	t->val = asim_calloc(cap, sizeof *t->val);
	return t->key && t->val ? ASIM_OK : ASIM_ENOMEM;
}

static void ntab_fini(ntab *t)
{
	asim_free(t->key);
	asim_free(t->val);
	memset(t, 0, sizeof *t);
}

/* Insert (name, v) unless present; returns -1 when inserted, else the existing value. */
static int64_t ntab_put(ntab *t, const char *name, uint32_t v)
{
	size_t i = (size_t)fnv1a(name, strlen(name), FNV_OFFSET) & (t->cap - 1);
	while (t->key[i] != NULL) {
		if (strcmp(t->key[i], name) == 0)
			return t->val[i];
		i = (i + 1) & (t->cap - 1);
	}
	t->key[i] = name;
	t->val[i] = v;
	return -1;
}

static int64_t ntab_get(const ntab *t, const char *name)
{
	if (t->cap == 0)
		return -1;
	size_t i = (size_t)fnv1a(name, strlen(name), FNV_OFFSET) & (t->cap - 1);
	while (t->key[i] != NULL) {
		if (strcmp(t->key[i], name) == 0)
			return t->val[i];
		i = (i + 1) & (t->cap - 1);
	}
	return -1;
}

#define NAME_MAX_LEN 256

static int name_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
	       c == '.' || c == '-' || c == '/' || c == ':';
}

/* A name: 1..256 characters from [A-Za-z0-9_.:/-] (they appear unquoted in CSV and traces). */
static int check_name(const yd_doc *d, const yd_node *n, const char *what, const char **out,
                      asim_err *e)
{
	int rc = yd_str(d, n, what, out, e);
	if (rc != 0)
		return rc;
	if (n->len == 0)
		return yd_error(d, n, e, ASIM_ESCHEMA, "%s is empty", what);
	if (n->len > NAME_MAX_LEN)
		return yd_error(d, n, e, ASIM_ERANGE, "%s is %zu characters long; the limit is %d", what,
		                n->len, NAME_MAX_LEN);
	for (size_t i = 0; i < n->len; i++)
		if (!name_char_ok((unsigned char)n->str[i])) {
			char esc[96], ch[8];
			asim_escape(esc, sizeof esc, n->str);
			char one[2] = {n->str[i], 0};
			asim_escape(ch, sizeof ch, one);
			return yd_error(d, n, e, ASIM_ESCHEMA,
			                "%s '%s' contains '%s': names use letters, digits and _ . - / : only",
			                what, esc, ch);
		}
	return ASIM_OK;
}

/* ---- errors ------------------------------------------------------------------------------ */

int graph_op_error(graph_loader *L, uint32_t opi, const yd_node *n, int code, const char *fmt, ...)
{
	char msg[700];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	const graph_op *op = &L->g->ops[opi];
	return yd_error(L->d, n ? n : L->opx[opi].node, L->e, code, "op '%s' (%s): %s", op->name,
	                graph_op_names[op->type], msg);
}

const char *graph_fmt_shape(char *buf, size_t size, uint32_t rank, const uint64_t *shape)
{
	size_t o = (size_t)snprintf(buf, size, "[");
	for (uint32_t i = 0; i < rank && o < size; i++)
		o += (size_t)snprintf(buf + o, size - o, "%s%llu", i ? ", " : "", (unsigned long long)shape[i]);
	if (o < size)
		snprintf(buf + o, size - o, "]");
	return buf;
}

/* ---- tensors ----------------------------------------------------------------------------- */

static int parse_dim(const yd_doc *d, const yd_node *n, const char *what, uint64_t *out, asim_err *e)
{
	if (n->kind == YD_SCALAR && n->plain && (n->str[0] == '-' || strcmp(n->str, "0") == 0))
		return yd_error(d, n, e, ASIM_ERANGE, "%s is %s: every dimension must be at least 1", what,
		                n->str[0] == '-' ? "negative" : "0");
	return yd_u64(d, n, what, 1, UINT64_MAX, out, e);
}

static int parse_tensor(graph_loader *L, ntab *names, uint32_t ti, const yd_node *m)
{
	static const char *const keys[] = {"name", "kind", "dtype", "shape"};
	const yd_doc *d = L->d;
	asim_err *e = L->e;
	graph_tensor *t = &L->g->tensors[ti];
	graph_tx *x = &L->tx[ti];
	char what[320];
	snprintf(what, sizeof what, "tensor #%u", ti + 1);
	int rc = yd_expect(d, m, YD_MAP, what, e);
	const yd_node *nn = rc ? NULL : yd_get(m, "name");
	if (rc == 0 && nn != NULL && nn->kind == YD_SCALAR) {
		char esc[280];
		asim_escape(esc, sizeof esc, nn->str);
		snprintf(what, sizeof what, "tensor '%s'", esc);
	}
	if (rc == 0)
		rc = yd_check_keys(d, m, keys, 4, what, e);
	if (rc == 0)
		rc = yd_require(d, m, "name", what, &nn, e);
	const char *name = NULL;
	if (rc == 0)
		rc = check_name(d, nn, "tensor name", &name, e);
	if (rc != 0)
		return rc;
	x->node = m;
	t->line = m->line;
	t->col = m->col;
	t->producer = -1;
	t->name = asim_strdup(name);
	if (t->name == NULL)
		return asim_errorf(e, ASIM_ENOMEM, "out of memory");
	int64_t prev = ntab_put(names, t->name, ti);
	if (prev >= 0)
		return yd_error(d, nn, e, ASIM_EREF, "duplicate tensor name '%s' (first declared at line %lu)",
		                name, L->g->tensors[prev].line);

	const yd_node *v;
	int k = GRAPH_ACTIVATION;
	if ((v = yd_get(m, "kind")) != NULL && (rc = yd_enum(d, v, "kind", kind_names, 4, &k, e)) != 0)
		return rc;
	t->kind = (graph_tensor_kind)k;

	/* An explicit dtype is checked against the producer; an input or weight without one takes
	 * the file's default; an activation or output without one gets it in inference. */
	int dt = -1;
	if ((v = yd_get(m, "dtype")) != NULL) {
		if ((rc = yd_enum(d, v, "dtype", asim_dtype_names, ASIM_DT_COUNT, &dt, e)) != 0)
			return rc;
		x->has_dtype = 1;
	} else if (t->kind == GRAPH_INPUT || t->kind == GRAPH_WEIGHT) {
		dt = L->default_dtype;
		x->has_dtype = dt >= 0;
	}
	t->dtype = dt >= 0 ? (asim_dtype)dt : ASIM_DT_FP32;
	if (!x->has_dtype && (t->kind == GRAPH_INPUT || t->kind == GRAPH_WEIGHT))
		return yd_error(d, m, e, ASIM_ESCHEMA,
		                "%s is an %s and needs a dtype (give 'dtype:' here or at the top of the file)",
		                what, kind_names[t->kind]);

	v = yd_get(m, "shape");
	if (v == NULL) {
		if (t->kind == GRAPH_INPUT || t->kind == GRAPH_WEIGHT)
			return yd_error(d, m, e, ASIM_ESCHEMA,
			                "%s is an %s and needs a shape (only activations and outputs may omit it)",
			                what, kind_names[t->kind]);
		return ASIM_OK;
	}
	if ((rc = yd_expect(d, v, YD_SEQ, "shape", e)) != 0)
		return rc;
	if (v->len > GRAPH_MAX_RANK)
		return yd_error(d, v, e, ASIM_ERANGE, "shape of %s has rank %zu; the limit is %d", what,
		                v->len, GRAPH_MAX_RANK);
	x->shape_node = v;
	x->has_shape = 1;
	t->rank = (uint32_t)v->len;
	uint64_t elems = 1;
	for (uint32_t i = 0; i < t->rank; i++) {
		char dw[64];
		snprintf(dw, sizeof dw, "dimension %u of the shape", i);
		if ((rc = parse_dim(d, yd_item(v, i), dw, &t->shape[i], e)) != 0)
			return rc;
		if (__builtin_mul_overflow(elems, t->shape[i], &elems))
			return yd_error(d, yd_item(v, i), e, ASIM_ERANGE,
			                "%s has more than 2^64 elements (the product of its dimensions overflows)",
			                what);
	}
	t->elems = elems;
	if (__builtin_mul_overflow(elems, (uint64_t)asim_dtype_bytes(t->dtype), &t->bytes))
		return yd_error(d, v, e, ASIM_ERANGE, "%s is larger than 2^64 bytes", what);
	return ASIM_OK;
}

/* ---- op attributes ----------------------------------------------------------------------- */

#define ATTR_MAX 0x7fffffffu

/* `stride: 2` or `stride: [2, 1]` */
static int parse_pair(const yd_doc *d, const yd_node *v, const char *what, uint32_t min,
                      uint32_t out[2], asim_err *e)
{
	uint64_t a, b;
	int rc;
	if (v->kind == YD_SEQ) {
		if (v->len != 2)
			return yd_error(d, v, e, ASIM_ESCHEMA, "%s must be one number or a list [h, w] of two, "
			                "not a list of %zu", what, v->len);
		if ((rc = yd_u64(d, yd_item(v, 0), what, min, ATTR_MAX, &a, e)) != 0 ||
		    (rc = yd_u64(d, yd_item(v, 1), what, min, ATTR_MAX, &b, e)) != 0)
			return rc;
	} else {
		if ((rc = yd_u64(d, v, what, min, ATTR_MAX, &a, e)) != 0)
			return rc;
		b = a;
	}
	out[0] = (uint32_t)a;
	out[1] = (uint32_t)b;
	return ASIM_OK;
}

/* `padding: 1`, `[h, w]`, `[top, bottom, left, right]`, `same` or `valid` */
static int parse_padding(const yd_doc *d, const yd_node *v, uint32_t pad[4], uint8_t *same,
                         asim_err *e)
{
	uint64_t p[4];
	int rc;
	if (v->kind == YD_SCALAR && v->plain && strcmp(v->str, "same") == 0) {
		*same = 1;
		return ASIM_OK;
	}
	if (v->kind == YD_SCALAR && v->plain && strcmp(v->str, "valid") == 0) {
		memset(pad, 0, 4 * sizeof *pad);
		return ASIM_OK;
	}
	if (v->kind == YD_SEQ) {
		if (v->len != 2 && v->len != 4)
			return yd_error(d, v, e, ASIM_ESCHEMA, "padding must be a number, [h, w], "
			                "[top, bottom, left, right], same or valid, not a list of %zu", v->len);
		for (size_t i = 0; i < v->len; i++)
			if ((rc = yd_u64(d, yd_item(v, i), "padding", 0, ATTR_MAX, &p[i], e)) != 0)
				return rc;
		if (v->len == 2) {
			p[3] = p[2] = p[1];
			p[1] = p[0];
		}
	} else {
		if (v->kind == YD_SCALAR && !(v->str[0] >= '0' && v->str[0] <= '9') && v->str[0] != '-')
			return yd_error(d, v, e, ASIM_ESCHEMA, "padding must be a number, [h, w], "
			                "[top, bottom, left, right], same or valid, not '%.40s'", v->str);
		if ((rc = yd_u64(d, v, "padding", 0, ATTR_MAX, &p[0], e)) != 0)
			return rc;
		p[1] = p[2] = p[3] = p[0];
	}
	for (int i = 0; i < 4; i++)
		pad[i] = (uint32_t)p[i];
	return ASIM_OK;
}

static int parse_attr(graph_loader *L, uint32_t opi, int a, const yd_node *v)
{
	const yd_doc *d = L->d;
	asim_err *e = L->e;
	graph_op *op = &L->g->ops[opi];
	graph_opx *x = &L->opx[opi];
	graph_attrs *at = &op->a;
	int rc = ASIM_OK, iv;
	uint64_t u;
	int64_t s;
	switch (a) {
	case A_TA: rc = yd_bool(d, v, "transpose_a", &iv, e); at->transpose_a = (uint8_t)iv; break;
	case A_TB: rc = yd_bool(d, v, "transpose_b", &iv, e); at->transpose_b = (uint8_t)iv; break;
	case A_ACT:
		rc = yd_enum(d, v, "activation", graph_act_names, GRAPH_ACT_COUNT, &iv, e);
		at->activation = (graph_act)iv;
		break;
	case A_STRIDE: rc = parse_pair(d, v, "stride", 1, at->stride, e); break;
	case A_DIL: rc = parse_pair(d, v, "dilation", 1, at->dilation, e); break;
	case A_KERNEL:
		rc = parse_pair(d, v, "kernel", 1, at->kernel, e);
		x->have_kernel = 1;
		x->kernel_node = v;
		break;
	case A_PAD: rc = parse_padding(d, v, at->pad, &x->pad_same, e); break;
	case A_GROUPS: rc = yd_u64(d, v, "groups", 1, ATTR_MAX, &u, e); at->groups = (uint32_t)u; break;
	case A_AXIS:
		rc = yd_i64(d, v, "axis", -GRAPH_MAX_RANK, GRAPH_MAX_RANK - 1, &s, e);
		x->axis_raw = s;
		x->have_axis = 1;
		break;
	case A_EPS: rc = yd_f64(d, v, "epsilon", 1e-30, 1.0, &at->epsilon, e); break;
	case A_LR: rc = yd_f64(d, v, "lr", 0.0, 1e6, &at->lr, e); break;
	case A_MOM: rc = yd_f64(d, v, "momentum", 0.0, 1.0, &at->momentum, e); break;
	case A_WD: rc = yd_f64(d, v, "weight_decay", 0.0, 1e6, &at->weight_decay, e); break;
	case A_B1:
	case A_B2: {
		const char *nm = a == A_B1 ? "beta1" : "beta2";
		double *dst = a == A_B1 ? &at->beta1 : &at->beta2;
		rc = yd_f64(d, v, nm, 0.0, 1.0, dst, e);
		if (rc == 0 && *dst >= 1.0)
			rc = yd_error(d, v, e, ASIM_ERANGE, "%s must be less than 1", nm);
		break;
	}
	case A_PERM:
		if ((rc = yd_expect(d, v, YD_SEQ, "perm", e)) != 0)
			break;
		if (v->len > GRAPH_MAX_RANK) {
			rc = yd_error(d, v, e, ASIM_ERANGE, "perm has %zu entries; the rank limit is %d", v->len,
			              GRAPH_MAX_RANK);
			break;
		}
		x->perm_len = (uint32_t)v->len;
		x->have_perm = 1;
		for (size_t i = 0; i < v->len && rc == 0; i++) {
			rc = yd_u64(d, yd_item(v, i), "perm entry", 0, GRAPH_MAX_RANK - 1, &u, e);
			at->perm[i] = (uint32_t)u;
		}
		break;
	case A_SHAPE: {
		if ((rc = yd_expect(d, v, YD_SEQ, "shape", e)) != 0)
			break;
		if (v->len > GRAPH_MAX_RANK) {
			rc = yd_error(d, v, e, ASIM_ERANGE, "reshape target has rank %zu; the limit is %d", v->len,
			              GRAPH_MAX_RANK);
			break;
		}
		x->rs_rank = (uint32_t)v->len;
		int minus = 0;
		for (size_t i = 0; i < v->len && rc == 0; i++) {
			const yd_node *it = yd_item(v, i);
			rc = yd_i64(d, it, "reshape dimension", -1, INT64_MAX, &x->rs[i], e);
			if (rc == 0 && x->rs[i] == 0)
				rc = yd_error(d, it, e, ASIM_ERANGE, "reshape dimension is 0: every dimension must be "
				              "at least 1 (or -1 for the one to infer)");
			if (rc == 0 && x->rs[i] == -1 && minus++)
				rc = yd_error(d, it, e, ASIM_ESCHEMA, "reshape target has more than one -1: only one "
				              "dimension can be inferred");
		}
		break;
	}
	default:
		ASIM_ASSERT(0);
	}
	if (rc == 0 && x->attr_node == NULL && a != A_ACT)
		x->attr_node = v;
	return rc;
}

/* ---- ops --------------------------------------------------------------------------------- */

static int check_op_keys(graph_loader *L, const yd_node *m, graph_op_type t, const char *what)
{
	const yd_doc *d = L->d;
	uint32_t allowed = op_attrs(t);
	int move = op_class[t] == GRAPH_CLASS_MOVE;
	const char *all[K_COUNT + A_COUNT];
	size_t nall = 0;
	for (int k = 0; k < K_COUNT; k++)
		all[nall++] = op_keys[k];
	for (int a = 0; a < A_COUNT; a++)
		all[nall++] = attr_names[a];
	for (size_t i = 0; i < m->len; i++) {
		const char *k = yd_key(m, i)->str;
		int found = 0;
		for (int j = 0; j < K_COUNT && !found; j++)
			if (strcmp(k, op_keys[j]) == 0) {
				if (j >= K_FIRST_NUMERIC && move)
					return yd_error(d, yd_key(m, i), L->e, ASIM_ESCHEMA,
					                "'%s' does not apply to %s: %s %s op only moves data and does no "
					                "arithmetic", k, what, strchr("aeiou", graph_op_names[t][0]) ? "an" : "a",
					                graph_op_names[t]);
				found = 1;
			}
		for (int a = 0; a < A_COUNT && !found; a++)
			if (strcmp(k, attr_names[a]) == 0) {
				if (!(allowed & B(a))) {
					char list[256];
					size_t o = 0;
					list[0] = 0;
					for (int b = 0; b < A_COUNT; b++)
						if (allowed & B(b))
							o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", o ? ", " : "",
							                      attr_names[b]);
					return yd_error(d, yd_key(m, i), L->e, ASIM_ESCHEMA,
					                "attribute '%s' does not apply to %s, %s %s op (%s%s)", k, what,
					                strchr("aeiou", graph_op_names[t][0]) ? "an" : "a",
					                graph_op_names[t], o ? "its attributes: " : "it takes no attributes",
					                list);
				}
				found = 1;
			}
		if (!found) {
			char esc[96];
			asim_escape(esc, sizeof esc, k);
			const char *hint = asim_suggest(k, all, nall);
			if (hint)
				return yd_error(d, yd_key(m, i), L->e, ASIM_ESCHEMA,
				                "unknown key '%s' in %s (did you mean '%s'?)", esc, what, hint);
			return yd_error(d, yd_key(m, i), L->e, ASIM_ESCHEMA, "unknown key '%s' in %s", esc, what);
		}
	}
	return ASIM_OK;
}

static int dangling(graph_loader *L, const yd_node *n, const char *what, const char *name)
{
	graph *g = L->g;
	char esc[280];
	asim_escape(esc, sizeof esc, name);
	const char **cands = asim_calloc(g->n_tensors ? g->n_tensors : 1, sizeof *cands);
	const char *hint = NULL;
	if (cands != NULL) {
		for (size_t i = 0; i < g->n_tensors; i++)
			cands[i] = g->tensors[i].name;
		hint = asim_suggest(name, cands, g->n_tensors);
	}
	int rc;
	if (hint)
		rc = yd_error(L->d, n, L->e, ASIM_EREF, "%s names tensor '%s', which is not declared "
		              "(did you mean '%s'?)", what, esc, hint);
	else
		rc = yd_error(L->d, n, L->e, ASIM_EREF, "%s names tensor '%s', which is not declared under "
		              "'tensors:'", what, esc);
	asim_free(cands);
	return rc;
}

static int parse_names(graph_loader *L, const ntab *tn, const yd_node *list, const char *key,
                       const char *what, uint32_t min, uint32_t max, uint32_t *idx,
                       const yd_node **nodes, uint32_t *count)
{
	const yd_doc *d = L->d;
	int rc = yd_expect(d, list, YD_SEQ, key, L->e);
	if (rc != 0)
		return rc;
	if (list->len < min || list->len > max) {
		char range[48];
		if (min == max)
			snprintf(range, sizeof range, "%u", min);
		else
			snprintf(range, sizeof range, "%u to %u", min, max);
		return yd_error(d, list, L->e, ASIM_ESCHEMA, "%s takes %s %s, not %zu", what, range, key,
		                list->len);
	}
	for (size_t i = 0; i < list->len; i++) {
		const yd_node *it = yd_item(list, i);
		const char *nm;
		if ((rc = yd_str(d, it, key, &nm, L->e)) != 0)
			return rc;
		int64_t ti = ntab_get(tn, nm);
		if (ti < 0) {
			char w[340];
			snprintf(w, sizeof w, "%s (%s #%zu)", what, key, i + 1);
			return dangling(L, it, w, nm);
		}
		idx[i] = (uint32_t)ti;
		if (nodes)
			nodes[i] = it;
	}
	*count = (uint32_t)list->len;
	return ASIM_OK;
}

static int float_dtype(graph_loader *L, const yd_node *v, const char *what, int *out)
{
	int rc = yd_enum(L->d, v, what, asim_dtype_names, ASIM_DT_COUNT, out, L->e);
	if (rc == 0 && !asim_dtype_is_float((asim_dtype)*out))
		return yd_error(L->d, v, L->e, ASIM_ESCHEMA, "%s must be a floating-point type, not %s", what,
		                asim_dtype_names[*out]);
	return rc;
}

static int parse_op(graph_loader *L, const ntab *tn, ntab *on, ntab *gn, uint32_t opi,
                    const yd_node *m, int32_t *last_group)
{
	const yd_doc *d = L->d;
	asim_err *e = L->e;
	graph *g = L->g;
	graph_op *op = &g->ops[opi];
	graph_opx *x = &L->opx[opi];
	char what[320];
	snprintf(what, sizeof what, "op #%u", opi + 1);
	int rc = yd_expect(d, m, YD_MAP, what, e);
	if (rc != 0)
		return rc;
	const yd_node *nn = yd_get(m, "name"), *v;
	if (nn != NULL && nn->kind == YD_SCALAR) {
		char esc[280];
		asim_escape(esc, sizeof esc, nn->str);
		snprintf(what, sizeof what, "op '%s'", esc);
	}
	x->node = m;
	op->line = m->line;
	op->col = m->col;
	op->group = -1;
	op->num = (graph_numerics){-1, -1, -1, -1, 0};
	op->a.stride[0] = op->a.stride[1] = 1;
	op->a.dilation[0] = op->a.dilation[1] = 1;
	op->a.groups = 1;
	op->a.axis = -1;
	op->a.activation = GRAPH_ACT_NONE;
	op->a.epsilon = 1e-5;
	op->a.momentum = 0.0;
	op->a.beta1 = 0.9;
	op->a.beta2 = 0.999;
	int type = 0;
	if ((rc = yd_require(d, m, "type", what, &v, e)) != 0 ||
	    (rc = yd_enum(d, v, "op type", graph_op_names, GRAPH_OP_COUNT, &type, e)) != 0)
		return rc;
	op->type = (graph_op_type)type;
	if (type == GRAPH_OP_ADAM_UPDATE)
		op->a.epsilon = 1e-8;
	if ((rc = check_op_keys(L, m, op->type, what)) != 0)
		return rc;
	const char *name;
	if ((rc = yd_require(d, m, "name", what, &nn, e)) != 0 ||
	    (rc = check_name(d, nn, "op name", &name, e)) != 0)
		return rc;
	if ((op->name = asim_strdup(name)) == NULL)
		return asim_errorf(e, ASIM_ENOMEM, "out of memory");
	int64_t prev = ntab_put(on, op->name, opi);
	if (prev >= 0)
		return yd_error(d, nn, e, ASIM_EREF, "duplicate op name '%s' (first used at line %lu)", name,
		                g->ops[prev].line);

	/* operands */
	const yd_node *ins, *outs;
	if ((rc = yd_require(d, m, "inputs", what, &ins, e)) != 0 ||
	    (rc = parse_names(L, tn, ins, "inputs", what, op_min_in[type], op_max_in[type], op->in,
	                      x->in_node, &op->n_in)) != 0)
		return rc;
	const yd_node *out_nodes[GRAPH_MAX_OUT];
	if ((rc = yd_require(d, m, "outputs", what, &outs, e)) != 0 ||
	    (rc = parse_names(L, tn, outs, "outputs", what, op_nout[type], op_nout[type], op->out,
	                      out_nodes, &op->n_out)) != 0)
		return rc;
	for (uint32_t i = 0; i < op->n_out; i++) {
		graph_tensor *t = &g->tensors[op->out[i]];
		if (t->kind == GRAPH_INPUT || t->kind == GRAPH_WEIGHT)
			return yd_error(d, out_nodes[i], e, ASIM_EREF,
			                "%s writes tensor '%s', which is declared as %s (line %lu): inputs and "
			                "weights are never produced by an op; declare it as an activation or output",
			                what, t->name, t->kind == GRAPH_INPUT ? "an input" : "a weight", t->line);
		if (t->producer >= 0)
			return yd_error(d, out_nodes[i], e, ASIM_EREF,
			                "tensor '%s' is produced twice: by op '%s' (line %lu) and by %s", t->name,
			                g->ops[t->producer].name, g->ops[t->producer].line, what);
		t->producer = (int32_t)opi;
	}
	/* optimizer state: the m (and v) operands */
	if (type == GRAPH_OP_SGD_UPDATE || type == GRAPH_OP_ADAM_UPDATE)
		for (uint32_t i = 2; i < op->n_in; i++)
			L->tx[op->in[i]].opt_state = 1;

	/* attributes */
	uint32_t allowed = op_attrs(op->type);
	for (int a = 0; a < A_COUNT; a++)
		if ((allowed & B(a)) && (v = yd_get(m, attr_names[a])) != NULL &&
		    (rc = parse_attr(L, opi, a, v)) != 0)
			return rc;
	if ((type == GRAPH_OP_SGD_UPDATE || type == GRAPH_OP_ADAM_UPDATE) && yd_get(m, "lr") == NULL)
		return yd_error(d, m, e, ASIM_ESCHEMA, "missing key 'lr' (learning rate) in %s", what);
	if ((type == GRAPH_OP_MAXPOOL || type == GRAPH_OP_AVGPOOL) && !x->have_kernel)
		return yd_error(d, m, e, ASIM_ESCHEMA, "missing key 'kernel' in %s (pooling window, e.g. "
		                "kernel: 3 or kernel: [3, 3])", what);
	if (type == GRAPH_OP_TRANSPOSE && !x->have_perm)
		return yd_error(d, m, e, ASIM_ESCHEMA, "missing key 'perm' in %s (e.g. perm: [0, 2, 1, 3])",
		                what);
	if (type == GRAPH_OP_RESHAPE && yd_get(m, "shape") == NULL)
		return yd_error(d, m, e, ASIM_ESCHEMA, "missing key 'shape' in %s (the target shape; one "
		                "dimension may be -1)", what);
	if (type == GRAPH_OP_CONCAT && !x->have_axis)
		return yd_error(d, m, e, ASIM_ESCHEMA, "missing key 'axis' in %s", what);

	/* numerics overrides */
	if ((v = yd_get(m, "dtype")) != NULL && (rc = float_dtype(L, v, "dtype", &op->num.dtype)) != 0)
		return rc;
	if ((v = yd_get(m, "accum")) != NULL && (rc = float_dtype(L, v, "accum", &op->num.accum)) != 0)
		return rc;
	if ((v = yd_get(m, "rounding")) != NULL &&
	    (rc = yd_enum(d, v, "rounding", asim_rounding_names, ASIM_RND_COUNT, &op->num.rounding, e)) != 0)
		return rc;
	if ((v = yd_get(m, "saturate")) != NULL && (rc = yd_bool(d, v, "saturate", &op->num.saturate, e)) != 0)
		return rc;
	if ((v = yd_get(m, "sr_bits")) != NULL) {
		uint64_t bits;
		if ((rc = yd_u64(d, v, "sr_bits", 1, 32, &bits, e)) != 0)
			return rc;
		if (op->num.rounding != ASIM_RND_SR)
			return yd_error(d, v, e, ASIM_ESCHEMA, "sr_bits applies to stochastic rounding only: "
			                "add 'rounding: sr' to %s or remove sr_bits", what);
		op->num.sr_bits = (int)bits;
	}

	/* fusion group: its ops are consecutive */
	if ((v = yd_get(m, "group")) != NULL) {
		const char *gname;
		if ((rc = check_name(d, v, "group name", &gname, e)) != 0)
			return rc;
		int64_t gi = ntab_get(gn, gname);
		if (gi < 0) {
			gi = (int64_t)g->n_groups;
			if ((g->groups[g->n_groups] = asim_strdup(gname)) == NULL)
				return asim_errorf(e, ASIM_ENOMEM, "out of memory");
			ntab_put(gn, g->groups[g->n_groups], (uint32_t)gi);
			g->n_groups++;
		} else if (gi != *last_group) {
			return yd_error(d, v, e, ASIM_ESCHEMA, "fusion group '%s' is interrupted: %s follows op "
			                "'%s', which is not in the group; the ops of a group must be consecutive",
			                gname, what, g->ops[opi - 1].name);
		}
		op->group = (int32_t)gi;
	}
	*last_group = op->group;
	return ASIM_OK;
}

/* ---- hash -------------------------------------------------------------------------------- */

typedef struct hstate { uint64_t h; } hstate;
static void h_bytes(hstate *s, const void *p, size_t n) { s->h = fnv1a(p, n, s->h); }
static void h_u64(hstate *s, uint64_t v)
{
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	h_bytes(s, b, 8);
}
static void h_str(hstate *s, const char *str)
{
	size_t n = strlen(str);
	h_u64(s, n);
	h_bytes(s, str, n);
}
static void h_f64(hstate *s, double v)
{
	uint64_t u;
	memcpy(&u, &v, sizeof u);
	h_u64(s, u);
}

static void graph_hash(graph *g)
{
	hstate s = {FNV_OFFSET};
	h_str(&s, "accelsim-graph-1");
	h_u64(&s, g->n_tensors);
	for (size_t i = 0; i < g->n_tensors; i++) {
		const graph_tensor *t = &g->tensors[i];
		h_str(&s, t->name);
		h_str(&s, asim_dtype_names[t->dtype]);
		h_str(&s, kind_names[t->kind]);
		h_u64(&s, t->rank);
		for (uint32_t k = 0; k < t->rank; k++)
			h_u64(&s, t->shape[k]);
	}
	h_u64(&s, g->n_ops);
	for (size_t i = 0; i < g->n_ops; i++) {
		const graph_op *op = &g->ops[i];
		const graph_attrs *a = &op->a;
		h_str(&s, op->name);
		h_str(&s, graph_op_names[op->type]);
		h_u64(&s, op->n_in);
		for (uint32_t k = 0; k < op->n_in; k++)
			h_str(&s, g->tensors[op->in[k]].name);
		h_u64(&s, op->n_out);
		for (uint32_t k = 0; k < op->n_out; k++)
			h_str(&s, g->tensors[op->out[k]].name);
		uint64_t ints[] = {a->transpose_a, a->transpose_b, a->kernel[0], a->kernel[1], a->stride[0],
		                   a->stride[1], a->dilation[0], a->dilation[1], a->pad[0], a->pad[1], a->pad[2],
		                   a->pad[3], a->groups, (uint64_t)(int64_t)a->axis, a->activation,
		                   (uint64_t)(int64_t)op->num.dtype, (uint64_t)(int64_t)op->num.accum,
		                   (uint64_t)(int64_t)op->num.rounding, (uint64_t)(int64_t)op->num.saturate,
		                   (uint64_t)(int64_t)op->num.sr_bits};
		for (size_t k = 0; k < sizeof ints / sizeof ints[0]; k++)
			h_u64(&s, ints[k]);
		for (uint32_t k = 0; k < GRAPH_MAX_RANK; k++)
			h_u64(&s, a->perm[k]);
		double reals[] = {a->epsilon, a->lr, a->momentum, a->weight_decay, a->beta1, a->beta2};
		for (size_t k = 0; k < sizeof reals / sizeof reals[0]; k++)
			h_f64(&s, reals[k]);
		h_str(&s, op->group >= 0 ? g->groups[op->group] : "");
	}
	/* finaliser (splitmix64): spreads FNV's weak high bits */
	uint64_t z = s.h;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	snprintf(g->hash, sizeof g->hash, "%016llx", (unsigned long long)z);
}

/* ---- the document ------------------------------------------------------------------------ */

static char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	size_t n = strlen(b);
	if (n > 5 && strcmp(b + n - 5, ".yaml") == 0)
		n -= 5;
	else if (n > 4 && strcmp(b + n - 4, ".yml") == 0)
		n -= 4;
	return asim_strndup(b, n);
}

static int load_doc(graph *g, const yd_doc *d, asim_err *e)
{
	static const char *const top_keys[] = {"accelsim", "name", "description", "dtype", "tensors", "ops"};
	graph_loader L = {g, d, e, NULL, NULL, -1};
	ntab tn = {0}, on = {0}, gn = {0};
	const yd_node *root = d->root, *v, *tl, *ol;
	int rc = yd_expect(d, root, YD_MAP, "a graph file", e);
	if (rc != 0)
		return rc;
	v = yd_get(root, "accelsim");
	if (v == NULL)
		return yd_error(d, root, e, ASIM_ESCHEMA, "missing key 'accelsim': a graph file starts with "
		                "'accelsim: 1', the format version");
	uint64_t ver;
	if (v->kind != YD_SCALAR || !v->plain || strcmp(v->str, "1") != 0) {
		char esc[64];
		asim_escape(esc, sizeof esc, v->kind == YD_SCALAR ? v->str : "(not a scalar)");
		if (yd_u64(d, v, "accelsim", 0, UINT64_MAX, &ver, NULL) != 0)
			return yd_error(d, v, e, ASIM_ESCHEMA, "accelsim: must be the format version 1, not '%s'",
			                esc);
		return yd_error(d, v, e, ASIM_EUNSUPPORTED, "graph format version %s is not supported: this "
		                "accelsim reads version 1", esc);
	}
	if ((rc = yd_check_keys(d, root, top_keys, 6, "a graph file", e)) != 0)
		return rc;
	const char *str;
	if ((v = yd_get(root, "description")) != NULL && (rc = yd_str(d, v, "description", &str, e)) != 0)
		return rc;
	if ((v = yd_get(root, "name")) != NULL) {
		if ((rc = check_name(d, v, "graph name", &str, e)) != 0)
			return rc;
		g->name = asim_strdup(str);
	} else {
		g->name = base_name(d->file);
	}
	if (g->name == NULL)
		return asim_errorf(e, ASIM_ENOMEM, "out of memory");
	if ((v = yd_get(root, "dtype")) != NULL &&
	    (rc = yd_enum(d, v, "dtype", asim_dtype_names, ASIM_DT_COUNT, &L.default_dtype, e)) != 0)
		return rc;
	if ((rc = yd_require(d, root, "tensors", "a graph file", &tl, e)) != 0 ||
	    (rc = yd_expect(d, tl, YD_SEQ, "tensors", e)) != 0 ||
	    (rc = yd_require(d, root, "ops", "a graph file", &ol, e)) != 0 ||
	    (rc = yd_expect(d, ol, YD_SEQ, "ops", e)) != 0)
		return rc;
	if (tl->len > UINT32_MAX / 2 || ol->len > UINT32_MAX / 2)
		return yd_error(d, tl, e, ASIM_ERANGE, "too many tensors or ops");

	g->tensors = asim_calloc(tl->len ? tl->len : 1, sizeof *g->tensors);
	g->ops = asim_calloc(ol->len ? ol->len : 1, sizeof *g->ops);
	g->groups = asim_calloc(ol->len ? ol->len : 1, sizeof *g->groups);
	L.tx = asim_calloc(tl->len ? tl->len : 1, sizeof *L.tx);
	L.opx = asim_calloc(ol->len ? ol->len : 1, sizeof *L.opx);
	if (!g->tensors || !g->ops || !g->groups || !L.tx || !L.opx || ntab_init(&tn, tl->len) ||
	    ntab_init(&on, ol->len) || ntab_init(&gn, ol->len)) {
		rc = asim_errorf(e, ASIM_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < tl->len; i++) {
		g->n_tensors = i + 1;   /* so that graph_fini frees a partly read tensor */
		if ((rc = parse_tensor(&L, &tn, (uint32_t)i, yd_item(tl, i))) != 0)
			goto out;
	}
	int32_t last_group = -1;
	for (size_t i = 0; i < ol->len; i++) {
		g->n_ops = i + 1;
		if ((rc = parse_op(&L, &tn, &on, &gn, (uint32_t)i, yd_item(ol, i), &last_group)) != 0)
			goto out;
	}
	for (size_t i = 0; i < g->n_tensors; i++) {
		const graph_tensor *t = &g->tensors[i];
		if ((t->kind == GRAPH_ACTIVATION || t->kind == GRAPH_OUTPUT) && t->producer < 0) {
			rc = yd_error(d, L.tx[i].node, e, ASIM_EREF,
			              "tensor '%s' is an %s, but no op produces it (a tensor fed from outside "
			              "is declared with kind: input or kind: weight)", t->name,
			              kind_names[t->kind]);
			goto out;
		}
	}
	for (size_t i = 0; i < g->n_ops; i++)
		if ((rc = graph_infer_op(&L, (uint32_t)i)) != 0)
			goto out;
	for (size_t i = 0; i < g->n_tensors; i++) {
		const graph_tensor *t = &g->tensors[i];
		if (t->kind == GRAPH_WEIGHT && !L.tx[i].opt_state) {
			g->param_count += t->elems;   /* cannot overflow: sum of sizes of distinct tensors */
			if (__builtin_add_overflow(g->param_bytes, t->bytes, &g->param_bytes)) {
				rc = yd_error(d, L.tx[i].node, e, ASIM_ERANGE, "the weights total more than 2^64 bytes");
				goto out;
			}
		}
	}
	for (size_t i = 0; i < g->n_ops; i++)
		if (__builtin_add_overflow(g->total_macs, g->ops[i].macs, &g->total_macs) ||
		    __builtin_add_overflow(g->total_flops, g->ops[i].flops, &g->total_flops)) {
			rc = yd_error(d, L.opx[i].node, e, ASIM_ERANGE, "the graph's total work exceeds 2^64 FLOPs");
			goto out;
		}
	graph_hash(g);
out:
	ntab_fini(&tn);
	ntab_fini(&on);
	ntab_fini(&gn);
	asim_free(L.tx);
	asim_free(L.opx);
	return rc;
}

static int finish(graph *g, yd_doc *d, int rc, asim_err *e)
{
	if (rc == 0)
		rc = load_doc(g, d, e);
	if (rc == 0 && (g->source = asim_strdup(d->file)) == NULL)
		rc = asim_errorf(e, ASIM_ENOMEM, "out of memory");
	yd_free(d);
	if (rc != 0)
		graph_fini(g);
	return rc;
}

int graph_load_file(graph *g, const char *path, asim_err *e)
{
	yd_doc d;
	memset(g, 0, sizeof *g);
	int rc = yd_load_file(&d, path, e);
	return finish(g, &d, rc, e);
}

int graph_load_buffer(graph *g, const char *name, const char *buf, size_t len, asim_err *e)
{
	yd_doc d;
	memset(g, 0, sizeof *g);
	int rc = yd_load_buffer(&d, name, buf, len, e);
	return finish(g, &d, rc, e);
}

void graph_fini(graph *g)
{
	for (size_t i = 0; i < g->n_tensors; i++)
		asim_free(g->tensors[i].name);
	for (size_t i = 0; i < g->n_ops; i++)
		asim_free(g->ops[i].name);
	for (size_t i = 0; i < g->n_groups; i++)
		asim_free(g->groups[i]);
	asim_free(g->tensors);
	asim_free(g->ops);
	asim_free(g->groups);
	asim_free(g->name);
	asim_free(g->source);
	memset(g, 0, sizeof *g);
}

int64_t graph_find_tensor(const graph *g, const char *name)
{
	/* Linear: the load-time table is not kept (the graph stays a plain read-only struct).
	 * Callers that look up many names build their own index. */
	for (size_t i = 0; i < g->n_tensors; i++)
		if (strcmp(g->tensors[i].name, name) == 0)
			return (int64_t)i;
	return -1;
}
