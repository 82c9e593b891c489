/*
 * lab3.*: user-pointer validation and fault-tolerant copies (kern/uaccess.c,
 * kern/uaccess_asm.S), then the same through real user programs (user/).
 *
 * The in-kernel tests build a small user address space with a known layout
 * (addresses from the seed) and call the copy routines on it:
 *
 *   base          two read-write pages (random bytes)
 *   base + 2P     a hole: never mapped
 *   base + 3P     a read-only page
 *   base + 4P     RESERVED_PAGES demand-zero pages
 *   base + 8P     an executable page holding `ret` (for the SMEP check)
 *   USER_MAX - P  the last page below the guard page, read-write
 *
 * Every copy runs under a fault catcher, so a fault that is not fixed up
 * fails its test with a message instead of panicking the run. After each
 * copy RFLAGS.AC must be clear again (no stac left behind). Expected user
 * bytes are read through the direct map, never through the code under test.
 */
#include "kern/aspace.h"
#include "kern/console.h"
#include "kern/extable.h"
#include "kern/frame.h"
#include "kern/memview.h"
#include "kern/proc.h"
#include "kern/syscall.h"
#include "kern/test/ktest.h"
#include "kern/trap.h"
#include "kern/uaccess.h"
#include "kern/x86.h"
#include "lib/errno.h"
#include "lib/printfmt.h"
#include "lib/string.h"

#define P PAGE_SIZE
#define RESERVED_PAGES 4
#define CANARY 0xa5
#define SLACK 16 /* canary bytes checked after each kernel buffer */
#define MAXCOPY (3 * P)
#define KERNEL_ADDR 0xffffffff80100000UL
#define NONCANON_LOW 0x0000800000000000UL /* the first non-canonical address */
#define NONCANON_HIGH 0xdead000000000000UL

struct layout {
	struct aspace as;
	struct aspace *prev;
	uint64_t rw, hole, ro, reserved, exec, top;
};

static struct layout L;
static uint8_t kbuf[MAXCOPY + SLACK], ksrc[MAXCOPY + SLACK];
static const char kernel_secret[64] = "lab3 kernel secret: must never reach user space";

/* ---- The test address space --------------------------------------------- */

static void layout_teardown(void *arg)
{
	aspace_activate(L.prev);
	memview_untrack(&L.as);
	aspace_destroy(&L.as);
}

/* kview - the kernel's direct-map view of mapped user address va (NULL if unmapped). */
static uint8_t *kview(uint64_t va)
{
	struct pt_translation t;

	if (aspace_translate(&L.as, va, &t) < 0)
		return NULL;
	return pa2kva(t.pa);
}

static void fill_random(uint64_t va, size_t n)
{
	for (size_t i = 0; i < n; i++)
		*kview(va + i) = (uint8_t)rng_next(ktest_rng());
}

/* Builds the layout in a fresh space and makes it current until the test ends. */
static void layout_setup(void)
{
	uint64_t base = ROUNDDOWN(rng_range(ktest_rng(), 1UL << 30, 1UL << 40), 1UL << 21);

	memset(&L, 0, sizeof(L));
	L.rw = base;
	L.hole = base + 2 * P;
	L.ro = base + 3 * P;
	L.reserved = base + 4 * P;
	L.exec = base + 8 * P;
	L.top = USER_MAX - P;
	KT_EQ_ERR(aspace_init(&L.as), 0);
	L.prev = aspace_current();
	ktest_defer(layout_teardown, NULL);
	memview_track(&L.as, "lab3");
	KT_EQ_ERR(aspace_alloc(&L.as, L.rw, 2 * P, AS_USER | AS_WRITE), 0);
	KT_EQ_ERR(aspace_alloc(&L.as, L.ro, P, AS_USER), 0);
	KT_EQ_ERR(aspace_reserve(&L.as, L.reserved, RESERVED_PAGES * P, AS_USER | AS_WRITE), 0);
	KT_EQ_ERR(aspace_alloc(&L.as, L.exec, P, AS_USER | AS_EXEC), 0);
	KT_EQ_ERR(aspace_alloc(&L.as, L.top, P, AS_USER | AS_WRITE), 0);
	fill_random(L.rw, 2 * P);
	fill_random(L.top, P);
	memset(kview(L.ro), 'r', P);
	*kview(L.exec) = 0xc3; /* ret */
	aspace_activate(&L.as);
}

/* ---- Calling the routines under test ------------------------------------ */

enum op_kind { OP_FROM, OP_TO, OP_STRNCPY, OP_RAW_COPY, OP_RAW_STRNCPY };

static const char *const op_names[] = {
	"copy_from_user", "copy_to_user", "strncpy_from_user", "__uaccess_copy",
	"__uaccess_strncpy",
};

