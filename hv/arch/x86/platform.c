/* The x86 side of the small platform hooks in hv/include/arch.h: bring-up order of the
 * CPU's own tables, the cycle counter, barriers, entropy, the console UART, halting. */
#include <arch/cpu.h>
#include <arch/desc.h>
#include <arch/fpu.h>
#include <arch/serial.h>
#include "arch.h"
#include "entropy.h"

/* The hypervisor polls: the legacy PIC stays masked so no interrupt ever reaches it. */
static void pic_mask_all(void)
{
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
}

void arch_platform_init(void)
{
	desc_init();
	pic_mask_all();
	fpu_init();
}

uint64_t arch_cycles(void) { return rdtsc(); }

void arch_cpu_relax(void) { cpu_relax(); }

void arch_halt(void)
{
	cli();
	for (;;)
		hlt();
}

/* x86 keeps stores in order and loads in order for write-back memory; the fences order
 * them against the NIC's view through the uncached register window. */
void arch_wmb(void) { __asm__ volatile("sfence" ::: "memory"); }

void arch_rmb(void) { __asm__ volatile("lfence" ::: "memory"); }

int arch_entropy(void *ctx, void *buf, size_t len) { return hvc_entropy_x86(ctx, buf, len); }

void arch_console_init(uint32_t baud) { serial_init(baud); }

void arch_console_write(const char *s, size_t n) { serial_write(s, n); }

int arch_console_getc(void) { return serial_getc(); }

void arch_host_vector_begin(void) { fpu_host_begin(); }
