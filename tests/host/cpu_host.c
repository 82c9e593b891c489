/*
 * Simulated CPUs for the host tests (see cpu_host.h): what kern/tlb.c and
 * kern/uaccess.c need of the machine, on ordinary host threads.
 */
#include <asm/prctl.h>
#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <time.h>
/* POSIX's pause(), which this file does not use, is not kern/x86.h's. */
#undef pause
#include <unistd.h>
#define pause pg_pause

#include "kern/cpu.h"
#include "kern/kvm.h"
#include "kern/lapic.h"
#include "kern/panic.h"
#include "kern/pgtable.h"
#include "kern/smp.h"
#include "kern/spinlock.h"
#include "kern/x86.h"
#include "lib/printfmt.h"
#include "lib/string.h"
#include "tests/host/cpu_host.h"

#define TLB_VALID (1UL << 63)
#define TLB_GLOBAL (1UL << 62)
#define TLB_VALUE (TLB_GLOBAL - 1)
#define MAX_FAULT_HANDLERS 4

struct host_cpu {
	bool irq_on;
	uint64_t cr0, cr3, cr4;
	uint64_t irr[4];		/* pending vectors, set by other threads */
	unsigned long irqs_taken;
	uint64_t tlb[2][HOST_TLB_PAGES]; /* 0, or TLB_VALID | [TLB_GLOBAL] | value */
	uint64_t invlpg_log[HOST_INVLPG_LOG];
	unsigned ninvlpg;
};

struct percpu percpu[MAX_CPUS];

static struct host_cpu cpus[MAX_CPUS];
static int ncpus;
static uint64_t pte[2][HOST_TLB_PAGES];
static bool async_ipis, has_smep, has_smap, bad_cr4;
static irq_handler_fn irq_handlers[256];
static fault_handler_fn fault_handlers[32][MAX_FAULT_HANDLERS];

/* The CPU this host thread plays; a thread of host_cpu_run also may bail out. */
static __thread int cur;
static __thread jmp_buf *bail;
static volatile int stop, ndone;
static char failure[512];
static pthread_mutex_t failure_lock = PTHREAD_MUTEX_INITIALIZER;

jmp_buf *host_panic_expect;
char host_panic_msg[256];

static struct host_cpu *me(void)
{
	return &cpus[cur];
}

void host_cpu_enter(int cpu)
{
	ck_assert_msg(cpu >= 0 && cpu < ncpus, "host_cpu_enter(%d): %d CPUs", cpu, ncpus);
	cur = cpu;
	/* this_cpu() and cpu_id() load through %gs, as in the kernel. */
	ck_assert_int_eq(syscall(SYS_arch_prctl, ARCH_SET_GS, &percpu[cpu]), 0);
}

void host_cpu_reset(int n, bool smep, bool smap)
{
	ck_assert(n >= 1 && n <= MAX_CPUS);
	memset(percpu, 0, sizeof(percpu));
	memset(cpus, 0, sizeof(cpus));
	memset(pte, 0, sizeof(pte));
	memset(irq_handlers, 0, sizeof(irq_handlers));
	memset(fault_handlers, 0, sizeof(fault_handlers));
	ncpus = n;
	for (int i = 0; i < n; i++) {
		percpu[i].self = &percpu[i];
		percpu[i].id = i;
		percpu[i].apic_id = (uint32_t)i;
		percpu[i].online = true;
		cpus[i].irq_on = true;
		cpus[i].cr0 = 0x80000011UL; /* PG, ET, PE; WP clear, as GRUB leaves it */
		cpus[i].cr4 = CR4_PAE | CR4_PGE;
	}
	async_ipis = false;
	has_smep = smep;
	has_smap = smap;
	bad_cr4 = false;
	stop = 0;
	failure[0] = 0;
	host_panic_expect = NULL;
	host_cpu_enter(0);
}

void host_cpu_async(bool on)
{
	async_ipis = on;
}

bool host_cpu_irqs_on(void)
{
	return me()->irq_on;
}

/* ---- failures and panics ------------------------------------------------ */

