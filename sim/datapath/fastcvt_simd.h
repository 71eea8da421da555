/*
 * fastcvt_simd.h -- template of the explicit-SIMD fast paths of fastcvt.c (Philox words and the
 * element kernels), included by fastcvt.c only, once per instruction set:
 *
 *     SIMD_SFX    name suffix (sse2, avx2, avx512)
 *     SIMD_VB     vector bytes (16, 32, 64)
 *     SIMD_TGT    the target attribute string ("sse2", "avx2", "avx512f,avx512bw,avx512vl,...")
 *     SIMD_MULU(a, b)   32x32->64 unsigned multiply of the low dwords of each qword lane
 *     SIMD_ILO, SIMD_IHI   index lists interleaving two qword vectors (low half, high half)
 *     SIMD_IODD   index list moving the odd dwords onto the even ones
 *     SIMD_ANY_GE(a, b)    1 if some lane has a >= b (unsigned), else 0
 *     SIMD_PACK16(a, b)    the low 16 bits of a's lanes then b's, in order, in one vector
 *
 * Every function carries __attribute__((target(SIMD_TGT))) so the file builds for baseline
 * x86-64; fastcvt.c calls an instantiation only after __builtin_cpu_supports() said yes. The
 * arithmetic is written with GCC/Clang vector extensions (lane-wise +, ^, <<, >>, compares that
 * give all-ones masks), which compile to the instruction set of the enclosing target; the one
 * operation they cannot express, pmuludq, comes from <immintrin.h> through SIMD_MULU.
 *
 * Philox layout: "one block word per qword lane". Block b's counter word c0 lives in the low
 * dword of qword lane l of register c0[g] (and likewise c1, c2, c3), so L = SIMD_VB/8 blocks per
 * register and SIMD_G registers per iteration (independent chains, to cover the multiply
 * latency). pmuludq reads only the low dword of each lane, so a product p = (hi:lo) needs no
 * masking: c1' = p1 and c3' = p0 keep their lo in the low dword (the high dword is dead), and
 * c0' = (p1 >> 32) ^ c1 ^ k0 has the right low dword too. At the end the low dwords are packed:
 *
 *     x01 = c0.lo | c1.lo << 32       per lane: words 0,1 of block b+l
 *     x23 = c2.lo | c3.lo << 32       per lane: words 2,3 of block b+l
 *     w[4(b+l) .. 4(b+l)+3] = interleave(x01, x23) as qwords
 *
 * which is exactly the contract's order: element i uses word i & 3 of block i >> 2.
 *
 * Element kernels: fastcvt.c's elem()/elem_bf16() transcribed lane-wise (same integers, same
 * order of decisions; selects are mask blends), L32 = SIMD_VB/4 elements per step, the tail done
 * by the scalar elem() in the same function. Nothing here depends on the vector width, so every
 * instantiation gives the same codes as the scalar reference (tests/test_datapath_fast.c forces
 * each one in turn).
 */
#define SIMD_CAT2(a, b) a##_##b
#define SIMD_CAT(a, b) SIMD_CAT2(a, b)
#define SIMD_NAME(base) SIMD_CAT(base, SIMD_SFX)
#if defined(__clang__)
#define SIMD_UNROLL _Pragma("unroll")
#else
#define SIMD_UNROLL _Pragma("GCC unroll 16")
#endif
#define SIMD_FN static __attribute__((target(SIMD_TGT)))
#define SIMD_INL static inline __attribute__((always_inline, target(SIMD_TGT)))

typedef uint64_t SIMD_NAME(v64) __attribute__((vector_size(SIMD_VB)));
typedef uint32_t SIMD_NAME(v32) __attribute__((vector_size(SIMD_VB)));
typedef int32_t SIMD_NAME(vs32) __attribute__((vector_size(SIMD_VB)));
typedef uint16_t SIMD_NAME(v16h) __attribute__((vector_size(SIMD_VB / 2)));
typedef uint8_t SIMD_NAME(v8q) __attribute__((vector_size(SIMD_VB / 4)));

