/* panic(), assertions, backtraces and leaving QEMU. */
#ifndef KERN_PANIC_H
#define KERN_PANIC_H

#include "lib/types.h"

/*
 * Exit codes written to QEMU's isa-debug-exit device; QEMU's own exit
 * status becomes (code << 1) | 1. Documented in grading/README.md.
 */
enum qemu_exit_code {
	EXIT_TESTS_PASSED = 0x10, /* status 33 */
	EXIT_TESTS_FAILED = 0x11, /* status 35 */
	EXIT_PANIC = 0x12,	  /* status 37 */
	EXIT_HALTED = 0x13,	  /* status 39: "halt" asked, or the run= program ended */
};

/* Set once a panic has started: the console then prints without its lock. */
extern volatile bool panicking;

/* qemu_exit - leave QEMU with the given code; halts forever without the device. */
void qemu_exit(enum qemu_exit_code code) __noreturn;

/*
 * panic - print "PANIC" with the location and message, a backtrace, then exit
 * QEMU with EXIT_PANIC. Callable from any context.
 */
#define panic(...) panic_at(__FILE__, __LINE__, __VA_ARGS__)
void panic_at(const char *file, int line, const char *fmt, ...) __noreturn __printf(3, 4);

#define assert(cond)                                                      \
	do {                                                              \
		if (!(cond))                                              \
			panic("assertion failed: %s", #cond);             \
	} while (0)

/* backtrace - print the frame-pointer chain starting at (rip, rbp). */
void backtrace_from(uint64_t rip, uint64_t rbp);
void backtrace(void);
/* print_code_address - "  <label> 0x<addr> <function>+0x<offset>" on the console. */
void print_code_address(const char *label, uint64_t addr);

/*
 * ksym_lookup - name of the kernel function containing addr, or NULL; *off
 * receives addr's offset into it. Uses the table embedded at build time.
 */
const char *ksym_lookup(uint64_t addr, uint64_t *off);

#endif
