/* The hypervisor's own page tables: an identity map of all RAM and the 4 GiB
 * below (2 MiB pages), write-back over RAM and uncached over everything else. */
#include <arch/cpu.h>
#include "hv.h"
#include "arch.h"

#define PTE_P	(1ull << 0)
#define PTE_W	(1ull << 1)
#define PTE_PWT (1ull << 3)
#define PTE_PCD (1ull << 4)
#define PTE_PS	(1ull << 7)
#define TWO_MB	(2ull << 20)

static int is_ram(const struct hv_boot_info *bi, uint64_t base, uint64_t len)
{
	for (uint32_t i = 0; i < bi->nranges; i++) {
		const struct hv_mem_range *r = &bi->ranges[i];
		if (r->type == HV_MEM_RESERVED || r->type == HV_MEM_BAD)
			continue;
		if (r->base < base + len && base < r->base + r->len)
			return 1;
	}
	/* Boot modules are RAM the loader marked reserved (UEFI loader data): cached, or
	 * copying a guest's kernel out of them crawls. */
	for (uint32_t i = 0; i < bi->nmodules && i < HV_BOOT_MAX_MODULES; i++) {
		const struct hv_boot_module *m = &bi->modules[i];
		if (m->base < base + len && base < m->base + m->len)
			return 1;
	}
	return 0;
}

static uint64_t root;

/* Maps [phys, phys+len) uncached (device registers), in 2 MiB pages, adding
 * tables as needed: firmware may put 64-bit BARs far above RAM. */
int paging_map_mmio(uint64_t phys, uint64_t len)
{
	if (!root || phys + len > (1ull << 46))
		return HV_ERANGE;
	for (uint64_t pa = ALIGN_DOWN(phys, TWO_MB); pa < phys + len; pa += TWO_MB) {
		uint64_t *pml4 = phys_to_virt(root);
		uint64_t *e = &pml4[(pa >> 39) & 511];
		if (!(*e & PTE_P)) {
			uint64_t t = page_alloc_page(&hv_pages);
			if (!t)
				return HV_ENOMEM;
			*e = t | PTE_P | PTE_W;
		}
		uint64_t *pdpt = phys_to_virt(*e & ~0xfffull);
		e = &pdpt[(pa >> 30) & 511];
		if (!(*e & PTE_P)) {
			uint64_t t = page_alloc_page(&hv_pages);
			if (!t)
				return HV_ENOMEM;
			*e = t | PTE_P | PTE_W;
		}
		uint64_t *pd = phys_to_virt(*e & 0x000ffffffffff000ull);
		pd[(pa >> 21) & 511] = pa | PTE_P | PTE_W | PTE_PS | PTE_PCD | PTE_PWT;
		__asm__ volatile("invlpg (%0)" ::"r"(pa) : "memory");
	}
	return HV_OK;
}

int arch_paging_init(const struct hv_boot_info *bi)
{
	uint64_t top = 4ull << 30;
	for (uint32_t i = 0; i < bi->nranges; i++)
		if (bi->ranges[i].base + bi->ranges[i].len > top)
			top = bi->ranges[i].base + bi->ranges[i].len;
	top = ALIGN_UP(top, 1ull << 30);
	if (top > (512ull << 30))
		top = 512ull << 30; /* one PML4 entry; MMIO beyond: paging_map_mmio */

	uint64_t pml4 = page_alloc_page(&hv_pages), pdpt = page_alloc_page(&hv_pages);
	if (!pml4 || !pdpt)
		return HV_ENOMEM;
	((uint64_t *)phys_to_virt(pml4))[0] = pdpt | PTE_P | PTE_W;
	for (uint64_t gb = 0; gb < (top >> 30); gb++) {
		uint64_t pd = page_alloc_page(&hv_pages);
		if (!pd)
			return HV_ENOMEM;
		((uint64_t *)phys_to_virt(pdpt))[gb] = pd | PTE_P | PTE_W;
		uint64_t *pde = phys_to_virt(pd);
		for (unsigned i = 0; i < 512; i++) {
			uint64_t pa = (gb << 30) + i * TWO_MB;
			uint64_t attr = is_ram(bi, pa, TWO_MB) ? 0 : PTE_PCD | PTE_PWT;
			pde[i] = pa | PTE_P | PTE_W | PTE_PS | attr;
		}
	}
	write_cr3(pml4);
	root = pml4;
	return HV_OK;
}
