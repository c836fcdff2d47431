/* Idle TCP connections held open on purpose, for tests of the listeners' limits
 * (pre-authentication slots, idle reaping): they connect, never send, and count how the
 * peer ended them. */
#include "hv.h"
#include "net.h"
#include "net_hold.h"
#include "lwip/tcp.h"

static struct tcp_pcb *held[NET_HOLD_MAX];
static unsigned opened, connected, ended_by_peer;

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	uintptr_t i = (uintptr_t)arg;
	(void)err;
	if (p) { /* the peer spoke first (a hello would not come): read and ignore it */
		tcp_recved(pcb, p->tot_len);
		pbuf_free(p);
		return ERR_OK;
	}
	ended_by_peer++; /* FIN */
	held[i] = 0;
	tcp_arg(pcb, 0);
	tcp_recv(pcb, 0);
	tcp_err(pcb, 0);
	if (tcp_close(pcb) != ERR_OK) {
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	return ERR_OK;
}

static void on_err(void *arg, err_t err)
{
	(void)err; /* reset by the peer; lwIP has freed the pcb */
	held[(uintptr_t)arg] = 0;
	ended_by_peer++;
}

static err_t on_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
	(void)arg, (void)pcb, (void)err;
	connected++;
	return ERR_OK;
}

int net_hold_start(uint32_t ip, uint16_t port, unsigned n)
{
	if (!n || n > NET_HOLD_MAX)
		return HV_EINVAL;
	for (unsigned i = 0; i < NET_HOLD_MAX; i++)
		if (held[i]) {
			tcp_arg(held[i], 0);
			tcp_recv(held[i], 0);
			tcp_err(held[i], 0);
			tcp_abort(held[i]);
			held[i] = 0;
		}
	opened = connected = ended_by_peer = 0;
	ip_addr_t dst;
	ip_addr_set_ip4_u32(&dst, lwip_htonl(ip));
	for (uintptr_t i = 0; i < n; i++) {
		struct tcp_pcb *pcb = tcp_new();
		if (!pcb)
			return HV_ENOMEM;
		tcp_arg(pcb, (void *)i);
		tcp_recv(pcb, on_recv);
		tcp_err(pcb, on_err);
		if (tcp_connect(pcb, &dst, port, on_connected) != ERR_OK) {
			tcp_abort(pcb);
			return HV_EHW;
		}
		held[i] = pcb;
		opened++;
	}
	return HV_OK;
}

void net_hold_status(const struct printer *p)
{
	unsigned open = 0;
	for (unsigned i = 0; i < NET_HOLD_MAX; i++)
		open += held[i] != 0;
	pr_printf(p, "hold: opened=%u connected=%u open=%u ended_by_peer=%u\r\n", opened, connected, open,
		  ended_by_peer);
}
