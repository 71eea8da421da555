/*
 * estlow.c -- per-engine busy times of a convolution as the lowering will tile it, in closed form
 * (est.h, est_lowered; docs/estimators.md, "The model").
 *
 * The estimator cannot lower an op to predict it: lowering one edge-npu candidate emits about
 * 10^5 instructions (tens of ms), and the bar is 1 ms per 100-op graph. But the lowering's
 * decisions for a convolution are a pure function of the chip and the geometry
 * (lower_conv_plan_of, isa/lower_pe.c: PE tile bounds, weight residency, the output chunk
 * rn × cn that fits SBUF), and each instruction's occupancy is a pure function of its shape
 * (isa/timing.c). So this file walks the plan's output chunks -- not its instructions -- and sums,
 * per engine, what the instructions of each chunk occupy:
 *
 *   per output chunk (rr × cc pixels, its input band):
 *     DMA load   band, per C_in tile: fixed + bytes / min(DMA rate × efficiency(run), HBM)
 *     VEC        memset of the band when it holds padding (fixed + passes × elements / rate)
 *     DMA load   weights per matmul when they are not resident (the SBUF-driven cliff)
 *     PE         per C_out tile: C_in tiles × taps matmuls (serial folds: fill + K/rate + drain
 *                per fold, continuations K/rate; else max(min_ii, moving)/rate)
 *     VEC / ACT  evacuation: bias add, activation (or copy)
 *     DMA store  the tile
 *   depthwise (vector engine): per channel tile and chunk, taps multiplies and taps − 1 adds.
 *
 * DMA descriptors are split over queues as lower_dma does (pieces of at least 4 KiB of
 * efficiency-weighted bytes, at most one per queue and row); the load and store times are the
 * sums over descriptors divided by the queues of each side. Contention for HBM, the overlap of
 * engines and of neighbouring ops are left to the regression: these are occupancies, not a
 * schedule. Units: ns. Ops other than forward convolutions get zeros.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "est/est.h"
#include "isa/lower.h"

typedef struct low_ctx {
	const chip *c;
	double fixed_ns;               /* DMA descriptor: fixed cost + memory latency */
	double nload, nstore;          /* DMA queues of each side */
	est_low *out;
	double load_sum, store_sum;    /* ns over every descriptor of each side */
} low_ctx;

/* contiguous run of an access pattern [parts × n1 × n0] (isa_ap_run_bytes) */
static double ap_run(double es, double n0, double s0, double n1, double s1, int hbm, double parts,
                     double pstride)
{
	if (n0 > 1 && s0 != es)
		return es;
	double run = n0 * es;
	if (n1 > 1 && s1 != run)
		return run;
	run *= n1;
	if (hbm && parts > 1 && pstride == run)
		run *= parts;
	return run;
}

/* one transfer of `bytes` over `rows` partitions whose shorter run is `run`, `mult` times */
static void low_dma(low_ctx *X, int store, double rows, double bytes, double run, double mult)
{
	const chip *c = X->c;
	double eb = (double)c->dma.efficient_bytes;
	double eff = eb > 0 && run > 0 && run < eb ? run / eb : 1;
	double eff_bytes = eff < 1 ? floor(bytes / run) * eb : bytes;
	double piece_min = eb > 4096 ? eb : 4096;
	double nq = store ? X->nstore : X->nload;
	double k = floor(eff_bytes / piece_min);
	k = k < 1 ? 1 : k;
	k = fmin(k, fmin(nq, rows));
	double rate = c->dma.engine_gb_per_s * eff;
	if (c->hbm.bandwidth_gb_per_s > 0 && c->hbm.bandwidth_gb_per_s < rate)
		rate = c->hbm.bandwidth_gb_per_s;
	double t = k * X->fixed_ns + (rate > 0 ? bytes / rate : 0);
	if (store)
		X->store_sum += mult * t;
	else
		X->load_sum += mult * t;
	X->out->desc += mult * k;
}

/* one vector/scalar instruction over `parts` partitions and `elems` elements each, in ns */
static double lanes_ns(const chip_engine *g, double parts, double elems)
{
	double lanes = g->lanes ? g->lanes : 1, epc = g->elems_per_cycle > 0 ? g->elems_per_cycle : 1;
	double cyc = g->fixed_cycles + ceil(ceil(parts / lanes) * elems / epc - 1e-9);
	if (cyc < g->min_ii_cycles)
		cyc = g->min_ii_cycles;
	return g->clock_ghz > 0 ? cyc / g->clock_ghz : 0;
}

