/*
 * test_orig.c - in-dialog requests that sipshard sends itself (daemon/orig.c,
 * relay_write_request): what each leg's BYE says, an INFO with its body,
 * Timer E retransmissions, Timer F, responses that end a transaction or do
 * not, the bound on outstanding transactions, and a 401 or 407 to a request
 * on leg B answered with the route's credentials (the digest checked by
 * tests/common/digest_check.h, not by the code under test).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../common/digest_check.h"
#include "../common/relay_dialog.h"
#include "daemon/orig.h"

static struct shard_table table;
static struct relay_ctx rc;
static struct orig_table byes;
static struct sip_msg m;
static char a_tag[SHARD_TAG_MAX], b_tag[SHARD_TAG_MAX];
static const uint32_t SLOT = 7, GEN = 3;
static const char REASON[] = "Q.850;cause=102;text=\"maximum call duration\"";
static const struct relay_req BYE = {
    .method = SIP_METHOD_BYE,
    .extra = "Reason: Q.850;cause=102;text=\"maximum call duration\"\r\n",
};

/* What send_fn was given: the last datagram and how many in all. */
static struct {
	unsigned count;
	char last[ORIG_MAX + ORIG_BODY_MAX]; /* the worker's scratch */
	size_t last_len;
	uint16_t last_port;
} sent;

static void capture(void *arg, const char *buf, size_t len, const struct sockaddr *dst,
		    socklen_t dst_len)
{
	(void)arg;
	assert_int_equal(dst_len, sizeof(struct sockaddr_in));
	assert_true(len <= sizeof(sent.last));
	memcpy(sent.last, buf, len);
	sent.last_len = len;
	sent.last_port = ntohs(((const struct sockaddr_in *)dst)->sin_port);
	sent.count++;
}

/* What orig_done_fn heard: how many transactions ended, and the last. */
static struct {
	unsigned count;
	uint64_t cookie;
	uint8_t method;
	uint8_t leg;
	uint32_t cseq;
	int status;
	bool heard;	  /* a response ended it (it came with the final) */
	char contact[64]; /* that response's first Contact URI, "" for none */
} done;

static void record_done(void *arg, uint64_t cookie, uint8_t method, uint8_t leg, uint32_t cseq,
			int status, const struct sip_msg *resp)
{
	(void)arg;
	done.leg = leg;
	done.cseq = cseq;
	done.count++;
	done.cookie = cookie;
	done.method = method;
	done.status = status;
	done.heard = resp != NULL;
	done.contact[0] = '\0';
	if (resp && resp->ncontacts)
		snprintf(done.contact, sizeof(done.contact), "%.*s",
			 (int)resp->contacts[0].uri.whole.len,
			 resp->buf + resp->contacts[0].uri.whole.off);
}

static int setup(void **state)
{
	(void)state;
	assert_int_equal(relay_dialog_fixture(&table, &rc, a_tag, b_tag, SLOT, GEN), 0);
	orig_init(&byes, 0, 0x12345678, 500, 4000);
	memset(&sent, 0, sizeof(sent));
	memset(&done, 0, sizeof(done));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	shard_table_close(&table);
	return 0;
}

static struct sip_session *leg(int which)
{
	return &shard_dialog_get(&table, SLOT, GEN)->legs[which];
}

/* Parses what was sent last into m. */
static void parse_sent(void)
{
	char why[200];
	if (sip_parse(&m, sent.last, sent.last_len, NULL) != 0) {
		sip_strerror(&m, why, sizeof(why));
		fail_msg("sent BYE does not parse: %s\n%.*s", why, (int)sent.last_len, sent.last);
	}
}

#define assert_view(v, s) assert_true(sip_view_eq(m.buf, (v), (s), strlen(s)))

static void start(int which, uint64_t now)
{
	char scratch[ORIG_MAX];
	assert_int_equal(orig_start(&byes, &rc, leg(which), &BYE, NULL, 0, now, scratch,
				    sizeof(scratch), capture, record_done, NULL),
			 0);
}

/* Parses a response with this status, top Via branch and CSeq method into m. */
static void parse_response(int status, const char *branch, size_t branch_len, const char *method)
{
	static char resp[1024];
	int n = snprintf(resp, sizeof(resp),
			 "SIP/2.0 %d Whatever\r\n"
			 "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=%.*s;rport\r\n"
			 "From: <sip:x@y>;tag=1\r\n"
			 "To: <sip:x@y>;tag=2\r\n"
			 "Call-ID: c\r\n"
			 "CSeq: 2 %s\r\n"
			 "Content-Length: 0\r\n\r\n",
			 status, (int)branch_len, branch, method);
	assert_int_equal(sip_parse(&m, resp, (size_t)n, NULL), 0);
}

/* A response to the BYE sent last, with status and its branch, handed over. */
static void respond(int status, const char *method)
{
	static char branch[64];
	parse_sent();
	size_t len = m.vias[0].branch.len;
	assert_true(len < sizeof(branch));
	memcpy(branch, m.buf + m.vias[0].branch.off, len);
	parse_response(status, branch, len, method);
	assert_true(orig_branch_is_ours(m.buf, m.vias[0].branch));
	orig_on_response(&byes, &m, 0, &(struct orig_io){capture, record_done, NULL, NULL});
}

/* The first datagram sent, kept while more go out. */
static struct {
	char data[ORIG_MAX];
	size_t len;
} first;

static void start_first(int which)
{
	start(which, 1000);
	memcpy(first.data, sent.last, sent.last_len);
	first.len = sent.last_len;
}

static void test_each_leg_gets_its_own_bye(void **state)
{
	(void)state;
	uint32_t cseq_b = leg(SHARD_LEG_B)->local_cseq;

	/* leg A, the caller: in its space, to its Contact, from the tag we gave it */
	start(SHARD_LEG_A, 1000);
	assert_int_equal(sent.count, 1);
	assert_int_equal(sent.last_port, 5061);
	parse_sent();
	assert_int_equal(m.method_id, SIP_METHOD_BYE);
	assert_view(m.ruri.whole, "sip:alice@10.1.1.1:5061");
	assert_view(m.call_id, "callA@host");
	assert_view(m.from.tag, a_tag);
	assert_view(m.to.tag, "atag");
	assert_view(m.to.uri.whole, "sip:alice@10.1.1.1");
	assert_int_equal(m.cseq.num, 1); /* our first request on leg A */
	assert_int_equal(m.cseq.method_id, SIP_METHOD_BYE);
	assert_int_equal(m.max_forwards, 70);
	assert_int_equal(m.nvias, 1);
	assert_int_equal(m.nroutes, 0);
	assert_true(orig_branch_is_ours(m.buf, m.vias[0].branch));
	const struct sip_hdr_line *reason = NULL;
	for (uint16_t i = 0; i < m.nhdrs; i++)
		if (sip_view_eq(m.buf, m.hdrs[i].name, "Reason", 6))
			reason = &m.hdrs[i];
	assert_non_null(reason);
	assert_view(reason->value, REASON);
	assert_null(memmem(sent.last, sent.last_len, "callB", 5)); /* topology hidden */

	/* leg B, the callee: its route set, and the CSeq after the INVITE's */
	start(SHARD_LEG_B, 1000);
	assert_int_equal(sent.count, 2);
	assert_int_equal(sent.last_port, 5080);
	parse_sent();
	assert_view(m.ruri.whole, "sip:bob@10.2.2.2:5080");
	assert_view(m.call_id, "callB@sipshard");
	assert_view(m.from.tag, b_tag);
	assert_view(m.to.tag, "btag");
	assert_int_equal(m.cseq.num, cseq_b + 1);
	assert_int_equal(leg(SHARD_LEG_B)->local_cseq, cseq_b + 1);
	assert_int_equal(m.nroutes, 1);
	assert_view(m.routes[0].uri.whole, "sip:10.2.2.9;lr");
	assert_null(memmem(sent.last, sent.last_len, "callA", 5));
	assert_int_equal(byes.st.sent, 2);
	assert_int_equal(byes.busy, 2);
}

