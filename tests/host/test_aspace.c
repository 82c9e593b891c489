/*
 * Host unit tests for address spaces (kern/aspace.c) over simulated physical
 * memory: each call's contract, large pages and splits, pruning, the
 * flush-before-free order, running out of frames at every step, demand-zero
 * faults, the shared kernel half, and the randomized model test
 * (kern/test/lab2_model.c) with many seeds.
 */
#include <check.h>

#include "tests/host/check_err.h"

#include "kern/aspace.h"
#include "kern/test/hooks.h"
#include "kern/test/lab2_model.h"
#include "kern/trap.h"
#include "lib/errno.h"
#include "lib/random.h"
#include "lib/string.h"
#include "tests/host/aspace_host.h"
#include "tests/host/simmem.h"

#define VA 0x0000123400000000UL /* 1 GiB aligned, in the user half */
#define PA 0x0000000780000000UL /* a physical range the space does not own */
#define RW (AS_WRITE)
#define ALL_PROT (AS_WRITE | AS_EXEC | AS_USER)

static struct aspace as;
static size_t base_free;

static void setup(void)
{
	aspace_host_reset();
	base_free = simmem_free_count();
	ck_assert_err(aspace_init(&as), 0);
}

static void teardown(void)
{
	as_trace_attach(NULL);
	simmem_fail_after(-1);
	aspace_destroy(&as);
	ck_assert_msg(simmem_free_count() == base_free,
		      "%ld frame(s) still allocated after aspace_destroy",
		      (long)(base_free - simmem_free_count()));
}

/* translation - pt_translate(va) in as, which must succeed. */
#define translation(...) translation_at(CK_HERE, __VA_ARGS__)
static struct pt_translation translation_at(CK_SITE, uint64_t va)
{
	CK_ENTER;
	struct pt_translation t;
	int r = aspace_translate(&as, va, &t);

	ck_assert_msg(r == 0, "translate(%#lx) returned %d", va, r);
	return t;
}

#define expect_unmapped(...) expect_unmapped_at(CK_HERE, __VA_ARGS__)
static void expect_unmapped_at(CK_SITE, uint64_t va)
{
	CK_ENTER;
	struct pt_translation t;

	ck_assert_err(aspace_translate(&as, va, &t), -ENOENT);
}

#define expect_map(...) expect_map_at(CK_HERE, __VA_ARGS__)
static void expect_map_at(CK_SITE, uint64_t va, paddr_t pa, int level, pte_t flags)
{
	CK_ENTER;
	struct pt_translation t = translation(va);

	ck_assert_hex_eq(t.pa, pa);
	ck_assert_int_eq(t.level, level);
	ck_assert_hex_eq(t.flags, flags);
}

/* leaf - the leaf entry that maps va. */
#define leaf(...) leaf_at(CK_HERE, __VA_ARGS__)
static pte_t leaf_at(CK_SITE, uint64_t va)
{
	CK_ENTER;
	struct pt_cursor c;

	ck_assert_err(pt_walk(as.pml4, va, &c), 0);
	return *c.pte;
}

/* ---- init ------------------------------------------------------------------ */

START_TEST(test_init_shares_kernel_half)
{
	const pte_t *mine = pt_table(as.pml4), *kern = pt_table(aspace_kernel()->pml4);

	for (int i = 0; i < PT_ENTRIES / 2; i++)
		ck_assert_uint_eq(mine[i], 0);
	for (int i = PT_ENTRIES / 2; i < PT_ENTRIES; i++)
		ck_assert_uint_eq(mine[i], kern[i]);
	ck_assert(!as.kernel);
	ck_assert_uint_eq(simmem_free_count(), base_free - 1);
}
END_TEST

START_TEST(test_init_oom)
{
	struct aspace other;

	simmem_fail_after(0);
	ck_assert_err(aspace_init(&other), -ENOMEM);
}
END_TEST

/* ---- map ------------------------------------------------------------------- */

