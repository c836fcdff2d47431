/* HMAC-SHA256 with the padded key states kept so a MAC can be computed incrementally. */
#include "hmac_sha256.h"
#include "mem_secure.h"

void hvc_hmac_sha256_init(struct hvc_hmac_sha256 *h, const uint8_t *key, size_t key_len)
{
	uint8_t k[64] = { 0 }, pad[64];
	if (key_len > 64)
		hvc_sha256(key, key_len, k);
	else if (key_len)
		memcpy(k, key, key_len);
	for (int i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x36;
	hvc_sha256_init(&h->inner);
	hvc_sha256_update(&h->inner, pad, 64);
	for (int i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x5c;
	hvc_sha256_init(&h->outer);
	hvc_sha256_update(&h->outer, pad, 64);
	hvc_zero(k, sizeof(k));
	hvc_zero(pad, sizeof(pad));
}

void hvc_hmac_sha256_update(struct hvc_hmac_sha256 *h, const void *data, size_t len)
{
	hvc_sha256_update(&h->inner, data, len);
}

void hvc_hmac_sha256_final(struct hvc_hmac_sha256 *h, uint8_t out[32])
{
	uint8_t ih[32];
	hvc_sha256_final(&h->inner, ih);
	hvc_sha256_update(&h->outer, ih, 32);
	hvc_sha256_final(&h->outer, out);
	hvc_zero(ih, sizeof(ih));
}

void hvc_hmac_sha256(const uint8_t *key, size_t key_len, const void *data, size_t len, uint8_t out[32])
{
	struct hvc_hmac_sha256 h;
	hvc_hmac_sha256_init(&h, key, key_len);
	hvc_hmac_sha256_update(&h, data, len);
	hvc_hmac_sha256_final(&h, out);
	hvc_zero(&h, sizeof(h));
}
