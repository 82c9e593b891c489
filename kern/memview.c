/*
 * memview: the census of physical memory, its checks, and its pictures
 * (kern/memview.h). WeensyOS and Chickadee have a memory viewer of this
 * kind; this one is also a checker that the test framework runs after each
 * lab 2-4 test, so a bug that leaves the machine inconsistent fails the test
 * that caused it even when that test's own assertions passed.
 *
 * It never trusts the tables it reads: each space is walked with lab 1's
 * walker under ktest_catch_fault, so a corrupt table is reported, not a
 * panic. It runs on the BSP only, when no other CPU runs test work (which
 * could change the tables under the walk): a check is skipped, and says so,
 * while one does.
 */
#include "kern/bootinfo.h"
#include "kern/console.h"
#include "kern/cpu.h"
#include "kern/frame.h"
#include "kern/memview.h"
#include "kern/percpu.h"
#include "kern/smp.h"
#include "kern/test/ktest.h"
#include "kern/x86.h"
#include "lib/cmdline.h"
#include "lib/printfmt.h"
#include "lib/string.h"

#ifndef MEMVIEW_CHECK
#define MEMVIEW_CHECK 1
#endif

/* Frames the census covers: 256 MiB, what the grader gives QEMU. */
#define MV_MAX_FRAMES 65536
#define MV_WORDS (MV_MAX_FRAMES / 64)
#define MV_MAX_SPACES 16
#define MV_MAX_FINDINGS 8
#define MV_FINDING_MAX 200
#define MV_KERNEL 0 /* index of the kernel's space */
#define MV_NO_FRAME (~0UL) /* a finding about no frame in particular */

/* What a frame is. The letter is what the maps print for it. */
enum mv_kind {
	MV_HOLE, /* not RAM (a hole in the memory map, device memory) */
	MV_FREE, /* free in the allocator */
	MV_RESERVED, /* RAM the allocator never hands out: first MiB, boot data */
	MV_IMAGE, /* the kernel image */
	MV_BOOTPT, /* a boot page table (in the image) */
	MV_ALLOCDATA, /* the frame allocator's bitmaps (in the image) */
	MV_MODULE, /* a user program image (Multiboot2 module) */
	MV_KALLOC, /* allocated, reached by nothing but the direct map */
	MV_TABLE, /* a page-table page of a space */
	MV_OWNED, /* a data frame a space owns (aspace_alloc, demand-zero) */
	MV_MAPPED, /* allocated RAM a space maps but does not own */
	MV_LEAK, /* allocated during the test, reached by nothing */
	MV_NKINDS
};

static const char kind_letter[MV_NKINDS] = { ' ', '.', 'R', 'K', 'B', 'A',
					     'P', 'k', 'T', 'D', 'm', 'L' };
static const char *const kind_name[MV_NKINDS] = {
	"not RAM",
	"free",
	"reserved (first MiB, boot data)",
	"kernel image",
	"boot page table",
	"frame allocator data",
	"user program image",
	"kernel allocation (direct map only)",
	"page table of that level (PT..PML4)",
	"data frame owned by a space",
	"RAM mapped by a space, not owned",
	"leak: allocated in the test, reached by nothing",
};

/* Per frame: who holds it. */
struct mv_frame {
	uint64_t va; /* data: first VA mapping it; table: first VA it covers */
	uint32_t gen; /* the census this record belongs to; older ones are stale */
	uint8_t kind; /* enum mv_kind */
	uint8_t space; /* the space of va */
	uint8_t level; /* tables: 1 (PT) .. 4 (PML4) */
	uint8_t owner; /* 1 + the space that owns it (AS_PTE_OWNED), or 0 */
	uint8_t wuser; /* 1 + a user space that maps it writable, or 0 */
	uint8_t maps; /* how many leaves map it (saturates) */
	uint8_t bad; /* a finding names it */
};

struct mv_space {
	struct aspace *as;
	char name[24];
	size_t leaves, reserved, tables;
};

/*
 * A record is valid only for the census whose number it holds (fr() resets
 * a stale one), so a census costs what it walks, not the size of memory.
 */
static struct mv_frame frames[MV_MAX_FRAMES];
static uint32_t generation;
static size_t nframes;
static uint64_t allocated_now[MV_WORDS], usable_now[MV_WORDS];
static struct mv_space spaces[MV_MAX_SPACES];
static int nspaces; /* entries used in spaces[], the kernel's included */
static uint64_t allocated_before[MV_WORDS];
static char findings[MV_MAX_FINDINGS][MV_FINDING_MAX];
static int nfindings;
/*
 * What the checks during the test (memview_test_check, after its body)
 * found, reported when it ends: the first MV_MAX_FINDINGS of them, and how
 * many in all.
 */
static char pending[MV_MAX_FINDINGS][MV_FINDING_MAX];
static int npending;
static const char *current_test; /* between memview_test_begin and _end */
static bool body_checked; /* the check after the body ran */
static bool census_skipped; /* the walker is a stub: nothing to check */
static const char *print_mode; /* memview= on the command line, or NULL */