static long run_op(enum op_kind kind, void *dst, const void *src, size_t n)
{
	switch (kind) {
	case OP_FROM:
		return (long)copy_from_user(dst, src, n);
	case OP_TO:
		return (long)copy_to_user(dst, src, n);
	case OP_STRNCPY:
		return strncpy_from_user(dst, src, (long)n);
	case OP_RAW_COPY:
		return (long)__uaccess_copy(dst, src, n);
	case OP_RAW_STRNCPY:
		return __uaccess_strncpy(dst, src, n);
	}
	return 0;
}

/*
 * call - run one routine; fail the test if it faulted instead of returning
 * (no exception-table entry or fixup) or left RFLAGS.AC set.
 */
static long call(enum op_kind kind, void *dst, const void *src, size_t n)
{
	long r = KT_CALL_HINT(run_op(kind, dst, src, n),
			      "it raised an exception instead of returning: no exception-table "
			      "fixup for it?");

	KT_ASSERT_MSG(!(read_rflags() & RFLAGS_AC),
		      "RFLAGS.AC is still set after %s(%p, %p, %#zx): a path without clac",
		      op_names[kind], dst, src, n);
	return r;
}

static void check_fixups(uint64_t before, bool want, const char *what)
{
	uint64_t delta = extable_fixups() - before;

	if (want)
		KT_ASSERT_MSG(delta > 0, "%s: no exception-table fixup was taken", what);
	else
		KT_ASSERT_MSG(delta == 0, "%s: %lu exception-table fixup(s) taken, expected none",
			      what, delta);
}

/*
 * expect_from - copy_from_user(kbuf, src, n) must copy exactly `good` bytes
 * (the user's), zero the rest of the n, not touch kbuf past n, and take a
 * fixup exactly when fixup says.
 */
static void expect_from(uint64_t src, size_t n, size_t good, bool fixup)
{
	uint64_t f0 = extable_fixups();
	size_t left;

	memset(kbuf, CANARY, n + SLACK);
	left = (size_t)call(OP_FROM, kbuf, (const void *)src, n);
	KT_ASSERT_MSG(left == n - good, "copy_from_user(%#lx, %#zx) returned %zu, expected %zu",
		      src, n, left, n - good);
	for (size_t i = 0; i < good; i++)
		KT_ASSERT_MSG(kbuf[i] == *kview(src + i),
			      "copy_from_user(%#lx, %#zx): byte %zu differs from the user's", src,
			      n, i);
	for (size_t i = good; i < n; i++)
		KT_ASSERT_MSG(kbuf[i] == 0,
			      "copy_from_user(%#lx, %#zx): byte %zu of the uncopied tail is %#x, "
			      "not zeroed", src, n, i, kbuf[i]);
	for (size_t i = n; i < n + SLACK; i++)
		KT_ASSERT_MSG(kbuf[i] == CANARY, "copy_from_user(%#lx, %#zx) wrote past dst + n",
			      src, n);
	check_fixups(f0, fixup, "copy_from_user");
}

/* A snapshot of the mapped bytes of [va, va + n) through the direct map. */
struct snapshot {
	uint8_t byte[MAXCOPY + SLACK];
	bool mapped[MAXCOPY + SLACK];
};

static struct snapshot snap;

static void take_snapshot(uint64_t va, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t *p = va + i >= va && va + i < USER_TOP ? kview(va + i) : NULL;

		snap.mapped[i] = p != NULL;
		snap.byte[i] = p ? *p : 0;
	}
}

/*
 * expect_to - copy_to_user(dst, ksrc, n) must deliver exactly `good` bytes,
 * leave every other user byte (up to SLACK past n) alone, and take a fixup
 * exactly when fixup says.
 */
static void expect_to(uint64_t dst, size_t n, size_t good, bool fixup)
{
	uint64_t f0 = extable_fixups();
	size_t left;

	for (size_t i = 0; i < n; i++)
		ksrc[i] = (uint8_t)rng_next(ktest_rng());
	take_snapshot(dst, n + SLACK);
	left = (size_t)call(OP_TO, (void *)dst, ksrc, n);
	KT_ASSERT_MSG(left == n - good, "copy_to_user(%#lx, %#zx) returned %zu, expected %zu",
		      dst, n, left, n - good);
	for (size_t i = 0; i < n + SLACK; i++) {
		uint8_t *p;

		if (!snap.mapped[i])
			continue;
		p = kview(dst + i);
		if (i < good)
			KT_ASSERT_MSG(*p == ksrc[i], "copy_to_user(%#lx, %#zx): byte %zu not copied",
				      dst, n, i);
		else
			KT_ASSERT_MSG(*p == snap.byte[i],
				      "copy_to_user(%#lx, %#zx): user byte %zu changed although "
				      "only %zu bytes were to be copied", dst, n, i, good);
	}
	check_fixups(f0, fixup, "copy_to_user");
}

