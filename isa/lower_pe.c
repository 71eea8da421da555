/*
 * lower_pe.c -- ops on the PE array: matmul (batched, transposed operands, backward data and
 * weight), conv2d (implicit im2col as shifted matmuls; stride, padding, dilation, groups; backward
 * data and weight), and depthwise convolution, which runs on the vector engine.
 *
 * One PE instruction: PSUM[m, n] (+)= Σ_k S[k, m] · M[k, n], with
 *   k < rows (contraction depth),  m < cols (stationary columns = the parallelism factor),
 *   n < mmax = min(max_moving, PSUM bank / 4) (moving free size: one FP32 bank).
 *
 * Matmul Y[M,N] = A[M,K] · B[K,N]: output features N go on the stationary columns, so latency
 * is a staircase in N with steps at multiples of cols.
 *
 *   SBUF  B tile   [K_t ≤ rows parts × N_t ≤ cols]   stationary
 *         A^T tile [K_t parts × M_c ≤ mmax]         moving (A rows are loaded contiguously and
 *                                                    turned by the vector engine, 128×128 blocks)
 *   PSUM  [N_t parts × M_c] FP32 = Y^T tile, accumulated over K tiles in ascending K
 *         → evacuation (ACT activate with the fused activation, else VEC tensor_copy) into SBUF
 *         → VEC transpose into [M parts × N_t] blocks → DMA to Y rows (runs of N_t elements)
 *   Deep K (no A block over all of K fits): output blocks [Mb × Nb] stay in PSUM while K
 *   streams past in blocks (mm_kb_plan, docs/lowering.md §3).
 *
 * Conv Y[n,co,oh,ow] = Σ_{ci,kh,kw} X[n, ci, oh·s+kh·d−p, ow·s+kw·d−p] · W[co,ci,kh,kw]:
 *
 *   SBUF  band [ci parts × brows × bcols]  input rows an output chunk needs, zero-padded
 *              ┌─────────────── bcols ──────────────┐
 *              │ 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0│  padding rows/cols zeroed by VEC
 *              │ 0 x x x x x x x x x x x x x x x x 0│  moving operand of tap (kh,kw): the window
 *              │ 0 x x x x x x x x x x x x x x x x 0│  offset (kh·d, kw·d), strides (s·bcols, s):
 *              └────────────────────────────────────┘  a 2-D access pattern, no im2col copy
 *         W    [ci parts × taps × C_out]  (stationary tile per (ci tile, tap, co tile))
 *   PSUM  [co ≤ cols parts × rn·cn ≤ mmax pixels], accumulated over C_in tiles (ascending) and,
 *         within each, taps in (kh, kw) row-major order; evacuated with bias and activation,
 *         stored as NCHW rows (channels on partitions = contiguous pixel runs).
 *
 * Filters of WEIGHT-kind convolutions live in HBM in the PE-ready layout
 * [groups][C_in/groups][KH][KW][C_out/groups] (a one-time compile-time relayout, as production
 * compilers do), so a weight row per input channel is one contiguous run.
 *
 * Depthwise (C_in/groups == 1): the vector engine, channels on partitions, per tap
 * acc += window × w[c, tap]. Grouped convolutions with C_in/groups > 1 run on the PE array one
 * group at a time (K = C_in/groups rows, C_out/groups columns).
 */
#include <string.h>

#include "isa/lower_int.h"

static uint64_t mm_es(const lower_ctx *L, uint32_t t) { return asim_dtype_bytes(lower_T(L, t)->dtype); }
static asim_dtype mm_dt(const lower_ctx *L, uint32_t t) { return lower_T(L, t)->dtype; }

/* the array as the lowering uses it: rows (contraction) and cols (stationary columns) clamped to
 * the SBUF partitions, and mmax, the moving free size (one FP32 PSUM bank at most) */
static void pe_dims(const lower_ctx *L, uint32_t *rows, uint32_t *cols, uint64_t *mmax)
{
	uint32_t P = L->c->sbuf.partitions;
	*rows = L->c->pe.rows < P ? L->c->pe.rows : P;
	*cols = L->c->pe.cols < P ? L->c->pe.cols : P;
	*mmax = lower_min(L->c->pe.max_moving, L->bank_bytes / 4);
}

/* Evacuate PSUM tile [np parts × n0 × n1] (n1 rows of n0, contiguous) into SBUF buffer `o` at
 * offset 0: bias (per partition, from `bias` buf at bias_off) and the fused activation. The result
 * is rounded to the output dtype ONCE, by the instruction that writes `o`: with a bias and an
 * activation, the bias is added in PSUM (FP32, in place) and the activation evacuates. `ox` gives
 * the output element index of each element written (functional mode: stochastic rounding). */
static void pe_evacuate_at(lower_ctx *L, lower_buf *ps, uint64_t ps_off, lower_buf *o, asim_dtype odt,
                           uint32_t np, uint32_t n0, uint32_t n1, lower_buf *bias, uint64_t bias_off,
                           asim_dtype bdt, graph_act act, const isa_oidx *ox)
{
	uint64_t es = asim_dtype_bytes(odt);
	isa_ap src = lower_ap_psum(0, np, ps->off + ps_off, n0, n1, (uint64_t)n0 * 4);
	isa_ap dst = lower_ap_sbuf(odt, 0, np, o->off, n0, es, n1, n0 * es);
	if (bias != NULL) {
		isa_inst in = lower_inst(ISA_OP_TENSOR_TENSOR);
		in.func = ISA_ALU_ADD;
		in.src[0] = src;
		in.src[1] = lower_ap_sbuf(bdt, 0, np, bias->off + bias_off, n0, 0, n1, 0);
		if (act == GRAPH_ACT_NONE) {
			in.dst = dst;
			in.oidx = *ox;
			lower_compute(L, LOWER_Q_VEC, &in, o, 1, ps, bias, NULL);
			return;
		}
		in.dst = src;              /* PSUM += bias, FP32 */
		lower_compute(L, LOWER_Q_VEC, &in, ps, 0, ps, bias, NULL);
	}
	isa_inst in = lower_inst(act != GRAPH_ACT_NONE ? ISA_OP_ACTIVATE : ISA_OP_TENSOR_COPY);
	in.func = (uint8_t)(act != GRAPH_ACT_NONE ? act : ISA_ALU_BYPASS);
	in.dst = dst;
	in.src[0] = src;
	in.oidx = *ox;
	lower_compute(L, act != GRAPH_ACT_NONE ? LOWER_Q_ACT : LOWER_Q_VEC, &in, o, 1, ps, NULL, NULL);
}

/* the same, for a tile at the start of its bank */
static void pe_evacuate(lower_ctx *L, lower_buf *ps, lower_buf *o, asim_dtype odt, uint32_t np,
                        uint32_t n0, uint32_t n1, lower_buf *bias, uint64_t bias_off, asim_dtype bdt,
                        graph_act act, const isa_oidx *ox)
{
	pe_evacuate_at(L, ps, 0, o, odt, np, n0, n1, bias, bias_off, bdt, act, ox);
}

/* Store SBUF tile o [np parts × n] (dtype of tensor ty) turned: the vector engine transposes
 * column blocks of ≤ blk into [≤blk parts × np] (staging s[2], alternately, *si counts), each
 * stored to HBM as rows of np elements: element column j goes to addr + j·pstride. */
static void pe_turn_store(lower_ctx *L, uint32_t ty, lower_buf *o, uint32_t np, uint32_t n,
                          uint32_t blk, lower_buf s[2], uint32_t *si, uint64_t addr, uint64_t pstride)
{
	asim_dtype dt = lower_T(L, ty)->dtype;
	uint64_t es = asim_dtype_bytes(dt);
	for (uint32_t r = 0; r < n; r += blk) {
		uint32_t rn = n - r < blk ? n - r : blk;
		lower_buf *sb = &s[(*si)++ % 2];
		isa_inst tr = lower_inst(ISA_OP_TRANSPOSE);
		tr.src[0] = lower_ap_sbuf(dt, 0, np, o->off + r * es, rn, es, 1, 0);
		tr.dst = lower_ap_sbuf(dt, 0, rn, sb->off, np, es, 1, 0);
		lower_compute(L, LOWER_Q_VEC, &tr, sb, 1, o, NULL, NULL);
		isa_ap dst = lower_ap_hbm(dt, addr + r * pstride, rn, pstride, np, es, 1, 0);
		lower_store(L, ty, &dst, &tr.dst, sb);
	}
}

/* ==== matmul ================================================================================ */

/* Per-output-channel bias (or any vector of n elements) onto partitions: element i at partition
 * i % cols, column i / cols. A DMA with one element per partition would move 2-byte runs (the
 * DMA efficiency curve charges each as efficient_bytes); instead the vector is read as ⌈n/cols⌉
 * contiguous rows of cols elements into a stage and turned by the vector engine, 128 rows at a
 * time. `bias` receives [cols parts × ⌈n/cols⌉]. */
static void pe_load_bias(lower_ctx *L, uint32_t t, uint64_t addr, uint64_t n, uint32_t cols,
                         lower_buf *bias, lower_buf *stage)
{
	asim_dtype dt = lower_T(L, t)->dtype;
	uint64_t es = asim_dtype_bytes(dt), ntn = lower_ceil(n, cols);
	uint32_t P = L->c->sbuf.partitions;
	for (uint64_t r0 = 0; r0 < ntn; r0 += P) {
		uint64_t rn = lower_min(P, ntn - r0);
		uint64_t full = lower_min(rn, (n - r0 * cols) / cols), tail = n - (r0 + full) * cols;
		if (full < rn && tail > cols)
			tail = cols;
		if (full) {
			isa_ap src = lower_ap_hbm(dt, addr + r0 * cols * es, (uint32_t)full, cols * es, cols, es, 1, 0);
			isa_ap d = lower_ap_sbuf(dt, 0, (uint32_t)full, stage->off, cols, es, 1, 0);
			lower_load(L, t, &d, &src, stage, 1);
		}
		if (full < rn) {
			isa_ap src = lower_ap_hbm(dt, addr + (r0 + full) * cols * es, 1, tail * es, (uint32_t)tail, es, 1, 0);
			isa_ap d = lower_ap_sbuf(dt, (uint32_t)full, 1, stage->off, (uint32_t)tail, es, 1, 0);
			lower_load(L, t, &d, &src, stage, full == 0);
		}
		isa_inst tr = lower_inst(ISA_OP_TRANSPOSE);
		tr.src[0] = lower_ap_sbuf(dt, 0, (uint32_t)rn, stage->off, cols, es, 1, 0);
		tr.dst = lower_ap_sbuf(dt, 0, cols, bias->off + r0 * es, (uint32_t)rn, es, 1, 0);
		lower_compute(L, LOWER_Q_VEC, &tr, bias, r0 == 0, stage, NULL, NULL);
	}
}

#define MM_BGROUPS 16              /* whole-B loads: at most this many transfers (+ a tail) */
#define MM_ROWBLK 4                /* whole-row output stores: row blocks per moving chunk */

/* a load into `buf` (tensor t) whose writer tokens are also returned in *tok */
static void mm_load_tok(lower_ctx *L, uint32_t t, const isa_ap *dst, const isa_ap *src,
                        lower_buf *buf, int fresh, lower_dep *tok)
{
	lower_dep d = L->tdep[t];
	if (fresh) {
		lower_dep h = lower_buf_fill(buf);
		lower_dep_merge(&d, &h);
	} else {
		lower_dep_merge(&d, &buf->haz);
	}
	*tok = lower_nodep;
	lower_dma(L, 0, dst, src, &d, tok);
	lower_buf_wrote(buf, tok);
}

typedef struct mm_desc {
	uint32_t ta, tb, ty;
	int tbias;                     /* -1: none */
	int a_km;                      /* A stored [K, M] (else [M, K]) */
	int b_nk;                      /* B stored [N, K] (else [K, N]) */
	int y_nm;                      /* Y stored [N, M] (else [M, N]): the Y^T tiles in PSUM are
	                                * stored as they are, without the vector engine's turn */
	uint64_t M, K, N, batch;
	graph_act act;
} mm_desc;

/* byte offset of batch `bi` in tensor t whose last two dims are the matrix (broadcasting) */
static uint64_t mm_batch_off(const lower_ctx *L, uint32_t t, uint32_t ty, uint64_t bi, int fold)
{
	const graph_tensor *T = lower_T(L, t), *Y = lower_T(L, ty);
	if (fold || T->rank <= 2)
		return 0;
	uint64_t mat = T->shape[T->rank - 1] * T->shape[T->rank - 2] * asim_dtype_bytes(T->dtype);
	uint64_t off = 0, mul = mat;
	/* walk batch dims from the innermost; Y's batch dims give the index */
	int yi = (int)Y->rank - 3, ti = (int)T->rank - 3;
	for (; yi >= 0; yi--, ti--) {
		uint64_t ydim = Y->shape[yi], idx = bi % ydim;
		bi /= ydim;
		if (ti < 0)
			continue;
		if (T->shape[ti] != 1)
			off += idx * mul;
		mul *= T->shape[ti];
	}
	return off;
}

/* Load block [k0, k0+kn) × [f0, f0+fn) of an operand as [kn parts × fn] into `dst` at byte
 * offset doff (row length of the destination: contiguous). `kmajor`: stored [K, F] (direct);
 * else stored [F, K]: load rows of F into a stage and transpose on the vector engine. */
static void mm_load_kf(lower_ctx *L, uint32_t t, uint64_t base, uint64_t ld, int kmajor,
                       uint64_t k0, uint32_t kn, uint64_t f0, uint32_t fn, lower_buf *dst,
                       uint64_t doff, int fresh, lower_buf stage[2], uint32_t *stage_i)
{
	asim_dtype dt = mm_dt(L, t);
	uint64_t es = asim_dtype_bytes(dt);
	if (kmajor) {
		isa_ap src = lower_ap_hbm(dt, base + (k0 * ld + f0) * es, kn, ld * es, fn, es, 1, 0);
		isa_ap d = lower_ap_sbuf(dt, 0, kn, dst->off + doff, fn, es, 1, 0);
		lower_load(L, t, &d, &src, dst, fresh);
		return;
	}
	uint32_t blk = L->c->sbuf.partitions < 128 ? L->c->sbuf.partitions : 128;
	for (uint32_t fb = 0; fb < fn; fb += blk) {
		uint32_t bn = fn - fb < blk ? fn - fb : blk;
		lower_buf *s = &stage[(*stage_i)++ % 2];
		isa_ap src = lower_ap_hbm(dt, base + ((f0 + fb) * ld + k0) * es, bn, ld * es, kn, es, 1, 0);
		isa_ap sd = lower_ap_sbuf(dt, 0, bn, s->off, kn, es, 1, 0);
		lower_load(L, t, &sd, &src, s, 1);
		isa_inst tr = lower_inst(ISA_OP_TRANSPOSE);
		tr.src[0] = sd;
		tr.dst = lower_ap_sbuf(dt, 0, kn, dst->off + doff + fb * es, bn, es, 1, 0);
		lower_compute(L, LOWER_Q_VEC, &tr, dst, fresh && fb == 0, s, NULL, NULL);
	}
}

/* An operand t stored [F, K] (A stored [M, K], or B stored [N, K]): rows [m0, m0+mbn) × columns
 * [k0, k0+kspan) in 128-row blocks of whole runs (one transfer of kspan elements per partition
 * into a stage), each K tile turned by the vector engine into tile [≤rows parts × mbn] number
 * ktd + j of `ab` (tile j of the span) */
