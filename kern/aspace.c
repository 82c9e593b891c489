/*
 * Address spaces (lab 2): map, unmap and protect ranges, demand-zero pages,
 * and spaces that share the kernel half. Every operation is a visitor of lab
 * 1's range walker (pt_walk_range); read kern/aspace.h for the contracts and
 * handouts/lab2.md for the exercises.
 *
 * The rules every operation keeps:
 *  - all or nothing: a call that fails leaves the mappings as they were
 *    (the only exception is a split, which changes no translation);
 *  - no empty table stays linked in (they are pruned), and no PML4 entry of
 *    the kernel half ever changes (other spaces hold copies of them);
 *  - a frame or table is freed only after the TLB flush that removes every
 *    translation that could still lead to it (struct gather).
 *
 * Portable C: tables through pt_table()/pt_frame_alloc(), everything else
 * through the as_* hooks, so `make check` runs this file on the host.
 */
#include "kern/aspace.h"
#include "kern/trap.h"
#include "lib/errno.h"
#include "lib/string.h"

/* The permission bits of a leaf that aspace_protect rewrites. */
#define PTE_PROT_BITS (PTE_W | PTE_U | PTE_NX)
/* Frames a gather holds before it must flush and free them. */
#define GATHER_MAX 64
/* Marks a table (not a data frame) in gather.frames; frames are page-aligned. */
#define GATHER_TABLE 1UL

/* pte_bits - the leaf bits (no address, no P) that prot asks for. */
static pte_t pte_bits(unsigned prot)
{
	pte_t bits = 0;

	if (prot & AS_WRITE)
		bits |= PTE_W;
	if (prot & AS_USER)
		bits |= PTE_U;
	if (!(prot & AS_EXEC))
		bits |= PTE_NX;
	if (prot & AS_GLOBAL)
		bits |= PTE_G;
	if (prot & AS_NOCACHE)
		bits |= PTE_PCD | PTE_PWT;
	return bits;
}

/*
 * check_range - whether [va, va + len) is a valid range of as: 0, -EINVAL
 * (empty or unaligned), -EOVERFLOW (wraps around) or -EFAULT (outside the
 * space's half). See kern/aspace.h.
 */
static int check_range(const struct aspace *as, uint64_t va, uint64_t len)
{
	uint64_t last = va + len - 1;

	if (!len || !IS_ALIGNED(va, PAGE_SIZE) || !IS_ALIGNED(len, PAGE_SIZE))
		return -EINVAL;
	if (last < va)
		return -EOVERFLOW;
	if (as->kernel)
		return va >= KERNEL_HALF ? 0 : -EFAULT;
	return last < USER_TOP ? 0 : -EFAULT;
}

/* check_prot - whether prot is allowed in as, given the bits that may appear. */
static int check_prot(const struct aspace *as, unsigned prot, unsigned allowed)
{
	if (prot & ~allowed)
		return -EINVAL;
	if ((prot & AS_USER) && as->kernel)
		return -EINVAL;
	if ((prot & AS_GLOBAL) && !as->kernel)
		return -EINVAL;
	return 0;
}

/*
 * as_walk - pt_walk_range over [start, start + len) of as. Each operation's
 * ops (visitor, stop level, whether to make tables) are defined once, next
 * to its visitor below.
 */
static int as_walk(struct aspace *as, uint64_t start, uint64_t len, const struct pt_ops *ops,
		   void *arg)
{
	return pt_walk_range(as->pml4, start, start + len, ops, arg);
}

/* ---- Flush, then free: the gather ---------------------------------------- */

/*
 * A gather collects the frames and tables an operation unlinks, so that one
 * TLB flush of the operation's range covers them all before any is freed.
 */
struct gather {
	struct aspace *as;
	uint64_t start, end; /* the operation's range: what a flush covers */
	bool dirty; /* an entry changed since the last flush */
	unsigned stride_shift; /* log2 of the smallest leaf changed since then */
	int n;
	paddr_t frames[GATHER_MAX]; /* | GATHER_TABLE for a table */
};

static void gather_init(struct gather *g, struct aspace *as, uint64_t start, uint64_t len)
{
	g->as = as;
	g->start = start;
	g->end = start + len;
	g->dirty = false;
	g->n = 0;
}

