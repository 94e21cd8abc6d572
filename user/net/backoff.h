/*
 * backoff.h - how a sender waits out ENOBUFS.
 *
 * A UDP send that fails with ENOBUFS found the kernel short of memory for
 * the datagram (or, on a socket with IP_RECVERR, its packet dropped by a
 * full device queue), not the socket's send buffer full: that one is EAGAIN,
 * and poll() says POLLOUT once there is room. With ENOBUFS the send buffer
 * has room, so POLLOUT is ready at once, and a sender that waits for it to
 * try again spins a CPU for as long as the shortage lasts. It waits a while
 * instead: NET_BACKOFF_MIN_MS after the first failure, twice as long after
 * each further one, NET_BACKOFF_MAX_MS at most (well under SIP's T1 of
 * 500 ms, so a retry comes before the peer's retransmission would), and
 * from the start again once a send goes.
 *
 * Owns: the wait's arithmetic. Does not own: the clock (core/clock.h), the
 * sends, or counting them (each sender counts its ENOBUFS).
 */
#ifndef SIPSHARD_NET_BACKOFF_H
#define SIPSHARD_NET_BACKOFF_H

#include <stdint.h>

#define NET_BACKOFF_MIN_MS 1
#define NET_BACKOFF_MAX_MS 64

struct net_backoff {
	uint64_t until_ms; /* monotonic ms: no send is tried before */
	uint32_t step_ms;  /* the last wait; 0: no failure since the last send */
};

/* A send failed with ENOBUFS at now_ms: the next waits longer. */
static inline void net_backoff_failed(struct net_backoff *b, uint64_t now_ms)
{
	if (!b->step_ms)
		b->step_ms = NET_BACKOFF_MIN_MS;
	else if (b->step_ms < NET_BACKOFF_MAX_MS)
		b->step_ms =
		    b->step_ms * 2 < NET_BACKOFF_MAX_MS ? b->step_ms * 2 : NET_BACKOFF_MAX_MS;
	b->until_ms = now_ms + b->step_ms;
}

/* A send went: the kernel has memory again. */
static inline void net_backoff_reset(struct net_backoff *b)
{
	b->step_ms = 0;
	b->until_ms = 0;
}

/* Milliseconds until sends may be tried again; 0 when they may now. */
static inline int net_backoff_left(const struct net_backoff *b, uint64_t now_ms)
{
	return b->until_ms > now_ms ? (int)(b->until_ms - now_ms) : 0;
}

/* timeout_ms (poll's: < 0 forever) cut to the wait left, when there is one:
 * the sender wakes to try again. */
static inline int net_backoff_timeout(const struct net_backoff *b, uint64_t now_ms, int timeout_ms)
{
	int left = net_backoff_left(b, now_ms);
	if (left > 0 && (timeout_ms < 0 || timeout_ms > left))
		return left;
	return timeout_ms;
}

#endif
