/* Binds the ipsec-mb entry points of each implementation path into one table and picks
 * the path from CPUID, so every path can also be forced by tests. */
#include "gcm_dispatch.h"
#include "aes_ctr_vaes.h"
#include "cpu_features.h"
#include "hvc_err.h"
#include "ipsecmb_abi.h"
#include "mem_secure.h"

struct hvc_gcm_ops {
	enum hvc_gcm_path path;
	const char *name;
	void (*keyexp)(const void *key, void *exp);
	void (*precomp)(void *kd);
	void (*enc)(const void *kd, void *ctx, uint8_t *out, const uint8_t *in, uint64_t len, const uint8_t *iv,
		    const uint8_t *aad, uint64_t aad_len, uint8_t *tag, uint64_t tag_len);
	void (*ghash)(const void *kd, const void *in, uint64_t len, void *io_tag, uint64_t tag_len);
	void (*ctr)(const void *exp, const uint8_t iv16[16], const uint8_t *in, uint8_t *out, uint64_t len);
	/* streaming one-pass decrypt, where it beats GHASH then CTR (NULL elsewhere) */
	void (*sinit)(const void *kd, void *ctx, const uint8_t *iv, const uint8_t *aad, uint64_t aad_len);
	void (*sdec)(const void *kd, void *ctx, uint8_t *out, const uint8_t *in, uint64_t len);
	void (*sfin)(const void *kd, void *ctx, uint8_t *tag, uint64_t tag_len);
	/* streaming one-pass encrypt from pieces (a gathered message); sinit starts it */
	void (*seinit)(const void *kd, void *ctx, const uint8_t *iv, const uint8_t *aad, uint64_t aad_len);
	void (*senc)(const void *kd, void *ctx, uint8_t *out, const uint8_t *in, uint64_t len);
	void (*sefin)(const void *kd, void *ctx, uint8_t *tag, uint64_t tag_len);
};

_Static_assert(sizeof(((struct hvc_gcm_key *)0)->kd) >= HVC_IMB_GCM_KEY_DATA_SIZE, "kd size");

static void ctr_sse(const void *exp, const uint8_t iv16[16], const uint8_t *in, uint8_t *out, uint64_t len)
{
	aes_cntr_256_sse(in, iv16, exp, out, len, 16);
}

static void ctr_avx(const void *exp, const uint8_t iv16[16], const uint8_t *in, uint8_t *out, uint64_t len)
{
	aes_cntr_256_avx(in, iv16, exp, out, len, 16);
}

static void ctr_vaes(const void *exp, const uint8_t iv16[16], const uint8_t *in, uint8_t *out, uint64_t len)
{
	struct hvc_imb_job job = { 0 };
	job.enc_keys = exp;
	job.src = in;
	job.dst = out;
	job.msg_len_to_cipher_in_bytes = len;
	job.iv = iv16;
	job.iv_len_in_bytes = 16;
	aes_cntr_256_submit_vaes_avx512(&job);
}

static const struct hvc_gcm_ops ops_tab[HVC_GCM_NPATHS] = {
	[HVC_GCM_SSE] = { HVC_GCM_SSE, "sse-aesni", aes_keyexp_256_enc_sse, aes_gcm_precomp_256_sse,
			  aes_gcm_enc_256_sse, ghash_sse, ctr_sse },
	[HVC_GCM_AVX2] = { HVC_GCM_AVX2, "avx2-gen4", aes_keyexp_256_enc_avx2, aes_gcm_precomp_256_avx_gen4,
			   aes_gcm_enc_256_avx_gen4, ghash_avx_gen4, ctr_avx, NULL, NULL, NULL,
			   aes_gcm_init_256_avx_gen4, aes_gcm_enc_256_update_avx_gen4,
			   aes_gcm_enc_256_finalize_avx_gen4 },
	[HVC_GCM_VAES_AVX512] = { HVC_GCM_VAES_AVX512, "vaes-avx512", aes_keyexp_256_enc_avx2,
				  aes_gcm_precomp_256_vaes_avx512, aes_gcm_enc_256_vaes_avx512, ghash_vaes_avx512,
				  ctr_vaes, aes_gcm_init_256_vaes_avx512, aes_gcm_dec_256_update_vaes_avx512,
				  aes_gcm_dec_256_finalize_vaes_avx512, aes_gcm_init_256_vaes_avx512,
				  aes_gcm_enc_256_update_vaes_avx512, aes_gcm_enc_256_finalize_vaes_avx512 },
};

