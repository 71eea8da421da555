/*
 * test_yamldoc.c -- the YAML layer: structure and positions, refusals (duplicates, aliases,
 * depth, garbage), and the typed getters with their one-line positioned messages.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/yamldoc.h"
#include "tests/testutil.h"

static int load(yd_doc *d, asim_err *e, const char *text)
{
	asim_err_init(e);
	return yd_load_buffer(d, "t.yaml", text, strlen(text), e);
}

Test(yamldoc, builds_tree_with_one_based_positions)
{
	yd_doc d;
	asim_err e;
	cr_assert_eq(load(&d, &e, "accelsim: 1\npe_array:\n  rows: 128\n  dims: [1, 2, 3]\n"), 0, "%s", e.msg);
	cr_assert_eq(d.root->kind, YD_MAP);
	cr_expect_eq(d.root->len, 2);
	const yd_node *pe = yd_get(d.root, "pe_array");
	cr_assert_not_null(pe);
	const yd_node *rows = yd_get(pe, "rows");
	cr_assert_not_null(rows);
	cr_expect_str_eq(rows->str, "128");
	cr_expect_eq(rows->line, 3);
	cr_expect_eq(rows->col, 9);
	const yd_node *dims = yd_get(pe, "dims");
	cr_expect_eq(dims->kind, YD_SEQ);
	cr_expect_eq(dims->len, 3);
	cr_expect_str_eq(yd_item(dims, 2)->str, "3");
	cr_expect_null(yd_get(pe, "cols"));
	yd_free(&d);
}

static void expect_fail(const char *text, const char *needle)
{
	yd_doc d;
	asim_err e;
	int rc = load(&d, &e, text);
	cr_expect_neq(rc, 0, "accepted: %s", text);
	cr_expect_not_null(strstr(e.msg, needle), "message '%s' lacks '%s'", e.msg, needle);
	cr_expect_eq(strncmp(e.msg, "t.yaml:", 7), 0, "no file prefix: %s", e.msg);
	cr_expect_null(strchr(e.msg, '\n'));
	yd_free(&d);
}

Test(yamldoc, refuses_what_would_give_a_silent_wrong_answer)
{
	expect_fail("a: 1\nb: 2\na: 3\n", "t.yaml:3:1: duplicate key 'a' (first given at line 1)");
	expect_fail("a: &x 1\nb: *x\n", "t.yaml:1:4: YAML anchors");
	expect_fail("a: !!int 1\n", "YAML tags");
	expect_fail("", "t.yaml:1:1: the file is empty");
	expect_fail("a: 1\n---\nb: 2\n", "a second YAML document");
	expect_fail("a: [1, 2\n", "YAML syntax error");
	expect_fail("a:\n  - b\n c: d\n", "YAML syntax error");
	expect_fail("a: 1\nb: \x01\x02\x03\n", "t.yaml:2:4: not a YAML text file");
	expect_fail("a: \xff\xfe\n", "not a YAML text file");
	expect_fail("? [1, 2]\n: 3\n", "a mapping key must be a plain name");
}

Test(yamldoc, deep_nesting_is_refused_not_a_stack_overflow)
{
	size_t n = 100000;
	char *s = malloc(2 * n + 1);
	memset(s, '[', n);
	memset(s + n, ']', n);
	s[2 * n] = '\0';
	expect_fail(s, "nesting deeper than 64 levels");
	free(s);
}

Test(yamldoc, missing_file_and_directory)
{
	yd_doc d;
	asim_err e;
	asim_err_init(&e);
	cr_expect_eq(yd_load_file(&d, "/nonexistent/x.yaml", &e), ASIM_ENOENT);
	cr_expect_str_eq(e.msg, "/nonexistent/x.yaml: cannot open: No such file or directory");
	yd_free(&d);
	asim_err_init(&e);
	cr_expect_eq(yd_load_file(&d, "/tmp", &e), ASIM_ENOENT);
	cr_expect_str_eq(e.msg, "/tmp: not a regular file");
	yd_free(&d);
}

Test(yamldoc, integers_are_strict_and_ranged)
{
	yd_doc d;
	asim_err e;
	cr_assert_eq(load(&d, &e, "a: 128\nb: '128'\nc: 12x\nd: 0x10\ne: 99999999999999999999\nf: -3\n"), 0);
	uint64_t u = 0;
	int64_t i = 0;
	cr_expect_eq(yd_u64(&d, yd_get(d.root, "a"), "rows", 1, 4096, &u, &e), 0);
	cr_expect_eq(u, 128);
	cr_expect_eq(yd_u64(&d, yd_get(d.root, "d"), "rows", 1, 4096, &u, &e), 0);
	cr_expect_eq(u, 16);
	cr_expect_eq(yd_u64(&d, yd_get(d.root, "a"), "rows", 1, 64, &u, &e), ASIM_ERANGE);
	cr_expect_str_eq(e.msg, "t.yaml:1:4: rows must be from 1 to 64, not '128'");
	asim_err_init(&e);
	cr_expect_eq(yd_u64(&d, yd_get(d.root, "b"), "rows", 1, 4096, &u, &e), ASIM_ESCHEMA);
	cr_expect_not_null(strstr(e.msg, "remove the quotes"));
	asim_err_init(&e);
	cr_expect_eq(yd_u64(&d, yd_get(d.root, "c"), "rows", 1, 4096, &u, &e), ASIM_ESCHEMA);
	cr_expect_str_eq(e.msg, "t.yaml:3:4: rows must be a whole number, not '12x'");
	asim_err_init(&e);
	cr_expect_eq(yd_u64(&d, yd_get(d.root, "e"), "n", 0, UINT64_MAX, &u, &e), ASIM_ERANGE);
	asim_err_init(&e);
	cr_expect_eq(yd_i64(&d, yd_get(d.root, "f"), "pad", -10, 10, &i, &e), 0);
	cr_expect_eq(i, -3);
	cr_expect_eq(yd_u64(&d, yd_get(d.root, "f"), "rows", 0, 10, &u, &e), ASIM_ESCHEMA);
	yd_free(&d);
}

Test(yamldoc, floats_refuse_inf_nan_and_words)
{
	yd_doc d;
	asim_err e;
	cr_assert_eq(load(&d, &e, "a: 2.8\nb: 1e-3\nc: .inf\nd: nan\ne: fast\n"), 0);
	double v;
	cr_expect_eq(yd_f64(&d, yd_get(d.root, "a"), "clock_ghz", 0.001, 100, &v, &e), 0);
	cr_expect_eq(v, 2.8);
	cr_expect_eq(yd_f64(&d, yd_get(d.root, "b"), "x", 0, 1, &v, &e), 0);
	cr_expect_eq(v, 1e-3);
	cr_expect_neq(yd_f64(&d, yd_get(d.root, "c"), "x", 0, 1e300, &v, &e), 0);
	asim_err_init(&e);
	cr_expect_neq(yd_f64(&d, yd_get(d.root, "d"), "x", 0, 1, &v, &e), 0);
	asim_err_init(&e);
	cr_expect_neq(yd_f64(&d, yd_get(d.root, "e"), "x", 0, 1, &v, &e), 0);
	cr_expect_str_eq(e.msg, "t.yaml:5:4: x must be a number, not 'fast'");
	yd_free(&d);
}

Test(yamldoc, sizes_take_binary_units_exactly)
{
	struct { const char *text; unsigned long long bytes; } ok[] = {
		{"1024", 1024}, {"24 MiB", 24ull << 20}, {"192KiB", 192ull << 10}, {"1.5 KiB", 1536},
		{"32 GiB", 32ull << 30}, {"2 TiB", 2ull << 40}, {"7 B", 7},
	};
	for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) {
		char doc[64];
		snprintf(doc, sizeof doc, "s: %s\n", ok[k].text);
		yd_doc d;
		asim_err e;
		cr_assert_eq(load(&d, &e, doc), 0);
		uint64_t v = 0;
		cr_expect_eq(yd_size(&d, yd_get(d.root, "s"), "sbuf", 0, UINT64_MAX, &v, &e), 0, "%s: %s",
		             ok[k].text, e.msg);
		cr_expect_eq(v, ok[k].bytes, "%s", ok[k].text);
		yd_free(&d);
	}
	const char *bad[] = {"1.3 B", "24 MB", "MiB", "-1 KiB", "99999999999 TiB", "1e3", "3 mib"};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		char doc[64];
		snprintf(doc, sizeof doc, "s: %s\n", bad[k]);
		yd_doc d;
		asim_err e;
		cr_assert_eq(load(&d, &e, doc), 0);
		uint64_t v;
		cr_expect_neq(yd_size(&d, yd_get(d.root, "s"), "sbuf", 0, UINT64_MAX, &v, &e), 0, "%s", bad[k]);
		cr_expect_eq(strncmp(e.msg, "t.yaml:1:4: sbuf", 16), 0, "%s", e.msg);
		yd_free(&d);
	}
}

Test(yamldoc, keys_and_enums_suggest_the_fix)
{
	yd_doc d;
	asim_err e;
	cr_assert_eq(load(&d, &e, "pe:\n  rows: 1\n  colz: 2\ndf: weight_stationry\nb: maybe\n"), 0);
	const char *const keys[] = {"rows", "cols", "dataflow"};
	cr_expect_eq(yd_check_keys(&d, yd_get(d.root, "pe"), keys, 3, "pe_array", &e), ASIM_ESCHEMA);
	cr_expect_str_eq(e.msg, "t.yaml:3:3: unknown key 'colz' in pe_array (did you mean 'cols'?)");
	asim_err_init(&e);
	const yd_node *out;
	cr_expect_eq(yd_require(&d, yd_get(d.root, "pe"), "dataflow", "pe_array", &out, &e), ASIM_ESCHEMA);
	cr_expect_str_eq(e.msg, "t.yaml:2:3: missing key 'dataflow' in pe_array");
	asim_err_init(&e);
	const char *const df[] = {"weight_stationary", "output_stationary", "input_stationary"};
	int idx;
	cr_expect_eq(yd_enum(&d, yd_get(d.root, "df"), "dataflow", df, 3, &idx, &e), ASIM_ESCHEMA);
	cr_expect_not_null(strstr(e.msg, "did you mean 'weight_stationary'?"), "%s", e.msg);
	asim_err_init(&e);
	int bv;
	cr_expect_eq(yd_bool(&d, yd_get(d.root, "b"), "fused", &bv, &e), ASIM_ESCHEMA);
	cr_expect_str_eq(e.msg, "t.yaml:5:4: fused must be true or false, not 'maybe'");
	asim_err_init(&e);
	cr_expect_eq(yd_expect(&d, yd_get(d.root, "b"), YD_MAP, "pe_array", &e), ASIM_ESCHEMA);
	cr_expect_str_eq(e.msg, "t.yaml:5:4: pe_array must be a mapping, not a scalar");
	yd_free(&d);
}
