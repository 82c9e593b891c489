/*
 * What a failing host test prints, for a student reading it:
 *
 * ck_assert_err(got, want): an error return compared with its errno name on
 * both sides ("pt_walk(root, va, &c) returned -22 (EINVAL), expected -2
 * (ENOENT)"), the way the in-kernel tests print them.
 *
 * Caller sites: an assertion inside a helper (expect_hole, expect_map, ...)
 * is reported at the line of the test that called the helper, which says
 * which case failed, with the helper's own line added to the message. A
 * helper takes CK_SITE as its first parameter, opens its body with
 * CK_ENTER, and is called through a macro that passes CK_HERE:
 *
 *	#define expect_hole(...) expect_hole_at(CK_HERE, __VA_ARGS__)
 *	static void expect_hole_at(CK_SITE, uint64_t va, int level)
 *	{
 *		CK_ENTER;
 *		ck_assert_int_eq(...);	reported at the test's line
 *	}
 *
 * Helpers that call helpers keep the outermost site: the test's own line.
 */
#ifndef TESTS_HOST_CHECK_ERR_H
#define TESTS_HOST_CHECK_ERR_H

#include <check.h>

#include "lib/errno.h"

#define ck_assert_err(got, want)                                                              \
	do {                                                                                  \
		long _got = (long)(got), _want = (long)(want);                                \
		ck_assert_msg(_got == _want, "%s returned %ld (%s), expected %ld (%s)", #got, \
			      _got, _got < 0 ? errname((int)_got) : "OK", _want,              \
			      _want < 0 ? errname((int)_want) : "OK");                        \
	} while (0)

/* ck_assert_hex_eq(got, want): addresses, entries and flags, in hex. */
#define ck_assert_hex_eq(got, want)                                                           \
	do {                                                                                  \
		unsigned long _got = (unsigned long)(got), _want = (unsigned long)(want);     \
		ck_assert_msg(_got == _want, "%s is %#lx, expected %#lx", #got, _got, _want); \
	} while (0)

struct ck_site {
	const char *file;
	int line;
};

#define CK_SITE const char *ck_site_file_, int ck_site_line_
#define CK_HERE __FILE__, __LINE__
#define CK_ENTER                                                                        \
	struct ck_site ck_site_saved_ __attribute__((cleanup(ck_site_leave), unused)) = \
		ck_site_enter(ck_site_file_, ck_site_line_)

struct ck_site ck_site_enter(const char *file, int line);
void ck_site_leave(struct ck_site *saved);
void ck_fail_at(const char *file, int line, const char *expr, const char *msg, ...)
	__attribute__((noreturn, format(printf, 4, 5)));
void ck_mark_at(const char *file, int line);

/*
 * Every Check assertion macro ends in one of these two calls with
 * __FILE__/__LINE__; routing them through the site is what moves the report.
 * (A function-like macro does not expand inside itself: no recursion.)
 */
#undef _ck_assert_failed
#define _ck_assert_failed(file, line, expr, ...) ck_fail_at(file, line, expr, ##__VA_ARGS__)
#undef _mark_point
#define _mark_point(file, line) ck_mark_at(file, line)

#endif
