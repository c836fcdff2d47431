/* PSK handshake: hellos with fresh nonces, policies and ephemeral X25519 shares,
 * finished MACs over the transcript, HKDF-SHA256 key schedule mixing PSK and DH (as TLS
 * 1.3's psk_dhe_ke). Message layouts and labels: docs/protocol.md. */
#include "channel_internal.h"
#include "hkdf_sha256.h"
#include "hmac_sha256.h"
#include "mem_secure.h"
#include "x25519.h"

int hvc_negotiate(uint8_t policy_c, uint8_t policy_s, enum hvc_mode *mode)
{
	if (policy_c > HVC_POLICY_DISABLED || policy_s > HVC_POLICY_DISABLED)
		return HVC_E_BAD_HELLO;
	if (policy_c == HVC_POLICY_DISABLED && policy_s == HVC_POLICY_DISABLED)
		*mode = HVC_MODE_PLAIN;
	else if (policy_c == HVC_POLICY_REQUIRED && policy_s == HVC_POLICY_DISABLED)
		return HVC_E_POLICY_MISMATCH;
	else if (policy_c == HVC_POLICY_DISABLED && policy_s == HVC_POLICY_REQUIRED)
		return HVC_E_POLICY_MISMATCH;
	else if (policy_c == HVC_POLICY_DISABLED || policy_s == HVC_POLICY_DISABLED)
		*mode = HVC_MODE_PLAIN; /* opportunistic meets disabled */
	else
		*mode = HVC_MODE_ENCRYPTED;
	return HVC_OK;
}

struct hello {
	uint8_t proto, policy, echo_policy, mode;
	uint32_t key_id, rx_max;
	uint8_t nonce[32];
	uint8_t share[32]; /* ephemeral X25519 public key */
};

static void hello_encode(const struct hello *h, uint8_t out[HVC_HELLO_LEN])
{
	out[0] = h->proto;
	out[1] = h->policy;
	out[2] = h->echo_policy;
	out[3] = h->mode;
	hvc_be32_put(out + 4, h->key_id);
	hvc_be32_put(out + 8, h->rx_max);
	memcpy(out + 12, h->nonce, 32);
	memcpy(out + 44, h->share, 32);
}

static int hello_decode(const uint8_t in[HVC_HELLO_LEN], struct hello *h)
{
	h->proto = in[0];
	h->policy = in[1];
	h->echo_policy = in[2];
	h->mode = in[3];
	h->key_id = hvc_be32_get(in + 4);
	h->rx_max = hvc_be32_get(in + 8);
	memcpy(h->nonce, in + 12, 32);
	memcpy(h->share, in + 44, 32);
	if (h->proto != HVC_PROTO_VERSION)
		return HVC_E_PROTO_VERSION;
	if (h->policy > HVC_POLICY_DISABLED || h->rx_max < HVC_MIN_RX_MAX || h->rx_max > HVC_MAX_PAYLOAD)
		return HVC_E_BAD_HELLO;
	return HVC_OK;
}

int hvc__hs_check_hdr(struct hvc_channel *ch, const struct hvc_frame_hdr *h)
{
	uint8_t want;
	uint64_t want_seq;
	switch (ch->state) {
	case HVC_ST_C_WAIT_HELLO_S:
		want = HVC_FT_HELLO_S;
		want_seq = 0;
		break;
	case HVC_ST_C_WAIT_FINISH_S:
		want = HVC_FT_FINISH_S;
		want_seq = 1;
		break;
	case HVC_ST_S_WAIT_HELLO_C:
		want = HVC_FT_HELLO_C;
		want_seq = 0;
		break;
	case HVC_ST_S_WAIT_FINISH_C:
		want = HVC_FT_FINISH_C;
		want_seq = 1;
		break;
	default: return HVC_E_STATE;
	}
	if (h->type != want)
		return HVC_E_UNEXPECTED_FRAME;
	if (h->flags)
		return HVC_E_BAD_FLAGS;
	if (h->length != (want <= HVC_FT_HELLO_S ? HVC_HELLO_LEN : HVC_FINISH_LEN))
		return HVC_E_BAD_LENGTH;
	if (h->seq < want_seq)
		return HVC_E_REPLAY;
	if (h->seq > want_seq)
		return HVC_E_REORDER;
	return HVC_OK;
}