START_TEST(test_map_4k)
{
	ck_assert_err(aspace_map(&as, VA + 0x5000, PA + 0x3000, 3 * PAGE_SIZE, RW | AS_USER), 0);
	for (int i = 0; i < 3; i++)
		expect_map(VA + 0x5000 + i * PAGE_SIZE + 7, PA + 0x3000 + i * PAGE_SIZE + 7, 1,
			   PTE_P | PTE_W | PTE_U | PTE_NX);
	expect_unmapped(VA + 0x4000);
	expect_unmapped(VA + 0x8000);
	ck_assert(!(leaf(VA + 0x5000) & AS_PTE_OWNED));
	/* 3 tables: PDPT, PD, PT. */
	ck_assert_uint_eq(simmem_free_count(), base_free - 4);
	ck_assert_err(aspace_map(&as, VA, PA, PAGE_SIZE, AS_EXEC), 0);
	expect_map(VA, PA, 1, PTE_P);
}
END_TEST

START_TEST(test_map_huge_choice)
{
	/* 4K head up to a 2M boundary, two 2M pages, a 4K tail. */
	uint64_t va = VA + HUGE_2M - 2 * PAGE_SIZE, len = 2 * PAGE_SIZE + 2 * HUGE_2M + PAGE_SIZE;
	paddr_t pa = PA + HUGE_2M - 2 * PAGE_SIZE;

	ck_assert_err(aspace_map(&as, va, pa, len, RW), 0);
	expect_map(va, pa, 1, PTE_P | PTE_W | PTE_NX);
	expect_map(va + PAGE_SIZE, pa + PAGE_SIZE, 1, PTE_P | PTE_W | PTE_NX);
	expect_map(VA + HUGE_2M + 5, PA + HUGE_2M + 5, 2, PTE_P | PTE_W | PTE_NX);
	expect_map(VA + 2 * HUGE_2M + 5, PA + 2 * HUGE_2M + 5, 2, PTE_P | PTE_W | PTE_NX);
	expect_map(VA + 3 * HUGE_2M, PA + 3 * HUGE_2M, 1, PTE_P | PTE_W | PTE_NX);
	expect_unmapped(VA + 3 * HUGE_2M + PAGE_SIZE);
	/* va and pa not congruent modulo 2M: 4K pages only. */
	ck_assert_err(aspace_map(&as, VA + HUGE_1G, PA + PAGE_SIZE, HUGE_2M, 0), 0);
	expect_map(VA + HUGE_1G + HUGE_2M - 1, PA + PAGE_SIZE + HUGE_2M - 1, 1, PTE_P | PTE_NX);
}
END_TEST

START_TEST(test_map_eexist)
{
	size_t before;

	ck_assert_err(aspace_map(&as, VA + HUGE_2M, PA, HUGE_2M, RW), 0);
	ck_assert_err(aspace_reserve(&as, VA + 0x10000, PAGE_SIZE, RW), 0);
	before = simmem_free_count();
	/* Overlapping the large page's last 4K, the reservation, or both. */
	ck_assert_int_eq(aspace_map(&as, VA + 2 * HUGE_2M - PAGE_SIZE, PA, 2 * PAGE_SIZE, RW),
			 -EEXIST);
	ck_assert_err(aspace_alloc(&as, VA, 0x20000, RW), -EEXIST);
	ck_assert_err(aspace_reserve(&as, VA + 0x10000, PAGE_SIZE, 0), -EEXIST);
	ck_assert_err(aspace_map(&as, VA, PA, 4 * HUGE_2M, RW), -EEXIST);
	ck_assert_uint_eq(simmem_free_count(), before);
	expect_unmapped(VA);
	expect_unmapped(VA + 2 * HUGE_2M);
	expect_map(VA + HUGE_2M, PA, 2, PTE_P | PTE_W | PTE_NX);
}
END_TEST

