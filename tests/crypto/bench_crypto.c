/* make bench-crypto: throughput of the channel (send/receive, with and without keystream
 * ready), raw ipsec-mb AES-256-GCM, OpenSSL AES-256-GCM, memcpy, and the critical path
 * (XOR + GHASH + tag with keystream ready) against full GCM. One core, data in cache
 * where it fits. Prints numbers only; nothing here is a test. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>

#include "ghash_xor.h"
#include "hvc_channel.h"
#include "mem_transport.h"

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

#define MIN_TIME 0.1
#define REPS	 1
#define ROUNDS	 6

/* Runs fn until MIN_TIME has passed, REPS times; returns the best GB/s. The untimed
 * `between` hook runs outside the measured interval (keystream prefill). */
typedef void (*op_fn)(void *ctx, size_t n);
static double measure(op_fn fn, op_fn between, void *ctx, size_t n)
{
	double best = 0;
	for (int r = 0; r < REPS; r++) {
		double busy = 0;
		uint64_t bytes = 0;
		while (busy < MIN_TIME) {
			if (between)
				between(ctx, n);
			double t0 = now();
			fn(ctx, n);
			busy += now() - t0;
			bytes += n;
		}
		double gbs = bytes / busy / 1e9;
		if (gbs > best)
			best = gbs;
	}
	return best;
}

struct bctx {
	uint8_t *a, *b, *ks;
	struct hvc_gcm_key *key;
	EVP_CIPHER_CTX *ossl, *ossl_dec;
	uint8_t *enc, enc_tag[16]; /* OpenSSL's ciphertext of a, for op_ossl_dec */
	uint8_t okey[32], iv[12], hdr[16], tag[16];
	struct hvc_channel *c, *s;
	struct mem_link link;
	struct mem_end ce, se;
	uint8_t *frames; /* pre-sent frames for the receive benchmark */
	size_t nframes, frame_i, frame_off, frame_len;
	uint64_t sunk;
};

static void op_memcpy(void *p, size_t n)
{
	struct bctx *c = p;
	memcpy(c->b, c->a, n);
	__asm__ __volatile__("" ::: "memory");
}

static void op_imb(void *p, size_t n)
{
	struct bctx *c = p;
	hvc_gcm_encrypt(c->key, c->iv, c->hdr, 16, c->a, c->b, n, c->tag);
}

static void op_ossl(void *p, size_t n)
{
	struct bctx *c = p;
	int l;
	EVP_EncryptInit_ex(c->ossl, NULL, NULL, NULL, c->iv);
	EVP_EncryptUpdate(c->ossl, NULL, &l, c->hdr, 16);
	EVP_EncryptUpdate(c->ossl, c->b, &l, c->a, (int)n);
	EVP_EncryptFinal_ex(c->ossl, c->b + n, &l);
	EVP_CIPHER_CTX_ctrl(c->ossl, EVP_CTRL_GCM_GET_TAG, 16, c->tag);
}

/* OpenSSL's receive side: decrypt and check the tag (the receive baseline) */
static void op_ossl_dec(void *p, size_t n)
{
	struct bctx *c = p;
	int l;
	EVP_DecryptInit_ex(c->ossl_dec, NULL, NULL, NULL, c->iv);
	EVP_DecryptUpdate(c->ossl_dec, NULL, &l, c->hdr, 16);
	EVP_DecryptUpdate(c->ossl_dec, c->b, &l, c->enc, (int)n);
	EVP_CIPHER_CTX_ctrl(c->ossl_dec, EVP_CTRL_GCM_SET_TAG, 16, c->enc_tag);
	if (EVP_DecryptFinal_ex(c->ossl_dec, c->b + n, &l) != 1)
		abort();
}

static void op_keystream(void *p, size_t n)
{
	struct bctx *c = p;
	hvc_gcm_keystream(c->key, c->iv, 1, c->ks, n + 16);
}

static void op_critical(void *p, size_t n)
{
	struct bctx *c = p;
	uint8_t s[16] = { 0 };
	hvc_gcm_ghash(c->key, s, c->hdr, 16);
	hvc_xor_ghash_enc(c->key, s, c->ks + 16, c->a, c->b, n);
	hvc_gcm_ghash_lengths(c->key, s, 16, n);
	for (int i = 0; i < 16; i++)
		c->tag[i] = s[i] ^ c->ks[i];
}

static void op_ghash(void *p, size_t n)
{
	struct bctx *c = p;
	uint8_t s[16] = { 0 };
	hvc_gcm_ghash(c->key, s, c->a, n);
}

