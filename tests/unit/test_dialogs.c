/*
 * test_dialogs.c - a dialog record as sipshardctl dialogs shows it
 * (dialogs_dialog_json): its ages from the controller's clock, its
 * offer and answer, the status of the last request the operator sent; a command no worker may be
 * given (a full ring) reaches none; a Call-ID with a control byte is refused. The
 * commands themselves run against a daemon in
 * tests/integration/dialogs.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "daemon/daemon.h"

static json_int_t member(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static void test_ages_from_the_controller_clock(void **state)
{
	struct shard_dialog d;
	(void)state;
	memset(&d, 0, sizeof(d));
	d.state = SHARD_DLG_CONFIRMED;
	d.created_ms = 10000;
	d.last_activity_ms = 15000;
	json_t *o = dialogs_dialog_json(1, &d, 17500);
	assert_non_null(o);
	assert_int_equal(member(o, "worker"), 1);
	assert_int_equal(member(o, "age_ms"), 7500);
	assert_int_equal(member(o, "idle_ms"), 2500);
	assert_true(json_is_null(json_object_get(o, "session_expires_in_ms")));
	json_decref(o);
}

/* The controller takes its clock at the start of its pass; a worker that
 * relayed a request after that moment gave the record a later activity
 * time, and the listing showed idle_ms -3 (an unsigned difference printed
 * as a signed one). */
static void test_activity_after_the_controller_clock_is_idle_0(void **state)
{
	struct shard_dialog d;
	(void)state;
	memset(&d, 0, sizeof(d));
	d.state = SHARD_DLG_EARLY;
	d.created_ms = 20003;
	d.last_activity_ms = 20003;
	json_t *o = dialogs_dialog_json(0, &d, 20000);
	assert_non_null(o);
	assert_int_equal(member(o, "age_ms"), 0);
	assert_int_equal(member(o, "idle_ms"), 0);
	assert_string_equal(json_string_value(json_object_get(o, "state")), "early");
	json_decref(o);
}

/* The last request the operator sent: its final status, null while it
 * waits, and "lost" when a restart came before it (SHARD_SENT_LOST). */
static void test_last_sent_status(void **state)
{
	static const struct {
		uint16_t sent_status;
		const char *want; /* the status as JSON */
	} cases[] = {{0, "null"}, {200, "200"}, {408, "408"}, {SHARD_SENT_LOST, "\"lost\""}};
	struct shard_dialog d;
	(void)state;

	memset(&d, 0, sizeof(d));
	d.state = SHARD_DLG_CONFIRMED;
	json_t *o = dialogs_dialog_json(0, &d, 1);
	assert_true(json_is_null(json_object_get(o, "last_sent"))); /* none sent */
	json_decref(o);
	d.sent_method = SIP_METHOD_MESSAGE;
	d.sent_leg = SHARD_LEG_B;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		d.sent_status = cases[i].sent_status;
		o = dialogs_dialog_json(0, &d, 1);
		const json_t *sent = json_object_get(o, "last_sent");
		assert_string_equal(json_string_value(json_object_get(sent, "method")), "MESSAGE");
		assert_string_equal(json_string_value(json_object_get(sent, "to")), "callee");
		char *got = json_dumps(json_object_get(sent, "status"), JSON_ENCODE_ANY);
		assert_string_equal(got, cases[i].want);
		free(got);
		json_decref(o);
	}
}

/* The session bodies as text: the network's bytes other than printable
 * ASCII, CR, LF and tab as '?'; one too large to keep says so. */
static void test_offer_and_answer_shown(void **state)
{
	static struct shard_dialog d; /* 15 KiB */
	(void)state;
	memset(&d, 0, sizeof(d));
	d.state = SHARD_DLG_CONFIRMED;
	assert_true(session_body_set(&d.legs[SHARD_LEG_A].offer, "application/sdp", 15,
				     "v=0\r\n\x01\xff", 7, SESSION_BODY_MAX));
	assert_false(session_body_set(&d.legs[SHARD_LEG_A].answer, "application/sdp", 15, "x",
				      SESSION_BODY_MAX + 1, SESSION_BODY_MAX));
	json_t *o = dialogs_dialog_json(0, &d, 1);
	const json_t *caller = json_object_get(o, "caller");
	const json_t *offer = json_object_get(caller, "offer");
	assert_string_equal(json_string_value(json_object_get(offer, "type")), "application/sdp");
	assert_int_equal(member(offer, "bytes"), 7);
	assert_string_equal(json_string_value(json_object_get(offer, "body")), "v=0\r\n??");
	assert_true(json_is_true(json_object_get(json_object_get(caller, "answer"), "dropped")));
	assert_true(json_is_null(json_object_get(json_object_get(o, "callee"), "offer")));
	json_decref(o);
}

