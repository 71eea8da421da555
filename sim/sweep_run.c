/*
 * sweep_run.c -- running a sweep: worker threads, the in-order writer, the journal, the merge.
 *
 *   enumerator (under the lock) ──► worker 0 ─┐   render → graph_load_buffer → lower → engine
 *                                                ├     (sink: tracer in one-op mode, the target op's
 *                                                │      oprow_acc) → sweep_row_format
 *                                  worker 1 ─┼─► ring[seq % R]  (row text, or the sample's error)
 *                                  ...       ┘          │
 *                                                        ▼ writer (the calling thread), seq order
 *                                           OUT.journal (plain CSV, flushed every K rows)
 *                                                        │ when every row is in
 *                                                        ▼
 *                                           OUT (.gz by name) via traces/outfile (tmp + rename)
 *
 * Order: a worker claims the next sample of this shard only when its sequence number is within R
 * of the writer's, so at most R rows wait in memory; the writer takes slots strictly in sequence
 * order, so the bytes do not depend on the number of workers or on their timing. An error is
 * stored in its slot and reported when the writer reaches it: the reported error is always that of
 * the earliest failing sample, whatever the thread count.
 *
 * Journal (--resume): the journal is the output's complete-row prefix in plain CSV, header first.
 * The writer appends rows and flushes every K rows, so an interrupted sweep (SIGTERM, SIGINT, a
 * node failure) leaves at most K-1 rows unflushed plus possibly one torn line. `--resume` keeps the
 * longest prefix of complete rows whose indices are this shard's first samples and whose
 * sweep_hash is this sweep's, truncates the rest, and continues from there. The final output is
 * always written by copying the journal, so a resumed run and an uninterrupted one give the same
 * bytes. The journal is removed once the output is in place, or when the sweep fails on bad input.
 *
 * Per-thread state is reused across samples: the chip (re-derived only when a chip axis changes),
 * the YAML text buffer, the instruction array, the row buffers (sweep_rowbuf: the oprow and its
 * text buffer).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "isa/lower.h"
#include "sim/alloc.h"
#include "sim/rungraph.h"
#include "sim/sweep_int.h"
#include "traces/outfile.h"
#include "traces/tracer.h"



char *sweep_journal_path(const char *out)
{
	size_t n = strlen(out);
	char *p = asim_malloc(n + 9);
	if (p) {
		memcpy(p, out, n);
		memcpy(p + n, ".journal", 9);
	}
	return p;
}

/* ---- the shared state ---------------------------------------------------------------------- */

enum { SLOT_FREE, SLOT_BUSY, SLOT_READY, SLOT_ERROR };

typedef struct slot {
	int state;
	uint64_t index;            /* global sample index */
	sweep_buf row;
	asim_err err;
} slot;

typedef struct shared {
	const sweep_spec *sp;
	const sweep_opts *o;
	pthread_mutex_t mu;
	pthread_cond_t cv_writer, cv_worker;
	sweep_iter *it;
	uint64_t next_global;      /* index of the iterator's next sample */
	uint64_t claimed, written, total_local, n_samples;
	slot *ring;
	uint32_t R;
	sweep_val *vals;           /* R × n_axes: the claimed samples' values */
	int abort;
} shared;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Advance the iterator to this shard's next sample: its values into vals, its index into *g.
 * Returns 1, 0 (none left) or an error. Called with the lock held. */
static int next_in_shard(shared *S, sweep_val *vals, uint64_t *g, asim_err *e)
{
	for (;;) {
		int rc = sweep_iter_next(S->it, vals, e);
		if (rc != 1)
			return rc;
		uint64_t idx = S->next_global++;
		if (idx % S->o->shard_n == S->o->shard_i) {
			*g = idx;
			return 1;
		}
	}
}

/* ---- one sample ------------------------------------------------------------------------------ */


typedef struct worker {
	shared *S;
	chip c;
	int have_chip;
	sweep_val *chip_vals;      /* the chip axes' values c was made for */
	sweep_buf yaml;
	sweep_rowbuf *rb;          /* owned: the row writer's scratch */
	pthread_t tid;
} worker;

