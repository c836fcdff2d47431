/* AES-256-GCM / CTR / GHASH primitives with the ipsec-mb implementation chosen at run time
 * from CPU features (VAES+AVX-512, AVX2, SSE+AES-NI). */
#ifndef HVC_GCM_DISPATCH_H
#define HVC_GCM_DISPATCH_H
#include <stddef.h>
#include <stdint.h>
#include "ghash_clmul.h"

enum hvc_gcm_path {
	HVC_GCM_AUTO = 0,
	HVC_GCM_SSE = 1,	 /* AES-NI + PCLMULQDQ, SSE4.1 (ipsec-mb sse_t1) */
	HVC_GCM_AVX2 = 2,	 /* AVX2 + AES-NI + PCLMULQDQ (ipsec-mb avx_gen4) */
	HVC_GCM_VAES_AVX512 = 3, /* VAES + VPCLMULQDQ + AVX-512 F/BW/VL/DQ (ipsec-mb by48) */
	HVC_GCM_NPATHS
};

struct hvc_gcm_ops;

/* Expanded key + GHASH powers for one AES-256 key on one implementation path. */
struct hvc_gcm_key {
	_Alignas(64) uint8_t kd[1024]; /* ipsec-mb struct gcm_key_data (1008 bytes) */
	struct hvc_ghash_key gh;       /* our GHASH (kind NONE: use ipsec-mb's) */
	int ctr_vaes;		       /* keystream by our VAES-256 CTR, else ipsec-mb's */
	const struct hvc_gcm_ops *ops;
};

#define HVC_GCM_TAG_LEN 16
#define HVC_GCM_IV_LEN	12

/* HVC_OK when the path can run here (AUTO always resolves to the best one, or fails
 * with HVC_E_NO_AESNI). */
int hvc_gcm_path_available(enum hvc_gcm_path path);
enum hvc_gcm_path hvc_gcm_best_path(void);
const char *hvc_gcm_path_name(enum hvc_gcm_path path);

int hvc_gcm_key_init(struct hvc_gcm_key *k, enum hvc_gcm_path path, const uint8_t key[32]);
void hvc_gcm_key_wipe(struct hvc_gcm_key *k);
enum hvc_gcm_path hvc_gcm_key_path(const struct hvc_gcm_key *k);

/* Our own keystream and GHASH (VAES + VPCLMULQDQ on 256-bit registers) are both in use,
 * so keystream-then-XOR+GHASH beats the path's one-pass GCM. */
int hvc_gcm_fast_keystream(const struct hvc_gcm_key *k);

/* Streaming decrypt with the path's stitched one-pass GCM, for a frame that arrives in
 * pieces of any length: only on the VAES/AVX-512 path, where ipsec-mb's decrypt (~19 GB/s
 * here) beats our GHASH followed by CTR (two passes, ~12). ctx holds the running GHASH and
 * counter (HVC_GCM_STREAM_CTX bytes, 16-aligned); final writes the computed tag, which the
 * caller compares. Plaintext is written as the pieces come, before the tag is known. */
#define HVC_GCM_STREAM_CTX 128
int hvc_gcm_stream_dec_available(const struct hvc_gcm_key *k);
void hvc_gcm_stream_dec_init(const struct hvc_gcm_key *k, void *ctx, const uint8_t iv[12], const uint8_t *aad,
			     size_t aad_len);
void hvc_gcm_stream_dec_update(const struct hvc_gcm_key *k, void *ctx, uint8_t *out, const uint8_t *in, size_t len);
void hvc_gcm_stream_dec_final(const struct hvc_gcm_key *k, void *ctx, uint8_t tag[16]);

/* Streaming encrypt with the path's one-pass GCM, for a message gathered from pieces of
 * any length (a header and guest pages): the VAES/AVX-512 and AVX2 paths. Each piece is
 * read once, by the cipher, straight from where it lies: no staging copy. ctx as above. */
int hvc_gcm_stream_enc_available(const struct hvc_gcm_key *k);
void hvc_gcm_stream_enc_init(const struct hvc_gcm_key *k, void *ctx, const uint8_t iv[12], const uint8_t *aad,
			     size_t aad_len);
void hvc_gcm_stream_enc_update(const struct hvc_gcm_key *k, void *ctx, uint8_t *out, const uint8_t *in, size_t len);
void hvc_gcm_stream_enc_final(const struct hvc_gcm_key *k, void *ctx, uint8_t tag[16]);

/* One-shot AES-256-GCM, 96-bit IV, 16-byte tag. */
void hvc_gcm_encrypt(const struct hvc_gcm_key *k, const uint8_t iv[12], const uint8_t *aad, size_t aad_len,
		     const uint8_t *in, uint8_t *out, size_t len, uint8_t tag[16]);
/* Verifies the tag before any plaintext is written to out; out untouched on failure. */
int hvc_gcm_decrypt(const struct hvc_gcm_key *k, const uint8_t iv[12], const uint8_t *aad, size_t aad_len,
		    const uint8_t *in, uint8_t *out, size_t len, const uint8_t tag[16]);

/* GCM keystream for iv starting at 32-bit block counter ctr (1 = tag mask, 2 = first data
 * block): out = E(iv||ctr) || E(iv||ctr+1) || ... , len bytes. */
void hvc_gcm_keystream(const struct hvc_gcm_key *k, const uint8_t iv[12], uint32_t ctr, uint8_t *out, size_t len);
/* CTR XOR with the same counter convention (in may equal out). */
void hvc_gcm_ctr_xor(const struct hvc_gcm_key *k, const uint8_t iv[12], uint32_t ctr, const uint8_t *in, uint8_t *out,
		     size_t len);
/* GHASH state update: state = GHASH_H(state, in zero-padded to 16 bytes). Uses our
 * aggregated CLMUL GHASH where the CPU allows (much faster than ipsec-mb's AAD hash). */
void hvc_gcm_ghash(const struct hvc_gcm_key *k, uint8_t state[16], const uint8_t *in, size_t len);
/* The same through ipsec-mb's ghash_* (for cross-checks). */
void hvc_gcm_ghash_imb(const struct hvc_gcm_key *k, uint8_t state[16], const uint8_t *in, size_t len);
/* Final GHASH block (bit lengths) and tag = GHASH ^ E(J0). */
void hvc_gcm_ghash_lengths(const struct hvc_gcm_key *k, uint8_t state[16], uint64_t aad_len, uint64_t ct_len);
/* Which GHASH code a key uses, for reports: "clmul-ymm", "clmul-xmm" or "ipsec-mb". */
const char *hvc_gcm_ghash_name(const struct hvc_gcm_key *k);
/* Which CTR code: "vaes-ymm" or "ipsec-mb". */
const char *hvc_gcm_ctr_name(const struct hvc_gcm_key *k);
/* CTR through ipsec-mb whatever the key uses (for cross-checks). */
void hvc_gcm_ctr_xor_imb(const struct hvc_gcm_key *k, const uint8_t iv[12], uint32_t ctr, const uint8_t *in,
			 uint8_t *out, size_t len);
#endif
