/*
 * engine.c -- discrete-event execution of a program (see engine.h, docs/timing-model.md).
 *
 * The program arrives in pieces (engine_source): the engine asks for the next piece only when a
 * queue that still has instructions to run has none in hand, so it holds a window of the program,
 * not all of it; a piece goes back to its source once every instruction in it has completed.
 * A source may also hand whole queues up front ("side" queues, for queues used so rarely that
 * waiting for their next instruction in the pieces would pull much of the program in).
 *
 * State per queue (PE, ACT, VEC, DMA q0..):
 *
 *     pending a FIFO ring of its instructions taken from pieces, not yet started (or its side
 *             array); the first is the head, the next one to start
 *     state   FREE     nothing holds the queue; the head is tried at once
 *             BLOCKED  the head waits for a semaphore (linked into that semaphore's waiter list)
 *             HELD     an instruction occupies the queue until an EV_READY event (PE/ACT/VEC), or
 *                      until its transfer completes (DMA)
 *     flight  a FIFO ring of started, not yet completed instructions (several on the pipelined
 *             PE array; completions of one queue happen in start order, see below)
 *
 * Pending events live in a binary heap ordered by (tick, sequence number): EV_DONE (an
 * instruction of a queue completes), EV_READY (a queue's issue slot frees), EV_DMA_DATA (a
 * transfer leaves its fixed phase and joins the HBM pool). The ends of DMA data phases are not in
 * the heap: their times change whenever the pool changes, so the loop asks the pool for its next
 * end (a scan over at most dma.engines transfers) and compares it with the heap's top; on a tie
 * the DMA end goes first. Everything happens in a deterministic order: same program and chip,
 * same events, same ticks.
 *
 * Completions of one queue are FIFO: on PE/ACT/VEC, end = start + occupy + L with L the same for
 * every instruction of a queue in a run (fill + drain on PE, 0 elsewhere) and the next start ≥
 * this start + occupy; DMA queues hold one transfer at a time.
 *
 * HBM pool (processor sharing, max-min fair): transfers in their data phase that touch HBM share
 * hbm.bandwidth; each has a cap (its engine's peak × efficiency). Water filling: in increasing
 * order of cap, a transfer gets min(cap, what is left / transfers left). Transfers between SBUF
 * regions take their cap. On each change: remaining bytes -= rate × elapsed ticks; end =
 * now + ceil(remaining / rate). Times stay integer; only the byte counts are floating point.
 *
 * Speed (issue #5; sim/engine_ref.c is the straightforward loop this one must match exactly,
 * tests/test_engine_stream.c compares their event streams):
 *
 *   - instructions reach their queues as pieces arrive (a pointer and a position each, in a ring
 *     per queue): no pass over the whole program; the full instruction is read once more, when
 *     it issues, where its timing rule and the memory accounting share one visit (access-pattern
 *     measures inline);
 *   - heap entries are 16 bytes: the tick, and (sequence << 11 | kind << 9 | queue);
 *   - the HBM pool keeps its members in two small sorted arrays (by queue index; the HBM ones by
 *     (peak, queue index), the water-filling order) updated on entry and exit, instead of
 *     scanning every DMA queue and re-sorting on every change; a DMA end settles the others'
 *     bytes without recomputing rates that cannot have changed (the rate reported to the sink
 *     then is the one last computed, exactly what recomputation gives);
 *   - with no sink, no event record is built and no horizon is scanned.
 */
#include "sim/engine.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sim/alloc.h"

enum { EV_DONE, EV_READY, EV_DMA_DATA };
enum { QS_FREE, QS_BLOCKED, QS_HELD };
#define ENGINE_PF_MAX 64           /* >= the largest dma.descriptors_in_flight (sim/chip.c) */

/* A pending event: ordered by (t, key); key = seq << 11 | kind << 9 | q, and seq is unique, so
 * comparing keys compares sequence numbers (q < 2^9: 3 + 256 DMA queues at most). */
typedef struct hev {
	uint64_t t;
	uint64_t key;
} hev;

#define HEV_Q(k) ((uint32_t)((k) & 0x1ffu))
#define HEV_KIND(k) ((uint32_t)(((k) >> 9) & 3u))

#define NO_PIECE UINT32_MAX

/* An instruction handed to a queue, not yet started. */
typedef struct pend {
	const isa_inst *in;        /* in its piece (or the queue's side array) */
	uint64_t idx;              /* position in the program */
	uint32_t piece;            /* sequence number of its piece, NO_PIECE for side queues */
} pend;

typedef struct flight {
	const isa_inst *in;
	uint64_t idx;
	uint32_t piece;
	uint64_t head, ready, start, end, occupy, cycles;
	uint64_t macs, flops;
	uint32_t stall_q;
	uint16_t stall_sem;
	uint8_t cause;
	uint8_t has_rel;
	isa_inst rel;              /* with a sink: a copy of the instruction that released its last wait */
} flight;

/* A piece of the program, from the source, held until all its instructions have completed. */
typedef struct piece {
	const isa_inst *insts;
	uint64_t live;             /* its instructions not yet completed */
} piece;

