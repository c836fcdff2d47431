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
	};
	return cmocka_run_group_tests(tests, 0, 0);
}
