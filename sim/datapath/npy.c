/*
 * npy.c -- strict .npy reading and atomic writing (see npy.h).
 *
 * The header dictionary is parsed by a small hand-written scanner over exactly the grammar
 * NumPy writes: '{', then three "'key': value" items separated by ',' (a trailing ',' allowed),
 * then '}', then spaces and a final '\n'. Keys may come in any order but each exactly once.
 */
#include "sim/datapath/npy.h"

#include <stdio.h>
#include <string.h>

#include "sim/alloc.h"
#include "traces/outfile.h"

size_t dp_npy_itemsize(dp_npy_dtype t)
{
	switch (t) {
	case DP_NPY_F32: return 4;
	case DP_NPY_F64: return 8;
	case DP_NPY_U8: return 1;
	case DP_NPY_I32: return 4;
	case DP_NPY_I64: return 8;
	default: return 2;
	}
}

static const char *const descrs[] = {"<f4", "<f8", "|u1", "<u2", "<i4", "<i8"};

typedef struct scan {
	const char *p, *end, *base;
	const char *name;
	asim_err *e;
} scan;

static int fail(scan *s, const char *what)
{
	return asim_errorf(s->e, ASIM_ESYNTAX, "%s: malformed .npy header at byte %zu: %s", s->name,
	                   (size_t)(s->p - s->base), what);
}

static void skip_ws(scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t'))
		s->p++;
}

static int expect_ch(scan *s, char c, const char *what)
{
	skip_ws(s);
	if (s->p >= s->end || *s->p != c)
		return fail(s, what);
	s->p++;
	return ASIM_OK;
}

/* A quoted string ('...'), copied into out (at most n-1 chars). */
static int quoted(scan *s, char *out, size_t n)
{
	skip_ws(s);
	if (s->p >= s->end || *s->p != '\'')
		return fail(s, "expected a quoted string");
	s->p++;
	size_t i = 0;
	while (s->p < s->end && *s->p != '\'') {
		if (i + 1 >= n)
			return fail(s, "string too long");
		out[i++] = *s->p++;
	}
	if (s->p >= s->end)
		return fail(s, "unterminated string");
	s->p++;
	out[i] = '\0';
	return ASIM_OK;
}

