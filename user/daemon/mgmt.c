/*
 * mgmt.c - the management interfaces: the Unix socket and the metrics endpoint (see mgmt.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/files.h"
#include "daemon/log.h"
#include "daemon/mgmt.h"

struct mgmt_client {
	int fd;			 /* -1: free */
	bool http;		 /* came in on the metrics endpoint */
	bool waiting;		 /* its handler answers later (mgmt_defer) */
	const char *waiting_for; /* what did not come, should the deadline pass */
	uint32_t wait_ms;
	uint32_t gen; /* changes with every client the slot takes */
	uint64_t deadline_ms;
	size_t len;
	char buf[MGMT_REQUEST_MAX];
	/* the part of the answer the socket did not take at once (malloc'd),
	 * written as the client reads; NULL when none is left */
	char *out;
	size_t out_len, out_off;
};

struct mgmt {
	int fd;	     /* the Unix socket, or -1 */
	int http_fd; /* the metrics endpoint, or -1 */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	ino_t ino; /* of the socket file we made: only that one is removed */
	mgmt_handler handler;
	mgmt_metrics_fn metrics;
	void *arg;
	struct mgmt_client *answering; /* the client whose handler runs, or NULL */
	uint64_t now_ms;	       /* of the mgmt_service call running */
	/* per listener (0: the Unix socket, 1: the metrics endpoint): until
	 * when it is left out of poll after an accept found no descriptor or
	 * memory; 0 when it is polled */
	uint64_t accept_paused_until[MGMT_LISTENERS];
	struct mgmt_client clients[MGMT_MAX_CLIENTS];
	struct mgmt_stats st;
};

/* ---- creating the socket ------------------------------------------------ */

/* What a bind's error means to the operator: "Cannot assign requested
 * address" does not say that the address is not one of this host's. */
const char *mgmt_bind_hint(int rc, const char *proto)
{
	switch (rc) {
	case -EADDRINUSE:
		return !strcmp(proto, "TCP") ? " (another process holds this TCP port)"
					     : " (another process holds this UDP port)";
	case -EADDRNOTAVAIL:
		return " (not an address of this host: give one of its interfaces' addresses, "
		       "or 0.0.0.0 / [::])";
	case -EACCES:
		return " (a port below 1024 needs root or CAP_NET_BIND_SERVICE)";
	default:
		return "";
	}
}

/* A file already at path: a socket nobody answers on is left over from a
 * daemon that died, and is removed; one that answers belongs to a running
 * daemon, which keeps it. */
static int clear_stale_socket(const char *path, const struct sockaddr_un *sa, char *err,
			      size_t errlen)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "management_socket %s: exists and is not a socket", path);
		return -EEXIST;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	int e = errno;
	close(fd);
	if (rc == 0) {
		snprintf(err, errlen,
			 "management_socket %s: another process answers on it (a sipshardd "
			 "already running?)",
			 path);
		return -EADDRINUSE;
	}
	if (e != ECONNREFUSED) {
		snprintf(err, errlen, "management_socket %s: cannot probe it: %s", path,
			 strerror(e));
		return -e;
	}
	if (unlink(path) != 0 && errno != ENOENT) {
		e = errno;
		snprintf(err, errlen, "management_socket %s: cannot remove the stale socket: %s",
			 path, strerror(e));
		return -e;
	}
	log_info("management socket %s was left over by a process that is gone; replaced", path);
	return 0;
}

int mgmt_create(struct mgmt **out, void *arg)
{
	struct mgmt *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->fd = m->http_fd = -1;
	for (int i = 0; i < MGMT_MAX_CLIENTS; i++)
		m->clients[i].fd = -1;
	m->arg = arg;
	*out = m;
	return 0;
}

int mgmt_listen_unix(struct mgmt *m, const char *path, mgmt_handler handler, char *err,
		     size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int rc;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "management_socket %s: longer than %zu characters", path,
			 sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	/* created like the default run directory on a fresh machine */
	rc = files_make_parent(path, 0700, "management_socket", err, errlen);
	if (rc)
		return rc;
	rc = clear_stale_socket(path, &sa, err, errlen);
	if (rc)
		return rc;

	m->handler = handler;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		rc = -errno;
		snprintf(err, errlen, "management_socket %s: %s", path, strerror(-rc));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	/* only the owner (the daemon's user) may connect: connecting needs write
	 * permission on the socket file */
	if (chmod(path, 0600) != 0 || stat(path, &st) != 0 || listen(fd, 16) != 0) {
		rc = -errno;
		snprintf(err, errlen, "management_socket %s: %s", path, strerror(-rc));
		close(fd);
		unlink(path);
		return rc;
	}
	memcpy(m->path, path, strlen(path) + 1);
	m->ino = st.st_ino;
	m->fd = fd;
	return 0;
}

