/*
 * format.c -- the format table expanded, with derived parameters, decoding and classification.
 *
 * Derivations (from format.def's columns, for ebits E, mbits M, bias B):
 *
 *   emin      = 1 - B
 *   IEEE:     top exponent field 2^E - 1 is Inf (fraction 0) / NaN; largest finite code has
 *             exponent field 2^E - 2 and fraction all ones; emax = 2^E - 2 - B;
 *             canonical quiet NaN: exponent all ones, top fraction bit set (0x7fc0 for bf16).
 *   FN:       no Inf; the exponent field 2^E - 1 holds finite values except fraction all ones,
 *             the only NaN; largest finite code has fraction all ones minus one; emax = 2^E - 1 - B.
 *
 * Decoding is exact: every code of every format is a binary64 value.
 */
#include "sim/datapath/format.h"

#include <math.h>
#include <strings.h>

#include "sim/dtype.h"

/* The simulator's dtype and rounding enums (sim/dtype.h) name the same things: keep them equal so
 * a graph's dtype or rounding converts to the datapath's by a cast. */
_Static_assert((int)DP_FMT_FP32 == (int)ASIM_DT_FP32 && (int)DP_FMT_BF16 == (int)ASIM_DT_BF16 &&
               (int)DP_FMT_FP16 == (int)ASIM_DT_FP16 &&
               (int)DP_FMT_FP8_E4M3 == (int)ASIM_DT_FP8_E4M3 &&
               (int)DP_FMT_FP8_E5M2 == (int)ASIM_DT_FP8_E5M2, "dp_format != asim_dtype");
_Static_assert((int)DP_RNE == (int)ASIM_RND_RNE && (int)DP_RTZ == (int)ASIM_RND_RTZ &&
               (int)DP_RU == (int)ASIM_RND_RU && (int)DP_RD == (int)ASIM_RND_RD &&
               (int)DP_SR == (int)ASIM_RND_SR && (int)DP_RMODE_COUNT == (int)ASIM_RND_COUNT,
               "dp_rmode != asim_rounding");

static dp_format_info table[DP_FMT_COUNT] = {
#define DP_FORMAT(id, nm, b, eb, mb, bi, sp, sat) \
	[DP_FMT_##id] = {.name = nm, .bits = b, .ebits = eb, .mbits = mb, .bias = bi, \
	                 .specials = sp, .sat_default = sat},
#include "sim/datapath/format.def"
#undef DP_FORMAT
};

/* The derived columns, computed from the parameters once, by a constructor that runs before
 * main (so before any thread exists: the table is read-only afterwards). */
static void derive(dp_format_info *f)
{
	uint32_t eall = (1u << f->ebits) - 1, mall = (1u << f->mbits) - 1;
	f->bytes = f->bits / 8;
	f->emin = 1 - f->bias;
	f->sign_mask = 1u << (f->bits - 1);
	if (f->specials == DP_SPECIALS_IEEE) {
		f->emax = (int)eall - 1 - f->bias;
		f->max_code = ((eall - 1) << f->mbits) | mall;
		f->inf_code = eall << f->mbits;
		f->qnan_code = (eall << f->mbits) | (1u << (f->mbits - 1));
	} else {
		f->emax = (int)eall - f->bias;
		f->max_code = (eall << f->mbits) | (mall - 1);
		f->inf_code = 0;
		f->qnan_code = (eall << f->mbits) | mall;
	}
	f->max_finite = ldexp((double)((1u << f->mbits) | (f->max_code & mall)),
	                      f->emax - (int)f->mbits);
}

__attribute__((constructor)) static void derive_all(void)
{
	for (int i = 0; i < DP_FMT_COUNT; i++)
		derive(&table[i]);
}

const dp_format_info *dp_format_get(dp_format f)
{
	ASIM_ASSERT((unsigned)f < DP_FMT_COUNT);
	return &table[f];
}

int dp_format_parse(const char *name, dp_format *out)
{
	if (name == NULL)
		return ASIM_ESYNTAX;
	for (int i = 0; i < DP_FMT_COUNT; i++) {
		if (strcasecmp(name, table[i].name) == 0) {
			*out = (dp_format)i;
			return ASIM_OK;
		}
	}
	if (strcasecmp(name, "e4m3") == 0) {
		*out = DP_FMT_FP8_E4M3;
		return ASIM_OK;
	}
	if (strcasecmp(name, "e5m2") == 0) {
		*out = DP_FMT_FP8_E5M2;
		return ASIM_OK;
	}
	return ASIM_ESYNTAX;
}

