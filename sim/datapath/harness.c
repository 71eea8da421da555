/*
 * harness.c -- the numerics regression harness: `accelsim numerics check SPEC.yaml`.
 *
 * Life cycle: load the spec (sim/yamldoc.h: every mistake is file:line:column) -> for each case
 * generate or load the inputs, run the functional datapath (kernels.h), compute a binary64
 * reference from the same (exact) input values, take statistics and the SHA-256 of the output
 * codes -> compare with the golden file, or rewrite it (traces/outfile.h) with --update-golden.
 *
 * Spec (docs/numerics.md has the full schema):
 *
 *   numerics: 1
 *   golden: ../../tests/golden/numerics/basic.golden    # relative to the spec file
 *   cases:
 *     - name: bf16_sr8
 *       op: convert | matmul | conv2d | elementwise | reduce
 *       ...shape keys of the op..., inputs {dtype, dist|npy, ...}, out {dtype, round, ...}
 *       tolerance: {max_ulp: 1, mean_rel: 0.01, bias: 0.001}
 *
 * Inputs are drawn from Philox (seed = the case's seed, stream 2^63 + input number) in binary64
 * and rounded to the input dtype with RNE, so they are exact values of that dtype: uniform
 * u = (word + 1/2) / 2^32, x = low + (high - low) u; normal: Irwin-Hall z = sum of 12 uniforms
 * - 6 (mean 0, variance 1, |z| <= 6; exact arithmetic, so no libm in the inputs), x = mean + std z.
 *
 * Statistics over the elements whose reference and output are finite:
 *   max_ulp   max |y - ref| / ulp_out(ref), ulp_out the output format's ulp at |ref|
 *   mean_rel  mean of |y - ref| / |ref| over ref != 0
 *   bias      sum(y - ref) / sum|ref|   (mean signed error relative to mean |ref|)
 *   nonfinite number of outputs that are Inf/NaN where the reference is finite
 * Golden file: one line per case, "NAME SHA256 max_ulp=.. mean_rel=.. bias=.. nonfinite=.. n=..".
 */
#include "sim/datapath/harness.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim/alloc.h"
#include "sim/datapath/format.h"
#include "sim/datapath/kernels.h"
#include "sim/datapath/npy.h"
#include "sim/datapath/philox.h"
#include "sim/datapath/sha256.h"
#include "sim/yamldoc.h"
#include "traces/outfile.h"

#define MAX_ELEMS ((uint64_t)1 << 24)
#define MAX_CASES 1000

typedef enum { OP_CONVERT, OP_MATMUL, OP_CONV2D, OP_ELEMENTWISE, OP_REDUCE, OP_COUNT } hop;
static const char *const op_names[OP_COUNT] = {"convert", "matmul", "conv2d", "elementwise",
                                               "reduce"};

/* One input tensor: its codes and exact values. */
typedef struct tensor {
	dp_format fmt;
	size_t n;
	void *codes;     /* owned */
	double *vals;    /* owned: exact values of the codes */
} tensor;

typedef struct hcase {
	char name[128];
	hop op;
	size_t nout;
	void *out;           /* owned: output codes */
	dp_format ofmt;
	double max_ulp, mean_rel, bias;
	uint64_t nonfinite, n;
	double tol_ulp, tol_rel, tol_bias;   /* < 0: none */
	char digest[65];
	unsigned long line, col;
} hcase;

static void tensor_free(tensor *t)
{
	asim_free(t->codes);
	asim_free(t->vals);
	memset(t, 0, sizeof *t);
}

static const char *const fmt_names[] = {
#define DP_FORMAT(id, name, bits, ebits, mbits, bias, specials, sat) name,
#include "sim/datapath/format.def"
#undef DP_FORMAT
};
static const char *const rmode_names[] = {"rne", "rtz", "ru", "rd", "sr"};

/* Directory part of a path ("" for none), for resolving names relative to the spec. */
static char *resolve(const char *spec, const char *rel)
{
	if (rel[0] == '/')
		return asim_strdup(rel);
	const char *slash = strrchr(spec, '/');
	size_t dl = slash ? (size_t)(slash - spec + 1) : 0;
	char *p = asim_malloc(dl + strlen(rel) + 1);
	if (p) {
		memcpy(p, spec, dl);
		strcpy(p + dl, rel);
	}
	return p;
}

/* ---- input tensors --------------------------------------------------------------------------- */

