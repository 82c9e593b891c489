/*
 * System-call entry and exit. `syscall` arrives here (MSR_LSTAR) in ring 0
 * with RCX = user RIP, R11 = user RFLAGS, RSP still the user's, and RFLAGS
 * masked by MSR_SFMASK (IF, AC, DF and TF clear: no interrupts, and SMAP
 * enforced from the first instruction). We switch to the per-CPU kernel
 * stack, build a struct trapframe (kern/trap.h) like an exception would, and
 * call syscall_dispatch().
 *
 * The way back is sysret when it is safe and iretq (trap_return) otherwise.
 * sysret with a non-canonical RCX raises #GP in ring 0 with the user's RSP
 * already loaded on Intel CPUs, a classic privilege-escalation bug, so we
 * take it only when the return address lies in the lower canonical half.
 *
 * PERCPU_SYSCALL_RSP0, PERCPU_SYSCALL_USER_RSP and the TF_* offsets come
 * from the C layouts (generated/asm-offsets.h, made from kern/asm-offsets.c).
 */
#include "kern/gdt.h"
#include "kern/trap.h"

#define SYSCALL_VECTOR 256	/* trapframe.vector of a system call (no IDT vector) */

	.text
	.globl syscall_entry
	.type syscall_entry, @function
syscall_entry:
	swapgs
	movq %rsp, %gs:PERCPU_SYSCALL_USER_RSP
	movq %gs:PERCPU_SYSCALL_RSP0, %rsp
	pushq $(GDT_UDATA | 3)			/* ss */
	pushq %gs:PERCPU_SYSCALL_USER_RSP	/* rsp */
	pushq %r11				/* rflags */
	pushq $(GDT_UCODE | 3)			/* cs */
	pushq %rcx				/* rip */
	pushq $0				/* error */
	pushq $SYSCALL_VECTOR			/* vector */
	PUSH_REGS
	xor %ebp, %ebp			/* backtraces stop here */
	mov %rsp, %rdi
	call syscall_dispatch

	/* sysret only to a user code segment at a lower-half address. */
	movq TF_RIP(%rsp), %r11
	shrq $47, %r11
	jnz 1f
	cmpq $(GDT_UCODE | 3), TF_CS(%rsp)
	jne 1f
	POP_REGS			/* rcx and r11 are reloaded below */
	/* Now: vector, error, rip, cs, rflags, rsp, ss. */
	movq (TF_RIP - TF_VECTOR)(%rsp), %rcx
	movq (TF_RFLAGS - TF_VECTOR)(%rsp), %r11
	movq (TF_RSP - TF_VECTOR)(%rsp), %rsp
	/* From here to sysret nothing can trap: interrupts are off. */
	swapgs
	sysretq
1:	jmp trap_return
	.size syscall_entry, . - syscall_entry

/*
 * void user_enter(struct trapframe *tf) - leave for ring 3 with the
 * registers in tf (on the kernel stack the process's traps will use), by
 * the same iretq path an exception returns through. Does not return.
 */
	.globl user_enter
	.type user_enter, @function
user_enter:
	mov %rdi, %rsp
	jmp trap_return
	.size user_enter, . - user_enter
