/*
 * sweep_spec.c -- sweep specs: load and check, enumerate samples in their stable order, render a
 * sample's graph YAML from the template. The format is documented in docs/datasets.md.
 *
 * Loading is one pass over the YAML tree (sim/yamldoc.h) with positioned errors; every expression
 * is parsed here, once, with names resolved to axis indices. Enumeration (sweep_iter) is an
 * odometer over nested loops: level L holds the value list of axis L generated for the current
 * values of axes 0..L-1, and a constraint is checked at the deepest axis it reads, so a failing
 * constraint prunes the whole subtree below it. Memory is O(sum of list lengths), never
 * O(samples): a sweep of millions of samples is enumerated as a stream.
 *
 * Random axes draw from Philox4x32-10 (sim/datapath/philox.h) with key = the sweep seed and
 * stream = FNV-1a of the axis name; draw k uses words 2k and 2k+1 (64 bits, top 53 used). The
 * values therefore depend only on (seed, axis name, k): not on threads, shards or other axes.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/alloc.h"
#include "sim/datapath/philox.h"
#include "sim/fileio.h"
#include "sim/sweep_int.h"

#define SWEEP_MAX_LIST 10000000u   /* values one axis may generate */
#define SWEEP_MAX_AXES 64

/* ---- small helpers ---------------------------------------------------------------------------- */

static uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}
#define FNV_OFFSET 0xcbf29ce484222325ull

