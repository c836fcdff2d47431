/* XOR with precomputed keystream and GHASH over the result. */
#include "ghash_xor.h"
#include "mem_secure.h"

void hvc_xor_ks(uint8_t *out, const uint8_t *in, const uint8_t *ks, size_t len)
{
	size_t i = 0;
	/* 8-byte words through memcpy: no alignment assumptions, still compiles to plain
	 * loads/stores (and to vector code in the hosted -O2/-O3 builds). */
	for (; i + 32 <= len; i += 32) {
		uint64_t a[4], b[4];
		__builtin_memcpy(a, in + i, 32);
		__builtin_memcpy(b, ks + i, 32);
		a[0] ^= b[0];
		a[1] ^= b[1];
		a[2] ^= b[2];
		a[3] ^= b[3];
		__builtin_memcpy(out + i, a, 32);
	}
	for (; i < len; i++)
		out[i] = in[i] ^ ks[i];
}

void hvc_xor_ghash_enc(const struct hvc_gcm_key *k, uint8_t state[16], const uint8_t *ks, const uint8_t *in,
		       uint8_t *out, size_t len)
{
	if (k->gh.kind != HVC_CLMUL_NONE) {
		hvc_xor_ghash_clmul(&k->gh, state, ks, in, out, len);
		return;
	}
	hvc_xor_ks(out, in, ks, len);
	hvc_gcm_ghash(k, state, out, len);
}

void hvc_ghash_xor_dec(const struct hvc_gcm_key *k, uint8_t state[16], const uint8_t *ks, const uint8_t *in,
		       uint8_t *out, size_t len)
{
	if (k->gh.kind != HVC_CLMUL_NONE) {
		hvc_ghash_xor_clmul(&k->gh, state, ks, in, out, len);
		return;
	}
	hvc_gcm_ghash(k, state, in, len);
	hvc_xor_ks(out, in, ks, len);
}
