/*
 * test_sweep.c -- `accelsim sweep`: the expression language against hand-computed values, the
 * value generators (log ranges, seeded random draws, pf brackets, constraints) against values
 * worked by hand, determinism across --jobs and shards + merge, kill and --resume, the PF
 * staircase on trn1 and edge-npu, the columns (the sweep's own, then the per-op trace row's, equal
 * to `accelsim run --ops` byte for byte), old row formats refused, and the bad-spec corpus
 * tests/bad/sweeps/.
 */
#include <criterion/criterion.h>
#include <stddef.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sim/alloc.h"
#include "sim/sweep_int.h"
#include "tests/testutil.h"
#include "traces/oprow.h"

/* ---- expressions ------------------------------------------------------------------------------ */

static const char *const names3[] = {"C_in", "groups", "act"};

static int resolve3(void *ud, const char *name, size_t len)
{
	(void)ud;
	for (int i = 0; i < 3; i++)
		if (strlen(names3[i]) == len && memcmp(names3[i], name, len) == 0)
			return i;
	return -1;
}

/* Evaluate with C_in = 96, groups = 4, act = "relu", pf = 128, rows = 64. */
static int eval3(const char *text, sweep_val *out, asim_err *e)
{
	sweep_val vals[3] = {{.t = SWEEP_INT, .i = 96}, {.t = SWEEP_INT, .i = 4}, {.t = SWEEP_STR, .s = "relu"}};
	sweep_ctx ctx = {vals, 3, 128, 64};
	sweep_expr x;
	asim_err_init(e);
	int rc = sweep_expr_parse(&x, "s.yaml", 5, 10, text, strlen(text), resolve3, NULL, 3, e);
	if (rc)
		return rc;
	rc = sweep_expr_eval(&x, &ctx, out, e);
	sweep_expr_fini(&x);
	return rc;
}

static int64_t ival(const char *text)
{
	sweep_val v;
	asim_err e;
	int rc = eval3(text, &v, &e);
	cr_assert_eq(rc, 0, "%s: %s", text, e.msg);
	cr_assert_eq(v.t, SWEEP_INT, "%s: not an integer", text);
	return v.i;
}

Test(sweep, expr_integer_arithmetic_by_hand)
{
	cr_expect_eq(ival("2 + 3 * 4"), 14);
	cr_expect_eq(ival("(2 + 3) * 4"), 20);
	cr_expect_eq(ival("2 - 3 - 4"), -5);          /* left associative */
	cr_expect_eq(ival("7 / 2"), 3);
	cr_expect_eq(ival("-7 / 2"), -4);             /* floor, as Python's // */
	cr_expect_eq(ival("-7 % 3"), 2);              /* sign of the divisor */
	cr_expect_eq(ival("7 % -3"), -2);
	cr_expect_eq(ival("- - 5"), 5);
	cr_expect_eq(ival("C_in / groups"), 24);
	cr_expect_eq(ival("C_in % groups == 0"), 1);
	cr_expect_eq(ival("groups divides C_in"), 1);
	cr_expect_eq(ival("5 divides C_in"), 0);
	cr_expect_eq(ival("0 divides 0"), 1);
	cr_expect_eq(ival("0 divides 3"), 0);
	cr_expect_eq(ival("2*pf + 1"), 257);
	cr_expect_eq(ival("rows - 1"), 63);
	cr_expect_eq(ival("min(C_in, pf) + max(3, groups)"), 100);
	cr_expect_eq(ival("9223372036854775807"), INT64_MAX);
}

Test(sweep, expr_logic_and_comparisons_by_hand)
{
	cr_expect_eq(ival("1 < 2 and 3 > 4"), 0);
	cr_expect_eq(ival("1 < 2 or 3 > 4"), 1);
	cr_expect_eq(ival("not 0"), 1);
	cr_expect_eq(ival("not 1 < 2"), 0);           /* not binds looser than < */
	cr_expect_eq(ival("1 or 0 and 0"), 1);        /* and binds tighter than or */
	cr_expect_eq(ival("3 <= 3 and 3 >= 3 and 3 != 4"), 1);
	cr_expect_eq(ival("act == 'relu'"), 1);
	cr_expect_eq(ival("act != \"gelu\""), 1);
	cr_expect_eq(ival("0 and 1 / 0"), 0);         /* short circuit: no division by zero */
	cr_expect_eq(ival("1 or 1 / 0"), 1);
	cr_expect_eq(ival("2 == 2.0"), 1);
}

Test(sweep, expr_decimals)
{
	sweep_val v;
	asim_err e;
	cr_assert_eq(eval3("7 / 2.0", &v, &e), 0, "%s", e.msg);
	cr_expect_eq(v.t, SWEEP_NUM);
	cr_expect_eq(v.d, 3.5);
	cr_assert_eq(eval3("1.5e3 + 1", &v, &e), 0, "%s", e.msg);
	cr_expect_eq(v.d, 1501.0);
}

/* An error, with its column: the text starts at column 10 of line 5. */
static void expect_err(const char *text, const char *where, const char *needle)
{
	sweep_val v;
	asim_err e;
	int rc = eval3(text, &v, &e);
	cr_expect_neq(rc, 0, "'%s' was accepted", text);
	cr_expect_eq(asim_exit_status(rc), 2, "'%s': exit status %d", text, asim_exit_status(rc));
	char prefix[64];
	snprintf(prefix, sizeof prefix, "s.yaml:%s: ", where);
	cr_expect_eq(strncmp(e.msg, prefix, strlen(prefix)), 0, "'%s': '%s' does not start with '%s'", text, e.msg,
	             prefix);
	cr_expect_not_null(strstr(e.msg, needle), "'%s': '%s' lacks '%s'", text, e.msg, needle);
}

