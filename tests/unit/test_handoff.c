/*
 * test_handoff.c - the rings between workers (daemon.h): their memory stays
 * bounded as the workers grow (each worker's rings share one budget, each
 * keeps a floor, 2 workers keep 1024 slots), and one drain of a worker's
 * handoffs stops at WORKER_HANDOFF_DRAIN_MAX, leaving the rest for the next
 * turns with none lost, while a producer keeps its ring busy.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/daemon.h"

static struct daemon *new_daemon(unsigned nworkers)
{
	struct daemon *d = calloc(1, sizeof(*d));
	assert_non_null(d);
	d->nworkers = nworkers;
	d->workers = calloc(nworkers, sizeof(*d->workers));
	assert_non_null(d->workers);
	for (unsigned i = 0; i < nworkers; i++) {
		d->workers[i].id = i;
		d->workers[i].d = d;
	}
	return d;
}

static void free_daemon(struct daemon *d)
{
	daemon_close_handoffs(d);
	for (unsigned i = 0; i < d->nworkers; i++)
		ring_destroy(d->workers[i].cmd);
	free(d->workers);
	free(d);
}

/* bytes of every handoff ring of the daemon, and the most slots one
 * worker's rings take */
static size_t handoff_bytes(const struct daemon *d, size_t *worker_slots)
{
	size_t all = 0;
	*worker_slots = 0;
	for (unsigned i = 0; i < d->nworkers; i++) {
		size_t slots = 0;
		for (unsigned j = 0; j < d->nworkers; j++) {
			const struct ring *r = d->workers[i].handoff_in[j];
			if (j == i) {
				assert_null(r);
				continue;
			}
			assert_non_null(r);
			slots += r->nslots;
			all += (size_t)r->nslots * r->slot_size;
		}
		if (slots > *worker_slots)
			*worker_slots = slots;
	}
	return all;
}

static void test_two_workers_keep_their_ring(void **state)
{
	(void)state;
	struct daemon *d = new_daemon(2);
	size_t slots;

	assert_int_equal(daemon_open_handoffs(d), 0);
	handoff_bytes(d, &slots);
	assert_int_equal(d->workers[0].handoff_in[1]->nslots, 1024);
	assert_int_equal(d->workers[1].handoff_in[0]->nslots, 1024);
	free_daemon(d);
}

/* 1024 slots of 8 KiB for every pair took 451 MiB at 8 workers and 32 GiB
 * at 64 */
static void test_memory_grows_with_the_workers_not_their_square(void **state)
{
	(void)state;
	static const struct {
		unsigned workers;
		uint32_t slots;
		size_t most_mib;
	} cases[] = {{3, 512, 25}, {8, 128, 57}, {16, 64, 121}, {33, 32, 267}, {64, 16, 508}};

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct daemon *d = new_daemon(cases[k].workers);
		size_t worker_slots;
		assert_int_equal(daemon_open_handoffs(d), 0);
		size_t bytes = handoff_bytes(d, &worker_slots);
		assert_int_equal(daemon_handoff_slots(cases[k].workers), cases[k].slots);
		assert_int_equal(d->workers[0].handoff_in[1]->nslots, cases[k].slots);
		assert_true(bytes >> 20 <= cases[k].most_mib);
		/* the budget, or the floor when the producers are too many for it */
		size_t floor = (size_t)DAEMON_HANDOFF_MIN_SLOTS * (cases[k].workers - 1);
		assert_true(
		    worker_slots <=
		    (floor > DAEMON_HANDOFF_BUDGET_SLOTS ? floor : DAEMON_HANDOFF_BUDGET_SLOTS));
		free_daemon(d);
	}
	assert_int_equal(daemon_handoff_slots(1), 0);
}

/* A worker set up for its handoff drain alone: the datagrams pushed are not
 * SIP, so each is a counted drop (dropped_unparsable) without the socket or
 * the table. */
static struct daemon *drain_daemon(unsigned nworkers)
{
	struct daemon *d = new_daemon(nworkers);
	assert_int_equal(daemon_open_handoffs(d), 0);
	assert_int_equal(ring_create(&d->workers[0].cmd, 16, 64), 0);
	return d;
}

static int hand(struct daemon *d, unsigned from, unsigned to)
{
	struct dmsg_hdr h = {.type = DMSG_DATAGRAM, .len = 1};
	return ring_push(d->workers[to].handoff_in[from], &h, sizeof(h), "x", 1);
}

static void test_one_drain_stops_at_its_bound(void **state)
{
	(void)state;
	struct daemon *d = drain_daemon(3);
	struct worker *w = &d->workers[0];
	uint32_t per_ring = daemon_handoff_slots(3);

	/* what the rings hold together is taken in one turn: nothing waits a
	 * turn behind a bound smaller than the rings */
	for (unsigned i = 0; i < 300; i++)
		assert_int_equal(hand(d, 1, 0), 0);
	for (unsigned i = 0; i < 200; i++)
		assert_int_equal(hand(d, 2, 0), 0);
	assert_int_equal(worker_drain_handoffs(w), 500);
	/* full rings: the bound, both rings served, nothing left */
	for (unsigned i = 0; i < per_ring; i++)
		assert_int_equal(hand(d, 1, 0) | hand(d, 2, 0), 0);
	assert_true(2 * per_ring <= WORKER_HANDOFF_DRAIN_MAX);
	assert_int_equal(worker_drain_handoffs(w), 2 * per_ring);
	assert_int_equal(ring_count(w->handoff_in[1]) + ring_count(w->handoff_in[2]), 0);
	assert_int_equal(worker_drain_handoffs(w), 0);
	assert_int_equal(w->st.handoff_in, 500 + 2 * per_ring);
	assert_int_equal(w->st.dropped_unparsable, 500 + 2 * per_ring);
	free_daemon(d);
}

/* A producer thread that keeps the ring from worker 1 busy: no drain goes
 * past the bound (the worker goes back to its socket and timers), and every
 * datagram pushed is handled once. */
struct producer {
	struct daemon *d;
	unsigned total;
	_Atomic unsigned pushed;
};

static void *produce(void *arg)
{
	struct producer *p = arg;
	while (atomic_load(&p->pushed) < p->total)
		if (hand(p->d, 1, 0) == 0)
			atomic_fetch_add(&p->pushed, 1);
	return NULL;
}

static void test_busy_producer_lets_the_loop_turn(void **state)
{
	(void)state;
	struct daemon *d = drain_daemon(2);
	struct worker *w = &d->workers[0];
	struct producer p = {.d = d, .total = 200000};
	pthread_t t;
	uint64_t taken = 0;

	assert_int_equal(pthread_create(&t, NULL, produce, &p), 0);
	while (taken < p.total) {
		uint32_t n = worker_drain_handoffs(w);
		assert_true(n <= WORKER_HANDOFF_DRAIN_MAX);
		taken += n;
	}
	pthread_join(t, NULL);
	assert_int_equal(worker_drain_handoffs(w), 0);
	assert_int_equal(w->st.handoff_in, p.total);
	assert_int_equal(w->st.dropped_unparsable, p.total);
	free_daemon(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_two_workers_keep_their_ring),
	    cmocka_unit_test(test_memory_grows_with_the_workers_not_their_square),
	    cmocka_unit_test(test_one_drain_stops_at_its_bound),
	    cmocka_unit_test(test_busy_producer_lets_the_loop_turn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
