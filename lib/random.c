/*
 * SplitMix64, the seeded PRNG the tests draw addresses and values from.
 */
#include "lib/random.h"

void rng_seed(struct rng *r, uint64_t seed)
{
	r->state = seed;
}

uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t rng_below(struct rng *r, uint64_t bound)
{
	/* Rejection sampling keeps the distribution exactly uniform. */
	uint64_t limit = -bound % bound;
	uint64_t v;

	do
		v = rng_next(r);
	while (v < limit);
	return v % bound;
}

uint64_t rng_range(struct rng *r, uint64_t lo, uint64_t hi)
{
	if (hi - lo == UINT64_MAX)
		return rng_next(r);
	return lo + rng_below(r, hi - lo + 1);
}
