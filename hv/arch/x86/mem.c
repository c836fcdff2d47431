/* memcpy and memset for the freestanding build: x86 string instructions, which every
 * CPU this runs on executes fast for the page-sized copies that dominate here. */
#include "hvlib.h"

void *memcpy(void *d, const void *s, size_t n)
{
	void *ret = d;
	__asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n)::"memory");
	return ret;
}

void *memset(void *d, int c, size_t n)
{
	void *ret = d;
	__asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
	return ret;
}
