/*
 * engine_ref.c -- the reference engine: the straightforward discrete-event loop, kept as the
 * specification of sim/engine.c's optimised loop (see engine_int.h).
 *
 * This is the engine as it stood before the speed work (issue #5): it reads each instruction from
 * the program (isa_inst, ~184 bytes) when it issues, recomputes access-pattern measures per
 * instruction, and rescans the HBM pool on every change. It is slow and obviously right; the test
 * tests/test_engine_stream.c runs shipped graphs through both and requires identical event streams
 * (every field of every event, every hbm_rate call, the end tick and every statistic).
 * Do not optimise this file: change timing semantics here and in engine.c together.
 *
 * Semantics (from the original engine.c): see engine.h, docs/timing-model.md, and the comment at
 * the top of engine.c.
 */
#include "sim/engine_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sim/alloc.h"

enum { EV_DONE, EV_READY, EV_DMA_DATA };
enum { QS_FREE, QS_BLOCKED, QS_HELD };

typedef struct hev {
	uint64_t t;
	uint64_t seq;
	uint32_t q;
	uint32_t kind;
} hev;

typedef struct flight {
	uint64_t idx;
	uint64_t head, ready, start, end, occupy, cycles;
	uint64_t macs, flops;
	uint32_t stall_q;
	uint16_t stall_sem;
	uint8_t cause;
	const isa_inst *rel;       /* the signaller that met its last wait, or NULL */
} flight;

#define REF_PF_MAX 64              /* >= the largest dma.descriptors_in_flight (sim/chip.c) */

typedef struct queue {
	size_t first, n, head;     /* into order[] */
	int state;
	uint64_t head_t;           /* when the head became the head */
	uint64_t ready_t;          /* when the queue became free for the head */
	uint16_t wsem;             /* BLOCKED: semaphore waited for */
	uint32_t wval;
	int32_t next_waiter;       /* in wsem's waiter list */
	uint8_t cause;             /* why the head waited (last wake-up) */
	uint16_t cause_sem;
	uint32_t cause_q;
	const isa_inst *cause_inst;  /* the signaller that woke it */
	flight *ring;
	size_t rcap, rhead, rcount;
	/* DMA */
	int in_pool;               /* in its data phase */
	int hbm;
	int dend_ok;               /* dend was computed at the current rate */
	double rem, peak, rate;
	uint64_t last, dend;
	/* descriptor prefetch (isa_dma_fixed_left): the current burst of back-to-back descriptors */
	uint64_t pf_t[REF_PF_MAX];     /* data-phase starts, by index in the burst mod REF_PF_MAX */
	uint64_t pf_n, pf_t0, dlast;   /* descriptors in the burst, its start, the last DMA's end */
} queue;

typedef struct sim {
	const chip *c;
	const isa_program *p;
	const event_sink *sink;
	engine_result *r;
	isa_clock clk;
	uint32_t nq;
	queue *qs;
	uint32_t *order;           /* program indices grouped by queue (programs < 2^32 instructions) */
	uint64_t dma_next_t;       /* the earliest end of a data phase in the pool */
	uint32_t dma_next_q;       /* its queue, 0 when the pool is empty */
	uint32_t *sem;
	uint32_t *sem_last_q;
	int32_t *waiters;
	hev *heap;
	size_t hn, hcap;
	uint64_t seq;
	uint32_t *pool;            /* scratch: HBM transfers for water filling */
	double hbm_rate;           /* bytes per tick */
	uint64_t sbuf_ext, psum_ext;
	uint32_t sbuf_parts, psum_parts;
	uint64_t remaining;
	const isa_inst *pe_prev;   /* the last matmul issued on the PE array (serial folds) */
	uint64_t pe_prev_free;     /* when it released the array */
	int rc;
} sim;

/* ---- heap ------------------------------------------------------------------------------- */

