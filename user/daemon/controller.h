/*
 * controller.h - the controller: out-of-dialog requests, policy, call setup.
 *
 * Owns: ACL, rate and call limits, routes (through ctl/policy), where a call
 * that replaces or joins a dialog of ours goes (its other leg's party, which
 * the worker holding it names: it cannot read the tables itself), the INVITE
 * server transaction towards leg A and the INVITE client transaction towards
 * leg B with RFC 3261 timers (A/B on leg B, G/H for non-2xx finals on leg A),
 * CANCEL, choosing leg B's Call-ID in leg A's bucket, reserving dialog slots
 * and telling the owning worker to install the dialog. Does not own: shard
 * tables (it never writes them: it sends commands, invariant 2), sockets
 * (it sends through a callback), in-dialog relay.
 *
 * It is driven by ctl_on_datagram() and ctl_on_tick() from one thread; the
 * effects leave through the hooks, which makes it testable without threads.
 *
 * Call detail records (when hooks.cdr is set): one JSON object per call that
 * got as far as an INVITE to leg B, written when its outcome is known: a
 * failed, cancelled or timed-out call at its final response, an answered one
 * when its dialog ends (the worker says why), or when the controller closes.
 * Members: call_id, leg_b_call_id, from, to, request_uri (URIs as sent, at
 * most 200 bytes, bytes outside printable ASCII as '?'), source, route (null
 * for a call that replaces or joins one of ours: ctl_on_replacing_invite),
 * target (the address leg B's INVITE went to), start (the INVITE), answer, end (UTC, ISO 8601 with
 * milliseconds), disposition (answered, failed, cancelled, timeout), status (null for a call
 * still setting up when the daemon stopped: ctl_end_open_cdrs), setup_ms, duration_ms
 * (answer to end), end_reason (bye_caller, bye_callee, idle_timeout, max_duration, operator,
 * session_expired, keepalive_failed, dialog_gone, released, no_dialog, daemon_stopped).
 */
#ifndef SIPSHARD_CONTROLLER_H
#define SIPSHARD_CONTROLLER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ctl/config.h"
#include "ctl/policy.h"
#include "shard/table.h"
#include "sipshard/sip.h"

struct ctl_hooks {
	void *arg;
	/* sends a datagram from shard's socket */
	void (*send)(void *arg, unsigned shard, const char *buf, size_t len,
		     const struct sockaddr *to, socklen_t tolen);
	/* tells shard's worker to install (or update) a dialog at dlg->slot;
	 * session_expires_s: the session interval (RFC 4028) that the callee's
	 * 2xx confirming the call gave it, 0 = none (an early dialog's install) */
	int (*install)(void *arg, unsigned shard, const struct shard_dialog *dlg,
		       uint32_t session_expires_s);
	/* tells shard's worker to free a dialog that was installed early */
	int (*release)(void *arg, unsigned shard, uint32_t slot, uint32_t gen);
	/* writes one call detail record: a JSON object and "\n" (NULL: no CDRs) */
	void (*cdr)(void *arg, const char *line, size_t len);
	/* sends a datagram from shard's socket once that worker has applied the
	 * commands given before (an install), and after every datagram given to
	 * send before it: the 2xx that makes the caller use a dialog must not
	 * reach it before the dialog is in the table, or a crash in between loses
	 * a call the caller thinks is up, nor before the call's 18x. 0, -EMSGSIZE
	 * when it is too large to be queued (then send is used), or another
	 * negative code when the ring is full or datagrams given to send before
	 * it still wait for room in the socket (NULL: send is used) */
	int (*send_after_install)(void *arg, unsigned shard, const char *buf, size_t len,
				  const struct sockaddr *to, socklen_t tolen);
};

