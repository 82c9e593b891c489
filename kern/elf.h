/*
 * ELF64 executables for user programs: just enough of the format to load a
 * statically linked x86-64 ET_EXEC built by user/user.ld. The image comes
 * from an untrusted place (a boot module), so every field is checked before
 * it is used; a bad one makes the load fail with -ENOEXEC.
 */
#ifndef KERN_ELF_H
#define KERN_ELF_H

#include "lib/types.h"

struct aspace;

#define ELF_MAX_SEGMENTS 8

/* A PT_LOAD segment, checked: it lies in the file and in the user range. */
struct elf_segment {
	uint64_t vaddr, memsz;	/* where it goes; memsz >= filesz (the rest is zero) */
	uint64_t offset, filesz; /* where its bytes are in the file */
	bool write, exec;
};

struct elf_image {
	uint64_t entry;
	int nsegments;
	struct elf_segment seg[ELF_MAX_SEGMENTS];
};

/*
 * elf_parse - check the ELF64 image data[0, size) and describe its loadable
 * segments in *img. Every PT_LOAD header is checked, empty ones (p_memsz 0)
 * included. Returns 0, or -ENOEXEC when:
 *   - it is not a little-endian x86-64 ET_EXEC, or the program headers do
 *     not lie in the file;
 *   - a PT_LOAD has p_filesz > p_memsz, or [p_offset, p_offset + p_filesz)
 *     is not inside the file (computed without wrapping);
 *   - a PT_LOAD's p_align is not 0 or a power of two;
 *   - a non-empty PT_LOAD lies outside [PAGE_SIZE, USER_MAX) or wraps, or
 *     has p_align > 1 and p_vaddr % p_align != p_offset % p_align;
 *   - two segments share a page or are out of address order, there are more
 *     than ELF_MAX_SEGMENTS non-empty ones, or the entry is not in an
 *     executable one.
 * An empty PT_LOAD must have p_filesz 0 and is then skipped: it maps nothing.
 */
int elf_parse(const void *data, size_t size, struct elf_image *img);

/*
 * elf_load - parse data and map its segments into the user half of as
 * (fresh frames, user-accessible, writable/executable as the segment says),
 * copying the file bytes through the direct map. *entry receives the entry
 * point. Returns 0, -ENOEXEC, or -ENOMEM; on failure some segments may be
 * mapped already: the caller destroys the space.
 */
int elf_load(struct aspace *as, const void *data, size_t size, uint64_t *entry);

#endif
