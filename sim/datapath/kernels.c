/*
 * kernels.c -- the functional kernels of kernels.h.
 *
 * The matmul inner kernel keeps a 4 x 16 block of FP32 accumulators in vector registers (GCC
 * vector extensions; lane-wise IEEE additions and multiplications, so each accumulator sees the
 * same sequence of FP32 operations as the one-at-a-time definition) and walks one K-tile of R
 * rows at a time, folding each tile into PSUM in ascending K. Edges (M not a multiple of 4, N not
 * a multiple of 16) take a scalar loop with the same order. Threads take disjoint row ranges;
 * since no sum crosses rows, the result is independent of the thread count and of the blocking.
 */
#include "sim/datapath/kernels.h"

#include <math.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>

#include "sim/alloc.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(__SANITIZE_ADDRESS__)
#define DP_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define DP_CLONES
#endif

typedef float v8f __attribute__((vector_size(32)));

void dp_decode_f32_array(dp_format f, const void *src, float *dst, size_t n)
{
	if (f == DP_FMT_FP32) {
		memcpy(dst, src, n * sizeof *dst);
	} else if (f == DP_FMT_BF16) {
		const uint16_t *s = src;
		for (size_t i = 0; i < n; i++) {
			uint32_t b = (uint32_t)s[i] << 16;
			memcpy(&dst[i], &b, 4);
		}
	} else if (dp_format_get(f)->bytes == 1) {
		float lut[256];
		for (unsigned c = 0; c < 256; c++)
			lut[c] = (float)dp_decode(f, c);
		const uint8_t *s = src;
		for (size_t i = 0; i < n; i++)
			dst[i] = lut[s[i]];
	} else {
		for (size_t i = 0; i < n; i++)
			dst[i] = (float)dp_decode(f, dp_code_load(f, src, i));
	}
}

/* A NaN that FP32 arithmetic creates (Inf - Inf, 0 * Inf) has a sign that depends on the
 * machine (x86 makes it negative, Arm positive), so every NaN a kernel produces is replaced by the
 * positive canonical NaN before output rounding: results are the same on every machine. */
static void canon_nan(float *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (isnan(p[i]))
			p[i] = __builtin_nanf("");
}

/* ---- matmul ------------------------------------------------------------------------------- */

typedef struct mm_job {
	const float *A, *B;
	float *P;
	size_t M, N, K, m0, m1;
	unsigned R;
	const dp_out *out;   /* NULL: leave P unrounded */
	void *C;
} mm_job;

/* One output element in the documented order (the edges, and the definition). */
static float mm_one(const float *A, const float *B, size_t N, size_t K, unsigned R, size_t m,
                    size_t n)
{
	float psum = 0.0f;
	for (size_t k0 = 0; k0 < K; k0 += R) {
		size_t k1 = K - k0 < R ? K : k0 + R;
		float acc = 0.0f;
		for (size_t k = k0; k < k1; k++)
			acc = acc + A[m * K + k] * B[k * N + n];
		psum = k0 == 0 ? acc : psum + acc;
	}
	return psum;
}

/* (macros, not functions: a 32-byte vector passed by value would change the ABI without AVX) */
#define V8_LOAD(v, p) memcpy(&(v), (p), sizeof(v))
#define V8_STORE(p, v) memcpy((p), &(v), sizeof(v))

/* P[m..m+4)[n..n+16) for full blocks. */
DP_CLONES
static void mm_block(const float *A, const float *B, float *P, size_t N, size_t K, unsigned R,
                     size_t m, size_t n)
{
	v8f ps[4][2];
	const v8f zero = {0};
	for (size_t k0 = 0; k0 < K; k0 += R) {
		size_t k1 = K - k0 < R ? K : k0 + R;
		v8f acc[4][2] = {{zero, zero}, {zero, zero}, {zero, zero}, {zero, zero}};
		for (size_t k = k0; k < k1; k++) {
			v8f b0, b1;
			V8_LOAD(b0, B + k * N + n);
			V8_LOAD(b1, B + k * N + n + 8);
			for (int i = 0; i < 4; i++) {
				float a = A[(m + (size_t)i) * K + k];
				v8f av = {a, a, a, a, a, a, a, a};
				acc[i][0] = acc[i][0] + av * b0;
				acc[i][1] = acc[i][1] + av * b1;
			}
		}
		for (int i = 0; i < 4; i++)
			for (int j = 0; j < 2; j++)
				ps[i][j] = k0 == 0 ? acc[i][j] : ps[i][j] + acc[i][j];
	}
	if (K == 0)
		for (int i = 0; i < 4; i++)
			ps[i][0] = ps[i][1] = zero;
	for (int i = 0; i < 4; i++) {
		V8_STORE(P + (m + (size_t)i) * N + n, ps[i][0]);
		V8_STORE(P + (m + (size_t)i) * N + n + 8, ps[i][1]);
	}
}