static void mm_load_rows_turned(lower_ctx *L, uint32_t t, uint64_t K, uint64_t abase, uint64_t m0,
                                uint64_t mbn, uint64_t k0, uint64_t kspan, lower_buf *ab, uint64_t ktd,
                                lower_buf astage[2], uint32_t *asi)
{
	uint32_t rows, cols, P = L->c->sbuf.partitions, blk = P < 128 ? P : 128;
	uint64_t mmax, esA = mm_es(L, t);
	asim_dtype dtA = mm_dt(L, t);
	pe_dims(L, &rows, &cols, &mmax);
	for (uint64_t fb = 0; fb < mbn; fb += blk) {
		uint32_t bn = (uint32_t)lower_min(blk, mbn - fb);
		lower_buf *s = &astage[(*asi)++ % 2];
		isa_ap src = lower_ap_hbm(dtA, abase + ((m0 + fb) * K + k0) * esA, bn, K * esA,
		                          (uint32_t)kspan, esA, 1, 0);
		isa_ap sd = lower_ap_sbuf(dtA, 0, bn, s->off, (uint32_t)kspan, esA, 1, 0);
		lower_load(L, t, &sd, &src, s, 1);
		for (uint64_t j = 0; j * rows < kspan; j++) {
			uint32_t kn = (uint32_t)lower_min(rows, kspan - j * rows);
			isa_inst tr = lower_inst(ISA_OP_TRANSPOSE);
			tr.src[0] = lower_ap_sbuf(dtA, 0, bn, s->off + j * rows * esA, kn, esA, 1, 0);
			tr.dst = lower_ap_sbuf(dtA, 0, kn, ab->off + ((ktd + j) * mbn + fb) * esA, bn, esA, 1, 0);
			lower_compute(L, LOWER_Q_VEC, &tr, ab, fb == 0 && j == 0 && ktd == 0, s, NULL, NULL);
		}
	}
}

/* B stored [K, N]: rows [k0, k0+kspan) × columns [n0, n0+pn) as K tiles [≤rows parts × pn], tile
 * j at byte offset doff + j·pst of `pb` (a fresh fill of pb when `fresh`, else more of the
 * current one): the full tiles in one transfer (partition p holds rows k0 + j·rows + p: runs of
 * pn elements), a partial last tile in a second */
static void mm_load_bblock(lower_ctx *L, const mm_desc *m, uint64_t bbase, uint64_t k0, uint64_t kspan,
                           uint64_t n0, uint32_t pn, lower_buf *pb, uint64_t doff, uint64_t pst, int fresh)
{
	uint32_t rows, cols;
	uint64_t mmax, esB = mm_es(L, m->tb), kfull;
	asim_dtype dtB = mm_dt(L, m->tb);
	pe_dims(L, &rows, &cols, &mmax);
	kfull = kspan / rows;
	if (kfull) {
		isa_ap src = lower_ap_hbm(dtB, bbase + (k0 * m->N + n0) * esB, rows, m->N * esB, pn, esB,
		                          (uint32_t)kfull, rows * m->N * esB);
		isa_ap d = lower_ap_sbuf(dtB, 0, rows, pb->off + doff, pn, esB, (uint32_t)kfull, pst);
		lower_load(L, m->tb, &d, &src, pb, fresh);
	}
	if (kfull * rows < kspan)
		mm_load_kf(L, m->tb, bbase, m->N, 1, k0 + kfull * rows, (uint32_t)(kspan - kfull * rows), n0, pn,
		           pb, doff + kfull * pst, fresh && kfull == 0, NULL, NULL);
}

/* evacuate Y^T tile [nn parts × mcn] (PSUM bank p at byte offset poff) into `o`, with the bias
 * (when the op has one) and the activation: element (n, r) is Y row `row` + r, column nt·cols + n */
static void mm_evac_yt(lower_ctx *L, const mm_desc *m, lower_buf *p, uint64_t poff, lower_buf *o,
                       lower_buf *bias, uint64_t row, uint64_t nt, uint32_t nn, uint32_t mcn)
{
	uint32_t rows, cols;
	uint64_t mmax;
	pe_dims(L, &rows, &cols, &mmax);
	asim_dtype dtY = mm_dt(L, m->ty);
	uint64_t esb = m->tbias >= 0 ? mm_es(L, (uint32_t)m->tbias) : 0;
	/* row = b·M + r: Y [M, N] element (r, n) at b·M·N + r·N + n; stored [N, M] at b·M·N + n·M + r */
	uint64_t bi = row / m->M, r = row % m->M;
	isa_oidx ox = m->y_nm ? lower_oidx(0, (int64_t)(bi * m->M * m->N + nt * cols * m->M + r), (int64_t)m->M, 1, 0)
	                      : lower_oidx(0, (int64_t)(row * m->N + nt * cols), 1, (int64_t)m->N, 0);
	pe_evacuate_at(L, p, poff, o, dtY, nn, mcn, 1, m->tbias >= 0 ? bias : NULL, nt * esb,
	               m->tbias >= 0 ? mm_dt(L, (uint32_t)m->tbias) : dtY, m->act, &ox);
}

/* Y^T tile o [nn parts × mcn] (columns nt·cols…, rows r0…) to a Y stored [N, M] (y_nm): as it
 * is, partition n a run of mcn elements of row nt·cols + n -- the turn is the store's layout */
static void mm_store_yt(lower_ctx *L, const mm_desc *m, lower_buf *o, uint32_t nn, uint32_t mcn,
                        uint64_t ybase, uint64_t nt, uint64_t r0)
{
	uint32_t rows, cols;
	uint64_t mmax, esY = mm_es(L, m->ty);
	asim_dtype dtY = mm_dt(L, m->ty);
	pe_dims(L, &rows, &cols, &mmax);
	isa_ap dst = lower_ap_hbm(dtY, ybase + (nt * cols * m->M + r0) * esY, nn, m->M * esY, mcn, esY, 1, 0);
	isa_ap src = lower_ap_sbuf(dtY, 0, nn, o->off, mcn, esY, 1, 0);
	lower_store(L, m->ty, &dst, &src, o);
}

/* the output staging of both schedules: evacuated tiles yb [cols parts × mmax], turned blocks
 * ys [≤128 parts × cols], and the bias [cols parts × ⌈N/cols⌉] with its stage */
static void mm_alloc_out(lower_ctx *L, const mm_desc *m, lower_buf yb[2], lower_buf ys[2],
                         lower_buf *bias, lower_buf *bstage)
{
	uint32_t rows, cols;
	uint64_t mmax, esY = mm_es(L, m->ty);
	pe_dims(L, &rows, &cols, &mmax);
	for (int i = 0; i < 2; i++) {
		lower_sbuf_alloc(L, &yb[i], mmax * esY);
		lower_sbuf_alloc(L, &ys[i], cols * esY);
	}
	if (m->tbias >= 0) {
		uint64_t esb = mm_es(L, (uint32_t)m->tbias);
		lower_sbuf_alloc(L, bias, lower_ceil(m->N, cols) * esb);
		lower_sbuf_alloc(L, bstage, cols * esb);
	}
}

/* bytes per partition that a buffer of x bytes takes: lower_sbuf_alloc rounds to whole chunks */
static uint64_t mm_rnd(const lower_ctx *L, uint64_t x) { return lower_ceil(lower_max(x, 1), L->chunk) * L->chunk; }

/* the largest multiple of the chunk ≤ x: n items of s bytes with n·s ≤ mm_down(x) still fit
 * once rounded up to whole chunks */
static uint64_t mm_down(const lower_ctx *L, uint64_t x) { return x / L->chunk * L->chunk; }

/* ---- large operands: output blocks held in PSUM, K streamed ------------------------------
 * When B is not resident and no A block over all of K fits beside two panels (K large: the
 * 2048×11008×4096 down-projection), the output is computed in BLOCKS of Mb rows × Nb columns that
 * stay in PSUM (nmc moving chunks of mcw × nbt stationary tiles = every PSUM slot of the op; a
 * slot is [cols parts × mcw] FP32, mmax/mcw of them per bank) while K streams past in blocks of
 * kb tiles: per K block, B [kb tiles × Nb] (one transfer, runs of Nb elements) and -- unless the
 * A^T block spans all of K and stays for the whole row of output blocks (a_full) -- A^T
 * [kb tiles × Mb] (whole-row runs of kb·rows elements, turned by the vector engine). The K tiles
 * accumulate in PSUM in ascending K, as everywhere. Traffic: A·(a_full ? 1 : ⌈N/Nb⌉) +
 * B·⌈M/Mb⌉ + Y. The plan with the smallest estimate max(DMA time at the queues' peak and run
 * efficiency, vector time of A's transposes) is taken.
 * With `b_res` (B fits the weights-resident rule but no A block over all of K fits beside it:
 * the 16384×8192×256 matmul in an op's 96 KiB) the same blocks, but B is loaded once for the op
 * into one buffer [all K tiles × N] (Nb = N), in pieces of kb tiles as the first row of blocks
 * reaches them, and A streams in K blocks of whole-row runs: traffic A + B + Y. */
typedef struct mm_kb {
	uint64_t mcw, nmc, nbt, kb;
	int a_full, b_res;
	double cost;                   /* ns */
} mm_kb;

static double mm_dma_eff(const chip *c, uint64_t run)
{
	return run >= c->dma.efficient_bytes ? 1.0 : (double)c->dma.efficient_bytes / (double)lower_max(run, 1);
}

static int mm_kb_plan(const lower_ctx *L, const mm_desc *m, uint64_t budget, int bres, mm_kb *best)
{
	const chip *c = L->c;
	uint32_t rows, cols, P = c->sbuf.partitions, blk = P < 128 ? P : 128;
	uint64_t mmax;
	pe_dims(L, &rows, &cols, &mmax);
	uint64_t esA = mm_es(L, m->ta), esB = mm_es(L, m->tb), esY = mm_es(L, m->ty);
	uint64_t esb = m->tbias >= 0 ? mm_es(L, (uint32_t)m->tbias) : 0;
	uint64_t ktn = lower_ceil(m->K, rows), ntn = lower_ceil(m->N, cols);
	uint64_t nps = lower_min(L->psum_budget, LOWER_MAX_BUFS / 4);
	uint64_t fixed = 2 * mmax * esY + 2 * cols * esY + ntn * esb + cols * esb;
	double bw = c->dma_gb_per_s;                                    /* bytes per ns */
	double tr_ns = (double)(c->vector.fixed_cycles + blk) / c->vector.clock_ghz;  /* one 128×128 turn */
	best->cost = -1;
	fixed += (m->b_nk ? 14 : 12) * L->chunk;   /* each buffer rounds up to whole chunks */
	if (bres)                                  /* the whole of B, one buffer */
		fixed += mm_rnd(L, ktn * m->N * esB);
	if (fixed >= budget)
		return -1;
	/* per K tile of a block: the stages of the operands stored with K innermost (A [M, K],
	 * B [N, K]: whole rows of the block's K span, turned by the vector engine) */
	uint64_t rest = budget - fixed, stg = (m->a_km ? 0 : 2 * rows * esA) + (m->b_nk ? 2 * rows * esB : 0);
	for (uint64_t mcw = lower_min(mmax, m->M); mcw >= 1; mcw /= 2) {
		uint64_t spb = mmax / mcw, S = nps * spb;
		for (uint64_t nmc = 1; nmc <= S; nmc++) {
			if (S % nmc || (nmc > 1 && (nmc - 1) * mcw >= m->M))
				continue;
			uint64_t nbt = lower_min(S / nmc, ntn);
			uint64_t Mb = lower_min(nmc * mcw, m->M), Nb = lower_min(nbt * cols, m->N);
			if (bres && Nb < m->N)
				continue;
			for (int a_full = 1; a_full >= 0; a_full--) {
				uint64_t abytes = a_full ? 2 * ktn * Mb * esA : 0;
				uint64_t per = (bres ? 0 : 2 * Nb * esB) + stg + (a_full ? 0 : 2 * Mb * esA);
				if (abytes >= rest)
					continue;
				/* per = 0: B resident and A^T over all of K, nothing staged per K tile */
				uint64_t kb = per ? lower_min(ktn, (rest - abytes) / per) : ktn;
				if (kb == 0)
					continue;
				double apass = a_full ? 1 : (double)lower_ceil(m->N, Nb);
				uint64_t arun = m->a_km ? Mb * esA : lower_min(kb * rows, m->K) * esA;
				uint64_t brun = m->b_nk ? lower_min(kb * rows, m->K) * esB : Nb * esB;
				double bpass = bres ? 1 : (double)lower_ceil(m->M, Mb);
				double dma = apass * (double)(m->M * m->K * esA) * mm_dma_eff(c, arun)
				           + bpass * (double)(m->K * m->N * esB) * mm_dma_eff(c, brun);
				double vec = (m->a_km ? 0 : apass * (double)(lower_ceil(m->M, blk) * ktn) * tr_ns)
				           + (m->b_nk ? bpass * (double)(lower_ceil(m->N, blk) * ktn) * tr_ns : 0);
				double cost = dma / bw > vec ? dma / bw : vec;
				if (best->cost < 0 || cost < best->cost) {
					best->mcw = mcw;
					best->nmc = nmc;
					best->nbt = nbt;
					best->kb = kb;
					best->a_full = a_full;
					best->b_res = bres;
					best->cost = cost;
				}
			}
		}
		if (mcw < blk)
			break;
	}
	return best->cost < 0 ? -1 : 0;
}

