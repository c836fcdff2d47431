/* X25519 (crypto/x25519.c) against RFC 7748 (section 5.2 vectors and iterations, the
 * section 6.1 exchange), low-order peer shares, entropy failures, and OpenSSL on random
 * inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <openssl/evp.h>

#include "entropy.h"
#include "test_util.h"
#include "x25519.h"

static void hex32(const char *hex, uint8_t out[32])
{
	assert_int_equal(strlen(hex), 64);
	hex2bin(hex, out);
}

static void check_shared(const char *k_hex, const char *u_hex, const char *out_hex)
{
	uint8_t k[32], u[32], out[32], exp[32];
	hex32(k_hex, k);
	hex32(u_hex, u);
	hex32(out_hex, exp);
	assert_int_equal(hvc_x25519_shared(k, u, out), HVC_OK);
	assert_memory_equal(out, exp, 32);
}

/* Section 5.2: unclamped scalars (the function clamps), and in the second vector a
 * u-coordinate with its top bit set (ignored). */
static void test_rfc7748_vectors(void **state)
{
	(void)state;
	check_shared("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
		     "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
		     "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
	check_shared("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
		     "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
		     "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");
}

/* Section 5.2's loop: k = X25519(k, u), u = old k, from k = u = 9. The output is written
 * over k, which exercises out aliasing priv. */
static void test_rfc7748_iterations(void **state)
{
	(void)state;
	uint8_t k[32] = { 9 }, u[32] = { 9 }, old[32], exp[32];
	for (int i = 1; i <= 1000; i++) {
		memcpy(old, k, 32);
		assert_int_equal(hvc_x25519_shared(k, u, k), HVC_OK);
		memcpy(u, old, 32);
		if (i == 1) {
			hex32("422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079", exp);
			assert_memory_equal(k, exp, 32);
		}
	}
	hex32("684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51", exp);
	assert_memory_equal(k, exp, 32);
}

/* An "entropy source" that hands out a fixed private key, to run keypair on the RFC's. */
static int fixed_entropy(void *ctx, void *buf, size_t len)
{
	memcpy(buf, ctx, len);
	return HVC_OK;
}

static void test_rfc7748_alice_bob(void **state)
{
	(void)state;
	uint8_t a_in[32], b_in[32], a_priv[32], b_priv[32], a_pub[32], b_pub[32], exp[32], s1[32], s2[32];
	hex32("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", a_in);
	hex32("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb", b_in);
	assert_int_equal(hvc_x25519_keypair(fixed_entropy, a_in, a_priv, a_pub), HVC_OK);
	assert_int_equal(hvc_x25519_keypair(fixed_entropy, b_in, b_priv, b_pub), HVC_OK);
	hex32("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", exp);
	assert_memory_equal(a_pub, exp, 32);
	hex32("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", exp);
	assert_memory_equal(b_pub, exp, 32);

	/* keypair stores the clamped scalar (section 5) */
	a_in[0] &= 248;
	a_in[31] = (a_in[31] & 127) | 64;
	assert_memory_equal(a_priv, a_in, 32);
	b_in[0] &= 248;
	b_in[31] = (b_in[31] & 127) | 64;
	assert_memory_equal(b_priv, b_in, 32);

	hex32("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742", exp);
	assert_int_equal(hvc_x25519_shared(a_priv, b_pub, s1), HVC_OK);
	assert_memory_equal(s1, exp, 32);
	assert_int_equal(hvc_x25519_shared(b_priv, a_pub, s2), HVC_OK);
	assert_memory_equal(s2, exp, 32);

	/* out aliasing peer_pub; peer_pub is otherwise left as it was */
	uint8_t pub_copy[32];
	memcpy(pub_copy, a_pub, 32);
	assert_int_equal(hvc_x25519_shared(b_priv, a_pub, s2), HVC_OK);
	assert_memory_equal(a_pub, pub_copy, 32);
	assert_int_equal(hvc_x25519_shared(b_priv, a_pub, a_pub), HVC_OK);
	assert_memory_equal(a_pub, exp, 32);
}

/* Peer shares of small order (on the curve or its twist): a clamped scalar, a multiple of
 * 8, takes them to the identity, the all-zero output RFC 7748 section 6.1 says to check
 * for. The encodings usually listed (libsodium's): 0, 1, the two points of order 8, p - 1,
 * and p, p + 1 (non-canonical 0 and 1); each is tried again with the ignored top bit set. */
static const char *const low_order[] = {
	"0000000000000000000000000000000000000000000000000000000000000000", /* 0 */
	"0100000000000000000000000000000000000000000000000000000000000000", /* 1 */
	"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", /* order 8 */
	"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157", /* order 8 */
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* p - 1 */
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* p */
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* p + 1 */
};

static void test_low_order_refused(void **state)
{
	(void)state;
	uint64_t s = 25519;
	uint8_t priv[4][32], pub[32], u[32], out[32];
	hex32("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", priv[0]);
	memset(priv[1], 0xff, 32);
	for (int i = 2; i < 4; i++) {
		uint8_t seed[32];
		rnd_fill(&s, seed, sizeof(seed));
		assert_int_equal(hvc_x25519_keypair(fixed_entropy, seed, priv[i], pub), HVC_OK);
	}
	for (size_t i = 0; i < sizeof(low_order) / sizeof(low_order[0]); i++) {
		for (int top = 0; top < 2; top++) {
			hex32(low_order[i], u);
			u[31] |= (uint8_t)(top << 7);
			for (int k = 0; k < 4; k++) {
				memset(out, 0xa5, sizeof(out));
				int rc = hvc_x25519_shared(priv[k], u, out);
				if (rc != HVC_E_DH_LOW_ORDER)
					fail_msg("u = %s (top bit %d), key %d: %s instead of HVC_E_DH_LOW_ORDER",
						 low_order[i], top, k, hvc_strerror(rc));
				for (int j = 0; j < 32; j++)
					assert_int_equal(out[j], 0);
			}
		}
	}
}

struct failing_entropy {
	int rc;
	int calls;
};

/* Writes garbage before failing: the caller must not keep any of it. */
static int failing_entropy(void *ctx, void *buf, size_t len)
{
	struct failing_entropy *f = ctx;
	f->calls++;
	memset(buf, 0x5c, len);
	return f->rc;
}

static void test_entropy_failure(void **state)
{
	(void)state;
	static const int codes[] = { HVC_E_NO_ENTROPY, HVC_E_ENTROPY_HEALTH, HVC_E_TRANSPORT };
	uint8_t priv[32], pub[32], zero[32] = { 0 };
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		struct failing_entropy f = { .rc = codes[i] };
		memset(pub, 0xa5, sizeof(pub));
		assert_int_equal(hvc_x25519_keypair(failing_entropy, &f, priv, pub), codes[i]);
		assert_int_equal(f.calls, 1);
		assert_memory_equal(priv, zero, 32);
		assert_memory_equal(pub, zero, 32);
	}
}

