/*
 * Host unit tests for lib/printfmt.c. The expected strings are what C99
 * (glibc) prints, except in the tests marked Pagoda-specific; building this
 * file with -DGLIBC_CROSSCHECK and without lib/ runs it against glibc.
 */
#include <check.h>
#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/printfmt.h"
#include "lib/string.h"

/* snprintf into a large buffer: the text and the return value must match. */
#define EXPECT_FMT(want, ...)                                       \
	do {                                                        \
		char _buf[512];                                     \
		int _n = snprintf(_buf, sizeof(_buf), __VA_ARGS__); \
		ck_assert_str_eq(_buf, want);                       \
		ck_assert_int_eq(_n, (int)strlen(want));            \
	} while (0)

START_TEST(test_char)
{
	EXPECT_FMT("A", "%c", 'A');
	EXPECT_FMT("[  A]", "[%3c]", 'A');
	EXPECT_FMT("[A  ]", "[%-3c]", 'A');
	EXPECT_FMT("[A]", "[%1c]", 'A');
	EXPECT_FMT("xyz", "%c%c%c", 'x', 'y', 'z');
	EXPECT_FMT("\xff", "%c", 0x1ff);
}
END_TEST

START_TEST(test_string)
{
	const char unterminated[4] = { 'a', 'b', 'c', 'd' };

	EXPECT_FMT("hello", "%s", "hello");
	EXPECT_FMT("", "%s", "");
	EXPECT_FMT("[   hello]", "[%8s]", "hello");
	EXPECT_FMT("[hello   ]", "[%-8s]", "hello");
	EXPECT_FMT("[hello]", "[%2s]", "hello");
	EXPECT_FMT("[hel]", "[%.3s]", "hello");
	EXPECT_FMT("[     hel]", "[%8.3s]", "hello");
	EXPECT_FMT("[hel     ]", "[%-8.3s]", "hello");
	EXPECT_FMT("[]", "[%.0s]", "hello");
	EXPECT_FMT("[abc]", "[%.10s]", "abc");
	EXPECT_FMT("[he]", "[%.*s]", 2, "hello");
	EXPECT_FMT("[    ab]", "[%*s]", 6, "ab");
	EXPECT_FMT("[ab    ]", "[%*s]", -6, "ab");
	EXPECT_FMT("[ab    ]", "[%-*s]", 6, "ab");
	EXPECT_FMT("[hello]", "[%.*s]", -1, "hello");
	EXPECT_FMT("[  hel]", "[%*.*s]", 5, 3, "hello");
	/* A precision bounds the read: the array need not be terminated. */
	EXPECT_FMT("[abc]", "[%.3s]", unterminated);
	EXPECT_FMT("[abcd]", "[%.4s]", unterminated);
}
END_TEST

/*
 * GCC's -Wformat-overflow (here: a NULL %s argument, which Pagoda prints as
 * "(null)") has no clang counterpart, and clang warns about a pragma that
 * names a warning it does not know.
 */
#ifdef __clang__
#define IGNORE_FORMAT_OVERFLOW
#else
#define IGNORE_FORMAT_OVERFLOW _Pragma("GCC diagnostic ignored \"-Wformat-overflow\"")
#endif

#pragma GCC diagnostic push
IGNORE_FORMAT_OVERFLOW
START_TEST(test_null_string)
{
	const char *null = NULL;

	EXPECT_FMT("(null)", "%s", null);
	EXPECT_FMT("[  (null)]", "[%8s]", null);
	EXPECT_FMT("[(null)  ]", "[%-8s]", null);
}
END_TEST
#pragma GCC diagnostic pop

START_TEST(test_signed)
{
	EXPECT_FMT("0", "%d", 0);
	EXPECT_FMT("42", "%d", 42);
	EXPECT_FMT("-42", "%d", -42);
	EXPECT_FMT("-7", "%i", -7);
	EXPECT_FMT("123", "%i", 123);
	EXPECT_FMT("2147483647", "%d", INT_MAX);
	EXPECT_FMT("-2147483648", "%d", INT_MIN);
	EXPECT_FMT("-2147483648", "%i", INT_MIN);
	EXPECT_FMT("1 -2 3", "%d %i %d", 1, -2, 3);
}
END_TEST

