/* HKDF-SHA256 (RFC 5869) for per-migration, per-direction key derivation. */
#ifndef HVC_HKDF_SHA256_H
#define HVC_HKDF_SHA256_H
#include <stddef.h>
#include <stdint.h>

void hvc_hkdf_extract(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len, uint8_t prk[32]);
/* out_len <= 255*32; returns 0, or -1 when out_len is too large. */
int hvc_hkdf_expand(const uint8_t prk[32], const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len);
/* Expand with an ASCII label as info (no terminating NUL). */
int hvc_hkdf_expand_label(const uint8_t prk[32], const char *label, uint8_t *out, size_t out_len);
#endif
