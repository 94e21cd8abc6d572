/*
 * io_uring.c - the io_uring backend of io.h.
 *
 * Owns: the ring, the provided-buffer ring the kernel receives into, the one
 * multishot recvmsg request, and the sendmsg requests of the send pool.
 * Does not own: the send pool itself (io.c) or the socket.
 *
 * One multishot recvmsg, armed by the first poll (from the polling thread:
 * the kernel does a request's receive work in the thread that submitted it,
 * see probe_multishot), keeps receiving into a ring of provided buffers; each
 * completion names the buffer it used, which goes back to the ring right
 * after its callback, so the kernel can refill it while the batch is still
 * being handled. When the buffers run out the kernel ends the multishot
 * request (ENOBUFS, no IORING_CQE_F_MORE) and it is armed again at the end of
 * the pass. Sends queued during a pass are prepared as sendmsg SQEs and
 * submitted together with one io_uring_submit (no syscall when there is
 * nothing to submit); their buffers return to the pool on completion.
 *
 * The order of the sends. Each goes with MSG_DONTWAIT: one that finds the
 * send buffer full (a burst larger than it, a NIC's queue full) comes back at
 * once with -EAGAIN. Without it the kernel kept such a send waiting, as it
 * keeps every request it cannot complete yet; all those waiting woke at each
 * bit of room and most found it taken again, so they left in whatever order
 * their wake-ups found room (593 of test_net's 600 after one queued later),
 * and after 128 such polls of one (APOLL_MAX_RETRY) the kernel gave up on it
 * with -EAGAIN. A send that comes back (-EAGAIN, or -ENOBUFS below) goes to
 * the front of the queue, and from then on, until nothing is queued or in
 * flight, the queue goes as one chain at a time (IOSQE_IO_LINK, oldest first,
 * once the last chain is all back): the first send the kernel gives back
 * fails the rest of the chain (-ECANCELED), which come back too, each to its
 * place (NET_TX_LINKED, link), and the queue waits for a poll for POLLOUT;
 * then the unlinked sends again. The same when the first refusal is met by
 * the sendmmsg of a dry pool (net_tx_alloc, net_uring_tx_refused): before,
 * what it left queued went unlinked with the pass's later sends. A send of a
 * chain the kernel refuses for good (EACCES, EPERM, ENETUNREACH) is counted
 * in tx_errors and dropped, as an unlinked one; the rest of its chain,
 * cancelled, goes again at once, in the reap that sees it, not after the
 * pass's callbacks. So once the io has found the buffer full, no send passes
 * another, as with the mmsg backend, which stops at the first send the buffer
 * refuses. What is left: in the submit that finds the buffer full, a send
 * after the first refused one may find room made meanwhile and leave ahead of
 * it (nothing stops the rest of a submit at its first refusal but a link);
 * those are counted (tx_reordered, from the completions, which come in the
 * order issued). A send that never came back takes the same steps as before:
 * the flag is a constant of the SQE, the chain a branch taken only once one
 * came back. Linking every submit's sends kept even those in order, but each
 * link after the first runs as task work: bench/relay_rate.sh gave 2 workers
 * 66-73k INFO/s against 82-105k, and 1.24-1.41 s of CPU per 100k requests
 * against 0.82-1.08 (three runs each, alternating, 2026-12-06). No way found
 * closes it at no cost to the unlinked sends. The refused send's completion
 * comes once the sends after it have been tried: those that found room have left, and sending them
 * again after it (taking its later completions as given back) would deliver each twice, the first
 * copy still ahead of it, so the order is not restored. Linking only a submit that could fill the
 * buffer needs the buffer's fill before each submit (SIOCOUTQ, SO_MEMINFO): a syscall per submit,
 * which at low load is one per datagram; our own count of the bytes submitted cannot tell how much
 * the device has taken out since. Sending with sendmmsg, which stops at the first refusal, is a
 * syscall per pass besides the ring's enter. A send that completes with -ENOBUFS (the kernel short
 * of memory) was counted in tx_errors and dropped, as a refusal; it is not one: it comes back as an
 * -EAGAIN one does, and no send is prepared until a wait of 1 ms, doubling to 64 ms, is over
 * (net/backoff.h, shared with the mmsg backend), which the poll's wait is cut to end. A datagram
 * too large for the pool (net_tx_send_now) goes with a sendto only when every send submitted has
 * left (net_uring_tx_settled).
 *
 * A wake fd (net_io_set_wake) has one read in flight at all times: its
 * completion ends the wait, and the read is armed again with the next
 * submit.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/counter.h"
#include "core/mem.h"
#include "net/io_impl.h"

/* user_data of the receive and cancel requests; a send's is its slot index
 * (< NET_IO_MAX_TX). Both stay clear of LIBURING_UDATA_TIMEOUT (all ones). */
#define UD_RECV	   (UINT64_MAX - 1)
#define UD_CANCEL  (UINT64_MAX - 2)
#define UD_WAKE	   (UINT64_MAX - 3)
#define UD_POLLOUT (UINT64_MAX - 4)
#define BGID	   0 /* buffer group: one per ring, so any fixed id will do */

static void drain(struct net_io *io);

static unsigned pow2(unsigned n)
{
	unsigned p = 1;
	while (p < n)
		p <<= 1;
	return p;
}

static struct io_uring_sqe *get_sqe(struct net_io *io)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&io->ring);

	if (!sqe) {
		/* SQ full: hand what is there to the kernel and try once more */
		io_uring_submit(&io->ring);
		sqe = io_uring_get_sqe(&io->ring);
	}
	return sqe;
}

static int arm_recv_on(struct net_io *io, int fd)
{
	struct io_uring_sqe *sqe = get_sqe(io);

	if (!sqe)
		return -EBUSY; /* tried again at the next poll */
	io_uring_prep_recvmsg_multishot(sqe, fd, &io->rx_msg, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = BGID;
	io_uring_sqe_set_data64(sqe, UD_RECV);
	io->armed = true;
	return 0;
}

static int arm_recv(struct net_io *io)
{
	return arm_recv_on(io, io->cfg.fd);
}

/* The read on the wake fd whose completion ends a wait. */
int net_uring_arm_wake(struct net_io *io)
{
	struct io_uring_sqe *sqe = get_sqe(io);

	if (!sqe)
		return -EBUSY; /* tried again at the next poll */
	io_uring_prep_read(sqe, io->wake_fd, &io->wake_val, sizeof(io->wake_val), 0);
	io_uring_sqe_set_data64(sqe, UD_WAKE);
	io->wake_armed = true;
	return 0;
}

/* The poll whose completion says the socket has room again for the sends the
 * kernel gave back (tx_blocked). */
static void arm_pollout(struct net_io *io)
{
	struct io_uring_sqe *sqe = get_sqe(io);

	if (!sqe)
		return; /* tried again at the next prep_sends */
	io_uring_prep_poll_add(sqe, io->cfg.fd, POLLOUT);
	io_uring_sqe_set_data64(sqe, UD_POLLOUT);
	io->pollout_armed = true;
}

/* The queued sends as one chain (IOSQE_IO_LINK), oldest first, once the
 * last chain is all back and the wait for room or after an ENOBUFS is over:
 * the first the kernel gives back fails the rest, which come back too
 * (-ECANCELED), so none passes it. No chain is left to span two submits:
 * as many as the SQ has room for, the rest with the next. Back to the
 * unlinked sends once none is queued or in flight. */
static void prep_chain(struct net_io *io)
{
	if (io->tx_inflight)
		return; /* the last chain, or the submit that met the full buffer */
	if (!io->tx_nqueued) {
		io->tx_ordered = false;
		return;
	}
	if (io->tx_blocked) {
		if (!io->pollout_armed)
			arm_pollout(io);
		return;
	}
	if (net_tx_backing_off(io))
		return;
	uint32_t n = io_uring_sq_space_left(&io->ring);
	if (n > io->tx_nqueued)
		n = io->tx_nqueued;
	for (uint32_t k = 0; k < n; k++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&io->ring);
		uint32_t i = io->tx_queued[k];
		io_uring_prep_sendmsg(sqe, io->cfg.fd, &io->tx[i].msg, MSG_DONTWAIT);
		io_uring_sqe_set_data64(sqe, i);
		if (k + 1 < n)
			sqe->flags |= IOSQE_IO_LINK;
		io->tx[i].state = NET_TX_LINKED;
		io->tx[i].link = (uint16_t)k;
	}
	io->tx_inflight = n;
	io->tx_nback = 0;
	net_tx_consume(io, n);
}