static int sink_send(void *ctx, const void *buf, size_t len)
{
	struct bctx *c = ctx;
	c->sunk += len;
	(void)buf;
	return 0;
}

static long replay_recv(void *ctx, void *buf, size_t len)
{
	struct bctx *c = ctx;
	size_t left = c->frame_len - c->frame_off;
	if (!left) {
		c->frame_i = (c->frame_i + 1) % c->nframes;
		c->frame_off = 0;
		left = c->frame_len;
	}
	if (len > left)
		len = left;
	memcpy(buf, c->frames + c->frame_i * c->frame_len + c->frame_off, len);
	c->frame_off += len;
	return (long)len;
}

/* The same frames lent in place (peek/consume), as the hypervisor's TCP stream lends its
 * receive ring: the channel decrypts straight from it. */
static long replay_peek(void *ctx, const void **p, size_t len)
{
	struct bctx *c = ctx;
	size_t left = c->frame_len - c->frame_off;
	if (!left) {
		c->frame_i = (c->frame_i + 1) % c->nframes;
		c->frame_off = 0;
		left = c->frame_len;
	}
	if (len > left)
		len = left;
	*p = c->frames + c->frame_i * c->frame_len + c->frame_off;
	return (long)len;
}

static void replay_consume(void *ctx, size_t n)
{
	struct bctx *c = ctx;
	c->frame_off += n;
}

static void op_send(void *p, size_t n)
{
	struct bctx *c = p;
	int rc = hvc_channel_send(c->c, 0x41, c->a, n);
	if (rc != HVC_OK) {
		fprintf(stderr, "send: %s\n", hvc_strerror(rc));
		abort();
	}
}

static void op_prefill_tx(void *p, size_t n)
{
	struct bctx *c = p;
	hvc_channel_prefill(c->c, n, 0);
}

static void op_recv(void *p, size_t n)
{
	struct bctx *c = p;
	uint8_t type;
	size_t len;
	if (hvc_channel_recv(c->s, &type, c->b, n, &len) != HVC_OK || len != n)
		abort();
}

static void op_prefill_rx(void *p, size_t n)
{
	struct bctx *c = p;
	hvc_channel_prefill(c->s, 0, n);
}

static void ks_fill(void *p, size_t n) { op_keystream(p, n); }

/* A client/server pair, handshake done over memory, then the client's transport swapped
 * for a sink and the server's for a replayer of pre-recorded frames. */
static void free_pair(struct bctx *c);

static void make_pair_policy(struct bctx *c, size_t n, uint8_t *psk, enum hvc_policy policy)
{
	size_t bufsz = n + HVC_FRAME_OVERHEAD;
	struct hvc_config cc = { 0 }, sc;
	mem_link_init(&c->link, 1 << 16);
	c->ce = (struct mem_end){ &c->link, 0 };
	c->se = (struct mem_end){ &c->link, 1 };
	cc.key_id = 1;
	cc.psk = psk;
	cc.psk_len = 32;
	cc.entropy = hvc_entropy_hosted;
	cc.rx_max = n < HVC_MIN_RX_MAX ? HVC_MIN_RX_MAX : (uint32_t)n;
	cc.policy = policy;
	sc = cc;
	cc.role = HVC_ROLE_CLIENT;
	cc.transport = mem_transport(&c->ce);
	cc.tx_buf = aligned_alloc(64, (bufsz + 63) & ~63ul);
	cc.tx_buf_len = bufsz;
	cc.ks_tx_len = 2 * (n + 128);
	cc.ks_tx_mem = aligned_alloc(64, cc.ks_tx_len);
	sc.role = HVC_ROLE_SERVER;
	sc.transport = mem_transport(&c->se);
	sc.tx_buf = aligned_alloc(64, (bufsz + 63) & ~63ul);
	sc.tx_buf_len = bufsz;
	sc.ks_rx_len = 2 * (n + 128);
	sc.ks_rx_mem = aligned_alloc(64, sc.ks_rx_len);
	c->c = aligned_alloc(64, sizeof(*c->c));
	c->s = aligned_alloc(64, sizeof(*c->s));
	int rc1 = hvc_channel_init(c->c, &cc), rc2 = hvc_channel_init(c->s, &sc);
	if (rc1 || rc2) {
		fprintf(stderr, "init: %s / %s\n", hvc_strerror(rc1), hvc_strerror(rc2));
		abort();
	}
	int rc_c = HVC_AGAIN, rc_s = HVC_AGAIN;
	for (int i = 0; i < 10 && (rc_c == HVC_AGAIN || rc_s == HVC_AGAIN); i++) {
		rc_c = hvc_channel_handshake_step(c->c);
		rc_s = hvc_channel_handshake_step(c->s);
	}
	if (rc_c || rc_s) {
		fprintf(stderr, "handshake: %s / %s\n", hvc_strerror(rc_c), hvc_strerror(rc_s));
		abort();
	}
}

