/*
 * tracer.c -- the run's event sink: per-op rows, energy, occupancy sweep, Perfetto JSON, memory
 * CSV (see tracer.h for the model, docs/traces.md for the outputs).
 *
 * Per event (tracer_inst), in this order:
 *   1. energy by component and dtype;
 *   2. the op's accumulation (oprow_acc), its stall class (stall_class below), its state;
 *   3. the X event (trace level inst);
 *   4. its dynamic energy spread over the power windows it overlaps;
 *   5. the sweep up to the event's horizon: change points before it are final, in time order.
 *
 * Op states: UNSEEN → SEEN (an instruction reported; its first start may still move earlier,
 * never before the horizon) → ACTIVE (the sweep passed its first start) → DONE (the sweep passed
 * its last end; only once every instruction of the op is reported). `track` lists SEEN and ACTIVE
 * ops: few at a time (those in progress around the present).
 */
#include "traces/tracer.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/alloc.h"
#include "traces/oprow.h"
#include "traces/outfile.h"
#include "traces/perfetto.h"
#include "traces/textfmt.h"

enum { OP_UNSEEN, OP_SEEN, OP_ACTIVE, OP_DONE };
enum { FP_SBUF, FP_PSUM, FP_COUNT };

#define POWER_WINDOW_NS 100

typedef struct fp_list {          /* disjoint sorted byte ranges [iv[2i], iv[2i+1]) */
	uint64_t *iv;
	uint32_t n, cap;
	uint32_t parts;               /* one past the highest partition touched */
} fp_list;

typedef struct sample {
	uint64_t t, sbuf, psum, live;
} sample;

struct tracer {
	const chip *c;
	const graph *g;
	tracer_opts o;
	isa_clock clk;
	textfmt_time tf;
	uint32_t nq, ngops;
	uint64_t *qinsts;             /* instructions per queue */
	/* per op */
	oprow_acc *acc;
	uint64_t *remaining;
	uint8_t *state;
	fp_list *fp[FP_COUNT];
	uint32_t *track;
	size_t ntrack, ctrack;
	/* liveness (graph only) */
	uint32_t *root;               /* per tensor: the tensor whose bytes it is (reshape aliases) */
	uint32_t *cons_left;          /* per root: consumer ops (with instructions) not yet ended */
	uint8_t *alloc;               /* per root: its bytes are counted as live */
	uint8_t *keep;                /* per root: live to the end of the run (outputs) */
	uint64_t live;
	/* sweep */
	uint64_t next_cp;             /* no change point lies before this (UINT64_MAX: none known) */
	uint64_t *scratch;
	size_t cscratch;
	sample pend;
	int have_pend;
	sample last_out;
	int have_last_out;
	int have_peak;
	/* outputs */
	int want_trace, want_ops, want_mem;
	outfile ftrace, fops, fmem;
	perfetto *pf;
	textfmt_buf *mw;
	uint64_t *lane_end;
	uint32_t nlanes, clanes;
	/* power windows [i·W, (i+1)·W), i >= wbase, pending */
	uint64_t wticks, wbase;
	double *win;
	size_t wfront, nwin, cwin;
	double power_last;
	int power_any;
	char (*qname)[16];            /* queue names, cached */
	/* HBM bandwidth counter */
	int hbm_pend;
	uint64_t hbm_t;
	double hbm_v, hbm_last;
	int hbm_any;
	tracer_summary sum;
	int rc;
};

/* ---- small helpers ----------------------------------------------------------------------- */

static int grow(tracer *t, void **ptr, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	if (asim_grow(ptr, cap, need, elem)) {
		t->rc = ASIM_ENOMEM;
		return -1;
	}
	return 0;
}

static void fp_add(tracer *t, fp_list *l, uint64_t a, uint64_t b, uint32_t parts)
{
	if (parts > l->parts)
		l->parts = parts;
	if (b <= a)
		return;
	/* first range whose end >= a (it may merge) */
	uint32_t lo = 0, hi = l->n;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (l->iv[2 * mid + 1] < a)
			lo = mid + 1;
		else
			hi = mid;
	}
	uint32_t j = lo;
	while (j < l->n && l->iv[2 * j] <= b) {   /* overlapping or touching: absorb */
		if (l->iv[2 * j] < a)
			a = l->iv[2 * j];
		if (l->iv[2 * j + 1] > b)
			b = l->iv[2 * j + 1];
		j++;
	}
	uint32_t removed = j - lo;
	if (removed == 0) {
		if (l->n == l->cap) {
			size_t cap = 2 * (size_t)l->cap;
			void *v = l->iv;
			if (grow(t, &v, &cap, 2 * ((size_t)l->n + 1), sizeof *l->iv))
				return;
			l->iv = v;
			l->cap = (uint32_t)(cap / 2);
		}
		memmove(l->iv + 2 * (lo + 1), l->iv + 2 * lo, (size_t)(l->n - lo) * 2 * sizeof *l->iv);
		l->n++;
	} else if (removed > 1) {
		memmove(l->iv + 2 * (lo + 1), l->iv + 2 * j, (size_t)(l->n - j) * 2 * sizeof *l->iv);
		l->n -= removed - 1;
	}
	l->iv[2 * lo] = a;
	l->iv[2 * lo + 1] = b;
}

