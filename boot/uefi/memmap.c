/* UEFI memory map -> struct hv_mem_range[]: classify, sort, merge adjacent ranges of one
 * type and cap at the array size. Runs after ExitBootServices, so it allocates nothing. */
#include "memmap.h"

uint32_t memmap_hv_type(uint32_t t)
{
	switch (t) {
	case UEFI_CONVENTIONAL:
	case UEFI_BS_CODE:
	case UEFI_BS_DATA:
		/* Boot services are gone once we jump; their memory is free. */
		return HV_MEM_AVAILABLE;
	case UEFI_ACPI_RECLAIM: return HV_MEM_ACPI;
	case UEFI_ACPI_NVS: return HV_MEM_NVS;
	case UEFI_UNUSABLE: return HV_MEM_BAD;
	default:
		/* Loader code/data (hv image, boot info, stack, page tables),
		 * runtime services, MMIO, reserved, persistent, unknown types. */
		return HV_MEM_RESERVED;
	}
}

/* Which range to give up when the array is full: lower is dropped first. */
static int keep_rank(uint32_t type)
{
	switch (type) {
	case HV_MEM_ACPI:
	case HV_MEM_NVS: return 2;
	case HV_MEM_AVAILABLE: return 1;
	default: return 0;
	}
}

static int same_and_touching(const struct hv_mem_range *a, const struct hv_mem_range *b)
{
	return a->type == b->type && a->base + a->len == b->base;
}

static void remove_at(struct hv_mem_range *out, uint32_t *n, uint32_t i)
{
	for (; i + 1 < *n; i++)
		out[i] = out[i + 1];
	(*n)--;
}

/* Index of the first range that starts above base (the insertion point). */
static uint32_t find_pos(const struct hv_mem_range *out, uint32_t n, uint64_t base)
{
	uint32_t pos = n;

	while (pos > 0 && out[pos - 1].base > base)
		pos--;
	return pos;
}

/* Adds r to the sorted array by growing a neighbour of the same type if r
 * touches it. Returns 1 if it did (no new slot needed). */
static int merge_into(struct hv_mem_range *out, uint32_t *n, const struct hv_mem_range *r)
{
	uint32_t pos = find_pos(out, *n, r->base);

	if (pos > 0 && same_and_touching(&out[pos - 1], r)) {
		out[pos - 1].len += r->len;
		/* r may have closed the gap to the next range. */
		if (pos < *n && same_and_touching(&out[pos - 1], &out[pos])) {
			out[pos - 1].len += out[pos].len;
			remove_at(out, n, pos);
		}
		return 1;
	}
	if (pos < *n && same_and_touching(r, &out[pos])) {
		out[pos].base = r->base;
		out[pos].len += r->len;
		return 1;
	}
	return 0;
}

/* True if a should be given up before b when the array is full. */
static int cheaper(const struct hv_mem_range *a, const struct hv_mem_range *b)
{
	int ra = keep_rank(a->type), rb = keep_rank(b->type);

	return ra < rb || (ra == rb && a->len < b->len);
}

int memmap_convert(const void *map, uint64_t map_size, uint64_t desc_size, struct hv_mem_range *out, uint32_t max,
		   uint32_t *nout, uint32_t *dropped)
{
	const uint8_t *p = map;
	uint64_t off;
	uint32_t n = 0, i, pos, victim;

	*nout = 0;
	*dropped = 0;
	if (desc_size < sizeof(struct uefi_mdesc) || max == 0)
		return -1;
	/* UEFI does not promise a sorted map, so entries are inserted in order. */
	for (off = 0; off + desc_size <= map_size; off += desc_size) {
		const struct uefi_mdesc *d = (const void *)(p + off);
		struct hv_mem_range r;

		/* Skip empty entries and sizes that would overflow 64 bits. */
		if (d->num_pages == 0 || d->num_pages > (~0ull - d->phys_start) >> 12)
			continue;
		r.base = d->phys_start;
		r.len = d->num_pages << 12;
		r.type = memmap_hv_type(d->type);
		r.reserved = 0;
		if (merge_into(out, &n, &r))
			continue;
		if (n == max) {
			victim = 0;
			for (i = 1; i < n; i++)
				if (cheaper(&out[i], &out[victim]))
					victim = i;
			(*dropped)++;
			if (cheaper(&r, &out[victim]))
				continue;
			remove_at(out, &n, victim);
		}
		pos = find_pos(out, n, r.base);
		for (i = n; i > pos; i--)
			out[i] = out[i - 1];
		out[pos] = r;
		n++;
	}
	*nout = n;
	return 0;
}

uint64_t memmap_top(const void *map, uint64_t map_size, uint64_t desc_size)
{
	const uint8_t *p = map;
	uint64_t off, top = 0;

	if (desc_size < sizeof(struct uefi_mdesc))
		return 0;
	for (off = 0; off + desc_size <= map_size; off += desc_size) {
		const struct uefi_mdesc *d = (const void *)(p + off);
		uint64_t end;

		if (d->num_pages > (~0ull - d->phys_start) >> 12)
			continue;
		end = d->phys_start + (d->num_pages << 12);
		if (end > top)
			top = end;
	}
	return top;
}
