/*
 * io.c - backend choice, config checks and the send-buffer pool of io.h.
 *
 * Owns: validating net_io_config, picking io_uring or mmsg, the pool of send
 * slots and its state checks. Does not own: receiving or submitting (the
 * backends, io_uring.c and io_mmsg.c).
 */
#include <errno.h>
#include <linux/sock_diag.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/counter.h"
#include "core/mem.h"
#include "net/io_impl.h"

static int check_config(const struct net_io_config *cfg)
{
	int type = 0;
	socklen_t tlen = sizeof(type);

	if (cfg->fd < 0 || cfg->nbufs == 0 || cfg->nbufs > NET_IO_MAX_BUFS || cfg->buf_size == 0 ||
	    cfg->buf_size > NET_IO_MAX_BUF_SIZE || cfg->ntx == 0 || cfg->ntx > NET_IO_MAX_TX ||
	    cfg->tx_size == 0 || cfg->tx_size > NET_IO_MAX_TX_SIZE)
		return -EINVAL;
	/* fail here, not with a stream of receive errors later */
	if (getsockopt(cfg->fd, SOL_SOCKET, SO_TYPE, &type, &tlen) != 0)
		return -errno;
	return type == SOCK_DGRAM ? 0 : -ENOTSOCK;
}

int net_io_open(struct net_io **out, const struct net_io_config *cfg)
{
	struct net_io *io;
	int rc;

	if (!out || !cfg)
		return -EINVAL;
	rc = check_config(cfg);
	if (rc)
		return rc;
	io = calloc(1, sizeof(*io));
	if (!io)
		return -ENOMEM;
	io->cfg = *cfg;
	io->wake_fd = -1;
	io->tx_mem = mem_pool_alloc((size_t)cfg->ntx * cfg->tx_size);
	io->tx = calloc(cfg->ntx, sizeof(*io->tx));
	io->tx_free = calloc(cfg->ntx, sizeof(*io->tx_free));
	io->tx_queued = calloc(cfg->ntx, sizeof(*io->tx_queued));
	io->mm_tx = calloc(NET_MMSG_BATCH, sizeof(*io->mm_tx));
	if (!io->tx_mem || !io->tx || !io->tx_free || !io->tx_queued || !io->mm_tx) {
		net_io_close(io);
		return -ENOMEM;
	}
	/* slot 0 on top, so a lightly loaded io reuses the same few buffers */
	for (uint32_t i = 0; i < cfg->ntx; i++)
		io->tx_free[io->tx_nfree++] = cfg->ntx - 1 - i;

	rc = -EOPNOTSUPP;
	if (!cfg->no_uring) {
		rc = net_uring_open(io);
		io->uring_err = rc;
	}
	io->uring = rc == 0;
	if (rc)
		rc = net_mmsg_open(io);
	if (rc) {
		net_io_close(io);
		return rc;
	}
	*out = io;
	return 0;
}

void net_io_close(struct net_io *io)
{
	if (!io)
		return;
	/* both closes are safe on a backend that was never opened */
	net_uring_close(io);
	net_mmsg_close(io);
	mem_pool_free(io->tx_mem, (size_t)io->cfg.ntx * io->cfg.tx_size);
	free(io->tx);
	free(io->tx_free);
	free(io->tx_queued);
	free(io->mm_tx);
	free(io);
}

const char *net_io_backend(const struct net_io *io)
{
	return io->uring ? "io_uring" : "recvmmsg";
}

int net_io_uring_refused(const struct net_io *io, const char **step)
{
	*step = io->uring_step ? io->uring_step : "io_uring";
	return io->uring ? 0 : io->uring_err;
}

int net_io_poll(struct net_io *io, int timeout_ms, net_rx_fn cb, void *arg)
{
	if (!cb)
		return -EINVAL;
	return io->uring ? net_uring_poll(io, timeout_ms, cb, arg)
			 : net_mmsg_poll(io, timeout_ms, cb, arg);
}

int net_io_set_wake(struct net_io *io, int fd)
{
	if (fd < 0)
		return -EBADF;
	if (io->wake_fd >= 0)
		return -EALREADY;
	io->wake_fd = fd;
	return io->uring ? net_uring_arm_wake(io) : 0;
}

int net_io_flush(struct net_io *io)
{
	return io->uring ? net_uring_flush(io) : net_mmsg_flush(io);
}

char *net_tx_alloc(struct net_io *io)
{
	/* Every buffer is queued or in flight: a pass of datagrams that each
	 * take a send or two (a CANCEL: its 200 and its relay) used up the pool
	 * while its sends waited for the end of the pass. Sent now, with
	 * sendmmsg, the queued ones give their buffers back at once; io_uring
	 * would hand them back only after the pass, and this datagram's answer
	 * would be lost though the kernel could take it. Not while io_uring
	 * has sends in flight, which the queued would pass: a chain that keeps
	 * the order (io_uring.c). What the kernel did not take (EAGAIN,
	 * ENOBUFS) then waits as a send io_uring gave back does, and goes as
	 * one chain at a time (net_uring_tx_refused): sent unlinked with the
	 * pass's later sends, a later one could pass it. */
	if (!io->tx_nfree && io->tx_nqueued && !io->tx_inflight) {
		int rc = net_mmsg_flush(io);
		if (io->uring && io->tx_nqueued)
			net_uring_tx_refused(io, rc);
	}
	if (!io->tx_nfree) {
		counter_inc(&io->st.tx_pool_empty);
		return NULL;
	}
	uint32_t i = io->tx_free[--io->tx_nfree];
	io->tx[i].state = NET_TX_HELD;
	return io->tx_mem + (size_t)i * io->cfg.tx_size;
}

