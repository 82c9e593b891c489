/*
 * The host C library's error numbers by name. A file of its own: it includes
 * the host's <errno.h>, which defines the same names as lib/errno.h.
 * (strerrorname_np() would answer too, but only from glibc 2.32 on.)
 */
#include <errno.h>

#include "tests/host/errnames.h"

static const struct {
	const char *name;
	int value;
} host_values[] = {
#define E(x) { #x, x },
	PAGODA_ERRNOS(E)
#undef E
};

int host_errno(const char *name)
{
	for (size_t i = 0; i < sizeof(host_values) / sizeof(host_values[0]); i++)
		if (strcmp(host_values[i].name, name) == 0)
			return host_values[i].value;
	return -1;
}