static int load_input(const yd_doc *d, const yd_node *n, const char *what, const char *spec,
                      size_t count, uint64_t seed, uint64_t stream, tensor *t, asim_err *e)
{
	static const char *const keys[] = {"dtype", "dist", "mean", "std", "low", "high", "npy"};
	int rc, fi;
	memset(t, 0, sizeof *t);
	if ((rc = yd_expect(d, n, YD_MAP, what, e)) || (rc = yd_check_keys(d, n, keys, 7, what, e)))
		return rc;
	const yd_node *v;
	if ((rc = yd_require(d, n, "dtype", what, &v, e)) ||
	    (rc = yd_enum(d, v, "dtype", fmt_names, DP_FMT_COUNT, &fi, e)))
		return rc;
	t->fmt = (dp_format)fi;
	t->n = count;
	const dp_format_info *f = dp_format_get(t->fmt);
	t->codes = asim_calloc(count + 1, f->bytes);
	t->vals = asim_calloc(count + 1, sizeof *t->vals);
	if (!t->codes || !t->vals)
		return yd_error(d, n, e, ASIM_ENOMEM, "out of memory for %s", what);
	dp_cvt c = dp_cvt_make(t->fmt, DP_RNE);
	const yd_node *npy = yd_get(n, "npy");
	if (npy) {
		if (yd_get(n, "dist"))
			return yd_error(d, n, e, ASIM_ESCHEMA, "%s: give 'npy' or 'dist', not both", what);
		const char *rel;
		if ((rc = yd_str(d, npy, "npy", &rel, e)))
			return rc;
		char *path = resolve(spec, rel);
		if (!path)
			return yd_error(d, npy, e, ASIM_ENOMEM, "out of memory");
		dp_npy a;
		asim_err ne;
		asim_err_init(&ne);
		rc = dp_npy_read(path, &a, &ne);
		asim_free(path);
		if (rc)
			return yd_error(d, npy, e, rc, "%s", ne.msg);
		if (a.count != count) {
			dp_npy_free(&a);
			return yd_error(d, npy, e, ASIM_ESHAPE, "%s has %zu elements, the case needs %zu",
			                rel, a.count, count);
		}
		for (size_t i = 0; i < count; i++) {
			uint32_t code;
			if (a.dtype == DP_NPY_F32) {
				code = dp_round_f32(&c, ((float *)a.data)[i], 0);
			} else if (a.dtype == DP_NPY_F64) {
				code = dp_round_f64(&c, ((double *)a.data)[i], 0);
			} else {   /* raw codes of the dtype */
				code = a.dtype == DP_NPY_U8 ? ((uint8_t *)a.data)[i] : ((uint16_t *)a.data)[i];
				if ((a.dtype == DP_NPY_U8) != (f->bytes == 1) || f->bytes == 4) {
					dp_npy_free(&a);
					return yd_error(d, npy, e, ASIM_ESHAPE, "%s holds %s codes, not %s codes",
					                rel, a.dtype == DP_NPY_U8 ? "8-bit" : "16-bit", f->name);
				}
			}
			dp_code_store(t->fmt, t->codes, i, code);
			t->vals[i] = dp_decode(t->fmt, code);
		}
		dp_npy_free(&a);
		return ASIM_OK;
	}
	static const char *const dists[] = {"normal", "uniform"};
	int dist;
	if ((rc = yd_require(d, n, "dist", what, &v, e)) ||
	    (rc = yd_enum(d, v, "dist", dists, 2, &dist, e)))
		return rc;
	double p1 = dist == 0 ? 0.0 : -1.0, p2 = 1.0;
	const char *k1 = dist == 0 ? "mean" : "low", *k2 = dist == 0 ? "std" : "high";
	const char *bad1 = dist == 0 ? "low" : "mean", *bad2 = dist == 0 ? "high" : "std";
	if (yd_get(n, bad1) || yd_get(n, bad2))
		return yd_error(d, yd_get(n, bad1) ? yd_get(n, bad1) : yd_get(n, bad2), e, ASIM_ESCHEMA,
		                "'%s' does not apply to dist %s (use %s, %s)",
		                yd_get(n, bad1) ? bad1 : bad2, dists[dist], k1, k2);
	if ((v = yd_get(n, k1)) && (rc = yd_f64(d, v, k1, -1e30, 1e30, &p1, e)))
		return rc;
	if ((v = yd_get(n, k2)) && (rc = yd_f64(d, v, k2, dist == 0 ? 0 : -1e30, 1e30, &p2, e)))
		return rc;
	if (dist == 1 && !(p2 > p1))
		return yd_error(d, n, e, ASIM_ERANGE, "%s: high must be greater than low", what);
	for (size_t i = 0; i < count; i++) {
		double x;
		if (dist == 1) {
			double u = ((double)dp_philox_word(seed, stream, i) + 0.5) * 0x1p-32;
			x = p1 + (p2 - p1) * u;
		} else {
			double z = 0;
			for (uint64_t j = 0; j < 12; j++)
				z += ((double)dp_philox_word(seed, stream, 12 * (uint64_t)i + j) + 0.5) * 0x1p-32;
			x = p1 + p2 * (z - 6.0);
		}
		uint32_t code = dp_round_f64(&c, x, 0);
		dp_code_store(t->fmt, t->codes, i, code);
		t->vals[i] = dp_decode(t->fmt, code);
	}
	return ASIM_OK;
}

static int get_size(const yd_doc *d, const yd_node *map, const char *key, const char *what,
                    uint64_t min, uint64_t *out, asim_err *e)
{
	const yd_node *v;
	int rc = yd_require(d, map, key, what, &v, e);
	return rc ? rc : yd_u64(d, v, key, min, MAX_ELEMS, out, e);
}

/* A list of `n` sizes, e.g. shape: [2, 3]. */
static int get_dims(const yd_doc *d, const yd_node *map, const char *key, const char *what,
                    size_t n, uint64_t min, uint64_t *out, asim_err *e)
{
	const yd_node *v;
	int rc = yd_require(d, map, key, what, &v, e);
	if (rc || (rc = yd_expect(d, v, YD_SEQ, key, e)))
		return rc;
	if (v->len != n)
		return yd_error(d, v, e, ASIM_ESCHEMA, "'%s' needs %zu numbers, got %zu", key, n, v->len);
	for (size_t i = 0; i < n; i++)
		if ((rc = yd_u64(d, yd_item(v, i), key, min, MAX_ELEMS, &out[i], e)))
			return rc;
	return ASIM_OK;
}

