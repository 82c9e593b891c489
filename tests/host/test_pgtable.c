/*
 * Host unit tests for the page-table walker (kern/pgtable.c) over simulated
 * physical memory (tests/host/simmem.c): the cases of the in-kernel lab-1
 * tests, exhaustive permission combinations, the range walker's contract,
 * and random tables checked against a simple model.
 */
#include <check.h>

#include "tests/host/check_err.h"

#include "kern/pgtable.h"
#include "lib/errno.h"
#include "lib/printfmt.h"
#include "lib/random.h"
#include "lib/string.h"
#include "tests/host/simmem.h"

#define TABLE_FLAGS (PTE_P | PTE_W | PTE_U)
#define EFF_BITS (PTE_U | PTE_W | PTE_NX)

static paddr_t root;
static struct rng rng;

static void setup(void)
{
	simmem_reset();
	root = simmem_table();
	rng_seed(&rng, 0x1ab1);
}

/* ---- Building tables by hand (the test's own index arithmetic) -------------- */

static unsigned idx(uint64_t va, int level)
{
	return (va >> (12 + 9 * (level - 1))) & 511;
}

/* entry - va's entry at `level`, creating tables above it with table_flags. */
static pte_t *entry(uint64_t va, int level, pte_t table_flags)
{
	paddr_t table = root;

	for (int l = PT_LEVEL_PML4; l > level; l--) {
		pte_t *e = &pt_table(table)[idx(va, l)];

		if (!(*e & PTE_P))
			*e = simmem_table() | table_flags;
		ck_assert_msg(l == PT_LEVEL_PML4 || !(*e & PTE_PS),
			      "test bug: huge page in the way");
		table = *e & PTE_ADDR_MASK;
	}
	return &pt_table(table)[idx(va, level)];
}

/* map - a leaf of `level` for va -> pa with flags (P, and PS above level 1, added). */
static pte_t *map(uint64_t va, paddr_t pa, int level, pte_t flags)
{
	pte_t *e = entry(va, level, TABLE_FLAGS);

	*e = pa | flags | PTE_P | (level > PT_LEVEL_PT ? PTE_PS : 0);
	return e;
}

#define expect_translation(...) expect_translation_at(CK_HERE, __VA_ARGS__)
static void expect_translation_at(CK_SITE, uint64_t va, paddr_t pa, int level, pte_t flags)
{
	CK_ENTER;
	struct pt_translation t;
	int r = pt_translate(root, va, &t);

	ck_assert_msg(r == 0, "pt_translate(%#lx) returned %d (%s), expected 0", va, r, errname(r));
	ck_assert_msg(t.pa == pa, "pt_translate(%#lx): pa %#lx, expected %#lx", va, t.pa, pa);
	ck_assert_int_eq(t.level, level);
	ck_assert_uint_eq(t.size, pt_level_size(level));
	ck_assert_msg(t.flags == flags, "pt_translate(%#lx): flags %#lx, expected %#lx", va,
		      t.flags, flags);
}

#define expect_hole(...) expect_hole_at(CK_HERE, __VA_ARGS__)
static void expect_hole_at(CK_SITE, uint64_t va, const pte_t *pte, int level)
{
	CK_ENTER;
	struct pt_cursor c;
	struct pt_translation t;

	ck_assert_err(pt_walk(root, va, &c), -ENOENT);
	ck_assert_int_eq(c.level, level);
	if (pte)
		ck_assert_ptr_eq(c.pte, pte);
	ck_assert_err(pt_translate(root, va, &t), -ENOENT);
	ck_assert_int_eq(t.level, level);
	ck_assert_hex_eq(t.pa, 0);
	ck_assert_uint_eq(t.size, 0);
	ck_assert_hex_eq(t.flags, 0);
}

/* ---- Walk and translate --------------------------------------------------------- */

START_TEST(test_translate_4k)
{
	uint64_t va = 0x00007f1234567000UL;
	paddr_t pa = 0x0000000abcdef000UL;
	pte_t *e = map(va, pa, PT_LEVEL_PT, PTE_W | PTE_U | PTE_NX | PTE_SOFT_MASK);
	struct pt_cursor c;

	expect_translation(va, pa, 1, PTE_P | PTE_W | PTE_U | PTE_NX);
	expect_translation(va + 0xfff, pa + 0xfff, 1, PTE_P | PTE_W | PTE_U | PTE_NX);
	ck_assert_err(pt_walk(root, va + 0x123, &c), 0);
	ck_assert_ptr_eq(c.pte, e);
	ck_assert_int_eq(c.level, 1);
	ck_assert_hex_eq(c.va, va);
	expect_hole(va + 0x1000, e + 1, 1);
	expect_hole(va - 0x1000, e - 1, 1);
}
END_TEST

