/* Unit tests of the Linux boot-protocol loader (hv/core/linux_boot.c) on synthetic bzImages
 * shaped like Debian's 6.1 tiny kernel (protocol 2.15, not relocatable, runs at 16 MiB):
 * header parsing, every refusal with its own error, placement and the zero page. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "linux_boot.h"

#define MiB	    (1u << 20)
#define SETUP_SECTS 27u
#define KERNEL_LEN  (900u * 1024)
#define IMG_LEN	    ((SETUP_SECTS + 1) * 512u + KERNEL_LEN)

static uint8_t img[IMG_LEN];

static void put(uint32_t off, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		img[off + i] = (uint8_t)(v >> (8 * i));
}

static void make_image(void)
{
	memset(img, 0x90, sizeof(img));
	put(0x1f1, SETUP_SECTS, 1);
	put(0x1f4, KERNEL_LEN / 16, 4); /* syssize */
	put(0x1fe, 0xaa55, 2);
	put(0x200, 0x66eb, 2); /* jmp to 0x202 + 0x66: a 2.15 header ends at 0x268 */
	put(0x202, 0x53726448, 4);
	put(0x206, 0x020f, 2);
	put(0x211, 0x01, 1); /* LOADED_HIGH */
	put(0x214, 0x100000, 4);
	put(0x22c, 0x7fffffff, 4);
	put(0x230, 0x200000, 4);
	put(0x234, 0, 1);
	put(0x238, 2047, 4);
	put(0x258, 16 * MiB, 8);
	put(0x260, 11600 * 1024, 4);
}

static void a_tiny_kernel_is_parsed(void **state)
{
	(void)state;
	struct linux_image im;
	make_image();
	assert_int_equal(linux_parse(img, sizeof(img), &im), LINUX_OK);
	assert_int_equal(im.version, 0x020f);
	assert_int_equal(im.setup_bytes, (SETUP_SECTS + 1) * 512);
	assert_int_equal(im.kernel_len, KERNEL_LEN);
	assert_int_equal(im.header_end, 0x268);
	assert_int_equal(im.cmdline_size, 2047);
	assert_true(im.pref_address == 16 * MiB);
}

static void bad_images_are_refused_each_with_its_error(void **state)
{
	(void)state;
	struct linux_image im;
	make_image();
	/* truncated: no header, a header only, setup but no kernel */
	assert_int_equal(linux_parse(img, 0, &im), LINUX_E_TRUNCATED);
	assert_int_equal(linux_parse(img, 0x263, &im), LINUX_E_TRUNCATED);
	assert_int_equal(linux_parse(img, (SETUP_SECTS + 1) * 512, &im), LINUX_E_TRUNCATED);
	/* cut anywhere in the kernel (what syssize says is missing) */
	assert_int_equal(linux_parse(img, (SETUP_SECTS + 1) * 512 + 65536, &im), LINUX_E_TRUNCATED);
	assert_int_equal(linux_parse(img, sizeof(img) - 16, &im), LINUX_E_TRUNCATED);
	struct {
		uint32_t off;
		uint64_t v;
		unsigned bytes;
		int err;
	} cases[] = {
		{ 0x1fe, 0x55aa, 2, LINUX_E_MAGIC },	     /* boot flag */
		{ 0x202, 0x53726449, 4, LINUX_E_MAGIC },     /* "HdrS" */
		{ 0x206, 0x0209, 2, LINUX_E_PROTOCOL },	     /* 2.09: no pref_address */
		{ 0x211, 0x00, 1, LINUX_E_NOT_BZIMAGE },     /* a zImage */
		{ 0x201, 0x10, 1, LINUX_E_BAD_HEADER },	     /* header ends before init_size */
		{ 0x201, 0xff, 1, LINUX_E_BAD_HEADER },	     /* header runs past where it may */
		{ 0x230, 0x300000, 4, LINUX_E_BAD_HEADER },  /* alignment not a power of two */
		{ 0x258, 0x1000, 8, LINUX_E_BAD_HEADER },    /* below 1 MiB */
		{ 0x258, 0x1000001, 8, LINUX_E_BAD_HEADER }, /* not page-aligned */
		{ 0x260, 4096, 4, LINUX_E_BAD_HEADER },	     /* smaller than the kernel */
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		make_image();
		put(cases[i].off, cases[i].v, cases[i].bytes);
		int err = linux_parse(img, sizeof(img), &im);
		if (err != cases[i].err)
			fail_msg("case %u (offset 0x%x): got %s, want %s", i, cases[i].off, linux_strerror(err),
				 linux_strerror(cases[i].err));
		assert_string_not_equal(linux_strerror(err), "unknown error");
	}
}