static int load_out(const yd_doc *d, const yd_node *n, dp_cvt *c, asim_err *e)
{
	static const char *const keys[] = {"dtype", "round", "saturate", "ftz", "sr_bits"};
	int rc, fi, mi = DP_RNE;
	const yd_node *v;
	if ((rc = yd_expect(d, n, YD_MAP, "out", e)) || (rc = yd_check_keys(d, n, keys, 5, "out", e)))
		return rc;
	if ((rc = yd_require(d, n, "dtype", "out", &v, e)) ||
	    (rc = yd_enum(d, v, "dtype", fmt_names, DP_FMT_COUNT, &fi, e)))
		return rc;
	if ((v = yd_get(n, "round")) && (rc = yd_enum(d, v, "round", rmode_names, 5, &mi, e)))
		return rc;
	*c = dp_cvt_make((dp_format)fi, (dp_rmode)mi);
	if ((v = yd_get(n, "saturate")) && (rc = yd_bool(d, v, "saturate", &c->saturate, e)))
		return rc;
	if ((v = yd_get(n, "ftz")) && (rc = yd_bool(d, v, "ftz", &c->ftz, e)))
		return rc;
	if ((v = yd_get(n, "sr_bits"))) {
		uint64_t k;
		if ((rc = yd_u64(d, v, "sr_bits", 1, 32, &k, e)))
			return rc;
		if (mi != DP_SR)
			return yd_error(d, v, e, ASIM_ESCHEMA, "sr_bits applies to round: sr only");
		c->sr_bits = (unsigned)k;
	}
	return ASIM_OK;
}

/* ---- statistics ------------------------------------------------------------------------------ */

static double ulp_at(const dp_format_info *f, double r)
{
	int ex;
	frexp(fabs(r), &ex);   /* |r| in [2^(ex-1), 2^ex) */
	int e = r == 0 ? f->emin : ex - 1;
	if (e < f->emin)
		e = f->emin;
	return ldexp(1.0, e - (int)f->mbits);
}

static void stats(hcase *hc, const double *ref)
{
	const dp_format_info *f = dp_format_get(hc->ofmt);
	double mu = 0, sr = 0, sabs = 0, num = 0;
	uint64_t nrel = 0, n = 0, nf = 0;
	for (size_t i = 0; i < hc->nout; i++) {
		double y = dp_decode(hc->ofmt, dp_code_load(hc->ofmt, hc->out, i)), r = ref[i];
		if (!isfinite(r))
			continue;
		if (!isfinite(y)) {
			nf++;
			continue;
		}
		double err = y - r, u = fabs(err) / ulp_at(f, r);
		if (u > mu)
			mu = u;
		if (r != 0) {
			sr += fabs(err) / fabs(r);
			nrel++;
		}
		num += err;
		sabs += fabs(r);
		n++;
	}
	hc->max_ulp = mu;
	hc->mean_rel = nrel ? sr / (double)nrel : 0;
	hc->bias = sabs > 0 ? num / sabs : 0;
	hc->nonfinite = nf;
	hc->n = n;
	size_t bytes = f->bytes;
	unsigned char *le = asim_malloc(hc->nout * bytes + 1);
	if (le == NULL) {
		strcpy(hc->digest, "-");
		return;
	}
	for (size_t i = 0; i < hc->nout; i++) {
		uint32_t code = dp_code_load(hc->ofmt, hc->out, i);
		for (size_t j = 0; j < bytes; j++)
			le[i * bytes + j] = (unsigned char)(code >> (8 * j));
	}
	dp_sha256_hex(le, hc->nout * bytes, hc->digest);
	asim_free(le);
}

/* ---- one case -------------------------------------------------------------------------------- */