static void *mm_worker(void *arg)
{
	mm_job *j = arg;
	size_t m = j->m0;
	for (; m + 4 <= j->m1; m += 4) {
		size_t n = 0;
		for (; n + 16 <= j->N; n += 16)
			mm_block(j->A, j->B, j->P, j->N, j->K, j->R, m, n);
		for (size_t i = 0; i < 4; i++)
			for (size_t nn = n; nn < j->N; nn++)
				j->P[(m + i) * j->N + nn] = mm_one(j->A, j->B, j->N, j->K, j->R, m + i, nn);
	}
	for (; m < j->m1; m++)
		for (size_t n = 0; n < j->N; n++)
			j->P[m * j->N + n] = mm_one(j->A, j->B, j->N, j->K, j->R, m, n);
	canon_nan(j->P + j->m0 * j->N, (j->m1 - j->m0) * j->N);
	if (j->out != NULL && j->m1 > j->m0) {
		size_t off = j->m0 * j->N;
		size_t bytes = dp_format_get(j->out->cvt.fmt)->bytes;
		dp_convert_f32_array(&j->out->cvt, j->P + off, (char *)j->C + off * bytes,
		                     (j->m1 - j->m0) * j->N, j->out->seed, j->out->stream, off);
	}
	return NULL;
}

static int mm_run(const float *A, const float *B, size_t M, size_t N, size_t K, unsigned R,
                  float *P, const dp_out *out, void *C, unsigned threads, asim_err *e)
{
	if (R < 1)
		return asim_errorf(e, ASIM_ERANGE, "the PE array depth (rows) must be at least 1");
	if (threads < 1 || threads > 256)
		return asim_errorf(e, ASIM_ERANGE, "threads must be in 1..256, got %u", threads);
	if (out != NULL && dp_cvt_check(&out->cvt, e) != ASIM_OK)
		return e->code;
	/* Rows per thread, a multiple of 4; fewer threads when there is little work. */
	size_t per = (M + threads - 1) / threads;
	per = (per + 3) / 4 * 4;
	if (per == 0)
		per = 4;
	size_t nt = (M + per - 1) / per;
	if (nt <= 1) {
		mm_job j = {A, B, P, M, N, K, 0, M, R, out, C};
		mm_worker(&j);
		return ASIM_OK;
	}
	mm_job *jobs = asim_calloc(nt, sizeof *jobs);
	pthread_t *tid = asim_calloc(nt, sizeof *tid);
	if (jobs == NULL || tid == NULL) {
		asim_free(jobs);
		asim_free(tid);
		return asim_errorf(e, ASIM_ENOMEM, "out of memory for %zu matmul threads", nt);
	}
	for (size_t t = 0; t < nt; t++) {
		size_t m0 = t * per, m1 = m0 + per < M ? m0 + per : M;
		jobs[t] = (mm_job){A, B, P, M, N, K, m0, m1, R, out, C};
		if (t == 0)
			continue;   /* the calling thread takes the first range */
		if (pthread_create(&tid[t], NULL, mm_worker, &jobs[t]) != 0) {
			mm_worker(&jobs[t]);   /* no thread: do it here; the result is the same */
			tid[t] = 0;
		}
	}
	mm_worker(&jobs[0]);
	for (size_t t = 1; t < nt; t++)
		if (tid[t])
			pthread_join(tid[t], NULL);
	asim_free(jobs);
	asim_free(tid);
	return ASIM_OK;
}

int dp_matmul_f32(const float *A, const float *B, size_t M, size_t N, size_t K, unsigned rows,
                  float *psum, unsigned threads, asim_err *e)
{
	return mm_run(A, B, M, N, K, rows, psum, NULL, NULL, threads, e);
}

