/*
 * The physical frame allocator: a bitmap of 4 KiB frames built from the
 * Multiboot2 memory map, minus what the kernel and the loader occupy.
 */
#include "kern/bootinfo.h"
#include "kern/console.h"
#include "kern/frame.h"
#include "kern/panic.h"
#include "kern/spinlock.h"
#include "lib/string.h"

#define MAX_FRAMES (DMAP_SIZE / PAGE_SIZE)
#define WORDS (MAX_FRAMES / 64)

/* A set bit in managed: allocatable RAM; in free_map: currently free. */
static uint64_t managed[WORDS], free_map[WORDS];
static size_t nfree, ntotal, hint;
static long fail_budget = -1;
static struct spinlock frame_lock = SPINLOCK_INIT("frame");

static bool test_bit(const uint64_t *map, size_t i)
{
	return map[i / 64] & (1UL << (i % 64));
}

static void set_bit(uint64_t *map, size_t i)
{
	map[i / 64] |= 1UL << (i % 64);
}

static void clear_bit(uint64_t *map, size_t i)
{
	map[i / 64] &= ~(1UL << (i % 64));
}

static void mark_range(paddr_t start, paddr_t end, bool usable)
{
	size_t first, last;

	if (usable) {
		start = ROUNDUP(start, PAGE_SIZE);
		end = ROUNDDOWN(end, PAGE_SIZE);
	} else {
		start = ROUNDDOWN(start, PAGE_SIZE);
		end = ROUNDUP(end, PAGE_SIZE);
	}
	end = MIN(end, (paddr_t)DMAP_SIZE);
	first = start / PAGE_SIZE;
	last = end / PAGE_SIZE;
	for (size_t i = first; i < last; i++) {
		if (usable) {
			set_bit(managed, i);
			set_bit(free_map, i);
		} else {
			clear_bit(managed, i);
			clear_bit(free_map, i);
		}
	}
}

static void count_frames(void)
{
	nfree = 0;
	for (size_t w = 0; w < WORDS; w++)
		for (uint64_t bits = free_map[w]; bits; bits &= bits - 1)
			nfree++;
	ntotal = nfree;
}

void frame_init(void)
{
	paddr_t ignored = 0;

	for (int i = 0; i < boot_info.nmmap; i++) {
		const struct mem_region *r = &boot_info.mmap[i];

		if (r->type != MEM_AVAILABLE)
			continue;
		if (r->base + r->len > DMAP_SIZE)
			ignored += r->base + r->len - MAX(r->base, (paddr_t)DMAP_SIZE);
		mark_range(r->base, r->base + r->len, true);
	}
	/* Reserved ranges may overlap available ones, so they go second. */
	for (int i = 0; i < boot_info.nmmap; i++) {
		const struct mem_region *r = &boot_info.mmap[i];

		if (r->type != MEM_AVAILABLE)
			mark_range(r->base, r->base + r->len, false);
	}
	mark_range(0, 0x100000, false);
	mark_range(kva2pa(__kernel_start), kva2pa(__kernel_end), false);
	mark_range(boot_info.info_start, boot_info.info_end, false);
	for (int i = 0; i < boot_info.nmodules; i++)
		mark_range(boot_info.modules[i].start, boot_info.modules[i].end, false);
	count_frames();
	if (ntotal == 0)
		panic("frame_init: no usable memory in the boot loader's memory map");
	if (ignored)
		kprintf("frame: ignoring %lu MiB above the %lu GiB direct map\n", ignored >> 20,
			DMAP_SIZE >> 30);
}

static long find_free(void)
{
	for (size_t n = 0; n < WORDS; n++) {
		size_t w = (hint + n) % WORDS;

		if (free_map[w]) {
			hint = w;
			return (long)(w * 64 + (size_t)__builtin_ctzll(free_map[w]));
		}
	}
	return -1;
}

paddr_t frame_alloc(void)
{
	uint64_t flags = spin_lock_irqsave(&frame_lock);
	paddr_t pa = 0;
	long i;

	if (fail_budget == 0)
		goto out;
	i = find_free();
	if (i < 0)
		goto out;
	if (fail_budget > 0)
		fail_budget--;
	clear_bit(free_map, (size_t)i);
	nfree--;
	pa = (paddr_t)i * PAGE_SIZE;
out:
	spin_unlock_irqrestore(&frame_lock, flags);
	return pa;
}

paddr_t frame_alloc_zeroed(void)
{
	paddr_t pa = frame_alloc();

	if (pa)
		memset(pa2kva(pa), 0, PAGE_SIZE);
	return pa;
}

void frame_free(paddr_t pa)
{
	size_t i = pa / PAGE_SIZE;
	uint64_t flags;

	if (pa & (PAGE_SIZE - 1))
		panic("frame_free: %#lx is not page aligned", pa);
	if (pa >= DMAP_SIZE || !test_bit(managed, i))
		panic("frame_free: %#lx was never allocatable (kernel, device or reserved memory)",
		      pa);
	memset(pa2kva(pa), FRAME_POISON, PAGE_SIZE);
	flags = spin_lock_irqsave(&frame_lock);
	if (test_bit(free_map, i)) {
		spin_unlock_irqrestore(&frame_lock, flags);
		panic("frame_free: double free of frame %#lx", pa);
	}
	set_bit(free_map, i);
	nfree++;
	spin_unlock_irqrestore(&frame_lock, flags);
}

size_t frame_free_count(void)
{
	return nfree;
}

size_t frame_total_count(void)
{
	return ntotal;
}

bool frame_is_managed(paddr_t pa)
{
	return pa < DMAP_SIZE && test_bit(managed, pa / PAGE_SIZE);
}

bool frame_is_allocated(paddr_t pa)
{
	return frame_is_managed(pa) && !test_bit(free_map, pa / PAGE_SIZE);
}

void frame_bits(uint64_t *allocated, uint64_t *usable, size_t nframes)
{
	uint64_t flags = spin_lock_irqsave(&frame_lock);
	size_t words = MIN((nframes + 63) / 64, (size_t)WORDS);

	for (size_t w = 0; w < words; w++) {
		allocated[w] = managed[w] & ~free_map[w];
		if (usable)
			usable[w] = managed[w];
	}
	spin_unlock_irqrestore(&frame_lock, flags);
}

void frame_bitmaps(int which, paddr_t *start, paddr_t *end)
{
	const uint64_t *map = which ? free_map : managed;

	*start = kva2pa(map);
	*end = *start + sizeof(managed);
}

void frame_fail_after(long n)
{
	uint64_t flags = spin_lock_irqsave(&frame_lock);

	fail_budget = n < 0 ? -1 : n;
	spin_unlock_irqrestore(&frame_lock, flags);
}