/* Counters, all monotonic. */
struct ctl_stats {
	uint64_t invites, calls_answered, calls_failed, calls_cancelled, calls_timeout;
	uint64_t rejected_acl, rejected_rate, rejected_limit, rejected_no_route, rejected_capacity,
	    rejected_loop, rejected_draining;
	/* rejected_loop: 483 (Max-Forwards 0), 482 (the INVITE of a call in set-up
	 * by another branch: a merged request), 500 (another INVITE with its
	 * Call-ID and From tag before its final) */
	uint64_t rejected_session_too_brief; /* 422: a session interval below timers.min_se_s */
	/* 513: leg B's INVITE (or the caller's Via, From, To, Call-ID and CSeq
	 * lines kept for its responses) would not fit its record; 400: its
	 * Call-ID or From tag would not (127 and 63 bytes), nor a URI of the
	 * dialog's record (From, To, Contact: 255) or its Record-Route set as
	 * the record's Route line (511) */
	uint64_t rejected_too_large;
	uint64_t options, ood_answered, acks_absorbed, dropped_unknown_response, dropped_unmatched,
	    invite_retrans;
	/* requests answered 481 here: a CANCEL that matches no INVITE of a call
	 * in set-up (an in-dialog one naming no re-INVITE too, which the worker
	 * hands over), a request with a To tag for no dialog, a BYE without
	 * one (unless out_of_dialog names BYE) */
	uint64_t answered_481;
	uint64_t calls_active, dialogs_ended, cdrs;
	uint64_t linger_evicted; /* answered records freed early for a new INVITE */
	/* records of calls refused or failed, waiting for the caller's ACK,
	 * freed early for a new INVITE (evict_completed) */
	uint64_t completed_evicted;
	/* 2xx responses not taken, or not sent to the caller, because the
	 * worker's command ring was full (or, not sent, because datagrams sent
	 * before it still waited for room); the callee's retransmission is
	 * taken (see ctl_hooks.send_after_install) */
	uint64_t answers_deferred;
	/* callee responses that would make leg B's dialog (a 2xx, a reliable
	 * provisional) whose Contact URI (255 bytes), Record-Route set as the
	 * record's Route line (511) or To tag (63) would not fit the dialog's
	 * record: a 2xx ACKed and ended with a BYE, a provisional's INVITE
	 * CANCELled, the caller answered 502 */
	uint64_t answers_too_large;
	/* early dialogs pushed to their worker again on a tick: the install
	 * that went with the 18x was refused (a full ring) or lost at a restart */
	uint64_t early_installs_retried;
	/* records of calls setting up when the last process stopped: taken up
	 * (ctl_restore), or freed as malformed */
	uint64_t setups_restored, setups_malformed;
	/* leg B INVITEs sent on to a route's next target (routes[].targets) */
	uint64_t failovers;
	/* targets found silent (routes[].down_s), and how many new calls skip now
	 * (found silent, or out for a Retry-After) */
	uint64_t targets_marked_down, targets_down;
	/* 503s with Retry-After from a target to leg B's INVITE, each of which
	 * took the target out of service for that long (RFC 3261 21.5.4, RFC
	 * 3263 4.3; at most CTL_RETRY_AFTER_MAX_S) */
	uint64_t targets_retry_after;
	/* a target's 503 to leg B's INVITE that ended the call (no target left
	 * to fail over to, or 503 not in failover_on): the caller got 500
	 * instead, without the Retry-After (RFC 3261 16.7 item 6) */
	uint64_t target_503_sent_as_500;
	/* INVITEs answered 503 because every target of their route was full
	 * (targets[].max_calls, max_cps) or disabled */
	uint64_t rejected_target_full;
	/* INVITEs answered 503 because their route had no target in service:
	 * a dns_refresh_s found its SRV records all "." (config_in_service) */
	uint64_t rejected_no_target;
	/* OPTIONS sent to targets that are down (routes[].probe_s), and answered */
	uint64_t probes_sent, probes_answered;
	/* OPTIONS sent to targets that are up (routes[].keepalive_s), answered,
	 * and left unanswered for failover_ms (the target then went down) */
	uint64_t keepalives_sent, keepalives_answered, keepalives_missed;
	/* 2xx answers from targets a call had failed over from: ACKed and ended
	 * with a BYE */
	uint64_t stale_answers_ended;
	/* their non-2xx finals, retransmitted there: ACKed again */
	uint64_t stale_finals_acked;
	/* their provisionals (the INVITE left there after failover_ms rings
	 * after all): answered with a CANCEL */
	uint64_t stale_provisionals_cancelled;
	/* Reason lines of callers' CANCELs not passed on to leg B's CANCEL:
	 * malformed, or beyond SETUP_REASON_MAX bytes of them (left out whole) */
	uint64_t cancel_reasons_dropped;
	/* reliable provisionals (RFC 3262) of a fork other than the one the
	 * caller's early dialog stands for: PRACKed here, not relayed */
	uint64_t fork_provisionals_pracked;
	/* forks with such provisionals a call stopped remembering, the place
	 * taken by another (more than 8 per call): a copy of one is taken for
	 * a new provisional */
	uint64_t pracked_forks_forgotten;
	/* forks of leg B other than the first given an early dialog of their
	 * own toward the caller (a To tag of ours each); refused one (beyond
	 * CTL_FORKS_MAX per call, no free slot, a full ring): handled as
	 * before, in the first fork's early dialog (its reliable provisionals
	 * PRACKed here, counted above); fork early dialogs ended by their
	 * worker (a release once another fork answered, a BYE, expiry) */
	uint64_t fork_dialogs;
	uint64_t forks_refused;
	uint64_t fork_dialogs_ended;
	/* the call's own early dialog (the first fork's) ended by a BYE while
	 * another fork rang in one of its own: its slot kept for that fork */
	uint64_t first_forks_ended;
	/* provisionals to leg B's INVITE once the call had its final (or its
	 * answer): dropped */
	uint64_t late_provisionals;
	/* 100 (Trying) to leg B's INVITE while it rings: hop by hop, it stops
	 * Timer A and is not relayed */
	uint64_t provisionals_100;
	/* responses on leg B's INVITE branch with CSeq method CANCEL: the
	 * answers to leg B's CANCEL (and copies of them), which end here */
	uint64_t cancel_responses;
	/* provisionals (but 100) to a leg B INVITE sipshard had given up on
	 * itself (Timer B; its CANCEL unanswered by Timer F; its target left at
	 * failover_ms and the call's record gone since): answered with a CANCEL
	 * of that INVITE, which could not go before a provisional came (RFC 3261
	 * 9.1); and such INVITEs forgotten within 64*T1 of their end because
	 * CTL_GIVEN_UP_MAX newer ones came (a provisional of theirs is then an
	 * unknown response) */
	uint64_t late_provisionals_cancelled, given_up_forgotten;
	/* the CANCELs and BYEs above are transactions of their own (detached.h):
	 * retransmissions sent, those answered, those that reached Timer F
	 * unanswered, and those sent once untracked (a full table); and the
	 * responses to them that came after their final, within Timer K
	 * (copies of that final: dropped) */
	uint64_t stale_requests_retransmitted, stale_requests_answered, stale_requests_unanswered,
	    stale_requests_untracked, stale_responses_absorbed;
	/* 401/407 to leg B's INVITE answered with the route's credentials
	 * (routes[].auth), and those not answered (credentials refused, no
	 * challenge the route can answer): the caller gets 403 */
	uint64_t auth_answered, auth_refused;
	/* 422 to leg B's INVITE, whose Session-Expires sipshard had added
	 * (timers.session_expires_s), answered with an INVITE asking for the
	 * callee's Min-SE */
	uint64_t session_interval_raised;
};

