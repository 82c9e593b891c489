/*
 * lab1.*: the page-table walker (kern/pgtable.c).
 *
 * The tests build their own page tables with their own index arithmetic (not
 * the walker's), call the walker through a fault catcher (a crashing walker
 * fails one test instead of panicking the run), and free every table through
 * a ledger of the frames pt_frame_alloc handed out, so a walker that corrupts
 * its tables cannot make the cleanup crash. Addresses come from the seed.
 */
#include "kern/console.h"
#include "kern/cpu.h"
#include "kern/frame.h"
#include "kern/kvm.h"
#include "kern/panic.h"
#include "kern/pgtable.h"
#include "kern/test/hooks.h"
#include "kern/test/ktest.h"
#include "kern/trap.h"
#include "kern/x86.h"
#include "lib/printfmt.h"
#include "lib/string.h"

#define ALL_EFF (PTE_U | PTE_W | PTE_NX)

void kmain(uint32_t magic, uint32_t mbi_pa);

/* ---- Calling the walker: a fault fails the test at the calling line --------- */

#define try_walk(root, va, c) KT_CALL(pt_walk(root, va, c))
#define try_translate(root, va, t) KT_CALL(pt_translate(root, va, t))
#define try_create(root, va, level, c) KT_CALL(pt_walk_create(root, va, level, c))
#define try_ranges(root, fn, arg) KT_CALL(pt_for_each_range(root, fn, arg))
#define try_dump(root, print, arg) KT_CALL(pt_dump(root, print, arg))

/* ---- Test page tables, built without the walker ---------------------------- */

struct ttree {
	paddr_t root;
	struct pt_ledger ledger;
};

static struct ttree the_tree;

/* The test's own index arithmetic, independent of the walker's. */
static unsigned idx(uint64_t va, int level)
{
	return (va >> (12 + 9 * (level - 1))) & 511;
}

static pte_t *table_at(paddr_t pa)
{
	return pa2kva(pa);
}

static void tree_destroy(void *arg)
{
	struct ttree *t = arg;

	pt_ledger_free_all(&t->ledger);
}

static paddr_t tree_alloc_table(struct ttree *t)
{
	paddr_t pa = pt_frame_alloc();

	KT_ASSERT_MSG(pa != 0, "out of frames while building a test table");
	KT_ASSERT_MSG(!t->ledger.overflow, "test bug: more than %d tables", PT_LEDGER_MAX);
	memset(table_at(pa), 0, PAGE_SIZE);
	return pa;
}

/* tree_new - an empty PML4 whose tables are all freed after the test. */
static struct ttree *tree_new(void)
{
	struct ttree *t = &the_tree;

	pt_ledger_attach(&t->ledger);
	ktest_defer(tree_destroy, t);
	t->root = tree_alloc_table(t);
	return t;
}

/* tree_entry - va's entry at `level`, creating missing tables with table_flags. */
static pte_t *tree_entry(struct ttree *t, uint64_t va, int level, pte_t table_flags)
{
	paddr_t table = t->root;

	for (int l = PT_LEVEL_PML4; l > level; l--) {
		pte_t *e = &table_at(table)[idx(va, l)];

		if (!(*e & PTE_P))
			*e = tree_alloc_table(t) | table_flags;
		KT_ASSERT_MSG(l == PT_LEVEL_PML4 || !(*e & PTE_PS),
			      "test bug: a huge page is in the way at %#lx", va);
		table = *e & PTE_ADDR_MASK;
	}
	return &table_at(table)[idx(va, level)];
}

/* tree_map - a leaf at `level` mapping va to pa, with P (and PS) added to flags. */
static pte_t *tree_map(struct ttree *t, uint64_t va, paddr_t pa, int level, pte_t flags)
{
	pte_t *e = tree_entry(t, va, level, PTE_P | PTE_W | PTE_U);

	*e = pa | flags | PTE_P | (level > PT_LEVEL_PT ? PTE_PS : 0);
	return e;
}

/* tree_path - the entries on va's path, path[4] (PML4) down to path[level]. */
static void tree_path(struct ttree *t, uint64_t va, int level, pte_t *path[5])
{
	for (int l = PT_LEVEL_PML4; l >= level; l--)
		path[l] = tree_entry(t, va, l, PTE_P | PTE_W | PTE_U);
}

/* existing_entry - va's entry at `level` if every table above it exists, else NULL. */
static pte_t *existing_entry(paddr_t root, uint64_t va, int level)
{
	paddr_t table = root;

	for (int l = PT_LEVEL_PML4; l > level; l--) {
		pte_t e = table_at(table)[idx(va, l)];

		if (!(e & PTE_P) || (l < PT_LEVEL_PML4 && (e & PTE_PS)) ||
		    !frame_is_allocated(e & PTE_ADDR_MASK))
			return NULL;
		table = e & PTE_ADDR_MASK;
	}
	return &table_at(table)[idx(va, level)];
}

/* ---- Random addresses ---------------------------------------------------------- */

/* A canonical address in PML4 slot `slot`, aligned to align. */
static uint64_t rand_va_in_slot(unsigned slot, uint64_t align)
{
	uint64_t off = rng_below(ktest_rng(), 1UL << 39) & ~(align - 1);

	return pt_sign_extend(((uint64_t)slot << 39) | off);
}

/* Three different PML4 slots, anywhere in the address space. */
static void rand_slots(unsigned slots[3])
{
	slots[0] = (unsigned)rng_below(ktest_rng(), 512);
	slots[1] = (slots[0] + 1 + (unsigned)rng_below(ktest_rng(), 170)) % 512;
	slots[2] = (slots[1] + 1 + (unsigned)rng_below(ktest_rng(), 170)) % 512;
}

/* A physical address below 2^46 (the walker never touches it), aligned. */
static paddr_t rand_pa(uint64_t align)
{
	return rng_below(ktest_rng(), 1UL << 46) & ~(align - 1);
}

/* va with its index at `level` changed to another random value. */
static uint64_t other_index(uint64_t va, int level)
{
	unsigned shift = 12 + 9 * (level - 1);
	uint64_t old = idx(va, level);
	uint64_t new = (old + 1 + rng_below(ktest_rng(), 511)) % 512;

	return pt_sign_extend((va & ~(511UL << shift)) | (new << shift));
}

/* ---- Checks --------------------------------------------------------------------- */

static const char *flag_str(pte_t flags, char buf[5])
{
	pt_format_flags(flags, buf);
	return buf;
}

