/*
 * daemon.c - starts and stops sipshardd's threads and wires them together
 * (see daemon.h).
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/counter.h"
#include "core/files.h"
#include "core/mem.h"
#include "core/rng.h"
#include "daemon/daemon.h"
#include "daemon/log.h"
#include "daemon/metrics.h"
#include "daemon/register.h"
#include "net/udp.h"
#include "steer/steer.h"

#define RING_SLOT_SIZE (sizeof(struct dmsg_hdr) + DMSG_DATA_MAX)

/* ---- controller thread ---------------------------------------------------- */

/* The controller's datagrams leave through each worker's socket, queued
 * (net/sendq.h), so that a controller pass costs one system call per socket,
 * not one per datagram. Those the kernel cannot take yet (a full send
 * buffer, or ENOBUFS) wait in the queue, in order, and go when the
 * controller's poll finds the socket writable or the wait over; a full queue
 * drops its oldest (controller.send_queue_full). A datagram the socket
 * refuses is dropped, as a lost datagram would be: SIP retransmits. Each
 * refusal is counted (controller.send_refused) and logged once a second at
 * most with its destination: a route target the kernel will not send to
 * would otherwise show only as calls timing out. */
static uint64_t ctl_sendq_totals(struct daemon *d, struct net_sendq_stats *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (unsigned i = 0; d->ctl_out && i < d->nworkers; i++) {
		struct net_sendq_stats st;
		if (!d->ctl_out[i].q)
			continue;
		net_sendq_get_stats(d->ctl_out[i].q, &st);
		sum->sent += st.sent;
		sum->refused += st.refused;
		sum->waited += st.waited;
		sum->dropped_full += st.dropped_full;
		sum->enobufs += st.enobufs;
	}
	return sum->refused;
}

static void ctl_send_refused(void *arg, const struct sockaddr *to, int e)
{
	struct daemon *d = arg;
	uint64_t now = clock_mono_ms();
	if (now - d->ctl_send_refused_log_ms >= 1000) {
		char addr[UDP_ADDR_STRLEN];
		struct net_sendq_stats sum;
		d->ctl_send_refused_log_ms = now;
		udp_format_addr(to, addr, sizeof(addr));
		log_warn("controller: cannot send to %s: %s (%" PRIu64 " datagrams refused so far)",
			 addr, strerror(e), ctl_sendq_totals(d, &sum));
	}
}

/* After each controller pass: the datagrams it queued leave, and a worker that
 * was given commands is woken, so that a response it must send (DMSG_SEND)
 * does not wait for its next datagram or poll timeout. */
static void ctl_flush_all(struct daemon *d)
{
	for (unsigned i = 0; i < d->nworkers; i++) {
		if (net_sendq_pending(d->ctl_out[i].q))
			(void)net_sendq_flush(d->ctl_out[i].q);
		if (d->ctl_out[i].cmd_pushed) {
			uint64_t one = 1;
			d->ctl_out[i].cmd_pushed = false;
			if (write(d->workers[i].wake_fd, &one, sizeof(one)) < 0)
				(void)0; /* the worker also polls on a timeout */
		}
	}
}

int daemon_push_cmd(struct daemon *d, unsigned shard, const struct dmsg_hdr *h, const void *payload,
		    size_t len)
{
	int rc = ring_push(d->workers[shard].cmd, h, sizeof(*h), payload, len);
	if (rc == 0)
		d->ctl_out[shard].cmd_pushed = true;
	return rc;
}

static void hook_send(void *arg, unsigned shard, const char *buf, size_t len,
		      const struct sockaddr *to, socklen_t tolen)
{
	struct daemon *d = arg;

	/* through the worker's socket, which keeps our source address:port */
	(void)net_sendq_push(d->ctl_out[shard].q, buf, len, to, tolen);
}

/* The dialog goes packed (shard_dialog_pack): the ring and the worker copy
 * what the call uses, not the whole record. */
static int hook_install(void *arg, unsigned shard, const struct shard_dialog *dlg,
			uint32_t session_expires_s)
{
	char msg[SHARD_DIALOG_PACKED_MAX];
	int n = shard_dialog_pack(dlg, msg, sizeof(msg));
	if (n < 0)
		return n;
	struct dmsg_hdr h = {.type = DMSG_INSTALL, .len = (uint32_t)n, .reason = session_expires_s};
	return daemon_push_cmd(arg, shard, &h, msg, (size_t)n);
}

static int hook_release(void *arg, unsigned shard, uint32_t slot, uint32_t gen)
{
	struct dmsg_hdr h = {.type = DMSG_RELEASE, .slot = slot, .gen = gen};
	return daemon_push_cmd(arg, shard, &h, NULL, 0);
}

static int hook_send_after_install(void *arg, unsigned shard, const char *buf, size_t len,
				   const struct sockaddr *to, socklen_t tolen)
{
	struct daemon *d = arg;
	struct dmsg_hdr h = {.type = DMSG_SEND, .len = (uint32_t)len};
	if (len > DMSG_DATA_MAX)
		return -EMSGSIZE;
	/* what this pass queued for the socket leaves first: the worker may
	 * send this one before the pass ends, ahead of an 18x of the same call
	 * still queued (seen: SIPp got 180 after 200 and failed the call).
	 * When some still wait for room, the 2xx waits too: not sent, as with
	 * a full ring, and the callee's retransmission of it tries again */
	if (net_sendq_flush(d->ctl_out[shard].q) != 0)
		return -EAGAIN;
	dmsg_set_peer(&h, to, tolen);
	return daemon_push_cmd(d, shard, &h, buf, len);
}

static void hook_cdr(void *arg, const char *line, size_t len)
{
	struct daemon *d = arg;
	cdr_append(&d->cdr, line, len);
}

/* Messages from the workers a controller pass takes at most, and a worker's
 * turn within it: a worker under a flood of new calls cannot keep the others'
 * rings full (their INVITEs would get 503), and timers and the batched sends
 * follow each pass. */
#define CTL_DRAIN_TURN 32
#define CTL_DRAIN_PASS 1024

struct ctl_drain_ctx {
	struct daemon *d;
	uint64_t now;
};

static void ctl_on_event(void *arg, unsigned worker, const void *hdr, const void *payload)
{
	struct ctl_drain_ctx *x = arg;
	struct daemon *d = x->d;
	const struct dmsg_hdr *h = hdr;

	if (h->type == DMSG_DATAGRAM) {
		/* the worker's parse when it came along: the same result as parsing
		 * the datagram again, for a fraction of the cost */
		const char *data = payload, *parse = data + h->len + h->replaced_len;
		int rc = h->parsed_len
			     ? sip_msg_unpack(&d->ctl_msg, data, h->len, parse, h->parsed_len)
			     : sip_parse(&d->ctl_msg, data, h->len, NULL);
		/* an INVITE with Replaces or Join comes from the worker holding
		 * the dialog it names; its call is its home worker's */
		unsigned home = h->home ? h->home - 1 : worker;
		if (rc != 0 || home >= d->nworkers)
			return;
		uint32_t auth_key;
		const char *key = parse - sizeof(auth_key);
		if (h->replaced_len > sizeof(auth_key) &&
		    sip_session_unpack(&d->ctl_replaced, data + h->len, key) == key) {
			memcpy(&auth_key, key, sizeof(auth_key));
			ctl_on_replacing_invite(d->ctl, home, &d->ctl_msg, &d->ctl_replaced,
						auth_key, (const struct sockaddr *)&h->peer,
						h->peer_len, x->now);
		} else {
			ctl_on_datagram(d->ctl, home, &d->ctl_msg,
					(const struct sockaddr *)&h->peer, h->peer_len, x->now);
		}
	} else if (h->type == DMSG_DIALOG_ENDED) {
		ctl_on_dialog_ended(d->ctl, worker, h->slot, h->gen,
				    (enum ctl_end_reason)h->reason);
	} else if (h->type == DMSG_FIRST_FORK_ENDED) {
		ctl_on_first_fork_ended(d->ctl, worker, h->slot, h->gen);
	} else if (h->type == DMSG_QUERY_DIALOG || h->type == DMSG_QUERY_DONE) {
		dialogs_on_reply(d, worker, h, payload, x->now);
	} else if (h->type == DMSG_SENT_FINAL) {
		dialogs_on_final(d, worker, h);
	}
}

/* True when the pass ended on its bound: messages may be waiting. */
static bool ctl_drain(struct daemon *d, uint64_t now)
{
	struct ctl_drain_ctx x = {d, now};

	return ring_drain_fair(d->evts, d->nworkers, sizeof(struct dmsg_hdr), CTL_DRAIN_TURN,
			       CTL_DRAIN_PASS, ctl_on_event, &x) == CTL_DRAIN_PASS;
}

/* Each worker whose copy of the routes' credentials is stale gets the
 * policy's (orig.h: a worker may not read the policy, which a reload frees):
 * one DMSG_CREDS per route, with or without auth (a route without has an
 * empty username, so that a call of it finds none), with its targets' keys
 * (a call's names its route and target) and addresses (for a call whose key
 * no route has any more: renamed, or given other targets), in order, only
 * into a ring with twice their number free; a ring too full for them all is
 * tried again at the next pass, from the first. */
