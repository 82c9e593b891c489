/*
 * A randomized model test of kern/aspace.c, shared by the in-kernel test
 * lab2.model and the host tests (tests/host/test_aspace.c): thousands of
 * random map/alloc/reserve/unmap/protect/fault calls on one space, each
 * compared with a simple array of what every page of a window should be,
 * down to the page size of each leaf and the number of frames in use.
 */
#ifndef KERN_TEST_LAB2_MODEL_H
#define KERN_TEST_LAB2_MODEL_H

#include "kern/aspace.h"
#include "lib/random.h"

/* What differs between the kernel and the host. */
struct as_model_env {
	size_t (*free_frames)(void); /* frames free right now */
	bool (*frame_allocated)(paddr_t pa); /* whether pa is an allocated frame */
	void (*fail_after)(long n); /* the next n allocations succeed; -1: all */
	/*
	 * Optional (NULL on the host): watch(as) once the space exists and
	 * watch(NULL) just before it is destroyed; check() every
	 * AS_MODEL_CHECK_EVERY operations and before the space is destroyed.
	 * The kernel's memory viewer (kern/memview.h) checks the whole machine
	 * with the space in it, which the model's own checks do not look at.
	 */
	void (*watch)(struct aspace *as);
	void (*check)(void);
};

#define AS_MODEL_CHECK_EVERY 2500

/*
 * as_model_run - create a space, run nops random operations drawn from rng
 * in a window across a PML4 boundary, checking each against the model, and
 * destroy the space. Returns 0, or -1 with the first discrepancy described
 * in msg (the space is destroyed either way, unless the failure was in
 * creating it).
 */
int as_model_run(const struct as_model_env *env, struct rng *rng, int nops, char *msg, size_t size);

#endif
