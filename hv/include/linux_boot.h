/* The Linux x86 boot protocol (Documentation/arch/x86/boot.rst), 32-bit entry: checking a
 * bzImage's setup header, placing kernel, initrd and command line in a guest's RAM, and
 * building the zero page, e820 map and boot GDT it expects. Portable (unit-tested); the
 * copying into a VM and the vCPU's entry state are the caller's. */
#ifndef HV_LINUX_BOOT_H
#define HV_LINUX_BOOT_H
#include <stddef.h>
#include <stdint.h>

/* Every way an image or a placement is refused, each with a name (linux_strerror). */
enum linux_err {
	LINUX_OK = 0,
	LINUX_E_TRUNCATED = -1,	  /* shorter than its header says (or than a header) */
	LINUX_E_MAGIC = -2,	  /* no 0xAA55 boot flag or no "HdrS": not a bzImage */
	LINUX_E_PROTOCOL = -3,	  /* boot protocol older than 2.10 */
	LINUX_E_NOT_BZIMAGE = -4, /* not loaded high (a zImage) */
	LINUX_E_TOO_BIG = -5,	  /* kernel and its decompression room exceed the guest */
	LINUX_E_CMDLINE = -6,	  /* command line longer than the kernel takes */
	LINUX_E_INITRD = -7,	  /* no room for the initrd below the kernel's limit */
	LINUX_E_BAD_HEADER = -8,  /* a header field out of range (setup size, alignment) */
};
const char *linux_strerror(int err);

#define LINUX_PROTOCOL_MIN 0x020a /* 2.10: pref_address and init_size */

struct linux_image {
	uint16_t version;     /* boot protocol, e.g. 0x020f for 2.15 */
	uint32_t setup_bytes; /* real-mode part, (setup_sects + 1) * 512 */
	uint32_t kernel_len;  /* the protected-mode kernel after it */
	uint32_t header_end;  /* the setup header occupies [0x1f1, header_end) of the image */
	uint8_t loadflags, relocatable;
	uint32_t kernel_alignment, initrd_addr_max, cmdline_size, init_size;
	uint64_t pref_address;
};

/* Where things go in guest-physical memory. */
struct linux_layout {
	uint64_t gdt, zero_page, cmdline; /* below 640 KiB */
	uint64_t kernel;		  /* the protected-mode kernel, also the entry point */
	uint64_t run_start, run_end;	  /* where it decompresses and runs (init_size) */
	uint64_t initrd, initrd_len;	  /* 0, 0 without an initrd */
	uint64_t guest_bytes;
};

/* Fixed low pages: boot GDT, zero page, command line. */
#define LINUX_GDT_GPA	    0x6000u
#define LINUX_ZERO_PAGE_GPA 0x7000u
#define LINUX_CMDLINE_GPA   0x8000u
#define LINUX_CMDLINE_MAX   0x7000u /* up to the EBDA-free region's comfortable end */
/* Selectors the 32-bit entry requires (__BOOT_CS, __BOOT_DS). */
#define LINUX_BOOT_CS	    0x10u
#define LINUX_BOOT_DS	    0x18u

int linux_parse(const uint8_t *img, size_t len, struct linux_image *out);
/* cmdline_len without the terminating NUL. */
int linux_plan(const struct linux_image *im, uint64_t guest_bytes, size_t cmdline_len, uint64_t initrd_len,
	       struct linux_layout *out);
/* The zero page (4096 bytes): the image's setup header, the loader's fields, the e820 map
 * of the guest's RAM (640 KiB low, the hole, then RAM from 1 MiB). */
void linux_zero_page(uint8_t zp[4096], const uint8_t *img, const struct linux_image *im,
		     const struct linux_layout *lay);
/* The boot GDT (32 bytes): null, null, flat 32-bit code at LINUX_BOOT_CS, data at LINUX_BOOT_DS. */
void linux_gdt(uint8_t gdt[32]);

#endif
