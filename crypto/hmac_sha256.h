/* HMAC-SHA256 (RFC 2104): handshake finished MACs and the core of HKDF. */
#ifndef HVC_HMAC_SHA256_H
#define HVC_HMAC_SHA256_H
#include "sha256.h"

struct hvc_hmac_sha256 {
	struct hvc_sha256 inner, outer;
};
void hvc_hmac_sha256_init(struct hvc_hmac_sha256 *h, const uint8_t *key, size_t key_len);
void hvc_hmac_sha256_update(struct hvc_hmac_sha256 *h, const void *data, size_t len);
void hvc_hmac_sha256_final(struct hvc_hmac_sha256 *h, uint8_t out[32]);
void hvc_hmac_sha256(const uint8_t *key, size_t key_len, const void *data, size_t len, uint8_t out[32]);
#endif
