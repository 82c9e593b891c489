/*
 * lab4.*: TLB shootdown (kern/tlb.c), with 4 CPUs.
 *
 * Data tests keep readers on the other CPUs in tight loops (a quiet TLB keeps
 * a stale entry under TCG: smp.stale_visible shows it), change a mapping,
 * shoot down, and require that no read after tlb_shootdown returned sees the
 * old frame. Counting tests read the per-CPU counters of kern/percpu.h,
 * which catch what TCG cannot show (a CR3 reload keeps global entries on
 * real hardware, but not under TCG). Every wait is bounded, so a lost IPI or
 * acknowledgement fails a test instead of hanging the run.
 */
#include "kern/aspace.h"
#include "kern/frame.h"
#include "kern/memview.h"
#include "kern/kvm.h"
#include "kern/lapic.h"
#include "kern/smp.h"
#include "kern/test/hooks.h"
#include "kern/test/ktest.h"
#include "kern/test/smptest.h"
#include "kern/tlb.h"
#include "kern/uaccess.h"
#include "kern/x86.h"
#include "lib/string.h"

#define NCPUS 4
#define WAIT_MS 5000
#define USER_VA 0x0000100000000000UL /* a test address in the user half */
#define OLD_VAL 0x01d01d01d01d01dUL
#define NEW_VAL 0x0e40e40e40e40e4UL

/* ---- Readers: other CPUs reading one address in a tight loop --------------- */

enum { PH_WARM, PH_CHANGED, PH_STOP };

struct readers {
	struct aspace *as;	/* loaded on the readers; NULL: stay in the kernel's */
	uint64_t va;
	bool probe;		/* read through the fault-tolerant probe */
	volatile int phase;
	volatile uint64_t warm[MAX_CPUS], after[MAX_CPUS];
	volatile uint64_t stale[MAX_CPUS], poison[MAX_CPUS], faults[MAX_CPUS], wrong[MAX_CPUS];
	volatile uint64_t last[MAX_CPUS];
};

static void classify(struct readers *r, int me, bool ok, uint64_t v, int ph)
{
	if (ok && v == POISON64)
		r->poison[me]++; /* a freed frame read through a stale entry */
	if (ph == PH_WARM) {
		r->warm[me]++;
		return;
	}
	r->after[me]++;
	if (!ok)
		r->faults[me]++;
	else if (v == OLD_VAL)
		r->stale[me]++;
	else if (v != NEW_VAL && v != POISON64)
		r->wrong[me]++;
	if (ok)
		r->last[me] = v;
}

static void reader(void *arg)
{
	struct readers *r = arg;
	int me = cpu_id();

	if (r->as)
		aspace_activate(r->as);
	for (;;) {
		/* Phase first: a read after we saw PH_CHANGED must see the new state. */
		int ph = __atomic_load_n(&r->phase, __ATOMIC_ACQUIRE);
		uint64_t v = 0;
		bool ok = true;

		if (ph == PH_STOP)
			break;
		if (r->probe)
			ok = smptest_probe_read(r->va, &v);
		else
			v = *(volatile uint64_t *)r->va;
		classify(r, me, ok, v, ph);
		pause(); /* round-robin TCG runs the next vCPU; our TLB stays as it is */
	}
	if (r->as)
		aspace_activate(aspace_kernel());
}

static void readers_stop(void *arg)
{
	struct readers *r = arg;

	__atomic_store_n(&r->phase, PH_STOP, __ATOMIC_RELEASE);
	smptest_join(WAIT_MS);
}

/* Start readers on every other CPU; the cleanup stops them first. */
static void readers_start(struct readers *r)
{
	smptest_run_others(reader, r);
	ktest_defer(readers_stop, r);
}

/* wait_counts - until every other CPU's counter reaches n (bounded). */
static void wait_counts(volatile uint64_t *counts, uint64_t n, const char *what)
{
	uint64_t t0 = rdtsc();

	for (int cpu = 1; cpu < NCPUS; cpu++) {
		while (counts[cpu] < n && smptest_ms(t0) < WAIT_MS)
			pause();
		KT_ASSERT_MSG(counts[cpu] >= n, "cpu %d: only %lu %s reads in %d ms", cpu,
			      counts[cpu], what, WAIT_MS);
	}
}

static void readers_finish(struct readers *r)
{
	wait_counts(r->after, 2000, "post-shootdown");
	__atomic_store_n(&r->phase, PH_STOP, __ATOMIC_RELEASE);
	KT_ASSERT_MSG(smptest_join(WAIT_MS), "a reader did not stop");
}

/* ---- Spaces and frames --------------------------------------------------------- */

static paddr_t frame_with(uint64_t val)
{
	paddr_t pa = frame_alloc_zeroed();

	KT_ASSERT_MSG(pa, "out of frames");
	*(uint64_t *)pa2kva(pa) = val;
	return pa;
}

static void free_frame(void *arg)
{
	frame_free((paddr_t)(uintptr_t)arg);
}

/*
 * new_space registers it before the test hands work to the other CPUs, so
 * it runs after the cleanups that stop them: check the machine with the
 * space still in it here (lab4.timeout stops its deaf CPU only in a
 * cleanup, so the check after its body is skipped).
 */
