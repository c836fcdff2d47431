/* Intel 8254x (e1000) NIC driver: polled descriptor rings, copy in and out. */
#ifndef HV_NET_E1000_H
#define HV_NET_E1000_H
#include <stddef.h>
#include <stdint.h>

#define E1000_RX_DESCS 256
#define E1000_TX_DESCS 256
#define E1000_BUF_SIZE 2048

struct e1000 {
	volatile uint8_t *mmio;
	uint64_t mmio_phys;
	uint8_t mac[6];
	void *rx_ring, *tx_ring; /* descriptor rings */
	uint8_t *rx_bufs, *tx_bufs;
	unsigned rx_next; /* next RX descriptor the NIC may have filled */
	unsigned tx_next; /* next TX descriptor we fill */
	uint64_t rx_frames, tx_frames, rx_errors, tx_full, rx_bytes, tx_bytes;
};

/* Finds an e1000 on the PCI bus, resets and programs it. mac_override may be
 * NULL (the EEPROM's address is used). */
int e1000_init(struct e1000 *nic, const uint8_t *mac_override);
/* Copies one frame of len bytes (<= 1514) to the wire. HV_ERANGE if too
 * long, HV_EAGAIN-like HV_ESTATE if the ring is full. */
int e1000_send(struct e1000 *nic, const void *frame, size_t len);
/* Hands the next received frame to fn (which must copy it); returns 1 if a
 * frame was consumed, 0 if none is waiting. */
int e1000_poll_rx(struct e1000 *nic, void (*fn)(void *ctx, const uint8_t *frame, size_t len), void *ctx);
int e1000_link_up(const struct e1000 *nic);
#endif
