/* hvloader (BOOTX64.EFI): UEFI loader for the hypervisor. Reads \hv.cfg, \hv.elf and the
 * optional guest images (\linux, \initrd) from its ESP, fills struct hv_boot_info, leaves
 * boot services and jumps to entry64. */
#include "hvloader.h"
#include "memmap.h"

#define STACK_BYTES	(64 * 1024)
#define LOW_4G_MAX	0xFFFFFFFFull
#define MAP_SPARE_DESCS 64 /* room for the map to grow between calls */
#define EBS_TRIES	8
#define IDMAP_MAX_GIB	512 /* one PDPT */

/* The flat GDT the hypervisor starts with: null, 64-bit code (0x08), data
 * (0x10). It lives in the loader image (EfiLoaderCode = reserved for the
 * hypervisor), not in firmware memory the hypervisor may reuse. */
static UINT64 gdt[3] __attribute__((aligned(16))) = {
	0,
	0x00af9a000000ffffull,
	0x00cf92000000ffffull,
};
static struct gdt_ptr gdtr, idtr;

void fail_msg(const CHAR16 *fmt, ...)
{
	va_list ap;

	Print(L"hvloader: error: ");
	va_start(ap, fmt);
	VPrint((CHAR16 *)fmt, ap);
	va_end(ap);
}

EFI_STATUS alloc_low(UINTN pages, EFI_MEMORY_TYPE type, UINT64 *addr)
{
	EFI_PHYSICAL_ADDRESS a = LOW_4G_MAX;
	EFI_STATUS st = BS->AllocatePages(AllocateMaxAddress, type, pages, &a);

	*addr = a;
	return st;
}

/* Identity map of [0, gib GiB) with 2 MiB pages in memory below 4 GiB. UEFI's
 * own tables live in boot-services memory, which the hypervisor is told is
 * free; with these it can use all of that memory from its first instruction. */
static EFI_STATUS build_idmap(UINT64 gib, UINT64 *cr3)
{
	UINT64 base, *pml4, *pdpt, i;
	EFI_STATUS st;

	st = alloc_low(2 + gib, EfiLoaderData, &base);
	if (EFI_ERROR(st))
		return st;
	ZeroMem((void *)(UINTN)base, (2 + gib) * PAGE_SIZE);
	pml4 = (UINT64 *)(UINTN)base;
	pdpt = pml4 + 512;
	pml4[0] = (UINT64)(UINTN)pdpt | 0x3; /* present, writable */
	for (i = 0; i < gib; i++) {
		UINT64 *pd = pml4 + 512 * (2 + i), j;
		pdpt[i] = (UINT64)(UINTN)pd | 0x3;
		for (j = 0; j < 512; j++) /* 2 MiB pages: PS bit */
			pd[j] = ((i << 30) + (j << 21)) | 0x83;
	}
	*cr3 = base;
	return EFI_SUCCESS;
}

/* Size of the current map plus spare room (the allocation of the buffer
 * itself and later allocations add entries). */
static EFI_STATUS alloc_map_buffer(void **buf, UINTN *cap, UINTN *size_now, UINTN *dsize_now)
{
	UINTN size = 0, key, dsize;
	UINT32 dver;
	EFI_STATUS st;

	st = BS->GetMemoryMap(&size, NULL, &key, &dsize, &dver);
	if (st != EFI_BUFFER_TOO_SMALL)
		return EFI_ERROR(st) ? st : EFI_DEVICE_ERROR;
	*cap = size + MAP_SPARE_DESCS * dsize;
	*buf = AllocatePool(*cap);
	if (!*buf)
		return EFI_OUT_OF_RESOURCES;
	size = *cap;
	st = BS->GetMemoryMap(&size, *buf, &key, &dsize, &dver);
	if (EFI_ERROR(st))
		return st;
	*size_now = size;
	*dsize_now = dsize;
	return EFI_SUCCESS;
}

