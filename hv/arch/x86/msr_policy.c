/* The guest MSR policy (see msr_policy.h): pure, so a hosted test pins every entry. */
#include <arch/msr_policy.h>

static const struct {
	uint32_t msr;
	enum msr_class cls;
} policy[] = {
	/* Switched by the VMCS on entry and exit (guest-state fields or PAT load/save). */
	{ MSR_FSBASE, MSR_PASS },
	{ MSR_GSBASE, MSR_PASS },
	{ MSR_SYSENTER_CS, MSR_PASS },
	{ MSR_SYSENTER_ESP, MSR_PASS },
	{ MSR_SYSENTER_EIP, MSR_PASS },
	{ MSR_PAT, MSR_PASS },
	/* The syscall MSRs: the hypervisor never uses them, so the guest's stay on the CPU
	 * while it runs and are switched when another VM is scheduled (msr.c). */
	{ MSR_STAR, MSR_PASS },
	{ MSR_LSTAR, MSR_PASS },
	{ MSR_CSTAR, MSR_PASS },
	{ MSR_SFMASK, MSR_PASS },
	{ MSR_KERNEL_GSBASE, MSR_PASS },
	{ MSR_TSC_AUX, MSR_PASS },
	/* Reads see the offset TSC; a write would move the host's. */
	{ MSR_TSC, MSR_PASS_READ },
	/* Emulated: each has a meaning the hypervisor keeps per VM. */
	{ MSR_EFER, MSR_EMULATE },
	{ MSR_APIC_BASE, MSR_EMULATE },
	{ MSR_MISC_ENABLE, MSR_EMULATE },
	{ MSR_TSC_DEADLINE, MSR_EMULATE },
};

enum msr_class msr_classify(uint32_t msr)
{
	for (unsigned i = 0; i < sizeof(policy) / sizeof(policy[0]); i++)
		if (policy[i].msr == msr)
			return policy[i].cls;
	return MSR_GP;
}

/* Byte offset of msr's bit in the read half (low or high range), or -1 if outside both:
 * those always exit. */
static int bit_index(uint32_t msr)
{
	if (msr <= 0x1fffu)
		return (int)msr;
	if (msr >= 0xc0000000u && msr <= 0xc0001fffu)
		return (int)(0x2000u + (msr - 0xc0000000u));
	return -1;
}

void msr_bitmap_build(uint8_t bm[4096])
{
	for (unsigned i = 0; i < 4096; i++)
		bm[i] = 0xff; /* everything exits ... */
	for (unsigned i = 0; i < sizeof(policy) / sizeof(policy[0]); i++) {
		int b = bit_index(policy[i].msr);
		if (b < 0)
			continue;
		/* ... but what runs on the CPU: reads at 0/1024, writes at 2048/3072. */
		if (policy[i].cls == MSR_PASS || policy[i].cls == MSR_PASS_READ)
			bm[b / 8] &= (uint8_t) ~(1u << (b % 8));
		if (policy[i].cls == MSR_PASS)
			bm[2048 + b / 8] &= (uint8_t) ~(1u << (b % 8));
	}
}

int msr_bitmap_exits(const uint8_t bm[4096], uint32_t msr, int write)
{
	int b = bit_index(msr);
	if (b < 0)
		return 1;
	return (bm[(write ? 2048 : 0) + b / 8] >> (b % 8)) & 1;
}

int64_t msr_efer_write(uint64_t old, uint64_t v, int paging)
{
	const uint64_t writable = EFER_SCE | EFER_LME | EFER_NXE;
	if (v & ~(writable | EFER_LMA))
		return -1;
	if (paging && ((v ^ old) & EFER_LME))
		return -1; /* LME may change only with paging off */
	return (int64_t)((v & writable) | (old & EFER_LMA));
}

int msr_apic_base_check(uint64_t v)
{
	/* The one base this platform has, xAPIC mode only (x2APIC is not offered), BSP. The
	 * enable bit may be cleared and set: the emulated APIC_BASE remembers it. */
	if ((v & ~APIC_BASE_ENABLE) != (APIC_BASE_DEFAULT | APIC_BASE_BSP))
		return -1;
	return 0;
}
