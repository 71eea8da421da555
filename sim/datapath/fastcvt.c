/*
 * fastcvt.c -- array conversion from binary32: the fast paths, and the scalar reference they
 * must equal bit for bit (tests/test_datapath_fast.c checks that over many random inputs).
 *
 * The fast paths work on the binary32 bits with integer operations only, one element per loop
 * iteration and no data-dependent branches, so the compiler vectorizes them. For a binary32
 * magnitude a = bits & 0x7fffffff with exponent field E and fraction f:
 *
 *     Ee  = max(E, 1)                 value = sig * 2^(Ee - 150),
 *     sig = f | (E > 0) << 23         sig < 2^24 (binary32 subnormals: E = 0, no hidden bit)
 *     eb  = max(Ee - 127, emin)       the target exponent at |x| (binary32 subnormals are below
 *                                     every target's emin, so this holds for them too)
 *     s   = eb - mbits - Ee + 150     |x| / q = sig / 2^s:  n = sig >> s,  rem = sig mod 2^s
 *     code = ((eb + bias - 1) << mbits) + n + away
 *
 * The last line is the whole encoder: on the subnormal grid eb + bias - 1 = 0 and code = n; on a
 * normal binade n >= 2^mbits supplies the hidden bit's +1 to the exponent field, and a carry out
 * of the fraction (n + away = 2^(mbits+1)) moves to the next exponent by itself. A code above the
 * largest finite code is an overflow. For bf16, whose exponent range is binary32's, s is always
 * 16 and the path reduces to the well-known bit trick (a + 0x7fff + lsb) >> 16.
 *
 * Random bits: for stochastic rounding a chunk of Philox words is generated first, by a loop
 * over Philox blocks written structure-of-arrays so that it vectorizes (four 32-bit words per
 * call, i.e. one call per four elements, as the contract lays them out), then consumed.
 *
 * Portability: builds target baseline x86-64. On x86-64 with GCC or Clang the two hot loops are
 * also compiled for AVX2 (target_clones) and chosen at run time by the dynamic loader; both
 * versions compute the same integers, so results never depend on the machine.
 */
#include "sim/datapath/format.h"
#include "sim/datapath/philox.h"

#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(__SANITIZE_ADDRESS__)
#define DP_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define DP_CLONES
#endif

/* The loops below are written for the vectorizer; ask for its full cost model (GCC's -O2 uses a
 * "very cheap" one that refuses loops with a remainder). */
#if defined(__GNUC__) && !defined(__clang__)
#define DP_VECTORIZE __attribute__((optimize("tree-vectorize", "vect-cost-model=dynamic")))
#else
#define DP_VECTORIZE
#endif

#define CHUNK 1024   /* elements per chunk of random words */

/* ---- the scalar reference paths ------------------------------------------------------------ */

void dp_convert_f32_array_ref(const dp_cvt *c, const float *src, void *dst, size_t n,
                              uint64_t seed, uint64_t stream, uint64_t index0)
{
	for (size_t j = 0; j < n; j++) {
		uint32_t r = c->mode == DP_SR ? dp_sr_random(seed, stream, index0 + j, c->sr_bits) : 0;
		dp_code_store(c->fmt, dst, j, dp_round_f32(c, src[j], r));
	}
}

void dp_convert_f64_array(const dp_cvt *c, const double *src, void *dst, size_t n,
                          uint64_t seed, uint64_t stream, uint64_t index0)
{
	for (size_t j = 0; j < n; j++) {
		uint32_t r = c->mode == DP_SR ? dp_sr_random(seed, stream, index0 + j, c->sr_bits) : 0;
		dp_code_store(c->fmt, dst, j, dp_round_f64(c, src[j], r));
	}
}

/* ---- Philox words for a chunk ---------------------------------------------------------------- */

