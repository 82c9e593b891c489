/*
 * The local APIC in xAPIC mode (MMIO through the direct map: TCG offers no
 * x2APIC). Each CPU enables its own; IPIs go through the ICR.
 */
#ifndef KERN_LAPIC_H
#define KERN_LAPIC_H

#include "kern/mm.h"

/* Interrupt vectors of the inter-processor interrupts (highest priority class). */
#define VEC_TLB_FLUSH 0xf0	/* kern/tlb.c: carry out the flush requests posted to us */
#define VEC_CALL 0xf1		/* kern/smp.c: wake an idle AP to run smp_call work */
#define VEC_TICK 0xe0		/* kern/test/smp.c: a test's preemption tick */
#define VEC_SPURIOUS 0xff

/*
 * lapic_init - map nothing (the direct map covers the APIC), enable this
 * CPU's APIC with the spurious vector, accept every priority. Call on each
 * CPU, interrupts off. The first call records the register base pa.
 */
void lapic_init(paddr_t pa);

/* lapic_id - the running CPU's APIC id. */
uint32_t lapic_id(void);

/* lapic_eoi - signal end of interrupt; every IPI handler calls it. */
void lapic_eoi(void);

/*
 * lapic_send_ipi - send a fixed interrupt `vector` to the CPU with APIC id
 * apic_id and wait until the APIC has accepted it (delivery status idle).
 * Any context.
 */
void lapic_send_ipi(uint32_t apic_id, uint8_t vector);

/* lapic_send_init / lapic_send_sipi - the AP start-up sequence (kern/smp.c). */
void lapic_send_init(uint32_t apic_id);
void lapic_send_sipi(uint32_t apic_id, uint8_t page);

/*
 * lapic_timer_oneshot - interrupt this CPU once with `vector` after `count`
 * bus ticks (divide by 1; a tick is 1 ns under QEMU). Re-arming replaces a
 * pending countdown. This CPU only; interrupts off or on.
 */
void lapic_timer_oneshot(uint8_t vector, uint32_t count);

/* lapic_ready - whether lapic_init has run on the BSP (more than one CPU). */
bool lapic_ready(void);

#endif
