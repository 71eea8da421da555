/*
 * yamldoc.c -- libyaml events → a node tree in an arena; typed getters with positioned errors.
 * See yamldoc.h for the contract and the limits.
 *
 * The builder keeps a stack of open containers (depth ≤ YD_MAX_DEPTH) and ONE growable stack of
 * child pointers shared by all of them: an open container's children are the top of that stack
 * from the index where the container began. When it closes, its children are copied into the arena
 * and popped. Every node is written once, no allocation happens per container, and loading stays
 * linear in the input size.
 */
#include "sim/yamldoc.h"
#include "sim/alloc.h"
#include "sim/fileio.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

/* ---- arena ------------------------------------------------------------------------------- */

struct chunk {
	struct chunk *next;
	size_t used, cap;
	_Alignas(16) unsigned char data[];
};

#define CHUNK_SIZE (64 * 1024)

static void *arena_alloc(void **arena, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	struct chunk *c = *arena;
	if (c == NULL || c->cap - c->used < n) {
		size_t cap = n > CHUNK_SIZE / 2 ? n : CHUNK_SIZE;
		struct chunk *nc = asim_malloc(sizeof *nc + cap);
		if (nc == NULL)
			return NULL;
		nc->cap = cap;
		nc->used = 0;
		if (c != NULL && n > CHUNK_SIZE / 2) {  /* keep filling the current chunk */
			nc->next = c->next;
			c->next = nc;
		} else {
			nc->next = c;
			*arena = nc;
		}
		c = nc;
	}
	void *p = c->data + c->used;
	c->used += n;
	return p;
}

static void arena_free(void *arena)
{
	struct chunk *c = arena;
	while (c != NULL) {
		struct chunk *next = c->next;
		asim_free(c);
		c = next;
	}
}

/* ---- builder ------------------------------------------------------------------------------- */

struct frame {
	yd_node *node;
	size_t first;     /* index of its first child in the shared child stack */
};

struct builder {
	const char *buf;  /* the input, to turn a reader error's byte offset into line:column */
	size_t len;
	yd_doc *d;
	asim_err *e;
	struct frame stack[YD_MAX_DEPTH + 1];
	int depth;
	yd_node **kids;   /* the shared child stack */
	size_t nkids, capkids;
};

static int add_child(struct builder *b, yd_node *n)
{
	if (b->depth == 0) {
		b->d->root = n;
		return ASIM_OK;
	}
	if (asim_grow((void **)&b->kids, &b->capkids, b->nkids + 1, sizeof *b->kids) != 0)
		return asim_errorf(b->e, ASIM_ENOMEM, "%s: out of memory", b->d->file);
	b->kids[b->nkids++] = n;
	return ASIM_OK;
}

static yd_node *new_node(struct builder *b, yd_kind kind, const yaml_mark_t *m)
{
	yd_node *n = arena_alloc(&b->d->arena, sizeof *n);
	if (n == NULL)
		return NULL;
	memset(n, 0, sizeof *n);
	n->kind = kind;
	n->line = (unsigned long)m->line + 1;
	n->col = (unsigned long)m->column + 1;
	return n;
}