/*
 * gather_changed - an entry of a level-`level` leaf changed: the next flush
 * must cover it. The flush then invalidates one page of the smallest leaf
 * size changed (a 2 MiB page is one page), as Linux's mmu_gather does.
 */
static void gather_changed(struct gather *g, int level)
{
	unsigned shift = pt_level_shift(level);

	if (!g->dirty || shift < g->stride_shift)
		g->stride_shift = shift;
	g->dirty = true;
}

/*
 * gather_finish - flush the TLB if any entry changed, then free what was
 * gathered (as_page_free, or as_table_free for a table), and start over.
 */
static void gather_finish(struct gather *g)
{
	/* LAB 2 BEGIN step 3: flush first (as_tlb_flush over the range), then free; see section 5 */
	if (g->dirty)
		as_tlb_flush(g->as, g->start, g->end, g->stride_shift);
	g->dirty = false;
	for (int i = 0; i < g->n; i++) {
		paddr_t pa = g->frames[i] & ~GATHER_TABLE;

		if (g->frames[i] & GATHER_TABLE)
			as_table_free(pa);
		else
			as_page_free(pa);
	}
	g->n = 0;
	/* LAB 2 STUB
	LAB 2 END */
}

/*
 * gather_add - free pa (a table if table) after the next flush. Only your
 * code calls it: until you write it, __unused keeps the compiler quiet.
 */
static void __unused gather_add(struct gather *g, paddr_t pa, bool table)
{
	if (g->n == GATHER_MAX)
		gather_finish(g);
	g->frames[g->n++] = pa | (table ? GATHER_TABLE : 0);
	/*
	 * A freed table or frame needs a flush but names no leaf: any invlpg
	 * also drops the paging-structure caches, so the largest leaf will do.
	 */
	gather_changed(g, PT_LEVEL_PDPT);
}

/* ---- Splitting large pages ------------------------------------------------ */

/*
 * split_leaf - replace the 2 MiB or 1 GiB leaf *pte (level 2 or 3) by a new
 * table of 512 leaves one level down that map the same memory with the same
 * attributes, so that part of it can change. The translation of every
 * address stays the same. Returns 0 or -ENOMEM.
 */
static int split_leaf(pte_t *pte, int level)
{
	/* LAB 2 BEGIN step 4: a new table of 512 smaller leaves, same bits (PAT moves!); section 4 */
	pte_t old = *pte, attrs, *table;
	uint64_t child_size = pt_level_size(level - 1);
	paddr_t base = pte_addr(old, level), pa = pt_frame_alloc();

	if (!pa)
		return -ENOMEM;
	/* Bit 12 is PAT in a large leaf; in a 4 KiB one PAT is bit 7, where PS was. */
	attrs = old & ~(PTE_ADDR_MASK | PTE_PS);
	if (level - 1 > PT_LEVEL_PT)
		attrs |= PTE_PS | (old & PTE_PAT_HUGE);
	else if (old & PTE_PAT_HUGE)
		attrs |= PTE_PS;
	table = pt_table(pa);
	for (int i = 0; i < PT_ENTRIES; i++)
		table[i] = (base + i * child_size) | attrs;
	pte_publish(pte, pa | PTE_TABLE_FLAGS);
	return 0;
	/* LAB 2 STUB
	return -ENOSYS;
	LAB 2 END */
}

/*
 * split_at - split the large leaves that contain va but do not start there,
 * so that no leaf straddles va. The caller flushes (g->dirty is set): the
 * old large TLB entry must go even though the translation did not change.
 */
static int split_at(struct aspace *as, struct gather *g, uint64_t va)
{
	struct pt_cursor c;
	int r;

	/* Not mapped, a 4 KiB page, or a leaf that starts at va: nothing straddles it. */
	while (pt_walk(as->pml4, va, &c) == 0 && c.level > PT_LEVEL_PT &&
	       !IS_ALIGNED(va, pt_level_size(c.level))) {
		r = split_leaf(c.pte, c.level);
		if (r)
			return r;
		gather_changed(g, c.level);
	}
	return 0;
}

/* split_edges - no leaf may cross either end of [va, va + len). */
static int split_edges(struct aspace *as, struct gather *g, uint64_t va, uint64_t len)
{
	int r = split_at(as, g, va);

	return r ? r : split_at(as, g, va + len);
}

