/*
 * badptr: every class of bad pointer, through real system calls. Each case
 * checks the return value and whether the exception-table fixup counter
 * moved (a pointer the kernel refuses up front must not reach the copy; one
 * that reaches it and faults must take a fixup). Prints each failing case
 * and exits with the number of failures.
 */
#include "user/lib/ulib.h"

#define REGION 0x10000000UL	/* [R, R+2P) rw, R+2P unmapped, R+3P read-only, R+4P.. reserved */
#define P PAGE_SIZE
#define RW (REGION)
#define HOLE (REGION + 2 * P)
#define RO (REGION + 3 * P)
#define RESERVED (REGION + 4 * P)
#define RESERVED_PAGES 4
#define KERNEL_PTR 0xffffffff80100000UL
#define NONCANON 0x0000800000000000UL

/*
 * FIX_ANY: a valid string may take fixups (a copy reading words may fault
 * on the word that runs past its NUL into an unmapped page, then redo it
 * bytewise), so its count is not checked.
 */
enum fix { FIX_NONE, FIX_SOME, FIX_ANY };

static int failures;
static uint64_t fixups_before;

static uint64_t fixups_now(void)
{
	struct ustats st;

	if (stats(&st) != 0) {
		printf("badptr: stats() failed\n");
		exit(100);
	}
	return st.fixups;
}

static void begin(void)
{
	fixups_before = fixups_now();
}

/* Checks a case's result and the fixup counter's movement since begin(). */
static void check(const char *what, long got, long want, enum fix fix)
{
	uint64_t delta = fixups_now() - fixups_before;

	if (got != want) {
		printf("badptr: FAIL %s: returned %ld, expected %ld\n", what, got, want);
		failures++;
	} else if (fix != FIX_ANY && (fix == FIX_NONE) != (delta == 0)) {
		printf("badptr: FAIL %s: %lu fixup(s), expected %s\n", what, delta,
		       fix == FIX_NONE ? "none" : "at least one");
		failures++;
	}
}

static bool source_matches(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((uint8_t)p[i] != syscall_source_byte(i))
			return false;
	return true;
}

static void setup(void)
{
	if (mmap(RW, 2 * P, PROT_WRITE) || mmap(RO, P, PROT_WRITE) ||
	    mmap(RESERVED, RESERVED_PAGES * P, PROT_WRITE | PROT_RESERVE)) {
		printf("badptr: mmap failed\n");
		exit(101);
	}
	memset((void *)RO, 'r', P);
	if (mprotect(RO, P, 0)) {
		printf("badptr: mprotect failed\n");
		exit(102);
	}
}

static void test_write(void)
{
	begin();
	check("write valid", write(FD_NULL, (void *)RW, 2 * P), 2 * P, FIX_NONE);
	begin();
	check("write NULL", write(FD_NULL, NULL, 10), -EFAULT, FIX_SOME);
	begin();
	check("write kernel", write(FD_NULL, (void *)KERNEL_PTR, 10), -EFAULT, FIX_NONE);
	begin();
	check("write non-canonical", write(FD_NULL, (void *)NONCANON, 10), -EFAULT, FIX_NONE);
	begin();
	check("write non-canonical high", write(FD_NULL, (void *)0xdead000000000000UL, 8), -EFAULT,
	      FIX_NONE);
	begin();
	check("write unmapped", write(FD_NULL, (void *)HOLE, 10), -EFAULT, FIX_SOME);
	begin();
	check("write into unmapped", write(FD_NULL, (void *)(HOLE - 100), 300), 100, FIX_SOME);
	begin();
	check("write wraps (len -1)", write(FD_NULL, (void *)RW, (size_t)-1), -EFAULT, FIX_NONE);
	begin();
	check("write wraps to 16", write(FD_NULL, (void *)RW, 0 - RW + 16), -EFAULT, FIX_NONE);
	begin();
	check("write top 16", write(FD_NULL, (void *)(USER_MAX - 16), 16), 16, FIX_NONE);
	begin();
	check("write top 17", write(FD_NULL, (void *)(USER_MAX - 16), 17), -EFAULT, FIX_NONE);
}