static void test_info_carries_its_body(void **state)
{
	(void)state;
	static const char body[] = "Signal=5\r\nDuration=160\r\n";
	struct relay_req info = {.method = SIP_METHOD_INFO,
				 .ctype = "application/dtmf-relay",
				 .body = body,
				 .body_len = sizeof(body) - 1};
	char scratch[ORIG_MAX];
	uint32_t cseq_b = leg(SHARD_LEG_B)->local_cseq;

	assert_int_equal(orig_start(&byes, &rc, leg(SHARD_LEG_B), &info, NULL, 77, 1000, scratch,
				    sizeof(scratch), capture, record_done, NULL),
			 0);
	parse_sent();
	assert_int_equal(m.method_id, SIP_METHOD_INFO);
	assert_int_equal(m.cseq.method_id, SIP_METHOD_INFO);
	assert_int_equal(m.cseq.num, cseq_b + 1);
	assert_view(m.call_id, "callB@sipshard");
	assert_view(m.content_type, "application/dtmf-relay");
	assert_int_equal(m.content_length, (int)sizeof(body) - 1);
	assert_int_equal(m.body.len, sizeof(body) - 1);
	assert_memory_equal(m.buf + m.body.off, body, sizeof(body) - 1);

	/* a final for another method does not end it; one for INFO does */
	respond(200, "BYE");
	assert_int_equal(byes.st.stray, 1);
	assert_int_equal(byes.busy, 1);
	assert_int_equal(done.count, 0);
	respond(200, "INFO");
	assert_int_equal(byes.st.answered, 1);
	assert_int_equal(byes.busy, 0);
	/* the caller hears how it ended, with its cookie */
	assert_int_equal(done.count, 1);
	assert_int_equal(done.cookie, 77);
	assert_int_equal(done.method, SIP_METHOD_INFO);
	assert_int_equal(done.status, 200);

	/* a method without a name is refused before anything is taken */
	info.method = SIP_METHOD_OTHER;
	assert_int_equal(orig_start(&byes, &rc, leg(SHARD_LEG_B), &info, NULL, 0, 1000, scratch,
				    sizeof(scratch), capture, record_done, NULL),
			 -EINVAL);
	assert_int_equal(leg(SHARD_LEG_B)->local_cseq, cseq_b + 1);
	assert_int_equal(byes.st.sent, 1);
}

/* The operator's transfer: a REFER with its Refer-To and, as RFC 3515 2 asks
 * of every REFER, one Contact (ours); an INFO has none. */
static void test_refer_names_target_and_contact(void **state)
{
	(void)state;
	struct relay_req refer = {.method = SIP_METHOD_REFER,
				  .extra = "Refer-To: <sip:carol@example.net>\r\n"};
	char scratch[ORIG_MAX];
	uint32_t cseq_a = leg(SHARD_LEG_A)->local_cseq;

	assert_int_equal(orig_start(&byes, &rc, leg(SHARD_LEG_A), &refer, NULL, 78, 1000, scratch,
				    sizeof(scratch), capture, record_done, NULL),
			 0);
	parse_sent();
	assert_int_equal(m.method_id, SIP_METHOD_REFER);
	assert_int_equal(m.cseq.num, cseq_a + 1);
	assert_int_equal(leg(SHARD_LEG_A)->local_cseq, cseq_a + 1);
	assert_view(m.refer_to, "<sip:carol@example.net>");
	assert_int_equal(m.ncontacts, 1);
	assert_view(m.contacts[0].uri.whole, "sip:sipshard@127.0.0.1:5060");
	assert_int_equal(m.content_length, 0);
	respond(202, "REFER");
	assert_int_equal(done.method, SIP_METHOD_REFER);
	assert_int_equal(done.status, 202);
	/* the leg and CSeq that name the transfer the REFER's outcome is for
	 * (worker.c), whatever the operator sent into the call since */
	assert_int_equal(done.leg, SHARD_LEG_A);
	assert_int_equal(done.cseq, cseq_a + 1);

	struct relay_req info = {.method = SIP_METHOD_INFO};
	assert_int_equal(orig_start(&byes, &rc, leg(SHARD_LEG_A), &info, NULL, 79, 1000, scratch,
				    sizeof(scratch), capture, record_done, NULL),
			 0);
	parse_sent();
	assert_int_equal(m.ncontacts, 0);
}

static void test_retransmits_until_final(void **state)
{
	(void)state;
	start_first(SHARD_LEG_A);

	/* Timer E: 500 ms, then doubling: 1000, 2000, 4000, 4000 ... */
	static const struct {
		uint64_t at;
		unsigned count;
	} steps[] = {{1499, 1}, {1500, 2}, {2499, 2}, {2500, 3}, {4500, 4}, {8500, 5}, {12500, 6}};
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		orig_tick(&byes, steps[i].at, capture, NULL, NULL);
		if (sent.count != steps[i].count)
			fail_msg("at %llu ms: %u sent, want %u", (unsigned long long)steps[i].at,
				 sent.count, steps[i].count);
	}
	/* a retransmission is the same datagram */
	assert_int_equal(sent.last_len, first.len);
	assert_memory_equal(sent.last, first.data, first.len);
	assert_int_equal(byes.st.retransmitted, 5);

	respond(200, "BYE");
	assert_int_equal(byes.st.answered, 1);
	assert_int_equal(byes.busy, 0);
	orig_tick(&byes, 20000, capture, NULL, NULL);
	assert_int_equal(sent.count, 6);

	/* the 200 again (retransmitted by the peer) finds no transaction */
	orig_on_response(&byes, &m, 0, NULL);
	assert_int_equal(byes.st.stray, 1);
	assert_int_equal(byes.st.answered, 1);
}

/* The operator's INFO in a call that then ends (the worker frees its
 * dialog) is resent no more, nor told to done (its command heard
 * "call_ended" from the worker); the BYE that ended a dialog goes on until
 * answered, and a request of another dialog is left alone. The INFO was
 * resent until Timer F. */
static void test_request_stops_when_its_dialog_ends(void **state)
{
	(void)state;
	static const char body[] = "hi";
	const struct relay_req info = {
	    .method = SIP_METHOD_INFO, .ctype = "text/plain", .body = body, .body_len = 2};
	const struct orig_dlg dlg = {.slot = SLOT, .gen = GEN, .leg = SHARD_LEG_B};
	const struct orig_dlg other = {.slot = SLOT + 1, .gen = GEN, .leg = SHARD_LEG_B};
	char scratch[ORIG_MAX];

	assert_int_equal(orig_start(&byes, &rc, leg(SHARD_LEG_B), &info, &dlg, 77, 1000, scratch,
				    sizeof(scratch), capture, record_done, NULL),
			 0);
	static char info_sent[ORIG_MAX];
	memcpy(info_sent, sent.last, sent.last_len);
	size_t info_len = sent.last_len;
	assert_int_equal(orig_start(&byes, &rc, leg(SHARD_LEG_A), &BYE, &dlg, 0, 1000, scratch,
				    sizeof(scratch), capture, record_done, NULL),
			 0);
	assert_int_equal(orig_start(&byes, &rc, leg(SHARD_LEG_B), &info, &other, 78, 1000, scratch,
				    sizeof(scratch), capture, record_done, NULL),
			 0);
	assert_int_equal(byes.busy, 3);
	assert_int_equal(byes.busy_in_dialog, 2); /* the INFOs, not the BYE */
	/* another generation of the slot is another dialog */
	assert_int_equal(orig_end_dialog(&byes, SLOT, GEN + 1), 0);
	assert_int_equal(orig_end_dialog(&byes, SLOT, GEN), 1);
	assert_int_equal(byes.st.call_ended, 1);
	assert_int_equal(byes.busy, 2);
	assert_int_equal(byes.busy_in_dialog, 1);
	assert_int_equal(done.count, 0);

	/* Timer E: the BYE and the other dialog's INFO, not this INFO */
	sent.count = 0;
	orig_tick(&byes, 1500, capture, record_done, NULL);
	assert_int_equal(sent.count, 2);
	orig_tick(&byes, 1000 + 64 * 500, capture, record_done, NULL);
	assert_int_equal(done.count, 2); /* Timer F of those two only */
	assert_int_equal(byes.st.unanswered, 2);
	assert_int_equal(byes.busy_in_dialog, 0);
	/* none left: a dialog freed now costs no scan, and stops nothing */
	assert_int_equal(orig_end_dialog(&byes, SLOT + 1, GEN), 0);

	/* the INFO's final, late, matches nothing */
	memcpy(sent.last, info_sent, info_len);
	sent.last_len = info_len;
	respond(481, "INFO");
	assert_int_equal(byes.st.stray, 1);
	assert_int_equal(done.count, 2);
}

static void test_provisional_slows_to_t2(void **state)
{
	(void)state;
	start(SHARD_LEG_B, 1000);
	respond(100, "BYE");
	assert_int_equal(byes.busy, 1);
	assert_int_equal(done.count, 0);	  /* a provisional ends nothing */
	assert_int_equal(byes.st.provisional, 1); /* but is counted, a drop of its own */
	assert_int_equal(byes.st.answered + byes.st.stray, 0);
	orig_tick(&byes, 1500, capture, NULL, NULL); /* due already: sent, next in T2 */
	assert_int_equal(sent.count, 2);
	orig_tick(&byes, 5499, capture, NULL, NULL);
	assert_int_equal(sent.count, 2);
	orig_tick(&byes, 5500, capture, NULL, NULL);
	assert_int_equal(sent.count, 3);
	respond(481, "BYE"); /* any final ends it */
	assert_int_equal(byes.st.answered, 1);
	assert_int_equal(byes.busy, 0);
	assert_int_equal(done.status, 481);
}

static void test_gives_up_after_timer_f(void **state)
{
	(void)state;
	start(SHARD_LEG_A, 1000);
	for (uint64_t t = 1000; t <= 1000 + 64 * 500 + 100; t += 10)
		orig_tick(&byes, t, capture, record_done, NULL);
	assert_int_equal(byes.st.unanswered, 1);
	assert_int_equal(byes.busy, 0);
	/* no answer: told as 408 (RFC 3261 8.1.3.1), once */
	assert_int_equal(done.count, 1);
	assert_int_equal(done.method, SIP_METHOD_BYE);
	assert_int_equal(done.status, 408);
	assert_false(done.heard);
	/* 500, 1000, 2000, then every 4 s up to 32 s after the first */
	assert_int_equal(byes.st.retransmitted, 10);
	unsigned before = sent.count;
	orig_tick(&byes, 1000 + 60000, capture, NULL, NULL);
	assert_int_equal(sent.count, before);
}

