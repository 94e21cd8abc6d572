/*
 * io_impl.h - what the two backends of io.h share (internal to user/net/).
 *
 * Owns: struct net_io and the send-buffer pool. The pool is a stack of free
 * slot indices over one preallocated array; each slot carries the msghdr,
 * iovec and address its send needs, so a send never allocates.
 */
#ifndef SIPSHARD_NET_IO_IMPL_H
#define SIPSHARD_NET_IO_IMPL_H

#include <liburing.h>
#include <netinet/in.h>
#include <sys/uio.h>

#include "net/io.h"

#define NET_MMSG_BATCH 64

struct net_tx_slot {
	struct msghdr msg;
	struct iovec iov;
	struct sockaddr_in6 to;
};

struct net_io {
	struct net_io_config cfg;
	bool uring;
	struct net_io_stats st;

	/* send pool */
	char *tx_mem;
	struct net_tx_slot *tx;
	uint32_t *tx_free; /* stack of free slot indices */
	uint32_t tx_nfree;
	uint32_t *tx_queued; /* slots queued and not yet submitted */
	uint32_t tx_nqueued;

	/* io_uring backend */
	struct io_uring ring;
	struct io_uring_buf_ring *br;
	char *rx_mem;
	size_t rx_buf_len; /* recvmsg_out + name + payload */
	struct msghdr rx_msg;
	bool armed;

	/* mmsg backend */
	struct mmsghdr *mm_rx;
	struct iovec *mm_iov;
	struct sockaddr_in6 *mm_names;
	struct mmsghdr *mm_tx;
};

int net_uring_open(struct net_io *io);
void net_uring_close(struct net_io *io);
int net_uring_poll(struct net_io *io, int timeout_ms, net_rx_fn cb, void *arg);
int net_uring_flush(struct net_io *io);

int net_mmsg_open(struct net_io *io);
void net_mmsg_close(struct net_io *io);
int net_mmsg_poll(struct net_io *io, int timeout_ms, net_rx_fn cb, void *arg);
int net_mmsg_flush(struct net_io *io);

/* Pool operations shared by both backends. */
static inline uint32_t net_tx_index(const struct net_io *io, const char *buf)
{
	return (uint32_t)((size_t)(buf - io->tx_mem) / io->cfg.tx_size);
}

static inline void net_tx_put(struct net_io *io, uint32_t slot)
{
	io->tx_free[io->tx_nfree++] = slot;
}

#endif
