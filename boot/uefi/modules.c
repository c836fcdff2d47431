/* The optional guest images on the ESP, beside \hv.elf: \linux (a bzImage) and \initrd (an
 * initramfs), each read into pages of its own and listed in the boot info's modules[] under
 * the name the hypervisor looks for (hv_boot_module), as GRUB's module2 lines are on the
 * Multiboot2 path. The file name is the module name: no hv.cfg key, so the hypervisor's
 * own parsing of the command line never sees a loader setting. */
#include "hvloader.h"
#include "bootmod.h"

/* EfiLoaderData becomes HV_MEM_RESERVED in the converted map (memmap_hv_type), and the
 * hypervisor also reserves every module extent itself (page_alloc_init in hv_main), so
 * the pages survive both. Pool memory would not: it is boot-services data, which the
 * hypervisor is told is free. */
#define MODULE_MEMTYPE EfiLoaderData

static const struct {
	const CHAR16 *path;
	const char *name;
} esp_modules[] = {
	{ L"\\linux", "linux" },
	{ L"\\initrd", "initrd" },
};

/* Reads the open file fh of size bytes into new pages below 4 GiB; the tail of the last
 * page is zeroed so the module's pages hold nothing left over from the firmware. */
static EFI_STATUS read_into_pages(EFI_FILE_HANDLE fh, UINT64 size, UINT64 *base)
{
	UINTN n = size, pages = PAGES(size);
	EFI_STATUS st;

	st = alloc_low(pages, MODULE_MEMTYPE, base);
	if (EFI_ERROR(st))
		return st;
	st = fh->Read(fh, &n, (void *)(UINTN)*base);
	if (!EFI_ERROR(st) && n != size)
		st = EFI_END_OF_FILE; /* short read: treat as a damaged file */
	if (EFI_ERROR(st)) {
		BS->FreePages(*base, pages);
		return st;
	}
	ZeroMem((UINT8 *)(UINTN)*base + size, pages * PAGE_SIZE - size);
	return EFI_SUCCESS;
}

/* One module: missing is fine (one line), anything else that goes wrong is refused with
 * the reason, and the loader goes on without it. */
static void load_module(EFI_FILE_HANDLE root, const CHAR16 *path, const char *name, struct hv_boot_info *bi)
{
	EFI_FILE_HANDLE fh;
	UINT64 size, base;
	const char *err;
	EFI_STATUS st;

	st = open_file(root, path, &fh, &size);
	if (st == EFI_NOT_FOUND) {
		Print(L"hvloader: no %s on the ESP, no %a module\n", path, name);
		return;
	}
	if (EFI_ERROR(st)) {
		Print(L"hvloader: warning: cannot open %s (%r); booting without the %a module\n", path, st, name);
		return;
	}
	err = bootmod_check_size(size);
	if (err) {
		fh->Close(fh);
		Print(L"hvloader: warning: %s refused: %a %ld bytes; booting without the %a module\n", path, err, size,
		      name);
		return;
	}
	st = read_into_pages(fh, size, &base);
	fh->Close(fh);
	if (EFI_ERROR(st)) {
		Print(L"hvloader: warning: cannot read %s (%ld bytes) into memory below 4 GiB (%r); booting "
		      L"without the %a module\n",
		      path, size, st, name);
		return;
	}
	err = bootmod_add(bi, name, base, size);
	if (err) {
		BS->FreePages(base, PAGES(size));
		Print(L"hvloader: warning: %s refused: %a; booting without the %a module\n", path, err, name);
		return;
	}
	Print(L"hvloader: module %a: %ld bytes at 0x%lx (from %s)\n", name, size, base, path);
}

void load_boot_modules(EFI_FILE_HANDLE root, struct hv_boot_info *bi)
{
	for (UINTN i = 0; i < sizeof(esp_modules) / sizeof(esp_modules[0]); i++)
		load_module(root, esp_modules[i].path, esp_modules[i].name, bi);
}