typedef struct queue {
	pend *pq;                  /* ring of pending instructions (pieces' queues) */
	size_t pcap, phead, pcount;
	const isa_inst *side;      /* side queue: all its instructions, and their positions */
	const uint64_t *side_idx;
	uint64_t side_pos;
	uint64_t left;             /* instructions not yet started */
	int state;
	uint64_t head_t;           /* when the head became the head */
	uint64_t ready_t;          /* when the queue became free for the head */
	uint16_t wsem;             /* BLOCKED: semaphore waited for */
	uint32_t wval;
	int32_t next_waiter;       /* in wsem's waiter list */
	uint8_t cause;             /* why the head waited (last wake-up) */
	uint16_t cause_sem;
	uint32_t cause_q;
	const isa_inst *cause_inst;  /* the instruction whose completion woke it (valid until issue) */
	flight *ring;
	size_t rcap, rhead, rcount;
	/* DMA */
	int in_pool;               /* in its data phase */
	int hbm;
	int dend_ok;               /* dend was computed at the current rate */
	double rem, peak, rate;
	uint64_t last, dend;
	/* descriptor prefetch (isa_dma_fixed_left): the current burst of back-to-back descriptors */
	uint64_t pf_t[ENGINE_PF_MAX];  /* data-phase starts, by index in the burst mod ENGINE_PF_MAX */
	uint64_t pf_n, pf_t0, dlast;   /* descriptors in the burst, its start, the last DMA's end */
} queue;

typedef struct sim {
	const chip *c;
	const engine_source *src;
	const event_sink *sink;
	asim_err *e;
	engine_result *r;
	isa_clock clk;
	uint32_t nq;
	queue *qs;
	piece *pieces;             /* ring by sequence number: [pfirst, pnext) held */
	size_t pcap;
	uint32_t pfirst, pnext;
	uint64_t pulled;           /* instructions received from the source */
	uint64_t window, window_peak;   /* instructions held in pieces (not yet given back) */
	uint8_t esz[256];          /* element size of each dtype code (0 for unknown codes) */
	uint32_t *inpool;          /* DMA queues in their data phase, by increasing qindex */
	uint32_t npool;
	uint32_t nhbm;             /* of which touching HBM: pool[0 .. nhbm), by (peak, qindex) */
	double used;               /* HBM bandwidth granted at the last recomputation */
	uint64_t dma_next_t;       /* the earliest end of a data phase in the pool */
	uint32_t dma_next_q;       /* its queue, 0 when the pool is empty */
	uint32_t *sem;
	uint32_t *sem_last_q;
	int32_t *waiters;
	hev *heap;
	size_t hn, hcap;
	uint64_t seq;
	uint32_t *pool;            /* HBM transfers in the data phase, in water-filling order */
	double hbm_rate;           /* bytes per tick */
	uint64_t sbuf_ext, psum_ext;
	uint32_t sbuf_parts, psum_parts;
	uint64_t remaining;
	isa_inst pe_prev_inst;     /* a copy of the last matmul issued on the PE array (serial folds) */
	const isa_inst *pe_prev;   /* &pe_prev_inst once there is one */
	uint64_t pe_prev_free;     /* when it released the array */
	int rc;
} sim;

const char *engine_queue_name(uint32_t qi, char *buf, size_t n)
{
	static const char *const fixed[3] = {"pe", "act", "vec"};
	if (qi < 3)
		snprintf(buf, n, "%s", fixed[qi]);
	else
		snprintf(buf, n, "q%" PRIu32, qi - 3);
	return buf;
}

/* ---- heap ------------------------------------------------------------------------------- */

static inline int hless(const hev *a, const hev *b)
{
	return a->t < b->t || (a->t == b->t && a->key < b->key);
}

static inline int hpush(sim *s, uint64_t t, uint32_t q, uint32_t kind)
{
	if (s->hn == s->hcap) {   /* never in practice: the heap is sized for the worst case */
		void *v = s->heap;
		if (asim_grow(&v, &s->hcap, s->hn + 1, sizeof *s->heap))
			return ASIM_ENOMEM;
		s->heap = v;
	}
	size_t i = s->hn++;
	hev ev = {t, (s->seq++ << 11) | ((uint64_t)kind << 9) | q};
	while (i > 0) {
		size_t up = (i - 1) / 2;
		if (!hless(&ev, &s->heap[up]))
			break;
		s->heap[i] = s->heap[up];
		i = up;
	}
	s->heap[i] = ev;
	return ASIM_OK;
}

static hev hpop(sim *s)
{
	hev top = s->heap[0];
	hev last = s->heap[--s->hn];
	size_t i = 0, n = s->hn;
	for (;;) {
		size_t l = 2 * i + 1;
		if (l >= n)
			break;
		size_t m = (l + 1 < n && hless(&s->heap[l + 1], &s->heap[l])) ? l + 1 : l;
		if (!hless(&s->heap[m], &last))
			break;
		s->heap[i] = s->heap[m];
		i = m;
	}
	if (n > 0)
		s->heap[i] = last;
	return top;
}

/* ---- flight ring ------------------------------------------------------------------------ */

static flight *ring_push(queue *q)
{
	if (q->rcount == q->rcap) {   /* sized at setup; growth only for exotic chips */
		size_t ncap = q->rcap * 2;
		flight *nr = asim_reallocarray(NULL, ncap, sizeof *nr);
		if (nr == NULL)
			return NULL;
		for (size_t i = 0; i < q->rcount; i++)
			nr[i] = q->ring[(q->rhead + i) & (q->rcap - 1)];
		asim_free(q->ring);
		q->ring = nr;
		q->rcap = ncap;
		q->rhead = 0;
	}
	flight *f = &q->ring[(q->rhead + q->rcount) & (q->rcap - 1)];
	q->rcount++;
	return f;
}

