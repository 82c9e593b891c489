/*
 * Spinlocks that disable interrupts while held and keep serving TLB
 * shootdown requests while they wait (the relax hook).
 */
#include "kern/spinlock.h"
#include "kern/cpu.h"
#include "kern/panic.h"
#include "kern/x86.h"

static void (*relax_hook)(void);

void spin_set_relax_hook(void (*fn)(void))
{
	relax_hook = fn;
}

/*
 * Wait for the lock to look free. Interrupts are back to the caller's state
 * meanwhile, and the relax hook runs, so that a CPU spinning here still
 * answers TLB shootdowns: the holder may be waiting for exactly that.
 */
static void spin_wait(struct spinlock *l, uint64_t flags)
{
	void (*hook)(void) = relax_hook;

	if (flags & RFLAGS_IF)
		sti();
	while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED)) {
		if (hook)
			hook();
		pause();
	}
	cli();
}

uint64_t spin_lock_irqsave(struct spinlock *l)
{
	uint64_t flags = read_rflags();

	cli();
	if (spin_holding(l))
		panic("spinlock %s: recursive acquire on cpu %d", l->name, cpu_id());
	while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
		spin_wait(l, flags);
	l->cpu = cpu_id();
	return flags;
}

void spin_unlock_irqrestore(struct spinlock *l, uint64_t flags)
{
	l->cpu = -1;
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
	if (flags & RFLAGS_IF)
		sti();
}

bool spin_holding(const struct spinlock *l)
{
	return l->locked && l->cpu == cpu_id();
}
