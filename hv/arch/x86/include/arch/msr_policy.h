/* Which guest MSR accesses run on the CPU, which the hypervisor emulates, and which get
 * #GP: one table (msr_policy.c, unit-tested hosted) that also builds the VMX MSR bitmap. */
#ifndef HV_X86_MSR_POLICY_H
#define HV_X86_MSR_POLICY_H
#include <stdint.h>

#define MSR_TSC		  0x10u
#define MSR_APIC_BASE	  0x1bu
#define MSR_SYSENTER_CS	  0x174u
#define MSR_SYSENTER_ESP  0x175u
#define MSR_SYSENTER_EIP  0x176u
#define MSR_MISC_ENABLE	  0x1a0u
#define MSR_PAT		  0x277u
#define MSR_TSC_DEADLINE  0x6e0u
#define MSR_EFER	  0xc0000080u
#define MSR_STAR	  0xc0000081u
#define MSR_LSTAR	  0xc0000082u
#define MSR_CSTAR	  0xc0000083u
#define MSR_SFMASK	  0xc0000084u
#define MSR_FSBASE	  0xc0000100u
#define MSR_GSBASE	  0xc0000101u
#define MSR_KERNEL_GSBASE 0xc0000102u
#define MSR_TSC_AUX	  0xc0000103u

#define EFER_SCE	  (1ull << 0)
#define EFER_LME	  (1ull << 8)
#define EFER_LMA	  (1ull << 10)
#define EFER_NXE	  (1ull << 11)
#define APIC_BASE_DEFAULT 0xfee00000ull
#define APIC_BASE_BSP	  (1ull << 8)
#define APIC_BASE_X2APIC  (1ull << 10)
#define APIC_BASE_ENABLE  (1ull << 11)
/* MISC_ENABLE as the guest reads it: fast strings on, no BTS/PEBS (bits 11, 12). */
#define MISC_ENABLE_VALUE 0x1801ull

enum msr_class {
	MSR_GP,	       /* #GP: the guest sees a CPU without it (counted per number) */
	MSR_PASS,      /* the guest's own value, on the CPU (VMCS-switched or switched with the VM) */
	MSR_PASS_READ, /* reads run on the CPU, writes are emulated (the TSC) */
	MSR_EMULATE,   /* every access exits and is emulated */
};

enum msr_class msr_classify(uint32_t msr);
/* The 4 KiB VMX MSR bitmap: a set bit makes that access exit (SDM 24.6.9). */
void msr_bitmap_build(uint8_t bm[4096]);
/* 1 when the access (write != 0 for WRMSR) exits under that bitmap. */
int msr_bitmap_exits(const uint8_t bm[4096], uint32_t msr, int write);

/* EFER the guest writes: the new value (LMA kept: only paging sets it), or -1 for #GP
 * (a reserved bit, or LME changed while paging is on). */
int64_t msr_efer_write(uint64_t old, uint64_t v, int paging);
/* IA32_APIC_BASE the guest writes: 0 if it may have it, -1 for #GP (another base, x2APIC
 * mode, reserved bits, or a BSP flag change). */
int msr_apic_base_check(uint64_t v);

#endif
