/*
 * fileio.c -- reading an input file whole (see fileio.h).
 */
#include "sim/fileio.h"
#include "sim/alloc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int asim_read_file(const char *path, char **buf, size_t *len, asim_err *e)
{
	char esc[512];
	asim_escape(esc, sizeof esc, path);
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return asim_errorf(e, errno == ENOENT || errno == ENOTDIR ? ASIM_ENOENT : ASIM_EIO,
		                   "%s: cannot open: %s", esc, strerror(errno));
	struct stat st;
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		fclose(f);
		return asim_errorf(e, ASIM_ENOENT, "%s: not a regular file", esc);
	}
	size_t cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096, n = 0;
	char *b = asim_malloc(cap);
	while (b != NULL) {
		n += fread(b + n, 1, cap - 1 - n, f);
		if (n < cap - 1)
			break;
		char *nb = asim_realloc(b, cap * 2);  /* the file grew while we read it */
		if (nb == NULL)
			asim_free(b);
		b = nb;
		cap *= 2;
	}
	int bad = ferror(f);
	fclose(f);
	if (b == NULL)
		return asim_errorf(e, ASIM_ENOMEM, "%s: out of memory", esc);
	if (bad) {
		asim_free(b);
		return asim_errorf(e, ASIM_EIO, "%s: read error", esc);
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return ASIM_OK;
}