START_TEST(test_translate_huge)
{
	uint64_t va2m = 0x0000123456600000UL, va1g = 0xffffa12340000000UL;
	paddr_t pa2m = 0x0000001234400000UL, pa1g = 0x000000fc40000000UL;
	pte_t *e2m = map(va2m, pa2m, 2, PTE_PAT_HUGE | PTE_SOFT_MASK | PTE_G);
	pte_t *e1g = map(va1g, pa1g, 3, PTE_PAT_HUGE | PTE_NX | PTE_U);
	struct pt_cursor c;

	expect_translation(va2m, pa2m, 2, PTE_P | PTE_G);
	expect_translation(va2m + 0x1fffff, pa2m + 0x1fffff, 2, PTE_P | PTE_G);
	expect_translation(va1g + 0x2345678, pa1g + 0x2345678, 3, PTE_P | PTE_U | PTE_NX);
	ck_assert_err(pt_walk(root, va1g + 0x3fffffff, &c), 0);
	ck_assert_ptr_eq(c.pte, e1g);
	ck_assert_int_eq(c.level, 3);
	ck_assert_hex_eq(c.va, va1g); /* canonical, upper half */
	ck_assert_err(pt_walk(root, va2m + 1, &c), 0);
	ck_assert_ptr_eq(c.pte, e2m);
	ck_assert_hex_eq(pte_addr(*e2m, 2), pa2m);
	ck_assert_hex_eq(pte_addr(*e1g, 3), pa1g);
	ck_assert(pte_is_leaf(*e2m, 2));
	ck_assert(!pte_is_leaf(*e2m & ~PTE_P, 2));
}
END_TEST

START_TEST(test_ps_in_pml4_is_not_a_page)
{
	uint64_t va = 0x0000400000201000UL;
	pte_t *e = map(va, 0x5000, 1, PTE_W);

	*entry(va, 4, 0) |= PTE_PS;
	ck_assert(!pte_is_leaf(*entry(va, 4, 0), 4));
	expect_translation(va + 8, 0x5008, 1, PTE_P | PTE_W);
	/* And bit 7 of a 4K entry is PAT, not a page size. */
	*e |= PTE_PS;
	expect_translation(va + 8, 0x5008, 1, PTE_P | PTE_W);
}
END_TEST

START_TEST(test_not_present_each_level)
{
	uint64_t va = 0xffffc00012345000UL;
	pte_t *path[5];

	expect_hole(va, &pt_table(root)[idx(va, 4)], 4);
	map(va, 0x7000, 1, PTE_W);
	for (int l = 4; l >= 1; l--)
		path[l] = entry(va, l, TABLE_FLAGS);
	for (int l = 4; l >= 1; l--) {
		pte_t saved = *path[l];

		*path[l] = saved & ~PTE_P;
		expect_hole(va, path[l], l);
		*path[l] = ~PTE_P;
		expect_hole(va, path[l], l);
		*path[l] = saved;
	}
	expect_translation(va, 0x7000, 1, PTE_P | PTE_W);
}
END_TEST

START_TEST(test_noncanonical)
{
	static const uint64_t bad[] = {
		0x0000800000000000UL, 0xffff7fffffffffffUL, 0x8000000000000000UL,
		0x7fffffffffffffffUL, 0x0001000000000000UL, 0xfffe800000000000UL,
	};
	size_t before = simmem_free_count();
	struct pt_cursor c;
	struct pt_translation t;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_err(pt_walk(root, bad[i], &c), -EINVAL);
		ck_assert_err(pt_translate(root, bad[i], &t), -EINVAL);
		ck_assert_err(pt_walk_create(root, bad[i], 1, &c), -EINVAL);
	}
	ck_assert_uint_eq(simmem_free_count(), before);
	expect_hole(0x00007fffffffffffUL, NULL, 4);
	expect_hole(0xffff800000000000UL, NULL, 4);
	expect_hole(0xffffffffffffffffUL, NULL, 4);
}
END_TEST

