/* Entropy sources for handshake nonces: an interface so the hypervisor uses RDSEED/RDRAND
 * and hosted tools use getrandom. */
#ifndef HVC_ENTROPY_H
#define HVC_ENTROPY_H
#include <stddef.h>

/* Fills buf with len random bytes; returns HVC_OK or a negative enum hvc_err. */
typedef int (*hvc_entropy_fn)(void *ctx, void *buf, size_t len);

/* RDSEED (preferred) or RDRAND, with a health check; HVC_E_NO_ENTROPY when neither
 * exists, HVC_E_ENTROPY_HEALTH when output is stuck or the instruction keeps failing. */
int hvc_entropy_x86(void *ctx, void *buf, size_t len);
/* getrandom(2); hosted builds only. */
int hvc_entropy_hosted(void *ctx, void *buf, size_t len);

/* Health check on a stream of 64-bit outputs: rejects a value equal to its predecessor
 * (repetition count test, cutoff 2 for 64-bit samples) and all-zero/all-one words. */
struct hvc_rng_health {
	unsigned long long last;
	int have_last;
};
int hvc_rng_health_check(struct hvc_rng_health *h, unsigned long long v);
#endif
