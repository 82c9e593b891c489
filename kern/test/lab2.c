/*
 * lab2.*: address spaces (kern/aspace.c).
 *
 * The tests call the student's code through a fault catcher (a crash fails
 * one test instead of the run), check the tables with lab 1's walker, and
 * check the machine itself: they load the space into CR3 and read and write
 * through the mappings, so a missing TLB flush shows as a stale translation
 * (QEMU's TCG keeps one until invlpg or a CR3 write). Test mappings are
 * kernel-only (no AS_USER), so SMAP never stops the probes. Every space, frame
 * and kernel mapping a test makes is undone afterwards, pass or fail.
 */
#include "kern/aspace.h"
#include "kern/console.h"
#include "kern/cpu.h"
#include "kern/frame.h"
#include "kern/kvm.h"
#include "kern/memview.h"
#include "kern/panic.h"
#include "kern/test/hooks.h"
#include "kern/test/ktest.h"
#include "kern/test/lab2_model.h"
#include "kern/trap.h"
#include "kern/x86.h"
#include "lib/printfmt.h"
#include "lib/string.h"

/* Kernel mappings the tests make go here (the upper half of KMAP), 1 GiB. */
#define TEST_KVA (KMAP_BASE + KMAP_SIZE / 2)
#define TEST_KVA_SIZE HUGE_1G
#define MAX_SPACES 3
#define MAX_FRAMES 32
/* Leaf flags of a translation, for the usual kernel-only mappings. */
#define F_RW (PTE_P | PTE_W | PTE_NX)
#define F_RO (PTE_P | PTE_NX)

/* ---- Calling the code under test: a fault fails the test ---------------- */

/*
 * A call that crashed may have left its space's lock held, with interrupts
 * off: take it back so that the cleanup can run.
 */
static void release_lock(struct aspace *as)
{
	if (spin_holding(&as->lock)) {
		as->lock.cpu = -1;
		__atomic_store_n(&as->lock.locked, 0, __ATOMIC_RELEASE);
	}
}

/*
 * The calls into the student's code: a fault fails the test at the calling
 * line (the fixture's cleanup takes back a lock the crash left held).
 */
#define try_map(as, va, pa, len, prot) KT_CALL(aspace_map(as, va, pa, len, prot))
#define try_alloc(as, va, len, prot) KT_CALL(aspace_alloc(as, va, len, prot))
#define try_reserve(as, va, len, prot) KT_CALL(aspace_reserve(as, va, len, prot))
#define try_unmap(as, va, len) KT_CALL(aspace_unmap(as, va, len))
#define try_protect(as, va, len, prot) KT_CALL(aspace_protect(as, va, len, prot))
#define try_fault(as, va, error) KT_CALL(aspace_handle_fault(as, va, error))

/* The cleanup runs after a failure too: a crash there is stopped quietly. */
struct cleanup_call {
	struct aspace *as;
	bool unmap_test_kva; /* else destroy */
};

static void do_cleanup_call(void *arg)
{
	struct cleanup_call *k = arg;

	if (k->unmap_test_kva)
		aspace_unmap(k->as, TEST_KVA, TEST_KVA_SIZE);
	else
		aspace_destroy(k->as);
}

/* The calls that must succeed. */
#define MAP(as, va, pa, len, prot) KT_EQ_ERR(try_map(as, va, pa, len, prot), 0)
#define ALLOC(as, va, len, prot) KT_EQ_ERR(try_alloc(as, va, len, prot), 0)
#define RESERVE(as, va, len, prot) KT_EQ_ERR(try_reserve(as, va, len, prot), 0)
#define UNMAP(as, va, len) KT_EQ_ERR(try_unmap(as, va, len), 0)
#define PROTECT(as, va, len, prot) KT_EQ_ERR(try_protect(as, va, len, prot), 0)

/* ---- Fixture: spaces, frames and kernel mappings undone after each test ---- */

static struct fixture {
	struct aspace spaces[MAX_SPACES];
	bool live[MAX_SPACES];
	paddr_t frames[MAX_FRAMES];
	int nframes;
	bool kernel_maps;
	bool armed;
} fx;

static void fixture_cleanup(void *arg)
{
	struct cleanup_call k = { .unmap_test_kva = false };

	aspace_activate(aspace_kernel());
	as_trace_attach(NULL);
	frame_fail_after(-1);
	release_lock(aspace_kernel());
	if (fx.kernel_maps) {
		k.unmap_test_kva = true;
		k.as = aspace_kernel();
		if (ktest_catch_fault(do_cleanup_call, &k, NULL))
			release_lock(k.as);
		k.unmap_test_kva = false;
	}
	for (int i = 0; i < MAX_SPACES; i++) {
		if (!fx.live[i])
			continue;
		release_lock(&fx.spaces[i]);
		memview_untrack(&fx.spaces[i]);
		k.as = &fx.spaces[i];
		ktest_catch_fault(do_cleanup_call, &k, NULL);
		fx.live[i] = false;
	}
	while (fx.nframes > 0)
		frame_free(fx.frames[--fx.nframes]);
	fx.armed = false;
}

static void fixture_arm(void)
{
	if (fx.armed)
		return;
	memset(&fx, 0, sizeof(fx));
	fx.armed = true;
	ktest_defer(fixture_cleanup, NULL);
}

/* new_space - an initialized space, destroyed after the test. */
static struct aspace *new_space(void)
{
	struct aspace *as;
	int i, r;

	fixture_arm();
	for (i = 0; i < MAX_SPACES && fx.live[i]; i++)
		;
	KT_ASSERT_MSG(i < MAX_SPACES, "test bug: too many spaces");
	as = &fx.spaces[i];
	memset(as, 0, sizeof(*as));
	r = KT_CALL(aspace_init(as));
	KT_ASSERT_MSG(r == 0, "aspace_init returned %d (%s)", r, errname(r));
	fx.live[i] = true;
	memview_track(as, i == 0 ? "lab2-a" : i == 1 ? "lab2-b" : "lab2-c");
	KT_ASSERT_MSG(as->pml4 && frame_is_allocated(as->pml4),
		      "aspace_init returned 0 but as->pml4 is %#lx, not an allocated frame", as->pml4);
	return as;
}