static uint64_t fp_bytes(const fp_list *l)
{
	uint64_t s = 0;
	for (uint32_t i = 0; i < l->n; i++)
		s += l->iv[2 * i + 1] - l->iv[2 * i];
	return s * l->parts;
}

static int ap_overlap(const isa_ap *x, const isa_ap *y)
{
	if (x->mem == ISA_MEM_NONE || x->mem != y->mem)
		return 0;
	if (x->mem != ISA_MEM_HBM &&
	    !((uint32_t)x->part < (uint32_t)y->part + y->nparts && (uint32_t)y->part < (uint32_t)x->part + x->nparts))
		return 0;
	return x->offset < isa_ap_extent(y) && y->offset < isa_ap_extent(x);
}

/* Why `ev` waited: data from a DMA, data from a compute engine, or space (its write region was
 * being read -- or written -- by the instruction whose signal released it, ev->releaser, which the
 * engine reports). */
static int stall_class(const tracer *t, const event_inst *ev)
{
	(void)t;
	if (ev->stall == 0 || ev->stall_cause == EVENT_STALL_NONE)
		return -1;
	int dflt = ev->stall_qindex >= 3 ? OPROW_STALL_DMA : OPROW_STALL_ENGINE;
	const isa_inst *in = ev->inst, *src = ev->releaser;
	if (src == NULL)
		return dflt;
	if (ap_overlap(&src->dst, &in->src[0]) || ap_overlap(&src->dst, &in->src[1]))
		return dflt;   /* read after write: waiting for data */
	if (ap_overlap(&in->dst, &src->src[0]) || ap_overlap(&in->dst, &src->src[1]) ||
	    ap_overlap(&in->dst, &src->dst)) {
		if (in->dst.mem == ISA_MEM_SBUF)
			return OPROW_STALL_SBUF_SPACE;
		if (in->dst.mem == ISA_MEM_PSUM)
			return OPROW_STALL_PSUM_SPACE;
	}
	return dflt;
}

static const char *op_name(const tracer *t, uint32_t g, char *buf, size_t n)
{
	if (t->g && g < t->g->n_ops)
		return t->g->ops[g].name;
	snprintf(buf, n, "op %" PRIu32, g);
	return buf;
}

/* ---- memory CSV and counters ------------------------------------------------------------------ */

static void out_sample(tracer *t, const sample *s)
{
	/* peaks over final values */
	if (s->sbuf > t->sum.sbuf_occupancy_peak_bytes)
		t->sum.sbuf_occupancy_peak_bytes = s->sbuf;
	if (s->psum > t->sum.psum_occupancy_peak_bytes)
		t->sum.psum_occupancy_peak_bytes = s->psum;
	if (t->g && (!t->have_peak || s->live > t->sum.peak_activation_bytes)) {
		t->sum.peak_activation_bytes = s->live;
		t->sum.peak_activation_tick = s->t;
		t->have_peak = 1;
	}
	const sample *l = t->have_last_out ? &t->last_out : NULL;
	if (l && l->sbuf == s->sbuf && l->psum == s->psum && l->live == s->live)
		return;
	if (t->mw) {
		textfmt_buf *w = t->mw;
		textfmt_ns(w, &t->tf, s->t);
		textfmt_putc(w, ',');
		textfmt_u64(w, s->sbuf);
		textfmt_putc(w, ',');
		textfmt_u64(w, s->psum);
		textfmt_putc(w, ',');
		if (t->g) {
			textfmt_u64(w, t->sum.weight_bytes + s->live);
			textfmt_putc(w, ',');
			textfmt_u64(w, t->sum.weight_bytes);
			textfmt_putc(w, ',');
			textfmt_u64(w, s->live);
		} else {
			textfmt_putc(w, ',');
		}
		textfmt_putc(w, '\n');
	}
	if (t->pf) {
		if (!l || l->sbuf != s->sbuf)
			perfetto_counter(t->pf, 0, "sbuf_bytes", s->t, (double)s->sbuf, 0);
		if (!l || l->psum != s->psum)
			perfetto_counter(t->pf, 0, "psum_bytes", s->t, (double)s->psum, 0);
		if (t->g && (!l || l->live != s->live))
			perfetto_counter(t->pf, 0, "hbm_footprint_bytes", s->t,
			                 (double)(t->sum.weight_bytes + s->live), 0);
	}
	t->last_out = *s;
	t->have_last_out = 1;
}

static void put_sample(tracer *t, uint64_t tick, uint64_t sbuf, uint64_t psum)
{
	if (t->have_pend && t->pend.t != tick)
		out_sample(t, &t->pend);
	t->pend.t = tick;
	t->pend.sbuf = sbuf;
	t->pend.psum = psum;
	t->pend.live = t->live;
	t->have_pend = 1;
}

