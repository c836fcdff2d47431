/* The few x86 instructions the guest needs (port I/O, RDTSC, VMCALL, HLT) and a
 * 64/32 division, so nothing pulls in libgcc. */
#ifndef GUEST_X86_H
#define GUEST_X86_H
#include <stdint.h>
#include "baremetal/portio.h"

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* "memory": the hypervisor may park us here and anything may change meanwhile. */
static inline uint32_t vmcall(uint32_t nr, uint32_t a1, uint32_t a2)
{
	__asm__ volatile("vmcall" : "+a"(nr) : "b"(a1), "c"(a2) : "memory");
	return nr;
}

static inline void __attribute__((noreturn)) halt_forever(void)
{
	for (;;)
		__asm__ volatile("hlt");
}

/* Two DIVLs; the second cannot overflow because its high half (r) is < d. */
static inline uint64_t div64_32(uint64_t n, uint32_t d, uint32_t *rem)
{
	uint32_t hi = (uint32_t)(n >> 32), lo = (uint32_t)n;
	uint32_t qhi = hi / d, r = hi % d, qlo;

	__asm__("divl %4" : "=a"(qlo), "=d"(r) : "a"(lo), "d"(r), "rm"(d));
	if (rem)
		*rem = r;
	return ((uint64_t)qhi << 32) | qlo;
}

#endif
