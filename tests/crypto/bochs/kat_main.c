/* Known-answer kernel for the crypto library under Bochs: runs the library's self-test
 * on every GCM path the emulated CPU has (tigerlake: VAES + AVX-512) and a channel
 * session between two in-memory endpoints forced onto each path; reports on COM1. */
#include <stddef.h>
#include <stdint.h>
#include "cpu_features.h"
#include "gcm_dispatch.h"
#include "hvc_channel.h"
#include "hkdf_sha256.h"
#include "selftest.h"
#include "baremetal/portio.h"

/* The hypervisor provides these; so does this kernel. */
void *memcpy(void *d, const void *s, size_t n)
{
	uint8_t *a = d;
	const uint8_t *b = s;
	while (n--)
		*a++ = *b++;
	return d;
}

void *memset(void *d, int c, size_t n)
{
	uint8_t *a = d;
	while (n--)
		*a++ = (uint8_t)c;
	return d;
}

static void tx(uint8_t c)
{
	while (!(inb(0x3fd) & 0x20)) /* transmit holding register empty */
		;
	outb(0x3f8, c);
}

static void putc_(char c)
{
	if (c == '\n')
		tx('\r');
	tx((uint8_t)c);
}

static void puts_(const char *s)
{
	while (*s)
		putc_(*s++);
}

static void puthex(uint64_t v)
{
	puts_("0x");
	for (int i = 60; i >= 0; i -= 4)
		putc_("0123456789abcdef"[(v >> i) & 15]);
}

static void enable_xcr0(void)
{
	uint32_t a, b, c, d;
	__asm__ __volatile__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0xd), "c"(0));
	uint64_t want = a & 0xe7; /* x87, SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM */
	__asm__ __volatile__("xsetbv" : : "c"(0), "a"((uint32_t)want), "d"((uint32_t)(want >> 32)));
	puts_("XCR0 = ");
	puthex(want);
	puts_("\n");
}

/* One-direction byte pipes between the two endpoints. */
struct pipe {
	uint8_t buf[1 << 17];
	size_t head, tail;
	int tamper_at; /* >0: flip a bit of the byte with this absolute offset */
	size_t total;
};
static struct pipe pipes[2];
struct end {
	int dir;
};
static struct end ends[2] = { { 0 }, { 1 } };

static int p_send(void *ctx, const void *buf, size_t len)
{
	struct pipe *p = &pipes[((struct end *)ctx)->dir];
	if (p->tail + len > sizeof(p->buf)) {
		memcpy(p->buf, p->buf + p->head, p->tail - p->head);
		p->tail -= p->head;
		p->head = 0;
		if (p->tail + len > sizeof(p->buf))
			return -1;
	}
	memcpy(p->buf + p->tail, buf, len);
	for (size_t i = 0; i < len; i++)
		if (p->tamper_at && p->total + i == (size_t)p->tamper_at)
			p->buf[p->tail + i] ^= 0x10;
	p->tail += len;
	p->total += len;
	return 0;
}

static long p_recv(void *ctx, void *buf, size_t len)
{
	struct pipe *p = &pipes[!((struct end *)ctx)->dir];
	size_t n = p->tail - p->head;
	if (n > len)
		n = len;
	memcpy(buf, p->buf + p->head, n);
	p->head += n;
	return (long)n;
}

/* The server's transport also lends its bytes (peek/consume), in views that end every
 * 1000 bytes as a ring's end would: payloads decrypt straight from the pipe, and views
 * that end mid-block go through the copy path. */
static long p_peek(void *ctx, const void **v, size_t len)
{
	struct pipe *p = &pipes[!((struct end *)ctx)->dir];
	size_t n = p->tail - p->head, lim = 1000 - p->head % 1000;
	if (n > len)
		n = len;
	if (n > lim)
		n = lim;
	*v = p->buf + p->head;
	return (long)n;
}

