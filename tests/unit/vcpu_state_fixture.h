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
	s->pat = 0x0007040600070406ull;
	for (unsigned i = 0; i < VCPU_PARTS; i++)
		s->part_version[i] = VCPU_PART_VERSION;
}

/* A valid state as a running 64-bit Linux guest has it (values seen in Bochs). */
static inline void vcpu_state_fixture_linux(struct vcpu_state *s)
{
	vcpu_state_fixture(s);
	s->guest_mode = GUEST_MODE_LINUX;
	s->cr0 = 0x80050033ull; /* PE MP ET NE WP AM PG */
	s->cr3 = 0x181d001ull;
	s->cr4 = 0x3326b0ull;
	s->efer = 0xd01ull; /* SCE LME LMA NXE */
	s->rip = 0xffffffff8101c0c4ull;
	s->rsp = 0xffffc9000000bea0ull;
	s->rflags = 0x246;
	s->seg[SEG_CS].ar = 0xa09b; /* 64-bit code */
	s->seg[SEG_CS].sel = 0x10;
	s->seg[SEG_GS].base = 0xffff88800f000000ull;
	s->msrs[1] = 0xffffffff81600000ull; /* LSTAR */
	s->msrs[3] = 0x47700;		    /* SFMASK */
	s->lapic.present = 1;
	s->lapic.apic_base = 0xfee00900ull;
	s->lapic.timer_lvt = 0x400ec; /* TSC-deadline mode, vector 0xec */
	s->lapic.timer_deadline = 123456789;
	s->lapic.tsc_deadline = 123456789;
	s->lapic.intr_status = 0xec;
	s->pic[0].base = 0x30;
	s->pic[1].base = 0x38;
	s->pic[0].imr = 0xef;
	s->uart.ier = 0x0f;
}

#endif