/* The slot of a buffer the caller holds, or -1 for any other pointer. */
static int64_t held_slot(const struct net_io *io, const char *buf)
{
	if (!buf || buf < io->tx_mem)
		return -1;
	size_t off = (size_t)(buf - io->tx_mem);
	if (off >= (size_t)io->cfg.ntx * io->cfg.tx_size || off % io->cfg.tx_size)
		return -1;
	uint32_t i = (uint32_t)(off / io->cfg.tx_size);
	return io->tx[i].state == NET_TX_HELD ? (int64_t)i : -1;
}

void net_tx_release(struct net_io *io, char *buf)
{
	int64_t i = held_slot(io, buf);
	if (i >= 0)
		net_tx_put(io, (uint32_t)i);
}

int net_tx_queue(struct net_io *io, char *buf, uint32_t len, const struct sockaddr *to,
		 socklen_t tolen)
{
	int64_t i = held_slot(io, buf);
	if (i < 0)
		return -EINVAL;
	struct net_tx_slot *s = &io->tx[i];
	socklen_t alen;

	if (!to || len > io->cfg.tx_size) {
		net_tx_put(io, (uint32_t)i);
		return -EINVAL;
	}
	/* the length the family needs, so callers may pass sizeof(storage) */
	alen = net_dest_len(to, tolen);
	if (!alen) {
		net_tx_put(io, (uint32_t)i);
		return -EAFNOSUPPORT;
	}
	memcpy(&s->to, to, alen);
	s->iov.iov_base = buf;
	s->iov.iov_len = len;
	memset(&s->msg, 0, sizeof(s->msg));
	s->msg.msg_name = &s->to;
	s->msg.msg_namelen = alen;
	s->msg.msg_iov = &s->iov;
	s->msg.msg_iovlen = 1;
	s->state = NET_TX_QUEUED;
	/* at most ntx slots are ever queued at once: the FIFO cannot overflow */
	io->tx_queued[io->tx_nqueued++] = (uint32_t)i;
	return 0;
}

int net_tx_send_now(struct net_io *io, const void *buf, size_t len, const struct sockaddr *to,
		    socklen_t tolen)
{
	socklen_t alen = net_dest_len(to, tolen);

	if (!alen)
		return -EAFNOSUPPORT;
	/* what was queued before it goes first, and it waits with them */
	(void)net_io_flush(io);
	if (io->tx_nqueued || (io->uring && !net_uring_tx_settled(io)))
		return -EAGAIN;
	/* the kernel short of memory lately: it waits as the queue's sends do,
	 * not a syscall the kernel would refuse again */
	if (net_tx_backing_off(io))
		return -ENOBUFS;
	if (sendto(io->cfg.fd, buf, len, MSG_DONTWAIT, to, alen) >= 0) {
		counter_inc(&io->st.tx);
		net_backoff_reset(&io->tx_backoff);
		return 0;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return -EAGAIN;
	if (errno == ENOBUFS) {
		counter_inc(&io->st.tx_enobufs);
		net_backoff_failed(&io->tx_backoff, clock_mono_ms());
		return -ENOBUFS;
	}
	counter_inc(&io->st.tx_errors); /* refused: UDP drops it, as a queued one */
	return -errno;
}

bool net_tx_backing_off(const struct net_io *io)
{
	/* step_ms first: no clock read while sends go */
	return io->tx_backoff.step_ms && net_backoff_left(&io->tx_backoff, clock_mono_ms()) > 0;
}

void net_tx_consume(struct net_io *io, uint32_t done)
{
	io->tx_nretry = done >= io->tx_nretry ? 0 : io->tx_nretry - done;
	if (done >= io->tx_nqueued) {
		io->tx_nqueued = 0;
		return;
	}
	memmove(io->tx_queued, io->tx_queued + done,
		(io->tx_nqueued - done) * sizeof(*io->tx_queued));
	io->tx_nqueued -= done;
}

void net_tx_requeue(struct net_io *io, uint32_t slot)
{
	uint32_t at = io->tx_nretry++;

	/* a slot is queued, in flight or in neither: the FIFO has room */
	memmove(io->tx_queued + at + 1, io->tx_queued + at,
		(io->tx_nqueued - at) * sizeof(*io->tx_queued));
	io->tx_queued[at] = slot;
	io->tx_nqueued++;
	io->tx[slot].state = NET_TX_QUEUED;
}

void net_io_get_stats(const struct net_io *io, struct net_io_stats *st)
{
	uint32_t mem[SK_MEMINFO_VARS] = {0};
	socklen_t len = sizeof(mem);

	/* the worker's counters, read from the controller thread */
	_Static_assert(sizeof(*st) % sizeof(uint64_t) == 0, "net_io_stats: uint64_t counters only");
	counter_copy((uint64_t *)st, (const uint64_t *)&io->st, sizeof(*st) / sizeof(uint64_t));
	/* Datagrams the kernel drops at a full receive queue never reach a
	 * receive, so no counter of ours sees them: the socket's own drop count
	 * does (a 32-bit counter in the kernel). Safe from any thread. */
	if (getsockopt(io->cfg.fd, SOL_SOCKET, SO_MEMINFO, mem, &len) == 0 &&
	    len > SK_MEMINFO_DROPS * sizeof(mem[0]))
		st->rx_socket_drops = mem[SK_MEMINFO_DROPS];
}