/* getrandom keys both ways round, and random scalars and u-coordinates (top bit
 * included) against OpenSSL's X25519. */
static void test_random_vs_openssl(void **state)
{
	(void)state;
	uint64_t s = 0x7748;
	for (int i = 0; i < 200; i++) {
		uint8_t a[32], a_pub[32], b[32], b_pub[32], s1[32], s2[32], ref[32];
		assert_int_equal(hvc_x25519_keypair(hvc_entropy_hosted, NULL, a, a_pub), HVC_OK);
		assert_int_equal(a[0] & 7, 0);
		assert_int_equal(a[31] & 0xc0, 0x40);
		assert_int_equal(hvc_x25519_keypair(hvc_entropy_hosted, NULL, b, b_pub), HVC_OK);
		assert_int_equal(hvc_x25519_shared(a, b_pub, s1), HVC_OK);
		assert_int_equal(hvc_x25519_shared(b, a_pub, s2), HVC_OK);
		assert_memory_equal(s1, s2, 32);

		rnd_fill(&s, a, 32);
		rnd_fill(&s, b_pub, 32);
		assert_int_equal(hvc_x25519_shared(a, b_pub, s1), HVC_OK);
		EVP_PKEY *priv = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, a, 32);
		EVP_PKEY *peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, b_pub, 32);
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(priv, NULL);
		size_t n = sizeof(ref);
		assert_non_null(priv);
		assert_non_null(peer);
		assert_non_null(ctx);
		assert_int_equal(EVP_PKEY_derive_init(ctx), 1);
		assert_int_equal(EVP_PKEY_derive_set_peer(ctx, peer), 1);
		assert_int_equal(EVP_PKEY_derive(ctx, ref, &n), 1);
		assert_int_equal(n, 32);
		assert_memory_equal(s1, ref, 32);
		EVP_PKEY_CTX_free(ctx);
		EVP_PKEY_free(peer);
		EVP_PKEY_free(priv);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc7748_vectors),	  cmocka_unit_test(test_rfc7748_iterations),
		cmocka_unit_test(test_rfc7748_alice_bob), cmocka_unit_test(test_low_order_refused),
		cmocka_unit_test(test_entropy_failure),	  cmocka_unit_test(test_random_vs_openssl),
	};
	return cmocka_run_group_tests_name("crypto_x25519", tests, NULL, NULL);
}
