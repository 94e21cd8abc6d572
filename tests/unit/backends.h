/*
 * backends.h - a unit test's case run on each backend of the batched I/O
 * layer (net/io.h): io_uring, and the recvmmsg/sendmmsg fallback. A case is
 * a function of no_uring; NET_BOTH_BACKENDS(case) defines its two tests,
 * test_CASE_uring and test_CASE_mmsg, and NET_BOTH_TESTS(case) lists them in
 * the cmocka table, so that a case on both backends is one line in each
 * place and neither backend can be forgotten. Whether a case skips on a
 * kernel without io_uring is the case's own business (it sees no_uring).
 * Included by a test after cmocka.h.
 */
#ifndef SIPSHARD_TESTS_BACKENDS_H
#define SIPSHARD_TESTS_BACKENDS_H

#include <stdbool.h>

/* A cmocka test FN that runs CALL, an expression that names no_uring, with
 * no_uring set to VALUE: the one body both backends' tests share. */
#define NET_ON_BACKEND(fn, value, call)                                                            \
	static void fn(void **state)                                                               \
	{                                                                                          \
		const bool no_uring = (value);                                                     \
		(void)state;                                                                       \
		call;                                                                              \
	}

/* test_NAME_uring and test_NAME_mmsg, running CALL (which names no_uring)
 * on io_uring and on the fallback: for a case with more arguments than the
 * backend, e.g. NET_BOTH_BACKENDS_CALL(send_enobufs_dry_pool,
 * send_enobufs(no_uring, true)). */
#define NET_BOTH_BACKENDS_CALL(name, call)                                                         \
	NET_ON_BACKEND(test_##name##_uring, false, call)                                           \
	NET_ON_BACKEND(test_##name##_mmsg, true, call)

/* test_NAME_uring and test_NAME_mmsg for the case NAME(bool no_uring). */
#define NET_BOTH_BACKENDS(name) NET_BOTH_BACKENDS_CALL(name, name(no_uring))

/* The two tests of NAME as entries of a cmocka table, io_uring's first. */
#define NET_BOTH_TESTS(name)                                                                       \
	cmocka_unit_test(test_##name##_uring), cmocka_unit_test(test_##name##_mmsg)

/* The same, each with the teardown TEARDOWN (net_ns_restore for the cases
 * that enter a network namespace of their own). */
#define NET_BOTH_TESTS_TEARDOWN(name, teardown)                                                    \
	cmocka_unit_test_teardown(test_##name##_uring, teardown),                                  \
	    cmocka_unit_test_teardown(test_##name##_mmsg, teardown)

#endif