/* ---- Spaces ----------------------------------------------------------------- */

void memview_track(struct aspace *as, const char *name)
{
	int i;

	for (i = 1; i < MV_MAX_SPACES && spaces[i].as && spaces[i].as != as; i++)
		;
	if (i == MV_MAX_SPACES)
		return;
	spaces[i].as = as;
	strlcpy(spaces[i].name, name, sizeof(spaces[i].name));
	if (i >= nspaces)
		nspaces = i + 1;
}

void memview_untrack(struct aspace *as)
{
	for (int i = 1; i < nspaces; i++)
		if (spaces[i].as == as)
			spaces[i].as = NULL;
}

static const char *space_name(int i)
{
	return i == MV_KERNEL ? "kernel" : spaces[i].name;
}

static struct mv_frame *fr(size_t i);

/* ---- Findings -------------------------------------------------------------------- */

/*
 * What the census after the last checked test's cleanups found: an
 * inconsistency that outlives its test is charged to that test only, not to
 * every test after it (as the grader charges a crash to one test).
 */
static char inherited[MV_MAX_FINDINGS][MV_FINDING_MAX], left[MV_MAX_FINDINGS][MV_FINDING_MAX];
static int ninherited, nleft;
static bool checking; /* a check (not a picture): leave out what earlier tests left */

static void finding(paddr_t pa, const char *fmt, ...) __printf(2, 3);
static void finding(paddr_t pa, const char *fmt, ...)
{
	char text[MV_FINDING_MAX];
	va_list ap;

	if (pa / PAGE_SIZE < nframes)
		fr(pa / PAGE_SIZE)->bad = 1;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (checking && nleft < MV_MAX_FINDINGS)
		strlcpy(left[nleft++], text, MV_FINDING_MAX);
	for (int i = 0; checking && i < ninherited; i++)
		if (strcmp(inherited[i], text) == 0)
			return;
	/* A check after others in the same test: what they found is said once. */
	for (int i = 0; checking && i < MIN(nfindings, MV_MAX_FINDINGS); i++)
		if (strcmp(findings[i], text) == 0)
			return;
	if (nfindings < MV_MAX_FINDINGS)
		strlcpy(findings[nfindings], text, MV_FINDING_MAX);
	nfindings++;
}

/* ---- The census ----------------------------------------------------------------------- */

static bool bit(const uint64_t *map, size_t i)
{
	return map[i / 64] & (1UL << (i % 64));
}

static bool in(paddr_t pa, paddr_t start, paddr_t end)
{
	return pa >= ROUNDDOWN(start, PAGE_SIZE) && pa < end;
}

/* What the allocator and the boot information say of frame i, before any walk. */
static enum mv_kind base_kind(size_t i)
{
	static const uint64_t *const boot_tables[] = {
		boot_pml4,	 boot_pdpt_dmap,  boot_pdpt_kern,  boot_pd_dmap[0],
		boot_pd_dmap[1], boot_pd_dmap[2], boot_pd_dmap[3], boot_pd_kern,
	};
	paddr_t pa = i * PAGE_SIZE, s, e;
	enum mv_kind kind = MV_HOLE;

	if (bit(allocated_now, i))
		return MV_KALLOC;
	if (bit(usable_now, i))
		return MV_FREE;
	for (size_t j = 0; j < ARRAY_SIZE(boot_tables); j++)
		if (pa == kva2pa(boot_tables[j]))
			return MV_BOOTPT;
	for (int j = 0; j < 2; j++) {
		frame_bitmaps(j, &s, &e);
		if (in(pa, s, e))
			return MV_ALLOCDATA;
	}
	if (in(pa, kva2pa(__kernel_start), kva2pa(__kernel_end)))
		return MV_IMAGE;
	for (int j = 0; j < boot_info.nmodules; j++)
		if (in(pa, boot_info.modules[j].start, boot_info.modules[j].end))
			return MV_MODULE;
	for (int j = 0; j < boot_info.nmmap; j++) {
		const struct mem_region *r = &boot_info.mmap[j];

		if (pa >= r->base && pa < r->base + r->len) {
			if (r->type != MEM_AVAILABLE)
				return MV_HOLE;
			kind = MV_RESERVED;
		}
	}
	return kind;
}

/* fr - the record of frame i in this census (i < nframes). */
static struct mv_frame *fr(size_t i)
{
	struct mv_frame *f = &frames[i];

	if (f->gen != generation) {
		*f = (struct mv_frame){ .gen = generation };
		f->kind = (uint8_t)base_kind(i);
	}
	return f;
}

static bool allocated(paddr_t pa)
{
	return pa / PAGE_SIZE < nframes && bit(allocated_now, pa / PAGE_SIZE);
}

static bool usable(paddr_t pa)
{
	return pa / PAGE_SIZE < nframes && bit(usable_now, pa / PAGE_SIZE);
}