/* PE ns of one output tile: C_in tiles (kn rows each) × taps matmuls into one PSUM bank */
static double pe_tile_ns(const chip *c, const lower_conv_plan *p, double Cg, double taps, double on,
                         double pix, double rate)
{
	double cyc = 0;
	for (double ct = 0; ct < p->ctn; ct++) {
		double kn = fmin((double)p->rows, Cg - ct * (double)p->rows);
		if (c->pe.mode == CHIP_PE_SERIAL_FOLDS) {
			double T = c->pe.dataflow == CHIP_OUTPUT_STATIONARY ? kn : pix;
			double per = ceil(T / rate - 1e-9);
			/* OS: one fold per tile (accumulation continues it); WS/IS: a fold per matmul */
			cyc += taps * per;
			if (c->pe.dataflow != CHIP_OUTPUT_STATIONARY)
				cyc += taps * (c->pe.fill_cycles + c->pe.drain_cycles);
		} else {
			double m = fmin(on, (double)c->pe.min_ii_cycles);
			cyc += taps * ceil(fmax(m, pix) / rate - 1e-9);
		}
	}
	if (c->pe.mode == CHIP_PE_SERIAL_FOLDS && c->pe.dataflow == CHIP_OUTPUT_STATIONARY)
		cyc += c->pe.fill_cycles + c->pe.drain_cycles;
	return c->pe.clock_ghz > 0 ? cyc / c->pe.clock_ghz : 0;
}

/* valid input positions of a band [lo, lo+len) along an axis of `size` */
static double band_valid(double lo, double len, double size)
{
	double a = lo < 0 ? 0 : lo, hi = fmin(lo + len - 1, size - 1);
	return a > hi ? 0 : hi - a + 1;
}

/* one class of output-chunk rows (or columns): its size, the valid input positions of its band,
 * the band's size, how many chunks */
typedef struct low_axis { double len, valid, band, count; } low_axis;
#define LOW_CLASSES 64

static int low_classes(double out, double step, double stride, double pad, double k, double in,
                       low_axis *a)
{
	int n = 0;
	for (double o0 = 0; o0 < out; o0 += step) {
		double len = fmin(step, out - o0), band = (len - 1) * stride + k;
		double valid = band_valid(o0 * stride - pad, band, in);
		int j = 0;
		while (j < n && !(a[j].len == len && a[j].valid == valid && a[j].band == band))
			j++;
		if (j == n) {
			if (n == LOW_CLASSES)
				j = n - 1;           /* cannot happen for real shapes; keeps the sum finite */
			else
				a[n++] = (low_axis){len, valid, band, 0};
		}
		a[j].count++;
	}
	return n;
}

