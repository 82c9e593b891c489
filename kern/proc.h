/*
 * Minimal user processes (lab 3): a program from a Multiboot2 module (GRUB's
 * `module2 /boot/user/<prog> <prog>`), loaded into a fresh address space and
 * run in ring 3 until it exits or faults. One process at a time per CPU;
 * proc_run() blocks until it is over, so a test can check the result.
 *
 * A process's address space: the ELF segments (user/user.ld links at
 * USER_BASE), a stack of PROC_STACK_SIZE bytes ending at USER_MAX (the top
 * page of the user half stays an unmapped guard), demand-zero except its top
 * page, which holds argv. At entry RDI = argc, RSI = argv, and RSP is 16-byte
 * aligned.
 */
#ifndef KERN_PROC_H
#define KERN_PROC_H

#include "kern/aspace.h"
#include "kern/setjmp.h"

#define PROC_STACK_SIZE (1UL << 20)
#define PROC_STACK_TOP (USER_TOP - PAGE_SIZE)
#define PROC_MAX_ARGS 16
#define PROC_CMDLINE_MAX 256
/* Exit status of a process killed by exception `vector` (a shell's 128 + signal). */
#define PROC_KILLED_STATUS(vector) (128 + (vector))

struct proc {
	char name[32];
	struct aspace as;
	int status;
	bool killed;		 /* ended by an exception, not by exit() */
	int kill_vector;	 /* the exception, when killed */
	uint64_t kill_addr;	 /* CR2 of a fatal #PF */
	uint64_t kill_rip;
	struct jmp_buf exit_env; /* where proc_run waits for the end */
};

/* How a process ended. */
struct proc_result {
	int status; /* exit() argument, or PROC_KILLED_STATUS(vector) */
	bool killed;
	int vector;
	uint64_t addr, rip;
};

/*
 * proc_init - register the handler that kills a process on an exception in
 * ring 3 (after the demand-zero handler had its chance). Once, at boot.
 */
void proc_init(void);

/*
 * proc_run - run "prog arg..." (words separated by spaces; prog names a boot
 * module) in a new process on this CPU and wait until it exits or is killed.
 * Returns 0 with *res filled, -ENOENT (no such program), -ENOEXEC (a bad
 * ELF file), -E2BIG (too many or too long arguments) or -ENOMEM. The
 * process's space is destroyed before it returns (no frame stays used).
 * Interrupts off; the caller's address space is active again afterwards.
 */
int proc_run(const char *cmdline, struct proc_result *res);

/* proc_current - this CPU's running process (in a system call), or NULL. */
struct proc *proc_current(void);

/* proc_exit - end the current process with status; from a system call. */
void proc_exit(int status) __noreturn;

/*
 * proc_find_module - the index of the boot module called name, or -ENOENT.
 */
int proc_find_module(const char *name);

/*
 * proc_run_from_cmdline - run the program that the kernel command line's
 * run= names: everything after "run=" to the end of the line is the program
 * and its arguments (so run= comes last). An argument list longer than
 * PROC_CMDLINE_MAX - 1 bytes is refused with E2BIG, never cut. Prints how it
 * ended and exits QEMU: EXIT_HALTED when the program ran (its status is its
 * own), EXIT_TESTS_FAILED when it could not be run. Does not return.
 */
void proc_run_from_cmdline(const char *cmdline) __noreturn;

#endif
