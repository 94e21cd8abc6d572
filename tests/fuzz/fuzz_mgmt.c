/*
 * fuzz_mgmt.c - libFuzzer target for the management interfaces' parsing: the
 * request framing of the Unix socket and of the HTTP metrics endpoint (which
 * may face a network), and the status an HTTP head gets.
 *
 * Owns: the properties every byte stream must keep. The first byte picks the
 * format (odd: HTTP). mgmt_request_end finds a request only within the bytes
 * given, finds the same one however many bytes follow it (the stream may
 * arrive in pieces, or with more behind), and finds none in any shorter
 * prefix; an HTTP head gets 200, 400, 404 or 405, and 200 only for a GET or
 * HEAD of /metrics on an HTTP/1.x request line (head_only for a HEAD).
 * A first byte with its top bit set makes the rest a configuration document
 * (what an operator writes, and what sipshardctl reload loads): it loads or
 * is refused with one line in err that leaves the configuration as it was;
 * one that loads prints (config_to_json, what --check-config shows) as a
 * document that loads again and prints the same (config.h says so). No name
 * is resolved here: getaddrinfo and the SRV query below fail as a host
 * without DNS does.
 * A first byte 0x40 to 0x7f makes the rest a request to the management
 * socket, served by the code sipshardd runs (mgmt_service and the command
 * handler, commands_handle) on a real Unix socket, for a daemon that never
 * started: the configuration of fuzz_config.h in force, its controller, two
 * workers whose tables hold the fixture's calls (relay_dialog.h: a confirmed
 * one on each worker, the second with its own Call-IDs, and one still being
 * set up), answered by this file as the workers and the main thread would
 * answer (the commands on dialogs, reload). The low bits of that byte set
 * the scene: bit 0 the daemon can reload, bit 1 a reload waits already,
 * bit 2 it drains already, bit 3 the second worker's command ring is full,
 * bit 4 another command on dialogs runs, bit 5 the target 127.0.0.1:5091 is
 * disabled. A request without a newline is ended by the client's shutdown.
 * Checked: a request gets exactly one line, then the end of the stream; the
 * line is a JSON object whose "ok" is a boolean; a false one holds an
 * "error" of one line that names what was wrong (the argument, the command,
 * or why it cannot run now), and a true one the members its command answers
 * with (mgmt.h, README); a refused command gives no worker a query, raises no
 * signal, and leaves the targets, the drain and a command already running as
 * they were; a query given carries the request's arguments to every worker
 * once; a drain or reload raises its signal once (kill() is caught here)
 * and only when it starts; disable and enable change only the target
 * answered. Any violation abort()s.
 * Does not own: the management module itself (user/daemon/mgmt.c), the
 * configuration's meaning (user/ctl/config*.c, test_config.c), what a worker
 * does with a query (worker.c, tests/integration/dialogs.sh).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netdb.h>
#include <poll.h>
#include <resolv.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "../common/fuzz_config.h"
#include "../common/relay_dialog.h"
#include "core/clock.h"
#include "core/ring.h"
#include "ctl/config.h"
#include "ctl/policy.h"
#include "daemon/controller.h"
#include "daemon/daemon.h"
#include "daemon/log.h"
#include "daemon/mgmt.h"

/* Names resolve nowhere: a fuzzer must not ask the network. */
int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		struct addrinfo **res)
{
	(void)node;
	(void)service;
	(void)hints;
	*res = NULL;
	return EAI_NONAME;
}

int res_ninit(res_state statp)
{
	(void)statp;
	return -1;
}

/* The management socket of the command inputs and its directory, once made:
 * removed at exit, and before abort(), which skips the atexit handlers. */
static char socket_dir[64], socket_path[96];

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_mgmt: %s\n", what);
		if (socket_path[0])
			unlink(socket_path);
		if (socket_dir[0])
			rmdir(socket_dir);
		abort();
	}
}

/* Each 237 KiB: static, and compared or cleared rather than copied, so that
 * a document costs little more than its loads. cfg is all zeros between
 * inputs. */
static struct config cfg, cfg_again, zeros;

/* A configuration document: loaded, or refused leaving cfg as it was; one
 * loaded prints as a document that loads to what prints the same. */
