/*
 * daemon.h - sipshardd's threads and the messages between them.
 *
 * Owns: starting and stopping the workers and the controller, the SPSC rings
 * that connect them (worker -> controller events, controller -> worker
 * commands, worker -> worker handoffs: without the BPF program, or for a
 * datagram whose Call-ID it could not read, and an INVITE with Replaces or
 * Join for the worker holding the dialog it names, flagged with its home;
 * a worker's handoff rings share one budget of slots)
 * and the eventfds that wake each side when the other has pushed (a worker's
 * is part of its io wait: net_io_set_wake),
 * the shard table files in run_dir and taking over the calls a previous
 * process left in them (README.md's invariant 7), and the statistics snapshot. Does not own: what a
 * worker does with a datagram (worker.c, relay.c) or what the controller decides (controller.c).
 */
#ifndef SIPSHARD_DAEMON_H
#define SIPSHARD_DAEMON_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "core/ring.h"
#include "ctl/config.h"
#include "ctl/policy.h"
#include "daemon/cdr.h"
#include "daemon/controller.h"
#include "daemon/mgmt.h"
#include "daemon/orig.h"
#include "daemon/relay.h"
#include "net/io.h"
#include "net/sendq.h"
#include "shard/table.h"
#include "shard/wheel.h"
#include "sipshard/hash.h"

/* Largest datagram that crosses a ring (out-of-dialog requests, handoffs);
 * a larger out-of-dialog request is answered 513 by the worker. A dialog
 * record crosses it too, packed (shard_dialog_pack, at most its size): an
 * install command, a query's answer. */
#define DMSG_DATA_MAX 8192
_Static_assert(sizeof(struct shard_dialog) <= DMSG_DATA_MAX,
	       "a dialog record must fit one ring message");
/* the response lines kept from any datagram a worker takes fit a long-head slot */
_Static_assert(DMSG_DATA_MAX <= SHARD_HEAD_SLOT_MAX, "a long head must fit its pool slot");

enum dmsg_type {
	DMSG_DATAGRAM = 1,     /* worker -> controller, or worker -> worker (handoff) */
	DMSG_DIALOG_ENDED,     /* worker -> controller: slot free again */
	DMSG_INSTALL,	       /* controller -> worker: install or update a dialog, packed */
	DMSG_RELEASE,	       /* controller -> worker: free a dialog set up early */
	DMSG_QUERY,	       /* controller -> worker: a dlg_query (slot: its id) */
	DMSG_QUERY_DIALOG,     /* worker -> controller: a dialog the query matched */
	DMSG_QUERY_DONE,       /* worker -> controller: the scan ended (slot: id, gen:
				* dialogs in use, reason: dialogs matched, home: early
				* dialogs a bye or send skipped, parsed_len: answered
				* ones it skipped as their 2xx waits for its ACK,
				* replaced_len: ones it skipped as a BYE in them waits
				* for its final) */
	DMSG_SEND,	       /* controller -> worker: send the payload to peer once the
				* commands before it are applied (the 2xx that makes the
				* caller use a dialog leaves only after its INSTALL) */
	DMSG_SENT_FINAL,       /* worker -> controller: the final status of what the
				* operator sent into dialog slot/gen (reason: status,
				* or DLG_SENT_CALL_ENDED) */
	DMSG_CREDS,	       /* controller -> worker: entry slot of the gen routes'
				* credentials (struct orig_cred; none: len 0) */
	DMSG_FIRST_FORK_ENDED, /* worker -> controller: the call's early dialog in
				* slot/gen ended while other forks ring; kept */
};

/* The management commands on dialogs (dialogs.c): which ones a worker looks
 * for in its table, and what it does with them. */
enum dlg_query_kind {
	DLG_QUERY_LIST = 1, /* send each (up to limit) to the controller */
	DLG_QUERY_BYE,	    /* end each confirmed one: a BYE on each leg, then free */
	DLG_QUERY_SEND,	    /* send method (INFO, MESSAGE, REFER) on leg of each confirmed one */
};