/* ---- Unmap and pruning ---------------------------------------------------- */

/*
 * unmap_visit - called for every entry the walk over the range stops at:
 * clear mapped and reserved entries, gather the frames the space owns.
 */
static int unmap_visit(const struct pt_cursor *c, void *arg)
{
	/* LAB 2 BEGIN step 3: clear leaves and reservations; owned frames go to the gather (section 5) */
	struct gather *g = arg;
	pte_t e = *c->pte;

	if (!e)
		return 0;
	pte_publish(c->pte, 0);
	if (!(e & PTE_P))
		return 0; /* a reservation: never in a TLB, no frame */
	gather_changed(g, c->level);
	if (e & AS_PTE_OWNED)
		gather_add(g, pte_addr(e, c->level), false);
	return 0;
	/* LAB 2 STUB
	return -ENOSYS;
	LAB 2 END */
}

/*
 * Every leaf and reservation of the range, making no table; unmap_locked
 * has split the leaves that cross its ends first.
 */
static const struct pt_ops unmap_ops = {
	.visit = unmap_visit,
	.stop_level = PT_LEVEL_PT,
	.alloc = false,
};

struct prune {
	struct gather *g;
	int level; /* the level of the entries that may point to empty tables */
};

/*
 * prune_visit - an entry at p->level that points to an empty table: unlink
 * the table and gather it.
 */
static int prune_visit(const struct pt_cursor *c, void *arg)
{
	/* LAB 2 BEGIN step 3: only a present non-leaf entry at p->level whose table is all zero (section 5) */
	struct prune *p = arg;
	pte_t e = *c->pte;
	paddr_t table;

	if (c->level != p->level || !(e & PTE_P) || pte_is_leaf(e, c->level))
		return 0;
	table = pte_addr(e, c->level);
	if (!pt_table_is_empty(pt_table(table)))
		return 0;
	pte_publish(c->pte, 0);
	gather_add(p->g, table, true);
	return 0;
	/* LAB 2 STUB
	return -ENOSYS;
	LAB 2 END */
}

/*
 * One per level of the entries that may point to an empty table
 * (prune_ops[level]); no table is made.
 */
static const struct pt_ops prune_ops[] = {
	[PT_LEVEL_PD] = { .visit = prune_visit, .stop_level = PT_LEVEL_PD, .alloc = false },
	[PT_LEVEL_PDPT] = { .visit = prune_visit, .stop_level = PT_LEVEL_PDPT, .alloc = false },
	[PT_LEVEL_PML4] = { .visit = prune_visit, .stop_level = PT_LEVEL_PML4, .alloc = false },
};

/*
 * prune_tables - free the tables under [va, va + len) that are empty, from
 * the PTs up. A PDPT under the kernel half is never freed: every space's
 * PML4 points to it.
 */
static int prune_tables(struct aspace *as, struct gather *g, uint64_t va, uint64_t len)
{
	struct prune p = { .g = g };
	int r = 0;

	for (p.level = PT_LEVEL_PD; p.level <= PT_LEVEL_PML4 && !r; p.level++) {
		if (p.level == PT_LEVEL_PML4 && as->kernel)
			break;
		r = as_walk(as, va, len, &prune_ops[p.level], &p);
	}
	return r;
}

/* unmap_locked - aspace_unmap with the lock held and the arguments checked. */
static int unmap_locked(struct aspace *as, uint64_t va, uint64_t len)
{
	struct gather g;
	int r;

	gather_init(&g, as, va, len);
	r = split_edges(as, &g, va, len);
	if (!r)
		r = as_walk(as, va, len, &unmap_ops, &g);
	if (!r)
		r = prune_tables(as, &g, va, len);
	gather_finish(&g);
	return r;
}

/* ---- Map ------------------------------------------------------------------- */

enum map_kind { MAP_PHYS, MAP_ALLOC, MAP_RESERVED };

struct map_args {
	enum map_kind kind;
	uint64_t va; /* start of the whole request */
	paddr_t pa; /* MAP_PHYS: what va maps to */
	pte_t bits; /* pte_bits(prot) */
	int level; /* the level of the leaves this walk makes */
	int top; /* the largest leaves allowed: PT, PD or (AS_HUGE_1G) PDPT */
};