Test(sweep, expr_errors_have_positions)
{
	expect_err("1 / 0", "5:12", "division by zero");
	expect_err("C_in % (groups - 4)", "5:15", "modulo by zero");
	expect_err("9223372036854775807 + 1", "5:30", "overflow");
	expect_err("92233720368547758070", "5:10", "64 bits");
	expect_err("1 < 2 < 3", "5:16", "do not chain");
	expect_err("x + 1", "5:10", "unknown name 'x'");
	expect_err("act + 1", "5:14", "needs numbers");
	expect_err("act == 1", "5:14", "compares a string");
	expect_err("7.5 % 2", "5:14", "needs integers");
	expect_err("C_in = 3", "5:15", "'=='");
	expect_err("(1 + 2", "5:16", "expected ')'");
	expect_err("1 2", "5:12", "unexpected '2'");
	expect_err("", "5:10", "empty");
	expect_err("and 1", "5:10", "'and'");
	expect_err("min(1)", "5:15", "expected ','");
	/* nesting is bounded: an error, not a stack overflow */
	char deep[400];
	memset(deep, '(', 200);
	strcpy(deep + 200, "1");
	sweep_val v;
	asim_err e;
	cr_expect_neq(eval3(deep, &v, &e), 0);
	cr_expect_not_null(strstr(e.msg, "nested too deeply"), "%s", e.msg);
}

/* ---- generators, via small spec files --------------------------------------------------------- */

static char *tmpdir;

static void setup(void) { tmpdir = tu_mkdtemp(); }
static void teardown(void)
{
	if (tmpdir) {
		tu_rmtree(tmpdir);
		free(tmpdir);
	}
}

static char *write_spec(const char *name, const char *text)
{
	char *path = malloc(strlen(tmpdir) + strlen(name) + 2);
	sprintf(path, "%s/%s", tmpdir, name);
	cr_assert_eq(tu_write_file(path, text, strlen(text)), 0);
	return path;
}

/* Enumerate a spec: values of axis `ax` for every sample, as integers; returns the count. */
static size_t enumerate(const char *text, const char *chipname, int have_seed, uint64_t seed, uint32_t ax,
                        int64_t *out, size_t max)
{
	char *path = write_spec("g.yaml", text);
	sweep_spec *sp;
	asim_err e;
	asim_err_init(&e);
	cr_assert_eq(sweep_spec_load(&sp, path, chipname, have_seed, seed, &e), 0, "%s", e.msg);
	sweep_iter *it;
	cr_assert_eq(sweep_iter_new(&it, sp), 0);
	sweep_val vals[8];
	size_t n = 0;
	int rc;
	while ((rc = sweep_iter_next(it, vals, &e)) == 1) {
		if (n < max)
			out[n] = vals[ax].t == SWEEP_INT ? vals[ax].i : -1;
		n++;
	}
	cr_assert_eq(rc, 0, "%s", e.msg);
	uint64_t counted;
	cr_assert_eq(sweep_count(sp, &counted, &e), 0);
	cr_expect_eq(counted, n);
	sweep_iter_free(it);
	sweep_spec_free(sp);
	free(path);
	return n;
}

#define EMPTY_TEMPLATE "template: {tensors: [], ops: []}\n"

Test(sweep, log_range_is_geometric_rounded_and_deduplicated, .init = setup, .fini = teardown)
{
	int64_t v[32];
	/* 1000^(k/3): 1, 10, 100, 1000 */
	size_t n = enumerate("accelsim: 1\naxes:\n  X: {log: [1, 1000], n: 4}\n" EMPTY_TEMPLATE, NULL, 0, 0, 0, v, 32);
	cr_assert_eq(n, 4);
	cr_expect(v[0] == 1 && v[1] == 10 && v[2] == 100 && v[3] == 1000);
	/* 8^(k/9) = 2^(k/3), k = 0..9: 1, 1.26, 1.59, 2, 2.52, 3.17, 4, 5.04, 6.35, 8
	 * → rounded 1, 1, 2, 2, 3, 3, 4, 5, 6, 8 → deduplicated 1, 2, 3, 4, 5, 6, 8 */
	n = enumerate("accelsim: 1\naxes:\n  X: {log: [1, 8], n: 10}\n" EMPTY_TEMPLATE, NULL, 0, 0, 0, v, 32);
	int64_t want[] = {1, 2, 3, 4, 5, 6, 8};
	cr_assert_eq(n, 7);
	for (size_t i = 0; i < 7; i++)
		cr_expect_eq(v[i], want[i], "value %zu: %lld", i, (long long)v[i]);
}

Test(sweep, cross_product_order_and_constraints, .init = setup, .fini = teardown)
{
	int64_t v[200];
	/* G divides C for C, G in 1..12: the divisor counts d(1..12) = 1+2+2+3+2+4+2+4+3+4+2+6 = 35 */
	size_t n = enumerate("accelsim: 1\naxes:\n  C: {range: [1, 12]}\n  G: {range: [1, 12]}\n"
	                     "constraints: [\"G divides C\"]\n" EMPTY_TEMPLATE, NULL, 0, 0, 1, v, 200);
	cr_expect_eq(n, 35);
	/* the first axis is outermost: C = 1 (G 1), C = 2 (G 1, 2), C = 3 (G 1, 3), C = 4 (G 1, 2, 4) */
	int64_t want[] = {1, 1, 2, 1, 3, 1, 2, 4};
	for (size_t i = 0; i < 8; i++)
		cr_expect_eq(v[i], want[i], "sample %zu: G = %lld", i, (long long)v[i]);
	/* a later axis's values may depend on an earlier one: G in 1..C, C in 1..4: 1+2+3+4 = 10 */
	n = enumerate("accelsim: 1\naxes:\n  C: {range: [1, 4]}\n  G: {range: [1, C]}\n" EMPTY_TEMPLATE, NULL, 0, 0, 1,
	              v, 200);
	cr_expect_eq(n, 10);
	/* descending ranges with a negative step; inclusive end */
	n = enumerate("accelsim: 1\naxes:\n  X: {range: [10, 1], step: -3}\n" EMPTY_TEMPLATE, NULL, 0, 0, 0, v, 200);
	cr_assert_eq(n, 4);
	cr_expect(v[0] == 10 && v[1] == 7 && v[2] == 4 && v[3] == 1);
}

