/*
 * io_impl.h - what the two backends of io.h share (internal to user/net/).
 *
 * Owns: struct net_io and the send-buffer pool. The pool is a stack of free
 * slot indices over one preallocated array; each slot carries the msghdr,
 * iovec and address its send needs, so a send never allocates, and a state
 * byte so that a buffer handed back twice cannot corrupt the free stack.
 * Does not own: the socket.
 */
#ifndef SIPSHARD_NET_IO_IMPL_H
#define SIPSHARD_NET_IO_IMPL_H

#include <liburing.h>
#include <netinet/in.h>
#include <sys/uio.h>

#include "net/backoff.h"
#include "net/io.h"

/* datagrams per recvmmsg and per sendmmsg call */
#define NET_MMSG_BATCH 64

enum net_tx_state {
	NET_TX_FREE = 0, /* in the free stack */
	NET_TX_HELD,	 /* returned by net_tx_alloc, not yet queued or released */
	NET_TX_QUEUED,	 /* in tx_queued, not yet given to the kernel */
	NET_TX_INFLIGHT, /* io_uring: submitted, completion not reaped yet */
	NET_TX_LINKED,	 /* io_uring: the same, in a chain that keeps the order
			    while sends wait for room (io_uring.c) */
};

struct net_tx_slot {
	struct msghdr msg;
	struct iovec iov;
	struct sockaddr_in6 to; /* big enough for AF_INET and AF_INET6 */
	uint8_t state;		/* enum net_tx_state */
	uint16_t link;		/* NET_TX_LINKED: its place in its chain, which is
				   no longer than the SQ (4096 at most, io_uring.c) */
};

struct net_io {
	struct net_io_config cfg;
	bool uring;
	/* io_uring asked for and not used: the step that failed and its error
	 * (net_io_uring_refused) */
	const char *uring_step;
	int uring_err;
	struct net_io_stats st;

	/* send pool, shared by both backends */
	char *tx_mem;
	struct net_tx_slot *tx;
	uint32_t *tx_free; /* stack of free slot indices */
	uint32_t tx_nfree;
	uint32_t *tx_queued; /* FIFO of slots queued and not yet given to the kernel */
	uint32_t tx_nqueued;
	uint32_t tx_nretry;    /* io_uring: of them, at the front, sends the kernel gave
				  back (-EAGAIN) to go again (net_tx_requeue) */
	uint32_t tx_inflight;  /* io_uring: sends submitted and not reaped */
	struct mmsghdr *mm_tx; /* NET_MMSG_BATCH: net_mmsg_flush, on either backend */
	/* the kernel gave a send back with ENOBUFS: no send is tried before
	 * the wait is over (net/backoff.h), on either backend */
	struct net_backoff tx_backoff;

	/* net_io_set_wake: -1 when none */
	int wake_fd;
	uint64_t wake_val; /* io_uring: where its read lands */
	bool wake_armed;   /* io_uring: that read is in flight */

	/* io_uring backend */
	struct io_uring ring;
	bool ring_up;
	bool tx_blocked;    /* a send came back -EAGAIN: the queued wait for POLLOUT */
	bool pollout_armed; /* the poll for POLLOUT is in flight */
	bool tx_ordered;    /* a send came back (-EAGAIN, -ENOBUFS): the queued go
			       as one chain at a time until none is left */
	uint32_t tx_nback;  /* of the retry prefix, the sends of the last chain
			       given back, in the chain's order */
	/* while a pass's callbacks run (reap): the end of the completions it
	 * has handled, which stay in the queue until it ends */
	bool reaping;
	unsigned reaped_to;
	struct io_uring_buf_ring *br;
	size_t br_bytes;
	unsigned br_mask;
	char *rx_mem;
	size_t rx_mem_bytes;
	size_t rx_buf_len; /* recvmsg_out + name + payload */
	struct msghdr rx_msg;
	bool armed;

	/* mmsg backend */
	char *mm_mem; /* NET_MMSG_BATCH receive buffers of buf_size bytes */
	struct mmsghdr *mm_rx;
	struct iovec *mm_iov;
	struct sockaddr_in6 *mm_names;
};

int net_uring_open(struct net_io *io);
void net_uring_close(struct net_io *io);
int net_uring_poll(struct net_io *io, int timeout_ms, net_rx_fn cb, void *arg);
int net_uring_flush(struct net_io *io);
int net_uring_arm_wake(struct net_io *io);
/* Whether every send submitted has left or been refused, none waiting in
 * the io or the kernel, so that a datagram sent now passes none (completions
 * read, not consumed). */
bool net_uring_tx_settled(const struct net_io *io);
/* net_mmsg_flush (net_tx_alloc) left sends queued, the kernel having refused
 * the first of them (rc: -EAGAIN, or -ENOBUFS, counted and waited out
 * there): they go as io_uring's own sends given back do. */
void net_uring_tx_refused(struct net_io *io, int rc);

int net_mmsg_open(struct net_io *io);
void net_mmsg_close(struct net_io *io);
int net_mmsg_poll(struct net_io *io, int timeout_ms, net_rx_fn cb, void *arg);
/* Sends the queued datagrams now with sendmmsg, their buffers back in the
 * pool on return; on io_uring too, when the pool runs dry in a pass. */
int net_mmsg_flush(struct net_io *io);

/* A send slot goes back to the free stack. Every caller has checked the
 * slot's state, so the stack can never hold a slot twice or overflow. */
static inline void net_tx_put(struct net_io *io, uint32_t slot)
{
	io->tx[slot].state = NET_TX_FREE;
	io->tx_free[io->tx_nfree++] = slot;
}

/* Whether the sends wait out an ENOBUFS now (net/backoff.h). */
bool net_tx_backing_off(const struct net_io *io);

/* Drops the first `done` entries of the send FIFO, keeping the rest in order. */
void net_tx_consume(struct net_io *io, uint32_t done);
/* A send in flight that the kernel gave back undone goes back into the FIFO,
 * after those given back before it and ahead of every send queued since, so
 * that the queue keeps the order they were queued in; the order the kernel
 * gave them back in (io_uring: that of the completions; a chain's sends go
 * back to their places in it, io_uring.c). (A send submitted with it, after
 * it, may have left already, in the submit that found the buffer full:
 * io_uring.c, tx_reordered.) */
void net_tx_requeue(struct net_io *io, uint32_t slot);

#endif