static int chip_axes_differ(const sweep_spec *sp, const sweep_val *a, const sweep_val *b)
{
	for (uint32_t i = 0; i < sp->n_axes; i++)
		if (sp->axes[i].chip_key && !sweep_val_equal(&a[i], &b[i]))
			return 1;
	return 0;
}

static int simulate(worker *w, const sweep_val *vals, uint64_t index, sweep_buf *row, asim_err *e)
{
	const sweep_spec *sp = w->S->sp;
	int rc;
	if (!w->have_chip || chip_axes_differ(sp, vals, w->chip_vals)) {
		if ((rc = sweep_make_chip(sp, vals, &w->c, e)) != 0)
			return rc;
		w->have_chip = 1;
		memcpy(w->chip_vals, vals, sp->n_axes * sizeof *vals);
	}
	if ((rc = sweep_render(sp, vals, &w->yaml, e)) != 0)
		return rc;
	graph g;
	if ((rc = graph_load_buffer(&g, sweep_template_name(), w->yaml.p, w->yaml.len, e)) != 0)
		return rc;
	uint32_t target = 0;
	engine_result r;
	memset(&r, 0, sizeof r);
	if ((rc = sweep_target_op(sp, &g, &target, e)) == 0) {
		lower_opts lo = {0};
		/* the event sink: the target op's per-op row only (the same aggregation as run --ops) */
		tracer *tr = NULL;
		tracer_opts to;
		memset(&to, 0, sizeof to);
		to.one_op = 1;
		to.op = target;
		rungraph *rg = NULL;
		rungraph_opts ro;
		memset(&ro, 0, sizeof ro);
		if ((rc = tracer_open(&tr, &w->c, &g, 0, &to, e)) == 0) {
			ro.scan = tracer_scan_cb;
			ro.scan_ud = tr;
			if ((rc = rungraph_prepare(&rg, &g, &w->c, &lo, &ro, e)) == 0
			    && (rc = tracer_start(tr, e)) == 0) {
				event_sink sink = tracer_sink(tr);
				rc = rungraph_run(rg, &sink, &r, e);
			}
			rungraph_free(rg);
		}
		if (rc == 0 && (rc = tracer_finish(tr, &r, e)) == 0) {
			char id[17];
			sweep_sample_id(sp, vals, id);
			sweep_row_in in = {sp, vals, index, w->S->n_samples, &w->c, &g, target, &r.clk,
			                   tracer_op_acc(tr, target), id};
			ASIM_ASSERT(in.acc != NULL);
			row->len = 0;
			if (sweep_row_format(&in, w->rb, row) != 0)
				rc = asim_errorf(e, ASIM_ENOMEM, "out of memory");
		}
		tracer_free(tr);
	}
	engine_result_fini(&r);
	graph_fini(&g);
	return rc;
}

static void *worker_main(void *arg)
{
	worker *w = arg;
	shared *S = w->S;
	uint32_t nA = S->sp->n_axes;
	for (;;) {
		pthread_mutex_lock(&S->mu);
		while (!S->abort && S->claimed < S->total_local && S->claimed >= S->written + S->R)
			pthread_cond_wait(&S->cv_worker, &S->mu);
		if (S->abort || S->claimed >= S->total_local) {
			pthread_mutex_unlock(&S->mu);
			break;
		}
		uint64_t seq = S->claimed++;
		slot *sl = &S->ring[seq % S->R];
		sweep_val *vals = S->vals + (size_t)(seq % S->R) * (nA ? nA : 1);
		asim_err_init(&sl->err);
		uint64_t g = 0;
		int rc = next_in_shard(S, vals, &g, &sl->err);
		if (rc == 0)
			rc = asim_errorf(&sl->err, ASIM_EINTERNAL, "the enumeration ended before its counted end");
		sl->index = g;
		sl->state = SLOT_BUSY;
		pthread_mutex_unlock(&S->mu);
		if (rc == 1) {
			rc = simulate(w, vals, g, &sl->row, &sl->err);
			if (rc)
				sweep_sample_error(S->sp, vals, g, &sl->err);
		}
		pthread_mutex_lock(&S->mu);
		sl->state = rc ? SLOT_ERROR : SLOT_READY;
		pthread_cond_signal(&S->cv_writer);
		pthread_mutex_unlock(&S->mu);
	}
	return NULL;
}

/* ---- the journal ------------------------------------------------------------------------------- */

/* Column index of `name` in a header line, or -1. */
static int header_col(const char *hdr, const char *name)
{
	size_t n = strlen(name);
	int col = 0;
	const char *p = hdr;
	for (;;) {
		const char *q = p;
		while (*q && *q != ',' && *q != '\n')
			q++;
		if ((size_t)(q - p) == n && memcmp(p, name, n) == 0)
			return col;
		if (*q != ',')
			return -1;
		p = q + 1;
		col++;
	}
}

/* The field `col` of a CSV line (quotes honoured): [*start, *end). Returns 0 or -1. */
static int csv_field(const char *line, int col, const char **start, const char **end)
{
	const char *p = line;
	for (int c = 0;; c++) {
		const char *s = p, *q = p;
		if (*q == '"') {
			q++;
			while (*q && !(*q == '"' && q[1] != '"'))
				q += *q == '"' ? 2 : 1;
			if (*q == '"')
				q++;
		} else {
			while (*q && *q != ',' && *q != '\n')
				q++;
		}
		if (c == col) {
			*start = s;
			*end = q;
			return 0;
		}
		if (*q != ',')
			return -1;
		p = q + 1;
	}
}

static int field_u64(const char *line, int col, uint64_t *v)
{
	const char *s, *t;
	if (col < 0 || csv_field(line, col, &s, &t) != 0 || s == t)
		return -1;
	uint64_t x = 0;
	for (const char *p = s; p < t; p++) {
		if (*p < '0' || *p > '9' || x > (UINT64_MAX - 9) / 10)
			return -1;
		x = x * 10 + (uint64_t)(*p - '0');
	}
	*v = x;
	return 0;
}

static int field_eq(const char *line, int col, const char *want)
{
	const char *s, *t;
	return col >= 0 && csv_field(line, col, &s, &t) == 0 && (size_t)(t - s) == strlen(want) &&
	       memcmp(s, want, (size_t)(t - s)) == 0;
}

/* Read a whole line (any length) from a gzFile into *buf. Returns its length, 0 at EOF. A last
 * line without '\n' is returned without one (the caller decides whether it is torn). */
static size_t gz_line(gzFile f, sweep_buf *buf)
{
	buf->len = 0;
	char chunk[4096];
	while (gzgets(f, chunk, sizeof chunk) != NULL) {
		size_t n = strlen(chunk);
		if (sweep_buf_put(buf, chunk, n) != 0)
			return 0;
		if (n > 0 && chunk[n - 1] == '\n')
			break;
	}
	return buf->len;
}

/* Open the journal for --resume: keep its valid prefix; *done = rows kept. The iterator is
 * advanced past them. On a journal from another sweep: an error (exit 2). */
