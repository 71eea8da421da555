/*
 * functional.h -- functional mode: the values a lowered program computes, bit for bit.
 *
 * The timing simulation (sim/engine) runs a program for its durations; the functional executor
 * runs THE SAME PROGRAM for its values. It holds the memory images of one core
 *
 *     HBM    one flat byte array (the lowering's placement, lower_hbm_place)
 *     SBUF   partitions × partition_bytes        PSUM   partitions × partition_bytes (FP32)
 *
 * and executes every instruction with the datapath's numerics (sim/datapath): DMA copies (casts
 * to the destination dtype), matmuls with FP32 products summed down the array from +0 and written
 * to or added into PSUM in the order the program issues them, vector ALU ops, reductions,
 * transposes, copies and activations computed in FP32 and rounded ONCE to the destination dtype
 * with the graph op's numerics (chip defaults overridden per op). Stochastic rounding draws the
 * random bits of the element's linear index in the op's output tensor (isa_inst.oidx), from
 * Philox with the run's seed and stream 4·op + output slot, so results do not depend on tiling.
 *
 * Order: each queue runs in program order; an instruction runs when its semaphore waits are met
 * and completes atomically (its signal is incremented at once). Among the queues whose next
 * instruction is ready the executor picks, deterministically, the one earliest in the program
 * (FUNC_ORDER_PROGRAM) or the one on the highest-numbered queue (FUNC_ORDER_QUEUE_DESC); a
 * race-free program gives the same values under both, which the tests check.
 *
 * A reference (func_reference) computes every op of the graph directly from its definition, with
 * the datapath kernels and no tiling, in the documented accumulation orders (docs/functional.md).
 * Ops the executor cannot execute faithfully yet are refused up front (func_check_graph), naming
 * the op: never wrong numbers.
 *
 * Tensor values (func_vals): per tensor, elems codes of its dtype (uint8/16/32 per element,
 * native byte order), in the tensor's logical row-major layout.
 */
#ifndef ASIM_FUNCTIONAL_H
#define ASIM_FUNCTIONAL_H

#include <stddef.h>
#include <stdint.h>

#include "isa/isa.h"
#include "sim/chip.h"
#include "sim/error.h"
#include "sim/graph.h"

typedef enum func_order { FUNC_ORDER_PROGRAM, FUNC_ORDER_QUEUE_DESC } func_order;

typedef struct func_opts {
	uint64_t seed;             /* the run's seed: stochastic rounding and random inputs */
	func_order order;          /* interleaving of the queues */
} func_opts;

typedef struct func_vals {
	void **v;                  /* owned: n entries, each owned (NULL until filled) */
	size_t n;
} func_vals;

/* Allocate zeroed storage for every tensor of g. 0 or ASIM_ENOMEM. */
int func_vals_init(func_vals *fv /* OUT */, const graph *g, asim_err *e);
void func_vals_fini(func_vals *fv);

/* Every op of g executable functionally? 0, or ASIM_EUNSUPPORTED naming the first op that is not
 * (file:line:col of the op). */
int func_check_graph(const graph *g, asim_err *e);

/* Inputs and weights from Philox: x = −1 + 2u, u = (word + ½)/2^32, word = Philox(seed,
 * stream 2^63 + 2^32 + tensor index, element index), rounded to the tensor's dtype with RNE. */
void func_random_inputs(const graph *g, uint64_t seed, func_vals *fv);
/* Inputs and weights from DIR/<tensor name>.npy: float32/float64 rounded to the dtype with RNE,
 * uint16 (16-bit dtypes) / uint8 (fp8) taken as raw codes; the shape must equal the tensor's.
 * Errors name the file: missing, malformed, wrong shape or dtype. */
int func_load_inputs(const graph *g, const char *dir, func_vals *fv, asim_err *e);
/* One DIR/<name>.npy per OUTPUT tensor: float32 of the decoded values, or (raw != 0) the codes
 * (uint16 / uint8; fp32 as float32 bits). DIR is created if missing. */
int func_write_outputs(const graph *g, const char *dir, const func_vals *fv, int raw, asim_err *e);

/* Execute program p (lowered from g for chip c) on the values of g's inputs and weights in fv;
 * fills every other tensor of fv from HBM at the end. */
int func_run(const graph *g, const chip *c, const isa_program *p, const func_opts *o,
             func_vals *fv /* IN/OUT */, asim_err *e);
/* The reference: every op computed directly (docs/functional.md), filling the non-input tensors. */
int func_reference(const graph *g, const chip *c, const func_opts *o, func_vals *fv /* IN/OUT */,
                   asim_err *e);

/* The Philox stream of stochastic rounding for output `out` of op `gop`. */
static inline uint64_t func_stream(uint32_t gop, unsigned out) { return (uint64_t)gop * 4 + out; }

#endif