static int mm_lower_kb(lower_ctx *L, const mm_desc *m, int fold, const mm_kb *pl)
{
	uint32_t rows, cols, P = L->c->sbuf.partitions, blk = P < 128 ? P : 128;
	uint64_t mmax;
	pe_dims(L, &rows, &cols, &mmax);
	uint64_t esA = mm_es(L, m->ta), esB = mm_es(L, m->tb), esY = mm_es(L, m->ty);
	asim_dtype dtA = mm_dt(L, m->ta), dtB = mm_dt(L, m->tb);
	uint64_t ktn = lower_ceil(m->K, rows);
	uint64_t mcw = pl->mcw, spb = mmax / mcw, kb = pl->kb;
	uint64_t Mb = lower_min(pl->nmc * mcw, m->M), Nb = lower_min(pl->nbt * cols, m->N);
	uint64_t nps = lower_min(L->psum_budget, LOWER_MAX_BUFS / 4);
	lower_buf yb[2], ys[2], bias, bstage, abuf[2], bbuf[2], astage[2], btstage[2], ps[LOWER_MAX_BUFS / 4];
	uint32_t yi = 0, ysi = 0, ai = 0, bi = 0, asi = 0, bsi = 0;
	mm_alloc_out(L, m, yb, ys, &bias, &bstage);
	if (pl->b_res)
		lower_sbuf_alloc(L, &bbuf[0], ktn * m->N * esB);
	for (int i = 0; i < 2; i++) {
		lower_sbuf_alloc(L, &abuf[i], (pl->a_full ? ktn : kb) * Mb * esA);
		if (!pl->b_res)
			lower_sbuf_alloc(L, &bbuf[i], kb * Nb * esB);
		if (!m->a_km)
			lower_sbuf_alloc(L, &astage[i], lower_min(kb * rows, m->K) * esA);
		if (m->b_nk)
			lower_sbuf_alloc(L, &btstage[i], lower_min(kb * rows, m->K) * esB);
	}
	for (uint64_t i = 0; i < nps; i++)
		lower_psum_alloc(L, &ps[i]);
	if (m->tbias >= 0)
		pe_load_bias(L, (uint32_t)m->tbias, L->hbm_addr[(uint32_t)m->tbias], m->N, cols, &bias, &bstage);
	lower_buf *ab = &abuf[0];
	uint64_t prev_bbase = UINT64_MAX;
	for (uint64_t b = 0; b < m->batch; b++) {
		uint64_t abase = L->hbm_addr[m->ta] + mm_batch_off(L, m->ta, m->ty, b, fold);
		uint64_t bbase = L->hbm_addr[m->tb] + mm_batch_off(L, m->tb, m->ty, b, fold);
		uint64_t ybase = L->hbm_addr[m->ty] + b * m->M * m->N * esY;
		for (uint64_t m0 = 0; m0 < m->M; m0 += Mb) {
			uint64_t mbn = lower_min(Mb, m->M - m0), nmc = lower_ceil(mbn, mcw);
			for (uint64_t n0 = 0; n0 < m->N; n0 += Nb) {
				uint64_t nbn = lower_min(Nb, m->N - n0), nbt = lower_ceil(nbn, cols);
				for (uint64_t kt0 = 0; kt0 < ktn; kt0 += kb) {
					uint64_t kbn = lower_min(kb, ktn - kt0), k0 = kt0 * rows;
					uint64_t kspan = lower_min(kbn * rows, m->K - k0);
					/* A^T: per K block, or (a_full) all of K once per row of output blocks */
					if (!pl->a_full || n0 == 0) {
						if (!pl->a_full || kt0 == 0)
							ab = &abuf[ai++ % 2];
						uint64_t ktd = pl->a_full ? kt0 : 0;
						if (m->a_km)
							for (uint64_t j = 0; j < kbn; j++)
								mm_load_kf(L, m->ta, abase, m->M, 1, k0 + j * rows,
								           (uint32_t)lower_min(rows, m->K - k0 - j * rows), m0, (uint32_t)mbn,
								           ab, (ktd + j) * mbn * esA, ktd + j == 0, NULL, NULL);
						else
							mm_load_rows_turned(L, m->ta, m->K, abase, m0, mbn, k0, kspan, ab, ktd, astage, &asi);
					}
					/* B [kb tiles × Nb]: stored [K, N], one transfer; stored [N, K], whole-row
					 * runs of the K span turned like A's. Resident (b_res): all of B, tile kt at
					 * kt·N, loaded piece by piece by the first row of blocks of a batch's B */
					lower_buf *bb = pl->b_res ? &bbuf[0] : &bbuf[bi++ % 2];
					if (pl->b_res) {
						if (bbase != prev_bbase) {
							if (m->b_nk)
								mm_load_rows_turned(L, m->tb, m->K, bbase, 0, m->N, k0, kspan, bb, kt0,
								                    btstage, &bsi);
							else
								mm_load_bblock(L, m, bbase, k0, kspan, 0, (uint32_t)m->N, bb,
								               kt0 * m->N * esB, m->N * esB, kt0 == 0);
							if (kt0 + kbn == ktn)
								prev_bbase = bbase;
						}
					} else if (m->b_nk)
						mm_load_rows_turned(L, m->tb, m->K, bbase, n0, nbn, k0, kspan, bb, 0, btstage, &bsi);
					else
						mm_load_bblock(L, m, bbase, k0, kspan, n0, (uint32_t)nbn, bb, 0, nbn * esB, 1);
					for (uint64_t nt = 0; nt < nbt; nt++) {
						uint32_t nn = (uint32_t)lower_min(cols, nbn - nt * cols);
						for (uint64_t mc = 0; mc < nmc; mc++) {
							uint32_t mcn = (uint32_t)lower_min(mcw, mbn - mc * mcw);
							uint64_t sl = nt * nmc + mc;
							lower_buf *p = &ps[sl / spb];
							for (uint64_t j = 0; j < kbn; j++) {
								uint64_t kt = kt0 + j, ka = pl->a_full ? kt : j, kbi = pl->b_res ? kt : j;
								uint32_t kn = (uint32_t)lower_min(rows, m->K - kt * rows);
								isa_inst in = lower_inst(ISA_OP_MATMUL);
								in.flags = kt > 0 ? ISA_F_ACCUMULATE : 0;
								in.src[0] = lower_ap_sbuf(dtB, 0, kn, bb->off + (kbi * nbn + nt * cols) * esB, nn, esB, 1, 0);
								in.src[1] = lower_ap_sbuf(dtA, 0, kn, ab->off + (ka * mbn + mc * mcw) * esA, mcn, esA, 1, 0);
								in.dst = lower_ap_psum(0, nn, p->off + (sl % spb) * mcw * 4, mcn, 1, 0);
								lower_compute(L, LOWER_Q_PE, &in, p, kt == 0 && sl % spb == 0, bb, ab, NULL);
							}
						}
					}
				}
				/* the block is complete: evacuate, turn, store (Y rows, runs of ≤ cols) */
				for (uint64_t nt = 0; nt < nbt; nt++) {
					uint32_t nn = (uint32_t)lower_min(cols, nbn - nt * cols);
					for (uint64_t mc = 0; mc < nmc; mc++) {
						uint32_t mcn = (uint32_t)lower_min(mcw, mbn - mc * mcw);
						uint64_t sl = nt * nmc + mc, ntg = n0 / cols + nt, r0 = m0 + mc * mcw;
						lower_buf *o = &yb[yi++ % 2];
						mm_evac_yt(L, m, &ps[sl / spb], (sl % spb) * mcw * 4, o, &bias, b * m->M + r0, ntg, nn, mcn);
						if (m->y_nm) {
							mm_store_yt(L, m, o, nn, mcn, ybase, ntg, r0);
							continue;
						}
						pe_turn_store(L, m->ty, o, nn, mcn, blk, ys, &ysi, ybase + (r0 * m->N + ntg * cols) * esY,
						              m->N * esY);
					}
				}
			}
		}
	}
	lower_release(L);
	return 0;
}