static void destroy_space(void *arg)
{
	aspace_activate(aspace_kernel());
	memview_test_check();
	memview_untrack(arg);
	aspace_destroy(arg);
}

static void unmap_kernel(void *arg)
{
	uint64_t *range = arg;

	aspace_unmap(aspace_kernel(), range[0], range[1]);
}

static struct aspace *new_space(struct aspace *as)
{
	memset(as, 0, sizeof(*as));
	KT_EQ_ERR(aspace_init(as), 0);
	ktest_defer(destroy_space, as);
	memview_track(as, "lab4");
	return as;
}

/* repoint - make the leaf mapping va in root point at pa, without any flush. */
static void repoint(paddr_t root, uint64_t va, paddr_t pa)
{
	struct pt_cursor c;

	KT_EQ_ERR(pt_walk(root, va, &c), 0);
	*c.pte = (*c.pte & ~PTE_ADDR_MASK) | pa;
}

static void expect_no_stale(struct readers *r)
{
	for (int cpu = 1; cpu < NCPUS; cpu++) {
		KT_ASSERT_MSG(r->stale[cpu] == 0,
			      "cpu %d read the old frame %lu of %lu times after tlb_shootdown "
			      "returned",
			      cpu, r->stale[cpu], r->after[cpu]);
		KT_ASSERT_MSG(r->poison[cpu] == 0, "cpu %d read the freed (poisoned) frame %lu times",
			      cpu, r->poison[cpu]);
		KT_ASSERT_MSG(r->wrong[cpu] == 0, "cpu %d read unexpected values %lu times", cpu,
			      r->wrong[cpu]);
	}
}

/* ---- lab4.stale_read ---------------------------------------------------------- */

KTEST(lab4, stale_read)
{
	static struct aspace space;
	static struct readers r;
	struct aspace *as;
	struct stats_snap s;
	paddr_t a, b;
	uint64_t va = USER_VA + (rng_next(ktest_rng()) % 512) * PAGE_SIZE;

	smptest_need_cpus(NCPUS);
	a = frame_with(OLD_VAL);
	ktest_defer(free_frame, (void *)a);
	b = frame_with(NEW_VAL);
	ktest_defer(free_frame, (void *)b);
	as = new_space(&space);
	KT_EQ_ERR(aspace_map(as, va, a, PAGE_SIZE, AS_WRITE), 0);
	r = (struct readers){ .as = as, .va = va };
	aspace_activate(as);
	readers_start(&r);
	wait_counts(r.warm, 1000, "warm-up");
	KT_EQ_HEX(*(volatile uint64_t *)va, OLD_VAL);

	smptest_snap(&s);
	repoint(as->pml4, va, b);
	tlb_shootdown(as, va, va + PAGE_SIZE, PAGE_SHIFT);
	__atomic_store_n(&r.phase, PH_CHANGED, __ATOMIC_RELEASE);
	KT_ASSERT_MSG(*(volatile uint64_t *)va == NEW_VAL,
		      "the initiator itself still reads the old frame: no local flush");
	readers_finish(&r);
	expect_no_stale(&r);
	KT_EQ(SMPTEST_DELTA(&s, 0, ipi_sent), NCPUS - 1);
	ktest_info("%lu/%lu/%lu post-shootdown reads on cpus 1-3, none stale", r.after[1],
		   r.after[2], r.after[3]);
}

/* ---- lab4.unmap_free ------------------------------------------------------------ */

KTEST(lab4, unmap_free)
{
	static struct aspace space;
	static struct readers r;
	struct aspace *as;
	struct pt_translation t;
	uint64_t va = USER_VA + (rng_next(ktest_rng()) % 512) * PAGE_SIZE;

	smptest_need_cpus(NCPUS);
	as = new_space(&space);
	KT_EQ_ERR(aspace_alloc(as, va, PAGE_SIZE, AS_WRITE), 0);
	KT_EQ_ERR(aspace_translate(as, va, &t), 0);
	*(uint64_t *)pa2kva(t.pa) = OLD_VAL;
	r = (struct readers){ .as = as, .va = va, .probe = true };
	readers_start(&r);
	wait_counts(r.warm, 1000, "warm-up");

	/* Clear, shoot down, free (poisons the frame): lab 2's order, lab 4's flush. */
	KT_EQ_ERR(aspace_unmap(as, va, PAGE_SIZE), 0);
	__atomic_store_n(&r.phase, PH_CHANGED, __ATOMIC_RELEASE);
	KT_ASSERT(!frame_is_allocated(t.pa));
	readers_finish(&r);
	expect_no_stale(&r);
	for (int cpu = 1; cpu < NCPUS; cpu++)
		KT_ASSERT_MSG(r.faults[cpu] == r.after[cpu],
			      "cpu %d read the unmapped page %lu times without a fault", cpu,
			      r.after[cpu] - r.faults[cpu]);
}

/* ---- Holders: CPUs that just have a space loaded ------------------------------- */

struct holders {
	struct aspace *as;
	uint64_t mask;		/* which CPUs load it */
	volatile int stop;
	volatile uint64_t ready;
};

