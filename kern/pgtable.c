/*
 * The page-table walker (lab 1). One recursive range walker visits the
 * entries that cover a virtual range; every operation is a small visitor on
 * top of it (pt_walk, pt_walk_create, the dump; lab 2 adds map, unmap and
 * protect). Read kern/pgtable.h for the contracts and handouts/lab1.md for
 * the exercises.
 *
 * Tables are reached only through pt_table(pa) and allocated only through
 * pt_frame_alloc(), so this file is portable C: `make check` compiles it for
 * the host over a simulated physical memory (tests/host/simmem.c).
 */
#include "kern/pgtable.h"
#include "lib/errno.h"
#include "lib/printfmt.h"
#include "lib/string.h"

/* One walk in progress: the range in 48-bit linear form and the visitor. */
struct walker {
	uint64_t start, end; /* [start, end), end <= 2^48 */
	const struct pt_ops *ops;
	void *arg;
};

/*
 * walk_table, walk_entry and descend_new_table call each other. __unused
 * (here, and on walk_table and walk_one): only your code calls them, and
 * until you write it the compiler would warn that they are unused.
 */
static int walk_entry(struct walker *w, pte_t *pte, int level, uint64_t va, pte_t eff) __unused;
static int descend_new_table(struct walker *w, pte_t *pte, int level, uint64_t va,
			     pte_t eff) __unused;

bool pte_is_leaf(pte_t pte, int level)
{
	/* LAB 1 BEGIN step 1: present, and level 1 or PS at levels 2 and 3 (handout section 2) */
	if (!(pte & PTE_P))
		return false;
	if (level == PT_LEVEL_PT)
		return true;
	return (level == PT_LEVEL_PD || level == PT_LEVEL_PDPT) && (pte & PTE_PS);
	/* LAB 1 STUB
	return false;
	LAB 1 END */
}

paddr_t pte_addr(pte_t pte, int level)
{
	/* LAB 1 BEGIN step 1: bits 12..51 only; a huge leaf's low bits are not address (section 2) */
	paddr_t pa = pte & PTE_ADDR_MASK;

	if (pte_is_leaf(pte, level))
		pa &= ~(pt_level_size(level) - 1);
	return pa;
	/* LAB 1 STUB
	return 0;
	LAB 1 END */
}

/* pt_index - the index of va's entry in a level-`level` table. */
static inline unsigned pt_index(uint64_t va, int level)
{
	/* LAB 1 BEGIN step 1: 9 bits of va per level above the 12-bit offset (section 1) */
	return (va >> pt_level_shift(level)) & (PT_ENTRIES - 1);
	/* LAB 1 STUB
	return 0;
	LAB 1 END */
}

/*
 * eff_through - the effective permissions after one more present entry on
 * the path: U and W survive only if this entry has them too, NX sticks once
 * any entry has it.
 */
static inline pte_t eff_through(pte_t eff, pte_t pte)
{
	/* LAB 1 BEGIN step 2: U and W: AND over the levels; NX: OR (section 4) */
	return (eff & pte & (PTE_U | PTE_W)) | ((eff | pte) & PTE_NX);
	/* LAB 1 STUB
	return eff;
	LAB 1 END */
}

/*
 * walk_table - visit the entries of the level-`level` table at table_pa that
 * overlap the walk's range. base is the first address the table maps, eff
 * the effective permissions of the entries above it.
 */
static int __unused walk_table(struct walker *w, paddr_t table_pa, int level, uint64_t base,
			       pte_t eff)
{
	/* LAB 1 BEGIN step 3: loop from the entry of max(start, base) while below end (section 5) */
	pte_t *table = pt_table(table_pa);
	uint64_t size = pt_level_size(level);
	int r;

	for (unsigned i = pt_index(MAX(w->start, base), level); i < PT_ENTRIES; i++) {
		uint64_t va = base + i * size;

		if (va >= w->end)
			break;
		r = walk_entry(w, &table[i], level, va, eff);
		if (r)
			return r;
	}
	return 0;
	/* LAB 1 STUB
	return -ENOSYS;
	LAB 1 END */
}

/*
 * walk_entry - one entry of a level-`level` table covering [va, va + size):
 * hand it to the visitor, descend into the table it points to, or create
 * that table first.
 */
