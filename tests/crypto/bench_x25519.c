/* make bench-crypto (second part): cost of the handshake's public-key and hash steps.
 * X25519 through our wrapper and through each constant-time Curve25519 implementation of
 * BearSSL 0.6 (to keep the choice in crypto/x25519.c honest), and our SHA-256 / HMAC
 * against BearSSL's on handshake-sized inputs. Prints numbers only; nothing here is a test. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bearssl.h>

#include "entropy.h"
#include "hmac_sha256.h"
#include "hvc_err.h"
#include "sha256.h"
#include "x25519.h"

#define MIN_TIME 0.2
#define ROUNDS	 3

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

/* Best of ROUNDS runs of at least MIN_TIME each, in microseconds per call: the best, as
 * the machine is shared and anything slower is interference. */
typedef void (*op_fn)(void *ctx);
static double us_per_op(op_fn fn, void *ctx)
{
	double best = 1e30;
	for (int r = 0; r < ROUNDS; r++) {
		unsigned long n = 0;
		double t0 = now(), t;
		do {
			for (int i = 0; i < 16; i++)
				fn(ctx);
			n += 16;
			t = now() - t0;
		} while (t < MIN_TIME);
		if (t / n < best)
			best = t / n;
	}
	return best * 1e6;
}

struct xctx {
	const br_ec_impl *impl; /* NULL: our wrapper */
	uint8_t priv[32], pub[32], peer[32], out[32];
};

static void die_rc(const char *what, int rc)
{
	fprintf(stderr, "%s: %s\n", what, hvc_strerror(rc));
	exit(1);
}

static void op_keypair(void *p)
{
	struct xctx *c = p;
	if (!c->impl) {
		int rc = hvc_x25519_keypair(hvc_entropy_hosted, NULL, c->priv, c->pub);
		if (rc != HVC_OK)
			die_rc("keypair", rc);
		return;
	}
	int rc = hvc_entropy_hosted(NULL, c->priv, 32);
	if (rc != HVC_OK)
		die_rc("entropy", rc);
	c->priv[0] &= 248;
	c->priv[31] = (c->priv[31] & 127) | 64;
	c->impl->mulgen(c->pub, c->priv, 32, BR_EC_curve25519);
}

static void op_shared(void *p)
{
	struct xctx *c = p;
	if (!c->impl) {
		int rc = hvc_x25519_shared(c->priv, c->peer, c->out);
		if (rc != HVC_OK)
			die_rc("shared", rc);
		return;
	}
	memcpy(c->out, c->peer, 32);
	c->impl->mul(c->out, 32, c->priv, 32, BR_EC_curve25519);
}

struct hctx {
	size_t len;
	uint8_t key[32], data[1024], out[32];
};

static void op_sha_ours(void *p)
{
	struct hctx *c = p;
	hvc_sha256(c->data, c->len, c->out);
}

static void op_sha_br(void *p)
{
	struct hctx *c = p;
	br_sha256_context s;
	br_sha256_init(&s);
	br_sha256_update(&s, c->data, c->len);
	br_sha256_out(&s, c->out);
}

static void op_hmac_ours(void *p)
{
	struct hctx *c = p;
	hvc_hmac_sha256(c->key, sizeof(c->key), c->data, c->len, c->out);
}

/* Key set-up included, as in ours: each handshake MAC has its own key. */
static void op_hmac_br(void *p)
{
	struct hctx *c = p;
	br_hmac_key_context k;
	br_hmac_context h;
	br_hmac_key_init(&k, &br_sha256_vtable, c->key, sizeof(c->key));
	br_hmac_init(&h, &k, 0);
	br_hmac_update(&h, c->data, c->len);
	br_hmac_out(&h, c->out);
}

int main(void)
{
	static const struct {
		const char *name;
		const br_ec_impl *impl;
	} impls[] = {
		{ "wrapper (hvc_x25519_*)", NULL },	     { "bearssl c25519_m31", &br_ec_c25519_m31 },
		{ "bearssl c25519_m15", &br_ec_c25519_m15 }, { "bearssl c25519_i31", &br_ec_c25519_i31 },
		{ "bearssl c25519_i15", &br_ec_c25519_i15 },
	};
	printf("bench-x25519: one core, microseconds per call, best of %d runs of >= %.1f s\n", ROUNDS, MIN_TIME);
	printf("(keypair = %d bytes from getrandom + one scalar multiplication of the base point)\n", 32);
	uint8_t ref[32];
	for (size_t i = 0; i < sizeof(impls) / sizeof(impls[0]); i++) {
		struct xctx c = { .impl = impls[i].impl };
		op_keypair(&c);
		memcpy(c.peer, c.pub, 32);
		op_keypair(&c);
		double kp = us_per_op(op_keypair, &c);
		/* same private key and peer for every implementation: their outputs must agree */
		memset(c.priv, 0x5a, 32);
		c.priv[0] &= 248;
		c.priv[31] = (c.priv[31] & 127) | 64;
		memset(c.peer, 0x33, 32);
		op_shared(&c);
		if (i == 0)
			memcpy(ref, c.out, 32);
		else if (memcmp(ref, c.out, 32) != 0) {
			fprintf(stderr, "%s disagrees with the wrapper\n", impls[i].name);
			return 1;
		}
		double sh = us_per_op(op_shared, &c);
		printf("x25519 %-24s keypair_us=%.1f shared_us=%.1f\n", impls[i].name, kp, sh);
	}

	printf("\nSHA-256 / HMAC-SHA256 (32-byte key), ours (crypto/sha256.c, hmac_sha256.c) vs BearSSL "
	       "(sha2small.c, hmac.c)\n");
	static const size_t lens[] = { 64, 128, 256, 512, 1024 };
	struct hctx h;
	for (size_t i = 0; i < sizeof(h.data); i++)
		h.data[i] = (uint8_t)(i * 7 + 1);
	memset(h.key, 0x0b, sizeof(h.key));
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		h.len = lens[i];
		uint8_t a[32];
		op_sha_ours(&h);
		memcpy(a, h.out, 32);
		op_sha_br(&h);
		int same = !memcmp(a, h.out, 32);
		op_hmac_ours(&h);
		memcpy(a, h.out, 32);
		op_hmac_br(&h);
		if (!same || memcmp(a, h.out, 32) != 0) {
			fprintf(stderr, "len %zu: ours and BearSSL's digests differ\n", h.len);
			return 1;
		}
		double so = us_per_op(op_sha_ours, &h), sb = us_per_op(op_sha_br, &h);
		double ho = us_per_op(op_hmac_ours, &h), hb = us_per_op(op_hmac_br, &h);
		printf("len=%-5zu sha256 ours_us=%.3f bearssl_us=%.3f   hmac ours_us=%.3f bearssl_us=%.3f\n", h.len, so,
		       sb, ho, hb);
	}
	return 0;
}