static void push_creds(struct daemon *d)
{
	const struct config *c = policy_config(d->pol);
	uint32_t n = c->nroutes < ORIG_CREDS_MAX ? c->nroutes : ORIG_CREDS_MAX;

	for (uint64_t m = d->creds_stale; m; m &= m - 1) {
		unsigned w = (unsigned)__builtin_ctzll(m);
		struct ring *cmd = d->workers[w].cmd;
		/* a worker that is behind gets them later: they would take the
		 * room its INSTALL and SEND messages need, and a push cut short
		 * starts again from the first entry at the next pass */
		if (cmd->nslots - ring_count(cmd) <= 2 * n)
			continue;
		bool all = true;
		struct dmsg_hdr h = {.type = DMSG_CREDS, .gen = n};
		if (n == 0)
			all = daemon_push_cmd(d, w, &h, NULL, 0) == 0;
		for (uint32_t i = 0; i < n && all; i++) {
			const struct config_route *r = &c->routes[i];
			struct orig_cred e;
			orig_cred_of_route(r, &e);
			h.slot = i;
			h.len = sizeof(e);
			all = daemon_push_cmd(d, w, &h, &e, sizeof(e)) == 0;
		}
		if (all)
			d->creds_stale &= ~(1ull << w);
	}
}

/* A policy from daemon_set_policy, put into service between two batches. */
static void ctl_take_policy(struct daemon *d, uint64_t now_ms)
{
	struct policy *next = atomic_exchange(&d->pending_pol, NULL);

	if (!next)
		return;
	policy_inherit(next, d->pol, now_ms * 1000000u);
	ctl_set_policy(d->ctl, next);
	policy_destroy(d->pol);
	d->pol = next;
	d->creds_stale = d->nworkers >= 64 ? ~0ull : (1ull << d->nworkers) - 1;
	/* a reload is when log rotation expects files to be opened again */
	atomic_store(&d->cdr_reopen, true);
	const struct config *c = policy_config(next);
	log_info("policy in service: %u routes, %u ACL rules (default %s), max_calls %u, "
		 "%u calls in progress carried over",
		 c->nroutes, c->nacl, c->acl_default_allow ? "allow" : "deny", c->limits.max_calls,
		 policy_calls(next));
}

void daemon_reopen_cdr(struct daemon *d)
{
	atomic_store(&d->cdr_reopen, true);
}

/* The controller thread, between two batches: the file opened again when a
 * reload asked (rotation: the old one moved away, the next record goes to a
 * new one at the configured path). */
static void ctl_take_cdr_reopen(struct daemon *d)
{
	if (atomic_exchange(&d->cdr_reopen, false) && cdr_reopen(&d->cdr) == 0 && d->cdr.fd >= 0)
		log_info("cdr_file %s opened again", d->cdr.path);
}

static void ctl_wake(struct daemon *d)
{
	uint64_t one = 1;
	if (d->ctl_wake_fd >= 0 && write(d->ctl_wake_fd, &one, sizeof(one)) < 0)
		(void)0; /* the controller polls every 10 ms anyway */
}

void daemon_set_policy(struct daemon *d, struct policy *pol)
{
	struct policy *old = atomic_exchange(&d->pending_pol, pol);

	policy_destroy(old); /* never taken: the controller only sees the newest */
	ctl_wake(d);
}

bool daemon_reload_request(struct daemon *d)
{
	return atomic_exchange(&d->reload_requested, false);
}

void daemon_reload_answer(struct daemon *d, bool requested, json_t *report)
{
	if (!requested) {
		json_decref(report);
		return;
	}
	atomic_store(&d->reload_report, report);
	ctl_wake(d);
}

/* Controller thread: the main thread's answer to a sipshardctl reload, once
 * it is there. */
static void ctl_send_reload_answer(struct daemon *d)
{
	if (!d->reload_waiting)
		return;
	json_t *report = atomic_exchange(&d->reload_report, NULL);
	if (!report)
		return; /* not reloaded yet */
	d->reload_waiting = false;
	mgmt_answer(d->mgmt, d->reload_ticket, report);
}

/* ---- Prometheus metrics (controller thread) -------------------------------- */

/* The statistics in the Prometheus text format (malloc'd; metrics.h). */
static char *metrics_text(void *arg)
{
	json_t *stats = daemon_stats_json(arg);
	char *text = stats ? metrics_format(stats) : NULL;
	json_decref(stats);
	return text;
}

static void *controller_main(void *arg)
{
	struct daemon *d = arg;
	/* the wake fd, the management sockets, then the workers' sockets
	 * whose queue of the controller's datagrams waits for room */
	struct pollfd pfds[1 + MGMT_LISTENERS + MGMT_MAX_CLIENTS + SHARD_MAX_WORKERS];
	uint64_t last_stats = 0;
	bool backlog = false; /* the last pass left messages in the rings */

	while (!atomic_load(&d->stop)) {
		pfds[0] = (struct pollfd){.fd = d->ctl_wake_fd, .events = POLLIN};
		int n = 1 + (d->mgmt ? mgmt_poll_fds(d->mgmt, pfds + 1,
						     MGMT_LISTENERS + MGMT_MAX_CLIENTS)
				     : 0);
		int nfds = n, timeout = backlog ? 0 : 10;
		for (unsigned i = 0; i < d->nworkers; i++) {
			short ev = net_sendq_poll_events(d->ctl_out[i].q, &timeout);
			if (ev)
				pfds[nfds++] =
				    (struct pollfd){.fd = d->workers[i].fd, .events = ev};
		}
		if (poll(pfds, (nfds_t)nfds, timeout) > 0 && (pfds[0].revents & POLLIN)) {
			uint64_t v;
			if (read(d->ctl_wake_fd, &v, sizeof(v)) < 0)
				(void)0;
		}
		uint64_t now = clock_mono_ms();
		if (d->mgmt) {
			mgmt_service(d->mgmt, pfds + 1, n - 1, now);
			ctl_send_reload_answer(d);
		}
		ctl_take_policy(d, now);
		ctl_take_cdr_reopen(d);
		push_creds(d);
		ctl_set_draining(d->ctl, atomic_load(&d->draining));
		backlog = ctl_drain(d, now);
		ctl_on_tick(d->ctl, now);
		dialogs_tick(d, now);
		ctl_flush_all(d);
		cdr_flush(&d->cdr); /* the records of this pass: one write */
		struct ctl_stats cs;
		ctl_get_stats(d->ctl, &cs);
		atomic_store(&d->calls_up, cs.calls_active);
		if (d->stats_file && now - last_stats >= 1000) {
			daemon_write_stats(d, d->stats_file);
			last_stats = now;
		}
	}
	return NULL;
}

/* ---- startup ---------------------------------------------------------------- */

static struct ring *ring_new(unsigned slots)
{
	struct ring *r = NULL;
	if (ring_create(&r, slots, RING_SLOT_SIZE) != 0)
		return NULL;
	return r;
}

uint32_t daemon_handoff_slots(unsigned nworkers)
{
	uint32_t share, slots = DAEMON_HANDOFF_MIN_SLOTS;

	if (nworkers < 2)
		return 0;
	/* rounded down to a power of two (ring_create would round up past the
	 * budget) */
	share = DAEMON_HANDOFF_BUDGET_SLOTS / (nworkers - 1);
	while (slots * 2 <= share)
		slots *= 2;
	return slots;
}

int daemon_open_handoffs(struct daemon *d)
{
	uint32_t slots = daemon_handoff_slots(d->nworkers);

	for (unsigned i = 0; i < d->nworkers; i++) {
		struct worker *w = &d->workers[i];
		w->handoff_in = calloc(d->nworkers, sizeof(*w->handoff_in));
		if (!w->handoff_in)
			return -ENOMEM;
		/* with steering too: a datagram the program could not place
		 * (handle_sip) is passed on */
		for (unsigned j = 0; j < d->nworkers; j++)
			if (j != i && !(w->handoff_in[j] = ring_new(slots)))
				return -ENOMEM;
	}
	return 0;
}

void daemon_close_handoffs(struct daemon *d)
{
	for (unsigned i = 0; d->workers && i < d->nworkers; i++) {
		struct worker *w = &d->workers[i];
		for (unsigned j = 0; w->handoff_in && j < d->nworkers; j++)
			ring_destroy(w->handoff_in[j]);
		free(w->handoff_in);
		w->handoff_in = NULL;
	}
}