int dp_matmul(dp_format fa, const void *A, dp_format fb, const void *B, size_t M, size_t N,
              size_t K, unsigned rows, const dp_out *out, void *C, float *psum, unsigned threads,
              asim_err *e)
{
	float *a = asim_calloc(M * K + 1, sizeof *a), *b = asim_calloc(K * N + 1, sizeof *b);
	float *p = psum ? psum : asim_calloc(M * N + 1, sizeof *p);
	int rc;
	if (a == NULL || b == NULL || p == NULL) {
		rc = asim_errorf(e, ASIM_ENOMEM, "out of memory for a %zux%zux%zu matmul", M, N, K);
		goto out;
	}
	dp_decode_f32_array(fa, A, a, M * K);
	dp_decode_f32_array(fb, B, b, K * N);
	rc = mm_run(a, b, M, N, K, rows, p, out, C, threads, e);
out:
	asim_free(a);
	asim_free(b);
	if (p != psum)
		asim_free(p);
	return rc;
}

/* ---- conv2d ------------------------------------------------------------------------------- */

int dp_conv2d_shape_check(dp_conv2d_shape *s, asim_err *e)
{
	if (s->n == 0 || s->c == 0 || s->h == 0 || s->w == 0 || s->o == 0 || s->kh == 0 ||
	    s->kw == 0)
		return asim_errorf(e, ASIM_ESHAPE, "conv2d dimensions must be positive");
	if (s->stride_h == 0 || s->stride_w == 0)
		return asim_errorf(e, ASIM_ESHAPE, "conv2d strides must be positive");
	size_t hp = s->h + 2 * s->pad_h, wp = s->w + 2 * s->pad_w;
	if (hp < s->kh || wp < s->kw)
		return asim_errorf(e, ASIM_ESHAPE, "conv2d kernel %zux%zu larger than the padded "
		                   "input %zux%zu", s->kh, s->kw, hp, wp);
	s->oh = (hp - s->kh) / s->stride_h + 1;
	s->ow = (wp - s->kw) / s->stride_w + 1;
	return ASIM_OK;
}

int dp_conv2d(const dp_conv2d_shape *s0, dp_format fx, const void *X, dp_format fw, const void *W,
              unsigned rows, const dp_out *out, void *Y, float *psum, unsigned threads,
              asim_err *e)
{
	dp_conv2d_shape s = *s0;
	int rc = dp_conv2d_shape_check(&s, e);
	if (rc != ASIM_OK)
		return rc;
	size_t K = s.c * s.kh * s.kw, Mr = s.n * s.oh * s.ow, O = s.o;
	float *x = asim_calloc(s.n * s.c * s.h * s.w, sizeof *x);
	float *w = asim_calloc(O * K, sizeof *w), *wt = asim_calloc(K * O, sizeof *wt);
	float *col = asim_calloc(Mr * K, sizeof *col), *p = asim_calloc(Mr * O, sizeof *p);
	float *pf = psum ? psum : asim_calloc(Mr * O, sizeof *pf);
	if (!x || !w || !wt || !col || !p || !pf) {
		rc = asim_errorf(e, ASIM_ENOMEM, "out of memory for a conv2d");
		goto out;
	}
	dp_decode_f32_array(fx, X, x, s.n * s.c * s.h * s.w);
	dp_decode_f32_array(fw, W, w, O * K);
	for (size_t o = 0; o < O; o++)   /* B[k][o] */
		for (size_t k = 0; k < K; k++)
			wt[k * O + o] = w[o * K + k];
	for (size_t n = 0; n < s.n; n++)
		for (size_t y = 0; y < s.oh; y++)
			for (size_t xx = 0; xx < s.ow; xx++) {
				float *row = col + ((n * s.oh + y) * s.ow + xx) * K;
				for (size_t c = 0; c < s.c; c++)
					for (size_t i = 0; i < s.kh; i++)
						for (size_t j = 0; j < s.kw; j++) {
							size_t iy = y * s.stride_h + i, ix = xx * s.stride_w + j;
							float v = 0.0f;
							if (iy >= s.pad_h && iy < s.pad_h + s.h && ix >= s.pad_w &&
							    ix < s.pad_w + s.w)
								v = x[((n * s.c + c) * s.h + (iy - s.pad_h)) * s.w +
								      (ix - s.pad_w)];
							row[(c * s.kh + i) * s.kw + j] = v;
						}
			}
	rc = mm_run(col, wt, Mr, O, K, rows, p, NULL, NULL, threads, e);
	if (rc != ASIM_OK)
		goto out;
	/* (n, y, x) x o  ->  n x o x oh x ow */
	for (size_t n = 0; n < s.n; n++)
		for (size_t o = 0; o < O; o++)
			for (size_t yx = 0; yx < s.oh * s.ow; yx++)
				pf[(n * O + o) * s.oh * s.ow + yx] = p[(n * s.oh * s.ow + yx) * O + o];
	canon_nan(pf, Mr * O);
	rc = dp_cvt_check(&out->cvt, e);
	if (rc == ASIM_OK)
		dp_convert_f32_array(&out->cvt, pf, Y, Mr * O, out->seed, out->stream, 0);
out:
	asim_free(x);
	asim_free(w);
	asim_free(wt);
	asim_free(col);
	asim_free(p);
	if (pf != psum)
		asim_free(pf);
	return rc;
}

