/*
 * test_datapath_fast.c -- the fast array conversions equal the scalar reference bit for bit,
 * for every format, mode, saturation, ftz and SR bit count, over many random inputs covering
 * every class (random bit patterns, values near format boundaries, specials), and the results
 * do not depend on how an array is split into calls.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "sim/alloc.h"
#include "sim/datapath/format.h"

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

Test(datapath_fast, equals_reference_everywhere)
{
	float *x = asim_malloc(N * sizeof *x);
	uint32_t *a = asim_malloc(N * 4), *b = asim_malloc(N * 4);
	cr_assert(x && a && b);
	fill(x, N);
	const dp_format fs[] = {DP_FMT_BF16, DP_FMT_FP16, DP_FMT_FP8_E4M3, DP_FMT_FP8_E5M2,
	                        DP_FMT_FP32};
	const unsigned ks[] = {1, 3, 8, 13, 16, 17, 23, 31, 32};
	for (size_t fi = 0; fi < 5; fi++)
		for (int mode = 0; mode < DP_RMODE_COUNT; mode++)
			for (int sat = 0; sat <= 1; sat++)
				for (int ftz = 0; ftz <= 1; ftz++)
					for (size_t ki = 0; ki < (mode == DP_SR ? 9u : 1u); ki++) {
						dp_cvt c = dp_cvt_make(fs[fi], (dp_rmode)mode);
						c.saturate = sat;
						c.ftz = ftz;
						c.sr_bits = ks[ki];
						uint64_t seed = next64(), stream = next64(), i0 = next64() >> 8;
						memset(a, 0xa5, N * 4);
						memset(b, 0x5a, N * 4);
						dp_convert_f32_array(&c, x, a, N, seed, stream, i0);
						dp_convert_f32_array_ref(&c, x, b, N, seed, stream, i0);
						size_t bytes = dp_format_get(c.fmt)->bytes;
						if (memcmp(a, b, N * bytes) != 0) {
							for (size_t j = 0; j < N; j++) {
								uint32_t ca = dp_code_load(c.fmt, a, j),
								         cb = dp_code_load(c.fmt, b, j);
								uint32_t xb;
								memcpy(&xb, &x[j], 4);
								cr_assert_eq(ca, cb,
								             "%s mode %d sat %d ftz %d k %u: x=0x%08x "
								             "fast 0x%x ref 0x%x",
								             dp_format_get(c.fmt)->name, mode, sat, ftz,
								             c.sr_bits, xb, ca, cb);
							}
						}
					}
	asim_free(x);
	asim_free(a);
	asim_free(b);
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