/* Prepares an SQE for every queued send, oldest first; sends that find no SQE
 * stay queued. Once one came back, until all have gone, they go as a chain
 * (prep_chain). MSG_DONTWAIT: a send that finds the send buffer full comes
 * back at once (-EAGAIN) instead of waiting in the kernel, where each woke
 * at every bit of room, in no order. */
static void prep_sends(struct net_io *io)
{
	uint32_t k;

	if (io->tx_ordered) {
		prep_chain(io);
		return;
	}
	if (io->tx_nqueued && net_tx_backing_off(io))
		return;
	for (k = 0; k < io->tx_nqueued; k++) {
		struct io_uring_sqe *sqe = get_sqe(io);
		if (!sqe)
			break;
		uint32_t i = io->tx_queued[k];
		io_uring_prep_sendmsg(sqe, io->cfg.fd, &io->tx[i].msg, MSG_DONTWAIT);
		io_uring_sqe_set_data64(sqe, i);
		io->tx[i].state = NET_TX_INFLIGHT;
		io->tx_inflight++;
	}
	net_tx_consume(io, k);
}

static int setup_ring(struct net_io *io, unsigned sq, unsigned cq)
{
	/* COOP_TASKRUN: no interrupt of the worker for each completion, which we
	 * reap in batches anyway; TASKRUN_FLAG then tells liburing when it must
	 * enter the kernel to have them posted. SUBMIT_ALL: one send the kernel
	 * rejects at submission does not hold back the rest of the batch. All
	 * are newer than the rest (5.18-5.19), so retry without them. */
	static const unsigned extra[] = {
	    IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_SUBMIT_ALL, 0};
	struct io_uring_params p;
	int rc = -EINVAL;

	for (size_t k = 0; k < sizeof(extra) / sizeof(extra[0]); k++) {
		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_CQSIZE | extra[k];
		p.cq_entries = cq;
		rc = io_uring_queue_init_params(sq, &io->ring, &p);
		if (rc != -EINVAL)
			break;
	}
	if (rc)
		return rc;
	io->ring_up = true;
	/* without EXT_ARG a wait with timeout uses an SQE of ours; every kernel
	 * with multishot recvmsg (6.0) has it */
	return (p.features & IORING_FEAT_EXT_ARG) ? 0 : -EOPNOTSUPP;
}

/*
 * Whether the kernel takes a multishot recvmsg (6.0): one on a socket of its
 * own, never bound, so that no datagram can come, then cancelled. A kernel
 * without it rejects the request at once; one with it posts nothing.
 *
 * The socket's own receive is not armed here: the kernel runs a request's
 * receive work as task work of the thread that submitted it, and the daemon
 * opens every worker's ring in its main thread. Armed here, every datagram
 * was copied by that otherwise idle thread, which also contended for the
 * ring's lock with the worker polling it (about 20% of a loaded daemon's CPU). The
 * first poll arms it, from the thread that polls.
 */
static int probe_multishot(struct net_io *io)
{
	struct io_uring_cqe *cqe;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int rc;

	if (fd < 0)
		return -errno;
	rc = arm_recv_on(io, fd);
	if (!rc)
		rc = io_uring_submit(&io->ring) < 0 ? -EIO : 0;
	if (!rc && io_uring_peek_cqe(&io->ring, &cqe) == 0 && cqe->user_data == UD_RECV &&
	    (cqe->res == -EINVAL || cqe->res == -EOPNOTSUPP))
		rc = -EOPNOTSUPP;
	drain(io);
	close(fd);
	if (!rc && io->armed)
		rc = -EIO; /* the kernel kept it past the cancel: do not trust the ring */
	return rc;
}

