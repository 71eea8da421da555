/*
 * test_outfile.c -- atomic output files: content, gzip by name, no torn file on failure or signal.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "tests/testutil.h"
#include "traces/outfile.h"

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *ent;
	while ((ent = readdir(d)) != NULL)
		if (strcmp(ent->d_name, ".") && strcmp(ent->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static char *path_in(const char *dir, const char *name)
{
	char *p = malloc(strlen(dir) + strlen(name) + 2);
	sprintf(p, "%s/%s", dir, name);
	return p;
}

Test(outfile, plain_file_appears_only_on_commit)
{
	char *dir = tu_mkdtemp();
	char *path = path_in(dir, "a.csv");
	outfile f;
	asim_err e;
	asim_err_init(&e);
	cr_assert_eq(outfile_open(&f, path, &e), 0, "%s", e.msg);
	cr_expect_eq(outfile_puts(&f, "x,y\n"), 0);
	cr_expect_eq(outfile_printf(&f, "%d,%s\n", 1, "two"), 0);
	cr_expect_not(tu_file_exists(path), "the requested name exists before commit");
	cr_expect_eq(count_entries(dir), 1);  /* the temporary */
	cr_assert_eq(outfile_commit(&f, &e), 0, "%s", e.msg);
	char *got = tu_read_file(path, NULL);
	cr_expect_str_eq(got, "x,y\n1,two\n");
	cr_expect_eq(count_entries(dir), 1);  /* only the result, no temporary left */
	free(got);
	free(path);
	tu_rmtree(dir);
	free(dir);
}

Test(outfile, long_printf_lines_are_written_whole)
{
	char *dir = tu_mkdtemp();
	char *path = path_in(dir, "long.txt");
	char big[5000];
	memset(big, 'q', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	outfile f;
	asim_err e;
	asim_err_init(&e);
	cr_assert_eq(outfile_open(&f, path, &e), 0);
	outfile_printf(&f, "<%s>", big);
	cr_assert_eq(outfile_commit(&f, &e), 0);
	size_t n;
	char *got = tu_read_file(path, &n);
	cr_expect_eq(n, sizeof big + 1);
	cr_expect_eq(got[0], '<');
	cr_expect_eq(got[n - 1], '>');
	free(got);
	free(path);
	tu_rmtree(dir);
	free(dir);
}

Test(outfile, gz_by_name_decompresses_to_the_same_bytes_and_is_deterministic)
{
	char *dir = tu_mkdtemp();
	char *plain = path_in(dir, "t.csv"), *gz1 = path_in(dir, "t.csv.gz"), *gz2 = path_in(dir, "u.csv.gz");
	const char *names[3] = {plain, gz1, gz2};
	for (int k = 0; k < 3; k++) {
		outfile f;
		asim_err e;
		asim_err_init(&e);
		cr_assert_eq(outfile_open(&f, names[k], &e), 0);
		for (int i = 0; i < 100000; i++)
			outfile_printf(&f, "%d,%d\n", i, i * 7 % 13);
		cr_assert_eq(outfile_commit(&f, &e), 0, "%s", e.msg);
	}
	size_t np, n1, n2;
	char *p = tu_read_file(plain, &np), *c1 = tu_read_file(gz1, &n1), *c2 = tu_read_file(gz2, &n2);
	cr_expect_eq((unsigned char)c1[0], 0x1f);
	cr_expect_eq((unsigned char)c1[1], 0x8b);
	cr_expect_lt(n1, np);
	cr_expect_eq(n1, n2);
	cr_expect_eq(memcmp(c1, c2, n1), 0, "same content must give the same gzip bytes");
	gzFile g = gzopen(gz1, "rb");
	char *d = malloc(np + 16);
	int got = gzread(g, d, (unsigned)np + 16);
	gzclose(g);
	cr_expect_eq((size_t)got, np);
	cr_expect_eq(memcmp(d, p, np), 0);
	free(d); free(p); free(c1); free(c2);
	free(plain); free(gz1); free(gz2);
	tu_rmtree(dir);
	free(dir);
}

Test(outfile, abort_leaves_nothing_and_keeps_the_old_file)
{
	char *dir = tu_mkdtemp();
	char *path = path_in(dir, "keep.txt");
	tu_write_file(path, "old\n", 4);
	outfile f;
	asim_err e;
	asim_err_init(&e);
	cr_assert_eq(outfile_open(&f, path, &e), 0);
	outfile_puts(&f, "new, half written");
	outfile_abort(&f);
	outfile_abort(&f);  /* idempotent */
	char *got = tu_read_file(path, NULL);
	cr_expect_str_eq(got, "old\n");
	cr_expect_eq(count_entries(dir), 1);
	free(got);
	free(path);
	tu_rmtree(dir);
	free(dir);
}

Test(outfile, unwritable_place_is_a_clear_error)
{
	outfile f;
	asim_err e;
	asim_err_init(&e);
	int rc = outfile_open(&f, "/nonexistent-dir-accelsim/x.csv", &e);
	cr_expect_eq(rc, ASIM_EIO);
	cr_expect_not_null(strstr(e.msg, "/nonexistent-dir-accelsim/x.csv: cannot create output file"));
	cr_expect_null(strchr(e.msg, '\n'));
}

Test(outfile, full_disk_is_reported_at_commit)
{
	if (!tu_file_exists("/dev/full"))
		cr_skip_test("no /dev/full");
	/* Write through a real outfile, then swap its stream for /dev/full to provoke ENOSPC. */
	char *dir = tu_mkdtemp();
	char *path = path_in(dir, "full.txt");
	outfile f;
	asim_err e;
	asim_err_init(&e);
	cr_assert_eq(outfile_open(&f, path, &e), 0);
	FILE *full = fopen("/dev/full", "wb");
	cr_assert_not_null(full);
	fclose(f.fp);
	f.fp = full;
	setvbuf(full, NULL, _IONBF, 0);
	outfile_puts(&f, "data that cannot land\n");
	cr_expect_eq(outfile_commit(&f, &e), ASIM_EIO);
	cr_expect_not_null(strstr(e.msg, "cannot write output file"), "%s", e.msg);
	cr_expect_not(tu_file_exists(path));
	cr_expect_eq(count_entries(dir), 0);
	free(path);
	tu_rmtree(dir);
	free(dir);
}

Test(outfile, a_signal_removes_the_temporary_and_leaves_no_file)
{
	char *dir = tu_mkdtemp();
	char *path = path_in(dir, "sig.csv.gz");
	int pipefd[2];
	cr_assert_eq(pipe(pipefd), 0);
	pid_t pid = fork();
	if (pid == 0) {
		outfile_install_signal_cleanup();
		outfile f;
		asim_err e;
		asim_err_init(&e);
		if (outfile_open(&f, path, &e) != 0)
			_exit(3);
		outfile_puts(&f, "partial\n");
		(void)!write(pipefd[1], "r", 1);
		for (;;)
			pause();
	}
	char c;
	cr_assert_eq(read(pipefd[0], &c, 1), 1);
	cr_expect_eq(count_entries(dir), 1, "the temporary should exist while writing");
	kill(pid, SIGTERM);
	int st;
	waitpid(pid, &st, 0);
	cr_expect(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "the child must die of the signal");
	cr_expect_not(tu_file_exists(path));
	cr_expect_eq(count_entries(dir), 0, "the temporary must be removed");
	close(pipefd[0]);
	close(pipefd[1]);
	free(path);
	tu_rmtree(dir);
	free(dir);
}
