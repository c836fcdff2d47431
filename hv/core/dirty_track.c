/* The method-independent dirty-tracking interface over the A/D scan and PML. */
#include "dirty.h"
#include "hvlib.h"

const char *dirty_method_name(enum dirty_method m)
{
	switch (m) {
	case DIRTY_AD: return "ad";
	case DIRTY_PML: return "pml";
	default: return "none";
	}
}

static uint64_t popcount_bits(const uint64_t *bits, uint64_t npages)
{
	uint64_t n = 0;
	for (uint64_t w = 0; w < dirty_bitmap_words(npages); w++)
		for (uint64_t m = bits[w]; m; m &= m - 1)
			n++; /* no POPCNT assumption: the core runs on any x86-64 */
	return n;
}

uint64_t dirty_collect(struct dirty_tracker *t, uint64_t *out)
{
	uint64_t words = dirty_bitmap_words(t->npages), n = 0;
	memset(out, 0, words * 8);
	if (t->method == DIRTY_AD) {
		n = dirty_ad_scan(t->ept, out, t->npages);
	} else if (t->method == DIRTY_PML) {
		memcpy(out, t->accum, words * 8);
		memset(t->accum, 0, words * 8);
		/* D must be clear again or the CPU will not log the next write. */
		dirty_clear_pages(t->ept, out, t->npages);
		n = popcount_bits(out, t->npages);
	}
	if (t->flush)
		t->flush(t->flush_ctx);
	return n;
}

void dirty_set_method(struct dirty_tracker *t, enum dirty_method m)
{
	uint64_t words = dirty_bitmap_words(t->npages);
	/* Start from a clean slate: every D bit cleared, nothing accumulated. */
	memset(t->accum, 0, words * 8);
	for (uint64_t w = 0; w < words; w++)
		t->accum[w] = ~0ull;
	dirty_clear_pages(t->ept, t->accum, t->npages);
	memset(t->accum, 0, words * 8);
	if (t->flush)
		t->flush(t->flush_ctx);
	t->method = m;
}
