/*
 * test_commands.c - the management commands' answers that need no running
 * daemon: an unknown command is refused with a sentence that quotes its name
 * as printable text (found by fuzz_mgmt). The commands themselves run against
 * a daemon in tests/integration/mgmt.sh and dialogs.sh, and against a daemon
 * that never started in fuzz_mgmt. Also the --stats-file writer on a file
 * system that refuses the write.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

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

/* The file's whole content ("" when missing), in a static buffer. */
static const char *file_text(const char *path)
{
	static char text[64 * 1024];
	FILE *fp = fopen(path, "r");
	size_t n = 0;
	if (fp) {
		n = fread(text, 1, sizeof(text) - 1, fp);
		fclose(fp);
	}
	text[n] = '\0';
	return text;
}

/* daemon_write_json_file (daemon_write_stats's writer) with the file size
 * limit at limit bytes (a full disk fails the same way), its log lines
 * (stderr, through a pipe, which the limit does not cut) appended to log. */
static int write_stats_limited(bool *failing, const char *path, rlim_t limit, char *log,
			       size_t logcap)
{
	json_t *doc = json_pack("{s:[{s:i}]}", "workers", "rx", 12345);
	assert_non_null(doc);
	struct rlimit old, lim;
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	dup2(fds[1], STDERR_FILENO);
	close(fds[1]);
	void (*was)(int) = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = limit;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	int rc = daemon_write_json_file(doc, path, failing);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, was);
	json_decref(doc);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	size_t len = strlen(log);
	ssize_t n = read(fds[0], log + len, logcap - len - 1);
	log[len + (n > 0 ? (size_t)n : 0)] = '\0';
	close(fds[0]);
	return rc;
}

/* --stats-file on a full file system: the reader keeps the last whole
 * document; the copy cut short is not left beside it (taking the room the
 * next write needs); and the operator is told, once, not left with a file
 * that silently stops changing. */
static void test_a_stats_file_that_cannot_be_written_is_reported(void **state)
{
	bool failing = false;
	char dir[] = "/tmp/test_commands.XXXXXX", path[64], tmp[80], cmd[96];
	static char said[4096];
	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/stats.json", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);

	assert_int_equal(write_stats_limited(&failing, path, RLIM_INFINITY, said, sizeof(said)), 0);
	char *first = strdup(file_text(path));
	assert_non_null(first);
	assert_non_null(strstr(first, "\"workers\""));

	assert_true(write_stats_limited(&failing, path, 16, said, sizeof(said)) < 0);
	assert_true(write_stats_limited(&failing, path, 16, said, sizeof(said)) < 0);
	assert_string_equal(file_text(path), first);
	assert_int_equal(access(tmp, F_OK), -1);
	const char *at = strstr(said, path);
	assert_non_null(at);
	assert_non_null(strstr(said, "File too large"));
	assert_null(strstr(at + 1, path)); /* once, not every second */

	assert_int_equal(write_stats_limited(&failing, path, RLIM_INFINITY, said, sizeof(said)), 0);
	assert_non_null(strstr(said, "written again"));
	free(first);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_unknown_command_quoted_without_control_bytes),
	    cmocka_unit_test(test_unknown_command_cut_inside_a_character),
	    cmocka_unit_test(test_a_stats_file_that_cannot_be_written_is_reported),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
