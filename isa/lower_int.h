/*
 * lower_int.h -- internals shared by the files of the lowering (isa/lower*.c). Not an interface.
 *
 * Synchronisation model: ONE semaphore per instruction queue.
 *
 *   queue q:  0 = PE array, 1 = ACT (scalar/activation), 2 = VEC, 3.. = DMA queue 0, 1, ...
 *   semaphore q is incremented by EVERY instruction that runs on queue q, when it completes.
 *
 * Each queue runs one instruction at a time, in program order, so after the k-th instruction of
 * queue q has completed, semaphore q reads >= k; "wait until instruction #k of queue q is done" is
 * therefore `wait sem q >= k`. A dependency is a vector (lower_dep) holding, per queue, the count
 * that must be reached; dependencies merge by element-wise maximum. An instruction never waits on
 * its own queue (program order already gives that), and a wait already performed earlier on the
 * same queue is not repeated. When more than two waits remain, SEM_WAIT instructions precede the
 * instruction on its queue.
 *
 * Deadlock freedom (asserted at every emission): a wait names a count that instructions emitted
 * EARLIER in the program already reach. Induction on the program list: the first unfinished
 * instruction has every predecessor on its queue and every instruction it waits for earlier in
 * the list, all finished, so it can start. Any engine scheduling policy that respects queue order
 * therefore completes the program.
 *
 * Buffers (lower_buf): a region of SBUF (bytes per partition, all partitions) or PSUM (whole
 * banks). Each carries the tokens of its current writers (`wr`) and readers since (`rd`); a new
 * generation of writes (lower_buf_fill) waits for both: RAW, WAR and WAW hazards are all covered,
 * so double buffering is simply two buffers used alternately. Between ops, SBUF chunks and PSUM
 * banks remember (as a lower_dep) the last accesses of the buffers that covered them, so the next
 * op's first writes wait exactly for what they overwrite and no more: ops overlap when their
 * buffers do not collide (the SBUF allocator is a ring for that reason).
 *
 * Tensors in HBM carry the tokens of the DMA stores that wrote them; readers wait for those.
 * Every tensor has its own HBM address (no reuse), so there are no HBM write-after-read hazards.
 */
#ifndef ASIM_LOWER_INT_H
#define ASIM_LOWER_INT_H

#include <stdint.h>

#include "isa/lower.h"

#define LOWER_MAXQ 35              /* PE, ACT, VEC + at most 32 DMA queues */
#define LOWER_Q_PE 0
#define LOWER_Q_ACT 1
#define LOWER_Q_VEC 2
#define LOWER_Q_DMA 3
#define LOWER_MAX_DMA (LOWER_MAXQ - LOWER_Q_DMA)
#define LOWER_MAX_BUFS 64          /* live buffers of one op */
#define LOWER_HBM_ALIGN 512        /* bytes: HBM placement granule */

typedef struct lower_dep { uint32_t v[LOWER_MAXQ]; } lower_dep;

typedef struct lower_buf {
	uint8_t mem;                   /* ISA_MEM_SBUF or ISA_MEM_PSUM */
	uint64_t off;                  /* bytes within a partition */
	uint64_t bytes;                /* bytes per partition */
	lower_dep wr, rd, haz;         /* writers, readers, hazards of the current fill */
} lower_buf;

typedef struct lower_ctx {
	const graph *g;                /* borrowed */
	const chip *c;                 /* borrowed */
	isa_program *p;                /* borrowed, being filled (NULL when emitting) */
	lower_emit_fn emit;            /* when set: every instruction goes here instead of p */
	void *emit_ud;
	asim_err *e;
	int rc;                        /* sticky: first failure (ENOMEM) of an emission */
	uint32_t gop;                  /* the op being lowered */
	uint32_t ndma;                 /* DMA queues used */
	uint32_t nload, nstore;        /* queues [0, nload) load, [ndma-nstore, ndma) store */
	uint32_t rr_load, rr_store;
	uint32_t emitted[LOWER_MAXQ];  /* instructions emitted per queue */
	uint32_t waited[LOWER_MAXQ][LOWER_MAXQ];  /* [queue][sem]: highest value already waited */
	/* HBM */
	uint64_t *hbm_addr;            /* per tensor, owned */
	lower_dep *tdep;               /* per tensor: its writers, owned */
	uint64_t hbm_top;
	/* SBUF ring: chunks of `chunk` bytes per partition */
	uint64_t sbuf_cap, chunk, ring;
	uint32_t nchunks;
	lower_dep *chunk_dep;          /* owned */
	uint64_t op_sbuf;              /* bytes per partition allocated by the current op */
	uint64_t sbuf_budget;          /* per op */
	/* PSUM ring of banks */
	uint32_t banks, bank_ring, op_banks, psum_budget;
	uint64_t bank_bytes;
	lower_dep *bank_dep;           /* owned */
	lower_buf *live[LOWER_MAX_BUFS];
	uint32_t nlive;
	uint64_t sbuf_peak;            /* statistics: largest per-op SBUF use (bytes per partition) */
} lower_ctx;

