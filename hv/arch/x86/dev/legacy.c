/* The PC's legacy ports a Linux boot touches, as small as keeps it fast and correct: the
 * CMOS RTC (time of day from the host's RTC read once, update-in-progress clear, so no
 * 1 s busy-wait), the PIT (programming accepted; no interrupts: the APIC timer is the
 * clock), port 0x61 (PIT gate), the POST port 0x80, and the reset lines (keyboard
 * controller pulse, port 0xcf9), which stop the guest: a reboot ends it here. */
#include <arch/cpu.h>
#include <arch/pio.h>
#include <arch/vmcs.h>
#include <arch/vplat.h>
#include "hv.h"
#include "vm.h"

#define RTC_SECONDS 0x00
#define RTC_MINUTES 0x02
#define RTC_HOURS   0x04
#define RTC_WEEKDAY 0x06
#define RTC_DAY	    0x07
#define RTC_MONTH   0x08
#define RTC_YEAR    0x09
#define RTC_REG_A   0x0a
#define RTC_REG_B   0x0b
#define RTC_REG_C   0x0c
#define RTC_REG_D   0x0d
#define RTC_CENTURY 0x32
#define RTC_A_VALUE 0x26 /* 32.768 kHz time base, 1024 Hz rate, UIP clear */
#define RTC_B_VALUE 0x02 /* 24-hour, BCD, no interrupts */
#define RTC_D_VALUE 0x80 /* battery good */

static uint64_t epoch_at_boot; /* host RTC, seconds since 1970, at boot_tsc */
static uint64_t boot_tsc;
static int have_epoch;

static unsigned bcd2bin(uint8_t v) { return (v & 15u) + (v >> 4) * 10u; }
static uint8_t bin2bcd(unsigned v) { return (uint8_t)((v / 10u) << 4 | (v % 10u)); }

static uint8_t host_cmos(uint8_t idx)
{
	outb(0x70, idx);
	return inb(0x71);
}

static uint64_t days_from_civil(unsigned y, unsigned m, unsigned d)
{
	/* Days since 1970-01-01 of a Gregorian date (y >= 1970). */
	y -= m <= 2;
	uint64_t era = y / 400, yoe = y - era * 400;
	uint64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	uint64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void read_host_rtc(void)
{
	/* Wait out an update in progress (at most ~2 ms on a real RTC), bounded. */
	for (unsigned i = 0; i < 100000 && (host_cmos(RTC_REG_A) & 0x80); i++)
		cpu_relax();
	uint8_t b = host_cmos(RTC_REG_B);
	unsigned s = host_cmos(RTC_SECONDS), mi = host_cmos(RTC_MINUTES), h = host_cmos(RTC_HOURS),
		 d = host_cmos(RTC_DAY), mo = host_cmos(RTC_MONTH), y = host_cmos(RTC_YEAR);
	if (!(b & 0x04)) {
		s = bcd2bin((uint8_t)s);
		mi = bcd2bin((uint8_t)mi);
		h = bcd2bin((uint8_t)(h & 0x7f)) | (h & 0x80);
		d = bcd2bin((uint8_t)d);
		mo = bcd2bin((uint8_t)mo);
		y = bcd2bin((uint8_t)y);
	}
	if (!(b & 0x02) && (h & 0x80))
		h = (h & 0x7f) % 12 + 12; /* 12-hour clock, PM */
	h &= 0x7f;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59)
		y = 0, mo = 1, d = 1, h = mi = s = 0; /* no sane RTC: the epoch of 2000 */
	epoch_at_boot = days_from_civil(2000 + y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
	boot_tsc = rdtsc();
	have_epoch = 1;
}

static uint8_t rtc_read(uint8_t idx)
{
	if (!have_epoch)
		read_host_rtc();
	uint64_t t = epoch_at_boot + (rdtsc() - boot_tsc) / (hv_tsc_khz * 1000);
	uint64_t days = t / 86400, sec = t % 86400;
	/* civil_from_days */
	uint64_t z = days + 719468, era = z / 146097, doe = z - era * 146097;
	uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
	unsigned d = (unsigned)(doy - (153 * mp + 2) / 5 + 1), m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	unsigned y = (unsigned)(yoe + era * 400 + (m <= 2));
	switch (idx) {
	case RTC_SECONDS: return bin2bcd((unsigned)(sec % 60));
	case RTC_MINUTES: return bin2bcd((unsigned)(sec / 60 % 60));
	case RTC_HOURS: return bin2bcd((unsigned)(sec / 3600));
	case RTC_WEEKDAY: return bin2bcd((unsigned)((days + 4) % 7 + 1)); /* 1970-01-01 was a Thursday */
	case RTC_DAY: return bin2bcd(d);
	case RTC_MONTH: return bin2bcd(m);
	case RTC_YEAR: return bin2bcd(y % 100);
	case RTC_CENTURY: return bin2bcd(y / 100);
	case RTC_REG_A: return RTC_A_VALUE;
	case RTC_REG_B: return RTC_B_VALUE;
	case RTC_REG_C: return 0;
	case RTC_REG_D: return RTC_D_VALUE;
	}
	return 0; /* alarms and NVRAM: empty */
}

void cmos_io(struct vm *vm, uint16_t port, int in, unsigned size, uint32_t *val)
{
	(void)size;
	if (port == 0x70) {
		if (in)
			*val = 0xff;
		else
			vm->arch.cmos_index = (uint8_t)(*val & 0x7f); /* bit 7: NMI mask, no NMIs here */
		return;
	}
	if (in)
		*val = rtc_read(vm->arch.cmos_index); /* writes (setting the clock) are dropped */
}

void pit_io(struct vm *vm, uint16_t port, int in, unsigned size, uint32_t *val)
{
	(void)vm;
	(void)size;
	if (!in)
		return;
	/* Port 0x61: the PIT's channel-2 output high, so no poll of it can hang. */
	*val = port == 0x61 ? 0x20 : 0;
}

void post_io(struct vm *vm, uint16_t port, int in, unsigned size, uint32_t *val)
{
	(void)vm;
	(void)port;
	(void)size;
	if (in)
		*val = 0xff;
}

void reset_io(struct vm *vm, uint16_t port, int in, unsigned size, uint32_t *val)
{
	(void)size;
	if (in) {
		*val = port == 0x64 ? 0x1c : 0; /* keyboard controller: input buffer empty */
		return;
	}
	if ((port == 0x64 && (*val & 0xff) == 0xfe) || (port == 0xcf9 && (*val & 0x04)))
		vmx_stop_guest(vm,
			       port == 0x64 ? "guest reset (keyboard controller pulse)" : "guest reset (port 0xcf9)",
			       EXIT_IO);
}

void legacy_reset(struct vm *vm)
{
	vm->arch.cmos_index = 0;
	i8259_reset(&vm->arch.pic);
}
