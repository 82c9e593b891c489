/* The kernel's own page tables after boot. */
#ifndef KERN_KVM_H
#define KERN_KVM_H

#include "kern/mm.h"

/*
 * kvm_init - drop the boot identity map and turn on global pages. After it,
 * the only mappings are the direct map and the kernel image (kern/mm.h).
 * Call once on the BSP after everything that reads boot data by physical
 * address has moved to the direct map.
 */
void kvm_init(void);

/* kernel_pml4_pa - physical address of the kernel's PML4 (boot_pml4). */
paddr_t kernel_pml4_pa(void);

/*
 * local_flush_tlb_all - flush every TLB entry on this CPU only, global ones
 * included. Linux's name for the same: the one without "local_" flushes
 * every CPU, which is tlb_shootdown's job here (kern/tlb.h).
 */
void local_flush_tlb_all(void);

#endif
