/*
 * controller_int.h - the controller's own types, for its files and no other
 * (controller.c and the controller_*.c files beside it): the set-up record
 * (struct ctl_call) with its forks, the slot pools, what the controller
 * knows of each target, the given-up INVITEs' ring, the records' file
 * layout and struct ctl itself, and the functions one of those files calls
 * in another.
 *
 * Does not own: the controller's interface to the rest of the daemon
 * (controller.h, the only one of the two that anything else includes), nor
 * what the records mean and how a call moves through them (the top comment
 * of controller.c).
 */
#ifndef SIPSHARD_CONTROLLER_INT_H
#define SIPSHARD_CONTROLLER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <jansson.h>

#include "core/keyhash.h"
#include "daemon/controller.h"
#include "daemon/credentials.h"
#include "daemon/detached.h"
#include "daemon/orig.h"
#include "daemon/register.h"
#include "daemon/setup_msg.h"
#include "shard/table.h"
#include "shard/wheel.h"
#include "sipshard/sip.h"

/* Leg B's INVITE as sent: as large as any datagram a worker receives
 * (DMSG_DATA_MAX), so that an INVITE a WebRTC gateway fills with ICE
 * candidates and video codecs (4-8 KiB) is not refused 513 by its copy. */
#define CTL_INVITE_MAX	8192
#define CTL_ID_MAX	128
#define CTL_TAG_MAX	64
#define CTL_CDR_MAX	1536		  /* a CDR's fixed members; each URI is cut to 200 bytes */
#define CTL_CDR_URI_MAX SHARD_CDR_URI_MAX /* the dialog record keeps the Request-URI as cut */
/* Early dialogs toward the caller per call, one per fork of leg B (each To
 * tag of the callee side): the first fork's in the call's own slot, and up
 * to CTL_FORKS_MAX - 1 more, each in a slot of its own (struct ctl_fork) */
#define CTL_FORKS_MAX 4
/* Forks per call whose reliable provisionals sipshard PRACKed that the
 * record remembers (struct ctl_pracked): forks refused an early dialog of
 * their own, beyond CTL_FORKS_MAX or for want of a slot or ring room */
#define CTL_PRACKED_MAX 8
_Static_assert(sizeof(((struct config_route *)0)->name) <= SHARD_CDR_ROUTE_MAX,
	       "a route's name fits the dialog record's, whole: its CDR names it");

enum call_state {
	CALL_FREE = 0,
	CALL_CALLING,	 /* INVITE sent to leg B, nothing back yet */
	CALL_PROCEEDING, /* a provisional came back */
	CALL_ANSWERED,	 /* 2xx relayed; lingering for retransmissions */
	CALL_COMPLETED,	 /* non-2xx final relayed to A; waiting for A's ACK */
};

/* A fork of leg B other than the first (another To tag from the callee
 * side, RFC 3261 13.2.2.4): the caller is given an early dialog of its own
 * for it, under a To tag of its own (shard_fork_tag_encode), held by the
 * worker in a slot of its own, so that its reliable provisionals are the
 * caller's to PRACK (RFC 3262) and its SDP reaches the caller. When a fork
 * answers, the call's slot takes that fork's dialog (the worker merges it:
 * shard_dialog_install_packed) and every fork's slot is released. */
struct ctl_fork {
	uint32_t slot, gen;	 /* its early dialog's, in the call's shard */
	bool gone;		 /* its early dialog ended (a BYE, expiry): slot back */
	char a_tag[CTL_TAG_MAX]; /* ours toward the caller */
	char b_tag[CTL_TAG_MAX]; /* the callee's */
};

/* A fork of leg B whose reliable provisional (RFC 3262) sipshard PRACKed
 * itself, as it had no early dialog of its own toward the caller
 * (ctl_fork_pracked_note). */
struct ctl_pracked {
	uint64_t tag_key; /* fork_tag_key of its To tag; 0: no entry */
	uint32_t rseq;	  /* the RSeq of the latest PRACKed */
};