static void test_read(void)
{
	char *p = (char *)(HOLE - 100);

	begin();
	check("read partial", read(FD_SOURCE, p, 300), 100, FIX_SOME);
	if (!source_matches(p, 100)) {
		printf("badptr: FAIL read partial: wrong bytes\n");
		failures++;
	}
	begin();
	check("read read-only", read(FD_SOURCE, (void *)RO, 16), -EFAULT, FIX_SOME);
	for (size_t i = 0; i < P; i++)
		if (((char *)RO)[i] != 'r') {
			printf("badptr: FAIL read-only page changed at %zu\n", i);
			failures++;
			break;
		}
	begin();
	check("read into text", read(FD_SOURCE, (void *)__user_start, 16), -EFAULT, FIX_SOME);
	begin();
	check("read kernel", read(FD_SOURCE, (void *)KERNEL_PTR, 16), -EFAULT, FIX_NONE);
	begin();
	check("read top 16", read(FD_SOURCE, (void *)(USER_MAX - 16), 16), 16, FIX_NONE);
}

static void test_demand_zero(void)
{
	volatile char here;
	char *deep = (char *)ROUNDDOWN((uintptr_t)&here - 512 * 1024, P);
	char *reserved = (char *)RESERVED + 100;

	begin();
	check("read reserved", read(FD_SOURCE, reserved, 3 * P), 3 * P, FIX_NONE);
	if (!source_matches(reserved, 3 * P)) {
		printf("badptr: FAIL read reserved: wrong bytes\n");
		failures++;
	}
	begin();
	check("write untouched reserved", write(FD_NULL, (void *)(RESERVED + 3 * P), 100), 100, FIX_NONE);
	begin();
	check("read untouched stack", read(FD_SOURCE, deep, P), P, FIX_NONE);
	if (!source_matches(deep, P)) {
		printf("badptr: FAIL read untouched stack: wrong bytes\n");
		failures++;
	}
}

static void test_strings(void)
{
	struct ustat st;
	char *end = (char *)HOLE;

	memcpy(end - 6, "hello", 6); /* the NUL is the last byte of the mapped page */
	begin();
	check("stat NUL on last byte", stat(end - 6, &st), 0, FIX_ANY);
	if (st.size == 0) {
		printf("badptr: FAIL stat: size 0\n");
		failures++;
	}
	memset((void *)RW, 'a', 64);
	begin();
	check("stat no NUL in limit", stat((void *)RW, &st), -ENAMETOOLONG, FIX_NONE);
	memset(end - 10, 'a', 10);
	begin();
	check("stat runs into unmapped", stat(end - 10, &st), -EFAULT, FIX_SOME);
	memcpy((void *)(USER_MAX - 3), "abc", 3);
	begin();
	check("stat runs into the user end", stat((void *)(USER_MAX - 3), &st), -EFAULT, FIX_NONE);
	begin();
	check("stat NULL path", stat(NULL, &st), -EFAULT, FIX_SOME);
	begin();
	check("stat kernel path", stat((void *)KERNEL_PTR, &st), -EFAULT, FIX_NONE);
	begin();
	check("stat NULL result", stat("hello", NULL), -EFAULT, FIX_SOME);
	begin();
	check("stat missing", stat("/boot/user/nonesuch", &st), -ENOENT, FIX_NONE);
	begin();
	check("stats read-only", stats((void *)RO), -EFAULT, FIX_SOME);
	begin();
	check("stats kernel", stats((void *)KERNEL_PTR), -EFAULT, FIX_NONE);
}

int main(void)
{
	setup();
	test_write();
	test_read();
	test_demand_zero();
	test_strings();
	printf("badptr: %d failure(s)\n", failures);
	return failures;
}