/* w[0 .. 4*nb) = the words of blocks block0 .. block0+nb-1 under (seed, stream). nb <= CHUNK/4+1 */
DP_CLONES DP_VECTORIZE
static void philox_fill(uint64_t seed, uint64_t stream, uint64_t block0, size_t nb, uint32_t *w)
{
	uint32_t o0[CHUNK / 4 + 1], o1[CHUNK / 4 + 1], o2[CHUNK / 4 + 1], o3[CHUNK / 4 + 1];
	const uint32_t s0 = (uint32_t)stream, s1 = (uint32_t)(stream >> 32);
	for (size_t b = 0; b < nb; b++) {
		uint64_t blk = block0 + b;
		uint32_t c0 = (uint32_t)blk, c1 = (uint32_t)(blk >> 32), c2 = s0, c3 = s1;
		uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC unroll 10
#endif
		for (int round = 0; round < 10; round++) {
			uint64_t p0 = (uint64_t)UINT32_C(0xD2511F53) * c0;
			uint64_t p1 = (uint64_t)UINT32_C(0xCD9E8D57) * c2;
			uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
			uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
			c0 = n0;
			c1 = (uint32_t)p1;
			c2 = n2;
			c3 = (uint32_t)p0;
			k0 += UINT32_C(0x9E3779B9);
			k1 += UINT32_C(0xBB67AE85);
		}
		o0[b] = c0;
		o1[b] = c1;
		o2[b] = c2;
		o3[b] = c3;
	}
	for (size_t b = 0; b < nb; b++) {
		w[4 * b + 0] = o0[b];
		w[4 * b + 1] = o1[b];
		w[4 * b + 2] = o2[b];
		w[4 * b + 3] = o3[b];
	}
}

/* ---- the element kernels ------------------------------------------------------------------- */

/* Uniform parameters of one call. */
typedef struct fastp {
	uint32_t ovf_pos, ovf_neg;   /* magnitude code on overflow of a positive / negative value */
	uint32_t inf_in;             /* magnitude code for an Inf input */
	uint32_t qnan;               /* canonical quiet NaN magnitude */
	uint32_t ftz;                /* 0 or 1 */
	unsigned k;                  /* SR bits */
	unsigned ls16, rs16;         /* bf16 SR: max(k - 16, 0), max(16 - k, 0) */
} fastp;

/* One element, formats narrower than binary32. M, EMIN, BIAS, MAXCODE, BITS and MODE are
 * compile-time constants at every call site. */
static inline __attribute__((always_inline)) uint32_t
elem(uint32_t bits, uint32_t r, const int M, const int EMIN, const int BIAS,
     const uint32_t MAXCODE, const int BITS, const int MODE, const fastp *p)
{
	uint32_t sign = bits >> 31;
	uint32_t a = bits & 0x7fffffffu;
	int32_t E = (int32_t)(a >> 23);
	int32_t Ee = E > 1 ? E : 1;
	uint32_t sig = (a & 0x7fffffu) | (E > 0 ? 0x800000u : 0u);
	int32_t eb = Ee - 127 > EMIN ? Ee - 127 : EMIN;
	int32_t s = eb - M - Ee + 150;            /* >= 23 - M >= 13 */
	int32_t sc = s > 31 ? 31 : s;             /* sig < 2^24: shifts >= 24 all give n = 0 */
	uint32_t n = sig >> sc;
	uint32_t rem = sig & ((1u << sc) - 1u);
	uint32_t away;
	switch (MODE) {
	case DP_RNE: {
		uint32_t half = 1u << (sc - 1);
		away = (rem > half) | ((rem == half) & n);
		break;
	}
	case DP_RTZ: away = 0; break;
	case DP_RU: away = (rem != 0) & (sign ^ 1u); break;
	case DP_RD: away = (rem != 0) & sign; break;
	default: {   /* DP_SR: t = floor(rem * 2^k / 2^s), without branches */
		int32_t d = s - (int32_t)p->k;
		uint32_t ls = (uint32_t)(d < 0 ? -d : 0);      /* <= 32 - 13: rem << ls < 2^k */
		uint32_t rs = (uint32_t)(d > 31 ? 31 : d > 0 ? d : 0);
		uint32_t t = (rem << ls) >> rs;
		t = d > 31 ? 0u : t;
		away = r < t;
		break;
	}
	}
	uint32_t code = ((uint32_t)(eb + BIAS - 1) << M) + n + away;
	uint32_t ovf = sign ? p->ovf_neg : p->ovf_pos;
	code = code > MAXCODE ? ovf : code;
	code = (p->ftz & (code < (1u << M))) ? 0u : code;
	uint32_t spec = (a & 0x7fffffu) ? p->qnan : p->inf_in;
	code = E == 255 ? spec : code;
	return code | (sign << (BITS - 1));
}