int mgmt_listen_metrics(struct mgmt *m, const struct sockaddr *addr, socklen_t addr_len,
			const char *name, mgmt_metrics_fn metrics, char *err, size_t errlen)
{
	int one = 1, rc;
	int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, addr, addr_len) != 0 || listen(fd, 16) != 0) {
		rc = -errno;
		snprintf(err, errlen, "metrics_listen %s: %s%s", name, strerror(-rc),
			 mgmt_bind_hint(rc, "TCP"));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	m->metrics = metrics;
	m->http_fd = fd;
	return 0;
}

void mgmt_close(struct mgmt *m)
{
	struct stat st;

	if (!m)
		return;
	for (int i = 0; i < MGMT_MAX_CLIENTS; i++) {
		if (m->clients[i].fd >= 0)
			close(m->clients[i].fd);
		free(m->clients[i].out);
	}
	if (m->http_fd >= 0)
		close(m->http_fd);
	if (m->fd >= 0) {
		close(m->fd);
		/* a daemon started on the same path after us must keep its socket */
		if (stat(m->path, &st) == 0 && st.st_ino == m->ino)
			unlink(m->path);
	}
	free(m);
}

/* ---- clients ------------------------------------------------------------ */

/* response and a newline, malloc'd (len set); NULL when out of memory. */
static char *json_line(json_t *response, size_t *len)
{
	char *s = json_dumps(response, JSON_COMPACT);
	if (!s)
		return NULL;
	size_t n = strlen(s);
	char *line = realloc(s, n + 1); /* the NUL's place takes the newline */
	if (!line) {
		free(s);
		return NULL;
	}
	line[n] = '\n';
	*len = n + 1;
	return line;
}

static json_t *error_response(const char *why)
{
	return json_pack("{s:b, s:s}", "ok", 0, "error", why);
}

static const char *http_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 431:
		return "Request Header Fields Too Large";
	case 503:
		return "Service Unavailable";
	default:
		return "Internal Server Error";
	}
}

/* An HTTP/1.1 response with a body, after which the connection closes:
 * malloc'd (len set), NULL when out of memory. To a HEAD (head_only) the
 * same header fields, Content-Length the body's, and no body (RFC 9110
 * 9.3.2, 8.6). */
static char *http_message(int status, const char *ctype, const char *body, size_t blen,
			  bool head_only, size_t *len)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
			 "Connection: close\r\n\r\n",
			 status, http_reason(status), ctype, blen,
			 status == 405 ? "Allow: GET, HEAD\r\n" : "");
	size_t send_len = head_only ? 0 : blen;
	char *msg = malloc((size_t)n + send_len);
	if (!msg)
		return NULL;
	memcpy(msg, head, (size_t)n);
	memcpy(msg + n, body, send_len);
	*len = (size_t)n + send_len;
	return msg;
}

/* Whether the request received so far (buf, len bytes) is a HEAD: its
 * answer, a refusal too, has no body. */
static bool http_is_head(const char *buf, size_t len)
{
	return len >= 5 && !memcmp(buf, "HEAD ", 5);
}

/* A refusal, sent at once and freed: a few hundred bytes, which the socket
 * takes whole; the client is dropped after it anyway. */
