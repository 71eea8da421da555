/*
 * sha256.h -- SHA-256 (FIPS 180-4), for the digests of the numerics harness's output bits.
 * Written from the standard; tested with the FIPS 180-2 known answers.
 */
#ifndef DP_SHA256_H
#define DP_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct dp_sha256 {
	uint32_t h[8];
	uint64_t len;         /* bytes hashed so far */
	uint8_t buf[64];
	size_t nbuf;
} dp_sha256;

void dp_sha256_init(dp_sha256 *s);
void dp_sha256_update(dp_sha256 *s, const void *data, size_t n);
void dp_sha256_final(dp_sha256 *s, uint8_t out[32] /* OUT */);
/* The digest of data as 64 lower-case hex digits plus NUL. */
void dp_sha256_hex(const void *data, size_t n, char out[65] /* OUT */);

#endif