Test(sweep, pf_brackets_follow_the_chip, .init = setup, .fini = teardown)
{
	int64_t v[64];
	const char *spec = "accelsim: 1\naxes:\n  C: {pf: [0, 1, 2], offsets: [-1, 0, 1]}\n" EMPTY_TEMPLATE;
	/* pe_array.cols = 128 on trn1, 16 on edge-npu (models/chips: trn1.yaml, edge-npu.yaml); values < 1 dropped */
	size_t n = enumerate(spec, "trn1", 0, 0, 0, v, 64);
	int64_t t[] = {1, 127, 128, 129, 255, 256, 257};
	cr_assert_eq(n, 7);
	for (size_t i = 0; i < n; i++)
		cr_expect_eq(v[i], t[i]);
	n = enumerate(spec, "edge-npu", 0, 0, 0, v, 64);
	int64_t ed[] = {1, 15, 16, 17, 31, 32, 33};
	cr_assert_eq(n, 7);
	for (size_t i = 0; i < n; i++)
		cr_expect_eq(v[i], ed[i]);
	/* a chip axis before it sets pf per sample */
	n = enumerate("accelsim: 1\naxes:\n  chip.pe_array.cols: [32, 64]\n  C: {pf: [1], offsets: [0, 1]}\n"
	              EMPTY_TEMPLATE, NULL, 0, 0, 1, v, 64);
	cr_assert_eq(n, 4);
	cr_expect(v[0] == 32 && v[1] == 33 && v[2] == 64 && v[3] == 65);
}

Test(sweep, random_draws_are_seeded_and_in_bounds, .init = setup, .fini = teardown)
{
	const char *spec = "accelsim: 1\nseed: 7\naxes:\n  X: {uniform: [1, 1000000000], n: 20}\n"
	                   "  Y: {log_uniform: [1, 4096], n: 1}\n" EMPTY_TEMPLATE;
	int64_t a[64], b[64], c[64], d[64];
	size_t na = enumerate(spec, NULL, 0, 0, 0, a, 64);
	size_t nb = enumerate(spec, NULL, 0, 0, 0, b, 64);
	size_t nc = enumerate(spec, NULL, 1, 8, 0, c, 64);     /* --seed 8 */
	size_t nd = enumerate(spec, NULL, 1, 7, 0, d, 64);     /* --seed 7 = the spec's */
	cr_assert_eq(na, 20);   /* 20 draws out of 10^9 values: no duplicates expected */
	cr_assert_eq(nb, na);
	cr_assert_eq(nd, na);
	cr_assert_eq(memcmp(a, b, na * sizeof a[0]), 0, "same seed, different values");
	cr_assert_eq(memcmp(a, d, na * sizeof a[0]), 0, "--seed equal to the spec's seed changed the values");
	size_t same = 0;
	for (size_t i = 0; i < na && i < nc; i++)
		same += a[i] == c[i];
	cr_expect_lt(same, 2, "seeds 7 and 8 gave %zu equal draws of 20", same);
	for (size_t i = 0; i < na; i++)
		cr_expect(a[i] >= 1 && a[i] <= 1000000000, "draw %lld out of bounds", (long long)a[i]);
	/* log-uniform over [1, 4096]: 400 draws, each in bounds, and about half below sqrt(4096) = 64 */
	int64_t l[512];
	size_t nl = enumerate("accelsim: 1\naxes:\n  L: {log_uniform: [1, 4096], n: 400}\n" EMPTY_TEMPLATE, NULL, 0, 0,
	                      0, l, 512);
	size_t below = 0;
	for (size_t i = 0; i < nl; i++) {
		cr_expect(l[i] >= 1 && l[i] <= 4096);
		below += l[i] < 64;
	}
	/* duplicates are removed, so count the distinct values below 64 against the 63 possible */
	cr_expect_gt(below, 20, "log-uniform draws: only %zu distinct values below 64", below);
}

/* ---- the command line: determinism, shards, merge, resume ------------------------------------- */

static tu_result run(const char *const argv[])
{
	tu_result r;
	cr_assert_eq(tu_run(&r, argv), 0, "could not run %s", argv[0]);
	return r;
}

static char *in_tmp(const char *name)
{
	char *p = malloc(strlen(tmpdir) + strlen(name) + 2);
	sprintf(p, "%s/%s", tmpdir, name);
	return p;
}

static char *read_gz_or_plain(const char *path, size_t *len)
{
	char cmd[2048];
	snprintf(cmd, sizeof cmd, "gzip -dc '%s' 2>/dev/null || cat '%s'", path, path);
	FILE *f = popen(cmd, "r");
	cr_assert_not_null(f);
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	size_t k;
	while ((k = fread(buf + n, 1, cap - n, f)) > 0) {
		n += k;
		if (n == cap)
			buf = realloc(buf, cap *= 2);
	}
	pclose(f);
	*len = n;
	return buf;
}