/* Every combination of U, W and NX at every level, for each leaf size. */
START_TEST(test_perms_exhaustive)
{
	for (int leaf = 1; leaf <= 3; leaf++) {
		uint64_t va = (uint64_t)leaf << 39;
		int levels = 5 - leaf;
		pte_t *path[5];

		map(va, 0, leaf, 0);
		for (int l = 4; l >= leaf; l--)
			path[l] = entry(va, l, TABLE_FLAGS);
		for (unsigned combo = 0; combo < 1u << (3 * levels); combo++) {
			pte_t want = PTE_U | PTE_W;

			for (int l = 4, k = 0; l >= leaf; l--, k++) {
				unsigned bits = (combo >> (3 * k)) & 7;
				pte_t f = (bits & 1 ? PTE_U : 0) | (bits & 2 ? PTE_W : 0) |
					  (bits & 4 ? PTE_NX : 0);

				*path[l] = (*path[l] & ~EFF_BITS) | f;
				want = (want & f & (PTE_U | PTE_W)) | ((want | f) & PTE_NX);
			}
			expect_translation(va, 0, leaf, PTE_P | want);
		}
	}
}
END_TEST

/* ---- Walk with create ------------------------------------------------------------ */

#define expect_create(...) expect_create_at(CK_HERE, __VA_ARGS__)
static pte_t *expect_create_at(CK_SITE, uint64_t va, int level, size_t tables)
{
	CK_ENTER;
	size_t before = simmem_free_count();
	struct pt_cursor c;

	ck_assert_err(pt_walk_create(root, va, level, &c), 0);
	ck_assert_msg(before - simmem_free_count() == tables,
		      "pt_walk_create(%#lx, %d) allocated %zu, expected %zu", va, level,
		      before - simmem_free_count(), tables);
	ck_assert_int_eq(c.level, level);
	ck_assert_ptr_eq(c.pte, entry(va, level, 0));
	ck_assert_hex_eq(c.va, va & ~(pt_level_size(level) - 1));
	return c.pte;
}

START_TEST(test_create_levels)
{
	uint64_t va = 0x00001234deadb000UL;

	expect_create(va, 1, 3);
	expect_create(va, 1, 0);
	expect_create(va ^ (1UL << 12), 1, 0);
	expect_create(va ^ (1UL << 21), 1, 1);
	expect_create(va ^ (1UL << 30), 1, 2);
	expect_create(va ^ (1UL << 39), 2, 2);
	expect_create(va ^ (2UL << 39), 3, 1);
	expect_create(0xfffffffffffff000UL, 1, 3);
}
END_TEST

START_TEST(test_create_zeroed_permissive)
{
	uint64_t va = 0xffff912345678000UL;
	paddr_t table = root;

	expect_create(va, 1, 3);
	for (int l = 4; l > 1; l--) {
		pte_t e = pt_table(table)[idx(va, l)];
		const pte_t *child;

		ck_assert_hex_eq(e & ~PTE_ADDR_MASK, TABLE_FLAGS);
		table = e & PTE_ADDR_MASK;
		child = pt_table(table);
		for (unsigned i = 0; i < PT_ENTRIES; i++)
			if (l - 1 == 1 || i != idx(va, l - 1))
				ck_assert_msg(child[i] == 0, "new table entry %u is %#lx", i,
					      child[i]);
	}
}
END_TEST

START_TEST(test_create_keeps_existing_flags)
{
	uint64_t va = 0x0000600000000000UL;
	pte_t *pml4e;

	entry(va, 3, PTE_P | PTE_NX);
	pml4e = entry(va, 4, 0);
	*expect_create(va, 1, 2) = 0x9000 | PTE_P | PTE_W | PTE_U;
	ck_assert_hex_eq(*pml4e & ~PTE_ADDR_MASK, PTE_P | PTE_NX);
	expect_translation(va, 0x9000, 1, PTE_P | PTE_NX);
}
END_TEST

