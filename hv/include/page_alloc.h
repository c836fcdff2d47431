/* Physical page allocator fed by the boot memory map: one bit per 4 KiB page.
 * Portable: the bitmap is reached through p2v so hosted tests can simulate RAM. */
#ifndef HV_PAGE_ALLOC_H
#define HV_PAGE_ALLOC_H
#include <stdint.h>
#include "boot_info.h"

struct page_alloc {
	uint64_t npages;  /* pages covered: 0 .. npages-1 (physical frame numbers) */
	uint64_t *bitmap; /* 1 = in use or not RAM */
	uint64_t free_pages;
	uint64_t total_pages; /* available pages at init */
	uint64_t hint;	      /* where the next search starts */
	void *(*p2v)(uint64_t phys);
};

struct phys_extent {
	uint64_t base, len;
};

/* Builds the allocator over ranges[] (overlaps allowed: anything not
 * HV_MEM_AVAILABLE wins), keeps out every extent in reserved[] and the bitmap
 * itself (placed in available RAM), and never hands out page 0..min_pfn-1. */
int page_alloc_init(struct page_alloc *pa, const struct hv_mem_range *ranges, unsigned nranges,
		    const struct phys_extent *reserved, unsigned nreserved, uint64_t min_phys,
		    void *(*p2v)(uint64_t phys));
/* Returns a physical address of one zeroed page, or 0 when none is left. */
uint64_t page_alloc_page(struct page_alloc *pa);
/* n contiguous zeroed pages aligned to align_pages (a power of two); 0 on failure. */
uint64_t page_alloc_contig(struct page_alloc *pa, uint64_t n, uint64_t align_pages);
/* Frees pages; freeing a page that is not allocated is reported, not ignored. */
int page_free(struct page_alloc *pa, uint64_t phys);
int page_free_contig(struct page_alloc *pa, uint64_t phys, uint64_t n);
int page_is_allocated(const struct page_alloc *pa, uint64_t phys);

#endif