/* ---- the program's pieces and the queues' pending instructions ---------------------------- */

static int grow_ring(void **ring, size_t *cap, size_t first, size_t count, size_t elem)
{
	size_t ncap = *cap ? *cap * 2 : 16;
	char *nr = asim_reallocarray(NULL, ncap, elem);
	if (nr == NULL)
		return ASIM_ENOMEM;
	for (size_t i = 0; i < count; i++)   /* entries keep their position modulo the new size */
		memcpy(nr + ((first + i) & (ncap - 1)) * elem,
		       (char *)*ring + ((first + i) & (*cap - 1)) * elem, elem);
	asim_free(*ring);
	*ring = nr;
	*cap = ncap;
	return ASIM_OK;
}

/* Give back the oldest pieces whose instructions have all completed. */
static void release_pieces(sim *s)
{
	while (s->pfirst != s->pnext) {
		piece *pc = &s->pieces[s->pfirst & (s->pcap - 1)];
		if (pc->live > 0)
			break;
		if (s->src->release)
			s->src->release(s->src->ud, pc->insts);
		s->pfirst++;
	}
}

static int pull_failed(sim *s, const char *what)
{
	const char *src = s->src->source ? s->src->source : "program";
	return asim_errorf(s->e, ASIM_EINTERNAL, "%s: %s after %" PRIu64 " instructions", src, what,
	                   s->pulled);
}

/* Take the next piece from the source and hand its instructions to their queues. */
static int pull(sim *s)
{
	const engine_source *src = s->src;
	const isa_inst *v = NULL;
	size_t n = 0;
	int rc = src->next(src->ud, &v, &n, s->e);
	if (rc)
		return rc;
	if (n == 0)
		return pull_failed(s, "the program ended early");
	if (s->pnext - s->pfirst == s->pcap
	    && grow_ring((void **)&s->pieces, &s->pcap, s->pfirst, s->pnext - s->pfirst, sizeof *s->pieces))
		return ASIM_ENOMEM;
	uint32_t seq = s->pnext++;
	piece *pc = &s->pieces[seq & (s->pcap - 1)];
	pc->insts = v;
	pc->live = 0;
	for (size_t i = 0; i < n; i++) {
		const isa_inst *in = &v[i];
		uint64_t idx = s->pulled + i;
		uint32_t qi = in->engine < ISA_ENG_DMA ? in->engine : 3u + in->queue;
		if (qi >= s->nq || (in->gop != ISA_NO_GOP && in->gop >= s->r->n_gops))
			return pull_failed(s, "an instruction outside the queues or graph ops announced");
		queue *q = &s->qs[qi];
		if (q->side)
			continue;   /* handed up front */
		if (q->pcount == q->pcap
		    && grow_ring((void **)&q->pq, &q->pcap, q->phead, q->pcount, sizeof *q->pq))
			return ASIM_ENOMEM;
		pend *d = &q->pq[(q->phead + q->pcount++) & (q->pcap - 1)];
		d->in = in;
		d->idx = idx;
		d->piece = seq;
		pc->live++;
	}
	s->pulled += n;
	s->window += pc->live;
	if (s->window > s->window_peak)
		s->window_peak = s->window;
	release_pieces(s);
	return ASIM_OK;
}

/* The next instruction of queue qi into *h (h->in NULL when the queue has run them all), pulling
 * pieces until it arrives. peek is the common case inline; peek_slow the rest. */
static int peek_slow(sim *s, uint32_t qi, pend *h)
{
	queue *q = &s->qs[qi];
	if (q->left == 0) {
		h->in = NULL;
		return ASIM_OK;
	}
	if (q->side) {
		h->in = &q->side[q->side_pos];
		h->idx = q->side_idx[q->side_pos];
		h->piece = NO_PIECE;
		return ASIM_OK;
	}
	while (q->pcount == 0) {
		int rc = pull(s);
		if (rc)
			return rc;
	}
	*h = q->pq[q->phead];
	return ASIM_OK;
}

static inline int peek(sim *s, uint32_t qi, pend *h)
{
	const queue *q = &s->qs[qi];
	if (q->pcount > 0) {   /* side queues never hold pending entries */
		*h = q->pq[q->phead];
		return ASIM_OK;
	}
	return peek_slow(s, qi, h);
}

static void pop_head(queue *q)
{
	q->left--;
	if (q->side) {
		q->side_pos++;
	} else {
		q->phead = (q->phead + 1) & (q->pcap - 1);
		q->pcount--;
	}
}

/* ---- HBM pool --------------------------------------------------------------------------- */

/* Bring every transfer in its data phase up to `now`: bytes moved at its current rate. */
static void pool_settle(sim *s, uint64_t now)
{
	for (uint32_t j = 0; j < s->npool; j++) {
		queue *q = &s->qs[s->inpool[j]];
		q->rem -= q->rate * (double)(now - q->last);
		if (q->rem < 0)
			q->rem = 0;
		q->last = now;
	}
}

/* A transfer's rate: its end stands while the rate does (recomputing it from the bytes left would
 * give the same tick in exact arithmetic, and rounding drift in floating point). */
