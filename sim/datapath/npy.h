/*
 * npy.h -- NumPy .npy files (format versions 1.0, 2.0, 3.0): little-endian, C order, payloads
 * float32 ('<f4'), float64 ('<f8'), uint8 ('|u1'), uint16 ('<u2'), int32 ('<i4') and int64 ('<i8').
 *
 *     "\x93NUMPY" major minor  HEADER_LEN (u16 LE for 1.x, u32 LE for 2.x/3.x)
 *     {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }   + spaces + '\n'
 *     payload: prod(shape) elements, nothing after it
 *
 * Reading is strict, because the file is untrusted input: exactly the three keys, a known descr,
 * fortran_order False, at most DP_NPY_MAX_DIMS non-negative dimensions whose product (and byte
 * size) does not overflow, a header that fits the file, and a payload of exactly the right
 * length. Every violation is an error naming the file and the byte offset, never a crash.
 * Writing goes through traces/outfile.h (temporary file, rename when complete), version 1.0,
 * header padded so the payload starts at a multiple of 64 bytes.
 */
#ifndef DP_NPY_H
#define DP_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "sim/error.h"

#define DP_NPY_MAX_DIMS 8
#define DP_NPY_MAX_BYTES ((size_t)1 << 32)   /* refuse larger payloads */

typedef enum dp_npy_dtype { DP_NPY_F32, DP_NPY_F64, DP_NPY_U8, DP_NPY_U16, DP_NPY_I32, DP_NPY_I64 } dp_npy_dtype;

typedef struct dp_npy {
	dp_npy_dtype dtype;
	size_t ndim;
	size_t shape[DP_NPY_MAX_DIMS];
	size_t count;    /* product of shape (1 for a 0-d array) */
	void *data;      /* owned: count elements, native byte order */
} dp_npy;

size_t dp_npy_itemsize(dp_npy_dtype t);
/* Parse a whole file image. `name` is used in messages. */
int dp_npy_parse(const void *buf, size_t len, const char *name, dp_npy *out /* OUT */,
                 asim_err *e);
int dp_npy_read(const char *path, dp_npy *out /* OUT */, asim_err *e);
int dp_npy_write(const char *path, dp_npy_dtype t, const size_t *shape, size_t ndim,
                 const void *data, asim_err *e);
void dp_npy_free(dp_npy *a);

#endif
