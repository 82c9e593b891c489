/*
 * Host unit tests for lab 3's portable code (kern/uaccess.c), over the
 * simulated copy routines and user memory of tests/host/uaccess_host.c and
 * the simulated CPU of tests/host/cpu_host.c:
 *  - access_ok: edge cases and random ranges against 128-bit arithmetic;
 *  - copy: copy_from_user/copy_to_user with a fault at every interesting
 *    byte (exact counts, zeroed tail, nothing past n), bad pointers that
 *    must never reach the raw copy, sizes over INT_MAX left untouched;
 *  - strncpy: strncpy_from_user's three outcomes and the end of the user range;
 *  - fixup: the exception table sorted and searched (kern/extable.c),
 *    uaccess_fault_handler, and uaccess_init's handlers for #PF and #GP;
 *  - protect: uaccess_init_cpu's CR4 (SMEP/SMAP only if CPUID has them) and CR0.WP.
 * The assembly (kern/uaccess_asm.S) runs only in the kernel: make grade-lab3.
 */
#include <check.h>

#include "tests/host/check_err.h"

#include "kern/trap.h"
#include "kern/x86.h"
#include "lib/errno.h"
#include "lib/random.h"
#include "lib/string.h"
#include "tests/host/cpu_host.h"
#include "tests/host/uaccess_host.h"

#define UBASE 0x400000UL
#define ULEN (3 * PAGE_SIZE)
#define KADDR 0xffffffff80100000UL
#define NONCANON 0x0000800000000000UL
#define GUARD 0xa5

static uint8_t kbuf[2 * PAGE_SIZE + 64];

static void setup(void)
{
	host_cpu_reset(1, true, true);
	uaccess_host_reset(UBASE, ULEN);
}

/* ---- access_ok ---------------------------------------------------------------- */

static bool model_ok(uint64_t p, uint64_t len)
{
	return (unsigned __int128)p + len <= USER_MAX;
}

START_TEST(test_access_ok)
{
	static const struct {
		uint64_t p, len;
	} cases[] = {
		{ 0, 0 },
		{ 0, 1 },
		{ 0, USER_MAX },
		{ 0, USER_MAX + 1 },
		{ 1, USER_MAX },
		{ USER_MAX, 0 },
		{ USER_MAX, 1 },
		{ USER_MAX - 1, 1 },
		{ USER_MAX - 1, 2 },
		{ USER_MAX + 1, 0 },
		{ USER_TOP - 1, 1 },
		{ USER_TOP, 0 },
		{ NONCANON, 0 },
		{ KADDR, 16 },
		{ 0x1000, ~0UL },
		{ 0x1000, ~0UL - 0xfff },
		{ 0x1000, ~0UL - 0xffe },
		{ USER_MAX - 0x1000, 0x1000 },
		{ USER_MAX - 0x1000, 0x1001 },
		{ ~0UL, 1 },
		{ ~0UL, 0 },
		{ UBASE, ~0UL - UBASE + 1 },
	};
	struct rng r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool want = model_ok(cases[i].p, cases[i].len);

		ck_assert_msg(access_ok((const void *)cases[i].p, cases[i].len) == want,
			      "access_ok(%#lx, %#lx) returned %d, expected %d", cases[i].p,
			      cases[i].len, !want, want);
	}
	rng_seed(&r, 3);
	for (int i = 0; i < 20000; i++) {
		uint64_t p = rng_next(&r), len = rng_next(&r);

		/* Mostly near the interesting places: 0, USER_MAX, and small lengths. */
		switch (i % 4) {
		case 0:
			p = USER_MAX - (p % 0x10000);
			break;
		case 1:
			p %= 0x10000;
			break;
		case 2:
			len = -(len % 0x10000);
			break;
		}
		if (i % 8 < 4)
			len %= 0x20000;
		if (access_ok((const void *)p, len) != model_ok(p, len))
			ck_abort_msg("access_ok(%#lx, %#lx) returned %d", p, len,
				     !model_ok(p, len));
	}
}
END_TEST

