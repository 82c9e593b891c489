/*
 * kprintf and friends: formatted kernel output to the serial console, one
 * lock so that lines from several CPUs do not interleave.
 */
#include "kern/console.h"
#include "kern/panic.h"
#include "kern/spinlock.h"
#include "lib/printfmt.h"

static struct spinlock console_lock = SPINLOCK_INIT("console");
/* Whether the next character starts a line: console_line needs one to itself. */
static bool at_line_start = true;

static void console_putch(int ch, void *arg)
{
	if (ch == '\n')
		serial_putc('\r');
	serial_putc((char)ch);
	at_line_start = ch == '\n';
}

int vkprintf(const char *fmt, va_list ap)
{
	/* Once panicking, print without the lock: the holder may be dead. */
	bool lock = !panicking;
	uint64_t flags = 0;
	int n;

	if (lock)
		flags = spin_lock_irqsave(&console_lock);
	n = vprintfmt(console_putch, NULL, fmt, ap);
	if (lock)
		spin_unlock_irqrestore(&console_lock, flags);
	return n;
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

void console_line(const char *line)
{
	uint64_t flags = spin_lock_irqsave(&console_lock);

	if (!at_line_start)
		console_putch('\n', NULL);
	while (*line)
		console_putch(*line++, NULL);
	console_putch('\n', NULL);
	spin_unlock_irqrestore(&console_lock, flags);
}