/* While an offer is open neither leg has an answer (SIP.js has none then):
 * the have-local-offer leg's answer slot holds the offer to go back to if
 * it is refused, which must not show as an answer; once stable the answer
 * shows again. */
static void test_no_answer_while_an_offer_is_open(void **state)
{
	static struct shard_dialog d; /* 15 KiB */
	struct sip_session *a = &d.legs[SHARD_LEG_A], *b = &d.legs[SHARD_LEG_B];
	(void)state;
	memset(&d, 0, sizeof(d));
	d.state = SHARD_DLG_CONFIRMED;
	assert_true(session_sdp_from_peer(a, b, "application/sdp", 15, "v=0 o", 5, true));
	assert_false(session_sdp_from_peer(b, a, "application/sdp", 15, "v=0 a", 5, false));
	assert_true(session_sdp_from_peer(a, b, "application/sdp", 15, "v=0 p", 5, true));
	json_t *o = dialogs_dialog_json(0, &d, 1);
	for (int i = 0; i < 2; i++) {
		const json_t *leg = json_object_get(o, i ? "callee" : "caller");
		assert_string_equal(
		    json_string_value(json_object_get(json_object_get(leg, "offer"), "body")),
		    "v=0 p");
		assert_true(json_is_null(json_object_get(leg, "answer")));
	}
	json_decref(o);
	session_offer_rejected(b, a);
	o = dialogs_dialog_json(0, &d, 1);
	for (int i = 0; i < 2; i++) {
		const json_t *leg = json_object_get(o, i ? "callee" : "caller");
		assert_string_equal(
		    json_string_value(json_object_get(json_object_get(leg, "offer"), "body")),
		    "v=0 o");
		assert_string_equal(
		    json_string_value(json_object_get(json_object_get(leg, "answer"), "body")),
		    "v=0 a");
	}
	json_decref(o);
}

/* A bye (or info, message, refer) that one worker's full command ring
 * refuses is answered "busy: try again": no worker may have been given it,
 * or those that were would end (or send into) their calls while the operator
 * is told nothing happened, and the retry would send it twice. */
static void test_busy_command_reaches_no_worker(void **state)
{
	(void)state;
	struct daemon *d = calloc(1, sizeof(*d));
	assert_non_null(d);
	d->nworkers = 2;
	d->workers = calloc(2, sizeof(*d->workers));
	d->ctl_out = calloc(2, sizeof(*d->ctl_out));
	assert_non_null(d->workers);
	assert_non_null(d->ctl_out);
	for (unsigned i = 0; i < 2; i++) {
		d->workers[i].id = i;
		d->workers[i].d = d;
		assert_int_equal(ring_create(&d->workers[i].cmd, 4,
					     sizeof(struct dmsg_hdr) + sizeof(struct dlg_query)),
				 0);
	}
	struct dmsg_hdr filler = {.type = DMSG_RELEASE};
	while (daemon_push_cmd(d, 1, &filler, NULL, 0) == 0)
		;
	json_t *req = json_pack("{s:s, s:s}", "command", "bye", "call_id", "call-1@x");
	json_t *resp = dialogs_command(d, "bye", req, 1000);
	assert_non_null(resp);
	assert_ptr_not_equal(resp, MGMT_LATER);
	assert_non_null(strstr(json_string_value(json_object_get(resp, "error")), "busy"));
	assert_int_equal(ring_count(d->workers[0].cmd), 0);
	assert_false(d->query.active);
	json_decref(resp);
	json_decref(req);
	for (unsigned i = 0; i < 2; i++)
		ring_destroy(d->workers[i].cmd);
	free(d->ctl_out);
	free(d->workers);
	free(d);
}

/* A Call-ID with a control byte (JSON lets the request hold one; SIP has
 * none) is refused as an argument: it was looked for, and the answer that no
 * call has it quoted it, and it reached sipshardctl's terminal as it came
 * (found by fuzz_mgmt). */
static void test_call_id_with_a_control_byte_is_refused(void **state)
{
	static struct daemon d;
	(void)state;
	assert_int_equal(mgmt_create(&d.mgmt, &d), 0);
	json_t *req = json_pack("{s:s, s:s}", "command", "bye", "call_id", "a\x1b[2Jb");
	json_t *resp = dialogs_command(&d, "bye", req, 1000);
	assert_non_null(resp);
	assert_ptr_not_equal(resp, MGMT_LATER);
	const char *why = json_string_value(json_object_get(resp, "error"));
	assert_non_null(why);
	assert_true(strncmp(why, "call_id: ", 9) == 0);
	assert_false(d.query.active);
	json_decref(resp);
	json_decref(req);
	mgmt_close(d.mgmt);
}