static int hless(const hev *a, const hev *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static int hpush(sim *s, uint64_t t, uint32_t q, uint32_t kind)
{
	if (s->hn == s->hcap) {   /* never in practice: the heap is sized for the worst case */
		void *v = s->heap;
		if (asim_grow(&v, &s->hcap, s->hn + 1, sizeof *s->heap))
			return ASIM_ENOMEM;
		s->heap = v;
	}
	size_t i = s->hn++;
	hev ev = {t, s->seq++, q, kind};
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

static flight ring_pop(queue *q)
{
	ASIM_ASSERT(q->rcount > 0);
	flight f = q->ring[q->rhead];
	q->rhead = (q->rhead + 1) & (q->rcap - 1);
	q->rcount--;
	return f;
}

/* ---- HBM pool --------------------------------------------------------------------------- */

/* A transfer's rate: its end stands while the rate does (recomputing it from the bytes left would
 * give the same tick in exact arithmetic, and rounding drift in floating point). */
static void set_rate(queue *q, double r)
{
	if (q->rate != r)
		q->dend_ok = 0;
	q->rate = r;
}

static void pool_recompute(sim *s, uint64_t now)
{
	uint32_t k = 0;
	for (uint32_t qi = 3; qi < s->nq; qi++) {
		queue *q = &s->qs[qi];
		if (!q->in_pool)
			continue;
		q->rem -= q->rate * (double)(now - q->last);
		if (q->rem < 0)
			q->rem = 0;
		q->last = now;
		if (q->hbm) {
			/* insertion by (peak, qindex): deterministic water-filling order */
			uint32_t j = k++;
			while (j > 0 && s->qs[s->pool[j - 1]].peak > q->peak) {
				s->pool[j] = s->pool[j - 1];
				j--;
			}
			s->pool[j] = qi;
		} else {
			q->rate = q->peak;
		}
	}
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
		/* caps ascend: the fair share is within every remaining cap, so all get exactly it */
		for (; j < k; j++)
			set_rate(&s->qs[s->pool[j]], share);
	}
	if (s->sink && s->sink->hbm_rate) {
		double used = 0;
		for (uint32_t j = 0; j < k; j++)
			used += s->qs[s->pool[j]].rate;
		s->sink->hbm_rate(s->sink->ud, now, used);
	}
	s->dma_next_q = 0;
	s->dma_next_t = UINT64_MAX;
	for (uint32_t qi = 3; qi < s->nq; qi++) {
		queue *q = &s->qs[qi];
		if (q->in_pool) {
			ASIM_ASSERT(q->rate > 0);
			if (!q->dend_ok)   /* an unchanged rate keeps its end (no rounding drift) */
				q->dend = now + isa_ceil_div(q->rem, q->rate);
			q->dend_ok = 1;
			if (s->dma_next_q == 0 || q->dend < s->dma_next_t) {
				s->dma_next_q = qi;
				s->dma_next_t = q->dend;
			}
		}
	}
}

/* ---- issue and completion --------------------------------------------------------------- */

static int waits_met(const sim *s, const isa_inst *in, uint16_t *sem, uint32_t *val)
{
	for (int k = 0; k < 2; k++) {
		uint16_t w = in->wait_sem[k];
		if (w != ISA_NO_SEM && s->sem[w] < in->wait_val[k]) {
			*sem = w;
			*val = in->wait_val[k];
			return 0;
		}
	}
	return 1;
}

static void account_memory(sim *s, const isa_inst *in)
{
	const isa_ap *aps[3] = {&in->dst, &in->src[0], &in->src[1]};
	for (int k = 0; k < 3; k++) {
		const isa_ap *a = aps[k];
		if (a->mem == ISA_MEM_NONE)
			continue;
		uint64_t b = isa_ap_bytes(a);
		if (k == 0)
			s->r->bytes_written[a->mem] += b;
		else
			s->r->bytes_read[a->mem] += b;
		if (a->mem == ISA_MEM_SBUF || a->mem == ISA_MEM_PSUM) {
			uint64_t ext = isa_ap_extent(a);
			uint32_t parts = (uint32_t)a->part + a->nparts;
			uint64_t *e = a->mem == ISA_MEM_SBUF ? &s->sbuf_ext : &s->psum_ext;
			uint32_t *pp = a->mem == ISA_MEM_SBUF ? &s->sbuf_parts : &s->psum_parts;
			if (ext > *e)
				*e = ext;
			if (parts > *pp)
				*pp = parts;
		}
		if (in->gop != ISA_NO_GOP && a->mem == ISA_MEM_HBM)
			s->r->gops[in->gop].hbm_bytes += b;
	}
	if (in->opcode == ISA_OP_MATMUL && (in->flags & ISA_F_ACCUMULATE))
		s->r->bytes_read[ISA_MEM_PSUM] += isa_ap_bytes(&in->dst);
}

static int try_issue(sim *s, uint32_t qi, uint64_t now)
{
	queue *q = &s->qs[qi];
	if (q->state == QS_HELD || q->head >= q->first + q->n)
		return ASIM_OK;
	if (q->state == QS_FREE)
		q->ready_t = now;
	uint32_t idx = s->order[q->head];
	const isa_inst *in = &s->p->insts[idx];
	uint16_t ws;
	uint32_t wv;
	if (!waits_met(s, in, &ws, &wv)) {
		q->state = QS_BLOCKED;
		q->wsem = ws;
		q->wval = wv;
		q->next_waiter = s->waiters[ws];
		s->waiters[ws] = (int32_t)qi;
		return ASIM_OK;
	}
	isa_cost cost;
	isa_time_table[in->opcode](s->c, &s->clk, in, &cost);
	if (qi == 0 && in->opcode == ISA_OP_MATMUL) {
		/* serial-fold arrays: a back-to-back matmul may continue the previous fold */
		if (s->pe_prev != NULL && now == s->pe_prev_free
		    && isa_matmul_continues(s->c, s->pe_prev, in))
			isa_time_matmul_continue(s->c, &s->clk, in, &cost);
		s->pe_prev = in;
		s->pe_prev_free = now + cost.occupy;
	}
	flight *f = ring_push(q);
	if (f == NULL)
		return ASIM_ENOMEM;
	f->idx = idx;
	f->head = q->head_t;
	f->ready = q->ready_t;
	f->start = now;
	f->occupy = cost.occupy;
	f->cycles = cost.cycles;
	f->macs = cost.macs;
	f->flops = cost.flops;
	f->stall_sem = ISA_NO_SEM;
	f->stall_q = 0;
	f->cause = EVENT_STALL_NONE;
	f->rel = NULL;
	if (now > q->ready_t) {
		f->cause = q->cause;
		f->stall_sem = q->cause_sem;
		f->stall_q = q->cause_q;
		f->rel = q->cause_inst;
	}
	q->cause = EVENT_STALL_NONE;
	q->cause_inst = NULL;
	q->head++;
	q->head_t = now;
	q->state = QS_HELD;
	account_memory(s, in);
	if (in->engine == ISA_ENG_DMA && in->opcode == ISA_OP_DMA_COPY) {
		/* back to back with the previous descriptor of this queue (it ended now, the waits
		 * were met): the burst continues, and the fixed phase began earlier */
		if (q->pf_n > 0 && q->ready_t == now && q->dlast == now) {
			uint64_t D = s->c->dma.descriptors_in_flight;
			uint64_t from = q->pf_n + 1 >= D ? q->pf_t[(q->pf_n + 1 - D) % REF_PF_MAX] : q->pf_t0;
			cost.latency = isa_dma_fixed_left(s->c, cost.latency, now - from);
		} else {
			q->pf_n = 0;
			q->pf_t0 = now;
		}
		q->pf_t[q->pf_n % REF_PF_MAX] = now + cost.latency;   /* its data phase starts then */
		q->pf_n++;
		q->hbm = cost.hbm;
		q->peak = cost.peak;
		q->rem = cost.bytes;
		if (cost.latency > 0)
			return hpush(s, now + cost.latency, qi, EV_DMA_DATA);
		q->in_pool = 1;
		q->last = now;
		q->dend_ok = 0;
		pool_recompute(s, now);
		return ASIM_OK;
	}
	f->end = now + cost.latency;
	int rc = hpush(s, f->end, qi, EV_DONE);
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

static int complete(sim *s, uint32_t qi, uint64_t now, int release)
{
	queue *q = &s->qs[qi];
	flight f = ring_pop(q);
	if (qi >= 3)
		f.end = now;
	const isa_inst *in = &s->p->insts[f.idx];
	engine_result *r = s->r;
	engine_queue_stats *st = &r->q[qi];
	uint64_t held = qi >= 3 ? f.end - f.start : f.occupy;
	st->busy += held;
	st->stall += f.start - f.ready;
	st->insts++;
	st->cycles += f.cycles;
	if (f.end > st->last_end)
		st->last_end = f.end;
	if (f.end > r->end)
		r->end = f.end;
	r->macs += f.macs;
	r->flops += f.flops;
	if (in->gop != ISA_NO_GOP) {
		engine_gop_stats *g = &r->gops[in->gop];
		if (g->insts == 0 || f.start < g->start)
			g->start = f.start;
		if (f.end > g->end)
			g->end = f.end;
		g->busy += held;
		g->insts++;
		g->macs += f.macs;
		g->flops += f.flops;
	}
	s->remaining--;
	if (s->sink && s->sink->inst) {
		event_inst ev;
		memset(&ev, 0, sizeof ev);
		ev.inst = in;
		ev.releaser = f.rel;
		ev.index = f.idx;
		ev.opcode = in->opcode;
		ev.engine = in->engine;
		ev.queue = in->queue;
		ev.qindex = qi;
		ev.gop = in->gop;
		ev.line = in->line;
		ev.dtype = in->src[0].mem != ISA_MEM_NONE ? in->src[0].dtype : in->dst.dtype;
		ev.head = f.head;
		ev.ready = f.ready;
		ev.start = f.start;
		ev.end = f.end;
		ev.occupy = held;
		ev.cycles = f.cycles;
		ev.stall = f.start - f.ready;
		ev.stall_cause = f.cause;
		ev.stall_sem = f.stall_sem;
		ev.stall_qindex = f.stall_q;
		const isa_ap *aps[3] = {&in->dst, &in->src[0], &in->src[1]};
		for (int k = 0; k < 3; k++) {
			if (aps[k]->mem == ISA_MEM_NONE)
				continue;
			if (k == 0)
				ev.bytes_written[aps[k]->mem] += isa_ap_bytes(aps[k]);
			else
				ev.bytes_read[aps[k]->mem] += isa_ap_bytes(aps[k]);
		}
		if (in->opcode == ISA_OP_MATMUL && (in->flags & ISA_F_ACCUMULATE))
			ev.bytes_read[ISA_MEM_PSUM] += isa_ap_bytes(&in->dst);
		ev.macs = f.macs;
		ev.flops = f.flops;
		ev.horizon = now;   /* this one was popped: the rest of each ring is in flight */
		for (uint32_t k = 0; k < s->nq; k++)
			if (s->qs[k].rcount > 0 && s->qs[k].ring[s->qs[k].rhead].start < ev.horizon)
				ev.horizon = s->qs[k].ring[s->qs[k].rhead].start;
		int rc = s->sink->inst(s->sink->ud, &ev);
		if (rc)
			return rc;
	}
	if (in->signal != ISA_NO_SEM) {
		int rc = signal_sem(s, in->signal, qi, in, now);
		if (rc)
			return rc;
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
	const char *src = s->p->source ? s->p->source : "program";
	uint32_t first_line = 0;
	len += (size_t)snprintf(msg + len, sizeof msg - len, "deadlock at %.3f ns: no queue can progress;",
	                        isa_ticks_to_ns(&s->clk, now));
	for (uint32_t qi = 0; qi < s->nq && len < sizeof msg; qi++) {
		queue *q = &s->qs[qi];
		if (q->head >= q->first + q->n)
			continue;
		const isa_inst *in = &s->p->insts[s->order[q->head]];
		char name[16];
		engine_queue_name(qi, name, sizeof name);
		if (first_line == 0)
			first_line = in->line;
		if (q->state == QS_BLOCKED)
			len += (size_t)snprintf(msg + len, sizeof msg - len,
			                        " %s blocked at instruction %" PRIu32 " (%s, line %u) waiting for s%u >= %u (s%u = %u);",
			                        name, s->order[q->head], isa_opcode_names[in->opcode], in->line,
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
		for (uint32_t i = 0; i < s->nq; i++)
			asim_free(s->qs[i].ring);
	asim_free(s->qs);
	asim_free(s->order);
	asim_free(s->sem);
	asim_free(s->sem_last_q);
	asim_free(s->waiters);
	asim_free(s->heap);
	asim_free(s->pool);
}

static int setup(sim *s, asim_err *e)
{
	const isa_program *p = s->p;
	const chip *c = s->c;
	engine_result *r = s->r;
	s->nq = 3u + c->dma.engines;
	uint32_t ngops = 0;
	uint64_t count[3 + 256] = {0};   /* instructions per queue: one pass over the program */
	for (size_t i = 0; i < p->n; i++) {
		const isa_inst *in = &p->insts[i];
		if (in->gop != ISA_NO_GOP && in->gop + 1 > ngops)
			ngops = in->gop + 1;
		count[isa_queue_index(in)]++;
	}
	if (ngops > (1u << 24))
		return asim_errorf(e, ASIM_ERANGE, "%s: graph-op index %u is too large (limit 2^24)",
		                   p->source ? p->source : "program", ngops - 1);
	size_t nsem = p->nsems ? p->nsems : 1;
	s->qs = asim_calloc(s->nq, sizeof *s->qs);
	if (p->n > UINT32_MAX)
		return asim_errorf(e, ASIM_ERANGE, "a program of more than 2^32 instructions");
	s->order = asim_malloc((p->n ? p->n : 1) * sizeof *s->order);
	s->sem = asim_calloc(nsem, sizeof *s->sem);
	s->sem_last_q = asim_calloc(nsem, sizeof *s->sem_last_q);
	s->waiters = asim_calloc(nsem, sizeof *s->waiters);
	s->pool = asim_calloc(s->nq, sizeof *s->pool);
	r->q = asim_calloc(s->nq, sizeof *r->q);
	r->gops = asim_calloc(ngops ? ngops : 1, sizeof *r->gops);
	s->hcap = 4u * s->nq + c->pe.fill_cycles + c->pe.drain_cycles + 64;
	s->heap = asim_calloc(s->hcap, sizeof *s->heap);
	if (!s->qs || !s->order || !s->sem || !s->sem_last_q || !s->waiters || !s->pool || !r->q ||
	    !r->gops || !s->heap)
		return asim_errorf(e, ASIM_ENOMEM, "out of memory setting up the engine");
	r->n_queues = s->nq;
	r->n_gops = ngops;
	r->n_insts = p->n;
	for (size_t i = 0; i < nsem; i++)
		s->waiters[i] = -1;
	/* counting sort of the instructions by queue, keeping program order within a queue */
	for (uint32_t qi = 0; qi < s->nq; qi++)
		s->qs[qi].n = (size_t)count[qi];
	size_t at = 0;
	for (uint32_t qi = 0; qi < s->nq; qi++) {
		queue *q = &s->qs[qi];
		q->first = q->head = at;
		at += q->n;
		q->next_waiter = -1;
		q->rcap = qi == 0 ? pow2_at_least((size_t)c->pe.fill_cycles + c->pe.drain_cycles + 4) : 4;
		q->ring = asim_calloc(q->rcap, sizeof *q->ring);
		if (q->ring == NULL)
			return asim_errorf(e, ASIM_ENOMEM, "out of memory setting up the engine");
		q->n = 0;
	}
	for (size_t i = 0; i < p->n; i++) {
		queue *q = &s->qs[isa_queue_index(&p->insts[i])];
		s->order[q->first + q->n++] = (uint32_t)i;
	}
	s->hbm_rate = c->hbm.bandwidth_gb_per_s * 1e9 / s->clk.tick_hz;
	s->remaining = p->n;
	return ASIM_OK;
}

int engine_run_reference(const chip *c, const isa_program *p, const event_sink *sink, engine_result *r,
               asim_err *e)
{
	memset(r, 0, sizeof *r);
	int rc = isa_check_report(p, c, e);
	if (rc)
		return rc;
	sim s;
	memset(&s, 0, sizeof s);
	s.dma_next_t = UINT64_MAX;
	s.c = c;
	s.p = p;
	s.sink = sink;
	s.r = r;
	if ((rc = isa_clock_derive(c, &s.clk, e)) != 0)
		return rc;
	r->clk = s.clk;
	if ((rc = setup(&s, e)) != 0)
		goto fail;
	if (sink && sink->begin) {
		event_info info = {s.clk.tick_hz, s.clk.exact, s.nq, p->n};
		if ((rc = sink->begin(sink->ud, &info)) != 0) {
			asim_errorf(e, rc, "event sink failed to start");
			goto fail;
		}
	}
	uint64_t now = 0;
	for (uint32_t qi = 0; qi < s.nq && rc == 0; qi++)
		rc = try_issue(&s, qi, 0);
	while (rc == 0) {
		uint64_t td = s.dma_next_t;   /* kept by pool_recompute: lowest qindex on a tie */
		uint32_t dq = s.dma_next_q;
		if (dq && (s.hn == 0 || td <= s.heap[0].t)) {
			now = td;
			pool_recompute(&s, now);    /* settle the others' bytes up to now */
			s.qs[dq].in_pool = 0;
			s.qs[dq].dlast = now;
			pool_recompute(&s, now);    /* and share without this one */
			rc = complete(&s, dq, now, 1);
			continue;
		}
		if (s.hn == 0)
			break;
		hev ev = hpop(&s);
		ASIM_ASSERT(ev.t >= now);
		now = ev.t;
		queue *q = &s.qs[ev.q];
		switch (ev.kind) {
		case EV_DONE:
			rc = complete(&s, ev.q, now, 0);
			break;
		case EV_READY:
			q->state = QS_FREE;
			rc = try_issue(&s, ev.q, now);
			break;
		case EV_DMA_DATA:
			q->in_pool = 1;
			q->last = now;
			q->dend_ok = 0;
			pool_recompute(&s, now);
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
	sim_free(&s);
	return ASIM_OK;
fail:
	sim_free(&s);
	engine_result_fini(r);
	return rc;
}
