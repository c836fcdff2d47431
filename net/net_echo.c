/* TCP echo server on NET_ECHO_PORT and a client that sends a known byte
 * stream and checks every echoed byte; the result is an [hv] event line. */
#include "hv.h"
#include "net.h"
#include "net_echo.h"
#include "lwip/tcp.h"

/* The stream is a function of the offset, so the receiver can check it
 * without keeping what it sent. */
static uint8_t stream_byte(uint64_t off) { return (uint8_t)((off * 2654435761u) >> 13); }

static uint64_t served_conns, served_bytes, reaped_idle, refused_busy;
static unsigned live;

/* Connections silent this long are dropped, and only a few are served at once: lwIP has
 * MEMP_NUM_TCP_PCB control blocks for everything, the migration's streams included, and
 * idle echo connections must not be able to take them all. */
#define NET_ECHO_IDLE_MS    10000u
#define NET_ECHO_MAX_LIVE   2u
#define NET_ECHO_POLL_TICKS 25 /* lwIP slow-timer ticks (40 ms): about a second */

/* Each connection's arg is the time of its last activity, in ms. */
static void srv_forget(struct tcp_pcb *pcb)
{
	tcp_arg(pcb, 0);
	tcp_recv(pcb, 0);
	tcp_poll(pcb, 0, 0);
	tcp_err(pcb, 0);
	if (live)
		live--;
}

static void srv_err(void *arg, err_t err)
{
	(void)arg, (void)err; /* the pcb is already gone */
	if (live)
		live--;
}

static err_t srv_poll(void *arg, struct tcp_pcb *pcb)
{
	if (hv_now_ms() - (uint64_t)(uintptr_t)arg < NET_ECHO_IDLE_MS)
		return ERR_OK;
	reaped_idle++;
	srv_forget(pcb);
	tcp_abort(pcb);
	return ERR_ABRT;
}

static err_t srv_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	(void)arg;
	if (!p || err != ERR_OK) {
		if (p)
			pbuf_free(p);
		srv_forget(pcb);
		if (tcp_close(pcb) != ERR_OK)
			tcp_abort(pcb);
		return ERR_ABRT;
	}
	tcp_arg(pcb, (void *)(uintptr_t)hv_now_ms());
	/* Echo only what fits; the rest stays unacknowledged (flow control). */
	u32_t room = tcp_sndbuf(pcb); /* 32-bit with window scaling */
	if (p->tot_len > room)
		return ERR_MEM; /* lwIP keeps p and offers it again later */
	for (struct pbuf *q = p; q; q = q->next)
		if (tcp_write(pcb, q->payload, q->len, TCP_WRITE_FLAG_COPY) != ERR_OK) {
			pbuf_free(p);
			srv_forget(pcb);
			tcp_abort(pcb);
			return ERR_ABRT;
		}
	tcp_output(pcb);
	served_bytes += p->tot_len;
	tcp_recved(pcb, p->tot_len);
	pbuf_free(p);
	return ERR_OK;
}

static err_t srv_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	(void)arg;
	if (err != ERR_OK || !pcb)
		return ERR_VAL;
	if (live >= NET_ECHO_MAX_LIVE) {
		refused_busy++;
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	live++;
	served_conns++;
	tcp_arg(pcb, (void *)(uintptr_t)hv_now_ms());
	tcp_recv(pcb, srv_recv);
	tcp_err(pcb, srv_err);
	tcp_poll(pcb, srv_poll, NET_ECHO_POLL_TICKS);
	return ERR_OK;
}

void net_echo_listen(void)
{
	struct tcp_pcb *pcb = tcp_new();
	if (!pcb || tcp_bind(pcb, IP_ADDR_ANY, NET_ECHO_PORT) != ERR_OK) {
		hv_event("net: cannot bind the echo service to port %u", NET_ECHO_PORT);
		return;
	}
	struct tcp_pcb *l = tcp_listen(pcb);
	if (!l) {
		tcp_close(pcb);
		return;
	}
	tcp_accept(l, srv_accept);
}

/* ---- client ---- */
static struct {
	struct tcp_pcb *pcb;
	int active;
	uint64_t total, sent, checked;
	uint64_t t0;
	uint64_t deadline_ms;
} cl;

/* Ends the client run. Inside an lwIP callback pass abort=1 and return
 * ERR_ABRT: a pcb aborted there must not be touched by lwIP again. */