static int mm_lower(lower_ctx *L, const mm_desc *m, int fold)
{
	const chip *c = L->c;
	uint32_t rows, cols, P = c->sbuf.partitions;
	uint64_t mmax;
	pe_dims(L, &rows, &cols, &mmax);
	int serial = c->pe.mode == CHIP_PE_SERIAL_FOLDS;
	uint64_t mmax_out = mmax;      /* mm_alloc_out sizes the evacuation buffers by the bank */
	/* output-stationary serial-fold arrays hold an output tile [≤cols filters × ≤rows pixels]
	 * in the PEs and stream the contraction: moving chunks of at most `rows` (SCALE-Sim OS:
	 * S_R = ofmap pixels on the rows) */
	if (serial && c->pe.dataflow == CHIP_OUTPUT_STATIONARY)
		mmax = lower_min(mmax, rows);
	uint64_t esA = mm_es(L, m->ta), esB = mm_es(L, m->tb), esY = mm_es(L, m->ty);
	asim_dtype dtY = mm_dt(L, m->ty), dtA = mm_dt(L, m->ta), dtB = mm_dt(L, m->tb);
	uint64_t ktn = lower_ceil(m->K, rows), ntn = lower_ceil(m->N, cols);
	uint64_t budget = lower_budget(L);
	/* the half-ring rule leaves the other half to the NEXT op's prefetch; the graph's last op
	 * (reshapes aside) has none, and takes the whole ring (its first writes into the previous
	 * op's chunks wait for their last accesses, lower.c) */
	int last = 1;
	for (size_t i = (size_t)L->gop + 1; i < L->g->n_ops && last; i++)
		if (L->g->ops[i].type != GRAPH_OP_RESHAPE)
			last = 0;
	if (last) {
		/* the whole ring, started at its first chunk: a ring head mid-way would wrap an op
		 * of more than half the ring onto its own earlier buffers */
		budget = L->sbuf_cap;
		L->ring = 0;
	}
	if (mmax == 0)
		return lower_mapping_error(L, "PSUM bank too small for one FP32 column");
	/* fixed buffers */
	uint64_t stage_b = (!m->a_km || m->b_nk) ? lower_min(m->K, rows) * lower_max(esA, esB) : 0;
	uint64_t esb = m->tbias >= 0 ? mm_es(L, (uint32_t)m->tbias) : 0;
	/* every term below is in whole chunks (mm_rnd, mm_down), as lower_sbuf_alloc allocates */
	uint64_t fixed = (stage_b ? 2 * mm_rnd(L, stage_b) : 0) + 2 * mm_rnd(L, mmax_out * esY)
	               + 2 * mm_rnd(L, cols * esY) + (esb ? mm_rnd(L, ntn * esb) + mm_rnd(L, cols * esb) : 0);
	if (fixed > budget)
		return lower_mapping_error(L, "matmul staging buffers need %llu bytes per SBUF partition, "
		                           "%llu available", (unsigned long long)fixed,
		                           (unsigned long long)budget);
	uint64_t rest = budget - fixed;
	/* B: resident, or streamed per (kt, nt) tile (double-buffered) */
	int b_res = mm_rnd(L, ktn * m->N * esB) <= rest / 2;
	/* Not resident: a BLOCK of A (Mb rows × all of K, as A^T tiles) stays in SBUF while B
	 * streams past it in PANELS [all K tiles × pw stationary column tiles], one transfer each,
	 * double-buffered. Each panel is reused across the Mb rows, so the HBM traffic is
	 *     A + B·⌈M/Mb⌉ + Y        (arithmetic intensity 2·Mb / es_B FLOP per byte of B)
	 * and the schedule takes the largest Mb that fits beside two panels. pw: the smallest
	 * power of two whose runs (pw·cols·es_B bytes per partition) reach dma.efficient_bytes,
	 * narrowed only when the A block would fall below one moving chunk. One tile at a time
	 * when not even that fits, or B is stored [N, K]. */
	uint64_t mc0 = lower_min(m->M, mmax), amin = mc0;   /* blocks of whole moving chunks */
	uint64_t pw = 1;
	while (pw * cols * esB < c->dma.efficient_bytes && pw < ntn)
		pw *= 2;
	int b_panel = 0;
	if (!b_res && !m->b_nk)
		for (;; pw /= 2) {
			uint64_t pb = mm_rnd(L, ktn * pw * cols * esB);
			if (2 * pb <= rest && mm_down(L, (rest - 2 * pb) / 2) / lower_max(ktn * esA, 1) >= amin) {
				b_panel = 1;
				break;
			}
			if (pw == 1)
				break;
		}
	/* no panel beside an A block over all of K: output blocks in PSUM, K streamed (above) */
	mm_kb kbp = {0, 0, 0, 0, 0, 0, 0};
	if (!b_res && !b_panel && !serial && mm_kb_plan(L, m, budget, 0, &kbp) == 0) {
		return mm_lower_kb(L, m, fold, &kbp);
	}
	uint64_t b_bytes = b_res ? ktn * m->N * esB : b_panel ? ktn * pw * cols * esB : cols * esB;
	if (!b_res && !b_panel && 2 * mm_rnd(L, b_bytes) > rest / 2)
		return lower_mapping_error(L, "a %u-column weight tile does not fit in SBUF", cols);
	rest -= b_res ? mm_rnd(L, b_bytes) : 2 * mm_rnd(L, b_bytes);
	/* A^T: a block of Mb columns per K tile, double-buffered (a multiple of the moving chunk, so
	 * the tile count stays ⌈K/rows⌉·⌈N/cols⌉·⌈M/mmax⌉); else streamed per tile */
	uint64_t mb = mm_down(L, rest / 2) / lower_max(ktn * esA, 1);
	/* A stored [M, K] with B resident: the block size buys nothing (B is read once), so the
	 * block shrinks (whole moving chunks) to make room for the whole-row staging of A below:
	 * one transfer of whole rows per 128-row block instead of one run of `rows` elements per
	 * row per K tile (16384×8192×256 BF16 on trn1: 3.93 → 1.6 ms; docs/lowering.md §3) */
	if (b_res && !m->a_km && mb >= amin && rest >= 2 * mm_rnd(L, m->K * esA)) {
		uint64_t mbw = mm_down(L, (rest - 2 * mm_rnd(L, m->K * esA)) / 2) / lower_max(ktn * esA, 1);
		if (mbw >= amin)
			mb = mbw;
	}
	int a_res = mb >= amin;
	/* B resident, but not even one moving chunk of A over all of K fits beside it (16384×8192
	 * ×256 BF16 in an op's 96 KiB): rather than A one [rows × rows] tile per transfer, reloaded
	 * and turned again for every stationary tile, output blocks in PSUM with B resident and A
	 * streamed in K blocks of whole-row runs, turned once (mm_kb_plan, b_res) */
	if (b_res && !a_res && !serial && mm_kb_plan(L, m, budget, 1, &kbp) == 0)
		return mm_lower_kb(L, m, fold, &kbp);
	if (a_res) {
		mb = mb / mc0 * mc0;
		if (mb > m->M)
			mb = m->M;
	} else {
		mb = mc0;
		if (2 * mm_rnd(L, mmax * esA) > rest)
			return lower_mapping_error(L, "a moving tile does not fit in SBUF");
	}
	uint64_t a_bytes = a_res ? ktn * mb * esA : mmax * esA;
	/* whole-row staging of A (stored [M, K]) when two rows of K fit beside everything else */
	uint64_t used = fixed + (b_res ? mm_rnd(L, b_bytes) : 2 * mm_rnd(L, b_bytes)) + 2 * mm_rnd(L, a_bytes);
	int a_wide = a_res && !m->a_km && 2 * mm_rnd(L, m->K * esA) <= budget - lower_min(budget, used);
	/* else staging of K spans (whole K tiles, at least two: runs of ≥ 2·rows elements) when
	 * two such spans fit; one K tile per transfer otherwise */
	uint64_t a_span = a_wide ? m->K : 0;
	if (a_res && !m->a_km && !a_wide) {
		uint64_t sp = mm_down(L, (budget - lower_min(budget, used)) / 2) / esA / rows * rows;
		if (sp >= 2 * (uint64_t)rows && sp < m->K) {
			a_span = sp;
			a_wide = 1;
		}
	}
	uint32_t blk = P < 128 ? P : 128, asi = 0;

	lower_buf stage[2], yb[2], ys[2], bias, bstage, bbuf[2], abuf[2], astage[2];
	lower_buf ps[LOWER_MAX_BUFS / 4];
	uint32_t si = 0, yi = 0, ysi = 0, bi = 0, ai = 0, pi = 0;
	if (stage_b)
		for (int i = 0; i < 2; i++)
			lower_sbuf_alloc(L, &stage[i], stage_b);
	mm_alloc_out(L, m, yb, ys, &bias, &bstage);
	lower_sbuf_alloc(L, &bbuf[0], b_bytes);
	if (!b_res)
		lower_sbuf_alloc(L, &bbuf[1], b_bytes);
	for (int i = 0; i < 2; i++)
		lower_sbuf_alloc(L, &abuf[i], a_bytes);
	if (a_wide)
		for (int i = 0; i < 2; i++)
			lower_sbuf_alloc(L, &astage[i], a_span * esA);
	/* whole output rows (runs of N) when N spans several stationary tiles and two sets of
	 * row blocks fit in what is left */
	uint64_t nrb = lower_ceil(lower_min(mmax, m->M), blk);
	used += a_wide ? 2 * mm_rnd(L, a_span * esA) : 0;
	int rowstore = b_res && ntn > 1 && !m->y_nm && nrb <= MM_ROWBLK
	               && 2 * nrb * mm_rnd(L, m->N * esY) <= budget - lower_min(budget, used);
	/* input-stationary serial-fold arrays: A^T resident, B resident, no bias (else the WS
	 * mapping; docs/lowering.md) */
	int is_mode = serial && c->pe.dataflow == CHIP_INPUT_STATIONARY && a_res && b_res
	              && m->tbias < 0 && !m->y_nm && (mb % cols == 0 || mb >= m->M);
	if (is_mode)
		rowstore = 0;
	lower_buf yrow[2][MM_ROWBLK];
	uint32_t yri = 0;
	if (rowstore)
		for (int i = 0; i < 2; i++)
			for (uint64_t r = 0; r < nrb; r++)
				lower_sbuf_alloc(L, &yrow[i][r], m->N * esY);
	uint32_t nps = L->psum_budget < LOWER_MAX_BUFS / 4 ? L->psum_budget : LOWER_MAX_BUFS / 4;
	for (uint32_t i = 0; i < nps; i++)
		lower_psum_alloc(L, &ps[i]);

	const graph_tensor *TA = lower_T(L, m->ta), *TB = lower_T(L, m->tb);
	uint64_t lda = m->a_km ? m->M : m->K, ldb = m->b_nk ? m->K : m->N;
	(void)TA; (void)TB;
	if (m->tbias >= 0)
		pe_load_bias(L, (uint32_t)m->tbias, L->hbm_addr[(uint32_t)m->tbias], m->N, cols, &bias,
		             &bstage);
	uint64_t prev_boff = UINT64_MAX;
	int a_first = 1;
	for (int q = 0; q < LOWER_MAXQ; q++)
		if (L->tdep[m->ta].v[q])
			a_first = 0;
	lower_dep bgrp[MM_BGROUPS + 1];          /* grouped whole-B loads: each group's writers */
	uint64_t kg = 1;
	int grouped = 0;
	/* Blocks of A in order (batch, m0). The loads and turns of block s are emitted BEFORE the
	 * matmuls of block s − 1 (A blocks are double-buffered), so the vector engine turns the
	 * next block while the PE array works on this one; in program order they came after it,
	 * and the two engines took turns (latency ≈ VEC + PE busy). Not when block s reloads a
	 * resident B (a new batch of B): that reload must follow block s − 1's matmuls. */
	uint64_t nmb = lower_ceil(m->M, mb), nblk = m->batch * nmb;
	uint64_t cb = 0, cm0 = 0, cmbn = 0, cabase = 0, cbbase = 0, cybase = 0;
	lower_buf *cab = NULL;
	for (uint64_t sblk = 0; sblk <= nblk; sblk++) {
		uint64_t lb = sblk / nmb, lm0 = sblk % nmb * mb, lmbn = 0, labase = 0, lbbase = 0, lybase = 0;
		lower_buf *lab = NULL;
		if (sblk < nblk) {
			labase = L->hbm_addr[m->ta] + mm_batch_off(L, m->ta, m->ty, lb, fold);
			lbbase = L->hbm_addr[m->tb] + mm_batch_off(L, m->tb, m->ty, lb, fold);
			lybase = L->hbm_addr[m->ty] + lb * m->M * m->N * esY;
			lmbn = lower_min(mb, m->M - lm0);
		}
		int early = sblk < nblk && a_res && !(b_res && lbbase != prev_boff);
		int loaded = 0;
		for (int ph = 0; ph < 3; ph++) {
			if (ph == 1) {
				if (sblk == 0)
					continue;
				uint64_t b = cb, m0 = cm0, mbn = cmbn, abase = cabase, bbase = cbbase, ybase = cybase;
				lower_buf *ab = cab;
				(void)abase;
				if (is_mode) {
					/* input-stationary (serial-fold arrays): stationary = A^T [K_t × ≤cols rows of
					 * M], moving = B [K_t × ≤mmax of N]; PSUM holds Y rows [M_t × N_c] directly */
					for (uint64_t mc = 0; mc < mbn; mc += cols) {
						uint32_t mcn = (uint32_t)lower_min(cols, mbn - mc);
						for (uint64_t n0 = 0; n0 < m->N; n0 += mmax) {
							uint32_t nn = (uint32_t)lower_min(mmax, m->N - n0);
							lower_buf *p = &ps[pi++ % nps];
							for (uint64_t kt = 0; kt < ktn; kt++) {
								uint32_t kn = (uint32_t)lower_min(rows, m->K - kt * rows);
								isa_inst in = lower_inst(ISA_OP_MATMUL);
								in.flags = kt > 0 ? ISA_F_ACCUMULATE : 0;
								in.src[0] = lower_ap_sbuf(dtA, 0, kn, ab->off + (kt * mbn + mc) * esA, mcn, esA, 1, 0);
								in.src[1] = lower_ap_sbuf(dtB, 0, kn, bbuf[0].off + (kt * m->N + n0) * esB, nn, esB, 1, 0);
								in.dst = lower_ap_psum(0, mcn, p->off, nn, 1, 0);
								lower_compute(L, LOWER_Q_PE, &in, p, kt == 0, &bbuf[0], ab, NULL);
							}
							lower_buf *o = &yb[yi++ % 2];
							/* Y tile: element (m, n) is Y[b][m0 + mc + m][n0 + n] */
							isa_oidx ox = lower_oidx(0, (int64_t)((b * m->M + m0 + mc) * m->N + n0),
							                         (int64_t)m->N, 1, 0);
							pe_evacuate(L, p, o, dtY, mcn, nn, 1, NULL, 0, dtY, m->act, &ox);
							isa_ap dst = lower_ap_hbm(dtY, ybase + ((m0 + mc) * m->N + n0) * esY, mcn,
							                          m->N * esY, nn, esY, 1, 0);
							isa_ap src = lower_ap_sbuf(dtY, 0, mcn, o->off, nn, esY, 1, 0);
							lower_store(L, m->ty, &dst, &src, o);
						}
					}
					continue;
				}
				/* order: (nt outer, mc inner), or with whole-row stores (mc outer, nt inner) */
				uint64_t nmc = lower_ceil(mbn, mmax);
				for (uint64_t it = 0; it < ntn * nmc; it++) {
					uint64_t nt = rowstore ? it % ntn : it / nmc;
					uint64_t mc = (rowstore ? it / ntn : it % nmc) * mmax;
					uint32_t nn = (uint32_t)lower_min(cols, m->N - nt * cols);
					{
						uint32_t mcn = (uint32_t)lower_min(mmax, mbn - mc);
						lower_buf *p = &ps[pi++ % nps];
						for (uint64_t kt = 0; kt < ktn; kt++) {
							uint32_t kn = (uint32_t)lower_min(rows, m->K - kt * rows);
							lower_buf *sb = &bbuf[0], *mv = ab;
							uint64_t soff, moff;
							if (b_res) {
								soff = (kt * m->N + nt * cols) * esB;
							} else if (b_panel) {
								uint64_t pst = pw * cols * esB;   /* bytes per K tile in a panel */
								if (nt % pw == 0 && mc == 0 && kt == 0) {
									uint32_t pn = (uint32_t)lower_min(pw * cols, m->N - nt * cols);
									mm_load_bblock(L, m, bbase, 0, m->K, nt * cols, pn, &bbuf[bi++ % 2], 0, pst, 1);
								}
								sb = &bbuf[(bi + 1) % 2];
								soff = kt * pst + (nt % pw) * cols * esB;
							} else {
								sb = &bbuf[bi++ % 2];
								mm_load_kf(L, m->tb, bbase, ldb, !m->b_nk, kt * rows, kn, nt * cols, nn,
								           sb, 0, 1, stage, &si);
								soff = 0;
							}
							if (a_res) {
								moff = (kt * mbn + mc) * esA;
							} else {
								mv = &abuf[ai++ % 2];
								mm_load_kf(L, m->ta, abase, lda, m->a_km, kt * rows, kn, m0 + mc, mcn,
								           mv, 0, 1, stage, &si);
								moff = 0;
							}
							isa_inst in = lower_inst(ISA_OP_MATMUL);
							in.flags = kt > 0 ? ISA_F_ACCUMULATE : 0;
							in.src[0] = lower_ap_sbuf(dtB, 0, kn, sb->off + soff, nn, esB, 1, 0);
							in.src[1] = lower_ap_sbuf(dtA, 0, kn, mv->off + moff, mcn, esA, 1, 0);
							in.dst = lower_ap_psum(0, nn, p->off, mcn, 1, 0);
							if (b_res && grouped) {
								/* wait only for the group of B that holds this K tile */
								uint64_t gi = kt * rows + rows <= m->K ? kt / kg : lower_ceil(m->K / rows, kg);
								lower_compute(L, LOWER_Q_PE, &in, p, kt == 0, NULL, mv, &bgrp[gi]);
								lower_dep t = lower_nodep;
								lower_dep_tok(&t, LOWER_Q_PE, L->emitted[LOWER_Q_PE]);
								lower_buf_read(sb, &t);
							} else {
								lower_compute(L, LOWER_Q_PE, &in, p, kt == 0, sb, mv, NULL);
							}
						}
						lower_buf *o = &yb[yi++ % 2];
						mm_evac_yt(L, m, p, 0, o, &bias, b * m->M + m0 + mc, nt, nn, mcn);
						/* Y^T [nn × mcn] → blocks [≤128 rows of M × nn] → Y rows */
						if (rowstore) {
							/* into whole rows [≤128 rows × N] (one buffer per row block of this
							 * mc chunk); stored once the last N tile is in: runs of N elements,
							 * rows back to back */
							if (nt == 0)
								yri++;
							for (uint32_t r = 0, rb = 0; r < mcn; r += blk, rb++) {
								uint32_t rn = mcn - r < blk ? mcn - r : blk;
								lower_buf *s = &yrow[yri % 2][rb];
								isa_inst tr = lower_inst(ISA_OP_TRANSPOSE);
								tr.src[0] = lower_ap_sbuf(dtY, 0, nn, o->off + r * esY, rn, esY, 1, 0);
								tr.dst = lower_ap_sbuf(dtY, 0, rn, s->off + nt * cols * esY, nn, esY, 1, 0);
								lower_compute(L, LOWER_Q_VEC, &tr, s, nt == 0, o, NULL, NULL);
								if (nt + 1 == ntn) {
									isa_ap dst = lower_ap_hbm(dtY, ybase + (m0 + mc + r) * m->N * esY, rn,
									                          m->N * esY, (uint32_t)m->N, esY, 1, 0);
									isa_ap src = lower_ap_sbuf(dtY, 0, rn, s->off, (uint32_t)m->N, esY, 1, 0);
									lower_store(L, m->ty, &dst, &src, s);
								}
							}
							continue;
						}
						if (m->y_nm)
							mm_store_yt(L, m, o, nn, mcn, ybase, nt, m0 + mc);
						else
							pe_turn_store(L, m->ty, o, nn, mcn, blk, ys, &ysi,
							              ybase + ((m0 + mc) * m->N + nt * cols) * esY, m->N * esY);
					}
				}
				continue;
			}
			if (sblk == nblk || loaded || (ph == 0 && !early))
				continue;
			loaded = 1;
			uint64_t abase = labase, bbase = lbbase, m0 = lm0, mbn = lmbn;
			lower_buf *ab = lab = &abuf[ai++ % 2];
			/* The whole-B load goes before the first moving block when A is produced by an
			 * earlier op (A's load waits for it; the weights need not queue behind it), else
			 * after it (both are needed by the first matmul; A is the smaller). */
			for (int pass = 0; pass < 3; pass++) {
				if (pass == 1) {
					if (a_res && a_wide) {
						/* A stored [M, K]: 128-row blocks of WHOLE rows (one run of K elements per
						 * partition, one transfer), then each K tile turned by the vector engine */
						for (uint64_t k0 = 0; k0 < m->K; k0 += a_span)
							mm_load_rows_turned(L, m->ta, m->K, abase, m0, mbn, k0,
							                    lower_min(a_span, m->K - k0), ab, k0 / rows, astage, &asi);
					} else if (a_res)
						for (uint64_t kt = 0; kt < ktn; kt++) {
							uint32_t kn = (uint32_t)lower_min(rows, m->K - kt * rows);
							mm_load_kf(L, m->ta, abase, lda, m->a_km, kt * rows, kn, m0, (uint32_t)mbn, ab,
							           kt * mbn * esA, kt == 0, stage, &si);
						}
					continue;
				}
				if ((pass == 0) != !a_first)
					continue;
				if (b_res && bbase != prev_boff && !m->b_nk && m->K >= rows) {
					/* whole B stored [K, N]: full K tiles in transfers of kg tiles each (partition p
					 * holds rows kt·rows + p: runs of N elements), each split across the load queues,
					 * so that the first matmuls start after the first group; the partial last tile in
					 * a transfer of its own. kg: ≥ 256 KiB per transfer, when B is that large */
					uint64_t kfull = m->K / rows, tile = rows * m->N * esB;
					kg = lower_max(lower_ceil(256 * 1024, tile), lower_ceil(kfull, MM_BGROUPS));
					kg = lower_max(1, lower_min(kfull, kg));
					for (uint64_t k0 = 0; k0 < kfull; k0 += kg) {
						uint64_t kc = lower_min(kg, kfull - k0);
						isa_ap src = lower_ap_hbm(dtB, bbase + k0 * rows * ldb * esB, rows, ldb * esB,
						                          (uint32_t)m->N, esB, (uint32_t)kc, rows * ldb * esB);
						isa_ap d = lower_ap_sbuf(dtB, 0, rows, bbuf[0].off + k0 * m->N * esB, (uint32_t)m->N,
						                         esB, (uint32_t)kc, m->N * esB);
						mm_load_tok(L, m->tb, &d, &src, &bbuf[0], k0 == 0, &bgrp[k0 / kg]);
					}
					if (kfull < ktn) {
						uint32_t kn = (uint32_t)(m->K - kfull * rows);
						isa_ap src = lower_ap_hbm(dtB, bbase + kfull * rows * ldb * esB, kn, ldb * esB,
						                          (uint32_t)m->N, esB, 1, 0);
						isa_ap d = lower_ap_sbuf(dtB, 0, kn, bbuf[0].off + kfull * m->N * esB,
						                         (uint32_t)m->N, esB, 1, 0);
						mm_load_tok(L, m->tb, &d, &src, &bbuf[0], kfull == 0, &bgrp[lower_ceil(kfull, kg)]);
					}
					grouped = 1;
					prev_boff = bbase;
				}
				if (b_res && bbase != prev_boff) {       /* whole B, [kt][K_t parts × N] */
					for (uint64_t kt = 0; kt < ktn; kt++) {
						uint32_t kn = (uint32_t)lower_min(rows, m->K - kt * rows);
						mm_load_kf(L, m->tb, bbase, ldb, !m->b_nk, kt * rows, kn, 0, (uint32_t)m->N,
						           &bbuf[0], kt * m->N * esB, kt == 0, stage, &si);
					}
					prev_boff = bbase;
				}
			}
		}
		cb = lb; cm0 = lm0; cmbn = lmbn; cabase = labase; cbbase = lbbase; cybase = lybase; cab = lab;
	}
	lower_release(L);       /* before the buffers (locals) go out of scope */
	return 0;
}