/* kernel_space - the kernel's space; the test's mappings in it are removed after it. */
static struct aspace *kernel_space(void)
{
	fixture_arm();
	fx.kernel_maps = true;
	return aspace_kernel();
}

/* pattern - what the test writes at word i of a frame it owns. */
static uint64_t pattern(paddr_t pa, int i)
{
	return (pa * 0x9e3779b97f4a7c15UL) ^ (uint64_t)i ^ 0x1ab2000000000000UL;
}

/* test_frame - a frame filled with pattern(), freed after the test. */
static paddr_t test_frame(void)
{
	paddr_t pa;
	uint64_t *w;

	fixture_arm();
	KT_ASSERT_MSG(fx.nframes < MAX_FRAMES, "test bug: too many frames");
	pa = frame_alloc();
	KT_ASSERT_MSG(pa, "out of frames");
	fx.frames[fx.nframes++] = pa;
	w = pa2kva(pa);
	for (int i = 0; i < (int)(PAGE_SIZE / 8); i++)
		w[i] = pattern(pa, i);
	return pa;
}

static void activate(struct aspace *as)
{
	aspace_activate(as);
	KT_EQ_HEX(read_cr3() & PTE_ADDR_MASK, as->pml4);
}

/* ---- Checks ------------------------------------------------------------------ */

/* rand_user_va - a random user-half address aligned to align with room after it. */
static uint64_t rand_user_va(uint64_t align)
{
	uint64_t va = HUGE_1G + rng_below(ktest_rng(), USER_TOP - 4 * HUGE_1G);

	return ROUNDDOWN(va, align);
}

/* rand_va_within_1g - like rand_user_va, with [va, va + span) inside one GiB. */
static uint64_t rand_va_within_1g(uint64_t align, uint64_t span)
{
	return rand_user_va(HUGE_1G) + ROUNDDOWN(rng_below(ktest_rng(), HUGE_1G - span), align);
}

/* pts_spanned - how many page tables (2 MiB each) [va, va + len) touches. */
static uint64_t pts_spanned(uint64_t va, uint64_t len)
{
	return (va + len - 1) / HUGE_2M - va / HUGE_2M + 1;
}

static void check_map(struct aspace *as, uint64_t va, paddr_t pa, int level, pte_t flags)
{
	struct pt_translation t;
	char want[5], got[5];
	int r = pt_translate(as->pml4, va, &t);

	KT_ASSERT_MSG(r == 0, "%#lx should be mapped; pt_translate returned %d (%s)", va, r,
		      errname(r));
	KT_ASSERT_MSG(t.pa == pa, "%#lx maps to pa %#lx, expected %#lx", va, t.pa, pa);
	KT_ASSERT_MSG(t.level == level, "%#lx is mapped by a level-%d leaf, expected level %d", va,
		      t.level, level);
	pt_format_flags(t.flags, got);
	pt_format_flags(flags, want);
	KT_ASSERT_MSG(t.flags == flags, "%#lx: flags %s (%#lx), expected %s (%#lx)", va, got,
		      t.flags, want, flags);
}

static void check_unmapped(struct aspace *as, uint64_t va)
{
	struct pt_translation t;
	int r = pt_translate(as->pml4, va, &t);

	KT_ASSERT_MSG(r == -ENOENT, "%#lx should not be mapped; pt_translate returned %d (pa %#lx)",
		      va, r, t.pa);
}

/* pa_of - the frame va maps to (which must be a 4 KiB leaf). */
static paddr_t pa_of(struct aspace *as, uint64_t va)
{
	struct pt_translation t;

	KT_ASSERT_MSG(pt_translate(as->pml4, va, &t) == 0, "%#lx should be mapped", va);
	return t.pa;
}

/* read_ok - read va in the current space; it must not fault. */
static uint64_t read_ok(uint64_t va)
{
	struct fault_info fi;
	uint64_t v;

	KT_ASSERT_MSG(!ktest_probe_read(va, &v, &fi),
		      "reading %#lx faulted (%s, error %#lx, cr2 %#lx)", va, trap_name(fi.vector),
		      fi.error, fi.cr2);
	return v;
}

static void write_ok(uint64_t va, uint64_t v)
{
	struct fault_info fi;

	KT_ASSERT_MSG(!ktest_probe_write(va, v, &fi),
		      "writing %#lx faulted (%s, error %#lx, cr2 %#lx)", va, trap_name(fi.vector),
		      fi.error, fi.cr2);
}

/* expect_fault - the access must page-fault at va with the error bits in want. */
static void expect_fault(uint64_t va, bool write, uint64_t want, const char *why)
{
	struct fault_info fi;
	uint64_t v = 0x5a5a;
	bool faulted;

	/*
	 * A write to a present page that wrongly works must not change memory:
	 * write back what is there (reading a not-present page could fill it).
	 */
	if (write && (want & PF_PRESENT) && ktest_probe_read(va, &v, NULL))
		v = 0x5a5a;
	faulted = write ? ktest_probe_write(va, v, &fi) : ktest_probe_read(va, &v, &fi);

	KT_ASSERT_MSG(faulted, "%s %#lx did not fault (read %#lx): %s",
		      write ? "writing" : "reading", va, v, why);
	KT_ASSERT_MSG(fi.vector == T_PGFLT && fi.cr2 == va,
		      "%s %#lx: %s with cr2 %#lx, expected a page fault there",
		      write ? "writing" : "reading", va, trap_name(fi.vector), fi.cr2);
	KT_ASSERT_MSG((fi.error & (PF_PRESENT | PF_WRITE)) == want,
		      "%s %#lx: error code %#lx, expected present=%d write=%d",
		      write ? "writing" : "reading", va, fi.error, !!(want & PF_PRESENT),
		      !!(want & PF_WRITE));
}

/* The free-frame count must have moved by exactly delta since base. */
static void check_frames(size_t base, long delta, const char *what)
{
	long got = (long)frame_free_count() - (long)base;

	KT_ASSERT_MSG(got == -delta, "%s: %ld frame(s) in use, expected %ld", what, -got, delta);
}

