/*
 * fuzz N SEED: a hostile program. N times it draws a system call (write,
 * read, stat, stats), a pointer from one of the interesting classes (NULL,
 * kernel, non-canonical, unmapped, straddling into a hole, read-only, the top
 * of the user range, wrapping lengths, demand-zero, valid) and a length, all
 * from SEED. A model of its own address space predicts the exact result and
 * whether the kernel had to take an exception-table fixup; every call is
 * checked against it (with a stats call after each). Prints the first few
 * mismatches and a summary; exits with the number of mismatches (max 100).
 */
#include "user/lib/ulib.h"

#define P PAGE_SIZE
#define RW 0x20000000UL		/* RW_PAGES read-write pages, then a hole */
#define RW_PAGES 4
#define HOLE (RW + RW_PAGES * P)
#define RO (HOLE + P)		/* a read-only page */
#define RESERVED (RO + P)		/* demand-zero, unmapped and mapped again now and then */
#define RESERVED_PAGES 8
#define STACK_LO (USER_MAX - (1UL << 20))
#define STACK_SAFE (USER_MAX - (64UL << 10)) /* below the fuzzer's own frames */
#define PATH_MAX SYSCALL_PATH_MAX
#define REMAP_EVERY 4096

struct region {
	uint64_t start, end;
	bool write;
};

static const struct region regions[] = {
	{ RW, HOLE, true },
	{ RO, RO + P, false },
	{ RESERVED, RESERVED + RESERVED_PAGES * P, true },
	{ STACK_LO, USER_MAX, true },
};

static struct rng rng;
static struct ustats st_after;
static long mismatches, calls;

static const struct region *region_of(uint64_t va)
{
	for (size_t i = 0; i < ARRAY_SIZE(regions); i++)
		if (va >= regions[i].start && va < regions[i].end)
			return &regions[i];
	return NULL;
}

/* How many bytes from p on (at most n) can be read, or written if write. */
static uint64_t accessible(uint64_t p, uint64_t n, bool write)
{
	uint64_t done = 0;

	while (done < n) {
		const struct region *r = region_of(p + done);

		if (!r || (write && !r->write))
			break;
		done += MIN(n - done, r->end - (p + done));
	}
	return done;
}

static bool range_ok(uint64_t p, uint64_t n)
{
	return p <= USER_MAX && n <= USER_MAX - p;
}

static uint64_t draw_len(void)
{
	switch (rng_below(&rng, 4)) {
	case 0:
		return rng_below(&rng, 16);
	case 1:
		return rng_below(&rng, 600);
	case 2:
		return rng_below(&rng, 3 * P);
	default:
		return 0 - rng_range(&rng, 1, 1UL << 40); /* wraps around */
	}
}

/* A pointer from one of the classes; the caller may write through it if write. */
static uint64_t draw_ptr(bool write)
{
	for (;;) {
		uint64_t p;

		switch (rng_below(&rng, 11)) {
		case 0:
			p = rng_below(&rng, P); /* NULL page */
			break;
		case 1:
			p = 0xffff800000000000UL + rng_below(&rng, 1UL << 47);
			break;
		case 2:
			p = USER_TOP + rng_below(&rng, 0xffff800000000000UL - USER_TOP);
			break;
		case 3:
			p = HOLE + rng_below(&rng, P);
			break;
		case 4:
			p = HOLE - rng_range(&rng, 1, 300); /* runs into the hole */
			break;
		case 5:
			p = RW + rng_below(&rng, RW_PAGES * P);
			break;
		case 6:
			p = RO + rng_below(&rng, P);
			break;
		case 7:
			p = USER_MAX - rng_range(&rng, 1, 16); /* the last bytes */
			break;
		case 8:
			p = RESERVED + rng_below(&rng, RESERVED_PAGES * P);
			break;
		case 9:
			p = STACK_LO - rng_range(&rng, 1, 300); /* below the stack */
			break;
		default:
			p = rng_below(&rng, USER_TOP);
			break;
		}
		/* Never let the kernel write over the fuzzer's own frames or image. */
		if (write && p >= STACK_SAFE && p < USER_MAX - 16)
			continue;
		if (p + 64 * P > (uint64_t)__user_start && p < (uint64_t)_end)
			continue;
		return p;
	}
}

/*
 * Whether a call must take a fixup: FIX_ANY for a valid string, whose copy
 * may fault on a word that runs past the NUL and redo it bytewise.
 */
enum fix { FIX_NONE, FIX_SOME, FIX_ANY };

static void mismatch(const char *call, uint64_t p, uint64_t n, long got, long want,
		     uint64_t fixups, enum fix want_fixup)
{
	if (++mismatches <= 5)
		printf("fuzz: MISMATCH %s(%#lx, %#lx): got %ld (%lu fixups), expected %ld (%s)\n",
		       call, p, n, got, fixups, want,
		       want_fixup == FIX_SOME ? "a fixup" : want_fixup == FIX_NONE ? "no fixup" : "");
}

static void check(const char *call, uint64_t p, uint64_t n, long got, long want,
		  enum fix want_fixup, uint64_t fixups_before)
{
	uint64_t fixups;

	calls++;
	if (stats(&st_after) != 0) {
		printf("fuzz: stats failed\n");
		exit(100);
	}
	calls++;
	fixups = st_after.fixups - fixups_before;
	if (got != want || (want_fixup != FIX_ANY && (fixups != 0) != (want_fixup == FIX_SOME)))
		mismatch(call, p, n, got, want, fixups, want_fixup);
}