static int at_mark(struct builder *b, const yaml_mark_t *m, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int at_mark(struct builder *b, const yaml_mark_t *m, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return asim_error_at(b->e, code, b->d->file, (unsigned long)m->line + 1,
	                     (unsigned long)m->column + 1, "%s", msg);
}

static int close_container(struct builder *b)
{
	struct frame *f = &b->stack[--b->depth];
	yd_node *n = f->node;
	yd_node **kids = b->kids + f->first;
	size_t nk = b->nkids - f->first;
	int rc = ASIM_OK;
	if (n->kind == YD_MAP) {
		n->len = nk / 2;
		for (size_t i = 0; i + 1 < nk && rc == 0; i += 2) {
			const yd_node *k = kids[i];
			if (k->kind != YD_SCALAR) {
				rc = asim_error_at(b->e, ASIM_ESYNTAX, b->d->file, k->line, k->col,
				                   "a mapping key must be a plain name, not a %s",
				                   yd_kind_name(k->kind));
				break;
			}
			/* Duplicate keys: a quadratic scan is fine for the small maps of these formats,
			 * but bound it so a hostile mapping with a million keys stays linear-ish. */
			if (nk <= 2 * 256) {
				for (size_t j = 0; j < i; j += 2)
					if (strcmp(kids[j]->str, k->str) == 0) {
						char esc[96];
						asim_escape(esc, sizeof esc, k->str);
						rc = asim_error_at(b->e, ASIM_ESYNTAX, b->d->file, k->line, k->col,
						                   "duplicate key '%s' (first given at line %lu)",
						                   esc, kids[j]->line);
						break;
					}
			}
		}
	} else {
		n->len = nk;
	}
	if (rc == 0 && nk > 0) {
		n->items = arena_alloc(&b->d->arena, nk * sizeof *n->items);
		if (n->items == NULL)
			rc = asim_errorf(b->e, ASIM_ENOMEM, "%s: out of memory", b->d->file);
		else
			memcpy(n->items, kids, nk * sizeof *n->items);
	}
	b->nkids = f->first;
	if (rc == 0)
		rc = add_child(b, n);
	return rc;
}

static int build(struct builder *b, yaml_parser_t *p)
{
	int docs = 0;
	for (;;) {
		yaml_event_t ev;
		if (!yaml_parser_parse(p, &ev)) {
			const char *ctx = p->context ? p->context : NULL;
			if (p->error == YAML_MEMORY_ERROR)
				return asim_errorf(b->e, ASIM_ENOMEM, "%s: out of memory", b->d->file);
			yaml_mark_t m = p->problem_mark;
			if (p->error == YAML_READER_ERROR) {
				/* reader errors (bad UTF-8, control bytes) carry a byte offset, not a mark */
				unsigned long line = 1, col = 1;
				for (size_t i = 0; i < p->problem_offset && i < b->len; i++) {
					if (b->buf[i] == '\n') {
						line++;
						col = 1;
					} else if (((unsigned char)b->buf[i] & 0xc0) != 0x80) {
						col++;
					}
				}
				return asim_error_at(b->e, ASIM_ESYNTAX, b->d->file, line, col,
				                     "not a YAML text file: %s (byte %zu)",
				                     p->problem ? p->problem : "unreadable input", p->problem_offset);
			}
			if (ctx)
				return at_mark(b, &m, ASIM_ESYNTAX, "YAML syntax error: %s %s", p->problem, ctx);
			return at_mark(b, &m, ASIM_ESYNTAX, "YAML syntax error: %s",
			               p->problem ? p->problem : "malformed document");
		}
		int rc = ASIM_OK;
		yd_node *n;
		switch (ev.type) {
		case YAML_STREAM_START_EVENT:
		case YAML_DOCUMENT_END_EVENT:
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1)
				rc = at_mark(b, &ev.start_mark, ASIM_ESYNTAX,
				             "a second YAML document: one file holds one document (remove this '---' part)");
			break;
		case YAML_STREAM_END_EVENT:
			yaml_event_delete(&ev);
			if (b->d->root == NULL)
				return asim_error_at(b->e, ASIM_ESYNTAX, b->d->file, 1, 1,
				                     "the file is empty: expected a YAML mapping");
			return ASIM_OK;
		case YAML_ALIAS_EVENT:
			rc = at_mark(b, &ev.start_mark, ASIM_EUNSUPPORTED,
			             "YAML aliases (*name) are not supported: write the value out");
			break;
		case YAML_SCALAR_EVENT:
			if (ev.data.scalar.anchor) {
				rc = at_mark(b, &ev.start_mark, ASIM_EUNSUPPORTED,
				             "YAML anchors (&name) are not supported: write the value out");
				break;
			}
			if (ev.data.scalar.tag && !ev.data.scalar.plain_implicit && !ev.data.scalar.quoted_implicit) {
				rc = at_mark(b, &ev.start_mark, ASIM_EUNSUPPORTED,
				             "YAML tags (!tag) are not supported: remove it");
				break;
			}
			n = new_node(b, YD_SCALAR, &ev.start_mark);
			char *s = n ? arena_alloc(&b->d->arena, ev.data.scalar.length + 1) : NULL;
			if (s == NULL) {
				rc = asim_errorf(b->e, ASIM_ENOMEM, "%s: out of memory", b->d->file);
				break;
			}
			memcpy(s, ev.data.scalar.value, ev.data.scalar.length);
			s[ev.data.scalar.length] = '\0';
			n->str = s;
			n->len = ev.data.scalar.length;
			n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
			rc = add_child(b, n);
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT: {
			int is_map = ev.type == YAML_MAPPING_START_EVENT;
			yaml_char_t *anchor = is_map ? ev.data.mapping_start.anchor : ev.data.sequence_start.anchor;
			yaml_char_t *tag = is_map ? ev.data.mapping_start.tag : ev.data.sequence_start.tag;
			int implicit = is_map ? ev.data.mapping_start.implicit : ev.data.sequence_start.implicit;
			if (anchor) {
				rc = at_mark(b, &ev.start_mark, ASIM_EUNSUPPORTED,
				             "YAML anchors (&name) are not supported: write the value out");
				break;
			}
			if (tag && !implicit) {
				rc = at_mark(b, &ev.start_mark, ASIM_EUNSUPPORTED,
				             "YAML tags (!tag) are not supported: remove it");
				break;
			}
			if (b->depth >= YD_MAX_DEPTH) {
				rc = at_mark(b, &ev.start_mark, ASIM_ESYNTAX,
				             "nesting deeper than %d levels", YD_MAX_DEPTH);
				break;
			}
			n = new_node(b, is_map ? YD_MAP : YD_SEQ, &ev.start_mark);
			if (n == NULL) {
				rc = asim_errorf(b->e, ASIM_ENOMEM, "%s: out of memory", b->d->file);
				break;
			}
			b->stack[b->depth++] = (struct frame){n, b->nkids};
			break;
		}
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			rc = close_container(b);
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
		if (rc != 0)
			return rc;
	}
}

int yd_load_buffer(yd_doc *d, const char *name, const char *buf, size_t len, asim_err *e)
{
	memset(d, 0, sizeof *d);
	d->file = asim_strdup(name);
	if (d->file == NULL)
		return asim_errorf(e, ASIM_ENOMEM, "out of memory");
	yaml_parser_t p;
	if (!yaml_parser_initialize(&p))
		return asim_errorf(e, ASIM_ENOMEM, "%s: out of memory", name);
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	struct builder b;
	memset(&b, 0, sizeof b);
	b.buf = buf;
	b.len = len;
	b.d = d;
	b.e = e;
	int rc = build(&b, &p);
	yaml_parser_delete(&p);
	asim_free(b.kids);
	if (rc != 0) {
		arena_free(d->arena);
		d->arena = NULL;
		d->root = NULL;
	}
	return rc;
}

int yd_load_file(yd_doc *d, const char *path, asim_err *e)
{
	memset(d, 0, sizeof *d);
	char *buf;
	size_t n;
	int rc = asim_read_file(path, &buf, &n, e);
	if (rc != 0)
		return rc;
	rc = yd_load_buffer(d, path, buf, n, e);
	asim_free(buf);
	return rc;
}

void yd_free(yd_doc *d)
{
	arena_free(d->arena);
	asim_free(d->file);
	memset(d, 0, sizeof *d);
}

/* ---- getters ------------------------------------------------------------------------------- */

const char *yd_kind_name(yd_kind k)
{
	return k == YD_MAP ? "mapping" : k == YD_SEQ ? "sequence" : "scalar";
}

const yd_node *yd_get(const yd_node *map, const char *key)
{
	if (map == NULL || map->kind != YD_MAP)
		return NULL;
	for (size_t i = 0; i < map->len; i++)
		if (strcmp(map->items[2 * i]->str, key) == 0)
			return map->items[2 * i + 1];
	return NULL;
}

static int verror(const yd_doc *d, const yd_node *n, asim_err *e, int code, const char *fmt,
                  va_list ap)
{
	char msg[768];
	vsnprintf(msg, sizeof msg, fmt, ap);
	return asim_error_at(e, code, d->file, n ? n->line : 1, n ? n->col : 1, "%s", msg);
}

int yd_error(const yd_doc *d, const yd_node *n, asim_err *e, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verror(d, n, e, code, fmt, ap);
	va_end(ap);
	return code;
}

/* The scalar's text, escaped and shortened for quoting in a message. */
static const char *quote(const yd_node *n, char *buf, size_t size)
{
	if (n->kind != YD_SCALAR) {
		snprintf(buf, size, "a %s", yd_kind_name(n->kind));
		return buf;
	}
	char esc[80];
	asim_escape(esc, sizeof esc, n->str);
	snprintf(buf, size, "'%s'", esc);
	return buf;
}

int yd_expect(const yd_doc *d, const yd_node *n, yd_kind kind, const char *what, asim_err *e)
{
	if (n == NULL)
		return yd_error(d, NULL, e, ASIM_ESCHEMA, "%s is missing", what);
	if (n->kind != kind)
		return yd_error(d, n, e, ASIM_ESCHEMA, "%s must be a %s, not a %s", what, yd_kind_name(kind),
		                yd_kind_name(n->kind));
	return ASIM_OK;
}

int yd_check_keys(const yd_doc *d, const yd_node *map, const char *const *allowed, size_t n,
                  const char *what, asim_err *e)
{
	int rc = yd_expect(d, map, YD_MAP, what, e);
	if (rc != 0)
		return rc;
	for (size_t i = 0; i < map->len; i++) {
		const yd_node *k = yd_key(map, i);
		size_t j;
		for (j = 0; j < n; j++)
			if (strcmp(k->str, allowed[j]) == 0)
				break;
		if (j < n)
			continue;
		char esc[96];
		asim_escape(esc, sizeof esc, k->str);
		const char *hint = asim_suggest(k->str, allowed, n);
		if (hint != NULL)
			return yd_error(d, k, e, ASIM_ESCHEMA, "unknown key '%s' in %s (did you mean '%s'?)", esc,
			                what, hint);
		char list[512];
		size_t o = 0;
		list[0] = '\0';
		for (j = 0; j < n && o < sizeof list - 1; j++)
			o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", j ? ", " : "", allowed[j]);
		return yd_error(d, k, e, ASIM_ESCHEMA, "unknown key '%s' in %s (known keys: %s)", esc, what,
		                list);
	}
	return ASIM_OK;
}

int yd_require(const yd_doc *d, const yd_node *map, const char *key, const char *what,
               const yd_node **out, asim_err *e)
{
	const yd_node *v = yd_get(map, key);
	if (v == NULL)
		return yd_error(d, map, e, ASIM_ESCHEMA, "missing key '%s' in %s", key, what);
	*out = v;
	return ASIM_OK;
}

int yd_str(const yd_doc *d, const yd_node *n, const char *what, const char **out, asim_err *e)
{
	int rc = yd_expect(d, n, YD_SCALAR, what, e);
	if (rc != 0)
		return rc;
	if (strlen(n->str) != n->len)
		return yd_error(d, n, e, ASIM_ESYNTAX, "%s contains a NUL character", what);
	*out = n->str;
	return ASIM_OK;
}

/* Plain unsigned integer: decimal digits, or 0x and hex digits; underscores are not allowed. */
static int parse_u64(const char *s, uint64_t *out)
{
	int base = 10;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (*s == '\0')
		return ASIM_ESYNTAX;
	uint64_t v = 0;
	for (; *s; s++) {
		int dgt;
		if (*s >= '0' && *s <= '9')
			dgt = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			dgt = *s - 'a' + 10;
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			dgt = *s - 'A' + 10;
		else
			return ASIM_ESYNTAX;
		if (v > (UINT64_MAX - (uint64_t)dgt) / (uint64_t)base)
			return ASIM_ERANGE;
		v = v * (uint64_t)base + (uint64_t)dgt;
	}
	*out = v;
	return ASIM_OK;
}

static int number_scalar(const yd_doc *d, const yd_node *n, const char *what, asim_err *e)
{
	int rc = yd_expect(d, n, YD_SCALAR, what, e);
	if (rc != 0)
		return rc;
	if (!n->plain)
		return yd_error(d, n, e, ASIM_ESCHEMA, "%s must be a number, not the quoted string '%.40s' "
		                "(remove the quotes)", what, n->str);
	return ASIM_OK;
}

int yd_u64(const yd_doc *d, const yd_node *n, const char *what, uint64_t min, uint64_t max,
           uint64_t *out, asim_err *e)
{
	int rc = number_scalar(d, n, what, e);
	if (rc != 0)
		return rc;
	char q[128];
	uint64_t v;
	const char *s = n->str[0] == '+' ? n->str + 1 : n->str;
	rc = parse_u64(s, &v);
	if (rc == ASIM_ESYNTAX)
		return yd_error(d, n, e, ASIM_ESCHEMA, "%s must be a whole number, not %s", what,
		                quote(n, q, sizeof q));
	if (rc != 0 || v < min || v > max)
		return yd_error(d, n, e, ASIM_ERANGE, "%s must be from %llu to %llu, not %s", what,
		                (unsigned long long)min, (unsigned long long)max, quote(n, q, sizeof q));
	*out = v;
	return ASIM_OK;
}

int yd_i64(const yd_doc *d, const yd_node *n, const char *what, int64_t min, int64_t max,
           int64_t *out, asim_err *e)
{
	int rc = number_scalar(d, n, what, e);
	if (rc != 0)
		return rc;
	char q[128];
	const char *s = n->str;
	int neg = s[0] == '-';
	if (s[0] == '-' || s[0] == '+')
		s++;
	uint64_t mag;
	rc = parse_u64(s, &mag);
	if (rc == ASIM_ESYNTAX)
		return yd_error(d, n, e, ASIM_ESCHEMA, "%s must be a whole number, not %s", what,
		                quote(n, q, sizeof q));
	int64_t v = 0;
	int over = rc != 0 || (neg ? mag > (uint64_t)INT64_MAX + 1 : mag > (uint64_t)INT64_MAX);
	if (!over)
		v = neg ? (int64_t)(0 - mag) : (int64_t)mag;
	if (over || v < min || v > max)
		return yd_error(d, n, e, ASIM_ERANGE, "%s must be from %lld to %lld, not %s", what,
		                (long long)min, (long long)max, quote(n, q, sizeof q));
	*out = v;
	return ASIM_OK;
}

/* A decimal number: [+-] digits [. digits] [e [+-] digits], at least one digit. */
static int is_decimal(const char *s)
{
	int digits = 0;
	if (*s == '+' || *s == '-')
		s++;
	while (*s >= '0' && *s <= '9')
		s++, digits++;
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++)
			digits++;
	if (!digits)
		return 0;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!(*s >= '0' && *s <= '9'))
			return 0;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return *s == '\0';
}