/* range_is_free - a visitor: -EEXIST at anything mapped or reserved. */
static int range_is_free(const struct pt_cursor *c, void *arg)
{
	return *c->pte ? -EEXIST : 0;
}

/* map_range's check: every entry of the range down to 4 KiB, making no table. */
static const struct pt_ops range_free_ops = {
	.visit = range_is_free,
	.stop_level = PT_LEVEL_PT,
	.alloc = false,
};

/*
 * map_visit - called for each entry at m->level in the range (the walker
 * made the tables above it): make it the leaf m asks for.
 */
static int map_visit(const struct pt_cursor *c, void *arg)
{
	/* LAB 2 BEGIN step 2: one leaf per entry: physical, a new owned frame, or a reservation (section 3) */
	struct map_args *m = arg;
	pte_t e;
	paddr_t pa;

	if (c->level != m->level || *c->pte)
		return -EEXIST; /* range_is_free said otherwise: a bug */
	switch (m->kind) {
	case MAP_PHYS:
		e = (m->pa + (c->va - m->va)) | PTE_P | m->bits;
		if (c->level > PT_LEVEL_PT)
			e |= PTE_PS;
		break;
	case MAP_ALLOC:
		pa = as_page_alloc();
		if (!pa)
			return -ENOMEM;
		e = pa | PTE_P | m->bits | AS_PTE_OWNED;
		break;
	default:
		e = AS_PTE_RESERVED | m->bits;
		break;
	}
	pte_publish(c->pte, e);
	return 0;
	/* LAB 2 STUB
	return -ENOSYS;
	LAB 2 END */
}

/*
 * One per leaf size (map_ops[level]): the walk stops at the entries of that
 * level and makes the tables missing above them.
 */
static const struct pt_ops map_ops[] = {
	[PT_LEVEL_PT] = { .visit = map_visit, .stop_level = PT_LEVEL_PT, .alloc = true },
	[PT_LEVEL_PD] = { .visit = map_visit, .stop_level = PT_LEVEL_PD, .alloc = true },
	[PT_LEVEL_PDPT] = { .visit = map_visit, .stop_level = PT_LEVEL_PDPT, .alloc = true },
};

/* map_level - make the leaves of [va, va + len) at m->level. Only your code calls it. */
static int __unused map_level(struct aspace *as, struct map_args *m, uint64_t va, uint64_t len,
			      int level)
{
	m->level = level;
	return len ? as_walk(as, va, len, &map_ops[level], m) : 0;
}

/*
 * map_leaves - the leaves of [va, va + len) in a free range, none larger
 * than m->top: the largest that fit, smaller ones before and after them
 * (4 KiB up to a 2 MiB boundary, 2 MiB pages up to a 1 GiB one, ...).
 */
static int map_leaves(struct aspace *as, struct map_args *m, uint64_t va, uint64_t len,
		      int level)
{
	/* LAB 2 BEGIN step 2: head in smaller pages up to a boundary of this size, body, tail (section 3) */
	uint64_t size = pt_level_size(level), head, body;
	int r;

	if (level == PT_LEVEL_PT)
		return map_level(as, m, va, len, PT_LEVEL_PT);
	if (level > m->top)
		return map_leaves(as, m, va, len, level - 1);
	/* At the top of the address space ROUNDUP wraps to 0: 0 - va is still right. */
	head = MIN(ROUNDUP(va, size) - va, len);
	body = ROUNDDOWN(len - head, size);
	r = map_leaves(as, m, va, head, level - 1);
	if (!r)
		r = map_level(as, m, va + head, body, level);
	if (!r)
		r = map_leaves(as, m, va + head + body, len - head - body, level - 1);
	return r;
	/* LAB 2 STUB
	return -ENOSYS;
	LAB 2 END */
}

/*
 * largest_leaf - the top level map_leaves may use for m's request: 2 MiB
 * pages for a physical mapping whose va and pa agree modulo 2 MiB, 1 GiB ones
 * if asked for and they agree modulo 1 GiB; owned and reserved pages are 4 KiB.
 */
