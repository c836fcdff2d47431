/* VAES (256-bit) AES-256 counter mode: 16 blocks in flight per loop, counters kept as
 * little-endian dwords and byte-swapped into place, so inc32 is one vector add. */
#include "aes_ctr_vaes.h"
#include "cpu_features.h"
#include <immintrin.h>

#define VAES_T __attribute__((target("avx,avx2,aes,vaes")))

int hvc_ctr_vaes_available(void)
{
	struct hvc_cpu c;
	hvc_cpu_detect(&c);
	return c.aesni && c.avx2 && c.vaes && c.os_ymm;
}

VAES_T static inline __m256i enc2(const __m256i *k, __m256i x)
{
	x = _mm256_xor_si256(x, k[0]);
	for (int r = 1; r < 14; r++)
		x = _mm256_aesenc_epi128(x, k[r]);
	return _mm256_aesenclast_epi128(x, k[14]);
}

/* VAESENC has a latency of about 4 cycles and a throughput of two per cycle on current
 * cores: 8 independent chains keep both units busy, 4 left half of them idle. in == NULL
 * writes the bare keystream (no zeroing pass, no loads of the plaintext). */
VAES_T static void ctr_core(const uint8_t rk[240], const uint8_t iv[12], uint32_t ctr, const uint8_t *in, uint8_t *out,
			    size_t len)
{
	__m256i k[15];
	uint8_t ivb[16] = { 0 };
	for (int r = 0; r < 15; r++)
		k[r] = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(rk + 16 * r)));
	for (int i = 0; i < 12; i++)
		ivb[i] = iv[i];
	const __m256i ivv = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)ivb));
	/* bytes 12..15 of each lane take the counter dword byte-swapped; the rest stay 0 */
	const __m256i sw =
		_mm256_set_epi8(12, 13, 14, 15, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128,
				12, 13, 14, 15, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128);
	__m256i c0 = _mm256_set_epi32((int)(ctr + 1), 0, 0, 0, (int)ctr, 0, 0, 0);
	const __m256i two = _mm256_set_epi32(2, 0, 0, 0, 2, 0, 0, 0);
	size_t i = 0;
	for (; i + 256 <= len; i += 256) {
		__m256i b[8];
#pragma GCC unroll 8
		for (int j = 0; j < 8; j++) {
			b[j] = _mm256_xor_si256(_mm256_or_si256(ivv, _mm256_shuffle_epi8(c0, sw)), k[0]);
			c0 = _mm256_add_epi32(c0, two);
		}
#pragma GCC unroll 13
		for (int r = 1; r < 14; r++)
#pragma GCC unroll 8
			for (int j = 0; j < 8; j++)
				b[j] = _mm256_aesenc_epi128(b[j], k[r]);
#pragma GCC unroll 8
		for (int j = 0; j < 8; j++) {
			b[j] = _mm256_aesenclast_epi128(b[j], k[14]);
			if (in)
				b[j] = _mm256_xor_si256(b[j], _mm256_loadu_si256((const __m256i *)(in + i + 32 * j)));
			_mm256_storeu_si256((__m256i *)(out + i + 32 * j), b[j]);
		}
	}
	/* tail: two blocks at a time, the last pair through a stack buffer */
	for (; i < len; i += 32) {
		__m256i b = enc2(k, _mm256_or_si256(ivv, _mm256_shuffle_epi8(c0, sw)));
		size_t n = len - i < 32 ? len - i : 32;
		if (n == 32) {
			if (in)
				b = _mm256_xor_si256(b, _mm256_loadu_si256((const __m256i *)(in + i)));
			_mm256_storeu_si256((__m256i *)(out + i), b);
		} else {
			uint8_t t[32];
			_mm256_storeu_si256((__m256i *)t, b);
			for (size_t j = 0; j < n; j++)
				out[i + j] = (in ? in[i + j] : 0) ^ t[j];
			for (size_t j = 0; j < 32; j++)
				((volatile uint8_t *)t)[j] = 0;
		}
		c0 = _mm256_add_epi32(c0, two);
	}
	_mm256_zeroupper();
}

void hvc_ctr_vaes(const uint8_t rk[240], const uint8_t iv[12], uint32_t ctr, const uint8_t *in, uint8_t *out,
		  size_t len)
{
	ctr_core(rk, iv, ctr, in, out, len);
}

void hvc_ctr_vaes_keystream(const uint8_t rk[240], const uint8_t iv[12], uint32_t ctr, uint8_t *out, size_t len)
{
	ctr_core(rk, iv, ctr, NULL, out, len);
}
