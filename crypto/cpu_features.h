/* Run-time CPU feature detection (CPUID + XGETBV) used to pick a GCM implementation
 * and to find a hardware RNG. */
#ifndef HVC_CPU_FEATURES_H
#define HVC_CPU_FEATURES_H
#include <stdint.h>

struct hvc_cpu {
	unsigned aesni : 1, pclmul : 1, sse41 : 1, avx : 1, avx2 : 1, bmi2 : 1;
	unsigned avx512f : 1, avx512bw : 1, avx512vl : 1, avx512dq : 1;
	unsigned vaes : 1, vpclmul : 1, rdrand : 1, rdseed : 1;
	/* OS (or hypervisor) enabled the state in XCR0 */
	unsigned os_ymm : 1, os_zmm : 1;
};

void hvc_cpu_detect(struct hvc_cpu *c);
#endif
