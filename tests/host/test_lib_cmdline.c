/* Host unit tests for lib/cmdline.c. */
#include <check.h>
#include <stdint.h>

#include "lib/cmdline.h"
#include "lib/errno.h"
#include "lib/string.h"

static const char *const cmd =
	"  console=ttyS0 test=lab1,lab2  seed=0x2a quiet\ttestx=9 empty= a=b=c\n last=end  ";

/* cmdline_get into a 32-byte buffer; checks the return and the copied value. */
#define EXPECT_GET(line, key, want_ret, want_val)                                       \
	do {                                                                            \
		char _buf[32];                                                          \
		memset(_buf, 'X', sizeof(_buf));                                        \
		ck_assert_int_eq(cmdline_get(line, key, _buf, sizeof(_buf)), want_ret); \
		ck_assert_str_eq(_buf, want_val);                                       \
	} while (0)

START_TEST(test_get_values)
{
	EXPECT_GET(cmd, "console", 5, "ttyS0");
	EXPECT_GET(cmd, "test", 9, "lab1,lab2");
	EXPECT_GET(cmd, "seed", 4, "0x2a");
	EXPECT_GET(cmd, "testx", 1, "9");
	EXPECT_GET(cmd, "a", 3, "b=c");
	EXPECT_GET(cmd, "last", 3, "end");
}
END_TEST

START_TEST(test_get_flags)
{
	/* A bare flag and an empty value both give "" and 0. */
	EXPECT_GET(cmd, "quiet", 0, "");
	EXPECT_GET(cmd, "empty", 0, "");
	ck_assert_int_eq(cmdline_get(cmd, "quiet", NULL, 0), 0);
	ck_assert_int_eq(cmdline_get("halt", "halt", NULL, 0), 0);
	ck_assert_int_eq(cmdline_get("a=1 halt", "halt", NULL, 0), 0);
}
END_TEST

START_TEST(test_get_prefixes)
{
	char buf[8];

	/* A key never matches a longer word or a prefix of a word. */
	memset(buf, 'X', sizeof(buf));
	ck_assert_int_eq(cmdline_get(cmd, "tes", buf, sizeof(buf)), -1);
	ck_assert_int_eq(cmdline_get(cmd, "quie", buf, sizeof(buf)), -1);
	ck_assert_int_eq(cmdline_get(cmd, "quiet2", buf, sizeof(buf)), -1);
	ck_assert_int_eq(cmdline_get(cmd, "testx=", buf, sizeof(buf)), -1);
	ck_assert_int_eq(cmdline_get(cmd, "ttyS0", buf, sizeof(buf)), -1);
	ck_assert_int_eq(cmdline_get(cmd, "b", buf, sizeof(buf)), -1);
	ck_assert_int_eq(cmdline_get("testx=1", "test", buf, sizeof(buf)), -1);
	ck_assert_int_eq(cmdline_get("testx", "test", buf, sizeof(buf)), -1);
	/* A miss leaves the buffer alone. */
	ck_assert_mem_eq(buf, "XXXXXXXX", sizeof(buf));

	/* "testx=" before "test=" is skipped, not taken as a match. */
	EXPECT_GET("testx=1 test=2", "test", 1, "2");
	EXPECT_GET("testx test", "test", 0, "");
	EXPECT_GET("mytest=1 test=2", "test", 1, "2");
	/* The first occurrence wins. */
	EXPECT_GET("x=1 x=2", "x", 1, "1");
	EXPECT_GET("x x=2", "x", 0, "");
}
END_TEST

START_TEST(test_get_missing)
{
	char buf[4] = "abc";

	ck_assert_int_eq(cmdline_get(cmd, "missing", buf, sizeof(buf)), -1);
	ck_assert_int_eq(cmdline_get("", "test", buf, sizeof(buf)), -1);
	ck_assert_int_eq(cmdline_get("   \t\n ", "test", buf, sizeof(buf)), -1);
	ck_assert_int_eq(cmdline_get(NULL, "test", buf, sizeof(buf)), -1);
	ck_assert_int_eq(cmdline_get("=1", "test", buf, sizeof(buf)), -1);
	ck_assert_str_eq(buf, "abc");
}
END_TEST

