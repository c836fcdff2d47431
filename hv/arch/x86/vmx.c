/* VMX operation: VMXON, per-VM VMCS set-up through the TRUE_* control MSRs,
 * the guest's initial 32-bit flat state, and the run loop of one time slice. */
#include <arch/cpu.h>
#include <arch/desc.h>
#include "hv.h"
#include "vm.h"
#include <arch/vmcs.h>
#include <arch/fpu.h>
#include <arch/pio.h>
#include <arch/vmx.h>
#include "arch.h"
#include "guest_abi.h"
#include <arch/msr_policy.h>
#include <arch/vplat.h>

static uint64_t vmxon_phys;
static uint64_t current_vmcs;
static uint32_t vmcs_revision;

static int adjust(uint32_t msr, uint32_t want, uint32_t *out)
{
	uint64_t v = rdmsr(msr);
	uint32_t must = (uint32_t)v, may = (uint32_t)(v >> 32);
	*out = (want | must) & may;
	return (*out & want) == want ? HV_OK : HV_ENOTSUP;
}

static uint32_t ctl_msr(uint32_t plain, uint32_t true_msr)
{
	return rdmsr(MSR_IA32_VMX_BASIC) & VMX_BASIC_TRUE_CTLS ? true_msr : plain;
}

int arch_virt_enable(void)
{
	uint64_t fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
	if (!(fc & 1))
		wrmsr(MSR_IA32_FEATURE_CONTROL, fc | 1 | 4); /* enable VMX outside SMX, lock */
	vmcs_revision = (uint32_t)(rdmsr(MSR_IA32_VMX_BASIC) & VMX_BASIC_REVISION_MASK);
	uint64_t cr0 = read_cr0(), cr4 = read_cr4() | CR4_VMXE;
	cr0 = (cr0 | rdmsr(MSR_IA32_VMX_CR0_FIXED0)) & rdmsr(MSR_IA32_VMX_CR0_FIXED1);
	cr4 = (cr4 | rdmsr(MSR_IA32_VMX_CR4_FIXED0)) & rdmsr(MSR_IA32_VMX_CR4_FIXED1);
	write_cr0(cr0);
	write_cr4(cr4);
	vmxon_phys = page_alloc_page(&hv_pages);
	if (!vmxon_phys)
		return HV_ENOMEM;
	*(uint32_t *)phys_to_virt(vmxon_phys) = vmcs_revision;
	if (vmxon(vmxon_phys))
		return HV_EHW;
	int err = msr_init();
	if (!err)
		err = lapic_init();
	return err;
}

static int load(struct vm *vm)
{
	if (current_vmcs == vm->arch.vmcs_phys)
		return HV_OK;
	if (vmptrld(vm->arch.vmcs_phys))
		return HV_EHW;
	current_vmcs = vm->arch.vmcs_phys;
	return HV_OK;
}

int vmx_load_vmcs(struct vm *vm) { return load(vm); }

void arch_dirty_flush(void *ctx)
{
	struct vm *vm = ctx;
	invept_single(ept_pointer(&vm->ept));
}

uint16_t vmx_pml_index_reset(struct vm *vm)
{
	load(vm);
	uint16_t idx = (uint16_t)vmread(GUEST_PML_INDEX);
	vmwrite(GUEST_PML_INDEX, PML_ENTRIES - 1);
	return idx;
}

/* Optional controls: each wanted bit the CPU allows (the capability probe decided which). */
static uint32_t allowed(uint32_t msr, uint32_t want)
{
	uint64_t v = rdmsr(msr);
	return (want | (uint32_t)v) & (uint32_t)(v >> 32);
}

