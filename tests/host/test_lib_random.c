/* Host unit tests for lib/random.c (SplitMix64). */
#include <check.h>
#include <stdint.h>

#include "lib/random.h"

START_TEST(test_known_values)
{
	struct rng r;

	/* Reference outputs of SplitMix64 (Vigna's splitmix64.c). */
	rng_seed(&r, 0);
	ck_assert_uint_eq(rng_next(&r), 0xe220a8397b1dcdafull);
	ck_assert_uint_eq(rng_next(&r), 0x6e789e6aa1b965f4ull);
	ck_assert_uint_eq(rng_next(&r), 0x06c45d188009454full);
	rng_seed(&r, 1234567);
	ck_assert_uint_eq(rng_next(&r), 0x599ed017fb08fc85ull);
	ck_assert_uint_eq(rng_next(&r), 0x2c73f08458540fa5ull);
	ck_assert_uint_eq(rng_next(&r), 0x883ebce5a3f27c77ull);
}
END_TEST

START_TEST(test_determinism)
{
	struct rng a, b, c;
	int same = 0;

	rng_seed(&a, 42);
	rng_seed(&b, 42);
	rng_seed(&c, 43);
	for (int i = 0; i < 1000; i++) {
		uint64_t x = rng_next(&a);

		ck_assert_uint_eq(x, rng_next(&b));
		same += x == rng_next(&c);
	}
	ck_assert_int_eq(same, 0);

	/* Reseeding restarts the sequence. */
	rng_seed(&a, 42);
	rng_seed(&b, 42);
	ck_assert_uint_eq(rng_next(&a), rng_next(&b));
	ck_assert_uint_eq(rng_below(&a, 1000), rng_below(&b, 1000));
	ck_assert_uint_eq(rng_range(&a, 10, 20), rng_range(&b, 10, 20));
}
END_TEST

START_TEST(test_below_bounds)
{
	/* clang-format off */
	static const uint64_t bounds[] = {
		1, 2, 3, 7, 10, 1000, 4096, 0x100000001, 0x7fffffffffffffff, 0x8000000000000000,
		0x8000000000000001, 0xfffffffffffffffe, 0xffffffffffffffff
	};
	/* clang-format on */
	struct rng r;

	rng_seed(&r, 7);
	for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++)
		for (int j = 0; j < 2000; j++)
			ck_assert_uint_lt(rng_below(&r, bounds[i]), bounds[i]);
	for (int j = 0; j < 100; j++)
		ck_assert_uint_eq(rng_below(&r, 1), 0);
}
END_TEST

START_TEST(test_below_uniform)
{
	enum { BOUND = 7, DRAWS = 70000 };
	unsigned count[BOUND] = { 0 };
	double chi2 = 0, expect = (double)DRAWS / BOUND;
	struct rng r;

	rng_seed(&r, 99);
	for (int i = 0; i < DRAWS; i++)
		count[rng_below(&r, BOUND)]++;
	for (int i = 0; i < BOUND; i++) {
		double d = count[i] - expect;

		ck_assert_msg(count[i] > expect * 0.95 && count[i] < expect * 1.05,
			      "value %d drawn %u times of %d", i, count[i], DRAWS);
		chi2 += d * d / expect;
	}
	/* 6 degrees of freedom: P(chi2 > 22.46) = 0.001. */
	ck_assert_msg(chi2 < 22.46, "chi-square %.2f", chi2);
}
END_TEST

/*
 * With bound b = ceil(2^65 / 3), a plain rng_next() % b would fold the top
 * third of the 64-bit range onto the bottom half of [0, b), so that half
 * would come up 2/3 of the time; rejection sampling makes it 1/2.
 */
START_TEST(test_below_rejection)
{
	enum { DRAWS = 20000 };
	const uint64_t bound = 0xaaaaaaaaaaaaaaabull;
	struct rng r;
	int low = 0;

	rng_seed(&r, 5);
	for (int i = 0; i < DRAWS; i++)
		low += rng_below(&r, bound) < bound / 2;
	ck_assert_msg(low > DRAWS * 0.48 && low < DRAWS * 0.52, "bottom half %d of %d", low, DRAWS);
}
END_TEST

START_TEST(test_below_power_of_two)
{
	struct rng a, b;

	/* A power-of-two bound rejects nothing: it keeps the low bits. */
	rng_seed(&a, 3);
	rng_seed(&b, 3);
	for (int k = 0; k < 64; k++)
		ck_assert_uint_eq(rng_below(&a, 1ull << k), rng_next(&b) & ((1ull << k) - 1));
}
END_TEST

START_TEST(test_range)
{
	struct rng r;
	bool seen_lo = false, seen_hi = false;

	rng_seed(&r, 11);
	for (int i = 0; i < 100; i++)
		ck_assert_uint_eq(rng_range(&r, 5, 5), 5);
	for (int i = 0; i < 1000; i++) {
		uint64_t v = rng_range(&r, 5, 10);

		ck_assert_uint_ge(v, 5);
		ck_assert_uint_le(v, 10);
		seen_lo |= v == 5;
		seen_hi |= v == 10;
	}
	ck_assert(seen_lo && seen_hi);

	/* Both ends at the top of the 64-bit range. */
	seen_lo = seen_hi = false;
	for (int i = 0; i < 200; i++) {
		uint64_t v = rng_range(&r, UINT64_MAX - 1, UINT64_MAX);

		ck_assert_uint_ge(v, UINT64_MAX - 1);
		seen_lo |= v == UINT64_MAX - 1;
		seen_hi |= v == UINT64_MAX;
	}
	ck_assert(seen_lo && seen_hi);

	/* Both ends at zero. */
	seen_lo = seen_hi = false;
	for (int i = 0; i < 200; i++) {
		uint64_t v = rng_range(&r, 0, 1);

		ck_assert_uint_le(v, 1);
		seen_lo |= v == 0;
		seen_hi |= v == 1;
	}
	ck_assert(seen_lo && seen_hi);

	/* Large ranges stay inside. */
	for (int i = 0; i < 1000; i++) {
		ck_assert_uint_ge(rng_range(&r, 1, UINT64_MAX), 1);
		ck_assert_uint_le(rng_range(&r, 0, UINT64_MAX - 1), UINT64_MAX - 1);
		ck_assert_uint_ge(rng_range(&r, 1ull << 63, UINT64_MAX), 1ull << 63);
	}
}
END_TEST

START_TEST(test_range_full)
{
	struct rng a, b;

	/* The full 64-bit range is every value: the raw generator output. */
	rng_seed(&a, 17);
	rng_seed(&b, 17);
	for (int i = 0; i < 100; i++)
		ck_assert_uint_eq(rng_range(&a, 0, UINT64_MAX), rng_next(&b));
}
END_TEST

Suite *random_suite(void)
{
	Suite *s = suite_create("random");
	TCase *tc;

	tc = tcase_create("next");
	tcase_add_test(tc, test_known_values);
	tcase_add_test(tc, test_determinism);
	suite_add_tcase(s, tc);

	tc = tcase_create("below");
	tcase_add_test(tc, test_below_bounds);
	tcase_add_test(tc, test_below_uniform);
	tcase_add_test(tc, test_below_rejection);
	tcase_add_test(tc, test_below_power_of_two);
	suite_add_tcase(s, tc);

	tc = tcase_create("range");
	tcase_add_test(tc, test_range);
	tcase_add_test(tc, test_range_full);
	suite_add_tcase(s, tc);
	return s;
}
