/*
 * Caller sites for assertions made inside test helpers (check_err.h): the
 * report names the test's line, the message the helper's.
 */
#include <stdarg.h>
#include <stdio.h>

#include <check.h>

#include "tests/host/check_err.h"

static _Thread_local struct ck_site site; /* the outermost helper call's site, or none */

struct ck_site ck_site_enter(const char *file, int line)
{
	struct ck_site saved = site;

	if (!site.file)
		site = (struct ck_site){ file, line };
	return saved;
}

void ck_site_leave(struct ck_site *saved)
{
	site = *saved;
}

void ck_fail_at(const char *file, int line, const char *expr, const char *msg, ...)
{
	struct ck_site at = site;
	char text[1024];
	va_list ap;

	/* Check leaves the test by longjmp under CK_FORK=no: no cleanup runs. */
	site = (struct ck_site){ 0 };
	if (msg) {
		va_start(ap, msg);
		vsnprintf(text, sizeof(text), msg, ap);
		va_end(ap);
	} else {
		snprintf(text, sizeof(text), "%s", expr);
	}
	if (!at.file)
		(_ck_assert_failed)(file, line, expr, "%s", text);
	(_ck_assert_failed)(at.file, at.line, expr, "%s (assertion at %s:%d)", text, file, line);
	__builtin_unreachable();
}

void ck_mark_at(const char *file, int line)
{
	if (site.file)
		(_mark_point)(site.file, site.line);
	else
		(_mark_point)(file, line);
}
