/* PCI configuration space (mechanism #1) and device lookup. */
#ifndef HV_X86_PCI_H
#define HV_X86_PCI_H
#include <stdint.h>

struct pci_dev {
	uint8_t bus, dev, fn;
	uint16_t vendor, device;
};

uint32_t pci_read32(const struct pci_dev *d, uint8_t reg);
void pci_write32(const struct pci_dev *d, uint8_t reg, uint32_t v);
/* Finds the first function with one of the (vendor, device) pairs; 0 if found. */
int pci_find(const uint16_t (*ids)[2], unsigned nids, struct pci_dev *out);
/* Memory BAR n's physical address (32- or 64-bit BAR), 0 if it is not memory. */
uint64_t pci_bar_mem(const struct pci_dev *d, unsigned n);
/* Turns on memory decoding and bus mastering (the NIC DMAs into our rings). */
void pci_enable_mmio_dma(const struct pci_dev *d);
#endif
