/*
 * test_relay.c - the in-dialog fast path on a real shard table: requests cross
 * to the other leg rewritten into its space, responses find their way back,
 * every bad input gets its defined answer, and the NOTIFYs about a REFER of
 * sipshard's own (the operator's transfer) are answered, not relayed; the
 * responses to a request carry received and rport in its top Via; the
 * fields strip_headers names cross neither way; with rewrite_refer_to a
 * relayed REFER's Refer-To names our address.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../common/relay_dialog.h"
#include "daemon/relay.h"

static struct shard_table table;
static struct relay_ctx rc;
static struct sip_msg m, out_m;
static char out[SIP_MAX_DATAGRAM], in[4096], resp_in[4096];
static char a_tag[SHARD_TAG_MAX], b_tag[SHARD_TAG_MAX];
static const uint32_t SLOT = 7, GEN = 3;

static int setup(void **state)
{
	(void)state;
	assert_int_equal(relay_dialog_fixture(&table, &rc, a_tag, b_tag, SLOT, GEN), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	shard_table_close(&table);
	return 0;
}

/* An in-dialog request from leg A (caller), with extra header lines. */
static size_t req_from_a_with(const char *method, unsigned cseq, const char *to_tag, int mf,
			      const char *extra)
{
	int n = snprintf(in, sizeof(in),
			 "%s sip:bob@127.0.0.1:5060 SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 10.1.1.1:5061;branch=z9hG4bKa%u\r\n"
			 "From: <sip:alice@10.1.1.1>;tag=atag\r\n"
			 "To: <sip:bob@sbc>;tag=%s\r\n"
			 "Call-ID: callA@host\r\n"
			 "CSeq: %u %s\r\n"
			 "Max-Forwards: %d\r\n"
			 "Contact: <sip:alice@10.1.1.1:5061>\r\n"
			 "%s"
			 "Content-Length: 5\r\n\r\nhello",
			 method, cseq, to_tag, cseq, method, mf, extra);
	assert_int_equal(sip_parse(&m, in, (size_t)n, NULL), 0);
	return (size_t)n;
}

static size_t req_from_a(const char *method, unsigned cseq, const char *to_tag, int mf)
{
	return req_from_a_with(method, cseq, to_tag, mf, "");
}

static void parse_out(int len)
{
	char why[200];
	if (sip_parse(&out_m, out, (size_t)len, NULL) != 0) {
		sip_strerror(&out_m, why, sizeof(why));
		fail_msg("relayed message does not parse: %s\n%.*s", why, len, out);
	}
}

/* res is a drop counted under why. */
static void assert_dropped(struct relay_result res, enum relay_drop why)
{
	assert_int_equal(res.outcome, RELAY_DROP);
	assert_int_equal(res.drop, why);
}

static void test_request_crosses_to_leg_b(void **state)
{
	struct relay_result res;
	(void)state;

	req_from_a("INFO", 2, a_tag, 70);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);
	parse_out(res.len);
	assert_true(sip_view_eq(out, out_m.ruri.whole, "sip:bob@10.2.2.2:5080", 21));
	assert_true(sip_view_eq(out, out_m.call_id, "callB@sipshard", 14));
	assert_true(sip_view_eq(out, out_m.from.tag, b_tag, strlen(b_tag)));
	assert_true(sip_view_eq(out, out_m.to.tag, "btag", 4));
	assert_int_equal(out_m.cseq.num, 2); /* leg B's own space: INVITE was 1 */
	assert_int_equal(out_m.max_forwards, 69);
	assert_int_equal(out_m.nvias, 1);
	assert_int_equal(out_m.nroutes, 1);
	assert_int_equal(out_m.body.len, 5);
	assert_null(memmem(out, (size_t)res.len, "10.1.1.1", 8)); /* topology hidden */
	assert_null(memmem(out, (size_t)res.len, "callA", 5));
	const struct sockaddr_in *dst = (const struct sockaddr_in *)res.dst;
	assert_int_equal(ntohs(dst->sin_port), 5080);

	/* the same request again (a retransmission) goes out byte-identical */
	char first[4096];
	int first_len = res.len;
	memcpy(first, out, (size_t)first_len);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_int_equal(res.len, first_len);
	assert_memory_equal(out, first, (size_t)first_len);

	/* the callee's 200 goes back to leg A with A's Via, tags, Call-ID and CSeq */
	char resp[2048];
	int n = snprintf(resp, sizeof(resp),
			 "SIP/2.0 200 OK\r\n"
			 "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=%.*s;rport\r\n"
			 "From: <sip:alice@127.0.0.1:5060>;tag=%s\r\n"
			 "To: <sip:bob@10.2.2.2>;tag=btag\r\n"
			 "Call-ID: callB@sipshard\r\n"
			 "CSeq: 2 INFO\r\n"
			 "Content-Length: 0\r\n\r\n",
			 (int)out_m.vias[0].branch.len, out + out_m.vias[0].branch.off, b_tag);
	assert_int_equal(sip_parse(&m, resp, (size_t)n, NULL), 0);
	relay_response(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);
	parse_out(res.len);
	assert_int_equal(out_m.status, 200);
	assert_true(sip_view_eq(out, out_m.vias[0].branch, "z9hG4bKa2", 9));
	assert_true(sip_view_eq(out, out_m.call_id, "callA@host", 10));
	assert_int_equal(out_m.cseq.num, 2);
	assert_true(sip_view_eq(out, out_m.to.tag, a_tag, strlen(a_tag)));
	assert_int_equal(ntohs(((const struct sockaddr_in *)res.dst)->sin_port), 5061);

	/* the final again (the callee's answer to the request's retransmission,
	 * the first one lost) goes back the same way: the record stays until
	 * it expires */
	relay_response(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);
	/* and after that, it is stale: counted drop */
	while (shard_txn_expire(&table, UINT64_MAX, 0) == 0)
		;
	relay_response(&rc, &m, out, sizeof(out), &res);
	assert_dropped(res, RELAY_DROP_RESP_STALE);
}

static void test_bad_requests_get_defined_answers(void **state)
{
	struct relay_result res;
	char forged[SHARD_TAG_MAX];
	(void)state;

	/* lower CSeq than the last one: 500 */
	req_from_a("INFO", 5, a_tag, 70);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);
	req_from_a("INFO", 4, a_tag, 70);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 500);

	/* a tag of another generation, a garbage tag: 481 */
	shard_tag_encode(forged, sizeof(forged), 0, SLOT, GEN + 1, 0x1111);
	req_from_a("INFO", 9, forged, 70);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.status, 481);
	req_from_a("INFO", 9, "notours", 70);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.status, 481);
	parse_out(res.len);
	assert_int_equal(out_m.status, 481);

	/* Max-Forwards 0: 483 (RFC 3261 16.3 item 3); 1 is relayed with 0 (16.6
	 * item 3), not refused because the copy would carry 0 */
	req_from_a("INFO", 10, a_tag, 0);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 483);
	req_from_a("INFO", 10, a_tag, 1);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);
	parse_out(res.len);
	assert_int_equal(out_m.max_forwards, 0);

	/* Found by fuzz_relay: an ACK with Max-Forwards 0 went out with
	 * "Max-Forwards: -1", which nothing parses. It is dropped and counted;
	 * at 1 it goes out with 0. */
	req_from_a("ACK", 1, a_tag, 0);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_dropped(res, RELAY_DROP_ACK_MAX_FORWARDS);
	req_from_a("ACK", 1, a_tag, 1);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);
	parse_out(res.len);
	assert_int_equal(out_m.max_forwards, 0);

	/* an ACK for no dialog goes to the controller (it may own it) */
	req_from_a("ACK", 1, "notours", 70);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_TO_CONTROLLER);
}

/* A BYE too large for the output buffer once written for the other leg (a
 * chain of proxies' Vias, a small tx_buffer_size) ends the call all the
 * same: answered 200 here, and the worker sends the other leg a BYE of its
 * own (bye_other_leg), as for a BYE whose lines fit no record. It was
 * answered 513, which its sender takes as the call's end (RFC 3261 15.1.1),
 * while the other side stayed in the call until the idle timer. */
static void test_bye_too_large_ends_the_call_on_both_sides(void **state)
{
	struct relay_result res;
	(void)state;

	req_from_a("BYE", 2, a_tag, 70);
	relay_request(&rc, &m, out, 300, &res);
	print_message("BYE too large to relay: outcome %d status %d\n", res.outcome, res.status);
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 200);
	assert_true(res.dialog_ended && res.bye_other_leg);
	assert_int_equal(res.ended_by_leg, SHARD_LEG_A);
	assert_int_equal(res.ended_slot, SLOT);
}

/* A request too large for the output buffer is answered 513 and keeps no
 * transaction record: nothing can answer a request that was never sent. */
static void test_too_large_keeps_no_transaction(void **state)
{
	struct relay_result res;
	struct shard_table_usage u;
	(void)state;

	req_from_a("INFO", 2, a_tag, 70);
	relay_request(&rc, &m, out, 300, &res);
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 513);
	shard_table_usage(&table, &u);
	assert_int_equal(u.txns_used, 0);

	/* the retransmission finds no record to resend through: a counted drop */
	relay_request(&rc, &m, out, 300, &res);
	assert_dropped(res, RELAY_DROP_LATE_RETRANS);

	/* the next request, with room, goes out */
	req_from_a("INFO", 3, a_tag, 70);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);
	shard_table_usage(&table, &u);
	assert_int_equal(u.txns_used, 1);
}

/* Seven Via lines as a chain of proxies adds them (0.9 KB), into vias. */
static void proxy_vias(char *vias, size_t cap)
{
	vias[0] = '\0';
	for (int i = 0; i < 7; i++) {
		char line[160];
		snprintf(line, sizeof(line),
			 "Via: SIP/2.0/UDP 10.1.1.%d:5060;branch=z9hG4bK3a5d.7c8e5f1d0e6f9e2a"
			 "3b4c5d6e7f8a9b%02d.0;i=1a2b3c;received=203.0.113.5;rport=5060\r\n",
			 10 + i, i);
		assert_true(strlen(vias) + strlen(line) < cap);
		strcat(vias, line);
	}
}

/* A BYE through the chain of proxies the call came through (seven Vias,
 * 1.2 KB of Via, From, To, Call-ID and CSeq lines) does not fit the
 * transaction record its response would be written from, and when every
 * slot of the long-head pool is taken it finds no room either. It was
 * answered 513, which the caller takes as the call's end (RFC 3261 15.1.1),
 * and the callee stayed up until the idle timer. It is answered 200 here and
 * ends the dialog; the worker sends the callee a BYE of its own
 * (bye_other_leg). Its retransmission gets the same 200 from ended[]. An
 * INFO through the same chain then gets 513; both are counted
 * (long_head_full). */
static void test_bye_through_proxies_ends_the_call(void **state)
{
	struct relay_result res;
	char vias[1200];
	(void)state;

	proxy_vias(vias, sizeof(vias));
	/* requests whose answers have not come yet take every slot */
	for (unsigned i = 0; i < RELAY_DIALOG_HEADS; i++) {
		req_from_a_with("INFO", 2 + i, a_tag, 70, vias);
		relay_request(&rc, &m, out, sizeof(out), &res);
		assert_int_equal(res.outcome, RELAY_SEND);
	}
	size_t n = req_from_a_with("INFO", 2 + RELAY_DIALOG_HEADS, a_tag, 70, vias);
	assert_true(n < 1300);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 513);
	assert_false(res.dialog_ended);
	assert_int_equal(rc.long_head_full, 1);

	req_from_a_with("BYE", 3 + RELAY_DIALOG_HEADS, a_tag, 70, vias);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 200);
	assert_true(res.dialog_ended && res.bye_other_leg);
	assert_int_equal(res.ended_by_leg, SHARD_LEG_A);
	assert_int_equal(res.ended_slot, SLOT);
	assert_int_equal(res.ended_gen, GEN);
	parse_out(res.len);
	assert_int_equal(out_m.status, 200);
	assert_int_equal(out_m.nvias, 8); /* every Via of the BYE, as sent */
	assert_int_equal(rc.long_head_full, 2);
	/* the worker frees the dialog; the BYE again gets its 200 */
	shard_dialog_free(&table, SLOT);
	req_from_a_with("BYE", 3 + RELAY_DIALOG_HEADS, a_tag, 70, vias);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 200);
	assert_false(res.dialog_ended);
}

/* The callee's answer to the request just relayed to it (its branch and CSeq
 * read from out_m), with extra header lines, parsed into m. */
static void resp_from_b(int status, const char *method, const char *extra)
{
	static char resp[2048];
	int n = snprintf(resp, sizeof(resp),
			 "SIP/2.0 %d Whatever\r\n"
			 "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=%.*s\r\n"
			 "From: <sip:alice@127.0.0.1:5060>;tag=%s\r\n"
			 "To: <sip:bob@10.2.2.2>;tag=btag\r\n"
			 "Call-ID: callB@sipshard\r\n"
			 "CSeq: %u %s\r\n"
			 "%s"
			 "Content-Length: 0\r\n\r\n",
			 status, (int)out_m.vias[0].branch.len, out + out_m.vias[0].branch.off,
			 b_tag, out_m.cseq.num, method, extra);
	assert_int_equal(sip_parse(&m, resp, (size_t)n, NULL), 0);
}

/* A request from the caller (with extra header lines) relayed, then the
 * callee's answer to it (with its own) relayed back; the result of the
 * answer. */
static struct relay_result exchange_with(const char *method, unsigned cseq, const char *req_extra,
					 int status, const char *extra)
{
	struct relay_result res;

	req_from_a_with(method, cseq, a_tag, 70, req_extra);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);
	parse_out(res.len);
	resp_from_b(status, method, extra);
	relay_response(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);
	return res;
}

static struct relay_result exchange(const char *method, unsigned cseq, int status,
				    const char *extra)
{
	return exchange_with(method, cseq, "", status, extra);
}

/* Copies src to dst with the first "from" replaced by "to"; its length. */
static size_t edited(const char *src, const char *from, const char *to, char *dst, size_t cap)
{
	const char *at = strstr(src, from);
	assert_non_null(at);
	int n = snprintf(dst, cap, "%.*s%s%s", (int)(at - src), src, to, at + strlen(from));
	assert_true(n > 0 && (size_t)n < cap);
	return (size_t)n;
}

/* Requests through a chain of proxies (seven Vias over the caller's, 1.1 KB
 * of Via, From, To, Call-ID and CSeq lines: more than a transaction record
 * holds) cross to the callee, and its answers come back
 * with every Via of the request byte for byte, in order: a session refresh
 * (re-INVITE, UPDATE) answered 513 instead dropped the call at its
 * Session-Expires. The line is kept in a slot of the long-head pool until
 * the record goes. */
static void test_long_head_crosses_back(void **state)
{
	struct relay_result res;
	struct shard_table_usage u;
	char vias[1200], sent[1400];
	(void)state;

	proxy_vias(vias, sizeof(vias));
	const char *methods[] = {"INVITE", "INFO"};
	for (unsigned k = 0; k < 2; k++) {
		req_from_a_with(methods[k], 2 + k, a_tag, 70, vias);
		/* the Via lines the caller sent, in their order */
		const char *first = strstr(in, "Via: ");
		const char *after = strstr(first, "\r\n") + 2;
		snprintf(sent, sizeof(sent), "%.*s%s", (int)(after - first), first, vias);
		assert_true(strlen(sent) > 900);
		relay_request(&rc, &m, out, sizeof(out), &res);
		assert_int_equal(res.outcome, RELAY_SEND);
		parse_out(res.len);
		assert_int_equal(out_m.nvias, 1); /* only ours goes to the callee */
		assert_int_equal(out_m.method_id, m.method_id);
		shard_table_usage(&table, &u);
		assert_int_equal(u.heads_used, k + 1);
		/* the callee's 200, then the same 200 again (a retransmission) */
		resp_from_b(200, methods[k], "");
		for (int again = 0; again < 2; again++) {
			relay_response(&rc, &m, out, sizeof(out), &res);
			assert_int_equal(res.outcome, RELAY_SEND);
			assert_ptr_equal(
			    res.dst,
			    (const struct sockaddr *)&table.dialogs[SLOT].legs[SHARD_LEG_A].peer);
			char *back = memmem(out, (size_t)res.len, "Via: ", 5);
			assert_non_null(back);
			assert_memory_equal(back, sent, strlen(sent));
			struct sip_msg back_m;
			assert_int_equal(sip_parse(&back_m, out, (size_t)res.len, NULL), 0);
			assert_int_equal(back_m.nvias, 8);
			assert_int_equal(back_m.status, 200);
			assert_int_equal(back_m.cseq.num, 2 + k);
		}
		if (k == 0) { /* the ACK of the re-INVITE's 2xx */
			req_from_a("ACK", 2, a_tag, 70);
			relay_request(&rc, &m, out, sizeof(out), &res);
			assert_int_equal(res.outcome, RELAY_SEND);
		}
	}
	assert_int_equal(rc.long_head_full, 0);
	/* the answered records keep their slots for retransmissions, and give
	 * them back when they expire */
	shard_table_usage(&table, &u);
	assert_int_equal(u.heads_used, 2);
	while (shard_txn_expire(&table, 1000000, 32000) == 0)
		;
	shard_table_usage(&table, &u);
	assert_int_equal(u.heads_used, 0);
}

/* The answer to an OPTIONS of the keep-alive (timers.dialog_keepalive_s)
 * leads to its dialog and leg by the branch, and only when it is a response
 * whose CSeq and Call-ID are that leg's and the token is this shard's. */
static void test_keepalive_answer_matches(void **state)
{
	static char req[2048], resp[2048], bad[2048];
	static const struct relay_req options = {.method = SIP_METHOD_OPTIONS};
	char branch[SHARD_KEEPALIVE_MAX], line[64];
	struct shard_dialog *d = shard_dialog_get(&table, SLOT, GEN);
	struct sip_session *b = &d->legs[SHARD_LEG_B];
	int leg = -1;
	(void)state;

	/* the OPTIONS as the worker writes it, and the callee's answer to it */
	uint32_t cseq = b->local_cseq + 1;
	shard_keepalive_encode(branch, sizeof(branch), 0, SLOT, GEN, SHARD_LEG_B, cseq);
	int n = relay_write_request(&rc, b, &options, branch, req, sizeof(req));
	assert_true(n > 0);
	assert_int_equal(sip_parse(&m, req, (size_t)n, NULL), 0);
	assert_int_equal(m.cseq.num, cseq);
	assert_null(shard_keepalive_match(&table, 0, &m, &leg)); /* a request */
	int r = sip_respond(&m, 200, NULL, NULL, NULL, resp, sizeof(resp));
	assert_true(r > 0);
	resp[r] = '\0';
	assert_int_equal(sip_parse(&out_m, resp, (size_t)r, NULL), 0);
	assert_ptr_equal(shard_keepalive_match(&table, 0, &out_m, &leg), d);
	assert_int_equal(leg, SHARD_LEG_B);
	assert_null(shard_keepalive_match(&table, 1, &out_m, &leg)); /* another shard's */

	/* another request's number, another method, the other leg's Call-ID */
	snprintf(line, sizeof(line), "CSeq: %u OPTIONS", cseq);
	char other[64];
	snprintf(other, sizeof(other), "CSeq: %u OPTIONS", cseq + 1);
	size_t k = edited(resp, line, other, bad, sizeof(bad));
	assert_int_equal(sip_parse(&out_m, bad, k, NULL), 0);
	assert_null(shard_keepalive_match(&table, 0, &out_m, &leg));
	snprintf(other, sizeof(other), "CSeq: %u INFO", cseq);
	k = edited(resp, line, other, bad, sizeof(bad));
	assert_int_equal(sip_parse(&out_m, bad, k, NULL), 0);
	assert_null(shard_keepalive_match(&table, 0, &out_m, &leg));
	k = edited(resp, "Call-ID: callB@sipshard", "Call-ID: callA@host", bad, sizeof(bad));
	assert_int_equal(sip_parse(&out_m, bad, k, NULL), 0);
	assert_null(shard_keepalive_match(&table, 0, &out_m, &leg));
	/* the same answer with leg A's token: leg A's Call-ID is not this one */
	char branch_a[SHARD_KEEPALIVE_MAX];
	shard_keepalive_encode(branch_a, sizeof(branch_a), 0, SLOT, GEN, SHARD_LEG_A, cseq);
	k = edited(resp, branch, branch_a, bad, sizeof(bad));
	assert_int_equal(sip_parse(&out_m, bad, k, NULL), 0);
	assert_null(shard_keepalive_match(&table, 0, &out_m, &leg));
	/* a token one digit off */
	snprintf(bad, sizeof(bad), "%s", resp);
	char *digit = strstr(bad, branch) + SHARD_KEEPALIVE_LEN - 1;
	*digit = *digit == '0' ? '1' : '0';
	assert_int_equal(sip_parse(&out_m, bad, (size_t)r, NULL), 0);
	assert_null(shard_keepalive_match(&table, 0, &out_m, &leg));
	/* an early dialog has no keep-alive; a freed one answers nothing */
	assert_int_equal(sip_parse(&out_m, resp, (size_t)r, NULL), 0);
	d->state = SHARD_DLG_EARLY;
	assert_null(shard_keepalive_match(&table, 0, &out_m, &leg));
	d->state = SHARD_DLG_CONFIRMED;
	shard_dialog_free(&table, SLOT);
	assert_null(shard_keepalive_match(&table, 0, &out_m, &leg));
}

/* The caller sends again, under our tag `tag`, the BYE (CSeq 20) that ended
 * its dialog, the 200 lost: it gets the same 200, not 481, once (the first
 * replay of the test); anything else under that tag is for no dialog, 481,
 * a new BYE (another CSeq) too: it was given the old 200 (RFC 3261 15.1.2). */
static void assert_bye_replayed(const char *tag)
{
	struct relay_result res;
	req_from_a("BYE", 20, tag, 70);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 200);
	parse_out(res.len);
	assert_true(sip_view_eq(out, out_m.to.tag, tag, strlen(tag)));
	assert_int_equal(rc.bye_replayed, 1);
	req_from_a("INFO", 21, tag, 70);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.status, 481);
	req_from_a("BYE", 22, tag, 70);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.status, 481);
}

static void test_bye_ends_dialog_after_final(void **state)
{
	struct relay_result res;
	(void)state;

	res = exchange("BYE", 20, 200, "");
	assert_true(res.dialog_ended);
	assert_int_equal(res.ended_slot, SLOT);
	assert_int_equal(res.ended_gen, GEN);
	shard_dialog_free(&table, SLOT); /* as the worker does */

	/* the caller never got the 200 and sends the BYE again: the same 200,
	 * not 481, for as long as the BYE's server transaction would last */
	assert_bye_replayed(a_tag);
	/* the same BYE once that time has passed: 481 */
	rc.now_ms += RELAY_ENDED_LINGER_MS + 1;
	req_from_a("BYE", 20, a_tag, 70);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.status, 481);
	assert_int_equal(rc.bye_replayed, 1);
}

/* A BYE that ended the call's early dialog while another fork rang in one
 * of its own leaves the slot kept, its first fork's tags emptied
 * (shard_dialog_retire_first_fork, worker.c keep_for_forks): the BYE sent
 * again still gets its 200, where it got 481 (the replay was only for a
 * freed slot). */
static void test_bye_replayed_into_kept_slot(void **state)
{
	struct relay_result res;
	(void)state;

	res = exchange("BYE", 20, 200, "");
	assert_true(res.dialog_ended);
	shard_dialog_retire_first_fork(shard_dialog_get(&table, SLOT, GEN));

	req_from_a("BYE", 20, a_tag, 70);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 200);
	assert_int_equal(rc.bye_replayed, 1);
	/* another request under the emptied tag: 481 */
	req_from_a("INFO", 21, a_tag, 70);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 481);
}

/* A request from the callee side into the call's slot, its From line from
 * (with or without a tag): the call's Call-ID and our tag toward the
 * callee as its To tag. */
static void req_from_b_side(const char *method, unsigned cseq, const char *from)
{
	int n = snprintf(in, sizeof(in),
			 "%s sip:alice@127.0.0.1:5060 SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 10.2.2.2:5080;branch=z9hG4bKb%u\r\n"
			 "From: %s\r\n"
			 "To: <sip:alice@127.0.0.1:5060>;tag=%s\r\n"
			 "Call-ID: callB@sipshard\r\n"
			 "CSeq: %u %s\r\n"
			 "Max-Forwards: 70\r\n"
			 "Content-Length: 0\r\n\r\n",
			 method, cseq, from, b_tag, cseq, method);
	assert_int_equal(sip_parse(&m, in, (size_t)n, NULL), 0);
}

/* The slot kept for the other forks once the caller ended the first fork's
 * early dialog (shard_dialog_retire_first_fork) holds leg B with no remote
 * tag: a request from the callee side with no From tag (RFC 3261 8.1.1.3
 * wants one; every byte is hostile) matched that empty tag and was relayed
 * to the caller, under an empty From tag, in the early dialog it had ended.
 * Nothing of the first fork is relayed there: 481, as with its tag. */
static void test_kept_slot_relays_no_tagless_request(void **state)
{
	struct relay_result res;
	(void)state;

	res = exchange("BYE", 20, 200, "");
	assert_true(res.dialog_ended);
	struct shard_dialog *d = shard_dialog_get(&table, SLOT, GEN);
	d->state = SHARD_DLG_EARLY;
	shard_dialog_retire_first_fork(d);

	req_from_b_side("INFO", 7, "<sip:bob@10.2.2.2>;tag=btag");
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 481);
	req_from_b_side("INFO", 8, "<sip:bob@10.2.2.2>");
	relay_request(&rc, &m, out, sizeof(out), &res);
	if (res.outcome == RELAY_SEND)
		fail_msg("a request with no From tag relayed to the caller from the kept slot");
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 481);
}

/* A fork's early dialog (another fork of leg B than the first, controller_forks.c)
 * in a slot of its own, fork/fork_gen, of the call in SLOT (made early), its
 * leg B's remote tag "btag2"; its leg A tag (high: the bits above the
 * fork's slot in its salt, the controller's fork_tag_bits), the one the
 * caller's requests in it carry, goes into tag (SHARD_TAG_MAX bytes). */
static void install_fork(uint32_t fork, uint32_t fork_gen, uint32_t high, char *tag)
{
	shard_dialog_get(&table, SLOT, GEN)->state = SHARD_DLG_EARLY;
	assert_int_equal(relay_dialog_install_fork(&table, SLOT, GEN, fork, fork_gen, high, tag,
						   b_tag, "btag2", rc.now_ms),
			 0);
	assert_non_null(shard_dialog_of_fork_tag(&table, tag, strlen(tag)));
}

/* The caller's BYE (CSeq 20) in the fork's early dialog under tag, in slot
 * fork/fork_gen, relayed and answered status there: that early dialog ends
 * and the worker frees its slot. */
static void fork_ended_by_bye_with(const char *tag, uint32_t fork, uint32_t fork_gen, int status)
{
	struct relay_result res;
	req_from_a("BYE", 20, tag, 70);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);
	parse_out(res.len);
	resp_from_b(status, "BYE", "");
	relay_response(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_true(res.dialog_ended);
	assert_int_equal(res.ended_slot, fork);
	assert_int_equal(res.ended_gen, fork_gen);
	shard_dialog_free(&table, fork); /* as the worker does */
}

/* The same, answered 200. */
static void fork_ended_by_bye(const char *tag, uint32_t fork, uint32_t fork_gen)
{
	fork_ended_by_bye_with(tag, fork, fork_gen, 200);
}

/* The caller's BYE (CSeq cseq) under tag sent again: answered status from
 * what ended[] keeps (a replay, counted). */
static void assert_bye_replayed_as(const char *tag, unsigned cseq, int status)
{
	struct relay_result res;
	uint64_t replayed = rc.bye_replayed;
	req_from_a("BYE", cseq, tag, 70);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, status);
	assert_int_equal(rc.bye_replayed, replayed + 1);
	parse_out(res.len);
	assert_true(sip_view_eq(out, out_m.to.tag, tag, strlen(tag)));
}

/* The caller's BYE in a fork's early dialog, answered 200 by that fork,
 * ends that early dialog (the worker frees its slot): the BYE sent again
 * (the 200 lost) gets that 200 again, as in any dialog a BYE ended (RFC
 * 3261 17.2.2), not 481. Its To tag names the call's slot, where nothing
 * ended, and in its salt the fork's: ended[] keeps the final by the BYE's
 * tags, whatever either slot holds. */
static void test_bye_replayed_in_ended_fork(void **state)
{
	struct relay_result res;
	char fork_tag[SHARD_TAG_MAX];
	const uint32_t FORK = 12, FORK_GEN = 5;
	(void)state;

	install_fork(FORK, FORK_GEN, 0x5a000000u, fork_tag);
	fork_ended_by_bye(fork_tag, FORK, FORK_GEN);
	assert_bye_replayed(fork_tag);
	/* the call's own early dialog is not the fork's: its BYE with that
	 * CSeq is relayed */
	req_from_a("BYE", 20, a_tag, 70);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);

	/* the fork's slot given to another dialog, ended since without a
	 * BYE: what ended[] keeps of the fork's BYE still answers it, and
	 * nothing else under that tag */
	char other[SHARD_TAG_MAX];
	install_fork(FORK, FORK_GEN + 1, 0x3c000000u, other);
	shard_dialog_free(&table, FORK);
	assert_bye_replayed_as(fork_tag, 20, 200);
	req_from_a("BYE", 20, other, 70);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.status, 481);
	req_from_a("BYE", 21, fork_tag, 70);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.status, 481);
	assert_int_equal(rc.bye_replayed, 2);
}

/* The caller ended the call's own early dialog (the first fork's) with a
 * BYE its callee answered 481 (the slot kept for the other fork: retired),
 * then the other fork's early dialog with a BYE of the same CSeq (each
 * early dialog counts its own CSeqs from the INVITE's, RFC 3261 12.2.1.1),
 * which that fork answered 200. That BYE sent again (the 200 lost) is the
 * fork's: it gets the fork's 200, not the first fork's 481 that ended[]
 * keeps for the first fork's BYE (the call's slot, which the fork's tag
 * names too). */
