/*
 * chip.c -- chip descriptions: load from YAML, validate strictly, derive figures, hash, sweep.
 *
 * What it models. A chip file (docs/chip-format.md) describes one accelerator chip: per core a PE
 * array, a vector and a scalar engine, SBUF, PSUM and DMA queues; per chip the core count, HBM,
 * numerics defaults and an energy table. This file turns that text into a `chip` (sim/chip.h) and
 * refuses, with one line `file:line:column: message`, anything that could give a silent wrong
 * answer: unknown keys (with a "did you mean"), missing required keys, wrong types, values out of
 * range, and combinations the hardware model cannot run (a PSUM bank smaller than a moving tile).
 *
 * One table, many views. Every field of the format is ONE row of `fields[]` below: its dotted
 * path, type, place in the struct, range, and whether it is required or its default. From that
 * table come
 *     - the loader (walk the rows, read each value with the yamldoc getter of its type);
 *     - the allowed keys of every mapping (the path components), so unknown keys are found
 *       without a separate list kept in step by hand;
 *     - chip_set_param() (find the row by its dotted path, parse the value text with the same
 *       getter, so a sweep accepts exactly what a file accepts: "96 KiB", "0x10", ...);
 *     - the canonical serialisation and thus the content hash.
 *
 * Units are in the key names and stay those units in the struct: *_ghz (10^9 Hz), *_gb_per_s
 * (10^9 bytes/s), *_ns, *_bytes (sizes also written with KiB/MiB/GiB/TiB), *_pj, *_w, *_cycles.
 *
 * Ranges. Every number is bounded so that the derived quantities cannot overflow: rows, cols,
 * partitions and lanes ≤ 4096, clocks ≤ 10 GHz, MACs per PE per cycle ≤ 16, partition sizes
 * ≤ 1 GiB, HBM ≤ 1 PiB, cycle counts ≤ 10^6. Hence sbuf/psum bytes per core ≤ 2^42, HBM bits
 * ≤ 2^53 (exact in a double), peak FLOP/s ≤ 2·4096²·10^10·16 ≈ 5.4e18, and a cycle count times a
 * period in picoseconds (≤ 10^6 ps at the 1 MHz minimum clock) ≤ 10^12.
 *
 * Cross-field rules (cross_check()), each naming the fix:
 *     sbuf.partitions ≥ pe_array.rows         the contraction dimension K lies across SBUF
 *                                              partitions, one per PE row;
 *     psum.partitions ≥ pe_array.cols         a matmul writes one PSUM partition per PE column;
 *     psum.partition_bytes divisible by psum.banks;
 *     PSUM bank ≥ pe_array.max_moving × 4 B   one moving tile accumulates in one bank, in FP32;
 *     sbuf.partition_bytes ≥ max_moving × 4 B one moving tile (FP32 at most) fits a partition;
 *     vector.lanes, scalar.lanes ≤ sbuf.partitions   a lane serves one partition.
 *
 * The hash. FNV-1a-64 over the canonical serialisation (chip_canonical): `accelsim = 1`, then one
 * `path = value` line per row of the table, in table order, with defaults filled in, sizes in
 * bytes and numbers in their shortest round-trip decimal form. It depends on every VALUE and on
 * nothing else: comments, key order, quoting style, flow vs block style, "24 MiB" vs "25165824",
 * and stating a default vs omitting it all give the same hash; changing any value changes it.
 * `source` is not hashed (the same chip from a file or built in has one hash).
 */
#include "sim/chip.h"
#include "sim/alloc.h"
#include "sim/chip_int.h"
#include "sim/yamldoc.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- the field table ------------------------------------------------------------------------ */

typedef enum ftype { FT_U32, FT_U64, FT_SIZE, FT_F64, FT_ENUM, FT_BOOL, FT_STR } ftype;

typedef struct field {
	const char *path;            /* dotted YAML path: "pe_array.rows" */
	ftype type;
	size_t off;                  /* offset in struct chip */
	int required;
	uint64_t umin, umax, udef;   /* U32, U64, SIZE; ENUM and BOOL defaults in udef */
	double fmin, fmax, fdef;     /* F64 */
	const char *const *names;    /* ENUM choices */
	const int *vals;             /* ENUM stored values (NULL: the index) */
	size_t nnames;
} field;

