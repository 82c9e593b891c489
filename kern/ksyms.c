/*
 * The kernel's own symbol table, for backtraces with function names. The
 * build links the kernel with an empty .ksyms section of fixed size, then
 * tools/mksyms.py fills it from `nm` and objcopy writes it back in place, so
 * no address moves between the two steps.
 */
#include "kern/panic.h"
#include "kern/ksyms.h"

/* Defined in kern/ksyms_blob.S so the compiler cannot fold its contents. */
extern const uint8_t ksyms_blob[KSYMS_BLOB_SIZE];

const char *ksym_lookup(uint64_t addr, uint64_t *off)
{
	const struct ksyms_header *h = (const void *)ksyms_blob;
	const struct ksym *syms = (const void *)(h + 1);
	const char *strtab = (const char *)ksyms_blob + h->strtab_offset;
	uint32_t lo = 0, hi;

	if (h->magic != KSYMS_MAGIC || h->count == 0)
		return NULL;
	hi = h->count;
	/* Find the last symbol whose address is <= addr. */
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (syms[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	if (addr < syms[lo].addr || addr >= syms[lo].addr + syms[lo].size)
		return NULL;
	*off = addr - syms[lo].addr;
	return strtab + syms[lo].name_offset;
}
