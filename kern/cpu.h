/*
 * Per-CPU identity and CPU features. cpu_id() reads the per-CPU data that
 * GS points at (kern/percpu.h); kern/smp.c brings up the other processors.
 */
#ifndef KERN_CPU_H
#define KERN_CPU_H

#include "lib/types.h"

#define MAX_CPUS 8

/*
 * cpu_id - index of the running CPU (0 = the bootstrap processor). With
 * interrupts on the answer can be stale by the time you use it, but no code
 * here migrates between CPUs, so it is exact.
 */
int cpu_id(void);

/* cpu_has_* - CPUID feature tests, cached by cpu_features_init(). */
void cpu_features_init(void);
bool cpu_has_1g_pages(void);
bool cpu_has_smep(void);
bool cpu_has_smap(void);
bool cpu_has_pcid(void);
bool cpu_has_invpcid(void);

#endif
