/*
 * mgmt.h - the management interfaces: the Unix socket that sipshardctl talks
 * to, and the HTTP endpoint that Prometheus scrapes.
 *
 * Owns: both listeners (the Unix socket created mode 0600, refusing a path
 * where another daemon answers, removing a stale one and its own at close;
 * the TCP one bound where metrics_listen says), the clients (one bounded
 * table, non-blocking, each with a deadline) and both wire formats. Does not
 * own: what a command does or what the metrics say (the handlers), or when it
 * runs (the caller polls the descriptors and calls mgmt_service).
 *
 * Wire format: the client connects, writes one request, a JSON object on one
 * line of at most MGMT_REQUEST_MAX bytes ending in "\n", such as
 * {"command": "stats"}; the daemon writes one response, a JSON object on one
 * line, and closes. Every response holds "ok": true or false; a false one
 * holds "error", a sentence for the operator (where it quotes a request that
 * is not JSON, a byte of it that is not printable ASCII shows as '?'). A
 * client that sends no complete line within MGMT_CLIENT_TIMEOUT_MS, or more
 * than MGMT_REQUEST_MAX bytes, is answered an error (when it can be) and
 * dropped; above MGMT_MAX_CLIENTS waiting clients a new one is answered
 * "busy". An answer larger than the socket takes at once (dialogs, metrics)
 * is kept and written as the client reads; a client that stops reading for
 * MGMT_CLIENT_TIMEOUT_MS is dropped and counted. Nothing here blocks: the
 * controller thread that serves it also sets up calls.
 *
 * Metrics: HTTP/1.0 or 1.1, one request per connection: GET /metrics is
 * answered 200 with the metrics handler's text (Content-Type text/plain;
 * version=0.0.4), HEAD /metrics as GET without the body (the same header
 * fields, Content-Length the GET's: RFC 9110 9.3.2), any other path 404,
 * another method 405 (Allow: GET, HEAD), a request that is not HTTP 400, one
 * whose head does not arrive whole within the deadline or the size limit 408
 * or 431; then the connection is closed. No answer to a HEAD has a body.
 */
#ifndef SIPSHARD_MGMT_H
#define SIPSHARD_MGMT_H

#include <jansson.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define MGMT_REQUEST_MAX 4096
#define MGMT_MAX_CLIENTS 8
/* Of those, the metrics endpoint's at most: whoever reaches it over the
 * network must not take every slot and lock sipshardctl out of the Unix
 * socket (which only the daemon's user can reach). */
#define MGMT_HTTP_MAX_CLIENTS  (MGMT_MAX_CLIENTS / 2)
#define MGMT_CLIENT_TIMEOUT_MS 2000
/* How long sipshardctl reload may wait for the main thread's reload, which
 * may resolve target names (DNS timeouts) */
#define MGMT_RELOAD_TIMEOUT_MS 30000
/* "wait_ms" of info, message and refer (dialogs.c): how long the answer
 * waits for the final status of what was sent unless told, and at most, so
 * that it comes before the client's deadline (MGMT_CLIENT_TIMEOUT_MS) */
#define MGMT_WAIT_DEFAULT_MS 1000
#define MGMT_WAIT_MAX_MS     1500
#define MGMT_LISTENERS	     2 /* the Unix socket, the metrics endpoint */
/* How long a listener is not polled after its accept found no descriptor
 * (RLIMIT_NOFILE) or memory: its clients wait in the backlog meanwhile */
#define MGMT_ACCEPT_PAUSE_MS 1000
/* Connections one listener takes per pass of the controller's loop: no more
 * can be served at once, and a flood of connections that keeps the backlog
 * full must not hold the controller, which sets calls up, in accept(); the
 * rest wait in the backlog for the next pass */
#define MGMT_ACCEPT_BATCH MGMT_MAX_CLIENTS

struct mgmt;

/* Answers one request: the command name and the whole request object.
 * Returns a new response object; mgmt adds "ok": true unless it holds "ok".
 * A handler that must wait for the answer (the workers hold the dialogs)
 * takes a ticket with mgmt_defer and returns MGMT_LATER; mgmt_answer then
 * delivers the response, before the client's deadline or never. */
typedef json_t *(*mgmt_handler)(void *arg, const char *command, const json_t *request);

extern json_t mgmt_later_;
#define MGMT_LATER (&mgmt_later_)

/* Within a handler: a ticket for the client being answered, for mgmt_answer,
 * which must come within wait_ms; if it does not, the client is told
 * "WAITING_FOR within WAIT_MS ms" (408) and closed. */
uint64_t mgmt_defer(struct mgmt *m, uint32_t wait_ms, const char *waiting_for);
/* Sends response (always consumed) to the client of ticket and closes it.
 * -ENOENT when that client is gone: its deadline passed, and it was told so. */
int mgmt_answer(struct mgmt *m, uint64_t ticket, json_t *response);

/* The metrics text, malloc'd (the caller frees it), or NULL. */
typedef char *(*mgmt_metrics_fn)(void *arg);

/* A management object with no listener yet; handlers get arg. 0 or -ENOMEM. */
int mgmt_create(struct mgmt **out, void *arg);
/* Creates the Unix socket at path. 0, or a negative errno with one line in err
 * that names the path and the problem. */
int mgmt_listen_unix(struct mgmt *m, const char *path, mgmt_handler handler, char *err,
		     size_t errlen);
/* After a bind's error rc (negative errno) of a proto ("UDP", "TCP")
 * socket: what it means to the operator, " (...)", or "". */
const char *mgmt_bind_hint(int rc, const char *proto);
/* Listens for HTTP scrapes at addr (name: as configured, for messages). */
int mgmt_listen_metrics(struct mgmt *m, const struct sockaddr *addr, socklen_t addr_len,
			const char *name, mgmt_metrics_fn metrics, char *err, size_t errlen);
/* Closes every client and listener, and removes the socket file. NULL is fine. */
void mgmt_close(struct mgmt *m);

/* Fills pfds (at most cap, at least 2) with the descriptors to poll for input:
 * the two listeners (fd -1 when absent, or for MGMT_ACCEPT_PAUSE_MS after an
 * accept found no descriptor; poll skips it), then each waiting client.
 * Returns how many. */
int mgmt_poll_fds(const struct mgmt *m, struct pollfd *pfds, int cap);
/* Accepts, reads and answers what the poll found ready (pfds, n as filled by
 * mgmt_poll_fds, revents set), and drops clients past their deadline. */
void mgmt_service(struct mgmt *m, const struct pollfd *pfds, int n, uint64_t now_ms);

/* The wire formats' parsing, pure so that it can be fuzzed. mgmt_request_end:
 * in buf[0, len) as received so far, whether a whole request is in (*found)
 * and its length without the terminator (a line on the Unix socket; for HTTP
 * the head up to its empty line, the last line's LF included).
 * mgmt_http_status: the status a complete head gets: 200 (GET or HEAD
 * /metrics), 400, 404 or 405; *head_only whether its answer has no body (a
 * HEAD request line). */
size_t mgmt_request_end(const char *buf, size_t len, bool http, bool *found);
int mgmt_http_status(const char *head, size_t len, bool *head_only);

/* Requests answered and clients dropped, for the statistics. */
struct mgmt_stats {
	uint64_t requests, errors, dropped;
};
void mgmt_get_stats(const struct mgmt *m, struct mgmt_stats *out);

#endif