Test(sweep, same_bytes_for_any_jobs_and_for_merged_shards, .init = setup, .fini = teardown)
{
	char *spec = tu_srcpath("models/sweeps/conv2d.yaml");
	char *o1 = in_tmp("j1.csv"), *o2 = in_tmp("j2.csv.gz");
	tu_result r = run((const char *[]){"accelsim", "sweep", spec, "-o", o1, "--jobs", "1", NULL});
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_expect_eq(r.outlen, 0);
	tu_result_free(&r);
	r = run((const char *[]){"accelsim", "sweep", spec, "-o", o2, "--jobs", "2", NULL});
	cr_assert_eq(r.status, 0, "%s", r.err);
	tu_result_free(&r);
	size_t n1, n2;
	char *b1 = tu_read_file(o1, &n1), *b2 = read_gz_or_plain(o2, &n2);
	cr_assert_not_null(b1);
	cr_assert_gt(tu_count_lines(b1), 1000, "the conv2d sweep has %zu lines", tu_count_lines(b1));
	cr_assert(n1 == n2 && memcmp(b1, b2, n1) == 0, "--jobs 1 and --jobs 2 differ");
	free(b2);
	/* three shards, in any order on the command line, one of them compressed */
	char *p[3] = {in_tmp("p0.csv"), in_tmp("p1.csv.gz"), in_tmp("p2.csv")};
	for (int i = 0; i < 3; i++) {
		char sh[8];
		snprintf(sh, sizeof sh, "%d/3", i);
		r = run((const char *[]){"accelsim", "sweep", spec, "-o", p[i], "--shard", sh, "--jobs", "2", NULL});
		cr_assert_eq(r.status, 0, "%s", r.err);
		tu_result_free(&r);
	}
	char *m = in_tmp("merged.csv.gz");
	r = run((const char *[]){"accelsim", "sweep", "--merge", "-o", m, p[2], p[0], p[1], NULL});
	cr_assert_eq(r.status, 0, "%s", r.err);
	tu_result_free(&r);
	char *bm = read_gz_or_plain(m, &n2);
	cr_assert(n1 == n2 && memcmp(b1, bm, n1) == 0, "merged shards differ from a single run");
	free(bm);
	/* a missing shard: exit 2, names the missing samples, no output */
	char *m2 = in_tmp("bad.csv");
	r = run((const char *[]){"accelsim", "sweep", "--merge", "-o", m2, p[0], p[2], NULL});
	cr_expect_eq(r.status, 2);
	cr_expect_eq(tu_count_lines(r.err), 1, "%s", r.err);
	cr_expect_not_null(strstr(r.err, "are in no part: 1, 4, 7"), "%s", r.err);
	cr_expect(!tu_file_exists(m2));
	tu_result_free(&r);
	/* a duplicated shard: exit 2, names the sample and both files */
	r = run((const char *[]){"accelsim", "sweep", "--merge", "-o", m2, p[0], p[1], p[2], p[0], NULL});
	cr_expect_eq(r.status, 2);
	cr_expect_not_null(strstr(r.err, "sample 0 (id "), "%s", r.err);
	cr_expect_not_null(strstr(r.err, "is in both"), "%s", r.err);
	cr_expect(!tu_file_exists(m2));
	tu_result_free(&r);
	/* a part of another sweep (another seed): refused */
	char *o3 = in_tmp("seed9.csv");
	r = run((const char *[]){"accelsim", "sweep", spec, "-o", o3, "--shard", "1/3", "--seed", "9", NULL});
	cr_assert_eq(r.status, 0, "%s", r.err);
	tu_result_free(&r);
	r = run((const char *[]){"accelsim", "sweep", "--merge", "-o", m2, p[0], o3, p[2], NULL});
	cr_expect_eq(r.status, 2);
	cr_expect_not_null(strstr(r.err, "different sweeps (seed 1 vs 9)"), "%s", r.err);
	tu_result_free(&r);
	for (int i = 0; i < 3; i++)
		free(p[i]);
	free(b1);
	free(spec);
	free(o1);
	free(o2);
	free(o3);
	free(m);
	free(m2);
}

/* The field `col` of a CSV line without quoted fields, as a fresh string. */
static char *nth_field(const char *line, int col)
{
	for (int c = 0; c < col; c++) {
		line = strchr(line, ',');
		cr_assert_not_null(line, "fewer than %d fields", col + 1);
		line++;
	}
	size_t n = strcspn(line, ",\n");
	char *f = malloc(n + 1);
	memcpy(f, line, n);
	f[n] = '\0';
	return f;
}

/* The rest of a line from field `col` on (its '\n' excluded), as a fresh string. */
static char *fields_from(const char *line, int col)
{
	for (int c = 0; c < col; c++) {
		line = strchr(line, ',');
		cr_assert_not_null(line);
		line++;
	}
	size_t n = strcspn(line, "\n");
	char *f = malloc(n + 1);
	memcpy(f, line, n);
	f[n] = '\0';
	return f;
}

/* Line k (0: the header) of a text, as a fresh string without its '\n'. */
static char *line_of(const char *text, size_t k)
{
	for (size_t i = 0; i < k; i++) {
		text = strchr(text, '\n');
		cr_assert_not_null(text, "fewer than %zu lines", k + 1);
		text++;
	}
	size_t n = strcspn(text, "\n");
	char *l = malloc(n + 1);
	memcpy(l, text, n);
	l[n] = '\0';
	return l;
}

/* The header: the sweep's own columns, the axes in spec order (chip axes by key), the chip's PE
 * array, then exactly the per-op trace row's columns (traces/oprow.h), in its order. */
Test(sweep, columns_are_the_sweeps_then_the_per_op_rows, .init = setup, .fini = teardown)
{
	char *spec = write_spec("cols.yaml",
	                        "accelsim: 1\nname: cols\naxes:\n  chip.pe_array.cols: [64]\n  N: [8]\n"
	                        "template:\n  dtype: bf16\n  tensors:\n"
	                        "    - {name: x, kind: input, shape: [4, 16]}\n"
	                        "    - {name: w, kind: weight, shape: [16, $N]}\n"
	                        "    - {name: y, kind: output}\n"
	                        "  ops:\n    - {name: fc, type: matmul, inputs: [x, w], outputs: [y]}\n");
	char *out = in_tmp("cols.csv");
	tu_result r = run((const char *[]){"accelsim", "sweep", spec, "-o", out, "--jobs", "1", NULL});
	cr_assert_eq(r.status, 0, "%s", r.err);
	tu_result_free(&r);
	char *b = tu_read_file(out, NULL);
	cr_assert_not_null(b);
	char want[8192] = "sample_index,sample_id,sweep_hash,seed,n_samples,pe_array.cols,axis.N,pe_rows,pe_cols";
	for (size_t i = 0; i < oprow_ncols; i++) {
		strcat(want, ",");
		strcat(want, oprow_col_names[i]);
	}
	char *h = line_of(b, 0);
	cr_expect_str_eq(h, want);
	/* docs/datasets.md names every column (the op columns' units are in docs/traces.md) */
	char *doc_path = tu_srcpath("docs/datasets.md"), *doc = tu_read_file(doc_path, NULL);
	cr_assert_not_null(doc);
	for (char *p = want, *q; p; p = q ? q + 1 : NULL) {
		q = strchr(p, ',');
		char name[80];
		snprintf(name, sizeof name, "`%.*s`", (int)(q ? q - p : (ptrdiff_t)strlen(p)), p);
		if (strncmp(name, "`axis.", 6) == 0 || strcmp(name, "`pe_array.cols`") == 0)
			continue;   /* this spec's axes */
		cr_expect_not_null(strstr(doc, name), "docs/datasets.md does not name the column %s", name);
	}
	free(doc);
	free(doc_path);
	cr_expect_eq(tu_count_lines(b), 2);
	/* the row: the values of the axes, the chip they made, the op's GEMM shape */
	char *row = line_of(b, 1);
	int col_m = -1, col_n = -1, col_k = -1, col_cols = -1, col_lat = -1;
	for (size_t i = 0; i < oprow_ncols; i++) {
		int c = 9 + (int)i;
		col_m = strcmp(oprow_col_names[i], "m") == 0 ? c : col_m;
		col_n = strcmp(oprow_col_names[i], "n") == 0 ? c : col_n;
		col_k = strcmp(oprow_col_names[i], "k") == 0 ? c : col_k;
		col_lat = strcmp(oprow_col_names[i], "latency_ns") == 0 ? c : col_lat;
	}
	col_cols = 8;
	char *f[6] = {nth_field(row, 5), nth_field(row, 6), nth_field(row, col_cols), nth_field(row, col_m),
	              nth_field(row, col_n), nth_field(row, col_k)};
	cr_expect_str_eq(f[0], "64");
	cr_expect_str_eq(f[1], "8");
	cr_expect_str_eq(f[2], "64", "pe_cols follows the chip axis");
	cr_expect_str_eq(f[3], "4");
	cr_expect_str_eq(f[4], "8");
	cr_expect_str_eq(f[5], "16");
	char *lat = nth_field(row, col_lat);
	cr_expect_gt(strtod(lat, NULL), 0);
	for (int i = 0; i < 6; i++)
		free(f[i]);
	free(lat);
	free(row);
	free(h);
	free(b);
	free(spec);
	free(out);
}

