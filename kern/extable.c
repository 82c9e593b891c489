/*
 * Exception table: sorting and lookup (kern/extable.h). The entries live in
 * the kernel image's read-only data, which the boot page tables map writable,
 * so the table is sorted in place.
 */
#include "kern/extable.h"
#include "kern/panic.h"
#include "kern/trap.h"

extern struct extable_entry __extable_start[], __extable_end[];

static volatile uint64_t nfixups;

size_t extable_size(void)
{
	return (size_t)(__extable_end - __extable_start);
}

/* Insertion sort: the table has a few dozen entries and is sorted once. */
void extable_init(void)
{
	struct extable_entry *t = __extable_start;
	size_t n = extable_size();

	for (size_t i = 1; i < n; i++) {
		struct extable_entry e = t[i];
		size_t j = i;

		while (j > 0 && t[j - 1].insn > e.insn) {
			t[j] = t[j - 1];
			j--;
		}
		t[j] = e;
	}
	for (size_t i = 1; i < n; i++)
		if (t[i].insn == t[i - 1].insn)
			panic("extable: two entries for instruction %#lx", t[i].insn);
}

const struct extable_entry *extable_search(uint64_t rip)
{
	const struct extable_entry *t = __extable_start;
	size_t lo = 0, hi = extable_size();

	/* Invariant: an entry for rip, if any, lies in t[lo, hi). */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t[mid].insn == rip)
			return &t[mid];
		if (t[mid].insn < rip)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

bool extable_fixup(struct trapframe *tf)
{
	const struct extable_entry *e = extable_search(tf->rip);

	if (!e)
		return false;
	tf->rip = e->fixup;
	nfixups++;
	return true;
}

uint64_t extable_fixups(void)
{
	return nfixups;
}
