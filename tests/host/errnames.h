/*
 * The error numbers of lib/errno.h, by name, for the errname tests. A list
 * of its own because two files use it: test_lib_errname.c with Pagoda's
 * values and host_errno.c with the host's, which cannot share one file.
 */
#ifndef TESTS_HOST_ERRNAMES_H
#define TESTS_HOST_ERRNAMES_H

/* clang-format off */
#define PAGODA_ERRNOS(E)                                                                \
	E(EPERM) E(ENOENT) E(ESRCH) E(EINTR) E(EIO) E(E2BIG) E(ENOEXEC) E(EBADF)        \
	E(EAGAIN) E(ENOMEM) E(EACCES) E(EFAULT) E(EBUSY) E(EEXIST) E(ENODEV) E(EINVAL)  \
	E(ENOSPC) E(ERANGE) E(ENAMETOOLONG) E(ENOSYS) E(EOVERFLOW) E(ETIMEDOUT)
/* clang-format on */

/* host_errno - the host C library's value of error name, or -1 (host_errno.c). */
int host_errno(const char *name);

#endif
