/* Zeroing and comparison of secrets in a way the optimiser must keep as written. */
#include "mem_secure.h"

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
