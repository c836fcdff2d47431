/* Maps the channel's calls and error codes onto the engine's link interface. The channel
 * hands a whole frame to the transport at once, so room is checked before every send. */
#include "mig_link_hvc.h"

static int hvc_to_mig(int r)
{
	switch (r) {
	case HVC_OK: return MIG_OK;
	case HVC_AGAIN: return MIG_AGAIN;
	case HVC_E_PEER_CLOSED: return MIG_E_PEER_CLOSED;
	case HVC_E_TRUNCATED:
	case HVC_E_TRANSPORT: return MIG_E_TRANSPORT;
	case HVC_E_TIMEOUT: return MIG_E_TIMEOUT;
	/* The length that did not fit is not authenticated yet (its tag comes after the
	 * payload): it may be an attacker's edit, so it is the channel's rejection like any
	 * other failed frame, never the peer's bad message (issue 13, finding 9). */
	case HVC_E_BUF_TOO_SMALL:
	default: return MIG_E_CHANNEL;
	}
}

static int t_send(void *ctx, const void *buf, size_t len)
{
	struct mig_hvc *h = ctx;
	return h->bytes.send(h->bytes.ctx, buf, len) < 0 ? -1 : 0;
}

static long t_recv(void *ctx, void *buf, size_t len)
{
	struct mig_hvc *h = ctx;
	return h->bytes.recv(h->bytes.ctx, buf, len);
}

static int t_send2(void *ctx, const void *a, size_t alen, const void *b, size_t blen)
{
	struct mig_hvc *h = ctx;
	return h->bytes.send2(h->bytes.ctx, a, alen, b, blen) < 0 ? -1 : 0;
}

static long t_peek(void *ctx, const void **p, size_t len)
{
	struct mig_hvc *h = ctx;
	return h->bytes.peek(h->bytes.ctx, p, len);
}

static void t_consume(void *ctx, size_t n)
{
	struct mig_hvc *h = ctx;
	h->bytes.consume(h->bytes.ctx, n);
}

struct hvc_transport mig_hvc_transport(struct mig_hvc *h)
{
	int lend = h->bytes.peek && h->bytes.consume;
	struct hvc_transport t = {
		h, t_send, t_recv, lend ? t_peek : NULL, lend ? t_consume : NULL, h->bytes.send2 ? t_send2 : NULL
	};
	return t;
}

static int l_handshake(void *ctx)
{
	struct mig_hvc *h = ctx;
	int r = hvc_channel_handshake_step(h->ch);
	if (r < 0)
		h->last = r;
	if (r == HVC_OK && h->ch->peer_rx_max && h->ch->peer_rx_max < h->max_payload)
		h->max_payload = h->ch->peer_rx_max;
	if (r == HVC_E_TIMEOUT)
		return MIG_E_TIMEOUT;
	return r < 0 ? MIG_E_HANDSHAKE : hvc_to_mig(r);
}

static size_t l_writable(void *ctx)
{
	struct mig_hvc *h = ctx;
	size_t room = h->bytes.writable(h->bytes.ctx);
	/* A REKEY frame may precede the message. */
	if (room < 2 * HVC_FRAME_OVERHEAD)
		return 0;
	room -= 2 * HVC_FRAME_OVERHEAD;
	return room < h->max_payload ? room : h->max_payload;
}

static size_t l_pending(void *ctx)
{
	struct mig_hvc *h = ctx;
	return h->bytes.pending ? h->bytes.pending(h->bytes.ctx) : 0;
}

static int l_send(void *ctx, uint8_t type, const void *buf, size_t len)
{
	struct mig_hvc *h = ctx;
	int r = hvc_channel_send(h->ch, type, buf, len);
	if (r < 0)
		h->last = r;
	return hvc_to_mig(r);
}

static int l_sendv(void *ctx, uint8_t type, const void *head, size_t head_len, const void *const *pages,
		   unsigned npages)
{
	struct mig_hvc *h = ctx;
	int r = hvc_channel_sendv(h->ch, type, head, head_len, pages, npages, MIG_PAGE_SIZE);
	if (r < 0)
		h->last = r;
	return hvc_to_mig(r);
}

static void l_set_place(void *ctx, hvc_place_fn where, void *wctx)
{
	struct mig_hvc *h = ctx;
	hvc_channel_set_place(h->ch, where, wctx);
}

static int l_placed(void *ctx) { return hvc_channel_rx_placed(((struct mig_hvc *)ctx)->ch); }

static int l_recv(void *ctx, uint8_t *type, void *buf, size_t cap, size_t *len)
{
	struct mig_hvc *h = ctx;
	int r = hvc_channel_recv(h->ch, type, buf, cap, len);
	if (r < 0)
		h->last = r;
	return hvc_to_mig(r);
}

static int l_encrypted(void *ctx)
{
	struct mig_hvc *h = ctx;
	return hvc_channel_mode(h->ch) == HVC_MODE_ENCRYPTED;
}

static int l_detail(void *ctx) { return ((struct mig_hvc *)ctx)->last; }

/* Keystream for the stop-and-copy, made while the guest still runs: in the downtime each
 * frame then costs XOR + GHASH only. As many frames as the bytes need and the ring takes;
 * returns how many frames have keystream ready. */
static int l_prepare_stop(void *ctx, uint64_t bytes)
{
	struct mig_hvc *h = ctx;
	if (!h->max_payload || hvc_channel_mode(h->ch) != HVC_MODE_ENCRYPTED)
		return 0;
	uint64_t frames = bytes / h->max_payload + 2;
	hvc_channel_prefill_frames(h->ch, h->max_payload, 0, frames > UINT32_MAX ? UINT32_MAX : (uint32_t)frames);
	return (int)hvc_channel_tx_ks_ready(h->ch);
}

void mig_hvc_link(struct mig_hvc *h, struct hvc_channel *ch, size_t tx_buf_len, struct mig_link *out)
{
	h->ch = ch;
	h->last = 0;
	h->max_payload = tx_buf_len > HVC_FRAME_OVERHEAD ? tx_buf_len - HVC_FRAME_OVERHEAD : 0;
	out->ctx = h;
	out->handshake = l_handshake;
	out->writable = l_writable;
	out->pending = l_pending;
	out->send = l_send;
	out->recv = l_recv;
	out->encrypted = l_encrypted;
	out->detail = l_detail;
	out->prepare_stop = l_prepare_stop;
	out->sendv = l_sendv;
	out->set_place = l_set_place;
	out->placed = l_placed;
}
