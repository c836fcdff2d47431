/* AES-256-GCM through every ipsec-mb path: GCM spec/NIST vectors, cross-checks with
 * OpenSSL in both directions over random lengths and alignments, keystream+GHASH
 * equivalence, the keystream ring, and ABI layout checks against ipsec-mb's header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <openssl/evp.h>

#include "gcm_dispatch.h"
#include "ghash_xor.h"
#define HVC_IMB_NO_PROTOS
#include "ipsecmb_abi.h"
#include "keystream_ring.h"
#include "mem_secure.h"
#include "selftest.h"
#include "aes_ctr_vaes.h"
#include "frame.h"
#include "test_util.h"
#include "intel-ipsec-mb.h"

/* The AES-256 cases (13-16) of the GCM specification's test vectors (McGrew & Viega),
 * which NIST's GCM validation reproduces. */
struct vec {
	const char *key, *iv, *pt, *aad, *ct, *tag;
};
static const struct vec vecs[] = {
	{ "0000000000000000000000000000000000000000000000000000000000000000", "000000000000000000000000", "", "", "",
	  "530f8afbc74536b9a963b4f1c4cb738b" },
	{ "0000000000000000000000000000000000000000000000000000000000000000", "000000000000000000000000",
	  "00000000000000000000000000000000", "", "cea7403d4d606b6e074ec5d3baf39d18",
	  "d0d1c8a799996bf0265b98b5d48ab919" },
	{ "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
	  "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0d"
	  "e657ba637b391aafd255",
	  "",
	  "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba"
	  "7a0abcc9f662898015ad",
	  "b094dac5d93471bdec1a502270e3cc6c" },
	{ "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
	  "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0d"
	  "e657ba637b39",
	  "feedfacedeadbeeffeedfacedeadbeefabaddad2",
	  "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba"
	  "7a0abcc9f662",
	  "76fc6ece0f4e1768cddf8853bb2d551b" },
};

static void test_abi_layout(void **state)
{
	(void)state;
	assert_int_equal(sizeof(struct gcm_key_data), HVC_IMB_GCM_KEY_DATA_SIZE);
	assert_true(sizeof(struct gcm_context_data) <= 128);
	assert_int_equal(sizeof(IMB_JOB), sizeof(struct hvc_imb_job));
	assert_int_equal(offsetof(IMB_JOB, enc_keys), offsetof(struct hvc_imb_job, enc_keys));
	assert_int_equal(offsetof(IMB_JOB, src), offsetof(struct hvc_imb_job, src));
	assert_int_equal(offsetof(IMB_JOB, dst), offsetof(struct hvc_imb_job, dst));
	assert_int_equal(offsetof(IMB_JOB, cipher_start_src_offset_in_bytes),
			 offsetof(struct hvc_imb_job, cipher_start_src_offset_in_bytes));
	assert_int_equal(offsetof(IMB_JOB, msg_len_to_cipher_in_bytes),
			 offsetof(struct hvc_imb_job, msg_len_to_cipher_in_bytes));
	assert_int_equal(offsetof(IMB_JOB, iv), offsetof(struct hvc_imb_job, iv));
	assert_int_equal(offsetof(IMB_JOB, iv_len_in_bytes), offsetof(struct hvc_imb_job, iv_len_in_bytes));
	assert_int_equal(offsetof(struct gcm_key_data, expanded_keys), 0);
}

