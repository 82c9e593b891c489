/*
 * Simulated physical memory for the host tests of the page-table walker: a
 * few MiB of frames at a physical base that is not 0, an allocator with a
 * failure hook, and the walker's hooks (pt_table, pt_frame_alloc,
 * pt_frame_free) over them. A hook called with an address that is not an
 * allocated simulated frame fails the running Check test, instead of
 * scribbling over the test program.
 */
#ifndef TESTS_HOST_SIMMEM_H
#define TESTS_HOST_SIMMEM_H

#include "kern/pgtable.h"

#define SIM_FRAMES 4096
#define SIM_BASE_PA 0x40000000UL /* 1 GiB: pa 0 is never a frame */
#define SIM_POISON 0x6b /* fills every frame pt_frame_alloc hands out */

/* simmem_reset - every frame free, no failure armed. Call at the start of each test. */
void simmem_reset(void);

/* simmem_free_count - frames free right now. */
size_t simmem_free_count(void);

/* simmem_fail_after - the next n allocations succeed, later ones fail; n < 0: never fail. */
void simmem_fail_after(long n);

/* simmem_is_allocated - whether pa is the start of an allocated simulated frame. */
bool simmem_is_allocated(paddr_t pa);

/* simmem_table - a zeroed table for a test to build by hand (fails the test when out). */
paddr_t simmem_table(void);

#endif
