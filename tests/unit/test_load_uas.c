/*
 * test_load_uas.c - sipshard-load's callee (bench/load/uas.c) counts what
 * went out: a datagram it keeps to retransmit (the final response to an
 * INVITE, a NOTIFY, its own BYE) whose first send finds no send buffer is
 * counted when a retransmission takes it out, as that first send would have
 * been, and not as a retransmission. Before, such a final counted nowhere
 * (its INVITE never answered, though the caller had the 200), and a NOTIFY
 * or BYE counted sent at the send that failed.
 *
 * uas.c lives with sipshard-load, outside the library, so it is compiled
 * into this test directly (with msg.c, stats.c and worker.c), its send
 * buffers taken through a wrapper that refuses one on demand (the pool
 * empty, which the io itself makes hard to come by: it flushes its queue to
 * free one). Real sockets on 127.0.0.1: the uas on 16828, the caller on
 * 16829.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/io.h"

#include "../common/load_tx_plan.h"
#include "../../bench/load/uas.c"

#define UAS_PORT 16828
#define ME_PORT	 16829
#define T1_MS	 10

static struct load_cfg cfg;
static struct load_worker worker;
static struct load_stats *stats;
static struct uas *u;
static int me = -1;
static struct sockaddr_in me_addr;

static int setup(void **state)
{
	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.role = LOAD_ROLE_UAS;
	struct sockaddr_in *a = (struct sockaddr_in *)&cfg.local;
	a->sin_family = AF_INET;
	a->sin_port = htons(UAS_PORT);
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cfg.local_len = sizeof(*a);
	cfg.threads = 1;
	cfg.max_calls = 16;
	cfg.pending = 16;
	cfg.t1_ms = T1_MS;
	cfg.t2_ms = 4 * T1_MS;
	cfg.no_uring = true; /* sends leave at the flush: nothing in flight */
	u = calloc(1, sizeof(*u));
	assert_non_null(u);
	stats = load_test_worker(&worker, &cfg, &u->x);
	assert_int_equal(uas_setup(u), 0);

	me = load_test_peer(ME_PORT, &me_addr);
	struct timeval tv = {0, 200000};
	setsockopt(me, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	plan = (struct alloc_plan){0, 0};
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	uas_teardown(u);
	free(u);
	free(stats);
	close(me);
	return 0;
}

/* Hands the uas one request from the caller, as its socket would. */
static void deliver(const char *text)
{
	struct net_pkt p = {text, (uint32_t)strlen(text), (const struct sockaddr *)&me_addr,
			    sizeof(me_addr)};
	on_pkt(u, &p);
	load_ep_flush(&u->ep);
}

/* The uas's timers, T1 (and a bit) later than the last time it looked. */
static void later(uint64_t ms)
{
	u->now += ms * 1000000ull + 1;
	fire_timers(u);
	load_ep_flush(&u->ep);
}

/* The datagrams the caller got, counted by what their first line starts with. */
static int received(const char *start)
{
	char buf[4096];
	int n = 0;
	ssize_t len;
	while ((len = recv(me, buf, sizeof(buf) - 1, MSG_DONTWAIT)) >= 0) {
		buf[len] = '\0';
		if (!strncmp(buf, start, strlen(start)))
			n++;
	}
	return n;
}

static void request(char *out, size_t cap, const char *method, int cseq, const char *call_id,
		    const char *to_tag, const char *extra)
{
	snprintf(out, cap,
		 "%s sip:service@127.0.0.1:%d SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s%d%s\r\n"
		 "Max-Forwards: 70\r\n"
		 "From: <sip:load@127.0.0.1:%d>;tag=c1\r\n"
		 "To: <sip:service@127.0.0.1:%d>%s%s\r\n"
		 "Call-ID: %s\r\nCSeq: %d %s\r\n"
		 "Contact: <sip:load@127.0.0.1:%d>\r\n%s"
		 "Content-Length: 0\r\n\r\n",
		 method, UAS_PORT, ME_PORT, method, cseq, call_id, ME_PORT, UAS_PORT,
		 to_tag ? ";tag=" : "", to_tag ? to_tag : "", call_id, cseq, method, ME_PORT,
		 extra);
}

