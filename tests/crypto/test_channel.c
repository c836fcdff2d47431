/* The channel end to end, in process: handshake success and every rejection with its own
 * error (wrong PSK/key id, MITM rewriting/swapping/replaying nonces, downgrade, reflection),
 * replay/reorder/truncation/stall, every single-bit flip of a frame, rekeying, plaintext
 * never released before the tag verifies, and wire bytes that OpenSSL decrypts as GCM. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "hkdf_sha256.h"
#include "mem_secure.h"
#include "hvc_channel.h"
#include "ks_worker.h"
#include "mem_transport.h"
#include "test_util.h"

#define BUFSZ	 (256 * 1024)
#define STALL_NS 5000000000ull

struct mitm {
	int dir, nth; /* act on the nth send call (0-based) in direction dir */
	int action;   /* see enum below */
	size_t off;
	uint8_t val;
	const uint8_t *rep;
	size_t rep_len;
	int count[2];
	uint8_t rec[2][4][128]; /* first frames of each direction, for replays */
	size_t rec_len[2][4];
	int also_off2;
	size_t off2;
	uint8_t val2;
	size_t off3;
	uint8_t val3;
};
enum { M_PASS, M_XOR, M_SET, M_REPLACE, M_REFLECT, M_COPY_NONCE, M_SHARE };

struct pair {
	struct mem_link link;
	struct mem_end ce, se;
	struct hvc_channel *c, *s;
	struct hvc_config cc, sc;
	uint8_t *ctxb, *stxb, *ks[4];
	struct fake_clock clk;
	uint8_t psk[32];
	struct mitm m;
	int rc_c, rc_s;
};

static void mitm_fn(void *ctx, struct mem_link *l, int dir, const uint8_t *buf, size_t len, struct mem_pipe *out)
{
	struct pair *p = ctx;
	struct mitm *m = &p->m;
	int n = m->count[dir]++;
	uint8_t tmp[256];
	if (n < 4 && len <= sizeof(m->rec[0][0])) {
		memcpy(m->rec[dir][n], buf, len);
		m->rec_len[dir][n] = len;
	}
	if (m->action == M_PASS || dir != m->dir || n != m->nth || len > sizeof(tmp)) {
		mem_pipe_push(out, buf, len);
		return;
	}
	memcpy(tmp, buf, len);
	switch (m->action) {
	case M_XOR: tmp[m->off] ^= m->val; break;
	case M_SET:
		tmp[m->off] = m->val;
		if (m->also_off2)
			tmp[m->off2] = m->val2;
		if (m->also_off2 > 1)
			tmp[m->off3] = m->val3;
		break;
	case M_REPLACE: mem_pipe_push(out, m->rep, m->rep_len); return;
	case M_REFLECT: /* send the other side's first frame back to it, rewritten by off/val */
		memcpy(tmp, m->rec[!dir][0], m->rec_len[!dir][0]);
		len = m->rec_len[!dir][0];
		tmp[m->off] = m->val;
		if (m->also_off2)
			tmp[m->off2] = m->val2;
		if (m->also_off2 > 1)
			tmp[m->off3] = m->val3;
		break;
	case M_COPY_NONCE: /* server hello carries the client's nonce */
		memcpy(tmp + 28, m->rec[!dir][0] + 28, 32);
		break;
	case M_SHARE: /* a hello's X25519 share replaced by rep */ memcpy(tmp + 16 + 44, m->rep, 32); break;
	}
	(void)l;
	mem_pipe_push(out, tmp, len);
}

static void pair_init(struct pair *p, enum hvc_gcm_path path, enum hvc_policy pc, enum hvc_policy ps)
{
	memset(p, 0, sizeof(*p));
	mem_link_init(&p->link, 1 << 20);
	p->ce = (struct mem_end){ &p->link, 0 };
	p->se = (struct mem_end){ &p->link, 1 };
	p->link.mitm = mitm_fn;
	p->link.mitm_ctx = p;
	p->c = aligned_alloc(64, sizeof(struct hvc_channel));
	p->s = aligned_alloc(64, sizeof(struct hvc_channel));
	p->ctxb = malloc(BUFSZ);
	p->stxb = malloc(BUFSZ);
	for (int i = 0; i < 32; i++)
		p->psk[i] = (uint8_t)(i * 7 + 1);
	p->clk.step = 1000000000ull; /* every clock read advances one second */
	struct hvc_config base = { 0 };
	base.key_id = 7;
	base.psk = p->psk;
	base.psk_len = 32;
	base.clock = (struct hvc_clock){ &p->clk, fake_clock_now };
	base.stall_timeout_ns = STALL_NS;
	base.entropy = hvc_entropy_hosted;
	base.gcm_path = path;
	base.rx_max = BUFSZ - HVC_FRAME_OVERHEAD;
	p->cc = base;
	p->cc.role = HVC_ROLE_CLIENT;
	p->cc.policy = pc;
	p->cc.transport = mem_transport(&p->ce);
	p->cc.tx_buf = p->ctxb;
	p->cc.tx_buf_len = BUFSZ;
	p->sc = base;
	p->sc.role = HVC_ROLE_SERVER;
	p->sc.policy = ps;
	p->sc.transport = mem_transport(&p->se);
	p->sc.tx_buf = p->stxb;
	p->sc.tx_buf_len = BUFSZ;
}

static void pair_with_rings(struct pair *p, size_t sz)
{
	for (int i = 0; i < 4; i++)
		p->ks[i] = malloc(sz);
	p->cc.ks_tx_mem = p->ks[0];
	p->cc.ks_rx_mem = p->ks[1];
	p->sc.ks_tx_mem = p->ks[2];
	p->sc.ks_rx_mem = p->ks[3];
	p->cc.ks_tx_len = p->cc.ks_rx_len = p->sc.ks_tx_len = p->sc.ks_rx_len = sz;
}

static void pair_start(struct pair *p)
{
	assert_int_equal(hvc_channel_init(p->c, &p->cc), HVC_OK);
	assert_int_equal(hvc_channel_init(p->s, &p->sc), HVC_OK);
}

static void pair_free(struct pair *p)
{
	hvc_channel_destroy(p->c);
	hvc_channel_destroy(p->s);
	free(p->c);
	free(p->s);
	free(p->ctxb);
	free(p->stxb);
	for (int i = 0; i < 4; i++)
		free(p->ks[i]);
	mem_link_free(&p->link);
}

/* Steps both ends until neither is waiting; a dead peer leaves the other to its stall
 * timeout (the fake clock advances on every read). */
static void handshake(struct pair *p)
{
	p->rc_c = p->rc_s = HVC_AGAIN;
	for (int i = 0; i < 1000 && (p->rc_c == HVC_AGAIN || p->rc_s == HVC_AGAIN); i++) {
		if (p->rc_c == HVC_AGAIN)
			p->rc_c = hvc_channel_handshake_step(p->c);
		if (p->rc_s == HVC_AGAIN)
			p->rc_s = hvc_channel_handshake_step(p->s);
	}
}

static void assert_wiped(struct hvc_channel *ch)
{
	const uint8_t *k = (const uint8_t *)&ch->tx.key, *r = (const uint8_t *)&ch->rx.key;
	for (size_t i = 0; i < sizeof(ch->tx.key); i++) {
		assert_int_equal(k[i], 0);
		assert_int_equal(r[i], 0);
	}
	for (size_t i = 0; i < 32; i++) {
		assert_int_equal(ch->tx.secret[i], 0);
		assert_int_equal(ch->rx.secret[i], 0);
		assert_int_equal(ch->psk[i], 0);
		assert_int_equal(ch->prk[i], 0);
	}
	for (int d = 0; d < 2; d++) {
		struct hvc_ks_ring *rg = d ? &ch->rx.ring : &ch->tx.ring;
		for (size_t i = 0; rg->mem && i < rg->cap; i++)
			assert_int_equal(rg->mem[i], 0);
	}
}

static void roundtrip(struct pair *p, struct hvc_channel *tx, struct hvc_channel *rx, size_t n, uint64_t *seed)
{
	uint8_t *a = malloc(n + 1), *b = malloc(n + 1), type = 0;
	size_t len = 0;
	rnd_fill(seed, a, n);
	assert_int_equal(hvc_channel_send(tx, 0x41, a, n), HVC_OK);
	assert_int_equal(hvc_channel_recv(rx, &type, b, n + 1, &len), HVC_OK);
	assert_int_equal(type, 0x41);
	assert_int_equal(len, n);
	assert_memory_equal(a, b, n);
	free(a);
	free(b);
	(void)p;
}

static void test_handshake_and_roundtrip(void **state)
{
	PATH_OR_SKIP(state, path);
	struct pair p;
	uint64_t seed = 5;
	pair_init(&p, path, HVC_POLICY_REQUIRED, HVC_POLICY_REQUIRED);
	p.link.p[0].max_chunk = 7; /* partial reads everywhere */
	p.link.p[1].max_chunk = 7;
	pair_start(&p);
	handshake(&p);
	assert_int_equal(p.rc_c, HVC_OK);
	assert_int_equal(p.rc_s, HVC_OK);
	assert_int_equal(hvc_channel_mode(p.c), HVC_MODE_ENCRYPTED);
	assert_int_equal(hvc_channel_gcm_path(p.c), path);
	/* handshake secrets are gone once established */
	for (int i = 0; i < 32; i++)
		assert_int_equal(p.c->psk[i] | p.c->prk[i] | p.s->psk[i] | p.s->prk[i], 0);
	p.link.p[0].max_chunk = p.link.p[1].max_chunk = 0;
	size_t sizes[] = { 0, 1, 15, 16, 17, 255, 4096, 65536 + 3, BUFSZ - HVC_FRAME_OVERHEAD };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		roundtrip(&p, p.c, p.s, sizes[i], &seed);
		roundtrip(&p, p.s, p.c, sizes[i], &seed);
	}
	/* payload arriving in odd-sized pieces: GHASH advances as it arrives */
	size_t chunks[] = { 1, 15, 17, 37, 1000, 4099 };
	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		p.link.p[0].max_chunk = p.link.p[1].max_chunk = chunks[i];
		roundtrip(&p, p.c, p.s, 5000 + i, &seed);
		roundtrip(&p, p.s, p.c, 33 + i, &seed);
	}
	pair_free(&p);
}

/* A message gathered from a head and parts (a PAGES message: header and entries, then
 * pages from anywhere) arrives as their concatenation: encrypted without and with ring
 * keystream, plaintext, heads that do and do not end on a block, parts of a page and of an
 * odd size, and across rekeys (the REKEY frame is built where a staged payload goes). */
