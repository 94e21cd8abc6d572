/*
 * test_mgmt.c - the management socket's answers on a real Unix socket: one
 * larger than the socket buffer reaches a reading client whole, and a client
 * that stops reading is dropped at its deadline and counted. (The wire
 * parsers are fuzzed by fuzz_mgmt; the commands by tests/integration/mgmt.sh.)
 * Clients of the metrics endpoint cannot take the slots of the Unix socket.
 * A refused request's error quotes none of its control bytes, and no part of
 * a UTF-8 character. A listener
 * whose accept finds no descriptor is not polled again at once, and one a
 * flood of connections keeps readable gives a pass one batch of them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/mgmt.h"

/* More than a Unix stream socket's buffer (about 200 KiB) takes at once. */
#define BLOB (1u << 20)

static char dir[64], path[96];

static json_t *big_handler(void *arg, const char *command, const json_t *request)
{
	(void)arg;
	(void)command;
	(void)request;
	char *s = malloc(BLOB + 1);
	if (!s)
		return NULL;
	memset(s, 'x', BLOB);
	s[BLOB] = '\0';
	json_t *o = json_pack("{s:s}", "blob", s);
	free(s);
	return o;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/sipshard-mgmt.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/s.sock", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	rmdir(dir);
	return 0;
}

/* A management socket at path whose every answer is 1 MiB. */
static struct mgmt *big_answers(void)
{
	struct mgmt *m;
	char err[256];
	assert_int_equal(mgmt_create(&m, NULL), 0);
	assert_int_equal(mgmt_listen_unix(m, path, big_handler, err, sizeof(err)), 0);
	return m;
}

/* A client connected to m that has sent req[0, len). */
static int client_sending(const char *req, size_t len)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(fd, req, len), (ssize_t)len);
	return fd;
}

/* A client connected to m that has sent {"command": "stats"}. */
static int stats_client(void)
{
	const char req[] = "{\"command\": \"stats\"}\n";
	return client_sending(req, sizeof(req) - 1);
}

/* One pass of the controller's loop over m, at time now. */
static void serve(struct mgmt *m, uint64_t now)
{
	struct pollfd p[2 + MGMT_MAX_CLIENTS];
	int n = mgmt_poll_fds(m, p, 2 + MGMT_MAX_CLIENTS);
	poll(p, (nfds_t)n, 5);
	mgmt_service(m, p, n, now);
}

/* Serves m while the client on fd reads up to `chunk` bytes a step, the
 * clock moving on by step_ms a step (0: the real clock), until the daemon
 * closes or 200 steps pass; then asserts that the whole 1 MiB answer came
 * and no client was dropped. */
static void read_whole_answer(struct mgmt *m, int fd, size_t chunk, uint64_t step_ms)
{
	static char buf[65536];
	size_t got = 0;
	bool eof = false;
	uint64_t t = now_ms();
	for (int step = 0; step < 200 && !eof; step++) {
		t = step_ms ? t + step_ms : now_ms();
		serve(m, t);
		ssize_t r;
		do {
			r = read(fd, buf, chunk < sizeof(buf) ? chunk : sizeof(buf));
			if (r > 0)
				got += (size_t)r;
		} while (r > 0 && !step_ms);
		eof = r == 0;
	}
	close(fd);
	struct mgmt_stats st;
	mgmt_get_stats(m, &st);
	mgmt_close(m);
	assert_true(eof);
	assert_int_equal(got, strlen("{\"blob\":\"\",\"ok\":true}\n") + BLOB);
	assert_int_equal(st.dropped, 0);
}

static void test_large_answer_arrives_whole(void **state)
{
	struct mgmt *m = big_answers();
	(void)state;

	read_whole_answer(m, stats_client(), 65536, 0);
}

/* A client that reads slowly but never stops (32 KiB every 100 ms, so the
 * 1 MiB answer takes over 3 s): it gets the whole answer; the deadline
 * counts from its last read, not from the answer's start. */
static void test_slow_reader_gets_the_whole_answer(void **state)
{
	struct mgmt *m = big_answers();
	(void)state;

	read_whole_answer(m, stats_client(), 32768, 100);
}

static void test_client_that_stops_reading_is_dropped(void **state)
{
	struct mgmt *m = big_answers();
	(void)state;

	int fd = stats_client();
	uint64_t t = now_ms();
	for (int i = 0; i < 10; i++)
		serve(m, t); /* answered: most of it waits for a read that never comes */
	struct mgmt_stats st;
	mgmt_get_stats(m, &st);
	assert_int_equal(st.dropped, 0);
	serve(m, t + MGMT_CLIENT_TIMEOUT_MS + 1);
	mgmt_get_stats(m, &st);
	assert_int_equal(st.dropped, 1);
	/* what it reads now ends short of the whole answer: the daemon closed */
	size_t got = 0;
	char buf[65536];
	ssize_t r;
	for (uint64_t end = now_ms() + 2000; now_ms() < end;) {
		r = read(fd, buf, sizeof(buf));
		if (r > 0)
			got += (size_t)r;
		else if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			break;
	}
	assert_true(got < BLOB);
	close(fd);
	mgmt_close(m);
}