int net_uring_open(struct net_io *io)
{
	unsigned nbufs = pow2(io->cfg.nbufs); /* <= NET_IO_MAX_BUFS, checked in io.c */
	unsigned ntx = io->cfg.ntx;
	/* SQ: every send of the pool, the receive and a cancel in one submit */
	unsigned sq = pow2((ntx < 4094 ? ntx : 4094) + 2);
	/* CQ: a full buffer ring of receives plus every send in flight, so the
	 * CQ does not overflow between two polls */
	unsigned cq = pow2(nbufs + ntx + 8);
	int rc;

	if (sq < 8)
		sq = 8;
	if (cq > 65536)
		cq = 65536; /* the kernel's limit; beyond it overflow is held, not lost */
	io->uring_step = "io_uring_setup";
	rc = setup_ring(io, sq, cq);
	if (rc)
		goto fail;

	/* each buffer: recvmsg_out, the peer address, then the datagram; rounded
	 * to a cache line so every header is aligned */
	io->rx_buf_len = (sizeof(struct io_uring_recvmsg_out) + sizeof(struct sockaddr_in6) +
			  io->cfg.buf_size + 63) &
			 ~(size_t)63;
	io->rx_mem_bytes = (size_t)nbufs * io->rx_buf_len;
	/* liburing 2.3 (Debian 12) has no io_uring_setup_buf_ring: map the ring
	 * ourselves (page aligned, as the kernel requires) and register it */
	io->br_bytes = (size_t)nbufs * sizeof(struct io_uring_buf);
	io->br = mem_pool_alloc(io->br_bytes);
	io->rx_mem = mem_pool_alloc(io->rx_mem_bytes);
	if (!io->br || !io->rx_mem) {
		io->uring_step = "buffer ring memory";
		rc = -ENOMEM;
		goto fail;
	}
	struct io_uring_buf_reg reg = {
	    .ring_addr = (unsigned long)io->br,
	    .ring_entries = nbufs,
	    .bgid = BGID,
	};
	io->uring_step = "io_uring_register_buf_ring";
	rc = io_uring_register_buf_ring(&io->ring, &reg, 0);
	if (rc)
		goto fail;
	io->cfg.nbufs = nbufs;
	io->br_mask = (unsigned)io_uring_buf_ring_mask(nbufs);
	io_uring_buf_ring_init(io->br);
	for (unsigned i = 0; i < nbufs; i++)
		io_uring_buf_ring_add(io->br, io->rx_mem + (size_t)i * io->rx_buf_len,
				      (unsigned)io->rx_buf_len, (unsigned short)i, (int)io->br_mask,
				      (int)i);
	io_uring_buf_ring_advance(io->br, (int)nbufs);

	memset(&io->rx_msg, 0, sizeof(io->rx_msg));
	io->rx_msg.msg_namelen = sizeof(struct sockaddr_in6);
	io->uring_step = "multishot recvmsg probe";
	rc = probe_multishot(io);
	if (rc)
		goto fail;
	io->uring_step = NULL;
	return 0;
fail:
	net_uring_close(io);
	return rc < 0 ? rc : -EIO;
}

static void recycle(struct net_io *io, unsigned bid)
{
	io_uring_buf_ring_add(io->br, io->rx_mem + (size_t)bid * io->rx_buf_len,
			      (unsigned)io->rx_buf_len, (unsigned short)bid, (int)io->br_mask, 0);
	io_uring_buf_ring_advance(io->br, 1);
}

/* One receive completion. cb NULL: closing, drop the data. Returns a receive
 * error worth reporting, or 0. */
static int on_recv(struct net_io *io, const struct io_uring_cqe *cqe, net_rx_fn cb, void *arg)
{
	if (!(cqe->flags & IORING_CQE_F_MORE))
		io->armed = false; /* the multishot ended (ENOBUFS or error): re-arm */
	if (cqe->res < 0) {
		if (cqe->res == -ENOBUFS) {
			counter_inc(&io->st.rx_enobufs);
			return 0;
		}
		if (cqe->res == -ECANCELED || cqe->res == -EINTR)
			return 0;
		counter_inc(&io->st.rx_errors);
		return cqe->res;
	}
	if (!(cqe->flags & IORING_CQE_F_BUFFER)) {
		counter_inc(&io->st.rx_errors);
		return 0;
	}
	unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
	if (bid > io->br_mask) {
		counter_inc(&io->st.rx_errors); /* not one of ours: nothing to read or give back */
		return 0;
	}
	char *buf = io->rx_mem + (size_t)bid * io->rx_buf_len;
	struct io_uring_recvmsg_out *o = NULL;
	if ((size_t)cqe->res <= io->rx_buf_len)
		o = io_uring_recvmsg_validate(buf, cqe->res, &io->rx_msg);
	if (!o) {
		counter_inc(&io->st.rx_errors);
	} else if ((o->flags & MSG_TRUNC) || o->payloadlen > io->cfg.buf_size) {
		/* a cut datagram is not a message; the rounding of rx_buf_len may
		 * leave room for a few bytes past buf_size, which is still too big */
		counter_inc(&io->st.rx_truncated);
	} else if (cb) {
		uint32_t room = io_uring_recvmsg_payload_length(o, cqe->res, &io->rx_msg);
		struct net_pkt pkt = {
		    .data = io_uring_recvmsg_payload(o, &io->rx_msg),
		    .len = o->payloadlen < room ? o->payloadlen : room,
		    .peer = io_uring_recvmsg_name(o),
		    .peer_len =
			o->namelen < io->rx_msg.msg_namelen ? o->namelen : io->rx_msg.msg_namelen,
		};
		counter_inc(&io->st.rx);
		cb(arg, &pkt);
	}
	recycle(io, bid);
	return 0;
}