START_TEST(test_create_huge_in_the_way)
{
	uint64_t va2m = 0x0000100000200000UL, va1g = 0x0000200040000000UL;
	pte_t *e2m = map(va2m, 0x200000, 2, 0), *e1g = map(va1g, 0x40000000, 3, 0);
	size_t before = simmem_free_count();
	struct pt_cursor c;

	ck_assert_err(pt_walk_create(root, va2m + 0x1000, 1, &c), -EEXIST);
	ck_assert_ptr_eq(c.pte, e2m);
	ck_assert_int_eq(c.level, 2);
	ck_assert_err(pt_walk_create(root, va1g, 2, &c), -EEXIST);
	ck_assert_ptr_eq(c.pte, e1g);
	ck_assert_err(pt_walk_create(root, va1g, 1, &c), -EEXIST);
	ck_assert_int_eq(c.level, 3);
	ck_assert_uint_eq(simmem_free_count(), before);
	ck_assert_ptr_eq(expect_create(va2m, 2, 0), e2m);
	ck_assert_ptr_eq(expect_create(va1g, 3, 0), e1g);
	ck_assert_err(pt_walk_create(root, va1g, 0, &c), -EINVAL);
	ck_assert_err(pt_walk_create(root, va1g, 4, &c), -EINVAL);
}
END_TEST

#define expect_oom(...) expect_oom_at(CK_HERE, __VA_ARGS__)
static void expect_oom_at(CK_SITE, uint64_t va, long budget, paddr_t last_existing)
{
	CK_ENTER;
	static pte_t saved[PT_ENTRIES];
	size_t before = simmem_free_count();
	struct pt_cursor c;
	int r;

	memcpy(saved, pt_table(last_existing), sizeof(saved));
	simmem_fail_after(budget);
	r = pt_walk_create(root, va, 1, &c);
	simmem_fail_after(-1);
	ck_assert_err(r, -ENOMEM);
	ck_assert_msg(simmem_free_count() == before, "budget %ld: %zu frame(s) leaked", budget,
		      before - simmem_free_count());
	ck_assert(memcmp(saved, pt_table(last_existing), sizeof(saved)) == 0);
}

START_TEST(test_create_oom_rolls_back)
{
	uint64_t va = 0x00000badc0ffe000UL, va2 = 0x00000fedc0ffe000UL;
	paddr_t pdpt;

	for (long budget = 0; budget < 3; budget++)
		expect_oom(va, budget, root);
	entry(va2, 3, TABLE_FLAGS);
	pdpt = *entry(va2, 4, 0) & PTE_ADDR_MASK;
	for (long budget = 0; budget < 2; budget++) {
		expect_oom(va2, budget, pdpt);
		ck_assert(simmem_is_allocated(pdpt));
	}
	expect_create(va, 1, 3);
	simmem_fail_after(0);
	expect_create(va, 1, 0);
	simmem_fail_after(-1);
}
END_TEST

/* ---- The range walker ------------------------------------------------------------ */

struct visits {
	int n;
	struct pt_cursor c[64];
	struct pt_cursor last;
	int stop_at; /* return `ret` at this visit; -1: never */
	int ret;
};

static int record(const struct pt_cursor *c, void *arg)
{
	struct visits *v = arg;

	if (v->n < 64)
		v->c[v->n] = *c;
	v->last = *c;
	if (v->n++ == v->stop_at)
		return v->ret;
	return 0;
}

START_TEST(test_range_order_and_holes)
{
	struct visits v = { .stop_at = -1 };
	struct pt_ops ops = { .visit = record, .stop_level = 1 };
	uint64_t base = 0x0000008000000000UL; /* PML4 slot 1 */

	map(base + 0x3000, 0x3000, 1, 0);
	map(base + 0x200000, 0x200000, 2, 0);
	/* [base, base + 4M): PT entries 0..511 of the first PT, then the 2M leaf. */
	ck_assert_err(pt_walk_range(root, base, base + 0x400000, &ops, &v), 0);
	ck_assert_int_eq(v.n, 512 + 1);
	for (int i = 0; i < 64; i++) {
		ck_assert_hex_eq(v.c[i].va, base + i * 0x1000UL);
		ck_assert_int_eq(v.c[i].level, 1);
	}
	ck_assert_hex_eq(v.last.va, base + 0x200000);
	ck_assert_int_eq(v.last.level, 2);
	ck_assert(*v.c[3].pte & PTE_P);
	ck_assert(!(*v.c[4].pte & PTE_P));
	/* Early stop. */
	v = (struct visits){ .stop_at = 3, .ret = PT_STOP };
	ck_assert_err(pt_walk_range(root, base, base + 0x400000, &ops, &v), PT_STOP);
	ck_assert_int_eq(v.n, 4);
	v = (struct visits){ .stop_at = 0, .ret = -EIO };
	ck_assert_err(pt_walk_range(root, base, base + 0x400000, &ops, &v), -EIO);
	/* A hole at level 4 is one visit; stop_level 3 stops above the PDs. */
	v = (struct visits){ .stop_at = -1 };
	ck_assert_err(pt_walk_range(root, 0, base, &ops, &v), 0);
	ck_assert_int_eq(v.n, 1);
	ck_assert_int_eq(v.c[0].level, 4);
	ops.stop_level = 3;
	v = (struct visits){ .stop_at = -1 };
	ck_assert_err(pt_walk_range(root, base, base + 2 * HUGE_1G, &ops, &v), 0);
	ck_assert_int_eq(v.n, 2);
	ck_assert_int_eq(v.c[0].level, 3);
	ck_assert(*v.c[0].pte & PTE_P);
}
END_TEST

