/* The Linux x86 boot protocol for a 32-bit entry (see linux_boot.h): every field of an
 * image that may come from anywhere is checked before anything is placed. */
#include "linux_boot.h"
#include "hvlib.h"

/* Offsets in the image (and the zero page) of the boot protocol's fields. */
#define OFF_SETUP_SECTS	   0x1f1
#define OFF_SYSSIZE	   0x1f4
#define OFF_BOOT_FLAG	   0x1fe
#define OFF_JUMP	   0x200
#define OFF_HEADER	   0x202
#define OFF_VERSION	   0x206
#define OFF_TYPE_OF_LOADER 0x210
#define OFF_LOADFLAGS	   0x211
#define OFF_RAMDISK_IMAGE  0x218
#define OFF_RAMDISK_SIZE   0x21c
#define OFF_HEAP_END_PTR   0x224
#define OFF_CMD_LINE_PTR   0x228
#define OFF_INITRD_MAX	   0x22c
#define OFF_KERNEL_ALIGN   0x230
#define OFF_RELOCATABLE	   0x234
#define OFF_CMDLINE_SIZE   0x238
#define OFF_PREF_ADDRESS   0x258
#define OFF_INIT_SIZE	   0x260
#define OFF_E820_ENTRIES   0x1e8
#define OFF_E820_TABLE	   0x2d0

#define HDRS	       0x53726448u /* "HdrS" */
#define BOOT_FLAG      0xaa55u
#define LOADED_HIGH    0x01u
#define CAN_USE_HEAP   0x80u
#define LOADER_UNKNOWN 0xffu /* type_of_loader: no assigned id */
#define E820_RAM       1u
#define E820_RESERVED  2u
#define MiB	       (1ull << 20)

static uint32_t get16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t get32(const uint8_t *p) { return get16(p) | get16(p + 2) << 16; }
static uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32; }
static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v);
	put16(p + 2, v >> 16);
}
static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

const char *linux_strerror(int err)
{
	switch (err) {
	case LINUX_OK: return "ok";
	case LINUX_E_TRUNCATED: return "image truncated";
	case LINUX_E_MAGIC: return "not a Linux bzImage (no boot flag or HdrS signature)";
	case LINUX_E_PROTOCOL: return "boot protocol older than 2.10";
	case LINUX_E_NOT_BZIMAGE: return "not a bzImage (kernel not loaded high)";
	case LINUX_E_TOO_BIG: return "kernel does not fit the guest's memory";
	case LINUX_E_CMDLINE: return "command line too long for this kernel";
	case LINUX_E_INITRD: return "no room for the initrd below the kernel's limit";
	case LINUX_E_BAD_HEADER: return "setup header field out of range";
	}
	return "unknown error";
}

int linux_parse(const uint8_t *img, size_t len, struct linux_image *out)
{
	memset(out, 0, sizeof(*out));
	if (len < OFF_INIT_SIZE + 4)
		return LINUX_E_TRUNCATED;
	if (get16(img + OFF_BOOT_FLAG) != BOOT_FLAG || get32(img + OFF_HEADER) != HDRS)
		return LINUX_E_MAGIC;
	out->version = (uint16_t)get16(img + OFF_VERSION);
	if (out->version < LINUX_PROTOCOL_MIN)
		return LINUX_E_PROTOCOL;
	unsigned sects = img[OFF_SETUP_SECTS] ? img[OFF_SETUP_SECTS] : 4; /* 0 means 4 */
	out->setup_bytes = (sects + 1) * 512u;
	/* The header runs from 0x1f1 to the end the jump at 0x200 skips to. */
	out->header_end = OFF_HEADER + img[OFF_JUMP + 1];
	if (out->header_end < OFF_INIT_SIZE + 4 || out->header_end > out->setup_bytes || out->header_end > 0x290)
		return LINUX_E_BAD_HEADER;
	if (len <= out->setup_bytes)
		return LINUX_E_TRUNCATED;
	out->kernel_len = (uint32_t)(len - out->setup_bytes);
	/* syssize: the protected-mode part's length in 16-byte units, as the build wrote it. A
	 * file shorter than that lost its end (a cut download, a short read). */
	if ((uint64_t)get32(img + OFF_SYSSIZE) * 16 > out->kernel_len)
		return LINUX_E_TRUNCATED;
	out->loadflags = img[OFF_LOADFLAGS];
	if (!(out->loadflags & LOADED_HIGH))
		return LINUX_E_NOT_BZIMAGE;
	out->relocatable = img[OFF_RELOCATABLE];
	out->kernel_alignment = get32(img + OFF_KERNEL_ALIGN);
	out->initrd_addr_max = get32(img + OFF_INITRD_MAX);
	out->cmdline_size = get32(img + OFF_CMDLINE_SIZE);
	out->pref_address = get64(img + OFF_PREF_ADDRESS);
	out->init_size = get32(img + OFF_INIT_SIZE);
	if (out->kernel_alignment & (out->kernel_alignment - 1))
		return LINUX_E_BAD_HEADER; /* not a power of two */
	if (out->init_size < out->kernel_len || out->pref_address < MiB || out->pref_address > (1ull << 40) ||
	    (out->pref_address & 0xfff))
		return LINUX_E_BAD_HEADER;
	if (len > (size_t)256 * MiB)
		return LINUX_E_TOO_BIG;
	return LINUX_OK;
}

