/*
 * Segments. The layout is fixed by SYSCALL/SYSRET (lab 3): STAR[63:48] =
 * 0x10 makes SYSRET load SS = 0x18|3 and CS = 0x20|3.
 */
#ifndef KERN_GDT_H
#define KERN_GDT_H

#define GDT_KCODE 0x08
#define GDT_KDATA 0x10
#define GDT_UDATA 0x18
#define GDT_UCODE 0x20
#define GDT_TSS 0x28

#define IST_DOUBLE_FAULT 1

#ifndef __ASSEMBLER__
#include "lib/types.h"

/*
 * gdt_init_cpu - load this CPU's GDT and TSS (with its double-fault stack).
 * Call once per CPU, early, with interrupts off.
 */
void gdt_init_cpu(int cpu);

/* tss_set_kernel_stack - stack the CPU switches to on a trap from ring 3. */
void tss_set_kernel_stack(int cpu, uint64_t rsp0);
#endif

#endif