static void test_nist_vectors(void **state)
{
	PATH_OR_SKIP(state, path);
	struct hvc_gcm_key *k = aligned_alloc(64, sizeof(*k));
	for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		uint8_t key[32], iv[12], pt[64], aad[32], ct[64], tag[16], out[64], otag[16];
		hex2bin(vecs[i].key, key);
		hex2bin(vecs[i].iv, iv);
		size_t n = hex2bin(vecs[i].pt, pt);
		size_t an = hex2bin(vecs[i].aad, aad);
		hex2bin(vecs[i].ct, ct);
		hex2bin(vecs[i].tag, tag);
		assert_int_equal(hvc_gcm_key_init(k, path, key), HVC_OK);
		assert_int_equal(hvc_gcm_key_path(k), path);
		hvc_gcm_encrypt(k, iv, aad, an, pt, out, n, otag);
		assert_memory_equal(out, ct, n);
		assert_memory_equal(otag, tag, 16);
		memset(out, 0xee, sizeof(out));
		assert_int_equal(hvc_gcm_decrypt(k, iv, aad, an, ct, out, n, tag), HVC_OK);
		assert_memory_equal(out, pt, n);
		tag[i % 16] ^= 0x80;
		memset(out, 0xee, sizeof(out));
		assert_int_equal(hvc_gcm_decrypt(k, iv, aad, an, ct, out, n, tag), HVC_E_AUTH_TAG);
		for (size_t j = 0; j < n; j++)
			assert_int_equal(out[j], 0xee); /* nothing released before the tag verified */
	}
	hvc_gcm_key_wipe(k);
	free(k);
}

static int ossl_gcm(int enc, const uint8_t *key, const uint8_t *iv, const uint8_t *aad, size_t an, const uint8_t *in,
		    uint8_t *out, size_t n, uint8_t *tag)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int l, ok = 1;
	ok &= EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv, enc);
	if (an)
		ok &= EVP_CipherUpdate(c, NULL, &l, aad, (int)an);
	if (n)
		ok &= EVP_CipherUpdate(c, out, &l, in, (int)n);
	if (!enc)
		ok &= EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag);
	int fin = EVP_CipherFinal_ex(c, out + n, &l);
	if (enc)
		ok &= EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag);
	EVP_CIPHER_CTX_free(c);
	return ok && fin;
}

/* Mostly small and odd lengths, some up to ~300 KiB, to hit every tail path. */
static size_t rnd_len(uint64_t *s)
{
	uint64_t r = rnd64(s);
	switch (r % 4) {
	case 0: return (r >> 8) % 64;
	case 1: return (r >> 8) % 1024;
	case 2: return (r >> 8) % 16384;
	default: return (r >> 8) % (300 * 1024);
	}
}

#define XCHECK_ITERS 2000

static void test_openssl_crosscheck(void **state)
{
	PATH_OR_SKIP(state, path);
	struct hvc_gcm_key *k = aligned_alloc(64, sizeof(*k));
	size_t max = 300 * 1024 + 128;
	uint8_t *pt = malloc(max), *ct = malloc(max), *out = malloc(max);
	uint64_t s = 0x1234567 + path;
	for (int it = 0; it < XCHECK_ITERS; it++) {
		uint8_t key[32], iv[12], aad[80], tag[16], tag2[16];
		size_t n = rnd_len(&s), an = rnd64(&s) % 80;
		size_t a1 = rnd64(&s) % 64, a2 = rnd64(&s) % 64;
		rnd_fill(&s, key, 32);
		rnd_fill(&s, iv, 12);
		rnd_fill(&s, aad, an);
		rnd_fill(&s, pt + a1, n);
		assert_int_equal(hvc_gcm_key_init(k, path, key), HVC_OK);
		/* ours -> OpenSSL */
		hvc_gcm_encrypt(k, iv, aad, an, pt + a1, ct + a2, n, tag);
		assert_true(ossl_gcm(0, key, iv, aad, an, ct + a2, out, n, tag));
		assert_memory_equal(out, pt + a1, n);
		/* OpenSSL -> ours */
		rnd_fill(&s, pt + a2, n);
		assert_true(ossl_gcm(1, key, iv, aad, an, pt + a2, ct + a1, n, tag2));
		assert_int_equal(hvc_gcm_decrypt(k, iv, aad, an, ct + a1, out + a2, n, tag2), HVC_OK);
		assert_memory_equal(out + a2, pt + a2, n);
		/* and a wrong tag is refused */
		tag2[rnd64(&s) % 16] ^= (uint8_t)(1u << (rnd64(&s) % 8));
		assert_int_equal(hvc_gcm_decrypt(k, iv, aad, an, ct + a1, out, n, tag2), HVC_E_AUTH_TAG);
	}
	printf("[ INFO     ] %s: %d random lengths/alignments both directions vs OpenSSL\n", hvc_gcm_path_name(path),
	       XCHECK_ITERS);
	hvc_gcm_key_wipe(k);
	free(k);
	free(pt);
	free(ct);
	free(out);
}