int yd_f64(const yd_doc *d, const yd_node *n, const char *what, double min, double max,
           double *out, asim_err *e)
{
	int rc = number_scalar(d, n, what, e);
	if (rc != 0)
		return rc;
	char q[128];
	if (!is_decimal(n->str))
		return yd_error(d, n, e, ASIM_ESCHEMA, "%s must be a number, not %s", what,
		                quote(n, q, sizeof q));
	double v = strtod(n->str, NULL);
	if (!isfinite(v) || v < min || v > max)
		return yd_error(d, n, e, ASIM_ERANGE, "%s must be from %g to %g, not %s", what, min, max,
		                quote(n, q, sizeof q));
	*out = v;
	return ASIM_OK;
}

int yd_bool(const yd_doc *d, const yd_node *n, const char *what, int *out, asim_err *e)
{
	int rc = yd_expect(d, n, YD_SCALAR, what, e);
	if (rc != 0)
		return rc;
	if (n->plain && strcmp(n->str, "true") == 0)
		*out = 1;
	else if (n->plain && strcmp(n->str, "false") == 0)
		*out = 0;
	else {
		char q[128];
		return yd_error(d, n, e, ASIM_ESCHEMA, "%s must be true or false, not %s", what,
		                quote(n, q, sizeof q));
	}
	return ASIM_OK;
}