/* PRK0 = HKDF-Extract(salt = SHA-256(hello frames), IKM = PSK)
 * PRK  = HKDF-Extract(salt = PRK0, IKM = X25519(own secret, peer's share))
 * The PSK authenticates (only its holders can make the finished MACs); the DH secret,
 * gone once the keys exist, makes a recorded migration undecryptable with a PSK stolen
 * later. The ephemeral secret is wiped here whatever the outcome. */
static int derive_prk(struct hvc_channel *ch, const uint8_t peer_share[32])
{
	uint8_t th[32], prk0[32], dh[32];
	int rc = hvc_x25519_shared(ch->dh_priv, peer_share, dh);
	hvc_zero(ch->dh_priv, sizeof(ch->dh_priv));
	if (rc != HVC_OK)
		return rc;
	hvc_sha256(ch->transcript, ch->transcript_len, th);
	hvc_hkdf_extract(th, 32, ch->psk, ch->psk_len, prk0);
	hvc_hkdf_extract(prk0, 32, dh, 32, ch->prk);
	hvc_zero(th, sizeof(th));
	hvc_zero(prk0, sizeof(prk0));
	hvc_zero(dh, sizeof(dh));
	return HVC_OK;
}

/* HMAC(HKDF-Expand(PRK, label, 32), SHA-256(transcript so far)) */
static void finished_mac(struct hvc_channel *ch, const char *label, uint8_t out[32])
{
	uint8_t fk[32], th[32];
	hvc_hkdf_expand_label(ch->prk, label, fk, 32);
	hvc_sha256(ch->transcript, ch->transcript_len, th);
	hvc_hmac_sha256(fk, 32, th, 32, out);
	hvc_zero(fk, sizeof(fk));
}

static int establish(struct hvc_channel *ch)
{
	int rc;
	struct hvc_dir *c2s = ch->cfg.role == HVC_ROLE_CLIENT ? &ch->tx : &ch->rx;
	struct hvc_dir *s2c = ch->cfg.role == HVC_ROLE_CLIENT ? &ch->rx : &ch->tx;
	hvc_hkdf_expand_label(ch->prk, "hvc1 traffic c2s", c2s->secret, 32);
	hvc_hkdf_expand_label(ch->prk, "hvc1 traffic s2c", s2c->secret, 32);
	hvc_zero(ch->prk, sizeof(ch->prk));
	hvc_zero(ch->psk, sizeof(ch->psk));
	ch->tx.seq = ch->rx.seq = 2; /* hello = 0, finished = 1 in each direction */
	/* Keys in both modes: plaintext frames are tagged with them. */
	if ((rc = hvc__dir_load(ch, &ch->tx)) != HVC_OK || (rc = hvc__dir_load(ch, &ch->rx)) != HVC_OK)
		return hvc__fail(ch, rc);
	ch->state = HVC_ST_ESTABLISHED;
	return HVC_OK;
}

static int client_send_hello(struct hvc_channel *ch)
{
	struct hello h = { HVC_PROTO_VERSION, (uint8_t)ch->cfg.policy, 0,     0,
			   ch->cfg.key_id,    ch->cfg.rx_max,	       { 0 }, { 0 } };
	uint8_t p[HVC_HELLO_LEN];
	int rc = ch->cfg.entropy(ch->cfg.entropy_ctx, ch->nonce_own, 32);
	if (rc == HVC_OK)
		rc = hvc_x25519_keypair(ch->cfg.entropy, ch->cfg.entropy_ctx, ch->dh_priv, ch->dh_pub);
	if (rc != HVC_OK)
		return hvc__fail(ch, rc);
	memcpy(h.nonce, ch->nonce_own, 32);
	memcpy(h.share, ch->dh_pub, 32);
	hello_encode(&h, p);
	ch->state = HVC_ST_C_WAIT_HELLO_S;
	return hvc__send_hs_frame(ch, HVC_FT_HELLO_C, p, sizeof(p));
}

