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
 * PERCPU_SYSCALL_RSP0 and PERCPU_SYSCALL_USER_RSP are offsets into struct
 * percpu, defined as absolute symbols by kern/syscall.c.
 */
#include "kern/gdt.h"

#define SYSCALL_VECTOR 256	/* trapframe.vector of a system call (no IDT vector) */
#define TF_RIP 136		/* offsets in struct trapframe */
#define TF_CS 144

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
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	xor %ebp, %ebp			/* backtraces stop here */
	mov %rsp, %rdi
	call syscall_dispatch

	/* sysret only to a user code segment at a lower-half address. */
	movq TF_RIP(%rsp), %r11
	shrq $47, %r11
	jnz 1f
	cmpq $(GDT_UCODE | 3), TF_CS(%rsp)
	jne 1f
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	addq $8, %rsp			/* r11: RFLAGS below */
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	addq $8, %rsp			/* rcx: RIP below */
	popq %rbx
	popq %rax
	/* Now: vector, error, rip, cs, rflags, rsp, ss. */
	movq 16(%rsp), %rcx
	movq 32(%rsp), %r11
	movq 40(%rsp), %rsp
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
