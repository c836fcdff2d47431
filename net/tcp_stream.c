/* Non-blocking TCP streams over lwIP's raw API: bounded rings on both sides,
 * receive window opened only as the application reads, errors as states. */
#include "hv.h"
#include "tcp_stream.h"
#include "lwip/tcp.h"

#define POOL 4
static struct tcp_stream pool[POOL];

static int rings_alloc(struct tcp_stream *s)
{
	uint64_t pages = TCP_STREAM_RING / PAGE_SIZE;
	uint64_t tx = page_alloc_contig(&hv_pages, pages, 1), rx = page_alloc_contig(&hv_pages, pages, 1);
	if (!tx || !rx) {
		if (tx)
			page_free_contig(&hv_pages, tx, pages);
		if (rx)
			page_free_contig(&hv_pages, rx, pages);
		return HV_ENOMEM;
	}
	s->tx = phys_to_virt(tx);
	s->rx = phys_to_virt(rx);
	s->cap = TCP_STREAM_RING;
	return HV_OK;
}

static void rings_free(struct tcp_stream *s)
{
	uint64_t pages = TCP_STREAM_RING / PAGE_SIZE;
	if (s->tx) {
		memset(s->tx, 0, s->cap);
		page_free_contig(&hv_pages, virt_to_phys(s->tx), pages);
	}
	if (s->rx) {
		memset(s->rx, 0, s->cap);
		page_free_contig(&hv_pages, virt_to_phys(s->rx), pages);
	}
	s->tx = s->rx = 0;
}

static void detach(struct tcp_stream *s)
{
	if (!s->pcb)
		return;
	tcp_arg(s->pcb, 0);
	tcp_recv(s->pcb, 0);
	tcp_sent(s->pcb, 0);
	tcp_err(s->pcb, 0);
}

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct tcp_stream *s = arg;
	(void)pcb;
	if (!s)
		return ERR_ABRT;
	if (!p) {
		if (s->state == TS_OPEN)
			s->state = TS_PEER_CLOSED;
		return ERR_OK;
	}
	if (err != ERR_OK) {
		pbuf_free(p);
		return ERR_OK;
	}
	if (p->tot_len > s->cap - s->rx_len)
		return ERR_MEM; /* the ring is full: lwIP keeps p and offers it again */
	size_t tail = (s->rx_head + s->rx_len) % s->cap;
	for (struct pbuf *q = p; q; q = q->next) {
		size_t first = s->cap - tail < q->len ? s->cap - tail : q->len;
		memcpy(s->rx + tail, q->payload, first);
		memcpy(s->rx, (uint8_t *)q->payload + first, q->len - first);
		tail = (tail + q->len) % s->cap;
	}
	s->rx_len += p->tot_len;
	s->bytes_in += p->tot_len;
	pbuf_free(p);
	return ERR_OK;
}

static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	(void)pcb;
	(void)len;
	tcp_stream_poll(arg);
	return ERR_OK;
}

static void on_err(void *arg, err_t err)
{
	struct tcp_stream *s = arg;
	if (!s)
		return;
	s->pcb = 0; /* lwIP has freed it */
	s->lwip_err = err;
	s->state = TS_FAILED;
}

static void attach(struct tcp_stream *s, struct tcp_pcb *pcb)
{
	s->pcb = pcb;
	s->sndbuf_max = tcp_sndbuf(pcb);
	tcp_arg(pcb, s);
	tcp_recv(pcb, on_recv);
	tcp_sent(pcb, on_sent);
	tcp_err(pcb, on_err);
	tcp_nagle_disable(pcb); /* messages are written whole: do not hold their tails */
}

static err_t on_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct tcp_stream *s = arg;
	(void)pcb;
	if (err != ERR_OK) {
		s->state = TS_FAILED;
		s->lwip_err = err;
		return err;
	}
	s->state = TS_OPEN;
	return ERR_OK;
}

int tcp_stream_connect(struct tcp_stream *s, uint32_t ip, uint16_t port)
{
	memset(s, 0, sizeof(*s));
	int err = rings_alloc(s);
	if (err)
		return err;
	struct tcp_pcb *pcb = tcp_new();
	if (!pcb) {
		rings_free(s);
		return HV_ENOMEM;
	}
	attach(s, pcb);
	s->peer_ip = ip;
	s->peer_port = port;
	s->state = TS_CONNECTING;
	ip_addr_t dst;
	ip_addr_set_ip4_u32(&dst, lwip_htonl(ip));
	if (tcp_connect(pcb, &dst, port, on_connected) != ERR_OK) {
		detach(s);
		tcp_abort(pcb);
		s->pcb = 0;
		rings_free(s);
		s->state = TS_FAILED;
		return HV_EHW;
	}
	return HV_OK;
}

static struct {
	tcp_stream_accept_fn fn;
	void *ctx;
} listeners[2];
static uint16_t listen_ports[2];

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	uintptr_t li = (uintptr_t)arg;
	if (err != ERR_OK || !pcb)
		return ERR_VAL;
	struct tcp_stream *s = 0;
	for (unsigned i = 0; i < POOL && !s; i++)
		if (pool[i].state == TS_FREE)
			s = &pool[i];
	if (!s || rings_alloc(s)) {
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	attach(s, pcb);
	s->state = TS_OPEN;
	s->peer_ip = lwip_ntohl(ip_addr_get_ip4_u32(&pcb->remote_ip));
	s->peer_port = pcb->remote_port;
	if (listeners[li].fn(listeners[li].ctx, s)) {
		detach(s);
		tcp_abort(pcb);
		s->pcb = 0;
		rings_free(s);
		memset(s, 0, sizeof(*s));
		return ERR_ABRT;
	}
	return ERR_OK;
}

