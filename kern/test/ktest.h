/*
 * In-kernel tests. A test is a void function registered with KTEST(lab,
 * name) and selected on the command line (test=lab1, test=lab1.walk_huge,
 * test=lab1,lab2.map). The output protocol is documented in grading/README.md.
 *
 * A failed check prints the location, the expression and expected/got values,
 * then abandons the test (a non-local jump), so checks work in helpers too.
 * Cleanups registered with ktest_defer() run whether the test passes or not.
 * After a passing test the framework checks that the free frame count is back
 * at its value before the test: a leak fails the test.
 */
#ifndef KERN_TEST_KTEST_H
#define KERN_TEST_KTEST_H

#include "kern/setjmp.h"
#include "lib/errno.h"
#include "lib/random.h"
#include "lib/types.h"

#define KTEST_MANUAL 0x1   /* run only when named exactly, never by prefix */
#define KTEST_NO_LEAK 0x2  /* skip the frame-leak check */

struct ktest {
	const char *name;
	void (*fn)(void);
	unsigned flags;
};

#define KTEST_FLAGS(lab, tname, fl)                                                     \
	static void ktest_fn_##lab##_##tname(void);                                     \
	static const struct ktest ktest_##lab##_##tname                                 \
		__attribute__((section(".ktests"), used, aligned(8))) = {               \
			#lab "." #tname, ktest_fn_##lab##_##tname, (fl)                  \
		};                                                                      \
	static void ktest_fn_##lab##_##tname(void)

#define KTEST(lab, tname) KTEST_FLAGS(lab, tname, 0)

void ktest_fail_at(const char *file, int line, const char *fmt, ...) __noreturn __printf(3, 4);
void ktest_fail_values(const char *file, int line, const char *expr, const char *expected,
		       const char *got) __noreturn;
void ktest_check_u64(const char *file, int line, const char *expr, uint64_t got, uint64_t want,
		     bool hex);
void ktest_check_err(const char *file, int line, const char *expr, long got, long want);