struct ctl_call {
	uint32_t gen;
	uint8_t state;
	uint8_t shard;
	bool installed; /* the worker holds the dialog */
	bool slot_gone; /* the worker ended the early dialog: slot back in the pool */
	bool cancelled;
	/* no final within timers.no_answer_s: leg B was sent a CANCEL, and its
	 * final ends the call with a 408 to the caller (in what was padding, so
	 * that the records' file keeps its layout: older files hold false) */
	bool timed_out;
	/* the target of the INVITE in flight was found silent (ctl_target_silent)
	 * at failover_ms with no other target to go to: it keeps the call until
	 * Timer B, and that one INVITE is not counted or marked down twice. In
	 * what was padding (older files hold false) */
	bool silence_noted;
	/* the caller's early dialog with the first fork ended (a BYE) while
	 * another fork rang in one of its own: the worker keeps the slot for
	 * that fork's 2xx (ctl_on_first_fork_ended). In what was padding
	 * (older files hold false) */
	bool first_fork_ended;
	int final_status;
	uint32_t slot, slot_gen;	   /* the reserved dialog slot */
	uint32_t next_by_a;		   /* chain in the leg-A hash, index + 1 */
	uint32_t prev_active, next_active; /* active or linger list, index + 1 */
	/* the session interval the caller asked for and can refresh
	 * (relay_session_asked): given to it in a 2xx that names none. In what
	 * was padding (older files hold 0) */
	uint32_t session_asked_s;
	uint64_t t_next, t_interval, t_deadline;
	struct sockaddr_storage a_peer, b_peer;
	socklen_t a_len, b_len;
	char a_call_id[CTL_ID_MAX];
	char a_from_tag[CTL_TAG_MAX];
	uint32_t a_key;
	char a_tag[CTL_TAG_MAX];
	char b_call_id[CTL_ID_MAX];
	char b_from_tag[CTL_TAG_MAX];
	char b_branch[CTL_TAG_MAX];
	uint16_t head_len, invite_len;
	/* bytes in invite after its first invite_len: while calling or
	 * proceeding, the last provisional relayed to A (what a retransmitted
	 * INVITE gets, RFC 3261 17.2.1; 0 = none, a 100 is sent); once
	 * completed, our ACK to B after the final */
	uint16_t tail_len;
	uint16_t cdr_len;	/* bytes of cdr, 0 = no CDR for this call */
	uint16_t cdr_target_at; /* where ,"target": starts in cdr (rewritten on failover) */
	/* Failover: leg B's INVITE went to targets[target] of routes[route] of
	 * the policy, whose tag was route_tag then (a reload or restart that
	 * changed the route stops failover). The next target is tried on a
	 * status in the route's failover_on, or when the target sends nothing
	 * for failover_ms (0: no target left, Timer B as usual), unless the
	 * callee rang (b_rang: a provisional other than 100 came back). Targets
	 * that are full are skipped, and those down (struct target_state) too
	 * unless all_down. */
	uint8_t route, target;
	uint8_t first; /* the target the call started at (select round_robin) */
	bool b_rang;
	/* every target was down at the INVITE, or at a failover: each is tried in turn */
	bool all_down;
	uint8_t attempts; /* targets the INVITE went to so far */
	/* challenges to the INVITE in flight answered with the route's
	 * credentials (routes[].auth): one per kind and realm, two at most (a
	 * proxy's 407 and the callee's 401 behind it), each again only for a
	 * stale nonce. Where auth_tries and a byte of padding were: the record
	 * keeps its size */
	struct cred_state creds;
	/* leg B's Session-Expires is sipshard's (the caller asked for none:
	 * timers.session_expires_s), and a 422 made it ask for the callee's
	 * Min-SE (once). In what was padding: older files hold false */
	bool session_ours, session_raised;
	uint32_t route_tag;
	uint32_t failover_ms;
	uint64_t start_wall_ms;
	/* why leg B's INVITE is given up, for its CANCEL and each Timer E
	 * retransmission of it: the caller's CANCEL's Reason lines
	 * (setup_cancel_reasons), or ours at timers.no_answer_s; set before the
	 * first CANCEL goes, never after (one CANCEL transaction, one text) */
	uint16_t reason_len;
	char reason[SETUP_REASON_MAX];
	/* the forks of leg B with an early dialog of their own; carried over
	 * a restart with the record (restore_forks) */
	uint8_t nforks;
	struct ctl_fork forks[CTL_FORKS_MAX - 1];
	/* the forks whose reliable provisionals sipshard PRACKed itself (each
	 * refused an early dialog of its own when it sent one), the oldest
	 * overwritten at pracked_next (counted): a copy of one is PRACKed
	 * again, never relayed (ctl_fork_pracked_copy). In the record, so that a
	 * restart keeps them */
	uint8_t pracked_next;
	struct ctl_pracked pracked[CTL_PRACKED_MAX];
	char head[SETUP_HEAD_MAX];
	/* leg B's INVITE as sent, followed by the last provisional relayed to A
	 * when both fit, until a non-2xx final: then the final relayed to A
	 * (resent by Timer G) followed by the ACK sent to B (resent for each
	 * retransmission of the final), when both fit */
	char invite[CTL_INVITE_MAX];
	struct shard_dialog dlg; /* filled as the call sets up; sent to the worker */
	/* the CDR's members known at set-up, as JSON without its closing brace */
	char cdr[CTL_CDR_MAX];
};
/* the flags added since the file's layout was set sit in what was padding
 * before final_status: files of earlier builds of this CTL_FILE_VERSION
 * are taken up with them false */