static int write_controls(struct vm *vm)
{
	uint32_t pin, proc, proc2, exitc, entry;
	int apicv = vm->arch.vapic_phys != 0;
	int err = HV_OK;
	err |= adjust(ctl_msr(MSR_IA32_VMX_PINBASED, MSR_IA32_VMX_TRUE_PINBASED),
		      PIN_EXT_INTR_EXIT | PIN_NMI_EXIT | PIN_PREEMPT_TIMER, &pin);
	err |= adjust(ctl_msr(MSR_IA32_VMX_PROCBASED, MSR_IA32_VMX_TRUE_PROCBASED),
		      PROC_TSC_OFFSETTING | PROC_HLT_EXIT | PROC_UNCOND_IO_EXIT | PROC_SECONDARY |
			      PROC_USE_MSR_BITMAPS | PROC_MWAIT_EXIT | PROC_MONITOR_EXIT |
			      (apicv ? PROC_TPR_SHADOW : 0),
		      &proc);
	err |= adjust(MSR_IA32_VMX_PROCBASED2,
		      PROC2_EPT | PROC2_UNRESTRICTED | (vm->dirty.method == DIRTY_PML ? PROC2_PML : 0) |
			      (apicv ? PROC2_VIRT_APIC | PROC2_APIC_REG_VIRT | PROC2_VINTR_DELIVERY : 0),
		      &proc2);
	proc2 |= allowed(MSR_IA32_VMX_PROCBASED2, PROC2_RDTSCP | PROC2_INVPCID) & (PROC2_RDTSCP | PROC2_INVPCID);
	err |= adjust(ctl_msr(MSR_IA32_VMX_EXIT, MSR_IA32_VMX_TRUE_EXIT),
		      EXIT_HOST_64 | EXIT_ACK_INTR | EXIT_LOAD_EFER | EXIT_SAVE_EFER | EXIT_SAVE_PAT | EXIT_LOAD_PAT |
			      EXIT_SAVE_PREEMPT,
		      &exitc);
	err |= adjust(ctl_msr(MSR_IA32_VMX_ENTRY, MSR_IA32_VMX_TRUE_ENTRY), ENTRY_LOAD_EFER | ENTRY_LOAD_PAT, &entry);
	if (err)
		return HV_ENOTSUP;
	err |= vmwrite(PIN_BASED_CTLS, pin);
	err |= vmwrite(PROC_BASED_CTLS, proc);
	err |= vmwrite(PROC_BASED_CTLS2, proc2);
	err |= vmwrite(EXIT_CTLS, exitc);
	err |= vmwrite(ENTRY_CTLS, entry);
	err |= vmwrite(EXCEPTION_BITMAP, 0);
	err |= vmwrite(CR3_TARGET_COUNT, 0);
	err |= vmwrite(EXIT_MSR_STORE_COUNT, 0);
	err |= vmwrite(EXIT_MSR_LOAD_COUNT, 0);
	err |= vmwrite(ENTRY_MSR_LOAD_COUNT, 0);
	err |= vmwrite(ENTRY_INTR_INFO, 0);
	err |= vmwrite(EPT_POINTER, ept_pointer(&vm->ept));
	err |= vmwrite(TSC_OFFSET, vm->arch.tsc_offset);
	err |= vmwrite(MSR_BITMAP, msr_bitmap_phys());
	if (vm->arch.pml_phys) {
		err |= vmwrite(PML_ADDRESS, vm->arch.pml_phys);
		err |= vmwrite(GUEST_PML_INDEX, PML_ENTRIES - 1);
	}
	if (apicv) {
		err |= vmwrite(VIRTUAL_APIC_ADDR, vm->arch.vapic_phys);
		err |= vmwrite(APIC_ACCESS_ADDR, lapic_access_phys());
		err |= vmwrite(TPR_THRESHOLD, 0);
		/* Edge-triggered only: every EOI is virtualized, none exits. */
		err |= vmwrite(EOI_EXIT_BITMAP0, 0);
		err |= vmwrite(EOI_EXIT_BITMAP1, 0);
		err |= vmwrite(EOI_EXIT_BITMAP2, 0);
		err |= vmwrite(EOI_EXIT_BITMAP3, 0);
		err |= vmwrite(GUEST_INTR_STATUS, 0);
	}
	/* The guest owns CR0 except NE (must stay 1 in VMX; the shadow shows what it wrote). */
	err |= vmwrite(CR0_GUEST_HOST_MASK, CR0_NE);
	err |= vmwrite(CR0_READ_SHADOW, 0);
	/* OSXSAVE too: XCR0 is not switched on VM entry, so guests get no XSAVE. */
	err |= vmwrite(CR4_GUEST_HOST_MASK, CR4_VMXE | CR4_OSXSAVE);
	err |= vmwrite(CR4_READ_SHADOW, 0);
	err |= vmwrite(VMCS_LINK_POINTER, ~0ull);
	return err ? HV_EHW : HV_OK;
}

