/*
 * x86-64 4-level page tables (lab 1): entry bits, the range walker that
 * every later lab builds on, and the page-table dump format.
 *
 * A 48-bit virtual address selects one entry per level (Intel SDM vol. 3,
 * section 4.5):
 *
 *   63      48 47    39 38    30 29    21 20    12 11         0
 *   [sign ext] [PML4 i] [PDPT i] [ PD i ] [ PT i ] [  offset  ]
 *               level 4  level 3  level 2  level 1
 *
 * Levels are numbered from the leaf up: 1 = PT, 2 = PD, 3 = PDPT, 4 = PML4.
 * A present entry with PS set at level 3 maps a 1 GiB page and at level 2 a
 * 2 MiB page; at level 4 PS is not a page size (it is reserved) and at
 * level 1 the same bit is PAT. Tables are reached only through pt_table(),
 * so kern/pgtable.c is portable C that the host unit tests compile too.
 *
 * Dump format (pt_dump; also printed by GDB's `ptdump` and parsed by the
 * grader):
 *
 *   PTDUMP BEGIN cr3=<pa of the PML4>
 *   <va_start>-<va_end> <pa_start>-<pa_end> <size> <flags>
 *   ...
 *   PTDUMP END
 *
 * Every address is 16 lower-case hex digits without 0x; ends are exclusive
 * (a range ending at the very top of the address space prints its end as
 * 0000000000000000). Lines are sorted by virtual address, which is
 * canonical (the upper half sign-extended). <size> is the leaf page size:
 * 4K, 2M or 1G. <flags> is 4 characters: u if U is set at every level, w if
 * R/W is set at every level, x if NX is clear at every level, g if the leaf
 * has G; '-' otherwise. Consecutive leaves share a line when both their
 * virtual and physical addresses are contiguous and their size and flags
 * are equal. Example:
 *
 *   ffff800000000000-ffff800100000000 0000000000000000-0000000100000000 2M -wxg
 */
#ifndef KERN_PGTABLE_H
#define KERN_PGTABLE_H

#include "kern/mm.h"

typedef uint64_t pte_t;

/* Entry bits. */
#define PTE_P (1UL << 0) /* present */
#define PTE_W (1UL << 1) /* writable */
#define PTE_U (1UL << 2) /* user-accessible */
#define PTE_PWT (1UL << 3) /* write-through */
#define PTE_PCD (1UL << 4) /* cache disable */
#define PTE_A (1UL << 5) /* accessed (set by the CPU) */
#define PTE_D (1UL << 6) /* dirty (leaves only, set by the CPU) */
#define PTE_PS (1UL << 7) /* page size: a 1 GiB (level 3) or 2 MiB (level 2) leaf */
#define PTE_G (1UL << 8) /* global (leaves only) */
#define PTE_PAT_HUGE (1UL << 12) /* PAT bit of a 1 GiB / 2 MiB leaf, not an address bit */
#define PTE_NX (1UL << 63) /* no-execute (EFER.NXE is on) */
/* Bits 12..51: the physical address of the next table or of the page. */
#define PTE_ADDR_MASK 0x000ffffffffff000UL
/* Bits the MMU ignores (9..11 and 52..58); software may keep its own data there. */
#define PTE_SOFT_MASK 0x07f0000000000e00UL

/*
 * Flags that describe a translation (struct pt_translation, struct
 * pt_cursor.eff): PTE_U and PTE_W only if set at every level, PTE_NX if set
 * at any level, PTE_G as in the leaf.
 */
#define PT_EFF_MASK (PTE_P | PTE_U | PTE_W | PTE_NX | PTE_G)

#define PT_LEVELS 4
#define PT_ENTRIES 512
enum pt_level { PT_LEVEL_PT = 1, PT_LEVEL_PD = 2, PT_LEVEL_PDPT = 3, PT_LEVEL_PML4 = 4 };

#define VA_BITS 48

/* pt_level_shift - log2 of the bytes one entry of a level-`level` table maps. */
static inline unsigned pt_level_shift(int level)
{
	return PAGE_SHIFT + 9 * (unsigned)(level - 1);
}

/* pt_level_size - bytes one entry of a level-`level` table maps (4K, 2M, 1G, 512G). */
static inline uint64_t pt_level_size(int level)
{
	return 1UL << pt_level_shift(level);
}

