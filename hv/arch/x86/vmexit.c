/* VM exit handlers: CPUID, HLT, port I/O (the guest's virtual UART), VMCALL,
 * MSR accesses, EPT faults, triple fault, preemption timer, PML full. An exit
 * we cannot handle stops that guest with a diagnostic; the others go on. */
#include "cpu.h"
#include "hv.h"
#include "vm.h"
#include "vmcs.h"
#include "../../../guest/abi.h"

static void skip_instruction(void)
{
	vmwrite(GUEST_RIP, vmread(GUEST_RIP) + vmread(EXIT_INSTR_LEN));
}

static void dump(struct vm *vm, const char *what, uint32_t reason)
{
	struct vcpu_regs *r = &vm->regs;
	hv_log("[hv] vm %u failed: %s (exit reason %u, qualification 0x%lx)\r\n", vm->id, what, reason,
	       (unsigned long)vmread(EXIT_QUALIFICATION));
	hv_log("[hv]   rip=%08lx rsp=%08lx rflags=%08lx cr0=%08lx cr3=%08lx cr4=%08lx gpa=%lx\r\n",
	       vmread(GUEST_RIP), vmread(GUEST_RSP), vmread(GUEST_RFLAGS), vmread(GUEST_CR0),
	       vmread(GUEST_CR3), vmread(GUEST_CR4), vmread(GUEST_PHYSICAL_ADDRESS));
	hv_log("[hv]   eax=%08lx ebx=%08lx ecx=%08lx edx=%08lx esi=%08lx edi=%08lx ebp=%08lx\r\n", r->rax,
	       r->rbx, r->rcx, r->rdx, r->rsi, r->rdi, r->rbp);
	vm_fail(vm, what);
}

static void inject_gp(void)
{
	/* vector 13, hardware exception, with error code 0 */
	vmwrite(ENTRY_INTR_INFO, 13u | (3u << 8) | (1u << 11) | (1u << 31));
	vmwrite(ENTRY_EXCEPTION_ERROR, 0);
}

static uint32_t uart_read(unsigned port)
{
	switch (port - GUEST_UART_BASE) {
	case 5: return 0x60; /* LSR: transmitter empty, no data */
	case 6: return 0xb0; /* MSR: CTS, DSR, DCD */
	default: return 0;
	}
}

static int handle_io(struct vm *vm)
{
	uint64_t q = vmread(EXIT_QUALIFICATION);
	unsigned size = (unsigned)(q & 7) + 1, port = (unsigned)(q >> 16);
	int in = (q >> 3) & 1;
	if (q & (1u << 4)) {
		dump(vm, "string port I/O is not emulated", EXIT_IO);
		return 1;
	}
	int uart = port >= GUEST_UART_BASE && port < GUEST_UART_BASE + 8;
	if (in) {
		uint64_t mask = size == 1 ? 0xff : size == 2 ? 0xffff : 0xffffffff;
		uint64_t val = uart ? uart_read(port) : mask; /* no device: the bus floats high */
		vm->regs.rax = size == 4 ? (val & mask) : (vm->regs.rax & ~mask) | (val & mask);
	} else if (uart && port == GUEST_UART_BASE) {
		console_guest_output(vm->id, vm->out, &vm->outlen, (char)vm->regs.rax);
	}
	skip_instruction();
	return 0;
}

static int handle_cpuid(struct vm *vm)
{
	uint32_t r[4];
	uint32_t leaf = (uint32_t)vm->regs.rax, sub = (uint32_t)vm->regs.rcx;
	cpuid(leaf, sub, r);
	if (leaf == 1) {
		r[2] &= ~(1u << 5);  /* no nested VMX */
		/* No XSAVE/AVX: XCR0 and the AVX state are the host's (crypto). */
		r[2] &= ~((1u << 26) | (1u << 27) | (1u << 28));
		r[2] |= 1u << 31;    /* running under a hypervisor */
	} else if (leaf == 7 && sub == 0) {
		r[1] &= ~((1u << 5) | (1u << 16) | (1u << 17) | (1u << 28) | (1u << 30) | (1u << 31)); /* AVX2, AVX-512 */
		r[2] &= ~((1u << 9) | (1u << 10)); /* VAES, VPCLMULQDQ */
	} else if (leaf == 0xd) {
		r[0] = r[1] = r[2] = r[3] = 0;
	}
	vm->regs.rax = r[0];
	vm->regs.rbx = r[1];
	vm->regs.rcx = r[2];
	vm->regs.rdx = r[3];
	skip_instruction();
	return 0;
}

static int handle_vmcall(struct vm *vm)
{
	uint32_t nr = (uint32_t)vm->regs.rax, arg = (uint32_t)vm->regs.rbx;
	char why[80];
	skip_instruction();
	switch (nr) {
	case HC_PARK:
		vm->regs.rax = 0;
		vm_park(vm);
		return 1;
	case HC_FAIL:
		hv_snprintf(why, sizeof(why), "guest reported failure code %u", arg);
		vm_fail(vm, why);
		return 1;
	case HC_DONE:
		hv_log("[hv] vm %u finished with code %u\r\n", vm->id, arg);
		vm->state = VMS_STOPPED;
		return 1;
	default:
		vm->regs.rax = (uint64_t)-1; /* unknown hypercall: an error the guest can see */
		return 0;
	}
}

int vmx_handle_exit(struct vm *vm)
{
	uint32_t reason = (uint32_t)vmread(EXIT_REASON);
	if (reason & (1u << 31)) {
		dump(vm, "VM entry failed (invalid guest state or MSR load)", reason & 0xffff);
		return 1;
	}
	switch (reason & 0xffff) {
	case EXIT_IO:
		return handle_io(vm);
	case EXIT_CPUID:
		return handle_cpuid(vm);
	case EXIT_VMCALL:
		return handle_vmcall(vm);
	case EXIT_PREEMPT_TIMER:
		return 1;
	case EXIT_HLT:
		skip_instruction();
		vm->wake_tsc = rdtsc() + hv_tsc_khz; /* no interrupts to wake it: sleep 1 ms */
		return 1;
	case EXIT_RDMSR:
	case EXIT_WRMSR:
		inject_gp(); /* the guest gets no MSRs: it sees what a CPU without them does */
		return 0;
	case EXIT_PML_FULL: {
		uint16_t idx = vmx_pml_index_reset(vm);
		dirty_pml_drain(&vm->dirty, idx);
		return 0;
	}
	case EXIT_EXT_INTR:
		outb(0x20, 0x20); /* EOI to the legacy PIC, which we keep masked anyway */
		return 0;
	case EXIT_TRIPLE_FAULT:
		dump(vm, "triple fault", reason);
		return 1;
	case EXIT_EPT_VIOLATION:
		dump(vm, "EPT violation (access outside guest RAM)", reason);
		return 1;
	case EXIT_EPT_MISCONFIG:
		dump(vm, "EPT misconfiguration", reason);
		return 1;
	default:
		dump(vm, "unhandled VM exit", reason & 0xffff);
		return 1;
	}
}
