/* Conversion of the UEFI memory map into the hypervisor's ranges[]: pure C, so it
 * can run after ExitBootServices (no allocation) and be unit-tested on the host. */
#ifndef HVLOADER_MEMMAP_H
#define HVLOADER_MEMMAP_H
#include <stdint.h>
#include "boot_info.h"

/* Layout of EFI_MEMORY_DESCRIPTOR from the UEFI specification. Entries in a
 * map are desc_size bytes apart, which may be more than this struct. */
struct uefi_mdesc {
	uint32_t type, pad;
	uint64_t phys_start, virt_start, num_pages, attribute;
};

/* UEFI memory types (EFI_MEMORY_TYPE) that the conversion needs by name. */
enum {
	UEFI_LOADER_CODE = 1,
	UEFI_LOADER_DATA = 2,
	UEFI_BS_CODE = 3,
	UEFI_BS_DATA = 4,
	UEFI_CONVENTIONAL = 7,
	UEFI_UNUSABLE = 8,
	UEFI_ACPI_RECLAIM = 9,
	UEFI_ACPI_NVS = 10,
};

uint32_t memmap_hv_type(uint32_t uefi_type);

/* Writes the merged, sorted ranges into out[0..max) and *nout. Ranges that do
 * not fit are dropped, cheapest first (reserved/bad, then the smallest free
 * ranges; ACPI/NVS last); *dropped counts them. Memory missing from the list
 * is never used by the hypervisor, so dropping is safe. Returns 0, or -1 if
 * desc_size is too small to be a descriptor. */
int memmap_convert(const void *map, uint64_t map_size, uint64_t desc_size, struct hv_mem_range *out, uint32_t max,
		   uint32_t *nout, uint32_t *dropped);

/* Highest end address of any descriptor (sizes the identity map). */
uint64_t memmap_top(const void *map, uint64_t map_size, uint64_t desc_size);

#endif
