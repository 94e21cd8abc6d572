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

#include <arpa/inet.h>
#include <poll.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "net/udp.h"
#include "backends.h"
#include "netns.h"

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

/* A 2xx the controller sends through the call's worker after its install
 * (DMSG_SEND) may be up to DMSG_DATA_MAX bytes, while tx_buffer_size may be
 * as low as 1500: a 2xx with video or ICE lines longer than the send
 * buffers must still leave (it was dropped as tx_no_buffer at every
 * retransmission, and the caller never got the call's answer). Ports from
 * the 16560-16563 range of this test host. */
static void ignore_datagram(void *arg, const struct net_pkt *pkt)
{
	(void)arg;
	(void)pkt;
}

/* The size of the controller's 2xx in these tests: more than the 1500 of
 * tx_buffer_size. */
enum { CTL_SEND_LEN = 3000 };

/* The controller's 2xx for peer, taken by worker 0: its command ring made big
 * enough for a DMSG_DATA_MAX command, the DMSG_SEND pushed, and a handoff,
 * which has the worker apply its commands first. */
static void send_for_controller(struct daemon *d, const struct sockaddr_storage *peer,
				socklen_t peer_len)
{
	struct worker *w = &d->workers[0];
	static char big[CTL_SEND_LEN];

	ring_destroy(w->cmd);
	assert_int_equal(ring_create(&w->cmd, 16, sizeof(struct dmsg_hdr) + DMSG_DATA_MAX), 0);
	memset(big, 'v', sizeof(big));
	struct dmsg_hdr h = {.type = DMSG_SEND, .len = sizeof(big)};
	dmsg_set_peer(&h, (const struct sockaddr *)peer, peer_len);
	assert_int_equal(ring_push(w->cmd, &h, sizeof(h), big, sizeof(big)), 0);
	assert_int_equal(hand(d, 1, 0), 0);
	assert_int_equal(worker_drain_handoffs(w), 1);
}

/* Closes worker 0's io and socket, the peer's socket, and the daemon. */
static void close_send_fixture(struct daemon *d, int peer)
{
	net_io_close(d->workers[0].io);
	close(d->workers[0].fd);
	close(peer);
	free_daemon(d);
}

static void test_controller_send_larger_than_a_send_buffer_leaves(void **state)
{
	(void)state;
	struct daemon *d = drain_daemon(2);
	struct worker *w = &d->workers[0];
	struct config cfg = {.tx_buffer_size = 1500};
	struct sockaddr_storage a, b;
	socklen_t alen, blen;
	char err[128];

	d->cfg = &cfg;
	assert_int_equal(udp_parse_addr("127.0.0.1:16562", &a, &alen, err, sizeof(err)), 0);
	assert_int_equal(udp_parse_addr("127.0.0.1:16563", &b, &blen, err, sizeof(err)), 0);
	w->fd = udp_socket_bind(&a, alen, false);
	int peer = udp_socket_bind(&b, blen, false);
	assert_true(w->fd >= 0 && peer >= 0);
	struct net_io_config nc = {
	    .fd = w->fd, .nbufs = 8, .buf_size = DMSG_DATA_MAX, .ntx = 8, .tx_size = 1500};
	assert_int_equal(net_io_open(&w->io, &nc), 0);

	send_for_controller(d, &b, blen);
	net_io_flush(w->io);

	struct pollfd pfd = {.fd = peer, .events = POLLIN};
	char got[4096];
	assert_int_equal(poll(&pfd, 1, 1000), 1);
	assert_int_equal(recv(peer, got, sizeof(got), MSG_DONTWAIT), CTL_SEND_LEN);
	assert_int_equal(w->st.sent_for_controller, 1);
	assert_int_equal(w->st.tx_no_buffer, 0);
	close_send_fixture(d, peer);
}

/* The same 2xx while sends the worker queued before it wait for room in a
 * full send buffer (a network namespace whose loopback sends at 8 Mbit/s):
 * sent with a sendto it would pass them, and when the buffer was still full
 * it was dropped as tx_no_buffer, a reason it does not have. It is put off,
 * counted in ctl_send_deferred (the callee's retransmission of the 2xx comes
 * through again), and never sent; the sends before it all arrive. */
static void controller_send_deferred(bool no_uring)
{
	enum { n = 300, len = 1000 };
	struct daemon *d = drain_daemon(2);
	struct worker *w = &d->workers[0];
	struct config cfg = {.tx_buffer_size = 1500};
	struct sockaddr_storage a, b;
	socklen_t alen, blen;
	char err[128];
	int small = 2048, big_rcv = 8 << 20;

	enter_slow_loopback();
	d->cfg = &cfg;
	assert_int_equal(udp_parse_addr("127.0.0.1:0", &a, &alen, err, sizeof(err)), 0);
	b = a;
	blen = alen;
	w->fd = udp_socket_bind(&a, alen, false);
	int peer = udp_socket_bind(&b, blen, false);
	assert_true(w->fd >= 0 && peer >= 0);
	((struct sockaddr_in *)&b)->sin_port = htons((uint16_t)udp_bound_port(peer));
	assert_int_equal(setsockopt(w->fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	assert_int_equal(setsockopt(peer, SOL_SOCKET, SO_RCVBUFFORCE, &big_rcv, sizeof(big_rcv)),
			 0);
	struct net_io_config nc = {.fd = w->fd,
				   .nbufs = 8,
				   .buf_size = DMSG_DATA_MAX,
				   .ntx = 512,
				   .tx_size = 1500,
				   .no_uring = no_uring};
	assert_int_equal(net_io_open(&w->io, &nc), 0);
	if (!no_uring && strcmp(net_io_backend(w->io), "io_uring") != 0) {
		close_send_fixture(d, peer);
		skip(); /* no usable io_uring here */
	}

	/* the worker's own sends, more than the send buffer holds */
	for (int i = 0; i < n; i++) {
		char *out = net_tx_alloc(w->io);
		assert_non_null(out);
		memset(out, 'a', len);
		assert_int_equal(net_tx_queue(w->io, out, len, (struct sockaddr *)&b, blen), 0);
	}
	(void)net_io_flush(w->io);

	send_for_controller(d, &b, blen);
	assert_int_equal(w->st.ctl_send_deferred, 1);
	assert_int_equal(w->st.sent_for_controller, 0);
	assert_int_equal(w->st.tx_no_buffer, 0);

	/* the worker's sends all arrive, the 2xx not among them */
	unsigned got = 0;
	char buf[4096];
	for (int i = 0; i < 600 && got < n; i++) {
		ssize_t r;
		(void)net_io_poll(w->io, 5, ignore_datagram, NULL);
		while ((r = recv(peer, buf, sizeof(buf), MSG_DONTWAIT)) >= 0) {
			assert_int_equal(r, len);
			got++;
		}
	}
	assert_int_equal(got, n);
	close_send_fixture(d, peer);
}

NET_BOTH_BACKENDS(controller_send_deferred)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_two_workers_keep_their_ring),
	    cmocka_unit_test(test_memory_grows_with_the_workers_not_their_square),
	    cmocka_unit_test(test_one_drain_stops_at_its_bound),
	    cmocka_unit_test(test_busy_producer_lets_the_loop_turn),
	    cmocka_unit_test(test_controller_send_larger_than_a_send_buffer_leaves),
	    NET_BOTH_TESTS_TEARDOWN(controller_send_deferred, net_ns_restore),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