static void holder(void *arg)
{
	struct holders *h = arg;
	int me = cpu_id();

	if (h->mask & (1UL << me))
		aspace_activate(h->as);
	__atomic_fetch_or(&h->ready, 1UL << me, __ATOMIC_SEQ_CST);
	/* Sleep, not spin (fewer busy vCPUs on the host); IPIs wake us and are served. */
	cli();
	while (!__atomic_load_n(&h->stop, __ATOMIC_ACQUIRE))
		asm volatile("sti; hlt; cli" ::: "memory");
	sti();
	aspace_activate(aspace_kernel());
}

/* Set stop and wake every holder from its hlt. */
static void holders_wake(struct holders *h)
{
	__atomic_store_n(&h->stop, 1, __ATOMIC_SEQ_CST);
	for (int cpu = 1; cpu < smp_ncpus(); cpu++)
		smp_send_ipi(cpu, VEC_CALL);
}

static void holders_stop(void *arg)
{
	holders_wake(arg);
	smptest_join(WAIT_MS);
}

static void holders_start(struct holders *h)
{
	uint64_t t0 = rdtsc(), all = smp_online_mask() & ~1UL;

	h->ready = 0;
	h->stop = 0;
	smptest_run_others(holder, h);
	ktest_defer(holders_stop, h);
	while ((h->ready & all) != all && smptest_ms(t0) < WAIT_MS)
		pause();
	KT_EQ_HEX(h->ready & all, all);
	if (h->mask & 1)
		aspace_activate(h->as);
	else
		aspace_activate(aspace_kernel());
}

static void holders_end(struct holders *h)
{
	aspace_activate(aspace_kernel());
	holders_wake(h);
	KT_ASSERT_MSG(smptest_join(WAIT_MS), "a holder did not stop");
}

static uint64_t ncpus_in(uint64_t mask)
{
	uint64_t n = 0;

	for (; mask; mask &= mask - 1)
		n++;
	return n;
}

/*
 * check_round - after one shootdown of n pages (ranged: n invlpg on every CPU
 * that has the space; else one full flush), with the counters before in *s.
 */
static void check_round(const struct stats_snap *s, uint64_t mask, uint64_t n, bool global)
{
	uint64_t remote = mask & ~1UL;
	bool ranged = n <= TLB_FLUSH_CEILING;

	KT_EQ(SMPTEST_DELTA(s, 0, ipi_sent), ncpus_in(remote));
	for (int cpu = 0; cpu < NCPUS; cpu++) {
		bool has = mask & (1UL << cpu);

		if (cpu != 0) {
			KT_EQ(SMPTEST_DELTA(s, cpu, ipi_received), has ? 1 : 0);
			KT_EQ(SMPTEST_DELTA(s, cpu, requests_served), has ? 1 : 0);
		}
		KT_EQ(SMPTEST_DELTA(s, cpu, invlpg), has && ranged ? n : 0);
		KT_EQ(SMPTEST_DELTA(s, cpu, full_flush), has && !ranged && !global ? 1 : 0);
		KT_EQ(SMPTEST_DELTA(s, cpu, global_flush), has && !ranged && global ? 1 : 0);
	}
}

/* ---- lab4.ipi_count --------------------------------------------------------------- */

KTEST(lab4, ipi_count)
{
	static struct aspace space;
	static struct holders h;
	struct stats_snap s;
	/* Which CPUs load the space: nobody else, then 1, 2 and 3 others; with and without us. */
	static const uint64_t masks[] = { 0x1, 0x0, 0x3, 0x6, 0xd, 0xf, 0xe };
	struct aspace *as = new_space(&space);
	uint64_t va = USER_VA;

	smptest_need_cpus(NCPUS);
	KT_EQ_ERR(aspace_alloc(as, va, 4 * PAGE_SIZE, AS_WRITE), 0);
	for (size_t i = 0; i < ARRAY_SIZE(masks); i++) {
		uint64_t n = 1 + rng_next(ktest_rng()) % 4;

		h = (struct holders){ .as = as, .mask = masks[i] };
		holders_start(&h);
		smptest_snap(&s);
		tlb_shootdown(as, va, va + n * PAGE_SIZE, PAGE_SHIFT);
		ktest_info("loaded on cpus %#lx: %lu IPI(s) for %lu page(s)", masks[i],
			   SMPTEST_DELTA(&s, 0, ipi_sent), n);
		check_round(&s, masks[i], n, false);
		holders_end(&h);
	}
}

/* ---- lab4.ranged_full --------------------------------------------------------------- */

KTEST(lab4, ranged_full)
{
	static struct aspace space;
	static struct holders h;
	static const uint64_t sizes[] = { 1, 8, 32, 33, 34, 64, 512 };
	struct stats_snap s;
	struct aspace *as = new_space(&space);

	smptest_need_cpus(NCPUS);
	KT_EQ_ERR(aspace_alloc(as, USER_VA, PAGE_SIZE, AS_WRITE), 0);
	h = (struct holders){ .as = as, .mask = 0xf };
	holders_start(&h);
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		smptest_snap(&s);
		tlb_shootdown(as, USER_VA, USER_VA + sizes[i] * PAGE_SIZE, PAGE_SHIFT);
		check_round(&s, 0xf, sizes[i], false);
	}
	/* A 2 MiB page is one page: one invlpg, not 512. */
	smptest_snap(&s);
	tlb_shootdown(as, USER_VA, USER_VA + HUGE_2M, 21);
	check_round(&s, 0xf, 1, false);
	smptest_snap(&s);
	tlb_shootdown(as, USER_VA, USER_VA + 3 * HUGE_2M, 21);
	check_round(&s, 0xf, 3, false);
	/* Through lab 2: unmapping a 2 MiB page flushes one page of 2 MiB. */
	KT_EQ_ERR(aspace_map(as, USER_VA + HUGE_1G, HUGE_1G, HUGE_2M, AS_WRITE), 0);
	smptest_snap(&s);
	KT_EQ_ERR(aspace_unmap(as, USER_VA + HUGE_1G, HUGE_2M), 0);
	check_round(&s, 0xf, 1, false);
	holders_end(&h);
}

