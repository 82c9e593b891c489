/*
 * The system-call interface between user programs (user/) and the kernel.
 * This header is the ABI: user programs include it too, so it needs nothing
 * but lib/types.h.
 *
 * Calling convention (Linux's): the `syscall` instruction with the number in
 * RAX and arguments in RDI, RSI, RDX, R10, R8, R9; the result comes back in
 * RAX, a negative errno (lib/errno.h) on failure. The CPU itself overwrites
 * RCX (return address) and R11 (RFLAGS); every other register is preserved.
 *
 * File descriptors: there is no file system. fd 0 is a kernel-side test
 * source (read returns the bytes of syscall_source_byte()), fd 1 and 2 are
 * the console, fd 3 is a sink that copies what it is given and drops it
 * (write) and reads as zeros (read).
 */
#ifndef KERN_SYSCALL_H
#define KERN_SYSCALL_H

#include "lib/types.h"

enum syscall_nr {
	SYS_EXIT = 0,	/* exit(status): never returns */
	SYS_WRITE = 1,	/* write(fd, buf, len) -> bytes written or -errno */
	SYS_READ = 2,	/* read(fd, buf, len) -> bytes read or -errno */
	SYS_STAT = 3,	/* stat(path, struct ustat *) -> 0 or -errno */
	SYS_STATS = 4,	/* stats(struct ustats *) -> 0 or -errno */
	SYS_MMAP = 5,	/* mmap(va, len, prot) -> 0 or -errno */
	SYS_MUNMAP = 6, /* munmap(va, len) -> 0 or -errno */
	SYS_MPROTECT = 7, /* mprotect(va, len, prot) -> 0 or -errno */
	NSYSCALLS
};

#define FD_SOURCE 0
#define FD_STDOUT 1
#define FD_STDERR 2
#define FD_NULL 3

/* prot bits of SYS_MMAP and SYS_MPROTECT. */
#define PROT_WRITE 0x1
#define PROT_RESERVE 0x2 /* mmap only: demand-zero, no frame until first touch */

/* Longest path SYS_STAT accepts, NUL included (longer: -ENAMETOOLONG). */
#define SYSCALL_PATH_MAX 64
/* write and read move at most this much per call (like Linux's MAX_RW_COUNT). */
#define SYSCALL_RW_MAX (1UL << 20)

/* What SYS_STAT reports about a boot module ("/boot/user/<name>" or "<name>"). */
struct ustat {
	uint64_t size;	/* bytes */
	uint64_t index; /* position among the Multiboot2 modules */
};

/*
 * Counters since boot (SYS_STATS), so a test can prove which path a call
 * took: a bad pointer that reached the copy shows up as a fixup, one that
 * access_ok refused does not.
 */
struct ustats {
	uint64_t syscalls;	  /* system calls entered */
	uint64_t fixups;	  /* exception-table fixups taken (kernel mode) */
	uint64_t bytes_from_user; /* bytes copy_from_user/strncpy_from_user delivered */
	uint64_t bytes_to_user;	  /* bytes copy_to_user delivered */
	uint64_t efaults;	  /* system calls that returned -EFAULT */
	uint64_t free_frames;	  /* free physical frames right now */
};

/* syscall_source_byte - byte i of every read from FD_SOURCE. */
static inline uint8_t syscall_source_byte(uint64_t i)
{
	return (uint8_t)('a' + i % 26);
}

#ifndef PAGODA_USER /* user programs are built with -DPAGODA_USER */
struct trapframe;

/*
 * syscall_init_cpu - program this CPU's SYSCALL MSRs (EFER.SCE, STAR, LSTAR,
 * SFMASK). Each CPU, after percpu_init and gdt_init_cpu.
 */
void syscall_init_cpu(void);

/*
 * syscall_set_kernel_stack - the stack this CPU switches to on a system call
 * or a trap from ring 3 (also the TSS's RSP0).
 */
void syscall_set_kernel_stack(uint64_t rsp0);

/* syscall_dispatch - run the call in tf (from kern/syscall_entry.S); result in tf->rax. */
void syscall_dispatch(struct trapframe *tf);

/* syscall_stats - the counters SYS_STATS returns. */
void syscall_stats(struct ustats *st);
#endif

#endif