static void test_bye_replayed_in_ended_fork_not_the_first_forks(void **state)
{
	struct relay_result res;
	char fork_tag[SHARD_TAG_MAX];
	const uint32_t FORK = 12, FORK_GEN = 5;
	(void)state;

	install_fork(FORK, FORK_GEN, 0x5a000000u, fork_tag);
	res = exchange("BYE", 20, 481, "");
	assert_true(res.dialog_ended);
	assert_int_equal(res.ended_slot, SLOT);
	shard_dialog_retire_first_fork(shard_dialog_get(&table, SLOT, GEN));

	fork_ended_by_bye(fork_tag, FORK, FORK_GEN);

	req_from_a("BYE", 20, fork_tag, 70);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 200);
	/* the first fork's BYE sent again still gets its own 481 */
	req_from_a("BYE", 20, a_tag, 70);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 481);
	assert_int_equal(rc.bye_replayed, 2);
}

/*
 * The caller ended the call's own early dialog (the first fork's) and then
 * the other fork's, each with a BYE of CSeq 20, which each callee answered
 * with a final of its own; then the fork's slot was given to another
 * dialog. That fork's BYE sent again is that fork's still: it gets its own
 * final, which ended[] keeps by the fork's tag (RFC 3261 17.2.2), not the
 * first fork's of the call's slot, which the fork's tag names too (the
 * fork's tag no longer led to its slot, and the call's record answered
 * it: the first fork's 200 for a BYE its fork had refused 481).
 */
static void test_bye_replayed_in_ended_fork_whose_slot_was_given_out(void **state)
{
	char fork_tag[SHARD_TAG_MAX], other[SHARD_TAG_MAX];
	const uint32_t FORK = 12, FORK_GEN = 5;
	static const int finals[2][2] = {{200, 481}, {481, 200}}; /* first fork's, fork's */

	for (unsigned i = 0; i < 2; i++) {
		if (i) {
			teardown(state);
			setup(state);
		}
		install_fork(FORK, FORK_GEN, 0x5a000000u, fork_tag);
		struct relay_result res = exchange("BYE", 20, finals[i][0], "");
		assert_true(res.dialog_ended);
		assert_int_equal(res.ended_slot, SLOT);
		shard_dialog_retire_first_fork(shard_dialog_get(&table, SLOT, GEN));
		fork_ended_by_bye_with(fork_tag, FORK, FORK_GEN, finals[i][1]);
		install_fork(FORK, FORK_GEN + 1, 0x3c000000u, other);

		assert_bye_replayed_as(fork_tag, 20, finals[i][1]);
		assert_bye_replayed_as(a_tag, 20, finals[i][0]);
		/* the dialog now in the fork's slot ended by a BYE of its own
		 * (the same CSeq): each BYE keeps its own final (ended[] by
		 * tag, not slot); before, that end took the fork's entry over
		 * and the fork's BYE got 481 */
		fork_ended_by_bye_with(other, FORK, FORK_GEN + 1, 200);
		assert_bye_replayed_as(fork_tag, 20, finals[i][1]);
		assert_bye_replayed_as(other, 20, 200);
		assert_bye_replayed_as(a_tag, 20, finals[i][0]);
	}
}

/*
 * A fork other than the first answered the call: the call's slot holds the
 * confirmed dialog under that fork's tag (shard_dialog_install_packed takes
 * the fork's early dialog), and the fork's own slot is released. The
 * caller's BYE under that tag ends the call; sent again (the 200 lost), it
 * gets that 200 again, as in any dialog a BYE ended (RFC 3261 17.2.2),
 * whether the fork's old slot is still free or given to another dialog
 * since: before, while it was free, the tag led to the fork's early dialog,
 * which no BYE had ended, and the caller got 481.
 */
static void test_bye_replayed_in_call_a_fork_answered(void **state)
{
	struct relay_result res;
	char fork_tag[SHARD_TAG_MAX], other[SHARD_TAG_MAX];
	const uint32_t FORK = 12, FORK_GEN = 5;
	(void)state;

	install_fork(FORK, FORK_GEN, 0x5a000000u, fork_tag);
	assert_int_equal(relay_dialog_install(&table, SLOT, GEN, fork_tag, b_tag, rc.now_ms), 0);
	assert_memory_equal(shard_dialog_get(&table, SLOT, GEN)->legs[SHARD_LEG_A].local_tag,
			    fork_tag, strlen(fork_tag));
	shard_dialog_free(&table, FORK); /* the controller's release of the fork */

	req_from_a("BYE", 20, fork_tag, 70);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);
	parse_out(res.len);
	resp_from_b(200, "BYE", "");
	relay_response(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_true(res.dialog_ended);
	assert_int_equal(res.ended_slot, SLOT);
	shard_dialog_free(&table, SLOT);

	assert_bye_replayed_as(fork_tag, 20, 200);
	/* a fork of another call in the fork's old slot */
	assert_int_equal(relay_dialog_install_fork(&table, SLOT + 1, GEN, FORK, FORK_GEN + 1,
						   0x3c000000u, other, b_tag, "btag2", rc.now_ms),
			 0);
	assert_bye_replayed_as(fork_tag, 20, 200);
	/* the call's own tag, that no BYE ended under */
	req_from_a("BYE", 20, a_tag, 70);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 481);
}

/* The worker's DMSG_INSTALL of the update confirming the call under the tag
 * fork_tag of another fork (worker.c drain_commands): the call's early
 * dialog it hands over (shard_dialog_packed_takes_fork) has what is open in
 * it answered first, each leg's (end_pending, relay_end_pending), then the
 * install takes that fork's legs into the slot. How many answers leg A got;
 * the last is parsed into out_m. */
static int fork_answers_like_the_worker(const char *fork_tag)
{
	static char packed[SHARD_DIALOG_PACKED_MAX];
	struct shard_dialog upd;
	int answers = 0, n;

	relay_dialog_fill(&upd, SLOT, GEN, fork_tag, b_tag);
	int len = shard_dialog_pack(&upd, packed, sizeof(packed));
	assert_true(len > 0);
	struct shard_dialog *d = shard_dialog_packed_takes_fork(&table, packed, (size_t)len);
	assert_non_null(d);
	while ((n = relay_end_pending(&rc, d, SHARD_LEG_B, out, sizeof(out), NULL, NULL)) > 0)
		;
	while ((n = relay_end_pending(&rc, d, SHARD_LEG_A, out, sizeof(out), NULL, NULL)) > 0) {
		parse_out(n);
		answers++;
	}
	assert_int_equal(n, 0);
	assert_int_equal(shard_dialog_install_packed(&table, packed, (size_t)len, rc.now_ms, NULL),
			 0);
	return answers;
}

/*
 * The caller's BYE in the first fork's early dialog still waits for its
 * final when another fork's 2xx takes the call's slot: the worker answers
 * it 200 (relay_end_pending) before the install. That BYE sent again (the
 * 200 lost) must get the 200 again (RFC 3261 17.2.2): it got 481, as
 * relay_end_pending left ended[] nothing to answer it from.
 */
static void test_bye_answered_as_a_fork_took_the_slot_replayed(void **state)
{
	struct relay_result res;
	char fork_tag[SHARD_TAG_MAX];
	const uint32_t FORK = 12, FORK_GEN = 5;
	(void)state;

	install_fork(FORK, FORK_GEN, 0x5a000000u, fork_tag);
	req_from_a("BYE", 20, a_tag, 70);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_int_equal(fork_answers_like_the_worker(fork_tag), 1);
	assert_int_equal(out_m.status, 200);
	assert_int_equal(out_m.cseq.method_id, SIP_METHOD_BYE);
	assert_int_equal(out_m.cseq.num, 20);
	shard_dialog_free(&table, FORK); /* the controller's release of the fork */

	assert_bye_replayed_as(a_tag, 20, 200);
	/* the call goes on under the fork's tag; a new BYE under the first
	 * fork's is for no dialog */
	req_from_a("INFO", 21, fork_tag, 70);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);
	req_from_a("BYE", 22, a_tag, 70);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 481);
}

/*
 * The caller's BYE in a fork's early dialog still waits for its final when
 * the controller releases that early dialog (another fork answered the
 * call: DMSG_RELEASE, worker.c free_dialog): the worker answers it 200
 * (relay_end_pending). Sent again, it got 481 instead of that 200.
 */
static void test_bye_answered_at_a_forks_release_replayed(void **state)
{
	struct relay_result res;
	char fork_tag[SHARD_TAG_MAX];
	const uint32_t FORK = 12, FORK_GEN = 5;
	(void)state;

	install_fork(FORK, FORK_GEN, 0x5a000000u, fork_tag);
	req_from_a("BYE", 20, fork_tag, 70);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);
	struct shard_dialog *f = shard_dialog_get(&table, FORK, FORK_GEN);
	int n = relay_end_pending(&rc, f, SHARD_LEG_A, out, sizeof(out), NULL, NULL);
	assert_true(n > 0);
	parse_out(n);
	assert_int_equal(out_m.status, 200);
	assert_int_equal(relay_end_pending(&rc, f, SHARD_LEG_A, out, sizeof(out), NULL, NULL), 0);
	shard_dialog_free(&table, FORK);

	assert_bye_replayed_as(fork_tag, 20, 200);
	req_from_a("BYE", 21, fork_tag, 70);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.status, 481);
}

/* The caller's answer to the request just relayed to it (its branch, CSeq
 * and our tag toward it read from out_m), parsed into m. */
static void resp_from_a(int status, const char *method)
{
	static char resp[2048];
	int n = snprintf(resp, sizeof(resp),
			 "SIP/2.0 %d Whatever\r\n"
			 "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=%.*s\r\n"
			 "From: <sip:bob@sbc>;tag=%.*s\r\n"
			 "To: <sip:alice@10.1.1.1>;tag=atag\r\n"
			 "Call-ID: callA@host\r\n"
			 "CSeq: %u %s\r\n"
			 "Content-Length: 0\r\n\r\n",
			 status, (int)out_m.vias[0].branch.len, out + out_m.vias[0].branch.off,
			 (int)out_m.from.tag.len, out + out_m.from.tag.off, out_m.cseq.num, method);
	assert_int_equal(sip_parse(&m, resp, (size_t)n, NULL), 0);
}

/*
 * The callee's BYE in the early dialog of a fork (RFC 3261 15 wants none
 * before the 2xx, but a callee may send one): its From tag is that fork's
 * ("btag2"), its To tag our tag toward the callee, every fork's, naming
 * the call's slot. sipshard relays it to the caller under the fork's tag
 * (shard_dialog_of_fork_callee), and the caller's final, crossing back,
 * ends that early dialog, whose slot the worker frees; or, still open when
 * the controller releases that early dialog (another fork answered), the
 * worker answers it 200 (relay_end_pending). Sent again (its final lost),
 * it got 481: ended[] kept that final under the fork's slot, which its To
 * tag does not name. It gets that final again (RFC 3261 17.2.2), and the
 * BYE of no fork with the same To tag and CSeq does not.
 */
static void test_callee_bye_in_ended_fork_replayed(void **state)
{
	struct relay_result res;
	char fork_tag[SHARD_TAG_MAX];
	const uint32_t FORK = 12, FORK_GEN = 5;
	static const int finals[3] = {200, 481, 0}; /* 0: released, answered 200 here */

	for (unsigned i = 0; i < 3; i++) {
		if (i) {
			teardown(state);
			setup(state);
		}
		install_fork(FORK, FORK_GEN, 0x5a000000u, fork_tag);
		req_from_b_side("BYE", 7, "<sip:bob@10.2.2.2>;tag=btag2");
		relay_request(&rc, &m, out, sizeof(out), &res);
		assert_int_equal(res.outcome, RELAY_SEND);
		parse_out(res.len);
		assert_int_equal(ntohs(((const struct sockaddr_in *)res.dst)->sin_port), 5061);
		assert_true(sip_view_eq(out, out_m.call_id, "callA@host", 10));
		assert_true(sip_view_eq(out, out_m.from.tag, fork_tag, strlen(fork_tag)));
		assert_true(sip_view_eq(out, out_m.to.tag, "atag", 4));
		int final = finals[i];
		if (final) {
			resp_from_a(final, "BYE");
			relay_response(&rc, &m, out, sizeof(out), &res);
			assert_int_equal(res.outcome, RELAY_SEND);
			assert_true(res.dialog_ended);
			assert_int_equal(res.ended_slot, FORK);
			assert_int_equal(res.ended_by_leg, SHARD_LEG_B);
		} else {
			struct shard_dialog *f = shard_dialog_get(&table, FORK, FORK_GEN);
			int n =
			    relay_end_pending(&rc, f, SHARD_LEG_B, out, sizeof(out), NULL, NULL);
			assert_true(n > 0);
			parse_out(n);
			assert_int_equal(out_m.status, 200);
			final = 200;
		}
		shard_dialog_free(&table, FORK); /* as the worker does */

		uint64_t replayed = rc.bye_replayed;
		req_from_b_side("BYE", 7, "<sip:bob@10.2.2.2>;tag=btag2");
		relay_request(&rc, &m, out, sizeof(out), &res);
		assert_int_equal(res.outcome, RELAY_ANSWER);
		assert_int_equal(res.status, final);
		assert_int_equal(rc.bye_replayed, replayed + 1);
		parse_out(res.len);
		assert_true(sip_view_eq(out, out_m.to.tag, b_tag, strlen(b_tag)));
		assert_true(sip_view_eq(out, out_m.from.tag, "btag2", 5));
		/* a callee tag of no fork: 481; the first fork's own: relayed in
		 * the call's early dialog */
		req_from_b_side("BYE", 7, "<sip:bob@10.2.2.2>;tag=btag3");
		relay_request(&rc, &m, out, sizeof(out), &res);
		assert_int_equal(res.outcome, RELAY_ANSWER);
		assert_int_equal(res.status, 481);
		req_from_b_side("BYE", 7, "<sip:bob@10.2.2.2>;tag=btag");
		relay_request(&rc, &m, out, sizeof(out), &res);
		assert_int_equal(res.outcome, RELAY_SEND);
		assert_int_equal(rc.bye_replayed, replayed + 1);
	}
}

/* RFC 4028: each 2xx to an INVITE or UPDATE in the call sets the session
 * timer from its Session-Expires (min(32, interval/3) s early), or turns it
 * off when it names none; its retransmissions, other answers and other
 * methods leave it. */
static void test_session_refresh_sets_timer(void **state)
{
	struct shard_dialog *d = shard_dialog_get(&table, SLOT, GEN);
	struct relay_result res;
	(void)state;

	assert_non_null(d);
	assert_int_equal(shard_session_deadline(d), 0);
	rc.now_ms = d->created_ms + 9500; /* 9.5 s in: counted as 10 */
	res = exchange("INVITE", 5, 200, "Session-Expires: 90;refresher=uac\r\n");
	assert_ptr_equal(res.session_refreshed, d);
	assert_int_equal(shard_session_deadline(d), d->created_ms + (10 + 90 - 30) * 1000);
	/* the 2xx again, 5 s later (the ACK was lost): relayed, and the timer
	 * runs from the refresh, not from each copy (RFC 4028 10: from the 2xx) */
	rc.now_ms = d->created_ms + 14500;
	relay_response(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_null(res.session_refreshed);
	assert_int_equal(shard_session_deadline(d), d->created_ms + (10 + 90 - 30) * 1000);

	/* an UPDATE's 2xx with a longer interval: 32 s early */
	rc.now_ms = d->created_ms + 20000;
	res = exchange("UPDATE", 6, 200, "x: 1800\r\n");
	assert_ptr_equal(res.session_refreshed, d);
	assert_int_equal(shard_session_deadline(d), d->created_ms + (20 + 1800 - 32) * 1000);

	/* an INFO's 2xx and a re-INVITE's rejection leave it */
	rc.now_ms = d->created_ms + 30000;
	res = exchange("INFO", 7, 200, "Session-Expires: 90\r\n");
	assert_null(res.session_refreshed);
	res = exchange("INVITE", 8, 488, "Session-Expires: 90\r\n");
	assert_null(res.session_refreshed);
	assert_int_equal(shard_session_deadline(d), d->created_ms + (20 + 1800 - 32) * 1000);

	/* a re-INVITE's 2xx without Session-Expires: no timer any more */
	res = exchange("INVITE", 9, 200, "");
	assert_ptr_equal(res.session_refreshed, d);
	assert_int_equal(shard_session_deadline(d), 0);

	/* before the call is confirmed (an UPDATE in the early dialog), the
	 * INVITE's own 2xx is still to come and starts it; the first
	 * offer/answer is done (a reliable 183's answer), or the UPDATE's
	 * offer would be refused */
	d->state = SHARD_DLG_EARLY;
	for (int leg = 0; leg < 2; leg++) {
		d->legs[leg].signaling_state = SIGNALING_STATE_STABLE;
		session_body_set(&d->legs[leg].answer, "", 0, "v=1\r\n", 5, SESSION_BODY_MAX);
	}
	res = exchange("UPDATE", 10, 200, "Session-Expires: 90\r\n");
	assert_null(res.session_refreshed);
	assert_int_equal(shard_session_deadline(d), 0);
}

/* timers.min_se_s (RFC 4028 section 8.1): a re-INVITE or UPDATE that asks
 * for a shorter interval and can refresh is answered 422 with our Min-SE,
 * not relayed, and counted; one that cannot refresh (no Supported: timer),
 * one that asks for the Min-SE itself, and an INFO are relayed. */
/* relay_request's outcome for a request from leg A with extra lines. */
static struct relay_result from_a(const char *method, unsigned cseq, const char *extra)
{
	struct relay_result res;
	req_from_a_with(method, cseq, a_tag, 70, extra);
	relay_request(&rc, &m, out, sizeof(out), &res);
	return res;
}

static void test_session_too_brief_refused(void **state)
{
	struct relay_result res;
	(void)state;

	rc.min_se_s = 120;
	res = from_a("INVITE", 5, "Supported: timer\r\nSession-Expires: 90\r\n");
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 422);
	parse_out(res.len);
	uint32_t min_se = 0;
	assert_true(sip_hdr_delta_seconds(&out_m, SIP_HDR_MIN_SE, &min_se));
	assert_int_equal(min_se, 120);
	assert_int_equal(from_a("UPDATE", 6, "k: timer\r\nx: 100\r\n").status, 422);
	assert_int_equal(rc.session_too_brief, 2);

	exchange_with("INVITE", 7, "Session-Expires: 90\r\n", 200, "");
	exchange_with("INVITE", 8, "Supported: timer\r\nSession-Expires: 120\r\n", 200, "");
	exchange_with("INFO", 9, "Supported: timer\r\nSession-Expires: 90\r\n", 200, "");
	assert_int_equal(rc.session_too_brief, 2);
	rc.min_se_s = 0;
	exchange_with("INVITE", 10, "Supported: timer\r\nSession-Expires: 90\r\n", 200, "");
}

/* The ACK of a final response given here (a 422 to a re-INVITE) ends here:
 * leg B never saw that INVITE. The ACK of the 2xx to the last re-INVITE
 * relayed goes on to leg B, also after it; one from a table written before
 * the INVITE's CSeq was kept (tag 0) goes on as before. */
static void test_ack_of_local_answer_absorbed(void **state)
{
	struct shard_dialog *d = shard_dialog_get(&table, SLOT, GEN);
	struct relay_result res;
	(void)state;

	exchange("INVITE", 5, 200, "");
	assert_int_equal(from_a("ACK", 5, "").outcome, RELAY_SEND);

	rc.min_se_s = 120;
	assert_int_equal(from_a("INVITE", 6, "Supported: timer\r\nSession-Expires: 90\r\n").status,
			 422);
	res = from_a("ACK", 6, "");
	assert_dropped(res, RELAY_DROP_ACK_LOCAL_ANSWER);
	assert_int_equal(rc.drops[RELAY_DROP_ACK_LOCAL_ANSWER], 1);
	/* the 2xx's ACK again (a retransmission of it): still leg B's */
	assert_int_equal(from_a("ACK", 5, "").outcome, RELAY_SEND);

	d->legs[SHARD_LEG_A].invite_cseq_tag = 0;
	assert_int_equal(from_a("ACK", 6, "").outcome, RELAY_SEND);
}

/* A request from the callee (leg B), with extra header lines. */
static struct relay_result from_b(const char *method, unsigned cseq, const char *extra)
{
	struct relay_result res;
	int n = snprintf(in, sizeof(in),
			 "%s sip:alice@127.0.0.1:5060 SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 10.2.2.2:5080;branch=z9hG4bKb%u\r\n"
			 "From: <sip:bob@10.2.2.2>;tag=btag\r\n"
			 "To: <sip:alice@127.0.0.1:5060>;tag=%s\r\n"
			 "Call-ID: callB@sipshard\r\n"
			 "CSeq: %u %s\r\n"
			 "Max-Forwards: 70\r\n"
			 "Contact: <sip:bob@10.2.2.2:5080>\r\n"
			 "%s"
			 "Content-Length: 0\r\n\r\n",
			 method, cseq, b_tag, cseq, method, extra);
	assert_int_equal(sip_parse(&m, in, (size_t)n, NULL), 0);
	relay_request(&rc, &m, out, sizeof(out), &res);
	if (res.outcome == RELAY_SEND || res.outcome == RELAY_ANSWER)
		parse_out(res.len);
	return res;
}

/* The callee's first re-INVITE refused here (422: its interval is below
 * timers.min_se_s; or 491, 500) and its ACK: the caller never saw that
 * INVITE, nor any INVITE from sipshard. The callee had sent no INVITE
 * through sipshard, so the check on the INVITE's CSeq (invite_cseq_tag 0,
 * "not known") let the ACK through: the caller got an ACK for an INVITE
 * that does not exist, with CSeq 0. */
static void test_ack_of_local_answer_to_callee_absorbed(void **state)
{
	struct relay_result res;
	(void)state;

	rc.min_se_s = 120;
	res = from_b("INVITE", 2, "Supported: timer\r\nSession-Expires: 90\r\n");
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 422);
	res = from_b("ACK", 2, "");
	if (res.outcome == RELAY_SEND)
		print_message("the ACK of the 422 went to the caller:\n%.*s", res.len, out);
	assert_dropped(res, RELAY_DROP_ACK_LOCAL_ANSWER);

	/* a re-INVITE from the callee that crosses: its ACK goes on */
	res = from_b("INVITE", 3, "Supported: timer\r\nSession-Expires: 120\r\n");
	assert_int_equal(res.outcome, RELAY_SEND);
	uint32_t invite_cseq = out_m.cseq.num; /* leg A's space */
	assert_int_equal(from_b("ACK", 3, "").outcome, RELAY_SEND);
	assert_int_equal(out_m.cseq.num, invite_cseq);
}

/* RFC 4028 section 8.2: a refresh whose sender asks for an interval and can
 * refresh (Supported: timer), answered by a 2xx that names none, reaches the
 * sender with that interval, refresher=uac and Require: timer, and the timer
 * runs; a 2xx that names one, or a sender that cannot refresh, or
 * timers.session_timer false, leave the answer as it is. */
static void test_session_interval_given_to_asker(void **state)
{
	static const char asks[] = "Supported: 100rel, timer\r\nSession-Expires: 120\r\n";
	struct shard_dialog *d = shard_dialog_get(&table, SLOT, GEN);
	struct relay_result res;
	(void)state;

	rc.session_timer = true;
	rc.now_ms = d->created_ms;
	res = exchange_with("INVITE", 5, asks, 200, "");
	assert_ptr_equal(res.session_refreshed, d);
	parse_out(res.len);
	assert_int_equal(out_m.session_expires_secs, 120);
	assert_true(sip_view_eq(out, out_m.session_expires, "120;refresher=uac", 17));
	assert_true(sip_has_option_tag(&out_m, SIP_HDR_REQUIRE, "timer"));
	assert_int_equal(out_m.ncontacts, 0); /* the 2xx had no Contact: none added */
	assert_int_equal(shard_session_deadline(d), d->created_ms + 88 * 1000);

	/* with a Contact: both */
	res = exchange_with("UPDATE", 6, asks, 200, "Contact: <sip:bob@10.2.2.2:5080>\r\n");
	parse_out(res.len);
	assert_int_equal(out_m.session_expires_secs, 120);
	assert_int_equal(out_m.ncontacts, 1);
	assert_true(
	    sip_view_eq(out, out_m.contacts[0].uri.whole, "sip:sipshard@127.0.0.1:5060", 27));

	/* the answerer's own interval stands, written once */
	res = exchange_with("INVITE", 7, asks, 200, "Session-Expires: 90;refresher=uas\r\n");
	parse_out(res.len);
	assert_true(sip_view_eq(out, out_m.session_expires, "90;refresher=uas", 16));
	assert_null(memmem(out, (size_t)res.len, "Require", 7));
	assert_int_equal(shard_session_deadline(d), d->created_ms + 60 * 1000);

	/* a sender that cannot refresh (no Supported: timer): no timer */
	res = exchange_with("INVITE", 8, "Session-Expires: 120\r\n", 200, "");
	parse_out(res.len);
	assert_int_equal(out_m.session_expires.len, 0);
	assert_int_equal(shard_session_deadline(d), 0);

	/* the rejection of a refresh gets nothing */
	res = exchange_with("INVITE", 9, asks, 491, "");
	parse_out(res.len);
	assert_int_equal(out_m.session_expires.len, 0);

	/* timers.session_timer false: the answer goes as it came */
	rc.session_timer = false;
	res = exchange_with("INVITE", 10, asks, 200, "");
	parse_out(res.len);
	assert_int_equal(out_m.session_expires.len, 0);
	assert_null(memmem(out, (size_t)res.len, "Require", 7));
}

/* A 2xx to a refresh sent again by the callee (it has no ACK yet, or lost
 * ours) reaches the asker as the first did, with the interval it was told,
 * and the timer keeps the end the first set (RFC 4028 10: the first 2xx
 * starts it). fuzz_relay's check took such a copy for a Session-Expires added
 * where none may be. */
static void test_session_interval_told_again_on_2xx_retransmission(void **state)
{
	static const char asks[] = "Supported: timer\r\nSession-Expires: 120\r\n";
	struct shard_dialog *d = shard_dialog_get(&table, SLOT, GEN);
	struct relay_result res;
	(void)state;

	rc.session_timer = true;
	rc.now_ms = d->created_ms;
	res = exchange_with("INVITE", 5, asks, 200, "");
	assert_ptr_equal(res.session_refreshed, d);
	uint64_t deadline = shard_session_deadline(d);
	assert_int_equal(deadline, d->created_ms + 88 * 1000);

	/* m still holds the callee's 200: the same bytes again, 500 ms on */
	rc.now_ms += 500;
	relay_response(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_null(res.session_refreshed);
	parse_out(res.len);
	assert_true(sip_view_eq(out, out_m.session_expires, "120;refresher=uac", 17));
	assert_true(sip_has_option_tag(&out_m, SIP_HDR_REQUIRE, "timer"));
	assert_int_equal(shard_session_deadline(d), deadline);
}

/* Our Contact in a relayed response names the whole advertise, up to its
 * longest (255 bytes), beside the session lines told to a refresher. */
static void test_long_advertise_in_contact(void **state)
{
	char adv[256];
	struct relay_result res;
	(void)state;

	memset(adv, 'a', sizeof(adv) - 8);
	memcpy(adv + sizeof(adv) - 8, ".x:5060", 8); /* 255 bytes and the NUL */
	rc.advertise = adv;
	rc.session_timer = true;
	res = exchange_with("INVITE", 5, "Supported: timer\r\nSession-Expires: 4294967\r\n", 200,
			    "Contact: <sip:bob@10.2.2.2:5080>\r\n");
	parse_out(res.len);
	assert_int_equal(out_m.ncontacts, 1);
	assert_int_equal(out_m.contacts[0].uri.host.len, strlen(adv) - 5);
	assert_int_equal(out_m.session_expires_secs, 4294967);

	/* and in a REFER of ours (a transfer by the operator) */
	struct shard_dialog *d = shard_dialog_get(&table, SLOT, GEN);
	const struct relay_req refer = {.method = SIP_METHOD_REFER,
					.extra = "Refer-To: <sip:carol@10.3.3.3>\r\n"};
	int n =
	    relay_write_request(&rc, &d->legs[SHARD_LEG_A], &refer, "z9hG4bKsbx", out, sizeof(out));
	assert_true(n > 0);
	parse_out(n);
	assert_int_equal(out_m.method_id, SIP_METHOD_REFER);
	assert_int_equal(out_m.contacts[0].uri.host.len, strlen(adv) - 5);
}

static void test_request_from_callee(void **state)
{
	struct relay_result res;
	(void)state;
	int n = snprintf(in, sizeof(in),
			 "BYE sip:alice@127.0.0.1:5060 SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 10.2.2.2:5080;branch=z9hG4bKcallee1\r\n"
			 "From: <sip:bob@10.2.2.2>;tag=btag\r\n"
			 "To: <sip:alice@127.0.0.1:5060>;tag=%s\r\n"
			 "Call-ID: callB@sipshard\r\n"
			 "CSeq: 1 BYE\r\n"
			 "Max-Forwards: 70\r\n"
			 "Content-Length: 0\r\n\r\n",
			 b_tag);
	assert_int_equal(sip_parse(&m, in, (size_t)n, NULL), 0);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);
	parse_out(res.len);
	assert_true(sip_view_eq(out, out_m.ruri.whole, "sip:alice@10.1.1.1:5061", 23));
	assert_true(sip_view_eq(out, out_m.call_id, "callA@host", 10));
	assert_true(sip_view_eq(out, out_m.from.tag, a_tag, strlen(a_tag)));
	assert_true(sip_view_eq(out, out_m.to.tag, "atag", 4));
	assert_int_equal(out_m.cseq.num, 1); /* first request we send on leg A */
	assert_null(memmem(out, (size_t)res.len, "10.2.2", 6));
	assert_null(memmem(out, (size_t)res.len, "btag", 4));
}

/* A NOTIFY from leg A (caller) with this Event, Subscription-State and sipfrag. */
static void notify_from_a(unsigned cseq, const char *event, const char *substate, const char *frag)
{
	int n = snprintf(in, sizeof(in),
			 "NOTIFY sip:bob@127.0.0.1:5060 SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 10.1.1.1:5061;branch=z9hG4bKn%u\r\n"
			 "From: <sip:alice@10.1.1.1>;tag=atag\r\n"
			 "To: <sip:bob@sbc>;tag=%s\r\n"
			 "Call-ID: callA@host\r\n"
			 "CSeq: %u NOTIFY\r\n"
			 "Max-Forwards: 70\r\n"
			 "Event: %s\r\n"
			 "subscription-state: %s\r\n"
			 "Content-Type: message/sipfrag\r\n"
			 "Content-Length: %zu\r\n\r\n%s",
			 cseq, a_tag, cseq, event, substate, strlen(frag), frag);
	assert_int_equal(sip_parse(&m, in, (size_t)n, NULL), 0);
}