int hvc_gcm_path_available(enum hvc_gcm_path path)
{
	struct hvc_cpu c;
	hvc_cpu_detect(&c);
	if (!c.aesni || !c.pclmul)
		return HVC_E_NO_AESNI;
	switch (path) {
	case HVC_GCM_AUTO: return HVC_OK;
	case HVC_GCM_SSE: return c.sse41 ? HVC_OK : HVC_E_PATH_UNAVAILABLE;
	case HVC_GCM_AVX2: return (c.avx && c.avx2 && c.bmi2 && c.os_ymm) ? HVC_OK : HVC_E_PATH_UNAVAILABLE;
	case HVC_GCM_VAES_AVX512:
		return (c.avx2 && c.bmi2 && c.os_ymm && c.os_zmm && c.avx512f && c.avx512bw && c.avx512vl &&
			c.avx512dq && c.vaes && c.vpclmul)
			       ? HVC_OK
			       : HVC_E_PATH_UNAVAILABLE;
	default: return HVC_E_INVAL;
	}
}

enum hvc_gcm_path hvc_gcm_best_path(void)
{
	if (hvc_gcm_path_available(HVC_GCM_VAES_AVX512) == HVC_OK)
		return HVC_GCM_VAES_AVX512;
	if (hvc_gcm_path_available(HVC_GCM_AVX2) == HVC_OK)
		return HVC_GCM_AVX2;
	if (hvc_gcm_path_available(HVC_GCM_SSE) == HVC_OK)
		return HVC_GCM_SSE;
	return HVC_GCM_AUTO;
}

const char *hvc_gcm_path_name(enum hvc_gcm_path path)
{
	if (path > HVC_GCM_AUTO && path < HVC_GCM_NPATHS)
		return ops_tab[path].name;
	return "auto";
}

int hvc_gcm_key_init(struct hvc_gcm_key *k, enum hvc_gcm_path path, const uint8_t key[32])
{
	int rc = hvc_gcm_path_available(path);
	if (rc != HVC_OK)
		return rc;
	if (path == HVC_GCM_AUTO)
		path = hvc_gcm_best_path();
	if (path == HVC_GCM_AUTO)
		return HVC_E_NO_AESNI;
	/* All of it: a key struct reused across paths must not keep the previous GHASH
	 * powers or CTR choice (the Bochs KAT caught exactly that). */
	hvc_zero(k, sizeof(*k));
	k->ops = &ops_tab[path];
	k->ops->keyexp(key, k->kd);
	k->ops->precomp(k->kd);
	/* H = AES_K(0^128) for our GHASH. The SSE path keeps to 128-bit CLMUL so that it
	 * stays an SSE-only path; AVX2 takes the best this CPU has (ipsec-mb 1.3's AVX2 GHASH
	 * is its AAD routine, ~5.6 GB/s against ~10 for ours), but never the 512-bit
	 * loop: that path must run without AVX-512. The VAES/AVX-512 path takes our 512-bit
	 * GHASH (~25 GB/s fused with the XOR, against ~15 for ipsec-mb's GHASH and a separate
	 * XOR, on an AVX-512 EPYC). */
	enum hvc_clmul_kind kind = hvc_clmul_best();
	if (path == HVC_GCM_SSE && kind > HVC_CLMUL_XMM)
		kind = HVC_CLMUL_XMM;
	if (path == HVC_GCM_AVX2 && kind > HVC_CLMUL_YMM)
		kind = HVC_CLMUL_YMM;
	if (path == HVC_GCM_VAES_AVX512)
		kind = kind == HVC_CLMUL_ZMM ? HVC_CLMUL_ZMM : HVC_CLMUL_NONE;
	/* ipsec-mb 1.3's AVX2 CTR does one block per AES instruction; with VAES, ours does
	 * two (the VAES/AVX-512 path has ipsec-mb's own 512-bit CTR). */
	k->ctr_vaes = path == HVC_GCM_AVX2 && hvc_ctr_vaes_available();
	if (kind != HVC_CLMUL_NONE) {
		static const uint8_t zero_iv[12];
		uint8_t h[16];
		hvc_gcm_keystream(k, zero_iv, 0, h, 16);
		hvc_ghash_key_init(&k->gh, h, kind);
		hvc_zero(h, sizeof(h));
	}
	return HVC_OK;
}

