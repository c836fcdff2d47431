/* VAES (256-bit) AES-256 counter mode: 8 blocks in flight per loop, counters kept as
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

VAES_T static inline __m256i enc8(const __m256i *k, __m256i x)
{
	x = _mm256_xor_si256(x, k[0]);
	for (int r = 1; r < 14; r++)
		x = _mm256_aesenc_epi128(x, k[r]);
	return _mm256_aesenclast_epi128(x, k[14]);
}

VAES_T void hvc_ctr_vaes(const uint8_t rk[240], const uint8_t iv[12], uint32_t ctr, const uint8_t *in,
			 uint8_t *out, size_t len)
{
	__m256i k[15];
	uint8_t ivb[16] = {0};
	for (int r = 0; r < 15; r++)
		k[r] = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(rk + 16 * r)));
	for (int i = 0; i < 12; i++)
		ivb[i] = iv[i];
	const __m256i ivv = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)ivb));
	/* bytes 12..15 of each lane take the counter dword byte-swapped; the rest stay 0 */
	const __m256i sw = _mm256_set_epi8(12, 13, 14, 15, -128, -128, -128, -128, -128, -128, -128,
					   -128, -128, -128, -128, -128, 12, 13, 14, 15, -128, -128,
					   -128, -128, -128, -128, -128, -128, -128, -128, -128, -128);
	__m256i c0 = _mm256_set_epi32((int)(ctr + 1), 0, 0, 0, (int)ctr, 0, 0, 0);
	const __m256i two = _mm256_set_epi32(2, 0, 0, 0, 2, 0, 0, 0);
	const __m256i eight = _mm256_set_epi32(8, 0, 0, 0, 8, 0, 0, 0);
	size_t i = 0;
	for (; i + 128 <= len; i += 128) {
		__m256i c1 = _mm256_add_epi32(c0, two), c2 = _mm256_add_epi32(c1, two),
			c3 = _mm256_add_epi32(c2, two);
		__m256i b0 = _mm256_or_si256(ivv, _mm256_shuffle_epi8(c0, sw));
		__m256i b1 = _mm256_or_si256(ivv, _mm256_shuffle_epi8(c1, sw));
		__m256i b2 = _mm256_or_si256(ivv, _mm256_shuffle_epi8(c2, sw));
		__m256i b3 = _mm256_or_si256(ivv, _mm256_shuffle_epi8(c3, sw));
		b0 = _mm256_xor_si256(b0, k[0]);
		b1 = _mm256_xor_si256(b1, k[0]);
		b2 = _mm256_xor_si256(b2, k[0]);
		b3 = _mm256_xor_si256(b3, k[0]);
		for (int r = 1; r < 14; r++) { /* four independent chains hide AES latency */
			b0 = _mm256_aesenc_epi128(b0, k[r]);
			b1 = _mm256_aesenc_epi128(b1, k[r]);
			b2 = _mm256_aesenc_epi128(b2, k[r]);
			b3 = _mm256_aesenc_epi128(b3, k[r]);
		}
		b0 = _mm256_aesenclast_epi128(b0, k[14]);
		b1 = _mm256_aesenclast_epi128(b1, k[14]);
		b2 = _mm256_aesenclast_epi128(b2, k[14]);
		b3 = _mm256_aesenclast_epi128(b3, k[14]);
		_mm256_storeu_si256((__m256i *)(out + i), _mm256_xor_si256(b0, _mm256_loadu_si256((const __m256i *)(in + i))));
		_mm256_storeu_si256((__m256i *)(out + i + 32), _mm256_xor_si256(b1, _mm256_loadu_si256((const __m256i *)(in + i + 32))));
		_mm256_storeu_si256((__m256i *)(out + i + 64), _mm256_xor_si256(b2, _mm256_loadu_si256((const __m256i *)(in + i + 64))));
		_mm256_storeu_si256((__m256i *)(out + i + 96), _mm256_xor_si256(b3, _mm256_loadu_si256((const __m256i *)(in + i + 96))));
		c0 = _mm256_add_epi32(c0, eight);
	}
	/* tail: two blocks at a time, the last pair through a stack buffer */
	for (; i < len; i += 32) {
		__m256i b = enc8(k, _mm256_or_si256(ivv, _mm256_shuffle_epi8(c0, sw)));
		size_t n = len - i < 32 ? len - i : 32;
		if (n == 32) {
			_mm256_storeu_si256((__m256i *)(out + i),
					    _mm256_xor_si256(b, _mm256_loadu_si256((const __m256i *)(in + i))));
		} else {
			uint8_t t[32];
			_mm256_storeu_si256((__m256i *)t, b);
			for (size_t j = 0; j < n; j++)
				out[i + j] = in[i + j] ^ t[j];
		}
		c0 = _mm256_add_epi32(c0, two);
	}
	_mm256_zeroupper();
}
