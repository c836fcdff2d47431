/* VM exit dispatch: a table of {reason, handler} (a new exit handler adds a row), every
 * exit counted per VM and reason, and the diagnostic that stops a guest whose exit we
 * cannot handle. The other guests and the hypervisor go on. */
#include <arch/cpu.h>
#include <arch/pio.h>
#include <arch/vmcs.h>
#include <arch/vmx.h>
#include "arch.h"
#include "guest_abi.h"
#include "hv.h"
#include "vm.h"

/* CPUID bits the guest must not see (leaf 1 ECX, leaf 7 EBX/ECX). */
#define CPUID1_ECX_VMX		(1u << 5)
#define CPUID1_ECX_XSAVE	(1u << 26)
#define CPUID1_ECX_OSXSAVE	(1u << 27)
#define CPUID1_ECX_AVX		(1u << 28)
#define CPUID1_ECX_HYPERVISOR	(1u << 31)
#define CPUID7_EBX_AVX2_512	((1u << 5) | (1u << 16) | (1u << 17) | (1u << 28) | (1u << 30) | (1u << 31))
#define CPUID7_ECX_VAES_VPCLMUL ((1u << 9) | (1u << 10))

static void skip_instruction(void) { vmwrite(GUEST_RIP, vmread(GUEST_RIP) + vmread(EXIT_INSTR_LEN)); }

static enum exit_result stop_with_dump(struct vm *vm, const char *what, uint32_t reason)
{
	struct vcpu_regs *r = &vm->arch.regs;
	hv_event("vm %u failed: %s (exit reason %u, qualification 0x%lx)", vm->id, what, reason,
		 (unsigned long)vmread(EXIT_QUALIFICATION));
	hv_event("  rip=%08lx rsp=%08lx rflags=%08lx cr0=%08lx cr3=%08lx cr4=%08lx gpa=%lx", vmread(GUEST_RIP),
		 vmread(GUEST_RSP), vmread(GUEST_RFLAGS), vmread(GUEST_CR0), vmread(GUEST_CR3), vmread(GUEST_CR4),
		 vmread(GUEST_PHYSICAL_ADDRESS));
	hv_event("  eax=%08lx ebx=%08lx ecx=%08lx edx=%08lx esi=%08lx edi=%08lx ebp=%08lx", r->rax, r->rbx, r->rcx,
		 r->rdx, r->rsi, r->rdi, r->rbp);
	vm_fail(vm, what);
	return EXIT_STOP;
}

static void inject_gp(void)
{
	vmwrite(ENTRY_INTR_INFO, VECTOR_GP | INTR_TYPE_HW_EXCEPTION | INTR_INFO_DELIVER_ERR | INTR_INFO_VALID);
	vmwrite(ENTRY_EXCEPTION_ERROR, 0);
}

static enum exit_result handle_io(struct vm *vm, uint32_t reason)
{
	(void)reason;
	uint64_t q = vmread(EXIT_QUALIFICATION);
	unsigned size = IO_QUAL_SIZE(q);
	if (q & IO_QUAL_STRING)
		return stop_with_dump(vm, "string port I/O is not emulated", EXIT_IO);
	uint64_t mask = size == 1 ? 0xff : size == 2 ? 0xffff : 0xffffffff;
	uint32_t val = (uint32_t)vm->arch.regs.rax;
	int in = (q & IO_QUAL_IN) != 0;
	pio_access(vm, IO_QUAL_PORT(q), in, size, &val);
	if (in) /* a 32-bit IN zero-extends into RAX; narrower ones merge */
		vm->arch.regs.rax = size == 4 ? (val & mask) : (vm->arch.regs.rax & ~mask) | (val & mask);
	skip_instruction();
	return EXIT_RESUME;
}

static enum exit_result handle_cpuid(struct vm *vm, uint32_t reason)
{
	(void)reason;
	uint32_t r[4];
	uint32_t leaf = (uint32_t)vm->arch.regs.rax, sub = (uint32_t)vm->arch.regs.rcx;
	cpuid(leaf, sub, r);
	if (leaf == 1) {
		r[2] &= ~CPUID1_ECX_VMX; /* no nested VMX */
		/* No XSAVE/AVX: XCR0 and the AVX state are the host's (crypto). */
		r[2] &= ~(CPUID1_ECX_XSAVE | CPUID1_ECX_OSXSAVE | CPUID1_ECX_AVX);
		r[2] |= CPUID1_ECX_HYPERVISOR;
	} else if (leaf == 7 && sub == 0) {
		r[1] &= ~CPUID7_EBX_AVX2_512;
		r[2] &= ~CPUID7_ECX_VAES_VPCLMUL;
	} else if (leaf == 0xd) {
		r[0] = r[1] = r[2] = r[3] = 0;
	}
	vm->arch.regs.rax = r[0];
	vm->arch.regs.rbx = r[1];
	vm->arch.regs.rcx = r[2];
	vm->arch.regs.rdx = r[3];
	skip_instruction();
	return EXIT_RESUME;
}

