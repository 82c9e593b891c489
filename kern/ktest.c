#include "kern/bootinfo.h"
#include "kern/console.h"
#include "kern/frame.h"
#include "kern/ktest.h"
#include "kern/panic.h"
#include "kern/setjmp.h"
#include "kern/trap.h"
#include "kern/x86.h"
#include "lib/cmdline.h"
#include "lib/printfmt.h"
#include "lib/string.h"

#define MAX_DEFERS 32

extern const struct ktest __ktests_start[], __ktests_end[];

static const struct ktest *current;
static struct jmp_buf test_env;
static struct rng test_rng;
static uint64_t run_seed;
static struct {
	void (*fn)(void *);
	void *arg;
} defers[MAX_DEFERS];
static int ndefers;

/* Fault catching: armed while ktest_catch_fault runs its function. */
static struct jmp_buf *catch_env;
static struct fault_info *catch_info;

void ktest_fail_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	if (!current)
		panic("test check failed outside a test at %s:%d", file, line);
	kprintf("TEST FAIL %s: %s:%d: ", current->name, file, line);
	va_start(ap, fmt);
	vkprintf(fmt, ap);
	va_end(ap);
	kprintf("\n");
	k_longjmp(&test_env, 1);
}

void ktest_fail_values(const char *file, int line, const char *expr, const char *expected,
		       const char *got)
{
	kprintf("TEST EXPECTED %s: %s\n", current->name, expected);
	kprintf("TEST GOT %s: %s\n", current->name, got);
	ktest_fail_at(file, line, "%s", expr);
}

void ktest_check_u64(const char *file, int line, const char *expr, uint64_t got, uint64_t want,
		     bool hex)
{
	char e[40], g[40];

	if (got == want)
		return;
	snprintf(e, sizeof(e), hex ? "%#lx" : "%lu", want);
	snprintf(g, sizeof(g), hex ? "%#lx" : "%lu", got);
	ktest_fail_values(file, line, expr, e, g);
}

void ktest_check_err(const char *file, int line, const char *expr, long got, long want)
{
	char e[40], g[40];

	if (got == want)
		return;
	snprintf(e, sizeof(e), "%ld (%s)", want, want < 0 ? errname((int)want) : "OK");
	snprintf(g, sizeof(g), "%ld (%s)", got, got < 0 ? errname((int)got) : "OK");
	ktest_fail_values(file, line, expr, e, g);
}

void ktest_info(const char *fmt, ...)
{
	va_list ap;

	kprintf("TEST INFO %s: ", current ? current->name : "-");
	va_start(ap, fmt);
	vkprintf(fmt, ap);
	va_end(ap);
	kprintf("\n");
}

struct rng *ktest_rng(void)
{
	return &test_rng;
}

uint64_t ktest_seed(void)
{
	return run_seed;
}

void ktest_defer(void (*fn)(void *), void *arg)
{
	if (ndefers == MAX_DEFERS)
		panic("ktest_defer: more than %d cleanups in one test", MAX_DEFERS);
	defers[ndefers].fn = fn;
	defers[ndefers].arg = arg;
	ndefers++;
}

static bool catch_handler(struct trapframe *tf)
{
	struct jmp_buf *env = catch_env;

	if (!env || (tf->cs & 3))
		return false;
	catch_info->vector = (int)tf->vector;
	catch_info->error = tf->error;
	catch_info->cr2 = tf->vector == T_PGFLT ? read_cr2() : 0;
	catch_info->rip = tf->rip;
	catch_env = NULL;
	/* Abandon the trap frame: resume where ktest_catch_fault armed us. */
	k_longjmp(env, 1);
}

bool ktest_catch_fault(void (*fn)(void *), void *arg, struct fault_info *fi)
{
	struct jmp_buf env;
	struct fault_info local;

	if (!fi)
		fi = &local;
	fi->vector = -1;
	fi->error = fi->cr2 = fi->rip = 0;
	catch_info = fi;
	if (k_setjmp(&env) == 0) {
		catch_env = &env;
		fn(arg);
		catch_env = NULL;
		return false;
	}
	return true;
}

struct probe {
	volatile uint64_t *p;
	uint64_t val;
};

static void probe_read(void *arg)
{
	struct probe *pr = arg;

	pr->val = *pr->p;
}

static void probe_write(void *arg)
{
	struct probe *pr = arg;

	*pr->p = pr->val;
}