#define v64 SIMD_NAME(v64)
#define v32 SIMD_NAME(v32)
#define vs32 SIMD_NAME(vs32)
#define v16h SIMD_NAME(v16h)
#define v8q SIMD_NAME(v8q)
#define L64 (SIMD_VB / 8)
#define L32 (SIMD_VB / 4)
/* b ^ ((a ^ b) & m): a where the mask m is all ones, else b */
/* the high dword of each qword moved to the low one (the high one is then dead) */
#define SIMD_HI(p) ((v64)__builtin_shufflevector((v32)(p), (v32)(p), SIMD_IODD))
#define SEL(m, a, b) ((b) ^ (((a) ^ (b)) & (m)))

/* ---- Philox4x32-10, SIMD_G * L64 blocks per iteration ---------------------------------------- */

/* w[0 .. 4*roundup(nb, SIMD_G*L64)) = words of blocks block0 .. under (seed, stream). */
SIMD_FN void SIMD_NAME(philox_fill)(uint64_t seed, uint64_t stream, uint64_t block0, size_t nb,
                                    uint32_t *w)
{
	v64 iota;
	for (int l = 0; l < L64; l++)
		iota[l] = (uint64_t)l;
	const v64 lo32 = (v64){0} + UINT64_C(0xffffffff);
	const v64 m0 = (v64){0} + UINT64_C(0xD2511F53), m1 = (v64){0} + UINT64_C(0xCD9E8D57);
	const v64 s0 = (v64){0} + (stream & 0xffffffffu), s1 = (v64){0} + (stream >> 32);
	v64 k0[10], k1[10];
	uint32_t a0 = (uint32_t)seed, a1 = (uint32_t)(seed >> 32);
	SIMD_UNROLL
	for (int r = 0; r < 10; r++) {
		k0[r] = (v64){0} + a0;
		k1[r] = (v64){0} + a1;
		a0 += UINT32_C(0x9E3779B9);
		a1 += UINT32_C(0xBB67AE85);
	}
	const uint64_t r0 = (uint64_t)UINT32_C(0xCD9E8D57) * (uint32_t)stream;
	const v64 r0p1 = (v64){0} + r0;                                  /* round 0's p1 */
	const v64 r0c0 = (v64){0} + ((r0 >> 32) ^ (uint32_t)seed);      /* hi(p1) ^ k0 */
	for (size_t b = 0; b < nb; b += (size_t)SIMD_G * L64) {
		v64 c0[SIMD_G], c1[SIMD_G], c2[SIMD_G], c3[SIMD_G];
		SIMD_UNROLL
		for (int g = 0; g < SIMD_G; g++) {
			v64 blk = iota + (block0 + b + (uint64_t)g * L64);
			c0[g] = blk;          /* high dword unused by the multiply */
			c1[g] = blk >> 32;
			c2[g] = s0;
			c3[g] = s1;
		}
#define SIMD_ROUND(r)                                                    \
	SIMD_UNROLL                                                      \
	for (int g = 0; g < SIMD_G; g++) {                               \
		v64 p0 = SIMD_MULU(c0[g], m0);                           \
		v64 p1 = SIMD_MULU(c2[g], m1);                           \
		c0[g] = SIMD_HI(p1) ^ c1[g] ^ k0[r];                     \
		c2[g] = SIMD_HI(p0) ^ c3[g] ^ k1[r];                     \
		c1[g] = p1;                                              \
		c3[g] = p0;                                              \
	}
		/* round 0: c2 is the stream's low word in every lane, so its product is uniform */
		SIMD_UNROLL
		for (int g = 0; g < SIMD_G; g++) {
			v64 p0 = SIMD_MULU(c0[g], m0);
			c0[g] = c1[g] ^ r0c0;
			c2[g] = SIMD_HI(p0) ^ c3[g] ^ k1[0];
			c1[g] = r0p1;
			c3[g] = p0;
		}
		SIMD_ROUND(1) SIMD_ROUND(2) SIMD_ROUND(3) SIMD_ROUND(4)
		SIMD_ROUND(5) SIMD_ROUND(6) SIMD_ROUND(7) SIMD_ROUND(8) SIMD_ROUND(9)
#undef SIMD_ROUND
		SIMD_UNROLL
		for (int g = 0; g < SIMD_G; g++) {
			v64 x01 = (c0[g] & lo32) | (c1[g] << 32);
			v64 x23 = (c2[g] & lo32) | (c3[g] << 32);
			v64 o0 = __builtin_shufflevector(x01, x23, SIMD_ILO);
			v64 o1 = __builtin_shufflevector(x01, x23, SIMD_IHI);
			uint32_t *d = w + 4 * (b + (size_t)g * L64);
			memcpy(d, &o0, sizeof o0);
			memcpy(d + L32, &o1, sizeof o1);
		}
	}
}

