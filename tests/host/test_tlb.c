/*
 * Host unit tests for TLB shootdown (kern/tlb.c, lab 4) on simulated CPUs
 * (tests/host/cpu_host.c):
 *  - protocol: one host thread plays every CPU and IPIs run at once, so the
 *    flushes and IPIs of each call are counted exactly: which CPUs get an
 *    IPI, one per target and call, the flush ceiling, global flushes for the
 *    kernel's space, the initiator's own flush, huge pages.
 *  - stress: each CPU is a host thread, IPIs arrive asynchronously, and
 *    every CPU both touches pages (filling its TLB) and starts shootdowns of
 *    its own pages, concurrently with the others. When tlb_shootdown
 *    returns, no CPU may still hold a translation older than the entries it
 *    was called for: an acknowledgement sent before the flush, or an
 *    initiator that does not wait, shows up here as a stale entry; a wait
 *    that does not serve its own requests deadlocks and times out.
 *    The graded SMP runs under QEMU are deterministic; this is where the
 *    protocol meets real parallelism (the CPUs run on the host's cores).
 */
#include <check.h>

#include "tests/host/check_err.h"
#include <stdio.h>
#include <time.h>

#include "kern/aspace.h"
#include "kern/test/hooks.h"
#include "kern/tlb.h"
#include "lib/string.h"
#include "tests/host/cpu_host.h"

#define NCPUS 4
#define PAGE(w, p) host_va((w), (p))

static struct aspace user_as, kern_as;

static void setup(void)
{
	host_cpu_reset(NCPUS, true, true);
	tlb_init();
	tlb_ack_timeout_ms = 2000;
	tlb_test_timeout.armed = false;
	memset(&user_as, 0, sizeof(user_as));
	memset(&kern_as, 0, sizeof(kern_as));
	kern_as.kernel = true;
	for (unsigned p = 0; p < HOST_TLB_PAGES; p++) {
		host_pte_set(HOST_USER, p, 0x1000 + p);
		host_pte_set(HOST_KERNEL, p, 0x2000 + p);
	}
}

/* touch - CPU cpu accesses pages [first, first + n) of window w. */
static void touch(int cpu, enum host_window w, unsigned first, unsigned n)
{
	host_cpu_enter(cpu);
	for (unsigned p = first; p < first + n; p++)
		host_access(w, p);
	host_cpu_enter(0);
}

/* remap - give pages [first, first + n) new entries (as lab 2 would). */
static void remap(enum host_window w, unsigned first, unsigned n)
{
	for (unsigned p = first; p < first + n; p++)
		host_pte_set(w, p, host_pte_get(w, p) + 0x10000);
}

/* shoot - tlb_shootdown from CPU cpu, which must restore its interrupt flag. */
#define shoot(...) shoot_at(CK_HERE, __VA_ARGS__)
static void shoot_at(CK_SITE, int cpu, struct aspace *as, uint64_t va, uint64_t npages,
		     unsigned shift)
{
	CK_ENTER;
	host_cpu_enter(cpu);
	tlb_shootdown(as, va, va + ((uint64_t)(npages) << shift), shift);
	ck_assert_msg(host_cpu_irqs_on(), "tlb_shootdown left interrupts off on cpu %d", cpu);
	host_cpu_enter(0);
}

/* expect_no_stale - no CPU caches an entry of [first, first + n) other than the current one. */
#define expect_no_stale(...) expect_no_stale_at(CK_HERE, __VA_ARGS__)
static void expect_no_stale_at(CK_SITE, enum host_window w, unsigned first, unsigned n)
{
	CK_ENTER;
	for (int c = 0; c < NCPUS; c++)
		for (unsigned p = first; p < first + n; p++) {
			uint64_t v = host_tlb_peek(c, w, p);

			ck_assert_msg(!v || v == host_pte_get(w, p),
				      "after tlb_shootdown returned, cpu %d still caches the old "
				      "translation of %#lx",
				      c, PAGE(w, p));
		}
}

static const struct tlb_stats *stats(int cpu)
{
	return &percpu_of(cpu)->tlb;
}

