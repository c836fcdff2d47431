/* Unit tests of the guest MSR policy (hv/arch/x86/msr_policy.c): classes, the VMX MSR bitmap, EFER and APIC_BASE. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arch/msr_policy.h>

static const struct {
	uint32_t msr;
	enum msr_class cls;
} listed[] = {
	{ 0xc0000100, MSR_PASS },    /* FS_BASE */
	{ 0xc0000101, MSR_PASS },    /* GS_BASE */
	{ 0x174, MSR_PASS },	     /* SYSENTER_CS */
	{ 0x175, MSR_PASS },	     /* SYSENTER_ESP */
	{ 0x176, MSR_PASS },	     /* SYSENTER_EIP */
	{ 0x277, MSR_PASS },	     /* PAT */
	{ 0xc0000081, MSR_PASS },    /* STAR */
	{ 0xc0000082, MSR_PASS },    /* LSTAR */
	{ 0xc0000083, MSR_PASS },    /* CSTAR */
	{ 0xc0000084, MSR_PASS },    /* SFMASK */
	{ 0xc0000102, MSR_PASS },    /* KERNEL_GS_BASE */
	{ 0xc0000103, MSR_PASS },    /* TSC_AUX */
	{ 0x10, MSR_PASS_READ },     /* TSC */
	{ 0xc0000080, MSR_EMULATE }, /* EFER */
	{ 0x1b, MSR_EMULATE },	     /* APIC_BASE */
	{ 0x1a0, MSR_EMULATE },	     /* MISC_ENABLE */
	{ 0x6e0, MSR_EMULATE },	     /* TSC_DEADLINE */
};
#define NLISTED (sizeof(listed) / sizeof(listed[0]))

static const uint32_t unlisted[] = {
	0x0,	    0x3a,	0x8b,	    0xfe,   0x179,	0x1a6,	    0x1d9,	0x345,
	0x38d,	    0x480,	0x600,	    0x6e1,  0x802,	0x1fff,	    0xc0000085, 0xc0000104,
	0xc0001fff, 0xc0010000, 0x40000000, 0x2000, 0xbfffffff, 0xc0002000, 0xffffffff,
};
#define NUNLISTED (sizeof(unlisted) / sizeof(unlisted[0]))

/* The SDM's layout (24.6.9), computed here independently of the code under test. */
static int sdm_bit(const uint8_t bm[4096], uint32_t msr, int write)
{
	unsigned base, off;
	if (msr <= 0x1fff) {
		base = write ? 2048 : 0;
		off = msr;
	} else {
		assert_true(msr >= 0xc0000000 && msr <= 0xc0001fff);
		base = write ? 3072 : 1024;
		off = msr - 0xc0000000;
	}
	return (bm[base + off / 8] >> (off % 8)) & 1;
}

static void every_listed_msr_has_its_class(void **state)
{
	(void)state;
	for (unsigned i = 0; i < NLISTED; i++)
		assert_int_equal(msr_classify(listed[i].msr), listed[i].cls);
	/* the header's names are the same numbers */
	assert_int_equal(msr_classify(MSR_TSC), MSR_PASS_READ);
	assert_int_equal(msr_classify(MSR_EFER), MSR_EMULATE);
	assert_int_equal(msr_classify(MSR_LSTAR), MSR_PASS);
}

static void unlisted_msrs_are_gp(void **state)
{
	(void)state;
	for (unsigned i = 0; i < NUNLISTED; i++)
		assert_int_equal(msr_classify(unlisted[i]), MSR_GP);
}

static void bitmap_lets_pass_through_msrs_run_both_ways(void **state)
{
	(void)state;
	uint8_t bm[4096];
	msr_bitmap_build(bm);
	for (unsigned i = 0; i < NLISTED; i++) {
		if (listed[i].cls != MSR_PASS)
			continue;
		assert_int_equal(msr_bitmap_exits(bm, listed[i].msr, 0), 0);
		assert_int_equal(msr_bitmap_exits(bm, listed[i].msr, 1), 0);
	}
}

static void bitmap_lets_tsc_reads_run_but_writes_exit(void **state)
{
	(void)state;
	uint8_t bm[4096];
	msr_bitmap_build(bm);
	assert_int_equal(msr_bitmap_exits(bm, MSR_TSC, 0), 0);
	assert_int_equal(msr_bitmap_exits(bm, MSR_TSC, 1), 1);
}

static void bitmap_makes_emulated_msrs_exit_both_ways(void **state)
{
	(void)state;
	static const uint32_t emulated[] = { MSR_EFER, MSR_APIC_BASE, MSR_MISC_ENABLE, MSR_TSC_DEADLINE };
	uint8_t bm[4096];
	msr_bitmap_build(bm);
	for (unsigned i = 0; i < sizeof(emulated) / sizeof(emulated[0]); i++) {
		assert_int_equal(msr_bitmap_exits(bm, emulated[i], 0), 1);
		assert_int_equal(msr_bitmap_exits(bm, emulated[i], 1), 1);
	}
}

