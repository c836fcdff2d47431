/* The virtual platform's parts as the VMX files see them: MSRs (msr.c), CPUID (cpuid.c),
 * control registers (cr.c), the local APIC (dev/lapic.c), the 8259 pair (dev/pic.c),
 * legacy ports (dev/legacy.c) and interrupt delivery (irq.c). Each exit handler returns
 * what vmx_handle_exit's table expects. */
#ifndef HV_X86_VPLAT_H
#define HV_X86_VPLAT_H
#include <stdint.h>
#include <arch/vmx.h>

struct vm;
struct printer;

/* ---- shared by the handlers (vmexit.c) ---- */
void vmx_skip_instruction(void);
void vmx_inject_exception(unsigned vector, int has_error, uint32_t error);
/* Stops the guest with the full diagnostic (registers, exit, decoded meaning). */
enum exit_result vmx_stop_guest(struct vm *vm, const char *what, uint32_t reason);
/* Guest general-purpose register by the VMX encoding (0 RAX ... 4 RSP ... 15 R15). */
uint64_t vmx_guest_gpr(struct vm *vm, unsigned idx);
void vmx_set_guest_gpr(struct vm *vm, unsigned idx, uint64_t v);

/* ---- MSRs ---- */
int msr_init(void); /* the shared MSR bitmap */
uint64_t msr_bitmap_phys(void);
enum exit_result vmx_exit_rdmsr(struct vm *vm, uint32_t reason);
enum exit_result vmx_exit_wrmsr(struct vm *vm, uint32_t reason);
void msr_switch_to(struct vm *vm); /* before entering vm: its syscall MSRs on the CPU */
void msr_sync(struct vm *vm);	   /* vm->arch.msr_switched current (state capture) */
void msr_forget(struct vm *vm);	   /* the CPU's copies are dead (scrub, destroy) */
void msr_reset(struct vm *vm);	   /* power-on values */
void msr_print_stats(const struct vm *vm, const struct printer *p);

/* ---- CPUID ---- */
enum exit_result vmx_exit_cpuid(struct vm *vm, uint32_t reason);
/* The profile every guest sees (leaf, subleaf -> EAX..EDX). */
void cpuid_profile(uint32_t leaf, uint32_t sub, uint32_t r[4]);
uint32_t cpuid_profile_id(void);

/* ---- control registers ---- */
enum exit_result vmx_exit_cr(struct vm *vm, uint32_t reason);
/* After any exit: the IA-32e-mode entry control follows EFER.LMA. */
void cr_sync_ia32e(void);

/* ---- local APIC ---- */
int lapic_init(void);		  /* the shared APIC-access page */
uint64_t lapic_access_phys(void); /* 0 when the CPU cannot virtualize the APIC */
int lapic_vm_init(struct vm *vm);
void lapic_vm_destroy(struct vm *vm);
void lapic_reset(struct vm *vm); /* power-on registers, timer stopped */
void lapic_raise(struct vm *vm, unsigned vector);
/* Fires the timer when due (now: host TSC). */
void lapic_timer_poll(struct vm *vm, uint64_t now);
/* Host TSC at which the timer next needs the guest, 0 if never. */
uint64_t lapic_timer_wake(const struct vm *vm);
int lapic_interrupt_pending(struct vm *vm);
/* LINT0 passes the 8259's INTR (ExtINT unmasked, or the APIC disabled). */
int lapic_extint_open(struct vm *vm);
enum exit_result vmx_exit_apic_write(struct vm *vm, uint32_t reason);
enum exit_result vmx_exit_apic_access(struct vm *vm, uint32_t reason);
uint64_t lapic_read_deadline(struct vm *vm);
void lapic_write_deadline(struct vm *vm, uint64_t v);

/* ---- interrupt delivery ---- */
/* Before each VM entry: timer, re-injection of an interrupted event, the 8259's INTR. */
void irq_before_entry(struct vm *vm);
/* Right after an exit: an event the exit interrupted is queued for re-injection. */
void irq_after_exit(void);
enum exit_result vmx_exit_intr_window(struct vm *vm, uint32_t reason);

/* ---- legacy devices ---- */
void pic_update_com1(struct vm *vm); /* IRQ 4 follows the UART's interrupt line */
void legacy_reset(struct vm *vm);

#endif
