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

/* ---- numerics check ------------------------------------------------------------------------- */

Test(numerics_cli, check_shipped_specs_match_golden)
{
	char *spec = tu_srcpath("models/numerics/basic.yaml");
	char *golden = tu_srcpath("tests/golden/numerics/basic.golden");
	const char *ths[] = {"1", "2"};
	for (int t = 0; t < 2; t++) {
		tu_result r = run((const char *const[]){"accelsim", "numerics", "check", spec, "--golden",
		                                       golden, "--threads", ths[t], NULL});
		cr_expect_eq(r.status, 0, "threads %s: %s%s", ths[t], r.out, r.err);
		cr_expect_not_null(strstr(r.out, "14 cases match"), "%s", r.out);
		tu_result_free(&r);
	}
	free(spec);
	free(golden);
}

/* A changed digest (golden edited) exits 1 and names the case. */
Test(numerics_cli, check_changed_digest_exits_1)
{
	char *dir = tu_mkdtemp();
	char *golden = tu_srcpath("tests/golden/numerics/basic.golden");
	char *spec = tu_srcpath("models/numerics/basic.yaml");
	size_t len;
	char *g = tu_read_file(golden, &len);
	cr_assert_not_null(g);
	char *p = strstr(g, "\nmatmul_bf16_rne ");
	cr_assert_not_null(p);
	p += strlen("\nmatmul_bf16_rne ");
	*p = *p == '0' ? '1' : '0';
	char path[4096];
	snprintf(path, sizeof path, "%s/g.golden", dir);
	cr_assert_eq(tu_write_file(path, g, len), 0);
	tu_result r = run((const char *const[]){"accelsim", "numerics", "check", spec, "--golden",
	                                       path, NULL});
	cr_expect_eq(r.status, 1);
	cr_expect_not_null(strstr(r.err, "matmul_bf16_rne"), "%s", r.err);
	cr_expect_not_null(strstr(r.err, "digest changed"), "%s", r.err);
	tu_result_free(&r);
	/* --update-golden rewrites it, then it matches again */
	r = run((const char *const[]){"accelsim", "numerics", "check", spec, "--golden", path,
	                              "--update-golden", NULL});
	cr_expect_eq(r.status, 0, "%s", r.err);
	tu_result_free(&r);
	char *g2 = tu_read_file(path, NULL);
	char *orig = tu_read_file(golden, NULL);
	cr_expect_str_eq(strchr(g2, '\n'), strchr(orig, '\n'));   /* same content after the header */
	free(g2);
	free(orig);
	free(g);
	free(spec);
	free(golden);
	tu_rmtree(dir);
	free(dir);
}

/* Bad specs: one line `file:line:column: message`, exit 2, nothing on stdout. */
Test(numerics_cli, check_bad_specs_exit_2_with_position)
{
	static const struct {
		const char *yaml, *needle;
	} bad[] = {
		{"numerics: 1\ngolden: x\ncases:\n  - name: a\n    op: convert\n    shape: [4]\n"
		 "    input: {dtype: fp32, dist: normal}\n    out: {dtype: bf16, rnd: rne}\n",
		 ":8:"},
		{"numerics: 1\ngolden: x\ncases:\n  - name: a\n    op: transmogrify\n", ":5:"},
		{"numerics: 1\ngolden: x\ncases:\n  - name: a\n    op: convert\n    shape: [4]\n"
		 "    input: {dtype: fp9, dist: normal}\n    out: {dtype: bf16}\n", ":7:"},
		{"numerics: 1\ngolden: x\ncases:\n  - name: a\n    op: convert\n    shape: [4]\n"
		 "    input: {dtype: fp32, dist: normal}\n    out: {dtype: bf16, round: sr, sr_bits: 40}\n",
		 ":8:"},
		{"numerics: 1\ngolden: x\ncases:\n  - name: a\n    op: matmul\n    m: 2\n    n: 2\n"
		 "    k: 2\n    out: {dtype: bf16}\n    shape: [3]\n", ":10:"},
		{"numerics: 2\ncases: []\n", ":1:"},
		{"numerics: 1\ngolden: x\ncases:\n  - name: a\n    op: convert\n    shape: [4]\n"
		 "    input: {dtype: fp32, npy: missing.npy}\n    out: {dtype: bf16}\n", ":7:"},
		{"numerics: 1\n  bad: [\n", ":"},
	};
	char *dir = tu_mkdtemp();
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/s%zu.yaml", dir, i);
		cr_assert_eq(tu_write_file(path, bad[i].yaml, strlen(bad[i].yaml)), 0);
		tu_result r = run((const char *const[]){"accelsim", "numerics", "check", path, NULL});
		cr_expect_eq(r.status, 2, "case %zu: %d %s", i, r.status, r.err);
		cr_expect_eq(r.outlen, 0, "case %zu: %s", i, r.out);
		cr_expect_eq(tu_count_lines(r.err), 1, "case %zu: %s", i, r.err);
		cr_expect(strncmp(r.err, path, strlen(path)) == 0, "case %zu: %s", i, r.err);
		cr_expect_not_null(strstr(r.err, bad[i].needle), "case %zu: %s", i, r.err);
		tu_result_free(&r);
	}
	tu_rmtree(dir);
	free(dir);
}
