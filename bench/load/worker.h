/*
 * worker.h - the per-thread scaffolding that the uac and uas roles share.
 *
 * Owns: the life of a role's worker thread (allocate its state, set it up,
 * announce readiness to main.c, run its loop, tear it down, fold the io
 * counters into struct load_worker), a worker's UDP endpoints (bind, the local
 * address as text, net_io open and close, the pending-flush flag), the SDP
 * address taken from a local address, and publishing the live figures of the
 * progress line. Does not own: what the roles send or keep (uac.c, uas.c), the
 * drop-proxy (it uses plain sockets), the command line (main.c).
 */
#ifndef SIPSHARD_LOAD_WORKER_H
#define SIPSHARD_LOAD_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "load.h"
#include "net/io.h"

/* What every role's state starts with (its first member, so that
 * load_worker_run fills it in before the role's setup runs). */
struct load_ctx {
	struct load_worker *w;
	const struct load_cfg *cfg;
	struct load_stats *st;
	struct load_counters *c; /* &st->c */
	unsigned th;		 /* the thread's index */
	char th_hex[2];		 /* th in two hex digits, as the tokens we generate carry it */
	uint64_t last_publish;
};

/* Retransmission intervals T1 << 0 .. T1 << (LOAD_RT_CLASSES - 1), one timer
 * list each. */
#define LOAD_RT_CLASSES 7

/* Sets up lists[0 .. LOAD_RT_CLASSES - 1] with the intervals of --t1-ms and
 * returns the class whose interval is the largest not above --t2-ms (where a
 * non-INVITE retransmission stops doubling, RFC 3261 17.1.2.2). */
unsigned load_rt_lists(struct tl_list *lists, const struct load_cfg *cfg);

/* One bound UDP socket with its batched io. A zeroed struct holds nothing. */
struct load_ep {
	int fd;
	struct net_io *io;
	char local[64]; /* the bound address, "IP:PORT" or "[IPv6]:PORT" */
	size_t local_len;
	bool queued; /* sends queued since the last flush */
};

/* Binds a (SO_REUSEPORT when reuseport), or takes w->fd when main.c bound
 * it, and opens its io with ntx send buffers; sets w->backend. Returns 0, or
 * a negative errno with w->err said. */
int load_ep_open(struct load_ep *e, struct load_worker *w, const struct sockaddr_storage *a,
		 socklen_t alen, bool reuseport, unsigned ntx);
/* Adds the io counters to w, closes the io and the socket (what is open of them). */
void load_ep_close(struct load_ep *e, struct load_worker *w);
/* Submits queued sends, if any. */
void load_ep_flush(struct load_ep *e);

/* The IP of an "IP:PORT" or "[IPv6]:PORT" text, without brackets or port,
 * into out (cap bytes, cut to fit, not terminated); returns its length. */
size_t load_sdp_ip(const char *addr, bool ipv6, char *out, size_t cap);

/* Sets the live figures of the progress line: calls up, outstanding, errors,
 * and from the counters the final responses and retransmissions so far. Does
 * nothing unless force or 10 ms passed since it last did; returns whether it
 * published. */
bool load_publish(struct load_ctx *x, uint64_t now, bool force, uint64_t up, uint64_t outstanding,
		  uint64_t errors);

/* A role: the size of its state (a struct beginning with struct load_ctx),
 * and what runs on its thread. setup returns 0 or a negative errno (with
 * w->err said); teardown undoes whatever setup did or did not get to, on a
 * state that starts zeroed. */
struct load_role_ops {
	size_t size;
	int (*setup)(void *state);
	void (*loop)(void *state);
	void (*teardown)(void *state);
};

/* The body of a worker thread for role ops: allocate, fill in the load_ctx,
 * set up, announce readiness (w->ready 1, or -1 with w->rc), loop, tear down,
 * free. */
void load_worker_run(struct load_worker *w, const struct load_role_ops *ops);

#endif
