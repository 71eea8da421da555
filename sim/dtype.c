/*
 * dtype.c -- views of the element-type table (dtype.def).
 */
#include "sim/dtype.h"

#include <string.h>

const char *const asim_dtype_names[ASIM_DT_COUNT] = {
#define DTYPE(name, str, bytes, is_float) str,
#include "sim/dtype.def"
#undef DTYPE
};

const char *const asim_rounding_names[ASIM_RND_COUNT] = {
#define X(name, str) str,
	ASIM_ROUNDING_LIST(X)
#undef X
};

static const unsigned char dtype_bytes[ASIM_DT_COUNT] = {
#define DTYPE(name, str, bytes, is_float) bytes,
#include "sim/dtype.def"
#undef DTYPE
};

static const unsigned char dtype_float[ASIM_DT_COUNT] = {
#define DTYPE(name, str, bytes, is_float) is_float,
#include "sim/dtype.def"
#undef DTYPE
};

size_t asim_dtype_bytes(asim_dtype t) { return (unsigned)t < ASIM_DT_COUNT ? dtype_bytes[t] : 0; }
int asim_dtype_is_float(asim_dtype t) { return (unsigned)t < ASIM_DT_COUNT && dtype_float[t]; }

int asim_dtype_from_name(const char *name)
{
	for (int i = 0; i < ASIM_DT_COUNT; i++)
		if (strcmp(asim_dtype_names[i], name) == 0)
			return i;
	return -1;
}

int asim_rounding_from_name(const char *name)
{
	for (int i = 0; i < ASIM_RND_COUNT; i++)
		if (strcmp(asim_rounding_names[i], name) == 0)
			return i;
	return -1;
}
