/*
 * Read named files out of QEMU's fw_cfg device: the grader hands the test
 * framework its signing key this way, away from the command line.
 */
#include "kern/fwcfg.h"
#include "kern/x86.h"
#include "lib/errno.h"
#include "lib/string.h"

/* The x86 I/O port interface (QEMU's docs/specs/fw_cfg.rst). */
#define FWCFG_PORT_SEL 0x510
#define FWCFG_PORT_DATA 0x511
#define FWCFG_SIGNATURE 0x0000
#define FWCFG_FILE_DIR 0x0019
#define FWCFG_NAME_MAX 56

/* A directory entry; the numbers are big-endian. */
struct fwcfg_file {
	uint32_t size;
	uint16_t select;
	uint16_t reserved;
	char name[FWCFG_NAME_MAX];
};

static void read_bytes(void *buf, size_t n)
{
	uint8_t *p = buf;

	for (size_t i = 0; i < n; i++)
		p[i] = inb(FWCFG_PORT_DATA);
}

static uint32_t be32(uint32_t v)
{
	return __builtin_bswap32(v);
}

long fwcfg_read_file(const char *name, void *buf, size_t size)
{
	char sig[4];
	uint32_t count;

	outw(FWCFG_PORT_SEL, FWCFG_SIGNATURE);
	read_bytes(sig, sizeof(sig));
	if (memcmp(sig, "QEMU", 4) != 0)
		return -ENOENT;
	outw(FWCFG_PORT_SEL, FWCFG_FILE_DIR);
	read_bytes(&count, sizeof(count));
	for (uint32_t i = 0; i < be32(count); i++) {
		struct fwcfg_file f;

		read_bytes(&f, sizeof(f));
		f.name[FWCFG_NAME_MAX - 1] = '\0';
		if (strcmp(f.name, name) != 0)
			continue;
		outw(FWCFG_PORT_SEL, __builtin_bswap16(f.select));
		read_bytes(buf, MIN(size, (size_t)be32(f.size)));
		return (long)be32(f.size);
	}
	return -ENOENT;
}
