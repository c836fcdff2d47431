/* Channel data path: frame I/O over the caller's transport, AES-256-GCM per frame with
 * keystream from the ring when ready (the payload left in the clear but still tagged in
 * plaintext mode), rekeying, stall timeouts, teardown. */
#include "channel_internal.h"
#include "ghash_xor.h"
#include "hkdf_sha256.h"
#include "mem_secure.h"

static uint64_t now_ns(struct hvc_channel *ch)
{
	return ch->cfg.clock.now_ns ? ch->cfg.clock.now_ns(ch->cfg.clock.ctx) : 0;
}

/* Wipes a direction's ring. Jobs still out may write into it afterwards: no fills until
 * they are back (their done zeroes what they wrote). */
static void dir_ring_wipe(struct hvc_dir *d)
{
	hvc_ks_ring_wipe(&d->ring);
	if (d->jobs_out)
		d->ring_blocked = 1;
}

void hvc__wipe_secrets(struct hvc_channel *ch)
{
	dir_ring_wipe(&ch->tx);
	dir_ring_wipe(&ch->rx);
	hvc_gcm_key_wipe(&ch->tx.key);
	hvc_gcm_key_wipe(&ch->rx.key);
	hvc_zero(ch->tx.secret, sizeof(ch->tx.secret));
	hvc_zero(ch->rx.secret, sizeof(ch->rx.secret));
	hvc_zero(ch->tx.salt, sizeof(ch->tx.salt));
	hvc_zero(ch->rx.salt, sizeof(ch->rx.salt));
	hvc_zero(ch->psk, sizeof(ch->psk));
	hvc_zero(ch->prk, sizeof(ch->prk));
	hvc_zero(ch->nonce_own, sizeof(ch->nonce_own));
	hvc_zero(ch->nonce_peer, sizeof(ch->nonce_peer));
	hvc_zero(ch->dh_priv, sizeof(ch->dh_priv));
	hvc_zero(ch->rx_small, sizeof(ch->rx_small));
	hvc_zero(ch->ks_chunk, sizeof(ch->ks_chunk));
	hvc_zero(ch->rx_gctx, sizeof(ch->rx_gctx));
	hvc__rx_scrub_partial(ch);
	if (ch->cfg.tx_buf)
		hvc_zero(ch->cfg.tx_buf, ch->cfg.tx_buf_len);
}

int hvc__fail(struct hvc_channel *ch, int err)
{
	hvc__wipe_secrets(ch);
	ch->state = HVC_ST_DEAD;
	ch->last_error = err;
	return err;
}

int hvc_channel_init(struct hvc_channel *ch, const struct hvc_config *cfg)
{
	if (!ch || !cfg)
		return HVC_E_INVAL;
	hvc_zero(ch, sizeof(*ch));
	if ((cfg->role != HVC_ROLE_CLIENT && cfg->role != HVC_ROLE_SERVER) ||
	    (unsigned)cfg->policy > HVC_POLICY_DISABLED || !cfg->transport.send || !cfg->transport.recv ||
	    !cfg->transport.peek != !cfg->transport.consume || !cfg->entropy || !cfg->tx_buf ||
	    cfg->tx_buf_len < HVC_FRAME_OVERHEAD + 64 || (unsigned)cfg->gcm_path >= HVC_GCM_NPATHS)
		return HVC_E_INVAL;
	if (cfg->role == HVC_ROLE_CLIENT || !cfg->psk_lookup) {
		if (!cfg->psk || cfg->psk_len < HVC_PSK_MIN || cfg->psk_len > HVC_PSK_MAX)
			return HVC_E_INVAL;
	}
	if (cfg->rx_max && (cfg->rx_max < HVC_MIN_RX_MAX || cfg->rx_max > HVC_MAX_PAYLOAD))
		return HVC_E_INVAL;
	/* Every mode tags its frames: AES is needed even when encryption is off. */
	int prc = hvc_gcm_path_available(cfg->gcm_path);
	if (prc != HVC_OK)
		return prc;
	ch->cfg = *cfg;
	if (!ch->cfg.rx_max)
		ch->cfg.rx_max = HVC_DEFAULT_RX_MAX;
	if (!ch->cfg.ks_ahead)
		ch->cfg.ks_ahead = HVC_DEFAULT_KS_AHEAD;
	if (!ch->cfg.stall_timeout_ns)
		ch->cfg.stall_timeout_ns = HVC_DEFAULT_STALL_NS;
	if (!ch->cfg.rekey_msgs || ch->cfg.rekey_msgs > HVC_REKEY_HARD_MSGS)
		ch->cfg.rekey_msgs = ch->cfg.rekey_msgs ? HVC_REKEY_HARD_MSGS : HVC_REKEY_DEFAULT_MSGS;
	if (!ch->cfg.rekey_bytes || ch->cfg.rekey_bytes > HVC_REKEY_HARD_BYTES)
		ch->cfg.rekey_bytes = ch->cfg.rekey_bytes ? HVC_REKEY_HARD_BYTES : HVC_REKEY_DEFAULT_BYTES;
	if (!ch->cfg.hard_msgs || ch->cfg.hard_msgs > HVC_REKEY_HARD_MSGS)
		ch->cfg.hard_msgs = HVC_REKEY_HARD_MSGS;
	if (!ch->cfg.hard_bytes || ch->cfg.hard_bytes > HVC_REKEY_HARD_BYTES)
		ch->cfg.hard_bytes = HVC_REKEY_HARD_BYTES;
	if (cfg->psk) {
		memcpy(ch->psk, cfg->psk, cfg->psk_len);
		ch->psk_len = cfg->psk_len;
	}
	ch->cfg.psk = NULL; /* our copy is wiped after the handshake; do not keep the caller's */
	hvc_ks_ring_init(&ch->tx.ring, cfg->ks_tx_mem, cfg->ks_tx_len);
	hvc_ks_ring_init(&ch->rx.ring, cfg->ks_rx_mem, cfg->ks_rx_len);
	ch->state = HVC_ST_INIT;
	return HVC_OK;
}

int hvc__dir_load(struct hvc_channel *ch, struct hvc_dir *d)
{
	uint8_t key[32];
	int rc;
	hvc_hkdf_expand_label(d->secret, "hvc1 key", key, 32);
	hvc_hkdf_expand_label(d->secret, "hvc1 salt", d->salt, 12);
	rc = hvc_gcm_key_init(&d->key, ch->cfg.gcm_path, key);
	hvc_zero(key, sizeof(key));
	d->epoch_msgs = d->epoch_bytes = 0;
	return rc;
}

