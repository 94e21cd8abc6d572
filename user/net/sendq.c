/*
 * sendq.c - the queue of sendq.h.
 *
 * The datagrams lie in one byte ring, each whole (a datagram that would run
 * past the end starts again at 0, the end left unused until the ring comes
 * round), described by a ring of entries (offset, length, destination) in
 * the order pushed. When the queue is empty the next datagram starts at 0
 * again, so a queue that empties at each flush touches only the first bytes
 * of its memory. A push does not try the socket while the last flush found
 * it full (blocked) or the wait after an ENOBUFS lasts: the owner's flush,
 * after its poll, does.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "core/clock.h"
#include "core/mem.h"
#include "net/backoff.h"
#include "net/io.h"
#include "net/sendq.h"

struct sendq_entry {
	uint32_t off, len;
	socklen_t tolen;
	struct sockaddr_in6 to; /* big enough for AF_INET and AF_INET6 */
};

struct net_sendq {
	int fd;
	char *mem;
	uint32_t cap;		    /* bytes of mem */
	struct sendq_entry *ent;    /* ring of max entries */
	uint32_t max, first, n;	    /* entries: capacity, oldest, how many */
	uint32_t wr;		    /* where the next datagram goes in mem */
	bool blocked;		    /* the last flush found the send buffer full */
	uint32_t counted;	    /* of the oldest, those counted in waited (all
				       of them while blocked) */
	struct net_backoff backoff; /* after ENOBUFS */
	net_sendq_refused_fn refused;
	void *arg;
	struct net_sendq_stats st;
	struct mmsghdr mm[NET_SENDQ_BATCH];
	struct iovec iov[NET_SENDQ_BATCH];
};

int net_sendq_open(struct net_sendq **out, int fd, uint32_t max_bytes, uint32_t max_dgrams,
		   net_sendq_refused_fn refused, void *arg)
{
	struct net_sendq *q;

	if (!out || fd < 0 || !max_bytes || !max_dgrams)
		return -EINVAL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->fd = fd;
	q->cap = max_bytes;
	q->max = max_dgrams;
	q->refused = refused;
	q->arg = arg;
	q->mem = mem_pool_alloc(max_bytes); /* backed as it is written */
	q->ent = calloc(max_dgrams, sizeof(*q->ent));
	if (!q->mem || !q->ent) {
		net_sendq_close(q);
		return -ENOMEM;
	}
	*out = q;
	return 0;
}

void net_sendq_close(struct net_sendq *q)
{
	if (!q)
		return;
	mem_pool_free(q->mem, q->cap);
	free(q->ent);
	free(q);
}

static struct sendq_entry *entry(const struct net_sendq *q, uint32_t k)
{
	uint32_t i = q->first + k;
	return &q->ent[i >= q->max ? i - q->max : i];
}

/* Where a datagram of len bytes fits in mem: *at, or false when it does not
 * until older ones go. */
static bool room(const struct net_sendq *q, uint32_t len, uint32_t *at)
{
	if (q->n == q->max)
		return false;
	if (q->n == 0) {
		*at = 0;
		return len <= q->cap;
	}
	uint32_t head = entry(q, 0)->off;
	if (q->wr > head) { /* in one piece: [head, wr) */
		if (q->cap - q->wr >= len) {
			*at = q->wr;
			return true;
		}
		*at = 0; /* round to the start, before head */
		return len <= head;
	}
	/* come round: [head, end) and [0, wr), room between (wr == head: full) */
	*at = q->wr;
	return head - q->wr >= len;
}

/* The oldest datagram leaves the queue. */
static void pop(struct net_sendq *q)
{
	if (q->counted)
		q->counted--;
	q->first = q->first + 1 == q->max ? 0 : q->first + 1;
	if (--q->n == 0) {
		q->first = 0;
		q->wr = 0;
	}
}

static bool backing_off(const struct net_sendq *q)
{
	/* step_ms first: no clock read while sends go */
	return q->backoff.step_ms && net_backoff_left(&q->backoff, clock_mono_ms()) > 0;
}

