/*
 * lower.c -- graph → program lowering: the driver, HBM placement, emission with semaphores,
 * SBUF/PSUM allocation and DMA splitting. The op families live in lower_pe.c (PE array: matmul,
 * convolution and their backward ops; depthwise convolution on the vector engine) and lower_vec.c
 * (elementwise, activations, row-wise reductions, pooling, data movement, optimizers).
 * docs/lowering.md gives the mapping of every op with drawings; lower_int.h the synchronisation
 * model (one semaphore per queue, counting its completed instructions).
 *
 * Memory map of one core as the lowering sees it:
 *
 *   HBM   [ t0 | t1 | t2 | ... ]  every tensor at its own 512-byte-aligned address (reshape
 *                                 aliases its input); nothing is reused, so no WAR hazards.
 *
 *   SBUF  partition 0  [ chunk | chunk | ... ]  a ring of chunks (bytes per partition, the same
 *         ...                                  range in every partition). Each op allocates its
 *         partition P-1                        buffers contiguously from the ring head and frees
 *                                              them at its end; an op may use at most half of the
 *                                              ring, so the next op's buffers usually do not
 *                                              collide and its loads overlap this op's compute.
 *
 *   PSUM  [ bank 0 | bank 1 | ... | bank B-1 ]  a ring of banks, one accumulation tile per bank
 *                                              (≤ partitions × bank_bytes / 4 FP32), at most half
 *                                              the banks per op (at least one).
 *
 * Units: SBUF/PSUM offsets and sizes are bytes per partition; HBM addresses are bytes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "isa/lower_int.h"
#include "sim/alloc.h"

static const char *const lower_op_names[] = {
#define OP(name, str, cls, min_in, max_in, nout) str,
#include "sim/ops.def"
#undef OP
};

const lower_dep lower_nodep;

/* the engine of each opcode, from the one table (isa_opcode_engine() lives with the assembler) */
static const uint8_t lower_op_engine[ISA_OP_COUNT] = {
#define OPCODE(name, mnem, engine, timing, sem) ISA_ENG_##engine,
#include "isa/opcodes.def"
#undef OPCODE
};

void lower_dep_merge(lower_dep *d, const lower_dep *s)
{
	for (int q = 0; q < LOWER_MAXQ; q++)
		if (s->v[q] > d->v[q])
			d->v[q] = s->v[q];
}

void lower_dep_tok(lower_dep *d, uint32_t q, uint32_t count)
{
	if (count > d->v[q])
		d->v[q] = count;
}

isa_ap lower_ap_sbuf(asim_dtype dt, uint32_t part, uint32_t nparts, uint64_t off, uint32_t n0,
                     uint64_t s0, uint32_t n1, uint64_t s1)
{
	isa_ap a;
	memset(&a, 0, sizeof a);
	a.mem = ISA_MEM_SBUF;
	a.dtype = (uint8_t)dt;
	a.part = (uint16_t)part;
	a.nparts = (uint16_t)nparts;
	a.offset = off;
	a.n[0] = n0;
	a.stride[0] = s0;
	a.n[1] = n1;
	a.stride[1] = s1;
	ASIM_ASSERT(nparts >= 1 && nparts <= 0xffff && part + nparts <= 0xffff);
	return a;
}

isa_ap lower_ap_psum(uint32_t part, uint32_t nparts, uint64_t off, uint32_t n0, uint32_t n1,
                     uint64_t s1)
{
	isa_ap a = lower_ap_sbuf(ASIM_DT_FP32, part, nparts, off, n0, 4, n1, s1);
	a.mem = ISA_MEM_PSUM;
	return a;
}

isa_ap lower_ap_hbm(asim_dtype dt, uint64_t addr, uint32_t rows, uint64_t pstride, uint32_t n0,
                    uint64_t s0, uint32_t n1, uint64_t s1)
{
	isa_ap a = lower_ap_sbuf(dt, 0, rows, addr, n0, s0, n1, s1);
	a.mem = ISA_MEM_HBM;
	a.pstride = pstride;
	return a;
}

uint64_t lower_ap_bytes(const isa_ap *a)
{
	return (uint64_t)a->nparts * a->n[0] * a->n[1] * asim_dtype_bytes((asim_dtype)a->dtype);
}