START_TEST(test_bad_args)
{
	struct aspace *k = aspace_kernel();

	ck_assert_err(aspace_map(&as, VA + 1, PA, PAGE_SIZE, 0), -EINVAL);
	ck_assert_err(aspace_map(&as, VA, PA + 1, PAGE_SIZE, 0), -EINVAL);
	ck_assert_err(aspace_map(&as, VA, PA, 0, 0), -EINVAL);
	ck_assert_err(aspace_map(&as, VA, PA, 100, 0), -EINVAL);
	ck_assert_err(aspace_map(&as, USER_TOP - PAGE_SIZE, PA, 2 * PAGE_SIZE, 0), -EFAULT);
	ck_assert_err(aspace_map(&as, KMAP_BASE, PA, PAGE_SIZE, 0), -EFAULT);
	ck_assert_err(aspace_map(&as, VA, PA, PAGE_SIZE, AS_GLOBAL), -EINVAL);
	ck_assert_err(aspace_map(&as, VA, PA, PAGE_SIZE, 0x100), -EINVAL);
	ck_assert_err(aspace_alloc(&as, VA, -PAGE_SIZE, 0), -EOVERFLOW);
	ck_assert_err(aspace_unmap(&as, VA, 0), -EINVAL);
	ck_assert_err(aspace_unmap(&as, KMAP_BASE, PAGE_SIZE), -EFAULT);
	ck_assert_err(aspace_protect(&as, VA, PAGE_SIZE, AS_GLOBAL), -EINVAL);
	ck_assert_err(aspace_map(k, VA, PA, PAGE_SIZE, 0), -EFAULT);
	ck_assert_err(aspace_map(k, KMAP_BASE, PA, PAGE_SIZE, AS_USER), -EINVAL);
	/* The last page of the user half and of the address space are fine. */
	ck_assert_err(aspace_map(&as, USER_TOP - PAGE_SIZE, PA, PAGE_SIZE, 0), 0);
	ck_assert_err(aspace_unmap(&as, USER_TOP - PAGE_SIZE, PAGE_SIZE), 0);
	ck_assert_err(aspace_map(k, -PAGE_SIZE, PA, PAGE_SIZE, AS_GLOBAL), 0);
	ck_assert_err(aspace_unmap(k, -PAGE_SIZE, PAGE_SIZE), 0);
	ck_assert_uint_eq(simmem_free_count(), base_free - 1);
}
END_TEST

START_TEST(test_alloc_owned_zeroed)
{
	struct pt_translation t;

	ck_assert_err(aspace_alloc(&as, VA, 4 * PAGE_SIZE, AS_USER), 0);
	for (int i = 0; i < 4; i++) {
		const uint8_t *bytes;

		t = translation(VA + i * PAGE_SIZE);
		ck_assert_int_eq(t.level, 1);
		ck_assert_hex_eq(t.flags, PTE_P | PTE_U | PTE_NX);
		ck_assert(leaf(VA + i * PAGE_SIZE) & AS_PTE_OWNED);
		ck_assert(simmem_is_allocated(t.pa));
		bytes = (const uint8_t *)pt_table(t.pa);
		for (int b = 0; b < (int)PAGE_SIZE; b++)
			ck_assert_uint_eq(bytes[b], 0);
	}
	ck_assert_uint_eq(simmem_free_count(), base_free - 1 - 3 - 4);
}
END_TEST

/* ---- unmap ----------------------------------------------------------------- */