static size_t lent; /* bytes the channel took through p_peek/p_consume */
static void p_consume(void *ctx, size_t n)
{
	pipes[!((struct end *)ctx)->dir].head += n;
	lent += n;
}

static uint64_t det_state = 0x9e3779b97f4a7c15ull;
static int det_entropy(void *ctx, void *buf, size_t len)
{
	uint8_t *b = buf;
	(void)ctx;
	for (size_t i = 0; i < len; i++) {
		det_state = det_state * 6364136223846793005ull + 1442695040888963407ull;
		b[i] = (uint8_t)(det_state >> 56);
	}
	return HVC_OK;
}

static struct hvc_channel chc __attribute__((aligned(64))), chs __attribute__((aligned(64)));
static struct hvc_gcm_key kwire __attribute__((aligned(64)));
static uint8_t txc[70000] __attribute__((aligned(64))), txs[70000] __attribute__((aligned(64)));
static uint8_t ks[4][140000] __attribute__((aligned(64)));
static uint8_t msg[65536], got[65536];
static const uint8_t psk[32] = "bochs kat pre-shared key 32 byte";

static int session(enum hvc_gcm_path path, hvc_entropy_fn ent)
{
	struct hvc_config c = { 0 }, s;
	int rc_c = HVC_AGAIN, rc_s = HVC_AGAIN, rc;
	memset(pipes, 0, sizeof(pipes));
	lent = 0;
	c.key_id = 3;
	c.psk = psk;
	c.psk_len = 32;
	c.entropy = ent;
	c.gcm_path = path;
	c.rx_max = 65536;
	s = c;
	c.role = HVC_ROLE_CLIENT;
	c.transport = (struct hvc_transport){ &ends[0], p_send, p_recv, NULL, NULL, NULL };
	c.tx_buf = txc;
	c.tx_buf_len = sizeof(txc);
	c.ks_tx_mem = ks[0];
	c.ks_tx_len = sizeof(ks[0]);
	c.ks_rx_mem = ks[1];
	c.ks_rx_len = sizeof(ks[1]);
	c.rekey_msgs = 3;
	s.role = HVC_ROLE_SERVER;
	s.transport = (struct hvc_transport){ &ends[1], p_send, p_recv, p_peek, p_consume, NULL };
	s.tx_buf = txs;
	s.tx_buf_len = sizeof(txs);
	s.ks_tx_mem = ks[2];
	s.ks_tx_len = sizeof(ks[2]);
	s.ks_rx_mem = ks[3];
	s.ks_rx_len = sizeof(ks[3]);
	if ((rc = hvc_channel_init(&chc, &c)) || (rc = hvc_channel_init(&chs, &s)))
		return rc;
	for (int i = 0; i < 10 && (rc_c == HVC_AGAIN || rc_s == HVC_AGAIN); i++) {
		if (rc_c == HVC_AGAIN)
			rc_c = hvc_channel_handshake_step(&chc);
		if (rc_s == HVC_AGAIN)
			rc_s = hvc_channel_handshake_step(&chs);
	}
	if (rc_c || rc_s)
		return rc_c ? rc_c : rc_s;
	if (hvc_channel_gcm_path(&chc) != path)
		return HVC_E_STATE;
	/* the wire is standard GCM: a frame sent with full GCM and one sent from the ring
	 * decrypt under an SSE-path key derived from the traffic secret (protocol.md 4) */
	for (int ring = 0; ring < 2; ring++) {
		uint8_t key[32], salt[12], nonce[12], tag[16];
		uint64_t seq = chc.tx.seq;
		hvc_hkdf_expand_label(chc.tx.secret, "hvc1 key", key, 32);
		hvc_hkdf_expand_label(chc.tx.secret, "hvc1 salt", salt, 12);
		for (int i = 0; i < 12; i++)
			nonce[i] = salt[i] ^ (i >= 4 ? (uint8_t)(seq >> (8 * (11 - i))) : 0);
		if (ring)
			hvc_channel_prefill(&chc, 3000, 0);
		for (int j = 0; j < 3000; j++)
			msg[j] = (uint8_t)(j ^ ring);
		size_t at = pipes[0].tail;
		if ((rc = hvc_channel_send(&chc, 0x42, msg, 3000)))
			return rc;
		const uint8_t *f = pipes[0].buf + at;
		hvc_gcm_key_init(&kwire, HVC_GCM_SSE, key);
		for (int i = 0; i < 16; i++)
			tag[i] = f[16 + 3000 + i];
		if (hvc_gcm_decrypt(&kwire, nonce, f, 16, f + 16, got, 3000, tag) != HVC_OK)
			return HVC_E_AUTH_TAG;
		for (int j = 0; j < 3000; j++)
			if (got[j] != msg[j])
				return HVC_E_AUTH_TAG;
		uint8_t type;
		size_t len;
		if ((rc = hvc_channel_recv(&chs, &type, got, sizeof(got), &len)) || len != 3000)
			return rc ? rc : HVC_E_STATE;
	}
	/* messages of several sizes, every other one with keystream prefilled, across rekeys */
	for (int i = 0; i < 10; i++) {
		size_t n = (size_t)(i * 7919) % 65536;
		uint8_t type;
		size_t len;
		for (size_t j = 0; j < n; j++)
			msg[j] = (uint8_t)(j * 13 + i);
		if (i & 1) {
			hvc_channel_prefill(&chc, n, 0);
			hvc_channel_prefill(&chs, 0, n);
		}
		if ((rc = hvc_channel_send(&chc, 0x40, msg, n)))
			return rc;
		if ((rc = hvc_channel_recv(&chs, &type, got, sizeof(got), &len)))
			return rc;
		if (len != n || type != 0x40)
			return HVC_E_STATE;
		for (size_t j = 0; j < n; j++)
			if (got[j] != msg[j])
				return HVC_E_STATE;
	}
	if (hvc_channel_rx_epoch(&chs) != 3)
		return HVC_E_STATE;
	if (lent < 65536) /* the prefilled frames at least were decrypted from the pipe */
		return HVC_E_STATE;
	/* one tampered ciphertext byte must be refused */
	uint8_t type;
	size_t len;
	pipes[0].tamper_at = (int)(pipes[0].total + 100);
	if ((rc = hvc_channel_send(&chc, 0x41, msg, 1000)))
		return rc;
	rc = hvc_channel_recv(&chs, &type, got, sizeof(got), &len);
	hvc_channel_destroy(&chc);
	hvc_channel_destroy(&chs);
	return rc == HVC_E_AUTH_TAG ? HVC_OK : HVC_E_STATE;
}

