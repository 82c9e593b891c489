/*
 * ACPI tables, just enough for SMP: find the MADT from the RSDP GRUB passed and
 * list the processors' local APIC IDs (kern/acpi.h).
 */
#include "kern/acpi.h"
#include "kern/bootinfo.h"
#include "lib/errno.h"
#include "lib/string.h"

#define LAPIC_DEFAULT_PA 0xfee00000UL
#define MADT_LAPIC 0		/* processor local APIC entry */
#define MADT_LAPIC_OVERRIDE 5	/* 64-bit local APIC address */
#define MADT_X2APIC 9		/* processor local x2APIC entry */
#define MADT_ENABLED 0x1
#define MADT_ONLINE_CAPABLE 0x2

struct rsdp {
	char sig[8];
	uint8_t checksum;
	char oem[6];
	uint8_t revision;
	uint32_t rsdt;
	uint32_t length; /* revision >= 2 from here on */
	uint64_t xsdt;
	uint8_t xchecksum;
	uint8_t reserved[3];
} __attribute__((packed));

struct sdt_header {
	char sig[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem[6];
	char oem_table[8];
	uint32_t oem_revision;
	uint32_t creator, creator_revision;
} __attribute__((packed));

struct madt {
	struct sdt_header h;
	uint32_t lapic_addr;
	uint32_t flags;
	uint8_t entries[];
} __attribute__((packed));

static bool checksum_ok(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += b[i];
	return sum == 0;
}

/* The table whose signature is sig, from the RSDT (4-byte) or XSDT (8-byte) list. */
static const struct sdt_header *find_table(const struct rsdp *rsdp, const char *sig)
{
	bool xsdt = rsdp->revision >= 2 && rsdp->xsdt;
	const struct sdt_header *root = pa2kva(xsdt ? rsdp->xsdt : rsdp->rsdt);
	size_t width = xsdt ? 8 : 4;
	size_t n = (root->length - sizeof(*root)) / width;
	const uint8_t *list = (const uint8_t *)(root + 1);

	for (size_t i = 0; i < n; i++) {
		uint64_t pa = 0;
		const struct sdt_header *t;

		memcpy(&pa, list + i * width, width);
		t = pa2kva(pa);
		if (memcmp(t->sig, sig, 4) == 0)
			return t;
	}
	return NULL;
}

static void add_cpu(struct acpi_cpus *out, uint32_t apic_id, uint32_t flags)
{
	if (!(flags & MADT_ENABLED))
		return; /* absent, or only hot-pluggable (MADT_ONLINE_CAPABLE) */
	if (out->ncpus == MAX_CPUS) {
		out->ignored++;
		return;
	}
	out->apic_id[out->ncpus++] = apic_id;
}

static void parse_madt(const struct madt *m, struct acpi_cpus *out)
{
	const uint8_t *p = m->entries, *end = (const uint8_t *)m + m->h.length;

	out->lapic_pa = m->lapic_addr;
	while (p + 2 <= end && p[1] >= 2 && p + p[1] <= end) {
		uint32_t u32;
		uint64_t u64;

		switch (p[0]) {
		case MADT_LAPIC: /* type, len, processor uid, apic id, flags (4) */
			memcpy(&u32, p + 4, 4);
			add_cpu(out, p[3], u32);
			break;
		case MADT_X2APIC: /* type, len, reserved (2), x2apic id (4), flags (4), uid */
			memcpy(&u64, p + 4, 8);
			add_cpu(out, (uint32_t)u64, (uint32_t)(u64 >> 32));
			break;
		case MADT_LAPIC_OVERRIDE:
			memcpy(&u64, p + 4, 8);
			out->lapic_pa = u64;
			break;
		}
		p += p[1];
	}
}

int acpi_find_cpus(struct acpi_cpus *out)
{
	const struct rsdp *rsdp;
	const struct sdt_header *madt;

	memset(out, 0, sizeof(*out));
	out->ncpus = 1;
	out->lapic_pa = LAPIC_DEFAULT_PA;
	if (!boot_info.rsdp)
		return -ENOENT;
	rsdp = pa2kva(boot_info.rsdp);
	if (memcmp(rsdp->sig, "RSD PTR ", 8) != 0 || !checksum_ok(rsdp, 20))
		return -EINVAL;
	madt = find_table(rsdp, "APIC");
	if (!madt)
		return -ENOENT;
	if (!checksum_ok(madt, madt->length))
		return -EINVAL;
	out->ncpus = 0;
	parse_madt((const struct madt *)madt, out);
	if (out->ncpus == 0) {
		out->ncpus = 1; /* a MADT without processors: run on the BSP alone */
		return -ENOENT;
	}
	return 0;
}
