/* Thin inline wrappers for x86-64 instructions the hypervisor uses
 * (port I/O, MSRs, control registers, CPUID, TSC). */
#ifndef HV_X86_CPU_H
#define HV_X86_CPU_H
#include <stdint.h>
#include "baremetal/portio.h"

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}
static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}
static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}
#define DEF_CR(n)                                                                                                      \
	static inline uint64_t read_cr##n(void)                                                                        \
	{                                                                                                              \
		uint64_t v;                                                                                            \
		__asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));                                                      \
		return v;                                                                                              \
	}                                                                                                              \
	static inline void write_cr##n(uint64_t v) { __asm__ volatile("mov %0, %%cr" #n ::"r"(v) : "memory"); }
DEF_CR(0)
DEF_CR(2)
DEF_CR(3)
DEF_CR(4)
#undef DEF_CR
static inline void cpu_relax(void) { __asm__ volatile("pause"); }
static inline void cli(void) { __asm__ volatile("cli"); }
static inline void hlt(void) { __asm__ volatile("hlt"); }

#define MSR_IA32_FEATURE_CONTROL    0x3a
#define MSR_IA32_PAT		    0x277
#define MSR_IA32_VMX_BASIC	    0x480
#define MSR_IA32_VMX_PINBASED	    0x481
#define MSR_IA32_VMX_PROCBASED	    0x482
#define MSR_IA32_VMX_EXIT	    0x483
#define MSR_IA32_VMX_ENTRY	    0x484
#define MSR_IA32_VMX_MISC	    0x485
#define MSR_IA32_VMX_CR0_FIXED0	    0x486
#define MSR_IA32_VMX_CR0_FIXED1	    0x487
#define MSR_IA32_VMX_CR4_FIXED0	    0x488
#define MSR_IA32_VMX_CR4_FIXED1	    0x489
#define MSR_IA32_VMX_PROCBASED2	    0x48b
#define MSR_IA32_VMX_EPT_VPID_CAP   0x48c
#define MSR_IA32_VMX_TRUE_PINBASED  0x48d
#define MSR_IA32_VMX_TRUE_PROCBASED 0x48e
#define MSR_IA32_VMX_TRUE_EXIT	    0x48f
#define MSR_IA32_VMX_TRUE_ENTRY	    0x490
#define MSR_IA32_EFER		    0xc0000080
#define MSR_FS_BASE		    0xc0000100
#define MSR_GS_BASE		    0xc0000101

#define CR0_PE	       (1ull << 0)
#define CR0_ET	       (1ull << 4)
#define CR0_NE	       (1ull << 5)
#define CR0_PG	       (1ull << 31)
#define CR4_PAE	       (1ull << 5)
#define CR4_VMXE       (1ull << 13)
#define CR4_OSFXSR     (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define CR4_OSXSAVE    (1ull << 18)

#endif
