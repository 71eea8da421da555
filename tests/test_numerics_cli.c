/*
 * test_numerics_cli.c -- `accelsim numerics convert` and `check` through the built program.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/testutil.h"

static tu_result run(const char *const argv[])
{
	tu_result r;
	cr_assert_eq(tu_run(&r, argv), 0);
	return r;
}

Test(numerics_cli, convert_prints_bits_and_codes)
{
	tu_result r = run((const char *const[]){"accelsim", "numerics", "convert", "--to", "bf16",
	                                       "--round", "rne", "1", "0x3ff0300000000000", "-inf",
	                                       "-nan", "-0x1.8p-3", NULL});
	cr_expect_eq(r.status, 0, "%s", r.err);
	cr_expect_str_eq(r.out, "0x3ff0000000000000 0x3f80\n"
	                        "0x3ff0300000000000 0x3f82\n"
	                        "0xfff0000000000000 0xff80\n"
	                        "0xfff8000000000000 0xffc0\n"
	                        "0xbfc8000000000000 0xbe40\n");
	tu_result_free(&r);
	/* FP8 saturates by default; --no-saturate gives NaN (no Inf in e4m3) */
	r = run((const char *const[]){"accelsim", "numerics", "convert", "--to", "fp8_e4m3",
	                              "--round", "RNE", "1000", "inf", NULL});
	cr_expect_str_eq(r.out, "0x408f400000000000 0x7e\n0x7ff0000000000000 0x7e\n");
	tu_result_free(&r);
	r = run((const char *const[]){"accelsim", "numerics", "convert", "--to=fp8_e4m3",
	                              "--round=rne", "--no-saturate", "1000", NULL});
	cr_expect_str_eq(r.out, "0x408f400000000000 0x7f\n");
	tu_result_free(&r);
	r = run((const char *const[]){"accelsim", "numerics", "convert", "--to", "fp32", "--round",
	                              "rtz", "--ftz", "1e-40", "0.1", NULL});
	cr_expect_str_eq(r.out, "0x37a16c262777579c 0x00000000\n0x3fb999999999999a 0x3dcccccc\n",
	                 "%s", r.out);
	tu_result_free(&r);
}

/* SR with an explicit random integer, and with Philox: the contract's known answer
 * (seed 0x0123456789abcdef, stream 7, i = 0 -> word 0x34b23a77). 1.0625 in e4m3 has
 * frac = 0.5 on the 1/8 grid: with k = 3, t = 4, so r < 4 rounds up. */
Test(numerics_cli, convert_stochastic)
{
	tu_result r = run((const char *const[]){"accelsim", "numerics", "convert", "--to",
	                                       "fp8_e4m3", "--round", "sr", "--sr-bits", "3", "--r",
	                                       "3", "0x1.1p0", NULL});
	cr_expect_str_eq(r.out, "0x3ff1000000000000 0x39\n");
	tu_result_free(&r);
	r = run((const char *const[]){"accelsim", "numerics", "convert", "--to", "fp8_e4m3",
	                              "--round", "sr", "--sr-bits", "3", "--r", "4", "0x1.1p0", NULL});
	cr_expect_str_eq(r.out, "0x3ff1000000000000 0x38\n");
	tu_result_free(&r);
	/* word 0x34b23a77 >> 29 = 1 < 4: up.  With k = 2: 0 < t = 2: up. */
	r = run((const char *const[]){"accelsim", "numerics", "convert", "--to", "fp8_e4m3",
	                              "--round", "sr", "--sr-bits", "3", "--seed",
	                              "0x0123456789abcdef", "--stream", "7", "--index", "0",
	                              "0x1.1p0", NULL});
	cr_expect_str_eq(r.out, "0x3ff1000000000000 0x39\n");
	tu_result_free(&r);
	/* bf16: 1 + 2^-8 + 2^-9 (frac 0.75 of the 2^-7 grid), k = 32: t = 0xC0000000 > 0x34b23a77 */
	r = run((const char *const[]){"accelsim", "numerics", "convert", "--to", "bf16", "--round",
	                              "sr", "--seed", "81985529216486895", "--stream", "7",
	                              "0x1.018p0", NULL});
	cr_expect_str_eq(r.out, "0x3ff0180000000000 0x3f81\n", "%s", r.out);
	tu_result_free(&r);
}

Test(numerics_cli, convert_bad_input_exit_2_one_line)
{
	const char *const bad[][14] = {
		{"accelsim", "numerics", "convert", "--round", "rne", "1", NULL},
		{"accelsim", "numerics", "convert", "--to", "fp7", "--round", "rne", "1", NULL},
		{"accelsim", "numerics", "convert", "--to", "bf16", "--round", "nearest", "1", NULL},
		{"accelsim", "numerics", "convert", "--to", "bf16", "--round", "rne", "1.2.3", NULL},
		{"accelsim", "numerics", "convert", "--to", "bf16", "--round", "rne", "1e999", NULL},
		{"accelsim", "numerics", "convert", "--to", "bf16", "--round", "rne", "nan(1)", NULL},
		{"accelsim", "numerics", "convert", "--to", "bf16", "--round", "rne", NULL},
		{"accelsim", "numerics", "convert", "--to", "bf16", "--round", "sr", "1", NULL},
		{"accelsim", "numerics", "convert", "--to", "bf16", "--round", "sr", "--sr-bits", "33",
		 "--r", "0", "1", NULL},
		{"accelsim", "numerics", "convert", "--to", "bf16", "--round", "sr", "--sr-bits", "4",
		 "--r", "16", "1", NULL},
		{"accelsim", "numerics", "convert", "--to", "bf16", "--round", "rne", "--r", "1", "1",
		 NULL},
		{"accelsim", "numerics", "convert", "--to", "bf16", "--round", "rne", "--bogus", "1",
		 NULL},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		tu_result r = run(bad[i]);
		cr_expect_eq(r.status, 2, "case %zu: status %d", i, r.status);
		cr_expect_eq(r.outlen, 0, "case %zu: stdout %s", i, r.out);
		cr_expect_eq(tu_count_lines(r.err), 1, "case %zu: %s", i, r.err);
		tu_result_free(&r);
	}
	tu_result r = run((const char *const[]){"accelsim", "numerics", "--help", NULL});
	cr_expect_eq(r.status, 0);
	const char *flags[] = {"--to", "--round", "--saturate", "--no-saturate", "--ftz",
	                       "--sr-bits", "--r ", "--seed", "--stream", "--index", "--golden",
	                       "--update-golden", "--threads"};
	for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
		cr_expect_not_null(strstr(r.out, flags[i]), "usage lacks %s", flags[i]);
	tu_result_free(&r);
}