static enum exit_result handle_vmcall(struct vm *vm, uint32_t reason)
{
	(void)reason;
	uint32_t nr = (uint32_t)vm->arch.regs.rax, arg = (uint32_t)vm->arch.regs.rbx;
	char why[80];
	skip_instruction();
	switch (nr) {
	case HC_PARK:
		vm->arch.regs.rax = 0;
		vm_park(vm);
		return EXIT_STOP;
	case HC_FAIL:
		hv_snprintf(why, sizeof(why), "guest reported failure code %u", arg);
		vm_fail(vm, why);
		return EXIT_STOP;
	case HC_DONE:
		hv_event("vm %u finished with code %u", vm->id, arg);
		vm->state = VMS_STOPPED;
		return EXIT_STOP;
	default:
		vm->arch.regs.rax = (uint64_t)-1; /* unknown hypercall: an error the guest can see */
		return EXIT_RESUME;
	}
}

static enum exit_result handle_preempt_timer(struct vm *vm, uint32_t reason)
{
	(void)vm;
	(void)reason;
	return EXIT_YIELD;
}

static enum exit_result handle_hlt(struct vm *vm, uint32_t reason)
{
	(void)reason;
	skip_instruction();
	vm->wake_tsc = rdtsc() + hv_tsc_khz; /* no interrupts to wake it: sleep 1 ms */
	return EXIT_YIELD;
}

static enum exit_result handle_msr(struct vm *vm, uint32_t reason)
{
	(void)vm;
	(void)reason;
	inject_gp(); /* the guest gets no MSRs: it sees what a CPU without them does */
	return EXIT_RESUME;
}

static enum exit_result handle_pml_full(struct vm *vm, uint32_t reason)
{
	(void)reason;
	dirty_pml_drain(&vm->dirty, vmx_pml_index_reset(vm));
	return EXIT_RESUME;
}

static enum exit_result handle_ext_intr(struct vm *vm, uint32_t reason)
{
	(void)vm;
	(void)reason;
	outb(0x20, 0x20); /* EOI to the legacy PIC, which we keep masked anyway */
	return EXIT_RESUME;
}

static enum exit_result handle_triple_fault(struct vm *vm, uint32_t reason)
{
	return stop_with_dump(vm, "triple fault", reason);
}

static enum exit_result handle_ept_violation(struct vm *vm, uint32_t reason)
{
	return stop_with_dump(vm, "EPT violation (access outside guest RAM)", reason);
}

static enum exit_result handle_ept_misconfig(struct vm *vm, uint32_t reason)
{
	return stop_with_dump(vm, "EPT misconfiguration", reason);
}

static const struct {
	uint16_t reason;
	const char *name; /* as `vm stats` prints it */
	enum exit_result (*handler)(struct vm *vm, uint32_t reason);
} exit_table[] = {
	{ EXIT_EXT_INTR, "ext-intr", handle_ext_intr },
	{ EXIT_TRIPLE_FAULT, "triple-fault", handle_triple_fault },
	{ EXIT_CPUID, "cpuid", handle_cpuid },
	{ EXIT_HLT, "hlt", handle_hlt },
	{ EXIT_VMCALL, "vmcall", handle_vmcall },
	{ EXIT_IO, "io", handle_io },
	{ EXIT_RDMSR, "rdmsr", handle_msr },
	{ EXIT_WRMSR, "wrmsr", handle_msr },
	{ EXIT_EPT_VIOLATION, "ept-violation", handle_ept_violation },
	{ EXIT_EPT_MISCONFIG, "ept-misconfig", handle_ept_misconfig },
	{ EXIT_PREEMPT_TIMER, "preempt-timer", handle_preempt_timer },
	{ EXIT_PML_FULL, "pml-full", handle_pml_full },
};

enum exit_result vmx_handle_exit(struct vm *vm)
{
	uint32_t reason = (uint32_t)vmread(EXIT_REASON), basic = EXIT_REASON_BASIC(reason);
	vm->exits++;
	vm->arch.exit_count[basic < VM_EXIT_REASONS ? basic : VM_EXIT_REASONS - 1]++;
	if (reason & EXIT_REASON_ENTRY_FAIL)
		return stop_with_dump(vm, "VM entry failed (invalid guest state or MSR load)", basic);
	for (unsigned i = 0; i < ARRAY_SIZE(exit_table); i++)
		if (exit_table[i].reason == basic)
			return exit_table[i].handler(vm, reason);
	return stop_with_dump(vm, "unhandled VM exit", basic);
}

void arch_vm_print_stats(const struct vm *vm, const struct printer *p)
{
	pr_printf(p, "vm %u exits=%lu\r\n", vm->id, (unsigned long)vm->exits);
	for (unsigned r = 0; r < VM_EXIT_REASONS; r++) {
		uint64_t n = vm->arch.exit_count[r];
		if (!n)
			continue;
		const char *name = "other";
		for (unsigned i = 0; i < ARRAY_SIZE(exit_table); i++)
			if (exit_table[i].reason == r)
				name = exit_table[i].name;
		pr_printf(p, "exit %u %s %lu\r\n", r, name, (unsigned long)n);
	}
}