/* Random lengths, alignments and AAD through path p, compared with the SSE path (which
 * the hosted tests check against OpenSSL): encryption, decryption, tag, keystream. */
static struct hvc_gcm_key kref __attribute__((aligned(64))), kx __attribute__((aligned(64)));
static uint8_t pt[4200], ct1[4200], ct2[4200], dec[4200], ksb[4300];
static void putdec(uint64_t v)
{
	char b[24];
	int i = 0;
	do {
		b[i++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (i)
		putc_(b[--i]);
}

static int report(int step, int it, size_t n, size_t an, size_t al)
{
	puts_(" [step ");
	putdec((uint64_t)step);
	puts_(" iter ");
	putdec((uint64_t)it);
	puts_(" len ");
	putdec(n);
	puts_(" aad ");
	putdec(an);
	puts_(" align ");
	putdec(al);
	puts_("]");
	return HVC_E_AUTH_TAG;
}

static int ghash_same(const uint8_t *d, size_t n)
{
	uint8_t a[16] = { 0 }, b[16] = { 0 };
	hvc_gcm_ghash(&kref, a, d, n);
	hvc_gcm_ghash_imb(&kx, b, d, n); /* ipsec-mb's own standalone GHASH of this path */
	for (int i = 0; i < 16; i++)
		if (a[i] != b[i])
			return 0;
	return 1;
}

static void probe(enum hvc_gcm_path p)
{
	uint8_t key[32] = { 1, 2, 3 }, iv[12] = { 4 }, d[64] = { 5, 6, 7 }, o[64], t[16];
	hvc_gcm_key_init(&kref, HVC_GCM_SSE, key);
	hvc_gcm_key_init(&kx, p, key);
	puts_(" [ipsec-mb standalone ghash vs our GHASH: fresh key ");
	puts_(ghash_same(d, 16) ? "same" : "DIFF");
	hvc_gcm_encrypt(&kx, iv, d, 16, d, o, 64, t);
	puts_(", after encrypt ");
	puts_(ghash_same(d, 16) ? "same" : "DIFF");
	hvc_gcm_key_init(&kx, p, key);
	hvc_gcm_encrypt(&kref, iv, d, 16, d, o, 64, t);
	puts_(", after ref encrypt ");
	puts_(ghash_same(d, 16) ? "same" : "DIFF");
	hvc_gcm_key_init(&kx, p, key);
	uint8_t m1[16], m2[16];
	hvc_gcm_keystream(&kref, iv, 1, m1, 16);
	hvc_gcm_keystream(&kx, iv, 1, m2, 16);
	int same = 1;
	for (int i = 0; i < 16; i++)
		same &= m1[i] == m2[i];
	puts_(", ctr mask ");
	puts_(same ? "same" : "DIFF");
	puts_("]");
}

static int crosscheck(enum hvc_gcm_path p, int iters)
{
	uint64_t st = 12345;
	for (int it = 0; it < iters; it++) {
		uint8_t key[32], iv[12], aad[40], t1[16], t2[16];
		det_entropy(NULL, key, 32);
		det_entropy(NULL, iv, 12);
		det_entropy(NULL, aad, 40);
		st = st * 6364136223846793005ull + 1;
		size_t n = (st >> 33) % ((it & 3) == 0 ? 4096 : 300), an = (st >> 20) % 41, al = (st >> 10) % 64;
		det_entropy(NULL, pt + al, n);
		if (hvc_gcm_key_init(&kref, HVC_GCM_SSE, key) || hvc_gcm_key_init(&kx, p, key))
			return HVC_E_STATE;
		hvc_gcm_encrypt(&kref, iv, aad, an, pt + al, ct1, n, t1);
		hvc_gcm_encrypt(&kx, iv, aad, an, pt + al, ct2 + al, n, t2);
		for (size_t i = 0; i < n; i++)
			if (ct1[i] != ct2[al + i])
				return report(1, it, n, an, al);
		for (int i = 0; i < 16; i++)
			if (t1[i] != t2[i])
				return report(2, it, n, an, al);
		if (hvc_gcm_decrypt(&kx, iv, aad, an, ct1, dec + al, n, t1) != HVC_OK) {
			/* which GHASH input differs between the paths? */
			uint8_t a[16] = { 0 }, b[16] = { 0 };
			int d = 0;
			hvc_gcm_ghash(&kref, a, aad, an);
			hvc_gcm_ghash(&kx, b, aad, an);
			for (int i = 0; i < 16; i++)
				d |= (a[i] != b[i]);
			puts_(d ? " aad-ghash-differs" : " aad-ghash-same");
			for (size_t cut = 16; cut <= n; cut += (cut < 1024 ? 16 : 256)) {
				uint8_t e[16] = { 0 }, f[16] = { 0 };
				hvc_gcm_ghash(&kref, e, ct1, cut);
				hvc_gcm_ghash(&kx, f, ct1, cut);
				int dd = 0;
				for (int i = 0; i < 16; i++)
					dd |= (e[i] != f[i]);
				if (dd) {
					puts_(" first-differing-len ");
					putdec(cut);
					break;
				}
			}
			for (size_t ln = 1; ln < 64; ln++) {
				uint8_t e[16] = { 0 }, f[16] = { 0 };
				hvc_gcm_ghash(&kref, e, ct1, ln);
				hvc_gcm_ghash(&kx, f, ct1, ln);
				int dd = 0;
				for (int i = 0; i < 16; i++)
					dd |= (e[i] != f[i]);
				if (dd) {
					puts_(" small-len-differs ");
					putdec(ln);
					break;
				}
			}
			return report(3, it, n, an, al);
		}
		for (size_t i = 0; i < n; i++)
			if (dec[al + i] != pt[al + i])
				return report(4, it, n, an, al);
		t1[it % 16] ^= 1;
		if (hvc_gcm_decrypt(&kx, iv, aad, an, ct1, dec, n, t1) != HVC_E_AUTH_TAG)
			return report(5, it, n, an, al);
		hvc_gcm_keystream(&kx, iv, 2, ksb + al, n);
		for (size_t i = 0; i < n; i++)
			if ((uint8_t)(ksb[al + i] ^ pt[al + i]) != ct1[i])
				return report(6, it, n, an, al);
	}
	return HVC_OK;
}

void kat_main(void)
{
	struct hvc_cpu c;
	unsigned ran = 0, skipped = 0;
	int fail = 0, rc;
	uint8_t r[16];

	outb(0x3f9, 0x00); /* 115200 8N1, FIFO on, no interrupts */
	outb(0x3fb, 0x80);
	outb(0x3f8, 0x01);
	outb(0x3f9, 0x00);
	outb(0x3fb, 0x03);
	outb(0x3fa, 0xc7);
	outb(0x3fc, 0x03);
	puts_("\ncrypto KAT kernel\n");
	enable_xcr0();
	hvc_cpu_detect(&c);
	puts_("CPU: aesni pclmul avx2 avx512f/bw/vl/dq vaes vpclmul rdseed rdrand os_zmm = ");
	puthex(((uint64_t)c.aesni << 40) | ((uint64_t)c.pclmul << 36) | ((uint64_t)c.avx2 << 32) |
	       ((uint64_t)(c.avx512f & c.avx512bw & c.avx512vl & c.avx512dq) << 28) | ((uint64_t)c.vaes << 24) |
	       ((uint64_t)c.vpclmul << 20) | ((uint64_t)c.rdseed << 16) | ((uint64_t)c.rdrand << 12) | c.os_zmm);
	puts_("\n");
	rc = hvc_crypto_selftest(&ran, &skipped);
	puts_("selftest: ");
	puts_(hvc_strerror(rc));
	puts_("\n");
	fail |= rc != HVC_OK;
	hvc_entropy_fn ent = hvc_entropy_x86;
	rc = hvc_entropy_x86(NULL, r, sizeof(r));
	puts_("entropy_x86: ");
	puts_(hvc_strerror(rc));
	puts_("\n");
	if (rc != HVC_OK)
		ent = det_entropy;
	for (int p = HVC_GCM_SSE; p < HVC_GCM_NPATHS; p++) {
		puts_("path ");
		puts_(hvc_gcm_path_name((enum hvc_gcm_path)p));
		if (!(ran & (1u << p))) {
			puts_(": UNAVAILABLE on this CPU, skipped\n");
			continue;
		}
		rc = session((enum hvc_gcm_path)p, ent);
		puts_(": channel session (wire = standard GCM, ring, rekey, tamper) ");
		puts_(hvc_strerror(rc));
		fail |= rc != HVC_OK;
		probe((enum hvc_gcm_path)p);
		rc = crosscheck((enum hvc_gcm_path)p, 1000);
		puts_(", 1000 random cases vs sse-aesni ");
		puts_(hvc_strerror(rc));
		puts_("\n");
		fail |= rc != HVC_OK;
	}
	puts_("KAT RESULT ");
	puts_(fail ? "FAIL" : "PASS");
	puts_(" ran=");
	puthex(ran);
	puts_(" skipped=");
	puthex(skipped);
	puts_("\n");
}
