/* Host unit tests for lib/string.c. */
#include <check.h>
#include <limits.h>

#include "lib/string.h"

/* Fill a buffer with a recognisable pattern: buf[i] = base + i. */
static void fill(unsigned char *buf, size_t n, unsigned char base)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (unsigned char)(base + i);
}

START_TEST(test_memcpy)
{
	char dst[16];
	const char src[] = "abcdefgh";

	memset(dst, 'X', sizeof(dst));
	ck_assert_ptr_eq(memcpy(dst, src, 5), dst);
	ck_assert_mem_eq(dst, "abcdeXXXXXXXXXXX", sizeof(dst));
	ck_assert_ptr_eq(memcpy(dst, src, 0), dst);
	ck_assert_mem_eq(dst, "abcdeXXXXXXXXXXX", sizeof(dst));
	memcpy(dst + 3, src, sizeof(src));
	ck_assert_mem_eq(dst, "abcabcdefgh\0XXXX", sizeof(dst));
}
END_TEST

START_TEST(test_memmove_overlap)
{
	char buf[16];

	/* Destination after the source: must copy backwards. */
	strlcpy(buf, "0123456789", sizeof(buf));
	ck_assert_ptr_eq(memmove(buf + 2, buf, 5), buf + 2);
	ck_assert_str_eq(buf, "0101234789");

	/* Destination before the source: must copy forwards. */
	strlcpy(buf, "0123456789", sizeof(buf));
	ck_assert_ptr_eq(memmove(buf, buf + 2, 5), buf);
	ck_assert_str_eq(buf, "2345656789");

	/* Overlap by a single byte, both ways. */
	strlcpy(buf, "0123456789", sizeof(buf));
	memmove(buf + 4, buf, 5);
	ck_assert_str_eq(buf, "0123012349");
	strlcpy(buf, "0123456789", sizeof(buf));
	memmove(buf, buf + 4, 5);
	ck_assert_str_eq(buf, "4567856789");

	/* Same pointer and zero length are no-ops. */
	strlcpy(buf, "0123456789", sizeof(buf));
	ck_assert_ptr_eq(memmove(buf, buf, 10), buf);
	ck_assert_ptr_eq(memmove(buf + 1, buf, 0), buf + 1);
	ck_assert_str_eq(buf, "0123456789");
}
END_TEST

/* Every (src, dst, n) in a small window against a copy through a temporary. */
START_TEST(test_memmove_exhaustive)
{
	enum { W = 24 };
	unsigned char buf[W], want[W], tmp[W];

	for (size_t src = 0; src < W; src++) {
		for (size_t dst = 0; dst < W; dst++) {
			size_t max = W - (src > dst ? src : dst);

			for (size_t n = 0; n <= max; n++) {
				fill(buf, W, 0x40);
				fill(want, W, 0x40);
				for (size_t i = 0; i < n; i++)
					tmp[i] = want[src + i];
				for (size_t i = 0; i < n; i++)
					want[dst + i] = tmp[i];
				memmove(buf + dst, buf + src, n);
				ck_assert_msg(memcmp(buf, want, W) == 0,
					      "memmove(buf+%zu, buf+%zu, %zu) is wrong", dst, src,
					      n);
			}
		}
	}
}
END_TEST

START_TEST(test_memset)
{
	unsigned char buf[12];

	fill(buf, sizeof(buf), 1);
	ck_assert_ptr_eq(memset(buf + 2, 0x1ab, 8), buf + 2);
	ck_assert_mem_eq(buf, "\x01\x02\xab\xab\xab\xab\xab\xab\xab\xab\x0b\x0c", sizeof(buf));
	ck_assert_ptr_eq(memset(buf, 0, 0), buf);
	ck_assert_int_eq(buf[0], 1);
	memset(buf, 0, sizeof(buf));
	for (size_t i = 0; i < sizeof(buf); i++)
		ck_assert_int_eq(buf[i], 0);
	memset(buf, -1, 3);
	ck_assert_int_eq(buf[0], 0xff);
	ck_assert_int_eq(buf[2], 0xff);
	ck_assert_int_eq(buf[3], 0);
}
END_TEST

