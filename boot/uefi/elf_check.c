/* Validation of hv.elf (ELF64 header, program headers, hv_image_header) without
 * UEFI calls: every field is range-checked so a bad file gives a message, not a crash. */
#include "elf_check.h"
#include "boot_info.h"

/* Field offsets from the ELF64 specification (the file may be unaligned in
 * memory, so fields are read byte-wise instead of through a struct). */
#define EH_IDENT_CLASS 4
#define EH_IDENT_DATA  5
#define EH_TYPE	       16
#define EH_MACHINE     18
#define EH_PHOFF       32
#define EH_PHENTSIZE   54
#define EH_PHNUM       56
#define EH_SIZE	       64
#define PH_TYPE	       0
#define PH_FLAGS       4
#define PH_OFFSET      8
#define PH_PADDR       24
#define PH_FILESZ      32
#define PH_MEMSZ       40
#define PH_SIZE	       56
#define PT_LOAD	       1
#define PF_X	       1
#define ET_EXEC	       2
#define EM_X86_64      62
#define MAX_PHNUM      64
#define LIMIT_4G       0x100000000ull

static uint64_t rd(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	while (n--)
		v = (v << 8) | p[n];
	return v;
}

static const char *fail(struct elf_image *img, int seg, uint64_t value, const char *why)
{
	img->bad_seg = seg;
	img->bad_value = value;
	return why;
}

/* The header is found by content, not by a section name, so the loader does
 * not need to parse section headers (which strip may remove). */
static const char *find_header(const uint8_t *file, uint64_t size, struct elf_image *img)
{
	uint64_t end = size < HV_HEADER_SCAN_BYTES ? size : HV_HEADER_SCAN_BYTES;
	uint64_t off;

	for (off = 0; off + sizeof(struct hv_image_header) <= end; off += 8) {
		if (rd(file + off, 4) != HV_IMAGE_MAGIC)
			continue;
		if (rd(file + off + 4, 4) != 1)
			return fail(img, -1, rd(file + off + 4, 4), "hv_image_header has an unknown version");
		img->hdr_offset = off;
		img->entry64 = rd(file + off + 8, 8);
		img->hdr_load_start = rd(file + off + 16, 8);
		img->hdr_load_end = rd(file + off + 24, 8);
		return 0;
	}
	return fail(img, -1, HV_IMAGE_MAGIC, "no hv_image_header (magic \"HVIM\") in the first 64 KiB of the file");
}

const char *elf_check(const uint8_t *file, uint64_t size, struct elf_image *img)
{
	uint64_t phoff, phnum, i, j;
	const char *err;

	img->nsegs = 0;
	img->lo = ~0ull;
	img->hi = 0;
	img->bad_seg = -1;
	img->bad_value = 0;

	if (size < EH_SIZE)
		return fail(img, -1, size, "file too small for an ELF header");
	if (file[0] != 0x7f || file[1] != 'E' || file[2] != 'L' || file[3] != 'F')
		return fail(img, -1, rd(file, 4), "not an ELF file (bad magic)");
	if (file[EH_IDENT_CLASS] != 2)
		return fail(img, -1, file[EH_IDENT_CLASS], "not a 64-bit ELF file (ELFCLASS64 needed)");
	if (file[EH_IDENT_DATA] != 1)
		return fail(img, -1, file[EH_IDENT_DATA], "not a little-endian ELF file");
	if (rd(file + EH_MACHINE, 2) != EM_X86_64)
		return fail(img, -1, rd(file + EH_MACHINE, 2), "not an x86-64 ELF file (e_machine)");
	/* Segments are copied to p_paddr without relocation: only a fixed-address
	 * executable can run there. */
	if (rd(file + EH_TYPE, 2) != ET_EXEC)
		return fail(img, -1, rd(file + EH_TYPE, 2), "not an ELF executable (e_type must be ET_EXEC)");
	if (rd(file + EH_PHENTSIZE, 2) != PH_SIZE)
		return fail(img, -1, rd(file + EH_PHENTSIZE, 2), "unexpected program header size");

	phoff = rd(file + EH_PHOFF, 8);
	phnum = rd(file + EH_PHNUM, 2);
	if (phnum == 0)
		return fail(img, -1, 0, "no program headers");
	if (phnum > MAX_PHNUM)
		return fail(img, -1, phnum, "too many program headers");
	if (phoff > size || phnum * PH_SIZE > size - phoff)
		return fail(img, -1, phoff, "program headers lie outside the file");

	for (i = 0; i < phnum; i++) {
		const uint8_t *ph = file + phoff + i * PH_SIZE;
		struct elf_seg s;

		if (rd(ph + PH_TYPE, 4) != PT_LOAD)
			continue;
		s.flags = (uint32_t)rd(ph + PH_FLAGS, 4);
		s.offset = rd(ph + PH_OFFSET, 8);
		s.paddr = rd(ph + PH_PADDR, 8);
		s.filesz = rd(ph + PH_FILESZ, 8);
		s.memsz = rd(ph + PH_MEMSZ, 8);
		if (s.memsz == 0)
			continue;
		if (img->nsegs == ELF_MAX_SEGS)
			return fail(img, (int)i, ELF_MAX_SEGS,
				    "too many loadable segments (value = the loader's limit)");
		if (s.filesz > s.memsz)
			return fail(img, (int)i, s.filesz, "segment has p_filesz > p_memsz");
		if (s.offset > size || s.filesz > size - s.offset)
			return fail(img, (int)i, s.offset, "segment data lies outside the file");
		/* Boot info and page tables are below 4 GiB, and the hypervisor
		 * starts with only that much guaranteed to be mapped. */
		if (s.paddr >= LIMIT_4G || s.memsz > LIMIT_4G - s.paddr)
			return fail(img, (int)i, s.paddr, "segment lies outside the low 4 GiB");
		for (j = 0; j < img->nsegs; j++) {
			const struct elf_seg *o = &img->segs[j];
			if (s.paddr < o->paddr + o->memsz && o->paddr < s.paddr + s.memsz)
				return fail(img, (int)i, s.paddr, "segment overlaps another segment");
		}
		img->segs[img->nsegs++] = s;
		if (s.paddr < img->lo)
			img->lo = s.paddr;
		if (s.paddr + s.memsz > img->hi)
			img->hi = s.paddr + s.memsz;
	}
	if (img->nsegs == 0)
		return fail(img, -1, 0, "no loadable (PT_LOAD) segments");

	err = find_header(file, size, img);
	if (err)
		return err;
	for (j = 0; j < img->nsegs; j++) {
		const struct elf_seg *s = &img->segs[j];
		if ((s->flags & PF_X) && img->entry64 >= s->paddr && img->entry64 < s->paddr + s->memsz)
			return 0;
	}
	return fail(img, -1, img->entry64, "entry64 is not inside an executable loadable segment");
}