static int write_host_state(void)
{
	int err = 0;
	err |= vmwrite(HOST_CR0, read_cr0());
	err |= vmwrite(HOST_CR3, read_cr3());
	err |= vmwrite(HOST_CR4, read_cr4());
	err |= vmwrite(HOST_CS_SEL, SEL_CODE);
	err |= vmwrite(HOST_SS_SEL, SEL_DATA);
	err |= vmwrite(HOST_DS_SEL, SEL_DATA);
	err |= vmwrite(HOST_ES_SEL, SEL_DATA);
	err |= vmwrite(HOST_FS_SEL, 0);
	err |= vmwrite(HOST_GS_SEL, 0);
	err |= vmwrite(HOST_TR_SEL, SEL_TSS);
	err |= vmwrite(HOST_FS_BASE, 0);
	err |= vmwrite(HOST_GS_BASE, 0);
	err |= vmwrite(HOST_TR_BASE, desc_tss_base());
	err |= vmwrite(HOST_GDTR_BASE, desc_gdt_base());
	err |= vmwrite(HOST_IDTR_BASE, desc_idt_base());
	err |= vmwrite(HOST_IA32_SYSENTER_CS, 0);
	err |= vmwrite(HOST_SYSENTER_ESP, 0);
	err |= vmwrite(HOST_SYSENTER_EIP, 0);
	err |= vmwrite(HOST_IA32_EFER, rdmsr(MSR_IA32_EFER));
	err |= vmwrite(HOST_IA32_PAT, rdmsr(MSR_IA32_PAT));
	err |= vmwrite(HOST_RIP, (uint64_t)(uintptr_t)vmx_exit_entry);
	return err ? HV_EHW : HV_OK;
}

static int reset_guest(struct vm *vm)
{
	int err = 0;
	if (load(vm))
		return HV_EHW;
	memset(&vm->arch.regs, 0, sizeof(vm->arch.regs));
	static const uint32_t sel[] = { GUEST_ES_SEL, GUEST_SS_SEL, GUEST_DS_SEL, GUEST_FS_SEL, GUEST_GS_SEL };
	static const uint32_t lim[] = { GUEST_ES_LIMIT, GUEST_SS_LIMIT, GUEST_DS_LIMIT, GUEST_FS_LIMIT,
					GUEST_GS_LIMIT };
	static const uint32_t ar[] = { GUEST_ES_AR, GUEST_SS_AR, GUEST_DS_AR, GUEST_FS_AR, GUEST_GS_AR };
	static const uint32_t base[] = { GUEST_ES_BASE, GUEST_SS_BASE, GUEST_DS_BASE, GUEST_FS_BASE, GUEST_GS_BASE };
	for (unsigned i = 0; i < ARRAY_SIZE(sel); i++) {
		err |= vmwrite(sel[i], 0x10);
		err |= vmwrite(lim[i], 0xffffffff);
		err |= vmwrite(ar[i], SEG_AR_DATA32);
		err |= vmwrite(base[i], 0);
	}
	err |= vmwrite(GUEST_CS_SEL, 0x08);
	err |= vmwrite(GUEST_CS_LIMIT, 0xffffffff);
	err |= vmwrite(GUEST_CS_AR, SEG_AR_CODE32);
	err |= vmwrite(GUEST_CS_BASE, 0);
	err |= vmwrite(GUEST_TR_SEL, 0);
	err |= vmwrite(GUEST_TR_LIMIT, 0x67);
	err |= vmwrite(GUEST_TR_AR, SEG_AR_TSS32);
	err |= vmwrite(GUEST_TR_BASE, 0);
	err |= vmwrite(GUEST_LDTR_SEL, 0);
	err |= vmwrite(GUEST_LDTR_LIMIT, 0);
	err |= vmwrite(GUEST_LDTR_AR, SEG_AR_UNUSABLE);
	err |= vmwrite(GUEST_LDTR_BASE, 0);
	err |= vmwrite(GUEST_GDTR_BASE, 0);
	err |= vmwrite(GUEST_GDTR_LIMIT, 0);
	err |= vmwrite(GUEST_IDTR_BASE, 0);
	err |= vmwrite(GUEST_IDTR_LIMIT, 0);
	err |= vmwrite(GUEST_CR0, CR0_PE | CR0_ET | CR0_NE);
	err |= vmwrite(GUEST_CR3, 0);
	err |= vmwrite(GUEST_CR4, CR4_VMXE);
	err |= vmwrite(GUEST_DR7, DR7_RESET);
	err |= vmwrite(GUEST_RSP, 0);
	err |= vmwrite(GUEST_RIP, GUEST_LOAD_GPA);
	err |= vmwrite(GUEST_RFLAGS, 0x2);
	err |= vmwrite(GUEST_PENDING_DBG, 0);
	err |= vmwrite(GUEST_SYSENTER_CS, 0);
	err |= vmwrite(GUEST_SYSENTER_ESP, 0);
	err |= vmwrite(GUEST_SYSENTER_EIP, 0);
	err |= vmwrite(GUEST_IA32_DEBUGCTL, 0);
	err |= vmwrite(GUEST_IA32_EFER, 0);
	err |= vmwrite(GUEST_IA32_PAT, 0x0007040600070406ull); /* the power-on PAT */
	err |= vmwrite(GUEST_INTERRUPTIBILITY, 0);
	err |= vmwrite(ENTRY_INTR_INFO, 0);
	err |= vmwrite(CR0_READ_SHADOW, 0);
	err |= vmwrite(CR4_READ_SHADOW, 0);
	if (vm->arch.vapic_phys)
		err |= vmwrite(GUEST_INTR_STATUS, 0);
	cr_sync_ia32e();
	err |= vmwrite(GUEST_ACTIVITY_STATE, 0);
	if (vm->arch.pml_phys)
		err |= vmwrite(GUEST_PML_INDEX, PML_ENTRIES - 1);
	return err ? HV_EHW : HV_OK;
}