static void test_responses_that_match_nothing(void **state)
{
	(void)state;
	start(SHARD_LEG_A, 1000);
	parse_sent();
	char branch[SHARD_ORIG_MAX];
	size_t blen = m.vias[0].branch.len;
	assert_int_equal(blen, SHARD_ORIG_LEN);
	memcpy(branch, m.buf + m.vias[0].branch.off, blen);
	branch[blen] = '\0';
	uint8_t shard;
	uint32_t slot, gen, salt;
	assert_int_equal(shard_orig_decode(branch, blen, &shard, &slot, &gen, &salt), 0);
	assert_int_equal(shard, 0);

	/* tokens of ours that name no busy transaction: another shard, a slot out
	 * of range, another generation, another salt */
	char other[4][SHARD_ORIG_MAX];
	shard_orig_encode(other[0], SHARD_ORIG_MAX, 1, slot, gen, salt);
	shard_orig_encode(other[1], SHARD_ORIG_MAX, 0, ORIG_SLOTS, gen, salt);
	shard_orig_encode(other[2], SHARD_ORIG_MAX, 0, slot, gen + 1, salt);
	shard_orig_encode(other[3], SHARD_ORIG_MAX, 0, slot, gen, salt ^ 1);
	for (int i = 0; i < 4; i++) {
		parse_response(200, other[i], strlen(other[i]), "BYE");
		orig_on_response(&byes, &m, 0, NULL);
	}
	/* and no token at all: the prefix only, one digit changed (the check
	 * catches it), upper case */
	char digit[SHARD_ORIG_MAX], upper[SHARD_ORIG_MAX];
	memcpy(digit, branch, blen + 1);
	digit[blen - 12] = digit[blen - 12] == '0' ? '1' : '0';
	memcpy(upper, branch, blen + 1);
	for (size_t i = sizeof(SHARD_ORIG_PREFIX) - 1; i < blen; i++)
		upper[i] = (char)(upper[i] >= 'a' ? upper[i] - 32 : upper[i]);
	const char *bad[] = {SHARD_ORIG_PREFIX, digit, upper};
	for (int i = 0; i < 3; i++) {
		parse_response(200, bad[i], strlen(bad[i]), "BYE");
		orig_on_response(&byes, &m, 0, NULL);
	}
	assert_int_equal(byes.st.stray, 7);
	/* the right branch, but a final for another method */
	respond(200, "INFO");
	assert_int_equal(byes.st.stray, 8);
	assert_int_equal(byes.busy, 1);
	assert_int_equal(byes.st.answered, 0);
	/* the right one ends it */
	respond(200, "BYE");
	assert_int_equal(byes.st.answered, 1);
	assert_int_equal(byes.busy, 0);
}

static void test_oldest_gives_its_slot_up_when_full(void **state)
{
	(void)state;
	start_first(SHARD_LEG_A);
	for (unsigned i = 1; i < ORIG_SLOTS; i++)
		start(SHARD_LEG_B, 1000);
	assert_int_equal(byes.busy, ORIG_SLOTS);
	assert_int_equal(byes.st.overwritten, 0);
	assert_int_equal(done.count, 0);
	start(SHARD_LEG_B, 1000);
	assert_int_equal(byes.busy, ORIG_SLOTS);
	assert_int_equal(byes.st.overwritten, 1);
	/* its sender hears that it ended, as at Timer F: an operator's INFO
	 * or REFER once kept no outcome for ever */
	assert_int_equal(done.count, 1);
	assert_int_equal(done.method, SIP_METHOD_BYE);
	assert_int_equal(done.status, 408);

	/* the first BYE's answer now finds its slot taken by another */
	memcpy(sent.last, first.data, first.len);
	sent.last_len = first.len;
	respond(200, "BYE");
	assert_int_equal(byes.st.stray, 1);
	assert_int_equal(byes.busy, ORIG_SLOTS);
}

/* One request left waiting while 512 later ones were answered at once: the
 * table is nowhere near full (two busy), so no transaction may give its slot
 * up; the one waiting is still retransmitted and its answer still ends it. */
static void test_free_slots_are_taken_before_a_busy_one(void **state)
{
	(void)state;
	start_first(SHARD_LEG_A);
	for (unsigned i = 0; i < ORIG_SLOTS; i++) {
		start(SHARD_LEG_B, 1000);
		respond(200, "BYE");
	}
	assert_int_equal(byes.busy, 1);
	assert_int_equal(byes.st.overwritten, 0);
	assert_int_equal(done.count, ORIG_SLOTS);
	assert_int_equal(done.status, 200);

	/* the first is still retransmitted (Timer E) ... */
	unsigned before = sent.count;
	orig_tick(&byes, 1500, capture, record_done, NULL);
	assert_int_equal(sent.count, before + 1);
	assert_memory_equal(sent.last, first.data, first.len);
	/* ... and its answer ends it, not as a stray */
	memcpy(sent.last, first.data, first.len);
	sent.last_len = first.len;
	respond(200, "BYE");
	assert_int_equal(byes.st.stray, 0);
	assert_int_equal(byes.busy, 0);
	assert_int_equal(done.count, ORIG_SLOTS + 1);
}

/* The operator's MESSAGE with the largest body it may have (ORIG_BODY_MAX), on
 * a leg with a long route set and remote target, as the worker writes it
 * (scratch of ORIG_MAX + ORIG_BODY_MAX bytes): over UDP it is retransmitted
 * (Timer E) like any request of ours, not sent once and left to Timer F. */
static void test_largest_body_is_retransmitted(void **state)
{
	(void)state;
	static char body[ORIG_BODY_MAX];
	char scratch[ORIG_MAX + ORIG_BODY_MAX];
	struct sip_session *b = leg(SHARD_LEG_B);

	memset(body, 'x', sizeof(body));
	struct relay_req msg = {.method = SIP_METHOD_MESSAGE,
				.ctype = "text/plain",
				.body = body,
				.body_len = sizeof(body)};
	/* four proxies on the way, and a Contact with parameters */
	b->route_set_len = 0;
	for (int i = 0; i < 4; i++)
		b->route_set_len += (uint16_t)snprintf(
		    b->route_set + b->route_set_len, sizeof(b->route_set) - b->route_set_len,
		    "Route: <sip:edge-proxy-%d.core.carrier.example.net:5060;transport=udp;lr;"
		    "ftag=a1b2c3d4e5f6a7b8;did=0f1.2a3b4c5d;nat=yes>\r\n",
		    i);
	b->remote_target_len =
	    (uint16_t)snprintf(b->remote_target, sizeof(b->remote_target),
			       "sip:+15551234567@203.0.113.50:5060;transport=udp;user=phone;"
			       "x-carrier-session=7d1e0c9b3a2f4e5d6c7b8a9f0e1d2c3b;"
			       "x-route-context=4f3e2d1c0b0a09080706050403020100aabbccddeeff;"
			       "x-trunk-group=tg-0042-east");
	b->remote_uri_len = (uint16_t)snprintf(b->remote_uri, sizeof(b->remote_uri),
					       "sip:+15551234567@carrier.example.net;user=phone");
	assert_int_equal(orig_start(&byes, &rc, b, &msg, NULL, 80, 1000, scratch, sizeof(scratch),
				    capture, record_done, NULL),
			 0);
	assert_true(sent.last_len > ORIG_MAX);
	size_t len = sent.last_len;
	orig_tick(&byes, 1500, capture, record_done, NULL);
	assert_int_equal(sent.count, 2);
	assert_int_equal(sent.last_len, len);
	assert_int_equal(byes.st.retransmitted, 1);
	respond(200, "MESSAGE");
	assert_int_equal(done.status, 200);
	assert_int_equal(byes.busy, 0);
}

static void test_too_long_for_the_buffer_is_not_sent(void **state)
{
	(void)state;
	char small[64];
	assert_int_equal(orig_start(&byes, &rc, leg(SHARD_LEG_A), &BYE, NULL, 0, 1000, small,
				    sizeof(small), capture, record_done, NULL),
			 -ENOSPC);
	assert_int_equal(sent.count, 0);
	assert_int_equal(byes.busy, 0);
	assert_int_equal(leg(SHARD_LEG_A)->local_cseq, 0); /* no CSeq taken */
}

/* ---- challenges to requests of ours (RFC 3261 22.2) ---------------------- */

/* the route's key at its target (cred_route_key: the route's name and the
 * target the call went to) */
#define CARRIER_KEY 0x5151u
/* a route with credentials whose one target has CARRIER_KEY and no address */
static const struct orig_cred CARRIER = {
    .auth = {"trunk7", "s3cret"}, .ntargets = 1, .targets = {{.key = CARRIER_KEY}}};

