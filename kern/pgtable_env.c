/*
 * The kernel's side of the page-table walker's hooks (kern/pgtable.h): tables
 * are reached through the direct map and allocated from the frame allocator.
 * Also a small ledger that lets tests clean up after a walker they do not
 * trust (declared in kern/test/hooks.h).
 */
#include "kern/console.h"
#include "kern/frame.h"
#include "kern/panic.h"
#include "kern/pgtable.h"
#include "kern/test/hooks.h"
#include "kern/x86.h"
#include "lib/string.h"

static struct pt_ledger *ledger;

static void ledger_add(paddr_t pa)
{
	if (!ledger)
		return;
	if (ledger->n == PT_LEDGER_MAX) {
		ledger->overflow = true;
		return;
	}
	ledger->frames[ledger->n++] = pa;
}

static void ledger_remove(paddr_t pa)
{
	if (!ledger)
		return;
	for (int i = 0; i < ledger->n; i++) {
		if (ledger->frames[i] == pa) {
			ledger->frames[i] = ledger->frames[--ledger->n];
			return;
		}
	}
}

pte_t *pt_table(paddr_t pa)
{
	return pa2kva(pa);
}

paddr_t pt_frame_alloc(void)
{
	paddr_t pa = frame_alloc();

	/*
	 * A frame nobody used yet reads as zeros; poison it like a freed one so
	 * that a walker which forgets to zero a new table fails every time.
	 */
	if (pa) {
		memset(pa2kva(pa), FRAME_POISON, PAGE_SIZE);
		ledger_add(pa);
	}
	return pa;
}

void pt_frame_free(paddr_t pa)
{
	ledger_remove(pa);
	frame_free(pa);
}

paddr_t pt_current_root(void)
{
	return read_cr3() & PTE_ADDR_MASK;
}

static void print_line(const char *line, void *arg)
{
	kprintf("%s\n", line);
}

int pt_dump_console(paddr_t root)
{
	return pt_dump(root, print_line, NULL);
}

void pt_ledger_attach(struct pt_ledger *l)
{
	if (l) {
		l->n = 0;
		l->overflow = false;
	}
	ledger = l;
}

void pt_ledger_free_all(struct pt_ledger *l)
{
	if (ledger == l)
		ledger = NULL;
	while (l->n > 0)
		frame_free(l->frames[--l->n]);
}
