/* Loads \hv.elf: reads the file, validates it (elf_check.c), claims the physical pages
 * its segments are linked at, copies the file data and zeroes the rest (bss). */
#include "hvloader.h"

/* Reported to the hypervisor as HV_MEM_RESERVED. Any NX marking UEFI's page
 * tables may give loader data does not matter: jump.S switches to the
 * loader's own identity map (no NX bits) before jumping to entry64. */
#define HV_IMAGE_MEMTYPE EfiLoaderData

struct page_run {
	UINT64 start, end; /* page aligned */
};

/* Segments may share a page (e.g. .text ending mid-page and .data starting
 * there), so whole-page runs are merged before they are allocated. */
static unsigned page_runs(const struct elf_image *img, struct page_run *runs)
{
	unsigned i, j, n = 0;

	for (i = 0; i < img->nsegs; i++) {
		struct page_run r;
		r.start = img->segs[i].paddr & ~(PAGE_SIZE - 1);
		r.end = (img->segs[i].paddr + img->segs[i].memsz + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
		/* insert sorted by start */
		for (j = n; j > 0 && runs[j - 1].start > r.start; j--)
			runs[j] = runs[j - 1];
		runs[j] = r;
		n++;
	}
	/* merge overlapping or touching runs */
	for (i = 0, j = 0; i < n; i++) {
		if (j > 0 && runs[i].start <= runs[j - 1].end) {
			if (runs[i].end > runs[j - 1].end)
				runs[j - 1].end = runs[i].end;
		} else {
			runs[j++] = runs[i];
		}
	}
	return j;
}

EFI_STATUS load_hv_image(EFI_FILE_HANDLE root, struct elf_image *img, UINT64 *image_start, UINT64 *image_end)
{
	struct page_run runs[ELF_MAX_SEGS];
	UINT8 *file;
	UINT64 size;
	unsigned i, nruns;
	const char *err;
	EFI_STATUS st;

	Print(L"hvloader: loading hv.elf\n");
	st = read_file(root, L"\\hv.elf", &file, &size);
	if (EFI_ERROR(st)) {
		fail_msg(L"cannot read \\hv.elf from the ESP: %r\n", st);
		return st;
	}
	Print(L"hvloader: hv.elf is %ld bytes\n", size);

	err = elf_check(file, size, img);
	if (err) {
		if (img->bad_seg >= 0)
			fail_msg(L"bad hv.elf: %a (program header %d, value 0x%lx)\n", err, img->bad_seg,
				 img->bad_value);
		else
			fail_msg(L"bad hv.elf: %a (value 0x%lx)\n", err, img->bad_value);
		FreePool(file);
		return EFI_LOAD_ERROR;
	}
	Print(L"hvloader: hv_image_header at file offset 0x%lx, entry64 0x%lx\n", img->hdr_offset, img->entry64);
	/* The header's range is what the hypervisor believes it occupies; a
	 * mismatch means a broken link script, but loading can still go on. */
	if (img->hdr_load_start > img->lo || img->hdr_load_end < img->hi)
		Print(L"hvloader: warning: header says 0x%lx-0x%lx, segments span 0x%lx-0x%lx\n", img->hdr_load_start,
		      img->hdr_load_end, img->lo, img->hi);

	nruns = page_runs(img, runs);
	for (i = 0; i < nruns; i++) {
		EFI_PHYSICAL_ADDRESS addr = runs[i].start;
		UINTN pages = (runs[i].end - runs[i].start) / PAGE_SIZE;

		st = BS->AllocatePages(AllocateAddress, HV_IMAGE_MEMTYPE, pages, &addr);
		if (EFI_ERROR(st)) {
			fail_msg(L"cannot claim memory 0x%lx-0x%lx for hv.elf (%r): the firmware "
				 L"uses it; link the hypervisor elsewhere or give the machine more RAM\n",
				 runs[i].start, runs[i].end, st);
			/* The pages claimed so far stay allocated; the loader is
			 * giving up anyway and the firmware frees nothing else. */
			FreePool(file);
			return st;
		}
		ZeroMem((void *)(UINTN)runs[i].start, runs[i].end - runs[i].start);
	}
	/* Zeroing whole runs above already cleared bss (p_memsz > p_filesz). */
	for (i = 0; i < img->nsegs; i++) {
		const struct elf_seg *s = &img->segs[i];
		CopyMem((void *)(UINTN)s->paddr, file + s->offset, s->filesz);
		Print(L"hvloader: segment %d: 0x%lx-0x%lx (file 0x%lx, bss 0x%lx)%s\n", i, s->paddr,
		      s->paddr + s->memsz, s->filesz, s->memsz - s->filesz, (s->flags & 1) ? L" exec" : L"");
	}
	FreePool(file);
	*image_start = runs[0].start;
	*image_end = runs[nruns - 1].end;
	return EFI_SUCCESS;
}
