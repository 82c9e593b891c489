/*
 * Start the application processors that the ACPI MADT lists (INIT, STARTUP
 * and the trampoline), and smp_call() to hand one a function to run.
 */
#include "kern/acpi.h"
#include "kern/console.h"
#include "kern/frame.h"
#include "kern/gdt.h"
#include "kern/kvm.h"
#include "kern/lapic.h"
#include "kern/panic.h"
#include "kern/percpu.h"
#include "kern/smp.h"
#include "kern/tlb.h"
#include "kern/trap.h"
#include "kern/x86.h"
#include "lib/errno.h"
#include "lib/string.h"

#define AP_STACK_SIZE 16384
#define AP_START_TIMEOUT_MS 1000
#define PIT_HZ 1193182
#define PIT_CAL_MS 10

/* Filled for each AP at ap_tramp_params (kern/trampoline.S), in that order. */
struct tramp_params {
	uint64_t cr3;
	uint64_t stack;
	uint64_t entry;
	uint64_t cpu;
};

extern char ap_tramp_start[], ap_tramp_end[], ap_tramp_params[];

static uint8_t ap_stacks[MAX_CPUS][AP_STACK_SIZE] __attribute__((aligned(16)));
static struct acpi_cpus cpus;
static volatile int ncpus_online = 1;
static volatile uint64_t online_mask = 1;
static uint64_t cycles_per_ms = 1000000; /* ~1 GHz until calibrated */

/* What every AP copies from the BSP, so all CPUs run in the same mode. */
static struct {
	uint64_t cr0, cr4, efer, star, lstar, sfmask;
} bsp_state;

int smp_ncpus(void)
{
	return ncpus_online;
}

uint64_t smp_online_mask(void)
{
	return online_mask;
}

uint64_t tsc_per_ms(void)
{
	return cycles_per_ms;
}

/* Count TSC ticks over PIT_CAL_MS of PIT channel 2 (mode 0, polled through port 0x61). */
static uint64_t calibrate_tsc(void)
{
	uint16_t count = PIT_HZ / (1000 / PIT_CAL_MS);
	uint8_t gate = inb(0x61);
	uint64_t t0;

	outb(0x61, (gate & ~0x02) | 0x01); /* gate high, speaker off */
	outb(0x43, 0xb0);		   /* channel 2, lo/hi byte, mode 0 */
	outb(0x42, count & 0xff);
	outb(0x42, count >> 8);
	t0 = rdtsc();
	while (!(inb(0x61) & 0x20))
		pause();
	return (rdtsc() - t0) / PIT_CAL_MS;
}

static void delay_us(uint64_t us)
{
	uint64_t end = rdtsc() + us * cycles_per_ms / 1000;

	while (rdtsc() < end)
		pause();
}

void smp_send_ipi(int cpu, uint8_t vector)
{
	lapic_send_ipi(percpu[cpu].apic_id, vector);
}

/* VEC_CALL only wakes the AP from hlt; its idle loop finds the work. */
static void call_ipi(struct trapframe *tf)
{
	lapic_eoi();
}

static void spurious_irq(struct trapframe *tf)
{
	/* no EOI for the spurious vector */
}

int smp_call(int cpu, void (*fn)(void *), void *arg)
{
	struct percpu *p = &percpu[cpu];

	if (cpu < 0 || cpu >= MAX_CPUS || cpu == cpu_id() || !p->online)
		return -EINVAL;
	if (p->call_state != CALL_IDLE)
		return -EBUSY;
	p->call_fn = fn;
	p->call_arg = arg;
	__atomic_store_n(&p->call_state, CALL_POSTED, __ATOMIC_RELEASE);
	smp_send_ipi(cpu, VEC_CALL);
	return 0;
}

int smp_call_wait(int cpu, unsigned ms)
{
	struct percpu *p = &percpu[cpu];
	uint64_t start = rdtsc(), limit = ms * cycles_per_ms;

	while (__atomic_load_n(&p->call_state, __ATOMIC_ACQUIRE) != CALL_DONE) {
		if (p->call_state == CALL_IDLE)
			return 0;
		if (rdtsc() - start > limit)
			return -ETIMEDOUT;
		pause();
	}
	p->call_state = CALL_IDLE;
	return 0;
}

/*
 * The AP's life after start-up: run posted work with interrupts on, else
 * sleep. "sti; hlt" is atomic (sti's interrupt shadow), so a wake-up IPI
 * that arrives after the check still ends the hlt.
 */
static void __noreturn ap_idle(struct percpu *me)
{
	for (;;) {
		cli();
		if (__atomic_load_n(&me->call_state, __ATOMIC_ACQUIRE) == CALL_POSTED) {
			me->call_state = CALL_RUNNING;
			sti();
			me->call_fn(me->call_arg);
			__atomic_store_n(&me->call_state, CALL_DONE, __ATOMIC_RELEASE);
			continue;
		}
		asm volatile("sti; hlt" ::: "memory");
	}
}

