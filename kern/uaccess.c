/*
 * Lab 3: validating user pointers and copying to and from user memory
 * without trusting them. See kern/uaccess.h for the contracts and
 * handouts/lab3.md for the why. The copy loops themselves, with their
 * exception-table entries, are in kern/uaccess_asm.S.
 */
#include "kern/extable.h"
#include "kern/trap.h"
#include "kern/uaccess.h"
#include "kern/x86.h"
#include "lib/errno.h"
#include "lib/string.h"

/* kern/uaccess_asm.S returns -14 for -EFAULT. */
_Static_assert(EFAULT == 14, "kern/uaccess_asm.S hard-codes EFAULT");

bool access_ok(const void __user *ptr, size_t len)
{
	/* LAB 3 BEGIN step 1: the range must end at or below USER_MAX; beware of ptr + len wrapping (section 3) */
	uintptr_t start = (uintptr_t)ptr;

	/* Compare lengths rather than computing start + len, which can wrap. */
	return start <= USER_MAX && len <= USER_MAX - start;
	/* LAB 3 STUB
	return false;
	LAB 3 END */
}

size_t copy_from_user(void *dst, const void __user *src, size_t n)
{
	/* Given: keep it. A huge size is refused before anything is touched (kern/uaccess.h). */
	if (!copy_size_ok(n))
		return n;
	/* LAB 3 BEGIN step 3: check, copy with __uaccess_copy, then zero the uncopied tail of dst (section 3) */
	size_t left = n;

	if (access_ok(src, n))
		left = __uaccess_copy(dst, (const void *)src, n);
	/* Never hand the caller stale kernel bytes where the user's were missing. */
	if (left)
		memset((char *)dst + (n - left), 0, left);
	return left;
	/* LAB 3 STUB
	return n;
	LAB 3 END */
}

size_t copy_to_user(void __user *dst, const void *src, size_t n)
{
	/* Given: keep it. A huge size is refused before anything is touched (kern/uaccess.h). */
	if (!copy_size_ok(n))
		return n;
	/* LAB 3 BEGIN step 3: check, then copy with __uaccess_copy (section 3) */
	if (!access_ok(dst, n))
		return n;
	return __uaccess_copy((void *)dst, src, n);
	/* LAB 3 STUB
	return n;
	LAB 3 END */
}

long strncpy_from_user(char *dst, const char __user *src, long count)
{
	/* LAB 3 BEGIN step 3: clamp to the user range, copy with __uaccess_strncpy, tell the three outcomes apart (section 3) */
	uintptr_t start = (uintptr_t)src;
	size_t max;
	long len;

	if (count <= 0)
		return 0;
	if (start >= USER_MAX)
		return -EFAULT;
	/* Never read past the user range, even if count would allow it. */
	max = MIN((size_t)count, USER_MAX - start);
	len = __uaccess_strncpy(dst, (const char *)src, max);
	if (len < 0)
		return -EFAULT;
	/* No NUL before the end of the user range: the string is not valid. */
	if ((size_t)len == max && max < (size_t)count)
		return -EFAULT;
	return len;
	/* LAB 3 STUB
	return -EFAULT;
	LAB 3 END */
}

bool uaccess_fault_handler(struct trapframe *tf)
{
	/* LAB 3 BEGIN step 3: only faults in kernel mode; extable_fixup does the lookup (section 3) */
	/* A fault in user mode is the process's own; the exception table covers kernel code. */
	if (tf->cs & 3)
		return false;
	return extable_fixup(tf);
	/* LAB 3 STUB
	return false;
	LAB 3 END */
}

void uaccess_init_cpu(void)
{
	/* LAB 3 BEGIN step 3: SMEP and SMAP in CR4 (only if CPUID has them), WP in CR0 (section 3) */
	uint64_t cr4 = read_cr4();

	/* Setting a CR4 bit the CPU lacks hangs TCG: ask CPUID first. */
	if (cpu_has_smep())
		cr4 |= CR4_SMEP;
	if (cpu_has_smap())
		cr4 |= CR4_SMAP;
	write_cr4(cr4);
	/* Without WP the kernel writes through read-only user mappings. */
	write_cr0(read_cr0() | CR0_WP);
	/* LAB 3 STUB
	LAB 3 END */
}

void uaccess_init(void)
{
	extable_init();
	/* LAB 3 BEGIN step 3: register uaccess_fault_handler for every fault a bad user pointer can raise (section 3) */
	trap_register_fault_handler(T_PGFLT, uaccess_fault_handler);
	/* Non-canonical pointers fault with #GP rather than #PF. */
	trap_register_fault_handler(T_GPFLT, uaccess_fault_handler);
	/* LAB 3 STUB
	LAB 3 END */
	uaccess_init_cpu();
}
