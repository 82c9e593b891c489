/*
 * Per-CPU data. Each CPU's GS base points at its own struct percpu, so
 * this_cpu() is one load through %gs and needs no lock. The BSP sets its GS
 * base first thing in kmain (percpu_init(0)); each AP does it on arrival.
 * Interrupt entry from ring 3 runs swapgs (kern/trapentry.S), so both GS_BASE
 * and KERNEL_GS_BASE start out pointing here.
 */
#ifndef KERN_PERCPU_H
#define KERN_PERCPU_H

#include "kern/cpu.h"
#include "kern/spinlock.h"

/* Counters of the flushes a CPU ran and the IPIs it sent and received. */
struct tlb_stats {
	uint64_t invlpg;	  /* single-page invalidations (invlpg) */
	uint64_t full_flush;	  /* CR3 reloads: every non-global entry */
	uint64_t global_flush;	  /* CR4.PGE toggles: every entry, global ones too */
	uint64_t ipi_sent;	  /* TLB-flush IPIs this CPU sent */
	uint64_t ipi_received;	  /* TLB-flush IPIs this CPU handled */
	uint64_t shootdowns;	  /* tlb_shootdown calls started here (any space) */
	uint64_t requests_served; /* remote flush requests this CPU carried out */
};

/*
 * A flush request that one CPU (the initiator) publishes to others. Each CPU
 * owns exactly one, in its struct percpu, and has at most one shootdown in
 * flight, so the protocol needs no queue that could fill up.
 */
struct tlb_request {
	uint64_t start;		  /* first byte, aligned to the stride */
	uint64_t end;		  /* end (exclusive), aligned to the stride */
	unsigned stride_shift;	  /* leaf size: PAGE_SHIFT, or 21/30 for huge pages */
	bool global;		  /* kernel (global) mappings: CR3 reload is not enough */
	volatile uint64_t pending; /* bit i: CPU i has not acknowledged yet */
};

/* Work handed to an idle AP by smp_call(). */
enum call_state { CALL_IDLE, CALL_POSTED, CALL_RUNNING, CALL_DONE };

struct percpu {
	struct percpu *self;	/* must stay first: this_cpu() loads %gs:0 */
	int id;			/* index 0 .. smp_ncpus()-1; 0 is the BSP */
	uint32_t apic_id;
	volatile bool online;
	uint64_t stack_top;

	/* TLB shootdown (kern/tlb.c). */
	struct tlb_request tlb_req;	  /* this CPU's own outgoing request */
	volatile uint64_t tlb_pending_from; /* bit j: CPU j's request waits for us */
	struct tlb_stats tlb;

	/* smp_call (kern/smp.c). */
	void (*volatile call_fn)(void *);
	void *volatile call_arg;
	volatile int call_state;

	/* System-call entry (kern/syscall_entry.S reaches these through %gs). */
	uint64_t syscall_rsp0;	   /* kernel stack top for the running process */
	uint64_t syscall_user_rsp; /* scratch: the user RSP at entry */
} __attribute__((aligned(64)));

extern struct percpu percpu[MAX_CPUS];

/*
 * percpu_init - point this CPU's GS base at percpu[cpu] and fill in its
 * identity. Call first thing on each CPU, interrupts off.
 */
void percpu_init(int cpu, uint32_t apic_id);

/* this_cpu - the running CPU's struct percpu. Interrupts off, or do not care which. */
static inline struct percpu *this_cpu(void)
{
	struct percpu *p;

	asm volatile("movq %%gs:0, %0" : "=r"(p));
	return p;
}

/* percpu_of - CPU cpu's struct percpu. */
static inline struct percpu *percpu_of(int cpu)
{
	return &percpu[cpu];
}

#endif