static int open_worker_sockets(struct daemon *d)
{
	/* SO_REUSEPORT would let a second sipshardd (or anything else of the same
	 * user) silently share the port and take a share of the traffic: a plain
	 * bind first proves the port is free. A process that was just killed can
	 * hold it a little longer than it lives: the kernel closes sockets still
	 * referenced by its io_uring after the process is gone (6 to 21 ms after
	 * its parent's wait, in six tries), so a start waits up to BIND_WAIT_MS. */
	enum { BIND_WAIT_MS = 2000, BIND_STEP_MS = 10 };
	int probe = udp_socket_bind(&d->cfg->listen_addr, d->cfg->listen_addr_len, false);
	for (unsigned waited = 0; probe == -EADDRINUSE && waited < BIND_WAIT_MS;
	     waited += BIND_STEP_MS) {
		if (waited == 0)
			log_info("%s is in use: waiting up to %u ms for it to be free (the sockets "
				 "of a process just stopped may close a moment after it)",
				 d->cfg->listen, (unsigned)BIND_WAIT_MS);
		nanosleep(&(struct timespec){0, BIND_STEP_MS * 1000000L}, NULL);
		probe = udp_socket_bind(&d->cfg->listen_addr, d->cfg->listen_addr_len, false);
	}
	if (probe < 0) {
		log_error("cannot bind %s: %s%s", d->cfg->listen, strerror(-probe),
			  mgmt_bind_hint(probe, "UDP"));
		return probe;
	}
	close(probe);
	for (unsigned i = 0; i < d->nworkers; i++) {
		int fd = udp_socket_bind(&d->cfg->listen_addr, d->cfg->listen_addr_len, true);
		if (fd < 0) {
			log_error("cannot bind %s: %s", d->cfg->listen, strerror(-fd));
			return fd;
		}
		d->workers[i].fd = fd;
		int rc = net_sendq_open(&d->ctl_out[i].q, fd, CTL_SENDQ_BYTES, CTL_SENDQ_DGRAMS,
					ctl_send_refused, d);
		if (rc)
			return rc;
	}
	return 0;
}

static void try_bpf(struct daemon *d)
{
	char err[256];
	int fds[SHARD_MAX_WORKERS];

	d->bpf_steering = false;
	if (!d->cfg->bpf || d->nworkers < 2) {
		if (d->nworkers >= 2)
			log_info("BPF steering off (--no-bpf): userspace handoff between workers");
		return;
	}
	int rc = steer_open(&d->steer, err, sizeof(err));
	if (rc) {
		log_warn("BPF steering unavailable, using userspace handoff: %s", err);
		return;
	}
	for (unsigned i = 0; i < d->nworkers; i++)
		fds[i] = d->workers[i].fd;
	rc = steer_attach(d->steer, fds, d->nworkers);
	if (rc) {
		log_warn("BPF steering could not attach, using userspace handoff: %s",
			 steer_error(d->steer));
		steer_close(d->steer);
		d->steer = NULL;
		return;
	}
	d->bpf_steering = true;
	/* Datagrams that came between binding the sockets and attaching were
	 * spread by the kernel's own hash; they are not dropped: a worker that
	 * does not own one passes it on by its parsed Call-ID (handle_sip), as
	 * it does any datagram the program could not place. */
	log_info("BPF steering attached: %u workers, %u buckets", d->nworkers, SHARD_NBUCKETS);
}

/* The file of shard i's tables: RUN_DIR/shard-I.tbl. */
static int shard_file(const struct daemon *d, unsigned i, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/shard-%u.tbl", d->cfg->run_dir, i);
	return (n < 0 || (size_t)n >= cap) ? -ENAMETOOLONG : 0;
}

/* Shard i's long-head pool (shard/table.h): RUN_DIR/shard-I.heads. */
static int heads_file(const struct daemon *d, unsigned i, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/shard-%u.heads", d->cfg->run_dir, i);
	return (n < 0 || (size_t)n >= cap) ? -ENAMETOOLONG : 0;
}

/* The controller's set-up records: RUN_DIR/setups.tbl. */
static int setups_file(const struct daemon *d, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/setups.tbl", d->cfg->run_dir);
	return (n < 0 || (size_t)n >= cap) ? -ENAMETOOLONG : 0;
}

/* --discard-dialogs: removes the file at path, if any, saying what is lost. */
static int discard_file(const char *path, const char *lost)
{
	int rc = mem_file_remove(path);
	if (rc == -ENOENT)
		return 0;
	if (rc)
		log_error("--discard-dialogs: cannot remove %s: %s", path,
			  rc == -EBUSY ? "in use by another sipshardd" : strerror(-rc));
	else
		log_info("removed %s (--discard-dialogs): %s", path, lost);
	return rc;
}

/*
 * The long-head pools (RUN_DIR/shard-N.heads) this run will never open:
 * every one when capacity.long_heads_per_shard is 0, else those of shards it
 * does not have (more workers before; the start refuses a table of such a
 * shard, so only a pool without its table comes here). A pool holds only
 * the heads of its table's transactions in flight (seconds), which a table
 * opened without its pool treats as lost; kept, the file would hold its
 * tmpfs memory for as long as it stays. Removed with an info line; one
 * another sipshardd holds stays.
 */
static void drop_unused_pools(const struct daemon *d)
{
	char path[CONFIG_PATH_MAX + 32];
	bool none = d->cfg->capacity.long_heads_per_shard == 0;
	DIR *dir = opendir(d->cfg->run_dir);
	if (!dir)
		return;
	struct dirent *e;
	while ((e = readdir(dir))) {
		unsigned n;
		int end = 0;
		/* only the names heads_file makes ("shard-01.heads" is someone else's) */
		if (sscanf(e->d_name, "shard-%u.heads%n", &n, &end) != 1 || e->d_name[end] ||
		    heads_file(d, n, path, sizeof(path)) != 0 ||
		    strcmp(strrchr(path, '/') + 1, e->d_name) != 0 || (!none && n < d->nworkers))
			continue;
		int rc = mem_file_remove(path);
		if (!rc && none)
			log_info("removed %s: capacity.long_heads_per_shard is 0, so no long-head "
				 "pool is used (the responses its transactions waited for, if any, "
				 "are dropped)",
				 path);
		else if (!rc)
			log_info("removed %s: the long-head pool of shard %u, which this run (%u "
				 "workers) does not have",
				 path, n, d->nworkers);
		else if (rc != -ENOENT)
			log_warn("%s is not used by this run, but cannot be removed: %s", path,
				 rc == -EBUSY ? "in use by another sipshardd" : strerror(-rc));
	}
	closedir(dir);
}

/*
 * With persist_dialogs, shard i's tables live in RUN_DIR/shard-I.tbl, so that
 * a daemon killed and started again re-attaches them and keeps relaying its
 * calls (README.md's invariant 7). run_dir is this user's and no one else's
 * to write (own_run_dir). A file of a shard this run will not have (fewer workers
 * than before) stops the start, as its calls would be dropped without a word;
 * so do files of fewer shards than this run has (more workers than before):
 * a call's datagrams go to the owner of its Call-ID's bucket, bucket % workers,
 * which would then mostly be a worker whose table does not hold it (481).
 * --discard-dialogs removes every shard file first. A start that goes on
 * removes the long-head pools it will not use (drop_unused_pools).
 */
static int prepare_run_dir(struct daemon *d)
{
	char path[CONFIG_PATH_MAX + 32];
	int rc = 0;
	DIR *dir = opendir(d->cfg->run_dir);
	if (!dir) {
		rc = -errno;
		log_error("run_dir %s: %s", d->cfg->run_dir, strerror(-rc));
		return rc;
	}
	struct dirent *e;
	unsigned files = 0; /* 1 + the highest shard with a file */
	while ((e = readdir(dir))) {
		unsigned n;
		int end = 0;
		/* a long-head pool holds only the heads of its table's
		 * transactions: it goes with them, and alone is harmless (a
		 * start frees its slots) */
		if (d->discard_dialogs && sscanf(e->d_name, "shard-%u.heads%n", &n, &end) == 1 &&
		    !e->d_name[end] && heads_file(d, n, path, sizeof(path)) == 0 &&
		    strcmp(strrchr(path, '/') + 1, e->d_name) == 0) {
			rc = discard_file(path,
					  "the responses its transactions wait for are dropped");
			if (rc)
				break;
			continue;
		}
		end = 0;
		/* only the names shard_file makes ("shard-01.tbl" is someone else's) */
		if (sscanf(e->d_name, "shard-%u.tbl%n", &n, &end) != 1 || e->d_name[end] ||
		    shard_file(d, n, path, sizeof(path)) != 0 ||
		    strcmp(strrchr(path, '/') + 1, e->d_name) != 0)
			continue;
		if (d->discard_dialogs) {
			rc = discard_file(path, "its calls are not relayed any more");
			if (rc)
				break;
		} else if (n >= d->nworkers) {
			log_error(
			    "%s holds the calls of shard %u, but this run has %u workers: start "
			    "with at least %u workers to keep relaying them, or with "
			    "--discard-dialogs to drop them",
			    path, n, d->nworkers, n + 1);
			rc = -EEXIST;
			break;
		} else if (n + 1 > files) {
			files = n + 1;
		}
	}
	closedir(dir);
	if (!rc && !d->discard_dialogs && files && files < d->nworkers) {
		log_error("%s holds the tables of %u workers, but this run has %u: a call's "
			  "datagrams would reach another worker than the one holding it (481); "
			  "start with %u workers to keep relaying them, or with "
			  "--discard-dialogs to drop them",
			  d->cfg->run_dir, files, d->nworkers, files);
		rc = -EEXIST;
	}
	if (!rc && d->discard_dialogs && setups_file(d, path, sizeof(path)) == 0)
		rc = discard_file(path, "its calls in set-up are dropped");
	if (!rc)
		drop_unused_pools(d);
	return rc;
}