/* The dialog after the worker sent the operator's REFER to leg A as CSeq 5. */
static struct shard_dialog *refer_sent_to_a(void)
{
	struct shard_dialog *d = shard_dialog_get(&table, SLOT, GEN);
	assert_non_null(d);
	shard_refer_start(d, SHARD_LEG_A, 5);
	return d;
}

/* A REFER from leg B (callee) to leg A, relayed: its length in out. */
static int refer_from_b(unsigned cseq)
{
	struct relay_result res;
	int n = snprintf(in, sizeof(in),
			 "REFER sip:alice@127.0.0.1:5060 SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 10.2.2.2:5080;branch=z9hG4bKcr%u\r\n"
			 "From: <sip:bob@10.2.2.2>;tag=btag\r\n"
			 "To: <sip:alice@127.0.0.1:5060>;tag=%s\r\n"
			 "Call-ID: callB@sipshard\r\n"
			 "CSeq: %u REFER\r\n"
			 "Max-Forwards: 70\r\n"
			 "Refer-To: <sip:carol@10.3.3.3>\r\n"
			 "Content-Length: 0\r\n\r\n",
			 cseq, b_tag, cseq);
	assert_int_equal(sip_parse(&m, in, (size_t)n, NULL), 0);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);
	return res.len;
}

/*
 * Timer N (RFC 6665 4.1.2.4, RFC 3515 2.4.4): the operator's REFER accepted
 * (202) at 1.7 s and no NOTIFY: the transfer stayed "active" for ever. Its
 * deadline is 64*T1 after the end of the second the 202 came in (refer_status
 * holds that second, read against the clock even after it wraps past 2^16
 * seconds); then it is done with 408, and a NOTIFY about it, with id or
 * without (ours was that leg's first REFER), gets 481 and changes nothing.
 * A NOTIFY before the deadline stops the timer; one that overtook the 202
 * keeps it from starting.
 */
static void test_transfer_without_notify_fails_at_timer_n(void **state)
{
	struct relay_result res;
	(void)state;

	struct shard_dialog *d = refer_sent_to_a();
	assert_int_equal(shard_refer_deadline(d, 1700, 32000), 0);
	shard_refer_accepted(d, 1700);
	assert_true(d->refer & SHARD_REFER_TIMER_N);
	assert_int_equal(shard_refer_status(d), 0); /* shown as none yet */
	assert_int_equal(shard_refer_deadline(d, 1700, 32000), 2000 + 32000);
	assert_int_equal(shard_refer_deadline(d, 33999, 32000), 2000 + 32000);
	/* the same second of the clock 2^16 s later */
	uint64_t later = 65536000ull * 3;
	shard_refer_accepted(d, later + 1700);
	assert_int_equal(shard_refer_deadline(d, later + 40000, 32000), later + 2000 + 32000);
	shard_refer_timed_out(d);
	assert_int_equal(d->refer & SHARD_REFER_STATE, SHARD_REFER_DONE);
	assert_int_equal(shard_refer_status(d), SHARD_REFER_TIMED_OUT);
	assert_int_equal(shard_refer_deadline(d, later + 40000, 32000), 0);
	assert_true(shard_refer_failed(d));

	notify_from_a(2, "refer;id=5", "active", "SIP/2.0 200 OK\r\n");
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 481);
	notify_from_a(3, "refer", "terminated", "SIP/2.0 200 OK\r\n");
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 481);
	assert_int_equal(shard_refer_status(d), SHARD_REFER_TIMED_OUT);
	assert_int_equal(d->refer & SHARD_REFER_STATE, SHARD_REFER_DONE);

	/* a new transfer: its first NOTIFY stops Timer N, with its status */
	shard_refer_start(d, SHARD_LEG_A, 6);
	shard_refer_accepted(d, 5000);
	notify_from_a(4, "refer;id=6", "active", "SIP/2.0 100 Trying\r\n");
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.status, 200);
	assert_int_equal(shard_refer_deadline(d, 6000, 32000), 0);
	assert_int_equal(shard_refer_status(d), 100);
	assert_false(shard_refer_failed(d));

	/* a NOTIFY that overtook the 202: no Timer N */
	shard_refer_start(d, SHARD_LEG_A, 7);
	notify_from_a(5, "refer;id=7", "active", "");
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.status, 200);
	shard_refer_accepted(d, 9000);
	assert_int_equal(shard_refer_deadline(d, 9000, 32000), 0);
	assert_int_equal(shard_refer_status(d), 0);
}

/* The callee's REFER reached the caller first: the caller names the
 * subscription of the operator's later REFER by id (RFC 3515 2.4.6), so a
 * NOTIFY without id is about the callee's and crosses, even while the
 * operator's transfer is active; one with the operator's CSeq is answered. */
static void test_notify_without_id_after_a_relayed_refer(void **state)
{
	struct relay_result res;
	(void)state;

	refer_from_b(2);
	struct shard_dialog *d = refer_sent_to_a();
	assert_true(d->refer & SHARD_REFER_NOT_FIRST);
	notify_from_a(2, "refer", "active", "SIP/2.0 100 Trying\r\n");
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);
	parse_out(res.len);
	assert_true(sip_view_eq(out, out_m.call_id, "callB@sipshard", 14));
	assert_int_equal(rc.refer_notifies, 0);
	assert_int_equal(d->refer_status, 0);

	notify_from_a(3, "refer;id=5", "active", "SIP/2.0 180 Ringing\r\n");
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 200);
	assert_int_equal(d->refer_status, 180);
	assert_int_equal(d->refer & SHARD_REFER_STATE, SHARD_REFER_ACTIVE);
	assert_int_equal(rc.refer_notifies, 1);

	/* a second transfer of ours to the same leg is never its first either */
	shard_refer_set(d, SHARD_REFER_DONE);
	d = refer_sent_to_a();
	assert_true(d->refer & SHARD_REFER_NOT_FIRST);
	/* while a REFER relayed to the other leg leaves this leg's rule alone */
	shard_table_close(&table);
	setup(NULL);
	req_from_a("REFER", 2, a_tag, 70);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);
	d = refer_sent_to_a();
	assert_true(d->refer & SHARD_REFER_SENT_B);
	assert_false(d->refer & SHARD_REFER_NOT_FIRST);
	notify_from_a(3, "refer", "active", "SIP/2.0 100 Trying\r\n");
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(d->refer_status, 100);
}

static void test_notify_about_our_refer_is_answered_here(void **state)
{
	struct relay_result res;
	(void)state;

	/* with no REFER of ours, a NOTIFY is the other side's business: relayed */
	notify_from_a(2, "refer", "active", "SIP/2.0 100 Trying\r\n");
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);

	struct shard_dialog *d = refer_sent_to_a();
	uint64_t relayed = rc.relayed_req[SIP_METHOD_NOTIFY];
	notify_from_a(3, "refer", "active;expires=60", "SIP/2.0 100 Trying\r\n");
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 200);
	parse_out(res.len);
	assert_int_equal(out_m.status, 200);
	assert_true(sip_view_eq(out, out_m.call_id, "callA@host", 10));
	assert_int_equal(out_m.cseq.num, 3);
	assert_int_equal(d->refer_status, 100);
	assert_int_equal(d->refer & SHARD_REFER_STATE, SHARD_REFER_ACTIVE);
	assert_int_equal(rc.refer_notifies, 1);
	assert_int_equal(rc.relayed_req[SIP_METHOD_NOTIFY], relayed);

	/* a NOTIFY about another REFER (its CSeq as id, LWS allowed) is relayed */
	notify_from_a(4, "refer; id=9", "active", "SIP/2.0 180 Ringing\r\n");
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_int_equal(d->refer_status, 100);
	/* and so is one of another package whose name starts alike */
	notify_from_a(5, "referral", "active", "SIP/2.0 180 Ringing\r\n");
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);

	/* ours by id, terminated: the transfer is done, with the target's 200 */
	notify_from_a(6, "Refer ; id=5", "terminated;reason=noresource", "SIP/2.0 200 OK\r\n");
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 200);
	assert_int_equal(d->refer_status, 200);
	assert_int_equal(d->refer & SHARD_REFER_STATE, SHARD_REFER_DONE);

	/* its retransmission is answered again, an older CSeq gets 500 */
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 200);
	notify_from_a(5, "refer", "terminated", "SIP/2.0 200 OK\r\n");
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 500);
	assert_int_equal(rc.refer_notifies, 4); /* every answer counted, the 500 too */

	/* the caller's next request still crosses, in order */
	req_from_a("INFO", 7, a_tag, 70);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);

	/* the transfer is done: a newer NOTIFY without id is about a REFER the
	 * callee sent the caller later (relayed), so it is relayed too */
	notify_from_a(8, "refer", "active", "SIP/2.0 100 Trying\r\n");
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_int_equal(d->refer_status, 200);
	assert_int_equal(rc.refer_notifies, 4);
}

/*
 * A NOTIFY about the operator's REFER is answered here, with no transaction
 * record: its retransmission (our 200 lost) that comes after the same side's
 * next request (a re-INVITE to hold, an INFO) has a CSeq below the leg's
 * last and got 500, which ends the notifier's NOTIFY transaction with a
 * failure (RFC 3261 17.2.2: a retransmission gets the final again). It is
 * answered as before, and changes nothing; a NOTIFY of that CSeq never
 * answered is still out of order (12.2.2).
 */
static void test_notify_retransmitted_after_the_next_request(void **state)
{
	struct relay_result res;
	(void)state;

	struct shard_dialog *d = refer_sent_to_a();
	notify_from_a(3, "refer", "active", "SIP/2.0 100 Trying\r\n");
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 200);

	/* the caller's INFO crosses meanwhile */
	req_from_a("INFO", 4, a_tag, 70);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);

	/* the NOTIFY again, as it was: 200 again, not 500 */
	notify_from_a(3, "refer", "active", "SIP/2.0 100 Trying\r\n");
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_ANSWER);
	if (res.status != 200)
		fail_msg("a retransmitted NOTIFY about our REFER got %d, want 200", res.status);
	parse_out(res.len);
	assert_int_equal(out_m.cseq.num, 3);

	/* the last NOTIFY says done (the notifier sent it once the first had
	 * its final, RFC 6665 4.2.2): its retransmission after the caller's
	 * next request is answered 200 too */
	notify_from_a(5, "refer", "terminated", "SIP/2.0 200 OK\r\n");
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.status, 200);
	assert_int_equal(d->refer & SHARD_REFER_STATE, SHARD_REFER_DONE);
	req_from_a("INFO", 6, a_tag, 70);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);
	notify_from_a(5, "refer", "terminated", "SIP/2.0 200 OK\r\n");
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 200);
	/* a stray copy of the first, after that: changes nothing */
	notify_from_a(3, "refer", "active", "SIP/2.0 100 Trying\r\n");
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(d->refer_status, 200);
	assert_int_equal(d->refer & SHARD_REFER_STATE, SHARD_REFER_DONE);

	/* a NOTIFY with a CSeq never answered, below the last: out of order */
	notify_from_a(2, "refer;id=5", "active", "SIP/2.0 180 Ringing\r\n");
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 500);
	assert_int_equal(d->refer_status, 200);
}

/*
 * A NOTIFY is a target refresh request (relay.c's is_target_refresh; RFC
 * 3261 12.2.2: its Contact replaces the sender's remote target). One about
 * the operator's REFER, answered here, left the target as it was, while the
 * same NOTIFY relayed would have moved it: the next request to that side
 * (the callee's BYE, ours) went to the address it had left.
 */
static void test_notify_about_our_refer_refreshes_the_target(void **state)
{
	struct relay_result res;
	(void)state;

	refer_sent_to_a();
	int n = snprintf(in, sizeof(in),
			 "NOTIFY sip:bob@127.0.0.1:5060 SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 10.1.1.1:5061;branch=z9hG4bKnc3\r\n"
			 "From: <sip:alice@10.1.1.1>;tag=atag\r\n"
			 "To: <sip:bob@sbc>;tag=%s\r\n"
			 "Call-ID: callA@host\r\n"
			 "CSeq: 3 NOTIFY\r\n"
			 "Max-Forwards: 70\r\n"
			 "Contact: <sip:alice@10.9.9.9:5070>\r\n"
			 "Event: refer\r\n"
			 "Subscription-State: active\r\n"
			 "Content-Type: message/sipfrag\r\n"
			 "Content-Length: 20\r\n\r\nSIP/2.0 100 Trying\r\n",
			 a_tag);
	assert_int_equal(sip_parse(&m, in, (size_t)n, NULL), 0);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 200);
	const struct sip_session *a = &shard_dialog_get(&table, SLOT, GEN)->legs[SHARD_LEG_A];
	if (a->remote_target_len != 23 || memcmp(a->remote_target, "sip:alice@10.9.9.9:5070", 23))
		fail_msg("caller's remote target is %.*s, want sip:alice@10.9.9.9:5070",
			 (int)a->remote_target_len, a->remote_target);
}

/* A refused REFER makes no subscription: a NOTIFY without id that follows
 * is about something else, and crosses. */
static void test_notify_after_a_refused_refer_is_relayed(void **state)
{
	struct relay_result res;
	(void)state;

	struct shard_dialog *d = refer_sent_to_a();
	d->refer_status = 603;
	shard_refer_set(d, SHARD_REFER_DONE);
	notify_from_a(2, "refer", "active", "SIP/2.0 100 Trying\r\n");
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_int_equal(rc.refer_notifies, 0);
	assert_int_equal(d->refer_status, 603);
}

static void test_notify_from_the_other_leg_is_relayed(void **state)
{
	struct relay_result res;
	(void)state;

	refer_sent_to_a();
	int n = snprintf(in, sizeof(in),
			 "NOTIFY sip:alice@127.0.0.1:5060 SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 10.2.2.2:5080;branch=z9hG4bKcn1\r\n"
			 "From: <sip:bob@10.2.2.2>;tag=btag\r\n"
			 "To: <sip:alice@127.0.0.1:5060>;tag=%s\r\n"
			 "Call-ID: callB@sipshard\r\n"
			 "CSeq: 1 NOTIFY\r\n"
			 "Max-Forwards: 70\r\n"
			 "Event: refer\r\n"
			 "Subscription-State: terminated\r\n"
			 "Content-Length: 0\r\n\r\n",
			 b_tag);
	assert_int_equal(sip_parse(&m, in, (size_t)n, NULL), 0);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_int_equal(rc.refer_notifies, 0);
	/* and a NOTIFY of another package from the REFERed leg is relayed too */
	notify_from_a(2, "dialog", "active", "");
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);
}

/*
 * RFC 3515 2.4.6: the NOTIFYs of a REFER's subscription name it by Event id
 * with the REFER's CSeq as its recipient got it. The callee's REFER (its
 * CSeq 40) reached the caller as our CSeq there, so the caller's NOTIFYs
 * name that one: they reached the callee with it unchanged, an id it never
 * sent (its UA answers 481 and the transfer's progress is lost). They cross
 * with the callee's 40, the callee's SUBSCRIBE about it the other way, and
 * an id of no REFER relayed is left as it came.
 */
static void test_relayed_refer_notify_id_maps_across(void **state)
{
	struct relay_result res;
	char ev[64];
	(void)state;

	parse_out(refer_from_b(40));
	uint32_t ours = out_m.cseq.num; /* the REFER's CSeq on leg A */
	assert_int_not_equal(ours, 40);

	snprintf(ev, sizeof(ev), "refer;id=%u;x=1", ours);
	notify_from_a(2, ev, "active", "SIP/2.0 100 Trying\r\n");
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);
	parse_out(res.len);
	assert_true(sip_view_eq(out, out_m.call_id, "callB@sipshard", 14));
	assert_true(sip_view_eq(out, out_m.event, "refer;id=40;x=1", 15));
	/* its retransmission the same */
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);
	parse_out(res.len);
	assert_true(sip_view_eq(out, out_m.event, "refer;id=40;x=1", 15));

	/* an id of no REFER relayed crosses unchanged */
	notify_from_a(3, "refer;id=77", "active", "SIP/2.0 180 Ringing\r\n");
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);
	parse_out(res.len);
	assert_true(sip_view_eq(out, out_m.event, "refer;id=77", 11));

	/* the callee refreshes its subscription: the caller's number for it */
	int n = snprintf(in, sizeof(in),
			 "SUBSCRIBE sip:alice@127.0.0.1:5060 SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 10.2.2.2:5080;branch=z9hG4bKcs41\r\n"
			 "From: <sip:bob@10.2.2.2>;tag=btag\r\n"
			 "To: <sip:alice@127.0.0.1:5060>;tag=%s\r\n"
			 "Call-ID: callB@sipshard\r\n"
			 "CSeq: 41 SUBSCRIBE\r\n"
			 "Max-Forwards: 70\r\n"
			 "Event: refer;id=40\r\n"
			 "Expires: 60\r\n"
			 "Content-Length: 0\r\n\r\n",
			 b_tag);
	assert_int_equal(sip_parse(&m, in, (size_t)n, NULL), 0);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);
	parse_out(res.len);
	snprintf(ev, sizeof(ev), "refer;id=%u", ours);
	assert_true(sip_view_eq(out, out_m.event, ev, strlen(ev)));
	assert_true(sip_view_eq(out, out_m.call_id, "callA@host", 10));
}

/* An extension method longer than the old 48-byte CSeq buffer crosses with
 * its whole name; one too long for the rewritten headers is answered 513. */
static void test_long_extension_method(void **state)
{
	struct relay_result res;
	char method[1901];
	(void)state;

	memset(method, 'X', sizeof(method) - 1);
	method[60] = '\0';
	req_from_a(method, 2, a_tag, 70);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);
	parse_out(res.len);
	assert_true(sip_view_eq(out, out_m.cseq.method, method, 60));
	assert_true(sip_view_eq(out, out_m.method, method, 60));

	method[60] = 'X';
	method[1900] = '\0';
	req_from_a(method, 3, a_tag, 70);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 513);
}

/* ---- where RFC 3261 and 3262 ask for more than passing a request across:
 * retransmissions after a final answer, the RAck of a PRACK, the ACK of a
 * failed re-INVITE, glare, a 513 given here, a NOTIFY's Event id, a
 * challenged BYE. Each of these once went wrong; the comment of each test
 * says how. */

/* A request from leg A with top Via branch z9hG4bKa<branch_no>. */
static struct relay_result branch_from_a(const char *method, unsigned cseq, unsigned branch_no,
					 const char *extra)
{
	struct relay_result res;
	int n = snprintf(in, sizeof(in),
			 "%s sip:bob@127.0.0.1:5060 SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 10.1.1.1:5061;branch=z9hG4bKa%u\r\n"
			 "From: <sip:alice@10.1.1.1>;tag=atag\r\n"
			 "To: <sip:bob@sbc>;tag=%s\r\n"
			 "Call-ID: callA@host\r\n"
			 "CSeq: %u %s\r\n"
			 "Max-Forwards: 70\r\n"
			 "Contact: <sip:alice@10.1.1.1:5061>\r\n"
			 "%s"
			 "Content-Length: 0\r\n\r\n",
			 method, branch_no, a_tag, cseq, method, extra);
	assert_int_equal(sip_parse(&m, in, (size_t)n, NULL), 0);
	relay_request(&rc, &m, out, sizeof(out), &res);
	if (res.outcome == RELAY_SEND || res.outcome == RELAY_ANSWER)
		parse_out(res.len);
	return res;
}

/* A request from leg B (the callee). */
static struct relay_result request_from_b(const char *method, unsigned cseq)
{
	struct relay_result res;
	int n = snprintf(in, sizeof(in),
			 "%s sip:alice@127.0.0.1:5060 SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 10.2.2.2:5080;branch=z9hG4bKb%u\r\n"
			 "From: <sip:bob@10.2.2.2>;tag=btag\r\n"
			 "To: <sip:alice@127.0.0.1:5060>;tag=%s\r\n"
			 "Call-ID: callB@sipshard\r\n"
			 "CSeq: %u %s\r\n"
			 "Max-Forwards: 70\r\n"
			 "Contact: <sip:bob@10.2.2.2:5080>\r\n"
			 "Content-Length: 0\r\n\r\n",
			 method, cseq, b_tag, cseq, method);
	assert_int_equal(sip_parse(&m, in, (size_t)n, NULL), 0);
	relay_request(&rc, &m, out, sizeof(out), &res);
	if (res.outcome == RELAY_SEND || res.outcome == RELAY_ANSWER)
		parse_out(res.len);
	return res;
}

/* Leg B's answer, with a body (maybe empty), to the request whose relayed
 * copy had this branch and CSeq. */
static struct relay_result answer_from_b_lines(int status, const char *branch, unsigned cseq,
					       const char *method, const char *lines,
					       const char *body)
{
	struct relay_result res;
	int n = snprintf(resp_in, sizeof(resp_in),
			 "SIP/2.0 %d Whatever\r\n"
			 "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=%s;rport\r\n"
			 "From: <sip:alice@127.0.0.1:5060>;tag=%s\r\n"
			 "To: <sip:bob@10.2.2.2>;tag=btag\r\n"
			 "Call-ID: callB@sipshard\r\n"
			 "CSeq: %u %s\r\n"
			 "%s"
			 "Content-Length: %zu\r\n\r\n%s",
			 status, branch, b_tag, cseq, method, lines, strlen(body), body);
	assert_int_equal(sip_parse(&m, resp_in, (size_t)n, NULL), 0);
	relay_response(&rc, &m, out, sizeof(out), &res);
	return res;
}

static struct relay_result answer_from_b_body(int status, const char *branch, unsigned cseq,
					      const char *method, const char *body)
{
	return answer_from_b_lines(status, branch, cseq, method,
				   "Contact: <sip:bob@10.2.2.2:5080>\r\n", body);
}

static struct relay_result answer_from_b(int status, const char *branch, unsigned cseq,
					 const char *method)
{
	return answer_from_b_body(status, branch, cseq, method, "");
}

static void out_branch(char *branch, size_t cap)
{
	snprintf(branch, cap, "%.*s", (int)out_m.vias[0].branch.len,
		 out + out_m.vias[0].branch.off);
}

/* A request from leg A (branch_from_a) that must be relayed; its branch
 * toward leg B into branch. */
static void sent_from_a(const char *method, unsigned cseq, unsigned branch_no, char *branch,
			size_t cap)
{
	struct relay_result res = branch_from_a(method, cseq, branch_no, "");
	assert_int_equal(res.outcome, RELAY_SEND);
	out_branch(branch, cap);
}

/*
 * A fork other than the first answers while the caller's UPDATE in that
 * fork's early dialog waits for its final, after a PRACK answered there:
 * the call takes the fork's dialog (shard_dialog_packed_takes_fork, then
 * the install under the fork's tag), and the controller releases the
 * fork's slot. The PRACK's and UPDATE's transactions stayed the fork's: at
 * the release the caller got 487 to its UPDATE from sipshard, the fork's
 * 200 to it (with its answer) was dropped as for a dialog gone, and the
 * PRACK sent again found no transaction. They follow the dialog now.
 */
static void test_requests_open_in_a_fork_follow_it_into_the_call(void **state)
{
	struct relay_result res;
	char fork_tag[SHARD_TAG_MAX], pbranch[128], ubranch[128];
	const uint32_t FORK = 12, FORK_GEN = 5;
	static char packed[SHARD_DIALOG_PACKED_MAX];
	(void)state;

	install_fork(FORK, FORK_GEN, 0x5a000000u, fork_tag);
	struct shard_dialog *f = shard_dialog_get(&table, FORK, FORK_GEN);
	/* the fork's reliable 183 answered the INVITE's offer: the bodies of
	 * the PRACK and UPDATE below are offers that may be made */
	for (int leg = 0; leg < 2; leg++) {
		f->legs[leg].signaling_state = SIGNALING_STATE_STABLE;
		session_body_set(&f->legs[leg].answer, "", 0, "v=1\r\n", 5, SESSION_BODY_MAX);
	}
	req_from_a_with("PRACK", 2, fork_tag, 70, "RAck: 5 1 INVITE\r\n");
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);
	parse_out(res.len);
	out_branch(pbranch, sizeof(pbranch));
	res = answer_from_b(200, pbranch, out_m.cseq.num, "PRACK");
	assert_int_equal(res.outcome, RELAY_SEND);
	req_from_a_with("UPDATE", 3, fork_tag, 70, "");
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);
	parse_out(res.len);
	out_branch(ubranch, sizeof(ubranch));
	unsigned ucseq = out_m.cseq.num;

	/* the fork's 2xx: the controller's install under its tag, then the
	 * release of its slot (worker.c drain_commands) */
	struct shard_dialog upd;
	relay_dialog_fill(&upd, SLOT, GEN, fork_tag, b_tag);
	SESSION_SET(&upd.legs[SHARD_LEG_B], remote_tag, "btag2", 5);
	int len = shard_dialog_pack(&upd, packed, sizeof(packed));
	assert_true(len > 0);
	assert_non_null(shard_dialog_packed_takes_fork(&table, packed, (size_t)len));
	assert_int_equal(shard_dialog_install_packed(&table, packed, (size_t)len, rc.now_ms, NULL),
			 0);
	int n = relay_end_pending(&rc, f, SHARD_LEG_A, out, sizeof(out), NULL, NULL);
	if (n > 0) {
		parse_out(n);
		fail_msg("at the fork's release the caller got %d to its %.*s", out_m.status,
			 (int)out_m.cseq.method.len, out + out_m.cseq.method.off);
	}
	shard_dialog_free(&table, FORK);

	/* the fork's 200 to the UPDATE reaches the caller, in the call */
	res = answer_from_b(200, ubranch, ucseq, "UPDATE");
	assert_int_equal(res.outcome, RELAY_SEND);
	parse_out(res.len);
	assert_int_equal(out_m.status, 200);
	assert_int_equal(out_m.cseq.num, 3);
	/* the caller's UPDATE sent again (that 200 lost) crosses through its
	 * transaction, as in the fork's dialog */
	req_from_a_with("UPDATE", 3, fork_tag, 70, "");
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);
	parse_out(res.len);
	assert_int_equal(out_m.cseq.num, ucseq);
}

/* A response matches its client transaction by the branch and the CSeq
 * method (RFC 3261 17.1.3): one with the branch of an INFO and the CSeq of
 * a BYE is no answer to that INFO (it once crossed as its 200, the CSeq
 * number alone checked). */
static void test_response_of_another_method_is_stale(void **state)
{
	char branch[128];
	struct relay_result res;
	(void)state;

	sent_from_a("INFO", 2, 2, branch, sizeof(branch));
	unsigned bcseq = out_m.cseq.num;
	res = answer_from_b(200, branch, bcseq, "BYE");
	assert_dropped(res, RELAY_DROP_RESP_STALE);
	assert_non_null(shard_dialog_get(&table, SLOT, GEN));
	res = answer_from_b(200, branch, bcseq, "INFO");
	assert_int_equal(res.outcome, RELAY_SEND);
}

static void assert_b_target(const char *want)
{
	const struct sip_session *b = &shard_dialog_get(&table, SLOT, GEN)->legs[SHARD_LEG_B];
	if (b->remote_target_len != strlen(want) ||
	    memcmp(b->remote_target, want, b->remote_target_len))
		fail_msg("callee's remote target is %.*s, want %s", (int)b->remote_target_len,
			 b->remote_target, want);
}

/*
 * Only a 2xx (RFC 3261 12.2.1.2) or a reliable provisional response (RFC
 * 6141 4) to a target refresh replaces the responder's remote target. Any
 * 1xx to a re-INVITE once did: a callee's unreliable 183 with another
 * Contact moved it, the re-INVITE's 488 left it moved, and every later
 * request to the callee, its BYE too, carried the 183's Contact as
 * Request-URI. A reliable one moves it, and the failure after it does not
 * move it back (RFC 6141 4: a target refresh is not undone).
 */
static void test_only_2xx_or_reliable_1xx_refresh_the_target(void **state)
{
	char inv_branch[128];
	struct relay_result res;
	(void)state;

	assert_b_target("sip:bob@10.2.2.2:5080");
	sent_from_a("INVITE", 2, 2, inv_branch, sizeof(inv_branch));
	unsigned bcseq = out_m.cseq.num;
	res = answer_from_b_lines(183, inv_branch, bcseq, "INVITE",
				  "Contact: <sip:bob@10.66.66.66:5099>\r\n", "");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_b_target("sip:bob@10.2.2.2:5080");
	/* RSeq without Require: 100rel, or Require without RSeq: unreliable */
	res = answer_from_b_lines(183, inv_branch, bcseq, "INVITE",
				  "Contact: <sip:bob@10.66.66.66:5099>\r\nRSeq: 1\r\n", "");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_b_target("sip:bob@10.2.2.2:5080");
	res = answer_from_b_lines(183, inv_branch, bcseq, "INVITE",
				  "Contact: <sip:bob@10.66.66.66:5099>\r\nRequire: 100rel\r\n", "");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_b_target("sip:bob@10.2.2.2:5080");
	res = answer_from_b_lines(183, inv_branch, bcseq, "INVITE",
				  "Contact: <sip:bob@10.77.77.77:5099>\r\n"
				  "Require: 100rel\r\nRSeq: 2\r\n",
				  "");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_b_target("sip:bob@10.77.77.77:5099");
	res = answer_from_b_lines(488, inv_branch, bcseq, "INVITE", "", "");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_b_target("sip:bob@10.77.77.77:5099");

	/* the next request goes there */
	res = branch_from_a("INFO", 3, 3, "");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_true(sip_view_eq(out, out_m.ruri.whole, "sip:bob@10.77.77.77:5099", 24));
}

/* A 2xx to a target refresh whose Contact is longer than the record keeps
 * (SESSION_URI_MAX): the remote target cannot take it and the old one is
 * kept, as before, but no longer silently: counted (target_refresh_too_long,
 * each worker's statistics). The target refresh request itself with such a
 * Contact was relayed, its sender's target left as it was: refused 400 now,
 * counted, as the call's set-up refuses it. */