/* Union of the footprints of the ACTIVE ops in memory m. */
static uint64_t union_bytes(tracer *t, int m)
{
	size_t n = 0;
	uint32_t parts = 0;
	for (size_t i = 0; i < t->ntrack; i++) {
		uint32_t g = t->track[i];
		if (t->state[g] != OP_ACTIVE)
			continue;
		const fp_list *l = &t->fp[m][g];
		if (l->parts > parts)
			parts = l->parts;
		if (l->n == 0)
			continue;
		void *v = t->scratch;
		if (grow(t, &v, &t->cscratch, n + 2 * (size_t)l->n, sizeof *t->scratch))
			return 0;
		t->scratch = v;
		memcpy(t->scratch + n, l->iv, 2 * (size_t)l->n * sizeof *l->iv);
		n += 2 * (size_t)l->n;
	}
	/* insertion sort of (start, end) pairs by start: a handful of ranges */
	size_t k = n / 2;
	for (size_t i = 1; i < k; i++) {
		uint64_t a = t->scratch[2 * i], b = t->scratch[2 * i + 1];
		size_t j = i;
		while (j > 0 && t->scratch[2 * (j - 1)] > a) {
			t->scratch[2 * j] = t->scratch[2 * (j - 1)];
			t->scratch[2 * j + 1] = t->scratch[2 * (j - 1) + 1];
			j--;
		}
		t->scratch[2 * j] = a;
		t->scratch[2 * j + 1] = b;
	}
	uint64_t total = 0, ca = 0, cb = 0;
	for (size_t i = 0; i < k; i++) {
		uint64_t a = t->scratch[2 * i], b = t->scratch[2 * i + 1];
		if (i == 0 || a > cb) {
			total += cb - ca;
			ca = a;
			cb = b;
		} else if (b > cb) {
			cb = b;
		}
	}
	total += cb - ca;
	return total * parts;
}

/* ---- liveness ---------------------------------------------------------------------------------- */

static int counted_kind(const tracer *t, uint32_t r)
{
	graph_tensor_kind k = t->g->tensors[r].kind;
	return k != GRAPH_WEIGHT;
}

static void live_op_start(tracer *t, uint32_t g)
{
	if (!t->g || g >= t->g->n_ops)
		return;
	const graph_op *op = &t->g->ops[g];
	for (uint32_t i = 0; i < op->n_out; i++) {
		uint32_t r = t->root[op->out[i]];
		if (r != op->out[i] || t->alloc[r] || !counted_kind(t, r))
			continue;
		t->alloc[r] = 1;
		t->live += t->g->tensors[r].bytes;
	}
}

static void live_free(tracer *t, uint32_t r)
{
	if (t->alloc[r] && !t->keep[r] && t->cons_left[r] == 0) {
		t->alloc[r] = 0;
		t->live -= t->g->tensors[r].bytes;
	}
}

static void live_op_end(tracer *t, uint32_t g)
{
	if (!t->g || g >= t->g->n_ops)
		return;
	const graph_op *op = &t->g->ops[g];
	for (uint32_t i = 0; i < op->n_in; i++) {
		uint32_t r = t->root[op->in[i]];
		int dup = 0;
		for (uint32_t j = 0; j < i; j++)
			dup |= t->root[op->in[j]] == r;
		if (dup)
			continue;
		if (t->cons_left[r] > 0)
			t->cons_left[r]--;
		live_free(t, r);
	}
	for (uint32_t i = 0; i < op->n_out; i++)
		live_free(t, t->root[op->out[i]]);   /* an activation nobody reads */
}

/* ---- the sweep --------------------------------------------------------------------------------- */

static void sweep(tracer *t, uint64_t horizon)
{
	if (t->next_cp >= horizon)
		return;   /* nothing final yet: the common case, O(1) */
	for (;;) {
		uint64_t tmin = UINT64_MAX;
		for (size_t i = 0; i < t->ntrack; i++) {
			uint32_t g = t->track[i];
			uint64_t c;
			if (t->state[g] == OP_SEEN)
				c = t->acc[g].start;
			else if (t->state[g] == OP_ACTIVE && t->remaining[g] == 0)
				c = t->acc[g].end;
			else
				continue;
			if (c < tmin)
				tmin = c;
		}
		t->next_cp = tmin;
		if (tmin >= horizon)
			return;
		/* ends first (half-open intervals), then starts */
		for (size_t i = 0; i < t->ntrack; i++) {
			uint32_t g = t->track[i];
			if (t->state[g] == OP_ACTIVE && t->remaining[g] == 0 && t->acc[g].end == tmin) {
				t->state[g] = OP_DONE;
				live_op_end(t, g);
			}
		}
		for (size_t i = 0; i < t->ntrack; i++) {
			uint32_t g = t->track[i];
			if (t->state[g] == OP_SEEN && t->acc[g].start == tmin) {
				t->state[g] = OP_ACTIVE;
				live_op_start(t, g);
			}
		}
		size_t k = 0;
		for (size_t i = 0; i < t->ntrack; i++)
			if (t->state[t->track[i]] != OP_DONE)
				t->track[k++] = t->track[i];
		t->ntrack = k;
		put_sample(t, tmin, union_bytes(t, FP_SBUF), union_bytes(t, FP_PSUM));
	}
}

/* ---- power windows ----------------------------------------------------------------------------- */

static double *win_at(tracer *t, uint64_t i)
{
	if (i < t->wbase)
		i = t->wbase;   /* cannot happen: starts are >= the horizon >= wbase·W */
	size_t k = (size_t)(i - t->wbase);
	if (k >= t->nwin) {
		if (t->wfront + k + 1 > t->cwin) {
			if (t->wfront > 0) {
				memmove(t->win, t->win + t->wfront, t->nwin * sizeof *t->win);
				t->wfront = 0;
			}
			void *v = t->win;
			if (grow(t, &v, &t->cwin, k + 1, sizeof *t->win))
				return NULL;
			t->win = v;
		}
		for (size_t j = t->nwin; j <= k; j++)
			t->win[t->wfront + j] = 0;
		t->nwin = k + 1;
	}
	return &t->win[t->wfront + k];
}