/*
 * run_dir, whatever persist_dialogs: it holds the management socket (by
 * default), which another user could unlink and replace with a listener of
 * their own that sipshardctl would talk to, and the shard files a start takes
 * up (persist_dialogs) or removes (drop_persisted), which they could plant.
 * So a directory that another user owns, or that others may write to, stops
 * the start (examples/CONFIG.md, run_dir); a missing one is made, mode 0700.
 */
static int own_run_dir(const struct daemon *d)
{
	char err[CONFIG_PATH_MAX + 128];
	int rc = files_own_dir(d->cfg->run_dir, "run_dir", err, sizeof(err));
	if (rc)
		log_error("%s", err);
	return rc;
}

/*
 * persist_dialogs false: the files a run with it on left in run_dir (after a
 * SIGKILL, a crash, a SIGINT with calls up) are removed. This run answers 481
 * to their calls, so they end meanwhile; kept, they would hold their tmpfs
 * memory (setups.tbl is wholly in memory) for as long as this run lasts, and
 * a later start with persist_dialogs on would take those calls up long after
 * they ended, sending BYEs to their peers when their timers ran out. A file
 * another sipshardd holds is its own and stays.
 */
static void drop_persisted(const struct daemon *d)
{
	char path[CONFIG_PATH_MAX + 32];
	DIR *dir = opendir(d->cfg->run_dir);
	if (!dir)
		return; /* none: nothing left */
	struct dirent *e;
	while ((e = readdir(dir))) {
		unsigned n;
		int end = 0, rc = -ENOENT;
		if (strcmp(e->d_name, "setups.tbl") == 0)
			rc = setups_file(d, path, sizeof(path));
		else if (sscanf(e->d_name, "shard-%u.tbl%n", &n, &end) == 1 && !e->d_name[end])
			rc = shard_file(d, n, path, sizeof(path));
		else if ((end = 0, sscanf(e->d_name, "shard-%u.heads%n", &n, &end) == 1) &&
			 !e->d_name[end])
			rc = heads_file(d, n, path, sizeof(path));
		/* only the names this build makes ("shard-01.tbl" is someone else's) */
		if (rc || strcmp(strrchr(path, '/') + 1, e->d_name) != 0)
			continue;
		rc = mem_file_remove(path);
		if (!rc)
			log_warn(
			    "persist_dialogs is false: removed %s, which a run with it on left "
			    "(the calls it held are not relayed by this run)",
			    path);
		else if (rc != -ENOENT)
			log_info("persist_dialogs is false: left %s as it is: %s", path,
				 rc == -EBUSY ? "in use by another sipshardd" : strerror(-rc));
	}
	closedir(dir);
}

/* What the file at path may still take of its file system once it is
 * size bytes: its size less the blocks it holds, when it has that size
 * already (a restart's file), else all of it. */
static uint64_t file_room_needed(const char *path, size_t size)
{
	struct stat st;

	if (stat(path, &st) != 0 || (uint64_t)st.st_size != size)
		return size;
	uint64_t held = (uint64_t)st.st_blocks * 512;
	return held < size ? size - held : 0;
}

/*
 * The files of run_dir are sparse: a dialog slot's pages are taken when a
 * call first uses it, the set-up records' at the start. On a file system
 * without room for them (a tmpfs such as /run is sized at a share of
 * memory) the write to such a page raises SIGBUS, and the process dies at
 * its start or under load, then again after each restart on the same
 * tables. So the start is refused, before any file is mapped, unless the
 * file system can hold what the files may take.
 */
static int check_run_dir_room(const struct daemon *d)
{
	char path[CONFIG_PATH_MAX + 32];
	size_t table = shard_table_bytes(d->cfg->capacity.dialogs_per_shard,
					 d->cfg->capacity.transactions_per_shard);
	size_t heads = shard_heads_bytes(d->cfg->capacity.long_heads_per_shard);
	size_t records = ctl_records_bytes(d->cfg->capacity.setups);
	uint64_t more = 0, size = 0;
	struct statvfs vfs;

	/* each worker's tables and long-head pool, then the set-up records */
	for (unsigned i = 0; i <= 2 * d->nworkers; i++) {
		unsigned w = i / 2;
		bool pool = i < 2 * d->nworkers && i % 2;
		size_t want = w == d->nworkers ? records : pool ? heads : table;
		int rc = w == d->nworkers ? setups_file(d, path, sizeof(path))
			 : pool		  ? heads_file(d, w, path, sizeof(path))
					  : shard_file(d, w, path, sizeof(path));
		if (rc)
			return rc;
		if (!want)
			continue; /* no pool: no file */
		size += want;
		more += file_room_needed(path, want);
	}
	if (statvfs(d->cfg->run_dir, &vfs) != 0)
		return 0; /* nothing to compare with: as before */
	uint64_t room = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	if (more <= room)
		return 0;
	/* the files grow with the workers: with "workers": 0 (one per CPU) a
	 * run_dir sized on a smaller host is refused here, so name that lever */
	log_error("run_dir %s: %" PRIu64 " MiB free, but its files (%" PRIu64
		  " MiB, sparse: %u workers x %zu MiB, and %zu MiB of set-up records) may "
		  "take %" PRIu64 " MiB more as calls arrive, and a call "
		  "written to a page the file system cannot hold kills the process (SIGBUS): "
		  "give it more room, or run fewer workers, or lower capacity.setups, "
		  "capacity.dialogs_per_shard, capacity.transactions_per_shard and "
		  "capacity.long_heads_per_shard, or set persist_dialogs to false",
		  d->cfg->run_dir, room >> 20, size >> 20, d->nworkers, (table + heads) >> 20,
		  records >> 20, more >> 20);
	return -ENOSPC;
}

static const char *eligible_word(int rc)
{
	return rc > 0 ? "yes" : rc == 0 ? "no" : "unknown";
}

/* A shard table from this size up, on small pages, is worth a warning. */
#define DAEMON_TABLE_WARN_BYTES ((size_t)2 << 30)

/* What memory the pools took and whether huge pages back them: a fresh daemon
 * takes a burst of new calls best with both, and a relay with many calls up
 * runs faster with them (README, "Memory"). */
static void log_memory(struct daemon *d)
{
/* in run_dir, both take huge pages only on a tmpfs that gives files them */
#define HUGE_HOW "a run_dir on a tmpfs mounted with huge=advise gives them"
	struct ctl_pool pool;
	char mode[32];
	const struct shard_table *t = &d->workers[0].table;
	bool file = d->cfg->persist_dialogs;
	const char *in = file ? "in " : "";
	const char *where = file ? d->cfg->run_dir : "(not kept across restarts)";

	ctl_get_pool(d->ctl, &pool);
	int records = mem_huge_eligible(pool.base), tables = mem_huge_eligible(t->hdr);
	log_info("set-up records: %u x %zu KiB %s%s, %zu MiB in memory from the start; huge "
		 "pages: %s (transparent_hugepage %s%s)",
		 pool.records, pool.record_bytes >> 10, in, where,
		 ((size_t)pool.records * pool.record_bytes) >> 20, eligible_word(records),
		 mem_thp_mode(mode, sizeof(mode)), records == 0 && file ? "; " HUGE_HOW : "");
	/* Tables sized for this many calls on small pages can slow the relay
	 * once many calls are up, by how much depending on the host: at 1M calls
	 * (2 x 4.6 GiB) bench/compare.sh measured 1.6-1.8x the rate on huge
	 * pages in the 10 s after the calls were set up on one AMD EPYC host
	 * (family 26), each call's first request then being the slow one, and
	 * no fall at all on another (family 25) (README, "Memory"); so such a
	 * start says so at warn level, as a risk, not a certainty. */
	bool small_pages = tables == 0 && file;
	bool slow = small_pages && t->map_len >= DAEMON_TABLE_WARN_BYTES;
	log_msg(slow ? LOG_LVL_WARN : LOG_LVL_INFO,
		"dialog tables: %u x %zu MiB %s%s, taken as calls arrive; huge pages: %s%s%s",
		d->nworkers, t->map_len >> 20, in, where, eligible_word(tables),
		small_pages ? " (" HUGE_HOW ")" : "",
		slow ? "; on small pages, tables this large can slow the first request of each "
		       "call that was quiet a while, on some hosts by half (README, \"Memory\")"
		     : "");
	if (t->heads)
		log_info("long-head pools: %u x %u slots of %u KiB (%zu MiB) %s%s, taken only by "
			 "requests whose response lines exceed %u bytes",
			 d->nworkers, t->heads->nslots, SHARD_HEAD_SLOT_MAX >> 10,
			 t->heads_len >> 20, in, where, SHARD_TXN_HEAD_MAX);
	if (d->nworkers > 1) {
		uint32_t slots = daemon_handoff_slots(d->nworkers);
		size_t rings = (size_t)d->nworkers * (d->nworkers - 1);
		size_t ring_bytes = (size_t)slots * d->workers[0].handoff_in[1]->slot_size;
		log_info("handoff rings: %zu (one from each worker to each other) x %u slots of "
			 "%zu KiB, %zu MiB, taken as datagrams are handed over",
			 rings, slots, (size_t)d->workers[0].handoff_in[1]->slot_size >> 10,
			 (rings * ring_bytes) >> 20);
	}
#undef HUGE_HOW
}