/* check_translation - va must translate to pa in a level-`level` page with flags. */
static void check_translation(paddr_t root, uint64_t va, paddr_t pa, int level, pte_t flags)
{
	struct pt_translation t;
	char want[5], got[5];
	int r = try_translate(root, va, &t);

	KT_ASSERT_MSG(r == 0, "pt_translate(%#lx) returned %d (%s), expected 0", va, r, errname(r));
	KT_ASSERT_MSG(t.pa == pa, "pt_translate(%#lx): pa %#lx, expected %#lx", va, t.pa, pa);
	KT_ASSERT_MSG(t.level == level, "pt_translate(%#lx): level %d, expected %d", va, t.level,
		      level);
	KT_ASSERT_MSG(t.size == pt_level_size(level),
		      "pt_translate(%#lx): size %#lx, expected %#lx", va, t.size,
		      pt_level_size(level));
	KT_ASSERT_MSG(t.flags == flags, "pt_translate(%#lx): flags %#lx (%s), expected %#lx (%s)",
		      va, t.flags, flag_str(t.flags, got), flags, flag_str(flags, want));
}

/* check_leaf - pt_walk(va) must stop at the present leaf `pte` of `level`. */
static void check_leaf(paddr_t root, uint64_t va, const pte_t *pte, int level)
{
	struct pt_cursor c;
	int r = try_walk(root, va, &c);

	KT_ASSERT_MSG(r == 0, "pt_walk(%#lx) returned %d (%s), expected 0", va, r, errname(r));
	KT_ASSERT_MSG(c.level == level, "pt_walk(%#lx): level %d, expected %d", va, c.level, level);
	KT_ASSERT_MSG(c.pte == pte, "pt_walk(%#lx): entry at %p, expected the one at %p", va, c.pte,
		      pte);
	KT_ASSERT_MSG(c.va == ROUNDDOWN(va, pt_level_size(level)),
		      "pt_walk(%#lx): cursor va %#lx, expected %#lx", va, c.va,
		      ROUNDDOWN(va, pt_level_size(level)));
}

/* check_hole - pt_walk and pt_translate(va) must report the missing entry `pte` at `level`. */
static void check_hole(paddr_t root, uint64_t va, const pte_t *pte, int level)
{
	struct pt_cursor c;
	struct pt_translation t;
	int r = try_walk(root, va, &c);

	KT_ASSERT_MSG(r == -ENOENT, "pt_walk(%#lx) returned %d (%s), expected -ENOENT", va, r,
		      errname(r));
	KT_ASSERT_MSG(c.level == level, "pt_walk(%#lx): stopped at level %d, expected %d", va,
		      c.level, level);
	KT_ASSERT_MSG(!pte || c.pte == pte, "pt_walk(%#lx): entry at %p, expected the one at %p",
		      va, c.pte, pte);
	r = try_translate(root, va, &t);
	KT_ASSERT_MSG(r == -ENOENT, "pt_translate(%#lx) returned %d (%s), expected -ENOENT", va, r,
		      errname(r));
	KT_ASSERT_MSG(t.level == level, "pt_translate(%#lx): level %d, expected %d", va, t.level,
		      level);
	KT_ASSERT_MSG(
		t.pa == 0 && t.size == 0 && t.flags == 0,
		"pt_translate(%#lx) failed but left pa %#lx size %#lx flags %#lx (expected 0)", va,
		t.pa, t.size, t.flags);
}

/* check_hole_eff - the cursor of the hole at va carries eff, the path above it. */
static void check_hole_eff(paddr_t root, uint64_t va, pte_t eff)
{
	struct pt_cursor c;
	int r = try_walk(root, va, &c);

	KT_ASSERT_MSG(r == -ENOENT, "pt_walk(%#lx) returned %d (%s), expected -ENOENT", va, r,
		      errname(r));
	KT_ASSERT_MSG((c.eff & ALL_EFF) == eff,
		      "pt_walk(%#lx): the hole at level %d has effective bits %#lx, expected %#lx "
		      "(a not-present entry's own bits do not count)",
		      va, c.level, c.eff & ALL_EFF, eff);
}

/* The leaf's own bits that show in a translation's flags. */
static pte_t leaf_flags(pte_t pte)
{
	return PTE_P | (pte & (PTE_U | PTE_W | PTE_NX | PTE_G));
}

/* Random U/W/NX/G, for leaves. */
static pte_t rand_leaf_flags(void)
{
	static const pte_t bits[] = { PTE_U, PTE_W, PTE_NX, PTE_G };
	pte_t f = 0;

	for (size_t i = 0; i < ARRAY_SIZE(bits); i++)
		if (rng_below(ktest_rng(), 2))
			f |= bits[i];
	return f;
}

/* ---- Walk ----------------------------------------------------------------------- */

static const char rodata_probe[] = "lab1 rodata probe";
static uint64_t data_probe = 0x1ab1;
static uint64_t bss_probe[8];

/* A kernel-image or direct-map address: 2 MiB pages, kernel-only, writable, global. */
static void check_kernel_va(paddr_t root, uint64_t va)
{
	paddr_t pa = kva2pa((void *)va);
	const pte_t *leaf;

	check_translation(root, va, pa, PT_LEVEL_PD, PTE_P | PTE_W | PTE_G);
	if (va >= KERNBASE)
		leaf = &boot_pd_kern[idx(va, 2)];
	else
		leaf = &boot_pd_dmap[idx(va, 3)][idx(va, 2)];
	/* The walker reaches tables through the direct map. */
	check_leaf(root, va, pa2kva(kva2pa(leaf)), PT_LEVEL_PD);
}

KTEST(lab1, walk_kernel)
{
	paddr_t root = kernel_pml4_pa();
	uint64_t local = 0;
	uint64_t image = (uint64_t)(__kernel_end - __kernel_start);

	check_kernel_va(root, (uint64_t)(void *)kmain);
	check_kernel_va(root, (uint64_t)(void *)pt_walk);
	check_kernel_va(root, (uint64_t)rodata_probe);
	check_kernel_va(root, (uint64_t)&data_probe);
	check_kernel_va(root, (uint64_t)&bss_probe[7]);
	check_kernel_va(root, (uint64_t)boot_pml4);
	check_kernel_va(root, (uint64_t)&local);
	check_kernel_va(root, (uint64_t)boot_stack_top - 8);
	for (int i = 0; i < 16; i++)
		check_kernel_va(root, (uint64_t)__kernel_start + rng_below(ktest_rng(), image));
	(void)data_probe;
	(void)bss_probe;
}

