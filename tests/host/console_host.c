/*
 * The kernel console on the host: a student's debugging kprintf() in a lab
 * file links in the host tests too, and prints to standard output.
 */
#include <stdarg.h>
#include <stdio.h>

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
