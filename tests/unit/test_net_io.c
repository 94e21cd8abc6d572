/*
 * test_net_io.c - the batched UDP layer on real loopback sockets, for both
 * backends: round trips, truncated datagrams, receive-buffer exhaustion, and
 * send-pool exhaustion.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "net/io.h"
#include "net/udp.h"

struct fixture {
	int srv, cli;
	struct sockaddr_storage srv_addr;
	socklen_t srv_len;
	struct net_io *io;
	unsigned got;
	bool echo;
};

static int open_pair(struct fixture *f, bool no_uring, unsigned nbufs, unsigned buf_size)
{
	char err[128];
	memset(f, 0, sizeof(*f));
	assert_int_equal(udp_parse_addr("127.0.0.1:0", &f->srv_addr, &f->srv_len, err, sizeof(err)),
			 0);
	f->srv = udp_socket_bind(&f->srv_addr, f->srv_len, false);
	assert_true(f->srv >= 0);
	((struct sockaddr_in *)&f->srv_addr)->sin_port = htons((uint16_t)udp_bound_port(f->srv));
	struct sockaddr_storage any;
	socklen_t alen;
	udp_parse_addr("127.0.0.1:0", &any, &alen, err, sizeof(err));
	f->cli = udp_socket_bind(&any, alen, false);
	assert_true(f->cli >= 0);
	struct net_io_config c = {f->srv, nbufs, buf_size, 8, 2048, no_uring};
	return net_io_open(&f->io, &c);
}

static void close_pair(struct fixture *f)
{
	net_io_close(f->io);
	close(f->srv);
	close(f->cli);
}

static void on_pkt(void *arg, const struct net_pkt *p)
{
	struct fixture *f = arg;
	f->got++;
	if (!f->echo)
		return;
	char *b = net_tx_alloc(f->io);
	assert_non_null(b);
	memcpy(b, p->data, p->len);
	assert_int_equal(net_tx_queue(f->io, b, p->len, p->peer, p->peer_len), 0);
}

static void send_n(struct fixture *f, unsigned n, size_t len)
{
	static char buf[65535];
	memset(buf, 'x', sizeof(buf));
	for (unsigned i = 0; i < n; i++) {
		snprintf(buf, 16, "%08u", i);
		assert_int_equal(sendto(f->cli, buf, len, 0, (struct sockaddr *)&f->srv_addr,
					f->srv_len),
				 (ssize_t)len);
	}
}

static unsigned drain_client(struct fixture *f, unsigned want)
{
	char buf[4096];
	unsigned got = 0;
	struct pollfd p = {f->cli, POLLIN, 0};
	while (got < want && poll(&p, 1, 500) > 0)
		while (recv(f->cli, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			got++;
	return got;
}

static void pump(struct fixture *f, unsigned want)
{
	for (int i = 0; i < 200 && f->got < want; i++)
		assert_true(net_io_poll(f->io, 10, on_pkt, f) >= 0);
}

static void echo_round_trip(bool no_uring)
{
	struct fixture f;
	assert_int_equal(open_pair(&f, no_uring, 64, 2048), 0);
	assert_string_equal(net_io_backend(f.io), no_uring ? "recvmmsg" : "io_uring");
	f.echo = true;
	for (int round = 0; round < 20; round++) {
		unsigned before = f.got;
		send_n(&f, 8, 300);
		pump(&f, before + 8);
		assert_int_equal(f.got, before + 8);
		assert_int_equal(drain_client(&f, 8), 8);
	}
	struct net_io_stats st;
	net_io_get_stats(f.io, &st);
	assert_int_equal(st.rx, 160);
	close_pair(&f);
}

static void test_echo_uring(void **s)
{
	(void)s;
	echo_round_trip(false);
}

static void test_echo_mmsg(void **s)
{
	(void)s;
	echo_round_trip(true);
}

static void truncated(bool no_uring)
{
	struct fixture f;
	struct net_io_stats st;
	assert_int_equal(open_pair(&f, no_uring, 16, 512), 0);
	send_n(&f, 1, 4000); /* larger than a receive buffer */
	send_n(&f, 1, 100);
	pump(&f, 1);
	net_io_get_stats(f.io, &st);
	assert_int_equal(st.rx_truncated, 1);
	assert_int_equal(f.got, 1);
	close_pair(&f);
}

static void test_truncated_uring(void **s)
{
	(void)s;
	truncated(false);
}

static void test_truncated_mmsg(void **s)
{
	(void)s;
	truncated(true);
}

static void test_uring_survives_buffer_exhaustion(void **s)
{
	struct fixture f;
	struct net_io_stats st;
	(void)s;
	assert_int_equal(open_pair(&f, false, 8, 512), 0);
	/* more datagrams than buffers arrive before the first poll */
	send_n(&f, 200, 100);
	for (int i = 0; i < 100; i++)
		net_io_poll(f.io, 5, on_pkt, &f);
	net_io_get_stats(f.io, &st);
	assert_true(st.rx_enobufs >= 1);
	assert_true(st.rearms >= 1);
	assert_true(f.got >= 8);
	/* and it keeps receiving afterwards */
	unsigned before = f.got;
	send_n(&f, 5, 100);
	pump(&f, before + 5);
	assert_int_equal(f.got, before + 5);
	close_pair(&f);
}

static void test_tx_pool_exhaustion(void **s)
{
	struct fixture f;
	char *bufs[8];
	(void)s;
	assert_int_equal(open_pair(&f, true, 16, 512), 0);
	for (int i = 0; i < 8; i++)
		assert_non_null(bufs[i] = net_tx_alloc(f.io));
	assert_null(net_tx_alloc(f.io));
	for (int i = 0; i < 8; i++)
		net_tx_release(f.io, bufs[i]);
	assert_non_null(net_tx_alloc(f.io));
	close_pair(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_echo_uring),
		cmocka_unit_test(test_echo_mmsg),
		cmocka_unit_test(test_truncated_uring),
		cmocka_unit_test(test_truncated_mmsg),
		cmocka_unit_test(test_uring_survives_buffer_exhaustion),
		cmocka_unit_test(test_tx_pool_exhaustion),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
