/* x86-64 streaming page stores (see page_stream.h): MOVNTI from general registers, so the
 * hypervisor's freestanding build (no SSE state of its own) and the hosted builds of the
 * engine share one implementation; every x86-64 CPU has it (SSE2). */
#include <stdint.h>
#include "page_stream.h"

#define PAGE_WORDS (4096 / 8)

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PAGE_STREAM_CHECKED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define PAGE_STREAM_CHECKED 1
#endif

#ifdef PAGE_STREAM_CHECKED
/* Under AddressSanitizer (the hosted tests, the fuzzers) plain stores, which it checks:
 * it cannot see into the asm below. */
#include <string.h>
void page_copy_stream(void *dst, const void *src) { memcpy(dst, src, 4096); }
void page_zero_stream(void *dst) { memset(dst, 0, 4096); }
#else

static inline void nt_store(uint64_t *p, uint64_t v) { __asm__ volatile("movnti %1, %0" : "=m"(*p) : "r"(v)); }

void page_copy_stream(void *dst, const void *src)
{
	uint64_t *d = dst;
	const uint64_t *s = src;
	/* Eight words per turn: one cache line, so the write-combining buffer fills whole. */
	for (unsigned i = 0; i < PAGE_WORDS; i += 8) {
		uint64_t a = s[i], b = s[i + 1], c = s[i + 2], e = s[i + 3];
		uint64_t f = s[i + 4], g = s[i + 5], h = s[i + 6], k = s[i + 7];
		nt_store(d + i, a);
		nt_store(d + i + 1, b);
		nt_store(d + i + 2, c);
		nt_store(d + i + 3, e);
		nt_store(d + i + 4, f);
		nt_store(d + i + 5, g);
		nt_store(d + i + 6, h);
		nt_store(d + i + 7, k);
	}
}

void page_zero_stream(void *dst)
{
	uint64_t *d = dst;
	for (unsigned i = 0; i < PAGE_WORDS; i++)
		nt_store(d + i, 0);
}

#endif

void page_stream_fence(void) { __asm__ volatile("sfence" ::: "memory"); }
