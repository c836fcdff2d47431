/* X25519 for the handshake's ephemeral key agreement, on BearSSL's Curve25519 code. */
#include "x25519.h"
#include "hvc_err.h"
#include "mem_secure.h"
#include <bearssl_ec.h>

/* br_ec_c25519_m31, the fastest constant-time Curve25519 code in BearSSL 0.6, the version
 * Debian 12 ships (m62/m64, with 64-bit limbs and __int128, are not in 0.6). Measured with
 * make bench-x25519 (hosted, -O2; Xeon, family 6 model 207, under KVM), microseconds per
 * scalar multiplication: m31 ~139, i31 ~387, m15 ~440, i15 ~1050. Besides this file it
 * needs only codec/ccopy.c. */
#define X25519_IMPL br_ec_c25519_m31

static void clamp(uint8_t k[32])
{
	k[0] &= 248;
	k[31] &= 127;
	k[31] |= 64;
}

int hvc_x25519_keypair(hvc_entropy_fn entropy, void *ctx, uint8_t priv[32], uint8_t pub[32])
{
	int rc = entropy(ctx, priv, 32);
	if (rc != HVC_OK) {
		hvc_zero(priv, 32);
		hvc_zero(pub, 32);
		return rc;
	}
	clamp(priv);
	X25519_IMPL.mulgen(pub, priv, 32, BR_EC_curve25519);
	return HVC_OK;
}

int hvc_x25519_shared(const uint8_t priv[32], const uint8_t peer_pub[32], uint8_t out[32])
{
	/* BearSSL multiplies in place and clears the point's top bit: work on a copy, so
	 * peer_pub stays const and out may alias either input. */
	uint8_t u[32];
	memcpy(u, peer_pub, 32);
	X25519_IMPL.mul(u, 32, priv, 32, BR_EC_curve25519);

	/* Time independent of the secret: OR every byte, then only the one bit "all zero"
	 * decides; that bit is public anyway (the handshake fails on it). */
	unsigned acc = 0;
	for (int i = 0; i < 32; i++)
		acc |= u[i];
	unsigned zero = (acc - 1) >> 8 & 1;
	memcpy(out, u, 32);
	hvc_zero(u, sizeof(u));
	if (zero) {
		hvc_zero(out, 32);
		return HVC_E_DH_LOW_ORDER;
	}
	return HVC_OK;
}