static void test_sendv_gathered(void **state)
{
	PATH_OR_SKIP(state, path);
	uint64_t seed = 77;
	for (int mode = 0; mode < 3; mode++) { /* 0 encrypted, 1 encrypted + ring, 2 plaintext */
		struct pair p;
		enum hvc_policy pol = mode == 2 ? HVC_POLICY_DISABLED : HVC_POLICY_REQUIRED;
		pair_init(&p, path, pol, pol);
		p.cc.rekey_msgs = 5;
		if (mode == 1)
			pair_with_rings(&p, 4 * 70000);
		pair_start(&p);
		handshake(&p);
		assert_int_equal(p.rc_c, HVC_OK);
		assert_int_equal(hvc_channel_mode(p.c), mode == 2 ? HVC_MODE_PLAIN : HVC_MODE_ENCRYPTED);
		uint8_t *pool = malloc(40 * 4096), *want = malloc(BUFSZ), *got = malloc(BUFSZ);
		rnd_fill(&seed, pool, 40 * 4096);
		for (int it = 0; it < 24; it++) {
			size_t k = rnd64(&seed) % 16, head_len = 16 + 8 * k;
			size_t part_len = it % 3 == 2 ? 100 : 4096;
			unsigned nparts = (unsigned)(rnd64(&seed) % 17);
			const void *parts[16];
			uint8_t head[16 + 8 * 15];
			rnd_fill(&seed, head, head_len);
			memcpy(want, head, head_len);
			for (unsigned i = 0; i < nparts; i++) {
				/* parts in any order, from anywhere in the pool, repeats allowed */
				parts[i] = pool + (rnd64(&seed) % 39) * 4096 + (rnd64(&seed) % 64);
				memcpy(want + head_len + i * part_len, parts[i], part_len);
			}
			size_t len = head_len + nparts * part_len, n = 0;
			if (mode == 1)
				assert_true(hvc_channel_prefill(p.c, len, 0) >= 0);
			assert_int_equal(hvc_channel_sendv(p.c, 0x42, head, head_len, parts, nparts, part_len), HVC_OK);
			uint8_t type = 0;
			assert_int_equal(hvc_channel_recv(p.s, &type, got, BUFSZ, &n), HVC_OK);
			assert_int_equal(type, 0x42);
			assert_int_equal(n, len);
			assert_memory_equal(got, want, len);
		}
		assert_true(hvc_channel_tx_epoch(p.c) >= 4); /* it rekeyed on the way */
		uint64_t fr = 0, ready = 0;
		hvc_channel_ks_stats(p.c, 0, &fr, &ready);
		if (mode == 1)
			assert_true(ready >= 12); /* the ring's keystream was used for most */
		const void *bad[1] = { NULL };
		assert_int_equal(hvc_channel_sendv(p.c, 0x42, NULL, 16, NULL, 0, 0), HVC_E_INVAL);
		assert_int_equal(hvc_channel_sendv(p.c, 0x42, pool, 16, bad, 1, 4096), HVC_E_INVAL);
		free(pool);
		free(want);
		free(got);
		pair_free(&p);
	}
}

/* A test placement: the first 16 bytes kept in buf, then regions of 48 + 16 * (byte 0 % 8)
 * bytes alternately placed in out[] (at the same offset) and kept in buf; rules broken on
 * request. */
struct tplace {
	uint8_t *out;
	int calls, broken; /* 1: a region not ending on a block; 2: an empty one */
};

static uint8_t *tplace_where(void *ctx, uint8_t type, const uint8_t *buf, size_t len, size_t off, size_t *n)
{
	struct tplace *t = ctx;
	assert_int_equal(type, 0x42);
	t->calls++;
	if (off == 0) {
		*n = len < 16 ? len : 16;
		return NULL;
	}
	size_t reg = 48 + 16 * (size_t)(buf[0] % 8), idx = (off - 16) / reg;
	assert_int_equal((off - 16) % reg, 0); /* asked exactly at each region's end */
	*n = len - off < reg ? len - off : reg;
	if (t->broken == 1 && idx == 1 && *n > 1)
		*n -= 1;
	if (t->broken == 2 && idx == 1)
		*n = 0;
	return idx % 2 ? NULL : t->out + off;
}

/* Receive placement: every region's plaintext lands where where() said, the regions kept in
 * buf are there, and the message is whole; encrypted (streaming, ring keystream, decrypt
 * after the tag) and plaintext; from a copying and from a lending transport, in pieces of
 * any size. A placement that breaks its rules fails the frame (never a crash or a silent
 * partial write), and so does a frame altered on the wire, placed or not. */
static void test_receive_placement(void **state)
{
	PATH_OR_SKIP(state, path);
	uint64_t seed = 91;
	for (int v = 0; v < 8; v++) {
		int mode = v % 4, lend = v / 4; /* 0 encrypted, 1 ring, 2 plaintext, 3 one-shot pieces */
		struct pair p;
		enum hvc_policy pol = mode == 2 ? HVC_POLICY_DISABLED : HVC_POLICY_REQUIRED;
		pair_init(&p, path, pol, pol);
		if (lend) {
			p.cc.transport = mem_transport_peek(&p.ce);
			p.sc.transport = mem_transport_peek(&p.se);
			p.link.p[0].wrap = p.link.p[1].wrap = 1000; /* lends stop at odd places */
		}
		if (mode == 1)
			pair_with_rings(&p, 4 * 70000);
		pair_start(&p);
		handshake(&p);
		assert_int_equal(p.rc_c, HVC_OK);
		uint8_t *msg = malloc(70000), *buf = malloc(70000), *out = malloc(70000);
		struct tplace t = { out, 0, 0 };
		hvc_channel_set_place(p.s, tplace_where, &t);
		for (int it = 0; it < 30; it++) {
			size_t len = it == 0 ? 0 : it == 1 ? 5 : rnd64(&seed) % 65536;
			rnd_fill(&seed, msg, len);
			memset(buf, 0xAA, len);
			memset(out, 0x55, len);
			p.link.p[0].max_chunk = p.link.p[1].max_chunk = mode == 3 ? 0 : 1 + rnd64(&seed) % 9000;
			if (mode == 1) {
				hvc_channel_prefill(p.c, len, 0);
				hvc_channel_prefill(p.s, 0, len);
			}
			assert_int_equal(hvc_channel_send(p.c, 0x42, msg, len), HVC_OK);
			uint8_t type = 0;
			size_t n = 0;
			int rc;
			while ((rc = hvc_channel_recv(p.s, &type, buf, 70000, &n)) == HVC_AGAIN)
				;
			assert_int_equal(rc, HVC_OK);
			assert_int_equal(n, len);
			int placed = mode != 2 || lend; /* plaintext: only when lent */
			assert_int_equal(hvc_channel_rx_placed(p.s), placed);
			size_t reg = len ? 48 + 16 * (size_t)(msg[0] % 8) : 1;
			for (size_t off = 0; off < len;) {
				size_t r = off == 0 ? 16 : reg, idx = off == 0 ? 1 : (off - 16) / reg;
				if (r > len - off)
					r = len - off;
				/* placed regions hold the plaintext in out; kept ones in buf */
				assert_memory_equal((idx % 2 || !placed ? buf : out) + off, msg + off, r);
				off += r;
			}
		}
		/* placement withdrawn mid-frame (its caller failed): nothing more is written there */
		if (mode != 2 && !lend) {
			rnd_fill(&seed, msg, 20000);
			msg[0] = 0;
			memset(out, 0x55, 20000);
			p.link.p[0].max_chunk = p.link.p[1].max_chunk = 0;
			assert_int_equal(hvc_channel_send(p.c, 0x42, msg, 20000), HVC_OK);
			static uint8_t wire[30000];
			size_t wl = mem_pipe_pull(&p.link.p[0], wire, sizeof(wire));
			mem_pipe_push(&p.link.p[0], wire, 3000); /* the first part arrives */
			uint8_t ty;
			size_t got;
			assert_int_equal(hvc_channel_recv(p.s, &ty, buf, 70000, &got), HVC_AGAIN);
			hvc_channel_set_place(p.s, NULL, NULL);
			mem_pipe_push(&p.link.p[0], wire + 3000, wl - 3000);
			int r2;
			while ((r2 = hvc_channel_recv(p.s, &ty, buf, 70000, &got)) == HVC_AGAIN)
				;
			assert_int_equal(r2, HVC_OK);
			assert_int_equal(hvc_channel_rx_placed(p.s), 0);
			for (size_t i = 3000 + 64; i < 20000; i++)
				assert_int_equal(out[i], 0x55);
			hvc_channel_set_place(p.s, tplace_where, &t);
		}
		/* an altered frame fails, placement or not */
		p.link.p[0].max_chunk = p.link.p[1].max_chunk = 0;
		rnd_fill(&seed, msg, 3000);
		assert_int_equal(hvc_channel_send(p.c, 0x42, msg, 3000), HVC_OK);
		p.link.p[0].buf[p.link.p[0].head + HVC_HDR_LEN + 2000] ^= 0x10; /* a placed region */
		uint8_t type;
		size_t n;
		int rc;
		while ((rc = hvc_channel_recv(p.s, &type, buf, 70000, &n)) == HVC_AGAIN)
			;
		assert_int_equal(rc, HVC_E_AUTH_TAG);
		assert_int_equal(hvc_channel_rx_placed(p.s), 0);
		pair_free(&p);
		/* broken placements */
		for (int b = 1; b <= 2 && (mode != 2 || lend); b++) {
			pair_init(&p, path, pol, pol);
			if (lend) {
				p.cc.transport = mem_transport_peek(&p.ce);
				p.sc.transport = mem_transport_peek(&p.se);
			}
			pair_start(&p);
			handshake(&p);
			t.broken = b;
			hvc_channel_set_place(p.s, tplace_where, &t);
			msg[0] = 0; /* regions of 48 */
			assert_int_equal(hvc_channel_send(p.c, 0x42, msg, 3000), HVC_OK);
			while ((rc = hvc_channel_recv(p.s, &type, buf, 70000, &n)) == HVC_AGAIN)
				;
			assert_int_equal(rc, HVC_E_INVAL);
			t.broken = 0;
			pair_free(&p);
		}
		free(msg);
		free(buf);
		free(out);
	}
}

static void test_pipelined_ring_roundtrip(void **state)
{
	PATH_OR_SKIP(state, path);
	struct pair p;
	uint64_t seed = 11;
	pair_init(&p, path, HVC_POLICY_REQUIRED, HVC_POLICY_OPPORTUNISTIC);
	pair_with_rings(&p, 3 * 70000);
	pair_start(&p);
	handshake(&p);
	assert_int_equal(p.rc_c, HVC_OK);
	assert_int_equal(p.rc_s, HVC_OK);
	for (int i = 0; i < 40; i++) {
		size_t n = rnd64(&seed) % 70000;
		int f1 = hvc_channel_prefill(p.c, 65536, 0), f2 = hvc_channel_prefill(p.s, 0, 65536);
		if (i == 0) {
			assert_true(f1 >= 2);
			assert_true(f2 >= 2);
		}
		unsigned before = hvc_ks_ring_count(&p.c->tx.ring);
		roundtrip(&p, p.c, p.s, n, &seed);
		/* the entry for this seq is consumed when it covers the message, else dropped */
		if (before)
			assert_int_equal(hvc_ks_ring_count(&p.c->tx.ring), before - 1);
	}
	pair_free(&p);
}

/* Keystream ahead is bounded in bytes (cfg.ks_ahead) as well as by the ring, but at
 * least one frame is always made. */
