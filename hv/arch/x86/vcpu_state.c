/* Captures a stopped guest's vCPU and device state from its VMCS into a
 * struct vcpu_state, and puts such a state into another VM's VMCS, after
 * checking everything that comes from outside (it may arrive over the network). */
#include <arch/cpu.h>
#include <arch/fpu.h>
#include "hv.h"
#include "vm.h"
#include <arch/vmcs.h>
#include <arch/vcpu_state.h>
#include <arch/vmx.h>
#include "arch.h"
#include "guest_abi.h"
#include <arch/vplat.h>
#include <arch/pio.h>

static const struct {
	uint32_t sel, base, limit, ar;
} segf[SEG_COUNT] = {
	[SEG_ES] = { GUEST_ES_SEL, GUEST_ES_BASE, GUEST_ES_LIMIT, GUEST_ES_AR },
	[SEG_CS] = { GUEST_CS_SEL, GUEST_CS_BASE, GUEST_CS_LIMIT, GUEST_CS_AR },
	[SEG_SS] = { GUEST_SS_SEL, GUEST_SS_BASE, GUEST_SS_LIMIT, GUEST_SS_AR },
	[SEG_DS] = { GUEST_DS_SEL, GUEST_DS_BASE, GUEST_DS_LIMIT, GUEST_DS_AR },
	[SEG_FS] = { GUEST_FS_SEL, GUEST_FS_BASE, GUEST_FS_LIMIT, GUEST_FS_AR },
	[SEG_GS] = { GUEST_GS_SEL, GUEST_GS_BASE, GUEST_GS_LIMIT, GUEST_GS_AR },
	[SEG_LDTR] = { GUEST_LDTR_SEL, GUEST_LDTR_BASE, GUEST_LDTR_LIMIT, GUEST_LDTR_AR },
	[SEG_TR] = { GUEST_TR_SEL, GUEST_TR_BASE, GUEST_TR_LIMIT, GUEST_TR_AR },
};

_Static_assert(sizeof(struct vcpu_state) <= VM_STATE_MAX, "VM_STATE_MAX is too small");

static void save_uart(const struct uart16550 *u, struct vcpu_uart *o)
{
	o->ier = u->ier, o->lcr = u->lcr, o->mcr = u->mcr, o->scr = u->scr;
	o->fcr = u->fcr, o->dll = u->dll, o->dlm = u->dlm, o->lsr_err = u->lsr_err;
	memcpy(o->rx, u->rx, sizeof(o->rx));
	o->rx_head = u->rx_head, o->rx_len = u->rx_len, o->thri_pending = u->thri_pending;
}

static void load_uart(struct uart16550 *u, const struct vcpu_uart *o)
{
	u->ier = o->ier, u->lcr = o->lcr, u->mcr = o->mcr, u->scr = o->scr;
	u->fcr = o->fcr, u->dll = o->dll, u->dlm = o->dlm, u->lsr_err = o->lsr_err;
	memcpy(u->rx, o->rx, sizeof(u->rx));
	u->rx_head = o->rx_head, u->rx_len = o->rx_len, u->thri_pending = o->thri_pending;
}

static void save_pic(const struct i8259 *c, struct vcpu_pic *o)
{
	o->irr = c->irr, o->isr = c->isr, o->imr = c->imr, o->line = c->line, o->base = c->base;
	o->init = c->init, o->need_icw4 = c->need_icw4, o->single = c->single, o->auto_eoi = c->auto_eoi;
	o->read_isr = c->read_isr, o->elcr = c->elcr;
}

static void load_pic(struct i8259 *c, const struct vcpu_pic *o)
{
	c->irr = o->irr, c->isr = o->isr, c->imr = o->imr, c->line = o->line, c->base = o->base;
	c->init = o->init, c->need_icw4 = o->need_icw4, c->single = o->single, c->auto_eoi = o->auto_eoi;
	c->read_isr = o->read_isr, c->elcr = o->elcr;
}