/* The streaming encrypt, fed a message in random pieces (as a gathered PAGES message: a
 * header, then pages from anywhere), produces what OpenSSL's one-shot GCM verifies, and
 * the same bytes as our one-shot encrypt; on a path without it, it says so. */
static void test_stream_enc_pieces(void **state)
{
	PATH_OR_SKIP(state, path);
	struct hvc_gcm_key *k = aligned_alloc(64, sizeof(*k));
	size_t max = 300 * 1024 + 128;
	uint8_t *pt = malloc(max), *ct = malloc(max), *ref = malloc(max), *out = malloc(max);
	_Alignas(64) uint8_t ctx[HVC_GCM_STREAM_CTX];
	uint64_t s = 0x5eed + path;
	uint8_t key[32];
	rnd_fill(&s, key, 32);
	assert_int_equal(hvc_gcm_key_init(k, path, key), HVC_OK);
	if (!hvc_gcm_stream_enc_available(k)) {
		assert_int_equal(path, HVC_GCM_SSE); /* the only path built without it */
		printf("[ INFO     ] %s: no streaming encrypt (gathered sends are staged)\n", hvc_gcm_path_name(path));
		goto out;
	}
	for (int it = 0; it < 500; it++) {
		uint8_t iv[12], aad[32], tag[16], rtag[16];
		size_t n = rnd_len(&s), an = 16 + rnd64(&s) % 17;
		rnd_fill(&s, iv, 12);
		rnd_fill(&s, aad, an);
		rnd_fill(&s, pt, n);
		hvc_gcm_stream_enc_init(k, ctx, iv, aad, an);
		for (size_t off = 0; off < n;) {
			/* whole blocks, pages and odd tails alike */
			uint64_t r = rnd64(&s);
			size_t step = r % 3 == 0 ? 4096 : r % 3 == 1 ? 16 * (1 + (r >> 8) % 64) : 1 + (r >> 8) % 700;
			if (step > n - off)
				step = n - off;
			hvc_gcm_stream_enc_update(k, ctx, ct + off, pt + off, step);
			off += step;
		}
		hvc_gcm_stream_enc_final(k, ctx, tag);
		hvc_gcm_encrypt(k, iv, aad, an, pt, ref, n, rtag);
		assert_memory_equal(ct, ref, n);
		assert_memory_equal(tag, rtag, 16);
		assert_true(ossl_gcm(0, key, iv, aad, an, ct, out, n, tag));
		assert_memory_equal(out, pt, n);
	}
	printf("[ INFO     ] %s: 500 messages encrypted in random pieces match one-shot GCM and OpenSSL\n",
	       hvc_gcm_path_name(path));
out:
	hvc_zero(ctx, sizeof(ctx));
	hvc_gcm_key_wipe(k);
	free(k);
	free(pt);
	free(ct);
	free(ref);
	free(out);
}

/* Keystream (counter 1 = tag mask, 2.. = data) + XOR + GHASH reproduces GCM exactly:
 * the basis of the pipelined send path. */
