/*
 * TLB shootdown (lab 4; handouts/lab4.md).
 *
 * The protocol, for an initiator I and the CPUs T that may cache the
 * translations being changed:
 *
 *   I: change the entries; fill its own request (this_cpu()->tlb_req) with
 *      the range and with pending = T; set its bit in each target's
 *      tlb_pending_from; send each target one IPI.
 *   I: flush its own TLB directly (no IPI to itself).
 *   T: in the IPI handler, take the requests posted to it, invalidate each
 *      range, THEN clear its bit in that request's pending (the ack).
 *   I: wait until pending is 0, serving requests posted to itself meanwhile
 *      (another CPU may be waiting for I); after it returns, the old frames
 *      may be freed.
 *
 * Each CPU has one request and at most one shootdown in flight, so no queue
 * can overflow: a target finds its work in the initiators' requests.
 */
#include "kern/aspace.h"
#include "kern/kvm.h"
#include "kern/lapic.h"
#include "kern/panic.h"
#include "kern/smp.h"
#include "kern/test/hooks.h"
#include "kern/tlb.h"
#include "kern/trap.h"
#include "kern/x86.h"

/*
 * The static helpers below are __unused only because the lab-4 stubs do not
 * call them yet; the solution uses every one.
 */

struct tlb_timeout_probe tlb_test_timeout = { .armed = false, .cpu = -1 };
unsigned tlb_ack_timeout_ms = 3000;

/* Counters are bumped from interrupt handlers too: one locked add each. */
#define STAT_INC(field) __atomic_fetch_add(&this_cpu()->tlb.field, 1, __ATOMIC_RELAXED)

/*
 * Count a flush, then PAUSE. Under SMP=det (round-robin TCG) CPUs interleave
 * only where one executes PAUSE or HLT; pausing after each flush lets the
 * other CPUs run between two flushes of a request, so that the tests can see
 * an acknowledgement sent before the flushes it promises. On hardware a
 * PAUSE costs less than the invalidation before it.
 */
static void count_flush(uint64_t *counter)
{
	__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
	pause();
}

void tlb_invlpg(uint64_t va)
{
	invlpg(va);
	count_flush(&this_cpu()->tlb.invlpg);
}

void tlb_flush_nonglobal(void)
{
	write_cr3(read_cr3());
	count_flush(&this_cpu()->tlb.full_flush);
}

void tlb_flush_global(void)
{
	local_flush_tlb_all();
	count_flush(&this_cpu()->tlb.global_flush);
}

void tlb_send_ipi(int cpu)
{
	smp_send_ipi(cpu, VEC_TLB_FLUSH);
	STAT_INC(ipi_sent);
}

bool tlb_report_timeout(int cpu, const struct tlb_request *req)
{
	if (tlb_test_timeout.armed) {
		tlb_test_timeout.cpu = cpu;
		tlb_test_timeout.armed = false;
		return true;
	}
	panic("tlb: cpu %d did not acknowledge a shootdown from cpu %d ([%#lx, %#lx)) "
	      "within %u ms",
	      cpu, cpu_id(), req->start, req->end, tlb_ack_timeout_ms);
}

/*
 * flush_local - carry out req on this CPU: one invlpg per page of the
 * request's stride (a huge page is one page of its size) up to
 * TLB_FLUSH_CEILING pages, else one full flush, which for kernel (global)
 * mappings must drop global entries.
 */
static void __unused flush_local(const struct tlb_request *req)
{
	/* LAB 4 BEGIN step 1: invlpg per page up to the ceiling, else a full flush (global if req->global) (section 3) */
	uint64_t npages = (req->end - req->start) >> req->stride_shift;

	if (npages > TLB_FLUSH_CEILING) {
		if (req->global)
			tlb_flush_global();
		else
			tlb_flush_nonglobal();
		return;
	}
	/* Not va < end: a range that runs to the top of memory ends at 0. */
	for (uint64_t va = req->start; va != req->end; va += 1UL << req->stride_shift)
		tlb_invlpg(va);
	/* LAB 4 STUB
	LAB 4 END */
}

