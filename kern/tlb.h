/*
 * TLB shootdown (lab 4). Changing a page-table entry does not change the
 * translations other CPUs have cached: every CPU that may hold the old one
 * must invalidate it before the frame behind it is reused. tlb_shootdown
 * flushes this CPU directly and asks exactly the other CPUs that have the
 * space loaded, by IPI, waiting until each has acknowledged.
 *
 * Counters (struct tlb_stats in kern/percpu.h) record every flush and IPI;
 * the tests read them, because under TCG a full flush also drops global
 * entries and some mistakes are only visible there.
 */
#ifndef KERN_TLB_H
#define KERN_TLB_H

#include "kern/percpu.h"

struct aspace;

/*
 * More pages than this: one full flush instead of an invlpg each. The two
 * costs differ in kind. An invlpg is paid at once, per page (on the order
 * of a hundred nanoseconds on recent x86 CPUs), so a long range of them
 * grows without bound. A full flush is one instruction, but every entry it
 * drops, including the ones nobody changed, is later paid for by a page walk
 * on its next use. Most unmaps and protects change a few pages, and 33
 * invlpgs bound the ranged case at a few microseconds; Linux chose the same
 * number (its tlb_single_page_flush_ceiling) from measurements.
 */
#define TLB_FLUSH_CEILING 33

/*
 * An initiator waits this long for acknowledgements, then panics. Default
 * 3000; lab4.timeout lowers it so as not to wait seconds for it to fire.
 */
extern unsigned tlb_ack_timeout_ms;

/*
 * tlb_shootdown - make every CPU drop its translations of as in [start, end),
 * where the leaves mapped are 1 << stride_shift bytes (PAGE_SHIFT, or 21 /
 * 30 where only huge pages were changed: a huge page is one page of its
 * size), as Linux's flush_tlb_mm_range(). The range is widened to whole
 * leaves. For aspace_kernel() that is every CPU online and global entries
 * too. Call after changing the entries and before freeing what they mapped;
 * any locks may be held and interrupts may be off. Returns when every CPU
 * concerned has invalidated; panics naming a CPU that does not acknowledge
 * within tlb_ack_timeout_ms.
 */
void tlb_shootdown(struct aspace *as, uint64_t start, uint64_t end, unsigned stride_shift);

/*
 * tlb_serve_requests - carry out (and acknowledge) the flush requests other
 * CPUs posted to this CPU. Called by the IPI handler, and by any CPU that
 * spins, interrupts off, waiting for something (a lock, acknowledgements).
 */
void tlb_serve_requests(void);

/* tlb_init - register the IPI vector and the spinlock relax hook. BSP, once. */
void tlb_init(void);

/* ---- Primitives for kern/tlb.c: each flushes this CPU and counts it ------ */

/* tlb_invlpg - invalidate the page containing va (global entry included). */
void tlb_invlpg(uint64_t va);
/* tlb_flush_nonglobal - reload CR3: drops every entry except global ones. */
void tlb_flush_nonglobal(void);
/* tlb_flush_global - toggle CR4.PGE: drops every entry, global ones included. */
void tlb_flush_global(void);
/* tlb_send_ipi - send the flush IPI to CPU cpu (counted as sent). */
void tlb_send_ipi(int cpu);
/*
 * tlb_report_timeout - CPU cpu has not acknowledged in time: panic naming
 * it and the request. Only when a test armed tlb_test_timeout
 * (kern/test/hooks.h) does it return (true): the caller then stops waiting
 * and returns.
 */
bool tlb_report_timeout(int cpu, const struct tlb_request *req);


#endif