/* ---- element kernels ------------------------------------------------------------------------ */

/* fastcvt.c's elem_bf16(), lane-wise. */
SIMD_INL v32 SIMD_NAME(velem_bf16)(v32 x, v32 r, const int MODE, const fastp *p)
{
	v32 sign = x >> 31;
	v32 a = x & 0x7fffffffu;
	v32 low = a & 0xffffu;
	v32 hi = a >> 16;
	v32 away;
	switch (MODE) {
	case DP_RNE: away = (low + 0x7fffu + (hi & 1u)) >> 16; break;
	case DP_RTZ: away = (v32){0}; break;
	case DP_RU: away = (v32)(low != 0u) & (sign ^ 1u); break;
	case DP_RD: away = (v32)(low != 0u) & sign; break;
	default: {
		v32 t = (low << p->ls16) >> p->rs16;
		away = (v32)(r < t) & 1u;
		break;
	}
	}
	v32 code = hi + away;
	v32 ovf = SEL((v32){0} - sign, (v32){0} + p->ovf_neg, (v32){0} + p->ovf_pos);
	code = SEL((v32)(code > 0x7f7fu), ovf, code);
	code &= ~((v32)(code < 0x80u) & ((v32){0} - p->ftz));
	v32 spec = SEL((v32)((a & 0x7fffffu) != 0u), (v32){0} + p->qnan, (v32){0} + p->inf_in);
	code = SEL((v32)(a >= 0x7f800000u), spec, code);
	return code | (sign << 15);
}

/* fastcvt.c's elem(), lane-wise. */
SIMD_INL v32 SIMD_NAME(velem)(v32 x, v32 r, const int M, const int EMIN, const int BIAS,
                              const uint32_t MAXCODE, const int BITS, const int MODE,
                              const fastp *p)
{
	v32 sign = x >> 31;
	v32 a = x & 0x7fffffffu;
	vs32 E = (vs32)(a >> 23);
	vs32 Ee = SEL(E > 1, E, (vs32){0} + 1);
	v32 sig = (a & 0x7fffffu) | ((v32)(E > 0) & 0x800000u);
	vs32 eb = Ee - 127;
	eb = SEL(eb > EMIN, eb, (vs32){0} + EMIN);
	vs32 s = eb - M - Ee + 150;
	vs32 sc = SEL(s > 31, (vs32){0} + 31, s);
	v32 n = sig >> (v32)sc;
	v32 rem = sig & ((((v32){0} + 1u) << (v32)sc) - 1u);
	v32 away;
	switch (MODE) {
	case DP_RNE: {
		v32 half = ((v32){0} + 1u) << (v32)(sc - 1);
		away = ((v32)(rem > half) | ((v32)(rem == half) & n)) & 1u;
		break;
	}
	case DP_RTZ: away = (v32){0}; break;
	case DP_RU: away = (v32)(rem != 0u) & (sign ^ 1u); break;
	case DP_RD: away = (v32)(rem != 0u) & sign; break;
	default: {
		vs32 d = s - (int32_t)p->k;
		vs32 ls = SEL(d < 0, -d, (vs32){0});
		vs32 rs = SEL(d > 31, (vs32){0} + 31, SEL(d > 0, d, (vs32){0}));
		v32 t = (rem << (v32)ls) >> (v32)rs;
		t &= ~(v32)(d > 31);
		away = (v32)(r < t) & 1u;
		break;
	}
	}
	v32 code = ((v32)(eb + (BIAS - 1)) << M) + n + away;
	v32 ovf = SEL((v32){0} - sign, (v32){0} + p->ovf_neg, (v32){0} + p->ovf_pos);
	code = SEL((v32)(code > MAXCODE), ovf, code);
	code &= ~((v32)(code < (1u << M)) & ((v32){0} - p->ftz));
	v32 spec = SEL((v32)((a & 0x7fffffu) != 0u), (v32){0} + p->qnan, (v32){0} + p->inf_in);
	code = SEL((v32)(E == 255), spec, code);
	return code | (sign << (BITS - 1));
}

