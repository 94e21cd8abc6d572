/*
 * test_dialogs.c - a dialog record as sipshardctl dialogs shows it
 * (dialogs_dialog_json): its ages from the controller's clock, its
 * offer and answer. The commands
 * themselves run against a daemon in tests/integration/dialogs.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ages_from_the_controller_clock),
	    cmocka_unit_test(test_activity_after_the_controller_clock_is_idle_0),
	    cmocka_unit_test(test_offer_and_answer_shown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