void hvc_gcm_key_wipe(struct hvc_gcm_key *k) { hvc_zero(k, sizeof(*k)); }

enum hvc_gcm_path hvc_gcm_key_path(const struct hvc_gcm_key *k) { return k->ops ? k->ops->path : HVC_GCM_AUTO; }

const char *hvc_gcm_ghash_name(const struct hvc_gcm_key *k)
{
	return k->gh.kind == HVC_CLMUL_ZMM   ? "clmul-zmm"
	       : k->gh.kind == HVC_CLMUL_YMM ? "clmul-ymm"
	       : k->gh.kind == HVC_CLMUL_XMM ? "clmul-xmm"
					     : "ipsec-mb";
}

void hvc_gcm_encrypt(const struct hvc_gcm_key *k, const uint8_t iv[12], const uint8_t *aad, size_t aad_len,
		     const uint8_t *in, uint8_t *out, size_t len, uint8_t tag[16])
{
	_Alignas(64) uint8_t ctx[128];
	k->ops->enc(k->kd, ctx, out, in, len, iv, aad, aad_len, tag, 16);
	hvc_zero(ctx, sizeof(ctx));
}

static void make_block(uint8_t blk[16], const uint8_t iv[12], uint32_t ctr)
{
	memcpy(blk, iv, 12);
	hvc_be32_put(blk + 12, ctr);
}

void hvc_gcm_ctr_xor_imb(const struct hvc_gcm_key *k, const uint8_t iv[12], uint32_t ctr, const uint8_t *in,
			 uint8_t *out, size_t len)
{
	uint8_t blk[16];
	if (!len)
		return;
	make_block(blk, iv, ctr);
	k->ops->ctr(k->kd, blk, in, out, len);
}

void hvc_gcm_ctr_xor(const struct hvc_gcm_key *k, const uint8_t iv[12], uint32_t ctr, const uint8_t *in, uint8_t *out,
		     size_t len)
{
	if (!len)
		return;
	if (k->ctr_vaes)
		hvc_ctr_vaes(k->kd, iv, ctr, in, out, len);
	else
		hvc_gcm_ctr_xor_imb(k, iv, ctr, in, out, len);
}

_Static_assert(HVC_GCM_STREAM_CTX >= HVC_IMB_GCM_CTX_SIZE, "stream ctx size");

int hvc_gcm_stream_dec_available(const struct hvc_gcm_key *k) { return k->ops && k->ops->sdec != NULL; }

void hvc_gcm_stream_dec_init(const struct hvc_gcm_key *k, void *ctx, const uint8_t iv[12], const uint8_t *aad,
			     size_t aad_len)
{
	k->ops->sinit(k->kd, ctx, iv, aad, aad_len);
}

