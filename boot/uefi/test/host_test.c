/* Host-side tests of the loader's pure-C parts: hv.elf validation, memory map conversion,
 * hv.cfg parsing and the boot module table. Run with `make uefi-hosttest`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "elf_check.h"
#include "memmap.h"
#include "cfg_parse.h"
#include "bootmod.h"

static int passed, failed;

#define CHECK(cond, ...)                                                                                               \
	do {                                                                                                           \
		if (cond) {                                                                                            \
			passed++;                                                                                      \
		} else {                                                                                               \
			failed++;                                                                                      \
			printf("FAIL %s:%d: ", __FILE__, __LINE__);                                                    \
			printf(__VA_ARGS__);                                                                           \
			printf("\n");                                                                                  \
		}                                                                                                      \
	} while (0)

static void put(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A small valid image: ELF header, 2 program headers (text RX at 2 MiB,
 * data RW with bss right after it), hv_image_header at offset 0x1000. */
#define IMG_SIZE 0x3000
static void make_elf(uint8_t *f)
{
	memset(f, 0, IMG_SIZE);
	memcpy(f,
	       "\x7f"
	       "ELF",
	       4);
	f[4] = 2;
	f[5] = 1;
	f[6] = 1;
	put(f + 16, 2, 2);  /* ET_EXEC */
	put(f + 18, 62, 2); /* x86-64 */
	put(f + 24, 0x200000, 8);
	put(f + 32, 64, 8); /* phoff */
	put(f + 54, 56, 2);
	put(f + 56, 2, 2); /* phnum */
	uint8_t *ph = f + 64;
	put(ph + 0, 1, 4);
	put(ph + 4, 5, 4);
	put(ph + 8, 0x1000, 8);
	put(ph + 16, 0x200000, 8);
	put(ph + 24, 0x200000, 8);
	put(ph + 32, 0x1000, 8);
	put(ph + 40, 0x1000, 8);
	ph += 56;
	put(ph + 0, 1, 4);
	put(ph + 4, 6, 4);
	put(ph + 8, 0x2000, 8);
	put(ph + 16, 0x201000, 8);
	put(ph + 24, 0x201000, 8);
	put(ph + 32, 0x800, 8);
	put(ph + 40, 0x5000, 8);
	uint8_t *h = f + 0x1000;
	put(h, HV_IMAGE_MAGIC, 4);
	put(h + 4, 1, 4);
	put(h + 8, 0x200040, 8);
	put(h + 16, 0x200000, 8);
	put(h + 24, 0x206000, 8);
}

static const char *check_mut(void (*mut)(uint8_t *), struct elf_image *img)
{
	static uint8_t f[IMG_SIZE];
	make_elf(f);
	if (mut)
		mut(f);
	return elf_check(f, IMG_SIZE, img);
}

static void m_magic(uint8_t *f) { f[1] = 'X'; }
static void m_class(uint8_t *f) { f[4] = 1; }
static void m_machine(uint8_t *f) { put(f + 18, 3, 2); }
static void m_type(uint8_t *f) { put(f + 16, 3, 2); }
static void m_phoff(uint8_t *f) { put(f + 32, 0xfffffffffffff000ull, 8); }
static void m_phnum_big(uint8_t *f) { put(f + 56, 65535, 2); }
static void m_high(uint8_t *f) { put(f + 64 + 56 + 24, 0xfffff000ull, 8); }
static void m_wrap(uint8_t *f) { put(f + 64 + 56 + 40, 0xffffffffffffffffull, 8); }
static void m_filesz(uint8_t *f) { put(f + 64 + 56 + 32, 0x6000, 8); }
static void m_offset(uint8_t *f) { put(f + 64 + 56 + 8, 0x2f00, 8); }
static void m_overlap(uint8_t *f) { put(f + 64 + 56 + 24, 0x200800, 8); }
static void m_nohdr(uint8_t *f) { put(f + 0x1000, 0, 4); }
static void m_hdrver(uint8_t *f) { put(f + 0x1004, 7, 4); }
static void m_entry(uint8_t *f) { put(f + 0x1008, 0x201000, 8); } /* in data, not exec */
static void m_noload(uint8_t *f)
{
	put(f + 64, 6, 4);
	put(f + 64 + 56, 6, 4);
}
static void m_many(uint8_t *f)
{
	/* 17 loadable segments: phdrs moved to 0x2000 (data is not checked there) */
	put(f + 32, 0x100, 8);
	put(f + 56, 17, 2);
	for (int i = 0; i < 17; i++) {
		uint8_t *ph = f + 0x100 + i * 56;
		memset(ph, 0, 56);
		put(ph, 1, 4);
		put(ph + 4, 5, 4);
		put(ph + 24, 0x200000 + i * 0x1000, 8);
		put(ph + 40, 0x1000, 8);
	}
}

