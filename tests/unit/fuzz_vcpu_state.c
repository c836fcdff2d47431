/* libFuzzer target for the vCPU state check (hv/arch/x86/vcpu_state_check.c): the input
 * is XORed over a valid state (an empty input is that state), so mutations stay near
 * what a real migration sends. Whatever the check accepts must be a state this
 * hypervisor can load: the invariants below are asserted on every accepted input. */
#include <stdint.h>
#include <string.h>
#include <arch/cpu.h>
#include <arch/vcpu_state.h>
#include "console.h"
#include "dirty.h"
#include "guest_abi.h"
#include "hvlib.h"
#include "vcpu_state_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vcpu_state s;
	vcpu_state_fixture(&s);
	uint8_t *p = (uint8_t *)&s;
	for (size_t i = 0; i < size && i < sizeof(s); i++)
		p[i] ^= data[i];
	if (vcpu_state_check(&s, FIXTURE_PAGES) != HV_OK)
		return 0;
	int ok = s.magic == VCPU_STATE_MAGIC && s.version == VCPU_STATE_VERSION && s.size == sizeof(s) &&
		 s.mem_pages == FIXTURE_PAGES && s.uart_len <= CONSOLE_GUEST_LINE_MAX && (s.rflags & 2) &&
		 (s.cr0 & CR0_NE) && (s.dirty_method == DIRTY_AD || s.dirty_method == DIRTY_PML) && s.activity == 0 &&
		 s.uart.rx_len <= 16 && s.uart.rx_head < 16 && s.cmos_index < 0x80;
	if (s.guest_mode == GUEST_MODE_LINUX) {
		/* Long mode exactly when LME and paging; a canonical RIP then; the APIC there. */
		int lma = (s.efer >> 10) & 1;
		uint64_t r = s.rip;
		ok = ok && lma == (((s.efer >> 8) & 1) && (s.cr0 & CR0_PG)) && s.lapic.present == 1 &&
		     (!lma || (uint64_t)((int64_t)(r << 16) >> 16) == r) && (lma || r <= 0xffffffffull);
	} else {
		ok = ok && s.rip <= 0xffffffffull && s.rsp <= 0xffffffffull && !(s.cr0 & CR0_PG) && !s.efer &&
		     s.lapic.present == 0;
	}
	for (uint32_t i = 0; ok && i < s.uart_len; i++)
		ok = s.uart_line[i] >= 0x20 && s.uart_line[i] <= 0x7e;
	if (!ok)
		__builtin_trap();
	return 0;
}
