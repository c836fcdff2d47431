/* Host exception handler and panic: print everything needed to debug (vector,
 * error code, RIP, registers, control registers), then stop the machine. */
#include <arch/cpu.h>
#include "hv.h"

struct isr_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error, rip, cs, rflags, rsp, ss;
};

static const char *const names[32] = {
	"#DE divide error",
	"#DB debug",
	"NMI",
	"#BP breakpoint",
	"#OF overflow",
	"#BR bound",
	"#UD invalid opcode",
	"#NM no math",
	"#DF double fault",
	"coprocessor overrun",
	"#TS invalid TSS",
	"#NP not present",
	"#SS stack fault",
	"#GP general protection",
	"#PF page fault",
	"reserved",
	"#MF x87",
	"#AC alignment",
	"#MC machine check",
	"#XM SIMD",
	"#VE virtualization",
	"#CP control protection",
};

void exception_handler(struct isr_frame *f)
{
	if (f->vector == 2 || f->vector >= 32) {
		hv_event("spurious interrupt vector %lu ignored", (unsigned long)f->vector);
		return;
	}
	const char *name = names[f->vector] ? names[f->vector] : "reserved";
	hv_log("\r\n[hv] PANIC: host exception %lu (%s) error=0x%lx\r\n", (unsigned long)f->vector, name,
	       (unsigned long)f->error);
	hv_event("  rip=%016lx cs=%04lx rflags=%016lx rsp=%016lx ss=%04lx", f->rip, f->cs, f->rflags, f->rsp, f->ss);
	hv_event("  rax=%016lx rbx=%016lx rcx=%016lx rdx=%016lx", f->rax, f->rbx, f->rcx, f->rdx);
	hv_event("  rsi=%016lx rdi=%016lx rbp=%016lx r8 =%016lx", f->rsi, f->rdi, f->rbp, f->r8);
	hv_event("  r9 =%016lx r10=%016lx r11=%016lx r12=%016lx", f->r9, f->r10, f->r11, f->r12);
	hv_event("  r13=%016lx r14=%016lx r15=%016lx", f->r13, f->r14, f->r15);
	hv_event("  cr0=%016lx cr2=%016lx cr3=%016lx cr4=%016lx", read_cr0(), read_cr2(), read_cr3(), read_cr4());
	hv_halt_machine(1);
}