/* A send of a chain given back goes into the FIFO's front in its place in
 * the chain, whatever order the completions come in. */
static void requeue_linked(struct net_io *io, uint32_t slot)
{
	uint32_t at = io->tx_nback++;

	while (at && io->tx[io->tx_queued[at - 1]].link > io->tx[slot].link)
		at--;
	memmove(io->tx_queued + at + 1, io->tx_queued + at,
		(io->tx_nqueued - at) * sizeof(*io->tx_queued));
	io->tx_queued[at] = slot;
	io->tx_nqueued++;
	io->tx_nretry++;
	io->tx[slot].state = NET_TX_QUEUED;
}

/* The sends that left after cqe, the first the kernel gave back of sends
 * not linked: a submit's sends are issued, and complete, one after the other
 * in the order queued, so those went ahead of it. Read from the CQ as far as
 * the kernel has posted, none consumed (reap does). */
static uint64_t sent_after(const struct net_io *io, const struct io_uring_cqe *cqe)
{
	const struct io_uring_cq *cq = &io->ring.cq;
	unsigned head = *cq->khead; /* reap advances it once done */
	unsigned tail = io_uring_smp_load_acquire(cq->ktail);
	unsigned h = head + (((unsigned)(cqe - cq->cqes) - head) & cq->ring_mask);
	uint64_t n = 0;

	while (++h != tail) {
		const struct io_uring_cqe *c = &cq->cqes[h & cq->ring_mask];
		n += c->user_data < io->cfg.ntx && c->res >= 0 &&
		     io->tx[c->user_data].state == NET_TX_INFLIGHT;
	}
	return n;
}

/* One send completion. Returns -ENOBUFS when the kernel gave it back for
 * want of memory, 1 when it was sent, 2 when it was refused in a chain (the
 * kernel cancels the rest of it), else 0. */
static int on_send(struct net_io *io, const struct io_uring_cqe *cqe)
{
	uint64_t i = cqe->user_data;

	if (i >= io->cfg.ntx || io->tx[i].state < NET_TX_INFLIGHT)
		return 0;
	io->tx_inflight--;
	if (cqe->res >= 0) {
		counter_inc(&io->st.tx);
		net_tx_put(io, (uint32_t)i);
		return 1;
	}
	if (cqe->res != -EAGAIN && cqe->res != -ENOBUFS && cqe->res != -ECANCELED) {
		bool linked = io->tx[i].state == NET_TX_LINKED;
		counter_inc(
		    &io->st.tx_errors); /* UDP: a refused datagram is dropped, not retried */
		net_tx_put(io, (uint32_t)i);
		return linked ? 2 : 0;
	}
	/* not sent: the send buffer full (see the top), the kernel short of
	 * memory (again after a wait), or behind one of those in a chain (or
	 * cancelled at close). It goes back to the queue, and the sends after
	 * it wait behind it, as one chain at a time */
	if (io->tx[i].state == NET_TX_LINKED) {
		requeue_linked(io, (uint32_t)i);
	} else {
		if (!io->tx_ordered && cqe->res != -ECANCELED)
			counter_add(&io->st.tx_reordered, sent_after(io, cqe));
		net_tx_requeue(io, (uint32_t)i);
	}
	io->tx_ordered = true;
	if (cqe->res == -EAGAIN)
		io->tx_blocked = true;
	if (cqe->res != -ENOBUFS)
		return 0;
	counter_inc(&io->st.tx_enobufs);
	return -ENOBUFS;
}

