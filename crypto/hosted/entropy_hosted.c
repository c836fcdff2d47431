/* getrandom(2) entropy for hosted builds (tests, tools, benchmarks). */
#include "entropy.h"
#include "hvc_err.h"
#include <errno.h>
#include <sys/random.h>

int hvc_entropy_hosted(void *ctx, void *buf, size_t len)
{
	unsigned char *p = buf;
	(void)ctx;
	while (len) {
		ssize_t n = getrandom(p, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return HVC_E_NO_ENTROPY;
		}
		p += n;
		len -= (size_t)n;
	}
	return HVC_OK;
}
