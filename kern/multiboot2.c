/* Multiboot2 information parsing (spec section 3.6). */
#include "kern/bootinfo.h"
#include "kern/console.h"
#include "kern/panic.h"
#include "lib/cmdline.h"
#include "lib/string.h"

#define MB2_BOOTLOADER_MAGIC 0x36d76289
#define TAG_END 0
#define TAG_CMDLINE 1
#define TAG_LOADER_NAME 2
#define TAG_MODULE 3
#define TAG_MMAP 6
#define TAG_ACPI_OLD 14
#define TAG_ACPI_NEW 15

struct mb2_tag {
	uint32_t type;
	uint32_t size;
};

struct mb2_tag_module {
	struct mb2_tag tag;
	uint32_t mod_start;
	uint32_t mod_end;
	char name[];
};

struct mb2_tag_mmap {
	struct mb2_tag tag;
	uint32_t entry_size;
	uint32_t entry_version;
};

struct mb2_mmap_entry {
	uint64_t base;
	uint64_t len;
	uint32_t type;
	uint32_t reserved;
};

struct boot_info boot_info;

static void copy_string(char *dst, size_t size, const struct mb2_tag *tag, size_t hdr)
{
	size_t n;

	if (tag->size < hdr)
		panic("multiboot2: tag %u too small (%u bytes)", tag->type, tag->size);
	n = strnlen((const char *)tag + hdr, tag->size - hdr);
	if (n >= size)
		n = size - 1;
	memcpy(dst, (const char *)tag + hdr, n);
	dst[n] = '\0';
}

static void parse_mmap(const struct mb2_tag *tag)
{
	const struct mb2_tag_mmap *m = (const void *)tag;
	const uint8_t *p = (const uint8_t *)(m + 1), *end = (const uint8_t *)tag + tag->size;

	if (m->entry_size < sizeof(struct mb2_mmap_entry))
		panic("multiboot2: memory map entry size %u too small", m->entry_size);
	for (; p + m->entry_size <= end; p += m->entry_size) {
		const struct mb2_mmap_entry *e = (const void *)p;
		struct mem_region *r;

		if (boot_info.nmmap == BOOT_MAX_MMAP) {
			kprintf("multiboot2: memory map has more than %d entries, ignoring the rest\n",
				BOOT_MAX_MMAP);
			return;
		}
		r = &boot_info.mmap[boot_info.nmmap++];
		r->base = e->base;
		r->len = e->len;
		r->type = e->type;
	}
}

static void parse_module(const struct mb2_tag *tag)
{
	const struct mb2_tag_module *m = (const void *)tag;
	struct boot_module *bm;

	if (boot_info.nmodules == BOOT_MAX_MODULES)
		panic("multiboot2: more than %d modules", BOOT_MAX_MODULES);
	if (m->mod_end < m->mod_start)
		panic("multiboot2: module ends (%#x) before it starts (%#x)", m->mod_end,
		      m->mod_start);
	bm = &boot_info.modules[boot_info.nmodules++];
	bm->start = m->mod_start;
	bm->end = m->mod_end;
	copy_string(bm->name, sizeof(bm->name), tag, sizeof(*m));
}

static void parse_tag(const struct mb2_tag *tag, paddr_t tag_pa)
{
	switch (tag->type) {
	case TAG_CMDLINE:
		if (strnlen((const char *)tag + 8, tag->size - 8) >= sizeof(boot_info.cmdline))
			panic("multiboot2: the command line is longer than %zu bytes",
			      sizeof(boot_info.cmdline) - 1);
		copy_string(boot_info.cmdline, sizeof(boot_info.cmdline), tag, 8);
		break;
	case TAG_LOADER_NAME:
		copy_string(boot_info.loader, sizeof(boot_info.loader), tag, 8);
		break;
	case TAG_MODULE:
		parse_module(tag);
		break;
	case TAG_MMAP:
		parse_mmap(tag);
		break;
	case TAG_ACPI_NEW:
		boot_info.rsdp_v2 = true;
		boot_info.rsdp = tag_pa + 8;
		break;
	case TAG_ACPI_OLD:
		if (!boot_info.rsdp)
			boot_info.rsdp = tag_pa + 8;
		break;
	}
}

void multiboot2_parse(uint32_t magic, paddr_t mbi_pa)
{
	const uint8_t *mbi;
	uint32_t total;
	paddr_t off;

	if (magic != MB2_BOOTLOADER_MAGIC)
		panic("multiboot2: bad boot magic %#x (expected %#x)", magic, MB2_BOOTLOADER_MAGIC);
	if (mbi_pa == 0 || (mbi_pa & 7) || mbi_pa + 8 > DMAP_SIZE)
		panic("multiboot2: bad information block address %#lx", mbi_pa);
	mbi = pa2kva(mbi_pa);
	total = *(const uint32_t *)mbi;
	if (total < 16 || mbi_pa + total > DMAP_SIZE)
		panic("multiboot2: bad information block size %u", total);
	boot_info.info_start = mbi_pa;
	boot_info.info_end = mbi_pa + total;

	for (off = 8; off + 8 <= total;) {
		const struct mb2_tag *tag = (const void *)(mbi + off);

		if (tag->type == TAG_END)
			break;
		if (tag->size < 8 || off + tag->size > total)
			panic("multiboot2: malformed tag type %u size %u at offset %lu", tag->type,
			      tag->size, off);
		parse_tag(tag, mbi_pa + off);
		off += ROUNDUP((paddr_t)tag->size, 8);
	}
	if (boot_info.nmmap == 0)
		panic("multiboot2: no memory map tag (type 6) from the boot loader");
	/* After the loop: the loader's name may come after the command line. */
	if (strncmp(boot_info.loader, "GRUB", 4) == 0)
		cmdline_unescape_grub(boot_info.cmdline);
}