_Static_assert(offsetof(struct ctl_call, final_status) == 12,
	       "a ctl_call flag moved final_status: a new CTL_FILE_VERSION");

/* The CDR of an answered call, kept by dialog slot until the worker ends it. */
struct cdr_open {
	char *line; /* JSON up to "answer", without its closing brace; NULL = none */
	uint32_t gen;
	uint64_t start_wall_ms, answer_wall_ms;
	/* CLOCK_MONOTONIC at the answer: the duration is measured on it, as the
	 * wall clock may be stepped (NTP) while the call is up */
	uint64_t answer_mono_ms;
	int status;
};

struct call_list {
	uint32_t head, tail; /* index + 1 */
};

/* Free dialog slots of one shard, owned by the controller until installed. */
struct slot_pool {
	uint64_t *items; /* slot << 32 | gen */
	uint32_t count, cap;
	uint32_t *holder;     /* by slot: index + 1 of the setup record holding it, or 0 */
	struct cdr_open *cdr; /* by slot, when CDRs are written */
	/* by slot: index + 1 of the target its call counts on, or 0; released
	 * where the call is (policy_call_release) */
	uint16_t *target_of;
	/* early dialogs whose release the worker's full ring refused, tried
	 * again on each tick (slot << 32 | gen; a slot is released once) */
	uint64_t *releases;
	uint32_t nreleases;
	/* by slot: index + 1 of the record whose fork's early dialog it holds
	 * (struct ctl_fork), until the worker reports its end: such a slot
	 * counts no call */
	uint32_t *fork_of;
};

/*
 * With persist_dialogs the records live in RUN_DIR/setups.tbl, as the dialog
 * tables do in theirs, so that calls still setting up when the process stops
 * are taken up again by the next one (ctl_restore): this header, then the
 * ring of given-up INVITEs from CTL_FILE_HDR on (struct given_up_ring), then
 * the records from CTL_RECORDS_AT on. Records refer to each other by index
 * only.
 */
#define CTL_FILE_MAGIC UINT32_C(0x55544553) /* "SETU" in the file */
/* 2: failover fields, 3: auth_tries, 4: 8 KiB INVITE, 5: creds, 6: CANCEL reason
 * and the dialog record's auth_key, 7: the dialog record's cdr, 8: forks, 9: the
 * given-up INVITEs' ring before the records, 10: the forks PRACKed here */
#define CTL_FILE_VERSION 10
#define CTL_FILE_HDR	 4096

struct ctl_file_hdr {
	uint32_t magic, version;
	uint32_t ncalls, hdr_size;
	uint64_t record_size, map_len;
};

/* CDR times: the formatted second, kept while it lasts (iso_time) */
struct iso_clock {
	uint64_t sec;
	char text[24]; /* sec as "2026-12-01T23:59:59"; "" before the first */
};

/*
 * What the controller knows of each target address, whichever routes name
 * it: the calls counting on it (for targets[].max_calls) and until when it
 * is down (sent nothing to an INVITE for failover_ms: new calls skip it for
 * routes[].down_s, unless every target of their route is down; or answered
 * 503 with Retry-After: skipped that long, CTL_RETRY_AFTER_MAX_S at most), and the
 * OPTIONS it sends it: probes while down, keep-alives while up (routes[].
 * keepalive_s), one walk over the entries when one is due. Entries are
 * made for the targets of the policy in force (ctl_map_targets), kept across
 * reloads by address, and reused once no configuration names them and no
 * call counts on them: at most twice the targets a configuration can have.
 */