/* A daemon of two workers with command rings, and a management socket
 * with no client (the answers go nowhere; the counts stay in d->query). */
static struct daemon *two_workers(void)
{
	struct daemon *d = calloc(1, sizeof(*d));
	assert_non_null(d);
	d->nworkers = 2;
	d->workers = calloc(2, sizeof(*d->workers));
	d->ctl_out = calloc(2, sizeof(*d->ctl_out));
	assert_non_null(d->workers);
	assert_non_null(d->ctl_out);
	for (unsigned i = 0; i < 2; i++) {
		d->workers[i].id = i;
		d->workers[i].d = d;
		assert_int_equal(ring_create(&d->workers[i].cmd, 4,
					     sizeof(struct dmsg_hdr) + sizeof(struct dlg_query)),
				 0);
	}
	assert_int_equal(mgmt_create(&d->mgmt, d), 0);
	return d;
}

static void free_workers(struct daemon *d)
{
	json_decref(d->query.dialogs);
	free(d->query.targets);
	mgmt_close(d->mgmt);
	for (unsigned i = 0; i < 2; i++)
		ring_destroy(d->workers[i].cmd);
	free(d->ctl_out);
	free(d->workers);
	free(d);
}

/* The workers take the query pushed last; its id. */
static uint32_t take_query(struct daemon *d)
{
	uint32_t id = 0;
	for (unsigned i = 0; i < 2; i++) {
		const void *h, *payload;
		assert_int_equal(
		    ring_peek(d->workers[i].cmd, &h, sizeof(struct dmsg_hdr), &payload), 0);
		id = ((const struct dmsg_hdr *)h)->slot;
		ring_pop(d->workers[i].cmd);
	}
	return id;
}

/* Worker w reports dialog slot (generation 1), with sent_status. */
static void report(struct daemon *d, unsigned w, uint32_t id, uint32_t slot, uint16_t sent_status)
{
	static struct shard_dialog dl;
	static char packed[sizeof(dl) + 64];
	memset(&dl, 0, sizeof(dl));
	dl.state = SHARD_DLG_CONFIRMED;
	dl.slot = slot;
	dl.gen = 1;
	dl.sent_method = SIP_METHOD_INFO;
	dl.sent_leg = SHARD_LEG_B;
	dl.sent_status = sent_status;
	int n = shard_dialog_pack(&dl, packed, sizeof(packed));
	assert_true(n > 0);
	struct dmsg_hdr h = {.type = DMSG_QUERY_DIALOG, .len = (uint32_t)n, .slot = id};
	dialogs_on_reply(d, w, &h, packed, 1000);
}

static void done(struct daemon *d, unsigned w, uint32_t id, uint32_t matched)
{
	struct dmsg_hdr h = {.type = DMSG_QUERY_DONE, .slot = id, .reason = matched};
	dialogs_on_reply(d, w, &h, NULL, 1000);
}

static void final(struct daemon *d, unsigned w, uint32_t slot, int status)
{
	struct dmsg_hdr h = {
	    .type = DMSG_SENT_FINAL, .slot = slot, .gen = 1, .reason = (uint32_t)status};
	dialogs_on_final(d, w, &h);
}

/* An info into n calls (all on worker 0) of one Call-ID, waiting 1000 ms:
 * the id of the listing query once the request is out. */
static uint32_t info_into(struct daemon *d, uint32_t n)
{
	json_t *req = json_pack("{s:s, s:s, s:s, s:i}", "command", "info", "call_id", "reused@x",
				"to", "callee", "wait_ms", 1000);
	json_t *resp = dialogs_command(d, "info", req, 1000);
	assert_ptr_equal(resp, MGMT_LATER);
	json_decref(req);
	uint32_t id = take_query(d);
	for (uint32_t i = 0; i < n; i++)
		report(d, 0, id, i, 0);
	done(d, 0, id, n);
	done(d, 1, id, 0);
	assert_true(d->query.awaiting);
	assert_int_equal(d->query.sent, n);
	return id;
}

/* The calls that ended while an info waited are counted, each of them, for
 * any number of calls the request went into: the count stopped at 16 (the
 * dialogs waited for were kept in an array of 16), and the answer waited
 * out its time and said none. */
