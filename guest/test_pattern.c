/* Hosted check of pattern.c: patterns round-trip and catch damage, WSET sets are
 * deterministic, distinct, sorted and in range. With --vectors it prints known
 * answers for guest/model.py --check instead. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pattern.h"

static int failures;

#define CHECK(cond)                                                                                                    \
	do {                                                                                                           \
		if (!(cond)) {                                                                                         \
			printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                                         \
			failures++;                                                                                    \
		}                                                                                                      \
	} while (0)

static void test_pattern(void)
{
	static uint32_t page[PAGE_WORDS], other[PAGE_WORDS];
	uint32_t want, got;

	pat_fill(page, 0x123, 7);
	CHECK(page[0] == 0x123 && page[1] == 7);
	CHECK(pat_check(page, 0x123, 7, &want, &got) == -1);
	/* a stale generation, another page's content, one flipped bit, a zero page */
	CHECK(pat_check(page, 0x123, 8, &want, &got) == 1 && want == 8 && got == 7);
	pat_fill(other, 0x124, 7);
	CHECK(pat_check(other, 0x123, 7, &want, &got) == 0);
	page[1000] ^= 0x10;
	CHECK(pat_check(page, 0x123, 7, &want, &got) == 1000 && (want ^ got) == 0x10);
	memset(page, 0, sizeof(page));
	CHECK(pat_check(page, 0, 0, &want, &got) >= 2);
	/* words 2.. of two generations of one page must all differ */
	pat_fill(page, 0x200, 1);
	pat_fill(other, 0x200, 2);
	for (uint32_t i = 2; i < PAGE_WORDS; i++)
		CHECK(page[i] != other[i]);
}

static void test_wset(void)
{
	static const uint32_t npages[] = { 1, 2, 5, 64, 65, 100, 3840, 130816 };
	uint32_t a[WSET_MAX], b[WSET_MAX];

	for (uint32_t t = 0; t < sizeof(npages) / sizeof(npages[0]); t++) {
		uint32_t np = npages[t], n = np < WSET_MAX ? np : WSET_MAX;

		for (uint32_t k = 1; k <= 50; k++) {
			wset_make(42, k, 256, np, n, a);
			wset_make(42, k, 256, np, n, b);
			CHECK(memcmp(a, b, n * 4) == 0);
			for (uint32_t i = 0; i < n; i++) {
				CHECK(a[i] >= 256 && a[i] < 256 + np);
				CHECK(i == 0 || a[i - 1] < a[i]);
			}
		}
		wset_make(42, 1, 256, np, n, a);
		wset_make(42, 2, 256, np, n, b);
		CHECK(np <= WSET_MAX || memcmp(a, b, n * 4) != 0);
	}
	wset_make(1, 1, 256, 3840, 0, a); /* an empty set is allowed */
}

static void vectors(void)
{
	uint32_t set[WSET_MAX];

	for (uint32_t a = 0; a < 4; a++)
		for (uint32_t b = 0; b < 3; b++)
			printf("hash %u %u %u\n", a, b * 1000003u, pat_hash(a, b * 1000003u));
	printf("word %u %u %u %u\n", 300u, 5u, 2u, pat_word(300, 5, pat_hash(300, 5), 2));
	printf("word %u %u %u %u\n", 300u, 5u, 1023u, pat_word(300, 5, pat_hash(300, 5), 1023));
	/* The WORK mode sequence as work.c runs it: sum after `writes` rewrites. */
	for (uint32_t seed = 0; seed < 3; seed++) {
		uint32_t np = 100 + seed * 1000, *gen = calloc(np, 4), x = seed * 77u, sum = 0;

		for (uint32_t w = 1; w <= 5000; w++) {
			uint32_t idx = pick(lcg_next(&x), np);

			sum = sum_update(sum, 256 + idx, ++gen[idx]);
			if (w % 1000 == 0)
				printf("sum %u %u %u %u\n", seed * 77u, np, w, sum);
		}
		free(gen);
	}
	for (uint32_t k = 1; k <= 3; k++) {
		wset_make(9, k, 256, 3840, 16, set);
		printf("wset %u %u %u %u", 9u, k, 3840u, 16u);
		for (uint32_t i = 0; i < 16; i++)
			printf(" %u", set[i]);
		printf("\n");
	}
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--vectors")) {
		vectors();
		return 0;
	}
	test_pattern();
	test_wset();
	printf("test_pattern: %s\n", failures ? "FAILED" : "ok");
	return failures != 0;
}
