#include "kern/console.h"
#include "kern/panic.h"
#include "kern/spinlock.h"
#include "lib/printfmt.h"

static struct spinlock console_lock = SPINLOCK_INIT("console");

static void console_putch(int ch, void *arg)
{
	(void)arg;
	if (ch == '\n')
		serial_putc('\r');
	serial_putc((char)ch);
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