/* A valid copy each way: every bad-pointer test starts with one. */
static void expect_valid_neighbour(void)
{
	size_t n = rng_range(ktest_rng(), 1, P);
	uint64_t off = rng_below(ktest_rng(), 2 * P - n + 1);

	expect_from(L.rw + off, n, n, false);
	expect_to(L.rw + off, n, n, false);
}

/* ---- access_ok ---------------------------------------------------------- */

static bool model_access_ok(uint64_t ptr, uint64_t len)
{
	unsigned __int128 end = (unsigned __int128)ptr + len;

	return end <= USER_MAX;
}

KTEST(lab3, access_ok)
{
	static const struct {
		uint64_t ptr, len;
		bool ok;
	} cases[] = {
		{ 0, 0, true },
		{ 0, 1, true },
		{ 0x1000, 4096, true },
		{ USER_MAX - 1, 1, true },
		{ USER_MAX - 4096, 4096, true },
		{ USER_MAX, 0, true },
		{ USER_MAX, 1, false },
		{ USER_MAX - 16, 17, false },
		{ USER_TOP - 1, 1, false },
		{ NONCANON_LOW, 1, false },
		{ KERNEL_ADDR, 16, false },
		{ DMAP_BASE, 1, false },
		{ 0x1000, ~0UL, false },
		{ 0x1000, 0UL - 0x800, false },		  /* ptr + len wraps to 0x800 */
		{ USER_MAX - 16, 0UL - USER_MAX + 32, false }, /* wraps to 16 */
		{ ~0UL, 2, false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		bool got = access_ok((const void *)cases[i].ptr, cases[i].len);

		KT_ASSERT_MSG(got == cases[i].ok, "access_ok(%#lx, %#lx) = %d, expected %d",
			      cases[i].ptr, cases[i].len, got, cases[i].ok);
	}
	for (int i = 0; i < 2000; i++) {
		struct rng *r = ktest_rng();
		uint64_t ptr = rng_below(r, 2) ? USER_MAX - rng_below(r, 1UL << 20) : rng_next(r);
		uint64_t len = rng_below(r, 2) ? rng_below(r, 1UL << 21) : rng_next(r);
		bool got = access_ok((const void *)ptr, len);

		KT_ASSERT_MSG(got == model_access_ok(ptr, len),
			      "access_ok(%#lx, %#lx) = %d, expected %d", ptr, len, got, !got);
	}
}

/* ---- Valid copies ------------------------------------------------------- */

static size_t draw_size(void)
{
	static const size_t sizes[] = { 0, 1, 7, 8, 9, 63, 64, 65, 4095, 4096, 4097, 8192 };

	if (rng_below(ktest_rng(), 2))
		return sizes[rng_below(ktest_rng(), ARRAY_SIZE(sizes))];
	return rng_below(ktest_rng(), 2 * P + 1);
}

KTEST(lab3, copy)
{
	layout_setup();
	for (int i = 0; i < 40; i++) {
		size_t n = draw_size();
		uint64_t off = rng_below(ktest_rng(), 2 * P - n + 1);

		expect_from(L.rw + off, n, n, false);
		n = draw_size();
		off = rng_below(ktest_rng(), 2 * P - n + 1);
		expect_to(L.rw + off, n, n, false);
	}
	expect_from(L.ro, P, P, false);
}

/* ---- Sizes over INT_MAX -------------------------------------------------- */

/*
 * A size over INT_MAX is refused before anything is touched (kern/uaccess.h):
 * copy_from_user(kbuf, ubuf, ~0UL) must not zero "the uncopied tail", which
 * would wipe the kernel, and copy_to_user must not start copying.
 */
KTEST(lab3, copy_size)
{
	static const size_t huge[] = { ~0UL, UACCESS_SIZE_MAX + 1, 1UL << 32, 1UL << 63 };
	uint64_t at, f0;
	size_t left;

	layout_setup();
	expect_valid_neighbour();
	at = L.rw + rng_below(ktest_rng(), P);
	for (size_t i = 0; i < ARRAY_SIZE(huge); i++) {
		size_t n = huge[i];

		f0 = extable_fixups();
		memset(kbuf, CANARY, sizeof(kbuf));
		left = (size_t)call(OP_FROM, kbuf, (const void *)at, n);
		KT_ASSERT_MSG(left == n, "copy_from_user(%#lx, %#zx) returned %#zx, expected %#zx "
			      "(a size over INT_MAX is refused)", at, n, left, n);
		for (size_t j = 0; j < sizeof(kbuf); j++)
			KT_ASSERT_MSG(kbuf[j] == CANARY, "copy_from_user(%#lx, %#zx) wrote dst "
				      "byte %zu: a refused size must not be zeroed", at, n, j);
		check_fixups(f0, false, "copy_from_user with a size over INT_MAX");

		memset(ksrc, 'X', sizeof(ksrc));
		take_snapshot(at, P);
		left = (size_t)call(OP_TO, (void *)at, ksrc, n);
		KT_ASSERT_MSG(left == n, "copy_to_user(%#lx, %#zx) returned %#zx, expected %#zx "
			      "(a size over INT_MAX is refused)", at, n, left, n);
		for (size_t j = 0; j < P; j++)
			KT_ASSERT_MSG(*kview(at + j) == snap.byte[j], "copy_to_user(%#lx, %#zx) "
				      "changed user byte %zu: a refused size copies nothing", at, n,
				      j);
		check_fixups(f0, false, "copy_to_user with a size over INT_MAX");
	}
	/* INT_MAX itself is a legal size: the copy runs until the hole stops it. */
	f0 = extable_fixups();
	left = (size_t)call(OP_TO, (void *)(L.hole - 16), ksrc, UACCESS_SIZE_MAX);
	KT_ASSERT_MSG(left == UACCESS_SIZE_MAX - 16,
		      "copy_to_user(%#lx, INT_MAX) returned %#zx, expected %#zx (16 bytes "
		      "before the hole)", L.hole - 16, left, UACCESS_SIZE_MAX - 16);
	check_fixups(f0, true, "copy_to_user of INT_MAX bytes into a hole");
}

/* ---- Bad pointers ------------------------------------------------------- */

KTEST(lab3, null)
{
	size_t n = rng_range(ktest_rng(), 1, 64);

	layout_setup();
	expect_valid_neighbour();
	expect_from(0, n, 0, true);
	expect_to(0, n, 0, true);
	expect_from(rng_below(ktest_rng(), P - n), n, 0, true);
}

KTEST(lab3, kernel)
{
	uint64_t addrs[] = { (uint64_t)kernel_secret, (uint64_t)pa2kva(0x100000), KERNEL_ADDR };
	char copy[sizeof(kernel_secret)];

	layout_setup();
	expect_valid_neighbour();
	for (size_t i = 0; i < ARRAY_SIZE(addrs); i++) {
		uint64_t f0 = extable_fixups();
		size_t left = (size_t)call(OP_FROM, kbuf, (const void *)addrs[i], 32);

		KT_ASSERT_MSG(left == 32,
			      "copy_from_user from kernel address %#lx returned %zu, expected 32 "
			      "(nothing copied)", addrs[i], left);
		for (int j = 0; j < 32; j++)
			KT_ASSERT_MSG(kbuf[j] == 0, "copy_from_user from kernel address %#lx: "
				      "dst not zeroed", addrs[i]);
		check_fixups(f0, false, "copy_from_user from a kernel address");
	}
	memcpy(copy, kernel_secret, sizeof(copy));
	memset(ksrc, 'X', 32);
	KT_EQ(call(OP_TO, (void *)kernel_secret, ksrc, 32), 32);
	KT_ASSERT_MSG(memcmp(copy, kernel_secret, sizeof(copy)) == 0,
		      "copy_to_user wrote to a kernel address");
}

KTEST(lab3, noncanon)
{
	static const uint64_t addrs[] = { NONCANON_LOW, NONCANON_LOW + 0x1230, NONCANON_HIGH };

	layout_setup();
	expect_valid_neighbour();
	for (size_t i = 0; i < ARRAY_SIZE(addrs); i++) {
		uint64_t a = addrs[i], f0;
		long r;

		/* access_ok refuses these before any access. */
		KT_EQ(call(OP_FROM, kbuf, (const void *)a, 16), 16);
		KT_EQ(call(OP_TO, (void *)a, ksrc, 16), 16);
		KT_EQ_ERR(call(OP_STRNCPY, kbuf, (const void *)a, 16), -EFAULT);
		/*
		 * The raw routines must survive one too: a non-canonical
		 * access raises #GP, not #PF, and needs the same fixup.
		 */
		f0 = extable_fixups();
		r = call(OP_RAW_COPY, kbuf, (const void *)a, 16);
		KT_ASSERT_MSG(r == 16, "__uaccess_copy from %#lx returned %ld, expected 16", a, r);
		check_fixups(f0, true, "__uaccess_copy from a non-canonical address (#GP)");
		f0 = extable_fixups();
		r = call(OP_RAW_COPY, (void *)a, ksrc, 16);
		KT_ASSERT_MSG(r == 16, "__uaccess_copy to %#lx returned %ld, expected 16", a, r);
		check_fixups(f0, true, "__uaccess_copy to a non-canonical address (#GP)");
		f0 = extable_fixups();
		KT_EQ_ERR(call(OP_RAW_STRNCPY, kbuf, (const void *)a, 16), -EFAULT);
		check_fixups(f0, true, "__uaccess_strncpy from a non-canonical address (#GP)");
	}
}

KTEST(lab3, unmapped)
{
	size_t n = rng_range(ktest_rng(), 1, 2 * P);
	uint64_t at;

	layout_setup();
	at = L.hole + rng_below(ktest_rng(), 64);
	expect_valid_neighbour();
	expect_from(at, n, 0, true);
	expect_to(at, n, 0, true);
}

KTEST(lab3, partial)
{
	layout_setup();
	expect_valid_neighbour();
	for (int i = 0; i < 24; i++) {
		/* k good bytes before the hole, then m bad ones; k % 8 varies. */
		size_t k = i < 8 ? (size_t)i * 8 + 8 : rng_range(ktest_rng(), 1, 2 * P);
		size_t m = rng_range(ktest_rng(), 1, P);

		expect_from(L.hole - k, k + m, k, true);
		expect_to(L.hole - k, k + m, k, true);
	}
}

KTEST(lab3, wrap)
{
	uint64_t dst, f0;
	size_t lens[3];

	layout_setup();
	expect_valid_neighbour();
	dst = L.rw + 16;
	lens[0] = ~0UL;
	lens[1] = 0UL - dst + 64; /* dst + len wraps around to 64 */
	lens[2] = 0UL - 8;
	take_snapshot(L.rw, 2 * P);
	for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
		size_t left;

		f0 = extable_fixups();
		left = (size_t)call(OP_TO, (void *)dst, ksrc, lens[i]);
		KT_ASSERT_MSG(left == lens[i],
			      "copy_to_user(%#lx, len %#lx) returned %#zx: a length that wraps "
			      "around must copy nothing", dst, lens[i], left);
		check_fixups(f0, false, "copy_to_user with a wrapping length");
	}
	for (size_t i = 0; i < 2 * P; i++)
		KT_ASSERT_MSG(*kview(L.rw + i) == snap.byte[i],
			      "copy_to_user with a wrapping length changed user byte %#lx", L.rw + i);
	/* Small lengths past the end of the user range are refused the same way. */
	expect_from(USER_MAX - 8, 16, 0, false);
}

