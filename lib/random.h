/*
 * A small deterministic PRNG (SplitMix64). Tests draw addresses and values
 * from it, seeded from the kernel command line, so output depends on the seed
 * and a hard-coded answer cannot pass.
 */
#ifndef LIB_RANDOM_H
#define LIB_RANDOM_H

#include "lib/types.h"

struct rng {
	uint64_t state;
};

void rng_seed(struct rng *r, uint64_t seed);
uint64_t rng_next(struct rng *r);
/* rng_below - uniform in [0, bound); bound must be non-zero. */
uint64_t rng_below(struct rng *r, uint64_t bound);
/* rng_range - uniform in [lo, hi] inclusive. */
uint64_t rng_range(struct rng *r, uint64_t lo, uint64_t hi);

#endif
