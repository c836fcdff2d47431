/* Our own GHASH with carry-less multiply (PCLMULQDQ, or VPCLMULQDQ on 256- or 512-bit vectors),
 * aggregated over 16 blocks per reduction, and a fused single-pass XOR + GHASH for
 * sending a frame whose keystream is ready. */
#ifndef HVC_GHASH_CLMUL_H
#define HVC_GHASH_CLMUL_H
#include <stddef.h>
#include <stdint.h>

enum hvc_clmul_kind { HVC_CLMUL_NONE = 0, HVC_CLMUL_XMM = 1, HVC_CLMUL_YMM = 2, HVC_CLMUL_ZMM = 3 };

struct hvc_ghash_key {
	/* H^32 .. H^1, byte-reversed, hpow[31] = H; the 128- and 256-bit loops use the last
	 * 16, the 512-bit loop all 32 (two groups of 16 blocks per reduction) */
	_Alignas(64) uint8_t hpow[32][16];
	_Alignas(64) uint8_t hkar[32][16]; /* hi64 ^ lo64 of each power, in both halves */
	int kind;
};

/* Best kind this CPU can run (YMM needs AVX2 + VPCLMULQDQ + OS YMM state; ZMM also
 * AVX-512 F/BW/VL/DQ and OS ZMM state). */
enum hvc_clmul_kind hvc_clmul_best(void);
/* h = AES_K(0^128) as bytes. kind must be runnable here. */
void hvc_ghash_key_init(struct hvc_ghash_key *g, const uint8_t h[16], enum hvc_clmul_kind kind);
/* state (16 bytes, GCM byte order) = GHASH over in, zero-padded to a block multiple. */
void hvc_ghash_clmul(const struct hvc_ghash_key *g, uint8_t state[16], const uint8_t *in, size_t len);
/* out = in ^ ks, state = GHASH(state, out zero-padded): one pass over the data. */
void hvc_xor_ghash_clmul(const struct hvc_ghash_key *g, uint8_t state[16], const uint8_t *ks, const uint8_t *in,
			 uint8_t *out, size_t len);
/* Decrypt direction: state = GHASH(state, in zero-padded), out = in ^ ks, one pass
 * (in may equal out). */
void hvc_ghash_xor_clmul(const struct hvc_ghash_key *g, uint8_t state[16], const uint8_t *ks, const uint8_t *in,
			 uint8_t *out, size_t len);
#endif