uint64_t lower_inst_hbm_bytes(const isa_inst *in)
{
	if (in->opcode != ISA_OP_DMA_COPY)
		return 0;
	uint64_t b = 0;
	if (in->src[0].mem == ISA_MEM_HBM)
		b += lower_ap_bytes(&in->src[0]);
	if (in->dst.mem == ISA_MEM_HBM)
		b += lower_ap_bytes(&in->dst);
	return b;
}

isa_inst lower_inst(isa_opcode op)
{
	isa_inst in;
	memset(&in, 0, sizeof in);
	in.opcode = (uint16_t)op;
	in.signal = ISA_NO_SEM;
	in.wait_sem[0] = in.wait_sem[1] = ISA_NO_SEM;
	in.gop = ISA_NO_GOP;
	in.scale = 1.0f;
	return in;
}

/* ---- emission ---------------------------------------------------------------------------- */

static void lower_push(lower_ctx *L, const isa_inst *in)
{
	isa_program *p = L->p;
	if (L->rc != 0)
		return;
	if (L->emit != NULL) {
		L->rc = L->emit(L->emit_ud, in);
		return;
	}
	if (asim_grow((void **)&p->insts, &p->cap, p->n + 1, sizeof *p->insts) != 0) {
		L->rc = ASIM_ENOMEM;
		return;
	}
	p->insts[p->n++] = *in;
}

static isa_engine lower_q_engine(uint32_t q)
{
	return q == LOWER_Q_PE ? ISA_ENG_PE : q == LOWER_Q_ACT ? ISA_ENG_ACT
	       : q == LOWER_Q_VEC ? ISA_ENG_VEC : ISA_ENG_DMA;
}

/* Emit `in` on queue q after every dependency in `deps`. */
void lower_exec(lower_ctx *L, uint32_t q, isa_inst *in, const lower_dep *deps, lower_dep *tok)
{
	uint16_t sem[LOWER_MAXQ];
	uint32_t val[LOWER_MAXQ];
	uint32_t nw = 0;
	ASIM_ASSERT(q < LOWER_Q_DMA + L->ndma);
	if (deps != NULL) {
		for (uint32_t s = 0; s < LOWER_Q_DMA + L->ndma; s++) {
			uint32_t v = deps->v[s];
			if (s == q || v <= L->waited[q][s])
				continue;
			/* the deadlock-freedom invariant: only wait for what is already emitted */
			ASIM_ASSERT(v <= L->emitted[s]);
			sem[nw] = (uint16_t)s;
			val[nw++] = v;
			L->waited[q][s] = v;
		}
	}
	uint32_t i = 0;
	while (nw - i > 2) {            /* surplus waits go to SEM_WAITs on the same queue */
		isa_inst w = lower_inst(ISA_OP_SEM_WAIT);
		w.engine = (uint8_t)lower_q_engine(q);
		w.queue = (uint8_t)(q >= LOWER_Q_DMA ? q - LOWER_Q_DMA : 0);
		w.gop = L->gop;
		w.signal = (uint16_t)q;
		w.wait_sem[0] = sem[i];
		w.wait_val[0] = val[i];
		w.wait_sem[1] = sem[i + 1];
		w.wait_val[1] = val[i + 1];
		i += 2;
		lower_push(L, &w);
		L->emitted[q]++;
	}
	for (uint32_t k = 0; i < nw; i++, k++) {
		in->wait_sem[k] = sem[i];
		in->wait_val[k] = val[i];
	}
	in->engine = (uint8_t)lower_q_engine(q);
	ASIM_ASSERT(in->opcode < ISA_OP_COUNT);
	ASIM_ASSERT(lower_op_engine[in->opcode] == in->engine
	            || lower_op_engine[in->opcode] == ISA_ENG_ANY);
	in->queue = (uint8_t)(q >= LOWER_Q_DMA ? q - LOWER_Q_DMA : 0);
	in->gop = L->gop;
	in->signal = (uint16_t)q;
	lower_push(L, in);
	L->emitted[q]++;
	if (tok != NULL)
		lower_dep_tok(tok, q, L->emitted[q]);
}

