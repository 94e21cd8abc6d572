/*
 * udp_echo - the ceiling for the benchmarks: a bare UDP echo over the same
 * batched I/O layer as sipshardd (io_uring or recvmmsg), one thread per
 * SO_REUSEPORT socket, no parsing. No SIP server can be faster on the same
 * machine and load, so figures are shown as ratios to it.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/io.h"
#include "net/udp.h"

static const char usage_text[] =
	"usage: udp_echo [--addr IP:PORT] [--threads N] [--no-uring]\n"
	"Echoes every datagram back to its sender until SIGINT/SIGTERM.\n"
	"  --addr IP:PORT   listen address (default 127.0.0.1:5070)\n"
	"  --threads N      sockets and threads in one SO_REUSEPORT group (default 1)\n"
	"  --no-uring       recvmmsg/sendmmsg instead of io_uring\n";

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct echo {
	struct net_io *io;
	pthread_t thread;
};

static void echo_pkt(void *arg, const struct net_pkt *p)
{
	struct echo *e = arg;
	char *b = net_tx_alloc(e->io);
	if (!b)
		return;
	memcpy(b, p->data, p->len);
	net_tx_queue(e->io, b, p->len, p->peer, p->peer_len);
}

static void *run(void *arg)
{
	struct echo *e = arg;
	while (!stop)
		net_io_poll(e->io, 100, echo_pkt, e);
	return NULL;
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
	int c;

	while ((c = getopt_long(argc, argv, "a:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			addr = optarg;
			break;
		case 't':
			threads = strtol(optarg, NULL, 10);
			if (threads < 1 || threads > 64) {
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
	struct sockaddr_storage ss;
	socklen_t len;
	char err[160];
	if (udp_parse_addr(addr, &ss, &len, err, sizeof(err))) {
		fprintf(stderr, "udp_echo: --addr: %s\n", err);
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	struct echo *e = calloc((size_t)threads, sizeof(*e));
	for (long i = 0; i < threads; i++) {
		int fd = udp_socket_bind(&ss, len, true);
		if (fd < 0) {
			fprintf(stderr, "udp_echo: cannot bind %s: %s\n", addr, strerror(-fd));
			return 1;
		}
		struct net_io_config nc = {fd, 2048, 2048, 2048, 2048, no_uring};
		int rc = net_io_open(&e[i].io, &nc);
		if (rc) {
			fprintf(stderr, "udp_echo: I/O setup: %s\n", strerror(-rc));
			return 1;
		}
		pthread_create(&e[i].thread, NULL, run, &e[i]);
	}
	for (long i = 0; i < threads; i++)
		pthread_join(e[i].thread, NULL);
	return 0;
}