#define CTL_TARGETS_MAX (2 * CONFIG_MAX_ROUTES * CONFIG_MAX_TARGETS)
#define CTL_NO_TARGET	UINT16_MAX
struct target_state {
	struct sockaddr_storage addr;
	socklen_t len;
	bool named;	     /* by the policy in force */
	uint32_t calls;	     /* dialog slots counting on it (slot_pool.target_of) */
	bool disabled;	     /* by the operator (ctl_set_target_disabled): full */
	uint64_t down_until; /* monotonic ms; up when not after now */
	/* monotonic ms: out of service until then because it answered 503 with
	 * Retry-After (ctl_target_retry_after); down_until is at least this, and
	 * no answer ends it sooner */
	uint64_t held_until;
	/* targets[].max_cps as a cell rate: the theoretical arrival time of
	 * the next INVITE, in monotonic us (GCRA, a second's worth of burst) */
	uint64_t cps_tat_us;
	/* while down: an OPTIONS every probe_ms (0 = none), the next at
	 * next_probe, its branch ending in probe_nonce; any answer ends down */
	uint64_t next_probe, probe_nonce;
	uint32_t probe_ms;
	/* while up (routes[].keepalive_s): an OPTIONS every keepalive_ms (0 =
	 * none), the next at next_keepalive; the last one's answer is awaited
	 * until keepalive_deadline (0 = not awaited), and without one the
	 * target is down by the settings of route keepalive_route, the first
	 * naming it with the shortest keepalive_s */
	uint64_t next_keepalive, keepalive_deadline;
	uint32_t keepalive_ms;
	uint16_t keepalive_route;
	/* when the last OPTIONS (probe or keep-alive) left, and the round trip
	 * of the last one answered (-1 before any) */
	uint64_t options_sent;
	int32_t rtt_ms;
	/* since the address entered the configuration: INVITEs of new calls and
	 * failovers sent to it, and how each ended there (a 2xx, a non-2xx
	 * final, nothing until failover_ms or Timer B); CANCELled calls that it
	 * answered 487 count as rejected */
	uint64_t invites, answered, rejected, unanswered;
};

/*
 * Leg B INVITEs sipshard gave up on itself while their callee had sent no
 * final: at the caller's CANCEL before any provisional (the caller got its
 * 487 at once, RFC 3261 9.2), at Timer B (the caller got 408), at the
 * Timer F of a CANCEL of ours left unanswered, or at failover_ms of silence
 * (the call went on at another target). Such a callee may still ring. RFC
 * 3261 9.1 lets a CANCEL go only once a provisional came, so a UAC that
 * wanted to cancel sends it then: each entry keeps that CANCEL, built from
 * the INVITE as sent (its Reason lines: the caller's, or ours at Timer B),
 * and where the INVITE went, for 64*T1 after the end, by when the INVITE's
 * retransmissions (and with them the callee's reasons to answer) are long
 * over; the call's record may be gone much sooner (the caller ACKs its 408
 * or 487 at once). A 2xx that comes is ACKed and ended with a BYE. A ring
 * of CTL_GIVEN_UP_MAX: a newer end takes the
 * oldest entry, counted when that one had time left (given_up_forgotten);
 * looked at only for responses that no record's current INVITE takes.
 * With persist_dialogs the ring is in setups.tbl too (struct given_up_ring,
 * between the header and the records), so that a late provisional to an
 * INVITE given up before a restart still gets its CANCEL; the entries'
 * times are CLOCK_MONOTONIC ms, the next process's clock (one beyond 64*T1
 * of it, as after a reboot with run_dir on a disk, is dropped:
 * given_up_check). An entry is written with until 0 (unused) and until set
 * last, as a dialog record's slot is (SHARD_SLOT_WRITING): one a kill caught
 * half way is unused, not matched torn.
 */
