/*
 * io.c - backend choice and the send-buffer pool of io.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net/io_impl.h"

int net_io_open(struct net_io **out, const struct net_io_config *cfg)
{
	struct net_io *io;
	int rc;

	if (cfg->fd < 0 || !cfg->nbufs || !cfg->buf_size || !cfg->ntx || !cfg->tx_size ||
	    cfg->buf_size > 65535 + 1)
		return -EINVAL;
	io = calloc(1, sizeof(*io));
	if (!io)
		return -ENOMEM;
	io->cfg = *cfg;
	io->tx_mem = malloc((size_t)cfg->ntx * cfg->tx_size);
	io->tx = calloc(cfg->ntx, sizeof(*io->tx));
	io->tx_free = calloc(cfg->ntx, sizeof(*io->tx_free));
	io->tx_queued = calloc(cfg->ntx, sizeof(*io->tx_queued));
	if (!io->tx_mem || !io->tx || !io->tx_free || !io->tx_queued) {
		net_io_close(io);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < cfg->ntx; i++)
		io->tx_free[io->tx_nfree++] = cfg->ntx - 1 - i;

	rc = -EOPNOTSUPP;
	if (!cfg->no_uring)
		rc = net_uring_open(io);
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
	if (io->uring)
		net_uring_close(io);
	else
		net_mmsg_close(io);
	free(io->tx_mem);
	free(io->tx);
	free(io->tx_free);
	free(io->tx_queued);
	free(io);
}

const char *net_io_backend(const struct net_io *io)
{
	return io->uring ? "io_uring" : "recvmmsg";
}

int net_io_poll(struct net_io *io, int timeout_ms, net_rx_fn cb, void *arg)
{
	return io->uring ? net_uring_poll(io, timeout_ms, cb, arg)
			 : net_mmsg_poll(io, timeout_ms, cb, arg);
}

int net_io_flush(struct net_io *io)
{
	return io->uring ? net_uring_flush(io) : net_mmsg_flush(io);
}

char *net_tx_alloc(struct net_io *io)
{
	if (!io->tx_nfree) {
		io->st.tx_pool_empty++;
		return NULL;
	}
	return io->tx_mem + (size_t)io->tx_free[--io->tx_nfree] * io->cfg.tx_size;
}

void net_tx_release(struct net_io *io, char *buf)
{
	net_tx_put(io, net_tx_index(io, buf));
}

int net_tx_queue(struct net_io *io, char *buf, uint32_t len, const struct sockaddr *to,
		 socklen_t tolen)
{
	uint32_t i = net_tx_index(io, buf);
	struct net_tx_slot *s = &io->tx[i];

	if (len > io->cfg.tx_size || tolen > sizeof(s->to)) {
		net_tx_put(io, i);
		return -EINVAL;
	}
	memcpy(&s->to, to, tolen);
	s->iov.iov_base = buf;
	s->iov.iov_len = len;
	memset(&s->msg, 0, sizeof(s->msg));
	s->msg.msg_name = &s->to;
	s->msg.msg_namelen = tolen;
	s->msg.msg_iov = &s->iov;
	s->msg.msg_iovlen = 1;
	io->tx_queued[io->tx_nqueued++] = i;
	return 0;
}

void net_io_get_stats(const struct net_io *io, struct net_io_stats *st)
{
	*st = io->st;
}
