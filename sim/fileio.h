/*
 * fileio.h -- reading an input file whole.
 *
 * Inputs (YAML descriptions, assembly programs, binary programs) are read into memory in one go:
 * they are small next to the simulation, and a parser over a buffer is simpler and faster than one
 * over a stream. The buffer is NUL-terminated (not counted in *len) so text parsers can rely on it;
 * binary data may contain NUL bytes. Only regular files are read: a directory or a device is a
 * clear error rather than a hang or a confusing parse failure.
 */
#ifndef ASIM_FILEIO_H
#define ASIM_FILEIO_H

#include <stddef.h>

#include "sim/error.h"

/* On success *buf (owned by the caller: asim_free) holds the bytes plus a NUL. Errors:
 * ASIM_ENOENT "PATH: cannot open: <reason>" or "PATH: not a regular file", ASIM_EIO on a read
 * error, ASIM_ENOMEM. */
int asim_read_file(const char *path, char **buf /* OUT */, size_t *len /* OUT */, asim_err *e);

#endif