static void test_elf(void)
{
	struct elf_image img;
	const char *e = check_mut(NULL, &img);
	CHECK(e == NULL, "valid image rejected: %s", e);
	CHECK(img.nsegs == 2 && img.lo == 0x200000 && img.hi == 0x206000 && img.entry64 == 0x200040 &&
		      img.hdr_offset == 0x1000,
	      "valid image parsed wrong");

	struct {
		void (*m)(uint8_t *);
		const char *want;
	} cases[] = {
		{ m_magic, "bad magic" },
		{ m_class, "64-bit" },
		{ m_machine, "x86-64" },
		{ m_type, "ET_EXEC" },
		{ m_phoff, "outside the file" },
		{ m_phnum_big, "too many program headers" },
		{ m_high, "low 4 GiB" },
		{ m_wrap, "low 4 GiB" },
		{ m_filesz, "p_filesz > p_memsz" },
		{ m_offset, "outside the file" },
		{ m_overlap, "overlaps" },
		{ m_nohdr, "no hv_image_header" },
		{ m_hdrver, "unknown version" },
		{ m_entry, "entry64" },
		{ m_noload, "no loadable" },
		{ m_many, "too many loadable segments" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		e = check_mut(cases[i].m, &img);
		CHECK(e && strstr(e, cases[i].want), "case %zu: want '%s', got '%s'", i, cases[i].want,
		      e ? e : "(accepted)");
	}
	/* Truncated files of every length must be rejected, never read past. */
	uint8_t f[IMG_SIZE];
	make_elf(f);
	int bad = 0;
	for (uint64_t n = 0; n < 0x1020; n++) {
		uint8_t *copy = malloc(n ? n : 1);
		memcpy(copy, f, n);
		if (!elf_check(copy, n, &img))
			bad++;
		free(copy);
	}
	CHECK(bad == 0, "%d truncated files accepted", bad);
}

static struct uefi_mdesc D(uint32_t t, uint64_t base, uint64_t pages) {
	struct uefi_mdesc d = { t, 0, base, 0, pages, 0 };
	return d;
}

static void
test_memmap(void)
{
	struct hv_mem_range out[8];
	uint32_t n, dropped;
	/* Unsorted, with mergeable neighbours (conventional + BS data are both
	 * available), loader data reserved, ACPI and NVS kept apart. */
	struct uefi_mdesc m[] = {
		D(UEFI_BS_DATA, 0x100000, 16),	      D(UEFI_CONVENTIONAL, 0, 160),
		D(UEFI_CONVENTIONAL, 0x110000, 240),  D(UEFI_LOADER_DATA, 0x200000, 3),
		D(UEFI_ACPI_RECLAIM, 0x300000, 1),    D(UEFI_ACPI_NVS, 0x301000, 1),
		D(UEFI_CONVENTIONAL, 0x203000, 0xfd), D(UEFI_UNUSABLE, 0x400000, 1),
		D(UEFI_CONVENTIONAL, 0x500000, 0),    D(11 /* MMIO */, 0xfec00000, 1),
	};
	CHECK(memmap_convert(m, sizeof(m), sizeof(m[0]), out, 8, &n, &dropped) == 0, "convert");
	struct hv_mem_range want[] = {
		{ 0, 0xa0000, HV_MEM_AVAILABLE, 0 },	  { 0x100000, 0x100000, HV_MEM_AVAILABLE, 0 },
		{ 0x200000, 0x3000, HV_MEM_RESERVED, 0 }, { 0x203000, 0xfd000, HV_MEM_AVAILABLE, 0 },
		{ 0x300000, 0x1000, HV_MEM_ACPI, 0 },	  { 0x301000, 0x1000, HV_MEM_NVS, 0 },
		{ 0x400000, 0x1000, HV_MEM_BAD, 0 },	  { 0xfec00000, 0x1000, HV_MEM_RESERVED, 0 },
	};
	CHECK(n == 8 && dropped == 0, "n=%u dropped=%u", n, dropped);
	CHECK(memcmp(out, want, sizeof(want)) == 0, "ranges differ");

	/* A gap being filled later joins three entries into one. */
	struct uefi_mdesc g[] = { D(UEFI_CONVENTIONAL, 0, 1), D(UEFI_CONVENTIONAL, 0x2000, 1),
				  D(UEFI_BS_CODE, 0x1000, 1) };
	memmap_convert(g, sizeof(g), sizeof(g[0]), out, 8, &n, &dropped);
	CHECK(n == 1 && out[0].base == 0 && out[0].len == 0x3000, "gap merge: n=%u", n);

	/* Descriptors bigger than the struct (desc_size > 40) are stepped over. */
	uint8_t wide[3 * 48] = { 0 };
	for (int i = 0; i < 3; i++) {
		struct uefi_mdesc d = D(UEFI_CONVENTIONAL, 0x1000ull * i * 2, 1);
		memcpy(wide + 48 * i, &d, sizeof(d));
	}
	memmap_convert(wide, sizeof(wide), 48, out, 8, &n, &dropped);
	CHECK(n == 3 && out[2].base == 0x4000, "desc_size 48: n=%u", n);
	CHECK(memmap_convert(wide, sizeof(wide), 16, out, 8, &n, &dropped) == -1, "tiny desc_size accepted");

	/* Overflow: 12 separate ranges into 4 slots. Reserved ones go first,
	 * then the smallest available; ACPI stays. */
	struct uefi_mdesc o[12];
	for (int i = 0; i < 12; i++) {
		uint32_t t = i % 3 == 0 ? UEFI_CONVENTIONAL : i % 3 == 1 ? 0 : UEFI_ACPI_RECLAIM;
		o[i] = D(t, 0x100000ull * i, (uint64_t)(i + 1));
	}
	memmap_convert(o, sizeof(o), sizeof(o[0]), out, 4, &n, &dropped);
	int acpi = 0, sorted = 1;
	for (uint32_t i = 0; i < n; i++) {
		acpi += out[i].type == HV_MEM_ACPI;
		if (i && out[i - 1].base >= out[i].base)
			sorted = 0;
	}
	CHECK(n == 4 && dropped == 8 && acpi == 4 && sorted, "overflow: n=%u dropped=%u acpi=%d sorted=%d", n, dropped,
	      acpi, sorted);
}

static void test_redact(void)
{
	char out[128];
	cfg_redact("console=115200 psk=00112233445566778899aabbccddeeff ip=192.0.2.2/24", out, sizeof(out));
	CHECK(!strcmp(out, "console=115200 psk=(hidden) ip=192.0.2.2/24"), "redact: %s", out);
	cfg_redact("psk=abcd", out, sizeof(out));
	CHECK(!strcmp(out, "psk=(hidden)"), "redact first: %s", out);
	cfg_redact("xpsk=abcd mypsk=1", out, sizeof(out));
	CHECK(!strcmp(out, "xpsk=abcd mypsk=1"), "only the key psk: %s", out);
	cfg_redact("psk=0011223344556677", out, 8);
	CHECK(strlen(out) == 7 && !strstr(out, "00"), "truncated: %s", out);
}

static void test_cfg(void)
{
	char out[16];
	uint64_t v;
	const char *e;
#define CFG(s) cfg_parse((const uint8_t *)(s), sizeof(s) - 1, out, sizeof(out), &v)
	e = CFG("console=115200\n");
	CHECK(!e && !strcmp(out, "console=115200"), "simple: %s", e ? e : out);
	e = CFG("\xef\xbb\xbf  a=1\tb=2 \r\n\r\n  \n");
	CHECK(!e && !strcmp(out, "a=1 b=2"), "bom/crlf: %s", e ? e : out);
	e = CFG("");
	CHECK(!e && out[0] == 0, "empty");
	e = CFG("a=1\nb=2\n");
	CHECK(e && strstr(e, "more than one line"), "two lines accepted");
	e = CFG("0123456789abcde\n");
	CHECK(!e && strlen(out) == 15, "15 chars fit in 16");
	e = CFG("0123456789abcdef\n");
	CHECK(e && strstr(e, "longer") && v == 16, "16 chars accepted");
	e = CFG("a=\x01");
	CHECK(e && v == 1, "control byte accepted");
	e = CFG("a=\xc3\xa9");
	CHECK(e && v == 0xc3, "non-ASCII accepted");
}

static void test_bootmod_size(void)
{
	const char *e;

	CHECK(!bootmod_check_size(1), "1 byte refused");
	CHECK(!bootmod_check_size(BOOTMOD_MAX_BYTES), "256 MiB refused: %s", bootmod_check_size(BOOTMOD_MAX_BYTES));
	e = bootmod_check_size(BOOTMOD_MAX_BYTES + 1);
	CHECK(e && strstr(e, "larger than 256 MiB"), "256 MiB + 1 accepted");
	e = bootmod_check_size(~0ull);
	CHECK(e && strstr(e, "larger"), "2^64-1 accepted");
	e = bootmod_check_size(0);
	CHECK(e && strstr(e, "empty"), "empty file accepted");
}

static void test_bootmod_add(void)
{
	static struct hv_boot_info bi;
	const char *e;

	memset(&bi, 0xa5, sizeof(bi)); /* stale bytes in the names must not survive */
	bi.nmodules = 0;
	e = bootmod_add(&bi, "linux", 0x7e000000, 934912);
	CHECK(!e && bi.nmodules == 1, "add linux: %s", e ? e : "nmodules wrong");
	CHECK(bi.modules[0].base == 0x7e000000 && bi.modules[0].len == 934912, "linux base/len");
	CHECK(!strcmp(bi.modules[0].name, "linux"), "linux name: %.32s", bi.modules[0].name);
	int clean = 1;
	for (int i = 5; i < HV_BOOT_MODULE_NAME; i++)
		clean &= bi.modules[0].name[i] == 0;
	CHECK(clean, "name tail not zeroed");
	e = bootmod_add(&bi, "initrd", 0x7d000000, 4959);
	CHECK(!e && bi.nmodules == 2 && !strcmp(bi.modules[1].name, "initrd") && bi.modules[1].len == 4959,
	      "add initrd: %s", e ? e : "entry wrong");

	/* 31 characters fit with the NUL; 32 do not, and leave the table as it was. */
	char name[HV_BOOT_MODULE_NAME + 1];
	memset(name, 'n', sizeof(name));
	name[HV_BOOT_MODULE_NAME - 1] = 0;
	e = bootmod_add(&bi, name, 0x1000, 1);
	CHECK(!e && bi.nmodules == 3 && strlen(bi.modules[2].name) == 31, "31-character name: %s", e ? e : "");
	name[HV_BOOT_MODULE_NAME - 1] = 'n';
	name[HV_BOOT_MODULE_NAME] = 0;
	e = bootmod_add(&bi, name, 0x1000, 1);
	CHECK(e && strstr(e, "too long") && bi.nmodules == 3, "32-character name accepted");
	e = bootmod_add(&bi, "", 0x1000, 1);
	CHECK(e && strstr(e, "empty") && bi.nmodules == 3, "empty name accepted");

	/* A full table refuses and is left alone. */
	/* Bounded: a table that never grows must fail the check, not hang the test. */
	for (int i = 0; i < HV_BOOT_MAX_MODULES && bi.nmodules < HV_BOOT_MAX_MODULES; i++)
		bootmod_add(&bi, "extra", 0x2000, 1);
	CHECK(bi.nmodules == HV_BOOT_MAX_MODULES, "table filled to %u", bi.nmodules);
	e = bootmod_add(&bi, "one more", 0x3000, 1);
	CHECK(e && strstr(e, "no free entry") && bi.nmodules == HV_BOOT_MAX_MODULES,
	      "module beyond the table accepted");
}

int main(void)
{
	test_elf();
	test_memmap();
	test_cfg();
	test_redact();
	test_bootmod_size();
	test_bootmod_add();
	printf("uefi host tests: %d passed, %d failed\n", passed, failed);
	return failed != 0;
}