int dp_npy_parse(const void *buf, size_t len, const char *name, dp_npy *out, asim_err *e)
{
	const unsigned char *b = buf;
	memset(out, 0, sizeof *out);
	if (len < 10 || memcmp(b, "\x93NUMPY", 6) != 0)
		return asim_errorf(e, ASIM_ESYNTAX, "%s: not a .npy file (bad magic)", name);
	unsigned major = b[6];
	size_t hlen, hstart;
	if (major == 1) {
		hlen = (size_t)b[8] | (size_t)b[9] << 8;
		hstart = 10;
	} else if (major == 2 || major == 3) {
		if (len < 12)
			return asim_errorf(e, ASIM_ESYNTAX, "%s: truncated .npy header", name);
		hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
		hstart = 12;
	} else {
		return asim_errorf(e, ASIM_EUNSUPPORTED, "%s: .npy format version %u.%u not supported",
		                   name, major, (unsigned)b[7]);
	}
	if (hlen > len - hstart)
		return asim_errorf(e, ASIM_ESYNTAX, "%s: .npy header length %zu exceeds the file (%zu "
		                   "bytes)", name, hlen, len);
	scan s = {(const char *)b + hstart, (const char *)b + hstart + hlen, (const char *)b, name, e};
	if (hlen == 0 || s.end[-1] != '\n')
		return fail(&s, "header does not end in a newline");
	s.end--;   /* drop the newline */
	int rc;
	if ((rc = expect_ch(&s, '{', "expected '{'")) != ASIM_OK)
		return rc;
	int have_descr = 0, have_fo = 0, have_shape = 0;
	for (;;) {
		skip_ws(&s);
		if (s.p < s.end && *s.p == '}')
			break;
		char key[32];
		if ((rc = quoted(&s, key, sizeof key)) != ASIM_OK)
			return rc;
		if ((rc = expect_ch(&s, ':', "expected ':'")) != ASIM_OK)
			return rc;
		if (strcmp(key, "descr") == 0 && !have_descr) {
			char d[16];
			if ((rc = quoted(&s, d, sizeof d)) != ASIM_OK)
				return rc;
			int found = -1;
			for (int i = 0; i < 6; i++)
				if (strcmp(d, descrs[i]) == 0)
					found = i;
			if (strcmp(d, "<u1") == 0)
				found = DP_NPY_U8;
			if (found < 0) {
				char esc[64];
				asim_escape(esc, sizeof esc, d);
				return asim_errorf(e, ASIM_EUNSUPPORTED, "%s: .npy dtype '%s' not supported "
				                   "(<f4, <f8, |u1, <u2, <i4, <i8)", name, esc);
			}
			out->dtype = (dp_npy_dtype)found;
			have_descr = 1;
		} else if (strcmp(key, "fortran_order") == 0 && !have_fo) {
			skip_ws(&s);
			if (s.end - s.p >= 5 && memcmp(s.p, "False", 5) == 0) {
				s.p += 5;
			} else if (s.end - s.p >= 4 && memcmp(s.p, "True", 4) == 0) {
				return asim_errorf(e, ASIM_EUNSUPPORTED, "%s: Fortran-order .npy arrays are "
				                   "not supported", name);
			} else {
				return fail(&s, "fortran_order must be False");
			}
			have_fo = 1;
		} else if (strcmp(key, "shape") == 0 && !have_shape) {
			if ((rc = expect_ch(&s, '(', "expected '(' for shape")) != ASIM_OK)
				return rc;
			out->ndim = 0;
			for (;;) {
				skip_ws(&s);
				if (s.p < s.end && *s.p == ')') {
					s.p++;
					break;
				}
				if (s.p >= s.end || *s.p < '0' || *s.p > '9')
					return fail(&s, "expected a dimension");
				size_t v = 0;
				while (s.p < s.end && *s.p >= '0' && *s.p <= '9') {
					if (v > (SIZE_MAX - 9) / 10)
						return fail(&s, "dimension too large");
					v = v * 10 + (size_t)(*s.p++ - '0');
				}
				if (out->ndim == DP_NPY_MAX_DIMS)
					return fail(&s, "too many dimensions");
				out->shape[out->ndim++] = v;
				skip_ws(&s);
				if (s.p < s.end && *s.p == ',') {
					s.p++;
					continue;
				}
				if (s.p < s.end && *s.p == ')') {
					if (out->ndim == 1)
						return fail(&s, "a 1-d shape needs a trailing comma");
					s.p++;
					break;
				}
				return fail(&s, "expected ',' or ')' in shape");
			}
			have_shape = 1;
		} else {
			char esc[64];
			asim_escape(esc, sizeof esc, key);
			return asim_errorf(e, ASIM_ESYNTAX, "%s: unexpected or repeated key '%s' in .npy "
			                   "header", name, esc);
		}
		skip_ws(&s);
		if (s.p < s.end && *s.p == ',') {
			s.p++;
			continue;
		}
		skip_ws(&s);
		if (s.p < s.end && *s.p == '}')
			break;
		return fail(&s, "expected ',' or '}'");
	}
	s.p++;   /* '}' */
	skip_ws(&s);
	if (s.p != s.end)
		return fail(&s, "garbage after the dictionary");
	if (!have_descr || !have_fo || !have_shape)
		return asim_errorf(e, ASIM_ESYNTAX, "%s: .npy header lacks %s", name,
		                   !have_descr ? "'descr'" : !have_fo ? "'fortran_order'" : "'shape'");
	size_t isz = dp_npy_itemsize(out->dtype), count = 1;
	for (size_t i = 0; i < out->ndim; i++) {
		if (out->shape[i] != 0 && count > DP_NPY_MAX_BYTES / isz / out->shape[i])
			return asim_errorf(e, ASIM_ERANGE, "%s: .npy array too large", name);
		count *= out->shape[i];
	}
	size_t payload = len - hstart - hlen;
	if (payload != count * isz)
		return asim_errorf(e, ASIM_ESYNTAX, "%s: .npy payload has %zu bytes, the header says "
		                   "%zu", name, payload, count * isz);
	out->count = count;
	out->data = asim_malloc(count * isz + 1);
	if (out->data == NULL)
		return asim_errorf(e, ASIM_ENOMEM, "%s: out of memory", name);
	const unsigned char *pl = b + hstart + hlen;
	for (size_t i = 0; i < count; i++) {   /* little-endian to native */
		uint64_t v = 0;
		for (size_t j = 0; j < isz; j++)
			v |= (uint64_t)pl[i * isz + j] << (8 * j);
		switch (isz) {
		case 1: ((uint8_t *)out->data)[i] = (uint8_t)v; break;
		case 2: ((uint16_t *)out->data)[i] = (uint16_t)v; break;
		case 4: { uint32_t w = (uint32_t)v; memcpy((char *)out->data + 4 * i, &w, 4); break; }
		default: memcpy((char *)out->data + 8 * i, &v, 8); break;
		}
	}
	return ASIM_OK;
}