KTEST(lab1, walk_dmap)
{
	paddr_t root = kernel_pml4_pa();
	paddr_t frame = frame_alloc();
	uint64_t beyond = DMAP_BASE + DMAP_SIZE + rng_below(ktest_rng(), HUGE_1G);

	KT_ASSERT(frame != 0);
	frame_free(frame);
	check_kernel_va(root, DMAP_BASE);
	check_kernel_va(root, DMAP_BASE + DMAP_SIZE - 1);
	check_kernel_va(root, (uint64_t)pa2kva(frame) + rng_below(ktest_rng(), PAGE_SIZE));
	for (int i = 0; i < 16; i++)
		check_kernel_va(root, DMAP_BASE + rng_below(ktest_rng(), DMAP_SIZE));
	/* The boot PDPT of the direct map has 4 entries: the 5th GiB is a hole at level 3. */
	check_hole(root, beyond, pa2kva(kva2pa(&boot_pdpt_dmap[idx(beyond, 3)])), PT_LEVEL_PDPT);
	/* The identity map is gone, and the kernel maps nothing else in the user half. */
	check_hole(root, rand_va_in_slot(1 + (unsigned)rng_below(ktest_rng(), 255), 1), NULL,
		   PT_LEVEL_PML4);
}

KTEST(lab1, walk_huge)
{
	struct ttree *t = tree_new();
	unsigned slots[3];
	const pte_t soft = PTE_SOFT_MASK;
	struct {
		int level;
		uint64_t va;
		paddr_t pa;
		pte_t extra; /* bits that are not address bits at this level */
		pte_t *pte;
	} m[3] = {
		{ PT_LEVEL_PDPT, 0, 0, soft, NULL },
		{ PT_LEVEL_PD, 0, 0, soft | PTE_PAT_HUGE, NULL },
		{ PT_LEVEL_PT, 0, 0, soft | PTE_PS /* PAT in a 4K entry */, NULL },
	};

	rand_slots(slots);
	for (int i = 0; i < 3; i++) {
		uint64_t size = pt_level_size(m[i].level);
		pte_t flags = rand_leaf_flags();

		m[i].va = rand_va_in_slot(slots[i], size);
		m[i].pa = rand_pa(size);
		m[i].pte = tree_map(t, m[i].va, m[i].pa, m[i].level, flags | m[i].extra);
		check_leaf(t->root, m[i].va + rng_below(ktest_rng(), size), m[i].pte, m[i].level);
		check_translation(t->root, m[i].va, m[i].pa, m[i].level, leaf_flags(flags));
		check_translation(t->root, m[i].va + size - 1, m[i].pa + size - 1, m[i].level,
				  leaf_flags(flags));
		for (int k = 0; k < 8; k++) {
			uint64_t off = rng_below(ktest_rng(), size);

			check_translation(t->root, m[i].va + off, m[i].pa + off, m[i].level,
					  leaf_flags(flags));
		}
		/* Just past the page: another entry of the same table, still empty. */
		if (idx(m[i].va, m[i].level) < 511)
			check_hole(t->root, m[i].va + size, m[i].pte + 1, m[i].level);
	}
}

KTEST(lab1, pml4_ps)
{
	struct ttree *t = tree_new();
	unsigned slot = (unsigned)rng_below(ktest_rng(), 512);
	uint64_t va4k = rand_va_in_slot(slot, PAGE_SIZE);
	uint64_t va2m = other_index(va4k, PT_LEVEL_PDPT) & ~(HUGE_2M - 1);
	paddr_t pa4k = rand_pa(PAGE_SIZE), pa2m = rand_pa(HUGE_2M);
	pte_t *leaf4k = tree_map(t, va4k, pa4k, PT_LEVEL_PT, PTE_W);
	pte_t *leaf2m = tree_map(t, va2m, pa2m, PT_LEVEL_PD, PTE_U);
	pte_t *pml4e = tree_entry(t, va4k, PT_LEVEL_PML4, 0);

	/* PS is reserved in a PML4 entry: no 512 GiB pages; the walk goes on down. */
	*pml4e |= PTE_PS;
	check_leaf(t->root, va4k, leaf4k, PT_LEVEL_PT);
	check_translation(t->root, va4k, pa4k, PT_LEVEL_PT, PTE_P | PTE_W);
	check_leaf(t->root, va2m + 5, leaf2m, PT_LEVEL_PD);
	check_translation(t->root, va2m + 5, pa2m + 5, PT_LEVEL_PD, PTE_P | PTE_U);
}

/* ---- Permissions --------------------------------------------------------------- */

KTEST(lab1, perms)
{
	struct ttree *t = tree_new();
	unsigned slots[3];
	pte_t *path[3][5];
	uint64_t va[3];
	paddr_t pa[3];

	rand_slots(slots);
	for (int i = 0; i < 3; i++) {
		int level = PT_LEVEL_PT + i;

		va[i] = rand_va_in_slot(slots[i], pt_level_size(level));
		pa[i] = rand_pa(pt_level_size(level));
		tree_map(t, va[i], pa[i], level, 0);
		tree_path(t, va[i], level, path[i]);
	}
	for (int trial = 0; trial < 96; trial++) {
		int i = (int)rng_below(ktest_rng(), 3), leaf = PT_LEVEL_PT + i;
		pte_t want = PTE_U | PTE_W, g = rng_below(ktest_rng(), 2) ? PTE_G : 0;
		struct pt_cursor c;

		for (int l = PT_LEVEL_PML4; l >= leaf; l--) {
			pte_t f = rand_leaf_flags() & ALL_EFF;

			*path[i][l] = (*path[i][l] & ~(ALL_EFF | PTE_G)) | f;
			want = (want & f & (PTE_U | PTE_W)) | ((want | f) & PTE_NX);
		}
		*path[i][leaf] |= g;
		check_translation(t->root, va[i], pa[i], leaf, PTE_P | want | g);
		KT_EQ_ERR(try_walk(t->root, va[i], &c), 0);
		KT_ASSERT_MSG((c.eff & ALL_EFF) == want,
			      "pt_walk(%#lx): cursor eff %#lx, expected %#lx", va[i],
			      c.eff & ALL_EFF, want);
	}
}

/* ---- Not present, non-canonical ------------------------------------------------------ */