static void test_every_call_ended_is_counted(void **state)
{
	(void)state;
	struct daemon *d = two_workers();
	info_into(d, 40);
	for (uint32_t i = 0; i < 40; i++)
		final(d, 0, i, DLG_SENT_CALL_ENDED);
	assert_int_equal(d->query.ended, 40);
	assert_int_equal(d->query.finals, 40);
	/* every one is in: the listing for the answer goes at once */
	dialogs_tick(d, 1001);
	assert_true(d->query.listing);
	uint32_t id = take_query(d);
	done(d, 0, id, 0);
	done(d, 1, id, 0);
	assert_false(d->query.active);
	assert_int_equal(d->query.answered, 0);
	assert_int_equal(d->query.ended, 40);
	free_workers(d);
}

/* A final that comes after its worker listed the call, and a call that
 * ends then, while another worker still lists: the answer counts them (the
 * final's status is the answer's). It counted the finals of the listing
 * only, and said none. */
static void test_final_during_the_listing_counts(void **state)
{
	(void)state;
	struct daemon *d = two_workers();
	json_t *req = json_pack("{s:s, s:s, s:s, s:i}", "command", "info", "call_id", "reused@x",
				"to", "callee", "wait_ms", 1000);
	assert_ptr_equal(dialogs_command(d, "info", req, 1000), MGMT_LATER);
	json_decref(req);
	uint32_t id = take_query(d);
	report(d, 0, id, 3, 0);
	report(d, 1, id, 5, 0);
	done(d, 0, id, 1);
	done(d, 1, id, 1);
	assert_int_equal(d->query.sent, 2);
	/* the wait is over: the listing */
	dialogs_tick(d, 2000);
	assert_true(d->query.listing);
	id = take_query(d);
	report(d, 0, id, 3, 0); /* worker 0 lists its call, no final yet */
	done(d, 0, id, 1);
	final(d, 0, 3, 200);		     /* then the final comes */
	final(d, 1, 5, DLG_SENT_CALL_ENDED); /* worker 1's call ends */
	done(d, 1, id, 0);
	assert_false(d->query.active);
	assert_int_equal(d->query.answered, 1);
	assert_int_equal(d->query.ended, 1);
	assert_int_equal(d->query.status, 200);

	/* a status whose report a full ring lost counts from the listing, once */
	req = json_pack("{s:s, s:s, s:s, s:i}", "command", "info", "call_id", "reused@x", "to",
			"callee", "wait_ms", 1000);
	assert_ptr_equal(dialogs_command(d, "info", req, 3000), MGMT_LATER);
	json_decref(req);
	id = take_query(d);
	report(d, 0, id, 3, 0);
	report(d, 0, id, 4, 0);
	done(d, 0, id, 2);
	done(d, 1, id, 0);
	final(d, 0, 4, 486);
	dialogs_tick(d, 4000);
	id = take_query(d);
	report(d, 0, id, 3, 486); /* its report lost */
	report(d, 0, id, 4, 486); /* counted already */
	done(d, 0, id, 2);
	done(d, 1, id, 0);
	assert_false(d->query.active);
	assert_int_equal(d->query.answered, 2);
	assert_int_equal(d->query.status, 486);
	free_workers(d);
}

/* A dialog whose final could not be waited for (target_add found no memory
 * to grow its array) is in the answer, "untracked": the answer waited out
 * --wait, and said nothing of why. */
static void test_untracked_in_the_answer(void **state)
{
	(void)state;
	static struct dlg_pending p;
	memset(&p, 0, sizeof(p));
	p.q.kind = DLG_QUERY_SEND;
	p.q.method = SIP_METHOD_INFO;
	p.q.leg = SHARD_LEG_B;
	p.sent = 3;
	p.answered = 1;
	p.status = 200;
	p.untracked = 2;
	p.dialogs = json_array();
	json_t *a = dialogs_send_answer(&p);
	assert_non_null(a);
	assert_int_equal(member(a, "sent"), 3);
	assert_int_equal(member(a, "answered"), 1);
	assert_int_equal(member(a, "untracked"), 2);
	assert_true(json_is_null(json_object_get(a, "status"))); /* 2 not in */
	json_decref(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ages_from_the_controller_clock),
	    cmocka_unit_test(test_activity_after_the_controller_clock_is_idle_0),
	    cmocka_unit_test(test_offer_and_answer_shown),
	    cmocka_unit_test(test_last_sent_status),
	    cmocka_unit_test(test_no_answer_while_an_offer_is_open),
	    cmocka_unit_test(test_busy_command_reaches_no_worker),
	    cmocka_unit_test(test_call_id_with_a_control_byte_is_refused),
	    cmocka_unit_test(test_every_call_ended_is_counted),
	    cmocka_unit_test(test_final_during_the_listing_counts),
	    cmocka_unit_test(test_untracked_in_the_answer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