static inline void set_rate(queue *q, double r)
{
	if (q->rate != r)
		q->dend_ok = 0;
	q->rate = r;
}

/* Water filling over pool[0 .. nhbm) (increasing (peak, qindex)), then every member's end and the
 * earliest one (lowest qindex on a tie). Members are settled to `now`. */
static void pool_share(sim *s, uint64_t now)
{
	uint32_t k = s->nhbm;
	double left = s->hbm_rate;
	for (uint32_t j = 0; j < k; j++) {
		queue *q = &s->qs[s->pool[j]];
		double share = left / (double)(k - j);
		if (q->peak < share) {
			set_rate(q, q->peak);
			left -= q->rate;
			if (left < 0)
				left = 0;
			continue;
		}
		/* caps ascend: the fair share is within every remaining cap, so all get exactly it
		 * (one division, not one per member: the same rates, without rounding drift) */
		for (; j < k; j++)
			set_rate(&s->qs[s->pool[j]], share);
	}
	if (s->sink && s->sink->hbm_rate) {
		double used = 0;
		for (uint32_t j = 0; j < k; j++)
			used += s->qs[s->pool[j]].rate;
		s->used = used;
		s->sink->hbm_rate(s->sink->ud, now, used);
	}
	s->dma_next_q = 0;
	s->dma_next_t = UINT64_MAX;
	for (uint32_t j = 0; j < s->npool; j++) {
		uint32_t qi = s->inpool[j];
		queue *q = &s->qs[qi];
		ASIM_ASSERT(q->rate > 0);
		if (!q->dend_ok) {   /* an unchanged rate keeps its end: no division, no rounding drift */
			q->dend = now + isa_ceil_div(q->rem, q->rate);
			q->dend_ok = 1;
		}
		if (s->dma_next_q == 0 || q->dend < s->dma_next_t) {
			s->dma_next_q = qi;
			s->dma_next_t = q->dend;
		}
	}
}

/* Queue qi's transfer enters its data phase at `now` (q->hbm, q->peak, q->rem set). */
static void pool_enter(sim *s, uint32_t qi, uint64_t now)
{
	queue *q = &s->qs[qi];
	pool_settle(s, now);
	q->in_pool = 1;
	q->last = now;
	q->dend_ok = 0;
	uint32_t j = s->npool++;
	while (j > 0 && s->inpool[j - 1] > qi) {
		s->inpool[j] = s->inpool[j - 1];
		j--;
	}
	s->inpool[j] = qi;
	if (q->hbm) {
		j = s->nhbm++;
		while (j > 0) {
			const queue *o = &s->qs[s->pool[j - 1]];
			if (!(o->peak > q->peak || (o->peak == q->peak && s->pool[j - 1] > qi)))
				break;
			s->pool[j] = s->pool[j - 1];
			j--;
		}
		s->pool[j] = qi;
	} else {
		q->rate = q->peak;
	}
	pool_share(s, now);
}

/* Queue qi's transfer (the earliest end) completes at `now`. The reference recomputes the pool
 * twice here, before and after removing it; the first recomputation gives the rates already in
 * force (same members, same peaks, same arithmetic), so only its settling and its report remain. */
static void pool_leave(sim *s, uint32_t qi, uint64_t now)
{
	queue *q = &s->qs[qi];
	pool_settle(s, now);
	if (s->sink && s->sink->hbm_rate)
		s->sink->hbm_rate(s->sink->ud, now, s->used);
	q->in_pool = 0;
	uint32_t j = 0;
	while (s->inpool[j] != qi)
		j++;
	for (s->npool--; j < s->npool; j++)
		s->inpool[j] = s->inpool[j + 1];
	if (q->hbm) {
		j = 0;
		while (s->pool[j] != qi)
			j++;
		for (s->nhbm--; j < s->nhbm; j++)
			s->pool[j] = s->pool[j + 1];
	}
	pool_share(s, now);
}

/* ---- issue and completion --------------------------------------------------------------- */

static inline uint64_t ap_bytes(const sim *s, const isa_ap *a)
{
	return (uint64_t)a->n[0] * a->n[1] * a->nparts * s->esz[a->dtype];
}

/* isa_ap_extent for SBUF/PSUM (no row stride) */
static inline uint64_t ap_extent_onchip(const sim *s, const isa_ap *a)
{
	if ((uint64_t)a->n[0] * a->n[1] * a->nparts == 0)
		return a->offset;
	return a->offset + (uint64_t)(a->n[0] - 1) * a->stride[0] + (uint64_t)(a->n[1] - 1) * a->stride[1]
	       + s->esz[a->dtype];
}

static inline void account_ap(sim *s, const isa_ap *a, uint64_t *bytes, uint32_t gop)
{
	uint64_t b = ap_bytes(s, a);
	bytes[a->mem] += b;
	if (a->mem == ISA_MEM_HBM) {
		if (gop != ISA_NO_GOP)
			s->r->gops[gop].hbm_bytes += b;
	} else {
		uint64_t ext = ap_extent_onchip(s, a);
		uint32_t parts = (uint32_t)a->part + a->nparts;
		uint64_t *e = a->mem == ISA_MEM_SBUF ? &s->sbuf_ext : &s->psum_ext;
		uint32_t *pp = a->mem == ISA_MEM_SBUF ? &s->sbuf_parts : &s->psum_parts;
		if (ext > *e)
			*e = ext;
		if (parts > *pp)
			*pp = parts;
	}
}