/* Start a census: a new generation and a snapshot of the allocator. */
static void census_base(void)
{
	paddr_t top = 0;

	for (int i = 0; i < boot_info.nmmap; i++)
		if (boot_info.mmap[i].type == MEM_AVAILABLE)
			top = MAX(top, boot_info.mmap[i].base + boot_info.mmap[i].len);
	nframes = MIN(top / PAGE_SIZE, (paddr_t)MV_MAX_FRAMES);
	generation++;
	frame_bits(allocated_now, usable_now, MV_MAX_FRAMES);
}

/* A kernel frame: one that no user-accessible mapping may reach. */
static bool kernel_kind(enum mv_kind k)
{
	return k == MV_IMAGE || k == MV_BOOTPT || k == MV_ALLOCDATA || k == MV_RESERVED ||
	       k == MV_TABLE || k == MV_KALLOC;
}

struct census_walk {
	int space;
	uint64_t start, end;
	int ret;
	paddr_t last_table;
};

static void note_table(struct census_walk *w, paddr_t pa, int level, uint64_t base)
{
	struct mv_frame *f;
	const pte_t *t;
	bool empty = true;

	if (pa == w->last_table)
		return;
	w->last_table = pa;
	if (pa / PAGE_SIZE >= nframes)
		return;
	f = fr(pa / PAGE_SIZE);
	if (f->kind == MV_TABLE) {
		if (f->space != w->space || f->va != base || f->level != level)
			finding(pa,
				"page table %#lx is reached from two places: level %d at %#lx in "
				"space %s, and level %d at %#lx in space %s",
				pa, f->level, f->va, space_name(f->space), level, base,
				space_name(w->space));
		return;
	}
	spaces[w->space].tables++;
	if (usable(pa) && !allocated(pa))
		finding(pa,
			"page table %#lx (level %d at %#lx in space %s) is free in the "
			"allocator: use after free",
			pa, level, base, space_name(w->space));
	if (f->owner)
		finding(pa,
			"page table %#lx (level %d in space %s) is also a data frame of %s at %#lx",
			pa, level, space_name(w->space), space_name(f->owner - 1), f->va);
	if (f->wuser)
		finding(pa,
			"page table %#lx (level %d in space %s) is mapped writable and "
			"user-accessible by space %s",
			pa, level, space_name(w->space), space_name(f->wuser - 1));
	/* The kernel half's PDPTs stay even when empty: every space shares them. */
	if (level < PT_LEVEL_PML4 && !(w->space == MV_KERNEL && level == PT_LEVEL_PDPT) &&
	    f->kind != MV_BOOTPT) {
		t = pt_table(pa);
		for (int i = 0; i < PT_ENTRIES && empty; i++)
			empty = t[i] == 0;
		if (empty)
			finding(pa,
				"page table %#lx (level %d at %#lx in space %s) is empty but still linked",
				pa, level, base, space_name(w->space));
	}
	if (f->kind != MV_BOOTPT)
		f->kind = MV_TABLE;
	f->space = (uint8_t)w->space;
	f->level = (uint8_t)level;
	f->va = base;
}

/* The kernel's own maps of all memory: not a use of the frames they reach. */
static bool kernel_map(uint64_t va)
{
	return (va >= DMAP_BASE && va < DMAP_BASE + DMAP_SIZE) || va >= KERNBASE;
}

static void note_frame(struct census_walk *w, paddr_t pa, uint64_t va, pte_t e, pte_t eff)
{
	struct mv_frame *f = fr(pa / PAGE_SIZE);
	bool owned = e & AS_PTE_OWNED, user = (eff & PTE_U) && va < USER_TOP;
	int me = w->space + 1;

	if (f->maps < 255)
		f->maps++;
	if (owned) {
		if (usable(pa) && !allocated(pa))
			finding(pa,
				"frame %#lx is mapped at %#lx by space %s (owned) but is free in "
				"the allocator: use after free through the MMU",
				pa, va, space_name(w->space));
		else if (f->kind == MV_TABLE)
			finding(pa,
				"frame %#lx, a page table, is owned as data by space %s at %#lx",
				pa, space_name(w->space), va);
		else if (f->owner)
			finding(pa,
				"frame %#lx is owned twice: by space %s at %#lx and by space %s at "
				"%#lx (it will be freed twice)",
				pa, space_name(f->owner - 1), f->va, space_name(w->space), va);
		else if (!usable(pa))
			finding(pa,
				"frame %#lx (%s) is owned by space %s at %#lx: the allocator never gave it",
				pa, kind_name[f->kind], space_name(w->space), va);
		f->owner = (uint8_t)me;
		if (f->kind != MV_TABLE) {
			f->kind = MV_OWNED;
			f->space = (uint8_t)w->space;
			f->va = va;
		}
	} else if (f->kind == MV_KALLOC || f->kind == MV_FREE) {
		f->kind = MV_MAPPED;
		f->space = (uint8_t)w->space;
		f->va = va;
	}
	if (!user)
		return;
	if (kernel_kind((enum mv_kind)f->kind) ||
	    (f->kind == MV_MAPPED && usable(pa) && !allocated(pa)))
		finding(pa, "frame %#lx (%s) is user-accessible in space %s at %#lx", pa,
			f->kind == MV_MAPPED ? "free" : kind_name[f->kind], space_name(w->space),
			va);
	if (eff & PTE_W) {
		if (f->wuser && f->wuser != me && f->owner)
			finding(pa,
				"frame %#lx, private to space %s, is mapped writable by user spaces "
				"%s and %s (at %#lx)",
				pa, space_name(f->owner - 1), space_name(f->wuser - 1),
				space_name(w->space), va);
		f->wuser = (uint8_t)me;
	}
}

