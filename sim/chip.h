/*
 * chip.h -- the chip description: what one accelerator chip is, validated, with derived figures.
 *
 * A chip is loaded from YAML (docs/chip-format.md), validated field by field, and then read-only.
 * Per core it has:
 *
 *   HBM ══ DMA engines (dma.engines queues) ══► SBUF: partitions × partition_bytes
 *                                                 │ ▲
 *                          stationary [K ≤ rows × M ≤ cols]   evacuation (vector / scalar engines)
 *                                                 ▼ │
 *               PE array: rows (contraction depth) × cols (parallelism factor)
 *                                                 │ moving operand streams N columns (N ≤ one bank)
 *                                                 ▼
 *                        PSUM: partitions × banks × bank_bytes (FP32 accumulation)
 *
 * Units are in the names: *_ghz (10^9 Hz), *_gb_per_s (10^9 bytes per second: GB/s, never bits),
 * *_ns, *_bytes, *_pj, *_w. Sizes accept KiB/MiB/GiB in YAML; here they are bytes.
 * (design.md spells bandwidth keys `_gbps`; we write `_gb_per_s` because "Gbps" is read as
 * gigabits by half of all engineers — docs/chip-format.md says so.)
 *
 * Derived figures (chip_derive) are computed once at load: peak FLOP/s per dtype per core, bytes
 * per cycle, the content hash. Sweeps that vary chip parameters call chip_set_param() and then
 * chip_derive() again.
 */
#ifndef ASIM_CHIP_H
#define ASIM_CHIP_H

#include <stddef.h>
#include <stdint.h>

#include "sim/dtype.h"
#include "sim/error.h"

typedef enum chip_dataflow {
	CHIP_WEIGHT_STATIONARY,
	CHIP_OUTPUT_STATIONARY,
	CHIP_INPUT_STATIONARY,
	CHIP_DATAFLOW_COUNT
} chip_dataflow;

/* How successive matmuls on the PE array overlap:
 *   PIPELINED     Trainium-like: a new matmul issues every max(min_ii, N_moving)-ish cycles,
 *                 fill and drain overlap the neighbours' (design.md §2);
 *   SERIAL_FOLDS  classic systolic-array models (SCALE-Sim): each fold pays its own fill and
 *                 drain, folds run back to back without overlap. */
typedef enum chip_pe_mode { CHIP_PE_PIPELINED, CHIP_PE_SERIAL_FOLDS, CHIP_PE_MODE_COUNT } chip_pe_mode;

typedef struct chip_pe {
	uint32_t rows;                 /* contraction depth (K per pass) */
	uint32_t cols;                 /* parallelism factor: dot products at once (M per pass) */
	chip_dataflow dataflow;
	chip_pe_mode mode;
	double clock_ghz;
	double rate[ASIM_DT_COUNT];    /* MACs per PE per cycle by operand dtype (YAML
	                                  macs_per_cycle_per_pe; bf16 1 and fp32 0.25 on trn1;
	                                  int32 is never multiplied: 0) */
	uint32_t min_ii_cycles;        /* minimum initiation interval of a matmul (64 on trn1) */
	uint32_t fill_cycles;          /* pipeline latency before the first result leaves */
	uint32_t drain_cycles;         /* after the last input enters */
	uint32_t max_moving;           /* moving free size limit per matmul (512: one PSUM bank) */
} chip_pe;

typedef struct chip_engine {      /* vector and scalar/activation engines */
	uint32_t lanes;                /* partitions processed in parallel */
	double clock_ghz;
	double elems_per_cycle;        /* per lane */
	uint32_t fixed_cycles;         /* fixed overhead per instruction */
	uint32_t min_ii_cycles;        /* minimum initiation interval */
} chip_engine;

typedef struct chip_sbuf {
	uint32_t partitions;
	uint64_t partition_bytes;
} chip_sbuf;

typedef struct chip_psum {
	uint32_t partitions;
	uint32_t banks;
	uint64_t partition_bytes;      /* all banks of one partition */
} chip_psum;

