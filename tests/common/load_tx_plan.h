/*
 * load_tx_plan.h - for the unit tests of sipshard-load's sides
 * (test_load_uac.c, test_load_uas.c): its sources built into the test with
 * net_tx_alloc under the test's control, so that a send can find no buffer
 * where the test says.
 *
 * Owns: the plan of send buffers (struct alloc_plan) and the load sources
 * both sides need (msg.c, stats.c, worker.c). Include it once, after
 * "net/io.h" and before the side's own source (uac.c or uas.c).
 * Does not own: the sockets, ports and configuration of each test.
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

#endif