static int journal_resume(shared *S, const char *jpath, const sweep_buf *header, FILE **jf, uint64_t *done,
                          asim_err *e)
{
	*done = 0;
	*jf = NULL;
	gzFile g = gzopen(jpath, "rb");
	if (g == NULL)
		return 0;   /* nothing to resume */
	sweep_buf line = {0};
	int rc = 0;
	off_t keep = 0;
	size_t n = gz_line(g, &line);
	if (n == 0 || line.p[n - 1] != '\n') {
		gzclose(g);
		sweep_buf_fini(&line);
		return 0;    /* not even a header: start over */
	}
	if (n != header->len || memcmp(line.p, header->p, n) != 0) {
		gzclose(g);
		int old = sweep_row_check_header(line.p, n) != 0;
		int rc2 = asim_errorf(e, ASIM_ESCHEMA, "%s: the journal's columns differ from this sweep's (%s); "
		                      "delete it or run without --resume", jpath,
		                      old ? "an accelsim with another row format wrote it" : "another spec");
		sweep_buf_fini(&line);
		return rc2;
	}
	keep = (off_t)n;
	int hcol = header_col(header->p, "sweep_hash");
	sweep_val *vals = asim_calloc(S->sp->n_axes ? S->sp->n_axes : 1, sizeof *vals);
	if (vals == NULL)
		rc = asim_errorf(e, ASIM_ENOMEM, "out of memory");
	while (rc == 0 && *done < S->total_local && (n = gz_line(g, &line)) > 0) {
		if (line.p[n - 1] != '\n')
			break;   /* torn */
		uint64_t idx;
		uint64_t want = S->o->shard_i + *done * S->o->shard_n;
		if (field_u64(line.p, 0, &idx) != 0 || idx != want || !field_eq(line.p, hcol, S->sp->hash)) {
			rc = asim_errorf(e, ASIM_ESCHEMA, "%s: row %" PRIu64 " is not sample %" PRIu64 " of this sweep "
			                 "(another spec, seed, chip, shard or version); delete it or run without --resume",
			                 jpath, *done + 1, want);
			break;
		}
		uint64_t gidx;
		int r2 = next_in_shard(S, vals, &gidx, e);
		if (r2 != 1) {
			rc = r2 < 0 ? r2 : asim_errorf(e, ASIM_EINTERNAL, "enumeration ended early");
			break;
		}
		keep += (off_t)n;
		(*done)++;
	}
	asim_free(vals);
	gzclose(g);
	sweep_buf_fini(&line);
	if (rc)
		return rc;
	if (truncate(jpath, keep) != 0 || (*jf = fopen(jpath, "ab")) == NULL)
		return asim_errorf(e, ASIM_EIO, "%s: cannot reopen the journal: %s", jpath, strerror(errno));
	return 0;
}

/* ---- progress ---------------------------------------------------------------------------------- */

static void progress(uint64_t done, uint64_t total, double t0, int final)
{
	double dt = now_s() - t0;
	double rate = dt > 0 ? (double)done / dt : 0;
	char eta[32] = "--:--";
	if (rate > 0 && done < total) {
		uint64_t s = (uint64_t)((double)(total - done) / rate);
		snprintf(eta, sizeof eta, "%" PRIu64 ":%02" PRIu64 ":%02" PRIu64, s / 3600, s / 60 % 60, s % 60);
	} else if (done >= total) {
		snprintf(eta, sizeof eta, "0:00:00");
	}
	int width = 30, fill = total ? (int)((double)done / (double)total * width) : width;
	char bar[64];
	for (int i = 0; i < width; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[width] = '\0';
	fprintf(stderr, "\r[%s] %" PRIu64 "/%" PRIu64 " rows  %.0f rows/s  %s left\033[K%s", bar, done, total, rate,
	        eta, final ? "\n" : "");
	fflush(stderr);
}

/* ---- the run ----------------------------------------------------------------------------------- */

static int copy_journal(const char *jpath, const char *out, asim_err *e)
{
	FILE *f = fopen(jpath, "rb");
	if (f == NULL)
		return asim_errorf(e, ASIM_EIO, "%s: cannot read the journal back: %s", jpath, strerror(errno));
	outfile of;
	int rc = outfile_open(&of, out, e);
	if (rc) {
		fclose(f);
		return rc;
	}
	char buf[1 << 16];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		outfile_write(&of, buf, n);
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		outfile_abort(&of);
		return asim_errorf(e, ASIM_EIO, "%s: read error", jpath);
	}
	return outfile_commit(&of, e);
}

