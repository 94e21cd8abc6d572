/*
 * test_cli.c - cli_long() and cli_u64(): a command-line argument is a whole
 * decimal integer within bounds, or refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/cli.h"

static void test_long(void **state)
{
	static const struct {
		const char *s;
		long lo, hi;
		int rc;
		long v;
	} cases[] = {
	    {"1", 1, 64, 0, 1},
	    {"64", 1, 64, 0, 64},
	    {"0", 1, 64, -EINVAL, 0},
	    {"65", 1, 64, -EINVAL, 0},
	    {"", 1, 64, -EINVAL, 0},
	    {"x", 1, 64, -EINVAL, 0},
	    {"3x", 1, 64, -EINVAL, 0},
	    {" 2", 1, 64, -EINVAL, 0},
	    {"2 ", 1, 64, -EINVAL, 0},
	    {"-1", 0, 9, -EINVAL, 0},
	    {"-0", 0, 9, -EINVAL, 0},
	    {"+5", 0, 9, -EINVAL, 0}, /* a sign, as "-5" is (sipshard-parse --stream) */
	    {"+5", -9, 9, -EINVAL, 0},
	    {"-5", -9, 9, 0, -5},
	    {"007", 0, 9, 0, 7},
	    {"1.5", 0, 9, -EINVAL, 0},
	    {"99999999999999999999", 0, 1L << 62, -EINVAL, 0},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long v = 12345;
		int rc = cli_long(cases[i].s, cases[i].lo, cases[i].hi, &v);
		if (rc != cases[i].rc)
			fail_msg("cli_long(\"%s\", %ld, %ld) = %d, want %d", cases[i].s,
				 cases[i].lo, cases[i].hi, rc, cases[i].rc);
		assert_int_equal(v, rc ? 12345 : cases[i].v); /* untouched on failure */
	}
}

static void test_u64(void **state)
{
	uint64_t v = 7;
	(void)state;
	assert_int_equal(cli_u64("18446744073709551615", 0, UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(cli_u64("18446744073709551616", 0, UINT64_MAX, &v), -EINVAL);
	assert_int_equal(cli_u64("-1", 0, UINT64_MAX, &v), -EINVAL); /* strtoull would wrap it */
	assert_int_equal(cli_u64("+1", 0, UINT64_MAX, &v), -EINVAL);
	assert_int_equal(cli_u64("10", 11, 20, &v), -EINVAL);
	assert_int_equal(cli_u64("", 0, 1, &v), -EINVAL);
	assert_true(v == UINT64_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_long),
	    cmocka_unit_test(test_u64),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
