/* Guest MSRs: the shared bitmap built from the policy (msr_policy.c), the emulated ones
 * (EFER through the VMCS, APIC_BASE, MISC_ENABLE, TSC_DEADLINE), #GP counted per number,
 * and the syscall MSRs switched when another VM takes the CPU. */
#include <arch/cpu.h>
#include <arch/msr_policy.h>
#include <arch/vmcs.h>
#include <arch/vplat.h>
#include "hv.h"
#include "vm.h"

static uint64_t bitmap_phys;
static struct vm *owner; /* whose syscall MSRs the CPU holds */

static const uint32_t switched[MSRS_N] = { MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SFMASK, MSR_KERNEL_GSBASE, MSR_TSC_AUX };

int msr_init(void)
{
	bitmap_phys = page_alloc_page(&hv_pages);
	if (!bitmap_phys)
		return HV_ENOMEM;
	msr_bitmap_build(phys_to_virt(bitmap_phys));
	return HV_OK;
}

uint64_t msr_bitmap_phys(void) { return bitmap_phys; }

void msr_switch_to(struct vm *vm)
{
	if (owner == vm)
		return;
	if (owner)
		for (unsigned i = 0; i < MSRS_N; i++)
			owner->arch.msr_switched[i] = rdmsr(switched[i]);
	for (unsigned i = 0; i < MSRS_N; i++)
		wrmsr(switched[i], vm->arch.msr_switched[i]);
	owner = vm;
}

void msr_sync(struct vm *vm)
{
	if (owner == vm)
		for (unsigned i = 0; i < MSRS_N; i++)
			vm->arch.msr_switched[i] = rdmsr(switched[i]);
}

void msr_forget(struct vm *vm)
{
	if (owner != vm)
		return;
	/* Nothing of the guest stays in the CPU: zeroes, which no guest owns. */
	for (unsigned i = 0; i < MSRS_N; i++)
		wrmsr(switched[i], 0);
	owner = 0;
}

void msr_reset(struct vm *vm)
{
	msr_forget(vm);
	for (unsigned i = 0; i < MSRS_N; i++)
		vm->arch.msr_switched[i] = 0;
	vm->arch.apic_base = APIC_BASE_DEFAULT | APIC_BASE_BSP | APIC_BASE_ENABLE;
	for (unsigned i = 0; i < MSR_GP_SLOTS; i++)
		vm->arch.msr_gp[i].msr = vm->arch.msr_gp[i].count = 0;
	vm->arch.msr_gp_other = 0;
}

static void count_gp(struct vm *vm, uint32_t msr)
{
	for (unsigned i = 0; i < MSR_GP_SLOTS; i++) {
		if (vm->arch.msr_gp[i].count && vm->arch.msr_gp[i].msr != msr)
			continue;
		vm->arch.msr_gp[i].msr = msr;
		vm->arch.msr_gp[i].count++;
		return;
	}
	vm->arch.msr_gp_other++;
}

static enum exit_result gp(struct vm *vm, uint32_t msr)
{
	count_gp(vm, msr);
	vmx_inject_exception(VECTOR_GP, 1, 0);
	return EXIT_RESUME;
}

static void set_edx_eax(struct vm *vm, uint64_t v)
{
	vm->arch.regs.rax = (uint32_t)v;
	vm->arch.regs.rdx = (uint32_t)(v >> 32);
}

enum exit_result vmx_exit_rdmsr(struct vm *vm, uint32_t reason)
{
	(void)reason;
	uint32_t msr = (uint32_t)vm->arch.regs.rcx;
	uint64_t v;
	switch (msr) {
	case MSR_EFER: v = vmread(GUEST_IA32_EFER); break;
	case MSR_APIC_BASE: v = vm->arch.apic_base; break;
	case MSR_MISC_ENABLE: v = MISC_ENABLE_VALUE; break;
	case MSR_TSC_DEADLINE:
		if (!vm->arch.vapic_phys)
			return gp(vm, msr);
		v = lapic_read_deadline(vm);
		break;
	default: return gp(vm, msr); /* pass-through MSRs never exit on a read */
	}
	set_edx_eax(vm, v);
	vmx_skip_instruction();
	return EXIT_RESUME;
}

enum exit_result vmx_exit_wrmsr(struct vm *vm, uint32_t reason)
{
	(void)reason;
	uint32_t msr = (uint32_t)vm->arch.regs.rcx;
	uint64_t v = (vm->arch.regs.rdx << 32) | (uint32_t)vm->arch.regs.rax;
	switch (msr) {
	case MSR_EFER: {
		int64_t n = msr_efer_write(vmread(GUEST_IA32_EFER), v, (vmread(GUEST_CR0) & CR0_PG) != 0);
		if (n < 0)
			return gp(vm, msr);
		vmwrite(GUEST_IA32_EFER, (uint64_t)n);
		cr_sync_ia32e();
		break;
	}
	case MSR_APIC_BASE:
		/* Never reaches the CPU: Bochs's own APIC dies for good when a guest clears the
		 * enable bit (../shared/notes/linux-guest.md). */
		if (msr_apic_base_check(v))
			return gp(vm, msr);
		vm->arch.apic_base = v;
		break;
	case MSR_MISC_ENABLE: break; /* accepted, no effect: the value read back is fixed */
	case MSR_TSC_DEADLINE:
		if (!vm->arch.vapic_phys)
			return gp(vm, msr);
		lapic_write_deadline(vm, v);
		break;
	default: return gp(vm, msr);
	}
	vmx_skip_instruction();
	return EXIT_RESUME;
}

void msr_print_stats(const struct vm *vm, const struct printer *p)
{
	for (unsigned i = 0; i < MSR_GP_SLOTS; i++)
		if (vm->arch.msr_gp[i].count)
			pr_printf(p, "msr 0x%x gp %u\r\n", vm->arch.msr_gp[i].msr, vm->arch.msr_gp[i].count);
	if (vm->arch.msr_gp_other)
		pr_printf(p, "msr other gp %lu\r\n", (unsigned long)vm->arch.msr_gp_other);
}