static void power_add(tracer *t, uint64_t s, uint64_t e, double pj)
{
	uint64_t W = t->wticks;
	if (e <= s) {
		double *w = win_at(t, s / W);
		if (w)
			*w += pj;
		return;
	}
	double per_tick = pj / (double)(e - s);
	for (uint64_t i = s / W; i * W < e; i++) {
		uint64_t a = i * W > s ? i * W : s, b = (i + 1) * W < e ? (i + 1) * W : e;
		double *w = win_at(t, i);
		if (w == NULL)
			return;
		*w += per_tick * (double)(b - a);
	}
}

/* Emit the windows that end at or before `upto` (and, at the end of the run, the partial last). */
static void power_flush(tracer *t, uint64_t upto, uint64_t run_end)
{
	uint64_t W = t->wticks;
	while ((t->wbase + 1) * W <= upto || (run_end != UINT64_MAX && t->wbase * W < run_end)) {
		double pj = t->nwin ? t->win[t->wfront] : 0;
		uint64_t len = W;
		if (run_end != UINT64_MAX && (t->wbase + 1) * W > run_end)
			len = run_end - t->wbase * W;
		double watts = t->c->energy.static_w + pj * 1e-12 / ((double)len / t->clk.tick_hz);
		if (!t->power_any || watts != t->power_last)   /* a sample only when it changes */
			perfetto_counter(t->pf, 0, "power_w", t->wbase * W, watts, 3);
		t->power_last = watts;
		t->power_any = 1;
		if (t->nwin) {
			t->wfront++;
			t->nwin--;
		}
		t->wbase++;
	}
}

/* ---- the sink callbacks ------------------------------------------------------------------------- */

static void hbm_flush(tracer *t)
{
	if (t->hbm_pend && (!t->hbm_any || t->hbm_v != t->hbm_last)) {
		perfetto_counter(t->pf, 0, "hbm_bandwidth_gb_per_s", t->hbm_t,
		                 t->hbm_v * t->clk.tick_hz / 1e9, 3);
		t->hbm_last = t->hbm_v;
		t->hbm_any = 1;
	}
	t->hbm_pend = 0;
}

static void on_hbm_rate(void *ud, uint64_t tick, double bytes_per_tick)
{
	tracer *t = ud;
	if (!t->pf)
		return;
	if (t->hbm_pend && tick != t->hbm_t)
		hbm_flush(t);
	t->hbm_pend = 1;
	t->hbm_t = tick;
	t->hbm_v = bytes_per_tick;
}

static void put_kv(textfmt_buf *w, const char *key, uint64_t v)
{
	if (v == 0)
		return;
	textfmt_puts(w, key);
	textfmt_u64(w, v);
}

static void write_inst(tracer *t, const event_inst *ev, double dyn, int stall)
{
	perfetto *pf = t->pf;
	textfmt_buf *w = &pf->w;
	char nb[32];
	const char *qn = ev->qindex < t->nq ? t->qname[ev->qindex] : "?";
	const char *opc = ev->opcode < ISA_OP_COUNT ? isa_opcode_names[ev->opcode] : "?";
	perfetto_open(pf, 'X', 0, ev->qindex);
	perfetto_ts(pf, ev->start, (int64_t)(ev->end - ev->start));
	textfmt_puts(w, ",\"name\":\"");
	textfmt_puts(w, opc);
	textfmt_puts(w, "\",\"cat\":\"");
	textfmt_puts(w, ev->qindex < 3 ? qn : "dma");
	textfmt_puts(w, "\",\"args\":{\"opcode\":\"");
	textfmt_puts(w, opc);
	textfmt_puts(w, "\",\"engine\":\"");
	textfmt_puts(w, qn);
	textfmt_puts(w, "\",\"instruction\":");
	textfmt_u64(w, ev->index);
	if (ev->gop != ISA_NO_GOP) {
		textfmt_puts(w, ",\"op\":");
		textfmt_json_str(w, op_name(t, ev->gop, nb, sizeof nb));
		textfmt_puts(w, ",\"op_index\":");
		textfmt_u64(w, ev->gop);
	}
	if (ev->line) {
		textfmt_puts(w, ",\"line\":");
		textfmt_u64(w, ev->line);
	}
	textfmt_puts(w, ",\"dtype\":\"");
	textfmt_puts(w, ev->dtype < ASIM_DT_COUNT ? asim_dtype_names[ev->dtype] : "?");
	textfmt_putc(w, '"');
	put_kv(w, ",\"hbm_read_bytes\":", ev->bytes_read[ISA_MEM_HBM]);
	put_kv(w, ",\"hbm_write_bytes\":", ev->bytes_written[ISA_MEM_HBM]);
	put_kv(w, ",\"sbuf_read_bytes\":", ev->bytes_read[ISA_MEM_SBUF]);
	put_kv(w, ",\"sbuf_write_bytes\":", ev->bytes_written[ISA_MEM_SBUF]);
	put_kv(w, ",\"psum_read_bytes\":", ev->bytes_read[ISA_MEM_PSUM]);
	put_kv(w, ",\"psum_write_bytes\":", ev->bytes_written[ISA_MEM_PSUM]);
	put_kv(w, ",\"macs\":", ev->macs);
	put_kv(w, ",\"flops\":", ev->flops);
	textfmt_puts(w, ",\"energy_pj\":");
	textfmt_f(w, dyn, 3);
	if (ev->stall > 0) {
		textfmt_puts(w, ",\"stall_ns\":");
		textfmt_ns(w, &t->tf, ev->stall);
		textfmt_puts(w, ",\"stall_cause\":\"");
		textfmt_puts(w, stall >= 0 ? oprow_stall_names[stall] : "none");
		textfmt_putc(w, '"');
	}
	textfmt_puts(w, "}}");
}

