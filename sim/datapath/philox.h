/*
 * philox.h -- the counter-based random numbers of stochastic rounding (Philox4x32-10).
 *
 * Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11) maps a
 * 128-bit counter and a 64-bit key to 128 random bits through 10 rounds of two 32x32->64
 * multiplications (0xD2511F53, 0xCD9E8D57), with the key bumped by the Weyl constants
 * (0x9E3779B9, 0xBB67AE85) between rounds. No state: any word can be computed alone.
 *
 * The contract (design.md section 3) fixes how an element's random integer is found:
 *
 *     key     = ( seed & 0xffffffff, seed >> 32 )
 *     counter = ( (i>>2) & 0xffffffff, (i>>2) >> 32, stream & 0xffffffff, stream >> 32 )
 *     word    = philox4x32_10(counter, key)[i & 3]
 *     r       = word >> (32 - k)                          k = stochastic-rounding bits, 1..32
 *
 * where i is the element's linear index in the tensor being rounded and stream a 64-bit id of the
 * op and step. So element i's rounding is reproducible alone, in any thread, in any order, and
 * one Philox call serves four consecutive elements. Known answer: seed 0x0123456789abcdef,
 * stream 7, i = 0 -> word 0x34b23a77.
 */
#ifndef DP_PHILOX_H
#define DP_PHILOX_H

#include <stdint.h>

/* The bijection itself: out = philox4x32_10(ctr, key). */
void dp_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4] /* OUT */);
/* The four words of block b = i >> 2 under (seed, stream). */
void dp_philox_block(uint64_t seed, uint64_t stream, uint64_t block, uint32_t out[4] /* OUT */);
/* Word i under (seed, stream). */
uint32_t dp_philox_word(uint64_t seed, uint64_t stream, uint64_t i);
/* The random integer r of stochastic rounding with k bits (1..32) for element i. */
uint32_t dp_sr_random(uint64_t seed, uint64_t stream, uint64_t i, unsigned k);

#endif
