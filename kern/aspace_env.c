/*
 * The kernel's side of the address-space hooks (kern/aspace.h): data frames
 * from the frame allocator, TLB flushes on this CPU, a spinlock per space,
 * the kernel's own space, switching spaces, and the page-fault handler that
 * fills demand-zero pages. Lab 4 makes as_tlb_flush reach the other CPUs.
 */
#include "kern/aspace.h"
#include "kern/cpu.h"
#include "kern/frame.h"
#include "kern/kvm.h"
#include "kern/panic.h"
#include "kern/test/hooks.h"
#include "kern/tlb.h"
#include "kern/trap.h"
#include "kern/x86.h"

struct as_trace *as_trace_current;

static struct aspace kernel_space = {
	.kernel = true,
	.lock = SPINLOCK_INIT("kernel aspace"),
};
/* The space each CPU has loaded; NULL means the kernel's. */
static struct aspace *loaded[MAX_CPUS];

struct aspace *aspace_kernel(void)
{
	return &kernel_space;
}

struct aspace *aspace_current(void)
{
	struct aspace *as = loaded[cpu_id()];

	return as ? as : &kernel_space;
}

void aspace_activate(struct aspace *as)
{
	uint64_t rflags = read_rflags();
	int cpu;
	struct aspace *old;

	/* No migration or interrupt between reading cpu_id() and loading CR3. */
	cli();
	cpu = cpu_id();
	old = aspace_current();
	if (old != as) {
		/* Join before loading CR3: a flush of as from now on must reach us. */
		__atomic_fetch_or(&as->cpus, 1UL << cpu, __ATOMIC_SEQ_CST);
		write_cr3(as->pml4);
		loaded[cpu] = as == &kernel_space ? NULL : as;
		__atomic_fetch_and(&old->cpus, ~(1UL << cpu), __ATOMIC_SEQ_CST);
	}
	if (rflags & RFLAGS_IF)
		sti();
}

paddr_t as_page_alloc(void)
{
	return frame_alloc_zeroed();
}

void as_page_free(paddr_t pa)
{
	as_trace_record(AS_EV_FREE_PAGE, pa, 0);
	frame_free(pa);
}

void as_table_free(paddr_t pa)
{
	as_trace_record(AS_EV_FREE_TABLE, pa, 0);
	pt_frame_free(pa);
}

void as_tlb_flush(struct aspace *as, uint64_t start, uint64_t end, unsigned stride_shift)
{
	as_trace_record(AS_EV_FLUSH, start, end);
	/* Lab 4: this CPU if it has as loaded, and every other CPU that does. */
	tlb_shootdown(as, start, end, stride_shift);
}

void as_lock(struct aspace *as)
{
	uint64_t flags = spin_lock_irqsave(&as->lock);

	as->lock_flags = flags;
}

void as_unlock(struct aspace *as)
{
	spin_unlock_irqrestore(&as->lock, as->lock_flags);
}

/*
 * reserved_page_fault - the #PF handler: a fault on a reserved page of the
 * space that owns the address gets its frame and the access is retried.
 */
static bool reserved_page_fault(struct trapframe *tf)
{
	uint64_t va = read_cr2();
	struct aspace *as = va >= KERNEL_HALF ? aspace_kernel() : aspace_current();

	if (tf->error & PF_RSVD)
		return false;
	/*
	 * A kernel-mode fault on a present user page is SMAP or SMEP (lab 3)
	 * refusing the access, not a page to fill: "retrying" would fault forever.
	 */
	if (!(tf->error & PF_USER) && (tf->error & PF_PRESENT) && va < USER_TOP)
		return false;
	/* A fault inside an operation on this space: a bug, and its lock is ours. */
	if (spin_holding(&as->lock))
		return false;
	return aspace_handle_fault(as, va, (unsigned)tf->error) == 0;
}

void aspace_boot(void)
{
	kernel_space.pml4 = kernel_pml4_pa();
	kernel_space.cpus = 1UL << cpu_id();
	trap_register_fault_handler(T_PGFLT, reserved_page_fault);
}