/* the batch dims of P and Q (all but the last two, aligned from the right, missing ones 1) are
 * equal: no broadcasting between them */
static int mm_same_batches(const graph_tensor *P, const graph_tensor *Q)
{
	uint32_t n = P->rank > Q->rank ? P->rank : Q->rank;
	for (uint32_t i = 3; i <= n; i++) {
		uint64_t p = i <= P->rank ? P->shape[P->rank - i] : 1, q = i <= Q->rank ? Q->shape[Q->rank - i] : 1;
		if (p != q)
			return 0;
	}
	return 1;
}

int lower_matmul_op(lower_ctx *L, const graph_op *op)
{
	const graph_tensor *Y = lower_T(L, op->out[0]);
	const graph_tensor *X0 = lower_T(L, op->in[0]), *X1 = lower_T(L, op->in[1]);
	mm_desc m;
	memset(&m, 0, sizeof m);
	m.ty = op->out[0];
	m.tbias = -1;
	m.act = op->a.activation;
	if (Y->rank < 2 || X0->rank < 2 || X1->rank < 2)
		return lower_mapping_error(L, "operands must have rank >= 2");
	uint64_t r0 = X0->shape[X0->rank - 2], c0 = X0->shape[X0->rank - 1];
	uint64_t r1 = X1->shape[X1->rank - 2], c1 = X1->shape[X1->rank - 1];
	int fold = 0;
	switch (op->type) {
	case GRAPH_OP_MATMUL:          /* Y = A · B */
		m.ta = op->in[0];
		m.tb = op->in[1];
		m.a_km = op->a.transpose_a != 0;
		m.b_nk = op->a.transpose_b != 0;
		m.M = m.a_km ? c0 : r0;
		m.K = m.a_km ? r0 : c0;
		m.N = m.b_nk ? r1 : c1;
		if (op->n_in > 2)
			m.tbias = (int)op->in[2];
		break;
	case GRAPH_OP_MATMUL_BWD_DATA: /* dA[M,K] = dY[M,N] · B^T, B stored [K,N] (or [N,K]) */
		m.ta = op->in[0];
		m.tb = op->in[1];
		m.a_km = 0;
		m.b_nk = op->a.transpose_b ? 0 : 1;
		m.y_nm = op->a.transpose_a != 0;   /* dA stored [K, M]: the Y^T tiles as they are */
		m.M = r0;
		m.K = c0;
		m.N = op->a.transpose_b ? c1 : r1;
		break;
	case GRAPH_OP_MATMUL_BWD_WEIGHT: { /* dB[K,N] = A^T · dY: contraction over M (and batch) */
		/* A stored [M, K] is A^T as a [K, M]-stored moving operand; with transpose_a, [K, M]
		 * is A^T as a [M, K]-stored one (turned like a forward A). dB [N, K] (transpose_b):
		 * the Y^T tiles stored as they are. Without batch dims on dB the rows of every batch
		 * fold into the contraction (row r = b·M + m), which needs A and dY to hold the same
		 * batches, A stored [M, K] (its rows contiguous across batches). */
		m.ta = op->in[0];
		m.tb = op->in[1];
		m.a_km = op->a.transpose_a ? 0 : 1;
		m.b_nk = 0;
		m.y_nm = op->a.transpose_b != 0;
		m.M = op->a.transpose_a ? r0 : c0;
		m.N = c1;
		fold = Y->rank == 2;
		m.K = fold ? X1->elems / c1 : r1;
		if (fold && !mm_same_batches(X0, X1))
			return lower_mapping_error(L, "A '%s' and dY '%s' have different batch dimensions and dB "
			                           "is declared without them (the lowering sums the batches by "
			                           "folding the rows of A and dY into one contraction): give A and "
			                           "dY the same batch dimensions, or declare dB with the batch "
			                           "dimensions", X0->name, X1->name);
		if (fold && op->a.transpose_a && X0->elems / (r0 * c0) > 1)
			return lower_mapping_error(L, "transpose_a with batch dimensions summed into a 2-D dB is "
			                           "not lowered (A stored [..., K, M] has no contiguous rows to "
			                           "fold into the contraction): store A as [..., M, K] without "
			                           "transpose_a, or declare dB with the batch dimensions");
		break;
	}
	default:
		ASIM_ASSERT(0);
	}
	m.batch = fold ? 1 : Y->elems / (Y->shape[Y->rank - 1] * Y->shape[Y->rank - 2]);
	if (m.M * m.N * m.batch != Y->elems)
		return lower_mapping_error(L, "output shape does not match the operands");
	return mm_lower(L, &m, fold);
}

/* ==== convolution =========================================================================== */

typedef struct cv_desc {
	uint32_t tx, tw, ty;
	int tbias;
	graph_act act;
	uint64_t N, C, H, W;           /* stored input */
	uint64_t CO, OH, OW, KH, KW;
	uint64_t sh, sw, dh, dw, pt, pl;
	uint64_t idil;                 /* input dilation (backward data through a strided conv) */
	uint64_t G;                    /* groups */
	int wmode;                     /* 0: PE-ready [G][Cg][taps][COg]; 1: [C_outf][C_inf/G][taps], flipped */
} cv_desc;

/* the input band of output chunk rows [r0, r0+rn) × cols [c0, c0+cn) */
typedef struct cv_band { int64_t y0, x0; uint64_t rows, cols; } cv_band;

static cv_band cv_band_of(const cv_desc *v, uint64_t r0, uint64_t rn, uint64_t c0, uint64_t cn)
{
	cv_band b;
	b.y0 = (int64_t)(r0 * v->sh) - (int64_t)v->pt;
	b.x0 = (int64_t)(c0 * v->sw) - (int64_t)v->pl;
	b.rows = (rn - 1) * v->sh + (v->KH - 1) * v->dh + 1;
	b.cols = (cn - 1) * v->sw + (v->KW - 1) * v->dw + 1;
	return b;
}

/* the valid (stored) positions of a band along one axis: first dilated coordinate, count */
static void cv_valid(int64_t lo, uint64_t len, uint64_t size, uint64_t idil, int64_t *first,
                     uint64_t *count)
{
	int64_t hi = lo + (int64_t)len - 1, top = (int64_t)((size - 1) * idil);
	int64_t a = lo < 0 ? 0 : lo;
	if (a % (int64_t)idil)
		a += (int64_t)idil - a % (int64_t)idil;
	if (hi > top)
		hi = top;
	*first = a;
	*count = a > hi ? 0 : (uint64_t)((hi - a) / (int64_t)idil + 1);
}

/* Load channels [c0, c0+cn) of image n (as seen by group g) into band buffer at offset boff. */
static void cv_load_band(lower_ctx *L, const cv_desc *v, uint64_t n, uint64_t cbase, uint32_t cn,
                         const cv_band *bd, lower_buf *buf, uint64_t boff, int fresh)
{
	asim_dtype dt = mm_dt(L, v->tx);
	uint64_t es = asim_dtype_bytes(dt);
	int64_t fy, fx;
	uint64_t ny, nx;
	cv_valid(bd->y0, bd->rows, v->H, v->idil, &fy, &ny);
	cv_valid(bd->x0, bd->cols, v->W, v->idil, &fx, &nx);
	int holes = ny * nx != bd->rows * bd->cols;
	isa_ap full = lower_ap_sbuf(dt, 0, cn, buf->off + boff, (uint32_t)(bd->cols * bd->rows), es, 1, 0);
	if (holes) {                   /* zero padding and dilation holes: memset the band */
		/* alu=set imm=0: +0 whatever the buffer held (x·0 would leave NaN where it held NaN or
		 * Inf, and -0 where it held negative values: wrong values in functional mode) */
		isa_inst z = lower_inst(ISA_OP_TENSOR_SCALAR);
		z.func = ISA_ALU_SET;
		z.scale = 0.0f;
		z.dst = full;
		z.src[0] = full;
		lower_compute(L, LOWER_Q_VEC, &z, buf, fresh, NULL, NULL, NULL);
		/* the loads of this fill overwrite part of the memset: they wait for it (WAW) */
		lower_dep_merge(&buf->haz, &buf->wr);
		fresh = 0;
	}
	if (ny == 0 || nx == 0)
		return;
	uint64_t sy = (uint64_t)fy / v->idil, sx = (uint64_t)fx / v->idil;
	isa_ap src = lower_ap_hbm(dt, L->hbm_addr[v->tx] + (((n * v->C + cbase) * v->H + sy) * v->W + sx) * es,
	                          cn, v->H * v->W * es, (uint32_t)nx, es, (uint32_t)ny, v->W * es);
	isa_ap dst = lower_ap_sbuf(dt, 0, cn, buf->off + boff
	                           + ((uint64_t)(fy - bd->y0) * bd->cols + (uint64_t)(fx - bd->x0)) * es,
	                           (uint32_t)nx, v->idil * es, (uint32_t)ny, v->idil * bd->cols * es);
	lower_load(L, v->tx, &dst, &src, buf, fresh);
}

/* the band of every channel tile (`rows` channels each, tile bytes apart) of group g, image n */
static void cv_load_bands(lower_ctx *L, const cv_desc *v, uint64_t n, uint64_t g, uint32_t rows,
                          const cv_band *bd, lower_buf *bb, uint64_t tile)
{
	uint64_t Cg = v->C / v->G;
	for (uint64_t ct = 0; ct * rows < Cg; ct++)
		cv_load_band(L, v, n, g * Cg + ct * rows, (uint32_t)lower_min(rows, Cg - ct * rows), bd, bb,
		             ct * tile, ct == 0);
}

/* the bias of group g's filters onto partitions: tile ot (≤ cols filters) at column ot */
static void cv_load_bias(lower_ctx *L, const cv_desc *v, uint64_t g, uint32_t cols, lower_buf *bias)
{
	uint32_t tb = (uint32_t)v->tbias;
	uint64_t COg = v->CO / v->G, esb = mm_es(L, tb);
	for (uint64_t ot = 0; ot * cols < COg; ot++) {
		uint32_t on = (uint32_t)lower_min(cols, COg - ot * cols);
		isa_ap src = lower_ap_hbm(mm_dt(L, tb), L->hbm_addr[tb] + (g * COg + ot * cols) * esb, on, esb,
		                          1, esb, 1, 0);
		isa_ap d = lower_ap_sbuf(mm_dt(L, tb), 0, on, bias->off + ot * esb, 1, esb, 1, 0);
		lower_load(L, tb, &d, &src, bias, ot == 0);
	}
}

/* choose an output chunk rn × cn whose double-buffered band (nct channel tiles) and `pixb` bytes
 * per output pixel fit in `room` */
static int cv_chunk(const cv_desc *v, uint64_t maxpix, uint64_t nct, uint64_t es, uint64_t pixb,
                    uint64_t room, uint64_t *rn, uint64_t *cn)
{
	uint64_t c = lower_min(v->OW, maxpix), r = lower_min(v->OH, lower_max(1, maxpix / c));
	for (;;) {
		cv_band b = cv_band_of(v, 0, r, 0, c);
		if (2 * nct * b.rows * b.cols * es + r * c * pixb <= room) {
			*rn = r;
			*cn = c;
			return 0;
		}
		if (r > 1)
			r = (r + 1) / 2;
		else if (c > 1)
			c = (c + 1) / 2;
		else
			return -1;
	}
}

/* ---- serial-fold arrays, weight- and input-stationary: the im2col contraction --------------
 *
 * SCALE-Sim (Samajdar et al., ISPASS 2020) maps a convolution as the GEMM of its im2col
 * matrices: K = C_in/g·KH·KW rows of contraction, folded ⌈K/rows⌉ times whatever the kernel, so
 * a fold's rows may hold channels of several taps. Row k = ci·taps + tap (tap = kh·KW + kw): the
 * order of the PE-ready filter layout [Cg][KH][KW][COg], which is the [K × COg] filter matrix
 * row by row, and the im2col order of docs/numerics.md.
 *
 *   filter tile kt  [kn ≤ rows parts × COg]    rows k0 .. k0+kn of the filter matrix: ONE transfer
 *   im2col tile kt  [kn parts × block pixels]  row k = the window of tap `tap` of channel ci in
 *     part 0 ┌ ci,   tap t ..          ┐        the block's band (zero-padded, as for the other
 *            ├ ci+1, taps 0 .. taps−1  ┤        mappings), copied SBUF → SBUF by one DMA per row
 *            └ ci+2, taps 0 .. t'      ┘        (channels sit on partitions in the band)
 *
 *   weight-stationary: held = filter tile [kn × ≤cols filters], streamed = the block's pixels in
 *     sub-chunks of ≤ mmax, one PSUM bank each (≤ psum_budget of them: the block is sized so),
 *     back to back: one fold per (C_out tile, K tile) and block, T = the block's pixels.
 *   input-stationary: held = im2col tile slice [kn × ≤cols pixels], streamed = the filters
 *     [kn × ≤mmax per matmul], T = C_out/g; PSUM [pixels × filters], turned by the vector
 *     engine into NCHW rows. Bias: the WS mapping (PSUM rows are pixels, not channels).
 *
 * PSUM accumulates the K tiles in ascending k. MACs = Σ kn·filters·pixels = the conv's exactly. */

/* rows [k0, k0+kn) of the im2col filter matrix, filters [co0, co0+con), into `dst` at byte
 * offset doff, row k0 on partition 0: one transfer (backward data, whose filters are flipped
 * and stored [ci][co][tap]: one per row) */
static void cv_load_wrows(lower_ctx *L, const cv_desc *v, uint64_t wbase, uint64_t k0, uint32_t kn,
                          uint64_t co0, uint32_t con, lower_buf *dst, uint64_t doff, int fresh)
{
	uint64_t COg = v->CO / v->G, taps = v->KH * v->KW;
	uint64_t esW = mm_es(L, v->tw);
	asim_dtype dtW = mm_dt(L, v->tw);
	for (uint64_t k = k0; k < k0 + kn;) {
		uint64_t ci = k / taps, tw = taps - 1 - k % taps, seg = v->wmode ? 1 : k0 + kn - k;
		uint64_t eoff = v->wmode ? ci * taps * COg + co0 * taps + tw : k * COg + co0;
		uint64_t cstr = v->wmode ? taps : 1;
		isa_ap src = lower_ap_hbm(dtW, wbase + eoff * esW, (uint32_t)seg, COg * esW, con, cstr * esW, 1, 0);
		isa_ap d = lower_ap_sbuf(dtW, (uint32_t)(k - k0), (uint32_t)seg, dst->off + doff, con, esW, 1, 0);
		lower_load(L, v->tw, &d, &src, dst, fresh && k == k0);
		k += seg;
	}
}

/* im2col rows [k0, k0+kn) of the block (rr × cc output pixels) from its band `bb` (channel
 * tiles of `rows` channels, tile bytes apart) into `col` at byte offset coff */