static void bitmap_makes_unlisted_msrs_exit(void **state)
{
	(void)state;
	uint8_t bm[4096];
	msr_bitmap_build(bm);
	for (unsigned i = 0; i < NUNLISTED; i++) {
		assert_int_equal(msr_bitmap_exits(bm, unlisted[i], 0), 1);
		assert_int_equal(msr_bitmap_exits(bm, unlisted[i], 1), 1);
	}
}

static void msrs_outside_both_ranges_always_exit(void **state)
{
	(void)state;
	static const uint32_t outside[] = { 0x2000,	0x40000000, 0x4b564d00, 0x80000000,
					    0xbfffffff, 0xc0002000, 0xc0010000, 0xffffffff };
	uint8_t none[4096] = { 0 }; /* a bitmap that exits on nothing it covers */
	uint8_t bm[4096];
	msr_bitmap_build(bm);
	for (unsigned i = 0; i < sizeof(outside) / sizeof(outside[0]); i++) {
		assert_int_equal(msr_bitmap_exits(none, outside[i], 0), 1);
		assert_int_equal(msr_bitmap_exits(none, outside[i], 1), 1);
		assert_int_equal(msr_bitmap_exits(bm, outside[i], 0), 1);
		assert_int_equal(msr_bitmap_exits(bm, outside[i], 1), 1);
	}
	/* the range edges are inside */
	assert_int_equal(msr_bitmap_exits(none, 0x1fff, 1), 0);
	assert_int_equal(msr_bitmap_exits(none, 0xc0000000, 0), 0);
	assert_int_equal(msr_bitmap_exits(none, 0xc0001fff, 1), 0);
}

static void bitmap_layout_follows_the_sdm(void **state)
{
	(void)state;
	uint8_t bm[4096];
	msr_bitmap_build(bm);
	/* LSTAR: read-high bitmap at 1024, write-high at 3072 */
	assert_int_equal((bm[1024 + 0x82 / 8] >> (0x82 % 8)) & 1, 0);
	assert_int_equal((bm[3072 + 0x82 / 8] >> (0x82 % 8)) & 1, 0);
	/* TSC: read-low at 0 clear, write-low at 2048 set */
	assert_int_equal((bm[0x10 / 8] >> (0x10 % 8)) & 1, 0);
	assert_int_equal((bm[2048 + 0x10 / 8] >> (0x10 % 8)) & 1, 1);
	/* PAT: low range, both clear */
	assert_int_equal((bm[0x277 / 8] >> (0x277 % 8)) & 1, 0);
	assert_int_equal((bm[2048 + 0x277 / 8] >> (0x277 % 8)) & 1, 0);
	/* EFER: high range, both set */
	assert_int_equal((bm[1024 + 0x80 / 8] >> (0x80 % 8)) & 1, 1);
	assert_int_equal((bm[3072 + 0x80 / 8] >> (0x80 % 8)) & 1, 1);
	/* each listed MSR's bits are where the SDM puts them, with the class's meaning */
	for (unsigned i = 0; i < NLISTED; i++) {
		assert_int_equal(sdm_bit(bm, listed[i].msr, 0), listed[i].cls == MSR_EMULATE);
		assert_int_equal(sdm_bit(bm, listed[i].msr, 1), listed[i].cls != MSR_PASS);
	}
	/* and nothing else is clear: 12 pass-through MSRs twice, the TSC's read once */
	unsigned clear = 0;
	for (unsigned i = 0; i < 4096; i++)
		for (unsigned b = 0; b < 8; b++)
			clear += !((bm[i] >> b) & 1);
	assert_int_equal(clear, 2 * 12 + 1);
}

static void bitmap_exits_reads_the_sdm_layout(void **state)
{
	(void)state;
	uint8_t bm[4096];
	for (unsigned i = 0; i < 4096; i++)
		bm[i] = (uint8_t)(i * 37u + 11u); /* an arbitrary pattern */
	for (uint32_t m = 0; m <= 0x1fff; m++) {
		assert_int_equal(msr_bitmap_exits(bm, m, 0), sdm_bit(bm, m, 0));
		assert_int_equal(msr_bitmap_exits(bm, m, 1), sdm_bit(bm, m, 1));
		assert_int_equal(msr_bitmap_exits(bm, 0xc0000000 + m, 0), sdm_bit(bm, 0xc0000000 + m, 0));
		assert_int_equal(msr_bitmap_exits(bm, 0xc0000000 + m, 1), sdm_bit(bm, 0xc0000000 + m, 1));
	}
}

static void efer_reserved_bits_are_gp(void **state)
{
	(void)state;
	for (unsigned b = 0; b < 64; b++) {
		uint64_t bit = 1ull << b;
		if (bit == EFER_SCE || bit == EFER_LME || bit == EFER_LMA || bit == EFER_NXE)
			continue;
		assert_int_equal(msr_efer_write(0, bit, 0), -1);
		assert_int_equal(msr_efer_write(EFER_LME | EFER_LMA, EFER_LME | EFER_LMA | bit, 1), -1);
	}
}

