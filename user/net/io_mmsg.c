/*
 * io_mmsg.c - the recvmmsg/sendmmsg backend of io.h, used with no_uring or
 * when io_uring cannot be set up.
 *
 * Owns: NET_MMSG_BATCH receive buffers and the mmsghdr arrays. Does not own:
 * the send pool (io.c) or the socket.
 *
 * poll() waits; recvmmsg takes up to NET_MMSG_BATCH datagrams per call, up to
 * nbufs datagrams per net_io_poll so that a flood cannot starve the caller's
 * other work; after each recvmmsg the replies of that batch leave with one
 * sendmmsg per NET_MMSG_BATCH sends. The callback's view is into the batch's
 * buffer, which is reused by the next recvmmsg. A wake fd (net_io_set_wake)
 * is a second pollfd, read when it fires.
 *
 * Sends the kernel cannot take stay queued, in order, the first of them at
 * the front. For a full send buffer (EAGAIN) the poll waits for POLLOUT too.
 * For ENOBUFS (the kernel short of memory) POLLOUT is no use: the buffer has
 * room, POLLOUT is ready at once, and the worker went round its loop without
 * sleeping, a CPU at 100% for as long as the shortage lasted (test_net's
 * send_enobufs: about 15000 polls in 300 ms). No send is tried then until a
 * wait of 1 ms, doubling to 64 ms, is over (net/backoff.h, shared with the
 * io_uring backend), and the poll sleeps until then at most.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/counter.h"
#include "net/io_impl.h"

int net_mmsg_open(struct net_io *io)
{
	io->mm_mem = malloc((size_t)NET_MMSG_BATCH * io->cfg.buf_size);
	io->mm_rx = calloc(NET_MMSG_BATCH, sizeof(*io->mm_rx));
	io->mm_iov = calloc(NET_MMSG_BATCH, sizeof(*io->mm_iov));
	io->mm_names = calloc(NET_MMSG_BATCH, sizeof(*io->mm_names));
	if (!io->mm_mem || !io->mm_rx || !io->mm_iov || !io->mm_names) {
		net_mmsg_close(io);
		return -ENOMEM;
	}
	for (int i = 0; i < NET_MMSG_BATCH; i++) {
		io->mm_iov[i].iov_base = io->mm_mem + (size_t)i * io->cfg.buf_size;
		io->mm_iov[i].iov_len = io->cfg.buf_size;
		io->mm_rx[i].msg_hdr.msg_iov = &io->mm_iov[i];
		io->mm_rx[i].msg_hdr.msg_iovlen = 1;
		io->mm_rx[i].msg_hdr.msg_name = &io->mm_names[i];
	}
	return 0;
}

void net_mmsg_close(struct net_io *io)
{
	free(io->mm_mem);
	free(io->mm_rx);
	free(io->mm_iov);
	free(io->mm_names);
	io->mm_mem = NULL;
	io->mm_rx = NULL;
	io->mm_iov = NULL;
	io->mm_names = NULL;
}

int net_mmsg_poll(struct net_io *io, int timeout_ms, net_rx_fn cb, void *arg)
{
	uint64_t before = io->st.rx;
	unsigned budget = io->cfg.nbufs, done = 0;
	int err = 0;

	/* sends queued since the last poll leave first; any the kernel could
	 * not take yet make us wait for POLLOUT too, or, after ENOBUFS, wake
	 * when its wait is over */
	net_mmsg_flush(io);
	struct pollfd pfd[2] = {{.fd = io->cfg.fd, .events = POLLIN},
				{.fd = io->wake_fd, .events = POLLIN}};
	if (io->tx_nqueued && net_tx_backing_off(io))
		timeout_ms = net_backoff_timeout(&io->tx_backoff, clock_mono_ms(), timeout_ms);
	else if (io->tx_nqueued)
		pfd[0].events |= POLLOUT;
	int rc = poll(pfd, io->wake_fd >= 0 ? 2 : 1, timeout_ms);
	if (rc < 0)
		return errno == EINTR ? 0 : -errno;
	if (io->wake_fd >= 0 && (pfd[1].revents & POLLIN)) {
		uint64_t v;
		if (read(io->wake_fd, &v, sizeof(v)) < 0)
			(void)0; /* another reader took it: the wake happened anyway */
		rc = pfd[0].revents ? 1 : 0;
	}
	while (rc > 0 && done < budget) {
		/* the kernel rewrites these on every call */
		for (int i = 0; i < NET_MMSG_BATCH; i++) {
			io->mm_rx[i].msg_hdr.msg_namelen = sizeof(io->mm_names[i]);
			io->mm_rx[i].msg_hdr.msg_flags = 0;
		}
		unsigned want = budget - done < NET_MMSG_BATCH ? budget - done : NET_MMSG_BATCH;
		int n = recvmmsg(io->cfg.fd, io->mm_rx, want, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				counter_inc(&io->st.rx_errors);
				err = -errno;
			}
			break;
		}
		for (int i = 0; i < n; i++) {
			const struct msghdr *h = &io->mm_rx[i].msg_hdr;
			if (h->msg_flags & MSG_TRUNC) {
				counter_inc(
				    &io->st.rx_truncated); /* a cut datagram is not a message */
				continue;
			}
			struct net_pkt pkt = {
			    .data = io->mm_iov[i].iov_base,
			    .len = io->mm_rx[i].msg_len,
			    .peer = (const struct sockaddr *)&io->mm_names[i],
			    .peer_len = h->msg_namelen < sizeof(io->mm_names[i])
					    ? h->msg_namelen
					    : sizeof(io->mm_names[i]),
			};
			counter_inc(&io->st.rx);
			cb(arg, &pkt);
		}
		done += (unsigned)n;
		/* the batch's replies leave before the next batch is read */
		net_mmsg_flush(io);
		if ((unsigned)n < want)
			break; /* the socket is empty */
	}
	net_mmsg_flush(io);
	int got = (int)(io->st.rx - before);
	return got == 0 && err ? err : got;
}