struct ctl;

/* setups_path: the file that keeps the set-up records across restarts
 * (RUN_DIR/setups.tbl with persist_dialogs), or NULL for memory only. When it
 * holds records of the last run, call ctl_restore before anything else.
 * now_mono_ms: the clock every other entry point is given, as it reads now
 * (the records' timers count from it). */
int ctl_open(struct ctl **out, const struct config *cfg, struct policy *pol, unsigned nshards,
	     uint32_t dialogs_per_shard, const struct ctl_hooks *hooks, const char *setups_path,
	     uint64_t now_mono_ms);
/* Frees c. The CDRs of calls still up are not written (ctl_end_open_cdrs):
 * a start that failed after it took calls over (ctl_adopt) carried none of
 * them, and the next start takes them over again. */
void ctl_close(struct ctl *c);
/* Writes the CDR of each call still up, end_reason "daemon_stopped": the
 * part of the call this process carried, when it stops after serving; and,
 * with the set-up records in memory (no next process takes them up), that
 * of each call still setting up, end_reason "daemon_stopped" and "status"
 * null. Each once. */
void ctl_end_open_cdrs(struct ctl *c);

/* One datagram a worker handed over (already parsed by the caller into m). */
void ctl_on_datagram(struct ctl *c, unsigned shard, const struct sip_msg *m,
		     const struct sockaddr *src, socklen_t srclen, uint64_t now_ms);
