/*
 * check.c -- is a program well formed, and does it fit a chip? (see isa.h, docs/isa.md "check")
 *
 * Two levels:
 *   isa_validate_inst   chip-independent: operand kinds per opcode (matmul reads SBUF and writes
 *                       PSUM; DMA moves between HBM and SBUF; vector and scalar engines read and
 *                       write SBUF/PSUM), shapes that agree, flags that belong to the opcode.
 *   isa_check           against a chip: partitions and byte extents inside SBUF / PSUM / HBM,
 *                       the PE array limits K ≤ rows, M ≤ cols, N ≤ max_moving, a PSUM result
 *                       inside one bank, dtypes the PE array multiplies (pe.rate > 0), DMA queues
 *                       below dma.engines, and the static deadlock rule below.
 *
 * Static deadlock rule. Semaphores only grow, and each engine runs its queue in order, so a wait
 * `sN >= V` of instruction i on queue Q can only be met by signals of instructions that are not
 * behind i on Q (i itself included: it signals after it starts). If the program holds fewer such
 * signals of sN than V, the wait is never met: certain deadlock. One backward sweep computes, for
 * every instruction, the signals of each semaphore queued at or after it on its own queue.
 * (Cycles of waits across engines are found at run time; sim/engine reports them.)
 */
#include "isa/isa.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sim/alloc.h"
#include "sim/chip.h"
#include "sim/graph.h"