static int walk_entry(struct walker *w, pte_t *pte, int level, uint64_t va, pte_t eff)
{
	struct pt_cursor c = { .va = pt_sign_extend(va), .level = level, .pte = pte, .eff = eff };

	/* LAB 1 BEGIN step 3: visit a leaf, a stop_level entry or a hole; else descend (section 5) */
	pte_t e = *pte;

	if (e & PTE_P)
		c.eff = eff_through(eff, e);
	if (level == w->ops->stop_level || pte_is_leaf(e, level))
		return w->ops->visit(&c, w->arg);
	if (e & PTE_P)
		return walk_table(w, pte_addr(e, level), level - 1, va, c.eff);
	if (w->ops->alloc)
		return descend_new_table(w, pte, level, va, eff);
	return w->ops->visit(&c, w->arg);
	/* LAB 1 STUB
	(void)c;
	return -ENOSYS;
	LAB 1 END */
}

/*
 * descend_new_table - give the empty entry *pte a new zeroed table and walk
 * it. If the walk below fails and the table is still empty, take it back:
 * a failed walk leaves no table behind that nothing uses.
 */
static int descend_new_table(struct walker *w, pte_t *pte, int level, uint64_t va, pte_t eff)
{
	/* LAB 1 BEGIN step 6: allocate, zero, link with PTE_TABLE_FLAGS, walk, undo on error (section 6) */
	paddr_t pa = pt_frame_alloc();
	int r;

	if (!pa)
		return -ENOMEM;
	memset(pt_table(pa), 0, PAGE_SIZE);
	pte_publish(pte, pa | PTE_TABLE_FLAGS);
	r = walk_table(w, pa, level - 1, va, eff_through(eff, *pte));
	if (r < 0 && pt_table_is_empty(pt_table(pa))) {
		pte_publish(pte, 0);
		pt_frame_free(pa);
	}
	return r;
	/* LAB 1 STUB
	return -ENOSYS;
	LAB 1 END */
}

int pt_walk_range(paddr_t root, uint64_t start, uint64_t end, const struct pt_ops *ops, void *arg)
{
	/* LAB 1 BEGIN step 3: check the range and ops, make the range 48-bit, walk the PML4 (section 5) */
	const uint64_t mask48 = (1UL << VA_BITS) - 1;
	struct walker w = { .ops = ops, .arg = arg };

	if (!ops || !ops->visit || ops->stop_level < PT_LEVEL_PT || ops->stop_level > PT_LEVELS)
		return -EINVAL;
	if (!pt_is_canonical(start) || (end != USER_TOP && !pt_is_canonical(end)))
		return -EINVAL;
	w.start = start & mask48;
	/* USER_TOP and the first upper-half address both end at 2^47 in this form. */
	w.end = end == 0 ? mask48 + 1 : end & mask48;
	if (w.start > w.end)
		return -EINVAL;
	if (w.start == w.end)
		return 0;
	return walk_table(&w, root, PT_LEVEL_PML4, 0, PTE_U | PTE_W);
	/* LAB 1 STUB
	return -ENOSYS;
	LAB 1 END */
}

/* A visitor that keeps the first entry it sees and ends the walk. */
static int record_first(const struct pt_cursor *c, void *arg)
{
	*(struct pt_cursor *)arg = *c;
	return PT_STOP;
}

/*
 * walk_one - run the range walker over va's single byte down to stop_level
 * and put the entry it stopped at in *c. Returns 0 or the walk's -errno.
 */
static int __unused walk_one(paddr_t root, uint64_t va, int stop_level, bool alloc,
			     struct pt_cursor *c)
{
	struct pt_ops ops = { .visit = record_first, .stop_level = stop_level, .alloc = alloc };
	int r = pt_walk_range(root, va, va + 1, &ops, c);

	if (r == PT_STOP)
		return 0;
	/* The walk covers one byte, so a successful walk always stops. */
	return r < 0 ? r : -EINVAL;
}

int pt_walk(paddr_t root, uint64_t va, struct pt_cursor *c)
{
	/* LAB 1 BEGIN step 4: reject non-canonical va, walk_one to level 1, then present or not (section 5) */
	struct pt_cursor found;
	int r;

	if (!pt_is_canonical(va))
		return -EINVAL;
	r = walk_one(root, va, PT_LEVEL_PT, false, &found);
	if (r < 0)
		return r;
	*c = found;
	return pte_is_leaf(*found.pte, found.level) ? 0 : -ENOENT;
	/* LAB 1 STUB
	return -ENOSYS;
	LAB 1 END */
}

