/* The address-space hooks over simulated physical memory (see aspace_host.h). */
#include <check.h>

#include "kern/test/hooks.h"
#include "lib/string.h"
#include "tests/host/aspace_host.h"
#include "tests/host/simmem.h"

struct as_trace *as_trace_current;

static struct aspace kernel_space;
static unsigned long flushes;

void aspace_host_reset(void)
{
	pte_t *pml4;

	simmem_reset();
	as_trace_current = NULL;
	flushes = 0;
	memset(&kernel_space, 0, sizeof(kernel_space));
	kernel_space.kernel = true;
	kernel_space.pml4 = simmem_table();
	pml4 = pt_table(kernel_space.pml4);
	for (int i = PT_ENTRIES / 2; i < PT_ENTRIES; i++)
		pml4[i] = simmem_table() | PTE_P | PTE_W;
}

unsigned long aspace_host_flushes(void)
{
	return flushes;
}

struct aspace *aspace_kernel(void)
{
	return &kernel_space;
}

paddr_t as_page_alloc(void)
{
	paddr_t pa = pt_frame_alloc();

	if (pa)
		memset(pt_table(pa), 0, PAGE_SIZE);
	return pa;
}

void as_page_free(paddr_t pa)
{
	as_trace_record(AS_EV_FREE_PAGE, pa, 0);
	pt_frame_free(pa);
}

void as_table_free(paddr_t pa)
{
	as_trace_record(AS_EV_FREE_TABLE, pa, 0);
	pt_frame_free(pa);
}

void as_tlb_flush(struct aspace *as, uint64_t start, uint64_t end, unsigned stride_shift)
{
	ck_assert_msg(stride_shift == 12 || stride_shift == 21 || stride_shift == 30,
		      "as_tlb_flush: stride_shift %u is not a leaf size", stride_shift);
	ck_assert_msg(as->lock.locked, "as_tlb_flush without the space's lock");
	as_trace_record(AS_EV_FLUSH, start, end);
	flushes++;
}

void as_lock(struct aspace *as)
{
	ck_assert_msg(!as->lock.locked, "as_lock: the space's lock is already held");
	as->lock.locked = 1;
}

void as_unlock(struct aspace *as)
{
	ck_assert_msg(as->lock.locked, "as_unlock: the lock is not held");
	as->lock.locked = 0;
}