static int largest_leaf(const struct map_args *m, unsigned prot)
{
	/* LAB 2 BEGIN step 2: a huge page maps an aligned va to an aligned pa (section 3) */
	if (m->kind != MAP_PHYS || !IS_ALIGNED(m->va ^ m->pa, HUGE_2M))
		return PT_LEVEL_PT;
	if ((prot & AS_HUGE_1G) && IS_ALIGNED(m->va ^ m->pa, HUGE_1G))
		return PT_LEVEL_PDPT;
	return PT_LEVEL_PD;
	/* LAB 2 STUB
	return PT_LEVEL_PT;
	LAB 2 END */
}

/* map_range - the three map calls: check, refuse what is taken, map, undo on error. */
static int map_range(struct aspace *as, struct map_args *m, uint64_t len, unsigned prot)
{
	int r = check_range(as, m->va, len);

	if (!r)
		r = check_prot(as, prot, AS_ALL_MASK);
	if (r)
		return r;
	m->bits = pte_bits(prot);
	m->top = largest_leaf(m, prot);
	as_lock(as);
	r = as_walk(as, m->va, len, &range_free_ops, NULL);
	if (!r) {
		r = map_leaves(as, m, m->va, len, PT_LEVEL_PDPT);
		/* The range was free: everything in it now is ours to take back. */
		if (r)
			unmap_locked(as, m->va, len);
	}
	as_unlock(as);
	return r;
}

int aspace_map(struct aspace *as, uint64_t va, paddr_t pa, uint64_t len, unsigned prot)
{
	struct map_args m = { .kind = MAP_PHYS, .va = va, .pa = pa };

	if (!IS_ALIGNED(pa, PAGE_SIZE) || (pa & ~PTE_ADDR_MASK))
		return -EINVAL;
	if (pa + len < pa)
		return -EOVERFLOW;
	return map_range(as, &m, len, prot);
}

int aspace_alloc(struct aspace *as, uint64_t va, uint64_t len, unsigned prot)
{
	struct map_args m = { .kind = MAP_ALLOC, .va = va };

	return map_range(as, &m, len, prot);
}

int aspace_reserve(struct aspace *as, uint64_t va, uint64_t len, unsigned prot)
{
	struct map_args m = { .kind = MAP_RESERVED, .va = va };

	return map_range(as, &m, len, prot);
}

int aspace_unmap(struct aspace *as, uint64_t va, uint64_t len)
{
	int r = check_range(as, va, len);

	if (r)
		return r;
	as_lock(as);
	r = unmap_locked(as, va, len);
	as_unlock(as);
	return r;
}

/* ---- Protect ----------------------------------------------------------------- */

/* range_is_used - a visitor: -ENOENT at anything neither mapped nor reserved. */
static int range_is_used(const struct pt_cursor *c, void *arg)
{
	pte_t e = *c->pte;

	if (pte_is_leaf(e, c->level) || (c->level == PT_LEVEL_PT && (e & AS_PTE_RESERVED)))
		return 0;
	return -ENOENT;
}

/* aspace_protect's check: each 4 KiB entry of the range, or the hole above it. */
static const struct pt_ops range_used_ops = {
	.visit = range_is_used,
	.stop_level = PT_LEVEL_PT,
	.alloc = false,
};

struct protect_args {
	struct gather *g;
	pte_t bits; /* the new PTE_PROT_BITS */
};

/*
 * protect_visit - called for every leaf and reservation in the range (no
 * leaf crosses its ends): give it the new permission bits.
 */
static int protect_visit(const struct pt_cursor *c, void *arg)
{
	/* LAB 2 BEGIN step 5: replace the W, U and NX bits, keep the rest; tell the gather (gather_changed; section 6) */
	struct protect_args *p = arg;
	pte_t e = *c->pte;

	if (!e)
		return 0;
	pte_publish(c->pte, (e & ~PTE_PROT_BITS) | p->bits);
	if (e & PTE_P)
		gather_changed(p->g, c->level);
	return 0;
	/* LAB 2 STUB
	return -ENOSYS;
	LAB 2 END */
}

/* New bits in each leaf and reservation, making no table; the edges are split. */
static const struct pt_ops protect_ops = {
	.visit = protect_visit,
	.stop_level = PT_LEVEL_PT,
	.alloc = false,
};

