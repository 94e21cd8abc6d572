/*
 * test_ring.c - the SPSC message ring: bounds, wrap-around, and two threads
 * passing millions of messages in order without loss; a message built in
 * place (reserve, commit); ring_drain_fair takes
 * several rings in turns, stops at its bound, and a ring that never empties
 * does not starve the others.
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

/* A message built in place: invisible until committed, NULL when full, and
 * in order with pushed ones. */
static void test_reserve_commit(void **state)
{
	struct ring *r;
	const void *h, *p;
	(void)state;

	assert_int_equal(ring_create(&r, 2, 64), 0);
	unsigned char *slot = ring_reserve(r);
	assert_non_null(slot);
	assert_int_equal((uintptr_t)slot % 8, 0);
	struct hdr x = {7, 3};
	memcpy(slot, &x, sizeof(x));
	memcpy(slot + sizeof(x), "abc", 3);
	assert_int_equal(ring_peek(r, &h, sizeof(struct hdr), &p), -EAGAIN); /* not yet */
	assert_ptr_equal(ring_reserve(r), slot); /* the same slot until committed */
	ring_commit(r);
	struct hdr y = {8, 0};
	assert_int_equal(ring_push(r, &y, sizeof(y), NULL, 0), 0);
	assert_null(ring_reserve(r)); /* full */
	assert_int_equal(ring_peek(r, &h, sizeof(struct hdr), &p), 0);
	assert_int_equal(((const struct hdr *)h)->seq, 7);
	assert_memory_equal(p, "abc", 3);
	ring_pop(r);
	assert_non_null(ring_reserve(r));
	assert_int_equal(ring_peek(r, &h, sizeof(struct hdr), &p), 0);
	assert_int_equal(((const struct hdr *)h)->seq, 8);
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

/* What a drain saw: (ring, seq) in order; refill makes the handler push a
 * new message into ring 0 for each one it takes from there, as a producer
 * that never lets its ring empty. */
struct seen {
	unsigned ring[4096];
	uint64_t seq[4096];
	unsigned n;
	struct ring *refill;
	uint64_t next;
};

static void on_msg(void *arg, unsigned ring, const void *hdr, const void *payload)
{
	struct seen *s = arg;
	const struct hdr *h = hdr;
	(void)payload;

	assert_true(s->n < 4096);
	s->ring[s->n] = ring;
	s->seq[s->n++] = h->seq;
	if (s->refill && ring == 0) {
		struct hdr more = {s->next++, 0};
		assert_int_equal(ring_push(s->refill, &more, sizeof(more), NULL, 0), 0);
	}
}

static void fill(struct ring *r, uint64_t from, unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		struct hdr h = {from + i, 0};
		assert_int_equal(ring_push(r, &h, sizeof(h), NULL, 0), 0);
	}
}

static void test_drain_fair_takes_turns(void **state)
{
	struct ring *r[3] = {NULL, NULL, NULL};
	static struct seen s;
	(void)state;

	memset(&s, 0, sizeof(s));
	assert_int_equal(ring_create(&r[0], 64, 32), 0);
	assert_int_equal(ring_create(&r[2], 64, 32), 0); /* r[1] is absent: skipped */
	fill(r[0], 0, 10);
	fill(r[2], 100, 6);
	assert_int_equal(ring_drain_fair(r, 3, sizeof(struct hdr), 4, 1000, on_msg, &s), 16);
	/* 4 of ring 0, 4 of ring 2, 4 of ring 0, the last 2 of ring 2, the last 2 of ring 0 */
	static const unsigned rings[16] = {0, 0, 0, 0, 2, 2, 2, 2, 0, 0, 0, 0, 2, 2, 0, 0};
	static const uint64_t seqs[16] = {0, 1, 2, 3, 100, 101, 102, 103,
					  4, 5, 6, 7, 104, 105, 8,   9};
	assert_int_equal(s.n, 16);
	for (unsigned i = 0; i < 16; i++) {
		assert_int_equal(s.ring[i], rings[i]);
		assert_int_equal(s.seq[i], seqs[i]);
	}
	assert_int_equal(ring_count(r[0]) + ring_count(r[2]), 0);

	/* the bound: a pass stops after max, leaving the rest in order */
	memset(&s, 0, sizeof(s));
	fill(r[0], 20, 10);
	assert_int_equal(ring_drain_fair(r, 3, sizeof(struct hdr), 4, 7, on_msg, &s), 7);
	assert_int_equal(ring_count(r[0]), 3);
	assert_int_equal(s.seq[6], 26);
	ring_destroy(r[0]);
	ring_destroy(r[2]);
}

static void test_drain_fair_busy_ring_starves_no_other(void **state)
{
	struct ring *r[2];
	static struct seen s;
	(void)state;

	memset(&s, 0, sizeof(s));
	assert_int_equal(ring_create(&r[0], 64, 32), 0);
	assert_int_equal(ring_create(&r[1], 64, 32), 0);
	fill(r[0], 0, 8);
	fill(r[1], 1000, 50);
	s.refill = r[0];
	s.next = 8;
	/* ring 0 never empties: the pass ends on its bound, with ring 1 served
	 * a turn for each turn of ring 0 */
	assert_int_equal(ring_drain_fair(r, 2, sizeof(struct hdr), 8, 96, on_msg, &s), 96);
	unsigned from1 = 0;
	for (unsigned i = 0; i < s.n; i++)
		from1 += s.ring[i] == 1;
	assert_int_equal(from1, 48);
	assert_int_equal(ring_count(r[1]), 2);
	assert_int_equal(ring_count(r[0]), 8);
	ring_destroy(r[0]);
	ring_destroy(r[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_empty_wrap),
	    cmocka_unit_test(test_reserve_commit),
	    cmocka_unit_test(test_two_threads_in_order),
	    cmocka_unit_test(test_drain_fair_takes_turns),
	    cmocka_unit_test(test_drain_fair_busy_ring_starves_no_other),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