static void refuse(struct net_sendq *q, const struct sockaddr *to, int err)
{
	q->st.refused++;
	if (q->refused)
		q->refused(q->arg, to, err);
}

int net_sendq_push(struct net_sendq *q, const void *buf, size_t len, const struct sockaddr *to,
		   socklen_t tolen)
{
	socklen_t alen;
	uint32_t at;

	if (!len || !to)
		return -EINVAL;
	alen = net_dest_len(to, tolen);
	if (!alen) {
		refuse(q, to, EAFNOSUPPORT);
		return -EAFNOSUPPORT;
	}
	if (len > q->cap) {
		refuse(q, to, EMSGSIZE);
		return -EMSGSIZE;
	}
	/* a batch's worth waits: one sendmmsg for it, as the owner's flush
	 * would, and room for what follows; not while the socket is known
	 * to take nothing */
	if ((q->n >= NET_SENDQ_BATCH || !room(q, (uint32_t)len, &at)) && !q->blocked &&
	    !backing_off(q))
		(void)net_sendq_flush(q);
	while (!room(q, (uint32_t)len, &at)) {
		q->st.dropped_full++; /* the oldest gives way (sendq.h) */
		pop(q);
	}
	struct sendq_entry *e = entry(q, q->n);
	e->off = at;
	e->len = (uint32_t)len;
	e->tolen = alen;
	memcpy(&e->to, to, alen);
	memcpy(q->mem + at, buf, len);
	q->wr = at + (uint32_t)len;
	q->n++;
	if (q->blocked) { /* behind others waiting for room: it waits too */
		q->st.waited++;
		q->counted++;
	}
	return 0;
}

int net_sendq_flush(struct net_sendq *q)
{
	if (q->n && backing_off(q))
		return -ENOBUFS;
	while (q->n) {
		uint32_t k, batch = q->n < NET_SENDQ_BATCH ? q->n : NET_SENDQ_BATCH;
		for (k = 0; k < batch; k++) {
			struct sendq_entry *e = entry(q, k);
			q->iov[k] = (struct iovec){q->mem + e->off, e->len};
			q->mm[k] = (struct mmsghdr){.msg_hdr = {.msg_name = &e->to,
								.msg_namelen = e->tolen,
								.msg_iov = &q->iov[k],
								.msg_iovlen = 1}};
		}
		int n = sendmmsg(q->fd, q->mm, batch, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* the send buffer is full: all of them wait for room */
			q->blocked = true;
			q->st.waited += q->n - q->counted;
			q->counted = q->n;
			return -EAGAIN;
		}
		if (n < 0 && errno == ENOBUFS) {
			/* the kernel is short of memory: all wait a while */
			q->st.enobufs++;
			net_backoff_failed(&q->backoff, clock_mono_ms());
			return -ENOBUFS;
		}
		if (n <= 0) {
			/* the first was refused (no route, a broadcast address,
			 * EPERM...): UDP drops it, as a datagram lost on the way,
			 * and the rest go */
			refuse(q, (const struct sockaddr *)&entry(q, 0)->to, n < 0 ? errno : EIO);
			pop(q);
			continue;
		}
		/* n < batch: the next call says why datagram n failed */
		for (k = 0; k < (uint32_t)n; k++)
			pop(q);
		q->st.sent += (uint64_t)n;
		q->blocked = false;
		net_backoff_reset(&q->backoff);
	}
	/* emptied by refusals too: nothing waits for room, and what is pushed
	 * next has not found the buffer full (waited) until a flush says so */
	q->blocked = false;
	return 0;
}

uint32_t net_sendq_pending(const struct net_sendq *q)
{
	return q->n;
}

short net_sendq_poll_events(const struct net_sendq *q, int *timeout_ms)
{
	if (!q->n)
		return 0;
	if (backing_off(q)) {
		*timeout_ms = net_backoff_timeout(&q->backoff, clock_mono_ms(), *timeout_ms);
		return 0;
	}
	return q->blocked ? POLLOUT : 0;
}

void net_sendq_get_stats(const struct net_sendq *q, struct net_sendq_stats *st)
{
	*st = q->st;
}