START_TEST(test_memcmp)
{
	ck_assert_int_eq(memcmp("abc", "abc", 3), 0);
	ck_assert_int_eq(memcmp("abc", "abd", 2), 0);
	ck_assert_int_eq(memcmp("abc", "xyz", 0), 0);
	ck_assert_int_lt(memcmp("abc", "abd", 3), 0);
	ck_assert_int_gt(memcmp("abd", "abc", 3), 0);
	/* Bytes compare as unsigned char, and memcmp does not stop at NUL. */
	ck_assert_int_gt(memcmp("\x80", "\x01", 1), 0);
	ck_assert_int_lt(memcmp("\x01", "\xff", 1), 0);
	ck_assert_int_lt(memcmp("a\0b", "a\0c", 3), 0);
	ck_assert_int_eq(memcmp("a\0b", "a\0b", 3), 0);
}
END_TEST

START_TEST(test_strlen)
{
	const char unterminated[4] = { 'a', 'b', 'c', 'd' };

	ck_assert_uint_eq(strlen(""), 0);
	ck_assert_uint_eq(strlen("a"), 1);
	ck_assert_uint_eq(strlen("hello world"), 11);
	ck_assert_uint_eq(strlen("ab\0cd"), 2);
	ck_assert_uint_eq(strnlen("hello", 10), 5);
	ck_assert_uint_eq(strnlen("hello", 5), 5);
	ck_assert_uint_eq(strnlen("hello", 3), 3);
	ck_assert_uint_eq(strnlen("hello", 0), 0);
	ck_assert_uint_eq(strnlen("", 4), 0);
	/* Must not read past max. */
	ck_assert_uint_eq(strnlen(unterminated, sizeof(unterminated)), 4);
	ck_assert_uint_eq(strnlen(unterminated, 2), 2);
}
END_TEST

START_TEST(test_strcmp)
{
	ck_assert_int_eq(strcmp("", ""), 0);
	ck_assert_int_eq(strcmp("abc", "abc"), 0);
	ck_assert_int_lt(strcmp("abc", "abd"), 0);
	ck_assert_int_gt(strcmp("abd", "abc"), 0);
	ck_assert_int_lt(strcmp("ab", "abc"), 0);
	ck_assert_int_gt(strcmp("abc", "ab"), 0);
	ck_assert_int_lt(strcmp("", "a"), 0);
	ck_assert_int_gt(strcmp("a", ""), 0);
	/* Characters compare as unsigned char. */
	ck_assert_int_gt(strcmp("\xff", "a"), 0);
	ck_assert_int_lt(strcmp("a", "\x80"), 0);
}
END_TEST

START_TEST(test_strncmp)
{
	ck_assert_int_eq(strncmp("abcX", "abcY", 3), 0);
	ck_assert_int_lt(strncmp("abcX", "abcY", 4), 0);
	ck_assert_int_gt(strncmp("abcY", "abcX", 100), 0);
	ck_assert_int_eq(strncmp("abc", "xyz", 0), 0);
	ck_assert_int_eq(strncmp("abc", "abc", 100), 0);
	/* Stops at the terminator even when n is larger. */
	ck_assert_int_eq(strncmp("ab\0x", "ab\0y", 4), 0);
	ck_assert_int_lt(strncmp("ab", "abc", 3), 0);
	ck_assert_int_gt(strncmp("abc", "ab", 3), 0);
	ck_assert_int_eq(strncmp("abc", "ab", 2), 0);
	ck_assert_int_gt(strncmp("\xff", "a", 1), 0);
}
END_TEST

START_TEST(test_strchr)
{
	const char *s = "hello, world", *empty = "";

	ck_assert_ptr_eq(strchr(s, 'h'), s);
	ck_assert_ptr_eq(strchr(s, 'o'), s + 4);
	ck_assert_ptr_eq(strchr(s, 'd'), s + 11);
	ck_assert_ptr_null(strchr(s, 'z'));
	ck_assert_ptr_null(strchr("", 'a'));
	/* The terminator is part of the string. */
	ck_assert_ptr_eq(strchr(s, '\0'), s + 12);
	ck_assert_ptr_eq(strchr(empty, '\0'), empty);
	/* c is converted to char: 0xff and 'a' + 256 are found. */
	ck_assert_ptr_eq(strchr("a\xff", 0xff), strchr("a\xff", '\xff'));
	ck_assert_ptr_nonnull(strchr("a\xff", 0xff));
	ck_assert_ptr_eq(strchr(s, 'h' + 256), s);
}
END_TEST

