/*
 * What the boot loader told us, parsed from the Multiboot2 information
 * block into plain structures that the rest of the kernel reads.
 */
#ifndef KERN_BOOTINFO_H
#define KERN_BOOTINFO_H

#include "kern/mm.h"

#define BOOT_MAX_MMAP 64
#define BOOT_MAX_MODULES 16
#define BOOT_CMDLINE_MAX 1280 /* > the ISO field (Makefile CMDLINE_FIELD) */

enum mem_type { MEM_AVAILABLE = 1, MEM_RESERVED = 2, MEM_ACPI = 3, MEM_NVS = 4, MEM_BAD = 5 };

struct mem_region {
	paddr_t base;
	uint64_t len;
	uint32_t type;
};

struct boot_module {
	paddr_t start;
	paddr_t end; /* exclusive */
	char name[64];
};

struct boot_info {
	char cmdline[BOOT_CMDLINE_MAX];
	char loader[64];
	struct mem_region mmap[BOOT_MAX_MMAP];
	int nmmap;
	struct boot_module modules[BOOT_MAX_MODULES];
	int nmodules;
	paddr_t rsdp; /* physical address of a copy of the ACPI RSDP, 0 if none */
	bool rsdp_v2;
	paddr_t info_start, info_end; /* the Multiboot2 block itself */
};

extern struct boot_info boot_info;

/*
 * multiboot2_parse - fill boot_info from the block at physical mbi_pa.
 * Panics with a clear message on a bad magic, a malformed tag or a missing
 * memory map. Call with the identity or direct map in place.
 */
void multiboot2_parse(uint32_t magic, paddr_t mbi_pa);

#endif