/* orig_cseq_fn as the worker's: the leg's next while the dialog lives. */
static uint32_t next_cseq(void *arg, const struct orig_dlg *dlg, uint32_t challenged)
{
	(void)arg;
	struct shard_dialog *d = shard_dialog_get(&table, dlg->slot, dlg->gen);
	if (!d)
		return challenged + 1;
	return ++d->legs[dlg->leg].local_cseq;
}

static const struct orig_io IO = {capture, record_done, next_cseq, NULL};

static struct orig_dlg dlg_b(uint32_t key)
{
	return (struct orig_dlg){SLOT, GEN, SHARD_LEG_B, key};
}

/* req on leg B of the dialog with the carrier's credentials. */
static void start_b(const struct relay_req *req, uint64_t cookie, uint32_t key)
{
	char scratch[ORIG_KEEP_MAX];
	const struct orig_dlg dlg = dlg_b(key);
	orig_set_creds(&byes, 0, 1, &CARRIER);
	assert_int_equal(orig_start(&byes, &rc, leg(SHARD_LEG_B), req, &dlg, cookie, 1000, scratch,
				    sizeof(scratch), capture, record_done, NULL),
			 0);
}

/* The challenge status (401 or 407) with realm and nonce to a request with
 * this branch, CSeq and method, parsed into m. */
static void parse_challenge_to(int status, const char *realm, const char *nonce, const char *branch,
			       uint32_t cseq, const char *method)
{
	static char resp[2048];
	int n = snprintf(resp, sizeof(resp),
			 "SIP/2.0 %d Unauthorized\r\n"
			 "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=%s;rport\r\n"
			 "From: <sip:x@y>;tag=1\r\n"
			 "To: <sip:x@y>;tag=2\r\n"
			 "Call-ID: c\r\n"
			 "CSeq: %u %s\r\n"
			 "%s: Digest realm=\"%s\", nonce=\"%s\", qop=\"auth\", algorithm=MD5\r\n"
			 "Content-Length: 0\r\n\r\n",
			 status, branch, cseq, method,
			 status == 407 ? "Proxy-Authenticate" : "WWW-Authenticate", realm, nonce);
	assert_int_equal(sip_parse(&m, resp, (size_t)n, NULL), 0);
}

/* The same to what was sent last. */
static void parse_challenge(int status, const char *realm, const char *nonce)
{
	static char branch[64], method[16];
	parse_sent();
	snprintf(branch, sizeof(branch), "%.*s", (int)m.vias[0].branch.len,
		 m.buf + m.vias[0].branch.off);
	snprintf(method, sizeof(method), "%s", sip_method_name((enum sip_method)m.cseq.method_id));
	parse_challenge_to(status, realm, nonce, branch, m.cseq.num, method);
}

static void challenge(int status, const char *realm, const char *nonce)
{
	parse_challenge(status, realm, nonce);
	orig_on_response(&byes, &m, 2000, &IO);
}

/* The value of the want-th line named name in what was sent last, as a string. */
static bool sent_header(const char *name, unsigned want, char *out, size_t cap)
{
	parse_sent();
	for (uint16_t i = 0; i < m.nhdrs; i++)
		if (sip_view_eq(m.buf, m.hdrs[i].name, name, strlen(name)) && want-- == 0) {
			snprintf(out, cap, "%.*s", (int)m.hdrs[i].value.len,
				 m.buf + m.hdrs[i].value.off);
			return true;
		}
	return false;
}

/* The credentials line at want of name in what was sent last answers realm
 * and nonce for method and uri with the carrier's credentials. */
static void assert_answers(const char *name, unsigned want, const char *method, const char *uri,
			   const char *realm, const char *nonce)
{
	char v[1024], got[128], nc[16], cnonce[64], expect[33];
	assert_true(sent_header(name, want, v, sizeof(v)));
	test_credential_param(v, "username", got, sizeof(got));
	assert_string_equal(got, "trunk7");
	test_credential_param(v, "realm", got, sizeof(got));
	assert_string_equal(got, realm);
	test_credential_param(v, "nonce", got, sizeof(got));
	assert_string_equal(got, nonce);
	test_credential_param(v, "uri", got, sizeof(got));
	assert_string_equal(got, uri);
	test_credential_param(v, "nc", nc, sizeof(nc));
	test_credential_param(v, "cnonce", cnonce, sizeof(cnonce));
	test_digest_response("trunk7", realm, "s3cret", method, uri, nonce, nc, cnonce, expect);
	test_credential_param(v, "response", got, sizeof(got));
	assert_string_equal(got, expect);
}

static unsigned count_lines(const char *name)
{
	char v[1024];
	unsigned n = 0;
	while (sent_header(name, n, v, sizeof(v)))
		n++;
	return n;
}

static void test_challenged_bye_goes_again_with_credentials(void **state)
{
	(void)state;
	char reason[200];
	start_b(&BYE, 0, CARRIER_KEY);
	parse_sent();
	uint32_t cseq = m.cseq.num;
	char branch1[64];
	snprintf(branch1, sizeof(branch1), "%.*s", (int)m.vias[0].branch.len,
		 m.buf + m.vias[0].branch.off);
	/* the dialog a BYE of ours ended is gone when the challenge comes */
	shard_dialog_free(&table, SLOT);

	challenge(407, "carrier.example", "n0nce-407");
	assert_int_equal(sent.count, 2);
	assert_int_equal(done.count, 0); /* the retry's final is the outcome */
	parse_sent();
	assert_int_equal(m.method_id, SIP_METHOD_BYE);
	assert_int_equal(m.cseq.num, cseq + 1);
	assert_int_equal(m.cseq.method_id, SIP_METHOD_BYE);
	assert_true(orig_branch_is_ours(m.buf, m.vias[0].branch));
	assert_false(sip_view_eq(m.buf, m.vias[0].branch, branch1, strlen(branch1)));
	assert_view(m.call_id, "callB@sipshard");
	assert_true(sent_header("Reason", 0, reason, sizeof(reason)));
	assert_string_equal(reason, REASON);
	assert_answers("Proxy-Authorization", 0, "BYE", "sip:bob@10.2.2.2:5080", "carrier.example",
		       "n0nce-407");
	assert_int_equal(count_lines("Authorization"), 0);
	assert_int_equal(byes.st.challenges_answered, 1);
	assert_int_equal(byes.busy, 1);

	/* retransmitted as any request of ours (Timer E), credentials and all */
	char retry[ORIG_KEEP_MAX];
	size_t retry_len = sent.last_len;
	memcpy(retry, sent.last, retry_len);
	orig_tick(&byes, 2000 + 500, capture, record_done, NULL);
	assert_int_equal(sent.count, 3);
	assert_int_equal(sent.last_len, retry_len);
	assert_memory_equal(sent.last, retry, retry_len);

	/* a copy of the challenge is for the transaction that ended */
	parse_challenge_to(407, "carrier.example", "n0nce-407", branch1, cseq, "BYE");
	orig_on_response(&byes, &m, 2000, &IO);
	assert_int_equal(byes.st.stray, 1);
	assert_int_equal(sent.count, 3);

	respond(200, "BYE");
	assert_int_equal(done.count, 1);
	assert_int_equal(done.status, 200);
	assert_int_equal(byes.busy, 0);
	assert_int_equal(byes.st.sent, byes.st.answered);
}

/* The callee's Contact, leg B's remote target, may carry a URI parameter
 * named branch with our prefix: the retry answering a challenge takes a new
 * branch in its top Via only, and keeps the Request-URI the digest's uri
 * names (a search of the whole request found the parameter first). */
static void retry_keeps_request_uri(const char *target)
{
	shard_leg_set_target(&table, shard_dialog_get(&table, SLOT, GEN), SHARD_LEG_B, target,
			     strlen(target));
	start_b(&BYE, 0, CARRIER_KEY);
	parse_sent();
	char branch1[64];
	snprintf(branch1, sizeof(branch1), "%.*s", (int)m.vias[0].branch.len,
		 m.buf + m.vias[0].branch.off);
	assert_view(m.ruri.whole, target);

	challenge(407, "carrier.example", "n0nce-407");
	assert_int_equal(sent.count, 2);
	parse_sent();
	assert_int_equal(m.method_id, SIP_METHOD_BYE);
	assert_view(m.ruri.whole, target);
	assert_int_equal(m.nvias, 1);
	assert_true(orig_branch_is_ours(m.buf, m.vias[0].branch));
	assert_false(sip_view_eq(m.buf, m.vias[0].branch, branch1, strlen(branch1)));
	assert_answers("Proxy-Authorization", 0, "BYE", target, "carrier.example", "n0nce-407");

	/* the new branch is the one its final matches */
	respond(200, "BYE");
	assert_int_equal(done.count, 1);
	assert_int_equal(done.status, 200);
	assert_int_equal(byes.st.stray, 0);
	assert_int_equal(byes.busy, 0);
}

static void test_retry_branch_not_in_request_uri(void **state)
{
	(void)state;
	/* longer than a branch of ours: the Request-URI would change, and the
	 * Via keep the old branch */
	retry_keeps_request_uri("sip:bob@10.2.2.2:5080;branch=z9hG4bKsb"
				"deadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeef");
}

static void test_retry_branch_not_in_short_request_uri_param(void **state)
{
	(void)state;
	/* shorter: the new branch would run over the end of the request line */
	retry_keeps_request_uri("sip:bob@10.2.2.2:5080;branch=z9hG4bKsb1");
}

static void test_second_challenge_of_a_kind_is_final(void **state)
{
	(void)state;
	start_b(&BYE, 0, CARRIER_KEY);
	challenge(407, "carrier.example", "first");
	assert_int_equal(sent.count, 2);
	challenge(407, "carrier.example", "second"); /* no stale=true: refused */
	assert_int_equal(sent.count, 2);
	assert_int_equal(done.count, 1);
	assert_int_equal(done.status, 407);
	assert_int_equal(byes.st.challenges_answered, 1);
	assert_int_equal(byes.st.challenges_refused[ORIG_AUTH_REFUSED], 1);
	assert_int_equal(byes.busy, 0);
}

static void test_proxy_then_server_both_answered(void **state)
{
	(void)state;
	start_b(&BYE, 0, CARRIER_KEY);
	challenge(407, "proxy.example", "p1");
	challenge(401, "carrier.example", "s1");
	assert_int_equal(sent.count, 3);
	assert_int_equal(byes.st.challenges_answered, 2);
	/* the proxy's line again (its nc counts on) and the server's: one each */
	assert_int_equal(count_lines("Proxy-Authorization"), 1);
	assert_int_equal(count_lines("Authorization"), 1);
	assert_answers("Proxy-Authorization", 0, "BYE", "sip:bob@10.2.2.2:5080", "proxy.example",
		       "p1");
	assert_answers("Authorization", 0, "BYE", "sip:bob@10.2.2.2:5080", "carrier.example", "s1");
	char nc[16], v[1024];
	assert_true(sent_header("Proxy-Authorization", 0, v, sizeof(v)));
	test_credential_param(v, "nc", nc, sizeof(nc));
	assert_string_equal(nc, "00000002");
	assert_int_equal(done.count, 0);
}

static void test_retry_takes_the_legs_next_cseq(void **state)
{
	(void)state;
	static const char body[] = "hello";
	struct relay_req msg = {.method = SIP_METHOD_MESSAGE,
				.ctype = "text/plain",
				.body = body,
				.body_len = sizeof(body) - 1};
	start_b(&msg, 81, CARRIER_KEY);
	uint32_t sent_as = leg(SHARD_LEG_B)->local_cseq;
	/* a request relayed to leg B meanwhile took the next CSeq */
	leg(SHARD_LEG_B)->local_cseq++;
	challenge(401, "carrier.example", "n1");
	parse_sent();
	assert_int_equal(m.cseq.num, sent_as + 2);
	assert_int_equal(leg(SHARD_LEG_B)->local_cseq, sent_as + 2); /* taken: never reused */
	assert_int_equal(m.body.len, sizeof(body) - 1);
	assert_true(sip_view_eq(m.buf, m.body, body, sizeof(body) - 1));
	assert_answers("Authorization", 0, "MESSAGE", "sip:bob@10.2.2.2:5080", "carrier.example",
		       "n1");
	respond(202, "MESSAGE");
	assert_int_equal(done.count, 1);
	assert_int_equal(done.cookie, 81);
	assert_int_equal(done.status, 202);
}

static void test_challenges_not_answered(void **state)
{
	(void)state;
	/* no credentials: a request without a dialog's key, and one whose route
	 * has none (now) */
	char scratch[ORIG_MAX];
	assert_int_equal(orig_start(&byes, &rc, leg(SHARD_LEG_B), &BYE, NULL, 0, 1000, scratch,
				    sizeof(scratch), capture, record_done, NULL),
			 0);
	challenge(401, "carrier.example", "n");
	assert_int_equal(done.status, 401);
	start_b(&BYE, 0, 0x7777);
	challenge(407, "carrier.example", "n");
	assert_int_equal(done.status, 407);
	assert_int_equal(byes.st.challenges_refused[ORIG_AUTH_NO_CREDENTIALS], 2);

	/* another realm than the route's auth.realm */
	struct orig_cred only = CARRIER;
	snprintf(only.auth.realm[0], sizeof(only.auth.realm[0]), "carrier.example");
	only.auth.nrealms = 1;
	start_b(&BYE, 0, CARRIER_KEY);
	orig_set_creds(&byes, 0, 1, &only);
	challenge(401, "elsewhere.example", "n");
	assert_int_equal(done.status, 401);
	assert_int_equal(byes.st.challenges_refused[ORIG_AUTH_UNANSWERABLE], 1);

	/* credentials taken away by a reload (count 0) */
	start_b(&BYE, 0, CARRIER_KEY);
	orig_set_creds(&byes, 0, 0, NULL);
	challenge(401, "carrier.example", "n");
	assert_int_equal(done.status, 401);
	assert_int_equal(byes.st.challenges_refused[ORIG_AUTH_NO_CREDENTIALS], 3);
	assert_int_equal(byes.st.challenges_answered, 0);
	assert_int_equal(sent.count, 4); /* none sent again */
	assert_int_equal(byes.busy, 0);
}

/* cred's credentials as a route with one target: key, at ip:port (ip NULL:
 * a name with no address now) */
static struct orig_cred at_target(struct orig_cred cred, uint32_t key, const char *ip,
				  uint16_t port)
{
	memset(cred.targets, 0, sizeof(cred.targets));
	cred.ntargets = 1;
	cred.targets[0].key = key;
	if (ip) {
		test_addr_in((struct sockaddr_in *)&cred.targets[0].addr, ip, port);
		cred.targets[0].len = sizeof(struct sockaddr_in);
	}
	return cred;
}

/* Two routes whose keys (cred_route_key) are one: a challenge to a
 * call of either is answered with neither's credentials, since the wrong
 * pick would send one carrier's password to another. A route without auth
 * sharing the key counts too. */
static void test_shared_key_gives_no_credentials(void **state)
{
	(void)state;
	struct orig_cred other = CARRIER,
			 plain = at_target((struct orig_cred){0}, CARRIER_KEY, NULL, 0);
	snprintf(other.auth.username, sizeof(other.auth.username), "other-account");
	start_b(&BYE, 0, CARRIER_KEY); /* sets CARRIER alone */
	orig_set_creds(&byes, 0, 2, &CARRIER);
	orig_set_creds(&byes, 1, 2, &other);
	challenge(401, "carrier.example", "n");
	assert_int_equal(done.status, 401);
	assert_int_equal(byes.st.challenges_refused[ORIG_AUTH_NO_CREDENTIALS], 1);

	start_b(&BYE, 0, CARRIER_KEY);
	orig_set_creds(&byes, 0, 2, &CARRIER);
	orig_set_creds(&byes, 1, 2, &plain);
	challenge(401, "carrier.example", "n");
	assert_int_equal(done.status, 401);
	assert_int_equal(byes.st.challenges_refused[ORIG_AUTH_NO_CREDENTIALS], 2);
	assert_int_equal(byes.st.challenges_answered, 0);

	/* the key alone again: answered */
	start_b(&BYE, 0, CARRIER_KEY);
	challenge(401, "carrier.example", "n");
	assert_int_equal(byes.st.challenges_answered, 1);
}

/* what the worker gives a keep-alive's OPTIONS again (any non-zero value) */
#define KA_COOKIE 0x0000000701000005ull

/* A reload moved route "trunk" from carrier X (10.7.7.1) to carrier Y
 * (10.7.7.2) with Y's account, and route "x" now sends to X with X's. A call
 * that went to X by "trunk" keeps the key of "trunk" at X (0x7170), which no
 * entry has now: X's challenge, to the call's INVITE (the controller's
 * ctl_call_auth) or to sipshard's BYE in its dialog (the workers' lookup, whose
 * peer is where the callee answered from), is answered with X's account,
 * never Y's. Before, the workers looked the call's credentials up by the
 * route's name alone, and Y's password answered X's nonce. A call that went
 * to Y keeps its key, whatever address its dialog's requests go to (a
 * callee's remote target need not be a route's target). */