START_TEST(test_get_truncation)
{
	char buf[8];

	/* Truncated to size - 1 and terminated; the return is the full length. */
	memset(buf, 'X', sizeof(buf));
	ck_assert_int_eq(cmdline_get(cmd, "test", buf, 4), 9);
	ck_assert_mem_eq(buf, "lab\0XXXX", sizeof(buf));
	memset(buf, 'X', sizeof(buf));
	ck_assert_int_eq(cmdline_get(cmd, "test", buf, 1), 9);
	ck_assert_mem_eq(buf, "\0XXXXXXX", sizeof(buf));
	memset(buf, 'X', sizeof(buf));
	ck_assert_int_eq(cmdline_get(cmd, "test", buf, 0), 9);
	ck_assert_mem_eq(buf, "XXXXXXXX", sizeof(buf));
	ck_assert_int_eq(cmdline_get(cmd, "test", NULL, 0), 9);
	/* Exactly fits. */
	memset(buf, 'X', sizeof(buf));
	ck_assert_int_eq(cmdline_get("k=1234567", "k", buf, sizeof(buf)), 7);
	ck_assert_str_eq(buf, "1234567");
	ck_assert_int_eq(cmdline_get("k=12345678", "k", buf, sizeof(buf)), 8);
	ck_assert_str_eq(buf, "1234567");
	/* A flag with size 0 writes nothing either. */
	memset(buf, 'X', sizeof(buf));
	ck_assert_int_eq(cmdline_get("quiet", "quiet", buf, 0), 0);
	ck_assert_mem_eq(buf, "XXXXXXXX", sizeof(buf));
}
END_TEST

START_TEST(test_get_u64)
{
	const uint64_t d = 77;

	ck_assert_uint_eq(cmdline_get_u64("seed=42", "seed", d), 42);
	ck_assert_uint_eq(cmdline_get_u64("seed=0", "seed", d), 0);
	ck_assert_uint_eq(cmdline_get_u64("seed=0x2a", "seed", d), 42);
	ck_assert_uint_eq(cmdline_get_u64("seed=0X2A", "seed", d), 42);
	ck_assert_uint_eq(cmdline_get_u64("seed=0xDeadBeef", "seed", d), 0xdeadbeef);
	ck_assert_uint_eq(cmdline_get_u64(cmd, "seed", d), 42);
	ck_assert_uint_eq(cmdline_get_u64(cmd, "testx", d), 9);
	ck_assert_uint_eq(cmdline_get_u64("seed=010", "seed", d), 10);
	ck_assert_uint_eq(cmdline_get_u64("seed=18446744073709551615", "seed", d), UINT64_MAX);
	ck_assert_uint_eq(cmdline_get_u64("seed=0xffffffffffffffff", "seed", d), UINT64_MAX);
	ck_assert_uint_eq(cmdline_get_u64("seed=0x8000000000000000", "seed", d), 1ull << 63);
	ck_assert_uint_eq(cmdline_get_u64("a=1 seed=5 b=2", "seed", d), 5);
	/* Leading zeros are fine, however many. */
	ck_assert_uint_eq(
		cmdline_get_u64("seed=0000000000000000000000000000000000000007", "seed", d), 7);
}
END_TEST