struct dlg_query {
	uint32_t kind;	      /* enum dlg_query_kind */
	uint32_t limit;	      /* LIST: dialogs sent at most */
	uint32_t call_id_len; /* 0: every dialog; else either leg's Call-ID */
	char call_id[SESSION_CALL_ID_MAX];
	/* SEND */
	uint8_t method; /* enum sip_method: INFO or MESSAGE */
	uint8_t leg;	/* SHARD_LEG_A (the caller) or SHARD_LEG_B */
	uint16_t body_len;
	char ctype[SESSION_BODY_TYPE_MAX]; /* NUL-terminated; "" for no body */
	char body[ORIG_BODY_MAX];
	char refer_to[SESSION_URI_MAX]; /* REFER: the Refer-To URI, NUL-terminated */
	uint32_t wait_ms; /* SEND: how long the answer waits for the final status (controller) */
};

/* Dialog slots a worker looks at per turn of its loop, so that a scan of a
 * large table does not hold up its datagrams. */
#define DLG_QUERY_STEP 4096

struct dmsg_hdr {
	uint32_t type;
	uint32_t len;	    /* bytes of payload after the header */
	uint32_t slot, gen; /* DIALOG_ENDED, RELEASE */
	uint32_t reason;    /* DIALOG_ENDED: enum ctl_end_reason; INSTALL: the
			     * session interval in s (ctl_hooks.install) */
	/* DATAGRAM: bytes of the sender's parse after the datagram (sip_msg_pack),
	 * 0 = none */
	uint32_t parsed_len;
	struct sockaddr_in6 peer; /* DATAGRAM: the sender as it came (a sockaddr_in for IPv4:
				     peer_len says which) */
	socklen_t peer_len;
	/* DATAGRAM, an INVITE whose Replaces or Join names a dialog (RFC 3891,
	 * 3911; worker.c): home is 1 + the worker that owns the INVITE's own
	 * Call-ID, where the new call belongs, when that worker handed it to
	 * the one holding the dialog named (0: the sender owns it);
	 * replaced_len, to the controller: bytes of the named dialog's other
	 * leg (sip_session_pack, without bodies) and of the dialog's auth_key
	 * (4) after the datagram and before the parse, when the header matched
	 * one of its legs (0: none) */
	uint32_t home, replaced_len;
};
/* The payload follows the header in a ring slot; a dialog record in it needs
 * 8-byte alignment. */
_Static_assert(sizeof(struct dmsg_hdr) % 8 == 0, "payload after a dmsg_hdr must stay aligned");

static inline void dmsg_set_peer(struct dmsg_hdr *h, const struct sockaddr *sa, socklen_t len)
{
	memset(&h->peer, 0, sizeof(h->peer));
	if (len > sizeof(h->peer))
		len = sizeof(h->peer);
	memcpy(&h->peer, sa, len);
	h->peer_len = len;
}

struct daemon;

/* The controller's outgoing datagrams for one worker's socket (net/sendq.h),
 * sent together with sendmmsg at the end of each controller pass: up to
 * CTL_SENDQ_BYTES of them (any datagram fits) and CTL_SENDQ_DGRAMS. */
#define CTL_SENDQ_BYTES	 (1u << 20)
#define CTL_SENDQ_DGRAMS 2048u
struct ctl_out {
	bool cmd_pushed; /* a command went to this worker: wake it after the pass */
	struct net_sendq *q;
};

/* Per-worker counters, written by the worker only and read by the controller
 * thread for stats: counter_inc and counter_get (core/counter.h). */