static void make_pair(struct bctx *c, size_t n, uint8_t *psk) { make_pair_policy(c, n, psk, HVC_POLICY_REQUIRED); }

/* Plaintext with integrity (policy disabled on both sides): the payload in the clear, its
 * GCM tag still computed and checked. Send into a sink, receive 8 recorded frames through
 * a copying transport (the plaintext path hashes what it copies); best of many. */
static void plain_rates(struct bctx *c, size_t n, uint8_t *psk, double *send, double *recv, double *recv_lend)
{
	make_pair_policy(c, n, psk, HVC_POLICY_DISABLED);
	c->c->cfg.transport = (struct hvc_transport){ .ctx = c, .send = sink_send, .recv = mem_recv };
	*send = 0;
	for (int round = 0; round < ROUNDS; round++) {
		double g = measure(op_send, NULL, c, n);
		if (g > *send)
			*send = g;
	}
	free_pair(c);
	make_pair_policy(c, n, psk, HVC_POLICY_DISABLED);
	c->nframes = 8;
	c->frame_len = n + HVC_FRAME_OVERHEAD;
	c->frames = malloc(c->nframes * c->frame_len);
	*recv = *recv_lend = 0;
	for (int rep = 0; rep < 120; rep++) {
		int lend = rep & 1; /* copying transport (a socket), lending one (the TCP stream) */
		double busy = 0;
		for (size_t f = 0; f < c->nframes; f++) {
			if (hvc_channel_send(c->c, 0x41, c->a, n))
				abort();
			mem_pipe_pull(&c->link.p[0], c->frames + f * c->frame_len, c->frame_len);
		}
		c->s->cfg.transport = (struct hvc_transport){ .ctx = c,
							      .send = sink_send,
							      .recv = replay_recv,
							      .peek = lend ? replay_peek : NULL,
							      .consume = lend ? replay_consume : NULL };
		c->frame_i = c->nframes - 1;
		c->frame_off = c->frame_len;
		for (size_t f = 0; f < c->nframes; f++) {
			double t0 = now();
			op_recv(c, n);
			busy += now() - t0;
		}
		if (memcmp(c->a, c->b, n))
			abort();
		double *r = lend ? recv_lend : recv;
		if (c->nframes * n / busy / 1e9 > *r)
			*r = c->nframes * n / busy / 1e9;
	}
	free(c->frames);
	free_pair(c);
}