/* Version 2: what a 64-bit guest with a local APIC and interrupt-driven devices has. */
static void save_v2(struct vm *vm, struct vcpu_state *s)
{
	for (unsigned i = 0; i < VCPU_PARTS; i++)
		s->part_version[i] = VCPU_PART_VERSION;
	s->pat = vmread(GUEST_IA32_PAT);
	msr_sync(vm);
	memcpy(s->msrs, vm->arch.msr_switched, sizeof(s->msrs));
	if (!vm->arch.com1.tx)
		com1_reset(vm);
	save_uart(&vm->arch.com1, &s->uart);
	save_pic(&vm->arch.pic.chip[0], &s->pic[0]);
	save_pic(&vm->arch.pic.chip[1], &s->pic[1]);
	s->cmos_index = vm->arch.cmos_index;
	s->cpuid_id = cpuid_profile_id();
	struct vcpu_lapic *a = &s->lapic;
	if (!vm->arch.vapic_phys)
		return;
	const struct lapic_timer *t = &vm->arch.timer;
	a->present = 1;
	a->intr_status = (uint32_t)vmread(GUEST_INTR_STATUS);
	a->apic_base = vm->arch.apic_base;
	a->timer_lvt = t->lvt, a->timer_initial = t->initial, a->timer_divide = t->divide;
	a->timer_deadline = t->deadline, a->timer_period = t->period, a->tsc_deadline = t->msr;
	memcpy(a->page, phys_to_virt(vm->arch.vapic_phys), sizeof(a->page));
}

static int load_v2(struct vm *vm, const struct vcpu_state *s)
{
	int err = vmwrite(GUEST_IA32_PAT, s->pat);
	msr_forget(vm);
	memcpy(vm->arch.msr_switched, s->msrs, sizeof(s->msrs));
	com1_reset(vm);
	load_uart(&vm->arch.com1, &s->uart);
	load_pic(&vm->arch.pic.chip[0], &s->pic[0]);
	load_pic(&vm->arch.pic.chip[1], &s->pic[1]);
	vm->arch.cmos_index = (uint8_t)s->cmos_index;
	const struct vcpu_lapic *a = &s->lapic;
	if (!a->present)
		return err ? HV_EHW : HV_OK;
	struct lapic_timer *t = &vm->arch.timer;
	lapic_timer_reset(t, (uint32_t)s->tsc_khz);
	t->lvt = a->timer_lvt, t->initial = a->timer_initial, t->divide = a->timer_divide;
	/* Deadlines are guest-TSC values: the guest's clock resumes where it stopped, so a
	 * pending expiry fires at the same guest time, neither lost nor early. */
	t->deadline = a->timer_deadline, t->period = a->timer_period, t->msr = a->tsc_deadline;
	vm->arch.apic_base = a->apic_base;
	memcpy(phys_to_virt(vm->arch.vapic_phys), a->page, sizeof(a->page));
	err |= vmwrite(GUEST_INTR_STATUS, a->intr_status);
	return err ? HV_EHW : HV_OK;
}

