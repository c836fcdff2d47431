/* The migration's bandwidth cap: a token bucket in front of the stream. The engine sends
 * only what the bucket allows, so a cap looks to it like a slower link and its bandwidth
 * estimate and predictions follow. Pure logic over the caller's clock (unit-tested). */
#ifndef HV_MIG_BUCKET_H
#define HV_MIG_BUCKET_H
#include <stdint.h>

struct mig_bucket {
	uint64_t tokens, last_ns;
};

void mig_bucket_reset(struct mig_bucket *b);
/* Bytes that may be sent now at rate_Bps (bytes per second; 0: no cap, UINT64_MAX).
 * The depth is min_depth + a tenth of a second at the rate: at least the largest frame,
 * or the engine would wait forever. */
uint64_t mig_bucket_room(struct mig_bucket *b, uint64_t now_ns, uint64_t rate_Bps, uint64_t min_depth);
/* n bytes were sent (no-op without a cap). */
void mig_bucket_take(struct mig_bucket *b, uint64_t n, uint64_t rate_Bps);

#endif
