/*
 * Per-CPU data: the array of struct percpu and percpu_init, which points
 * this CPU's GS base at its own entry.
 */
#include "kern/percpu.h"
#include "kern/x86.h"

struct percpu percpu[MAX_CPUS];

void percpu_init(int cpu, uint32_t apic_id)
{
	struct percpu *p = &percpu[cpu];

	p->self = p;
	p->id = cpu;
	p->apic_id = apic_id;
	wrmsr(MSR_GS_BASE, (uint64_t)p);
	wrmsr(MSR_KERNEL_GS_BASE, (uint64_t)p);
}