static void test_target_refresh_too_long_keeps_the_old_target_counted(void **state)
{
	char inv_branch[128], lines[512];
	struct relay_result res;
	(void)state;

	memset(lines, 0, sizeof(lines));
	int n = snprintf(lines, sizeof(lines), "Contact: <sip:bob@10.66.66.66:5099;x-gruu=");
	memset(lines + n, 'g', 260);
	memcpy(lines + n + 260, ">\r\n", 4);
	sent_from_a("INVITE", 2, 2, inv_branch, sizeof(inv_branch));
	res = answer_from_b_lines(200, inv_branch, out_m.cseq.num, "INVITE", lines, "");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_b_target("sip:bob@10.2.2.2:5080");
	assert_int_equal(rc.target_refresh_too_long, 1);
	/* one that fits is taken, and counts nothing */
	sent_from_a("UPDATE", 3, 3, inv_branch, sizeof(inv_branch));
	res = answer_from_b_lines(200, inv_branch, out_m.cseq.num, "UPDATE",
				  "Contact: <sip:bob@10.77.77.77:5099>\r\n", "");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_b_target("sip:bob@10.77.77.77:5099");
	assert_int_equal(rc.target_refresh_too_long, 1);

	/* the caller's re-INVITE with such a Contact: 400, not relayed */
	static char req[4096];
	char uri[320];
	n = snprintf(uri, sizeof(uri), "<sip:alice@10.1.1.1:5061;x-gruu=");
	memset(uri + n, 'g', 260);
	memcpy(uri + n + 260, ">", 2);
	req_from_a_with("INVITE", 4, a_tag, 70, "");
	size_t rn = edited(in, "<sip:alice@10.1.1.1:5061>", uri, req, sizeof(req));
	req[rn] = '\0';
	assert_int_equal(sip_parse(&m, req, strlen(req), NULL), 0);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_ANSWER);
	parse_out(res.len);
	assert_int_equal(out_m.status, 400);
	assert_non_null(memmem(out, (size_t)res.len, "Contact too long", 16));
	assert_int_equal(rc.target_refresh_too_long, 2);
	const struct sip_session *a = &shard_dialog_get(&table, SLOT, GEN)->legs[SHARD_LEG_A];
	assert_int_equal(a->remote_target_len, 23);
}

/*
 * A 3xx to an in-dialog request names in its Contacts where to send it
 * instead (RFC 3261 8.1.3.4, 21.3): they reached the caller replaced by
 * sipshard's own, so the caller's retry came back to sipshard, out of any
 * dialog, and the redirect was lost. They cross as they came, as the
 * controller keeps them at set-up; a 2xx or 4xx still names us.
 */
static void test_redirect_to_an_in_dialog_request_keeps_its_contacts(void **state)
{
	char branch[128];
	struct relay_result res;
	(void)state;

	sent_from_a("MESSAGE", 2, 2, branch, sizeof(branch));
	res = answer_from_b(302, branch, out_m.cseq.num, "MESSAGE");
	assert_int_equal(res.outcome, RELAY_SEND);
	parse_out(res.len);
	assert_int_equal(out_m.ncontacts, 1);
	assert_true(sip_view_eq(out, out_m.contacts[0].uri.whole, "sip:bob@10.2.2.2:5080", 21));
	assert_null(memmem(out, (size_t)res.len, "sip:sipshard@", 13));

	sent_from_a("MESSAGE", 3, 3, branch, sizeof(branch));
	res = answer_from_b(404, branch, out_m.cseq.num, "MESSAGE");
	assert_int_equal(res.outcome, RELAY_SEND);
	parse_out(res.len);
	assert_null(memmem(out, (size_t)res.len, "10.2.2.2", 8));
}

/*
 * A non-INVITE whose final response is lost on the way to the caller:
 * the caller retransmits it (RFC 3261 17.1.2.2, Timer E) and must get the
 * final again (the callee's server transaction, in Completed, resends it on
 * the retransmitted request, 17.2.2). The relay once freed the transaction at
 * the final, so the retransmission was dropped and the caller's Timer F
 * fired: 408, after which the caller ends the dialog (12.2.1.2).
 */
static void test_request_retransmitted_after_its_final_crosses(void **state)
{
	char branch[128];
	struct relay_result res;
	(void)state;

	sent_from_a("INFO", 2, 2, branch, sizeof(branch));
	res = answer_from_b(200, branch, out_m.cseq.num, "INFO");
	assert_int_equal(res.outcome, RELAY_SEND); /* ... and lost on the wire */

	/* Timer E: the caller sends the INFO again */
	res = branch_from_a("INFO", 2, 2, "");
	print_message("INFO retransmission after its final: outcome %d drop %d\n", res.outcome,
		      res.drop);
	assert_int_equal(res.outcome, RELAY_SEND);
	/* through the same transaction: the callee's server transaction knows it */
	char again[128];
	out_branch(again, sizeof(again));
	assert_string_equal(again, branch);
	unsigned bcseq = out_m.cseq.num;
	/* the callee's final again reaches the caller */
	res = answer_from_b(200, branch, bcseq, "INFO");
	assert_int_equal(res.outcome, RELAY_SEND);
	/* but a provisional or another final after it is stale */
	res = answer_from_b(180, branch, bcseq, "INFO");
	assert_dropped(res, RELAY_DROP_RESP_STALE);
	res = answer_from_b(500, branch, bcseq, "INFO");
	assert_dropped(res, RELAY_DROP_RESP_STALE);
}

/*
 * The same for a re-INVITE: its 2xx to the caller is lost. The callee
 * retransmits the 2xx until it gets the ACK (13.3.1.4) and the caller
 * retransmits the INVITE; both were once dropped, so after 64*T1 the callee
 * sent BYE and the caller's INVITE timed out.
 */
static void test_reinvite_2xx_retransmission_crosses(void **state)
{
	char branch[128];
	struct relay_result res;
	(void)state;

	sent_from_a("INVITE", 2, 2, branch, sizeof(branch));
	unsigned bcseq = out_m.cseq.num;
	res = answer_from_b(200, branch, bcseq, "INVITE");
	assert_int_equal(res.outcome, RELAY_SEND); /* ... and lost on the wire */

	res = answer_from_b(200, branch, bcseq, "INVITE"); /* callee's Timer G/13.3.1.4 */
	print_message("2xx retransmission to a re-INVITE: outcome %d drop %d\n", res.outcome,
		      res.drop);
	assert_int_equal(res.outcome, RELAY_SEND);
}

/*
 * PRACK: RAck names the INVITE's CSeq in the space of the leg it is
 * sent on (RFC 3262 7.2). README.md's session model: "RAck mapped between
 * the legs' CSeq spaces". The caller's INVITE was CSeq 101; leg B's INVITE was CSeq 1. The
 * PRACK once reached the callee with "RAck: 1 101 INVITE", which matches no
 * reliable provisional response of its INVITE 1: 481 (RFC 3262 3), and the
 * callee, never PRACKed, gave the call up after 64*T1 (5xx).
 */
static void test_prack_rack_names_the_other_legs_invite(void **state)
{
	struct shard_dialog *d = shard_dialog_get(&table, SLOT, GEN);
	struct relay_result res;
	(void)state;

	/* as the controller installs the dialog of an INVITE with CSeq 101 */
	d->legs[SHARD_LEG_A].remote_cseq = 101;
	d->legs[SHARD_LEG_A].invite_cseq_tag = session_cseq_tag(101);
	res = branch_from_a("PRACK", 102, 102, "RAck: 1 101 INVITE\r\n");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_true(out_m.has_rack);
	print_message("relayed PRACK to leg B: RAck %u %u; leg B's INVITE CSeq %u\n",
		      out_m.rack.rseq, out_m.rack.cseq, d->legs[SHARD_LEG_B].invite_cseq);
	assert_int_equal(out_m.rack.cseq, d->legs[SHARD_LEG_B].invite_cseq);
}

/*
 * The ACK of a non-2xx final to a re-INVITE is part of the INVITE's
 * transaction: its branch is the INVITE's (RFC 3261 17.1.1.3), which is how
 * the callee's INVITE server transaction matches it (17.2.3). The relay
 * once gave it a new branch, so the callee kept retransmitting its 488 for
 * 32 s (Timer G/H), never absorbed the ACK, and reported a transaction
 * failure at Timer H.
 */
static void test_ack_of_failed_reinvite_takes_its_branch(void **state)
{
	char inv_branch[128], ack_branch[128];
	struct relay_result res;
	(void)state;

	sent_from_a("INVITE", 2, 2, inv_branch, sizeof(inv_branch));
	unsigned bcseq = out_m.cseq.num;
	res = answer_from_b(488, inv_branch, bcseq, "INVITE");
	assert_int_equal(res.outcome, RELAY_SEND);

	/* the caller's ACK of the 488: same branch as its INVITE (z9hG4bKa2) */
	sent_from_a("ACK", 2, 2, ack_branch, sizeof(ack_branch));
	print_message("INVITE to leg B branch %s\nACK of its 488 branch   %s\n", inv_branch,
		      ack_branch);
	assert_int_equal(out_m.cseq.num, bcseq);
	assert_string_equal(ack_branch, inv_branch);
}

/*
 * Glare (README.md's session model: "glare answered 491"; RFC 3261 14.2: a
 * UAS that receives an INVITE while an INVITE it sent on that dialog is in
 * progress MUST return 491). The callee's re-INVITE has been relayed to
 * the caller and is unanswered; the caller's re-INVITE crossing it was once
 * relayed to the callee instead of answered 491.
 */
static void test_glare_answered_491(void **state)
{
	struct relay_result res;
	(void)state;

	res = request_from_b("INVITE", 10);
	assert_int_equal(res.outcome, RELAY_SEND); /* pending on leg A */
	res = branch_from_a("INVITE", 2, 2, "");
	print_message("caller's re-INVITE during the callee's: outcome %d status %d\n", res.outcome,
		      res.status);
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 491);
}

/*
 * A second re-INVITE from the same leg before the first has its final
 * (RFC 3261 14.2: MUST be answered 500 with Retry-After) was once relayed.
 * It also moved the leg's INVITE CSeq, so the ACK of the 2xx that then came
 * for the first re-INVITE was dropped as "the ACK of a local answer": the
 * callee never got it, retransmitted the 2xx for 64*T1 and sent BYE.
 */
static void test_overlapping_reinvite_answered_500(void **state)
{
	char branch1[128];
	struct relay_result res;
	(void)state;

	sent_from_a("INVITE", 2, 2, branch1, sizeof(branch1));
	unsigned bcseq1 = out_m.cseq.num;

	res = branch_from_a("INVITE", 3, 3, "");
	print_message("second re-INVITE before the first's final: outcome %d status %d\n",
		      res.outcome, res.status);
	bool relayed_second = res.outcome == RELAY_SEND;

	/* the callee accepts the first: 2xx relayed, the caller ACKs it */
	res = answer_from_b(200, branch1, bcseq1, "INVITE");
	assert_int_equal(res.outcome, RELAY_SEND);
	res = branch_from_a("ACK", 2, 20, "");
	print_message("ACK of the 2xx to the first re-INVITE: outcome %d drop %d\n", res.outcome,
		      res.drop);
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_false(relayed_second);
}

/*
 * The same when the caller sent another request after its re-INVITE (an
 * INFO, as a DTMF digit would go): the second re-INVITE, and the callee's
 * crossing the first, were checked against each leg's last request only,
 * which is the INFO, and relayed: two INVITE transactions at once in one
 * dialog (RFC 3261 14.1), the second's ACK then taken for the first's.
 */
static void test_overlapping_reinvite_behind_another_request(void **state)
{
	char branch1[128];
	struct relay_result res;
	(void)state;

	sent_from_a("INVITE", 2, 2, branch1, sizeof(branch1));
	unsigned bcseq1 = out_m.cseq.num;
	res = branch_from_a("INFO", 3, 3, "");
	assert_int_equal(res.outcome, RELAY_SEND);

	res = branch_from_a("INVITE", 4, 4, "");
	print_message("second re-INVITE behind an INFO: outcome %d status %d\n", res.outcome,
		      res.status);
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 500);
	res = request_from_b("INVITE", 10);
	print_message("callee's re-INVITE crossing it: outcome %d status %d\n", res.outcome,
		      res.status);
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 491);

	/* its final given, a new re-INVITE of either side goes */
	res = answer_from_b(200, branch1, bcseq1, "INVITE");
	assert_int_equal(res.outcome, RELAY_SEND);
	res = branch_from_a("ACK", 2, 20, "");
	assert_int_equal(res.outcome, RELAY_SEND);
	res = branch_from_a("INVITE", 5, 5, "");
	assert_int_equal(res.outcome, RELAY_SEND);
}

/*
 * Two requests of the caller overlap (an INFO, then another before the
 * first's final: RFC 3261 forbids only two INVITEs at once, 14.1). The
 * first one's final is lost on the way back, or the first one itself on the
 * way to the callee: the caller retransmits it (Timer E, 17.1.2.2). A
 * retransmission belongs to its server transaction (17.2.2) and never meets
 * the dialog's CSeq check (12.2.2), but the relay found only the leg's last
 * transaction and answered 500: one lost datagram failed a DTMF digit.
 */
static void test_retransmission_of_an_older_request_crosses(void **state)
{
	char branch2[128];
	struct relay_result res;
	(void)state;

	sent_from_a("INFO", 2, 2, branch2, sizeof(branch2));
	unsigned bcseq2 = out_m.cseq.num;
	res = branch_from_a("INFO", 3, 3, "");
	assert_int_equal(res.outcome, RELAY_SEND);

	/* the INFO 2 again: through its own transaction, not answered 500 */
	res = branch_from_a("INFO", 2, 2, "");
	print_message("retransmitted INFO 2 after INFO 3: outcome %d status %d\n", res.outcome,
		      res.status);
	assert_int_equal(res.outcome, RELAY_SEND);
	char again[128];
	out_branch(again, sizeof(again));
	assert_string_equal(again, branch2);
	assert_int_equal(out_m.cseq.num, bcseq2);
	/* and its final, once more, reaches the caller */
	res = answer_from_b(200, branch2, bcseq2, "INFO");
	assert_int_equal(res.outcome, RELAY_SEND);

	/* a request really out of order (a CSeq never seen) is still 500 */
	res = branch_from_a("INFO", 1, 1, "");
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 500);
}

/*
 * The same for the ACK of a non-2xx final to a re-INVITE (17.1.1.3: it takes
 * the INVITE's branch) when the caller sent an INFO while the re-INVITE was
 * pending: the ACK went to the callee with another branch, which its INVITE
 * server transaction does not match (17.2.3), so it resent its 488 until
 * Timer H and reported a transaction failure.
 */
static void test_ack_of_failed_reinvite_after_another_request(void **state)
{
	char inv_branch[128], ack_branch[128];
	struct relay_result res;
	(void)state;

	sent_from_a("INVITE", 2, 2, inv_branch, sizeof(inv_branch));
	unsigned bcseq = out_m.cseq.num;
	res = branch_from_a("INFO", 3, 3, "");
	assert_int_equal(res.outcome, RELAY_SEND);
	res = answer_from_b(488, inv_branch, bcseq, "INVITE");
	assert_int_equal(res.outcome, RELAY_SEND);

	sent_from_a("ACK", 2, 2, ack_branch, sizeof(ack_branch));
	print_message("INVITE to leg B branch %s\nACK of its 488 branch   %s\n", inv_branch,
		      ack_branch);
	assert_int_equal(out_m.cseq.num, bcseq);
	assert_string_equal(ack_branch, inv_branch);
}

/*
 * A CANCEL of a re-INVITE (RFC 3261 9.1: its To has the dialog's tag, its
 * branch and CSeq number are the INVITE's). The worker once handed every
 * CANCEL to the controller, which knows calls, not re-INVITEs: the caller's
 * got 200 (or 481 after the call's record went) and the callee's 481, and
 * the other side was never sent a CANCEL, so the INVITE rang on. Here: the
 * callee gets a CANCEL its INVITE server transaction matches (same branch
 * and CSeq number as the INVITE it was sent), the canceller 200; the
 * callee's 200 to that CANCEL ends here (it has the INVITE's branch and
 * must not pass for the INVITE's 2xx), its 487 crosses.
 */
static void test_cancel_of_reinvite_crosses(void **state)
{
	char inv_branch[128], cancel_branch[128];
	struct relay_result res;
	(void)state;

	sent_from_a("INVITE", 2, 2, inv_branch, sizeof(inv_branch));
	unsigned bcseq = out_m.cseq.num;
	res = answer_from_b(180, inv_branch, bcseq, "INVITE");
	assert_int_equal(res.outcome, RELAY_SEND);

	res = branch_from_a("CANCEL", 2, 2, "");
	print_message("CANCEL of the re-INVITE: outcome %d drop %d status %d\n", res.outcome,
		      res.drop, res.status);
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_true(res.answer_200);
	assert_int_equal(out_m.method_id, SIP_METHOD_CANCEL);
	out_branch(cancel_branch, sizeof(cancel_branch));
	assert_string_equal(cancel_branch, inv_branch);
	assert_int_equal(out_m.cseq.num, bcseq);
	assert_int_equal(out_m.cseq.method_id, SIP_METHOD_CANCEL);
	assert_true(sip_view_eq(out, out_m.call_id, "callB@sipshard", 14));
	assert_true(sip_view_eq(out, out_m.to.tag, "btag", 4));

	res = answer_from_b(200, inv_branch, bcseq, "CANCEL");
	assert_dropped(res, RELAY_DROP_CANCEL_ANSWER);
	res = answer_from_b(487, inv_branch, bcseq, "INVITE");
	assert_int_equal(res.outcome, RELAY_SEND);
	parse_out(res.len);
	assert_int_equal(out_m.status, 487);
	assert_true(sip_view_eq(out, out_m.vias[0].branch, "z9hG4bKa2", 9));

	/* after the INVITE's final the CANCEL has no effect: 200 here */
	res = branch_from_a("CANCEL", 2, 2, "");
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 200);
	/* one for no INVITE relayed here is the controller's (481 there) */
	res = branch_from_a("CANCEL", 7, 7, "");
	assert_int_equal(res.outcome, RELAY_TO_CONTROLLER);
}

/*
 * The dialog's "requests" (sipshardctl dialogs --json): each in-dialog
 * request relayed to the other side, by method, once when its transaction
 * is taken. Its retransmissions, the requests answered here (a 500 out of
 * order, a 422), and ACK and CANCEL, which belong to their INVITE's
 * transaction, do not count. Nothing counted them: every call showed {}.
 */
static void test_relayed_requests_counted_in_their_dialog(void **state)
{
	struct shard_dialog *d = shard_dialog_get(&table, SLOT, GEN);
	char inv_branch[128];
	struct relay_result res;
	(void)state;

	assert_int_equal(branch_from_a("INFO", 2, 2, "").outcome, RELAY_SEND);
	assert_int_equal(d->requests[SIP_METHOD_INFO], 1);
	/* its retransmission crosses again, through the same transaction */
	assert_int_equal(branch_from_a("INFO", 2, 2, "").outcome, RELAY_SEND);
	assert_int_equal(d->requests[SIP_METHOD_INFO], 1);
	assert_int_equal(branch_from_a("INFO", 3, 3, "").outcome, RELAY_SEND);
	assert_int_equal(d->requests[SIP_METHOD_INFO], 2);
	/* out of order, answered 500 here: not relayed */
	res = branch_from_a("INFO", 1, 1, "");
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(d->requests[SIP_METHOD_INFO], 2);

	/* the callee's UPDATE, and its retransmission */
	assert_int_equal(request_from_b("UPDATE", 5).outcome, RELAY_SEND);
	assert_int_equal(request_from_b("UPDATE", 5).outcome, RELAY_SEND);
	assert_int_equal(d->requests[SIP_METHOD_UPDATE], 1);

	/* a re-INVITE counts once; its CANCEL and the ACK of its final not */
	sent_from_a("INVITE", 4, 4, inv_branch, sizeof(inv_branch));
	unsigned bcseq = out_m.cseq.num;
	assert_int_equal(answer_from_b(180, inv_branch, bcseq, "INVITE").outcome, RELAY_SEND);
	assert_int_equal(branch_from_a("CANCEL", 4, 4, "").outcome, RELAY_SEND);
	assert_int_equal(answer_from_b(487, inv_branch, bcseq, "INVITE").outcome, RELAY_SEND);
	assert_int_equal(branch_from_a("ACK", 4, 4, "").outcome, RELAY_SEND);
	assert_int_equal(d->requests[SIP_METHOD_INVITE], 1);
	assert_int_equal(d->requests[SIP_METHOD_CANCEL], 0);
	assert_int_equal(d->requests[SIP_METHOD_ACK], 0);

	/* a re-INVITE refused here (422: below timers.min_se_s) */
	rc.min_se_s = 120;
	res = branch_from_a("INVITE", 6, 6, "Supported: timer\r\nSession-Expires: 90\r\n");
	assert_int_equal(res.status, 422);
	rc.min_se_s = 0;
	assert_int_equal(d->requests[SIP_METHOD_INVITE], 1);

	assert_int_equal(branch_from_a("BYE", 7, 7, "").outcome, RELAY_SEND);
	assert_int_equal(d->requests[SIP_METHOD_BYE], 1);
	assert_int_equal(d->requests[SIP_METHOD_INFO], 2);
	assert_int_equal(d->requests[SIP_METHOD_UPDATE], 1);
}

/*
 * A re-INVITE too large to relay is answered 513 here, and leg B never
 * sees it. Its CSeq was once left recorded as the leg's last relayed
 * INVITE, so its ACK was not absorbed like the ACK of the other local
 * answers (422/500/503, RELAY_DROP_ACK_LOCAL_ANSWER): it went to the callee
 * as an ACK for an INVITE CSeq the callee never received, and the ACK
 * mapping (dst->invite_cseq) pointed at that phantom INVITE; and its
 * Contact had already become the caller's remote target.
 */
static void test_ack_of_a_513_given_here_ends_here(void **state)
{
	struct relay_result res;
	(void)state;

	/* as the controller installs it: the caller's INVITE was CSeq 1 */
	shard_dialog_get(&table, SLOT, GEN)->legs[SHARD_LEG_A].invite_cseq_tag =
	    session_cseq_tag(1);
	int n = snprintf(in, sizeof(in),
			 "INVITE sip:bob@127.0.0.1:5060 SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 10.1.1.1:5061;branch=z9hG4bKa2\r\n"
			 "From: <sip:alice@10.1.1.1>;tag=atag\r\n"
			 "To: <sip:bob@sbc>;tag=%s\r\n"
			 "Call-ID: callA@host\r\n"
			 "CSeq: 2 INVITE\r\n"
			 "Max-Forwards: 70\r\n"
			 "Contact: <sip:alice@10.9.9.9:5061>\r\n"
			 "Content-Length: 0\r\n\r\n",
			 a_tag);
	assert_int_equal(sip_parse(&m, in, (size_t)n, NULL), 0);
	relay_request(&rc, &m, out, 300, &res); /* does not fit the send buffer */
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 513);
	/* nor did its Contact become the caller's remote target */
	const struct sip_session *a = &shard_dialog_get(&table, SLOT, GEN)->legs[SHARD_LEG_A];
	assert_int_equal(a->remote_target_len, 23);
	assert_memory_equal(a->remote_target, "sip:alice@10.1.1.1:5061", 23);

	res = branch_from_a("ACK", 2, 2, "");
	print_message("ACK of the 513 given here: outcome %d drop %d\n", res.outcome, res.drop);
	assert_dropped(res, RELAY_DROP_ACK_LOCAL_ANSWER);
}

/* Leg B's NOTIFY (CSeq cseq) of the subscription it names by Event id `id`,
 * relayed to leg A: the id it reached leg A with. */
static unsigned notify_from_b_id(unsigned cseq, unsigned id, const char *substate)
{
	char extra[160];

	snprintf(extra, sizeof(extra),
		 "Event: refer;id=%u\r\nSubscription-State: %s\r\n"
		 "Content-Type: message/sipfrag\r\n",
		 id, substate);
	struct relay_result res = from_b("NOTIFY", cseq, extra);
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_true(sip_view_eq(out, out_m.call_id, "callA@host", 10));
	sip_view package, v;
	assert_int_equal(sip_token_params(out, out_m.event, "id", &package, &v), 0);
	return (unsigned)strtoul(out + v.off, NULL, 10);
}

/* Leg A's SUBSCRIBE (CSeq cseq) refreshing the subscription it names by
 * Event id `id`, relayed to leg B: the id it reached leg B with. */
static unsigned subscribe_from_a_id(unsigned cseq, unsigned id)
{
	char extra[80];

	snprintf(extra, sizeof(extra), "Event: refer;id=%u\r\nExpires: 60\r\n", id);
	struct relay_result res = branch_from_a("SUBSCRIBE", cseq, 900 + cseq, extra);
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_true(sip_view_eq(out, out_m.call_id, "callB@sipshard", 14));
	sip_view package, v;
	assert_int_equal(sip_token_params(out, out_m.event, "id", &package, &v), 0);
	return (unsigned)strtoul(out + v.off, NULL, 10);
}

/* Leg A's REFER with CSeq cseq relayed to leg B: its CSeq there, its branch
 * into branch. */
static uint32_t relayed_refer_from_a(unsigned cseq, char *branch, size_t cap)
{
	struct relay_result res =
	    branch_from_a("REFER", cseq, 800 + cseq, "Refer-To: <sip:carol@10.3.3.3>\r\n");
	assert_int_equal(res.outcome, RELAY_SEND);
	out_branch(branch, cap);
	return out_m.cseq.num;
}

/*
 * A REFER refused (a non-2xx final) creates no subscription (RFC 3515
 * 2.4.2), and one that gets no final neither. The caller's REFER (CSeq 10)
 * reached the callee as our CSeq there, the callee accepted it and names its
 * subscription by that number; the caller's next REFER (CSeq 11), which the
 * callee declined, took the only mapping the dialog keeps: the callee's
 * final NOTIFY about the first reached the caller with the callee's number,
 * a subscription the caller never had (481, the transfer's outcome lost),
 * and the caller's SUBSCRIBE about it crossed unmapped. The refused REFER
 * leaves the first's mapping in force, as does one that expires unanswered;
 * a REFER's own mapping holds while it waits for its final (a NOTIFY may
 * overtake the 202, RFC 3515 2.4.4).
 */
static void test_refused_refer_keeps_the_earlier_refers_id(void **state)
{
	char branch[128];
	struct relay_result res;
	(void)state;

	uint32_t first = relayed_refer_from_a(10, branch, sizeof(branch));
	assert_int_not_equal(first, 10);
	/* its NOTIFY overtakes the 202 */
	assert_int_equal(notify_from_b_id(41, first, "active;expires=60"), 10);
	assert_int_equal(answer_from_b(202, branch, first, "REFER").outcome, RELAY_SEND);
	assert_int_equal(notify_from_b_id(42, first, "active;expires=60"), 10);

	uint32_t second = relayed_refer_from_a(11, branch, sizeof(branch));
	assert_int_equal(notify_from_b_id(43, second, "active;expires=60"), 11);
	res = answer_from_b(603, branch, second, "REFER");
	assert_int_equal(res.outcome, RELAY_SEND);
	/* its retransmission too */
	assert_int_equal(answer_from_b(603, branch, second, "REFER").outcome, RELAY_SEND);
	assert_int_equal(notify_from_b_id(44, first, "active;expires=60"), 10);
	assert_int_equal(subscribe_from_a_id(12, 10), first);

	/* a REFER nobody answers: its transaction expires, no subscription */
	const uint64_t timeout = 32000;
	uint32_t third = relayed_refer_from_a(13, branch, sizeof(branch));
	assert_int_equal(notify_from_b_id(45, third, "active;expires=60"), 13);
	rc.now_ms += timeout + 1;
	while (relay_expire(&rc, timeout, &res) == 0)
		;
	assert_int_equal(notify_from_b_id(46, first, "active;expires=60"), 10);
	assert_int_equal(subscribe_from_a_id(14, 10), first);

	/* two REFERs waiting at once, both declined, the earlier first: the
	 * later one then puts back the pair from before both, not the earlier
	 * one's, which made no subscription either */
	char branch2[128];
	uint32_t x = relayed_refer_from_a(15, branch, sizeof(branch));
	uint32_t y = relayed_refer_from_a(16, branch2, sizeof(branch2));
	assert_int_equal(answer_from_b(603, branch, x, "REFER").outcome, RELAY_SEND);
	assert_int_equal(notify_from_b_id(47, y, "active;expires=60"), 16);
	assert_int_equal(answer_from_b(603, branch2, y, "REFER").outcome, RELAY_SEND);
	assert_int_equal(notify_from_b_id(48, x, "active;expires=60"), x);
	assert_int_equal(notify_from_b_id(49, first, "terminated;reason=noresource"), 10);
	assert_int_equal(subscribe_from_a_id(17, 10), first);
}

/*
 * The same with the callee's REFER crossing the other way: the caller's
 * REFER (CSeq 10) accepted, then the callee's (CSeq 40) reached the caller,
 * which declined it (603). The mapping had become the callee's REFER's,
 * sent to leg A, and a NOTIFY from leg B then mapped nothing: the callee's
 * final NOTIFY about the caller's REFER reached it with the callee's number.
 */
static void test_refused_refer_from_the_other_side_keeps_the_id(void **state)
{
	char branch[128];
	(void)state;

	uint32_t first = relayed_refer_from_a(10, branch, sizeof(branch));
	assert_int_equal(answer_from_b(202, branch, first, "REFER").outcome, RELAY_SEND);
	assert_int_equal(notify_from_b_id(41, first, "active;expires=60"), 10);

	struct relay_result res = from_b("REFER", 42, "Refer-To: <sip:erin@10.3.3.3>\r\n");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_true(sip_view_eq(out, out_m.call_id, "callA@host", 10));
	resp_from_a(603, "REFER");
	relay_response(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);

	assert_int_equal(notify_from_b_id(43, first, "terminated;reason=noresource"), 10);
	assert_int_equal(subscribe_from_a_id(11, 10), first);
}

/*
 * A NOTIFY's Event id was once read into 32 bits without an overflow
 * check: id=4294967301 (2^32 + 5) was taken as 5, the CSeq of the
 * operator's REFER, so a NOTIFY about another subscription was answered
 * here instead of being relayed to the other leg.
 */