START_TEST(test_unmap_frees_and_prunes)
{
	paddr_t owned[4];

	ck_assert_err(aspace_alloc(&as, VA, 4 * PAGE_SIZE, RW), 0);
	for (int i = 0; i < 4; i++)
		owned[i] = translation(VA + i * PAGE_SIZE).pa;
	ck_assert_err(aspace_map(&as, VA + HUGE_1G, PA, PAGE_SIZE, RW), 0);
	/* A hole in the middle: only pages 1 and 2 go, the tables stay. */
	ck_assert_err(aspace_unmap(&as, VA + PAGE_SIZE, 2 * PAGE_SIZE), 0);
	ck_assert(simmem_is_allocated(owned[0]) && simmem_is_allocated(owned[3]));
	ck_assert(!simmem_is_allocated(owned[1]) && !simmem_is_allocated(owned[2]));
	expect_unmapped(VA + PAGE_SIZE);
	expect_map(VA + 3 * PAGE_SIZE, owned[3], 1, PTE_P | PTE_W | PTE_NX);
	/* Unmapping across holes is fine; the PT and the PD of VA become empty and go. */
	ck_assert_err(aspace_unmap(&as, VA - HUGE_2M, HUGE_1G), 0);
	ck_assert(!simmem_is_allocated(owned[0]) && !simmem_is_allocated(owned[3]));
	expect_map(VA + HUGE_1G, PA, 1, PTE_P | PTE_W | PTE_NX);
	/* Left: the PDPT, the PD and PT of VA + 1G. */
	ck_assert_uint_eq(simmem_free_count(), base_free - 1 - 3);
	ck_assert_err(aspace_unmap(&as, VA + HUGE_1G, PAGE_SIZE), 0);
	ck_assert_uint_eq(simmem_free_count(), base_free - 1);
	ck_assert_hex_eq(pt_table(as.pml4)[VA >> 39], 0);
	/* Nothing mapped at all: nothing to do. */
	ck_assert_err(aspace_unmap(&as, 0, USER_TOP), 0);
}
END_TEST

START_TEST(test_unmap_split_2m)
{
	pte_t before;

	ck_assert_err(aspace_map(&as, VA, PA, HUGE_2M, RW | AS_EXEC), 0);
	before = leaf(VA);
	ck_assert_err(aspace_unmap(&as, VA + 0x10000, 2 * PAGE_SIZE), 0);
	expect_unmapped(VA + 0x10000);
	expect_unmapped(VA + 0x11000);
	expect_map(VA, PA, 1, PTE_P | PTE_W);
	expect_map(VA + 0xf000, PA + 0xf000, 1, PTE_P | PTE_W);
	expect_map(VA + 0x12000, PA + 0x12000, 1, PTE_P | PTE_W);
	expect_map(VA + HUGE_2M - 1, PA + HUGE_2M - 1, 1, PTE_P | PTE_W);
	/* The small leaves keep the large one's other bits (A, D, ...), without PS. */
	ck_assert_hex_eq(leaf(VA) & ~PTE_ADDR_MASK, before & ~PTE_ADDR_MASK & ~PTE_PS);
	ck_assert_uint_eq(simmem_free_count(), base_free - 4);
}
END_TEST

START_TEST(test_split_1g_and_pat)
{
	struct pt_cursor c;
	pte_t huge = PA | PTE_P | PTE_PS | PTE_W | PTE_PAT_HUGE | PTE_PCD | PTE_NX | PTE_D | PTE_A;

	/* A 1 GiB leaf made by hand (aspace_map makes only 2 MiB ones). */
	ck_assert_err(pt_walk_create(as.pml4, VA, PT_LEVEL_PDPT, &c), 0);
	*c.pte = huge;
	ck_assert_err(aspace_protect(&as, VA + HUGE_2M + PAGE_SIZE, PAGE_SIZE, 0), 0);
	expect_map(VA + HUGE_2M + PAGE_SIZE, PA + HUGE_2M + PAGE_SIZE, 1, PTE_P | PTE_NX);
	expect_map(VA + HUGE_2M, PA + HUGE_2M, 1, PTE_P | PTE_W | PTE_NX);
	expect_map(VA + 5 * HUGE_2M + 3, PA + 5 * HUGE_2M + 3, 2, PTE_P | PTE_W | PTE_NX);
	expect_map(VA + HUGE_1G - 1, PA + HUGE_1G - 1, 2, PTE_P | PTE_W | PTE_NX);
	/* 2M leaves keep PAT in bit 12; 4K leaves have it in bit 7. */
	ck_assert_hex_eq(leaf(VA + 7 * HUGE_2M),
			 (PA + 7 * HUGE_2M) | (huge & ~PTE_ADDR_MASK) | PTE_PAT_HUGE);
	ck_assert_hex_eq(leaf(VA + HUGE_2M), (PA + HUGE_2M) | PTE_P | PTE_W | PTE_PCD | PTE_NX |
						     PTE_D | PTE_A | PTE_PS);
	/* The PDPT made by hand, then split 1G -> 2M -> 4K: a PD and a PT more. */
	ck_assert_uint_eq(simmem_free_count(), base_free - 1 - 1 - 2);
	ck_assert_err(aspace_unmap(&as, VA, HUGE_1G), 0);
	ck_assert_uint_eq(simmem_free_count(), base_free - 1);
}
END_TEST