#define CTL_GIVEN_UP_MAX	512
#define CTL_GIVEN_UP_CANCEL_MAX 1536
struct given_up {
	uint64_t until;	  /* monotonic ms: forgotten then (0: unused) */
	uint8_t shard;	  /* whose socket sends to its callee */
	bool cancel_sent; /* one CANCEL, resent by Timer E (detached.h) */
	/* read by nothing since each dialog gets its BYE (ack_and_bye keys it
	 * by the dialog): kept for the file's layout, written false */
	bool bye_sent;
	uint8_t branch_len;
	char branch[CTL_TAG_MAX]; /* the INVITE's */
	uint32_t ids;		  /* key_hash of its Call-ID and From tag */
	struct sockaddr_storage peer;
	socklen_t peer_len;
	/* the CANCEL, cancel_len bytes; 0 when it did not fit: then the
	 * INVITE's Request-URI, ruri_len bytes (0: that did not fit either),
	 * and the CANCEL is built from the provisional with it (RFC 3261 9.1:
	 * the CANCEL's Request-URI is the INVITE's) */
	uint16_t cancel_len, ruri_len;
	char cancel[CTL_GIVEN_UP_CANCEL_MAX];
};

/* The ring of given-up INVITEs, in the records' file (or memory). */
struct given_up_ring {
	/* keys each entry's ids (given_up_ids): the ring's own, kept with it,
	 * so that a restart still matches its entries; never 0 once mapped */
	uint64_t seed;
	uint64_t until; /* the latest until of any entry: none is looked at after */
	uint32_t next;	/* the entry given_up_commit takes next */
	struct given_up e[CTL_GIVEN_UP_MAX];
};
/* Where the records start in the file: after the header and the ring */
#define CTL_RING_BYTES ((sizeof(struct given_up_ring) + 4095) / 4096 * 4096)
#define CTL_RECORDS_AT (CTL_FILE_HDR + CTL_RING_BYTES)

struct ctl {
	const struct config *cfg;
	/* strip_headers: the fields leg B's INVITE and the responses relayed to
	 * the caller leave out (the running configuration's: a reload keeps it) */
	struct sip_strip strip;
	/* strip_headers names Reason: the caller's CANCEL's Reason lines are
	 * a leg A field like any other, and do not reach leg B's CANCEL */
	bool strip_reason;
	struct policy *pol;
	struct ctl_hooks hooks;
	unsigned nshards;
	void *map; /* the header and the records */
	size_t map_len;
	int fd;		      /* the records' file, or -1 */
	bool restore_pending; /* records from the last run, until ctl_restore */
	struct ctl_call *calls;
	uint32_t ncalls, free_head; /* free list through next_by_a, index + 1 */
	/* when each record setting up or completed next needs the controller
	 * (ctl_call_schedule): a tick costs what is due, not what is ringing */
	struct wheel timers;
	wheel_handle *timer_of;	 /* by record index */
	uint64_t tick_now;	 /* the time ctl_on_tick runs the wheel for */
	struct call_list linger; /* CALL_ANSWERED records, oldest first */
	/* CALL_COMPLETED records (a non-2xx final sent, waiting for the ACK),
	 * oldest first: a new INVITE that finds no free record or no place
	 * under limits.max_calls takes the oldest one's (evict_completed) */
	struct call_list completed;
	uint32_t *by_a; /* hash buckets, index + 1 */
	uint32_t nby_a;
	struct slot_pool *pools;
	uint64_t key_seed; /* key_hash's */
	bool draining;	   /* new calls are answered 503 */
	struct ctl_stats st;
	char out[SIP_MAX_DATAGRAM];
	char cdr_line[CTL_CDR_MAX + 512];
	json_t *cdr_text;		/* cdr_put_member's string value */
	struct iso_clock clock;		/* CDR times */
	struct sip_msg scratch;		/* re-parses of our own INVITE */
	struct shard_dialog fork_dlg;	/* a fork's early dialog, as it is installed */
	char fork_head[SETUP_HEAD_MAX]; /* a record's head under a fork's tag */
	/* leg B's user part under a route's rewrite: its prefix and a
	 * Request-URI user of up to max_uri (a uint16_t) */
	char rewritten[sizeof(((struct config_route *)0)->rewrite_prefix) + UINT16_MAX + 1];
	uint32_t ntargets;    /* entries of targets[] made so far */
	uint32_t probing;     /* entries with probe_ms set */
	uint32_t keeping;     /* entries with keepalive_ms set */
	uint64_t targets_due; /* ctl_targets_tick has nothing to do before */
	struct target_state targets[CTL_TARGETS_MAX];
	/* the credentials of the routes of the policy in force, as the workers
	 * have them (orig_cred_of_route), for the calls whose route a reload or
	 * restart changed (ctl_call_auth) */
	uint32_t ncreds;
	struct orig_cred creds[ORIG_CREDS_MAX];
	/* the entry of each target of the policy in force, or CTL_NO_TARGET */
	uint16_t target_of_route[CONFIG_MAX_ROUTES][CONFIG_MAX_TARGETS];
	/* select round_robin: each target's current weight (ctl_rr_first), per
	 * route of the policy in force */
	int32_t rr_weight[CONFIG_MAX_ROUTES][CONFIG_MAX_TARGETS];
	/* the registrations of the policy in force (register.h) */
	struct reg_set regs;
	struct reg_ops reg_ops;
	/* CANCELs and BYEs sent outside any record (close_left_target, end_2xx) */
	struct detached_set detached;
	/* leg B INVITEs given up (given_up_commit), in the map: after the
	 * header, before the records */
	struct given_up_ring *gu;
	/* one written before the INVITE is replaced, kept once it is
	 * (given_up_commit: a failover that happens) */
	struct given_up given_up_staged;
};