static void note_leaf(struct census_walk *w, const struct pt_cursor *c, pte_t e)
{
	uint64_t size = pt_level_size(c->level);
	paddr_t pa = pte_addr(e, c->level);

	spaces[w->space].leaves++;
	if (kernel_map(c->va))
		return;
	if (c->va >= KERNEL_HALF && (e & PTE_U))
		finding(pa,
			"the kernel-half leaf at %#lx (frame %#lx) has the U bit: only the "
			"PML4 entry keeps user code out",
			c->va, pa);
	if ((e & AS_PTE_OWNED) && c->level != PT_LEVEL_PT)
		finding(pa,
			"a level-%d leaf at %#lx in space %s is marked owned: owned pages are 4 KiB",
			c->level, c->va, space_name(w->space));
	/* No call of aspace asks for a PAT memory type: bit 7 of a 4 KiB leaf, 12 of a large one. */
	if (e & (c->level == PT_LEVEL_PT ? PTE_PS : PTE_PAT_HUGE))
		finding(pa,
			"the leaf at %#lx in space %s (frame %#lx) sets the PAT bit: a memory "
			"type nobody asked for",
			c->va, space_name(w->space), pa);
	if (e & AS_PTE_RESERVED)
		finding(pa,
			"the present leaf at %#lx in space %s (frame %#lx) still carries the "
			"demand-zero bit",
			c->va, space_name(w->space), pa);
	for (uint64_t off = 0; off < size && (pa + off) / PAGE_SIZE < nframes; off += PAGE_SIZE)
		note_frame(w, pa + off, c->va + off, e, c->eff);
}

static int census_visit(const struct pt_cursor *c, void *arg)
{
	struct census_walk *w = arg;
	pte_t e = *c->pte;
	uint64_t span = c->level == PT_LEVEL_PML4 ? 0 : pt_level_size(c->level + 1);

	note_table(w, (paddr_t)((uintptr_t)c->pte - DMAP_BASE) & ~(PAGE_SIZE - 1), c->level,
		   c->level == PT_LEVEL_PML4 ? (c->va >= KERNEL_HALF ? KERNEL_HALF : 0) :
					       c->va & ~(span - 1));
	if (pte_is_leaf(e, c->level)) {
		note_leaf(w, c, e);
	} else if (e && !(e & PTE_P)) {
		if (c->level == PT_LEVEL_PT && (e & AS_PTE_RESERVED) &&
		    !(e & ~(AS_PTE_RESERVED | PTE_W | PTE_U | PTE_NX | PTE_G | PTE_PCD | PTE_PWT)))
			spaces[w->space].reserved++;
		else
			finding(MV_NO_FRAME,
				"the not-present entry %#lx at %#lx (level %d, space %s) is neither 0 nor a reservation",
				e, c->va, c->level, space_name(w->space));
	}
	return 0;
}

static void census_range(void *arg)
{
	struct census_walk *w = arg;
	struct pt_ops ops = { .visit = census_visit, .stop_level = PT_LEVEL_PT, .alloc = false };

	w->ret = pt_walk_range(spaces[w->space].as->pml4, w->start, w->end, &ops, w);
}

/* Walk [start, end) of space i; false when the walker is a stub. */
static bool census_walk(int i, uint64_t start, uint64_t end)
{
	struct census_walk w = { .space = i, .start = start, .end = end, .last_table = ~0UL };
	struct fault_info fi;

	if (ktest_catch_fault(census_range, &w, &fi)) {
		finding(MV_NO_FRAME,
			"walking space %s from %#lx faulted (vector %d, cr2 %#lx): its tables are corrupt",
			space_name(i), start, fi.vector, fi.cr2);
		return true;
	}
	if (w.ret == -ENOSYS)
		return false;
	if (w.ret < 0)
		finding(MV_NO_FRAME, "walking space %s from %#lx failed: %d (%s)", space_name(i),
			start, w.ret, errname(w.ret));
	return true;
}

/*
 * census_keep - who holds each frame now, adding to the findings so far;
 * false when lab 1's walker is a stub.
 */