static int vcpu_state_save(struct vm *vm, struct vcpu_state *s)
{
	if (vm->state == VMS_RUNNING || vm->state == VMS_CREATED || vm->state == VMS_STOPPED)
		return HV_ESTATE; /* only a stopped vCPU has a state that holds still */
	if (vmx_load_vmcs(vm))
		return HV_EHW;
	memset(s, 0, sizeof(*s));
	s->magic = VCPU_STATE_MAGIC;
	s->version = VCPU_STATE_VERSION;
	s->size = sizeof(*s);
	s->guest_mode = vm->mode;
	s->mem_pages = vm->mem_pages;
	memcpy(s->gpr, &vm->arch.regs, sizeof(s->gpr));
	s->rip = vmread(GUEST_RIP);
	s->rsp = vmread(GUEST_RSP);
	s->rflags = vmread(GUEST_RFLAGS);
	s->cr0 = vmread(GUEST_CR0);
	s->cr3 = vmread(GUEST_CR3);
	s->cr4 = vmread(GUEST_CR4);
	s->dr7 = vmread(GUEST_DR7);
	s->efer = vmread(GUEST_IA32_EFER);
	s->cr0_shadow = vmread(CR0_READ_SHADOW);
	s->cr4_shadow = vmread(CR4_READ_SHADOW);
	for (unsigned i = 0; i < SEG_COUNT; i++) {
		s->seg[i].sel = (uint16_t)vmread(segf[i].sel);
		s->seg[i].base = vmread(segf[i].base);
		s->seg[i].limit = (uint32_t)vmread(segf[i].limit);
		s->seg[i].ar = (uint32_t)vmread(segf[i].ar);
	}
	s->gdtr_base = vmread(GUEST_GDTR_BASE);
	s->gdtr_limit = (uint32_t)vmread(GUEST_GDTR_LIMIT);
	s->idtr_base = vmread(GUEST_IDTR_BASE);
	s->idtr_limit = (uint32_t)vmread(GUEST_IDTR_LIMIT);
	s->interruptibility = (uint32_t)vmread(GUEST_INTERRUPTIBILITY);
	s->activity = (uint32_t)vmread(GUEST_ACTIVITY_STATE);
	s->pending_dbg = vmread(GUEST_PENDING_DBG);
	s->sysenter_cs = (uint32_t)vmread(GUEST_SYSENTER_CS);
	s->sysenter_esp = vmread(GUEST_SYSENTER_ESP);
	s->sysenter_eip = vmread(GUEST_SYSENTER_EIP);
	/* An event we decided to inject but have not delivered yet travels too. */
	s->entry_intr_info = (uint32_t)vmread(ENTRY_INTR_INFO);
	s->entry_exc_error = (uint32_t)vmread(ENTRY_EXCEPTION_ERROR);
	s->entry_instr_len = (uint32_t)vmread(ENTRY_INSTR_LEN);
	s->guest_tsc = rdtsc() + vm->arch.tsc_offset;
	s->tsc_khz = hv_tsc_khz;
	fpu_sync(vm);
	memcpy(s->fxsave, vm->arch.fxsave, sizeof(s->fxsave));
	s->uart_len = vm->outlen;
	memcpy(s->uart_line, vm->out, vm->outlen);
	s->dirty_method = vm->dirty.method;
	save_v2(vm, s);
	return HV_OK;
}

static int vcpu_state_load(struct vm *vm, const struct vcpu_state *s, uint64_t extra_tsc)
{
	int err = HV_OK;
	if (vmx_load_vmcs(vm))
		return HV_EHW;
	/* An arriving guest's VM was made before its state said it has an APIC: the controls
	 * are rewritten now, before the guest's own fields go in. */
	if (s->lapic.present && (err = vmx_enable_lapic(vm)))
		return err;
	memcpy(&vm->arch.regs, s->gpr, sizeof(s->gpr));
	err |= vmwrite(GUEST_RIP, s->rip);
	err |= vmwrite(GUEST_RSP, s->rsp);
	err |= vmwrite(GUEST_RFLAGS, s->rflags);
	err |= vmwrite(GUEST_CR0, s->cr0);
	err |= vmwrite(GUEST_CR3, s->cr3);
	err |= vmwrite(GUEST_CR4, s->cr4);
	err |= vmwrite(GUEST_DR7, s->dr7);
	err |= vmwrite(GUEST_IA32_EFER, s->efer);
	err |= vmwrite(CR0_READ_SHADOW, s->cr0_shadow);
	err |= vmwrite(CR4_READ_SHADOW, s->cr4_shadow);
	for (unsigned i = 0; i < SEG_COUNT; i++) {
		err |= vmwrite(segf[i].sel, s->seg[i].sel);
		err |= vmwrite(segf[i].base, s->seg[i].base);
		err |= vmwrite(segf[i].limit, s->seg[i].limit);
		err |= vmwrite(segf[i].ar, s->seg[i].ar);
	}
	err |= vmwrite(GUEST_GDTR_BASE, s->gdtr_base);
	err |= vmwrite(GUEST_GDTR_LIMIT, s->gdtr_limit);
	err |= vmwrite(GUEST_IDTR_BASE, s->idtr_base);
	err |= vmwrite(GUEST_IDTR_LIMIT, s->idtr_limit);
	err |= vmwrite(GUEST_INTERRUPTIBILITY, s->interruptibility);
	err |= vmwrite(GUEST_ACTIVITY_STATE, s->activity);
	err |= vmwrite(GUEST_PENDING_DBG, s->pending_dbg);
	err |= vmwrite(GUEST_SYSENTER_CS, s->sysenter_cs);
	err |= vmwrite(GUEST_SYSENTER_ESP, s->sysenter_esp);
	err |= vmwrite(GUEST_SYSENTER_EIP, s->sysenter_eip);
	err |= vmwrite(ENTRY_INTR_INFO, s->entry_intr_info);
	err |= vmwrite(ENTRY_EXCEPTION_ERROR, s->entry_exc_error);
	err |= vmwrite(ENTRY_INSTR_LEN, s->entry_instr_len);
	/* The guest's clock goes on from where it stopped, plus the time the
	 * caller says passed while it was stopped. */
	vm->arch.tsc_offset = s->guest_tsc + extra_tsc - rdtsc();
	err |= vmwrite(TSC_OFFSET, vm->arch.tsc_offset);
	if (err)
		return HV_EHW;
	fpu_forget(vm);
	memcpy(vm->arch.fxsave, s->fxsave, sizeof(vm->arch.fxsave));
	memcpy(vm->out, s->uart_line, s->uart_len);
	vm->outlen = s->uart_len;
	vm->mode = s->guest_mode;
	if ((err = load_v2(vm, s)))
		return err;
	cr_sync_ia32e(); /* the IA-32e-mode entry control follows the EFER just loaded */
	return HV_OK;
}