#define OFF(m) offsetof(chip, m)
#define REQ_U32(p, m, lo, hi) {.path = p, .type = FT_U32, .off = OFF(m), .required = 1, .umin = lo, .umax = hi}
#define DEF_U32(p, m, lo, hi, d) {.path = p, .type = FT_U32, .off = OFF(m), .umin = lo, .umax = hi, .udef = d}
#define DEF_U64(p, m, lo, hi, d) {.path = p, .type = FT_U64, .off = OFF(m), .umin = lo, .umax = hi, .udef = d}
#define REQ_SIZE(p, m, lo, hi) {.path = p, .type = FT_SIZE, .off = OFF(m), .required = 1, .umin = lo, .umax = hi}
#define DEF_SIZE(p, m, lo, hi, d) {.path = p, .type = FT_SIZE, .off = OFF(m), .umin = lo, .umax = hi, .udef = d}
#define REQ_F64(p, m, lo, hi) {.path = p, .type = FT_F64, .off = OFF(m), .required = 1, .fmin = lo, .fmax = hi}
#define DEF_F64(p, m, lo, hi, d) {.path = p, .type = FT_F64, .off = OFF(m), .fmin = lo, .fmax = hi, .fdef = d}
#define DEF_ENUM(p, m, nm, vl, d) {.path = p, .type = FT_ENUM, .off = OFF(m), .udef = d, .names = nm, \
	.vals = vl, .nnames = sizeof nm / sizeof nm[0]}
#define DEF_BOOL(p, m, d) {.path = p, .type = FT_BOOL, .off = OFF(m), .udef = d}
#define REQ_STR(p, m) {.path = p, .type = FT_STR, .off = OFF(m), .required = 1}

#define KIB (UINT64_C(1) << 10)
#define GIB (UINT64_C(1) << 30)
#define PIB (UINT64_C(1) << 50)
#define MAX_CYCLES 1000000u
#define NAME_MAX_LEN 64

static const char *const dataflow_names[] = {"weight_stationary", "output_stationary", "input_stationary"};
static const char *const mode_names[] = {"pipelined", "serial_folds"};
static const char *const accum_names[] = {"fp32"};
static const int accum_vals[] = {ASIM_DT_FP32};
_Static_assert(sizeof dataflow_names / sizeof dataflow_names[0] == CHIP_DATAFLOW_COUNT, "dataflow names");
_Static_assert(sizeof mode_names / sizeof mode_names[0] == CHIP_PE_MODE_COUNT, "mode names");
_Static_assert(sizeof(chip_dataflow) == sizeof(int) && sizeof(chip_pe_mode) == sizeof(int) &&
               sizeof(asim_dtype) == sizeof(int) && sizeof(asim_rounding) == sizeof(int),
               "enums are stored as int");

#define ENGINE_FIELDS(sec, m) \
	REQ_U32(sec ".lanes", m.lanes, 1, 4096), \
	REQ_F64(sec ".clock_ghz", m.clock_ghz, 0.001, 10), \
	DEF_F64(sec ".elems_per_cycle", m.elems_per_cycle, 1.0 / 64, 64, 1), \
	DEF_U32(sec ".fixed_cycles", m.fixed_cycles, 0, MAX_CYCLES, 0), \
	DEF_U32(sec ".min_ii_cycles", m.min_ii_cycles, 1, MAX_CYCLES, 1)

/* The order of this table is the order of the canonical serialisation: changing it changes every
 * hash. Append new fields at the end of their section and say so in docs/chip-format.md. */