int pt_translate(paddr_t root, uint64_t va, struct pt_translation *t)
{
	/* LAB 1 BEGIN step 4: pa = page base + offset in the page; flags from the cursor (section 4) */
	struct pt_cursor c;
	int r = pt_walk(root, va, &c);

	memset(t, 0, sizeof(*t));
	if (r == -ENOENT)
		t->level = c.level;
	if (r)
		return r;
	t->level = c.level;
	t->size = pt_level_size(c.level);
	t->pa = pte_addr(*c.pte, c.level) + (va & (t->size - 1));
	t->flags = pt_cursor_flags(&c);
	return 0;
	/* LAB 1 STUB
	memset(t, 0, sizeof(*t));
	return -ENOSYS;
	LAB 1 END */
}

int pt_walk_create(paddr_t root, uint64_t va, int level, struct pt_cursor *c)
{
	/* LAB 1 BEGIN step 6: check va and level, walk_one with alloc, refuse a huge page above (section 6) */
	int r;

	if (!pt_is_canonical(va) || level < PT_LEVEL_PT || level > PT_LEVEL_PDPT)
		return -EINVAL;
	r = walk_one(root, va, level, true, c);
	if (r < 0)
		return r;
	return c->level > level ? -EEXIST : 0;
	/* LAB 1 STUB
	return -ENOSYS;
	LAB 1 END */
}

/* ---- The dump: given code, built on the walker ---------------------------- */

struct coalesce {
	struct pt_range cur; /* the run being extended */
	bool have; /* whether cur holds a run yet */
	int (*fn)(const struct pt_range *r, void *arg);
	void *arg;
};

static bool range_extends(const struct pt_range *run, const struct pt_range *r)
{
	return run->va_end == r->va && run->pa_end == r->pa && run->page_size == r->page_size &&
	       run->flags == r->flags;
}

/* Add each present leaf to the current run, or hand the run on and start anew. */
static int coalesce_visit(const struct pt_cursor *c, void *arg)
{
	struct coalesce *co = arg;
	struct pt_range r;
	int ret;

	if (!pte_is_leaf(*c->pte, c->level))
		return 0;
	r.va = c->va;
	r.page_size = pt_level_size(c->level);
	r.va_end = r.va + r.page_size;
	r.pa = pte_addr(*c->pte, c->level);
	r.pa_end = r.pa + r.page_size;
	r.flags = pt_cursor_flags(c);
	if (co->have && range_extends(&co->cur, &r)) {
		co->cur.va_end = r.va_end;
		co->cur.pa_end = r.pa_end;
		return 0;
	}
	if (co->have) {
		ret = co->fn(&co->cur, co->arg);
		if (ret)
			return ret;
	}
	co->cur = r;
	co->have = true;
	return 0;
}

int pt_for_each_range(paddr_t root, int (*fn)(const struct pt_range *r, void *arg), void *arg)
{
	struct coalesce co = { .have = false, .fn = fn, .arg = arg };
	struct pt_ops ops = { .visit = coalesce_visit, .stop_level = PT_LEVEL_PT };
	int r = pt_walk_range(root, 0, 0, &ops, &co);

	if (r == 0 && co.have)
		r = fn(&co.cur, arg);
	return r;
}

void pt_format_flags(pte_t flags, char out[5])
{
	out[0] = flags & PTE_U ? 'u' : '-';
	out[1] = flags & PTE_W ? 'w' : '-';
	out[2] = flags & PTE_NX ? '-' : 'x';
	out[3] = flags & PTE_G ? 'g' : '-';
	out[4] = '\0';
}

static const char *size_name(uint64_t page_size)
{
	switch (page_size) {
	case 1UL << 12:
		return "4K";
	case 1UL << 21:
		return "2M";
	case 1UL << 30:
		return "1G";
	}
	return "?";
}

int pt_format_range(const struct pt_range *r, char *buf, size_t size)
{
	char flags[5];

	pt_format_flags(r->flags, flags);
	return snprintf(buf, size, "%016lx-%016lx %016lx-%016lx %s %s", r->va, r->va_end, r->pa,
			r->pa_end, size_name(r->page_size), flags);
}

struct dump_out {
	void (*print)(const char *line, void *arg);
	void *arg;
};

static int print_range(const struct pt_range *r, void *arg)
{
	struct dump_out *out = arg;
	char line[PT_DUMP_LINE_MAX];

	pt_format_range(r, line, sizeof(line));
	out->print(line, out->arg);
	return 0;
}

int pt_dump(paddr_t root, void (*print)(const char *line, void *arg), void *arg)
{
	struct dump_out out = { print, arg };
	char line[PT_DUMP_LINE_MAX];
	int r;

	snprintf(line, sizeof(line), "PTDUMP BEGIN cr3=%016lx", root);
	print(line, arg);
	r = pt_for_each_range(root, print_range, &out);
	print("PTDUMP END", arg);
	return r;
}