static int run_case(const yd_doc *d, const yd_node *cn, const char *spec, unsigned threads,
                    hcase *hc, asim_err *e)
{
	static const char *const keys[] = {"name", "op", "shape", "m", "n", "k", "rows", "input",
	                                   "weight", "a", "b", "out", "seed", "stream", "fn", "eps",
	                                   "stride", "pad", "tolerance", "threads"};
	int rc, oi;
	const yd_node *v;
	const char *name;
	if ((rc = yd_expect(d, cn, YD_MAP, "case", e)) ||
	    (rc = yd_check_keys(d, cn, keys, sizeof keys / sizeof keys[0], "case", e)))
		return rc;
	if ((rc = yd_require(d, cn, "name", "case", &v, e)) || (rc = yd_str(d, v, "name", &name, e)))
		return rc;
	if (strlen(name) == 0 || strlen(name) >= sizeof hc->name || strpbrk(name, " \t\r\n"))
		return yd_error(d, v, e, ASIM_ESCHEMA, "case name must be 1..127 characters without "
		                "spaces");
	strcpy(hc->name, name);
	hc->line = cn->line;
	hc->col = cn->col;
	if ((rc = yd_require(d, cn, "op", "case", &v, e)) ||
	    (rc = yd_enum(d, v, "op", op_names, OP_COUNT, &oi, e)))
		return rc;
	hc->op = (hop)oi;
	uint64_t seed = 0, stream = 0, rows = 128;
	if ((v = yd_get(cn, "seed")) && (rc = yd_u64(d, v, "seed", 0, UINT64_MAX, &seed, e)))
		return rc;
	if ((v = yd_get(cn, "stream")) && (rc = yd_u64(d, v, "stream", 0, UINT64_MAX, &stream, e)))
		return rc;
	if ((v = yd_get(cn, "rows")) && (rc = yd_u64(d, v, "rows", 1, 65536, &rows, e)))
		return rc;
	dp_out out = {.seed = seed, .stream = stream};
	if ((rc = yd_require(d, cn, "out", "case", &v, e)) || (rc = load_out(d, v, &out.cvt, e)))
		return rc;
	hc->ofmt = out.cvt.fmt;
	hc->tol_ulp = hc->tol_rel = hc->tol_bias = -1;
	if ((v = yd_get(cn, "tolerance"))) {
		static const char *const tk[] = {"max_ulp", "mean_rel", "bias"};
		double *const tv[] = {&hc->tol_ulp, &hc->tol_rel, &hc->tol_bias};
		if ((rc = yd_expect(d, v, YD_MAP, "tolerance", e)) ||
		    (rc = yd_check_keys(d, v, tk, 3, "tolerance", e)))
			return rc;
		for (int i = 0; i < 3; i++) {
			const yd_node *t = yd_get(v, tk[i]);
			if (t && (rc = yd_f64(d, t, tk[i], 0, 1e300, tv[i], e)))
				return rc;
		}
	}
	/* Keys that belong to other ops are refused (a misplaced key is a silent wrong answer). */
	static const char *const per_op[OP_COUNT][6] = {
		[OP_CONVERT] = {"shape", "input"},
		[OP_MATMUL] = {"m", "n", "k", "rows", "a", "b"},
		[OP_CONV2D] = {"input", "weight", "stride", "pad", "rows"},
		[OP_ELEMENTWISE] = {"shape", "fn", "a", "b"},
		[OP_REDUCE] = {"shape", "fn", "input", "eps"},
	};
	static const char *const opt_keys[] = {"shape", "input", "m", "n", "k", "rows", "a", "b",
	                                       "weight", "stride", "pad", "fn", "eps"};
	for (size_t i = 0; i < sizeof opt_keys / sizeof opt_keys[0]; i++) {
		const yd_node *kn = yd_get(cn, opt_keys[i]);
		if (!kn)
			continue;
		int ok = 0;
		for (int j = 0; j < 6; j++)
			if (per_op[oi][j] && strcmp(per_op[oi][j], opt_keys[i]) == 0)
				ok = 1;
		if (!ok) {
			for (size_t j = 0; j < cn->len; j++)
				if (strcmp(yd_key(cn, j)->str, opt_keys[i]) == 0)
					kn = yd_key(cn, j);
			return yd_error(d, kn, e, ASIM_ESCHEMA, "key '%s' does not apply to op %s",
			                opt_keys[i], op_names[oi]);
		}
	}
	const uint64_t in_stream = UINT64_C(1) << 63;
	tensor ta = {0}, tb = {0};
	double *ref = NULL;
	size_t bytes = dp_format_get(out.cvt.fmt)->bytes;
	asim_err ke;
	asim_err_init(&ke);
	switch (hc->op) {
	case OP_CONVERT: {
		uint64_t len;
		if ((rc = get_dims(d, cn, "shape", "case", 1, 1, &len, e)) ||
		    (rc = yd_require(d, cn, "input", "case", &v, e)) ||
		    (rc = load_input(d, v, "input", spec, len, seed, in_stream, &ta, e)))
			break;
		hc->nout = len;
		hc->out = asim_calloc(len + 1, bytes);
		ref = asim_calloc(len + 1, sizeof *ref);
		if (!hc->out || !ref) {
			rc = yd_error(d, cn, e, ASIM_ENOMEM, "out of memory");
			break;
		}
		dp_convert_f64_array(&out.cvt, ta.vals, hc->out, len, seed, stream, 0);
		memcpy(ref, ta.vals, len * sizeof *ref);
		break;
	}
	case OP_MATMUL: {
		uint64_t M, N, K;
		if ((rc = get_size(d, cn, "m", "case", 1, &M, e)) ||
		    (rc = get_size(d, cn, "n", "case", 1, &N, e)) ||
		    (rc = get_size(d, cn, "k", "case", 0, &K, e)))
			break;
		if (M * N > MAX_ELEMS || M * K > MAX_ELEMS || K * N > MAX_ELEMS) {
			rc = yd_error(d, cn, e, ASIM_ERANGE, "matmul too large for the harness (each "
			              "matrix at most 2^24 elements)");
			break;
		}
		if ((rc = yd_require(d, cn, "a", "case", &v, e)) ||
		    (rc = load_input(d, v, "a", spec, M * K, seed, in_stream, &ta, e)) ||
		    (rc = yd_require(d, cn, "b", "case", &v, e)) ||
		    (rc = load_input(d, v, "b", spec, K * N, seed, in_stream + 1, &tb, e)))
			break;
		hc->nout = M * N;
		hc->out = asim_calloc(M * N + 1, bytes);
		ref = asim_calloc(M * N + 1, sizeof *ref);
		if (!hc->out || !ref) {
			rc = yd_error(d, cn, e, ASIM_ENOMEM, "out of memory");
			break;
		}
		if ((rc = dp_matmul(ta.fmt, ta.codes, tb.fmt, tb.codes, M, N, K, (unsigned)rows, &out,
		                    hc->out, NULL, threads, &ke))) {
			rc = yd_error(d, cn, e, rc, "%s", ke.msg);
			break;
		}
		for (size_t m = 0; m < M; m++)
			for (size_t n = 0; n < N; n++) {
				double s = 0;
				for (size_t k = 0; k < K; k++)
					s += ta.vals[m * K + k] * tb.vals[k * N + n];
				ref[m * N + n] = s;
			}
		break;
	}
	case OP_CONV2D: {
		uint64_t xs[4], ws[4], strd[2] = {1, 1}, pad[2] = {0, 0};
		const yd_node *in, *wn;
		if ((rc = yd_require(d, cn, "input", "case", &in, e)) ||
		    (rc = yd_require(d, cn, "weight", "case", &wn, e)))
			break;
		if ((rc = yd_expect(d, in, YD_MAP, "input", e)) ||
		    (rc = yd_expect(d, wn, YD_MAP, "weight", e)))
			break;
		/* shapes live beside the tensors: input: {shape: [n,c,h,w], ...} */
		if ((rc = get_dims(d, in, "shape", "input", 4, 1, xs, e)) ||
		    (rc = get_dims(d, wn, "shape", "weight", 4, 1, ws, e)))
			break;
		if (yd_get(cn, "stride") && (rc = get_dims(d, cn, "stride", "case", 2, 1, strd, e)))
			break;
		if (yd_get(cn, "pad") && (rc = get_dims(d, cn, "pad", "case", 2, 0, pad, e)))
			break;
		if (ws[1] != xs[1]) {
			rc = yd_error(d, wn, e, ASIM_ESHAPE, "weight has %" PRIu64 " input channels, the "
			              "input %" PRIu64, ws[1], xs[1]);
			break;
		}
		dp_conv2d_shape s = {xs[0], xs[1], xs[2], xs[3], ws[0], ws[2], ws[3], strd[0], strd[1],
		                     pad[0], pad[1], 0, 0};
		if ((rc = dp_conv2d_shape_check(&s, &ke))) {
			rc = yd_error(d, cn, e, rc, "%s", ke.msg);
			break;
		}
		size_t nx = s.n * s.c * s.h * s.w, nw = s.o * s.c * s.kh * s.kw;
		size_t ny = s.n * s.o * s.oh * s.ow;
		if (nx > MAX_ELEMS || nw > MAX_ELEMS || ny > MAX_ELEMS ||
		    ny * s.c * s.kh * s.kw > MAX_ELEMS * 4) {
			rc = yd_error(d, cn, e, ASIM_ERANGE, "conv2d too large for the harness");
			break;
		}
		/* the tensors' other keys: strip 'shape' by checking with an extended key list */
		static const char *const tkeys[] = {"dtype", "dist", "mean", "std", "low", "high",
		                                    "npy", "shape"};
		if ((rc = yd_check_keys(d, in, tkeys, 8, "input", e)) ||
		    (rc = yd_check_keys(d, wn, tkeys, 8, "weight", e)))
			break;
		yd_node in2 = *in, wn2 = *wn;   /* views without the shape key */
		yd_node *ib[32], *wb[32];
		if (in->len > 16 || wn->len > 16) {
			rc = yd_error(d, in, e, ASIM_ESCHEMA, "too many keys");
			break;
		}
		size_t a = 0, b = 0;
		for (size_t i = 0; i < in->len; i++)
			if (strcmp(yd_key(in, i)->str, "shape") != 0) {
				ib[2 * a] = in->items[2 * i];
				ib[2 * a + 1] = in->items[2 * i + 1];
				a++;
			}
		for (size_t i = 0; i < wn->len; i++)
			if (strcmp(yd_key(wn, i)->str, "shape") != 0) {
				wb[2 * b] = wn->items[2 * i];
				wb[2 * b + 1] = wn->items[2 * i + 1];
				b++;
			}
		in2.items = ib;
		in2.len = a;
		wn2.items = wb;
		wn2.len = b;
		if ((rc = load_input(d, &in2, "input", spec, nx, seed, in_stream, &ta, e)) ||
		    (rc = load_input(d, &wn2, "weight", spec, nw, seed, in_stream + 1, &tb, e)))
			break;
		hc->nout = ny;
		hc->out = asim_calloc(ny + 1, bytes);
		ref = asim_calloc(ny + 1, sizeof *ref);
		if (!hc->out || !ref) {
			rc = yd_error(d, cn, e, ASIM_ENOMEM, "out of memory");
			break;
		}
		if ((rc = dp_conv2d(&s, ta.fmt, ta.codes, tb.fmt, tb.codes, (unsigned)rows, &out,
		                    hc->out, NULL, threads, &ke))) {
			rc = yd_error(d, cn, e, rc, "%s", ke.msg);
			break;
		}
		for (size_t n = 0; n < s.n; n++)
			for (size_t o = 0; o < s.o; o++)
				for (size_t y = 0; y < s.oh; y++)
					for (size_t x = 0; x < s.ow; x++) {
						double acc = 0;
						for (size_t c = 0; c < s.c; c++)
							for (size_t i = 0; i < s.kh; i++)
								for (size_t j = 0; j < s.kw; j++) {
									size_t iy = y * s.stride_h + i, ix = x * s.stride_w + j;
									if (iy < s.pad_h || iy >= s.pad_h + s.h ||
									    ix < s.pad_w || ix >= s.pad_w + s.w)
										continue;
									acc += ta.vals[((n * s.c + c) * s.h + iy - s.pad_h) * s.w +
									               ix - s.pad_w] *
									       tb.vals[((o * s.c + c) * s.kh + i) * s.kw + j];
								}
						ref[((n * s.o + o) * s.oh + y) * s.ow + x] = acc;
					}
		break;
	}
	case OP_ELEMENTWISE: {
		uint64_t len;
		dp_ewop op;
		const char *fn;
		if ((rc = get_dims(d, cn, "shape", "case", 1, 1, &len, e)) ||
		    (rc = yd_require(d, cn, "fn", "case", &v, e)) || (rc = yd_str(d, v, "fn", &fn, e)))
			break;
		if (dp_ew_parse(fn, &op) != ASIM_OK) {
			rc = yd_error(d, v, e, ASIM_ESCHEMA, "unknown elementwise fn '%s' (add, mul, relu, "
			              "relu6, gelu, silu, sigmoid, tanh, exp)", fn);
			break;
		}
		int bin = dp_ew_arity(op) == 2;
		if ((rc = yd_require(d, cn, "a", "case", &v, e)) ||
		    (rc = load_input(d, v, "a", spec, len, seed, in_stream, &ta, e)))
			break;
		if (bin && ((rc = yd_require(d, cn, "b", "case", &v, e)) ||
		            (rc = load_input(d, v, "b", spec, len, seed, in_stream + 1, &tb, e))))
			break;
		if (!bin && (v = yd_get(cn, "b"))) {
			rc = yd_error(d, v, e, ASIM_ESCHEMA, "fn %s takes one input: 'b' does not apply", fn);
			break;
		}
		hc->nout = len;
		hc->out = asim_calloc(len + 1, bytes);
		ref = asim_calloc(len + 1, sizeof *ref);
		if (!hc->out || !ref) {
			rc = yd_error(d, cn, e, ASIM_ENOMEM, "out of memory");
			break;
		}
		if ((rc = dp_elementwise(op, ta.fmt, ta.codes, tb.fmt, tb.codes, len, &out, hc->out,
		                         &ke))) {
			rc = yd_error(d, cn, e, rc, "%s", ke.msg);
			break;
		}
		for (size_t i = 0; i < len; i++)
			ref[i] = dp_ew_f64(op, ta.vals[i], bin ? tb.vals[i] : 0.0);
		break;
	}
	default: {   /* OP_REDUCE */
		uint64_t sh[2];
		dp_redop op;
		const char *fn;
		double eps = 1e-5;
		if ((rc = get_dims(d, cn, "shape", "case", 2, 1, sh, e)) ||
		    (rc = yd_require(d, cn, "fn", "case", &v, e)) || (rc = yd_str(d, v, "fn", &fn, e)))
			break;
		if (dp_red_parse(fn, &op) != ASIM_OK) {
			rc = yd_error(d, v, e, ASIM_ESCHEMA, "unknown reduce fn '%s' (sum, max, softmax, "
			              "layernorm, rmsnorm)", fn);
			break;
		}
		if ((v = yd_get(cn, "eps")) && (rc = yd_f64(d, v, "eps", 0, 1, &eps, e)))
			break;
		if (sh[0] * sh[1] > MAX_ELEMS) {
			rc = yd_error(d, cn, e, ASIM_ERANGE, "reduce too large for the harness");
			break;
		}
		if ((rc = yd_require(d, cn, "input", "case", &v, e)) ||
		    (rc = load_input(d, v, "input", spec, sh[0] * sh[1], seed, in_stream, &ta, e)))
			break;
		size_t on = dp_red_out_len(op, sh[0], sh[1]);
		hc->nout = on;
		hc->out = asim_calloc(on + 1, bytes);
		ref = asim_calloc(on + 1, sizeof *ref);
		if (!hc->out || !ref) {
			rc = yd_error(d, cn, e, ASIM_ENOMEM, "out of memory");
			break;
		}
		if ((rc = dp_reduce(op, ta.fmt, ta.codes, sh[0], sh[1], (float)eps, &out, hc->out,
		                    &ke))) {
			rc = yd_error(d, cn, e, rc, "%s", ke.msg);
			break;
		}
		for (size_t r = 0; r < sh[0]; r++) {
			const double *x = ta.vals + r * sh[1];
			size_t L = sh[1];
			double s = 0, mx = -INFINITY, q = 0;
			for (size_t i = 0; i < L; i++) {
				s += x[i];
				mx = x[i] > mx ? x[i] : mx;
			}
			double mu = s / (double)L;
			for (size_t i = 0; i < L; i++)
				q += op == DP_RED_RMSNORM ? x[i] * x[i] : (x[i] - mu) * (x[i] - mu);
			double rs = sqrt(q / (double)L + (double)(float)eps);
			if (op == DP_RED_SUM) {
				ref[r] = s;
			} else if (op == DP_RED_MAX) {
				ref[r] = mx;
			} else if (op == DP_RED_SOFTMAX) {
				double z = 0;
				for (size_t i = 0; i < L; i++)
					z += exp(x[i] - mx);
				for (size_t i = 0; i < L; i++)
					ref[r * L + i] = exp(x[i] - mx) / z;
			} else {
				for (size_t i = 0; i < L; i++)
					ref[r * L + i] = op == DP_RED_RMSNORM ? x[i] / rs : (x[i] - mu) / rs;
			}
		}
		break;
	}
	}
	if (rc == ASIM_OK)
		stats(hc, ref);
	asim_free(ref);
	tensor_free(&ta);
	tensor_free(&tb);
	return rc;
}

