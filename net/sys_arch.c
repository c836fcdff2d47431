/* What lwIP needs from the platform under NO_SYS: milliseconds, diagnostics,
 * assertions and random numbers. */
#include "hv.h"
#include "arch.h"
#include "lwip/sys.h"

u32_t sys_now(void) { return (u32_t)hv_now_ms(); }

void hv_lwip_diag(const char *fmt, ...)
{
	char buf[200];
	va_list ap;
	va_start(ap, fmt);
	int n = hv_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 1)
		n = (int)sizeof(buf) - 1;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0'; /* hv_event ends the line */
	hv_event("lwip: %s", buf);
}

void hv_lwip_assert(const char *msg, const char *file, int line)
{
	hv_panic("lwIP assertion \"%s\" failed at %s:%d", msg, file, line);
}

uint32_t hv_lwip_rand(void)
{
	/* Not for secrets (the crypto channel has its own entropy): TCP initial
	 * sequence numbers and ephemeral ports only. */
	static uint64_t x;
	if (!x)
		x = arch_cycles() | 1;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return (uint32_t)(x >> 16);
}
