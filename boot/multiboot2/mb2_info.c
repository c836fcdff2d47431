/* Turns the Multiboot2 information GRUB hands over into struct hv_boot_info,
 * copying what we need before the allocator may reuse GRUB's memory. */
#include "arch.h"
#include "boot_info.h"
#include "hvlib.h"

#define MB2_BOOTLOADER_MAGIC 0x36d76289u
#define MB2_TAG_END	     0
#define MB2_TAG_CMDLINE	     1
#define MB2_TAG_MODULE	     3
#define MB2_TAG_MMAP	     6

extern char __image_start[], __image_end[];
static struct hv_boot_info bi;

static void early_fail(const char *msg)
{
	arch_console_init(115200);
	arch_console_write(msg, hv_strlen(msg));
	arch_halt();
}

void hv_main_multiboot2(uint32_t magic, uint32_t info_phys)
{
	if (magic != MB2_BOOTLOADER_MAGIC)
		early_fail("[hv] PANIC: not started by a Multiboot2 loader (bad magic)\r\n");
	const uint8_t *info = (const uint8_t *)(uintptr_t)info_phys;
	uint32_t total = *(const uint32_t *)info;
	bi.magic = HV_BOOTINFO_MAGIC;
	bi.version = HV_BOOTINFO_VERSION;
	bi.source = HV_BOOT_MULTIBOOT2;
	bi.image_start = (uint64_t)(uintptr_t)__image_start;
	bi.image_end = (uint64_t)(uintptr_t)__image_end;
	for (uint32_t off = 8; off + 8 <= total;) {
		uint32_t type = *(const uint32_t *)(info + off), size = *(const uint32_t *)(info + off + 4);
		if (type == MB2_TAG_END || size < 8)
			break;
		if (type == MB2_TAG_CMDLINE) {
			const char *s = (const char *)(info + off + 8);
			size_t n = 0;
			while (n < size - 8 && s[n] && n < HV_BOOT_CMDLINE_MAX - 1) {
				bi.cmdline[n] = s[n];
				n++;
			}
			bi.cmdline[n] = '\0';
		} else if (type == MB2_TAG_MODULE && size >= 16 && bi.nmodules < HV_BOOT_MAX_MODULES) {
			/* mod_start, mod_end, then the string after the path on the module2 line */
			uint32_t start = *(const uint32_t *)(info + off + 8),
				 end = *(const uint32_t *)(info + off + 12);
			struct hv_boot_module *m = &bi.modules[bi.nmodules];
			const char *s = (const char *)(info + off + 16);
			size_t n = 0;
			while (n < size - 16 && s[n] && n < HV_BOOT_MODULE_NAME - 1) {
				m->name[n] = s[n];
				n++;
			}
			m->name[n] = '\0';
			if (end > start) {
				m->base = start;
				m->len = end - start;
				bi.nmodules++;
			}
		} else if (type == MB2_TAG_MMAP) {
			uint32_t esz = *(const uint32_t *)(info + off + 8);
			for (uint32_t e = 16; esz >= 24 && e + esz <= size && bi.nranges < HV_BOOT_MAX_RANGES;
			     e += esz) {
				const uint8_t *ent = info + off + e;
				struct hv_mem_range *r = &bi.ranges[bi.nranges++];
				r->base = *(const uint64_t *)ent;
				r->len = *(const uint64_t *)(ent + 8);
				uint32_t t = *(const uint32_t *)(ent + 16);
				r->type = t == 1   ? HV_MEM_AVAILABLE
					  : t == 3 ? HV_MEM_ACPI
					  : t == 4 ? HV_MEM_NVS
					  : t == 5 ? HV_MEM_BAD
						   : HV_MEM_RESERVED;
			}
		}
		off += (size + 7) & ~7u;
	}
	if (!bi.nranges)
		early_fail("[hv] PANIC: the boot loader gave no memory map\r\n");
	/* GRUB's info block must survive until it is parsed: it is, now. */
	hv_main(&bi);
}