/* ---- Creating spaces ----------------------------------------------------------- */

KTEST(lab2, init)
{
	size_t base = frame_free_count();
	struct aspace *as = new_space();
	const pte_t *mine = pa2kva(as->pml4);
	uint64_t local = 42;

	check_frames(base, 1, "a new space");
	for (int i = 0; i < PT_ENTRIES / 2; i++)
		KT_ASSERT_MSG(mine[i] == 0, "user PML4 entry %d of a new space is %#lx, expected 0",
			      i, mine[i]);
	for (int i = PT_ENTRIES / 2; i < PT_ENTRIES; i++) {
		KT_ASSERT_MSG(boot_pml4[i] & PTE_P,
			      "kernel PML4 entry %d is not present: the "
			      "kernel half must be populated at boot (kvm_init)",
			      i);
		KT_ASSERT_MSG(mine[i] == boot_pml4[i],
			      "kernel PML4 entry %d of a new space is %#lx, the kernel's is %#lx",
			      i, mine[i], boot_pml4[i]);
	}
	/* Load it: the kernel keeps running, on its stack, with its data and direct map. */
	activate(as);
	KT_ASSERT(aspace_current() == as);
	KT_ASSERT_MSG(as->cpus & (1UL << cpu_id()), "aspace_activate did not set this CPU's bit");
	KT_EQ(read_ok((uint64_t)&local), 42);
	KT_EQ_HEX(read_ok((uint64_t)pa2kva(as->pml4) + 8 * 300), mine[300]);
	check_unmapped(as, rand_user_va(PAGE_SIZE));
	activate(aspace_kernel());
	KT_ASSERT(!(as->cpus & (1UL << cpu_id())));
	/* Destroying gives the PML4 back; spaces come and go without leaking. */
	for (int round = 0; round < 3; round++) {
		KT_CALL_VOID(aspace_destroy(as));
		fx.live[0] = false;
		check_frames(base, 0, "after aspace_destroy");
		as = new_space();
	}
}

/* ---- Map ------------------------------------------------------------------------- */

KTEST(lab2, map)
{
	size_t base = frame_free_count();
	struct aspace *as = new_space();
	int n = 3 + (int)rng_below(ktest_rng(), 5);
	uint64_t va = rand_user_va(PAGE_SIZE), uva = va + HUGE_1G;
	paddr_t f[8];

	for (int i = 0; i < n; i++)
		f[i] = test_frame();
	base -= (size_t)n;
	/* One page at a time, frames in any order; the last one read-only. */
	for (int i = 0; i < n; i++)
		MAP(as, va + i * PAGE_SIZE, f[i], PAGE_SIZE, i == n - 1 ? 0 : AS_WRITE);
	KT_EQ_ERR(try_map(as, va + PAGE_SIZE, f[0], PAGE_SIZE, AS_WRITE), -EEXIST);
	KT_EQ_ERR(try_map(as, va - PAGE_SIZE, f[0], 2 * PAGE_SIZE, AS_WRITE), -EEXIST);
	check_unmapped(as, va - PAGE_SIZE);
	KT_EQ_ERR(try_map(as, va + 8, f[0], PAGE_SIZE, 0), -EINVAL);
	KT_EQ_ERR(try_map(as, va - PAGE_SIZE, f[0] + 8, PAGE_SIZE, 0), -EINVAL);
	KT_EQ_ERR(try_map(as, va - PAGE_SIZE, f[0], 0, 0), -EINVAL);
	KT_EQ_ERR(try_map(as, USER_TOP - PAGE_SIZE, f[0], 2 * PAGE_SIZE, 0), -EFAULT);
	KT_EQ_ERR(try_map(as, KMAP_BASE, f[0], PAGE_SIZE, 0), -EFAULT);
	KT_EQ_ERR(try_map(as, va, f[0], -PAGE_SIZE, 0), -EOVERFLOW);
	KT_EQ_ERR(try_map(as, va - PAGE_SIZE, f[0], PAGE_SIZE, AS_GLOBAL), -EINVAL);
	for (int i = 0; i < n; i++)
		check_map(as, va + i * PAGE_SIZE + 8 * i, f[i] + 8 * i, PT_LEVEL_PT,
			  i == n - 1 ? F_RO : F_RW);
	/* Tables only: the frames are the test's. Tables for two pages at most. */
	KT_ASSERT_MSG(base - frame_free_count() <= 1 + 3 * 2,
		      "%ld frames in use for %d mapped pages", (long)(base - frame_free_count()),
		      n);
	/* User and executable: the flags say so (the test does not touch user pages). */
	MAP(as, uva, f[0], PAGE_SIZE, AS_USER | AS_EXEC | AS_WRITE);
	check_map(as, uva, f[0], PT_LEVEL_PT, PTE_P | PTE_U | PTE_W);
	/* Through the MMU. */
	activate(as);
	for (int i = 0; i < n; i++) {
		int w = (int)rng_below(ktest_rng(), PAGE_SIZE / 8);

		KT_EQ_HEX(read_ok(va + i * PAGE_SIZE + 8 * w), pattern(f[i], w));
	}
	write_ok(va + 16, 0xfeed);
	KT_EQ_HEX(((uint64_t *)pa2kva(f[0]))[2], 0xfeed);
	expect_fault(va + (n - 1) * PAGE_SIZE, true, PF_PRESENT | PF_WRITE,
		     "the page was mapped without AS_WRITE");
	expect_fault(va + n * PAGE_SIZE, false, 0, "nothing is mapped there");
}

/*
 * map_1g_pages - 1 GiB leaves only when asked (AS_HUGE_1G), and a 4 KiB
 * unmap inside one splits it into 2 MiB pages around a table of 4 KiB ones.
 * The physical range is never touched: only the tables are checked.
 */