/* write(FD_NULL) or read(FD_SOURCE): the number of bytes before the first bad one. */
static void fuzz_rw(bool is_read, uint64_t before)
{
	uint64_t p = draw_ptr(is_read), n = draw_len(), k = 0, want_n;
	long got, want;
	bool fault = false;

	if (is_read && p >= USER_MAX - 16 && p < USER_MAX)
		n = MIN(n, USER_MAX - p); /* top page: only the argv strings are expendable */
	if (!range_ok(p, n)) {
		want = -EFAULT;
	} else {
		want_n = MIN(n, SYSCALL_RW_MAX);
		k = accessible(p, want_n, is_read);
		fault = k < want_n;
		want = n == 0 ? 0 : (k ? (long)k : -EFAULT);
	}
	got = is_read ? read(FD_SOURCE, (void *)p, n) : write(FD_NULL, (void *)p, n);
	check(is_read ? "read" : "write", p, n, got, want, fault ? FIX_SOME : FIX_NONE, before);
	if (is_read && got > 0)
		for (long i = 0; i < got; i++)
			if (((uint8_t *)p)[i] != syscall_source_byte((uint64_t)i)) {
				mismatch("read-content", p, n, i, -1, 0, false);
				break;
			}
}

/* The model of strncpy_from_user + lookup for stat(p, &st). */
static long expect_stat(uint64_t p, bool *fault)
{
	uint64_t max;

	*fault = false;
	if (p >= USER_MAX)
		return -EFAULT;
	max = MIN((uint64_t)PATH_MAX, USER_MAX - p);
	for (uint64_t i = 0; i < max; i++) {
		if (!accessible(p + i, 1, false)) {
			*fault = true;
			return -EFAULT;
		}
		if (((const char *)p)[i] == '\0') {
			const char *s = (const char *)p;

			return strcmp(s, "hello") == 0 || strcmp(s, "/boot/user/hello") == 0 ?
				       0 : -ENOENT;
		}
	}
	return max == PATH_MAX ? -ENAMETOOLONG : -EFAULT;
}

static void fuzz_stat(uint64_t before)
{
	static struct ustat st;
	uint64_t p = draw_ptr(false);
	bool fault;
	long want;

	/* Sometimes plant a real name, so that the success path is fuzzed too. */
	if (rng_below(&rng, 8) == 0 && accessible(p, 6, true) == 6 && p < STACK_SAFE)
		memcpy((void *)p, "hello", 6);
	want = expect_stat(p, &fault);
	/* Only a string that ends (in a NUL or at PATH_MAX) is valid: -EFAULT is not. */
	check("stat", p, 0, stat((const char *)p, &st), want,
	      want != -EFAULT ? FIX_ANY : fault ? FIX_SOME : FIX_NONE, before);
}

static void fuzz_stats(uint64_t before)
{
	uint64_t p = draw_ptr(true), n = sizeof(struct ustats);
	bool fault = false;
	long want = -EFAULT;

	if (range_ok(p, n)) {
		fault = accessible(p, n, true) < n;
		want = fault ? -EFAULT : 0;
	}
	check("stats", p, n, stats((struct ustats *)p), want, fault ? FIX_SOME : FIX_NONE, before);
}

static void setup(void)
{
	if (mmap(RW, RW_PAGES * P, PROT_WRITE) || mmap(RO, P, 0) ||
	    mmap(RESERVED, RESERVED_PAGES * P, PROT_WRITE | PROT_RESERVE)) {
		printf("fuzz: mmap failed\n");
		exit(100);
	}
	/* Random bytes with a NUL now and then: strings of every length. */
	for (uint64_t i = 0; i < RW_PAGES * P; i++) {
		uint8_t b = (uint8_t)rng_next(&rng);

		((uint8_t *)RW)[i] = b < 16 ? 0 : b;
	}
}

/* Give the reserved region back and take it again: frames freed while running. */
static void remap_reserved(void)
{
	if (munmap(RESERVED, RESERVED_PAGES * P) || mmap(RESERVED, RESERVED_PAGES * P, PROT_WRITE | PROT_RESERVE)) {
		printf("fuzz: remap failed\n");
		exit(100);
	}
	calls += 2;
}

int main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? strtoul(argv[1], NULL, 0) : 1000;
	uint64_t seed = argc > 2 ? strtoul(argv[2], NULL, 0) : 1;
	struct ustats st0;

	rng_seed(&rng, seed);
	setup();
	if (stats(&st0) != 0) {
		printf("fuzz: stats failed\n");
		return 100;
	}
	st_after = st0;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t before = st_after.fixups;

		switch (rng_below(&rng, 4)) {
		case 0:
			fuzz_rw(false, before);
			break;
		case 1:
			fuzz_rw(true, before);
			break;
		case 2:
			fuzz_stat(before);
			break;
		default:
			fuzz_stats(before);
			break;
		}
		if (i % REMAP_EVERY == REMAP_EVERY - 1)
			remap_reserved();
	}
	printf("fuzz: %lu calls, %ld syscalls, %ld mismatches, %lu fixups, %lu EFAULTs\n", n, calls,
	       mismatches, st_after.fixups - st0.fixups, st_after.efaults - st0.efaults);
	return mismatches > 100 ? 100 : (int)mismatches;
}
