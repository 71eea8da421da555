/*
 * philox.c -- Philox4x32-10, written from the published description (see philox.h).
 *
 * One round, on counter (c0, c1, c2, c3) with key (k0, k1):
 *
 *     (hi0, lo0) = 0xD2511F53 * c0          (hi1, lo1) = 0xCD9E8D57 * c2     (32x32 -> 64)
 *     c' = ( hi1 ^ c1 ^ k0,  lo1,  hi0 ^ c3 ^ k1,  lo0 )
 *
 * and between rounds k0 += 0x9E3779B9, k1 += 0xBB67AE85 (mod 2^32): ten rounds, nine bumps.
 * Checked against the Random123 known-answer vectors in tests/test_datapath_philox.c.
 */
#include "sim/datapath/philox.h"

#define PHILOX_M0 UINT32_C(0xD2511F53)
#define PHILOX_M1 UINT32_C(0xCD9E8D57)
#define PHILOX_W0 UINT32_C(0x9E3779B9)
#define PHILOX_W1 UINT32_C(0xBB67AE85)

void dp_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
	uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
	uint32_t k0 = key[0], k1 = key[1];
	for (int round = 0; round < 10; round++) {
		uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
		uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
		uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
		uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
		c0 = n0;
		c1 = (uint32_t)p1;
		c2 = n2;
		c3 = (uint32_t)p0;
		k0 += PHILOX_W0;
		k1 += PHILOX_W1;
	}
	out[0] = c0;
	out[1] = c1;
	out[2] = c2;
	out[3] = c3;
}

void dp_philox_block(uint64_t seed, uint64_t stream, uint64_t block, uint32_t out[4])
{
	const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
	const uint32_t ctr[4] = {(uint32_t)block, (uint32_t)(block >> 32), (uint32_t)stream,
	                         (uint32_t)(stream >> 32)};
	dp_philox4x32_10(ctr, key, out);
}

uint32_t dp_philox_word(uint64_t seed, uint64_t stream, uint64_t i)
{
	uint32_t w[4];
	dp_philox_block(seed, stream, i >> 2, w);
	return w[i & 3];
}

uint32_t dp_sr_random(uint64_t seed, uint64_t stream, uint64_t i, unsigned k)
{
	return dp_philox_word(seed, stream, i) >> (32 - k);
}