START_TEST(test_flush_before_free)
{
	static struct as_trace trace;
	paddr_t owned[3];
	int flush_at = -1, frees = 0, tables = 0;

	ck_assert_err(aspace_alloc(&as, VA + HUGE_1G - PAGE_SIZE, 3 * PAGE_SIZE, RW), 0);
	for (int i = 0; i < 3; i++)
		owned[i] = translation(VA + HUGE_1G + (i - 1) * PAGE_SIZE).pa;
	as_trace_attach(&trace);
	ck_assert_err(aspace_unmap(&as, VA, 2 * HUGE_1G), 0);
	as_trace_attach(NULL);
	ck_assert(!trace.overflow);
	for (int i = 0; i < trace.n; i++) {
		const struct as_event *e = &trace.ev[i];

		if (e->kind == AS_EV_FLUSH) {
			/* A flush must cover the pages it is for. */
			if (e->a <= VA + HUGE_1G - PAGE_SIZE &&
			    e->b >= VA + HUGE_1G + 2 * PAGE_SIZE)
				flush_at = i;
			continue;
		}
		ck_assert_msg(flush_at >= 0, "event %d frees %#lx before any flush of the range", i,
			      e->a);
		frees += e->kind == AS_EV_FREE_PAGE;
		tables += e->kind == AS_EV_FREE_TABLE;
		if (e->kind == AS_EV_FREE_PAGE)
			ck_assert(e->a == owned[0] || e->a == owned[1] || e->a == owned[2]);
	}
	ck_assert_int_eq(frees, 3);
	/* Two PTs, two PDs, and the PDPT: nothing is left in VA's PML4 slot. */
	ck_assert_int_eq(tables, 5);
}
END_TEST

START_TEST(test_gather_batches)
{
	static struct as_trace trace;
	int flushes = 0;
	bool flushed = false;

	/* More owned frames than one gather holds: every free still comes after a flush. */
	ck_assert_err(aspace_alloc(&as, VA, 300 * PAGE_SIZE, RW), 0);
	as_trace_attach(&trace);
	ck_assert_err(aspace_unmap(&as, VA, 300 * PAGE_SIZE), 0);
	as_trace_attach(NULL);
	for (int i = 0; i < trace.n; i++) {
		if (trace.ev[i].kind == AS_EV_FLUSH) {
			flushes++;
			flushed = true;
		} else {
			ck_assert_msg(flushed, "event %d frees a frame before a flush", i);
		}
	}
	ck_assert_int_ge(flushes, 1);
	ck_assert_uint_eq(simmem_free_count(), base_free - 1);
}
END_TEST

/* ---- protect --------------------------------------------------------------- */