static void map_1g_pages(void)
{
	struct aspace *as = new_space();
	size_t base = frame_free_count();
	uint64_t va = rand_user_va(HUGE_1G), off = rng_below(ktest_rng(), HUGE_1G);
	uint64_t hole = va + HUGE_2M * (1 + rng_below(ktest_rng(), 500)) + PAGE_SIZE;
	paddr_t pa = 2 * HUGE_1G;

	MAP(as, va, pa, HUGE_1G, AS_HUGE_1G);
	check_map(as, va + off, pa + off, PT_LEVEL_PDPT, F_RO);
	check_frames(base, 1, "one 1 GiB page: a PDPT and no other table");
	MAP(as, va + HUGE_1G, pa, HUGE_1G, 0);
	check_map(as, va + HUGE_1G + off, pa + off, PT_LEVEL_PD, F_RO);
	UNMAP(as, va + HUGE_1G, HUGE_1G);
	UNMAP(as, hole, PAGE_SIZE);
	check_unmapped(as, hole);
	check_map(as, hole - PAGE_SIZE, pa + (hole - PAGE_SIZE - va), PT_LEVEL_PT, F_RO);
	check_map(as, hole + PAGE_SIZE, pa + (hole + PAGE_SIZE - va), PT_LEVEL_PT, F_RO);
	/* The hole is past the first 2 MiB, which stays one 2 MiB page. */
	check_map(as, va + off % HUGE_2M, pa + off % HUGE_2M, PT_LEVEL_PD, F_RO);
	check_frames(base, 3, "the split: PDPT, a PD of 2 MiB pages and one PT");
	UNMAP(as, va, HUGE_1G);
	check_frames(base, 0, "everything unmapped: tables freed");
}

KTEST(lab2, map_huge)
{
	struct aspace *as = new_space();
	size_t base = frame_free_count();
	uint64_t va = rand_user_va(HUGE_1G) + HUGE_2M * (1 + rng_below(ktest_rng(), 200));
	/* Low RAM that stays put: 2 MiB .. 6 MiB (read only through the mapping). */
	paddr_t pa = HUGE_2M;
	uint64_t head = 3 * PAGE_SIZE, tail = 5 * PAGE_SIZE, len = head + 2 * HUGE_2M + tail;

	MAP(as, va - head, pa - head, len, 0);
	check_map(as, va - head, pa - head, PT_LEVEL_PT, F_RO);
	check_map(as, va - PAGE_SIZE + 9, pa - PAGE_SIZE + 9, PT_LEVEL_PT, F_RO);
	check_map(as, va, pa, PT_LEVEL_PD, F_RO);
	check_map(as, va + HUGE_2M + 12345, pa + HUGE_2M + 12345, PT_LEVEL_PD, F_RO);
	check_map(as, va + 2 * HUGE_2M, pa + 2 * HUGE_2M, PT_LEVEL_PT, F_RO);
	check_map(as, va + 2 * HUGE_2M + tail - 1, pa + 2 * HUGE_2M + tail - 1, PT_LEVEL_PT, F_RO);
	check_unmapped(as, va + 2 * HUGE_2M + tail);
	check_unmapped(as, va - head - PAGE_SIZE);
	/* PDPT, PD, and a PT on each side: the 2 MiB pages need none. */
	check_frames(base, 4, "3 + 2x512 + 5 pages mapped with 2 MiB pages where possible");
	activate(as);
	for (int i = 0; i < 8; i++) {
		uint64_t off = ROUNDDOWN(rng_below(ktest_rng(), len), 8);

		KT_EQ_HEX(read_ok(va - head + off), *(uint64_t *)pa2kva(pa - head + off));
	}
	activate(aspace_kernel());
	/* va and pa congruent modulo 2 MiB or no large page at all. */
	MAP(as, va + HUGE_1G, pa + PAGE_SIZE, HUGE_2M, AS_WRITE);
	check_map(as, va + HUGE_1G + HUGE_2M - PAGE_SIZE, pa + HUGE_2M, PT_LEVEL_PT, F_RW);
	if (cpu_has_1g_pages())
		map_1g_pages();
}

KTEST(lab2, alloc)
{
	struct aspace *as = new_space();
	size_t base = frame_free_count();
	int n = 2 + (int)rng_below(ktest_rng(), 7);
	/* Across a PT boundary, not a PD one. */
	uint64_t va = rand_va_within_1g(HUGE_2M, 2 * HUGE_2M) + HUGE_2M - PAGE_SIZE;
	paddr_t pa[8];

	ALLOC(as, va, (uint64_t)n * PAGE_SIZE, AS_WRITE);
	check_frames(base, 1 + 1 + 2 + n, "aspace_alloc across two PTs");
	for (int i = 0; i < n; i++) {
		const uint64_t *w;

		pa[i] = pa_of(as, va + i * PAGE_SIZE);
		check_map(as, va + i * PAGE_SIZE, pa[i], PT_LEVEL_PT, F_RW);
		KT_ASSERT_MSG(frame_is_allocated(pa[i]),
			      "page %d maps %#lx, not an allocated frame", i, pa[i]);
		w = pa2kva(pa[i]);
		for (int k = 0; k < (int)(PAGE_SIZE / 8); k++)
			KT_ASSERT_MSG(w[k] == 0, "the frame of allocated page %d is not zeroed", i);
	}
	activate(as);
	for (int i = 0; i < n; i++)
		write_ok(va + i * PAGE_SIZE + 8, 0xa110c + (uint64_t)i);
	for (int i = 0; i < n; i++)
		KT_EQ_HEX(((uint64_t *)pa2kva(pa[i]))[1], 0xa110c + (uint64_t)i);
	activate(aspace_kernel());
	KT_EQ_ERR(try_alloc(as, va + (n - 1) * PAGE_SIZE, 2 * PAGE_SIZE, 0), -EEXIST);
	UNMAP(as, va, (uint64_t)n * PAGE_SIZE);
	for (int i = 0; i < n; i++)
		KT_ASSERT_MSG(!frame_is_allocated(pa[i]),
			      "the owned frame %#lx of an unmapped page was not freed", pa[i]);
	check_frames(base, 0, "aspace_alloc then aspace_unmap of the same range");
}

/* ---- Unmap ------------------------------------------------------------------------ */