/* ---- copies ---------------------------------------------------------------------- */

static size_t from_user(uint64_t src, size_t n)
{
	memset(kbuf, GUARD, sizeof(kbuf));
	uaccess_host_kernel(kbuf, n);
	return copy_from_user(kbuf, (const void *)src, n);
}

/* kbuf after copy_from_user(src, n) returned left: user bytes, zeroed tail, untouched after. */
#define expect_from(...) expect_from_at(CK_HERE, __VA_ARGS__)
static void expect_from_at(CK_SITE, uint64_t src, size_t n, size_t left)
{
	CK_ENTER;
	for (size_t i = 0; i < sizeof(kbuf); i++) {
		uint8_t want = i >= n ? GUARD : i < n - left ? uaccess_host_byte(src + i) : 0;

		/* Not ck_assert per byte: each one costs a message to the parent process. */
		if (kbuf[i] != want)
			ck_abort_msg(
				"copy_from_user(dst, %#lx, %zu) returned %zu: dst[%zu] is %#x, "
				"expected %#x (%s)",
				src, n, left, i, kbuf[i], want,
				i >= n	     ? "written past dst + n" :
				i < n - left ? "a copied byte" :
					       "the uncopied tail must be zeroed");
	}
}

START_TEST(test_copy)
{
	static const size_t sizes[] = { 1, 7, 8, 9, 15, 64, 100, PAGE_SIZE, PAGE_SIZE + 13 };

	/* Whole copies, both ways, at odd offsets. */
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
		for (uint64_t off = 0; off < 9; off += 3) {
			uint64_t u = UBASE + off;
			size_t n = sizes[s];

			ck_assert_uint_eq(from_user(u, n), 0);
			expect_from(u, n, 0);
		}

	/* A fault at byte k of n: exactly k bytes copied, both ways. */
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		size_t n = sizes[s];
		size_t ks[] = { 0, 1, n / 2, n - 1 };

		for (int j = 0; j < 4; j++) {
			uint64_t u = UBASE + PAGE_SIZE - 3;
			size_t k = ks[j], left;

			uaccess_host_reset(UBASE, ULEN);
			uaccess_host_fault_from(u + k);
			left = from_user(u, n);
			ck_assert_msg(
				left == n - k,
				"copy_from_user of %zu bytes, the byte at %zu faults: returned %zu, "
				"expected %zu",
				n, k, left, n - k);
			expect_from(u, n, left);

			memset(kbuf, 0x3c, sizeof(kbuf));
			uaccess_host_kernel(kbuf, n);
			left = copy_to_user((void *)u, kbuf, n);
			ck_assert_msg(
				left == n - k,
				"copy_to_user of %zu bytes, the byte at %zu faults: returned %zu, "
				"expected %zu",
				n, k, left, n - k);
			for (size_t i = 0; i < n; i++)
				if (*uaccess_host_mem(u + i) !=
				    (i < k ? 0x3c : uaccess_host_byte(u + i)))
					ck_abort_msg(
						"copy_to_user of %zu bytes, the byte at %zu faults: "
						"user byte %zu %s",
						n, k, i, i < k ? "not written" : "written");
		}
	}

	/* Bad pointers: everything zeroed; the raw copy never sees a kernel address. */
	uaccess_host_reset(UBASE, ULEN);
	ck_assert_uint_eq(from_user(0, 16), 16);
	expect_from(0, 16, 16);
	{
		static const uint64_t bad[] = { KADDR, NONCANON, USER_MAX, USER_MAX - 8, ~0UL - 7 };

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			unsigned long calls = uaccess_host_calls();

			ck_assert_msg(from_user(bad[i], 16) == 16,
				      "copy_from_user(dst, %#lx, 16) did not return 16", bad[i]);
			expect_from(bad[i], 16, 16);
			uaccess_host_kernel(kbuf, 16);
			ck_assert_msg(copy_to_user((void *)bad[i], kbuf, 16) == 16,
				      "copy_to_user(%#lx, src, 16) did not return 16", bad[i]);
			ck_assert_msg(uaccess_host_calls() == calls,
				      "a copy with the bad address %#lx reached __uaccess_copy",
				      bad[i]);
		}
	}
	/* A length that wraps around. */
	ck_assert_uint_eq(from_user(UBASE, 0), 0);
	uaccess_host_kernel(kbuf, 16);
	ck_assert_uint_eq(copy_to_user((void *)UBASE, kbuf, ~0UL - UBASE + 0x10),
			  ~0UL - UBASE + 0x10);

	/* Over UACCESS_SIZE_MAX: returned at once, nothing touched, dst not zeroed. */
	{
		size_t huge[] = { UACCESS_SIZE_MAX + 1, ~0UL };

		unsigned long calls = uaccess_host_calls();

		for (int i = 0; i < 2; i++) {
			memset(kbuf, GUARD, sizeof(kbuf));
			uaccess_host_kernel(kbuf, sizeof(kbuf));
			ck_assert_uint_eq(copy_from_user(kbuf, (const void *)UBASE, huge[i]),
					  huge[i]);
			ck_assert_uint_eq(copy_to_user((void *)UBASE, kbuf, huge[i]), huge[i]);
			for (size_t j = 0; j < sizeof(kbuf); j++)
				if (kbuf[j] != GUARD)
					ck_abort_msg("size %#zx: dst[%zu] changed", huge[i], j);
			ck_assert_msg(uaccess_host_calls() == calls,
				      "size %#zx reached __uaccess_copy", huge[i]);
		}
	}
}
END_TEST

