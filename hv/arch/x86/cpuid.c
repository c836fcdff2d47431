/* The CPUID profile every guest sees: the host's features through an allow-list (what a
 * guest can use under this hypervisor: no VMX, MWAIT, PMU, XSAVE/AVX, speculation
 * controls or machine checks), the topology of one CPU with APIC ID 0, the TSC-deadline
 * timer this hypervisor emulates, and the TSC rate it measured (leaves 15h/16h and a
 * hypervisor timing leaf), because Bochs's own leaves are 70x off. */
#include <arch/cpu.h>
#include <arch/lapic_timer.h>
#include <arch/vmcs.h>
#include <arch/vmx.h>
#include <arch/vplat.h>
#include "hv.h"
#include "vm.h"

#define BIT(n) (1u << (n))

/* Leaf 1 ECX: SSE3, PCLMULQDQ, SSSE3, CX16, PCID, SSE4.1, SSE4.2, MOVBE, POPCNT, AES,
 * RDRAND. Not: MONITOR, VMX, SMX, EST, TM2, PDCM, x2APIC, XSAVE, AVX, F16C, FMA. */
#define L1_ECX_ALLOW                                                                                                   \
	(BIT(0) | BIT(1) | BIT(9) | BIT(13) | BIT(17) | BIT(19) | BIT(20) | BIT(22) | BIT(23) | BIT(25) | BIT(30))
#define L1_ECX_TSC_DEADLINE BIT(24)
#define L1_ECX_HYPERVISOR   BIT(31)
/* Leaf 1 EDX: FPU, VME, DE, PSE, TSC, MSR, PAE, CX8, APIC, SEP, PGE, CMOV, PAT, PSE36,
 * CLFSH, MMX, FXSR, SSE, SSE2. Not: MCE/MCA, MTRR, DS, ACPI, SS, HTT, TM, PBE. */
#define L1_EDX_ALLOW                                                                                                   \
	(BIT(0) | BIT(1) | BIT(2) | BIT(3) | BIT(4) | BIT(5) | BIT(6) | BIT(8) | BIT(9) | BIT(11) | BIT(13) |          \
	 BIT(15) | BIT(16) | BIT(17) | BIT(19) | BIT(23) | BIT(24) | BIT(25) | BIT(26))
/* Leaf 7 EBX: FSGSBASE, BMI1, SMEP, BMI2, ERMS, ADX, SMAP, CLFLUSHOPT, CLWB, SHA.
 * INVPCID only when the VM may execute it. Not: TSX, AVX2/AVX-512, MPX, RDT, PT. */
#define L7_EBX_ALLOW	  (BIT(0) | BIT(3) | BIT(7) | BIT(8) | BIT(9) | BIT(19) | BIT(20) | BIT(23) | BIT(24) | BIT(29))
#define L7_EBX_INVPCID	  BIT(10)
#define L7_ECX_RDPID	  BIT(22)
/* 80000001h ECX: LAHF, LZCNT, PREFETCHW. EDX: SYSCALL, NX, 1 GiB pages, LM; RDTSCP when
 * the VM may execute it. */
#define LX1_ECX_ALLOW	  (BIT(0) | BIT(5) | BIT(8))
#define LX1_EDX_ALLOW	  (BIT(11) | BIT(20) | BIT(26) | BIT(29))
#define LX1_EDX_RDTSCP	  BIT(27)
#define LX7_EDX_INVARIANT BIT(8)
#define L6_EAX_ARAT	  BIT(2)

#define MAX_BASIC 0x16u
#define HV_LEAF	  0x40000000u
#define HV_TIMING 0x40000010u

