/* Carry-less-multiply GHASH in the byte-reversed domain (Gueron & Kounavis, Intel white
 * paper "Carry-Less Multiplication and Its Usage for Computing the GCM Mode"): blocks are
 * byte-swapped, multiplied unreduced, summed over 16 blocks with H^16..H^1, then shifted
 * left by one bit and reduced modulo x^128 + x^7 + x^2 + x + 1 once per 16 blocks. */
#include "ghash_clmul.h"
#include "cpu_features.h"
#include "mem_secure.h"
#include <immintrin.h>

#define XMM_T __attribute__((target("pclmul,ssse3,sse4.1")))
#define YMM_T __attribute__((target("pclmul,ssse3,sse4.1,avx,avx2,vpclmulqdq")))
#define ZMM_T __attribute__((target("pclmul,ssse3,sse4.1,avx,avx2,avx512f,avx512bw,avx512vl,avx512dq,vpclmulqdq")))

enum hvc_clmul_kind hvc_clmul_best(void)
{
	struct hvc_cpu c;
	hvc_cpu_detect(&c);
	if (!c.pclmul || !c.sse41)
		return HVC_CLMUL_NONE;
	if (c.avx2 && c.vpclmul && c.os_ymm && c.os_zmm && c.avx512f && c.avx512bw && c.avx512vl && c.avx512dq)
		return HVC_CLMUL_ZMM;
	if (c.avx2 && c.vpclmul && c.os_ymm)
		return HVC_CLMUL_YMM;
	return HVC_CLMUL_XMM;
}

XMM_T static inline __m128i bswap128(__m128i x)
{
	const __m128i m = _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
	return _mm_shuffle_epi8(x, m);
}

XMM_T static inline void mul_acc(__m128i a, __m128i b, __m128i *lo, __m128i *mid, __m128i *hi)
{
	*lo = _mm_xor_si128(*lo, _mm_clmulepi64_si128(a, b, 0x00));
	*hi = _mm_xor_si128(*hi, _mm_clmulepi64_si128(a, b, 0x11));
	*mid = _mm_xor_si128(*mid, _mm_xor_si128(_mm_clmulepi64_si128(a, b, 0x01), _mm_clmulepi64_si128(a, b, 0x10)));
}

/* 256-bit product (lo, mid, hi) -> reduced 128-bit value, byte-reversed domain. */
XMM_T static inline __m128i reduce(__m128i lo, __m128i mid, __m128i hi)
{
	__m128i t3 = _mm_xor_si128(lo, _mm_slli_si128(mid, 8));
	__m128i t6 = _mm_xor_si128(hi, _mm_srli_si128(mid, 8));
	/* shift the 256-bit <t6:t3> left by one: the operands were bit-reflected */
	__m128i t7 = _mm_srli_epi32(t3, 31), t8 = _mm_srli_epi32(t6, 31);
	t3 = _mm_slli_epi32(t3, 1);
	t6 = _mm_slli_epi32(t6, 1);
	__m128i t9 = _mm_srli_si128(t7, 12);
	t8 = _mm_slli_si128(t8, 4);
	t7 = _mm_slli_si128(t7, 4);
	t3 = _mm_or_si128(t3, t7);
	t6 = _mm_or_si128(t6, t8);
	t6 = _mm_or_si128(t6, t9);
	/* reduction, first phase */
	t7 = _mm_slli_epi32(t3, 31);
	t8 = _mm_slli_epi32(t3, 30);
	t9 = _mm_slli_epi32(t3, 25);
	t7 = _mm_xor_si128(_mm_xor_si128(t7, t8), t9);
	t8 = _mm_srli_si128(t7, 4);
	t7 = _mm_slli_si128(t7, 12);
	t3 = _mm_xor_si128(t3, t7);
	/* second phase */
	__m128i t2 = _mm_srli_epi32(t3, 1), t4 = _mm_srli_epi32(t3, 2), t5 = _mm_srli_epi32(t3, 7);
	t2 = _mm_xor_si128(_mm_xor_si128(t2, t4), _mm_xor_si128(t5, t8));
	t3 = _mm_xor_si128(t3, t2);
	return _mm_xor_si128(t6, t3);
}

XMM_T static __m128i gfmul(__m128i a, __m128i b)
{
	__m128i lo = _mm_setzero_si128(), mid = lo, hi = lo;
	mul_acc(a, b, &lo, &mid, &hi);
	return reduce(lo, mid, hi);
}

