/* Interrupts and exceptions. */
#ifndef KERN_TRAP_H
#define KERN_TRAP_H

#define T_DIVIDE 0
#define T_DEBUG 1
#define T_NMI 2
#define T_BRKPT 3
#define T_OFLOW 4
#define T_BOUND 5
#define T_ILLOP 6
#define T_DEVICE 7
#define T_DBLFLT 8
#define T_TSS 10
#define T_SEGNP 11
#define T_STACK 12
#define T_GPFLT 13
#define T_PGFLT 14
#define T_FPERR 16
#define T_ALIGN 17
#define T_MCHK 18
#define T_SIMDERR 19

/* Page-fault error code bits. */
#define PF_PRESENT (1u << 0)
#define PF_WRITE (1u << 1)
#define PF_USER (1u << 2)
#define PF_RSVD (1u << 3)
#define PF_INSTR (1u << 4)

#ifdef __ASSEMBLER__
/*
 * The offsets of struct trapframe's fields (TF_RIP, TF_CS, ..., TF_SIZE),
 * generated from the struct below by the Makefile (kern/asm-offsets.c).
 */
#include "generated/asm-offsets.h"

/*
 * PUSH_REGS saves the general registers as the first fields of a struct
 * trapframe, below the vector, error code and the CPU's iretq frame already
 * on the stack; POP_REGS restores them and leaves %rsp at TF_VECTOR. Shared
 * by the exception entry (kern/trapentry.S) and the system-call entry
 * (kern/syscall_entry.S) so that both build the same frame. cfi=1 describes
 * each push for GDB's unwinder (inside a .cfi_startproc). Assembler
 * macros, not C: clang-format must leave them alone.
 */
/* clang-format off */
.macro PUSH_REGS cfi=0
	.irp reg, rax, rbx, rcx, rdx, rsi, rdi, rbp, r8, r9, r10, r11, r12, r13, r14, r15
	pushq %\reg
	.if \cfi
	.cfi_adjust_cfa_offset 8
	.ifc \reg, rbp
	.cfi_rel_offset rbp, 0
	.endif
	.endif
	.endr
.endm

.macro POP_REGS
	.irp reg, r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax
	popq %\reg
	.endr
.endm
/* clang-format on */
#else
#include "lib/types.h"

/* Saved by PUSH_REGS (above) under the CPU's frame; the order matches. */
struct trapframe {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};

/*
 * A fault handler inspects an exception and returns true when it dealt with
 * it (the trapframe is then resumed, possibly modified), false to pass.
 * Handlers run with interrupts off, in registration order; handlers for a
 * specific vector run before the TRAP_ANY_EXCEPTION ones.
 */
typedef bool (*fault_handler_fn)(struct trapframe *tf);
/* An interrupt handler for vectors 32..255. */
typedef void (*irq_handler_fn)(struct trapframe *tf);

#define TRAP_ANY_EXCEPTION (-1)

/* trap_init - build the IDT and load it on this CPU. BSP only, once. */
void trap_init(void);
/* trap_init_cpu - load the already built IDT on an application processor. */
void trap_init_cpu(void);

/*
 * trap_register_fault_handler - add a handler for exception vector (0..31),
 * or for every exception with TRAP_ANY_EXCEPTION. Call at init time.
 */
void trap_register_fault_handler(int vector, fault_handler_fn fn);
/* trap_register_irq - install the handler for interrupt vector 32..255. */
void trap_register_irq(int vector, irq_handler_fn fn);
/* trap_set_dpl - let ring 3 raise vector with int (e.g. a breakpoint). */
void trap_set_dpl(int vector, int dpl);

/* page_fault_handler - called for every #PF; dispatches to the handlers. */
void page_fault_handler(struct trapframe *tf);

const char *trap_name(int vector);
/* trap_print - vector, error code, CR2, registers and a backtrace. */
void trap_print(const struct trapframe *tf);

#endif /* __ASSEMBLER__ */

#endif
