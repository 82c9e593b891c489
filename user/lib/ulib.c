#include "user/lib/ulib.h"

void exit(int status)
{
	syscall3(SYS_EXIT, status, 0, 0);
	for (;;)
		; /* not reached: the kernel never returns from exit */
}

long write(int fd, const void *buf, size_t len)
{
	return syscall3(SYS_WRITE, fd, (long)buf, (long)len);
}

long read(int fd, void *buf, size_t len)
{
	return syscall3(SYS_READ, fd, (long)buf, (long)len);
}

long stat(const char *path, struct ustat *st)
{
	return syscall3(SYS_STAT, (long)path, (long)st, 0);
}

long stats(struct ustats *st)
{
	return syscall3(SYS_STATS, (long)st, 0, 0);
}

long mmap(uint64_t va, size_t len, int prot)
{
	return syscall3(SYS_MMAP, (long)va, (long)len, prot);
}

long munmap(uint64_t va, size_t len)
{
	return syscall3(SYS_MUNMAP, (long)va, (long)len, 0);
}

long mprotect(uint64_t va, size_t len, int prot)
{
	return syscall3(SYS_MPROTECT, (long)va, (long)len, prot);
}

struct outbuf {
	char buf[128];
	size_t n;
};

static void flush(struct outbuf *o)
{
	if (o->n)
		write(FD_STDOUT, o->buf, o->n);
	o->n = 0;
}

static void putch(int ch, void *arg)
{
	struct outbuf *o = arg;

	o->buf[o->n++] = (char)ch;
	if (ch == '\n' || o->n == sizeof(o->buf))
		flush(o);
}

int printf(const char *fmt, ...)
{
	struct outbuf o = { .n = 0 };
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vprintfmt(putch, &o, fmt, ap);
	va_end(ap);
	flush(&o);
	return n;
}