static void write_op_span(tracer *t, uint32_t g)
{
	const oprow_acc *a = &t->acc[g];
	uint32_t lane = 0;
	while (lane < t->nlanes && t->lane_end[lane] > a->start)
		lane++;
	if (lane == t->nlanes) {
		size_t cap = t->clanes;
		void *v = t->lane_end;
		if (grow(t, &v, &cap, (size_t)lane + 1, sizeof *t->lane_end))
			return;
		t->lane_end = v;
		t->clanes = (uint32_t)cap;
		t->nlanes++;
		char name[32];
		snprintf(name, sizeof name, "ops %" PRIu32, lane);
		perfetto_thread_name(t->pf, 0, PERFETTO_TID_OPS + lane, name, (int)(PERFETTO_TID_OPS + lane));
	}
	t->lane_end[lane] = a->end;
	perfetto *pf = t->pf;
	textfmt_buf *w = &pf->w;
	char nb[32];
	perfetto_open(pf, 'X', 0, PERFETTO_TID_OPS + lane);
	perfetto_ts(pf, a->start, (int64_t)(a->end - a->start));
	textfmt_puts(w, ",\"name\":");
	textfmt_json_str(w, op_name(t, g, nb, sizeof nb));
	textfmt_puts(w, ",\"cat\":\"op\",\"args\":{\"op_index\":");
	textfmt_u64(w, g);
	if (t->g && g < t->g->n_ops) {
		textfmt_puts(w, ",\"op_type\":\"");
		textfmt_puts(w, graph_op_names[t->g->ops[g].type]);
		textfmt_puts(w, "\",\"flops\":");
		textfmt_u64(w, t->g->ops[g].flops);
	}
	textfmt_puts(w, ",\"instructions\":");
	textfmt_u64(w, a->insts);
	textfmt_puts(w, ",\"hbm_read_bytes\":");
	textfmt_u64(w, a->rd[ISA_MEM_HBM]);
	textfmt_puts(w, ",\"hbm_write_bytes\":");
	textfmt_u64(w, a->wr[ISA_MEM_HBM]);
	textfmt_puts(w, ",\"sbuf_peak_bytes\":");
	textfmt_u64(w, t->fp[FP_SBUF] ? fp_bytes(&t->fp[FP_SBUF][g]) : 0);
	double dyn = a->pj[ENERGY_MAC] + a->pj[ENERGY_SBUF] + a->pj[ENERGY_PSUM] + a->pj[ENERGY_HBM];
	textfmt_puts(w, ",\"energy_pj\":");
	textfmt_f(w, dyn + energy_static_pj(t->c, (double)(a->end - a->start) / t->clk.tick_hz), 3);
	textfmt_puts(w, "}}");
}

static int on_begin(void *ud, const event_info *info)
{
	tracer *t = ud;
	(void)info;
	return t->rc;
}

static int on_inst(void *ud, const event_inst *ev)
{
	tracer *t = ud;
	double pj[ENERGY_COUNT];
	if (t->o.one_op) {
		if (ev->gop == t->o.op && ev->gop < t->ngops) {
			energy_inst(t->c, ev, pj);
			oprow_acc_add(&t->acc[ev->gop], ev, pj, stall_class(t, ev));
		}
		return t->rc;
	}
	double dyn = energy_inst(t->c, ev, pj);
	for (int k = 0; k < ENERGY_COUNT; k++)
		t->sum.energy_pj[k] += pj[k];
	if (ev->dtype < ASIM_DT_COUNT)
		t->sum.energy_dtype_pj[ev->dtype] += dyn;
	int stall = stall_class(t, ev);
	uint32_t g = ev->gop;
	if (g != ISA_NO_GOP && g < t->ngops) {
		oprow_acc_add(&t->acc[g], ev, pj, stall);
		if (t->remaining[g] > 0)
			t->remaining[g]--;
		if (t->state[g] == OP_UNSEEN) {
			void *v = t->track;
			if (grow(t, &v, &t->ctrack, t->ntrack + 1, sizeof *t->track) == 0) {
				t->track = v;
				t->track[t->ntrack++] = g;
				t->state[g] = OP_SEEN;
			}
		}
		/* keep next_cp a lower bound of the change points */
		if (t->state[g] == OP_SEEN && t->acc[g].start < t->next_cp)
			t->next_cp = t->acc[g].start;
		else if (t->state[g] == OP_ACTIVE && t->remaining[g] == 0 && t->acc[g].end < t->next_cp)
			t->next_cp = t->acc[g].end;
		if (t->pf && t->remaining[g] == 0)
			write_op_span(t, g);
	}
	if (t->pf) {
		if (t->o.trace_level == TRACER_LEVEL_INST)
			write_inst(t, ev, dyn, stall);
		power_add(t, ev->start, ev->end, dyn);
		power_flush(t, ev->horizon, UINT64_MAX);
	}
	sweep(t, ev->horizon);
	return t->rc;
}

