/*
 * rungraph.c -- lower a graph and run it, keeping the program or streaming it (see rungraph.h).
 *
 * Streaming, with two threads:
 *
 *     producer (lower_graph_emit)              engine (engine_run_source, the caller's thread)
 *       fills a piece of `piece` instructions    next(): takes the oldest ready piece, waiting
 *       hands it over when full -- waiting         for one if none is ready
 *       while RUNGRAPH_AHEAD pieces are          release(): the piece's buffer goes to the free
 *       ready and not yet taken                    list, for the producer to fill again
 *
 * The producer never runs more than RUNGRAPH_AHEAD pieces ahead of what the engine has taken, and
 * the engine takes a piece only when a queue needs its next instruction, so memory holds the
 * engine's window (from the oldest instruction not yet completed to the newest one needed) plus a
 * few pieces. The window is small when every queue's instructions are spread through the
 * program; a queue used rarely (e.g. the scalar engine for a few activations in a long run of
 * matmuls) would stretch it, so the prepare pass keeps such queues' instructions (the side store)
 * and the engine reads them from there.
 *
 * Determinism: the pieces hold the same instructions in the same order whatever the threads'
 * timing, and the engine's results do not depend on where pieces end.
 */
#include "sim/rungraph.h"

#include <inttypes.h>
#include <pthread.h>
#include <string.h>

#include "sim/alloc.h"

#define RUNGRAPH_AHEAD 4           /* ready pieces the producer may hold before the engine takes them */

typedef struct side_q {
	isa_inst *in;
	uint64_t *idx;
	size_t n, cap;
	int dense;                     /* dropped: too many instructions for the store */
} side_q;

struct rungraph {
	const graph *g;
	const chip *c;
	lower_opts lo;
	rungraph_opts o;
	rungraph_info info;
	uint32_t nq, nsems;
	uint64_t *qcount;
	/* prepare */
	isa_program prog;
	int resident;
	side_q *side;
	uint64_t side_total;
	/* streaming */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	isa_inst **ready;              /* ring of RUNGRAPH_AHEAD full pieces */
	size_t *ready_n;
	size_t rhead, rcount;
	isa_inst **spare;              /* buffers given back */
	size_t nspare, cspare;
	isa_inst *cur;                 /* the producer's piece being filled */
	size_t curn;
	uint64_t produced;             /* instructions lowered so far by the producer */
	int done, abort, prc;          /* producer finished / told to stop / its result */
	asim_err *e;                   /* prepare's */
	asim_err perr;
	int ran;
};

/* ---- prepare: count, keep, side store --------------------------------------------------------- */

static int side_add(rungraph *rg, uint32_t q, const isa_inst *in, uint64_t idx)
{
	side_q *sq = &rg->side[q];
	if (sq->dense)
		return ASIM_OK;
	if (sq->n == sq->cap) {   /* the two arrays grow together */
		size_t cap = sq->cap ? 2 * sq->cap : 256;
		isa_inst *in2 = asim_reallocarray(sq->in, cap, sizeof *sq->in);
		if (in2 == NULL)
			return ASIM_ENOMEM;
		sq->in = in2;
		uint64_t *idx2 = asim_reallocarray(sq->idx, cap, sizeof *sq->idx);
		if (idx2 == NULL)
			return ASIM_ENOMEM;
		sq->idx = idx2;
		sq->cap = cap;
	}
	sq->in[sq->n] = *in;
	sq->idx[sq->n++] = idx;
	rg->side_total++;
	while (rg->side_total > rg->o.side_max) {   /* drop the queue that holds the most */
		uint32_t big = 0;
		for (uint32_t k = 1; k < rg->nq; k++)
			if (rg->side[k].n > rg->side[big].n)
				big = k;
		side_q *d = &rg->side[big];
		rg->side_total -= d->n;
		asim_free(d->in);
		asim_free(d->idx);
		memset(d, 0, sizeof *d);
		d->dense = 1;
	}
	return ASIM_OK;
}