int aspace_protect(struct aspace *as, uint64_t va, uint64_t len, unsigned prot)
{
	struct gather g;
	struct protect_args p = { .g = &g, .bits = pte_bits(prot) & PTE_PROT_BITS };
	int r = check_range(as, va, len);

	if (!r)
		r = check_prot(as, prot, AS_PROT_MASK);
	if (r)
		return r;
	as_lock(as);
	gather_init(&g, as, va, len);
	r = as_walk(as, va, len, &range_used_ops, NULL);
	if (!r)
		r = split_edges(as, &g, va, len);
	if (!r)
		r = as_walk(as, va, len, &protect_ops, &p);
	gather_finish(&g);
	as_unlock(as);
	return r;
}

/* ---- Translation and faults ---------------------------------------------------- */

int aspace_translate(struct aspace *as, uint64_t va, struct pt_translation *t)
{
	int r;

	as_lock(as);
	r = pt_translate(as->pml4, va, t);
	as_unlock(as);
	return r;
}

/* access_allowed - whether a leaf or reservation with bits allows the access in error. */
static bool access_allowed(pte_t bits, unsigned error)
{
	if ((error & PF_WRITE) && !(bits & PTE_W))
		return false;
	if ((error & PF_USER) && !(bits & PTE_U))
		return false;
	return !((error & PF_INSTR) && (bits & PTE_NX));
}

/*
 * fill_reserved - give the reservation *pte a zeroed owned frame if it
 * allows the access. Returns 0, -EFAULT or -ENOMEM.
 */
static int fill_reserved(pte_t *pte, unsigned error)
{
	/* LAB 2 BEGIN step 6: check the stored permissions, then a frame from as_page_alloc (section 7) */
	pte_t e = *pte;
	paddr_t pa;

	if (!access_allowed(e, error))
		return -EFAULT;
	pa = as_page_alloc();
	if (!pa)
		return -ENOMEM;
	pte_publish(pte, pa | PTE_P | AS_PTE_OWNED | (e & ~(AS_PTE_RESERVED | PTE_ADDR_MASK)));
	return 0;
	/* LAB 2 STUB
	return -EFAULT;
	LAB 2 END */
}

int aspace_handle_fault(struct aspace *as, uint64_t va, unsigned error)
{
	struct pt_cursor c;
	int r;

	va = ROUNDDOWN(va, PAGE_SIZE);
	if (check_range(as, va, PAGE_SIZE))
		return -EFAULT;
	as_lock(as);
	r = pt_walk(as->pml4, va, &c);
	if (r == 0)
		/* Mapped meanwhile (another CPU took the fault first), or a real violation. */
		r = access_allowed(c.eff, error) ? 0 : -EFAULT;
	else if (r == -ENOENT && c.level == PT_LEVEL_PT && (*c.pte & AS_PTE_RESERVED))
		r = fill_reserved(c.pte, error);
	else
		r = -EFAULT;
	as_unlock(as);
	return r;
}

/* ---- Creating and destroying spaces -------------------------------------------- */

int aspace_init(struct aspace *as)
{
	/* LAB 2 BEGIN step 1: a zeroed user half, the kernel half copied from aspace_kernel() (section 2) */
	const pte_t *kernel = pt_table(aspace_kernel()->pml4);
	paddr_t pml4 = pt_frame_alloc();
	pte_t *table;

	if (!pml4)
		return -ENOMEM;
	table = pt_table(pml4);
	memset(table, 0, PT_ENTRIES / 2 * sizeof(pte_t));
	memcpy(table + PT_ENTRIES / 2, kernel + PT_ENTRIES / 2, PT_ENTRIES / 2 * sizeof(pte_t));
	as->pml4 = pml4;
	/* LAB 2 STUB
	as->pml4 = 0;
	return -ENOSYS;
	LAB 2 END */
	as->kernel = false;
	as->lock = (struct spinlock)SPINLOCK_INIT("aspace");
	as->lock_flags = 0;
	as->cpus = 0;
	return 0;
}

void aspace_destroy(struct aspace *as)
{
	if (!as->pml4)
		return;
	/* LAB 2 BEGIN step 3: unmap the whole user half (tables too), then free the PML4 (section 5) */
	as_lock(as);
	unmap_locked(as, 0, USER_TOP);
	as_unlock(as);
	as_table_free(as->pml4);
	/* LAB 2 STUB
	LAB 2 END */
	as->pml4 = 0;
}
