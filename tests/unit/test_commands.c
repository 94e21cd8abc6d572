/*
 * test_commands.c - the management commands' answers that need no running
 * daemon: an unknown command is refused with a sentence that quotes its name
 * as printable text (found by fuzz_mgmt). The commands themselves run against
 * a daemon in tests/integration/mgmt.sh and dialogs.sh, and against a daemon
 * that never started in fuzz_mgmt.
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

/* The error commands_handle gives command, checked to be one line of
 * printable text; the caller frees the response. */
static const char *refusal(struct daemon *d, const char *command, json_t **resp)
{
	json_t *req = json_pack("{s:s}", "command", command);
	assert_non_null(req);
	*resp = commands_handle(d, command, req);
	json_decref(req);
	/* NULL would reach the operator as "out of memory" */
	assert_non_null(*resp);
	assert_true(json_is_false(json_object_get(*resp, "ok")));
	const char *why = json_string_value(json_object_get(*resp, "error"));
	assert_non_null(why);
	for (const char *p = why; *p; p++)
		assert_true((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
	return why;
}

/* A control byte in the name reached sipshardctl's terminal as it came. */
static void test_unknown_command_quoted_without_control_bytes(void **state)
{
	static struct daemon d;
	json_t *resp;
	(void)state;
	const char *why = refusal(&d, "re\x1b[2Jfer", &resp);
	assert_non_null(strstr(why, "unknown command \"re?[2Jfer\""));
	json_decref(resp);
}

/* The name was cut at 40 bytes, which may split a UTF-8 character: the
 * error was then no UTF-8, jansson refused to build it, and the operator
 * was told "out of memory". */
static void test_unknown_command_cut_inside_a_character(void **state)
{
	static struct daemon d;
	char name[64];
	json_t *resp;
	(void)state;
	memset(name, 'x', 39);
	memcpy(name + 39, "\xc3\xa9tat", 6); /* "état": its é at bytes 39 and 40 */
	const char *why = refusal(&d, name, &resp);
	assert_non_null(strstr(why, "unknown command \"xxx"));
	json_decref(resp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_unknown_command_quoted_without_control_bytes),
	    cmocka_unit_test(test_unknown_command_cut_inside_a_character),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
