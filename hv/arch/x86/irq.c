/* Interrupt delivery before each VM entry: an event that a VM exit interrupted goes back
 * first; the APIC timer posts its vector (virtual-interrupt delivery does the rest); the
 * 8259's INTR, which virtual-interrupt delivery cannot post (ExtINT), is injected when the
 * guest can take it, or waits for an interrupt-window exit. */
#include <arch/cpu.h>
#include <arch/i8259.h>
#include <arch/vmcs.h>
#include <arch/vplat.h>
#include "hv.h"
#include "vm.h"

#define RFLAGS_IF     (1ull << 9)
#define IDT_NMI_UNBLK (1u << 12) /* IDT-vectoring info bit with no meaning on entry */

void irq_after_exit(void)
{
	uint32_t idt = (uint32_t)vmread(IDT_VECTORING_INFO);
	if (!(idt & INTR_INFO_VALID))
		return;
	/* The exit came while an event was being delivered: deliver it again. */
	vmwrite(ENTRY_INTR_INFO, idt & ~IDT_NMI_UNBLK);
	if (idt & INTR_INFO_DELIVER_ERR)
		vmwrite(ENTRY_EXCEPTION_ERROR, vmread(IDT_VECTORING_ERROR));
	vmwrite(ENTRY_INSTR_LEN, vmread(EXIT_INSTR_LEN));
}

static void window(int on)
{
	uint64_t p = vmread(PROC_BASED_CTLS);
	uint64_t want = on ? p | PROC_INTR_WINDOW : p & ~(uint64_t)PROC_INTR_WINDOW;
	if (want != p)
		vmwrite(PROC_BASED_CTLS, want);
}

void irq_before_entry(struct vm *vm)
{
	lapic_timer_poll(vm, rdtsc());
	if (!i8259_intr(&vm->arch.pic) || !lapic_extint_open(vm)) {
		window(0);
		return;
	}
	int busy = (vmread(ENTRY_INTR_INFO) & INTR_INFO_VALID) != 0;
	int open = (vmread(GUEST_RFLAGS) & RFLAGS_IF) &&
		   !(vmread(GUEST_INTERRUPTIBILITY) & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOVSS));
	if (busy || !open) {
		window(1); /* exit as soon as the guest can take it */
		return;
	}
	window(0);
	vmwrite(ENTRY_INTR_INFO, i8259_ack(&vm->arch.pic) | INTR_TYPE_EXT_INTR | INTR_INFO_VALID);
	vm->arch.irq_injected++;
}

enum exit_result vmx_exit_intr_window(struct vm *vm, uint32_t reason)
{
	(void)vm;
	(void)reason;
	return EXIT_RESUME; /* irq_before_entry injects now */
}
