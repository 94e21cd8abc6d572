/*
 * io_uring.c - the io_uring backend of io.h.
 *
 * One multishot recvmsg keeps receiving into a ring of provided buffers; each
 * completion names the buffer it used, which goes back to the ring right after
 * its callback. When the buffers run out the kernel ends the multishot request
 * (ENOBUFS, no IORING_CQE_F_MORE) and it is armed again at the end of the pass.
 * Sends queued during a pass are prepared as sendmsg SQEs and submitted with
 * one io_uring_submit; their buffers return to the pool on completion.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net/io_impl.h"

#define UD_RECV UINT64_MAX
#define BGID	0

static unsigned pow2(unsigned n)
{
	unsigned p = 1;
	while (p < n)
		p <<= 1;
	return p;
}

static int arm_recv(struct net_io *io)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&io->ring);

	if (!sqe) {
		io_uring_submit(&io->ring);
		sqe = io_uring_get_sqe(&io->ring);
		if (!sqe)
			return -EBUSY;
	}
	io_uring_prep_recvmsg_multishot(sqe, io->cfg.fd, &io->rx_msg, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = BGID;
	io_uring_sqe_set_data64(sqe, UD_RECV);
	io->armed = true;
	return 0;
}

int net_uring_open(struct net_io *io)
{
	struct io_uring_params p;
	unsigned nbufs = pow2(io->cfg.nbufs);
	int rc;

	if (nbufs > 32768)
		return -EINVAL;
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_CQSIZE;
	/* the CQ takes a burst of receives plus every send in flight; it must
	 * also be at least as large as the SQ */
	p.cq_entries = nbufs * 2 + io->cfg.ntx;
	if (p.cq_entries < 2048)
		p.cq_entries = 2048;
	rc = io_uring_queue_init_params(1024, &io->ring, &p);
	if (rc)
		return rc;

	io->cfg.nbufs = nbufs;
	io->rx_buf_len = sizeof(struct io_uring_recvmsg_out) + sizeof(struct sockaddr_in6) +
			 io->cfg.buf_size;
	if (posix_memalign((void **)&io->br, 4096, nbufs * sizeof(struct io_uring_buf)) ||
	    !(io->rx_mem = malloc(nbufs * io->rx_buf_len))) {
		free(io->br);
		io->br = NULL;
		io_uring_queue_exit(&io->ring);
		return -ENOMEM;
	}
	/* Debian 12's liburing 2.3 has no io_uring_setup_buf_ring: register by hand */
	struct io_uring_buf_reg reg = {
		.ring_addr = (unsigned long)io->br,
		.ring_entries = nbufs,
		.bgid = BGID,
	};
	rc = io_uring_register_buf_ring(&io->ring, &reg, 0);
	if (rc) {
		net_uring_close(io);
		return rc;
	}
	io_uring_buf_ring_init(io->br);
	for (unsigned i = 0; i < nbufs; i++)
		io_uring_buf_ring_add(io->br, io->rx_mem + (size_t)i * io->rx_buf_len,
				      (unsigned)io->rx_buf_len, (unsigned short)i,
				      io_uring_buf_ring_mask(nbufs), (int)i);
	io_uring_buf_ring_advance(io->br, (int)nbufs);

	memset(&io->rx_msg, 0, sizeof(io->rx_msg));
	io->rx_msg.msg_namelen = sizeof(struct sockaddr_in6);
	rc = arm_recv(io);
	if (!rc)
		rc = io_uring_submit(&io->ring) < 0 ? -EIO : 0;
	if (rc)
		net_uring_close(io);
	return rc;
}

void net_uring_close(struct net_io *io)
{
	if (io->ring.ring_fd > 0)
		io_uring_queue_exit(&io->ring);
	free(io->br);
	free(io->rx_mem);
	io->br = NULL;
	io->rx_mem = NULL;
}

static void recycle(struct net_io *io, unsigned bid)
{
	io_uring_buf_ring_add(io->br, io->rx_mem + (size_t)bid * io->rx_buf_len,
			      (unsigned)io->rx_buf_len, (unsigned short)bid,
			      io_uring_buf_ring_mask(io->cfg.nbufs), 0);
	io_uring_buf_ring_advance(io->br, 1);
}

static void on_recv(struct net_io *io, struct io_uring_cqe *cqe, net_rx_fn cb, void *arg)
{
	if (!(cqe->flags & IORING_CQE_F_MORE))
		io->armed = false; /* the multishot ended (ENOBUFS or error): re-arm */
	if (cqe->res < 0) {
		if (cqe->res == -ENOBUFS)
			io->st.rx_enobufs++;
		return;
	}
	if (!(cqe->flags & IORING_CQE_F_BUFFER))
		return;
	unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
	char *buf = io->rx_mem + (size_t)bid * io->rx_buf_len;
	struct io_uring_recvmsg_out *o =
		io_uring_recvmsg_validate(buf, cqe->res, &io->rx_msg);
	if (o && (o->flags & MSG_TRUNC)) {
		io->st.rx_truncated++; /* a cut datagram is not a SIP message */
	} else if (o) {
		struct net_pkt pkt = {
			.data = io_uring_recvmsg_payload(o, &io->rx_msg),
			.len = io_uring_recvmsg_payload_length(o, cqe->res, &io->rx_msg),
			.peer = io_uring_recvmsg_name(o),
			.peer_len = o->namelen,
		};
		io->st.rx++;
		cb(arg, &pkt);
	}
	recycle(io, bid);
}

int net_uring_poll(struct net_io *io, int timeout_ms, net_rx_fn cb, void *arg)
{
	struct __kernel_timespec ts = {.tv_sec = timeout_ms / 1000,
				       .tv_nsec = (long long)(timeout_ms % 1000) * 1000000};
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0;
	int n = 0;

	int rc = io_uring_submit_and_wait_timeout(&io->ring, &cqe, 1, timeout_ms >= 0 ? &ts : NULL,
						  NULL);
	if (rc < 0 && rc != -ETIME && rc != -EINTR)
		return rc;
	io_uring_for_each_cqe(&io->ring, head, cqe)
	{
		uint64_t ud = io_uring_cqe_get_data64(cqe);
		seen++;
		if (ud == UD_RECV) {
			uint64_t before = io->st.rx;
			on_recv(io, cqe, cb, arg);
			n += (int)(io->st.rx - before);
		} else {
			/* a send finished: its buffer returns to the pool */
			if (cqe->res < 0)
				io->st.tx_errors++;
			else
				io->st.tx++;
			net_tx_put(io, (uint32_t)(ud - 1));
		}
	}
	io_uring_cq_advance(&io->ring, seen);
	if (!io->armed) {
		io->st.rearms++;
		arm_recv(io);
	}
	net_uring_flush(io);
	return n;
}

int net_uring_flush(struct net_io *io)
{
	for (uint32_t k = 0; k < io->tx_nqueued; k++) {
		uint32_t i = io->tx_queued[k];
		struct io_uring_sqe *sqe = io_uring_get_sqe(&io->ring);
		if (!sqe) {
			io_uring_submit(&io->ring);
			sqe = io_uring_get_sqe(&io->ring);
		}
		if (!sqe) {
			io->st.tx_errors++;
			net_tx_put(io, i);
			continue;
		}
		io_uring_prep_sendmsg(sqe, io->cfg.fd, &io->tx[i].msg, 0);
		io_uring_sqe_set_data64(sqe, (uint64_t)i + 1);
	}
	io->tx_nqueued = 0;
	int rc = io_uring_submit(&io->ring);
	return rc < 0 ? rc : 0;
}
