/*
 * The exception table: for each kernel instruction that may fault on
 * purpose (an access to user memory), where execution resumes instead of
 * panicking. An entry is two absolute addresses, the instruction and its
 * fixup, emitted next to the instruction into the __ex_table section, which
 * kern/kernel.ld collects between __extable_start and __extable_end.
 *
 * extable_init() sorts the table once at boot; extable_search() then finds an
 * entry by binary search. The fault handler that uses it is lab 3's
 * (kern/uaccess.c). In GDB: `x/2ga &__extable_start` shows the first entry,
 * once the kernel runs (at `make gdb`'s first prompt QEMU is still at the
 * reset vector, the kernel not loaded: "Cannot access memory"); sorted after
 * extable_init, e.g. at a breakpoint on extable_fixup.
 */
#ifndef KERN_EXTABLE_H
#define KERN_EXTABLE_H

#ifdef __ASSEMBLER__
/* EXTABLE(insn, fixup) - in a .S file: a fault at insn resumes at fixup. */
#define EXTABLE(insn, fixup)                 \
	.pushsection __ex_table, "a";        \
	.balign 8;                           \
	.quad (insn), (fixup);               \
	.popsection
#else
#include "lib/types.h"

struct trapframe;

/* EXTABLE_ASM(insn, fixup) - the same inside a C asm() string (labels as text). */
#define EXTABLE_ASM(insn, fixup)                   \
	".pushsection __ex_table, \"a\"\n\t"       \
	".balign 8\n\t"                            \
	".quad " #insn ", " #fixup "\n\t"          \
	".popsection\n\t"

struct extable_entry {
	uint64_t insn;	/* address of an instruction that may fault */
	uint64_t fixup;	/* where to resume when it does */
};

/*
 * extable_init - sort the table by instruction address (the linker keeps
 * object-file order, which is not address order across sections). Panics if
 * an instruction has two entries. Once at boot, before anything can fault.
 */
void extable_init(void);

/* extable_search - the entry for instruction address rip, or NULL. */
const struct extable_entry *extable_search(uint64_t rip);

/*
 * extable_fixup - if tf->rip has an entry, move tf->rip to its fixup, count
 * it (extable_fixups) and return true; otherwise return false and leave tf
 * alone. Called by a fault handler for a fault in kernel mode.
 */
bool extable_fixup(struct trapframe *tf);

/* extable_fixups - how many faults extable_fixup has redirected since boot. */
uint64_t extable_fixups(void);

/* extable_size - number of entries (tests and the handout's GDB exercise). */
size_t extable_size(void);

#endif
#endif