/* ---- lab4.kernel_global ------------------------------------------------------------- */

KTEST(lab4, kernel_global)
{
	static struct readers r;
	static uint64_t range[2];
	struct aspace *k = aspace_kernel();
	struct stats_snap s;
	paddr_t a, b;
	uint64_t va = KMAP_BASE + (rng_next(ktest_rng()) % 64) * 64 * PAGE_SIZE;

	smptest_need_cpus(NCPUS);
	a = frame_with(OLD_VAL);
	ktest_defer(free_frame, (void *)a);
	b = frame_with(NEW_VAL);
	ktest_defer(free_frame, (void *)b);
	range[0] = va;
	range[1] = PAGE_SIZE;
	KT_EQ_ERR(aspace_map(k, va, a, PAGE_SIZE, AS_WRITE | AS_GLOBAL), 0);
	ktest_defer(unmap_kernel, range);
	r = (struct readers){ .va = va };
	readers_start(&r);
	wait_counts(r.warm, 1000, "warm-up");

	/* Kernel mappings live in every CPU's TLB, whatever space it has loaded. */
	smptest_snap(&s);
	repoint(kernel_pml4_pa(), va, b);
	tlb_shootdown(k, va, va + PAGE_SIZE, PAGE_SHIFT);
	__atomic_store_n(&r.phase, PH_CHANGED, __ATOMIC_RELEASE);
	KT_EQ_HEX(*(volatile uint64_t *)va, NEW_VAL);
	readers_finish(&r);
	expect_no_stale(&r);
	check_round(&s, 0xf, 1, true);

	/* Above the ceiling: CR3 reloads keep global entries; it must be a global flush. */
	smptest_snap(&s);
	tlb_shootdown(k, va, va + 40 * PAGE_SIZE, PAGE_SHIFT);
	check_round(&s, 0xf, 40, true);
}

/* ---- lab4.acked_after_flush --------------------------------------------------------- */

/*
 * An acknowledgement promises that the flush is done: right after each
 * return, every remote CPU's invlpg counter must already include the round.
 */
KTEST(lab4, acked_after_flush)
{
	static struct aspace space;
	static struct holders h;
	struct stats_snap s;
	struct aspace *as = new_space(&space);
	uint64_t late = 0, rounds = 300;

	smptest_need_cpus(NCPUS);
	h = (struct holders){ .as = as, .mask = 0xf };
	holders_start(&h);
	smptest_snap(&s);
	for (uint64_t i = 1; i <= rounds; i++) {
		tlb_shootdown(as, USER_VA, USER_VA + (TLB_FLUSH_CEILING - 1) * PAGE_SIZE, PAGE_SHIFT);
		for (int cpu = 1; cpu < NCPUS; cpu++)
			if (SMPTEST_DELTA(&s, cpu, invlpg) != i * (TLB_FLUSH_CEILING - 1))
				late++;
	}
	holders_end(&h);
	KT_ASSERT_MSG(late == 0, "%lu time(s) a CPU acknowledged before its invlpgs were done",
		      late);
	KT_EQ(SMPTEST_DELTA(&s, 0, ipi_sent), rounds * (NCPUS - 1));
}

/* ---- lab4.concurrent --------------------------------------------------------------- */

#define CONC_ROUNDS 200

struct conc {
	struct aspace *as;
	volatile int arrived, go;
	volatile uint64_t finished;
	volatile uint64_t count[MAX_CPUS];
};

/* Shoot down with interrupts off, as under a lock, while the others do too. */
static void conc_worker(void *arg)
{
	struct conc *c = arg;
	int me = cpu_id();
	uint64_t flags = read_rflags();

	aspace_activate(c->as);
	__atomic_fetch_add(&c->arrived, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&c->go, __ATOMIC_ACQUIRE))
		pause();
	cli();
	for (int i = 0; i < CONC_ROUNDS; i++) {
		uint64_t kva = KMAP_BASE + (uint64_t)i * PAGE_SIZE;
		uint64_t uva = USER_VA + (uint64_t)me * PAGE_SIZE;

		if (i % 8 == 7)
			tlb_shootdown(aspace_kernel(), kva, kva + PAGE_SIZE, PAGE_SHIFT);
		else
			tlb_shootdown(c->as, uva, uva + (1 + i % 4) * PAGE_SIZE, PAGE_SHIFT);
		c->count[me]++;
		if (me == 0 && i % 50 == 49)
			ktest_info("%lu/%lu/%lu/%lu shootdowns", c->count[0], c->count[1],
				   c->count[2], c->count[3]);
	}
	if (flags & RFLAGS_IF)
		sti();
	__atomic_fetch_or(&c->finished, 1UL << me, __ATOMIC_SEQ_CST);
	/* Stay loaded until everyone is done, so the counts below are exact. */
	while ((__atomic_load_n(&c->finished, __ATOMIC_ACQUIRE) & 0xf) != 0xf)
		pause();
	aspace_activate(aspace_kernel());
}

