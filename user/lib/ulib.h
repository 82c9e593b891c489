/*
 * The user library: system-call wrappers (kern/syscall.h is the ABI), printf
 * over write, and the string functions of lib/.
 */
#ifndef USER_ULIB_H
#define USER_ULIB_H

#include "kern/syscall.h"
#include "lib/errno.h"
#include "lib/printfmt.h"
#include "lib/random.h"
#include "lib/string.h"
#include "lib/types.h"

#define PAGE_SIZE 4096UL
/* The top of the user half, and the first byte of its guard page (kern/mm.h, kern/uaccess.h). */
#define USER_TOP 0x0000800000000000UL
#define USER_MAX (USER_TOP - PAGE_SIZE)

/* Linker symbols of user/user.ld. */
extern char __user_start[], _end[];

/* syscall3 - the raw `syscall` instruction with up to three arguments. */
static inline long syscall3(long nr, long a0, long a1, long a2)
{
	long r;

	asm volatile("syscall"
		     : "=a"(r)
		     : "a"(nr), "D"(a0), "S"(a1), "d"(a2)
		     : "rcx", "r11", "memory");
	return r;
}

void exit(int status) __noreturn;
long write(int fd, const void *buf, size_t len);
long read(int fd, void *buf, size_t len);
long stat(const char *path, struct ustat *st);
long stats(struct ustats *st);
long mmap(uint64_t va, size_t len, int prot);
long munmap(uint64_t va, size_t len);
long mprotect(uint64_t va, size_t len, int prot);

/* printf - formatted output on fd 1 (buffered until a newline or the end of the call). */
int printf(const char *fmt, ...) __printf(1, 2);

#endif
