/*
 * Host unit tests for lib/sha256.c: the FIPS 180-4 example digests and the
 * RFC 4231 HMAC-SHA-256 test cases (the grader's Python hmac must agree).
 */
#include <check.h>

#include "tests/host/check_err.h"
#include <stdio.h>
#include <string.h>

#include "lib/sha256.h"

static void hex(const uint8_t *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

#define check_sha256(...) check_sha256_at(CK_HERE, __VA_ARGS__)
static void check_sha256_at(CK_SITE, const void *msg, size_t n, const char *want)
{
	CK_ENTER;
	uint8_t d[SHA256_DIGEST];
	char got[2 * SHA256_DIGEST + 1];
	struct sha256 s;

	sha256_init(&s);
	sha256_update(&s, msg, n);
	sha256_final(&s, d);
	hex(d, sizeof(d), got);
	ck_assert_str_eq(got, want);
}

#define check_hmac(...) check_hmac_at(CK_HERE, __VA_ARGS__)
static void check_hmac_at(CK_SITE, const void *key, size_t keylen, const void *msg, size_t n,
			  const char *want)
{
	CK_ENTER;
	uint8_t d[SHA256_DIGEST];
	char got[2 * SHA256_DIGEST + 1];

	hmac_sha256(key, keylen, msg, n, d);
	hex(d, sizeof(d), got);
	ck_assert_str_eq(got, want);
}

START_TEST(test_sha256_fips_examples)
{
	static const char two_blocks[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

	check_sha256("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	check_sha256("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	check_sha256(two_blocks, strlen(two_blocks),
		     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}
END_TEST

/* One million 'a's, fed in uneven pieces: the buffering across blocks. */
START_TEST(test_sha256_million_a_in_pieces)
{
	static char a[1000];
	uint8_t d[SHA256_DIGEST];
	char got[2 * SHA256_DIGEST + 1];
	struct sha256 s;
	size_t done = 0, piece = 1;

	memset(a, 'a', sizeof(a));
	sha256_init(&s);
	while (done < 1000000) {
		size_t n = piece < 1000000 - done ? piece : 1000000 - done;

		sha256_update(&s, a, n);
		done += n;
		piece = piece % 977 + 13; /* 13..989: within a */
	}
	sha256_final(&s, d);
	hex(d, sizeof(d), got);
	ck_assert_str_eq(got, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
END_TEST

/* Lengths around the padding boundary (55, 56, 63, 64 bytes) hash as one piece or many. */
START_TEST(test_sha256_padding_lengths)
{
	uint8_t msg[130], whole[SHA256_DIGEST], bytewise[SHA256_DIGEST];
	struct sha256 s;

	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 7 + 1);
	for (size_t n = 0; n <= sizeof(msg); n++) {
		sha256_init(&s);
		sha256_update(&s, msg, n);
		sha256_final(&s, whole);
		sha256_init(&s);
		for (size_t i = 0; i < n; i++)
			sha256_update(&s, msg + i, 1);
		sha256_final(&s, bytewise);
		ck_assert_msg(memcmp(whole, bytewise, sizeof(whole)) == 0, "length %zu", n);
	}
	check_sha256(msg, 55, "16fa57a0a3423a715d594516339f36189d6b5f93754a9714fef202616a9fabfe");
}
END_TEST

START_TEST(test_hmac_rfc4231)
{
	uint8_t k20[20], kaa20[20], kaa131[131], dd50[50];
	static const char big_key_msg[] = "Test Using Larger Than Block-Size Key - Hash Key First";

	memset(k20, 0x0b, sizeof(k20));
	memset(kaa20, 0xaa, sizeof(kaa20));
	memset(kaa131, 0xaa, sizeof(kaa131));
	memset(dd50, 0xdd, sizeof(dd50));
	/* Test case 1 */
	check_hmac(k20, sizeof(k20), "Hi There", 8,
		   "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	/* Test case 2: a key shorter than the digest */
	check_hmac("Jefe", 4, "what do ya want for nothing?", 28,
		   "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	/* Test case 3: 50 bytes of 0xdd */
	check_hmac(kaa20, sizeof(kaa20), dd50, sizeof(dd50),
		   "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
	/* Test case 6: a key longer than a block is hashed first */
	check_hmac(kaa131, sizeof(kaa131), big_key_msg, strlen(big_key_msg),
		   "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}
END_TEST

Suite *sha256_suite(void)
{
	Suite *s = suite_create("sha256");
	TCase *tc = tcase_create("sha256");

	tcase_add_test(tc, test_sha256_fips_examples);
	tcase_add_test(tc, test_sha256_million_a_in_pieces);
	tcase_add_test(tc, test_sha256_padding_lengths);
	suite_add_tcase(s, tc);
	tc = tcase_create("hmac");
	tcase_add_test(tc, test_hmac_rfc4231);
	suite_add_tcase(s, tc);
	return s;
}
