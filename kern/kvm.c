/*
 * The kernel's own page tables after boot: kva2pa, dropping the boot identity
 * map, the kernel-half PDPTs every address space shares, and flushing this
 * CPU's whole TLB.
 */
#include "kern/frame.h"
#include "kern/kvm.h"
#include "kern/panic.h"
#include "kern/pgtable.h"
#include "kern/x86.h"

paddr_t kva2pa(const void *kva)
{
	uintptr_t va = (uintptr_t)kva;

	if (va >= KERNBASE)
		return va - KERNBASE;
	if (va >= DMAP_BASE && va < DMAP_BASE + DMAP_SIZE)
		return va - DMAP_BASE;
	panic("kva2pa: %#lx is neither a direct-map nor a kernel-image address", va);
}

paddr_t kernel_pml4_pa(void)
{
	return kva2pa(boot_pml4);
}

void local_flush_tlb_all(void)
{
	uint64_t cr4 = read_cr4();

	/* Toggling PGE drops global entries too; a CR3 write alone would not. */
	if (cr4 & CR4_PGE) {
		write_cr4(cr4 & ~CR4_PGE);
		write_cr4(cr4);
	} else {
		write_cr3(read_cr3());
	}
}

/*
 * Give every kernel-half PML4 entry a PDPT now. Each address space copies
 * these 256 entries once, when it is created (aspace_init), so they must
 * never change afterwards: a kernel mapping added later goes below them and
 * is seen by every space.
 */
static void kvm_populate_kernel_half(void)
{
	for (int i = PT_ENTRIES / 2; i < PT_ENTRIES; i++) {
		paddr_t pdpt;

		if (boot_pml4[i] & PTE_P)
			continue;
		pdpt = frame_alloc_zeroed();
		if (!pdpt)
			panic("kvm: no frame for the kernel-half PDPT %d", i);
		boot_pml4[i] = pdpt | PTE_P | PTE_W;
	}
}

void kvm_init(void)
{
	boot_pml4[0] = 0;
	kvm_populate_kernel_half();
	write_cr3(kernel_pml4_pa());
	write_cr4(read_cr4() | CR4_PGE);
}