void smp_ap_entry(int cpu)
{
	/* Leave the trampoline's tables for the kernel's, in the BSP's mode. */
	write_cr3(kernel_pml4_pa());
	write_cr0(bsp_state.cr0);
	write_cr4(bsp_state.cr4);
	wrmsr(MSR_EFER, bsp_state.efer);
	wrmsr(MSR_STAR, bsp_state.star);
	wrmsr(MSR_LSTAR, bsp_state.lstar);
	wrmsr(MSR_SFMASK, bsp_state.sfmask);
	percpu_init(cpu, cpus.apic_id[cpu]);
	gdt_init_cpu(cpu);
	trap_init_cpu();
	lapic_init(cpus.lapic_pa);
	percpu[cpu].stack_top = (uint64_t)(ap_stacks[cpu] + AP_STACK_SIZE);
	kprintf("smp: cpu %d (apic id %u) online\n", cpu, lapic_id());
	__atomic_fetch_or(&online_mask, 1UL << cpu, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&ncpus_online, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&percpu[cpu].online, true, __ATOMIC_RELEASE);
	ap_idle(&percpu[cpu]);
}

/*
 * A PML4 for the trampoline: the kernel's, plus the direct map's PDPT at
 * index 0 so that low memory (the trampoline itself) is mapped 1:1 when the
 * AP turns paging on. Must lie below 4 GiB: 32-bit code loads it.
 */
static paddr_t make_trampoline_pml4(void)
{
	paddr_t pa = frame_alloc();
	uint64_t *pml4;

	if (!pa)
		panic("smp: no frame for the trampoline page table");
	pml4 = pa2kva(pa);
	memcpy(pml4, boot_pml4, PAGE_SIZE);
	pml4[0] = boot_pml4[256];
	return pa;
}

static void save_bsp_state(void)
{
	bsp_state.cr0 = read_cr0();
	bsp_state.cr4 = read_cr4();
	bsp_state.efer = rdmsr(MSR_EFER);
	bsp_state.star = rdmsr(MSR_STAR);
	bsp_state.lstar = rdmsr(MSR_LSTAR);
	bsp_state.sfmask = rdmsr(MSR_SFMASK);
}

static bool wait_online(int cpu, unsigned ms)
{
	uint64_t start = rdtsc();

	while (!__atomic_load_n(&percpu[cpu].online, __ATOMIC_ACQUIRE)) {
		if (rdtsc() - start > ms * cycles_per_ms)
			return false;
		pause();
	}
	return true;
}

/* INIT, 10 ms, STARTUP, 200 us, STARTUP if needed (Intel SDM vol. 3, 8.4.4.1). */
static void start_ap(int cpu, paddr_t tramp_pml4)
{
	struct tramp_params *tp =
		pa2kva(TRAMP_PA + (paddr_t)(ap_tramp_params - ap_tramp_start));
	uint32_t apic = cpus.apic_id[cpu];

	tp->cr3 = tramp_pml4;
	tp->stack = (uint64_t)(ap_stacks[cpu] + AP_STACK_SIZE);
	tp->entry = (uint64_t)smp_ap_entry;
	tp->cpu = (uint64_t)cpu;
	lapic_send_init(apic);
	delay_us(10000);
	lapic_send_sipi(apic, TRAMP_PA >> PAGE_SHIFT);
	delay_us(200);
	if (!percpu[cpu].online)
		lapic_send_sipi(apic, TRAMP_PA >> PAGE_SHIFT);
	if (!wait_online(cpu, AP_START_TIMEOUT_MS))
		kprintf("smp: cpu %d (apic id %u) did not come online; continuing without it\n",
			cpu, apic);
}

/* Put the BSP first: CPU 0 is whoever runs this, whatever the MADT order. */
static void order_bsp_first(void)
{
	uint32_t bsp = lapic_id();

	for (int i = 0; i < cpus.ncpus; i++) {
		if (cpus.apic_id[i] == bsp) {
			cpus.apic_id[i] = cpus.apic_id[0];
			cpus.apic_id[0] = bsp;
			return;
		}
	}
	panic("smp: the BSP's APIC id %u is not in the MADT", bsp);
}

void smp_init(void)
{
	paddr_t tramp_pml4;

	if (acpi_find_cpus(&cpus) < 0 || cpus.ncpus < 2)
		return;
	cycles_per_ms = calibrate_tsc();
	lapic_init(cpus.lapic_pa);
	order_bsp_first();
	percpu[0].apic_id = cpus.apic_id[0];
	percpu[0].online = true;
	percpu[0].stack_top = (uint64_t)boot_stack_top;
	tlb_init();
	trap_register_irq(VEC_CALL, call_ipi);
	trap_register_irq(VEC_SPURIOUS, spurious_irq);
	if (cpus.ignored)
		kprintf("smp: using %d CPUs, ignoring %d more (MAX_CPUS)\n", MAX_CPUS,
			cpus.ignored);
	kprintf("smp: %d CPUs, local APIC at %#lx, TSC %lu kHz; starting the APs\n",
		cpus.ncpus, cpus.lapic_pa, cycles_per_ms);
	save_bsp_state();
	memcpy(pa2kva(TRAMP_PA), ap_tramp_start, (size_t)(ap_tramp_end - ap_tramp_start));
	tramp_pml4 = make_trampoline_pml4();
	for (int cpu = 1; cpu < cpus.ncpus; cpu++)
		start_ap(cpu, tramp_pml4);
	frame_free(tramp_pml4);
	kprintf("smp: %d of %d CPUs online\n", smp_ncpus(), cpus.ncpus);
	/* Only IPIs can arrive (8259s and APIC timers masked); the BSP must answer them too. */
	sti();
}