static void test_ks_ahead_bound(void **state)
{
	(void)state;
	struct pair p;
	pair_init(&p, HVC_GCM_AUTO, HVC_POLICY_REQUIRED, HVC_POLICY_REQUIRED);
	pair_with_rings(&p, 8 * 20000);
	p.cc.ks_ahead = 50000;
	p.sc.ks_ahead = 10000;
	pair_start(&p);
	handshake(&p);
	assert_int_equal(p.rc_c, HVC_OK);
	assert_int_equal(p.rc_s, HVC_OK);
	assert_int_equal(hvc_channel_prefill(p.c, 20000, 0), 2); /* 2 x 20000 <= 50000 < 3 x */
	assert_int_equal(hvc_channel_tx_ks_ready(p.c), 2);
	assert_int_equal(hvc_channel_prefill(p.c, 20000, 0), 0);
	assert_int_equal(hvc_ks_ring_bytes(&p.c->tx.ring), 40000);
	assert_int_equal(hvc_channel_prefill(p.s, 0, 20000), 1); /* over the bound: still one */
	uint64_t seed = 5;
	roundtrip(&p, p.c, p.s, 20000, &seed);
	assert_int_equal(hvc_ks_ring_count(&p.c->tx.ring), 1);
	assert_int_equal(hvc_ks_ring_count(&p.s->rx.ring), 0);
	assert_int_equal(hvc_channel_prefill(p.c, 20000, 0), 1);
	pair_free(&p);
}

/* Keystream made by a worker thread (hvc_channel_ks_job_*, through the simulator's
 * tools/migsim/ks_worker.c) while the channel's thread sends: frames use it, and the
 * receiver (making its own keystream) opens them all. */
static void test_ks_jobs_on_a_thread(void **state)
{
	PATH_OR_SKIP(state, path);
	struct pair p;
	struct ks_worker *w = calloc(1, sizeof(*w));
	uint64_t seed = 77;
	int used = 0;
	pair_init(&p, path, HVC_POLICY_REQUIRED, HVC_POLICY_REQUIRED);
	pair_with_rings(&p, 8 * 20100);
	p.cc.rekey_msgs = 70; /* a rekey with jobs in flight, twice */
	pair_start(&p);
	handshake(&p);
	assert_int_equal(p.rc_c, HVC_OK);
	assert_int_equal(ks_worker_start(w), 0);
	for (int i = 0; i < 200; i++) {
		if (i % 3 == 0)
			ks_worker_drain(w, p.c);
		ks_worker_pump(w, p.c, 20000, 0);
		const struct hvc_ks_ring *r = &p.c->tx.ring;
		const struct hvc_ks_entry *e = &r->e[r->first];
		if (r->count && !e->pending && e->seq == p.c->tx.seq && e->epoch == p.c->tx.epoch)
			used++;
		roundtrip(&p, p.c, p.s, rnd64(&seed) % 20001, &seed);
	}
	ks_worker_drain(w, p.c);
	assert_int_equal(p.c->tx.jobs_out, 0);
	assert_true(used > 50);
	assert_true(hvc_channel_tx_epoch(p.c) >= 2);
	ks_worker_stop(w);
	free(w);
	pair_free(&p);
}

/* A job that comes back after its ring was wiped (rekey, failure) leaves nothing behind,
 * and no fill reuses the ring while it is out. */
static void test_ks_job_outlives_ring(void **state)
{
	(void)state;
	struct pair p;
	struct hvc_ks_job *job = malloc(2 * sizeof(*job));
	uint64_t seed = 3;
	pair_init(&p, HVC_GCM_AUTO, HVC_POLICY_REQUIRED, HVC_POLICY_REQUIRED);
	pair_with_rings(&p, 4 * 5000);
	p.cc.rekey_msgs = 2;
	pair_start(&p);
	handshake(&p);
	assert_int_equal(p.rc_c, HVC_OK);
	assert_int_equal(hvc_channel_ks_job_take(p.c, 4000, 0, job), HVC_OK);
	assert_int_equal(p.c->tx.jobs_out, 1);
	assert_int_equal(hvc_channel_tx_ks_ready(p.c), 0); /* pending is not ready */
	roundtrip(&p, p.c, p.s, 4000, &seed);		   /* pending: made inline */
	roundtrip(&p, p.c, p.s, 4000, &seed);
	assert_int_equal(hvc_channel_tx_epoch(p.c), 0);
	roundtrip(&p, p.c, p.s, 4000, &seed); /* rekeys first: the ring is wiped */
	assert_int_equal(hvc_channel_tx_epoch(p.c), 1);
	assert_int_equal(hvc_channel_prefill(p.c, 4000, 0), 0); /* blocked while the job is out */
	assert_int_equal(hvc_channel_ks_job_take(p.c, 4000, 0, job + 1), HVC_AGAIN);
	hvc_ks_job_run(job); /* the worker finishes late, into wiped memory */
	hvc_channel_ks_job_done(p.c, job);
	for (size_t i = 0; i < 4016; i++)
		assert_int_equal(job->dst[i], 0);
	for (size_t i = 0; i < sizeof(job->key); i++)
		assert_int_equal(((uint8_t *)&job->key)[i], 0);
	assert_true(hvc_channel_prefill(p.c, 4000, 0) > 0); /* unblocked */
	roundtrip(&p, p.c, p.s, 4000, &seed);
	/* the same for a receive job after the channel closed */
	assert_int_equal(hvc_channel_ks_job_take(p.s, 0, 4000, job), HVC_OK);
	assert_int_equal(job->dir, 1);
	hvc_ks_job_run(job);
	assert_int_equal(hvc_channel_close(p.s), HVC_OK);
	hvc_channel_ks_job_done(p.s, job);
	for (size_t i = 0; i < 4016; i++)
		assert_int_equal(job->dst[i], 0);
	free(job);
	pair_free(&p);
}

/* A job that comes back after its frame went without it (made inline) leaves no
 * keystream in the ring, on either side. */
static void test_ks_job_after_its_frame(void **state)
{
	(void)state;
	struct pair p;
	struct hvc_ks_job *job = malloc(2 * sizeof(*job));
	uint64_t seed = 9;
	pair_init(&p, HVC_GCM_AUTO, HVC_POLICY_REQUIRED, HVC_POLICY_REQUIRED);
	pair_with_rings(&p, 8 * 5000);
	pair_start(&p);
	handshake(&p);
	assert_int_equal(p.rc_c, HVC_OK);
	assert_int_equal(hvc_channel_ks_job_take(p.c, 4000, 0, &job[0]), HVC_OK);
	assert_int_equal(hvc_channel_ks_job_take(p.s, 0, 4000, &job[1]), HVC_OK);
	roundtrip(&p, p.c, p.s, 4000, &seed); /* both ends without their pending keystream */
	for (int k = 0; k < 2; k++) {
		struct hvc_channel *ch = k ? p.s : p.c;
		hvc_ks_job_run(&job[k]);
		hvc_channel_ks_job_done(ch, &job[k]);
		const struct hvc_ks_ring *r = k ? &ch->rx.ring : &ch->tx.ring;
		assert_int_equal(hvc_ks_ring_count(r), 0);
		for (size_t i = 0; i < 4016; i++)
			assert_int_equal(job[k].dst[i], 0);
	}
	assert_int_equal(hvc_channel_tx_ks_ready(p.c), 0);
	roundtrip(&p, p.c, p.s, 4000, &seed);
	free(job);
	pair_free(&p);
}

static void test_wrong_psk(void **state)
{
	(void)state;
	struct pair p;
	uint8_t other[32];
	pair_init(&p, HVC_GCM_AUTO, HVC_POLICY_REQUIRED, HVC_POLICY_REQUIRED);
	memcpy(other, p.psk, 32);
	other[31] ^= 1;
	p.sc.psk = other;
	pair_start(&p);
	handshake(&p);
	assert_int_equal(p.rc_s, HVC_E_HANDSHAKE_AUTH);
	assert_int_equal(p.rc_c, HVC_E_TIMEOUT); /* the client hears nothing more */
	assert_int_equal(hvc_channel_last_error(p.s), HVC_E_HANDSHAKE_AUTH);
	assert_wiped(p.s);
	assert_wiped(p.c);
	assert_int_equal(hvc_channel_send(p.s, 0x41, "x", 1), HVC_E_DEAD);
	pair_free(&p);
}

static void test_unknown_key_id(void **state)
{
	(void)state;
	struct pair p;
	pair_init(&p, HVC_GCM_AUTO, HVC_POLICY_REQUIRED, HVC_POLICY_REQUIRED);
	p.cc.key_id = 8;
	pair_start(&p);
	handshake(&p);
	assert_int_equal(p.rc_s, HVC_E_UNKNOWN_KEY_ID);
	pair_free(&p);
}

static int lookup(void *ctx, uint32_t id, uint8_t *psk, size_t *n)
{
	const uint8_t *k = ctx;
	if (id != 99)
		return -1;
	memcpy(psk, k, 32);
	*n = 32;
	return 0;
}

static void test_psk_lookup(void **state)
{
	(void)state;
	struct pair p;
	uint64_t seed = 3;
	pair_init(&p, HVC_GCM_AUTO, HVC_POLICY_REQUIRED, HVC_POLICY_REQUIRED);
	p.cc.key_id = 99;
	p.sc.psk = NULL;
	p.sc.psk_lookup = lookup;
	p.sc.psk_lookup_ctx = p.psk;
	pair_start(&p);
	handshake(&p);
	assert_int_equal(p.rc_c, HVC_OK);
	assert_int_equal(p.rc_s, HVC_OK);
	roundtrip(&p, p.c, p.s, 1000, &seed);
	pair_free(&p);
	pair_init(&p, HVC_GCM_AUTO, HVC_POLICY_REQUIRED, HVC_POLICY_REQUIRED);
	p.cc.key_id = 98;
	p.sc.psk = NULL;
	p.sc.psk_lookup = lookup;
	p.sc.psk_lookup_ctx = p.psk;
	pair_start(&p);
	handshake(&p);
	assert_int_equal(p.rc_s, HVC_E_UNKNOWN_KEY_ID);
	pair_free(&p);
}

/* Hello payload offsets within a frame (header is 16 bytes). */
#define OFF_POLICY 17
#define OFF_ECHO   18
#define OFF_MODE   19
#define OFF_NONCE  28

static void run_mitm(struct mitm m, enum hvc_policy pc, enum hvc_policy ps, int want_c, int want_s)
{
	struct pair p;
	pair_init(&p, HVC_GCM_AUTO, pc, ps);
	p.m = m;
	pair_start(&p);
	handshake(&p);
	assert_int_equal(p.rc_c, want_c);
	assert_int_equal(p.rc_s, want_s);
	pair_free(&p);
}

static void test_mitm_tampered_nonce(void **state)
{
	(void)state;
	/* a flipped bit in either nonce: transcripts differ, server refuses FINISH_C */
	run_mitm((struct mitm){ .dir = 0, .nth = 0, .action = M_XOR, .off = OFF_NONCE + 3, .val = 4 },
		 HVC_POLICY_REQUIRED, HVC_POLICY_REQUIRED, HVC_E_TIMEOUT, HVC_E_HANDSHAKE_AUTH);
	run_mitm((struct mitm){ .dir = 1, .nth = 0, .action = M_XOR, .off = OFF_NONCE + 31, .val = 1 },
		 HVC_POLICY_REQUIRED, HVC_POLICY_REQUIRED, HVC_E_TIMEOUT, HVC_E_HANDSHAKE_AUTH);
	/* header of a hello is in the transcript too */
	run_mitm((struct mitm){ .dir = 0, .nth = 0, .action = M_XOR, .off = 24, .val = 1 }, HVC_POLICY_REQUIRED,
		 HVC_POLICY_REQUIRED, HVC_E_TIMEOUT, HVC_E_HANDSHAKE_AUTH);
	/* tampered finished MACs */
	run_mitm((struct mitm){ .dir = 0, .nth = 1, .action = M_XOR, .off = 20, .val = 1 }, HVC_POLICY_REQUIRED,
		 HVC_POLICY_REQUIRED, HVC_E_TIMEOUT, HVC_E_HANDSHAKE_AUTH);
	run_mitm((struct mitm){ .dir = 1, .nth = 1, .action = M_XOR, .off = 47, .val = 0x80 }, HVC_POLICY_REQUIRED,
		 HVC_POLICY_REQUIRED, HVC_E_HANDSHAKE_AUTH, HVC_OK);
}