void lower_dma(lower_ctx *L, int dir, const isa_ap *dst, const isa_ap *src, const lower_dep *deps,
               lower_dep *tok)
{
	uint32_t rows = dst->nparts;
	ASIM_ASSERT(src->nparts == rows);
	uint64_t bytes = lower_ap_bytes(dst);
	uint64_t piece_min = lower_max(L->c->dma.efficient_bytes, 4096);
	uint32_t nq = dir == 0 ? L->nload : L->nstore;
	/* the cost of a transfer is its bytes scaled by the DMA efficiency of its shorter contiguous
	 * run (docs/timing-model.md): split by that, so short-run transfers spread over queues too */
	uint64_t run = lower_min(isa_ap_run_bytes(dst), isa_ap_run_bytes(src));
	uint64_t eff_bytes = bytes;
	if (run > 0 && run < L->c->dma.efficient_bytes)
		eff_bytes = bytes / run * L->c->dma.efficient_bytes;
	uint64_t k = lower_min(lower_min(nq, rows), lower_max(1, eff_bytes / piece_min));
	uint32_t r0 = 0;
	for (uint64_t i = 0; i < k; i++) {
		uint32_t r1 = (uint32_t)((uint64_t)rows * (i + 1) / k);
		isa_inst in = lower_inst(ISA_OP_DMA_COPY);
		in.dst = *dst;
		in.src[0] = *src;
		isa_ap *sides[2] = { &in.dst, &in.src[0] };
		for (int s = 0; s < 2; s++) {
			isa_ap *a = sides[s];
			a->nparts = (uint16_t)(r1 - r0);
			if (a->mem == ISA_MEM_HBM)
				a->offset += a->pstride * r0;
			else
				a->part = (uint16_t)(a->part + r0);
		}
		uint32_t qi;
		if (dir == 0)
			qi = L->rr_load++ % L->nload;
		else
			qi = L->ndma - L->nstore + L->rr_store++ % L->nstore;
		lower_exec(L, LOWER_Q_DMA + qi, &in, deps, tok);
		r0 = r1;
	}
}

/* ---- buffers ----------------------------------------------------------------------------- */

void lower_sbuf_alloc(lower_ctx *L, lower_buf *b, uint64_t bytes)
{
	memset(b, 0, sizeof *b);
	bytes = lower_ceil(lower_max(bytes, 1), L->chunk) * L->chunk;
	ASIM_ASSERT(L->op_sbuf + bytes <= L->sbuf_cap);     /* SBUF capacity is never exceeded */
	ASIM_ASSERT(L->nlive < LOWER_MAX_BUFS);
	if (L->ring + bytes > L->sbuf_cap)
		L->ring = 0;
	b->mem = ISA_MEM_SBUF;
	b->off = L->ring;
	b->bytes = bytes;
	L->ring += bytes;
	L->op_sbuf += bytes;
	if (L->op_sbuf > L->sbuf_peak)
		L->sbuf_peak = L->op_sbuf;
	for (uint64_t ch = b->off / L->chunk; ch < (b->off + bytes) / L->chunk; ch++)
		lower_dep_merge(&b->wr, &L->chunk_dep[ch]);
	L->live[L->nlive++] = b;
}

void lower_psum_alloc(lower_ctx *L, lower_buf *b)
{
	memset(b, 0, sizeof *b);
	ASIM_ASSERT(L->op_banks + 1 <= L->banks);             /* PSUM capacity is never exceeded */
	ASIM_ASSERT(L->nlive < LOWER_MAX_BUFS);
	uint32_t bank = L->bank_ring++ % L->banks;
	b->mem = ISA_MEM_PSUM;
	b->off = bank * L->bank_bytes;
	b->bytes = L->bank_bytes;
	L->op_banks++;
	lower_dep_merge(&b->wr, &L->bank_dep[bank]);
	L->live[L->nlive++] = b;
}

/* Merge the live buffers' last accesses into the SBUF chunks / PSUM banks they covered and free
 * them. Called by each op family before it returns: the buffers are its locals. */
void lower_release(lower_ctx *L)
{
	for (uint32_t i = 0; i < L->nlive; i++) {
		lower_buf *b = L->live[i];
		lower_dep d = b->wr;
		lower_dep_merge(&d, &b->rd);
		lower_dep_merge(&d, &b->haz);
		if (b->mem == ISA_MEM_SBUF) {
			for (uint64_t ch = b->off / L->chunk; ch < (b->off + b->bytes) / L->chunk; ch++)
				lower_dep_merge(&L->chunk_dep[ch], &d);
		} else {
			lower_dep_merge(&L->bank_dep[b->off / L->bank_bytes], &d);
		}
	}
	L->nlive = 0;
	L->op_sbuf = 0;
	L->op_banks = 0;
}

