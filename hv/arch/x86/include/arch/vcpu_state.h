/* The complete, self-describing state of a guest's vCPU and virtual devices:
 * what a migration carries besides memory. Fixed layout, little endian. */
#ifndef HV_VCPU_STATE_H
#define HV_VCPU_STATE_H
#include <stdint.h>

#define VCPU_STATE_MAGIC   0x53435648u /* "HVCS" */
/* 2: long mode, PAT and the syscall MSRs, the local APIC (virtual-APIC page, RVI/SVI,
 * timer), the 16550's registers, the 8259 pair, CMOS; every guest uses it. */
#define VCPU_STATE_VERSION 2u

struct vcpu_seg {
	uint64_t base;
	uint32_t limit, ar;
	uint16_t sel, pad[3];
};

enum { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_LDTR, SEG_TR, SEG_COUNT };

/* The parts of the state, each versioned on its own (part_version[]). */
enum {
	VCPU_PART_CPU,
	VCPU_PART_FPU,
	VCPU_PART_MSRS,
	VCPU_PART_UART,
	VCPU_PART_PIC,
	VCPU_PART_CMOS,
	VCPU_PART_LAPIC,
	VCPU_PART_CONSOLE,
	VCPU_PARTS
};
/* The version of each part this hypervisor writes and reads. */
#define VCPU_PART_VERSION 1u

/* The syscall MSRs in the order of enum MSRS_* (vm_arch.h). */
#define VCPU_MSRS 6

struct vcpu_lapic {
	uint32_t present;     /* 1: the guest has a local APIC (the rest is meaningful) */
	uint32_t intr_status; /* RVI (7:0), SVI (15:8) */
	uint64_t apic_base;   /* IA32_APIC_BASE as the guest sees it */
	uint32_t timer_lvt, timer_initial, timer_divide, pad;
	uint64_t timer_deadline; /* guest TSC of the next expiry, 0: not armed */
	uint64_t timer_period;	 /* guest-TSC ticks of a count-down */
	uint64_t tsc_deadline;	 /* IA32_TSC_DEADLINE */
	uint8_t page[4096];	 /* the virtual-APIC page (registers, IRR/ISR/TMR) */
};

struct vcpu_uart {
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm, lsr_err;
	uint8_t rx[16];
	uint8_t rx_head, rx_len, thri_pending, pad[5];
};

struct vcpu_pic {
	uint8_t irr, isr, imr, line, base, init, need_icw4, single, auto_eoi, read_isr, elcr, pad[5];
};

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
	/* version 2. Each part below and above has its own version (VCPU_PART_*): a part that
	 * changes later is told apart without guessing from the blob's size. */
	uint8_t part_version[VCPU_PARTS];
	uint64_t pat;
	uint64_t msrs[VCPU_MSRS]; /* STAR, LSTAR, CSTAR, SFMASK, KERNEL_GS_BASE, TSC_AUX */
	struct vcpu_uart uart;
	struct vcpu_pic pic[2];
	uint32_t cmos_index;
	uint32_t cpuid_id; /* identity of the CPUID profile the guest saw (cpuid_profile_id) */
	struct vcpu_lapic lapic;
};

/* Everything a state that came from outside (the network) must satisfy before any of it
 * reaches a VMCS (vcpu_state_check.c, pure C: unit-tested hosted): HV_OK, or HV_EINVAL /
 * HV_ERANGE for the first field that is wrong. */
int vcpu_state_check(const struct vcpu_state *s, uint64_t mem_pages);

#endif
