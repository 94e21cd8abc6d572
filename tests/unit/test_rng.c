/*
 * test_rng.c - the shared generator (core/rng.h): seeds are never 0 (a 0
 * state would stay 0 for ever), two seeds in a row differ, the state never
 * reaches 0, a sequence does not repeat within a million steps, and its bits
 * are balanced enough for salts and tags (each of the 64 bits set in 50% +- 1%
 * of a million draws).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/rng.h"

static void test_seeds_are_never_zero_and_differ(void **state)
{
	(void)state;
	uint64_t a = rng_seed(1), b = rng_seed(1);
	assert_true(a != 0);
	assert_true(b != 0);
	assert_true(a != b);
}

static void test_state_never_zero_and_no_early_cycle(void **state)
{
	(void)state;
	uint64_t s = 1;
	rng_next(&s);
	const uint64_t first_state = s;
	for (int i = 0; i < 1000000; i++) {
		rng_next(&s);
		assert_true(s != 0);
		assert_true(s != first_state);
	}
}

static void test_bits_are_balanced(void **state)
{
	(void)state;
	enum { draws = 1000000 };
	static uint32_t ones[64];
	uint64_t s = 0x1234;
	for (int i = 0; i < draws; i++) {
		uint64_t x = rng_next(&s);
		for (int b = 0; b < 64; b++)
			ones[b] += (uint32_t)(x >> b & 1);
	}
	for (int b = 0; b < 64; b++) {
		assert_true(ones[b] > draws / 100 * 49);
		assert_true(ones[b] < draws / 100 * 51);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_seeds_are_never_zero_and_differ),
	    cmocka_unit_test(test_state_never_zero_and_no_early_cycle),
	    cmocka_unit_test(test_bits_are_balanced),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