KTEST(lab3, top)
{
	size_t k = rng_range(ktest_rng(), 1, 64);
	uint64_t f0;

	layout_setup();
	expect_from(USER_MAX - k, k, k, false);
	expect_to(USER_MAX - k, k, k, false);
	expect_from(USER_MAX - k, k + 1, 0, false);
	expect_to(USER_MAX - k, k + 1, 0, false);
	expect_from(USER_MAX - P, P, P, false);
	/* A string whose NUL is the very last user byte. */
	memcpy(kview(USER_MAX - 3), "ab", 3);
	KT_EQ_ERR(call(OP_STRNCPY, kbuf, (const void *)(USER_MAX - 3), 64), 2);
	KT_ASSERT(memcmp(kbuf, "ab", 3) == 0);
	/* No NUL before the end of the user range: -EFAULT without touching the guard page. */
	memcpy(kview(USER_MAX - 3), "abc", 3);
	f0 = extable_fixups();
	KT_EQ_ERR(call(OP_STRNCPY, kbuf, (const void *)(USER_MAX - 3), 64), -EFAULT);
	check_fixups(f0, false, "strncpy_from_user running into the end of the user range");
}

KTEST(lab3, readonly)
{
	uint64_t off = rng_below(ktest_rng(), P - 64);

	layout_setup();
	expect_valid_neighbour();
	KT_ASSERT_MSG(read_cr0() & CR0_WP, "CR0.WP is clear: the kernel ignores read-only pages");
	expect_to(L.ro + off, 64, 0, true);
	expect_to(L.ro, P, 0, true);
	/* Partial: the last bytes of a writable page, then the hole; RO stays intact. */
	for (size_t i = 0; i < P; i++)
		KT_ASSERT_MSG(*kview(L.ro + i) == 'r', "the read-only page changed at %zu", i);
	expect_from(L.ro + off, 64, 64, false);
}

