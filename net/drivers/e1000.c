/* Intel 8254x (e1000) driver for the hypervisor's own network (migration
 * traffic): polled rings, no interrupts, frames copied through fixed buffers. */
#include "e1000.h"
#include "arch.h"
#include "hv.h"
#include "pci.h"

#define REG_CTRL   0x0000
#define REG_STATUS 0x0008
#define REG_EERD   0x0014
#define REG_ICR	   0x00c0
#define REG_IMC	   0x00d8
#define REG_RCTL   0x0100
#define REG_TCTL   0x0400
#define REG_TIPG   0x0410
#define REG_RDBAL  0x2800
#define REG_RDBAH  0x2804
#define REG_RDLEN  0x2808
#define REG_RDH	   0x2810
#define REG_RDT	   0x2818
#define REG_TDBAL  0x3800
#define REG_TDBAH  0x3804
#define REG_TDLEN  0x3808
#define REG_TDH	   0x3810
#define REG_TDT	   0x3818
#define REG_MTA	   0x5200
#define REG_RAL0   0x5400
#define REG_RAH0   0x5404

#define CTRL_SLU   (1u << 6)
#define CTRL_ASDE  (1u << 5)
#define CTRL_RST   (1u << 26)
#define RCTL_EN	   (1u << 1)
#define RCTL_BAM   (1u << 15)
#define RCTL_SECRC (1u << 26)
#define TCTL_EN	   (1u << 1)
#define TCTL_PSP   (1u << 3)

struct rx_desc {
	uint64_t addr;
	uint16_t len, csum;
	uint8_t status, errors;
	uint16_t special;
} __attribute__((packed));
struct tx_desc {
	uint64_t addr;
	uint16_t len;
	uint8_t cso, cmd, status, css;
	uint16_t special;
} __attribute__((packed));
#define DESC_DD	   0x01
#define DESC_EOP   0x02
#define TXCMD_EOP  0x01
#define TXCMD_IFCS 0x02
#define TXCMD_RS   0x08

static uint32_t rd(struct e1000 *n, uint32_t r) { return *(volatile uint32_t *)(n->mmio + r); }
static void wr(struct e1000 *n, uint32_t r, uint32_t v) { *(volatile uint32_t *)(n->mmio + r) = v; }

static int eeprom_word(struct e1000 *n, unsigned addr, uint16_t *out)
{
	wr(n, REG_EERD, 1u | (addr << 8));
	for (unsigned i = 0; i < 100000; i++) {
		uint32_t v = rd(n, REG_EERD);
		if (v & (1u << 4)) {
			*out = (uint16_t)(v >> 16);
			return HV_OK;
		}
	}
	return HV_EHW;
}

