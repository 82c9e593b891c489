/*
 * The local APIC in xAPIC (MMIO) mode: enable, EOI, IPIs (INIT, STARTUP,
 * fixed vectors) and the one-shot timer.
 */
#include "kern/lapic.h"
#include "kern/x86.h"

/* Register offsets (Intel SDM vol. 3, table 11-1). */
#define LAPIC_ID 0x020
#define LAPIC_TPR 0x080
#define LAPIC_EOI 0x0b0
#define LAPIC_SVR 0x0f0
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_LVT_ERROR 0x370
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_DIV 0x3e0

#define SVR_ENABLE 0x100
#define LVT_MASKED 0x10000
#define ICR_FIXED 0x000
#define ICR_INIT 0x500
#define ICR_STARTUP 0x600
#define ICR_PENDING 0x1000
#define ICR_ASSERT 0x4000
#define TIMER_DIV_1 0xb

static volatile uint32_t *regs;

static uint32_t lapic_read(unsigned reg)
{
	return regs[reg / 4];
}

static void lapic_write(unsigned reg, uint32_t v)
{
	regs[reg / 4] = v;
	(void)regs[LAPIC_ID / 4]; /* the SDM asks for a read to flush the write */
}

/* The legacy 8259s would deliver the BIOS timer at vector 8 (#DF): mask them. */
static void mask_8259(void)
{
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
}

void lapic_init(paddr_t pa)
{
	if (!regs) {
		mask_8259();
		regs = pa2kva(pa);
	}
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
	lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
	lapic_write(LAPIC_LVT_LINT1, LVT_MASKED);
	lapic_write(LAPIC_LVT_ERROR, LVT_MASKED);
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_SVR, SVR_ENABLE | VEC_SPURIOUS);
	lapic_write(LAPIC_EOI, 0);
}

bool lapic_ready(void)
{
	return regs != NULL;
}

uint32_t lapic_id(void)
{
	return lapic_read(LAPIC_ID) >> 24;
}

void lapic_eoi(void)
{
	regs[LAPIC_EOI / 4] = 0;
}

static void send_icr(uint32_t apic_id, uint32_t lo)
{
	uint64_t flags = read_rflags();

	/* Two register writes must not be split by an IPI sent from a handler. */
	cli();
	while (lapic_read(LAPIC_ICR_LO) & ICR_PENDING)
		pause();
	lapic_write(LAPIC_ICR_HI, apic_id << 24);
	lapic_write(LAPIC_ICR_LO, lo);
	while (lapic_read(LAPIC_ICR_LO) & ICR_PENDING)
		pause();
	if (flags & RFLAGS_IF)
		sti();
}

void lapic_send_ipi(uint32_t apic_id, uint8_t vector)
{
	send_icr(apic_id, ICR_FIXED | ICR_ASSERT | vector);
}

void lapic_send_init(uint32_t apic_id)
{
	send_icr(apic_id, ICR_INIT | ICR_ASSERT);
}

void lapic_send_sipi(uint32_t apic_id, uint8_t page)
{
	send_icr(apic_id, ICR_STARTUP | page);
}

void lapic_timer_oneshot(uint8_t vector, uint32_t count)
{
	lapic_write(LAPIC_TIMER_DIV, TIMER_DIV_1);
	lapic_write(LAPIC_LVT_TIMER, vector); /* one-shot mode, unmasked */
	lapic_write(LAPIC_TIMER_INIT, count);
}