/* ---- elementwise -------------------------------------------------------------------------- */

static const struct {
	const char *name;
	int arity;
} ew_table[DP_EW_COUNT] = {
#define X(id, nm, ar) [DP_EW_##id] = {nm, ar},
	DP_EW_LIST(X)
#undef X
};

const char *dp_ew_name(dp_ewop op)
{
	ASIM_ASSERT((unsigned)op < DP_EW_COUNT);
	return ew_table[op].name;
}

int dp_ew_arity(dp_ewop op)
{
	ASIM_ASSERT((unsigned)op < DP_EW_COUNT);
	return ew_table[op].arity;
}

int dp_ew_parse(const char *name, dp_ewop *out)
{
	for (int i = 0; i < DP_EW_COUNT; i++)
		if (strcasecmp(name, ew_table[i].name) == 0) {
			*out = (dp_ewop)i;
			return ASIM_OK;
		}
	return ASIM_ESYNTAX;
}

double dp_ew_f64(dp_ewop op, double x, double y)
{
	switch (op) {
	case DP_EW_ADD: return x + y;
	case DP_EW_MUL: return x * y;
	case DP_EW_RELU: return x > 0 ? x : (isnan(x) ? x : 0.0);
	case DP_EW_RELU6: return isnan(x) ? x : x < 0 ? 0.0 : x > 6 ? 6.0 : x;
	case DP_EW_GELU: return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
	case DP_EW_SILU: return x / (1.0 + exp(-x));
	case DP_EW_SIGMOID: return 1.0 / (1.0 + exp(-x));
	case DP_EW_TANH: return tanh(x);
	case DP_EW_EXP: return exp(x);
	default: ASIM_ASSERT(0);
	}
	return 0;
}

float dp_ew_f32(dp_ewop op, float x, float y)
{
	switch (op) {
	case DP_EW_ADD: return x + y;
	case DP_EW_MUL: return x * y;
	case DP_EW_RELU: return x > 0 ? x : (isnan(x) ? x : 0.0f);
	case DP_EW_RELU6: return isnan(x) ? x : x < 0 ? 0.0f : x > 6 ? 6.0f : x;
	default: return (float)dp_ew_f64(op, x, y);   /* binary64 libm, rounded to FP32 (RNE) */
	}
}

int dp_elementwise(dp_ewop op, dp_format fa, const void *a, dp_format fb, const void *b,
                   size_t n, const dp_out *out, void *dst, asim_err *e)
{
	int rc = dp_cvt_check(&out->cvt, e);
	if (rc != ASIM_OK)
		return rc;
	int binary = dp_ew_arity(op) == 2;
	float *x = asim_calloc(n + 1, sizeof *x), *y = binary ? asim_calloc(n + 1, sizeof *y) : NULL;
	if (x == NULL || (binary && y == NULL)) {
		asim_free(x);
		asim_free(y);
		return asim_errorf(e, ASIM_ENOMEM, "out of memory for %zu elements", n);
	}
	dp_decode_f32_array(fa, a, x, n);
	if (binary)
		dp_decode_f32_array(fb, b, y, n);
	for (size_t i = 0; i < n; i++)
		x[i] = dp_ew_f32(op, x[i], binary ? y[i] : 0.0f);
	canon_nan(x, n);
	dp_convert_f32_array(&out->cvt, x, dst, n, out->seed, out->stream, 0);
	asim_free(x);
	asim_free(y);
	return ASIM_OK;
}

