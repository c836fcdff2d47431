/* Control-register exits: CR0 and CR4 writes that touch a bit the hypervisor owns (CR0.NE,
 * CR4.VMXE, CR4.OSXSAVE), with the long-mode switch (EFER.LMA and the IA-32e-mode entry
 * control) done here when the write that enables paging came through us; CR3 and CR8
 * when a CPU forces their exits. */
#include <arch/cpu.h>
#include <arch/msr_policy.h>
#include <arch/vmcs.h>
#include <arch/vplat.h>
#include "hv.h"
#include "vm.h"

#define CR0_PE_	      (1ull << 0)
/* What a guest may set: CR4 without VMXE (no nested VMX) or OSXSAVE (no XSAVE offered). */
#define CR4_FORBIDDEN (CR4_VMXE | CR4_OSXSAVE)

void cr_sync_ia32e(void)
{
	uint64_t entry = vmread(ENTRY_CTLS), lma = vmread(GUEST_IA32_EFER) & EFER_LMA;
	uint64_t want = lma ? entry | ENTRY_IA32E : entry & ~(uint64_t)ENTRY_IA32E;
	if (want != entry)
		vmwrite(ENTRY_CTLS, want);
}

static enum exit_result guest_write_cr0(struct vm *vm, uint64_t v)
{
	uint64_t old = vmread(GUEST_CR0), efer = vmread(GUEST_IA32_EFER);
	if ((v >> 32) || ((v & CR0_PG) && !(v & CR0_PE_))) {
		vmx_inject_exception(VECTOR_GP, 1, 0);
		return EXIT_RESUME;
	}
	if (!(old & CR0_PG) && (v & CR0_PG) && (efer & EFER_LME)) {
		if (!(vmread(GUEST_CR4) & CR4_PAE)) {
			vmx_inject_exception(VECTOR_GP, 1, 0);
			return EXIT_RESUME;
		}
		efer |= EFER_LMA;
	} else if ((old & CR0_PG) && !(v & CR0_PG)) {
		efer &= ~EFER_LMA;
	}
	(void)vm;
	vmwrite(GUEST_CR0, v | CR0_NE); /* NE stays set in VMX operation; the shadow shows the guest's */
	vmwrite(CR0_READ_SHADOW, v);
	vmwrite(GUEST_IA32_EFER, efer);
	cr_sync_ia32e();
	vmx_skip_instruction();
	return EXIT_RESUME;
}

static enum exit_result guest_write_cr4(struct vm *vm, uint64_t v)
{
	(void)vm;
	if ((v >> 32) || (v & CR4_FORBIDDEN)) {
		vmx_inject_exception(VECTOR_GP, 1, 0);
		return EXIT_RESUME;
	}
	vmwrite(GUEST_CR4, v | CR4_VMXE);
	vmwrite(CR4_READ_SHADOW, v);
	vmx_skip_instruction();
	return EXIT_RESUME;
}

enum exit_result vmx_exit_cr(struct vm *vm, uint32_t reason)
{
	uint64_t q = vmread(EXIT_QUALIFICATION);
	unsigned cr = CR_QUAL_CR(q), type = CR_QUAL_TYPE(q), reg = CR_QUAL_REG(q);
	if (type == 0) {
		uint64_t v = vmx_guest_gpr(vm, reg);
		if (cr == 0)
			return guest_write_cr0(vm, v);
		if (cr == 4)
			return guest_write_cr4(vm, v);
		if (cr == 3) {
			vmwrite(GUEST_CR3, v);
			vmx_skip_instruction();
			return EXIT_RESUME;
		}
	} else if (type == 1 && cr == 3) {
		vmx_set_guest_gpr(vm, reg, vmread(GUEST_CR3));
		vmx_skip_instruction();
		return EXIT_RESUME;
	}
	return vmx_stop_guest(vm, "control-register access not emulated", reason);
}
