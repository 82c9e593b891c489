/*
 * Symmetric multiprocessing: start the application processors (APs) that
 * the ACPI MADT lists, and hand them work.
 *
 * Boot: the BSP copies kern/trampoline.S to TRAMP_PA and sends each AP
 * INIT, STARTUP, STARTUP; the AP climbs from real mode to long mode on a
 * temporary PML4, jumps to smp_ap_entry() in the kernel image on its own
 * stack, loads the kernel's page tables, its GDT/TSS, the IDT, its per-CPU
 * data (GS), enables its local APIC, prints that it is online and idles
 * (hlt with interrupts on), waiting for smp_call() work or IPIs.
 */
#ifndef KERN_SMP_H
#define KERN_SMP_H

#define TRAMP_PA 0x8000 /* below 1 MiB (real mode), never given out by frame.c */

#ifndef __ASSEMBLER__
#include "kern/cpu.h"

/*
 * smp_init - find the CPUs; when there is more than one, enable the local
 * APICs and bring every AP online (each prints "smp: cpu N ... online").
 * With one CPU it does nothing visible. With more, it returns with
 * interrupts enabled on the BSP (only IPIs arrive). BSP only, once, after
 * kvm_init().
 */
void smp_init(void);

/* smp_ncpus - CPUs online (1 until smp_init started the APs). */
int smp_ncpus(void);

/* smp_online_mask - bit i set for every CPU i online. */
uint64_t smp_online_mask(void);

/*
 * smp_send_ipi - send interrupt vector to CPU cpu (an index, not an APIC
 * id). Any context; needs more than one CPU.
 */
void smp_send_ipi(int cpu, uint8_t vector);

/*
 * smp_call - have idle AP cpu run fn(arg) in its idle loop (interrupts on,
 * so it keeps answering IPIs). Returns 0, -EINVAL for the calling CPU or a
 * CPU that is not online, -EBUSY if cpu still runs earlier work.
 */
int smp_call(int cpu, void (*fn)(void *), void *arg);

/*
 * smp_call_wait - wait up to ms milliseconds for cpu's smp_call work to
 * finish. Returns 0 (cpu is free for the next call) or -ETIMEDOUT.
 */
int smp_call_wait(int cpu, unsigned ms);

/* tsc_per_ms - TSC ticks per millisecond (calibrated with the PIT when SMP). */
uint64_t tsc_per_ms(void);

/* smp_ap_entry - where the trampoline lands (kern/trampoline.S). */
void smp_ap_entry(int cpu) __noreturn;
#endif

#endif