#define KT_FAIL(...) ktest_fail_at(__FILE__, __LINE__, __VA_ARGS__)
#define KT_ASSERT(cond)                                                  \
	do {                                                             \
		if (!(cond))                                             \
			ktest_fail_at(__FILE__, __LINE__, "%s", #cond);  \
	} while (0)
#define KT_ASSERT_MSG(cond, ...)                                         \
	do {                                                             \
		if (!(cond))                                             \
			ktest_fail_at(__FILE__, __LINE__, __VA_ARGS__);  \
	} while (0)
/* KT_EQ_HEX(got, expected) / KT_EQ(got, expected): unsigned 64-bit compare. */
#define KT_EQ_HEX(got, want) \
	ktest_check_u64(__FILE__, __LINE__, #got, (uint64_t)(got), (uint64_t)(want), true)
#define KT_EQ(got, want) \
	ktest_check_u64(__FILE__, __LINE__, #got, (uint64_t)(got), (uint64_t)(want), false)
/* KT_EQ_ERR(got, -EFAULT): a return code, printed with its errno name. */
#define KT_EQ_ERR(got, want) ktest_check_err(__FILE__, __LINE__, #got, (long)(got), (long)(want))

/* ktest_info - an informational line in the test's output. */
void ktest_info(const char *fmt, ...) __printf(1, 2);
/* ktest_rng - the running test's generator, seeded from seed= and its name. */
struct rng *ktest_rng(void);
uint64_t ktest_seed(void);

/* ktest_defer - run fn(arg) after the current test, pass or fail (LIFO). */
void ktest_defer(void (*fn)(void *), void *arg);

/* What a caught fault looked like. */
struct fault_info {
	int vector; /* -1 when nothing faulted */
	uint64_t error;
	uint64_t cr2;
	uint64_t rip;
	uint64_t rbp; /* at the fault: the start of its backtrace */
};

/*
 * ktest_catch_fault - run fn(arg); if it raises an exception in the kernel,
 * stop it there and describe the fault in *fi instead of panicking. Returns
 * true when a fault happened. Interrupts stay as they were.
 */
bool ktest_catch_fault(void (*fn)(void *), void *arg, struct fault_info *fi);
/* ktest_probe_read/write - one access to va; true if it faulted (fi filled). */
bool ktest_probe_read(uintptr_t va, uint64_t *val, struct fault_info *fi);
bool ktest_probe_write(uintptr_t va, uint64_t val, struct fault_info *fi);

/* The state of one KT_CALL; used only by the macro. */
struct kt_call {
	struct jmp_buf env;
	struct fault_info fi;
	const char *file, *expr, *hint;
	int line;
};

void ktest_call_arm(struct kt_call *k, const char *file, int line, const char *expr,
		    const char *hint);
void ktest_call_disarm(struct kt_call *k);
void ktest_call_crashed(struct kt_call *k) __noreturn;

/*
 * KT_CALL(expr) - evaluate expr (a call into a student's code) and give its
 * value; if it raises an exception in the kernel, fail the test at the line
 * of the KT_CALL, naming the expression, the exception and where it happened,
 * with a backtrace (TEST TRACE lines, which the grader turns into function
 * and file:line). KT_CALL_VOID for a void call; KT_CALL_HINT adds a hint to
 * the failure ("no exception-table fixup for it?"). Do not nest them, or use
 * them inside ktest_catch_fault.
 */
#if defined(__GNUC__) && !defined(__clang__)
/*
 * After a fault, KT_CALL's longjmp lands in the test function only to call
 * ktest_call_crashed(), which never returns and reads nothing but the
 * kt_call in memory: no variable that longjmp may have clobbered is read.
 */
#pragma GCC diagnostic ignored "-Wclobbered"
#endif
#define KT_CALL(expr) KT_CALL_HINT(expr, NULL)
#define KT_CALL_HINT(expr, why)                                          \
	({                                                               \
		struct kt_call _ktc;                                     \
		__typeof__(expr) _ktr;                                   \
		ktest_call_arm(&_ktc, __FILE__, __LINE__, #expr, why);   \
		if (k_setjmp(&_ktc.env))                                 \
			ktest_call_crashed(&_ktc);                       \
		_ktr = (expr);                                           \
		ktest_call_disarm(&_ktc);                                \
		_ktr;                                                    \
	})
#define KT_CALL_VOID(expr)                                               \
	do {                                                             \
		struct kt_call _ktc;                                     \
		ktest_call_arm(&_ktc, __FILE__, __LINE__, #expr, NULL);  \
		if (k_setjmp(&_ktc.env))                                 \
			ktest_call_crashed(&_ktc);                       \
		(expr);                                                  \
		ktest_call_disarm(&_ktc);                                \
	} while (0)

/*
 * ktest_sync_host - print "TEST SYNC <test>: <what>" and wait until the host
 * (the grader, or a person at `make qemu`) sends a line on the serial port,
 * so it can inspect the machine meanwhile (e.g. QEMU's monitor `info mem`).
 * Returns the first byte of that line, or -1 after ~timeout_ms of silence.
 */
int ktest_sync_host(const char *what, unsigned timeout_ms);

/*
 * ktest_main - run the tests that cmdline's test= selects and exit QEMU with
 * the outcome. test=list lists the tests instead. Does not return.
 */
void ktest_main(const char *cmdline) __noreturn;
/*
 * ktest_take_key - take the grader's signing key and nonce from the fw_cfg
 * file opt/pagoda/key (QEMU's -fw_cfg), if there is one; from then on the
 * framework signs its verdict lines. Call before any lab code runs, with one
 * CPU up.
 */
void ktest_take_key(void);
/* ktest_init - install the fault-catching hook. Call after trap_init(). */
void ktest_init(void);

#endif