static void test_mitm_swapped_nonce_reflected(void **state)
{
	(void)state;
	/* server hello made to carry the client's own nonce */
	run_mitm((struct mitm){ .dir = 1, .nth = 0, .action = M_COPY_NONCE }, HVC_POLICY_REQUIRED, HVC_POLICY_REQUIRED,
		 HVC_E_NONCE_REFLECTED, HVC_E_TIMEOUT);
	/* client's hello reflected back to it as is */
	run_mitm((struct mitm){ .dir = 1, .nth = 0, .action = M_REFLECT, .off = 1, .val = HVC_FT_HELLO_C },
		 HVC_POLICY_REQUIRED, HVC_POLICY_REQUIRED, HVC_E_UNEXPECTED_FRAME, HVC_E_TIMEOUT);
	/* ... and rewritten into a well-formed server hello */
	run_mitm((struct mitm){ .dir = 1,
				.nth = 0,
				.action = M_REFLECT,
				.off = 1,
				.val = HVC_FT_HELLO_S,
				.also_off2 = 2,
				.off2 = OFF_MODE,
				.val2 = HVC_MODE_ENCRYPTED,
				.off3 = OFF_ECHO,
				.val3 = HVC_POLICY_REQUIRED },
		 HVC_POLICY_REQUIRED, HVC_POLICY_REQUIRED, HVC_E_NONCE_REFLECTED, HVC_E_TIMEOUT);
}

static void test_mitm_replayed_handshake(void **state)
{
	(void)state;
	struct pair p;
	uint8_t old_hs[128], old_hc[128], old_fc[128];
	size_t l_hs, l_hc, l_fc;
	/* session 1: record */
	pair_init(&p, HVC_GCM_AUTO, HVC_POLICY_REQUIRED, HVC_POLICY_REQUIRED);
	pair_start(&p);
	handshake(&p);
	assert_int_equal(p.rc_c, HVC_OK);
	memcpy(old_hc, p.m.rec[0][0], l_hc = p.m.rec_len[0][0]);
	memcpy(old_fc, p.m.rec[0][1], l_fc = p.m.rec_len[0][1]);
	memcpy(old_hs, p.m.rec[1][0], l_hs = p.m.rec_len[1][0]);
	pair_free(&p);
	/* session 2: old server hello (old nonce) replayed to a fresh client */
	run_mitm((struct mitm){ .dir = 1, .nth = 0, .action = M_REPLACE, .rep = old_hs, .rep_len = l_hs },
		 HVC_POLICY_REQUIRED, HVC_POLICY_REQUIRED, HVC_E_TIMEOUT, HVC_E_HANDSHAKE_AUTH);
	/* session 3: a recorded client flight replayed to a fresh server */
	pair_init(&p, HVC_GCM_AUTO, HVC_POLICY_REQUIRED, HVC_POLICY_REQUIRED);
	pair_start(&p);
	mem_pipe_push(&p.link.p[0], old_hc, l_hc);
	assert_int_equal(hvc_channel_handshake_step(p.s), HVC_AGAIN);
	mem_pipe_push(&p.link.p[0], old_fc, l_fc);
	assert_int_equal(hvc_channel_handshake_step(p.s), HVC_E_HANDSHAKE_AUTH);
	assert_wiped(p.s);
	pair_free(&p);
	/* a hello frame sent twice: the second is a replay of seq 0 */
	pair_init(&p, HVC_GCM_AUTO, HVC_POLICY_REQUIRED, HVC_POLICY_REQUIRED);
	pair_start(&p);
	mem_pipe_push(&p.link.p[0], old_hc, l_hc);
	assert_int_equal(hvc_channel_handshake_step(p.s), HVC_AGAIN);
	old_hc[1] = HVC_FT_FINISH_C;
	old_hc[7] = 32;
	mem_pipe_push(&p.link.p[0], old_hc, 16 + 32);
	assert_int_equal(hvc_channel_handshake_step(p.s), HVC_E_REPLAY);
	pair_free(&p);
}

static void test_downgrade(void **state)
{
	(void)state;
	/* client REQUIRED rewritten to DISABLED: the server's echo betrays it */
	run_mitm((struct mitm){ .dir = 0, .nth = 0, .action = M_SET, .off = OFF_POLICY, .val = HVC_POLICY_DISABLED },
		 HVC_POLICY_REQUIRED, HVC_POLICY_OPPORTUNISTIC, HVC_E_DOWNGRADE, HVC_E_TIMEOUT);
	/* server OPPORTUNISTIC's policy rewritten to DISABLED toward an opportunistic client */
	run_mitm((struct mitm){ .dir = 1, .nth = 0, .action = M_SET, .off = OFF_POLICY, .val = HVC_POLICY_DISABLED },
		 HVC_POLICY_OPPORTUNISTIC, HVC_POLICY_OPPORTUNISTIC, HVC_E_DOWNGRADE, HVC_E_TIMEOUT);
	/* server's chosen mode rewritten to PLAIN */
	run_mitm((struct mitm){ .dir = 1, .nth = 0, .action = M_SET, .off = OFF_MODE, .val = HVC_MODE_PLAIN },
		 HVC_POLICY_OPPORTUNISTIC, HVC_POLICY_OPPORTUNISTIC, HVC_E_DOWNGRADE, HVC_E_TIMEOUT);
	/* consistent rewrite of policy+mode in the server hello: the transcript MAC catches it */
	run_mitm((struct mitm){ .dir = 1,
				.nth = 0,
				.action = M_SET,
				.off = OFF_POLICY,
				.val = HVC_POLICY_DISABLED,
				.also_off2 = 1,
				.off2 = OFF_MODE,
				.val2 = HVC_MODE_PLAIN },
		 HVC_POLICY_OPPORTUNISTIC, HVC_POLICY_OPPORTUNISTIC, HVC_E_TIMEOUT, HVC_E_HANDSHAKE_AUTH);
}

static void test_policy_negotiation(void **state)
{
	(void)state;
	static const struct {
		enum hvc_policy c, s;
		int want_c, want_s;
		enum hvc_mode mode;
	} t[] = {
		{ HVC_POLICY_REQUIRED, HVC_POLICY_REQUIRED, HVC_OK, HVC_OK, HVC_MODE_ENCRYPTED },
		{ HVC_POLICY_REQUIRED, HVC_POLICY_OPPORTUNISTIC, HVC_OK, HVC_OK, HVC_MODE_ENCRYPTED },
		{ HVC_POLICY_OPPORTUNISTIC, HVC_POLICY_REQUIRED, HVC_OK, HVC_OK, HVC_MODE_ENCRYPTED },
		{ HVC_POLICY_OPPORTUNISTIC, HVC_POLICY_OPPORTUNISTIC, HVC_OK, HVC_OK, HVC_MODE_ENCRYPTED },
		{ HVC_POLICY_OPPORTUNISTIC, HVC_POLICY_DISABLED, HVC_OK, HVC_OK, HVC_MODE_PLAIN },
		{ HVC_POLICY_DISABLED, HVC_POLICY_OPPORTUNISTIC, HVC_OK, HVC_OK, HVC_MODE_PLAIN },
		{ HVC_POLICY_DISABLED, HVC_POLICY_DISABLED, HVC_OK, HVC_OK, HVC_MODE_PLAIN },
		{ HVC_POLICY_REQUIRED, HVC_POLICY_DISABLED, HVC_E_TIMEOUT, HVC_E_POLICY_MISMATCH, 0 },
		{ HVC_POLICY_DISABLED, HVC_POLICY_REQUIRED, HVC_E_TIMEOUT, HVC_E_POLICY_MISMATCH, 0 },
	};
	/* twice: plain transports, then lending ones that also take two pieces in one write
	 * (send2), which plaintext frames use for header + payload */
	for (size_t i = 0; i < 2 * sizeof(t) / sizeof(t[0]); i++) {
		size_t k = i % (sizeof(t) / sizeof(t[0]));
		int lend = i >= sizeof(t) / sizeof(t[0]);
		struct pair p;
		uint64_t seed = i;
		pair_init(&p, HVC_GCM_AUTO, t[k].c, t[k].s);
		if (lend) {
			p.cc.transport = mem_transport_peek(&p.ce);
			p.sc.transport = mem_transport_peek(&p.se);
		}
		pair_start(&p);
		handshake(&p);
		assert_int_equal(p.rc_c, t[k].want_c);
		assert_int_equal(p.rc_s, t[k].want_s);
		if (t[k].want_c == HVC_OK) {
			assert_int_equal(hvc_channel_mode(p.c), t[k].mode);
			assert_int_equal(hvc_channel_mode(p.s), t[k].mode);
			roundtrip(&p, p.c, p.s, 5000, &seed);
			roundtrip(&p, p.s, p.c, 77, &seed);
			int plain_send2 = lend && t[k].mode == HVC_MODE_PLAIN;
			assert_int_equal(p.link.send2_calls[0] > 0, plain_send2);
			assert_int_equal(p.link.send2_calls[1] > 0, plain_send2);
		}
		pair_free(&p);
	}
}

/* peek: both ends' transports lend their buffer (decrypt straight from it) */
static struct pair *established_t(enum hvc_gcm_path path, int peek)
{
	struct pair *p = malloc(sizeof(*p));
	pair_init(p, path, HVC_POLICY_REQUIRED, HVC_POLICY_REQUIRED);
	if (peek) {
		p->cc.transport = mem_transport_peek(&p->ce);
		p->sc.transport = mem_transport_peek(&p->se);
	}
	pair_start(p);
	handshake(p);
	assert_int_equal(p->rc_c, HVC_OK);
	assert_int_equal(p->rc_s, HVC_OK);
	return p;
}

static struct pair *established(enum hvc_gcm_path path) { return established_t(path, 0); }

/* Sends n messages of len bytes from client and takes their frames off the wire. */
static void capture_frames(struct pair *p, int n, size_t len, uint8_t frames[][512])
{
	uint8_t msg[512];
	for (int i = 0; i < n; i++) {
		memset(msg, 'a' + i, len);
		assert_int_equal(hvc_channel_send(p->c, 0x42, msg, len), HVC_OK);
		assert_int_equal(mem_pipe_pull(&p->link.p[0], frames[i], len + 32), len + 32);
	}
}

static int recv1(struct pair *p, uint8_t *buf, size_t cap)
{
	uint8_t type;
	size_t len;
	return hvc_channel_recv(p->s, &type, buf, cap, &len);
}

