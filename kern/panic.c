/*
 * panic(), frame-pointer backtraces with symbol names, and qemu_exit()
 * (the isa-debug-exit port the grader reads).
 */
#include "kern/console.h"
#include "kern/cpu.h"
#include "kern/mm.h"
#include "kern/panic.h"
#include "kern/x86.h"
#include "lib/printfmt.h"

#define QEMU_EXIT_PORT 0xf4
#define BACKTRACE_MAX 32

volatile bool panicking;

void qemu_exit(enum qemu_exit_code code)
{
	/* QEMU exits at once: every byte must have left the UART first. */
	serial_flush();
	outl(QEMU_EXIT_PORT, code);
	/* Still here: not QEMU, or no isa-debug-exit device. */
	for (;;) {
		cli();
		hlt();
	}
}

static bool frame_pointer_ok(uint64_t rbp)
{
	return (rbp & 7) == 0 && rbp >= DMAP_BASE && rbp < UINT64_MAX - 16;
}

void print_code_address(const char *label, uint64_t addr)
{
	uint64_t off;
	const char *name = ksym_lookup(addr, &off);

	if (name)
		kprintf("  %s 0x%016lx %s+0x%lx\n", label, addr, name, off);
	else
		kprintf("  %s 0x%016lx ?\n", label, addr);
}

static void print_frame(int depth, uint64_t pc)
{
	char label[8];

	snprintf(label, sizeof(label), "#%d", depth);
	print_code_address(label, pc);
}

void backtrace_from(uint64_t rip, uint64_t rbp)
{
	kprintf("backtrace:\n");
	print_frame(0, rip);
	for (int depth = 1; depth < BACKTRACE_MAX && frame_pointer_ok(rbp); depth++) {
		uint64_t *frame = (uint64_t *)rbp;
		uint64_t ret = frame[1];

		if (ret < KERNBASE)
			break;
		/* A return address points after the call: name the call itself. */
		print_frame(depth, ret - 1);
		rbp = frame[0];
	}
}

void backtrace(void)
{
	uint64_t *rbp = (uint64_t *)read_rbp();

	backtrace_from(rbp[1] - 1, rbp[0]);
}

void panic_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	uint64_t *rbp = (uint64_t *)read_rbp();

	cli();
	if (panicking) {
		kprintf("PANIC (nested) at %s:%d\n", file, line);
		qemu_exit(EXIT_PANIC);
	}
	panicking = true;
	kprintf("\nPANIC on cpu %d at %s:%d: ", cpu_id(), file, line);
	va_start(ap, fmt);
	vkprintf(fmt, ap);
	va_end(ap);
	kprintf("\n");
	backtrace_from(rbp[1] - 1, rbp[0]);
	kprintf("pagoda: kernel panic, exiting QEMU\n");
	qemu_exit(EXIT_PANIC);
}
