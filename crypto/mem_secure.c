/* Zeroing and comparison of secrets in a way the optimiser must keep as written. */
#include "mem_secure.h"
#include <emmintrin.h>

void hvc_zero(void *p, size_t n)
{
	if (!p || !n)
		return;
	memset(p, 0, n);
	/* The asm claims to read p's memory, so the memset above is not a dead store. */
	__asm__ __volatile__("" : : "r"(p) : "memory");
}

int hvc_ct_equal(const void *a, const void *b, size_t n)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t d = 0;
	for (size_t i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

/* Non-temporal stores (SSE2, in every x86-64 CPU): used keystream is zeroed without
 * pulling it back into the cache and without evicting the data that is about to be
 * sent. Entries are 64-byte aligned in the ring; any unaligned head or tail takes the
 * ordinary path. */
void hvc_zero_stream(void *p, size_t n)
{
	uint8_t *b = p;
	if (!p || !n)
		return;
	if (n < 4096) {
		/* Small pieces (a ring entry's tail left over when a fill overwrote the rest)
		 * share cache lines with live keystream: a streaming store would push those
		 * lines out to memory just before they are read. */
		hvc_zero(p, n);
		return;
	}
	size_t head = (size_t)(-(uintptr_t)b & 15);
	if (head > n)
		head = n;
	hvc_zero(b, head);
	b += head;
	n -= head;
	size_t body = n & ~(size_t)15;
	const __m128i z = _mm_setzero_si128();
	for (size_t i = 0; i < body; i += 16)
		_mm_stream_si128((__m128i *)(b + i), z);
	_mm_sfence();
	__asm__ __volatile__("" : : "r"(b) : "memory");
	hvc_zero(b + body, n - body);
}