/* A sweep row's op columns are byte for byte the `accelsim run --ops` row of the same graph's
 * target op: the same features, latency, stalls, footprints and energy. With a two-op template
 * whose target is the first op, the other op's instructions must not leak into the row. */
Test(sweep, op_columns_equal_the_run_ops_row, .init = setup, .fini = teardown)
{
	char *spec = tu_srcpath("models/sweeps/fused_conv_block.yaml");
	char *out = in_tmp("fused.csv");
	tu_result r = run((const char *[]){"accelsim", "sweep", spec, "-o", out, "--jobs", "2", NULL});
	cr_assert_eq(r.status, 0, "%s", r.err);
	tu_result_free(&r);
	char *data = tu_read_file(out, NULL);
	cr_assert_not_null(data);
	char *hdr = line_of(data, 0);
	int col0 = 0;
	for (const char *p = hdr; strncmp(p, "accelsim_version,", 17) != 0; col0++) {
		p = strchr(p, ',');
		cr_assert_not_null(p, "no accelsim_version column");
		p++;
	}
	/* samples 0 and 7 of the shipped spec, rendered and run on their own */
	sweep_spec *sp;
	asim_err e;
	asim_err_init(&e);
	cr_assert_eq(sweep_spec_load(&sp, spec, NULL, 0, 0, &e), 0, "%s", e.msg);
	sweep_iter *it;
	cr_assert_eq(sweep_iter_new(&it, sp), 0);
	sweep_val vals[8];
	sweep_buf yaml = {0};
	int checked = 0;
	for (uint64_t k = 0; k <= 7 && sweep_iter_next(it, vals, &e) == 1; k++) {
		if (k != 0 && k != 7)
			continue;
		cr_assert_eq(sweep_render(sp, vals, &yaml, &e), 0, "%s", e.msg);
		char *g = in_tmp("sample.yaml"), *ops = in_tmp("ops.csv");
		cr_assert_eq(tu_write_file(g, yaml.p, yaml.len), 0);
		r = run((const char *[]){"accelsim", "run", g, "--chip", "trn1", "--ops", ops, NULL});
		cr_assert_eq(r.status, 0, "%s", r.err);
		tu_result_free(&r);
		char *o = tu_read_file(ops, NULL);
		cr_assert_not_null(o);
		char *oh = line_of(o, 0), *orow = line_of(o, 1);    /* op 0: expand, the target */
		cr_assert_eq(tu_count_lines(o), 3, "two ops, two rows");
		char *sh = fields_from(hdr, col0), *srow_all = line_of(data, 1 + k), *srow = fields_from(srow_all, col0);
		cr_expect_str_eq(sh, oh, "the sweep's op columns are not the per-op row's");
		cr_expect_str_eq(srow, orow, "sample %llu: the sweep row's op columns differ from run --ops",
		                 (unsigned long long)k);
		checked++;
		free(o);
		free(oh);
		free(orow);
		free(sh);
		free(srow_all);
		free(srow);
		free(g);
		free(ops);
	}
	cr_expect_eq(checked, 2);
	sweep_buf_fini(&yaml);
	sweep_iter_free(it);
	sweep_spec_free(sp);
	free(hdr);
	free(data);
	free(spec);
	free(out);
}

/* Files of another row format (an older accelsim's) are refused by --merge and --resume, saying so. */
Test(sweep, old_row_format_is_refused_by_merge_and_resume, .init = setup, .fini = teardown)
{
	char *spec = tu_srcpath("models/sweeps/elementwise.yaml");
	static const char old[] =
		"sample_index,sample_id,axis.N,op,op_type,latency_ns,chip,chip_hash,sweep_hash,seed,accelsim_version,"
		"n_samples\n0,0123456789abcdef,8,add,add,10.000,trn1,0123456789abcdef,0123456789abcdef,1,0.1.0,1\n";
	char *part = in_tmp("old.csv"), *m = in_tmp("m.csv");
	cr_assert_eq(tu_write_file(part, old, sizeof old - 1), 0);
	tu_result r = run((const char *[]){"accelsim", "sweep", "--merge", "-o", m, part, NULL});
	cr_expect_eq(r.status, 2, "%s", r.err);
	cr_expect_eq(tu_count_lines(r.err), 1, "%s", r.err);
	cr_expect_not_null(strstr(r.err, "another row format"), "%s", r.err);
	cr_expect(!tu_file_exists(m));
	tu_result_free(&r);
	char *o = in_tmp("res.csv");
	char *j = sweep_journal_path(o);
	cr_assert_eq(tu_write_file(j, old, sizeof old - 1), 0);
	r = run((const char *[]){"accelsim", "sweep", spec, "-o", o, "--resume", NULL});
	cr_expect_eq(r.status, 2, "%s", r.err);
	cr_expect_not_null(strstr(r.err, "journal"), "%s", r.err);
	cr_expect_not_null(strstr(r.err, "another row format"), "%s", r.err);
	cr_expect(!tu_file_exists(o));
	tu_result_free(&r);
	free(j);
	free(o);
	free(m);
	free(part);
	free(spec);
}