/* Maps worker w's shard tables (a file when persist_dialogs is on), saying
 * what to do about a file that cannot be re-attached. */
static int open_shard_table(struct daemon *d, struct worker *w)
{
	char path[CONFIG_PATH_MAX + 32] = "", heads[CONFIG_PATH_MAX + 32] = "";
	uint32_t ndlg = d->cfg->capacity.dialogs_per_shard;
	uint32_t ntxn = d->cfg->capacity.transactions_per_shard;
	uint32_t nheads = d->cfg->capacity.long_heads_per_shard;
	bool file = d->cfg->persist_dialogs;
	int rc = file ? shard_file(d, w->id, path, sizeof(path)) : 0;

	if (!rc && file)
		rc = heads_file(d, w->id, heads, sizeof(heads));
	if (!rc)
		rc = shard_table_open_heads(&w->table, file ? path : NULL, file ? heads : NULL,
					    ndlg, ntxn, nheads);
	if (!rc) {
		struct shard_table_usage u;
		shard_table_usage(&w->table, &u);
		if (w->table.heads_renewed)
			log_warn("shard %u: %s was written for another "
				 "capacity.long_heads_per_shard or build: made anew, the "
				 "transactions whose response lines it held are dropped",
				 w->id, heads);
		if (u.reattach_dropped)
			log_warn("shard %u: %u malformed records in %s freed", w->id,
				 u.reattach_dropped, path);
		return 0;
	}
	if (file && w->table.heads_failed)
		/* the table is fine: its long-head pool is not (a file of another
		 * user's, a directory in its place) */
		log_error("shard %u: cannot map its long-head pool %s (%u slots): %s", w->id, heads,
			  nheads, rc == -EBUSY ? "in use by another sipshardd" : strerror(-rc));
	else if (file && rc == -EINVAL)
		log_error(
		    "shard %u: %s was written with other capacities "
		    "(capacity.dialogs_per_shard, capacity.transactions_per_shard) or by "
		    "another build of sipshardd: restore them to keep its calls, or start with "
		    "--discard-dialogs to drop them",
		    w->id, path);
	else if (file && rc == -EBUSY)
		log_error("shard %u: %s is in use by another sipshardd", w->id, path);
	else if (file)
		log_error("shard %u: cannot map %s (%u dialogs): %s", w->id, path, ndlg,
			  strerror(-rc));
	else
		log_error("shard %u: cannot map its tables (%u dialogs): %s", w->id, ndlg,
			  strerror(-rc));
	return rc;
}

/* The controller, with the set-up records the last run left (persist_dialogs):
 * their calls are taken up before the workers re-attach their tables, so
 * that the early dialogs of those calls are kept. */
static int open_controller(struct daemon *d, const struct ctl_hooks *hooks)
{
	char path[CONFIG_PATH_MAX + 32] = "";
	bool file = d->cfg->persist_dialogs;
	int rc = file ? setups_file(d, path, sizeof(path)) : 0;

	if (!rc)
		rc = ctl_open(&d->ctl, d->cfg, d->pol, d->nworkers,
			      d->cfg->capacity.dialogs_per_shard, hooks, file ? path : NULL,
			      clock_mono_ms());
	if (rc)
		return rc;
	const struct shard_table **tables = calloc(d->nworkers, sizeof(*tables));
	if (!tables)
		return -ENOMEM;
	for (unsigned i = 0; i < d->nworkers; i++)
		tables[i] = &d->workers[i].table;
	uint32_t n = ctl_restore(d->ctl, tables, clock_mono_ms());
	free(tables);
	struct ctl_stats st;
	ctl_get_stats(d->ctl, &st);
	if (n)
		log_info("took up %u calls that were setting up when the last run stopped (%s)", n,
			 path);
	if (st.setups_malformed)
		log_warn("%s: %" PRIu64 " malformed set-up records freed", path,
			 st.setups_malformed);
	return 0;
}

/* The workers' I/O backend: "io_uring" or "recvmmsg" when they all use it,
 * "mixed" when some fell back alone (net_io_uring_refused: logged), "none"
 * before they have one. Each worker's is in its stats' io object. */
static const char *daemon_io_backend(const struct daemon *d)
{
	const char *all = NULL;

	for (unsigned i = 0; d->workers && i < d->nworkers; i++) {
		if (!d->workers[i].io)
			return "none";
		const char *b = net_io_backend(d->workers[i].io);
		if (all && strcmp(all, b) != 0)
			return "mixed";
		all = b;
	}
	return all ? all : "none";
}

int daemon_start(struct daemon *d)
{
	int rc;

	d->cdr.fd = -1; /* before anything can fail: daemon_stop closes it */
	d->workers = calloc(d->nworkers, sizeof(*d->workers));
	d->ctl_out = calloc(d->nworkers, sizeof(*d->ctl_out));
	d->evts = calloc(d->nworkers, sizeof(*d->evts));
	/* the controller's first pass gives every worker the credentials */
	d->creds_stale = d->nworkers >= 64 ? ~0ull : (1ull << d->nworkers) - 1;
	if (!d->workers || !d->ctl_out || !d->evts)
		return -ENOMEM;
	for (unsigned i = 0; i < d->nworkers; i++)
		d->workers[i].wake_fd = -1;
	for (unsigned b = 0; b < SHARD_NBUCKETS; b++)
		d->bucket_owner[b] = b % d->nworkers;
	rc = open_worker_sockets(d);
	if (rc)
		return rc;
	try_bpf(d);
	d->ctl_wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (d->ctl_wake_fd < 0)
		return -errno;

	rc = daemon_open_handoffs(d);
	if (rc)
		return rc;
	uint32_t ndlg = d->cfg->capacity.dialogs_per_shard;
	rc = own_run_dir(d);
	if (rc)
		return rc;
	if (d->cfg->persist_dialogs) {
		rc = prepare_run_dir(d);
		if (!rc)
			rc = check_run_dir_room(d);
		if (rc)
			return rc;
	} else {
		drop_persisted(d);
	}
	for (unsigned i = 0; i < d->nworkers; i++) {
		struct worker *w = &d->workers[i];
		w->id = i;
		w->d = d;
		rc = open_shard_table(d, w);
		if (rc)
			return rc;
		/* 10 ms ticks: the dialogs due in one tick fire together, so the
		 * keep-alive's rounds go out in bursts of (rate x tick); at 100 ms,
		 * 1900 OPTIONS at a time delayed the calls' own requests by 20 ms
		 * (bench/results/keepalive_wheel_tick_ab.txt) */
		rc = wheel_init(&w->wheel, ndlg, 10, clock_mono_ms());
		if (rc) {
			log_error("shard %u: cannot set up its timers: %s", i, strerror(-rc));
			return rc;
		}
		w->relay.table = &w->table;
		w->relay.shard = (uint8_t)i;
		w->relay.advertise = d->cfg->advertise;
		w->relay.session_timer = d->cfg->timers.session_timer;
		w->relay.min_se_s = d->cfg->timers.min_se_s;
		w->relay.strip = config_strip_set(d->cfg);
		w->relay.rewrite_refer_to = d->cfg->rewrite_refer_to;
		w->relay.ended_seed = rng_seed((uint64_t)(uintptr_t)&w->relay);
		w->relay.t1_ms = d->cfg->timers.t1_ms;
		w->relay.t2_ms = d->cfg->timers.t2_ms;
		orig_init(&w->orig, (uint8_t)i, rng_seed(i), d->cfg->timers.t1_ms,
			  d->cfg->timers.t2_ms);
		w->orig.tx_cap = d->cfg->tx_buffer_size;
		/* command and event rings hold every dialog's end notice at worst */
		w->cmd = ring_new(1024);
		w->evt = ring_new(4096);
		d->evts[i] = w->evt;
		if (!w->cmd || !w->evt)
			return -ENOMEM;
		struct net_io_config nc = {
		    .fd = w->fd,
		    .nbufs = 4096,
		    /* RFC 3261 18.1.1: a UDP request may be larger than 2 KiB (an
		     * INVITE with video and ICE lines often is); DMSG_DATA_MAX is the
		     * most any path beyond here takes. Larger ones are counted
		     * (drops.too_large) */
		    .buf_size = DMSG_DATA_MAX,
		    .ntx = 4096,
		    .tx_size = d->cfg->tx_buffer_size,
		    .no_uring = !d->cfg->io_uring,
		};
		rc = net_io_open(&w->io, &nc);
		if (rc) {
			log_error("worker %u: cannot set up I/O: %s", i, strerror(-rc));
			return rc;
		}
		/* the kernel or a sandbox refused io_uring (io_uring_disabled,
		 * seccomp, memory): said with the step and why, per worker, as
		 * each may fall back alone */
		const char *step;
		int refused = net_io_uring_refused(w->io, &step);
		if (refused)
			log_warn(
			    "worker %u: io_uring unavailable (%s: %s): using recvmmsg/sendmmsg", i,
			    step, strerror(-refused));
		/* blocking: io_uring reads it (io.h) */
		w->wake_fd = eventfd(0, EFD_CLOEXEC);
		rc = w->wake_fd < 0 ? -errno : net_io_set_wake(w->io, w->wake_fd);
		if (rc) {
			log_error("worker %u: cannot set up its wake-up: %s", i, strerror(-rc));
			return rc;
		}
	}
	log_info("I/O backend: %s", daemon_io_backend(d));
	struct ctl_hooks hooks = {
	    d, hook_send, hook_install, hook_release, NULL, hook_send_after_install};
	if (d->cfg->cdr_file[0]) {
		char err[400];
		rc = cdr_open(&d->cdr, d->cfg->cdr_file, err, sizeof(err));
		if (rc) {
			log_error("%s", err);
			return rc;
		}
		hooks.cdr = hook_cdr;
		log_info("call detail records to %s", d->cfg->cdr_file);
	}
	rc = open_controller(d, &hooks);
	if (rc)
		return rc;
	log_memory(d);
	for (unsigned i = 0; i < d->nworkers; i++) {
		struct worker *w = &d->workers[i];
		worker_reattach(w, clock_mono_ms());
		uint32_t n = ctl_adopt(d->ctl, i, &w->table, clock_mono_ms());
		if (n || w->st.setups_dropped)
			log_info("shard %u: carried over %u calls from the last run (%" PRIu64
				 " early dialogs of calls no longer setting up: dropped)",
				 i, n, w->st.setups_dropped);
	}
	if (d->cfg->management_socket[0] || d->cfg->metrics_listen[0]) {
		char err[400] = "out of memory";
		rc = mgmt_create(&d->mgmt, d);
		if (!rc && d->cfg->management_socket[0])
			rc = mgmt_listen_unix(d->mgmt, d->cfg->management_socket, commands_handle,
					      err, sizeof(err));
		if (!rc && d->cfg->metrics_listen[0])
			rc = mgmt_listen_metrics(d->mgmt,
						 (const struct sockaddr *)&d->cfg->metrics_addr,
						 d->cfg->metrics_addr_len, d->cfg->metrics_listen,
						 metrics_text, err, sizeof(err));
		if (rc) {
			log_error("%s", err);
			return rc;
		}
		if (d->cfg->management_socket[0])
			log_info("management socket %s", d->cfg->management_socket);
		if (d->cfg->metrics_listen[0])
			log_info("metrics at http://%s/metrics", d->cfg->metrics_listen);
	}
	for (unsigned i = 0; i < d->nworkers; i++) {
		rc = pthread_create(&d->workers[i].thread, NULL, worker_main, &d->workers[i]);
		if (rc)
			return -rc;
		/* named, so that top -H and perf tell each thread's share */
		char name[16];
		/* i < SHARD_MAX_WORKERS: the modulo only shows the compiler it fits */
		snprintf(name, sizeof(name), "sipshard-w%u", i % SHARD_MAX_WORKERS);
		pthread_setname_np(d->workers[i].thread, name);
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(i % (unsigned)sysconf(_SC_NPROCESSORS_ONLN), &set);
		pthread_setaffinity_np(d->workers[i].thread, sizeof(set), &set);
	}
	rc = pthread_create(&d->ctl_thread, NULL, controller_main, d);
	if (!rc)
		pthread_setname_np(d->ctl_thread, "sipshard-ctl");
	return -rc;
}

void daemon_stop(struct daemon *d)
{
	atomic_store(&d->stop, true);
	if (d->ctl_thread)
		pthread_join(d->ctl_thread, NULL);
	for (unsigned i = 0; d->workers && i < d->nworkers; i++)
		if (d->workers[i].thread)
			pthread_join(d->workers[i].thread, NULL);
	/* the calls still up end here, in the CDRs (a start that never served,
	 * with no controller thread, carried none of those it took over: they
	 * go to the next start; once, each failed start wrote them a record),
	 * and every record written counts in the final stats */
	if (d->ctl_thread)
		ctl_end_open_cdrs(d->ctl);
	cdr_flush(&d->cdr);
	/* a start that failed has no controller to count anything */
	if (d->stats_file && d->ctl)
		daemon_write_stats(d, d->stats_file);
	policy_destroy(atomic_exchange(&d->pending_pol, NULL));
	json_decref(atomic_exchange(&d->reload_report, NULL)); /* a reload's, never sent */
	mgmt_close(d->mgmt);
	json_decref(d->query.dialogs); /* a dialogs command cut short */
	d->query.dialogs = NULL;
	free(d->query.targets);
	d->query.targets = NULL;
	d->mgmt = NULL;
	for (unsigned i = 0; d->workers && i < d->nworkers; i++) {
		struct worker *w = &d->workers[i];
		if (w->io)
			net_io_close(w->io);
		if (w->wake_fd >= 0)
			close(w->wake_fd);
		ring_destroy(w->cmd);
		ring_destroy(w->evt);
		shard_table_close(&w->table);
		wheel_destroy(&w->wheel);
	}
	daemon_close_handoffs(d);
	if (d->steer)
		steer_close(d->steer);
	for (unsigned i = 0; d->ctl_out && i < d->nworkers; i++) {
		if (d->ctl_out[i].q && net_sendq_pending(d->ctl_out[i].q)) /* a last try */
			(void)net_sendq_flush(d->ctl_out[i].q);
		net_sendq_close(d->ctl_out[i].q);
	}
	for (unsigned i = 0; d->workers && i < d->nworkers; i++)
		if (d->workers[i].fd > 0)
			close(d->workers[i].fd);
	ctl_close(d->ctl);
	d->ctl = NULL;
	cdr_close(&d->cdr);
	free(d->workers);
	d->workers = NULL;
	free(d->ctl_out);
	d->ctl_out = NULL;
	free(d->evts);
	d->evts = NULL;
}

/* ---- statistics ----------------------------------------------------------------- */

static json_t *methods_json(const uint64_t *counts)
{
	json_t *o = json_object();
	for (int m = 0; m < SIP_METHOD_COUNT_; m++)
		if (counts[m])
			json_object_set_new(o, m ? sip_method_name((enum sip_method)m) : "other",
					    json_integer((json_int_t)counts[m]));
	return o;
}

#define JI(o, k, v) json_object_set_new((o), (k), json_integer((json_int_t)(v)))
/* A worker's counter, read from the controller thread (core/counter.h) */
#define JC(o, k, c) JI((o), (k), counter_get(&(c)))

/* Each registration by name: whether it holds a binding, for how long yet,
 * the last attempt's final status, whether the last 2xx did not list its
 * Contact; and the counters of them all. */
static void registrations_json(struct daemon *d, json_t *c, uint64_t now)
{
	const struct reg_set *rs = ctl_registrations(d->ctl);
	json_t *up = json_object(), *left = json_object(), *last = json_object();
	json_t *unlisted = json_object();

	for (unsigned i = 0; i < rs->n; i++) {
		const struct reg_entry *e = &rs->e[i];
		bool on = reg_is_registered(e, now);
		json_object_set_new(up, e->cfg.name, json_boolean(on));
		JI(left, e->cfg.name, reg_expires_in_s(e, now));
		JI(last, e->cfg.name, e->last_status);
		json_object_set_new(unlisted, e->cfg.name, json_boolean(e->contact_unlisted));
	}
	json_object_set_new(c, "registration_registered", up);
	json_object_set_new(c, "registration_expires_in_s", left);
	json_object_set_new(c, "registration_last_status", last);
	json_object_set_new(c, "registration_contact_unlisted", unlisted);
	JI(c, "registers_sent", rs->st.sent);
	JI(c, "registers_retransmitted", rs->st.retransmitted);
	JI(c, "registers_answered_2xx", rs->st.registered);
	JI(c, "register_2xx_contact_unlisted", rs->st.contact_unlisted);
	JI(c, "register_attempts_failed", rs->st.failed);
	JI(c, "register_challenges_answered", rs->st.auth_answered);
	JI(c, "register_responses_dropped", rs->st.dropped_stale);
	JI(c, "unregisters_started", rs->st.unreg_started);
	JI(c, "unregisters_answered_2xx", rs->st.unreg_done);
	JI(c, "unregisters_failed", rs->st.unreg_failed);
	JI(c, "unregisters_superseded", rs->st.unreg_superseded);
}

/* "target_calls", "target_down", "target_invites", "target_answered",
 * "target_rejected" and "target_unanswered": a member per target of the
 * policy in force, named by its address; "target_options_rtt_ms": one per
 * target that has answered an OPTIONS (probe or keep-alive). */
static void targets_json(struct daemon *d, json_t *c)
{
	struct ctl_target_info t[CONFIG_MAX_ROUTES * CONFIG_MAX_TARGETS];
	char addr[UDP_ADDR_STRLEN];
	json_t *calls = json_object(), *down = json_object(), *rtt = json_object();
	json_t *invites = json_object(), *answered = json_object(), *rejected = json_object(),
	       *unanswered = json_object(), *disabled = json_object();

	size_t n = ctl_get_targets(d->ctl, t, sizeof(t) / sizeof(t[0]));
	for (size_t i = 0; i < n && i < sizeof(t) / sizeof(t[0]); i++) {
		udp_format_addr((const struct sockaddr *)&t[i].addr, addr, sizeof(addr));
		JI(calls, addr, t[i].calls);
		json_object_set_new(down, addr, json_boolean(t[i].down));
		if (t[i].rtt_ms >= 0)
			JI(rtt, addr, t[i].rtt_ms);
		JI(invites, addr, t[i].invites);
		JI(answered, addr, t[i].answered);
		JI(rejected, addr, t[i].rejected);
		JI(unanswered, addr, t[i].unanswered);
		json_object_set_new(disabled, addr, json_boolean(t[i].disabled));
	}
	json_object_set_new(c, "target_calls", calls);
	json_object_set_new(c, "target_down", down);
	json_object_set_new(c, "target_options_rtt_ms", rtt);
	json_object_set_new(c, "target_invites", invites);
	json_object_set_new(c, "target_answered", answered);
	json_object_set_new(c, "target_rejected", rejected);
	json_object_set_new(c, "target_unanswered", unanswered);
	json_object_set_new(c, "target_disabled", disabled);
}

