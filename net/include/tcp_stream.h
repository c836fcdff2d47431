/* A non-blocking TCP byte stream over lwIP's raw API, with bounded send and
 * receive rings: the transport the migration channel runs on. Flow control is
 * real: received bytes are acknowledged to the peer only once read. */
#ifndef HV_TCP_STREAM_H
#define HV_TCP_STREAM_H
#include <stddef.h>
#include <stdint.h>

enum tcp_stream_state { TS_FREE = 0, TS_CONNECTING, TS_OPEN, TS_PEER_CLOSED, TS_CLOSED, TS_FAILED };

struct tcp_pcb;
struct pbuf;
struct tcp_stream {
	enum tcp_stream_state state;
	int lwip_err; /* last lwIP error (err_t), 0 if none */
	struct tcp_pcb *pcb;
	uint8_t *tx, *rx;
	size_t cap, tx_head, tx_len, rx_head, rx_len;
	uint32_t peer_ip; /* host byte order */
	uint16_t peer_port;
	uint64_t bytes_in, bytes_out;
	uint32_t sndbuf_max; /* lwIP's send buffer when empty (it caps TCP_SND_BUF) */
};

/* Shallow on purpose: the migration engine paces itself by what the stream
 * accepts, and every queued byte delays the replies behind it. */
#define TCP_STREAM_RING (128u * 1024)
#define TCP_STREAM_EOF	(-1L)

/* Starts a connection to ip:port (host byte order). */
int tcp_stream_connect(struct tcp_stream *s, uint32_t ip, uint16_t port);
/* Listens on port; accept(ctx, s) is called with each new open stream and
 * returns nonzero to refuse it (the connection is then reset). At most one
 * listener per port; the streams come from a small internal pool. */
typedef int (*tcp_stream_accept_fn)(void *ctx, struct tcp_stream *s);
int tcp_stream_listen(uint16_t port, tcp_stream_accept_fn accept, void *ctx);
/* Bytes send can take now (all or nothing). */
size_t tcp_stream_writable(const struct tcp_stream *s);
int tcp_stream_send(struct tcp_stream *s, const void *buf, size_t len);
/* >0 bytes, 0 nothing yet, TCP_STREAM_EOF when the peer closed and all was
 * read, <0 another error (reset, timeout). */
long tcp_stream_recv(struct tcp_stream *s, void *buf, size_t len);
/* Received bytes in place: *p and up to len contiguous bytes of the receive ring
 * (return values as recv); they stay until tcp_stream_consume drops them, which
 * is also when the peer gets the window back. */
long tcp_stream_peek(struct tcp_stream *s, const void **p, size_t len);
void tcp_stream_consume(struct tcp_stream *s, size_t n);
/* Moves queued bytes into lwIP; call from the poll loop. */
void tcp_stream_poll(struct tcp_stream *s);
/* Bytes queued here or in lwIP that have not been transmitted yet. */
size_t tcp_stream_unsent(const struct tcp_stream *s);
/* Graceful close (abort=0) or reset (abort=1); the rings are zeroed (they
 * may have held plaintext before encryption) and returned. */
void tcp_stream_close(struct tcp_stream *s, int abort);
#endif