void hvc_gcm_stream_dec_update(const struct hvc_gcm_key *k, void *ctx, uint8_t *out, const uint8_t *in, size_t len)
{
	if (len)
		k->ops->sdec(k->kd, ctx, out, in, len);
}

void hvc_gcm_stream_dec_final(const struct hvc_gcm_key *k, void *ctx, uint8_t tag[16])
{
	k->ops->sfin(k->kd, ctx, tag, 16);
}

int hvc_gcm_stream_enc_available(const struct hvc_gcm_key *k) { return k->ops && k->ops->senc != NULL; }

void hvc_gcm_stream_enc_init(const struct hvc_gcm_key *k, void *ctx, const uint8_t iv[12], const uint8_t *aad,
			     size_t aad_len)
{
	k->ops->seinit(k->kd, ctx, iv, aad, aad_len);
}

void hvc_gcm_stream_enc_update(const struct hvc_gcm_key *k, void *ctx, uint8_t *out, const uint8_t *in, size_t len)
{
	if (len)
		k->ops->senc(k->kd, ctx, out, in, len);
}

void hvc_gcm_stream_enc_final(const struct hvc_gcm_key *k, void *ctx, uint8_t tag[16])
{
	k->ops->sefin(k->kd, ctx, tag, 16);
}

int hvc_gcm_fast_keystream(const struct hvc_gcm_key *k) { return k->ctr_vaes && k->gh.kind == HVC_CLMUL_YMM; }

const char *hvc_gcm_ctr_name(const struct hvc_gcm_key *k) { return k->ctr_vaes ? "vaes-ymm" : "ipsec-mb"; }

void hvc_gcm_keystream(const struct hvc_gcm_key *k, const uint8_t iv[12], uint32_t ctr, uint8_t *out, size_t len)
{
	if (k->ctr_vaes && len) {
		hvc_ctr_vaes_keystream(k->kd, iv, ctr, out, len);
		return;
	}
	memset(out, 0, len);
	hvc_gcm_ctr_xor(k, iv, ctr, out, out, len);
}

void hvc_gcm_ghash_imb(const struct hvc_gcm_key *k, uint8_t state[16], const uint8_t *in, size_t len)
{
	if (len)
		k->ops->ghash(k->kd, in, len, state, 16);
}

void hvc_gcm_ghash(const struct hvc_gcm_key *k, uint8_t state[16], const uint8_t *in, size_t len)
{
	if (!len)
		return;
	if (k->gh.kind != HVC_CLMUL_NONE)
		hvc_ghash_clmul(&k->gh, state, in, len);
	else
		k->ops->ghash(k->kd, in, len, state, 16);
}

void hvc_gcm_ghash_lengths(const struct hvc_gcm_key *k, uint8_t state[16], uint64_t aad_len, uint64_t ct_len)
{
	uint8_t lb[16];
	hvc_be64_put(lb, aad_len * 8);
	hvc_be64_put(lb + 8, ct_len * 8);
	hvc_gcm_ghash(k, state, lb, 16);
}

int hvc_gcm_decrypt(const struct hvc_gcm_key *k, const uint8_t iv[12], const uint8_t *aad, size_t aad_len,
		    const uint8_t *in, uint8_t *out, size_t len, const uint8_t tag[16])
{
	uint8_t s[16] = { 0 }, mask[16];
	int ok;

	hvc_gcm_ghash(k, s, aad, aad_len);
	hvc_gcm_ghash(k, s, in, len);
	hvc_gcm_ghash_lengths(k, s, aad_len, len);
	hvc_gcm_keystream(k, iv, 1, mask, 16);
	for (int i = 0; i < 16; i++)
		s[i] ^= mask[i];
	ok = hvc_ct_equal(s, tag, 16);
	hvc_zero(mask, sizeof(mask));
	if (!ok)
		return HVC_E_AUTH_TAG;
	hvc_gcm_ctr_xor(k, iv, 2, in, out, len);
	return HVC_OK;
}
