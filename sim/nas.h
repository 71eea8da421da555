/*
 * nas.h -- neural-architecture search spaces and the candidates sampled from them.
 *
 * A search space (`nas: 1` YAML, docs/estimators.md "NAS candidates") is a MobileNetV2-style
 * network whose every free decision is an explicit list of choices:
 *
 *     image [batch, 3, R, R]                                   batch, resolution: choices
 *       └─ stem: k×k conv, stride s, relu6                      channels: choices
 *       └─ stage 1 .. S, each: depth d (choice) × depth multiplier m (global choice)
 *            → ⌈d·m⌉ blocks; output channels c (choice, shared by the stage's blocks);
 *            per block: expansion t, kernel k, type (choices):
 *              mbconv  [1×1 expand, relu6] → k×k depthwise (stride) relu6 → 1×1 project
 *              fused   k×k full conv (stride) relu6 → 1×1 project      (t = 1: one k×k conv, relu6)
 *            the first block of a stage has the stage's stride; a block whose input and output
 *            shapes agree (stride 1, c_in = c_out) adds its input (residual)
 *       └─ head: 1×1 conv (channels: choices) relu6 → global_avgpool → reshape → fc (classes)
 *
 * Sampling is uniform and counter-based: every decision has a fixed slot number, and choice
 * number j of candidate i at attempt a is read from Philox4x32-10 (sim/datapath/philox.h) under
 * (key = seed, stream = i) at element (a << 40) | (slot << 12) | r, r = 0, 1, ... until a word w
 * lands below n·⌊2³²/n⌋ (so w mod n is exactly uniform over the n choices). A candidate therefore
 * depends only on (spec, seed, i): the same seed gives the same files whatever N is, and any
 * candidate can be regenerated alone. A drawn architecture is written as graph YAML and loaded with
 * graph_load_buffer() (the one validation path: shapes, sizes, MACs, parameters, hash); one that
 * fails to load or breaks a constraint (MAC and parameter bounds) is rejected and redrawn at the
 * next attempt, at most max_attempts times; rejection keeps the draw uniform over the feasible
 * architectures.
 *
 * Slots (stable: changing them changes every sampled file):
 *     0 batch   1 resolution   2 depth multiplier   3 stem channels   4 head channels
 *     16 + 258·s + 0            depth of stage s (0-based)
 *     16 + 258·s + 1            channels of stage s
 *     16 + 258·s + 2 + 4·b + 0  expansion of block b (0-based) of stage s
 *                        + 1    kernel
 *                        + 2    block type
 * A list of one choice is not drawn (nothing to decide).
 */
#ifndef ASIM_NAS_H
#define ASIM_NAS_H

#include <stddef.h>
#include <stdint.h>

#include "sim/error.h"

#define NAS_MAX_CHOICES 64   /* per list */
#define NAS_MAX_STAGES 32
#define NAS_MAX_BLOCKS 64    /* per stage, after the depth multiplier */
#define NAS_MAX_N 100000     /* candidates per run: cand_00000 .. cand_99999 */

typedef enum nas_block_type { NAS_MBCONV, NAS_FUSED, NAS_BLOCK_TYPES } nas_block_type;
extern const char *const nas_block_names[NAS_BLOCK_TYPES];   /* "mbconv", "fused" */

typedef struct nas_choices {           /* a list of integer choices, in the spec's order */
	uint32_t n;
	uint32_t v[NAS_MAX_CHOICES];
} nas_choices;

typedef struct nas_stage {
	nas_choices expansion, kernel, channels, depth, block;   /* block: nas_block_type values */
	uint32_t stride;
	uint32_t max_blocks;               /* ⌈max depth · max multiplier⌉ */
} nas_stage;

typedef struct nas_spec {
	char *file;                        /* owned: the spec's file name, for messages */
	char *name;                        /* owned: `name:` (letters, digits, _ . -) */
	char dtype[16];                    /* element type of every tensor */
	nas_choices batch, resolution, stem_channels, head_channels;
	uint32_t stem_kernel, stem_stride, classes;
	uint32_t n_mult;                   /* depth multipliers */
	double mult[NAS_MAX_CHOICES];
	char mult_text[NAS_MAX_CHOICES][24];   /* as written in the spec, for files and the index */
	nas_stage *stages;                 /* owned */
	uint32_t n_stages;
	uint64_t min_macs, max_macs, min_params, max_params;   /* 0 / UINT64_MAX: no bound */
	uint32_t max_attempts;             /* per candidate */
	unsigned long cons_line, cons_col; /* `constraints:` (or the document) for "space is empty" */
} nas_spec;

typedef struct nas_block {
	uint8_t type;                      /* nas_block_type */
	uint32_t expansion, kernel;
} nas_block;

typedef struct nas_arch {              /* one draw: values, not indices */
	uint32_t batch, resolution, stem, head, mult_idx;
	uint32_t depth[NAS_MAX_STAGES];    /* drawn depth d */
	uint32_t blocks[NAS_MAX_STAGES];   /* built blocks ⌈d·m⌉ */
	uint32_t channels[NAS_MAX_STAGES];
	nas_block block[NAS_MAX_STAGES][NAS_MAX_BLOCKS];
} nas_arch;

typedef struct nas_candidate {
	nas_arch arch;
	uint32_t attempt;                  /* the accepted attempt, 0-based */
	char *text;                        /* owned: the graph YAML */
	size_t len;
	uint64_t macs, params, n_ops;
	char hash[17];                     /* graph content hash (docs/graph-format.md) */
} nas_candidate;

/* Load and validate a spec completely; errors are `file:line:col: message`. nas_spec_fini() is
 * safe after a failure. */
int nas_spec_load_file(nas_spec *s /* OUT */, const char *path, asim_err *e);
int nas_spec_load_buffer(nas_spec *s /* OUT */, const char *name, const char *buf, size_t len,
                         asim_err *e);
void nas_spec_fini(nas_spec *s);

/* The uniform choice in [0, n) for (seed, candidate, attempt, slot); n >= 1. */
uint32_t nas_uniform(uint64_t seed, uint64_t cand, uint32_t attempt, uint32_t slot, uint32_t n);
/* Draw attempt `attempt` of candidate `cand` (no validation). */
void nas_draw(const nas_spec *s, uint64_t seed, uint64_t cand, uint32_t attempt, nas_arch *a /* OUT */);
/* The compact architecture code, e.g. "16:M1k3/24:M6k3+F4k5" (docs/estimators.md); returns the
 * length written (truncated to n - 1). */
size_t nas_arch_code(const nas_spec *s, const nas_arch *a, char *buf, size_t n);
/* Sample candidate `cand`: draw, build, load, check; redraw on rejection. An empty (or too tightly
 * constrained) space gives ASIM_ERANGE at the spec's `constraints:`. nas_candidate_fini() after. */
int nas_sample(const nas_spec *s, uint64_t seed, uint64_t cand, nas_candidate *c /* OUT */, asim_err *e);
void nas_candidate_fini(nas_candidate *c);

/* `accelsim nas sample`: write DIR/cand_00000.yaml .. and DIR/index.csv. DIR must not exist or
 * be empty; everything is written into a temporary directory beside it, renamed to DIR when
 * complete, and removed on any failure (so DIR never holds a partial set). */
int nas_write(const nas_spec *s, uint64_t seed, uint64_t n, const char *dir, asim_err *e);

#endif
