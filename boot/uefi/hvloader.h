/* Shared declarations of the UEFI loader's files (the UEFI side; the pure-C parts have
 * their own headers). */
#ifndef HVLOADER_H
#define HVLOADER_H
#include <efi.h>
#include <efilib.h>
#include "elf_check.h"
#include "boot_info.h"

/* The loader calls UEFI services directly (not via uefi_call_wrapper), which
 * is only right when GNU-EFI declares them with the Microsoft ABI. */
#ifndef GNU_EFI_USE_MS_ABI
#error "build the UEFI loader with -DGNU_EFI_USE_MS_ABI (see boot/uefi/uefi.mk)"
#endif

#define PAGE_SIZE    4096ull
#define PAGES(bytes) (((bytes) + PAGE_SIZE - 1) / PAGE_SIZE)

/* loader.c */
void fail_msg(const CHAR16 *fmt, ...);
/* AllocatePages below 4 GiB, where the loader puts everything it hands over. */
EFI_STATUS alloc_low(UINTN pages, EFI_MEMORY_TYPE type, UINT64 *addr);

/* config.c: files on the ESP the loader was started from */
EFI_FILE_HANDLE open_esp_root(EFI_HANDLE image);
/* Opens a file for reading and gets its size. EFI_NOT_FOUND if it does not exist. */
EFI_STATUS open_file(EFI_FILE_HANDLE root, const CHAR16 *path, EFI_FILE_HANDLE *fh, UINT64 *size);
/* Reads a whole file into pool memory. EFI_NOT_FOUND if it does not exist. */
EFI_STATUS read_file(EFI_FILE_HANDLE root, const CHAR16 *path, UINT8 **data, UINT64 *size);
EFI_STATUS load_cmdline(EFI_FILE_HANDLE root, char *cmdline, UINT64 max);
UINT64 find_acpi_rsdp(EFI_SYSTEM_TABLE *st);

/* elf_load.c: checks hv.elf and copies its segments to their physical addresses */
EFI_STATUS load_hv_image(EFI_FILE_HANDLE root, struct elf_image *img, UINT64 *image_start, UINT64 *image_end);

/* modules.c: the optional guest images \linux and \initrd as boot modules; a missing or
 * refused file is reported and left out, never fatal */
void load_boot_modules(EFI_FILE_HANDLE root, struct hv_boot_info *bi);

/* jump.S: never returns */
struct gdt_ptr {
	UINT16 limit;
	UINT64 base;
} __attribute__((packed));
void hv_jump(UINT64 entry, UINT64 boot_info, UINT64 stack_top, UINT64 cr3, const struct gdt_ptr *gdtr,
	     const struct gdt_ptr *idtr) __attribute__((noreturn));

#endif