KTEST(lab4, concurrent)
{
	static struct aspace space;
	static struct conc c;
	struct stats_snap s;
	uint64_t t0;

	smptest_need_cpus(NCPUS);
	c = (struct conc){ .as = new_space(&space) };
	smptest_snap(&s);
	smptest_run_others(conc_worker, &c);
	t0 = rdtsc();
	while (c.arrived < NCPUS - 1 && smptest_ms(t0) < WAIT_MS)
		pause();
	KT_ASSERT(c.arrived == NCPUS - 1);
	c.go = 1;
	conc_worker(&c); /* the BSP takes part */
	KT_ASSERT_MSG(smptest_join(WAIT_MS), "a CPU did not finish its shootdowns");
	ktest_info("%d CPUs x %d concurrent shootdowns in %lu ms", NCPUS, CONC_ROUNDS,
		   smptest_ms(t0));
	for (int cpu = 0; cpu < NCPUS; cpu++) {
		KT_EQ(c.count[cpu], CONC_ROUNDS);
		/* Everybody had the space loaded: each served every other CPU's requests. */
		KT_EQ(SMPTEST_DELTA(&s, cpu, requests_served), (uint64_t)(NCPUS - 1) * CONC_ROUNDS);
		KT_EQ(SMPTEST_DELTA(&s, cpu, ipi_sent), (uint64_t)(NCPUS - 1) * CONC_ROUNDS);
	}
}

/* ---- lab4.timeout ------------------------------------------------------------------ */

struct deaf {
	struct aspace *as;
	volatile int deaf, release;
};

/* Have the space loaded but ignore interrupts until released. */
static void deaf_cpu(void *arg)
{
	struct deaf *d = arg;

	aspace_activate(d->as);
	cli();
	d->deaf = 1;
	while (!__atomic_load_n(&d->release, __ATOMIC_ACQUIRE))
		pause();
	sti(); /* the late IPI is served now */
	aspace_activate(aspace_kernel());
}

static void deaf_release(void *arg)
{
	struct deaf *d = arg;
	uint64_t t0 = rdtsc();

	tlb_test_timeout.armed = false;
	d->release = 1;
	smptest_join(WAIT_MS);
	/* Our request must be acknowledged before anyone reuses it. */
	while (this_cpu()->tlb_req.pending && smptest_ms(t0) < WAIT_MS)
		pause();
}

static void restore_ack_timeout(void *saved)
{
	tlb_ack_timeout_ms = (unsigned)(uintptr_t)saved;
}

KTEST(lab4, timeout)
{
	static struct aspace space;
	static struct deaf d;
	int victim = 2;
	uint64_t t0, ms;

	ktest_defer(restore_ack_timeout, (void *)(uintptr_t)tlb_ack_timeout_ms);
	tlb_ack_timeout_ms = 500;
	smptest_need_cpus(NCPUS);
	d = (struct deaf){ .as = new_space(&space) };
	KT_EQ_ERR(smp_call(victim, deaf_cpu, &d), 0);
	ktest_defer(deaf_release, &d);
	t0 = rdtsc();
	while (!d.deaf && smptest_ms(t0) < WAIT_MS)
		pause();
	KT_ASSERT(d.deaf);
	tlb_test_timeout.cpu = -1;
	tlb_test_timeout.armed = true;
	t0 = rdtsc();
	tlb_shootdown(d.as, USER_VA, USER_VA + PAGE_SIZE, PAGE_SHIFT);
	ms = smptest_ms(t0);
	tlb_test_timeout.armed = false;
	ktest_info("tlb_shootdown gave up on cpu %d after %lu ms", tlb_test_timeout.cpu, ms);
	KT_EQ(tlb_test_timeout.cpu, victim);
	KT_ASSERT_MSG(ms >= tlb_ack_timeout_ms / 2 && ms <= 3 * tlb_ack_timeout_ms,
		      "gave up after %lu ms; expected about %u", ms, tlb_ack_timeout_ms);
}

/* ---- lab4.stress ------------------------------------------------------------------- */

#define STRESS_OPS_PER_CPU 4000	/* x 4 CPUs: 16,000 operations, over 10,000 shootdowns */
#define STRESS_MIN_SHOOTDOWNS 10000
#define STRESS_SLOTS 12		/* pages per CPU, in the user space and in the kernel's */
#define STRESS_KBASE (KMAP_BASE + 0x40000000UL)
#define STRESS_TAG 0x5a5a000000000000UL
#define STRESS_READS 4		/* pages read before and after each pause */

struct stress {
	struct aspace *as;
	uint64_t seed;
	volatile int go;
	volatile uint64_t ops[MAX_CPUS], reads[MAX_CPUS], bad[MAX_CPUS], errors[MAX_CPUS];
	volatile uint64_t bad_va[MAX_CPUS], bad_val[MAX_CPUS];
};

static uint64_t slot_va(bool kernel, int cpu, int i)
{
	return (kernel ? STRESS_KBASE : USER_VA) + ((uint64_t)cpu * STRESS_SLOTS + (uint64_t)i) *
							 PAGE_SIZE;
}

