/*
 * sweep_expr.c -- the sweep spec's small expression language: parse once, evaluate per sample.
 *
 * Grammar (lowest precedence first; docs/datasets.md has the user's version):
 *
 *     expr    := and ( "or" and )*
 *     and     := not ( "and" not )*
 *     not     := "not" not | cmp
 *     cmp     := sum [ ( "==" | "!=" | "<" | "<=" | ">" | ">=" | "divides" ) sum ]   (no chains)
 *     sum     := prod ( ( "+" | "-" ) prod )*
 *     prod    := unary ( ( "*" | "/" | "%" ) unary )*
 *     unary   := "-" unary | primary
 *     primary := INT | DECIMAL | 'string' | "string" | NAME | ( "min" | "max" ) "(" expr "," expr ")"
 *              | "(" expr ")"
 *
 * NAME is [A-Za-z_][A-Za-z0-9_.]* : an axis (resolved at parse time to its index, so evaluation
 * never looks a name up) or a built-in (pf, rows). Nothing else exists: no calls but min/max, no
 * assignment, no access to anything outside the sample's values, so a spec cannot run code.
 *
 * Semantics: integers are int64 and every operation on them is checked (overflow is an error,
 * never a wrap); integer / and % are floor division and modulo (Python's // and %), so
 * a == (a / b) * b + a % b and a % b has the sign of b. Any decimal operand makes the operation
 * double (then % is refused). Comparisons and and/or/not give the integers 0 and 1; and/or
 * short-circuit. `a divides b` is true when b is a whole multiple of a (0 divides only 0).
 * Strings compare only with == and != against strings.
 *
 * Nodes live in one array in parse order; evaluation recurses to the depth of the tree, which the
 * parser bounds (SX_MAX_DEPTH), so a hostile spec cannot exhaust the stack.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/alloc.h"
#include "sim/sweep.h"

#define SX_MAX_DEPTH 64
#define SX_MAX_NODES 4096

enum sx_op {
	SX_LIT, SX_VAR, SX_NEG, SX_NOT, SX_ADD, SX_SUB, SX_MUL, SX_DIV, SX_MOD, SX_EQ, SX_NE, SX_LT,
	SX_LE, SX_GT, SX_GE, SX_AND, SX_OR, SX_DIVIDES, SX_MIN, SX_MAX
};

static const char *const sx_opname[] = {
	"literal", "name", "-", "not", "+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=",
	"and", "or", "divides", "min", "max"
};

struct sweep_xnode {
	uint8_t op;
	int32_t a, b;          /* operand nodes */
	int32_t var;           /* SX_VAR */
	sweep_val lit;         /* SX_LIT */
	unsigned long line, col;
};

typedef struct parser {
	const char *file, *s;
	size_t len, pos;
	unsigned long line, col0;
	sweep_xnode *n;
	uint32_t nn, cap;
	sweep_resolve_fn resolve;
	void *ud;
	int32_t max_var, level;
	int depth;
	asim_err *e;
} parser;

static unsigned long col_at(const parser *p, size_t pos)
{
	unsigned long c = p->col0;
	for (size_t i = 0; i < pos && i < p->len; i++)
		if (((unsigned char)p->s[i] & 0xC0) != 0x80)
			c++;
	return c;
}

static int perr(parser *p, size_t pos, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int perr(parser *p, size_t pos, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return asim_error_at(p->e, code, p->file, p->line, col_at(p, pos), "%s", msg);
}

static void skip_ws(parser *p)
{
	while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' ||
	                           p->s[p->pos] == '\r'))
		p->pos++;
}