/* pt_sign_extend - the canonical form of a 48-bit address (bit 47 copied up). */
static inline uint64_t pt_sign_extend(uint64_t va)
{
	return (uint64_t)((int64_t)(va << (64 - VA_BITS)) >> (64 - VA_BITS));
}

/* pt_is_canonical - whether bits 63..47 of va are all equal. */
static inline bool pt_is_canonical(uint64_t va)
{
	return pt_sign_extend(va) == va;
}

/*
 * Environment hooks: how the walker reaches memory. The kernel's are in
 * kern/pgtable_env.c, the host tests' in tests/host/simmem.c.
 *
 * pt_table - a pointer to the table (512 entries) at physical address pa.
 * pt_frame_alloc - a frame for a new table; its contents are garbage (zero
 *   it yourself); 0 when no frame is left.
 * pt_frame_free - give back a frame from pt_frame_alloc.
 */
pte_t *pt_table(paddr_t pa);
paddr_t pt_frame_alloc(void);
void pt_frame_free(paddr_t pa);

/* Entries that point to a table are permissive: the leaf decides. */
#define PTE_TABLE_FLAGS (PTE_P | PTE_W | PTE_U)

/*
 * pte_publish - store val in *pte, as every change to a live table must: in
 * one 64-bit store, and not before the writes that prepared what it points
 * to (a zeroed table, a table of split leaves, a zeroed frame). Another
 * CPU's MMU may read the entry at any moment; a compiler free to split the
 * store or move it earlier would let it see half an entry or a table that
 * is not filled yet. Release order is that barrier (x86 keeps stores in
 * program order, so it costs no instruction).
 */
static inline void pte_publish(pte_t *pte, pte_t val)
{
	__atomic_store_n(pte, val, __ATOMIC_RELEASE);
}

/* pt_table_is_empty - whether all entries are 0: the table maps nothing. */
static inline bool pt_table_is_empty(const pte_t *table)
{
	for (int i = 0; i < PT_ENTRIES; i++)
		if (table[i])
			return false;
	return true;
}

/*
 * pte_is_leaf - whether pte, an entry of a level-`level` table, is present
 * and maps a page (rather than pointing to a table one level down).
 */
bool pte_is_leaf(pte_t pte, int level);

/*
 * pte_addr - the physical address in a present entry: the next table, or for
 * a leaf the first byte of the page (aligned to the page size).
 */
paddr_t pte_addr(pte_t pte, int level);

/* Where the range walker stands: one entry of one table. */
struct pt_cursor {
	uint64_t va; /* first virtual address the entry covers (canonical) */
	int level; /* level of the table holding the entry: 4 = PML4 .. 1 = PT */
	pte_t *pte; /* the entry */
	/*
	 * Effective PTE_U/PTE_W/PTE_NX of the path from the root through this
	 * entry (through the entries above it when this one is not present).
	 */
	pte_t eff;
};

/*
 * pt_cursor_flags - the flags of the translation a leaf cursor stands at
 * (struct pt_translation.flags): PTE_P, the effective U/W/NX of the path,
 * and G as in the leaf.
 */
static inline pte_t pt_cursor_flags(const struct pt_cursor *c)
{
	return PTE_P | (c->eff & PT_EFF_MASK) | (*c->pte & PTE_G);
}

/* A visitor's return value that ends the walk early without an error. */
#define PT_STOP 1

/*
 * What pt_walk_range does at the entries it stops at. Lab 2 adds its
 * operations (map, unmap, protect) as more visitors.
 */
struct pt_ops {
	/*
	 * visit - called in address order for every entry the walk stops at:
	 * a present leaf, a not-present entry it cannot descend through (all
	 * of them when !alloc) and every entry at stop_level, present or not.
	 * Returns 0 to go on, PT_STOP to end the walk, -errno to abort it.
	 */
	int (*visit)(const struct pt_cursor *c, void *arg);
	/* Lowest level to descend to (1 .. 4); 1 reaches the 4 KiB entries. */
	int stop_level;
	/*
	 * Allocate a zeroed table for each missing entry above stop_level and
	 * point the entry at it with PTE_P|PTE_W|PTE_U (the leaf decides the
	 * permissions). If the walk then fails, each table it created on the
	 * way to the failure that is still empty is unlinked and freed again.
	 */
	bool alloc;
};