XMM_T static void key_init_xmm(struct hvc_ghash_key *g, const uint8_t h[16])
{
	__m128i H = bswap128(_mm_loadu_si128((const __m128i *)h)), p = H;
	_mm_storeu_si128((__m128i *)g->hpow[31], H);
	for (int i = 30; i >= 0; i--) {
		p = gfmul(p, H);
		_mm_storeu_si128((__m128i *)g->hpow[i], p);
	}
	for (int i = 0; i < 32; i++) {
		__m128i x = _mm_loadu_si128((const __m128i *)g->hpow[i]);
		_mm_storeu_si128((__m128i *)g->hkar[i], _mm_xor_si128(x, _mm_shuffle_epi32(x, 0x4e)));
	}
}

void hvc_ghash_key_init(struct hvc_ghash_key *g, const uint8_t h[16], enum hvc_clmul_kind kind)
{
	hvc_zero(g, sizeof(*g));
	if (kind == HVC_CLMUL_NONE)
		return;
	key_init_xmm(g, h);
	g->kind = kind;
}

/* Hash what is left (< 16 blocks, the last one maybe partial); one reduction. */
XMM_T static __m128i tail_xmm(const struct hvc_ghash_key *g, __m128i y, const uint8_t *p, size_t len)
{
	while (len) {
		size_t nb = (len + 15) / 16, n = nb > 16 ? 16 : nb;
		__m128i lo = _mm_setzero_si128(), mid = lo, hi = lo;
		for (size_t j = 0; j < n; j++) {
			__m128i x;
			size_t take = len < 16 ? len : 16;
			if (take == 16) {
				x = _mm_loadu_si128((const __m128i *)p);
			} else {
				uint8_t b[16] = { 0 };
				for (size_t k = 0; k < take; k++)
					b[k] = p[k];
				x = _mm_loadu_si128((const __m128i *)b);
			}
			x = bswap128(x);
			if (j == 0)
				x = _mm_xor_si128(x, y);
			mul_acc(x, _mm_load_si128((const __m128i *)g->hpow[32 - n + j]), &lo, &mid, &hi);
			p += take;
			len -= take;
		}
		y = reduce(lo, mid, hi);
	}
	return y;
}

/* The last partial group of blocks, with the XOR when there is keystream: decrypting
 * hashes before it writes (in may equal out), encrypting hashes what it wrote. */
XMM_T static __m128i tail_xor_xmm(const struct hvc_ghash_key *g, __m128i y, const uint8_t *ks, const uint8_t *in,
				  uint8_t *out, size_t n, int dec)
{
	if (ks && dec)
		y = tail_xmm(g, y, in, n);
	if (ks)
		for (size_t k = 0; k < n; k++)
			out[k] = in[k] ^ ks[k];
	if (!ks || !dec)
		y = tail_xmm(g, y, ks ? out : in, n);
	return y;
}

XMM_T static inline __attribute__((always_inline)) void ghash_xmm(const struct hvc_ghash_key *g, uint8_t state[16],
								  const uint8_t *ks, const uint8_t *in, uint8_t *out,
								  size_t len, int dec)
{
	__m128i y = bswap128(_mm_loadu_si128((const __m128i *)state)), h[16];
	size_t i = 0;
	for (int j = 0; j < 16; j++)
		h[j] = _mm_load_si128((const __m128i *)g->hpow[16 + j]);
	for (; i + 256 <= len; i += 256) {
		__m128i lo = _mm_setzero_si128(), mid = lo, hi = lo;
		for (int j = 0; j < 16; j++) {
			__m128i x = _mm_loadu_si128((const __m128i *)(in + i + 16 * j));
			if (ks) {
				__m128i o = _mm_xor_si128(x, _mm_loadu_si128((const __m128i *)(ks + i + 16 * j)));
				_mm_storeu_si128((__m128i *)(out + i + 16 * j), o);
				if (!dec)
					x = o;
			}
			x = bswap128(x);
			if (j == 0)
				x = _mm_xor_si128(x, y);
			mul_acc(x, h[j], &lo, &mid, &hi);
		}
		y = reduce(lo, mid, hi);
	}
	if (i < len)
		y = tail_xor_xmm(g, y, ks ? ks + i : NULL, in + i, ks ? out + i : NULL, len - i, dec);
	_mm_storeu_si128((__m128i *)state, bswap128(y));
}

/* Two blocks per 256-bit register, 16 blocks (256 bytes) per reduction, H powers paired
 * [H^k, H^(k-1)]; the reduction is the serial part, so fewer of them is faster. */
