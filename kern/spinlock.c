#include "kern/spinlock.h"
#include "kern/cpu.h"
#include "kern/panic.h"
#include "kern/x86.h"

uint64_t spin_lock_irqsave(struct spinlock *l)
{
	uint64_t flags = read_rflags();

	cli();
	if (spin_holding(l))
		panic("spinlock %s: recursive acquire on cpu %d", l->name, cpu_id());
	while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
		while (l->locked)
			pause();
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
