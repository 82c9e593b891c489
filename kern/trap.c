/*
 * The IDT and the C side of interrupts and exceptions: dispatch to the
 * registered fault and IRQ handlers, and report what nobody handled.
 */
#include "kern/console.h"
#include "kern/cpu.h"
#include "kern/gdt.h"
#include "kern/panic.h"
#include "kern/trap.h"
#include "kern/x86.h"

#define MAX_FAULT_HANDLERS 8

struct idt_gate {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t reserved;
} __attribute__((packed));

static struct idt_gate idt[256] __attribute__((aligned(16)));
extern char trap_stubs[];

static struct {
	int vector;
	fault_handler_fn fn;
} fault_handlers[MAX_FAULT_HANDLERS];
static int nfault_handlers;
static irq_handler_fn irq_handlers[256];

static const char *const exception_names[32] = {
	"divide error (#DE)", "debug (#DB)", "NMI", "breakpoint (#BP)", "overflow (#OF)",
	"bound range (#BR)", "invalid opcode (#UD)", "device not available (#NM)",
	"double fault (#DF)", "coprocessor segment overrun", "invalid TSS (#TS)",
	"segment not present (#NP)", "stack fault (#SS)", "general protection (#GP)",
	"page fault (#PF)", "reserved 15", "x87 FP error (#MF)", "alignment check (#AC)",
	"machine check (#MC)", "SIMD FP error (#XM)", "virtualization (#VE)",
	"control protection (#CP)",
};

const char *trap_name(int vector)
{
	if (vector < 32)
		return exception_names[vector] ? exception_names[vector] : "reserved exception";
	return "interrupt";
}

static void set_gate(int vector, int dpl, int ist)
{
	uint64_t addr = (uint64_t)(trap_stubs + 16 * vector);
	struct idt_gate *g = &idt[vector];

	g->off_lo = addr & 0xffff;
	g->sel = GDT_KCODE;
	g->ist = (uint8_t)ist;
	g->type_attr = (uint8_t)(0x8e | (dpl << 5)); /* present, interrupt gate */
	g->off_mid = (addr >> 16) & 0xffff;
	g->off_hi = (uint32_t)(addr >> 32);
	g->reserved = 0;
}

void trap_init_cpu(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) d = { sizeof(idt) - 1, (uint64_t)idt };

	asm volatile("lidt %0" : : "m"(d));
}

void trap_init(void)
{
	for (int v = 0; v < 256; v++)
		set_gate(v, 0, v == T_DBLFLT ? IST_DOUBLE_FAULT : 0);
	trap_init_cpu();
}

void trap_set_dpl(int vector, int dpl)
{
	set_gate(vector, dpl, 0);
}

void trap_register_fault_handler(int vector, fault_handler_fn fn)
{
	if (nfault_handlers == MAX_FAULT_HANDLERS)
		panic("trap: more than %d fault handlers", MAX_FAULT_HANDLERS);
	fault_handlers[nfault_handlers].vector = vector;
	fault_handlers[nfault_handlers].fn = fn;
	nfault_handlers++;
}

void trap_register_irq(int vector, irq_handler_fn fn)
{
	if (vector < 32 || vector > 255)
		panic("trap_register_irq: vector %d is not an interrupt", vector);
	irq_handlers[vector] = fn;
}

void trap_print(const struct trapframe *tf)
{
	bool user = (tf->cs & 3) == 3;

	kprintf("TRAP %s, vector %lu, in %s mode on cpu %d\n", trap_name((int)tf->vector),
		tf->vector, user ? "user" : "kernel", cpu_id());
	kprintf("  error 0x%lx", tf->error);
	if (tf->vector == T_PGFLT)
		kprintf(" [%s, %s, %s%s%s]\n  cr2 0x%016lx", tf->error & PF_WRITE ? "write" : "read",
			tf->error & PF_PRESENT ? "protection violation" : "not present",
			tf->error & PF_USER ? "user" : "kernel",
			tf->error & PF_INSTR ? ", instruction fetch" : "",
			tf->error & PF_RSVD ? ", reserved bit set" : "", read_cr2());
	kprintf("\n");
	print_code_address("rip", tf->rip);
	kprintf("  rax %016lx rbx %016lx rcx %016lx rdx %016lx\n", tf->rax, tf->rbx, tf->rcx,
		tf->rdx);
	kprintf("  rsi %016lx rdi %016lx rbp %016lx rsp %016lx\n", tf->rsi, tf->rdi, tf->rbp,
		tf->rsp);
	kprintf("  r8  %016lx r9  %016lx r10 %016lx r11 %016lx\n", tf->r8, tf->r9, tf->r10,
		tf->r11);
	kprintf("  r12 %016lx r13 %016lx r14 %016lx r15 %016lx\n", tf->r12, tf->r13, tf->r14,
		tf->r15);
	kprintf("  cs %04lx ss %04lx rflags %08lx cr3 %016lx\n", tf->cs, tf->ss, tf->rflags,
		read_cr3());
	if (!user)
		backtrace_from(tf->rip, tf->rbp);
}

static bool dispatch(struct trapframe *tf, bool catch_all)
{
	for (int i = 0; i < nfault_handlers; i++) {
		int v = fault_handlers[i].vector;
		bool match = catch_all ? v == TRAP_ANY_EXCEPTION : v == (int)tf->vector;

		if (match && fault_handlers[i].fn(tf))
			return true;
	}
	return false;
}

static void fatal_exception(struct trapframe *tf) __noreturn;

static void fatal_exception(struct trapframe *tf)
{
	panicking = true;
	kprintf("\n");
	trap_print(tf);
	kprintf("PANIC on cpu %d: unhandled %s at rip 0x%lx\n", cpu_id(), trap_name((int)tf->vector),
		tf->rip);
	kprintf("pagoda: kernel panic, exiting QEMU\n");
	qemu_exit(EXIT_PANIC);
}

/*
 * Vector-specific handlers (demand paging, exception tables) run first, the
 * catch-all ones (the test framework's fault catcher) only if none claimed
 * the exception; if nobody does, the exception is fatal.
 */
static void handle_exception(struct trapframe *tf)
{
	if (!dispatch(tf, false) && !dispatch(tf, true))
		fatal_exception(tf);
}

/**
 * page_fault_handler - entry for every #PF (vector 14). fault_va is CR2, the
 * address whose access faulted; tf->rip is the faulting instruction and
 * tf->error says why (PF_* bits). A good place for a GDB breakpoint.
 */
void page_fault_handler(struct trapframe *tf)
{
	volatile uint64_t fault_va = read_cr2();

	(void)fault_va;
	handle_exception(tf);
}

void trap(struct trapframe *tf);

void trap(struct trapframe *tf)
{
	if (tf->vector == T_PGFLT) {
		page_fault_handler(tf);
		return;
	}
	if (tf->vector < 32) {
		handle_exception(tf);
		return;
	}
	if (irq_handlers[tf->vector]) {
		irq_handlers[tf->vector](tf);
		return;
	}
	kprintf("trap: unexpected interrupt vector %lu on cpu %d, ignored\n", tf->vector,
		cpu_id());
}
