/* The complete, self-describing state of a guest's vCPU and virtual devices:
 * what a migration carries besides memory. Fixed layout, little endian. */
#ifndef HV_VCPU_STATE_H
#define HV_VCPU_STATE_H
#include <stdint.h>

#define VCPU_STATE_MAGIC   0x53435648u /* "HVCS" */
#define VCPU_STATE_VERSION 1u

struct vcpu_seg {
	uint64_t base;
	uint32_t limit, ar;
	uint16_t sel, pad[3];
};

enum { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_LDTR, SEG_TR, SEG_COUNT };

struct vcpu_state {
	uint32_t magic, version, size; /* size = sizeof(struct vcpu_state) */
	uint32_t guest_mode;	       /* enum guest_mode of the test guest */
	uint64_t mem_pages;
	uint64_t gpr[15]; /* rax rcx rdx rbx rbp rsi rdi r8..r15 (struct vcpu_regs order) */
	uint64_t rip, rsp, rflags;
	uint64_t cr0, cr3, cr4, dr7, efer, cr0_shadow, cr4_shadow;
	struct vcpu_seg seg[SEG_COUNT];
	uint64_t gdtr_base, idtr_base;
	uint32_t gdtr_limit, idtr_limit;
	uint32_t interruptibility, activity;
	uint64_t pending_dbg;
	uint32_t sysenter_cs, pad0;
	uint64_t sysenter_esp, sysenter_eip;
	uint32_t entry_intr_info, entry_exc_error; /* an event still to be injected */
	uint32_t entry_instr_len, pad1;
	uint64_t guest_tsc;				  /* the guest's TSC when it stopped */
	uint64_t tsc_khz;				  /* the rate the guest was told (params.tsc_khz) */
	uint8_t fxsave[512] __attribute__((aligned(16))); /* x87/SSE state */
	/* virtual devices */
	uint32_t uart_len, pad2;
	char uart_line[640]; /* the guest's console line not yet complete */
	uint32_t dirty_method, pad3;
};

/* Everything a state that came from outside (the network) must satisfy before any of it
 * reaches a VMCS (vcpu_state_check.c, pure C: unit-tested hosted): HV_OK, or HV_EINVAL /
 * HV_ERANGE for the first field that is wrong. */
int vcpu_state_check(const struct vcpu_state *s, uint64_t mem_pages);

#endif