START_TEST(test_protect)
{
	size_t before;
	unsigned long flushes;

	ck_assert_err(aspace_map(&as, VA, PA, 4 * PAGE_SIZE, RW), 0);
	ck_assert_err(aspace_reserve(&as, VA + 4 * PAGE_SIZE, PAGE_SIZE, RW), 0);
	flushes = aspace_host_flushes();
	ck_assert_err(aspace_protect(&as, VA + PAGE_SIZE, 4 * PAGE_SIZE, AS_EXEC | AS_USER), 0);
	ck_assert_uint_gt(aspace_host_flushes(), flushes);
	expect_map(VA, PA, 1, PTE_P | PTE_W | PTE_NX);
	expect_map(VA + PAGE_SIZE, PA + PAGE_SIZE, 1, PTE_P | PTE_U);
	expect_map(VA + 3 * PAGE_SIZE, PA + 3 * PAGE_SIZE, 1, PTE_P | PTE_U);
	/* The reservation keeps its new permissions for the fault that fills it. */
	ck_assert_err(aspace_handle_fault(&as, VA + 4 * PAGE_SIZE, PF_WRITE), -EFAULT);
	ck_assert_err(aspace_handle_fault(&as, VA + 4 * PAGE_SIZE, PF_USER | PF_INSTR), 0);
	expect_map(VA + 4 * PAGE_SIZE, translation(VA + 4 * PAGE_SIZE).pa, 1, PTE_P | PTE_U);
	/* A hole anywhere in the range: -ENOENT and nothing changes. */
	before = simmem_free_count();
	ck_assert_err(aspace_protect(&as, VA, 6 * PAGE_SIZE, RW), -ENOENT);
	ck_assert_err(aspace_protect(&as, VA - PAGE_SIZE, 2 * PAGE_SIZE, RW), -ENOENT);
	expect_map(VA + PAGE_SIZE, PA + PAGE_SIZE, 1, PTE_P | PTE_U);
	expect_map(VA, PA, 1, PTE_P | PTE_W | PTE_NX);
	ck_assert_uint_eq(simmem_free_count(), before);
}
END_TEST

START_TEST(test_protect_huge_whole_and_part)
{
	ck_assert_err(aspace_map(&as, VA, PA, 2 * HUGE_2M, RW), 0);
	/* The whole first 2M page: stays one leaf. */
	ck_assert_err(aspace_protect(&as, VA, HUGE_2M, 0), 0);
	expect_map(VA + 3, PA + 3, 2, PTE_P | PTE_NX);
	expect_map(VA + HUGE_2M, PA + HUGE_2M, 2, PTE_P | PTE_W | PTE_NX);
	/* The end of the second: split. */
	ck_assert_err(aspace_protect(&as, VA + 2 * HUGE_2M - PAGE_SIZE, PAGE_SIZE, AS_EXEC), 0);
	expect_map(VA + HUGE_2M, PA + HUGE_2M, 1, PTE_P | PTE_W | PTE_NX);
	expect_map(VA + 2 * HUGE_2M - 1, PA + 2 * HUGE_2M - 1, 1, PTE_P);
}
END_TEST

/* ---- running out of frames ------------------------------------------------- */

START_TEST(test_oom_every_step)
{
	/* Each call at each budget: -ENOMEM with nothing changed, or success. */
	for (int call = 0; call < 3; call++) {
		for (long budget = 0;; budget++) {
			uint64_t va = VA + HUGE_1G - 3 * PAGE_SIZE;
			size_t before = simmem_free_count();
			int r;

			simmem_fail_after(budget);
			if (call == 0)
				r = aspace_map(&as, va, PA, 6 * PAGE_SIZE, RW);
			else if (call == 1)
				r = aspace_alloc(&as, va, 6 * PAGE_SIZE, RW);
			else
				r = aspace_reserve(&as, va, 6 * PAGE_SIZE, RW);
			simmem_fail_after(-1);
			if (r == 0) {
				ck_assert_err(aspace_unmap(&as, va, 6 * PAGE_SIZE), 0);
				ck_assert_uint_eq(simmem_free_count(), before);
				break;
			}
			ck_assert_err(r, -ENOMEM);
			ck_assert_msg(simmem_free_count() == before,
				      "call %d with budget %ld: %ld frame(s) kept after -ENOMEM",
				      call, budget, (long)(before - simmem_free_count()));
			for (int i = 0; i < 6; i++)
				expect_unmapped(va + i * PAGE_SIZE);
			ck_assert_int_lt(budget, 20);
		}
	}
}
END_TEST