static bool census_keep(void)
{
	struct aspace *k = aspace_kernel();
	const pte_t *kpml4 = pt_table(k->pml4);
	struct census_walk root = { .space = MV_KERNEL, .last_table = ~0UL };

	spaces[MV_KERNEL].as = k;
	if (nspaces == 0)
		nspaces = 1;
	for (int i = 0; i < nspaces; i++)
		spaces[i].leaves = spaces[i].reserved = spaces[i].tables = 0;
	census_base();
	note_table(&root, k->pml4, PT_LEVEL_PML4, KERNEL_HALF);
	/* The kernel half, once: every space shares it. Empty PDPTs are noted, not walked. */
	for (int i = PT_ENTRIES / 2; i < PT_ENTRIES; i++) {
		uint64_t va = pt_sign_extend((uint64_t)i << 39);
		const pte_t *pdpt;
		bool used = false;

		if (!(kpml4[i] & PTE_P) || pte_is_leaf(kpml4[i], PT_LEVEL_PML4))
			continue;
		pdpt = pt_table(pte_addr(kpml4[i], PT_LEVEL_PML4));
		/* 256 tables to look at, each time: no branch per entry. */
		for (int j = 0; j < PT_ENTRIES && !used; j += 64) {
			pte_t any = 0;

			for (int k = j; k < j + 64; k++)
				any |= pdpt[k];
			used = any != 0;
		}
		if (!used) {
			root.last_table = ~0UL;
			note_table(&root, pte_addr(kpml4[i], PT_LEVEL_PML4), PT_LEVEL_PDPT, va);
			continue;
		}
		if (!census_walk(MV_KERNEL, va, i == PT_ENTRIES - 1 ? 0 : va + (1UL << 39)))
			return false;
	}
	for (int i = 1; i < nspaces; i++) {
		struct census_walk w = { .space = i, .last_table = ~0UL };

		if (!spaces[i].as || !spaces[i].as->pml4)
			continue;
		note_table(&w, spaces[i].as->pml4, PT_LEVEL_PML4, 0);
		if (!census_walk(i, 0, USER_TOP))
			return false;
	}
	return true;
}

/* census - census_keep with no findings before. */
static bool census(void)
{
	nfindings = 0;
	return census_keep();
}

/* ---- The test framework's hooks ----------------------------------------------------- */

/* Only tests of labs 2-4 are checked: lab 1 tests build tables by hand. */
static bool checked(const char *test)
{
	return MEMVIEW_CHECK && test[0] == 'l' && test[1] == 'a' && test[2] == 'b' &&
	       test[3] >= '2' && test[3] <= '4' && test[4] == '.';
}

/*
 * busy_cpu - another CPU that still runs work handed to it (smp_call), or
 * -1. Such a CPU may be changing page tables (lab4.stress maps and unmaps on
 * every CPU, a copier faults pages in): a census then could read a table
 * half changed and report what is not there. An idle CPU only answers
 * interrupts (TLB flushes), which change no table.
 */
static int busy_cpu(void)
{
	for (int cpu = 0; cpu < smp_ncpus(); cpu++) {
		int state;

		if (cpu == cpu_id())
			continue;
		state = __atomic_load_n(&percpu_of(cpu)->call_state, __ATOMIC_ACQUIRE);
		if (state == CALL_POSTED || state == CALL_RUNNING)
			return cpu;
	}
	return -1;
}

/* quiet - no other CPU runs test work; else a TEST INFO line says which check is skipped. */
static bool quiet(const char *what)
{
	int cpu = busy_cpu();

	if (cpu < 0)
		return true;
	ktest_info("memview: no check %s: cpu %d still runs the test's work", what, cpu);
	return false;
}

/* pend - keep what this census found for the end of the test, each finding once. */
static void pend(void)
{
	for (int i = 0; i < nfindings; i++) {
		bool seen = false;

		for (int j = 0; i < MV_MAX_FINDINGS && j < MIN(npending, MV_MAX_FINDINGS); j++)
			seen = seen || strcmp(pending[j], findings[i]) == 0;
		if (seen)
			continue;
		if (i < MV_MAX_FINDINGS && npending < MV_MAX_FINDINGS)
			strlcpy(pending[npending], findings[i], MV_FINDING_MAX);
		npending++;
	}
}

/* memview=time: what the checks cost, against the time of the tests they follow. */
static uint64_t test_started, check_cycles, all_check_cycles, all_test_cycles;

void memview_test_begin(const char *test)
{
	uint64_t t0 = rdtsc();

	check_cycles = 0;
	test_started = t0;
	current_test = test;
	npending = 0;
	census_skipped = false;
	body_checked = false;
	if (checked(test))
		frame_bits(allocated_before, NULL, MV_MAX_FRAMES);
	check_cycles += rdtsc() - t0;
}

/* check_now - a census with the checks on, its findings kept for the test's end. */
static void check_now(void)
{
	checking = true;
	census_skipped = !census();
	checking = false;
	if (!census_skipped)
		pend();
}

void memview_test_check(void)
{
	uint64_t t0 = rdtsc();

	/* After the check after the body, cleanups only stop CPUs and undo: test_end looks. */
	if (current_test && checked(current_test) && !body_checked && quiet("now"))
		check_now();
	check_cycles += rdtsc() - t0;
}