static int is_name0(int c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
static int is_name(int c) { return is_name0(c) || (c >= '0' && c <= '9') || c == '.'; }

/* The word at the cursor (a NAME), without consuming it; its length or 0. */
static size_t peek_word(parser *p)
{
	skip_ws(p);
	size_t i = p->pos;
	if (i >= p->len || !is_name0((unsigned char)p->s[i]))
		return 0;
	while (i < p->len && is_name((unsigned char)p->s[i]))
		i++;
	return i - p->pos;
}

static int word_is(parser *p, const char *w)
{
	size_t n = peek_word(p);
	return n == strlen(w) && memcmp(p->s + p->pos, w, n) == 0;
}

static int32_t add_node(parser *p, uint8_t op, int32_t a, int32_t b, size_t pos)
{
	if (p->nn >= SX_MAX_NODES) {
		perr(p, pos, ASIM_ERANGE, "expression too long (more than 4096 terms)%s", "");
		return -1;
	}
	if (p->nn == p->cap) {
		size_t cap = p->cap;
		if (asim_grow((void **)&p->n, &cap, p->nn + 1, sizeof *p->n) != 0) {
			asim_errorf(p->e, ASIM_ENOMEM, "out of memory");
			return -1;
		}
		p->cap = (uint32_t)cap;
	}
	sweep_xnode *x = &p->n[p->nn];
	memset(x, 0, sizeof *x);
	x->op = op;
	x->a = a;
	x->b = b;
	x->line = p->line;
	x->col = col_at(p, pos);
	return (int32_t)p->nn++;
}

static int32_t parse_or(parser *p);

static int32_t parse_primary(parser *p)
{
	skip_ws(p);
	size_t at = p->pos;
	if (at >= p->len)
		return perr(p, at, ASIM_ESYNTAX, "expression ends where a value was expected%s", ""), -1;
	char c = p->s[at];
	if (c == '(') {
		p->pos++;
		int32_t r = parse_or(p);
		if (r < 0)
			return -1;
		skip_ws(p);
		if (p->pos >= p->len || p->s[p->pos] != ')')
			return perr(p, p->pos, ASIM_ESYNTAX, "expected ')' to close the '(' here%s", ""), -1;
		p->pos++;
		return r;
	}
	if (c >= '0' && c <= '9') {
		size_t i = at;
		int dec = 0;
		while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9')
			i++;
		if (i < p->len && p->s[i] == '.') {
			dec = 1;
			i++;
			while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9')
				i++;
		}
		if (i < p->len && (p->s[i] == 'e' || p->s[i] == 'E')) {
			size_t j = i + 1;
			if (j < p->len && (p->s[j] == '+' || p->s[j] == '-'))
				j++;
			if (j < p->len && p->s[j] >= '0' && p->s[j] <= '9') {
				dec = 1;
				i = j;
				while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9')
					i++;
			}
		}
		if (i < p->len && is_name((unsigned char)p->s[i]))
			return perr(p, at, ASIM_ESYNTAX, "malformed number%s", ""), -1;
		char buf[64];
		size_t n = i - at;
		if (n >= sizeof buf)
			return perr(p, at, ASIM_ERANGE, "number too long%s", ""), -1;
		memcpy(buf, p->s + at, n);
		buf[n] = '\0';
		int32_t r = add_node(p, SX_LIT, -1, -1, at);
		if (r < 0)
			return -1;
		errno = 0;
		if (dec) {
			double d = strtod(buf, NULL);
			if (errno == ERANGE || !isfinite(d))
				return perr(p, at, ASIM_ERANGE, "number '%s' out of range", buf), -1;
			p->n[r].lit.t = SWEEP_NUM;
			p->n[r].lit.d = d;
		} else {
			unsigned long long u = strtoull(buf, NULL, 10);
			if (errno == ERANGE || u > (unsigned long long)INT64_MAX)
				return perr(p, at, ASIM_ERANGE, "integer '%s' does not fit in 64 bits", buf), -1;
			p->n[r].lit.t = SWEEP_INT;
			p->n[r].lit.i = (int64_t)u;
		}
		p->pos = i;
		return r;
	}
	if (c == '\'' || c == '"') {
		size_t i = at + 1;
		while (i < p->len && p->s[i] != c)
			i++;
		if (i >= p->len)
			return perr(p, at, ASIM_ESYNTAX, "string not closed%s", ""), -1;
		int32_t r = add_node(p, SX_LIT, -1, -1, at);
		if (r < 0)
			return -1;
		/* The literal's text is the span between the quotes; it is copied into a NUL-terminated
		 * string owned by the node array's tail (allocated separately). */
		char *str = asim_strndup(p->s + at + 1, i - at - 1);
		if (str == NULL)
			return asim_errorf(p->e, ASIM_ENOMEM, "out of memory"), -1;
		p->n[r].lit.t = SWEEP_STR;
		p->n[r].lit.s = str;
		p->pos = i + 1;
		return r;
	}
	size_t wl = peek_word(p);
	if (wl == 0) {
		char tok[2] = {c, 0}, esc[8];
		asim_escape(esc, sizeof esc, tok);
		return perr(p, at, ASIM_ESYNTAX, "unexpected '%s' where a value was expected", esc), -1;
	}
	char word[80];
	snprintf(word, sizeof word, "%.*s", (int)(wl < 79 ? wl : 79), p->s + at);
	if (strcmp(word, "and") == 0 || strcmp(word, "or") == 0 || strcmp(word, "not") == 0 ||
	    strcmp(word, "divides") == 0)
		return perr(p, at, ASIM_ESYNTAX, "'%s' where a value was expected", word), -1;
	p->pos += wl;
	if (strcmp(word, "min") == 0 || strcmp(word, "max") == 0) {
		skip_ws(p);
		if (p->pos >= p->len || p->s[p->pos] != '(')
			return perr(p, p->pos, ASIM_ESYNTAX, "expected '(' after '%s'", word), -1;
		p->pos++;
		int32_t a = parse_or(p);
		if (a < 0)
			return -1;
		skip_ws(p);
		if (p->pos >= p->len || p->s[p->pos] != ',')
			return perr(p, p->pos, ASIM_ESYNTAX, "expected ',' between the two arguments of %s()",
			            word), -1;
		p->pos++;
		int32_t b = parse_or(p);
		if (b < 0)
			return -1;
		skip_ws(p);
		if (p->pos >= p->len || p->s[p->pos] != ')')
			return perr(p, p->pos, ASIM_ESYNTAX, "expected ')' to close %s(", word), -1;
		p->pos++;
		return add_node(p, word[1] == 'i' ? SX_MIN : SX_MAX, a, b, at);
	}
	int32_t var;
	if (strcmp(word, "pf") == 0)
		var = SWEEP_VAR_PF;
	else if (strcmp(word, "rows") == 0)
		var = SWEEP_VAR_ROWS;
	else {
		var = p->resolve ? p->resolve(p->ud, p->s + at, wl) : -1;
		if (var < 0)
			return perr(p, at, ASIM_EREF, "unknown name '%s' (names are axes, pf and rows)", word), -1;
		if (var >= p->max_var)
			return perr(p, at, ASIM_EREF,
			            "axis '%s' is not known here (an axis's values may use only the axes before it)",
			            word), -1;
		if (var > p->level)
			p->level = var;
	}
	int32_t r = add_node(p, SX_VAR, -1, -1, at);
	if (r >= 0)
		p->n[r].var = var;
	return r;
}

static int enter(parser *p)
{
	if (++p->depth > SX_MAX_DEPTH) {
		perr(p, p->pos, ASIM_ERANGE, "expression nested too deeply (more than 64 levels)%s", "");
		return -1;
	}
	return 0;
}

static int32_t parse_unary(parser *p)
{
	if (enter(p))
		return -1;
	skip_ws(p);
	int32_t r;
	if (p->pos < p->len && p->s[p->pos] == '-') {
		size_t at = p->pos++;
		int32_t a = parse_unary(p);
		r = a < 0 ? -1 : add_node(p, SX_NEG, a, -1, at);
	} else {
		r = parse_primary(p);
	}
	p->depth--;
	return r;
}

static int32_t parse_prod(parser *p)
{
	int32_t l = parse_unary(p);
	while (l >= 0) {
		skip_ws(p);
		if (p->pos >= p->len)
			break;
		char c = p->s[p->pos];
		uint8_t op = c == '*' ? SX_MUL : c == '/' ? SX_DIV : c == '%' ? SX_MOD : 0;
		if (!op)
			break;
		size_t at = p->pos++;
		int32_t r = parse_unary(p);
		if (r < 0)
			return -1;
		l = add_node(p, op, l, r, at);
	}
	return l;
}

static int32_t parse_sum(parser *p)
{
	int32_t l = parse_prod(p);
	while (l >= 0) {
		skip_ws(p);
		if (p->pos >= p->len)
			break;
		char c = p->s[p->pos];
		if (c != '+' && c != '-')
			break;
		size_t at = p->pos++;
		int32_t r = parse_prod(p);
		if (r < 0)
			return -1;
		l = add_node(p, c == '+' ? SX_ADD : SX_SUB, l, r, at);
	}
	return l;
}

/* A comparison operator at the cursor: its op and length, or 0. */
static uint8_t cmp_op(parser *p, size_t *n)
{
	skip_ws(p);
	const char *s = p->s + p->pos;
	size_t left = p->len - p->pos;
	if (left >= 2 && s[0] == '=' && s[1] == '=')
		return *n = 2, SX_EQ;
	if (left >= 2 && s[0] == '!' && s[1] == '=')
		return *n = 2, SX_NE;
	if (left >= 2 && s[0] == '<' && s[1] == '=')
		return *n = 2, SX_LE;
	if (left >= 2 && s[0] == '>' && s[1] == '=')
		return *n = 2, SX_GE;
	if (left >= 1 && s[0] == '<')
		return *n = 1, SX_LT;
	if (left >= 1 && s[0] == '>')
		return *n = 1, SX_GT;
	if (word_is(p, "divides"))
		return *n = 7, SX_DIVIDES;
	return 0;
}

static int32_t parse_cmp(parser *p)
{
	int32_t l = parse_sum(p);
	if (l < 0)
		return -1;
	size_t n;
	uint8_t op = cmp_op(p, &n);
	if (!op) {
		skip_ws(p);
		if (p->pos < p->len && p->s[p->pos] == '=')
			return perr(p, p->pos, ASIM_ESYNTAX, "'=' is not an operator (write '==' to compare)%s",
			            ""), -1;
		return l;
	}
	size_t at = p->pos;
	p->pos += n;
	int32_t r = parse_sum(p);
	if (r < 0)
		return -1;
	int32_t x = add_node(p, op, l, r, at);
	if (x >= 0 && cmp_op(p, &n))
		return perr(p, p->pos, ASIM_ESYNTAX,
		            "comparisons do not chain (write 'a < b and b < c')%s", ""), -1;
	return x;
}

static int32_t parse_not(parser *p)
{
	if (enter(p))
		return -1;
	int32_t r;
	if (word_is(p, "not")) {
		size_t at = p->pos;
		p->pos += 3;
		int32_t a = parse_not(p);
		r = a < 0 ? -1 : add_node(p, SX_NOT, a, -1, at);
	} else {
		r = parse_cmp(p);
	}
	p->depth--;
	return r;
}

static int32_t parse_and(parser *p)
{
	int32_t l = parse_not(p);
	while (l >= 0 && word_is(p, "and")) {
		size_t at = p->pos;
		p->pos += 3;
		int32_t r = parse_not(p);
		if (r < 0)
			return -1;
		l = add_node(p, SX_AND, l, r, at);
	}
	return l;
}

static int32_t parse_or(parser *p)
{
	if (enter(p))
		return -1;
	int32_t l = parse_and(p);
	while (l >= 0 && word_is(p, "or")) {
		size_t at = p->pos;
		p->pos += 2;
		int32_t r = parse_and(p);
		if (r < 0) {
			l = -1;
			break;
		}
		l = add_node(p, SX_OR, l, r, at);
	}
	p->depth--;
	return l;
}

static void free_nodes(sweep_xnode *n, uint32_t nn)
{
	for (uint32_t i = 0; i < nn; i++)
		if (n[i].op == SX_LIT && n[i].lit.t == SWEEP_STR)
			asim_free((void *)n[i].lit.s);
	asim_free(n);
}

int sweep_expr_parse(sweep_expr *x, const char *file, unsigned long line, unsigned long col,
                     const char *text, size_t len, sweep_resolve_fn resolve, void *ud, int32_t max_var,
                     asim_err *e)
{
	memset(x, 0, sizeof *x);
	x->level = -1;
	parser p = {.file = file, .s = text, .len = len, .line = line, .col0 = col, .resolve = resolve,
	            .ud = ud, .max_var = max_var, .level = -1, .e = e};
	skip_ws(&p);
	if (p.pos >= p.len) {
		asim_error_at(e, ASIM_ESYNTAX, file, line, col, "empty expression");
		return ASIM_ESYNTAX;
	}
	int32_t root = parse_or(&p);
	if (root >= 0) {
		skip_ws(&p);
		if (p.pos < p.len) {
			char tok[24];
			size_t wl = peek_word(&p);
			char esc[96];
			snprintf(tok, sizeof tok, "%.*s", (int)(wl ? (wl < 20 ? wl : 20) : 1), p.s + p.pos);
			asim_escape(esc, sizeof esc, tok);
			perr(&p, p.pos, ASIM_ESYNTAX, "unexpected '%s' after a complete expression", esc);
			root = -1;
		}
	}
	if (root < 0) {
		free_nodes(p.n, p.nn);
		return e->code ? e->code : ASIM_ESYNTAX;
	}
	x->n = p.n;
	x->nn = p.nn;
	x->root = (uint32_t)root;
	x->level = p.level;
	x->uses = 0;
	for (uint32_t i = 0; i < p.nn; i++)
		if (p.n[i].op == SX_VAR && p.n[i].var < 0)
			x->uses |= p.n[i].var == SWEEP_VAR_PF ? SWEEP_USES_PF : SWEEP_USES_ROWS;
	x->file = file;
	x->line = line;
	x->col = col;
	return 0;
}

void sweep_expr_fini(sweep_expr *x)
{
	if (x->n)
		free_nodes(x->n, x->nn);
	memset(x, 0, sizeof *x);
	x->level = -1;
}

/* ---- evaluation ----------------------------------------------------------------------------- */

int sweep_val_truthy(const sweep_val *v)
{
	return v->t == SWEEP_INT ? v->i != 0 : v->t == SWEEP_NUM ? v->d != 0.0 : 0;
}

int sweep_val_equal(const sweep_val *a, const sweep_val *b)
{
	if (a->t != b->t)
		return 0;
	if (a->t == SWEEP_INT)
		return a->i == b->i;
	if (a->t == SWEEP_NUM)
		return memcmp(&a->d, &b->d, sizeof a->d) == 0 || a->d == b->d;
	return strcmp(a->s, b->s) == 0;
}

size_t sweep_val_format(const sweep_val *v, char *buf, size_t n)
{
	int k;
	if (v->t == SWEEP_INT) {
		k = snprintf(buf, n, "%lld", (long long)v->i);
	} else if (v->t == SWEEP_NUM) {
		k = snprintf(buf, n, "%.15g", v->d);
		if (k > 0 && (size_t)k < n && strtod(buf, NULL) != v->d)
			k = snprintf(buf, n, "%.17g", v->d);
		/* keep it a decimal: "2" would read back as an integer */
		if (k > 0 && (size_t)k + 2 < n && strpbrk(buf, ".eEn") == NULL) {
			buf[k++] = '.';
			buf[k++] = '0';
			buf[k] = '\0';
		}
	} else {
		k = snprintf(buf, n, "%s", v->s);
	}
	if (k < 0)
		k = 0;
	return (size_t)k < n ? (size_t)k : (n ? n - 1 : 0);
}

static const char *type_name(sweep_vtype t)
{
	return t == SWEEP_INT ? "an integer" : t == SWEEP_NUM ? "a decimal" : "a string";
}

static int xerr(const sweep_expr *x, const sweep_xnode *nd, asim_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static int xerr(const sweep_expr *x, const sweep_xnode *nd, asim_err *e, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return asim_error_at(e, code, x->file, nd->line, nd->col, "%s", msg);
}

static double as_double(const sweep_val *v) { return v->t == SWEEP_INT ? (double)v->i : v->d; }

static int ev(const sweep_expr *x, int32_t i, const sweep_ctx *ctx, sweep_val *out, asim_err *e)
{
	const sweep_xnode *nd = &x->n[i];
	sweep_val a, b;
	int rc;
	switch (nd->op) {
	case SX_LIT:
		*out = nd->lit;
		return 0;
	case SX_VAR:
		if (nd->var == SWEEP_VAR_PF || nd->var == SWEEP_VAR_ROWS) {
			out->t = SWEEP_INT;
			out->i = nd->var == SWEEP_VAR_PF ? ctx->pf : ctx->rows;
			return 0;
		}
		ASIM_ASSERT((uint32_t)nd->var < ctx->n_vals);
		*out = ctx->vals[nd->var];
		return 0;
	case SX_AND:
	case SX_OR:
		if ((rc = ev(x, nd->a, ctx, &a, e)) != 0)
			return rc;
		if (a.t == SWEEP_STR)
			return xerr(x, nd, e, ASIM_ESCHEMA, "'%s' needs numbers, not a string%s",
			            sx_opname[nd->op], "");
		out->t = SWEEP_INT;
		if (sweep_val_truthy(&a) == (nd->op == SX_OR)) {
			out->i = nd->op == SX_OR;
			return 0;
		}
		if ((rc = ev(x, nd->b, ctx, &b, e)) != 0)
			return rc;
		if (b.t == SWEEP_STR)
			return xerr(x, nd, e, ASIM_ESCHEMA, "'%s' needs numbers, not a string%s",
			            sx_opname[nd->op], "");
		out->i = sweep_val_truthy(&b);
		return 0;
	case SX_NOT:
	case SX_NEG:
		if ((rc = ev(x, nd->a, ctx, &a, e)) != 0)
			return rc;
		if (a.t == SWEEP_STR)
			return xerr(x, nd, e, ASIM_ESCHEMA, "'%s' needs a number, not a string%s",
			            sx_opname[nd->op], "");
		if (nd->op == SX_NOT) {
			out->t = SWEEP_INT;
			out->i = !sweep_val_truthy(&a);
		} else if (a.t == SWEEP_NUM) {
			out->t = SWEEP_NUM;
			out->d = -a.d;
		} else {
			if (a.i == INT64_MIN)
				return xerr(x, nd, e, ASIM_ERANGE, "integer overflow in '%s'%s", "-", "");
			out->t = SWEEP_INT;
			out->i = -a.i;
		}
		return 0;
	default:
		break;
	}
	if ((rc = ev(x, nd->a, ctx, &a, e)) != 0 || (rc = ev(x, nd->b, ctx, &b, e)) != 0)
		return rc;
	const char *opn = sx_opname[nd->op];
	if (nd->op == SX_EQ || nd->op == SX_NE) {
		if ((a.t == SWEEP_STR) != (b.t == SWEEP_STR))
			return xerr(x, nd, e, ASIM_ESCHEMA, "'%s' compares a string with a number%s", opn, "");
		int eq = a.t == SWEEP_STR ? strcmp(a.s, b.s) == 0 : as_double(&a) == as_double(&b);
		if (a.t == SWEEP_INT && b.t == SWEEP_INT)
			eq = a.i == b.i;
		out->t = SWEEP_INT;
		out->i = nd->op == SX_EQ ? eq : !eq;
		return 0;
	}
	if (a.t == SWEEP_STR || b.t == SWEEP_STR)
		return xerr(x, nd, e, ASIM_ESCHEMA, "'%s' needs numbers, not %s", opn,
		            type_name(a.t == SWEEP_STR ? a.t : b.t));
	int ints = a.t == SWEEP_INT && b.t == SWEEP_INT;
	out->t = ints ? SWEEP_INT : SWEEP_NUM;
	switch (nd->op) {
	case SX_LT: case SX_LE: case SX_GT: case SX_GE: {
		int c = ints ? (a.i < b.i ? -1 : a.i > b.i) : (as_double(&a) < as_double(&b) ? -1
		                                               : as_double(&a) > as_double(&b));
		out->t = SWEEP_INT;
		out->i = nd->op == SX_LT ? c < 0 : nd->op == SX_LE ? c <= 0 : nd->op == SX_GT ? c > 0 : c >= 0;
		return 0;
	}
	case SX_MIN: case SX_MAX: {
		int alt = ints ? a.i < b.i : as_double(&a) < as_double(&b);
		const sweep_val *pick = (nd->op == SX_MIN) == alt ? &a : &b;
		if (ints)
			*out = *pick;
		else
			out->d = as_double(pick);
		return 0;
	}
	case SX_ADD: case SX_SUB: case SX_MUL:
		if (ints) {
			int64_t r;
			int ov = nd->op == SX_ADD ? __builtin_add_overflow(a.i, b.i, &r)
			         : nd->op == SX_SUB ? __builtin_sub_overflow(a.i, b.i, &r)
			                            : __builtin_mul_overflow(a.i, b.i, &r);
			if (ov)
				return xerr(x, nd, e, ASIM_ERANGE, "integer overflow in '%s'%s", opn, "");
			out->i = r;
		} else {
			double da = as_double(&a), db = as_double(&b);
			out->d = nd->op == SX_ADD ? da + db : nd->op == SX_SUB ? da - db : da * db;
			if (!isfinite(out->d))
				return xerr(x, nd, e, ASIM_ERANGE, "'%s' overflows%s", opn, "");
		}
		return 0;
	case SX_DIV: case SX_MOD: case SX_DIVIDES:
		if (!ints) {
			if (nd->op != SX_DIV)
				return xerr(x, nd, e, ASIM_ESCHEMA, "'%s' needs integers, not decimals%s", opn, "");
			if (as_double(&b) == 0.0)
				return xerr(x, nd, e, ASIM_ERANGE, "division by zero%s%s", "", "");
			out->d = as_double(&a) / as_double(&b);
			if (!isfinite(out->d))
				return xerr(x, nd, e, ASIM_ERANGE, "'%s' overflows%s", opn, "");
			return 0;
		}
		if (nd->op == SX_DIVIDES) {
			out->t = SWEEP_INT;
			out->i = a.i == 0 ? b.i == 0 : (a.i == -1 ? 1 : b.i % a.i == 0);
			return 0;
		}
		if (b.i == 0)
			return xerr(x, nd, e, ASIM_ERANGE, "%s by zero%s", nd->op == SX_DIV ? "division" : "modulo",
			            "");
		if (a.i == INT64_MIN && b.i == -1) {
			if (nd->op == SX_DIV)
				return xerr(x, nd, e, ASIM_ERANGE, "integer overflow in '%s'%s", opn, "");
			out->i = 0;
			return 0;
		}
		if (nd->op == SX_DIV) {
			int64_t q = a.i / b.i;
			if (a.i % b.i != 0 && ((a.i < 0) != (b.i < 0)))
				q--;
			out->i = q;
		} else {
			int64_t r = a.i % b.i;
			if (r != 0 && ((r < 0) != (b.i < 0)))
				r += b.i;
			out->i = r;
		}
		return 0;
	default:
		break;
	}
	ASIM_ASSERT(!"unknown expression node");
	return ASIM_EINTERNAL;
}

int sweep_expr_eval(const sweep_expr *x, const sweep_ctx *ctx, sweep_val *out, asim_err *e)
{
	return ev(x, (int32_t)x->root, ctx, out, e);
}
