/* Booting a Linux guest: the boot modules' bzImage ("linux") and initrd ("initrd") checked
 * and placed by the boot protocol (linux_boot.c), the command line the hypervisor builds
 * (serial console, the workload's parameters, the user's arguments last so they win), and
 * the vCPU at the kernel's 32-bit entry. A bad image is refused with the reason; the guest
 * is not started and nothing else is touched. */
#include "arch.h"
#include "boot_info.h"
#include "hv.h"
#include "linux_boot.h"
#include "vm.h"

extern const struct hv_boot_info *hv_boot;

static int refuse(struct vm *vm, const char *what, const char *why)
{
	hv_event("vm %u: Linux %s refused: %s", vm->id, what, why);
	return HV_EINVAL;
}

int vm_linux_load(struct vm *vm)
{
	/* A VM from the boot configuration has no names yet: the defaults. */
	const char *kn = vm->linux_kernel[0] ? vm->linux_kernel : "linux";
	const char *rn = vm->linux_initrd[0] ? vm->linux_initrd : "initrd";
	const struct hv_boot_module *k = hv_boot_module(hv_boot, kn), *rd = 0;
	if (!k) {
		hv_event("vm %u: no boot module '%s' holds a Linux kernel (GRUB: module2 /boot/bzImage %s)", vm->id, kn,
			 kn);
		return HV_ENOENT;
	}
	if (hv_strcmp(rn, "none") && !(rd = hv_boot_module(hv_boot, rn)) && vm->linux_initrd[0] &&
	    hv_strcmp(rn, "initrd")) {
		hv_event("vm %u: no boot module '%s' (initrd)", vm->id, rn);
		return HV_ENOENT;
	}
	const uint8_t *img = phys_to_virt(k->base);
	struct linux_image im;
	int lerr = linux_parse(img, k->len, &im);
	if (lerr)
		return refuse(vm, "image", linux_strerror(lerr));
	static char cmdline[512];
	int n = hv_snprintf(cmdline, sizeof(cmdline), "console=ttyS0 panic=-1 quiet vm=%u hb_ms=%u write_rate=%u%s%s",
			    vm->id, hv_cfg.hb_ms, hv_cfg.write_rate, vm->linux_args[0] ? " " : "", vm->linux_args);
	if (n < 0 || (size_t)n >= sizeof(cmdline))
		return refuse(vm, "command line", "too long");
	struct linux_layout lay;
	uint64_t bytes = vm->mem_pages * PAGE_SIZE;
	if ((lerr = linux_plan(&im, bytes, (size_t)n, rd ? rd->len : 0, &lay)))
		return refuse(vm, "image", linux_strerror(lerr));
	static uint8_t page[4096];
	int err = vm_copy_to_guest(vm, lay.kernel, img + im.setup_bytes, im.kernel_len);
	if (!err && rd)
		err = vm_copy_to_guest(vm, lay.initrd, phys_to_virt(rd->base), rd->len);
	if (!err)
		err = vm_copy_to_guest(vm, lay.cmdline, cmdline, (uint64_t)n + 1);
	linux_zero_page(page, img, &im, &lay);
	if (!err)
		err = vm_copy_to_guest(vm, lay.zero_page, page, sizeof(page));
	linux_gdt(page);
	if (!err)
		err = vm_copy_to_guest(vm, lay.gdt, page, 32);
	if (err)
		return err;
	struct arch_entry32 e = {
		.rip = lay.kernel,
		.rsi = lay.zero_page,
		.gdt_base = lay.gdt,
		.gdt_limit = 31,
		.cs = LINUX_BOOT_CS,
		.ds = LINUX_BOOT_DS,
	};
	if ((err = arch_vm_entry32(vm, &e)))
		return err;
	hv_event("vm %u: Linux boot protocol %u.%02u, kernel %lu KiB, initrd %lu KiB, %lu MiB RAM", vm->id,
		 im.version >> 8, im.version & 0xff, (unsigned long)(im.kernel_len / 1024),
		 (unsigned long)(lay.initrd_len / 1024), (unsigned long)(bytes >> 20));
	return HV_OK;
}