/*
 * An INVITE without To-tag whose Replaces (RFC 3891) or Join (RFC 3911)
 * header names leg X of a dialog a worker holds, as X's party knows it (the
 * worker's lookup, worker.c); y is that dialog's other leg. The new call goes
 * to y's party, as a request in y's dialog would: Request-URI y's remote
 * target, y's route set as Route, To y's remote URI, sent to y's peer, with
 * the header naming y's dialog as that party knows it (Call-ID y's, to-tag
 * its own tag, y's remote tag; from-tag ours, y's local tag; the other
 * parameters kept, early-only too). No route is chosen and none fails over;
 * draining, ACL, rate and limits.max_calls apply as to any INVITE. The CDR's
 * route is null and its target y's peer address. y_auth_key: the dialog's
 * credentials key when y is its leg B (the callee side of the route its
 * call took), else 0: a 401 or 407 of y's party to the new call's INVITE,
 * and to sipshard's requests in the new call, is answered with that
 * route's credentials while the route still has the target that dialog's
 * call went to (the key names both), else with those of the routes with a
 * target at y's peer when they agree (orig_creds_key_at), and a 422 is
 * answered with its Min-SE, as for any call. shard: the worker that
 * owns m's Call-ID, where the new call's dialog goes (not the one that
 * looked the named dialog up).
 */
void ctl_on_replacing_invite(struct ctl *c, unsigned shard, const struct sip_msg *m,
			     const struct sip_session *y, uint32_t y_auth_key,
			     const struct sockaddr *src, socklen_t srclen, uint64_t now_ms);
/* Timers: call at least every 10 ms. */
void ctl_on_tick(struct ctl *c, uint64_t now_ms);
/* Why a worker freed a dialog (the end_reason of its CDR). */
enum ctl_end_reason {
	CTL_END_RELEASED = 0,	 /* the controller released it (a call that never answered) */
	CTL_END_BYE_CALLER,	 /* a BYE from leg A completed */
	CTL_END_BYE_CALLEE,	 /* a BYE from leg B completed */
	CTL_END_IDLE,		 /* no request for timers.dialog_idle_s */
	CTL_END_MAX_DURATION,	 /* timers.dialog_max_s reached */
	CTL_END_OPERATOR,	 /* sipshardctl bye */
	CTL_END_SESSION_EXPIRED, /* no refresh within the session interval (RFC 4028) */
	CTL_END_KEEPALIVE,	 /* a leg failed the in-dialog keep-alive */
	CTL_END_DIALOG_GONE,	 /* a side answered a request of the call 408 or 481 */
	CTL_END_COUNT_
};

/*
 * After a restart, before the workers run and after ctl_restore and
 * worker_reattach: takes over the calls that shard's re-attached table holds
 * (confirmed dialogs; the worker freed the other ones but those of calls
 * ctl_restore took up, whose slots stay theirs). Their slots leave the pool, every free slot goes
 * back with a generation above the one it had, the calls count as active (and against
 * limits.max_calls), and each gets a CDR that opens now and is written when
 * the worker ends its dialog, with "carried_over": true and the members the
 * first record had (the dialog record's cdr keeps those the legs do not
 * hold: the Request-URI, route, attempts): the process before
 * wrote the part of the call it carried ("daemon_stopped") when it stopped
 * cleanly. Returns the number of calls taken over.
 */
uint32_t ctl_adopt(struct ctl *c, unsigned shard, const struct shard_table *t,
		   uint64_t now_mono_ms);

