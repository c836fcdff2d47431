/* Unit tests of dirty-set extraction by EPT A/D scan and by the PML log, on
 * simulated tables: D bits and log entries are set the way the CPU would. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <cmocka.h>
#include "dirty.h"
#include "hvlib.h"

#define NPAGES 1024 /* 4 MiB guest */

static uint64_t alloc_page(void *ctx)
{
	(void)ctx;
	void *p = aligned_alloc(4096, 4096);
	memset(p, 0, 4096);
	return (uint64_t)(uintptr_t)p;
}
static void free_page(void *ctx, uint64_t p)
{
	(void)ctx;
	free((void *)(uintptr_t)p);
}
static void *p2v(uint64_t p) { return (void *)(uintptr_t)p; }

struct fixture {
	struct ept ept;
	struct dirty_tracker t;
	uint64_t accum[NPAGES / 64], out[NPAGES / 64];
	uint64_t log[PML_ENTRIES];
	int flushes;
};

static void flush(void *ctx) { ((struct fixture *)ctx)->flushes++; }

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_int_equal(ept_init(&f->ept, alloc_page, free_page, 0, p2v), HV_OK);
	for (uint64_t i = 0; i < NPAGES; i++)
		assert_int_equal(ept_map_page(&f->ept, i << 12, 0x100000000ull + (i << 12), EPT_RWX), HV_OK);
	f->t.ept = &f->ept;
	f->t.npages = NPAGES;
	f->t.accum = f->accum;
	f->t.pml_log = f->log;
	f->t.flush = flush;
	f->t.flush_ctx = f;
	*state = f;
	return 0;
}
static int teardown(void **state)
{
	struct fixture *f = *state;
	ept_destroy(&f->ept);
	free(f);
	return 0;
}

/* What the CPU does on a guest write: A and D in the leaf, and with PML on,
 * a log entry when D goes from 0 to 1 (Bochs writes the unaligned GPA). */
static void guest_write(struct fixture *f, uint64_t gpa, int pml, uint16_t *index)
{
	uint64_t *leaf = ept_leaf(&f->ept, gpa & ~0xfffull);
	assert_non_null(leaf);
	int was_dirty = (*leaf & EPT_D) != 0;
	*leaf |= EPT_A | EPT_D;
	if (pml && !was_dirty) {
		assert_true(*index < PML_ENTRIES);
		f->log[*index] = gpa;
		*index = (uint16_t)(*index - 1);
	}
}
static void guest_read(struct fixture *f, uint64_t gpa) { *ept_leaf(&f->ept, gpa & ~0xfffull) |= EPT_A; }

static int bit(const uint64_t *bm, uint64_t pfn) { return (bm[pfn >> 6] >> (pfn & 63)) & 1; }

static void assert_set(const uint64_t *bm, const uint64_t *pfns, unsigned n)
{
	unsigned count = 0;
	for (uint64_t p = 0; p < NPAGES; p++)
		count += (unsigned)bit(bm, p);
	assert_int_equal(count, n);
	for (unsigned i = 0; i < n; i++)
		assert_true(bit(bm, pfns[i]));
}

static void ad_scan_exact_and_resets(void **state)
{
	struct fixture *f = *state;
	f->t.method = DIRTY_AD;
	uint64_t written[] = { 0, 5, 63, 64, 511, 512, 1023 };
	for (unsigned i = 0; i < 7; i++)
		guest_write(f, (written[i] << 12) + 0x10 * i, 0, 0);
	guest_read(f, 7 << 12); /* read-only access: A=1 D=0, not dirty */
	assert_int_equal(dirty_collect(&f->t, f->out), 7);
	assert_set(f->out, written, 7);
	assert_int_equal(f->flushes, 1); /* INVEPT after clearing, every time */
	for (unsigned i = 0; i < 7; i++)
		assert_int_equal(*ept_leaf(&f->ept, written[i] << 12) & (EPT_A | EPT_D), 0);
	/* Second interval: only what was written since. */
	guest_write(f, 5 << 12, 0, 0);
	assert_int_equal(dirty_collect(&f->t, f->out), 1);
	uint64_t again[] = { 5 };
	assert_set(f->out, again, 1);
	assert_int_equal(dirty_collect(&f->t, f->out), 0);
}

