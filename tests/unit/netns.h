/*
 * netns.h - network namespaces of a unit test's own, whose loopback has a
 * queueing discipline that holds or drops what is sent (tc), for the tests
 * of sends that find the send buffer full or the kernel short of memory.
 * Included by a test after cmocka.h; a test that enters one has
 * net_ns_restore as its teardown.
 */
#ifndef SIPSHARD_TESTS_NETNS_H
#define SIPSHARD_TESTS_NETNS_H

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The network namespace the process started in, while a test runs in one of
 * its own (-1: none); net_ns_restore, the teardown, goes back to it whether
 * the test passed or not. */
static int saved_net_ns = -1;
/* The CPUs the process may run on before the test pinned it to one. */
static cpu_set_t saved_cpus;
static bool cpus_saved;

/* Moves the process into a new network namespace whose loopback has the
 * queueing discipline qdisc (tc's words, after "root"). Skips the test
 * without the privilege or the tools (iproute2). */
static inline void enter_net_ns(const char *qdisc)
{
	char cmd[256];

	saved_net_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (saved_net_ns < 0 || unshare(CLONE_NEWNET) != 0) {
		print_message("SKIP: no network namespace of its own here (%s)\n", strerror(errno));
		skip();
	}
	/* One CPU for the test: a datagram the qdisc lets out goes to the
	 * receive backlog of the CPU that dequeues it, the sender's or the one
	 * a token bucket's timer fires on, and two CPUs' backlogs may deliver
	 * out of order, which a test of the order the io keeps would count
	 * against it. Pinned, the sender, the qdisc and its timer share one. */
	int cpu = sched_getcpu();
	if (cpu >= 0 && sched_getaffinity(0, sizeof(saved_cpus), &saved_cpus) == 0) {
		cpu_set_t one;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		cpus_saved = sched_setaffinity(0, sizeof(one), &one) == 0;
	}
	snprintf(cmd, sizeof(cmd), "ip link set lo up && tc qdisc add dev lo root %s", qdisc);
	if (system(cmd) != 0) {
		print_message("SKIP: cannot shape the loopback with tc\n");
		skip();
	}
}

/* A loopback that sends through a 8 Mbit/s token bucket (tc tbf): a datagram
 * holds its socket's send buffer until the bucket lets it out, as on a NIC
 * whose queue is full, so a socket with a small send buffer finds it full
 * (EAGAIN) after a few sends. */
static inline void enter_slow_loopback(void)
{
	enter_net_ns("tbf rate 8mbit burst 4kb limit 10mb");
}

/* A loopback whose queue takes nothing (pfifo limit 0): every datagram is
 * dropped there, and a socket with IP_RECVERR is told so by its send failing
 * with ENOBUFS, the error a kernel short of memory gives too, while its send
 * buffer stays empty (POLLOUT at once). The loopback works again once
 * lift_drop_all removes the queue. */
static inline void enter_drop_all_loopback(void)
{
	enter_net_ns("pfifo limit 0");
}

static inline void lift_drop_all(void)
{
	assert_int_equal(system("tc qdisc del dev lo root"), 0);
}

static inline int net_ns_restore(void **state)
{
	(void)state;
	if (cpus_saved) {
		(void)sched_setaffinity(0, sizeof(saved_cpus), &saved_cpus);
		cpus_saved = false;
	}
	if (saved_net_ns >= 0) {
		if (setns(saved_net_ns, CLONE_NEWNET) != 0)
			return -1;
		close(saved_net_ns);
		saved_net_ns = -1;
	}
	return 0;
}

#endif