KTEST(lab1, not_present)
{
	struct ttree *t = tree_new();
	unsigned slots[3];
	uint64_t va, va2m;
	pte_t *path[5], *leaf2m, saved;

	rand_slots(slots);
	va = rand_va_in_slot(slots[0], PAGE_SIZE);
	check_hole(t->root, va, &table_at(t->root)[idx(va, 4)], PT_LEVEL_PML4);
	tree_map(t, va, rand_pa(PAGE_SIZE), PT_LEVEL_PT, PTE_W | PTE_U);
	tree_path(t, va, PT_LEVEL_PT, path);
	for (int l = PT_LEVEL_PML4; l >= PT_LEVEL_PT; l--) {
		saved = *path[l];
		/* Everything but P: the address and the flags must be ignored. */
		*path[l] = saved & ~PTE_P;
		check_hole(t->root, va, path[l], l);
		*path[l] = ~PTE_P;
		check_hole(t->root, va, path[l], l);
		/*
		 * A not-present entry's bits are the OS's, not the MMU's: the
		 * effective permissions stop at the entries above it (here all
		 * U|W), so its NX bit must not show in the cursor.
		 */
		check_hole_eff(t->root, va, PTE_U | PTE_W);
		*path[l] = saved;
	}
	/* A not-present huge leaf is a hole too. */
	va2m = rand_va_in_slot(slots[1], HUGE_2M);
	leaf2m = tree_map(t, va2m, rand_pa(HUGE_2M), PT_LEVEL_PD, PTE_W);
	*leaf2m &= ~PTE_P;
	check_hole(t->root, va2m + rng_below(ktest_rng(), HUGE_2M), leaf2m, PT_LEVEL_PD);
	/* Another slot: a hole right at the PML4. */
	va = rand_va_in_slot(slots[2], 1);
	check_hole(t->root, va, &table_at(t->root)[idx(va, 4)], PT_LEVEL_PML4);
}

static void check_rejected(paddr_t root, uint64_t va)
{
	struct pt_cursor c;
	struct pt_translation t;
	size_t before = frame_free_count();
	int r;

	r = try_walk(root, va, &c);
	KT_ASSERT_MSG(r == -EINVAL, "pt_walk(%#lx) returned %d (%s), expected -EINVAL", va, r,
		      errname(r));
	r = try_translate(root, va, &t);
	KT_ASSERT_MSG(r == -EINVAL, "pt_translate(%#lx) returned %d (%s), expected -EINVAL", va, r,
		      errname(r));
	r = try_create(root, va, PT_LEVEL_PT, &c);
	KT_ASSERT_MSG(r == -EINVAL, "pt_walk_create(%#lx) returned %d (%s), expected -EINVAL", va,
		      r, errname(r));
	KT_ASSERT_MSG(frame_free_count() == before,
		      "pt_walk_create(%#lx) allocated for a non-canonical address", va);
}

KTEST(lab1, noncanonical)
{
	static const uint64_t edges[] = {
		0x0000800000000000UL, 0xffff7fffffffffffUL, 0x8000000000000000UL,
		0x7fffffffffffffffUL, 0x0001000000000000UL, 0xfffe800000000000UL,
	};
	static const uint64_t canonical_edges[] = {
		0,
		0x00007fffffffffffUL,
		0xffff800000000000UL,
		0xffffffffffffffffUL,
	};
	struct ttree *t = tree_new();
	paddr_t kroot = kernel_pml4_pa();

	for (size_t i = 0; i < ARRAY_SIZE(edges); i++) {
		check_rejected(t->root, edges[i]);
		check_rejected(kroot, edges[i]);
	}
	for (int i = 0; i < 32; i++) {
		uint64_t va = rng_next(ktest_rng());

		if (pt_is_canonical(va))
			va ^= 1UL << (48 + rng_below(ktest_rng(), 16));
		check_rejected(t->root, va);
	}
	for (size_t i = 0; i < ARRAY_SIZE(canonical_edges); i++) {
		uint64_t va = canonical_edges[i];

		check_hole(t->root, va, &table_at(t->root)[idx(va, 4)], PT_LEVEL_PML4);
	}
}

/* ---- Walk with create ----------------------------------------------------------- */

/*
 * expect_create - pt_walk_create(va, level) must succeed, allocate exactly
 * `tables` tables, and return va's entry at `level`, which must hold `old`.
 */
static pte_t *expect_create(struct ttree *t, uint64_t va, int level, int tables, pte_t old)
{
	size_t before = frame_free_count();
	struct pt_cursor c;
	pte_t *want;
	int r = try_create(t->root, va, level, &c);

	KT_ASSERT_MSG(r == 0, "pt_walk_create(%#lx, level %d) returned %d (%s), expected 0", va,
		      level, r, errname(r));
	KT_ASSERT_MSG(before - frame_free_count() == (size_t)tables,
		      "pt_walk_create(%#lx, level %d) allocated %ld table(s), expected %d", va,
		      level, (long)(before - frame_free_count()), tables);
	want = existing_entry(t->root, va, level);
	KT_ASSERT_MSG(want != NULL, "pt_walk_create(%#lx, level %d): the path is not complete", va,
		      level);
	KT_ASSERT_MSG(c.level == level, "pt_walk_create(%#lx): level %d, expected %d", va, c.level,
		      level);
	KT_ASSERT_MSG(c.pte == want, "pt_walk_create(%#lx): entry at %p, expected the one at %p",
		      va, c.pte, want);
	KT_ASSERT_MSG(c.va == ROUNDDOWN(va, pt_level_size(level)),
		      "pt_walk_create(%#lx): cursor va %#lx, expected %#lx", va, c.va,
		      ROUNDDOWN(va, pt_level_size(level)));
	KT_ASSERT_MSG(*c.pte == old, "pt_walk_create(%#lx): the entry holds %#lx, expected %#lx",
		      va, *c.pte, old);
	return c.pte;
}