KTEST(lab2, unmap)
{
	struct aspace *as = new_space();
	size_t base = frame_free_count();
	uint64_t va = rand_user_va(PAGE_SIZE), va2 = va + HUGE_1G + 7 * HUGE_2M;
	int hole = 1 + (int)rng_below(ktest_rng(), 4);
	paddr_t f[8];
	const pte_t *pml4 = pa2kva(as->pml4);

	for (int i = 0; i < 8; i++)
		f[i] = test_frame();
	base -= 8;
	for (int i = 0; i < 8; i++)
		MAP(as, va + i * PAGE_SIZE, f[i], PAGE_SIZE, AS_WRITE);
	ALLOC(as, va2, 4 * PAGE_SIZE, AS_WRITE);
	activate(as);
	for (int i = 0; i < 8; i++)
		KT_EQ_HEX(read_ok(va + i * PAGE_SIZE), pattern(f[i], 0));
	/* A hole of 3 pages in the middle; everything else still works. */
	UNMAP(as, va + hole * PAGE_SIZE, 3 * PAGE_SIZE);
	for (int i = 0; i < 8; i++) {
		bool gone = i >= hole && i < hole + 3;

		KT_ASSERT_MSG(frame_is_allocated(f[i]),
			      "unmap freed the frame %#lx that aspace_map mapped (not owned)",
			      f[i]);
		if (gone) {
			check_unmapped(as, va + i * PAGE_SIZE);
			expect_fault(va + i * PAGE_SIZE, false, 0, "the page was unmapped");
		} else {
			check_map(as, va + i * PAGE_SIZE, f[i], PT_LEVEL_PT, F_RW);
			KT_EQ_HEX(read_ok(va + i * PAGE_SIZE + 8), pattern(f[i], 1));
		}
	}
	/* Unmapping what is not mapped is no error. */
	UNMAP(as, va + hole * PAGE_SIZE, PAGE_SIZE);
	UNMAP(as, va + 2 * HUGE_1G, HUGE_1G);
	/* A range with holes and both mappings in it: every table goes, the space is empty. */
	UNMAP(as, ROUNDDOWN(va, HUGE_1G), 3 * HUGE_1G);
	check_unmapped(as, va);
	check_unmapped(as, va2 + 3 * PAGE_SIZE);
	expect_fault(va2, false, 0, "the range was unmapped");
	for (int i = 0; i < PT_ENTRIES / 2; i++)
		KT_ASSERT_MSG(
			pml4[i] == 0,
			"PML4 entry %d is still %#lx after everything was unmapped (free empty "
			"tables)",
			i, pml4[i]);
	check_frames(base, 0, "everything mapped was unmapped");
	for (int i = 0; i < 8; i++)
		KT_EQ_HEX(((uint64_t *)pa2kva(f[i]))[0], pattern(f[i], 0));
}

KTEST(lab2, unmap_split)
{
	struct aspace *as = new_space();
	size_t base = frame_free_count();
	uint64_t va = rand_va_within_1g(HUGE_2M, 2 * HUGE_2M);
	paddr_t pa = 2 * HUGE_2M;
	int k = 1 + (int)rng_below(ktest_rng(), 510);

	MAP(as, va, pa, HUGE_2M, AS_WRITE | AS_EXEC);
	check_map(as, va, pa, PT_LEVEL_PD, PTE_P | PTE_W);
	activate(as);
	KT_EQ_HEX(read_ok(va + k * PAGE_SIZE), *(uint64_t *)pa2kva(pa + k * PAGE_SIZE));
	UNMAP(as, va + k * PAGE_SIZE, PAGE_SIZE);
	check_unmapped(as, va + k * PAGE_SIZE);
	expect_fault(va + k * PAGE_SIZE, false, 0, "that page of the 2 MiB page was unmapped");
	for (int i = 0; i < 8; i++) {
		int p = (int)rng_below(ktest_rng(), 512);

		p = p == k ? k - 1 : p;
		check_map(as, va + p * PAGE_SIZE + 24, pa + p * PAGE_SIZE + 24, PT_LEVEL_PT,
			  PTE_P | PTE_W);
		KT_EQ_HEX(read_ok(va + p * PAGE_SIZE + 24),
			  *(uint64_t *)pa2kva(pa + p * PAGE_SIZE + 24));
	}
	check_map(as, va + (k - 1) * PAGE_SIZE, pa + (k - 1) * PAGE_SIZE, PT_LEVEL_PT,
		  PTE_P | PTE_W);
	check_map(as, va + (k + 1) * PAGE_SIZE, pa + (k + 1) * PAGE_SIZE, PT_LEVEL_PT,
		  PTE_P | PTE_W);
	/* PDPT, PD, and the new PT. */
	check_frames(base, 3, "a 2 MiB page split in 4 KiB ones");
	UNMAP(as, va, HUGE_2M);
	check_frames(base, 0, "the split page unmapped");
	/* From inside one 2 MiB page to inside the next: both ends split. */
	MAP(as, va, pa, 2 * HUGE_2M, 0);
	UNMAP(as, va + k * PAGE_SIZE, HUGE_2M);
	check_map(as, va + (k - 1) * PAGE_SIZE, pa + (k - 1) * PAGE_SIZE, PT_LEVEL_PT, F_RO);
	check_unmapped(as, va + HUGE_2M - PAGE_SIZE);
	check_unmapped(as, va + HUGE_2M + (k - 1) * PAGE_SIZE);
	check_map(as, va + HUGE_2M + k * PAGE_SIZE, pa + HUGE_2M + k * PAGE_SIZE, PT_LEVEL_PT,
		  F_RO);
	check_map(as, va + 2 * HUGE_2M - 8, pa + 2 * HUGE_2M - 8, PT_LEVEL_PT, F_RO);
	KT_EQ_HEX(read_ok(va + 2 * HUGE_2M - 8), *(uint64_t *)pa2kva(pa + 2 * HUGE_2M - 8));
	check_frames(base, 3 + 1, "two 2 MiB pages, both split");
}

/* ---- Protect ----------------------------------------------------------------------- */