static void send_now(int fd, char *msg, size_t len)
{
	if (msg && send(fd, msg, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("management: cannot answer a client: %s", strerror(errno));
	free(msg);
}

/* Refuses a request in the client's own format: an HTTP status and a line of
 * text (none to a HEAD), or a JSON error line. */
static void refuse(struct mgmt *m, int fd, bool http, bool head_only, int status, const char *why)
{
	size_t len = 0;
	char *msg;
	m->st.errors++;
	if (http) {
		char body[256];
		int n = snprintf(body, sizeof(body), "%s\n", why);
		msg = http_message(status, "text/plain; charset=utf-8", body, (size_t)n, head_only,
				   &len);
	} else {
		json_t *e = error_response(why);
		msg = json_line(e, &len);
		json_decref(e);
	}
	send_now(fd, msg, len); /* after the call that sets len */
}

/* Closing with unread input resets the connection, and the client would
 * lose the answer written before: what is already here is read first
 * (bounded; fd is non-blocking). */
static void drain_close(int fd)
{
	char sink[4096];
	for (int i = 0; i < 16 && read(fd, sink, sizeof(sink)) > 0; i++)
		;
	close(fd);
}

static void client_close(struct mgmt_client *c)
{
	free(c->out);
	c->out = NULL;
	drain_close(c->fd);
	c->fd = -1;
	c->len = 0;
}

json_t mgmt_later_;

uint64_t mgmt_defer(struct mgmt *m, uint32_t wait_ms, const char *waiting_for)
{
	struct mgmt_client *c = m->answering;
	if (!c)
		return UINT64_MAX;
	c->deadline_ms = m->now_ms + wait_ms;
	c->wait_ms = wait_ms;
	c->waiting_for = waiting_for;
	return (uint64_t)c->gen << 32 | (uint64_t)(c - m->clients);
}

/* Writes data[0, len) (malloc'd; taken over) to c without blocking; what the
 * socket does not take now is kept and written as the client reads
 * (client_flush), so that an answer larger than the socket buffer (dialogs,
 * metrics) arrives whole. */
static void client_write(struct mgmt_client *c, char *data, size_t len)
{
	if (!data)
		return; /* out of memory: the client is closed without an answer */
	ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		log_debug("management: cannot answer a client: %s", strerror(errno));
		free(data);
		return;
	}
	size_t done = n > 0 ? (size_t)n : 0;
	if (done == len) {
		free(data);
		return;
	}
	c->out = data;
	c->out_len = len;
	c->out_off = done;
}

/* The client has its answer: closed, or left open until the rest of the
 * answer is written (or the deadline passes). */
static void client_done(struct mgmt *m, struct mgmt_client *c)
{
	if (!c->out) {
		client_close(c);
		return;
	}
	c->waiting = false;
	c->deadline_ms = m->now_ms + MGMT_CLIENT_TIMEOUT_MS;
}

static void client_flush(struct mgmt *m, struct mgmt_client *c)
{
	ssize_t n =
	    send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		m->st.dropped++;
		client_close(c);
		return;
	}
	c->out_off += (size_t)n;
	/* dropped when it stops reading, not when a large answer takes long */
	c->deadline_ms = m->now_ms + MGMT_CLIENT_TIMEOUT_MS;
	if (c->out_off == c->out_len)
		client_close(c);
}

/* Sends a response line, counting an error response. Consumes resp. */
static void send_response(struct mgmt *m, struct mgmt_client *c, json_t *resp)
{
	if (!resp)
		resp = error_response("out of memory");
	else if (!json_object_get(resp, "ok"))
		json_object_set_new(resp, "ok", json_true());
	if (!json_is_true(json_object_get(resp, "ok")))
		m->st.errors++;
	size_t len = 0;
	char *line = json_line(resp, &len);
	json_decref(resp);
	client_write(c, line, len);
}

int mgmt_answer(struct mgmt *m, uint64_t ticket, json_t *response)
{
	uint32_t i = (uint32_t)ticket;
	struct mgmt_client *c = i < MGMT_MAX_CLIENTS ? &m->clients[i] : NULL;

	if (!c || c->fd < 0 || !c->waiting || c->gen != (uint32_t)(ticket >> 32)) {
		json_decref(response);
		return -ENOENT;
	}
	send_response(m, c, response);
	c->waiting = false;
	client_done(m, c);
	return 0;
}

/* Answers the request in c->buf[0, len) on the Unix socket; false when the
 * handler answers later. */
static bool json_answer(struct mgmt *m, struct mgmt_client *c, size_t len)
{
	json_error_t jerr;
	json_t *req = json_loadb(c->buf, len, JSON_REJECT_DUPLICATES, &jerr);
	json_t *resp;
	const char *command = NULL;
	char why[256];

	if (!req || !json_is_object(req)) {
		int n = snprintf(why, sizeof(why),
				 "expected one JSON object such as {\"command\": \"stats\"}%s%s",
				 req ? "" : ": ", req ? "" : jerr.text);
		/* the parser quotes the request near the mistake: a control byte
		 * of it would reach the operator's terminal as it came, and the
		 * quote is cut at a byte, which may be inside a UTF-8 character
		 * (after an invalid escape): a line that is no UTF-8 is no JSON
		 * string, and the client heard "out of memory". Printable ASCII
		 * is kept, any other byte is '?' (as ctl_json_text does) */
		for (int i = 0; i < n && i < (int)sizeof(why) - 1; i++)
			if ((unsigned char)why[i] < 0x20 || (unsigned char)why[i] >= 0x7f)
				why[i] = '?';
		resp = error_response(why);
	} else if (json_unpack(req, "{s:s}", "command", &command) != 0) {
		resp = error_response("expected a \"command\" member holding a string");
	} else {
		m->answering = c;
		resp = m->handler(m->arg, command, req);
		m->answering = NULL;
		if (resp == MGMT_LATER) {
			c->waiting = true;
			json_decref(req);
			return false;
		}
	}
	send_response(m, c, resp);
	json_decref(req);
	return true;
}