static int prepare_emit(void *ud, const isa_inst *in)
{
	rungraph *rg = ud;
	uint32_t q = isa_queue_index(in);
	ASIM_ASSERT(q < rg->nq);       /* the lowering uses the chip's queues only */
	uint64_t idx = rg->info.n_insts++;
	rg->qcount[q]++;
	if (in->gop != ISA_NO_GOP && in->gop + 1 > rg->info.n_gops)
		rg->info.n_gops = in->gop + 1;
	if (rg->o.scan)
		rg->o.scan(rg->o.scan_ud, in);
	if (rg->resident) {
		isa_program *p = &rg->prog;
		if (p->n < rg->o.resident_max) {
			/* checked here, as engine_run's isa_check would (a streamed program is checked
			 * by the producer instead, in parallel with the engine) */
			isa_problem pb;
			int rc = isa_check_inst(in, idx, rg->nsems, rg->c, &pb);
			if (rc)
				return asim_errorf(rg->e, rc, "%s: instruction %" PRIu64 ": %s",
				                   rg->g->name ? rg->g->name : "graph", idx, pb.msg);
			if (asim_grow((void **)&p->insts, &p->cap, p->n + 1, sizeof *p->insts))
				return ASIM_ENOMEM;
			p->insts[p->n++] = *in;
			return ASIM_OK;
		}
		/* too large to keep: from here on, only the side store */
		rg->resident = 0;
		for (size_t i = 0; i < p->n && !rg->o.no_side; i++) {
			int rc = side_add(rg, isa_queue_index(&p->insts[i]), &p->insts[i], i);
			if (rc)
				return rc;
		}
		asim_free(p->insts);
		p->insts = NULL;
		p->n = p->cap = 0;
	}
	return rg->o.no_side ? ASIM_OK : side_add(rg, q, in, idx);
}

void rungraph_free(rungraph *rg)
{
	if (rg == NULL)
		return;
	isa_program_fini(&rg->prog);
	if (rg->side)
		for (uint32_t q = 0; q < rg->nq; q++) {
			asim_free(rg->side[q].in);
			asim_free(rg->side[q].idx);
		}
	asim_free(rg->side);
	asim_free(rg->qcount);
	asim_free(rg);
}

int rungraph_prepare(rungraph **out, const graph *g, const chip *c, const lower_opts *lo,
                     const rungraph_opts *o, asim_err *e)
{
	*out = NULL;
	rungraph *rg = asim_calloc(1, sizeof *rg);
	if (rg == NULL)
		return asim_errorf(e, ASIM_ENOMEM, "out of memory");
	rg->g = g;
	rg->c = c;
	if (lo)
		rg->lo = *lo;
	if (o)
		rg->o = *o;
	if (rg->o.resident_max == 0)
		rg->o.resident_max = RUNGRAPH_RESIDENT_MAX;
	if (rg->o.piece == 0)
		rg->o.piece = RUNGRAPH_PIECE;
	if (rg->o.side_max == 0)
		rg->o.side_max = RUNGRAPH_SIDE_MAX;
	rg->nq = 3u + c->dma.engines;
	rg->nsems = lower_semaphores(c);
	rg->resident = 1;
	isa_program_init(&rg->prog);
	rg->qcount = asim_calloc(rg->nq, sizeof *rg->qcount);
	rg->side = asim_calloc(rg->nq, sizeof *rg->side);
	if (rg->qcount == NULL || rg->side == NULL) {
		rungraph_free(rg);
		return asim_errorf(e, ASIM_ENOMEM, "out of memory");
	}
	rg->e = e;
	int rc = lower_graph_emit(g, c, &rg->lo, prepare_emit, rg, e);
	if (rc == 0 && rg->resident) {
		rg->prog.nsems = rg->nsems;
		rg->prog.dma_queues = rg->nsems - 3;
		rg->prog.source = asim_strdup(g->name ? g->name : g->source ? g->source : "graph");
		if (rg->prog.source == NULL)
			rc = ASIM_ENOMEM;
	}
	if (rc) {
		if (e->code == 0)
			asim_errorf(e, rc, "out of memory while lowering '%s'", g->name ? g->name : "graph");
		rungraph_free(rg);
		return rc;
	}
	rg->info.streamed = !rg->resident;
	if (rg->info.streamed)
		for (uint32_t q = 0; q < rg->nq; q++) {
			side_q *sq = &rg->side[q];
			if (sq->dense || sq->n == 0)
				continue;
			ASIM_ASSERT(sq->n == rg->qcount[q]);
			rg->info.side_insts += sq->n;
			rg->info.side_queues++;
		}
	*out = rg;
	return ASIM_OK;
}