static void record_failure(const char *msg)
{
	pthread_mutex_lock(&failure_lock);
	if (!failure[0])
		snprintf(failure, sizeof(failure), "cpu %d: %s", cur, msg);
	pthread_mutex_unlock(&failure_lock);
	__atomic_store_n(&stop, 1, __ATOMIC_SEQ_CST);
}

void host_cpu_fail(const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!bail)
		ck_abort_msg("%s", msg);
	record_failure(msg);
	longjmp(*bail, 1);
}

bool host_cpu_failed(void)
{
	return __atomic_load_n(&stop, __ATOMIC_SEQ_CST) != 0;
}

void panic_at(const char *file, int line, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (host_panic_expect && !bail) {
		strlcpy(host_panic_msg, msg, sizeof(host_panic_msg));
		longjmp(*host_panic_expect, 1);
	}
	host_cpu_fail("panic at %s:%d: %s", file, line, msg);
	__builtin_unreachable();
}

/* ---- interrupts ----------------------------------------------------------- */

/* Run the handler of vector as the running CPU, interrupts off meanwhile. */
static void take_irq(int vector)
{
	struct trapframe tf = { .vector = (uint64_t)vector };
	bool was_on = me()->irq_on;

	if (!irq_handlers[vector])
		host_cpu_fail("interrupt vector %#x has no handler", vector);
	me()->irq_on = false;
	me()->irqs_taken++;
	irq_handlers[vector](&tf);
	me()->irq_on = was_on;
}

void host_cpu_poll(void)
{
	if (bail && __atomic_load_n(&stop, __ATOMIC_RELAXED))
		longjmp(*bail, 1);
	if (!me()->irq_on)
		return;
	for (int w = 0; w < 4; w++) {
		uint64_t bits = __atomic_exchange_n(&me()->irr[w], 0, __ATOMIC_ACQUIRE);

		for (; bits; bits &= bits - 1)
			take_irq(w * 64 + __builtin_ctzll(bits));
	}
}

void smp_send_ipi(int cpu, uint8_t vector)
{
	int from = cur;

	if (cpu < 0 || cpu >= ncpus || cpu == from)
		host_cpu_fail("smp_send_ipi(%d) from cpu %d (%d CPUs)", cpu, from, ncpus);
	if (async_ipis) {
		__atomic_fetch_or(&cpus[cpu].irr[vector / 64], 1UL << (vector % 64),
				  __ATOMIC_RELEASE);
		return;
	}
	/* Synchronous: be the target for the length of its handler. */
	host_cpu_enter(cpu);
	take_irq(vector);
	host_cpu_enter(from);
}

unsigned long host_cpu_irqs_taken(int cpu)
{
	return cpus[cpu].irqs_taken;
}

void lapic_eoi(void)
{
}

void trap_register_irq(int vector, irq_handler_fn fn)
{
	ck_assert(vector >= 32 && vector < 256);
	irq_handlers[vector] = fn;
}

void trap_register_fault_handler(int vector, fault_handler_fn fn)
{
	ck_assert_msg(vector >= 0 && vector < 32, "fault handler for vector %d", vector);
	for (int i = 0; i < MAX_FAULT_HANDLERS; i++)
		if (!fault_handlers[vector][i]) {
			fault_handlers[vector][i] = fn;
			return;
		}
	ck_abort_msg("too many fault handlers for vector %d", vector);
}

fault_handler_fn host_fault_handler(int vector, int nth)
{
	return fault_handlers[vector][nth];
}

/* Lab 4's relax hook serves requests while a CPU spins for a lock: no locks here. */
void spin_set_relax_hook(void (*fn)(void))
{
}

/* ---- the privileged instructions of kern/x86.h -------------------------------- */

uint64_t read_rflags(void)
{
	return 0x2 | (me()->irq_on ? RFLAGS_IF : 0);
}

void cli(void)
{
	me()->irq_on = false;
}

void sti(void)
{
	me()->irq_on = true;
	host_cpu_poll();
}