/* Fast paths for the common lanes, and the test that says a vector has none of the others.
 *
 * bf16, |x| < 0x7f7f0000 (no overflow possible, not Inf/NaN) and, under ftz, |x| >= 2^-126 (no
 * subnormal result): elem_bf16() reduces to arithmetic on the signed bits, the sign riding in
 * bit 31 -> bit 15 with no carry into it:
 *     rne  (x + 0x7fff + ((x >> 16) & 1)) >> 16
 *     sr   (x >> 16) + (r < t),  t = floor(low * 2^k / 2^16) = ((x << 16) >> (32 - k))
 *
 * fp8, 2^emin <= |x| < the smallest value that could round above max: the target's exponent is
 * x's, so s = 23 - M for every lane and the encoder of elem() folds into one subtraction,
 *     code = (a >> s) - ((127 - bias) << M) + away
 * with away as in bf16 (rne: the bias-and-tie trick; sr: t = (x << (32 - s)) >> (32 - k)).
 * The tests (a - lo) >= (hi - lo), unsigned, find the other lanes; a vector with one of them
 * goes through the full lane-wise kernel instead, so results are identical either way. */
SIMD_INL int SIMD_NAME(rare_bf16)(v32 x, uint32_t ftz)
{
	const uint32_t lo = ftz ? 0x00800000u : 0u;
	return SIMD_ANY_GE((x & 0x7fffffffu) - lo, (v32){0} + (0x7f7f0000u - lo));
}

SIMD_INL v32 SIMD_NAME(vfast_bf16)(v32 x, v32 r, const int MODE, unsigned sh)
{
	if (MODE == DP_RNE)
		return (x + 0x7fffu + ((x >> 16) & 1u)) >> 16;
	return (x >> 16) - (v32)(r < ((x << 16) >> sh));   /* DP_SR */
}

SIMD_INL int SIMD_NAME(rare_fp8)(v32 x, const int M, const int EMIN, const int BIAS,
                                 const uint32_t MAXCODE)
{
	const uint32_t lo = (uint32_t)(127 + EMIN) << 23;
	const uint32_t hi = (MAXCODE + ((uint32_t)(127 - BIAS) << M)) << (23 - M);
	return SIMD_ANY_GE((x & 0x7fffffffu) - lo, (v32){0} + (hi - lo));
}

SIMD_INL v32 SIMD_NAME(vfast_fp8)(v32 x, v32 r, const int M, const int BIAS, const int BITS,
                                  const int MODE, unsigned sh)
{
	const int s = 23 - M;
	const uint32_t off = (uint32_t)(127 - BIAS) << M;
	v32 a = x & 0x7fffffffu;
	v32 code;
	if (MODE == DP_RNE)
		code = ((a + ((1u << (s - 1)) - 1u) + ((a >> s) & 1u)) >> s) - off;
	else   /* DP_SR */
		code = (a >> s) - off - (v32)(r < ((x << (32 - s)) >> sh));
	return code | ((x >> (32 - BITS)) & (1u << (BITS - 1)));
}

/* Stores of two result vectors (codes < 2^16, so a signed saturating pack keeps them). */
#define SIMD_STORE16(dst, v0, v1)                                   \
	do {                                                        \
		v32 pk_ = SIMD_PACK16((v0), (v1));                  \
		memcpy((dst), &pk_, sizeof pk_);                    \
	} while (0)
