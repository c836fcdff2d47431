/* Dirty set by EPT accessed/dirty scan: walk the leaves, harvest D, clear A/D.
 * Real CPUs cache A/D state in the TLB, so the caller must INVEPT afterwards. */
#include "dirty.h"
#include "hvlib.h"

struct scan {
	uint64_t *out, npages, count;
};

static void scan_leaf(void *ctx, uint64_t gpa, uint64_t *entry)
{
	struct scan *s = ctx;
	uint64_t pfn = gpa >> PAGE_SHIFT;
	uint64_t v = *entry;
	if (!(v & EPT_D))
		return;
	/* An atomic AND: a concurrent CPU could set D between read and write. */
	__atomic_fetch_and(entry, ~(EPT_A | EPT_D), __ATOMIC_SEQ_CST);
	if (pfn < s->npages) {
		s->out[pfn >> 6] |= 1ull << (pfn & 63);
		s->count++;
	}
}

uint64_t dirty_ad_scan(struct ept *e, uint64_t *out, uint64_t npages)
{
	struct scan s = { out, npages, 0 };
	ept_for_each_leaf(e, scan_leaf, &s);
	return s.count;
}

void dirty_clear_pages(struct ept *e, const uint64_t *bits, uint64_t npages)
{
	for (uint64_t w = 0; w < dirty_bitmap_words(npages); w++) {
		uint64_t m = bits[w];
		while (m) {
			unsigned b = (unsigned)__builtin_ctzll(m);
			m &= m - 1;
			uint64_t *leaf = ept_leaf(e, ((w << 6) + b) << PAGE_SHIFT);
			if (leaf)
				__atomic_fetch_and(leaf, ~(EPT_A | EPT_D), __ATOMIC_SEQ_CST);
		}
	}
}
