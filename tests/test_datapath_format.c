/*
 * test_datapath_format.c -- formats and the reference conversion (sim/datapath/format.h).
 *
 * References used here are independent of the code under test:
 *   - the 900 shared vectors (exact rational arithmetic, cross-checked against gfloat,
 *     ml_dtypes and CPFloat), read in place from ASIM_SHAREDDIR;
 *   - decoding checked against hand-known values and strict monotonicity of the code order;
 *   - stochastic rounding counted over all 2^k random integers against floor(frac * 2^k), with
 *     the sample values built from exact integer parts (so frac is known without the library);
 *   - the AWS Neuron FP16 accumulation example.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/datapath/format.h"
#include "sim/datapath/philox.h"
#include "tests/testutil.h"

static uint64_t f64_bits(double x)
{
	uint64_t b;
	memcpy(&b, &x, 8);
	return b;
}

static double bits_f64(uint64_t b)
{
	double x;
	memcpy(&x, &b, 8);
	return x;
}

Test(datapath_format, shared_vectors_bit_exact)
{
	char *path = tu_sharedpath("numerics/vectors.csv");
	FILE *fp = fopen(path, "r");
	cr_assert_not_null(fp, "the shared test vectors are missing: %s", path);
	char line[256];
	cr_assert_not_null(fgets(line, sizeof line, fp));
	cr_assert(strncmp(line, "input_f64_hex,format,mode,random_bits,expected_hex", 50) == 0);
	int rows = 0, fails = 0;
	while (fgets(line, sizeof line, fp)) {
		char in[64], fmt[32], mode[16], rnd[32], exp[32];
		if (sscanf(line, "%63[^,],%31[^,],%15[^,],%31[^,],%31s", in, fmt, mode, rnd, exp) != 5)
			cr_assert_fail("unparsable row: %s", line);
		rows++;
		uint64_t xb = strtoull(in, NULL, 16);
		uint32_t want = (uint32_t)strtoul(exp, NULL, 16);
		dp_cvt c;
		int sat = strstr(fmt, "_sat") != NULL;
		dp_format f;
		if (strncmp(fmt, "bf16", 4) == 0) f = DP_FMT_BF16;
		else if (strncmp(fmt, "fp16", 4) == 0) f = DP_FMT_FP16;
		else if (strncmp(fmt, "e4m3", 4) == 0) f = DP_FMT_FP8_E4M3;
		else if (strncmp(fmt, "e5m2", 4) == 0) f = DP_FMT_FP8_E5M2;
		else cr_assert_fail("unknown format %s", fmt);
		uint32_t r = 0;
		dp_rmode m;
		unsigned k = 32;
		if (strncmp(mode, "SR", 2) == 0) {
			m = DP_SR;
			k = (unsigned)atoi(mode + 2);
			r = (uint32_t)strtoul(rnd, NULL, 16);
		} else {
			cr_assert_eq(dp_rmode_parse(mode, &m), 0, "mode %s", mode);
		}
		c = dp_cvt_make(f, m);
		c.saturate = sat;
		c.sr_bits = k;
		uint32_t got = dp_round_f64(&c, bits_f64(xb), r);
		if (got != want) {
			fails++;
			cr_expect_eq(got, want, "%s %s %s r=%s: got 0x%x want 0x%x", in, fmt, mode, rnd,
			             got, want);
		}
		/* The binary32 entry point agrees wherever the input is a binary32 value. */
		double x = bits_f64(xb);
		if (!isnan(x) && (double)(float)x == x) {
			uint32_t g32 = dp_round_f32(&c, (float)x, r);
			cr_expect_eq(g32, want, "f32 path %s %s %s", in, fmt, mode);
		}
	}
	fclose(fp);
	free(path);
	cr_expect_eq(rows, 900, "expected 900 vectors, read %d", rows);
	cr_expect_eq(fails, 0);
}

