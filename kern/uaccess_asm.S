/*
 * Lab 3: the loops that touch user memory. Each instruction that may fault
 * on a user address has an exception-table entry (kern/extable.h), and each
 * runs between stac and clac, the only window in which SMAP lets the kernel
 * reach user pages. Every path out, the fixups included, ends with clac.
 */
#include "kern/extable.h"

/* lib/errno.h is C only; kern/uaccess.c checks that the values agree. */
#define UACCESS_EFAULT 14

	.text

/*
 * size_t __uaccess_copy(void *dst, const void *src, size_t n)
 * Copy n bytes; return the number NOT copied (0 on success). On a fault the
 * bytes before the faulting one have been copied and nothing after it.
 * rdi = dst, rsi = src, rdx = n.
 */
	.globl __uaccess_copy
	.type __uaccess_copy, @function
__uaccess_copy:
	/* LAB 3 BEGIN step 2: rep movsq then rep movsb inside stac/clac; on a fault redo the rest bytewise for an exact count (section 3) */
	stac
	mov %rdx, %rcx
	shr $3, %rcx			/* whole quadwords */
	and $7, %edx			/* then the tail */
1:	rep movsq
	mov %edx, %ecx
2:	rep movsb
	xor %eax, %eax
	clac
	ret
	/*
	 * A quadword faulted: rcx quadwords and the tail are left, and
	 * rsi/rdi point at the quadword that faulted. Some of its bytes may be
	 * good (it may straddle a page boundary), so retry bytewise: the byte
	 * copy then stops exactly at the first bad byte.
	 */
3:	lea (%rdx,%rcx,8), %rcx
	jmp 2b
	/* A byte faulted: rcx bytes are left. */
4:	mov %rcx, %rax
	clac
	ret
	EXTABLE(1b, 3b)
	EXTABLE(2b, 4b)
	/* LAB 3 STUB
	mov %rdx, %rax
	ret
	LAB 3 END */
	.size __uaccess_copy, . - __uaccess_copy

/*
 * long __uaccess_strncpy(char *dst, const char *src, size_t max)
 * Copy bytes up to and including the first NUL, at most max bytes. Return
 * the index of the NUL (the string's length), max if the max bytes held no
 * NUL, or -EFAULT on a fault. rdi = dst, rsi = src, rdx = max.
 */
	.globl __uaccess_strncpy
	.type __uaccess_strncpy, @function
__uaccess_strncpy:
	/* LAB 3 BEGIN step 2: a byte loop inside stac/clac, with a fixup that returns -EFAULT (section 3) */
	xor %eax, %eax
	test %rdx, %rdx
	jz 3f
	stac
1:	movb (%rsi,%rax), %cl
	movb %cl, (%rdi,%rax)
	test %cl, %cl
	jz 2f
	inc %rax
	cmp %rdx, %rax
	jb 1b
2:	clac
3:	ret
4:	clac
	mov $-UACCESS_EFAULT, %rax
	ret
	EXTABLE(1b, 4b)
	/* LAB 3 STUB
	mov $-UACCESS_EFAULT, %rax
	ret
	LAB 3 END */
	.size __uaccess_strncpy, . - __uaccess_strncpy
