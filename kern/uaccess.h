/*
 * Reading and writing user memory from the kernel (lab 3).
 *
 * A pointer that a system call receives from user space is untrusted: it may
 * be NULL, point into the kernel, be non-canonical, point at an unmapped or
 * read-only page, or make `ptr + len` wrap around. The kernel touches user
 * memory only through the functions below; every other dereference of a user
 * pointer faults, because SMAP is on (kern/uaccess.c).
 *
 * Conventions (the same as Linux's):
 *   copy_from_user/copy_to_user return the number of bytes NOT copied, so 0
 *   means success. strncpy_from_user returns a length or -EFAULT.
 *   A size over UACCESS_SIZE_MAX (INT_MAX) is refused before anything is
 *   touched: the copy returns n, reads nothing, writes nothing, zeroes
 *   nothing (Linux's check_copy_size). Such a size is a kernel bug, typically
 *   a negative length cast to size_t; zeroing n bytes of dst for it would
 *   wipe the kernel.
 *
 * The user range is [0, USER_MAX): the top page of the user half is a guard
 * page that is never mapped, so no user object ends at the canonical limit.
 */
#ifndef KERN_UACCESS_H
#define KERN_UACCESS_H

#include "kern/cpu.h"
#include "kern/mm.h"

/* Marks a pointer that comes from user space (documentation only). */
#define __user

/* End of the user range: the first byte of the guard page at the top of the user half. */
#define USER_MAX (USER_TOP - PAGE_SIZE)

struct trapframe;

/* The largest size copy_from_user/copy_to_user accept: INT_MAX, as in Linux. */
#define UACCESS_SIZE_MAX 0x7fffffffUL

/*
 * copy_size_ok - whether n is a size the copy routines accept. The check is
 * given code at the top of copy_from_user and copy_to_user, outside lab 3's
 * regions, so that every solution refuses a huge size the same way.
 */
static inline bool copy_size_ok(size_t n)
{
	return n <= UACCESS_SIZE_MAX;
}

/*
 * access_ok - whether [ptr, ptr + len) lies wholly in the user range
 * [0, USER_MAX), without wrapping around. It says nothing about whether the
 * pages are mapped: the copy finds that out by faulting. len 0 is fine for
 * any ptr <= USER_MAX.
 */
bool access_ok(const void __user *ptr, size_t len);

/*
 * copy_from_user - copy n bytes from user address src to kernel buffer dst.
 * Returns the number of bytes not copied (0 on success). The first n - ret
 * bytes of dst hold the user's bytes and the ret bytes after them are zeroed,
 * so dst never keeps stale kernel data. When access_ok fails, nothing is read
 * and all n bytes are zeroed. Never writes past dst + n. When n is over
 * UACCESS_SIZE_MAX it returns n at once and dst is NOT zeroed: nothing at
 * all is touched.
 */
size_t copy_from_user(void *dst, const void __user *src, size_t n);

/*
 * copy_to_user - copy n bytes from kernel buffer src to user address dst.
 * Returns the number of bytes not copied (0 on success); the first n - ret
 * bytes reached user memory. Never writes past dst + n. A read-only user page
 * is not writable by the kernel either (CR0.WP). When n is over
 * UACCESS_SIZE_MAX it returns n at once without touching user memory.
 */
size_t copy_to_user(void __user *dst, const void *src, size_t n);

/*
 * strncpy_from_user - copy a NUL-terminated string of at most count bytes
 * (NUL included) from user address src to dst. Returns the string's length
 * without the NUL when a NUL was found (dst then holds it, NUL included);
 * count when the first count bytes hold no NUL (dst is then not terminated);
 * -EFAULT when a fault happened or the string ran into the end of the user
 * range before a NUL (dst's contents are then unspecified); 0 for count <= 0.
 * A string that is readable up to its NUL is valid however close the NUL is
 * to an unmapped page: a copy that reads wider units must redo the faulting
 * unit bytewise rather than fail (taking a fixup on the way is allowed).
 */
long strncpy_from_user(char *dst, const char __user *src, long count);

/*
 * uaccess_fault_handler - the exception-table handler for #PF and #GP: a
 * fault in kernel mode at an instruction with an exception-table entry
 * resumes at its fixup. Returns true when it redirected tf.
 */
bool uaccess_fault_handler(struct trapframe *tf);

/*
 * uaccess_init - sort the exception table, register uaccess_fault_handler,
 * and protect this CPU (uaccess_init_cpu). Once on the BSP, after
 * trap_init() and after the demand-zero fault handler is registered (a
 * demand-zero page must be filled before a copy's fault counts as bad).
 */
void uaccess_init(void);

/*
 * uaccess_init_cpu - on this CPU, turn on SMEP and SMAP (when CPUID has them)
 * and make sure CR0.WP is set. Only the BSP calls it (from uaccess_init):
 * smp_init runs after uaccess_init, and each application processor loads
 * the BSP's CR0 and CR4 when it starts (smp_ap_entry), so it gets the same
 * protections without calling this.
 */
void uaccess_init_cpu(void);

/* The low-level copy routines of kern/uaccess_asm.S (no access_ok check). */
size_t __uaccess_copy(void *dst, const void *src, size_t n);
long __uaccess_strncpy(char *dst, const char *src, size_t max);

/*
 * user_access_begin/end - allow (stac) and forbid again (clac) kernel access
 * to user pages, for test code that must look at user memory directly. A
 * no-op on CPUs without SMAP. Keep such windows to a few instructions.
 */
static inline void user_access_begin(void)
{
	if (cpu_has_smap())
		asm volatile("stac" ::: "memory");
}

static inline void user_access_end(void)
{
	if (cpu_has_smap())
		asm volatile("clac" ::: "memory");
}

#endif
