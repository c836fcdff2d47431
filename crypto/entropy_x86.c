/* RDSEED/RDRAND entropy with a health check, usable inside the hypervisor (no libc). */
#include "entropy.h"
#include "cpu_features.h"
#include "hvc_err.h"
#include "mem_secure.h"

int hvc_rng_health_check(struct hvc_rng_health *h, unsigned long long v)
{
	if (v == 0 || v == ~0ULL)
		return HVC_E_ENTROPY_HEALTH;
	if (h->have_last && v == h->last)
		return HVC_E_ENTROPY_HEALTH;
	h->last = v;
	h->have_last = 1;
	return HVC_OK;
}

static int rdseed64(unsigned long long *v)
{
	unsigned char ok;
	__asm__ __volatile__("rdseed %0; setc %1" : "=r"(*v), "=qm"(ok) : : "cc");
	return ok;
}

static int rdrand64(unsigned long long *v)
{
	unsigned char ok;
	__asm__ __volatile__("rdrand %0; setc %1" : "=r"(*v), "=qm"(ok) : : "cc");
	return ok;
}

int hvc_entropy_x86(void *ctx, void *buf, size_t len)
{
	struct hvc_cpu c;
	struct hvc_rng_health h = { 0 };
	uint8_t *out = buf;
	(void)ctx;

	hvc_cpu_detect(&c);
	if (!c.rdseed && !c.rdrand)
		return HVC_E_NO_ENTROPY;
	while (len) {
		unsigned long long v = 0;
		int ok = 0;
		/* RDSEED may transiently underflow; Intel's guidance is to retry, then fall back
		 * to RDRAND (itself reseeded from the same conditioner). */
		for (int i = 0; c.rdseed && i < 100 && !ok; i++)
			ok = rdseed64(&v);
		for (int i = 0; c.rdrand && i < 10 && !ok; i++)
			ok = rdrand64(&v);
		if (!ok || hvc_rng_health_check(&h, v) != HVC_OK) {
			hvc_zero(&v, sizeof(v));
			hvc_zero(&h, sizeof(h));
			return HVC_E_ENTROPY_HEALTH;
		}
		size_t n = len < 8 ? len : 8;
		memcpy(out, &v, n);
		out += n;
		len -= n;
		hvc_zero(&v, sizeof(v));
	}
	hvc_zero(&h, sizeof(h));
	return HVC_OK;
}
