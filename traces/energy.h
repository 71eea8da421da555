/*
 * energy.h -- the energy model: what one instruction costs in picojoules, from the chip's table.
 *
 * Per instruction (chip.h, chip_energy; docs/traces.md, "Energy"):
 *
 *     mac    = MACs × mac_pj[dtype]                dtype: the instruction's main operand (src0)
 *     sbuf   = (SBUF bytes read + written) × sbuf_pj_per_byte
 *     psum   = (PSUM bytes read + written) × psum_pj_per_byte   (a matmul with `acc` also reads)
 *     hbm    = (HBM bytes read + written) × 8 × hbm_pj_per_bit
 *
 * and for a span of time, static = static_w × seconds (the chip's static power: the whole chip,
 * since its other cores idle but leak). Dynamic energy is spread uniformly over the instruction's
 * start..end when drawn as power. Units: pJ (1e-12 J), W.
 */
#ifndef ASIM_ENERGY_H
#define ASIM_ENERGY_H

#include "sim/chip.h"
#include "sim/event.h"

#define ENERGY_COMPONENTS(X) X(MAC, "mac") X(SBUF, "sbuf") X(PSUM, "psum") X(HBM, "hbm") \
	X(STATIC, "static")
typedef enum energy_component {
#define X(name, str) ENERGY_##name,
	ENERGY_COMPONENTS(X)
#undef X
	ENERGY_COUNT
} energy_component;

extern const char *const energy_names[ENERGY_COUNT];   /* "mac", "sbuf", "psum", "hbm", "static" */

/* Dynamic energy of one instruction by component, pJ (pj[ENERGY_STATIC] = 0). Returns the sum. */
double energy_inst(const chip *c, const event_inst *ev, double pj[ENERGY_COUNT] /* OUT */);

/* Static energy of the chip over `seconds`, pJ. */
double energy_static_pj(const chip *c, double seconds);

#endif