static int client_on_hello(struct hvc_channel *ch, const uint8_t *p)
{
	struct hello h;
	enum hvc_mode mode;
	uint8_t mac[32];
	int rc = hello_decode(p, &h);
	if (rc == HVC_E_PROTO_VERSION)
		return hvc__fail(ch, rc);
	if (rc != HVC_OK || h.key_id != ch->cfg.key_id || h.mode < HVC_MODE_ENCRYPTED || h.mode > HVC_MODE_PLAIN ||
	    h.echo_policy > HVC_POLICY_DISABLED)
		return hvc__fail(ch, HVC_E_BAD_HELLO);
	if (hvc_ct_equal(h.nonce, ch->nonce_own, 32))
		return hvc__fail(ch, HVC_E_NONCE_REFLECTED);
	/* Our policy as the server saw it, and the mode it chose, must match what we sent and
	 * what we compute; otherwise someone rewrote a hello in flight. */
	if (h.echo_policy != ch->cfg.policy)
		return hvc__fail(ch, HVC_E_DOWNGRADE);
	rc = hvc_negotiate((uint8_t)ch->cfg.policy, h.policy, &mode);
	if (rc != HVC_OK)
		return hvc__fail(ch, rc);
	if (mode != h.mode)
		return hvc__fail(ch, HVC_E_DOWNGRADE);
	ch->mode = mode;
	ch->peer_rx_max = h.rx_max;
	ch->peer_policy = h.policy;
	memcpy(ch->nonce_peer, h.nonce, 32);
	if ((rc = derive_prk(ch, h.share)) != HVC_OK)
		return hvc__fail(ch, rc);
	finished_mac(ch, "hvc1 finished c", mac);
	ch->state = HVC_ST_C_WAIT_FINISH_S;
	rc = hvc__send_hs_frame(ch, HVC_FT_FINISH_C, mac, 32);
	hvc_zero(mac, sizeof(mac));
	return rc;
}

static int client_on_finish(struct hvc_channel *ch, const uint8_t *p)
{
	uint8_t mac[32];
	int ok;
	/* The MAC covers the transcript up to and including FINISH_C, not FINISH_S itself. */
	size_t full = ch->transcript_len;
	ch->transcript_len = full - (HVC_HDR_LEN + HVC_FINISH_LEN);
	finished_mac(ch, "hvc1 finished s", mac);
	ch->transcript_len = full;
	ok = hvc_ct_equal(mac, p, 32);
	hvc_zero(mac, sizeof(mac));
	if (!ok)
		return hvc__fail(ch, HVC_E_HANDSHAKE_AUTH);
	return establish(ch);
}

static int server_on_hello(struct hvc_channel *ch, const uint8_t *p)
{
	struct hello h, r;
	enum hvc_mode mode;
	uint8_t out[HVC_HELLO_LEN];
	int rc = hello_decode(p, &h);
	if (rc == HVC_E_PROTO_VERSION)
		return hvc__fail(ch, rc);
	if (rc != HVC_OK || h.echo_policy != 0 || h.mode != 0)
		return hvc__fail(ch, HVC_E_BAD_HELLO);
	if (ch->cfg.psk_lookup) {
		size_t n = 0;
		if (ch->cfg.psk_lookup(ch->cfg.psk_lookup_ctx, h.key_id, ch->psk, &n) < 0 || n < HVC_PSK_MIN ||
		    n > HVC_PSK_MAX)
			return hvc__fail(ch, HVC_E_UNKNOWN_KEY_ID);
		ch->psk_len = n;
	} else if (h.key_id != ch->cfg.key_id) {
		return hvc__fail(ch, HVC_E_UNKNOWN_KEY_ID);
	}
	rc = hvc_negotiate(h.policy, (uint8_t)ch->cfg.policy, &mode);
	if (rc != HVC_OK)
		return hvc__fail(ch, rc);
	rc = ch->cfg.entropy(ch->cfg.entropy_ctx, ch->nonce_own, 32);
	if (rc == HVC_OK)
		rc = hvc_x25519_keypair(ch->cfg.entropy, ch->cfg.entropy_ctx, ch->dh_priv, ch->dh_pub);
	if (rc != HVC_OK)
		return hvc__fail(ch, rc);
	if (hvc_ct_equal(h.nonce, ch->nonce_own, 32))
		return hvc__fail(ch, HVC_E_NONCE_REFLECTED);
	ch->mode = mode;
	ch->peer_rx_max = h.rx_max;
	ch->peer_policy = h.policy;
	memcpy(ch->nonce_peer, h.nonce, 32);
	r = (struct hello){ HVC_PROTO_VERSION, (uint8_t)ch->cfg.policy, h.policy, (uint8_t)mode,
			    h.key_id,	       ch->cfg.rx_max,		{ 0 },	  { 0 } };
	memcpy(r.nonce, ch->nonce_own, 32);
	memcpy(r.share, ch->dh_pub, 32);
	hello_encode(&r, out);
	ch->state = HVC_ST_S_WAIT_FINISH_C;
	rc = hvc__send_hs_frame(ch, HVC_FT_HELLO_S, out, sizeof(out));
	if (rc != HVC_OK)
		return rc;
	if ((rc = derive_prk(ch, h.share)) != HVC_OK)
		return hvc__fail(ch, rc);
	return HVC_OK;
}

