/* SHA-256 (FIPS 180-4), the hash under HMAC/HKDF and the handshake transcript. */
#ifndef HVC_SHA256_H
#define HVC_SHA256_H
#include <stddef.h>
#include <stdint.h>

#define HVC_SHA256_LEN 32
struct hvc_sha256 {
	uint32_t h[8];
	uint64_t total;
	uint8_t buf[64];
	size_t used;
};
void hvc_sha256_init(struct hvc_sha256 *s);
void hvc_sha256_update(struct hvc_sha256 *s, const void *data, size_t len);
void hvc_sha256_final(struct hvc_sha256 *s, uint8_t out[32]);
void hvc_sha256(const void *data, size_t len, uint8_t out[32]);
#endif