KTEST(lab3, strncpy)
{
	uint64_t f0, at;
	size_t len = rng_range(ktest_rng(), 1, 40);

	layout_setup();
	/* An ordinary string. */
	at = L.rw + rng_below(ktest_rng(), P);
	memset(kview(at), 'x', len);
	*kview(at + len) = 0;
	memset(kbuf, CANARY, 128);
	KT_EQ(call(OP_STRNCPY, kbuf, (const void *)at, 64), len);
	KT_ASSERT_MSG(kbuf[len] == 0 && kbuf[0] == 'x' && kbuf[len - 1] == 'x',
		      "strncpy_from_user did not copy the string and its NUL");
	KT_ASSERT_MSG(kbuf[len + 1] == CANARY, "strncpy_from_user wrote past the NUL");
	/* count 0, and a count that the string fills exactly (no NUL within count). */
	KT_EQ(call(OP_STRNCPY, kbuf, (const void *)at, 0), 0);
	memset(kbuf, CANARY, 128);
	KT_EQ(call(OP_STRNCPY, kbuf, (const void *)at, (long)len), len);
	KT_ASSERT_MSG(kbuf[len] == CANARY, "strncpy_from_user wrote past count");
	/*
	 * The NUL is the last byte of the last mapped page before the hole,
	 * with eight lengths, so that a copy reading a word at a time meets
	 * the hole in the middle of a word for some of them. The string is
	 * valid: it must be copied whole. A fixup on the way is allowed (a
	 * word read that faults and is redone bytewise, as Linux does).
	 */
	for (size_t k = 0; k < 8; k++) {
		at = L.hole - (len + k) - 1;
		memset(kview(at), 'y', len + k);
		*kview(L.hole - 1) = 0;
		memset(kbuf, CANARY, 128);
		KT_EQ(call(OP_STRNCPY, kbuf, (const void *)at, 64), len + k);
		KT_ASSERT_MSG(kbuf[len + k] == 0 && kbuf[0] == 'y' && kbuf[len + k - 1] == 'y',
			      "strncpy_from_user of a string ending at a page's last byte did not "
			      "copy the string and its NUL");
	}
	at = L.hole - len - 1;
	/* No NUL before the hole: the read faults. */
	*kview(L.hole - 1) = 'y';
	f0 = extable_fixups();
	KT_EQ_ERR(call(OP_STRNCPY, kbuf, (const void *)at, 64), -EFAULT);
	check_fixups(f0, true, "strncpy_from_user running into an unmapped page");
	/* ...unless count ends before the hole. */
	KT_EQ(call(OP_STRNCPY, kbuf, (const void *)at, (long)len), len);
	/* NULL and kernel pointers. */
	KT_EQ_ERR(call(OP_STRNCPY, kbuf, NULL, 16), -EFAULT);
	f0 = extable_fixups();
	KT_EQ_ERR(call(OP_STRNCPY, kbuf, kernel_secret, 16), -EFAULT);
	check_fixups(f0, false, "strncpy_from_user from a kernel address");
}