START_TEST(test_range_bounds)
{
	struct visits v = { .stop_at = -1 };
	struct pt_ops ops = { .visit = record, .stop_level = 4 };

	/* The whole space: 512 PML4 entries, upper half sign-extended. */
	ck_assert_err(pt_walk_range(root, 0, 0, &ops, &v), 0);
	ck_assert_int_eq(v.n, 512);
	ck_assert_hex_eq(v.c[0].va, 0);
	/* Across the hole: the last lower and the first upper entry. */
	v = (struct visits){ .stop_at = -1 };
	ck_assert_err(pt_walk_range(root, USER_TOP - 1, 0xffff800000000001UL, &ops, &v), 0);
	ck_assert_int_eq(v.n, 2);
	ck_assert_hex_eq(v.c[0].va, 0x00007f8000000000UL);
	ck_assert_hex_eq(v.c[1].va, 0xffff800000000000UL);
	v = (struct visits){ .stop_at = -1 };
	ck_assert_err(pt_walk_range(root, 0x1000, 0x1000, &ops, &v), 0);
	ck_assert_int_eq(v.n, 0);
	ck_assert_err(pt_walk_range(root, 0x2000, 0x1000, &ops, &v), -EINVAL);
	ck_assert_err(pt_walk_range(root, 0x0000800000000000UL, 0, &ops, &v), -EINVAL);
	ck_assert_err(pt_walk_range(root, 0, 0x0000900000000000UL, &ops, &v), -EINVAL);
	ops.stop_level = 0;
	ck_assert_err(pt_walk_range(root, 0, 0x1000, &ops, &v), -EINVAL);
	ops.stop_level = 5;
	ck_assert_err(pt_walk_range(root, 0, 0x1000, &ops, &v), -EINVAL);
	ck_assert_err(pt_walk_range(root, 0, 0x1000, NULL, &v), -EINVAL);
}
END_TEST

/* With alloc, a failing visitor leaves no empty table on the way to the failure. */
START_TEST(test_range_alloc_rollback)
{
	struct visits v = { .stop_at = 0, .ret = -EIO };
	struct pt_ops ops = { .visit = record, .stop_level = 1, .alloc = true };
	size_t before = simmem_free_count();

	ck_assert_err(pt_walk_range(root, 0x1000, 0x3000, &ops, &v), -EIO);
	ck_assert_uint_eq(simmem_free_count(), before);
	ck_assert_uint_eq(pt_table(root)[0], 0);
	v = (struct visits){ .stop_at = -1 };
	ck_assert_err(pt_walk_range(root, 0x1000, 0x3000, &ops, &v), 0);
	ck_assert_int_eq(v.n, 2);
	ck_assert_uint_eq(before - simmem_free_count(), 3);
}
END_TEST

/* ---- The dump ---------------------------------------------------------------------- */

static char dump[1 << 16];
static size_t dump_len;

static void capture(const char *line, void *arg)
{
	dump_len += (size_t)snprintf(dump + dump_len, sizeof(dump) - dump_len, "%s\n", line);
}

static const char *dump_of_root(void)
{
	dump_len = 0;
	dump[0] = '\0';
	ck_assert_err(pt_dump(root, capture, NULL), 0);
	return dump;
}