static void efer_lme_change_while_paging_is_gp(void **state)
{
	(void)state;
	assert_int_equal(msr_efer_write(0, EFER_LME, 1), -1);
	assert_int_equal(msr_efer_write(EFER_LME | EFER_LMA, 0, 1), -1);
	assert_int_equal(msr_efer_write(EFER_LME | EFER_LMA, EFER_LMA, 1), -1);
	/* with paging off it may change */
	assert_int_equal(msr_efer_write(0, EFER_LME, 0), EFER_LME);
	assert_int_equal(msr_efer_write(EFER_LME, 0, 0), 0);
	/* an unchanged LME is fine with paging on */
	assert_int_equal(msr_efer_write(EFER_LME | EFER_LMA, EFER_LME, 1), EFER_LME | EFER_LMA);
}

static void efer_lma_is_kept_from_old_and_not_settable(void **state)
{
	(void)state;
	/* LMA in the written value is accepted (a read-modify-write) but not taken */
	assert_int_equal(msr_efer_write(0, EFER_LMA, 0), 0);
	assert_int_equal(msr_efer_write(EFER_LME, EFER_LME | EFER_LMA, 0), EFER_LME);
	/* and a write without it does not clear it */
	assert_int_equal(msr_efer_write(EFER_LME | EFER_LMA, EFER_LME | EFER_SCE, 1), EFER_LME | EFER_LMA | EFER_SCE);
}

static void efer_sce_and_nxe_are_settable(void **state)
{
	(void)state;
	const int64_t lm = (int64_t)(EFER_LME | EFER_LMA);
	assert_int_equal(msr_efer_write(EFER_LME | EFER_LMA, EFER_LME | EFER_LMA | EFER_SCE | EFER_NXE, 1),
			 lm | (int64_t)(EFER_SCE | EFER_NXE));
	assert_int_equal(msr_efer_write(EFER_LME | EFER_LMA | EFER_SCE | EFER_NXE, EFER_LME, 1), lm);
	assert_int_equal(msr_efer_write(0, EFER_NXE, 1), EFER_NXE);
	assert_int_equal(msr_efer_write(0, EFER_SCE, 0), EFER_SCE);
}

static void apic_base_default_with_bsp_is_accepted_enabled_or_not(void **state)
{
	(void)state;
	assert_int_equal(msr_apic_base_check(0xfee00900), 0);
	assert_int_equal(msr_apic_base_check(0xfee00100), 0);
	assert_int_equal(msr_apic_base_check(APIC_BASE_DEFAULT | APIC_BASE_BSP | APIC_BASE_ENABLE), 0);
}

static void apic_base_other_base_x2apic_no_bsp_or_reserved_bits_are_gp(void **state)
{
	(void)state;
	assert_int_equal(msr_apic_base_check(0xfec00900), -1);	   /* another base */
	assert_int_equal(msr_apic_base_check(0xfee01900), -1);	   /* another base (4 KiB on) */
	assert_int_equal(msr_apic_base_check(0x1fee00900ull), -1); /* above 4 GiB */
	assert_int_equal(msr_apic_base_check(0xfee00d00), -1);	   /* x2APIC and enable */
	assert_int_equal(msr_apic_base_check(0xfee00500), -1);	   /* x2APIC alone */
	assert_int_equal(msr_apic_base_check(0xfee00800), -1);	   /* no BSP */
	assert_int_equal(msr_apic_base_check(0xfee00000), -1);	   /* no BSP, disabled */
	assert_int_equal(msr_apic_base_check(0), -1);
	for (unsigned b = 0; b < 64; b++) {
		uint64_t bit = 1ull << b;
		if (bit == APIC_BASE_ENABLE || bit == APIC_BASE_BSP || (APIC_BASE_DEFAULT & bit))
			continue;
		assert_int_equal(msr_apic_base_check(0xfee00900 | bit), -1); /* reserved bits, base bits */
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_listed_msr_has_its_class),
		cmocka_unit_test(unlisted_msrs_are_gp),
		cmocka_unit_test(bitmap_lets_pass_through_msrs_run_both_ways),
		cmocka_unit_test(bitmap_lets_tsc_reads_run_but_writes_exit),
		cmocka_unit_test(bitmap_makes_emulated_msrs_exit_both_ways),
		cmocka_unit_test(bitmap_makes_unlisted_msrs_exit),
		cmocka_unit_test(msrs_outside_both_ranges_always_exit),
		cmocka_unit_test(bitmap_layout_follows_the_sdm),
		cmocka_unit_test(bitmap_exits_reads_the_sdm_layout),
		cmocka_unit_test(efer_reserved_bits_are_gp),
		cmocka_unit_test(efer_lme_change_while_paging_is_gp),
		cmocka_unit_test(efer_lma_is_kept_from_old_and_not_settable),
		cmocka_unit_test(efer_sce_and_nxe_are_settable),
		cmocka_unit_test(apic_base_default_with_bsp_is_accepted_enabled_or_not),
		cmocka_unit_test(apic_base_other_base_x2apic_no_bsp_or_reserved_bits_are_gp),
	};
	return cmocka_run_group_tests(tests, 0, 0);
}
