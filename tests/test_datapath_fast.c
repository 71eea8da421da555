/*
 * test_datapath_fast.c -- the fast array conversions equal the scalar reference bit for bit,
 * for every format, mode, saturation, ftz and SR bit count (all k in 1..32), over many random
 * inputs covering every class (random bit patterns, values near format boundaries, specials) and
 * over a table of special values, with odd lengths, unaligned starts and any starting element
 * index (not a multiple of 4; one whose block number carries into the counter's high word) --
 * and this for every dispatch variant (scalar, sse2, avx2, avx512) this CPU can run, each forced
 * in turn with dp_simd_force(). The results do not depend on how an array is split into calls.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "sim/alloc.h"
#include "sim/datapath/format.h"
#include "sim/error.h"

#define N 20011   /* not a multiple of the chunk or of 4 */

static uint64_t st = 0x9e3779b97f4a7c15ull;
static uint64_t next64(void)
{
	st += 0x9e3779b97f4a7c15ull;
	uint64_t z = st;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void fill(float *x, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t r = next64();
		uint32_t b;
		switch (r % 6) {
		case 0: b = (uint32_t)(r >> 32); break;                    /* any bit pattern */
		case 1: b = (uint32_t)(r >> 32) & 0x807fffffu; break;    /* binary32 subnormals */
		case 2:                                                    /* around fp8/fp16 ranges */
			b = ((uint32_t)(r >> 63) << 31) | ((uint32_t)(100 + (r >> 8) % 60) << 23) |
			    ((uint32_t)(r >> 32) & 0x7fffffu);
			break;
		case 3:                                                    /* near the top */
			b = ((uint32_t)(r >> 63) << 31) | ((uint32_t)(250 + (r >> 8) % 6) << 23) |
			    ((uint32_t)(r >> 32) & 0x7fffffu);
			break;
		case 4: {                                                  /* ties and near-ties */
			static const float v[] = {448, 464, 480, 57344, 61440, 65504, 65520, 0x1p-9f,
			                          0x1.8p-10f, 0x1p-24f, 0x1.8p-25f, 0x1p-16f, 0x1.8p-17f,
			                          0x1.ffp127f, 1.00390625f, 1.0f, 0x1.fffffep127f};
			float f = v[(r >> 8) % (sizeof v / sizeof v[0])];
			memcpy(&b, &f, 4);
			b += (uint32_t)((r >> 40) % 3) - 1u;
			b ^= (uint32_t)(r >> 63) << 31;
			break;
		}
		default: {
			static const uint32_t sp[] = {0x7f800000u, 0xff800000u, 0x7fc00000u, 0xffc00001u,
			                              0x7f800001u, 0, 0x80000000u};
			b = sp[(r >> 8) % 7];
			break;
		}
		}
		memcpy(&x[i], &b, 4);
	}
}

/* Convert x[0..n) with every supported variant and compare each with the reference, for every
 * format, mode, saturation, ftz and k. Returns the number of variants checked. */
static int check_all(const float *x, size_t n, uint64_t i0_fixed, int use_fixed)
{
	uint32_t *a = asim_malloc(n * 4 + 8), *b = asim_malloc(n * 4 + 8);
	cr_assert(a && b);
	const dp_format fs[] = {DP_FMT_BF16, DP_FMT_FP16, DP_FMT_FP8_E4M3, DP_FMT_FP8_E5M2,
	                        DP_FMT_FP32};
	int nvar = 0;
	for (int v = 0; v < DP_SIMD_COUNT; v++)
		nvar += dp_simd_supported((dp_simd)v);
	for (size_t fi = 0; fi < 5; fi++)
		for (int mode = 0; mode < DP_RMODE_COUNT; mode++)
			for (int sat = 0; sat <= 1; sat++)
				for (int ftz = 0; ftz <= 1; ftz++)
					for (unsigned k = 1; k <= (mode == DP_SR ? 32u : 1u); k++) {
						dp_cvt c = dp_cvt_make(fs[fi], (dp_rmode)mode);
						c.saturate = sat;
						c.ftz = ftz;
						c.sr_bits = mode == DP_SR ? k : DP_SR_BITS_DEFAULT;
						uint64_t seed = next64(), stream = next64();
						uint64_t i0 = use_fixed ? i0_fixed : next64() >> 8;
						size_t bytes = dp_format_get(c.fmt)->bytes;
						memset(b, 0x5a, n * 4);
						dp_convert_f32_array_ref(&c, x, b, n, seed, stream, i0);
						for (int v = 0; v < DP_SIMD_COUNT; v++) {
							if (!dp_simd_supported((dp_simd)v))
								continue;
							cr_assert_eq(dp_simd_force((dp_simd)v), 0);
							/* dst one code in: off every vector
							 * boundary, still the code's own
							 * alignment (which the API asks for) */
							char *dst = (char *)a + bytes;
							memset(a, 0xa5, n * 4 + 8);
							dp_convert_f32_array(&c, x, dst, n, seed, stream, i0);
							if (memcmp(dst, b, n * bytes) == 0)
								continue;
							for (size_t j = 0; j < n; j++) {
								uint32_t ca = 0, cb = dp_code_load(c.fmt, b, j);
								memcpy(&ca, dst + j * bytes, bytes);
								uint32_t xb;
								memcpy(&xb, &x[j], 4);
								cr_assert_eq(ca, cb,
								             "%s: %s mode %d sat %d ftz %d k %u "
								             "i0 %llu j %zu: x=0x%08x fast 0x%x ref 0x%x",
								             dp_simd_name((dp_simd)v),
								             dp_format_get(c.fmt)->name, mode, sat,
								             ftz, c.sr_bits, (unsigned long long)i0,
								             j, xb, ca, cb);
							}
						}
					}
	dp_simd_force(DP_SIMD_COUNT);
	asim_free(a);
	asim_free(b);
	return nvar;
}

