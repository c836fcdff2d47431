/* lwIP's platform header for the freestanding hypervisor: types, formats,
 * byte order, diagnostics through the console, randomness. */
#ifndef HV_LWIP_ARCH_CC_H
#define HV_LWIP_ARCH_CC_H
#include <stdint.h>
#include <stddef.h>

#define LWIP_NO_INTTYPES_H 1
#define LWIP_NO_CTYPE_H	   1
#define X8_F		   "02x"
#define U16_F		   "u"
#define S16_F		   "d"
#define X16_F		   "x"
#define U32_F		   "u"
#define S32_F		   "d"
#define X32_F		   "x"
#define SZT_F		   "lu"

#ifndef BYTE_ORDER
#define BYTE_ORDER LITTLE_ENDIAN
#endif

void hv_lwip_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void hv_lwip_assert(const char *msg, const char *file, int line) __attribute__((noreturn));
uint32_t hv_lwip_rand(void);

#define LWIP_PLATFORM_DIAG(x)                                                                                          \
	do {                                                                                                           \
		hv_lwip_diag x;                                                                                        \
	} while (0)
#define LWIP_PLATFORM_ASSERT(x) hv_lwip_assert((x), __FILE__, __LINE__)
#define LWIP_RAND()		hv_lwip_rand()

#endif