static const field fields[] = {
	REQ_STR("name", name),
	REQ_U32("cores", cores, 1, 1024),

	REQ_U32("pe_array.rows", pe.rows, 1, 4096),
	REQ_U32("pe_array.cols", pe.cols, 1, 4096),
	DEF_ENUM("pe_array.dataflow", pe.dataflow, dataflow_names, NULL, CHIP_WEIGHT_STATIONARY),
	DEF_ENUM("pe_array.mode", pe.mode, mode_names, NULL, CHIP_PE_PIPELINED),
	REQ_F64("pe_array.clock_ghz", pe.clock_ghz, 0.001, 10),
	DEF_F64("pe_array.macs_per_cycle_per_pe.fp32", pe.rate[ASIM_DT_FP32], 1.0 / 64, 16, 0.25),
	DEF_F64("pe_array.macs_per_cycle_per_pe.bf16", pe.rate[ASIM_DT_BF16], 1.0 / 64, 16, 1),
	DEF_F64("pe_array.macs_per_cycle_per_pe.fp16", pe.rate[ASIM_DT_FP16], 1.0 / 64, 16, 1),
	DEF_F64("pe_array.macs_per_cycle_per_pe.fp8_e4m3", pe.rate[ASIM_DT_FP8_E4M3], 1.0 / 64, 16, 1),
	DEF_F64("pe_array.macs_per_cycle_per_pe.fp8_e5m2", pe.rate[ASIM_DT_FP8_E5M2], 1.0 / 64, 16, 1),
	DEF_U32("pe_array.min_ii_cycles", pe.min_ii_cycles, 1, MAX_CYCLES, 1),
	REQ_U32("pe_array.fill_cycles", pe.fill_cycles, 0, MAX_CYCLES),
	REQ_U32("pe_array.drain_cycles", pe.drain_cycles, 0, MAX_CYCLES),
	REQ_U32("pe_array.max_moving", pe.max_moving, 1, 65536),

	ENGINE_FIELDS("vector", vector),
	ENGINE_FIELDS("scalar", scalar),

	REQ_U32("sbuf.partitions", sbuf.partitions, 1, 4096),
	REQ_SIZE("sbuf.partition_bytes", sbuf.partition_bytes, 1, GIB),

	REQ_U32("psum.partitions", psum.partitions, 1, 4096),
	REQ_U32("psum.banks", psum.banks, 1, 64),
	REQ_SIZE("psum.partition_bytes", psum.partition_bytes, 1, GIB),

	REQ_U32("dma.engines", dma.engines, 1, 1024),
	REQ_F64("dma.engine_gb_per_s", dma.engine_gb_per_s, 0.001, 1e5),
	DEF_F64("dma.fixed_ns", dma.fixed_ns, 0, 1e6, 0),
	DEF_U32("dma.descriptors_in_flight", dma.descriptors_in_flight, 1, 64, 1),
	DEF_SIZE("dma.efficient_bytes", dma.efficient_bytes, 1, GIB, 1),

	REQ_SIZE("hbm.capacity_bytes", hbm.capacity_bytes, 1, PIB),
	REQ_F64("hbm.bandwidth_gb_per_s", hbm.bandwidth_gb_per_s, 0.001, 1e6),
	DEF_F64("hbm.latency_ns", hbm.latency_ns, 0, 1e6, 0),

	DEF_ENUM("numerics.accum", num.accum, accum_names, accum_vals, 0),
	DEF_ENUM("numerics.rounding", num.rounding, asim_rounding_names, NULL, ASIM_RND_RNE),
	DEF_U32("numerics.sr_bits", num.sr_bits, 1, 32, 32),
	DEF_U64("numerics.seed", num.seed, 0, UINT64_MAX, 0),
	DEF_BOOL("numerics.saturate_fp8", num.saturate_fp8, 1),
	DEF_BOOL("numerics.saturate_16bit", num.saturate_16, 0),

	/* Defaults: Horowitz, ISSCC 2014, 45 nm, unscaled (docs/chip-format.md works them out). */
	DEF_F64("energy.mac_pj.fp32", energy.mac_pj[ASIM_DT_FP32], 0, 1000, 4.6),
	DEF_F64("energy.mac_pj.bf16", energy.mac_pj[ASIM_DT_BF16], 0, 1000, 2.0),
	DEF_F64("energy.mac_pj.fp16", energy.mac_pj[ASIM_DT_FP16], 0, 1000, 2.0),
	DEF_F64("energy.mac_pj.fp8_e4m3", energy.mac_pj[ASIM_DT_FP8_E4M3], 0, 1000, 1.1),
	DEF_F64("energy.mac_pj.fp8_e5m2", energy.mac_pj[ASIM_DT_FP8_E5M2], 0, 1000, 1.1),
	DEF_F64("energy.sbuf_pj_per_byte", energy.sbuf_pj_per_byte, 0, 1e4, 5.7),
	DEF_F64("energy.psum_pj_per_byte", energy.psum_pj_per_byte, 0, 1e4, 1.8),
	DEF_F64("energy.hbm_pj_per_bit", energy.hbm_pj_per_bit, 0, 1e4, 20.3),
	DEF_F64("energy.static_w", energy.static_w, 0, 1e5, 0),
};
#define NFIELDS (sizeof fields / sizeof fields[0])

static void *slot(chip *c, const field *f) { return (char *)c + f->off; }
static const void *cslot(const chip *c, const field *f) { return (const char *)c + f->off; }

static const field *find_field(const char *path)
{
	for (size_t i = 0; i < NFIELDS; i++)
		if (strcmp(fields[i].path, path) == 0)
			return &fields[i];
	return NULL;
}

/* ---- reading one value ------------------------------------------------------------------------ */

static int valid_name(const char *s, size_t len)
{
	if (len < 1 || len > NAME_MAX_LEN || strlen(s) != len)
		return 0;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= '0' && s[0] <= '9')))
		return 0;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '.' || ch == '_' || ch == '-'))
			return 0;
	}
	return 1;
}

/* Store the default of `f` into `c` (STR fields have none: they are required). */
static void set_default(chip *c, const field *f)
{
	switch (f->type) {
	case FT_U32: {
		uint32_t v = (uint32_t)f->udef;
		memcpy(slot(c, f), &v, sizeof v);
		break;
	}
	case FT_U64:
	case FT_SIZE:
		memcpy(slot(c, f), &f->udef, sizeof f->udef);
		break;
	case FT_F64:
		memcpy(slot(c, f), &f->fdef, sizeof f->fdef);
		break;
	case FT_ENUM: {
		int v = f->vals ? f->vals[f->udef] : (int)f->udef;
		memcpy(slot(c, f), &v, sizeof v);
		break;
	}
	case FT_BOOL: {
		int v = (int)f->udef;
		memcpy(slot(c, f), &v, sizeof v);
		break;
	}
	case FT_STR:
		ASIM_ASSERT(!"string fields have no default");
	}
}

/* Read node `n` into the field `f` of `c`. A STR field gets a fresh allocation (the previous
 * pointer is not freed: the caller owns both). */
