/*
 * sendq.h - the datagrams one thread sends through a socket that another
 * thread polls and sends on with its own io (io.h): the controller's, through
 * each worker's socket, so that they leave from the address the calls use.
 *
 * Owns: a copy of each datagram pushed, in a preallocated byte ring of
 * max_bytes (no allocation per datagram), in the order pushed, until the
 * kernel takes it; sending them with sendmmsg, NET_SENDQ_BATCH a call, at
 * each flush, and at once from a push that finds a batch's worth waiting;
 * counting what the kernel refused, what waited, what was dropped. Does not
 * own: the socket, or the poll loop (the owner's, which asks
 * net_sendq_poll_events what to wait for).
 *
 * When the kernel cannot take a datagram yet it stays queued, at the front,
 * and so does everything pushed after it: the order of one socket's sends
 * is kept. A full send buffer (EAGAIN): the owner's poll waits for POLLOUT,
 * and the next flush sends. The kernel short of memory (ENOBUFS): POLLOUT
 * would be ready at once, so the poll's timeout is cut to a wait of 1 ms,
 * doubling to 64 (net/backoff.h), and no send is tried before it is over.
 * Before, a datagram that found the buffer full was dropped as refused; for
 * most SIP's retransmissions made up, but not for an ACK to a 2xx, a 2xx
 * sent once or a stateless answer.
 *
 * Bounded: when a datagram finds no room (max_bytes or max_dgrams) while
 * the socket takes nothing, the oldest queued give way, counted
 * (dropped_full). The oldest, not the newest: the oldest has waited
 * longest, so its peer's retransmission timers have run longest and a copy
 * of it (a request resent, or the response to one) is the likeliest to be
 * on its way or queued behind it; the newest is the least likely to be
 * covered yet, and the one a peer waits for now.
 *
 * Not thread safe: one thread pushes and flushes.
 */
#ifndef SIPSHARD_NET_SENDQ_H
#define SIPSHARD_NET_SENDQ_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* datagrams per sendmmsg call */
#define NET_SENDQ_BATCH 64

struct net_sendq_stats {
	uint64_t sent;	       /* datagrams the kernel took */
	uint64_t refused;      /* the kernel refused them (no route, a broadcast
				  address, EPERM...), or too large to queue: dropped */
	uint64_t waited;       /* found the send buffer full (EAGAIN), or pushed
				  behind those that did: each counted once,
				  sent later, refused or dropped_full */
	uint64_t dropped_full; /* the oldest, given way to a newer one while the
				  queue was full and the socket took nothing */
	uint64_t enobufs;      /* sendmmsg calls the kernel failed for want of
				  memory (ENOBUFS): tried again after a wait */
};

/* Told of each datagram refused (the stats count them), with its
 * destination and the errno, e.g. to log it. */
typedef void (*net_sendq_refused_fn)(void *arg, const struct sockaddr *to, int err);

struct net_sendq;

/* A queue for fd (a bound, non-blocking UDP socket) of up to max_bytes of
 * datagrams and max_dgrams datagrams (both at least 1; max_bytes takes any
 * datagram up to its size). refused may be NULL. Returns 0, -EINVAL or
 * -ENOMEM. */
int net_sendq_open(struct net_sendq **q, int fd, uint32_t max_bytes, uint32_t max_dgrams,
		   net_sendq_refused_fn refused, void *arg);
/* Frees the queue; what is still queued is not sent. Does not close fd. */
void net_sendq_close(struct net_sendq *q);

/* Queues a copy of len bytes for `to` (AF_INET or AF_INET6; tolen may be
 * larger than the address), the oldest dropped if need be (above). Returns
 * 0, or -EINVAL (len 0), and refuses (and counts) a datagram larger than
 * max_bytes or of another family. */
int net_sendq_push(struct net_sendq *q, const void *buf, size_t len, const struct sockaddr *to,
		   socklen_t tolen);
/* Sends what is queued, oldest first, until the kernel takes no more.
 * Returns 0 when the queue is empty, -EAGAIN (wait for POLLOUT) or -ENOBUFS
 * (wait for the timeout net_sendq_poll_events gives) when some wait. */
int net_sendq_flush(struct net_sendq *q);
/* Datagrams queued and not yet sent. */
uint32_t net_sendq_pending(const struct net_sendq *q);
/* What the owner's poll should wait for on fd for the datagrams still
 * queued after a flush: POLLOUT while they wait for room in the send
 * buffer, else 0; *timeout_ms (poll's, < 0: none) is cut to the end of the
 * wait after an ENOBUFS. Then the owner flushes again. */
short net_sendq_poll_events(const struct net_sendq *q, int *timeout_ms);

void net_sendq_get_stats(const struct net_sendq *q, struct net_sendq_stats *st);

#endif
