/* A guest: its memory, EPT, dirty tracker, VMCS and console, and the
 * lifecycle the console drives (created, running, paused, parked, stopped, failed). */
#ifndef HV_VM_H
#define HV_VM_H
#include <stdint.h>
#include "ept.h"
#include "dirty.h"
#include "console.h"

enum vm_state { VMS_CREATED, VMS_RUNNING, VMS_PAUSED, VMS_PARKED, VMS_STOPPED, VMS_FAILED,
	VMS_INCOMING /* receiving a migration: never runs before the source's commit */ };

/* Order is fixed: hv/arch/x86/vmx_run.S indexes it. */
struct vcpu_regs {
	uint64_t rax, rcx, rdx, rbx, rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15;
};

#define VM_MAX 8

struct vm {
	unsigned id;
	enum vm_state state;
	uint32_t mode;             /* enum guest_mode */
	uint64_t mem_pages;
	uint64_t *page_hpa;        /* host frame of each guest page */
	uint64_t page_hpa_pages;
	struct ept ept;
	struct dirty_tracker dirty;
	uint64_t *dirty_out;       /* scratch bitmap for dirty_collect */
	uint64_t bitmap_pages;
	uint64_t pml_phys;
	uint64_t vmcs_phys;
	int launched;
	struct vcpu_regs regs;
	uint64_t exits;
	uint64_t wake_tsc;         /* HLT: not scheduled before this TSC value */
	int migrating;             /* the migration engine owns its dirty log and state */
	unsigned throttle_pct;     /* share of time slices withheld (a guest outrunning the link) */
	unsigned throttle_acc;
	uint64_t tsc_offset;       /* guest TSC = host TSC + this (continuity across a move) */
	uint8_t fxsave[512] __attribute__((aligned(16))); /* x87/SSE state while not loaded */
	char out[640];             /* guest console line being assembled (a 64-page WSET line is ~540) */
	unsigned outlen;
};

extern struct vm hv_vms[VM_MAX];
extern unsigned hv_nvms;
extern const struct console_ops hv_console_ops;

int vm_create(uint32_t mode);
int vm_create_sized(uint32_t mode, uint64_t mem_pages);
/* Zero-fills all guest memory and register state and reads it back. */
int vm_scrub(struct vm *vm);
int vm_start(struct vm *vm);
struct vm *vm_by_id(unsigned id);
const char *vm_state_name(enum vm_state s);
void vm_fail(struct vm *vm, const char *why);
void vm_park(struct vm *vm);
void sched_loop(void) __attribute__((noreturn));

/* Architecture layer (hv/arch/x86/vmx.c, vmexit.c). */
struct vmx_caps {
	int vmx, ept, unrestricted, ept_ad, pml, preempt_timer, ept_wb, ept_4level, invept;
	unsigned preempt_rate;
	const char *why_not; /* first reason VT-x cannot run guests, NULL if it can */
};
extern struct vmx_caps hv_vmx;
void vmx_probe(struct vmx_caps *c);
void vmx_print_status(const struct printer *p);
int vmx_cpu_enable(void);
int vmx_vm_setup(struct vm *vm);
int vmx_vm_reset_guest(struct vm *vm);
/* Runs the VM until it must be rescheduled; returns when another VM or the
 * console should get a turn. */
void vmx_run_slice(struct vm *vm);
void vmx_dirty_flush(void *vm);
int vmx_set_pml(struct vm *vm, int on);
struct vcpu_state;
int vcpu_state_save(struct vm *vm, struct vcpu_state *s);
/* extra_tsc: ticks the guest's clock should advance for the time it was stopped. */
int vcpu_state_load(struct vm *vm, const struct vcpu_state *s, uint64_t extra_tsc);
uint16_t vmx_pml_index_reset(struct vm *vm);

#endif
