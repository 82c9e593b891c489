/*
 * Physical frame allocator: 4 KiB frames of RAM from the Multiboot2 memory
 * map, minus the first MiB, the kernel image (with the boot page tables), the
 * Multiboot2 block and the modules. Freed frames are poisoned.
 */
#ifndef KERN_FRAME_H
#define KERN_FRAME_H

#include "kern/mm.h"

/* Byte written over every freed frame, so use-after-free reads show it. */
#define FRAME_POISON 0x6b

/* frame_init - build the allocator from boot_info. Call once at boot. */
void frame_init(void);

/*
 * frame_alloc - allocate one frame; returns its physical address, or 0 when
 * memory is exhausted (or a test forced a failure). Contents are undefined
 * (poison). frame_alloc_zeroed returns it zeroed. Any context; takes a lock.
 */
paddr_t frame_alloc(void);
paddr_t frame_alloc_zeroed(void);

/*
 * frame_free - return a frame. Panics on an unaligned address, a frame that
 * the allocator never manages (kernel image, first MiB, device memory) and
 * a frame that is already free (double free).
 */
void frame_free(paddr_t pa);

/* frame_free_count - frames free right now; tests compare it to a baseline. */
size_t frame_free_count(void);
size_t frame_total_count(void);
bool frame_is_allocated(paddr_t pa);
/* frame_is_managed - whether pa lies in a frame that the allocator hands out. */
bool frame_is_managed(paddr_t pa);

/*
 * frame_bits - a snapshot of the allocator for memview: bit i of allocated
 * says frame i is allocated, of usable (unless NULL) that the allocator
 * manages it; nframes bits each, rounded up to whole words.
 */
void frame_bits(uint64_t *allocated, uint64_t *usable, size_t nframes);
/* frame_bitmaps - where the allocator's own data lies: bitmap 0 or 1, [start, end). */
void frame_bitmaps(int which, paddr_t *start, paddr_t *end);

/*
 * frame_fail_after - test hook: the next n allocations succeed, every later
 * one fails until frame_fail_after(-1) turns the hook off.
 */
void frame_fail_after(long n);

#endif
