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
 * Random bits: for stochastic rounding a chunk of Philox words is generated first (four 32-bit
 * words per block, one block per four elements, as the contract lays them out), then consumed.
 *
 * Dispatch. Four variants compute the same integers, so results never depend on the machine:
 *
 *     scalar   the portable C below (one element per iteration, left to the autovectorizer)
 *     sse2     explicit SIMD, 16-byte vectors       (every x86-64)
 *     avx2     explicit SIMD, 32-byte vectors       (__builtin_cpu_supports("avx2"))
 *     avx512   explicit SIMD, 64-byte vectors       (avx512f + avx512bw + avx512vl)
 *
 * The SIMD variants are one template, fastcvt_simd.h, instantiated per instruction set with
 * per-function target attributes, so the build stays baseline x86-64 (no -march). The best
 * variant the CPU supports is chosen once, on first use; dp_simd_force() overrides it (tests
 * force each variant in turn, benchmarks report which one ran). On other machines and
 * compilers only the scalar variant exists.
 *
 * Philox dominates stochastic rounding (ten rounds of two 32x32->64 multiplications per four
 * words); the SIMD Philox runs G * L blocks per iteration with one block per 64-bit lane, see
 * fastcvt_simd.h.
 */
#include "sim/datapath/format.h"
#include "sim/datapath/philox.h"

#include <stdatomic.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && defined(__has_builtin)
#if __has_builtin(__builtin_shufflevector) && __has_builtin(__builtin_convertvector) && \
	__has_builtin(__builtin_cpu_supports)
#define DP_HAVE_X86_SIMD 1
#include <immintrin.h>
#endif
#endif

/* The loops below are written for the vectorizer; ask for its full cost model (GCC's -O2 uses a
 * "very cheap" one that refuses loops with a remainder). */
#if defined(__GNUC__) && !defined(__clang__)
#define DP_VECTORIZE __attribute__((optimize("tree-vectorize", "vect-cost-model=dynamic")))
#else
#define DP_VECTORIZE
#endif