Test(sweep, slurm_variables_choose_the_shard_and_are_validated, .init = setup, .fini = teardown)
{
	char *spec = tu_srcpath("models/sweeps/elementwise.yaml");
	char *a = in_tmp("a.csv"), *b = in_tmp("b.csv");
	tu_result r = run((const char *[]){"accelsim", "sweep", spec, "-o", a, "--shard", "2/4", NULL});
	cr_assert_eq(r.status, 0, "%s", r.err);
	tu_result_free(&r);
	setenv("SLURM_ARRAY_TASK_ID", "3", 1);     /* arrays numbered 1..4: MIN = 1 */
	setenv("SLURM_ARRAY_TASK_MIN", "1", 1);
	setenv("SLURM_ARRAY_TASK_COUNT", "4", 1);
	r = run((const char *[]){"accelsim", "sweep", spec, "-o", b, NULL});
	cr_assert_eq(r.status, 0, "%s", r.err);
	tu_result_free(&r);
	size_t na, nb;
	char *ba = tu_read_file(a, &na), *bb = tu_read_file(b, &nb);
	cr_assert(ba && bb && na == nb && memcmp(ba, bb, na) == 0, "SLURM task 3 of 1..4 is not --shard 2/4");
	free(ba);
	free(bb);
	setenv("SLURM_ARRAY_TASK_ID", "7", 1);
	r = run((const char *[]){"accelsim", "sweep", spec, "-o", b, NULL});
	cr_expect_eq(r.status, 2);
	cr_expect_eq(tu_count_lines(r.err), 1, "%s", r.err);
	cr_expect_not_null(strstr(r.err, "SLURM_ARRAY_TASK_ID=7"), "%s", r.err);
	tu_result_free(&r);
	setenv("SLURM_ARRAY_TASK_ID", "x1", 1);
	r = run((const char *[]){"accelsim", "sweep", spec, "-o", b, NULL});
	cr_expect_eq(r.status, 2);
	tu_result_free(&r);
	unsetenv("SLURM_ARRAY_TASK_ID");
	unsetenv("SLURM_ARRAY_TASK_MIN");
	unsetenv("SLURM_ARRAY_TASK_COUNT");
	free(spec);
	free(a);
	free(b);
}

/* 6,000 samples of a cheap op: about a second, so a kill lands mid-run (at 50 rows). */
static const char long_spec[] =
	"accelsim: 1\nname: longrun\nseed: 3\naxes:\n"
	"  C: {range: [1, 40]}\n  H: {range: [1, 75]}\n  op: [add, mul]\n"
	"template:\n  dtype: bf16\n  tensors:\n"
	"    - {name: a, kind: input, shape: [1, $C, $H, 4]}\n"
	"    - {name: b, kind: input, shape: [1, $C, $H, 4]}\n"
	"    - {name: y, kind: output}\n"
	"  ops:\n    - {name: e, type: $op, inputs: [a, b], outputs: [y]}\n";

static size_t file_lines(const char *path)
{
	size_t n = 0;
	char *b = tu_read_file(path, &n);
	size_t l = b ? tu_count_lines(b) : 0;
	free(b);
	return l;
}

Test(sweep, killed_and_resumed_equals_uninterrupted, .init = setup, .fini = teardown, .timeout = 300)
{
	char *spec = write_spec("long.yaml", long_spec);
	char *full = in_tmp("full.csv.gz"), *part = in_tmp("part.csv.gz");
	char *journal = sweep_journal_path(part);
	char *exe = malloc(strlen(ASIM_BUILDDIR) + 16);
	sprintf(exe, "%s/accelsim", ASIM_BUILDDIR);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(exe, "accelsim", "sweep", spec, "-o", part, "--jobs", "1", "--checkpoint", "16", (char *)NULL);
		_exit(127);
	}
	/* wait until the checkpoint holds rows, then SIGTERM */
	int status = 0, exited = 0;
	for (int i = 0; i < 30000; i++) {
		if (file_lines(journal) > 50)
			break;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			exited = 1;
			break;
		}
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
	cr_assert(!exited, "the sweep ended (status %d) before it could be interrupted", status);
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "the sweep was not killed by SIGTERM");
	cr_assert(!tu_file_exists(part), "an interrupted sweep left its output in place");
	size_t kept = file_lines(journal);
	cr_assert_gt(kept, 50);
	cr_assert_lt(kept, 6001, "the journal holds every row: the sweep had finished");
	/* tear the last line, as a kill in the middle of a write would */
	{
		FILE *f = fopen(journal, "ab");
		fputs("123,abc", f);
		fclose(f);
	}
	tu_result r = run((const char *[]){"accelsim", "sweep", spec, "-o", part, "--resume", "--jobs", "2", NULL});
	cr_assert_eq(r.status, 0, "%s", r.err);
	tu_result_free(&r);
	cr_expect(!tu_file_exists(journal), "the journal is left after a complete run");
	r = run((const char *[]){"accelsim", "sweep", spec, "-o", full, "--jobs", "2", NULL});
	cr_assert_eq(r.status, 0, "%s", r.err);
	tu_result_free(&r);
	size_t n1, n2;
	char *a = tu_read_file(full, &n1), *b = tu_read_file(part, &n2);
	cr_assert(a && b && n1 == n2 && memcmp(a, b, n1) == 0, "resumed output differs from an uninterrupted run");
	free(a);
	free(b);
	/* a journal from another sweep is refused under --resume */
	cr_assert_eq(tu_write_file(journal, "sample_index,sample_id,x\n", 25), 0);
	r = run((const char *[]){"accelsim", "sweep", spec, "-o", part, "--resume", NULL});
	cr_expect_eq(r.status, 2, "%s", r.err);
	cr_expect_not_null(strstr(r.err, "journal"), "%s", r.err);
	tu_result_free(&r);
	free(spec);
	free(full);
	free(part);
	free(journal);
	free(exe);
}