static void cv_im2col(lower_ctx *L, const cv_desc *v, const cv_band *bd, uint64_t rr, uint64_t cc,
                      lower_buf *bb, uint64_t tile, uint32_t rows, uint64_t k0, uint32_t kn,
                      lower_buf *col, uint64_t coff)
{
	uint64_t taps = v->KH * v->KW, esX = mm_es(L, v->tx);
	asim_dtype dtX = mm_dt(L, v->tx);
	for (uint64_t k = k0; k < k0 + kn; k++) {
		uint64_t ci = k / taps, ct = ci / rows, kh = k % taps / v->KW, kw = k % v->KW;
		isa_ap src = lower_ap_sbuf(dtX, (uint32_t)(ci - ct * rows), 1,
		                           bb->off + ct * tile + (kh * v->dh * bd->cols + kw * v->dw) * esX,
		                           (uint32_t)cc, v->sw * esX, (uint32_t)rr, v->sh * bd->cols * esX);
		isa_ap dst = lower_ap_sbuf(dtX, (uint32_t)(k - k0), 1, col->off + coff, (uint32_t)(cc * rr), esX, 1, 0);
		lower_dep d = bb->wr, tok = lower_nodep;
		lower_dep h = k == k0 && coff == 0 ? lower_buf_fill(col) : col->haz;
		lower_dep_merge(&d, &h);
		lower_dma(L, 0, &dst, &src, &d, &tok);
		lower_buf_wrote(col, &tok);
		lower_buf_read(bb, &tok);
	}
}

static int cv_pe_im2col(lower_ctx *L, const cv_desc *v, int is)
{
	const chip *c = L->c;
	uint32_t rows, cols, P = c->sbuf.partitions;
	uint64_t mmax;
	pe_dims(L, &rows, &cols, &mmax);
	uint64_t Cg = v->C / v->G, COg = v->CO / v->G, taps = v->KH * v->KW, K = Cg * taps;
	uint64_t esX = mm_es(L, v->tx), esW = mm_es(L, v->tw), esY = mm_es(L, v->ty);
	asim_dtype dtW = mm_dt(L, v->tw), dtX = mm_dt(L, v->tx), dtY = mm_dt(L, v->ty);
	uint64_t ctn = lower_ceil(Cg, rows), ktn = lower_ceil(K, rows), otn = lower_ceil(COg, cols);
	uint64_t esb = v->tbias >= 0 ? mm_es(L, (uint32_t)v->tbias) : 0;
	uint32_t nps = L->psum_budget < LOWER_MAX_BUFS / 4 ? L->psum_budget : LOWER_MAX_BUFS / 4;
	uint64_t budget = lower_budget(L);
	/* output staging: PSUM evacuations (WS [filters × pixels], IS [pixels × filters]), IS
	 * transposes [filters × pixels]; the bias (WS) */
	uint64_t fixed = (is && nps > 2 ? nps : 2) * mmax * esY + (is ? 2 * cols * esY : otn * esb);
	if (mmax == 0 || fixed > budget)
		return lower_mapping_error(L, "output staging does not fit in SBUF");
	uint64_t rest = budget - fixed;
	/* direct: a 1×1 kernel at stride 1 -- im2col row k is channel k, and its window is the
	 * whole band of that channel, contiguous (the band holds the zero padding and any input
	 * dilation already): K tile kt IS band tile kt ([≤rows channels × the block's pixels]), so
	 * the matmuls read the band and no im2col tile is built (no SBUF → SBUF copies, no SBUF for
	 * it). Folds, T and MACs are the same. */
	int direct = taps == 1 && v->sh == 1 && v->sw == 1;
	/* filters of one group resident ([ktn tiles × COg] per partition) if they fit in half the
	 * rest, else one tile per matmul, double-buffered */
	uint64_t wres_b = ktn * COg * esW;
	int w_res = wres_b <= rest / 2;
	uint64_t w_bytes = w_res ? wres_b : (is ? mmax : cols) * esW;
	rest -= w_res ? w_bytes : 2 * w_bytes;
	/* the block: at most nps·mmax pixels (WS: one PSUM bank per sub-chunk of the fold), its
	 * double-buffered band and its im2col tiles in what is left */
	uint64_t rn, cn;
	if (cv_chunk(v, (uint64_t)nps * mmax, ctn, esX, direct ? 0 : ktn * esX, rest, &rn, &cn) != 0)
		return lower_mapping_error(L, "the band and im2col tiles of one output pixel (K = %llu) do "
		                           "not fit in the %llu bytes per SBUF partition available",
		                           (unsigned long long)K, (unsigned long long)rest);
	/* IS: a block of less than the image holds a multiple of `cols` pixels where it can (rows
	 * in multiples of the fewest rows u with u·OW a multiple of cols; row segments in multiples of cols), so that its
	 * pixel tiles are full and the image takes ⌈pixels / cols⌉ folds per K tile */
	if (is && cn == v->OW && rn < v->OH) {
		uint64_t u = 1;            /* the fewest rows holding whole pixel tiles (≤ cols) */
		while (u * v->OW % cols)
			u++;
		if (rn >= u)
			rn = rn / u * u;
	} else if (is && cn < v->OW && cn >= cols) {
		cn = cn / cols * cols;
	}
	cv_band b0 = cv_band_of(v, 0, rn, 0, cn);
	uint64_t tile_b = b0.rows * b0.cols * esX, npix = rn * cn;

	/* evacuation buffers: WS two, used alternately; IS one per PSUM bank of a filter group */
	uint32_t nyb = is && nps > 2 ? nps : 2;
	lower_buf yb[LOWER_MAX_BUFS / 4], ys[2], bias, wb[2], band[2], col, ps[LOWER_MAX_BUFS / 4];
	uint32_t yi = 0, si = 0, wi = 0, bi = 0;
	for (uint32_t i = 0; i < nyb; i++)
		lower_sbuf_alloc(L, &yb[i], mmax * esY);
	if (is)
		for (int i = 0; i < 2; i++)
			lower_sbuf_alloc(L, &ys[i], cols * esY);
	if (!is && v->tbias >= 0)
		lower_sbuf_alloc(L, &bias, otn * esb);
	lower_sbuf_alloc(L, &wb[0], w_bytes);
	if (!w_res)
		lower_sbuf_alloc(L, &wb[1], w_bytes);
	for (int i = 0; i < 2; i++)
		lower_sbuf_alloc(L, &band[i], ctn * tile_b);
	if (!direct)
		lower_sbuf_alloc(L, &col, ktn * npix * esX);
	for (uint32_t i = 0; i < nps; i++)
		lower_psum_alloc(L, &ps[i]);

	uint64_t plane = v->OH * v->OW;
	for (uint64_t g = 0; g < v->G; g++) {
		if (!is && v->tbias >= 0)
			cv_load_bias(L, v, g, cols, &bias);
		uint64_t wbase = L->hbm_addr[v->tw] + g * Cg * taps * COg * esW;
		if (w_res)
			for (uint64_t kt = 0; kt < ktn; kt++)
				cv_load_wrows(L, v, wbase, kt * rows, (uint32_t)lower_min(rows, K - kt * rows), 0,
				              (uint32_t)COg, &wb[0], kt * COg * esW, kt == 0);
		for (uint64_t n = 0; n < v->N; n++)
			for (uint64_t r0 = 0; r0 < v->OH; r0 += rn)
				for (uint64_t c0 = 0; c0 < v->OW; c0 += cn) {
					uint64_t rr = lower_min(rn, v->OH - r0), cc = lower_min(cn, v->OW - c0), np = rr * cc;
					cv_band bd = cv_band_of(v, r0, rr, c0, cc);
					lower_buf *bb = &band[bi++ % 2];
					uint64_t tile = bd.rows * bd.cols * esX;
					cv_load_bands(L, v, n, g, rows, &bd, bb, tile);
					/* the moving operand: im2col tile kt at cbuf->off + kt·cst (direct: the band) */
					lower_buf *cbuf = direct ? bb : &col;
					uint64_t cst = direct ? tile : np * esX;
					for (uint64_t kt = 0; kt < ktn && !direct; kt++)
						cv_im2col(L, v, &bd, rr, cc, bb, tile, rows, kt * rows,
						          (uint32_t)lower_min(rows, K - kt * rows), &col, kt * np * esX);
					/* output pixel j of the block is pixel r0·OW + c0 + j of the plane (the block
					 * is whole rows, or a segment of one row) */
					uint64_t pix0 = (n * v->CO + g * COg) * plane + r0 * v->OW + c0;
					if (!is) {
						for (uint64_t ot = 0; ot < otn; ot++) {
							uint32_t on = (uint32_t)lower_min(cols, COg - ot * cols);
							for (uint64_t kt = 0; kt < ktn; kt++) {
								uint32_t kn = (uint32_t)lower_min(rows, K - kt * rows);
								lower_buf *sb = &wb[0];
								uint64_t soff = (kt * COg + ot * cols) * esW;
								if (!w_res) {
									sb = &wb[wi++ % 2];
									cv_load_wrows(L, v, wbase, kt * rows, kn, ot * cols, on, sb, 0, 1);
									soff = 0;
								}
								for (uint64_t q = 0; q < np; q += mmax) {
									uint32_t qn = (uint32_t)lower_min(mmax, np - q);
									isa_inst in = lower_inst(ISA_OP_MATMUL);
									in.flags = kt > 0 ? ISA_F_ACCUMULATE : 0;
									in.src[0] = lower_ap_sbuf(dtW, 0, kn, sb->off + soff, on, esW, 1, 0);
									in.src[1] = lower_ap_sbuf(dtX, 0, kn, cbuf->off + kt * cst + q * esX, qn, esX, 1, 0);
									in.dst = lower_ap_psum(0, on, ps[q / mmax].off, qn, 1, 0);
									lower_compute(L, LOWER_Q_PE, &in, &ps[q / mmax], kt == 0, sb, cbuf, NULL);
								}
							}
							for (uint64_t q = 0; q < np; q += mmax) {
								uint32_t qn = (uint32_t)lower_min(mmax, np - q);
								uint64_t y0 = pix0 + ot * cols * plane + q;
								lower_buf *o = &yb[yi++ % 2];
								isa_oidx ox = lower_oidx(0, (int64_t)y0, (int64_t)plane, 1, 0);
								pe_evacuate(L, &ps[q / mmax], o, dtY, on, qn, 1, v->tbias >= 0 ? &bias : NULL,
								            ot * esb, v->tbias >= 0 ? mm_dt(L, (uint32_t)v->tbias) : dtY, v->act, &ox);
								isa_ap dst = lower_ap_hbm(dtY, L->hbm_addr[v->ty] + y0 * esY, on, plane * esY,
								                          qn, esY, 1, 0);
								isa_ap src = lower_ap_sbuf(dtY, 0, on, o->off, qn, esY, 1, 0);
								lower_store(L, v->ty, &dst, &src, o);
							}
						}
						continue;
					}
					/* input-stationary: per pixel tile, the filters stream in chunks of mmax, a PSUM
					 * bank each, nps chunks at a time */
					for (uint64_t p0 = 0; p0 < np; p0 += cols) {
						uint32_t pn = (uint32_t)lower_min(cols, np - p0);
						for (uint64_t f0 = 0; f0 < COg; f0 += (uint64_t)nps * mmax) {
							uint64_t fe = lower_min(COg, f0 + (uint64_t)nps * mmax);
							for (uint64_t kt = 0; kt < ktn; kt++) {
								uint32_t kn = (uint32_t)lower_min(rows, K - kt * rows);
								for (uint64_t co0 = f0; co0 < fe; co0 += mmax) {
									uint32_t con = (uint32_t)lower_min(mmax, fe - co0);
									lower_buf *mb = &wb[0], *p = &ps[(co0 - f0) / mmax];
									uint64_t moff = (kt * COg + co0) * esW;
									if (!w_res) {
										mb = &wb[wi++ % 2];
										cv_load_wrows(L, v, wbase, kt * rows, kn, co0, con, mb, 0, 1);
										moff = 0;
									}
									isa_inst in = lower_inst(ISA_OP_MATMUL);
									in.flags = kt > 0 ? ISA_F_ACCUMULATE : 0;
									in.src[0] = lower_ap_sbuf(dtX, 0, kn, cbuf->off + kt * cst + p0 * esX, pn, esX, 1, 0);
									in.src[1] = lower_ap_sbuf(dtW, 0, kn, mb->off + moff, con, esW, 1, 0);
									in.dst = lower_ap_psum(0, pn, p->off, con, 1, 0);
									lower_compute(L, LOWER_Q_PE, &in, p, kt == 0, cbuf, mb, NULL);
								}
							}
							/* evacuate every bank of the group first, so that the next pixel tile's
							 * fold finds them free (its matmuls continue back to back), then turn */
							for (uint64_t co0 = f0; co0 < fe; co0 += mmax) {
								uint32_t con = (uint32_t)lower_min(mmax, fe - co0);
								uint64_t y0 = pix0 + co0 * plane + p0;
								/* [pixels × filters]: element (p, f) is Y pixel y0 + p of filter f */
								isa_oidx ox = lower_oidx(0, (int64_t)y0, 1, (int64_t)plane, 0);
								pe_evacuate(L, &ps[(co0 - f0) / mmax], &yb[(co0 - f0) / mmax], dtY, pn, con, 1,
								            NULL, 0, dtY, v->act, &ox);
							}
							for (uint64_t co0 = f0; co0 < fe; co0 += mmax) {
								uint32_t con = (uint32_t)lower_min(mmax, fe - co0);
								uint64_t y0 = pix0 + co0 * plane + p0;
								pe_turn_store(L, v->ty, &yb[(co0 - f0) / mmax], pn, con, P, ys, &si,
								              L->hbm_addr[v->ty] + y0 * esY, plane * esY);
							}
						}
					}
				}
	}
	lower_release(L);
	return 0;
}

/* The tiling plan of a convolution: PE tile bounds, weight residency and the output chunk
 * rn × cn; the vector engine's (depthwise) plan in rn, cn. A pure function of the chip, the
 * geometry and the element sizes, shared with the latency estimator (lower_conv_plan_of). */
typedef struct cv_plan {
	uint64_t rows, cols, mmax, ctn, otn, w_bytes, rest, rn, cn;
	int w_res;
} cv_plan;

/* 0, or 1: the output staging does not fit; 2: the receptive field does not fit (pl->rest) */
static int cv_plan_pe(const chip *c, uint64_t budget, uint64_t bank_bytes, const cv_desc *v,
                      uint64_t esX, uint64_t esW, uint64_t esY, uint64_t esb, cv_plan *pl)
{
	uint32_t rows = c->pe.rows, cols = c->pe.cols, P = c->sbuf.partitions;
	if (rows > P)
		rows = P;
	if (cols > P)
		cols = P;
	uint64_t mmax = lower_min(c->pe.max_moving, bank_bytes / 4);
	/* output-stationary serial-fold arrays: output chunks of at most `rows` pixels (the
	 * SCALE-Sim OS mapping: ofmap pixels on the rows, filters on the columns, K streamed) */
	if (c->pe.mode == CHIP_PE_SERIAL_FOLDS && c->pe.dataflow == CHIP_OUTPUT_STATIONARY)
		mmax = lower_min(mmax, rows);
	uint64_t Cg = v->C / v->G, COg = v->CO / v->G, taps = v->KH * v->KW;
	uint64_t ctn = lower_ceil(Cg, rows), otn = lower_ceil(COg, cols);
	pl->rows = rows, pl->cols = cols, pl->mmax = mmax, pl->ctn = ctn, pl->otn = otn;
	uint64_t fixed = 2 * mmax * esY + otn * esb;
	if (mmax == 0 || fixed > budget)
		return 1;
	uint64_t rest = budget - fixed;
	/* weights of one group resident if they fit in half the rest, else one tile at a time */
	uint64_t wres_b = ctn * taps * COg * esW;
	pl->w_res = wres_b <= rest / 2;
	pl->w_bytes = pl->w_res ? wres_b : cols * esW;
	rest -= pl->w_res ? pl->w_bytes : 2 * pl->w_bytes;
	pl->rest = rest;
	return cv_chunk(v, mmax, ctn, esX, 0, rest, &pl->rn, &pl->cn) != 0 ? 2 : 0;
}