/* assert_dump_eq - compare line by line: Check cannot print a whole long dump. */
#define assert_dump_eq(...) assert_dump_eq_at(CK_HERE, __VA_ARGS__)
static void assert_dump_eq_at(CK_SITE, const char *got, const char *want)
{
	CK_ENTER;
	for (int line = 1; *got || *want; line++) {
		const char *g = strchr(got, '\n'), *w = strchr(want, '\n');
		int gl = g ? (int)(g - got) : (int)strlen(got);
		int wl = w ? (int)(w - want) : (int)strlen(want);

		ck_assert_msg(gl == wl && strncmp(got, want, (size_t)gl) == 0,
			      "dump line %d: \"%.*s\", expected \"%.*s\"", line, gl, got, wl, want);
		got += gl + (got[gl] == '\n');
		want += wl + (want[wl] == '\n');
	}
}

START_TEST(test_dump_format)
{
	char want[1024];
	uint64_t va = 0x0000010000000000UL;

	for (int i = 0; i < 3; i++)
		map(va + i * 0x1000UL, 0x100000 + i * 0x1000UL, 1, PTE_U | PTE_W);
	map(va + 0x3000, 0x104000, 1, PTE_U | PTE_W); /* pa gap */
	map(va + 0x4000, 0x105000, 1, PTE_U); /* flags */
	map(va + 0x6000, 0x106000, 1, PTE_U); /* va gap */
	map(va + 0x200000, 0x600000, 2, PTE_NX | PTE_G);
	map(va + 0x400000, 0x800000, 2, PTE_NX | PTE_G);
	map(va + 0x600000, 0xa00000, 1, PTE_NX | PTE_G); /* size */
	map(0xffffffffc0000000UL, 0x40000000, 3, PTE_W); /* ends at the very top */
	snprintf(want, sizeof(want),
		 "PTDUMP BEGIN cr3=%016lx\n"
		 "0000010000000000-0000010000003000 0000000000100000-0000000000103000 4K uwx-\n"
		 "0000010000003000-0000010000004000 0000000000104000-0000000000105000 4K uwx-\n"
		 "0000010000004000-0000010000005000 0000000000105000-0000000000106000 4K u-x-\n"
		 "0000010000006000-0000010000007000 0000000000106000-0000000000107000 4K u-x-\n"
		 "0000010000200000-0000010000600000 0000000000600000-0000000000a00000 2M ---g\n"
		 "0000010000600000-0000010000601000 0000000000a00000-0000000000a01000 4K ---g\n"
		 "ffffffffc0000000-0000000000000000 0000000040000000-0000000080000000 1G -wx-\n"
		 "PTDUMP END\n",
		 root);
	assert_dump_eq(dump_of_root(), want);
}
END_TEST

START_TEST(test_dump_direct_map_like)
{
	char want[256];

	/* 4 GiB of 2M pages, like the boot direct map: one line. */
	for (uint64_t i = 0; i < 2048; i++)
		map(DMAP_BASE + i * HUGE_2M, i * HUGE_2M, 2, PTE_W | PTE_G);
	snprintf(want, sizeof(want),
		 "PTDUMP BEGIN cr3=%016lx\n"
		 "ffff800000000000-ffff800100000000 0000000000000000-0000000100000000 2M -wxg\n"
		 "PTDUMP END\n",
		 root);
	assert_dump_eq(dump_of_root(), want);
	assert_dump_eq(dump_of_root(), want); /* walking does not change anything */
}
END_TEST

START_TEST(test_format_helpers)
{
	char f[5], line[PT_DUMP_LINE_MAX];
	struct pt_range r = { 0x1000, 0x3000, 0x5000, 0x7000, PAGE_SIZE, PTE_P | PTE_U | PTE_NX };

	pt_format_flags(PTE_U | PTE_W | PTE_G, f);
	ck_assert_str_eq(f, "uwxg");
	pt_format_flags(PTE_NX, f);
	ck_assert_str_eq(f, "----");
	ck_assert_int_eq(pt_format_range(&r, line, sizeof(line)), 75);
	ck_assert_str_eq(
		line,
		"0000000000001000-0000000000003000 0000000000005000-0000000000007000 4K u---");
}
END_TEST

/* ---- Random tables against a model ------------------------------------------------- */

/* The model: a sorted list of leaves, each with its effective flags. */
struct leaf {
	uint64_t va; /* 48-bit linear form, for easy sorting */
	paddr_t pa;
	int level;
	pte_t flags;
};

#define MAX_LEAVES 400
static struct leaf leaves[MAX_LEAVES];
static int nleaves;