KTEST(lab3, demand_zero)
{
	size_t free0, n = 2 * P + 100;
	/* The write below covers pages 1..3 of the 4 reserved ones: start early enough. */
	uint64_t off = rng_below(ktest_rng(), P - 100);

	layout_setup();
	free0 = frame_free_count();
	/* Reading a never-touched page fills it with zeros; no fixup. */
	expect_from(L.reserved + off, 64, 64, false);
	for (int i = 0; i < 64; i++)
		KT_ASSERT_MSG(kbuf[i] == 0, "a demand-zero page did not read as zeros");
	KT_ASSERT_MSG(frame_free_count() < free0, "no frame was allocated for the demand-zero page");
	/* Writing across never-touched pages: they are filled during the copy. */
	expect_to(L.reserved + P + off, n, n, false);
}

KTEST(lab3, fixups)
{
	layout_setup();
	for (int i = 0; i < 200; i++) {
		size_t n = rng_range(ktest_rng(), 1, 256);

		switch (rng_below(ktest_rng(), 7)) {
		case 0: /* valid */
			expect_from(L.rw + rng_below(ktest_rng(), 2 * P - n), n, n, false);
			break;
		case 1: /* refused by access_ok: no access, no fixup */
			expect_from(USER_MAX - rng_below(ktest_rng(), n), n, 0, false);
			break;
		case 2: /* unmapped */
			expect_to(L.hole + rng_below(ktest_rng(), P - n), n, 0, true);
			break;
		case 3: /* read-only */
			expect_to(L.ro + rng_below(ktest_rng(), P - n), n, 0, true);
			break;
		case 4: /* demand-zero */
			expect_to(L.reserved + rng_below(ktest_rng(), RESERVED_PAGES * P - n), n, n, false);
			break;
		case 5: /* kernel */
			expect_to(KERNEL_ADDR + rng_below(ktest_rng(), P), n, 0, false);
			break;
		default: /* straddling */
			expect_from(L.hole - 1, n + 1, 1, true);
			break;
		}
	}
}

/* ---- SMAP, SMEP, and faults that must not be fixed up ------------------- */

static void call_user_code(void *arg)
{
	((void (*)(void))arg)();
}

