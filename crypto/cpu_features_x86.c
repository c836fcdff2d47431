/* CPUID/XGETBV probing. XGETBV is only executed when CPUID says OSXSAVE is set,
 * since it faults (#UD) while CR4.OSXSAVE is clear. */
#include "cpu_features.h"

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ __volatile__("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

void hvc_cpu_detect(struct hvc_cpu *c)
{
	uint32_t r[4], max;
	uint64_t xcr0 = 0;

	*c = (struct hvc_cpu){ 0 };
	cpuid(0, 0, r);
	max = r[0];
	if (max < 1)
		return;
	cpuid(1, 0, r);
	c->pclmul = (r[2] >> 1) & 1;
	c->sse41 = (r[2] >> 19) & 1;
	c->aesni = (r[2] >> 25) & 1;
	c->avx = (r[2] >> 28) & 1;
	c->rdrand = (r[2] >> 30) & 1;
	if ((r[2] >> 27) & 1) { /* OSXSAVE */
		uint32_t lo, hi;
		__asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
		xcr0 = ((uint64_t)hi << 32) | lo;
	}
	c->os_ymm = (xcr0 & 0x6) == 0x6;
	c->os_zmm = (xcr0 & 0xe6) == 0xe6;
	if (max >= 7) {
		cpuid(7, 0, r);
		c->avx2 = (r[1] >> 5) & 1;
		c->bmi2 = (r[1] >> 8) & 1;
		c->avx512f = (r[1] >> 16) & 1;
		c->avx512dq = (r[1] >> 17) & 1;
		c->rdseed = (r[1] >> 18) & 1;
		c->avx512bw = (r[1] >> 30) & 1;
		c->avx512vl = (r[1] >> 31) & 1;
		c->vaes = (r[2] >> 9) & 1;
		c->vpclmul = (r[2] >> 10) & 1;
	}
}
