/* HKDF extract/expand on top of HMAC-SHA256. */
#include "hkdf_sha256.h"
#include "hmac_sha256.h"
#include "mem_secure.h"

void hvc_hkdf_extract(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len, uint8_t prk[32])
{
	static const uint8_t zeros[32];
	if (!salt || !salt_len) {
		salt = zeros;
		salt_len = sizeof(zeros);
	}
	hvc_hmac_sha256(salt, salt_len, ikm, ikm_len, prk);
}

int hvc_hkdf_expand(const uint8_t prk[32], const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
	uint8_t t[32];
	size_t tlen = 0, done = 0;
	uint8_t ctr = 1;
	if (out_len > 255 * 32)
		return -1;
	while (done < out_len) {
		struct hvc_hmac_sha256 h;
		hvc_hmac_sha256_init(&h, prk, 32);
		hvc_hmac_sha256_update(&h, t, tlen);
		hvc_hmac_sha256_update(&h, info, info_len);
		hvc_hmac_sha256_update(&h, &ctr, 1);
		hvc_hmac_sha256_final(&h, t);
		hvc_zero(&h, sizeof(h));
		tlen = 32;
		size_t n = out_len - done < 32 ? out_len - done : 32;
		memcpy(out + done, t, n);
		done += n;
		ctr++;
	}
	hvc_zero(t, sizeof(t));
	return 0;
}

int hvc_hkdf_expand_label(const uint8_t prk[32], const char *label, uint8_t *out, size_t out_len)
{
	size_t n = 0;
	while (label[n])
		n++;
	return hvc_hkdf_expand(prk, (const uint8_t *)label, n, out, out_len);
}
