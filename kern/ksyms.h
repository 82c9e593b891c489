/* Layout of the embedded symbol table; tools/mksyms.py writes the same. */
#ifndef KERN_KSYMS_H
#define KERN_KSYMS_H

#define KSYMS_BLOB_SIZE (64 * 1024)
#define KSYMS_MAGIC 0x4d59534bu /* "KSYM" */

#ifndef __ASSEMBLER__
#include "lib/types.h"

struct ksyms_header {
	uint32_t magic;
	uint32_t count;
	uint32_t strtab_offset;
	uint32_t reserved;
};

struct ksym {
	uint64_t addr;
	uint32_t size;
	uint32_t name_offset;
};

#endif /* __ASSEMBLER__ */

#endif