static void free_pair(struct bctx *c)
{
	void *m[4] = { c->c->cfg.tx_buf, c->c->cfg.ks_tx_mem, c->s->cfg.tx_buf, c->s->cfg.ks_rx_mem };
	hvc_channel_destroy(c->c); /* wipes the buffers, so free them after */
	hvc_channel_destroy(c->s);
	for (int i = 0; i < 4; i++)
		free(m[i]);
	free(c->c);
	free(c->s);
	mem_link_free(&c->link);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	static const size_t sizes[] = { 4096, 65536, 1 << 20, 4 << 20 };
	enum hvc_gcm_path path = hvc_gcm_best_path();
	uint8_t psk[32] = "benchmark pre-shared key 32 byt";
	struct bctx c = { 0 };
	size_t max = 4 << 20;

	printf("bench-crypto: one core, GB/s = 1e9 bytes/s, best of %d round-robin runs of >= %.2f s"
	       " each\n",
	       ROUNDS, MIN_TIME);
	printf("GCM implementation: %s (best on this CPU); OpenSSL %s\n", hvc_gcm_path_name(path),
	       OpenSSL_version(OPENSSL_VERSION));
	for (int p = HVC_GCM_SSE; p < HVC_GCM_NPATHS; p++)
		if (hvc_gcm_path_available((enum hvc_gcm_path)p) != HVC_OK)
			printf("  path %s: not available on this CPU, not measured\n",
			       hvc_gcm_path_name((enum hvc_gcm_path)p));
	c.a = aligned_alloc(64, max + 64);
	c.b = aligned_alloc(64, max + 64);
	c.ks = aligned_alloc(64, max + 64);
	c.key = aligned_alloc(64, sizeof(*c.key));
	for (size_t i = 0; i < max; i++)
		c.a[i] = (uint8_t)(i * 31);
	memset(c.okey, 7, 32);
	memset(c.iv, 9, 12);
	memset(c.hdr, 1, 16);
	hvc_gcm_key_init(c.key, path, c.okey);
	printf("keystream (CTR): %s; GHASH on the critical path: %s\n", hvc_gcm_ctr_name(c.key),
	       hvc_gcm_ghash_name(c.key));
	c.ossl = EVP_CIPHER_CTX_new();
	EVP_EncryptInit_ex(c.ossl, EVP_aes_256_gcm(), NULL, c.okey, c.iv);
	c.ossl_dec = EVP_CIPHER_CTX_new();
	EVP_DecryptInit_ex(c.ossl_dec, EVP_aes_256_gcm(), NULL, c.okey, c.iv);
	c.enc = aligned_alloc(64, max + 64);

	printf("\n%-9s %8s %8s %8s %8s %8s %8s %8s %8s %8s %8s %8s %8s\n", "size", "memcpy", "imb-gcm", "openssl",
	       "ks-gen", "ghash", "critical", "ch-send", "ch-sendP", "ossl-dec", "ch-recv", "ch-recvP", "ch-recvC");
	double res[4][10], rr[4][4];
	for (size_t si = 0; si < 4; si++) {
		size_t n = sizes[si];
		double *r = res[si];
		make_pair(&c, n, psk);
		/* send: no keystream ready (full GCM inline), then with the ring prefilled */
		c.c->cfg.transport = (struct hvc_transport){ .ctx = &c, .send = sink_send, .recv = mem_recv };
		/* Round-robin over the operations, best of each: other load on the machine then
		 * hits all columns alike instead of whichever ran during a burst. */
		static const op_fn ops[8] = { op_memcpy, op_imb,      op_ossl, op_keystream,
					      op_ghash,	 op_critical, op_send, op_send };
		static const op_fn betw[8] = { NULL, NULL, NULL, NULL, NULL, ks_fill, NULL, op_prefill_tx };
		for (int k = 0; k < 8; k++)
			r[k] = 0;
		for (int round = 0; round < ROUNDS; round++)
			for (int k = 0; k < 8; k++) {
				double g = measure(ops[k], betw[k], &c, n);
				if (g > r[k])
					r[k] = g;
			}
		/* receive: the client sends 8 frames into memory, the server reads them back
		 * through a transport that copies them into its buffer; repeated */
		c.nframes = 8;
		c.frame_len = n + HVC_FRAME_OVERHEAD;
		c.frames = malloc(c.nframes * c.frame_len);
		free_pair(&c);
		make_pair(&c, n, psk); /* fresh pair: its receiver expects the next seq */
		/* receive, three ways: keystream made inline or the ring prefilled (untimed),
		 * frames decrypted straight from the transport's buffer (peek, as the
		 * hypervisor's TCP stream lends its ring), and the ring prefilled with a
		 * transport that copies into the caller's buffer (as a socket's recv does) */
		for (int v = 0; v < 3; v++) {
			int pre = v >= 1, lend = v <= 1;
			rr[si][v] = 0;
			for (int rep = 0; rep < 60; rep++) { /* best batch of 8 frames */
				double busy = 0;
				uint64_t bytes = 0;
				for (size_t f = 0; f < c.nframes; f++) {
					int rc = hvc_channel_send(c.c, 0x41, c.a, n);
					if (rc) {
						fprintf(stderr, "send2: %s\n", hvc_strerror(rc));
						abort();
					}
					mem_pipe_pull(&c.link.p[0], c.frames + f * c.frame_len, c.frame_len);
				}
				c.s->cfg.transport = (struct hvc_transport){ .ctx = &c,
									     .send = sink_send,
									     .recv = replay_recv,
									     .peek = lend ? replay_peek : NULL,
									     .consume = lend ? replay_consume : NULL };
				c.frame_i = c.nframes - 1;
				c.frame_off = c.frame_len;
				memset(c.b, 0, n);
				for (size_t f = 0; f < c.nframes; f++) {
					if (pre)
						op_prefill_rx(&c, n);
					double t0 = now();
					op_recv(&c, n);
					busy += now() - t0;
					bytes += n;
				}
				if (memcmp(c.a, c.b, n))
					abort();
				if (bytes / busy / 1e9 > rr[si][v])
					rr[si][v] = bytes / busy / 1e9;
			}
		}
		/* OpenSSL decrypt (with the tag check) of its own ciphertext of a */
		op_ossl(&c, n);
		memcpy(c.enc, c.b, n);
		memcpy(c.enc_tag, c.tag, 16);
		rr[si][3] = 0;
		for (int round = 0; round < ROUNDS; round++) {
			double g = measure(op_ossl_dec, NULL, &c, n);
			if (g > rr[si][3])
				rr[si][3] = g;
		}
		free(c.frames);
		free_pair(&c);
		printf("%-9s %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f\n",
		       n == 4096	? "4 KiB"
		       : n == 65536	? "64 KiB"
		       : n == (1 << 20) ? "1 MiB"
					: "4 MiB",
		       r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], rr[si][3], rr[si][0], rr[si][1], rr[si][2]);
	}
	printf("\ncolumns: imb-gcm = raw ipsec-mb AES-256-GCM encrypt (16-byte AAD); openssl and\n"
	       "ossl-dec = OpenSSL AES-256-GCM encrypt, decrypt with the tag check; ks-gen = CTR\n"
	       "keystream alone (the part moved off the critical path); critical = XOR + GHASH + tag\n"
	       "with keystream ready; ch-send/ch-recv = channel send/receive, full GCM inline;\n"
	       "ch-sendP/ch-recvP = channel with the keystream ring prefilled (untimed);\n"
	       "ch-recv/ch-recvP decrypt straight from the transport's buffer (peek/consume, as over\n"
	       "the hypervisor's TCP stream); ch-recvC = ring prefilled, through a transport that\n"
	       "copies into the caller's buffer first (as over a socket). Receive reads 8 frames\n"
	       "recorded in memory (32 MiB at 4 MiB: from DRAM, not cache).\n\n");
	printf("targets (64 KiB and above; without keystream ready / with the ring prefilled):\n");
	for (size_t si = 1; si < 4; si++) {
		double *r = res[si], *q = rr[si];
		const char *name = sizes[si] == 65536 ? "64 KiB" : sizes[si] == (1 << 20) ? "1 MiB" : "4 MiB";
		printf("  %-7s send/imb-gcm %.2f / %.2f (>=0.90 %s)  send/openssl %.2f / %.2f (>=2.5 %s)"
		       "  critical/full-gcm %.2f (>=1.2 %s)\n",
		       name, r[6] / r[1], r[7] / r[1], r[7] / r[1] >= 0.9 ? "ok" : "MISS", r[6] / r[2], r[7] / r[2],
		       r[7] / r[2] >= 2.5 ? "ok" : "MISS", r[5] / r[1], r[5] / r[1] >= 1.2 ? "ok" : "MISS");
		printf("  %-7s recv/imb-gcm %.2f / %.2f (>=0.90 %s)  recv/ossl-dec %.2f / %.2f (>=2.5 %s)"
		       "  copying transport: recvC/ossl-dec %.2f\n",
		       name, q[0] / r[1], q[1] / r[1], q[1] / r[1] >= 0.9 ? "ok" : "MISS", q[0] / q[3], q[1] / q[3],
		       q[1] / q[3] >= 2.5 ? "ok" : "MISS", q[2] / q[3]);
	}
	printf("\nplaintext with integrity (policy disabled both sides: payload in the clear, every frame\n"
	       "still tagged, GHASH over header and payload; issue 13): GB/s, and the share of the\n"
	       "encrypted channel's time (full GCM inline, as ch-send/ch-recv above; receive: both\n"
	       "through a lending transport); recv-PC copying transport (a socket), recv-PL lending\n"
	       "(the hypervisor's TCP stream: hashed while copied out of it, one pass)\n");
	printf("%-9s %8s %8s %8s %8s %8s %8s %10s %10s\n", "size", "memcpy", "ghash", "send-P", "recv-PC", "recv-PL",
	       "send-E", "P/E send", "P/E recv");
	for (size_t si = 0; si < 4; si++) {
		double ps, pr, pl;
		plain_rates(&c, sizes[si], psk, &ps, &pr, &pl);
		const char *name = sizes[si] == 4096	    ? "4 KiB"
				   : sizes[si] == 65536	    ? "64 KiB"
				   : sizes[si] == (1 << 20) ? "1 MiB"
							    : "4 MiB";
		/* time ratio plain/encrypted = rate_enc / rate_plain */
		printf("%-9s %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f %10.2f %10.2f\n", name, res[si][0], res[si][4], ps, pr,
		       pl, res[si][6], res[si][6] / ps, rr[si][0] / pl);
	}
	printf("(timings on a shared machine vary; run twice before concluding)\n");
	EVP_CIPHER_CTX_free(c.ossl);
	EVP_CIPHER_CTX_free(c.ossl_dec);
	hvc_gcm_key_wipe(c.key);
	return 0;
}
