/* Hypervisor entry after either boot path: bring up the console, descriptor
 * tables, memory, clock and VT-x, create the configured guests, then schedule. */
#include "arch.h"
#include "hv.h"
#include "mig_hv.h"
#include "net.h"
#include "vm.h"

struct page_alloc hv_pages;
struct hv_config hv_cfg;
const struct hv_boot_info *hv_boot;
#define boot hv_boot
static uint64_t boot_tsc;

extern char __image_start[], __image_end[];

void hv_print_status(const struct printer *p)
{
	arch_virt_print_status(p);
	pr_printf(p, "memory: free=%luKiB total=%luKiB\r\n", (unsigned long)(hv_pages.free_pages * 4),
		  (unsigned long)(hv_pages.total_pages * 4));
	pr_printf(p, "tsc: %lu kHz\r\n", (unsigned long)hv_tsc_khz);
	pr_printf(p, "boot: %s\r\n", boot->source == HV_BOOT_UEFI ? "uefi" : "multiboot2");
	pr_printf(p, "uptime: %lu ms\r\n", (unsigned long)((arch_cycles() - boot_tsc) / hv_tsc_khz));
}

const struct hv_boot_module *hv_boot_module(const struct hv_boot_info *bi, const char *name)
{
	for (unsigned i = 0; bi && i < bi->nmodules && i < HV_BOOT_MAX_MODULES; i++) {
		/* The name is the module's string, or its last word (a loader may put the path first). */
		const char *n = bi->modules[i].name, *last = n;
		for (const char *c = n; *c; c++)
			if (*c == ' ' && c[1])
				last = c + 1;
		if (!hv_strcmp(n, name) || !hv_strcmp(last, name))
			return &bi->modules[i];
	}
	return 0;
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
			hv_event("%s", line);
			len = 0;
		} else if (s[i] != '\r' && len < sizeof(line) - 2) {
			line[len++] = s[i];
		}
	}
}
static const struct printer boot_event_printer = { boot_event_write, 0 };

void hv_main(const struct hv_boot_info *bi)
{
	boot = bi;
	boot_tsc = arch_cycles();
	config_defaults(&hv_cfg);
	arch_console_init(115200);
	console_io_init();
	hv_log("\r\n[hv] research hypervisor starting (boot: %s)\r\n",
	       bi->source == HV_BOOT_UEFI ? "uefi" : "multiboot2");
	config_parse(&hv_cfg, bi->cmdline, &hv_console_printer);
	if (hv_cfg.console_baud != 115200) {
		hv_event("console switching to %u baud", hv_cfg.console_baud);
		arch_console_init(hv_cfg.console_baud);
	}
	hv_emulator_exits = hv_cfg.exit_on_panic;
	arch_platform_init();

	/* The image, the boot info and the boot modules (guest images) stay where they are. */
	struct phys_extent reserved[2 + HV_BOOT_MAX_MODULES] = {
		{ (uint64_t)(uintptr_t)__image_start, (uint64_t)(__image_end - __image_start) },
		{ (uint64_t)(uintptr_t)bi, sizeof(*bi) },
	};
	unsigned nreserved = 2;
	for (unsigned i = 0; i < bi->nmodules && i < HV_BOOT_MAX_MODULES; i++)
		reserved[nreserved++] = (struct phys_extent){ bi->modules[i].base, bi->modules[i].len };
	int err = page_alloc_init(&hv_pages, bi->ranges, bi->nranges, reserved, nreserved, 1ull << 20, phys_to_virt);
	if (err)
		hv_panic("page allocator: %s (memory map has %u ranges)", hv_strerror(err), bi->nranges);
	hv_event("memory: %lu KiB free of %u map ranges", (unsigned long)(hv_pages.free_pages * 4), bi->nranges);
	for (unsigned i = 0; i < bi->nmodules && i < HV_BOOT_MAX_MODULES; i++)
		hv_event("boot module %s: %lu bytes at 0x%lx", bi->modules[i].name, (unsigned long)bi->modules[i].len,
			 (unsigned long)bi->modules[i].base);
	if ((err = arch_paging_init(bi)))
		hv_panic("page tables: %s", hv_strerror(err));
	if (hv_cfg.tsc_khz) {
		hv_event("tsc: %u kHz from the boot configuration (not calibrated)", hv_cfg.tsc_khz);
		arch_clock_assume_khz(hv_cfg.tsc_khz);
	} else if (arch_clock_calibrate()) {
		hv_event("tsc: PIT calibration failed, assuming 1 GHz");
		arch_clock_assume_khz(1000000);
	}
	hv_event("tsc: %lu kHz", (unsigned long)hv_tsc_khz);

	arch_virt_probe();
	arch_virt_print_status(&boot_event_printer);
	if (arch_virt_unavailable()) {
		hv_event("VT-x unavailable: %s; guests cannot run, console only", arch_virt_unavailable());
	} else if ((err = arch_virt_enable())) {
		hv_event("VMXON failed: %s; guests cannot run, console only", hv_strerror(err));
		arch_virt_set_unavailable("VMXON failed");
	} else {
		hv_event("VMX on; dirty tracking by default: %s", arch_virt_has_pml() ? "pml" : "ad");
		for (unsigned i = 0; i < hv_cfg.nvms; i++) {
			struct vm *vm;
			if ((err = vm_create(hv_cfg.vm_mode[i], &vm))) {
				hv_event("creating vm %u failed: %s", i + 1, hv_strerror(err));
				break;
			}
			if (hv_cfg.autostart && (err = vm_start(vm)))
				hv_event("starting vm %u failed: %s", vm->id, hv_strerror(err));
		}
	}
	mig_hv_init();
	if (hv_cfg.ip && (err = net_init()))
		hv_event("net: not started: %s", hv_strerror(err));
	console_ready();
	sched_loop();
}

void hv_main_uefi(const struct hv_boot_info *bi)
{
	if (!bi || bi->magic != HV_BOOTINFO_MAGIC || bi->version != HV_BOOTINFO_VERSION) {
		static const char msg[] = "[hv] PANIC: bad boot info from the UEFI loader\r\n";
		arch_console_init(115200);
		arch_console_write(msg, sizeof(msg) - 1);
		arch_halt();
	}
	hv_main(bi);
}
