/* The architecture boundary: every hook the portable core (hv/core, hv/migrate, net/)
 * calls into the architecture layer. x86 implements them under hv/arch/x86/; nothing
 * else of that layer is visible to the core (docs/architecture.md: "The boundary"). */
#ifndef HV_ARCH_H
#define HV_ARCH_H
#include <stddef.h>
#include <stdint.h>
#include "hvlib.h"

struct vm;
struct hv_boot_info;

/* ---- platform bring-up (hv_main's order) ---- */
/* Descriptor tables, legacy interrupt controllers masked, vector-register state. */
void arch_platform_init(void);
/* The hypervisor's own page tables over the boot memory map. */
int arch_paging_init(const struct hv_boot_info *bi);
/* Calibrates the cycle counter; HV_EHW when no reference clock answered. */
int arch_clock_calibrate(void);
void arch_clock_assume_khz(uint64_t khz);

/* ---- time, CPU, memory ordering ---- */
uint64_t arch_cycles(void);			/* monotonic, hv_tsc_khz per millisecond */
void arch_cpu_relax(void);			/* inside a polling loop */
void arch_halt(void) __attribute__((noreturn)); /* stop this CPU for good */
/* Ordering between normal memory and a device's DMA view of it (NIC rings). */
void arch_wmb(void);
void arch_rmb(void);
/* Random bytes from the CPU's generator (hvc_entropy_fn's signature); 0 on success. */
int arch_entropy(void *ctx, void *buf, size_t len);

/* ---- the console's UART ---- */
void arch_console_init(uint32_t baud);
void arch_console_write(const char *s, size_t n);
int arch_console_getc(void); /* -1 when no byte is waiting */

/* ---- vector registers: the host's crypto uses them, guests own them otherwise ---- */
void arch_host_vector_begin(void);

/* ---- virtualization extensions ---- */
void arch_virt_probe(void);
void arch_virt_print_status(const struct printer *p);
int arch_virt_enable(void);
/* Why guests cannot run here, or NULL. */
const char *arch_virt_unavailable(void);
void arch_virt_set_unavailable(const char *why);
/* The CPU logs dirty guest pages itself (PML); otherwise the EPT A/D scan is used. */
int arch_virt_has_pml(void);
/* From now on behave as a CPU without PML: new VMs track by A/D, an arriving state that
 * tracked by PML is switched to A/D (a CPU without PML must still take such guests). */
void arch_virt_hide_pml(void);

/* ---- one VM (its arch part is struct vm_arch, vm->arch) ---- */
/* Allocates and programs the VM's control structure, guest at its reset state. */
int arch_vm_init(struct vm *vm);
/* Releases what arch_vm_init allocated (also after a partial init). */
void arch_vm_destroy(struct vm *vm);
/* Back to the reset state for a new boot of the guest image. */
int arch_vm_reset(struct vm *vm);
/* Power-on state of the vector registers and the guest clock (a fresh boot). */
void arch_vm_boot_state(struct vm *vm);
/* The vCPU at a 32-bit protected-mode entry, paging and interrupts off, flat code and
 * data segments from a GDT in guest memory (Linux's 32-bit boot protocol). */
struct arch_entry32 {
	uint64_t rip, rsi, gdt_base;
	uint16_t gdt_limit, cs, ds;
};
int arch_vm_entry32(struct vm *vm, const struct arch_entry32 *e);
/* What a migrating guest depends on (announced to the destination): the identity of the
 * CPUID profile it saw and the TSC rate it was told; both 0 for a guest that reads
 * neither (the test guest). */
void arch_vm_profile(const struct vm *vm, uint32_t *cpuid_id, uint32_t *tsc_khz);
/* Why this host cannot run a guest with that profile (0: no dependency), or NULL. */
const char *arch_profile_mismatch(uint32_t cpuid_id, uint32_t tsc_khz);
/* Why a Linux guest cannot run on this CPU (a missing VMX feature), or NULL. */
const char *arch_linux_unsupported(void);
/* A byte arriving on the guest's serial line (its COM1 receiver, interrupt raised):
 * 0, or -1 when the receiver is full. */
int arch_vm_serial_input(struct vm *vm, uint8_t byte);
/* Zeroes the vCPU's registers (scrub). */
void arch_vm_clear_state(struct vm *vm);
/* Runs the VM until it must be rescheduled (slice over, it halted, stopped or failed). */
void arch_vm_run_slice(struct vm *vm);
/* Switches the CPU's dirty log for this VM on or off. */
int arch_vm_set_pml(struct vm *vm, int on);
/* Moves what the CPU logged since the last call into vm->dirty (no-op for A/D). */
void arch_vm_dirty_sync(struct vm *vm);
/* dirty_tracker.flush: forget cached translations after the A/D bits were cleared. */
void arch_dirty_flush(void *vm);
/* `vm stats ID`: exit counts by reason and other per-VM arch counters. */
void arch_vm_print_stats(const struct vm *vm, const struct printer *p);
/* The vCPU and device state a migration carries (struct vcpu_state, opaque here).
 * save: the VM is paused. load: checks everything (the blob may come from the network)
 * and sets vm->dirty.method from it; extra_cycles advances the guest's clock. */
size_t arch_vm_state_size(void);
int arch_vm_state_save(struct vm *vm, void *buf, size_t cap, size_t *len);
/* Tests only (`migrate test hostile-state`): turns a saved state into what a hostile peer
 * holding the PSK sent in issue 13's finding 1 (a console line past the bound, carrying a
 * forged hypervisor event and an escape sequence). */
void arch_vm_state_make_hostile(void *buf, size_t len);
int arch_vm_state_load(struct vm *vm, const void *buf, size_t len, uint64_t extra_cycles);

#endif
