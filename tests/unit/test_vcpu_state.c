/* Unit tests of the vCPU state check (hv/arch/x86/vcpu_state_check.c): the state a
 * migration brings is hostile until checked; each malformation gets a specific error. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include <arch/cpu.h>
#include <arch/vcpu_state.h>
#include <arch/vmcs.h>
#include "console.h"
#include "dirty.h"
#include "guest_abi.h"
#include "hvlib.h"
#include "vcpu_state_fixture.h"

#define PAGES FIXTURE_PAGES

static void a_valid_state_passes(void **state)
{
	(void)state;
	static struct vcpu_state s;
	vcpu_state_fixture(&s);
	assert_int_equal(vcpu_state_check(&s, PAGES), HV_OK);
	memset(s.uart_line, 'x', CONSOLE_GUEST_LINE_MAX);
	s.uart_len = CONSOLE_GUEST_LINE_MAX; /* the longest line the console holds */
	assert_int_equal(vcpu_state_check(&s, PAGES), HV_OK);
}

/* Issue 13, finding 1: a console line longer than the console holds overflowed the
 * destination's stack; bytes a console reader parses (CR, LF, ESC) forged events. */
static void console_line_is_bounded_and_printable(void **state)
{
	(void)state;
	static struct vcpu_state s;
	vcpu_state_fixture(&s);
	s.uart_len = CONSOLE_GUEST_LINE_MAX + 1;
	assert_int_equal(vcpu_state_check(&s, PAGES), HV_ERANGE);
	s.uart_len = sizeof(s.uart_line);
	assert_int_equal(vcpu_state_check(&s, PAGES), HV_ERANGE);
	s.uart_len = 0xffffffffu;
	assert_int_equal(vcpu_state_check(&s, PAGES), HV_ERANGE);
	static const char bad[] = { '\r', '\n', 0x1b, 0x00, 0x7f, (char)0x80, (char)0xff };
	for (unsigned i = 0; i < sizeof(bad); i++) {
		vcpu_state_fixture(&s);
		s.uart_line[5] = bad[i];
		assert_int_equal(vcpu_state_check(&s, PAGES), HV_ERANGE);
	}
	/* A bad byte beyond the length is not part of the line. */
	vcpu_state_fixture(&s);
	s.uart_line[s.uart_len] = '\n';
	assert_int_equal(vcpu_state_check(&s, PAGES), HV_OK);
}

/* Each case spoils one field of a valid state; the check must name it with its error. */
static const struct {
	const char *what;
	int err;
} cases[] = {
	{ "bad magic", HV_EINVAL },
	{ "newer version", HV_EINVAL },
	{ "wrong size", HV_EINVAL },
	{ "other guest size", HV_ERANGE },
	{ "unknown guest mode", HV_EINVAL },
	{ "paging on", HV_EINVAL },
	{ "EFER set", HV_EINVAL },
	{ "CR4.OSXSAVE", HV_EINVAL },
	{ "CR0.NE clear", HV_EINVAL },
	{ "RIP above 4 GiB", HV_EINVAL },
	{ "RSP above 4 GiB", HV_EINVAL },
	{ "reserved RFLAGS bit 3", HV_EINVAL },
	{ "RFLAGS bit 1 clear", HV_EINVAL },
	{ "pending NMI injection", HV_EINVAL },
	{ "activity state HLT", HV_EINVAL },
	{ "reserved interruptibility", HV_EINVAL },
	{ "unknown dirty method", HV_EINVAL },
	{ "reserved MXCSR bits", HV_EINVAL },
};

static void spoil(unsigned i, struct vcpu_state *x)
{
	switch (i) {
	case 0: x->magic ^= 1; break;
	case 1: x->version++; break;
	case 2: x->size--; break;
	case 3: x->mem_pages++; break;
	case 4: x->guest_mode = 99; break;
	case 5: x->cr0 |= CR0_PG; break;
	case 6: x->efer = 0x500; break;
	case 7: x->cr4 |= CR4_OSXSAVE; break;
	case 8: x->cr0 &= ~CR0_NE; break;
	case 9: x->rip = 1ull << 32; break;
	case 10: x->rsp = 1ull << 40; break;
	case 11: x->rflags |= 1u << 3; break;
	case 12: x->rflags &= ~2ull; break;
	case 13: x->entry_intr_info = INTR_INFO_VALID | INTR_TYPE_NMI | 2; break;
	case 14: x->activity = 1; break;
	case 15: x->interruptibility = 8; break;
	case 16: x->dirty_method = 7; break;
	case 17: x->fxsave[26] = 1; break;
	}
}