/* ---- strncpy_from_user ---------------------------------------------------------- */

static long strncpy_at(uint64_t src, long count)
{
	long r;

	memset(kbuf, GUARD, sizeof(kbuf));
	uaccess_host_kernel(kbuf, count > 0 ? (size_t)count : 0);
	uaccess_host_reading_only(true);
	r = strncpy_from_user((char *)kbuf, (const char *)src, count);
	uaccess_host_reading_only(false);
	return r;
}

START_TEST(test_strncpy)
{
	/* User memory ends at USER_MAX, as the top of the stack does. */
	uint64_t top = USER_MAX - ULEN;
	long r;

	uaccess_host_reset(top, ULEN);
	memcpy(uaccess_host_mem(top + 10), "hello", 6);
	r = strncpy_at(top + 10, 64);
	ck_assert_msg(r == 5, "strncpy_from_user(\"hello\", 64) returned %ld, expected 5", r);
	ck_assert_msg(memcmp(kbuf, "hello", 6) == 0, "dst does not hold \"hello\" and its NUL");

	r = strncpy_at(top + 10, 3);
	ck_assert_msg(r == 3,
		      "strncpy_from_user(\"hello\", 3): no NUL within 3 bytes, returned %ld, "
		      "expected 3 (count)",
		      r);
	r = strncpy_at(top + 10, 6);
	ck_assert_msg(r == 5, "strncpy_from_user(\"hello\", 6) returned %ld, expected 5", r);

	ck_assert_int_eq(strncpy_at(top, 0), 0);
	ck_assert_int_eq(strncpy_at(top, -5), 0);
	ck_assert_uint_eq(uaccess_host_calls(), 3);

	/* A fault before the NUL. */
	uaccess_host_fault_from(top + 12);
	r = strncpy_at(top + 10, 64);
	ck_assert_msg(r == -EFAULT, "a fault inside the string: returned %ld, expected -EFAULT", r);
	uaccess_host_fault_from(top + ULEN);

	/* The last bytes below USER_MAX: a NUL on the very last one is fine... */
	*uaccess_host_mem(USER_MAX - 1) = 0;
	r = strncpy_at(USER_MAX - 5, 100);
	ck_assert_msg(r == 4,
		      "a string whose NUL is the last byte below USER_MAX: returned %ld, "
		      "expected 4",
		      r);
	/* ...no NUL before USER_MAX is not a string, even though count goes further... */
	*uaccess_host_mem(USER_MAX - 1) = 'x';
	r = strncpy_at(USER_MAX - 5, 100);
	ck_assert_msg(r == -EFAULT,
		      "no NUL before USER_MAX (count 100): returned %ld, expected "
		      "-EFAULT",
		      r);
	/* ...but with count ending exactly at USER_MAX it is "no NUL within count". */
	r = strncpy_at(USER_MAX - 5, 5);
	ck_assert_msg(r == 5,
		      "no NUL within count 5, which ends at USER_MAX: returned %ld, "
		      "expected 5",
		      r);

	/* Not user addresses at all: never reach the raw routine. */
	{
		static const uint64_t bad[] = { USER_MAX, USER_TOP - 1, NONCANON, KADDR, ~0UL };
		unsigned long calls = uaccess_host_calls();

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			r = strncpy_at(bad[i], 16);
			ck_assert_msg(r == -EFAULT,
				      "strncpy_from_user(%#lx, 16) returned %ld, expected "
				      "-EFAULT",
				      bad[i], r);
		}
		ck_assert_msg(uaccess_host_calls() == calls,
			      "strncpy_from_user handed an address at or above USER_MAX to "
			      "__uaccess_strncpy");
	}
}
END_TEST

