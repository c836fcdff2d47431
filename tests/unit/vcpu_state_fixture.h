/* A valid vCPU state as a running 32-bit test guest has it (hv/arch/x86/vmx.c, reset_guest),
 * for the state check's unit test and fuzz target. */
#ifndef TEST_VCPU_STATE_FIXTURE_H
#define TEST_VCPU_STATE_FIXTURE_H
#include <string.h>
#include <arch/cpu.h>
#include <arch/vcpu_state.h>
#include "dirty.h"
#include "guest_abi.h"

#define FIXTURE_PAGES 1024

static inline void vcpu_state_fixture(struct vcpu_state *s)
{
	memset(s, 0, sizeof(*s));
	s->magic = VCPU_STATE_MAGIC;
	s->version = VCPU_STATE_VERSION;
	s->size = sizeof(*s);
	s->guest_mode = GUEST_MODE_WORK;
	s->mem_pages = FIXTURE_PAGES;
	s->cr0 = CR0_PE | CR0_ET | CR0_NE;
	s->cr4 = CR4_VMXE;
	s->rip = 0x10000;
	s->rsp = 0x10000;
	s->rflags = 0x202;
	s->dirty_method = DIRTY_PML;
	uint32_t mxcsr = 0x1f80;
	memcpy(&s->fxsave[24], &mxcsr, 4);
	memcpy(s->uart_line, "HB vm=1 seq=", 12);
	s->uart_len = 12;
}

#endif
