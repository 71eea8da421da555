/*
 * sweep_row.c -- the dataset's columns: the ONE place that knows what a sweep row holds.
 *
 *   sample_index, sample_id, sweep_hash,           the sweep's own columns: which sample of which
 *   seed, n_samples                                sweep (the merge and --resume read these)
 *   <axis columns>                                 one per axis, in spec order: `axis.NAME` for a
 *                                                  template axis, the parameter key (pe_array.cols)
 *                                                  for a chip axis
 *   pe_rows, pe_cols                               the sample's chip's PE array
 *   OPROW_COLUMNS (traces/oprow.h)                 the target op's per-op row, exactly as
 *                                                  `accelsim run --ops` writes it: provenance
 *                                                  (version, chip, chip hash, graph), features,
 *                                                  latency, busy, stalls, bytes, footprints, energy
 *
 * The op columns are not listed here: the header and the values come from oprow's one table, so
 * a sweep row and a trace row describe an op the same way, column for column and byte for byte.
 * SWEEP_ROW_FORMAT (sweep_int.h) is part of the sweep's hash: a file or journal written with other
 * columns is refused by --merge and --resume.
 *
 * Numbers are printed in a fixed form (integers in decimal, decimals with 3 digits), so a row is a
 * pure function of the sample and the output is byte-reproducible.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sim/sweep_int.h"

/* The sweep's own columns before the axes, and after them. */
#define SWEEP_ID_HEAD "sample_index,sample_id,sweep_hash,seed,n_samples"
#define SWEEP_ID_TAIL "pe_rows,pe_cols"

/* A CSV field: quoted only when it holds a comma, a quote or a line break. */
static int put_field(sweep_buf *b, const char *s)
{
	int rc = sweep_buf_put(b, ",", 1);
	if (rc)
		return rc;
	if (strpbrk(s, ",\"\r\n") == NULL)
		return sweep_buf_put(b, s, strlen(s));
	rc = sweep_buf_put(b, "\"", 1);
	for (const char *p = s; rc == 0 && *p; p++)
		rc = *p == '"' ? sweep_buf_put(b, "\"\"", 2) : sweep_buf_put(b, p, 1);
	return rc ? rc : sweep_buf_put(b, "\"", 1);
}

static int spill(void *ud, const char *p, size_t n)
{
	sweep_rowbuf *s = ud;
	if (s->rc == 0)
		s->rc = sweep_buf_put(s->to, p, n);
	return s->rc;
}

/* Send what s->w holds to the end of b. */
static int drain(sweep_rowbuf *s, sweep_buf *b)
{
	s->to = b;
	textfmt_flush(&s->w);
	int rc = s->rc;
	s->rc = 0;
	s->to = NULL;
	return rc;
}

void sweep_rowbuf_init(sweep_rowbuf *s)
{
	memset(s, 0, sizeof *s);
	textfmt_init_spill(&s->w, spill, s);
}

int sweep_row_header(const sweep_spec *sp, sweep_rowbuf *s, sweep_buf *b)
{
	b->len = 0;
	int rc = sweep_buf_put(b, SWEEP_ID_HEAD, sizeof SWEEP_ID_HEAD - 1);
	for (uint32_t i = 0; rc == 0 && i < sp->n_axes; i++) {
		char name[200];
		if (sp->axes[i].chip_key)
			snprintf(name, sizeof name, "%s", sp->axes[i].chip_key);
		else
			snprintf(name, sizeof name, "axis.%s", sp->axes[i].name);
		rc = put_field(b, name);
	}
	if (rc == 0)
		rc = sweep_buf_put(b, "," SWEEP_ID_TAIL ",", sizeof SWEEP_ID_TAIL + 1);
	if (rc == 0) {
		oprow_write_header(&s->w);
		rc = drain(s, b);
	}
	return rc;
}

int sweep_row_check_header(const char *line, size_t len)
{
	static const char head[] = SWEEP_ID_HEAD ",";
	if (len < sizeof head - 1 || memcmp(line, head, sizeof head - 1) != 0)
		return -1;
	/* the op columns, at the end */
	size_t k = 0;
	for (size_t i = 0; i < oprow_ncols; i++)
		k += strlen(oprow_col_names[i]) + 1;
	if (len < k + sizeof head - 1)
		return -1;
	const char *p = line + len - k;
	if (p[-1] != ',')
		return -1;
	for (size_t i = 0; i < oprow_ncols; i++) {
		size_t n = strlen(oprow_col_names[i]);
		if (memcmp(p, oprow_col_names[i], n) != 0 || p[n] != (i + 1 < oprow_ncols ? ',' : '\n'))
			return -1;
		p += n + 1;
	}
	return 0;
}

int sweep_row_format(const sweep_row_in *in, sweep_rowbuf *s, sweep_buf *b)
{
	const sweep_spec *sp = in->sp;
	char tmp[256];
	int rc = sweep_buf_printf(b, "%" PRIu64 ",%s,%s,%" PRIu64 ",%" PRIu64, in->index, in->sample_id, sp->hash,
	                          sp->seed, in->n_samples);
	for (uint32_t i = 0; rc == 0 && i < sp->n_axes; i++) {
		if (in->vals[i].t == SWEEP_STR)
			rc = put_field(b, in->vals[i].s);
		else {
			sweep_val_format(&in->vals[i], tmp, sizeof tmp);
			rc = put_field(b, tmp);
		}
	}
	if (rc == 0)
		rc = sweep_buf_printf(b, ",%u,%u,", in->c->pe.rows, in->c->pe.cols);
	if (rc == 0) {
		oprow_ctx ctx;
		memset(&ctx, 0, sizeof ctx);
		ctx.version = PACKAGE_VERSION;
		ctx.graph_name = in->g->name;
		ctx.graph_hash = in->g->hash;
		ctx.c = in->c;
		ctx.g = in->g;
		ctx.clk = *in->clk;
		oprow_build(&s->row, &ctx, in->target, in->acc);
		oprow_write(&s->w, &s->row);
		rc = drain(s, b);
	}
	return rc;
}
