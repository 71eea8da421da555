/*
 * testutil.c -- helpers shared by the test programs (see testutil.h).
 */
#include "tests/testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char *join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = malloc(n);
	if (p != NULL)
		snprintf(p, n, "%s/%s", a, b);
	return p;
}

char *tu_srcpath(const char *rel) { return join(ASIM_SRCDIR, rel); }
char *tu_sharedpath(const char *rel) { return join(ASIM_SHAREDDIR, rel); }

char *tu_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);
	for (;;) {
		if (buf == NULL)
			break;
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (n < cap)
			break;
		cap *= 2;
		char *nb = realloc(buf, cap + 1);
		if (nb == NULL) {
			free(buf);
			buf = NULL;
			break;
		}
		buf = nb;
	}
	fclose(f);
	if (buf != NULL) {
		buf[n] = '\0';
		if (len != NULL)
			*len = n;
	}
	return buf;
}

int tu_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (f == NULL)
		return -1;
	size_t w = fwrite(data, 1, len, f);
	int rc = fclose(f);
	return (w == len && rc == 0) ? 0 : -1;
}

int tu_file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **tu_list_dir(const char *dir, const char *suffix, size_t *n)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return NULL;
	size_t ls = strlen(suffix), count = 0, cap = 16;
	char **names = malloc(cap * sizeof *names);
	struct dirent *ent;
	while (names != NULL && (ent = readdir(d)) != NULL) {
		size_t l = strlen(ent->d_name);
		if (l <= ls || strcmp(ent->d_name + l - ls, suffix) != 0)
			continue;
		if (count + 1 == cap) {
			char **more = realloc(names, 2 * cap * sizeof *names);
			if (more == NULL) {
				names[count] = NULL;
				tu_list_free(names);
				names = NULL;
				break;
			}
			names = more;
			cap *= 2;
		}
		names[count] = strdup(ent->d_name);
		if (names[count] == NULL) {
			tu_list_free(names);
			names = NULL;
			break;
		}
		count++;
	}
	closedir(d);
	if (names == NULL)
		return NULL;
	names[count] = NULL;
	qsort(names, count, sizeof names[0], cmp_str);
	if (n != NULL)
		*n = count;
	return names;
}

void tu_list_free(char **names)
{
	if (names == NULL)
		return;
	for (char **p = names; *p != NULL; p++)
		free(*p);
	free(names);
}

/* The text after an optional "# expect: " tag, up to the first CR or LF (heap-allocated). */
static char *expect_line(const char *s, int need_tag)
{
	static const char tag[] = "# expect: ";
	if (strncmp(s, tag, sizeof tag - 1) == 0)
		s += sizeof tag - 1;
	else if (need_tag)
		return NULL;
	return strndup(s, strcspn(s, "\r\n"));
}

char *tu_expectation(const char *dir, const char *name)
{
	char *path = join(dir, name);
	char *text = path != NULL ? tu_read_file(path, NULL) : NULL;
	char *line = text != NULL ? expect_line(text, 1) : NULL;
	free(text);
	free(path);
	if (line != NULL)
		return line;
	size_t n = strlen(name);
	char side[4096];
	char *s = NULL;
	if (n > 5 && strcmp(name + n - 5, ".yaml") == 0) {
		snprintf(side, sizeof side, "%s/%.*s.expect", dir, (int)(n - 5), name);
		s = tu_read_file(side, NULL);
	}
	if (s == NULL) {
		snprintf(side, sizeof side, "%s/%s.expect", dir, name);
		s = tu_read_file(side, NULL);
	}
	if (s != NULL)
		line = expect_line(s, 0);
	free(s);
	return line;
}

char *tu_mkdtemp(void)
{
	const char *base = getenv("TMPDIR");
	char *tmpl = join(base && *base ? base : "/tmp", "accelsim-test-XXXXXX");
	if (tmpl != NULL && mkdtemp(tmpl) == NULL) {
		free(tmpl);
		return NULL;
	}
	return tmpl;
}

void tu_rmtree(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL) {
		unlink(dir);
		return;
	}
	struct dirent *ent;
	while ((ent = readdir(d)) != NULL) {
		if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
			continue;
		char *p = join(dir, ent->d_name);
		struct stat st;
		if (p != NULL && lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			tu_rmtree(p);
		else if (p != NULL)
			unlink(p);
		free(p);
	}
	closedir(d);
	rmdir(dir);
}

size_t tu_count_lines(const char *s)
{
	size_t n = 0;
	const char *p = s;
	for (; *p; p++)
		if (*p == '\n')
			n++;
	if (p != s && p[-1] != '\n')
		n++;
	return n;
}

int tu_run_in(tu_result *r, const char *cwd, const char *const argv[])
{
	memset(r, 0, sizeof *r);
	char *dir = tu_mkdtemp();
	if (dir == NULL)
		return -1;
	char *outp = join(dir, "out"), *errp = join(dir, "err");
	char *prog = strcmp(argv[0], "accelsim") == 0 ? join(ASIM_BUILDDIR, "accelsim") : strdup(argv[0]);
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int out = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int err = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (in < 0 || out < 0 || err < 0)
			_exit(127);
		dup2(in, 0);
		dup2(out, 1);
		dup2(err, 2);
		if (cwd != NULL && chdir(cwd) != 0)
			_exit(127);
		execv(prog, (char *const *)argv);
		_exit(127);
	}
	int rc = -1;
	if (pid > 0) {
		int st;
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		r->out = tu_read_file(outp, &r->outlen);
		r->err = tu_read_file(errp, &r->errlen);
		rc = (r->out && r->err) ? 0 : -1;
	}
	free(prog);
	free(outp);
	free(errp);
	tu_rmtree(dir);
	free(dir);
	return rc;
}

int tu_run(tu_result *r, const char *const argv[])
{
	return tu_run_in(r, NULL, argv);
}

void tu_result_free(tu_result *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof *r);
}