START_TEST(test_unsigned)
{
	EXPECT_FMT("0", "%u", 0u);
	EXPECT_FMT("42", "%u", 42u);
	EXPECT_FMT("4294967295", "%u", UINT_MAX);
	EXPECT_FMT("4294967295", "%u", (unsigned int)-1);
	EXPECT_FMT("deadbeef", "%x", 0xdeadbeefu);
	EXPECT_FMT("DEADBEEF", "%X", 0xdeadbeefu);
	EXPECT_FMT("0", "%x", 0u);
	EXPECT_FMT("ffffffff", "%x", UINT_MAX);
	EXPECT_FMT("abcdef", "%x", 0xabcdefu);
	EXPECT_FMT("ABCDEF", "%X", 0xabcdefu);
	EXPECT_FMT("10", "%o", 8u);
	EXPECT_FMT("0", "%o", 0u);
	EXPECT_FMT("777", "%o", 0777u);
	EXPECT_FMT("37777777777", "%o", UINT_MAX);
}
END_TEST

START_TEST(test_pointer)
{
	EXPECT_FMT("0x1234", "%p", (void *)0x1234);
	EXPECT_FMT("0xffff800000000000", "%p", (void *)0xffff800000000000ul);
	EXPECT_FMT("0xffffffffffffffff", "%p", (void *)~0ul);
	EXPECT_FMT("[    0x1000]", "[%10p]", (void *)0x1000);
	EXPECT_FMT("[0x1000    ]", "[%-10p]", (void *)0x1000);
}
END_TEST

START_TEST(test_percent)
{
	EXPECT_FMT("%", "%%");
	EXPECT_FMT("100%", "%d%%", 100);
	EXPECT_FMT("%d", "%%d");
	EXPECT_FMT("a%b%c", "a%%b%%c");
}
END_TEST

START_TEST(test_plain)
{
	EXPECT_FMT("hello, world\n", "hello, world\n");
	EXPECT_FMT("x=1 y=ab z=Q", "x=%d y=%s z=%c", 1, "ab", 'Q');
}
END_TEST

START_TEST(test_flags)
{
	EXPECT_FMT("[42   ]", "[%-5d]", 42);
	EXPECT_FMT("[-42  ]", "[%-5d]", -42);
	EXPECT_FMT("[00042]", "[%05d]", 42);
	EXPECT_FMT("[-0042]", "[%05d]", -42);
	EXPECT_FMT("[+42]", "[%+d]", 42);
	EXPECT_FMT("[-42]", "[%+d]", -42);
	EXPECT_FMT("[+0]", "[%+d]", 0);
	EXPECT_FMT("[ 42]", "[% d]", 42);
	EXPECT_FMT("[-42]", "[% d]", -42);
	EXPECT_FMT("[ 0]", "[% d]", 0);
	EXPECT_FMT("[+0042]", "[%+05d]", 42);
	EXPECT_FMT("[ 0042]", "[% 05d]", 42);
	EXPECT_FMT("[  +42]", "[%+5d]", 42);
	EXPECT_FMT("[+42  ]", "[%-+5d]", 42);
	EXPECT_FMT("[0xff]", "[%#x]", 255u);
	EXPECT_FMT("[0XFF]", "[%#X]", 255u);
	EXPECT_FMT("[0]", "[%#x]", 0u);
	EXPECT_FMT("[010]", "[%#o]", 8u);
	EXPECT_FMT("[0]", "[%#o]", 0u);
	EXPECT_FMT("[0x000000ff]", "[%#010x]", 255u);
	EXPECT_FMT("[0X000000FF]", "[%#010X]", 255u);
	EXPECT_FMT("[      0xff]", "[%#10x]", 255u);
	EXPECT_FMT("[0xff      ]", "[%-#10x]", 255u);
	EXPECT_FMT("[00000ff]", "[%07x]", 255u);
	EXPECT_FMT("[0000010]", "[%#07o]", 8u);
	EXPECT_FMT("[00042]", "[%05u]", 42u);
	EXPECT_FMT("[42   ]", "[%-5u]", 42u);
}
END_TEST