/*
 * pt_walk_range - walk the tables rooted at root over the virtual range
 * [start, end) and call ops->visit as described in struct pt_ops.
 * start is canonical; end is exclusive: canonical, USER_TOP, or 0 for the
 * top of the address space. A range that spans the non-canonical hole
 * covers the end of the lower half and the start of the upper half.
 * Returns 0 after the whole range, PT_STOP or a visitor's -errno as soon as
 * it returned one, -ENOMEM when a table could not be allocated, -EINVAL for
 * a bad range or ops.
 */
int pt_walk_range(paddr_t root, uint64_t start, uint64_t end, const struct pt_ops *ops, void *arg);

/*
 * pt_walk - find the entry that decides va's translation.
 * Returns 0 when va is mapped: *c is the leaf (level 1, 2 or 3).
 * Returns -ENOENT when an entry on the way is not present: *c is that entry
 * (c->level says at which level the walk stopped). Returns -EINVAL (and
 * leaves *c alone) when va is not canonical.
 */
int pt_walk(paddr_t root, uint64_t va, struct pt_cursor *c);

/* The result of translating one virtual address. */
struct pt_translation {
	paddr_t pa; /* the physical address va maps to */
	uint64_t size; /* size of the page that maps it: 4 KiB, 2 MiB or 1 GiB */
	int level; /* level of the leaf (1, 2, 3); of the missing entry on -ENOENT */
	pte_t flags; /* PTE_P | the effective bits of PT_EFF_MASK */
};

/*
 * pt_translate - va -> (pa, page size, effective flags), as the MMU would.
 * Returns 0, -ENOENT (t->level = level of the not-present entry, other fields
 * 0) or -EINVAL for a non-canonical va.
 */
int pt_translate(paddr_t root, uint64_t va, struct pt_translation *t);

/*
 * pt_walk_create - find va's entry at `level` (1 = a 4 KiB entry, 2 = a 2 MiB
 * entry), allocating the missing tables above it (zeroed; their entries in
 * the parent get PTE_P|PTE_W|PTE_U).
 * Returns 0 with *c at that entry (present or not). Returns -ENOMEM when out
 * of frames, after freeing every table this call allocated; -EEXIST when a
 * present leaf above `level` maps va (*c is that leaf; lab 2 splits it);
 * -EINVAL for a non-canonical va or a level outside 1..3.
 */
int pt_walk_create(paddr_t root, uint64_t va, int level, struct pt_cursor *c);

/* One line of a dump: a run of leaves that coalesce (see the format above). */
struct pt_range {
	uint64_t va, va_end; /* canonical; va_end exclusive (0 at the very top) */
	paddr_t pa, pa_end;
	uint64_t page_size;
	pte_t flags; /* as pt_translation.flags */
};

/*
 * pt_for_each_range - call fn for each coalesced run of leaves in the tables
 * rooted at root, in address order. Returns 0, or the first non-zero value
 * fn or the walk returned.
 */
int pt_for_each_range(paddr_t root, int (*fn)(const struct pt_range *r, void *arg), void *arg);

/* pt_format_flags - the 4-character flags field ("uwxg", '-' for clear) into out[5]. */
void pt_format_flags(pte_t flags, char out[5]);

/* Longest dump line, with its NUL. */
#define PT_DUMP_LINE_MAX 96

/* pt_format_range - one dump line for r (no newline) into buf; returns its length. */
int pt_format_range(const struct pt_range *r, char *buf, size_t size);

/*
 * pt_dump - emit the dump of the tables rooted at root, one line (without
 * newline) per call of print, from PTDUMP BEGIN to PTDUMP END. Returns 0 or
 * the walk's error (the END line is printed anyway).
 */
int pt_dump(paddr_t root, void (*print)(const char *line, void *arg), void *arg);

/* Kernel only (kern/pgtable_env.c). */
/* pt_current_root - physical address of the PML4 in CR3. */
paddr_t pt_current_root(void);
/* pt_dump_console - pt_dump to the console (kprintf). */
int pt_dump_console(paddr_t root);

#endif