/* ---- reductions --------------------------------------------------------------------------- */

static const char *const red_names[DP_RED_COUNT] = {
#define X(id, nm) [DP_RED_##id] = nm,
	DP_RED_LIST(X)
#undef X
};

const char *dp_red_name(dp_redop op)
{
	ASIM_ASSERT((unsigned)op < DP_RED_COUNT);
	return red_names[op];
}

int dp_red_parse(const char *name, dp_redop *out)
{
	for (int i = 0; i < DP_RED_COUNT; i++)
		if (strcasecmp(name, red_names[i]) == 0) {
			*out = (dp_redop)i;
			return ASIM_OK;
		}
	return ASIM_ESYNTAX;
}

size_t dp_red_out_len(dp_redop op, size_t rows, size_t len)
{
	return (op == DP_RED_SUM || op == DP_RED_MAX) ? rows : rows * len;
}

void dp_reduce_f32(dp_redop op, const float *x, size_t rows, size_t len, float eps, float *dst)
{
	for (size_t r = 0; r < rows; r++) {
		const float *v = x + r * len;
		float *d = dst + (op == DP_RED_SUM || op == DP_RED_MAX ? r : r * len);
		switch (op) {
		case DP_RED_SUM: {
			float s = 0.0f;
			for (size_t i = 0; i < len; i++)
				s = s + v[i];
			d[0] = s;
			break;
		}
		case DP_RED_MAX: {
			float m = -INFINITY;
			for (size_t i = 0; i < len; i++)
				m = (isnan(v[i]) || isnan(m)) ? NAN : (v[i] > m ? v[i] : m);
			d[0] = m;
			break;
		}
		case DP_RED_SOFTMAX: {
			float m = -INFINITY, s = 0.0f;
			for (size_t i = 0; i < len; i++)
				m = (isnan(v[i]) || isnan(m)) ? NAN : (v[i] > m ? v[i] : m);
			for (size_t i = 0; i < len; i++) {
				d[i] = (float)exp((double)(v[i] - m));
				s = s + d[i];
			}
			for (size_t i = 0; i < len; i++)
				d[i] = d[i] / s;
			break;
		}
		case DP_RED_LAYERNORM: {
			float s = 0.0f, q = 0.0f;
			for (size_t i = 0; i < len; i++)
				s = s + v[i];
			float mu = s / (float)len;
			for (size_t i = 0; i < len; i++) {
				float dd = v[i] - mu;
				q = q + dd * dd;
			}
			float rs = sqrtf(q / (float)len + eps);
			for (size_t i = 0; i < len; i++)
				d[i] = (v[i] - mu) / rs;
			break;
		}
		default: {   /* RMSNORM */
			float q = 0.0f;
			for (size_t i = 0; i < len; i++)
				q = q + v[i] * v[i];
			float rs = sqrtf(q / (float)len + eps);
			for (size_t i = 0; i < len; i++)
				d[i] = v[i] / rs;
			break;
		}
		}
	}
}

int dp_reduce(dp_redop op, dp_format fa, const void *a, size_t rows, size_t len, float eps,
              const dp_out *out, void *dst, asim_err *e)
{
	int rc = dp_cvt_check(&out->cvt, e);
	if (rc != ASIM_OK)
		return rc;
	size_t on = dp_red_out_len(op, rows, len);
	float *x = asim_calloc(rows * len + 1, sizeof *x), *y = asim_calloc(on + 1, sizeof *y);
	if (x == NULL || y == NULL) {
		asim_free(x);
		asim_free(y);
		return asim_errorf(e, ASIM_ENOMEM, "out of memory for a %zux%zu reduction", rows, len);
	}
	dp_decode_f32_array(fa, a, x, rows * len);
	dp_reduce_f32(op, x, rows, len, eps, y);
	canon_nan(y, on);
	dp_convert_f32_array(&out->cvt, y, dst, on, out->seed, out->stream, 0);
	asim_free(x);
	asim_free(y);
	return ASIM_OK;
}