const isa_program *rungraph_program(const rungraph *rg)
{
	return rg->resident ? &rg->prog : NULL;
}

const rungraph_info *rungraph_get_info(const rungraph *rg)
{
	return &rg->info;
}

/* ---- streaming ---------------------------------------------------------------------------------- */

/* Producer: hand the current piece over (waiting while RUNGRAPH_AHEAD are ready), take a buffer. */
static int hand_over(rungraph *rg)
{
	pthread_mutex_lock(&rg->mu);
	while (rg->rcount == RUNGRAPH_AHEAD && !rg->abort)
		pthread_cond_wait(&rg->cv, &rg->mu);
	if (rg->abort) {
		pthread_mutex_unlock(&rg->mu);
		return ASIM_EINTERRUPTED;
	}
	size_t k = (rg->rhead + rg->rcount++) % RUNGRAPH_AHEAD;
	rg->ready[k] = rg->cur;
	rg->ready_n[k] = rg->curn;
	rg->cur = rg->nspare ? rg->spare[--rg->nspare] : NULL;
	pthread_cond_broadcast(&rg->cv);
	pthread_mutex_unlock(&rg->mu);
	rg->curn = 0;
	if (rg->cur == NULL && (rg->cur = asim_malloc(rg->o.piece * sizeof *rg->cur)) == NULL)
		return ASIM_ENOMEM;
	return ASIM_OK;
}

/* Producer: check each instruction against the chip as engine_run's isa_check would (here, in the
 * producer's thread, off the engine's path), then add it to the piece. */
static int produce_emit(void *ud, const isa_inst *in)
{
	rungraph *rg = ud;
	isa_problem pb;
	uint64_t idx = rg->produced++;
	int rc = isa_check_inst(in, idx, rg->nsems, rg->c, &pb);
	if (rc)
		return asim_errorf(&rg->perr, rc, "%s: instruction %" PRIu64 ": %s",
		                   rg->g->name ? rg->g->name : "graph", idx, pb.msg);
	rg->cur[rg->curn++] = *in;
	return rg->curn == rg->o.piece ? hand_over(rg) : ASIM_OK;
}

static void *producer(void *ud)
{
	rungraph *rg = ud;
	int rc = ASIM_OK;
	if ((rg->cur = asim_malloc(rg->o.piece * sizeof *rg->cur)) == NULL)
		rc = asim_errorf(&rg->perr, ASIM_ENOMEM, "out of memory while lowering");
	if (rc == 0)
		rc = lower_graph_emit(rg->g, rg->c, &rg->lo, produce_emit, rg, &rg->perr);
	if (rc == 0 && rg->curn > 0)
		rc = hand_over(rg);
	asim_free(rg->cur);
	rg->cur = NULL;
	pthread_mutex_lock(&rg->mu);
	rg->done = 1;
	rg->prc = rc;
	pthread_cond_broadcast(&rg->cv);
	pthread_mutex_unlock(&rg->mu);
	return NULL;
}

static int stream_next(void *ud, const isa_inst **insts, size_t *n, asim_err *e)
{
	rungraph *rg = ud;
	pthread_mutex_lock(&rg->mu);
	while (rg->rcount == 0 && !rg->done)
		pthread_cond_wait(&rg->cv, &rg->mu);
	int rc = ASIM_OK;
	if (rg->rcount > 0) {
		*insts = rg->ready[rg->rhead];
		*n = rg->ready_n[rg->rhead];
		rg->rhead = (rg->rhead + 1) % RUNGRAPH_AHEAD;
		rg->rcount--;
		pthread_cond_broadcast(&rg->cv);
	} else {
		*insts = NULL;
		*n = 0;
		if ((rc = rg->prc) != 0)
			*e = rg->perr;
	}
	pthread_mutex_unlock(&rg->mu);
	return rc;
}