static void test_replay_reorder_truncate(void **state)
{
	(void)state;
	uint8_t f[3][512], buf[512];
	struct pair *p;

	p = established(HVC_GCM_AUTO); /* replay */
	capture_frames(p, 2, 100, f);
	mem_pipe_push(&p->link.p[0], f[0], 132);
	mem_pipe_push(&p->link.p[0], f[1], 132);
	mem_pipe_push(&p->link.p[0], f[0], 132);
	assert_int_equal(recv1(p, buf, sizeof(buf)), HVC_OK);
	assert_int_equal(recv1(p, buf, sizeof(buf)), HVC_OK);
	assert_int_equal(recv1(p, buf, sizeof(buf)), HVC_E_REPLAY);
	assert_wiped(p->s);
	pair_free(p);
	free(p);

	p = established(HVC_GCM_AUTO); /* reorder */
	capture_frames(p, 2, 100, f);
	mem_pipe_push(&p->link.p[0], f[1], 132);
	assert_int_equal(recv1(p, buf, sizeof(buf)), HVC_E_REORDER);
	pair_free(p);
	free(p);

	p = established(HVC_GCM_AUTO); /* dropped frame */
	capture_frames(p, 3, 100, f);
	mem_pipe_push(&p->link.p[0], f[0], 132);
	mem_pipe_push(&p->link.p[0], f[2], 132);
	assert_int_equal(recv1(p, buf, sizeof(buf)), HVC_OK);
	assert_int_equal(recv1(p, buf, sizeof(buf)), HVC_E_REORDER);
	pair_free(p);
	free(p);

	p = established(HVC_GCM_AUTO); /* truncated inside a frame */
	capture_frames(p, 1, 100, f);
	mem_pipe_push(&p->link.p[0], f[0], 131);
	p->link.p[0].eof = 1;
	memset(buf, 0xcc, sizeof(buf));
	assert_int_equal(recv1(p, buf, sizeof(buf)), HVC_E_TRUNCATED);
	for (int i = 0; i < 100; i++)
		assert_int_equal(buf[i], 0); /* the partial payload is not left behind */
	pair_free(p);
	free(p);

	p = established(HVC_GCM_AUTO); /* stream cut at a frame boundary, no CLOSE */
	capture_frames(p, 2, 100, f);
	mem_pipe_push(&p->link.p[0], f[0], 132);
	p->link.p[0].eof = 1;
	assert_int_equal(recv1(p, buf, sizeof(buf)), HVC_OK);
	assert_int_equal(recv1(p, buf, sizeof(buf)), HVC_E_TRUNCATED);
	pair_free(p);
	free(p);

	p = established(HVC_GCM_AUTO); /* clean close */
	assert_int_equal(hvc_channel_close(p->c), HVC_OK);
	assert_wiped(p->c);
	p->link.p[0].eof = 1;
	assert_int_equal(recv1(p, buf, sizeof(buf)), HVC_E_PEER_CLOSED);
	assert_wiped(p->s);
	assert_int_equal(recv1(p, buf, sizeof(buf)), HVC_E_PEER_CLOSED);
	pair_free(p);
	free(p);

	p = established(HVC_GCM_AUTO); /* stalled peer */
	int rc, n = 0;
	while ((rc = recv1(p, buf, sizeof(buf))) == HVC_AGAIN)
		n++;
	assert_int_equal(rc, HVC_E_TIMEOUT);
	assert_true(n >= 4 && n <= 7); /* 5 s timeout, 1 s per poll */
	assert_wiped(p->s);
	pair_free(p);
	free(p);
}

static void every_bit_flip(enum hvc_gcm_path path, int peek)
{
	enum { PL = 100, FL = PL + 32 };
	uint8_t f[1][512], g[FL], buf[PL + 64];
	struct pair *p = established_t(path, peek);
	struct hvc_channel *saved = aligned_alloc(64, sizeof(*saved));
	int counts[64] = { 0 }, other = 0;
	uint8_t *big = malloc(BUFSZ), plain[PL];
	memset(plain, 'a', PL);
	capture_frames(p, 1, PL, f);
	memcpy(saved, p->s, sizeof(*saved));
	/* control: the unmodified frame is accepted */
	mem_pipe_push(&p->link.p[0], f[0], FL);
	assert_int_equal(recv1(p, buf, sizeof(buf)), HVC_OK);
	for (int i = 0; i < PL; i++)
		assert_int_equal(buf[i], 'a');
	for (int bit = 0; bit < FL * 8; bit++) {
		memcpy(p->s, saved, sizeof(*saved));
		p->link.p[0].head = p->link.p[0].tail = 0;
		memcpy(g, f[0], FL);
		g[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		mem_pipe_push(&p->link.p[0], g, FL);
		p->link.p[0].eof = 1; /* a longer length field would otherwise wait for more */
		memset(buf, 0, sizeof(buf));
		int rc = recv1(p, buf, sizeof(buf));
		if (rc == HVC_E_BUF_TOO_SMALL) {
			/* a larger length field: not fatal by itself; a caller that offers the
			 * room gets the truncation (or the tag failure) */
			counts[-rc]++;
			memset(big, 0, BUFSZ);
			rc = recv1(p, big, BUFSZ);
			assert_true(rc == HVC_E_TRUNCATED || rc == HVC_E_AUTH_TAG);
			memcpy(buf, big, sizeof(buf));
		}
		p->link.p[0].eof = 0;
		assert_true(rc < 0);
		assert_memory_not_equal(buf, plain, PL); /* no plaintext released */
		if (rc == HVC_E_AUTH_TAG)		 /* not even the plaintext of a flipped frame */
			for (int i = 0; i < PL; i++)
				assert_int_equal(buf[i], 0);
		assert_int_equal(hvc_channel_last_error(p->s), rc);
		if (-rc < 64)
			counts[-rc]++;
		else
			other++;
		/* errors match the field: header fields by check, payload and tag by GCM */
		if (bit / 8 >= 16)
			assert_int_equal(rc, HVC_E_AUTH_TAG);
		else if (bit / 8 == 0)
			assert_int_equal(rc, HVC_E_BAD_VERSION);
		else if (bit / 8 >= 8)
			assert_true(rc == HVC_E_REPLAY || rc == HVC_E_REORDER);
	}
	printf("[ INFO     ] %s, %s: %d single-bit flips of a %d-byte frame, all rejected:", hvc_gcm_path_name(path),
	       peek ? "from the transport's buffer" : "copied", FL * 8, FL);
	for (int e = 0; e < 64; e++)
		if (counts[e])
			printf(" %s=%d", hvc_strerror(-e), counts[e]);
	printf("\n");
	assert_int_equal(other, 0);
	memcpy(p->s, saved, sizeof(*saved));
	hvc_zero(saved, sizeof(*saved));
	free(saved);
	free(big);
	pair_free(p);
	free(p);
}

static void test_every_bit_flip(void **state)
{
	PATH_OR_SKIP(state, path);
	every_bit_flip(path, 0);
	every_bit_flip(path, 1);
}

/* A transport that lends its buffer: frames of every size arriving in pieces of every
 * size (under a block, unaligned, whole) decrypt straight from it, with the keystream made
 * per chunk or taken from the ring; pieces under one block go through the copy path. */
static void test_receive_from_transport_buffer(void **state)
{
	PATH_OR_SKIP(state, path);
	uint64_t seed = 23;
	for (int ring = 0; ring < 2; ring++) {
		struct pair p;
		pair_init(&p, path, HVC_POLICY_REQUIRED, HVC_POLICY_REQUIRED);
		if (ring)
			pair_with_rings(&p, 3 * 70000);
		p.cc.transport = mem_transport_peek(&p.ce);
		p.sc.transport = mem_transport_peek(&p.se);
		pair_start(&p);
		handshake(&p);
		assert_int_equal(p.rc_c, HVC_OK);
		assert_int_equal(p.rc_s, HVC_OK);
		size_t chunks[] = { 0, 1, 7, 15, 16, 17, 1000, 4099, 65536 };
		size_t sizes[] = { 0, 1, 15, 16, 17, 255, 4096, 65536 + 3 };
		int cheap_seen = 0;
		for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
			p.link.p[0].max_chunk = p.link.p[1].max_chunk = chunks[c];
			for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
				if (ring) {
					hvc_channel_prefill(p.c, sizes[i], 0);
					hvc_channel_prefill(p.s, 0, sizes[i]);
				}
				size_t taken = p.link.consumed[0];
				int cheap = hvc_gcm_fast_keystream(&p.s->rx.key) ||
					    hvc_ks_ring_peek(&p.s->rx.ring, p.s->rx.epoch, p.s->rx.seq, sizes[i]);
				roundtrip(&p, p.c, p.s, sizes[i], &seed);
				roundtrip(&p, p.s, p.c, sizes[i] + c, &seed);
				/* whole blocks came straight from the pipe's buffer wherever the keystream
				 * is cheap (fast CTR) or ready (ring); else ciphertext is copied, hashed
				 * on arrival and decrypted after the tag */
				cheap_seen += cheap;
				if (cheap && sizes[i] >= 16 && chunks[c] != 1 && chunks[c] != 7 && chunks[c] != 15)
					assert_true(p.link.consumed[0] > taken);
			}
		}
		if (ring)
			assert_true(cheap_seen > 0);
		/* a lending transport whose buffer wraps at odd offsets: views end mid-block
		 * (the rest of the block is copied, then lending resumes) */
		p.link.p[0].max_chunk = p.link.p[1].max_chunk = 0;
		size_t wraps[] = { 1000, 4099, 65536 + 5 };
		for (size_t w = 0; w < sizeof(wraps) / sizeof(wraps[0]); w++) {
			p.link.p[0].wrap = p.link.p[1].wrap = wraps[w];
			for (int i = 0; i < 6; i++) {
				size_t n = 3000 + rnd64(&seed) % 140000;
				if (ring) {
					hvc_channel_prefill(p.c, n, 0);
					hvc_channel_prefill(p.s, 0, n);
				}
				size_t taken = p.link.consumed[0];
				roundtrip(&p, p.c, p.s, n, &seed);
				roundtrip(&p, p.s, p.c, n / 3, &seed);
				if (hvc_gcm_fast_keystream(&p.s->rx.key))
					assert_true(p.link.consumed[0] - taken > n / 2);
			}
		}
		pair_free(&p);
	}
}

/* Random mix on one channel pair, checked against the message sent: sizes from 0 to ~200
 * KiB, keystream prefilled for the receiver or not (or too short), views of the sender's
 * pipe wrapping at random offsets, partial reads, rekeys every few messages, and now and
 * then one flipped bit (the receiver must fail with the tag error and leave the buffer
 * zero). The receiver's transport lends its buffer on even seeds, copies on odd ones. */
