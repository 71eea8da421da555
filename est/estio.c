/*
 * estio.c -- the estimator's files: per-op CSV in (the `--ops` columns) and the model file.
 *
 * Per-op CSV: RFC 4180 (fields may be quoted, "" inside quotes is a quote), one header line
 * naming the columns; the columns are found by name, so extra columns (a sweep's chip
 * parameters, every other `--ops` column) are ignored and the order does not matter. A name
 * ending in .gz is inflated by zlib (gzread also reads plain files). Required columns:
 *
 *     chip graph_hash op_index op_type fused_activation batch m n k h w c_in c_out h_out w_out
 *     kh kw stride_h stride_w groups elems_out macs flops weight_bytes activation_in_bytes
 *     activation_out_bytes end_ns
 *
 * Model file (docs/estimators.md, "Model file"), text, one record per line, numbers in %.17g:
 *
 *     accelsim-estimator-model 1                       <- format version: refused unless 1
 *     chip trn1 0123456789abcdef
 *     seed 1
 *     rows 61234 graphs 1000
 *     flops_ns_per_flop 1.2e-06
 *     features 14 one pe_ns ...                        <- must match this build's list
 *     kinds 12
 *     kind * rows 61234 lambda 1e-06                   <- then coef, lo, hi: 14 numbers each
 *     coef ...
 *     lo ...
 *     hi ...
 *     ...
 *     checksum 0123456789abcdef                        <- FNV-1a 64 of every byte before this line
 *
 * Anything else (another version, a missing or extra record, a number that does not parse, a
 * checksum that does not match) is refused with file:line and exit status 2.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "est/est.h"
#include "sim/alloc.h"
#include "traces/outfile.h"

/* ---- CSV ------------------------------------------------------------------------------------ */