Test(datapath_fast, dispatch)
{
	dp_simd v = dp_simd_active();
	cr_assert(dp_simd_supported(v));
	cr_assert(dp_simd_supported(DP_SIMD_SCALAR));
	cr_assert_str_eq(dp_simd_name(DP_SIMD_SCALAR), "scalar");
	cr_assert_str_eq(dp_simd_name(DP_SIMD_AVX512), "avx512");
	cr_assert_eq(dp_simd_force(DP_SIMD_COUNT + 1), ASIM_ERANGE);
	for (int t = 0; t < DP_SIMD_COUNT; t++)
		if (!dp_simd_supported((dp_simd)t))
			cr_assert_eq(dp_simd_force((dp_simd)t), ASIM_ERANGE);
	cr_assert_eq(dp_simd_force(DP_SIMD_SCALAR), 0);
	cr_assert_eq(dp_simd_active(), DP_SIMD_SCALAR);
	cr_assert_eq(dp_simd_force(DP_SIMD_COUNT), 0);
	cr_assert_eq(dp_simd_active(), v);
	cr_log_info("dispatch: %s", dp_simd_name(v));
}

Test(datapath_fast, equals_reference_everywhere)
{
	/* one float in front, so that the converted array starts off a 16-byte boundary; an odd
	 * length, not a multiple of the chunk or of any vector width */
	float *buf = asim_malloc((N + 1) * sizeof *buf);
	cr_assert(buf);
	fill(buf, N + 1);
	int nvar = check_all(buf + 1, N, 0, 0);
	cr_log_info("checked %d dispatch variants", nvar);
	asim_free(buf);
}

/* Element indices whose block number (i >> 2) crosses 2^32: the counter's second word changes
 * inside the array (a carry the vector Philox must make per lane); start not a multiple of 4. */
Test(datapath_fast, counter_carry)
{
	const size_t n = 4099;
	float *x = asim_malloc(n * sizeof *x);
	cr_assert(x);
	fill(x, n);
	check_all(x, n, (UINT64_C(1) << 34) - 2001, 1);
	check_all(x, 7, UINT64_MAX - 6, 1);   /* the last indices there are */
	asim_free(x);
}

/* A table of special values, each at every position modulo 64 (so in every lane of every vector
 * width, next to ordinary values and alone), for short and odd lengths too. */
Test(datapath_fast, special_values)
{
	static const uint32_t sp[] = {
		0x00000000u, 0x80000000u,                            /* +-0 */
		0x00000001u, 0x807fffffu, 0x00400000u,               /* binary32 subnormals */
		0x00800000u, 0x80800001u,                            /* smallest normals */
		0x7f800000u, 0xff800000u,                            /* +-Inf */
		0x7fc00000u, 0xffc00000u, 0x7f800001u, 0xff812345u,  /* NaNs */
		0x7f7fffffu, 0xff7fffffu, 0x7f7f8000u, 0x7f7f7fffu,  /* binary32 max, bf16 overflow edge */
		0x7f7f0000u, 0x7f7effffu, 0x7f7f0001u,
		0x43e00000u, 0x43e80000u, 0x43f00000u, 0xc3efffffu,  /* e4m3 max 448, 464, 480 */
		0x47600000u, 0x47700000u, 0x476fffffu,               /* e5m2 max 57344, 61440 */
		0x477fe000u, 0x477ff000u,                            /* fp16 max 65504, 65520 */
		0x3c800000u, 0x3c7fffffu, 0x3b000000u, 0x3b400000u,  /* e4m3 2^-6 edge, 2^-9 */
		0x38800000u, 0x387fffffu, 0x37800000u, 0x37c00000u,  /* e5m2/fp16 2^-14 edge, 2^-16 */
		0x33800000u, 0x33c00000u, 0x33000000u,               /* fp16 2^-24 */
		0x3f800000u, 0x3f808000u, 0x3f818000u, 0x3f800001u,  /* 1, bf16 ties */
	};
	const size_t ns = sizeof sp / sizeof sp[0];
	const size_t n = 64 * ns + 13;
	float *x = asim_malloc(n * sizeof *x);
	cr_assert(x);
	fill(x, n);
	for (size_t s = 0; s < ns; s++)
		for (size_t q = s; q < n; q += ns + 1)
			memcpy(&x[q], &sp[s], 4);
	check_all(x, n, 0, 0);
	for (size_t len = 1; len <= 67; len += 6)   /* shorter than a vector, tails only */
		check_all(x + len, len, 0, 0);
	asim_free(x);
}

/* Converting in pieces at the right base indices gives the same codes as one call. */
Test(datapath_fast, split_invariant)
{
	float *x = asim_malloc(N * sizeof *x);
	uint16_t *a = asim_malloc(N * 2), *b = asim_malloc(N * 2);
	cr_assert(x && a && b);
	fill(x, N);
	dp_cvt c = dp_cvt_make(DP_FMT_BF16, DP_SR);
	c.sr_bits = 11;
	dp_convert_f32_array(&c, x, a, N, 5, 6, 1000);
	size_t cuts[] = {0, 1, 2, 7, 1030, 1031, 5000, 13001, N};
	for (size_t i = 0; i + 1 < sizeof cuts / sizeof cuts[0]; i++)
		dp_convert_f32_array(&c, x + cuts[i], b + cuts[i], cuts[i + 1] - cuts[i], 5, 6,
		                     1000 + cuts[i]);
	cr_expect(memcmp(a, b, N * 2) == 0);
	asim_free(x);
	asim_free(a);
	asim_free(b);
}