/* Next epoch of one direction: secret' = HKDF-Expand(secret, "hvc1 next", 32). */
static int dir_next(struct hvc_channel *ch, struct hvc_dir *d)
{
	uint8_t next[32];
	hvc_hkdf_expand_label(d->secret, "hvc1 next", next, 32);
	memcpy(d->secret, next, 32);
	hvc_zero(next, sizeof(next));
	dir_ring_wipe(d);
	hvc_gcm_key_wipe(&d->key);
	d->epoch++;
	return hvc__dir_load(ch, d);
}

static int stall_check(struct hvc_channel *ch)
{
	uint64_t t = now_ns(ch);
	if (!ch->cfg.clock.now_ns)
		return HVC_AGAIN;
	if (!ch->last_progress_ns) {
		ch->last_progress_ns = t ? t : 1;
		return HVC_AGAIN;
	}
	if (t - ch->last_progress_ns > ch->cfg.stall_timeout_ns)
		return hvc__fail(ch, HVC_E_TIMEOUT);
	return HVC_AGAIN;
}

/* Header checks for the established state, in the order documented in protocol.md. */
static int data_check_hdr(struct hvc_channel *ch, const struct hvc_frame_hdr *h)
{
	if (h->type < HVC_FT_REKEY)
		return HVC_E_UNEXPECTED_FRAME;
	if (((h->flags & HVC_FLAG_ENCRYPTED) != 0) != (ch->mode == HVC_MODE_ENCRYPTED))
		return HVC_E_BAD_FLAGS;
	if (h->type < HVC_FT_APP_MIN && h->length != 0)
		return HVC_E_BAD_LENGTH;
	if (h->length > ch->cfg.rx_max)
		return HVC_E_TOO_LONG;
	if (h->seq < ch->rx.seq)
		return HVC_E_REPLAY;
	if (h->seq > ch->rx.seq)
		return HVC_E_REORDER;
	if (h->type >= HVC_FT_APP_MIN &&
	    (ch->rx.epoch_msgs + 1 > ch->cfg.hard_msgs || ch->rx.epoch_bytes + h->length > ch->cfg.hard_bytes))
		return HVC_E_REKEY_OVERDUE;
	return HVC_OK;
}

void hvc__frame_done(struct hvc_channel *ch)
{
	ch->rx_got = 0;
	ch->rx_hdr_ok = 0;
	ch->rx_hashed = 0;
	ch->rx_fused = 0;
	ch->rx_buf = NULL;
	hvc_zero(ch->rx_ghash, sizeof(ch->rx_ghash));
	if (ch->rx_stream)
		hvc_zero(ch->rx_gctx, sizeof(ch->rx_gctx));
	ch->rx_stream = 0;
}

void hvc__rx_scrub_partial(struct hvc_channel *ch)
{
	if (ch->rx_buf && ch->rx_got > HVC_HDR_LEN) {
		size_t n = ch->rx_got - HVC_HDR_LEN;
		hvc_zero(ch->rx_buf, n < ch->rx_h.length ? n : ch->rx_h.length);
	}
	ch->rx_buf = NULL;
}

/* Hashes n bytes of ciphertext at in (payload offset off, a multiple of 16) and writes
 * their plaintext to out (in may equal out), with keystream from the ring or made here a
 * chunk at a time (in L1). */
static void rx_open_piece(struct hvc_channel *ch, const uint8_t *in, uint8_t *out, size_t off, size_t n)
{
	struct hvc_dir *d = &ch->rx;
	if (!(ch->rx_h.flags & HVC_FLAG_ENCRYPTED)) {
		/* A plaintext frame lent by the transport: hashed and copied in one pass, as
		 * the fused decrypt does, with a keystream of zeros (ks_chunk is kept zero
		 * between uses). */
		for (size_t done = 0; done < n;) {
			size_t step = n - done < HVC_SEND_CHUNK ? n - done : HVC_SEND_CHUNK;
			hvc_ghash_xor_dec(&d->key, ch->rx_ghash, ch->ks_chunk, in + done, out + done, step);
			done += step;
		}
		return;
	}
	if (ch->rx_stream) {
		hvc_gcm_stream_dec_update(&d->key, ch->rx_gctx, out, in, n);
		return;
	}
	const uint8_t *ks = hvc_ks_ring_peek(&d->ring, d->epoch, d->seq, ch->rx_h.length);
	uint8_t nonce[12];
	if (ks) {
		hvc_ghash_xor_dec(&d->key, ch->rx_ghash, ks + HVC_TAG_LEN + off, in, out, n);
		return;
	}
	hvc_frame_nonce(d->salt, d->seq, nonce);
	for (size_t done = 0; done < n;) {
		size_t step = n - done < HVC_SEND_CHUNK ? n - done : HVC_SEND_CHUNK;
		hvc_gcm_keystream(&d->key, nonce, 2 + (uint32_t)((off + done) / 16), ch->ks_chunk, step);
		hvc_ghash_xor_dec(&d->key, ch->rx_ghash, ch->ks_chunk, in + done, out + done, step);
		done += step;
	}
	hvc_zero(ch->ks_chunk, n < HVC_SEND_CHUNK ? n : HVC_SEND_CHUNK);
}

/* Where the plaintext of payload offset off goes: the caller's placement for the region
 * holding off (asked when off reaches the end of the previous region), or payload + off
 * (no placement, or a region kept in place); *n: how many bytes of the region follow.
 * NULL when the placement broke its rules (a region empty, past the payload, or not
 * ending on a 16-byte block before the payload's end). */
static uint8_t *rx_out(struct hvc_channel *ch, uint8_t *payload, size_t off, size_t *n)
{
	size_t len = ch->rx_h.length;
	if (!ch->rx_place_on) {
		*n = len - off;
		return payload + off;
	}
	if (off == ch->rx_reg_end) {
		size_t m = 0;
		uint8_t *p = ch->place_fn(ch->place_ctx, ch->rx_h.type, payload, len, off, &m);
		if (!m || m > len - off || ((off + m) % 16 && off + m != len))
			return NULL;
		ch->rx_reg_start = off;
		ch->rx_reg_end = off + m;
		ch->rx_reg_out = p;
	}
	if (off < ch->rx_reg_start || off >= ch->rx_reg_end)
		return NULL;
	*n = ch->rx_reg_end - off;
	return ch->rx_reg_out ? ch->rx_reg_out + (off - ch->rx_reg_start) : payload + off;
}