/* Answers the HTTP request whose head is c->buf[0, len). */
int mgmt_http_status(const char *head, size_t len, bool *head_only)
{
	const char *p = head, *end = head + len;
	const char *sp1 = memchr(p, ' ', len);
	const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1)) : NULL;
	const char *eol = memchr(p, '\n', len);

	*head_only = false;
	if (!sp1 || !sp2 || !eol || sp2 > eol || eol - sp2 < 9 ||
	    memcmp(sp2 + 1, "HTTP/1.", 7) != 0)
		return 400;
	*head_only = sp1 - p == 4 && memcmp(p, "HEAD", 4) == 0;
	if (!*head_only && (sp1 - p != 3 || memcmp(p, "GET", 3) != 0))
		return 405;
	size_t tlen = (size_t)(sp2 - sp1 - 1);
	const char *target = sp1 + 1;
	const char *q = memchr(target, '?', tlen);
	if ((q ? (size_t)(q - target) : tlen) != 8 || memcmp(target, "/metrics", 8) != 0)
		return 404;
	return 200;
}

static void http_answer(struct mgmt *m, struct mgmt_client *c, size_t len)
{
	bool head_only;

	switch (mgmt_http_status(c->buf, len, &head_only)) {
	case 400:
		refuse(m, c->fd, true, false, 400, "expected an HTTP/1.x request line");
		return;
	case 405:
		refuse(m, c->fd, true, false, 405, "only GET and HEAD are served");
		return;
	case 404:
		refuse(m, c->fd, true, head_only, 404, "not found: the metrics are at /metrics");
		return;
	default:
		break;
	}
	/* a HEAD gets the GET's Content-Length: the text is made all the same */
	char *text = m->metrics(m->arg);
	if (!text) {
		refuse(m, c->fd, true, head_only, 500, "out of memory");
		return;
	}
	size_t mlen = 0;
	char *msg = http_message(200, "text/plain; version=0.0.4; charset=utf-8", text,
				 strlen(text), head_only, &mlen);
	free(text);
	client_write(c, msg, mlen);
}

size_t mgmt_request_end(const char *buf, size_t len, bool http, bool *found)
{
	*found = false;
	if (!http) {
		const char *nl = memchr(buf, '\n', len);
		if (nl)
			*found = true;
		return nl ? (size_t)(nl - buf) : 0;
	}
	for (size_t i = 0; i + 1 < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (buf[i + 1] == '\n' ||
		    (buf[i + 1] == '\r' && i + 2 < len && buf[i + 2] == '\n')) {
			*found = true;
			return i + 1;
		}
	}
	return 0;
}

static void client_answer(struct mgmt *m, struct mgmt_client *c, size_t len)
{
	m->st.requests++;
	if (c->http)
		http_answer(m, c, len);
	else if (!json_answer(m, c, len))
		return; /* open until mgmt_answer or the deadline */
	client_done(m, c);
}

/* Reads what the client sent; answers once a whole request (or the end of the
 * stream) is in. */
static void client_read(struct mgmt *m, struct mgmt_client *c)
{
	for (;;) {
		ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			m->st.dropped++;
			client_close(c);
			return;
		}
		if (n == 0) {
			if (c->len)
				client_answer(m, c, c->len);
			else
				client_close(c);
			return;
		}
		c->len += (size_t)n;
		bool found;
		size_t len = mgmt_request_end(c->buf, c->len, c->http, &found);
		if (found) {
			client_answer(m, c, len);
			return;
		}
		if (c->len == sizeof(c->buf)) {
			m->st.requests++;
			refuse(m, c->fd, c->http, c->http && http_is_head(c->buf, c->len), 431,
			       "request longer than the limit (4096 bytes)");
			client_close(c);
			return;
		}
	}
}

