/*
 * Boot: GRUB enters _start in 32-bit protected mode with paging off,
 * EAX = Multiboot2 magic, EBX = physical address of the information block.
 * We switch to long mode on statically built page tables (see kern/mm.h)
 * and jump to kmain() in the higher half.
 */
#include "kern/mm.h"
#include "kern/x86.h"

#define MB2_MAGIC 0xe85250d6
#define MB2_BOOT_MAGIC 0x36d76289
#define PHYS(x) ((x) - KERNBASE)
#define PTE_P 0x1
#define PTE_W 0x2
#define PTE_PS 0x80
#define PTE_G 0x100
#define QEMU_EXIT_PORT 0xf4
#define EXIT_PANIC 0x12

	.section .multiboot2, "a"
	.balign 8
mb2_header:
	.long MB2_MAGIC
	.long 0				/* architecture: i386 protected mode */
	.long mb2_header_end - mb2_header
	.long -(MB2_MAGIC + 0 + (mb2_header_end - mb2_header))
	/* Entry address tag: the ELF entry is a higher-half address GRUB
	 * cannot jump to, so give it the physical one. */
	.balign 8
	.short 3, 0
	.long 12
	.long PHYS(_start)
	.balign 8
	.short 0, 0			/* end tag */
	.long 8
mb2_header_end:

	.section .text.boot, "ax"
	.code32
	.globl _start
_start:
	cli
	cld
	mov %eax, %edi
	mov %ebx, %esi
	cmp $MB2_BOOT_MAGIC, %eax
	jne not_multiboot2

	/* Long mode (CPUID 0x80000001 EDX bit 29) and NX (bit 20). */
	mov $0x80000000, %eax
	cpuid
	cmp $0x80000001, %eax
	jb no_long_mode
	mov $0x80000001, %eax
	cpuid
	bt $29, %edx
	jnc no_long_mode
	bt $20, %edx
	jnc no_long_mode

	mov $PHYS(boot_pml4), %eax
	mov %eax, %cr3
	mov %cr4, %eax
	or $CR4_PAE, %eax
	mov %eax, %cr4
	mov $MSR_EFER, %ecx
	rdmsr
	or $(EFER_LME | EFER_NXE), %eax
	wrmsr
	mov %cr0, %eax
	or $(CR0_PG | CR0_WP | CR0_PE), %eax
	mov %eax, %cr0

	lgdt PHYS(boot_gdt_desc32)
	ljmp $0x08, $PHYS(long_mode_entry)

/* Early failures: say why on COM1, then exit QEMU with the panic status. */
not_multiboot2:
	mov $PHYS(msg_not_mb2), %ebx
	jmp boot_fail
no_long_mode:
	mov $PHYS(msg_no_lm), %ebx
boot_fail:
	mov $0x3f8, %dx
1:	movb (%ebx), %al
	test %al, %al
	jz 2f
	outb %al, %dx
	inc %ebx
	jmp 1b
2:	mov $QEMU_EXIT_PORT, %dx
	mov $EXIT_PANIC, %eax
	outl %eax, %dx
3:	hlt
	jmp 3b

	.code64
long_mode_entry:
	movabs $higher_half, %rax
	jmp *%rax

	.text
	.type higher_half, @function
higher_half:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	xor %ax, %ax
	mov %ax, %fs
	mov %ax, %gs
	movabs $boot_stack_top, %rsp
	xor %ebp, %ebp			/* terminates backtraces */
	mov %edi, %edi			/* upper halves are undefined after the switch */
	mov %esi, %esi
	call kmain
4:	cli
	hlt
	jmp 4b
	.size higher_half, . - higher_half

	.section .rodata
msg_not_mb2:
	.asciz "pagoda: boot: not started by a Multiboot2 loader (need GRUB multiboot2)\n"
msg_no_lm:
	.asciz "pagoda: boot: this CPU lacks long mode or NX (use -cpu max)\n"

	.balign 8
boot_gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* 0x08: 64-bit code */
	.quad 0x00cf92000000ffff	/* 0x10: data */
boot_gdt_end:
boot_gdt_desc32:
	.short boot_gdt_end - boot_gdt - 1
	.long PHYS(boot_gdt)

	.section .data.pagetables, "aw"
	.balign 4096
	.globl boot_pml4, boot_pdpt_dmap, boot_pdpt_kern, boot_pd_dmap, boot_pd_kern
boot_pml4:
	.quad PHYS(boot_pdpt_dmap) + (PTE_P | PTE_W)	/* identity, removed later */
	.fill 255, 8, 0
	.quad PHYS(boot_pdpt_dmap) + (PTE_P | PTE_W)	/* DMAP_BASE */
	.fill 254, 8, 0
	.quad PHYS(boot_pdpt_kern) + (PTE_P | PTE_W)	/* KERNBASE */

boot_pdpt_dmap:
	.quad PHYS(boot_pd_dmap) + (PTE_P | PTE_W)
	.quad PHYS(boot_pd_dmap) + 4096 + (PTE_P | PTE_W)
	.quad PHYS(boot_pd_dmap) + 8192 + (PTE_P | PTE_W)
	.quad PHYS(boot_pd_dmap) + 12288 + (PTE_P | PTE_W)
	.fill 508, 8, 0

boot_pdpt_kern:
	.fill 510, 8, 0
	.quad PHYS(boot_pd_kern) + (PTE_P | PTE_W)
	.quad 0

boot_pd_dmap:
	.set i, 0
	.rept 2048
	.quad (i << 21) + (PTE_P | PTE_W | PTE_PS | PTE_G)
	.set i, i + 1
	.endr

boot_pd_kern:
	.set i, 0
	.rept 512
	.quad (i << 21) + (PTE_P | PTE_W | PTE_PS | PTE_G)
	.set i, i + 1
	.endr

	.bss
	.balign 4096
	.globl boot_stack_top
boot_stack:
	.skip 16384
boot_stack_top:
