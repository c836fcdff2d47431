/* Validation of hv.elf before anything is loaded: pure C without UEFI calls, so
 * it can be unit-tested on the build host (see boot/uefi/test/). */
#ifndef HVLOADER_ELF_CHECK_H
#define HVLOADER_ELF_CHECK_H
#include <stdint.h>

/* The hypervisor has text, rodata, data+bss: a handful of segments. A bigger
 * number means a wrong file, not a bigger hypervisor. */
#define ELF_MAX_SEGS	     16
#define HV_HEADER_SCAN_BYTES (64u * 1024u)

struct elf_seg {
	uint64_t paddr, memsz, filesz, offset;
	uint32_t flags; /* PF_X = 1, PF_W = 2, PF_R = 4 */
};

struct elf_image {
	unsigned nsegs;
	struct elf_seg segs[ELF_MAX_SEGS];
	uint64_t lo, hi;  /* exact physical extent of all segments */
	uint64_t entry64; /* from struct hv_image_header */
	uint64_t hdr_load_start, hdr_load_end;
	uint64_t hdr_offset; /* file offset where the header was found */
	/* On error: what was wrong, for the message. */
	uint64_t bad_value;
	int bad_seg; /* -1 if the error is not about one segment */
};

/* Checks the whole file and fills *img. Returns NULL if the file can be
 * loaded, else a short English reason (bad_value/bad_seg say more). */
const char *elf_check(const uint8_t *file, uint64_t size, struct elf_image *img);

#endif
