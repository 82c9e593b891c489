/* Space for the symbol table; tools/mksyms.py fills it after linking. */
#include "kern/ksyms.h"

	.section .ksyms, "a"
	.balign 8
	.globl ksyms_blob
ksyms_blob:
	.fill KSYMS_BLOB_SIZE, 1, 0