static int on_end(void *ud, uint64_t end_tick)
{
	tracer *t = ud;
	if (t->o.one_op)
		return t->rc;
	sweep(t, UINT64_MAX);
	if (t->have_pend) {
		out_sample(t, &t->pend);
		t->have_pend = 0;
	}
	if (t->pf) {
		hbm_flush(t);
		power_flush(t, end_tick, end_tick);
	}
	return t->rc;
}

event_sink tracer_sink(tracer *t)
{
	event_sink s;
	memset(&s, 0, sizeof s);
	s.ud = t;
	s.begin = on_begin;
	s.inst = on_inst;
	s.end = on_end;
	s.hbm_rate = on_hbm_rate;
	return s;
}

/* ---- setup -------------------------------------------------------------------------------------- */

static int setup_liveness(tracer *t)
{
	const graph *g = t->g;
	size_t nt = g->n_tensors ? g->n_tensors : 1;
	t->root = asim_calloc(nt, sizeof *t->root);
	t->cons_left = asim_calloc(nt, sizeof *t->cons_left);
	t->alloc = asim_calloc(nt, 1);
	t->keep = asim_calloc(nt, 1);
	if (!t->root || !t->cons_left || !t->alloc || !t->keep)
		return ASIM_ENOMEM;
	for (size_t i = 0; i < g->n_tensors; i++)
		t->root[i] = (uint32_t)i;
	for (size_t o = 0; o < g->n_ops; o++) {
		const graph_op *op = &g->ops[o];
		if (op->type == GRAPH_OP_RESHAPE && op->n_in >= 1 && op->n_out >= 1)
			t->root[op->out[0]] = t->root[op->in[0]];
	}
	for (size_t i = 0; i < g->n_tensors; i++) {
		const graph_tensor *x = &g->tensors[i];
		if (x->kind == GRAPH_OUTPUT)
			t->keep[t->root[i]] = 1;
		if (x->kind == GRAPH_WEIGHT && t->root[i] == i)
			t->sum.weight_bytes += x->bytes;
	}
	for (size_t o = 0; o < g->n_ops; o++) {
		const graph_op *op = &g->ops[o];
		if (o >= t->ngops || t->remaining[o] == 0)
			continue;   /* an op without instructions never starts or ends */
		for (uint32_t i = 0; i < op->n_in; i++) {
			uint32_t r = t->root[op->in[i]];
			int dup = 0;
			for (uint32_t j = 0; j < i; j++)
				dup |= t->root[op->in[j]] == r;
			if (!dup)
				t->cons_left[r]++;
		}
	}
	for (size_t i = 0; i < g->n_tensors; i++) {
		const graph_tensor *x = &g->tensors[i];
		if (x->kind == GRAPH_INPUT && t->root[i] == i) {
			t->alloc[i] = 1;
			t->live += x->bytes;
			if (t->cons_left[i] == 0)
				t->keep[i] = 1;   /* an input nobody reads stays for the whole run */
		}
	}
	t->sum.have_graph = 1;
	t->sum.param_bytes = g->param_bytes;
	return ASIM_OK;
}

static int open_out(tracer *t, outfile *f, const char *path, int *flag, asim_err *e)
{
	if (path == NULL)
		return ASIM_OK;
	int rc = outfile_open(f, path, e);
	if (rc == 0)
		*flag = 1;
	return rc;
}

int tracer_open(tracer **out, const chip *c, const graph *g, uint32_t ngops, const tracer_opts *o,
                asim_err *e)
{
	*out = NULL;
	tracer *t = asim_calloc(1, sizeof *t);
	if (t == NULL)
		return asim_errorf(e, ASIM_ENOMEM, "out of memory setting up the traces");
	t->c = c;
	t->g = g;
	t->o = *o;
	int rc = isa_clock_derive(c, &t->clk, e);
	if (rc) {
		tracer_free(t);
		return rc;
	}
	textfmt_time_init(&t->tf, &t->clk);
	t->nq = 3u + c->dma.engines;
	if (g && g->n_ops > ngops)
		ngops = (uint32_t)g->n_ops;
	if (ngops > (1u << 24))
		ngops = 1u << 24;   /* the engine refuses such programs */
	t->ngops = ngops;
	size_t ng = ngops ? ngops : 1;
	t->qinsts = asim_calloc(t->nq, sizeof *t->qinsts);
	t->qname = asim_calloc(t->nq, sizeof *t->qname);
	if (t->qname)
		for (uint32_t qi = 0; qi < t->nq; qi++)
			engine_queue_name(qi, t->qname[qi], sizeof t->qname[qi]);
	t->acc = asim_calloc(ng, sizeof *t->acc);
	t->remaining = asim_calloc(ng, sizeof *t->remaining);
	t->state = asim_calloc(ng, 1);
	t->fp[FP_SBUF] = asim_calloc(ng, sizeof(fp_list));
	t->fp[FP_PSUM] = asim_calloc(ng, sizeof(fp_list));
	if (!t->qinsts || !t->qname || !t->acc || !t->remaining || !t->state || !t->fp[FP_SBUF]
	    || !t->fp[FP_PSUM]) {
		tracer_free(t);
		return asim_errorf(e, ASIM_ENOMEM, "out of memory setting up the traces");
	}
	*out = t;
	return ASIM_OK;
}

