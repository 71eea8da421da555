/*
 * harness.h -- the numerics regression harness (`accelsim numerics check`). See harness.c.
 */
#ifndef DP_HARNESS_H
#define DP_HARNESS_H

#include <stdio.h>

#include "sim/error.h"

/* Run every case of the spec, print the report on `out`, compare with (or, with update, write)
 * the golden file. golden == NULL: the spec's `golden` key, relative to the spec's directory.
 * Returns 0 when everything matches, ASIM_ECHECK (exit 1) on a changed digest or a broken
 * tolerance (the message names the case and by how much), or the error of a bad spec. */
int dp_harness_check(const char *spec, const char *golden, int update, unsigned threads,
                     FILE *out, asim_err *e);

#endif
