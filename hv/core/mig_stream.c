/* The byte stream under a migration's secure channel: a TCP stream (lwIP) behind the
 * bandwidth cap, lent to the channel so it decrypts straight from the receive ring;
 * and the channel's configuration for either role. */
#include "arch.h"
#include "hv.h"
#include "mig_service.h"

uint64_t mig_now_ns(void)
{
	uint64_t t = arch_cycles();
	return t / hv_tsc_khz * 1000000ull + (t % hv_tsc_khz) * 1000000ull / hv_tsc_khz;
}

static uint64_t clock_now(void *ctx)
{
	(void)ctx;
	return mig_now_ns();
}
const struct mig_clock mig_hv_clock = { 0, clock_now };

static uint64_t cap_Bps(void) { return (uint64_t)hv_cfg.bw_cap_kib * 1024; }

static size_t bytes_writable(void *ctx)
{
	struct mig_side *m = ctx;
	size_t w = tcp_stream_writable(m->ts);
	uint64_t room =
		mig_bucket_room(&m->bucket, mig_now_ns(), cap_Bps(), MIG_MSG_BUF_SIZE(MIG_BATCH) + HVC_FRAME_OVERHEAD);
	return room < w ? (size_t)room : w;
}

static size_t bytes_pending(void *ctx)
{
	struct mig_side *m = ctx;
	return tcp_stream_unsent(m->ts);
}

static int bytes_send(void *ctx, const void *buf, size_t len)
{
	struct mig_side *m = ctx;
	if (tcp_stream_send(m->ts, buf, len))
		return -1;
	mig_bucket_take(&m->bucket, len, cap_Bps());
	return 0;
}

static long bytes_recv(void *ctx, void *buf, size_t len)
{
	struct mig_side *m = ctx;
	long n = tcp_stream_recv(m->ts, buf, len);
	return n == TCP_STREAM_EOF ? HVC_RECV_EOF : n < 0 ? -2 : n;
}

static long bytes_peek(void *ctx, const void **p, size_t len)
{
	struct mig_side *m = ctx;
	long n = tcp_stream_peek(m->ts, p, len);
	return n == TCP_STREAM_EOF ? HVC_RECV_EOF : n < 0 ? -2 : n;
}

static void bytes_consume(void *ctx, size_t n)
{
	struct mig_side *m = ctx;
	tcp_stream_consume(m->ts, n);
}

static int psk_lookup(void *ctx, uint32_t key_id, uint8_t *psk, size_t *len)
{
	(void)ctx;
	if (!hv_cfg.psk_len || key_id != hv_cfg.key_id)
		return -1;
	memcpy(psk, hv_cfg.psk, hv_cfg.psk_len);
	*len = hv_cfg.psk_len;
	return 0;
}

static void bind_bytes(struct mig_side *m)
{
	m->hvc.bytes.ctx = m;
	m->hvc.bytes.writable = bytes_writable;
	m->hvc.bytes.pending = bytes_pending;
	m->hvc.bytes.send = bytes_send;
	m->hvc.bytes.recv = bytes_recv;
	/* the channel decrypts straight from the stream's receive ring: no copy first */
	m->hvc.bytes.peek = bytes_peek;
	m->hvc.bytes.consume = bytes_consume;
}

int mig_stream_adopt(struct mig_side *m, struct hvc_channel *from)
{
	bind_bytes(m);
	struct hvc_transport t = mig_hvc_transport(&m->hvc);
	int err = hvc_channel_move(&m->ch, from, &t, m->bufs.txbuf, m->bufs.txbuf_len, m->bufs.ks_tx, m->bufs.ks_len,
				   m->bufs.ks_rx, m->bufs.ks_len);
	if (err)
		return hv_err_from_hvc(err);
	mig_hvc_link(&m->hvc, &m->ch, m->bufs.txbuf_len, &m->link);
	return HV_OK;
}

int mig_stream_setup(struct mig_side *m, enum hvc_role role)
{
	bind_bytes(m);
	struct hvc_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.role = role;
	cfg.policy = (enum hvc_policy)hv_cfg.mig_policy;
	cfg.key_id = hv_cfg.key_id;
	cfg.psk = hv_cfg.psk;
	cfg.psk_len = hv_cfg.psk_len;
	if (role == HVC_ROLE_SERVER)
		cfg.psk_lookup = psk_lookup;
	cfg.transport = mig_hvc_transport(&m->hvc);
	cfg.clock.now_ns = clock_now;
	cfg.entropy = arch_entropy;
	cfg.gcm_path = HVC_GCM_AUTO;
	cfg.rx_max = (uint32_t)m->bufs.msg_len;
	cfg.tx_buf = m->bufs.txbuf;
	cfg.tx_buf_len = m->bufs.txbuf_len;
	/* The pipelined keystream: filled while the link is the bottleneck, so
	 * sending and receiving a frame is only XOR, GHASH and the tag. */
	cfg.ks_tx_mem = m->bufs.ks_tx;
	cfg.ks_tx_len = m->bufs.ks_len;
	cfg.ks_rx_mem = m->bufs.ks_rx;
	cfg.ks_rx_len = m->bufs.ks_len;
	int err = hvc_channel_init(&m->ch, &cfg);
	memset(&cfg, 0, sizeof(cfg));
	if (err)
		return hv_err_from_hvc(err);
	mig_hvc_link(&m->hvc, &m->ch, m->bufs.txbuf_len, &m->link);
	return HV_OK;
}

void mig_side_end(struct mig_side *m)
{
	hvc_channel_destroy(&m->ch);
	if (m->ts) {
		/* What the engine queued last (CONFIRM, an ABORT with its reason) leaves before
		 * the FIN: lwIP keeps sending what it holds after a close, a reset would drop
		 * it. Bytes our ring could not hand over now go with a reset. */
		tcp_stream_poll(m->ts);
		/* lwIP answers a close with a reset while received bytes are unread (a peer
		 * still sending when this side gave up): drop them first. */
		tcp_stream_consume(m->ts, m->ts->rx_len);
		tcp_stream_close(m->ts, m->ts->tx_len != 0);
	}
	mig_bufs_free(&m->bufs, &hv_pages);
	if (m->vm)
		m->vm->migrating = 0;
	memset(m, 0, sizeof(*m));
}