struct worker_stats {
	uint64_t rx, rx_bad, rx_foreign, handoff_in, handoff_drop, to_controller, ctl_ring_full,
	    sent, tx_no_buffer, answered_400, answered_505, dropped_unparsable, dialogs_installed,
	    dialogs_ended, dialogs_expired, txns_expired;
	/* installs and updates from the controller that the table refused
	 * (shard_dialog_install_packed: a slot of another generation, a
	 * malformed record, an early update into a slot kept for a call's other
	 * forks) */
	uint64_t installs_refused;
	uint64_t
	    dialogs_session_expired; /* of dialogs_expired: no refresh in the session interval */
	/* calls ended because a side answered 408 or 481 to a request relayed
	 * in the call (relay_result.gone_status) */
	uint64_t dialogs_gone;
	/* the in-dialog keep-alive (timers.dialog_keepalive_s): OPTIONS sent,
	 * answered, rounds a leg left unanswered, answers that match no dialog
	 * of ours, calls ended by it; provisionals to its OPTIONS, and finals
	 * that came once their OPTIONS had its answer (copies of that final) */
	uint64_t keepalives_sent, keepalives_answered, keepalives_missed, keepalives_stray,
	    dialogs_keepalive_failed;
	uint64_t keepalives_provisional, keepalives_retransmitted;
	uint64_t sent_for_controller; /* DMSG_SEND: 2xx queued after their install */
	/* DMSG_SEND larger than tx_buffer_size not sent: sends before it wait
	 * for room, or the send buffer is full (the callee repeats its 2xx) */
	uint64_t ctl_send_deferred;
	uint64_t dialog_queries; /* DMSG_QUERY scans started (management commands) */
	/* the operator's transfers failed by Timer N: no NOTIFY within 64*T1 of
	 * the REFER's 2xx */
	uint64_t transfers_timed_out;
	/* at start, from a re-attached table: calls taken over, and dialogs
	 * freed because they were still setting up (their set-up was the old
	 * process's controller's) */
	uint64_t dialogs_reattached, setups_dropped;
	/* INVITEs with Replaces or Join (RFC 3891, 3911): handed to the worker
	 * holding the dialog named, passed to the controller with the dialog's
	 * other leg (matched), passed on as they are (naming no dialog of
	 * ours), answered here (400: more than one such header; 481: an early
	 * dialog it may not name; 403: sent by the party the new call would
	 * go to) */
	uint64_t replaces_handed, replaces_matched, replaces_unmatched, replaces_refused;
	/* of replaces_refused: a matched INVITE too large to go to the
	 * controller with the dialog's leg beside it (513); reported in
	 * controller.rejected_too_large with the controller's own 513s */
	uint64_t rejected_too_large;
};

struct worker {
	unsigned id;
	struct daemon *d;
	pthread_t thread;
	int fd;
	struct net_io *io;
	struct shard_table table;
	struct relay_ctx relay;
	struct ring *cmd;	  /* controller -> this worker */
	struct ring *evt;	  /* this worker -> controller */
	struct ring **handoff_in; /* [from worker] -> this worker */
	int wake_fd;		  /* eventfd: the controller (or, with BPF steering, a worker
				   * that handed it a datagram) has work for it */
	bool evt_pushed;	  /* wake the controller at the end of the batch */
	/* with BPF steering, the workers handed a datagram in this batch (bit
	 * per worker, SHARD_MAX_WORKERS is 64): woken at the end of the batch,
	 * as they poll on a 10 ms timeout */
	uint64_t handed_to;
	uint64_t next_expire_ms;
	struct wheel wheel; /* dialog deadlines (idle and maximum duration) */
	struct sip_msg msg;
	struct worker_stats st;
	struct orig_table orig; /* requests this worker sent itself, until answered */
	/* the management query being answered, a step a turn */
	struct dlg_query query;
	bool query_active;
	uint32_t query_id, query_cursor, query_matched, query_sent;
	uint32_t query_early;	 /* bye and sends: early dialogs with the Call-ID, skipped */
	uint32_t query_ack_wait; /* ... answered ones whose 2xx waits for its ACK, skipped */
	uint32_t query_ending;	 /* ... ones a BYE waits in for its final, skipped */
};

