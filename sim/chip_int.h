/*
 * chip_int.h -- internals shared by the files of the chip module (sim/chip.c and the generated
 * sim/chip_builtin.c). Nothing outside sim/chip* includes this.
 *
 * The built-in chips are the bytes of models/chips/<name>.yaml, copied into the program at build
 * time by models/chips/embed.sh (a Makefile.am rule writes sim/chip_builtin.c in the BUILD tree).
 * Each text is NUL-terminated; `len` excludes the NUL. Index 0 is the default chip (trn1).
 */
#ifndef ASIM_CHIP_INT_H
#define ASIM_CHIP_INT_H

#include <stddef.h>

typedef struct chip_builtin {
	const char *name;   /* the file's base name without .yaml: what `--chip NAME` matches */
	const char *text;   /* the file's bytes, NUL-terminated */
	size_t len;         /* bytes, without the NUL */
} chip_builtin;

extern const chip_builtin chip_builtins[];
extern const size_t chip_nbuiltins;

#endif