/* What a page holds while mapped: its own address, tagged (0 just after mapping). */
static uint64_t slot_tag(uint64_t va)
{
	return STRESS_TAG ^ va;
}

/* A random page of anyone's, in the user space or the kernel's. */
static uint64_t stress_pick(struct rng *rng)
{
	bool kernel = rng_next(rng) % 4 == 0;

	return slot_va(kernel, (int)(rng_next(rng) % NCPUS), (int)(rng_next(rng) % STRESS_SLOTS));
}

/* Read va: a fault, 0 or its tag are fine; poison or another tag is stale. */
static void stress_read(struct stress *st, int me, uint64_t va)
{
	uint64_t v;

	st->reads[me]++;
	if (!smptest_probe_read(va, &v) || v == 0 || v == slot_tag(va))
		return;
	if (!st->bad[me]++) {
		st->bad_va[me] = va;
		st->bad_val[me] = v;
	}
}

/*
 * Read some pages, which puts them in our TLB; let the others run (pause
 * hands the host thread to the next CPU in SMP=det); read them again. In
 * between, their owners may have unmapped and freed them: without a flush
 * here, the second read sees the poisoned frame.
 */
static void stress_reads(struct stress *st, int me, struct rng *rng)
{
	uint64_t va[STRESS_READS];

	for (int r = 0; r < STRESS_READS; r++) {
		va[r] = stress_pick(rng);
		stress_read(st, me, va[r]);
	}
	pause();
	for (int r = 0; r < STRESS_READS; r++)
		stress_read(st, me, va[r]);
}

/* One operation on one of my own slots: map it, or unmap or re-protect it. */
static void stress_op(struct stress *st, int me, struct rng *rng, uint8_t state[2][STRESS_SLOTS])
{
	bool kernel = rng_next(rng) % 4 == 0;
	int i = (int)(rng_next(rng) % STRESS_SLOTS);
	struct aspace *as = kernel ? aspace_kernel() : st->as;
	uint64_t va = slot_va(kernel, me, i);
	uint8_t *s = &state[kernel][i]; /* 0 unmapped, 1 read-only, 2 writable */
	int err = 0;

	if (*s == 0) {
		err = aspace_alloc(as, va, PAGE_SIZE, AS_WRITE | (kernel ? AS_GLOBAL : 0));
		if (!err) {
			*(volatile uint64_t *)va = slot_tag(va);
			*s = 2;
		}
	} else if (rng_next(rng) % 2) {
		err = aspace_unmap(as, va, PAGE_SIZE);
		*s = 0;
	} else {
		err = aspace_protect(as, va, PAGE_SIZE, *s == 2 ? 0 : AS_WRITE);
		*s = *s == 2 ? 1 : 2;
		/* Our own TLB must follow at once: a write to a read-only page faults. */
		if (!err && *s == 1 && smptest_probe_write(va, slot_tag(va)))
			st->errors[me]++;
	}
	if (err)
		st->errors[me]++;
}

static void stress_worker(void *arg)
{
	struct stress *st = arg;
	int me = cpu_id();
	struct rng rng;
	uint8_t state[2][STRESS_SLOTS];

	memset(state, 0, sizeof(state));
	rng_seed(&rng, st->seed + (uint64_t)me * 0x9e3779b97f4a7c15UL);
	aspace_activate(st->as);
	while (!__atomic_load_n(&st->go, __ATOMIC_ACQUIRE))
		pause();
	for (int n = 0; n < STRESS_OPS_PER_CPU; n++) {
		stress_op(st, me, &rng, state);
		stress_reads(st, me, &rng);
		st->ops[me]++;
		if (me == 0 && n % 100 == 99)
			ktest_info("%lu/%lu/%lu/%lu operations", st->ops[0], st->ops[1],
				   st->ops[2], st->ops[3]);
	}
	for (int i = 0; i < STRESS_SLOTS; i++) {
		if (state[0][i] && aspace_unmap(st->as, slot_va(false, me, i), PAGE_SIZE))
			st->errors[me]++;
		if (state[1][i] && aspace_unmap(aspace_kernel(), slot_va(true, me, i), PAGE_SIZE))
			st->errors[me]++;
	}
	aspace_activate(aspace_kernel());
}

/*
 * What the whole run cost, summed over the CPUs: the same numbers for the
 * same code and seed in SMP=det, which make test checks.
 */
static uint64_t stress_counters(const struct stats_snap *s)
{
	uint64_t sd = 0, ipis = 0, inv = 0, full = 0, global = 0;

	for (int cpu = 0; cpu < NCPUS; cpu++) {
		sd += SMPTEST_DELTA(s, cpu, shootdowns);
		ipis += SMPTEST_DELTA(s, cpu, ipi_sent);
		inv += SMPTEST_DELTA(s, cpu, invlpg);
		full += SMPTEST_DELTA(s, cpu, full_flush);
		global += SMPTEST_DELTA(s, cpu, global_flush);
	}
	ktest_info("counters: %lu shootdowns, %lu IPIs, %lu invlpg, %lu full and %lu global "
		   "flushes",
		   sd, ipis, inv, full, global);
	return sd;
}