/* Combinations that are valid C but that GCC's -Wformat warns about. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
#pragma GCC diagnostic ignored "-Wformat-extra-args"
START_TEST(test_flags_overridden)
{
	/* - overrides 0; + overrides space. */
	EXPECT_FMT("[42   ]", "[%-05d]", 42);
	EXPECT_FMT("[-42  ]", "[%0-5d]", -42);
	EXPECT_FMT("[+42]", "[%+ d]", 42);
	EXPECT_FMT("[+42]", "[% +d]", 42);
	/* A precision disables the 0 flag for integers. */
	EXPECT_FMT("[   00042]", "[%08.5d]", 42);
	EXPECT_FMT("[     -42]", "[%08.2d]", -42);
	EXPECT_FMT("[     0ff]", "[%08.3x]", 255u);
	/* + and space apply to signed conversions only. */
	EXPECT_FMT("[ff]", "[%+x]", 255u);
	EXPECT_FMT("[ff]", "[% x]", 255u);
	EXPECT_FMT("[10]", "[%+o]", 8u);
	EXPECT_FMT("[5]", "[%+u]", 5u);
	EXPECT_FMT("[5]", "[% u]", 5u);
	EXPECT_FMT("[00005]", "[%+05u]", 5u);
	EXPECT_FMT("[4294967295]", "[%+u]", UINT_MAX);
	/* Repeated flags are harmless. */
	EXPECT_FMT("[42   ]", "[%--5d]", 42);
	EXPECT_FMT("[00042]", "[%005d]", 42);
}
END_TEST
#pragma GCC diagnostic pop

START_TEST(test_width_precision)
{
	EXPECT_FMT("[   42]", "[%5d]", 42);
	EXPECT_FMT("[42]", "[%1d]", 42);
	EXPECT_FMT("[  -42]", "[%5d]", -42);
	EXPECT_FMT("[00042]", "[%.5d]", 42);
	EXPECT_FMT("[-00042]", "[%.5d]", -42);
	EXPECT_FMT("[  -00042]", "[%8.5d]", -42);
	EXPECT_FMT("[-00042  ]", "[%-8.5d]", -42);
	EXPECT_FMT("[   +00042]", "[%+9.5d]", 42);
	EXPECT_FMT("[42]", "[%.1d]", 42);
	EXPECT_FMT("[000]", "[%.3x]", 0u);
	EXPECT_FMT("[0x001]", "[%#.3x]", 1u);
	EXPECT_FMT("[   0x001]", "[%#8.3x]", 1u);
	EXPECT_FMT("[00010]", "[%#.5o]", 8u);
	EXPECT_FMT("[010]", "[%#.3o]", 8u);
	EXPECT_FMT("[010]", "[%#.2o]", 8u);
	EXPECT_FMT("[  00010]", "[%#7.5o]", 8u);
	EXPECT_FMT("[00000000001234567890]", "[%.20lu]", 1234567890ul);
	/* Width and precision from arguments. */
	EXPECT_FMT("[   42]", "[%*d]", 5, 42);
	EXPECT_FMT("[42   ]", "[%-*d]", 5, 42);
	EXPECT_FMT("[42   ]", "[%*d]", -5, 42);
	EXPECT_FMT("[0007]", "[%.*d]", 4, 7);
	EXPECT_FMT("[7]", "[%.*d]", -1, 7);
	EXPECT_FMT("[   007]", "[%*.*d]", 6, 3, 7);
	EXPECT_FMT("[007   ]", "[%*.*d]", -6, 3, 7);
	EXPECT_FMT("[    00ff|x]", "[%*.*x|%c]", 8, 4, 0xffu, 'x');
	EXPECT_FMT("[  0x00ff]", "[%#*.*x]", 8, 4, 0xffu);
	/* Wide fields. */
	EXPECT_FMT("[                                        1]", "[%41d]", 1);
}
END_TEST