static void pml_drain_masks_and_counts(void **state)
{
	struct fixture *f = *state;
	f->t.method = DIRTY_PML;
	uint16_t index = PML_ENTRIES - 1;
	/* An empty log (index 511) yields nothing. */
	assert_int_equal(dirty_pml_drain(&f->t, index), 0);
	guest_write(f, 0x3abc, 1, &index);
	guest_write(f, 0x3fff, 1, &index); /* same page: D already set, not logged */
	guest_write(f, 0x10008, 1, &index);
	guest_write(f, (1023ull << 12) + 4095, 1, &index);
	assert_int_equal(index, PML_ENTRIES - 4);
	assert_int_equal(dirty_pml_drain(&f->t, index), 3);
	assert_int_equal(dirty_collect(&f->t, f->out), 3);
	uint64_t want[] = { 3, 0x10, 1023 };
	assert_set(f->out, want, 3);
	/* collect cleared D on those pages, so the next write logs again. */
	index = PML_ENTRIES - 1;
	guest_write(f, 0x3000, 1, &index);
	assert_int_equal(index, PML_ENTRIES - 2);
	assert_int_equal(dirty_pml_drain(&f->t, index), 1);
	assert_int_equal(dirty_collect(&f->t, f->out), 1);
}

static void pml_full_log_and_stray_entries(void **state)
{
	struct fixture *f = *state;
	f->t.method = DIRTY_PML;
	/* A full log: the index wrapped to 0xffff, all 512 entries valid. */
	for (unsigned i = 0; i < PML_ENTRIES; i++)
		f->log[i] = ((uint64_t)(i * 2) << 12) | 0x8;
	f->log[7] = 5000ull << 12; /* outside guest RAM: counted, never a set bit */
	assert_int_equal(dirty_pml_drain(&f->t, 0xffff), PML_ENTRIES);
	assert_int_equal(f->t.stray, 1);
	assert_int_equal(dirty_collect(&f->t, f->out), PML_ENTRIES - 1);
	for (unsigned i = 0; i < PML_ENTRIES; i++)
		assert_int_equal(bit(f->out, i * 2), i != 7);
	assert_false(bit(f->out, 1));
}

static void pml_full_exits_accumulate(void **state)
{
	struct fixture *f = *state;
	f->t.method = DIRTY_PML;
	uint16_t index = PML_ENTRIES - 1;
	/* 700 distinct pages: the log fills once (PML-full exit), is drained,
	 * and the rest is drained at collect time. */
	uint64_t n = 0;
	for (uint64_t p = 0; p < 700; p++) {
		if (index >= PML_ENTRIES) {
			dirty_pml_drain(&f->t, index);
			index = PML_ENTRIES - 1;
		}
		guest_write(f, p << 12, 1, &index);
		n++;
	}
	dirty_pml_drain(&f->t, index);
	assert_int_equal(dirty_collect(&f->t, f->out), n);
}

static void method_switch_starts_clean(void **state)
{
	struct fixture *f = *state;
	f->t.method = DIRTY_AD;
	guest_write(f, 9 << 12, 0, 0);
	dirty_set_method(&f->t, DIRTY_PML);
	assert_int_equal(f->t.method, DIRTY_PML);
	assert_int_equal(*ept_leaf(&f->ept, 9 << 12) & EPT_D, 0);
	assert_int_equal(dirty_collect(&f->t, f->out), 0);
	assert_string_equal(dirty_method_name(DIRTY_PML), "pml");
	assert_string_equal(dirty_method_name(DIRTY_AD), "ad");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(ad_scan_exact_and_resets, setup, teardown),
		cmocka_unit_test_setup_teardown(pml_drain_masks_and_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(pml_full_log_and_stray_entries, setup, teardown),
		cmocka_unit_test_setup_teardown(pml_full_exits_accumulate, setup, teardown),
		cmocka_unit_test_setup_teardown(method_switch_starts_clean, setup, teardown),
	};
	return cmocka_run_group_tests(tests, 0, 0);
}
