/*
 * smp.*: the SMP infrastructure (kern/smp.c, kern/lapic.c, kern/percpu.c):
 * every CPU online with its own per-CPU data, IPIs delivered, and - the fact
 * lab 4 rests on - that a CPU really keeps reading through a stale TLB entry
 * until it is invalidated. Also the helpers of kern/test/smptest.h.
 */
#include "kern/aspace.h"
#include "kern/frame.h"
#include "kern/kvm.h"
#include "kern/lapic.h"
#include "kern/smp.h"
#include "kern/test/ktest.h"
#include "kern/test/smptest.h"
#include "kern/tlb.h"
#include "kern/trap.h"
#include "kern/x86.h"

/* ---- Probes: a faulting access resumes at a fixup (per CPU, no state) ------ */

bool smptest_probe_read_asm(uint64_t va, uint64_t *val);
bool smptest_probe_write_asm(uint64_t va, uint64_t val);
extern char smptest_read_insn[], smptest_write_insn[], smptest_fixup[];

asm(".text\n"
    ".globl smptest_probe_read_asm, smptest_probe_write_asm\n"
    "smptest_probe_read_asm:\n"
    "smptest_read_insn: movq (%rdi), %rax\n"
    "	movq %rax, (%rsi)\n"
    "	movl $1, %eax\n"
    "	ret\n"
    "smptest_probe_write_asm:\n"
    "smptest_write_insn: movq %rsi, (%rdi)\n"
    "	movl $1, %eax\n"
    "	ret\n"
    "smptest_fixup: xorl %eax, %eax\n"
    "	ret\n");

static bool probe_fixup(struct trapframe *tf)
{
	if (tf->rip != (uint64_t)smptest_read_insn && tf->rip != (uint64_t)smptest_write_insn)
		return false;
	tf->rip = (uint64_t)smptest_fixup;
	return true;
}

static void tick(struct trapframe *tf)
{
	pause(); /* round-robin TCG: the other CPUs run now */
	lapic_eoi();
}

static void register_handlers(void)
{
	static bool done;

	if (!done) {
		trap_register_fault_handler(T_PGFLT, probe_fixup);
		trap_register_irq(VEC_TICK, tick);
		done = true;
	}
}

void smptest_preempt_in(unsigned ns)
{
	lapic_timer_oneshot(VEC_TICK, ns);
}

bool smptest_probe_read(uint64_t va, uint64_t *val)
{
	return smptest_probe_read_asm(va, val);
}

bool smptest_probe_write(uint64_t va, uint64_t val)
{
	return smptest_probe_write_asm(va, val);
}

/* ---- Running work elsewhere -------------------------------------------------- */

static void join_quietly(void *arg)
{
	smptest_join(10000);
}

void smptest_need_cpus(int n)
{
	register_handlers();
	KT_ASSERT_MSG(smp_ncpus() >= n, "this test needs %d CPUs (boot with -smp 4); %d online", n,
		      smp_ncpus());
}

void smptest_run_others(void (*fn)(void *), void *arg)
{
	ktest_defer(join_quietly, NULL);
	for (int cpu = 0; cpu < smp_ncpus(); cpu++) {
		int err;

		if (cpu == cpu_id())
			continue;
		err = smp_call(cpu, fn, arg);
		KT_ASSERT_MSG(err == 0, "smp_call(cpu %d) returned %d", cpu, err);
	}
}

bool smptest_join(unsigned ms)
{
	bool ok = true;

	for (int cpu = 0; cpu < smp_ncpus(); cpu++)
		if (cpu != cpu_id() && smp_call_wait(cpu, ms) < 0)
			ok = false;
	return ok;
}

void smptest_snap(struct stats_snap *s)
{
	for (int cpu = 0; cpu < MAX_CPUS; cpu++)
		s->cpu[cpu] = percpu_of(cpu)->tlb;
}

uint64_t smptest_ms(uint64_t t0)
{
	return (rdtsc() - t0) / tsc_per_ms();
}

/* ---- Tests ------------------------------------------------------------------ */

static volatile uint64_t seen_mask;

static void report_in(void *arg)
{
	__atomic_fetch_or(&seen_mask, 1UL << cpu_id(), __ATOMIC_SEQ_CST);
	if (this_cpu()->apic_id != lapic_id() || this_cpu()->self != this_cpu())
		__atomic_fetch_or(&seen_mask, 1UL << 63, __ATOMIC_SEQ_CST);
}

