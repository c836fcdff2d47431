/* The critical path of a frame whose keystream is ready: XOR with keystream and GHASH of
 * the ciphertext. */
#ifndef HVC_GHASH_XOR_H
#define HVC_GHASH_XOR_H
#include <stddef.h>
#include <stdint.h>
#include "gcm_dispatch.h"

/* out = in ^ ks (in may equal out). */
void hvc_xor_ks(uint8_t *out, const uint8_t *in, const uint8_t *ks, size_t len);
/* Encrypt direction: out = in ^ ks, then state = GHASH(state, out zero-padded). */
void hvc_xor_ghash_enc(const struct hvc_gcm_key *k, uint8_t state[16], const uint8_t *ks, const uint8_t *in,
		       uint8_t *out, size_t len);
/* Decrypt direction: state = GHASH(state, in zero-padded), then out = in ^ ks (in may
 * equal out). */
void hvc_ghash_xor_dec(const struct hvc_gcm_key *k, uint8_t state[16], const uint8_t *ks, const uint8_t *in,
		       uint8_t *out, size_t len);
#endif
