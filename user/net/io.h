/*
 * io.h - batched UDP receive and send for one thread and one socket.
 *
 * Owns: receiving datagrams in batches (io_uring multishot recvmsg into a
 * provided-buffer ring, or poll + recvmmsg when io_uring is off or
 * unavailable), handing each to a callback as a view into the receive buffer
 * (no copy), a preallocated pool of send buffers, and submitting all sends
 * queued during a batch together (one io_uring_submit or sendmmsg calls of up
 * to 64), and an optional wake fd that ends a wait when another thread has
 * work for the caller. Does not own: the socket (the caller binds it and
 * closes it after net_io_close), what the datagrams mean.
 *
 * Not thread safe: one net_io per thread. It may be opened on one thread and
 * used on another, but only by one at a time.
 *
 * A worker loop:
 *
 *	static void on_pkt(void *arg, const struct net_pkt *p)
 *	{
 *		char *out = net_tx_alloc(io);
 *		if (!out) { drops++; return; }          // pool empty: count it
 *		... write n bytes into out ...
 *		net_tx_queue(io, out, n, p->peer, p->peer_len);
 *	}
 *	for (;;)
 *		net_io_poll(io, 10, on_pkt, arg);       // receive, then send the replies
 */
#ifndef SIPSHARD_NET_IO_H
#define SIPSHARD_NET_IO_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

/* Upper bounds net_io_open accepts. 65536 bytes takes any UDP datagram. */
#define NET_IO_MAX_BUFS	    32768u /* receive buffers: the kernel's buffer-ring limit */
#define NET_IO_MAX_BUF_SIZE 65536u
#define NET_IO_MAX_TX	    65536u
#define NET_IO_MAX_TX_SIZE  65536u

/* One received datagram. data and peer point into the receive buffer and are
 * valid only until the callback returns: copy what must outlive it. */
struct net_pkt {
	const char *data;
	uint32_t len;
	const struct sockaddr *peer; /* sockaddr_in or sockaddr_in6 */
	socklen_t peer_len;
};

typedef void (*net_rx_fn)(void *arg, const struct net_pkt *pkt);

struct net_io_config {
	int fd;		   /* bound UDP socket (udp_socket_bind) */
	unsigned nbufs;	   /* receive buffers, rounded up to a power of two; also the
			      most datagrams one net_io_poll handles (e.g. 4096) */
	unsigned buf_size; /* largest datagram accepted, in bytes; bigger ones are
			      counted in rx_truncated and dropped (e.g. 2048, or
			      65536 for any datagram) */
	unsigned ntx;	   /* send buffers in the pool (e.g. 4096) */
	unsigned tx_size;  /* bytes per send buffer */
	bool no_uring;	   /* use poll + recvmmsg/sendmmsg */
};

/* Written by the io's worker with counter_inc (core/counter.h); uint64_t
 * counters only, as net_io_get_stats copies them for another thread. */
struct net_io_stats {
	uint64_t rx;		  /* datagrams handed to the callback */
	uint64_t rx_truncated;	  /* larger than buf_size: dropped */
	uint64_t rx_enobufs;	  /* io_uring ran out of receive buffers (the kernel
				     dropped or held datagrams meanwhile) */
	uint64_t rearms;	  /* multishot receive started again after it ended */
	uint64_t rx_errors;	  /* receive errors other than the above */
	uint64_t rx_socket_drops; /* datagrams the kernel dropped at the socket,
				     its receive queue full (the caller fell
				     behind), before any receive saw them */
	uint64_t tx;		  /* datagrams the kernel accepted */
	uint64_t tx_errors;	  /* sends the kernel refused (bad address, too big...) */
	uint64_t tx_enobufs;	  /* sends the kernel gave back for want of memory
				     (ENOBUFS): kept, and tried again after a
				     wait of 1 ms doubling to 64 (net/backoff.h) */
	uint64_t tx_reordered;	  /* io_uring: sends that left ahead of an
				     earlier one of theirs the kernel gave back
				     (EAGAIN, ENOBUFS), room having come between
				     the two (io_uring.c) */
	uint64_t tx_pool_empty;	  /* net_tx_alloc found no free buffer */
};

struct net_io;

/* Sets up the io_uring backend, or the mmsg backend when cfg->no_uring is set
 * or io_uring cannot be set up (no kernel support, seccomp, no multishot
 * recvmsg). All memory is allocated here. Returns 0, -EINVAL for a bad config
 * (zero or beyond the NET_IO_MAX_* bounds), -ENOTSOCK when fd is not a
 * datagram socket, or another negative errno. Nothing is received before the
 * first net_io_poll (datagrams wait in the socket), so that the receive work
 * falls on the thread that polls, whichever thread opened the io. */