static void test_changed_route_answers_only_at_its_targets(void **state)
{
	(void)state;
	struct sockaddr_in x, y, z;
	test_addr_in(&x, "10.7.7.1", 5060);
	test_addr_in(&y, "10.7.7.2", 5060);
	test_addr_in(&z, "10.7.7.3", 5060);
	struct orig_cred creds[2] = {
	    at_target((struct orig_cred){.auth = {"carrier-y", "y-pass"}}, 0x7171, "10.7.7.2",
		      5060),
	    at_target((struct orig_cred){.auth = {"carrier-x", "x-pass"}}, 0x7272, "10.7.7.1",
		      5060),
	};
	const struct config_auth *a;

	a = orig_creds_find(creds, 2, 0x7170, &x, sizeof(x));
	assert_non_null(a);
	assert_string_equal(a->username, "carrier-x");
	a = orig_creds_find(creds, 2, 0x7170, &y, sizeof(y));
	assert_non_null(a);
	assert_string_equal(a->username, "carrier-y");
	/* no route sends to the peer: none */
	assert_null(orig_creds_find(creds, 2, 0x7170, &z, sizeof(z)));
	/* a call that went to Y: its route's, wherever its dialog goes */
	a = orig_creds_find(creds, 2, 0x7171, &z, sizeof(z));
	assert_non_null(a);
	assert_string_equal(a->username, "carrier-y");
	a = orig_creds_find(creds, 2, 0x7171, NULL, 0);
	assert_non_null(a);
	assert_string_equal(a->username, "carrier-y");
	/* the key a new dialog to that peer goes with (a call replacing one of
	 * the call's, controller.c): the one of the route with X as target,
	 * never the moved route's */
	assert_int_equal(orig_creds_key_at(creds, 2, 0x7170, &x, sizeof(x)), 0x7272);
	assert_int_equal(orig_creds_key_at(creds, 2, 0x7170, &y, sizeof(y)), 0x7171);
	assert_int_equal(orig_creds_key_at(creds, 2, 0x7170, &z, sizeof(z)), 0);
	assert_int_equal(orig_creds_key_at(creds, 2, 0x7171, &z, sizeof(z)), 0x7171);
	assert_int_equal(orig_creds_key_at(creds, 2, 0, &x, sizeof(x)), 0);
}

/* Two routes to one target with one account, whose auth.realm lists the
 * same realms in another order (a proxy's and its server's): a call whose
 * key neither has (a route renamed by a reload) finds those credentials
 * at the target, since the list is a set of realms and both answer the
 * same challenges (config_auth_same). Compared as ordered lists, they
 * differed and the challenge went unanswered. Another realm in the list,
 * or one realm fewer, is other credentials: none. */
static void test_twin_routes_realms_in_another_order(void **state)
{
	(void)state;
	struct sockaddr_in x;
	test_addr_in(&x, "10.7.7.1", 5060);
	struct orig_cred one = at_target(CARRIER, 0x7272, "10.7.7.1", 5060);
	snprintf(one.auth.realm[0], sizeof(one.auth.realm[0]), "proxy.example");
	snprintf(one.auth.realm[1], sizeof(one.auth.realm[1]), "server.example");
	one.auth.nrealms = 2;
	struct orig_cred creds[2] = {one, one};
	creds[1].targets[0].key = 0x7373;
	snprintf(creds[1].auth.realm[0], sizeof(creds[1].auth.realm[0]), "server.example");
	snprintf(creds[1].auth.realm[1], sizeof(creds[1].auth.realm[1]), "proxy.example");

	const struct config_auth *a = orig_creds_find(creds, 2, 0x7170, &x, sizeof(x));
	if (!a)
		fail_msg("one account's realms in another order taken for other credentials");
	assert_string_equal(a->username, CARRIER.auth.username);

	snprintf(creds[1].auth.realm[1], sizeof(creds[1].auth.realm[1]), "other.example");
	assert_null(orig_creds_find(creds, 2, 0x7170, &x, sizeof(x)));
	creds[1].auth.nrealms = 1;
	snprintf(creds[1].auth.realm[0], sizeof(creds[1].auth.realm[0]), "proxy.example");
	assert_null(orig_creds_find(creds, 2, 0x7170, &x, sizeof(x)));
}

/* The key of a route at a target (cred_route_key) is the route's name and
 * the target as the configuration writes it (in any spelling of it:
 * test_route_key_any_spelling): a reload that keeps both keeps
 * the key, one that gives the name another target (another carrier) does
 * not; a target made from an SRV record is keyed by its domain, so that
 * each record's, and a DNS refresh's new address, keeps the calls' key. */
static void test_route_key_names_route_and_target(void **state)
{
	(void)state;
	struct config_target a = {0}, b = {0}, srv1 = {0}, srv2 = {0};
	snprintf(a.text, sizeof(a.text), "192.0.2.10:5060");
	snprintf(b.text, sizeof(b.text), "198.51.100.7:5060");
	snprintf(srv1.text, sizeof(srv1.text), "sip1.carrier.example:5060");
	snprintf(srv1.domain, sizeof(srv1.domain), "carrier.example");
	srv2 = srv1;
	snprintf(srv2.text, sizeof(srv2.text), "sip2.carrier.example:5070");
	srv2.srv = srv1.srv = true;

	uint32_t k = cred_route_key("trunk", &a);
	assert_int_not_equal(k, 0);
	assert_int_equal(cred_route_key("trunk", &a), k);
	test_addr_in((struct sockaddr_in *)&a.addr, "192.0.2.10", 5060); /* not in the key */
	a.addr_len = sizeof(struct sockaddr_in);
	assert_int_equal(cred_route_key("trunk", &a), k);
	assert_int_not_equal(cred_route_key("trunk", &b), k);
	assert_int_not_equal(cred_route_key("trunk2", &a), k);
	assert_int_equal(cred_route_key("trunk", &srv1), cred_route_key("trunk", &srv2));
	assert_int_not_equal(cred_route_key("trunk", &srv1), k);

	/* orig_cred_of_route keys each of a route's targets */
	struct config_route r = {.ntargets = 2};
	snprintf(r.name, sizeof(r.name), "trunk");
	r.targets[0] = a;
	r.targets[1] = srv1;
	struct orig_cred e;
	orig_cred_of_route(&r, &e);
	assert_int_equal(e.ntargets, 2);
	assert_int_equal(e.targets[0].key, k);
	assert_int_equal(e.targets[0].len, sizeof(struct sockaddr_in));
	assert_int_equal(e.targets[1].key, cred_route_key("trunk", &srv2));
	assert_int_equal(e.targets[1].len, 0); /* no address given: none kept */
}

/* Route name's key at target text of a configuration loaded as a file
 * writes it (listen dual-stack: either family). */
static uint32_t loaded_key(const char *name, const char *text)
{
	static struct config c;
	char js[256], err[256];
	snprintf(js, sizeof(js),
		 "{\"listen\": \"[::]:16950\", \"advertise\": \"[::1]\", \"routes\": [{\"name\": "
		 "\"%s\", "
		 "\"target\": \"%s\"}]}",
		 name, text);
	int r = config_load_string(&c, js, err, sizeof(err));
	if (r)
		fail_msg("%s: %s", text, err);
	assert_int_equal(c.routes[0].ntargets, 1);
	uint32_t k = cred_route_key(name, &c.routes[0].targets[0]);
	config_free(&c);
	return k;
}

/* An SRV domain's record's target, as the load makes it (by_name, domain) */
static struct config_target srv_target(const char *domain, const char *text)
{
	struct config_target t = {.by_name = true, .srv = true};
	snprintf(t.domain, sizeof(t.domain), "%s", domain);
	snprintf(t.text, sizeof(t.text), "%s", text);
	return t;
}

/* The key (cred_route_key) hashes the target in one spelling of all those
 * the configuration takes: a reload that writes the same target another way
 * (an IPv6 address's zeros or hex case, a port's leading zeros, a name's or
 * an SRV domain's letter case: RFC 4343) keeps the calls' key, and so the
 * route's credentials for the challenges to their in-dialog requests; other
 * addresses, ports, names and routes still have keys of their own. */
static void test_route_key_any_spelling(void **state)
{
	(void)state;
	uint32_t v4 = loaded_key("trunk", "127.0.0.1:5060");
	assert_int_equal(loaded_key("trunk", "127.0.0.1:05060"), v4);
	assert_int_not_equal(loaded_key("trunk", "127.0.0.2:5060"), v4);
	assert_int_not_equal(loaded_key("trunk", "127.0.0.1:5061"), v4);
	assert_int_not_equal(loaded_key("trunk2", "127.0.0.1:5060"), v4);

	uint32_t v6 = loaded_key("trunk", "[::1]:5080");
	assert_int_equal(loaded_key("trunk", "[0::1]:5080"), v6);
	assert_int_equal(loaded_key("trunk", "[::0001]:5080"), v6);
	assert_int_equal(loaded_key("trunk", "[0:0:0:0:0:0:0:1]:5080"), v6);
	assert_int_equal(loaded_key("trunk", "[::1]:05080"), v6);
	assert_int_not_equal(loaded_key("trunk", "[::2]:5080"), v6);
	assert_int_not_equal(loaded_key("trunk", "[::1]:5081"), v6);
	assert_int_not_equal(loaded_key("trunk2", "[::1]:5080"), v6);
	assert_int_not_equal(v6, v4);
	uint32_t doc = loaded_key("trunk", "[2001:db8::a:b]:5060");
	assert_int_equal(loaded_key("trunk", "[2001:DB8:0:0::A:B]:5060"), doc);

	/* a name (here in /etc/hosts) */
	uint32_t name = loaded_key("trunk", "localhost:5060");
	assert_int_equal(loaded_key("trunk", "LocalHost:5060"), name);
	assert_int_equal(loaded_key("trunk", "LOCALHOST:05060"), name);
	assert_int_not_equal(loaded_key("trunk", "localhost:5070"), name);
	assert_int_not_equal(loaded_key("trunk2", "localhost:5060"), name);
	assert_int_not_equal(name, v4); /* the name, not what it resolves to */

	/* an SRV domain: each of its records' targets has the domain's key */
	struct config_target s1 = srv_target("carrier.example", "sip1.carrier.example:5060");
	struct config_target s2 = srv_target("Carrier.EXAMPLE", "SIP2.carrier.example:5070");
	struct config_target other = srv_target("carrier2.example", "sip1.carrier.example:5060");
	uint32_t srv = cred_route_key("trunk", &s1);
	assert_int_equal(cred_route_key("trunk", &s2), srv);
	assert_int_not_equal(cred_route_key("trunk", &other), srv);
	assert_int_not_equal(cred_route_key("trunk2", &s2), srv);

	/* a DNS refresh that moves a name's address keeps its key */
	struct config_target n = {.by_name = true};
	snprintf(n.text, sizeof(n.text), "Carrier.Example:5060");
	uint32_t k = cred_route_key("trunk", &n);
	test_addr_in((struct sockaddr_in *)&n.addr, "192.0.2.10", 5060);
	n.addr_len = sizeof(struct sockaddr_in);
	assert_int_equal(cred_route_key("trunk", &n), k);
	test_addr_in((struct sockaddr_in *)&n.addr, "198.51.100.7", 5060);
	assert_int_equal(cred_route_key("trunk", &n), k);
	snprintf(n.text, sizeof(n.text), "carrier.example:5060");
	assert_int_equal(cred_route_key("trunk", &n), k);
}

/* An IPv4 target written as IPv4-mapped IPv6 ("[::ffff:127.0.0.1]:5060", with
 * a dual-stack listen) is the IPv4 target it stands for: the same key
 * (cred_route_key), so that a reload that writes it the other way keeps the
 * calls' credentials; and its address in the workers' copy (orig_cred_of_route)
 * is the IPv4 one, as the worker gives the peer it answers from (worker.c
 * takes a dual-stack socket's ::ffff:a.b.c.d as a.b.c.d), so that a call
 * whose key is gone finds its credentials by that target. Before, the mapped
 * spelling had a key of its own and an address no peer had: its calls' key
 * found nothing after such a reload, nor did their peer. */
static void test_route_key_mapped_ipv4(void **state)
{
	(void)state;
	uint32_t v4 = loaded_key("trunk", "127.0.0.1:5060");
	assert_int_equal(loaded_key("trunk", "[::ffff:127.0.0.1]:5060"), v4);
	assert_int_equal(loaded_key("trunk", "[0:0:0:0:0:FFFF:7f00:1]:05060"), v4);
	assert_int_not_equal(loaded_key("trunk", "[::ffff:127.0.0.2]:5060"), v4);
	assert_int_not_equal(loaded_key("trunk", "[::ffff:127.0.0.1]:5061"), v4);
	/* an IPv4-compatible address (::a.b.c.d, deprecated) is no IPv4 one */
	assert_int_not_equal(loaded_key("trunk", "[::127.0.0.1]:5060"), v4);

	static struct config c;
	char err[256];
	assert_int_equal(
	    config_load_string(&c,
			       "{\"listen\": \"[::]:16950\", \"advertise\": \"[::1]\", "
			       "\"routes\": [{\"name\": \"trunk\", \"target\": "
			       "\"[::ffff:127.0.0.1]:5060\", \"auth\": {\"username\": "
			       "\"u\", \"password\": \"p\"}}]}",
			       err, sizeof(err)),
	    0);
	struct orig_cred e;
	orig_cred_of_route(&c.routes[0], &e);
	config_free(&c);
	assert_int_equal(e.ntargets, 1);
	assert_int_equal(e.targets[0].key, v4);
	struct sockaddr_in peer;
	test_addr_in(&peer, "127.0.0.1", 5060);
	const struct config_auth *a = orig_creds_find(&e, 1, 0x6262, &peer, sizeof(peer));
	assert_non_null(a);
	assert_string_equal(a->username, "u");
	assert_ptr_equal(orig_creds_find(&e, 1, v4, &peer, sizeof(peer)), a);
}

/* A reload renamed the call's route: no entry has its key any more. The
 * routes that send to leg B's peer (10.2.2.2:5080) answer for it when they
 * have one set of credentials between them. Before, the call had none left:
 * a carrier that challenged its BYE kept the call up. */
static void test_renamed_route_answers_by_target(void **state)
{
	(void)state;
	/* the route as renamed: another key, the same target and credentials */
	struct orig_cred renamed = at_target(CARRIER, 0x6262, "10.2.2.2", 5080);
	start_b(&BYE, 0, CARRIER_KEY);
	orig_set_creds(&byes, 0, 1, &renamed);
	challenge(407, "carrier.example", "n1");
	assert_int_equal(sent.count, 2);
	assert_answers("Proxy-Authorization", 0, "BYE", "sip:bob@10.2.2.2:5080", "carrier.example",
		       "n1");
	respond(200, "BYE");

	/* the keep-alive's OPTIONS too (orig_start_answering) */
	static const struct relay_req options = {.method = SIP_METHOD_OPTIONS};
	char scratch[ORIG_KEEP_MAX];
	const struct orig_dlg dlg = dlg_b(CARRIER_KEY);
	relay_write_request(&rc, leg(SHARD_LEG_B), &options, "z9hG4bKskx", scratch,
			    sizeof(scratch));
	capture(NULL, scratch, strlen(scratch), (const struct sockaddr *)&leg(SHARD_LEG_B)->peer,
		leg(SHARD_LEG_B)->peer_len);
	parse_challenge(401, "carrier.example", "ka");
	assert_int_equal(orig_start_answering(&byes, &rc, leg(SHARD_LEG_B), &options, &dlg, &m,
					      KA_COOKIE, 2000, scratch, sizeof(scratch), capture,
					      record_done, NULL),
			 0);
	assert_answers("Authorization", 0, "OPTIONS", "sip:bob@10.2.2.2:5080", "carrier.example",
		       "ka");
	respond(200, "OPTIONS");
	assert_int_equal(byes.st.challenges_answered, 2);

	/* a second route to that target with the same credentials, and one
	 * without auth: still answered */
	struct orig_cred twin = renamed,
			 plain = at_target((struct orig_cred){0}, 0x7373, "10.2.2.2", 5080);
	twin.targets[0].key = 0x6363;
	start_b(&BYE, 0, CARRIER_KEY);
	orig_set_creds(&byes, 0, 3, &renamed);
	orig_set_creds(&byes, 1, 3, &plain);
	orig_set_creds(&byes, 2, 3, &twin);
	challenge(401, "carrier.example", "n2");
	assert_int_equal(byes.st.challenges_answered, 3);
	respond(200, "BYE");

	/* routes to that target with other credentials: neither's */
	struct orig_cred other = renamed;
	other.targets[0].key = 0x6464;
	snprintf(other.auth.username, sizeof(other.auth.username), "other-account");
	start_b(&BYE, 0, CARRIER_KEY);
	orig_set_creds(&byes, 0, 2, &renamed);
	orig_set_creds(&byes, 1, 2, &other);
	challenge(401, "carrier.example", "n3");
	assert_int_equal(done.status, 401);
	assert_int_equal(byes.st.challenges_refused[ORIG_AUTH_NO_CREDENTIALS], 1);

	/* the route's target at another port, or the call's key 0 (leg A, a
	 * call without a route): none */
	struct orig_cred elsewhere = at_target(CARRIER, 0x6262, "10.2.2.2", 5081);
	start_b(&BYE, 0, CARRIER_KEY);
	orig_set_creds(&byes, 0, 1, &elsewhere);
	challenge(401, "carrier.example", "n4");
	assert_int_equal(done.status, 401);
	start_b(&BYE, 0, 0);
	orig_set_creds(&byes, 0, 1, &renamed);
	challenge(401, "carrier.example", "n5");
	assert_int_equal(done.status, 401);
	assert_int_equal(byes.st.challenges_refused[ORIG_AUTH_NO_CREDENTIALS], 3);

	/* a route that has the key still wins over the target's */
	struct orig_cred kept = CARRIER;
	snprintf(kept.auth.username, sizeof(kept.auth.username), "kept-account");
	start_b(&BYE, 0, CARRIER_KEY);
	orig_set_creds(&byes, 0, 2, &renamed);
	orig_set_creds(&byes, 1, 2, &kept);
	challenge(401, "carrier.example", "n6");
	char v[1024], user[64];
	assert_true(sent_header("Authorization", 0, v, sizeof(v)));
	test_credential_param(v, "username", user, sizeof(user));
	assert_string_equal(user, "kept-account");
	assert_int_equal(byes.st.challenges_answered, 4);
}

static void test_keepalive_options_answered(void **state)
{
	(void)state;
	static const struct relay_req options = {.method = SIP_METHOD_OPTIONS};
	char scratch[ORIG_KEEP_MAX];
	const struct orig_dlg dlg = dlg_b(CARRIER_KEY);
	orig_set_creds(&byes, 0, 1, &CARRIER);

	/* the keep-alive's OPTIONS, sent outside these transactions */
	relay_write_request(&rc, leg(SHARD_LEG_B), &options, "z9hG4bKskx", scratch,
			    sizeof(scratch));
	uint32_t ka_cseq = leg(SHARD_LEG_B)->local_cseq;
	capture(NULL, scratch, strlen(scratch), (const struct sockaddr *)&leg(SHARD_LEG_B)->peer,
		leg(SHARD_LEG_B)->peer_len);
	parse_challenge(401, "carrier.example", "ka");
	assert_int_equal(orig_start_answering(&byes, &rc, leg(SHARD_LEG_B), &options, &dlg, &m,
					      KA_COOKIE, 2000, scratch, sizeof(scratch), capture,
					      record_done, NULL),
			 0);
	assert_int_equal(sent.count, 2);
	parse_sent();
	assert_int_equal(m.method_id, SIP_METHOD_OPTIONS);
	assert_int_equal(m.cseq.num, ka_cseq + 1);
	assert_true(orig_branch_is_ours(m.buf, m.vias[0].branch));
	assert_answers("Authorization", 0, "OPTIONS", "sip:bob@10.2.2.2:5080", "carrier.example",
		       "ka");
	assert_int_equal(byes.st.challenges_answered, 1);
	/* its own challenge again is final, and comes back with the
	 * keep-alive's cookie: the worker counts it for the round */
	challenge(401, "carrier.example", "ka2");
	assert_int_equal(done.status, 401);
	assert_int_equal(done.cookie, KA_COOKIE);
	assert_int_equal(done.method, SIP_METHOD_OPTIONS);
	assert_true(done.heard);
	assert_int_equal(byes.st.challenges_refused[ORIG_AUTH_REFUSED], 1);

	/* leg A's has no credentials to answer with: nothing written, its
	 * CSeq not taken */
	const struct orig_dlg a = {SLOT, GEN, SHARD_LEG_A, 0};
	uint32_t a_cseq = leg(SHARD_LEG_A)->local_cseq;
	parse_challenge(401, "carrier.example", "ka");
	assert_int_equal(orig_start_answering(&byes, &rc, leg(SHARD_LEG_A), &options, &a, &m,
					      KA_COOKIE, 2000, scratch, sizeof(scratch), capture,
					      record_done, NULL),
			 -EACCES);
	assert_int_equal(byes.st.challenges_refused[ORIG_AUTH_NO_CREDENTIALS], 1);
	assert_int_equal(sent.count, 2);
	assert_int_equal(leg(SHARD_LEG_A)->local_cseq, a_cseq);
	/* nor on leg B of a route without auth */
	const struct orig_dlg none = dlg_b(0);
	uint32_t b_cseq = leg(SHARD_LEG_B)->local_cseq;
	assert_int_equal(orig_start_answering(&byes, &rc, leg(SHARD_LEG_B), &options, &none, &m,
					      KA_COOKIE, 2000, scratch, sizeof(scratch), capture,
					      record_done, NULL),
			 -EACCES);
	assert_int_equal(leg(SHARD_LEG_B)->local_cseq, b_cseq);
	assert_int_equal(sent.count, 2);
}

/* The keep-alive's OPTIONS again with credentials, answered 481: the final
 * comes back with its cookie, heard (the worker ends the call); one nobody
 * answers is given up as 408 not heard (the rounds count silence). */
static void test_keepalive_retry_final_comes_back(void **state)
{
	(void)state;
	static const struct relay_req options = {.method = SIP_METHOD_OPTIONS};
	char scratch[ORIG_KEEP_MAX];
	const struct orig_dlg dlg = dlg_b(CARRIER_KEY);
	orig_set_creds(&byes, 0, 1, &CARRIER);

	relay_write_request(&rc, leg(SHARD_LEG_B), &options, "z9hG4bKskx", scratch,
			    sizeof(scratch));
	capture(NULL, scratch, strlen(scratch), (const struct sockaddr *)&leg(SHARD_LEG_B)->peer,
		leg(SHARD_LEG_B)->peer_len);
	parse_challenge(407, "carrier.example", "ka");
	assert_int_equal(orig_start_answering(&byes, &rc, leg(SHARD_LEG_B), &options, &dlg, &m,
					      KA_COOKIE, 2000, scratch, sizeof(scratch), capture,
					      record_done, NULL),
			 0);
	respond(481, "OPTIONS");
	assert_int_equal(done.count, 1);
	assert_int_equal(done.cookie, KA_COOKIE);
	assert_int_equal(done.method, SIP_METHOD_OPTIONS);
	assert_int_equal(done.status, 481);
	assert_true(done.heard);

	relay_write_request(&rc, leg(SHARD_LEG_B), &options, "z9hG4bKsky", scratch,
			    sizeof(scratch));
	capture(NULL, scratch, strlen(scratch), (const struct sockaddr *)&leg(SHARD_LEG_B)->peer,
		leg(SHARD_LEG_B)->peer_len);
	parse_challenge(407, "carrier.example", "ka");
	assert_int_equal(orig_start_answering(&byes, &rc, leg(SHARD_LEG_B), &options, &dlg, &m,
					      KA_COOKIE + 1, 3000, scratch, sizeof(scratch),
					      capture, record_done, NULL),
			 0);
	for (uint64_t t = 3000; t <= 3000 + 64 * 500 + 100; t += 10)
		orig_tick(&byes, t, capture, record_done, NULL);
	assert_int_equal(done.count, 2);
	assert_int_equal(done.cookie, KA_COOKIE + 1);
	assert_int_equal(done.status, 408);
	assert_false(done.heard);
}

/* The final that ends a request of ours comes to done with its status: the
 * worker takes a REFER's 2xx Contact as the leg's new remote target (RFC
 * 3261 12.2.1.2), which it could not while done had the status alone (the
 * leg kept sending to where the side no longer was). */
static void test_final_comes_to_done_with_its_contact(void **state)
{
	(void)state;
	static const struct relay_req refer = {.method = SIP_METHOD_REFER,
					       .extra = "Refer-To: <sip:desk@example.net>\r\n"};
	static char resp[1024];
	char scratch[ORIG_MAX], branch[64];

	assert_int_equal(orig_start(&byes, &rc, leg(SHARD_LEG_A), &refer, NULL, 7, 1000, scratch,
				    sizeof(scratch), capture, record_done, NULL),
			 0);
	parse_sent();
	snprintf(branch, sizeof(branch), "%.*s", (int)m.vias[0].branch.len,
		 m.buf + m.vias[0].branch.off);
	int n = snprintf(resp, sizeof(resp),
			 "SIP/2.0 202 Accepted\r\n"
			 "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=%s\r\n"
			 "From: <sip:x@y>;tag=1\r\nTo: <sip:x@y>;tag=2\r\nCall-ID: c\r\n"
			 "CSeq: %u REFER\r\n"
			 "Contact: <sip:moved@10.9.9.9:5070>\r\n"
			 "Content-Length: 0\r\n\r\n",
			 branch, (unsigned)m.cseq.num);
	assert_int_equal(sip_parse(&m, resp, (size_t)n, NULL), 0);
	orig_on_response(&byes, &m, 1100, &(struct orig_io){capture, record_done, NULL, NULL});
	assert_int_equal(done.count, 1);
	assert_int_equal(done.status, 202);
	assert_int_equal(done.method, SIP_METHOD_REFER);
	assert_int_equal(done.cookie, 7);
	assert_true(done.heard);
	assert_string_equal(done.contact, "sip:moved@10.9.9.9:5070");

	/* one given up (Timer F) comes with none */
	start(SHARD_LEG_A, 2000);
	for (uint64_t t = 2000; t <= 2000 + 64 * 500 + 100; t += 100)
		orig_tick(&byes, t, capture, record_done, NULL);
	assert_int_equal(done.count, 2);
	assert_int_equal(done.status, 408);
	assert_false(done.heard);
	assert_string_equal(done.contact, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_each_leg_gets_its_own_bye, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refer_names_target_and_contact, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_info_carries_its_body, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_retransmits_until_final, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_request_stops_when_its_dialog_ends, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_provisional_slows_to_t2, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gives_up_after_timer_f, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_responses_that_match_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_oldest_gives_its_slot_up_when_full, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_free_slots_are_taken_before_a_busy_one, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_largest_body_is_retransmitted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_too_long_for_the_buffer_is_not_sent, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_challenged_bye_goes_again_with_credentials, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_retry_branch_not_in_request_uri, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_retry_branch_not_in_short_request_uri_param, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_second_challenge_of_a_kind_is_final, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_proxy_then_server_both_answered, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_retry_takes_the_legs_next_cseq, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_challenges_not_answered, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_keepalive_options_answered, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_keepalive_retry_final_comes_back, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_final_comes_to_done_with_its_contact, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_shared_key_gives_no_credentials, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_renamed_route_answers_by_target, setup, teardown),
	    cmocka_unit_test(test_twin_routes_realms_in_another_order),
	    cmocka_unit_test_setup_teardown(test_changed_route_answers_only_at_its_targets, setup,
					    teardown),
	    cmocka_unit_test(test_route_key_names_route_and_target),
	    cmocka_unit_test(test_route_key_any_spelling),
	    cmocka_unit_test(test_route_key_mapped_ipv4),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