static void stream_release(void *ud, const isa_inst *insts)
{
	rungraph *rg = ud;
	pthread_mutex_lock(&rg->mu);
	if (rg->nspare == rg->cspare) {
		void *v = rg->spare;
		size_t cap = rg->cspare;
		if (asim_grow(&v, &cap, rg->nspare + 1, sizeof *rg->spare) == 0) {
			rg->spare = v;
			rg->cspare = cap;
		}
	}
	if (rg->nspare < rg->cspare)
		rg->spare[rg->nspare++] = (isa_inst *)(uintptr_t)insts;
	else
		asim_free((void *)(uintptr_t)insts);
	pthread_mutex_unlock(&rg->mu);
}

static int run_streamed(rungraph *rg, const event_sink *sink, engine_result *r, asim_err *e)
{
	const isa_inst **sides = asim_calloc(rg->nq, sizeof *sides);
	const uint64_t **side_idx = asim_calloc(rg->nq, sizeof *side_idx);
	rg->ready = asim_calloc(RUNGRAPH_AHEAD, sizeof *rg->ready);
	rg->ready_n = asim_calloc(RUNGRAPH_AHEAD, sizeof *rg->ready_n);
	if (sides == NULL || side_idx == NULL || rg->ready == NULL || rg->ready_n == NULL) {
		asim_free(sides);
		asim_free(side_idx);
		asim_free(rg->ready);
		asim_free(rg->ready_n);
		return asim_errorf(e, ASIM_ENOMEM, "out of memory");
	}
	for (uint32_t q = 0; q < rg->nq; q++)
		if (!rg->side[q].dense && rg->side[q].n > 0) {
			sides[q] = rg->side[q].in;
			side_idx[q] = rg->side[q].idx;
		}
	asim_err_init(&rg->perr);
	pthread_mutex_init(&rg->mu, NULL);
	pthread_cond_init(&rg->cv, NULL);
	pthread_t th;
	int rc;
	if (pthread_create(&th, NULL, producer, rg) != 0) {
		rc = asim_errorf(e, ASIM_ENOMEM, "cannot start the lowering thread");
	} else {
		const char *name = rg->g->name ? rg->g->name : rg->g->source ? rg->g->source : "graph";
		engine_source src = {stream_next, stream_release, rg, name, rg->info.n_insts, rg->nsems,
		                     rg->info.n_gops, rg->qcount, sides, side_idx};
		engine_stats st = {0, 0};
		rc = engine_run_source(rg->c, &src, sink, r, &st, e);
		rg->info.pieces = st.pieces;
		rg->info.window_peak = st.window_peak;
		pthread_mutex_lock(&rg->mu);
		rg->abort = 1;             /* a producer still lowering (the engine failed) stops */
		pthread_cond_broadcast(&rg->cv);
		pthread_mutex_unlock(&rg->mu);
		pthread_join(th, NULL);
	}
	for (size_t i = 0; i < rg->rcount; i++)
		asim_free(rg->ready[(rg->rhead + i) % RUNGRAPH_AHEAD]);
	for (size_t i = 0; i < rg->nspare; i++)
		asim_free(rg->spare[i]);
	asim_free(rg->spare);
	asim_free(sides);
	asim_free(side_idx);
	asim_free(rg->ready);
	asim_free(rg->ready_n);
	rg->spare = NULL;
	rg->ready = NULL;
	rg->ready_n = NULL;
	rg->nspare = rg->cspare = rg->rcount = 0;
	pthread_cond_destroy(&rg->cv);
	pthread_mutex_destroy(&rg->mu);
	return rc;
}

int rungraph_run(rungraph *rg, const event_sink *sink, engine_result *r, asim_err *e)
{
	ASIM_ASSERT(!rg->ran);         /* the producer's state is for one run */
	rg->ran = 1;
	if (rg->resident) {   /* checked while lowering, counted too */
		engine_mem m;
		engine_source src = engine_mem_source(&m, &rg->prog, rg->qcount, rg->info.n_gops);
		return engine_run_source(rg->c, &src, sink, r, NULL, e);
	}
	return run_streamed(rg, sink, r, e);
}

int rungraph_simulate(const graph *g, const chip *c, const event_sink *sink, engine_result *r,
                      asim_err *e)
{
	rungraph *rg;
	lower_opts lo = {0};
	int rc = rungraph_prepare(&rg, g, c, &lo, NULL, e);
	if (rc == 0) {
		rc = rungraph_run(rg, sink, r, e);
		rungraph_free(rg);
	}
	return rc;
}
