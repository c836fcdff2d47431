/* memcpy and memset for the freestanding build: x86 string instructions, which every
 * CPU this runs on executes fast for the page-sized copies that dominate here. Eight
 * bytes per iteration, then the tail: real CPUs move a page as fast either way (fast
 * strings), but Bochs, the test bed, emulates and counts each iteration, so a byte at a
 * time made every copy and fill there eight times the work (bench-hv: ~1 cycle per byte
 * of each fill of keystream, each page copy). */
#include "hvlib.h"

void *memcpy(void *d, const void *s, size_t n)
{
	void *ret = d;
	size_t q = n >> 3, r = n & 7;
	__asm__ volatile("rep movsq" : "+D"(d), "+S"(s), "+c"(q)::"memory");
	__asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(r)::"memory");
	return ret;
}

void *memset(void *d, int c, size_t n)
{
	void *ret = d;
	uint64_t v = (uint8_t)c * 0x0101010101010101ull;
	size_t q = n >> 3, r = n & 7;
	__asm__ volatile("rep stosq" : "+D"(d), "+c"(q) : "a"(v) : "memory");
	__asm__ volatile("rep stosb" : "+D"(d), "+c"(r) : "a"(v) : "memory");
	return ret;
}
