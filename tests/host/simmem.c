/* Simulated physical memory for the page-table walker's host tests (see simmem.h). */
#include <check.h>

#include "lib/string.h"
#include "tests/host/simmem.h"

static pte_t frames[SIM_FRAMES][PT_ENTRIES] __attribute__((aligned(4096)));
static bool allocated[SIM_FRAMES];
static size_t nfree;
static long fail_budget = -1;

void simmem_reset(void)
{
	memset(allocated, 0, sizeof(allocated));
	nfree = SIM_FRAMES;
	fail_budget = -1;
}

size_t simmem_free_count(void)
{
	return nfree;
}

void simmem_fail_after(long n)
{
	fail_budget = n < 0 ? -1 : n;
}

/* The frame number of pa, or -1 when pa is not a frame of the simulated memory. */
static long frame_index(paddr_t pa)
{
	if (pa < SIM_BASE_PA || pa >= SIM_BASE_PA + SIM_FRAMES * PAGE_SIZE ||
	    (pa & (PAGE_SIZE - 1)))
		return -1;
	return (long)((pa - SIM_BASE_PA) / PAGE_SIZE);
}

bool simmem_is_allocated(paddr_t pa)
{
	long i = frame_index(pa);

	return i >= 0 && allocated[i];
}

pte_t *pt_table(paddr_t pa)
{
	long i = frame_index(pa);

	if (i < 0 || !allocated[i])
		ck_abort_msg("pt_table(%#lx): not an allocated frame of the simulated memory "
			     "(frames are %#lx..%#lx)",
			     pa, SIM_BASE_PA, SIM_BASE_PA + SIM_FRAMES * PAGE_SIZE);
	return frames[i];
}

paddr_t pt_frame_alloc(void)
{
	if (fail_budget == 0)
		return 0;
	for (long i = 0; i < SIM_FRAMES; i++) {
		if (allocated[i])
			continue;
		if (fail_budget > 0)
			fail_budget--;
		allocated[i] = true;
		nfree--;
		/* Garbage, as in real memory: a walker must zero its new tables. */
		memset(frames[i], SIM_POISON, PAGE_SIZE);
		return SIM_BASE_PA + (paddr_t)i * PAGE_SIZE;
	}
	return 0;
}

void pt_frame_free(paddr_t pa)
{
	long i = frame_index(pa);

	if (i < 0 || !allocated[i])
		ck_abort_msg("pt_frame_free(%#lx): not an allocated frame (double free?)", pa);
	allocated[i] = false;
	nfree++;
	memset(frames[i], SIM_POISON, PAGE_SIZE);
}

paddr_t simmem_table(void)
{
	paddr_t pa = pt_frame_alloc();

	ck_assert_msg(pa != 0, "simulated memory exhausted while building a test table");
	memset(pt_table(pa), 0, PAGE_SIZE);
	return pa;
}