Test(datapath_format, parameters_and_known_values)
{
	cr_expect_eq(dp_format_get(DP_FMT_FP8_E4M3)->max_finite, 448.0);
	cr_expect_eq(dp_format_get(DP_FMT_FP8_E5M2)->max_finite, 57344.0);
	cr_expect_eq(dp_format_get(DP_FMT_FP16)->max_finite, 65504.0);
	cr_expect_eq(dp_format_get(DP_FMT_BF16)->max_finite, 0x1.fep127);
	cr_expect_eq(dp_format_get(DP_FMT_FP32)->max_finite, (double)0x1.fffffep127f);
	cr_expect_eq(dp_decode(DP_FMT_BF16, 0x3f80), 1.0);
	cr_expect_eq(dp_decode(DP_FMT_BF16, 0xc049), -3.140625);
	cr_expect_eq(dp_decode(DP_FMT_FP16, 0x0001), 0x1p-24);
	cr_expect_eq(dp_decode(DP_FMT_FP16, 0x3c00), 1.0);
	cr_expect_eq(dp_decode(DP_FMT_FP8_E4M3, 0x01), 0x1p-9);
	cr_expect_eq(dp_decode(DP_FMT_FP8_E4M3, 0x08), 0x1p-6);
	cr_expect_eq(dp_decode(DP_FMT_FP8_E4M3, 0x7e), 448.0);
	cr_expect(isnan(dp_decode(DP_FMT_FP8_E4M3, 0x7f)));
	cr_expect(isnan(dp_decode(DP_FMT_FP8_E4M3, 0xff)) && signbit(dp_decode(DP_FMT_FP8_E4M3, 0xff)));
	cr_expect_eq(dp_decode(DP_FMT_FP8_E4M3, 0x78), 256.0);   /* S.1111.000 is finite */
	cr_expect_eq(dp_decode(DP_FMT_FP8_E5M2, 0x01), 0x1p-16);
	cr_expect_eq(dp_decode(DP_FMT_FP8_E5M2, 0x7b), 57344.0);
	cr_expect(isinf(dp_decode(DP_FMT_FP8_E5M2, 0x7c)));
	cr_expect(isnan(dp_decode(DP_FMT_FP8_E5M2, 0x7d)));
	cr_expect_eq(dp_decode(DP_FMT_FP32, 0x00000001), 0x1p-149);
	cr_expect(signbit(dp_decode(DP_FMT_FP16, 0x8000)));
	cr_expect_eq(dp_classify(DP_FMT_FP8_E4M3, 0x7f), DP_CLASS_NAN);
	cr_expect_eq(dp_classify(DP_FMT_FP8_E4M3, 0x7e), DP_CLASS_NORMAL);
	cr_expect_eq(dp_classify(DP_FMT_FP8_E4M3, 0x07), DP_CLASS_SUBNORMAL);
	cr_expect_eq(dp_classify(DP_FMT_BF16, 0xff80), DP_CLASS_INF);
	cr_expect_eq(dp_classify(DP_FMT_BF16, 0x8000), DP_CLASS_ZERO);
	cr_expect_eq(dp_format_get(DP_FMT_BF16)->qnan_code, 0x7fc0);
	cr_expect_eq(dp_format_get(DP_FMT_FP16)->qnan_code, 0x7e00);
	cr_expect_eq(dp_format_get(DP_FMT_FP8_E4M3)->qnan_code, 0x7f);
	cr_expect_eq(dp_format_get(DP_FMT_FP8_E5M2)->qnan_code, 0x7e);
	cr_expect_eq(dp_format_get(DP_FMT_FP32)->qnan_code, 0x7fc00000u);
	cr_expect_eq(dp_format_get(DP_FMT_FP8_E4M3)->inf_code, 0);
	/* Defaults of the saturation attribute. */
	cr_expect(dp_cvt_make(DP_FMT_FP8_E4M3, DP_RNE).saturate);
	cr_expect(dp_cvt_make(DP_FMT_FP8_E5M2, DP_RNE).saturate);
	cr_expect(!dp_cvt_make(DP_FMT_BF16, DP_RNE).saturate);
	cr_expect(!dp_cvt_make(DP_FMT_FP16, DP_RNE).saturate);
	dp_format f;
	cr_expect_eq(dp_format_parse("FP8_E4M3", &f), 0);
	cr_expect_eq(f, DP_FMT_FP8_E4M3);
	cr_expect_eq(dp_format_parse("fp7", &f), ASIM_ESYNTAX);
}