/* ---- the PF staircase ------------------------------------------------------------------------- */

/* The template of models/sweeps/conv2d.yaml, with C_in = pf and every C_out from 1 to 3·pf + 1. */
static const char staircase_spec[] =
	"accelsim: 1\nname: staircase\naxes:\n  chip.dma.descriptors_in_flight: [1]\n  H: [14, 28]\n  C_in: {pf: [1]}\n"
	"  C_out: {range: [1, \"3*pf + 1\"]}\n"
	"template:\n  dtype: bf16\n  tensors:\n"
	"    - {name: x, kind: input, shape: [1, $C_in, $H, $H]}\n"
	"    - {name: w, kind: weight, shape: [$C_out, $C_in, 3, 3]}\n"
	"    - {name: b, kind: weight, shape: [$C_out]}\n"
	"    - {name: y, kind: output}\n"
	"  ops:\n    - {name: conv, type: conv2d, inputs: [x, w, b], outputs: [y], padding: same, "
	"activation: relu}\n";

/* Latency of every row, indexed by (H == 28, C_out). Columns found by name in the header. */
static void read_latencies(const char *path, double lat[2][400], int max_c)
{
	size_t n;
	char *b = tu_read_file(path, &n);
	cr_assert_not_null(b);
	char *save, *line = strtok_r(b, "\n", &save);
	int ch = -1, cc = -1, cl = -1, col = 0;
	for (char *p = line, *q; p; p = q ? q + 1 : NULL, col++) {
		q = strchr(p, ',');
		size_t l = q ? (size_t)(q - p) : strlen(p);
		if (l == 6 && strncmp(p, "axis.H", 6) == 0)
			ch = col;
		if (l == 10 && strncmp(p, "axis.C_out", 10) == 0)
			cc = col;
		if (l == 10 && strncmp(p, "latency_ns", 10) == 0)
			cl = col;
	}
	cr_assert(ch >= 0 && cc >= 0 && cl >= 0);
	while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
		double f[200];
		int k = 0;
		for (char *p = line; p && k < 200; k++) {
			f[k] = strtod(p, NULL);
			p = strchr(p, ',');
			p = p ? p + 1 : NULL;
		}
		int c = (int)f[cc];
		cr_assert(c >= 1 && c <= max_c);
		lat[f[ch] == 28][c] = f[cl];
	}
	free(b);
}

/*
 * Within a step (C_out from (k−1)·PF + 1 to k·PF) the PE array makes the same number of passes;
 * one more output channel adds only data: one filter (C_in·3·3 bf16 = 18·C_in bytes) and one
 * output plane (H·W bf16 = 2·H² bytes), i.e. at most two more DMA transfers. Even serialised on
 * one DMA engine (or at the HBM bandwidth when lower) that takes at most
 *     bound = bytes / min(dma.engine_gb_per_s, hbm.bandwidth_gb_per_s) + 2 · dma.fixed_ns
 * — from the chip files: trn1 27.2 and 820 GB/s, 100 ns; edge-npu 8 and 3.75 GB/s, 50 ns. So:
 *   flat:  every increment inside a step  <= bound (a tolerance from data movement only);
 *   step:  every increment at an edge     >  bound (data alone cannot explain it: a PE pass),
 *          and > 3 × the largest increment inside any step (the staircase dominates the ramp).
 * The sweep pins dma.descriptors_in_flight to 1 (serial descriptors): with descriptor prefetch
 * (timing-model.md, DMA) these small convolutions are store-bound, the extra PE pass of the
 * last C_out tile runs under the previous tile's store and the last store's fixed phase is
 * hidden, so the step at H = 14 is a few tens of ns -- real overlap, not a PE staircase, which
 * is what this test isolates.
 */
static void staircase(const char *chipname, int pf, double gbps, double fixed_ns)
{
	char *spec = write_spec("stair.yaml", staircase_spec);
	char *out = in_tmp("stair.csv");
	tu_result r = run((const char *[]){"accelsim", "sweep", spec, "-o", out, "--chip", chipname, "--jobs", "2",
	                                   NULL});
	cr_assert_eq(r.status, 0, "%s", r.err);
	tu_result_free(&r);
	static double lat[2][400];
	memset(lat, 0, sizeof lat);
	read_latencies(out, lat, 3 * pf + 1);
	for (int h = 0; h < 2; h++) {
		int H = h ? 28 : 14;
		double bytes = 18.0 * pf + 2.0 * H * H;
		double bound = bytes / gbps + 2 * fixed_ns;   /* ns */
		double max_inner = 0, min_edge = 1e300;
		for (int c = 1; c <= 3 * pf; c++) {
			double inc = lat[h][c + 1] - lat[h][c];
			cr_assert(lat[h][c] > 0 && lat[h][c + 1] > 0, "%s: missing rows", chipname);
			if (c % pf == 0) {
				cr_expect_gt(inc, bound, "%s H=%d: the step at C_out %d -> %d is %.1f ns, not above %.1f ns",
				             chipname, H, c, c + 1, inc, bound);
				if (inc < min_edge)
					min_edge = inc;
			} else if (c >= 16) {   /* below 16 channels transfers are tiny: fixed costs dominate */
				cr_expect_leq(inc, bound, "%s H=%d: C_out %d -> %d inside a step adds %.1f ns > %.1f ns",
				              chipname, H, c, c + 1, inc, bound);
				if (inc > max_inner)
					max_inner = inc;
			}
		}
		cr_expect_gt(min_edge, 3 * max_inner, "%s H=%d: smallest step %.1f ns vs largest in-step increment %.1f ns",
		             chipname, H, min_edge, max_inner);
	}
	free(spec);
	free(out);
}

