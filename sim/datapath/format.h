/*
 * format.h -- number formats of the datapath and conversion into them (design.md section 3).
 *
 * A format code is held in the low bits of a uint32_t:
 *
 *     fp32      S EEEEEEEE MMMMMMMMMMMMMMMMMMMMMMM   bias 127, Inf, NaN
 *     bf16      S EEEEEEEE MMMMMMM                   bias 127, Inf, NaN
 *     fp16      S EEEEE MMMMMMMMMM                   bias 15,  Inf, NaN
 *     fp8_e4m3  S EEEE MMM                           bias 7, no Inf, NaN only S.1111.111, max 448
 *     fp8_e5m2  S EEEEE MM                           bias 15, Inf, NaN, max 57344
 *
 * Conversion (dp_round_f64 / dp_round_f32) implements the contract exactly:
 *
 *   - the exact source value is rounded once (binary64 subnormals included; no double rounding);
 *   - the decision is taken on the magnitude and the sign re-applied, so RU/RD are directed with
 *     respect to the signed value while RNE/RTZ/SR are symmetric;
 *   - the grid of the target: q = 2^(max(e, emin) - mbits) for |x| in [2^e, 2^(e+1)), i.e. the
 *     subnormal grid below the smallest normal and the grid continued without bound above the top
 *     exponent; rounding happens on that grid and only then is overflow decided;
 *   - overflow (rounded magnitude above the largest finite value): saturating -> +-max finite
 *     (+-Inf input too); not saturating -> RNE and SR give +-Inf (NaN for fp8_e4m3, which has no
 *     Inf), a directed mode that moved the magnitude toward zero gives +-max, one that moved it
 *     away gives +-Inf/NaN; an Inf input stays +-Inf (NaN for fp8_e4m3);
 *   - NaN input -> the canonical quiet NaN of the target with the input's sign;
 *   - signed zero and subnormal results are kept; flush-to-zero (ftz), only when asked, replaces
 *     a subnormal *result* by zero of the same sign (after rounding);
 *   - stochastic rounding with k bits and random integer r in [0, 2^k): with m = |x|/q and
 *     frac = m - floor(m), t = floor(frac * 2^k); round away from zero iff r < t. Exact values
 *     never change; a value is rounded up with probability t/2^k, i.e. frac truncated to k bits.
 *
 * Numerics state is explicit: a dp_cvt value carries the target, mode, saturation, ftz and SR bit
 * count; the random integer is an argument (see philox.h for where it comes from). No globals.
 */
#ifndef DP_FORMAT_H
#define DP_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "sim/error.h"

#define DP_SPECIALS_IEEE 0
#define DP_SPECIALS_FN   1

typedef enum dp_format {
#define DP_FORMAT(id, name, bits, ebits, mbits, bias, specials, sat) DP_FMT_##id,
#include "sim/datapath/format.def"
#undef DP_FORMAT
	DP_FMT_COUNT
} dp_format;

/* Compile-time constants per format, for code specialised to a format (fastcvt.c, kernels.c):
 * DP_MBITS_BF16, DP_BIAS_FP16, DP_MAXCODE_FP8_E4M3, ... derived from the table. */
#define DP_MAXCODE_OF(ebits, mbits, specials)                                       \
	((specials) == DP_SPECIALS_IEEE ? ((((1u << (ebits)) - 2u) << (mbits)) | ((1u << (mbits)) - 1u)) \
	                                : ((((1u << (ebits)) - 1u) << (mbits)) | ((1u << (mbits)) - 2u)))
enum {
#define DP_FORMAT(id, name, bits, ebits, mbits, bias, specials, sat) \
	DP_BITS_##id = (bits), DP_MBITS_##id = (mbits), DP_BIAS_##id = (bias), \
	DP_EMIN_##id = 1 - (bias), DP_MAXCODE_##id = (int)DP_MAXCODE_OF(ebits, mbits, specials),
#include "sim/datapath/format.def"
#undef DP_FORMAT
};

/* Parameters of a format: the table's columns and what derives from them. */
typedef struct dp_format_info {
	const char *name;
	unsigned bits, ebits, mbits;
	int bias;
	int specials;        /* DP_SPECIALS_IEEE or DP_SPECIALS_FN */
	int sat_default;     /* default saturation attribute of conversions to this format */
	/* derived */
	unsigned bytes;      /* storage bytes: 1, 2 or 4 */
	int emin;            /* exponent of the smallest normal: 1 - bias */
	int emax;            /* exponent of the largest finite value */
	uint32_t sign_mask;  /* 1 << (bits - 1) */
	uint32_t max_code;   /* largest finite magnitude code */
	uint32_t inf_code;   /* +Inf, or 0 when the format has none */
	uint32_t qnan_code;  /* canonical quiet NaN, positive */
	double max_finite;   /* value of max_code */
} dp_format_info;