int net_mmsg_flush(struct net_io *io)
{
	uint32_t done = 0;
	int rc = 0;

	if (io->tx_nqueued && net_tx_backing_off(io))
		return -ENOBUFS; /* the wait after ENOBUFS is not over */
	while (done < io->tx_nqueued) {
		uint32_t batch = io->tx_nqueued - done;
		if (batch > NET_MMSG_BATCH)
			batch = NET_MMSG_BATCH;
		for (uint32_t k = 0; k < batch; k++) {
			io->mm_tx[k].msg_hdr = io->tx[io->tx_queued[done + k]].msg;
			io->mm_tx[k].msg_len = 0;
		}
		int n = sendmmsg(io->cfg.fd, io->mm_tx, batch, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			/* the socket buffer is full: keep the rest queued for the
			 * next flush (the pool running dry is the back-pressure) */
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			/* the kernel is short of memory: the same, after a wait */
			if (errno == ENOBUFS) {
				counter_inc(&io->st.tx_enobufs);
				net_backoff_failed(&io->tx_backoff, clock_mono_ms());
				break;
			}
			/* the first datagram was refused (bad address, too big...):
			 * UDP drops it, and the rest still go */
			counter_inc(&io->st.tx_errors);
			net_tx_put(io, io->tx_queued[done++]);
			continue;
		}
		if (n == 0)
			break; /* cannot happen for batch > 0; never spin on it */
		/* n < batch: the next call reports why datagram n failed */
		for (int k = 0; k < n; k++)
			net_tx_put(io, io->tx_queued[done + (uint32_t)k]);
		net_backoff_reset(&io->tx_backoff);
		counter_add(&io->st.tx, (uint64_t)n);
		done += (uint32_t)n;
	}
	net_tx_consume(io, done);
	return rc;
}