static inline void account_memory(sim *s, const isa_inst *in)
{
	if (in->dst.mem != ISA_MEM_NONE)
		account_ap(s, &in->dst, s->r->bytes_written, in->gop);
	if (in->src[0].mem != ISA_MEM_NONE)
		account_ap(s, &in->src[0], s->r->bytes_read, in->gop);
	if (in->src[1].mem != ISA_MEM_NONE)
		account_ap(s, &in->src[1], s->r->bytes_read, in->gop);
	if (in->opcode == ISA_OP_MATMUL && (in->flags & ISA_F_ACCUMULATE))
		s->r->bytes_read[ISA_MEM_PSUM] += ap_bytes(s, &in->dst);
}

static int try_issue(sim *s, uint32_t qi, uint64_t now)
{
	queue *q = &s->qs[qi];
	if (q->state == QS_HELD)
		return ASIM_OK;
	pend h;
	int rc = peek(s, qi, &h);
	if (rc || h.in == NULL)
		return rc;
	if (q->state == QS_FREE)
		q->ready_t = now;
	const isa_inst *in = h.in;
	for (int k = 0; k < 2; k++) {
		uint16_t w = in->wait_sem[k];
		if (w != ISA_NO_SEM && s->sem[w] < in->wait_val[k]) {
			q->state = QS_BLOCKED;
			q->wsem = w;
			q->wval = in->wait_val[k];
			q->next_waiter = s->waiters[w];
			s->waiters[w] = (int32_t)qi;
			return ASIM_OK;
		}
	}
	isa_cost cost;
	isa_time_table[in->opcode](s->c, &s->clk, in, &cost);
	if (qi == 0 && in->opcode == ISA_OP_MATMUL) {
		/* serial-fold arrays: a back-to-back matmul may continue the previous fold */
		if (s->pe_prev != NULL && now == s->pe_prev_free
		    && isa_matmul_continues(s->c, s->pe_prev, in))
			isa_time_matmul_continue(s->c, &s->clk, in, &cost);
		if (s->c->pe.mode == CHIP_PE_SERIAL_FOLDS) {   /* only serial folds look back */
			s->pe_prev_inst = *in;
			s->pe_prev = &s->pe_prev_inst;
		}
		s->pe_prev_free = now + cost.occupy;
	}
	flight *f = ring_push(q);
	if (f == NULL)
		return ASIM_ENOMEM;
	f->in = in;
	f->idx = h.idx;
	f->piece = h.piece;
	f->has_rel = 0;
	f->head = q->head_t;
	f->ready = q->ready_t;
	f->start = now;
	f->occupy = cost.occupy;
	f->cycles = cost.cycles;
	f->macs = cost.macs;
	f->flops = cost.flops;
	if (now > q->ready_t) {
		f->cause = q->cause;
		f->stall_sem = q->cause_sem;
		f->stall_q = q->cause_q;
		if (s->sink && s->sink->inst && q->cause_inst) {   /* its piece may go before f ends */
			f->rel = *q->cause_inst;
			f->has_rel = 1;
		}
	} else {
		f->cause = EVENT_STALL_NONE;
		f->stall_sem = ISA_NO_SEM;
		f->stall_q = 0;
	}
	q->cause = EVENT_STALL_NONE;
	q->cause_inst = NULL;
	pop_head(q);
	q->head_t = now;
	q->state = QS_HELD;
	account_memory(s, in);
	if (in->engine == ISA_ENG_DMA && in->opcode == ISA_OP_DMA_COPY) {
		/* back to back with the previous descriptor of this queue (it ended now, the waits
		 * were met): the burst continues, and the fixed phase began earlier */
		if (q->pf_n > 0 && q->ready_t == now && q->dlast == now) {
			uint64_t D = s->c->dma.descriptors_in_flight;
			uint64_t from = q->pf_n + 1 >= D ? q->pf_t[(q->pf_n + 1 - D) % ENGINE_PF_MAX] : q->pf_t0;
			cost.latency = isa_dma_fixed_left(s->c, cost.latency, now - from);
		} else {
			q->pf_n = 0;
			q->pf_t0 = now;
		}
		q->pf_t[q->pf_n % ENGINE_PF_MAX] = now + cost.latency;   /* its data phase starts then */
		q->pf_n++;
		q->hbm = cost.hbm;
		q->peak = cost.peak;
		q->rem = cost.bytes;
		if (cost.latency > 0)
			return hpush(s, now + cost.latency, qi, EV_DMA_DATA);
		pool_enter(s, qi, now);
		return ASIM_OK;
	}
	f->end = now + cost.latency;
	rc = hpush(s, f->end, qi, EV_DONE);
	if (rc == ASIM_OK)
		rc = hpush(s, now + cost.occupy, qi, EV_READY);
	return rc;
}

