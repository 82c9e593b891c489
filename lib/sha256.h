/*
 * SHA-256 (FIPS 180-4) and HMAC-SHA-256 (RFC 2104). The test framework signs
 * its verdict lines with HMAC-SHA-256 under a key the grader draws for each
 * boot, so that a line printed by anything else is not a result.
 */
#ifndef LIB_SHA256_H
#define LIB_SHA256_H

#include "lib/types.h"

#define SHA256_BLOCK 64
#define SHA256_DIGEST 32

struct sha256 {
	uint32_t h[8];
	uint64_t len; /* bytes hashed so far */
	uint8_t buf[SHA256_BLOCK];
	size_t used; /* bytes waiting in buf */
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t n);
/* sha256_final - write the digest of everything hashed into out; s is spent. */
void sha256_final(struct sha256 *s, uint8_t out[SHA256_DIGEST]);

/* hmac_sha256 - out = HMAC-SHA-256(key, msg); any key length. */
void hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
		 uint8_t out[SHA256_DIGEST]);

#endif
