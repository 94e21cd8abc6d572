/*
 * worker.c - the per-thread scaffolding that the uac and uas roles share
 * (see worker.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "net/udp.h"
#include "worker.h"

#define PUBLISH_NS (10 * 1000000ull)

int load_ep_open(struct load_ep *e, struct load_worker *w, const struct sockaddr_storage *a,
		 socklen_t alen, bool reuseport, unsigned ntx)
{
	e->fd = w->fd >= 0 ? w->fd : udp_socket_bind(a, alen, reuseport);
	if (e->fd < 0) {
		char as[64];
		int rc = e->fd;
		udp_format_addr((const struct sockaddr *)a, as, sizeof(as));
		snprintf(w->err, sizeof(w->err), "cannot bind %s: %s", as, strerror(-rc));
		e->fd = 0;
		return rc;
	}
	struct sockaddr_storage b;
	socklen_t bl = sizeof(b);
	getsockname(e->fd, (struct sockaddr *)&b, &bl);
	udp_format_addr((struct sockaddr *)&b, e->local, sizeof(e->local));
	e->local_len = strlen(e->local);
	struct net_io_config nc = {e->fd, LOAD_RX_BUFS, LOAD_RX_BUF_SIZE,
				   ntx,	  LOAD_TX_SIZE, w->cfg->no_uring};
	int rc = net_io_open(&e->io, &nc);
	if (rc) {
		snprintf(w->err, sizeof(w->err), "net_io_open: %s", strerror(-rc));
		return rc;
	}
	w->backend = net_io_backend(e->io);
	return 0;
}

void load_ep_close(struct load_ep *e, struct load_worker *w)
{
	if (e->io) {
		struct net_io_stats ns;
		net_io_get_stats(e->io, &ns);
		w->io_rx += ns.rx;
		w->io_tx += ns.tx;
		w->io_tx_errors += ns.tx_errors;
		w->io_tx_enobufs += ns.tx_enobufs;
		w->io_tx_reordered += ns.tx_reordered;
		w->io_truncated += ns.rx_truncated;
		w->io_enobufs += ns.rx_enobufs;
		w->io_pool_empty += ns.tx_pool_empty;
		net_io_close(e->io);
		e->io = NULL;
	}
	if (e->fd > 0) /* 0 is stdin, never a socket of ours */
		close(e->fd);
	e->fd = 0;
}

void load_ep_flush(struct load_ep *e)
{
	if (e->queued) {
		net_io_flush(e->io);
		e->queued = false;
	}
}

size_t load_sdp_ip(const char *addr, bool ipv6, char *out, size_t cap)
{
	const char *end = ipv6 ? strchr(addr, ']') : strrchr(addr, ':');
	size_t n = end ? (size_t)(end - addr) : strlen(addr);
	if (ipv6 && *addr == '[') {
		addr++;
		n--;
	}
	if (n >= cap)
		n = cap - 1;
	memcpy(out, addr, n);
	return n;
}

unsigned load_rt_lists(struct tl_list *lists, const struct load_cfg *cfg)
{
	uint64_t t1 = (uint64_t)cfg->t1_ms * 1000000;
	for (int k = 0; k < LOAD_RT_CLASSES; k++)
		tl_init_list(&lists[k], t1 << k);
	unsigned kcap = 0;
	while (kcap + 1 < LOAD_RT_CLASSES && (cfg->t1_ms << (kcap + 1)) <= cfg->t2_ms)
		kcap++;
	return kcap;
}

bool load_publish(struct load_ctx *x, uint64_t now, bool force, uint64_t up, uint64_t outstanding,
		  uint64_t errors)
{
	if (!force && now - x->last_publish < PUBLISH_NS)
		return false;
	x->last_publish = now;
	struct load_stats *st = x->st;
	uint64_t done = 0, retrans = 0;
	for (int m = 0; m < LM_COUNT; m++) {
		done += st->c.m[m].completed;
		retrans += st->c.m[m].retrans;
	}
	struct load_live *l = &st->live;
	load_live_set(&l->calls_up, up);
	load_live_set(&l->completed, done);
	load_live_set(&l->outstanding, outstanding);
	load_live_set(&l->errors, errors);
	load_live_set(&l->retrans, retrans);
	return true;
}

void load_worker_run(struct load_worker *w, const struct load_role_ops *ops)
{
	void *state = calloc(1, ops->size);

	if (!state) {
		w->rc = -ENOMEM;
		snprintf(w->err, sizeof(w->err), "out of memory");
		atomic_store(&w->ready, -1);
		return;
	}
	struct load_ctx *x = state;
	x->w = w;
	x->cfg = w->cfg;
	x->st = w->stats;
	x->c = &w->stats->c;
	x->th = w->index;
	load_put_hex(x->th_hex, x->th, 2);
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0); /* short pacing sleeps stay short */
	w->rc = ops->setup(state);
	atomic_store(&w->ready, w->rc ? -1 : 1);
	if (!w->rc)
		ops->loop(state);
	ops->teardown(state);
	w->stats->c.truncated = w->io_truncated;
	free(state);
}