static int read_all(const char *path, char **buf, size_t *len, asim_err *e)
{
	gzFile gz = gzopen(path, "rb");
	if (gz == NULL)
		return asim_errorf(e, ASIM_ENOENT, "%s: cannot open: %s", path, strerror(errno ? errno : ENOENT));
	size_t cap = 1 << 16, n = 0;
	char *b = asim_malloc(cap);
	int rc = 0;
	for (;;) {
		if (b == NULL) {
			rc = asim_errorf(e, ASIM_ENOMEM, "out of memory");
			break;
		}
		if (cap - n < 65536) {
			char *nb = asim_realloc(b, cap * 2);
			if (nb == NULL) {
				asim_free(b);
				b = NULL;
				continue;
			}
			b = nb;
			cap *= 2;
		}
		int got = gzread(gz, b + n, (unsigned)(cap - n - 1));
		if (got < 0) {
			int zerr;
			rc = asim_errorf(e, ASIM_EIO, "%s: read error: %s", path, gzerror(gz, &zerr));
			break;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	gzclose(gz);
	if (rc) {
		asim_free(b);
		return rc;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

/* Split one CSV record starting at *p into fields (in place: quotes removed, NUL-terminated).
 * Returns the number of fields (up to max), advances *p past the line end; -1 on an open quote. */
static int csv_record(char **p, char *end, char **fields, int max)
{
	char *s = *p;
	int nf = 0;
	for (;;) {
		char *out = s, *start = s;
		if (s < end && *s == '"') {
			s++;
			for (;;) {
				if (s >= end)
					return -1;
				if (*s == '"') {
					if (s + 1 < end && s[1] == '"') {
						*out++ = '"';
						s += 2;
						continue;
					}
					s++;
					break;
				}
				*out++ = *s++;
			}
		} else {
			while (s < end && *s != ',' && *s != '\n' && *s != '\r')
				s++;
			out = s;
		}
		char term = s < end ? *s : '\n';
		*out = '\0';
		if (nf < max)
			fields[nf] = start;
		nf++;
		if (term == ',') {
			s++;
			continue;
		}
		if (s < end && term != '\r' && term != '\n')
			return -1;                 /* text after a closing quote */
		if (s < end)
			s++;                       /* the \r or \n */
		if (term == '\r' && s < end && *s == '\n')
			s++;
		break;
	}
	*p = s;
	return nf;
}

#define EST_CSV_COLS(X) \
	X(chip) X(graph_hash) X(op_index) X(op_type) X(fused_activation) X(batch) X(m) X(n) X(k) \
	X(h) X(w) X(c_in) X(c_out) X(h_out) X(w_out) X(kh) X(kw) X(stride_h) X(stride_w) X(groups) \
	X(elems_out) X(macs) X(flops) X(weight_bytes) X(activation_in_bytes) X(activation_out_bytes) \
	X(end_ns)
enum {
#define X(name) COL_##name,
	EST_CSV_COLS(X)
#undef X
	COL_COUNT
};
static const char *const col_names[COL_COUNT] = {
#define X(name) #name,
	EST_CSV_COLS(X)
#undef X
};

static int num(const char *s, double *v)
{
	if (*s == '\0') {
		*v = 0;
		return 0;
	}
	char *end;
	errno = 0;
	*v = strtod(s, &end);
	return (*end != '\0' || errno == ERANGE || !isfinite(*v)) ? -1 : 0;
}

#define MAXF 256

int est_data_read_csv(est_data *d, const char *path, asim_err *e)
{
	char *buf = NULL;
	size_t len = 0;
	int rc = read_all(path, &buf, &len, e);
	if (rc)
		return rc;
	char *p = buf, *end = buf + len;
	char *f[MAXF];
	int at[COL_COUNT];
	int nf = csv_record(&p, end, f, MAXF);
	unsigned long line = 1;
	if (nf <= 0 || nf > MAXF) {
		rc = asim_error_at(e, ASIM_ESYNTAX, path, 1, 0, "not a per-op CSV: no header line");
		goto out;
	}
	for (int c = 0; c < COL_COUNT; c++) {
		at[c] = -1;
		for (int j = 0; j < nf; j++)
			if (strcmp(f[j], col_names[c]) == 0)
				at[c] = j;
		if (at[c] < 0) {
			rc = asim_error_at(e, ASIM_ESCHEMA, path, 1, 0,
			                   "missing column '%s' (the per-op rows of `accelsim run --ops`)", col_names[c]);
			goto out;
		}
	}
	char prev_hash[64] = "";
	while (p < end) {
		line++;
		int n = csv_record(&p, end, f, MAXF);
		if (n == 1 && f[0][0] == '\0')
			continue;                           /* blank line */
		if (n != nf) {
			rc = asim_error_at(e, ASIM_ESYNTAX, path, line, 0, "%d fields, the header has %d", n < 0 ? 0 : n, nf);
			goto out;
		}
		est_op o;
		memset(&o, 0, sizeof o);
		const char *chipname = f[at[COL_chip]];
		if (d->chip[0] == '\0')
			snprintf(d->chip, sizeof d->chip, "%s", chipname);
		else if (strcmp(d->chip, chipname) != 0) {
			rc = asim_error_at(e, ASIM_ESCHEMA, path, line, 0,
			                   "rows of chip '%s' mixed with rows of chip '%s': fit one model per chip",
			                   chipname, d->chip);
			goto out;
		}
		snprintf(o.type, sizeof o.type, "%s", f[at[COL_op_type]]);
		snprintf(o.act, sizeof o.act, "%s", f[at[COL_fused_activation]]);
		double idx;
		double *dst[] = {&o.batch, &o.m, &o.n, &o.k, &o.h, &o.w, &o.c_in, &o.c_out, &o.h_out, &o.w_out,
		                 &o.kh, &o.kw, &o.stride_h, &o.stride_w, &o.groups, &o.elems_out, &o.macs,
		                 &o.flops, &o.weight_bytes, &o.act_in_bytes, &o.act_out_bytes};
		for (int c = COL_batch; c <= COL_activation_out_bytes; c++)
			if (num(f[at[c]], dst[c - COL_batch]) != 0) {
				rc = asim_error_at(e, ASIM_ESYNTAX, path, line, 0, "column '%s': not a number: '%.40s'",
				                   col_names[c], f[at[c]]);
				goto out;
			}
		if (num(f[at[COL_op_index]], &idx) != 0 || f[at[COL_op_index]][0] == '\0') {
			rc = asim_error_at(e, ASIM_ESYNTAX, path, line, 0, "column 'op_index': not a number");
			goto out;
		}
		if (f[at[COL_end_ns]][0] == '\0')
			o.end_ns = NAN;
		else if (num(f[at[COL_end_ns]], &o.end_ns) != 0) {
			rc = asim_error_at(e, ASIM_ESYNTAX, path, line, 0, "column 'end_ns': not a number");
			goto out;
		}
		est_op_kind(&o);
		const char *gh = f[at[COL_graph_hash]];
		if (idx == 0 || strcmp(gh, prev_hash) != 0 || d->n_graphs == 0) {
			if ((rc = est_data_begin_graph(d)) != 0) {
				asim_errorf(e, rc, "out of memory");
				goto out;
			}
			snprintf(prev_hash, sizeof prev_hash, "%s", gh);
		}
		if ((rc = est_data_push(d, &o)) != 0) {
			asim_errorf(e, rc, "out of memory");
			goto out;
		}
	}
out:
	asim_free(buf);
	return rc;
}

/* ---- model file --------------------------------------------------------------------------- */

static uint64_t fnv1a(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

typedef struct sbuf_t {
	char *s;
	size_t n, cap;
	int oom;
} sbuf_t;

static void sb_printf(sbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf_t *b, const char *fmt, ...)
{
	if (b->oom)
		return;
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int k = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0, fmt, ap);
		va_end(ap);
		if (k < 0) {
			b->oom = 1;
			return;
		}
		if (b->s && b->n + (size_t)k < b->cap) {
			b->n += (size_t)k;
			return;
		}
		if (asim_grow((void **)&b->s, &b->cap, b->n + (size_t)k + 256, 1)) {
			b->oom = 1;
			return;
		}
	}
}

static void sb_vec(sbuf_t *b, const char *tag, const double *v, int cnt)
{
	sb_printf(b, "%s", tag);
	for (int j = 0; j < cnt; j++)
		sb_printf(b, " %.17g", v[j]);
	sb_printf(b, "\n");
}

int est_model_write(const est_model *m, const char *path, asim_err *e)
{
	sbuf_t b = {0};
	sb_printf(&b, "accelsim-estimator-model %d\n", EST_FORMAT_VERSION);
	sb_printf(&b, "chip %s %s\n", m->chip, m->chip_hash);
	sb_printf(&b, "seed %llu\n", (unsigned long long)m->seed);
	sb_printf(&b, "rows %llu graphs %llu\n", (unsigned long long)m->rows, (unsigned long long)m->graphs);
	sb_printf(&b, "flops_ns_per_flop %.17g\n", m->flops_ns);
	sb_printf(&b, "features %d %d", EST_NF, EST_NX);
	for (int j = 0; j < EST_NX; j++)
		sb_printf(&b, " %s", est_feature_names[j]);
	sb_printf(&b, "\nkinds %zu\n", m->n_kinds);
	for (size_t k = 0; k < m->n_kinds; k++) {
		const est_kind *K = &m->kinds[k];
		sb_printf(&b, "kind %s rows %llu lambda %.17g trees %u nodes %zu\n", K->name,
		          (unsigned long long)K->rows, K->lambda, K->n_trees, K->n_nodes);
		sb_vec(&b, "coef", K->coef, EST_NF);
		sb_vec(&b, "lo", K->lo, EST_NX);
		sb_vec(&b, "hi", K->hi, EST_NX);
		sb_printf(&b, "roots");
		for (uint32_t t = 0; t < K->n_trees; t++)
			sb_printf(&b, " %u", K->roots[t]);
		sb_printf(&b, "\n");
		for (size_t i = 0; i < K->n_nodes; i++) {
			const est_node *nd = &K->nodes[i];
			if (nd->feat < 0)
				sb_printf(&b, "leaf %.17g\n", nd->value);
			else
				sb_printf(&b, "split %d %.17g %d %d\n", nd->feat, nd->thr, nd->left, nd->right);
		}
	}
	if (b.oom) {
		asim_free(b.s);
		return asim_errorf(e, ASIM_ENOMEM, "out of memory");
	}
	uint64_t h = fnv1a(b.s, b.n);
	sb_printf(&b, "checksum %016llx\n", (unsigned long long)h);
	if (b.oom) {
		asim_free(b.s);
		return asim_errorf(e, ASIM_ENOMEM, "out of memory");
	}
	outfile f;
	int rc = outfile_open(&f, path, e);
	if (rc == 0) {
		outfile_write(&f, b.s, b.n);
		rc = outfile_commit(&f, e);
	}
	asim_free(b.s);
	return rc;
}

/* Read `cnt` doubles after `tag` on line `s`. */
static int parse_vec(const char *s, const char *tag, double *v, int cnt)
{
	size_t tl = strlen(tag);
	if (strncmp(s, tag, tl) != 0 || s[tl] != ' ')
		return -1;
	s += tl;
	for (int j = 0; j < cnt; j++) {
		char *end;
		if (*s != ' ')
			return -1;
		errno = 0;
		v[j] = strtod(s + 1, &end);
		if (end == s + 1 || errno == ERANGE)
			return -1;
		s = end;
	}
	return *s == '\0' ? 0 : -1;
}

int est_model_read(est_model *m, const char *path, asim_err *e)
{
	memset(m, 0, sizeof *m);
	char *buf = NULL;
	size_t len = 0;
	int rc = read_all(path, &buf, &len, e);
	if (rc)
		return rc;
	/* lines in place */
	size_t maxl = 1;
	for (size_t i = 0; i < len; i++)
		maxl += buf[i] == '\n';
	char **lines = asim_calloc(maxl, sizeof *lines);
	if (lines == NULL) {
		asim_free(buf);
		return asim_errorf(e, ASIM_ENOMEM, "out of memory");
	}
	size_t nl = 0;
	char *p = buf;
	size_t ck_off = len;
	while (p < buf + len && nl < maxl) {
		char *q = memchr(p, '\n', (size_t)(buf + len - p));
		if (strncmp(p, "checksum ", 9) == 0)
			ck_off = (size_t)(p - buf);
		lines[nl++] = p;
		if (q == NULL) {
			p = buf + len;
			break;
		}
		*q = '\0';
		p = q + 1;
	}
	unsigned long ln = 1;
	int ver = -1;
	if (nl == 0 || sscanf(lines[0], "accelsim-estimator-model %d", &ver) != 1) {
		rc = asim_error_at(e, ASIM_ESYNTAX, path, 1, 0, "not an accelsim estimator model "
		                   "(expected 'accelsim-estimator-model %d')", EST_FORMAT_VERSION);
		goto out;
	}
	if (ver != EST_FORMAT_VERSION) {
		rc = asim_error_at(e, ASIM_EUNSUPPORTED, path, 1, 0, "model format version %d; this accelsim "
		                   "reads version %d: refit the model with this accelsim", ver, EST_FORMAT_VERSION);
		goto out;
	}
	/* the checksum first: a corrupted file is refused as such, not by its first odd field */
	{
		size_t cl = 0;
		while (cl < nl && lines[cl] != buf + ck_off)
			cl++;
		unsigned long long want = 0;
		char tail = 0;
		if (cl == nl) {
			rc = asim_error_at(e, ASIM_ESYNTAX, path, nl, 0, "no checksum line: truncated model file");
			goto out;
		}
		if (sscanf(lines[cl], "checksum %16llx%c", &want, &tail) != 1 || cl + 1 != nl) {
			rc = asim_error_at(e, ASIM_ESYNTAX, path, cl + 1, 0, "bad checksum line, or text after it");
			goto out;
		}
		/* the bytes before the checksum line, with the newlines we replaced */
		for (size_t i = 0; i < cl; i++)
			lines[i][strlen(lines[i])] = '\n';
		uint64_t h = fnv1a(buf, ck_off);
		for (size_t i = 0; i < cl; i++)
			*strchr(lines[i], '\n') = '\0';
		if (h != want) {
			rc = asim_error_at(e, ASIM_ESYNTAX, path, cl + 1, 0, "checksum mismatch (file %016llx, "
			                   "content %016llx): the model file is corrupted", want, (unsigned long long)h);
			goto out;
		}
		nl = cl;
	}
	unsigned long long seed, rows, graphs;
	size_t nk;
	int nfeat;
	char n1[64], n2[17];
#define NEXT() (ln < nl ? lines[ln++] : "")
#define BAD(...) do { rc = asim_error_at(e, ASIM_ESYNTAX, path, ln, 0, __VA_ARGS__); goto out; } while (0)
	if (sscanf(NEXT(), "chip %63s %16s", n1, n2) != 2)
		BAD("expected 'chip NAME HASH'");
	snprintf(m->chip, sizeof m->chip, "%s", n1);
	snprintf(m->chip_hash, sizeof m->chip_hash, "%s", n2);
	if (sscanf(NEXT(), "seed %llu", &seed) != 1)
		BAD("expected 'seed S'");
	m->seed = seed;
	if (sscanf(NEXT(), "rows %llu graphs %llu", &rows, &graphs) != 2)
		BAD("expected 'rows N graphs G'");
	m->rows = rows;
	m->graphs = graphs;
	if (sscanf(NEXT(), "flops_ns_per_flop %lg", &m->flops_ns) != 1)
		BAD("expected 'flops_ns_per_flop A'");
	{
		const char *s = NEXT();
		int off = 0;
		int nx = 0;
		if (sscanf(s, "features %d %d%n", &nfeat, &nx, &off) != 2 || nfeat != EST_NF || nx != EST_NX)
			BAD("expected 'features %d %d ...' (this accelsim's feature list)", EST_NF, EST_NX);
		s += off;
		for (int j = 0; j < EST_NX; j++) {
			size_t fl = strlen(est_feature_names[j]);
			if (*s != ' ' || strncmp(s + 1, est_feature_names[j], fl) != 0 || (s[1 + fl] != ' ' && s[1 + fl] != '\0'))
				BAD("feature %d is not '%s' (a model of another feature list)", j, est_feature_names[j]);
			s += 1 + fl;
		}
		if (*s)
			BAD("text after the feature list");
	}
	if (sscanf(NEXT(), "kinds %zu", &nk) != 1 || nk < 1 || nk > 4096)
		BAD("expected 'kinds K' with K from 1 to 4096");
	m->kinds = asim_calloc(nk, sizeof *m->kinds);
	if (m->kinds == NULL) {
		rc = asim_errorf(e, ASIM_ENOMEM, "out of memory");
		goto out;
	}
	m->n_kinds = nk;
	for (size_t k = 0; k < nk; k++) {
		est_kind *K = &m->kinds[k];
		char name[EST_KIND_MAX];
		unsigned long long r;
		unsigned nt;
		size_t nn;
		if (sscanf(NEXT(), "kind %47s rows %llu lambda %lg trees %u nodes %zu", name, &r, &K->lambda, &nt,
		           &nn) != 5 || nt > 100000 || nn > 10000000 || (nt > 0) != (nn > 0))
			BAD("expected 'kind NAME rows N lambda L trees T nodes M'");
		if ((k == 0) != (strcmp(name, "*") == 0) || (k > 1 && strcmp(m->kinds[k - 1].name, name) >= 0))
			BAD("kinds must start with '*' and then be sorted by name");
		snprintf(K->name, sizeof K->name, "%s", name);
		K->rows = r;
		if (parse_vec(NEXT(), "coef", K->coef, EST_NF))
			BAD("expected 'coef' and %d numbers", EST_NF);
		if (parse_vec(NEXT(), "lo", K->lo, EST_NX))
			BAD("expected 'lo' and %d numbers", EST_NX);
		if (parse_vec(NEXT(), "hi", K->hi, EST_NX))
			BAD("expected 'hi' and %d numbers", EST_NX);
		K->roots = asim_calloc(nt ? nt : 1, sizeof *K->roots);
		K->nodes = asim_calloc(nn ? nn : 1, sizeof *K->nodes);
		if (!K->roots || !K->nodes) {
			rc = asim_errorf(e, ASIM_ENOMEM, "out of memory");
			goto out;
		}
		{
			const char *s = NEXT();
			int off = 0;
			if (strncmp(s, "roots", 5) != 0)
				BAD("expected 'roots' and %u node indices", nt);
			s += 5;
			for (unsigned t = 0; t < nt; t++) {
				unsigned v;
				if (sscanf(s, " %u%n", &v, &off) != 1 || v >= nn)
					BAD("expected 'roots' and %u node indices below %zu", nt, nn);
				K->roots[t] = v;
				s += off;
			}
			if (*s)
				BAD("text after the roots");
		}
		K->n_trees = nt;
		K->n_nodes = nn;
		for (size_t i = 0; i < nn; i++) {
			est_node *nd = &K->nodes[i];
			const char *s = NEXT();
			char tail;
			if (sscanf(s, "leaf %lg%c", &nd->value, &tail) == 1) {
				nd->feat = nd->left = nd->right = -1;
			} else if (sscanf(s, "split %d %lg %d %d%c", &nd->feat, &nd->thr, &nd->left, &nd->right, &tail) != 4 ||
			           nd->feat < 1 || nd->feat >= EST_NX || nd->left <= (int)i || nd->right <= (int)i ||
			           (size_t)nd->left >= nn || (size_t)nd->right >= nn) {
				/* children after their parent: every walk ends at a leaf */
				BAD("expected 'leaf VALUE' or 'split FEATURE THRESHOLD LEFT RIGHT' (children after the node, "
				    "below %zu)", nn);
			}
		}
		est_kind_flatten(K);
	}
	if (ln != nl) {
		ln++;
		BAD("unexpected line after the last kind");
	}
#undef NEXT
#undef BAD
out:
	asim_free(lines);
	asim_free(buf);
	if (rc)
		est_model_fini(m);
	return rc;
}
