/* The guest's deterministic data: page contents as a function of (pfn, gen), the
 * page-choice LCG, the running checksum and the WSET page sets. Pure code, so a
 * hosted test (and guest/model.py) can recompute what the guest prints. */
#ifndef GUEST_PATTERN_H
#define GUEST_PATTERN_H
#include <stdint.h>

#define PAGE_SIZE  4096u
#define PAGE_WORDS 1024u

uint32_t pat_hash(uint32_t a, uint32_t b);

/* Word i of page pfn at generation gen; h must be pat_hash(pfn, gen). */
static inline uint32_t pat_word(uint32_t pfn, uint32_t gen, uint32_t h, uint32_t i)
{
	if (i == 0)
		return pfn;
	if (i == 1)
		return gen;
	return h ^ (i * 0x9e3779b1u);
}

void pat_fill(uint32_t *page, uint32_t pfn, uint32_t gen);
/* Returns the first wrong word's index and fills *want and *got, or -1 if all match. */
int pat_check(const uint32_t *page, uint32_t pfn, uint32_t gen, uint32_t *want, uint32_t *got);

static inline uint32_t lcg_next(uint32_t *x)
{
	*x = *x * 1664525u + 1013904223u;
	return *x;
}

/* Maps x to 0..n-1 by its high bits (the LCG's low bits are weak). */
static inline uint32_t pick(uint32_t x, uint32_t n) { return (uint32_t)(((uint64_t)x * n) >> 32); }

static inline uint32_t sum_update(uint32_t sum, uint32_t pfn, uint32_t gen)
{
	return (sum ^ pat_hash(pfn, gen)) * 0x01000193u;
}

#define WSET_MAX 64u
/* Fills out[0..n-1] with n distinct pfns from first_pfn..first_pfn+npages-1,
 * ascending, determined by (seed, k). Needs n <= npages and n <= WSET_MAX. */
void wset_make(uint32_t seed, uint32_t k, uint32_t first_pfn, uint32_t npages, uint32_t n, uint32_t *out);

#endif
