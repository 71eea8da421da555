/*
 * error.c -- the status table's views (names, messages, exit statuses) and the error context.
 * See error.h for the contract of a message: one line, `file:line:column: message`.
 */
#include "sim/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *asim_errname(int code)
{
	switch (code) {
	case ASIM_OK: return "OK";
#define ASIM_ERROR(name, c, exit_status, msg) case (c): return "E" #name;
#include "sim/error.def"
#undef ASIM_ERROR
	default: return "EUNKNOWN";
	}
}

const char *asim_strerror(int code)
{
	switch (code) {
	case ASIM_OK: return "ok";
#define ASIM_ERROR(name, c, exit_status, msg) case (c): return (msg);
#include "sim/error.def"
#undef ASIM_ERROR
	default: return "unknown error";
	}
}

int asim_exit_status(int code)
{
	switch (code) {
	case ASIM_OK: return 0;
#define ASIM_ERROR(name, c, exit_status, msg) case (c): return (exit_status);
#include "sim/error.def"
#undef ASIM_ERROR
	default: return 1;
	}
}

void asim_err_init(asim_err *e)
{
	e->code = 0;
	e->msg[0] = '\0';
}

void asim_err_clear(asim_err *e)
{
	asim_err_init(e);
}

/* Replace anything that would break the one-line contract (newlines, tabs, other control bytes)
 * by a space; the message itself is ours, only quoted user text needs asim_escape(). */
static void one_line(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

static int record(asim_err *e, int code, const char *file, unsigned long line, unsigned long col,
                  const char *fmt, va_list ap)
{
	if (e == NULL || e->code != 0)
		return code;
	size_t n = 0;
	char fbuf[512];
	if (file != NULL) {
		asim_escape(fbuf, sizeof fbuf, file);
		if (line > 0 && col > 0)
			n = (size_t)snprintf(e->msg, sizeof e->msg, "%s:%lu:%lu: ", fbuf, line, col);
		else if (line > 0)
			n = (size_t)snprintf(e->msg, sizeof e->msg, "%s:%lu: ", fbuf, line);
		else
			n = (size_t)snprintf(e->msg, sizeof e->msg, "%s: ", fbuf);
		if (n >= sizeof e->msg)
			n = sizeof e->msg - 1;
	}
	vsnprintf(e->msg + n, sizeof e->msg - n, fmt, ap);
	one_line(e->msg);
	e->code = code;
	return code;
}

int asim_error_at(asim_err *e, int code, const char *file, unsigned long line, unsigned long col,
                  const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	record(e, code, file, line, col, fmt, ap);
	va_end(ap);
	return code;
}

int asim_errorf(asim_err *e, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	record(e, code, NULL, 0, 0, fmt, ap);
	va_end(ap);
	return code;
}

void asim_escape(char *dst, size_t n, const char *src)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	if (n == 0)
		return;
	for (; *src; src++) {
		unsigned char c = (unsigned char)*src;
		size_t need = (c >= 0x20 && c < 0x7f) ? 1 : 4;
		if (o + need + 4 > n) {  /* room for "..." and NUL */
			if (o + 4 <= n) {
				memcpy(dst + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (need == 1) {
			dst[o++] = (char)c;
		} else {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	dst[o] = '\0';
}

void asim_panic(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fflush(stdout);
	fprintf(stderr, "accelsim: internal error at %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (this is a bug in accelsim; please report it with the input that caused it)\n", stderr);
	abort();
}

/* Optimal-string-alignment distance: insertions, deletions, substitutions and transpositions of
 * two neighbouring characters each cost one ("hmb" is one edit from "hbm"). */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return (size_t)-1;
	size_t d[65][65];
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	return d[la][lb];
}

static int same_ignoring_case(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = *a, y = *b;
		if (x >= 'A' && x <= 'Z')
			x = (char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (char)(y - 'A' + 'a');
		if (x != y)
			return 0;
	}
	return *a == *b;
}

const char *asim_suggest(const char *word, const char *const *cands, size_t n)
{
	/* A slip of case is the likeliest typo: it wins outright. */
	for (size_t i = 0; i < n; i++)
		if (same_ignoring_case(word, cands[i]))
			return cands[i];
	size_t limit = strlen(word) / 3;
	if (limit < 2)
		limit = 2;
	const char *best = NULL;
	size_t bestd = limit + 1;
	for (size_t i = 0; i < n; i++) {
		size_t d = edit_distance(word, cands[i]);
		if (d < bestd) {
			bestd = d;
			best = cands[i];
		}
	}
	return best;
}