static uint64_t splitmix_fin(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

int sweep_buf_put(sweep_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = asim_realloc(b->p, cap);
		if (p == NULL)
			return ASIM_ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

int sweep_buf_printf(sweep_buf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0)
		return ASIM_EINTERNAL;
	if ((size_t)n < sizeof tmp)
		return sweep_buf_put(b, tmp, (size_t)n);
	if (sweep_buf_put(b, "", 0) != 0 || b->len + (size_t)n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + (size_t)n + 1)
			cap *= 2;
		char *p = asim_realloc(b->p, cap);
		if (p == NULL)
			return ASIM_ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void sweep_buf_fini(sweep_buf *b)
{
	asim_free(b->p);
	memset(b, 0, sizeof *b);
}

static int spec_err(const sweep_spec *sp, const yd_node *n, asim_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static int spec_err(const sweep_spec *sp, const yd_node *n, asim_err *e, int code, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return yd_error(&sp->doc, n, e, code, "%s", msg);
}

/* ---- expressions inside YAML scalars ---------------------------------------------------------- */

typedef struct resolver {
	const sweep_spec *sp;
	uint32_t n;                    /* axes known so far (the parser refuses indices >= n) */
} resolver;

/* An axis name → its index among ALL the spec's axes (so a later axis is reported as "not known
 * here" rather than as unknown). */
static int resolve_axis(void *ud, const char *name, size_t len)
{
	const resolver *r = ud;
	const yd_node *axes = r->sp->doc.root ? yd_get(r->sp->doc.root, "axes") : NULL;
	if (axes == NULL || axes->kind != YD_MAP)
		return -1;
	for (size_t i = 0; i < axes->len; i++) {
		const yd_node *k = yd_key(axes, i);
		if (k->len == len && memcmp(k->str, name, len) == 0)
			return (int)i;
	}
	return -1;
}

/* The column of the first character of a scalar's text (after an opening quote). */
static unsigned long text_col(const yd_node *n) { return n->col + (n->plain ? 0 : 1); }

/* Parse a scalar node's whole text as an expression; "${...}" and "$name" wrappers are accepted. */
static int node_expr(sweep_spec *sp, const yd_node *n, uint32_t max_var, sweep_expr *x, asim_err *e)
{
	if (n->kind != YD_SCALAR)
		return spec_err(sp, n, e, ASIM_ESCHEMA, "expected a number or an expression, not a %s",
		                yd_kind_name(n->kind));
	const char *s = n->str;
	size_t len = n->len, off = 0;
	if (len >= 3 && s[0] == '$' && s[1] == '{' && s[len - 1] == '}') {
		off = 2;
		len -= 3;
	} else if (len >= 2 && s[0] == '$') {
		off = 1;
		len -= 1;
	}
	resolver r = {sp, max_var};
	return sweep_expr_parse(x, sp->file, n->line, text_col(n) + off, s + off, len, resolve_axis, &r,
	                        (int32_t)max_var, e);
}

static int is_int_text(const char *s)
{
	if (*s == '-' || *s == '+')
		s++;
	if (!isdigit((unsigned char)*s))
		return 0;
	while (isdigit((unsigned char)*s))
		s++;
	return *s == '\0';
}

/* A list item: "${expr}" / "$name" → expression; a plain integer or decimal → number; else a
 * string. */
static int parse_item(sweep_spec *sp, const yd_node *n, uint32_t max_var, sweep_item *it, asim_err *e)
{
	memset(it, 0, sizeof *it);
	it->x.level = -1;
	if (n->kind != YD_SCALAR)
		return spec_err(sp, n, e, ASIM_ESCHEMA, "an axis value is a scalar, not a %s",
		                yd_kind_name(n->kind));
	if (strchr(n->str, '$') != NULL) {
		it->is_expr = 1;
		return node_expr(sp, n, max_var, &it->x, e);
	}
	if (n->plain && is_int_text(n->str)) {
		errno = 0;
		long long v = strtoll(n->str, NULL, 10);
		if (errno == ERANGE)
			return spec_err(sp, n, e, ASIM_ERANGE, "integer '%s' does not fit in 64 bits", n->str);
		it->lit.t = SWEEP_INT;
		it->lit.i = v;
		return 0;
	}
	if (n->plain && n->len > 0) {
		char *end;
		errno = 0;
		double d = strtod(n->str, &end);
		if (*end == '\0' && (isdigit((unsigned char)n->str[0]) || n->str[0] == '-' || n->str[0] == '.' ||
		                     n->str[0] == '+')) {
			if (errno == ERANGE || !isfinite(d))
				return spec_err(sp, n, e, ASIM_ERANGE, "number '%s' out of range", n->str);
			it->lit.t = SWEEP_NUM;
			it->lit.d = d;
			return 0;
		}
	}
	if (n->len == 0 || memchr(n->str, '\n', n->len) != NULL)
		return spec_err(sp, n, e, ASIM_ESCHEMA, "an axis value is a number or a one-line, non-empty string");
	it->lit.t = SWEEP_STR;
	it->lit.s = n->str;
	return 0;
}

static void items_free(sweep_item *it, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (it[i].is_expr)
			sweep_expr_fini(&it[i].x);
	asim_free(it);
}

/* ---- axes ------------------------------------------------------------------------------------- */

static const char *const keywords[] = {"and", "or", "not", "divides", "min", "max", "pf", "rows"};

static int check_axis_name(sweep_spec *sp, const yd_node *k, asim_err *e)
{
	const char *s = k->str;
	if (strncmp(s, "chip.", 5) == 0) {
		if (s[5] == '\0')
			return spec_err(sp, k, e, ASIM_ESCHEMA, "a chip axis names a parameter: chip.pe_array.cols, ...");
		return 0;
	}
	int ok = k->len > 0 && k->len <= 64 && (isalpha((unsigned char)s[0]) || s[0] == '_');
	for (size_t i = 0; ok && i < k->len; i++)
		ok = isalnum((unsigned char)s[i]) || s[i] == '_';
	char esc[160];
	asim_escape(esc, sizeof esc, s);
	if (!ok)
		return spec_err(sp, k, e, ASIM_ESCHEMA,
		                "axis name '%s' must be 1 to 64 characters from A-Z a-z 0-9 _, not starting with a "
		                "digit (or chip.<parameter> for a chip axis)", esc);
	for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
		if (strcmp(s, keywords[i]) == 0)
			return spec_err(sp, k, e, ASIM_ESCHEMA, "'%s' is a word of the expression language and cannot "
			                "name an axis", esc);
	return 0;
}

static int parse_bounds(sweep_spec *sp, sweep_axis *ax, const yd_node *seq, const char *what, uint32_t idx,
                        asim_err *e)
{
	if (seq->kind != YD_SEQ || seq->len != 2)
		return spec_err(sp, seq, e, ASIM_ESCHEMA, "%s takes [from, to]", what);
	ax->items = asim_calloc(3, sizeof *ax->items);
	if (ax->items == NULL)
		return asim_errorf(e, ASIM_ENOMEM, "out of memory");
	ax->n_items = 3;
	for (int i = 0; i < 2; i++) {
		ax->items[i].is_expr = 1;
		int rc = node_expr(sp, yd_item(seq, (size_t)i), idx, &ax->items[i].x, e);
		if (rc)
			return rc;
	}
	return 0;
}

static int parse_count(sweep_spec *sp, const yd_node *m, const char *what, uint64_t *n, asim_err *e)
{
	const yd_node *v;
	int rc = yd_require(&sp->doc, m, "n", what, &v, e);
	if (rc == 0)
		rc = yd_u64(&sp->doc, v, "n", 1, SWEEP_MAX_LIST, n, e);
	return rc;
}

static int parse_axis(sweep_spec *sp, uint32_t idx, const yd_node *k, const yd_node *v, asim_err *e)
{
	sweep_axis *ax = &sp->axes[idx];
	int rc = check_axis_name(sp, k, e);
	if (rc)
		return rc;
	ax->name = k->str;
	ax->node = v;
	ax->stream = fnv1a(FNV_OFFSET, k->str, k->len);
	if (strncmp(k->str, "chip.", 5) == 0)
		ax->chip_key = k->str + 5;
	char what[200], esc[128];
	asim_escape(esc, sizeof esc, k->str);
	snprintf(what, sizeof what, "axis '%s'", esc);
	const yd_node *list = NULL;
	if (v->kind == YD_SEQ) {
		list = v;
	} else if (v->kind == YD_MAP) {
		static const char *const kinds[] = {"values", "range", "log", "uniform", "log_uniform", "pf"};
		static const char *const allowed[] = {"values", "range", "log", "uniform", "log_uniform", "pf",
		                                      "step", "n", "offsets"};
		if ((rc = yd_check_keys(&sp->doc, v, allowed, 9, what, e)) != 0)
			return rc;
		int which = -1;
		const yd_node *kv = NULL;
		for (int i = 0; i < 6; i++) {
			const yd_node *x = yd_get(v, kinds[i]);
			if (x == NULL)
				continue;
			if (which >= 0)
				return spec_err(sp, x, e, ASIM_ESCHEMA, "%s has both '%s' and '%s': one kind of values per axis",
				                what, kinds[which], kinds[i]);
			which = i;
			kv = x;
		}
		if (which < 0)
			return spec_err(sp, v, e, ASIM_ESCHEMA, "%s needs one of values, range, log, uniform, "
			                "log_uniform, pf", what);
		const yd_node *step = yd_get(v, "step"), *n = yd_get(v, "n"), *offs = yd_get(v, "offsets");
		if (step && which != 1)
			return spec_err(sp, step, e, ASIM_ESCHEMA, "'step' belongs to a range axis");
		if (n && (which < 2 || which > 4))
			return spec_err(sp, n, e, ASIM_ESCHEMA, "'n' belongs to log, uniform and log_uniform axes");
		if (offs && which != 5)
			return spec_err(sp, offs, e, ASIM_ESCHEMA, "'offsets' belongs to a pf axis");
		switch (which) {
		case 0:
			list = kv;
			break;
		case 1:
			ax->gen = SWEEP_GEN_RANGE;
			if ((rc = parse_bounds(sp, ax, kv, "range", idx, e)) != 0)
				return rc;
			ax->items[2].is_expr = !!step;
			ax->items[2].lit.t = SWEEP_INT;
			ax->items[2].lit.i = 1;
			if (step && (rc = node_expr(sp, step, idx, &ax->items[2].x, e)) != 0)
				return rc;
			return 0;
		case 2: case 3: case 4:
			ax->gen = which == 2 ? SWEEP_GEN_LOG : which == 3 ? SWEEP_GEN_UNIFORM : SWEEP_GEN_LOG_UNIFORM;
			if ((rc = parse_bounds(sp, ax, kv, kinds[which], idx, e)) != 0)
				return rc;
			return parse_count(sp, v, what, &ax->n, e);
		case 5: {
			ax->gen = SWEEP_GEN_PF;
			if (kv->kind != YD_SEQ || kv->len == 0)
				return spec_err(sp, kv, e, ASIM_ESCHEMA, "pf takes a non-empty list of multiples k (values k*pf + offset)");
			if (offs != NULL && (offs->kind != YD_SEQ || offs->len == 0))
				return spec_err(sp, offs, e, ASIM_ESCHEMA, "offsets takes a non-empty list of integers");
			size_t no = offs ? offs->len : 1;
			ax->items = asim_calloc(kv->len, sizeof *ax->items);
			ax->items2 = asim_calloc(no, sizeof *ax->items2);
			if (ax->items == NULL || ax->items2 == NULL)
				return asim_errorf(e, ASIM_ENOMEM, "out of memory");
			for (size_t i = 0; i < kv->len; i++, ax->n_items++)
				if ((rc = parse_item(sp, yd_item(kv, i), idx, &ax->items[i], e)) != 0)
					return rc;
			if (offs == NULL) {
				ax->items2[0].lit.t = SWEEP_INT;
				ax->n_items2 = 1;
			}
			for (size_t i = 0; offs && i < offs->len; i++, ax->n_items2++)
				if ((rc = parse_item(sp, yd_item(offs, i), idx, &ax->items2[i], e)) != 0)
					return rc;
			if (sp->pf_axis < 0 && sp->n_axes > 0) {
				/* pf comes from the base chip unless a chip axis before this one sets it */
			}
			return 0;
		}
		}
	} else {
		return spec_err(sp, v, e, ASIM_ESCHEMA, "%s takes a list of values or a mapping (range, log, "
		                "uniform, log_uniform, pf, values)", what);
	}
	if (list->kind != YD_SEQ)
		return spec_err(sp, list, e, ASIM_ESCHEMA, "values takes a list");
	if (list->len == 0)
		return spec_err(sp, list, e, ASIM_ESCHEMA, "%s has no values", what);
	ax->gen = SWEEP_GEN_LIST;
	ax->items = asim_calloc(list->len, sizeof *ax->items);
	if (ax->items == NULL)
		return asim_errorf(e, ASIM_ENOMEM, "out of memory");
	for (size_t i = 0; i < list->len; i++, ax->n_items++)
		if ((rc = parse_item(sp, yd_item(list, i), idx, &ax->items[i], e)) != 0)
			return rc;
	/* literal chip values are checked now, so a typo fails before any simulation */
	if (ax->chip_key != NULL) {
		for (size_t i = 0; i < ax->n_items; i++) {
			if (ax->items[i].is_expr)
				continue;
			chip tmp;
			if (chip_copy(&tmp, &sp->base) != 0)
				return asim_errorf(e, ASIM_ENOMEM, "out of memory");
			char val[64];
			sweep_val_format(&ax->items[i].lit, val, sizeof val);
			if (ax->items[i].lit.t == SWEEP_STR)
				snprintf(val, sizeof val, "%s", ax->items[i].lit.s);
			asim_err local;
			asim_err_init(&local);
			rc = chip_set_param(&tmp, ax->chip_key, val, &local);
			chip_fini(&tmp);
			if (rc)
				return spec_err(sp, strncmp(local.msg, "unknown chip parameter", 22) == 0 ? k : yd_item(list, i),
				                e, rc, "%s", local.msg);
		}
	}
	return 0;
}

/* ---- the template ------------------------------------------------------------------------------ */

typedef struct tbuild {
	sweep_spec *sp;
	sweep_buf text;            /* all static text */
	sweep_piece *pieces;       /* text pieces hold offsets into `text` until the end */
	size_t n, cap;
	sweep_pos *lines;
	size_t n_lines, lcap;
	sweep_pos cur;
	asim_err *e;
} tbuild;

static int tb_piece(tbuild *b, size_t off, size_t len, int32_t expr, int quoted)
{
	if (len == 0 && expr < 0)
		return 0;
	if (expr < 0 && b->n > 0 && b->pieces[b->n - 1].expr < 0 &&
	    (size_t)b->pieces[b->n - 1].text + b->pieces[b->n - 1].len == off) {
		b->pieces[b->n - 1].len += len;   /* extend the previous text piece */
		return 0;
	}
	if (asim_grow((void **)&b->pieces, &b->cap, b->n + 1, sizeof *b->pieces) != 0)
		return ASIM_ENOMEM;
	b->pieces[b->n++] = (sweep_piece){(const char *)(uintptr_t)off, len, expr, (uint8_t)quoted};
	return 0;
}

static int tb_text(tbuild *b, const char *s, size_t n)
{
	size_t off = b->text.len;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\n') {
			if (asim_grow((void **)&b->lines, &b->lcap, b->n_lines + 2, sizeof *b->lines) != 0)
				return ASIM_ENOMEM;
			b->lines[++b->n_lines] = b->cur;   /* line numbers are 1-based: lines[0] unused */
		}
	if (sweep_buf_put(&b->text, s, n) != 0)
		return ASIM_ENOMEM;
	return tb_piece(b, off, n, -1, 0);
}

static int tb_str(tbuild *b, const char *s) { return tb_text(b, s, strlen(s)); }

static int plain_safe(const char *s, size_t n)
{
	if (n == 0 || n > 256)
		return 0;
	if (!(isalnum((unsigned char)s[0]) || s[0] == '_' || s[0] == '.' || s[0] == '/'))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || strchr("_.-/:+", s[i]) != NULL))
			return 0;
	return 1;
}