KTEST(lab1, create_levels)
{
	struct ttree *t = tree_new();
	unsigned slots[3];
	uint64_t va, va2m, va1g;
	paddr_t pa = rand_pa(PAGE_SIZE);
	pte_t *e;

	rand_slots(slots);
	va = rand_va_in_slot(slots[0], 1);
	expect_create(t, va, PT_LEVEL_PT, 3, 0);
	expect_create(t, va, PT_LEVEL_PT, 0, 0);
	expect_create(t, other_index(va, PT_LEVEL_PT), PT_LEVEL_PT, 0, 0);
	expect_create(t, other_index(va, PT_LEVEL_PD), PT_LEVEL_PT, 1, 0);
	expect_create(t, other_index(va, PT_LEVEL_PDPT), PT_LEVEL_PT, 2, 0);
	/* A 2 MiB and a 1 GiB entry need fewer levels. */
	va2m = rand_va_in_slot(slots[1], 1);
	expect_create(t, va2m, PT_LEVEL_PD, 2, 0);
	expect_create(t, other_index(va2m, PT_LEVEL_PD), PT_LEVEL_PD, 0, 0);
	expect_create(t, va2m, PT_LEVEL_PT, 1, 0);
	va1g = rand_va_in_slot(slots[2], 1);
	expect_create(t, va1g, PT_LEVEL_PDPT, 1, 0);
	expect_create(t, va1g, PT_LEVEL_PT, 2, 0);
	/* The entry it returns is the one the MMU uses. */
	e = expect_create(t, va, PT_LEVEL_PT, 0, 0);
	*e = pa | PTE_P | PTE_W;
	check_translation(t->root, va, pa + (va & (PAGE_SIZE - 1)), PT_LEVEL_PT, PTE_P | PTE_W);
	expect_create(t, va, PT_LEVEL_PT, 0, pa | PTE_P | PTE_W);
}

KTEST(lab1, create_bad_level)
{
	struct ttree *t = tree_new();
	uint64_t va = rand_va_in_slot((unsigned)rng_below(ktest_rng(), 512), 1);
	size_t before = frame_free_count();
	struct pt_cursor c;

	KT_EQ_ERR(try_create(t->root, va, 0, &c), -EINVAL);
	KT_EQ_ERR(try_create(t->root, va, PT_LEVEL_PML4, &c), -EINVAL);
	KT_EQ_ERR(try_create(t->root, va, 7, &c), -EINVAL);
	KT_EQ(frame_free_count(), before);
}

/* check_new_table - a table pt_walk_create made: zero but for va's entry when not the last. */
static void check_new_table(paddr_t table_pa, uint64_t va, int level, bool last)
{
	const pte_t *table = table_at(table_pa);

	for (unsigned i = 0; i < PT_ENTRIES; i++) {
		if (!last && i == idx(va, level))
			continue;
		KT_ASSERT_MSG(
			table[i] == 0,
			"new level-%d table at %#lx: entry %u is %#lx, expected 0 (zero new tables)",
			level, table_pa, i, table[i]);
	}
}

KTEST(lab1, create_fresh)
{
	struct ttree *t = tree_new();
	unsigned slots[3];
	uint64_t va, va2;
	paddr_t table = t->root, pa = rand_pa(PAGE_SIZE);
	pte_t *e, *pml4e;

	rand_slots(slots);
	va = rand_va_in_slot(slots[0], 1);
	e = expect_create(t, va, PT_LEVEL_PT, 3, 0);
	/* The new tables are zeroed; the entries above them are P|W|U, the leaf decides. */
	for (int l = PT_LEVEL_PML4; l > PT_LEVEL_PT; l--) {
		pte_t entry = table_at(table)[idx(va, l)];
		pte_t bits = entry & ~PTE_ADDR_MASK & ~(PTE_A | PTE_D);

		KT_ASSERT_MSG(
			bits == (PTE_P | PTE_W | PTE_U),
			"the new level-%d entry for %#lx has flags %#lx, expected P|W|U (%#lx)", l,
			va, bits, PTE_P | PTE_W | PTE_U);
		table = entry & PTE_ADDR_MASK;
		check_new_table(table, va, l - 1, l - 1 == PT_LEVEL_PT);
	}
	*e = pa | PTE_P | PTE_U | PTE_W;
	check_translation(t->root, va, pa + (va & (PAGE_SIZE - 1)), PT_LEVEL_PT,
			  PTE_P | PTE_U | PTE_W);
	/* An existing entry keeps its flags: a read-only, no-execute, kernel-only PML4 entry. */
	va2 = rand_va_in_slot(slots[1], PAGE_SIZE);
	pml4e = tree_entry(t, va2, PT_LEVEL_PML4, 0);
	tree_entry(t, va2, PT_LEVEL_PDPT, PTE_P | PTE_NX);
	e = expect_create(t, va2, PT_LEVEL_PT, 2, 0);
	KT_ASSERT_MSG((*pml4e & ~PTE_ADDR_MASK & ~PTE_A) == (PTE_P | PTE_NX),
		      "pt_walk_create(%#lx) changed an existing PML4 entry's flags to %#lx", va2,
		      *pml4e & ~PTE_ADDR_MASK);
	*e = pa | PTE_P | PTE_U | PTE_W;
	check_translation(t->root, va2, pa, PT_LEVEL_PT, PTE_P | PTE_NX);
}

KTEST(lab1, create_huge)
{
	struct ttree *t = tree_new();
	unsigned slots[3];
	uint64_t va2m, va1g;
	pte_t *leaf2m, *leaf1g;
	size_t before;
	struct pt_cursor c;
	int r;

	rand_slots(slots);
	va2m = rand_va_in_slot(slots[0], HUGE_2M);
	va1g = rand_va_in_slot(slots[1], HUGE_1G);
	leaf2m = tree_map(t, va2m, rand_pa(HUGE_2M), PT_LEVEL_PD, PTE_W);
	leaf1g = tree_map(t, va1g, rand_pa(HUGE_1G), PT_LEVEL_PDPT, PTE_W);
	before = frame_free_count();
	/* A huge page above the level asked for: -EEXIST at the huge leaf, nothing allocated. */
	r = try_create(t->root, va2m + rng_below(ktest_rng(), HUGE_2M), PT_LEVEL_PT, &c);
	KT_EQ_ERR(r, -EEXIST);
	KT_ASSERT_MSG(c.pte == leaf2m && c.level == PT_LEVEL_PD,
		      "-EEXIST must come with the cursor at the 2 MiB leaf");
	for (int level = PT_LEVEL_PT; level <= PT_LEVEL_PD; level++) {
		r = try_create(t->root, va1g + rng_below(ktest_rng(), HUGE_1G), level, &c);
		KT_EQ_ERR(r, -EEXIST);
		KT_ASSERT_MSG(c.pte == leaf1g && c.level == PT_LEVEL_PDPT,
			      "-EEXIST must come with the cursor at the 1 GiB leaf");
	}
	KT_EQ(frame_free_count(), before);
	/* At the huge page's own level, its entry is the answer. */
	expect_create(t, va2m + 3, PT_LEVEL_PD, 0, *leaf2m);
	expect_create(t, va1g + 3, PT_LEVEL_PDPT, 0, *leaf1g);
}