void cpuid_profile(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	uint32_t host[4];
	cpuid(leaf & 0x80000000u, 0, host); /* the host's highest leaf of that range */
	uint32_t khz = (uint32_t)hv_tsc_khz;
	r[0] = r[1] = r[2] = r[3] = 0;
	if (leaf >= HV_LEAF && leaf < 0x80000000u) {
		if (leaf == HV_LEAF) {
			r[0] = HV_TIMING;
			memcpy(&r[1], "HVMI", 4); /* "HVMIGRATE-HV": this hypervisor */
			memcpy(&r[2], "GRAT", 4);
			memcpy(&r[3], "E-HV", 4);
		} else if (leaf == HV_TIMING) {
			r[0] = khz;		     /* TSC kHz */
			r[1] = LAPIC_TIMER_BASE_KHZ; /* APIC timer kHz */
		}
		return;
	}
	if (leaf < 0x80000000u && leaf > MAX_BASIC)
		return;
	if (leaf >= 0x80000000u && (leaf > host[0] || leaf > 0x80000008u))
		return;
	if (leaf != 0x15 && leaf != 0x16 && leaf < 0x80000000u && leaf > host[0])
		return;
	cpuid(leaf, sub, r);
	switch (leaf) {
	case 0: r[0] = MAX_BASIC; break;
	case 1:
		r[1] = (r[1] & 0xffffu) | (1u << 16); /* one logical CPU, APIC ID 0 */
		r[2] = (r[2] & L1_ECX_ALLOW) | L1_ECX_TSC_DEADLINE | L1_ECX_HYPERVISOR;
		r[3] &= L1_EDX_ALLOW;
		break;
	case 2:
	case 0x80000002:
	case 0x80000003:
	case 0x80000004:
	case 0x80000006:
	case 0x80000008: break; /* caches, brand string, address sizes: as the host's */
	case 4:
		r[0] &= 0x3fffu; /* one core, one thread per cache */
		break;
	case 6:
		r[0] = L6_EAX_ARAT; /* the emulated APIC timer runs in every idle state */
		r[1] = r[2] = r[3] = 0;
		break;
	case 7:
		if (sub != 0) {
			r[0] = r[1] = r[2] = r[3] = 0;
			break;
		}
		r[0] = 0;
		r[1] &= L7_EBX_ALLOW | (hv_vmx.invpcid ? L7_EBX_INVPCID : 0);
		r[2] &= hv_vmx.rdtscp ? L7_ECX_RDPID : 0;
		r[3] = 0;
		break;
	case 0x15:
		/* TSC = crystal * EBX / EAX with a 1 MHz crystal (the APIC timer's clock). */
		r[0] = 1000;
		r[1] = khz;
		r[2] = LAPIC_TIMER_BASE_KHZ * 1000u;
		r[3] = 0;
		break;
	case 0x16:
		r[0] = r[1] = khz / 1000; /* base and maximum MHz */
		r[2] = LAPIC_TIMER_BASE_KHZ / 1000;
		r[3] = 0;
		break;
	case 0x80000000: r[0] = host[0] < 0x80000008u ? host[0] : 0x80000008u; break;
	case 0x80000001:
		r[0] = r[1] = 0;
		r[2] &= LX1_ECX_ALLOW;
		r[3] &= LX1_EDX_ALLOW | (hv_vmx.rdtscp ? LX1_EDX_RDTSCP : 0);
		break;
	case 0x80000007:
		r[0] = r[1] = r[2] = 0;
		r[3] = LX7_EDX_INVARIANT; /* guest TSC = host TSC + offset: constant rate */
		break;
	default: r[0] = r[1] = r[2] = r[3] = 0; /* PMU, XSAVE, RDT, SGX, PT...: absent */
	}
}

/* An FNV-1a hash over every leaf a guest can read but the TSC-rate leaves (15h, 16h,
 * 40000010h: the rate is compared on its own, with a tolerance, since two calibrations
 * of one clock differ a little): two hosts with the same value show guests the same CPU. */
uint32_t cpuid_profile_id(void)
{
	static const uint32_t leaves[] = { 0,	1,	    4,		6,	    7,		0xa,
					   0xd, 0x40000000, 0x80000000, 0x80000001, 0x80000007, 0x80000008 };
	uint32_t h = 2166136261u, r[4];
	for (unsigned i = 0; i < ARRAY_SIZE(leaves); i++) {
		cpuid_profile(leaves[i], 0, r);
		for (unsigned w = 0; w < 4; w++)
			for (unsigned b = 0; b < 32; b += 8)
				h = (h ^ ((r[w] >> b) & 0xff)) * 16777619u;
	}
	return h;
}

void arch_vm_profile(const struct vm *vm, uint32_t *cpuid_id, uint32_t *tsc_khz)
{
	*cpuid_id = *tsc_khz = 0;
	if (!vm->has_lapic)
		return; /* the test guest reads no CPUID and gets its rate as a parameter */
	*cpuid_id = cpuid_profile_id();
	*tsc_khz = (uint32_t)vm->arch.timer.tsc_khz; /* the rate it was told at boot */
}

const char *arch_profile_mismatch(uint32_t cpuid_id, uint32_t tsc_khz)
{
	static char why[96];
	if (cpuid_id && cpuid_id != cpuid_profile_id()) {
		hv_snprintf(why, sizeof(why), "it saw CPUID profile %08x, this host offers %08x", cpuid_id,
			    cpuid_profile_id());
		return why;
	}
	uint64_t a = tsc_khz, b = hv_tsc_khz, d = a > b ? a - b : b - a;
	if (tsc_khz && d * 2000 > b) {
		hv_snprintf(why, sizeof(why), "its TSC runs at %u kHz, this host's at %lu kHz", tsc_khz,
			    (unsigned long)hv_tsc_khz);
		return why;
	}
	return 0;
}

enum exit_result vmx_exit_cpuid(struct vm *vm, uint32_t reason)
{
	(void)reason;
	uint32_t r[4];
	cpuid_profile((uint32_t)vm->arch.regs.rax, (uint32_t)vm->arch.regs.rcx, r);
	vm->arch.regs.rax = r[0];
	vm->arch.regs.rbx = r[1];
	vm->arch.regs.rcx = r[2];
	vm->arch.regs.rdx = r[3];
	vmx_skip_instruction();
	return EXIT_RESUME;
}