static uint64_t linear(uint64_t va)
{
	return va & ((1UL << VA_BITS) - 1);
}

static const struct leaf *model_lookup(uint64_t va)
{
	for (int i = 0; i < nleaves; i++)
		if (linear(va) - leaves[i].va < pt_level_size(leaves[i].level))
			return &leaves[i];
	return NULL;
}

static bool model_overlaps(uint64_t lva, uint64_t size)
{
	for (int i = 0; i < nleaves; i++) {
		uint64_t s = leaves[i].va, e = s + pt_level_size(leaves[i].level);

		if (lva < e && s < lva + size)
			return true;
	}
	return false;
}

/* Insertion sort by va (<stdlib.h> clashes with lib/'s renamed functions). */
static void sort_leaves(void)
{
	for (int i = 1; i < nleaves; i++) {
		struct leaf l = leaves[i];
		int j = i;

		for (; j > 0 && leaves[j - 1].va > l.va; j--)
			leaves[j] = leaves[j - 1];
		leaves[j] = l;
	}
}

/*
 * random_table - random leaves (clustered in a few slots, so tables are
 * shared) under intermediate entries with random permissions.
 */
static void random_table(void)
{
	unsigned slots[4];
	int n = 50 + (int)rng_below(&rng, 200);

	nleaves = 0;
	for (int i = 0; i < 4; i++)
		slots[i] = (unsigned)rng_below(&rng, 512);
	for (int i = 0; i < n && nleaves < MAX_LEAVES; i++) {
		int level = 1 + (int)(rng_below(&rng, 10) / 6); /* mostly 4K, some 2M, a few 1G */
		uint64_t size = pt_level_size(level);
		uint64_t lva = ((uint64_t)slots[rng_below(&rng, 4)] << 39) |
			       (rng_below(&rng, 1UL << (level == 3 ? 39 : 33)) & ~(size - 1));
		pte_t flags = rng_next(&rng) & (PTE_U | PTE_W | PTE_NX | PTE_G);
		paddr_t pa = rng_below(&rng, 1UL << 40) & ~(size - 1);
		pte_t table_flags = PTE_P | (rng_next(&rng) & EFF_BITS);
		uint64_t va = pt_sign_extend(lva);
		pte_t eff = flags & (PTE_U | PTE_W | PTE_NX);

		if (model_overlaps(lva, size))
			continue;
		/* New tables on the way get random permissions; the model follows them. */
		*entry(va, level, table_flags) = pa | flags | PTE_P | (level > 1 ? PTE_PS : 0);
		for (int l = 4; l > level; l--) {
			pte_t e = *entry(va, l, 0);

			eff = (eff & e & (PTE_U | PTE_W)) | ((eff | e) & PTE_NX);
		}
		leaves[nleaves++] = (struct leaf){ lva, pa, level, PTE_P | eff | (flags & PTE_G) };
	}
	sort_leaves();
}

#define check_random_translations() check_random_translations_at(CK_HERE)
static void check_random_translations_at(CK_SITE)
{
	CK_ENTER;
	for (int i = 0; i < nleaves; i++) {
		uint64_t size = pt_level_size(leaves[i].level);
		uint64_t off = rng_below(&rng, size);

		expect_translation(pt_sign_extend(leaves[i].va + off), leaves[i].pa + off,
				   leaves[i].level, leaves[i].flags);
	}
	for (int i = 0; i < 2000; i++) {
		uint64_t va = pt_sign_extend(rng_below(&rng, 1UL << VA_BITS));
		const struct leaf *l = model_lookup(va);
		struct pt_translation t;
		int r = pt_translate(root, va, &t);

		if (!l) {
			ck_assert_msg(r == -ENOENT, "pt_translate(%#lx) = %d, model: unmapped", va,
				      r);
			continue;
		}
		ck_assert_err(r, 0);
		ck_assert_hex_eq(t.pa, l->pa + (linear(va) - l->va));
	}
}