static void test_keystream_equivalence(void **state)
{
	PATH_OR_SKIP(state, path);
	struct hvc_gcm_key *k = aligned_alloc(64, sizeof(*k));
	size_t max = 70000;
	uint8_t *pt = malloc(max), *ct = malloc(max), *ks = malloc(max + 16), *ct2 = malloc(max);
	uint64_t s = 99 + path;
	for (int it = 0; it < 300; it++) {
		uint8_t key[32], iv[12], hdr[16], tag[16], st[16] = { 0 };
		size_t n = rnd64(&s) % max;
		rnd_fill(&s, key, 32);
		rnd_fill(&s, iv, 12);
		rnd_fill(&s, hdr, 16);
		rnd_fill(&s, pt, n);
		assert_int_equal(hvc_gcm_key_init(k, path, key), HVC_OK);
		hvc_gcm_encrypt(k, iv, hdr, 16, pt, ct, n, tag);
		hvc_gcm_keystream(k, iv, 1, ks, n + 16);
		hvc_gcm_ghash(k, st, hdr, 16);
		hvc_xor_ghash_enc(k, st, ks + 16, pt, ct2, n);
		hvc_gcm_ghash_lengths(k, st, 16, n);
		for (int i = 0; i < 16; i++)
			st[i] ^= ks[i];
		assert_memory_equal(ct2, ct, n);
		assert_memory_equal(st, tag, 16);
	}
	hvc_gcm_key_wipe(k);
	free(k);
	free(pt);
	free(ct);
	free(ks);
	free(ct2);
}

/* Our CLMUL GHASH (128-, 256- and 512-bit variants) and the fused XOR+GHASH, both
 * directions, against ipsec-mb's ghash on random lengths, states and alignments. */
static const char *clmul_name(enum hvc_clmul_kind kind)
{
	return kind == HVC_CLMUL_ZMM ? "clmul-zmm" : kind == HVC_CLMUL_YMM ? "clmul-ymm" : "clmul-xmm";
}

static void test_ghash_clmul_vs_imb(void **state)
{
	enum hvc_clmul_kind kind = (enum hvc_clmul_kind)(uintptr_t)*state;
	enum hvc_clmul_kind best = hvc_clmul_best();
	if (best == HVC_CLMUL_NONE || kind > best) {
		printf("[ SKIPPED  ] CLMUL variant %s not available on this CPU\n", clmul_name(kind));
		skip();
	}
	struct hvc_gcm_key *k = aligned_alloc(64, sizeof(*k));
	struct hvc_ghash_key g;
	uint8_t key[32], h[16], zero_iv[12] = { 0 };
	uint8_t *in = malloc(6000), *ks = malloc(6000), *out = malloc(6000), *out2 = malloc(6000);
	uint64_t s = 77 + kind;
	for (int it = 0; it < 3000; it++) {
		uint8_t s1[16], s2[16];
		size_t n = (it < 300) ? (size_t)it : rnd64(&s) % 5900, a = rnd64(&s) % 64;
		rnd_fill(&s, key, 32);
		assert_int_equal(hvc_gcm_key_init(k, HVC_GCM_AUTO, key), HVC_OK);
		hvc_gcm_keystream(k, zero_iv, 0, h, 16);
		hvc_ghash_key_init(&g, h, kind);
		rnd_fill(&s, in + a, n);
		rnd_fill(&s, ks, n);
		rnd_fill(&s, s1, 16);
		memcpy(s2, s1, 16);
		hvc_ghash_clmul(&g, s1, in + a, n);
		hvc_gcm_ghash_imb(k, s2, in + a, n);
		assert_memory_equal(s1, s2, 16);
		/* fused: ciphertext and hash both right */
		hvc_xor_ghash_clmul(&g, s1, ks, in + a, out + a, n);
		for (size_t i = 0; i < n; i++)
			out2[i] = in[a + i] ^ ks[i];
		hvc_gcm_ghash_imb(k, s2, out2, n);
		assert_memory_equal(out + a, out2, n);
		assert_memory_equal(s1, s2, 16);
		/* fused, decrypt direction: hashes what it reads, in place */
		memcpy(out2, out + a, n);
		hvc_ghash_xor_clmul(&g, s1, ks, out + a, out + a, n);
		hvc_gcm_ghash_imb(k, s2, out2, n);
		assert_memory_equal(out + a, in + a, n);
		assert_memory_equal(s1, s2, 16);
	}
	printf("[ INFO     ] GHASH %s: 3000 random lengths match ipsec-mb (plain, fused both ways)\n",
	       clmul_name(kind));
	hvc_gcm_key_wipe(k);
	free(k);
	free(in);
	free(ks);
	free(out);
	free(out2);
}