static int signal_sem(sim *s, uint16_t sm, uint32_t from_q, const isa_inst *from, uint64_t now)
{
	if (s->sem[sm] < UINT32_MAX)
		s->sem[sm]++;
	s->sem_last_q[sm] = from_q;
	int32_t w = s->waiters[sm];
	s->waiters[sm] = -1;
	while (w >= 0) {
		queue *q = &s->qs[w];
		int32_t next = q->next_waiter;
		q->next_waiter = -1;
		if (s->sem[sm] >= q->wval) {
			q->cause = from_q >= 3 ? EVENT_STALL_DMA : EVENT_STALL_SEM;
			q->cause_sem = sm;
			q->cause_q = from_q;
			q->cause_inst = from;
			int rc = try_issue(s, (uint32_t)w, now);
			if (rc)
				return rc;
		} else {   /* still short: back on the list */
			q->next_waiter = s->waiters[sm];
			s->waiters[sm] = w;
		}
		w = next;
	}
	return ASIM_OK;
}

static int emit(sim *s, const flight *f, const isa_inst *in, uint32_t qi, uint64_t held, uint64_t now)
{
	event_inst ev;
	memset(&ev, 0, sizeof ev);
	ev.inst = in;
	ev.releaser = f->has_rel ? &f->rel : NULL;
	ev.index = f->idx;
	ev.opcode = in->opcode;
	ev.engine = in->engine;
	ev.queue = in->queue;
	ev.qindex = qi;
	ev.gop = in->gop;
	ev.line = in->line;
	ev.dtype = in->src[0].mem != ISA_MEM_NONE ? in->src[0].dtype : in->dst.dtype;
	ev.head = f->head;
	ev.ready = f->ready;
	ev.start = f->start;
	ev.end = f->end;
	ev.occupy = held;
	ev.cycles = f->cycles;
	ev.stall = f->start - f->ready;
	ev.stall_cause = f->cause;
	ev.stall_sem = f->stall_sem;
	ev.stall_qindex = f->stall_q;
	if (in->dst.mem != ISA_MEM_NONE)
		ev.bytes_written[in->dst.mem] += ap_bytes(s, &in->dst);
	for (int k = 0; k < 2; k++)
		if (in->src[k].mem != ISA_MEM_NONE)
			ev.bytes_read[in->src[k].mem] += ap_bytes(s, &in->src[k]);
	if (in->opcode == ISA_OP_MATMUL && (in->flags & ISA_F_ACCUMULATE))
		ev.bytes_read[ISA_MEM_PSUM] += ap_bytes(s, &in->dst);
	ev.macs = f->macs;
	ev.flops = f->flops;
	ev.horizon = now;   /* this one was popped: the rest of each ring is in flight */
	for (uint32_t k = 0; k < s->nq; k++)
		if (s->qs[k].rcount > 0 && s->qs[k].ring[s->qs[k].rhead].start < ev.horizon)
			ev.horizon = s->qs[k].ring[s->qs[k].rhead].start;
	return s->sink->inst(s->sink->ud, &ev);
}

static int complete(sim *s, uint32_t qi, uint64_t now, int release)
{
	queue *q = &s->qs[qi];
	ASIM_ASSERT(q->rcount > 0);
	flight *f = &q->ring[q->rhead];
	q->rhead = (q->rhead + 1) & (q->rcap - 1);
	q->rcount--;
	if (qi >= 3)
		f->end = now;
	const isa_inst *in = f->in;
	uint32_t fpiece = f->piece;   /* f's slot may be reused once other queues issue */
	uint32_t gop = in->gop;
	uint16_t sig = in->signal;
	engine_result *r = s->r;
	engine_queue_stats *st = &r->q[qi];
	uint64_t held = qi >= 3 ? f->end - f->start : f->occupy;
	st->busy += held;
	st->stall += f->start - f->ready;
	st->insts++;
	st->cycles += f->cycles;
	if (f->end > st->last_end)
		st->last_end = f->end;
	if (f->end > r->end)
		r->end = f->end;
	r->macs += f->macs;
	r->flops += f->flops;
	if (gop != ISA_NO_GOP) {
		engine_gop_stats *g = &r->gops[gop];
		if (g->insts == 0 || f->start < g->start)
			g->start = f->start;
		if (f->end > g->end)
			g->end = f->end;
		g->busy += held;
		g->insts++;
		g->macs += f->macs;
		g->flops += f->flops;
	}
	s->remaining--;
	/* the slot stays valid until the next ring_push on this queue: nothing below pushes before
	 * emit returns (emit runs first) */
	if (s->sink && s->sink->inst) {
		int rc = emit(s, f, in, qi, held, now);
		if (rc)
			return rc;
	}
	if (sig != ISA_NO_SEM) {
		int rc = signal_sem(s, sig, qi, in, now);
		if (rc)
			return rc;
	}
	if (fpiece != NO_PIECE) {   /* after the last use of `in` */
		piece *pc = &s->pieces[fpiece & (s->pcap - 1)];
		s->window--;
		if (--pc->live == 0 && fpiece == s->pfirst)
			release_pieces(s);
	}
	if (release) {
		q->state = QS_FREE;
		return try_issue(s, qi, now);
	}
	return ASIM_OK;
}

/* ---- deadlock report -------------------------------------------------------------------- */