START_TEST(test_targets)
{
	/* CPUs 0 and 2 have the space loaded; 0 starts: one IPI, to 2 only. */
	user_as.cpus = 1UL << 0 | 1UL << 2;
	touch(0, HOST_USER, 5, 1);
	touch(2, HOST_USER, 5, 1);
	remap(HOST_USER, 5, 1);
	shoot(0, &user_as, PAGE(HOST_USER, 5), 1, PAGE_SHIFT);
	expect_no_stale(HOST_USER, 5, 1);
	ck_assert_msg(stats(0)->shootdowns == 1, "cpu 0 counted %lu shootdowns, expected 1",
		      stats(0)->shootdowns);
	ck_assert_msg(stats(0)->ipi_sent == 1, "cpu 0 sent %lu IPIs, expected 1 (to cpu 2)",
		      stats(0)->ipi_sent);
	ck_assert_msg(
		stats(2)->ipi_received == 1 && stats(2)->requests_served == 1,
		"cpu 2 (space loaded) received %lu IPIs and served %lu requests, expected 1 and 1",
		stats(2)->ipi_received, stats(2)->requests_served);
	for (int c = 1; c < NCPUS; c += 2)
		ck_assert_msg(stats(c)->ipi_received == 0,
			      "cpu %d received an IPI but does not have the space loaded", c);
	ck_assert_msg(stats(0)->invlpg == 1,
		      "the initiator (space loaded) ran %lu invlpg, expected 1", stats(0)->invlpg);
	ck_assert_msg(stats(2)->invlpg == 1, "cpu 2 ran %lu invlpg, expected 1", stats(2)->invlpg);

	/* An initiator without the space loaded still reaches exactly the CPUs that have it. */
	user_as.cpus = 1UL << 1 | 1UL << 2;
	touch(1, HOST_USER, 6, 1);
	remap(HOST_USER, 6, 1);
	shoot(3, &user_as, PAGE(HOST_USER, 6), 1, PAGE_SHIFT);
	expect_no_stale(HOST_USER, 6, 1);
	ck_assert_msg(stats(3)->ipi_sent == 2, "cpu 3 sent %lu IPIs, expected 2 (cpus 1 and 2)",
		      stats(3)->ipi_sent);
	ck_assert_msg(stats(1)->ipi_received == 1 && stats(0)->ipi_received == 0,
		      "IPIs received: cpu 0 %lu (not loaded, expected 0), cpu 1 %lu (expected 1)",
		      stats(0)->ipi_received, stats(1)->ipi_received);

	/* No other CPU has the space: no IPI at all. */
	user_as.cpus = 1UL << 2;
	shoot(2, &user_as, PAGE(HOST_USER, 7), 1, PAGE_SHIFT);
	ck_assert_msg(stats(2)->ipi_sent == 0, "cpu 2 sent %lu IPIs for a space only it has loaded",
		      stats(2)->ipi_sent);
}
END_TEST

START_TEST(test_batch)
{
	/* One IPI per target per call, however many pages. */
	user_as.cpus = (1UL << NCPUS) - 1;
	for (int c = 0; c < NCPUS; c++)
		touch(c, HOST_USER, 10, 5);
	remap(HOST_USER, 10, 5);
	shoot(1, &user_as, PAGE(HOST_USER, 10), 5, PAGE_SHIFT);
	expect_no_stale(HOST_USER, 10, 5);
	ck_assert_msg(stats(1)->ipi_sent == NCPUS - 1,
		      "cpu 1 sent %lu IPIs for 5 pages, expected %d", stats(1)->ipi_sent,
		      NCPUS - 1);
	for (int c = 0; c < NCPUS; c++) {
		ck_assert_msg(stats(c)->invlpg == 5,
			      "cpu %d ran %lu invlpg for 5 pages, expected 5", c, stats(c)->invlpg);
		if (c != 1)
			ck_assert_msg(stats(c)->ipi_received == 1,
				      "cpu %d received %lu IPIs, expected 1", c,
				      stats(c)->ipi_received);
	}
}
END_TEST