bool ktest_probe_read(uintptr_t va, uint64_t *val, struct fault_info *fi)
{
	struct probe pr = { (volatile uint64_t *)va, 0 };
	bool faulted = ktest_catch_fault(probe_read, &pr, fi);

	if (val)
		*val = faulted ? 0 : pr.val;
	return faulted;
}

bool ktest_probe_write(uintptr_t va, uint64_t val, struct fault_info *fi)
{
	struct probe pr = { (volatile uint64_t *)va, val };

	return ktest_catch_fault(probe_write, &pr, fi);
}

int ktest_sync_host(const char *what, unsigned timeout_ms)
{
	uint64_t start = rdtsc(), limit = (uint64_t)timeout_ms * 1000000; /* ~1 GHz TSC */
	int first = -1, c;

	while (serial_getc() >= 0)
		; /* drop stale input */
	kprintf("TEST SYNC %s: %s\n", current ? current->name : "-", what);
	while (rdtsc() - start < limit) {
		c = serial_getc();
		if (c < 0) {
			pause();
			continue;
		}
		if (first < 0)
			first = c;
		if (c == '\n' || c == '\r')
			return first;
	}
	return first;
}

static uint64_t hash_name(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

	while (*s)
		h = (h ^ (uint8_t)*s++) * 0x100000001b3ULL;
	return h;
}

static void run_defers(void)
{
	while (ndefers > 0) {
		ndefers--;
		defers[ndefers].fn(defers[ndefers].arg);
	}
}

/* Returns true when the test passed. */
static bool run_one(const struct ktest *t)
{
	size_t baseline = frame_free_count();
	bool passed = false;

	current = t;
	ndefers = 0;
	rng_seed(&test_rng, run_seed ^ hash_name(t->name));
	kprintf("TEST START %s\n", t->name);
	if (k_setjmp(&test_env) == 0) {
		t->fn();
		passed = true;
	}
	run_defers();
	frame_fail_after(-1);
	catch_env = NULL;
	if (passed && !(t->flags & KTEST_NO_LEAK) && frame_free_count() != baseline) {
		long leaked = (long)baseline - (long)frame_free_count();

		kprintf("TEST EXPECTED %s: %zu free frames (as before the test)\n", t->name,
			baseline);
		kprintf("TEST GOT %s: %zu free frames\n", t->name, frame_free_count());
		kprintf("TEST FAIL %s: frame leak: %ld frame(s) %s\n", t->name,
			leaked < 0 ? -leaked : leaked, leaked > 0 ? "not freed" : "freed too often");
		passed = false;
	}
	if (passed)
		kprintf("TEST PASS %s\n", t->name);
	current = NULL;
	return passed;
}

static bool named_exactly(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; *p;) {
		const char *q = strchr(p, ',');
		size_t len = q ? (size_t)(q - p) : strlen(p);

		if (len == n && strncmp(p, name, n) == 0)
			return true;
		if (!q)
			break;
		p = q + 1;
	}
	return false;
}

static bool selected(const struct ktest *t, const char *list)
{
	if (t->flags & KTEST_MANUAL)
		return named_exactly(list, t->name);
	return list_match(list, t->name);
}

void ktest_main(const char *cmdline)
{
	char list[BOOT_CMDLINE_MAX];
	int passed = 0, failed = 0;

	cmdline_get(cmdline, "test", list, sizeof(list));
	if (strcmp(list, "list") == 0) {
		for (const struct ktest *t = __ktests_start; t < __ktests_end; t++)
			kprintf("TEST LIST %s%s\n", t->name,
				t->flags & KTEST_MANUAL ? " manual" : "");
		qemu_exit(EXIT_TESTS_PASSED);
	}
	run_seed = cmdline_get_u64(cmdline, "seed", 1);
	kprintf("TEST SEED %lu\n", run_seed);
	for (const struct ktest *t = __ktests_start; t < __ktests_end; t++) {
		if (!selected(t, list))
			continue;
		if (run_one(t))
			passed++;
		else
			failed++;
	}
	if (passed + failed == 0)
		kprintf("TEST WARNING no test matches \"%s\" (test=list shows them)\n", list);
	kprintf("TEST SUMMARY %d passed, %d failed\n", passed, failed);
	qemu_exit(failed || passed == 0 ? EXIT_TESTS_FAILED : EXIT_TESTS_PASSED);
}

void ktest_init(void)
{
	trap_register_fault_handler(TRAP_ANY_EXCEPTION, catch_handler);
}