static pte_t snapshot[PT_ENTRIES];

/*
 * expect_oom - with only `budget` frames to give, pt_walk_create(va) must fail
 * with -ENOMEM and leave the frame count and the table at `table` as they were.
 */
static void expect_oom(struct ttree *t, uint64_t va, long budget, paddr_t table)
{
	size_t before = frame_free_count();
	struct pt_cursor c;
	int r;

	memcpy(snapshot, table_at(table), sizeof(snapshot));
	frame_fail_after(budget);
	r = try_create(t->root, va, PT_LEVEL_PT, &c);
	frame_fail_after(-1);
	KT_ASSERT_MSG(
		r == -ENOMEM,
		"pt_walk_create(%#lx) with %ld frame(s) left returned %d (%s), expected -ENOMEM",
		va, budget, r, errname(r));
	KT_ASSERT_MSG(frame_free_count() == before,
		      "pt_walk_create(%#lx) failed after %ld allocation(s) but %ld table(s) stayed "
		      "allocated (free what you allocated)",
		      va, budget, (long)(before - frame_free_count()));
	KT_ASSERT_MSG(memcmp(snapshot, table_at(table), sizeof(snapshot)) == 0,
		      "pt_walk_create(%#lx) failed but left a changed entry in the last table that "
		      "existed before (at %#lx)",
		      va, table);
}

/* A visitor that fills the first `left` entries it meets, then fails. */
struct fill_then_fail {
	int left;
	paddr_t pa;
};

static int fill_visit(const struct pt_cursor *c, void *arg)
{
	struct fill_then_fail *f = arg;

	if (f->left-- == 0)
		return -E2BIG;
	*c->pte = f->pa | PTE_P | PTE_W;
	return 0;
}

/*
 * check_failed_range - a walk with alloc creates three tables, its visitor
 * fills some entries of the new page table and then fails: the tables are
 * not empty, so they must stay (section 6: only an empty new table is taken
 * back; the caller cleans up the rest).
 */
static void check_failed_range(struct ttree *t, uint64_t va)
{
	int filled = 1 + (int)rng_below(ktest_rng(), 8);
	struct fill_then_fail f = { .left = filled, .pa = rand_pa(PAGE_SIZE) };
	struct pt_ops ops = { .visit = fill_visit, .stop_level = PT_LEVEL_PT, .alloc = true };
	uint64_t end = va + (uint64_t)(filled + 1 + rng_below(ktest_rng(), 8)) * PAGE_SIZE;
	int r = pt_walk_range(t->root, va, end, &ops, &f);
	pte_t *e;

	KT_ASSERT_MSG(r == -E2BIG, "pt_walk_range with alloc whose visitor failed returned %d (%s), "
		      "expected the visitor's -E2BIG", r, errname(r));
	for (int i = 0; i < filled; i++) {
		e = existing_entry(t->root, va + (uint64_t)i * PAGE_SIZE, PT_LEVEL_PT);
		KT_ASSERT_MSG(e && *e == (f.pa | PTE_P | PTE_W),
			      "after a failed pt_walk_range with alloc, the entry the visitor wrote "
			      "at %#lx is gone: a new table that is not empty must stay",
			      va + (uint64_t)i * PAGE_SIZE);
	}
}

KTEST(lab1, create_oom)
{
	struct ttree *t = tree_new();
	unsigned slots[3];
	uint64_t va;
	pte_t *pml4e;
	paddr_t pdpt;

	rand_slots(slots);
	va = rand_va_in_slot(slots[0], 1);
	for (long budget = 0; budget < 3; budget++)
		expect_oom(t, va, budget, t->root);
	/* The PDPT exists: two tables are missing. */
	va = rand_va_in_slot(slots[1], 1);
	pml4e = tree_entry(t, va, PT_LEVEL_PML4, 0);
	tree_entry(t, va, PT_LEVEL_PDPT, PTE_P | PTE_W | PTE_U);
	pdpt = *pml4e & PTE_ADDR_MASK;
	for (long budget = 0; budget < 2; budget++) {
		expect_oom(t, va, budget, pdpt);
		KT_ASSERT_MSG((*pml4e & PTE_P) && (*pml4e & PTE_ADDR_MASK) == pdpt &&
				      frame_is_allocated(pdpt),
			      "a failed pt_walk_create must not free a table it did not allocate");
	}
	/* Nothing missing: it needs no frame at all. */
	tree_entry(t, va, PT_LEVEL_PT, PTE_P | PTE_W | PTE_U);
	frame_fail_after(0);
	expect_create(t, va, PT_LEVEL_PT, 0, 0);
	frame_fail_after(-1);
	/* And with frames again, the first address works. */
	expect_create(t, rand_va_in_slot(slots[2], 1), PT_LEVEL_PT, 3, 0);
	check_failed_range(t, rand_va_in_slot(slots[0], HUGE_2M));
}

/* ---- The dump ------------------------------------------------------------------- */

static char dump_text[8192];
static size_t dump_len;

static void capture_line(const char *line, void *arg)
{
	dump_len += strlcpy(dump_text + dump_len, line, sizeof(dump_text) - dump_len);
	if (dump_len < sizeof(dump_text) - 1) {
		dump_text[dump_len++] = '\n';
		dump_text[dump_len] = '\0';
	}
	dump_len = MIN(dump_len, sizeof(dump_text) - 1);
}

static void print_line(const char *line, void *arg)
{
	kprintf("%s\n", line);
}

/* The test's own rendering of one expected dump line. */
static size_t want_line(char *buf, size_t size, uint64_t va, uint64_t va_end, paddr_t pa,
			uint64_t page_size, pte_t flags)
{
	const char *sz = page_size == HUGE_1G ? "1G" : page_size == HUGE_2M ? "2M" : "4K";

	return (size_t)snprintf(buf, size, "%016lx-%016lx %016lx-%016lx %s %c%c%c%c\n", va, va_end,
				pa, pa + (va_end - va), sz, flags & PTE_U ? 'u' : '-',
				flags & PTE_W ? 'w' : '-', flags & PTE_NX ? '-' : 'x',
				flags & PTE_G ? 'g' : '-');
}

/* show_dump - text as TEST INFO lines, indented so that no line looks like a dump. */
static void show_dump(const char *label, const char *text)
{
	ktest_info("%s:", label);
	while (*text) {
		const char *nl = strchr(text, '\n');
		int len = nl ? (int)(nl - text) : (int)strlen(text);

		ktest_info("  | %.*s", len, text);
		text += len + (nl != NULL);
	}
}

