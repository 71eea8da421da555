/*
 * round.c -- the reference conversion: an exact binary64 (or binary32) value to a format code.
 *
 * Method (integers only, so it is exact for every input, binary64 subnormals included):
 *
 *     |x| = M * 2^E                 M < 2^53 integer (the binary64 significand), E integer
 *     e   = floor(log2 |x|)         = E + bitlength(M) - 1
 *     qe  = max(e, emin) - mbits    the target's quantum exponent at |x| (q = 2^qe): the subnormal
 *                                   grid below 2^emin, the grid continued without bound above emax
 *     |x| / q = n + rem / 2^s       n integer (fits in mbits + 1 bits), 0 <= rem < 2^s, s = qe - E
 *
 * and the mode decides whether n moves one step away from zero:
 *
 *     rtz  never          ru   if x > 0 and rem != 0      rd  if x < 0 and rem != 0
 *     rne  rem > 2^(s-1), or rem == 2^(s-1) and n odd
 *     sr   r < t, t = floor(rem * 2^k / 2^s)  (= floor(frac * 2^k), frac = rem / 2^s)
 *
 * The rounded magnitude n * 2^qe is then encoded (n = 2^(mbits+1) carries into the next
 * exponent, n < 2^mbits on the subnormal grid is a subnormal code), overflow is decided against
 * the largest finite code, ftz applied, the sign re-applied. One rounding, on the exact value.
 */
#include "sim/datapath/format.h"

#include <string.h>

/* The code for an overflowed magnitude (non-NaN, rounded above max finite). `away` tells whether
 * the rounding moved the magnitude away from zero or left it (exact on the unbounded grid). */
static uint32_t overflow_code(const dp_cvt *c, const dp_format_info *f, int neg)
{
	if (c->saturate)
		return f->max_code;
	int toward_zero;
	switch (c->mode) {
	case DP_RTZ: toward_zero = 1; break;
	case DP_RU: toward_zero = neg; break;
	case DP_RD: toward_zero = !neg; break;
	default: toward_zero = 0; break;   /* RNE, SR */
	}
	if (toward_zero)
		return f->max_code;
	return f->inf_code ? f->inf_code : f->qnan_code;
}

uint32_t dp_round_f64(const dp_cvt *c, double x, uint32_t r)
{
	const dp_format_info *f = dp_format_get(c->fmt);
	uint64_t b;
	memcpy(&b, &x, sizeof b);
	int neg = (int)(b >> 63);
	uint32_t sgn = neg ? f->sign_mask : 0;
	uint32_t ef = (uint32_t)(b >> 52) & 0x7ffu;
	uint64_t fr = b & ((UINT64_C(1) << 52) - 1);

	if (c->mode == DP_SR)
		ASIM_ASSERT(c->sr_bits >= 1 && c->sr_bits <= 32 &&
		            (c->sr_bits == 32 || r < (UINT32_C(1) << c->sr_bits)));
	if (ef == 0x7ff) {
		if (fr != 0)
			return sgn | f->qnan_code;
		if (c->saturate)
			return sgn | f->max_code;
		return sgn | (f->inf_code ? f->inf_code : f->qnan_code);
	}
	if (ef == 0 && fr == 0)
		return sgn;

	uint64_t M;
	int E;
	if (ef == 0) {
		M = fr;
		E = -1074;
	} else {
		M = fr | (UINT64_C(1) << 52);
		E = (int)ef - 1075;
	}
	int e = E + (63 - __builtin_clzll(M));
	int qe = (e > f->emin ? e : f->emin) - (int)f->mbits;
	uint64_t n;
	if (E >= qe) {
		n = M << (E - qe);   /* exact: n < 2^(mbits+1) */
	} else {
		unsigned s = (unsigned)(qe - E);
		uint64_t rem;
		if (s >= 64) {
			n = 0;
			rem = M;
		} else {
			n = M >> s;
			rem = M & ((UINT64_C(1) << s) - 1);
		}
		int away = 0;
		if (rem != 0) {
			switch (c->mode) {
			case DP_RTZ: away = 0; break;
			case DP_RU: away = !neg; break;
			case DP_RD: away = neg; break;
			case DP_RNE:
				if (s - 1 >= 64) {
					away = 0;   /* rem <= M < 2^53 < half */
				} else {
					uint64_t half = UINT64_C(1) << (s - 1);
					away = rem > half || (rem == half && (n & 1));
				}
				break;
			case DP_SR: {
				unsigned k = c->sr_bits;
				uint64_t t;
				if (s <= k)
					t = rem << (k - s);
				else
					t = (s - k >= 64) ? 0 : rem >> (s - k);
				away = (uint64_t)r < t;
				break;
			}
			default: ASIM_ASSERT(0);
			}
		}
		n += (uint64_t)away;
	}
	if (n == 0)
		return sgn;
	if (n == (UINT64_C(1) << (f->mbits + 1))) {
		n >>= 1;
		qe++;
	}
	uint32_t code;
	if (n < (UINT64_C(1) << f->mbits)) {
		ASIM_ASSERT(qe == f->emin - (int)f->mbits);
		code = (uint32_t)n;
		if (c->ftz)
			return sgn;
	} else {
		int bexp = qe + (int)f->mbits + f->bias;
		if (bexp > (int)(f->max_code >> f->mbits))
			return sgn | overflow_code(c, f, neg);
		code = ((uint32_t)bexp << f->mbits) | (uint32_t)(n - (UINT64_C(1) << f->mbits));
		if (code > f->max_code)
			return sgn | overflow_code(c, f, neg);
	}
	return sgn | code;
}

uint32_t dp_round_f32(const dp_cvt *c, float x, uint32_t r)
{
	return dp_round_f64(c, (double)x, r);   /* binary32 -> binary64 is exact */
}
