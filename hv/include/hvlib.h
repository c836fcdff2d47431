/* Freestanding basics shared by the core and hosted tests: string functions,
 * formatted output into a sink, and the error codes callers check. */
#ifndef HV_HVLIB_H
#define HV_HVLIB_H
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a)	 (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a)	 (((x) + ((a)-1)) & ~((__typeof__(x))(a)-1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a)-1))
#define PAGE_SIZE	 4096ull
#define PAGE_SHIFT	 12

enum hv_err {
	HV_OK = 0,
	HV_ENOMEM = -1,
	HV_EINVAL = -2,
	HV_ENOENT = -3,
	HV_ESTATE = -4,
	HV_ENOTSUP = -5,
	HV_EEXIST = -6,
	HV_ERANGE = -7,
	HV_EHW = -8,
	HV_EBUSY = -9,
};
/* The migration engine's (MIG_E_*, hv/migrate/mig_err.h) and the channel's (HVC_E_*,
 * crypto/hvc_err.h) failures travel as HV errors in ranges of their own: mapped once,
 * here, without losing which one it was. hv_strerror (hv/core/errors.c) names them all. */
#define HV_E_MIG_BASE (-1000)
#define HV_E_HVC_BASE (-2000)
static inline int hv_err_from_mig(int mig_err)
{
	return mig_err < 0 ? HV_E_MIG_BASE + mig_err : mig_err ? HV_EINVAL : 0;
}
static inline int hv_err_from_hvc(int hvc_err)
{
	return hvc_err < 0 ? HV_E_HVC_BASE + hvc_err : hvc_err ? HV_EINVAL : 0;
}
const char *hv_strerror(int err);

/* A sink for formatted text: the serial console, a buffer, a test capture. */
struct printer {
	void (*write)(void *ctx, const char *s, size_t n);
	void *ctx;
};
int hv_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int hv_snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void pr_printf(const struct printer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

size_t hv_strlen(const char *s);
int hv_strcmp(const char *a, const char *b);
int hv_strncmp(const char *a, const char *b, size_t n);
/* Parses a decimal (or 0x-prefixed hex) unsigned number spanning the whole
 * string; returns HV_EINVAL on anything else, HV_ERANGE on overflow. */
int hv_parse_u64(const char *s, uint64_t *out);

#ifdef FREESTANDING
void *memcpy(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
void *memmove(void *d, const void *s, size_t n);
#else
#include <string.h>
#endif

#endif