/* The stored 200 of an INVITE, and the NOTIFY of a REFER, each refused a
 * send buffer at first: counted when their retransmission takes them out. */
static void test_final_and_notify_counted_when_they_go(void **state)
{
	(void)state;
	char req[2048], ltag[LTAG_LEN + 1];

	/* the INVITE: its 100 and 180 go, its 200 (stored) finds no buffer */
	plan = (struct alloc_plan){2, 1};
	request(req, sizeof(req), "INVITE", 1, "uas-count-1", NULL, "");
	deliver(req);
	assert_int_equal(stats->c.m[LM_INVITE].completed, 0);
	assert_int_equal(stats->c.responses_sent, 2);
	assert_int_equal(received("SIP/2.0 200"), 0);
	/* its retransmission at T1 is the first 200 the caller gets: the
	 * INVITE is answered now, once, and nothing was resent */
	later(T1_MS);
	assert_int_equal(received("SIP/2.0 200"), 1);
	assert_int_equal(stats->c.m[LM_INVITE].completed, 1);
	assert_int_equal(stats->c.responses_sent, 3);
	assert_int_equal(stats->c.responses_resent, 0);
	assert_int_equal(stats->c.codes[200 - 100], 1);

	/* a REFER in the call: its 202 goes, its NOTIFY finds no buffer */
	make_ltag(u, 0, ltag);
	ltag[LTAG_LEN] = '\0';
	plan = (struct alloc_plan){1, 1};
	request(req, sizeof(req), "REFER", 2, "uas-count-1", ltag,
		"Refer-To: <sip:other@127.0.0.1>\r\n");
	deliver(req);
	assert_int_equal(received("SIP/2.0 202"), 1);
	assert_int_equal(stats->c.notify_sent, 0);
	later(T1_MS);
	assert_int_equal(received("NOTIFY "), 1);
	assert_int_equal(stats->c.notify_sent, 1);
	assert_int_equal(stats->c.notify_retrans, 0);
	/* the next copy is a retransmission */
	later(2 * T1_MS);
	assert_int_equal(received("NOTIFY "), 1);
	assert_int_equal(stats->c.notify_sent, 1);
	assert_int_equal(stats->c.notify_retrans, 1);
}

/* The uas's own BYE (its 200 never ACKed, 64*T1) refused a send buffer at
 * first: counted sent when its retransmission takes it out. */
static void test_own_bye_counted_when_it_goes(void **state)
{
	(void)state;
	char req[2048];

	request(req, sizeof(req), "INVITE", 1, "uas-count-2", NULL, "");
	deliver(req);
	assert_int_equal(stats->c.m[LM_INVITE].completed, 1);
	received("");
	/* no ACK: at 64*T1 the BYE, whose first send finds no buffer */
	plan = (struct alloc_plan){0, 1};
	later(64 * T1_MS);
	assert_int_equal(stats->c.ack_timeouts, 1);
	assert_int_equal(stats->c.byes_sent, 0);
	assert_int_equal(received("BYE "), 0);
	later(T1_MS);
	assert_int_equal(received("BYE "), 1);
	assert_int_equal(stats->c.byes_sent, 1);
	assert_int_equal(stats->c.byes_retrans, 0);
}

/* Hands the uas req, which it must reject with `status` (a final it gets
 * once), and checks the request counted received and answered under meth. */
static void rejected(const char *req, const char *status, enum load_method meth)
{
	uint64_t sent = stats->c.m[meth].sent, completed = stats->c.m[meth].completed;
	deliver(req);
	assert_int_equal(received(status), 1);
	assert_int_equal(stats->c.m[meth].sent, sent + 1);
	assert_int_equal(stats->c.m[meth].completed, completed + 1);
}