/* rx_open_piece over n bytes at payload offset off, each region's plaintext written
 * where rx_out says. HVC_OK, or HVC_E_INVAL for a placement that broke its rules. */
static int rx_open_to(struct hvc_channel *ch, const uint8_t *in, uint8_t *payload, size_t off, size_t n)
{
	while (n) {
		size_t m;
		uint8_t *out = rx_out(ch, payload, off, &m);
		if (!out)
			return HVC_E_INVAL;
		if (m > n)
			m = n;
		rx_open_piece(ch, in, out, off, m);
		in += m;
		off += m;
		n -= m;
	}
	return HVC_OK;
}

/* How an encrypted frame's payload is opened as it arrives, decided once per frame (the
 * running GHASH lives in rx_ghash or in rx_gctx, not both): with keystream from the ring
 * or our fast keystream, fused XOR+GHASH; else, where the path has it, its one-pass
 * streaming decrypt; else GHASH now and CTR after the tag. */
static void rx_frame_start(struct hvc_channel *ch)
{
	struct hvc_dir *d = &ch->rx;
	if (!(ch->rx_h.flags & HVC_FLAG_ENCRYPTED)) { /* plaintext: hashed as it is, nothing to open */
		hvc_zero(ch->rx_ghash, 16);
		hvc_gcm_ghash(&d->key, ch->rx_ghash, ch->rx_hdr, HVC_HDR_LEN);
		/* from a lending transport: hash while copying out of its buffer (one pass);
		 * else the copy is the transport's and the hash follows it in cache (and a
		 * placement is not used: hashing in cache, then a streaming copy, is cheaper
		 * than hashing while copying with ordinary stores into cold pages) */
		ch->rx_fused = ch->cfg.transport.peek != NULL;
		return;
	}
	int ready = hvc_ks_ring_peek(&d->ring, d->epoch, d->seq, ch->rx_h.length) != NULL;
	if (!ready && ch->rx_h.length && !hvc_gcm_fast_keystream(&d->key) && hvc_gcm_stream_dec_available(&d->key)) {
		uint8_t nonce[12];
		hvc_frame_nonce(d->salt, d->seq, nonce);
		hvc_gcm_stream_dec_init(&d->key, ch->rx_gctx, nonce, ch->rx_hdr, HVC_HDR_LEN);
		ch->rx_stream = 1;
		ch->rx_fused = 1;
		return;
	}
	hvc_zero(ch->rx_ghash, 16);
	hvc_gcm_ghash(&d->key, ch->rx_ghash, ch->rx_hdr, HVC_HDR_LEN);
	ch->rx_fused = ready || hvc_gcm_fast_keystream(&d->key);
}

/* The payload bytes in payload[rx_hashed, received) that make whole blocks (or end the
 * payload) are hashed while still in cache, and decrypted in the same pass where the
 * keystream is cheap (rx_fused). */
static int rx_advance(struct hvc_channel *ch, uint8_t *payload)
{
	size_t have = ch->rx_got - HVC_HDR_LEN;
	if (have > ch->rx_h.length)
		have = ch->rx_h.length;
	size_t upto = have == ch->rx_h.length ? have : have & ~(size_t)15;
	if (upto <= ch->rx_hashed)
		return HVC_OK;
	uint8_t *p = payload + ch->rx_hashed;
	if (ch->rx_fused) {
		if (rx_open_to(ch, p, payload, ch->rx_hashed, upto - ch->rx_hashed) != HVC_OK)
			return HVC_E_INVAL;
	} else {
		hvc_gcm_ghash(&ch->rx.key, ch->rx_ghash, p, upto - ch->rx_hashed);
	}
	ch->rx_hashed = upto;
	return HVC_OK;
}

/* Fused frames over a transport that lends its buffer: hash and decrypt straight from it
 * into payload, whole blocks at a time, with no copy of the ciphertext. Returns what
 * peek returned when that was not > 0; else the bytes taken, or 0 with *copy_n set when
 * the transport lends less than a block now (the copy path takes those copy_n bytes). */
static long rx_from_view(struct hvc_channel *ch, uint8_t *payload, size_t want, size_t *copy_n)
{
	const void *v = NULL;
	long n = ch->cfg.transport.peek(ch->cfg.transport.ctx, &v, want);
	if (n < 0 && n != HVC_RECV_EOF)
		return -2;
	if (n <= 0)
		return n;
	if ((size_t)n > want || !v)
		return -2;
	size_t left = ch->rx_h.length - ch->rx_hashed;
	size_t m = (size_t)n == left ? (size_t)n : (size_t)n & ~(size_t)15;
	if (!m) {
		*copy_n = (size_t)n;
		return 0;
	}
	if (rx_open_to(ch, v, payload, ch->rx_hashed, m) != HVC_OK)
		return -3;
	ch->cfg.transport.consume(ch->cfg.transport.ctx, m);
	ch->rx_hashed += m;
	return (long)m;
}

int hvc__recv_frame(struct hvc_channel *ch, uint8_t *payload, size_t cap)
{
	for (;;) {
		uint8_t *dst;
		size_t want, total;
		int tagged_payload = 0;
		if (ch->rx_got < HVC_HDR_LEN) {
			dst = ch->rx_hdr + ch->rx_got;
			want = HVC_HDR_LEN - ch->rx_got;
		} else {
			if (!ch->rx_hdr_ok) {
				int rc = hvc_frame_hdr_decode(ch->rx_hdr, &ch->rx_h);
				/* A hello in another version is a peer of another release: say so. */
				if (rc == HVC_E_BAD_VERSION &&
				    (ch->state == HVC_ST_C_WAIT_HELLO_S || ch->state == HVC_ST_S_WAIT_HELLO_C))
					rc = HVC_E_PROTO_VERSION;
				if (rc == HVC_OK)
					rc = ch->state == HVC_ST_ESTABLISHED ? data_check_hdr(ch, &ch->rx_h)
									     : hvc__hs_check_hdr(ch, &ch->rx_h);
				if (rc != HVC_OK)
					return hvc__fail(ch, rc);
				ch->rx_hdr_ok = 1;
				ch->rx_hashed = 0;
				ch->rx_fused = 0;
				ch->rx_stream = 0;
				ch->rx_reg_start = ch->rx_reg_end = 0;
				ch->rx_reg_out = NULL;
				if (ch->state == HVC_ST_ESTABLISHED)
					rx_frame_start(ch);
				/* plaintext is placed only where it is copied anyway (lent) */
				ch->rx_place_on = ch->state == HVC_ST_ESTABLISHED && ch->place_fn != NULL &&
						  ((ch->rx_h.flags & HVC_FLAG_ENCRYPTED) || ch->rx_fused);
			}
			if (ch->rx_h.length > cap)
				return HVC_E_BUF_TOO_SMALL;
			/* Handshake frames are authenticated by the finished MACs instead. */
			size_t tag = ch->state == HVC_ST_ESTABLISHED ? HVC_TAG_LEN : 0;
			total = HVC_HDR_LEN + ch->rx_h.length + tag;
			if (ch->rx_got == total)
				return HVC_OK;
			if (ch->rx_got < HVC_HDR_LEN + ch->rx_h.length) {
				if (ch->rx_got > HVC_HDR_LEN && payload != ch->rx_buf)
					return hvc__fail(ch, HVC_E_INVAL); /* one frame, one buffer */
				ch->rx_buf = payload;
				dst = payload + (ch->rx_got - HVC_HDR_LEN);
				want = HVC_HDR_LEN + ch->rx_h.length - ch->rx_got;
				if (want > HVC_RECV_PIECE)
					want = HVC_RECV_PIECE;
				tagged_payload = ch->state == HVC_ST_ESTABLISHED;
				size_t have = ch->rx_got - HVC_HDR_LEN;
				if (tagged_payload && ch->rx_fused && ch->cfg.transport.peek && (have & 15)) {
					/* copied up to a partial block (the transport's buffer wrapped):
					 * copy only to the block's end, then lend again */
					if (want > 16 - (have & 15))
						want = 16 - (have & 15);
				} else if (tagged_payload && ch->rx_fused && ch->cfg.transport.peek &&
					   ch->rx_hashed == have) {
					size_t copy_n = 0;
					long n = rx_from_view(ch, payload, want, &copy_n);
					if (n > 0) {
						ch->rx_got += (size_t)n;
						ch->last_progress_ns = 0;
						continue;
					}
					if (n == HVC_RECV_EOF)
						return hvc__fail(ch, HVC_E_TRUNCATED);
					if (n == -3)
						return hvc__fail(ch, HVC_E_INVAL);
					if (n < 0)
						return hvc__fail(ch, HVC_E_TRANSPORT);
					if (!copy_n)
						return stall_check(ch);
					want = copy_n;
				}
			} else {
				dst = ch->rx_small + (ch->rx_got - HVC_HDR_LEN - ch->rx_h.length);
				want = total - ch->rx_got;
			}
		}
		long n = ch->cfg.transport.recv(ch->cfg.transport.ctx, dst, want);
		if (n > 0 && (size_t)n <= want) {
			ch->rx_got += (size_t)n;
			ch->last_progress_ns = 0;
			if (tagged_payload && rx_advance(ch, payload) != HVC_OK)
				return hvc__fail(ch, HVC_E_INVAL);
			continue;
		}
		if (n == 0)
			return stall_check(ch);
		if (n == HVC_RECV_EOF)
			return hvc__fail(ch, HVC_E_TRUNCATED);
		return hvc__fail(ch, HVC_E_TRANSPORT);
	}
}

int hvc__send_hs_frame(struct hvc_channel *ch, uint8_t type, const uint8_t *payload, size_t len)
{
	struct hvc_frame_hdr h = { HVC_PROTO_VERSION, type, 0, (uint32_t)len, ch->tx.seq };
	uint8_t *f = ch->cfg.tx_buf;
	hvc_frame_hdr_encode(&h, f);
	memcpy(f + HVC_HDR_LEN, payload, len);
	if (ch->transcript_len + HVC_HDR_LEN + len > sizeof(ch->transcript))
		return hvc__fail(ch, HVC_E_STATE);
	memcpy(ch->transcript + ch->transcript_len, f, HVC_HDR_LEN + len);
	ch->transcript_len += HVC_HDR_LEN + len;
	ch->tx.seq++;
	int rc = ch->cfg.transport.send(ch->cfg.transport.ctx, f, HVC_HDR_LEN + len);
	hvc_zero(f, HVC_HDR_LEN + len);
	if (rc < 0)
		return hvc__fail(ch, HVC_E_TRANSPORT);
	return HVC_OK;
}

/* A payload to send: head_len bytes at head, then nparts parts of part_len bytes each
 * (a message gathered from where its pieces lie; nparts 0 for an ordinary buffer). */
struct gather {
	const uint8_t *head;
	size_t head_len;
	const void *const *parts;
	unsigned nparts;
	size_t part_len;
};

static size_t gather_len(const struct gather *g) { return g->head_len + (size_t)g->nparts * g->part_len; }

/* The payload bytes at offset off and how many follow contiguously there. */
static const uint8_t *gather_at(const struct gather *g, size_t off, size_t *n)
{
	if (off < g->head_len) {
		*n = g->head_len - off;
		return g->head + off;
	}
	off -= g->head_len;
	size_t i = off / g->part_len, in = off % g->part_len;
	*n = g->part_len - in;
	return (const uint8_t *)g->parts[i] + in;
}

/* Copies the payload into the frame's place in tx_buf: for the paths that cannot read it
 * in pieces (and for plaintext, whose tag and bytes must come from one snapshot). */
static const uint8_t *gather_stage(struct hvc_channel *ch, const struct gather *g)
{
	uint8_t *p = ch->cfg.tx_buf + HVC_HDR_LEN;
	if (g->head_len)
		memcpy(p, g->head, g->head_len);
	for (unsigned i = 0; i < g->nparts; i++)
		memcpy(p + g->head_len + (size_t)i * g->part_len, g->parts[i], g->part_len);
	return p;
}

/* Builds and sends one encrypted frame (header as AAD, payload, tag) chunk by chunk:
 * each chunk is XORed with its keystream (precomputed in the ring, or made here just
 * before use), hashed while in L1 and passed to the transport; the tag rides with the
 * last chunk. The bytes on the wire are standard AES-256-GCM either way. A gathered
 * payload's pieces must be whole blocks (but the last): each chunk stays in one piece. */