KTEST(lab3, smap)
{
	struct fault_info fi;
	uint64_t f0, val;

	layout_setup();
	expect_valid_neighbour();
	KT_ASSERT_MSG(!cpu_has_smap() || (read_cr4() & CR4_SMAP), "CR4.SMAP is off");
	KT_ASSERT_MSG(!cpu_has_smep() || (read_cr4() & CR4_SMEP), "CR4.SMEP is off");
	KT_ASSERT_MSG(cpu_has_smap() && cpu_has_smep(), "this CPU lacks SMAP or SMEP (-cpu max)");
	/* A plain kernel load from a mapped user page faults (it has no table entry)... */
	f0 = extable_fixups();
	KT_ASSERT_MSG(ktest_probe_read(L.rw, &val, &fi),
		      "the kernel read user memory directly without a fault: SMAP is off");
	KT_EQ(fi.vector, T_PGFLT);
	KT_ASSERT_MSG((fi.error & PF_PRESENT) && !(fi.error & PF_USER),
		      "expected a protection fault in kernel mode, error %#lx", fi.error);
	check_fixups(f0, false, "a direct dereference (no exception-table entry)");
	/* ...and so does a store, also after a faulting copy (AC must be clear again). */
	expect_from(L.hole, 8, 0, true);
	KT_ASSERT_MSG(ktest_probe_write(L.rw, 1, &fi),
		      "after a faulting copy the kernel could write user memory directly");
	/* With stac the same load works: it was SMAP that stopped it. */
	user_access_begin();
	val = *(volatile uint8_t *)L.rw;
	user_access_end();
	KT_EQ(val, *kview(L.rw));
	/* SMEP: the kernel must not execute a user page. */
	KT_ASSERT_MSG(ktest_catch_fault(call_user_code, (void *)L.exec, &fi),
		      "the kernel executed code from a user page: SMEP is off");
	KT_ASSERT_MSG(fi.vector == T_PGFLT && (fi.error & PF_INSTR),
		      "expected an instruction-fetch page fault, got %s error %#lx",
		      trap_name(fi.vector), fi.error);
	/* A fault at an unmapped user address outside the copy routines is not fixed up. */
	f0 = extable_fixups();
	KT_ASSERT(ktest_probe_read(L.hole, &val, &fi));
	check_fixups(f0, false, "a kernel fault with no exception-table entry");
}

/* ---- User programs ------------------------------------------------------ */

static void run_program(const char *cmd, struct proc_result *res)
{
	int r = proc_run(cmd, res);

	KT_ASSERT_MSG(r == 0, "proc_run(\"%s\") failed: %d (%s)", cmd, r, errname(r));
}

KTEST(lab3, hello)
{
	struct proc_result res;

	run_program("hello one two", &res);
	KT_ASSERT_MSG(!res.killed, "hello was killed by %s at %#lx", trap_name(res.vector),
		      res.rip);
	KT_EQ(res.status, 43);
}

KTEST(lab3, badptr)
{
	struct proc_result res;

	run_program("badptr", &res);
	KT_ASSERT_MSG(!res.killed, "badptr was killed by %s at %#lx", trap_name(res.vector),
		      res.rip);
	KT_ASSERT_MSG(res.status == 0, "badptr: %d case(s) failed (see its output above)",
		      res.status);
}

KTEST(lab3, segv)
{
	static const struct {
		const char *mode;
		int vector;
		uint64_t addr;
	} cases[] = {
		{ "null", T_PGFLT, 0 },
		{ "kernel", T_PGFLT, 0xffffffff80100000UL },
		{ "noncanon", T_GPFLT, 0 },
		{ "rotext", T_PGFLT, 1 }, /* 1: any address */
		{ "nxdata", T_PGFLT, 1 },
	};
	struct proc_result res;
	char cmd[32];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(cmd, sizeof(cmd), "segv %s", cases[i].mode);
		run_program(cmd, &res);
		KT_ASSERT_MSG(res.killed, "\"%s\" was not killed: exit status %d", cmd, res.status);
		KT_ASSERT_MSG(res.vector == cases[i].vector, "\"%s\" was killed by %s, expected %s",
			      cmd, trap_name(res.vector), trap_name(cases[i].vector));
		KT_EQ(res.status, PROC_KILLED_STATUS(cases[i].vector));
		if (cases[i].addr != 1)
			KT_EQ_HEX(res.addr, cases[i].addr);
	}
}

/* TSC ticks per millisecond, measured against the PIT (channel 2, polled). */
static uint64_t tsc_per_ms_estimate(void)
{
	static uint64_t cached;
	uint64_t t0;
	uint8_t gate;

	if (cached)
		return cached;
	gate = inb(0x61);
	outb(0x61, (uint8_t)((gate & ~0x02) | 0x01)); /* gate on, speaker off */
	outb(0x43, 0xb0);			       /* channel 2, lo/hi, mode 0 */
	outb(0x42, 11932 & 0xff);		       /* 10 ms at 1.193182 MHz */
	outb(0x42, 11932 >> 8);
	t0 = rdtsc();
	while (!(inb(0x61) & 0x20))
		pause();
	cached = (rdtsc() - t0) / 10;
	outb(0x61, gate);
	return cached ? cached : 1;
}

#define FUZZ_CALLS 100000