void tlb_serve_requests(void)
{
	/* LAB 4 BEGIN step 2: take the posted requests (atomically), flush each, and only then acknowledge (section 3) */
	struct percpu *me = this_cpu();
	uint64_t from = __atomic_exchange_n(&me->tlb_pending_from, 0, __ATOMIC_ACQUIRE);

	while (from) {
		struct tlb_request *req = &percpu_of(__builtin_ctzll(from))->tlb_req;

		from &= from - 1;
		flush_local(req);
		STAT_INC(requests_served);
		/* Release: our invalidation happens before the initiator sees the ack. */
		__atomic_fetch_and(&req->pending, ~(1UL << me->id), __ATOMIC_RELEASE);
	}
	/* LAB 4 STUB
	LAB 4 END */
}

/*
 * wait_for_acks - spin until every target acknowledged req. Interrupts are
 * off, so serve the requests posted to this CPU meanwhile: a target may be
 * an initiator itself, waiting for us. Panics (tlb_report_timeout) after
 * tlb_ack_timeout_ms.
 */
static void __unused wait_for_acks(struct tlb_request *req)
{
	/* LAB 4 BEGIN step 3: wait for pending == 0, serving our own requests; time out naming a CPU (section 4) */
	uint64_t start = rdtsc(), limit = tlb_ack_timeout_ms * tsc_per_ms();
	uint64_t left;

	while ((left = __atomic_load_n(&req->pending, __ATOMIC_ACQUIRE)) != 0) {
		tlb_serve_requests();
		if (rdtsc() - start > limit && tlb_report_timeout(__builtin_ctzll(left), req))
			return;
		pause();
	}
	/* LAB 4 STUB
	LAB 4 END */
}

/*
 * post_request - publish req to every CPU in targets and send each one IPI.
 * The request must be complete before any target can see its bit.
 */
static void __unused post_request(struct tlb_request *req, uint64_t targets)
{
	/* LAB 4 BEGIN step 3: set pending, then our bit in each target's tlb_pending_from, then one IPI each (section 3) */
	uint64_t me = 1UL << cpu_id();

	__atomic_store_n(&req->pending, targets, __ATOMIC_RELEASE);
	for (uint64_t t = targets; t; t &= t - 1) {
		int cpu = __builtin_ctzll(t);

		__atomic_fetch_or(&percpu_of(cpu)->tlb_pending_from, me, __ATOMIC_RELEASE);
		tlb_send_ipi(cpu);
	}
	/* LAB 4 STUB
	LAB 4 END */
}

void tlb_shootdown(struct aspace *as, uint64_t start, uint64_t end, unsigned stride_shift)
{
	/* Stay on this CPU, and keep our request to ourselves until it is posted. */
	uint64_t rflags = read_rflags(), stride = 1UL << stride_shift;
	struct percpu *me;

	/* Whole leaves: one invlpg per stride then covers the range. */
	start &= ~(stride - 1);
	end = (end + stride - 1) & ~(stride - 1);
	cli();
	me = this_cpu();
	STAT_INC(shootdowns);
	/* LAB 4 BEGIN step 4: fill me->tlb_req; targets = the other CPUs that may cache as (all for the kernel's space); post, flush here, wait (section 3) */
	struct tlb_request *req = &me->tlb_req;
	uint64_t mine = 1UL << me->id, others = smp_online_mask() & ~mine;
	uint64_t loaded, targets;

	req->start = start;
	req->end = end;
	req->stride_shift = stride_shift;
	req->global = as->kernel;
	/*
	 * Full barrier: our PTE stores before the load of as->cpus. A CPU that
	 * joins as sets its bit with a locked op before loading CR3, so either
	 * we see its bit or it sees the new entries.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	loaded = __atomic_load_n(&as->cpus, __ATOMIC_SEQ_CST);
	targets = as->kernel ? others : loaded & others;
	if (targets)
		post_request(req, targets);
	if (as->kernel || (loaded & mine))
		flush_local(req);
	if (targets)
		wait_for_acks(req);
	/* LAB 4 STUB
	(void)me;
	local_flush_tlb_all();
	LAB 4 END */
	if (rflags & RFLAGS_IF)
		sti();
}

/* The flush IPI: serve whatever was posted (several initiators may have). */
static void tlb_ipi(struct trapframe *tf)
{
	STAT_INC(ipi_received);
	tlb_serve_requests();
	lapic_eoi();
}

void tlb_init(void)
{
	trap_register_irq(VEC_TLB_FLUSH, tlb_ipi);
	spin_set_relax_hook(tlb_serve_requests);
}
