/*
 * errname: the symbolic name ("EFAULT") of a negative errno value.
 */
#include "lib/errno.h"

static const char *const names[] = {
	[EPERM] = "EPERM",     [ENOENT] = "ENOENT",	  [ESRCH] = "ESRCH",
	[EINTR] = "EINTR",     [EIO] = "EIO",		  [E2BIG] = "E2BIG",
	[ENOEXEC] = "ENOEXEC", [EBADF] = "EBADF",	  [EAGAIN] = "EAGAIN",
	[ENOMEM] = "ENOMEM",   [EACCES] = "EACCES",	  [EFAULT] = "EFAULT",
	[EBUSY] = "EBUSY",     [EEXIST] = "EEXIST",	  [ENODEV] = "ENODEV",
	[EINVAL] = "EINVAL",   [ENOSPC] = "ENOSPC",	  [ERANGE] = "ERANGE",
	[ENAMETOOLONG] = "ENAMETOOLONG", [ENOSYS] = "ENOSYS",
	[EOVERFLOW] = "EOVERFLOW", [ETIMEDOUT] = "ETIMEDOUT",
};

const char *errname(int err)
{
	/* Negate as unsigned: -INT_MIN would overflow. */
	unsigned int e = err < 0 ? -(unsigned int)err : (unsigned int)err;

	if (e == 0)
		return "OK";
	if (e < sizeof(names) / sizeof(names[0]) && names[e])
		return names[e];
	return "E?";
}
