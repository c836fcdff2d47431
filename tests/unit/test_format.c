/* Unit tests of the freestanding printf subset and number parsing, compared
 * with the C library where they overlap. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "hvlib.h"

static void matches_libc(void **state)
{
	(void)state;
	char a[128], b[128];
#define SAME(...)                                                                                                      \
	do {                                                                                                           \
		hv_snprintf(a, sizeof(a), __VA_ARGS__);                                                                \
		snprintf(b, sizeof(b), __VA_ARGS__);                                                                   \
		assert_string_equal(a, b);                                                                             \
	} while (0)
	SAME("%d %i %u", -42, 7, 4000000000u);
	SAME("%x %X %08x %lx", 0xbeefu, 0xbeefu, 0x12u, 0xfedcba9876543210ul);
	SAME("%5d|%-6s|%05d|%c|%%", 42, "ab", -3, 'z');
	SAME("%lu %ld %zu", 18446744073709551615ul, -9223372036854775807l - 1, (size_t)12);
	SAME("%s", "");
#undef SAME
	/* Truncation: NUL-terminated, returns the full length. */
	assert_int_equal(hv_snprintf(a, 5, "%s", "abcdefgh"), 8);
	assert_string_equal(a, "abcd");
	const char *volatile nothing = 0; /* volatile: keep the compiler from judging the call */
	assert_int_equal(hv_snprintf(a, sizeof(a), "%s", nothing), 6);
	assert_string_equal(a, "(null)");
}

static void parse_numbers(void **state)
{
	(void)state;
	uint64_t v;
	assert_int_equal(hv_parse_u64("0", &v), HV_OK);
	assert_int_equal(v, 0);
	assert_int_equal(hv_parse_u64("18446744073709551615", &v), HV_OK);
	assert_int_equal(v, UINT64_MAX);
	assert_int_equal(hv_parse_u64("18446744073709551616", &v), HV_ERANGE);
	assert_int_equal(hv_parse_u64("0xFFffFFffFFffFFff", &v), HV_OK);
	assert_int_equal(v, UINT64_MAX);
	assert_int_equal(hv_parse_u64("0x", &v), HV_EINVAL);
	assert_int_equal(hv_parse_u64("", &v), HV_EINVAL);
	assert_int_equal(hv_parse_u64("12a", &v), HV_EINVAL);
	assert_int_equal(hv_parse_u64("-1", &v), HV_EINVAL);
	assert_int_equal(hv_parse_u64(" 1", &v), HV_EINVAL);
	assert_int_equal(hv_parse_u64(0, &v), HV_EINVAL);
	assert_string_equal(hv_strerror(HV_ENOMEM), "out of memory");
	assert_string_equal(hv_strerror(12345), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(matches_libc),
		cmocka_unit_test(parse_numbers),
	};
	return cmocka_run_group_tests(tests, 0, 0);
}
