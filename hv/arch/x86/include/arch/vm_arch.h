/* The x86 (VMX) part of a VM, embedded in struct vm as vm->arch: data only, so the
 * portable core can hold it without seeing any x86 code. */
#ifndef HV_X86_VM_ARCH_H
#define HV_X86_VM_ARCH_H
#include <stdint.h>
#include <arch/uart16550.h>
#include <arch/lapic_timer.h>
#include <arch/i8259.h>

/* Order is fixed: hv/arch/x86/vmx_run.S indexes it. */
struct vcpu_regs {
	uint64_t rax, rcx, rdx, rbx, rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15;
};

/* MSRs the guest keeps on the CPU that no VMCS field switches (msr.c). */
enum { MSRS_STAR, MSRS_LSTAR, MSRS_CSTAR, MSRS_SFMASK, MSRS_KERNEL_GSBASE, MSRS_TSC_AUX, MSRS_N };
/* Distinct MSR numbers counted when they got #GP; more than this count as "other". */
#define MSR_GP_SLOTS 24

/* Exit reasons are below 70 on every CPU this runs on; larger ones count in the last slot. */
#define VM_EXIT_REASONS 72

struct vm_arch {
	uint64_t vmcs_phys;
	int launched;
	struct vcpu_regs regs;
	uint64_t pml_phys;   /* the CPU's dirty log page, 0 without PML */
	uint64_t tsc_offset; /* guest TSC = host TSC + this (continuity across a move) */
	uint64_t exit_count[VM_EXIT_REASONS];
	uint64_t slice_end; /* host TSC at which this time slice ends */
	uint64_t msr_switched[MSRS_N];
	uint64_t apic_base;	  /* IA32_APIC_BASE as the guest sees it */
	uint64_t vapic_phys;	  /* virtual-APIC page (dev/lapic.c), 0 without APIC virtualization */
	struct lapic_timer timer; /* the local APIC timer (deadlines in guest TSC) */
	struct i8259_pair pic;	  /* legacy interrupt controllers (dev/pic.c) */
	uint8_t cmos_index;	  /* CMOS/RTC register selected at port 0x70 */
	uint64_t irq_injected;	  /* 8259 interrupts injected (ExtINT) */
	uint64_t timer_fired;	  /* APIC timer interrupts posted */
	struct {
		uint32_t msr;
		uint32_t count;
	} msr_gp[MSR_GP_SLOTS]; /* per MSR number: accesses answered with #GP */
	uint64_t msr_gp_other;
	struct uart16550 com1;				  /* the guest's COM1 (dev/com1.c) */
	uint8_t fxsave[512] __attribute__((aligned(16))); /* x87/SSE state while not loaded */
};

#endif