YMM_T static inline __attribute__((always_inline)) void ghash_ymm(const struct hvc_ghash_key *g, uint8_t state[16],
								  const uint8_t *ks, const uint8_t *in, uint8_t *out,
								  size_t len, int dec)
{
	const __m256i bs = _mm256_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7,
					   8, 9, 10, 11, 12, 13, 14, 15);
	__m128i y = bswap128(_mm_loadu_si128((const __m128i *)state));
	__m256i h[8], hk[8];
	size_t i = 0;
	for (int j = 0; j < 8; j++) {
		h[j] = _mm256_loadu_si256((const __m256i *)g->hpow[16 + 2 * j]);
		hk[j] = _mm256_loadu_si256((const __m256i *)g->hkar[16 + 2 * j]);
	}
	for (; i + 256 <= len; i += 256) {
		__m256i lo = _mm256_setzero_si256(), mid = lo, hi = lo;
		for (int j = 0; j < 8; j++) {
			__m256i x = _mm256_loadu_si256((const __m256i *)(in + i + 32 * j));
			if (ks) {
				__m256i o = _mm256_xor_si256(x, _mm256_loadu_si256((const __m256i *)(ks + i + 32 * j)));
				_mm256_storeu_si256((__m256i *)(out + i + 32 * j), o);
				if (!dec) /* encrypting hashes what it writes, decrypting what it reads */
					x = o;
			}
			x = _mm256_shuffle_epi8(x, bs);
			if (j == 0)
				x = _mm256_xor_si256(x, _mm256_zextsi128_si256(y));
			/* Karatsuba: (xh^xl)(hh^hl) ^ lo ^ hi is the middle term; 3 multiplies */
			__m256i xk = _mm256_xor_si256(x, _mm256_shuffle_epi32(x, 0x4e));
			lo = _mm256_xor_si256(lo, _mm256_clmulepi64_epi128(x, h[j], 0x00));
			hi = _mm256_xor_si256(hi, _mm256_clmulepi64_epi128(x, h[j], 0x11));
			mid = _mm256_xor_si256(mid, _mm256_clmulepi64_epi128(xk, hk[j], 0x00));
		}
		__m128i l = _mm_xor_si128(_mm256_castsi256_si128(lo), _mm256_extracti128_si256(lo, 1));
		__m128i hh = _mm_xor_si128(_mm256_castsi256_si128(hi), _mm256_extracti128_si256(hi, 1));
		__m128i m = _mm_xor_si128(_mm256_castsi256_si128(mid), _mm256_extracti128_si256(mid, 1));
		y = reduce(l, _mm_xor_si128(m, _mm_xor_si128(l, hh)), hh);
	}
	if (i < len)
		y = tail_xor_xmm(g, y, ks ? ks + i : NULL, in + i, ks ? out + i : NULL, len - i, dec);
	_mm_storeu_si128((__m128i *)state, bswap128(y));
	_mm256_zeroupper();
}

/* Four blocks per 512-bit register and 32 blocks (512 bytes) per reduction: the
 * reduction and the fold of the four lanes are the serial part (the running hash enters
 * the next group through them), so at 16 blocks per reduction the 512-bit loop was
 * latency-bound at about the speed of the 256-bit one. */