static int read_field(const yd_doc *d, const yd_node *n, const field *f, chip *c, asim_err *e)
{
	int rc;
	switch (f->type) {
	case FT_U32:
	case FT_U64: {
		uint64_t v;
		if ((rc = yd_u64(d, n, f->path, f->umin, f->umax, &v, e)) != 0)
			return rc;
		if (f->type == FT_U32) {
			uint32_t w = (uint32_t)v;
			memcpy(slot(c, f), &w, sizeof w);
		} else
			memcpy(slot(c, f), &v, sizeof v);
		return ASIM_OK;
	}
	case FT_SIZE: {
		uint64_t v;
		if ((rc = yd_size(d, n, f->path, f->umin, f->umax, &v, e)) != 0)
			return rc;
		memcpy(slot(c, f), &v, sizeof v);
		return ASIM_OK;
	}
	case FT_F64: {
		double v;
		if ((rc = yd_f64(d, n, f->path, f->fmin, f->fmax, &v, e)) != 0)
			return rc;
		if (v == 0)
			v = 0;  /* -0 and 0 are one value: one canonical form, one hash */
		memcpy(slot(c, f), &v, sizeof v);
		return ASIM_OK;
	}
	case FT_ENUM: {
		int i;
		if ((rc = yd_enum(d, n, f->path, f->names, f->nnames, &i, e)) != 0)
			return rc;
		int v = f->vals ? f->vals[i] : i;
		memcpy(slot(c, f), &v, sizeof v);
		return ASIM_OK;
	}
	case FT_BOOL: {
		int v;
		if ((rc = yd_bool(d, n, f->path, &v, e)) != 0)
			return rc;
		memcpy(slot(c, f), &v, sizeof v);
		return ASIM_OK;
	}
	case FT_STR: {
		const char *s;
		if ((rc = yd_str(d, n, f->path, &s, e)) != 0)
			return rc;
		if (!valid_name(s, n->len)) {
			char esc[96];
			asim_escape(esc, sizeof esc, s);
			return yd_error(d, n, e, ASIM_ESCHEMA,
			                "%s must be 1 to %d letters, digits, '.', '_' or '-' starting with a "
			                "letter or digit (it labels tables and output files), not '%s'",
			                f->path, NAME_MAX_LEN, esc);
		}
		char *dup = asim_strdup(s);
		if (dup == NULL)
			return asim_errorf(e, ASIM_ENOMEM, "out of memory");
		memcpy(slot(c, f), &dup, sizeof dup);
		return ASIM_OK;
	}
	}
	ASIM_ASSERT(!"unknown field type");
	return ASIM_EINTERNAL;
}

/* ---- structure: allowed keys of every mapping, from the table --------------------------------- */

#define MAX_KEYS 32
#define MAX_COMP 48

/* The distinct next path components of the fields under `prefix` ("" for the root). */
static size_t keys_under(const char *prefix, char keys[MAX_KEYS][MAX_COMP])
{
	size_t n = 0, plen = strlen(prefix);
	for (size_t i = 0; i < NFIELDS; i++) {
		const char *p = fields[i].path;
		if (plen > 0) {
			if (strncmp(p, prefix, plen) != 0 || p[plen] != '.')
				continue;
			p += plen + 1;
		}
		size_t len = strcspn(p, ".");
		ASIM_ASSERT(len < MAX_COMP);
		size_t j;
		for (j = 0; j < n; j++)
			if (strlen(keys[j]) == len && strncmp(keys[j], p, len) == 0)
				break;
		if (j < n)
			continue;
		ASIM_ASSERT(n < MAX_KEYS);
		memcpy(keys[n], p, len);
		keys[n][len] = '\0';
		n++;
	}
	return n;
}

/* True when some field lies strictly below `path` (so `path` names a mapping). */
static int is_section(const char *path)
{
	size_t len = strlen(path);
	for (size_t i = 0; i < NFIELDS; i++)
		if (strncmp(fields[i].path, path, len) == 0 && fields[i].path[len] == '.')
			return 1;
	return 0;
}

/* Check that `map` (at `prefix`) is a mapping whose keys are all known, recursively. */
static int check_map(const yd_doc *d, const yd_node *map, const char *prefix, asim_err *e)
{
	const char *what = prefix[0] ? prefix : "the chip description";
	int rc = yd_expect(d, map, YD_MAP, what, e);
	if (rc != 0)
		return rc;
	char keys[MAX_KEYS][MAX_COMP];
	size_t nk = keys_under(prefix, keys), n = 0;
	const char *names[MAX_KEYS + 1];
	if (prefix[0] == '\0')
		names[n++] = "accelsim";
	for (size_t i = 0; i < nk; i++)
		names[n++] = keys[i];
	if ((rc = yd_check_keys(d, map, names, n, what, e)) != 0)
		return rc;
	for (size_t i = 0; i < map->len; i++) {
		char path[128];
		snprintf(path, sizeof path, "%s%s%s", prefix, prefix[0] ? "." : "", yd_key(map, i)->str);
		if (is_section(path) && (rc = check_map(d, yd_val(map, i), path, e)) != 0)
			return rc;
	}
	return ASIM_OK;
}