int dp_npy_read(const char *path, dp_npy *out, asim_err *e)
{
	memset(out, 0, sizeof *out);
	FILE *fp = fopen(path, "rb");
	if (fp == NULL)
		return asim_errorf(e, ASIM_ENOENT, "%s: cannot open", path);
	size_t cap = 0, len = 0;
	unsigned char *buf = NULL;
	for (;;) {
		if (len == cap) {
			if (cap >= DP_NPY_MAX_BYTES + 4096) {
				asim_free(buf);
				fclose(fp);
				return asim_errorf(e, ASIM_ERANGE, "%s: file too large", path);
			}
			size_t nc = cap ? cap * 2 : 65536;
			unsigned char *nb = asim_realloc(buf, nc);
			if (nb == NULL) {
				asim_free(buf);
				fclose(fp);
				return asim_errorf(e, ASIM_ENOMEM, "%s: out of memory", path);
			}
			buf = nb;
			cap = nc;
		}
		size_t got = fread(buf + len, 1, cap - len, fp);
		len += got;
		if (got == 0)
			break;
	}
	int err = ferror(fp);
	fclose(fp);
	if (err) {
		asim_free(buf);
		return asim_errorf(e, ASIM_EIO, "%s: read error", path);
	}
	int rc = dp_npy_parse(buf, len, path, out, e);
	asim_free(buf);
	return rc;
}

int dp_npy_write(const char *path, dp_npy_dtype t, const size_t *shape, size_t ndim,
                 const void *data, asim_err *e)
{
	if (ndim > DP_NPY_MAX_DIMS)
		return asim_errorf(e, ASIM_ERANGE, "%s: too many dimensions", path);
	char dict[512];
	int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (",
	                 descrs[t]);
	size_t count = 1;
	for (size_t i = 0; i < ndim; i++) {
		n += snprintf(dict + n, sizeof dict - (size_t)n, "%zu%s", shape[i],
		              (ndim == 1 || i + 1 < ndim) ? ", " : "");
		count *= shape[i];
	}
	if (ndim == 1)
		n -= 1;   /* "(5, " -> "(5," */
	n += snprintf(dict + n, sizeof dict - (size_t)n, "), }");
	size_t total = 10 + (size_t)n + 1;
	size_t pad = (64 - total % 64) % 64;
	size_t hlen = (size_t)n + pad + 1;
	unsigned char head[600];
	memcpy(head, "\x93NUMPY\x01\x00", 8);
	head[8] = (unsigned char)(hlen & 0xff);
	head[9] = (unsigned char)(hlen >> 8);
	memcpy(head + 10, dict, (size_t)n);
	memset(head + 10 + n, ' ', pad);
	head[10 + (size_t)n + pad] = '\n';
	outfile f;
	int rc = outfile_open(&f, path, e);
	if (rc != ASIM_OK)
		return rc;
	outfile_write(&f, head, 10 + hlen);
	size_t isz = dp_npy_itemsize(t);
	const unsigned char *d = data;
	unsigned char tmp[4096];
	size_t k = 0;
	for (size_t i = 0; i < count; i++) {
		uint64_t v = 0;
		switch (isz) {
		case 1: v = d[i]; break;
		case 2: { uint16_t w; memcpy(&w, d + 2 * i, 2); v = w; break; }
		case 4: { uint32_t w; memcpy(&w, d + 4 * i, 4); v = w; break; }
		default: memcpy(&v, d + 8 * i, 8); break;
		}
		for (size_t j = 0; j < isz; j++)
			tmp[k++] = (unsigned char)(v >> (8 * j));
		if (k + 8 > sizeof tmp) {
			outfile_write(&f, tmp, k);
			k = 0;
		}
	}
	outfile_write(&f, tmp, k);
	return outfile_commit(&f, e);
}

void dp_npy_free(dp_npy *a)
{
	asim_free(a->data);
	a->data = NULL;
}