static void test_receive_random_mix(void **state)
{
	PATH_OR_SKIP(state, path);
	uint64_t seed = 0x5eed;
	uint8_t *msg = malloc(BUFSZ), *got = malloc(BUFSZ);
	int corrupted = 0, delivered = 0;
	for (int pairs = 0; pairs < 24; pairs++) {
		struct pair p;
		pair_init(&p, path, HVC_POLICY_REQUIRED, HVC_POLICY_REQUIRED);
		pair_with_rings(&p, 3 * 70016);
		p.link.mitm = NULL;
		p.cc.rekey_msgs = 3 + rnd64(&seed) % 10;
		p.cc.transport = mem_transport_peek(&p.ce);
		if (!(pairs & 1))
			p.sc.transport = mem_transport_peek(&p.se);
		pair_start(&p);
		handshake(&p);
		assert_int_equal(p.rc_c, HVC_OK);
		assert_int_equal(p.rc_s, HVC_OK);
		for (int m = 0; m < 30; m++) {
			size_t n = rnd64(&seed) % 4 == 0 ? rnd64(&seed) % 64 : rnd64(&seed) % 200000;
			rnd_fill(&seed, msg, n);
			if (rnd64(&seed) & 1)
				hvc_channel_prefill(p.c, n, 0);
			if (rnd64(&seed) & 1)
				hvc_channel_prefill(p.s, 0, (rnd64(&seed) & 1) ? n : n / 2);
			p.link.p[0].wrap = rnd64(&seed) % 3 ? 0 : 16 + rnd64(&seed) % 5000;
			p.link.p[0].max_chunk = rnd64(&seed) % 3 ? 0 : 1 + rnd64(&seed) % 9000;
			assert_int_equal(hvc_channel_send(p.c, 0x41, msg, n), HVC_OK);
			size_t wire = mem_pipe_len(&p.link.p[0]);
			int flip = rnd64(&seed) % 16 == 0;
			if (flip) /* in this message's payload or tag (a REKEY frame may precede it) */
				p.link.p[0].buf[p.link.p[0].head + wire - (n + 16) + rnd64(&seed) % (n + 16)] ^=
					(uint8_t)(1u << (rnd64(&seed) % 8));
			memset(got, 0xee, BUFSZ);
			uint8_t type;
			size_t len;
			int rc, guard = 0;
			do
				rc = hvc_channel_recv(p.s, &type, got, BUFSZ, &len);
			while (rc == HVC_AGAIN && ++guard < 100000);
			if (flip) {
				assert_int_equal(rc, HVC_E_AUTH_TAG);
				for (size_t i = 0; i < n; i++)
					assert_int_equal(got[i], 0);
				corrupted++;
				break;
			}
			assert_int_equal(rc, HVC_OK);
			assert_int_equal(type, 0x41);
			assert_int_equal(len, n);
			assert_memory_equal(got, msg, n);
			assert_int_equal(got[n], 0xee); /* nothing written past the payload */
			delivered++;
		}
		pair_free(&p);
	}
	printf("[ INFO     ] %s: %d messages delivered intact, %d flipped bits refused with the buffer zero\n",
	       hvc_gcm_path_name(path), delivered, corrupted);
	assert_true(corrupted > 0);
	assert_true(delivered > 200);
	free(msg);
	free(got);
}

/* Between HVC_AGAIN returns the caller's buffer holds part of a frame (decrypted, not
 * verified); the channel zeroes it when the frame or the channel ends without the tag
 * being checked: stall timeout, another buffer passed mid-frame, destroy. */
static void test_partial_frame_scrubbed(void **state)
{
	(void)state;
	enum { PL = 100000, HALF = 60000 };
	uint8_t *msg = malloc(PL), *frame = malloc(PL + 32), *buf = malloc(PL), *other = malloc(PL);
	uint8_t type;
	size_t len;
	memset(msg, 'p', PL);
	for (int how = 0; how < 3; how++) {
		for (int peek = 0; peek < 2; peek++) {
			struct pair *p = established_t(HVC_GCM_AUTO, peek);
			assert_int_equal(hvc_channel_send(p->c, 0x42, msg, PL), HVC_OK);
			assert_int_equal(mem_pipe_pull(&p->link.p[0], frame, PL + 32), PL + 32);
			mem_pipe_push(&p->link.p[0], frame, HALF);
			memset(buf, 0, PL);
			assert_int_equal(hvc_channel_recv(p->s, &type, buf, PL, &len), HVC_AGAIN);
			size_t got = 0; /* bytes of the payload the channel has written so far */
			for (size_t i = 0; i < PL; i++)
				got += buf[i] != 0;
			assert_true(got > HALF / 2);
			if (how == 0) { /* the peer stalls: the fake clock runs past the timeout */
				int rc = HVC_AGAIN;
				for (int i = 0; i < 100 && rc == HVC_AGAIN; i++)
					rc = hvc_channel_recv(p->s, &type, buf, PL, &len);
				assert_int_equal(rc, HVC_E_TIMEOUT);
			} else if (how == 1) { /* the caller switches buffers mid-frame */
				assert_int_equal(hvc_channel_recv(p->s, &type, other, PL, &len), HVC_E_INVAL);
				assert_int_equal(hvc_channel_last_error(p->s), HVC_E_INVAL);
			} else {
				hvc_channel_destroy(p->s);
			}
			for (size_t i = 0; i < PL; i++)
				assert_int_equal(buf[i], 0);
			pair_free(p);
			free(p);
		}
	}
	free(msg);
	free(frame);
	free(buf);
	free(other);
}

static void test_rekey(void **state)
{
	PATH_OR_SKIP(state, path);
	struct pair p;
	uint64_t seed = 21;
	pair_init(&p, path, HVC_POLICY_REQUIRED, HVC_POLICY_REQUIRED);
	pair_with_rings(&p, 4 * 8192);
	p.cc.rekey_msgs = 3;
	p.sc.rekey_bytes = 10000;
	pair_start(&p);
	handshake(&p);
	assert_int_equal(p.rc_c, HVC_OK);
	assert_int_equal(p.rc_s, HVC_OK);
	uint8_t key_before[32];
	memcpy(key_before, p.c->tx.secret, 32);
	for (int i = 0; i < 20; i++) {
		hvc_channel_prefill(p.c, 3000, 3000);
		hvc_channel_prefill(p.s, 3000, 3000);
		roundtrip(&p, p.c, p.s, 3000, &seed);
		roundtrip(&p, p.s, p.c, 3000, &seed);
	}
	/* client rekeys every 3 messages, server every 3 x 3000 bytes (10000 limit) */
	assert_int_equal(hvc_channel_tx_epoch(p.c), 6);
	assert_int_equal(hvc_channel_rx_epoch(p.s), 6);
	assert_int_equal(hvc_channel_tx_epoch(p.s), 6);
	assert_int_equal(hvc_channel_rx_epoch(p.c), 6);
	assert_memory_not_equal(key_before, p.c->tx.secret, 32);
	/* sequence numbers keep counting across epochs: 20 messages + 6 rekey frames + 2 */
	assert_int_equal(p.c->tx.seq, 28);
	pair_free(&p);
}

static void test_rekey_overdue(void **state)
{
	(void)state;
	struct pair p;
	uint64_t seed = 1;
	uint8_t buf[100], type;
	size_t len;
	pair_init(&p, HVC_GCM_AUTO, HVC_POLICY_REQUIRED, HVC_POLICY_REQUIRED);
	p.sc.hard_msgs = 4;
	pair_start(&p);
	handshake(&p);
	for (int i = 0; i < 4; i++)
		roundtrip(&p, p.c, p.s, 10, &seed);
	assert_int_equal(hvc_channel_send(p.c, 0x50, buf, 10), HVC_OK);
	assert_int_equal(hvc_channel_recv(p.s, &type, buf, sizeof(buf), &len), HVC_E_REKEY_OVERDUE);
	pair_free(&p);
}

static void test_api_misuse(void **state)
{
	(void)state;
	struct pair p;
	uint8_t buf[8192], type;
	size_t len = 0;
	pair_init(&p, HVC_GCM_AUTO, HVC_POLICY_REQUIRED, HVC_POLICY_REQUIRED);
	struct hvc_config bad = p.cc;
	bad.psk_len = 8;
	assert_int_equal(hvc_channel_init(p.c, &bad), HVC_E_INVAL);
	bad = p.cc;
	bad.gcm_path = HVC_GCM_NPATHS;
	assert_int_equal(hvc_channel_init(p.c, &bad), HVC_E_INVAL);
	bad = p.cc;
	bad.rx_max = 100;
	assert_int_equal(hvc_channel_init(p.c, &bad), HVC_E_INVAL);
	if (hvc_gcm_path_available(HVC_GCM_VAES_AVX512) != HVC_OK) {
		bad = p.cc;
		bad.gcm_path = HVC_GCM_VAES_AVX512;
		assert_int_equal(hvc_channel_init(p.c, &bad), HVC_E_PATH_UNAVAILABLE);
	}
	pair_start(&p);
	assert_int_equal(hvc_channel_send(p.c, 0x41, buf, 1), HVC_E_STATE);
	handshake(&p);
	assert_int_equal(hvc_channel_send(p.c, 0x10, buf, 1), HVC_E_INVAL);	/* protocol type */
	assert_int_equal(hvc_channel_send(p.c, 0x41, buf, BUFSZ), HVC_E_INVAL); /* too long */
	/* a too-small receive buffer is not fatal and consumes nothing */
	assert_int_equal(hvc_channel_send(p.c, 0x41, buf, 5000), HVC_OK);
	assert_int_equal(hvc_channel_recv(p.s, &type, buf, 100, &len), HVC_E_BUF_TOO_SMALL);
	assert_int_equal(len, 5000);
	assert_int_equal(hvc_channel_recv(p.s, &type, buf, sizeof(buf), &len), HVC_OK);
	assert_int_equal(len, 5000);
	/* a frame longer than the receiver's limit */
	pair_free(&p);
	pair_init(&p, HVC_GCM_AUTO, HVC_POLICY_REQUIRED, HVC_POLICY_REQUIRED);
	pair_start(&p);
	handshake(&p);
	uint8_t h[16] = { HVC_PROTO_VERSION, 0x41, 0, 1, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2 };
	mem_pipe_push(&p.link.p[0], h, 16);
	assert_int_equal(hvc_channel_recv(p.s, &type, buf, sizeof(buf), &len), HVC_E_TOO_LONG);
	pair_free(&p);
}

static int no_entropy(void *ctx, void *buf, size_t len)
{
	(void)ctx;
	(void)buf;
	(void)len;
	return HVC_E_NO_ENTROPY;
}

static int failing_send(void *ctx, const void *buf, size_t len)
{
	(void)ctx;
	(void)buf;
	(void)len;
	return -1;
}

static long failing_recv(void *ctx, void *buf, size_t len)
{
	(void)ctx;
	(void)buf;
	(void)len;
	return -5;
}

/* Platform failures end the session with their own codes and wipe it. */
static void test_platform_failures(void **state)
{
	(void)state;
	struct pair p;
	pair_init(&p, HVC_GCM_AUTO, HVC_POLICY_REQUIRED, HVC_POLICY_REQUIRED);
	p.cc.entropy = no_entropy;
	pair_start(&p);
	assert_int_equal(hvc_channel_handshake_step(p.c), HVC_E_NO_ENTROPY);
	assert_int_equal(hvc_channel_handshake_step(p.c), HVC_E_DEAD);
	assert_int_equal(hvc_channel_last_error(p.c), HVC_E_NO_ENTROPY);
	pair_free(&p);

	pair_init(&p, HVC_GCM_AUTO, HVC_POLICY_REQUIRED, HVC_POLICY_REQUIRED);
	p.cc.transport.send = failing_send;
	pair_start(&p);
	assert_int_equal(hvc_channel_handshake_step(p.c), HVC_E_TRANSPORT);
	pair_free(&p);

	pair_init(&p, HVC_GCM_AUTO, HVC_POLICY_REQUIRED, HVC_POLICY_REQUIRED);
	pair_start(&p);
	handshake(&p);
	uint8_t buf[64], type;
	size_t len;
	p.s->cfg.transport.recv = failing_recv;
	assert_int_equal(hvc_channel_recv(p.s, &type, buf, sizeof(buf), &len), HVC_E_TRANSPORT);
	assert_wiped(p.s);
	p.c->cfg.transport.send = failing_send;
	assert_int_equal(hvc_channel_send(p.c, 0x41, buf, 10), HVC_E_TRANSPORT);
	assert_wiped(p.c);
	pair_free(&p);
}

