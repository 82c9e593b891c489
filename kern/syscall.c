/*
 * System calls: the MSR setup for `syscall`, the dispatcher, and the calls
 * themselves. Every user pointer goes through kern/uaccess.h; nothing here
 * dereferences one. Calls run with interrupts off on the process's kernel
 * stack (kern/proc.c).
 */
#include "kern/aspace.h"
#include "kern/bootinfo.h"
#include "kern/console.h"
#include "kern/extable.h"
#include "kern/frame.h"
#include "kern/gdt.h"
#include "kern/percpu.h"
#include "kern/proc.h"
#include "kern/syscall.h"
#include "kern/trap.h"
#include "kern/uaccess.h"
#include "kern/x86.h"
#include "lib/errno.h"
#include "lib/string.h"

/* Bounce buffer size for write and read: the copies go through it in chunks. */
#define CHUNK 256
/* Largest SYS_MMAP, so a user program cannot take every frame in one call. */
#define MMAP_MAX (64UL << 20)
#define RFLAGS_TF (1UL << 8)
#define RFLAGS_DF (1UL << 10)

static struct {
	volatile uint64_t syscalls, bytes_from_user, bytes_to_user, efaults;
} counters;

void syscall_entry(void);

void syscall_init_cpu(void)
{
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
	/*
	 * syscall loads CS = STAR[47:32] and SS = that + 8; sysret loads
	 * SS = STAR[63:48] + 8 and CS = STAR[63:48] + 16, RPL 3 (kern/gdt.h).
	 */
	wrmsr(MSR_STAR, ((uint64_t)(GDT_UDATA - 8) << 48) | ((uint64_t)GDT_KCODE << 32));
	wrmsr(MSR_LSTAR, (uint64_t)syscall_entry);
	/* Cleared on entry: no interrupts, no user-chosen AC (SMAP), DF or TF. */
	wrmsr(MSR_SFMASK, RFLAGS_IF | RFLAGS_AC | RFLAGS_DF | RFLAGS_TF);
}

void syscall_set_kernel_stack(uint64_t rsp0)
{
	this_cpu()->syscall_rsp0 = rsp0;
	tss_set_kernel_stack(cpu_id(), rsp0);
}

void syscall_stats(struct ustats *st)
{
	st->syscalls = counters.syscalls;
	st->fixups = extable_fixups();
	st->bytes_from_user = counters.bytes_from_user;
	st->bytes_to_user = counters.bytes_to_user;
	st->efaults = counters.efaults;
	st->free_frames = frame_free_count();
}

/* ---- write ------------------------------------------------------------- */

static bool console_at_line_start = true;

/*
 * User output goes to the console with every line prefixed, so that no
 * user program (or a copy gone wrong) can print a protocol line.
 */
static void console_emit(const char *buf, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;

		if (console_at_line_start)
			kprintf("user| ");
		while (j < n && buf[j] != '\n')
			j++;
		if (j < n)
			j++; /* include the newline */
		kprintf("%.*s", (int)(j - i), buf + i);
		console_at_line_start = buf[j - 1] == '\n';
		i = j;
	}
}

/*
 * rw_length - the bytes a read or write of len at buf may move: -EFAULT at
 * once for a range that is not user memory (as Linux's vfs_read/vfs_write),
 * else len capped at SYSCALL_RW_MAX.
 */
static long rw_length(const void __user *buf, size_t len)
{
	if (!access_ok(buf, len))
		return -EFAULT;
	return (long)MIN(len, SYSCALL_RW_MAX);
}

static long sys_write(int fd, const char __user *buf, size_t len)
{
	char kbuf[CHUNK];
	size_t done = 0;
	long n = rw_length(buf, len);

	if (fd != FD_STDOUT && fd != FD_STDERR && fd != FD_NULL)
		return -EBADF;
	if (n <= 0)
		return n;
	len = (size_t)n;
	while (done < len) {
		size_t chunk = MIN(len - done, sizeof(kbuf));
		size_t got = chunk - copy_from_user(kbuf, buf + done, chunk);

		counters.bytes_from_user += got;
		if (fd != FD_NULL)
			console_emit(kbuf, got);
		done += got;
		if (got < chunk)
			break;
	}
	/* A fault after some bytes is a short write; before any, an error. */
	return done ? (long)done : -EFAULT;
}

/* ---- read -------------------------------------------------------------- */

static long sys_read(int fd, char __user *buf, size_t len)
{
	char kbuf[CHUNK];
	size_t done = 0;
	long n = rw_length(buf, len);

	if (fd != FD_SOURCE && fd != FD_NULL)
		return -EBADF;
	if (n <= 0)
		return n;
	len = (size_t)n;
	while (done < len) {
		size_t chunk = MIN(len - done, sizeof(kbuf)), got;

		for (size_t i = 0; i < chunk; i++)
			kbuf[i] = fd == FD_SOURCE ? (char)syscall_source_byte(done + i) : 0;
		got = chunk - copy_to_user(buf + done, kbuf, chunk);
		counters.bytes_to_user += got;
		done += got;
		if (got < chunk)
			break;
	}
	return done ? (long)done : -EFAULT;
}

/* ---- stat -------------------------------------------------------------- */

/* A module matches "<name>" or "/boot/user/<name>". */
static int find_module(const char *path)
{
	static const char prefix[] = "/boot/user/";

	if (strncmp(path, prefix, sizeof(prefix) - 1) == 0)
		path += sizeof(prefix) - 1;
	return proc_find_module(path);
}

static long sys_stat(const char __user *path, struct ustat __user *out)
{
	char kpath[SYSCALL_PATH_MAX];
	struct ustat st;
	long len = strncpy_from_user(kpath, path, sizeof(kpath));
	int i;

	if (len < 0)
		return len;
	if (len == (long)sizeof(kpath))
		return -ENAMETOOLONG;
	counters.bytes_from_user += (uint64_t)len + 1;
	i = find_module(kpath);
	if (i < 0)
		return i;
	st.size = boot_info.modules[i].end - boot_info.modules[i].start;
	st.index = (uint64_t)i;
	if (copy_to_user(out, &st, sizeof(st)))
		return -EFAULT;
	counters.bytes_to_user += sizeof(st);
	return 0;
}

/* ---- stats ------------------------------------------------------------- */

static long sys_stats(struct ustats __user *out)
{
	struct ustats st;

	syscall_stats(&st);
	if (copy_to_user(out, &st, sizeof(st)))
		return -EFAULT;
	counters.bytes_to_user += sizeof(st);
	return 0;
}

/* ---- memory ------------------------------------------------------------ */

/* A page-aligned, non-empty range of the user range (the guard page excluded). */
static bool user_range_ok(uint64_t va, uint64_t len)
{
	return IS_ALIGNED(va, PAGE_SIZE) && IS_ALIGNED(len, PAGE_SIZE) && len > 0 &&
	       len <= MMAP_MAX && va >= PAGE_SIZE && va < USER_MAX && len <= USER_MAX - va;
}

static unsigned user_prot(uint64_t prot)
{
	return AS_USER | (prot & PROT_WRITE ? AS_WRITE : 0);
}

static long sys_mmap(uint64_t va, uint64_t len, uint64_t prot)
{
	struct aspace *as = &proc_current()->as;

	if (!user_range_ok(va, len) || (prot & ~(uint64_t)(PROT_WRITE | PROT_RESERVE)))
		return -EINVAL;
	if (prot & PROT_RESERVE)
		return aspace_reserve(as, va, len, user_prot(prot));
	return aspace_alloc(as, va, len, user_prot(prot));
}

static long sys_munmap(uint64_t va, uint64_t len)
{
	if (!user_range_ok(va, len))
		return -EINVAL;
	return aspace_unmap(&proc_current()->as, va, len);
}

static long sys_mprotect(uint64_t va, uint64_t len, uint64_t prot)
{
	if (!user_range_ok(va, len) || (prot & ~(uint64_t)PROT_WRITE))
		return -EINVAL;
	return aspace_protect(&proc_current()->as, va, len, user_prot(prot));
}

/* ---- dispatch ---------------------------------------------------------- */

static long do_syscall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
	switch (nr) {
	case SYS_EXIT:
		proc_exit((int)a0);
	case SYS_WRITE:
		return sys_write((int)a0, (const char __user *)a1, a2);
	case SYS_READ:
		return sys_read((int)a0, (char __user *)a1, a2);
	case SYS_STAT:
		return sys_stat((const char __user *)a0, (struct ustat __user *)a1);
	case SYS_STATS:
		return sys_stats((struct ustats __user *)a0);
	case SYS_MMAP:
		return sys_mmap(a0, a1, a2);
	case SYS_MUNMAP:
		return sys_munmap(a0, a1);
	case SYS_MPROTECT:
		return sys_mprotect(a0, a1, a2);
	default:
		return -ENOSYS;
	}
}

void syscall_dispatch(struct trapframe *tf)
{
	long r;

	counters.syscalls++;
	r = do_syscall(tf->rax, tf->rdi, tf->rsi, tf->rdx);
	if (r == -EFAULT)
		counters.efaults++;
	tf->rax = (uint64_t)r;
}