static int server_on_finish(struct hvc_channel *ch, const uint8_t *p)
{
	uint8_t mac[32];
	int ok, rc;
	/* The transcript already holds the received FINISH_C frame; the MAC covers the hellos. */
	size_t full = ch->transcript_len;
	ch->transcript_len = full - (HVC_HDR_LEN + HVC_FINISH_LEN);
	finished_mac(ch, "hvc1 finished c", mac);
	ch->transcript_len = full;
	ok = hvc_ct_equal(mac, p, 32);
	if (!ok) {
		hvc_zero(mac, sizeof(mac));
		return hvc__fail(ch, HVC_E_HANDSHAKE_AUTH);
	}
	finished_mac(ch, "hvc1 finished s", mac);
	rc = hvc__send_hs_frame(ch, HVC_FT_FINISH_S, mac, 32);
	hvc_zero(mac, sizeof(mac));
	if (rc != HVC_OK)
		return rc;
	return establish(ch);
}

int hvc_channel_handshake_step(struct hvc_channel *ch)
{
	int rc;
	if (ch->state == HVC_ST_DEAD)
		return HVC_E_DEAD;
	if (ch->state == HVC_ST_ESTABLISHED)
		return HVC_OK;
	if (ch->state == HVC_ST_INIT) {
		if (ch->cfg.role == HVC_ROLE_CLIENT) {
			if ((rc = client_send_hello(ch)) != HVC_OK)
				return rc;
		} else {
			ch->state = HVC_ST_S_WAIT_HELLO_C;
		}
	}
	for (;;) {
		rc = hvc__recv_frame(ch, ch->rx_small, sizeof(ch->rx_small));
		if (rc != HVC_OK)
			return rc;
		/* The header and payload of every handshake frame go into the transcript. */
		size_t flen = HVC_HDR_LEN + ch->rx_h.length;
		if (ch->transcript_len + flen > sizeof(ch->transcript))
			return hvc__fail(ch, HVC_E_BAD_LENGTH);
		memcpy(ch->transcript + ch->transcript_len, ch->rx_hdr, HVC_HDR_LEN);
		memcpy(ch->transcript + ch->transcript_len + HVC_HDR_LEN, ch->rx_small, ch->rx_h.length);
		ch->transcript_len += flen;
		hvc__frame_done(ch);
		ch->rx.seq++;
		switch (ch->state) {
		case HVC_ST_C_WAIT_HELLO_S: rc = client_on_hello(ch, ch->rx_small); break;
		case HVC_ST_C_WAIT_FINISH_S: rc = client_on_finish(ch, ch->rx_small); break;
		case HVC_ST_S_WAIT_HELLO_C: rc = server_on_hello(ch, ch->rx_small); break;
		case HVC_ST_S_WAIT_FINISH_C: rc = server_on_finish(ch, ch->rx_small); break;
		default: rc = hvc__fail(ch, HVC_E_STATE); break;
		}
		hvc_zero(ch->rx_small, sizeof(ch->rx_small));
		if (rc != HVC_OK || ch->state == HVC_ST_ESTABLISHED)
			return rc;
	}
}

int hvc_channel_handshake(struct hvc_channel *ch)
{
	int rc;
	while ((rc = hvc_channel_handshake_step(ch)) == HVC_AGAIN)
		;
	return rc;
}
