/*
 * test_asm.c -- bad programs give `file:line:column: message` (the corpus under tests/bad/asm/,
 * each file's first line `# expect: LINE:COL: substring`), and the `accelsim asm` command.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "isa/asm.h"
#include "sim/alloc.h"
#include "tests/testchip.h"
#include "tests/testutil.h"

/* "# expect: 3:18: text" -> "3:18: " prefix and "text" */
static void expectation(const char *text, char *pos, size_t np, char *sub, size_t ns)
{
	cr_assert(strncmp(text, "# expect: ", 10) == 0, "corpus file without '# expect:' line");
	const char *p = text + 10;
	const char *c2 = strchr(strchr(p, ':') + 1, ':');
	snprintf(pos, np, "%.*s: ", (int)(c2 - p), p);
	const char *s = c2 + 2;
	const char *nl = strchr(s, '\n');
	snprintf(sub, ns, "%.*s", (int)(nl - s), s);
}

Test(asm, bad_corpus_reports_file_line_column)
{
	char *dir = tu_srcpath("tests/bad/asm");
	size_t n = 0;
	char **names = tu_list_dir(dir, ".s", &n);
	cr_assert_not_null(names, "%s", dir);
	cr_assert_geq(n, 15u, "the corpus is too small");
	chip c;
	tc_trn1(&c);
	for (size_t i = 0; i < n; i++) {
		char file[1024];
		snprintf(file, sizeof file, "%s/%s", dir, names[i]);
		size_t len;
		char *text = tu_read_file(file, &len);
		char pos[64], sub[256], want[1200];
		expectation(text, pos, sizeof pos, sub, sizeof sub);
		snprintf(want, sizeof want, "%s:%s", file, pos);
		isa_program p;
		asm_srcmap m;
		asim_err e;
		asim_err_init(&e);
		int rc = asm_parse(file, text, len, &p, &m, &e);
		if (rc == 0) {
			rc = asm_check(&p, &m, &c, &e);
			isa_program_fini(&p);
			asm_srcmap_fini(&m);
		}
		cr_expect_neq(rc, 0, "%s was accepted", file);
		cr_expect_eq(asim_exit_status(rc), 2, "%s: %s", file, e.msg);
		cr_expect(strncmp(e.msg, want, strlen(want)) == 0, "%s\n  got:  %s\n  want: %s...", file, e.msg, want);
		cr_expect_not_null(strstr(e.msg, sub), "%s\n  got: %s\n  want substring: %s", file, e.msg, sub);
		cr_expect_null(strchr(e.msg, '\n'));
		free(text);
	}
	tu_list_free(names);
	free(dir);
}

Test(asm, cli_assemble_of_a_bad_program_is_one_line_exit_2_and_no_output)
{
	char *dir = tu_mkdtemp();
	char *bad = tu_srcpath("tests/bad/asm/unknown_opcode.s");
	char out[512];
	snprintf(out, sizeof out, "%s/x.bin", dir);
	tu_result r;
	cr_assert_eq(tu_run(&r, (const char *const[]){"accelsim", "asm", "assemble", bad, "-o", out, NULL}), 0);
	cr_expect_eq(r.status, 2);
	cr_expect_eq(tu_count_lines(r.err), 1, "%s", r.err);
	cr_expect_not_null(strstr(r.err, "unknown_opcode.s:3:1: unknown instruction 'matmull'"), "%s", r.err);
	cr_expect_not(tu_file_exists(out));
	tu_result_free(&r);
	free(bad);
	tu_rmtree(dir);
	free(dir);
}