START_TEST(test_precision_zero)
{
	/* Precision 0 with the value 0 prints no digits. */
	EXPECT_FMT("[]", "[%.0d]", 0);
	EXPECT_FMT("[]", "[%.d]", 0);
	EXPECT_FMT("[     ]", "[%5.0d]", 0);
	EXPECT_FMT("[     ]", "[%-5.0d]", 0);
	EXPECT_FMT("[]", "[%.0u]", 0u);
	EXPECT_FMT("[]", "[%.0x]", 0u);
	EXPECT_FMT("[]", "[%#.0x]", 0u);
	EXPECT_FMT("[]", "[%.0o]", 0u);
	EXPECT_FMT("[0]", "[%#.0o]", 0u);
	EXPECT_FMT("[+]", "[%+.0d]", 0);
	EXPECT_FMT("[ ]", "[% .0d]", 0);
	EXPECT_FMT("[]", "[%.*d]", 0, 0);
	/* Non-zero values are unaffected. */
	EXPECT_FMT("[1]", "[%.0d]", 1);
	EXPECT_FMT("[-1]", "[%.0d]", -1);
	EXPECT_FMT("[0x1]", "[%#.0x]", 1u);
}
END_TEST

/*
 * The arguments are ints outside the narrow type on purpose: hh and h
 * convert them (C11 7.21.6.1), which clang's -Wformat flags.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
START_TEST(test_length_char_short)
{
	EXPECT_FMT("-56", "%hhd", 200);
	EXPECT_FMT("-128", "%hhd", -128);
	EXPECT_FMT("127", "%hhi", 127);
	EXPECT_FMT("1", "%hhu", 257);
	EXPECT_FMT("255", "%hhu", -1);
	EXPECT_FMT("ff", "%hhx", 0x1ff);
	EXPECT_FMT("FF", "%hhX", 0x1ff);
	EXPECT_FMT("377", "%hho", 0x1ff);
	EXPECT_FMT("-25536", "%hd", 40000);
	EXPECT_FMT("-32768", "%hd", SHRT_MIN);
	EXPECT_FMT("32767", "%hi", SHRT_MAX);
	EXPECT_FMT("1", "%hu", 65537);
	EXPECT_FMT("65535", "%hu", -1);
	EXPECT_FMT("2345", "%hx", 0x12345);
	EXPECT_FMT("177777", "%ho", 0xffff);
	/* The argument after a narrow one is still read correctly. */
	EXPECT_FMT("-1 7", "%hhd %d", 255, 7);
}
END_TEST
#pragma GCC diagnostic pop

START_TEST(test_length_long)
{
	EXPECT_FMT("-9223372036854775808", "%ld", LONG_MIN);
	EXPECT_FMT("9223372036854775807", "%ld", LONG_MAX);
	EXPECT_FMT("-9223372036854775808", "%li", LONG_MIN);
	EXPECT_FMT("18446744073709551615", "%lu", ULONG_MAX);
	EXPECT_FMT("ffffffffffffffff", "%lx", ULONG_MAX);
	EXPECT_FMT("FFFFFFFFFFFFFFFF", "%lX", ULONG_MAX);
	EXPECT_FMT("1777777777777777777777", "%lo", ULONG_MAX);
	EXPECT_FMT("0xffffffffffffffff", "%#lx", ULONG_MAX);
	EXPECT_FMT("01777777777777777777777", "%#lo", ULONG_MAX);
	EXPECT_FMT("-9223372036854775808", "%lld", LLONG_MIN);
	EXPECT_FMT("9223372036854775807", "%lli", LLONG_MAX);
	EXPECT_FMT("18446744073709551615", "%llu", ULLONG_MAX);
	EXPECT_FMT("123456789abcdef0", "%llx", 0x123456789abcdef0ull);
	EXPECT_FMT("[-0000000000000000000009223372036854775808]", "[%.40ld]", LONG_MIN);
	EXPECT_FMT("[ -9223372036854775808]", "[%21ld]", LONG_MIN);
	EXPECT_FMT("[-09223372036854775808]", "[%021ld]", LONG_MIN);
	EXPECT_FMT("-4294967296", "%ld", -4294967296l);
	/* Arguments after 64-bit ones stay in step. */
	EXPECT_FMT("1 2 3 4", "%d %ld %lld %d", 1, 2l, 3ll, 4);
}
END_TEST