/* Double-quoted YAML escaping of s into b (without the quotes). */
static int put_escaped(sweep_buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char tmp[8];
		int rc;
		if (c == '"' || c == '\\') {
			tmp[0] = '\\';
			tmp[1] = (char)c;
			rc = sweep_buf_put(b, tmp, 2);
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(tmp, sizeof tmp, "\\x%02x", c);
			rc = sweep_buf_put(b, tmp, 4);
		} else {
			rc = sweep_buf_put(b, (const char *)&c, 1);
		}
		if (rc)
			return rc;
	}
	return 0;
}

static int tb_quoted(tbuild *b, const char *s, size_t n)
{
	sweep_buf tmp = {0};
	int rc = sweep_buf_put(&tmp, "\"", 1);
	if (rc == 0)
		rc = put_escaped(&tmp, s, n);
	if (rc == 0)
		rc = sweep_buf_put(&tmp, "\"", 1);
	if (rc == 0)
		rc = tb_text(b, tmp.p, tmp.len);
	sweep_buf_fini(&tmp);
	return rc;
}

static int tb_expr(tbuild *b, const yd_node *n, size_t off, size_t len, int quoted)
{
	sweep_spec *sp = b->sp;
	if (asim_grow((void **)&sp->tpl_exprs, &(size_t){sp->n_tpl_exprs}, sp->n_tpl_exprs + 1,
	              sizeof *sp->tpl_exprs) != 0)
		return asim_errorf(b->e, ASIM_ENOMEM, "out of memory");
	resolver r = {sp, sp->n_axes};
	sweep_expr *x = &sp->tpl_exprs[sp->n_tpl_exprs];
	int rc = sweep_expr_parse(x, sp->file, n->line, text_col(n) + off, n->str + off, len, resolve_axis, &r,
	                          (int32_t)sp->n_axes, b->e);
	if (rc)
		return rc;
	sp->n_tpl_exprs++;
	if (tb_piece(b, b->text.len, 0, (int32_t)(sp->n_tpl_exprs - 1), quoted) != 0)
		return asim_errorf(b->e, ASIM_ENOMEM, "out of memory");
	return 0;
}

/* A scalar: as written, or with ${expr} / $name substituted. */
static int tb_scalar(tbuild *b, const yd_node *n)
{
	const char *s = n->str;
	size_t len = n->len;
	b->cur = (sweep_pos){n->line, n->col};
	if (memchr(s, '$', len) == NULL) {
		if (n->plain && memchr(s, '\n', len) == NULL && len > 0)
			return tb_text(b, s, len) ? asim_errorf(b->e, ASIM_ENOMEM, "out of memory") : 0;
		return tb_quoted(b, s, len) ? asim_errorf(b->e, ASIM_ENOMEM, "out of memory") : 0;
	}
	/* the whole scalar one expression: the value goes in raw */
	if (len >= 3 && s[0] == '$' && s[1] == '{' && memchr(s, '}', len) == s + len - 1)
		return tb_expr(b, n, 2, len - 3, 0);
	size_t nl = 1;
	while (nl < len && (isalnum((unsigned char)s[nl]) || s[nl] == '_' || s[nl] == '.'))
		nl++;
	while (nl > 1 && s[nl - 1] == '.')
		nl--;
	if (s[0] == '$' && nl == len && len > 1 && (isalpha((unsigned char)s[1]) || s[1] == '_'))
		return tb_expr(b, n, 1, len - 1, 0);
	/* interpolation into a quoted string */
	int rc = tb_str(b, "\"");
	size_t i = 0;
	while (rc == 0 && i < len) {
		size_t j = i;
		while (j < len && s[j] != '$')
			j++;
		if (j > i) {
			sweep_buf tmp = {0};
			rc = put_escaped(&tmp, s + i, j - i);
			if (rc == 0 && tmp.len)
				rc = tb_text(b, tmp.p, tmp.len);
			sweep_buf_fini(&tmp);
			if (rc)
				return asim_errorf(b->e, ASIM_ENOMEM, "out of memory");
		}
		if (j >= len)
			break;
		if (j + 1 < len && s[j + 1] == '$') {        /* $$ is a literal $ */
			rc = tb_str(b, "$");
			i = j + 2;
		} else if (j + 1 < len && s[j + 1] == '{') {
			const char *close = memchr(s + j, '}', len - j);
			if (close == NULL)
				return asim_error_at(b->e, ASIM_ESYNTAX, b->sp->file, n->line, text_col(n) + j,
				                     "'${' without a closing '}'");
			size_t end = (size_t)(close - s);
			if ((rc = tb_expr(b, n, j + 2, end - j - 2, 1)) != 0)
				return rc;
			i = end + 1;
		} else if (j + 1 < len && (isalpha((unsigned char)s[j + 1]) || s[j + 1] == '_')) {
			size_t k = j + 1;
			while (k < len && (isalnum((unsigned char)s[k]) || s[k] == '_' || s[k] == '.'))
				k++;
			while (s[k - 1] == '.')
				k--;
			if ((rc = tb_expr(b, n, j + 1, k - j - 1, 1)) != 0)
				return rc;
			i = k;
		} else {
			rc = tb_str(b, "$");
			i = j + 1;
		}
	}
	if (rc == 0)
		rc = tb_str(b, "\"");
	return rc > 0 ? 0 : rc == ASIM_ENOMEM ? asim_errorf(b->e, ASIM_ENOMEM, "out of memory") : rc;
}