int arch_vm_init(struct vm *vm)
{
	if (hv_vmx.pml) {
		vm->arch.pml_phys = page_alloc_page(&hv_pages);
		if (!vm->arch.pml_phys)
			return HV_ENOMEM;
		vm->dirty.pml_log = phys_to_virt(vm->arch.pml_phys);
	}
	vm->arch.vmcs_phys = page_alloc_page(&hv_pages);
	if (!vm->arch.vmcs_phys)
		return HV_ENOMEM;
	int lerr = lapic_vm_init(vm);
	if (lerr)
		return lerr;
	if (vm->arch.vapic_phys) {
		/* The guest's APIC page: accesses there are APIC accesses, virtualized. */
		lerr = ept_map_page(&vm->ept, APIC_BASE_DEFAULT, lapic_access_phys(), EPT_RWX);
		if (lerr)
			return lerr;
	}
	*(uint32_t *)phys_to_virt(vm->arch.vmcs_phys) = vmcs_revision;
	if (vmclear(vm->arch.vmcs_phys))
		return HV_EHW;
	current_vmcs = 0;
	vm->arch.launched = 0;
	if (load(vm))
		return HV_EHW;
	int err = write_controls(vm);
	if (err)
		return err;
	if ((err = write_host_state()))
		return err;
	return reset_guest(vm);
}

/* A restart needs VMLAUNCH again, which needs a clear VMCS. */
int arch_vm_reset(struct vm *vm)
{
	if (vmclear(vm->arch.vmcs_phys))
		return HV_EHW;
	if (current_vmcs == vm->arch.vmcs_phys)
		current_vmcs = 0;
	vm->arch.launched = 0;
	if (load(vm))
		return HV_EHW;
	int err = write_controls(vm);
	if (!err)
		err = write_host_state();
	if (!err)
		err = reset_guest(vm);
	return err;
}

int vmx_set_pml(struct vm *vm, int on)
{
	if (on && !vm->arch.pml_phys)
		return HV_ENOTSUP; /* no log page: the VM entry would fail */
	if (load(vm))
		return HV_EHW;
	uint64_t c2 = vmread(PROC_BASED_CTLS2);
	c2 = on ? c2 | PROC2_PML : c2 & ~(uint64_t)PROC2_PML;
	if (vmwrite(PROC_BASED_CTLS2, c2))
		return HV_EHW;
	vmwrite(GUEST_PML_INDEX, PML_ENTRIES - 1);
	return HV_OK;
}

void arch_vm_run_slice(struct vm *vm)
{
	if (load(vm)) {
		vm_fail(vm, "VMPTRLD failed");
		return;
	}
	uint64_t slice = hv_cfg.slice_ms * hv_tsc_khz;
	vm->arch.slice_end = rdtsc() + slice;
	while (vm->state == VMS_RUNNING) {
		if (load(vm)) {
			vm_fail(vm, "VMPTRLD failed");
			return;
		}
		irq_before_entry(vm);
		/* The preemption timer ends the slice, or wakes us at the APIC timer's deadline. */
		uint64_t now = rdtsc(), until = vm->arch.slice_end > now ? vm->arch.slice_end - now : 0;
		uint64_t t = lapic_timer_wake(vm);
		if (t && t - now < until)
			until = t > now ? t - now : 0;
		until >>= hv_vmx.preempt_rate;
		vmwrite(GUEST_PREEMPTION_TIMER, until > 0xffffffffull ? 0xffffffffull : until);
		msr_switch_to(vm);
		fpu_load_for(vm);
		if (vmx_enter(&vm->arch.regs, vm->arch.launched)) {
			char why[96];
			hv_snprintf(why, sizeof(why), "VM entry failed: VM-instruction error %lu",
				    (unsigned long)vmread(VM_INSTRUCTION_ERROR));
			vm_fail(vm, why);
			return;
		}
		vm->arch.launched = 1;
		if (vmx_handle_exit(vm) != EXIT_RESUME)
			return;
		if (rdtsc() >= vm->arch.slice_end)
			return; /* the slice is over: others' turn */
		/* Keep the console live while a guest exits often (its own output). */
		console_poll();
	}
}