static int report_deadlock(sim *s, uint64_t now, asim_err *e)
{
	char msg[ASIM_ERR_MSG_MAX];
	size_t len = 0;
	const char *src = s->src->source ? s->src->source : "program";
	uint32_t first_line = 0;
	len += (size_t)snprintf(msg + len, sizeof msg - len, "deadlock at %.3f ns: no queue can progress;",
	                        isa_ticks_to_ns(&s->clk, now));
	for (uint32_t qi = 0; qi < s->nq && len < sizeof msg; qi++) {
		queue *q = &s->qs[qi];
		if (q->state != QS_BLOCKED)
			continue;
		pend h;
		if (peek(s, qi, &h) != ASIM_OK || h.in == NULL)   /* a blocked queue has its head */
			continue;
		const isa_inst *in = h.in;
		char name[16];
		engine_queue_name(qi, name, sizeof name);
		if (first_line == 0)
			first_line = in->line;
		len += (size_t)snprintf(msg + len, sizeof msg - len,
		                        " %s blocked at instruction %" PRIu64 " (%s, line %u) waiting for s%u >= %u (s%u = %u);",
		                        name, h.idx, isa_opcode_names[in->opcode], in->line,
		                        q->wsem, q->wval, q->wsem, s->sem[q->wsem]);
	}
	if (len >= sizeof msg)
		len = sizeof msg - 1;
	if (len > 0 && msg[len - 1] == ';')
		msg[len - 1] = '\0';
	if (first_line)
		return asim_error_at(e, ASIM_EDEADLOCK, src, first_line, 1, "%s", msg);
	return asim_errorf(e, ASIM_EDEADLOCK, "%s: %s", src, msg);
}

/* ---- setup and main loop ---------------------------------------------------------------- */

static size_t pow2_at_least(size_t n)
{
	size_t p = 1;
	while (p < n)
		p <<= 1;
	return p;
}

static void sim_free(sim *s)
{
	if (s->qs)
		for (uint32_t i = 0; i < s->nq; i++) {
			asim_free(s->qs[i].ring);
			asim_free(s->qs[i].pq);
		}
	if (s->pieces) {   /* whatever is still held goes back, oldest first */
		for (; s->pfirst != s->pnext; s->pfirst++)
			if (s->src->release)
				s->src->release(s->src->ud, s->pieces[s->pfirst & (s->pcap - 1)].insts);
		asim_free(s->pieces);
	}
	asim_free(s->qs);
	asim_free(s->inpool);
	asim_free(s->sem);
	asim_free(s->sem_last_q);
	asim_free(s->waiters);
	asim_free(s->heap);
	asim_free(s->pool);
}

void engine_result_fini(engine_result *r)
{
	asim_free(r->q);
	asim_free(r->gops);
	memset(r, 0, sizeof *r);
}

static int setup(sim *s, asim_err *e)
{
	const engine_source *src = s->src;
	const chip *c = s->c;
	engine_result *r = s->r;
	s->nq = 3u + c->dma.engines;
	size_t nsem = src->nsems ? src->nsems : 1;
	if (src->n_gops > (1u << 24))
		return asim_errorf(e, ASIM_ERANGE, "%s: graph-op index %u is too large (limit 2^24)",
		                   src->source ? src->source : "program", src->n_gops - 1);
	s->qs = asim_calloc(s->nq, sizeof *s->qs);
	s->sem = asim_calloc(nsem, sizeof *s->sem);
	s->sem_last_q = asim_calloc(nsem, sizeof *s->sem_last_q);
	s->waiters = asim_calloc(nsem, sizeof *s->waiters);
	s->pool = asim_calloc(s->nq, sizeof *s->pool);
	s->inpool = asim_calloc(s->nq, sizeof *s->inpool);
	s->hcap = 4u * s->nq + c->pe.fill_cycles + c->pe.drain_cycles + 64;
	s->heap = asim_calloc(s->hcap, sizeof *s->heap);
	s->pcap = 64;
	s->pieces = asim_calloc(s->pcap, sizeof *s->pieces);
	r->q = asim_calloc(s->nq, sizeof *r->q);
	r->gops = asim_calloc(src->n_gops ? src->n_gops : 1, sizeof *r->gops);
	if (!s->qs || !s->sem || !s->sem_last_q || !s->waiters || !s->pool || !s->inpool || !s->heap
	    || !s->pieces || !r->q || !r->gops)
		return asim_errorf(e, ASIM_ENOMEM, "out of memory setting up the engine");
	uint64_t total = 0;
	for (uint32_t qi = 0; qi < s->nq; qi++) {
		queue *q = &s->qs[qi];
		q->next_waiter = -1;
		q->rcap = qi == 0 ? pow2_at_least((size_t)c->pe.fill_cycles + c->pe.drain_cycles + 4) : 4;
		q->ring = asim_calloc(q->rcap, sizeof *q->ring);
		/* doubled as the window needs; no more than the queue will ever hold to start with */
		q->pcap = pow2_at_least(src->qcount[qi] < 1024 ? (size_t)src->qcount[qi] : 1024);
		q->pq = asim_malloc(q->pcap * sizeof *q->pq);
		if (q->ring == NULL || q->pq == NULL)
			return asim_errorf(e, ASIM_ENOMEM, "out of memory setting up the engine");
		q->left = src->qcount[qi];
		if (src->side && src->side[qi]) {
			q->side = src->side[qi];
			q->side_idx = src->side_idx[qi];
		}
		total += q->left;
	}
	if (total != src->n_insts)
		return asim_errorf(e, ASIM_EINTERNAL, "%s: the queues' counts do not add up to the program",
		                   src->source ? src->source : "program");
	r->n_queues = s->nq;
	r->n_gops = src->n_gops;
	r->n_insts = src->n_insts;
	for (size_t i = 0; i < nsem; i++)
		s->waiters[i] = -1;
	for (int t = 0; t < 256; t++)
		s->esz[t] = (uint8_t)asim_dtype_bytes((asim_dtype)t);
	s->hbm_rate = c->hbm.bandwidth_gb_per_s * 1e9 / s->clk.tick_hz;
	s->remaining = src->n_insts;
	return ASIM_OK;
}