static void give_up(EFI_STATUS st)
{
	Print(L"hvloader: giving up (%r); returning to the firmware in 10 s\n", st);
	BS->Stall(10 * 1000 * 1000);
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	struct elf_image img;
	struct hv_boot_info *bi;
	EFI_FILE_HANDLE root;
	UINT64 bi_addr, stack, cr3, top, gib;
	UINTN map_cap, map_size, map_size_now, map_dsize, key, dsize, tries;
	UINT32 dver, nranges, dropped;
	void *map;
	EFI_STATUS st;

	InitializeLib(image, systab);
	Print(L"hvloader: UEFI loader for hv starting\n");

	root = open_esp_root(image);
	if (!root) {
		give_up(EFI_NOT_FOUND);
		return EFI_NOT_FOUND;
	}

	/* Boot info first: the command line is read straight into it. */
	st = alloc_low(PAGES(sizeof(*bi)), EfiLoaderData, &bi_addr);
	if (EFI_ERROR(st)) {
		fail_msg(L"cannot allocate the boot info below 4 GiB: %r\n", st);
		give_up(st);
		return st;
	}
	bi = (struct hv_boot_info *)(UINTN)bi_addr;
	ZeroMem(bi, sizeof(*bi));
	bi->magic = HV_BOOTINFO_MAGIC;
	bi->version = HV_BOOTINFO_VERSION;
	bi->source = HV_BOOT_UEFI;

	st = load_cmdline(root, bi->cmdline, sizeof(bi->cmdline));
	if (!EFI_ERROR(st))
		st = load_hv_image(root, &img, &bi->image_start, &bi->image_end);
	/* After hv.elf: its segments need fixed addresses, the modules take any free pages. */
	if (!EFI_ERROR(st))
		load_boot_modules(root, bi);
	root->Close(root);
	if (EFI_ERROR(st)) {
		give_up(st);
		return st;
	}
	bi->acpi_rsdp = find_acpi_rsdp(systab);
	Print(L"hvloader: image 0x%lx-0x%lx, boot info at 0x%lx, ACPI RSDP 0x%lx\n", bi->image_start, bi->image_end,
	      bi_addr, bi->acpi_rsdp);

	st = alloc_low(PAGES(STACK_BYTES), EfiLoaderData, &stack);
	if (EFI_ERROR(st)) {
		fail_msg(L"cannot allocate the hypervisor's first stack: %r\n", st);
		give_up(st);
		return st;
	}
	st = alloc_map_buffer(&map, &map_cap, &map_size_now, &map_dsize);
	if (EFI_ERROR(st)) {
		fail_msg(L"cannot get the memory map: %r\n", st);
		give_up(st);
		return st;
	}
	/* Map all RAM the firmware knows of, and at least the low 4 GiB (MMIO
	 * such as the local APIC and the UART's PCI neighbours lives there). */
	top = memmap_top(map, map_size_now, map_dsize);
	gib = (top + (1ull << 30) - 1) >> 30;
	if (gib < 4)
		gib = 4;
	if (gib > IDMAP_MAX_GIB) {
		Print(L"hvloader: warning: memory ends at 0x%lx; identity map covers only %d GiB\n", top,
		      IDMAP_MAX_GIB);
		gib = IDMAP_MAX_GIB;
	}
	st = build_idmap(gib, &cr3);
	if (EFI_ERROR(st)) {
		fail_msg(L"cannot allocate page tables: %r\n", st);
		give_up(st);
		return st;
	}
	/* Trial conversion of the current map (into bi->ranges, which is
	 * rewritten after ExitBootServices) so a too-long map is reported
	 * while printing is still possible. */
	memmap_convert(map, map_size_now, map_dsize, bi->ranges, HV_BOOT_MAX_RANGES, &nranges, &dropped);
	Print(L"hvloader: memory map: %d ranges after merging%s\n", nranges,
	      dropped ? L" (too many: the smallest reserved/free ones are left out)" : L"");
	gdtr.limit = sizeof(gdt) - 1;
	gdtr.base = (UINT64)(UINTN)gdt;
	/* An empty IDT: until the hypervisor loads its own, an exception
	 * becomes a triple fault (a reset, or an exit with -no-reboot) instead
	 * of a jump into firmware code that may already be overwritten. */
	idtr.limit = 0;
	idtr.base = 0;

	Print(L"hvloader: identity map %ld GiB, stack 0x%lx, memory map buffer %ld bytes\n", gib, stack,
	      (UINT64)map_cap);
	Print(L"hvloader: exiting boot services\n");

	/* No Print or allocation from here on: either would change the map
	 * key. A failed ExitBootServices means the map changed under us
	 * (firmware events); fetch it again and retry. */
	for (tries = 1; tries <= EBS_TRIES; tries++) {
		map_size = map_cap;
		st = BS->GetMemoryMap(&map_size, map, &key, &dsize, &dver);
		if (EFI_ERROR(st))
			break;
		st = BS->ExitBootServices(image, key);
		if (st != EFI_INVALID_PARAMETER)
			break;
	}
	if (EFI_ERROR(st)) {
		/* Boot services are still up when GetMemoryMap or the first
		 * ExitBootServices failed this way, so Print is still safe. */
		fail_msg(L"ExitBootServices failed (try %ld of %d): %r\n", (UINT64)tries, EBS_TRIES, st);
		give_up(st);
		return st;
	}

	/* Boot services are gone: only our own memory from here on. */
	memmap_convert(map, map_size, dsize, bi->ranges, HV_BOOT_MAX_RANGES, &nranges, &dropped);
	bi->nranges = nranges;
	(void)dropped; /* counted for the unit tests; the hypervisor sees nranges */
	hv_jump(img.entry64, bi_addr, stack + STACK_BYTES, cr3, &gdtr, &idtr);
}
