/*
 * Interrupt and exception entry. Each vector's stub pushes a zero error code
 * when the CPU did not push one, then its vector number, and joins
 * trap_common, which saves the registers as a struct trapframe (kern/trap.h)
 * and calls trap(). CFI lets GDB unwind from trap() into the interrupted code.
 */
#include "kern/gdt.h"

	.cfi_sections .debug_frame

#define HAS_ERROR(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || \
		      (v) == 21 || (v) == 29 || (v) == 30)

	.text
	.balign 16
	.globl trap_stubs
trap_stubs:
	.set v, 0
	.rept 256
	.balign 16
	.if !HAS_ERROR(v)
	pushq $0
	.endif
	pushq $v
	jmp trap_common
	.set v, v + 1
	.endr

	.globl trap_common
	.type trap_common, @function
trap_common:
	.cfi_startproc simple
	.cfi_signal_frame
	/* Here: vector, error, rip, cs, rflags, rsp, ss. CFA = above ss. */
	.cfi_def_cfa rsp, 56
	.cfi_offset rip, -40
	.cfi_offset rsp, -16
	testb $3, 24(%rsp)		/* from ring 3: switch to the kernel GS */
	jz 1f
	swapgs
1:	pushq %rax
	.cfi_adjust_cfa_offset 8
	pushq %rbx
	.cfi_adjust_cfa_offset 8
	pushq %rcx
	.cfi_adjust_cfa_offset 8
	pushq %rdx
	.cfi_adjust_cfa_offset 8
	pushq %rsi
	.cfi_adjust_cfa_offset 8
	pushq %rdi
	.cfi_adjust_cfa_offset 8
	pushq %rbp
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset rbp, 0
	pushq %r8
	.cfi_adjust_cfa_offset 8
	pushq %r9
	.cfi_adjust_cfa_offset 8
	pushq %r10
	.cfi_adjust_cfa_offset 8
	pushq %r11
	.cfi_adjust_cfa_offset 8
	pushq %r12
	.cfi_adjust_cfa_offset 8
	pushq %r13
	.cfi_adjust_cfa_offset 8
	pushq %r14
	.cfi_adjust_cfa_offset 8
	pushq %r15
	.cfi_adjust_cfa_offset 8
	cld
	mov %rsp, %rdi
	call trap
	.globl trap_return
trap_return:
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp			/* vector and error code */
	testb $3, 8(%rsp)
	jz 2f
	swapgs
2:	iretq
	.cfi_endproc
	.size trap_common, . - trap_common
