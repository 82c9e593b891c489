/*
 * ck_assert_err(got, want): an error return compared with its errno name on
 * both sides ("pt_walk(root, va, &c) returned -22 (EINVAL), expected -2
 * (ENOENT)"), the way the in-kernel tests print them.
 */
#ifndef TESTS_HOST_CHECK_ERR_H
#define TESTS_HOST_CHECK_ERR_H

#include <check.h>

#include "lib/errno.h"

#define ck_assert_err(got, want)                                                       \
	do {                                                                           \
		long _got = (long)(got), _want = (long)(want);                         \
		ck_assert_msg(_got == _want, "%s returned %ld (%s), expected %ld (%s)", \
			      #got, _got, _got < 0 ? errname((int)_got) : "OK", _want,  \
			      _want < 0 ? errname((int)_want) : "OK");                 \
	} while (0)

#endif
