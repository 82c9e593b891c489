/*
 * Address spaces (lab 2): map, unmap and protect ranges of virtual memory on
 * top of lab 1's page-table walker, demand-zero pages, and per-process spaces
 * that share the kernel half.
 *
 *   0x0000000000000000 +-------------------------------+ PML4 0
 *                      | user half: private to each    |
 *                      | space, tables freed on unmap  |
 *   0x00007fffffffffff +-------------------------------+ PML4 255
 *                        (non-canonical hole)
 *   0xffff800000000000 +-------------------------------+ PML4 256
 *                      | direct map of physical memory |
 *   KMAP_BASE          | kernel mappings (aspace_kernel)|
 *                      | ...                           |
 *   0xffffffff80000000 | kernel image                  | PML4 511
 *                      +-------------------------------+
 *
 * Every space's PML4 entries 256..511 are copies of the kernel's, made by
 * aspace_init. They never change after boot (kvm_init gives each one a PDPT
 * up front and nothing frees those PDPTs), so a kernel mapping added later
 * below them is seen by every space at once.
 *
 * Ownership: a leaf made by aspace_alloc or by a demand-zero fault owns its
 * frame (AS_PTE_OWNED), and unmapping it frees the frame; a leaf made by
 * aspace_map does not (device memory, frames owned elsewhere). Tables that
 * become empty are freed. Frames and tables are freed only after the TLB
 * flush that removes every translation through them.
 *
 * aspace.c is portable C like kern/pgtable.c: it reaches tables through lab
 * 1's hooks and everything else through the as_* hooks below, implemented by
 * kern/aspace_env.c in the kernel and tests/host/aspace_host.c on the host.
 */
#ifndef KERN_ASPACE_H
#define KERN_ASPACE_H

#include "kern/pgtable.h"
#include "kern/spinlock.h"

/* Protection and attributes of a mapping (the prot argument). */
#define AS_WRITE 0x1 /* writable (every mapping is readable) */
#define AS_EXEC 0x2 /* executable (else NX) */
#define AS_USER 0x4 /* user-accessible: user half only */
#define AS_GLOBAL 0x8 /* global TLB entry (PTE_G): kernel half only */
#define AS_NOCACHE 0x10 /* uncached (PCD|PWT), for device memory */
/*
 * aspace_map only: 1 GiB leaves where va and pa are both 1 GiB aligned and a
 * whole GiB fits (the CPU must have them: cpu_has_1g_pages()). 2 MiB leaves
 * need no asking.
 */
#define AS_HUGE_1G 0x20
/* The bits aspace_protect changes; the others are fixed at map time. */
#define AS_PROT_MASK (AS_WRITE | AS_EXEC | AS_USER)
#define AS_ALL_MASK (AS_PROT_MASK | AS_GLOBAL | AS_NOCACHE | AS_HUGE_1G)

/* Software bits in leaf entries (the MMU ignores them, kern/pgtable.h). */
#define AS_PTE_OWNED (1UL << 9) /* present leaf: the frame belongs to the space */
/*
 * A not-present level-1 entry with AS_PTE_RESERVED is a demand-zero page: its
 * PTE_W, PTE_U and PTE_NX bits hold the protection the page gets when first
 * touched. A not-present entry is otherwise 0.
 */
#define AS_PTE_RESERVED (1UL << 10)

struct aspace {
	paddr_t pml4; /* physical address of the PML4: CR3 while active */
	bool kernel; /* the kernel's space (aspace_kernel): kernel half only */
	struct spinlock lock; /* serializes changes to this space's tables */
	uint64_t lock_flags; /* RFLAGS saved by as_lock */
	uint64_t cpus; /* bit i: CPU i has this space in CR3 (atomic; lab 4) */
};

/*
 * aspace_init - a new space with an empty user half and the kernel half
 * shared with the kernel's space. Returns 0, or -ENOMEM.
 */
int aspace_init(struct aspace *as);

/*
 * aspace_destroy - unmap the whole user half (freeing owned frames and every
 * table), then the PML4. The space must not be active on any CPU. The kernel
 * half is shared and is left alone.
 */
void aspace_destroy(struct aspace *as);

/*
 * Range arguments of the calls below: va and len page-aligned, len > 0, the
 * range inside the space's half (the user half [0, USER_TOP) for a process
 * space; the kernel half for aspace_kernel(), where it may end at 2^64). prot
 * is a set of AS_* bits; AS_USER only in the user half, AS_GLOBAL only in the
 * kernel half. A bad argument changes nothing and returns: -EINVAL for an
 * empty or unaligned range or a bad prot, -EOVERFLOW for a range that wraps
 * around, -EFAULT for one outside the space's half. Each call takes
 * the space's lock; call with no lock held that a fault handler may need.
 */