void tracer_scan(tracer *t, const isa_inst *in)
{
	uint32_t qi = isa_queue_index(in);
	if (qi < t->nq)
		t->qinsts[qi]++;
	if (in->gop == ISA_NO_GOP || in->gop >= t->ngops || (t->o.one_op && in->gop != t->o.op))
		return;
	t->remaining[in->gop]++;
	const isa_ap *aps[3] = {&in->dst, &in->src[0], &in->src[1]};
	for (int k = 0; k < 3; k++) {
		const isa_ap *a = aps[k];
		if (a->mem != ISA_MEM_SBUF && a->mem != ISA_MEM_PSUM)
			continue;
		fp_list *l = &t->fp[a->mem == ISA_MEM_SBUF ? FP_SBUF : FP_PSUM][in->gop];
		fp_add(t, l, a->offset, isa_ap_extent(a), (uint32_t)a->part + a->nparts);
	}
}

void tracer_scan_cb(void *t, const isa_inst *in)
{
	tracer_scan(t, in);
}

int tracer_start(tracer *t, asim_err *e)
{
	const chip *c = t->c;
	const graph *g = t->g;
	const tracer_opts *o = &t->o;
	int rc;
	if (t->rc) {
		return asim_errorf(e, ASIM_ENOMEM, "out of memory setting up the traces");
	}
	for (uint32_t gi = 0; gi < t->ngops; gi++) {
		t->acc[gi].sbuf_fp = fp_bytes(&t->fp[FP_SBUF][gi]);
		t->acc[gi].psum_fp = fp_bytes(&t->fp[FP_PSUM][gi]);
	}
	if (o->one_op)
		return ASIM_OK;   /* no time series, no files */
	if (g && setup_liveness(t) != ASIM_OK) {
		return asim_errorf(e, ASIM_ENOMEM, "out of memory setting up the traces");
	}
	t->next_cp = UINT64_MAX;
	put_sample(t, 0, 0, 0);   /* before the first op: inputs only */
	t->wticks = (uint64_t)POWER_WINDOW_NS * (t->tf.ticks_per_us / 1000);
	/* outputs */
	if ((rc = open_out(t, &t->ftrace, o->trace_path, &t->want_trace, e)) != 0 ||
	    (rc = open_out(t, &t->fops, o->ops_path, &t->want_ops, e)) != 0 ||
	    (rc = open_out(t, &t->fmem, o->memory_path, &t->want_mem, e)) != 0) {
		return rc;
	}
	if (t->want_mem) {
		t->mw = asim_malloc(sizeof *t->mw);
		if (t->mw == NULL) {
				return asim_errorf(e, ASIM_ENOMEM, "out of memory setting up the traces");
		}
		textfmt_init(t->mw, &t->fmem);
		textfmt_puts(t->mw, "time_ns,sbuf_bytes,psum_bytes,hbm_bytes,hbm_weight_bytes,hbm_activation_bytes\n");
	}
	if (t->want_trace) {
		t->pf = asim_malloc(sizeof *t->pf);
		if (t->pf == NULL) {
				return asim_errorf(e, ASIM_ENOMEM, "out of memory setting up the traces");
		}
		char other[1024];
		textfmt_buf *ob = asim_malloc(sizeof *ob);
		if (ob == NULL) {
				return asim_errorf(e, ASIM_ENOMEM, "out of memory setting up the traces");
		}
		/* build otherData in a scratch buffer with no file behind it: it fits */
		textfmt_init_spill(ob, NULL, NULL);
		textfmt_puts(ob, "{\"accelsim_version\":");
		textfmt_json_str(ob, o->version);
		textfmt_puts(ob, ",\"chip\":");
		textfmt_json_str(ob, c->name);
		textfmt_puts(ob, ",\"chip_hash\":");
		textfmt_json_str(ob, c->hash);
		textfmt_puts(ob, g ? ",\"graph\":" : ",\"program\":");
		textfmt_json_str(ob, o->input_name);
		textfmt_puts(ob, g ? ",\"graph_hash\":" : ",\"program_hash\":");
		textfmt_json_str(ob, o->input_hash);
		textfmt_puts(ob, ",\"tick_hz\":");
		textfmt_u64(ob, t->clk.tick_khz * 1000);
		textfmt_puts(ob, ",\"trace_level\":");
		textfmt_json_str(ob, o->trace_level == TRACER_LEVEL_OP ? "op" : "inst");
		textfmt_puts(ob, ",\"power_window_ns\":");
		textfmt_u64(ob, POWER_WINDOW_NS);
		textfmt_putc(ob, '}');
		size_t len = ob->n < sizeof other - 1 ? ob->n : sizeof other - 1;
		memcpy(other, ob->b, len);
		other[len] = '\0';
		asim_free(ob);
		/* traces are large and read once: zlib level 1 (about 3x faster than 6, ~1.3x larger) */
		outfile_set_gz_level(&t->ftrace, 1);
		perfetto_begin(t->pf, &t->ftrace, &t->tf, other);
		char pname[160];
		for (uint32_t k = 0; k < c->cores; k++) {
			snprintf(pname, sizeof pname, k == 0 ? "core %u (%s)" : "core %u (%s, idle)", k,
			         c->name ? c->name : "chip");
			perfetto_process_name(t->pf, k, pname);
		}
		for (uint32_t qi = 0; qi < t->nq; qi++) {
			if (qi >= 3 && t->qinsts[qi] == 0)
				continue;
			char qn[16];
			engine_queue_name(qi, qn, sizeof qn);
			perfetto_thread_name(t->pf, 0, qi, qn, (int)qi);
		}
	}
	return ASIM_OK;
}