dp_class dp_classify(dp_format fmt, uint32_t code)
{
	const dp_format_info *f = dp_format_get(fmt);
	uint32_t mag = code & (f->sign_mask - 1);
	uint32_t ef = mag >> f->mbits, mall = (1u << f->mbits) - 1, eall = (1u << f->ebits) - 1;
	if (mag == 0)
		return DP_CLASS_ZERO;
	if (f->specials == DP_SPECIALS_IEEE && ef == eall)
		return (mag & mall) ? DP_CLASS_NAN : DP_CLASS_INF;
	if (f->specials == DP_SPECIALS_FN && mag == f->qnan_code)
		return DP_CLASS_NAN;
	return ef == 0 ? DP_CLASS_SUBNORMAL : DP_CLASS_NORMAL;
}

double dp_decode(dp_format fmt, uint32_t code)
{
	const dp_format_info *f = dp_format_get(fmt);
	int neg = (code & f->sign_mask) != 0;
	uint32_t mag = code & (f->sign_mask - 1);
	uint32_t ef = mag >> f->mbits, fr = mag & ((1u << f->mbits) - 1);
	double v;
	switch (dp_classify(fmt, code)) {
	case DP_CLASS_ZERO: v = 0.0; break;
	case DP_CLASS_NAN: v = NAN; break;
	case DP_CLASS_INF: v = INFINITY; break;
	case DP_CLASS_SUBNORMAL: v = ldexp((double)fr, f->emin - (int)f->mbits); break;
	default:
		v = ldexp((double)((1u << f->mbits) | fr), (int)ef - f->bias - (int)f->mbits);
		break;
	}
	return neg ? -v : v;
}

static const char *const rmode_names[DP_RMODE_COUNT] = {"rne", "rtz", "ru", "rd", "sr"};

int dp_rmode_parse(const char *name, dp_rmode *out)
{
	if (name == NULL)
		return ASIM_ESYNTAX;
	for (int i = 0; i < DP_RMODE_COUNT; i++) {
		if (strcasecmp(name, rmode_names[i]) == 0) {
			*out = (dp_rmode)i;
			return ASIM_OK;
		}
	}
	return ASIM_ESYNTAX;
}

const char *dp_rmode_name(dp_rmode m)
{
	ASIM_ASSERT((unsigned)m < DP_RMODE_COUNT);
	return rmode_names[m];
}

dp_cvt dp_cvt_make(dp_format fmt, dp_rmode m)
{
	dp_cvt c = {.fmt = fmt, .mode = m, .saturate = dp_format_get(fmt)->sat_default, .ftz = 0,
	            .sr_bits = DP_SR_BITS_DEFAULT};
	return c;
}

int dp_cvt_check(const dp_cvt *c, asim_err *e)
{
	if ((unsigned)c->fmt >= DP_FMT_COUNT)
		return asim_errorf(e, ASIM_ERANGE, "unknown number format %d", (int)c->fmt);
	if ((unsigned)c->mode >= DP_RMODE_COUNT)
		return asim_errorf(e, ASIM_ERANGE, "unknown rounding mode %d", (int)c->mode);
	if (c->sr_bits < 1 || c->sr_bits > 32)
		return asim_errorf(e, ASIM_ERANGE,
		                   "stochastic rounding bits must be in 1..32, got %u", c->sr_bits);
	return ASIM_OK;
}

uint32_t dp_code_load(dp_format f, const void *arr, size_t i)
{
	switch (dp_format_get(f)->bytes) {
	case 1: return ((const uint8_t *)arr)[i];
	case 2: return ((const uint16_t *)arr)[i];
	default: return ((const uint32_t *)arr)[i];
	}
}

void dp_code_store(dp_format f, void *arr, size_t i, uint32_t code)
{
	switch (dp_format_get(f)->bytes) {
	case 1: ((uint8_t *)arr)[i] = (uint8_t)code; break;
	case 2: ((uint16_t *)arr)[i] = (uint16_t)code; break;
	default: ((uint32_t *)arr)[i] = code; break;
	}
}