/* ---- the exception table and the fault handler --------------------------------- */

#define INSN(i) (0xffffffff80200000UL + 0x40 * (uint64_t)(i))
#define FIXUP(i) (0xffffffff80300000UL + 0x40 * (uint64_t)(i))

/* Fill the table with entries 0..N-1 in a seeded shuffled order. */
static void fill_extable(uint64_t seed)
{
	struct rng r;

	for (int i = 0; i < HOST_EXTABLE_N; i++)
		__extable_start[i] = (struct extable_entry){ INSN(i), FIXUP(i) };
	rng_seed(&r, seed);
	for (int i = HOST_EXTABLE_N - 1; i > 0; i--) {
		int j = (int)(rng_next(&r) % (uint64_t)(i + 1));
		struct extable_entry t = __extable_start[i];

		__extable_start[i] = __extable_start[j];
		__extable_start[j] = t;
	}
}

/* Does some handler registered for vector resume a kernel fault at INSN(i) at its fixup? */
#define handled(...) handled_at(CK_HERE, __VA_ARGS__)
static bool handled_at(CK_SITE, int vector, int i)
{
	CK_ENTER;
	for (int k = 0; k < 4 && host_fault_handler(vector, k); k++) {
		struct trapframe tf = { .rip = INSN(i), .cs = 0x08, .vector = (uint64_t)vector };

		if (host_fault_handler(vector, k)(&tf)) {
			ck_assert_msg(tf.rip == FIXUP(i),
				      "vector %d: a handler returned true but rip is "
				      "%#lx, not the fixup %#lx",
				      vector, tf.rip, FIXUP(i));
			return true;
		}
	}
	return false;
}