static int cv_pe(lower_ctx *L, const cv_desc *v)
{
	/* serial-fold weight- and input-stationary arrays: SCALE-Sim's im2col folds (above) */
	if (L->c->pe.mode == CHIP_PE_SERIAL_FOLDS && L->c->pe.dataflow != CHIP_OUTPUT_STATIONARY)
		return cv_pe_im2col(L, v, L->c->pe.dataflow == CHIP_INPUT_STATIONARY && v->tbias < 0);
	const chip *c = L->c;
	uint64_t taps = v->KH * v->KW, Cg = v->C / v->G, COg = v->CO / v->G;
	uint64_t esX = mm_es(L, v->tx), esW = mm_es(L, v->tw), esY = mm_es(L, v->ty);
	asim_dtype dtW = mm_dt(L, v->tw), dtX = mm_dt(L, v->tx), dtY = mm_dt(L, v->ty);
	uint64_t esb = v->tbias >= 0 ? mm_es(L, (uint32_t)v->tbias) : 0;
	cv_plan pl;
	int prc = cv_plan_pe(c, lower_budget(L), L->bank_bytes, v, esX, esW, esY, esb, &pl);
	if (prc == 1)
		return lower_mapping_error(L, "output staging does not fit in SBUF");
	if (prc == 2)
		return lower_mapping_error(L, "the receptive field of one output pixel (%llu×%llu input "
		                           "positions × %llu channel tiles) does not fit in the %llu bytes "
		                           "per SBUF partition available",
		                           (unsigned long long)((v->KH - 1) * v->dh + 1),
		                           (unsigned long long)((v->KW - 1) * v->dw + 1),
		                           (unsigned long long)pl.ctn, (unsigned long long)pl.rest);
	uint32_t rows = (uint32_t)pl.rows, cols = (uint32_t)pl.cols;
	uint64_t mmax = pl.mmax, ctn = pl.ctn, otn = pl.otn, rn = pl.rn, cn = pl.cn;
	int w_res = pl.w_res;
	uint64_t w_bytes = pl.w_bytes;
	cv_band b0 = cv_band_of(v, 0, rn, 0, cn);
	uint64_t band_b = ctn * b0.rows * b0.cols * esX;

	lower_buf yb[2], bias, wb[2], band[2], ps[LOWER_MAX_BUFS / 4];
	uint32_t yi = 0, wi = 0, bi = 0, pi = 0;
	for (int i = 0; i < 2; i++)
		lower_sbuf_alloc(L, &yb[i], mmax * esY);
	if (v->tbias >= 0)
		lower_sbuf_alloc(L, &bias, otn * esb);
	lower_sbuf_alloc(L, &wb[0], w_bytes);
	if (!w_res)
		lower_sbuf_alloc(L, &wb[1], w_bytes);
	for (int i = 0; i < 2; i++)
		lower_sbuf_alloc(L, &band[i], band_b);
	uint32_t nps = L->psum_budget < LOWER_MAX_BUFS / 4 ? L->psum_budget : LOWER_MAX_BUFS / 4;
	for (uint32_t i = 0; i < nps; i++)
		lower_psum_alloc(L, &ps[i]);

	uint64_t wrow = taps * COg;    /* elements per contraction channel */
	for (uint64_t g = 0; g < v->G; g++) {
		if (v->tbias >= 0)
			cv_load_bias(L, v, g, cols, &bias);
		uint64_t wbase = L->hbm_addr[v->tw] + g * Cg * wrow * esW;
		if (w_res)
			for (uint64_t ct = 0; ct < ctn; ct++) {
				uint32_t kn = (uint32_t)lower_min(rows, Cg - ct * rows);
				isa_ap src = lower_ap_hbm(dtW, wbase + ct * rows * wrow * esW, kn, wrow * esW,
				                          (uint32_t)wrow, esW, 1, 0);
				isa_ap d = lower_ap_sbuf(dtW, 0, kn, wb[0].off + ct * wrow * esW, (uint32_t)wrow, esW, 1, 0);
				lower_load(L, v->tw, &d, &src, &wb[0], ct == 0);
			}
		for (uint64_t n = 0; n < v->N; n++)
			for (uint64_t r0 = 0; r0 < v->OH; r0 += rn)
				for (uint64_t c0 = 0; c0 < v->OW; c0 += cn) {
					uint64_t rr = lower_min(rn, v->OH - r0), cc = lower_min(cn, v->OW - c0);
					cv_band bd = cv_band_of(v, r0, rr, c0, cc);
					lower_buf *bb = &band[bi++ % 2];
					uint64_t tile_b = bd.rows * bd.cols * esX;
					cv_load_bands(L, v, n, g, rows, &bd, bb, tile_b);
					for (uint64_t ot = 0; ot < otn; ot++) {
						uint32_t on = (uint32_t)lower_min(cols, COg - ot * cols);
						lower_buf *p = &ps[pi++ % nps];
						int first = 1;
						for (uint64_t ct = 0; ct < ctn; ct++) {
							uint32_t kn = (uint32_t)lower_min(rows, Cg - ct * rows);
							for (uint64_t kh = 0; kh < v->KH; kh++)
								for (uint64_t kw = 0; kw < v->KW; kw++) {
									uint64_t tap = v->wmode ? (v->KH - 1 - kh) * v->KW + (v->KW - 1 - kw)
									                        : kh * v->KW + kw;
									/* element offset of (tap, co0) in a weight row; co stride */
									uint64_t co0 = ot * cols;
									uint64_t eoff = v->wmode ? co0 * taps + tap : tap * COg + co0;
									uint64_t cstr = v->wmode ? taps : 1;
									lower_buf *sb = &wb[0];
									uint64_t soff;
									if (w_res) {
										soff = ct * wrow * esW + eoff * esW;
									} else {
										sb = &wb[wi++ % 2];
										isa_ap src = lower_ap_hbm(dtW, wbase + (ct * rows * wrow + eoff) * esW,
										                          kn, wrow * esW, on, cstr * esW, 1, 0);
										isa_ap d = lower_ap_sbuf(dtW, 0, kn, sb->off, on, esW, 1, 0);
										lower_load(L, v->tw, &d, &src, sb, 1);
										soff = 0;
										cstr = 1;
									}
									isa_inst in = lower_inst(ISA_OP_MATMUL);
									in.flags = first ? 0 : ISA_F_ACCUMULATE;
									in.src[0] = lower_ap_sbuf(dtW, 0, kn, sb->off + soff, on, cstr * esW, 1, 0);
									in.src[1] = lower_ap_sbuf(dtX, 0, kn, bb->off + ct * tile_b
									                          + (kh * v->dh * bd.cols + kw * v->dw) * esX,
									                          (uint32_t)cc, v->sw * esX, (uint32_t)rr,
									                          v->sh * bd.cols * esX);
									in.dst = lower_ap_psum(0, on, p->off, (uint32_t)(cc * rr), 1, 0);
									lower_compute(L, LOWER_Q_PE, &in, p, first, sb, bb, NULL);
									first = 0;
								}
						}
						lower_buf *o = &yb[yi++ % 2];
						isa_oidx ox = lower_oidx(0, (int64_t)((((n * v->CO + g * COg + ot * cols) * v->OH + r0) * v->OW) + c0),
						                         (int64_t)(v->OH * v->OW), 1, (int64_t)v->OW);
						pe_evacuate(L, p, o, dtY, on, (uint32_t)cc, (uint32_t)rr, v->tbias >= 0 ? &bias : NULL,
						            ot * esb, v->tbias >= 0 ? mm_dt(L, (uint32_t)v->tbias) : dtY, v->act, &ox);
						isa_ap dst = lower_ap_hbm(dtY, L->hbm_addr[v->ty]
						                          + (((n * v->CO + g * COg + ot * cols) * v->OH + r0) * v->OW + c0) * esY,
						                          on, v->OH * v->OW * esY, (uint32_t)cc, esY, (uint32_t)rr, v->OW * esY);
						isa_ap osrc = lower_ap_sbuf(dtY, 0, on, o->off, (uint32_t)cc, esY, (uint32_t)rr, cc * esY);
						lower_store(L, v->ty, &dst, &osrc, o);
					}
				}
	}
	lower_release(L);
	return 0;
}

/* Depthwise (C_in/groups == 1, channel multiplier mult = C_out/groups) on the vector engine:
 * channels on partitions; for multiplier j, output channel ci·mult + j reads input channel ci. */
/* the depthwise plan (cv_vec): 0, or 1: the filters do not fit; 2: the receptive field */
static int cv_plan_vec(uint64_t budget, const cv_desc *v, uint64_t esX, uint64_t esW, uint64_t esY,
                       uint64_t esb, cv_plan *pl)
{
	uint64_t mult = v->CO / v->G, taps = v->KH * v->KW;
	pl->w_bytes = mult * taps * esW;   /* per partition: this channel's filters, all multipliers */
	uint64_t fixed = pl->w_bytes + mult * esb;
	if (fixed >= budget)
		return 1;
	/* per pixel: acc (fp32) + tmp (fp32) + 2 outputs; band double-buffered */
	uint64_t maxpix = 2048;
	for (;;) {
		uint64_t per = 4 + 4 + 2 * esY;
		if (maxpix * per < budget - fixed &&
		    cv_chunk(v, maxpix, 1, esX, 0, budget - fixed - maxpix * per, &pl->rn, &pl->cn) == 0)
			return 0;
		if (maxpix == 1)
			return 2;
		maxpix /= 2;
	}
}

static int cv_vec(lower_ctx *L, const cv_desc *v)
{
	const chip *c = L->c;
	uint32_t P = c->sbuf.partitions;
	uint64_t mult = v->CO / v->G, taps = v->KH * v->KW;
	uint64_t esX = mm_es(L, v->tx), esW = mm_es(L, v->tw), esY = mm_es(L, v->ty);
	asim_dtype dtX = mm_dt(L, v->tx), dtW = mm_dt(L, v->tw), dtY = mm_dt(L, v->ty);
	uint64_t esb = v->tbias >= 0 ? mm_es(L, (uint32_t)v->tbias) : 0;
	cv_plan pl;
	int prc = cv_plan_vec(lower_budget(L), v, esX, esW, esY, esb, &pl);
	if (prc == 1)
		return lower_mapping_error(L, "depthwise filters do not fit in SBUF");
	if (prc == 2)
		return lower_mapping_error(L, "the receptive field of one output pixel does not fit "
		                           "in SBUF");
	uint64_t wbytes = pl.w_bytes, rn = pl.rn, cn = pl.cn;
	cv_band b0 = cv_band_of(v, 0, rn, 0, cn);
	lower_buf wb, bias, band[2], acc, tmp, ob[2];
	uint32_t bi = 0, oi = 0;
	lower_sbuf_alloc(L, &wb, wbytes);
	if (v->tbias >= 0)
		lower_sbuf_alloc(L, &bias, mult * esb);
	for (int i = 0; i < 2; i++)
		lower_sbuf_alloc(L, &band[i], b0.rows * b0.cols * esX);
	lower_sbuf_alloc(L, &acc, rn * cn * 4);
	lower_sbuf_alloc(L, &tmp, rn * cn * 4);
	for (int i = 0; i < 2; i++)
		lower_sbuf_alloc(L, &ob[i], rn * cn * esY);
	for (uint64_t c0 = 0; c0 < v->C; c0 += P) {
		uint32_t ch = (uint32_t)lower_min(P, v->C - c0);
		/* filters of channels c0..: W[ci·mult + j][0][taps]: a row of mult·taps per channel */
		isa_ap wsrc = lower_ap_hbm(dtW, L->hbm_addr[v->tw] + c0 * mult * taps * esW, ch,
		                           mult * taps * esW, (uint32_t)(mult * taps), esW, 1, 0);
		isa_ap wdst = lower_ap_sbuf(dtW, 0, ch, wb.off, (uint32_t)(mult * taps), esW, 1, 0);
		lower_load(L, v->tw, &wdst, &wsrc, &wb, 1);
		if (v->tbias >= 0) {
			uint32_t tb = (uint32_t)v->tbias;
			isa_ap s = lower_ap_hbm(mm_dt(L, tb), L->hbm_addr[tb] + c0 * mult * esb, ch, mult * esb,
			                        (uint32_t)mult, esb, 1, 0);
			isa_ap d = lower_ap_sbuf(mm_dt(L, tb), 0, ch, bias.off, (uint32_t)mult, esb, 1, 0);
			lower_load(L, tb, &d, &s, &bias, 1);
		}
		for (uint64_t n = 0; n < v->N; n++)
			for (uint64_t r0 = 0; r0 < v->OH; r0 += rn)
				for (uint64_t q0 = 0; q0 < v->OW; q0 += cn) {
					uint64_t rr = lower_min(rn, v->OH - r0), cc = lower_min(cn, v->OW - q0);
					cv_band bd = cv_band_of(v, r0, rr, q0, cc);
					lower_buf *bb = &band[bi++ % 2];
					cv_load_band(L, v, n, c0, ch, &bd, bb, 0, 1);
					for (uint64_t j = 0; j < mult; j++) {
						isa_ap a = lower_ap_sbuf(ASIM_DT_FP32, 0, ch, acc.off, (uint32_t)cc, 4, (uint32_t)rr, cc * 4);
						isa_ap t = a;
						t.offset = tmp.off;
						for (uint64_t kh = 0; kh < v->KH; kh++)
							for (uint64_t kw = 0; kw < v->KW; kw++) {
								uint64_t tap = kh * v->KW + kw;
								isa_inst in = lower_inst(ISA_OP_TENSOR_TENSOR);
								in.func = ISA_ALU_MUL;
								in.src[0] = lower_ap_sbuf(dtX, 0, ch, bb->off + (kh * v->dh * bd.cols + kw * v->dw) * esX,
								                          (uint32_t)cc, v->sw * esX, (uint32_t)rr, v->sh * bd.cols * esX);
								/* PE-ready filter layout [C][taps][mult]: (tap, j) */
								in.src[1] = lower_ap_sbuf(dtW, 0, ch, wb.off + (tap * mult + j) * esW,
								                          (uint32_t)cc, 0, (uint32_t)rr, 0);
								int first = tap == 0;
								in.dst = first ? a : t;
								lower_compute(L, LOWER_Q_VEC, &in, first ? &acc : &tmp, 1, bb, &wb, NULL);
								if (!first) {
									isa_inst ad = lower_inst(ISA_OP_TENSOR_TENSOR);
									ad.func = ISA_ALU_ADD;
									ad.dst = a;
									ad.src[0] = a;
									ad.src[1] = t;
									lower_compute(L, LOWER_Q_VEC, &ad, &acc, 0, &tmp, NULL, NULL);
								}
							}
						if (v->tbias >= 0) {
							isa_inst ad = lower_inst(ISA_OP_TENSOR_TENSOR);
							ad.func = ISA_ALU_ADD;
							ad.dst = a;
							ad.src[0] = a;
							ad.src[1] = lower_ap_sbuf(mm_dt(L, (uint32_t)v->tbias), 0, ch, bias.off + j * esb,
							                          (uint32_t)cc, 0, (uint32_t)rr, 0);
							lower_compute(L, LOWER_Q_VEC, &ad, &acc, 0, &bias, NULL, NULL);
						}
						lower_buf *o = &ob[oi++ % 2];
						isa_inst ev = lower_inst(v->act != GRAPH_ACT_NONE ? ISA_OP_ACTIVATE : ISA_OP_TENSOR_COPY);
						ev.func = (uint8_t)(v->act != GRAPH_ACT_NONE ? v->act : ISA_ALU_BYPASS);
						ev.src[0] = a;
						ev.dst = lower_ap_sbuf(dtY, 0, ch, o->off, (uint32_t)cc, esY, (uint32_t)rr, cc * esY);
						ev.oidx = lower_oidx(0, (int64_t)((((n * v->CO + c0 * mult + j) * v->OH + r0) * v->OW) + q0),
						                     (int64_t)(mult * v->OH * v->OW), 1, (int64_t)v->OW);
						lower_compute(L, v->act != GRAPH_ACT_NONE ? LOWER_Q_ACT : LOWER_Q_VEC, &ev, o, 1,
						              &acc, NULL, NULL);
						isa_ap dst = lower_ap_hbm(dtY, L->hbm_addr[v->ty]
						                          + (((n * v->CO + c0 * mult + j) * v->OH + r0) * v->OW + q0) * esY,
						                          ch, mult * v->OH * v->OW * esY, (uint32_t)cc, esY,
						                          (uint32_t)rr, v->OW * esY);
						lower_store(L, v->ty, &dst, &ev.dst, o);
					}
				}
	}
	lower_release(L);
	return 0;
}

