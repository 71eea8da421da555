/*
 * outfile.h -- output files that are never torn: written to a temporary name, renamed when done.
 *
 * Every file accelsim writes (traces, per-op CSV, summaries, datasets, golden files, model files)
 * goes through an outfile:
 *
 *     outfile_open("ops.csv.gz")  ──►  ./.ops.csv.gz.tmp-XXXXXX   (same directory, so rename is
 *     outfile_write / _printf          gzip-compressed when the     atomic on POSIX file systems)
 *     outfile_commit  ──────────────►  rename(tmp, "ops.csv.gz")
 *     outfile_abort   ──────────────►  unlink(tmp)
 *
 * A name ending in ".gz" is compressed through zlib as it is written (streamed: memory stays
 * bounded whatever the length); any other name is written as is. The gzip header zlib writes
 * carries no time stamp, so the same content gives the same bytes. "-" means standard output,
 * written directly (no atomicity is possible there).
 *
 * Interrupts: outfile_install_signal_cleanup() makes SIGINT, SIGTERM, SIGHUP and SIGPIPE unlink
 * every temporary file still open and then die of the same signal, so an interrupted run leaves
 * neither a partial file under the requested name nor a stray temporary beside it.
 *
 * Write errors (disk full, ...) are remembered and reported by outfile_commit(), which then
 * removes the temporary file and leaves any earlier file under the requested name untouched.
 */
#ifndef ASIM_OUTFILE_H
#define ASIM_OUTFILE_H

#include <stdio.h>
#include <stddef.h>
#include <zlib.h>

#include "sim/error.h"

typedef struct outfile {
	char *path;   /* owned: the requested name */
	char *tmp;    /* owned: the temporary name; NULL for standard output */
	FILE *fp;     /* plain output (or stdout) */
	gzFile gz;    /* compressed output */
	int slot;     /* index in the interrupt-cleanup registry, or -1 */
	int err;      /* errno of the first failed write, 0 if none */
} outfile;

/* True when `path` ends in ".gz". */
int outfile_is_gz(const char *path);

int outfile_open(outfile *f /* OUT */, const char *path, asim_err *e);
int outfile_write(outfile *f, const void *buf, size_t n);
int outfile_puts(outfile *f, const char *s);
int outfile_printf(outfile *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Compression level of a .gz output (zlib 1 fastest .. 9 smallest; default 6). Call before the
 * first write; no effect on other outputs. The bytes stay a pure function of the content. */
int outfile_set_gz_level(outfile *f, int level);
/* Finish: flush, close, rename into place. Frees `f`'s resources whatever the outcome. */
int outfile_commit(outfile *f, asim_err *e);
/* Give up: close and remove the temporary file. Safe on a zeroed or already-finished outfile. */
void outfile_abort(outfile *f);

/* Install the signal handlers described above (idempotent; call once from main). */
void outfile_install_signal_cleanup(void);

#endif