/* Version 2: a 64-bit Linux guest's state, each field a hostile peer could spoil. */
static const struct {
	const char *what;
	int err;
} linux_cases[] = {
	{ "non-canonical RIP", HV_EINVAL },
	{ "reserved EFER bit", HV_EINVAL },
	{ "LMA without paging", HV_EINVAL },
	{ "LMA without LME", HV_EINVAL },
	{ "64-bit code outside long mode", HV_EINVAL },
	{ "64-bit code also 32-bit", HV_EINVAL },
	{ "reserved CR4 bit (LA57)", HV_EINVAL },
	{ "CR0 high bits", HV_EINVAL },
	{ "long mode without PAE", HV_EINVAL },
	{ "non-canonical LSTAR", HV_EINVAL },
	{ "SFMASK above 32 bits", HV_EINVAL },
	{ "PAT type 2", HV_EINVAL },
	{ "non-canonical GS base", HV_EINVAL },
	{ "APIC at another base", HV_EINVAL },
	{ "x2APIC mode", HV_EINVAL },
	{ "RVI/SVI reserved bits", HV_EINVAL },
	{ "timer mode 3", HV_ERANGE },
	{ "timer LVT reserved bit", HV_ERANGE },
	{ "timer divide reserved bit", HV_ERANGE },
	{ "UART FIFO longer than 16", HV_ERANGE },
	{ "UART FIFO head out of range", HV_ERANGE },
	{ "8259 in an init step that does not exist", HV_ERANGE },
	{ "8259 vector base not a multiple of 8", HV_ERANGE },
	{ "CMOS index past 0x7f", HV_ERANGE },
	{ "Linux without its APIC", HV_EINVAL },
	{ "pending software interrupt", HV_EINVAL },
	{ "pending exception vector 40", HV_EINVAL },
	{ "instruction length 16", HV_EINVAL },
	{ "a newer APIC part", HV_EINVAL },
	{ "an unknown UART part", HV_EINVAL },
};

static void spoil_linux(unsigned i, struct vcpu_state *x)
{
	switch (i) {
	case 0: x->rip = 0x0000800000000000ull; break;
	case 1: x->efer |= 1u << 9; break;
	case 2: x->cr0 &= ~CR0_PG; break;
	case 3: x->efer &= ~(1ull << 8); break;
	case 4: x->efer = 0x801, x->cr0 &= ~CR0_PG; break;
	case 5: x->seg[SEG_CS].ar |= 1u << 14; break;
	case 6: x->cr4 |= 1u << 12; break;
	case 7: x->cr0 |= 1ull << 32; break;
	case 8: x->cr4 &= ~(1ull << 5); break;
	case 9: x->msrs[1] = 0x0000900000000000ull; break;
	case 10: x->msrs[3] = 1ull << 32; break;
	case 11: x->pat = 0x0007040600070402ull; break;
	case 12: x->seg[SEG_GS].base = 0x8000000000000000ull; break;
	case 13: x->lapic.apic_base = 0xfec00900ull; break;
	case 14: x->lapic.apic_base |= 1u << 10; break;
	case 15: x->lapic.intr_status = 0x10000; break;
	case 16: x->lapic.timer_lvt = 0x600ec; break;
	case 17: x->lapic.timer_lvt |= 1u << 20; break;
	case 18: x->lapic.timer_divide = 4; break;
	case 19: x->uart.rx_len = 17; break;
	case 20: x->uart.rx_head = 16; break;
	case 21: x->pic[0].init = 5; break;
	case 22: x->pic[1].base = 0x3c; break;
	case 23: x->cmos_index = 0x80; break;
	case 24: x->lapic.present = 0; break;
	case 25: x->entry_intr_info = INTR_INFO_VALID | INTR_TYPE_SW_INTR | 0x80; break;
	case 26: x->entry_intr_info = INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | 40; break;
	case 27: x->entry_intr_info = INTR_INFO_VALID | INTR_TYPE_EXT_INTR | 0x34, x->entry_instr_len = 16; break;
	case 28: x->part_version[VCPU_PART_LAPIC] = 2; break;
	case 29: x->part_version[VCPU_PART_UART] = 0; break;
	}
}

static void each_linux_malformation_is_refused(void **state)
{
	(void)state;
	static struct vcpu_state s;
	vcpu_state_fixture_linux(&s);
	assert_int_equal(vcpu_state_check(&s, PAGES), HV_OK);
	/* An external interrupt being re-delivered is legitimate for a guest with interrupts. */
	s.entry_intr_info = INTR_INFO_VALID | INTR_TYPE_EXT_INTR | 0x34;
	assert_int_equal(vcpu_state_check(&s, PAGES), HV_OK);
	for (unsigned i = 0; i < sizeof(linux_cases) / sizeof(linux_cases[0]); i++) {
		vcpu_state_fixture_linux(&s);
		spoil_linux(i, &s);
		int err = vcpu_state_check(&s, PAGES);
		if (err != linux_cases[i].err)
			fail_msg("%s: got %d, want %d", linux_cases[i].what, err, linux_cases[i].err);
	}
	/* The test guest may not carry an APIC, nor an external interrupt. */
	vcpu_state_fixture(&s);
	s.lapic.present = 1;
	assert_int_equal(vcpu_state_check(&s, PAGES), HV_EINVAL);
	vcpu_state_fixture(&s);
	s.entry_intr_info = INTR_INFO_VALID | INTR_TYPE_EXT_INTR | 0x34;
	assert_int_equal(vcpu_state_check(&s, PAGES), HV_EINVAL);
}

static void each_malformation_is_refused(void **state)
{
	(void)state;
	static struct vcpu_state s;
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		vcpu_state_fixture(&s);
		spoil(i, &s);
		int err = vcpu_state_check(&s, PAGES);
		if (err != cases[i].err)
			fail_msg("%s: got %d, want %d", cases[i].what, err, cases[i].err);
	}
	/* A pending hardware exception is legitimate (#GP injected for an MSR access). */
	vcpu_state_fixture(&s);
	s.entry_intr_info = INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | INTR_INFO_DELIVER_ERR | VECTOR_GP;
	assert_int_equal(vcpu_state_check(&s, PAGES), HV_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_valid_state_passes),
		cmocka_unit_test(console_line_is_bounded_and_printable),
		cmocka_unit_test(each_malformation_is_refused),
		cmocka_unit_test(each_linux_malformation_is_refused),
	};
	return cmocka_run_group_tests(tests, 0, 0);
}