static json_t *small_handler(void *arg, const char *command, const json_t *request)
{
	(void)arg;
	(void)command;
	(void)request;
	return json_pack("{s:i}", "answer", 42);
}

static char *no_metrics(void *arg)
{
	(void)arg;
	return strdup("sipshard_x 1\n");
}

/* MGMT_MAX_CLIENTS connections to the metrics endpoint that send nothing (a
 * scraper stuck, or anyone on the network that reaches it) leave the Unix
 * socket's operator a slot: sipshardctl still gets its answer. */
static void test_metrics_clients_leave_the_unix_socket_room(void **state)
{
	struct mgmt *m;
	char err[256];
	(void)state;
	assert_int_equal(mgmt_create(&m, NULL), 0);
	assert_int_equal(mgmt_listen_unix(m, path, small_handler, err, sizeof(err)), 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(31591)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(mgmt_listen_metrics(m, (struct sockaddr *)&sa, sizeof(sa),
					     "127.0.0.1:31591", no_metrics, err, sizeof(err)),
			 0);
	int idle[MGMT_MAX_CLIENTS];
	for (int i = 0; i < MGMT_MAX_CLIENTS; i++) {
		idle[i] = socket(AF_INET, SOCK_STREAM, 0);
		assert_int_equal(connect(idle[i], (struct sockaddr *)&sa, sizeof(sa)), 0);
	}
	uint64_t t = now_ms();
	for (int i = 0; i < 5; i++)
		serve(m, t);
	int fd = stats_client();
	char buf[256];
	size_t got = 0;
	for (int i = 0; i < 50 && !memchr(buf, '\n', got); i++) {
		serve(m, t);
		ssize_t r = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (r > 0)
			got += (size_t)r;
		else if (r == 0)
			break;
	}
	buf[got] = '\0';
	close(fd);
	for (int i = 0; i < MGMT_MAX_CLIENTS; i++)
		close(idle[i]);
	mgmt_close(m);
	assert_non_null(strstr(buf, "\"answer\":42"));
}

/* The error line a client that sends req[0, len) is answered (malloc'd),
 * its "ok" false. */
static char *refusal_of(const char *req, size_t len)
{
	struct mgmt *m;
	char err[256], buf[512];
	size_t got = 0;
	assert_int_equal(mgmt_create(&m, NULL), 0);
	assert_int_equal(mgmt_listen_unix(m, path, small_handler, err, sizeof(err)), 0);
	int fd = client_sending(req, len);
	uint64_t t = now_ms();
	for (int i = 0; i < 50; i++) {
		serve(m, t);
		ssize_t r = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (r > 0)
			got += (size_t)r;
		else if (r == 0)
			break;
	}
	close(fd);
	mgmt_close(m);
	json_error_t jerr;
	json_t *resp = json_loadb(buf, got, 0, &jerr);
	assert_non_null(resp);
	assert_true(json_is_false(json_object_get(resp, "ok")));
	const char *why = json_string_value(json_object_get(resp, "error"));
	assert_non_null(why);
	char *copy = strdup(why);
	json_decref(resp);
	return copy;
}

/* A request that is not JSON is told why in one line of text: the parser's
 * message quotes the bytes near the mistake, and a control byte among them
 * (an escape sequence, a tab, a carriage return) reached sipshardctl's
 * terminal as it came (found by fuzz_mgmt). */
static void test_refusal_quotes_no_control_byte(void **state)
{
	const char req[] = "{\x1b[2J\r\t}\n";
	(void)state;
	char *why = refusal_of(req, sizeof(req) - 1);
	assert_non_null(strstr(why, "expected one JSON object"));
	for (const char *p = why; *p; p++)
		assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
	free(why);
}

/* The parser quotes the text near its stop cut at a byte, not at a
 * character: after an invalid escape, the first byte of a UTF-8 character
 * (a backslash, then é or €). An error line holding it is no UTF-8, which
 * jansson refuses to make a string of, and the client was answered "out of
 * memory" instead of why its request was refused. */
static void test_refusal_quotes_whole_characters(void **state)
{
	static const char *const reqs[] = {
	    "{\"command\": \"a\\\xc3\xa9\"}\n",
	    "{\"\xe2\x82\xac\\\xe2\x82\xac\": 1}\n",
	};
	(void)state;
	for (unsigned i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		char *why = refusal_of(reqs[i], strlen(reqs[i]));
		if (!strstr(why, "expected one JSON object") || !strstr(why, "invalid escape"))
			fail_msg("request %u refused with: %s", i, why);
		free(why);
	}
}

/* With no descriptor left (RLIMIT_NOFILE reached, or the system's file table
 * full), accept fails and the client stays in the listener's backlog: the
 * listener stays readable, and offered to poll again it woke the controller
 * thread at once, every pass, which spun (75% of a core) writing "accept: Too
 * many open files" some 250000 times a second to the log. It is left out of
 * poll for a while instead, and the client is answered once descriptors are
 * free again. */
static void test_accept_without_descriptors_does_not_spin(void **state)
{
	struct mgmt *m;
	char err[256], buf[256];
	struct rlimit saved, low;
	size_t got = 0;
	(void)state;
	assert_int_equal(mgmt_create(&m, NULL), 0);
	assert_int_equal(mgmt_listen_unix(m, path, small_handler, err, sizeof(err)), 0);
	int fd = stats_client();
	/* every descriptor below the lowest free one is taken: a limit there
	 * leaves accept none */
	int lowest = dup(0);
	assert_true(lowest >= 0);
	close(lowest);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
	low = saved;
	low.rlim_cur = (rlim_t)lowest;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	uint64_t t = now_ms();
	serve(m, t); /* accept fails: EMFILE */
	struct pollfd p[2 + MGMT_MAX_CLIENTS];
	int n = mgmt_poll_fds(m, p, 2 + MGMT_MAX_CLIENTS);
	int ready = poll(p, (nfds_t)n, 0);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
	assert_int_equal(ready, 0); /* nothing to do: the loop must sleep */
	/* descriptors free again: the client in the backlog gets its answer */
	for (int i = 0; i < 50 && !memchr(buf, '\n', got); i++) {
		t += 100;
		serve(m, t);
		ssize_t r = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (r > 0)
			got += (size_t)r;
		else if (r == 0)
			break;
	}
	buf[got] = '\0';
	close(fd);
	mgmt_close(m);
	assert_non_null(strstr(buf, "\"answer\":42"));
}

/* A pass of the controller's loop takes at most MGMT_ACCEPT_BATCH
 * connections from a listener: before, it accepted until the backlog was
 * empty, refusing each one past the free slots, so that clients connecting
 * as fast as they were refused held the controller thread there. */
static void test_accept_takes_a_batch_a_pass(void **state)
{
	struct mgmt *m;
	char err[256];
	enum { CLIENTS = MGMT_ACCEPT_BATCH + 4 };
	int fd[CLIENTS];
	(void)state;
	assert_int_equal(mgmt_create(&m, NULL), 0);
	assert_int_equal(mgmt_listen_unix(m, path, small_handler, err, sizeof(err)), 0);
	for (int i = 0; i < CLIENTS; i++)
		fd[i] = stats_client();
	uint64_t t = now_ms();
	serve(m, t); /* the listener is readable: one batch taken */
	struct mgmt_stats st;
	mgmt_get_stats(m, &st);
	assert_int_equal(st.dropped, 0); /* every one taken had a slot */
	struct pollfd p[2 + MGMT_MAX_CLIENTS];
	int n = mgmt_poll_fds(m, p, 2 + MGMT_MAX_CLIENTS);
	assert_true(poll(p, (nfds_t)n, 0) > 0);
	assert_true(p[0].revents & POLLIN); /* the rest wait in the backlog */
	/* every client gets its answer or a refusal, none is left waiting */
	int answered = 0, refused = 0;
	for (int step = 0; step < 100 && answered + refused < CLIENTS; step++) {
		serve(m, t);
		for (int i = 0; i < CLIENTS; i++) {
			char buf[512];
			if (fd[i] < 0)
				continue;
			ssize_t r = read(fd[i], buf, sizeof(buf) - 1);
			if (r <= 0 && !(r < 0 && errno == EAGAIN)) {
				close(fd[i]), fd[i] = -1;
				continue;
			}
			if (r <= 0)
				continue;
			buf[r] = '\0';
			if (strstr(buf, "\"answer\":42"))
				answered++;
			else if (strstr(buf, "busy"))
				refused++;
			close(fd[i]), fd[i] = -1;
		}
	}
	for (int i = 0; i < CLIENTS; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	mgmt_close(m);
	assert_int_equal(answered + refused, CLIENTS);
	assert_true(answered >= MGMT_MAX_CLIENTS);
}

/* metrics_listen on an address this host does not have: the error said
 * "Cannot assign requested address", which does not tell the operator that
 * the address is not one of this host's (TEST-NET-1, RFC 5737, is no one's). */
static void test_metrics_listen_elsewhere_says_why(void **state)
{
	struct mgmt *m;
	char err[256] = "";
	(void)state;
	assert_int_equal(mgmt_create(&m, NULL), 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(16578)};
	assert_int_equal(inet_pton(AF_INET, "192.0.2.1", &sa.sin_addr), 1);
	int rc = mgmt_listen_metrics(m, (struct sockaddr *)&sa, sizeof(sa), "192.0.2.1:16578",
				     no_metrics, err, sizeof(err));
	mgmt_close(m);
	assert_int_equal(rc, -EADDRNOTAVAIL);
	if (!strstr(err, "192.0.2.1:16578") || !strstr(err, "not an address of this host"))
		fail_msg("error: %s", err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_large_answer_arrives_whole, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_slow_reader_gets_the_whole_answer, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_client_that_stops_reading_is_dropped, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_metrics_clients_leave_the_unix_socket_room, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_refusal_quotes_no_control_byte, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refusal_quotes_whole_characters, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_accept_without_descriptors_does_not_spin, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_accept_takes_a_batch_a_pass, setup, teardown),
	    cmocka_unit_test(test_metrics_listen_elsewhere_says_why),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
