/* X25519 (RFC 7748) key agreement: an ephemeral share per handshake, so a PSK learned
 * later does not open recorded migrations (forward secrecy). */
#ifndef HVC_X25519_H
#define HVC_X25519_H
#include <stdint.h>
#include "entropy.h"

#define HVC_X25519_LEN 32

/* A fresh private scalar (clamped, RFC 7748 section 5) and its public u-coordinate. An
 * entropy failure is returned as the entropy function gave it, with priv and pub zeroed. */
int hvc_x25519_keypair(hvc_entropy_fn entropy, void *ctx, uint8_t priv[32], uint8_t pub[32]);

/* The shared secret of priv and the peer's share. HVC_E_DH_LOW_ORDER (out zeroed) when it
 * is all zero: the peer sent a low-order point, which would make the secret one an
 * attacker knows. out may alias priv or peer_pub. */
int hvc_x25519_shared(const uint8_t priv[32], const uint8_t peer_pub[32], uint8_t out[32]);
#endif