/* The model's own coalescing, rendered like the dump. */
static void model_dump(char *buf, size_t size)
{
	size_t n = (size_t)snprintf(buf, size, "PTDUMP BEGIN cr3=%016lx\n", root);
	char f[5];

	for (int i = 0; i < nleaves;) {
		uint64_t ps = pt_level_size(leaves[i].level);
		int j = i + 1;

		while (j < nleaves && leaves[j].level == leaves[i].level &&
		       leaves[j].flags == leaves[i].flags &&
		       leaves[j].va == leaves[i].va + (uint64_t)(j - i) * ps &&
		       leaves[j].pa == leaves[i].pa + (uint64_t)(j - i) * ps)
			j++;
		pt_format_flags(leaves[i].flags, f);
		n += (size_t)snprintf(buf + n, size - n, "%016lx-%016lx %016lx-%016lx %s %s\n",
				      pt_sign_extend(leaves[i].va),
				      pt_sign_extend(leaves[i].va) + (uint64_t)(j - i) * ps,
				      leaves[i].pa, leaves[i].pa + (uint64_t)(j - i) * ps,
				      ps == HUGE_1G ? "1G" :
				      ps == HUGE_2M ? "2M" :
						      "4K",
				      f);
		i = j;
	}
	snprintf(buf + n, size - n, "PTDUMP END\n");
}

START_TEST(test_random_tables_vs_model)
{
	static char want[1 << 16];

	rng_seed(&rng, 1000 + (uint64_t)_i);
	random_table();
	check_random_translations();
	model_dump(want, sizeof(want));
	assert_dump_eq(dump_of_root(), want);
}
END_TEST

/* walk_create on random addresses keeps every existing translation intact. */
START_TEST(test_random_create)
{
	rng_seed(&rng, 2000 + (uint64_t)_i);
	random_table();
	for (int k = 0; k < 200; k++) {
		uint64_t va = pt_sign_extend(rng_below(&rng, 1UL << VA_BITS));
		int level = 1 + (int)rng_below(&rng, 3);
		const struct leaf *l = model_lookup(va);
		struct pt_cursor c;
		int r = pt_walk_create(root, va, level, &c);

		if (l && l->level > level) {
			ck_assert_err(r, -EEXIST);
			ck_assert_int_eq(c.level, l->level);
			continue;
		}
		ck_assert_err(r, 0);
		ck_assert_int_eq(c.level, level);
		ck_assert_ptr_eq(c.pte, entry(va, level, 0));
		ck_assert_msg(l ? (*c.pte & PTE_P) != 0 : *c.pte == 0,
			      "pt_walk_create(%#lx, %d): entry %#lx, model %s", va, level, *c.pte,
			      l ? "mapped" : "unmapped");
	}
	check_random_translations();
}
END_TEST

Suite *pgtable_suite(void)
{
	Suite *s = suite_create("pgtable");
	TCase *walk = tcase_create("walk");
	TCase *create = tcase_create("create");
	TCase *range = tcase_create("range");
	TCase *dumps = tcase_create("dump");
	TCase *random = tcase_create("random");

	tcase_add_checked_fixture(walk, setup, NULL);
	tcase_add_test(walk, test_translate_4k);
	tcase_add_test(walk, test_translate_huge);
	tcase_add_test(walk, test_ps_in_pml4_is_not_a_page);
	tcase_add_test(walk, test_not_present_each_level);
	tcase_add_test(walk, test_noncanonical);
	tcase_add_test(walk, test_perms_exhaustive);
	suite_add_tcase(s, walk);

	tcase_add_checked_fixture(create, setup, NULL);
	tcase_add_test(create, test_create_levels);
	tcase_add_test(create, test_create_zeroed_permissive);
	tcase_add_test(create, test_create_keeps_existing_flags);
	tcase_add_test(create, test_create_huge_in_the_way);
	tcase_add_test(create, test_create_oom_rolls_back);
	suite_add_tcase(s, create);

	tcase_add_checked_fixture(range, setup, NULL);
	tcase_add_test(range, test_range_order_and_holes);
	tcase_add_test(range, test_range_bounds);
	tcase_add_test(range, test_range_alloc_rollback);
	suite_add_tcase(s, range);

	tcase_add_checked_fixture(dumps, setup, NULL);
	tcase_add_test(dumps, test_dump_format);
	tcase_add_test(dumps, test_dump_direct_map_like);
	tcase_add_test(dumps, test_format_helpers);
	suite_add_tcase(s, dumps);

	tcase_add_checked_fixture(random, setup, NULL);
	tcase_add_loop_test(random, test_random_tables_vs_model, 0, 20);
	tcase_add_loop_test(random, test_random_create, 0, 10);
	suite_add_tcase(s, random);
	return s;
}
