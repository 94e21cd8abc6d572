/*
 * sendq.h - the datagrams one thread sends through a socket that another
 * thread polls and sends on with its own io (io.h): the controller's, through
 * each worker's socket, so that they leave from the address the calls use.
 *
 * Owns: a copy of each datagram pushed, in a preallocated byte ring of
 * max_bytes (no allocation per datagram), in the order pushed, until the
 * kernel takes it; sending them with sendmmsg, NET_SENDQ_BATCH a call, at
 * each flush, and at once from a push that finds a batch's worth waiting;
 * counting what the kernel refused. Does not own: the socket, or the poll
 * loop (the owner's).
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
	uint64_t sent;	  /* datagrams the kernel took */
	uint64_t refused; /* the kernel refused them (no route, a broadcast
			     address, EPERM...), or too large to queue: dropped */
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
 * larger than the address). Returns 0, or -EINVAL (len 0), and refuses (and
 * counts) a datagram larger than max_bytes or of another family. */
int net_sendq_push(struct net_sendq *q, const void *buf, size_t len, const struct sockaddr *to,
		   socklen_t tolen);
/* Sends what is queued, oldest first. Returns 0. */
int net_sendq_flush(struct net_sendq *q);
/* Datagrams queued and not yet sent. */
uint32_t net_sendq_pending(const struct net_sendq *q);
/* What the owner's poll should wait for on fd for the queue (0: nothing). */
short net_sendq_poll_events(const struct net_sendq *q, int *timeout_ms);

void net_sendq_get_stats(const struct net_sendq *q, struct net_sendq_stats *st);

#endif
