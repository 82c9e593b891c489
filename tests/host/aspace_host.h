/*
 * The address-space hooks on the host (tests/host/aspace_host.c): data frames
 * and tables from the simulated physical memory (simmem.c), a simulated
 * kernel space whose 256 kernel-half PML4 entries are present as after
 * kvm_init, a lock that only checks it is used in pairs, and flushes that
 * are only counted (and traced, kern/aspace.h).
 */
#ifndef TESTS_HOST_ASPACE_HOST_H
#define TESTS_HOST_ASPACE_HOST_H

#include "kern/aspace.h"

/*
 * aspace_host_reset - simmem_reset, then a fresh simulated kernel space. Its
 * tables stay allocated: take free-frame baselines after this call.
 */
void aspace_host_reset(void);

/* aspace_host_flushes - how many times as_tlb_flush ran since the reset. */
unsigned long aspace_host_flushes(void);

#endif