/* Controller thread: pushes a command onto shard's ring and has the worker
 * woken at the end of the pass. Returns 0 or -ENOBUFS (ring full). */
int daemon_push_cmd(struct daemon *d, unsigned shard, const struct dmsg_hdr *h, const void *payload,
		    size_t len);

/* Worker -> worker handoff rings: each worker has one from every other
 * (SPSC: no locks on the fast path), n * (n - 1) in all, so their memory
 * would grow with the square of the workers at a fixed size (slots of 8256
 * bytes: 1024 each took 451 MiB for 8 workers, 32 GiB for 64). A worker's rings
 * share DAEMON_HANDOFF_BUDGET_SLOTS instead (its one ring with 2 workers
 * keeps the 1024 slots it had), each at least DAEMON_HANDOFF_MIN_SLOTS, so
 * that a producer's short burst still fits: 8 workers take 56 MiB, 64 take
 * 508 MiB (SHARD_MAX_WORKERS). A full ring is a counted drop
 * (handoff_drop). */
#define DAEMON_HANDOFF_BUDGET_SLOTS 1024u
#define DAEMON_HANDOFF_MIN_SLOTS    16u

/* Slots of each handoff ring for nworkers workers: the largest power of two
 * within the budget's share, or the floor; 0 below 2 workers. */
uint32_t daemon_handoff_slots(unsigned nworkers);
/* Makes every worker's handoff_in (d->workers and d->nworkers set). 0 or
 * -ENOMEM; daemon_close_handoffs frees what was made either way. */
int daemon_open_handoffs(struct daemon *d);
void daemon_close_handoffs(struct daemon *d);

/* At most this many handoffs a turn of a worker's loop: without a bound, a
 * worker that kept a ring busy kept its owner from its own socket and timers
 * for as long as it kept up. The bound is what the worker's rings hold
 * together, not a recvmmsg batch: a turn of io_uring receives hands up to
 * thousands of datagrams on, and a drain of 64 a turn filled the rings (their
 * datagrams dropped, handoff_drop) behind a worker busy with its own socket.
 * What is left stays in the rings for the next turn, which then polls the
 * socket without waiting. */
#define WORKER_HANDOFF_DRAIN_MAX DAEMON_HANDOFF_BUDGET_SLOTS

/* Handles the datagrams other workers handed this one (at most
 * WORKER_HANDOFF_DRAIN_MAX, taking the rings in turns); returns how many.
 * Worker thread. */
uint32_t worker_drain_handoffs(struct worker *w);

/* After its table was re-attached and ctl_restore ran, before its thread
 * starts: frees the early dialogs whose calls are no longer setting up (no
 * set-up record holds them: ctl_keeps_dialog) and arms the timers of the
 * others. */
void worker_reattach(struct worker *w, uint64_t now);

/* The worker's timers at now (monotonic ms), at most once per 10 ms tick:
 * transactions' expiry, dialog deadlines, and the retransmissions of its own
 * requests and of the 487s it gave at calls' ends. Its loop calls it after
 * each batch; what it sends waits in the io until the next flush. Worker
 * thread. */
void worker_expire(struct worker *w, uint64_t now);

/* A worker's thread (arg: its struct worker): its loop of datagrams,
 * handoffs, commands and timers until the daemon's stop. */
void *worker_main(void *arg);

/* The command on dialogs waiting for the workers (controller thread). */
/* info, message, refer: room for the dialogs whose final status is waited
 * for, at first; a Call-ID names one call, so more is rare (calls that reuse
 * one): the array grows on the controller thread for as many as the request
 * went into */
#define DLG_TARGETS_FIRST 16
/* DMSG_SENT_FINAL's reason when the dialog ended (a BYE from either side, a
 * timer) while the operator's request in it waited for its final: none will
 * be kept (the dialog is freed), so the command says the call ended instead
 * of waiting out its time for nothing. Not a SIP status (they start at 100),
 * nor SHARD_SENT_LOST. */
