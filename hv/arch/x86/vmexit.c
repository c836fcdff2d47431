/* VM exit dispatch: a table of {reason, handler} (a new exit handler adds a row), every
 * exit counted per VM and reason, and the diagnostic that stops a guest whose exit we
 * cannot handle. The other guests and the hypervisor go on. */
#include <arch/cpu.h>
#include <arch/pio.h>
#include <arch/vmcs.h>
#include <arch/vmx.h>
#include <arch/vplat.h>
#include <arch/i8259.h>
#include "arch.h"
#include "guest_abi.h"
#include "hv.h"
#include "vm.h"

void vmx_skip_instruction(void)
{
	vmwrite(GUEST_RIP, vmread(GUEST_RIP) + vmread(EXIT_INSTR_LEN));
	/* The instruction after STI or MOV SS has retired: its interrupt shadow is over. */
	uint64_t intr = vmread(GUEST_INTERRUPTIBILITY);
	if (intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOVSS))
		vmwrite(GUEST_INTERRUPTIBILITY, intr & ~(uint64_t)(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOVSS));
}
static void skip_instruction(void) { vmx_skip_instruction(); }

void vmx_inject_exception(unsigned vector, int has_error, uint32_t error)
{
	vmwrite(ENTRY_INTR_INFO,
		vector | INTR_TYPE_HW_EXCEPTION | (has_error ? INTR_INFO_DELIVER_ERR : 0) | INTR_INFO_VALID);
	if (has_error)
		vmwrite(ENTRY_EXCEPTION_ERROR, error);
}

uint64_t vmx_guest_gpr(struct vm *vm, unsigned idx)
{
	const uint64_t *r = &vm->arch.regs.rax;
	idx &= 15;
	if (idx == 4)
		return vmread(GUEST_RSP);
	return r[idx < 4 ? idx : idx - 1]; /* struct vcpu_regs has no RSP */
}

void vmx_set_guest_gpr(struct vm *vm, unsigned idx, uint64_t v)
{
	uint64_t *r = &vm->arch.regs.rax;
	idx &= 15;
	if (idx == 4)
		vmwrite(GUEST_RSP, v);
	else
		r[idx < 4 ? idx : idx - 1] = v;
}

/* What the exit means, in words, for the diagnostic. */
static void decode_exit(uint32_t reason, uint64_t q, char *buf, size_t n)
{
	buf[0] = 0;
	if (reason == EXIT_EPT_VIOLATION)
		hv_snprintf(buf, n, "%s at guest-physical 0x%lx%s",
			    q & EPT_QUAL_FETCH	 ? "instruction fetch"
			    : q & EPT_QUAL_WRITE ? "write"
						 : "read",
			    (unsigned long)vmread(GUEST_PHYSICAL_ADDRESS),
			    q & EPT_QUAL_LINEAR_VALID ? " (through a guest linear address)" : "");
	else if (reason == EXIT_IO)
		hv_snprintf(buf, n, "%s port 0x%x, %u bytes%s", q & IO_QUAL_IN ? "in from" : "out to", IO_QUAL_PORT(q),
			    IO_QUAL_SIZE(q), q & IO_QUAL_STRING ? ", string" : "");
	else if (reason == EXIT_TRIPLE_FAULT)
		hv_snprintf(buf, n, "a fault while delivering a double fault: the guest cannot go on");
	else if (reason == EXIT_INVALID_GUEST)
		hv_snprintf(buf, n, "the guest state failed the VM-entry checks");
}

