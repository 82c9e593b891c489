/*
 * ACPI, just enough for SMP: find the MADT through the RSDP that GRUB copied
 * into the Multiboot2 information (boot_info.rsdp) and list the processors'
 * local APIC ids.
 */
#ifndef KERN_ACPI_H
#define KERN_ACPI_H

#include "kern/cpu.h"
#include "kern/mm.h"

struct acpi_cpus {
	int ncpus;			/* enabled processors, at most MAX_CPUS */
	uint32_t apic_id[MAX_CPUS];	/* in MADT order; the BSP is among them */
	paddr_t lapic_pa;		/* local APIC registers (usually 0xfee00000) */
	int ignored;			/* enabled processors beyond MAX_CPUS */
};

/*
 * acpi_find_cpus - parse the MADT into *out. Returns 0, or -ENOENT when there
 * is no RSDP or no MADT (then *out says 1 CPU, APIC id 0) and -EINVAL when a
 * table's checksum is wrong. Reads the tables through the direct map.
 */
int acpi_find_cpus(struct acpi_cpus *out);

#endif