KTEST(lab4, stress)
{
	static struct aspace space;
	static struct stress st;
	static struct stats_snap before;
	uint64_t t0, total = 0;

	smptest_need_cpus(NCPUS);
	st = (struct stress){ .as = new_space(&space), .seed = rng_next(ktest_rng()) };
	smptest_snap(&before);
	smptest_run_others(stress_worker, &st);
	t0 = rdtsc();
	st.go = 1;
	stress_worker(&st);
	KT_ASSERT_MSG(smptest_join(60000), "a CPU did not finish (ops %lu/%lu/%lu/%lu)", st.ops[0],
		      st.ops[1], st.ops[2], st.ops[3]);
	for (int cpu = 0; cpu < NCPUS; cpu++) {
		total += st.ops[cpu];
		KT_ASSERT_MSG(st.bad[cpu] == 0,
			      "cpu %d: %lu stale read(s), first %#lx at %#lx (poison is %#lx)", cpu,
			      st.bad[cpu], st.bad_val[cpu], st.bad_va[cpu], POISON64);
		KT_ASSERT_MSG(st.errors[cpu] == 0, "cpu %d: %lu operation(s) failed", cpu,
			      st.errors[cpu]);
	}
	ktest_info("%lu operations and %lu checked reads in %lu ms, none stale", total,
		   st.reads[0] + st.reads[1] + st.reads[2] + st.reads[3], smptest_ms(t0));
	KT_ASSERT_MSG(stress_counters(&before) >= STRESS_MIN_SHOOTDOWNS,
		      "fewer than %d shootdowns: the stress did not stress", STRESS_MIN_SHOOTDOWNS);
	KT_ASSERT(total >= 10000);
}

/* ---- lab4.user_copy (with lab 3) ---------------------------------------------------- */

#define UC_PAGES 4
#define UC_ROUNDS 150
/* A copy of 16 KiB (2048 rep movsq steps) takes 65 us in SMP=det: preempt within it. */
#define UC_PREEMPT_NS_MAX 60000

struct user_copy {
	struct aspace *as;
	uint64_t va, seed;
	volatile int stop;
	volatile uint64_t started, copies, full, partial, corrupt;
	volatile uint64_t bad_off, bad_byte, bad_round;
};

/*
 * Word w of the buffer in round r: by position and by round, so that a
 * poisoned frame, another page or another round's page reads differently.
 * Word 0 holds the round itself.
 */
static uint64_t uc_word(uint64_t round, uint64_t w)
{
	return w == 0 ? round : (w * 0x9e3779b97f4a7c15UL) ^ (round << 48) ^ 0x1111;
}

static void uc_fill(paddr_t pa, uint64_t round, int page)
{
	uint64_t *p = pa2kva(pa), first = (uint64_t)page * (PAGE_SIZE / 8);

	for (uint64_t i = 0; i < PAGE_SIZE / 8; i++)
		p[i] = uc_word(round, first + i);
}

/* Every byte copied must come from the one round the copy started in. */
static void uc_check(struct user_copy *u, const uint8_t *kbuf, size_t done)
{
	const uint64_t *w = (const uint64_t *)kbuf;
	uint64_t round, expect;

	if (done < sizeof(round))
		return;
	round = w[0];
	for (size_t i = sizeof(round); i < done; i++) {
		if (i % 8 == 0 && i + 8 <= done && w[i / 8] == uc_word(round, i / 8)) {
			i += 7;
			continue;
		}
		expect = uc_word(round, i / 8) >> (i % 8 * 8);
		if (round >= UC_ROUNDS || kbuf[i] != (uint8_t)expect) {
			if (!u->corrupt++) {
				u->bad_off = i;
				u->bad_byte = kbuf[i];
				u->bad_round = round;
			}
			return;
		}
	}
}

/* Copy the buffer again and again while the BSP unmaps and remaps it. */
static void uc_copier(void *arg)
{
	static uint8_t kbuf[UC_PAGES * PAGE_SIZE];
	struct user_copy *u = arg;

	struct rng rng;

	rng_seed(&rng, u->seed);
	aspace_activate(u->as);
	while (!__atomic_load_n(&u->stop, __ATOMIC_ACQUIRE)) {
		size_t left;

		__atomic_fetch_add(&u->started, 1, __ATOMIC_SEQ_CST);
		smptest_preempt_in(1 + rng_next(&rng) % UC_PREEMPT_NS_MAX);
		left = copy_from_user(kbuf, (const void *)u->va, sizeof(kbuf));
		if (left)
			u->partial++;
		else
			u->full++;
		__atomic_fetch_add(&u->copies, 1, __ATOMIC_SEQ_CST);
		uc_check(u, kbuf, sizeof(kbuf) - left);
		pause();
	}
	aspace_activate(aspace_kernel());
}

static void uc_stop(void *arg)
{
	struct user_copy *u = arg;

	u->stop = 1;
	smp_call_wait(1, WAIT_MS);
}

/* uc_wait - until cond(u) holds; false after WAIT_MS. */
static bool uc_wait(struct user_copy *u, bool (*cond)(struct user_copy *, uint64_t), uint64_t arg)
{
	uint64_t t0 = rdtsc();

	while (!cond(u, arg))
		if (smptest_ms(t0) > WAIT_MS)
			return false;
		else
			pause();
	return true;
}