KTEST(lab2, protect)
{
	struct aspace *as = new_space();
	uint64_t va = rand_user_va(PAGE_SIZE), hva = va + HUGE_1G;
	size_t base;

	ALLOC(as, va, 4 * PAGE_SIZE, AS_WRITE);
	MAP(as, ROUNDDOWN(hva, HUGE_2M), 2 * HUGE_2M, HUGE_2M, AS_WRITE);
	activate(as);
	for (int i = 0; i < 4; i++)
		write_ok(va + i * PAGE_SIZE, (uint64_t)i); /* the TLB now holds writable entries */
	PROTECT(as, va + PAGE_SIZE, 2 * PAGE_SIZE, 0);
	check_map(as, va + PAGE_SIZE, pa_of(as, va + PAGE_SIZE), PT_LEVEL_PT, F_RO);
	check_map(as, va + 3 * PAGE_SIZE, pa_of(as, va + 3 * PAGE_SIZE), PT_LEVEL_PT, F_RW);
	expect_fault(va + PAGE_SIZE, true, PF_PRESENT | PF_WRITE,
		     "the page was made read-only (flush the TLB after changing a PTE)");
	expect_fault(va + 2 * PAGE_SIZE, true, PF_PRESENT | PF_WRITE,
		     "the page was made read-only");
	KT_EQ(read_ok(va + PAGE_SIZE), 1);
	write_ok(va, 10);
	write_ok(va + 3 * PAGE_SIZE, 13);
	PROTECT(as, va, 4 * PAGE_SIZE, AS_WRITE | AS_EXEC);
	write_ok(va + 2 * PAGE_SIZE, 12);
	check_map(as, va + 2 * PAGE_SIZE, pa_of(as, va + 2 * PAGE_SIZE), PT_LEVEL_PT,
		  PTE_P | PTE_W);
	/* A hole in the range: -ENOENT, nothing changed. */
	base = frame_free_count();
	KT_EQ_ERR(try_protect(as, va, 5 * PAGE_SIZE, 0), -ENOENT);
	KT_EQ_ERR(try_protect(as, va - PAGE_SIZE, 2 * PAGE_SIZE, 0), -ENOENT);
	KT_EQ_ERR(try_protect(as, va, PAGE_SIZE, AS_GLOBAL), -EINVAL);
	write_ok(va, 20);
	check_frames(base, 0, "a failed aspace_protect");
	/* One 4 KiB page of a 2 MiB one: split; the rest keeps its permissions. */
	hva = ROUNDDOWN(hva, HUGE_2M) + PAGE_SIZE * (1 + rng_below(ktest_rng(), 510));
	/* (Writes to this RAM write back what is there: the test does not own it.) */
	write_ok(hva, *(uint64_t *)pa2kva(2 * HUGE_2M + (hva & (HUGE_2M - 1))));
	PROTECT(as, hva, PAGE_SIZE, 0);
	expect_fault(hva, true, PF_PRESENT | PF_WRITE, "the page was made read-only");
	write_ok(hva - PAGE_SIZE,
		 *(uint64_t *)pa2kva(2 * HUGE_2M + (hva & (HUGE_2M - 1)) - PAGE_SIZE));
	check_map(as, hva - PAGE_SIZE, 2 * HUGE_2M + (hva & (HUGE_2M - 1)) - PAGE_SIZE, PT_LEVEL_PT,
		  F_RW);
	check_map(as, hva, 2 * HUGE_2M + (hva & (HUGE_2M - 1)), PT_LEVEL_PT, F_RO);
}

/* ---- The TLB --------------------------------------------------------------------------- */

KTEST(lab2, tlb)
{
	struct aspace *as = new_space(), *k = kernel_space();
	uint64_t va = rand_user_va(PAGE_SIZE);
	uint64_t kva = TEST_KVA + PAGE_SIZE * rng_below(ktest_rng(), 4096);
	paddr_t f1 = test_frame(), f2 = test_frame();

	MAP(as, va, f1, PAGE_SIZE, AS_WRITE);
	activate(as);
	KT_EQ_HEX(read_ok(va), pattern(f1, 0)); /* now in the TLB */
	UNMAP(as, va, PAGE_SIZE);
	expect_fault(va, false, 0,
		     "the page was unmapped; a read that works used a stale TLB "
		     "entry (flush after unmapping)");
	/* Unmapped and mapped elsewhere, without a fault between: the new frame shows. */
	MAP(as, va, f1, PAGE_SIZE, AS_WRITE);
	KT_EQ_HEX(read_ok(va + 8), pattern(f1, 1));
	UNMAP(as, va, PAGE_SIZE);
	MAP(as, va, f2, PAGE_SIZE, AS_WRITE);
	KT_EQ_HEX(read_ok(va + 8), pattern(f2, 1));
	/* More pages than one flush does one by one. */
	UNMAP(as, va, PAGE_SIZE);
	ALLOC(as, va, 40 * PAGE_SIZE, AS_WRITE);
	for (int i = 0; i < 40; i++)
		write_ok(va + i * PAGE_SIZE, (uint64_t)i);
	UNMAP(as, va, 40 * PAGE_SIZE);
	for (int i = 0; i < 40; i++)
		expect_fault(va + i * PAGE_SIZE, false, 0, "40 pages were unmapped");
	/* A global kernel mapping: its TLB entry survives CR3 writes, not the flush. */
	MAP(k, kva, f1, PAGE_SIZE, AS_WRITE | AS_GLOBAL);
	check_map(k, kva, f1, PT_LEVEL_PT, F_RW | PTE_G);
	KT_EQ_HEX(read_ok(kva), pattern(f1, 0));
	activate(aspace_kernel());
	KT_EQ_HEX(read_ok(kva + 8), pattern(f1, 1));
	UNMAP(k, kva, PAGE_SIZE);
	expect_fault(kva, false, 0, "the kernel page was unmapped (flush global entries too)");
}

/* first_flush - index of the first flush event in t that covers [va, va + len), or -1. */
static int first_flush(const struct as_trace *t, uint64_t va, uint64_t len)
{
	for (int i = 0; i < t->n; i++)
		if (t->ev[i].kind == AS_EV_FLUSH && t->ev[i].a <= va &&
		    (t->ev[i].b == 0 || t->ev[i].b >= va + len))
			return i;
	return -1;
}

