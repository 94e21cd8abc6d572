/*
 * mgmt.c - the management socket (see mgmt.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/log.h"
#include "daemon/mgmt.h"

struct mgmt_client {
	int fd; /* -1: free */
	uint64_t deadline_ms;
	size_t len;
	char buf[MGMT_REQUEST_MAX];
};

struct mgmt {
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	ino_t ino; /* of the socket file we made: only that one is removed */
	mgmt_handler handler;
	void *arg;
	struct mgmt_client clients[MGMT_MAX_CLIENTS];
	struct mgmt_stats st;
};

/* ---- creating the socket ------------------------------------------------ */

/* The directory that holds path: created (mode 0700) when missing, like the
 * default run directory on a fresh machine; its own parent must exist. */
static int make_parent_dir(const char *path, char *err, size_t errlen)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const char *slash = strrchr(path, '/');
	struct stat st;

	if (!slash || slash == path)
		return 0; /* "/x.sock": the root exists */
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if (stat(dir, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		snprintf(err, errlen, "management_socket %s: %s is not a directory", path, dir);
		return -ENOTDIR;
	}
	if (errno != ENOENT || mkdir(dir, 0700) != 0) {
		int e = errno;
		snprintf(err, errlen, "management_socket %s: cannot create %s: %s", path, dir,
			 strerror(e));
		return -e;
	}
	return 0;
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

int mgmt_open(struct mgmt **out, const char *path, mgmt_handler handler, void *arg, char *err,
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
	rc = make_parent_dir(path, err, errlen);
	if (rc)
		return rc;
	rc = clear_stale_socket(path, &sa, err, errlen);
	if (rc)
		return rc;

	struct mgmt *m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "management_socket %s: out of memory", path);
		return -ENOMEM;
	}
	for (int i = 0; i < MGMT_MAX_CLIENTS; i++)
		m->clients[i].fd = -1;
	m->handler = handler;
	m->arg = arg;
	memcpy(m->path, path, strlen(path) + 1);
	m->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->fd < 0 || bind(m->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		rc = -errno;
		snprintf(err, errlen, "management_socket %s: %s", path, strerror(-rc));
		if (m->fd >= 0)
			close(m->fd);
		free(m);
		return rc;
	}
	/* only the owner (the daemon's user) may connect: connecting needs write
	 * permission on the socket file */
	if (chmod(path, 0600) != 0 || stat(path, &st) != 0 || listen(m->fd, 16) != 0) {
		rc = -errno;
		snprintf(err, errlen, "management_socket %s: %s", path, strerror(-rc));
		close(m->fd);
		unlink(path);
		free(m);
		return rc;
	}
	m->ino = st.st_ino;
	*out = m;
	return 0;
}

void mgmt_close(struct mgmt *m)
{
	struct stat st;

	if (!m)
		return;
	for (int i = 0; i < MGMT_MAX_CLIENTS; i++)
		if (m->clients[i].fd >= 0)
			close(m->clients[i].fd);
	close(m->fd);
	/* a daemon started on the same path after us must keep its socket */
	if (stat(m->path, &st) == 0 && st.st_ino == m->ino)
		unlink(m->path);
	free(m);
}

/* ---- clients ------------------------------------------------------------ */

/* Writes response and a newline without blocking; a client that does not read
 * a few kilobytes at once loses the rest (the socket buffer holds far more). */
static void send_line(int fd, json_t *response)
{
	char *s = json_dumps(response, JSON_COMPACT);
	if (!s)
		return;
	size_t len = strlen(s);
	struct iovec iov[2] = {{s, len}, {(void *)"\n", 1}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
	if (sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("management: cannot answer a client: %s", strerror(errno));
	free(s);
}

static json_t *error_response(const char *why)
{
	return json_pack("{s:b, s:s}", "ok", 0, "error", why);
}

static void client_close(struct mgmt_client *c)
{
	/* closing with unread input resets the connection, and the client would
	 * lose the answer: read what is already here first (bounded) */
	char sink[4096];
	for (int i = 0; i < 16 && read(c->fd, sink, sizeof(sink)) > 0; i++)
		;
	close(c->fd);
	c->fd = -1;
	c->len = 0;
}

/* Answers the request in c->buf[0, len) and closes the client. */
static void client_answer(struct mgmt *m, struct mgmt_client *c, size_t len)
{
	json_error_t jerr;
	json_t *req = json_loadb(c->buf, len, JSON_REJECT_DUPLICATES, &jerr);
	json_t *resp;
	const char *command = NULL;
	char why[256];

	if (!req || !json_is_object(req)) {
		snprintf(why, sizeof(why),
			 "expected one JSON object such as {\"command\": \"stats\"}%s%s",
			 req ? "" : ": ", req ? "" : jerr.text);
		resp = error_response(why);
	} else if (json_unpack(req, "{s:s}", "command", &command) != 0) {
		resp = error_response("expected a \"command\" member holding a string");
	} else {
		resp = m->handler(m->arg, command, req);
		if (!resp)
			resp = error_response("out of memory");
		else if (!json_object_get(resp, "ok"))
			json_object_set_new(resp, "ok", json_true());
	}
	m->st.requests++;
	if (!json_is_true(json_object_get(resp, "ok")))
		m->st.errors++;
	send_line(c->fd, resp);
	json_decref(resp);
	json_decref(req);
	client_close(c);
}

/* Reads what the client sent; answers once a line (or end of stream) is in. */
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
		const char *nl = memchr(c->buf + c->len, '\n', (size_t)n);
		c->len += (size_t)n;
		if (nl) {
			client_answer(m, c, (size_t)(nl - c->buf));
			return;
		}
		if (c->len == sizeof(c->buf)) {
			json_t *e = error_response("request longer than the limit (4096 bytes)");
			send_line(c->fd, e);
			json_decref(e);
			m->st.requests++;
			m->st.errors++;
			client_close(c);
			return;
		}
	}
}

static void accept_clients(struct mgmt *m, uint64_t now_ms)
{
	for (;;) {
		int fd = accept4(m->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_warn("management socket %s: accept: %s", m->path,
					 strerror(errno));
			return;
		}
		struct mgmt_client *c = NULL;
		for (int i = 0; i < MGMT_MAX_CLIENTS && !c; i++)
			if (m->clients[i].fd < 0)
				c = &m->clients[i];
		if (!c) {
			json_t *e = error_response("busy: too many clients waiting; try again");
			send_line(fd, e);
			json_decref(e);
			close(fd);
			m->st.dropped++;
			continue;
		}
		c->fd = fd;
		c->len = 0;
		c->deadline_ms = now_ms + MGMT_CLIENT_TIMEOUT_MS;
	}
}

int mgmt_poll_fds(const struct mgmt *m, struct pollfd *pfds, int cap)
{
	int n = 0;

	if (cap < 1)
		return 0;
	pfds[n++] = (struct pollfd){.fd = m->fd, .events = POLLIN};
	for (int i = 0; i < MGMT_MAX_CLIENTS && n < cap; i++)
		if (m->clients[i].fd >= 0)
			pfds[n++] = (struct pollfd){.fd = m->clients[i].fd, .events = POLLIN};
	return n;
}

void mgmt_service(struct mgmt *m, const struct pollfd *pfds, int n, uint64_t now_ms)
{
	for (int i = 1; i < n; i++) {
		if (!pfds[i].revents)
			continue;
		for (int j = 0; j < MGMT_MAX_CLIENTS; j++)
			if (m->clients[j].fd == pfds[i].fd) {
				client_read(m, &m->clients[j]);
				break;
			}
	}
	if (n > 0 && (pfds[0].revents & POLLIN))
		accept_clients(m, now_ms);
	for (int j = 0; j < MGMT_MAX_CLIENTS; j++) {
		struct mgmt_client *c = &m->clients[j];
		if (c->fd >= 0 && now_ms >= c->deadline_ms) {
			json_t *e = error_response("no complete request line within 2000 ms");
			send_line(c->fd, e);
			json_decref(e);
			m->st.dropped++;
			client_close(c);
		}
	}
}

void mgmt_get_stats(const struct mgmt *m, struct mgmt_stats *out)
{
	*out = m->st;
}