START_TEST(test_strlcpy)
{
	char buf[8];

	/* Fits. */
	memset(buf, 'X', sizeof(buf));
	ck_assert_uint_eq(strlcpy(buf, "abc", sizeof(buf)), 3);
	ck_assert_mem_eq(buf, "abc\0XXXX", sizeof(buf));

	/* Exactly fits (len == size - 1). */
	memset(buf, 'X', sizeof(buf));
	ck_assert_uint_eq(strlcpy(buf, "abcdefg", sizeof(buf)), 7);
	ck_assert_str_eq(buf, "abcdefg");

	/* Truncated: returns strlen(src), always terminates. */
	memset(buf, 'X', sizeof(buf));
	ck_assert_uint_eq(strlcpy(buf, "abcdefgh", sizeof(buf)), 8);
	ck_assert_str_eq(buf, "abcdefg");
	memset(buf, 'X', sizeof(buf));
	ck_assert_uint_eq(strlcpy(buf, "hello world", 4), 11);
	ck_assert_mem_eq(buf, "hel\0XXXX", sizeof(buf));

	/* size 1 gives an empty string; size 0 writes nothing. */
	memset(buf, 'X', sizeof(buf));
	ck_assert_uint_eq(strlcpy(buf, "hello", 1), 5);
	ck_assert_mem_eq(buf, "\0XXXXXXX", sizeof(buf));
	memset(buf, 'X', sizeof(buf));
	ck_assert_uint_eq(strlcpy(buf, "hello", 0), 5);
	ck_assert_mem_eq(buf, "XXXXXXXX", sizeof(buf));
	ck_assert_uint_eq(strlcpy(NULL, "hello", 0), 5);

	/* Empty source. */
	ck_assert_uint_eq(strlcpy(buf, "", sizeof(buf)), 0);
	ck_assert_str_eq(buf, "");
}
END_TEST

START_TEST(test_strtoul_base10)
{
	const char *s, *end;

	s = "12345";
	ck_assert_uint_eq(strtoul(s, &end, 10), 12345);
	ck_assert_ptr_eq(end, s + 5);
	s = "123abc";
	ck_assert_uint_eq(strtoul(s, &end, 10), 123);
	ck_assert_ptr_eq(end, s + 3);
	s = "0";
	ck_assert_uint_eq(strtoul(s, &end, 10), 0);
	ck_assert_ptr_eq(end, s + 1);
	s = "007";
	ck_assert_uint_eq(strtoul(s, &end, 10), 7);
	ck_assert_ptr_eq(end, s + 3);
	/* No digits: 0 and end == s. No sign or leading blanks are accepted. */
	s = "";
	ck_assert_uint_eq(strtoul(s, &end, 10), 0);
	ck_assert_ptr_eq(end, s);
	s = "abc";
	ck_assert_uint_eq(strtoul(s, &end, 10), 0);
	ck_assert_ptr_eq(end, s);
	s = "-1";
	ck_assert_uint_eq(strtoul(s, &end, 10), 0);
	ck_assert_ptr_eq(end, s);
	s = " 1";
	ck_assert_uint_eq(strtoul(s, &end, 10), 0);
	ck_assert_ptr_eq(end, s);
	/* A 0x prefix is not special in base 10. */
	s = "0x10";
	ck_assert_uint_eq(strtoul(s, &end, 10), 0);
	ck_assert_ptr_eq(end, s + 1);
	/* end may be NULL. */
	ck_assert_uint_eq(strtoul("42", NULL, 10), 42);
}
END_TEST

START_TEST(test_strtoul_base16)
{
	const char *s, *end;

	s = "ff";
	ck_assert_uint_eq(strtoul(s, &end, 16), 255);
	ck_assert_ptr_eq(end, s + 2);
	s = "DeadBeef!";
	ck_assert_uint_eq(strtoul(s, &end, 16), 0xdeadbeef);
	ck_assert_ptr_eq(end, s + 8);
	s = "0xff";
	ck_assert_uint_eq(strtoul(s, &end, 16), 255);
	ck_assert_ptr_eq(end, s + 4);
	s = "0X1Fg";
	ck_assert_uint_eq(strtoul(s, &end, 16), 31);
	ck_assert_ptr_eq(end, s + 4);
	s = "ffffffffffffffff";
	ck_assert_uint_eq(strtoul(s, &end, 16), ULONG_MAX);
	ck_assert_ptr_eq(end, s + 16);
	/* "0x" without a hex digit is the number 0 followed by "x". */
	s = "0x";
	ck_assert_uint_eq(strtoul(s, &end, 16), 0);
	ck_assert_ptr_eq(end, s + 1);
	s = "0xg";
	ck_assert_uint_eq(strtoul(s, &end, 16), 0);
	ck_assert_ptr_eq(end, s + 1);
	s = "g";
	ck_assert_uint_eq(strtoul(s, &end, 16), 0);
	ck_assert_ptr_eq(end, s);
}
END_TEST