/* bf16 shares binary32's exponent range: s = 16 always. */
static inline __attribute__((always_inline)) uint32_t
elem_bf16(uint32_t bits, uint32_t r, const int MODE, const fastp *p)
{
	uint32_t sign = bits >> 31;
	uint32_t a = bits & 0x7fffffffu;
	uint32_t low = a & 0xffffu;
	uint32_t hi = a >> 16;
	uint32_t away;
	switch (MODE) {
	case DP_RNE: away = (low + 0x7fffu + (hi & 1u)) >> 16; break;
	case DP_RTZ: away = 0; break;
	case DP_RU: away = (low != 0) & (sign ^ 1u); break;
	case DP_RD: away = (low != 0) & sign; break;
	default: {
		uint32_t t = (low << p->ls16) >> p->rs16;   /* floor(low * 2^k / 2^16) */
		away = r < t;
		break;
	}
	}
	uint32_t code = hi + away;
	uint32_t ovf = sign ? p->ovf_neg : p->ovf_pos;
	code = code > 0x7f7fu ? ovf : code;
	code = (p->ftz & (code < 0x80u)) ? 0u : code;
	uint32_t spec = (a & 0x7fffffu) ? p->qnan : p->inf_in;
	code = (a >= 0x7f800000u) ? spec : code;
	return code | (sign << 15);
}

#define DEF_LOOP(name, T, EXPR)                                                             \
	DP_CLONES DP_VECTORIZE static void name(const uint32_t *restrict in, T *restrict out,   \
	                                        size_t n, const uint32_t *restrict rw,          \
	                                        const fastp *restrict pp)                       \
	{                                                                                       \
		const fastp p = *pp;                                                            \
		const unsigned sh = 32 - p.k;                                                   \
		if (rw == NULL) {                                                               \
			const uint32_t r = 0;                                                   \
			(void)r;                                                                \
			for (size_t j = 0; j < n; j++)                                          \
				out[j] = (T)(EXPR);                                             \
		} else {                                                                        \
			for (size_t j = 0; j < n; j++) {                                        \
				uint32_t r = rw[j] >> sh;                                       \
				out[j] = (T)(EXPR);                                             \
			}                                                                       \
		}                                                                               \
	}