Test(sweep, pf_staircase_on_trn1, .init = setup, .fini = teardown, .timeout = 300)
{
	staircase("trn1", 128, 27.2, 100);   /* 27.2 GB/s per DMA engine (Neuron DMA guide) */
}

Test(sweep, pf_staircase_on_edge_npu, .init = setup, .fini = teardown, .timeout = 300)
{
	staircase("edge-npu", 16, 3.75, 50);
}

/* The shipped conv2d sweep brackets every edge: latency(k·PF + 1) > latency(k·PF) for k = 1..3 in
 * every 3×3 group on trn1 and in every group on edge-npu. (1×1 convolutions with 7×7 outputs on
 * trn1 are data-movement bound: the extra PE pass hides behind DMA; docs/datasets.md.) */
Test(sweep, shipped_conv2d_sweep_shows_the_steps, .init = setup, .fini = teardown, .timeout = 300)
{
	char *spec = tu_srcpath("models/sweeps/conv2d.yaml");
	const char *chips[] = {"trn1", "edge-npu"};
	int pfs[] = {128, 16};
	for (int ci = 0; ci < 2; ci++) {
		char *out = in_tmp("conv.csv");
		tu_result r = run((const char *[]){"accelsim", "sweep", spec, "-o", out, "--chip", chips[ci], "--jobs",
		                                   "2", NULL});
		cr_assert_eq(r.status, 0, "%s", r.err);
		tu_result_free(&r);
		/* rows come in spec order: H, K, stride, C_in, C_out (12 values: k·pf−1, k·pf, k·pf+1 for
		 * k = 1..4), activation (2) */
		size_t n;
		char *b = tu_read_file(out, &n);
		cr_assert_not_null(b);
		char *save, *line = strtok_r(b, "\n", &save);
		int checked = 0, col_k = -1, col_lat = -1, col = 0;
		for (char *p = line, *q; p; p = q ? q + 1 : NULL, col++) {
			q = strchr(p, ',');
			size_t l = q ? (size_t)(q - p) : strlen(p);
			if (l == 6 && strncmp(p, "axis.K", 6) == 0)
				col_k = col;
			if (l == 10 && strncmp(p, "latency_ns", 10) == 0)
				col_lat = col;
		}
		cr_assert(col_k >= 0 && col_lat >= 0 && col_lat < 200);
		static double lat[4000];
		static int K[4000];
		int rows = 0;
		while ((line = strtok_r(NULL, "\n", &save)) != NULL && rows < 4000) {
			char *f[200];
			int k = 0;
			for (char *p = line; p && k < 200; k++) {
				f[k] = p;
				p = strchr(p, ',');
				if (p)
					*p++ = '\0';
			}
			cr_assert_gt(k, col_lat);
			K[rows] = atoi(f[col_k]);
			lat[rows] = strtod(f[col_lat], NULL);
			rows++;
		}
		free(b);
		cr_assert_eq(rows, 1728);
		for (int g = 0; g < rows; g += 24) {          /* one (H, K, stride, C_in) group: 12 × 2 rows */
			if (ci == 0 && K[g] != 3)
				continue;
			for (int a = 0; a < 2; a++)
				for (int k = 1; k <= 3; k++) {
					int at = g + (3 * (k - 1) + 1) * 2 + a, next = at + 2;   /* k·pf, k·pf + 1 */
					cr_expect_gt(lat[next], lat[at], "%s group at row %d: latency(%d) <= latency(%d)",
					             chips[ci], g, k * pfs[ci] + 1, k * pfs[ci]);
					checked++;
				}
		}
		/* trn1: 36 groups with K = 3 (H 3 × stride 2 × C_in 6), edge-npu: all 72; × 2 activations × 3 edges */
		cr_expect_eq(checked, ci == 0 ? 216 : 432);
		free(out);
	}
	free(spec);
}

/* ---- the bad-spec corpus ---------------------------------------------------------------------- */

Test(sweep, bad_specs_give_positioned_one_line_errors, .init = setup, .fini = teardown)
{
	char *dir = tu_srcpath("tests/bad/sweeps");
	size_t n = 0;
	char **names = tu_list_dir(dir, ".yaml", &n);
	cr_assert_not_null(names, "%s", dir);
	cr_expect_geq(n, 15, "only %zu bad specs", n);
	char *out = in_tmp("never.csv");
	char *journal = sweep_journal_path(out);
	for (size_t i = 0; i < n; i++) {
		char path[1024];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		char *exp = tu_expectation(dir, names[i]);
		cr_assert_not_null(exp, "%s: no '# expect:' line nor .expect file", names[i]);
		char *sp = strstr(exp, ": ");
		cr_assert_not_null(sp, "%s: malformed expectation", names[i]);
		*sp = '\0';
		tu_result r = run((const char *[]){"accelsim", "sweep", path, "-o", out, "--jobs", "2", NULL});
		cr_expect_eq(r.status, 2, "%s: exit status %d (%s)", names[i], r.status, r.err);
		cr_expect_eq(r.outlen, 0, "%s: wrote to stdout", names[i]);
		cr_expect_eq(tu_count_lines(r.err), 1, "%s: %zu lines on stderr: %s", names[i], tu_count_lines(r.err), r.err);
		char prefix[1200];
		snprintf(prefix, sizeof prefix, "%s:%s: ", path, exp);
		cr_expect_eq(strncmp(r.err, prefix, strlen(prefix)), 0, "%s: '%s' does not start with '%s'", names[i],
		             r.err, prefix);
		cr_expect_not_null(strstr(r.err, sp + 2), "%s: '%s' lacks '%s'", names[i], r.err, sp + 2);
		cr_expect(!tu_file_exists(out), "%s: an output file was created", names[i]);
		cr_expect(!tu_file_exists(journal), "%s: a journal was left", names[i]);
		tu_result_free(&r);
		free(exp);
	}
	tu_list_free(names);
	free(out);
	free(journal);
	free(dir);
}