START_TEST(test_strtoul_base0)
{
	const char *s, *end;

	s = "0x1f";
	ck_assert_uint_eq(strtoul(s, &end, 0), 31);
	ck_assert_ptr_eq(end, s + 4);
	s = "0XABC ";
	ck_assert_uint_eq(strtoul(s, &end, 0), 0xabc);
	ck_assert_ptr_eq(end, s + 5);
	s = "123";
	ck_assert_uint_eq(strtoul(s, &end, 0), 123);
	ck_assert_ptr_eq(end, s + 3);
	/* Pagoda's base 0 has no octal: a leading 0 is still decimal. */
	s = "010";
	ck_assert_uint_eq(strtoul(s, &end, 0), 10);
	ck_assert_ptr_eq(end, s + 3);
	s = "0x";
	ck_assert_uint_eq(strtoul(s, &end, 0), 0);
	ck_assert_ptr_eq(end, s + 1);
	s = "0xz";
	ck_assert_uint_eq(strtoul(s, &end, 0), 0);
	ck_assert_ptr_eq(end, s + 1);
	s = "12ab";
	ck_assert_uint_eq(strtoul(s, &end, 0), 12);
	ck_assert_ptr_eq(end, s + 2);
}
END_TEST

START_TEST(test_strtoul_other_bases)
{
	const char *s, *end;

	s = "1012";
	ck_assert_uint_eq(strtoul(s, &end, 2), 5);
	ck_assert_ptr_eq(end, s + 3);
	s = "778";
	ck_assert_uint_eq(strtoul(s, &end, 8), 63);
	ck_assert_ptr_eq(end, s + 2);
	s = "zZ";
	ck_assert_uint_eq(strtoul(s, &end, 36), 35 * 36 + 35);
	ck_assert_ptr_eq(end, s + 2);
}
END_TEST

START_TEST(test_strtoul_range)
{
	const char *s, *end;

	s = "18446744073709551615";
	ck_assert_uint_eq(strtoul(s, &end, 10), ULONG_MAX);
	ck_assert_ptr_eq(end, s + 20);
	/* Out of range saturates at ULONG_MAX (as in C), consuming all digits. */
	s = "18446744073709551616";
	ck_assert_uint_eq(strtoul(s, &end, 10), ULONG_MAX);
	ck_assert_ptr_eq(end, s + 20);
	s = "99999999999999999999999999x";
	ck_assert_uint_eq(strtoul(s, &end, 10), ULONG_MAX);
	ck_assert_ptr_eq(end, s + 26);
	s = "0x10000000000000000";
	ck_assert_uint_eq(strtoul(s, &end, 0), ULONG_MAX);
	ck_assert_ptr_eq(end, s + 19);
}
END_TEST

Suite *string_suite(void)
{
	Suite *s = suite_create("string");
	TCase *tc;

	tc = tcase_create("mem");
	tcase_add_test(tc, test_memcpy);
	tcase_add_test(tc, test_memmove_overlap);
	tcase_add_test(tc, test_memmove_exhaustive);
	tcase_add_test(tc, test_memset);
	tcase_add_test(tc, test_memcmp);
	suite_add_tcase(s, tc);

	tc = tcase_create("str");
	tcase_add_test(tc, test_strlen);
	tcase_add_test(tc, test_strcmp);
	tcase_add_test(tc, test_strncmp);
	tcase_add_test(tc, test_strchr);
	tcase_add_test(tc, test_strlcpy);
	suite_add_tcase(s, tc);

	tc = tcase_create("strtoul");
	tcase_add_test(tc, test_strtoul_base10);
	tcase_add_test(tc, test_strtoul_base16);
	tcase_add_test(tc, test_strtoul_base0);
	tcase_add_test(tc, test_strtoul_other_bases);
	tcase_add_test(tc, test_strtoul_range);
	suite_add_tcase(s, tc);
	return s;
}