/* compare_dump - the captured dump must equal want, line by line. */
static void compare_dump(const char *want)
{
	const char *g = dump_text, *w = want;

	for (int line = 1; *g || *w; line++) {
		const char *gn = strchr(g, '\n'), *wn = strchr(w, '\n');
		size_t gl = gn ? (size_t)(gn - g) : strlen(g);
		size_t wl = wn ? (size_t)(wn - w) : strlen(w);

		if (gl != wl || strncmp(g, w, gl) != 0) {
			show_dump("expected dump", want);
			show_dump("dump from pt_dump", dump_text);
			KT_FAIL("dump line %d is \"%.*s\", expected \"%.*s\"", line, (int)gl, g,
				(int)wl, w);
		}
		g += gl + (g[gl] == '\n');
		w += wl + (w[wl] == '\n');
	}
}

KTEST(lab1, dump_format)
{
	static char want[4096];
	struct ttree *t = tree_new();
	unsigned a = 1 + (unsigned)rng_below(ktest_rng(), 127);
	unsigned b = 128 + (unsigned)rng_below(ktest_rng(), 128);
	unsigned c = 256 + (unsigned)rng_below(ktest_rng(), 256);
	uint64_t n1 = 2 + rng_below(ktest_rng(), 4), va, vb, vc;
	pte_t f1 = rand_leaf_flags(), f2 = rand_leaf_flags(), f3 = rand_leaf_flags();
	paddr_t p1 = rand_pa(PAGE_SIZE), p2 = rand_pa(HUGE_2M), p3 = rand_pa(HUGE_1G);
	size_t n = 0;
	int r;

	n += (size_t)snprintf(want, sizeof(want), "PTDUMP BEGIN cr3=%016lx\n", t->root);
	/* A run of 4K pages, then three pages that each break it in another way. */
	va = rand_va_in_slot(a, HUGE_2M);
	for (uint64_t i = 0; i < n1; i++)
		tree_map(t, va + i * PAGE_SIZE, p1 + i * PAGE_SIZE, PT_LEVEL_PT, f1);
	n += want_line(want + n, sizeof(want) - n, va, va + n1 * PAGE_SIZE, p1, PAGE_SIZE, f1);
	va += n1 * PAGE_SIZE;
	tree_map(t, va, p1 + (n1 + 1) * PAGE_SIZE, PT_LEVEL_PT, f1); /* pa gap */
	n += want_line(want + n, sizeof(want) - n, va, va + PAGE_SIZE, p1 + (n1 + 1) * PAGE_SIZE,
		       PAGE_SIZE, f1);
	va += PAGE_SIZE;
	tree_map(t, va, p1 + (n1 + 2) * PAGE_SIZE, PT_LEVEL_PT, f1 ^ PTE_W); /* other flags */
	n += want_line(want + n, sizeof(want) - n, va, va + PAGE_SIZE, p1 + (n1 + 2) * PAGE_SIZE,
		       PAGE_SIZE, f1 ^ PTE_W);
	va += 2 * PAGE_SIZE; /* va gap */
	tree_map(t, va, p1 + (n1 + 3) * PAGE_SIZE, PT_LEVEL_PT, f1 ^ PTE_W);
	n += want_line(want + n, sizeof(want) - n, va, va + PAGE_SIZE, p1 + (n1 + 3) * PAGE_SIZE,
		       PAGE_SIZE, f1 ^ PTE_W);
	/*
	 * Two 2M pages that coalesce, then a 4K page contiguous with them. The
	 * huge leaves have PAT set: bit 12 of a huge leaf is not address.
	 */
	vb = rand_va_in_slot(b, HUGE_1G) + HUGE_2M * rng_below(ktest_rng(), 500);
	tree_map(t, vb, p2, PT_LEVEL_PD, f2 | PTE_PAT_HUGE);
	tree_map(t, vb + HUGE_2M, p2 + HUGE_2M, PT_LEVEL_PD, f2 | PTE_PAT_HUGE);
	tree_map(t, vb + 2 * HUGE_2M, p2 + 2 * HUGE_2M, PT_LEVEL_PT, f2);
	n += want_line(want + n, sizeof(want) - n, vb, vb + 2 * HUGE_2M, p2, HUGE_2M, f2);
	n += want_line(want + n, sizeof(want) - n, vb + 2 * HUGE_2M, vb + 2 * HUGE_2M + PAGE_SIZE,
		       p2 + 2 * HUGE_2M, PAGE_SIZE, f2);
	/* Two 1G pages in the upper half. */
	vc = pt_sign_extend(((uint64_t)c << 39) + HUGE_1G * rng_below(ktest_rng(), 511));
	tree_map(t, vc, p3, PT_LEVEL_PDPT, f3 | PTE_PAT_HUGE);
	tree_map(t, vc + HUGE_1G, p3 + HUGE_1G, PT_LEVEL_PDPT, f3 | PTE_PAT_HUGE);
	n += want_line(want + n, sizeof(want) - n, vc, vc + 2 * HUGE_1G, p3, HUGE_1G, f3);
	snprintf(want + n, sizeof(want) - n, "PTDUMP END\n");

	dump_len = 0;
	dump_text[0] = '\0';
	r = try_dump(t->root, capture_line, NULL);
	KT_EQ_ERR(r, 0);
	compare_dump(want);
}

/* One leaf of the table lab1.dump loads, and what its translation must be. */
struct oracle_leaf {
	uint64_t va;
	paddr_t pa;
	int level;
	pte_t flags; /* expected effective flags */
};

static struct oracle_leaf oleaves[96];
static int noleaves;

static bool oracle_overlaps(uint64_t va, uint64_t len)
{
	for (int i = 0; i < noleaves; i++) {
		uint64_t s = oleaves[i].va, e = s + pt_level_size(oleaves[i].level);

		if (va < e && s < va + len)
			return true;
	}
	return false;
}

/* A free place for len bytes aligned to align in PML4 slot `slot` (lower half). */
static uint64_t oracle_place(unsigned slot, uint64_t align, uint64_t len)
{
	for (int tries = 0; tries < 100; tries++) {
		uint64_t va = rand_va_in_slot(slot, align);

		if (va + len <= ((uint64_t)slot + 1) << 39 && !oracle_overlaps(va, len))
			return va;
	}
	KT_FAIL("test bug: no room for %#lx bytes in slot %u", len, slot);
}