int sweep_run(const sweep_spec *sp, const sweep_opts *o, asim_err *e)
{
	shared S;
	memset(&S, 0, sizeof S);
	S.sp = sp;
	S.o = o;
	int rc = sweep_count(sp, &S.n_samples, e);
	if (rc)
		return rc;
	S.total_local = o->shard_i < S.n_samples ? (S.n_samples - o->shard_i + o->shard_n - 1) / o->shard_n : 0;
	uint32_t jobs = o->jobs ? o->jobs : 1;
	S.R = jobs * 32 < 64 ? 64 : jobs * 32;
	uint32_t nA = sp->n_axes ? sp->n_axes : 1;
	S.ring = asim_calloc(S.R, sizeof *S.ring);
	S.vals = asim_calloc((size_t)S.R * nA, sizeof *S.vals);
	worker *ws = asim_calloc(jobs, sizeof *ws);
	sweep_buf header = {0};
	FILE *jf = NULL;
	outfile so;
	int have_so = 0;
	char *jpath = NULL;
	int to_stdout = strcmp(o->out, "-") == 0;
	int threads_started = 0;
	int rb_ok = ws != NULL;
	for (uint32_t i = 0; ws && i < jobs; i++) {
		if ((ws[i].rb = asim_malloc(sizeof *ws[i].rb)) != NULL)
			sweep_rowbuf_init(ws[i].rb);
		else
			rb_ok = 0;
	}
	if (S.ring == NULL || S.vals == NULL || !rb_ok || sweep_iter_new(&S.it, sp) != 0 || sweep_row_header(sp, ws[0].rb, &header) != 0) {
		rc = asim_errorf(e, ASIM_ENOMEM, "out of memory");
		goto done;
	}
	pthread_mutex_init(&S.mu, NULL);
	pthread_cond_init(&S.cv_writer, NULL);
	pthread_cond_init(&S.cv_worker, NULL);

	/* where rows go */
	if (to_stdout) {
		if ((rc = outfile_open(&so, "-", e)) != 0)
			goto done_sync;
		have_so = 1;
		outfile_write(&so, header.p, header.len);
	} else {
		if ((jpath = sweep_journal_path(o->out)) == NULL) {
			rc = asim_errorf(e, ASIM_ENOMEM, "out of memory");
			goto done_sync;
		}
		uint64_t done = 0;
		if (o->resume && (rc = journal_resume(&S, jpath, &header, &jf, &done, e)) != 0)
			goto done_sync;
		if (jf == NULL) {
			/* a fresh journal, header first, through a temporary name so a half-written header
			 * is never mistaken for a journal */
			char *tmp = asim_malloc(strlen(jpath) + 5);
			if (tmp == NULL) {
				rc = asim_errorf(e, ASIM_ENOMEM, "out of memory");
				goto done_sync;
			}
			sprintf(tmp, "%s.new", jpath);
			FILE *f = fopen(tmp, "wb");
			if (f == NULL || fwrite(header.p, 1, header.len, f) != header.len || fclose(f) != 0 ||
			    rename(tmp, jpath) != 0 || (jf = fopen(jpath, "ab")) == NULL) {
				rc = asim_errorf(e, ASIM_EIO, "%s: cannot write the journal: %s", jpath, strerror(errno));
				unlink(tmp);
				asim_free(tmp);
				goto done_sync;
			}
			asim_free(tmp);
		}
		S.claimed = S.written = done;
	}

	/* workers */
	for (uint32_t i = 0; i < jobs; i++) {
		ws[i].S = &S;
		ws[i].chip_vals = asim_calloc(nA, sizeof *ws[i].chip_vals);
		if (ws[i].chip_vals == NULL) {
			rc = asim_errorf(e, ASIM_ENOMEM, "out of memory");
			break;
		}
		if (pthread_create(&ws[i].tid, NULL, worker_main, &ws[i]) != 0) {
			rc = asim_errorf(e, ASIM_EINTERNAL, "cannot start a worker thread");
			break;
		}
		threads_started++;
	}

	/* the writer */
	double t0 = now_s(), last = 0;
	uint64_t start_rows = S.written, since_flush = 0;
	uint64_t K = o->checkpoint_rows ? o->checkpoint_rows : 64;
	while (rc == 0 && S.written < S.total_local) {
		pthread_mutex_lock(&S.mu);
		slot *sl = &S.ring[S.written % S.R];
		while (sl->state != SLOT_READY && sl->state != SLOT_ERROR)
			pthread_cond_wait(&S.cv_writer, &S.mu);
		pthread_mutex_unlock(&S.mu);
		if (sl->state == SLOT_ERROR) {
			*e = sl->err;
			rc = e->code ? e->code : ASIM_EINTERNAL;
			break;
		}
		if (to_stdout)
			outfile_write(&so, sl->row.p, sl->row.len);
		else if (fwrite(sl->row.p, 1, sl->row.len, jf) != sl->row.len) {
			rc = asim_errorf(e, ASIM_EIO, "%s: write error: %s", jpath, strerror(errno));
			break;
		}
		pthread_mutex_lock(&S.mu);
		sl->state = SLOT_FREE;
		S.written++;
		pthread_cond_broadcast(&S.cv_worker);
		pthread_mutex_unlock(&S.mu);
		if (jf && ++since_flush >= K) {
			fflush(jf);
			since_flush = 0;
		}
		if (o->progress) {
			double t = now_s();
			if (t - last >= 0.2) {
				last = t;
				progress(S.written - start_rows, S.total_local - start_rows, t0, 0);
			}
		}
	}
	pthread_mutex_lock(&S.mu);
	S.abort = 1;
	pthread_cond_broadcast(&S.cv_worker);
	pthread_mutex_unlock(&S.mu);
	for (int i = 0; i < threads_started; i++)
		pthread_join(ws[i].tid, NULL);
	if (rc == 0 && o->progress)
		progress(S.written - start_rows, S.total_local - start_rows, t0, 1);

	if (to_stdout) {
		if (rc == 0)
			rc = outfile_commit(&so, e);
		else
			outfile_abort(&so);
		have_so = 0;
	} else if (jf != NULL) {
		int bad = fclose(jf) != 0;
		jf = NULL;
		if (rc == 0 && bad)
			rc = asim_errorf(e, ASIM_EIO, "%s: write error: %s", jpath, strerror(errno));
		if (rc == 0)
			rc = copy_journal(jpath, o->out, e);
		if (rc == 0 || asim_exit_status(rc) == 2)
			unlink(jpath);   /* done, or bad input: the journal is of no further use */
	}
done_sync:
	if (have_so)
		outfile_abort(&so);
	if (jf)
		fclose(jf);
	pthread_mutex_destroy(&S.mu);
	pthread_cond_destroy(&S.cv_writer);
	pthread_cond_destroy(&S.cv_worker);
done:
	for (uint32_t i = 0; ws && i < jobs; i++) {
		if (ws[i].have_chip)
			chip_fini(&ws[i].c);
		asim_free(ws[i].chip_vals);
		asim_free(ws[i].rb);
		sweep_buf_fini(&ws[i].yaml);
	}
	for (uint32_t i = 0; S.ring && i < S.R; i++)
		sweep_buf_fini(&S.ring[i].row);
	asim_free(ws);
	asim_free(S.ring);
	asim_free(S.vals);
	sweep_iter_free(S.it);
	sweep_buf_fini(&header);
	asim_free(jpath);
	return rc;
}