/* Our VAES CTR against ipsec-mb's CTR (random lengths, alignments, counters) and
 * against single blocks across the 32-bit counter wrap (GCM's inc32). */
static void test_ctr_vaes_vs_imb(void **state)
{
	(void)state;
	if (!hvc_ctr_vaes_available()) {
		printf("[ SKIPPED  ] VAES (256-bit) not available on this CPU\n");
		skip();
	}
	struct hvc_gcm_key *k = aligned_alloc(64, sizeof(*k));
	uint8_t *in = malloc(9000), *a = malloc(9000), *b = malloc(9000);
	uint64_t s = 5;
	for (int it = 0; it < 2000; it++) {
		uint8_t key[32], iv[12];
		size_t n = it < 300 ? (size_t)it : rnd64(&s) % 8900, al = rnd64(&s) % 64;
		uint32_t ctr = (uint32_t)rnd64(&s) % 1000;
		rnd_fill(&s, key, 32);
		rnd_fill(&s, iv, 12);
		rnd_fill(&s, in + al, n);
		assert_int_equal(hvc_gcm_key_init(k, HVC_GCM_SSE, key), HVC_OK);
		hvc_ctr_vaes(k->kd, iv, ctr, in + al, a + al, n);
		hvc_gcm_ctr_xor_imb(k, iv, ctr, in + al, b, n);
		assert_memory_equal(a + al, b, n);
	}
	/* inc32 wrap: block i must be AES(iv || (0xfffffff9 + i) mod 2^32) */
	uint8_t iv[12] = { 1, 2, 3 }, zero[16 * 16] = { 0 }, one[16];
	hvc_ctr_vaes(k->kd, iv, 0xfffffff9u, zero, a, sizeof(zero));
	for (uint32_t i = 0; i < 16; i++) {
		hvc_gcm_ctr_xor_imb(k, iv, 0xfffffff9u + i, zero, one, 16);
		assert_memory_equal(a + 16 * i, one, 16);
	}
	printf("[ INFO     ] VAES-256 CTR: 2000 random cases + counter wrap match ipsec-mb\n");
	hvc_gcm_key_wipe(k);
	free(k);
	free(in);
	free(a);
	free(b);
}

/* A key struct reused for another path and key behaves exactly like a fresh one
 * (regression: stale GHASH powers survived a re-init onto a path without our GHASH). */
static void test_key_reuse_across_paths(void **state)
{
	(void)state;
	struct hvc_gcm_key *k = aligned_alloc(64, sizeof(*k)), *f = aligned_alloc(64, sizeof(*f));
	uint8_t key1[32] = { 1 }, key2[32] = { 2 }, iv[12] = { 3 }, pt[300], c1[300], c2[300], t1[16], t2[16];
	memset(pt, 0x5a, sizeof(pt));
	for (size_t a = 0; a < 3; a++)
		for (size_t b = 0; b < 3; b++) {
			if (hvc_gcm_path_available(test_paths[a]) || hvc_gcm_path_available(test_paths[b]))
				continue;
			assert_int_equal(hvc_gcm_key_init(k, test_paths[a], key1), HVC_OK);
			assert_int_equal(hvc_gcm_key_init(k, test_paths[b], key2), HVC_OK);
			memset(f, 0xa5, sizeof(*f));
			assert_int_equal(hvc_gcm_key_init(f, test_paths[b], key2), HVC_OK);
			assert_memory_equal(k, f, sizeof(*k));
			hvc_gcm_encrypt(k, iv, pt, 16, pt, c1, sizeof(pt), t1);
			hvc_gcm_encrypt(f, iv, pt, 16, pt, c2, sizeof(pt), t2);
			assert_memory_equal(t1, t2, 16);
			assert_int_equal(hvc_gcm_decrypt(k, iv, pt, 16, c2, c1, sizeof(pt), t2), HVC_OK);
		}
	free(k);
	free(f);
}