static void show(const char *title);

static void test_body_done(const char *test, bool passed);

void memview_test_body_done(const char *test, bool passed)
{
	uint64_t t0 = rdtsc();

	test_body_done(test, passed);
	check_cycles += rdtsc() - t0;
}

static void test_body_done(const char *test, bool passed)
{
	/*
	 * Lab 4 tests stop their other CPUs in the body when it passes, but
	 * lab4.timeout only in a cleanup: its space is checked there
	 * (kern/test/lab4.c destroy_space).
	 */
	bool check = passed && checked(test) && quiet("after the body");

	if (check) {
		check_now();
		body_checked = true;
	} else if (print_mode && strcmp(print_mode, "time") != 0 && busy_cpu() < 0) {
		census_skipped = !census();
	} else {
		return;
	}
	if (print_mode)
		show(test);
}

static bool test_end(const char *test, bool leak_failed, char *why, size_t size);

bool memview_test_end(const char *test, bool leak_failed, char *why, size_t size)
{
	uint64_t t0 = rdtsc();
	bool ok = test_end(test, leak_failed, why, size);
	uint64_t now = rdtsc();

	check_cycles += now - t0;
	current_test = NULL;
	if (checked(test)) {
		all_check_cycles += check_cycles;
		all_test_cycles += now - test_started;
	}
	if (print_mode && strcmp(print_mode, "time") == 0 && all_test_cycles)
		ktest_info("memview: check %lu kcycles of %lu for this test; so far %lu of %lu "
			   "kcycles (%lu.%lu%%)",
			   check_cycles / 1000, (now - test_started) / 1000,
			   all_check_cycles / 1000, all_test_cycles / 1000,
			   all_check_cycles * 100 / all_test_cycles,
			   all_check_cycles * 1000 / all_test_cycles % 10);
	return ok;
}

static bool test_end(const char *test, bool leak_failed, char *why, size_t size)
{
	int shown;

	if (!checked(test) || census_skipped)
		return true;
	/* What the checks during the test found comes first; the census starts over. */
	nfindings = npending;
	memcpy(findings, pending, sizeof(findings));
	nleft = 0;
	/* A CPU still busy (its test failed to stop it): report only what was found. */
	if (quiet("after the cleanups")) {
		checking = true;
		if (!census_keep()) {
			checking = false;
			return true;
		}
		/* Word by word: almost every word has no frame that is new since the test began. */
		for (size_t w = 0; w < (nframes + 63) / 64; w++) {
			for (uint64_t bits = allocated_now[w] & ~allocated_before[w]; bits;
			     bits &= bits - 1) {
				size_t i = w * 64 + (size_t)__builtin_ctzll(bits);

				if (i >= nframes || fr(i)->kind != MV_KALLOC)
					continue;
				fr(i)->kind = MV_LEAK;
				finding(i * PAGE_SIZE,
					"frame %#lx was allocated during the test and nothing "
					"reaches it: leak",
					i * PAGE_SIZE);
			}
		}
		checking = false;
		memcpy(inherited, left, sizeof(left));
		ninherited = nleft;
	}
	shown = MIN(nfindings, MV_MAX_FINDINGS);
	if (leak_failed) {
		for (int i = 0; i < shown; i++)
			ktest_info("memview: %s", findings[i]);
		return true;
	}
	if (nfindings == 0)
		return true;
	for (int i = 1; i < shown; i++)
		ktest_info("memview: %s", findings[i]);
	if (nfindings > shown)
		ktest_info("memview: %d more finding(s) (one the test's checks each saw counts "
			   "each time)",
			   nfindings - shown);
	snprintf(why, size, "memview: %s", findings[0]);
	return false;
}

/* ---- Pictures ---------------------------------------------------------------------------- */

static bool color;

/* ANSI colours: the kernel's frames grey, free dim, each space its own colour. */
static const char *const space_color[] = { "36", "33", "35", "32", "34", "31" };

static char frame_char(const struct mv_frame *f)
{
	if (f->kind == MV_TABLE)
		return (char)('0' + f->level);
	return kind_letter[f->kind];
}

static const char *frame_color(const struct mv_frame *f)
{
	if (f->bad || f->kind == MV_LEAK)
		return "1;41";
	switch (f->kind) {
	case MV_FREE:
	case MV_HOLE:
		return "2";
	case MV_TABLE:
	case MV_OWNED:
	case MV_MAPPED:
		return space_color[f->space % ARRAY_SIZE(space_color)];
	default:
		return "37";
	}
}

#define ROW 64

static void print_row(const char *label, const char *chars, const char *const *colors, int n)
{
	char line[ROW * 12 + 64];
	int len = snprintf(line, sizeof(line), "%s ", label);
	const char *cur = NULL;

	for (int i = 0; i < n; i++) {
		if (color && colors[i] != cur) {
			cur = colors[i];
			len += snprintf(line + len, sizeof(line) - (size_t)len, "\033[%sm", cur);
		}
		line[len++] = chars[i];
	}
	if (color)
		len += snprintf(line + len, sizeof(line) - (size_t)len, "\033[0m");
	line[len] = '\0';
	kprintf("%s\n", line);
}

