/* Helpers shared by the crypto tests: hex decoding, deterministic PRNG, path parameters. */
#ifndef HVC_TEST_UTIL_H
#define HVC_TEST_UTIL_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "gcm_dispatch.h"
#include "hvc_err.h"

static inline size_t hex2bin(const char *hex, uint8_t *out)
{
	size_t n = strlen(hex) / 2;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
	return n;
}

/* xorshift64*: reproducible random lengths/alignments/data */
static inline uint64_t rnd64(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

static inline void rnd_fill(uint64_t *s, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(rnd64(s) >> 56);
}

static const enum hvc_gcm_path test_paths[] = { HVC_GCM_SSE, HVC_GCM_AVX2, HVC_GCM_VAES_AVX512 };

/* Prints once which implementation paths this CPU can run and which tests will skip. */
static inline void print_paths(void)
{
	printf("[ PATHS    ] best on this CPU: %s\n", hvc_gcm_path_name(hvc_gcm_best_path()));
	for (size_t i = 0; i < sizeof(test_paths) / sizeof(test_paths[0]); i++)
		printf("[ PATHS    ] %-12s %s\n", hvc_gcm_path_name(test_paths[i]),
		       hvc_gcm_path_available(test_paths[i]) == HVC_OK
			       ? "available: runs natively"
			       : "UNAVAILABLE on this CPU: its tests are SKIPPED (not passed)");
	enum hvc_clmul_kind ck = hvc_clmul_best();
	printf("[ PATHS    ] own GHASH: %s\n", ck == HVC_CLMUL_YMM   ? "clmul-ymm (VPCLMULQDQ) and clmul-xmm run"
					       : ck == HVC_CLMUL_XMM ? "clmul-xmm runs; clmul-ymm UNAVAILABLE (skipped)"
								     : "no PCLMULQDQ: ipsec-mb GHASH only");
}

/* cmocka prestate carries the path; skip (never pass) when the CPU lacks it. */
#define PATH_OR_SKIP(state, path)                                                                                      \
	enum hvc_gcm_path path = (enum hvc_gcm_path)(uintptr_t) * (state);                                             \
	do {                                                                                                           \
		if (hvc_gcm_path_available(path) != HVC_OK) {                                                          \
			printf("[ SKIPPED  ] path %s not available on this CPU\n", hvc_gcm_path_name(path));           \
			skip();                                                                                        \
		}                                                                                                      \
	} while (0)
#endif
