/*
 * test_wbuf.c - the bounded append buffer (core/wbuf.h): numbers in decimal
 * from 0 to 2^32-1, and an append that does not fit writes nothing, sets
 * overflow, and stops every append after it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/wbuf.h"

static void test_numbers_in_decimal(void **state)
{
	(void)state;
	char buf[64];
	struct wbuf w = {buf, 0, sizeof(buf), false};

	wbuf_put_uint(&w, 0);
	wbuf_put(&w, " ", 1);
	wbuf_put_uint(&w, 7);
	wbuf_put(&w, " ", 1);
	wbuf_put_uint(&w, 1000);
	wbuf_put(&w, " ", 1);
	wbuf_put_uint(&w, UINT32_MAX);
	assert_false(w.overflow);
	assert_int_equal(w.len, 19);
	assert_memory_equal(buf, "0 7 1000 4294967295", 19);
}

static void test_overflow_stops_everything_after(void **state)
{
	(void)state;
	char buf[8] = "xxxxxxxx";
	struct wbuf w = {buf, 0, sizeof(buf), false};

	wbuf_puts(&w, "abcde");
	assert_false(w.overflow);
	wbuf_puts(&w, "fghi"); /* 9 bytes in all: does not fit */
	assert_true(w.overflow);
	assert_int_equal(w.len, 5);
	assert_memory_equal(buf, "abcdexxx", 8);
	wbuf_put(&w, "z", 1); /* would fit, but comes after the overflow */
	assert_int_equal(w.len, 5);
	assert_memory_equal(buf, "abcdexxx", 8);
	char one[1];
	struct wbuf n = {one, 0, sizeof(one), false};
	wbuf_put_uint(&n, 42);
	assert_true(n.overflow);
	assert_int_equal(n.len, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_numbers_in_decimal),
	    cmocka_unit_test(test_overflow_stops_everything_after),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