START_TEST(test_length_size)
{
	EXPECT_FMT("18446744073709551615", "%zu", (size_t)SIZE_MAX);
	EXPECT_FMT("-5", "%zd", (ssize_t)-5);
	EXPECT_FMT("1000", "%zx", (size_t)0x1000);
	EXPECT_FMT("-3", "%td", (ptrdiff_t)-3);
	EXPECT_FMT("-9223372036854775808", "%td", (ptrdiff_t)PTRDIFF_MIN);
	EXPECT_FMT("7fffffffffffffff", "%tx", (ptrdiff_t)PTRDIFF_MAX);
	EXPECT_FMT("-9223372036854775808", "%jd", (intmax_t)INTMAX_MIN);
	EXPECT_FMT("18446744073709551615", "%ju", (uintmax_t)UINTMAX_MAX);
	EXPECT_FMT("[    1000]", "[%8zx]", (size_t)0x1000);
	EXPECT_FMT("5 6 7 8", "%zu %td %ju %d", (size_t)5, (ptrdiff_t)6, (uintmax_t)7, 8);
}
END_TEST

START_TEST(test_snprintf_truncation)
{
	char buf[16];

	/* Truncated output is terminated; the return is the full length. */
	memset(buf, 'X', sizeof(buf));
	ck_assert_int_eq(snprintf(buf, 5, "hello world"), 11);
	ck_assert_mem_eq(buf, "hell\0XXXXXXXXXXX", sizeof(buf));

	memset(buf, 'X', sizeof(buf));
	ck_assert_int_eq(snprintf(buf, 11, "hello %s", "world"), 11);
	ck_assert_mem_eq(buf, "hello worl\0XXXXX", sizeof(buf));

	/* Exactly fits. */
	memset(buf, 'X', sizeof(buf));
	ck_assert_int_eq(snprintf(buf, 12, "hello %s", "world"), 11);
	ck_assert_mem_eq(buf, "hello world\0XXXX", sizeof(buf));

	/* Size 1: only the terminator. */
	memset(buf, 'X', sizeof(buf));
	ck_assert_int_eq(snprintf(buf, 1, "%d", 12345), 5);
	ck_assert_mem_eq(buf, "\0XXXXXXXXXXXXXXX", sizeof(buf));

	/* Size 0 writes nothing, and buf may be NULL. */
	memset(buf, 'X', sizeof(buf));
	ck_assert_int_eq(snprintf(buf, 0, "%d", 12345), 5);
	ck_assert_mem_eq(buf, "XXXXXXXXXXXXXXXX", sizeof(buf));
	ck_assert_int_eq(snprintf(NULL, 0, "%s-%d", "abc", -7), 6);

	/* Cut in the middle of padding and of a number. */
	memset(buf, 'X', sizeof(buf));
	ck_assert_int_eq(snprintf(buf, 4, "%5d", 42), 5);
	ck_assert_mem_eq(buf, "   \0XXXXXXXXXXXX", sizeof(buf));
	memset(buf, 'X', sizeof(buf));
	ck_assert_int_eq(snprintf(buf, 4, "%ld", LONG_MIN), 20);
	ck_assert_mem_eq(buf, "-92\0XXXXXXXXXXXX", sizeof(buf));

	/* A long result counts every character. */
	memset(buf, 'X', sizeof(buf));
	ck_assert_int_eq(snprintf(buf, sizeof(buf), "%1000d", 1), 1000);
	ck_assert_str_eq(buf, "               ");
	ck_assert_int_eq(snprintf(buf, sizeof(buf), "%-*s|", 300, "x"), 301);
	ck_assert_str_eq(buf, "x              ");
}
END_TEST

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-zero-length"
START_TEST(test_snprintf_empty)
{
	char buf[4] = "XXX";

	ck_assert_int_eq(snprintf(buf, sizeof(buf), ""), 0);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(snprintf(buf, sizeof(buf), "%s", ""), 0);
	ck_assert_str_eq(buf, "");
}
END_TEST
#pragma GCC diagnostic pop

