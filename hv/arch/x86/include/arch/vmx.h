/* What the VMX files share among themselves (vmx.c, vmx_caps.c, vmexit.c, vcpu_state.c):
 * the CPU's capabilities, VMCS loading, PML control and the exit-handler contract. */
#ifndef HV_X86_VMX_H
#define HV_X86_VMX_H
#include <stdint.h>

struct vm;
struct vcpu_regs;

struct vmx_caps {
	int vmx, ept, unrestricted, ept_ad, pml, preempt_timer, ept_wb, ept_4level, invept;
	/* APIC virtualization (TPR shadow, APIC-access page, register virtualization,
	 * virtual-interrupt delivery): what a Linux guest's local APIC needs. */
	int apicv;
	int rdtscp, invpcid; /* the guest may execute them (else CPUID hides them) */
	unsigned preempt_rate;
	const char *why_not; /* first reason VT-x cannot run guests, NULL if it can */
};
extern struct vmx_caps hv_vmx;

/* Makes vm's VMCS the current one (VMPTRLD only when it is not already). */
int vmx_load_vmcs(struct vm *vm);
int vmx_set_pml(struct vm *vm, int on);
/* Gives a VM a local APIC after the fact (an arriving guest whose state has one). */
int vmx_enable_lapic(struct vm *vm);
/* Reads the PML index and resets it to the top: the entries between were logged. */
uint16_t vmx_pml_index_reset(struct vm *vm);

/* What an exit handler tells the run loop. */
enum exit_result {
	EXIT_RESUME, /* re-enter the guest at once */
	EXIT_YIELD,  /* the slice is over (timer, HLT): the VM stays runnable */
	EXIT_STOP,   /* the VM left the running state (parked, finished, failed) */
};
enum exit_result vmx_handle_exit(struct vm *vm);

/* vmx_run.S: enters the guest (VMLAUNCH or VMRESUME); returns 0 after a VM exit,
 * nonzero when the entry instruction itself failed. */
int vmx_enter(struct vcpu_regs *regs, int launched);
void vmx_exit_entry(void);

#endif
