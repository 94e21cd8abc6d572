/*
 * test_ring.c - the SPSC message ring: bounds, wrap-around, and two threads
 * passing millions of messages in order without loss.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/ring.h"

struct hdr {
	uint64_t seq;
	uint32_t len;
};

static void test_full_empty_wrap(void **state)
{
	struct ring *r;
	const void *h, *p;
	(void)state;

	assert_int_equal(ring_create(&r, 3, 64), 0); /* rounded up to 4 */
	assert_int_equal(ring_peek(r, &h, sizeof(struct hdr), &p), -EAGAIN);
	for (uint64_t round = 0; round < 10; round++) {
		for (uint64_t i = 0; i < 4; i++) {
			struct hdr x = {round * 4 + i, 5};
			assert_int_equal(ring_push(r, &x, sizeof(x), "hello", 5), 0);
		}
		struct hdr y = {0, 0};
		assert_int_equal(ring_push(r, &y, sizeof(y), NULL, 0), -ENOBUFS);
		assert_int_equal(ring_count(r), 4);
		for (uint64_t i = 0; i < 4; i++) {
			assert_int_equal(ring_peek(r, &h, sizeof(struct hdr), &p), 0);
			assert_int_equal(((const struct hdr *)h)->seq, round * 4 + i);
			assert_memory_equal(p, "hello", 5);
			ring_pop(r);
		}
		assert_int_equal(ring_peek(r, &h, sizeof(struct hdr), &p), -EAGAIN);
	}
	char big[100] = {0};
	struct hdr z = {0, 100};
	assert_int_equal(ring_push(r, &z, sizeof(z), big, sizeof(big)), -EMSGSIZE);
	ring_destroy(r);
}

#define N_MESSAGES 2000000

static void *producer(void *arg)
{
	struct ring *r = arg;
	for (uint64_t i = 0; i < N_MESSAGES;) {
		struct hdr x = {i, 8};
		if (ring_push(r, &x, sizeof(x), &i, sizeof(i)) == 0)
			i++;
	}
	return NULL;
}

static void test_two_threads_in_order(void **state)
{
	struct ring *r;
	pthread_t t;
	(void)state;

	assert_int_equal(ring_create(&r, 256, 32), 0);
	assert_int_equal(pthread_create(&t, NULL, producer, r), 0);
	for (uint64_t want = 0; want < N_MESSAGES;) {
		const void *h, *p;
		if (ring_peek(r, &h, sizeof(struct hdr), &p) != 0)
			continue;
		uint64_t seq = ((const struct hdr *)h)->seq, copy;
		memcpy(&copy, p, sizeof(copy));
		if (seq != want || copy != want)
			fail_msg("message %llu arrived as %llu/%llu", (unsigned long long)want,
				 (unsigned long long)seq, (unsigned long long)copy);
		ring_pop(r);
		want++;
	}
	pthread_join(t, NULL);
	assert_int_equal(ring_count(r), 0);
	ring_destroy(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_empty_wrap),
	    cmocka_unit_test(test_two_threads_in_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