static int call_vsnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

START_TEST(test_vsnprintf)
{
	char buf[8];

	ck_assert_int_eq(call_vsnprintf(buf, sizeof(buf), "%s=%d", "ab", 42), 5);
	ck_assert_str_eq(buf, "ab=42");
	ck_assert_int_eq(call_vsnprintf(buf, sizeof(buf), "%s=%#x", "key", 0xabcdu), 10);
	ck_assert_str_eq(buf, "key=0xa");
}
END_TEST

#ifndef GLIBC_CROSSCHECK
/* Pagoda-specific behaviour (glibc differs or C leaves it undefined). */

struct sink {
	char text[64];
	int len;
};

static void sink_putch(int ch, void *arg)
{
	struct sink *s = arg;

	if (s->len < (int)sizeof(s->text) - 1)
		s->text[s->len] = (char)ch;
	s->len++;
	s->text[MIN(s->len, (int)sizeof(s->text) - 1)] = '\0';
}

static int call_vprintfmt(struct sink *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	s->len = 0;
	s->text[0] = '\0';
	va_start(ap, fmt);
	n = vprintfmt(sink_putch, s, fmt, ap);
	va_end(ap);
	return n;
}

START_TEST(test_vprintfmt)
{
	struct sink s;

	ck_assert_int_eq(call_vprintfmt(&s, "%s:%d:%c", "kern", -3, '!'), 9);
	ck_assert_int_eq(s.len, 9);
	ck_assert_str_eq(s.text, "kern:-3:!");
	ck_assert_int_eq(call_vprintfmt(&s, "%200s", "x"), 200);
	ck_assert_int_eq(s.len, 200);
	ck_assert_int_eq(call_vprintfmt(&s, "no conversions"), 14);
	ck_assert_str_eq(s.text, "no conversions");
}
END_TEST

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
#pragma GCC diagnostic ignored "-Wformat-extra-args"
IGNORE_FORMAT_OVERFLOW
START_TEST(test_pagoda_specific)
{
	/* %p of NULL prints 0, like %#x (glibc prints "(nil)"). */
	EXPECT_FMT("0", "%p", NULL);
	/* Unknown conversions are shown, not dropped; a lone % at the end too. */
	EXPECT_FMT("[%y]", "[%y]", 1);
	EXPECT_FMT("100%", "100%");
	/* A precision below 6 truncates "(null)" (glibc prints nothing). */
	EXPECT_FMT("(nu", "%.3s", (char *)NULL);
}
END_TEST
#pragma GCC diagnostic pop
#endif

Suite *printfmt_suite(void)
{
	Suite *s = suite_create("printfmt");
	TCase *tc;

	tc = tcase_create("conversions");
	tcase_add_test(tc, test_char);
	tcase_add_test(tc, test_string);
	tcase_add_test(tc, test_null_string);
	tcase_add_test(tc, test_signed);
	tcase_add_test(tc, test_unsigned);
	tcase_add_test(tc, test_pointer);
	tcase_add_test(tc, test_percent);
	tcase_add_test(tc, test_plain);
	suite_add_tcase(s, tc);

	tc = tcase_create("flags");
	tcase_add_test(tc, test_flags);
	tcase_add_test(tc, test_flags_overridden);
	tcase_add_test(tc, test_width_precision);
	tcase_add_test(tc, test_precision_zero);
	suite_add_tcase(s, tc);

	tc = tcase_create("length");
	tcase_add_test(tc, test_length_char_short);
	tcase_add_test(tc, test_length_long);
	tcase_add_test(tc, test_length_size);
	suite_add_tcase(s, tc);

	tc = tcase_create("snprintf");
	tcase_add_test(tc, test_snprintf_truncation);
	tcase_add_test(tc, test_snprintf_empty);
	tcase_add_test(tc, test_vsnprintf);
#ifndef GLIBC_CROSSCHECK
	tcase_add_test(tc, test_vprintfmt);
	tcase_add_test(tc, test_pagoda_specific);
#endif
	suite_add_tcase(s, tc);
	return s;
}