START_TEST(test_get_u64_invalid)
{
	const uint64_t d = 77;

	/* Anything that is not entirely a number gives the default. */
	ck_assert_uint_eq(cmdline_get_u64("", "seed", d), d);
	ck_assert_uint_eq(cmdline_get_u64("other=1", "seed", d), d);
	ck_assert_uint_eq(cmdline_get_u64("seed", "seed", d), d);
	ck_assert_uint_eq(cmdline_get_u64("seed=", "seed", d), d);
	ck_assert_uint_eq(cmdline_get_u64("seed=abc", "seed", d), d);
	ck_assert_uint_eq(cmdline_get_u64("seed=12abc", "seed", d), d);
	ck_assert_uint_eq(cmdline_get_u64("seed=0x", "seed", d), d);
	ck_assert_uint_eq(cmdline_get_u64("seed=0xg", "seed", d), d);
	ck_assert_uint_eq(cmdline_get_u64("seed=0x12g", "seed", d), d);
	ck_assert_uint_eq(cmdline_get_u64("seed=-1", "seed", d), d);
	ck_assert_uint_eq(cmdline_get_u64("seed=+1", "seed", d), d);
	ck_assert_uint_eq(cmdline_get_u64("seedx=5", "seed", d), d);
	/* Out of range: 2^64 and beyond, in decimal and hex. */
	ck_assert_uint_eq(cmdline_get_u64("seed=18446744073709551616", "seed", d), d);
	ck_assert_uint_eq(cmdline_get_u64("seed=0x10000000000000000", "seed", d), d);
	ck_assert_uint_eq(
		cmdline_get_u64("seed=99999999999999999999999999999999999999999", "seed", d), d);
	/* Garbage after a long run of zeros is still garbage. */
	ck_assert_uint_eq(
		cmdline_get_u64("seed=00000000000000000000000000000000000000001x", "seed", d), d);
}
END_TEST

START_TEST(test_list_match_prefix)
{
	ck_assert(list_match("lab1", "lab1"));
	ck_assert(list_match("lab1", "lab1.walk"));
	ck_assert(list_match("lab1", "lab1.walk.deep"));
	ck_assert(!list_match("lab1", "lab10.x"));
	ck_assert(!list_match("lab1", "lab10"));
	ck_assert(!list_match("lab1", "lab1x"));
	ck_assert(!list_match("lab1", "lab1_walk"));
	ck_assert(!list_match("lab1", "lab"));
	ck_assert(!list_match("lab1", ""));
	ck_assert(!list_match("lab1", "xlab1"));
	ck_assert(!list_match("lab1", "Lab1"));
	ck_assert(list_match("lab1.walk", "lab1.walk"));
	ck_assert(list_match("lab1.walk", "lab1.walk.4k"));
	ck_assert(!list_match("lab1.walk", "lab1"));
	ck_assert(!list_match("lab1.walk", "lab1.walker"));
	ck_assert(!list_match("lab1.walk", "lab1.map"));
}
END_TEST

START_TEST(test_list_match_all)
{
	ck_assert(list_match("all", "lab1.walk"));
	ck_assert(list_match("all", "boot"));
	ck_assert(list_match("all", ""));
	ck_assert(list_match("lab2,all", "lab1.walk"));
	ck_assert(list_match("all,lab2", "lab1.walk"));
	ck_assert(!list_match("al", "lab1"));
	ck_assert(!list_match("alls", "lab1"));
	ck_assert(!list_match("ALL", "lab1"));
	ck_assert(!list_match("xall", "lab1"));
	/* A name called "all.x" is selected by its own prefix too. */
	ck_assert(list_match("all", "all.x"));
}
END_TEST

START_TEST(test_list_match_lists)
{
	ck_assert(list_match("lab1,lab2", "lab1.walk"));
	ck_assert(list_match("lab1,lab2", "lab2.map"));
	ck_assert(!list_match("lab1,lab2", "lab3.fault"));
	ck_assert(list_match("lab3,lab2.map,boot", "lab2.map"));
	ck_assert(!list_match("lab3,lab2.map,boot", "lab2.unmap"));
	ck_assert(list_match("lab3,lab2.map,boot", "boot.cmdline"));
	ck_assert(!list_match("lab10,lab11", "lab1.walk"));
	ck_assert(list_match("lab10,lab1", "lab1.walk"));
}
END_TEST

