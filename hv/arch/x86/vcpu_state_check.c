/* The check of a vCPU and device state before it is loaded: it may come from the network,
 * so a malformed one must end in a clear error, never a VM entry failure or worse. */
#include <arch/cpu.h>
#include <arch/lapic_timer.h>
#include <arch/msr_policy.h>
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

/* 48-bit canonical: bits 63:47 all equal. */
static int canonical(uint64_t a) { return (uint64_t)((int64_t)(a << 16) >> 16) == a; }

/* Every PAT entry a memory type the CPU knows (0, 1, 4, 5, 6, 7), no reserved bits:
 * anything else fails the VM entry that loads it. */
static int pat_ok(uint64_t pat)
{
	for (unsigned i = 0; i < 8; i++) {
		unsigned t = (unsigned)(pat >> (8 * i)) & 0xff;
		if (t > 7 || t == 2 || t == 3)
			return 0;
	}
	return 1;
}

/* CR0 bits a guest may have: PE MP EM TS ET NE WP AM NW CD PG. */
#define CR0_ALLOWED 0xe005003full
/* CR4 bits: VME PVI TSD DE PSE PAE MCE PGE PCE OSFXSR OSXMMEXCPT UMIP VMXE FSGSBASE PCIDE SMEP SMAP. */
#define CR4_ALLOWED 0x332fffull
#define CR4_PAE_    (1ull << 5)
#define CR0_PE_	    (1ull << 0)
#define SEG_AR_L    (1u << 13)
#define SEG_AR_DB   (1u << 14)

/* Long mode and the registers only a 64-bit guest has: each consistent, each a value
 * the CPU takes (a wrong one would fail the VM entry or fault WRMSR in the host). */
static int check_cpu64(const struct vcpu_state *s)
{
	if ((s->cr0 & ~CR0_ALLOWED) || (s->cr4 & ~CR4_ALLOWED) || (s->cr4 & CR4_OSXSAVE) || !(s->cr4 & CR4_VMXE) ||
	    !(s->cr0 & CR0_NE))
		return HV_EINVAL;
	if ((s->cr0 & CR0_PG) && !(s->cr0 & CR0_PE_))
		return HV_EINVAL;
	if (s->efer & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE))
		return HV_EINVAL;
	int lma = (s->efer & EFER_LMA) != 0;
	if (lma != ((s->efer & EFER_LME) && (s->cr0 & CR0_PG)))
		return HV_EINVAL; /* LMA is exactly LME with paging on */
	if (lma && !(s->cr4 & CR4_PAE_))
		return HV_EINVAL;
	if (s->cr3 >> 52)
		return HV_EINVAL;
	const struct vcpu_seg *cs = &s->seg[SEG_CS];
	if ((cs->ar & SEG_AR_L) && (!lma || (cs->ar & SEG_AR_DB)))
		return HV_EINVAL; /* 64-bit code only in long mode, and never also 32-bit */
	if (lma ? !canonical(s->rip) : s->rip > 0xffffffffull)
		return HV_EINVAL;
	if (!canonical(s->seg[SEG_FS].base) || !canonical(s->seg[SEG_GS].base) || !canonical(s->gdtr_base) ||
	    !canonical(s->idtr_base) || !canonical(s->sysenter_esp) || !canonical(s->sysenter_eip))
		return HV_EINVAL;
	if (!pat_ok(s->pat))
		return HV_EINVAL;
	/* LSTAR, CSTAR, KERNEL_GS_BASE canonical; SFMASK and TSC_AUX 32-bit. */
	if (!canonical(s->msrs[1]) || !canonical(s->msrs[2]) || !canonical(s->msrs[4]) || (s->msrs[3] >> 32) ||
	    (s->msrs[5] >> 32))
		return HV_EINVAL;
	return HV_OK;
}