int net_io_open(struct net_io **io, const struct net_io_config *cfg);
/* Frees everything; in-flight sends are cancelled. Does not close cfg->fd. */
void net_io_close(struct net_io *io);
/* "io_uring" or "recvmmsg" */
const char *net_io_backend(const struct net_io *io);
/* Why io uses recvmmsg though io_uring was asked for (cfg->no_uring false):
 * the negative errno of the step that failed, which *step names
 * ("io_uring_setup", "buffer ring memory", "io_uring_register_buf_ring",
 * "multishot recvmsg probe"), so that the operator hears why the fast
 * backend is not there; 0 when io_uring is in use or was not asked for. */
int net_io_uring_refused(const struct net_io *io, const char **step);

/* Submits sends queued earlier, waits up to timeout_ms (0: do not wait, <0:
 * wait forever) for datagrams, calls cb once per datagram received (at most
 * about nbufs), then submits every send queued by the callbacks in one go.
 * Returns the number of datagrams passed to cb, 0 on timeout, or a negative
 * errno when receiving failed and nothing arrived. cb must not call
 * net_io_poll. */
int net_io_poll(struct net_io *io, int timeout_ms, net_rx_fn cb, void *arg);

/* A send buffer of tx_size bytes, or NULL when all are in flight (counted in
 * tx_pool_empty; the caller counts its own drop). When all are queued or in
 * flight, the queued sends leave at once (sendmmsg, on either backend; with
 * io_uring not while sends are in flight, which they would pass) to free
 * their buffers, so a pass whose datagrams each take more than one send
 * does not run the pool dry; those the kernel does not take (EAGAIN,
 * ENOBUFS) wait, the sends after them behind them, as any given back. Each buffer
 * goes back through net_tx_queue or net_tx_release, exactly once. */
char *net_tx_alloc(struct net_io *io);
/* Gives back a buffer that will not be sent. A pointer that is not a buffer
 * the caller holds from net_tx_alloc is ignored. */
void net_tx_release(struct net_io *io, char *buf);
/* Queues len bytes of buf for sending to `to` (AF_INET or AF_INET6; tolen may
 * be larger than the address, e.g. sizeof(struct sockaddr_storage)). The io
 * owns buf from here, whatever the result: it returns to the pool once the
 * kernel is done with it. Nothing is sent before net_io_flush, the end of a
 * net_io_poll, or a net_tx_alloc that finds no free buffer. Returns 0, -EINVAL (len > tx_size or
 * buf is not held from net_tx_alloc) or -EAFNOSUPPORT. */
int net_tx_queue(struct net_io *io, char *buf, uint32_t len, const struct sockaddr *to,
		 socklen_t tolen);
/* Sends len bytes of buf to `to` at once (one sendto), for a datagram larger
 * than tx_size, which no send buffer takes; the io does not keep buf. It
 * goes after every send queued before it, flushed first, and not while one
 * of those waits for room or for the wait after an ENOBUFS: it would pass
 * them. Returns 0 (counted in tx), -EAGAIN when sends wait or the send
 * buffer is full, -ENOBUFS when the kernel is short of memory (not sent, not
 * kept: the caller decides; counted in tx_enobufs, and until the wait that
 * starts then is over, no syscall: -ENOBUFS again), -EAFNOSUPPORT, or the
 * kernel's refusal (counted in tx_errors). */
int net_tx_send_now(struct net_io *io, const void *buf, size_t len, const struct sockaddr *to,
		    socklen_t tolen);
/* The length of the address `to` (tolen bytes, e.g. a sockaddr_storage)
 * that a send takes: that of a sockaddr_in or sockaddr_in6, or 0 when it is
 * neither (another family, or tolen too short for its own). */
static inline socklen_t net_dest_len(const struct sockaddr *to, socklen_t tolen)
{
	if (to->sa_family == AF_INET && tolen >= sizeof(struct sockaddr_in))
		return sizeof(struct sockaddr_in);
	if (to->sa_family == AF_INET6 && tolen >= sizeof(struct sockaddr_in6))
		return sizeof(struct sockaddr_in6);
	return 0;
}
/* Makes fd end a net_io_poll wait as soon as it becomes readable, so that
 * another thread can wake the caller without sending it a datagram; the io
 * reads it (resetting an eventfd's count) and net_io_poll returns as after a
 * timeout. fd: a blocking eventfd (io_uring keeps a read on it in flight; on a
 * non-blocking one that read would fail at once). The io does not own fd:
 * close it after net_io_close. Call once, before the first poll. Returns 0,
 * -EBADF, -EALREADY when a wake fd is set, or a negative errno. */
int net_io_set_wake(struct net_io *io, int fd);
/* Submits queued sends now. Returns 0 or a negative errno from the kernel;
 * sends that could not be submitted stay queued for the next flush. */
int net_io_flush(struct net_io *io);

void net_io_get_stats(const struct net_io *io, struct net_io_stats *st);

#endif
