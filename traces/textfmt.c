/*
 * textfmt.c -- see textfmt.h.
 */
#include "traces/textfmt.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void textfmt_time_init(textfmt_time *t, const isa_clock *clk)
{
	memset(t, 0, sizeof *t);
	ASIM_ASSERT(clk->tick_khz >= 1000 && clk->tick_khz % 1000 == 0);
	t->ticks_per_us = clk->tick_khz / 1000;
	/* smallest d with 10^d >= 2T: then 10^-d µs <= 1/(2T) µs = half a tick */
	unsigned d = 0;
	uint64_t s = 1;
	while (s < 2 * t->ticks_per_us) {
		s *= 10;
		d++;
	}
	while (d < 3) {
		s *= 10;
		d++;
	}
	t->decimals = d;
	t->scale = s;
	t->ticks_per_ns = (double)clk->tick_khz / 1e6;
}

void textfmt_init(textfmt_buf *w, outfile *f)
{
	w->f = f;
	w->spill = NULL;
	w->ud = NULL;
	w->n = 0;
}

void textfmt_init_spill(textfmt_buf *w, int (*spill)(void *ud, const char *p, size_t n), void *ud)
{
	w->f = NULL;
	w->spill = spill;
	w->ud = ud;
	w->n = 0;
}

static void out(textfmt_buf *w, const char *p, size_t n)
{
	if (w->f)
		outfile_write(w->f, p, n);
	else {
		ASIM_ASSERT(w->spill != NULL);
		(void)w->spill(w->ud, p, n);
	}
}

void textfmt_flush(textfmt_buf *w)
{
	if (w->n) {
		out(w, w->b, w->n);
		w->n = 0;
	}
}

static inline void room(textfmt_buf *w, size_t k)
{
	if (w->n + k > TEXTFMT_BUF)
		textfmt_flush(w);
}

void textfmt_puts(textfmt_buf *w, const char *s)
{
	size_t k = strlen(s);
	if (k > TEXTFMT_BUF / 2) {
		textfmt_flush(w);
		out(w, s, k);
		return;
	}
	room(w, k);
	memcpy(w->b + w->n, s, k);
	w->n += k;
}

void textfmt_putc(textfmt_buf *w, char c)
{
	room(w, 1);
	w->b[w->n++] = c;
}

void textfmt_u64(textfmt_buf *w, uint64_t v)
{
	char tmp[24];
	int i = 24;
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	room(w, (size_t)(24 - i));
	memcpy(w->b + w->n, tmp + i, (size_t)(24 - i));
	w->n += (size_t)(24 - i);
}

void textfmt_f(textfmt_buf *w, double v, int decimals)
{
	if (isnan(v))
		return;
	/* fast path: fixed point in integers when v·10^d is well inside 2^53 (exact rounding of
	 * the scaled value; the same digits as printf except in ties, which printf breaks on the
	 * binary value: we round half away from zero on the scaled double, deterministically) */
	static const double p10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
	if (decimals >= 0 && decimals <= 6 && fabs(v) * p10[decimals] < 4e15) {
		double sc = v * p10[decimals];
		int neg = sc < 0;
		uint64_t q = (uint64_t)llround(neg ? -sc : sc);
		if (q == 0)
			neg = 0;
		uint64_t div = (uint64_t)p10[decimals];
		if (neg)
			textfmt_putc(w, '-');
		textfmt_u64(w, q / div);
		if (decimals > 0) {
			char tmp[8];
			uint64_t f = q % div;
			for (int i = decimals; i > 0; i--) {
				tmp[i - 1] = (char)('0' + f % 10);
				f /= 10;
			}
			textfmt_putc(w, '.');
			room(w, (size_t)decimals);
			memcpy(w->b + w->n, tmp, (size_t)decimals);
			w->n += (size_t)decimals;
		}
		return;
	}
	char tmp[64];
	int k = snprintf(tmp, sizeof tmp, "%.*f", decimals, v);
	if (k > 0 && strcmp(tmp, "-0") != 0 && strncmp(tmp, "-0.", 3) != 0) {
		textfmt_puts(w, tmp);
	} else if (k > 0) {
		/* no negative zero in outputs: -0.000 is 0.000 unless a digit is non-zero */
		const char *p = tmp + 1;
		int nonzero = 0;
		for (const char *q = p; *q; q++)
			if (*q >= '1' && *q <= '9')
				nonzero = 1;
		textfmt_puts(w, nonzero ? tmp : p);
	}
}

static void frac_digits(textfmt_buf *w, uint64_t q, uint64_t r, uint64_t den, uint64_t scale,
                        unsigned d)
{
	/* r < den; digits = round(r · scale / den), carrying into q. r·scale < 2^64 (see header). */
	uint64_t f = (r * scale + den / 2) / den;
	if (f >= scale) {
		f -= scale;
		q++;
	}
	textfmt_u64(w, q);
	char tmp[24];
	for (unsigned i = d; i > 0; i--) {
		tmp[i - 1] = (char)('0' + f % 10);
		f /= 10;
	}
	textfmt_putc(w, '.');
	room(w, d);
	memcpy(w->b + w->n, tmp, d);
	w->n += d;
}

void textfmt_us(textfmt_buf *w, const textfmt_time *t, uint64_t ticks)
{
	uint64_t T = t->ticks_per_us;
	frac_digits(w, ticks / T, ticks % T, T, t->scale, t->decimals);
}

void textfmt_ns(textfmt_buf *w, const textfmt_time *t, uint64_t ticks)
{
	/* ticks per ns = T / 1000 may be fractional only when T is not a multiple of 1000; the
	 * tick frequency is a multiple of 1 GHz, so it is whole. */
	uint64_t tpn = t->ticks_per_us / 1000;
	frac_digits(w, ticks / tpn, ticks % tpn, tpn, 1000, 3);
}

void textfmt_json_str(textfmt_buf *w, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	textfmt_putc(w, '"');
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		room(w, 6);
		if (*p == '"' || *p == '\\') {
			w->b[w->n++] = '\\';
			w->b[w->n++] = (char)*p;
		} else if (*p < 0x20 || *p >= 0x7f) {
			memcpy(w->b + w->n, "\\u00", 4);
			w->b[w->n + 4] = hex[*p >> 4];
			w->b[w->n + 5] = hex[*p & 15];
			w->n += 6;
		} else {
			w->b[w->n++] = (char)*p;
		}
	}
	textfmt_putc(w, '"');
}

void textfmt_csv_str(textfmt_buf *w, const char *s)
{
	if (s == NULL)
		return;
	if (strpbrk(s, ",\"\r\n") == NULL) {
		textfmt_puts(w, s);
		return;
	}
	textfmt_putc(w, '"');
	for (const char *p = s; *p; p++) {
		if (*p == '"')
			textfmt_putc(w, '"');
		textfmt_putc(w, *p);
	}
	textfmt_putc(w, '"');
}