lower_dep lower_buf_fill(lower_buf *b)
{
	lower_dep h = b->wr;
	lower_dep_merge(&h, &b->rd);
	b->haz = h;
	memset(&b->wr, 0, sizeof b->wr);
	memset(&b->rd, 0, sizeof b->rd);
	return h;
}

void lower_buf_wrote(lower_buf *b, const lower_dep *tok) { lower_dep_merge(&b->wr, tok); }
void lower_buf_read(lower_buf *b, const lower_dep *tok) { lower_dep_merge(&b->rd, tok); }

void lower_compute(lower_ctx *L, uint32_t q, isa_inst *in, lower_buf *w, int fresh, lower_buf *r0,
                   lower_buf *r1, const lower_dep *extra)
{
	lower_dep d = extra != NULL ? *extra : lower_nodep;
	lower_dep tok = lower_nodep;
	if (r0 != NULL)
		lower_dep_merge(&d, &r0->wr);
	if (r1 != NULL)
		lower_dep_merge(&d, &r1->wr);
	if (w != NULL) {
		if (fresh) {
			lower_dep h = lower_buf_fill(w);
			lower_dep_merge(&d, &h);
		} else {
			lower_dep_merge(&d, &w->haz);
			lower_dep_merge(&d, &w->rd);   /* in-place update: after every earlier reader */
		}
	}
	lower_exec(L, q, in, &d, &tok);
	if (r0 != NULL)
		lower_buf_read(r0, &tok);
	if (r1 != NULL)
		lower_buf_read(r1, &tok);
	if (w != NULL)
		lower_buf_wrote(w, &tok);
}

void lower_load(lower_ctx *L, uint32_t t, const isa_ap *dst, const isa_ap *src, lower_buf *b,
                int fresh)
{
	lower_dep d = L->tdep[t];
	lower_dep tok = lower_nodep;
	if (fresh) {
		lower_dep h = lower_buf_fill(b);
		lower_dep_merge(&d, &h);
	} else {
		lower_dep_merge(&d, &b->haz);
	}
	lower_dma(L, 0, dst, src, &d, &tok);
	lower_buf_wrote(b, &tok);
}

void lower_store(lower_ctx *L, uint32_t t, const isa_ap *dst, const isa_ap *src, lower_buf *b)
{
	lower_dep tok = lower_nodep;
	lower_dma(L, 1, dst, src, &b->wr, &tok);
	lower_buf_read(b, &tok);
	lower_dep_merge(&L->tdep[t], &tok);
}

int lower_mapping_error(lower_ctx *L, const char *fmt, ...)
{
	const graph_op *op = &L->g->ops[L->gop];
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return asim_error_at(L->e, ASIM_EMAPPING, L->g->source, op->line, op->col,
	                     "op '%s' (%s) cannot be mapped onto chip '%s': %s", op->name,
	                     lower_op_names[op->type], L->c->name ? L->c->name : "?", msg);
}

/* ---- driver ------------------------------------------------------------------------------ */

static int lower_ctx_init(lower_ctx *L, const graph *g, const chip *c, isa_program *p, asim_err *e)
{
	memset(L, 0, sizeof *L);
	L->g = g;
	L->c = c;
	L->p = p;
	L->e = e;
	if (c->dma.engines == 0 || c->pe.rows == 0 || c->pe.cols == 0 || c->sbuf.partitions == 0
	    || c->psum.banks == 0 || c->sbuf.partition_bytes == 0)
		return asim_errorf(e, ASIM_EMAPPING, "%s: chip '%s' lacks DMA queues, PE array, SBUF or "
		                   "PSUM", g->source ? g->source : "graph", c->name ? c->name : "?");
	L->ndma = c->dma.engines < LOWER_MAX_DMA ? c->dma.engines : LOWER_MAX_DMA;
	if (L->ndma == 1) {
		L->nload = L->nstore = 1;
	} else {
		L->nload = (L->ndma + 1) / 2;
		L->nstore = L->ndma - L->nload;
	}
	L->sbuf_cap = c->sbuf.partition_bytes;
	L->chunk = lower_max(64, lower_ceil(L->sbuf_cap, 1024));
	L->nchunks = (uint32_t)(L->sbuf_cap / L->chunk);
	L->sbuf_cap = (uint64_t)L->nchunks * L->chunk;
	L->sbuf_budget = lower_sbuf_budget(c);
	L->banks = c->psum.banks;
	L->bank_bytes = lower_psum_bank_bytes(c);
	L->psum_budget = L->banks >= 2 ? L->banks / 2 : 1;
	L->hbm_addr = asim_calloc(g->n_tensors + 1, sizeof *L->hbm_addr);
	L->tdep = asim_calloc(g->n_tensors + 1, sizeof *L->tdep);
	L->chunk_dep = asim_calloc(L->nchunks, sizeof *L->chunk_dep);
	L->bank_dep = asim_calloc(L->banks, sizeof *L->bank_dep);
	if (!L->hbm_addr || !L->tdep || !L->chunk_dep || !L->bank_dep)
		return ASIM_ENOMEM;
	return 0;
}

