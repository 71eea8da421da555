/*
 * isa.c -- the views of the one instruction table (isa/opcodes.def) and the program container.
 *
 * Everything per-opcode here is expanded from opcodes.def: the mnemonic, the engine, the timing
 * class name and the semantics string. The timing dispatch (isa_time_table) is expanded from the
 * same table in isa/timing.c, so adding an opcode is one line in opcodes.def plus, if it brings a
 * new timing class, one isa_time_<class>() function; tests/test_isa.c checks that every opcode
 * has a name, an engine and a timing rule and survives an assembly round trip.
 *
 * Access patterns (isa_ap, drawn in isa.h) are measured here: elements, bytes, contiguous run
 * length (which decides DMA efficiency) and extent (which decides whether a region fits in SBUF or
 * PSUM). All sizes are bytes; all counts are elements of the pattern's dtype.
 */
#include "isa/isa.h"

#include <string.h>

#include "sim/alloc.h"

const char *const isa_opcode_names[ISA_OP_COUNT] = {
#define OPCODE(name, mnem, engine, timing, sem) mnem,
#include "isa/opcodes.def"
#undef OPCODE
};

const char *const isa_opcode_semantics[ISA_OP_COUNT] = {
#define OPCODE(name, mnem, engine, timing, sem) sem,
#include "isa/opcodes.def"
#undef OPCODE
};

const char *const isa_opcode_timing[ISA_OP_COUNT] = {
#define OPCODE(name, mnem, engine, timing, sem) #timing,
#include "isa/opcodes.def"
#undef OPCODE
};

static const unsigned char opcode_engine[ISA_OP_COUNT] = {
#define OPCODE(name, mnem, engine, timing, sem) ISA_ENG_##engine,
#include "isa/opcodes.def"
#undef OPCODE
};

const char *const isa_alu_names[ISA_ALU_COUNT] = {
#define X(name, s) s,
	ISA_ALU_LIST(X)
#undef X
};

const char *const isa_engine_names[ISA_ENG_COUNT] = {"pe", "act", "vec", "dma", "any"};
const char *const isa_mem_names[ISA_MEM_COUNT] = {"none", "hbm", "sbuf", "psum"};

isa_engine isa_opcode_engine(isa_opcode op)
{
	ASIM_ASSERT((unsigned)op < ISA_OP_COUNT);
	return (isa_engine)opcode_engine[op];
}

static int find_name(const char *const *names, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

int isa_opcode_from_name(const char *s) { return find_name(isa_opcode_names, ISA_OP_COUNT, s); }
int isa_alu_from_name(const char *s) { return find_name(isa_alu_names, ISA_ALU_COUNT, s); }
int isa_mem_from_name(const char *s) { return find_name(isa_mem_names, ISA_MEM_COUNT, s); }

uint64_t isa_ap_free_elems(const isa_ap *a) { return (uint64_t)a->n[0] * a->n[1]; }
uint64_t isa_ap_elems(const isa_ap *a) { return isa_ap_free_elems(a) * a->nparts; }
uint64_t isa_ap_bytes(const isa_ap *a)
{
	return isa_ap_elems(a) * asim_dtype_bytes((asim_dtype)a->dtype);
}

uint64_t isa_ap_run_bytes(const isa_ap *a)
{
	uint64_t esz = asim_dtype_bytes((asim_dtype)a->dtype);
	if (a->mem == ISA_MEM_NONE || isa_ap_elems(a) == 0)
		return 0;
	if (a->n[0] > 1 && a->stride[0] != esz)
		return esz;
	uint64_t run = a->n[0] * esz;
	if (a->n[1] > 1 && a->stride[1] != run)
		return run;
	run *= a->n[1];
	/* HBM rows laid back to back continue the run; SBUF/PSUM partitions are separate memories. */
	if (a->mem == ISA_MEM_HBM && a->nparts > 1 && a->pstride == run)
		run *= a->nparts;
	return run;
}

uint64_t isa_ap_extent(const isa_ap *a)
{
	uint64_t esz = asim_dtype_bytes((asim_dtype)a->dtype);
	if (isa_ap_elems(a) == 0)
		return a->offset;
	uint64_t last = a->offset + (uint64_t)(a->n[0] - 1) * a->stride[0] +
	                (uint64_t)(a->n[1] - 1) * a->stride[1] + esz;
	if (a->mem == ISA_MEM_HBM)
		last += (uint64_t)(a->nparts - 1) * a->pstride;
	return last;
}

void isa_ap_set_contiguous(isa_ap *a)
{
	uint64_t esz = asim_dtype_bytes((asim_dtype)a->dtype);
	a->stride[0] = esz;
	a->stride[1] = (uint64_t)a->n[0] * esz;
	a->pstride = (a->mem == ISA_MEM_HBM) ? (uint64_t)a->n[0] * a->n[1] * esz : 0;
}

void isa_program_init(isa_program *p)
{
	memset(p, 0, sizeof *p);
}

void isa_program_fini(isa_program *p)
{
	asim_free(p->insts);
	asim_free(p->source);
	memset(p, 0, sizeof *p);
}

int isa_program_push(isa_program *p, const isa_inst *in)
{
	if (p->n == p->cap) {
		void *v = p->insts;
		if (asim_grow(&v, &p->cap, p->n + 1, sizeof *p->insts) != ASIM_OK)
			return ASIM_ENOMEM;
		p->insts = v;
	}
	p->insts[p->n++] = *in;
	return ASIM_OK;
}