START_TEST(test_ceiling)
{
	user_as.cpus = 1UL << 0 | 1UL << 1;
	touch(0, HOST_USER, 0, 40);
	touch(1, HOST_USER, 0, 40);
	remap(HOST_USER, 0, TLB_FLUSH_CEILING);
	shoot(0, &user_as, PAGE(HOST_USER, 0), TLB_FLUSH_CEILING, PAGE_SHIFT);
	expect_no_stale(HOST_USER, 0, 40);
	for (int c = 0; c < 2; c++)
		ck_assert_msg(
			stats(c)->invlpg == TLB_FLUSH_CEILING && stats(c)->full_flush == 0 &&
				stats(c)->global_flush == 0,
			"%d pages (the ceiling): cpu %d ran %lu invlpg, %lu full and %lu global "
			"flushes; expected one invlpg per page",
			TLB_FLUSH_CEILING, c, stats(c)->invlpg, stats(c)->full_flush,
			stats(c)->global_flush);

	touch(0, HOST_USER, 0, 40);
	touch(1, HOST_USER, 0, 40);
	remap(HOST_USER, 0, TLB_FLUSH_CEILING + 1);
	shoot(1, &user_as, PAGE(HOST_USER, 0), TLB_FLUSH_CEILING + 1, PAGE_SHIFT);
	expect_no_stale(HOST_USER, 0, 40);
	for (int c = 0; c < 2; c++)
		ck_assert_msg(stats(c)->invlpg == TLB_FLUSH_CEILING &&
				      stats(c)->full_flush + stats(c)->global_flush == 1,
			      "%d pages (above the ceiling): cpu %d ran %lu invlpg and %lu full "
			      "flushes; expected no invlpg and one full flush",
			      TLB_FLUSH_CEILING + 1, c, stats(c)->invlpg - TLB_FLUSH_CEILING,
			      stats(c)->full_flush + stats(c)->global_flush);
}
END_TEST

START_TEST(test_kernel)
{
	/* The kernel's space is on every CPU, whatever its cpus mask says. */
	for (int c = 0; c < NCPUS; c++)
		touch(c, HOST_KERNEL, 0, 40);
	remap(HOST_KERNEL, 3, 1);
	shoot(1, &kern_as, PAGE(HOST_KERNEL, 3), 1, PAGE_SHIFT);
	expect_no_stale(HOST_KERNEL, 3, 1);
	for (int c = 0; c < NCPUS; c++) {
		ck_assert_msg(stats(c)->invlpg == 1,
			      "kernel page: cpu %d ran %lu invlpg, expected 1", c,
			      stats(c)->invlpg);
		if (c != 1)
			ck_assert_msg(stats(c)->ipi_received == 1,
				      "kernel page: cpu %d received %lu IPIs, expected 1", c,
				      stats(c)->ipi_received);
	}

	/* Above the ceiling: a full flush that drops global entries, everywhere. */
	remap(HOST_KERNEL, 0, 40);
	shoot(2, &kern_as, PAGE(HOST_KERNEL, 0), 40, PAGE_SHIFT);
	expect_no_stale(HOST_KERNEL, 0, 40);
	for (int c = 0; c < NCPUS; c++)
		ck_assert_msg(
			stats(c)->global_flush == 1 && stats(c)->full_flush == 0,
			"40 kernel pages: cpu %d ran %lu global and %lu CR3 flushes, expected "
			"one global flush (a CR3 reload keeps global entries)",
			c, stats(c)->global_flush, stats(c)->full_flush);
}
END_TEST

START_TEST(test_huge)
{
	uint64_t vas[4];
	uint64_t va = 0x40000000UL;

	user_as.cpus = 1UL << 0 | 1UL << 3;
	shoot(0, &user_as, va, 2, 21);
	for (int c = 0; c < NCPUS; c += 3) {
		unsigned n = host_cpu_invlpg_log(c, vas, 4);

		ck_assert_msg(n == 2, "two 2 MiB pages: cpu %d ran %u invlpg, expected 2", c, n);
		ck_assert_msg(vas[0] == va && vas[1] == va + (1UL << 21),
			      "two 2 MiB pages at %#lx: cpu %d invalidated %#lx and %#lx", va, c,
			      vas[0], vas[1]);
	}
}
END_TEST

/* ---- stress: every CPU a host thread -------------------------------------- */

#define OWN 40 /* pages each CPU changes, per window: more than the ceiling */
/*
 * Rounds: at least STRESS_MIN (however loaded the host: a slow run is not a
 * failure), then more until STRESS_MAX or STRESS_NS have passed.
 */
#define STRESS_MIN 10
#define STRESS_MAX 500
#define STRESS_NS 300000000L

/* <stdlib.h> would clash with lib/string.h's strtoul. */
char *getenv(const char *name);

struct stress {
	struct timespec start;
	unsigned long shootdowns[MAX_CPUS];
	volatile bool more[2];
};

static long elapsed_ns(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000000000L + (t.tv_nsec - t0->tv_nsec);
}