const dp_format_info *dp_format_get(dp_format f);
/* Parse a format name ("bf16", "fp8_e4m3"; also "e4m3", "e5m2"), case-insensitive.
 * Returns 0 or ASIM_ESYNTAX. */
int dp_format_parse(const char *name, dp_format *out /* OUT */);

typedef enum dp_class {
	DP_CLASS_ZERO, DP_CLASS_SUBNORMAL, DP_CLASS_NORMAL, DP_CLASS_INF, DP_CLASS_NAN
} dp_class;
dp_class dp_classify(dp_format f, uint32_t code);
/* The exact value of a code, as a binary64 (every code of every format is representable);
 * NaN codes give a quiet NaN with the code's sign. Bits above the format's width are ignored. */
double dp_decode(dp_format f, uint32_t code);

typedef enum dp_rmode { DP_RNE, DP_RTZ, DP_RU, DP_RD, DP_SR, DP_RMODE_COUNT } dp_rmode;
/* "rne", "rtz", "ru", "rd", "sr" (case-insensitive). 0 or ASIM_ESYNTAX. */
int dp_rmode_parse(const char *name, dp_rmode *out /* OUT */);
const char *dp_rmode_name(dp_rmode m);

#define DP_SR_BITS_DEFAULT 32u

/* A conversion: everything that decides its result except the random integer. */
typedef struct dp_cvt {
	dp_format fmt;
	dp_rmode mode;
	int saturate;        /* 1: overflow gives +-max finite */
	int ftz;             /* 1: subnormal results become zero of the same sign */
	unsigned sr_bits;    /* k, 1..32, for DP_SR */
} dp_cvt;

/* A conversion with the contract's defaults: saturation per format, no ftz, k = 32. */
dp_cvt dp_cvt_make(dp_format f, dp_rmode m);
/* Check a dp_cvt's fields (sr_bits in 1..32, known enums); 0 or ASIM_ERANGE with a message. */
int dp_cvt_check(const dp_cvt *c, asim_err *e);

/* The reference conversions (scalar). r is the random integer in [0, 2^k) for DP_SR and is
 * ignored otherwise; r >= 2^k is a caller bug (asserted). */
uint32_t dp_round_f64(const dp_cvt *c, double x, uint32_t r);
uint32_t dp_round_f32(const dp_cvt *c, float x, uint32_t r);

/* Array conversion from binary32 (fast paths, bit-identical to dp_round_f32). dst holds n codes
 * of dp_format_get(c->fmt)->bytes bytes each, native endianness (uint8_t/uint16_t/uint32_t).
 * For DP_SR element j uses the random integer of Philox index (index0 + j) under (seed, stream)
 * (philox.h); the result is therefore the same however the array is split into calls. */
void dp_convert_f32_array(const dp_cvt *c, const float *src, void *dst, size_t n,
                          uint64_t seed, uint64_t stream, uint64_t index0);
/* The same, element by element through dp_round_f32: the reference the fast paths must equal. */
void dp_convert_f32_array_ref(const dp_cvt *c, const float *src, void *dst, size_t n,
                              uint64_t seed, uint64_t stream, uint64_t index0);
/* The dispatch variants of dp_convert_f32_array (fastcvt.c). All give identical codes; they
 * differ in speed only. The best one the CPU supports is chosen on first use. */
typedef enum dp_simd {
	DP_SIMD_SCALAR, DP_SIMD_SSE2, DP_SIMD_AVX2, DP_SIMD_AVX512, DP_SIMD_COUNT
} dp_simd;
const char *dp_simd_name(dp_simd v);          /* "scalar", "sse2", "avx2", "avx512" */
int dp_simd_supported(dp_simd v);             /* 1 if this build and this CPU can run v */
dp_simd dp_simd_active(void);                 /* the variant conversions use now */
/* For tests and benchmarks: use variant v from now on (process-wide; not while conversions run
 * in other threads), or DP_SIMD_COUNT to go back to automatic choice. 0, or ASIM_ERANGE when v
 * is not supported here. */
int dp_simd_force(dp_simd v);

/* Array conversion from binary64 (scalar path). */
void dp_convert_f64_array(const dp_cvt *c, const double *src, void *dst, size_t n,
                          uint64_t seed, uint64_t stream, uint64_t index0);

/* Load/store one code of a dst/src array of format f. */
uint32_t dp_code_load(dp_format f, const void *arr, size_t i);
void dp_code_store(dp_format f, void *arr, size_t i, uint32_t code);

#endif
