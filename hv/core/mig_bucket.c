/* Token bucket for the migration's bandwidth cap (see mig_bucket.h). */
#include "mig_bucket.h"

void mig_bucket_reset(struct mig_bucket *b)
{
	b->tokens = 0;
	b->last_ns = 0;
}

uint64_t mig_bucket_room(struct mig_bucket *b, uint64_t now_ns, uint64_t rate_Bps, uint64_t min_depth)
{
	if (!rate_Bps)
		return ~0ull;
	uint64_t depth = min_depth + rate_Bps / 10;
	if (b->last_ns && now_ns > b->last_ns)
		b->tokens += (now_ns - b->last_ns) / 1000 * rate_Bps / 1000000;
	b->last_ns = now_ns;
	if (b->tokens > depth)
		b->tokens = depth;
	return b->tokens;
}

void mig_bucket_take(struct mig_bucket *b, uint64_t n, uint64_t rate_Bps)
{
	if (rate_Bps)
		b->tokens = b->tokens > n ? b->tokens - n : 0;
}
