/* The lwIP network interface over the e1000 driver: frames out through
 * linkoutput, frames in from net_poll. */
#include "hv.h"
#include "netif_e1000.h"
#include "lwip/etharp.h"
#include "lwip/pbuf.h"
#include "netif/ethernet.h"

static err_t linkoutput(struct netif *nif, struct pbuf *p)
{
	struct e1000 *nic = nif->state;
	uint8_t frame[1514];
	if (p->tot_len > sizeof(frame))
		return ERR_BUF;
	pbuf_copy_partial(p, frame, p->tot_len, 0);
	/* A full ring is lwIP's to retry (TCP retransmits); never spin here. */
	return e1000_send(nic, frame, p->tot_len) == HV_OK ? ERR_OK : ERR_MEM;
}

err_t netif_e1000_init(struct netif *nif)
{
	struct e1000 *nic = nif->state;
	nif->name[0] = 'e';
	nif->name[1] = '0';
	nif->output = etharp_output;
	nif->linkoutput = linkoutput;
	nif->mtu = 1500;
	nif->hwaddr_len = 6;
	memcpy(nif->hwaddr, nic->mac, 6);
	nif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET | NETIF_FLAG_LINK_UP;
	return ERR_OK;
}

static void deliver(void *ctx, const uint8_t *frame, size_t len)
{
	struct netif *nif = ctx;
	struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_POOL);
	if (!p)
		return; /* out of buffers: dropped, TCP recovers */
	pbuf_take(p, frame, (u16_t)len);
	if (nif->input(p, nif) != ERR_OK)
		pbuf_free(p);
}

unsigned netif_e1000_poll(struct netif *nif, unsigned budget)
{
	unsigned n = 0;
	while (n < budget && e1000_poll_rx(nif->state, deliver, nif))
		n++;
	return n;
}
