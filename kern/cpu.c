/*
 * This CPU's index (through the per-CPU data at GS) and the CPUID features
 * the kernel asks about (1 GiB pages, SMEP, SMAP, PCID, INVPCID).
 */
#include "kern/cpu.h"
#include "kern/percpu.h"
#include "kern/x86.h"

static uint32_t ext_edx, leaf1_ecx, leaf7_ebx;

/* One load through GS (kern/percpu.h); valid from the first line of kmain. */
int cpu_id(void)
{
	int id;

	asm volatile("movl %%gs:%c1, %0" : "=r"(id) : "i"(offsetof(struct percpu, id)));
	return id;
}

void cpu_features_init(void)
{
	uint32_t a, b, c, d;

	cpuid(1, 0, &a, &b, &leaf1_ecx, &d);
	cpuid(0, 0, &a, &b, &c, &d);
	if (a >= 7)
		cpuid(7, 0, &a, &leaf7_ebx, &c, &d);
	cpuid(0x80000001, 0, &a, &b, &c, &ext_edx);
}

bool cpu_has_1g_pages(void)
{
	return ext_edx & (1u << 26);
}

bool cpu_has_smep(void)
{
	return leaf7_ebx & (1u << 7);
}

bool cpu_has_smap(void)
{
	return leaf7_ebx & (1u << 20);
}

bool cpu_has_pcid(void)
{
	return leaf1_ecx & (1u << 17);
}

bool cpu_has_invpcid(void)
{
	return leaf7_ebx & (1u << 10);
}
