/* Unit tests of the hypervisor migration service's pure parts: the bandwidth bucket, the
 * buffer layout and its wiping, and the one error vocabulary (lossless, every code named). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "hvc_channel.h"
#include "hvc_err.h"
#include "hvlib.h"
#include "mig.h"
#include "mig_bucket.h"
#include "mig_bufs.h"
#include "mig_err.h"
#include "page_alloc.h"

#define MS 1000000ull

static void bucket_without_cap_is_unbounded(void **state)
{
	(void)state;
	struct mig_bucket b;
	mig_bucket_reset(&b);
	assert_true(mig_bucket_room(&b, 5 * MS, 0, 1000) == ~0ull);
	mig_bucket_take(&b, 1u << 30, 0);
	assert_true(mig_bucket_room(&b, 6 * MS, 0, 1000) == ~0ull);
}

static void bucket_refills_at_the_rate_up_to_its_depth(void **state)
{
	(void)state;
	const uint64_t rate = 1000000; /* 1 MB/s: 1000 bytes per ms */
	struct mig_bucket b;
	mig_bucket_reset(&b);
	assert_int_equal(mig_bucket_room(&b, 100 * MS, rate, 5000), 0); /* starts empty */
	assert_int_equal(mig_bucket_room(&b, 101 * MS, rate, 5000), 1000);
	mig_bucket_take(&b, 600, rate);
	assert_int_equal(mig_bucket_room(&b, 101 * MS, rate, 5000), 400);
	mig_bucket_take(&b, 9999, rate); /* more than it holds: empty, never negative */
	assert_int_equal(mig_bucket_room(&b, 101 * MS, rate, 5000), 0);
	/* A long pause fills it to the depth only: min_depth + 100 ms at the rate. */
	assert_int_equal(mig_bucket_room(&b, 10000 * MS, rate, 5000), 5000 + rate / 10);
	/* A clock that goes back adds nothing. */
	assert_int_equal(mig_bucket_room(&b, 50 * MS, rate, 5000), 5000 + rate / 10);
}

static void buffers_are_disjoint_aligned_and_inside(void **state)
{
	(void)state;
	static const uint64_t guests[] = { 0, 1, 4096, 262144 };
	for (unsigned g = 0; g < 4; g++) {
		uint64_t pages = mig_bufs_pages(guests[g]);
		uint8_t *mem = aligned_alloc(4096, pages * 4096);
		struct mig_bufset b;
		memset(&b, 0, sizeof(b));
		mig_bufs_carve(&b, mem, guests[g]);
		assert_int_equal(b.pages, pages);
		assert_int_equal(b.msg_len, MIG_MSG_BUF_SIZE(MIG_BATCH));
		assert_int_equal(b.txbuf_len, b.msg_len + HVC_FRAME_OVERHEAD);
		struct {
			uint8_t *p;
			size_t len;
		} r[] = {
			{ b.msg, b.msg_len },
			{ b.txbuf, b.txbuf_len },
			{ b.state, MIG_STATE_MAX },
			{ b.ctl, MIG_CTL_LEN },
			{ b.ks_tx, b.ks_len },
			{ b.ks_rx, b.ks_len },
			{ (uint8_t *)b.bitmap, MIG_BITMAP_WORDS(guests[g]) * 8 },
		};
		for (unsigned i = 0; i < 7; i++) {
			assert_true(r[i].p >= mem && r[i].p + r[i].len <= mem + pages * 4096);
			assert_int_equal((uintptr_t)r[i].p % 8, 0);
			for (unsigned j = 0; j < i; j++)
				assert_true(r[i].p + r[i].len <= r[j].p || r[j].p + r[j].len <= r[i].p);
		}
		assert_int_equal((uintptr_t)b.msg % 64, 0);
		assert_int_equal((uintptr_t)b.txbuf % 64, 0);
		assert_int_equal((uintptr_t)b.ks_tx % 64, 0);
		free(mem);
	}
}

#define ARENA (8ull << 20)
static uint8_t *arena;
static void *p2v(uint64_t phys)
{
	assert_true(phys < ARENA);
	return arena + phys;
}

static void buffers_are_wiped_and_returned(void **state)
{
	(void)state;
	static const struct hv_mem_range map[] = { { 1 << 20, ARENA - (1 << 20), HV_MEM_AVAILABLE, 0 } };
	struct page_alloc pa;
	arena = calloc(1, ARENA);
	assert_int_equal(page_alloc_init(&pa, map, 1, 0, 0, 1 << 20, p2v), HV_OK);
	uint64_t free0 = pa.free_pages;
	struct mig_bufset b;
	memset(&b, 0, sizeof(b));
	assert_int_equal(mig_bufs_alloc(&b, &pa, 1000), HV_OK);
	assert_int_equal(pa.free_pages, free0 - b.pages);
	uint64_t phys = b.phys, pages = b.pages;
	memset(arena + phys, 0x5a, pages * 4096); /* guest pages and keys in clear */
	mig_bufs_free(&b, &pa);
	assert_int_equal(pa.free_pages, free0);
	for (uint64_t i = 0; i < pages * 4096; i++)
		assert_int_equal(arena[phys + i], 0);
	assert_int_equal(b.phys, 0);
	mig_bufs_free(&b, &pa); /* an empty set: nothing happens */
	assert_int_equal(pa.free_pages, free0);
	/* Too big for the arena: refused, nothing taken. */
	assert_int_equal(mig_bufs_alloc(&b, &pa, 1ull << 40), HV_ENOMEM);
	assert_int_equal(pa.free_pages, free0);
	free(arena);
}

static void every_engine_and_channel_code_keeps_its_name(void **state)
{
	(void)state;
	static const int hv_codes[] = { HV_OK,	    HV_ENOMEM, HV_EINVAL, HV_ENOENT, HV_ESTATE,
					HV_ENOTSUP, HV_EEXIST, HV_ERANGE, HV_EHW,    HV_EBUSY };
	for (int e = MIG_E_LAST; e < 0; e++) {
		int hv = hv_err_from_mig(e);
		assert_string_equal(hv_strerror(hv), mig_strerror(e));
		for (unsigned i = 0; i < ARRAY_SIZE(hv_codes); i++)
			assert_int_not_equal(hv, hv_codes[i]);
		for (int h = HVC_E_LAST; h < 0; h++)
			assert_int_not_equal(hv, hv_err_from_hvc(h));
	}
	for (int h = HVC_E_LAST; h < 0; h++) {
		assert_string_equal(hv_strerror(hv_err_from_hvc(h)), hvc_strerror(h));
		assert_string_not_equal(hv_strerror(hv_err_from_hvc(h)), "unknown error");
	}
	assert_int_equal(hv_err_from_mig(MIG_OK), HV_OK);
	assert_int_equal(hv_err_from_hvc(HVC_OK), HV_OK);
	assert_string_equal(hv_strerror(HV_E_MIG_BASE + MIG_E_LAST - 1), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bucket_without_cap_is_unbounded),
		cmocka_unit_test(bucket_refills_at_the_rate_up_to_its_depth),
		cmocka_unit_test(buffers_are_disjoint_aligned_and_inside),
		cmocka_unit_test(buffers_are_wiped_and_returned),
		cmocka_unit_test(every_engine_and_channel_code_keeps_its_name),
	};
	return cmocka_run_group_tests(tests, 0, 0);
}