START_TEST(test_oom_split)
{
	ck_assert_err(aspace_map(&as, VA, PA, HUGE_2M, RW), 0);
	simmem_fail_after(0);
	ck_assert_err(aspace_unmap(&as, VA + PAGE_SIZE, PAGE_SIZE), -ENOMEM);
	ck_assert_err(aspace_protect(&as, VA + PAGE_SIZE, PAGE_SIZE, 0), -ENOMEM);
	simmem_fail_after(-1);
	expect_map(VA + PAGE_SIZE, PA + PAGE_SIZE, 2, PTE_P | PTE_W | PTE_NX);
}
END_TEST

/* ---- demand-zero ------------------------------------------------------------ */

START_TEST(test_demand_zero)
{
	struct pt_cursor c;
	size_t before;
	paddr_t pa;

	ck_assert_err(aspace_reserve(&as, VA, 2 * PAGE_SIZE, AS_USER), 0);
	before = simmem_free_count();
	ck_assert_err(pt_walk(as.pml4, VA, &c), -ENOENT);
	ck_assert_hex_eq(*c.pte, AS_PTE_RESERVED | PTE_U | PTE_NX);
	ck_assert_err(aspace_handle_fault(&as, VA + 8, PF_USER | PF_WRITE), -EFAULT);
	ck_assert_err(aspace_handle_fault(&as, VA + 8, PF_USER | PF_INSTR), -EFAULT);
	ck_assert_err(aspace_handle_fault(&as, VA + 2 * PAGE_SIZE, 0), -EFAULT);
	ck_assert_err(aspace_handle_fault(&as, USER_TOP, 0), -EFAULT);
	ck_assert_uint_eq(simmem_free_count(), before);
	ck_assert_err(aspace_handle_fault(&as, VA + 8, PF_USER), 0);
	pa = translation(VA).pa;
	ck_assert(leaf(VA) & AS_PTE_OWNED);
	expect_map(VA + 8, pa + 8, 1, PTE_P | PTE_U | PTE_NX);
	ck_assert_uint_eq(simmem_free_count(), before - 1);
	for (int i = 0; i < PT_ENTRIES; i++)
		ck_assert_hex_eq(pt_table(pa)[i], 0);
	/* Again (another CPU was first): nothing new. */
	ck_assert_err(aspace_handle_fault(&as, VA, PF_USER), 0);
	ck_assert_uint_eq(simmem_free_count(), before - 1);
	ck_assert_err(aspace_handle_fault(&as, VA, PF_USER | PF_WRITE), -EFAULT);
	/* Out of frames. */
	simmem_fail_after(0);
	ck_assert_err(aspace_handle_fault(&as, VA + PAGE_SIZE, 0), -ENOMEM);
	simmem_fail_after(-1);
	expect_unmapped(VA + PAGE_SIZE);
	/* Unmap frees the filled page, the reservation goes too. */
	ck_assert_err(aspace_unmap(&as, VA, 2 * PAGE_SIZE), 0);
	ck_assert(!simmem_is_allocated(pa));
	ck_assert_err(aspace_handle_fault(&as, VA + PAGE_SIZE, 0), -EFAULT);
}
END_TEST

/* ---- the kernel half ---------------------------------------------------------- */