static void placement_fits_the_guest_or_is_refused(void **state)
{
	(void)state;
	struct linux_image im;
	struct linux_layout lay;
	make_image();
	assert_int_equal(linux_parse(img, sizeof(img), &im), LINUX_OK);
	/* 16 MiB + 11.6 MiB of decompression room: 32 MiB suffices, 24 MiB does not. */
	assert_int_equal(linux_plan(&im, 24 * MiB, 10, 0, &lay), LINUX_E_TOO_BIG);
	assert_int_equal(linux_plan(&im, 32 * MiB, 10, 0, &lay), LINUX_OK);
	assert_true(lay.kernel == MiB && lay.run_start == 16 * MiB && lay.run_end == 16 * MiB + 11600 * 1024);
	assert_int_equal(lay.initrd, 0);
	/* The initrd goes at the top, page-aligned, clear of the kernel. */
	assert_int_equal(linux_plan(&im, 64 * MiB, 10, 300000, &lay), LINUX_OK);
	assert_true(lay.initrd + lay.initrd_len <= 64 * MiB && lay.initrd % 4096 == 0 && lay.initrd >= lay.run_end);
	/* An initrd that only fits over the kernel is refused. */
	assert_int_equal(linux_plan(&im, 32 * MiB, 10, 8 * MiB, &lay), LINUX_E_INITRD);
	/* Below the kernel's initrd limit. */
	put(0x22c, 40 * MiB - 1, 4);
	assert_int_equal(linux_parse(img, sizeof(img), &im), LINUX_OK);
	assert_int_equal(linux_plan(&im, 64 * MiB, 10, 300000, &lay), LINUX_OK);
	assert_true(lay.initrd + lay.initrd_len <= 40 * MiB);
	/* The command line within the kernel's cmdline_size. */
	assert_int_equal(linux_plan(&im, 64 * MiB, 2047, 0, &lay), LINUX_OK);
	assert_int_equal(linux_plan(&im, 64 * MiB, 2048, 0, &lay), LINUX_E_CMDLINE);
}

static uint32_t rd32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static void zero_page_and_gdt(void **state)
{
	(void)state;
	struct linux_image im;
	struct linux_layout lay;
	static uint8_t zp[4096];
	uint8_t gdt[32];
	make_image();
	assert_int_equal(linux_parse(img, sizeof(img), &im), LINUX_OK);
	assert_int_equal(linux_plan(&im, 64 * MiB, 20, 300000, &lay), LINUX_OK);
	memset(zp, 0xee, sizeof(zp));
	linux_zero_page(zp, img, &im, &lay);
	assert_memory_equal(zp + 0x1f1, img + 0x1f1, 0x202 - 0x1f1); /* the header, copied */
	assert_int_equal(rd32(zp + 0x202), 0x53726448);
	assert_int_equal(zp[0x210], 0xff);	  /* type_of_loader */
	assert_int_equal(zp[0x211] & 0x81, 0x81); /* LOADED_HIGH | CAN_USE_HEAP */
	assert_int_equal(rd32(zp + 0x228), LINUX_CMDLINE_GPA);
	assert_int_equal(rd32(zp + 0x218), lay.initrd);
	assert_int_equal(rd32(zp + 0x21c), 300000);
	assert_int_equal(zp[0x1e8], 3);
	/* e820: low RAM, the legacy hole, RAM from 1 MiB to the end of the guest */
	assert_true(rd64(zp + 0x2d0) == 0 && rd64(zp + 0x2d8) == 0x9fc00 && rd32(zp + 0x2e0) == 1);
	assert_true(rd32(zp + 0x2e4 + 16) == 2);
	assert_true(rd64(zp + 0x2f8) == MiB && rd64(zp + 0x300) == 63ull * MiB && rd32(zp + 0x308) == 1);
	assert_int_equal(zp[0x268], 0); /* nothing of the image past its header */
	linux_gdt(gdt);
	assert_true(rd64(gdt + LINUX_BOOT_CS) == 0x00cf9a000000ffffull);
	assert_true(rd64(gdt + LINUX_BOOT_DS) == 0x00cf92000000ffffull);
	assert_true(rd64(gdt) == 0 && rd64(gdt + 8) == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_tiny_kernel_is_parsed),
		cmocka_unit_test(bad_images_are_refused_each_with_its_error),
		cmocka_unit_test(placement_fits_the_guest_or_is_refused),
		cmocka_unit_test(zero_page_and_gdt),
	};
	return cmocka_run_group_tests(tests, 0, 0);
}
