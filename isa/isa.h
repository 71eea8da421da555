/*
 * isa.h -- instructions and programs: what the lowering produces and the engine executes.
 *
 * A program is ONE list of instructions. Each engine (the PE array, the scalar/activation engine,
 * the vector engine, and each DMA queue) executes, in list order, the instructions addressed to
 * it; engines synchronise only through semaphores: an instruction may wait for up to two
 * semaphores to reach given values before it starts, and may increment one semaphore when it
 * completes. Semaphores only grow, so a program's meaning is independent of timing.
 *
 * Memories and regions (isa_ap, an access pattern):
 *
 *   SBUF / PSUM:  partitions [part, part + nparts)  ×  free axis: offset + i·stride[0] + j·stride[1]
 *                 (bytes), i < n[0], j < n[1] elements of `dtype`, in every partition alike
 *   HBM:          one flat byte space; nparts rows each starting `pstride` bytes apart,
 *                 each row the same 2-D free pattern as above
 *
 *        partition ▼   free axis (bytes) ─────────────────────────►
 *          part      [offset ... n[0]·n[1] elements ...]
 *          ...
 *          part+nparts-1
 *
 * Contiguous runs of an access pattern (where stride[0] == element size, and so on) decide how many
 * DMA descriptors a transfer needs and how efficient they are (docs/timing-model.md).
 */
#ifndef ASIM_ISA_H
#define ASIM_ISA_H

#include <stddef.h>
#include <stdint.h>

#include "sim/dtype.h"
#include "sim/error.h"

typedef enum isa_opcode {
#define OPCODE(name, mnem, engine, timing, sem) ISA_OP_##name,
#include "isa/opcodes.def"
#undef OPCODE
	ISA_OP_COUNT
} isa_opcode;

typedef enum isa_engine { ISA_ENG_PE, ISA_ENG_ACT, ISA_ENG_VEC, ISA_ENG_DMA, ISA_ENG_ANY,
	                  ISA_ENG_COUNT } isa_engine;

typedef enum isa_mem { ISA_MEM_NONE, ISA_MEM_HBM, ISA_MEM_SBUF, ISA_MEM_PSUM, ISA_MEM_COUNT } isa_mem;

/* ALU operations of the vector engine: a <alu> b (tensor_scalar: b = imm). bypass gives a;
 * is_gt gives 1 if a > b, else +0; set gives b (tensor_scalar alu=set: memset to imm). */
#define ISA_ALU_LIST(X) X(ADD, "add") X(SUB, "sub") X(MUL, "mul") X(MAX, "max") X(MIN, "min") \
	X(BYPASS, "bypass") X(DIV, "div") X(POW, "pow") X(IS_GT, "is_gt") X(SET, "set")
typedef enum isa_alu {
#define X(name, s) ISA_ALU_##name,
	ISA_ALU_LIST(X)
#undef X
	ISA_ALU_COUNT
} isa_alu;

/* Instruction flags. */
enum {
	ISA_F_ACCUMULATE = 1 << 0,  /* matmul: PSUM += (else PSUM =); tensor_reduce: continue
	                               from dst (add: dst + src0[0] + ...), else start afresh */
	                            /* 1 << 1: unused (was activate's free-axis reduce, which had no
	                               operand for its result; tensor_reduce does that job) */
	ISA_F_GATHER     = 1 << 2,  /* dma: indirect gather, each row (partition) from an address
	                               read from an index tensor: one descriptor per row */
};

typedef struct isa_ap {
	uint8_t mem;               /* isa_mem */
	uint8_t dtype;             /* asim_dtype of the elements */
	uint16_t nparts;           /* partitions (SBUF/PSUM) or rows (HBM) */
	uint16_t part;             /* first partition (SBUF/PSUM) */
	uint64_t offset;           /* bytes: in each partition, or in HBM */
	uint64_t pstride;          /* HBM: bytes between rows */
	uint32_t n[2];             /* elements per partition: n[0] × n[1] */
	uint64_t stride[2];        /* bytes between consecutive elements of each free dimension */
} isa_ap;

/* Functional mode (sim/functional.h, docs/functional.md): where the values an instruction writes
 * belong in an output tensor of its graph op, so that stochastic rounding draws the random bits of
 * the element's linear index in that tensor (design.md section 3) whatever the tiling. Element
 * (p, i, j) of dst -- partition (HBM: row) p, free indices i < n[0], j < n[1] -- is element
 * base + p*step[0] + i*step[1] + j*step[2] of output `out` (0, 1, 2) of the op. Set by the
 * lowering on the instructions that round an op's results; `valid` 0 elsewhere. Not encoded in
 * the binary format and not printed by the disassembler (like `line`). */
typedef struct isa_oidx {
	int64_t base, step[3];
	uint8_t valid, out;
} isa_oidx;

#define ISA_NO_SEM 0xffffu
#define ISA_NO_GOP 0xffffffffu

