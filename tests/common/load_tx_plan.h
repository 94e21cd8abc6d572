/*
 * load_tx_plan.h - for the unit tests of sipshard-load's sides
 * (test_load_uac.c, test_load_uas.c): its sources built into the test with
 * net_tx_alloc under the test's control, so that a send can find no buffer
 * where the test says.
 *
 * Owns: the plan of send buffers (struct alloc_plan), the load sources both
 * sides need (msg.c, stats.c, worker.c), and the set-up both tests share (a
 * worker with its statistics, the side's context, the peer's socket).
 * Include it once, after "net/io.h" and before the side's own source
 * (uac.c or uas.c).
 * Does not own: the ports and configuration of each test.
 */
#ifndef SIPSHARD_TESTS_LOAD_TX_PLAN_H
#define SIPSHARD_TESTS_LOAD_TX_PLAN_H

/* The send buffers the next allocations get: `pass` more go through, then
 * `refuse` are refused (NULL, as with the pool empty). */
struct alloc_plan {
	int pass, refuse;
};
static struct alloc_plan plan;

static char *planned_tx_alloc(struct net_io *io)
{
	if (plan.pass > 0) {
		plan.pass--;
	} else if (plan.refuse > 0) {
		plan.refuse--;
		return NULL;
	}
	return net_tx_alloc(io);
}
#define net_tx_alloc planned_tx_alloc

#include "../../bench/load/msg.c"
#include "../../bench/load/stats.c"
#include "../../bench/load/worker.c"

/* Worker w for cfg with fresh statistics (returned, calloc'd: the test
 * frees them), and the side's context x tied to both, as load_worker_run
 * would fill them in for thread 0. */
static struct load_stats *load_test_worker(struct load_worker *w, struct load_cfg *cfg,
					   struct load_ctx *x)
{
	struct load_stats *st = calloc(1, sizeof(*st));
	assert_non_null(st);
	load_stats_init(st);
	memset(w, 0, sizeof(*w));
	w->cfg = cfg;
	w->stats = st;
	w->fd = -1;
	x->w = w;
	x->cfg = cfg;
	x->st = st;
	x->c = &st->c;
	load_put_hex(x->th_hex, 0, 2);
	return st;
}

/* The test's own UDP socket, the side's peer, bound to 127.0.0.1:port; its
 * address in addr. */
static int load_test_peer(uint16_t port, struct sockaddr_in *addr)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_port = htons(port);
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)addr, sizeof(*addr)), 0);
	return fd;
}

#endif