/* ---- merge ------------------------------------------------------------------------------------- */

typedef struct part {
	const char *path;
	gzFile f;
	sweep_buf line;
	uint64_t idx;
	int live;
	uint64_t rows;
} part;

static int part_next(part *p, int col_hash, asim_err *e)
{
	size_t n = gz_line(p->f, &p->line);
	if (n == 0) {
		p->live = 0;
		return 0;
	}
	if (p->line.p[n - 1] != '\n')
		return asim_errorf(e, ASIM_ESYNTAX, "%s: the last row is incomplete (an interrupted shard? run it "
		                   "again with --resume)", p->path);
	uint64_t idx;
	if (field_u64(p->line.p, 0, &idx) != 0)
		return asim_errorf(e, ASIM_ESYNTAX, "%s: row %" PRIu64 " has no sample_index", p->path, p->rows + 1);
	if (p->rows > 0 && idx <= p->idx)
		return asim_errorf(e, ASIM_ESYNTAX, "%s: sample %" PRIu64 " follows sample %" PRIu64
		                   " (rows are in sample order in a sweep output)", p->path, idx, p->idx);
	(void)col_hash;
	p->idx = idx;
	p->live = 1;
	p->rows++;
	return 0;
}

/* Two rows of one sweep: the same sweep_hash and n_samples. */
static int same_sweep(const char *a, const char *b, int c_hash, int c_n)
{
	for (int k = 0; k < 2; k++) {
		int c = k ? c_n : c_hash;
		const char *s1, *t1, *s2, *t2;
		if (csv_field(a, c, &s1, &t1) != 0 || csv_field(b, c, &s2, &t2) != 0 || t1 - s1 != t2 - s2 ||
		    memcmp(s1, s2, (size_t)(t1 - s1)) != 0)
			return 0;
	}
	return 1;
}