static int tb_node(tbuild *b, const yd_node *n, int indent);

static int tb_indent(tbuild *b, int indent)
{
	static const char sp64[] = "                                                                ";
	return tb_text(b, sp64, (size_t)(indent < 64 ? indent : 64));
}

static int tb_value(tbuild *b, const yd_node *v, const yd_node *at, int indent)
{
	int rc;
	if (v->kind == YD_SCALAR) {
		if ((rc = tb_str(b, " ")) != 0 || (rc = tb_scalar(b, v)) != 0)
			return rc;
		return tb_str(b, "\n");
	}
	b->cur = (sweep_pos){at->line, at->col};
	if (v->len == 0)
		return tb_str(b, v->kind == YD_SEQ ? " []\n" : " {}\n");
	if ((rc = tb_str(b, "\n")) != 0)
		return rc;
	return tb_node(b, v, indent + 2);
}

static int tb_node(tbuild *b, const yd_node *n, int indent)
{
	int rc = 0;
	if (n->kind == YD_MAP) {
		for (size_t i = 0; i < n->len && rc == 0; i++) {
			const yd_node *k = yd_key(n, i), *v = yd_val(n, i);
			b->cur = (sweep_pos){k->line, k->col};
			if ((rc = tb_indent(b, indent)) != 0)
				break;
			rc = plain_safe(k->str, k->len) ? tb_text(b, k->str, k->len) : tb_quoted(b, k->str, k->len);
			if (rc == 0)
				rc = tb_str(b, ":");
			if (rc == 0)
				rc = tb_value(b, v, k, indent);
		}
	} else if (n->kind == YD_SEQ) {
		for (size_t i = 0; i < n->len && rc == 0; i++) {
			const yd_node *v = yd_item(n, i);
			b->cur = (sweep_pos){v->line, v->col};
			if ((rc = tb_indent(b, indent)) == 0 && (rc = tb_str(b, "-")) == 0)
				rc = tb_value(b, v, v, indent);
		}
	} else {
		rc = tb_scalar(b, n);
	}
	return rc;
}

static int compile_template(sweep_spec *sp, const yd_node *t, asim_err *e)
{
	int rc;
	if ((rc = yd_expect(&sp->doc, t, YD_MAP, "template", e)) != 0)
		return rc;
	static const char *const set_here[] = {"accelsim", "name"};
	for (size_t i = 0; i < 2; i++) {
		const yd_node *k = NULL;
		for (size_t j = 0; j < t->len; j++)
			if (strcmp(yd_key(t, j)->str, set_here[i]) == 0)
				k = yd_key(t, j);
		if (k != NULL)
			return spec_err(sp, k, e, ASIM_ESCHEMA, "the template's '%s' is set by the sweep (the spec's "
			                "'accelsim' and 'name')", set_here[i]);
	}
	tbuild b = {.sp = sp, .e = e, .cur = {t->line, t->col}};
	if (asim_grow((void **)&b.lines, &b.lcap, 2, sizeof *b.lines) != 0)
		return asim_errorf(e, ASIM_ENOMEM, "out of memory");
	rc = tb_str(&b, "accelsim: 1\nname: ");
	if (rc == 0)
		rc = tb_str(&b, sp->name);
	if (rc == 0)
		rc = tb_str(&b, "\n");
	if (rc)
		rc = asim_errorf(e, ASIM_ENOMEM, "out of memory");
	if (rc == 0)
		rc = tb_node(&b, t, 0);
	if (rc == ASIM_ENOMEM && e->code == 0)
		rc = asim_errorf(e, ASIM_ENOMEM, "out of memory");
	if (rc == 0) {
		for (size_t i = 0; i < b.n; i++)
			if (b.pieces[i].expr < 0)
				b.pieces[i].text = b.text.p + (uintptr_t)b.pieces[i].text;
		sp->tpl_text = b.text.p;
		sp->pieces = b.pieces;
		sp->n_pieces = b.n;
		sp->line_map = b.lines;
		sp->n_lines = b.n_lines;
		return 0;
	}
	sweep_buf_fini(&b.text);
	asim_free(b.pieces);
	asim_free(b.lines);
	return rc;
}

/* ---- load --------------------------------------------------------------------------------------- */

static const char *const top_keys[] = {"accelsim", "name", "description", "chip", "seed", "target",
                                       "axes", "constraints", "template"};