/* A request the uas rejects is a request received and, once its response
 * went out, answered (README: "The uas counts a request answered when its
 * response went out"), whatever the rejection: 503 with the table full, 400
 * to an INVITE it cannot hold a call for, 500 to an INVITE or an in-dialog
 * request out of order, 481 to a request in no dialog of ours (an unknown To
 * tag, a call its BYE ended, a request other than INVITE, CANCEL, OPTIONS or
 * MESSAGE outside any dialog), 400 to a malformed one. Before, each was
 * counted only as an error: requests.received fell short of the datagrams
 * taken in, and a method all of whose requests were rejected had no row. */
static void test_rejections_counted_received_and_answered(void **state)
{
	(void)state;
	char req[2048], ltag[LTAG_LEN + 1], cid[160];

	request(req, sizeof(req), "INVITE", 1, "uas-rej-1", NULL, "");
	deliver(req);
	make_ltag(u, 0, ltag);
	ltag[LTAG_LEN] = '\0';
	request(req, sizeof(req), "ACK", 1, "uas-rej-1", ltag, "");
	deliver(req);
	received("");

	/* an INVITE of that call with a new CSeq and no To tag: 500 */
	request(req, sizeof(req), "INVITE", 2, "uas-rej-1", NULL, "");
	rejected(req, "SIP/2.0 500", LM_INVITE);
	/* an INFO, then one with a lower CSeq: 500 */
	request(req, sizeof(req), "INFO", 5, "uas-rej-1", ltag, "");
	deliver(req);
	assert_int_equal(received("SIP/2.0 200"), 1);
	request(req, sizeof(req), "INFO", 4, "uas-rej-1", ltag, "");
	rejected(req, "SIP/2.0 500", LM_INFO);
	/* an INFO with a To tag not ours: 481 */
	request(req, sizeof(req), "INFO", 6, "uas-rej-1", "stranger", "");
	rejected(req, "SIP/2.0 481", LM_INFO);
	/* an UPDATE outside any dialog: 481 */
	request(req, sizeof(req), "UPDATE", 1, "uas-rej-2", NULL, "");
	rejected(req, "SIP/2.0 481", LM_UPDATE);
	/* an INVITE whose Call-ID is longer than a leg holds: 400 */
	memset(cid, 'c', 140);
	cid[140] = '\0';
	request(req, sizeof(req), "INVITE", 1, cid, NULL, "");
	rejected(req, "SIP/2.0 400", LM_INVITE);
	/* a request that does not parse (its Content-Length is past its end): 400 */
	request(req, sizeof(req), "MESSAGE", 1, "uas-rej-3", NULL, "");
	char *cl = strstr(req, "Content-Length: 0");
	assert_non_null(cl);
	cl[16] = '9';
	rejected(req, "SIP/2.0 400", LM_OTHER);
	/* the call's BYE, then an INFO in the dialog it ended: 481 */
	request(req, sizeof(req), "BYE", 7, "uas-rej-1", ltag, "");
	deliver(req);
	assert_int_equal(received("SIP/2.0 200"), 1);
	request(req, sizeof(req), "INFO", 8, "uas-rej-1", ltag, "");
	rejected(req, "SIP/2.0 481", LM_INFO);
	/* the table full (--max-calls 16): 503 */
	for (int i = 0; i < 15; i++) {
		snprintf(cid, sizeof(cid), "uas-fill-%d", i);
		request(req, sizeof(req), "INVITE", 1, cid, NULL, "");
		deliver(req);
	}
	received("");
	assert_int_equal(u->leg_nfree, 0);
	request(req, sizeof(req), "INVITE", 1, "uas-rej-4", NULL, "");
	rejected(req, "SIP/2.0 503", LM_INVITE);

	/* every request but the ACK was answered */
	uint64_t rx = 0, answered = 0;
	for (int m = 0; m < LM_COUNT; m++) {
		if (m == LM_ACK)
			continue;
		rx += stats->c.m[m].sent;
		answered += stats->c.m[m].completed;
	}
	assert_int_equal(rx, answered);
	assert_int_equal(rx, 26); /* 11 requests, 15 INVITEs that fill the table */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_final_and_notify_counted_when_they_go, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_own_bye_counted_when_it_goes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rejections_counted_received_and_answered, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
