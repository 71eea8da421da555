/*
 * test_cli.c -- the `accelsim` program's dispatch, help, version, exit statuses and the strict
 * number parsers.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "sim/cli.h"
#include "tests/testutil.h"

static const char *const command_names[] = {
#define COMMAND(name, summary) #name,
#include "sim/commands.def"
#undef COMMAND
};
#define NCMD (sizeof command_names / sizeof command_names[0])

Test(cli, version_prints_package_version)
{
	tu_result r;
	cr_assert_eq(tu_run(&r, (const char *const[]){"accelsim", "version", NULL}), 0);
	cr_expect_eq(r.status, 0);
	cr_expect_str_eq(r.out, "accelsim " PACKAGE_VERSION "\n");
	cr_expect_eq(r.errlen, 0);
	tu_result_free(&r);
	cr_assert_eq(tu_run(&r, (const char *const[]){"accelsim", "--version", NULL}), 0);
	cr_expect_str_eq(r.out, "accelsim " PACKAGE_VERSION "\n");
	tu_result_free(&r);
}

Test(cli, help_lists_every_command)
{
	tu_result r;
	cr_assert_eq(tu_run(&r, (const char *const[]){"accelsim", "--help", NULL}), 0);
	cr_expect_eq(r.status, 0);
	for (size_t i = 0; i < NCMD; i++) {
		char needle[64];
		snprintf(needle, sizeof needle, "\n  %s ", command_names[i]);
		cr_expect_not_null(strstr(r.out, needle), "help does not list %s", command_names[i]);
	}
	tu_result_free(&r);
}

Test(cli, no_arguments_is_a_usage_error)
{
	tu_result r;
	cr_assert_eq(tu_run(&r, (const char *const[]){"accelsim", NULL}), 0);
	cr_expect_eq(r.status, 2);
	cr_expect_eq(r.outlen, 0);
	cr_expect_not_null(strstr(r.err, "usage: accelsim"));
	tu_result_free(&r);
}

Test(cli, unknown_command_is_one_line_exit_2)
{
	tu_result r;
	cr_assert_eq(tu_run(&r, (const char *const[]){"accelsim", "nonsense", NULL}), 0);
	cr_expect_eq(r.status, 2);
	cr_expect_eq(r.outlen, 0);
	cr_expect_eq(tu_count_lines(r.err), 1, "stderr: %s", r.err);
	cr_expect_not_null(strstr(r.err, "unknown command 'nonsense'"));
	tu_result_free(&r);
	/* A near miss gets a suggestion. */
	cr_assert_eq(tu_run(&r, (const char *const[]){"accelsim", "sweeep", NULL}), 0);
	cr_expect_eq(r.status, 2);
	cr_expect_not_null(strstr(r.err, "did you mean 'sweep'"), "stderr: %s", r.err);
	tu_result_free(&r);
	/* Binary garbage in a command name is escaped, not echoed raw. */
	cr_assert_eq(tu_run(&r, (const char *const[]){"accelsim", "\x1b[31m\n", NULL}), 0);
	cr_expect_eq(r.status, 2);
	cr_expect_eq(tu_count_lines(r.err), 1);
	cr_expect_null(strchr(r.err, '\x1b'));
	tu_result_free(&r);
}

Test(cli, every_command_has_help)
{
	for (size_t i = 0; i < NCMD; i++) {
		tu_result r;
		cr_assert_eq(tu_run(&r, (const char *const[]){"accelsim", command_names[i], "--help", NULL}), 0);
		cr_expect_eq(r.status, 0, "%s --help", command_names[i]);
		char needle[64];
		snprintf(needle, sizeof needle, "usage: accelsim %s", command_names[i]);
		cr_expect_not_null(strstr(r.out, needle), "%s --help: %s", command_names[i], r.out);
		tu_result_free(&r);
		cr_assert_eq(tu_run(&r, (const char *const[]){"accelsim", "help", command_names[i], NULL}), 0);
		cr_expect_eq(r.status, 0);
		cr_expect_not_null(strstr(r.out, needle));
		tu_result_free(&r);
	}
}

Test(cli, strict_number_parsing)
{
	uint64_t u;
	int64_t i;
	double d;
	cr_expect_eq(cli_parse_u64("42", &u), 0);
	cr_expect_eq(u, 42);
	cr_expect_eq(cli_parse_u64("0x10", &u), 0);
	cr_expect_eq(u, 16);
	cr_expect_eq(cli_parse_u64("18446744073709551615", &u), 0);
	cr_expect_eq(u, UINT64_MAX);
	cr_expect_eq(cli_parse_u64("18446744073709551616", &u), ASIM_ERANGE);
	cr_expect_eq(cli_parse_u64("-1", &u), ASIM_ESYNTAX);
	cr_expect_eq(cli_parse_u64("12abc", &u), ASIM_ESYNTAX);
	cr_expect_eq(cli_parse_u64("", &u), ASIM_ESYNTAX);
	cr_expect_eq(cli_parse_i64("-9223372036854775808", &i), 0);
	cr_expect_eq(i, INT64_MIN);
	cr_expect_eq(cli_parse_i64("9223372036854775808", &i), ASIM_ERANGE);
	cr_expect_eq(cli_parse_double("1.5e3", &d), 0);
	cr_expect_eq(d, 1500.0);
	cr_expect_eq(cli_parse_double("1.5x", &d), ASIM_ESYNTAX);
	cr_expect_eq(cli_parse_double("1e999", &d), ASIM_ERANGE);
}
