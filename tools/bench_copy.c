/*
 * The copies of `make bench` (kern/test/lab3.c, bench.uaccess) run natively
 * on the host CPU, for comparison with the same instructions under QEMU's
 * TCG: rep movsq (+ rep movsb for the tail), one rep movsb, and a C byte
 * loop (lib/string.c's memcpy). Built and run by `make bench`.
 */
#include <cpuid.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define MAX (1UL << 20)

static uint8_t src[MAX] __attribute__((aligned(4096)));
static uint8_t dst[MAX] __attribute__((aligned(4096)));

static void copy_movsq(void *d, const void *s, size_t n)
{
	size_t q = n >> 3;

	asm volatile("rep movsq\n\t"
		     "mov %3, %%rcx\n\t"
		     "rep movsb"
		     : "+D"(d), "+S"(s), "+c"(q)
		     : "r"(n & 7)
		     : "memory");
}

static void copy_movsb(void *d, const void *s, size_t n)
{
	asm volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
}

/* The byte loop of lib/string.c; noinline and volatile so the compiler keeps it a loop. */
static __attribute__((noinline)) void copy_bytes(void *d, const void *s, size_t n)
{
	volatile uint8_t *dd = d;
	const uint8_t *ss = s;

	while (n--)
		*dd++ = *ss++;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/*
 * MiB/s over `total` bytes in chunks of size: the best of 5 tries, since the
 * host's other work only ever makes a try slower.
 */
static double rate(void (*fn)(void *, const void *, size_t), size_t size, size_t total)
{
	double best = 0;

	for (int i = 0; i < 5; i++) {
		double t0 = now(), r;

		for (size_t done = 0; done < total; done += size)
			fn(dst, src, size);
		r = total / (now() - t0) / (1 << 20);
		if (r > best)
			best = r;
	}
	return best;
}

int main(void)
{
	static const size_t sizes[] = { 64, 4096, MAX };
	unsigned a, b, c, d;
	int erms = 0, fsrm = 0;

	if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
		erms = (b >> 9) & 1;
		fsrm = (d >> 4) & 1;
	}
	printf("host CPU: ERMS %s, FSRM %s\n", erms ? "yes" : "no", fsrm ? "yes" : "no");
	for (size_t i = 0; i < MAX; i++)
		src[i] = (uint8_t)i;
	for (int i = 0; i < 3; i++) {
		size_t size = sizes[i], total = 128UL << 20;
		double q = rate(copy_movsq, size, total);
		double bb = rate(copy_movsb, size, total);
		double l = rate(copy_bytes, size, total / 8);

		printf("host, size %zu: rep movsq %.0f MiB/s, rep movsb %.0f MiB/s, byte loop %.0f MiB/s; "
		       "movsb/movsq %.2f\n", size, q, bb, l, bb / q);
	}
	return EXIT_SUCCESS;
}