/* Positive finite codes in increasing order decode to strictly increasing values, and the
 * number of finite positive codes is what the format's layout says. */
Test(datapath_format, decode_is_monotone)
{
	const dp_format fs[] = {DP_FMT_BF16, DP_FMT_FP16, DP_FMT_FP8_E4M3, DP_FMT_FP8_E5M2};
	for (size_t i = 0; i < 4; i++) {
		const dp_format_info *fi = dp_format_get(fs[i]);
		double prev = -1;
		for (uint32_t code = 0; code <= fi->max_code; code++) {
			double v = dp_decode(fs[i], code);
			cr_assert(v > prev, "%s code 0x%x", fi->name, code);
			cr_assert_eq(dp_decode(fs[i], code | fi->sign_mask), -v);
			prev = v;
		}
		double next = dp_decode(fs[i], fi->max_code + 1);
		cr_expect(isinf(next) || isnan(next), "%s: code after max is not special", fi->name);
	}
}

/* Every 8- and 16-bit code decodes and re-encodes to itself in every mode; NaNs become the
 * canonical quiet NaN with their sign; with saturation, Inf becomes max; with ftz, subnormals
 * become signed zero. */
Test(datapath_format, every_code_round_trips_in_every_mode)
{
	const dp_format fs[] = {DP_FMT_BF16, DP_FMT_FP16, DP_FMT_FP8_E4M3, DP_FMT_FP8_E5M2};
	for (size_t i = 0; i < 4; i++) {
		const dp_format_info *fi = dp_format_get(fs[i]);
		for (int mode = 0; mode < DP_RMODE_COUNT; mode++) {
			for (int sat = 0; sat <= 1; sat++) {
				for (int ftz = 0; ftz <= 1; ftz++) {
					dp_cvt c = dp_cvt_make(fs[i], (dp_rmode)mode);
					c.saturate = sat;
					c.ftz = ftz;
					c.sr_bits = 1 + (unsigned)((mode * 7 + sat * 3 + ftz) % 32);
					for (uint32_t code = 0; code < (1u << fi->bits); code++) {
						uint32_t r = (code * 2654435761u) >> (32 - c.sr_bits);
						uint32_t got = dp_round_f64(&c, dp_decode(fs[i], code), r);
						uint32_t want = code;
						uint32_t s = code & fi->sign_mask;
						dp_class cl = dp_classify(fs[i], code);
						if (cl == DP_CLASS_NAN)
							want = s | fi->qnan_code;
						else if (cl == DP_CLASS_INF && sat)
							want = s | fi->max_code;
						else if (cl == DP_CLASS_SUBNORMAL && ftz)
							want = s;
						if (got != want)
							cr_assert_eq(got, want, "%s %s sat=%d ftz=%d code 0x%x",
							             fi->name, dp_rmode_name((dp_rmode)mode), sat,
							             ftz, code);
					}
				}
			}
		}
	}
}

/* fp32: a large sample of codes, every class. */
Test(datapath_format, fp32_codes_round_trip)
{
	uint64_t st = 12345;
	for (int it = 0; it < 200000; it++) {
		st = st * 6364136223846793005ull + 1442695040888963407ull;
		uint32_t code = (uint32_t)(st >> 32);
		for (int mode = 0; mode < DP_RMODE_COUNT; mode++) {
			dp_cvt c = dp_cvt_make(DP_FMT_FP32, (dp_rmode)mode);
			uint32_t got = dp_round_f64(&c, dp_decode(DP_FMT_FP32, code), (uint32_t)st);
			uint32_t want = dp_classify(DP_FMT_FP32, code) == DP_CLASS_NAN
			                        ? (code & 0x80000000u) | 0x7fc00000u : code;
			cr_assert_eq(got, want, "code 0x%08x mode %d", code, mode);
		}
	}
}

/* Stochastic rounding: for x = (n + a/2^b) * 2^qe on the target grid, over all 2^k random
 * integers r the number rounded away from zero is exactly floor(a * 2^k / 2^b). */