static bool uc_full_since(struct user_copy *u, uint64_t full)
{
	return u->full > full;
}

static bool uc_in_flight_since(struct user_copy *u, uint64_t started)
{
	uint64_t s = u->started;

	return s > started && u->copies < s;
}

static bool uc_idle(struct user_copy *u, uint64_t unused)
{
	return u->copies == u->started;
}

/*
 * Each round: map fresh frames, let one copy finish whole, then unmap, shoot
 * down and free (poison) the frames while the next copy is in flight. The
 * copy must stop at the fault (cut short), never read a freed frame, and the
 * next round is mapped only after it ended.
 */
KTEST(lab4, user_copy)
{
	static struct aspace space;
	static struct user_copy u;
	uint64_t t0;

	smptest_need_cpus(2);
	u = (struct user_copy){ .as = new_space(&space),
				.va = USER_VA + 0x200000,
				.seed = rng_next(ktest_rng()) };
	KT_EQ_ERR(smp_call(1, uc_copier, &u), 0);
	ktest_defer(uc_stop, &u);
	t0 = rdtsc();
	for (uint64_t round = 0; round < UC_ROUNDS; round++) {
		paddr_t pa[UC_PAGES];

		for (int p = 0; p < UC_PAGES; p++) {
			pa[p] = frame_alloc();
			KT_ASSERT(pa[p]);
			uc_fill(pa[p], round, p);
			KT_EQ_ERR(aspace_map(u.as, u.va + p * PAGE_SIZE, pa[p], PAGE_SIZE,
					     AS_USER | AS_WRITE),
				  0);
		}
		KT_ASSERT_MSG(uc_wait(&u, uc_full_since, u.full),
			      "round %lu: no complete copy of the mapped buffer in %d ms", round,
			      WAIT_MS);
		KT_ASSERT_MSG(uc_wait(&u, uc_in_flight_since, u.started),
			      "round %lu: the copier did not start another copy in %d ms", round,
			      WAIT_MS);
		KT_EQ_ERR(aspace_unmap(u.as, u.va, UC_PAGES * PAGE_SIZE), 0);
		for (int p = 0; p < UC_PAGES; p++)
			frame_free(pa[p]); /* poisons them: a stale copy would read 0x6b */
		KT_ASSERT_MSG(uc_wait(&u, uc_idle, 0),
			      "round %lu: a copy of the unmapped buffer did not end in %d ms", round,
			      WAIT_MS);
	}
	u.stop = 1;
	KT_ASSERT_MSG(smp_call_wait(1, WAIT_MS) == 0, "the copier did not stop");
	ktest_info("%lu copies: %lu complete, %lu cut short, in %lu ms", u.copies, u.full,
		   u.partial, smptest_ms(t0));
	KT_ASSERT_MSG(u.corrupt == 0,
		      "%lu copies returned wrong data, first byte %#lx at offset %lu (a copy "
		      "of round %lu; poison is 0x6b)",
		      u.corrupt, u.bad_byte, u.bad_off, u.bad_round);
	KT_ASSERT(u.full > 0 && u.partial > 0);
}

/* ---- bench.tlb (manual: make bench) -------------------------------------------------- */

#define BENCH_ITERS 300

/* Nanoseconds per shootdown of npages, and the counters it moved on this CPU. */
static uint64_t bench_one(struct aspace *as, uint64_t npages, struct stats_snap *s)
{
	uint64_t t0;

	smptest_snap(s);
	t0 = rdtsc();
	for (int i = 0; i < BENCH_ITERS; i++)
		tlb_shootdown(as, USER_VA, USER_VA + npages * PAGE_SIZE, PAGE_SHIFT);
	return (rdtsc() - t0) * 1000000 / tsc_per_ms() / BENCH_ITERS;
}

/*
 * The cost of one shootdown by range length and by the number of remote CPUs
 * that have the space loaded: time (relative to one page) and IPIs sent.
 * Under QEMU the absolute times are emulation costs (in SMP=det, instruction
 * counts: 32 ns each); the ratios and the IPI counts are what to compare.
 */
KTEST_FLAGS(bench, tlb, KTEST_MANUAL)
{
	static struct aspace space;
	static struct holders h;
	static const uint64_t sizes[] = { 1, 32, 33, 512 };
	struct aspace *as = new_space(&space);
	struct stats_snap s;

	smptest_need_cpus(NCPUS);
	for (int remote = 0; remote < NCPUS; remote++) {
		uint64_t base = 0;

		h = (struct holders){ .as = as, .mask = (1UL << (remote + 1)) - 1 };
		holders_start(&h);
		for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
			uint64_t ns = bench_one(as, sizes[i], &s);
			uint64_t ipis = SMPTEST_DELTA(&s, 0, ipi_sent);
			uint64_t full = SMPTEST_DELTA(&s, 0, full_flush);

			if (i == 0)
				base = ns ? ns : 1;
			ktest_info("remote cpus %d, %3lu page(s): %7lu ns, %lu.%02lu x one page, "
				   "%lu IPI(s) and %s per shootdown",
				   remote, sizes[i], ns, ns / base, ns * 100 / base % 100,
				   ipis / BENCH_ITERS, full ? "a full flush" : "invlpg per page");
		}
		holders_end(&h);
	}
}
