/* Prototypes of the ipsec-mb 1.3 architecture-specific entry points we link directly
 * (the public header drags in libc and the multi-buffer manager, which we do not build). */
#ifndef HVC_IPSECMB_ABI_H
#define HVC_IPSECMB_ABI_H
#include <stdint.h>

/* Same size as ipsec-mb's struct gcm_key_data (1008 bytes); tests check it against the
 * real header. */
#define HVC_IMB_GCM_KEY_DATA_SIZE 1008
#define HVC_IMB_GCM_CTX_SIZE	  88
/* The expanded AES encryption keys are the first member of struct gcm_key_data. */

/* Prefix of IMB_JOB read by aes_cntr_256_submit_vaes_avx512; offsets checked by tests. */
struct hvc_imb_job {
	const void *enc_keys;			   /* 0 */
	const void *dec_keys;			   /* 8 */
	uint64_t key_len_in_bytes;		   /* 16 */
	const uint8_t *src;			   /* 24 */
	uint8_t *dst;				   /* 32 */
	uint64_t cipher_start_src_offset_in_bytes; /* 40 */
	uint64_t msg_len_to_cipher_in_bytes;	   /* 48 */
	uint64_t hash_start_src_offset_in_bytes;   /* 56 */
	uint64_t msg_len_to_hash_in_bytes;	   /* 64 */
	const uint8_t *iv;			   /* 72 */
	uint64_t iv_len_in_bytes;		   /* 80 */
	uint8_t rest[200 - 88];
};

/* Tests that include ipsec-mb's own header define HVC_IMB_NO_PROTOS. */
#ifndef HVC_IMB_NO_PROTOS
#define HVC_IMB_GCM_PROTOS(sfx)                                                                                        \
	void aes_gcm_precomp_256_##sfx(void *key_data);                                                                \
	void aes_gcm_enc_256_##sfx(const void *key_data, void *ctx, uint8_t *out, const uint8_t *in, uint64_t len,     \
				   const uint8_t *iv, const uint8_t *aad, uint64_t aad_len, uint8_t *tag,              \
				   uint64_t tag_len);                                                                  \
	void aes_gcm_dec_256_##sfx(const void *key_data, void *ctx, uint8_t *out, const uint8_t *in, uint64_t len,     \
				   const uint8_t *iv, const uint8_t *aad, uint64_t aad_len, uint8_t *tag,              \
				   uint64_t tag_len);                                                                  \
	void ghash_##sfx(const void *key_data, const void *in, uint64_t len, void *io_tag, uint64_t tag_len);

HVC_IMB_GCM_PROTOS(sse)
HVC_IMB_GCM_PROTOS(avx_gen4)
HVC_IMB_GCM_PROTOS(vaes_avx512)

void aes_keyexp_256_enc_sse(const void *key, void *enc_exp_keys);
void aes_keyexp_256_enc_avx2(const void *key, void *enc_exp_keys);
void aes_cntr_256_sse(const void *in, const void *iv, const void *keys, void *out, uint64_t len, uint64_t iv_len);
void aes_cntr_256_avx(const void *in, const void *iv, const void *keys, void *out, uint64_t len, uint64_t iv_len);
void aes_cntr_256_submit_vaes_avx512(struct hvc_imb_job *job);
/* Streaming ("sgl") GCM of the VAES/AVX-512 path: ctx is a struct gcm_context_data. */
void aes_gcm_init_256_vaes_avx512(const void *key_data, void *ctx, const uint8_t *iv, const uint8_t *aad,
				  uint64_t aad_len);
void aes_gcm_dec_256_update_vaes_avx512(const void *key_data, void *ctx, uint8_t *out, const uint8_t *in, uint64_t len);
void aes_gcm_dec_256_finalize_vaes_avx512(const void *key_data, void *ctx, uint8_t *tag, uint64_t tag_len);
void aes_gcm_enc_256_update_vaes_avx512(const void *key_data, void *ctx, uint8_t *out, const uint8_t *in, uint64_t len);
void aes_gcm_enc_256_finalize_vaes_avx512(const void *key_data, void *ctx, uint8_t *tag, uint64_t tag_len);
/* ... and of the AVX2 path (its streaming encrypt only: see gcm_dispatch.h) */
void aes_gcm_init_256_avx_gen4(const void *key_data, void *ctx, const uint8_t *iv, const uint8_t *aad,
			       uint64_t aad_len);
void aes_gcm_enc_256_update_avx_gen4(const void *key_data, void *ctx, uint8_t *out, const uint8_t *in, uint64_t len);
void aes_gcm_enc_256_finalize_avx_gen4(const void *key_data, void *ctx, uint8_t *tag, uint64_t tag_len);
#endif
#endif
