/* The simulated user memory and copy routines of lab 3 (see uaccess_host.h). */
#include <check.h>

#include "lib/errno.h"
#include "lib/string.h"
#include "tests/host/uaccess_host.h"

#define WINDOW_MAX (4 * PAGE_SIZE)

static uint8_t window[WINDOW_MAX];
static uint64_t win_base, win_len, fault_from;
static uint8_t *kbuf;
static size_t kbuf_len;
static unsigned long calls;
static bool reading_only;

/*
 * The table kern/extable.c sorts and searches: __extable_start and
 * __extable_end are the linker's symbols in the kernel; here they name the
 * two ends of one array.
 */
static struct extable_entry host_extable[HOST_EXTABLE_N] __attribute__((used));
asm(".globl __extable_start\n\t.set __extable_start, host_extable\n\t"
    ".globl __extable_end\n\t.set __extable_end, host_extable + 16 * 16");
_Static_assert(sizeof(struct extable_entry) == 16 && HOST_EXTABLE_N == 16,
	       "the asm above hard-codes the table's size");

void uaccess_host_reset(uint64_t base, size_t len)
{
	ck_assert(len <= WINDOW_MAX);
	win_base = base;
	win_len = len;
	fault_from = base + len;
	for (size_t i = 0; i < len; i++)
		window[i] = uaccess_host_byte(base + i);
	kbuf = NULL;
	kbuf_len = 0;
	calls = 0;
}

uint8_t uaccess_host_byte(uint64_t uva)
{
	return (uint8_t)(1 + (uva * 7 + (uva >> 8)) % 251);
}

uint8_t *uaccess_host_mem(uint64_t uva)
{
	ck_assert_msg(uva >= win_base && uva < win_base + win_len, "%#lx is not in the window", uva);
	return &window[uva - win_base];
}

void uaccess_host_fault_from(uint64_t uva)
{
	fault_from = uva;
}

void uaccess_host_kernel(void *buf, size_t len)
{
	kbuf = buf;
	kbuf_len = len;
}

unsigned long uaccess_host_calls(void)
{
	return calls;
}

void uaccess_host_reading_only(bool on)
{
	reading_only = on;
}

static bool in_kbuf(const void *p, size_t n)
{
	uintptr_t a = (uintptr_t)p, b = (uintptr_t)kbuf;

	return kbuf && a >= b && a - b <= kbuf_len && n <= kbuf_len - (a - b);
}

/* The user byte at uva, or false when touching it faults. */
static bool user_ok(uint64_t uva)
{
	return uva >= win_base && uva < win_base + win_len && uva < fault_from;
}

static void check_user_range(const char *fn, uint64_t uva, size_t n)
{
	ck_assert_msg(uva <= USER_MAX && n <= USER_MAX - uva,
		      "%s was handed the user range [%#lx, +%#lx), which is not inside [0, USER_MAX): "
		      "in the kernel it would touch kernel memory (the wrapper must check first)",
		      fn, uva, n);
}

size_t __uaccess_copy(void *dst, const void *src, size_t n)
{
	size_t i;

	calls++;
	if (in_kbuf(dst, n) || (reading_only && !in_kbuf(src, n))) {
		/* copy_from_user, or a read into a bounce buffer: src is the user address. */
		uint64_t u = (uintptr_t)src;

		check_user_range("__uaccess_copy", u, n);
		for (i = 0; i < n && user_ok(u + i); i++)
			((uint8_t *)dst)[i] = window[u + i - win_base];
		return n - i;
	}
	ck_assert_msg(in_kbuf(src, n),
		      "__uaccess_copy(%p, %p, %zu): neither side is the kernel buffer of %zu bytes "
		      "at %p", dst, src, n, kbuf_len, (void *)kbuf);
	{
		uint64_t u = (uintptr_t)dst;

		check_user_range("__uaccess_copy", u, n);
		for (i = 0; i < n && user_ok(u + i); i++)
			window[u + i - win_base] = ((const uint8_t *)src)[i];
	}
	return n - i;
}

long __uaccess_strncpy(char *dst, const char *src, size_t max)
{
	uint64_t u = (uintptr_t)src;

	calls++;
	ck_assert_msg(in_kbuf(dst, max) || reading_only,
		      "__uaccess_strncpy(dst, src, %zu): dst is not the kernel buffer of %zu bytes "
		      "(or max is larger)", max, kbuf_len);
	check_user_range("__uaccess_strncpy", u, max);
	for (size_t i = 0; i < max; i++) {
		if (!user_ok(u + i))
			return -EFAULT;
		dst[i] = (char)window[u + i - win_base];
		if (!dst[i])
			return (long)i;
	}
	return (long)max;
}
