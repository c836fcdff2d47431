/* Lazy x87/SSE state switching: the registers belong to one guest (or to
 * nobody) and are saved into that guest's area only when another guest or
 * host code (crypto) needs them, so plain VM exits cost nothing. */
#include <arch/fpu.h>
#include <arch/cpu.h>
#include "hv.h"
#include "vm.h"

static struct vm *owner;

static void fxsave(void *area) { __asm__ volatile("fxsave64 (%0)" ::"r"(area) : "memory"); }
static void fxrstor(const void *area) { __asm__ volatile("fxrstor64 (%0)" ::"r"(area) : "memory"); }

uint64_t hv_xcr0;

void fpu_init(void)
{
	uint32_t r[4];
	write_cr0((read_cr0() & ~(1ull << 2 | 1ull << 3)) | (1ull << 1)); /* EM=0 TS=0 MP=1 */
	write_cr4(read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT);
	__asm__ volatile("fninit");
	cpuid(1, 0, r);
	if (!(r[2] & (1u << 26)))
		return; /* no XSAVE: crypto falls back to its SSE/AES-NI path */
	write_cr4(read_cr4() | CR4_OSXSAVE);
	cpuid(0xd, 0, r);
	/* x87, SSE, AVX, and the AVX-512 opmask/ZMM state where the CPU has it:
	 * the crypto library picks its path by what is enabled here. Guests never
	 * see XSAVE (CPUID and CR4.OSXSAVE are masked), so XCR0 stays the host's. */
	hv_xcr0 = r[0] & 0xe7;
	if ((hv_xcr0 & 0xe0) != 0xe0)
		hv_xcr0 &= 0x7; /* AVX-512 only with all three of its components */
	__asm__ volatile("xsetbv" ::"c"(0), "a"((uint32_t)hv_xcr0), "d"((uint32_t)(hv_xcr0 >> 32)));
}

void fpu_vm_reset(struct vm *vm)
{
	if (owner == vm)
		owner = 0;
	memset(vm->arch.fxsave, 0, sizeof(vm->arch.fxsave));
	*(uint16_t *)&vm->arch.fxsave[0] = 0x037f;  /* FCW after FNINIT */
	*(uint32_t *)&vm->arch.fxsave[24] = 0x1f80; /* MXCSR at reset */
}

void fpu_load_for(struct vm *vm)
{
	if (owner == vm)
		return;
	if (owner)
		fxsave(owner->arch.fxsave);
	fxrstor(vm->arch.fxsave);
	owner = vm;
}

void fpu_host_begin(void)
{
	if (owner)
		fxsave(owner->arch.fxsave);
	owner = 0;
}

void fpu_sync(struct vm *vm)
{
	if (owner == vm)
		fxsave(vm->arch.fxsave);
}

void fpu_forget(struct vm *vm)
{
	if (owner == vm)
		owner = 0;
}