static void print_legend(void)
{
	kprintf("legend:");
	for (int k = MV_FREE; k < MV_NKINDS; k++)
		kprintf("%s %s%c=%s", k == MV_FREE ? "" : ",", k == MV_TABLE ? "1-" : "",
			k == MV_TABLE ? '4' : kind_letter[k], kind_name[k]);
	kprintf("; ' '=not RAM\n");
	kprintf("spaces (colour of their tables and data):");
	for (int i = 0; i < nspaces; i++)
		if (i == MV_KERNEL || spaces[i].as)
			kprintf(color ? " \033[%sm%d=%s\033[0m" : " %.0s%d=%s",
				space_color[i % ARRAY_SIZE(space_color)], i, space_name(i));
	kprintf("\n");
}

static void print_physical(void)
{
	char chars[ROW], label[24];
	const char *colors[ROW];

	kprintf("physical memory: %zu frames, one character per 4 KiB frame, %d per row\n", nframes,
		ROW);
	for (size_t row = 0; row < nframes; row += ROW) {
		int n = (int)MIN((size_t)ROW, nframes - row);
		bool all_free = true;

		for (int i = 0; i < n; i++) {
			chars[i] = frame_char(fr(row + i));
			colors[i] = frame_color(fr(row + i));
			all_free = all_free && fr(row + i)->kind == MV_FREE && !fr(row + i)->bad;
		}
		/* Long runs of free rows say nothing: one line for them. */
		if (all_free && row + ROW < nframes && row >= ROW) {
			size_t end = row;

			while (end + ROW <= nframes) {
				bool free = true;

				for (int i = 0; i < ROW && free; i++)
					free = fr(end + i)->kind == MV_FREE && !fr(end + i)->bad;
				if (!free)
					break;
				end += ROW;
			}
			if (end - row > 2 * ROW) {
				kprintf("%010lx .. %010lx all free\n", row * PAGE_SIZE,
					end * PAGE_SIZE);
				row = end - ROW;
				continue;
			}
		}
		snprintf(label, sizeof(label), "%010lx", row * PAGE_SIZE);
		print_row(label, chars, colors, n);
	}
}

struct vrow {
	uint64_t base; /* the row's first VA */
	char chars[ROW];
	const char *colors[ROW];
	bool used;
	int space;
	int rows, repeats;
	char prev[ROW];
};

static void vrow_flush(struct vrow *v)
{
	char label[24];

	if (!v->used)
		return;
	snprintf(label, sizeof(label), "%016lx", v->base);
	if (v->rows > 0 && memcmp(v->prev, v->chars, ROW) == 0) {
		v->repeats++;
	} else {
		if (v->repeats)
			kprintf("%16s (%d more rows like the last)\n", "", v->repeats);
		v->repeats = 0;
		print_row(label, v->chars, v->colors, ROW);
	}
	memcpy(v->prev, v->chars, ROW);
	v->rows++;
	v->used = false;
}

static void vrow_put(struct vrow *v, uint64_t va, char ch, const char *col)
{
	uint64_t base = va & ~(ROW * PAGE_SIZE - 1);

	if (!v->used || base != v->base) {
		vrow_flush(v);
		v->base = base;
		v->used = true;
		memset(v->chars, '.', ROW);
		for (int i = 0; i < ROW; i++)
			v->colors[i] = "2";
	}
	v->chars[(va / PAGE_SIZE) % ROW] = ch;
	v->colors[(va / PAGE_SIZE) % ROW] = col;
}

static int virtual_visit(const struct pt_cursor *c, void *arg)
{
	struct vrow *v = arg;
	pte_t e = *c->pte;
	uint64_t size = pt_level_size(c->level);

	if (pte_is_leaf(e, c->level)) {
		paddr_t pa = pte_addr(e, c->level);
		/* 4096 rows at most per leaf: a 1 GiB page is shown by its first 16 MiB. */
		uint64_t shown = MIN(size, (uint64_t)4096 * ROW * PAGE_SIZE);

		for (uint64_t off = 0; off < shown; off += PAGE_SIZE) {
			const struct mv_frame *f = (pa + off) / PAGE_SIZE < nframes ?
							   fr((pa + off) / PAGE_SIZE) :
							   NULL;
			bool w = c->eff & PTE_W;
			char ch = (e & AS_PTE_OWNED) ? (w ? 'D' : 'd') : (w ? 'm' : 'r');

			if (c->eff & PTE_U)
				ch = w ? 'U' : 'u';
			vrow_put(v, c->va + off, ch,
				 f && (f->bad) ? "1;41" :
						 space_color[v->space % ARRAY_SIZE(space_color)]);
		}
	} else if (c->level == PT_LEVEL_PT && (e & AS_PTE_RESERVED) && !(e & PTE_P)) {
		vrow_put(v, c->va, 'z', "2");
	}
	return 0;
}

