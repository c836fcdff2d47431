/* SHA-256, HMAC-SHA256 and HKDF-SHA256 against published vectors (FIPS 180-4 examples,
 * RFC 4231, RFC 5869) and against OpenSSL on random inputs; entropy sources. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "cpu_features.h"
#include "entropy.h"
#include "hkdf_sha256.h"
#include "hmac_sha256.h"
#include "sha256.h"
#include "test_util.h"

static void test_sha256_vectors(void **state)
{
	(void)state;
	uint8_t out[32], exp[32];
	hvc_sha256("abc", 3, out);
	hex2bin("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", exp);
	assert_memory_equal(out, exp, 32);
	hvc_sha256("", 0, out);
	hex2bin("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", exp);
	assert_memory_equal(out, exp, 32);
	const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	hvc_sha256(m, strlen(m), out);
	hex2bin("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", exp);
	assert_memory_equal(out, exp, 32);
}

static void test_sha256_hmac_vs_openssl(void **state)
{
	(void)state;
	uint64_t s = 7;
	uint8_t data[3000], key[200], a[32], b[32];
	unsigned bl;
	for (int i = 0; i < 500; i++) {
		size_t n = rnd64(&s) % sizeof(data), kn = rnd64(&s) % sizeof(key);
		rnd_fill(&s, data, n);
		rnd_fill(&s, key, kn);
		/* incremental update in random pieces */
		struct hvc_sha256 h;
		hvc_sha256_init(&h);
		for (size_t off = 0; off < n;) {
			size_t c = rnd64(&s) % 130;
			if (c > n - off)
				c = n - off;
			hvc_sha256_update(&h, data + off, c);
			off += c;
		}
		hvc_sha256_final(&h, a);
		SHA256(data, n, b);
		assert_memory_equal(a, b, 32);
		hvc_hmac_sha256(key, kn, data, n, a);
		HMAC(EVP_sha256(), key, (int)kn, data, n, b, &bl);
		assert_memory_equal(a, b, 32);
	}
}

static void test_hmac_rfc4231(void **state)
{
	(void)state;
	uint8_t key[131], out[32], exp[32];
	memset(key, 0x0b, 20);
	hvc_hmac_sha256(key, 20, "Hi There", 8, out);
	hex2bin("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", exp);
	assert_memory_equal(out, exp, 32);
	hvc_hmac_sha256((const uint8_t *)"Jefe", 4, "what do ya want for nothing?", 28, out);
	hex2bin("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", exp);
	assert_memory_equal(out, exp, 32);
	memset(key, 0xaa, 131); /* key longer than the block */
	const char *m = "Test Using Larger Than Block-Size Key - Hash Key First";
	hvc_hmac_sha256(key, 131, m, strlen(m), out);
	hex2bin("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", exp);
	assert_memory_equal(out, exp, 32);
}

static void test_hkdf_rfc5869(void **state)
{
	(void)state;
	uint8_t ikm[80], salt[80], info[80], prk[32], okm[82], exp[82];
	/* Test case 1 */
	memset(ikm, 0x0b, 22);
	hex2bin("000102030405060708090a0b0c", salt);
	hex2bin("f0f1f2f3f4f5f6f7f8f9", info);
	hvc_hkdf_extract(salt, 13, ikm, 22, prk);
	hex2bin("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5", exp);
	assert_memory_equal(prk, exp, 32);
	assert_int_equal(hvc_hkdf_expand(prk, info, 10, okm, 42), 0);
	hex2bin("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865", exp);
	assert_memory_equal(okm, exp, 42);
	/* Test case 2: long inputs, 82-byte output */
	for (int i = 0; i < 80; i++) {
		ikm[i] = (uint8_t)i;
		salt[i] = (uint8_t)(0x60 + i);
		info[i] = (uint8_t)(0xb0 + i);
	}
	hvc_hkdf_extract(salt, 80, ikm, 80, prk);
	hex2bin("06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244", exp);
	assert_memory_equal(prk, exp, 32);
	hvc_hkdf_expand(prk, info, 80, okm, 82);
	hex2bin("b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275"
		"600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87",
		exp);
	assert_memory_equal(okm, exp, 82);
	/* Test case 3: no salt, no info */
	memset(ikm, 0x0b, 22);
	hvc_hkdf_extract(NULL, 0, ikm, 22, prk);
	hex2bin("19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04", exp);
	assert_memory_equal(prk, exp, 32);
	hvc_hkdf_expand(prk, NULL, 0, okm, 42);
	hex2bin("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8", exp);
	assert_memory_equal(okm, exp, 42);
	assert_int_equal(hvc_hkdf_expand(prk, NULL, 0, okm, 255 * 32 + 1), -1);
}

static void test_entropy_hosted(void **state)
{
	(void)state;
	uint8_t a[64], b[64];
	assert_int_equal(hvc_entropy_hosted(NULL, a, sizeof(a)), HVC_OK);
	assert_int_equal(hvc_entropy_hosted(NULL, b, sizeof(b)), HVC_OK);
	assert_memory_not_equal(a, b, sizeof(a));
}

static void test_entropy_x86(void **state)
{
	(void)state;
	struct hvc_cpu c;
	uint8_t a[37], b[37];
	hvc_cpu_detect(&c);
	printf("[ INFO     ] RDSEED %s, RDRAND %s\n", c.rdseed ? "present" : "absent", c.rdrand ? "present" : "absent");
	if (!c.rdseed && !c.rdrand) {
		assert_int_equal(hvc_entropy_x86(NULL, a, sizeof(a)), HVC_E_NO_ENTROPY);
		return;
	}
	assert_int_equal(hvc_entropy_x86(NULL, a, sizeof(a)), HVC_OK);
	assert_int_equal(hvc_entropy_x86(NULL, b, sizeof(b)), HVC_OK);
	assert_memory_not_equal(a, b, sizeof(a));
}

static void test_rng_health(void **state)
{
	(void)state;
	struct hvc_rng_health h = { 0 };
	assert_int_equal(hvc_rng_health_check(&h, 0x1234), HVC_OK);
	assert_int_equal(hvc_rng_health_check(&h, 0x5678), HVC_OK);
	assert_int_equal(hvc_rng_health_check(&h, 0x5678), HVC_E_ENTROPY_HEALTH); /* stuck */
	struct hvc_rng_health h2 = { 0 };
	assert_int_equal(hvc_rng_health_check(&h2, 0), HVC_E_ENTROPY_HEALTH);
	assert_int_equal(hvc_rng_health_check(&h2, ~0ULL), HVC_E_ENTROPY_HEALTH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_vectors), cmocka_unit_test(test_sha256_hmac_vs_openssl),
		cmocka_unit_test(test_hmac_rfc4231),   cmocka_unit_test(test_hkdf_rfc5869),
		cmocka_unit_test(test_entropy_hosted), cmocka_unit_test(test_entropy_x86),
		cmocka_unit_test(test_rng_health),
	};
	return cmocka_run_group_tests_name("crypto_kdf", tests, NULL, NULL);
}