#define ELEM_OF(ID, MODE) \
	elem(in[j], r, DP_MBITS_##ID, DP_EMIN_##ID, DP_BIAS_##ID, (uint32_t)DP_MAXCODE_##ID, \
	     DP_BITS_##ID, MODE, &p)
#define ELEM_FP16(MODE) ELEM_OF(FP16, MODE)
#define ELEM_E4M3(MODE) ELEM_OF(FP8_E4M3, MODE)
#define ELEM_E5M2(MODE) ELEM_OF(FP8_E5M2, MODE)
_Static_assert(DP_MBITS_BF16 == 7 && DP_BIAS_BF16 == 127 && DP_MAXCODE_BF16 == 0x7f7f,
               "elem_bf16 assumes bf16 has binary32's exponent range");

DEF_LOOP(loop_bf16_rne, uint16_t, elem_bf16(in[j], r, DP_RNE, &p))
DEF_LOOP(loop_bf16_rtz, uint16_t, elem_bf16(in[j], r, DP_RTZ, &p))
DEF_LOOP(loop_bf16_ru, uint16_t, elem_bf16(in[j], r, DP_RU, &p))
DEF_LOOP(loop_bf16_rd, uint16_t, elem_bf16(in[j], r, DP_RD, &p))
DEF_LOOP(loop_bf16_sr, uint16_t, elem_bf16(in[j], r, DP_SR, &p))
DEF_LOOP(loop_fp16_rne, uint16_t, ELEM_FP16(DP_RNE))
DEF_LOOP(loop_fp16_rtz, uint16_t, ELEM_FP16(DP_RTZ))
DEF_LOOP(loop_fp16_ru, uint16_t, ELEM_FP16(DP_RU))
DEF_LOOP(loop_fp16_rd, uint16_t, ELEM_FP16(DP_RD))
DEF_LOOP(loop_fp16_sr, uint16_t, ELEM_FP16(DP_SR))
DEF_LOOP(loop_e4m3_rne, uint8_t, ELEM_E4M3(DP_RNE))
DEF_LOOP(loop_e4m3_rtz, uint8_t, ELEM_E4M3(DP_RTZ))
DEF_LOOP(loop_e4m3_ru, uint8_t, ELEM_E4M3(DP_RU))
DEF_LOOP(loop_e4m3_rd, uint8_t, ELEM_E4M3(DP_RD))
DEF_LOOP(loop_e4m3_sr, uint8_t, ELEM_E4M3(DP_SR))
DEF_LOOP(loop_e5m2_rne, uint8_t, ELEM_E5M2(DP_RNE))
DEF_LOOP(loop_e5m2_rtz, uint8_t, ELEM_E5M2(DP_RTZ))
DEF_LOOP(loop_e5m2_ru, uint8_t, ELEM_E5M2(DP_RU))
DEF_LOOP(loop_e5m2_rd, uint8_t, ELEM_E5M2(DP_RD))
DEF_LOOP(loop_e5m2_sr, uint8_t, ELEM_E5M2(DP_SR))

typedef void (*loop8_fn)(const uint32_t *, uint8_t *, size_t, const uint32_t *, const fastp *);
typedef void (*loop16_fn)(const uint32_t *, uint16_t *, size_t, const uint32_t *,
                          const fastp *);

static const loop16_fn loops_bf16[DP_RMODE_COUNT] = {
	[DP_RNE] = loop_bf16_rne, [DP_RTZ] = loop_bf16_rtz, [DP_RU] = loop_bf16_ru,
	[DP_RD] = loop_bf16_rd, [DP_SR] = loop_bf16_sr};
static const loop16_fn loops_fp16[DP_RMODE_COUNT] = {
	[DP_RNE] = loop_fp16_rne, [DP_RTZ] = loop_fp16_rtz, [DP_RU] = loop_fp16_ru,
	[DP_RD] = loop_fp16_rd, [DP_SR] = loop_fp16_sr};
static const loop8_fn loops_e4m3[DP_RMODE_COUNT] = {
	[DP_RNE] = loop_e4m3_rne, [DP_RTZ] = loop_e4m3_rtz, [DP_RU] = loop_e4m3_ru,
	[DP_RD] = loop_e4m3_rd, [DP_SR] = loop_e4m3_sr};
static const loop8_fn loops_e5m2[DP_RMODE_COUNT] = {
	[DP_RNE] = loop_e5m2_rne, [DP_RTZ] = loop_e5m2_rtz, [DP_RU] = loop_e5m2_ru,
	[DP_RD] = loop_e5m2_rd, [DP_SR] = loop_e5m2_sr};

/* The overflow codes of the contract, as in round.c's overflow_code(). */
static uint32_t ovf_code(const dp_cvt *c, const dp_format_info *f, int neg)
{
	if (c->saturate)
		return f->max_code;
	int toward_zero = c->mode == DP_RTZ || (c->mode == DP_RU && neg) ||
	                  (c->mode == DP_RD && !neg);
	if (toward_zero)
		return f->max_code;
	return f->inf_code ? f->inf_code : f->qnan_code;
}

void dp_convert_f32_array(const dp_cvt *c, const float *src, void *dst, size_t n,
                          uint64_t seed, uint64_t stream, uint64_t index0)
{
	const dp_format_info *f = dp_format_get(c->fmt);
	if (c->fmt == DP_FMT_FP32) {   /* identity up to NaN canonicalisation and ftz */
		dp_convert_f32_array_ref(c, src, dst, n, seed, stream, index0);
		return;
	}
	fastp p = {.ovf_pos = ovf_code(c, f, 0), .ovf_neg = ovf_code(c, f, 1),
	           .inf_in = c->saturate ? f->max_code : (f->inf_code ? f->inf_code : f->qnan_code),
	           .qnan = f->qnan_code, .ftz = c->ftz ? 1u : 0u,
	           .k = c->mode == DP_SR ? c->sr_bits : 32u};
	p.ls16 = p.k > 16 ? p.k - 16 : 0;
	p.rs16 = p.k < 16 ? 16 - p.k : 0;
	uint32_t w[CHUNK + 8];
	const uint32_t *in = (const uint32_t *)(const void *)src;
	for (size_t j0 = 0; j0 < n; j0 += CHUNK) {
		size_t m = n - j0 < CHUNK ? n - j0 : CHUNK;
		const uint32_t *rw = NULL;
		if (c->mode == DP_SR) {
			uint64_t i = index0 + j0;
			size_t off = (size_t)(i & 3);
			size_t nb = (off + m + 3) / 4;
			philox_fill(seed, stream, i >> 2, nb, w);
			rw = w + off;
		}
		switch (c->fmt) {
		case DP_FMT_BF16:
			loops_bf16[c->mode](in + j0, (uint16_t *)dst + j0, m, rw, &p);
			break;
		case DP_FMT_FP16:
			loops_fp16[c->mode](in + j0, (uint16_t *)dst + j0, m, rw, &p);
			break;
		case DP_FMT_FP8_E4M3:
			loops_e4m3[c->mode](in + j0, (uint8_t *)dst + j0, m, rw, &p);
			break;
		case DP_FMT_FP8_E5M2:
			loops_e5m2[c->mode](in + j0, (uint8_t *)dst + j0, m, rw, &p);
			break;
		default:
			ASIM_ASSERT(0);
		}
	}
}