KTEST(smp, online)
{
	smptest_need_cpus(1);
	ktest_info("%d CPU(s) online, TSC %lu kHz", smp_ncpus(), tsc_per_ms());
	KT_EQ(cpu_id(), 0);
	KT_EQ_HEX(smp_online_mask(), (1UL << smp_ncpus()) - 1);
	if (smp_ncpus() == 1)
		return;
	seen_mask = 0;
	smptest_run_others(report_in, NULL);
	KT_ASSERT_MSG(smptest_join(5000), "an AP did not run its work within 5 s");
	KT_EQ_HEX(seen_mask, smp_online_mask() & ~1UL);
	for (int cpu = 0; cpu < smp_ncpus(); cpu++)
		KT_EQ(percpu_of(cpu)->id, cpu);
}

/* The fact lab 4 rests on: without invalidation a remote reader stays stale. */
struct stale_demo {
	uint64_t va;
	volatile int phase; /* 0 warm up, 1 PTE changed, 2 stop */
	volatile uint64_t warm[MAX_CPUS], after[MAX_CPUS], stale[MAX_CPUS];
};

static void demo_reader(void *arg)
{
	struct stale_demo *d = arg;
	int me = cpu_id();

	for (;;) {
		int ph = __atomic_load_n(&d->phase, __ATOMIC_ACQUIRE);
		uint64_t v = *(volatile uint64_t *)d->va;

		pause(); /* lets the next vCPU run under round-robin TCG; no TLB effect */
		if (ph == 2)
			break;
		if (ph == 0) {
			d->warm[me]++;
			continue;
		}
		d->after[me]++;
		if (v == 1)
			d->stale[me]++;
	}
}

static void demo_stop(void *arg)
{
	((struct stale_demo *)arg)->phase = 2;
	smptest_join(5000);
}

static void demo_cleanup(void *arg)
{
	uint64_t *kv = arg;

	aspace_unmap(aspace_kernel(), kv[0], PAGE_SIZE);
	frame_free(kv[1]);
	frame_free(kv[2]);
}

KTEST(smp, stale_visible)
{
	static struct stale_demo d;
	static uint64_t cleanup[3];
	struct pt_cursor c;
	paddr_t a, b;
	uint64_t t0;

	smptest_need_cpus(2);
	a = frame_alloc_zeroed();
	b = frame_alloc_zeroed();
	KT_ASSERT(a && b);
	*(uint64_t *)pa2kva(a) = 1;
	*(uint64_t *)pa2kva(b) = 2;
	d = (struct stale_demo){ .va = KMAP_BASE + 0x1000 };
	cleanup[0] = d.va;
	cleanup[1] = a;
	cleanup[2] = b;
	KT_EQ_ERR(aspace_map(aspace_kernel(), d.va, a, PAGE_SIZE, AS_WRITE | AS_GLOBAL), 0);
	ktest_defer(demo_cleanup, cleanup);
	smptest_run_others(demo_reader, &d);
	ktest_defer(demo_stop, &d);
	t0 = rdtsc();
	while (d.warm[1] < 1000 && smptest_ms(t0) < 5000)
		pause();
	KT_ASSERT_MSG(d.warm[1] >= 1000, "cpu 1 did not start reading");
	/* Change the entry behind everybody's back: no invlpg, no IPI. */
	KT_EQ_ERR(pt_walk(kernel_pml4_pa(), d.va, &c), 0);
	*c.pte = (*c.pte & ~PTE_ADDR_MASK) | b;
	__atomic_store_n(&d.phase, 1, __ATOMIC_RELEASE);
	t0 = rdtsc();
	while (d.after[1] < 100000 && smptest_ms(t0) < 5000)
		pause();
	d.phase = 2;
	KT_ASSERT(smptest_join(5000));
	ktest_info("after the PTE change without a flush, cpu 1 read the old frame %lu of %lu "
		   "times",
		   d.stale[1], d.after[1]);
	KT_ASSERT_MSG(d.stale[1] > 0, "no stale read seen: this QEMU does not keep stale "
		      "TLB entries, lab 4's stale-read tests cannot catch missing flushes");
	/* Leave the TLBs consistent for the unmap in the cleanup. */
	tlb_shootdown(aspace_kernel(), d.va, d.va + PAGE_SIZE, PAGE_SHIFT);
}
