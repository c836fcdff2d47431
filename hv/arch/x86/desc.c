/* The hypervisor's own GDT, TSS and IDT, replacing whatever the boot path left
 * (GRUB's or UEFI's), so VM exits land on known selectors and stacks. */
#include <arch/desc.h>
#include "hvlib.h"

struct __attribute__((packed)) dtr {
	uint16_t limit;
	uint64_t base;
};
struct __attribute__((packed)) tss64 {
	uint32_t rsvd0;
	uint64_t rsp[3];
	uint64_t rsvd1;
	uint64_t ist[7];
	uint64_t rsvd2;
	uint16_t rsvd3, iopb;
};
struct __attribute__((packed)) idt_gate {
	uint16_t off0, sel;
	uint8_t ist, type;
	uint16_t off1;
	uint32_t off2, rsvd;
};

static uint64_t gdt[5] __attribute__((aligned(16)));
static struct tss64 tss __attribute__((aligned(16)));
static struct idt_gate idt[256] __attribute__((aligned(16)));
static uint8_t df_stack[16384] __attribute__((aligned(16)));
extern uint64_t isr_table[256];

void desc_init(void)
{
	gdt[0] = 0;
	gdt[1] = 0x00AF9A000000FFFFull; /* SEL_CODE: 64-bit code */
	gdt[2] = 0x00CF92000000FFFFull; /* SEL_DATA */
	uint64_t base = (uint64_t)(uintptr_t)&tss, limit = sizeof(tss) - 1;
	memset(&tss, 0, sizeof(tss));
	tss.ist[0] = (uint64_t)(uintptr_t)(df_stack + sizeof(df_stack));
	tss.iopb = sizeof(tss);
	gdt[3] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) | (((limit >> 16) & 0xf) << 48) |
		 (((base >> 24) & 0xff) << 56);
	gdt[4] = base >> 32;

	struct dtr g = { sizeof(gdt) - 1, (uint64_t)(uintptr_t)gdt };
	__asm__ volatile("lgdt %0\n\t"
			 "pushq %1\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "mov %2, %%ax\n\t"
			 "mov %%ax, %%ds\n\t"
			 "mov %%ax, %%es\n\t"
			 "mov %%ax, %%ss\n\t"
			 "xor %%eax, %%eax\n\t"
			 "mov %%ax, %%fs\n\t"
			 "mov %%ax, %%gs\n\t"
			 "mov %3, %%ax\n\t"
			 "ltr %%ax\n\t" ::"m"(g),
			 "i"(SEL_CODE), "i"(SEL_DATA), "i"(SEL_TSS)
			 : "rax", "memory");

	for (unsigned v = 0; v < 256; v++) {
		uint64_t off = isr_table[v];
		idt[v].off0 = (uint16_t)off;
		idt[v].sel = SEL_CODE;
		idt[v].ist = v == 8 ? 1 : 0; /* double fault on a known-good stack */
		idt[v].type = 0x8e;	     /* present, interrupt gate */
		idt[v].off1 = (uint16_t)(off >> 16);
		idt[v].off2 = (uint32_t)(off >> 32);
		idt[v].rsvd = 0;
	}
	struct dtr i = { sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };
	__asm__ volatile("lidt %0" ::"m"(i));
}

uint64_t desc_gdt_base(void) { return (uint64_t)(uintptr_t)gdt; }
uint64_t desc_idt_base(void) { return (uint64_t)(uintptr_t)idt; }
uint64_t desc_tss_base(void) { return (uint64_t)(uintptr_t)&tss; }