int sweep_spec_load(sweep_spec **out, const char *path, const char *chip_override, int have_seed,
                    uint64_t seed_override, asim_err *e)
{
	*out = NULL;
	sweep_spec *sp = asim_calloc(1, sizeof *sp);
	if (sp == NULL)
		return asim_errorf(e, ASIM_ENOMEM, "out of memory");
	sp->pf_axis = sp->rows_axis = -1;
	int rc = 0;
	const yd_node *root, *v;
	if ((sp->file = asim_strdup(path)) == NULL) {
		rc = asim_errorf(e, ASIM_ENOMEM, "out of memory");
		goto fail;
	}
	if ((rc = asim_read_file(path, &sp->bytes, &sp->n_bytes, e)) != 0)
		goto fail;
	if ((rc = yd_load_buffer(&sp->doc, path, sp->bytes, sp->n_bytes, e)) != 0)
		goto fail;
	root = sp->doc.root;
	if ((rc = yd_expect(&sp->doc, root, YD_MAP, "sweep spec", e)) != 0 ||
	    (rc = yd_check_keys(&sp->doc, root, top_keys, sizeof top_keys / sizeof top_keys[0], "sweep spec",
	                        e)) != 0)
		goto fail;
	uint64_t ver;
	if ((rc = yd_require(&sp->doc, root, "accelsim", "sweep spec", &v, e)) != 0 ||
	    (rc = yd_u64(&sp->doc, v, "accelsim", 0, UINT64_MAX, &ver, e)) != 0)
		goto fail;
	if (ver != 1) {
		rc = spec_err(sp, v, e, ASIM_EUNSUPPORTED, "sweep spec version %" PRIu64 " is not supported "
		              "(this accelsim reads version 1)", ver);
		goto fail;
	}
	/* name: a graph name; default the file's base name without .yaml */
	if ((v = yd_get(root, "name")) != NULL) {
		const char *s;
		if ((rc = yd_str(&sp->doc, v, "name", &s, e)) != 0)
			goto fail;
		if (!plain_safe(s, strlen(s)) || strchr(s, '+') != NULL) {
			rc = spec_err(sp, v, e, ASIM_ESCHEMA, "name must be 1 to 256 characters from A-Z a-z 0-9 _ . - / :");
			goto fail;
		}
		sp->name = asim_strdup(s);
	} else {
		const char *base = strrchr(path, '/');
		base = base ? base + 1 : path;
		size_t n = strlen(base);
		if (n > 5 && strcmp(base + n - 5, ".yaml") == 0)
			n -= 5;
		sp->name = asim_strndup(base, n);
		for (size_t i = 0; sp->name && sp->name[i]; i++)
			if (!(isalnum((unsigned char)sp->name[i]) || strchr("_.-", sp->name[i])))
				sp->name[i] = '_';
		if (sp->name && (sp->name[0] == '\0' || sp->name[0] == '-' || sp->name[0] == '.')) {
			asim_free(sp->name);
			sp->name = asim_strdup("sweep");
		}
	}
	if (sp->name == NULL) {
		rc = asim_errorf(e, ASIM_ENOMEM, "out of memory");
		goto fail;
	}
	if ((v = yd_get(root, "description")) != NULL) {
		const char *s;
		if ((rc = yd_str(&sp->doc, v, "description", &s, e)) != 0)
			goto fail;
	}
	/* the chip: --chip, else the spec's, else the default */
	{
		const char *spec_chip = NULL;
		if ((v = yd_get(root, "chip")) != NULL && (rc = yd_str(&sp->doc, v, "chip", &spec_chip, e)) != 0)
			goto fail;
		const char *which = chip_override ? chip_override : spec_chip;
		asim_err local;
		asim_err_init(&local);
		rc = which ? chip_load(&sp->base, which, &local) : chip_load_default(&sp->base, &local);
		if (rc) {
			if (chip_override == NULL && v != NULL && strchr(local.msg, ':') == local.msg + strlen(which))
				rc = spec_err(sp, v, e, rc, "%s", local.msg);
			else
				*e = local;
			goto fail;
		}
	}
	sp->seed = 0;
	if ((v = yd_get(root, "seed")) != NULL && (rc = yd_u64(&sp->doc, v, "seed", 0, UINT64_MAX, &sp->seed, e)) != 0)
		goto fail;
	if (have_seed)
		sp->seed = seed_override;
	if ((v = yd_get(root, "target")) != NULL) {
		if ((rc = yd_str(&sp->doc, v, "target", &sp->target, e)) != 0)
			goto fail;
		sp->target_node = v;
	}
	/* axes, in order */
	if ((v = yd_get(root, "axes")) != NULL) {
		if ((rc = yd_expect(&sp->doc, v, YD_MAP, "axes", e)) != 0)
			goto fail;
		if (v->len > SWEEP_MAX_AXES) {
			rc = spec_err(sp, v, e, ASIM_ERANGE, "at most %d axes", SWEEP_MAX_AXES);
			goto fail;
		}
		sp->axes = asim_calloc(v->len ? v->len : 1, sizeof *sp->axes);
		if (sp->axes == NULL) {
			rc = asim_errorf(e, ASIM_ENOMEM, "out of memory");
			goto fail;
		}
		for (size_t i = 0; i < v->len; i++) {
			sp->n_axes = (uint32_t)i + 1;
			if ((rc = parse_axis(sp, (uint32_t)i, yd_key(v, i), yd_val(v, i), e)) != 0)
				goto fail;
			sweep_axis *ax = &sp->axes[i];
			/* pf / rows in this axis's own values must come from an axis before it */
			for (int pass = 0; pass < 2; pass++) {
				sweep_item *its = pass ? ax->items2 : ax->items;
				size_t nit = pass ? ax->n_items2 : ax->n_items;
				for (size_t j = 0; j < nit; j++) {
					unsigned uses = its[j].is_expr ? its[j].x.uses : 0;
					if (ax->gen == SWEEP_GEN_PF && pass == 0)
						uses |= SWEEP_USES_PF;
					if (ax->chip_key && uses) {
						rc = spec_err(sp, ax->node, e, ASIM_ESCHEMA, "a chip axis cannot use pf or rows");
						goto fail;
					}
				}
			}
			if (ax->chip_key && strcmp(ax->chip_key, "pe_array.cols") == 0)
				sp->pf_axis = (int32_t)i;
			if (ax->chip_key && strcmp(ax->chip_key, "pe_array.rows") == 0)
				sp->rows_axis = (int32_t)i;
		}
		/* an axis using pf before the chip axis that sets pe_array.cols would read the wrong pf */
		for (uint32_t i = 0; i < sp->n_axes; i++) {
			sweep_axis *ax = &sp->axes[i];
			unsigned uses = ax->gen == SWEEP_GEN_PF ? SWEEP_USES_PF : 0;
			for (size_t j = 0; j < ax->n_items; j++)
				uses |= ax->items[j].is_expr ? ax->items[j].x.uses : 0;
			for (size_t j = 0; j < ax->n_items2; j++)
				uses |= ax->items2[j].is_expr ? ax->items2[j].x.uses : 0;
			if (((uses & SWEEP_USES_PF) && sp->pf_axis > (int32_t)i) ||
			    ((uses & SWEEP_USES_ROWS) && sp->rows_axis > (int32_t)i)) {
				rc = spec_err(sp, ax->node, e, ASIM_ESCHEMA, "axis '%s' uses %s, which the later axis '%s' "
				              "sets: put that chip axis first", ax->name,
				              (uses & SWEEP_USES_PF) && sp->pf_axis > (int32_t)i ? "pf" : "rows",
				              sp->axes[(uses & SWEEP_USES_PF) && sp->pf_axis > (int32_t)i ? sp->pf_axis
				                                                                  : sp->rows_axis].name);
				goto fail;
			}
		}
	}
	/* constraints */
	if ((v = yd_get(root, "constraints")) != NULL) {
		if ((rc = yd_expect(&sp->doc, v, YD_SEQ, "constraints", e)) != 0)
			goto fail;
		sp->cons = asim_calloc(v->len ? v->len : 1, sizeof *sp->cons);
		if (sp->cons == NULL) {
			rc = asim_errorf(e, ASIM_ENOMEM, "out of memory");
			goto fail;
		}
		for (size_t i = 0; i < v->len; i++) {
			if ((rc = node_expr(sp, yd_item(v, i), sp->n_axes, &sp->cons[i], e)) != 0)
				goto fail;
			sp->n_cons = (uint32_t)i + 1;
			sweep_expr *x = &sp->cons[i];
			if ((x->uses & SWEEP_USES_PF) && sp->pf_axis > x->level)
				x->level = sp->pf_axis;
			if ((x->uses & SWEEP_USES_ROWS) && sp->rows_axis > x->level)
				x->level = sp->rows_axis;
		}
	}
	/* the template */
	if ((rc = yd_require(&sp->doc, root, "template", "sweep spec", &sp->template_node, e)) != 0 ||
	    (rc = compile_template(sp, sp->template_node, e)) != 0)
		goto fail;
	/* the sweep's identity */
	{
		uint64_t h = fnv1a(FNV_OFFSET, sp->bytes, sp->n_bytes);
		char tail[128];
		int n = snprintf(tail, sizeof tail, "\n%s\n%" PRIu64 "\n%s\nrows %d\n", sp->base.hash, sp->seed,
		                 PACKAGE_VERSION, SWEEP_ROW_FORMAT);
		h = fnv1a(h, tail, (size_t)n);
		snprintf(sp->hash, sizeof sp->hash, "%016" PRIx64, splitmix_fin(h));
	}
	*out = sp;
	return 0;
fail:
	sweep_spec_free(sp);
	return rc ? rc : ASIM_EINTERNAL;
}

void sweep_spec_free(sweep_spec *sp)
{
	if (sp == NULL)
		return;
	for (uint32_t i = 0; i < sp->n_axes; i++) {
		items_free(sp->axes[i].items, sp->axes[i].n_items);
		items_free(sp->axes[i].items2, sp->axes[i].n_items2);
	}
	/* an axis that failed half-way may hold items beyond n_items: parse_item leaves them empty */
	asim_free(sp->axes);
	for (uint32_t i = 0; i < sp->n_cons; i++)
		sweep_expr_fini(&sp->cons[i]);
	asim_free(sp->cons);
	for (uint32_t i = 0; i < sp->n_tpl_exprs; i++)
		sweep_expr_fini(&sp->tpl_exprs[i]);
	asim_free(sp->tpl_exprs);
	asim_free(sp->pieces);
	asim_free(sp->tpl_text);
	asim_free(sp->line_map);
	chip_fini(&sp->base);
	yd_free(&sp->doc);
	asim_free(sp->bytes);
	asim_free(sp->name);
	asim_free(sp->file);
	asim_free(sp);
}