Test(asm, cli_round_trip_gives_identical_bytes)
{
	char *dir = tu_mkdtemp();
	char *src = tu_srcpath("tests/asm/every_opcode.s");
	char b1[512], s2[512], b2[512];
	snprintf(b1, sizeof b1, "%s/a.bin", dir);
	snprintf(s2, sizeof s2, "%s/b.s", dir);
	snprintf(b2, sizeof b2, "%s/b.bin", dir);
	tu_result r;
	cr_assert_eq(tu_run(&r, (const char *const[]){"accelsim", "asm", "assemble", src, "-o", b1, NULL}), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	tu_result_free(&r);
	cr_assert_eq(tu_run(&r, (const char *const[]){"accelsim", "asm", "disassemble", b1, "-o", s2, NULL}), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	tu_result_free(&r);
	cr_assert_eq(tu_run(&r, (const char *const[]){"accelsim", "asm", "assemble", s2, "-o", b2, NULL}), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	tu_result_free(&r);
	size_t n1, n2;
	char *x1 = tu_read_file(b1, &n1), *x2 = tu_read_file(b2, &n2);
	cr_assert_not_null(x1);
	cr_assert_not_null(x2);
	cr_expect_eq(n1, n2);
	cr_expect(memcmp(x1, x2, n1) == 0);
	/* disassembly to stdout: a comment line then one line per instruction (14) */
	cr_assert_eq(tu_run(&r, (const char *const[]){"accelsim", "asm", "disassemble", b1, NULL}), 0);
	cr_expect_eq(r.status, 0);
	cr_expect_eq(tu_count_lines(r.out), 15u, "%s", r.out);
	cr_expect_not_null(strstr(r.out, "\nmatmul acc dst=psum.fp32[p=0:128,n=512] stat="), "%s", r.out);
	tu_result_free(&r);
	/* a damaged binary: one line, exit 2 */
	x1[60] ^= 0x40;
	tu_write_file(b1, x1, n1);
	cr_assert_eq(tu_run(&r, (const char *const[]){"accelsim", "asm", "disassemble", b1, NULL}), 0);
	cr_expect_eq(r.status, 2);
	cr_expect_eq(r.outlen, 0);
	cr_expect_eq(tu_count_lines(r.err), 1);
	tu_result_free(&r);
	free(x1);
	free(x2);
	free(src);
	tu_rmtree(dir);
	free(dir);
}

Test(asm, cli_usage_errors_exit_2)
{
	static const char *const cases[][6] = {
		{"accelsim", "asm", NULL},
		{"accelsim", "asm", "frobnicate", "x.s", NULL},
		{"accelsim", "asm", "assemble", "x.s", NULL},          /* no -o */
		{"accelsim", "asm", "check", "x.s", "--bogus", NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		tu_result r;
		cr_assert_eq(tu_run(&r, cases[i]), 0);
		cr_expect_eq(r.status, 2, "case %zu: %s", i, r.err);
		cr_expect_eq(tu_count_lines(r.err), 1);
		tu_result_free(&r);
	}
}

#ifdef HAVE_CHIP_LOADER
/* With the chip loader: `accelsim asm check` and `accelsim run` on the default chip. */
Test(asm, cli_check_and_run_on_the_default_chip)
{
	char *dir = tu_mkdtemp();
	char *src = tu_srcpath("tests/asm/every_opcode.s");
	char *bad = tu_srcpath("tests/bad/asm/certain_deadlock.s");
	char j1[512], j2[512];
	snprintf(j1, sizeof j1, "%s/a.json", dir);
	snprintf(j2, sizeof j2, "%s/b.json", dir);
	tu_result r;
	cr_assert_eq(tu_run(&r, (const char *const[]){"accelsim", "asm", "check", src, NULL}), 0);
	cr_expect_eq(r.status, 0, "%s", r.err);
	tu_result_free(&r);
	cr_assert_eq(tu_run(&r, (const char *const[]){"accelsim", "asm", "check", bad, NULL}), 0);
	cr_expect_eq(r.status, 2);
	cr_expect_not_null(strstr(r.err, "certain_deadlock.s:4:"), "%s", r.err);
	tu_result_free(&r);
	cr_assert_eq(tu_run(&r, (const char *const[]){"accelsim", "run", src, "--summary", j1, "--seed", "3", NULL}), 0);
	cr_expect_eq(r.status, 0, "%s", r.err);
	cr_expect_not_null(strstr(r.out, "latency"));
	tu_result_free(&r);
	cr_assert_eq(tu_run(&r, (const char *const[]){"accelsim", "run", src, "--summary", j2, "--seed", "3", NULL}), 0);
	tu_result_free(&r);
	char *a = tu_read_file(j1, NULL), *b = tu_read_file(j2, NULL);
	cr_assert_not_null(a);
	cr_assert_not_null(b);
	cr_expect_str_eq(a, b);
	cr_expect_not_null(strstr(a, "\"seed\": 3"));
	free(a);
	free(b);
	cr_assert_eq(tu_run(&r, (const char *const[]){"accelsim", "run", bad, NULL}), 0);
	cr_expect_eq(r.status, 2);
	cr_expect_eq(tu_count_lines(r.err), 1);
	tu_result_free(&r);
	free(src);
	free(bad);
	tu_rmtree(dir);
	free(dir);
}
#endif
