/*
 * udp_echo - the ceiling for the benchmarks: a bare UDP echo over the same
 * batched I/O layer and the same batch sizes as sipshardd's workers
 * (io_uring or recvmmsg), one thread per SO_REUSEPORT socket, no parsing.
 * No SIP server can be faster on the same machine and load, so benchmark
 * figures are shown as ratios to it.
 *
 * Owns: its command line and threads. Does not own: the I/O (net/io.h).
 * Prints one line when listening (address, backend, threads) so scripts can
 * learn the port when --addr says port 0, and totals on exit; nothing per
 * datagram.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cli.h"
#include "net/io.h"
#include "net/udp.h"

static const char usage_text[] =
    "usage: udp_echo [--addr IP:PORT] [--threads N] [--no-uring]\n"
    "Echoes every datagram back to its sender until SIGINT/SIGTERM.\n"
    "  -a, --addr IP:PORT  listen address (default 127.0.0.1:5070; port 0 picks one)\n"
    "  -t, --threads N     sockets and threads in one SO_REUSEPORT group (1-64, default 1)\n"
    "      --no-uring      recvmmsg/sendmmsg instead of io_uring\n"
    "  -h, --help          print this text\n";

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct echo {
	int fd;
	struct net_io *io;
	pthread_t thread;
	bool started;
	uint64_t no_buffer; /* datagrams not echoed: send pool empty */
	uint64_t too_big;   /* datagrams not echoed: larger than a send buffer */
};

static void echo_pkt(void *arg, const struct net_pkt *p)
{
	struct echo *e = arg;
	char *b = net_tx_alloc(e->io);

	if (!b) {
		e->no_buffer++;
		return;
	}
	memcpy(b, p->data, p->len); /* len <= buf_size == tx_size */
	if (net_tx_queue(e->io, b, p->len, p->peer, p->peer_len) != 0)
		e->too_big++;
}

static void *run(void *arg)
{
	struct echo *e = arg;

	while (!stop)
		net_io_poll(e->io, 100, echo_pkt, e);
	return NULL;
}

static int parse_threads(const char *s, long *out)
{
	return cli_long(s, 1, 64, out);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"addr", required_argument, NULL, 'a'},
					     {"threads", required_argument, NULL, 't'},
					     {"no-uring", no_argument, NULL, 'U'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *addr = "127.0.0.1:5070";
	long threads = 1;
	bool no_uring = false;
	int c, rc = 0;

	while ((c = getopt_long(argc, argv, "a:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			addr = optarg;
			break;
		case 't':
			if (parse_threads(optarg, &threads)) {
				fprintf(stderr, "udp_echo: --threads: expected 1-64, got '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'U':
			no_uring = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			fputs(usage_text, stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "udp_echo: unexpected argument '%s'\n", argv[optind]);
		fputs(usage_text, stderr);
		return 2;
	}
	struct sockaddr_storage ss;
	socklen_t len;
	char err[160];
	if (udp_parse_addr(addr, &ss, &len, err, sizeof(err))) {
		fprintf(stderr, "udp_echo: --addr: %s\n", err);
		return 2;
	}

	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	struct echo *e = calloc((size_t)threads, sizeof(*e));
	if (!e) {
		fprintf(stderr, "udp_echo: out of memory\n");
		return 1;
	}
	for (long i = 0; i < threads; i++)
		e[i].fd = -1;
	for (long i = 0; i < threads; i++) {
		e[i].fd = udp_socket_bind(&ss, len, true);
		if (e[i].fd < 0) {
			fprintf(stderr, "udp_echo: cannot bind %s: %s\n", addr, strerror(-e[i].fd));
			rc = 1;
			goto out;
		}
		/* port 0: the first socket picks the port, the group joins it */
		if (i == 0) {
			int port = udp_bound_port(e[i].fd);
			if (ss.ss_family == AF_INET)
				((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
			else
				((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
		}
		/* the same shape as a sipshardd worker (daemon.c) */
		struct net_io_config nc = {
		    .fd = e[i].fd,
		    .nbufs = 4096,
		    .buf_size = 2048,
		    .ntx = 4096,
		    .tx_size = 2048,
		    .no_uring = no_uring,
		};
		int r = net_io_open(&e[i].io, &nc);
		if (r) {
			fprintf(stderr, "udp_echo: I/O setup: %s\n", strerror(-r));
			rc = 1;
			goto out;
		}
	}
	char where[UDP_ADDR_STRLEN];
	udp_format_addr((const struct sockaddr *)&ss, where, sizeof(where));
	printf("udp_echo: listening on %s (%s, %ld thread%s)\n", where, net_io_backend(e[0].io),
	       threads, threads == 1 ? "" : "s");
	fflush(stdout);
	for (long i = 0; i < threads; i++) {
		int r = pthread_create(&e[i].thread, NULL, run, &e[i]);
		if (r) {
			fprintf(stderr, "udp_echo: thread: %s\n", strerror(r));
			stop = 1;
			rc = 1;
			break;
		}
		e[i].started = true;
	}
out:
	for (long i = 0; i < threads; i++)
		if (e[i].started)
			pthread_join(e[i].thread, NULL);
	struct net_io_stats sum = {0};
	uint64_t no_buffer = 0, too_big = 0;
	for (long i = 0; i < threads; i++) {
		if (e[i].io) {
			struct net_io_stats st;
			net_io_get_stats(e[i].io, &st);
			sum.rx += st.rx;
			sum.rx_truncated += st.rx_truncated;
			sum.rx_enobufs += st.rx_enobufs;
			sum.tx += st.tx;
			sum.tx_errors += st.tx_errors;
			sum.tx_enobufs += st.tx_enobufs;
			net_io_close(e[i].io);
		}
		if (e[i].fd >= 0)
			close(e[i].fd);
		no_buffer += e[i].no_buffer;
		too_big += e[i].too_big;
	}
	if (rc == 0)
		fprintf(stderr,
			"udp_echo: rx %llu, tx %llu, truncated %llu, enobufs %llu, tx errors %llu, "
			"tx enobufs %llu, no buffer %llu, too big %llu\n",
			(unsigned long long)sum.rx, (unsigned long long)sum.tx,
			(unsigned long long)sum.rx_truncated, (unsigned long long)sum.rx_enobufs,
			(unsigned long long)sum.tx_errors, (unsigned long long)sum.tx_enobufs,
			(unsigned long long)no_buffer, (unsigned long long)too_big);
	free(e);
	return rc;
}