/* Why two rows' sweep_hash differ, in words. */
static void explain_diff(const char *a, const char *b, const char *hdr, char *out, size_t n)
{
	const char *cols[] = {"accelsim_version", "seed", "n_samples"};
	for (size_t i = 0; i < 3; i++) {
		int c = header_col(hdr, cols[i]);
		const char *s1, *t1, *s2, *t2;
		if (c >= 0 && csv_field(a, c, &s1, &t1) == 0 && csv_field(b, c, &s2, &t2) == 0 &&
		    (t1 - s1 != t2 - s2 || memcmp(s1, s2, (size_t)(t1 - s1)) != 0)) {
			snprintf(out, n, "%s %.*s vs %.*s", cols[i], (int)(t1 - s1), s1, (int)(t2 - s2), s2);
			return;
		}
	}
	snprintf(out, n, "a different spec or base chip");
}

int sweep_merge(const char *out, const char *const *paths, size_t np, asim_err *e)
{
	part *ps = asim_calloc(np ? np : 1, sizeof *ps);
	if (ps == NULL)
		return asim_errorf(e, ASIM_ENOMEM, "out of memory");
	int rc = 0;
	sweep_buf header = {0}, first = {0};
	const char *first_path = NULL;
	outfile of;
	int have_of = 0;
	int c_hash = -1, c_n = -1, c_id = -1;
	uint64_t n_samples = 0;
	for (size_t i = 0; i < np && rc == 0; i++) {
		ps[i].path = paths[i];
		if ((ps[i].f = gzopen(paths[i], "rb")) == NULL) {
			rc = asim_errorf(e, ASIM_ENOENT, "%s: cannot open: %s", paths[i], strerror(errno));
			break;
		}
		sweep_buf h = {0};
		size_t n = gz_line(ps[i].f, &h);
		if (n == 0 || h.p[n - 1] != '\n' || strncmp(h.p, "sample_index,sample_id,", 23) != 0) {
			rc = asim_errorf(e, ASIM_ESYNTAX, "%s: not an accelsim sweep output (no header line)", paths[i]);
		} else if (sweep_row_check_header(h.p, n) != 0) {
			rc = asim_errorf(e, ASIM_ESCHEMA, "%s: written by an accelsim with another row format (this one "
			                 "writes format %d: the sweep's columns, then the per-op row's); run that "
			                 "shard again, or merge with the accelsim that wrote it", paths[i],
			                 SWEEP_ROW_FORMAT);
		} else if (i == 0) {
			header = h;
			h.p = NULL;
			c_hash = header_col(header.p, "sweep_hash");
			c_n = header_col(header.p, "n_samples");
			c_id = header_col(header.p, "sample_id");
			if (c_hash < 0 || c_n < 0)
				rc = asim_errorf(e, ASIM_ESYNTAX, "%s: not an accelsim sweep output (no sweep_hash, n_samples)",
				                 paths[i]);
		} else if (h.len != header.len || memcmp(h.p, header.p, h.len) != 0) {
			rc = asim_errorf(e, ASIM_ESCHEMA, "%s: its columns differ from those of %s: parts of one sweep "
			                 "have the same columns", paths[i], paths[0]);
		}
		sweep_buf_fini(&h);
		if (rc == 0)
			rc = part_next(&ps[i], c_hash, e);
		if (rc == 0 && ps[i].live) {
			uint64_t ns;
			if (first_path == NULL) {
				first_path = paths[i];
				if (sweep_buf_put(&first, ps[i].line.p, ps[i].line.len) != 0)
					rc = asim_errorf(e, ASIM_ENOMEM, "out of memory");
				else if (field_u64(first.p, c_n, &n_samples) != 0)
					rc = asim_errorf(e, ASIM_ESYNTAX, "%s: row 1 has no n_samples", paths[i]);
			}
			if (rc == 0 && !same_sweep(first.p, ps[i].line.p, c_hash, c_n)) {
				char why[160];
				explain_diff(first.p, ps[i].line.p, header.p, why, sizeof why);
				rc = asim_errorf(e, ASIM_ESCHEMA, "%s and %s come from different sweeps (%s): merge "
				                 "parts of one sweep only", first_path, paths[i], why);
			}
			(void)ns;
		}
	}
	if (rc == 0) {
		rc = outfile_open(&of, out, e);
		have_of = rc == 0;
	}
	if (rc == 0)
		outfile_write(&of, header.p, header.len);
	/* k-way merge by sample index; every index 0..n-1 exactly once */
	uint64_t expect = 0, missing = 0, miss_list[6];
	size_t n_miss_list = 0;
	while (rc == 0) {
		size_t best = np;
		for (size_t i = 0; i < np; i++)
			if (ps[i].live && (best == np || ps[i].idx < ps[best].idx))
				best = i;
		uint64_t upto = best == np ? n_samples : ps[best].idx;
		if (best != np && upto >= n_samples) {
			rc = asim_errorf(e, ASIM_ESCHEMA, "%s: sample %" PRIu64 " is beyond the sweep's %" PRIu64 " samples",
			                 ps[best].path, upto, n_samples);
			break;
		}
		for (; expect < upto; expect++, missing++)
			if (n_miss_list < 6)
				miss_list[n_miss_list++] = expect;
		if (best == np)
			break;
		/* the same index in another part? */
		for (size_t i = 0; i < np; i++)
			if (i != best && ps[i].live && ps[i].idx == ps[best].idx) {
				const char *s = "", *t = s;
				if (c_id >= 0)
					csv_field(ps[best].line.p, c_id, &s, &t);
				rc = asim_errorf(e, ASIM_ESCHEMA, "sample %" PRIu64 " (id %.*s) is in both %s and %s: "
				                 "each sample belongs to one part", ps[best].idx, (int)(t - s), s,
				                 ps[best].path, ps[i].path);
				break;
			}
		if (rc)
			break;
		if (missing == 0)
			outfile_write(&of, ps[best].line.p, ps[best].line.len);
		expect++;
		if ((rc = part_next(&ps[best], c_hash, e)) != 0)
			break;
		if (ps[best].live && !same_sweep(first.p, ps[best].line.p, c_hash, c_n)) {
			char why[160];
			explain_diff(first.p, ps[best].line.p, header.p, why, sizeof why);
			rc = asim_errorf(e, ASIM_ESCHEMA, "%s: sample %" PRIu64 " comes from a different sweep than %s (%s)",
			                 ps[best].path, ps[best].idx, first_path, why);
		}
	}
	if (rc == 0 && missing > 0) {
		char list[160];
		size_t k = 0;
		for (size_t i = 0; i < n_miss_list && k < sizeof list; i++)
			k += (size_t)snprintf(list + k, sizeof list - k, "%s%" PRIu64, i ? ", " : "", miss_list[i]);
		rc = asim_errorf(e, ASIM_ESCHEMA, "%" PRIu64 " of the sweep's %" PRIu64 " samples are in no part: "
		                 "%s%s (a shard is missing or incomplete)", missing, n_samples, list,
		                 missing > n_miss_list ? ", ..." : "");
	}
	if (have_of) {
		if (rc == 0)
			rc = outfile_commit(&of, e);
		else
			outfile_abort(&of);
	}
	for (size_t i = 0; i < np; i++) {
		if (ps[i].f)
			gzclose(ps[i].f);
		sweep_buf_fini(&ps[i].line);
	}
	asim_free(ps);
	sweep_buf_fini(&header);
	sweep_buf_fini(&first);
	return rc;
}