static void print_virtual(int i, uint64_t start, uint64_t end)
{
	static struct vrow v;
	struct pt_ops ops = { .visit = virtual_visit, .stop_level = PT_LEVEL_PT };

	memset(&v, 0, sizeof(v));
	v.space = i;
	kprintf("virtual memory of space %d (%s), pml4 %#lx, %#lx..%#lx: %zu leaves, %zu "
		"reserved pages, %zu tables\n",
		i, space_name(i), spaces[i].as->pml4, start, end, spaces[i].leaves,
		spaces[i].reserved, spaces[i].tables);
	pt_walk_range(spaces[i].as->pml4, start, end, &ops, &v);
	vrow_flush(&v);
	if (v.repeats)
		kprintf("%16s (%d more rows like the last)\n", "", v.repeats);
	if (v.rows == 0)
		kprintf("(nothing mapped)\n");
	kprintf("virtual legend: D/d=owned data writable/read-only, m/r=mapped RAM "
		"writable/read-only, U/u=user-accessible writable/read-only, z=reserved "
		"(demand-zero), .=unmapped; only rows with something in them\n");
}

/* The dump tools/memview.py reads: frames as runs, tables entry by entry. */
static void dump(const char *title)
{
	char run[ROW + 1];

	kprintf("MEMVIEW BEGIN %s\n", title);
	kprintf("MEMVIEW FRAMES %zu\n", nframes);
	for (size_t row = 0; row < nframes; row += ROW) {
		int n = (int)MIN((size_t)ROW, nframes - row);

		for (int i = 0; i < n; i++)
			run[i] = frame_char(fr(row + i));
		run[n] = '\0';
		kprintf("MEMVIEW F %lx %s\n", row, run);
		for (int i = 0; i < n; i++) {
			const struct mv_frame *f = fr(row + i);

			if (f->kind == MV_TABLE || f->kind == MV_OWNED || f->kind == MV_MAPPED ||
			    f->bad)
				kprintf("MEMVIEW O %lx %d %lx %d %d\n", row + i, f->space, f->va,
					f->level, f->bad);
		}
	}
	for (int i = 0; i < nspaces; i++) {
		if (i != MV_KERNEL && (!spaces[i].as || !spaces[i].as->pml4))
			continue;
		kprintf("MEMVIEW SPACE %d %lx %s\n", i, spaces[i].as->pml4, space_name(i));
	}
	/* Every table the census found, with its non-zero entries. */
	for (size_t i = 0; i < nframes; i++) {
		const pte_t *t;

		if (fr(i)->kind != MV_TABLE && fr(i)->kind != MV_BOOTPT)
			continue;
		t = pt_table(i * PAGE_SIZE);
		kprintf("MEMVIEW T %lx\n", i * PAGE_SIZE);
		for (int j = 0; j < PT_ENTRIES; j++)
			if (t[j])
				kprintf("MEMVIEW E %x %lx\n", j, t[j]);
	}
	for (int i = 0; i < MIN(nfindings, MV_MAX_FINDINGS); i++)
		kprintf("MEMVIEW FINDING %s\n", findings[i]);
	kprintf("MEMVIEW END\n");
}

static void show(const char *title)
{
	if (strcmp(print_mode, "time") == 0)
		return;
	if (strcmp(print_mode, "dump") == 0) {
		if (census_skipped)
			kprintf("MEMVIEW BEGIN %s\nMEMVIEW FINDING (no census: lab 1's walker is "
				"not written yet)\nMEMVIEW END\n",
				title);
		else
			dump(title);
		return;
	}
	color = strcmp(print_mode, "color") == 0;
	kprintf("==== memview: %s ====\n", title);
	if (census_skipped) {
		kprintf("memview: lab 1's walker is not written yet: nothing to show\n");
		return;
	}
	print_physical();
	print_legend();
	print_virtual(MV_KERNEL, KMAP_BASE, KMAP_BASE + KMAP_SIZE);
	for (int i = 1; i < nspaces; i++)
		if (spaces[i].as && spaces[i].as->pml4)
			print_virtual(i, 0, USER_TOP);
	for (int i = 0; i < MIN(nfindings, MV_MAX_FINDINGS); i++)
		kprintf("memview finding: %s\n", findings[i]);
	kprintf("==== memview end: %d finding(s) ====\n", nfindings);
}

void memview_print(const char *mode, const char *title)
{
	const char *saved = print_mode;

	print_mode = mode;
	census_skipped = !census();
	show(title);
	print_mode = saved;
}

void memview_boot(const char *cmdline)
{
	static char mode[16];

	if (cmdline_get(cmdline, "memview", mode, sizeof(mode)) < 0)
		return;
	print_mode = mode;
	if (cmdline_get(cmdline, "test", NULL, 0) < 0)
		memview_print(mode, "boot");
}
