/*
 * The kernel console on the host: a student's debugging kprintf() in a lab
 * file links in the host tests too, and prints to standard output; leaving
 * QEMU from a lab file ends the test process instead.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "kern/panic.h"

int vkprintf(const char *fmt, va_list ap)
{
	return vprintf(fmt, ap);
}

int kprintf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vkprintf(fmt, ap);
	va_end(ap);
	return n;
}

void qemu_exit(enum qemu_exit_code code)
{
	fprintf(stderr, "qemu_exit(%#x) called in a host test: there is no QEMU to leave\n",
		(unsigned)code);
	abort();
}