static int check_error_codes_distinct(void)
{
	for (int a = HVC_E_LAST; a <= 1; a++)
		for (int b = a + 1; b <= 1; b++)
			if (!strcmp(hvc_strerror(a), hvc_strerror(b)))
				return 0;
	return strcmp(hvc_strerror(HVC_E_LAST - 1), "unknown error") == 0;
}

static void test_error_strings(void **state)
{
	(void)state;
	assert_true(check_error_codes_distinct());
}

/* OpenSSL opens one captured data frame (16-byte header as AAD, len bytes, tag) with the
 * nonce built as docs/protocol.md says: salt XOR the sequence number in bytes 4..11. */
static int ossl_open_frame(const uint8_t key[32], const uint8_t salt[12], uint64_t seq, const uint8_t *f, size_t len,
			   uint8_t *pt)
{
	uint8_t nonce[12];
	for (int i = 0; i < 12; i++)
		nonce[i] = salt[i] ^ (i >= 4 ? (uint8_t)(seq >> (8 * (11 - i))) : 0);
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int l, ok = EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce);
	ok &= EVP_DecryptUpdate(c, NULL, &l, f, 16);
	ok &= EVP_DecryptUpdate(c, pt, &l, f + 16, (int)len);
	ok &= EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, (void *)(f + 16 + len));
	ok &= EVP_DecryptFinal_ex(c, pt + len, &l);
	EVP_CIPHER_CTX_free(c);
	return ok;
}

/* The wire carries standard AES-256-GCM: OpenSSL decrypts a captured frame with keys
 * derived from the traffic secret exactly as docs/protocol.md says. */
static void test_wire_is_standard_gcm(void **state)
{
	(void)state;
	struct pair p;
	uint8_t f[1][512], key[32], salt[12], pt[200];
	pair_init(&p, HVC_GCM_AUTO, HVC_POLICY_REQUIRED, HVC_POLICY_REQUIRED);
	pair_with_rings(&p, 8192);
	pair_start(&p);
	handshake(&p);
	for (int ring = 0; ring < 2; ring++) {
		if (ring)
			assert_true(hvc_channel_prefill(p.c, 150, 0) > 0);
		hvc_hkdf_expand_label(p.c->tx.secret, "hvc1 key", key, 32);
		hvc_hkdf_expand_label(p.c->tx.secret, "hvc1 salt", salt, 12);
		uint64_t seq = p.c->tx.seq;
		capture_frames(&p, 1, 150, f);
		assert_true(ossl_open_frame(key, salt, seq, f[0], 150, pt));
		for (int i = 0; i < 150; i++)
			assert_int_equal(pt[i], 'a');
		assert_int_equal(f[0][0], HVC_PROTO_VERSION);
		assert_int_equal(f[0][1], 0x42);
		assert_int_equal(f[0][3], 1);
		assert_int_equal(f[0][7], 150);
		assert_int_equal(f[0][15], (uint8_t)seq);
	}
	pair_free(&p);
}

/* Frames larger than one send chunk (keystream made per chunk, or taken from the ring,
 * ciphertext handed to the transport piece by piece) are still one standard GCM message:
 * OpenSSL opens each, for sizes around and across the chunk boundaries, on every path. */
static void test_wire_chunked_is_standard_gcm(void **state)
{
	enum hvc_gcm_path path = (enum hvc_gcm_path)(uintptr_t)*state;
	if (hvc_gcm_path_available(path) != HVC_OK)
		skip();
	const size_t sizes[] = {
		1, HVC_SEND_CHUNK - 1, HVC_SEND_CHUNK, HVC_SEND_CHUNK + 1, 3 * HVC_SEND_CHUNK + 17, 65536 + 5, 200000
	};
	size_t maxf = 200000 + HVC_FRAME_OVERHEAD;
	uint8_t *msg = malloc(maxf), *f = malloc(maxf), *pt = malloc(maxf), key[32], salt[12];
	uint64_t seed = 99;
	struct pair p;
	pair_init(&p, path, HVC_POLICY_REQUIRED, HVC_POLICY_REQUIRED);
	pair_with_rings(&p, 2 * maxf);
	pair_start(&p);
	handshake(&p);
	assert_int_equal(p.rc_c, HVC_OK);
	for (int ring = 0; ring < 2; ring++) {
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			size_t len = sizes[i];
			if (ring)
				assert_true(hvc_channel_prefill(p.c, len, 0) > 0);
			hvc_hkdf_expand_label(p.c->tx.secret, "hvc1 key", key, 32);
			hvc_hkdf_expand_label(p.c->tx.secret, "hvc1 salt", salt, 12);
			uint64_t seq = p.c->tx.seq;
			rnd_fill(&seed, msg, len);
			assert_int_equal(hvc_channel_send(p.c, 0x42, msg, len), HVC_OK);
			assert_int_equal(mem_pipe_pull(&p.link.p[0], f, len + 32), len + 32);
			assert_int_equal(mem_pipe_len(&p.link.p[0]), 0);
			assert_true(ossl_open_frame(key, salt, seq, f, len, pt));
			assert_memory_equal(pt, msg, len);
			hvc_channel_prefill(p.c, 0, 0); /* drops unused ring entries' keystream */
		}
	}
	pair_free(&p);
	free(msg);
	free(f);
	free(pt);
}

/* Used keystream is scrubbed with non-temporal stores (ordinary ones below 4 KiB): every
 * byte of the range becomes zero, at any alignment and length, and nothing outside it
 * changes. */
static void test_zero_stream(void **state)
{
	(void)state;
	const size_t sz = 8192 + 64;
	uint8_t *b = malloc(sz);
	for (size_t off = 0; off < 20; off++) {
		for (size_t k = 0; k < 2 * 43; k++) {
			size_t n = (k % 43) * 7 + (k >= 43 ? 4096 : 0); /* both sides of 4 KiB */
			memset(b, 0xa5, sz);
			hvc_zero_stream(b + off, n);
			for (size_t i = 0; i < sz; i++)
				assert_int_equal(b[i], i >= off && i < off + n ? 0 : 0xa5);
		}
	}
	free(b);
}

#define PT(fn, p, name)                                                                                                \
	{                                                                                                              \
#fn "/" name, fn, NULL, NULL, (void *)(uintptr_t)(p)                                                   \
	}
#define ALL_PATHS(fn)                                                                                                  \
	PT(fn, HVC_GCM_SSE, "sse-aesni"), PT(fn, HVC_GCM_AVX2, "avx2-gen4"), PT(fn, HVC_GCM_VAES_AVX512, "vaes-avx512")

/* Plaintext mode: the payload is on the wire as it is, followed by a tag that is exactly
 * AES-256-GCM's over (header, payload as ciphertext): OpenSSL verifies it; a flipped
 * payload bit, a forged frame (no key, so no tag) and a REKEY are handled as encrypted. */
static void plaintext_frames_are_tagged(int lend)
{
	struct pair p;
	uint8_t f[2][512], key[32], salt[12], pt[512], buf[512], type;
	size_t len;
	pair_init(&p, HVC_GCM_AUTO, HVC_POLICY_DISABLED, HVC_POLICY_DISABLED);
	if (lend) /* the receiver hashes while copying out of the transport's buffer */
		p.sc.transport = mem_transport_peek(&p.se);
	pair_start(&p);
	handshake(&p);
	assert_int_equal(p.rc_c, HVC_OK);
	assert_int_equal(hvc_channel_mode(p.c), HVC_MODE_PLAIN);
	hvc_hkdf_expand_label(p.c->tx.secret, "hvc1 key", key, 32);
	hvc_hkdf_expand_label(p.c->tx.secret, "hvc1 salt", salt, 12);
	uint64_t seq = p.c->tx.seq;
	capture_frames(&p, 2, 150, f);
	assert_int_equal(f[0][3], 0); /* not encrypted */
	for (int i = 0; i < 150; i++)
		assert_int_equal(f[0][16 + i], 'a'); /* in the clear */
	assert_true(ossl_open_frame(key, salt, seq, f[0], 150, pt));
	f[0][16 + 20] ^= 1;
	assert_false(ossl_open_frame(key, salt, seq, f[0], 150, pt));
	/* the receiver refuses the altered frame and returns none of its bytes */
	mem_pipe_push(&p.link.p[0], f[0], 150 + 32);
	memset(buf, 0x77, sizeof(buf));
	assert_int_equal(hvc_channel_recv(p.s, &type, buf, sizeof(buf), &len), HVC_E_AUTH_TAG);
	for (int i = 0; i < 150; i++)
		assert_int_equal(buf[i], 0);
	assert_wiped(p.s);
	pair_free(&p);

	/* A frame made up by someone without the keys (the ABORT of a bait-and-switch) */
	pair_init(&p, HVC_GCM_AUTO, HVC_POLICY_DISABLED, HVC_POLICY_DISABLED);
	pair_start(&p);
	handshake(&p);
	uint8_t forged[16 + 16 + 16] = { HVC_PROTO_VERSION, 0x4a, 0, 0, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 2 };
	mem_pipe_push(&p.link.p[0], forged, sizeof(forged));
	assert_int_equal(hvc_channel_recv(p.s, &type, buf, sizeof(buf), &len), HVC_E_AUTH_TAG);
	pair_free(&p);

	/* Key-usage limits and REKEY apply in plaintext mode too */
	pair_init(&p, HVC_GCM_AUTO, HVC_POLICY_DISABLED, HVC_POLICY_DISABLED);
	p.cc.rekey_msgs = 3;
	pair_start(&p);
	handshake(&p);
	uint64_t seed = 5;
	for (int i = 0; i < 10; i++)
		roundtrip(&p, p.c, p.s, 300, &seed);
	assert_true(hvc_channel_tx_epoch(p.c) >= 3);
	assert_int_equal(hvc_channel_rx_epoch(p.s), hvc_channel_tx_epoch(p.c));
	pair_free(&p);
}

static void test_plaintext_frames_are_tagged(void **state)
{
	(void)state;
	plaintext_frames_are_tagged(0);
	plaintext_frames_are_tagged(1);
}

/* A peer of another protocol version is named as such on both sides. */
static void test_other_protocol_version_refused(void **state)
{
	(void)state;
	/* the client's hello rewritten to version 1 (header byte 0, hello byte 0) */
	run_mitm((struct mitm){ .dir = 0, .nth = 0, .action = M_SET, .off = 16, .val = 1 }, HVC_POLICY_REQUIRED,
		 HVC_POLICY_REQUIRED, HVC_E_TIMEOUT, HVC_E_PROTO_VERSION);
	run_mitm((struct mitm){ .dir = 0, .nth = 0, .action = M_SET, .off = 0, .val = 1 }, HVC_POLICY_REQUIRED,
		 HVC_POLICY_REQUIRED, HVC_E_TIMEOUT, HVC_E_PROTO_VERSION);
	/* the server's */
	run_mitm((struct mitm){ .dir = 1, .nth = 0, .action = M_SET, .off = 0, .val = 1 }, HVC_POLICY_REQUIRED,
		 HVC_POLICY_REQUIRED, HVC_E_PROTO_VERSION, HVC_E_TIMEOUT);
	run_mitm((struct mitm){ .dir = 1, .nth = 0, .action = M_SET, .off = 16, .val = 1 }, HVC_POLICY_REQUIRED,
		 HVC_POLICY_REQUIRED, HVC_E_PROTO_VERSION, HVC_E_TIMEOUT);
}