/* As on_send for a send given back: one chain at a time from now on, after
 * POLLOUT for a full buffer; net_mmsg_flush set the wait after ENOBUFS. */
void net_uring_tx_refused(struct net_io *io, int rc)
{
	io->tx_ordered = true;
	if (rc == -EAGAIN)
		io->tx_blocked = true;
}

bool net_uring_tx_settled(const struct net_io *io)
{
	const struct io_uring_cq *cq = &io->ring.cq;
	unsigned tail = io_uring_smp_load_acquire(cq->ktail);
	uint32_t done = 0;

	if (io->tx_ordered)
		return false;
	/* within a pass (a receive callback applies the controller's send),
	 * the completions it handled are still in the queue, their slots
	 * perhaps given out again since: a send's old success is not the
	 * outcome of the one that took its slot */
	unsigned from = io->reaping ? io->reaped_to : *cq->khead;
	for (unsigned h = from; h != tail && done < io->tx_inflight; h++) {
		const struct io_uring_cqe *c = &cq->cqes[h & cq->ring_mask];
		if (c->user_data >= io->cfg.ntx || io->tx[c->user_data].state != NET_TX_INFLIGHT)
			continue;
		if (c->res == -EAGAIN || c->res == -ENOBUFS || c->res == -ECANCELED)
			return false; /* given back: it waits */
		done++;
	}
	return done == io->tx_inflight;
}

/* Handles the completions present when the pass starts, in one pass. The
 * tail is read once: buffers recycled during the pass let the kernel post
 * more, and those wait for the next pass, so one poll stays bounded by about
 * nbufs datagrams however fast they come (io_uring_for_each_cqe would re-read
 * the tail on every step). */
static int reap(struct net_io *io, net_rx_fn cb, void *arg)
{
	struct io_uring_cq *cq = &io->ring.cq;
	unsigned head = *cq->khead;
	unsigned tail = io_uring_smp_load_acquire(cq->ktail);
	int err = 0;
	bool sent = false, nobufs = false, refused_linked = false;

	/* Send completions first: their buffers return to the pool before this
	 * pass's callbacks ask for one. In CQ order they come after the
	 * receives the kernel posted while the last pass was still handling
	 * its batch, whose callbacks then found every buffer taken by sends
	 * long done. A send submitted during the pass (net_tx_send_now, from a
	 * receive callback, flushes what is queued; the rest of a chain that a
	 * refusal cancelled, sent again below) completes past tail: the
	 * loop below, which stops at tail, has none left to see, and the next
	 * pass reaps it (net_uring_tx_settled reads it from reaped_to). */
	for (unsigned h = head; h != tail; h++) {
		const struct io_uring_cqe *cqe = &cq->cqes[h & cq->ring_mask];
		if (cqe->user_data < io->cfg.ntx) {
			int r = on_send(io, cqe);
			nobufs |= r == -ENOBUFS;
			sent |= r == 1;
			refused_linked |= r == 2;
		} else if (cqe->user_data == UD_POLLOUT) {
			/* room again (or cancelled): the queued sends go with the
			 * next submit, and come back again if the room is gone */
			io->pollout_armed = false;
			io->tx_blocked = false;
		}
	}
	/* the sends of one submit that the kernel gave back lengthen the wait
	 * once, not once each */
	if (nobufs)
		net_backoff_failed(&io->tx_backoff, clock_mono_ms());
	else if (sent)
		net_backoff_reset(&io->tx_backoff);
	/* A send of a chain refused for good (EACCES: a broadcast address;
	 * EPERM: a firewall; ENETUNREACH), counted and dropped above: the
	 * kernel cancelled the rest of the chain, given back above, though
	 * the socket may have room for them. They go now, before this pass's
	 * callbacks, not with its end: one datagram's refusal holds up none
	 * of the others. Not while closing (cb NULL: drain). */
	if (refused_linked && cb) {
		prep_sends(io);
		io_uring_submit(&io->ring);
	}
	io->reaping = true;
	io->reaped_to = tail;
	for (unsigned h = head; h != tail; h++) {
		const struct io_uring_cqe *cqe = &cq->cqes[h & cq->ring_mask];
		if (cqe->user_data == UD_RECV) {
			int e = on_recv(io, cqe, cb, arg);
			if (e)
				err = e;
		} else if (cqe->user_data == UD_WAKE) {
			io->wake_armed = false; /* read: the wake is consumed */
			if (cqe->res < 0 && cqe->res != -ECANCELED && cqe->res != -EINTR)
				io->wake_fd = -1; /* a read that fails at once would spin: stop */
		}
	}
	io->reaping = false;
	io_uring_cq_advance(&io->ring, tail - head);
	return err;
}

