/*
 * test_relay_rfc.c - the relay (relay.c) where RFC 3261 and 3262 ask for more
 * than passing a request across: retransmissions after a final answer, the
 * RAck of a PRACK, the ACK of a failed re-INVITE, glare, a 513 given here, a
 * NOTIFY's Event id, a challenged BYE. Each of these once went wrong; the
 * comment of each test says how.
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

#include "../common/relay_dialog.h"
#include "daemon/relay.h"

static struct shard_table table;
static struct relay_ctx rc;
static struct sip_msg m, out_m;
static char out[SIP_MAX_DATAGRAM], in[4096], resp[4096];
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

static void parse_out(int len)
{
	assert_int_equal(sip_parse(&out_m, out, (size_t)len, NULL), 0);
}

/* A request from leg A with top Via branch z9hG4bKa<branch_no>. */
static struct relay_result from_a(const char *method, unsigned cseq, unsigned branch_no,
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
static struct relay_result from_b(const char *method, unsigned cseq)
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

/* Leg B's answer to the request whose relayed copy had this branch and CSeq. */
static struct relay_result answer_from_b(int status, const char *branch, unsigned cseq,
					 const char *method)
{
	struct relay_result res;
	int n = snprintf(resp, sizeof(resp),
			 "SIP/2.0 %d Whatever\r\n"
			 "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=%s;rport\r\n"
			 "From: <sip:alice@127.0.0.1:5060>;tag=%s\r\n"
			 "To: <sip:bob@10.2.2.2>;tag=btag\r\n"
			 "Call-ID: callB@sipshard\r\n"
			 "CSeq: %u %s\r\n"
			 "Contact: <sip:bob@10.2.2.2:5080>\r\n"
			 "Content-Length: 0\r\n\r\n",
			 status, branch, b_tag, cseq, method);
	assert_int_equal(sip_parse(&m, resp, (size_t)n, NULL), 0);
	relay_response(&rc, &m, out, sizeof(out), &res);
	return res;
}

static void out_branch(char *branch, size_t cap)
{
	snprintf(branch, cap, "%.*s", (int)out_m.vias[0].branch.len,
		 out + out_m.vias[0].branch.off);
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

	res = from_a("INFO", 2, 2, "");
	assert_int_equal(res.outcome, RELAY_SEND);
	out_branch(branch, sizeof(branch));
	res = answer_from_b(200, branch, out_m.cseq.num, "INFO");
	assert_int_equal(res.outcome, RELAY_SEND); /* ... and lost on the wire */

	/* Timer E: the caller sends the INFO again */
	res = from_a("INFO", 2, 2, "");
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
	assert_int_equal(res.outcome, RELAY_DROP);
	assert_int_equal(res.drop, RELAY_DROP_RESP_STALE);
	res = answer_from_b(500, branch, bcseq, "INFO");
	assert_int_equal(res.outcome, RELAY_DROP);
	assert_int_equal(res.drop, RELAY_DROP_RESP_STALE);
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

	res = from_a("INVITE", 2, 2, "");
	assert_int_equal(res.outcome, RELAY_SEND);
	out_branch(branch, sizeof(branch));
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
 * sent on (RFC 3262 7.2). DESIGN.md: "PRACK relayed, RAck mapped between
 * legs". The caller's INVITE was CSeq 101; leg B's INVITE was CSeq 1. The
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
	res = from_a("PRACK", 102, 102, "RAck: 1 101 INVITE\r\n");
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

	res = from_a("INVITE", 2, 2, "");
	assert_int_equal(res.outcome, RELAY_SEND);
	out_branch(inv_branch, sizeof(inv_branch));
	unsigned bcseq = out_m.cseq.num;
	res = answer_from_b(488, inv_branch, bcseq, "INVITE");
	assert_int_equal(res.outcome, RELAY_SEND);

	/* the caller's ACK of the 488: same branch as its INVITE (z9hG4bKa2) */
	res = from_a("ACK", 2, 2, "");
	assert_int_equal(res.outcome, RELAY_SEND);
	out_branch(ack_branch, sizeof(ack_branch));
	print_message("INVITE to leg B branch %s\nACK of its 488 branch   %s\n", inv_branch,
		      ack_branch);
	assert_int_equal(out_m.cseq.num, bcseq);
	assert_string_equal(ack_branch, inv_branch);
}

/*
 * Glare (DESIGN.md: "re-INVITE ... glare gives 491"; RFC 3261 14.2: a
 * UAS that receives an INVITE while an INVITE it sent on that dialog is in
 * progress MUST return 491). The callee's re-INVITE has been relayed to
 * the caller and is unanswered; the caller's re-INVITE crossing it was once
 * relayed to the callee instead of answered 491.
 */
static void test_glare_answered_491(void **state)
{
	struct relay_result res;
	(void)state;

	res = from_b("INVITE", 10);
	assert_int_equal(res.outcome, RELAY_SEND); /* pending on leg A */
	res = from_a("INVITE", 2, 2, "");
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

	res = from_a("INVITE", 2, 2, "");
	assert_int_equal(res.outcome, RELAY_SEND);
	out_branch(branch1, sizeof(branch1));
	unsigned bcseq1 = out_m.cseq.num;

	res = from_a("INVITE", 3, 3, "");
	print_message("second re-INVITE before the first's final: outcome %d status %d\n",
		      res.outcome, res.status);
	bool relayed_second = res.outcome == RELAY_SEND;

	/* the callee accepts the first: 2xx relayed, the caller ACKs it */
	res = answer_from_b(200, branch1, bcseq1, "INVITE");
	assert_int_equal(res.outcome, RELAY_SEND);
	res = from_a("ACK", 2, 20, "");
	print_message("ACK of the 2xx to the first re-INVITE: outcome %d drop %d\n", res.outcome,
		      res.drop);
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_false(relayed_second);
}

/*
 * A re-INVITE too large to relay is answered 513 here, and leg B never
 * sees it. Its CSeq was once left recorded as the leg's last relayed
 * INVITE, so its ACK was not absorbed like the ACK of the other local
 * answers (422/500/503, RELAY_DROP_ACK_LOCAL_ANSWER): it went to the callee
 * as an ACK for an INVITE CSeq the callee never received, and the ACK
 * mapping (dst->invite_cseq) pointed at that phantom INVITE.
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
			 "Contact: <sip:alice@10.1.1.1:5061>\r\n"
			 "Content-Length: 0\r\n\r\n",
			 a_tag);
	assert_int_equal(sip_parse(&m, in, (size_t)n, NULL), 0);
	relay_request(&rc, &m, out, 300, &res); /* does not fit the send buffer */
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 513);

	res = from_a("ACK", 2, 2, "");
	print_message("ACK of the 513 given here: outcome %d drop %d\n", res.outcome, res.drop);
	assert_int_equal(res.outcome, RELAY_DROP);
	assert_int_equal(res.drop, RELAY_DROP_ACK_LOCAL_ANSWER);
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

	res = from_a("BYE", 20, 20, "");
	assert_int_equal(res.outcome, RELAY_SEND);
	out_branch(branch, sizeof(branch));
	res = answer_from_b(407, branch, out_m.cseq.num, "BYE");
	assert_int_equal(res.outcome, RELAY_SEND);
	print_message("407 to the BYE: dialog_ended %d\n", res.dialog_ended);
	bool ended = res.dialog_ended;
	if (ended)
		shard_dialog_free(&table, SLOT); /* as the worker does */

	res = from_a("BYE", 21, 21, "Proxy-Authorization: Digest username=\"a\"\r\n");
	print_message("BYE with credentials: outcome %d status %d (bye_replayed %llu)\n",
		      res.outcome, res.status, (unsigned long long)rc.bye_replayed);
	assert_false(ended);
	assert_int_equal(res.outcome, RELAY_SEND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_request_retransmitted_after_its_final_crosses,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reinvite_2xx_retransmission_crosses, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_prack_rack_names_the_other_legs_invite, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_ack_of_failed_reinvite_takes_its_branch, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_glare_answered_491, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_overlapping_reinvite_answered_500, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_ack_of_a_513_given_here_ends_here, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_event_id_past_32_bits_names_no_refer, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_challenged_bye_keeps_the_dialog, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
