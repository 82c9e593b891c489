/*
 * Spinlocks that disable interrupts while held and restore the previous
 * interrupt state on release, so they nest. While waiting for a lock a CPU
 * keeps the interrupt state it had before, and runs the relax hook (lab 4:
 * serve TLB shootdown requests), so a holder that waits for this CPU's
 * acknowledgement cannot deadlock with it.
 */
#ifndef KERN_SPINLOCK_H
#define KERN_SPINLOCK_H

#include "lib/types.h"

struct spinlock {
	volatile uint32_t locked;
	int cpu; /* holder, for deadlock reports; -1 when free */
	const char *name;
};

#define SPINLOCK_INIT(n) { .locked = 0, .cpu = -1, .name = (n) }

/*
 * spin_lock_irqsave - take the lock with interrupts off; returns the
 * previous RFLAGS to hand to spin_unlock_irqrestore. Panics on recursion.
 */
uint64_t spin_lock_irqsave(struct spinlock *l);
void spin_unlock_irqrestore(struct spinlock *l, uint64_t flags);
bool spin_holding(const struct spinlock *l);

/*
 * spin_set_relax_hook - fn runs repeatedly while a CPU waits for a lock
 * (interrupts possibly off). It must not take locks. Set once at boot.
 */
void spin_set_relax_hook(void (*fn)(void));

#endif