static void check_config(const char *doc)
{
	char err[512];

	memset(err, 0, sizeof(err));
	if (config_load_string(&cfg, doc, err, sizeof(err)) != 0) {
		check(err[0] && !memchr(err, '\n', strlen(err)),
		      "a refused configuration without one line saying why");
		check(!memcmp(&cfg, &zeros, sizeof(cfg)),
		      "a refused configuration changed the one in force");
		return;
	}
	char *j1 = config_to_json(&cfg);
	check(j1 != NULL, "config_to_json failed");
	int rc = config_load_string(&cfg_again, j1, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "--- printed:\n%s\n--- reloading it: %s\n", j1, err);
	check(rc == 0, "a configuration printed does not load again");
	char *j2 = config_to_json(&cfg_again);
	check(j2 != NULL, "config_to_json failed");
	if (strcmp(j1, j2))
		fprintf(stderr, "--- printed:\n%s\n--- reloaded, printed:\n%s\n", j1, j2);
	check(strcmp(j1, j2) == 0, "a configuration printed loads as another");
	free(j1);
	free(j2);
	memset(&cfg, 0, sizeof(cfg));
}

/* ---- requests to the management socket ----------------------------------- */

enum { NWORKERS = 2, DIALOGS = 16, RING_SLOTS = 16, MAX_TURNS = 64 };

/* A signal the commands raise goes to the daemon's own main thread; here it
 * is counted instead (any other goes through). */
static unsigned sighup_raised, sigterm_raised;

int kill(pid_t pid, int sig)
{
	if (pid == getpid() && (sig == SIGHUP || sig == SIGTERM)) {
		if (sig == SIGHUP)
			sighup_raised++;
		else
			sigterm_raised++;
		return 0;
	}
	return (int)syscall(SYS_kill, pid, sig);
}

static void hook_send(void *arg, unsigned shard, const char *buf, size_t len,
		      const struct sockaddr *to, socklen_t tolen)
{
	(void)arg, (void)shard, (void)buf, (void)len, (void)to, (void)tolen;
}

static int hook_install(void *arg, unsigned shard, const struct shard_dialog *dlg,
			uint32_t session_expires_s)
{
	(void)arg, (void)shard, (void)dlg, (void)session_expires_s;
	return 0;
}

static int hook_release(void *arg, unsigned shard, uint32_t slot, uint32_t gen)
{
	(void)arg, (void)shard, (void)slot, (void)gen;
	return 0;
}

static struct {
	struct daemon d;
	struct worker workers[NWORKERS];
	struct ctl_out *ctl_out;
	struct policy *pol;
	struct ctl_hooks hooks;
	/* the fixture's dialogs by worker: slots in use */
	uint32_t slots[NWORKERS][2];
	unsigned nslots[NWORKERS];
	/* this input's send: the dialogs it went into have their final (200) */
	bool sent_to[NWORKERS][DIALOGS];
	uint8_t sent_method, sent_leg;
	unsigned queries[NWORKERS]; /* DMSG_QUERY given to each this input */
	struct dlg_query last_q;    /* the first one given */
	bool have_q;
	bool ready;
	bool trace; /* FUZZ_TRACE=1: print each request and its answer */
} dmn;

static void cleanup_socket(void)
{
	mgmt_close(dmn.d.mgmt);
	dmn.d.mgmt = NULL;
	rmdir(socket_dir);
}

/* The daemon of every command input, made once: what a command may change
 * is put back after each (reset_daemon). */