static struct as_trace trace;

KTEST(lab2, flush_order)
{
	struct aspace *as = new_space();
	uint64_t va = rand_va_within_1g(HUGE_2M, 2 * HUGE_2M) + HUGE_2M - 2 * PAGE_SIZE;
	paddr_t pa[4];
	int pages = 0, tables = 0;

	ALLOC(as, va, 4 * PAGE_SIZE, AS_WRITE);
	for (int i = 0; i < 4; i++)
		pa[i] = pa_of(as, va + i * PAGE_SIZE);
	activate(as);
	for (int i = 0; i < 4; i++)
		write_ok(va + i * PAGE_SIZE, (uint64_t)i);
	as_trace_attach(&trace);
	UNMAP(as, va, 4 * PAGE_SIZE);
	as_trace_attach(NULL);
	KT_ASSERT(!trace.overflow);
	for (int i = 0; i < trace.n; i++) {
		const struct as_event *e = &trace.ev[i];
		int page = -1, flush;

		if (e->kind == AS_EV_FLUSH)
			continue;
		for (int p = 0; p < 4; p++)
			if (e->a == pa[p])
				page = p;
		if (e->kind == AS_EV_FREE_PAGE) {
			KT_ASSERT_MSG(page >= 0, "unmap freed the frame %#lx, not one of the range",
				      e->a);
			pages++;
			flush = first_flush(&trace, va + page * PAGE_SIZE, PAGE_SIZE);
		} else {
			tables++;
			flush = first_flush(&trace, va, 4 * PAGE_SIZE);
		}
		KT_ASSERT_MSG(
			flush >= 0 && flush < i,
			"the %s %#lx was freed before a TLB flush covered it (event %d of %d; "
			"flush first, then free)",
			e->kind == AS_EV_FREE_PAGE ? "frame" : "table", e->a, i, trace.n);
	}
	KT_EQ(pages, 4);
	/* The two PTs, the PD and the PDPT: the space is empty again. */
	KT_EQ(tables, 4);
}

/* ---- The kernel half ---------------------------------------------------------------------- */

KTEST(lab2, kernel_shared)
{
	struct aspace *a = new_space(), *k = kernel_space(), *b;
	uint64_t kva = TEST_KVA + PAGE_SIZE * rng_below(ktest_rng(), 1024);
	uint64_t uva = rand_user_va(PAGE_SIZE);
	paddr_t f1 = test_frame(), f2 = test_frame();
	const pte_t *kpml4 = pa2kva(k->pml4);
	pte_t pml4e = kpml4[(kva >> 39) & 511];
	size_t base = frame_free_count();

	/* Mapped in the kernel's space after a was made: a sees it at once. */
	MAP(k, kva, f1, PAGE_SIZE, AS_WRITE);
	check_map(a, kva, f1, PT_LEVEL_PT, F_RW);
	activate(a);
	KT_EQ_HEX(read_ok(kva + 16), pattern(f1, 2));
	write_ok(kva + 16, 0x5a11ed);
	activate(aspace_kernel());
	KT_EQ_HEX(read_ok(kva + 16), 0x5a11ed);
	KT_EQ_ERR(try_map(k, uva, f1, PAGE_SIZE, 0), -EFAULT);
	KT_EQ_ERR(try_map(k, kva + PAGE_SIZE, f1, PAGE_SIZE, AS_USER), -EINVAL);
	/*
	 * Unmapped: gone everywhere; the shared PDPT stays, the PML4 entry never
	 * changes (but for the accessed bit, which the CPU sets when it walks
	 * through: this test may be the first to touch the region).
	 */
	UNMAP(k, kva, PAGE_SIZE);
	KT_EQ_HEX(kpml4[(kva >> 39) & 511] & ~PTE_A, pml4e & ~PTE_A);
	check_frames(base, 0,
		     "a kernel page mapped and unmapped (free its PD and PT, not the "
		     "shared PDPT)");
	check_unmapped(a, kva);
	/* Mapped again: a sees the new one through the same PDPT. */
	MAP(k, kva, f2, PAGE_SIZE, AS_WRITE);
	b = new_space();
	activate(a);
	KT_EQ_HEX(read_ok(kva), pattern(f2, 0));
	activate(b);
	KT_EQ_HEX(read_ok(kva + 8), pattern(f2, 1));
	activate(aspace_kernel());
	/* The user half is private. */
	MAP(a, uva, f1, PAGE_SIZE, AS_WRITE);
	check_unmapped(b, uva);
	check_unmapped(k, uva);
	check_map(a, uva, f1, PT_LEVEL_PT, F_RW);
}

/* ---- Demand-zero pages --------------------------------------------------------------------- */