int e1000_init(struct e1000 *n, const uint8_t *mac_override)
{
	static const uint16_t ids[][2] = {
		{ 0x8086, 0x100e }, /* 82540EM: Bochs, QEMU */
		{ 0x8086, 0x100f },
		{ 0x8086, 0x10d3 } /* 82545EM, 82574L (register-compatible here) */
	};
	struct pci_dev d;
	memset(n, 0, sizeof(*n));
	if (pci_find(ids, ARRAY_SIZE(ids), &d))
		return HV_ENOENT;
	n->mmio_phys = pci_bar_mem(&d, 0);
	if (!n->mmio_phys)
		return HV_EHW;
	if (paging_map_mmio(n->mmio_phys, 128 * 1024))
		return HV_ERANGE;
	n->mmio = phys_to_virt(n->mmio_phys);
	pci_enable_mmio_dma(&d);

	wr(n, REG_IMC, 0xffffffffu); /* polled: no interrupts, ever */
	wr(n, REG_CTRL, rd(n, REG_CTRL) | CTRL_RST);
	for (unsigned i = 0; i < 1000000 && (rd(n, REG_CTRL) & CTRL_RST); i++)
		arch_cpu_relax();
	wr(n, REG_IMC, 0xffffffffu);
	(void)rd(n, REG_ICR);
	wr(n, REG_CTRL, rd(n, REG_CTRL) | CTRL_SLU | CTRL_ASDE);

	if (mac_override) {
		memcpy(n->mac, mac_override, 6);
	} else {
		for (unsigned w = 0; w < 3; w++) {
			uint16_t v;
			if (eeprom_word(n, w, &v))
				return HV_EHW;
			n->mac[2 * w] = (uint8_t)v;
			n->mac[2 * w + 1] = (uint8_t)(v >> 8);
		}
	}
	wr(n, REG_RAL0,
	   (uint32_t)n->mac[0] | (uint32_t)n->mac[1] << 8 | (uint32_t)n->mac[2] << 16 | (uint32_t)n->mac[3] << 24);
	wr(n, REG_RAH0, (uint32_t)n->mac[4] | (uint32_t)n->mac[5] << 8 | (1u << 31));
	for (unsigned i = 0; i < 128; i++)
		wr(n, REG_MTA + 4 * i, 0);

	uint64_t rx_ring = page_alloc_page(&hv_pages), tx_ring = page_alloc_page(&hv_pages);
	uint64_t pages = E1000_RX_DESCS * E1000_BUF_SIZE / PAGE_SIZE;
	uint64_t rx_bufs = page_alloc_contig(&hv_pages, pages, 1);
	uint64_t tx_bufs = page_alloc_contig(&hv_pages, E1000_TX_DESCS * E1000_BUF_SIZE / PAGE_SIZE, 1);
	if (!rx_ring || !tx_ring || !rx_bufs || !tx_bufs)
		return HV_ENOMEM;
	n->rx_ring = phys_to_virt(rx_ring);
	n->tx_ring = phys_to_virt(tx_ring);
	n->rx_bufs = phys_to_virt(rx_bufs);
	n->tx_bufs = phys_to_virt(tx_bufs);

	struct rx_desc *rx = n->rx_ring;
	for (unsigned i = 0; i < E1000_RX_DESCS; i++)
		rx[i].addr = rx_bufs + (uint64_t)i * E1000_BUF_SIZE;
	wr(n, REG_RDBAL, (uint32_t)rx_ring);
	wr(n, REG_RDBAH, (uint32_t)(rx_ring >> 32));
	wr(n, REG_RDLEN, E1000_RX_DESCS * sizeof(struct rx_desc));
	wr(n, REG_RDH, 0);
	wr(n, REG_RDT, E1000_RX_DESCS - 1);
	/* 2048-byte buffers (BSIZE 0), broadcast accepted, CRC stripped. */
	wr(n, REG_RCTL, RCTL_EN | RCTL_BAM | RCTL_SECRC);

	wr(n, REG_TDBAL, (uint32_t)tx_ring);
	wr(n, REG_TDBAH, (uint32_t)(tx_ring >> 32));
	wr(n, REG_TDLEN, E1000_TX_DESCS * sizeof(struct tx_desc));
	wr(n, REG_TDH, 0);
	wr(n, REG_TDT, 0);
	wr(n, REG_TCTL, TCTL_EN | TCTL_PSP | (0x10u << 4) | (0x40u << 12));
	wr(n, REG_TIPG, 0x0060200a);
	return HV_OK;
}

int e1000_link_up(const struct e1000 *n) { return (*(volatile uint32_t *)(n->mmio + REG_STATUS) >> 1) & 1; }

int e1000_send(struct e1000 *n, const void *frame, size_t len)
{
	struct tx_desc *tx = n->tx_ring;
	struct tx_desc *d = &tx[n->tx_next];
	if (len > 1514 || len == 0)
		return HV_ERANGE;
	/* A descriptor is ours again once the NIC reported it done (or was never used). */
	if (d->cmd && !(d->status & DESC_DD)) {
		n->tx_full++;
		return HV_ESTATE;
	}
	memcpy(n->tx_bufs + (size_t)n->tx_next * E1000_BUF_SIZE, frame, len);
	d->addr = virt_to_phys(n->tx_bufs) + (uint64_t)n->tx_next * E1000_BUF_SIZE;
	d->len = (uint16_t)len;
	d->status = 0;
	d->cmd = TXCMD_EOP | TXCMD_IFCS | TXCMD_RS;
	n->tx_next = (n->tx_next + 1) % E1000_TX_DESCS;
	arch_wmb();
	wr(n, REG_TDT, n->tx_next);
	n->tx_frames++;
	n->tx_bytes += len;
	return HV_OK;
}

int e1000_poll_rx(struct e1000 *n, void (*fn)(void *, const uint8_t *, size_t), void *ctx)
{
	struct rx_desc *rx = n->rx_ring;
	struct rx_desc *d = &rx[n->rx_next];
	if (!(d->status & DESC_DD))
		return 0;
	arch_rmb();
	/* A frame spread over several buffers cannot happen with 2 KiB buffers
	 * and no jumbo frames; count and drop anything odd. */
	if ((d->status & DESC_EOP) && !d->errors && d->len <= E1000_BUF_SIZE) {
		fn(ctx, n->rx_bufs + (size_t)n->rx_next * E1000_BUF_SIZE, d->len);
		n->rx_frames++;
		n->rx_bytes += d->len;
	} else {
		n->rx_errors++;
	}
	d->status = 0;
	unsigned done = n->rx_next;
	n->rx_next = (n->rx_next + 1) % E1000_RX_DESCS;
	wr(n, REG_RDT, done); /* give the buffer back */
	return 1;
}