int linux_plan(const struct linux_image *im, uint64_t guest_bytes, size_t cmdline_len, uint64_t initrd_len,
	       struct linux_layout *out)
{
	memset(out, 0, sizeof(*out));
	out->guest_bytes = guest_bytes;
	out->gdt = LINUX_GDT_GPA;
	out->zero_page = LINUX_ZERO_PAGE_GPA;
	out->cmdline = LINUX_CMDLINE_GPA;
	if (cmdline_len + 1 > LINUX_CMDLINE_MAX || cmdline_len > im->cmdline_size)
		return LINUX_E_CMDLINE;
	/* The 32-bit protocol: the protected-mode kernel at 1 MiB (a relocatable one could go
	 * elsewhere; 1 MiB suits both), decompressing to pref_address, which it then runs at
	 * and needs init_size from. */
	out->kernel = MiB;
	out->run_start = im->pref_address;
	out->run_end = im->pref_address + im->init_size;
	uint64_t low_end = out->kernel + im->kernel_len;
	if (low_end > guest_bytes || out->run_end > guest_bytes || out->run_end < out->run_start)
		return LINUX_E_TOO_BIG;
	if (!initrd_len)
		return LINUX_OK;
	/* The initrd goes as high as the kernel allows, page-aligned, clear of the kernel at
	 * 1 MiB and of the room it decompresses into. */
	uint64_t top = guest_bytes;
	if ((uint64_t)im->initrd_addr_max + 1 < top)
		top = (uint64_t)im->initrd_addr_max + 1;
	if (initrd_len > top)
		return LINUX_E_INITRD;
	uint64_t at = ALIGN_DOWN(top - initrd_len, PAGE_SIZE);
	uint64_t busy_lo = out->kernel, busy_hi = out->run_end > low_end ? out->run_end : low_end;
	if ((at < busy_hi && at + initrd_len > busy_lo) || at < MiB)
		return LINUX_E_INITRD; /* it would overlap the kernel or the low pages */
	out->initrd = at;
	out->initrd_len = initrd_len;
	return LINUX_OK;
}

static void e820(uint8_t *zp, unsigned i, uint64_t base, uint64_t len, uint32_t type)
{
	uint8_t *e = zp + OFF_E820_TABLE + 20u * i;
	put64(e, base);
	put64(e + 8, len);
	put32(e + 16, type);
}

void linux_zero_page(uint8_t zp[4096], const uint8_t *img, const struct linux_image *im, const struct linux_layout *lay)
{
	memset(zp, 0, 4096);
	memcpy(zp + OFF_SETUP_SECTS, img + OFF_SETUP_SECTS, im->header_end - OFF_SETUP_SECTS);
	zp[OFF_TYPE_OF_LOADER] = LOADER_UNKNOWN;
	zp[OFF_LOADFLAGS] = (uint8_t)(im->loadflags | CAN_USE_HEAP);
	put16(zp + OFF_HEAP_END_PTR, 0xfe00u); /* the real-mode heap is not used: 32-bit entry */
	put32(zp + OFF_CMD_LINE_PTR, (uint32_t)lay->cmdline);
	put32(zp + OFF_RAMDISK_IMAGE, (uint32_t)lay->initrd);
	put32(zp + OFF_RAMDISK_SIZE, (uint32_t)lay->initrd_len);
	e820(zp, 0, 0, 0x9fc00, E820_RAM);
	e820(zp, 1, 0x9fc00, MiB - 0x9fc00, E820_RESERVED);
	e820(zp, 2, MiB, lay->guest_bytes - MiB, E820_RAM);
	zp[OFF_E820_ENTRIES] = 3;
}

void linux_gdt(uint8_t gdt[32])
{
	memset(gdt, 0, 32);
	put64(gdt + LINUX_BOOT_CS, 0x00cf9a000000ffffull); /* 32-bit code, 4 GiB, execute/read */
	put64(gdt + LINUX_BOOT_DS, 0x00cf92000000ffffull); /* 32-bit data, 4 GiB, read/write */
}
