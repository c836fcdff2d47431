/* PCI configuration space through ports 0xCF8/0xCFC, enough to find a NIC,
 * read its BAR and let it do DMA. */
#include "pci.h"
#include <arch/cpu.h>

static uint32_t addr(const struct pci_dev *d, uint8_t reg)
{
	return 0x80000000u | ((uint32_t)d->bus << 16) | ((uint32_t)d->dev << 11) | ((uint32_t)d->fn << 8) |
	       (reg & 0xfc);
}

uint32_t pci_read32(const struct pci_dev *d, uint8_t reg)
{
	outl(0xcf8, addr(d, reg));
	return inl(0xcfc);
}

void pci_write32(const struct pci_dev *d, uint8_t reg, uint32_t v)
{
	outl(0xcf8, addr(d, reg));
	outl(0xcfc, v);
}

int pci_find(const uint16_t (*ids)[2], unsigned nids, struct pci_dev *out)
{
	for (unsigned bus = 0; bus < 256; bus++)
		for (unsigned dev = 0; dev < 32; dev++)
			for (unsigned fn = 0; fn < 8; fn++) {
				struct pci_dev d = { (uint8_t)bus, (uint8_t)dev, (uint8_t)fn, 0, 0 };
				uint32_t id = pci_read32(&d, 0);
				if ((id & 0xffff) == 0xffff) {
					if (fn == 0)
						break; /* no device here: skip its functions */
					continue;
				}
				d.vendor = (uint16_t)id;
				d.device = (uint16_t)(id >> 16);
				for (unsigned i = 0; i < nids; i++)
					if (ids[i][0] == d.vendor && ids[i][1] == d.device) {
						*out = d;
						return 0;
					}
				if (fn == 0 && !(pci_read32(&d, 0x0c) & 0x00800000))
					break; /* single-function device */
			}
	return -1;
}

uint64_t pci_bar_mem(const struct pci_dev *d, unsigned n)
{
	uint8_t reg = (uint8_t)(0x10 + 4 * n);
	uint32_t lo = pci_read32(d, reg);
	if (lo & 1)
		return 0; /* an I/O BAR */
	uint64_t base = lo & ~0xfull;
	if (((lo >> 1) & 3) == 2)
		base |= (uint64_t)pci_read32(d, (uint8_t)(reg + 4)) << 32;
	return base;
}

void pci_enable_mmio_dma(const struct pci_dev *d)
{
	uint32_t cmd = pci_read32(d, 0x04);
	pci_write32(d, 0x04, (cmd & 0xffff) | 0x6); /* status bits are write-1-to-clear: write 0s */
}