static void test_event_id_past_32_bits_names_no_refer(void **state)
{
	struct shard_dialog *d = shard_dialog_get(&table, SLOT, GEN);
	struct relay_result res;
	(void)state;

	shard_refer_start(d, SHARD_LEG_A, 5);
	int n = snprintf(in, sizeof(in),
			 "NOTIFY sip:bob@127.0.0.1:5060 SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 10.1.1.1:5061;branch=z9hG4bKn9\r\n"
			 "From: <sip:alice@10.1.1.1>;tag=atag\r\n"
			 "To: <sip:bob@sbc>;tag=%s\r\n"
			 "Call-ID: callA@host\r\n"
			 "CSeq: 9 NOTIFY\r\n"
			 "Max-Forwards: 70\r\n"
			 "Event: refer;id=4294967301\r\n"
			 "Subscription-State: active\r\n"
			 "Content-Length: 0\r\n\r\n",
			 a_tag);
	assert_int_equal(sip_parse(&m, in, (size_t)n, NULL), 0);
	relay_request(&rc, &m, out, sizeof(out), &res);
	print_message("NOTIFY with id=4294967301 (REFER was CSeq 5): outcome %d status %d, "
		      "refer_notifies %llu\n",
		      res.outcome, res.status, (unsigned long long)rc.refer_notifies);
	assert_int_equal(res.outcome, RELAY_SEND);
}

/*
 * A BYE challenged by the callee (407, RFC 3261 22.3; 401 alike) once ended
 * the dialog here as if it had succeeded: the relay freed the slot and told
 * the controller the call was over, while the callee, who refused the BYE,
 * kept its leg up. The caller's BYE with credentials (next CSeq) was then
 * answered 407 from ended[] (a 407 with no Proxy-Authenticate), and never
 * reached the callee.
 */
static void test_challenged_bye_keeps_the_dialog(void **state)
{
	char branch[128];
	struct relay_result res;
	(void)state;

	sent_from_a("BYE", 20, 20, branch, sizeof(branch));
	res = answer_from_b(407, branch, out_m.cseq.num, "BYE");
	assert_int_equal(res.outcome, RELAY_SEND);
	print_message("407 to the BYE: dialog_ended %d\n", res.dialog_ended);
	bool ended = res.dialog_ended;
	if (ended)
		shard_dialog_free(&table, SLOT); /* as the worker does */

	res = branch_from_a("BYE", 21, 21, "Proxy-Authorization: Digest username=\"a\"\r\n");
	print_message("BYE with credentials: outcome %d status %d (bye_replayed %llu)\n",
		      res.outcome, res.status, (unsigned long long)rc.bye_replayed);
	assert_false(ended);
	assert_int_equal(res.outcome, RELAY_SEND);
}

/*
 * A BYE the other side never answers (its phone lost power): the sender's
 * client transaction times out, and for it the call is over (RFC 3261
 * 15.1.1). The relay once forgot the transaction at
 * timers.transaction_timeout_ms and kept the dialog up until the idle timer
 * (2 h by default): a CDR with end_reason idle_timeout and those hours in
 * duration_ms, a slot and a max_calls place held meanwhile. Its expiry now
 * ends the dialog as the BYE's final would; an INFO nobody answers, or a
 * BYE that was challenged, ends nothing.
 */
static void test_unanswered_bye_ends_the_dialog(void **state)
{
	char branch[128];
	struct relay_result res;
	(void)state;

	const uint64_t timeout = 32000, t0 = rc.now_ms;
	sent_from_a("INFO", 19, 19, branch, sizeof(branch));
	rc.now_ms = t0 + timeout + 1;
	assert_int_equal(relay_expire(&rc, timeout, &res), 0);
	assert_false(res.dialog_ended);
	assert_non_null(shard_dialog_get(&table, SLOT, GEN));

	sent_from_a("BYE", 20, 20, branch, sizeof(branch));
	rc.now_ms += timeout;
	assert_int_equal(relay_expire(&rc, timeout, &res), -EAGAIN);
	assert_false(res.dialog_ended);
	rc.now_ms++;
	assert_int_equal(relay_expire(&rc, timeout, &res), 0);
	assert_true(res.dialog_ended);
	assert_int_equal(res.ended_by_leg, SHARD_LEG_A);
	assert_int_equal(res.ended_slot, SLOT);
	assert_int_equal(res.ended_gen, GEN);
	assert_int_equal(relay_expire(&rc, timeout, &res), -EAGAIN);
	shard_dialog_free(&table, SLOT); /* as the worker does */
	/* the BYE once more, late: 408, what its transaction came to */
	res = branch_from_a("BYE", 20, 20, "");
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 408);
}

static void test_challenged_bye_expiring_keeps_the_dialog(void **state)
{
	char branch[128];
	struct relay_result res;
	(void)state;

	sent_from_a("BYE", 20, 20, branch, sizeof(branch));
	res = answer_from_b(407, branch, out_m.cseq.num, "BYE");
	assert_false(res.dialog_ended);
	rc.now_ms += 32001;
	assert_int_equal(relay_expire(&rc, 32000, &res), 0);
	assert_false(res.dialog_ended);
	assert_non_null(shard_dialog_get(&table, SLOT, GEN));
}

/* An INVITE without an offer: the 2xx brought the callee's offer and the
 * caller's ACK brings the answer (RFC 3261 13.2.1): both legs are stable
 * once it is relayed. They stayed with the offer open for the whole call. */
static void test_ack_with_the_answer_makes_the_session_stable(void **state)
{
	struct shard_dialog *d = shard_dialog_get(&table, SLOT, GEN);
	struct relay_result res;
	(void)state;

	d->legs[SHARD_LEG_A].signaling_state = SIGNALING_STATE_HAVE_LOCAL_OFFER;
	d->legs[SHARD_LEG_B].signaling_state = SIGNALING_STATE_HAVE_REMOTE_OFFER;
	req_from_a("ACK", 1, a_tag, 70); /* with a body */
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_int_equal(d->legs[SHARD_LEG_A].signaling_state, SIGNALING_STATE_STABLE);
	assert_int_equal(d->legs[SHARD_LEG_B].signaling_state, SIGNALING_STATE_STABLE);
}

static void assert_offer_answer(enum signaling_state a, enum signaling_state b, const char *when)
{
	const struct shard_dialog *d = shard_dialog_get(&table, SLOT, GEN);
	if (d->legs[SHARD_LEG_A].signaling_state != a || d->legs[SHARD_LEG_B].signaling_state != b)
		fail_msg("%s: leg A %s, leg B %s; expected %s and %s", when,
			 signaling_state_name(d->legs[SHARD_LEG_A].signaling_state),
			 signaling_state_name(d->legs[SHARD_LEG_B].signaling_state),
			 signaling_state_name(a), signaling_state_name(b));
}

/* Both legs have offer and answer (NULL: none) as `sipshardctl dialogs`
 * shows them (session_answer_shown: no answer while an offer is open). */
static void assert_bodies(const char *offer, const char *answer, const char *when)
{
	static const struct session_body none;
	const struct shard_dialog *d = shard_dialog_get(&table, SLOT, GEN);
	for (int leg = 0; leg < 2; leg++) {
		const struct session_body *o = &d->legs[leg].offer;
		const struct session_body *a = session_answer_shown(&d->legs[leg]);
		if (!a)
			a = &none;
		if (o->len != (offer ? strlen(offer) : 0) ||
		    (offer && memcmp(o->data, offer, o->len)) ||
		    a->len != (answer ? strlen(answer) : 0) ||
		    (answer && memcmp(a->data, answer, a->len)))
			fail_msg("%s: leg %c offer \"%.*s\", answer \"%.*s\"; expected \"%s\" and "
				 "\"%s\"",
				 when, leg ? 'B' : 'A', (int)o->len, o->data, (int)a->len, a->data,
				 offer ? offer : "", answer ? answer : "");
	}
}

/* The caller's offer in the request that carries it, the relayed request out,
 * its branch into branch. */
static void offer_from_a(const char *method, unsigned cseq, char *branch, size_t cap)
{
	struct relay_result res = from_a(method, cseq, ""); /* with a body */
	assert_int_equal(res.outcome, RELAY_SEND);
	parse_out(res.len);
	out_branch(branch, cap);
}

/*
 * Offer/answer in a confirmed dialog (RFC 3264, RFC 6337) as the session
 * model shows it: the design promised it for re-INVITE, UPDATE and PRACK, and
 * the worker tracked only the answer an ACK carries. An offer in a request
 * leaves the sender's leg have-remote-offer and the other have-local-offer;
 * the answer in its 2xx makes both stable; a retransmission of either changes
 * nothing; a failure rejects the offer; an INFO's body is none of it.
 */
static void test_offer_answer_in_the_dialog(void **state)
{
	struct shard_dialog *d = shard_dialog_get(&table, SLOT, GEN);
	char branch[128];
	struct relay_result res;
	(void)state;

	d->legs[SHARD_LEG_A].signaling_state = SIGNALING_STATE_STABLE;
	d->legs[SHARD_LEG_B].signaling_state = SIGNALING_STATE_STABLE;
	offer_from_a("INVITE", 2, branch, sizeof(branch));
	unsigned bcseq = out_m.cseq.num;
	assert_offer_answer(SIGNALING_STATE_HAVE_REMOTE_OFFER, SIGNALING_STATE_HAVE_LOCAL_OFFER,
			    "re-INVITE with an offer");
	assert_bodies("hello", NULL, "re-INVITE with an offer");
	res = from_a("INVITE", 2, ""); /* its retransmission */
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_offer_answer(SIGNALING_STATE_HAVE_REMOTE_OFFER, SIGNALING_STATE_HAVE_LOCAL_OFFER,
			    "the re-INVITE again");
	res = answer_from_b_body(200, branch, bcseq, "INVITE", "v=0\r\n");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_offer_answer(SIGNALING_STATE_STABLE, SIGNALING_STATE_STABLE, "2xx with the answer");
	assert_bodies("hello", "v=0\r\n", "2xx with the answer");
	res = answer_from_b_body(200, branch, bcseq, "INVITE", "v=0\r\n"); /* retransmitted */
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_offer_answer(SIGNALING_STATE_STABLE, SIGNALING_STATE_STABLE, "the 2xx again");
	res = from_a("ACK", 2, "Content-Type: text/plain\r\n"); /* a body in the ACK: no offer */
	assert_offer_answer(SIGNALING_STATE_STABLE, SIGNALING_STATE_STABLE, "ACK after the answer");

	/* an UPDATE's offer refused: the session stays as it was */
	offer_from_a("UPDATE", 3, branch, sizeof(branch));
	res = answer_from_b(488, branch, out_m.cseq.num, "UPDATE");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_offer_answer(SIGNALING_STATE_STABLE, SIGNALING_STATE_STABLE, "UPDATE answered 488");
	assert_bodies("hello", "v=0\r\n", "UPDATE answered 488: the offer and answer before it");

	/* an INFO's body is no session description */
	res = from_a("INFO", 4, "");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_offer_answer(SIGNALING_STATE_STABLE, SIGNALING_STATE_STABLE, "INFO with a body");
	assert_bodies("hello", "v=0\r\n", "INFO with a body");

	/* a re-INVITE without an offer: the 2xx makes it, the ACK answers */
	sent_from_a("INVITE", 5, 5, branch, sizeof(branch));
	assert_offer_answer(SIGNALING_STATE_STABLE, SIGNALING_STATE_STABLE, "offerless re-INVITE");
	res = answer_from_b_body(200, branch, out_m.cseq.num, "INVITE", "v=0\r\n");
	assert_offer_answer(SIGNALING_STATE_HAVE_LOCAL_OFFER, SIGNALING_STATE_HAVE_REMOTE_OFFER,
			    "offer in the 2xx");
	res = from_a("ACK", 5, "");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_offer_answer(SIGNALING_STATE_STABLE, SIGNALING_STATE_STABLE, "answer in the ACK");
	assert_bodies("v=0\r\n", "hello", "answer in the ACK");
}

/*
 * Offer/answer in an early dialog (RFC 3262 5, RFC 6337 2.2, RFC 3311 5.1):
 * the reliable 183 had the answer ("v=1"), then the caller offers again in
 * its PRACK and the callee answers in the PRACK's 2xx; then the same with an
 * UPDATE, and an UPDATE's offer refused. The worker relays both in the
 * early dialog, and tracked them only once the call was confirmed: the
 * session model stayed at the 183's answer.
 */
static void test_offer_answer_in_the_early_dialog(void **state)
{
	struct shard_dialog *d = shard_dialog_get(&table, SLOT, GEN);
	char branch[128];
	struct relay_result res;
	(void)state;

	d->state = SHARD_DLG_EARLY;
	for (int leg = 0; leg < 2; leg++) {
		struct sip_session *s = &d->legs[leg];
		s->session_state = SESSION_STATE_EARLY;
		s->signaling_state = SIGNALING_STATE_STABLE;
		session_body_set(&s->offer, "", 0, "v=9\r\n", 5, SESSION_BODY_MAX);
		session_body_set(&s->answer, "", 0, "v=1\r\n", 5, SESSION_BODY_MAX);
	}
	res = from_a("PRACK", 2, "RAck: 1 1 INVITE\r\n"); /* with a body */
	assert_int_equal(res.outcome, RELAY_SEND);
	parse_out(res.len);
	out_branch(branch, sizeof(branch));
	assert_offer_answer(SIGNALING_STATE_HAVE_REMOTE_OFFER, SIGNALING_STATE_HAVE_LOCAL_OFFER,
			    "offer in the PRACK");
	assert_bodies("hello", NULL, "offer in the PRACK");
	res = answer_from_b_body(200, branch, out_m.cseq.num, "PRACK", "v=0\r\n");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_offer_answer(SIGNALING_STATE_STABLE, SIGNALING_STATE_STABLE,
			    "answer in the PRACK's 2xx");
	assert_bodies("hello", "v=0\r\n", "answer in the PRACK's 2xx");

	/* an UPDATE's offer in the early dialog, answered, then one refused */
	offer_from_a("UPDATE", 3, branch, sizeof(branch));
	assert_offer_answer(SIGNALING_STATE_HAVE_REMOTE_OFFER, SIGNALING_STATE_HAVE_LOCAL_OFFER,
			    "offer in an early UPDATE");
	res = answer_from_b_body(200, branch, out_m.cseq.num, "UPDATE", "v=2\r\n");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_offer_answer(SIGNALING_STATE_STABLE, SIGNALING_STATE_STABLE,
			    "answer in the early UPDATE's 2xx");
	assert_bodies("hello", "v=2\r\n", "answer in the early UPDATE's 2xx");
	offer_from_a("UPDATE", 4, branch, sizeof(branch));
	res = answer_from_b(488, branch, out_m.cseq.num, "UPDATE");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_offer_answer(SIGNALING_STATE_STABLE, SIGNALING_STATE_STABLE,
			    "early UPDATE answered 488");
	assert_bodies("hello", "v=2\r\n", "early UPDATE answered 488");
	assert_int_equal(d->state, SHARD_DLG_EARLY);
}

/* A PRACK (or UPDATE) without a body makes no offer: its failure rejects
 * none (RFC 3264 5 speaks of the offer the failed request made). While the
 * INVITE's offer waits for its answer in the early dialog (a reliable 180
 * without one), a refused bodiless PRACK must leave that offer open: the
 * worker took it for the PRACK's and dropped it. */
static void test_refused_bodiless_prack_keeps_the_invite_offer(void **state)
{
	struct shard_dialog *d = shard_dialog_get(&table, SLOT, GEN);
	char branch[128];
	struct relay_result res;
	(void)state;

	/* as the controller installs it: the INVITE's offer, no answer yet */
	d->state = SHARD_DLG_EARLY;
	d->legs[SHARD_LEG_A].signaling_state = SIGNALING_STATE_HAVE_REMOTE_OFFER;
	d->legs[SHARD_LEG_B].signaling_state = SIGNALING_STATE_HAVE_LOCAL_OFFER;
	for (int leg = 0; leg < 2; leg++) {
		d->legs[leg].session_state = SESSION_STATE_EARLY;
		session_body_set(&d->legs[leg].offer, "", 0, "v=9\r\n", 5, SESSION_BODY_MAX);
	}
	sent_from_a("PRACK", 2, 7, branch, sizeof(branch));
	res = answer_from_b(481, branch, out_m.cseq.num, "PRACK");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_offer_answer(SIGNALING_STATE_HAVE_REMOTE_OFFER, SIGNALING_STATE_HAVE_LOCAL_OFFER,
			    "bodiless PRACK refused");
	assert_bodies("v=9\r\n", NULL, "bodiless PRACK refused");
}

/* The same while an UPDATE's offer is open in the early dialog (the 183 had
 * the INVITE's answer, the caller offers again in an UPDATE): a bodiless
 * PRACK refused then rejects nothing, and the UPDATE's 2xx answers its
 * offer. The worker rejected the open offer, the UPDATE's, at the PRACK's
 * 481, and took the UPDATE's answer for a new offer. */
static void test_refused_bodiless_prack_keeps_the_update_offer(void **state)
{
	struct shard_dialog *d = shard_dialog_get(&table, SLOT, GEN);
	char update_branch[128], prack_branch[128];
	unsigned update_cseq;
	struct relay_result res;
	(void)state;

	d->state = SHARD_DLG_EARLY;
	for (int leg = 0; leg < 2; leg++) {
		struct sip_session *s = &d->legs[leg];
		s->session_state = SESSION_STATE_EARLY;
		s->signaling_state = SIGNALING_STATE_STABLE;
		session_body_set(&s->offer, "", 0, "v=9\r\n", 5, SESSION_BODY_MAX);
		session_body_set(&s->answer, "", 0, "v=1\r\n", 5, SESSION_BODY_MAX);
	}
	offer_from_a("UPDATE", 2, update_branch, sizeof(update_branch));
	update_cseq = out_m.cseq.num;
	sent_from_a("PRACK", 3, 7, prack_branch, sizeof(prack_branch));
	res = answer_from_b(481, prack_branch, out_m.cseq.num, "PRACK");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_offer_answer(SIGNALING_STATE_HAVE_REMOTE_OFFER, SIGNALING_STATE_HAVE_LOCAL_OFFER,
			    "bodiless PRACK refused while an UPDATE offers");
	assert_bodies("hello", NULL, "bodiless PRACK refused while an UPDATE offers");
	res = answer_from_b_body(200, update_branch, update_cseq, "UPDATE", "v=2\r\n");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_offer_answer(SIGNALING_STATE_STABLE, SIGNALING_STATE_STABLE,
			    "answer in the early UPDATE's 2xx");
	assert_bodies("hello", "v=2\r\n", "answer in the early UPDATE's 2xx");
}

/* Both legs as after an exchange of offer "v=9" and answer "v=1", in
 * dialog state st. */
static void stable_with(enum shard_dialog_state st)
{
	struct shard_dialog *d = shard_dialog_get(&table, SLOT, GEN);
	d->state = st;
	for (int leg = 0; leg < 2; leg++) {
		struct sip_session *s = &d->legs[leg];
		s->signaling_state = SIGNALING_STATE_STABLE;
		session_body_set(&s->offer, "", 0, "v=9\r\n", 5, SESSION_BODY_MAX);
		session_body_set(&s->answer, "", 0, "v=1\r\n", 5, SESSION_BODY_MAX);
	}
}

/* The callee's offer "v=3" in a request (leg B to A), relayed; the branch
 * and CSeq it went to leg A with into branch and *cseq. */
static struct relay_result request_with_offer_from_b(const char *method, unsigned bcseq)
{
	struct relay_result res;
	int n = snprintf(in, sizeof(in),
			 "%s sip:alice@127.0.0.1:5060 SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 10.2.2.2:5080;branch=z9hG4bKb%u\r\n"
			 "From: <sip:bob@10.2.2.2>;tag=btag\r\n"
			 "To: <sip:alice@127.0.0.1:5060>;tag=%s\r\n"
			 "Call-ID: callB@sipshard\r\n"
			 "CSeq: %u %s\r\n"
			 "Max-Forwards: 70\r\n"
			 "Contact: <sip:bob@10.2.2.2:5080>\r\n"
			 "Content-Type: application/sdp\r\n"
			 "Content-Length: 5\r\n\r\nv=3\r\n",
			 method, bcseq, b_tag, bcseq, method);
	assert_int_equal(sip_parse(&m, in, (size_t)n, NULL), 0);
	relay_request(&rc, &m, out, sizeof(out), &res);
	return res;
}

static void offer_from_b(const char *method, unsigned bcseq, char *branch, size_t cap,
			 unsigned *cseq)
{
	struct relay_result res = request_with_offer_from_b(method, bcseq);
	assert_int_equal(res.outcome, RELAY_SEND);
	parse_out(res.len);
	out_branch(branch, cap);
	*cseq = out_m.cseq.num;
}

static struct relay_result answer_from_a(int status, const char *branch, unsigned cseq,
					 const char *method);

/*
 * A re-INVITE's or UPDATE's offer refused (488, 491): "the session
 * parameters remain unchanged, as if no re-INVITE had been issued" (RFC 3261
 * 14.1; RFC 3311 5.1 for UPDATE), and SIP.js rolls back to the offer and
 * answer in force. Both legs went Stable with no offer and the last answer:
 * the offer in force before the refused one was lost. From either side; a
 * later offer and answer are kept as usual.
 */
static void test_refused_offer_from_a_brings_back_the_session(void **state)
{
	char branch[128];
	struct relay_result res;
	(void)state;

	stable_with(SHARD_DLG_CONFIRMED);
	offer_from_a("INVITE", 2, branch, sizeof(branch));
	assert_bodies("hello", NULL, "re-INVITE with an offer");
	res = answer_from_b(488, branch, out_m.cseq.num, "INVITE");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_offer_answer(SIGNALING_STATE_STABLE, SIGNALING_STATE_STABLE, "re-INVITE refused");
	assert_bodies("v=9\r\n", "v=1\r\n", "re-INVITE refused");
	from_a("ACK", 2, "");

	offer_from_a("UPDATE", 3, branch, sizeof(branch));
	res = answer_from_b(491, branch, out_m.cseq.num, "UPDATE");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_offer_answer(SIGNALING_STATE_STABLE, SIGNALING_STATE_STABLE, "UPDATE refused");
	assert_bodies("v=9\r\n", "v=1\r\n", "UPDATE refused");

	offer_from_a("UPDATE", 4, branch, sizeof(branch));
	res = answer_from_b_body(200, branch, out_m.cseq.num, "UPDATE", "v=2\r\n");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_offer_answer(SIGNALING_STATE_STABLE, SIGNALING_STATE_STABLE, "UPDATE answered");
	assert_bodies("hello", "v=2\r\n", "UPDATE answered");
}

static void test_refused_offer_from_b_brings_back_the_session(void **state)
{
	char branch[128];
	unsigned cseq;
	struct relay_result res;
	(void)state;

	stable_with(SHARD_DLG_CONFIRMED);
	offer_from_b("INVITE", 2, branch, sizeof(branch), &cseq);
	assert_offer_answer(SIGNALING_STATE_HAVE_LOCAL_OFFER, SIGNALING_STATE_HAVE_REMOTE_OFFER,
			    "re-INVITE with the callee's offer");
	assert_bodies("v=3\r\n", NULL, "re-INVITE with the callee's offer");
	res = answer_from_a(488, branch, cseq, "INVITE");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_offer_answer(SIGNALING_STATE_STABLE, SIGNALING_STATE_STABLE, "re-INVITE refused");
	assert_bodies("v=9\r\n", "v=1\r\n", "the callee's re-INVITE refused");

	offer_from_b("UPDATE", 3, branch, sizeof(branch), &cseq);
	res = answer_from_a(491, branch, cseq, "UPDATE");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_offer_answer(SIGNALING_STATE_STABLE, SIGNALING_STATE_STABLE, "UPDATE refused");
	assert_bodies("v=9\r\n", "v=1\r\n", "the callee's UPDATE refused");
}

/* The same in an early dialog: the caller's UPDATE refused, then the
 * callee's. */
static void test_refused_early_update_brings_back_the_session(void **state)
{
	struct shard_dialog *d = shard_dialog_get(&table, SLOT, GEN);
	char branch[128];
	unsigned cseq;
	struct relay_result res;
	(void)state;

	stable_with(SHARD_DLG_EARLY);
	offer_from_a("UPDATE", 2, branch, sizeof(branch));
	res = answer_from_b(488, branch, out_m.cseq.num, "UPDATE");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_offer_answer(SIGNALING_STATE_STABLE, SIGNALING_STATE_STABLE, "early UPDATE refused");
	assert_bodies("v=9\r\n", "v=1\r\n", "the caller's early UPDATE refused");
	offer_from_b("UPDATE", 2, branch, sizeof(branch), &cseq);
	res = answer_from_a(488, branch, cseq, "UPDATE");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_offer_answer(SIGNALING_STATE_STABLE, SIGNALING_STATE_STABLE, "early UPDATE refused");
	assert_bodies("v=9\r\n", "v=1\r\n", "the callee's early UPDATE refused");
	/* the first exchange stays done (the install at the 2xx keeps these) */
	assert_true(session_answered(&d->legs[SHARD_LEG_B]));
	assert_int_equal(d->state, SHARD_DLG_EARLY);
}

/*
 * Glare of offers in a confirmed call (RFC 3311 5.2; RFC 3264 4: no new
 * offer before the last one has its answer). The caller's UPDATE offer
 * "hello" is on its way to the callee when the callee's own UPDATE offer
 * "v=3" comes: sipshard, the callee's UAS with an offer of its own open on
 * that leg, must answer it 491. It was relayed, and its body taken for the
 * answer to the caller's offer: both legs Stable with "v=3" as the answer,
 * and the callee's 491 to the caller's UPDATE then rejected nothing, so the
 * session model kept an exchange that never happened. The same for a
 * re-INVITE offer crossing an UPDATE's, and a caller's second offer before
 * its first has its answer (500, RFC 3311 5.2).
 */
static void test_crossing_offers_answered_491(void **state)
{
	char branch[128];
	struct relay_result res;
	(void)state;

	stable_with(SHARD_DLG_CONFIRMED);
	offer_from_a("UPDATE", 2, branch, sizeof(branch));
	unsigned bcseq = out_m.cseq.num;
	res = request_with_offer_from_b("UPDATE", 2);
	const struct shard_dialog *d = shard_dialog_get(&table, SLOT, GEN);
	print_message("callee's UPDATE offer crossing the caller's: outcome %d status %d, "
		      "then leg A %s, leg B %s\n",
		      res.outcome, res.status,
		      signaling_state_name(d->legs[SHARD_LEG_A].signaling_state),
		      signaling_state_name(d->legs[SHARD_LEG_B].signaling_state));
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 491);
	assert_offer_answer(SIGNALING_STATE_HAVE_REMOTE_OFFER, SIGNALING_STATE_HAVE_LOCAL_OFFER,
			    "crossing UPDATE offers");
	assert_bodies("hello", NULL, "crossing UPDATE offers");
	res = request_with_offer_from_b("INVITE", 3);
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 491);
	res = from_a("UPDATE", 3, ""); /* the caller's second offer */
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 500);
	assert_offer_answer(SIGNALING_STATE_HAVE_REMOTE_OFFER, SIGNALING_STATE_HAVE_LOCAL_OFFER,
			    "offers refused while one is open");
	/* the callee refuses the caller's offer as glare too (it had one out) */
	res = answer_from_b(491, branch, bcseq, "UPDATE");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_offer_answer(SIGNALING_STATE_STABLE, SIGNALING_STATE_STABLE, "both refused");
	assert_bodies("v=9\r\n", "v=1\r\n", "both refused");
	/* the callee tries again: an offer as usual */
	res = request_with_offer_from_b("UPDATE", 4);
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_offer_answer(SIGNALING_STATE_HAVE_LOCAL_OFFER, SIGNALING_STATE_HAVE_REMOTE_OFFER,
			    "the callee's offer after the glare");
}

/* A response goes back to the address its request came from (RFC 3261
 * 18.2.2, RFC 3581 4; README: "back to the address it came from"): a
 * carrier whose in-dialog request comes from another signalling node than
 * the one the call was set up with. It went to the leg's peer, the address
 * of the call's set-up, and that node never got its final (its BYE's
 * neither). A request from the peer's own address gets its response there. */
static void test_response_goes_back_to_the_requests_source(void **state)
{
	const struct shard_dialog *d = shard_dialog_get(&table, SLOT, GEN);
	struct sockaddr_in other = {.sin_family = AF_INET, .sin_port = htons(5999)};
	char branch[128];
	struct relay_result res;
	(void)state;

	assert_int_equal(inet_pton(AF_INET, "127.0.0.5", &other.sin_addr), 1);
	rc.src = (const struct sockaddr *)&other;
	rc.src_len = sizeof(other);
	sent_from_a("INFO", 2, 2, branch, sizeof(branch));
	rc.src = NULL;
	rc.src_len = 0;
	res = answer_from_b(200, branch, out_m.cseq.num, "INFO");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_int_equal(res.dst_len, sizeof(other));
	assert_memory_equal(res.dst, &other, sizeof(other));

	rc.src = (const struct sockaddr *)&d->legs[SHARD_LEG_A].peer;
	rc.src_len = d->legs[SHARD_LEG_A].peer_len;
	sent_from_a("INFO", 3, 3, branch, sizeof(branch));
	rc.src = NULL;
	rc.src_len = 0;
	res = answer_from_b(200, branch, out_m.cseq.num, "INFO");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_ptr_equal(res.dst, &d->legs[SHARD_LEG_A].peer);
}

/* The answers sipshard gives the requests still open when a call ends
 * (relay_end_pending) go where those requests came from, as their finals
 * would have: a re-INVITE's 487, sent again until its ACK (resent[]), too.
 * They went to the leg's peer, the address of the call's set-up, and a
 * carrier's other signalling node never got them. */
static void test_end_answers_go_to_the_requests_source(void **state)
{
	struct shard_dialog *d = shard_dialog_get(&table, SLOT, GEN);
	struct sockaddr_in other = {.sin_family = AF_INET, .sin_port = htons(5999)};
	struct sockaddr_in6 to;
	socklen_t to_len;
	char branch[128];
	(void)state;

	assert_int_equal(inet_pton(AF_INET, "127.0.0.5", &other.sin_addr), 1);
	rc.src = (const struct sockaddr *)&other;
	rc.src_len = sizeof(other);
	sent_from_a("INVITE", 2, 2, branch, sizeof(branch));
	rc.src = (const struct sockaddr *)&d->legs[SHARD_LEG_A].peer;
	rc.src_len = d->legs[SHARD_LEG_A].peer_len;
	sent_from_a("INFO", 3, 3, branch, sizeof(branch));
	rc.src = NULL;
	rc.src_len = 0;

	/* the INFO, the leg's last request, from the peer's own address */
	int n = relay_end_pending(&rc, d, SHARD_LEG_A, out, sizeof(out), &to, &to_len);
	assert_true(n > 0);
	parse_out(n);
	assert_int_equal(out_m.status, 487);
	assert_int_equal(out_m.cseq.num, 3);
	assert_int_equal(to_len, d->legs[SHARD_LEG_A].peer_len);
	assert_memory_equal(&to, &d->legs[SHARD_LEG_A].peer, to_len);

	/* the re-INVITE, from the other node */
	n = relay_end_pending(&rc, d, SHARD_LEG_A, out, sizeof(out), &to, &to_len);
	assert_true(n > 0);
	parse_out(n);
	assert_int_equal(out_m.status, 487);
	assert_int_equal(out_m.cseq.num, 2);
	assert_int_equal(to_len, sizeof(other));
	assert_memory_equal(&to, &other, sizeof(other));
	/* and its 487 is sent again there until its ACK */
	unsigned kept = 0;
	for (unsigned i = 0; i < RELAY_RESENT_SLOTS; i++) {
		if (!rc.resent[i].busy)
			continue;
		kept++;
		assert_int_equal(rc.resent[i].peer_len, sizeof(other));
		assert_memory_equal(&rc.resent[i].peer, &other, sizeof(other));
	}
	assert_int_equal(kept, 1);
	assert_int_equal(relay_end_pending(&rc, d, SHARD_LEG_A, out, sizeof(out), &to, &to_len), 0);
}

/* The callee's 2xx to the caller's re-INVITE offer does not fit the send
 * buffer once written for the caller (the caller's Vias back, a long
 * header of the callee's, a small tx_buffer_size): the caller gets 500
 * from here, and the offer is refused as for any failure (RFC 3264 5). It
 * was dropped (drops.no_buffer): the caller, its re-INVITE past its
 * provisional, never got a final. */
static void test_final_too_large_answered_500(void **state)
{
	char branch[128], pad[700];
	struct relay_result res;
	(void)state;

	stable_with(SHARD_DLG_CONFIRMED);
	offer_from_a("INVITE", 2, branch, sizeof(branch));
	memset(pad, 'x', sizeof(pad) - 3);
	memcpy(pad, "X-Pad: ", 7);
	memcpy(pad + sizeof(pad) - 3, "\r\n", 3);
	char small[600];
	resp_from_b(200, "INVITE", pad);
	relay_response(&rc, &m, small, sizeof(small), &res);
	print_message("2xx too large: outcome %d, %.12s\n", res.outcome,
		      res.outcome == RELAY_SEND ? small : "");
	assert_int_equal(res.outcome, RELAY_SEND);
	int len = res.len;
	/* a copy of that 2xx (out_m is still the relayed re-INVITE): stale,
	 * no second 500 */
	resp_from_b(200, "INVITE", pad);
	relay_response(&rc, &m, out, 600, &res);
	assert_dropped(res, RELAY_DROP_RESP_STALE);
	memcpy(out, small, (size_t)len);
	parse_out(len);
	assert_int_equal(out_m.status, 500);
	assert_int_equal(out_m.cseq.num, 2);
	assert_int_equal(rc.responses_too_large, 1);
	assert_offer_answer(SIGNALING_STATE_STABLE, SIGNALING_STATE_STABLE, "the 2xx too large");
	assert_bodies("v=9\r\n", "v=1\r\n", "the 2xx too large");
}

/* The branch of the ACK sipshard sends for a 2xx is its own transaction's
 * (RFC 3261 17.1.1.3) and must be unique across space and time (8.1.1.7).
 * It was made of the slot, generation and CSeq alone, the same in every
 * process that started with empty tables. A copy of that ACK keeps its
 * branch; the same slot, generation and CSeq in another call (another
 * local tag, which holds a random salt) give another. */
static void test_ack_branch_unique_across_calls(void **state)
{
	struct shard_dialog *d = shard_dialog_get(&table, SLOT, GEN);
	char branch[128], first[128], again[128], other[128];
	struct relay_result res;
	(void)state;

	sent_from_a("INVITE", 2, 2, branch, sizeof(branch));
	res = answer_from_b(200, branch, out_m.cseq.num, "INVITE");
	assert_int_equal(res.outcome, RELAY_SEND);
	res = branch_from_a("ACK", 2, 3, "");
	assert_int_equal(res.outcome, RELAY_SEND);
	out_branch(first, sizeof(first));
	res = branch_from_a("ACK", 2, 3, "");
	assert_int_equal(res.outcome, RELAY_SEND);
	out_branch(again, sizeof(again));
	assert_string_equal(first, again);
	/* another call in this slot and generation: its own tag */
	SESSION_SET(&d->legs[SHARD_LEG_B], local_tag, "0123456789abcdef", 16);
	res = branch_from_a("ACK", 2, 3, "");
	assert_int_equal(res.outcome, RELAY_SEND);
	out_branch(other, sizeof(other));
	print_message("ACK branches: %s, %s\n", first, other);
	assert_string_not_equal(first, other);
}

/*
 * The same glare when the sender of the open offer sent another request
 * after it (RFC 3311 5.2). The caller's re-INVITE offer waits for its final
 * (the callee sent only 100) when the caller sends an INFO; the callee's
 * UPDATE offer then crossed it: the check looked at the leg's last request
 * only, the INFO, so the UPDATE was relayed and its body taken for the
 * re-INVITE's answer, and the callee's 200 with the real answer read as a
 * new offer. Likewise the caller's own second offer.
 */
static void test_offer_glare_after_another_request_of_the_sender(void **state)
{
	char branch[128];
	struct relay_result res;
	(void)state;

	stable_with(SHARD_DLG_CONFIRMED);
	offer_from_a("INVITE", 2, branch, sizeof(branch));
	unsigned bcseq = out_m.cseq.num;
	res = branch_from_a("INFO", 3, 3, "");
	assert_int_equal(res.outcome, RELAY_SEND);
	res = request_with_offer_from_b("UPDATE", 2);
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 491);
	res = from_a("UPDATE", 4, ""); /* the caller's second offer */
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 500);
	assert_offer_answer(SIGNALING_STATE_HAVE_REMOTE_OFFER, SIGNALING_STATE_HAVE_LOCAL_OFFER,
			    "offers refused while the re-INVITE's is open");
	assert_bodies("hello", NULL, "offers refused while the re-INVITE's is open");
	res = answer_from_b_body(200, branch, bcseq, "INVITE", "v=5\r\n");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_offer_answer(SIGNALING_STATE_STABLE, SIGNALING_STATE_STABLE, "the re-INVITE's 2xx");
	assert_bodies("hello", "v=5\r\n", "the re-INVITE's 2xx");
}

/*
 * In an early dialog the call's INVITE made the first offer, which has no
 * answer yet (the callee rang with an unreliable 180): the callee's UPDATE
 * with an offer must get 491 and the caller's 500 (RFC 3311 5.2). The
 * INVITE is the controller's, with no transaction in the worker, so the
 * check found none: the callee's UPDATE was relayed and its offer taken for
 * the INVITE's answer, and the 200's real answer was then ignored.
 */
static void test_early_offer_before_the_invites_answer_refused(void **state)
{
	struct shard_dialog *d = shard_dialog_get(&table, SLOT, GEN);
	struct relay_result res;
	(void)state;

	/* as the controller installs it: the INVITE's offer, no answer yet */
	d->state = SHARD_DLG_EARLY;
	d->legs[SHARD_LEG_A].signaling_state = SIGNALING_STATE_HAVE_REMOTE_OFFER;
	d->legs[SHARD_LEG_B].signaling_state = SIGNALING_STATE_HAVE_LOCAL_OFFER;
	for (int leg = 0; leg < 2; leg++) {
		d->legs[leg].session_state = SESSION_STATE_EARLY;
		session_body_set(&d->legs[leg].offer, "", 0, "v=9\r\n", 5, SESSION_BODY_MAX);
		session_body_clear(&d->legs[leg].answer);
	}
	res = request_with_offer_from_b("UPDATE", 2);
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 491);
	res = from_a("UPDATE", 2, "");
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 500);
	assert_offer_answer(SIGNALING_STATE_HAVE_REMOTE_OFFER, SIGNALING_STATE_HAVE_LOCAL_OFFER,
			    "early offers before the INVITE's answer");
	assert_bodies("v=9\r\n", NULL, "early offers before the INVITE's answer");
}

/*
 * The body of an INVITE or UPDATE is always an offer (RFC 3261 13.2.1, RFC
 * 3311 5.1). The callee's 2xx to the caller's offerless re-INVITE made an
 * offer that the caller's ACK did not answer (a peer that broke the rules):
 * the caller's next re-INVITE offer was read as the answer to it, both legs
 * Stable with it as the answer, and the callee's 200 with the real answer
 * then as a new offer. It is an offer, and refused it brings back the
 * session in force before the unanswered one.
 */
static void test_invite_body_after_an_unanswered_offer_is_an_offer(void **state)
{
	char branch[128];
	struct relay_result res;
	(void)state;

	stable_with(SHARD_DLG_CONFIRMED);
	sent_from_a("INVITE", 2, 2, branch, sizeof(branch));
	res = answer_from_b_body(200, branch, out_m.cseq.num, "INVITE", "v=3\r\n");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_offer_answer(SIGNALING_STATE_HAVE_LOCAL_OFFER, SIGNALING_STATE_HAVE_REMOTE_OFFER,
			    "offer in the 2xx");
	res = branch_from_a("ACK", 2, 2, ""); /* no answer in it */
	assert_int_equal(res.outcome, RELAY_SEND);

	offer_from_a("INVITE", 3, branch, sizeof(branch));
	unsigned bcseq = out_m.cseq.num;
	assert_offer_answer(SIGNALING_STATE_HAVE_REMOTE_OFFER, SIGNALING_STATE_HAVE_LOCAL_OFFER,
			    "the caller's re-INVITE offer");
	assert_bodies("hello", NULL, "the caller's re-INVITE offer");
	res = answer_from_b(488, branch, bcseq, "INVITE");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_offer_answer(SIGNALING_STATE_STABLE, SIGNALING_STATE_STABLE, "re-INVITE refused");
	assert_bodies("v=9\r\n", "v=1\r\n", "re-INVITE refused");
	from_a("ACK", 3, "");

	offer_from_a("INVITE", 4, branch, sizeof(branch));
	res = answer_from_b_body(200, branch, out_m.cseq.num, "INVITE", "v=5\r\n");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_offer_answer(SIGNALING_STATE_STABLE, SIGNALING_STATE_STABLE, "answered");
	assert_bodies("hello", "v=5\r\n", "answered");
}

/*
 * An offer whose request never gets a final (the callee's phone went away,
 * or answered somewhere else): its transaction expires
 * (timers.transaction_timeout_ms), and no final can cross after it. A
 * timeout is a failure (RFC 3261 8.1.3.1: 408) and rejects the offer like
 * any (14.1, RFC 3311 5.1). The legs stayed have-remote-offer and
 * have-local-offer for the rest of the call, `dialogs` showed no answer, and
 * the callee's next offer was taken for the answer to the dead one.
 */
static void test_expired_offer_brings_back_the_session(void **state)
{
	char branch[128];
	struct relay_result res;
	(void)state;

	const uint64_t timeout = 32000;
	stable_with(SHARD_DLG_CONFIRMED);
	offer_from_a("UPDATE", 2, branch, sizeof(branch));
	rc.now_ms += timeout + 1;
	assert_int_equal(relay_expire(&rc, timeout, &res), 0);
	assert_false(res.dialog_ended);
	assert_offer_answer(SIGNALING_STATE_STABLE, SIGNALING_STATE_STABLE,
			    "the offer's transaction expired");
	assert_bodies("v=9\r\n", "v=1\r\n", "the offer's transaction expired");
	/* answered, then expired: nothing changes */
	offer_from_a("UPDATE", 3, branch, sizeof(branch));
	res = answer_from_b_body(200, branch, out_m.cseq.num, "UPDATE", "v=2\r\n");
	assert_int_equal(res.outcome, RELAY_SEND);
	rc.now_ms += timeout + 1;
	assert_int_equal(relay_expire(&rc, timeout, &res), 0);
	assert_offer_answer(SIGNALING_STATE_STABLE, SIGNALING_STATE_STABLE, "answered, expired");
	assert_bodies("hello", "v=2\r\n", "answered, expired");
}

/* An offer refused when none was made before it (an INVITE and 2xx without
 * bodies): as if it had not been made, no offer, no answer, and Initial, so
 * that the next offer is read as the first. */
static void test_refused_first_offer_leaves_none(void **state)
{
	struct shard_dialog *d = shard_dialog_get(&table, SLOT, GEN);
	char branch[128];
	struct relay_result res;
	(void)state;

	offer_from_a("UPDATE", 2, branch, sizeof(branch));
	assert_offer_answer(SIGNALING_STATE_HAVE_REMOTE_OFFER, SIGNALING_STATE_HAVE_LOCAL_OFFER,
			    "the first offer");
	res = answer_from_b(488, branch, out_m.cseq.num, "UPDATE");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_offer_answer(SIGNALING_STATE_INITIAL, SIGNALING_STATE_INITIAL,
			    "the first offer refused");
	assert_bodies(NULL, NULL, "the first offer refused");
	assert_false(session_answered(&d->legs[SHARD_LEG_A]));
	assert_false(session_answered(&d->legs[SHARD_LEG_B]));
}

/* A BYE while an offer is open: the listing of the Closed legs shows that
 * offer and no answer (SIP.js has none then); it showed the offer in force
 * before it as leg B's answer. */
static void test_bye_with_an_offer_open_shows_no_answer(void **state)
{
	char branch[128];
	(void)state;

	stable_with(SHARD_DLG_CONFIRMED);
	offer_from_a("UPDATE", 2, branch, sizeof(branch));
	sent_from_a("BYE", 3, 3, branch, sizeof(branch));
	assert_offer_answer(SIGNALING_STATE_CLOSED, SIGNALING_STATE_CLOSED, "BYE");
	assert_bodies("hello", NULL, "BYE while an UPDATE offers");
}

/*
 * A BYE relayed ends the session on both legs (RFC 3261 15.1.1: its sender
 * takes the session as terminated once the BYE is sent; 15.1.2: so does its
 * receiver; SIP.js Session: Terminated, signalling Closed): the record stays
 * until the BYE's final (up to timers.transaction_timeout_ms when the other
 * side does not answer), and meanwhile sipshardctl dialogs showed the call
 * Confirmed and Stable, as if still up. A body after it is no offer.
 */
static void test_bye_terminates_both_legs(void **state)
{
	struct shard_dialog *d = shard_dialog_get(&table, SLOT, GEN);
	char branch[128];
	struct relay_result res;
	(void)state;

	for (int leg = 0; leg < 2; leg++) {
		d->legs[leg].session_state = SESSION_STATE_CONFIRMED;
		d->legs[leg].signaling_state = SIGNALING_STATE_STABLE;
	}
	sent_from_a("BYE", 20, 20, branch, sizeof(branch));
	for (int leg = 0; leg < 2; leg++) {
		if (d->legs[leg].session_state != SESSION_STATE_TERMINATED ||
		    d->legs[leg].signaling_state != SIGNALING_STATE_CLOSED)
			fail_msg("BYE relayed: leg %c %s/%s; expected Terminated/Closed",
				 leg ? 'B' : 'A', session_state_name(d->legs[leg].session_state),
				 signaling_state_name(d->legs[leg].signaling_state));
	}
	/* a session description crossing the BYE is no new offer */
	assert_false(session_sdp_from_peer(&d->legs[SHARD_LEG_B], &d->legs[SHARD_LEG_A], "", 0,
					   "v=0\r\n", 5, true));
	assert_offer_answer(SIGNALING_STATE_CLOSED, SIGNALING_STATE_CLOSED, "SDP after the BYE");
	res = answer_from_b(200, branch, out_m.cseq.num, "BYE");
	assert_true(res.dialog_ended);
}

/* ---- requests still open when their dialog ends ---- */

/* As the worker ends dialog SLOT (worker.c free_dialog): each leg's open
 * requests are answered (relay_end_pending), then the record is freed. The
 * answers for leg A are parsed one after another into out_m; how many. */
static int end_dialog_like_the_worker(int *b_answers)
{
	struct shard_dialog *d = shard_dialog_get(&table, SLOT, GEN);
	int a = 0, b = 0, n;

	assert_non_null(d);
	while ((n = relay_end_pending(&rc, d, SHARD_LEG_B, out, sizeof(out), NULL, NULL)) > 0)
		b++;
	while ((n = relay_end_pending(&rc, d, SHARD_LEG_A, out, sizeof(out), NULL, NULL)) > 0) {
		parse_out(n);
		a++;
	}
	assert_int_equal(n, 0);
	shard_dialog_free(&table, SLOT);
	if (b_answers)
		*b_answers = b;
	return a;
}

/* res is the ACK of leg B's final `status` to the re-INVITE sent to it as
 * CSeq bcseq with inv_branch, sent back where that final came from. */
static void assert_late_final_acked(struct relay_result res, int status, const char *inv_branch,
				    unsigned bcseq)
{
	char branch[128];

	print_message("late %d to the re-INVITE: outcome %d drop %d\n", status, res.outcome,
		      res.drop);
	assert_int_equal(res.outcome, RELAY_ANSWER);
	parse_out(res.len);
	assert_true(out_m.is_request);
	assert_int_equal(out_m.method_id, SIP_METHOD_ACK);
	assert_int_equal(out_m.cseq.num, bcseq);
	assert_int_equal(out_m.cseq.method_id, SIP_METHOD_ACK);
	assert_true(sip_view_eq(out, out_m.call_id, "callB@sipshard", 14));
	assert_true(sip_view_eq(out, out_m.to.tag, "btag", 4));
	assert_true(sip_view_eq(out, out_m.from.tag, b_tag, strlen(b_tag)));
	out_branch(branch, sizeof(branch));
	if (status < 300) {
		/* 13.2.2.4: a transaction of its own, to the 2xx's Contact */
		assert_true(sip_view_eq(out, out_m.ruri.whole, "sip:bob@10.2.2.2:5080", 21));
		assert_string_not_equal(branch, inv_branch);
	} else {
		/* 17.1.1.3: the INVITE's transaction, its branch */
		assert_string_equal(branch, inv_branch);
	}
	/* nothing of leg A's reaches leg B */
	assert_null(memmem(out, (size_t)res.len, "10.1.1", 6));
	assert_null(memmem(out, (size_t)res.len, "callA", 5));
}

/*
 * The operator ends a call (sipshardctl bye) while the caller's re-INVITE
 * waits for the callee's final. The caller, whose INVITE sipshard serves,
 * gets 487 for it (RFC 3261 15.1.2), and the callee's 200 that comes after
 * the end is ACKed by sipshard, the re-INVITE's UAC on leg B (13.2.2.4), each
 * time it is sent again, and not relayed. It was dropped as stale, never
 * ACKed: the callee resent it for 64*T1, and the caller got no final.
 */
static void test_late_2xx_after_the_operators_bye_is_acked(void **state)
{
	char inv_branch[128], first_ack[SIP_MAX_DATAGRAM];
	struct relay_result res;
	int b_answers;
	(void)state;

	sent_from_a("INVITE", 2, 2, inv_branch, sizeof(inv_branch));
	unsigned bcseq = out_m.cseq.num;
	int a_answers = end_dialog_like_the_worker(&b_answers);
	print_message("answers at the end: leg A %d, leg B %d\n", a_answers, b_answers);
	assert_int_equal(a_answers, 1);
	assert_int_equal(b_answers, 0);
	assert_int_equal(out_m.status, 487);
	assert_int_equal(out_m.cseq.num, 2);
	assert_int_equal(out_m.cseq.method_id, SIP_METHOD_INVITE);
	assert_true(sip_view_eq(out, out_m.vias[0].branch, "z9hG4bKa2", 9));
	assert_true(sip_view_eq(out, out_m.to.tag, a_tag, strlen(a_tag)));
	assert_int_equal(rc.pending_ended, 1);

	res = answer_from_b(200, inv_branch, bcseq, "INVITE");
	assert_late_final_acked(res, 200, inv_branch, bcseq);
	memcpy(first_ack, out, (size_t)res.len);
	int first_len = res.len;
	/* the callee sends the 2xx again (13.3.1.4): the same ACK again */
	res = answer_from_b(200, inv_branch, bcseq, "INVITE");
	assert_late_final_acked(res, 200, inv_branch, bcseq);
	assert_int_equal(res.len, first_len);
	assert_memory_equal(out, first_ack, (size_t)first_len);
	assert_int_equal(rc.late_finals_acked, 2);
	assert_int_equal(rc.relayed_resp, 0);
}

/*
 * The caller's BYE while its own re-INVITE waits for the callee's final;
 * the callee answers the BYE, then the re-INVITE 200. The 200 is ACKed
 * here, and the caller's re-INVITE, still open when the BYE ended the
 * dialog, was answered 487 then.
 */
static void test_late_2xx_after_the_callers_bye_is_acked(void **state)
{
	char inv_branch[128], bye_branch[128];
	struct relay_result res;
	(void)state;

	sent_from_a("INVITE", 2, 2, inv_branch, sizeof(inv_branch));
	unsigned bcseq = out_m.cseq.num;
	sent_from_a("BYE", 3, 3, bye_branch, sizeof(bye_branch));
	res = answer_from_b(200, bye_branch, out_m.cseq.num, "BYE");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_true(res.dialog_ended);
	assert_int_equal(end_dialog_like_the_worker(NULL), 1);
	assert_int_equal(out_m.status, 487);
	assert_int_equal(out_m.cseq.num, 2);

	res = answer_from_b(200, inv_branch, bcseq, "INVITE");
	assert_late_final_acked(res, 200, inv_branch, bcseq);
}

/* Leg A's answer, through sipshard's Via branch, to the request from leg B
 * that was relayed to it as CSeq cseq. */
static struct relay_result answer_from_a(int status, const char *branch, unsigned cseq,
					 const char *method)
{
	struct relay_result res;
	int n = snprintf(resp_in, sizeof(resp_in),
			 "SIP/2.0 %d Whatever\r\n"
			 "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=%s;rport\r\n"
			 "From: <sip:bob@sbc>;tag=%s\r\n"
			 "To: <sip:alice@10.1.1.1>;tag=atag\r\n"
			 "Call-ID: callA@host\r\n"
			 "CSeq: %u %s\r\n"
			 "Content-Length: 0\r\n\r\n",
			 status, branch, a_tag, cseq, method);
	assert_int_equal(sip_parse(&m, resp_in, (size_t)n, NULL), 0);
	relay_response(&rc, &m, out, sizeof(out), &res);
	return res;
}

/*
 * The callee's BYE while the caller's re-INVITE waits for the callee's
 * final. The callee answers the re-INVITE 487 (15.1.2): before the caller
 * has answered the BYE, the 487 crosses as any final; after, the caller
 * already had 487 from sipshard at the end, and the callee's is ACKed here
 * with the INVITE's branch (17.1.1.3), or the callee resends it until
 * Timer H. A 200 instead of the 487 is ACKed likewise.
 */
static void test_late_final_after_the_callees_bye(void **state)
{
	char inv_branch[128], bye_branch[128];
	struct relay_result res;
	(void)state;

	/* 487 while the dialog is up: relayed */
	sent_from_a("INVITE", 2, 2, inv_branch, sizeof(inv_branch));
	unsigned bcseq = out_m.cseq.num;
	res = request_from_b("BYE", 10);
	assert_int_equal(res.outcome, RELAY_SEND);
	out_branch(bye_branch, sizeof(bye_branch));
	unsigned a_bye_cseq = out_m.cseq.num;
	res = answer_from_b(487, inv_branch, bcseq, "INVITE");
	assert_int_equal(res.outcome, RELAY_SEND);
	parse_out(res.len);
	assert_int_equal(out_m.status, 487);
	res = answer_from_a(200, bye_branch, a_bye_cseq, "BYE");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_true(res.dialog_ended);
	/* answered already: nothing left open */
	assert_int_equal(end_dialog_like_the_worker(NULL), 0);
	/* the 487 again, the caller's ACK having been lost with the dialog */
	res = answer_from_b(487, inv_branch, bcseq, "INVITE");
	assert_late_final_acked(res, 487, inv_branch, bcseq);
}

static void test_late_2xx_after_the_callees_bye(void **state)
{
	char inv_branch[128], bye_branch[128];
	struct relay_result res;
	(void)state;

	sent_from_a("INVITE", 2, 2, inv_branch, sizeof(inv_branch));
	unsigned bcseq = out_m.cseq.num;
	res = request_from_b("BYE", 10);
	out_branch(bye_branch, sizeof(bye_branch));
	res = answer_from_a(200, bye_branch, out_m.cseq.num, "BYE");
	assert_true(res.dialog_ended);
	assert_int_equal(end_dialog_like_the_worker(NULL), 1);
	assert_int_equal(out_m.status, 487);
	res = answer_from_b(200, inv_branch, bcseq, "INVITE");
	assert_late_final_acked(res, 200, inv_branch, bcseq);
	res = answer_from_b(487, inv_branch, bcseq, "INVITE");
	assert_late_final_acked(res, 487, inv_branch, bcseq);
}

/*
 * The callee's 200 to the re-INVITE crossed while the call was up, but the
 * caller's ACK comes after the end (it goes to the controller: no dialog).
 * The callee resends the 200 (13.3.1.4): sipshard ACKs it now.
 */
static void test_2xx_unacked_at_the_end_is_acked_when_resent(void **state)
{
	char inv_branch[128];
	struct relay_result res;
	(void)state;

	sent_from_a("INVITE", 2, 2, inv_branch, sizeof(inv_branch));
	unsigned bcseq = out_m.cseq.num;
	res = answer_from_b(200, inv_branch, bcseq, "INVITE");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_int_equal(end_dialog_like_the_worker(NULL), 0); /* it has its final */
	res = answer_from_b(200, inv_branch, bcseq, "INVITE");
	assert_late_final_acked(res, 200, inv_branch, bcseq);
}

/*
 * An INFO, and an UPDATE, still open when the dialog ends: their senders
 * get 487 (15.1.2), also one that is not the sender's last request (its
 * BYE came after it), and a pending BYE 200; the callee's finals after the
 * end cannot cross (the dialog held the caller's address) and are dropped
 * under their own name, as is a late provisional. They were counted as
 * stale, like a forged or doubled response.
 */
static void test_late_non_invite_finals_are_counted(void **state)
{
	char info_branch[128], update_branch[128];
	struct relay_result res;
	(void)state;

	sent_from_a("INFO", 2, 2, info_branch, sizeof(info_branch));
	unsigned info_cseq = out_m.cseq.num;
	sent_from_a("UPDATE", 3, 3, update_branch, sizeof(update_branch));
	unsigned update_cseq = out_m.cseq.num;
	res = branch_from_a("BYE", 4, 4, "");
	assert_int_equal(res.outcome, RELAY_SEND);
	/* the operator's end crosses that BYE: all three are answered */
	assert_int_equal(end_dialog_like_the_worker(NULL), 3);
	assert_int_equal(rc.pending_ended, 3);

	res = answer_from_b(200, info_branch, info_cseq, "INFO");
	print_message("late 200 to an INFO: outcome %d drop %d\n", res.outcome, res.drop);
	assert_dropped(res, RELAY_DROP_RESP_DIALOG_ENDED);
	res = answer_from_b(500, update_branch, update_cseq, "UPDATE");
	assert_dropped(res, RELAY_DROP_RESP_DIALOG_ENDED);
	assert_int_equal(rc.drops[RELAY_DROP_RESP_DIALOG_ENDED], 2);
	assert_int_equal(rc.drops[RELAY_DROP_RESP_STALE], 0);
}

/*
 * A re-INVITE through a chain of proxies (its response lines in a slot of
 * the long-head pool) still open when the operator ends the call: its 487
 * goes back with every Via the caller sent, as its 200 would have. It was
 * written from the record's first bytes (the slot's number) for the pool's
 * length: a 487 that did not parse, or that carried the bytes of the
 * records after it.
 */
static void test_long_head_request_open_at_the_end(void **state)
{
	struct relay_result res;
	char vias[1200], sent[1400];
	(void)state;

	proxy_vias(vias, sizeof(vias));
	req_from_a_with("INVITE", 2, a_tag, 70, vias);
	const char *first = strstr(in, "Via: ");
	const char *after = strstr(first, "\r\n") + 2;
	snprintf(sent, sizeof(sent), "%.*s%s", (int)(after - first), first, vias);
	relay_request(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);
	struct shard_dialog *d = shard_dialog_get(&table, SLOT, GEN);
	int n = relay_end_pending(&rc, d, SHARD_LEG_A, out, sizeof(out), NULL, NULL);
	assert_true(n > 0);
	struct sip_msg back_m;
	char why[200];
	if (sip_parse(&back_m, out, (size_t)n, NULL) != 0) {
		sip_strerror(&back_m, why, sizeof(why));
		fail_msg("the 487 does not parse: %s", why);
	}
	assert_int_equal(back_m.status, 487);
	assert_int_equal(back_m.nvias, 8);
	assert_int_equal(back_m.cseq.num, 2);
	assert_int_equal(back_m.cseq.method_id, SIP_METHOD_INVITE);
	char *v = memmem(out, (size_t)n, "Via: ", 5);
	assert_non_null(v);
	assert_memory_equal(v, sent, strlen(sent));
}

/* Whether any entry of rc.recent names transaction tslot/tgen. */
static bool recent_names(uint32_t tslot, uint32_t tgen)
{
	for (unsigned i = 0; i < RELAY_RECENT_SLOTS; i++)
		if (rc.recent[i].txn == tslot && rc.recent[i].txn_gen == tgen)
			return true;
	return false;
}

/*
 * A re-INVITE of the caller still open when the call ends gets 487 (RFC
 * 3261 15.1.2: sipshard is the UAS of it), also when it is not the
 * caller's last request and its entry among the recent transactions
 * (relay_ctx.recent, a hash of slot, leg and CSeq: 4096 a worker) was
 * taken by other calls' requests meanwhile, as on a busy worker: here
 * the PRACK of its reliable 183 came after it (RFC 3262). Found by the
 * leg's last CSeqs and its recent entry only, it was missed, and its
 * caller, whose INVITE client transaction a provisional had put in
 * Proceeding (no retransmission, 17.1.1.2), got no final at all; the
 * callee's 487 after the end is ACKed here, not relayed (late_response).
 * The same with a CSeq that jumped 65535 or more after it (12.2.2 lets
 * CSeqs skip), which the INVITE's folded CSeq (session_cseq_tag) no longer
 * told apart.
 */