/* ---- golden files ---------------------------------------------------------------------------- */

typedef struct gline {
	char name[128], digest[65];
	double max_ulp, mean_rel, bias;
	uint64_t nonfinite, n;
	int seen;
} gline;

static int read_golden(const char *path, gline **out, size_t *nout, asim_err *e)
{
	FILE *fp = fopen(path, "r");
	*out = NULL;
	*nout = 0;
	if (fp == NULL)
		return asim_errorf(e, ASIM_ENOENT, "%s: cannot open the golden file (create it with "
		                   "--update-golden)", path);
	char line[1024];
	unsigned long ln = 0;
	size_t cap = 0;
	int rc = ASIM_OK;
	while (fgets(line, sizeof line, fp)) {
		ln++;
		if (strchr(line, '\n') == NULL && !feof(fp)) {
			rc = asim_error_at(e, ASIM_ESYNTAX, path, ln, 1, "line too long");
			break;
		}
		if (line[0] == '#' || line[0] == '\n')
			continue;
		gline g = {0};
		char tail;
		int n = sscanf(line, "%127s %64s max_ulp=%lf mean_rel=%lf bias=%lf nonfinite=%" SCNu64
		               " n=%" SCNu64 " %c", g.name, g.digest, &g.max_ulp, &g.mean_rel, &g.bias,
		               &g.nonfinite, &g.n, &tail);
		if (n != 7 || strlen(g.digest) != 64 || strspn(g.digest, "0123456789abcdef") != 64) {
			rc = asim_error_at(e, ASIM_ESYNTAX, path, ln, 1, "malformed golden line (expected "
			                   "'NAME SHA256 max_ulp=X mean_rel=X bias=X nonfinite=N n=N')");
			break;
		}
		for (size_t i = 0; i < *nout; i++)
			if (strcmp((*out)[i].name, g.name) == 0) {
				rc = asim_error_at(e, ASIM_ESYNTAX, path, ln, 1, "case '%s' listed twice",
				                   g.name);
				break;
			}
		if (rc)
			break;
		if (asim_grow((void **)out, &cap, *nout + 1, sizeof **out)) {
			rc = asim_errorf(e, ASIM_ENOMEM, "out of memory");
			break;
		}
		(*out)[(*nout)++] = g;
	}
	fclose(fp);
	return rc;
}