json_t *daemon_stats_json(struct daemon *d)
{
	json_t *root = json_object(), *ws = json_array(), *tot = json_object();
	uint64_t relayed[SIP_METHOD_COUNT_] = {0};
	uint64_t too_large = 0; /* the workers' part of controller.rejected_too_large */

	for (unsigned i = 0; i < d->nworkers; i++) {
		const struct worker_stats *s = &d->workers[i].st;
		json_t *o = json_object();
		JI(o, "id", i);
		JC(o, "rx", s->rx);
		JC(o, "rx_bad", s->rx_bad);
		JC(o, "rx_foreign", s->rx_foreign);
		JC(o, "handoff_in", s->handoff_in);
		JC(o, "handoff_drop", s->handoff_drop);
		JC(o, "to_controller", s->to_controller);
		JC(o, "sent", s->sent);
		JC(o, "sent_for_controller", s->sent_for_controller);
		JC(o, "answered_400", s->answered_400);
		JC(o, "answered_505", s->answered_505);
		JC(o, "dialogs_installed", s->dialogs_installed);
		JC(o, "installs_refused", s->installs_refused);
		JC(o, "dialogs_ended", s->dialogs_ended);
		JC(o, "dialogs_expired", s->dialogs_expired);
		JC(o, "dialogs_session_expired", s->dialogs_session_expired);
		JC(o, "dialogs_gone", s->dialogs_gone);
		JC(o, "dialogs_reattached", s->dialogs_reattached);
		JC(o, "setups_dropped_at_reattach", s->setups_dropped);
		JC(o, "replaces_handed", s->replaces_handed);
		JC(o, "replaces_matched", s->replaces_matched);
		JC(o, "replaces_unmatched", s->replaces_unmatched);
		JC(o, "replaces_refused", s->replaces_refused);
		too_large += counter_get(&s->rejected_too_large);
		JC(o, "relayed_responses", d->workers[i].relay.relayed_resp);
		JC(o, "responses_503_sent_as_500", d->workers[i].relay.resp_503_as_500);
		JC(o, "answered_2xx", d->workers[i].relay.answered[2]);
		JC(o, "answered_4xx", d->workers[i].relay.answered[4]);
		JC(o, "answered_5xx", d->workers[i].relay.answered[5]);
		JC(o, "session_too_brief", d->workers[i].relay.session_too_brief);
		JC(o, "long_head_full", d->workers[i].relay.long_head_full);
		JC(o, "responses_too_large", d->workers[i].relay.responses_too_large);
		JC(o, "invites_given_up", d->workers[i].relay.invites_given_up);
		JC(o, "long_heads_evicted", d->workers[i].table.heads_evicted);
		JC(o, "bye_replayed", d->workers[i].relay.bye_replayed);
		JC(o, "pending_replayed", d->workers[i].relay.pending_replayed);
		JC(o, "pending_ended", d->workers[i].relay.pending_ended);
		JC(o, "pending_487_resent", d->workers[i].relay.pending_487_resent);
		JC(o, "pending_487_unacknowledged", d->workers[i].relay.pending_487_unacknowledged);
		JC(o, "pending_487_overwritten", d->workers[i].relay.pending_487_overwritten);
		JC(o, "late_finals_acked", d->workers[i].relay.late_finals_acked);
		JC(o, "target_refresh_too_long", d->workers[i].relay.target_refresh_too_long);
		JC(o, "transactions_evicted", d->workers[i].table.txns_evicted);
		JC(o, "transactions_expired", s->txns_expired);
		JC(o, "refer_notifies_answered", d->workers[i].relay.refer_notifies);
		JC(o, "refer_to_rewritten", d->workers[i].relay.refer_to_rewritten);
		JC(o, "refer_to_kept", d->workers[i].relay.refer_to_kept);
		JC(o, "refer_to_refused", d->workers[i].relay.refer_to_refused);
		JC(o, "refer_to_malformed", d->workers[i].relay.refer_to_malformed);
		JC(o, "referred_by_rewritten", d->workers[i].relay.referred_by_rewritten);
		JC(o, "referred_by_kept", d->workers[i].relay.referred_by_kept);
		JC(o, "transfers_timed_out", s->transfers_timed_out);
		JC(o, "dialog_queries", s->dialog_queries);
		const struct orig_stats *b = &d->workers[i].orig.st;
		json_t *orig = json_object();
		JC(orig, "sent", b->sent);
		JC(orig, "retransmitted", b->retransmitted);
		JC(orig, "answered", b->answered);
		JC(orig, "provisionals", b->provisional);
		JC(orig, "unanswered", b->unanswered);
		JC(orig, "overwritten", b->overwritten);
		JC(orig, "call_ended", b->call_ended);
		JC(orig, "stray_responses", b->stray);
		JC(orig, "challenges_answered", b->challenges_answered);
		JC(orig, "challenges_no_credentials",
		   b->challenges_refused[ORIG_AUTH_NO_CREDENTIALS]);
		JC(orig, "challenges_unanswerable", b->challenges_refused[ORIG_AUTH_UNANSWERABLE]);
		JC(orig, "challenges_refused", b->challenges_refused[ORIG_AUTH_REFUSED]);
		json_object_set_new(o, "originated", orig);
		json_t *ka = json_object();
		JC(ka, "sent", s->keepalives_sent);
		JC(ka, "answered", s->keepalives_answered);
		JC(ka, "missed", s->keepalives_missed);
		JC(ka, "stray_responses", s->keepalives_stray);
		JC(ka, "provisionals", s->keepalives_provisional);
		JC(ka, "retransmissions", s->keepalives_retransmitted);
		JC(ka, "calls_ended", s->dialogs_keepalive_failed);
		json_object_set_new(o, "keepalive", ka);
		json_t *drops = json_object();
		static const char *const why[RELAY_DROP_COUNT_] = {
		    [RELAY_DROP_ACK_NO_DIALOG] = "ack_no_dialog",
		    [RELAY_DROP_RESP_NO_TXN] = "response_not_ours",
		    [RELAY_DROP_RESP_STALE] = "response_stale",
		    [RELAY_DROP_LATE_RETRANS] = "late_retransmission",
		    [RELAY_DROP_NO_BUFFER] = "no_buffer",
		    [RELAY_DROP_ACK_MAX_FORWARDS] = "ack_max_forwards",
		    [RELAY_DROP_ACK_LOCAL_ANSWER] = "ack_of_local_answer",
		    [RELAY_DROP_CANCEL_ANSWER] = "cancel_answered",
		    [RELAY_DROP_RESP_DIALOG_ENDED] = "response_dialog_ended",
		};
		for (int k = 1; k < RELAY_DROP_COUNT_; k++)
			JC(drops, why[k], d->workers[i].relay.drops[k]);
		JC(drops, "unparsable", s->dropped_unparsable);
		JC(drops, "tx_no_buffer", s->tx_no_buffer);
		JC(drops, "handoff_ring_full", s->handoff_drop);
		JC(drops, "controller_ring_full", s->ctl_ring_full);
		/* a 2xx for the caller larger than tx_buffer_size, sent
		 * directly, put off while sends before it wait for room: the
		 * callee's retransmission of it goes */
		JC(drops, "controller_send_deferred", s->ctl_send_deferred);
		if (d->workers[i].io) {
			struct net_io_stats ns;
			net_io_get_stats(d->workers[i].io, &ns);
			JI(drops, "too_large", ns.rx_truncated);
			/* the worker fell behind and the kernel dropped them at
			 * its socket's full receive queue: never read, so in no
			 * other counter */
			JI(drops, "socket_queue_full", ns.rx_socket_drops);
			/* a datagram the kernel refused to send (no route, a
			 * broadcast or unusable address in a Contact, EPERM from a
			 * firewall): counted in sent, but it never left */
			JI(drops, "send_refused", ns.tx_errors);
			json_t *io = json_object();
			/* io_uring ran out of receive buffers: the kernel dropped
			 * or held datagrams meanwhile */
			JI(io, "receive_buffers_exhausted", ns.rx_enobufs);
			JI(io, "receive_errors", ns.rx_errors);
			/* sends the kernel gave back for want of memory: sent
			 * again after a wait, not dropped (net/backoff.h) */
			JI(io, "send_enobufs", ns.tx_enobufs);
			/* io_uring: sends that left ahead of an earlier one the
			 * send buffer had no room for, in the submit that found
			 * it full; from then on they keep their order */
			JI(io, "sends_reordered", ns.tx_reordered);
			json_object_set_new(io, "backend",
					    json_string(net_io_backend(d->workers[i].io)));
			json_object_set_new(o, "io", io);
		}
		json_object_set_new(o, "drops", drops);
		uint64_t by_method[SIP_METHOD_COUNT_];
		counter_copy(by_method, d->workers[i].relay.relayed_req, SIP_METHOD_COUNT_);
		json_object_set_new(o, "relayed_requests", methods_json(by_method));
		for (int m = 0; m < SIP_METHOD_COUNT_; m++)
			relayed[m] += by_method[m];
		json_array_append_new(ws, o);
	}
	json_object_set_new(root, "workers", ws);
	json_object_set_new(tot, "relayed_requests", methods_json(relayed));
	json_object_set_new(root, "totals", tot);

	struct ctl_stats cs;
	ctl_get_stats(d->ctl, &cs);
	json_t *c = json_object();
	JI(c, "invites", cs.invites);
	JI(c, "calls_answered", cs.calls_answered);
	JI(c, "calls_failed", cs.calls_failed);
	JI(c, "calls_cancelled", cs.calls_cancelled);
	JI(c, "calls_timeout", cs.calls_timeout);
	JI(c, "calls_active", cs.calls_active);
	JI(c, "rejected_acl", cs.rejected_acl);
	JI(c, "rejected_rate", cs.rejected_rate);
	JI(c, "rejected_limit", cs.rejected_limit);
	JI(c, "rejected_no_route", cs.rejected_no_route);
	JI(c, "rejected_capacity", cs.rejected_capacity);
	JI(c, "rejected_draining", cs.rejected_draining);
	JI(c, "rejected_loop", cs.rejected_loop);
	JI(c, "rejected_session_too_brief", cs.rejected_session_too_brief);
	JI(c, "rejected_too_large", cs.rejected_too_large + too_large);
	JI(c, "options", cs.options);
	JI(c, "ood_answered", cs.ood_answered);
	JI(c, "answered_481", cs.answered_481);
	JI(c, "invite_retrans", cs.invite_retrans);
	JI(c, "acks_absorbed", cs.acks_absorbed);
	JI(c, "dropped_unknown_response", cs.dropped_unknown_response);
	JI(c, "dropped_unmatched", cs.dropped_unmatched);
	JI(c, "dialogs_ended", cs.dialogs_ended);
	JI(c, "cdrs", cs.cdrs);
	JI(c, "linger_evicted", cs.linger_evicted);
	JI(c, "completed_evicted", cs.completed_evicted);
	JI(c, "answers_deferred", cs.answers_deferred);
	JI(c, "answers_too_large", cs.answers_too_large);
	JI(c, "early_installs_retried", cs.early_installs_retried);
	JI(c, "failovers", cs.failovers);
	JI(c, "targets_marked_down", cs.targets_marked_down);
	JI(c, "targets_retry_after", cs.targets_retry_after);
	JI(c, "target_503_sent_as_500", cs.target_503_sent_as_500);
	JI(c, "targets_down", cs.targets_down);
	JI(c, "rejected_target_full", cs.rejected_target_full);
	JI(c, "rejected_no_target", cs.rejected_no_target);
	JI(c, "probes_sent", cs.probes_sent);
	JI(c, "probes_answered", cs.probes_answered);
	JI(c, "keepalives_sent", cs.keepalives_sent);
	JI(c, "keepalives_answered", cs.keepalives_answered);
	JI(c, "keepalives_missed", cs.keepalives_missed);
	JI(c, "stale_answers_ended", cs.stale_answers_ended);
	JI(c, "stale_finals_acked", cs.stale_finals_acked);
	JI(c, "stale_provisionals_cancelled", cs.stale_provisionals_cancelled);
	JI(c, "cancel_reasons_dropped", cs.cancel_reasons_dropped);
	JI(c, "fork_provisionals_pracked", cs.fork_provisionals_pracked);
	JI(c, "pracked_forks_forgotten", cs.pracked_forks_forgotten);
	JI(c, "fork_dialogs", cs.fork_dialogs);
	JI(c, "forks_refused", cs.forks_refused);
	JI(c, "fork_dialogs_ended", cs.fork_dialogs_ended);
	JI(c, "first_forks_ended", cs.first_forks_ended);
	JI(c, "late_provisionals", cs.late_provisionals);
	JI(c, "provisionals_100", cs.provisionals_100);
	JI(c, "cancel_responses", cs.cancel_responses);
	JI(c, "late_provisionals_cancelled", cs.late_provisionals_cancelled);
	JI(c, "given_up_forgotten", cs.given_up_forgotten);
	JI(c, "stale_requests_retransmitted", cs.stale_requests_retransmitted);
	JI(c, "stale_requests_answered", cs.stale_requests_answered);
	JI(c, "stale_requests_unanswered", cs.stale_requests_unanswered);
	JI(c, "stale_requests_untracked", cs.stale_requests_untracked);
	JI(c, "stale_responses_absorbed", cs.stale_responses_absorbed);
	JI(c, "auth_answered", cs.auth_answered);
	JI(c, "auth_refused", cs.auth_refused);
	JI(c, "session_interval_raised", cs.session_interval_raised);
	JI(c, "setups_restored", cs.setups_restored);
	JI(c, "setups_malformed", cs.setups_malformed);
	struct net_sendq_stats sq;
	JI(c, "send_refused", ctl_sendq_totals(d, &sq));
	/* found the send buffer full: waited in the queue for room */
	JI(c, "send_waited", sq.waited);
	/* the queue full while the socket took nothing: the oldest dropped */
	JI(c, "send_queue_full", sq.dropped_full);
	/* the kernel short of memory: sent again after a wait */
	JI(c, "send_enobufs", sq.enobufs);
	targets_json(d, c);
	registrations_json(d, c, clock_mono_ms());
	json_object_set_new(root, "controller", c);

	json_t *rl = json_object();
	JI(rl, "applied", atomic_load(&d->reloads));
	JI(rl, "failed", atomic_load(&d->reload_failures));
	json_object_set_new(root, "reloads", rl);
	json_object_set_new(root, "draining", json_boolean(atomic_load(&d->draining)));
	if (d->cdr.fd >= 0) {
		json_t *co = json_object();
		JI(co, "written", d->cdr.written);
		JI(co, "lost", d->cdr.errors);
		json_object_set_new(root, "cdr_file", co);
	}
	if (d->mgmt) {
		struct mgmt_stats ms;
		mgmt_get_stats(d->mgmt, &ms);
		json_t *mo = json_object();
		JI(mo, "requests", ms.requests);
		JI(mo, "errors", ms.errors);
		JI(mo, "dropped", ms.dropped);
		json_object_set_new(root, "management", mo);
	}

	json_t *st = json_object();
	json_object_set_new(st, "attached", json_boolean(d->bpf_steering));
	if (d->steer) {
		struct steer_counters sc;
		if (steer_read_counters(d->steer, &sc) == 0) {
			JI(st, "steered", sc.reason[STEER_CNT_STEERED]);
			JI(st, "no_callid", sc.reason[STEER_CNT_NO_CALLID]);
			JI(st, "too_short", sc.reason[STEER_CNT_TOO_SHORT]);
			JI(st, "select_failed", sc.reason[STEER_CNT_SELECT_FAILED]);
			JI(st, "not_udp", sc.reason[STEER_CNT_NOT_UDP]);
			JI(st, "load_failed", sc.reason[STEER_CNT_LOAD_FAILED]);
			JI(st, "empty", sc.reason[STEER_CNT_EMPTY]);
			json_t *pw = json_array();
			for (unsigned i = 0; i < d->nworkers; i++)
				json_array_append_new(pw, json_integer((json_int_t)sc.worker[i]));
			json_object_set_new(st, "per_worker", pw);
		}
		/* 0 and 0 unless BPF run-time statistics are on */
		uint64_t run_ns, runs;
		if (steer_read_run_time(d->steer, &run_ns, &runs) == 0) {
			JI(st, "run_time_ns", run_ns);
			JI(st, "runs", runs);
		}
	}
	json_object_set_new(root, "steering", st);
	json_object_set_new(root, "io", json_string(daemon_io_backend(d)));
	return root;
}

int daemon_write_json_file(const json_t *doc, const char *path, bool *failing)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	errno = EIO; /* json_dump_file fails through stdio, which sets errno */
	int rc = json_dump_file(doc, tmp, JSON_INDENT(1)) == 0 ? 0 : errno ? -errno : -EIO;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc) {
		/* the copy cut short would hold the room the next write needs (a
		 * full disk), and stay beside the file after the daemon */
		unlink(tmp);
		/* once, not every second: the file keeps the last whole document,
		 * so a reader cannot tell it stopped changing */
		if (!*failing)
			log_error("--stats-file %s: cannot write it, it keeps the statistics of "
				  "the last write that succeeded: %s",
				  path, strerror(-rc));
		*failing = true;
		return rc;
	}
	if (*failing)
		log_info("--stats-file %s: written again", path);
	*failing = false;
	return 0;
}

int daemon_write_stats(struct daemon *d, const char *path)
{
	json_t *root = daemon_stats_json(d);
	int rc = daemon_write_json_file(root, path, &d->stats_failing);
	json_decref(root);
	return rc;
}