/*
 * pause - what a spinning CPU executes. Here it also takes interrupts (when
 * on), stops a thread once another failed, and gives the host core away:
 * with more simulated CPUs than host cores (and other work on them), a CPU
 * spinning for an acknowledgement would otherwise burn the time slice its
 * target needs.
 */
void pause(void)
{
	__builtin_ia32_pause();
	host_cpu_poll();
	if (async_ipis)
		sched_yield();
}

/*
 * An invalidation is not instantaneous, and a CPU (a vCPU above all) can lose
 * its core at any instruction. With asynchronous IPIs each invalidation first
 * gives the host core away, so that whatever the other CPUs do in the
 * meantime (an initiator that takes an early acknowledgement for done and
 * checks) really happens before it.
 */
static void invalidation_delay(void)
{
	if (async_ipis)
		sched_yield();
}

static void tlb_drop(struct host_cpu *c, bool keep_global)
{
	invalidation_delay();
	for (int w = 0; w < 2; w++)
		for (int i = 0; i < HOST_TLB_PAGES; i++) {
			uint64_t e = __atomic_load_n(&c->tlb[w][i], __ATOMIC_RELAXED);

			if (e && !(keep_global && (e & TLB_GLOBAL)))
				__atomic_store_n(&c->tlb[w][i], 0, __ATOMIC_RELAXED);
		}
}

/* invlpg - drop the entry of the page holding va. */
void invlpg(uintptr_t va)
{
	struct host_cpu *c = me();

	if (c->ninvlpg < HOST_INVLPG_LOG)
		c->invlpg_log[c->ninvlpg] = va;
	c->ninvlpg++;
	invalidation_delay();
	for (int w = 0; w < 2; w++) {
		uint64_t base = w == HOST_USER ? HOST_USER_BASE : HOST_KERNEL_BASE;

		if (va >= base && va - base < (uint64_t)HOST_TLB_PAGES * PAGE_SIZE)
			__atomic_store_n(&c->tlb[w][(va - base) / PAGE_SIZE], 0, __ATOMIC_RELAXED);
	}
}

unsigned host_cpu_invlpg_log(int cpu, uint64_t *vas, unsigned max)
{
	unsigned n = cpus[cpu].ninvlpg;

	for (unsigned i = 0; i < n && i < max && i < HOST_INVLPG_LOG; i++)
		vas[i] = cpus[cpu].invlpg_log[i];
	return n;
}

uint64_t read_cr0(void)
{
	return me()->cr0;
}

void write_cr0(uint64_t v)
{
	me()->cr0 = v;
}

uint64_t read_cr3(void)
{
	return me()->cr3;
}

/* A CR3 write drops every entry but the global ones. */
void write_cr3(uint64_t v)
{
	me()->cr3 = v;
	tlb_drop(me(), true);
}

uint64_t read_cr4(void)
{
	return me()->cr4;
}

/* Toggling PGE drops every entry; a bit the CPU lacks would hang QEMU's TCG. */
void write_cr4(uint64_t v)
{
	if (((v & CR4_SMEP) && !has_smep) || ((v & CR4_SMAP) && !has_smap))
		bad_cr4 = true;
	if ((v ^ me()->cr4) & CR4_PGE)
		tlb_drop(me(), false);
	me()->cr4 = v;
}

bool host_cpu_bad_cr4(void)
{
	return bad_cr4;
}

/* kern/kvm.c: toggle CR4.PGE off and on. */
void local_flush_tlb_all(void)
{
	tlb_drop(me(), false);
}

/* ---- CPU identity and features ------------------------------------------------ */

int cpu_id(void)
{
	return this_cpu()->id;
}

bool cpu_has_smep(void)
{
	return has_smep;
}

bool cpu_has_smap(void)
{
	return has_smap;
}

uint64_t smp_online_mask(void)
{
	return ncpus == 64 ? ~0UL : (1UL << ncpus) - 1;
}