/* The boot-time self-test agrees with the CPU: every available path ran and passed. */
static void test_selftest(void **state)
{
	(void)state;
	unsigned ran, skipped;
	assert_int_equal(hvc_crypto_selftest(&ran, &skipped), HVC_OK);
	for (int p = HVC_GCM_SSE; p < HVC_GCM_NPATHS; p++) {
		int avail = hvc_gcm_path_available((enum hvc_gcm_path)p) == HVC_OK;
		assert_int_equal(!!(ran & (1u << p)), avail);
		assert_int_equal(!!(skipped & (1u << p)), !avail);
	}
	assert_int_not_equal(ran, 0);
}

static void test_ring(void **state)
{
	(void)state;
	struct hvc_gcm_key *k = aligned_alloc(64, sizeof(*k));
	uint8_t key[32] = { 1 }, salt[12] = { 2 }, nonce[12], ref[4096 + 16];
	size_t cap = 3 * 4096 + 100;
	uint8_t *mem = malloc(cap);
	struct hvc_ks_ring r;
	assert_int_equal(hvc_gcm_key_init(k, HVC_GCM_AUTO, key), HVC_OK);
	hvc_ks_ring_init(&r, mem, cap);
	assert_null(hvc_ks_ring_peek(&r, 0, 5, 1));
	uint64_t seq = 5;
	size_t overlapped = 0; /* used bytes the next fill overwrote instead of zeroing */
	/* fill until full, consume, refill across the wrap point many times */
	for (int round = 0; round < 50; round++) {
		while (hvc_ks_ring_fill(&r, k, salt, 0, hvc_ks_ring_next_seq(&r, 0, seq), 4000) == HVC_OK)
			;
		assert_true(hvc_ks_ring_count(&r) >= 1);
		const uint8_t *ks = hvc_ks_ring_peek(&r, 0, seq, 4000);
		assert_non_null(ks);
		hvc_frame_nonce(salt, seq, nonce);
		hvc_gcm_keystream(k, nonce, 1, ref, 4000 + 16);
		assert_memory_equal(ks, ref, 4016);
		assert_int_equal(((uintptr_t)ks) % 64, 0);
		size_t off = (size_t)(ks - r.mem);
		hvc_ks_ring_pop(&r);
		if (round % 2) {
			hvc_ks_ring_scrub(&r); /* used keystream is zeroed by the scrub */
			for (size_t i = 0; i < 4016; i++)
				assert_int_equal(r.mem[off + i], 0);
		} else {
			/* or by the next fill: each used byte is now zero or the new entry's */
			uint64_t nseq = hvc_ks_ring_next_seq(&r, 0, seq + 1);
			assert_int_equal(hvc_ks_ring_fill(&r, k, salt, 0, nseq, 4000), HVC_OK);
			const uint8_t *nks = hvc_ks_ring_peek(&r, 0, seq + 1, 4000);
			assert_non_null(nks);
			size_t noff = 0;
			for (unsigned e = 0; e < hvc_ks_ring_count(&r); e++)
				if (r.e[(r.first + e) % HVC_KS_MAX_ENTRIES].seq == nseq)
					noff = r.e[(r.first + e) % HVC_KS_MAX_ENTRIES].off;
			hvc_frame_nonce(salt, nseq, nonce);
			hvc_gcm_keystream(k, nonce, 1, ref, 4000 + 16);
			for (size_t i = 0; i < 4016; i++) {
				size_t at = off + i;
				if (at >= noff && at < noff + 4016) {
					assert_int_equal(r.mem[at], ref[at - noff]);
					overlapped++;
				} else
					assert_int_equal(r.mem[at], 0);
			}
		}
		seq++;
	}
	assert_true(overlapped > 0);
	/* an older epoch's entries are dropped, never used for a new key */
	assert_null(hvc_ks_ring_peek(&r, 1, seq, 10));
	assert_int_equal(hvc_ks_ring_count(&r), 0);
	/* an entry too short for its frame is dropped, not used */
	assert_int_equal(hvc_ks_ring_fill(&r, k, salt, 1, 3, 100), HVC_OK);
	assert_null(hvc_ks_ring_peek(&r, 1, 3, 101));
	assert_int_equal(hvc_ks_ring_count(&r), 0);
	/* fill out of order is refused */
	assert_int_equal(hvc_ks_ring_fill(&r, k, salt, 1, 10, 100), HVC_OK);
	assert_int_equal(hvc_ks_ring_fill(&r, k, salt, 1, 10, 100), HVC_E_INVAL);
	hvc_ks_ring_wipe(&r);
	for (size_t i = 0; i < r.cap; i++)
		assert_int_equal(r.mem[i], 0);
	hvc_gcm_key_wipe(k);
	for (size_t i = 0; i < sizeof(*k); i++)
		assert_int_equal(((uint8_t *)k)[i], 0);
	free(mem);
	free(k);
}