#define SIMD_STORE8(dst, v0, v1)                                    \
	do {                                                        \
		v8q q0_ = __builtin_convertvector((v0), v8q);       \
		v8q q1_ = __builtin_convertvector((v1), v8q);       \
		memcpy((dst), &q0_, sizeof q0_);                    \
		memcpy((dst) + L32, &q1_, sizeof q1_);              \
	} while (0)

/* One loop: steps of two vectors of L32 elements, each through FAST unless RARE finds a lane
 * that needs VEXPR, then the scalar elem for the tail. HASFAST is a constant: 0 leaves the full
 * kernel only. */
#define SIMD_STEP(res, x, vr, HASFAST, RARE, FAST, VEXPR) \
	do {                                              \
		if ((HASFAST) && !(RARE))                 \
			res = (FAST);                     \
		else                                      \
			res = (VEXPR);                    \
	} while (0)
#define SIMD_DEF_LOOP(name, T, STORE, HASFAST, RARE, FAST, VEXPR, SEXPR)                     \
	SIMD_FN void SIMD_NAME(name)(const uint32_t *restrict in, T *restrict out, size_t n,    \
	                             const uint32_t *restrict rw, const fastp *restrict pp)     \
	{                                                                                       \
		const fastp p = *pp;                                                            \
		const unsigned sh = 32 - p.k;                                                   \
		size_t j = 0;                                                                   \
		for (; j + 2 * L32 <= n; j += 2 * L32) {                                        \
			v32 x0, x1, r0 = (v32){0}, r1 = (v32){0}, y0, y1;                       \
			memcpy(&x0, in + j, sizeof x0);                                         \
			memcpy(&x1, in + j + L32, sizeof x1);                                   \
			if (rw != NULL) {                                                       \
				memcpy(&r0, rw + j, sizeof r0);                                 \
				memcpy(&r1, rw + j + L32, sizeof r1);                           \
				r0 >>= sh;                                                      \
				r1 >>= sh;                                                      \
			}                                                                       \
			{                                                                       \
				v32 x = x0, vr = r0;                                            \
				SIMD_STEP(y0, x, vr, HASFAST, RARE, FAST, VEXPR);               \
			}                                                                       \
			{                                                                       \
				v32 x = x1, vr = r1;                                            \
				SIMD_STEP(y1, x, vr, HASFAST, RARE, FAST, VEXPR);               \
			}                                                                       \
			STORE(out + j, y0, y1);                                                 \
		}                                                                               \
		for (; j < n; j++) {                                                            \
			uint32_t r = rw != NULL ? rw[j] >> sh : 0u;                             \
			out[j] = (T)(SEXPR);                                                    \
		}                                                                               \
	}