static void sr_count_case(dp_format f, uint64_t n, uint64_t a, unsigned b, int qe, int neg,
                          int sat)
{
	double x = ldexp((double)((n << b) + a), qe - (int)b);
	cr_assert_eq(x, ldexp((double)n, qe) + ldexp((double)a, qe - (int)b), "x not exact");
	if (neg)
		x = -x;
	for (unsigned k = 1; k <= 16; k++) {
		dp_cvt c = dp_cvt_make(f, DP_SR);
		c.sr_bits = k;
		c.saturate = sat;
		uint64_t expect_away = (a << k) >> b;   /* floor(frac * 2^k), exact */
		uint64_t away = 0;
		for (uint32_t r = 0; r < (1u << k); r++) {
			uint32_t code = dp_round_f64(&c, x, r);
			double v = dp_decode(f, code);
			if (isnan(v) || fabs(v) > fabs(x))
				away++;
			else
				cr_assert(fabs(v) < fabs(x) || a == 0, "not rounded");
			if (a == 0)
				cr_assert_eq(v, x, "exact value changed");
		}
		cr_assert_eq(away, expect_away, "%s x=%a k=%u: %lu away, want %lu",
		             dp_format_get(f)->name, x, k, (unsigned long)away,
		             (unsigned long)expect_away);
	}
}

Test(datapath_format, stochastic_rounding_counts_exact)
{
	const dp_format fs[] = {DP_FMT_BF16, DP_FMT_FP16, DP_FMT_FP8_E4M3, DP_FMT_FP8_E5M2,
	                        DP_FMT_FP32};
	uint64_t st = 99;
	for (size_t i = 0; i < 5; i++) {
		const dp_format_info *fi = dp_format_get(fs[i]);
		int mb = (int)fi->mbits;
		int qsub = fi->emin - mb;                        /* subnormal quantum exponent */
		int qmax = fi->emax - mb;                        /* quantum at the top binade */
		unsigned bmax = 50 - (unsigned)mb;               /* keeps x exact in binary64 */
		if (bmax > 40) bmax = 40;
		for (int it = 0; it < 40; it++) {
			st = st * 6364136223846793005ull + 1442695040888963407ull;
			unsigned b = 1 + (unsigned)((st >> 20) % bmax);
			uint64_t a = (st >> 3) & ((UINT64_C(1) << b) - 1);
			int neg = (int)(st >> 63);
			uint64_t mant = (st >> 33) & ((UINT64_C(1) << mb) - 1);
			/* a subnormal, the smallest-normal binade, a middle binade, near max */
			sr_count_case(fs[i], mant, a, b, qsub, neg, 0);
			sr_count_case(fs[i], (UINT64_C(1) << mb) | mant, a, b, qsub, neg, 0);
			sr_count_case(fs[i], (UINT64_C(1) << mb) | mant, a, b, -mb - 1, neg, 1);
			sr_count_case(fs[i], (fi->max_code & ((1u << mb) - 1)) | (UINT64_C(1) << mb), a,
			              b, qmax, neg, 0);
			sr_count_case(fs[i], (fi->max_code & ((1u << mb) - 1)) - 1 + (UINT64_C(1) << mb),
			              a, b, qmax, neg, 1);
		}
		/* ties, quarter points and values below the smallest subnormal */
		sr_count_case(fs[i], 0, 1, 1, qsub, 0, 0);
		sr_count_case(fs[i], 0, 1, 2, qsub, 1, 0);
		sr_count_case(fs[i], 0, 3, 30, qsub, 0, 0);
		sr_count_case(fs[i], 1, 0, 4, qsub, 0, 0);
	}
}

/* AWS Neuron's example: a = 1024 in FP16, add 0.5 2048 times. RNE never moves (every sum is a
 * tie to the even 1024); SR ends near 2048. Each SR step adds 1 with probability 1/2 while
 * a < 2048 (ulp 1), so the count is Binomial(2048, 1/2) until 2048 is reached: sd ~ 22.6. */