static void client_end(const char *why, int abort)
{
	if (cl.pcb) {
		tcp_arg(cl.pcb, 0);
		tcp_recv(cl.pcb, 0);
		tcp_sent(cl.pcb, 0);
		tcp_err(cl.pcb, 0);
		if (abort || tcp_close(cl.pcb) != ERR_OK)
			tcp_abort(cl.pcb);
	}
	uint64_t ms = hv_now_ms() - cl.t0;
	if (!why)
		hv_event("net echo: %lu bytes verified in %lu ms (%lu KiB/s) ok", (unsigned long)cl.checked,
			 (unsigned long)ms, (unsigned long)(ms ? cl.checked * 1000 / 1024 / ms : 0));
	else
		hv_event("net echo: FAILED after %lu of %lu bytes: %s", (unsigned long)cl.checked,
			 (unsigned long)cl.total, why);
	cl.pcb = 0;
	cl.active = 0;
}

static void client_push(void)
{
	uint8_t chunk[1460];
	while (cl.sent < cl.total) {
		u32_t room = tcp_sndbuf(cl.pcb);
		uint64_t n = cl.total - cl.sent;
		if (n > sizeof(chunk))
			n = sizeof(chunk);
		if (room < n || tcp_sndqueuelen(cl.pcb) >= TCP_SND_QUEUELEN - 4)
			break;
		for (uint64_t i = 0; i < n; i++)
			chunk[i] = stream_byte(cl.sent + i);
		if (tcp_write(cl.pcb, chunk, (u16_t)n, TCP_WRITE_FLAG_COPY) != ERR_OK)
			break;
		cl.sent += n;
	}
	tcp_output(cl.pcb);
}

static err_t cl_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	(void)arg;
	if (!p || err != ERR_OK) {
		if (p)
			pbuf_free(p);
		cl.pcb = pcb;
		client_end("connection closed by the peer", 1);
		return ERR_ABRT;
	}
	for (struct pbuf *q = p; q; q = q->next) {
		const uint8_t *b = q->payload;
		for (u16_t i = 0; i < q->len; i++, cl.checked++)
			if (cl.checked >= cl.total || b[i] != stream_byte(cl.checked)) {
				pbuf_free(p);
				client_end(cl.checked >= cl.total ? "peer echoed more than was sent"
								  : "echoed byte differs",
					   1);
				return ERR_ABRT;
			}
	}
	tcp_recved(pcb, p->tot_len);
	pbuf_free(p);
	if (cl.checked == cl.total) {
		client_end(0, 1); /* all verified: a reset is as good as a close here */
		return ERR_ABRT;
	}
	return ERR_OK;
}

static err_t cl_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	(void)arg;
	(void)pcb;
	(void)len;
	client_push();
	return ERR_OK;
}

static void cl_err(void *arg, err_t err)
{
	(void)arg;
	cl.pcb = 0; /* lwIP already freed it */
	char why[48];
	hv_snprintf(why, sizeof(why), "TCP error %d", (int)err);
	client_end(why, 0);
}

static err_t cl_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
	(void)arg;
	if (err != ERR_OK)
		return err;
	cl.pcb = pcb;
	client_push();
	return ERR_OK;
}

int net_echo_start(uint32_t ip, uint64_t bytes)
{
	if (cl.active)
		return HV_EEXIST;
	memset(&cl, 0, sizeof(cl));
	cl.pcb = tcp_new();
	if (!cl.pcb)
		return HV_ENOMEM;
	cl.total = bytes;
	cl.t0 = hv_now_ms();
	cl.deadline_ms = cl.t0 + 120000;
	cl.active = 1;
	tcp_recv(cl.pcb, cl_recv);
	tcp_sent(cl.pcb, cl_sent);
	tcp_err(cl.pcb, cl_err);
	ip_addr_t dst;
	ip_addr_set_ip4_u32(&dst, lwip_htonl(ip));
	if (tcp_connect(cl.pcb, &dst, NET_ECHO_PORT, cl_connected) != ERR_OK) {
		client_end("connect failed", 1);
		return HV_EHW;
	}
	return HV_OK;
}

void net_echo_poll(void)
{
	if (cl.active && hv_now_ms() > cl.deadline_ms)
		client_end("timed out after 120 s", 1);
}

void net_echo_status(const struct printer *p)
{
	pr_printf(p,
		  "echo: served_connections=%lu served_bytes=%lu live=%u reaped_idle=%lu refused_busy=%lu "
		  "idle_limit_ms=%u client=%s\r\n",
		  (unsigned long)served_conns, (unsigned long)served_bytes, live, (unsigned long)reaped_idle,
		  (unsigned long)refused_busy, NET_ECHO_IDLE_MS, cl.active ? "running" : "idle");
}