#define DLG_SENT_CALL_ENDED 2

struct dlg_pending {
	bool active;
	uint32_t id;	      /* of the last query sent */
	struct dlg_query q;   /* what was asked (call_id NUL-terminated) */
	uint64_t ticket;      /* the management client's (mgmt_defer) */
	uint64_t deadline_ms; /* after it, a new command may take over */
	unsigned workers_left;
	uint64_t used, matched;
	uint64_t early;	   /* bye and sends: calls with the Call-ID still being set up */
	uint64_t ack_wait; /* ... answered, their 2xx waiting for its ACK */
	uint64_t ending;   /* ... ending: a BYE in them waits for its final */
	json_t *dialogs;   /* the array of the dialogs reported */
	/* SEND, once the request is out: the workers report each final status
	 * (DMSG_SENT_FINAL) of a dialog it went into (targets); when all are in,
	 * or at wait_until_ms, the dialogs are listed once more (a LIST query by
	 * the same Call-ID, `listing`) for the answer. Each target counts once,
	 * as answered or ended, when its report comes, or, for one whose report
	 * a full ring lost, when the listing shows its status: a final or an end
	 * reported while the listing was on (after its worker had listed the
	 * call) counts too */
	bool awaiting, listing;
	uint64_t sent; /* dialogs the request went into */
	uint64_t wait_until_ms;
	uint64_t ntargets, finals;
	uint64_t targets_cap; /* of targets (malloc'd, kept from command to command) */
	struct dlg_target {
		unsigned worker;
		uint32_t slot, gen;
	} * targets;
	uint64_t untracked;	    /* dialogs no room in targets could be made for */
	uint64_t ended;		    /* targets whose call ended before their final */
	uint64_t answered;	    /* targets with a final status */
	int status;		    /* their status when all agree, else -1 */
	struct shard_dialog dialog; /* the one being reported, unpacked */
};

struct daemon {
	struct config *cfg;
	struct policy *pol; /* owned by the controller thread once started */
	/* a reloaded policy on its way to the controller thread (daemon_set_policy) */
	_Atomic(struct policy *) pending_pol;
	_Atomic uint64_t reloads, reload_failures; /* counted by whoever reloads */
	/* Reloads happen on the main thread, on SIGHUP: loading a file may
	 * resolve target names, which may block, and the controller thread
	 * sets up calls. sipshardctl reload takes a ticket for its client on
	 * the controller thread, sets reload_requested and raises SIGHUP; the
	 * reload that the main thread starts next takes the request
	 * (daemon_reload_request) and hands its report back
	 * (daemon_reload_answer), which the controller thread then sends.
	 * reloadable: the program set that up. */
	bool reloadable;
	_Atomic bool reload_requested;
	_Atomic(json_t *) reload_report;
	uint64_t reload_ticket;	   /* controller thread: the client's, while */
	bool reload_waiting;	   /* a sipshardctl reload waits for its report */
	struct mgmt *mgmt;	   /* the management socket, or NULL */
	struct cdr_file cdr;	   /* fd -1 when cdr_file is null */
	_Atomic bool cdr_reopen;   /* daemon_reopen_cdr asked, the controller does */
	_Atomic bool draining;	   /* set by whoever drains; the controller follows */
	_Atomic uint64_t calls_up; /* the controller's calls_active, for the drain */
	unsigned nworkers;
	struct worker *workers;
	struct ctl *ctl;
	struct ctl_out *ctl_out; /* [nworkers], the controller thread's */
	struct ring **evts;	 /* [nworkers]: each worker's evt ring, for ring_drain_fair */
	pthread_t ctl_thread;
	int ctl_wake_fd; /* eventfd: workers -> controller */
	bool bpf_steering;
	/* when a datagram of the controller's that the socket refused was
	 * last logged (ctl_send_refused); controller thread only */
	uint64_t ctl_send_refused_log_ms;
	struct steer_ctx *steer;
	uint32_t bucket_owner[SHARD_NBUCKETS];
	_Atomic bool stop;
	const char *stats_file;
	bool stats_failing;   /* the last write of stats_file failed (logged once) */
	bool discard_dialogs; /* --discard-dialogs: remove the shard files first */
	/* controller thread: the workers whose copy of the routes'
	 * credentials is older than the policy (bit per worker): sent again at
	 * each pass until their rings take it (daemon.c, push_creds) */
	uint64_t creds_stale;
	struct sip_msg ctl_msg;
	struct sip_session
	    ctl_replaced; /* the leg an INVITE's Replaces or Join names the other of */
	struct dlg_pending query;
};