static void accept_clients(struct mgmt *m, int lfd, bool http, uint64_t now_ms)
{
	for (int taken = 0; taken < MGMT_ACCEPT_BATCH; taken++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
				return;
			/* no descriptor (EMFILE, ENFILE) or memory: the client stays
			 * in the backlog and the listener readable; polled again at
			 * once, it would wake this thread every pass, which would
			 * spin and log this line as fast as it can. It rests a while:
			 * the client waits in the backlog meanwhile */
			m->accept_paused_until[http] = now_ms + MGMT_ACCEPT_PAUSE_MS;
			log_warn("%s: accept: %s; not accepting for %d ms",
				 http ? "metrics endpoint" : m->path, strerror(errno),
				 MGMT_ACCEPT_PAUSE_MS);
			return;
		}
		struct mgmt_client *c = NULL;
		int http_clients = 0;
		for (int i = 0; i < MGMT_MAX_CLIENTS; i++) {
			if (m->clients[i].fd < 0 && !c)
				c = &m->clients[i];
			else if (m->clients[i].fd >= 0 && m->clients[i].http)
				http_clients++;
		}
		if (http && http_clients >= MGMT_HTTP_MAX_CLIENTS)
			c = NULL; /* the rest are kept for the Unix socket */
		if (!c) {
			refuse(m, fd, http, false, 503,
			       "busy: too many clients waiting; try again");
			drain_close(fd); /* its request came with it, mostly */
			m->st.dropped++;
			continue;
		}
		c->fd = fd;
		c->http = http;
		c->waiting = false;
		c->gen++;
		c->len = 0;
		c->out = NULL;
		c->deadline_ms = now_ms + MGMT_CLIENT_TIMEOUT_MS;
	}
}

int mgmt_poll_fds(const struct mgmt *m, struct pollfd *pfds, int cap)
{
	int n = 0;

	if (cap < MGMT_LISTENERS)
		return 0;
	/* a listener resting after a failed accept is left out (fd -1) until
	 * the mgmt_service pass that finds its time up */
	pfds[n++] = (struct pollfd){.fd = m->now_ms < m->accept_paused_until[0] ? -1 : m->fd,
				    .events = POLLIN};
	pfds[n++] = (struct pollfd){.fd = m->now_ms < m->accept_paused_until[1] ? -1 : m->http_fd,
				    .events = POLLIN};
	/* a client waiting for its answer has nothing more to say */
	for (int i = 0; i < MGMT_MAX_CLIENTS && n < cap; i++)
		if (m->clients[i].fd >= 0 && !m->clients[i].waiting)
			pfds[n++] = (struct pollfd){.fd = m->clients[i].fd,
						    .events = m->clients[i].out ? POLLOUT : POLLIN};
	return n;
}

void mgmt_service(struct mgmt *m, const struct pollfd *pfds, int n, uint64_t now_ms)
{
	char why[200];

	m->now_ms = now_ms;
	for (int i = MGMT_LISTENERS; i < n; i++) {
		if (!pfds[i].revents)
			continue;
		for (int j = 0; j < MGMT_MAX_CLIENTS; j++)
			if (m->clients[j].fd == pfds[i].fd) {
				if (m->clients[j].out)
					client_flush(m, &m->clients[j]);
				else
					client_read(m, &m->clients[j]);
				break;
			}
	}
	if (n >= MGMT_LISTENERS) {
		if (m->fd >= 0 && pfds[0].fd >= 0 && (pfds[0].revents & POLLIN))
			accept_clients(m, m->fd, false, now_ms);
		if (m->http_fd >= 0 && pfds[1].fd >= 0 && (pfds[1].revents & POLLIN))
			accept_clients(m, m->http_fd, true, now_ms);
	}
	for (int j = 0; j < MGMT_MAX_CLIENTS; j++) {
		struct mgmt_client *c = &m->clients[j];
		if (c->fd >= 0 && now_ms >= c->deadline_ms && c->out) {
			/* it stopped reading its answer: nothing more can be said */
			m->st.dropped++;
			client_close(c);
			continue;
		}
		if (c->fd >= 0 && now_ms >= c->deadline_ms) {
			if (c->waiting)
				snprintf(why, sizeof(why), "%s within %u ms", c->waiting_for,
					 c->wait_ms);
			refuse(m, c->fd, c->http, c->http && http_is_head(c->buf, c->len), 408,
			       c->waiting ? why
			       : c->http  ? "no complete request head within 2000 ms"
					  : "no complete request line within 2000 ms");
			m->st.dropped++;
			c->waiting = false;
			client_close(c);
		}
	}
}

void mgmt_get_stats(const struct mgmt *m, struct mgmt_stats *out)
{
	*out = m->st;
}