int tracer_new(tracer **out, const chip *c, const isa_program *p, const graph *g,
               const tracer_opts *o, asim_err *e)
{
	uint32_t ngops = 0;
	for (size_t i = 0; i < p->n; i++)
		if (p->insts[i].gop != ISA_NO_GOP && p->insts[i].gop + 1 > ngops)
			ngops = p->insts[i].gop + 1;
	tracer *t;
	int rc = tracer_open(&t, c, g, ngops, o, e);
	if (rc)
		return rc;
	for (size_t i = 0; i < p->n; i++)
		tracer_scan(t, &p->insts[i]);
	if ((rc = tracer_start(t, e)) != 0) {
		tracer_free(t);
		return rc;
	}
	*out = t;
	return ASIM_OK;
}

/* ---- finish ---------------------------------------------------------------------------------------- */

static int commit(outfile *f, int *flag, int rc, asim_err *e)
{
	if (!*flag)
		return rc;
	*flag = 0;
	if (rc) {
		outfile_abort(f);
		return rc;
	}
	return outfile_commit(f, e);
}

int tracer_finish(tracer *t, const engine_result *r, asim_err *e)
{
	int rc = t->rc;
	if (rc)
		return asim_errorf(e, rc, "out of memory while tracing");
	double sec = (double)r->end / t->clk.tick_hz;
	t->sum.energy_pj[ENERGY_STATIC] = energy_static_pj(t->c, sec);
	t->sum.energy_total_pj = 0;
	for (int k = 0; k < ENERGY_COUNT; k++)
		t->sum.energy_total_pj += t->sum.energy_pj[k];
	if (t->o.one_op)
		return ASIM_OK;
	if (t->g)
		t->sum.peak_hbm_bytes = t->sum.weight_bytes + t->sum.peak_activation_bytes;
	if (t->pf) {
		perfetto_end(t->pf);
	}
	if (t->mw)
		textfmt_flush(t->mw);
	if (t->want_ops) {
		textfmt_buf *w = asim_malloc(sizeof *w);
		oprow *row = asim_malloc(sizeof *row);
		if (w == NULL || row == NULL) {
			asim_free(w);
			asim_free(row);
			rc = asim_errorf(e, ASIM_ENOMEM, "out of memory writing the per-op rows");
		} else {
			textfmt_init(w, &t->fops);
			oprow_ctx ctx;
			memset(&ctx, 0, sizeof ctx);
			ctx.version = t->o.version;
			ctx.graph_name = t->g ? t->g->name : t->o.input_name;
			ctx.graph_hash = t->o.input_hash;
			ctx.c = t->c;
			ctx.g = t->g;
			ctx.clk = t->clk;
			oprow_write_header(w);
			for (uint32_t gi = 0; gi < t->ngops; gi++) {
				if (!t->g && t->acc[gi].insts == 0)
					continue;   /* a program: only the op indices it uses */
				oprow_build(row, &ctx, gi, &t->acc[gi]);
				oprow_write(w, row);
			}
			textfmt_flush(w);
			asim_free(w);
			asim_free(row);
		}
	}
	rc = commit(&t->ftrace, &t->want_trace, rc, e);
	rc = commit(&t->fops, &t->want_ops, rc, e);
	rc = commit(&t->fmem, &t->want_mem, rc, e);
	return rc;
}

const tracer_summary *tracer_get_summary(const tracer *t) { return &t->sum; }

const oprow_acc *tracer_op_acc(const tracer *t, uint32_t op)
{
	if (op >= t->ngops || (t->o.one_op && op != t->o.op))
		return NULL;
	return &t->acc[op];
}

void tracer_free(tracer *t)
{
	if (t == NULL)
		return;
	if (t->want_trace)
		outfile_abort(&t->ftrace);
	if (t->want_ops)
		outfile_abort(&t->fops);
	if (t->want_mem)
		outfile_abort(&t->fmem);
	for (int m = 0; m < FP_COUNT; m++) {
		if (t->fp[m])
			for (uint32_t g = 0; g < t->ngops; g++)
				asim_free(t->fp[m][g].iv);
		asim_free(t->fp[m]);
	}
	asim_free(t->qinsts);
	asim_free(t->qname);
	asim_free(t->acc);
	asim_free(t->remaining);
	asim_free(t->state);
	asim_free(t->track);
	asim_free(t->root);
	asim_free(t->cons_left);
	asim_free(t->alloc);
	asim_free(t->keep);
	asim_free(t->scratch);
	asim_free(t->pf);
	asim_free(t->mw);
	asim_free(t->lane_end);
	asim_free(t->win);
	asim_free(t);
}