static uint64_t next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void stress_cpu(int cpu, void *p)
{
	struct stress *st = p;
	uint64_t rng = 0x9e3779b97f4a7c15UL * (uint64_t)(cpu + 1);
	bool loaded = user_as.cpus & (1UL << cpu);
	unsigned long done;

	/*
	 * In rounds: every CPU touches pages, then all start a shootdown at
	 * the same moment, so that initiators overlap and target each other.
	 */
	for (done = 0;; done++) {
		enum host_window w = next(&rng) & 1 ? HOST_USER : HOST_KERNEL;
		struct aspace *as = w == HOST_USER ? &user_as : &kern_as;
		unsigned first, n;
		bool more;

		/* Use other CPUs' pages, so that they have something to shoot down. */
		for (int k = 0; k < 16; k++) {
			host_cpu_poll();
			host_access(HOST_KERNEL, next(&rng) % (NCPUS * OWN));
			if (loaded)
				host_access(HOST_USER, next(&rng) % (NCPUS * OWN));
		}
		/*
		 * CPU 0 decides for everyone whether another round follows this
		 * one (two slots: a slow CPU may still read this round's when CPU
		 * 0 writes the next one's).
		 */
		if (cpu == 0)
			st->more[done & 1] =
				done + 1 < STRESS_MAX &&
				(done + 1 < STRESS_MIN || elapsed_ns(&st->start) < STRESS_NS);
		/* All at once: initiators that target each other, with interrupts off. */
		host_cpu_barrier();
		more = st->more[done & 1];
		/* Change some of our own pages, sometimes all of them (a full flush). */
		n = next(&rng) % 4 ? 1 + next(&rng) % 4 : OWN;
		first = cpu * OWN + next(&rng) % (OWN - n + 1);
		for (unsigned q = first; q < first + n; q++)
			host_pte_set(w, q, host_pte_get(w, q) + 0x10000);
		tlb_shootdown(as, host_va(w, first), host_va(w, first) + n * PAGE_SIZE, PAGE_SHIFT);
		if (!host_cpu_irqs_on())
			host_cpu_fail("tlb_shootdown returned with interrupts off");
		for (int c = 0; c < NCPUS; c++)
			for (unsigned q = first; q < first + n; q++) {
				uint64_t v = host_tlb_peek(c, w, q);

				if (v && v != host_pte_get(w, q))
					host_cpu_fail(
						"tlb_shootdown(%s, %#lx, %u pages) returned, but cpu %d "
						"still caches the old translation of %#lx",
						w == HOST_USER ? "user space" : "kernel space",
						host_va(w, first), n, c, host_va(w, q));
			}
		if (!more) {
			done++;
			break;
		}
	}
	st->shootdowns[cpu] = done;
	host_cpu_done_wait();
}

START_TEST(test_stress)
{
	struct stress st = { 0 };
	const char *failure;
	unsigned long total = 0;

	/* CPUs 0-2 run the user space; CPU 3 only ever touches kernel pages. */
	user_as.cpus = 0x7;
	host_cpu_async(true);
	clock_gettime(CLOCK_MONOTONIC, &st.start);
	failure = host_cpu_run(stress_cpu, &st);
	host_cpu_async(false);
	ck_assert_msg(!failure, "%s", failure);
	for (int c = 0; c < NCPUS; c++)
		total += st.shootdowns[c];
	if (getenv("TLB_STRESS_REPORT"))
		fprintf(stderr, "tlb stress: %lu shootdowns (%lu %lu %lu %lu) in %ld ms\n", total,
			st.shootdowns[0], st.shootdowns[1], st.shootdowns[2], st.shootdowns[3],
			elapsed_ns(&st.start) / 1000000);
	ck_assert_msg(total >= NCPUS * STRESS_MIN, "only %lu shootdowns", total);
}
END_TEST

Suite *tlb_suite(void)
{
	Suite *s = suite_create("tlb");
	TCase *protocol = tcase_create("protocol");
	TCase *stress = tcase_create("stress");

	tcase_add_checked_fixture(protocol, setup, NULL);
	tcase_add_test(protocol, test_targets);
	tcase_add_test(protocol, test_batch);
	tcase_add_test(protocol, test_ceiling);
	tcase_add_test(protocol, test_kernel);
	tcase_add_test(protocol, test_huge);
	suite_add_tcase(s, protocol);

	tcase_add_checked_fixture(stress, setup, NULL);
	tcase_add_test(stress, test_stress);
	suite_add_tcase(s, stress);
	return s;
}
