/* Boot modules in struct hv_boot_info (guest images the loader reads from the ESP): the
 * size check and the table entry, pure C and unit-tested on the host like memmap.c. */
#ifndef HVLOADER_BOOTMOD_H
#define HVLOADER_BOOTMOD_H
#include <stdint.h>
#include "boot_info.h"

/* A bzImage is a few MiB and an initramfs tens of MiB; a bigger file is a wrong file,
 * and every byte of it stays reserved while the hypervisor runs. */
#define BOOTMOD_MAX_BYTES (256ull << 20)

/* NULL if a file of size bytes may become a boot module, else why not (reads well
 * followed by the size). */
const char *bootmod_check_size(uint64_t size);

/* Appends {base, len, name} to bi->modules[] and counts it in bi->nmodules. NULL, or why
 * not (the table is full, the name is empty or too long); bi is unchanged then. */
const char *bootmod_add(struct hv_boot_info *bi, const char *name, uint64_t base, uint64_t len);

#endif
