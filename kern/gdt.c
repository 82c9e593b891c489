/*
 * Each CPU's GDT and TSS: kernel and user segments in the order SYSCALL and
 * SYSRET require, and the ring-0 stack for traps from user mode.
 */
#include "kern/cpu.h"
#include "kern/gdt.h"
#include "lib/string.h"

struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

struct desc_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

#define DF_STACK_SIZE 4096

struct cpu_segments {
	uint64_t gdt[7]; /* null, kcode, kdata, udata, ucode, tss (2 slots) */
	struct tss tss;
	uint8_t df_stack[DF_STACK_SIZE] __attribute__((aligned(16)));
};

static struct cpu_segments segs[MAX_CPUS];

static void set_tss_desc(uint64_t *slot, const struct tss *tss)
{
	uint64_t base = (uint64_t)tss, limit = sizeof(*tss) - 1;

	slot[0] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89UL << 40) |
		  (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	slot[1] = base >> 32;
}

void gdt_init_cpu(int cpu)
{
	struct cpu_segments *s = &segs[cpu];
	struct desc_ptr d = { sizeof(s->gdt) - 1, (uint64_t)s->gdt };

	s->gdt[0] = 0;
	s->gdt[GDT_KCODE / 8] = 0x00af9a000000ffffUL; /* 64-bit, DPL 0 */
	s->gdt[GDT_KDATA / 8] = 0x00cf92000000ffffUL;
	s->gdt[GDT_UDATA / 8] = 0x00cff2000000ffffUL; /* DPL 3 */
	s->gdt[GDT_UCODE / 8] = 0x00affa000000ffffUL;
	memset(&s->tss, 0, sizeof(s->tss));
	s->tss.ist[IST_DOUBLE_FAULT - 1] = (uint64_t)(s->df_stack + DF_STACK_SIZE);
	s->tss.iomap_base = sizeof(s->tss); /* no I/O bitmap */
	set_tss_desc(&s->gdt[GDT_TSS / 8], &s->tss);

	asm volatile("lgdt %0\n\t"
		     "pushq %1\n\t"
		     "leaq 1f(%%rip), %%rax\n\t"
		     "pushq %%rax\n\t"
		     "lretq\n"
		     "1:\n\t"
		     "movw %w2, %%ds\n\t"
		     "movw %w2, %%es\n\t"
		     "movw %w2, %%ss\n\t"
		     "ltr %w3"
		     :
		     : "m"(d), "i"(GDT_KCODE), "r"(GDT_KDATA), "r"(GDT_TSS)
		     : "rax", "memory");
}

void tss_set_kernel_stack(int cpu, uint64_t rsp0)
{
	segs[cpu].tss.rsp[0] = rsp0;
}