static void make_daemon(void)
{
	static struct config cfg_daemon;
	char err[512];
	struct daemon *d = &dmn.d;

	dmn.trace = getenv("FUZZ_TRACE") != NULL;
	log_set_level(LOG_LVL_ERROR); /* the commands log what they do */
	if (config_load_string(&cfg_daemon, fuzz_daemon_config, err, sizeof(err)) != 0 ||
	    policy_create(&dmn.pol, &cfg_daemon, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_mgmt: the daemon's configuration: %s\n", err);
		abort();
	}
	dmn.hooks = (struct ctl_hooks){d, hook_send, hook_install, hook_release, NULL, NULL};
	check(ctl_open(&d->ctl, &cfg_daemon, dmn.pol, NWORKERS, DIALOGS, &dmn.hooks, NULL,
		       clock_mono_ms()) == 0,
	      "ctl_open failed");
	d->cfg = &cfg_daemon;
	d->pol = dmn.pol;
	d->nworkers = NWORKERS;
	d->workers = dmn.workers;
	dmn.ctl_out = calloc(NWORKERS, sizeof(*dmn.ctl_out));
	d->ctl_out = dmn.ctl_out;
	d->cdr.fd = -1;
	d->ctl_wake_fd = -1;
	char a_tag[SHARD_TAG_MAX], b_tag[SHARD_TAG_MAX];
	for (unsigned i = 0; i < NWORKERS; i++) {
		struct worker *w = &dmn.workers[i];
		w->id = i;
		w->d = d;
		w->fd = -1;
		check(ring_create(&w->cmd, RING_SLOTS, sizeof(struct dmsg_hdr) + DMSG_DATA_MAX) ==
			  0,
		      "ring_create failed");
		check(shard_table_open(&w->table, NULL, DIALOGS, 32) == 0,
		      "shard_table_open failed");
		/* a confirmed call on each worker, the second's with Call-IDs of
		 * its own; an early one beside the first */
		uint32_t slot = 1 + 3 * i;
		shard_tag_encode(a_tag, sizeof(a_tag), i, slot, 1, 0x1111);
		shard_tag_encode(b_tag, sizeof(b_tag), i, slot, 1, 0x2222);
		check(relay_dialog_install(&w->table, slot, 1, a_tag, b_tag, 1000) == 0,
		      "the fixture's dialog does not install");
		dmn.slots[i][dmn.nslots[i]++] = slot;
		if (i == 1) {
			struct shard_dialog *dl = &w->table.dialogs[slot];
			SESSION_SET(&dl->legs[SHARD_LEG_A], call_id, "call2@host", 10);
			SESSION_SET(&dl->legs[SHARD_LEG_B], call_id, "call2@sipshard", 14);
		} else {
			check(relay_dialog_install(&w->table, slot + 1, 1, a_tag, b_tag, 1000) == 0,
			      "the fixture's dialog does not install");
			struct shard_dialog *dl = &w->table.dialogs[slot + 1];
			dl->state = SHARD_DLG_EARLY;
			SESSION_SET(&dl->legs[SHARD_LEG_A], call_id, "ringing@host", 12);
			SESSION_SET(&dl->legs[SHARD_LEG_B], call_id, "ringing@sipshard", 16);
			dmn.slots[i][dmn.nslots[i]++] = slot + 1;
		}
	}
	snprintf(socket_dir, sizeof(socket_dir), "/tmp/fuzz_mgmt.%d", (int)getpid());
	snprintf(socket_path, sizeof(socket_path), "%s/s.sock", socket_dir);
	check(mgmt_create(&d->mgmt, d) == 0, "mgmt_create failed");
	if (mgmt_listen_unix(d->mgmt, socket_path, commands_handle, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_mgmt: %s\n", err);
		abort();
	}
	atexit(cleanup_socket);
	dmn.ready = true;
}

/* One pass of the controller's loop over the management socket, every
 * descriptor taken as ready (a read or write that would block is fine). */
static void serve(void)
{
	struct pollfd p[MGMT_LISTENERS + MGMT_MAX_CLIENTS];
	int n = mgmt_poll_fds(dmn.d.mgmt, p, MGMT_LISTENERS + MGMT_MAX_CLIENTS);
	for (int i = 0; i < n; i++)
		p[i].revents = p[i].events;
	mgmt_service(dmn.d.mgmt, p, n, clock_mono_ms());
}

static bool call_id_matches(const struct dlg_query *q, const struct shard_dialog *dl)
{
	if (!q->call_id_len)
		return true;
	for (int leg = SHARD_LEG_A; leg <= SHARD_LEG_B; leg++)
		if (dl->legs[leg].call_id_len == q->call_id_len &&
		    memcmp(dl->legs[leg].call_id, q->call_id, q->call_id_len) == 0)
			return true;
	return false;
}

/* Worker w answers query q (id) as its scan of the fixture's table would
 * (worker.c, query_step): the dialogs matched, then the count. A send's
 * dialogs get their final (200) at once, reported as the worker reports
 * it; a bye frees none (the next input finds the same calls). */
static void worker_answers(unsigned w, const struct dlg_query *q, uint32_t id)
{
	struct daemon *d = &dmn.d;
	static char packed[SHARD_DIALOG_PACKED_MAX];
	static struct shard_dialog shown;
	uint32_t matched = 0, early = 0, reported = 0;

	for (unsigned k = 0; k < dmn.nslots[w]; k++) {
		uint32_t slot = dmn.slots[w][k];
		const struct shard_dialog *dl = &dmn.workers[w].table.dialogs[slot];
		if (q->kind != DLG_QUERY_LIST && dl->state != SHARD_DLG_CONFIRMED) {
			early += call_id_matches(q, dl);
			continue;
		}
		if (!call_id_matches(q, dl))
			continue;
		matched++;
		if (q->kind == DLG_QUERY_LIST && reported >= q->limit)
			continue;
		memcpy(&shown, dl, sizeof(shown));
		if (dmn.sent_to[w][slot]) {
			shown.sent_method = dmn.sent_method;
			shown.sent_leg = dmn.sent_leg;
			shown.sent_status = 200;
		}
		int n = shard_dialog_pack(&shown, packed, sizeof(packed));
		check(n > 0, "shard_dialog_pack failed");
		struct dmsg_hdr h = {.type = DMSG_QUERY_DIALOG, .len = (uint32_t)n, .slot = id};
		dialogs_on_reply(d, w, &h, packed, clock_mono_ms());
		reported++;
		if (q->kind == DLG_QUERY_SEND) {
			dmn.sent_to[w][slot] = true;
			dmn.sent_method = q->method;
			dmn.sent_leg = q->leg;
			struct dmsg_hdr f = {.type = DMSG_SENT_FINAL,
					     .slot = dl->slot,
					     .gen = dl->gen,
					     .reason = 200};
			dialogs_on_final(d, w, &f);
		}
	}
	struct dmsg_hdr done = {.type = DMSG_QUERY_DONE,
				.slot = id,
				.gen = dmn.workers[w].table.hdr->dialogs_used,
				.reason = matched,
				.home = early};
	dialogs_on_reply(d, w, &done, NULL, clock_mono_ms());
}

/* The workers take what the controller gave them: the queries are answered
 * (after every worker has taken its own, as their threads would), fillers of
 * a full ring dropped. */
static void workers_turn(void)
{
	struct dlg_query q[NWORKERS];
	uint32_t id[NWORKERS];
	bool asked[NWORKERS] = {false};

	for (unsigned w = 0; w < NWORKERS; w++) {
		const void *hp, *payload;
		while (ring_peek(dmn.workers[w].cmd, &hp, sizeof(struct dmsg_hdr), &payload) == 0) {
			const struct dmsg_hdr *h = hp;
			if (h->type == DMSG_QUERY) {
				check(h->len == sizeof(struct dlg_query),
				      "a query of the wrong size");
				check(!asked[w], "a worker given two queries in one pass");
				memcpy(&q[w], payload, sizeof(q[w]));
				id[w] = h->slot;
				asked[w] = true;
				if (!dmn.have_q) {
					dmn.last_q = q[w];
					dmn.have_q = true;
				}
				dmn.queries[w]++;
			} else {
				check(h->type == DMSG_RELEASE,
				      "a worker given a command no request asks for");
			}
			ring_pop(dmn.workers[w].cmd);
		}
	}
	for (unsigned w = 0; w < NWORKERS; w++)
		if (asked[w])
			worker_answers(w, &q[w], id[w]);
	/* a send waiting for its finals: they are all in, so it lists at once */
	dialogs_tick(&dmn.d, clock_mono_ms());
}

/* The main thread's part of a reload (sipshardd.c): it takes the request
 * the command raised SIGHUP for and reports; the controller thread sends
 * the report (daemon.c, ctl_send_reload_answer). */
static void main_thread_reloads(void)
{
	struct daemon *d = &dmn.d;
	if (!sighup_raised || !daemon_reload_request(d))
		return;
	daemon_reload_answer(d, true, json_pack("{s:s}", "reloaded", "fuzz.json"));
	json_t *report = atomic_exchange(&d->reload_report, NULL);
	if (d->reload_waiting && report) {
		d->reload_waiting = false;
		mgmt_answer(d->mgmt, d->reload_ticket, report);
	} else {
		json_decref(report);
	}
}

struct scene {
	bool disabled[8];
	size_t ntargets;
	bool draining, reload_waiting, query_active;
	uint64_t query_deadline;
};

static void snapshot(struct scene *s)
{
	struct ctl_target_info t[8];
	memset(s, 0, sizeof(*s));
	s->ntargets = ctl_get_targets(dmn.d.ctl, t, 8);
	check(s->ntargets <= 8, "more targets than the configuration has");
	for (size_t i = 0; i < s->ntargets; i++)
		s->disabled[i] = t[i].disabled;
	s->draining = atomic_load(&dmn.d.draining);
	s->reload_waiting = dmn.d.reload_waiting;
	s->query_active = dmn.d.query.active;
	s->query_deadline = dmn.d.query.deadline_ms;
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool is_dialogs_command(const char *c)
{
	return c && (!strcmp(c, "dialogs") || !strcmp(c, "bye") || !strcmp(c, "info") ||
		     !strcmp(c, "message") || !strcmp(c, "refer"));
}

/* An error names what was wrong: the request as a whole, the command, one of
 * its arguments, or why it cannot run now. */
static bool error_names_cause(const char *why, const char *command)
{
	static const char *const any[] = {
	    "expected one JSON object", "expected a \"command\" member", "request longer than",
	    "unknown command \"",
	    /* not "out of memory": under ASan that is a response jansson
	     * could not build (a string that is not UTF-8, say) */
	};
	static const char *const dialogs[] = {
	    "call_id: ",
	    "limit: ",
	    "to: ",
	    "content_type: ",
	    "content_type and body: ",
	    "body: ",
	    "target: ",
	    "wait_ms: ",
	    "busy: ",
	    "no call in progress has Call-ID",
	    "the call with Call-ID",
	};
	for (size_t i = 0; i < sizeof(any) / sizeof(any[0]); i++)
		if (starts_with(why, any[i]))
			return true;
	if (!command)
		return false;
	if (is_dialogs_command(command)) {
		for (size_t i = 0; i < sizeof(dialogs) / sizeof(dialogs[0]); i++)
			if (starts_with(why, dialogs[i]))
				return true;
		size_t n = strlen(command);
		return strncmp(why, command, n) == 0 && why[n] == ':';
	}
	if (!strcmp(command, "reload"))
		return starts_with(why, "this daemon cannot reload") ||
		       starts_with(why, "another sipshardctl reload");
	if (!strcmp(command, "disable") || !strcmp(command, "enable"))
		return starts_with(why, "expected a target") ||
		       starts_with(why, "no route of the configuration");
	return false;
}

static bool has(const json_t *o, const char *key, json_type type)
{
	const json_t *v = json_object_get(o, key);
	return v && json_typeof(v) == type;
}

/* The members each command answers with (README, sipshardctl). */
static void check_shape(const char *command, const json_t *resp)
{
	if (!strcmp(command, "stats"))
		check(has(resp, "stats", JSON_OBJECT), "stats without its object");
	else if (!strcmp(command, "targets"))
		check(has(resp, "targets", JSON_ARRAY), "targets without its array");
	else if (!strcmp(command, "registrations"))
		check(has(resp, "registrations", JSON_ARRAY), "registrations without its array");
	else if (!strcmp(command, "config"))
		check(has(resp, "config", JSON_OBJECT), "config without its object");
	else if (!strcmp(command, "reload"))
		check(has(resp, "reloaded", JSON_STRING),
		      "reload without the main thread's report");
	else if (!strcmp(command, "disable") || !strcmp(command, "enable"))
		check(has(resp, "address", JSON_STRING) && has(resp, "calls", JSON_INTEGER) &&
			  json_is_true(json_object_get(resp, "disabled")) ==
			      !strcmp(command, "disable"),
		      "disable or enable without the target's address, calls and state");
	else if (!strcmp(command, "drain"))
		check(has(resp, "calls_up", JSON_INTEGER) && has(resp, "drain_s", JSON_INTEGER) &&
			  json_is_boolean(json_object_get(resp, "already_draining")),
		      "drain without calls_up, drain_s and already_draining");
	else if (!strcmp(command, "dialogs"))
		check(has(resp, "dialogs_up", JSON_INTEGER) && has(resp, "matched", JSON_INTEGER) &&
			  has(resp, "dialogs", JSON_ARRAY),
		      "dialogs without dialogs_up, matched and the list");
	else if (!strcmp(command, "bye"))
		check(has(resp, "ended", JSON_INTEGER) && has(resp, "dialogs", JSON_ARRAY) &&
			  json_integer_value(json_object_get(resp, "ended")) > 0,
		      "bye without the calls ended");
	else if (is_dialogs_command(command))
		check(has(resp, "sent", JSON_INTEGER) && has(resp, "method", JSON_STRING) &&
			  has(resp, "to", JSON_STRING) && has(resp, "answered", JSON_INTEGER) &&
			  has(resp, "dialogs", JSON_ARRAY) &&
			  (json_is_null(json_object_get(resp, "status")) ||
			   has(resp, "status", JSON_INTEGER)),
		      "a send without sent, method, to, status, answered and the dialogs");
	else
		check(false, "a command nobody knows answered ok");
}

/* The query the workers got carries the request's arguments. */
static void check_query(const char *command, const json_t *req, const struct dlg_query *q)
{
	const json_t *cid = json_object_get(req, "call_id");
	const json_t *lim = json_object_get(req, "limit");

	check(q->kind == (!strcmp(command, "dialogs") ? DLG_QUERY_LIST
			  : !strcmp(command, "bye")   ? DLG_QUERY_BYE
						      : DLG_QUERY_SEND),
	      "a query of another kind than the command");
	if (cid)
		check(json_is_string(cid) && q->call_id_len == json_string_length(cid) &&
			  !memcmp(q->call_id, json_string_value(cid), q->call_id_len) &&
			  q->call_id[q->call_id_len] == '\0',
		      "a query for another Call-ID than the request's");
	else
		check(q->kind == DLG_QUERY_LIST && q->call_id_len == 0,
		      "a query by Call-ID without one in the request");
	check(q->limit == (lim ? (uint32_t)json_integer_value(lim) : 20),
	      "a query with another limit than the request's");
	if (q->kind != DLG_QUERY_SEND)
		return;
	const char *to = json_string_value(json_object_get(req, "to"));
	check(to && q->leg == (!strcmp(to, "caller") ? SHARD_LEG_A : SHARD_LEG_B),
	      "a send to another side than the request's");
	const json_t *body = json_object_get(req, "body");
	const json_t *ct = json_object_get(req, "content_type");
	check(q->body_len == (body ? json_string_length(body) : 0) &&
		  (!body || !memcmp(q->body, json_string_value(body), q->body_len)),
	      "a send with another body than the request's");
	check(ct ? !strcmp(q->ctype, json_string_value(ct)) : q->ctype[0] == '\0',
	      "a send with another content type than the request's");
	if (q->method == SIP_METHOD_REFER)
		check(!strcmp(q->refer_to, json_string_value(json_object_get(req, "target"))),
		      "a refer to another target than the request's");
	check(q->method == (!strcmp(command, "info")	  ? SIP_METHOD_INFO
			    : !strcmp(command, "message") ? SIP_METHOD_MESSAGE
							  : SIP_METHOD_REFER),
	      "a send of another method than the command");
}

/* Sets the scene the first byte asks for (see the top). */
static void set_scene(uint8_t bits)
{
	struct daemon *d = &dmn.d;
	struct sockaddr_in t5091;

	d->reloadable = bits & 1;
	d->reload_waiting = bits & 2;
	atomic_store(&d->draining, (bits & 4) != 0);
	if (bits & 8) {
		struct dmsg_hdr filler = {.type = DMSG_RELEASE};
		while (daemon_push_cmd(d, 1, &filler, NULL, 0) == 0)
			;
	}
	if (bits & 16) {
		d->query.active = true;
		d->query.deadline_ms = clock_mono_ms() + 60000;
		d->query.dialogs = json_array();
	}
	test_addr_in(&t5091, "127.0.0.1", 5091);
	uint32_t calls;
	check(ctl_set_target_disabled(d->ctl, (struct sockaddr *)&t5091, sizeof(t5091),
				      (bits & 32) != 0, &calls) == 0,
	      "the fixture's target 127.0.0.1:5091 is not there");
}

/* Puts back what an input may have changed. */
static void reset_daemon(void)
{
	struct daemon *d = &dmn.d;
	struct ctl_target_info t[8];
	uint32_t calls;

	for (unsigned w = 0; w < NWORKERS; w++) {
		while (ring_count(dmn.workers[w].cmd))
			ring_pop(dmn.workers[w].cmd);
		dmn.ctl_out[w].cmd_pushed = false;
	}
	json_decref(d->query.dialogs);
	free(d->query.targets); /* the dialogs the last info waited for */
	uint32_t id = d->query.id;
	memset(&d->query, 0, sizeof(d->query));
	d->query.id = id;
	size_t n = ctl_get_targets(d->ctl, t, 8);
	for (size_t i = 0; i < n && i < 8; i++)
		ctl_set_target_disabled(d->ctl, (struct sockaddr *)&t[i].addr, t[i].len, false,
					&calls);
	d->reload_waiting = false;
	atomic_store(&d->reload_requested, false);
	json_decref(atomic_exchange(&d->reload_report, NULL));
	atomic_store(&d->draining, false);
	memset(dmn.sent_to, 0, sizeof(dmn.sent_to));
	memset(dmn.queries, 0, sizeof(dmn.queries));
	dmn.have_q = false;
	sighup_raised = sigterm_raised = 0;
}

static int connect_client(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, socket_path, strlen(socket_path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	check(fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0,
	      "cannot connect to the management socket");
	return fd;
}

static void check_command(uint8_t bits, const uint8_t *req, size_t len)
{
	struct daemon *d = &dmn.d;
	struct scene before, after;
	static char got[1 << 20];
	size_t got_len = 0;
	bool eof = false;

	if (!dmn.ready)
		make_daemon();
	set_scene(bits);
	snapshot(&before);
	int fd = connect_client();
	/* the request and then the end of what the client says: what has no
	 * newline is answered at that end */
	check(write(fd, req, len) == (ssize_t)len, "the request does not fit the socket");
	shutdown(fd, SHUT_WR);
	serve(); /* accepted */
	serve(); /* read and answered, or given to the workers */
	for (int turn = 0; turn < MAX_TURNS && !eof; turn++) {
		workers_turn();
		main_thread_reloads();
		for (;;) {
			ssize_t r = read(fd, got + got_len, sizeof(got) - got_len);
			if (r <= 0) {
				eof = r == 0;
				break;
			}
			got_len += (size_t)r;
			check(got_len < sizeof(got), "an answer larger than 1 MiB");
		}
	}
	close(fd);
	if (dmn.trace)
		fprintf(stderr, "scene %#x, request: %.*s\nanswer (%zu bytes): %.*s\n", bits,
			(int)len, (const char *)req, got_len, (int)(got_len < 600 ? got_len : 600),
			got);
	check(eof, "the daemon did not close after its answer");
	snapshot(&after);

	/* the request as mgmt reads it: up to its newline, if any */
	const uint8_t *nl = memchr(req, '\n', len);
	size_t line_len = nl ? (size_t)(nl - req) : len;
	if (len == 0) {
		check(got_len == 0, "an answer to nothing");
		reset_daemon();
		return;
	}
	check(got_len > 0 && got[got_len - 1] == '\n' &&
		  memchr(got, '\n', got_len) == &got[got_len - 1],
	      "not exactly one line in answer");
	json_error_t jerr;
	json_t *resp = json_loadb(got, got_len - 1, JSON_REJECT_DUPLICATES, &jerr);
	check(json_is_object(resp), "an answer that is not a JSON object");
	const json_t *ok = json_object_get(resp, "ok");
	check(json_is_boolean(ok), "an answer without \"ok\" true or false");

	json_t *request = line_len < MGMT_REQUEST_MAX ? json_loadb((const char *)req, line_len,
								   JSON_REJECT_DUPLICATES, &jerr)
						      : NULL;
	const char *command = json_string_value(json_object_get(request, "command"));
	if (!json_is_object(request))
		command = NULL;

	if (json_is_false(ok)) {
		const char *why = json_string_value(json_object_get(resp, "error"));
		check(why && why[0], "a refusal without an error");
		for (const char *p = why; *p; p++)
			check((unsigned char)*p >= 0x20, "an error of more than one line");
		if (!error_names_cause(why, command)) {
			fprintf(stderr, "--- command %s, error: %s\n", command ? command : "(none)",
				why);
			check(false, "an error that does not name what was wrong");
		}
		/* refused: nothing changed; but the workers are asked whether the
		 * call is there before the answer says it is not */
		bool asked = starts_with(why, "no call in progress") ||
			     starts_with(why, "the call with Call-ID");
		check(asked ? dmn.queries[0] == 1 && dmn.queries[1] == 1
			    : !dmn.queries[0] && !dmn.queries[1],
		      "a refused command reached a worker, or one not found was not looked for");
		check(!sighup_raised && !sigterm_raised, "a refused command raised a signal");
		check(before.draining == after.draining, "a refused command changed the drain");
		check(!memcmp(before.disabled, after.disabled, sizeof(before.disabled)),
		      "a refused command changed a target");
		/* one the workers were asked about is over; any other left the
		 * command running as it was */
		check(asked ? !after.query_active
			    : after.query_active == before.query_active &&
				  after.query_deadline == before.query_deadline,
		      "a refused command changed the command on dialogs running");
	} else {
		check(command != NULL, "ok for a request without a command");
		check_shape(command, resp);
		if (is_dialogs_command(command)) {
			check(dmn.have_q,
			      "a command on dialogs answered without asking the workers");
			check_query(command, request, &dmn.last_q);
		}
		if (strcmp(command, "disable") && strcmp(command, "enable"))
			check(!memcmp(before.disabled, after.disabled, sizeof(before.disabled)),
			      "a command changed a target it does not name");
		if (!strcmp(command, "drain"))
			check(after.draining && sigterm_raised == !before.draining &&
				  json_is_true(json_object_get(resp, "already_draining")) ==
				      before.draining,
			      "a drain that did not start once");
		if (!strcmp(command, "reload"))
			check(sighup_raised == 1, "a reload that did not raise SIGHUP once");
	}
	if (!command || strcmp(command, "drain"))
		check(!sigterm_raised && before.draining == after.draining,
		      "a command other than drain touched the drain");
	if (!command || strcmp(command, "reload"))
		check(!sighup_raised, "a command other than reload raised SIGHUP");
	if (!is_dialogs_command(command))
		check(!dmn.queries[0] && !dmn.queries[1],
		      "a command other than those on dialogs reached a worker");
	else if (dmn.have_q)
		/* dialogs_tick lists a send's calls once more, by the same query */
		for (unsigned w = 0; w < NWORKERS; w++)
			check(dmn.queries[w] == dmn.queries[0] && dmn.queries[w] >= 1,
			      "a query given to some workers only");
	(void)d;
	json_decref(request);
	json_decref(resp);
	reset_daemon();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > MGMT_REQUEST_MAX + 1)
		return 0;
	if (data[0] & 0x80) {
		/* a NUL-terminated copy: the loader takes a C string */
		char *doc = malloc(size);
		memcpy(doc, data + 1, size - 1);
		doc[size - 1] = '\0';
		check_config(doc);
		free(doc);
		return 0;
	}
	if (data[0] & 0x40) {
		check_command(data[0] & 0x3f, data + 1, size - 1);
		return 0;
	}
	bool http = data[0] & 1;
	/* a copy of exactly the bytes, so that ASan sees any read past them */
	size_t len = size - 1;
	char *buf = malloc(len ? len : 1);
	memcpy(buf, data + 1, len);

	bool found;
	size_t end = mgmt_request_end(buf, len, http, &found);
	check(!found || end <= len, "request end past the bytes");
	if (found) {
		/* the terminator is part of what was received */
		size_t term = http ? (buf[end] == '\n' ? 1 : 2) : 1;
		check(end + term <= len, "terminator past the bytes");
		/* a prefix that stops before the terminator holds no request */
		bool f2;
		mgmt_request_end(buf, end + term - 1, http, &f2);
		check(!f2, "a request found before its terminator");
		/* bytes after it do not move it */
		size_t e3 = mgmt_request_end(buf, len, http, &f2);
		check(f2 && e3 == end, "request end not stable");
		if (http) {
			bool head_only;
			int st = mgmt_http_status(buf, end, &head_only);
			check(st == 200 || st == 400 || st == 404 || st == 405, "unknown status");
			check(head_only == (st != 400 && end >= 5 && memcmp(buf, "HEAD ", 5) == 0),
			      "head_only for something else than a HEAD request line");
			if (st == 200)
				check((end >= 22 && memcmp(buf, "GET /metrics", 12) == 0 &&
				       memmem(buf, end, " HTTP/1.", 8) != NULL) ||
					  (end >= 23 && memcmp(buf, "HEAD /metrics", 13) == 0 &&
					   memmem(buf, end, " HTTP/1.", 8) != NULL),
				      "200 for something else than GET or HEAD /metrics");
		}
	}
	free(buf);
	return 0;
}