enum exit_result vmx_stop_guest(struct vm *vm, const char *what, uint32_t reason)
{
	struct vcpu_regs *r = &vm->arch.regs;
	uint64_t q = vmread(EXIT_QUALIFICATION);
	char meaning[112];
	decode_exit(reason, q, meaning, sizeof(meaning));
	hv_event("vm %u failed: %s (exit reason %u, qualification 0x%lx)", vm->id, what, reason, (unsigned long)q);
	if (meaning[0])
		hv_event("  exit: %s", meaning);
	hv_event("  rip=%016lx rsp=%016lx rflags=%08lx efer=%lx", vmread(GUEST_RIP), vmread(GUEST_RSP),
		 vmread(GUEST_RFLAGS), vmread(GUEST_IA32_EFER));
	hv_event("  cr0=%08lx cr3=%016lx cr4=%08lx cs=%04lx gpa=%lx linear=%lx", vmread(GUEST_CR0), vmread(GUEST_CR3),
		 vmread(GUEST_CR4), vmread(GUEST_CS_SEL), vmread(GUEST_PHYSICAL_ADDRESS), vmread(GUEST_LINEAR_ADDRESS));
	hv_event("  rax=%016lx rbx=%016lx rcx=%016lx rdx=%016lx", r->rax, r->rbx, r->rcx, r->rdx);
	hv_event("  rsi=%016lx rdi=%016lx rbp=%016lx r8=%016lx", r->rsi, r->rdi, r->rbp, r->r8);
	hv_event("  r9=%016lx r10=%016lx r11=%016lx r12=%016lx", r->r9, r->r10, r->r11, r->r12);
	hv_event("  r13=%016lx r14=%016lx r15=%016lx", r->r13, r->r14, r->r15);
	vm_fail(vm, what);
	return EXIT_STOP;
}
static enum exit_result stop_with_dump(struct vm *vm, const char *what, uint32_t reason)
{
	return vmx_stop_guest(vm, what, reason);
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

/* The slice or the APIC timer's deadline: the run loop decides which. */
static enum exit_result handle_preempt_timer(struct vm *vm, uint32_t reason)
{
	(void)reason;
	return rdtsc() >= vm->arch.slice_end ? EXIT_YIELD : EXIT_RESUME;
}

/* Longest sleep of a halted guest with nothing armed to wake it (it may be waiting with
 * interrupts off, or for console input, which wakes it at once). */
#define HLT_MAX_MS 100

static enum exit_result handle_hlt(struct vm *vm, uint32_t reason)
{
	(void)reason;
	skip_instruction();
	lapic_timer_poll(vm, rdtsc());
	if (lapic_interrupt_pending(vm) || (i8259_intr(&vm->arch.pic) && lapic_extint_open(vm)))
		return EXIT_RESUME; /* an interrupt is waiting: HLT ends at once */
	uint64_t now = rdtsc(), wake = now + HLT_MAX_MS * hv_tsc_khz, t = lapic_timer_wake(vm);
	if (t && t - now < wake - now)
		wake = t; /* (an already passed deadline wraps high: then the cap) */
	vm->wake_tsc = wake;
	return EXIT_YIELD;
}

static enum exit_result handle_ud(struct vm *vm, uint32_t reason)
{
	(void)vm;
	(void)reason;
	vmx_inject_exception(VECTOR_UD, 0, 0); /* MONITOR/MWAIT: not offered in CPUID */
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
	char why[96];
	hv_snprintf(why, sizeof(why), "EPT violation (access outside guest RAM at 0x%lx)",
		    (unsigned long)vmread(GUEST_PHYSICAL_ADDRESS));
	return stop_with_dump(vm, why, reason);
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
	{ EXIT_INTR_WINDOW, "intr-window", vmx_exit_intr_window },
	{ EXIT_CPUID, "cpuid", vmx_exit_cpuid },
	{ EXIT_HLT, "hlt", handle_hlt },
	{ EXIT_VMCALL, "vmcall", handle_vmcall },
	{ EXIT_IO, "io", handle_io },
	{ EXIT_CR_ACCESS, "cr-access", vmx_exit_cr },
	{ EXIT_RDMSR, "rdmsr", vmx_exit_rdmsr },
	{ EXIT_WRMSR, "wrmsr", vmx_exit_wrmsr },
	{ EXIT_MWAIT, "mwait", handle_ud },
	{ EXIT_MONITOR, "monitor", handle_ud },
	{ EXIT_APIC_ACCESS, "apic-access", vmx_exit_apic_access },
	{ EXIT_APIC_WRITE, "apic-write", vmx_exit_apic_write },
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
	cr_sync_ia32e(); /* the guest may have entered or left long mode without an exit */
	irq_after_exit();
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
	if (vm->arch.vapic_phys) {
		const struct lapic_timer *t = &vm->arch.timer;
		static const char *const modes[] = { "one-shot", "periodic", "tsc-deadline", "?" };
		uint64_t now = rdtsc() + vm->arch.tsc_offset;
		pr_printf(p, "interrupts timer=%lu pic=%lu\r\n", (unsigned long)vm->arch.timer_fired,
			  (unsigned long)vm->arch.irq_injected);
		pr_printf(p, "timer mode=%s%s vector=%u next_in_us=%ld\r\n", modes[LAPIC_TIMER_MODE(t->lvt)],
			  (t->lvt & LAPIC_LVT_MASKED) ? " masked" : "", t->lvt & 0xff,
			  t->deadline ? (long)((int64_t)(t->deadline - now) * 1000 / (int64_t)hv_tsc_khz) : -1L);
	}
	msr_print_stats(vm, p);
	/* What the VMCS holds of the guest: a scrubbed VM shows the reset values (RSP, CR3
	 * and the FS/GS bases 0), so nothing of a guest that left stays here. */
	if (vm->arch.vmcs_phys && !vmx_load_vmcs((struct vm *)vm))
		pr_printf(p, "vmcs: rip=0x%lx rsp=0x%lx cr3=0x%lx fs_base=0x%lx gs_base=0x%lx\r\n",
			  (unsigned long)vmread(GUEST_RIP), (unsigned long)vmread(GUEST_RSP),
			  (unsigned long)vmread(GUEST_CR3), (unsigned long)vmread(GUEST_FS_BASE),
			  (unsigned long)vmread(GUEST_GS_BASE));
}
