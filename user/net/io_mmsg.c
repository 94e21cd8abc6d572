/*
 * io_mmsg.c - the recvmmsg/sendmmsg backend of io.h, used with --no-uring or
 * when io_uring cannot be set up. poll() waits, recvmmsg takes up to
 * NET_MMSG_BATCH datagrams per call, sendmmsg sends the batch's replies.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "net/io_impl.h"

int net_mmsg_open(struct net_io *io)
{
	io->cfg.nbufs = NET_MMSG_BATCH;
	io->rx_buf_len = io->cfg.buf_size;
	io->rx_mem = malloc((size_t)NET_MMSG_BATCH * io->rx_buf_len);
	io->mm_rx = calloc(NET_MMSG_BATCH, sizeof(*io->mm_rx));
	io->mm_iov = calloc(NET_MMSG_BATCH, sizeof(*io->mm_iov));
	io->mm_names = calloc(NET_MMSG_BATCH, sizeof(*io->mm_names));
	io->mm_tx = calloc(NET_MMSG_BATCH, sizeof(*io->mm_tx));
	if (!io->rx_mem || !io->mm_rx || !io->mm_iov || !io->mm_names || !io->mm_tx) {
		net_mmsg_close(io);
		return -ENOMEM;
	}
	return 0;
}

void net_mmsg_close(struct net_io *io)
{
	free(io->rx_mem);
	free(io->mm_rx);
	free(io->mm_iov);
	free(io->mm_names);
	free(io->mm_tx);
	io->rx_mem = NULL;
	io->mm_rx = NULL;
	io->mm_iov = NULL;
	io->mm_names = NULL;
	io->mm_tx = NULL;
}

int net_mmsg_poll(struct net_io *io, int timeout_ms, net_rx_fn cb, void *arg)
{
	struct pollfd pfd = {.fd = io->cfg.fd, .events = POLLIN};
	int total = 0;

	int rc = poll(&pfd, 1, timeout_ms);
	if (rc < 0)
		return errno == EINTR ? 0 : -errno;
	while (rc > 0) {
		for (int i = 0; i < NET_MMSG_BATCH; i++) {
			io->mm_iov[i].iov_base = io->rx_mem + (size_t)i * io->rx_buf_len;
			io->mm_iov[i].iov_len = io->rx_buf_len;
			memset(&io->mm_rx[i].msg_hdr, 0, sizeof(io->mm_rx[i].msg_hdr));
			io->mm_rx[i].msg_hdr.msg_iov = &io->mm_iov[i];
			io->mm_rx[i].msg_hdr.msg_iovlen = 1;
			io->mm_rx[i].msg_hdr.msg_name = &io->mm_names[i];
			io->mm_rx[i].msg_hdr.msg_namelen = sizeof(io->mm_names[i]);
		}
		int n = recvmmsg(io->cfg.fd, io->mm_rx, NET_MMSG_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break;
		for (int i = 0; i < n; i++) {
			struct msghdr *h = &io->mm_rx[i].msg_hdr;
			if (h->msg_flags & MSG_TRUNC) {
				io->st.rx_truncated++;
				continue;
			}
			struct net_pkt pkt = {io->mm_iov[i].iov_base, io->mm_rx[i].msg_len,
					      h->msg_name, h->msg_namelen};
			io->st.rx++;
			cb(arg, &pkt);
		}
		total += n;
		net_mmsg_flush(io);
		if (n < NET_MMSG_BATCH)
			break;
	}
	net_mmsg_flush(io);
	return total;
}

int net_mmsg_flush(struct net_io *io)
{
	uint32_t done = 0;

	while (done < io->tx_nqueued) {
		uint32_t batch = io->tx_nqueued - done;
		if (batch > NET_MMSG_BATCH)
			batch = NET_MMSG_BATCH;
		for (uint32_t k = 0; k < batch; k++) {
			io->mm_tx[k].msg_hdr = io->tx[io->tx_queued[done + k]].msg;
			io->mm_tx[k].msg_len = 0;
		}
		int n = sendmmsg(io->cfg.fd, io->mm_tx, batch, MSG_DONTWAIT);
		/* a datagram the kernel refused is dropped, not retried: UDP */
		uint32_t sent = n > 0 ? (uint32_t)n : 0;
		io->st.tx += sent;
		io->st.tx_errors += batch - sent;
		for (uint32_t k = 0; k < batch; k++)
			net_tx_put(io, io->tx_queued[done + k]);
		done += batch;
	}
	io->tx_nqueued = 0;
	return 0;
}
