/*
 * The kernel's memory layout. Every table the boot code builds and every
 * fixed virtual region is described here, because lab 1 walks these tables
 * and later labs change them.
 *
 * Virtual layout (48-bit, 4-level paging):
 *
 *   0x0000000000000000 .. 0x00007fffffffffff  user half (PML4 0..255)
 *   0xffff800000000000 .. +DMAP_SIZE           direct map of physical memory
 *                                              (PML4 256), 2 MiB pages, global
 *   0xffffc00000000000 .. +KMAP_SIZE           kernel mappings (KMAP_BASE,
 *                                              PML4 384) by aspace_map on
 *                                              aspace_kernel(); its upper half
 *                                              is the lab-2 tests' own
 *   0xffffffff80000000 .. +1 GiB               kernel image (PML4 511, PDPT 510),
 *                                              2 MiB pages, global
 *
 * Boot tables (kern/boot.S, all in .data, physical = virtual - KERNBASE):
 *   boot_pml4[0]   -> boot_pdpt_dmap  identity map, removed by kvm_init()
 *   boot_pml4[256] -> boot_pdpt_dmap  direct map: PDPT 0..3 -> boot_pd_dmap[0..3]
 *   boot_pml4[511] -> boot_pdpt_kern  PDPT 510 -> boot_pd_kern (first 1 GiB)
 * The 2 MiB leaves are P|W|PS|G; the kernel image is not split into 4 KiB
 * pages, so kernel text is writable and data executable (NX is enabled in
 * EFER for the tables that labs build).
 */
#ifndef KERN_MM_H
#define KERN_MM_H

#define KERNBASE 0xffffffff80000000UL
#define KERNEL_LOAD_PA 0x100000UL
#define USER_TOP 0x0000800000000000UL
/* The first upper-half address: the kernel half is PML4 entries 256..511. */
#define KERNEL_HALF 0xffff800000000000UL
/* The direct map starts the kernel half. */
#define DMAP_BASE KERNEL_HALF
#define DMAP_SIZE (4UL << 30)
#define KMAP_BASE 0xffffc00000000000UL
#define KMAP_SIZE (1UL << 39)

#define PAGE_SHIFT 12
#define PAGE_SIZE 4096UL
#define HUGE_2M (1UL << 21)
#define HUGE_1G (1UL << 30)

#ifndef __ASSEMBLER__
#include "lib/types.h"

typedef uint64_t paddr_t;

/* pa2kva - kernel pointer to physical address pa, through the direct map. */
static inline void *pa2kva(paddr_t pa)
{
	return (void *)(pa + DMAP_BASE);
}

/*
 * kva2pa - physical address of a direct-map or kernel-image pointer.
 * Any other address is a bug and panics.
 */
paddr_t kva2pa(const void *kva);

/* Linker-provided bounds of the kernel image (virtual). */
extern char __kernel_start[], __text_end[], __kernel_end[];
extern char __data_start[], __bss_start[];
/* Boot page tables (virtual addresses of the tables themselves). */
extern uint64_t boot_pml4[512], boot_pdpt_dmap[512], boot_pdpt_kern[512];
extern uint64_t boot_pd_dmap[4][512], boot_pd_kern[512];
extern char boot_stack_top[];
#endif

#endif
