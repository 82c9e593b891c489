/*
 * Application-processor start-up code. The BSP copies the bytes between
 * ap_tramp_start and ap_tramp_end to physical TRAMP_PA (kern/smp.h) and
 * fills the parameter block at its end; a STARTUP IPI then starts the AP in
 * real mode at CS:IP = (TRAMP_PA >> 4):0. The code walks the same road as
 * kern/boot.S - protected mode, PAE, long mode - on a temporary PML4 that
 * maps low memory 1:1 (as boot_pml4 did before kvm_init) and the kernel,
 * then calls smp_ap_entry() on the stack the BSP chose.
 *
 * Everything here is position dependent on TRAMP_PA: T(x) is x's address
 * once copied.
 */
#include "kern/gdt.h"
#include "kern/smp.h"
#include "kern/x86.h"

#define T(x) ((x) - ap_tramp_start + TRAMP_PA)

	.section .rodata
	.balign 16
	.globl ap_tramp_start, ap_tramp_end, ap_tramp_params
	.code16
ap_tramp_start:
	cli
	cld
	xorw %ax, %ax
	movw %ax, %ds
	lgdtl T(tramp_gdt_desc)
	movl %cr0, %eax
	orl $CR0_PE, %eax
	movl %eax, %cr0
	ljmpl $0x08, $T(tramp32)

	.code32
tramp32:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl T(tp_cr3), %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $(EFER_LME | EFER_NXE), %eax
	wrmsr
	movl %cr0, %eax
	orl $(CR0_PG | CR0_WP), %eax
	movl %eax, %cr0
	ljmpl $0x18, $T(tramp64)

	.code64
tramp64:
	movq T(tp_stack), %rsp
	movl T(tp_cpu), %edi
	xorl %ebp, %ebp			/* ends backtraces */
	movq T(tp_entry), %rax
	/*
	 * A call, not a jump, although smp_ap_entry() never returns: the ABI
	 * wants rsp + 8 16-byte aligned at a function's entry (tp_stack is
	 * 16-byte aligned), and compilers rely on it. With a jump, clang's
	 * code addressed stack arrays 8 bytes off (an "or" for an "add").
	 */
	call *%rax
	ud2

	.balign 8
tramp_gdt:
	.quad 0
	.quad 0x00cf9a000000ffff	/* 0x08: 32-bit code */
	.quad 0x00cf92000000ffff	/* 0x10: data */
	.quad 0x00af9a000000ffff	/* 0x18: 64-bit code */
tramp_gdt_end:
tramp_gdt_desc:
	.short tramp_gdt_end - tramp_gdt - 1
	.long T(tramp_gdt)

	/* Filled by the BSP for each AP: struct tramp_params (kern/smp.c). */
	.balign 8
ap_tramp_params:
tp_cr3:	.quad 0
tp_stack: .quad 0
tp_entry: .quad 0
tp_cpu:	.quad 0
ap_tramp_end:
