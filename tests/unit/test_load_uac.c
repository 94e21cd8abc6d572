/*
 * test_load_uac.c - sipshard-load's caller (bench/load/uac.c) does not lose
 * the BYE of a dialog it did not want: a 2xx after its INVITE had a non-2xx
 * final (a late answer), or from a second fork, is ACKed (RFC 3261 13.2.2.4)
 * and ended with a BYE; a BYE whose first send finds no send buffer goes at
 * its retransmission timer, counted sent then, and one that cannot go at all
 * (no buffer until its Timer F, no fork record free) is an error by its
 * reason. Before, such a BYE was dropped: the callee kept the dialog, ACKed,
 * and nothing counted it; and a fork's 2xx while every record's BYE was out
 * was not even ACKed. And a request of a fork's callee is in that fork's
 * dialog, not in the call's: its BYE did end the call. And a 2xx to the
 * re-INVITE of a call whose slot --requests-per-call has given to a new call
 * is ACKed in that call's dialog: it was left unACKed; and a repeat of the
 * 2xx of a call two or more calls back in the slot (any number: it is known
 * by its Call-ID and To tag) is only ACKed again: it was taken for a fork's
 * and ended with a second BYE.
 *
 * uac.c lives with sipshard-load, outside the library, so it is compiled
 * into this test directly (with msg.c, stats.c and worker.c), its send
 * buffers taken through a wrapper that refuses one on demand (the pool
 * empty). Real sockets on 127.0.0.1: the uac on 16862, the callee (this
 * test) on 16863.
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
#include "../../bench/load/uac.c"

#define UAC_PORT 16862
#define ME_PORT	 16863
#define T1_MS	 10

static struct load_cfg cfg;
static struct load_worker worker;
static struct load_stats *stats;
static struct uac *u;
static int me = -1;
static struct sockaddr_in me_addr;

/* What the callee got, oldest first. */
#define INBOX_MAX 512
static char inbox[INBOX_MAX][2048];
static int ninbox;

static void set_addr(struct sockaddr_storage *ss, socklen_t *len, int port)
{
	struct sockaddr_in *a = (struct sockaddr_in *)ss;
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)port);
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	*len = sizeof(*a);
}

static int setup(void **state)
{
	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.role = LOAD_ROLE_UAC;
	set_addr(&cfg.local, &cfg.local_len, UAC_PORT);
	set_addr(&cfg.target, &cfg.target_len, ME_PORT);
	snprintf(cfg.local_s, sizeof(cfg.local_s), "127.0.0.1:%d", UAC_PORT);
	snprintf(cfg.target_s, sizeof(cfg.target_s), "127.0.0.1:%d", ME_PORT);
	cfg.threads = 1;
	cfg.sources = 1;
	cfg.calls = 1;
	cfg.window = 1;
	cfg.mix[0] = (struct load_mix_entry){LM_INFO, 1};
	cfg.nmix = 1;
	cfg.t1_ms = T1_MS;
	cfg.t2_ms = 4 * T1_MS;
	cfg.no_uring = true; /* sends leave at the flush: nothing in flight */
	snprintf(cfg.to_user, sizeof(cfg.to_user), "service");
	snprintf(cfg.from_user, sizeof(cfg.from_user), "load");
	cfg.seed = 1;
	cfg.nonce = 0x5eed;
	u = calloc(1, sizeof(*u));
	assert_non_null(u);
	stats = load_test_worker(&worker, &cfg, &u->x);
	assert_int_equal(uac_setup(u), 0);

	me = load_test_peer(ME_PORT, &me_addr);
	plan = (struct alloc_plan){0, 0};
	ninbox = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	uac_teardown(u);
	free(u);
	free(stats);
	close(me);
	return 0;
}

/* Takes in what reached the callee. */
static void pull(void)
{
	ssize_t len;
	while (ninbox < INBOX_MAX &&
	       (len = recv(me, inbox[ninbox], sizeof(inbox[0]) - 1, MSG_DONTWAIT)) >= 0) {
		inbox[ninbox][len] = '\0';
		ninbox++;
	}
}

/* How many datagrams the callee got that start with `start` and hold `has`
 * (NULL: any); *last: the last of them. */
static int got(const char *start, const char *has, const char **last)
{
	int n = 0;
	pull();
	for (int i = 0; i < ninbox; i++)
		if (!strncmp(inbox[i], start, strlen(start)) && (!has || strstr(inbox[i], has))) {
			n++;
			if (last)
				*last = inbox[i];
		}
	return n;
}

/* The value of header `name` of msg, into out. */
static void header_of(const char *msg, const char *name, char *out, size_t cap)
{
	char key[64];
	snprintf(key, sizeof(key), "\r\n%s: ", name);
	const char *p = strstr(msg, key);
	assert_non_null(p);
	p += strlen(key);
	const char *e = strstr(p, "\r\n");
	assert_non_null(e);
	snprintf(out, cap, "%.*s", (int)(e - p), p);
}

/* Hands the uac a datagram from the callee, as its socket would. */
static void deliver(const char *text)
{
	struct net_pkt p = {text, (uint32_t)strlen(text), (const struct sockaddr *)&me_addr,
			    sizeof(me_addr)};
	on_pkt(&u->src[0], &p);
	flush_all(u);
}

/* The last response answer() handed the uac, to hand it again. */
static char resp[2048];

/* Hands the uac the response `code` to request req, as its socket would: To
 * with ;tag=totag (when it has none and totag), Contact <sip:totag@us>, then
 * the header lines `extra`. */
static void answer_with(const char *req, const char *code, const char *totag, const char *extra)
{
	char via[512], from[256], to[256], cid[128], cseq[64];
	header_of(req, "Via", via, sizeof(via));
	header_of(req, "From", from, sizeof(from));
	header_of(req, "To", to, sizeof(to));
	header_of(req, "Call-ID", cid, sizeof(cid));
	header_of(req, "CSeq", cseq, sizeof(cseq));
	bool tagged = strstr(to, ";tag=") != NULL;
	snprintf(resp, sizeof(resp),
		 "SIP/2.0 %s\r\nVia: %s\r\nFrom: %s\r\nTo: %s%s%s\r\nCall-ID: %s\r\n"
		 "CSeq: %s\r\nContact: <sip:%s@127.0.0.1:%d>\r\n%sContent-Length: 0\r\n\r\n",
		 code, via, from, to,
		 tagged || !totag ? "" : ";tag=", tagged || !totag ? "" : totag, cid, cseq,
		 totag ? totag : "callee", ME_PORT, extra);
	deliver(resp);
}

static void answer(const char *req, const char *code, const char *totag)
{
	answer_with(req, code, totag, "");
}

/* The uac's timers, ms (and a bit) later. */
static void later(unsigned ms)
{
	usleep(ms * 1000 + 1000);
	u->now = load_now_ns();
	fire_timers(u);
	flush_all(u);
}

/* Starts the call: its INVITE, as the callee got it. */
static const char *invite(void)
{
	const char *inv = NULL;
	u->now = u->t_start = load_now_ns();
	u->phase = P_SETUP;
	drive(u);
	flush_all(u);
	assert_int_equal(got("INVITE ", NULL, &inv), 1);
	return inv;
}

/* The call's INVITE answered 200 by fork1 (ACKed), then 200 by fork2 whose
 * ACK goes and whose BYE is refused `refuse` send buffers. */
static const char *two_forks(int refuse)
{
	const char *inv = invite();
	answer(inv, "200 OK", "fork1");
	assert_int_equal(got("ACK ", "tag=fork1", NULL), 1);
	assert_int_equal(stats->c.calls_established, 1);
	plan = (struct alloc_plan){1, refuse};
	answer(inv, "200 OK", "fork2");
	assert_int_equal(got("ACK sip:fork2@", "tag=fork2", NULL), 1);
	return inv;
}

/* A 2xx after the INVITE's 503: ACKed, and its BYE, refused a send buffer at
 * first, goes at T1 to the late answer's Contact, counted sent then. */
static void test_late_answer_bye_goes_at_t1(void **state)
{
	(void)state;
	const char *inv = invite(), *bye = NULL;
	answer(inv, "503 Service Unavailable", "proxy");
	assert_int_equal(got("ACK ", "tag=proxy", NULL), 1);
	assert_int_equal(stats->c.calls_failed, 1);

	plan = (struct alloc_plan){1, 1}; /* its ACK goes, its BYE finds no buffer */
	answer(inv, "200 OK", "late1");
	assert_int_equal(got("ACK sip:late1@", "tag=late1", NULL), 1);
	assert_int_equal(stats->c.calls_late_answers, 1);
	assert_int_equal(got("BYE ", NULL, NULL), 0);
	assert_int_equal(stats->c.m[LM_BYE].sent, 0);

	later(T1_MS);
	assert_int_equal(got("BYE sip:late1@", "tag=late1", &bye), 1);
	assert_int_equal(stats->c.m[LM_BYE].sent, 1);
	assert_int_equal(stats->c.m[LM_BYE].retrans, 0);
	answer(bye, "200 OK", NULL);
	assert_int_equal(stats->c.m[LM_BYE].completed, 1);
	assert_int_equal(u->out_all, 0);
	/* the 503 is the run's one error */
	assert_int_equal(load_uac_errors(&stats->c), 1);
}

/* A second fork's 2xx: ACKed in its dialog, its BYE, refused a send buffer
 * at first, goes at T1 in that dialog; the next copy is a retransmission. */
static void test_fork_bye_goes_at_t1(void **state)
{
	(void)state;
	const char *bye = NULL;
	two_forks(1);
	assert_int_equal(stats->c.calls_late_answers, 1);
	assert_int_equal(got("BYE ", NULL, NULL), 0);

	later(T1_MS);
	assert_int_equal(got("BYE sip:fork2@", "tag=fork2", NULL), 1);
	assert_int_equal(stats->c.m[LM_BYE].sent, 1);
	assert_int_equal(stats->c.m[LM_BYE].retrans, 0);
	later(T1_MS);
	assert_int_equal(got("BYE sip:fork2@", "tag=fork2", &bye), 2);
	assert_int_equal(stats->c.m[LM_BYE].retrans, 1);
	answer(bye, "200 OK", NULL);
	assert_int_equal(stats->c.m[LM_BYE].completed, 1);
	assert_int_equal(load_uac_errors(&stats->c), 0);
}

/* A fork's BYE that finds no send buffer until its Timer F (64*T1): never
 * sent, not a timeout of a BYE sent, an error of its own. */
static void test_fork_bye_without_buffer_is_an_error(void **state)
{
	(void)state;
	two_forks(1000000);
	for (int i = 0; i < 70 && u->out_all; i++)
		later(T1_MS);
	plan = (struct alloc_plan){0, 0};
	assert_int_equal(u->out_all, 0);
	assert_int_equal(got("BYE ", NULL, NULL), 0);
	assert_int_equal(stats->c.m[LM_BYE].sent, 0);
	assert_int_equal(stats->c.m[LM_BYE].timeouts, 0);
	assert_int_equal(stats->c.late_byes_no_buffer, 1);
	assert_int_equal(load_uac_errors(&stats->c), 1);
}

/* With every fork record's BYE out (FORK_MAX forks answered, their BYEs
 * unanswered), one more fork's 2xx is still ACKed in its dialog; its BYE,
 * which no record can carry, is an error of its own, counted once for that
 * fork: a repeat of its 2xx is ACKed again and counted a duplicate (before,
 * each copy counted late_byes_no_slot and a late answer again). A repeat
 * that comes once a record is free takes it, and its BYE goes after all:
 * the error is withdrawn. */
static void test_fork_without_record_is_acked(void **state)
{
	(void)state;
	const char *inv = invite(), *bye = NULL;
	char tag[16];
	answer(inv, "200 OK", "fork1");
	for (int i = 0; i < FORK_MAX; i++) {
		snprintf(tag, sizeof(tag), "many%d", i);
		answer(inv, "200 OK", tag);
	}
	assert_int_equal(got("BYE ", "tag=many", NULL), FORK_MAX);
	answer(inv, "200 OK", "spare");
	assert_int_equal(got("ACK sip:spare@", "tag=spare", NULL), 1);
	assert_int_equal(got("BYE ", "tag=spare", NULL), 0);
	assert_int_equal(stats->c.calls_late_answers, FORK_MAX + 1);
	assert_int_equal(stats->c.late_byes_no_slot, 1);
	assert_int_equal(stats->c.mismatched, 0);
	assert_int_equal(load_uac_errors(&stats->c), 1);

	answer(inv, "200 OK", "spare"); /* our ACK lost: the same 2xx again */
	assert_int_equal(got("ACK sip:spare@", "tag=spare", NULL), 2);
	assert_int_equal(got("BYE ", "tag=spare", NULL), 0);
	assert_int_equal(stats->c.calls_late_answers, FORK_MAX + 1);
	assert_int_equal(stats->c.late_byes_no_slot, 1);
	assert_int_equal(stats->c.duplicate_responses, 1);
	assert_int_equal(stats->c.reacks_sent, 1);
	assert_int_equal(load_uac_errors(&stats->c), 1);

	/* one fork's BYE answered: its record is free for the next repeat */
	assert_int_equal(got("BYE ", "tag=many0", &bye), 1);
	answer(bye, "200 OK", NULL);
	answer(inv, "200 OK", "spare");
	assert_int_equal(got("ACK sip:spare@", "tag=spare", NULL), 3);
	assert_int_equal(got("BYE sip:spare@", "tag=spare", NULL), 1);
	assert_int_equal(stats->c.calls_late_answers, FORK_MAX + 1);
	assert_int_equal(stats->c.late_byes_no_slot, 0);
	assert_int_equal(stats->c.duplicate_responses, 2);
	assert_int_equal(load_uac_errors(&stats->c), 0);
	answer(inv, "200 OK", "spare"); /* and one after: ACKed from its record */
	assert_int_equal(got("ACK sip:spare@", "tag=spare", NULL), 4);
	assert_int_equal(got("BYE sip:spare@", "tag=spare", NULL), 1);
	assert_int_equal(stats->c.late_byes_no_slot, 0);
}

/* --requests-per-call 1 with the mix `method` only: the uac goes on to the
 * mix (drive() once the set-up is done). */
static void calls_come_and_go(enum load_method method)
{
	cfg.requests_per_call = 1;
	cfg.duration = 10;
	u->mix_method[0] = (uint8_t)method; /* what uac_setup took from cfg.mix */
}

/* drive(): the mix's next request of the call, or its BYE, or its next
 * incarnation's INVITE; the n-th datagram from `start` holding `has` that
 * the callee got, which it must have got. */
static const char *next_request(const char *start, const char *has, int n)
{
	const char *req = NULL;
	u->now = load_now_ns();
	drive(u);
	flush_all(u);
	assert_int_equal(got(start, has, &req), n);
	return req;
}

/* The call's re-INVITE (its dialog through a proxy that record-routes) had
 * its 200 and ACK, and then its BYE its 200, and --requests-per-call set a
 * new call up in the slot; a repeat of that re-INVITE's 200 (our ACK lost),
 * which has no Record-Route (RFC 3261 12.2.1.2: the route set is fixed),
 * comes: it is ACKed in that call's dialog, by its remote target and route
 * set, which the slot keeps for the call before its current one, and counted
 * a late response ACKed again. Once the slot has taken a further call, that
 * dialog is no longer kept: the 2xx is ACKed from itself, to its Contact
 * (with no Route: it has no Record-Route). Before, it was counted and not
 * ACKed: the callee resends its 2xx for 64*T1 and then ends the dialog with a
 * BYE (13.3.1.4), to a caller that has none. */
static void test_earlier_reinvite_2xx_is_acked(void **state)
{
	(void)state;
	calls_come_and_go(LM_REINVITE);
	const char *inv = invite(), *ack = NULL;
	char rr[128], repeat[2048], cid[128];
	snprintf(rr, sizeof(rr), "Record-Route: <sip:rr@127.0.0.1:%d;lr>\r\n", ME_PORT);
	header_of(inv, "Call-ID", cid, sizeof(cid));
	answer_with(inv, "200 OK", "call0", rr);
	assert_int_equal(got("ACK sip:call0@", "Route: <sip:rr@", NULL), 1);

	const char *reinv = next_request("INVITE ", "CSeq: 2 INVITE", 1);
	answer(reinv, "200 OK", "call0");
	assert_int_equal(got("ACK sip:call0@", "CSeq: 2 ACK", NULL), 1);
	snprintf(repeat, sizeof(repeat), "%s", resp);
	const char *bye = next_request("BYE sip:call0@", "Route: <sip:rr@", 1);
	answer(bye, "200 OK", NULL);
	inv = next_request("INVITE ", "CSeq: 1 INVITE", 2);
	assert_null(strstr(inv, cid)); /* a new call, a new Call-ID */
	answer(inv, "200 OK", "call1");
	assert_int_equal(got("ACK sip:call1@", NULL, NULL), 1);
	assert_int_equal(stats->c.calls_established, 2);

	deliver(repeat);
	assert_int_equal(got("ACK sip:call0@", "CSeq: 2 ACK", &ack), 2);
	assert_non_null(strstr(ack, cid));
	assert_non_null(strstr(ack, "tag=call0"));
	assert_non_null(strstr(ack, "Route: <sip:rr@"));
	assert_int_equal(got("BYE ", NULL, NULL), 1);
	assert_int_equal(stats->c.late_responses, 1);
	assert_int_equal(stats->c.reacks_sent, 1);
	assert_int_equal(stats->c.calls_late_answers, 0);
	assert_int_equal(load_uac_errors(&stats->c), 0);

	/* call1's re-INVITE and BYE, and call2 in the slot */
	reinv = next_request("INVITE ", "CSeq: 2 INVITE", 2);
	answer(reinv, "200 OK", "call1");
	bye = next_request("BYE sip:call1@", NULL, 1);
	answer(bye, "200 OK", NULL);
	inv = next_request("INVITE ", "CSeq: 1 INVITE", 3);
	answer(inv, "200 OK", "call2");
	assert_int_equal(stats->c.calls_established, 3);
	deliver(repeat);
	assert_int_equal(got("ACK sip:call0@", "CSeq: 2 ACK", &ack), 3);
	assert_non_null(strstr(ack, cid));
	assert_non_null(strstr(ack, "tag=call0"));
	assert_null(strstr(ack, "Route:"));
	assert_int_equal(got("BYE ", NULL, NULL), 2);
	assert_int_equal(stats->c.late_responses, 2);
	assert_int_equal(stats->c.reacks_sent, 2);
	assert_int_equal(stats->c.calls_late_answers, 0);
	assert_int_equal(load_uac_errors(&stats->c), 0);
}

/* With calls_come_and_go(LM_INFO): the slot's next call (the first from the
 * set-up, then each from the mix) answered 200 with To tag `tag`, ACKed,
 * its INFO and its BYE answered 200. ok: its 200, to hand again. */
static void call_cycle(const char *tag, char ok[2048])
{
	const char *req;
	if (!u->phase) {
		u->now = u->t_start = load_now_ns();
		u->phase = P_SETUP;
	}
	req = next_request("INVITE ", NULL, got("INVITE ", NULL, NULL) + 1);
	answer(req, "200 OK", tag);
	if (ok)
		snprintf(ok, 2048, "%s", resp);
	req = next_request("INFO ", NULL, got("INFO ", NULL, NULL) + 1);
	answer(req, "200 OK", NULL);
	req = next_request("BYE ", NULL, got("BYE ", NULL, NULL) + 1);
	answer(req, "200 OK", NULL);
}

/* A repeat of the 200 a call took (our ACK lost) that comes once
 * --requests-per-call has set two or more calls up in its slot since, however
 * many, is known as that call's by its Call-ID and To tag: ACKed again in
 * its dialog, counted a late response, and not ended with a BYE a second
 * time; while a 2xx of another fork to that call's INVITE (another To tag)
 * is a dialog of its own, ACKed and ended with a BYE. Before, only the call
 * just before the slot's current one was known by its To tag, then only the
 * slot's last 16 calls, and a repeat from further back was taken for a
 * second fork's 2xx: ACKed, ended with a BYE (whose 481 is an error) and
 * counted a late answer. */
static void test_earlier_call_repeat_is_only_acked(void **state)
{
	(void)state;
	char ok0[2048], fork0[2048], tag[16];
	calls_come_and_go(LM_INFO);
	call_cycle("call0", ok0);
	call_cycle("call1", NULL);
	call_cycle("call2", NULL);
	assert_int_equal(u->calls[0].gen, 2);
	deliver(ok0);
	assert_int_equal(got("ACK sip:call0@", "CSeq: 1 ACK", NULL), 2);
	assert_int_equal(got("BYE sip:call0@", NULL, NULL), 1);
	assert_int_equal(stats->c.late_responses, 1);
	assert_int_equal(stats->c.reacks_sent, 1);
	assert_int_equal(stats->c.calls_late_answers, 0);
	assert_int_equal(load_uac_errors(&stats->c), 0);

	for (int i = 3; i <= 40; i++) {
		snprintf(tag, sizeof(tag), "call%d", i);
		call_cycle(tag, NULL);
	}
	assert_int_equal(u->calls[0].gen, 40);
	deliver(ok0);
	assert_int_equal(got("ACK sip:call0@", "CSeq: 1 ACK", NULL), 3);
	assert_int_equal(got("BYE sip:call0@", NULL, NULL), 1);
	assert_int_equal(stats->c.late_responses, 2);
	assert_int_equal(stats->c.calls_late_answers, 0);
	assert_int_equal(stats->c.taken_forgotten, 0);

	/* another fork's 200 to call0's INVITE */
	snprintf(fork0, sizeof(fork0), "%s", ok0);
	for (char *p = fork0; (p = strstr(p, "call0")) != NULL;)
		memcpy(p, "forkx", 5);
	deliver(fork0);
	assert_int_equal(got("ACK sip:forkx@", "tag=forkx", NULL), 1);
	const char *bye = NULL;
	assert_int_equal(got("BYE sip:forkx@", "tag=forkx", &bye), 1);
	assert_int_equal(stats->c.calls_late_answers, 1);
	answer(bye, "200 OK", NULL);
	assert_int_equal(load_uac_errors(&stats->c), 0);
	assert_int_equal(stats->c.calls_established, 41);
}

/* The memory of the dialogs taken is bounded: a bucket full of dialogs whose
 * 2xx may still come makes it grow (twice as large, the entries moved in),
 * up to TAKEN_CAP; there, the bucket gives its oldest up, counted
 * (repeats.dialogs_forgotten), and a repeat of that one's 2xx is then taken
 * for another fork's. One whose 2xx can no longer come (64*T1 on) gives its
 * entry up uncounted, and the others are still known. Here the memory is
 * one bucket to begin with, and each entry is kept far longer than the test
 * runs, so that no entry outlives its keep on a slow machine before the test
 * says it has (before, 64*T1 of 10 ms: a machine busy enough to take 640 ms
 * over nine calls had the first ones give their place up, and the bucket
 * did not grow). */
static void outlive_all_taken(void)
{
	for (size_t i = 0; i < ((size_t)u->taken_mask + 1) * TAKEN_WAYS; i++)
		if (u->taken[i].key)
			u->taken[i].until = u->now;
}

static void test_taken_memory_bounded(void **state)
{
	(void)state;
	const uint64_t keep_ns = 3600 * UINT64_C(1000000000);
	char ok0[2048], ok2[2048], tag[16];
	calls_come_and_go(LM_INFO);
	u->taken_keep_ns = keep_ns;
	u->taken_mask = 0; /* one bucket of TAKEN_WAYS */
	for (int i = 0; i <= TAKEN_WAYS; i++) {
		snprintf(tag, sizeof(tag), "call%d", i);
		call_cycle(tag, NULL);
	}
	/* calls 0 to TAKEN_WAYS - 1 remembered, the bucket full; one more: it grows */
	assert_int_equal(u->taken_mask, 0);
	call_cycle("grown", NULL);
	assert_int_equal(u->taken_mask, 1);
	assert_int_equal(stats->c.taken_forgotten, 0);

	/* at its most: one bucket again, which may not grow */
	teardown(NULL);
	setup(NULL);
	calls_come_and_go(LM_INFO);
	u->taken_keep_ns = keep_ns;
	u->taken_mask = 0;
	u->taken_full = true;
	call_cycle("call0", ok0);
	call_cycle("call1", NULL);
	call_cycle("call2", ok2);
	for (int i = 3; i <= TAKEN_WAYS; i++) {
		snprintf(tag, sizeof(tag), "call%d", i);
		call_cycle(tag, NULL);
	}
	assert_int_equal(stats->c.taken_forgotten, 0);
	call_cycle("callx", NULL); /* TAKEN_WAYS + 1 remembered: call0 forgotten */
	assert_int_equal(stats->c.taken_forgotten, 1);
	assert_int_equal(u->taken_mask, 0);

	outlive_all_taken(); /* their 2xx can no longer come */
	call_cycle("cally", NULL);
	assert_int_equal(stats->c.taken_forgotten, 1);

	deliver(ok2); /* still known */
	assert_int_equal(got("ACK sip:call2@", "CSeq: 1 ACK", NULL), 2);
	assert_int_equal(got("BYE sip:call2@", NULL, NULL), 1);
	assert_int_equal(stats->c.calls_late_answers, 0);
	deliver(ok0); /* forgotten: taken for another fork's */
	const char *bye = NULL;
	assert_int_equal(got("BYE sip:call0@", NULL, &bye), 2);
	assert_int_equal(stats->c.calls_late_answers, 1);
	answer(bye, "200 OK", NULL);
}

/* The ACKs of the 2xx of two calls in one slot (--requests-per-call), each
 * with CSeq 1: each on a branch of its own (RFC 3261 8.1.1.7: unique over
 * space and time). Before, the branch named the slot and the CSeq only, and
 * every call in a slot ACKed on the same one. */
static void test_ack_branch_is_the_calls_own(void **state)
{
	(void)state;
	const char *ack0 = NULL, *ack1 = NULL;
	char via0[512], via1[512];
	calls_come_and_go(LM_INFO);
	call_cycle("call0", NULL);
	call_cycle("call1", NULL);
	assert_int_equal(got("ACK sip:call0@", "CSeq: 1 ACK", &ack0), 1);
	assert_int_equal(got("ACK sip:call1@", "CSeq: 1 ACK", &ack1), 1);
	header_of(ack0, "Via", via0, sizeof(via0));
	header_of(ack1, "Via", via1, sizeof(via1));
	assert_non_null(strstr(via0, ";branch=z9hG4bKa"));
	assert_string_not_equal(via0, via1);
}

/* The callee answers the call's re-INVITE 200 with a Contact of its new
 * address (sip:moved@): the re-INVITE is a target refresh request, and the
 * ACK of that 200 and the BYE after it go to that Contact (RFC 3261
 * 12.2.1.2), by the same route set. rr: the Record-Route of the call's 200
 * ("" none); reach: what the Request-URI of the ACK and the BYE is, and
 * route: the Route they carry (NULL: none). Before, the dialog kept the
 * Contact of the INVITE's 200 (sip:call0@). */
static void reinvite_moves_the_callee(const char *rr, const char *reach, const char *route)
{
	const char *ack = NULL, *bye = NULL;
	char start[64];
	calls_come_and_go(LM_REINVITE);
	const char *inv = invite();
	answer_with(inv, "200 OK", "call0", rr);
	const char *reinv = next_request("INVITE ", "CSeq: 2 INVITE", 1);
	answer(reinv, "200 OK", "moved"); /* its To has the tag: Contact sip:moved@ */
	snprintf(start, sizeof(start), "ACK %s", reach);
	assert_int_equal(got(start, "CSeq: 2 ACK", &ack), 1);
	assert_non_null(strstr(ack, "tag=call0"));
	snprintf(start, sizeof(start), "BYE %s", reach);
	bye = next_request(start, NULL, 1);
	for (int i = 0; i < 2; i++) {
		const char *req = i ? bye : ack;
		if (route)
			assert_non_null(strstr(req, route));
		else
			assert_null(strstr(req, "Route:"));
		assert_null(strstr(req, "sip:call0@"));
	}
}

static void test_reinvite_2xx_refreshes_the_target(void **state)
{
	(void)state;
	reinvite_moves_the_callee("", "sip:moved@", NULL);
}

/* The same through a proxy that record-routes loosely: the Request-URI is the
 * new Contact, the Route the proxy's. */
static void test_reinvite_2xx_refreshes_the_target_loose_route(void **state)
{
	(void)state;
	char rr[128];
	snprintf(rr, sizeof(rr), "Record-Route: <sip:rr@127.0.0.1:%d;lr>\r\n", ME_PORT);
	reinvite_moves_the_callee(rr, "sip:moved@", "Route: <sip:rr@");
}

/* The same through a strict router (no ;lr, RFC 3261 12.2.1.1): the
 * Request-URI is the proxy's, and the remote target, last in Route, is the
 * new Contact. */
static void test_reinvite_2xx_refreshes_the_target_strict_route(void **state)
{
	(void)state;
	char rr[128], route[128];
	snprintf(rr, sizeof(rr), "Record-Route: <sip:rr@127.0.0.1:%d>\r\n", ME_PORT);
	snprintf(route, sizeof(route), "Route: <sip:moved@127.0.0.1:%d>\r\n", ME_PORT);
	reinvite_moves_the_callee(rr, "sip:rr@", route);
}

/* fork2's callee hangs up with a BYE of its own, crossing ours: that BYE is
 * in fork2's dialog (its From tag), gets 200 and leaves the call, in fork1's
 * dialog, up; the 481 to our BYE that crossed it is no failure. A request
 * with a From tag of no dialog of ours gets 481. Before, fork2's BYE ended
 * the call (fork1's callee kept it) and the 481 counted an error. */
static void test_fork_callee_bye_is_in_its_dialog(void **state)
{
	(void)state;
	const char *inv = two_forks(0), *bye = NULL;
	char from[256], cid[128], req[2048];
	assert_int_equal(got("BYE sip:fork2@", "tag=fork2", &bye), 1);
	header_of(inv, "From", from, sizeof(from));
	header_of(inv, "Call-ID", cid, sizeof(cid));
	for (int i = 0; i < 2; i++) {
		snprintf(req, sizeof(req),
			 "BYE sip:load@127.0.0.1:%d SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKpeerbye%d\r\n"
			 "Max-Forwards: 70\r\nFrom: <sip:service@127.0.0.1:%d>;tag=%s\r\n"
			 "To: %s\r\nCall-ID: %s\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n",
			 UAC_PORT, ME_PORT, i, ME_PORT, i ? "stranger" : "fork2", from, cid);
		deliver(req);
	}
	assert_int_equal(got("SIP/2.0 200", "branch=z9hG4bKpeerbye0", NULL), 1);
	assert_int_equal(got("SIP/2.0 481", "branch=z9hG4bKpeerbye1", NULL), 1);
	assert_int_equal(u->calls[0].state, C_UP);
	assert_int_equal(stats->c.peer_byes, 0);
	assert_int_equal(stats->c.unexpected_requests, 1);

	answer(bye, "481 Call/Transaction Does Not Exist", NULL);
	assert_int_equal(stats->c.m[LM_BYE].completed, 1);
	assert_int_equal(u->out_all, 0);
	/* the stranger's request is the one error */
	assert_int_equal(load_uac_errors(&stats->c), 1);
}

/* The call's INFO has no final response after its retransmissions (its
 * Timer F, 64*T1): RFC 3261 12.2.1.2 treats no response as a 408 or 481, and
 * so does the uac: the call is lost (calls.lost, failed), and with
 * --requests-per-call its slot is set up again 4*T1 later, a new call with
 * its INVITE, while nothing more goes in the dialog the callee may not hold.
 * Before, the call went back into the rotation as if the INFO had been
 * answered: its BYE went into that dialog and the call counted ended. */
static void test_indialog_timeout_loses_the_call(void **state)
{
	(void)state;
	calls_come_and_go(LM_INFO);
	const char *inv = invite();
	answer(inv, "200 OK", "call0");
	next_request("INFO ", NULL, 1);
	for (int i = 0; i < 200 && u->out_all; i++)
		later(T1_MS);
	assert_int_equal(u->out_all, 0);
	assert_int_equal(stats->c.m[LM_INFO].timeouts, 1);
	assert_int_equal(stats->c.calls_lost, 1);
	assert_int_equal(u->calls[0].state, C_FAILED);
	assert_int_equal(u->up, 0);
	u->now = load_now_ns();
	drive(u);
	flush_all(u);
	assert_int_equal(got("BYE ", NULL, NULL), 0);
	later(4 * T1_MS);
	next_request("INVITE ", "CSeq: 1 INVITE", 2);
	assert_int_equal(got("BYE ", NULL, NULL), 0);
	assert_int_equal(stats->c.calls_ended, 0);
	/* the timeout is the run's one error, as a 408 would be */
	assert_int_equal(load_uac_errors(&stats->c), 1);
}

/* The value of the integer at a.b (b NULL: a) of the uac's JSON document;
 * -1 when it has none. */
static long long json_at(const char *a, const char *b, const char *c)
{
	json_t *root = load_stats_json(stats, "uac", 0), *v = json_object_get(root, a);
	if (v && b)
		v = json_object_get(v, b);
	if (v && c)
		v = json_object_get(v, c);
	long long n = json_is_integer(v) ? (long long)json_integer_value(v) : -1;
	json_decref(root);
	return n;
}

/* A second stop signal ends the run at once: the transactions still waiting
 * for their final (here the call's INFO) are counted abandoned, by method and
 * in all, so that sent = completed + timeouts + abandoned and nothing is left
 * outstanding, and each is an error (the run did not see it through). Before,
 * they were counted nowhere, and such a run exited 0 with "errors 0: ok". */
static void test_second_stop_abandons_what_is_out(void **state)
{
	(void)state;
	static atomic_int stop_now;
	calls_come_and_go(LM_INFO);
	const char *inv = invite();
	answer(inv, "200 OK", "call0");
	next_request("INFO ", NULL, 1);
	assert_int_equal(u->out_all, 1);
	atomic_store(&stop_now, 2);
	worker.stop = &stop_now;
	uac_loop(u);
	assert_int_equal(u->out_all, 0);
	assert_int_equal(json_at("by_method", "INFO", "abandoned"), 1);
	assert_int_equal(json_at("by_method", "INFO", "sent"), 1);
	assert_int_equal(json_at("by_method", "INFO", "completed"), 0);
	assert_int_equal(json_at("by_method", "INFO", "timeouts"), 0);
	assert_int_equal(json_at("requests", "abandoned", NULL), 1);
	assert_int_equal(json_at("requests", "outstanding", NULL), 0);
	assert_int_equal(json_at("errors", "abandoned", NULL), 1);
	assert_int_equal(json_at("errors", "total", NULL), 1);
	assert_int_equal(load_uac_errors(&stats->c), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_late_answer_bye_goes_at_t1, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fork_bye_goes_at_t1, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fork_bye_without_buffer_is_an_error, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_fork_without_record_is_acked, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fork_callee_bye_is_in_its_dialog, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_earlier_reinvite_2xx_is_acked, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_earlier_call_repeat_is_only_acked, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_taken_memory_bounded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ack_branch_is_the_calls_own, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reinvite_2xx_refreshes_the_target, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_reinvite_2xx_refreshes_the_target_loose_route,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reinvite_2xx_refreshes_the_target_strict_route,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_indialog_timeout_loses_the_call, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_second_stop_abandons_what_is_out, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
