/*
 * Helpers shared by the SMP tests (kern/test/smp.c) and lab 4's
 * (kern/test/lab4.c): running work on the other CPUs, and probes that any
 * CPU may use (ktest_probe_* serve the BSP's test only: one catcher).
 */
#ifndef KERN_TEST_SMPTEST_H
#define KERN_TEST_SMPTEST_H

#include "kern/percpu.h"

/* A value that is poison in every byte, as frame_free leaves a frame. */
#define POISON64 0x6b6b6b6b6b6b6b6bUL

/*
 * smptest_probe_read / _write - one 8-byte access to va on the calling CPU.
 * Return true when it worked, false when it faulted (any CPU, any context).
 */
bool smptest_probe_read(uint64_t va, uint64_t *val);
bool smptest_probe_write(uint64_t va, uint64_t val);

/*
 * smptest_run_others - smp_call(fn, arg) on every other online CPU; fails
 * the test if one is busy. Registers a cleanup that stops nothing but waits
 * for them, so call smptest_join first in the normal path.
 */
void smptest_run_others(void (*fn)(void *), void *arg);
/* smptest_join - wait up to ms for every other CPU's work; false on timeout. */
bool smptest_join(unsigned ms);

/* smptest_need_cpus - fail the test unless at least n CPUs are online. */
void smptest_need_cpus(int n);

/* A snapshot of every CPU's counters. */
struct stats_snap {
	struct tlb_stats cpu[MAX_CPUS];
};
void smptest_snap(struct stats_snap *s);
/* smptest_delta - CPU cpu's counter `field` now minus in *s. */
#define SMPTEST_DELTA(s, c, field) (percpu_of(c)->tlb.field - (s)->cpu[c].field)

/*
 * smptest_preempt_in - interrupt this CPU once, ns nanoseconds from now, with
 * a handler that executes PAUSE. In SMP=det (round-robin TCG) a CPU runs until
 * it pauses or halts, so the other CPUs could never act in the middle of a
 * loop that does not pause (a copy in progress); this lets them, at a point
 * that is the same every run. This CPU only.
 */
void smptest_preempt_in(unsigned ns);

/* smptest_ms - milliseconds since TSC value t0. */
uint64_t smptest_ms(uint64_t t0);

#endif
