/*
 * lossy_proxy.c - the drop-proxy role of sipshard-load: a UDP relay between a
 * client (on --local) and one server (--target) that drops every Nth SIP
 * request (and optionally every Mth response), in both directions, so that
 * tests can watch retransmissions and timeouts happen for real.
 *
 * Owns: the client-side socket, one server-side socket per client address
 * seen (like a NAT, so that what the server sends back reaches the client
 * socket it belongs to, up to PROXY_MAX_CLIENTS), the drop counters. Does
 * not own: any SIP state; it only tells requests from responses by the first
 * bytes. Not a fast path: plain poll/recvfrom/sendto, plenty for tests.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "load.h"
#include "net/udp.h"

#define PROXY_MAX_CLIENTS 256

struct proxy_client {
	struct sockaddr_storage addr;
	socklen_t len;
	int fd; /* our socket towards the server for this client */
};

struct proxy {
	struct load_worker *w;
	struct load_counters *c;
	int cfd;
	struct proxy_client cl[PROXY_MAX_CLIENTS];
	unsigned ncl;
	struct pollfd pf[PROXY_MAX_CLIENTS + 1];
	uint64_t nreq, nresp;
};

/* The server-side socket of a client address, opened on first sight; NULL
 * when the table is full or a socket cannot be had. */
static struct proxy_client *client_of(struct proxy *px, const struct sockaddr_storage *a,
				      socklen_t len)
{
	for (unsigned i = 0; i < px->ncl; i++)
		if (px->cl[i].len == len && !memcmp(&px->cl[i].addr, a, len))
			return &px->cl[i];
	if (px->ncl == PROXY_MAX_CLIENTS)
		return NULL;
	struct sockaddr_storage any = px->w->cfg->local;
	if (any.ss_family == AF_INET)
		((struct sockaddr_in *)&any)->sin_port = 0;
	else
		((struct sockaddr_in6 *)&any)->sin6_port = 0;
	int fd = udp_socket_bind(&any, px->w->cfg->local_len, false);
	if (fd < 0)
		return NULL;
	struct proxy_client *c = &px->cl[px->ncl];
	c->addr = *a;
	c->len = len;
	c->fd = fd;
	px->pf[px->ncl + 1] = (struct pollfd){fd, POLLIN, 0};
	px->ncl++;
	return c;
}

/* Whether to drop this datagram (dir 0: client to server, 1: back); counts it
 * either way. The Nth-request rule counts requests of both directions together. */
static bool drop(struct proxy *px, int dir, const char *d, size_t n)
{
	const struct load_cfg *cfg = px->w->cfg;
	bool response = n >= 8 && !memcmp(d, "SIP/2.0 ", 8);
	if (response) {
		px->nresp++;
		if (cfg->drop_responses_every && px->nresp % cfg->drop_responses_every == 0) {
			px->c->dropped_responses[dir]++;
			return true;
		}
		px->c->fwd_responses[dir]++;
		return false;
	}
	px->nreq++;
	if (cfg->drop_every && px->nreq % cfg->drop_every == 0) {
		px->c->dropped_requests[dir]++;
		return true;
	}
	px->c->fwd_requests[dir]++;
	return false;
}

/* Moves what is waiting on fd: from clients (cl NULL) to the server, or from
 * the server to client cl. */
static void pump(struct proxy *px, int fd, struct proxy_client *cl)
{
	static __thread char buf[65536];
	const struct load_cfg *cfg = px->w->cfg;
	for (;;) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC,
				     (struct sockaddr *)&peer, &plen);
		if (n < 0)
			return;
		if ((size_t)n > sizeof(buf)) {
			px->c->truncated++;
			px->w->io_truncated++;
			continue;
		}
		px->w->io_rx++;
		ssize_t s;
		bool no_socket = false; /* a client the table has no room for */
		if (!cl) {
			struct proxy_client *to = client_of(px, &peer, plen);
			if (drop(px, 0, buf, (size_t)n))
				continue;
			no_socket = !to;
			s = to ? sendto(to->fd, buf, (size_t)n, 0,
					(const struct sockaddr *)&cfg->target, cfg->target_len)
			       : -1;
		} else {
			if (drop(px, 1, buf, (size_t)n))
				continue;
			s = sendto(px->cfd, buf, (size_t)n, 0, (const struct sockaddr *)&cl->addr,
				   cl->len);
		}
		if (s < 0) {
			px->c->send_errors++;
			if (!no_socket) /* a send the kernel refused */
				px->w->io_tx_errors++;
			continue;
		}
		px->w->io_tx++;
		/* the progress line's and the JSON's throughput: datagrams forwarded */
		load_live_set(&px->w->stats->live.completed, px->w->io_tx);
	}
}

void *load_proxy_main(void *arg)
{
	struct load_worker *w = arg;
	const struct load_cfg *cfg = w->cfg;
	struct proxy *px = calloc(1, sizeof(*px));

	w->backend = "poll";
	if (!px) {
		w->rc = -ENOMEM;
		atomic_store(&w->ready, -1);
		return NULL;
	}
	px->w = w;
	px->c = &w->stats->c;
	px->cfd = udp_socket_bind(&cfg->local, cfg->local_len, false);
	if (px->cfd < 0) {
		w->rc = px->cfd;
		snprintf(w->err, sizeof(w->err), "cannot bind %s: %s", cfg->local_s,
			 strerror(-w->rc));
		atomic_store(&w->ready, -1);
		free(px);
		return NULL;
	}
	px->pf[0] = (struct pollfd){px->cfd, POLLIN, 0};
	atomic_store(&w->ready, 1);
	uint64_t t0 = load_now_ns();
	uint64_t end = cfg->duration > 0 ? t0 + (uint64_t)(cfg->duration * 1e9) : UINT64_MAX;
	while (!atomic_load_explicit(w->stop, memory_order_relaxed) && load_now_ns() < end) {
		unsigned n = px->ncl + 1;
		if (poll(px->pf, n, 50) <= 0)
			continue;
		for (unsigned i = 0; i < n; i++)
			if (px->pf[i].revents & POLLIN)
				pump(px, px->pf[i].fd, i ? &px->cl[i - 1] : NULL);
	}
	w->mix_seconds = (double)(load_now_ns() - t0) / 1e9;
	close(px->cfd);
	for (unsigned i = 0; i < px->ncl; i++)
		close(px->cl[i].fd);
	free(px);
	return NULL;
}