#define OFF_SHARE (16 + 44)
static const uint8_t zero_share[32];
static const uint8_t order8_share[32] = { 0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3,
					  0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32,
					  0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00 };

/* A low-order X25519 share would make the DH secret one the attacker knows: refused by
 * name by whichever side receives it. */
static void test_low_order_share_refused(void **state)
{
	(void)state;
	const uint8_t *shares[] = { zero_share, order8_share };
	for (int i = 0; i < 2; i++) {
		for (int dir = 0; dir < 2; dir++) {
			struct pair p;
			pair_init(&p, HVC_GCM_AUTO, HVC_POLICY_REQUIRED, HVC_POLICY_REQUIRED);
			p.m = (struct mitm){ .dir = dir, .nth = 0, .action = M_SHARE, .rep = shares[i] };
			pair_start(&p);
			handshake(&p);
			assert_int_equal(dir ? p.rc_c : p.rc_s, HVC_E_DH_LOW_ORDER);
			assert_wiped(dir ? p.c : p.s);
			pair_free(&p);
		}
	}
}

/* Entropy that keeps a copy of what it hands out: the test can play the party whose
 * ephemeral secrets leaked. */
struct rec_entropy {
	uint64_t lcg;
	uint8_t log[256];
	size_t n;
};

static int recording_entropy(void *ctx, void *buf, size_t len)
{
	struct rec_entropy *r = ctx;
	det_entropy(&r->lcg, buf, len);
	if (r->n + len <= sizeof(r->log)) {
		memcpy(r->log + r->n, buf, len);
		r->n += len;
	}
	return HVC_OK;
}

static int ossl_x25519(const uint8_t priv[32], const uint8_t pub[32], uint8_t out[32])
{
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, 32);
	EVP_PKEY *peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, pub, 32);
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(k, NULL);
	size_t n = 32;
	int ok = k && peer && c && EVP_PKEY_derive_init(c) > 0 && EVP_PKEY_derive_set_peer(c, peer) > 0 &&
		 EVP_PKEY_derive(c, out, &n) > 0 && n == 32;
	EVP_PKEY_CTX_free(c);
	EVP_PKEY_free(peer);
	EVP_PKEY_free(k);
	return ok;
}

/* Tries to open the recorded client->server frame with keys derived, as docs/protocol.md
 * says, from the PSK and the transcript, and dh (NULL: the PSK-only schedule). */
static int try_open(const uint8_t *psk, const uint8_t *hellos, size_t hlen, const uint8_t *dh, uint64_t seq,
		    const uint8_t *frame, size_t len)
{
	uint8_t th[32], prk0[32], prk[32], sec[32], key[32], salt[12], pt[512];
	SHA256(hellos, hlen, th);
	hvc_hkdf_extract(th, 32, psk, 32, prk0);
	if (dh)
		hvc_hkdf_extract(prk0, 32, dh, 32, prk);
	else
		memcpy(prk, prk0, 32);
	hvc_hkdf_expand_label(prk, "hvc1 traffic c2s", sec, 32);
	hvc_hkdf_expand_label(sec, "hvc1 key", key, 32);
	hvc_hkdf_expand_label(sec, "hvc1 salt", salt, 12);
	return ossl_open_frame(key, salt, seq, frame, len, pt);
}

/* Forward secrecy: with a recorded migration and the PSK (stolen later), the keys cannot
 * be derived without an ephemeral secret; with the client's (or the server's) they can,
 * so the check is able to fail. */
static void test_forward_secrecy(void **state)
{
	(void)state;
	struct pair p;
	struct rec_entropy ec = { 11, { 0 }, 0 }, es = { 22, { 0 }, 0 };
	uint8_t f[1][512], hellos[2 * (16 + HVC_HELLO_LEN)], dh[32];
	pair_init(&p, HVC_GCM_AUTO, HVC_POLICY_REQUIRED, HVC_POLICY_REQUIRED);
	p.cc.entropy = p.sc.entropy = recording_entropy;
	p.cc.entropy_ctx = &ec;
	p.sc.entropy_ctx = &es;
	pair_start(&p);
	handshake(&p);
	assert_int_equal(p.rc_c, HVC_OK);
	uint64_t seq = p.c->tx.seq;
	capture_frames(&p, 1, 150, f);
	/* the recording: both hellos (the mitm kept each direction's first frame) */
	assert_int_equal(p.m.rec_len[0][0], 16 + HVC_HELLO_LEN);
	assert_int_equal(p.m.rec_len[1][0], 16 + HVC_HELLO_LEN);
	memcpy(hellos, p.m.rec[0][0], 16 + HVC_HELLO_LEN);
	memcpy(hellos + 16 + HVC_HELLO_LEN, p.m.rec[1][0], 16 + HVC_HELLO_LEN);
	const uint8_t *share_c = p.m.rec[0][0] + OFF_SHARE, *share_s = p.m.rec[1][0] + OFF_SHARE;
	/* PSK only: neither the PSK-only schedule nor a guessed DH secret opens it */
	assert_false(try_open(p.psk, hellos, sizeof(hellos), NULL, seq, f[0], 150));
	memset(dh, 0, 32);
	assert_false(try_open(p.psk, hellos, sizeof(hellos), dh, seq, f[0], 150));
	assert_false(try_open(p.psk, hellos, sizeof(hellos), share_c, seq, f[0], 150));
	/* with the client's ephemeral secret (its second 32 bytes of entropy, after the nonce) */
	assert_int_equal(ec.n, 64);
	assert_true(ossl_x25519(ec.log + 32, share_s, dh));
	assert_true(try_open(p.psk, hellos, sizeof(hellos), dh, seq, f[0], 150));
	/* or the server's, giving the same secret */
	assert_true(ossl_x25519(es.log + 32, share_c, dh));
	assert_true(try_open(p.psk, hellos, sizeof(hellos), dh, seq, f[0], 150));
	/* and the ephemeral secrets are gone from both channels */
	for (int i = 0; i < 32; i++) {
		assert_int_equal(p.c->dh_priv[i], 0);
		assert_int_equal(p.s->dh_priv[i], 0);
	}
	pair_free(&p);
}

/* A listener's handshake in a small pre-authentication slot, then the channel moved to
 * the migration's buffers: traffic flows both ways and the slot keeps nothing. */
/* Keystream made ahead is asked for only where it saves work: on the VAES/AVX-512 path
 * the channel seals and opens a frame in one pass of ipsec-mb's, and keystream made ahead
 * would add passes (make, XOR, wipe); the other paths are faster with it. Both directions,
 * both ends. */
static void test_prefill_useful(void **state)
{
	(void)state;
	static const struct {
		enum hvc_gcm_path path;
		int useful;
	} t[] = { { HVC_GCM_SSE, 1 }, { HVC_GCM_AVX2, 1 }, { HVC_GCM_VAES_AVX512, 0 } };
	int ran = 0;
	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (hvc_gcm_path_available(t[i].path) != HVC_OK) {
			printf("[ INFO     ] prefill: path %s not on this CPU, not checked\n",
			       hvc_gcm_path_name(t[i].path));
			continue;
		}
		struct pair *p = established(t[i].path);
		for (int dir = 0; dir < 2; dir++) {
			assert_int_equal(hvc_channel_prefill_useful(p->s, dir), t[i].useful);
			assert_int_equal(hvc_channel_prefill_useful(p->c, dir), t[i].useful);
		}
		pair_free(p);
		free(p);
		ran++;
	}
	assert_true(ran > 0);
}

static void test_move_after_handshake(void **state)
{
	(void)state;
	struct pair p;
	static uint8_t small[HVC_FRAME_OVERHEAD + 128];
	uint64_t seed = 3;
	pair_init(&p, HVC_GCM_AUTO, HVC_POLICY_REQUIRED, HVC_POLICY_REQUIRED);
	p.sc.tx_buf = small;
	p.sc.tx_buf_len = sizeof(small);
	pair_start(&p);
	struct hvc_channel *to = aligned_alloc(64, sizeof(*to));
	struct hvc_transport t = mem_transport(&p.se);
	assert_int_equal(hvc_channel_move(to, p.s, &t, p.stxb, BUFSZ, NULL, 0, NULL, 0), HVC_E_STATE);
	handshake(&p);
	assert_int_equal(p.rc_s, HVC_OK);
	assert_int_equal(hvc_channel_move(to, p.s, &t, p.stxb, 16, NULL, 0, NULL, 0), HVC_E_INVAL);
	assert_int_equal(hvc_channel_move(to, p.s, &t, p.stxb, BUFSZ, NULL, 0, NULL, 0), HVC_OK);
	const uint8_t *z = (const uint8_t *)p.s;
	for (size_t i = 0; i < sizeof(*p.s); i++)
		assert_int_equal(z[i], 0);
	free(p.s);
	p.s = to;
	roundtrip(&p, p.c, p.s, 5000, &seed);
	roundtrip(&p, p.s, p.c, 100000, &seed);
	/* only before the first data frame */
	struct hvc_channel *again = aligned_alloc(64, sizeof(*again));
	assert_int_equal(hvc_channel_move(again, p.s, &t, p.stxb, BUFSZ, NULL, 0, NULL, 0), HVC_E_STATE);
	free(again);
	pair_free(&p);
}

int main(void)
{
	print_paths();
	const struct CMUnitTest tests[] = {
		ALL_PATHS(test_handshake_and_roundtrip),
		ALL_PATHS(test_pipelined_ring_roundtrip),
		ALL_PATHS(test_sendv_gathered),
		ALL_PATHS(test_receive_placement),
		ALL_PATHS(test_ks_jobs_on_a_thread),
		ALL_PATHS(test_every_bit_flip),
		ALL_PATHS(test_rekey),
		ALL_PATHS(test_wire_chunked_is_standard_gcm),
		ALL_PATHS(test_receive_from_transport_buffer),
		ALL_PATHS(test_receive_random_mix),
		cmocka_unit_test(test_partial_frame_scrubbed),
		cmocka_unit_test(test_policy_negotiation),
		cmocka_unit_test(test_wrong_psk),
		cmocka_unit_test(test_unknown_key_id),
		cmocka_unit_test(test_psk_lookup),
		cmocka_unit_test(test_mitm_tampered_nonce),
		cmocka_unit_test(test_mitm_swapped_nonce_reflected),
		cmocka_unit_test(test_mitm_replayed_handshake),
		cmocka_unit_test(test_downgrade),
		cmocka_unit_test(test_replay_reorder_truncate),
		cmocka_unit_test(test_rekey_overdue),
		cmocka_unit_test(test_api_misuse),
		cmocka_unit_test(test_error_strings),
		cmocka_unit_test(test_zero_stream),
		cmocka_unit_test(test_ks_ahead_bound),
		cmocka_unit_test(test_ks_job_outlives_ring),
		cmocka_unit_test(test_ks_job_after_its_frame),
		cmocka_unit_test(test_platform_failures),
		cmocka_unit_test(test_wire_is_standard_gcm),
		cmocka_unit_test(test_plaintext_frames_are_tagged),
		cmocka_unit_test(test_other_protocol_version_refused),
		cmocka_unit_test(test_low_order_share_refused),
		cmocka_unit_test(test_forward_secrecy),
		cmocka_unit_test(test_move_after_handshake),
		cmocka_unit_test(test_prefill_useful),
	};
	return cmocka_run_group_tests_name("crypto_channel", tests, NULL, NULL);
}
