/*
 * dtype.h -- element types (one table: dtype.def) and rounding modes.
 */
#ifndef ASIM_DTYPE_H
#define ASIM_DTYPE_H

#include <stddef.h>

typedef enum asim_dtype {
#define DTYPE(name, str, bytes, is_float) ASIM_DT_##name,
#include "sim/dtype.def"
#undef DTYPE
	ASIM_DT_COUNT
} asim_dtype;

/* Rounding modes, in the names the YAML formats and the CLI use. */
#define ASIM_ROUNDING_LIST(X) X(RNE, "rne") X(RTZ, "rtz") X(RU, "ru") X(RD, "rd") X(SR, "sr")
typedef enum asim_rounding {
#define X(name, str) ASIM_RND_##name,
	ASIM_ROUNDING_LIST(X)
#undef X
	ASIM_RND_COUNT
} asim_rounding;

extern const char *const asim_dtype_names[ASIM_DT_COUNT];
extern const char *const asim_rounding_names[ASIM_RND_COUNT];
size_t asim_dtype_bytes(asim_dtype t);
int asim_dtype_is_float(asim_dtype t);
/* Index of `name`, or -1. */
int asim_dtype_from_name(const char *name);
int asim_rounding_from_name(const char *name);

#endif
