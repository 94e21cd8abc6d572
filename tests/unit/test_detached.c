/*
 * test_detached.c - the controller's stand-alone non-INVITE client
 * transactions (user/daemon/detached.c): retransmission until a final or
 * Timer F, the Completed state until Timer K (RFC 3261 17.1.2.2), and a full
 * table giving a new request the place of a Completed one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../common/addr.h"
#include "daemon/detached.h"
#include "sipshard/sip.h"

#define T1 500
#define T2 4000

static struct detached_set set;
static unsigned nsends;
static struct sockaddr_storage peer;
static char resp[1024];
static struct sip_msg m;

static void count_send(void *arg, unsigned shard, const char *buf, size_t len,
		       const struct sockaddr_storage *to, socklen_t tolen)
{
	(void)arg, (void)shard, (void)buf, (void)len, (void)to, (void)tolen;
	nsends++;
}

static int setup(void **state)
{
	(void)state;
	detached_init(&set, T1, T2);
	nsends = 0;
	test_addr_in((struct sockaddr_in *)&peer, "127.0.0.1", 5090);
	return 0;
}

/* branch "z9hG4bKdN" of request number n */
static int branch_of(unsigned n, char *out, size_t cap)
{
	return snprintf(out, cap, "z9hG4bKd%u", n);
}

/* Sends BYE number n at now. */
static void send_bye(unsigned n, uint64_t now)
{
	char branch[32], req[256];
	int bl = branch_of(n, branch, sizeof(branch));
	int len = snprintf(req, sizeof(req),
			   "BYE sip:bob@127.0.0.1:5090 SIP/2.0\r\nVia: SIP/2.0/UDP "
			   "127.0.0.1:5060;branch=%s\r\n\r\n",
			   branch);
	detached_send(&set, req, (size_t)len, branch, (size_t)bl, SIP_METHOD_BYE, 0, &peer,
		      sizeof(struct sockaddr_in), now, count_send, NULL);
}

/* Response status to BYE number n at now: whether the table took it. */
static bool answer(unsigned n, int status, uint64_t now)
{
	char branch[32];
	branch_of(n, branch, sizeof(branch));
	int len = snprintf(resp, sizeof(resp),
			   "SIP/2.0 %d X\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=%s\r\n"
			   "From: <sip:a@x>;tag=a\r\nTo: <sip:b@y>;tag=b\r\nCall-ID: c\r\n"
			   "CSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n",
			   status, branch);
	assert_int_equal(sip_parse(&m, resp, (size_t)len, NULL), 0);
	return detached_on_response(&set, &m, now);
}

static bool pending(unsigned n)
{
	char branch[32];
	int bl = branch_of(n, branch, sizeof(branch));
	return detached_pending(&set, branch, (size_t)bl, SIP_METHOD_BYE);
}

/* A final completes the transaction: no more retransmissions, copies of the
 * final (and a late provisional) absorbed until Timer K, T4 after it; then
 * it is forgotten. Before, the final ended it at once, and a copy of it was
 * nobody's response. */
static void test_completed_until_timer_k(void **state)
{
	(void)state;
	send_bye(1, 1000);
	assert_int_equal(nsends, 1);
	detached_tick(&set, 1000 + T1, count_send, NULL); /* Timer E */
	assert_int_equal(nsends, 2);
	assert_true(answer(1, 200, 1600));
	assert_int_equal(set.st.answered, 1);
	assert_true(pending(1));
	detached_tick(&set, 1600 + 3 * T1, count_send, NULL);
	assert_int_equal(nsends, 2); /* not sent again */
	assert_true(answer(1, 200, 1600 + DETACHED_T4_MS - 1));
	assert_true(answer(1, 180, 1600 + DETACHED_T4_MS - 1));
	assert_int_equal(set.st.answered, 1);
	assert_int_equal(set.st.absorbed, 2); /* counted, each */
	detached_tick(&set, 1600 + DETACHED_T4_MS, count_send, NULL);
	assert_false(pending(1));
	assert_false(answer(1, 200, 1600 + DETACHED_T4_MS + 1));
	assert_int_equal(set.st.answered, 1);
	assert_int_equal(set.st.unanswered, 0);
	assert_int_equal(set.live, 0);
}

/* Unanswered until Timer F: counted unanswered, as before. */
static void test_unanswered_at_timer_f(void **state)
{
	(void)state;
	send_bye(1, 0);
	for (uint64_t t = 0; t <= 64 * T1; t += 100)
		detached_tick(&set, t, count_send, NULL);
	assert_false(pending(1));
	assert_int_equal(set.st.unanswered, 1);
	assert_int_equal(set.st.answered, 0);
}

/* A full table: a new request takes the place of the Completed transaction
 * nearest its Timer K; with every one in progress, it is sent untracked. */
static void test_full_table_takes_a_completed_place(void **state)
{
	(void)state;
	for (unsigned i = 0; i < DETACHED_MAX; i++)
		send_bye(i, 1000);
	assert_int_equal(set.live, DETACHED_MAX);
	send_bye(100, 1000);
	assert_int_equal(set.st.untracked, 1);
	assert_false(pending(100));

	assert_true(answer(7, 200, 1100));
	assert_true(answer(3, 200, 1050)); /* nearer its Timer K */
	send_bye(101, 1200);
	assert_true(pending(101));
	assert_false(pending(3));
	assert_true(pending(7));
	assert_int_equal(set.st.untracked, 1);
	send_bye(102, 1200);
	assert_true(pending(102));
	assert_false(pending(7));
	send_bye(103, 1200);
	assert_int_equal(set.st.untracked, 2);
	assert_int_equal(nsends, DETACHED_MAX + 4); /* each sent once all the same */
}

/* A request too large to keep, sent when every place is taken and one is
 * Completed: sent once, untracked, and that Completed transaction keeps its
 * place (it still absorbs copies of its final). Before, the full table's
 * Completed place was given up for a request that could not take it. */
static void test_too_large_leaves_a_completed_place(void **state)
{
	(void)state;
	static char big[DETACHED_REQUEST_MAX + 1];
	char branch[32];

	for (unsigned i = 0; i < DETACHED_MAX; i++)
		send_bye(i, 1000);
	assert_true(answer(5, 200, 1100));
	memset(big, 'x', sizeof(big));
	int bl = branch_of(200, branch, sizeof(branch));
	detached_send(&set, big, sizeof(big), branch, (size_t)bl, SIP_METHOD_BYE, 0, &peer,
		      sizeof(struct sockaddr_in), 1200, count_send, NULL);
	assert_int_equal(nsends, DETACHED_MAX + 1);
	assert_int_equal(set.st.untracked, 1);
	assert_true(pending(5));
	assert_true(answer(5, 200, 1300)); /* a copy: absorbed */
	assert_int_equal(set.st.answered, 1);
	assert_int_equal(set.live, DETACHED_MAX);
	/* a request that fits takes that place */
	send_bye(201, 1300);
	assert_true(pending(201));
	assert_false(pending(5));
	assert_int_equal(set.st.untracked, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_completed_until_timer_k, setup),
	    cmocka_unit_test_setup(test_unanswered_at_timer_f, setup),
	    cmocka_unit_test_setup(test_full_table_takes_a_completed_place, setup),
	    cmocka_unit_test_setup(test_too_large_leaves_a_completed_place, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