/*
 * After a restart, right after ctl_open and before worker_reattach and
 * ctl_adopt: takes up the calls that were still setting up when the last
 * process stopped, from the records its file kept. tables[s] is shard s's
 * re-attached table, where an early dialog the worker got is found. A call
 * taken up goes on where it was: the callee's responses find it by leg B's
 * branch, the caller's CANCEL and retransmitted INVITE by its Call-ID and
 * tag, and its timers run on. Its slot stays out of the pool, and its early
 * dialog, if any, is kept (ctl_keeps_dialog). Records of answered calls go on
 * lingering for 2xx retransmissions (ctl_adopt carries their dialogs);
 * malformed ones are freed and counted. Returns the number of calls taken up
 * that were still setting up.
 */
uint32_t ctl_restore(struct ctl *c, const struct shard_table *const *tables, uint64_t now_mono_ms);

/* Whether a dialog of shard's re-attached table lives on, after ctl_restore:
 * a confirmed one, or an early one whose call ctl_restore took up (its
 * record holds that slot and generation). worker_reattach frees the others. */
bool ctl_keeps_dialog(const struct ctl *c, unsigned shard, const struct shard_dialog *d);

/* A worker freed a dialog: slot back to the pool, and the call's CDR written. */
void ctl_on_dialog_ended(struct ctl *c, unsigned shard, uint32_t slot, uint32_t next_gen,
			 enum ctl_end_reason why);
/* The worker kept the call's early dialog in slot/gen, the first fork's,
 * which a BYE ended while another fork rings in an early dialog of its own
 * (shard_dialog_retire_first_fork): the first fork's 2xx is ended, another
 * fork's confirms the call in that slot. */
void ctl_on_first_fork_ended(struct ctl *c, unsigned shard, uint32_t slot, uint32_t gen);
/* While draining, new INVITEs and OPTIONS are answered 503 with Retry-After;
 * calls already set up or setting up go on. */
void ctl_set_draining(struct ctl *c, bool on);
/* Swap the policy (reload); the old one is the caller's to free. */
void ctl_set_policy(struct ctl *c, struct policy *pol);

/* The registrations (registrations[] of the policy in force) and their
 * state, for statistics: read on the controller's thread. */
struct reg_set;
const struct reg_set *ctl_registrations(const struct ctl *c);

void ctl_get_stats(const struct ctl *c, struct ctl_stats *st);

/* The targets of the policy in force, each once (routes may share one): the
 * calls counting on it now and whether new calls skip it as down. */
struct ctl_target_info {
	struct sockaddr_storage addr;
	socklen_t len;
	uint32_t calls;
	bool down;
	/* seconds left (rounded up) of the time a 503 with Retry-After took it
	 * out of service for; 0 when none */
	uint32_t retry_after_s;
	/* the round trip of its last OPTIONS answered, in ms; -1 before any */
	int32_t rtt_ms;
	/* INVITEs sent to it, and how many it answered 2xx, rejected (another
	 * final) or left unanswered (failover_ms or Timer B) */
	uint64_t invites, answered, rejected, unanswered;
	bool disabled; /* ctl_set_target_disabled */
};
/* Fills up to cap entries; returns how many targets there are. */
size_t ctl_get_targets(const struct ctl *c, struct ctl_target_info *out, size_t cap);
/* The operator takes the target at addr (of the policy in force) out of
 * service, or puts it back: while disabled, new calls skip it as a full one
 * (a route with none left answers 503), calls on it go on, and OPTIONS keep
 * going to it. Kept across reloads that keep the address, not across
 * restarts. 0 with *calls, the calls on it now; -ENOENT for no such target. */
int ctl_set_target_disabled(struct ctl *c, const struct sockaddr *addr, socklen_t len,
			    bool disabled, uint32_t *calls);

/* The set-up record pool: where it is mapped, and its size (for the log). */
struct ctl_pool {
	const void *base;
	uint32_t records;
	size_t record_bytes;
};
void ctl_get_pool(const struct ctl *c, struct ctl_pool *out);
/* Bytes of the set-up records' mapping (RUN_DIR/setups.tbl) for that many
 * records, so that run_dir's room can be checked before it is mapped. */
size_t ctl_records_bytes(uint32_t setups);

/* Network bytes as a JSON string, as the CDRs write them: printable ASCII
 * kept, any other byte '?', at most 200 bytes. */
json_t *ctl_json_text(const char *p, size_t len);

#endif
