/* Unit tests of the EPT builder and walker on real tables in host memory. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <cmocka.h>
#include "ept.h"
#include "hvlib.h"

static int allocs, frees, fail_after = -1;
static uint64_t alloc_page(void *ctx)
{
	(void)ctx;
	if (fail_after == 0)
		return 0;
	if (fail_after > 0)
		fail_after--;
	void *p = aligned_alloc(4096, 4096);
	memset(p, 0, 4096);
	allocs++;
	return (uint64_t)(uintptr_t)p;
}
static void free_page(void *ctx, uint64_t p)
{
	(void)ctx;
	free((void *)(uintptr_t)p);
	frees++;
}
static void *p2v(uint64_t p) { return (void *)(uintptr_t)p; }

static int setup(void **state)
{
	static struct ept e;
	allocs = frees = 0;
	fail_after = -1;
	assert_int_equal(ept_init(&e, alloc_page, free_page, 0, p2v), HV_OK);
	*state = &e;
	return 0;
}
static int teardown(void **state)
{
	ept_destroy(*state);
	assert_int_equal(allocs, frees); /* every table page comes back */
	return 0;
}

static void map_and_translate(void **state)
{
	struct ept *e = *state;
	uint64_t gpas[] = { 0, 0x1000, 0x200000, 0x40000000, 0x7fffff000ull, 0xfffffffff000ull };
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(ept_map_page(e, gpas[i], 0x100000ull * (i + 1), EPT_RWX), HV_OK);
	for (unsigned i = 0; i < 6; i++) {
		uint64_t hpa;
		assert_int_equal(ept_translate(e, gpas[i] + 0x123, &hpa), HV_OK);
		assert_int_equal(hpa, 0x100000ull * (i + 1) + 0x123);
		uint64_t *leaf = ept_leaf(e, gpas[i]);
		assert_non_null(leaf);
		assert_int_equal(*leaf & 7, EPT_RWX);
		assert_int_equal(*leaf & (7 << 3), EPT_MT_WB);
	}
	uint64_t hpa;
	assert_int_equal(ept_translate(e, 0x2000, &hpa), HV_ENOENT);	 /* same table, absent */
	assert_int_equal(ept_translate(e, 0x80000000, &hpa), HV_ENOENT); /* no table at all */
	assert_null(ept_leaf(e, 0x8000000000ull));
	/* PML4, then: 0 and 0x1000 share PDPT+PD+PT (3); 0x200000 a PT (1);
	 * 1 GiB a PD+PT (2); 0x7fffff000 a PD+PT (2); the top page PDPT+PD+PT (3). */
	assert_int_equal(e->table_pages, 1 + 3 + 1 + 2 + 2 + 3);
}

static void rejects_bad_mappings(void **state)
{
	struct ept *e = *state;
	assert_int_equal(ept_map_page(e, 0x1001, 0x2000, EPT_RWX), HV_EINVAL);	   /* unaligned gpa */
	assert_int_equal(ept_map_page(e, 0x1000, 0x2001, EPT_RWX), HV_EINVAL);	   /* unaligned hpa */
	assert_int_equal(ept_map_page(e, 0x1000, 0x2000, 0), HV_EINVAL);	   /* no access */
	assert_int_equal(ept_map_page(e, 0x1000, 0x2000, EPT_W), HV_EINVAL);	   /* write-only: misconfig */
	assert_int_equal(ept_map_page(e, 1ull << 48, 0x2000, EPT_RWX), HV_EINVAL); /* beyond 4 levels */
	assert_int_equal(ept_map_page(e, 0x1000, 1ull << 52, EPT_RWX), HV_EINVAL); /* beyond address width */
	assert_int_equal(ept_map_page(e, 0x1000, 0x2000, EPT_R), HV_OK);
	assert_int_equal(ept_map_page(e, 0x1000, 0x3000, EPT_RWX), HV_EEXIST); /* no silent remap */
	uint64_t hpa;
	assert_int_equal(ept_translate(e, 0x1000, &hpa), HV_OK);
	assert_int_equal(hpa, 0x2000);
}

struct walk {
	uint64_t gpas[16];
	unsigned n;
};
static void collect(void *ctx, uint64_t gpa, uint64_t *entry)
{
	struct walk *w = ctx;
	(void)entry;
	w->gpas[w->n++] = gpa;
}

static void walks_in_order(void **state)
{
	struct ept *e = *state;
	uint64_t in[] = { 0x40000000, 0x3000, 0x1000, 0x8000000000ull - 0x1000, 0x200000 };
	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(ept_map_page(e, in[i], 0x10000 + i * 0x1000, EPT_RWX), HV_OK);
	struct walk w = { { 0 }, 0 };
	ept_for_each_leaf(e, collect, &w);
	uint64_t want[] = { 0x1000, 0x3000, 0x200000, 0x40000000, 0x8000000000ull - 0x1000 };
	assert_int_equal(w.n, 5);
	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(w.gpas[i], want[i]);
}

static void out_of_memory_is_reported(void **state)
{
	struct ept *e = *state;
	fail_after = 1; /* one table page left: the walk needs three */
	assert_int_equal(ept_map_page(e, 0x40000000, 0x1000, EPT_RWX), HV_ENOMEM);
	fail_after = -1;
	assert_int_equal(ept_map_page(e, 0x40000000, 0x1000, EPT_RWX), HV_OK);
}

static void eptp_has_ad_wb_4level(void **state)
{
	struct ept *e = *state;
	uint64_t p = ept_pointer(e);
	assert_int_equal(p & ~0xfffull, e->pml4);
	assert_int_equal(p & 7, 6);	   /* write-back */
	assert_int_equal((p >> 3) & 7, 3); /* walk length 4 */
	assert_int_equal((p >> 6) & 1, 1); /* accessed/dirty flags on */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(map_and_translate, setup, teardown),
		cmocka_unit_test_setup_teardown(rejects_bad_mappings, setup, teardown),
		cmocka_unit_test_setup_teardown(walks_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(out_of_memory_is_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(eptp_has_ad_wb_4level, setup, teardown),
	};
	return cmocka_run_group_tests(tests, 0, 0);
}