/* oracle_map - map `count` pages of `level` at va (pa contiguous), noted for the checks. */
static void oracle_map(struct ttree *t, uint64_t va, paddr_t pa, int level, int count, pte_t flags,
		       pte_t eff_mask)
{
	uint64_t size = pt_level_size(level);

	for (int i = 0; i < count; i++) {
		KT_ASSERT(noleaves < (int)ARRAY_SIZE(oleaves));
		tree_map(t, va + i * size, pa + i * size, level, flags);
		oleaves[noleaves++] = (struct oracle_leaf){
			va + i * size,
			pa + i * size,
			level,
			PTE_P | (flags & eff_mask),
		};
	}
}

/* A random 4 GiB-bounded physical address (QEMU's view keeps every bit). */
static paddr_t oracle_pa(uint64_t align)
{
	return rng_below(ktest_rng(), 1UL << 32) & ~(align - 1);
}

static void oracle_build(struct ttree *t)
{
	const pte_t all = PTE_U | PTE_W | PTE_NX | PTE_G;
	unsigned slot[2];
	int n1g = cpu_has_1g_pages() ? 1 + (int)rng_below(ktest_rng(), 2) : 0;
	int n2m = 2 + (int)rng_below(ktest_rng(), 4);
	int runs = 3 + (int)rng_below(ktest_rng(), 5);

	/* Slot 1 is ordinary; everything in slot 0 is read-only from its PML4 entry down. */
	slot[0] = 1 + (unsigned)rng_below(ktest_rng(), 255);
	slot[1] = 1 + (slot[0] + (unsigned)rng_below(ktest_rng(), 254)) % 255;
	tree_entry(t, (uint64_t)slot[0] << 39, PT_LEVEL_PDPT, PTE_P | PTE_U);
	noleaves = 0;
	for (int i = 0; i < n1g; i++) {
		int s = (int)rng_below(ktest_rng(), 2);
		uint64_t va = oracle_place(slot[s], HUGE_1G, HUGE_1G);

		oracle_map(t, va, oracle_pa(HUGE_1G), PT_LEVEL_PDPT, 1, rand_leaf_flags(),
			   s ? all : all & ~PTE_W);
	}
	for (int i = 0; i < n2m; i++) {
		int s = (int)rng_below(ktest_rng(), 2), count = 1 + (int)rng_below(ktest_rng(), 2);
		uint64_t va = oracle_place(slot[s], HUGE_2M, count * HUGE_2M);

		oracle_map(t, va, oracle_pa(HUGE_2M), PT_LEVEL_PD, count, rand_leaf_flags(),
			   s ? all : all & ~PTE_W);
	}
	for (int i = 0; i < runs; i++) {
		int s = (int)rng_below(ktest_rng(), 2), count = 1 + (int)rng_below(ktest_rng(), 6);
		uint64_t va = oracle_place(slot[s], PAGE_SIZE, count * PAGE_SIZE);
		pte_t flags = rand_leaf_flags();
		/* Sometimes the run's physical pages are split in two pieces. */
		int split = rng_below(ktest_rng(), 3) == 0 ? (int)rng_below(ktest_rng(), count) : 0;

		oracle_map(t, va, oracle_pa(PAGE_SIZE), PT_LEVEL_PT, split ? split : count, flags,
			   s ? all : all & ~PTE_W);
		if (split)
			oracle_map(t, va + split * PAGE_SIZE, oracle_pa(PAGE_SIZE), PT_LEVEL_PT,
				   count - split, flags, s ? all : all & ~PTE_W);
	}
	/* The kernel half, shared with the kernel's own PML4, keeps the kernel running. */
	for (int i = PT_ENTRIES / 2; i < PT_ENTRIES; i++)
		table_at(t->root)[i] = boot_pml4[i];
}

struct range_check {
	paddr_t root;
	uint64_t user_bytes;
	int ranges;
};

/* Each dumped range must agree with pt_translate at its first and last byte. */
static int check_range(const struct pt_range *r, void *arg)
{
	struct range_check *rc = arg;
	int level = r->page_size == HUGE_1G ? 3 : r->page_size == HUGE_2M ? 2 : 1;

	KT_ASSERT_MSG(r->va < r->va_end || r->va_end == 0, "empty or reversed range at %#lx",
		      r->va);
	KT_ASSERT_MSG(r->va_end - r->va == r->pa_end - r->pa,
		      "range at %#lx: va and pa lengths differ", r->va);
	check_translation(rc->root, r->va, r->pa, level, r->flags);
	check_translation(rc->root, r->va_end - 1, r->pa_end - 1, level, r->flags);
	if (r->va < USER_TOP)
		rc->user_bytes += r->va_end - r->va;
	rc->ranges++;
	return 0;
}

static uint64_t saved_cr3;

/* Back to the CR3 the test started with, unless already there. */
static void restore_cr3(void *arg)
{
	if (read_cr3() != saved_cr3) {
		write_cr3(saved_cr3);
		/* The test's global pages must not outlive its tables. */
		local_flush_tlb_all();
	}
}

KTEST(lab1, dump)
{
	struct ttree *t = tree_new();
	struct range_check rc = { .root = t->root };
	uint64_t user_bytes = 0;
	int r;

	oracle_build(t);
	saved_cr3 = read_cr3();
	ktest_defer(restore_cr3, NULL);
	write_cr3(t->root);
	/* The grader compares this dump with QEMU's `info tlb` and `info mem` meanwhile. */
	r = try_dump(pt_current_root(), print_line, NULL);
	ktest_sync_host("ptdump", 10000);
	restore_cr3(NULL);
	KT_EQ_ERR(r, 0);
	for (int i = 0; i < noleaves; i++) {
		const struct oracle_leaf *l = &oleaves[i];
		uint64_t size = pt_level_size(l->level);

		check_translation(t->root, l->va, l->pa, l->level, l->flags);
		check_translation(t->root, l->va + size - 1, l->pa + size - 1, l->level, l->flags);
		user_bytes += size;
	}
	r = try_ranges(t->root, check_range, &rc);
	KT_EQ_ERR(r, 0);
	KT_ASSERT_MSG(rc.user_bytes == user_bytes,
		      "the dump's ranges cover %#lx bytes of the user half, the test mapped %#lx",
		      rc.user_bytes, user_bytes);
	ktest_info("%d leaves in the user half, %d dump ranges", noleaves, rc.ranges);
}