/* Small helpers more than one controller file uses: static inline, so that
 * each file inlines them as controller.c did (all but key_hash, which gcc
 * kept out of line there and now inlines too). */

/* The leg-A index's key of a Call-ID and From tag, both the caller's choice:
 * keyed per process (core/keyhash.h), so that a caller cannot pick Call-IDs
 * that share one chain and make every INVITE, CANCEL and ACK walk them all. */
static inline uint32_t key_hash(const struct ctl *c, const char *a, size_t alen, const char *b,
				size_t blen)
{
	return (uint32_t)keyhash_bytes(keyhash_bytes(c->key_seed, a, alen), b, blen);
}

static inline uint32_t call_index(const struct ctl *c, const struct ctl_call *k)
{
	return (uint32_t)(k - c->calls);
}

/* How long an answered call's record stays after its 2xx: 64*T1, the time
 * in which RFC 3261 13.2.2.4 has the UAC take 2xx responses to its INVITE,
 * each fork's (ACKed, and ended with a BYE but the call's own), and the
 * answer's retransmissions (relayed to the caller, who ACKs them end to
 * end). It was 8 s, and another fork's 2xx after that (from 8 s to 32 s at
 * the default T1) was dropped as unknown, leaving its callee in a call with
 * nobody. Records that linger give way to new INVITEs when all are taken
 * (controller.linger_evicted). */
static inline uint64_t ctl_answer_linger_ms(const struct ctl *c)
{
	return 64ull * c->cfg->timers.t1_ms;
}

/* Whether 2xx r is from the callee whose dialog the call holds (the first
 * 2xx's, or the early dialog's To tag). */
static inline bool same_callee(const struct ctl_call *k, const struct sip_msg *r)
{
	const struct sip_session *lb = &k->dlg.legs[SHARD_LEG_B];
	return !r->to.has_tag || !lb->remote_tag_len ||
	       sip_view_eq(r->buf, r->to.tag, lb->remote_tag, lb->remote_tag_len);
}

static inline void send_to(struct ctl *c, unsigned shard, const char *buf, int len,
			   const struct sockaddr_storage *to, socklen_t tolen)
{
	if (len > 0)
		c->hooks.send(c->hooks.arg, shard, buf, (size_t)len, (const struct sockaddr *)to,
			      tolen);
}

/* ---- what one of the controller's files calls in another ------------------ */

/* controller.c: the record pool and its indexes, the timers */
void ctl_list_append(struct ctl *c, struct call_list *l, struct ctl_call *k);
void ctl_by_a_link(struct ctl *c, struct ctl_call *k);
void ctl_call_schedule(struct ctl *c, struct ctl_call *k, uint64_t now);

/* controller.c: the dialog record the worker will hold, handed to it */
/* What of the callee's response r (ctl_dialog_set_callee) would not fit
 * leg B's record: "Contact", "Record-Route" or "To tag", or NULL. */
const char *ctl_callee_unfit(const struct sip_msg *r);
void ctl_dialog_set_callee(struct shard_dialog *d, const struct sip_msg *r,
			   const struct sockaddr *src, socklen_t srclen, bool confirmed);
