/*
 * Formatted output shared by the kernel, user programs and host tests.
 * Supports %c %s %d %i %u %x %X %o %p %%, the flags - 0 + space #, a width
 * and precision (digits or *), and the length modifiers hh h l ll z t j.
 */
#ifndef LIB_PRINTFMT_H
#define LIB_PRINTFMT_H

#include "lib/types.h"

typedef void (*putch_fn)(int ch, void *arg);

/* vprintfmt - format into a character sink; returns characters emitted. */
int vprintfmt(putch_fn putch, void *arg, const char *fmt, va_list ap);

/*
 * vsnprintf/snprintf - format into buf, which is always NUL-terminated when
 * size > 0. Return the length the full output would have (C99 semantics).
 */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __printf(3, 4);

#endif
