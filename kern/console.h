/* Kernel console: everything goes to the COM1 serial port. */
#ifndef KERN_CONSOLE_H
#define KERN_CONSOLE_H

#include "lib/types.h"

/* serial_init - program COM1 for 115200 8N1. Call once, before any output. */
void serial_init(void);
/* serial_putc - send c, waiting (boundedly) until the UART takes it. */
void serial_putc(char c);
/* serial_flush - wait (boundedly) until every byte sent has left the UART. */
void serial_flush(void);
/* serial_getc - a received byte, or -1 when none is waiting (never blocks). */
int serial_getc(void);

/*
 * kprintf - formatted output to the console. Whole lines from different CPUs
 * do not interleave (the console lock is held per call). Safe with
 * interrupts on or off; returns the number of characters written.
 */
int kprintf(const char *fmt, ...) __printf(1, 2);
int vkprintf(const char *fmt, va_list ap);

/*
 * console_line - print line and a newline as one line of its own: if the
 * console is in the middle of a line (someone printed text without a
 * newline), end that line first. No other output can land inside it.
 */
void console_line(const char *line);

#endif