int net_uring_poll(struct net_io *io, int timeout_ms, net_rx_fn cb, void *arg)
{
	uint64_t before = io->st.rx;
	struct io_uring_cqe *cqe;
	int rc;

	/* sends queued since the last poll leave with this wait's submit */
	prep_sends(io);
	if (!io->armed && arm_recv(io) == 0)
		counter_inc(&io->st.rearms);
	if (io->wake_fd >= 0 && !io->wake_armed)
		net_uring_arm_wake(io);
	/* after an ENOBUFS: wake when its wait is over, to send again */
	if (io->tx_nqueued && net_tx_backing_off(io))
		timeout_ms = net_backoff_timeout(&io->tx_backoff, clock_mono_ms(), timeout_ms);
	if (timeout_ms == 0) {
		/* enter even with nothing to submit: completions waiting as task
		 * work are posted only when this thread is in the kernel */
		rc = io_uring_submit_and_get_events(&io->ring);
	} else {
		struct __kernel_timespec ts = {
		    .tv_sec = timeout_ms / 1000,
		    .tv_nsec = (long long)(timeout_ms % 1000) * 1000000,
		};
		rc = io_uring_submit_and_wait_timeout(&io->ring, &cqe, 1,
						      timeout_ms > 0 ? &ts : NULL, NULL);
	}
	/* ETIME: nothing came; EINTR: a signal; EAGAIN/EBUSY: the kernel is short
	 * of resources or holds overflowed completions. In each case handle
	 * whatever is in the CQ. */
	if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY)
		return rc;
	int err = reap(io, cb, arg);
	if (!io->armed && arm_recv(io) == 0)
		counter_inc(&io->st.rearms);
	net_uring_flush(io);
	int n = (int)(io->st.rx - before);
	return n == 0 && err ? err : n;
}

int net_uring_flush(struct net_io *io)
{
	prep_sends(io);
	int rc = io_uring_submit(&io->ring);
	return rc < 0 ? rc : 0;
}

/* Cancels what is in flight and waits (briefly) until the kernel has let go
 * of our buffers, so that freeing them cannot race with a late completion. */
static void drain(struct net_io *io)
{
	struct io_uring_sqe *sqe;

	if (!io->armed && !io->tx_inflight && !io->wake_armed && !io->pollout_armed)
		return;
	sqe = get_sqe(io);
	if (sqe) {
		io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
		io_uring_sqe_set_data64(sqe, UD_CANCEL);
	}
	io_uring_submit(&io->ring);
	for (int tries = 0;
	     tries < 100 && (io->armed || io->tx_inflight || io->wake_armed || io->pollout_armed);
	     tries++) {
		struct __kernel_timespec ts = {.tv_sec = 0, .tv_nsec = 10 * 1000000};
		struct io_uring_cqe *cqe;
		if (io_uring_wait_cqe_timeout(&io->ring, &cqe, &ts) == 0)
			reap(io, NULL, NULL);
	}
}

void net_uring_close(struct net_io *io)
{
	if (io->ring_up) {
		drain(io);
		/* also unregisters the buffer ring */
		io_uring_queue_exit(&io->ring);
		io->ring_up = false;
	}
	mem_pool_free(io->br, io->br_bytes);
	mem_pool_free(io->rx_mem, io->rx_mem_bytes);
	io->br = NULL;
	io->rx_mem = NULL;
	io->armed = false;
	io->wake_armed = false;
	io->pollout_armed = false;
	io->tx_blocked = false;
}
