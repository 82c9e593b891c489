/* Host unit tests for lib/errname.c and the values in lib/errno.h. */
#include <check.h>
#include <limits.h>

#include "lib/errno.h"
#include "tests/host/errnames.h"

static const struct {
	int err;
	const char *name;
} codes[] = {
#define E(x) { x, #x },
	PAGODA_ERRNOS(E)
#undef E
};

START_TEST(test_names)
{
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		ck_assert_str_eq(errname(codes[i].err), codes[i].name);
		/* Kernel functions return negated codes; the sign is ignored. */
		ck_assert_str_eq(errname(-codes[i].err), codes[i].name);
	}
}
END_TEST

/*
 * The values match Linux, so errno(3) documents them: ask the host C library
 * (on Linux only: other systems number errors differently).
 */
START_TEST(test_linux_values)
{
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		ck_assert_msg(host_errno(codes[i].name) == codes[i].err,
			      "%s is %d here, %d in Linux", codes[i].name,
			      host_errno(codes[i].name), codes[i].err);
}
END_TEST

START_TEST(test_unknown)
{
	ck_assert_str_eq(errname(0), "OK");
	ck_assert_str_eq(errname(6), "E?"); /* ENXIO: not in lib/errno.h */
	ck_assert_str_eq(errname(-6), "E?");
	ck_assert_str_eq(errname(ETIMEDOUT + 1), "E?");
	ck_assert_str_eq(errname(1000), "E?");
	ck_assert_str_eq(errname(-1000), "E?");
	ck_assert_str_eq(errname(INT_MAX), "E?");
	ck_assert_str_eq(errname(INT_MIN), "E?");
	ck_assert_str_eq(errname(INT_MIN + 1), "E?");
}
END_TEST

Suite *errname_suite(void)
{
	Suite *s = suite_create("errname");
	TCase *tc = tcase_create("errname");

	tcase_add_test(tc, test_names);
#ifdef __linux__
	tcase_add_test(tc, test_linux_values);
#endif
	tcase_add_test(tc, test_unknown);
	suite_add_tcase(s, tc);
	return s;
}
