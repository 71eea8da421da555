/*
 * testutil.h -- helpers shared by the Criterion test programs.
 *
 * Paths: tests find their data through ASIM_SRCDIR, ASIM_BUILDDIR and ASIM_SHAREDDIR (absolute,
 * set by Makefile.am), never through the current directory.
 */
#ifndef ASIM_TESTUTIL_H
#define ASIM_TESTUTIL_H

#include <stddef.h>

typedef struct tu_result {
	int status;     /* exit status; 128 + signal number when killed by a signal */
	char *out;      /* standard output, NUL-terminated (owned) */
	size_t outlen;
	char *err;      /* standard error, NUL-terminated (owned) */
	size_t errlen;
} tu_result;

/* Run a program with standard input from /dev/null and capture both output streams. argv is
 * NULL-terminated; argv[0] == "accelsim" runs the freshly built program in ASIM_BUILDDIR. The
 * child's working directory is `cwd` (NULL: unchanged). Returns 0, or -1 if it could not run. */
int tu_run_in(tu_result *r /* OUT */, const char *cwd, const char *const argv[]);
int tu_run(tu_result *r /* OUT */, const char *const argv[]);
void tu_result_free(tu_result *r);

/* Number of lines in s (a final line without newline counts). */
size_t tu_count_lines(const char *s);

/* Heap-allocated path under the source tree / build tree / shared directory (free() it). */
char *tu_srcpath(const char *rel);
char *tu_sharedpath(const char *rel);

/* A fresh empty directory under $TMPDIR (or /tmp); free() the name, tu_rmtree() the directory. */
char *tu_mkdtemp(void);
void tu_rmtree(const char *dir);

/* Whole-file helpers. tu_read_file returns NULL if the file cannot be read. */
char *tu_read_file(const char *path, size_t *len /* OUT, may be NULL */);
int tu_write_file(const char *path, const void *data, size_t len);
int tu_file_exists(const char *path);

/* The names (not paths) of the entries of `dir` that end in `suffix` and are longer than it (so
 * ".yaml" itself does not count), sorted by strcmp; a NULL-terminated heap array, *n (may be NULL)
 * set to the count. NULL if the directory cannot be read. Free with tu_list_free(). */
char **tu_list_dir(const char *dir, const char *suffix, size_t *n /* OUT, may be NULL */);
void tu_list_free(char **names);

/* The expectation "LINE:COL: substring" of the bad-corpus file dir/name: its first line
 * "# expect: LINE:COL: substring", or, for files that cannot hold a comment (empty, binary), the
 * first line of a side file -- <name without .yaml>.expect, else <name>.expect -- with or without
 * the "# expect: " tag. Cut at the first CR or LF; heap-allocated (free() it); NULL if neither. */
char *tu_expectation(const char *dir, const char *name);

#endif