int engine_run_source(const chip *c, const engine_source *src, const event_sink *sink,
                      engine_result *r, engine_stats *st, asim_err *e)
{
	memset(r, 0, sizeof *r);
	sim s;
	memset(&s, 0, sizeof s);
	s.dma_next_t = UINT64_MAX;
	s.c = c;
	s.src = src;
	s.sink = sink;
	s.r = r;
	s.e = e;
	int rc;
	if ((rc = isa_clock_derive(c, &s.clk, e)) != 0)
		return rc;
	r->clk = s.clk;
	if ((rc = setup(&s, e)) != 0)
		goto fail;
	if (sink && sink->begin) {
		event_info info = {s.clk.tick_hz, s.clk.exact, s.nq, src->n_insts};
		if ((rc = sink->begin(sink->ud, &info)) != 0) {
			asim_errorf(e, rc, "event sink failed to start");
			goto fail;
		}
	}
	uint64_t now = 0;
	for (uint32_t qi = 0; qi < s.nq && rc == 0; qi++)
		rc = try_issue(&s, qi, 0);
	while (rc == 0) {
		uint32_t dq = s.dma_next_q;   /* kept by pool_share: lowest qindex on a tie */
		if (dq && (s.hn == 0 || s.dma_next_t <= s.heap[0].t)) {
			now = s.dma_next_t;
			s.qs[dq].dlast = now;         /* for the descriptor prefetch of its next DMA */
			pool_leave(&s, dq, now);
			rc = complete(&s, dq, now, 1);
			continue;
		}
		if (s.hn == 0)
			break;
		hev ev = hpop(&s);
		ASIM_ASSERT(ev.t >= now);
		now = ev.t;
		uint32_t qi = HEV_Q(ev.key);
		switch (HEV_KIND(ev.key)) {
		case EV_DONE:
			rc = complete(&s, qi, now, 0);
			break;
		case EV_READY:
			s.qs[qi].state = QS_FREE;
			rc = try_issue(&s, qi, now);
			break;
		case EV_DMA_DATA:
			pool_enter(&s, qi, now);
			break;
		default:
			ASIM_ASSERT(0);
		}
	}
	if (rc) {
		if (e->code == 0)
			asim_errorf(e, rc, "%s", rc == ASIM_ENOMEM ? "out of memory while simulating"
			                                          : "event sink failed");
		goto fail;
	}
	if (s.remaining > 0) {
		rc = report_deadlock(&s, now, e);
		goto fail;
	}
	r->sbuf_peak_bytes = s.sbuf_ext * s.sbuf_parts;
	r->psum_peak_bytes = s.psum_ext * s.psum_parts;
	if (sink && sink->end && (rc = sink->end(sink->ud, r->end)) != 0) {
		asim_errorf(e, rc, "event sink failed to finish");
		goto fail;
	}
	if (st) {
		st->pieces = s.pnext;
		st->window_peak = s.window_peak;
	}
	sim_free(&s);
	return ASIM_OK;
fail:
	sim_free(&s);
	engine_result_fini(r);
	return rc;
}

/* ---- a program in memory as a source ------------------------------------------------------ */

#define ENGINE_SLICE 65536         /* instructions per piece of a program in memory */

static int mem_next(void *ud, const isa_inst **insts, size_t *n, asim_err *e)
{
	engine_mem *m = ud;
	(void)e;
	size_t k = m->p->n - m->at < ENGINE_SLICE ? m->p->n - m->at : ENGINE_SLICE;
	*insts = m->p->insts + m->at;
	*n = k;
	m->at += k;
	return ASIM_OK;
}

engine_source engine_mem_source(engine_mem *m, const isa_program *p, const uint64_t *qcount,
                                uint32_t n_gops)
{
	m->p = p;
	m->at = 0;
	engine_source src = {mem_next, NULL, m, p->source, p->n, p->nsems, n_gops, qcount, NULL, NULL};
	return src;
}

int engine_run(const chip *c, const isa_program *p, const event_sink *sink, engine_result *r,
               asim_err *e)
{
	memset(r, 0, sizeof *r);
	int rc = isa_check_report(p, c, e);
	if (rc)
		return rc;
	uint32_t nq = 3u + c->dma.engines;
	uint64_t *qcount = asim_calloc(nq, sizeof *qcount);
	if (qcount == NULL)
		return asim_errorf(e, ASIM_ENOMEM, "out of memory setting up the engine");
	uint32_t ngops = 0;
	for (size_t i = 0; i < p->n; i++) {   /* isa_check has vetted the queues */
		const isa_inst *in = &p->insts[i];
		if (in->gop != ISA_NO_GOP && in->gop + 1 > ngops)
			ngops = in->gop + 1;
		qcount[in->engine < ISA_ENG_DMA ? in->engine : 3u + in->queue]++;
	}
	engine_mem m;
	engine_source src = engine_mem_source(&m, p, qcount, ngops);
	rc = engine_run_source(c, &src, sink, r, NULL, e);
	asim_free(qcount);
	return rc;
}
