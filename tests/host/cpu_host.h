/*
 * Simulated CPUs for the host tests of labs 3 and 4 (tests/host/cpu_host.c).
 *
 * Each simulated CPU has its struct percpu (kern/percpu.h), reached as in the
 * kernel through the GS base (set per host thread with arch_prctl, so
 * this_cpu() and cpu_id() run unchanged), an interrupt flag, CR0/CR3/CR4, a
 * local interrupt controller that collects IPIs, and a TLB over two windows
 * of simulated pages: one in the user half (non-global entries) and one in
 * the kernel half (global entries). kern/x86.h's privileged instructions
 * (cli, sti, invlpg, CR writes) act on the CPU of the calling thread.
 *
 * IPIs are delivered in one of two ways:
 *  - synchronously (host_cpu_reset's default): smp_send_ipi runs the
 *    target's handler at once on the calling thread, as that CPU. One host
 *    thread plays every CPU, deterministically: for counting flushes and IPIs.
 *  - asynchronously: smp_send_ipi only marks the vector pending; a CPU takes
 *    its pending interrupts when it has interrupts on and polls
 *    (host_cpu_poll, sti, pause). Each CPU is then a host thread
 *    (host_cpu_run), and the CPUs really run in parallel.
 */
#ifndef TESTS_HOST_CPU_HOST_H
#define TESTS_HOST_CPU_HOST_H

#include "kern/percpu.h"
#include "kern/trap.h"

#define HOST_TLB_PAGES 256 /* pages per simulated window */
#define HOST_USER_BASE 0x0000000040000000UL
#define HOST_KERNEL_BASE 0xffffc00000000000UL

enum host_window { HOST_USER, HOST_KERNEL };

/*
 * host_cpu_reset - ncpus CPUs online, each with interrupts on, empty TLBs,
 * zeroed counters and requests, no handler registered; page-table entries
 * of both windows 0; synchronous IPIs; smep/smap: what CPUID reports.
 * The calling thread becomes CPU 0.
 */
void host_cpu_reset(int ncpus, bool smep, bool smap);

/* host_cpu_enter - the calling thread runs as CPU cpu from now on. */
void host_cpu_enter(int cpu);

/* host_cpu_async - deliver IPIs asynchronously (see above) when on. */
void host_cpu_async(bool on);

/*
 * host_cpu_run - run fn(cpu, arg) on one host thread per CPU, each entered
 * as its CPU with interrupts on, and wait for all of them. A CPU that stops
 * polling (returns from fn) no longer takes IPIs, so fn should keep polling
 * until every CPU is done (host_cpu_done_wait). Returns the first failure
 * recorded (host_cpu_fail, or a panic in a CPU thread), or NULL.
 */
const char *host_cpu_run(void (*fn)(int cpu, void *arg), void *arg);

/*
 * host_cpu_done_wait - this CPU has finished its work: keep taking IPIs
 * until every CPU of host_cpu_run has called this too (or one failed).
 */
void host_cpu_done_wait(void);

/*
 * host_cpu_barrier - wait until every CPU of host_cpu_run has reached the
 * barrier, taking IPIs meanwhile (when interrupts are on). Every CPU must
 * call it the same number of times.
 */
void host_cpu_barrier(void);

/*
 * host_cpu_fail - record a failure (the first one wins) and make every CPU
 * thread stop at its next pause() or poll. In the main thread: fail the test.
 */
void host_cpu_fail(const char *fmt, ...) __printf(1, 2);

/* host_cpu_failed - whether a CPU thread recorded a failure. */
bool host_cpu_failed(void);

/* host_cpu_poll - take the pending interrupts, if interrupts are on. */
void host_cpu_poll(void);

/* host_cpu_irqs_on - whether the running CPU has interrupts on. */
bool host_cpu_irqs_on(void);

/* host_va - the virtual address of page `page` of window w. */
uint64_t host_va(enum host_window w, unsigned page);

/* host_pte_set - publish a new (non-zero) translation value for a page. */
void host_pte_set(enum host_window w, unsigned page, uint64_t value);
uint64_t host_pte_get(enum host_window w, unsigned page);

/*
 * host_access - the running CPU touches the page: a TLB hit returns the
 * cached value, a miss walks (reads the entry) and caches it. Returns the
 * value used: it is stale when it differs from host_pte_get.
 */
uint64_t host_access(enum host_window w, unsigned page);

/* host_tlb_peek - CPU cpu's cached value for the page, 0 when none. */
uint64_t host_tlb_peek(int cpu, enum host_window w, unsigned page);

/* Per CPU: how many IPIs of any vector it took, and its invlpg addresses. */
unsigned long host_cpu_irqs_taken(int cpu);
#define HOST_INVLPG_LOG 64
unsigned host_cpu_invlpg_log(int cpu, uint64_t *vas, unsigned max);

/* host_cpu_bad_cr4 - a CR4 bit the CPU does not have was set (TCG would hang). */
bool host_cpu_bad_cr4(void);

/* The handler trap_register_fault_handler installed for vector (NULL if none). */
fault_handler_fn host_fault_handler(int vector, int nth);

/*
 * A panic (kern/panic.h) in the main thread fails the test, unless a test
 * armed host_panic_expect: then it longjmps there, with the message in
 * host_panic_msg.
 */
#include <setjmp.h>
extern jmp_buf *host_panic_expect;
extern char host_panic_msg[256];

#endif