KTEST(lab3, fuzz)
{
	struct proc_result res;
	struct ustats s0, s1;
	uint64_t t0, ms;
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "fuzz %d %lu", FUZZ_CALLS, rng_next(ktest_rng()) >> 1);
	syscall_stats(&s0);
	t0 = rdtsc();
	run_program(cmd, &res);
	ms = (rdtsc() - t0) / tsc_per_ms_estimate();
	syscall_stats(&s1);
	KT_ASSERT_MSG(!res.killed, "the fuzzer was killed by %s at %#lx", trap_name(res.vector),
		      res.rip);
	KT_ASSERT_MSG(res.status == 0, "the fuzzer saw %d mismatch(es) (see its output above)",
		      res.status);
	KT_ASSERT(s1.syscalls - s0.syscalls >= 2 * FUZZ_CALLS);
	KT_ASSERT_MSG(s1.fixups > s0.fixups, "the fuzzer's bad pointers took no fixup");
	ktest_info("%lu syscalls in %lu ms: %lu syscalls/s, %lu fixups", s1.syscalls - s0.syscalls,
		   ms, (s1.syscalls - s0.syscalls) * 1000 / (ms ? ms : 1), s1.fixups - s0.fixups);
	/* The frame-leak check after the test proves the process gave everything back. */
}

/* ---- Benchmark (manual, `make bench`): copy_from_user against memcpy ----- */

#define BENCH_MAX (1UL << 20)
#define BENCH_BYTES(size) ((size) < 4096 ? 16UL << 20 : 128UL << 20) /* per measurement */

static uint8_t bench_dst[BENCH_MAX] __attribute__((aligned(4096)));

/* The kernel's fastest copy: the same string instructions, without the user checks. */
static void memcpy_rep(void *dst, const void *src, size_t n)
{
	size_t q = n >> 3;

	asm volatile("rep movsq\n\t"
		     "mov %3, %%rcx\n\t"
		     "rep movsb"
		     : "+D"(dst), "+S"(src), "+c"(q)
		     : "r"(n & 7)
		     : "memory");
}

/* One rep movsb for everything: what Linux uses on CPUs with ERMS/FSRM. */
static void memcpy_movsb(void *dst, const void *src, size_t n)
{
	asm volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
}

enum bench_kind { B_COPY_FROM_USER, B_MEMCPY_REP, B_MEMCPY_MOVSB, B_MEMCPY_LIB };

/* TSC ticks to move BENCH_BYTES in chunks of size with the given routine. */
static uint64_t bench_run(enum bench_kind kind, uint64_t user, const void *ksrc_buf, size_t size)
{
	uint64_t iters = BENCH_BYTES(size) / size, t0 = rdtsc();

	for (uint64_t i = 0; i < iters; i++) {
		switch (kind) {
		case B_COPY_FROM_USER:
			if (copy_from_user(bench_dst, (const void *)user, size))
				KT_FAIL("copy_from_user of %zu valid bytes failed", size);
			break;
		case B_MEMCPY_REP:
			memcpy_rep(bench_dst, ksrc_buf, size);
			break;
		case B_MEMCPY_MOVSB:
			memcpy_movsb(bench_dst, ksrc_buf, size);
			break;
		case B_MEMCPY_LIB:
			memcpy(bench_dst, ksrc_buf, size);
			break;
		}
	}
	return rdtsc() - t0;
}

/* MiB/s for BENCH_BYTES(size) moved in ticks. */
static uint64_t mib_per_s(size_t size, uint64_t ticks)
{
	return (BENCH_BYTES(size) >> 20) * 1000 * tsc_per_ms_estimate() / (ticks ? ticks : 1);
}

KTEST_FLAGS(bench, uaccess, KTEST_MANUAL)
{
	static const size_t sizes[] = { 64, 4096, BENCH_MAX };
	uint64_t user;

	KT_ASSERT((size_t)(__kernel_end - __kernel_start) >= BENCH_MAX);
	layout_setup();
	user = L.rw + (64UL << 20);
	KT_EQ_ERR(aspace_alloc(&L.as, user, BENCH_MAX, AS_USER | AS_WRITE), 0);
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		size_t size = sizes[i];
		/* A kernel source of the same size: the kernel image (>= 1 MiB with its bss). */
		const void *src = __kernel_start;
		uint64_t t_user = bench_run(B_COPY_FROM_USER, user, NULL, size);
		uint64_t t_rep = bench_run(B_MEMCPY_REP, 0, src, size);
		uint64_t t_movsb = bench_run(B_MEMCPY_MOVSB, 0, src, size);
		uint64_t t_lib = bench_run(B_MEMCPY_LIB, 0, src, size);

		ktest_info("size %zu: copy_from_user %lu MiB/s, memcpy (rep movsq) %lu MiB/s, "
			   "rep movsb %lu MiB/s, lib memcpy (byte loop) %lu MiB/s; "
			   "copy_from_user/memcpy ratio %lu.%02lu (rep movsq), %lu.%02lu (rep movsb), "
			   "%lu.%02lu (lib)",
			   size, mib_per_s(size, t_user), mib_per_s(size, t_rep),
			   mib_per_s(size, t_movsb), mib_per_s(size, t_lib), t_rep / t_user,
			   t_rep * 100 / t_user % 100, t_movsb / t_user, t_movsb * 100 / t_user % 100,
			   t_lib / t_user, t_lib * 100 / t_user % 100);
	}
}
