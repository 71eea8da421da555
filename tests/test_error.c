/*
 * test_error.c -- the status table and the error context.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "sim/error.h"

static const struct { int code; const char *name; int exit_status; } table[] = {
#define ASIM_ERROR(name, code, exit_status, msg) {code, "E" #name, exit_status},
#include "sim/error.def"
#undef ASIM_ERROR
};
#define N (sizeof table / sizeof table[0])

Test(error, codes_and_names_are_unique_and_negative)
{
	for (size_t i = 0; i < N; i++) {
		cr_expect_lt(table[i].code, 0, "%s must be negative", table[i].name);
		cr_expect(table[i].exit_status == 1 || table[i].exit_status == 2,
		          "%s: exit status must be 1 or 2", table[i].name);
		for (size_t j = i + 1; j < N; j++) {
			cr_expect_neq(table[i].code, table[j].code, "%s and %s share a code", table[i].name,
			              table[j].name);
			cr_expect_str_neq(table[i].name, table[j].name);
		}
	}
}

Test(error, views_expand_from_the_table)
{
	for (size_t i = 0; i < N; i++) {
		cr_expect_str_eq(asim_errname(table[i].code), table[i].name);
		cr_expect_str_neq(asim_strerror(table[i].code), "unknown error");
		cr_expect_eq(asim_exit_status(table[i].code), table[i].exit_status);
	}
	cr_expect_str_eq(asim_errname(ASIM_OK), "OK");
	cr_expect_eq(asim_exit_status(ASIM_OK), 0);
	cr_expect_str_eq(asim_errname(-9999), "EUNKNOWN");
	cr_expect_eq(asim_exit_status(-9999), 1);
	/* User errors map to 2, resource failures to 1. */
	cr_expect_eq(asim_exit_status(ASIM_ESYNTAX), 2);
	cr_expect_eq(asim_exit_status(ASIM_ENOMEM), 1);
}

Test(error, message_has_file_line_column_and_first_error_wins)
{
	asim_err e;
	asim_err_init(&e);
	int rc = asim_error_at(&e, ASIM_ESCHEMA, "chip.yaml", 12, 7, "unknown key '%s'", "rowz");
	cr_expect_eq(rc, ASIM_ESCHEMA);
	cr_expect_eq(e.code, ASIM_ESCHEMA);
	cr_expect_str_eq(e.msg, "chip.yaml:12:7: unknown key 'rowz'");
	asim_error_at(&e, ASIM_ERANGE, "other.yaml", 1, 1, "later");
	cr_expect_eq(e.code, ASIM_ESCHEMA);
	cr_expect_str_eq(e.msg, "chip.yaml:12:7: unknown key 'rowz'");
	asim_err_clear(&e);
	asim_errorf(&e, ASIM_EIO, "disk full");
	cr_expect_str_eq(e.msg, "disk full");
	/* A NULL context is allowed and ignored. */
	cr_expect_eq(asim_errorf(NULL, ASIM_EIO, "x"), ASIM_EIO);
}

Test(error, message_is_one_line_whatever_the_input)
{
	asim_err e;
	asim_err_init(&e);
	asim_error_at(&e, ASIM_ESYNTAX, "a\nb.yaml", 3, 4, "bad\nvalue\t'%s'", "x\r\ny");
	cr_expect_null(strchr(e.msg, '\n'));
	cr_expect_null(strchr(e.msg, '\r'));
	cr_expect_null(strchr(e.msg, '\t'));
	cr_expect_str_eq(e.msg, "a\\x0ab.yaml:3:4: bad value 'x  y'");
}

Test(error, escape_quotes_binary_and_truncates)
{
	char buf[16];
	asim_escape(buf, sizeof buf, "ab\x01\xff");
	cr_expect_str_eq(buf, "ab\\x01\\xff");
	asim_escape(buf, sizeof buf, "0123456789abcdefghij");
	cr_expect_eq(strlen(buf), 15);
	cr_expect_str_eq(buf + 12, "...");
	cr_expect_eq(strncmp(buf, "0123456789ab", 12), 0);
}

Test(error, suggest_finds_close_names_only)
{
	const char *const keys[] = {"rows", "cols", "dataflow", "clock_ghz"};
	cr_expect_str_eq(asim_suggest("rowz", keys, 4), "rows");
	cr_expect_str_eq(asim_suggest("dataflw", keys, 4), "dataflow");
	cr_expect_str_eq(asim_suggest("clock_mhz", keys, 4), "clock_ghz");
	cr_expect_null(asim_suggest("banana", keys, 4));
	/* A swap of neighbours is one edit: "hmb" is nearer "hbm" (1) than "dma" (2). */
	const char *const mem[] = {"dma", "hbm"};
	cr_expect_str_eq(asim_suggest("hmb", mem, 2), "hbm");
	/* A case slip wins over any edit-distance candidate. */
	const char *const t[] = {"x", "w", "W1"};
	cr_expect_str_eq(asim_suggest("W", t, 3), "w");
}