static int problem(isa_problem *pb, size_t i, isa_role role, int code, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static int problem(isa_problem *pb, size_t i, isa_role role, int code, const char *fmt, ...)
{
	va_list ap;
	pb->inst = i;
	pb->role = role;
	pb->code = code;
	va_start(ap, fmt);
	vsnprintf(pb->msg, sizeof pb->msg, fmt, ap);
	va_end(ap);
	return code;
}

uint32_t isa_queue_index(const isa_inst *in)
{
	switch (in->engine) {
	case ISA_ENG_PE: return 0;
	case ISA_ENG_ACT: return 1;
	case ISA_ENG_VEC: return 2;
	default: return 3u + in->queue;
	}
}

static const isa_role ap_role[3] = {ISA_ROLE_DST, ISA_ROLE_SRC0, ISA_ROLE_SRC1};

static const isa_ap *ap_of(const isa_inst *in, int k)
{
	return k == 0 ? &in->dst : &in->src[k - 1];
}

/* Which operands each opcode uses: bit 0 dst, bit 1 src0, bit 2 src1 (a gathering DMA reads its
 * row indices from src1 in SBUF). */
static unsigned uses(isa_opcode op, unsigned flags)
{
	switch (op) {
	case ISA_OP_DMA_COPY: return (flags & ISA_F_GATHER) ? 7 : 3;
	case ISA_OP_MATMUL: case ISA_OP_TENSOR_TENSOR: return 7;
	case ISA_OP_SEM_WAIT: case ISA_OP_SEM_SIGNAL: return 0;
	default: return 3;
	}
}

static const char *const ap_word[3] = {"destination", "source", "second source"};

int isa_validate_inst(const isa_inst *in, isa_problem *pb)
{
	const size_t i = 0;
	if (in->opcode >= ISA_OP_COUNT)
		return problem(pb, i, ISA_ROLE_INST, ASIM_ESYNTAX, "unknown opcode %u", in->opcode);
	isa_opcode op = (isa_opcode)in->opcode;
	const char *mn = isa_opcode_names[op];
	isa_engine want = isa_opcode_engine(op);
	if (want == ISA_ENG_ANY) {
		if (in->engine >= ISA_ENG_ANY)
			return problem(pb, i, ISA_ROLE_ENGINE, ASIM_ESYNTAX,
			               "'%s' needs an engine: @pe, @act, @vec or a DMA queue @qN", mn);
	} else if (in->engine != want) {
		return problem(pb, i, ISA_ROLE_ENGINE, ASIM_ESYNTAX, "'%s' runs on %s, not on %s", mn,
		               isa_engine_names[want], in->engine < ISA_ENG_COUNT ? isa_engine_names[in->engine] : "?");
	}
	if (in->engine != ISA_ENG_DMA && in->queue != 0)
		return problem(pb, i, ISA_ROLE_ENGINE, ASIM_ESYNTAX, "a queue number belongs to DMA engines only");
	unsigned u = uses(op, in->flags);
	for (int k = 0; k < 3; k++) {
		const isa_ap *a = ap_of(in, k);
		if (!(u >> k & 1)) {
			if (a->mem != ISA_MEM_NONE)
				return problem(pb, i, ap_role[k], ASIM_ESYNTAX, "'%s' takes no %s operand", mn, ap_word[k]);
			continue;
		}
		if (a->mem == ISA_MEM_NONE || a->mem >= ISA_MEM_COUNT)
			return problem(pb, i, ap_role[k], ASIM_ESYNTAX, "'%s' needs a %s operand", mn, ap_word[k]);
		if (a->dtype >= ASIM_DT_COUNT)
			return problem(pb, i, ap_role[k], ASIM_ESYNTAX, "unknown dtype %u", a->dtype);
		if (a->nparts == 0 || a->n[0] == 0 || a->n[1] == 0)
			return problem(pb, i, ap_role[k], ASIM_ERANGE, "the %s operand is empty", ap_word[k]);
		if (op == ISA_OP_DMA_COPY) {
			if (a->mem == ISA_MEM_PSUM)
				return problem(pb, i, ap_role[k], ASIM_EUNSUPPORTED,
				               "DMA cannot reach PSUM (move results through SBUF)");
		} else if (a->mem == ISA_MEM_HBM) {
			return problem(pb, i, ap_role[k], ASIM_EUNSUPPORTED,
			               "'%s' cannot address HBM: only DMA moves data to or from HBM", mn);
		}
		if (a->mem != ISA_MEM_HBM && a->pstride != 0)
			return problem(pb, i, ap_role[k], ASIM_ESYNTAX, "rows= and pstride= belong to HBM operands");
	}
	const isa_ap *d = &in->dst, *s0 = &in->src[0], *s1 = &in->src[1];
	switch (op) {
	case ISA_OP_DMA_COPY:
		if (isa_ap_elems(d) != isa_ap_elems(s0))
			return problem(pb, i, ISA_ROLE_DST, ASIM_ESHAPE,
			               "DMA moves %llu elements into %llu", (unsigned long long)isa_ap_elems(s0),
			               (unsigned long long)isa_ap_elems(d));
		break;
	case ISA_OP_MATMUL:
		if (s0->mem != ISA_MEM_SBUF)
			return problem(pb, i, ISA_ROLE_SRC0, ASIM_EUNSUPPORTED, "the stationary operand must be in SBUF");
		if (s1->mem != ISA_MEM_SBUF)
			return problem(pb, i, ISA_ROLE_SRC1, ASIM_EUNSUPPORTED, "the moving operand must be in SBUF");
		if (d->mem != ISA_MEM_PSUM)
			return problem(pb, i, ISA_ROLE_DST, ASIM_EUNSUPPORTED, "matmul writes PSUM");
		if (s0->nparts != s1->nparts)
			return problem(pb, i, ISA_ROLE_SRC1, ASIM_ESHAPE,
			               "contraction depths differ: stationary K=%u, moving K=%u", s0->nparts, s1->nparts);
		if (d->nparts != isa_ap_free_elems(s0))
			return problem(pb, i, ISA_ROLE_DST, ASIM_ESHAPE,
			               "result has %u partitions but the stationary operand M=%llu",
			               d->nparts, (unsigned long long)isa_ap_free_elems(s0));
		if (isa_ap_free_elems(d) != isa_ap_free_elems(s1))
			return problem(pb, i, ISA_ROLE_DST, ASIM_ESHAPE,
			               "result has %llu elements per partition but the moving operand N=%llu",
			               (unsigned long long)isa_ap_free_elems(d), (unsigned long long)isa_ap_free_elems(s1));
		break;
	case ISA_OP_TENSOR_TENSOR:
		if (s1->nparts != s0->nparts || isa_ap_free_elems(s1) != isa_ap_free_elems(s0))
			return problem(pb, i, ISA_ROLE_SRC1, ASIM_ESHAPE, "the two sources differ in shape");
		/* fall through */
	case ISA_OP_TENSOR_SCALAR: case ISA_OP_TENSOR_COPY: case ISA_OP_ACTIVATE:
		if (d->nparts != s0->nparts || isa_ap_free_elems(d) != isa_ap_free_elems(s0))
			return problem(pb, i, ISA_ROLE_DST, ASIM_ESHAPE,
			               "destination [%u x %llu] and source [%u x %llu] differ in shape", d->nparts,
			               (unsigned long long)isa_ap_free_elems(d), s0->nparts,
			               (unsigned long long)isa_ap_free_elems(s0));
		break;
	case ISA_OP_TENSOR_REDUCE:
		if (d->nparts != s0->nparts || isa_ap_free_elems(d) != 1)
			return problem(pb, i, ISA_ROLE_DST, ASIM_ESHAPE,
			               "a reduction writes one element per source partition");
		break;
	case ISA_OP_TRANSPOSE:
		if (d->nparts != isa_ap_free_elems(s0) || isa_ap_free_elems(d) != s0->nparts)
			return problem(pb, i, ISA_ROLE_DST, ASIM_ESHAPE, "a transpose of [%u x %llu] is [%llu x %u]",
			               s0->nparts, (unsigned long long)isa_ap_free_elems(s0),
			               (unsigned long long)isa_ap_free_elems(s0), s0->nparts);
		break;
	default:
		break;
	}
	int is_vec = (isa_opcode_engine(op) == ISA_ENG_VEC);
	if (is_vec && in->func >= ISA_ALU_COUNT)
		return problem(pb, i, ISA_ROLE_INST, ASIM_ESYNTAX, "unknown ALU operation %u", in->func);
	if (op == ISA_OP_ACTIVATE && in->func >= GRAPH_ACT_COUNT)
		return problem(pb, i, ISA_ROLE_INST, ASIM_ESYNTAX, "unknown activation function %u", in->func);
	if (!is_vec && op != ISA_OP_ACTIVATE && in->func != 0)
		return problem(pb, i, ISA_ROLE_INST, ASIM_ESYNTAX, "'%s' takes no function", mn);
	if ((in->flags & ISA_F_ACCUMULATE) && op != ISA_OP_MATMUL && op != ISA_OP_TENSOR_REDUCE)
		return problem(pb, i, ISA_ROLE_INST, ASIM_ESYNTAX, "'acc' belongs to matmul and tensor_reduce");
	if ((in->flags & ISA_F_GATHER) && op != ISA_OP_DMA_COPY)
		return problem(pb, i, ISA_ROLE_INST, ASIM_ESYNTAX, "'gather' belongs to dma");
	if ((in->flags & ISA_F_GATHER) && (s0->mem != ISA_MEM_HBM || s1->mem != ISA_MEM_SBUF ||
	                                   s1->nparts != d->nparts))
		return problem(pb, i, ISA_ROLE_SRC1, ASIM_ESHAPE,
		               "a gather reads rows from HBM (src) at indices in SBUF (src1), one per destination partition");
	if (in->flags & ~(ISA_F_ACCUMULATE | ISA_F_GATHER))
		return problem(pb, i, ISA_ROLE_INST, ASIM_ESYNTAX, "unknown flags 0x%x", in->flags);
	if (op == ISA_OP_SEM_WAIT && in->wait_sem[0] == ISA_NO_SEM)
		return problem(pb, i, ISA_ROLE_INST, ASIM_ESYNTAX, "'wait' needs a condition sN>=V");
	if (op == ISA_OP_SEM_SIGNAL && in->signal == ISA_NO_SEM)
		return problem(pb, i, ISA_ROLE_INST, ASIM_ESYNTAX, "'signal' needs a semaphore sN");
	if (in->wait_sem[0] == ISA_NO_SEM && in->wait_sem[1] != ISA_NO_SEM)
		return problem(pb, i, ISA_ROLE_WAIT1, ASIM_ESYNTAX, "second wait without a first");
	return ASIM_OK;
}

static int check_region(const isa_inst *in, int k, const chip *c, size_t i, isa_problem *pb)
{
	const isa_ap *a = ap_of(in, k);
	uint64_t ext = isa_ap_extent(a);
	uint32_t parts = 0;
	uint64_t cap = 0;
	const char *name = isa_mem_names[a->mem];
	switch (a->mem) {
	case ISA_MEM_SBUF: parts = c->sbuf.partitions; cap = c->sbuf.partition_bytes; break;
	case ISA_MEM_PSUM: parts = c->psum.partitions; cap = c->psum.partition_bytes; break;
	case ISA_MEM_HBM:
		if (ext > c->hbm.capacity_bytes)
			return problem(pb, i, ap_role[k], ASIM_ERANGE,
			               "HBM region ends at byte %llu, beyond the %llu bytes of HBM",
			               (unsigned long long)ext, (unsigned long long)c->hbm.capacity_bytes);
		return ASIM_OK;
	default: return ASIM_OK;
	}
	if ((uint32_t)a->part + a->nparts > parts)
		return problem(pb, i, ap_role[k], ASIM_ERANGE,
		               "partitions %u..%u are outside the %u partitions of %s", a->part,
		               a->part + a->nparts - 1, parts, name);
	if (ext > cap)
		return problem(pb, i, ap_role[k], ASIM_ERANGE,
		               "region ends at byte %llu of each partition, beyond the %llu bytes of a %s partition",
		               (unsigned long long)ext, (unsigned long long)cap, name);
	return ASIM_OK;
}

static int check_forward(const isa_program *p, const chip *c, isa_problem *pb, uint32_t *total);
static int check_waits(const isa_program *p, isa_problem *pb, const uint32_t *total, uint32_t *later);

int isa_check(const isa_program *p, const chip *c, isa_problem *pb)
{
	uint32_t nq = 3u + c->dma.engines;
	size_t ns = p->nsems ? p->nsems : 1;
	uint32_t *total = asim_calloc(ns, sizeof *total);
	uint32_t *later = asim_calloc((size_t)nq * ns, sizeof *later);
	if (total == NULL || later == NULL) {
		asim_free(total);
		asim_free(later);
		return problem(pb, 0, ISA_ROLE_INST, ASIM_ENOMEM, "out of memory");
	}
	int rc = check_forward(p, c, pb, total);
	if (rc == ASIM_OK && p->nsems > 0)
		rc = check_waits(p, pb, total, later);
	asim_free(total);
	asim_free(later);
	return rc;
}

int isa_check_inst(const isa_inst *in, size_t i, uint32_t nsems, const chip *c, isa_problem *pb)
{
	int rc = isa_validate_inst(in, pb);
	if (rc) {
		pb->inst = i;
		return rc;
	}
	if (in->engine == ISA_ENG_DMA && in->queue >= c->dma.engines)
		return problem(pb, i, ISA_ROLE_ENGINE, ASIM_ERANGE,
		               "DMA queue %u does not exist: chip '%s' has %u DMA engines per core (q0..q%u)",
		               in->queue, c->name ? c->name : "?", c->dma.engines,
		               c->dma.engines ? c->dma.engines - 1 : 0);
	for (int k = 0; k < 3; k++)
		if (ap_of(in, k)->mem != ISA_MEM_NONE && (rc = check_region(in, k, c, i, pb)) != 0)
			return rc;
	if (in->opcode == ISA_OP_MATMUL) {
		const isa_ap *st = &in->src[0], *mv = &in->src[1];
		uint64_t M = isa_ap_free_elems(st), N = isa_ap_free_elems(mv);
		if (st->nparts > c->pe.rows)
			return problem(pb, i, ISA_ROLE_SRC0, ASIM_ERANGE,
			               "contraction depth K=%u exceeds the %u rows of the PE array",
			               st->nparts, c->pe.rows);
		if (M > c->pe.cols)
			return problem(pb, i, ISA_ROLE_SRC0, ASIM_ERANGE,
			               "stationary M=%llu exceeds the %u columns of the PE array",
			               (unsigned long long)M, c->pe.cols);
		if (N > c->pe.max_moving)
			return problem(pb, i, ISA_ROLE_SRC1, ASIM_ERANGE,
			               "moving N=%llu exceeds the limit of %u per matmul",
			               (unsigned long long)N, c->pe.max_moving);
		for (int k = 1; k <= 2; k++)
			if (!(c->pe.rate[ap_of(in, k)->dtype] > 0))
				return problem(pb, i, ap_role[k], ASIM_EUNSUPPORTED,
				               "the PE array of chip '%s' does not multiply %s",
				               c->name ? c->name : "?", asim_dtype_names[ap_of(in, k)->dtype]);
		if (in->dst.dtype != ASIM_DT_FP32 && in->dst.dtype != (uint8_t)c->num.accum)
			return problem(pb, i, ISA_ROLE_DST, ASIM_EUNSUPPORTED,
			               "PSUM accumulates in %s, not %s", asim_dtype_names[c->num.accum],
			               asim_dtype_names[in->dst.dtype]);
		uint64_t bank = c->psum_bank_bytes;
		if (bank && in->dst.offset / bank != (isa_ap_extent(&in->dst) - 1) / bank)
			return problem(pb, i, ISA_ROLE_DST, ASIM_ERANGE,
			               "the result crosses a PSUM bank boundary (banks of %llu bytes per partition)",
			               (unsigned long long)bank);
	}
	const uint16_t sems[3] = {in->wait_sem[0], in->wait_sem[1], in->signal};
	const isa_role roles[3] = {ISA_ROLE_WAIT0, ISA_ROLE_WAIT1, ISA_ROLE_SIGNAL};
	for (int k = 0; k < 3; k++)
		if (sems[k] != ISA_NO_SEM && sems[k] >= nsems)
			return problem(pb, i, roles[k], ASIM_EINTERNAL, "semaphore s%u beyond the program's %u",
			               sems[k], nsems);
	return ASIM_OK;
}

int isa_check_report(const isa_program *p, const chip *c, asim_err *e)
{
	isa_problem pb;
	int rc = isa_check(p, c, &pb);
	if (rc) {
		uint32_t line = pb.inst < p->n ? p->insts[pb.inst].line : 0;
		const char *src = p->source ? p->source : "program";
		if (line)
			return asim_error_at(e, rc, src, line, 1, "%s", pb.msg);
		return asim_errorf(e, rc, "%s: instruction %zu: %s", src, pb.inst, pb.msg);
	}
	return ASIM_OK;
}

static int check_forward(const isa_program *p, const chip *c, isa_problem *pb, uint32_t *total)
{
	for (size_t i = 0; i < p->n; i++) {
		const isa_inst *in = &p->insts[i];
		int rc = isa_check_inst(in, i, p->nsems, c, pb);
		if (rc)
			return rc;
		if (in->signal != ISA_NO_SEM && total[in->signal] < UINT32_MAX)
			total[in->signal]++;
	}
	return ASIM_OK;
}

/* Static deadlock: one backward sweep with per-queue counts of later signals. */
static int check_waits(const isa_program *p, isa_problem *pb, const uint32_t *total, uint32_t *later)
{
	int rc = ASIM_OK;
	for (size_t i = p->n; i-- > 0;) {   /* keeps overwriting: the earliest problem wins */
		const isa_inst *in = &p->insts[i];
		uint32_t *mine = &later[(size_t)isa_queue_index(in) * p->nsems];
		if (in->signal != ISA_NO_SEM)
			mine[in->signal]++;
		for (int k = 0; k < 2; k++) {
			uint16_t s = in->wait_sem[k];
			if (s == ISA_NO_SEM)
				continue;
			uint32_t possible = total[s] - mine[s];
			if (possible < in->wait_val[k])
				rc = problem(pb, i, k ? ISA_ROLE_WAIT1 : ISA_ROLE_WAIT0, ASIM_EDEADLOCK,
				             "certain deadlock: waits for s%u >= %u but only %u signal%s of s%u can "
				             "happen before it", s, in->wait_val[k], possible, possible == 1 ? "" : "s", s);
		}
	}
	return rc;
}
