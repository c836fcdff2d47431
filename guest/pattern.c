/* Page patterns, checksum and WSET page sets (see pattern.h); also built hosted. */
#include "pattern.h"

/* Two odd multipliers mixed in, then the "lowbias32" finaliser: a change in
 * either input changes about half of the output bits. */
uint32_t pat_hash(uint32_t a, uint32_t b)
{
	uint32_t x = (a * 0x9e3779b1u) ^ (b * 0x85ebca77u) ^ 0x7f4a7c15u;

	x ^= x >> 16;
	x *= 0x7feb352du;
	x ^= x >> 15;
	x *= 0x846ca68bu;
	x ^= x >> 16;
	return x;
}

void pat_fill(uint32_t *page, uint32_t pfn, uint32_t gen)
{
	uint32_t h = pat_hash(pfn, gen);

	for (uint32_t i = 0; i < PAGE_WORDS; i++)
		page[i] = pat_word(pfn, gen, h, i);
}

int pat_check(const uint32_t *page, uint32_t pfn, uint32_t gen, uint32_t *want, uint32_t *got)
{
	uint32_t h = pat_hash(pfn, gen);

	for (uint32_t i = 0; i < PAGE_WORDS; i++) {
		uint32_t w = pat_word(pfn, gen, h, i), g = page[i];

		if (g != w) {
			*want = w;
			*got = g;
			return (int)i;
		}
	}
	return -1;
}

static int contains(const uint32_t *v, uint32_t n, uint32_t x)
{
	for (uint32_t i = 0; i < n; i++)
		if (v[i] == x)
			return 1;
	return 0;
}

void wset_make(uint32_t seed, uint32_t k, uint32_t first_pfn, uint32_t npages, uint32_t n, uint32_t *out)
{
	uint32_t x = pat_hash(seed, k), have = 0;

	/* Rejection sampling keeps the set uniform; insertion keeps it sorted.
	 * n <= npages, so it ends (n <= 64: at worst a coupon collector). */
	while (have < n) {
		uint32_t pfn = first_pfn + pick(lcg_next(&x), npages), j;

		if (contains(out, have, pfn))
			continue;
		for (j = have; j > 0 && out[j - 1] > pfn; j--)
			out[j] = out[j - 1];
		out[j] = pfn;
		have++;
	}
}
