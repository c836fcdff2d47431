/* The hand-off from a boot path (Multiboot2 stub or UEFI loader) to the
 * hypervisor core: memory map, command line, and where the image lies. */
#ifndef HV_BOOT_INFO_H
#define HV_BOOT_INFO_H
#include <stdint.h>

#define HV_BOOTINFO_MAGIC   0x49425648u /* "HVBI" */
#define HV_BOOTINFO_VERSION 2u		/* 2: boot modules (a Linux guest's kernel and initrd) */

enum hv_mem_type {
	HV_MEM_AVAILABLE = 1, /* free for the page allocator */
	HV_MEM_RESERVED = 2,  /* firmware, MMIO, the loader's own data: never touch */
	HV_MEM_ACPI = 3,      /* ACPI tables (reclaimable, but we keep them) */
	HV_MEM_NVS = 4,
	HV_MEM_BAD = 5,
};

struct hv_mem_range {
	uint64_t base;
	uint64_t len;
	uint32_t type; /* enum hv_mem_type */
	uint32_t reserved;
};

enum hv_boot_source { HV_BOOT_MULTIBOOT2 = 1, HV_BOOT_UEFI = 2 };

#define HV_BOOT_MAX_RANGES  256
#define HV_BOOT_CMDLINE_MAX 1024
#define HV_BOOT_MAX_MODULES 4
#define HV_BOOT_MODULE_NAME 32

/* A file the boot path loaded for the hypervisor (GRUB's module2, or a file on the ESP):
 * guest images. Its memory is reserved for as long as the hypervisor runs. */
struct hv_boot_module {
	uint64_t base, len;
	char name[HV_BOOT_MODULE_NAME]; /* "linux", "initrd" (NUL-terminated) */
};

/* Lives in memory the loader marks HV_MEM_RESERVED (or inside the image). */
struct hv_boot_info {
	uint32_t magic;			   /* HV_BOOTINFO_MAGIC */
	uint32_t version;		   /* HV_BOOTINFO_VERSION */
	uint32_t source;		   /* enum hv_boot_source */
	uint32_t nranges;		   /* entries in ranges[] that are valid */
	uint64_t image_start, image_end;   /* physical extent of the loaded hv image */
	uint64_t acpi_rsdp;		   /* 0 if unknown */
	char cmdline[HV_BOOT_CMDLINE_MAX]; /* NUL-terminated "key=value key=value" */
	struct hv_mem_range ranges[HV_BOOT_MAX_RANGES];
	uint32_t nmodules; /* entries in modules[] that are valid */
	uint32_t reserved0;
	struct hv_boot_module modules[HV_BOOT_MAX_MODULES];
};

/* The module called name, or NULL. */
const struct hv_boot_module *hv_boot_module(const struct hv_boot_info *bi, const char *name);

/* Found by the UEFI loader by scanning the first 64 KiB of hv.elf's file for
 * 'magic' at an 8-byte aligned offset. entry64 is called in 64-bit mode with
 * identity-mapped paging, interrupts off, RDI = physical address of a
 * struct hv_boot_info. It never returns. */
#define HV_IMAGE_MAGIC 0x4d495648u /* "HVIM" */
struct hv_image_header {
	uint32_t magic;
	uint32_t version; /* 1 */
	uint64_t entry64;
	uint64_t load_start, load_end; /* physical range the image occupies, bss included */
};

/* The core's entry points, reached from each boot path (boot/multiboot2, hv/arch/x86/entry64.S). */
void hv_main(const struct hv_boot_info *bi) __attribute__((noreturn));
void hv_main_multiboot2(uint32_t magic, uint32_t info_phys);
void hv_main_uefi(const struct hv_boot_info *bi);

#endif
