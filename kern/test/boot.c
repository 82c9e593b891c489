/* boot.*: smoke tests of the foundation (console, frames, faults, symbols). */
#include "kern/bootinfo.h"
#include "kern/frame.h"
#include "kern/kvm.h"
#include "kern/panic.h"
#include "kern/test/ktest.h"
#include "kern/trap.h"
#include "lib/cmdline.h"
#include "lib/printfmt.h"
#include "lib/string.h"

#define NPROBE 64

void kmain(uint32_t magic, uint32_t mbi_pa);

KTEST(boot, console)
{
	char buf[64];
	uint64_t v = rng_next(ktest_rng());

	snprintf(buf, sizeof(buf), "%d|%5s|%-3x|%#lx", -42, "ab", 0xf, 0x1000UL);
	KT_ASSERT_MSG(strcmp(buf, "-42|   ab|f  |0x1000") == 0, "snprintf gave \"%s\"", buf);
	/* The grader checks this line against the seed it chose. */
	ktest_info("echo seed=%lu value=%016lx", ktest_seed(), v);
	KT_ASSERT(cmdline_get(boot_info.cmdline, "test", NULL, 0) >= 0);
}

KTEST(boot, memory_map)
{
	KT_ASSERT(frame_total_count() > 1000);
	KT_ASSERT(!frame_is_managed(0));
	KT_ASSERT(!frame_is_managed(0x9f000));
	KT_ASSERT(!frame_is_managed(kva2pa((void *)kmain)));
	KT_ASSERT(!frame_is_managed(kva2pa(boot_pml4)));
	KT_ASSERT(!frame_is_managed(ROUNDDOWN(kva2pa(__kernel_end) - 1, PAGE_SIZE)));
	KT_ASSERT(!frame_is_managed(ROUNDDOWN(boot_info.info_start, PAGE_SIZE)));
	for (int i = 0; i < boot_info.nmodules; i++)
		KT_ASSERT(!frame_is_managed(ROUNDDOWN(boot_info.modules[i].start, PAGE_SIZE)));
}

static void free_frames(void *arg)
{
	paddr_t *frames = arg;

	for (int i = 0; i < NPROBE; i++)
		if (frames[i])
			frame_free(frames[i]);
}

KTEST(boot, frames)
{
	static paddr_t frames[NPROBE];
	size_t before = frame_free_count();
	int n = (int)rng_range(ktest_rng(), NPROBE / 2, NPROBE);

	memset(frames, 0, sizeof(frames));
	ktest_defer(free_frames, frames);
	for (int i = 0; i < n; i++) {
		frames[i] = i & 1 ? frame_alloc() : frame_alloc_zeroed();
		KT_ASSERT_MSG(frames[i] != 0, "allocation %d of %d failed", i, n);
		KT_ASSERT(IS_ALIGNED(frames[i], PAGE_SIZE));
		KT_ASSERT(frame_is_allocated(frames[i]));
		for (int j = 0; j < i; j++)
			KT_ASSERT_MSG(frames[j] != frames[i], "frame %#lx handed out twice", frames[i]);
		if (!(i & 1)) {
			const uint8_t *p = pa2kva(frames[i]);

			for (size_t k = 0; k < PAGE_SIZE; k++)
				KT_ASSERT(p[k] == 0);
		}
		memset(pa2kva(frames[i]), 0xa5, PAGE_SIZE);
	}
	KT_EQ(frame_free_count(), before - n);
	free_frames(frames);
	memset(frames, 0, sizeof(frames));
	KT_EQ(frame_free_count(), before);
}

KTEST(boot, frame_exhaustion)
{
	paddr_t a, b;

	frame_fail_after(1);
	a = frame_alloc();
	b = frame_alloc();
	frame_fail_after(-1);
	KT_ASSERT(a != 0);
	KT_EQ_HEX(b, 0);
	frame_free(a);
}

KTEST(boot, fault_catch)
{
	struct fault_info fi;
	uint64_t va = DMAP_BASE + DMAP_SIZE + PAGE_SIZE * rng_below(ktest_rng(), 1 << 20);
	uint64_t val;

	/* Unmapped kernel address: a #PF with CR2 = the address. */
	KT_ASSERT(ktest_probe_read(va, &val, &fi));
	KT_EQ(fi.vector, T_PGFLT);
	KT_EQ_HEX(fi.cr2, va);
	KT_EQ_HEX(fi.error & (PF_PRESENT | PF_WRITE | PF_USER), 0);
	KT_ASSERT(ktest_probe_write(va, 1, &fi));
	KT_EQ_HEX(fi.error & PF_WRITE, PF_WRITE);
	/* The identity map is gone after kvm_init. */
	KT_ASSERT(ktest_probe_read(0x100000, &val, &fi));
	KT_EQ(fi.vector, T_PGFLT);
	/* A non-canonical address raises #GP, not #PF. */
	KT_ASSERT(ktest_probe_read(0x0000900000000000UL, &val, &fi));
	KT_EQ(fi.vector, T_GPFLT);
	/* A mapped address does not fault. */
	KT_ASSERT(!ktest_probe_read((uintptr_t)&val, NULL, &fi));
	KT_EQ(fi.vector, (uint64_t)-1);
}

KTEST(boot, symbols)
{
	uint64_t off = 1;
	uintptr_t fn = (uintptr_t)(void *)kmain;
	const char *name = ksym_lookup(fn + 3, &off);

	KT_ASSERT_MSG(name != NULL, "no symbol for kmain (is the .ksyms table filled?)");
	KT_ASSERT_MSG(strcmp(name, "kmain") == 0, "kmain+3 resolved to %s", name);
	KT_EQ(off, 3);
	KT_ASSERT(ksym_lookup(0x1234, &off) == NULL);
}

/*
 * crash.*: deliberately broken kernels for the grader's own tests. They run
 * only when named exactly (test=crash.panic).
 */
KTEST_FLAGS(crash, panic, KTEST_MANUAL)
{
	panic("deliberate panic requested by test=crash.panic");
}

KTEST_FLAGS(crash, page_fault, KTEST_MANUAL)
{
	*(volatile uint64_t *)(DMAP_BASE + DMAP_SIZE) = 1;
}

KTEST_FLAGS(crash, hang, KTEST_MANUAL)
{
	for (;;)
		asm volatile("pause");
}

KTEST_FLAGS(crash, triple_fault, KTEST_MANUAL)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) empty = { 0, 0 };

	/* With no IDT every exception escalates to a triple fault. */
	asm volatile("lidt %0; int3" : : "m"(empty));
}

KTEST_FLAGS(crash, double_free, KTEST_MANUAL)
{
	paddr_t pa = frame_alloc();

	frame_free(pa);
	frame_free(pa);
}

KTEST_FLAGS(crash, fail, KTEST_MANUAL)
{
	KT_EQ(1 + 1, 3);
}