/*
 * aspace_map - map [va, va + len) to the physical range [pa, pa + len), which
 * the space does not own. Uses 2 MiB pages where va and pa are both 2 MiB
 * aligned and a whole 2 MiB fits, 4 KiB pages elsewhere. pa page-aligned.
 * Returns 0; -EEXIST if any page of the range is mapped or reserved; -ENOMEM
 * when out of frames for tables. On an error nothing is left mapped and no
 * frame stays allocated.
 */
int aspace_map(struct aspace *as, uint64_t va, paddr_t pa, uint64_t len, unsigned prot);

/*
 * aspace_alloc - map [va, va + len) to new zeroed frames that the space owns,
 * in 4 KiB pages. Returns and fails like aspace_map.
 */
int aspace_alloc(struct aspace *as, uint64_t va, uint64_t len, unsigned prot);

/*
 * aspace_reserve - reserve [va, va + len) for demand-zero pages: no frame now;
 * the first access that prot allows gets a zeroed owned frame
 * (aspace_handle_fault). The tables are allocated now. Returns and fails like
 * aspace_map.
 */
int aspace_reserve(struct aspace *as, uint64_t va, uint64_t len, unsigned prot);

/*
 * aspace_unmap - remove every mapping and reservation in [va, va + len);
 * pages not mapped are skipped. A 2 MiB or 1 GiB page that the range covers
 * only in part is split first. Flushes the TLB for the range before freeing
 * owned frames and the tables that became empty. Returns 0, or -ENOMEM when a
 * split needs a table and none is left (then nothing is unmapped).
 */
int aspace_unmap(struct aspace *as, uint64_t va, uint64_t len);

/*
 * aspace_protect - set the AS_PROT_MASK bits of every page in [va, va + len)
 * (mapped or reserved) to prot, splitting large pages the range covers in
 * part, and flush the TLB for the range. prot may hold only AS_PROT_MASK
 * bits. Returns 0; -ENOENT, changing nothing, if a page of the range is
 * neither mapped nor reserved; -ENOMEM when a split finds no frame.
 */
int aspace_protect(struct aspace *as, uint64_t va, uint64_t len, unsigned prot);

/*
 * aspace_translate - pt_translate in this space, under its lock. Returns 0,
 * -ENOENT (reserved pages too: nothing is mapped yet) or -EINVAL.
 */
int aspace_translate(struct aspace *as, uint64_t va, struct pt_translation *t);

/*
 * aspace_handle_fault - resolve a page fault at va (error: PF_* bits of
 * kern/trap.h) in this space: a demand-zero page that allows the access gets
 * its zeroed frame. Any context that may take the space's lock (interrupts
 * may be off). Returns 0 when the access can be retried (also when another
 * CPU mapped the page meanwhile); -EFAULT when the access is not allowed or
 * va is neither mapped nor reserved; -ENOMEM when no frame is left.
 */
int aspace_handle_fault(struct aspace *as, uint64_t va, unsigned error);

/* ---- Kernel only (kern/aspace_env.c) ------------------------------------- */

/* aspace_current - the space in this CPU's CR3 (the kernel's until one is activated). */
struct aspace *aspace_current(void);

/*
 * aspace_activate - load as into this CPU's CR3 and move this CPU's bit from
 * the previous space's cpus to as's. Interrupts may be on. as stays valid
 * until another space is activated here.
 */
void aspace_activate(struct aspace *as);

/*
 * aspace_boot - set up the kernel's space and register the demand-zero page
 * fault handler. Once at boot on the BSP, after kvm_init and trap_init.
 */
void aspace_boot(void);

/* ---- Environment hooks (kern/aspace_env.c, tests/host/aspace_host.c) ----- */

/*
 * aspace_kernel - the kernel's space (boot_pml4 in the kernel; a simulated
 * one on the host): the kernel half only, every PML4 entry of it present.
 */
struct aspace *aspace_kernel(void);
/* as_page_alloc - a zeroed frame for data; 0 when none is left. */
paddr_t as_page_alloc(void);
/* as_page_free - give back a frame from as_page_alloc. */
void as_page_free(paddr_t pa);
/* as_table_free - give back a table (from pt_frame_alloc) that as no longer links. */
void as_table_free(paddr_t pa);
/*
 * as_tlb_flush - make every CPU that may cache translations of as in
 * [start, end) drop them (end exclusive, 0 = top), where the smallest leaf
 * changed is 1 << stride_shift bytes (one invlpg per such page, so a 2 MiB
 * page costs one, not 512). Called with as's lock held, after the entries
 * changed and before the frames they used are freed.
 */
void as_tlb_flush(struct aspace *as, uint64_t start, uint64_t end, unsigned stride_shift);
/* as_lock, as_unlock - the space's lock (interrupts off while held). */
void as_lock(struct aspace *as);
void as_unlock(struct aspace *as);

#endif