uint32_t sweep_spec_n_axes(const sweep_spec *sp) { return sp->n_axes; }
const char *sweep_spec_axis_name(const sweep_spec *sp, uint32_t i) { return sp->axes[i].name; }
const chip *sweep_spec_base_chip(const sweep_spec *sp) { return &sp->base; }
uint64_t sweep_spec_seed(const sweep_spec *sp) { return sp->seed; }
const char *sweep_spec_hash(const sweep_spec *sp) { return sp->hash; }

/* ---- enumeration --------------------------------------------------------------------------------- */

typedef struct vlist {
	sweep_val *v;
	size_t n, cap, pos;
} vlist;

struct sweep_iter {
	const sweep_spec *sp;
	sweep_val *cur;
	vlist *lists;
	int64_t *pf, *rows;        /* built-ins after level L is assigned */
	int started, done;
};

static int vl_push(vlist *l, const sweep_val *v)
{
	if (l->n >= SWEEP_MAX_LIST)
		return ASIM_ERANGE;
	if (asim_grow((void **)&l->v, &l->cap, l->n + 1, sizeof *l->v) != 0)
		return ASIM_ENOMEM;
	l->v[l->n++] = *v;
	return 0;
}

static uint64_t val_hash(const sweep_val *v)
{
	uint64_t h = fnv1a(FNV_OFFSET, &v->t, sizeof v->t);
	if (v->t == SWEEP_INT)
		return fnv1a(h, &v->i, sizeof v->i);
	if (v->t == SWEEP_NUM) {
		double d = v->d == 0.0 ? 0.0 : v->d;
		return fnv1a(h, &d, sizeof d);
	}
	return fnv1a(h, v->s, strlen(v->s));
}

/* Keep the first occurrence of each value, in order. */
static int vl_dedupe(vlist *l)
{
	if (l->n < 2)
		return 0;
	size_t cap = 16;
	while (cap < 2 * l->n)
		cap *= 2;
	uint32_t *slot = asim_calloc(cap, sizeof *slot);   /* index + 1, 0 = empty */
	if (slot == NULL)
		return ASIM_ENOMEM;
	size_t w = 0;
	for (size_t i = 0; i < l->n; i++) {
		size_t h = (size_t)(val_hash(&l->v[i]) & (cap - 1));
		int dup = 0;
		while (slot[h] != 0) {
			if (sweep_val_equal(&l->v[slot[h] - 1], &l->v[i])) {
				dup = 1;
				break;
			}
			h = (h + 1) & (cap - 1);
		}
		if (dup)
			continue;
		l->v[w] = l->v[i];
		slot[h] = (uint32_t)(w + 1);
		w++;
	}
	l->n = w;
	asim_free(slot);
	return 0;
}

void sweep_ctx_for(const sweep_spec *sp, const sweep_val *vals, sweep_ctx *ctx)
{
	ctx->vals = vals;
	ctx->n_vals = sp->n_axes;
	ctx->pf = sp->base.pe.cols;
	ctx->rows = sp->base.pe.rows;
	if (sp->pf_axis >= 0 && vals[sp->pf_axis].t == SWEEP_INT)
		ctx->pf = vals[sp->pf_axis].i;
	if (sp->rows_axis >= 0 && vals[sp->rows_axis].t == SWEEP_INT)
		ctx->rows = vals[sp->rows_axis].i;
}

static int eval_item(const sweep_item *it, const sweep_ctx *ctx, sweep_val *out, asim_err *e)
{
	if (!it->is_expr) {
		*out = it->lit;
		return 0;
	}
	return sweep_expr_eval(&it->x, ctx, out, e);
}

static int need_number(const sweep_spec *sp, const sweep_axis *ax, const sweep_item *it, const sweep_val *v,
                       int integer, const char *what, asim_err *e)
{
	if (v->t == SWEEP_INT || (!integer && v->t == SWEEP_NUM))
		return 0;
	const yd_node *n = ax->node;
	(void)it;
	return asim_error_at(e, ASIM_ESCHEMA, sp->file, n->line, n->col, "axis '%s': %s must be %s, not %s",
	                     ax->name, what, integer ? "an integer" : "a number",
	                     v->t == SWEEP_NUM ? "a decimal" : "a string");
}

static double as_num(const sweep_val *v) { return v->t == SWEEP_INT ? (double)v->i : v->d; }

static double draw_u(uint64_t seed, uint64_t stream, uint64_t k)
{
	uint64_t hi = dp_philox_word(seed, stream, 2 * k), lo = dp_philox_word(seed, stream, 2 * k + 1);
	return (double)(((hi << 32) | lo) >> 11) * 0x1p-53;
}

