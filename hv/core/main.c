/* Hypervisor entry after either boot path: bring up the console, descriptor
 * tables, memory, clock and VT-x, create the configured guests, then schedule. */
#include "hv.h"
#include "vm.h"
#include "../arch/x86/cpu.h"
#include "../arch/x86/desc.h"
#include "../arch/x86/serial.h"
#include "../../net/include/net.h"
#include "../arch/x86/fpu.h"
#include "mig_hv.h"

struct page_alloc hv_pages;
struct hv_config hv_cfg;
const struct hv_boot_info *hv_boot;
#define boot hv_boot
static uint64_t boot_tsc;

int paging_init(const struct hv_boot_info *bi);
int tsc_calibrate(void);
void tsc_fallback(uint64_t khz);
extern char __image_start[], __image_end[];

void hv_print_status(const struct printer *p)
{
	vmx_print_status(p);
	pr_printf(p, "memory: free=%luKiB total=%luKiB\r\n", (unsigned long)(hv_pages.free_pages * 4),
		  (unsigned long)(hv_pages.total_pages * 4));
	pr_printf(p, "tsc: %lu kHz\r\n", (unsigned long)hv_tsc_khz);
	pr_printf(p, "boot: %s\r\n", boot->source == HV_BOOT_UEFI ? "uefi" : "multiboot2");
	pr_printf(p, "uptime: %lu ms\r\n", (unsigned long)((rdtsc() - boot_tsc) / hv_tsc_khz));
}

/* Status lines printed during boot are events: each gets the "[hv] " prefix. */
static void boot_event_write(void *ctx, const char *s, size_t n)
{
	static char line[256];
	static size_t len;
	(void)ctx;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n') {
			line[len] = '\0';
			hv_log("[hv] %s\r\n", line);
			len = 0;
		} else if (s[i] != '\r' && len < sizeof(line) - 2) {
			line[len++] = s[i];
		}
	}
}
static const struct printer boot_event_printer = { boot_event_write, 0 };

static void pic_mask_all(void)
{
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
}

void hv_main(const struct hv_boot_info *bi)
{
	boot = bi;
	boot_tsc = rdtsc();
	config_defaults(&hv_cfg);
	serial_init(115200);
	console_io_init();
	hv_log("\r\n[hv] research hypervisor starting (boot: %s)\r\n",
	       bi->source == HV_BOOT_UEFI ? "uefi" : "multiboot2");
	config_parse(&hv_cfg, bi->cmdline, &hv_console_printer);
	if (hv_cfg.console_baud != 115200) {
		hv_log("[hv] console switching to %u baud\r\n", hv_cfg.console_baud);
		serial_init(hv_cfg.console_baud);
	}
	hv_emulator_exits = hv_cfg.exit_on_panic;
	desc_init();
	pic_mask_all();
	fpu_init();

	struct phys_extent reserved[2] = {
		{ (uint64_t)(uintptr_t)__image_start, (uint64_t)(__image_end - __image_start) },
		{ (uint64_t)(uintptr_t)bi, sizeof(*bi) },
	};
	int err = page_alloc_init(&hv_pages, bi->ranges, bi->nranges, reserved, 2, 1ull << 20, phys_to_virt);
	if (err)
		hv_panic("page allocator: %s (memory map has %u ranges)", hv_strerror(err), bi->nranges);
	hv_log("[hv] memory: %lu KiB free of %u map ranges\r\n", (unsigned long)(hv_pages.free_pages * 4),
	       bi->nranges);
	if ((err = paging_init(bi)))
		hv_panic("page tables: %s", hv_strerror(err));
	if (tsc_calibrate()) {
		hv_log("[hv] tsc: PIT calibration failed, assuming 1 GHz\r\n");
		tsc_fallback(1000000);
	}
	hv_log("[hv] tsc: %lu kHz\r\n", (unsigned long)hv_tsc_khz);

	vmx_probe(&hv_vmx);
	vmx_print_status(&boot_event_printer);
	if (hv_vmx.why_not) {
		hv_log("[hv] VT-x unavailable: %s; guests cannot run, console only\r\n", hv_vmx.why_not);
	} else if ((err = vmx_cpu_enable())) {
		hv_log("[hv] VMXON failed: %s; guests cannot run, console only\r\n", hv_strerror(err));
		hv_vmx.why_not = "VMXON failed";
	} else {
		hv_log("[hv] VMX on; dirty tracking by default: %s\r\n", hv_vmx.pml ? "pml" : "ad");
		for (unsigned i = 0; i < hv_cfg.nvms; i++) {
			if ((err = vm_create(hv_cfg.vm_mode[i]))) {
				hv_log("[hv] creating vm %u failed: %s\r\n", i + 1, hv_strerror(err));
				break;
			}
			if (hv_cfg.autostart && (err = vm_start(&hv_vms[hv_nvms - 1])))
				hv_log("[hv] starting vm %u failed: %s\r\n", hv_nvms, hv_strerror(err));
		}
	}
	mig_hv_init();
	if (hv_cfg.ip && (err = net_init()))
		hv_log("[hv] net: not started: %s\r\n", hv_strerror(err));
	console_ready();
	sched_loop();
}

void hv_main_uefi(const struct hv_boot_info *bi)
{
	if (!bi || bi->magic != HV_BOOTINFO_MAGIC || bi->version != HV_BOOTINFO_VERSION) {
		serial_init(115200);
		serial_write("[hv] PANIC: bad boot info from the UEFI loader\r\n", 49);
		for (;;)
			hlt();
	}
	hv_main(bi);
}