START_TEST(test_kernel_half_shared)
{
	struct aspace *k = aspace_kernel();
	pte_t pml4e = pt_table(k->pml4)[KMAP_BASE >> 39 & 511];
	size_t before = simmem_free_count();
	struct pt_translation t;

	ck_assert_err(aspace_map(k, KMAP_BASE, PA, 2 * PAGE_SIZE, RW | AS_GLOBAL), 0);
	/* Visible in a space created before the mapping. */
	ck_assert_err(pt_translate(as.pml4, KMAP_BASE + PAGE_SIZE, &t), 0);
	ck_assert_hex_eq(t.pa, PA + PAGE_SIZE);
	ck_assert_hex_eq(t.flags, PTE_P | PTE_W | PTE_NX | PTE_G);
	ck_assert_err(aspace_unmap(k, KMAP_BASE, 2 * PAGE_SIZE), 0);
	/* The PD and PT go, the shared PDPT stays, the PML4 entry never changes. */
	ck_assert_uint_eq(pt_table(k->pml4)[KMAP_BASE >> 39 & 511], pml4e);
	ck_assert_uint_eq(simmem_free_count(), before);
	ck_assert_err(pt_translate(as.pml4, KMAP_BASE, &t), -ENOENT);
	/* A whole kernel-half unmap from the top of the address space leaves the PDPTs too. */
	ck_assert_err(aspace_alloc(k, -HUGE_2M, HUGE_2M, 0), 0);
	ck_assert_err(aspace_unmap(k, -HUGE_1G, HUGE_1G), 0);
	ck_assert_uint_eq(simmem_free_count(), before);
	ck_assert_uint_ne(pt_table(k->pml4)[511], 0);
}
END_TEST

START_TEST(test_destroy_everything)
{
	struct aspace other;
	size_t before = simmem_free_count();

	ck_assert_err(aspace_init(&other), 0);
	ck_assert_err(aspace_map(&other, 0, PA, 4 * HUGE_2M + PAGE_SIZE, ALL_PROT), 0);
	ck_assert_err(aspace_alloc(&other, USER_TOP - 8 * PAGE_SIZE, 8 * PAGE_SIZE, 0), 0);
	ck_assert_err(aspace_reserve(&other, VA, 64 * PAGE_SIZE, 0), 0);
	ck_assert_err(aspace_handle_fault(&other, VA, 0), 0);
	ck_assert_err(aspace_unmap(&other, HUGE_2M + PAGE_SIZE, PAGE_SIZE), 0);
	aspace_destroy(&other);
	ck_assert_uint_eq(simmem_free_count(), before);
	/* Destroying twice (or a space whose init failed) is harmless. */
	aspace_destroy(&other);
}
END_TEST

/* ---- the model ---------------------------------------------------------------- */

static bool host_allocated(paddr_t pa)
{
	return simmem_is_allocated(pa);
}

static const struct as_model_env host_env = {
	.free_frames = simmem_free_count,
	.frame_allocated = host_allocated,
	.fail_after = simmem_fail_after,
};

START_TEST(test_model)
{
	static char msg[512];
	struct rng rng;

	rng_seed(&rng, 0x1ab2 + (uint64_t)_i);
	msg[0] = '\0';
	ck_assert_msg(as_model_run(&host_env, &rng, 4000, msg, sizeof(msg)) == 0, "seed %d: %s", _i,
		      msg);
}
END_TEST

Suite *aspace_suite(void)
{
	Suite *s = suite_create("aspace");
	TCase *tc = tcase_create("calls");
	TCase *model = tcase_create("model");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_init_shares_kernel_half);
	tcase_add_test(tc, test_init_oom);
	tcase_add_test(tc, test_map_4k);
	tcase_add_test(tc, test_map_huge_choice);
	tcase_add_test(tc, test_map_eexist);
	tcase_add_test(tc, test_bad_args);
	tcase_add_test(tc, test_alloc_owned_zeroed);
	tcase_add_test(tc, test_unmap_frees_and_prunes);
	tcase_add_test(tc, test_unmap_split_2m);
	tcase_add_test(tc, test_split_1g_and_pat);
	tcase_add_test(tc, test_flush_before_free);
	tcase_add_test(tc, test_gather_batches);
	tcase_add_test(tc, test_protect);
	tcase_add_test(tc, test_protect_huge_whole_and_part);
	tcase_add_test(tc, test_oom_every_step);
	tcase_add_test(tc, test_oom_split);
	tcase_add_test(tc, test_demand_zero);
	tcase_add_test(tc, test_kernel_half_shared);
	tcase_add_test(tc, test_destroy_everything);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(model, aspace_host_reset, NULL);
	tcase_add_loop_test(model, test_model, 0, 8);
	tcase_set_timeout(model, 60);
	suite_add_tcase(s, model);
	return s;
}