static void test_reinvite_open_at_the_end_behind_later_requests(void **state)
{
	char inv_branch[128], branch[128], tag2[SHARD_TAG_MAX], btag2[SHARD_TAG_MAX];
	struct relay_result res;
	uint8_t shard;
	uint32_t tslot, tgen, extra;
	(void)state;

	sent_from_a("INVITE", 2, 2, inv_branch, sizeof(inv_branch));
	unsigned bcseq = out_m.cseq.num;
	assert_int_equal(
	    shard_branch_decode(inv_branch, strlen(inv_branch), &shard, &tslot, &tgen, &extra), 0);
	res = answer_from_b_body(183, inv_branch, bcseq, "INVITE", "");
	assert_int_equal(res.outcome, RELAY_SEND);
	sent_from_a("PRACK", 3, 3, branch, sizeof(branch));
	res = answer_from_b(200, branch, out_m.cseq.num, "PRACK");
	assert_int_equal(res.outcome, RELAY_SEND);
	/* another call's INFOs, each answered, until none of the recent
	 * entries names the re-INVITE's transaction */
	shard_tag_encode(tag2, sizeof(tag2), 0, SLOT + 1, 1, 0x3333);
	shard_tag_encode(btag2, sizeof(btag2), 0, SLOT + 1, 1, 0x4444);
	assert_int_equal(relay_dialog_install(&table, SLOT + 1, 1, tag2, btag2, rc.now_ms), 0);
	unsigned sent = 0;
	for (unsigned cseq = 2; recent_names(tslot, tgen); cseq++, sent++) {
		assert_true(sent < 200000);
		req_from_a("INFO", cseq, tag2, 70);
		relay_request(&rc, &m, out, sizeof(out), &res);
		assert_int_equal(res.outcome, RELAY_SEND);
		parse_out(res.len);
		out_branch(branch, sizeof(branch));
		res = answer_from_b(200, branch, out_m.cseq.num, "INFO");
		assert_int_equal(res.outcome, RELAY_SEND);
	}
	print_message("the re-INVITE's recent entry taken after %u requests\n", sent);
	assert_int_equal(end_dialog_like_the_worker(NULL), 1);
	assert_int_equal(out_m.status, 487);
	assert_int_equal(out_m.cseq.num, 2);
	assert_int_equal(out_m.cseq.method_id, SIP_METHOD_INVITE);
	res = answer_from_b(487, inv_branch, bcseq, "INVITE");
	assert_late_final_acked(res, 487, inv_branch, bcseq);

	/* a CSeq 65535 above the re-INVITE's after it */
	teardown(state);
	setup(state);
	sent_from_a("INVITE", 2, 2, inv_branch, sizeof(inv_branch));
	bcseq = out_m.cseq.num;
	res = answer_from_b_body(183, inv_branch, bcseq, "INVITE", "");
	assert_int_equal(res.outcome, RELAY_SEND);
	sent_from_a("INFO", 2 + 65535, 4, branch, sizeof(branch));
	assert_int_equal(end_dialog_like_the_worker(NULL), 2);
	assert_int_equal(out_m.status, 487);
	assert_int_equal(out_m.cseq.num, 2);
	assert_int_equal(out_m.cseq.method_id, SIP_METHOD_INVITE);
}

/*
 * The limit of the look-back (RELAY_PENDING_LOOKBACK): a side with more
 * requests open at the end than that (several INFOs, none answered; RFC
 * 3261 lets a UA have several non-INVITE transactions open in a dialog),
 * or one open more than that many CSeqs below its last (12.2.2 lets CSeqs
 * skip), has the last four answered 487 at the end and the others not
 * (so that an end costs no walk), and those get 481 at their next
 * retransmission (Timer E resends a non-INVITE until its final, 17.1.2.2,
 * through Proceeding too): their transaction ends with a final either
 * way. A late final to them is a counted drop.
 */
static void test_open_requests_beyond_the_lookback_get_481(void **state)
{
	char first[128], branch[128];
	struct relay_result res;
	(void)state;

	sent_from_a("INFO", 2, 2, first, sizeof(first));
	unsigned first_cseq = out_m.cseq.num;
	for (unsigned cseq = 3; cseq <= 2 + RELAY_PENDING_LOOKBACK; cseq++)
		sent_from_a("INFO", cseq, cseq, branch, sizeof(branch));
	assert_int_equal(end_dialog_like_the_worker(NULL), RELAY_PENDING_LOOKBACK);
	assert_int_equal(rc.pending_ended, RELAY_PENDING_LOOKBACK);
	res = branch_from_a("INFO", 2, 2, "");
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 481);
	res = answer_from_b(200, first, first_cseq, "INFO");
	assert_dropped(res, RELAY_DROP_RESP_DIALOG_ENDED);

	/* one open far below the last */
	teardown(state);
	setup(state);
	sent_from_a("MESSAGE", 2, 2, first, sizeof(first));
	sent_from_a("INFO", 2 + RELAY_PENDING_LOOKBACK, 3, branch, sizeof(branch));
	assert_int_equal(end_dialog_like_the_worker(NULL), 1);
	assert_int_equal(out_m.cseq.method_id, SIP_METHOD_INFO);
	res = branch_from_a("MESSAGE", 2, 2, "");
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 481);
}

/*
 * The callee's BYE crosses the caller's (RFC 3261 15: either may send one).
 * The callee's 200 to the caller's ends the dialog, and the worker answers
 * the callee's BYE, still open, 200 as it frees the record
 * (relay_end_pending). Each BYE sent again (its 200 lost) gets its 200
 * again (RFC 3261 17.2.2): the callee's got 481, as relay_end_pending left
 * ended[] nothing to answer it from, and the dialog's one entry there was
 * the caller's BYE's.
 */
static void test_crossing_byes_both_replayed(void **state)
{
	char branch[128];
	struct relay_result res;
	int b_answers;
	(void)state;

	sent_from_a("BYE", 20, 20, branch, sizeof(branch));
	unsigned bcseq = out_m.cseq.num;
	res = request_from_b("BYE", 5);
	assert_int_equal(res.outcome, RELAY_SEND);
	res = answer_from_b(200, branch, bcseq, "BYE");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_true(res.dialog_ended);
	assert_int_equal(res.ended_by_leg, SHARD_LEG_A);
	assert_int_equal(end_dialog_like_the_worker(&b_answers), 0);
	assert_int_equal(b_answers, 1);

	res = request_from_b("BYE", 5);
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 200);
	assert_true(sip_view_eq(out, out_m.to.tag, b_tag, strlen(b_tag)));
	res = branch_from_a("BYE", 20, 20, "");
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 200);
	assert_int_equal(rc.bye_replayed, 2);
	/* another request of either side: 481 */
	res = request_from_b("BYE", 6);
	assert_int_equal(res.status, 481);
	res = branch_from_a("INFO", 21, 21, "");
	assert_int_equal(res.status, 481);
}

/* The answers at the end, one by one: INFO 487, then a BYE 200. */
static void test_open_requests_answered_at_the_end(void **state)
{
	char branch[128];
	struct relay_result res;
	(void)state;

	sent_from_a("INFO", 2, 2, branch, sizeof(branch));
	res = branch_from_a("BYE", 3, 3, "");
	assert_int_equal(res.outcome, RELAY_SEND);
	struct shard_dialog *d = shard_dialog_get(&table, SLOT, GEN);
	int n = relay_end_pending(&rc, d, SHARD_LEG_A, out, sizeof(out), NULL, NULL);
	assert_true(n > 0);
	parse_out(n);
	assert_int_equal(out_m.status, 200);
	assert_int_equal(out_m.cseq.method_id, SIP_METHOD_BYE);
	n = relay_end_pending(&rc, d, SHARD_LEG_A, out, sizeof(out), NULL, NULL);
	assert_true(n > 0);
	parse_out(n);
	assert_int_equal(out_m.status, 487);
	assert_int_equal(out_m.cseq.method_id, SIP_METHOD_INFO);
	assert_int_equal(relay_end_pending(&rc, d, SHARD_LEG_A, out, sizeof(out), NULL, NULL), 0);
	/* a provisional to that INFO after the end */
	shard_dialog_free(&table, SLOT);
	res = answer_from_b(100, branch, 1, "INFO");
	assert_dropped(res, RELAY_DROP_RESP_DIALOG_ENDED);
	/* the BYE sent again (the 200 lost) gets that 200 again (RFC 3261
	 * 17.2.2), not 481 */
	res = branch_from_a("BYE", 3, 3, "");
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 200);
	assert_int_equal(rc.bye_replayed, 1);
}

/*
 * Requests of both sides still open when the call ends are answered 487 by
 * sipshard (relay_end_pending): the caller's INFO, UPDATE and re-INVITE,
 * the callee's INFO. Sent again (the 487 lost), each gets its 487 again,
 * as the server transaction that sent it would (RFC 3261 17.2.2, 17.2.1):
 * they got 481, ended[] keeping only the finals of BYEs, one per tag, where
 * one end's requests would have taken each other's place. The ACK of the
 * re-INVITE's 487 ends here (ack_of_local_answer, RFC 3261 17.2.1) rather
 * than at the controller, which holds nothing of it. Anything else under
 * those tags (another CSeq, another method with a CSeq kept, an ACK of a
 * request that was no INVITE) is as before: 481, the controller for an
 * ACK; and so is each of them once RELAY_ENDED_LINGER_MS have passed.
 */
static void test_open_requests_sent_again_get_their_487(void **state)
{
	static const struct {
		const char *method;
		unsigned cseq;
	} sent[] = {{"INFO", 2}, {"UPDATE", 3}, {"INVITE", 4}};
	char branch[128];
	struct relay_result res;
	int b_answers;
	(void)state;

	for (unsigned i = 0; i < 3; i++)
		sent_from_a(sent[i].method, sent[i].cseq, sent[i].cseq, branch, sizeof(branch));
	res = request_from_b("INFO", 7);
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_int_equal(end_dialog_like_the_worker(&b_answers), 3);
	assert_int_equal(b_answers, 1);
	assert_int_equal(rc.pending_ended, 4);

	for (unsigned i = 0; i < 3; i++) {
		res = branch_from_a(sent[i].method, sent[i].cseq, sent[i].cseq, "");
		print_message("%s %u sent again: %d\n", sent[i].method, sent[i].cseq, res.status);
		assert_int_equal(res.outcome, RELAY_ANSWER);
		assert_int_equal(res.status, 487);
		assert_int_equal(out_m.status, 487);
		assert_int_equal(out_m.cseq.num, sent[i].cseq);
		assert_true(sip_view_eq(out, out_m.to.tag, a_tag, strlen(a_tag)));
	}
	res = request_from_b("INFO", 7);
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 487);
	assert_true(sip_view_eq(out, out_m.to.tag, b_tag, strlen(b_tag)));
	assert_int_equal(rc.pending_replayed, 4);
	assert_int_equal(rc.bye_replayed, 0);

	res = branch_from_a("ACK", 4, 4, "");
	assert_dropped(res, RELAY_DROP_ACK_LOCAL_ANSWER);
	res = branch_from_a("ACK", 2, 2, "");
	assert_int_equal(res.outcome, RELAY_TO_CONTROLLER);
	res = branch_from_a("INFO", 5, 5, "");
	assert_int_equal(res.status, 481);
	res = branch_from_a("INFO", 3, 3, "");
	assert_int_equal(res.status, 481);
	res = branch_from_a("BYE", 4, 4, "");
	assert_int_equal(res.status, 481);
	res = request_from_b("INFO", 2);
	assert_int_equal(res.status, 481);
	assert_int_equal(rc.pending_replayed, 4);

	rc.now_ms += RELAY_ENDED_LINGER_MS + 1;
	res = branch_from_a("INFO", 2, 2, "");
	assert_int_equal(res.status, 481);
	res = branch_from_a("ACK", 4, 4, "");
	assert_int_equal(res.outcome, RELAY_TO_CONTROLLER);
}

/*
 * The caller's re-INVITE rings (180) when the callee's BYE ends the call:
 * sipshard answers it 487 (relay_end_pending). The caller's CANCEL of it,
 * sent as the 487 was on its way, matches a server transaction that has
 * its final: 200, no effect (RFC 3261 9.2), as in a dialog still held
 * (test_cancel_of_reinvite_crosses). It got 481, the dialog being gone.
 * A CANCEL naming a request that was no INVITE, or an INVITE no longer
 * kept, is still for no transaction: 481.
 */
static void test_cancel_after_its_dialog_ended_gets_200(void **state)
{
	char branch[128];
	struct relay_result res;
	(void)state;

	sent_from_a("INFO", 2, 2, branch, sizeof(branch));
	sent_from_a("INVITE", 3, 3, branch, sizeof(branch));
	res = answer_from_b(180, branch, out_m.cseq.num, "INVITE");
	assert_int_equal(res.outcome, RELAY_SEND);
	res = request_from_b("BYE", 7);
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_int_equal(end_dialog_like_the_worker(NULL), 2);
	uint64_t answered_2xx = rc.answered[2];

	for (int again = 0; again < 2; again++) {
		res = branch_from_a("CANCEL", 3, 3, "");
		print_message("CANCEL after the end: outcome %d status %d\n", res.outcome,
			      res.status);
		assert_int_equal(res.outcome, RELAY_ANSWER);
		assert_int_equal(res.status, 200);
		assert_int_equal(out_m.status, 200);
		assert_int_equal(out_m.cseq.num, 3);
		assert_int_equal(out_m.cseq.method_id, SIP_METHOD_CANCEL);
		assert_true(sip_view_eq(out, out_m.to.tag, a_tag, strlen(a_tag)));
	}
	assert_int_equal(rc.answered[2], answered_2xx + 2);
	assert_int_equal(rc.pending_replayed, 0);
	/* the INVITE sent again still gets its 487, its ACK ends here */
	res = branch_from_a("INVITE", 3, 3, "");
	assert_int_equal(res.status, 487);
	res = branch_from_a("ACK", 3, 3, "");
	assert_dropped(res, RELAY_DROP_ACK_LOCAL_ANSWER);

	/* the INFO's CSeq, one never sent, the INVITE's once forgotten: 481 */
	res = branch_from_a("CANCEL", 2, 2, "");
	assert_int_equal(res.status, 481);
	res = branch_from_a("CANCEL", 4, 4, "");
	assert_int_equal(res.status, 481);
	rc.now_ms += RELAY_ENDED_LINGER_MS + 1;
	res = branch_from_a("CANCEL", 3, 3, "");
	assert_int_equal(res.status, 481);
}

/*
 * The caller's BYE in the first fork's early dialog, then more requests
 * there than RELAY_PENDING_LOOKBACK (INFOs the fork leaves unanswered: RFC
 * 3261 lets a UA have several open), when another fork's 2xx takes the
 * call's slot. The worker answers what is open before the install
 * (relay_end_pending), the BYE found behind the INFOs by its leg's index
 * (shard_txn_open_bye) as the leg's last INVITE is: it gets its 200, again
 * when sent again, and neither the first fork's late final to it nor its
 * transaction's expiry ends the call the other fork answered. Found among
 * the last CSeqs only, it was left open: its late final ended that call
 * (no BYE to that fork), and so did its expiry, as a BYE timing out (408).
 */
static void test_bye_behind_later_requests_as_a_fork_took_the_slot(void **state)
{
	struct relay_result res;
	char fork_tag[SHARD_TAG_MAX], bye_branch[128], branch[128];
	const uint32_t FORK = 12, FORK_GEN = 5;

	for (unsigned late_final = 0; late_final < 2; late_final++) {
		if (late_final) {
			teardown(state);
			setup(state);
		}
		install_fork(FORK, FORK_GEN, 0x5a000000u, fork_tag);
		sent_from_a("BYE", 20, 20, bye_branch, sizeof(bye_branch));
		unsigned bcseq = out_m.cseq.num;
		for (unsigned cseq = 21; cseq <= 20 + RELAY_PENDING_LOOKBACK; cseq++)
			sent_from_a("INFO", cseq, cseq, branch, sizeof(branch));
		int answers = fork_answers_like_the_worker(fork_tag);
		print_message("answered as the fork took the slot: %d, the last %d %u\n", answers,
			      out_m.status, out_m.cseq.num);
		assert_int_equal(answers, RELAY_PENDING_LOOKBACK + 1);
		assert_int_equal(out_m.status, 200);
		assert_int_equal(out_m.cseq.num, 20);
		assert_int_equal(out_m.cseq.method_id, SIP_METHOD_BYE);
		shard_dialog_free(&table, FORK); /* the controller's release of the fork */

		if (late_final) {
			res = answer_from_b(200, bye_branch, bcseq, "BYE");
			assert_false(res.dialog_ended);
		} else {
			/* every transaction expires (a timeout of 0), the
			 * BYE's final still kept */
			rc.now_ms++;
			while (relay_expire(&rc, 0, &res) == 0)
				assert_false(res.dialog_ended);
		}
		struct shard_dialog *d = shard_dialog_get(&table, SLOT, GEN);
		assert_non_null(d);
		assert_int_equal(d->state, SHARD_DLG_CONFIRMED);
		assert_bye_replayed_as(a_tag, 20, 200);
		/* the call goes on under the fork's tag */
		req_from_a("INFO", 30, fork_tag, 70);
		relay_request(&rc, &m, out, sizeof(out), &res);
		assert_int_equal(res.outcome, RELAY_SEND);
	}
}

/* RFC 3261 18.2.1, RFC 3581 4: the response to a request from leg A goes
 * back with received=<A's address> and rport=<A's port> in the top Via when
 * the Via's sent-by is not where the request came from and it asked rport,
 * whether the callee's response is relayed (the kept head, written as the
 * request arrived) or the request is answered here. */
static void test_response_via_received_rport(void **state)
{
	struct relay_result res;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(40123)};
	(void)state;

	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	rc.src = (const struct sockaddr *)&a;
	rc.src_len = sizeof(a);
	int n = snprintf(in, sizeof(in),
			 "INFO sip:bob@127.0.0.1:5060 SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 10.0.0.5:5060;rport;branch=z9hG4bKr1\r\n"
			 "From: <sip:alice@10.1.1.1>;tag=atag\r\n"
			 "To: <sip:bob@sbc>;tag=%s\r\n"
			 "Call-ID: callA@host\r\n"
			 "CSeq: 2 INFO\r\n"
			 "Max-Forwards: 70\r\n"
			 "Content-Length: 0\r\n\r\n",
			 a_tag);
	assert_int_equal(sip_parse(&m, in, (size_t)n, NULL), 0);
	relay_request(&rc, &m, out, sizeof(out), &res);
	rc.src = NULL; /* the response comes from leg B: nothing of A's is needed */
	assert_int_equal(res.outcome, RELAY_SEND);
	parse_out(res.len);
	assert_null(memmem(out, (size_t)res.len, "received=", 9)); /* A's Via stays here */
	char resp[2048];
	n = snprintf(resp, sizeof(resp),
		     "SIP/2.0 200 OK\r\n"
		     "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=%.*s;rport\r\n"
		     "From: <sip:alice@127.0.0.1:5060>;tag=%s\r\n"
		     "To: <sip:bob@10.2.2.2>;tag=btag\r\n"
		     "Call-ID: callB@sipshard\r\n"
		     "CSeq: 2 INFO\r\n"
		     "Content-Length: 0\r\n\r\n",
		     (int)out_m.vias[0].branch.len, out + out_m.vias[0].branch.off, b_tag);
	assert_int_equal(sip_parse(&m, resp, (size_t)n, NULL), 0);
	relay_response(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);
	parse_out(res.len);
	assert_int_equal(out_m.status, 200);
	static const char via[] =
	    "Via: SIP/2.0/UDP 10.0.0.5:5060;rport=40123;branch=z9hG4bKr1;received=127.0.0.1\r\n";
	assert_non_null(memmem(out, (size_t)res.len, via, sizeof(via) - 1));
	assert_true(sip_view_eq(out, out_m.vias[0].received, "127.0.0.1", 9));
	assert_true(sip_view_eq(out, out_m.vias[0].rport, "40123", 5));

	/* a request answered here (481: no such dialog) says the same */
	rc.src = (const struct sockaddr *)&a;
	n = snprintf(in, sizeof(in),
		     "INFO sip:bob@127.0.0.1:5060 SIP/2.0\r\n"
		     "Via: SIP/2.0/UDP 10.0.0.5:5060;rport;branch=z9hG4bKr2\r\n"
		     "From: <sip:alice@10.1.1.1>;tag=atag\r\n"
		     "To: <sip:bob@sbc>;tag=nosuchtag\r\n"
		     "Call-ID: callA@host\r\n"
		     "CSeq: 3 INFO\r\n"
		     "Max-Forwards: 70\r\n"
		     "Content-Length: 0\r\n\r\n");
	assert_int_equal(sip_parse(&m, in, (size_t)n, NULL), 0);
	relay_request(&rc, &m, out, sizeof(out), &res);
	rc.src = NULL;
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 481);
	static const char via2[] =
	    "Via: SIP/2.0/UDP 10.0.0.5:5060;rport=40123;branch=z9hG4bKr2;received=127.0.0.1\r\n";
	assert_non_null(memmem(out, (size_t)res.len, via2, sizeof(via2) - 1));
}

/* Whether the message relayed (res.len bytes of out) holds text. */
static bool relayed_has(struct relay_result res, const char *text)
{
	return memmem(out, (size_t)res.len, text, strlen(text)) != NULL;
}

/*
 * A 503 to an in-dialog request goes to its sender as 500 without the
 * Retry-After (RFC 3261 16.7 item 6), as the target's 503 to leg B's INVITE
 * does at set-up; the rest crosses as any final. From sipshard, a 503 would
 * say sipshard is unavailable: a proxy in front that honours it would send
 * it nothing for the Retry-After's time. It was relayed as it came.
 */
static void test_503_relayed_as_500(void **state)
{
	char branch[128];
	struct relay_result res;
	(void)state;

	uint64_t before = rc.resp_503_as_500;
	sent_from_a("INFO", 2, 2, branch, sizeof(branch));
	resp_from_b(503, "INFO", "Retry-After: 60\r\nReason: Q.850;cause=34\r\n");
	relay_response(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);
	parse_out(res.len);
	assert_int_equal(out_m.status, 500);
	assert_true(sip_view_eq(out, out_m.reason, "Server Internal Error", 21));
	assert_false(relayed_has(res, "Retry-After"));
	assert_true(relayed_has(res, "Reason: Q.850;cause=34\r\n"));
	assert_int_equal(rc.resp_503_as_500, before + 1);

	/* another 5xx crosses as it came */
	sent_from_a("INFO", 3, 3, branch, sizeof(branch));
	resp_from_b(504, "INFO", "Retry-After: 5\r\n");
	relay_response(&rc, &m, out, sizeof(out), &res);
	assert_int_equal(res.outcome, RELAY_SEND);
	parse_out(res.len);
	assert_int_equal(out_m.status, 504);
	assert_true(relayed_has(res, "Retry-After: 5\r\n"));
	assert_int_equal(rc.resp_503_as_500, before + 1);
}

/*
 * strip_headers (rc.strip): the fields it names do not cross, in requests
 * either way nor in the responses relayed back: a known one (User-Agent,
 * Server, Subject by its compact form) by its id, an extension one by its
 * name, case ignored; every other line crosses. With none named (the
 * default), they all cross, as before.
 */
static void test_strip_headers(void **state)
{
	static struct sip_names named;
	static const char req_lines[] = "User-Agent: phone-a/1.0\r\n"
					"X-Internal-Route: core-7\r\n"
					"s: urgent\r\n"
					"X-Keep: 1\r\n";
	static const char resp_lines[] = "Server: pbx-b/2.0\r\n"
					 "x-internal-route: edge-1\r\n"
					 "X-Keep: 2\r\n";
	char branch[128];
	struct relay_result res;
	(void)state;

	if (!named.n)
		assert_int_equal(sip_names_add(&named, "X-Internal-Route", 16), 0);
	for (int strip = 0; strip < 2; strip++) {
		rc.strip = strip ? (struct sip_strip){SIP_HBIT(SIP_HDR_USER_AGENT) |
							  SIP_HBIT(SIP_HDR_SERVER) |
							  SIP_HBIT(SIP_HDR_SUBJECT),
						      &named}
				 : (struct sip_strip){0, NULL};
		unsigned cseq = 2 + 2 * (unsigned)strip;
		/* the caller's INFO to the callee, and the callee's 200 back */
		req_from_a_with("INFO", cseq, a_tag, 70, req_lines);
		relay_request(&rc, &m, out, sizeof(out), &res);
		assert_int_equal(res.outcome, RELAY_SEND);
		parse_out(res.len);
		assert_int_equal(relayed_has(res, "User-Agent: phone-a"), !strip);
		assert_int_equal(relayed_has(res, "X-Internal-Route: core-7"), !strip);
		assert_int_equal(relayed_has(res, "s: urgent"), !strip);
		assert_true(relayed_has(res, "X-Keep: 1\r\n"));
		assert_int_equal(out_m.body.len, 5);
		resp_from_b(200, "INFO", resp_lines);
		relay_response(&rc, &m, out, sizeof(out), &res);
		assert_int_equal(res.outcome, RELAY_SEND);
		parse_out(res.len);
		assert_int_equal(out_m.status, 200);
		assert_int_equal(relayed_has(res, "Server: pbx-b"), !strip);
		assert_int_equal(relayed_has(res, "x-internal-route: edge-1"), !strip);
		assert_true(relayed_has(res, "X-Keep: 2\r\n"));

		/* the callee's INFO to the caller, and the caller's 200 back */
		res = from_b("INFO", 1 + (unsigned)strip, req_lines);
		assert_int_equal(res.outcome, RELAY_SEND);
		assert_int_equal(relayed_has(res, "User-Agent: phone-a"), !strip);
		assert_int_equal(relayed_has(res, "X-Internal-Route"), !strip);
		assert_true(relayed_has(res, "X-Keep: 1\r\n"));
		out_branch(branch, sizeof(branch));
		int n = snprintf(resp_in, sizeof(resp_in),
				 "SIP/2.0 200 OK\r\n"
				 "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=%s;rport\r\n"
				 "From: <sip:bob@sbc>;tag=%s\r\n"
				 "To: <sip:alice@10.1.1.1>;tag=atag\r\n"
				 "Call-ID: callA@host\r\n"
				 "CSeq: %u INFO\r\n"
				 "%s"
				 "Content-Length: 0\r\n\r\n",
				 branch, a_tag, out_m.cseq.num, resp_lines);
		assert_int_equal(sip_parse(&m, resp_in, (size_t)n, NULL), 0);
		relay_response(&rc, &m, out, sizeof(out), &res);
		assert_int_equal(res.outcome, RELAY_SEND);
		parse_out(res.len);
		assert_int_equal(relayed_has(res, "Server: pbx-b"), !strip);
		assert_int_equal(relayed_has(res, "x-internal-route"), !strip);
		assert_true(relayed_has(res, "X-Keep: 2\r\n"));
	}
	rc.strip = (struct sip_strip){0, NULL};
}

/* The caller's REFER with these Refer-To lines, relayed into out. */
static struct relay_result refer_from_a(unsigned cseq, const char *lines, size_t cap)
{
	struct relay_result res;
	req_from_a_with("REFER", cseq, a_tag, 70, lines);
	relay_request(&rc, &m, out, cap, &res);
	return res;
}

/* The relayed REFER's Refer-To value is exactly want. */
static void assert_refer_to(struct relay_result res, const char *want)
{
	assert_int_equal(res.outcome, RELAY_SEND);
	parse_out(res.len);
	assert_int_equal(out_m.method_id, SIP_METHOD_REFER);
	assert_int_equal(sip_hdr_lines(&out_m, SIP_HDR_REFER_TO), 1);
	if (!sip_view_eq(out, out_m.refer_to, want, strlen(want)))
		fail_msg("Refer-To: %.*s\n want     %s", out_m.refer_to.len,
			 out + out_m.refer_to.off, want);
}

/*
 * rewrite_refer_to (topology hiding): a REFER from one side names, in its
 * Refer-To, a host of that side's network (a PBX behind us), which the
 * other side must neither see nor be sent to. Relayed, its URI's host and
 * port are our advertise (as in our Contact) and its maddr is gone; the
 * user part, the other parameters, the ?headers (an attended transfer's
 * Replaces), the display name and the header parameters cross byte for
 * byte, in the long or compact form, and a retransmission again so; a
 * transport but UDP goes too. A tel: URI crosses unchanged and is
 * counted; a sips: one has the REFER answered 403, two Refer-To lines or
 * none 400; with
 * the key off every Refer-To crosses as it came, as before; the operator's
 * REFER names its own target. A REFER whose rewrite does not fit the
 * output buffer is answered 513, as any request that does not.
 */