Test(datapath_format, fp16_accumulation_rne_stalls_sr_does_not)
{
	dp_cvt rne = dp_cvt_make(DP_FMT_FP16, DP_RNE);
	double a = 1024;
	for (int i = 0; i < 2048; i++)
		a = dp_decode(DP_FMT_FP16, dp_round_f64(&rne, a + 0.5, 0));
	cr_expect_eq(a, 1024.0);
	double sum = 0;
	for (uint64_t seed = 1; seed <= 8; seed++) {
		dp_cvt sr = dp_cvt_make(DP_FMT_FP16, DP_SR);
		a = 1024;
		for (uint64_t i = 0; i < 2048; i++)
			a = dp_decode(DP_FMT_FP16,
			              dp_round_f64(&sr, a + 0.5, dp_sr_random(seed, 1, i, 32)));
		cr_expect(fabs(a - 2048) < 5 * 22.7, "seed %lu: %g", (unsigned long)seed, a);
		sum += a;
	}
	cr_expect(fabs(sum / 8 - 2048) < 5 * 22.7 / sqrt(8.0), "mean %g", sum / 8);
}

/* Overflow and specials, spelled out from the contract (independent of the vectors). */
Test(datapath_format, overflow_rules)
{
	dp_cvt c = dp_cvt_make(DP_FMT_FP8_E4M3, DP_RNE);
	c.saturate = 0;
	cr_expect_eq(dp_round_f64(&c, 464.0, 0), 0x7e);     /* tie to even 448 */
	cr_expect_eq(dp_round_f64(&c, 465.0, 0), 0x7f);     /* rounds to 480: NaN */
	cr_expect_eq(dp_round_f64(&c, -INFINITY, 0), 0xff);
	c.mode = DP_RTZ;
	cr_expect_eq(dp_round_f64(&c, 1e9, 0), 0x7e);
	cr_expect_eq(dp_round_f64(&c, INFINITY, 0), 0x7f);  /* Inf input is not an overflow */
	c.mode = DP_RU;
	cr_expect_eq(dp_round_f64(&c, -1e9, 0), 0xfe);
	cr_expect_eq(dp_round_f64(&c, 449.0, 0), 0x7f);
	c.mode = DP_RD;
	cr_expect_eq(dp_round_f64(&c, 1e9, 0), 0x7e);
	cr_expect_eq(dp_round_f64(&c, -449.0, 0), 0xff);
	c.saturate = 1;
	c.mode = DP_RNE;
	cr_expect_eq(dp_round_f64(&c, INFINITY, 0), 0x7e);
	cr_expect_eq(dp_round_f64(&c, -1e300, 0), 0xfe);
	cr_expect_eq(dp_round_f64(&c, -NAN, 0), 0xff);
	dp_cvt h = dp_cvt_make(DP_FMT_FP16, DP_RNE);
	cr_expect_eq(dp_round_f64(&h, 65520.0, 0), 0x7c00);   /* tie above max: to Inf */
	cr_expect_eq(dp_round_f64(&h, 65519.99, 0), 0x7bff);
	h.mode = DP_RD;
	cr_expect_eq(dp_round_f64(&h, 1e6, 0), 0x7bff);
	cr_expect_eq(dp_round_f64(&h, -1e6, 0), 0xfc00);
	/* signed zero, underflow, ftz after rounding */
	h.mode = DP_RNE;
	cr_expect_eq(dp_round_f64(&h, -0.0, 0), 0x8000);
	cr_expect_eq(dp_round_f64(&h, -0x1p-26, 0), 0x8000);
	h.mode = DP_RU;
	cr_expect_eq(dp_round_f64(&h, 0x1p-1074, 0), 0x0001);   /* binary64 subnormal input */
	h.ftz = 1;
	cr_expect_eq(dp_round_f64(&h, 0x1p-1074, 0), 0x0000);
	cr_expect_eq(dp_round_f64(&h, 0x1.ffcp-15, 0), 0x0400);  /* rounds up to min normal: kept */
	/* no double rounding: 1 + 2^-8 + 2^-30 rounds up in bf16 (via fp32 it would tie to 1) */
	dp_cvt bf = dp_cvt_make(DP_FMT_BF16, DP_RNE);
	cr_expect_eq(dp_round_f64(&bf, 1.0 + 0x1p-8 + 0x1p-30, 0), 0x3f81);
	cr_expect_eq(f64_bits(dp_decode(DP_FMT_BF16, 0x3f81)), f64_bits(1.0 + 0x1p-7));
}