static int send_chunked(struct hvc_channel *ch, const struct gather *g, const uint8_t *ks)
{
	struct hvc_dir *d = &ch->tx;
	uint8_t *f = ch->cfg.tx_buf, *out = f + HVC_HDR_LEN;
	uint8_t s[16] = { 0 }, mask[16], nonce[12];
	size_t off = 0, len = gather_len(g);
	int rc = HVC_OK;

	hvc_frame_nonce(d->salt, d->seq, nonce);
	if (ks)
		memcpy(mask, ks, 16);
	else
		hvc_gcm_keystream(&d->key, nonce, 1, mask, 16);
	hvc_gcm_ghash(&d->key, s, f, HVC_HDR_LEN);
	do {
		/* Keystream made here goes through L1 a chunk at a time; keystream from the
		 * ring needs no such staging, so a whole piece is one pass. */
		size_t step = ks ? HVC_SEND_PIECE : HVC_SEND_CHUNK;
		size_t n = len - off < step ? len - off : step;
		if (n) { /* len 0 (REKEY, CLOSE) has no payload and buf may be NULL */
			size_t cont;
			const uint8_t *in = gather_at(g, off, &cont);
			if (n > cont)
				n = cont;
			const uint8_t *kp = ks ? ks + HVC_TAG_LEN + off : ch->ks_chunk;
			if (!ks)
				hvc_gcm_keystream(&d->key, nonce, 2 + (uint32_t)(off / 16), ch->ks_chunk, n);
			hvc_xor_ghash_enc(&d->key, s, kp, in, out, n);
			off += n;
		}
		out += n;
		if (off == len) {
			hvc_gcm_ghash_lengths(&d->key, s, HVC_HDR_LEN, len);
			for (int i = 0; i < 16; i++)
				out[i] = s[i] ^ mask[i];
			out += HVC_TAG_LEN;
		}
		if (off == len || (size_t)(out - f) >= HVC_SEND_PIECE) {
			if (ch->cfg.transport.send(ch->cfg.transport.ctx, f, (size_t)(out - f)) < 0) {
				rc = HVC_E_TRANSPORT;
				break;
			}
			out = f;
		}
	} while (off < len);
	hvc_zero(mask, sizeof(mask));
	if (!ks)
		hvc_zero(ch->ks_chunk, len < HVC_SEND_CHUNK ? len : HVC_SEND_CHUNK);
	return rc;
}

static int send_encrypted(struct hvc_channel *ch, uint8_t type, const struct gather *g)
{
	struct hvc_dir *d = &ch->tx;
	size_t len = gather_len(g);
	struct hvc_frame_hdr h = { HVC_PROTO_VERSION, type, HVC_FLAG_ENCRYPTED, (uint32_t)len, d->seq };
	uint8_t *f = ch->cfg.tx_buf;
	const uint8_t *ks;
	int rc = HVC_OK;

	if (d->seq == UINT64_MAX)
		return hvc__fail(ch, HVC_E_SEQ_EXHAUSTED);
	hvc_frame_hdr_encode(&h, f);
	ks = hvc_ks_ring_peek(&d->ring, d->epoch, d->seq, len);
	ch->frames[0]++;
	ch->frames_ks_ready[0] += ks != NULL;
	int gathered = g->nparts != 0;
	if (ks || hvc_gcm_fast_keystream(&d->key)) {
		struct gather one = { 0 };
		if (gathered && (g->head_len % 16 || g->part_len % 16)) {
			one.head = gather_stage(ch, g);
			one.head_len = len;
			g = &one;
		}
		rc = send_chunked(ch, g, ks);
		if (ks)
			hvc_ks_ring_pop(&d->ring);
	} else {
		/* No fast keystream here (AES-NI/AVX2 without VAES, or the VAES/AVX-512 path):
		 * ipsec-mb's stitched one-pass GCM is the faster way; a gathered payload goes
		 * through its streaming form piece by piece, read once, by the cipher. */
		uint8_t nonce[12];
		hvc_frame_nonce(d->salt, d->seq, nonce);
		if (gathered && hvc_gcm_stream_enc_available(&d->key)) {
			_Alignas(64) uint8_t gctx[HVC_GCM_STREAM_CTX];
			hvc_gcm_stream_enc_init(&d->key, gctx, nonce, f, HVC_HDR_LEN);
			for (size_t off = 0, n; off < len; off += n) {
				const uint8_t *in = gather_at(g, off, &n);
				hvc_gcm_stream_enc_update(&d->key, gctx, f + HVC_HDR_LEN + off, in, n);
			}
			hvc_gcm_stream_enc_final(&d->key, gctx, f + HVC_HDR_LEN + len);
			hvc_zero(gctx, sizeof(gctx));
		} else {
			const uint8_t *buf = gathered ? gather_stage(ch, g) : g->head;
			hvc_gcm_encrypt(&d->key, nonce, f, HVC_HDR_LEN, buf, f + HVC_HDR_LEN, len,
					f + HVC_HDR_LEN + len);
		}
		if (ch->cfg.transport.send(ch->cfg.transport.ctx, f, HVC_FRAME_OVERHEAD + len) < 0)
			rc = HVC_E_TRANSPORT;
	}
	d->seq++;
	d->epoch_msgs++;
	d->epoch_bytes += len;
	if (rc != HVC_OK)
		return hvc__fail(ch, rc);
	return HVC_OK;
}

/* A plaintext frame: the payload goes out as it is, between the header and a tag that
 * is exactly AES-256-GCM's over (AAD = header, ciphertext = payload), so any GCM
 * implementation verifies it. The payload is hashed from the caller's buffer and never
 * copied here. */
static int send_plain(struct hvc_channel *ch, uint8_t type, const uint8_t *buf, size_t len)
{
	struct hvc_dir *d = &ch->tx;
	struct hvc_frame_hdr h = { HVC_PROTO_VERSION, type, 0, (uint32_t)len, d->seq };
	uint8_t hb[HVC_HDR_LEN], s[16] = { 0 }, tag[HVC_TAG_LEN], nonce[12];
	int rc = HVC_OK;
	if (d->seq == UINT64_MAX)
		return hvc__fail(ch, HVC_E_SEQ_EXHAUSTED);
	hvc_frame_hdr_encode(&h, hb);
	hvc_frame_nonce(d->salt, d->seq, nonce);
	hvc_gcm_ghash(&d->key, s, hb, HVC_HDR_LEN);
	if (len)
		hvc_gcm_ghash(&d->key, s, buf, len);
	hvc_gcm_ghash_lengths(&d->key, s, HVC_HDR_LEN, len);
	hvc_gcm_keystream(&d->key, nonce, 1, tag, 16);
	for (int i = 0; i < 16; i++)
		tag[i] ^= s[i];
	d->seq++;
	d->epoch_msgs++;
	d->epoch_bytes += len;
	if (len && ch->cfg.transport.send2) {
		if (ch->cfg.transport.send2(ch->cfg.transport.ctx, hb, HVC_HDR_LEN, buf, len) < 0 ||
		    ch->cfg.transport.send(ch->cfg.transport.ctx, tag, HVC_TAG_LEN) < 0)
			rc = HVC_E_TRANSPORT;
	} else if (len) {
		if (ch->cfg.transport.send(ch->cfg.transport.ctx, hb, HVC_HDR_LEN) < 0 ||
		    ch->cfg.transport.send(ch->cfg.transport.ctx, buf, len) < 0 ||
		    ch->cfg.transport.send(ch->cfg.transport.ctx, tag, HVC_TAG_LEN) < 0)
			rc = HVC_E_TRANSPORT;
	} else if (ch->cfg.transport.send2) {
		if (ch->cfg.transport.send2(ch->cfg.transport.ctx, hb, HVC_HDR_LEN, tag, HVC_TAG_LEN) < 0)
			rc = HVC_E_TRANSPORT;
	} else if (ch->cfg.transport.send(ch->cfg.transport.ctx, hb, HVC_HDR_LEN) < 0 ||
		   ch->cfg.transport.send(ch->cfg.transport.ctx, tag, HVC_TAG_LEN) < 0) {
		rc = HVC_E_TRANSPORT;
	}
	if (rc != HVC_OK)
		return hvc__fail(ch, rc);
	return HVC_OK;
}

static int send_frame(struct hvc_channel *ch, uint8_t type, const struct gather *g)
{
	if (ch->mode == HVC_MODE_ENCRYPTED)
		return send_encrypted(ch, type, g);
	/* Plaintext is hashed, then sent: from a gathered payload that may still change
	 * (a running guest's pages), both must read one snapshot. */
	return send_plain(ch, type, g->nparts ? gather_stage(ch, g) : g->head, gather_len(g));
}

static int send_checked(struct hvc_channel *ch, uint8_t type, const struct gather *g)
{
	int rc;
	size_t len = gather_len(g);
	if (ch->state == HVC_ST_DEAD)
		return HVC_E_DEAD;
	if (ch->state != HVC_ST_ESTABLISHED)
		return HVC_E_STATE;
	if (type < HVC_FT_APP_MIN || len > ch->peer_rx_max || len + HVC_FRAME_OVERHEAD > ch->cfg.tx_buf_len)
		return HVC_E_INVAL;
	/* Rekey before this frame would reach the sender's key-usage limit (and before a
	 * gathered payload is staged in tx_buf, which the REKEY frame is built in). */
	if (ch->tx.epoch_msgs + 1 > ch->cfg.rekey_msgs || ch->tx.epoch_bytes + len > ch->cfg.rekey_bytes) {
		static const struct gather none;
		if ((rc = send_frame(ch, HVC_FT_REKEY, &none)) != HVC_OK)
			return rc;
		if ((rc = dir_next(ch, &ch->tx)) != HVC_OK)
			return hvc__fail(ch, rc);
	}
	return send_frame(ch, type, g);
}

int hvc_channel_send(struct hvc_channel *ch, uint8_t type, const void *buf, size_t len)
{
	if (len && !buf && ch->state == HVC_ST_ESTABLISHED)
		return HVC_E_INVAL;
	struct gather g = { buf, len, NULL, 0, 0 };
	return send_checked(ch, type, &g);
}

int hvc_channel_sendv(struct hvc_channel *ch, uint8_t type, const void *head, size_t head_len, const void *const *parts,
		      unsigned nparts, size_t part_len)
{
	if (ch->state == HVC_ST_ESTABLISHED) {
		if ((head_len && !head) || (nparts && (!parts || !part_len)) ||
		    (part_len && nparts > (SIZE_MAX - head_len) / part_len))
			return HVC_E_INVAL;
		for (unsigned i = 0; i < nparts; i++)
			if (!parts[i])
				return HVC_E_INVAL;
	}
	struct gather g = { head, head_len, nparts ? parts : NULL, nparts, nparts ? part_len : 0 };
	return send_checked(ch, type, &g);
}

/* Verifies the frame now in (rx_hdr, payload, rx_small tag): its payload has been hashed
 * as it arrived, and decrypted too where rx_fused; otherwise an encrypted one is
 * decrypted here, after the tag. hvc_channel_recv returns the payload only when the tag
 * was right. */
static int open_frame(struct hvc_channel *ch, uint8_t *payload)
{
	struct hvc_dir *d = &ch->rx;
	size_t len = ch->rx_h.length;
	int plain = !(ch->rx_h.flags & HVC_FLAG_ENCRYPTED);
	uint8_t s[16], mask[16], nonce[12];
	const uint8_t *ks = plain ? NULL : hvc_ks_ring_peek(&d->ring, d->epoch, d->seq, len);
	int ok;

	if (ch->rx_hashed != len)
		return hvc__fail(ch, HVC_E_STATE);
	hvc_frame_nonce(d->salt, d->seq, nonce);
	if (ch->rx_stream) {
		hvc_gcm_stream_dec_final(&d->key, ch->rx_gctx, s);
	} else {
		memcpy(s, ch->rx_ghash, 16);
		hvc_gcm_ghash_lengths(&d->key, s, HVC_HDR_LEN, len);
		if (ks)
			memcpy(mask, ks, 16);
		else
			hvc_gcm_keystream(&d->key, nonce, 1, mask, 16);
		for (int i = 0; i < 16; i++)
			s[i] ^= mask[i];
	}
	ok = hvc_ct_equal(s, ch->rx_small, HVC_TAG_LEN);
	hvc_zero(mask, sizeof(mask));
	hvc_zero(s, sizeof(s));
	if (!ok) {
		hvc_zero(payload, len); /* unverified plaintext (fused) or ciphertext: never returned */
		return hvc__fail(ch, HVC_E_AUTH_TAG);
	}
	if (plain)
		goto done;
	ch->frames[1]++;
	ch->frames_ks_ready[1] += ks != NULL && !ch->rx_stream;
	if (ch->rx_fused) {
		if (ks)
			hvc_ks_ring_pop(&d->ring);
	} else {
		/* Verified, decrypted now: each region to where the placement puts it (the
		 * regions kept in place first, so it reads their plaintext). */
		for (size_t off = 0, m; off < len; off += m) {
			uint8_t *out = rx_out(ch, payload, off, &m);
			if (!out) {
				hvc_zero(payload, len);
				return hvc__fail(ch, HVC_E_INVAL);
			}
			if (ks)
				hvc_xor_ks(out, payload + off, ks + HVC_TAG_LEN + off, m);
			else
				hvc_gcm_ctr_xor(&d->key, nonce, 2 + (uint32_t)(off / 16), payload + off, out, m);
		}
		if (ks)
			hvc_ks_ring_pop(&d->ring);
	}
done:
	ch->rx_last_placed = ch->rx_place_on;
	d->seq++;
	d->epoch_msgs++;
	d->epoch_bytes += len;
	return HVC_OK;
}

int hvc_channel_recv(struct hvc_channel *ch, uint8_t *type, void *buf, size_t cap, size_t *len)
{
	int rc;
	ch->rx_last_placed = 0;
	if (ch->state == HVC_ST_DEAD)
		return HVC_E_DEAD;
	if (ch->state == HVC_ST_CLOSED)
		return HVC_E_PEER_CLOSED;
	if (ch->state != HVC_ST_ESTABLISHED)
		return HVC_E_STATE;
	if (!type || !len || (cap && !buf))
		return HVC_E_INVAL;
	for (;;) {
		rc = hvc__recv_frame(ch, buf, cap);
		if (rc == HVC_E_BUF_TOO_SMALL)
			*len = ch->rx_h.length;
		/* a failed frame's partial payload was zeroed by hvc__fail (rx_scrub_partial) */
		if (rc != HVC_OK)
			return rc;
		if ((rc = open_frame(ch, buf)) != HVC_OK)
			return rc;
		hvc__frame_done(ch);
		if (ch->rx_h.type == HVC_FT_REKEY) {
			if ((rc = dir_next(ch, &ch->rx)) != HVC_OK)
				return hvc__fail(ch, rc);
			continue;
		}
		if (ch->rx_h.type == HVC_FT_CLOSE) {
			hvc__wipe_secrets(ch);
			ch->state = HVC_ST_CLOSED;
			ch->last_error = HVC_E_PEER_CLOSED;
			return HVC_E_PEER_CLOSED;
		}
		*type = ch->rx_h.type;
		*len = ch->rx_h.length;
		return HVC_OK;
	}
}

/* The sequence number whose keystream a direction would make next, or UINT64_MAX when
 * it should make none now (no ring, ring ahead far enough, key limit, jobs pending). */
static uint64_t ks_next(struct hvc_channel *ch, struct hvc_dir *d, int dir, size_t len)
{
	if (!len || !d->ring.mem || d->ring_blocked)
		return UINT64_MAX;
	uint64_t seq = hvc_ks_ring_next_seq(&d->ring, d->epoch, d->seq);
	/* Keystream is only useful for frames still within this key's limit. */
	if (!dir && seq - d->seq + d->epoch_msgs + 1 > ch->cfg.rekey_msgs)
		return UINT64_MAX;
	if (hvc_ks_ring_count(&d->ring) && hvc_ks_ring_bytes(&d->ring) + len > ch->cfg.ks_ahead)
		return UINT64_MAX;
	return seq;
}

int hvc_channel_prefill(struct hvc_channel *ch, size_t tx_len, size_t rx_len)
{
	return hvc_channel_prefill_frames(ch, tx_len, rx_len, UINT32_MAX);
}

int hvc_channel_prefill_frames(struct hvc_channel *ch, size_t tx_len, size_t rx_len, uint32_t max)
{
	int filled = 0;
	if (ch->state != HVC_ST_ESTABLISHED || ch->mode != HVC_MODE_ENCRYPTED)
		return 0;
	for (int dir = 0; dir < 2; dir++) {
		struct hvc_dir *d = dir ? &ch->rx : &ch->tx;
		size_t len = dir ? rx_len : tx_len;
		hvc_ks_ring_drop_stale(&d->ring, d->epoch, d->seq);
		for (uint32_t n = 0; n < max; n++) {
			uint64_t seq = ks_next(ch, d, dir, len);
			if (seq == UINT64_MAX ||
			    hvc_ks_ring_fill(&d->ring, &d->key, d->salt, d->epoch, seq, len) != HVC_OK)
				break;
			filled++;
		}
	}
	/* Used keystream is gone by now, off the critical path: overwritten by the fills
	 * above where they reused its bytes, zeroed here where they did not. */
	hvc_ks_ring_scrub(&ch->tx.ring);
	hvc_ks_ring_scrub(&ch->rx.ring);
	return filled;
}

int hvc_channel_prefill_useful(const struct hvc_channel *ch, int dir)
{
	/* The path with ipsec-mb's streaming decrypt is the VAES/AVX-512 one, whose one-pass
	 * code runs at about the speed of XOR + GHASH with keystream ready both ways
	 * (bench-crypto here: send 12.1 against 14.3 GB/s, keystream made at 10.4). Measured
	 * with migsim (1 GiB, pinned): without receive keystream the destination's CPU went
	 * 0.668 -> 0.524 cores per 10 Gbit/s (medians of 9), no slower. */
	const struct hvc_gcm_key *k = dir ? &ch->rx.key : &ch->tx.key;
	return !(hvc_gcm_stream_dec_available(k) && !hvc_gcm_fast_keystream(k));
}

int hvc_channel_ks_job_take(struct hvc_channel *ch, size_t tx_len, size_t rx_len, struct hvc_ks_job *job)
{
	if (ch->state != HVC_ST_ESTABLISHED || ch->mode != HVC_MODE_ENCRYPTED)
		return HVC_AGAIN;
	for (int dir = 0; dir < 2; dir++) {
		struct hvc_dir *d = dir ? &ch->rx : &ch->tx;
		size_t len = dir ? rx_len : tx_len;
		hvc_ks_ring_drop_stale(&d->ring, d->epoch, d->seq);
		uint64_t seq = ks_next(ch, d, dir, len);
		uint8_t *mem;
		if (seq == UINT64_MAX || hvc_ks_ring_reserve(&d->ring, d->epoch, seq, len, &mem) != HVC_OK) {
			hvc_ks_ring_scrub(&d->ring); /* no fill to overwrite used keystream: zero it */
			continue;
		}
		memcpy(&job->key, &d->key, sizeof(job->key));
		hvc_frame_nonce(d->salt, seq, job->nonce);
		job->dst = mem;
		job->len = HVC_TAG_LEN + len;
		job->seq = seq;
		job->epoch = d->epoch;
		job->dir = dir;
		d->jobs_out++;
		return HVC_OK;
	}
	return HVC_AGAIN;
}

void hvc_ks_job_run(struct hvc_ks_job *job)
{
	/* Counter 1 is the tag mask, counters 2.. the data keystream, as in a fill. */
	hvc_gcm_keystream(&job->key, job->nonce, 1, job->dst, job->len);
}

void hvc_channel_ks_job_done(struct hvc_channel *ch, struct hvc_ks_job *job)
{
	struct hvc_dir *d = job->dir ? &ch->rx : &ch->tx;
	int live = !d->ring_blocked && ch->state == HVC_ST_ESTABLISHED &&
		   hvc_ks_ring_complete(&d->ring, job->epoch, job->seq) == HVC_OK;
	if (!live) /* the ring was wiped while the job ran: leave no keystream behind */
		hvc_zero(job->dst, job->len);
	/* Its frame may have gone meanwhile, with keystream made inline: drop it now. */
	hvc_ks_ring_drop_stale(&d->ring, d->epoch, d->seq);
	hvc_ks_ring_scrub(&d->ring);
	if (d->jobs_out && !--d->jobs_out)
		d->ring_blocked = 0;
	hvc_gcm_key_wipe(&job->key);
	hvc_zero(job->nonce, sizeof(job->nonce));
}

int hvc_channel_close(struct hvc_channel *ch)
{
	int rc = HVC_OK;
	if (ch->state == HVC_ST_DEAD)
		return HVC_E_DEAD;
	if (ch->state == HVC_ST_ESTABLISHED) {
		static const struct gather none;
		rc = send_frame(ch, HVC_FT_CLOSE, &none);
	}
	hvc__wipe_secrets(ch);
	if (ch->state != HVC_ST_DEAD)
		ch->state = HVC_ST_CLOSED;
	return rc;
}

int hvc_channel_move(struct hvc_channel *to, struct hvc_channel *from, const struct hvc_transport *t, uint8_t *tx_buf,
		     size_t tx_buf_len, uint8_t *ks_tx, size_t ks_tx_len, uint8_t *ks_rx, size_t ks_rx_len)
{
	if (!to || !from || to == from || !t || !t->send || !t->recv || !t->peek != !t->consume || !tx_buf ||
	    tx_buf_len < HVC_FRAME_OVERHEAD + 64)
		return HVC_E_INVAL;
	if (from->state != HVC_ST_ESTABLISHED || from->rx_got || from->tx.seq != 2 || from->rx.seq != 2 ||
	    from->tx.jobs_out || from->rx.jobs_out)
		return HVC_E_STATE;
	memcpy(to, from, sizeof(*to));
	to->cfg.transport = *t;
	to->cfg.tx_buf = tx_buf;
	to->cfg.tx_buf_len = tx_buf_len;
	to->cfg.ks_tx_mem = ks_tx;
	to->cfg.ks_tx_len = ks_tx_len;
	to->cfg.ks_rx_mem = ks_rx;
	to->cfg.ks_rx_len = ks_rx_len;
	hvc_ks_ring_init(&to->tx.ring, ks_tx, ks_tx_len);
	hvc_ks_ring_init(&to->rx.ring, ks_rx, ks_rx_len);
	hvc_channel_destroy(from);
	return HVC_OK;
}

void hvc_channel_destroy(struct hvc_channel *ch)
{
	hvc__wipe_secrets(ch);
	hvc_zero(ch, sizeof(*ch));
}

int hvc_channel_last_error(const struct hvc_channel *ch) { return ch->last_error; }
enum hvc_mode hvc_channel_mode(const struct hvc_channel *ch) { return ch->mode; }
void hvc_channel_ks_stats(const struct hvc_channel *ch, int dir, uint64_t *frames, uint64_t *ready)
{
	*frames = ch->frames[dir ? 1 : 0];
	*ready = ch->frames_ks_ready[dir ? 1 : 0];
}

enum hvc_gcm_path hvc_channel_gcm_path(const struct hvc_channel *ch) { return hvc_gcm_key_path(&ch->tx.key); }

static int any_set(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t acc = 0;
	for (size_t i = 0; i < n; i++)
		acc |= b[i];
	return acc != 0;
}

int hvc_channel_holds_keys(const struct hvc_channel *ch)
{
	return any_set(&ch->tx.key, sizeof(ch->tx.key)) || any_set(&ch->rx.key, sizeof(ch->rx.key)) ||
	       any_set(ch->tx.secret, 32) || any_set(ch->rx.secret, 32) || any_set(ch->psk, sizeof(ch->psk)) ||
	       any_set(ch->prk, sizeof(ch->prk)) || any_set(ch->dh_priv, sizeof(ch->dh_priv));
}
uint32_t hvc_channel_tx_epoch(const struct hvc_channel *ch) { return ch->tx.epoch; }
unsigned hvc_channel_tx_ks_ready(const struct hvc_channel *ch) { return hvc_ks_ring_ready(&ch->tx.ring); }
uint32_t hvc_channel_rx_epoch(const struct hvc_channel *ch) { return ch->rx.epoch; }

void hvc_channel_set_place(struct hvc_channel *ch, hvc_place_fn where, void *ctx)
{
	if (!where) {
		/* At once, also mid-frame: the rest of it stays in buf (its caller failed and
		 * is scrubbing what the placement pointed into). */
		ch->place_fn = NULL;
		ch->place_ctx = NULL;
		ch->rx_place_on = 0;
		ch->rx_reg_out = NULL;
		return;
	}
	if (ch->rx_got) /* not while a frame is half read under another placement */
		return;
	ch->place_fn = where;
	ch->place_ctx = ctx;
}

int hvc_channel_rx_placed(const struct hvc_channel *ch) { return ch->rx_last_placed; }