static void lower_ctx_fini(lower_ctx *L)
{
	asim_free(L->hbm_addr);
	asim_free(L->tdep);
	asim_free(L->chunk_dep);
	asim_free(L->bank_dep);
}

uint64_t lower_hbm_place(const graph *g, uint64_t *addr)
{
	uint64_t top = 0;
	for (size_t t = 0; t < g->n_tensors; t++) {
		int32_t pr = g->tensors[t].producer;
		if (pr >= 0 && g->ops[pr].type == GRAPH_OP_RESHAPE) {
			/* a reshape of a row-major tensor is the same bytes: alias, no instruction */
			addr[t] = addr[g->ops[pr].in[0]];
			continue;
		}
		addr[t] = top;
		top += lower_ceil(lower_max(g->tensors[t].bytes, 1), LOWER_HBM_ALIGN) * LOWER_HBM_ALIGN;
	}
	return top;
}

static void lower_place(lower_ctx *L)
{
	L->hbm_top = lower_hbm_place(L->g, L->hbm_addr);
}

/* Split the DMA queues between loads and stores for one op. The split depends on the op's kind
 * and operand COUNT, never on its shapes, so that latency cannot jump inside a step of a
 * shape sweep because a queue changed sides:
 *   matmul, conv (and backward ops): 3/4 load (weights and moving operands dominate), 12 of 16;
 *   everything else: in proportion to inputs : outputs (add, 2 : 1, loads on 11 of 16),
 *   between a quarter and three quarters.
 * Loads and stores stay on disjoint queues, so a store waiting for compute never blocks the next
 * prefetch, and every queue works: one core can draw dma.engines × engine_gb_per_s. */
static void lower_split_queues(lower_ctx *L, const graph_op *op)
{
	if (L->ndma == 1) {
		L->nload = L->nstore = 1;
		return;
	}
	uint64_t nl;
	switch (op->type) {
	case GRAPH_OP_MATMUL: case GRAPH_OP_MATMUL_BWD_DATA: case GRAPH_OP_MATMUL_BWD_WEIGHT:
	case GRAPH_OP_CONV2D: case GRAPH_OP_CONV2D_BWD_DATA: case GRAPH_OP_CONV2D_BWD_WEIGHT:
		nl = L->ndma - L->ndma / 4;
		break;
	default:
		nl = (L->ndma * op->n_in + (op->n_in + op->n_out) / 2) / (op->n_in + op->n_out);
		break;
	}
	nl = lower_max(nl, L->ndma / 4);
	nl = lower_min(nl, L->ndma - L->ndma / 4);
	if (nl < 1)
		nl = 1;
	if (nl > L->ndma - 1)
		nl = L->ndma - 1;
	L->nload = (uint32_t)nl;
	L->nstore = L->ndma - L->nload;
}

uint64_t lower_sbuf_budget(const chip *c)
{
	uint64_t cap = c->sbuf.partition_bytes, chunk = lower_max(64, lower_ceil(cap, 1024));
	cap = cap / chunk * chunk;
	return cap / 2 / chunk * chunk;
}

uint64_t lower_psum_bank_bytes(const chip *c)
{
	return c->psum.banks ? c->psum.partition_bytes / c->psum.banks : 0;
}