int arch_vm_set_pml(struct vm *vm, int on) { return vmx_set_pml(vm, on); }

void arch_vm_dirty_sync(struct vm *vm)
{
	if (vm->dirty.method == DIRTY_PML)
		dirty_pml_drain(&vm->dirty, vmx_pml_index_reset(vm));
}

void arch_vm_boot_state(struct vm *vm)
{
	fpu_vm_reset(vm);
	vm->arch.tsc_offset = 0;
	com1_reset(vm);
	msr_reset(vm);
	lapic_reset(vm);
	legacy_reset(vm);
	vm->arch.irq_injected = vm->arch.timer_fired = 0;
}

void arch_vm_clear_state(struct vm *vm)
{
	fpu_forget(vm);
	msr_reset(vm);
	lapic_reset(vm); /* the virtual-APIC page held the guest's registers */
	legacy_reset(vm);
	memset(vm->arch.fxsave, 0, sizeof(vm->arch.fxsave));
	memset(&vm->arch.regs, 0, sizeof(vm->arch.regs));
	/* The VMCS holds the rest of the guest's state (RIP, CR3, segment bases, a pending
	 * event): back to the reset values, so nothing of the guest stays there either. */
	if (vm->arch.vmcs_phys)
		reset_guest(vm);
	vm->arch.tsc_offset = 0;
}

void arch_vm_destroy(struct vm *vm)
{
	fpu_forget(vm);
	msr_forget(vm);
	lapic_vm_destroy(vm);
	if (vm->arch.vmcs_phys) {
		vmclear(vm->arch.vmcs_phys); /* the CPU may cache it: flush before the page goes */
		if (current_vmcs == vm->arch.vmcs_phys)
			current_vmcs = 0;
		memset(phys_to_virt(vm->arch.vmcs_phys), 0, PAGE_SIZE);
		page_free(&hv_pages, vm->arch.vmcs_phys);
	}
	if (vm->arch.pml_phys) {
		memset(phys_to_virt(vm->arch.pml_phys), 0, PAGE_SIZE); /* guest addresses */
		page_free(&hv_pages, vm->arch.pml_phys);
	}
	memset(&vm->arch, 0, sizeof(vm->arch));
}

int vmx_enable_lapic(struct vm *vm)
{
	if (vm->arch.vapic_phys)
		return HV_OK;
	if (!lapic_access_phys())
		return HV_ENOTSUP; /* this CPU cannot virtualize the APIC the guest has */
	vm->has_lapic = 1;
	int err = lapic_vm_init(vm);
	if (!err)
		err = ept_map_page(&vm->ept, APIC_BASE_DEFAULT, lapic_access_phys(), EPT_RWX);
	if (!err && load(vm))
		err = HV_EHW;
	if (!err)
		err = write_controls(vm);
	return err;
}

int arch_vm_entry32(struct vm *vm, const struct arch_entry32 *e)
{
	int err = reset_guest(vm);
	if (err)
		return err;
	static const uint32_t sel[] = { GUEST_ES_SEL, GUEST_SS_SEL, GUEST_DS_SEL, GUEST_FS_SEL, GUEST_GS_SEL };
	for (unsigned i = 0; i < ARRAY_SIZE(sel); i++)
		err |= vmwrite(sel[i], e->ds);
	err |= vmwrite(GUEST_CS_SEL, e->cs);
	err |= vmwrite(GUEST_GDTR_BASE, e->gdt_base);
	err |= vmwrite(GUEST_GDTR_LIMIT, e->gdt_limit);
	err |= vmwrite(GUEST_RIP, e->rip);
	vm->arch.regs.rsi = e->rsi;
	return err ? HV_EHW : HV_OK;
}

const char *arch_linux_unsupported(void)
{
	if (hv_vmx.why_not)
		return hv_vmx.why_not;
	if (!hv_vmx.apicv)
		return "the CPU lacks APIC virtualization (TPR shadow, APIC-register virtualization, "
		       "virtual-interrupt delivery), which the guest's local APIC needs";
	return 0;
}