void ctl_session_from_invite(struct ctl *c, const struct ctl_call *k, struct shard_dialog *d);
int ctl_install(struct ctl *c, struct ctl_call *k, const struct sip_msg *r,
		const struct sockaddr *src, socklen_t srclen, bool confirmed);

/* controller_forks.c: the forks of leg B */
struct ctl_fork *ctl_fork_of_response(struct ctl_call *k, const struct sip_msg *r);
int ctl_fork_install(struct ctl *c, struct ctl_call *k, const struct ctl_fork *f,
		     const struct sip_msg *r, const struct sockaddr *src, socklen_t srclen);
int ctl_fork_prack_branch(struct ctl *c, const struct ctl_call *k, const struct sip_msg *r,
			  char *branch);
bool ctl_fork_pracked_copy(struct ctl_call *k, const struct sip_msg *r);
void ctl_fork_pracked_note(struct ctl *c, struct ctl_call *k, const struct sip_msg *r);
struct ctl_fork *ctl_fork_add(struct ctl *c, struct ctl_call *k, const struct sip_msg *r,
			      const struct sockaddr *src, socklen_t srclen);
void ctl_forks_end(struct ctl *c, struct ctl_call *k);
int ctl_answer_from_fork(struct ctl *c, struct ctl_call *k, const struct sip_msg *r,
			 const struct sockaddr *src, socklen_t srclen);
const char *ctl_head_with_tag(struct ctl *c, struct ctl_call *k, const char *tag);

/* controller_targets.c: the routes' targets */
void ctl_target_take(struct ctl *c, unsigned shard, uint32_t slot, uint32_t i);
void ctl_target_drop(struct ctl *c, unsigned shard, uint32_t slot);
bool ctl_target_is(const struct ctl *c, uint32_t i, const void *addr, socklen_t len);
uint32_t ctl_target_find(const struct ctl *c, const void *addr, socklen_t len);
void ctl_map_targets(struct ctl *c);
void ctl_target_invited(struct ctl *c, unsigned route, unsigned t, uint64_t now);
unsigned ctl_target_pos(const struct config_route *r, unsigned first, unsigned t);
int ctl_pick_target(struct ctl *c, unsigned route, unsigned first, unsigned from, bool *all_down,
		    uint64_t now);
unsigned ctl_rr_first(struct ctl *c, unsigned route, uint64_t now, int32_t cw[CONFIG_MAX_TARGETS]);
void ctl_rr_commit(struct ctl *c, unsigned route, const int32_t cw[CONFIG_MAX_TARGETS]);
const struct config_route *ctl_call_route(const struct ctl *c, const struct ctl_call *k);
const struct config_auth *ctl_call_auth(const struct ctl *c, const struct ctl_call *k);
void ctl_call_target_drop(struct ctl *c, const struct ctl_call *k);
void ctl_target_silent(struct ctl *c, struct ctl_call *k, uint64_t now);
void ctl_target_count_final(struct ctl *c, const struct ctl_call *k, int status);
void ctl_target_answers(struct ctl *c, const struct ctl_call *k, uint64_t now);
void ctl_target_hold(struct ctl *c, struct target_state *s, const struct sip_msg *r, uint64_t now);
void ctl_target_retry_after(struct ctl *c, const struct ctl_call *k, const struct sip_msg *r,
			    uint64_t now);
void ctl_targets_tick(struct ctl *c, uint64_t now);
bool ctl_probe_response(struct ctl *c, const struct sip_msg *r, uint64_t now);

/* controller_cdr.c: the call detail records */
void ctl_cdr_begin(struct ctl *c, struct ctl_call *k, const struct sip_msg *m,
		   const struct config_route *r);
void ctl_cdr_retarget(struct ctl *c, struct ctl_call *k, const char *target);
void ctl_cdr_unanswered(struct ctl *c, const struct ctl_call *k, const char *disposition,
			int status);
void ctl_cdr_stopped_in_setup(struct ctl *c, const struct ctl_call *k, const char *disposition);
void ctl_cdr_close_open(struct ctl *c, struct cdr_open *e, const char *why);
void ctl_cdr_answered(struct ctl *c, const struct ctl_call *k, int status);
void ctl_cdr_carried(struct slot_pool *p, const struct shard_dialog *d, uint64_t now_mono_ms);

/* controller_restore.c: the records' memory and file */
int ctl_map_records(struct ctl *c, const char *path);
void ctl_release_free_records(struct ctl *c);

#endif