/* TSC ticks per millisecond, measured once against the monotonic clock. */
uint64_t tsc_per_ms(void)
{
	static uint64_t rate;
	struct timespec t0, t1;
	uint64_t c0, c1;

	if (__atomic_load_n(&rate, __ATOMIC_RELAXED))
		return rate;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	c0 = rdtsc();
	do
		clock_gettime(CLOCK_MONOTONIC, &t1);
	while ((t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec) < 2000000);
	c1 = rdtsc();
	__atomic_store_n(&rate, (c1 - c0) / 2 ? (c1 - c0) / 2 : 1, __ATOMIC_RELAXED);
	return rate;
}

/* A lab-3 access_ok that walks the tables asks for CR3: an empty simulated root. */
paddr_t pt_current_root(void)
{
	return read_cr3() & PTE_ADDR_MASK;
}

/* ---- the simulated pages and TLBs ------------------------------------------------ */

uint64_t host_va(enum host_window w, unsigned page)
{
	return (w == HOST_USER ? HOST_USER_BASE : HOST_KERNEL_BASE) + (uint64_t)page * PAGE_SIZE;
}

void host_pte_set(enum host_window w, unsigned page, uint64_t value)
{
	ck_assert(page < HOST_TLB_PAGES && value && value <= TLB_VALUE);
	__atomic_store_n(&pte[w][page], value, __ATOMIC_RELEASE);
}

uint64_t host_pte_get(enum host_window w, unsigned page)
{
	return __atomic_load_n(&pte[w][page], __ATOMIC_ACQUIRE);
}

uint64_t host_access(enum host_window w, unsigned page)
{
	uint64_t e = __atomic_load_n(&me()->tlb[w][page], __ATOMIC_RELAXED);

	if (e)
		return e & TLB_VALUE;
	e = host_pte_get(w, page);
	if (e)
		__atomic_store_n(&me()->tlb[w][page],
				 TLB_VALID | (w == HOST_KERNEL ? TLB_GLOBAL : 0) | e,
				 __ATOMIC_RELAXED);
	return e;
}

uint64_t host_tlb_peek(int cpu, enum host_window w, unsigned page)
{
	return __atomic_load_n(&cpus[cpu].tlb[w][page], __ATOMIC_RELAXED) & TLB_VALUE;
}

/* ---- CPU threads ------------------------------------------------------------------ */

struct run_arg {
	int cpu;
	void (*fn)(int cpu, void *arg);
	void *arg;
};

static void *cpu_thread(void *p)
{
	struct run_arg *a = p;
	jmp_buf here;

	cur = a->cpu;
	if (syscall(SYS_arch_prctl, ARCH_SET_GS, &percpu[a->cpu]) != 0) {
		record_failure("arch_prctl(ARCH_SET_GS) failed");
		return NULL;
	}
	if (setjmp(here) == 0) {
		bail = &here;
		a->fn(a->cpu, a->arg);
	}
	bail = NULL;
	return NULL;
}

void host_cpu_barrier(void)
{
	static volatile int count, round;
	int r = __atomic_load_n(&round, __ATOMIC_ACQUIRE);

	if (__atomic_add_fetch(&count, 1, __ATOMIC_ACQ_REL) == ncpus) {
		__atomic_store_n(&count, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&round, r + 1, __ATOMIC_RELEASE);
		return;
	}
	while (__atomic_load_n(&round, __ATOMIC_ACQUIRE) == r)
		pause();
}

void host_cpu_done_wait(void)
{
	__atomic_fetch_add(&ndone, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&ndone, __ATOMIC_SEQ_CST) < ncpus)
		pause();
}

const char *host_cpu_run(void (*fn)(int cpu, void *arg), void *arg)
{
	pthread_t threads[MAX_CPUS];
	struct run_arg args[MAX_CPUS];

	ndone = 0;
	stop = 0;
	failure[0] = 0;
	for (int i = 0; i < ncpus; i++) {
		args[i] = (struct run_arg){ .cpu = i, .fn = fn, .arg = arg };
		ck_assert_int_eq(pthread_create(&threads[i], NULL, cpu_thread, &args[i]), 0);
	}
	for (int i = 0; i < ncpus; i++)
		pthread_join(threads[i], NULL);
	host_cpu_enter(0);
	return failure[0] ? failure : NULL;
}
