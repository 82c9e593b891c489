/*
 * Per-CPU identity. Until lab 4 brings up the other processors there is only
 * CPU 0; lab 4 replaces cpu_id() with a GS-based lookup.
 */
#ifndef KERN_CPU_H
#define KERN_CPU_H

#include "lib/types.h"

#define MAX_CPUS 8

/* cpu_id - index of the running CPU (0 = the bootstrap processor). */
int cpu_id(void);

/* cpu_has_* - CPUID feature tests, cached by cpu_features_init(). */
void cpu_features_init(void);
bool cpu_has_1g_pages(void);
bool cpu_has_smep(void);
bool cpu_has_smap(void);
bool cpu_has_pcid(void);
bool cpu_has_invpcid(void);

#endif