void est_lowered(const chip *c, const est_op *o, est_low *out)
{
	memset(out, 0, sizeof *out);
	if (strcmp(o->type, "conv2d") != 0 || o->c_in <= 0 || o->c_out <= 0 || o->h_out <= 0
	    || o->w_out <= 0 || o->kh <= 0 || o->kw <= 0 || o->elems_out <= 0)
		return;
	double es = o->act_out_bytes / o->elems_out;
	asim_dtype dt = es <= 1 ? ASIM_DT_FP8_E4M3 : es <= 2 ? ASIM_DT_BF16 : ASIM_DT_FP32;
	double G = o->groups > 0 ? o->groups : 1, N = o->batch > 0 ? o->batch : 1;
	double sh = o->stride_h > 0 ? o->stride_h : 1, sw = o->stride_w > 0 ? o->stride_w : 1;
	double wel = o->c_out * (o->c_in / G) * o->kh * o->kw;
	lower_conv_geom g = {
		.N = (uint64_t)N, .C = (uint64_t)o->c_in, .H = (uint64_t)o->h, .W = (uint64_t)o->w,
		.CO = (uint64_t)o->c_out, .OH = (uint64_t)o->h_out, .OW = (uint64_t)o->w_out,
		.KH = (uint64_t)o->kh, .KW = (uint64_t)o->kw, .sh = (uint64_t)sh, .sw = (uint64_t)sw,
		.dh = 1, .dw = 1, .G = (uint64_t)G,
		.esX = (uint64_t)es, .esW = (uint64_t)es, .esY = (uint64_t)es,
		/* a bias when the weight bytes exceed the filter's (the --ops rows carry no operand list) */
		.esb = o->weight_bytes > wel * es ? (uint64_t)es : 0,
	};
	/* padding is not a column either: "valid" when the output says so, else k/2 ("same") */
	g.pt = (o->h - o->kh) / sh + 1 == o->h_out ? 0 : (uint64_t)(o->kh - 1) / 2;
	g.pl = (o->w - o->kw) / sw + 1 == o->w_out ? 0 : (uint64_t)(o->kw - 1) / 2;
	lower_conv_plan p;
	if (lower_conv_plan_of(c, &g, &p) != 0)
		return;
	double rate = c->pe.rate[dt] > 0 ? c->pe.rate[dt] : 1;
	low_ctx X = { .c = c, .fixed_ns = c->dma.fixed_ns + c->hbm.latency_ns, .out = out };
	/* the queue split of lower_split_queues for a convolution: 3/4 load */
	double nd = c->dma.engines < 32 ? c->dma.engines : 32;
	double nl = nd - floor(nd / 4);
	nl = fmin(nl, nd - 1);
	X.nload = nd <= 1 ? 1 : (nl < 1 ? 1 : nl);
	X.nstore = nd <= 1 ? 1 : nd - X.nload;
	double Cg = o->c_in / G, COg = o->c_out / G, taps = o->kh * o->kw;
	double OH = o->h_out, OW = o->w_out, rn = (double)p.rn, cn = (double)p.cn;
	double esb = (double)g.esb, P = c->sbuf.partitions;
	int act = o->act[0] && strcmp(o->act, "none") != 0;
	double cols = (double)p.cols, rows = (double)p.rows;
	/* the chunks' rows (and columns) fall into a few classes: (size, valid input rows, band
	 * rows) -- the padded first, the interior, the last -- so the walk is over class pairs */
	low_axis ra[LOW_CLASSES], ca[LOW_CLASSES];
	int nr = low_classes(OH, rn, sh, (double)g.pt, o->kh, o->h, ra);
	int nc = low_classes(OW, cn, sw, (double)g.pl, o->kw, o->w, ca);
	for (int ir = 0; ir < nr; ir++)
		for (int ic = 0; ic < nc; ic++) {
			double rr = ra[ir].len, cc = ca[ic].len, pix = rr * cc, M = N * ra[ir].count * ca[ic].count;
			double brows = ra[ir].band, bcols = ca[ic].band, ny = ra[ir].valid, nx = ca[ic].valid;
			int holes = ny * nx != brows * bcols;
			double in_run = fmin(ap_run(es, nx, es, ny, o->w * es, 1, 0, 0),
			                     ap_run(es, nx, es, ny, bcols * es, 0, 0, 0));
			if (p.vec) {
				double mult = COg;
				for (double ch0 = 0; ch0 < o->c_in; ch0 += P) {
					double ch = fmin(P, o->c_in - ch0);
					if (holes)
						out->vec_ns += M * lanes_ns(&c->vector, ch, brows * bcols);
					if (ny > 0 && nx > 0)
						low_dma(&X, 0, ch, ch * nx * ny * es, in_run, M);
					double tt = lanes_ns(&c->vector, ch, pix);
					out->vec_ns += M * mult * (taps + (taps - 1) + (esb > 0)) * tt;
					if (act)
						out->act_ns += M * mult * lanes_ns(&c->scalar, ch, pix);
					else
						out->vec_ns += M * mult * tt;
					double run = fmin(ap_run(es, cc, es, rr, OW * es, 1, ch, mult * OH * OW * es),
					                  pix * es);
					low_dma(&X, 1, ch, ch * pix * es, run, M * mult);
				}
				continue;
			}
			for (double ct = 0; ct < (double)p.ctn; ct++) {
				double kn = fmin(rows, Cg - ct * rows);
				if (holes)
					out->vec_ns += M * G * lanes_ns(&c->vector, kn, brows * bcols);
				if (ny > 0 && nx > 0)
					low_dma(&X, 0, kn, kn * nx * ny * es, in_run, M * G);
			}
			double full = floor(COg / cols), last = COg - full * cols;
			for (int t = 0; t < 2; t++) {
				double on = t == 0 ? cols : last, cnt = M * G * (t == 0 ? full : 1);
				if (on <= 0 || cnt <= 0)
					continue;
				out->pe_ns += cnt * pe_tile_ns(c, &p, Cg, taps, on, pix, rate);
				if (!p.w_res)
					for (double ct = 0; ct < (double)p.ctn; ct++) {
						double kn = fmin(rows, Cg - ct * rows);
						double wrun = ap_run(es, on, es, 1, 0, 1, kn, taps * COg * es);
						low_dma(&X, 0, kn, kn * on * es, wrun, cnt * taps);
					}
				double ev = lanes_ns(&c->vector, on, pix);
				if (esb > 0)
					out->vec_ns += cnt * ev;
				if (act)
					out->act_ns += cnt * lanes_ns(&c->scalar, on, pix);
				else if (esb == 0)
					out->vec_ns += cnt * ev;
				double run = fmin(ap_run(es, cc, es, rr, OW * es, 1, on, OH * OW * es), pix * es);
				low_dma(&X, 1, on, on * pix * es, run, cnt);
			}
		}
	/* per group (PE) or channel tile (vector): bias and resident weights */
	if (p.vec) {
		for (double ch0 = 0; ch0 < o->c_in; ch0 += P) {
			double ch = fmin(P, o->c_in - ch0), row = COg * taps * es;
			low_dma(&X, 0, ch, ch * row, row, 1);
			if (esb > 0)
				low_dma(&X, 0, ch, ch * COg * esb, COg * esb, 1);
		}
	} else {
		double full = floor(COg / cols), last = COg - full * cols;
		if (esb > 0) {
			low_dma(&X, 0, cols, cols * esb, esb, G * full);
			if (last > 0)
				low_dma(&X, 0, last, last * esb, esb, G);
		}
		if (p.w_res)
			for (double ct = 0; ct < (double)p.ctn; ct++) {
				double kn = fmin(rows, Cg - ct * rows), row = taps * COg * es;
				low_dma(&X, 0, kn, kn * row, row, G);
			}
	}
	out->load_ns = X.load_sum / X.nload;
	out->store_ns = X.store_sum / X.nstore;
	out->bound_ns = fmax(fmax(fmax(out->pe_ns, out->vec_ns), fmax(out->act_ns, out->load_ns)),
	                     out->store_ns);
}
