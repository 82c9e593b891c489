/*
 * kmain: the C entry point. Brings the layers up in order (memory, traps,
 * address spaces, system calls, CPUs), then runs the tests or the program
 * the command line names.
 */
#include "kern/aspace.h"
#include "kern/bootinfo.h"
#include "kern/console.h"
#include "kern/cpu.h"
#include "kern/frame.h"
#include "kern/gdt.h"
#include "kern/kvm.h"
#include "kern/memview.h"
#include "kern/panic.h"
#include "kern/percpu.h"
#include "kern/proc.h"
#include "kern/smp.h"
#include "kern/syscall.h"
#include "kern/test/ktest.h"
#include "kern/trap.h"
#include "kern/uaccess.h"
#include "kern/x86.h"
#include "lib/cmdline.h"

void kmain(uint32_t magic, uint32_t mbi_pa);

static void print_boot_summary(void)
{
	uint64_t ram = 0;

	for (int i = 0; i < boot_info.nmmap; i++)
		if (boot_info.mmap[i].type == MEM_AVAILABLE)
			ram += boot_info.mmap[i].len;
	kprintf("pagoda: loader \"%s\", cmdline \"%s\"\n", boot_info.loader, boot_info.cmdline);
	kprintf("pagoda: %lu MiB RAM, %zu free frames, %d module(s), ACPI RSDP %s\n", ram >> 20,
		frame_free_count(), boot_info.nmodules, boot_info.rsdp ? "found" : "missing");
	kprintf("pagoda: cpu features:%s%s%s%s%s\n", cpu_has_1g_pages() ? " 1g-pages" : "",
		cpu_has_smep() ? " smep" : "", cpu_has_smap() ? " smap" : "",
		cpu_has_pcid() ? " pcid" : "", cpu_has_invpcid() ? " invpcid" : "");
}

static void __noreturn idle(void)
{
	kprintf("pagoda: nothing to run; add test=... to the command line (make qemu "
		"CMDLINE=\"test=boot\"). Quit QEMU with Ctrl-A x.\n");
	for (;;)
		hlt();
}

/**
 * kmain - the C entry point, on the boot stack with interrupts off.
 * @magic: Multiboot2 boot magic (EAX at entry)
 * @mbi_pa: physical address of the Multiboot2 information block (EBX)
 */
void kmain(uint32_t magic, uint32_t mbi_pa)
{
	const char *cmdline;

	percpu_init(0, 0); /* GS: cpu_id() and spinlocks work from here on */
	serial_init();
	kprintf("\npagoda: booting (x86-64, Multiboot2)\n");
	cpu_features_init();
	gdt_init_cpu(0);
	trap_init();
	multiboot2_parse(magic, mbi_pa);
	/* Before any lab code runs: only the test framework may hold the key. */
	ktest_take_key();
	frame_init();
	kvm_init();
	aspace_boot();
	ktest_init();
	uaccess_init(); /* after aspace_boot: demand-zero faults come before fixups */
	syscall_init_cpu();
	proc_init();
	print_boot_summary();
	smp_init(); /* last: APs copy the BSP's CR0/CR4/EFER and syscall MSRs */

	cmdline = boot_info.cmdline;
	memview_boot(cmdline);
	if (cmdline_get(cmdline, "test", NULL, 0) >= 0)
		ktest_main(cmdline);
	if (cmdline_get(cmdline, "run", NULL, 0) >= 0)
		proc_run_from_cmdline(cmdline);
	if (cmdline_get(cmdline, "halt", NULL, 0) >= 0) {
		kprintf("pagoda: halt requested on the command line\n");
		qemu_exit(EXIT_HALTED);
	}
	idle();
}