KTEST(lab2, demand_zero)
{
	struct aspace *as = new_space(), *k = kernel_space();
	uint64_t va = rand_va_within_1g(PAGE_SIZE, 5 * PAGE_SIZE), ro = va + 4 * PAGE_SIZE;
	uint64_t kva = TEST_KVA + PAGE_SIZE * rng_below(ktest_rng(), 1024);
	size_t base;
	paddr_t pa;

	RESERVE(as, va, 4 * PAGE_SIZE, AS_WRITE);
	RESERVE(as, ro, PAGE_SIZE, 0);
	base = frame_free_count();
	check_unmapped(as, va);
	activate(as);
	/* First touch: a zeroed frame, nothing before. */
	KT_EQ(read_ok(va + 24), 0);
	check_frames(base, 1, "one reserved page touched");
	pa = pa_of(as, va);
	check_map(as, va, pa, PT_LEVEL_PT, F_RW);
	write_ok(va + 2 * PAGE_SIZE + 8, 0xd0d0);
	KT_EQ_HEX(read_ok(va + 2 * PAGE_SIZE + 8), 0xd0d0);
	KT_EQ(read_ok(va + 2 * PAGE_SIZE), 0);
	check_frames(base, 2, "two reserved pages touched");
	/* What the reservation does not allow still faults, and costs nothing. */
	expect_fault(ro + 8, true, PF_WRITE, "the reserved page is read-only");
	check_frames(base, 2, "a refused write to a read-only reserved page");
	KT_EQ(read_ok(ro + 8), 0);
	expect_fault(ro + PAGE_SIZE, false, 0, "nothing is reserved there");
	check_frames(base, 3, "three reserved pages touched");
	/* Reserved pages in the kernel half, touched while another space is loaded. */
	RESERVE(k, kva, PAGE_SIZE, AS_WRITE);
	write_ok(kva + 32, 0x7e57);
	activate(aspace_kernel());
	KT_EQ_HEX(read_ok(kva + 32), 0x7e57);
	UNMAP(k, kva, PAGE_SIZE);
	/* Unmapped: the frames are freed. */
	UNMAP(as, va, 5 * PAGE_SIZE);
	KT_ASSERT_MSG(!frame_is_allocated(pa),
		      "the frame of a touched reserved page was not freed");
	/* Its page tables (two when the 5 pages cross a 2 MiB line), PD and PDPT. */
	check_frames(base, -(long)(pts_spanned(va, 5 * PAGE_SIZE) + 1 + 1),
		     "everything unmapped (the reservation's tables too)");
	KT_EQ_ERR(try_fault(as, va, 0), -EFAULT);
	/*
	 * Touched reserved pages left for aspace_destroy (the test's cleanup):
	 * destroying the space must free their frames too, or the framework
	 * reports a frame leak.
	 */
	RESERVE(as, va, 2 * PAGE_SIZE, AS_WRITE);
	activate(as);
	write_ok(va + PAGE_SIZE + 16, 0xd1);
	KT_EQ(read_ok(va), 0);
	activate(aspace_kernel());
}

/* ---- Out of frames -------------------------------------------------------------------------- */

KTEST(lab2, oom)
{
	struct aspace *as = new_space();
	uint64_t va = rand_user_va(HUGE_1G) + HUGE_1G - 2 * PAGE_SIZE; /* needs 2 PDs, 2 PTs */
	paddr_t f = test_frame();

	for (int call = 0; call < 3; call++) {
		for (long budget = 0;; budget++) {
			size_t base = frame_free_count();
			int r;

			frame_fail_after(budget);
			if (call == 0)
				r = try_map(as, va, f, 4 * PAGE_SIZE, AS_WRITE);
			else if (call == 1)
				r = try_alloc(as, va, 4 * PAGE_SIZE, AS_WRITE);
			else
				r = try_reserve(as, va, 4 * PAGE_SIZE, AS_WRITE);
			frame_fail_after(-1);
			if (r == 0) {
				UNMAP(as, va, 4 * PAGE_SIZE);
				check_frames(base, 0, "mapped and unmapped again");
				break;
			}
			KT_ASSERT_MSG(r == -ENOMEM, "%s with %ld frame(s) left returned %d (%s)",
				      (const char *[]){ "aspace_map", "aspace_alloc",
							"aspace_reserve" }[call],
				      budget, r, errname(r));
			check_frames(base, 0, "a call that failed with -ENOMEM");
			for (int i = 0; i < 4; i++)
				check_unmapped(as, va + i * PAGE_SIZE);
			KT_ASSERT(budget < 16);
		}
	}
	/* Splitting needs a frame too: without one, nothing changes. */
	MAP(as, va + 2 * PAGE_SIZE + HUGE_2M, 2 * HUGE_2M, HUGE_2M, AS_WRITE);
	frame_fail_after(0);
	KT_EQ_ERR(try_unmap(as, va + 3 * PAGE_SIZE + HUGE_2M, PAGE_SIZE), -ENOMEM);
	KT_EQ_ERR(try_protect(as, va + 3 * PAGE_SIZE + HUGE_2M, PAGE_SIZE, 0), -ENOMEM);
	frame_fail_after(-1);
	check_map(as, va + 3 * PAGE_SIZE + HUGE_2M, 2 * HUGE_2M + PAGE_SIZE, PT_LEVEL_PD, F_RW);
	/* A demand-zero fault without a frame. */
	RESERVE(as, va, PAGE_SIZE, AS_WRITE);
	frame_fail_after(0);
	KT_EQ_ERR(try_fault(as, va, PF_WRITE), -ENOMEM);
	frame_fail_after(-1);
	check_unmapped(as, va);
	KT_EQ_ERR(try_fault(as, va, PF_WRITE), 0);
}

/* ---- The randomized model -------------------------------------------------------------------- */

static size_t kernel_free_frames(void)
{
	return frame_free_count();
}

/* The model's space, tracked by memview while it exists. */
static struct aspace *model_space;

static void model_watch(struct aspace *as)
{
	if (model_space)
		memview_untrack(model_space);
	model_space = as;
	if (as)
		memview_track(as, "lab2-model");
}

static const struct as_model_env kernel_env = {
	.free_frames = kernel_free_frames,
	.frame_allocated = frame_is_allocated,
	.fail_after = frame_fail_after,
	.watch = model_watch,
	/* The space is gone when the body ends: check the machine while it is there. */
	.check = memview_test_check,
};

struct model_run {
	char msg[512];
	int ret;
};

static void run_model(void *arg)
{
	struct model_run *run = arg;

	run->ret = as_model_run(&kernel_env, ktest_rng(), 10000, run->msg, sizeof(run->msg));
}

KTEST(lab2, model)
{
	static struct model_run run;
	struct fault_info fi;
	const char *fn;
	uint64_t off = 0;

	run.msg[0] = '\0';
	run.ret = -1;
	if (ktest_catch_fault(run_model, &run, &fi)) {
		/* The model never got to destroy its space: stop watching it. */
		model_watch(NULL);
		fn = ksym_lookup(fi.rip, &off);
		KT_FAIL("the model test crashed: %s at %s+%#lx, cr2 %#lx", trap_name(fi.vector),
			fn ? fn : "?", off, fi.cr2);
	}
	KT_ASSERT_MSG(run.ret == 0, "%s", run.msg);
}