/* dependencies */
void lower_dep_merge(lower_dep *d, const lower_dep *s);
void lower_dep_tok(lower_dep *d, uint32_t q, uint32_t count);
extern const lower_dep lower_nodep;

/* access patterns: n0/s0 the innermost free dimension (elements, bytes), n1/s1 the outer one */
isa_ap lower_ap_sbuf(asim_dtype dt, uint32_t part, uint32_t nparts, uint64_t off, uint32_t n0,
                     uint64_t s0, uint32_t n1, uint64_t s1);
isa_ap lower_ap_psum(uint32_t part, uint32_t nparts, uint64_t off, uint32_t n0, uint32_t n1,
                     uint64_t s1);
isa_ap lower_ap_hbm(asim_dtype dt, uint64_t addr, uint32_t rows, uint64_t pstride, uint32_t n0,
                    uint64_t s0, uint32_t n1, uint64_t s1);
uint64_t lower_ap_bytes(const isa_ap *a);

/* emission: returns the token (queue, count) merged into *tok when tok != NULL */
void lower_exec(lower_ctx *L, uint32_t q, isa_inst *in, const lower_dep *deps, lower_dep *tok);
/* DMA split across the load (dir 0) or store (dir 1) queues by rows; tokens merged into *tok */
void lower_dma(lower_ctx *L, int dir, const isa_ap *dst, const isa_ap *src, const lower_dep *deps,
               lower_dep *tok);
isa_inst lower_inst(isa_opcode op);

/* buffers: allocation asserts capacity; all are released at the op's end */
void lower_sbuf_alloc(lower_ctx *L, lower_buf *b, uint64_t bytes);
void lower_psum_alloc(lower_ctx *L, lower_buf *b);   /* one bank */
/* Release every buffer of the op (merging their last accesses into the chunks/banks): each op
 * family calls it before returning, since its lower_buf values are locals. */
void lower_release(lower_ctx *L);
/* Start a new generation of contents: returns the dependencies its writers must wait for. */
lower_dep lower_buf_fill(lower_buf *b);
/* Record a writer/reader token set. */
void lower_buf_wrote(lower_buf *b, const lower_dep *tok);
void lower_buf_read(lower_buf *b, const lower_dep *tok);

/* compute shortcuts: one instruction on queue q reading bufs r0,r1 (may be NULL) and writing w.
 * `fresh` != 0: this instruction starts a new generation of w. Extra deps may be NULL. */
void lower_compute(lower_ctx *L, uint32_t q, isa_inst *in, lower_buf *w, int fresh, lower_buf *r0,
                   lower_buf *r1, const lower_dep *extra);

/* tensor loads/stores: wait for the tensor's writers / record the store tokens */
void lower_load(lower_ctx *L, uint32_t t, const isa_ap *dst, const isa_ap *src, lower_buf *b,
                int fresh);
void lower_store(lower_ctx *L, uint32_t t, const isa_ap *dst, const isa_ap *src, lower_buf *b);

int lower_mapping_error(lower_ctx *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* SBUF bytes per partition an op may use (ring half, so that consecutive ops can overlap). */
static inline uint64_t lower_budget(const lower_ctx *L) { return L->sbuf_budget; }
static inline uint64_t lower_ceil(uint64_t a, uint64_t b) { return (a + b - 1) / b; }
static inline uint64_t lower_min(uint64_t a, uint64_t b) { return a < b ? a : b; }
static inline uint64_t lower_max(uint64_t a, uint64_t b) { return a > b ? a : b; }
/* functional mode: output `out` element index of dst element (p, i, j) = base + p·sp + i·s0 + j·s1 */
static inline isa_oidx lower_oidx(uint8_t out, int64_t base, int64_t sp, int64_t s0, int64_t s1)
{
	isa_oidx o = { base, { sp, s0, s1 }, 1, out };
	return o;
}
static inline const graph_tensor *lower_T(const lower_ctx *L, uint32_t t) { return &L->g->tensors[t]; }

/* op families (lower_pe.c, lower_vec.c) */
int lower_matmul_op(lower_ctx *L, const graph_op *op);
int lower_conv_op(lower_ctx *L, const graph_op *op);
int lower_eltwise_op(lower_ctx *L, const graph_op *op);
int lower_rowwise_op(lower_ctx *L, const graph_op *op);
int lower_pool_op(lower_ctx *L, const graph_op *op);
int lower_move_op(lower_ctx *L, const graph_op *op);

/* bytes one instruction moves from/to HBM (for statistics and tests) */
uint64_t lower_inst_hbm_bytes(const isa_inst *in);

#endif