int daemon_start(struct daemon *d);
void daemon_stop(struct daemon *d);
/* Hands a new policy to the controller thread, which carries the running
 * policy's call count and rate state into it (policy_inherit), switches to it
 * for new decisions and frees the old one. Takes ownership of pol; a policy
 * handed over earlier and not yet taken is freed. Any thread. */
void daemon_set_policy(struct daemon *d, struct policy *pol);
/* Has the controller thread open cdr_file again (a policy put into service
 * does too): for a reload that was refused, so that log rotation's SIGHUP
 * still moves the records to the new file. Any thread. */
void daemon_reopen_cdr(struct daemon *d);
/* Main thread, as a reload starts: whether it answers a sipshardctl reload
 * (else a plain SIGHUP). */
bool daemon_reload_request(struct daemon *d);
/* Main thread, as it ends: report (consumed) goes to the sipshardctl reload
 * it answers, when requested; else it is dropped. */
void daemon_reload_answer(struct daemon *d, bool requested, json_t *report);
/* The statistics snapshot as a jansson object (caller owns it). */
json_t *daemon_stats_json(struct daemon *d);
/* Writes the statistics snapshot as JSON (jansson) to path (atomically). */
int daemon_write_stats(struct daemon *d, const char *path);
/* daemon_write_stats's writer: doc to path.tmp, renamed to path. 0, or a
 * negative errno; *failing says whether the last write failed. */
int daemon_write_json_file(const json_t *doc, const char *path, bool *failing);

/* commands.c, controller thread: the management socket's handler
 * (mgmt_handler; arg is the daemon). Answers every command (an error naming
 * the known ones for any other), or MGMT_LATER for reload and the commands
 * on dialogs, which answer through mgmt_answer. */
json_t *commands_handle(void *arg, const char *command, const json_t *request);

/* dialogs.c, controller thread: the management commands "dialogs", "bye",
 * "info" and "message" (they answer later, through mgmt_answer), and the
 * workers' replies. */
json_t *dialogs_command(struct daemon *d, const char *command, const json_t *request,
			uint64_t now_ms);
void dialogs_on_reply(struct daemon *d, unsigned worker, const struct dmsg_hdr *h,
		      const void *payload, uint64_t now_ms);
/* A dialog record as the operator sees it (leg A is the caller's side), at
 * now_ms of the controller's clock: the worker may have touched the record
 * after that moment, so ages are never negative. */
json_t *dialogs_dialog_json(unsigned worker, const struct shard_dialog *dl, uint64_t now_ms);
/* The answer to an info, message or refer command p waited for (its
 * members: README, sipshardctl); it takes over p->dialogs' reference. */
json_t *dialogs_send_answer(const struct dlg_pending *p);
/* A worker's DMSG_SENT_FINAL. */
void dialogs_on_final(struct daemon *d, unsigned worker, const struct dmsg_hdr *h);
/* Each turn of the controller loop: lists the dialogs once more for a command
 * whose final statuses are all in, or whose wait is over. */
void dialogs_tick(struct daemon *d, uint64_t now_ms);

#endif