int yd_size(const yd_doc *d, const yd_node *n, const char *what, uint64_t min, uint64_t max,
            uint64_t *out, asim_err *e)
{
	static const struct { const char *name; unsigned shift; } units[] = {
		{"B", 0}, {"KiB", 10}, {"MiB", 20}, {"GiB", 30}, {"TiB", 40},
	};
	int rc = yd_expect(d, n, YD_SCALAR, what, e);
	if (rc != 0)
		return rc;
	char q[128];
	const char *s = n->str;
	/* mantissa: digits [. digits], kept exactly as an integer and a count of decimals */
	unsigned __int128 mant = 0;
	int decimals = 0, digits = 0, overflow = 0;
	for (; *s >= '0' && *s <= '9'; s++, digits++) {
		mant = mant * 10 + (unsigned)(*s - '0');
		if (mant > (unsigned __int128)UINT64_MAX * 1000000)
			overflow = 1;
	}
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++, digits++, decimals++) {
			mant = mant * 10 + (unsigned)(*s - '0');
			if (mant > (unsigned __int128)UINT64_MAX * 1000000 || decimals > 18)
				overflow = 1;
		}
	while (*s == ' ')
		s++;
	unsigned shift = 0;
	int unit_ok = *s == '\0';
	for (size_t i = 0; !unit_ok && i < sizeof units / sizeof units[0]; i++)
		if (strcmp(s, units[i].name) == 0) {
			shift = units[i].shift;
			unit_ok = 1;
		}
	if (!digits || !unit_ok)
		return yd_error(d, n, e, ASIM_ESCHEMA,
		                "%s must be a size: a number of bytes, or a number with a unit B, KiB, MiB, "
		                "GiB or TiB (e.g. '24 MiB'), not %s", what, quote(n, q, sizeof q));
	unsigned __int128 pow10 = 1;
	for (int i = 0; i < decimals; i++)
		pow10 *= 10;
	if (!overflow && mant > (((unsigned __int128)1 << 120) >> shift))
		overflow = 1;
	unsigned __int128 scaled = overflow ? 0 : mant << shift;
	if (!overflow && scaled % pow10 != 0)
		return yd_error(d, n, e, ASIM_ERANGE, "%s %s is not a whole number of bytes", what,
		                quote(n, q, sizeof q));
	unsigned __int128 bytes = overflow ? 0 : scaled / pow10;
	if (overflow || bytes > UINT64_MAX || bytes < min || bytes > max)
		return yd_error(d, n, e, ASIM_ERANGE, "%s must be from %llu to %llu bytes, not %s", what,
		                (unsigned long long)min, (unsigned long long)max, quote(n, q, sizeof q));
	*out = (uint64_t)bytes;
	return ASIM_OK;
}

int yd_enum(const yd_doc *d, const yd_node *n, const char *what, const char *const *names,
            size_t count, int *out, asim_err *e)
{
	int rc = yd_expect(d, n, YD_SCALAR, what, e);
	if (rc != 0)
		return rc;
	for (size_t i = 0; i < count; i++)
		if (strcmp(n->str, names[i]) == 0) {
			*out = (int)i;
			return ASIM_OK;
		}
	char q[128], list[512];
	size_t o = 0;
	list[0] = '\0';
	for (size_t j = 0; j < count && o < sizeof list - 1; j++)
		o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", j ? ", " : "", names[j]);
	const char *hint = asim_suggest(n->str, names, count);
	if (hint != NULL)
		return yd_error(d, n, e, ASIM_ESCHEMA, "%s must be one of %s, not %s (did you mean '%s'?)",
		                what, list, quote(n, q, sizeof q), hint);
	return yd_error(d, n, e, ASIM_ESCHEMA, "%s must be one of %s, not %s", what, list,
	                quote(n, q, sizeof q));
}