ZMM_T static inline __attribute__((always_inline)) void ghash_zmm(const struct hvc_ghash_key *g, uint8_t state[16],
								  const uint8_t *ks, const uint8_t *in, uint8_t *out,
								  size_t len, int dec)
{
	const __m512i bs = _mm512_broadcast_i32x4(_mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
	__m128i y = bswap128(_mm_loadu_si128((const __m128i *)state));
	__m512i h[8], hk[8];
	size_t i = 0;
	for (int j = 0; j < 8; j++) {
		h[j] = _mm512_loadu_si512((const void *)g->hpow[4 * j]);
		hk[j] = _mm512_loadu_si512((const void *)g->hkar[4 * j]);
	}
	const __m128i h0 = _mm_loadu_si128((const __m128i *)g->hpow[0]);
	for (; i + 512 <= len; i += 512) {
		__m512i lo = _mm512_setzero_si512(), mid = lo, hi = lo;
		for (int j = 0; j < 8; j++) {
			__m512i x = _mm512_loadu_si512((const void *)(in + i + 64 * j));
			if (ks) {
				__m512i o = _mm512_xor_si512(x, _mm512_loadu_si512((const void *)(ks + i + 64 * j)));
				_mm512_storeu_si512((void *)(out + i + 64 * j), o);
				if (!dec)
					x = o;
			}
			x = _mm512_shuffle_epi8(x, bs);
			/* Karatsuba, 3 multiplies: the multiplier issues one every other cycle
			 * here, whatever the width, and bounds this loop */
			__m512i xk = _mm512_xor_si512(x, _mm512_shuffle_epi32(x, _MM_PERM_BADC));
			lo = _mm512_xor_si512(lo, _mm512_clmulepi64_epi128(x, h[j], 0x00));
			hi = _mm512_xor_si512(hi, _mm512_clmulepi64_epi128(x, h[j], 0x11));
			mid = _mm512_xor_si512(mid, _mm512_clmulepi64_epi128(xk, hk[j], 0x00));
		}
		__m256i l2 = _mm256_xor_si256(_mm512_castsi512_si256(lo), _mm512_extracti64x4_epi64(lo, 1));
		__m256i h2 = _mm256_xor_si256(_mm512_castsi512_si256(hi), _mm512_extracti64x4_epi64(hi, 1));
		__m256i m2 = _mm256_xor_si256(_mm512_castsi512_si256(mid), _mm512_extracti64x4_epi64(mid, 1));
		__m128i l = _mm_xor_si128(_mm256_castsi256_si128(l2), _mm256_extracti128_si256(l2, 1));
		__m128i hh = _mm_xor_si128(_mm256_castsi256_si128(h2), _mm256_extracti128_si256(h2, 1));
		__m128i m = _mm_xor_si128(_mm256_castsi256_si128(m2), _mm256_extracti128_si256(m2, 1));
		const __m128i lk = l, hk2 = hh;
		/* (y ^ x0) H^32 = y H^32 ^ x0 H^32: the running hash joins only here, after the
		 * group's own products are summed and folded, so its path to the next group is
		 * one multiply and the reduction. */
		l = _mm_xor_si128(l, _mm_clmulepi64_si128(y, h0, 0x00));
		hh = _mm_xor_si128(hh, _mm_clmulepi64_si128(y, h0, 0x11));
		m = _mm_ternarylogic_epi64(m, _mm_clmulepi64_si128(y, h0, 0x01), _mm_clmulepi64_si128(y, h0, 0x10),
					   0x96);
		/* the lanes' Karatsuba middle terms still need lo ^ hi; y's is schoolbook */
		m = _mm_ternarylogic_epi64(m, lk, hk2, 0x96);
		y = reduce(l, m, hh);
	}
	if (i < len)
		y = tail_xor_xmm(g, y, ks ? ks + i : NULL, in + i, ks ? out + i : NULL, len - i, dec);
	_mm_storeu_si128((__m128i *)state, bswap128(y));
	_mm256_zeroupper();
}

/* One copy of the loops per use (hash only, encrypt, decrypt), each with its constants
 * folded in: a run-time direction test inside the loop cost the encrypt path ~10 %. */
#define GHASH_USES(w, T, loop)                                                                                         \
	T static void w##_hash(const struct hvc_ghash_key *g, uint8_t st[16], const uint8_t *in, size_t n)             \
	{                                                                                                              \
		loop(g, st, NULL, in, NULL, n, 0);                                                                     \
	}                                                                                                              \
	T static void w##_enc(const struct hvc_ghash_key *g, uint8_t st[16], const uint8_t *ks, const uint8_t *in,     \
			      uint8_t *out, size_t n)                                                                  \
	{                                                                                                              \
		loop(g, st, ks, in, out, n, 0);                                                                        \
	}                                                                                                              \
	T static void w##_dec(const struct hvc_ghash_key *g, uint8_t st[16], const uint8_t *ks, const uint8_t *in,     \
			      uint8_t *out, size_t n)                                                                  \
	{                                                                                                              \
		loop(g, st, ks, in, out, n, 1);                                                                        \
	}
GHASH_USES(zmm, ZMM_T, ghash_zmm)
GHASH_USES(ymm, YMM_T, ghash_ymm)
GHASH_USES(xmm, XMM_T, ghash_xmm)

void hvc_ghash_clmul(const struct hvc_ghash_key *g, uint8_t state[16], const uint8_t *in, size_t len)
{
	if (g->kind == HVC_CLMUL_ZMM)
		zmm_hash(g, state, in, len);
	else if (g->kind == HVC_CLMUL_YMM)
		ymm_hash(g, state, in, len);
	else
		xmm_hash(g, state, in, len);
}

void hvc_xor_ghash_clmul(const struct hvc_ghash_key *g, uint8_t state[16], const uint8_t *ks, const uint8_t *in,
			 uint8_t *out, size_t len)
{
	if (g->kind == HVC_CLMUL_ZMM)
		zmm_enc(g, state, ks, in, out, len);
	else if (g->kind == HVC_CLMUL_YMM)
		ymm_enc(g, state, ks, in, out, len);
	else
		xmm_enc(g, state, ks, in, out, len);
}

void hvc_ghash_xor_clmul(const struct hvc_ghash_key *g, uint8_t state[16], const uint8_t *ks, const uint8_t *in,
			 uint8_t *out, size_t len)
{
	if (g->kind == HVC_CLMUL_ZMM)
		zmm_dec(g, state, ks, in, out, len);
	else if (g->kind == HVC_CLMUL_YMM)
		ymm_dec(g, state, ks, in, out, len);
	else
		xmm_dec(g, state, ks, in, out, len);
}