/* The node at a dotted path, or NULL. *parent gets the deepest mapping reached (for messages about
 * a missing key) and *missing the first absent component. */
static const yd_node *lookup(const yd_node *root, const char *path, const yd_node **parent,
                             char *missing, size_t msize)
{
	const yd_node *n = root;
	const char *p = path;
	for (;;) {
		size_t len = strcspn(p, ".");
		char comp[MAX_COMP];
		ASIM_ASSERT(len < sizeof comp);
		memcpy(comp, p, len);
		comp[len] = '\0';
		if (parent)
			*parent = n;
		const yd_node *next = yd_get(n, comp);
		if (next == NULL) {
			if (missing)
				snprintf(missing, msize, "%s", comp);
			return NULL;
		}
		n = next;
		if (p[len] == '\0')
			return n;
		p += len + 1;
	}
}

/* ---- cross-field checks and derived values ----------------------------------------------------- */

/* 0 when the combination is possible; otherwise an error code, the path of the field to blame and
 * a message that names the fix. */
static int cross_check(const chip *c, const char **blame, char *msg, size_t n)
{
	const uint64_t accum_bytes = 4;  /* FP32 accumulation: the only accumulator modelled */
	if (c->sbuf.partitions < c->pe.rows) {
		*blame = "sbuf.partitions";
		snprintf(msg, n, "sbuf.partitions (%" PRIu32 ") must be at least pe_array.rows (%" PRIu32
		         "): the contraction dimension lies across SBUF partitions, one per PE row; raise "
		         "sbuf.partitions or lower pe_array.rows", c->sbuf.partitions, c->pe.rows);
		return ASIM_ERANGE;
	}
	if (c->psum.partitions < c->pe.cols) {
		*blame = "psum.partitions";
		snprintf(msg, n, "psum.partitions (%" PRIu32 ") must be at least pe_array.cols (%" PRIu32
		         "): a matmul writes one PSUM partition per PE column; raise psum.partitions or "
		         "lower pe_array.cols", c->psum.partitions, c->pe.cols);
		return ASIM_ERANGE;
	}
	if (c->psum.partition_bytes % c->psum.banks != 0) {
		*blame = "psum.banks";
		snprintf(msg, n, "psum.partition_bytes (%" PRIu64 ") must divide into psum.banks (%" PRIu32
		         ") equal banks; make psum.partition_bytes a multiple of %" PRIu32,
		         c->psum.partition_bytes, c->psum.banks, c->psum.banks);
		return ASIM_ERANGE;
	}
	uint64_t bank = c->psum.partition_bytes / c->psum.banks;
	uint64_t tile = (uint64_t)c->pe.max_moving * accum_bytes;
	if (bank < tile) {
		*blame = "pe_array.max_moving";
		snprintf(msg, n, "a PSUM bank holds %" PRIu64 " bytes per partition (psum.partition_bytes / "
		         "psum.banks), less than one moving tile of pe_array.max_moving = %" PRIu32
		         " FP32 accumulators (%" PRIu64 " bytes); lower pe_array.max_moving to %" PRIu64
		         " or enlarge the PSUM banks", bank, c->pe.max_moving, tile, bank / accum_bytes);
		return ASIM_ERANGE;
	}
	if (c->sbuf.partition_bytes < tile) {
		*blame = "sbuf.partition_bytes";
		snprintf(msg, n, "sbuf.partition_bytes (%" PRIu64 ") is smaller than one moving tile of "
		         "pe_array.max_moving = %" PRIu32 " FP32 values (%" PRIu64 " bytes); raise "
		         "sbuf.partition_bytes or lower pe_array.max_moving", c->sbuf.partition_bytes,
		         c->pe.max_moving, tile);
		return ASIM_ERANGE;
	}
	if (c->vector.lanes > c->sbuf.partitions) {
		*blame = "vector.lanes";
		snprintf(msg, n, "vector.lanes (%" PRIu32 ") must not exceed sbuf.partitions (%" PRIu32
		         "): a lane serves one partition", c->vector.lanes, c->sbuf.partitions);
		return ASIM_ERANGE;
	}
	if (c->scalar.lanes > c->sbuf.partitions) {
		*blame = "scalar.lanes";
		snprintf(msg, n, "scalar.lanes (%" PRIu32 ") must not exceed sbuf.partitions (%" PRIu32
		         "): a lane serves one partition", c->scalar.lanes, c->sbuf.partitions);
		return ASIM_ERANGE;
	}
	return ASIM_OK;
}

/* Canonical decimal text of `v`: whole numbers below 2^53 as integers ("820"), others in the
 * first of %.15g, %.16g, %.17g that reads back as exactly `v` with strtod ("2.8", "0.275", "1e-06"). */