static void test_path_unavailable_is_reported(void **state)
{
	(void)state;
	int any_missing = 0;
	for (size_t i = 0; i < 3; i++) {
		struct hvc_gcm_key *k = aligned_alloc(64, sizeof(*k));
		uint8_t key[32] = { 0 };
		int rc = hvc_gcm_key_init(k, test_paths[i], key);
		assert_int_equal(rc, hvc_gcm_path_available(test_paths[i]));
		if (rc != HVC_OK) {
			assert_int_equal(rc, HVC_E_PATH_UNAVAILABLE);
			any_missing = 1;
		}
		free(k);
	}
	(void)any_missing;
	assert_int_equal(hvc_gcm_path_available((enum hvc_gcm_path)42), HVC_E_INVAL);
}

#define PT(fn, p, name)                                                                                                \
	{                                                                                                              \
#fn "/" name, fn, NULL, NULL, (void *)(uintptr_t)(p)                                                   \
	}
#define ALL_PATHS(fn)                                                                                                  \
	PT(fn, HVC_GCM_SSE, "sse-aesni"), PT(fn, HVC_GCM_AVX2, "avx2-gen4"), PT(fn, HVC_GCM_VAES_AVX512, "vaes-avx512")

int main(void)
{
	print_paths();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_abi_layout),
		cmocka_unit_test(test_path_unavailable_is_reported),
		ALL_PATHS(test_nist_vectors),
		ALL_PATHS(test_openssl_crosscheck),
		ALL_PATHS(test_keystream_equivalence),
		ALL_PATHS(test_stream_enc_pieces),
		{ "test_ghash_clmul_vs_imb/xmm", test_ghash_clmul_vs_imb, NULL, NULL,
		  (void *)(uintptr_t)HVC_CLMUL_XMM },
		{ "test_ghash_clmul_vs_imb/ymm", test_ghash_clmul_vs_imb, NULL, NULL,
		  (void *)(uintptr_t)HVC_CLMUL_YMM },
		{ "test_ghash_clmul_vs_imb/zmm", test_ghash_clmul_vs_imb, NULL, NULL,
		  (void *)(uintptr_t)HVC_CLMUL_ZMM },
		cmocka_unit_test(test_ctr_vaes_vs_imb),
		cmocka_unit_test(test_key_reuse_across_paths),
		cmocka_unit_test(test_selftest),
		cmocka_unit_test(test_ring),
	};
	return cmocka_run_group_tests_name("crypto_gcm", tests, NULL, NULL);
}