/* conv2d_backward_weight: dW[co, ci, kh, kw] = Σ_{n,oh,ow} dY[n,co,oh,ow] · X[n,ci,ih,iw].
 * Contraction over output pixels, so pixels go on partitions: per pixel tile (whole output rows,
 * ≤ rows pixels) the vector engine turns the dY block [co × pix] and the tap's X window
 * [ci × pix] into [pix × co] and [pix × ci]; stationary = X window^T [pix × ci ≤ cols], moving =
 * dY^T [pix × co ≤ mmax]; PSUM [ci × co] per tap, accumulated over pixel tiles; stored in the
 * PE-ready filter layout [ci][tap][co] (contiguous runs of co). */
static int cv_bwd_weight(lower_ctx *L, const cv_desc *v)
{
	const chip *c = L->c;
	uint32_t rows, cols, P = c->sbuf.partitions;
	uint64_t mmax;
	pe_dims(L, &rows, &cols, &mmax);
	uint64_t Cg = v->C / v->G, COg = v->CO / v->G, taps = v->KH * v->KW;
	uint64_t esX = mm_es(L, v->tx), esD = mm_es(L, v->tw), esY = mm_es(L, v->ty);
	asim_dtype dtX = mm_dt(L, v->tx), dtD = mm_dt(L, v->tw), dtY = mm_dt(L, v->ty);
	/* pixel tile: whole output rows with rn·OW ≤ rows, or a row segment */
	uint64_t cn = lower_min(v->OW, rows), rn = lower_max(1, lower_min(v->OH, rows / cn));
	uint64_t cit = lower_min(Cg, cols), cot = lower_min(COg, mmax);
	cv_band b0 = cv_band_of(v, 0, rn, 0, cn);
	uint64_t need = 2 * b0.rows * b0.cols * esX + 2 * rn * cn * esD + 2 * cot * esD + 2 * cit * esX
	                + 2 * cot * esY;
	if (need > lower_budget(L))
		return lower_mapping_error(L, "backward-weight tiles need %llu bytes per SBUF partition",
		                           (unsigned long long)need);
	uint32_t nacc = L->psum_budget > 1 ? L->psum_budget - 1 : 1;
	if (nacc > LOWER_MAX_BUFS / 4)
		nacc = LOWER_MAX_BUFS / 4;
	lower_buf band[2], dyb[2], dyt[2], xt[2], ob[2], ps[LOWER_MAX_BUFS / 4];
	uint32_t bi = 0, di = 0, ti = 0, xi = 0, oi = 0;
	for (int i = 0; i < 2; i++) {
		lower_sbuf_alloc(L, &band[i], b0.rows * b0.cols * esX);
		lower_sbuf_alloc(L, &dyb[i], rn * cn * esD);
		lower_sbuf_alloc(L, &dyt[i], cot * esD);
		lower_sbuf_alloc(L, &xt[i], cit * esX);
		lower_sbuf_alloc(L, &ob[i], cot * esY);
	}
	for (uint32_t i = 0; i < nacc; i++)
		lower_psum_alloc(L, &ps[i]);
	for (uint64_t g = 0; g < v->G; g++)
		for (uint64_t ci0 = 0; ci0 < Cg; ci0 += cit)
			for (uint64_t co0 = 0; co0 < COg; co0 += cot)
				for (uint64_t t0 = 0; t0 < taps; t0 += nacc) {
					uint64_t tn = lower_min(nacc, taps - t0);
					uint32_t cin = (uint32_t)lower_min(cit, Cg - ci0), con = (uint32_t)lower_min(cot, COg - co0);
					int first = 1;
					for (uint64_t n = 0; n < v->N; n++)
						for (uint64_t r0 = 0; r0 < v->OH; r0 += rn)
							for (uint64_t q0 = 0; q0 < v->OW; q0 += cn) {
								uint64_t rr = lower_min(rn, v->OH - r0), cc = lower_min(cn, v->OW - q0);
								uint32_t np = (uint32_t)(rr * cc);
								/* dY block [con parts × pixels] → dY^T [pixels × con] (per 128 co) */
								lower_buf *db = &dyb[di++ % 2], *dt = &dyt[ti++ % 2];
								isa_ap dsrc = lower_ap_hbm(dtD, L->hbm_addr[v->tw] + (((n * v->CO + g * COg + co0) * v->OH + r0) * v->OW + q0) * esD,
								                           con, v->OH * v->OW * esD, (uint32_t)cc, esD, (uint32_t)rr, v->OW * esD);
								isa_ap dsb = lower_ap_sbuf(dtD, 0, con, db->off, (uint32_t)cc, esD, (uint32_t)rr, cc * esD);
								(void)dsb;
								for (uint32_t cb = 0; cb < con; cb += P) {
									uint32_t cbn = con - cb < P ? con - cb : P;
									isa_ap s1 = dsrc;
									s1.nparts = (uint16_t)cbn;
									s1.offset += (uint64_t)cb * v->OH * v->OW * esD;
									isa_ap d1 = lower_ap_sbuf(dtD, 0, cbn, db->off, (uint32_t)cc, esD, (uint32_t)rr, cc * esD);
									lower_load(L, v->tw, &d1, &s1, db, 1);
									isa_inst tr = lower_inst(ISA_OP_TRANSPOSE);
									tr.src[0] = lower_ap_sbuf(dtD, 0, cbn, db->off, np, esD, 1, 0);
									tr.dst = lower_ap_sbuf(dtD, 0, np, dt->off + cb * esD, cbn, esD, 1, 0);
									lower_compute(L, LOWER_Q_VEC, &tr, dt, cb == 0, db, NULL, NULL);
								}
								cv_band bd = cv_band_of(v, r0, rr, q0, cc);
								lower_buf *bb = &band[bi++ % 2];
								cv_load_band(L, v, n, g * Cg + ci0, cin, &bd, bb, 0, 1);
								for (uint64_t t = t0; t < t0 + tn; t++) {
									uint64_t kh = t / v->KW, kw = t % v->KW;
									lower_buf *xb = &xt[xi++ % 2];
									isa_inst tr = lower_inst(ISA_OP_TRANSPOSE);
									tr.src[0] = lower_ap_sbuf(dtX, 0, cin, bb->off + (kh * v->dh * bd.cols + kw * v->dw) * esX,
									                          (uint32_t)cc, v->sw * esX, (uint32_t)rr, v->sh * bd.cols * esX);
									tr.dst = lower_ap_sbuf(dtX, 0, np, xb->off, cin, esX, 1, 0);
									lower_compute(L, LOWER_Q_VEC, &tr, xb, 1, bb, NULL, NULL);
									lower_buf *p = &ps[t - t0];
									isa_inst in = lower_inst(ISA_OP_MATMUL);
									in.flags = first ? 0 : ISA_F_ACCUMULATE;
									in.src[0] = tr.dst;
									in.src[1] = lower_ap_sbuf(dtD, 0, np, dt->off, con, esD, 1, 0);
									in.dst = lower_ap_psum(0, cin, p->off, con, 1, 0);
									lower_compute(L, LOWER_Q_PE, &in, p, first, xb, dt, NULL);
								}
								first = 0;
							}
					for (uint64_t t = t0; t < t0 + tn; t++) {
						lower_buf *o = &ob[oi++ % 2];
						/* element (ci, co) of the tile is dW[g·COg + co0 + co][ci0 + ci][tap t]
						 * (stored in the PE-ready layout; the index is the logical one) */
						isa_oidx ox = lower_oidx(0, (int64_t)(((g * COg + co0) * Cg + ci0) * taps + t),
						                         (int64_t)taps, (int64_t)(Cg * taps), 0);
						pe_evacuate(L, &ps[t - t0], o, dtY, cin, con, 1, NULL, 0, dtY, GRAPH_ACT_NONE, &ox);
						isa_ap dst = lower_ap_hbm(dtY, L->hbm_addr[v->ty] + (((g * Cg + ci0) * taps + t) * COg + co0) * esY,
						                          cin, taps * COg * esY, con, esY, 1, 0);
						isa_ap src = lower_ap_sbuf(dtY, 0, cin, o->off, con, esY, 1, 0);
						lower_store(L, v->ty, &dst, &src, o);
					}
				}
	lower_release(L);
	return 0;
}

int lower_conv_op(lower_ctx *L, const graph_op *op)
{
	const graph_tensor *I0 = lower_T(L, op->in[0]), *I1 = lower_T(L, op->in[1]);
	const graph_tensor *Y = lower_T(L, op->out[0]);
	if (I0->rank != 4 || I1->rank != 4 || Y->rank != 4)
		return lower_mapping_error(L, "conv2d operands must be 4-D (NCHW, [C_out, C_in/g, KH, KW])");
	cv_desc v;
	memset(&v, 0, sizeof v);
	v.tbias = -1;
	v.act = op->a.activation;
	v.G = op->a.groups ? op->a.groups : 1;
	v.sh = op->a.stride[0] ? op->a.stride[0] : 1;
	v.sw = op->a.stride[1] ? op->a.stride[1] : 1;
	v.dh = op->a.dilation[0] ? op->a.dilation[0] : 1;
	v.dw = op->a.dilation[1] ? op->a.dilation[1] : 1;
	v.idil = 1;
	v.ty = op->out[0];
	switch (op->type) {
	case GRAPH_OP_CONV2D:
		v.tx = op->in[0];
		v.tw = op->in[1];
		if (op->n_in > 2)
			v.tbias = (int)op->in[2];
		v.N = I0->shape[0]; v.C = I0->shape[1]; v.H = I0->shape[2]; v.W = I0->shape[3];
		v.CO = Y->shape[1]; v.OH = Y->shape[2]; v.OW = Y->shape[3];
		v.KH = I1->shape[2]; v.KW = I1->shape[3];
		v.pt = op->a.pad[0];
		v.pl = op->a.pad[2];
		if (v.C % v.G || v.CO % v.G)
			return lower_mapping_error(L, "channels are not divisible by groups");
		if (v.C / v.G == 1)
			return cv_vec(L, &v);
		return cv_pe(L, &v);
	case GRAPH_OP_CONV2D_BWD_DATA: {
		/* dX = conv(dY dilated by the stride, W flipped and transposed), stride 1, padding
		 * d·(K−1) − p. Its input is dY, its output channels C_in. */
		const graph_tensor *Wt = I1;
		v.tx = op->in[0];
		v.tw = op->in[1];
		v.wmode = 1;
		v.N = I0->shape[0]; v.C = I0->shape[1]; v.H = I0->shape[2]; v.W = I0->shape[3];
		v.CO = Y->shape[1]; v.OH = Y->shape[2]; v.OW = Y->shape[3];
		v.KH = Wt->shape[2]; v.KW = Wt->shape[3];
		v.idil = v.sh;
		if (v.sw != v.sh)
			return lower_mapping_error(L, "backward data with unequal strides is not supported");
		uint64_t dh = v.dh, dw = v.dw;
		if (dh * (v.KH - 1) < op->a.pad[0] || dw * (v.KW - 1) < op->a.pad[2])
			return lower_mapping_error(L, "padding larger than the dilated kernel");
		v.pt = dh * (v.KH - 1) - op->a.pad[0];
		v.pl = dw * (v.KW - 1) - op->a.pad[2];
		v.sh = v.sw = 1;
		if (v.G != 1)
			return lower_mapping_error(L, "grouped backward data is not supported");
		return cv_pe(L, &v);
	}
	case GRAPH_OP_CONV2D_BWD_WEIGHT:
		v.tx = op->in[0];          /* X */
		v.tw = op->in[1];          /* dY (kept in the `tw` slot) */
		v.N = I0->shape[0]; v.C = I0->shape[1]; v.H = I0->shape[2]; v.W = I0->shape[3];
		v.CO = I1->shape[1]; v.OH = I1->shape[2]; v.OW = I1->shape[3];
		v.KH = Y->shape[2]; v.KW = Y->shape[3];
		v.pt = op->a.pad[0];
		v.pl = op->a.pad[2];
		return cv_bwd_weight(L, &v);
	default:
		ASIM_ASSERT(0);
	}
	return 0;
}

/* ==== the plan, for the latency estimator ===================================================== */

int lower_conv_plan_of(const chip *c, const lower_conv_geom *g, lower_conv_plan *out)
{
	cv_desc v;
	memset(&v, 0, sizeof v);
	v.N = g->N, v.C = g->C, v.H = g->H, v.W = g->W, v.CO = g->CO, v.OH = g->OH, v.OW = g->OW;
	v.KH = g->KH, v.KW = g->KW, v.sh = g->sh, v.sw = g->sw, v.dh = g->dh, v.dw = g->dw;
	v.pt = g->pt, v.pl = g->pl, v.idil = 1, v.G = g->G ? g->G : 1;
	cv_plan pl;
	memset(&pl, 0, sizeof pl);
	memset(out, 0, sizeof *out);
	if (v.C % v.G || v.CO % v.G || v.C == 0 || v.CO == 0)
		return -1;
	out->vec = v.C / v.G == 1;
	int rc = out->vec ? cv_plan_vec(lower_sbuf_budget(c), &v, g->esX, g->esW, g->esY, g->esb, &pl)
	                  : cv_plan_pe(c, lower_sbuf_budget(c), lower_psum_bank_bytes(c), &v, g->esX,
	                               g->esW, g->esY, g->esb, &pl);
	out->rows = pl.rows, out->cols = pl.cols, out->mmax = pl.mmax, out->ctn = pl.ctn;
	out->otn = pl.otn, out->w_res = pl.w_res, out->w_bytes = pl.w_bytes, out->rn = pl.rn;
	out->cn = pl.cn;
	return rc ? -1 : 0;
}