#define CHUNK 1024   /* elements per chunk of random words */
#define FILL_PAD 256 /* words a fill may write past the blocks asked for (G * L blocks, rounded) */

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
DP_VECTORIZE
static void philox_fill_scalar(uint64_t seed, uint64_t stream, uint64_t block0, size_t nb, uint32_t *w)
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
	DP_VECTORIZE static void name(const uint32_t *restrict in, T *restrict out,   \
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
typedef void (*fill_fn)(uint64_t, uint64_t, uint64_t, size_t, uint32_t *);

/* One dispatch variant: its Philox and its loops, indexed by dp_rmode. */
typedef struct dp_kernels {
	fill_fn philox_fill;
	loop16_fn bf16[DP_RMODE_COUNT], fp16[DP_RMODE_COUNT];
	loop8_fn e4m3[DP_RMODE_COUNT], e5m2[DP_RMODE_COUNT];
} dp_kernels;

static const dp_kernels kernels_scalar = {
	.philox_fill = philox_fill_scalar,
	.bf16 = {loop_bf16_rne, loop_bf16_rtz, loop_bf16_ru, loop_bf16_rd, loop_bf16_sr},
	.fp16 = {loop_fp16_rne, loop_fp16_rtz, loop_fp16_ru, loop_fp16_rd, loop_fp16_sr},
	.e4m3 = {loop_e4m3_rne, loop_e4m3_rtz, loop_e4m3_ru, loop_e4m3_rd, loop_e4m3_sr},
	.e5m2 = {loop_e5m2_rne, loop_e5m2_rtz, loop_e5m2_ru, loop_e5m2_rd, loop_e5m2_sr},
};
_Static_assert(DP_RNE == 0 && DP_RTZ == 1 && DP_RU == 2 && DP_RD == 3 && DP_SR == 4,
               "the kernel tables list the modes in dp_rmode order");

/* ---- the SIMD variants (fastcvt_simd.h, once per instruction set) -------------------------- */

#if DP_HAVE_X86_SIMD
#ifndef SIMD_G
#define SIMD_G 4
#endif
#define SIMD_SFX sse2
#define SIMD_VB 16
#define SIMD_TGT "sse2"
#define SIMD_MULU(a, b) ((__typeof__(a))_mm_mul_epu32((__m128i)(a), (__m128i)(b)))
#define SIMD_ILO 0, 2
#define SIMD_IHI 1, 3
#define SIMD_IODD 1, 1, 3, 3
#define SIMD_ANY_GE(a, b)                                                                    \
	(_mm_movemask_epi8(_mm_cmpgt_epi32(_mm_xor_si128((__m128i)(b), _mm_set1_epi32(INT32_MIN)), \
	                                   _mm_xor_si128((__m128i)(a), _mm_set1_epi32(INT32_MIN)))) \
	 != 0xffff)
#define SIMD_PACK16(a, b)                                                         \
	((__typeof__(a))__builtin_shufflevector(__builtin_convertvector((a), v16h_sse2),   \
	                                        __builtin_convertvector((b), v16h_sse2),   \
	                                        0, 1, 2, 3, 4, 5, 6, 7))
#include "sim/datapath/fastcvt_simd.h"

#define SIMD_SFX avx2
#define SIMD_VB 32
#define SIMD_TGT "avx2"
#define SIMD_MULU(a, b) ((__typeof__(a))_mm256_mul_epu32((__m256i)(a), (__m256i)(b)))
#define SIMD_ILO 0, 4, 1, 5
#define SIMD_IHI 2, 6, 3, 7
#define SIMD_IODD 1, 1, 3, 3, 5, 5, 7, 7
#define SIMD_ANY_GE(a, b)                                                                 \
	(!_mm256_testz_si256(                                                             \
	     _mm256_cmpeq_epi32(_mm256_max_epu32((__m256i)(a), (__m256i)(b)), (__m256i)(a)),  \
	     _mm256_set1_epi32(-1)))
#define SIMD_PACK16(a, b) \
	((__typeof__(a))_mm256_permute4x64_epi64(_mm256_packus_epi32((__m256i)(a), (__m256i)(b)), 0xD8))
#include "sim/datapath/fastcvt_simd.h"

#define SIMD_SFX avx512
#define SIMD_VB 64
#define SIMD_TGT "avx2,avx512f,avx512bw,avx512vl,avx512dq"
#define SIMD_MULU(a, b) ((__typeof__(a))_mm512_mul_epu32((__m512i)(a), (__m512i)(b)))
#define SIMD_ILO 0, 8, 1, 9, 2, 10, 3, 11
#define SIMD_IHI 4, 12, 5, 13, 6, 14, 7, 15
#define SIMD_IODD 1, 1, 3, 3, 5, 5, 7, 7, 9, 9, 11, 11, 13, 13, 15, 15
#define SIMD_ANY_GE(a, b) (_mm512_cmpge_epu32_mask((__m512i)(a), (__m512i)(b)) != 0)
#define SIMD_PACK16(a, b)                                                             \
	((__typeof__(a))_mm512_permutexvar_epi64(_mm512_setr_epi64(0, 2, 4, 6, 1, 3, 5, 7), \
	                                         _mm512_packus_epi32((__m512i)(a), (__m512i)(b))))
#include "sim/datapath/fastcvt_simd.h"
_Static_assert(4 * SIMD_G * 8 <= FILL_PAD, "FILL_PAD covers the widest Philox iteration");
#endif

static const char *const simd_names[DP_SIMD_COUNT] = {
	[DP_SIMD_SCALAR] = "scalar", [DP_SIMD_SSE2] = "sse2", [DP_SIMD_AVX2] = "avx2",
	[DP_SIMD_AVX512] = "avx512"};

const char *dp_simd_name(dp_simd v)
{
	return (unsigned)v < DP_SIMD_COUNT ? simd_names[v] : "?";
}

int dp_simd_supported(dp_simd v)
{
	switch (v) {
	case DP_SIMD_SCALAR: return 1;
#if DP_HAVE_X86_SIMD
	case DP_SIMD_SSE2: return 1;
	case DP_SIMD_AVX2:
		__builtin_cpu_init();
		return __builtin_cpu_supports("avx2") != 0;
	case DP_SIMD_AVX512:
		__builtin_cpu_init();
		return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("avx512f") &&
		       __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
		       __builtin_cpu_supports("avx512dq");
#endif
	default: return 0;
	}
}

/* The variant in use: -1 until the first conversion (or dp_simd_active()) picks the best one.
 * Not numerics state: every variant gives the same codes. */
static _Atomic int simd_active = -1;

dp_simd dp_simd_active(void)
{
	int v = atomic_load_explicit(&simd_active, memory_order_relaxed);
	if (v < 0) {
		v = DP_SIMD_SCALAR;
		for (int t = DP_SIMD_COUNT - 1; t > DP_SIMD_SCALAR; t--)
			if (dp_simd_supported((dp_simd)t)) {
				v = t;
				break;
			}
		atomic_store_explicit(&simd_active, v, memory_order_relaxed);
	}
	return (dp_simd)v;
}

int dp_simd_force(dp_simd v)
{
	if (v == DP_SIMD_COUNT) {
		atomic_store_explicit(&simd_active, -1, memory_order_relaxed);
		return 0;
	}
	if ((unsigned)v >= DP_SIMD_COUNT || !dp_simd_supported(v))
		return ASIM_ERANGE;
	atomic_store_explicit(&simd_active, (int)v, memory_order_relaxed);
	return 0;
}

static const dp_kernels *kernels_of(dp_simd v)
{
	switch (v) {
#if DP_HAVE_X86_SIMD
	case DP_SIMD_SSE2: return &kernels_sse2;
	case DP_SIMD_AVX2: return &kernels_avx2;
	case DP_SIMD_AVX512: return &kernels_avx512;
#endif
	default: return &kernels_scalar;
	}
}

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
	const dp_kernels *K = kernels_of(dp_simd_active());
	uint32_t w[CHUNK + 4 + FILL_PAD];
	const uint32_t *in = (const uint32_t *)(const void *)src;
	/* The first chunk ends on a Philox block boundary, so that every later one starts on one
	 * and asks for exactly CHUNK/4 blocks. */
	size_t m;
	for (size_t j0 = 0; j0 < n; j0 += m) {
		m = CHUNK - (size_t)((index0 + j0) & 3);
		m = n - j0 < m ? n - j0 : m;
		const uint32_t *rw = NULL;
		if (c->mode == DP_SR) {
			uint64_t i = index0 + j0;
			size_t off = (size_t)(i & 3);
			size_t nb = (off + m + 3) / 4;
			K->philox_fill(seed, stream, i >> 2, nb, w);
			rw = w + off;
		}
		switch (c->fmt) {
		case DP_FMT_BF16:
			K->bf16[c->mode](in + j0, (uint16_t *)dst + j0, m, rw, &p);
			break;
		case DP_FMT_FP16:
			K->fp16[c->mode](in + j0, (uint16_t *)dst + j0, m, rw, &p);
			break;
		case DP_FMT_FP8_E4M3:
			K->e4m3[c->mode](in + j0, (uint8_t *)dst + j0, m, rw, &p);
			break;
		case DP_FMT_FP8_E5M2:
			K->e5m2[c->mode](in + j0, (uint8_t *)dst + j0, m, rw, &p);
			break;
		default:
			ASIM_ASSERT(0);
		}
	}
}