typedef struct chip_dma {
	uint32_t engines;              /* queues per core */
	double engine_gb_per_s;        /* peak of one engine */
	double fixed_ns;               /* fixed cost per descriptor */
	uint32_t descriptors_in_flight; /* per queue: 1 = serial; D: fixed phases overlap D-1 data phases */
	uint64_t efficient_bytes;      /* transfers smaller than this lose efficiency */
} chip_dma;

typedef struct chip_hbm {
	uint64_t capacity_bytes;       /* per chip */
	double bandwidth_gb_per_s;     /* per chip, shared by its cores */
	double latency_ns;
} chip_hbm;

typedef struct chip_numerics {
	asim_dtype accum;              /* accumulator type (fp32) */
	asim_rounding rounding;        /* default output rounding */
	uint32_t sr_bits;              /* random bits for stochastic rounding, 1..32 */
	uint64_t seed;
	int saturate_fp8;              /* default saturation of fp8 conversions */
	int saturate_16;               /* default saturation of bf16/fp16 conversions */
} chip_numerics;

typedef struct chip_energy {       /* calibration knobs, sources in the chip files */
	double mac_pj[ASIM_DT_COUNT];  /* per multiply-accumulate, by operand dtype */
	double sbuf_pj_per_byte;
	double psum_pj_per_byte;
	double hbm_pj_per_bit;
	double static_w;               /* per chip */
} chip_energy;

typedef struct chip {
	char *name;                    /* owned */
	char *source;                  /* owned: file name, or "built-in:trn1" */
	uint32_t cores;
	chip_pe pe;
	chip_engine vector, scalar;
	chip_sbuf sbuf;
	chip_psum psum;
	chip_dma dma;
	chip_hbm hbm;
	chip_numerics num;
	chip_energy energy;
	/* derived by chip_derive() */
	double peak_flops[ASIM_DT_COUNT];  /* per core: 2 × rows × cols × clock × rate */
	uint64_t sbuf_bytes, psum_bytes;    /* per core */
	uint64_t psum_bank_bytes;           /* per partition per bank */
	double dma_gb_per_s;                /* per core: dma.engines × dma.engine_gb_per_s (added) */
	double hbm_bytes_per_pe_cycle;      /* per chip: HBM bandwidth over one PE-array cycle (added) */
	char hash[17];                      /* content hash, 16 hex digits, of the canonical values */
} chip;

/* Load and validate. On failure `c` is left empty (chip_fini-safe) and `e` names file:line:col. */
int chip_load_file(chip *c /* OUT */, const char *path, asim_err *e);
int chip_load_buffer(chip *c /* OUT */, const char *name, const char *buf, size_t len, asim_err *e);
/* The built-in default chip (trn1, compiled in from models/chips/trn1.yaml). */
int chip_load_default(chip *c /* OUT */, asim_err *e);
/* `spec` is a file path, or the name of a shipped chip ("trn2": the copy of models/chips/trn2.yaml
 * compiled into the program, so it works from any directory). */
int chip_load(chip *c /* OUT */, const char *spec, asim_err *e);
void chip_fini(chip *c);
int chip_copy(chip *dst /* OUT */, const chip *src);

/* Set one parameter by its dotted YAML path ("pe_array.cols", "hbm.bandwidth_gb_per_s",
 * "sbuf.partition_bytes" with units, ...), validate it, and re-derive. Used by sweeps. */
int chip_set_param(chip *c, const char *dotted_key, const char *value, asim_err *e);
/* Recompute the derived fields and re-check cross-field constraints. */
int chip_derive(chip *c, asim_err *e);

/* Added by the chip-format work. */
/* The built-in chips, compiled in from the YAML files in models/chips: trn1 (index 0, the default), trn2, inf2,
 * edge-npu. chip_builtin_name() returns NULL past the end. */
size_t chip_builtin_count(void);
const char *chip_builtin_name(size_t i);
/* The canonical serialisation the hash is computed over: one `key = value` line per field, in
 * the fixed order of docs/chip-format.md, defaults filled in, sizes in bytes, numbers in their
 * shortest round-trip form. *out is owned by the caller (asim_free). Returns 0 or ASIM_ENOMEM. */
int chip_canonical(const chip *c, char **out /* OUT */, size_t *len /* OUT, may be NULL */);

#endif
