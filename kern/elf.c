/*
 * Parse and load the statically linked ELF64 executables of user programs
 * into an address space (kern/elf.h has the accepted subset).
 */
#include "kern/aspace.h"
#include "kern/elf.h"
#include "kern/uaccess.h"
#include "lib/errno.h"
#include "lib/string.h"

#define ET_EXEC 2
#define EM_X86_64 62
#define PT_LOAD 1
#define PF_X 0x1
#define PF_W 0x2

struct elf64_ehdr {
	uint8_t ident[16];
	uint16_t type, machine;
	uint32_t version;
	uint64_t entry, phoff, shoff;
	uint32_t flags;
	uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf64_phdr {
	uint32_t type, flags;
	uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

/* Whether [off, off + len) lies inside a file of size bytes, without wrapping. */
static bool in_file(uint64_t off, uint64_t len, size_t size)
{
	return off <= size && len <= size - off;
}

static bool header_ok(const struct elf64_ehdr *eh, size_t size)
{
	static const uint8_t magic[] = { 0x7f, 'E', 'L', 'F', 2 /* 64-bit */, 1 /* LE */, 1 };

	return size >= sizeof(*eh) && memcmp(eh->ident, magic, sizeof(magic)) == 0 &&
	       eh->type == ET_EXEC && eh->machine == EM_X86_64 &&
	       eh->phentsize == sizeof(struct elf64_phdr) &&
	       in_file(eh->phoff, (uint64_t)eh->phnum * sizeof(struct elf64_phdr), size) &&
	       IS_ALIGNED(eh->phoff, 8);
}

/* Whether a p_align value is legal: 0 or 1 (no constraint) or a power of two. */
static bool align_ok(uint64_t align)
{
	return (align & (align - 1)) == 0;
}

/*
 * Checks one PT_LOAD header against the file and the user range. Every
 * PT_LOAD is checked, empty ones included: a segment that loads nothing can
 * still lie about its file bytes, and a later change to the loader must not
 * trust them.
 */
static int check_segment(const struct elf64_phdr *ph, size_t size)
{
	if (ph->filesz > ph->memsz || !in_file(ph->offset, ph->filesz, size) ||
	    !align_ok(ph->align))
		return -ENOEXEC;
	/* An empty segment maps nothing: its address does not matter (ld puts 0 there). */
	if (ph->memsz == 0)
		return 0;
	/* Not access_ok(): the loader must not depend on lab 3's code. */
	if (ph->vaddr < PAGE_SIZE || ph->vaddr >= USER_MAX || ph->memsz > USER_MAX - ph->vaddr)
		return -ENOEXEC;
	/* The ELF rule for loadable segments: address and offset agree modulo p_align. */
	if (ph->align > 1 && (ph->vaddr & (ph->align - 1)) != (ph->offset & (ph->align - 1)))
		return -ENOEXEC;
	return 0;
}

/* Appends a checked, non-empty PT_LOAD segment to img. */
static int add_segment(struct elf_image *img, const struct elf64_phdr *ph)
{
	struct elf_segment *s;
	uint64_t first;

	if (img->nsegments == ELF_MAX_SEGMENTS)
		return -ENOEXEC;
	/* Segments must be in address order and not share a page. */
	first = ROUNDDOWN(ph->vaddr, PAGE_SIZE);
	if (img->nsegments > 0) {
		const struct elf_segment *prev = &img->seg[img->nsegments - 1];

		if (first < ROUNDUP(prev->vaddr + prev->memsz, PAGE_SIZE))
			return -ENOEXEC;
	}
	s = &img->seg[img->nsegments++];
	s->vaddr = ph->vaddr;
	s->memsz = ph->memsz;
	s->offset = ph->offset;
	s->filesz = ph->filesz;
	s->write = ph->flags & PF_W;
	s->exec = ph->flags & PF_X;
	return 0;
}

int elf_parse(const void *data, size_t size, struct elf_image *img)
{
	const struct elf64_ehdr *eh = data;
	const struct elf64_phdr *ph;
	bool entry_ok = false;

	memset(img, 0, sizeof(*img));
	if (!header_ok(eh, size))
		return -ENOEXEC;
	ph = (const struct elf64_phdr *)((const char *)data + eh->phoff);
	for (int i = 0; i < eh->phnum; i++) {
		if (ph[i].type != PT_LOAD)
			continue;
		if (check_segment(&ph[i], size) < 0)
			return -ENOEXEC;
		/* The linker emits an empty data segment for a program without data. */
		if (ph[i].memsz == 0)
			continue;
		if (add_segment(img, &ph[i]) < 0)
			return -ENOEXEC;
	}
	for (int i = 0; i < img->nsegments; i++) {
		const struct elf_segment *s = &img->seg[i];

		if (s->exec && eh->entry >= s->vaddr && eh->entry - s->vaddr < s->memsz)
			entry_ok = true;
	}
	if (!entry_ok)
		return -ENOEXEC;
	img->entry = eh->entry;
	return 0;
}

/* Copies the segment's file bytes into its (already mapped) pages, page by page. */
static int copy_segment(struct aspace *as, const struct elf_segment *s, const char *data)
{
	uint64_t done = 0;

	while (done < s->filesz) {
		uint64_t va = s->vaddr + done;
		uint64_t n = MIN(s->filesz - done, PAGE_SIZE - (va & (PAGE_SIZE - 1)));
		struct pt_translation t;

		if (aspace_translate(as, va, &t) < 0)
			return -ENOEXEC;
		memcpy(pa2kva(t.pa), data + s->offset + done, n);
		done += n;
	}
	return 0;
}

int elf_load(struct aspace *as, const void *data, size_t size, uint64_t *entry)
{
	struct elf_image img;
	int r = elf_parse(data, size, &img);

	for (int i = 0; r == 0 && i < img.nsegments; i++) {
		const struct elf_segment *s = &img.seg[i];
		uint64_t start = ROUNDDOWN(s->vaddr, PAGE_SIZE);
		uint64_t end = ROUNDUP(s->vaddr + s->memsz, PAGE_SIZE);
		unsigned prot = AS_USER | (s->write ? AS_WRITE : 0) | (s->exec ? AS_EXEC : 0);

		r = aspace_alloc(as, start, end - start, prot);
		if (r == 0)
			r = copy_segment(as, s, data);
	}
	if (r == -EEXIST || r == -EINVAL)
		r = -ENOEXEC;
	if (r == 0)
		*entry = img.entry;
	return r;
}
