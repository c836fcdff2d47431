/* Dirty set from the page-modification log: the CPU appends the GPA of each
 * page whose EPT D flag it sets, counting the index down from 511. */
#include "dirty.h"
#include "hvlib.h"

unsigned dirty_pml_drain(struct dirty_tracker *t, uint16_t index)
{
	unsigned first = index >= PML_ENTRIES ? 0 : (unsigned)index + 1u;
	unsigned n = 0;
	for (unsigned i = first; i < PML_ENTRIES; i++, n++) {
		/* Bochs logs the raw GPA, hardware the page address: mask both. */
		uint64_t pfn = (t->pml_log[i] & ~(PAGE_SIZE - 1)) >> PAGE_SHIFT;
		if (pfn < t->npages)
			t->accum[pfn >> 6] |= 1ull << (pfn & 63);
		else
			t->stray++;
	}
	return n;
}