static void test_refer_to_rewritten(void **state)
{
	static const char replaces[] = "?Replaces=abc%40x%3Bto-tag%3D1%3Bfrom-tag%3D2";
	char line[256], want[256], adv[256];
	struct relay_result res;
	struct shard_table_usage u;
	(void)state;

	/* off (the default): as it came, nothing counted */
	snprintf(line, sizeof(line),
		 "Refer-To: <sip:carol@pbx.internal:5070;transport=udp;maddr=10.1.1.1%s>\r\n",
		 replaces);
	res = refer_from_a(2, line, sizeof(out));
	snprintf(want, sizeof(want), "<sip:carol@pbx.internal:5070;transport=udp;maddr=10.1.1.1%s>",
		 replaces);
	assert_refer_to(res, want);
	assert_int_equal(rc.refer_to_rewritten + rc.refer_to_kept, 0);

	rc.rewrite_refer_to = true;
	res = refer_from_a(3, line, sizeof(out));
	snprintf(want, sizeof(want), "<sip:carol@127.0.0.1:5060;transport=udp%s>", replaces);
	assert_refer_to(res, want);
	assert_true(sip_view_eq(out, out_m.refer_to_addr.uri.host, "127.0.0.1", 9));
	assert_int_equal(out_m.refer_to_addr.uri.port, 5060);
	assert_int_equal(out_m.refer_to_addr.uri.maddr.len, 0);
	assert_true(sip_view_eq(out, out_m.refer_to_addr.uri.transport, "udp", 3));
	assert_true(
	    sip_view_eq(out, out_m.refer_to_addr.uri.headers, replaces + 1, strlen(replaces) - 1));
	assert_null(memmem(out, (size_t)res.len, "pbx.internal", 12));
	assert_null(memmem(out, (size_t)res.len, "10.1.1.1", 8));
	assert_int_equal(rc.refer_to_rewritten, 1);
	/* its retransmission crosses the same, through the same transaction */
	char first[4096];
	int first_len = res.len;
	memcpy(first, out, (size_t)first_len);
	res = refer_from_a(3, line, sizeof(out));
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_int_equal(res.len, first_len);
	assert_memory_equal(out, first, (size_t)first_len);
	assert_int_equal(rc.refer_to_rewritten, 2);

	/* a display name and header parameters kept; an IPv6 host without
	 * port, maddr first (any case) and a transport sipshard does not
	 * listen on left out, the other parameters kept */
	res =
	    refer_from_a(4,
			 "Refer-To: \"Carol, Sales\" <sip:carol@[fd00::5];MADDR=pbx;transport=TCP;"
			 "user=phone;lr?Replaces=x%3Bto-tag%3D1%3Bfrom-tag%3D2&Priority=urgent>;"
			 "x-a=1;x-b\r\n",
			 sizeof(out));
	assert_refer_to(res, "\"Carol, Sales\" <sip:carol@127.0.0.1:5060;user=phone;lr?Replaces="
			     "x%3Bto-tag%3D1%3Bfrom-tag%3D2&Priority=urgent>;x-a=1;x-b");
	assert_true(sip_view_eq(out, out_m.refer_to_addr.display, "Carol, Sales", 12));
	assert_true(sip_view_eq(out, out_m.refer_to_addr.params, "x-a=1;x-b", 9));
	assert_int_equal(out_m.refer_to_addr.uri.scheme, SIP_SCHEME_SIP);

	/* the compact form, a transport named with escapes (RFC 3261 19.1.4:
	 * tr%61nsport is transport) left out, and an addr-spec */
	res = refer_from_a(5, "r: <sip:carol@pbx.internal;maddr=10.9.9.9;tr%61nsport=tls>\r\n",
			   sizeof(out));
	assert_refer_to(res, "<sip:carol@127.0.0.1:5060>");
	res = refer_from_a(6, "Refer-To: sip:carol@pbx.internal:5070\r\n", sizeof(out));
	assert_refer_to(res, "sip:carol@127.0.0.1:5060");
	assert_int_equal(rc.refer_to_rewritten, 5);
	assert_int_equal(rc.refer_to_kept, 0);

	/* a tel: URI names no host; two Refer-To lines are the recipient's to
	 * refuse (RFC 3515 2.4.1): both unchanged, counted */
	res = refer_from_a(7, "Refer-To: <tel:+15551234567;phone-context=pbx.internal>\r\n",
			   sizeof(out));
	assert_refer_to(res, "<tel:+15551234567;phone-context=pbx.internal>");
	assert_int_equal(rc.refer_to_kept, 1);
	/* a sips: URI asks for TLS to its host, which we do not offer: our
	 * address in it would leave the transferee nowhere to go, the
	 * sender's would show its host and send the transferee past us.
	 * Answered 403, with no transaction, and so its retransmission */
	struct shard_table_usage before;
	shard_table_usage(&table, &before);
	for (int k = 0; k < 2; k++) {
		res = refer_from_a(8, "Refer-To: <sips:carol@pbx.internal:5061>\r\n", sizeof(out));
		assert_int_equal(res.outcome, RELAY_ANSWER);
		assert_int_equal(res.status, 403);
		parse_out(res.len);
		assert_int_equal(out_m.status, 403);
		assert_int_equal(out_m.cseq.method_id, SIP_METHOD_REFER);
		assert_null(memmem(out, (size_t)res.len, "pbx.internal", 12));
		assert_int_equal(rc.refer_to_refused, k + 1);
	}
	shard_table_usage(&table, &u);
	assert_int_equal(u.txns_used, before.txns_used);
	assert_int_equal(rc.refer_to_kept, 1);
	/* nor through the transaction of a REFER relayed under its CSeq, as
	 * if sent again (found by fuzz_relay) */
	res = refer_from_a(7, "Refer-To: <sips:carol@pbx.internal:5061>\r\n", sizeof(out));
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 403);
	assert_int_equal(rc.refer_to_refused, 3);
	/* two Refer-To lines, or none: the recipient rejects it (RFC 3515
	 * 2.4.1), and relayed unchanged it would show the hosts they name
	 * (it crossed so before): 400, counted apart from the 403s */
	res = refer_from_a(9,
			   "Refer-To: <sip:carol@pbx.internal>\r\n"
			   "Refer-To: <sip:dave@pbx.internal>\r\n",
			   sizeof(out));
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 400);
	assert_null(memmem(out, (size_t)res.len, "pbx.internal", 12));
	res = refer_from_a(10, "Subject: none\r\n", sizeof(out));
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 400);
	assert_int_equal(rc.refer_to_refused, 3);
	assert_int_equal(rc.refer_to_malformed, 2);
	assert_int_equal(rc.refer_to_kept, 1);
	assert_int_equal(rc.refer_to_rewritten, 5);

	/* the callee's REFER to the caller likewise */
	int n = refer_from_b(2);
	parse_out(n);
	assert_true(sip_view_eq(out, out_m.refer_to, "<sip:carol@127.0.0.1:5060>", 26));
	assert_int_equal(rc.refer_to_rewritten, 6);

	/* the operator's REFER names the target it was given */
	struct shard_dialog *d = shard_dialog_get(&table, SLOT, GEN);
	const struct relay_req refer = {.method = SIP_METHOD_REFER,
					.extra = "Refer-To: <sip:carol@10.3.3.3:5070>\r\n"};
	n = relay_write_request(&rc, &d->legs[SHARD_LEG_A], &refer, "z9hG4bKsbx", out, sizeof(out));
	assert_true(n > 0);
	parse_out(n);
	assert_true(sip_view_eq(out, out_m.refer_to, "<sip:carol@10.3.3.3:5070>", 25));
	assert_int_equal(rc.refer_to_rewritten, 6);

	/* a rewrite longer than the output buffer (a long advertise): 513 and
	 * no transaction kept, while the REFER as it came would have fitted */
	memset(adv, 'a', sizeof(adv) - 8);
	memcpy(adv + sizeof(adv) - 8, ".x:5060", 8);
	rc.advertise = adv;
	while (shard_txn_expire(&table, UINT64_MAX, 0) == 0)
		;
	res = refer_from_a(11, "Refer-To: <sip:carol@pbx.internal>\r\n", sizeof(out));
	assert_int_equal(res.outcome, RELAY_SEND);
	int fits = res.len;
	while (shard_txn_expire(&table, UINT64_MAX, 0) == 0)
		;
	rc.rewrite_refer_to = false;
	res = refer_from_a(12, "Refer-To: <sip:carol@pbx.internal>\r\n", (size_t)fits - 1);
	assert_int_equal(res.outcome, RELAY_SEND); /* unchanged, it fits */
	while (shard_txn_expire(&table, UINT64_MAX, 0) == 0)
		;
	rc.rewrite_refer_to = true;
	res = refer_from_a(13, "Refer-To: <sip:carol@pbx.internal>\r\n", (size_t)fits - 1);
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 513);
	shard_table_usage(&table, &u);
	assert_int_equal(u.txns_used, 0);
	assert_int_equal(rc.refer_to_rewritten, 7); /* the one relayed, not the 513 */
	rc.advertise = "127.0.0.1:5060";
	rc.rewrite_refer_to = false;
}

/*
 * A maddr parameter written with escapes is maddr all the same: a parameter
 * name is pname, whose characters may be escaped (RFC 3261 25.1), and
 * escaped unreserved characters are the characters (19.1.4), so a
 * transferee that reads "m%61ddr=10.9.9.9" as maddr would send its INVITE
 * there, past us, to a host the transferor chose. Left out as maddr is, in
 * any case and with any of its letters escaped; a parameter that only looks
 * like one (a longer name, a name escaped to another letter) stays.
 */
static void test_refer_to_escaped_maddr(void **state)
{
	struct relay_result res;
	(void)state;

	rc.rewrite_refer_to = true;
	res = refer_from_a(2, "Refer-To: <sip:carol@pbx.internal;m%61ddr=10.9.9.9;user=phone>\r\n",
			   sizeof(out));
	assert_refer_to(res, "<sip:carol@127.0.0.1:5060;user=phone>");
	res =
	    refer_from_a(3,
			 "Refer-To: <sip:carol@pbx.internal;x=1;%6D%41DDR=10.9.9.9?Replaces=a%40b>"
			 "\r\n",
			 sizeof(out));
	assert_refer_to(res, "<sip:carol@127.0.0.1:5060;x=1?Replaces=a%40b>");
	assert_null(memmem(out, (size_t)res.len, "10.9.9.9", 8));
	res = refer_from_a(4, "Refer-To: <sip:carol@pbx.internal;%6daddrs=1;m%62ddr=2;madd%72>\r\n",
			   sizeof(out));
	assert_refer_to(res, "<sip:carol@127.0.0.1:5060;%6daddrs=1;m%62ddr=2>");
	assert_int_equal(rc.refer_to_rewritten, 3);
	rc.rewrite_refer_to = false;
}

/*
 * A bare addr-spec (no '<' '>') ends at its first ';': every parameter
 * after it is a header parameter (RFC 3261 20.10, RFC 3515 2.1), not the
 * URI's, so that "sip:carol@pbx;maddr=10.0.0.1;transport=tcp" used to
 * cross with both. A lax transferee that builds its INVITE from them as
 * the URI's would send it to the maddr, a host of the transferor's network
 * (and by TCP, which we do not listen on). With rewrite_refer_to they go
 * as the URI's do (any case, escaped letters), LWS around them and all; the
 * other header parameters cross byte for byte, a quoted value holding ';'
 * and "maddr=" too. A name-addr's header parameters lose theirs as well:
 * no one reads them as the URI's, but a maddr there still names the host
 * (they crossed as they came before). A quoted transport value is its
 * content: "udp" stays, as udp does (it was left out before).
 */
static void test_refer_to_addr_spec_header_params(void **state)
{
	static const struct {
		const char *line, *want;
	} cases[] = {
	    {"Refer-To: sip:carol@pbx.internal:5070;maddr=10.0.0.1;transport=tcp\r\n",
	     "sip:carol@127.0.0.1:5060"},
	    {"Refer-To: sip:carol@pbx.internal ;x-a=\"b;maddr=c\" ; M%61DDR = 10.0.0.1"
	     ";transport=UDP;x-b;Transport=\"udp\";tr%61nsport=sctp;trans%5gort=tcp\r\n",
	     "sip:carol@127.0.0.1:5060 ;x-a=\"b;maddr=c\";transport=UDP;x-b;Transport=\"udp\";"
	     "trans%5gort=tcp"},
	    {"Refer-To: sip:carol@pbx.internal ;maddr=10.0.0.1 ;x=1\r\n",
	     "sip:carol@127.0.0.1:5060 ;x=1"},
	    /* the ?headers of an addr-spec (which RFC 3261 20 wants in a
	     * name-addr) kept before its header parameters */
	    {"r: sip:carol@pbx.internal?Replaces=a%40b;maddr=10.0.0.1;x=1\r\n",
	     "sip:carol@127.0.0.1:5060?Replaces=a%40b;x=1"},
	    /* a name-addr's header parameters: no one reads them as the
	     * URI's, but its maddr names the sender's host all the same */
	    {"Refer-To: <sip:carol@pbx.internal>;maddr=10.0.0.1;transport=tcp\r\n",
	     "<sip:carol@127.0.0.1:5060>"},
	    {"Refer-To: \"C>\" <sip:carol@pbx.internal;x=1?Replaces=a%40b> ;y=\"<;maddr>\""
	     " ; Maddr=\"10.0.0.1\";transport=\"udp\";TRANSPORT=\"tcp\"\r\n",
	     "\"C>\" <sip:carol@127.0.0.1:5060;x=1?Replaces=a%40b> "
	     ";y=\"<;maddr>\";transport=\"udp\""},
	    /* a quoted "udp" is udp (RFC 3261 25.1 gen-value) */
	    {"Refer-To: sip:carol@pbx.internal;transport=\"UDP\";maddr=\"10.0.0.1\"\r\n",
	     "sip:carol@127.0.0.1:5060;transport=\"UDP\""},
	};
	struct relay_result res;
	(void)state;

	rc.rewrite_refer_to = true;
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		res = refer_from_a(2 + i, cases[i].line, sizeof(out));
		assert_refer_to(res, cases[i].want);
		assert_null(memmem(out, (size_t)res.len, "10.0.0.1", 8));
		assert_null(memmem(out, (size_t)res.len, "pbx.internal", 12));
	}
	assert_int_equal(rc.refer_to_rewritten, 7);
	assert_int_equal(rc.refer_to_kept, 0);
	rc.rewrite_refer_to = false;
}

/* The caller's REFER with these lines, a Refer-To that crosses as it came
 * (tel:) put first when they have none (with rewrite_refer_to a REFER
 * without one is answered 400), relayed into out. */
static struct relay_result refer_to_tel_from_a(unsigned cseq, const char *lines, size_t cap)
{
	static char with[4096];
	if (strstr(lines, "Refer-To:"))
		return refer_from_a(cseq, lines, cap);
	snprintf(with, sizeof(with), "Refer-To: <tel:+15550001>\r\n%s", lines);
	return refer_from_a(cseq, with, cap);
}

/* The relayed REFER's one Referred-By value is exactly want. */
static void assert_referred_by(struct relay_result res, const char *want)
{
	assert_int_equal(res.outcome, RELAY_SEND);
	parse_out(res.len);
	assert_int_equal(sip_hdr_lines(&out_m, SIP_HDR_REFERRED_BY), 1);
	const struct sip_hdr_line *h = sip_find_hdr(&out_m, SIP_HDR_REFERRED_BY);
	if (!sip_view_eq(out, h->value, want, strlen(want)))
		fail_msg("Referred-By: %.*s\n want        %s", h->value.len, out + h->value.off,
			 want);
}

/*
 * A REFER's Referred-By (RFC 3892) names the transferor, user@host: a host
 * of the sender's network, as the caller's in leg B's From would be
 * (setup_msg.c names ours there). With rewrite_refer_to its host and port
 * are our advertise as the Refer-To's are: the display name, user part,
 * other URI and header parameters kept, maddr and a transport but UDP
 * left out (its header parameters too), in the long and the compact
 * form, sips: too (read, not dialled), counted per REFER relayed. One with
 * a cid (RFC 3892 2.1: it names the body's S/MIME token, a signed copy of
 * this value that the refer target checks it against) crosses as it came,
 * as do a tel: URI, two lines, a value that is no one address and one longer
 * than a Refer-To may be; each counted kept. A REFER without one counts
 * neither; with the key off nothing changes and nothing is counted; a
 * Referred-By strip_headers names does not cross and is not counted.
 */
static void test_referred_by_rewritten(void **state)
{
	struct relay_result res;
	static char line[3300];
	(void)state;

	static const char by[] =
	    "Referred-By: \"Alice\" <sip:alice@pbx.internal:5070;maddr=10.1.1.1;"
	    "transport=tcp;user=phone>;x=1\r\n";
	res = refer_to_tel_from_a(2, by, sizeof(out));
	assert_referred_by(res, "\"Alice\" <sip:alice@pbx.internal:5070;maddr=10.1.1.1;"
				"transport=tcp;user=phone>;x=1");
	assert_int_equal(rc.referred_by_rewritten + rc.referred_by_kept, 0);

	rc.rewrite_refer_to = true;
	res = refer_to_tel_from_a(3, by, sizeof(out));
	assert_referred_by(res, "\"Alice\" <sip:alice@127.0.0.1:5060;user=phone>;x=1");
	assert_null(memmem(out, (size_t)res.len, "pbx.internal", 12));
	assert_null(memmem(out, (size_t)res.len, "10.1.1.1", 8));
	assert_int_equal(rc.referred_by_rewritten, 1);
	/* with a Refer-To rewritten beside it */
	res = refer_to_tel_from_a(
	    4,
	    "Refer-To: <sip:carol@pbx.internal;maddr=10.1.1.1?Replaces=a%40b>\r\n"
	    "b: sip:alice@pbx.internal;MADDR=10.1.1.1;x=2\r\n",
	    sizeof(out));
	assert_referred_by(res, "sip:alice@127.0.0.1:5060;x=2");
	assert_refer_to(res, "<sip:carol@127.0.0.1:5060?Replaces=a%40b>");
	assert_int_equal(rc.referred_by_rewritten, 2);
	assert_int_equal(rc.refer_to_rewritten, 1);
	assert_null(memmem(out, (size_t)res.len, "pbx.internal", 12));
	/* a sips: one too: it is read, not dialled, and names the host all
	 * the same; its name-addr's header parameter maddr goes as well */
	res = refer_to_tel_from_a(
	    5, "Referred-By: <sips:alice@pbx.internal:5061>;maddr=10.1.1.1;x=3\r\n", sizeof(out));
	assert_referred_by(res, "<sips:alice@127.0.0.1:5060>;x=3");
	assert_int_equal(rc.referred_by_rewritten, 3);

	/* crossing as they came, each counted kept */
	static const char *const kept[] = {
	    "<sip:alice@pbx.internal>;cid=\"20398823.2UWQFN309shb3@pbx.internal\"",
	    "<sip:alice@pbx.internal>;x=1;CID=\"a@pbx.internal\"",
	    "<sip:alice@pbx.internal>;c%69d=\"b@pbx.internal\"",
	    "<tel:+15551234567>",
	    "<sip:alice@pbx.internal",
	    "<sip:alice@pbx.internal>, <sip:bob@pbx.internal>",
	};
	unsigned cseq = 6;
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
		snprintf(line, sizeof(line), "Referred-By: %s\r\n", kept[i]);
		res = refer_to_tel_from_a(cseq++, line, sizeof(out));
		assert_referred_by(res, kept[i]);
		assert_int_equal(rc.referred_by_kept, i + 1);
	}
	res = refer_to_tel_from_a(cseq++,
				  "Referred-By: <sip:alice@pbx.internal>\r\n"
				  "Referred-By: <sip:bob@pbx.internal>\r\n",
				  sizeof(out));
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_non_null(
	    memmem(out, (size_t)res.len, "Referred-By: <sip:alice@pbx.internal>\r\n", 39));
	assert_non_null(
	    memmem(out, (size_t)res.len, "Referred-By: <sip:bob@pbx.internal>\r\n", 37));
	assert_int_equal(rc.referred_by_kept, 7);
	/* one as long as a Refer-To may be (2048 + 1024 bytes) is rewritten,
	 * one longer crosses as it came */
	char value[3074], want[3080];
	memset(value, 'y', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	memcpy(value, "<sip:alice@pbx.internal>;x=", 27);
	snprintf(line, sizeof(line), "Referred-By: %s\r\n", value);
	res = refer_to_tel_from_a(cseq++, line, sizeof(out));
	assert_referred_by(res, value);
	assert_int_equal(rc.referred_by_kept, 8);
	value[sizeof(value) - 2] = '\0';
	snprintf(line, sizeof(line), "Referred-By: %s\r\n", value);
	snprintf(want, sizeof(want), "<sip:alice@127.0.0.1:5060>%s", value + 24);
	res = refer_to_tel_from_a(cseq++, line, sizeof(out));
	assert_referred_by(res, want);
	assert_int_equal(rc.referred_by_rewritten, 4);

	/* none: neither counted */
	res = refer_to_tel_from_a(cseq++, "Refer-To: <sip:carol@pbx.internal>\r\n", sizeof(out));
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_int_equal(rc.referred_by_rewritten + rc.referred_by_kept, 4 + 8);

	/* left out by strip_headers: not crossed, not counted */
	rc.strip = (struct sip_strip){SIP_HBIT(SIP_HDR_REFERRED_BY), NULL};
	res = refer_to_tel_from_a(cseq++, by, sizeof(out));
	assert_int_equal(res.outcome, RELAY_SEND);
	parse_out(res.len);
	assert_int_equal(sip_hdr_lines(&out_m, SIP_HDR_REFERRED_BY), 0);
	assert_int_equal(rc.referred_by_rewritten + rc.referred_by_kept, 4 + 8);
	rc.strip = (struct sip_strip){0, NULL};
	rc.rewrite_refer_to = false;
}

/* A re-INVITE's offer answered in a reliable 183 (RFC 3262 5), then an
 * UPDATE's offer, and no final to the re-INVITE before its transaction
 * expires: the exchange the 183 made stays (RFC 6141 5), as it does when a
 * failure final comes, and the UPDATE's offer stays open. Expiry, the one
 * place that did not look at SHARD_TXN_EARLY_SDP, rejected the open offer,
 * the UPDATE's, in the re-INVITE's name. */
static void test_expiry_keeps_an_exchange_a_reliable_183_made(void **state)
{
	char branch[128];
	struct relay_result res;
	(void)state;

	const uint64_t timeout = 32000;
	stable_with(SHARD_DLG_CONFIRMED);
	offer_from_a("INVITE", 2, branch, sizeof(branch));
	res =
	    answer_from_b_lines(183, branch, out_m.cseq.num, "INVITE",
				"Contact: <sip:bob@10.2.2.2:5080>\r\nRequire: 100rel\r\nRSeq: 7\r\n"
				"Content-Type: application/sdp\r\n",
				"v=2\r\n");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_bodies("hello", "v=2\r\n", "answered in a reliable 183");
	/* the caller's UPDATE offers again (RFC 3311: allowed once the
	 * exchange is done), and waits for its answer */
	char ubranch[128];
	offer_from_a("UPDATE", 3, ubranch, sizeof(ubranch));
	rc.now_ms += timeout + 1;
	assert_int_equal(relay_expire(&rc, timeout, &res), 0); /* the re-INVITE's */
	assert_offer_answer(SIGNALING_STATE_HAVE_REMOTE_OFFER, SIGNALING_STATE_HAVE_LOCAL_OFFER,
			    "the re-INVITE expired, the UPDATE's offer open");
}
/*
 * A re-INVITE answered in a reliable 183 (RFC 3262 5, RFC 6337 2.2), its 2xx
 * without a body: the exchange was left out of the call's model, which kept
 * the re-INVITE's offer open, so the callee's next offer (an UPDATE) was
 * read as the answer. Then an offerless re-INVITE whose reliable 183 makes
 * the offer, answered in the PRACK.
 */
static void test_reliable_183_makes_a_re_invites_exchange(void **state)
{
	char branch[128], pbranch[128];
	struct relay_result res;
	(void)state;

	stable_with(SHARD_DLG_CONFIRMED);
	offer_from_a("INVITE", 2, branch, sizeof(branch));
	unsigned bcseq = out_m.cseq.num;
	res = answer_from_b_lines(
	    183, branch, bcseq, "INVITE",
	    "Contact: <sip:bob@10.2.2.2:5080>\r\nRequire: 100rel\r\nRSeq: 77\r\n"
	    "Content-Type: application/sdp\r\n",
	    "v=2\r\n");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_offer_answer(SIGNALING_STATE_STABLE, SIGNALING_STATE_STABLE,
			    "the answer in a reliable 183");
	/* the same 183 again, and a 2xx repeating the answer: no new offer */
	res = answer_from_b_lines(
	    183, branch, bcseq, "INVITE",
	    "Contact: <sip:bob@10.2.2.2:5080>\r\nRequire: 100rel\r\nRSeq: 77\r\n"
	    "Content-Type: application/sdp\r\n",
	    "v=2\r\n");
	res = branch_from_a("PRACK", 3, 3, "RAck: 77 2 INVITE\r\n");
	assert_int_equal(res.outcome, RELAY_SEND);
	out_branch(pbranch, sizeof(pbranch));
	res = answer_from_b(200, pbranch, out_m.cseq.num, "PRACK");
	assert_int_equal(res.outcome, RELAY_SEND);
	res = answer_from_b_body(200, branch, bcseq, "INVITE", "v=2\r\n");
	assert_int_equal(res.outcome, RELAY_SEND);
	res = branch_from_a("ACK", 2, 2, "");
	assert_offer_answer(SIGNALING_STATE_STABLE, SIGNALING_STATE_STABLE,
			    "the 2xx repeating the 183's answer");
	unsigned cseq;
	offer_from_b("UPDATE", 20, branch, sizeof(branch), &cseq);
	assert_offer_answer(SIGNALING_STATE_HAVE_LOCAL_OFFER, SIGNALING_STATE_HAVE_REMOTE_OFFER,
			    "the callee's UPDATE offer after the re-INVITE");
}

static void test_reliable_183_makes_an_offerless_re_invites_offer(void **state)
{
	char branch[128], pbranch[128];
	struct relay_result res;
	(void)state;

	stable_with(SHARD_DLG_CONFIRMED);
	res = branch_from_a("INVITE", 2, 2, "");
	assert_int_equal(res.outcome, RELAY_SEND);
	out_branch(branch, sizeof(branch));
	unsigned bcseq = out_m.cseq.num;
	res = answer_from_b_lines(
	    183, branch, bcseq, "INVITE",
	    "Contact: <sip:bob@10.2.2.2:5080>\r\nRequire: 100rel\r\nRSeq: 77\r\n"
	    "Content-Type: application/sdp\r\n",
	    "v=2\r\n");
	assert_int_equal(res.outcome, RELAY_SEND);
	/* sipshard offers it to the caller (leg A), the callee offered it (B) */
	assert_offer_answer(SIGNALING_STATE_HAVE_LOCAL_OFFER, SIGNALING_STATE_HAVE_REMOTE_OFFER,
			    "the offer in a reliable 183");
	res = from_a("PRACK", 3, "RAck: 77 2 INVITE\r\nContent-Type: application/sdp\r\n");
	assert_int_equal(res.outcome, RELAY_SEND);
	parse_out(res.len);
	out_branch(pbranch, sizeof(pbranch));
	res = answer_from_b(200, pbranch, out_m.cseq.num, "PRACK");
	res = answer_from_b(200, branch, bcseq, "INVITE");
	assert_offer_answer(SIGNALING_STATE_STABLE, SIGNALING_STATE_STABLE,
			    "the offer in a reliable 183, the answer in the PRACK");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_response_via_received_rport, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_503_relayed_as_500, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_strip_headers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refer_to_rewritten, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refer_to_escaped_maddr, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refer_to_addr_spec_header_params, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_referred_by_rewritten, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ack_with_the_answer_makes_the_session_stable,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_offer_answer_in_the_dialog, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_offer_answer_in_the_early_dialog, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused_bodiless_prack_keeps_the_invite_offer,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused_bodiless_prack_keeps_the_update_offer,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_request_crosses_to_leg_b, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_long_head_crosses_back, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bye_through_proxies_ends_the_call, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_bad_requests_get_defined_answers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_too_large_keeps_no_transaction, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bye_ends_dialog_after_final, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bye_replayed_into_kept_slot, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kept_slot_relays_no_tagless_request, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_bye_replayed_in_ended_fork_not_the_first_forks,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bye_replayed_in_ended_fork, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_bye_replayed_in_ended_fork_whose_slot_was_given_out, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bye_replayed_in_call_a_fork_answered, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_bye_answered_as_a_fork_took_the_slot_replayed,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bye_answered_at_a_forks_release_replayed, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_callee_bye_in_ended_fork_replayed, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_request_from_callee, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_session_refresh_sets_timer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unanswered_bye_ends_the_dialog, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ack_of_local_answer_to_callee_absorbed, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_challenged_bye_expiring_keeps_the_dialog, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_session_interval_given_to_asker, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_session_interval_told_again_on_2xx_retransmission,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_session_too_brief_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ack_of_local_answer_absorbed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_long_advertise_in_contact, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_long_extension_method, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_keepalive_answer_matches, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_notify_after_a_refused_refer_is_relayed, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_transfer_without_notify_fails_at_timer_n, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_notify_retransmitted_after_the_next_request, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_notify_about_our_refer_refreshes_the_target, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_notify_about_our_refer_is_answered_here, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_notify_from_the_other_leg_is_relayed, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_notify_without_id_after_a_relayed_refer, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_request_retransmitted_after_its_final_crosses,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reinvite_2xx_retransmission_crosses, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_prack_rack_names_the_other_legs_invite, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_ack_of_failed_reinvite_takes_its_branch, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_glare_answered_491, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused_offer_from_a_brings_back_the_session,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused_offer_from_b_brings_back_the_session,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused_early_update_brings_back_the_session,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused_first_offer_leaves_none, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_crossing_offers_answered_491, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_offer_glare_after_another_request_of_the_sender,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_early_offer_before_the_invites_answer_refused,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_invite_body_after_an_unanswered_offer_is_an_offer,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_expired_offer_brings_back_the_session, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_bye_with_an_offer_open_shows_no_answer, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_bye_terminates_both_legs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cancel_of_reinvite_crosses, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_relayed_requests_counted_in_their_dialog, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_only_2xx_or_reliable_1xx_refresh_the_target, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_target_refresh_too_long_keeps_the_old_target_counted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_response_of_another_method_is_stale, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_requests_open_in_a_fork_follow_it_into_the_call,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reliable_183_makes_a_re_invites_exchange, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_expiry_keeps_an_exchange_a_reliable_183_made,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reliable_183_makes_an_offerless_re_invites_offer,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_retransmission_of_an_older_request_crosses, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_ack_of_failed_reinvite_after_another_request,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_overlapping_reinvite_behind_another_request, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_overlapping_reinvite_answered_500, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_bye_too_large_ends_the_call_on_both_sides, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_ack_branch_unique_across_calls, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_final_too_large_answered_500, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_response_goes_back_to_the_requests_source, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_end_answers_go_to_the_requests_source, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_ack_of_a_513_given_here_ends_here, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_event_id_past_32_bits_names_no_refer, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_challenged_bye_keeps_the_dialog, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_relayed_refer_notify_id_maps_across, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_refused_refer_keeps_the_earlier_refers_id, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_refused_refer_from_the_other_side_keeps_the_id,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_redirect_to_an_in_dialog_request_keeps_its_contacts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_late_2xx_after_the_operators_bye_is_acked, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_late_2xx_after_the_callers_bye_is_acked, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_late_final_after_the_callees_bye, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_late_2xx_after_the_callees_bye, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_2xx_unacked_at_the_end_is_acked_when_resent, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_long_head_request_open_at_the_end, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_late_non_invite_finals_are_counted, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_reinvite_open_at_the_end_behind_later_requests,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_requests_beyond_the_lookback_get_481, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_crossing_byes_both_replayed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_requests_answered_at_the_end, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_open_requests_sent_again_get_their_487, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_cancel_after_its_dialog_ended_gets_200, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_bye_behind_later_requests_as_a_fork_took_the_slot,
					    setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