size_t arch_vm_state_size(void) { return sizeof(struct vcpu_state); }

void arch_vm_state_make_hostile(void *buf, size_t len)
{
	static const char forged[] = "\r\n[hv] migrate: source done\x1b[2J";
	struct vcpu_state *s = buf;
	if (len < sizeof(*s))
		return;
	memset(s->uart_line, 'A', sizeof(s->uart_line));
	memcpy(s->uart_line, forged, sizeof(forged) - 1);
	s->uart_len = sizeof(s->uart_line); /* 640: the old check's bound, past the console's 600 */
}

int arch_vm_state_save(struct vm *vm, void *buf, size_t cap, size_t *len)
{
	if (cap < sizeof(struct vcpu_state))
		return HV_ERANGE;
	int err = vcpu_state_save(vm, buf);
	if (!err)
		*len = sizeof(struct vcpu_state);
	return err;
}

int arch_vm_state_load(struct vm *vm, const void *buf, size_t len, uint64_t extra_cycles)
{
	const struct vcpu_state *s = buf;
	if (len != sizeof(*s))
		return HV_EINVAL;
	int err = vcpu_state_check(s, vm->mem_pages);
	if (err)
		return err;
	/* A guest with a clock and a CPU it has looked at moves only where both are the same:
	 * the TSC rate it was told (within 0.05 %: two calibrations of one rate differ a
	 * little) and the CPUID profile. ANNOUNCE was checked already; this is the state's
	 * own word (a local move, or a peer that announced one thing and sent another). */
	const char *why =
		s->guest_mode == GUEST_MODE_LINUX ? arch_profile_mismatch(s->cpuid_id, (uint32_t)s->tsc_khz) : 0;
	if (why) {
		hv_event("state refused: %s", why);
		return HV_ENOTSUP;
	}
	/* The dirty log the guest had goes with it (checked above: A/D or PML), unless this
	 * CPU has no PML: the method is this side's business, not the guest's, so A/D takes
	 * over instead of a VM entry failure after the commit (issue 13, finding 7). */
	enum dirty_method m = s->dirty_method == DIRTY_PML && hv_vmx.pml ? DIRTY_PML : DIRTY_AD;
	if ((err = vmx_set_pml(vm, m == DIRTY_PML)))
		return err;
	if ((err = vcpu_state_load(vm, s, extra_cycles)))
		return err;
	vm->dirty.method = m;
	return HV_OK;
}