START_TEST(test_list_match_empty)
{
	/* Empty entries select nothing, and do not stop the scan. */
	ck_assert(!list_match("", "lab1"));
	ck_assert(!list_match("", ""));
	ck_assert(!list_match(",", "lab1"));
	ck_assert(!list_match(",,", ""));
	ck_assert(list_match(",lab1", "lab1.walk"));
	ck_assert(list_match("lab1,", "lab1.walk"));
	ck_assert(list_match(",,lab2,,lab1,,", "lab1.walk"));
	ck_assert(!list_match(",,lab2,,", "lab1.walk"));
}
END_TEST

/* cmdline_unescape_grub undoes exactly what GRUB adds before \\, ' and ". */
START_TEST(test_unescape_grub)
{
	char a[] = "x=\\$HOME a\\\\b \\'q\\' \\\"d\\\" \\n end\\";
	char b[] = "";

	cmdline_unescape_grub(a);
	ck_assert_str_eq(a, "x=\\$HOME a\\b 'q' \"d\" \\n end\\");
	cmdline_unescape_grub(b);
	ck_assert_str_eq(b, "");
}
END_TEST

/* cmdline_get_rest: run= takes the rest of the line; too long is E2BIG, never a cut. */
START_TEST(test_get_rest)
{
	char buf[16], line[400];

	memset(buf, 'X', sizeof(buf));
	ck_assert_int_eq(cmdline_get_rest("seed=3 run=hello a  b   ", "run", buf, sizeof(buf)), 10);
	ck_assert_str_eq(buf, "hello a  b");
	ck_assert_int_eq(cmdline_get_rest("run=", "run", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(cmdline_get_rest("run hello", "run", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(cmdline_get_rest("rerun=x", "run", buf, sizeof(buf)), -1);
	/* 15 bytes fit in 16; 16 do not, and buf is then empty rather than cut. */
	ck_assert_int_eq(cmdline_get_rest("run=abcdefghijklmno ", "run", buf, sizeof(buf)), 15);
	ck_assert_str_eq(buf, "abcdefghijklmno");
	ck_assert_int_eq(cmdline_get_rest("run=abcdefghijklmnop", "run", buf, sizeof(buf)), -E2BIG);
	ck_assert_str_eq(buf, "");
	/* The case: a 300-byte argument against the kernel's 256-byte buffer. */
	memcpy(line, "run=hello ", 10);
	memset(line + 10, 'a', 290);
	line[300] = '\0';
	{
		char cmd[256];

		ck_assert_int_eq(cmdline_get_rest(line, "run", cmd, sizeof(cmd)), -E2BIG);
		ck_assert_str_eq(cmd, "");
		line[4 + 255] = '\0';
		ck_assert_int_eq(cmdline_get_rest(line, "run", cmd, sizeof(cmd)), 255);
	}
}
END_TEST

Suite *cmdline_suite(void)
{
	Suite *s = suite_create("cmdline");
	TCase *tc;

	tc = tcase_create("get");
	tcase_add_test(tc, test_get_values);
	tcase_add_test(tc, test_get_flags);
	tcase_add_test(tc, test_get_prefixes);
	tcase_add_test(tc, test_get_missing);
	tcase_add_test(tc, test_get_truncation);
	tcase_add_test(tc, test_get_rest);
	tcase_add_test(tc, test_unescape_grub);
	suite_add_tcase(s, tc);

	tc = tcase_create("get_u64");
	tcase_add_test(tc, test_get_u64);
	tcase_add_test(tc, test_get_u64_invalid);
	suite_add_tcase(s, tc);

	tc = tcase_create("list_match");
	tcase_add_test(tc, test_list_match_prefix);
	tcase_add_test(tc, test_list_match_all);
	tcase_add_test(tc, test_list_match_lists);
	tcase_add_test(tc, test_list_match_empty);
	suite_add_tcase(s, tc);
	return s;
}
