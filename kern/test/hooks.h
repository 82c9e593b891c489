/*
 * Test hooks: what the kernel and the host environments expose only so that
 * tests can watch them. They are kept out of the labs' contract headers
 * (kern/pgtable.h, kern/aspace.h, kern/tlb.h), which declare only what a
 * student's code calls or implements. The definitions stay next to the code
 * they watch.
 */
#ifndef KERN_TEST_HOOKS_H
#define KERN_TEST_HOOKS_H

#include "kern/mm.h"

/* ---- Lab 1: the page-table frame ledger (kern/pgtable_env.c) ------------- */

/*
 * While a ledger is attached, the frames that pt_frame_alloc hands out are
 * recorded in it and pt_frame_free removes them, so a test can free every
 * table a walker left behind without following the walker's (possibly
 * corrupt) entries. Kernel only.
 */
#define PT_LEDGER_MAX 256
struct pt_ledger {
	paddr_t frames[PT_LEDGER_MAX];
	int n;
	bool overflow; /* more than PT_LEDGER_MAX frames were allocated */
};
/* pt_ledger_attach - start recording into l (emptied first); NULL stops. */
void pt_ledger_attach(struct pt_ledger *l);
/* pt_ledger_free_all - detach l if attached and free every frame it holds. */
void pt_ledger_free_all(struct pt_ledger *l);

/* ---- Lab 2: the trace of the address-space hooks ------------------------- */

/*
 * While a trace is attached, the environment hooks of kern/aspace.h
 * (as_page_free, as_table_free, as_tlb_flush; kern/aspace_env.c and
 * tests/host/aspace_host.c) record what they were asked to do, in order, so
 * a test can check that every freed frame was flushed first.
 */
enum as_event_kind { AS_EV_FLUSH, AS_EV_FREE_PAGE, AS_EV_FREE_TABLE };
struct as_event {
	enum as_event_kind kind;
	uint64_t a, b; /* FLUSH: [a, b); FREE_*: a = the frame */
};
#define AS_TRACE_MAX 1024
struct as_trace {
	struct as_event ev[AS_TRACE_MAX];
	int n;
	bool overflow;
};
/* The trace being recorded, or NULL; defined by each environment. */
extern struct as_trace *as_trace_current;

/* as_trace_record - called by the hooks; a no-op without a trace. */
static inline void as_trace_record(enum as_event_kind kind, uint64_t a, uint64_t b)
{
	struct as_trace *t = as_trace_current;

	if (!t)
		return;
	if (t->n == AS_TRACE_MAX) {
		t->overflow = true;
		return;
	}
	t->ev[t->n++] = (struct as_event){ kind, a, b };
}

/* as_trace_attach - start recording into t (emptied first); NULL stops. */
static inline void as_trace_attach(struct as_trace *t)
{
	if (t) {
		t->n = 0;
		t->overflow = false;
	}
	as_trace_current = t;
}

/* ---- Lab 4: the acknowledgement-timeout probe (kern/tlb.c) -------------- */

/* Arm to have tlb_report_timeout record the CPU instead of panicking. */
struct tlb_timeout_probe {
	volatile bool armed;
	volatile int cpu; /* the CPU reported, -1 if none */
};
extern struct tlb_timeout_probe tlb_test_timeout;

#endif
