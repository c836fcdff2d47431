/* The x86 (VMX) part of a VM, embedded in struct vm as vm->arch: data only, so the
 * portable core can hold it without seeing any x86 code. */
#ifndef HV_X86_VM_ARCH_H
#define HV_X86_VM_ARCH_H
#include <stdint.h>
#include <arch/uart16550.h>

/* Order is fixed: hv/arch/x86/vmx_run.S indexes it. */
struct vcpu_regs {
	uint64_t rax, rcx, rdx, rbx, rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15;
};

/* Exit reasons are below 70 on every CPU this runs on; larger ones count in the last slot. */
#define VM_EXIT_REASONS 72

struct vm_arch {
	uint64_t vmcs_phys;
	int launched;
	struct vcpu_regs regs;
	uint64_t pml_phys;   /* the CPU's dirty log page, 0 without PML */
	uint64_t tsc_offset; /* guest TSC = host TSC + this (continuity across a move) */
	uint64_t exit_count[VM_EXIT_REASONS];
	struct uart16550 com1;				  /* the guest's COM1 (dev/com1.c) */
	uint8_t fxsave[512] __attribute__((aligned(16))); /* x87/SSE state while not loaded */
};

#endif