int tcp_stream_listen(uint16_t port, tcp_stream_accept_fn accept, void *ctx)
{
	unsigned li = listen_ports[0] ? 1 : 0;
	if (listen_ports[li])
		return HV_ERANGE;
	struct tcp_pcb *pcb = tcp_new();
	if (!pcb)
		return HV_ENOMEM;
	if (tcp_bind(pcb, IP_ADDR_ANY, port) != ERR_OK) {
		tcp_close(pcb);
		return HV_EEXIST;
	}
	struct tcp_pcb *l = tcp_listen(pcb);
	if (!l) {
		tcp_close(pcb);
		return HV_ENOMEM;
	}
	listeners[li].fn = accept;
	listeners[li].ctx = ctx;
	listen_ports[li] = port;
	tcp_arg(l, (void *)(uintptr_t)li);
	tcp_accept(l, on_accept);
	return HV_OK;
}

size_t tcp_stream_writable(const struct tcp_stream *s)
{
	if (s->state != TS_OPEN && s->state != TS_PEER_CLOSED)
		return 0;
	return s->cap - s->tx_len;
}

int tcp_stream_send(struct tcp_stream *s, const void *buf, size_t len)
{
	if (s->state != TS_OPEN && s->state != TS_PEER_CLOSED)
		return HV_ESTATE;
	if (len > s->cap - s->tx_len)
		return HV_ENOMEM;
	size_t tail = (s->tx_head + s->tx_len) % s->cap;
	size_t first = s->cap - tail < len ? s->cap - tail : len;
	memcpy(s->tx + tail, buf, first);
	memcpy(s->tx, (const uint8_t *)buf + first, len - first);
	s->tx_len += len;
	tcp_stream_poll(s);
	return HV_OK;
}

/* Nothing to read: what the caller should hear (0, EOF or failure). */
static long rx_empty(const struct tcp_stream *s)
{
	if (s->state == TS_PEER_CLOSED || s->state == TS_CLOSED)
		return TCP_STREAM_EOF;
	if (s->state == TS_FAILED)
		return -2;
	return 0;
}

long tcp_stream_peek(struct tcp_stream *s, const void **p, size_t len)
{
	if (!s->rx_len)
		return rx_empty(s);
	size_t n = len < s->rx_len ? len : s->rx_len;
	if (n > s->cap - s->rx_head)
		n = s->cap - s->rx_head; /* contiguous: up to the ring's end */
	*p = s->rx + s->rx_head;
	return (long)n;
}

void tcp_stream_consume(struct tcp_stream *s, size_t n)
{
	if (n > s->rx_len)
		n = s->rx_len;
	s->rx_head = (s->rx_head + n) % s->cap;
	s->rx_len -= n;
	/* Only now does the peer get window back: reading is the flow control. */
	for (size_t left = n; left && s->pcb;) {
		u16_t step = left > 0xffff ? 0xffff : (u16_t)left;
		tcp_recved(s->pcb, step);
		left -= step;
	}
}

long tcp_stream_recv(struct tcp_stream *s, void *buf, size_t len)
{
	if (!s->rx_len)
		return rx_empty(s);
	size_t n = len < s->rx_len ? len : s->rx_len;
	size_t first = s->cap - s->rx_head < n ? s->cap - s->rx_head : n;
	memcpy(buf, s->rx + s->rx_head, first);
	memcpy((uint8_t *)buf + first, s->rx, n - first);
	tcp_stream_consume(s, n);
	return (long)n;
}

void tcp_stream_poll(struct tcp_stream *s)
{
	if (!s->pcb || (s->state != TS_OPEN && s->state != TS_PEER_CLOSED) || !s->tx_len)
		return;
	int wrote = 0;
	while (s->tx_len) {
		u32_t room = tcp_sndbuf(s->pcb);
		size_t n = s->cap - s->tx_head < s->tx_len ? s->cap - s->tx_head : s->tx_len;
		if (n > room)
			n = room;
		if (n > 0xffff)
			n = 0xffff;
		if (!n || tcp_sndqueuelen(s->pcb) >= TCP_SND_QUEUELEN - 8)
			break;
		err_t e = tcp_write(s->pcb, s->tx + s->tx_head, (u16_t)n,
				    TCP_WRITE_FLAG_COPY | (s->tx_len > n ? TCP_WRITE_FLAG_MORE : 0));
		if (e == ERR_MEM)
			break; /* lwIP's queue is full: try again from on_sent */
		if (e != ERR_OK) {
			s->lwip_err = e;
			s->state = TS_FAILED;
			return;
		}
		s->tx_head = (s->tx_head + n) % s->cap;
		s->tx_len -= n;
		s->bytes_out += n;
		wrote = 1;
	}
	if (wrote)
		tcp_output(s->pcb);
}

size_t tcp_stream_unsent(const struct tcp_stream *s)
{
	size_t n = s->tx_len;
	/* Queued in lwIP but not yet transmitted; bytes in flight are on the
	 * wire already and do not count. */
	if (s->pcb)
		n += (u32_t)(s->pcb->snd_lbb - s->pcb->snd_nxt);
	return n;
}

void tcp_stream_close(struct tcp_stream *s, int abort)
{
	if (s->pcb) {
		detach(s);
		if (abort || tcp_close(s->pcb) != ERR_OK)
			tcp_abort(s->pcb);
		s->pcb = 0;
	}
	rings_free(s);
	int pooled = s >= pool && s < pool + POOL;
	memset(s, 0, sizeof(*s));
	s->state = pooled ? TS_FREE : TS_CLOSED;
}
