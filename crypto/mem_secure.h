/* Secret-handling helpers: zeroing the compiler cannot elide, constant-time compare,
 * big-endian load/store for wire formats. */
#ifndef HVC_MEM_SECURE_H
#define HVC_MEM_SECURE_H
#include <stddef.h>
#include <stdint.h>

/* The freestanding build takes memcpy/memset from the hypervisor. */
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);

void hvc_zero(void *p, size_t n);
/* The same with non-temporal stores: for large buffers that will not be read soon. */
void hvc_zero_stream(void *p, size_t n);
/* 1 when equal, 0 otherwise; time depends only on n. */
int hvc_ct_equal(const void *a, const void *b, size_t n);

static inline void hvc_be16_put(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline void hvc_be32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}
static inline void hvc_be64_put(uint8_t *p, uint64_t v)
{
	hvc_be32_put(p, (uint32_t)(v >> 32));
	hvc_be32_put(p + 4, (uint32_t)v);
}
static inline uint16_t hvc_be16_get(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t hvc_be32_get(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline uint64_t hvc_be64_get(const uint8_t *p)
{
	return ((uint64_t)hvc_be32_get(p) << 32) | hvc_be32_get(p + 4);
}
#endif
