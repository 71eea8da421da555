/*
 * cli.c -- shared subcommand plumbing (see cli.h).
 */
#include "sim/cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	char msg[ASIM_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	fflush(stdout);
	fprintf(stderr, "accelsim %s: %s (try 'accelsim %s --help')\n", cmd, msg, cmd);
	return 2;
}

/* A message "starts with a position" when it has the shape "something:digits:" before the first
 * space; otherwise it gets the command as prefix. */
static int has_position(const char *m)
{
	const char *sp = strchr(m, ' ');
	const char *c = strchr(m, ':');
	return c != NULL && (sp == NULL || c < sp) && c[1] >= '0' && c[1] <= '9';
}

int cli_report(const char *cmd, const asim_err *e)
{
	int code = e->code ? e->code : ASIM_EINTERNAL;
	fflush(stdout);
	if (e->msg[0] == '\0')
		fprintf(stderr, "accelsim %s: %s\n", cmd, asim_strerror(code));
	else if (has_position(e->msg))
		fprintf(stderr, "%s\n", e->msg);
	else
		fprintf(stderr, "accelsim %s: %s\n", cmd, e->msg);
	return asim_exit_status(code);
}

int cli_not_yet(const char *cmd)
{
	fflush(stdout);
	fprintf(stderr, "accelsim %s: not yet available in this version of accelsim\n", cmd);
	return 1;
}

int cli_wants_help(int argc, char **argv)
{
	return argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
}

int cli_parse_u64(const char *s, uint64_t *out)
{
	if (s == NULL || *s == '\0' || *s == '-' || *s == '+' || *s == ' ')
		return ASIM_ESYNTAX;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ? 16 : 10);
	if (end == s || *end != '\0')
		return ASIM_ESYNTAX;
	if (errno == ERANGE)
		return ASIM_ERANGE;
	*out = (uint64_t)v;
	return ASIM_OK;
}

int cli_parse_i64(const char *s, int64_t *out)
{
	if (s == NULL || *s == '\0')
		return ASIM_ESYNTAX;
	int neg = s[0] == '-';
	uint64_t mag;
	int rc = cli_parse_u64(s + neg, &mag);
	if (rc != 0)
		return rc;
	if (neg ? mag > (uint64_t)INT64_MAX + 1 : mag > (uint64_t)INT64_MAX)
		return ASIM_ERANGE;
	*out = neg ? (int64_t)(0 - mag) : (int64_t)mag;
	return ASIM_OK;
}

int cli_parse_double(const char *s, double *out)
{
	if (s == NULL || *s == '\0' || *s == ' ')
		return ASIM_ESYNTAX;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || *end != '\0')
		return ASIM_ESYNTAX;
	if (errno == ERANGE && isinf(v))
		return ASIM_ERANGE;
	*out = v;
	return ASIM_OK;
}