static void fmt_double(char *buf, size_t n, double v)
{
	if (v == floor(v) && fabs(v) < 9007199254740992.0) {
		snprintf(buf, n, "%.0f", v);
		return;
	}
	/* %.15g already drops trailing zeros, so it is the shortest form for every value with at most 15
	 * significant digits (the ones people write); 16 or 17 digits are needed only for the rest. */
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, n, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

int chip_canonical(const chip *c, char **out, size_t *len)
{
	size_t cap = 4096, used = 0;
	char *buf = asim_malloc(cap);
	if (buf == NULL)
		return ASIM_ENOMEM;
	used += (size_t)snprintf(buf, cap, "accelsim = 1\n");
	for (size_t i = 0; i < NFIELDS; i++) {
		const field *f = &fields[i];
		char val[96];
		switch (f->type) {
		case FT_U32: {
			uint32_t v;
			memcpy(&v, cslot(c, f), sizeof v);
			snprintf(val, sizeof val, "%" PRIu32, v);
			break;
		}
		case FT_U64:
		case FT_SIZE: {
			uint64_t v;
			memcpy(&v, cslot(c, f), sizeof v);
			snprintf(val, sizeof val, "%" PRIu64, v);
			break;
		}
		case FT_F64: {
			double v;
			memcpy(&v, cslot(c, f), sizeof v);
			fmt_double(val, sizeof val, v);
			break;
		}
		case FT_ENUM: {
			int v;
			memcpy(&v, cslot(c, f), sizeof v);
			const char *name = "?";
			for (size_t j = 0; j < f->nnames; j++)
				if ((f->vals ? f->vals[j] : (int)j) == v)
					name = f->names[j];
			snprintf(val, sizeof val, "%s", name);
			break;
		}
		case FT_BOOL: {
			int v;
			memcpy(&v, cslot(c, f), sizeof v);
			snprintf(val, sizeof val, "%s", v ? "true" : "false");
			break;
		}
		case FT_STR: {
			const char *s;
			memcpy(&s, cslot(c, f), sizeof s);
			snprintf(val, sizeof val, "%s", s ? s : "");
			break;
		}
		}
		size_t need = strlen(f->path) + strlen(val) + 5;
		if (used + need > cap) {
			char *nb = asim_realloc(buf, cap * 2);
			if (nb == NULL) {
				asim_free(buf);
				return ASIM_ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		used += (size_t)snprintf(buf + used, cap - used, "%s = %s\n", f->path, val);
	}
	*out = buf;
	if (len)
		*len = used;
	return ASIM_OK;
}

static uint64_t fnv1a64(const char *s, size_t n)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

/* Derived values and the hash, after cross_check() passed. */
static int derive(chip *c)
{
	double pairs = 2.0 * (double)c->pe.rows * (double)c->pe.cols;  /* exact: < 2^25 */
	double hz = c->pe.clock_ghz * 1e9;
	for (int t = 0; t < ASIM_DT_COUNT; t++)
		c->peak_flops[t] = t == ASIM_DT_INT32 ? 0 : pairs * hz * c->pe.rate[t];
	c->sbuf_bytes = (uint64_t)c->sbuf.partitions * c->sbuf.partition_bytes;
	c->psum_bytes = (uint64_t)c->psum.partitions * c->psum.partition_bytes;
	c->psum_bank_bytes = c->psum.partition_bytes / c->psum.banks;
	c->dma_gb_per_s = (double)c->dma.engines * c->dma.engine_gb_per_s;
	c->hbm_bytes_per_pe_cycle = c->hbm.bandwidth_gb_per_s / c->pe.clock_ghz;
	char *canon;
	size_t len;
	if (chip_canonical(c, &canon, &len) != 0)
		return ASIM_ENOMEM;
	snprintf(c->hash, sizeof c->hash, "%016" PRIx64, fnv1a64(canon, len));
	asim_free(canon);
	return ASIM_OK;
}

int chip_derive(chip *c, asim_err *e)
{
	const char *blame = NULL;
	char msg[600];
	c->pe.rate[ASIM_DT_INT32] = 0;
	c->energy.mac_pj[ASIM_DT_INT32] = 0;
	int rc = cross_check(c, &blame, msg, sizeof msg);
	if (rc != 0)
		return asim_errorf(e, rc, "chip '%s': %s", c->name ? c->name : "?", msg);
	if (derive(c) != 0)
		return asim_errorf(e, ASIM_ENOMEM, "out of memory");
	return ASIM_OK;
}

/* ---- loading --------------------------------------------------------------------------------- */

static int check_version(const yd_doc *d, asim_err *e)
{
	const yd_node *v = yd_get(d->root, "accelsim");
	if (v == NULL)
		return yd_error(d, d->root, e, ASIM_ESCHEMA,
		                "missing key 'accelsim' in the chip description: a chip file starts with "
		                "'accelsim: 1', the format version");
	uint64_t ver;
	int rc = yd_u64(d, v, "accelsim (the format version)", 0, UINT64_MAX, &ver, e);
	if (rc != 0)
		return rc;
	if (ver != 1)
		return yd_error(d, v, e, ASIM_EUNSUPPORTED,
		                "chip format version %" PRIu64 " is not supported: this accelsim reads "
		                "version 1 (accelsim: 1)", ver);
	return ASIM_OK;
}

static int load_doc(chip *c, const yd_doc *d, asim_err *e)
{
	const yd_node *root = d->root;
	int rc = yd_expect(d, root, YD_MAP, "the chip description", e);
	if (rc != 0)
		return rc;
	if ((rc = check_version(d, e)) != 0)
		return rc;
	if (yd_get(root, "ops") != NULL || yd_get(root, "tensors") != NULL) {
		const yd_node *k = yd_get(root, "ops") ? yd_get(root, "ops") : yd_get(root, "tensors");
		return yd_error(d, k, e, ASIM_ESCHEMA,
		                "this is a graph description (it has '%s'), not a chip: give it as the graph",
		                yd_get(root, "ops") ? "ops" : "tensors");
	}
	if ((rc = check_map(d, root, "", e)) != 0)
		return rc;

	const yd_node *where[NFIELDS];
	for (size_t i = 0; i < NFIELDS; i++) {
		const field *f = &fields[i];
		const yd_node *parent;
		char missing[MAX_COMP];
		const yd_node *n = lookup(root, f->path, &parent, missing, sizeof missing);
		where[i] = n;
		if (n != NULL) {
			if ((rc = read_field(d, n, f, c, e)) != 0)
				return rc;
		} else if (f->required) {
			const char *sep = strrchr(f->path, '.');
			int section_missing = strchr(f->path, '.') != NULL && strcmp(missing, sep + 1) != 0;
			char pwhat[128];
			if (parent == root)
				snprintf(pwhat, sizeof pwhat, "the chip description");
			else
				snprintf(pwhat, sizeof pwhat, "%.*s", (int)(sep - f->path), f->path);
			return yd_error(d, parent, e, ASIM_ESCHEMA,
			                "missing key '%s' in %s (%s; docs/chip-format.md describes it)", missing,
			                pwhat, section_missing ? "a required section" : "required");
		} else
			set_default(c, f);
	}

	const char *blame = NULL;
	char msg[600];
	c->pe.rate[ASIM_DT_INT32] = 0;
	c->energy.mac_pj[ASIM_DT_INT32] = 0;
	if ((rc = cross_check(c, &blame, msg, sizeof msg)) != 0) {
		const field *f = find_field(blame);
		ASIM_ASSERT(f != NULL);
		const yd_node *at = where[f - fields];
		if (at == NULL) {
			const yd_node *parent;
			lookup(root, blame, &parent, NULL, 0);
			at = parent;
		}
		return yd_error(d, at, e, rc, "%s", msg);
	}
	if (derive(c) != 0)
		return asim_errorf(e, ASIM_ENOMEM, "out of memory");
	return ASIM_OK;
}

int chip_load_buffer(chip *c, const char *name, const char *buf, size_t len, asim_err *e)
{
	memset(c, 0, sizeof *c);
	yd_doc d;
	int rc = yd_load_buffer(&d, name, buf, len, e);
	if (rc == 0)
		rc = load_doc(c, &d, e);
	yd_free(&d);
	if (rc == 0 && (c->source = asim_strdup(name)) == NULL)
		rc = asim_errorf(e, ASIM_ENOMEM, "out of memory");
	if (rc != 0)
		chip_fini(c);
	return rc;
}

int chip_load_file(chip *c, const char *path, asim_err *e)
{
	memset(c, 0, sizeof *c);
	yd_doc d;
	int rc = yd_load_file(&d, path, e);
	if (rc == 0)
		rc = load_doc(c, &d, e);
	yd_free(&d);
	if (rc == 0 && (c->source = asim_strdup(path)) == NULL)
		rc = asim_errorf(e, ASIM_ENOMEM, "out of memory");
	if (rc != 0)
		chip_fini(c);
	return rc;
}

size_t chip_builtin_count(void) { return chip_nbuiltins; }

const char *chip_builtin_name(size_t i) { return i < chip_nbuiltins ? chip_builtins[i].name : NULL; }

static int load_builtin(chip *c, size_t i, asim_err *e)
{
	char src[96];
	snprintf(src, sizeof src, "built-in:%s", chip_builtins[i].name);
	return chip_load_buffer(c, src, chip_builtins[i].text, chip_builtins[i].len, e);
}

int chip_load_default(chip *c, asim_err *e)
{
	ASIM_ASSERT(chip_nbuiltins > 0);
	return load_builtin(c, 0, e);
}

int chip_load(chip *c, const char *spec, asim_err *e)
{
	memset(c, 0, sizeof *c);
	struct stat st;
	if (spec != NULL && stat(spec, &st) == 0)
		return chip_load_file(c, spec, e);
	int stat_errno = errno;
	for (size_t i = 0; spec != NULL && i < chip_nbuiltins; i++)
		if (strcmp(spec, chip_builtins[i].name) == 0)
			return load_builtin(c, i, e);
	const char *names[16];
	size_t n = chip_nbuiltins < 16 ? chip_nbuiltins : 16;
	char list[256];
	size_t o = 0;
	list[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		names[i] = chip_builtins[i].name;
		o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", i ? ", " : "", names[i]);
		if (o >= sizeof list)
			o = sizeof list - 1;
	}
	char esc[128];
	asim_escape(esc, sizeof esc, spec ? spec : "");
	const char *hint = spec ? asim_suggest(spec, names, n) : NULL;
	size_t slen = spec ? strlen(spec) : 0;
	if (spec != NULL && (strchr(spec, '/') != NULL || (slen > 5 && strcmp(spec + slen - 5, ".yaml") == 0) ||
	                     (slen > 4 && strcmp(spec + slen - 4, ".yml") == 0)))
		return asim_errorf(e, ASIM_ENOENT, "%s: cannot open: %s "
		                   "(built-in chips, usable by name: %s)", esc, strerror(stat_errno), list);
	if (hint != NULL)
		return asim_errorf(e, ASIM_ENOENT, "'%s' is neither a chip file nor a built-in chip (did you "
		                   "mean '%s'? built-in chips: %s)", esc, hint, list);
	return asim_errorf(e, ASIM_ENOENT, "'%s' is neither a chip file nor a built-in chip (built-in "
	                   "chips: %s)", esc, list);
}

void chip_fini(chip *c)
{
	asim_free(c->name);
	asim_free(c->source);
	memset(c, 0, sizeof *c);
}

int chip_copy(chip *dst, const chip *src)
{
	*dst = *src;
	dst->name = src->name ? asim_strdup(src->name) : NULL;
	dst->source = src->source ? asim_strdup(src->source) : NULL;
	if ((src->name && dst->name == NULL) || (src->source && dst->source == NULL)) {
		chip_fini(dst);
		return ASIM_ENOMEM;
	}
	return ASIM_OK;
}

/* ---- sweeps: one parameter at a time --------------------------------------------------------- */

/* "key:1:4: message" → "message" (the position inside a one-line value document means nothing). */
static const char *strip_position(const char *msg, size_t keylen)
{
	const char *p = msg;
	if (strlen(p) <= keylen || p[keylen] != ':')
		return msg;
	p += keylen + 1;
	for (int k = 0; k < 2; k++) {
		if (!(*p >= '0' && *p <= '9'))
			return msg;
		while (*p >= '0' && *p <= '9')
			p++;
		if (*p != ':')
			return msg;
		p++;
	}
	return *p == ' ' ? p + 1 : p;
}

int chip_set_param(chip *c, const char *key, const char *value, asim_err *e)
{
	const field *f = key ? find_field(key) : NULL;
	char esc[128];
	asim_escape(esc, sizeof esc, key ? key : "");
	if (f == NULL) {
		const char *paths[NFIELDS];
		for (size_t i = 0; i < NFIELDS; i++)
			paths[i] = fields[i].path;
		const char *hint = key ? asim_suggest(key, paths, NFIELDS) : NULL;
		if (hint != NULL)
			return asim_errorf(e, ASIM_ESCHEMA, "unknown chip parameter '%s' (did you mean '%s'?)",
			                   esc, hint);
		return asim_errorf(e, ASIM_ESCHEMA, "unknown chip parameter '%s' (docs/chip-format.md lists "
		                   "them: pe_array.cols, sbuf.partition_bytes, hbm.bandwidth_gb_per_s, ...)", esc);
	}
	if (value == NULL || value[0] == '\0' || strpbrk(value, "\n\r") != NULL)
		return asim_errorf(e, ASIM_ESCHEMA, "%s: the value must be one line of text, not empty", key);
	size_t vlen = strlen(value);
	char *text = asim_malloc(vlen + 5);
	if (text == NULL)
		return asim_errorf(e, ASIM_ENOMEM, "out of memory");
	memcpy(text, "v: ", 3);
	memcpy(text + 3, value, vlen);
	memcpy(text + 3 + vlen, "\n", 2);

	asim_err local;
	asim_err_init(&local);
	yd_doc d;
	chip tmp = *c;
	int rc = yd_load_buffer(&d, key, text, vlen + 4, &local);
	asim_free(text);
	if (rc == 0 && (d.root->kind != YD_MAP || d.root->len != 1))
		rc = asim_errorf(&local, ASIM_ESCHEMA, "%s: the value must be a single YAML scalar", key);
	if (rc == 0)
		rc = read_field(&d, yd_val(d.root, 0), f, &tmp, &local);
	yd_free(&d);
	if (rc == 0)
		rc = chip_derive(&tmp, &local);
	if (rc != 0) {
		if (tmp.name != c->name)
			asim_free(tmp.name);
		return asim_errorf(e, rc, "%s", strip_position(local.msg, strlen(key)));
	}
	if (tmp.name != c->name)
		asim_free(c->name);
	*c = tmp;
	return ASIM_OK;
}
