/*
 * mgmt.h - the management socket that sipshardctl talks to.
 *
 * Owns: the Unix socket (creating it mode 0600, refusing a path where another
 * daemon answers, removing a stale one, removing its own at close), the
 * clients (a bounded table, non-blocking, each with a deadline) and the wire
 * format. Does not own: what a command does (the handler) or when it runs
 * (the caller polls the descriptors and calls mgmt_service).
 *
 * Wire format: the client connects, writes one request, a JSON object on one
 * line of at most MGMT_REQUEST_MAX bytes ending in "\n", such as
 * {"command": "stats"}; the daemon writes one response, a JSON object on one
 * line, and closes. Every response holds "ok": true or false; a false one
 * holds "error", a sentence for the operator. A client that sends no complete
 * line within MGMT_CLIENT_TIMEOUT_MS, or more than MGMT_REQUEST_MAX bytes, is
 * answered an error (when it can be) and dropped; above MGMT_MAX_CLIENTS
 * waiting clients a new one is answered "busy". Nothing here blocks: the
 * controller thread that serves it also sets up calls.
 */
#ifndef SIPSHARD_MGMT_H
#define SIPSHARD_MGMT_H

#include <jansson.h>
#include <poll.h>
#include <stdint.h>

#define MGMT_REQUEST_MAX       4096
#define MGMT_MAX_CLIENTS       8
#define MGMT_CLIENT_TIMEOUT_MS 2000

struct mgmt;

/* Answers one request: the command name and the whole request object.
 * Returns a new response object; mgmt adds "ok": true unless it holds "ok". */
typedef json_t *(*mgmt_handler)(void *arg, const char *command, const json_t *request);

/* Creates the socket at path. 0, or a negative errno with one line in err that
 * names the path and the problem. */
int mgmt_open(struct mgmt **out, const char *path, mgmt_handler handler, void *arg, char *err,
	      size_t errlen);
/* Closes every client and the socket, and removes the socket file. NULL is fine. */
void mgmt_close(struct mgmt *m);

/* Fills pfds (at most cap) with the descriptors to poll for input: the socket,
 * then each waiting client. Returns how many. */
int mgmt_poll_fds(const struct mgmt *m, struct pollfd *pfds, int cap);
/* Accepts, reads and answers what the poll found ready (pfds, n as filled by
 * mgmt_poll_fds, revents set), and drops clients past their deadline. */
void mgmt_service(struct mgmt *m, const struct pollfd *pfds, int n, uint64_t now_ms);

/* Requests answered and clients dropped, for the statistics. */
struct mgmt_stats {
	uint64_t requests, errors, dropped;
};
void mgmt_get_stats(const struct mgmt *m, struct mgmt_stats *out);

#endif