static int gen_values(const sweep_spec *sp, uint32_t L, const sweep_ctx *ctx, vlist *l, asim_err *e)
{
	const sweep_axis *ax = &sp->axes[L];
	l->n = 0;
	l->pos = 0;
	sweep_val a, b, s;
	int rc;
	switch (ax->gen) {
	case SWEEP_GEN_LIST:
		for (size_t i = 0; i < ax->n_items; i++) {
			if ((rc = eval_item(&ax->items[i], ctx, &a, e)) != 0)
				return rc;
			if ((rc = vl_push(l, &a)) != 0)
				goto push_fail;
		}
		break;
	case SWEEP_GEN_PF:
		for (size_t i = 0; i < ax->n_items; i++) {
			if ((rc = eval_item(&ax->items[i], ctx, &a, e)) != 0 ||
			    (rc = need_number(sp, ax, &ax->items[i], &a, 1, "a pf multiple", e)) != 0)
				return rc;
			for (size_t j = 0; j < ax->n_items2; j++) {
				if ((rc = eval_item(&ax->items2[j], ctx, &b, e)) != 0 ||
				    (rc = need_number(sp, ax, &ax->items2[j], &b, 1, "an offset", e)) != 0)
					return rc;
				int64_t v;
				if (__builtin_mul_overflow(a.i, ctx->pf, &v) || __builtin_add_overflow(v, b.i, &v))
					return asim_error_at(e, ASIM_ERANGE, sp->file, ax->node->line, ax->node->col,
					                     "axis '%s': k*pf + offset overflows", ax->name);
				if (v < 1)
					continue;
				s = (sweep_val){.t = SWEEP_INT, .i = v};
				if ((rc = vl_push(l, &s)) != 0)
					goto push_fail;
			}
		}
		break;
	case SWEEP_GEN_RANGE: {
		if ((rc = eval_item(&ax->items[0], ctx, &a, e)) != 0 || (rc = eval_item(&ax->items[1], ctx, &b, e)) != 0 ||
		    (rc = eval_item(&ax->items[2], ctx, &s, e)) != 0)
			return rc;
		if ((rc = need_number(sp, ax, &ax->items[0], &a, 1, "the range's start", e)) != 0 ||
		    (rc = need_number(sp, ax, &ax->items[1], &b, 1, "the range's end", e)) != 0 ||
		    (rc = need_number(sp, ax, &ax->items[2], &s, 1, "the step", e)) != 0)
			return rc;
		if (s.i == 0)
			return asim_error_at(e, ASIM_ERANGE, sp->file, ax->node->line, ax->node->col,
			                     "axis '%s': the step is 0", ax->name);
		for (int64_t v = a.i; s.i > 0 ? v <= b.i : v >= b.i;) {
			sweep_val x = {.t = SWEEP_INT, .i = v};
			if ((rc = vl_push(l, &x)) != 0)
				goto push_fail;
			if (__builtin_add_overflow(v, s.i, &v))
				break;
		}
		return 0;   /* a range has no duplicates */
	}
	case SWEEP_GEN_LOG:
	case SWEEP_GEN_UNIFORM:
	case SWEEP_GEN_LOG_UNIFORM: {
		if ((rc = eval_item(&ax->items[0], ctx, &a, e)) != 0 || (rc = eval_item(&ax->items[1], ctx, &b, e)) != 0)
			return rc;
		if ((rc = need_number(sp, ax, &ax->items[0], &a, 0, "the lower bound", e)) != 0 ||
		    (rc = need_number(sp, ax, &ax->items[1], &b, 0, "the upper bound", e)) != 0)
			return rc;
		int ints = a.t == SWEEP_INT && b.t == SWEEP_INT;
		double lo = ints ? (double)a.i : as_num(&a), hi = ints ? (double)b.i : as_num(&b);
		if (ax->gen != SWEEP_GEN_UNIFORM && (lo <= 0 || hi <= 0))
			return asim_error_at(e, ASIM_ERANGE, sp->file, ax->node->line, ax->node->col,
			                     "axis '%s': log bounds must be positive (got %g and %g)", ax->name, lo, hi);
		if (ax->gen != SWEEP_GEN_LOG && lo > hi)
			return asim_error_at(e, ASIM_ERANGE, sp->file, ax->node->line, ax->node->col,
			                     "axis '%s': the lower bound %g is above the upper bound %g", ax->name, lo, hi);
		for (uint64_t k = 0; k < ax->n; k++) {
			double x;
			if (ax->gen == SWEEP_GEN_LOG) {
				x = ax->n == 1 || k == 0 ? lo : k == ax->n - 1 ? hi
				    : lo * pow(hi / lo, (double)k / (double)(ax->n - 1));
			} else {
				double u = draw_u(sp->seed, ax->stream, k);
				if (ax->gen == SWEEP_GEN_UNIFORM)
					x = ints ? lo + floor(u * (hi - lo + 1.0)) : lo + u * (hi - lo);
				else
					x = exp(log(lo) + u * (log(hi) - log(lo)));
			}
			sweep_val v;
			if (ints) {
				double r = ax->gen == SWEEP_GEN_UNIFORM ? x : nearbyint(x);
				if (r < lo && r < hi)
					r = lo < hi ? lo : hi;
				if (r > hi && r > lo)
					r = hi > lo ? hi : lo;
				v = (sweep_val){.t = SWEEP_INT, .i = (int64_t)r};
			} else {
				v = (sweep_val){.t = SWEEP_NUM, .d = x};
			}
			if ((rc = vl_push(l, &v)) != 0)
				goto push_fail;
		}
		break;
	}
	}
	if (vl_dedupe(l) != 0)
		return asim_errorf(e, ASIM_ENOMEM, "out of memory");
	return 0;
push_fail:
	if (rc == ASIM_ERANGE)
		return asim_error_at(e, ASIM_ERANGE, sp->file, ax->node->line, ax->node->col,
		                     "axis '%s' has more than %u values", ax->name, SWEEP_MAX_LIST);
	return asim_errorf(e, ASIM_ENOMEM, "out of memory");
}

int sweep_iter_new(sweep_iter **out, const sweep_spec *sp)
{
	sweep_iter *it = asim_calloc(1, sizeof *it);
	uint32_t n = sp->n_axes ? sp->n_axes : 1;
	if (it == NULL)
		return ASIM_ENOMEM;
	it->sp = sp;
	it->cur = asim_calloc(n, sizeof *it->cur);
	it->lists = asim_calloc(n, sizeof *it->lists);
	it->pf = asim_calloc(n, sizeof *it->pf);
	it->rows = asim_calloc(n, sizeof *it->rows);
	if (!it->cur || !it->lists || !it->pf || !it->rows) {
		sweep_iter_free(it);
		return ASIM_ENOMEM;
	}
	*out = it;
	return 0;
}

void sweep_iter_free(sweep_iter *it)
{
	if (it == NULL)
		return;
	for (uint32_t i = 0; it->lists && i < (it->sp->n_axes ? it->sp->n_axes : 1); i++)
		asim_free(it->lists[i].v);
	asim_free(it->lists);
	asim_free(it->cur);
	asim_free(it->pf);
	asim_free(it->rows);
	asim_free(it);
}

/* The constraints whose deepest axis is L (level -1 constraints are checked at level 0, or once for
 * an axis-less spec). */
static int check_level(const sweep_spec *sp, int32_t L, const sweep_ctx *ctx, int *ok, asim_err *e)
{
	*ok = 1;
	for (uint32_t i = 0; i < sp->n_cons; i++) {
		int32_t lv = sp->cons[i].level < 0 ? 0 : sp->cons[i].level;
		if (lv != L)
			continue;
		sweep_val r;
		int rc = sweep_expr_eval(&sp->cons[i], ctx, &r, e);
		if (rc)
			return rc;
		if (r.t == SWEEP_STR)
			return asim_error_at(e, ASIM_ESCHEMA, sp->file, sp->cons[i].line, sp->cons[i].col,
			                     "a constraint must be a comparison or a number, not a string");
		if (!sweep_val_truthy(&r)) {
			*ok = 0;
			return 0;
		}
	}
	return 0;
}

int sweep_iter_next(sweep_iter *it, sweep_val *vals, asim_err *e)
{
	const sweep_spec *sp = it->sp;
	uint32_t nA = sp->n_axes;
	if (it->done)
		return 0;
	if (nA == 0) {
		it->done = 1;
		sweep_ctx ctx = {NULL, 0, (int64_t)sp->base.pe.cols, (int64_t)sp->base.pe.rows};
		int ok, rc = check_level(sp, 0, &ctx, &ok, e);
		return rc ? rc : ok;
	}
	int32_t L;
	int fresh;
	if (!it->started) {
		it->started = 1;
		L = 0;
		fresh = 1;
	} else {
		L = (int32_t)nA - 1;
		fresh = 0;
	}
	for (;;) {
		vlist *l = &it->lists[L];
		sweep_ctx ctx = {it->cur, (uint32_t)L,
		                 L > 0 ? it->pf[L - 1] : (int64_t)sp->base.pe.cols,
		                 L > 0 ? it->rows[L - 1] : (int64_t)sp->base.pe.rows};
		if (fresh) {
			int rc = gen_values(sp, (uint32_t)L, &ctx, l, e);
			if (rc) {
				it->done = 1;
				return rc;
			}
		} else {
			l->pos++;
		}
		if (l->pos >= l->n) {
			if (L == 0) {
				it->done = 1;
				return 0;
			}
			L--;
			fresh = 0;
			continue;
		}
		it->cur[L] = l->v[l->pos];
		it->pf[L] = ctx.pf;
		it->rows[L] = ctx.rows;
		if ((int32_t)L == sp->pf_axis && it->cur[L].t == SWEEP_INT)
			it->pf[L] = it->cur[L].i;
		if ((int32_t)L == sp->rows_axis && it->cur[L].t == SWEEP_INT)
			it->rows[L] = it->cur[L].i;
		ctx.n_vals = (uint32_t)L + 1;
		ctx.pf = it->pf[L];
		ctx.rows = it->rows[L];
		int ok, rc = check_level(sp, L, &ctx, &ok, e);
		if (rc) {
			it->done = 1;
			return rc;
		}
		if (!ok) {
			fresh = 0;
			continue;
		}
		if ((uint32_t)L == nA - 1) {
			memcpy(vals, it->cur, nA * sizeof *vals);
			return 1;
		}
		L++;
		fresh = 1;
	}
}

