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
	assert_true(session_sdp_from_peer(a, b, "application/sdp", 15, "v=0 o", 5));
	assert_false(session_sdp_from_peer(b, a, "application/sdp", 15, "v=0 a", 5));
	assert_true(session_sdp_from_peer(a, b, "application/sdp", 15, "v=0 p", 5));
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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
