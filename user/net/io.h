/*
 * io.h - batched UDP receive and send for one thread and one socket.
 *
 * Owns: receiving datagrams in batches (io_uring multishot recvmsg into a
 * provided-buffer ring, or recvmmsg when io_uring is off or unavailable),
 * handing each to a callback as a view into the receive buffer (no copy), a
 * preallocated pool of send buffers, and submitting all sends queued during a
 * batch together. Does not own: the socket (the caller binds and closes it),
 * what the datagrams mean.
 *
 * Not thread safe: one net_io per thread.
 */
#ifndef SIPSHARD_NET_IO_H
#define SIPSHARD_NET_IO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct net_pkt {
	const char *data;
	uint32_t len;
	const struct sockaddr *peer;
	socklen_t peer_len;
};

typedef void (*net_rx_fn)(void *arg, const struct net_pkt *pkt);

struct net_io_config {
	int fd;
	unsigned nbufs; /* receive buffers (rounded up to a power of two) */
	unsigned buf_size; /* bytes of datagram per receive buffer */
	unsigned ntx; /* send buffers */
	unsigned tx_size; /* bytes per send buffer */
	bool no_uring; /* use recvmmsg/sendmmsg */
};

struct net_io_stats {
	uint64_t rx, rx_truncated, rx_enobufs, rearms, tx, tx_errors, tx_pool_empty;
};

struct net_io;

/* Sets up the io_uring backend, or the mmsg backend when cfg->no_uring is set
 * or io_uring cannot be set up. Returns 0 or a negative errno. */
int net_io_open(struct net_io **io, const struct net_io_config *cfg);
void net_io_close(struct net_io *io);
/* "io_uring" or "recvmmsg" */
const char *net_io_backend(const struct net_io *io);

/* Waits up to timeout_ms for datagrams, calls cb for each one received, then
 * submits the sends queued meanwhile. Returns the number of datagrams, 0 on
 * timeout, or a negative errno. */
int net_io_poll(struct net_io *io, int timeout_ms, net_rx_fn cb, void *arg);

/* A send buffer of tx_size bytes, or NULL when the pool is empty (count a drop). */
char *net_tx_alloc(struct net_io *io);
/* Gives back a buffer that will not be sent. */
void net_tx_release(struct net_io *io, char *buf);
/* Queues buf (from net_tx_alloc) for sending; the io owns it from here. */
int net_tx_queue(struct net_io *io, char *buf, uint32_t len, const struct sockaddr *to,
		 socklen_t tolen);
/* Submits queued sends now. */
int net_io_flush(struct net_io *io);

void net_io_get_stats(const struct net_io *io, struct net_io_stats *st);

#endif
