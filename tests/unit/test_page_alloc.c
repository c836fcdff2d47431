/* Unit tests of the physical page allocator over a simulated memory map
 * (holes, overlapping reserved ranges, reserved extents), RAM in a host arena. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <cmocka.h>
#include "page_alloc.h"
#include "hvlib.h"

#define MiB   (1ull << 20)
#define ARENA (48 * MiB)
static uint8_t *arena;
static void *p2v(uint64_t phys)
{
	assert_true(phys < ARENA);
	return arena + phys;
}

static const struct hv_mem_range map[] = {
	{ 0, 640 * 1024, HV_MEM_AVAILABLE, 0 },
	{ 0xf0000, 0x10000, HV_MEM_RESERVED, 0 },
	{ 1 * MiB, 15 * MiB, HV_MEM_AVAILABLE, 0 },
	{ 4 * MiB + 100, 10, HV_MEM_ACPI, 0 }, /* inside RAM, unaligned: page 0x400 is lost */
	{ 32 * MiB, 16 * MiB, HV_MEM_AVAILABLE, 0 },
	{ 40 * MiB, 1 * MiB, HV_MEM_RESERVED, 0 }, /* overlaps available: reserved wins */
};
static const struct phys_extent image[] = { { 2 * MiB, 300 * 1024 } };

static int setup(void **state)
{
	static struct page_alloc pa;
	arena = malloc(ARENA);
	memset(arena, 0xa5, ARENA); /* allocations must come back zeroed */
	assert_int_equal(page_alloc_init(&pa, map, 6, image, 1, 1 * MiB, p2v), HV_OK);
	*state = &pa;
	return 0;
}
static int teardown(void **state)
{
	(void)state;
	free(arena);
	return 0;
}

static int forbidden(uint64_t p)
{
	return p < 1 * MiB || (p >= 2 * MiB && p < 2 * MiB + 300 * 1024) || p == 4 * MiB ||
	       (p >= 16 * MiB && p < 32 * MiB) || (p >= 40 * MiB && p < 41 * MiB) || p >= 48 * MiB;
}

static void never_hands_out_reserved_memory(void **state)
{
	struct page_alloc *pa = *state;
	uint64_t expect = (15 * MiB - 300 * 1024 - 4096 + 15 * MiB) / 4096; /* minus bitmap below */
	uint64_t free0 = pa->free_pages;
	assert_true(free0 <= expect && free0 > expect - 8); /* the bitmap takes a page or two */
	uint64_t n = 0, p;
	while ((p = page_alloc_page(pa)) != 0) {
		assert_false(forbidden(p));
		assert_int_equal(p & 4095, 0);
		const uint64_t *w = p2v(p);
		for (unsigned i = 0; i < 512; i++)
			assert_int_equal(w[i], 0);
		assert_true(page_is_allocated(pa, p));
		n++;
	}
	assert_int_equal(n, free0);
	assert_int_equal(pa->free_pages, 0);
}

static void contiguous_and_aligned(void **state)
{
	struct page_alloc *pa = *state;
	uint64_t p = page_alloc_contig(pa, 300, 512);
	assert_int_not_equal(p, 0);
	assert_int_equal(p & (2 * MiB - 1), 0);
	for (uint64_t i = 0; i < 300; i++)
		assert_false(forbidden(p + i * 4096));
	/* Too big for any single run of free RAM: refused, nothing leaked. */
	uint64_t before = pa->free_pages;
	assert_int_equal(page_alloc_contig(pa, 20 * MiB / 4096, 1), 0);
	assert_int_equal(pa->free_pages, before);
	assert_int_equal(page_alloc_contig(pa, 4, 3), 0); /* alignment not a power of two */
	assert_int_equal(page_free_contig(pa, p, 300), HV_OK);
	assert_int_equal(pa->free_pages, before + 300);
}

static void frees_are_checked(void **state)
{
	struct page_alloc *pa = *state;
	uint64_t p = page_alloc_page(pa);
	uint64_t before = pa->free_pages;
	assert_int_equal(page_free(pa, p), HV_OK);
	assert_int_equal(page_free(pa, p), HV_ESTATE);	   /* double free refused */
	assert_int_equal(page_free(pa, p + 1), HV_EINVAL); /* not a page address */
	assert_int_equal(page_free(pa, 1ull << 40), HV_EINVAL);
	assert_int_equal(pa->free_pages, before + 1);
	/* The freed page is found again. */
	int seen = 0;
	for (uint64_t q; (q = page_alloc_page(pa)) != 0;)
		seen |= q == p;
	assert_true(seen);
}

static void empty_or_bad_maps(void **state)
{
	(void)state;
	struct page_alloc pa;
	const struct hv_mem_range none[] = { { 0, 1 * MiB, HV_MEM_RESERVED, 0 } };
	assert_int_equal(page_alloc_init(&pa, none, 1, 0, 0, 0, p2v), HV_EINVAL);
	/* RAM exists but all of it is below min_phys: no place for the bitmap. */
	const struct hv_mem_range low[] = { { 0, 512 * 1024, HV_MEM_AVAILABLE, 0 } };
	assert_int_equal(page_alloc_init(&pa, low, 1, 0, 0, 1 * MiB, p2v), HV_ENOMEM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(never_hands_out_reserved_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(contiguous_and_aligned, setup, teardown),
		cmocka_unit_test_setup_teardown(frees_are_checked, setup, teardown),
		cmocka_unit_test_setup_teardown(empty_or_bad_maps, setup, teardown),
	};
	return cmocka_run_group_tests(tests, 0, 0);
}
