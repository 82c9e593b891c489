/*
 * Interrupt and exception entry. Each vector's stub pushes a zero error code
 * when the CPU did not push one, then its vector number, and joins
 * trap_common, which saves the registers as a struct trapframe (PUSH_REGS,
 * kern/trap.h) and calls trap(). CFI lets GDB unwind from trap() into the interrupted code.
 */
#include "kern/gdt.h"
#include "kern/trap.h"

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
	.cfi_def_cfa rsp, TF_SIZE - TF_VECTOR
	.cfi_offset rip, TF_RIP - TF_SIZE
	.cfi_offset rsp, TF_RSP - TF_SIZE
	testb $3, (TF_CS - TF_VECTOR)(%rsp)	/* from ring 3: switch to the kernel GS */
	jz 1f
	swapgs
1:	PUSH_REGS cfi=1
	cld
	mov %rsp, %rdi
	call trap
	.globl trap_return
trap_return:
	POP_REGS
	addq $(TF_RIP - TF_VECTOR), %rsp	/* vector and error code */
	testb $3, (TF_CS - TF_RIP)(%rsp)
	jz 2f
	swapgs
2:	iretq
	.cfi_endproc
	.size trap_common, . - trap_common
