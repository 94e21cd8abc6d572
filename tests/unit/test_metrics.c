/*
 * test_metrics.c - the statistics document in the Prometheus text format
 * (metrics.h): every family opened by one HELP and one TYPE line, its
 * samples together after them; HELP texts and label values escaped as the
 * format says; the table of HELP texts sorted, each family once, each a
 * sentence on one line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/metrics.h"

/* The format of a document with a counter and a gauge of the table, labels
 * from workers and from nested objects (a registration named with a quote,
 * a backslash and a line feed), a string, and a member the table lacks: the
 * whole text, to the byte. Before, it had no HELP line at all. */
static void test_format(void **state)
{
	(void)state;
	json_error_t jerr;
	json_t *stats =
	    json_loads("{\"workers\": [{\"id\": 0, \"rx\": 5, \"drops\": {\"no_buffer\": 1}},"
		       "               {\"id\": 1, \"rx\": 7, \"drops\": {\"no_buffer\": 0}}],"
		       " \"controller\": {\"calls_active\": 2, \"new_counter\": 3,"
		       "   \"registration_registered\": {\"a\\\"b\\\\c\\nd\": true}},"
		       " \"draining\": false, \"io\": \"io_uring\"}",
		       JSON_PRESERVE_ORDER, &jerr);
	assert_non_null(stats);
	char *text = metrics_format(stats);
	json_decref(stats);
	assert_non_null(text);
	assert_string_equal(
	    text,
	    "# HELP sipshard_controller_calls_active Calls in progress, from the INVITE taken to "
	    "the end of the call.\n"
	    "# TYPE sipshard_controller_calls_active gauge\n"
	    "sipshard_controller_calls_active 2\n"
	    "# HELP sipshard_controller_new_counter Statistic controller_new_counter of "
	    "sipshardctl "
	    "stats (no description here yet).\n"
	    "# TYPE sipshard_controller_new_counter counter\n"
	    "sipshard_controller_new_counter 3\n"
	    "# HELP sipshard_controller_registration_registered 1 while the registration holds a "
	    "binding at its registrar, else 0.\n"
	    "# TYPE sipshard_controller_registration_registered gauge\n"
	    "sipshard_controller_registration_registered{registration=\"a\\\"b\\\\c\\nd\"} 1\n"
	    "# HELP sipshard_draining 1 while the daemon drains (SIGTERM, sipshardctl drain), else "
	    "0.\n"
	    "# TYPE sipshard_draining gauge\n"
	    "sipshard_draining 0\n"
	    "# HELP sipshard_io_info The workers' I/O backend, as the label io (mixed when some "
	    "fell "
	    "back to recvmmsg alone); always 1.\n"
	    "# TYPE sipshard_io_info gauge\n"
	    "sipshard_io_info{io=\"io_uring\"} 1\n"
	    "# HELP sipshard_worker_drops Datagrams dropped, by reason.\n"
	    "# TYPE sipshard_worker_drops counter\n"
	    "sipshard_worker_drops{worker=\"0\",reason=\"no_buffer\"} 1\n"
	    "sipshard_worker_drops{worker=\"1\",reason=\"no_buffer\"} 0\n"
	    "# HELP sipshard_worker_rx Datagrams received.\n"
	    "# TYPE sipshard_worker_rx counter\n"
	    "sipshard_worker_rx{worker=\"0\"} 5\n"
	    "sipshard_worker_rx{worker=\"1\"} 7\n");
	free(text);
}

/* A HELP text escapes backslash and line feed only; a label value the
 * double quote too; a text cut short is cut at a whole escape. */
static void test_escape(void **state)
{
	(void)state;
	char out[64];
	assert_string_equal(metrics_escape("a\\b\nc\"d", false, out, sizeof(out)), "a\\\\b\\nc\"d");
	assert_string_equal(metrics_escape("a\\b\nc\"d", true, out, sizeof(out)),
			    "a\\\\b\\nc\\\"d");
	assert_string_equal(metrics_escape("ab\\", true, out, 5), "ab");
	assert_string_equal(metrics_escape("", true, out, sizeof(out)), "");
}

/* The rows: sorted (bsearch finds them), each name once and a metric name's
 * characters, each HELP one line of text ending in '.', and found by
 * metrics_help with its type; "_info" families the table lacks are gauges. */
static void test_rows(void **state)
{
	(void)state;
	bool gauge;
	assert_true(metrics_nrows > 100);
	for (size_t i = 0; i < metrics_nrows; i++) {
		const struct metrics_row *r = &metrics_rows[i];
		if (i)
			assert_true(strcmp(metrics_rows[i - 1].name, r->name) < 0);
		assert_int_equal(strspn(r->name, "abcdefghijklmnopqrstuvwxyz0123456789_"),
				 strlen(r->name));
		size_t n = strlen(r->help);
		assert_true(n > 10 && n < 160 && r->help[n - 1] == '.');
		assert_null(strpbrk(r->help, "\n\\"));
		assert_ptr_equal(metrics_help(r->name, strlen(r->name), &gauge), r->help);
		assert_int_equal(gauge, r->gauge);
	}
	assert_null(metrics_help("controller_calls_activ", 22, &gauge));
	assert_null(metrics_help("something_info", 14, &gauge));
	assert_true(gauge);
	assert_null(metrics_help("something", 9, &gauge));
	assert_false(gauge);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_format),
	    cmocka_unit_test(test_escape),
	    cmocka_unit_test(test_rows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