int sweep_count(const sweep_spec *sp, uint64_t *n, asim_err *e)
{
	sweep_iter *it;
	*n = 0;
	if (sweep_iter_new(&it, sp) != 0)
		return asim_errorf(e, ASIM_ENOMEM, "out of memory");
	sweep_val *vals = asim_calloc(sp->n_axes ? sp->n_axes : 1, sizeof *vals);
	int rc = vals ? 0 : asim_errorf(e, ASIM_ENOMEM, "out of memory");
	while (rc == 0 && (rc = sweep_iter_next(it, vals, e)) == 1) {
		(*n)++;
		rc = 0;
	}
	asim_free(vals);
	sweep_iter_free(it);
	return rc < 0 ? rc : 0;
}

void sweep_sample_id(const sweep_spec *sp, const sweep_val *vals, char out[17])
{
	uint64_t h = FNV_OFFSET;
	char buf[128];
	for (uint32_t i = 0; i < sp->n_axes; i++) {
		h = fnv1a(h, sp->axes[i].name, strlen(sp->axes[i].name));
		h = fnv1a(h, "=", 1);
		if (vals[i].t == SWEEP_STR)
			h = fnv1a(h, vals[i].s, strlen(vals[i].s));
		else
			h = fnv1a(h, buf, sweep_val_format(&vals[i], buf, sizeof buf));
		h = fnv1a(h, "\n", 1);
	}
	snprintf(out, 17, "%016" PRIx64, splitmix_fin(h));
}

/* ---- rendering and per-sample chips ---------------------------------------------------------- */

int sweep_render(const sweep_spec *sp, const sweep_val *vals, sweep_buf *b, asim_err *e)
{
	sweep_ctx ctx;
	sweep_ctx_for(sp, vals, &ctx);
	b->len = 0;
	char num[64];
	for (size_t i = 0; i < sp->n_pieces; i++) {
		const sweep_piece *p = &sp->pieces[i];
		int rc;
		if (p->expr < 0) {
			rc = sweep_buf_put(b, p->text, p->len);
		} else {
			sweep_val v;
			if ((rc = sweep_expr_eval(&sp->tpl_exprs[p->expr], &ctx, &v, e)) != 0)
				return rc;
			const char *s = num;
			size_t n;
			if (v.t == SWEEP_STR) {
				s = v.s;
				n = strlen(s);
			} else {
				n = sweep_val_format(&v, num, sizeof num);
			}
			if (p->quoted)
				rc = put_escaped(b, s, n);
			else if (v.t != SWEEP_STR || plain_safe(s, n))
				rc = sweep_buf_put(b, s, n);
			else if ((rc = sweep_buf_put(b, "\"", 1)) == 0 && (rc = put_escaped(b, s, n)) == 0)
				rc = sweep_buf_put(b, "\"", 1);
		}
		if (rc)
			return asim_errorf(e, ASIM_ENOMEM, "out of memory");
	}
	return 0;
}

int sweep_make_chip(const sweep_spec *sp, const sweep_val *vals, chip *c, asim_err *e)
{
	chip_fini(c);
	if (chip_copy(c, &sp->base) != 0)
		return asim_errorf(e, ASIM_ENOMEM, "out of memory");
	for (uint32_t i = 0; i < sp->n_axes; i++) {
		const sweep_axis *ax = &sp->axes[i];
		if (ax->chip_key == NULL)
			continue;
		char val[128];
		if (vals[i].t == SWEEP_STR)
			snprintf(val, sizeof val, "%s", vals[i].s);
		else
			sweep_val_format(&vals[i], val, sizeof val);
		asim_err local;
		asim_err_init(&local);
		int rc = chip_set_param(c, ax->chip_key, val, &local);
		if (rc) {
			char esc[200];
			asim_escape(esc, sizeof esc, val);
			return asim_error_at(e, rc, sp->file, ax->node->line, ax->node->col, "axis '%s' = %s: %s",
			                     ax->name, esc, local.msg);
		}
	}
	return 0;
}

#define TEMPLATE_NAME "@sweep-template"

const char *sweep_template_name(void) { return TEMPLATE_NAME; }

void sweep_sample_error(const sweep_spec *sp, const sweep_val *vals, uint64_t index, asim_err *e)
{
	unsigned long line = sp->template_node->line, col = sp->template_node->col;
	const char *msg = e->msg;
	size_t tl = strlen(TEMPLATE_NAME), fl = strlen(sp->file);
	if (strncmp(msg, TEMPLATE_NAME ":", tl + 1) == 0) {
		char *end;
		unsigned long gl = strtoul(msg + tl + 1, &end, 10);
		if (*end == ':') {
			strtoul(end + 1, &end, 10);
			if (*end == ':')
				end++;
			if (*end == ' ')
				end++;
			if (gl >= 1 && gl <= sp->n_lines) {
				line = sp->line_map[gl].line;
				col = sp->line_map[gl].col;
			}
			msg = end;
		}
	} else if (strncmp(msg, sp->file, fl) == 0 && msg[fl] == ':' && isdigit((unsigned char)msg[fl + 1])) {
		char *end;
		line = strtoul(msg + fl + 1, &end, 10);
		if (*end == ':')
			col = strtoul(end + 1, &end, 10);
		if (*end == ':')
			end++;
		if (*end == ' ')
			end++;
		msg = end;
	}
	char desc[400];
	size_t k = 0;
	for (uint32_t i = 0; i < sp->n_axes && k + 8 < sizeof desc; i++) {
		char v[96], esc[128];
		if (vals[i].t == SWEEP_STR)
			snprintf(v, sizeof v, "%s", vals[i].s);
		else
			sweep_val_format(&vals[i], v, sizeof v);
		asim_escape(esc, sizeof esc, v);
		int n = snprintf(desc + k, sizeof desc - k, "%s%s=%s", i ? ", " : "", sp->axes[i].name, esc);
		if (n < 0)
			break;
		k += (size_t)n;
		if (k >= sizeof desc)
			k = sizeof desc - 1;
	}
	desc[k] = '\0';
	char rest[ASIM_ERR_MSG_MAX];
	snprintf(rest, sizeof rest, "%s", msg);
	int code = e->code ? e->code : ASIM_EINTERNAL;
	asim_err_clear(e);
	asim_error_at(e, code, sp->file, line, col, "sample %" PRIu64 " (%s): %s", index, desc, rest);
}

int sweep_target_op(const sweep_spec *sp, const graph *g, uint32_t *op, asim_err *e)
{
	if (sp->target == NULL) {
		if (g->n_ops == 0)
			return asim_error_at(e, ASIM_ESCHEMA, sp->file, sp->template_node->line, sp->template_node->col,
			                     "the template has no ops: a sweep row describes an op");
		*op = 0;
		return 0;
	}
	for (size_t i = 0; i < g->n_ops; i++)
		if (strcmp(g->ops[i].name, sp->target) == 0) {
			*op = (uint32_t)i;
			return 0;
		}
	char esc[128];
	asim_escape(esc, sizeof esc, sp->target);
	return yd_error(&sp->doc, sp->target_node, e, ASIM_EREF, "target op '%s' is not an op of the template", esc);
}