static int check_devices(const struct vcpu_state *s, int is_linux)
{
	const struct vcpu_lapic *a = &s->lapic;
	if (s->uart.rx_head >= 16 || s->uart.rx_len > 16 || (s->uart.ier & 0xf0) || s->uart.thri_pending > 1)
		return HV_ERANGE;
	for (unsigned i = 0; i < 2; i++) {
		const struct vcpu_pic *p = &s->pic[i];
		if (p->init == 1 || p->init > 4 || (p->base & 7) || p->need_icw4 > 1 || p->single > 1 ||
		    p->auto_eoi > 1 || p->read_isr > 1)
			return HV_ERANGE;
	}
	if (s->cmos_index > 0x7f)
		return HV_ERANGE;
	if (a->present != (unsigned)is_linux)
		return HV_EINVAL; /* a Linux guest has its APIC, the test guest none */
	if (!a->present)
		return HV_OK;
	if (msr_apic_base_check(a->apic_base) || (a->intr_status >> 16))
		return HV_EINVAL;
	/* The timer: what the LVT can hold, a real mode, a divide value the register has. */
	if ((a->timer_lvt & ~(0xffu | LAPIC_LVT_MASKED | (3u << 17))) || LAPIC_TIMER_MODE(a->timer_lvt) == 3 ||
	    (a->timer_divide & ~0xbu))
		return HV_ERANGE;
	return HV_OK;
}

int vcpu_state_check(const struct vcpu_state *s, uint64_t mem_pages)
{
	if (s->magic != VCPU_STATE_MAGIC || s->version != VCPU_STATE_VERSION || s->size != sizeof(*s))
		return HV_EINVAL;
	for (unsigned i = 0; i < VCPU_PARTS; i++)
		if (s->part_version[i] != VCPU_PART_VERSION)
			return HV_EINVAL; /* a part this side does not know how to read */
	if (s->mem_pages != mem_pages)
		return HV_ERANGE;
	/* The console line travels as the guest left it: what the console would have held
	 * (at most CONSOLE_GUEST_LINE_MAX printable characters), nothing a console reader
	 * could take for a line of ours (CR, LF, escape sequences). */
	if (s->uart_len > CONSOLE_GUEST_LINE_MAX || !printable(s->uart_line, s->uart_len))
		return HV_ERANGE;
	if (s->guest_mode < GUEST_MODE_WORK || s->guest_mode > GUEST_MODE_LINUX)
		return HV_EINVAL;
	int is_linux = s->guest_mode == GUEST_MODE_LINUX;
	if (!is_linux) {
		/* The test guest runs 32-bit without paging: anything else is not it. */
		if ((s->cr0 & CR0_PG) || s->efer || (s->cr4 & CR4_OSXSAVE) || !(s->cr4 & CR4_VMXE) ||
		    !(s->cr0 & CR0_NE) || s->rip > 0xffffffffull || s->rsp > 0xffffffffull)
			return HV_EINVAL;
	}
	int err = check_cpu64(s);
	if (err)
		return err;
	if ((s->rflags & ~RFLAGS_SETTABLE) || !(s->rflags & RFLAGS_FIXED1))
		return HV_EINVAL;
	if (s->entry_intr_info & INTR_INFO_VALID) {
		uint32_t type = s->entry_intr_info & INTR_TYPE_MASK;
		/* Pending here: a hardware exception, or (a guest with interrupts) an external
		 * interrupt being re-delivered; no reserved bits. */
		if ((s->entry_intr_info & 0x7ffff000u) ||
		    (type != INTR_TYPE_HW_EXCEPTION && !(is_linux && type == INTR_TYPE_EXT_INTR)) ||
		    (type == INTR_TYPE_EXT_INTR && (s->entry_intr_info & INTR_INFO_DELIVER_ERR)) ||
		    (type == INTR_TYPE_HW_EXCEPTION && INTR_INFO_VECTOR(s->entry_intr_info) > 31) ||
		    s->entry_instr_len > 15)
			return HV_EINVAL;
	}
	if (s->activity != 0 || (s->interruptibility & ~3u))
		return HV_EINVAL;
	if ((err = check_devices(s, is_linux)))
		return err;
	if (s->dirty_method != DIRTY_AD && s->dirty_method != DIRTY_PML)
		return HV_EINVAL;
	uint32_t mxcsr;
	memcpy(&mxcsr, &s->fxsave[24], sizeof(mxcsr));
	if (mxcsr & ~0xffffu)
		return HV_EINVAL; /* reserved MXCSR bits would fault FXRSTOR in the host */
	return HV_OK;
}