typedef struct isa_inst {
	uint16_t opcode;           /* isa_opcode */
	uint8_t engine;            /* isa_engine that runs it (from the table, or chosen for ANY) */
	uint8_t queue;             /* DMA queue index */
	uint8_t func;              /* VEC: isa_alu; ACT: graph_act (sim/graph.h) */
	uint8_t flags;             /* ISA_F_* */
	uint16_t signal;           /* semaphore incremented on completion, or ISA_NO_SEM */
	uint16_t wait_sem[2];      /* ISA_NO_SEM for none */
	uint32_t wait_val[2];      /* start only when sem >= val */
	uint32_t gop;              /* the graph op it belongs to, or ISA_NO_GOP */
	float scale, bias;         /* ACT: func(x·scale + bias); TENSOR_SCALAR: imm = scale */
	isa_ap dst, src[2];        /* for MATMUL: src[0] stationary, src[1] moving, dst PSUM */
	uint32_t line;             /* source line in the assembly text, 0 when none (not encoded) */
	isa_oidx oidx;             /* functional mode: output element indices (not encoded) */
} isa_inst;

typedef struct isa_program {
	isa_inst *insts;           /* owned */
	size_t n, cap;
	uint32_t nsems;            /* semaphores 0 .. nsems-1 */
	uint32_t dma_queues;       /* queues used: 0 .. dma_queues-1 */
	char *source;              /* owned: where it came from (file, or graph name) */
} isa_program;

extern const char *const isa_opcode_names[ISA_OP_COUNT];
extern const char *const isa_alu_names[ISA_ALU_COUNT];
isa_engine isa_opcode_engine(isa_opcode op);

/* Added by the simulator-core work (views of the same tables). */
extern const char *const isa_opcode_semantics[ISA_OP_COUNT];  /* the table's semantics column */
extern const char *const isa_opcode_timing[ISA_OP_COUNT];     /* the table's timing-class name */
extern const char *const isa_engine_names[ISA_ENG_COUNT];     /* "pe", "act", "vec", "dma", "any" */
extern const char *const isa_mem_names[ISA_MEM_COUNT];        /* "none", "hbm", "sbuf", "psum" */
/* Index of a mnemonic / ALU name / memory name, or -1. */
int isa_opcode_from_name(const char *s);
int isa_alu_from_name(const char *s);
int isa_mem_from_name(const char *s);

/* Access-pattern views. Elements per partition (n[0]·n[1]); all elements (× nparts); bytes. */
uint64_t isa_ap_free_elems(const isa_ap *a);
uint64_t isa_ap_elems(const isa_ap *a);
uint64_t isa_ap_bytes(const isa_ap *a);
/* Longest contiguous run of bytes in the pattern: a DMA descriptor element (docs/timing-model.md). */
uint64_t isa_ap_run_bytes(const isa_ap *a);
/* One past the last byte touched in a partition (SBUF/PSUM), or in HBM. */
uint64_t isa_ap_extent(const isa_ap *a);
/* The default (contiguous) strides for n[] and dtype: stride[0] = element size, stride[1] =
 * n[0]·element size; pstride = n[0]·n[1]·element size. */
void isa_ap_set_contiguous(isa_ap *a);

void isa_program_init(isa_program *p);
void isa_program_fini(isa_program *p);
/* Append a copy of `in`; returns ASIM_OK or ASIM_ENOMEM. */
int isa_program_push(isa_program *p, const isa_inst *in);

/* Validation (isa/check.c). A problem names the instruction and the operand it concerns, so that
 * the assembler can point at a column and the engine at an instruction. */
typedef enum isa_role { ISA_ROLE_INST, ISA_ROLE_ENGINE, ISA_ROLE_DST, ISA_ROLE_SRC0, ISA_ROLE_SRC1,
	                ISA_ROLE_WAIT0, ISA_ROLE_WAIT1, ISA_ROLE_SIGNAL, ISA_ROLE_COUNT } isa_role;
typedef struct isa_problem {
	size_t inst;               /* index in the program */
	isa_role role;             /* the operand at fault */
	int code;                  /* ASIM_E* */
	char msg[512];
} isa_problem;

/* The queue an instruction runs on: 0 PE, 1 ACT, 2 VEC, 3 + q for DMA queue q. */
uint32_t isa_queue_index(const isa_inst *in);
/* Chip-independent well-formedness of one instruction (operand kinds, shapes, flags). */
int isa_validate_inst(const isa_inst *in, isa_problem *pb /* OUT */);
struct chip;
/* Whole program against a chip: every isa_validate_inst rule, plus regions inside SBUF/PSUM/HBM,
 * matmul shape limits, PE dtypes, DMA queues < dma.engines, semaphores < nsems, and waits that can
 * never be met (fewer signals in the whole program, not counting those queued behind the wait on
 * its own engine, than the value waited for: a certain deadlock). First problem wins. */
int isa_check(const isa_program *p, const struct chip *c, isa_problem *pb /* OUT */);
/* isa_check, a problem reported in *e as "source:line: message" (or "source: instruction N: ..."). */
int isa_check_report(const isa_program *p, const struct chip *c, asim_err *e);
/* The rules of isa_check that concern one instruction alone (all but the static deadlock rule);
 * `i` is its index in the program (for pb->inst), nsems the program's semaphore count. For
 * programs checked as they stream (sim/rungraph.h). */
int isa_check_inst(const isa_inst *in, size_t i, uint32_t nsems, const struct chip *c,
                   isa_problem *pb /* OUT */);

#endif
