/* TSC clock calibrated against the PIT (fixed 1.193182 MHz), the one timer
 * both Bochs and QEMU/real PCs provide before any ACPI parsing. */
#include <arch/cpu.h>
#include "hv.h"
#include "arch.h"

uint64_t hv_tsc_khz;
static uint64_t tsc_boot;

#define PIT_HZ 1193182u

int arch_clock_calibrate(void)
{
	const unsigned ms = 20;
	uint16_t count = (uint16_t)(PIT_HZ * ms / 1000);
	/* Channel 2, gate on, speaker off; mode 0 raises OUT at terminal count. */
	outb(0x61, (uint8_t)((inb(0x61) & ~0x02) | 0x01));
	outb(0x43, 0xb0);
	outb(0x42, (uint8_t)count);
	outb(0x42, (uint8_t)(count >> 8));
	uint64_t t0 = rdtsc(), spins = 0;
	while (!(inb(0x61) & 0x20)) {
		if (++spins > 200000000ull)
			return HV_EHW; /* no PIT: the caller reports and falls back */
	}
	uint64_t t1 = rdtsc();
	hv_tsc_khz = (t1 - t0) / ms;
	if (!hv_tsc_khz)
		return HV_EHW;
	tsc_boot = t1;
	return HV_OK;
}

void arch_clock_assume_khz(uint64_t khz)
{
	hv_tsc_khz = khz;
	tsc_boot = rdtsc();
}

uint64_t hv_now_ms(void) { return (rdtsc() - tsc_boot) / hv_tsc_khz; }