START_TEST(test_fixup)
{
	struct trapframe tf;
	uint64_t before;
	jmp_buf caught;

	fill_extable(7);
	uaccess_init();
	ck_assert_uint_eq(extable_size(), HOST_EXTABLE_N);
	for (int i = 0; i < HOST_EXTABLE_N; i++)
		ck_assert_msg(__extable_start[i].insn == INSN(i), "extable_init: entry %d is %#lx",
			      i, __extable_start[i].insn);
	for (int i = 0; i < HOST_EXTABLE_N; i++) {
		const struct extable_entry *e = extable_search(INSN(i));

		ck_assert_msg(e && e->fixup == FIXUP(i), "extable_search(%#lx) missed", INSN(i));
		ck_assert_ptr_null(extable_search(INSN(i) + 1));
	}
	ck_assert_ptr_null(extable_search(INSN(0) - 1));
	ck_assert_ptr_null(extable_search(0));

	/* The handler: kernel faults at a table entry only. */
	before = extable_fixups();
	tf = (struct trapframe){ .rip = INSN(5), .cs = 0x08, .vector = T_PGFLT };
	ck_assert_msg(uaccess_fault_handler(&tf), "uaccess_fault_handler declined a kernel #PF at "
						  "an instruction with a table entry");
	ck_assert_msg(tf.rip == FIXUP(5),
		      "uaccess_fault_handler: rip %#lx, expected the fixup %#lx", tf.rip, FIXUP(5));
	ck_assert_uint_eq(extable_fixups(), before + 1);
	tf = (struct trapframe){ .rip = INSN(5) + 2, .cs = 0x08, .vector = T_PGFLT };
	ck_assert_msg(!uaccess_fault_handler(&tf) && tf.rip == INSN(5) + 2,
		      "uaccess_fault_handler took a fault at an instruction without a table entry");
	tf = (struct trapframe){ .rip = INSN(5), .cs = 0x23, .vector = T_PGFLT };
	ck_assert_msg(!uaccess_fault_handler(&tf) && tf.rip == INSN(5),
		      "uaccess_fault_handler took a fault in user mode (cs %#lx)", tf.cs);
	ck_assert_uint_eq(extable_fixups(), before + 1);

	/* Registered for both vectors a bad user pointer raises. */
	ck_assert_msg(handled(T_PGFLT, 3), "no handler registered for #PF resumes at the fixup");
	ck_assert_msg(handled(T_GPFLT, 3), "no handler registered for #GP resumes at the fixup "
					   "(a non-canonical user pointer raises #GP)");

	/* Two entries for one instruction are a bug in the kernel: extable_init panics. */
	fill_extable(8);
	__extable_start[3].insn = __extable_start[9].insn;
	host_panic_expect = &caught;
	if (setjmp(caught) == 0) {
		extable_init();
		ck_abort_msg("extable_init accepted two entries for one instruction");
	}
	host_panic_expect = NULL;
}
END_TEST

/* ---- SMEP, SMAP, WP ---------------------------------------------------------------- */

START_TEST(test_protect)
{
	for (int f = 0; f < 4; f++) {
		bool smep = f & 1, smap = f & 2;
		uint64_t cr4;

		host_cpu_reset(1, smep, smap);
		uaccess_init_cpu();
		cr4 = read_cr4();
		ck_assert_msg(!host_cpu_bad_cr4(),
			      "CPUID: SMEP %s, SMAP %s: uaccess_init_cpu set a CR4 "
			      "bit the CPU does not have (QEMU's TCG hangs)",
			      smep ? "yes" : "no", smap ? "yes" : "no");
		ck_assert_msg(!smep || (cr4 & CR4_SMEP), "SMEP available but not turned on");
		ck_assert_msg(!smap || (cr4 & CR4_SMAP), "SMAP available but not turned on");
		ck_assert_msg(cr4 & CR4_PAE && cr4 & CR4_PGE,
			      "uaccess_init_cpu cleared other CR4 bits");
		ck_assert_msg(read_cr0() & CR0_WP, "CR0.WP is clear after uaccess_init_cpu");
		ck_assert_msg(read_cr0() & CR0_PG, "uaccess_init_cpu cleared CR0.PG");
	}
}
END_TEST

Suite *uaccess_suite(void)
{
	Suite *s = suite_create("uaccess");
	struct {
		const char *name;
		const TTest *test;
	} cases[] = {
		{ "access_ok", test_access_ok }, { "copy", test_copy },
		{ "strncpy", test_strncpy },	 { "fixup", test_fixup },
		{ "protect", test_protect },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		TCase *tc = tcase_create(cases[i].name);

		tcase_add_checked_fixture(tc, setup, NULL);
		tcase_add_test(tc, cases[i].test);
		suite_add_tcase(s, tc);
	}
	return s;
}