static int lower_op(lower_ctx *L, const graph_op *op)
{
	switch (op->type) {
	case GRAPH_OP_MATMUL: case GRAPH_OP_MATMUL_BWD_DATA: case GRAPH_OP_MATMUL_BWD_WEIGHT:
		return lower_matmul_op(L, op);
	case GRAPH_OP_CONV2D: case GRAPH_OP_CONV2D_BWD_DATA: case GRAPH_OP_CONV2D_BWD_WEIGHT:
		return lower_conv_op(L, op);
	case GRAPH_OP_ADD: case GRAPH_OP_SUB: case GRAPH_OP_MUL:
	case GRAPH_OP_RELU: case GRAPH_OP_RELU6: case GRAPH_OP_GELU: case GRAPH_OP_SILU:
	case GRAPH_OP_SIGMOID: case GRAPH_OP_TANH: case GRAPH_OP_EXP:
	case GRAPH_OP_RELU_BWD: case GRAPH_OP_SGD_UPDATE: case GRAPH_OP_ADAM_UPDATE:
		return lower_eltwise_op(L, op);
	case GRAPH_OP_SOFTMAX: case GRAPH_OP_LAYERNORM: case GRAPH_OP_RMSNORM:
		return lower_rowwise_op(L, op);
	case GRAPH_OP_MAXPOOL: case GRAPH_OP_AVGPOOL: case GRAPH_OP_GLOBAL_AVGPOOL:
		return lower_pool_op(L, op);
	case GRAPH_OP_RESHAPE:
		/* reshape: output aliases the input (lower_place); its readers wait for the input */
		L->tdep[op->out[0]] = L->tdep[op->in[0]];
		return 0;
	case GRAPH_OP_TRANSPOSE: case GRAPH_OP_CONCAT: case GRAPH_OP_EMBEDDING:
		return lower_move_op(L, op);
	case GRAPH_OP_COUNT:
		break;
	}
	return lower_mapping_error(L, "unknown op type %d", (int)op->type);
}

/* Lower every op in order into L (its program or its emit callback). */
static int lower_all(lower_ctx *L)
{
	const graph *g = L->g;
	int rc = 0;
	lower_place(L);
	for (size_t i = 0; i < g->n_ops && rc == 0; i++) {
		L->gop = (uint32_t)i;
		lower_split_queues(L, &g->ops[i]);
		rc = lower_op(L, &g->ops[i]);
		/* the op released its buffers (its locals); after a failure they are gone unread */
		ASIM_ASSERT(rc != 0 || L->nlive == 0);
		L->nlive = 0;
		L->op_sbuf = 0;
		L->op_banks = 0;
		if (rc == 0)
			rc = L->rc;
	}
	return rc;
}

int lower_graph(const graph *g, const chip *c, const lower_opts *o, isa_program *p, asim_err *e)
{
	lower_ctx L;
	(void)o;
	size_t n0 = p->n;
	int rc = lower_ctx_init(&L, g, c, p, e);
	if (rc == 0)
		rc = lower_all(&L);
	if (rc == 0) {
		p->nsems = LOWER_Q_DMA + L.ndma;
		p->dma_queues = L.ndma;
		if (p->source == NULL) {
			p->source = asim_strdup(g->name ? g->name : g->source ? g->source : "graph");
			if (p->source == NULL)
				rc = ASIM_ENOMEM;
		}
	}
	if (rc != 0) {
		p->n = n0;                  /* leave the program as it was */
		if (rc == ASIM_ENOMEM)
			asim_errorf(e, ASIM_ENOMEM, "out of memory while lowering '%s'",
			            g->name ? g->name : "graph");
	}
	lower_ctx_fini(&L);
	return rc;
}

int lower_graph_emit(const graph *g, const chip *c, const lower_opts *o, lower_emit_fn emit,
                     void *ud, asim_err *e)
{
	lower_ctx L;
	(void)o;
	int rc = lower_ctx_init(&L, g, c, NULL, e);
	if (rc == 0) {
		L.emit = emit;
		L.emit_ud = ud;
		rc = lower_all(&L);
	}
	if (rc == ASIM_ENOMEM && e->code == 0)
		asim_errorf(e, ASIM_ENOMEM, "out of memory while lowering '%s'", g->name ? g->name : "graph");
	lower_ctx_fini(&L);
	return rc;
}

uint32_t lower_semaphores(const chip *c)
{
	uint32_t ndma = c->dma.engines < LOWER_MAX_DMA ? c->dma.engines : LOWER_MAX_DMA;
	return LOWER_Q_DMA + ndma;
}