static int write_golden(const char *path, const char *spec, const hcase *cs, size_t n,
                        asim_err *e)
{
	outfile f;
	int rc = outfile_open(&f, path, e);
	if (rc)
		return rc;
	outfile_printf(&f, "# accelsim numerics golden file -- generated by `accelsim numerics check "
	               "%s --update-golden`; do not edit.\n", spec);
	outfile_printf(&f, "# NAME SHA256(output codes, little-endian) statistics (docs/numerics.md)\n");
	for (size_t i = 0; i < n; i++)
		outfile_printf(&f, "%s %s max_ulp=%.17g mean_rel=%.17g bias=%.17g nonfinite=%" PRIu64
		               " n=%" PRIu64 "\n", cs[i].name, cs[i].digest, cs[i].max_ulp,
		               cs[i].mean_rel, cs[i].bias, cs[i].nonfinite, cs[i].n);
	return outfile_commit(&f, e);
}

/* ---- driver ---------------------------------------------------------------------------------- */

int dp_harness_check(const char *spec, const char *golden, int update, unsigned threads,
                     FILE *out, asim_err *e)
{
	yd_doc d;
	int rc = yd_load_file(&d, spec, e);
	hcase *cs = NULL;
	gline *gl = NULL;
	size_t ncase = 0, ngl = 0;
	char *gpath = NULL;
	if (rc)
		goto done;
	static const char *const top[] = {"numerics", "golden", "cases"};
	const yd_node *v, *cases;
	if ((rc = yd_expect(&d, d.root, YD_MAP, "numerics spec", e)) ||
	    (rc = yd_check_keys(&d, d.root, top, 3, "numerics spec", e)))
		goto done;
	uint64_t ver;
	if ((rc = yd_require(&d, d.root, "numerics", "numerics spec", &v, e)) ||
	    (rc = yd_u64(&d, v, "numerics (spec version)", 1, 1, &ver, e)))
		goto done;
	if (golden == NULL) {
		const char *g;
		if ((v = yd_get(d.root, "golden")) == NULL) {
			rc = yd_error(&d, d.root, e, ASIM_ESCHEMA, "no 'golden' key and no --golden FILE");
			goto done;
		}
		if ((rc = yd_str(&d, v, "golden", &g, e)))
			goto done;
		gpath = resolve(spec, g);
	} else {
		gpath = asim_strdup(golden);
	}
	if (gpath == NULL) {
		rc = asim_errorf(e, ASIM_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = yd_require(&d, d.root, "cases", "numerics spec", &cases, e)) ||
	    (rc = yd_expect(&d, cases, YD_SEQ, "cases", e)))
		goto done;
	if (cases->len == 0 || cases->len > MAX_CASES) {
		rc = yd_error(&d, cases, e, ASIM_ESCHEMA, "'cases' must hold 1..%d cases", MAX_CASES);
		goto done;
	}
	cs = asim_calloc(cases->len, sizeof *cs);
	if (cs == NULL) {
		rc = asim_errorf(e, ASIM_ENOMEM, "out of memory");
		goto done;
	}
	/* Run everything first: a bad spec fails before any output. */
	for (ncase = 0; ncase < cases->len; ncase++) {
		const yd_node *cn = yd_item(cases, ncase);
		if ((rc = run_case(&d, cn, spec, threads, &cs[ncase], e))) {
			ncase++;
			goto done;
		}
		for (size_t j = 0; j < ncase; j++)
			if (strcmp(cs[j].name, cs[ncase].name) == 0) {
				rc = yd_error(&d, yd_get(cn, "name"), e, ASIM_EREF, "duplicate case name '%s'",
				              cs[ncase].name);
				ncase++;
				goto done;
			}
	}
	/* A missing or malformed golden file is bad input: report it before any output. */
	if (!update && (rc = read_golden(gpath, &gl, &ngl, e)))
		goto done;
	fprintf(out, "%-24s %-11s %9s %10s %10s %11s %s\n", "case", "op", "n", "max_ulp",
	        "mean_rel", "bias", "sha256");
	for (size_t i = 0; i < ncase; i++)
		fprintf(out, "%-24s %-11s %9zu %10.4g %10.3e %11.3e %.16s\n", cs[i].name,
		        op_names[cs[i].op], cs[i].nout, cs[i].max_ulp, cs[i].mean_rel, cs[i].bias,
		        cs[i].digest);
	if (update) {
		rc = write_golden(gpath, spec, cs, ncase, e);
		if (rc == ASIM_OK)
			fprintf(out, "numerics check: wrote %zu cases to %s\n", ncase, gpath);
		goto done;
	}
	size_t bad = 0;
	char first[ASIM_ERR_MSG_MAX] = "";
	for (size_t i = 0; i < ncase; i++) {
		hcase *c = &cs[i];
		char msg[ASIM_ERR_MSG_MAX] = "";
		gline *g = NULL;
		for (size_t j = 0; j < ngl; j++)
			if (strcmp(gl[j].name, c->name) == 0)
				g = &gl[j];
		if (g == NULL) {
			snprintf(msg, sizeof msg, "case '%s': no entry in the golden file %s", c->name, gpath);
		} else {
			g->seen = 1;
			if (strcmp(g->digest, c->digest) != 0)
				snprintf(msg, sizeof msg, "case '%s': output digest changed (%.16s -> %.16s); "
				         "max_ulp %.6g -> %.6g, mean_rel %.6g -> %.6g, bias %.6g -> %.6g",
				         c->name, g->digest, c->digest, g->max_ulp, c->max_ulp, g->mean_rel,
				         c->mean_rel, g->bias, c->bias);
		}
		const char *tn[] = {"max_ulp", "mean_rel", "|bias|"};
		double got[] = {c->max_ulp, c->mean_rel, fabs(c->bias)};
		double lim[] = {c->tol_ulp, c->tol_rel, c->tol_bias};
		for (int t = 0; t < 3 && msg[0] == '\0'; t++)
			if (lim[t] >= 0 && got[t] > lim[t])
				snprintf(msg, sizeof msg, "case '%s': %s %.6g exceeds the tolerance %.6g by "
				         "%.6g", c->name, tn[t], got[t], lim[t], got[t] - lim[t]);
		if (msg[0] == '\0' && c->nonfinite > 0 && g && g->nonfinite != c->nonfinite)
			snprintf(msg, sizeof msg, "case '%s': %" PRIu64 " non-finite outputs, golden %" PRIu64,
			         c->name, c->nonfinite, g->nonfinite);
		if (msg[0]) {
			bad++;
			fprintf(out, "FAIL %s\n", msg);
			if (first[0] == '\0')
				snprintf(first, sizeof first, "%s", msg);
		}
	}
	for (size_t j = 0; j < ngl; j++)
		if (!gl[j].seen) {
			bad++;
			fprintf(out, "FAIL golden case '%s' is not in the spec\n", gl[j].name);
			if (first[0] == '\0')
				snprintf(first, sizeof first, "golden case '%s' is not in the spec", gl[j].name);
		}
	if (bad) {
		rc = asim_errorf(e, ASIM_ECHECK, "%zu of %zu cases differ from %s; first: %s", bad,
		                 ncase, gpath, first);
		goto done;
	}
	fprintf(out, "numerics check: %zu cases match %s\n", ncase, gpath);
done:
	for (size_t i = 0; i < ncase; i++)
		asim_free(cs[i].out);
	asim_free(cs);
	asim_free(gl);
	asim_free(gpath);
	yd_free(&d);
	return rc;
}