#define SIMD_VELEM_OF(ID, MODE) \
	SIMD_NAME(velem)(x, vr, DP_MBITS_##ID, DP_EMIN_##ID, DP_BIAS_##ID, \
	                 (uint32_t)DP_MAXCODE_##ID, DP_BITS_##ID, MODE, &p)
#define SIMD_RARE_OF(ID) \
	SIMD_NAME(rare_fp8)(x, DP_MBITS_##ID, DP_EMIN_##ID, DP_BIAS_##ID, (uint32_t)DP_MAXCODE_##ID)
#define SIMD_FAST_OF(ID, MODE) \
	SIMD_NAME(vfast_fp8)(x, vr, DP_MBITS_##ID, DP_BIAS_##ID, DP_BITS_##ID, MODE, sh)
#define SIMD_LOOP_OF(fmt, mode, ID, T, STORE, HASFAST, MODE)                                  \
	SIMD_DEF_LOOP(loop_##fmt##_##mode, T, STORE, HASFAST, SIMD_RARE_OF(ID),                \
	              SIMD_FAST_OF(ID, MODE), SIMD_VELEM_OF(ID, MODE), ELEM_OF(ID, MODE))
#define SIMD_LOOPS_OF(fmt, ID, T, STORE, HASFAST)                           \
	SIMD_LOOP_OF(fmt, rne, ID, T, STORE, HASFAST, DP_RNE)               \
	SIMD_LOOP_OF(fmt, rtz, ID, T, STORE, 0, DP_RTZ)                     \
	SIMD_LOOP_OF(fmt, ru, ID, T, STORE, 0, DP_RU)                       \
	SIMD_LOOP_OF(fmt, rd, ID, T, STORE, 0, DP_RD)                       \
	SIMD_LOOP_OF(fmt, sr, ID, T, STORE, HASFAST, DP_SR)

#define SIMD_LOOP_BF16(mode, HASFAST, MODE)                                                   \
	SIMD_DEF_LOOP(loop_bf16_##mode, uint16_t, SIMD_STORE16, HASFAST,                       \
	              SIMD_NAME(rare_bf16)(x, p.ftz), SIMD_NAME(vfast_bf16)(x, vr, MODE, sh),  \
	              SIMD_NAME(velem_bf16)(x, vr, MODE, &p), elem_bf16(in[j], r, MODE, &p))
SIMD_LOOP_BF16(rne, 1, DP_RNE)
SIMD_LOOP_BF16(rtz, 0, DP_RTZ)
SIMD_LOOP_BF16(ru, 0, DP_RU)
SIMD_LOOP_BF16(rd, 0, DP_RD)
SIMD_LOOP_BF16(sr, 1, DP_SR)
/* fp16: the full kernel only (its normal range needs no fast path to beat its targets, which
 * it has none of); fp8: fast paths for rne and sr. */
SIMD_LOOPS_OF(fp16, FP16, uint16_t, SIMD_STORE16, 0)
SIMD_LOOPS_OF(e4m3, FP8_E4M3, uint8_t, SIMD_STORE8, 1)
SIMD_LOOPS_OF(e5m2, FP8_E5M2, uint8_t, SIMD_STORE8, 1)

static const dp_kernels SIMD_NAME(kernels) = {
	.philox_fill = SIMD_NAME(philox_fill),
	.bf16 = {SIMD_NAME(loop_bf16_rne), SIMD_NAME(loop_bf16_rtz), SIMD_NAME(loop_bf16_ru),
	         SIMD_NAME(loop_bf16_rd), SIMD_NAME(loop_bf16_sr)},
	.fp16 = {SIMD_NAME(loop_fp16_rne), SIMD_NAME(loop_fp16_rtz), SIMD_NAME(loop_fp16_ru),
	         SIMD_NAME(loop_fp16_rd), SIMD_NAME(loop_fp16_sr)},
	.e4m3 = {SIMD_NAME(loop_e4m3_rne), SIMD_NAME(loop_e4m3_rtz), SIMD_NAME(loop_e4m3_ru),
	         SIMD_NAME(loop_e4m3_rd), SIMD_NAME(loop_e4m3_sr)},
	.e5m2 = {SIMD_NAME(loop_e5m2_rne), SIMD_NAME(loop_e5m2_rtz), SIMD_NAME(loop_e5m2_ru),
	         SIMD_NAME(loop_e5m2_rd), SIMD_NAME(loop_e5m2_sr)},
};

#undef v64
#undef v32
#undef vs32
#undef v16h
#undef v8q
#undef L64
#undef L32
#undef SEL
#undef SIMD_HI
#undef SIMD_IODD
#undef SIMD_STORE16
#undef SIMD_STORE8
#undef SIMD_DEF_LOOP
#undef SIMD_STEP
#undef SIMD_ANY_GE
#undef SIMD_PACK16
#undef SIMD_VELEM_OF
#undef SIMD_LOOPS_OF
#undef SIMD_LOOP_OF
#undef SIMD_LOOP_BF16
#undef SIMD_RARE_OF
#undef SIMD_FAST_OF
#undef SIMD_FN
#undef SIMD_UNROLL
#undef SIMD_INL
#undef SIMD_SFX
#undef SIMD_VB
#undef SIMD_TGT
#undef SIMD_MULU
#undef SIMD_ILO
#undef SIMD_IHI
