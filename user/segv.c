/*
 * segv MODE: a program that dereferences a bad pointer itself, in ring 3,
 * and must be killed for it (the kernel lives on). MODE: null, kernel,
 * noncanon, rotext (write to its own code), nxdata (execute its data).
 * Exits 99 instead if the kernel cannot even print its greeting (write).
 */
#include "user/lib/ulib.h"

static uint8_t data_ret[16] = { 0xc3 }; /* ret, in a non-executable page */

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "null";
	char line[64];
	int n = snprintf(line, sizeof(line), "segv: %s\n", mode);

	if (write(FD_STDOUT, line, (size_t)n) != n)
		return 99;
	if (strcmp(mode, "null") == 0)
		return *(volatile int *)0;
	if (strcmp(mode, "kernel") == 0)
		return *(volatile int *)0xffffffff80100000UL;
	if (strcmp(mode, "noncanon") == 0)
		return *(volatile int *)0x0000800000000000UL;
	if (strcmp(mode, "rotext") == 0) {
		*(volatile uint8_t *)main = 0;
		return 98;
	}
	if (strcmp(mode, "nxdata") == 0) {
		((void (*)(void))data_ret)();
		return 97;
	}
	return 96;
}
