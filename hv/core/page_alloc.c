/* Physical page allocator: a bitmap over all frames up to the top of RAM, the
 * memory map decides what is free; allocations come back zeroed. */
#include "page_alloc.h"
#include "hvlib.h"

static inline int bit_get(const uint64_t *bm, uint64_t i) { return (bm[i >> 6] >> (i & 63)) & 1; }
static inline void bit_set(uint64_t *bm, uint64_t i) { bm[i >> 6] |= 1ull << (i & 63); }
static inline void bit_clr(uint64_t *bm, uint64_t i) { bm[i >> 6] &= ~(1ull << (i & 63)); }

static void mark(struct page_alloc *pa, uint64_t base, uint64_t len, int used)
{
	uint64_t first, last;
	if (used) { /* round outward: a partly reserved page is reserved */
		first = base >> PAGE_SHIFT;
		last = (base + len + PAGE_SIZE - 1) >> PAGE_SHIFT;
	} else { /* round inward: only whole pages are free */
		first = (base + PAGE_SIZE - 1) >> PAGE_SHIFT;
		last = (base + len) >> PAGE_SHIFT;
	}
	if (last > pa->npages)
		last = pa->npages;
	for (uint64_t i = first; i < last; i++) {
		if (used && !bit_get(pa->bitmap, i)) {
			bit_set(pa->bitmap, i);
			pa->free_pages--;
		} else if (!used && bit_get(pa->bitmap, i)) {
			bit_clr(pa->bitmap, i);
			pa->free_pages++;
		}
	}
}

static int overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen) { return a < b + blen && b < a + alen; }

int page_alloc_init(struct page_alloc *pa, const struct hv_mem_range *ranges, unsigned nranges,
		    const struct phys_extent *reserved, unsigned nreserved, uint64_t min_phys,
		    void *(*p2v)(uint64_t phys))
{
	uint64_t top = 0;
	memset(pa, 0, sizeof(*pa));
	pa->p2v = p2v;
	for (unsigned i = 0; i < nranges; i++)
		if (ranges[i].type == HV_MEM_AVAILABLE && ranges[i].base + ranges[i].len > top)
			top = ranges[i].base + ranges[i].len;
	if (!top)
		return HV_EINVAL;
	pa->npages = top >> PAGE_SHIFT;
	uint64_t bm_bytes = ALIGN_UP((pa->npages + 63) / 64 * 8, PAGE_SIZE);

	/* The bitmap goes into the first available range above min_phys that can
	 * hold it without touching a reserved extent or a non-available range. */
	uint64_t bm_phys = 0;
	for (unsigned i = 0; i < nranges && !bm_phys; i++) {
		if (ranges[i].type != HV_MEM_AVAILABLE)
			continue;
		uint64_t start = ALIGN_UP(ranges[i].base, PAGE_SIZE);
		if (start < min_phys)
			start = ALIGN_UP(min_phys, PAGE_SIZE);
		uint64_t end = ranges[i].base + ranges[i].len;
		for (uint64_t cand = start; cand + bm_bytes <= end; cand += PAGE_SIZE) {
			int clash = 0;
			for (unsigned r = 0; r < nreserved && !clash; r++)
				if (overlaps(cand, bm_bytes, reserved[r].base, reserved[r].len)) {
					clash = 1;
					cand = ALIGN_DOWN(reserved[r].base + reserved[r].len + PAGE_SIZE - 1,
							  PAGE_SIZE) -
					       PAGE_SIZE;
				}
			for (unsigned j = 0; j < nranges && !clash; j++)
				if (ranges[j].type != HV_MEM_AVAILABLE &&
				    overlaps(cand, bm_bytes, ranges[j].base, ranges[j].len))
					clash = 1;
			if (!clash) {
				bm_phys = cand;
				break;
			}
		}
	}
	if (!bm_phys)
		return HV_ENOMEM;
	pa->bitmap = p2v(bm_phys);
	memset(pa->bitmap, 0xff, bm_bytes);
	pa->free_pages = 0;
	for (unsigned i = 0; i < nranges; i++)
		if (ranges[i].type == HV_MEM_AVAILABLE)
			mark(pa, ranges[i].base, ranges[i].len, 0);
	for (unsigned i = 0; i < nranges; i++)
		if (ranges[i].type != HV_MEM_AVAILABLE)
			mark(pa, ranges[i].base, ranges[i].len, 1);
	for (unsigned r = 0; r < nreserved; r++)
		mark(pa, reserved[r].base, reserved[r].len, 1);
	mark(pa, 0, min_phys, 1);
	mark(pa, bm_phys, bm_bytes, 1);
	pa->total_pages = pa->free_pages;
	return HV_OK;
}

uint64_t page_alloc_contig(struct page_alloc *pa, uint64_t n, uint64_t align_pages)
{
	if (!n || !align_pages || (align_pages & (align_pages - 1)) || n > pa->free_pages)
		return 0;
	for (int pass = 0; pass < 2; pass++) {
		uint64_t i = pass == 0 ? ALIGN_UP(pa->hint, align_pages) : 0;
		uint64_t end = pass == 0 ? pa->npages : pa->hint + n;
		if (end > pa->npages)
			end = pa->npages;
		while (i + n <= end) {
			uint64_t k = 0;
			while (k < n && !bit_get(pa->bitmap, i + k))
				k++;
			if (k == n) {
				for (k = 0; k < n; k++)
					bit_set(pa->bitmap, i + k);
				pa->free_pages -= n;
				pa->hint = i + n;
				memset(pa->p2v(i << PAGE_SHIFT), 0, n << PAGE_SHIFT);
				return i << PAGE_SHIFT;
			}
			i = ALIGN_UP(i + k + 1, align_pages);
		}
	}
	return 0;
}

uint64_t page_alloc_page(struct page_alloc *pa) { return page_alloc_contig(pa, 1, 1); }

int page_free_contig(struct page_alloc *pa, uint64_t phys, uint64_t n)
{
	uint64_t pfn = phys >> PAGE_SHIFT;
	if (phys & (PAGE_SIZE - 1) || pfn + n > pa->npages || pfn + n < pfn)
		return HV_EINVAL;
	for (uint64_t k = 0; k < n; k++)
		if (!bit_get(pa->bitmap, pfn + k))
			return HV_ESTATE; /* double free: refuse the whole call */
	for (uint64_t k = 0; k < n; k++)
		bit_clr(pa->bitmap, pfn + k);
	pa->free_pages += n;
	if (pfn < pa->hint)
		pa->hint = pfn;
	return HV_OK;
}

int page_free(struct page_alloc *pa, uint64_t phys) { return page_free_contig(pa, phys, 1); }

int page_is_allocated(const struct page_alloc *pa, uint64_t phys)
{
	uint64_t pfn = phys >> PAGE_SHIFT;
	return pfn < pa->npages && bit_get(pa->bitmap, pfn);
}
