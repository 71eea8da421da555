/*
 * yamldoc.h -- YAML documents as a tree of nodes that remember where they came from.
 *
 * Every input accelsim reads (chips, graphs, sweep and numerics specs, NAS spaces) is a YAML
 * document: libyaml parses it, this module builds a small tree, and the loaders walk the tree with
 * typed getters that turn every mistake into one line `file:line:column: message`.
 *
 *     yd_doc ── root ──► MAP  (line 1, col 1)
 *                         ├─ key "accelsim" ─► SCALAR "1"
 *                         └─ key "pe_array" ─► MAP
 *                                              ├─ key "rows" ─► SCALAR "128"   (line 7, col 9)
 *                                              └─ ...
 *
 * Invariants and limits:
 *   - one document per file (a second document is an error); an empty file is an error;
 *   - mapping keys are scalars and unique within their mapping (duplicates are an error: YAML
 *     forbids them, and a silently ignored duplicate is a silent wrong answer);
 *   - anchors and aliases are refused (they buy nothing in these formats and open the door to
 *     exponential "billion laughs" documents); tags other than the standard ones are refused;
 *   - nesting deeper than YD_MAX_DEPTH is refused, so a hostile file cannot exhaust the stack;
 *   - line and column are 1-based (libyaml's marks plus one), columns count characters.
 * Nodes live in an arena owned by the document: loading is linear in the file size and yd_free()
 * releases everything at once. All text is NUL-terminated; a scalar's `len` excludes the NUL (a
 * scalar may contain NUL bytes only if it was written with escapes; getters refuse those).
 */
#ifndef ASIM_YAMLDOC_H
#define ASIM_YAMLDOC_H

#include <stddef.h>
#include <stdint.h>

#include "sim/error.h"

#define YD_MAX_DEPTH 64

typedef enum { YD_SCALAR, YD_SEQ, YD_MAP } yd_kind;

typedef struct yd_node yd_node;
struct yd_node {
	yd_kind kind;
	unsigned long line, col;   /* 1-based position of the node's first character */
	const char *str;           /* SCALAR: its text */
	size_t len;                /* SCALAR: length of str; SEQ: items; MAP: key/value pairs */
	int plain;                 /* SCALAR: written without quotes (so `null`, `~`, numbers apply) */
	yd_node **items;           /* SEQ: items[0..len); MAP: items[2i] key, items[2i+1] value */
};

typedef struct yd_doc {
	char *file;                /* owned: the name used in messages */
	yd_node *root;
	void *arena;               /* owned: every node and string */
} yd_doc;

/* Load a file / a buffer (`name` is used in messages). On failure the document is empty and
 * `e` holds the message; yd_free() is safe either way. */
int yd_load_file(yd_doc *d /* OUT */, const char *path, asim_err *e);
int yd_load_buffer(yd_doc *d /* OUT */, const char *name, const char *buf, size_t len, asim_err *e);
void yd_free(yd_doc *d);

/* Structure. yd_get returns the value for `key` in a MAP, or NULL when absent (or not a MAP). */
const yd_node *yd_get(const yd_node *map, const char *key);
static inline const yd_node *yd_key(const yd_node *map, size_t i) { return map->items[2 * i]; }
static inline const yd_node *yd_val(const yd_node *map, size_t i) { return map->items[2 * i + 1]; }
static inline const yd_node *yd_item(const yd_node *seq, size_t i) { return seq->items[i]; }
/* "mapping", "sequence", "scalar" */
const char *yd_kind_name(yd_kind k);

/* An error at a node's position (or the document's start when n is NULL). Returns `code`. */
int yd_error(const yd_doc *d, const yd_node *n, asim_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Shape checks. `what` names the thing in messages, e.g. "pe_array" or "op 'conv1'". */
int yd_expect(const yd_doc *d, const yd_node *n, yd_kind kind, const char *what, asim_err *e);
/* Every key of `map` must be in `allowed` (n names); otherwise: unknown key, with a suggestion. */
int yd_check_keys(const yd_doc *d, const yd_node *map, const char *const *allowed, size_t n,
                  const char *what, asim_err *e);
/* The value of a required key; missing gives "missing key 'k' in <what>" at the map's position. */
int yd_require(const yd_doc *d, const yd_node *map, const char *key, const char *what,
               const yd_node **out /* OUT */, asim_err *e);

/* Typed scalars. Ranges are inclusive; a value outside gives ASIM_ERANGE naming the range. */
int yd_str(const yd_doc *d, const yd_node *n, const char *what, const char **out /* OUT */, asim_err *e);
int yd_u64(const yd_doc *d, const yd_node *n, const char *what, uint64_t min, uint64_t max,
           uint64_t *out /* OUT */, asim_err *e);
int yd_i64(const yd_doc *d, const yd_node *n, const char *what, int64_t min, int64_t max,
           int64_t *out /* OUT */, asim_err *e);
/* A finite number (integers, decimals, exponents; no inf or nan). */
int yd_f64(const yd_doc *d, const yd_node *n, const char *what, double min, double max,
           double *out /* OUT */, asim_err *e);
/* true/false (also yes/no, on/off are refused: only true and false). */
int yd_bool(const yd_doc *d, const yd_node *n, const char *what, int *out /* OUT */, asim_err *e);
/* A size in bytes: an integer, or "<number> <unit>" with unit B, KiB, MiB, GiB or TiB
 * ("24 MiB", "192KiB", "1.5 KiB"); the result must be a whole number of bytes in [min, max]. */
int yd_size(const yd_doc *d, const yd_node *n, const char *what, uint64_t min, uint64_t max,
            uint64_t *out /* OUT */, asim_err *e);
/* One of `names` (n of them): *out is its index. Otherwise lists the choices, with a suggestion. */
int yd_enum(const yd_doc *d, const yd_node *n, const char *what, const char *const *names,
            size_t count, int *out /* OUT */, asim_err *e);

#endif
