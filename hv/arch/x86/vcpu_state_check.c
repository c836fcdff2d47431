/* The check of a vCPU and device state before it is loaded: it may come from the network,
 * so a malformed one must end in a clear error, never a VM entry failure or worse. */
#include <arch/cpu.h>
#include <arch/vcpu_state.h>
#include <arch/vmcs.h>
#include "console.h"
#include "dirty.h"
#include "guest_abi.h"
#include "hvlib.h"

/* RFLAGS bits that may be set (the others are reserved); bit 1 must be. */
#define RFLAGS_SETTABLE 0x3f7fd7ull
#define RFLAGS_FIXED1	0x2ull

static int printable(const char *s, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return 0;
	return 1;
}

int vcpu_state_check(const struct vcpu_state *s, uint64_t mem_pages)
{
	if (s->magic != VCPU_STATE_MAGIC || s->version != VCPU_STATE_VERSION || s->size != sizeof(*s))
		return HV_EINVAL;
	if (s->mem_pages != mem_pages)
		return HV_ERANGE;
	/* The console line travels as the guest left it: what the console would have held
	 * (at most CONSOLE_GUEST_LINE_MAX printable characters), nothing a console reader
	 * could take for a line of ours (CR, LF, escape sequences). */
	if (s->uart_len > CONSOLE_GUEST_LINE_MAX || !printable(s->uart_line, s->uart_len))
		return HV_ERANGE;
	if (s->guest_mode < GUEST_MODE_WORK || s->guest_mode > GUEST_MODE_TRIPLE_FAULT)
		return HV_EINVAL;
	/* This hypervisor runs 32-bit guests without paging: anything else is not ours. */
	if ((s->cr0 & CR0_PG) || s->efer || (s->cr4 & CR4_OSXSAVE) || !(s->cr4 & CR4_VMXE) || !(s->cr0 & CR0_NE))
		return HV_EINVAL;
	if (s->rip > 0xffffffffull || s->rsp > 0xffffffffull || (s->rflags & ~RFLAGS_SETTABLE) ||
	    !(s->rflags & RFLAGS_FIXED1))
		return HV_EINVAL;
	if ((s->entry_intr_info & INTR_INFO_VALID) && (s->entry_intr_info & INTR_TYPE_MASK) != INTR_TYPE_HW_EXCEPTION)
		return HV_EINVAL; /* only hardware exceptions are ever pending here */
	if (s->activity != 0 || (s->interruptibility & ~3u))
		return HV_EINVAL;
	if (s->dirty_method != DIRTY_AD && s->dirty_method != DIRTY_PML)
		return HV_EINVAL;
	uint32_t mxcsr;
	memcpy(&mxcsr, &s->fxsave[24], sizeof(mxcsr));
	if (mxcsr & ~0xffffu)
		return HV_EINVAL; /* reserved MXCSR bits would fault FXRSTOR in the host */
	return HV_OK;
}
