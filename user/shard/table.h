/*
 * table.h - one shard's dialogs and transactions, and the tokens that lead to them.
 *
 * Owns: a single mapping per shard (anonymous, or a file when a path is given)
 * holding a header, the dialog array and the transaction array, with free
 * lists threaded through the records by index; records refer to each other by
 * index, never by pointer, so a new process can re-attach the file and keep
 * routing (README.md's invariant 7). Beside it, the shard's long-head pool (a
 * second mapping, a second file): the response lines of the few transactions
 * whose lines do not fit their record. Owns the tokens sipshard generates: To/From
 * tags and Via branches that encode shard, slot and generation (invariant 5),
 * plus random bits and a check so that decoding is cheap and strict on any input.
 *
 * Expiry: transactions waiting for their final sit on a list in creation
 * order, which is also expiry order since they share one timeout (an exact,
 * O(1) special case of a timing wheel with one delay); answered ones, kept for
 * retransmissions, on a second list in the order their finals came. Dialogs
 * expire through the timing wheel in wheel.h (each has its own deadlines:
 * idle, maximum duration, session timer), whose handle the dialog keeps in
 * `timer`.
 *
 * Does not own: SIP, timers themselves (wheel.h), who chooses dialog slots:
 * either the worker takes them with shard_dialog_alloc, or another owner (the
 * controller) chooses slot and generation and the worker installs the record
 * with shard_dialog_install; one table uses one of the two.
 *
 * Single writer: only the shard's worker calls the mutating functions; no
 * function here allocates, locks or makes a system call except open and close.
 */
#ifndef SIPSHARD_SHARD_TABLE_H
#define SIPSHARD_SHARD_TABLE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sipshard/session.h"
#include "sipshard/sip.h"

#define SHARD_TABLE_MAGIC 0x73697073686172ULL /* "sipshar" */
/* 4: shard_dialog.auth_key, 5: shard_dialog.cdr */
#define SHARD_TABLE_VERSION 5
/* The original Via/From/To/Call-ID/CSeq lines, written back into the
 * response: about five Vias with the rest. 2048 bytes here cost 12% of the
 * relayed requests a second with 2 workers
 * (bench/results/relay_rate_txn_head.txt): every record is touched in turn.
 * So longer lines (a chain of proxies, long IMS Vias) go to a slot of the
 * shard's long-head pool instead (below, "long heads"); a request whose lines
 * find that pool full is answered 513, but for a BYE, which sipshard answers
 * 200 itself, ending the other leg with a BYE of its own (relay.c). */
#define SHARD_TXN_HEAD_MAX 1024
/* A slot of the long-head pool: the lines of any datagram a worker takes
 * (DMSG_DATA_MAX, daemon.h asserts it fits). */
#define SHARD_HEAD_SLOT_MAX 8192

/* Tokens: a prefix, then 34 lower-case hex digits: shard (2), slot (8) and
 * generation (8), XOR-masked by a function of the salt so that neighbouring
 * slots do not look alike, the salt (8), and a check (8) over the 26 digits
 * before it that changes whenever any one of them does (table.c), so every
 * one-byte mutation of a token is rejected and random digits pass once in
 * 2^32. Neither mask nor check is a secret: a token is trusted only after the
 * record it leads to matches it (generation, and the whole tag or the
 * transaction's salt). */
#define SHARD_TOKEN_DIGITS  34
#define SHARD_TAG_PREFIX    "k"
#define SHARD_TAG_LEN	    (1 + SHARD_TOKEN_DIGITS)
#define SHARD_TAG_MAX	    (SHARD_TAG_LEN + 1)
#define SHARD_BRANCH_PREFIX "z9hG4bKw" /* RFC 3261 magic cookie, then ours */
#define SHARD_BRANCH_LEN    (8 + SHARD_TOKEN_DIGITS)
#define SHARD_BRANCH_MAX    (SHARD_BRANCH_LEN + 1)
/* Branches of the in-dialog requests sipshard itself sends (daemon/orig.c). */
#define SHARD_ORIG_PREFIX "z9hG4bKsb"
#define SHARD_ORIG_LEN	  (9 + SHARD_TOKEN_DIGITS)
#define SHARD_ORIG_MAX	  (SHARD_ORIG_LEN + 1)
/* Branches of the in-dialog OPTIONS of the keep-alive (timers.dialog_keepalive_s). */
#define SHARD_KEEPALIVE_PREFIX "z9hG4bKsk"
#define SHARD_KEEPALIVE_LEN    (9 + SHARD_TOKEN_DIGITS)
#define SHARD_KEEPALIVE_MAX    (SHARD_KEEPALIVE_LEN + 1)

enum shard_dialog_state {
	SHARD_DLG_FREE = 0,
	SHARD_DLG_EARLY,
	SHARD_DLG_CONFIRMED,
	SHARD_DLG_NEW, /* taken by shard_dialog_alloc, not yet filled */
	SHARD_DLG_STATE_COUNT_
};

enum { SHARD_LEG_A = 0, SHARD_LEG_B = 1 };

/* shard_dialog.refer: a transfer the operator asked for (a REFER of ours, RFC
 * 3515) and the implicit subscription it made; the leg it went to in bit 2.
 * Bits 4 and 5 remember which legs have been sent a REFER at all, relayed or
 * ours: a UA names the subscription of every REFER but the first it receives
 * in a dialog by an Event id (RFC 3515 2.4.6), so a NOTIFY without id is about
 * ours only when ours was that leg's first. Tables written before these bits
 * existed hold 0 there: no REFER seen, the rule those builds applied.
 *
 * Timer N (RFC 6665 4.1.2.4; the REFER's subscription is implicit, RFC 3515
 * 2.4.4): once the REFER is accepted (2xx), a NOTIFY must come within 64*T1,
 * or the subscription has failed. While it runs (SHARD_REFER_TIMER_N) no
 * NOTIFY has come, so refer_status, which holds the last NOTIFY's status,
 * holds instead the second of the monotonic clock (modulo 2^16) in which the
 * 2xx came: no field of the record is free for it. The transfer then ends
 * DONE with refer_status 408 and no NOTIFY seen. */
enum {
	SHARD_REFER_NONE = 0,
	SHARD_REFER_ACTIVE = 1, /* sent; NOTIFYs from that leg are answered here */
	SHARD_REFER_DONE = 2,	/* refused, Timer N ran out, or the last NOTIFY said terminated */
	SHARD_REFER_STATE = 3,	/* mask of the two above */
	SHARD_REFER_LEG_B = 4,
	SHARD_REFER_NOT_FIRST = 8, /* that leg had been sent a REFER before ours */
	SHARD_REFER_SENT_A = 16,   /* leg A has been sent a REFER */
	SHARD_REFER_SENT_B = 32,   /* leg B has been sent a REFER */
	SHARD_REFER_NOTIFIED = 64, /* a NOTIFY about ours came */
	SHARD_REFER_TIMER_N = 128, /* accepted, no NOTIFY yet: refer_status is Timer N's start */
};
/* shard_dialog.sent_status of a request whose transaction was lost with the
 * process that sent it: its transactions live in that process's memory only
 * (daemon/orig.c), so a restart while it waited for its final leaves no one
 * to take the final (a late one is a stray response) or to give it up at
 * Timer F. Not a SIP status (they start at 100). */
#define SHARD_SENT_LOST 1

/* refer_status of a transfer whose Timer N ran out (RFC 6665 4.1.2.4) */
#define SHARD_REFER_TIMED_OUT 408

/* What a call's CDR names that its legs do not hold (controller_cdr.c writes the
 * CDR): kept with the dialog, so that the CDR of a call carried over a
 * restart has the members of one that was not. The controller's, set at the
 * INVITE and on each failover, and carried by every install (the bytes
 * used only). 268 bytes, read only when a restart takes the call over: the
 * record grew by 264 (4 were padding) to 7976, 3.4%. */
#define SHARD_CDR_ROUTE_MAX 64	/* a route's name (config routes[].name), NUL included */
#define SHARD_CDR_URI_MAX   200 /* a CDR cuts each URI at 200 bytes */
struct shard_dialog_cdr {
	uint8_t attempts;	 /* targets leg B's INVITE went to (0: not known) */
	uint8_t route_len;	 /* 0: no route (a call that replaced or joined a dialog) */
	uint8_t request_uri_len; /* the caller's Request-URI, its first bytes */
	char route[SHARD_CDR_ROUTE_MAX];
	char request_uri[SHARD_CDR_URI_MAX + 1];
};
_Static_assert(sizeof(struct shard_dialog_cdr) == 268,
	       "struct shard_dialog_cdr is in the table's layout: change SHARD_TABLE_VERSION");

/* Sets what c names: route (NULL: none) and the Request-URI, each cut to
 * its field (the CDR cuts URIs there too), and the attempts so far. */
static inline void shard_cdr_set(struct shard_dialog_cdr *c, const char *route, const char *ruri,
				 size_t ruri_len, unsigned attempts)
{
	size_t n = route ? strnlen(route, SHARD_CDR_ROUTE_MAX - 1) : 0;

	memcpy(c->route, route ? route : "", n);
	c->route[n] = '\0';
	c->route_len = (uint8_t)n;
	n = ruri_len < SHARD_CDR_URI_MAX ? ruri_len : SHARD_CDR_URI_MAX;
	memcpy(c->request_uri, ruri, n);
	c->request_uri[n] = '\0';
	c->request_uri_len = (uint8_t)n;
	c->attempts = attempts > UINT8_MAX ? UINT8_MAX : (uint8_t)attempts;
}

/* One call: leg A (caller side) and leg B (callee side). */
struct shard_dialog {
	uint32_t slot, gen; /* where the record lives, and its generation */
	uint8_t state;	    /* enum shard_dialog_state */
	/* worker's: the operator's transfer (SHARD_REFER_*), the status code of
	 * the sipfrag of the last NOTIFY about it (0: none yet; Timer N's start
	 * while that runs, read through shard_refer_status), and the CSeq of
	 * the REFER (a NOTIFY's Event id). These fields sit where padding was, so
	 * that the record's layout, and the tables a restart takes over, stay
	 * the same (the asserts below the struct). */
	uint8_t refer;
	uint16_t refer_status;
	union {
		/* table's, while the slot is FREE: free list links (index + 1,
		 * 0 = none) */
		struct {
			uint32_t free_prev, free_next;
		};
		/* worker's, while it holds a call: a REFER one side sent the
		 * other, relayed (shard_refer_relayed), as CSeq numbers on
		 * each leg: the last relayed that was not refused, the one
		 * waiting for its final included (a NOTIFY may overtake the
		 * 202, RFC 3515 2.4.4). A NOTIFY of its subscription names it
		 * by Event id with the CSeq its recipient got (RFC 3515
		 * 2.4.6), which its sender never sent: relay.c maps the id
		 * across. refer_fwd_out is ours on the leg it went to,
		 * SHARD_REFER_FWD_LEG_B set when that is leg B (0 = none:
		 * sipshard's CSeqs start at 1); refer_fwd_in the sender's. A
		 * REFER refused (a non-2xx final) or left without a final
		 * makes no subscription (RFC 3515 2.4.2): the pair it took
		 * goes back to the one before, which its transaction keeps
		 * (shard_txn.refer_prev_out, shard_refer_refused). One pair
		 * only, as the record has no room for a second: of two
		 * REFERs in a call, the earlier accepted, the earlier one's
		 * ids cross unmapped once the later one is relayed, unless
		 * the later one is refused. In what held the free
		 * links, which a used slot does not need: the layout stays
		 * the same, and a table written before reads 0 there (links
		 * are cleared when a slot is taken). */
		struct {
			uint32_t refer_fwd_out, refer_fwd_in;
		};
	};
	uint32_t refer_cseq;
	uint64_t created_ms, last_activity_ms;
	uint64_t timer; /* worker's: wheel handle of this dialog's deadline, 0 = none */
	uint32_t requests[SIP_METHOD_COUNT_]; /* in-dialog requests relayed, by method */
	/* worker's: the last request sipshard itself sent into the call (info,
	 * message or refer from the operator): its method (0: none yet), the leg
	 * it went to, a count that ties the answer to it, and its final status
	 * (0 while waiting, 408 when Timer F gave it up, SHARD_SENT_LOST when a
	 * restart came while it waited) */
	uint8_t sent_method, sent_leg;
	uint16_t sent_status;
	uint32_t sent_seq;
	struct sip_session legs[2]; /* [SHARD_LEG_A] caller side, [SHARD_LEG_B] callee side */
	/* worker's: when the session timer (RFC 4028) of a confirmed call runs
	 * out, in seconds after created_ms; 0 = none. Set by every 2xx to its
	 * INVITE, re-INVITE or UPDATE (shard_session_timer_start). It sits where
	 * the record's trailing padding was: the layout and the tables a
	 * restart takes over stay the same, and an older file's records read 0
	 * here (padding never written). */
	uint32_t session_expires_at_s;
	/* the controller's: which credentials answer a 401 or 407 to a request
	 * sipshard itself sends on leg B (cred_route_key of the call's route
	 * and the target its INVITE went to, whose routes[].auth the
	 * controller hands every worker: orig.h); 0 =
	 * none. After the legs with the session timer, so that a packed dialog
	 * carries it in its tail; it made the record 8 bytes longer
	 * (SHARD_TABLE_VERSION 4), 4 of them padding after it. */
	uint32_t auth_key;
	/* the controller's: the CDR's members the legs do not hold. Last, where
	 * the fast path never reads; a packed dialog carries the bytes used
	 * only. It made the record 264 bytes longer (SHARD_TABLE_VERSION 5):
	 * 268, in the 4 of padding there were and 264 more. */
	struct shard_dialog_cdr cdr;
};
/* Moves the operator's transfer to state (SHARD_REFER_ACTIVE or _DONE),
 * keeping the leg it went to and what each leg has been sent. */
static inline void shard_refer_set(struct shard_dialog *d, uint8_t state)
{
	d->refer = (uint8_t)((d->refer & ~SHARD_REFER_STATE) | state);
}

static inline uint8_t shard_refer_sent_bit(int leg)
{
	return leg == SHARD_LEG_B ? SHARD_REFER_SENT_B : SHARD_REFER_SENT_A;
}

#define SHARD_REFER_FWD_LEG_B 0x80000000u

/* The operator's REFER went to leg as CSeq cseq: the transfer is active. */
static inline void shard_refer_start(struct shard_dialog *d, int leg, uint32_t cseq)
{
	uint8_t sent = d->refer & (SHARD_REFER_SENT_A | SHARD_REFER_SENT_B);
	uint8_t bit = shard_refer_sent_bit(leg);

	d->refer = (uint8_t)(sent | bit | SHARD_REFER_ACTIVE |
			     (leg == SHARD_LEG_B ? SHARD_REFER_LEG_B : 0) |
			     ((sent & bit) ? SHARD_REFER_NOT_FIRST : 0));
	d->refer_status = 0;
	d->refer_cseq = cseq;
}

/* The operator's REFER was accepted (a 2xx) at now_ms: Timer N starts, unless
 * a NOTIFY overtook the 2xx or the transfer is no longer active. */
static inline void shard_refer_accepted(struct shard_dialog *d, uint64_t now_ms)
{
	if ((d->refer & SHARD_REFER_STATE) != SHARD_REFER_ACTIVE ||
	    (d->refer & SHARD_REFER_NOTIFIED))
		return;
	d->refer |= SHARD_REFER_TIMER_N;
	d->refer_status = (uint16_t)(now_ms / 1000);
}

/* When d's Timer N runs out (monotonic ms; 0 = it does not run), timer_n_ms
 * (64*T1) after the 2xx, seen at now_ms: the 2xx came in the latest second
 * not after now_ms whose low 16 bits refer_status holds, right for any
 * timer_n_ms below 18 hours. Counted from the end of that second: never
 * early, at most a second late. */
static inline uint64_t shard_refer_deadline(const struct shard_dialog *d, uint64_t now_ms,
					    uint64_t timer_n_ms)
{
	if (!(d->refer & SHARD_REFER_TIMER_N))
		return 0;
	uint64_t now_s = now_ms / 1000;
	uint16_t ago = (uint16_t)(now_s - d->refer_status);
	uint64_t at_s = now_s >= ago ? now_s - ago : 0;
	return (at_s + 1) * 1000 + timer_n_ms;
}

/* Timer N ran out: the transfer has failed (DONE, SHARD_REFER_TIMED_OUT). */
static inline void shard_refer_timed_out(struct shard_dialog *d)
{
	d->refer =
	    (uint8_t)((d->refer & ~(SHARD_REFER_STATE | SHARD_REFER_TIMER_N)) | SHARD_REFER_DONE);
	d->refer_status = SHARD_REFER_TIMED_OUT;
}

/* Whether the transfer ended as Timer N ran out, no NOTIFY having come: the
 * subscription is gone (a NOTIFY about it gets 481, RFC 6665 4.1.3). */
static inline bool shard_refer_failed(const struct shard_dialog *d)
{
	return (d->refer & (SHARD_REFER_STATE | SHARD_REFER_NOTIFIED)) == SHARD_REFER_DONE &&
	       d->refer_status == SHARD_REFER_TIMED_OUT;
}

/* A NOTIFY about the operator's REFER came, whose sipfrag says status (0:
 * none): Timer N stops; the status is kept. */
static inline void shard_refer_notified(struct shard_dialog *d, uint16_t status)
{
	if (d->refer & SHARD_REFER_TIMER_N)
		d->refer_status = 0;
	d->refer = (uint8_t)((d->refer & ~SHARD_REFER_TIMER_N) | SHARD_REFER_NOTIFIED);
	if (status)
		d->refer_status = status;
}

/* refer_status as the transfer's status: 0 while Timer N holds its start there. */
static inline uint16_t shard_refer_status(const struct shard_dialog *d)
{
	return (d->refer & SHARD_REFER_TIMER_N) ? 0 : d->refer_status;
}

_Static_assert(offsetof(struct sip_session, keepalive) == 17 &&
		   offsetof(struct sip_session, invite_cseq_tag) == 18 &&
		   offsetof(struct sip_session, local_cseq) == 20,
	       "sip_session.keepalive and invite_cseq_tag must stay in what was padding: the "
	       "table layout is versioned");
_Static_assert(offsetof(struct shard_dialog, free_prev) == 12 &&
		   offsetof(struct shard_dialog, created_ms) == 24,
	       "the refer fields must stay in what was padding: the table layout is versioned");
_Static_assert(offsetof(struct shard_dialog, session_expires_at_s) ==
		       offsetof(struct shard_dialog, legs) + 2 * sizeof(struct sip_session) &&
		   offsetof(struct shard_dialog, auth_key) ==
		       offsetof(struct shard_dialog, session_expires_at_s) + 4 &&
		   offsetof(struct shard_dialog, cdr) ==
		       offsetof(struct shard_dialog, auth_key) + 4 &&
		   sizeof(struct shard_dialog) ==
		       offsetof(struct shard_dialog, legs) + 2 * sizeof(struct sip_session) + 276,
	       "the tail of struct shard_dialog is session_expires_at_s, auth_key and cdr, with no "
	       "padding: the table layout is versioned");

/* The session timer of a call that a 2xx with Session-Expires: interval_s
 * (0: none, the timer is off) confirmed or refreshed at now_ms: it runs out
 * min(32, interval/3) seconds before the interval ends, as RFC 4028 section
 * 10 asks of the side that does not refresh, so that a refresh sent at half
 * the interval has the rest to arrive. */
void shard_session_timer_start(struct shard_dialog *d, uint64_t now_ms, uint32_t interval_s);
/* When d's session timer runs out (monotonic ms), 0 = none. */
static inline uint64_t shard_session_deadline(const struct shard_dialog *d)
{
	return d->session_expires_at_s ? d->created_ms + d->session_expires_at_s * 1000ull : 0;
}

/* ---- in-dialog keep-alive (timers.dialog_keepalive_s) ----
 * Each round sends every leg of a confirmed call an OPTIONS, once (a round is
 * the retransmission of the last); a leg that answers none of misses_max
 * rounds in a row, or answers 408 or 481 (RFC 3261 12.2.1.2), ends the call.
 * Rounds come every_ms after the call's last activity, and while a leg is
 * behind, every every_ms after that; answers from both legs count as
 * activity. The state is one byte per leg (sip_session.keepalive). */

/* Rounds leg s is behind: those it missed, and the one waiting for its answer. */
static inline unsigned shard_keepalive_behind(const struct sip_session *s)
{
	return (s->keepalive & SESSION_KEEPALIVE_MISSED) +
	       ((s->keepalive & SESSION_KEEPALIVE_PENDING) ? 1u : 0u);
}
/* When d's next round is due (monotonic ms); 0 = none (every_ms 0, or d not
 * confirmed). */
uint64_t shard_keepalive_deadline(const struct shard_dialog *d, uint64_t every_ms);
/* A round is due at now_ms: each leg whose last OPTIONS is unanswered has
 * missed one more (added to the counter *missed, core/counter.h: another
 * thread may read it). True when a leg has now missed
 * misses_max in a row: the call is over. Otherwise both legs are noted as
 * sent their OPTIONS (the caller sends them), and the next round is put at
 * least every_ms away: a round that came late (a stalled or restarted
 * worker) or a late answer from the leg furthest behind would otherwise let
 * the next come at once, before anyone could answer this one. */
bool shard_keepalive_round(struct shard_dialog *d, unsigned misses_max, uint64_t now_ms,
			   uint64_t every_ms, uint64_t *missed);
static inline void shard_keepalive_sent(struct shard_dialog *d, int leg)
{
	d->legs[leg].keepalive |= SESSION_KEEPALIVE_PENDING;
}
/* leg's OPTIONS of the keep-alive was challenged and goes again with
 * credentials: the round is no longer waiting (a copy of the challenge finds
 * it over), and the rounds missed before it stay counted until the OPTIONS
 * again is answered (shard_keepalive_answered) or given up
 * (shard_keepalive_retry_lost). */
static inline void shard_keepalive_challenged(struct shard_dialog *d, int leg)
{
	d->legs[leg].keepalive &= (uint8_t)~SESSION_KEEPALIVE_PENDING;
}
/* leg's OPTIONS again with credentials got no answer (Timer F): the round
 * it answered for is one the leg left unanswered after all, counted as the
 * next round would count it (saturating). */
static inline void shard_keepalive_retry_lost(struct shard_dialog *d, int leg)
{
	uint8_t *ka = &d->legs[leg].keepalive;
	if ((*ka & SESSION_KEEPALIVE_MISSED) < SESSION_KEEPALIVE_MISSED)
		(*ka)++;
}
/* leg answered an OPTIONS of the keep-alive with a status that says it knows
 * the dialog: it is behind no more, and once neither leg is, the call was
 * active at now_ms (which also puts timers.dialog_idle_s off). */
void shard_keepalive_answered(struct shard_dialog *d, int leg, uint64_t now_ms);

/* One relayed request: maps its outgoing branch back to where it came from. */
struct shard_txn {
	uint32_t gen;
	bool used;
	/* SHARD_TXN_LEG: the leg the request came from (the response goes back
	 * there, shard_txn_from_leg); SHARD_TXN_OFFER: the request carried an
	 * offer (RFC 3264), which a failure rejects, and the only one it does
	 * (relay.c); SHARD_TXN_EARLY_SDP: a reliable provisional to it made
	 * its exchange (relay.c). The flags are in spare bits of what held the
	 * leg alone, so that the table's layout stays the same; 0 in older
	 * tables: a failure to a request in flight across the upgrade rejects
	 * no offer. */
	uint8_t leg;
	uint8_t method_id; /* enum sip_method of the original request */
	/* the class of the final response relayed (2 for 2xx ...), 0 while none
	 * has come: the record stays until it expires, so that retransmissions
	 * of the request and of its final still cross (RFC 3261 17.2.2, 13.3.1.4).
	 * In what was padding (shard_txn_alloc zeroes it). */
	uint8_t final_class;
	uint32_t dialog, dialog_gen;
	uint32_t in_cseq, out_cseq; /* original CSeq number, and ours on the other leg */
	uint32_t salt; /* random, set by shard_txn_alloc: put it in the branch, check it back */
	/* the session interval its sender asked for and said it can refresh
	 * (Session-Expires with Supported: timer, RFC 4028), 0 = none: given to
	 * the sender in a 2xx that names none (relay.c). In what was padding, so
	 * that the table's layout stays the same (shard_txn_alloc zeroes it). */
	uint32_t session_asked_s;
	uint64_t created_ms;
	/* worker's, a relayed REFER's: the pair of shard_dialog.refer_fwd_out
	 * and _in that this REFER took over when it was relayed
	 * (shard_refer_relayed), put back when it is refused or gets no final
	 * (shard_refer_refused): it made no subscription. In what held a
	 * wheel handle that no transaction ever took (the creation list needs
	 * none), so that the layout stays the same; 0 in a table written
	 * before: no pair to put back. */
	uint32_t refer_prev_out, refer_prev_in;
	uint32_t prev, next; /* waiting or answered list (index + 1), or free list (next) */
	/* the length of the original Via lines and dialog headers; up to
	 * SHARD_TXN_HEAD_MAX they are in head, longer ones in the long-head
	 * pool slot whose index head's first 4 bytes hold (shard_txn_head):
	 * the record's layout, and the tables a restart takes over, stay the
	 * same (a build before the pool dropped such a record at re-attach) */
	uint16_t head_len;
	char head[SHARD_TXN_HEAD_MAX];
};
#define SHARD_TXN_LEG	0x01
#define SHARD_TXN_OFFER 0x02
/* an INVITE whose offer/answer exchange a reliable provisional made (RFC
 * 3262 5, RFC 6337 2.2): the bodies of its later responses repeat it */
#define SHARD_TXN_EARLY_SDP 0x04
/* the request came from another address than its leg's peer (a carrier's
 * other signalling node): its response goes back there (RFC 3261 18.2.2,
 * RFC 3581 4), kept in the last SHARD_TXN_SRC_SIZE bytes of the room its
 * head has (shard_txn_src_room), which the head does not reach. 0 in older
 * tables: their responses went to the leg's peer. */
#define SHARD_TXN_SRC	   0x08
#define SHARD_TXN_SRC_SIZE (sizeof(struct sockaddr_in6) + sizeof(uint32_t))
/* every bit shard_txn.leg may hold: re-attach drops a record with another
 * (a new flag goes here, or its records are dropped as malformed) */
#define SHARD_TXN_LEG_BITS (SHARD_TXN_LEG | SHARD_TXN_OFFER | SHARD_TXN_EARLY_SDP | SHARD_TXN_SRC)
_Static_assert(offsetof(struct shard_txn, leg) == 5 &&
		   offsetof(struct shard_txn, final_class) == 7 &&
		   offsetof(struct shard_txn, dialog) == 8 &&
		   offsetof(struct shard_txn, session_asked_s) == 28 &&
		   offsetof(struct shard_txn, created_ms) == 32 &&
		   offsetof(struct shard_txn, refer_prev_out) == 40 &&
		   offsetof(struct shard_txn, prev) == 48,
	       "session_asked_s must stay in what was padding, and refer_prev_* where the unused "
	       "timer was: the table layout is versioned");

/* The leg (SHARD_LEG_A or SHARD_LEG_B) transaction t's request came from. */
static inline int shard_txn_from_leg(const struct shard_txn *t)
{
	return t->leg & SHARD_TXN_LEG;
}

/* refer_fwd_out of the REFER relayed through t: its CSeq on the leg it went
 * to, with that leg. */
static inline uint32_t shard_refer_fwd_out(const struct shard_txn *t)
{
	return (t->out_cseq & ~SHARD_REFER_FWD_LEG_B) |
	       (shard_txn_from_leg(t) == SHARD_LEG_A ? SHARD_REFER_FWD_LEG_B : 0);
}

/* d's Event id pair becomes out and in. Through 0 (no pair) and with
 * compiler barriers: a SIGKILL between the stores leaves no pair, or the
 * old or new one, never the halves of two (the pair is not worth freeing
 * the record at re-attach, as shard_dialog_write_begin would). */
static inline void shard_refer_fwd_set(struct shard_dialog *d, uint32_t out, uint32_t in)
{
	d->refer_fwd_out = 0;
	atomic_signal_fence(memory_order_seq_cst);
	d->refer_fwd_in = in;
	atomic_signal_fence(memory_order_seq_cst);
	d->refer_fwd_out = out;
}

/* A REFER was relayed through t (a new transaction) to the other leg: a
 * NOTIFY without id from that leg is no longer about a later REFER of ours,
 * and the Event ids of its subscription map between our CSeq there and the
 * sender's, from now on (its NOTIFYs may come before its 2xx, RFC 3515
 * 2.4.4); t keeps the pair in force before, for shard_refer_refused. */
static inline void shard_refer_relayed(struct shard_dialog *d, struct shard_txn *t)
{
	d->refer |= shard_refer_sent_bit(!shard_txn_from_leg(t));
	t->refer_prev_out = d->refer_fwd_out;
	t->refer_prev_in = d->refer_fwd_in;
	shard_refer_fwd_set(d, shard_refer_fwd_out(t), t->in_cseq);
}

/* The REFER relayed through t was refused (a non-2xx final) or got no final
 * (RFC 3515 2.4.2: no subscription): when d's pair is still its own, the one
 * before it is put back, and true is returned. False when a later REFER took
 * the pair since (relay.c then mends that one's refer_prev_*). */
static inline bool shard_refer_refused(struct shard_dialog *d, const struct shard_txn *t)
{
	if (d->refer_fwd_out != shard_refer_fwd_out(t) || d->refer_fwd_in != t->in_cseq)
		return false;
	shard_refer_fwd_set(d, t->refer_prev_out, t->refer_prev_in);
	return true;
}

/* Start of the mapping. Sizes are recorded so that a file written by a build
 * with another layout is refused instead of misread. */
struct shard_table_hdr {
	uint64_t magic;
	uint32_t version, ndialogs, ntxns;
	uint32_t hdr_size, dialog_size, txn_size;
	uint64_t map_len;
	uint32_t dlg_free; /* dialog free list head (index + 1, 0 = none) */
	/* records at and above a high-water mark were never used and are all
	 * zero: they are taken in order and never walked, so only the pages of
	 * slots that have been in use are ever touched. A re-attach does not
	 * take a mark on trust: it raises it over any data the file holds past
	 * it (table.c, mark_over_data), so no record escapes its checks. */
	uint32_t dlg_hwm, txn_hwm;
	uint32_t txn_free, txn_oldest, txn_newest; /* index + 1, 0 = none */
	uint32_t dialogs_used, txns_used;
	uint32_t dialogs_peak, txns_peak;
	uint64_t dialogs_full, txns_full; /* allocations refused because full */
	/* answered transactions (a circular list in the order their finals
	 * came, index + 1 of the oldest, 0 = none); in what was a sweep's
	 * cursor, so that the layout stays */
	uint32_t txn_answered;
	uint32_t reattach_dropped; /* malformed records freed by the last re-attach */
	uint64_t rng;		   /* xorshift state for transaction salts, reseeded at open */
};

/*
 * Long heads: a pool of SHARD_HEAD_SLOT_MAX-byte slots per shard, in a mapping
 * of its own (a file beside the tables', so that a restart takes over the
 * transactions whose heads are there, and the tables' file keeps its layout),
 * taken only by a transaction whose head does not fit its record and given
 * back wherever the transaction is freed (its final, expiry, eviction,
 * re-attach). Each slot names its owner (transaction index + 1 and
 * generation) and the owner names the slot: a re-attach keeps only the pairs
 * that agree, and frees every other slot (a process killed between the two
 * writes leaks nothing). The buffers are page aligned: a head takes the pages
 * it is written to only.
 */
#define SHARD_HEADS_MAGIC   0x7369707368656164ULL /* "sipshead" */
#define SHARD_HEADS_VERSION 1
struct shard_heads_hdr {
	uint64_t magic;
	uint32_t version, nslots, hdr_size, meta_size;
	uint64_t map_len;
	uint32_t free,
	    hwm; /* free list head (index + 1, 0 = none); slots never used start at hwm */
	uint32_t used, peak;
};
struct shard_head_meta {
	uint32_t txn, txn_gen; /* owner: transaction index + 1 (0 = free) and its generation */
	uint32_t next;	       /* free list (index + 1, 0 = none) */
	uint32_t spare;
};

struct shard_table {
	struct shard_table_hdr *hdr;
	struct shard_dialog *dialogs;
	struct shard_txn *txns;
	size_t map_len;
	int fd; /* -1 for an anonymous mapping */
	/* this and heads_evicted: counter_inc (core/counter.h), the controller
	 * thread reads them for stats */
	uint64_t txns_evicted; /* answered records that gave way to new ones (this process) */
	/* answered records that gave their long-head slot to a new request's
	 * long head (this process; not in txns_evicted, whose records gave way
	 * to a new record) */
	uint64_t heads_evicted;
	/* the long-head pool: NULL when it has no slots (every long head is refused) */
	struct shard_heads_hdr *heads;
	struct shard_head_meta *head_meta;
	char *head_bufs; /* nslots * SHARD_HEAD_SLOT_MAX */
	size_t heads_len;
	int heads_fd;	    /* -1 for an anonymous mapping or none */
	bool heads_renewed; /* its file had another layout: made anew at open */
	/* set by a failed shard_table_open_heads when heads_path, not path,
	 * could not be mapped: the error is that file's */
	bool heads_failed;
	/* The early dialogs of a forked call's forks other than the first
	 * (controller_forks.c), by slot: a list from the call's slot through each
	 * fork's slot (index + 1, 0 = none), so that the callee's requests in
	 * a fork's early dialog, which name the call's slot (their To tag is
	 * leg B's From tag, one for every fork), find that fork's
	 * (shard_dialog_of_fork_callee). In this process's memory, not the
	 * mapping: linked by the install of a fork's dialog (while the call's
	 * slot holds the call its tag names), unlinked by shard_dialog_free,
	 * rebuilt by a re-attach alike; the record's layout, and
	 * the tables a restart takes over, stay the same. NULL when it could
	 * not be had (no index: such requests are not found). */
	uint32_t *fork_prev, *fork_next;
	/* The transactions of the last INVITE and the last BYE each leg of a
	 * dialog sent on (relayed: shard_leg_take_request), by slot, leg and
	 * method (index + 1 at shard_open_txn_at, 0 = none), so that the end
	 * of a call finds them while they wait for their finals, however many
	 * requests that leg sent after them (shard_txn_open_invite,
	 * shard_txn_open_bye): the two whose final matters beyond its sender,
	 * a re-INVITE's, which its sender no longer resends once a provisional
	 * came, and a BYE's, which, left open, ends whatever dialog its slot
	 * holds when it comes, or when the BYE times out (another fork's
	 * call). In this process's memory, as the forks' lists: rebuilt by a
	 * re-attach from the transactions it keeps (each leg's INVITE and BYE
	 * of the highest CSeq in its dialog's generation), and
	 * trusted only as far as the record it names is that request's; 16
	 * bytes a dialog slot, the record's layout unchanged. */
	uint32_t *open_txn;
	/* What a re-attach could not link because it freed, as torn, the record
	 * of the call it belongs to (a kill inside an update of that call):
	 * the early dialogs of the call's other forks (fork_prev/fork_next)
	 * and its open INVITE and BYE transactions (open_txn). The controller
	 * installs such a call again, in its slot and generation, from what it
	 * kept; that install links them (shard_dialog_install_packed), as the
	 * next re-attach would. Before, they stayed unlinked until then: the
	 * callee's requests in a fork's early dialog were not found, and a BYE
	 * in the call freed its slot under its forks. index + 1 of a dialog
	 * (fork) or, negated, of a transaction; NULL when none. */
	int64_t *relink;
	uint32_t nrelink;
};

struct shard_table_usage {
	uint32_t dialogs_cap, dialogs_used, dialogs_peak;
	uint32_t txns_cap, txns_used, txns_peak;
	uint64_t dialogs_full, txns_full;
	uint64_t txns_evicted;
	uint32_t reattach_dropped;
	uint32_t heads_cap, heads_used, heads_peak; /* the long-head pool */
	uint64_t heads_evicted; /* answered records that gave their slot to a new one */
};

/* Maps the tables: a file at path, created or re-attached, or anonymous when
 * path is NULL. Re-attaching checks the layout, frees records that are not
 * well formed, rebuilds free lists and counters from the records (so that a
 * process killed half way through an update leaves nothing inconsistent),
 * clears timer handles (they belonged to the old process's wheel) and
 * resolves what waited on the old process's memory: the operator's request
 * still waiting for its final gets sent_status SHARD_SENT_LOST, and when it
 * was a transfer's REFER, the transfer's Timer N starts (as if accepted: a
 * NOTIFY still comes in time, or the transfer ends as Timer N runs out, not
 * stays active for ever). The file is locked: a second open of it fails
 * with -EBUSY until the first is closed. Returns 0 or a negative errno
 * (-EINVAL: zero capacities or a file whose layout does not match). */
int shard_table_open(struct shard_table *t, const char *path, uint32_t ndialogs, uint32_t ntxns);
/* shard_table_open with a long-head pool of nheads slots (0: none), in the
 * file at heads_path (created or re-attached; one of another layout is made
 * anew, heads_renewed, and the transactions whose heads it held are freed as
 * malformed) or anonymous when heads_path is NULL. */
int shard_table_open_heads(struct shard_table *t, const char *path, const char *heads_path,
			   uint32_t ndialogs, uint32_t ntxns, uint32_t nheads);
/* The slot field of a record while shard_dialog_install_packed writes it:
 * set last to the record's index, so that a record a SIGKILL caught half
 * written names no slot, and re-attach frees it as malformed. */
#define SHARD_SLOT_WRITING UINT32_MAX
/* The same while a dialog the worker holds is updated in place
 * (shard_dialog_write_begin), kept by re-attach on the record it frees: a
 * dialog torn in an update was installed, so the controller can tell its
 * call, answered, from one whose install a kill caught (the caller may not
 * have had its 2xx then). A table written before has SHARD_SLOT_WRITING for
 * both. */
#define SHARD_SLOT_UPDATING (UINT32_MAX - 1)
/* Whether d, the record at index slot, was written whole: by an install that
 * finished, or freed by its worker (a generation that ended), not half
 * written at a kill nor freed at a re-attach. */
static inline bool shard_dialog_committed(const struct shard_dialog *d, uint32_t slot)
{
	return d->slot == slot;
}
/* Whether d is a record re-attach freed as torn in an in-place update. */
static inline bool shard_dialog_torn_in_update(const struct shard_dialog *d)
{
	return d->state == SHARD_DLG_FREE && d->slot == SHARD_SLOT_UPDATING;
}
/* ---- in-place updates of a kept dialog ----
 * The worker updates a dialog it holds in place, in a file a SIGKILL may
 * leave half written, and a restart re-attaches what it finds. Fields that
 * must agree are written so that a kill at any store leaves them consistent
 * (where no order of stores can: bytes and their length, a CSeq and its
 * transaction, offer/answer pairs) as an install is: between shard_dialog_write_begin
 * and _end the slot field names no slot, so that re-attach frees a record a
 * kill caught there (reattach_dropped) rather than take it up torn. Two
 * plain stores and compiler barriers (a killed process loses no store its
 * CPU made; only the compiler could move them): no lock, no system call.
 * Not nested, and nothing in between reads d->slot. */
static inline void shard_dialog_write_begin(struct shard_dialog *d)
{
	d->slot = SHARD_SLOT_UPDATING;
	atomic_signal_fence(memory_order_seq_cst);
}
static inline void shard_dialog_write_end(const struct shard_table *t, struct shard_dialog *d)
{
	atomic_signal_fence(memory_order_seq_cst);
	d->slot = (uint32_t)(d - t->dialogs);
}
/* A target refresh (RFC 3261 12.2.1.2, 12.2.2): uri (len bytes) becomes
 * leg's remote target in d. Nothing is written when it is the one kept (the
 * usual re-INVITE); one that does not fit the field (len >= its size) leaves
 * the old one. */
static inline bool shard_leg_set_target(struct shard_table *t, struct shard_dialog *d, int leg,
					const char *uri, size_t len)
{
	struct sip_session *s = &d->legs[leg];
	if (len >= sizeof(s->remote_target))
		return false; /* the old one is kept: the caller counts it */
	if (len == s->remote_target_len && !memcmp(s->remote_target, uri, len))
		return true;
	/* bytes and length: no order of stores keeps them whole (the old
	 * length over the new bytes named another URI), so a kill here frees
	 * the record at re-attach, as one in an install does */
	shard_dialog_write_begin(d);
	memcpy(s->remote_target, uri, len);
	s->remote_target[len] = '\0';
	s->remote_target_len = (uint16_t)len;
	shard_dialog_write_end(t, d);
	return true;
}

/* Where struct shard_table's open_txn keeps leg `leg` of dialog slot's last
 * INVITE (bye false) or last BYE (bye true). */
static inline size_t shard_open_txn_at(uint32_t slot, int leg, bool bye)
{
	return ((size_t)slot * 2 + (unsigned)leg) * 2 + bye;
}

/* A new request with CSeq in_cseq and method (enum sip_method) came on leg
 * from_leg of d (a dialog of t) and goes to the other leg through
 * transaction tslot/tgen: the other leg's local CSeq moves on (and its
 * INVITE CSeq, with the sender's INVITE tag, for an INVITE), the sender's
 * last CSeq and transaction are this request's, and an INVITE's or a
 * BYE's transaction is the leg's last of that method (open_txn). Returns
 * the CSeq it goes out with. Written between
 * shard_dialog_write_begin and _end: the sender's CSeq and its transaction
 * must agree, and no order of stores keeps them so. */
static inline uint32_t shard_leg_take_request(struct shard_table *t, struct shard_dialog *d,
					      int from_leg, uint32_t in_cseq, uint8_t method,
					      uint32_t tslot, uint32_t tgen)
{
	bool invite = method == SIP_METHOD_INVITE;
	struct sip_session *src = &d->legs[from_leg], *dst = &d->legs[!from_leg];
	/* No order of these stores is safe: the sender's CSeq before its
	 * transaction left the request known with another's transaction (its
	 * retransmission dropped as late, for ever), and after it an INVITE
	 * whose own orphaned transaction made its retransmission out of order
	 * (500); a transaction's slot and generation, half written, named
	 * another. So they are written as an install is. */
	shard_dialog_write_begin(d);
	uint32_t out = ++dst->local_cseq;
	if (invite) {
		dst->invite_cseq = out;
		src->invite_cseq_tag = session_cseq_tag(in_cseq);
	}
	src->last_txn = tslot;
	src->last_txn_gen = tgen;
	src->remote_cseq = in_cseq;
	src->remote_cseq_set = true;
	shard_dialog_write_end(t, d);
	if ((invite || method == SIP_METHOD_BYE) && t->open_txn)
		t->open_txn[shard_open_txn_at((uint32_t)(d - t->dialogs), from_leg, !invite)] =
		    tslot + 1;
	return out;
}

/* Whether a dialog record another process wrote (a re-attached table, a
 * set-up record's dialog) is well formed: states and methods in range, every
 * length within its buffer. */
bool shard_dialog_ok(const struct shard_dialog *d);
void shard_table_close(struct shard_table *t);

/* Bytes of table memory per dialog and per transaction, and of a whole mapping
 * (for capacity planning). */
size_t shard_dialog_bytes(void);
size_t shard_txn_bytes(void);
size_t shard_table_bytes(uint32_t ndialogs, uint32_t ntxns);
/* Bytes of a long-head pool of nheads slots (0 for none). */
size_t shard_heads_bytes(uint32_t nheads);

void shard_table_usage(const struct shard_table *t, struct shard_table_usage *u);

/* ---- dialogs ---- */

/* Takes a free dialog slot (the most recently freed, else the lowest never
 * used): returns its index and sets *gen to its new generation (never the one
 * it had before), or -ENOSPC. The record is zeroed, state SHARD_DLG_NEW,
 * slot/gen/times set. */
int shard_dialog_alloc(struct shard_table *t, uint64_t now_ms, uint32_t *gen);
/* The dialog at slot if it is in use with this generation, else NULL (stale,
 * forged, out of range). */
struct shard_dialog *shard_dialog_get(struct shard_table *t, uint32_t slot, uint32_t gen);
/*
 * A dialog as it crosses a ring (an install to a worker, a query's answer to
 * the controller): the fields before the legs
 * as they are, then each leg packed (sip_session_pack): 1740 bytes for a
 * call with usual URIs and SDP bodies of 300 and 250 bytes each way, instead
 * of the 7976 of struct shard_dialog, which each install and its update
 * copied into the worker's ring, out of it and around the record. Native
 * layout, for one build's threads only.
 */
#define SHARD_DIALOG_PACKED_MAX sizeof(struct shard_dialog)
/* Empties d for every reader as zeroing it would (sip_session_clear for the
 * legs), without writing the 7.7 KiB of the record. */
void shard_dialog_clear(struct shard_dialog *d);
/* Writes d packed into out; returns its length, or -ENOSPC when cap is less
 * than SHARD_DIALOG_PACKED_MAX. */
int shard_dialog_pack(const struct shard_dialog *d, void *out, size_t cap);
/* Fills d from a packed dialog of len bytes (strings NUL-terminated; the
 * bytes after a string's or body's length are left as they were): 0, or
 * -EINVAL for a message cut short or with a length beyond its field. */
int shard_dialog_unpack(struct shard_dialog *d, const void *msg, size_t len);
/* Installs or updates the packed dialog of len bytes at its slot; *out (when
 * not NULL) is then its record. An update keeps leg A but for its session
 * and signaling states and its offer and answer (the callee's final response
 * moves them), the creation time, timer, counters and last sent request (the
 * worker's since the install); both legs' signaling states, offers and
 * answers are the worker's once its copy has an answer (session_answered:
 * the PRACKs and UPDATEs of the early dialog moved them since) and leg B's
 * remote tag is the same (not a 2xx from another fork). An update whose leg A
 * has another local tag (another fork answered the call: controller_forks.c)
 * first takes both legs from that fork's early dialog, when one holds that
 * tag (shard_dialog_of_fork_tag), or leg A whole from msg. -EINVAL for a message cut short or
 * with a length beyond its field, a slot out of range or a FREE state; -EBUSY when the slot holds
 * another generation. Nothing is written when it fails. */
int shard_dialog_install_packed(struct shard_table *t, const void *msg, size_t len, uint64_t now_ms,
				struct shard_dialog **out);
/* The call's early dialog in t that the packed update msg (len bytes), a
 * 2xx confirming the call, hands to another fork of leg B: its leg A tag
 * toward the caller is not the update's, which shard_dialog_install_packed
 * then takes with that fork's legs (another fork answered the call:
 * controller_forks.c). The requests still open in it are the first fork's and
 * the caller's there, which the install leaves with no dialog to end or
 * answer in (worker.c answers them first). NULL for any other message, and
 * for a slot whose first fork's tags are gone already
 * (shard_dialog_retire_first_fork). */
struct shard_dialog *shard_dialog_packed_takes_fork(struct shard_table *t, const void *msg,
						    size_t len);
/* shard_dialog_install_packed of d packed (tests, tools). */
int shard_dialog_install(struct shard_table *t, const struct shard_dialog *d, uint64_t now_ms);
/* Returns the slot to the free list (dispose). Cancel its timer first. A free
 * slot or one out of range is ignored. */
void shard_dialog_free(struct shard_table *t, uint32_t slot);

/* Counts one in-dialog request of this method (enum sip_method). */
static inline void shard_dialog_count(struct shard_dialog *d, unsigned method)
{
	if (method < SIP_METHOD_COUNT_)
		d->requests[method]++;
}

/* ---- transactions ---- */

/* Takes a free transaction: returns its slot and sets *gen (new on every
 * allocation) or returns -ENOSPC. used, gen, salt, created_ms are set; the
 * other fields are zero. When every record is taken, the one answered
 * longest ago gives way (counted in txns_evicted); -ENOSPC only when none is
 * answered. */
int shard_txn_alloc(struct shard_table *t, uint64_t now_ms, uint32_t *gen);
struct shard_txn *shard_txn_get(struct shard_table *t, uint32_t slot, uint32_t gen);
/* Frees the record, and its long-head slot if it has one. */
void shard_txn_free(struct shard_table *t, uint32_t slot);
/* The transaction of the last INVITE leg `leg` of d (a dialog of t) sent on
 * (shard_leg_take_request) while it waits for its final, or NULL. */
struct shard_txn *shard_txn_open_invite(struct shard_table *t, const struct shard_dialog *d,
					int leg);
/* Likewise its last BYE. */
struct shard_txn *shard_txn_open_bye(struct shard_table *t, const struct shard_dialog *d, int leg);
/* Room for the head of transaction slot (taken, head_len 0) that does not fit
 * its record: a long-head slot of SHARD_HEAD_SLOT_MAX bytes, now the
 * transaction's until it is freed, its head_len set to SHARD_HEAD_SLOT_MAX;
 * the caller sets the length it wrote there (above SHARD_TXN_HEAD_MAX), or
 * frees the transaction. NULL when the pool has no free slot. */
char *shard_txn_long_head(struct shard_table *t, uint32_t slot);
/* Where x's head (head_len bytes) is: its record or its long-head slot. */
static inline const char *shard_txn_head(const struct shard_table *t, const struct shard_txn *x)
{
	uint32_t n;

	if (x->head_len <= SHARD_TXN_HEAD_MAX)
		return x->head;
	memcpy(&n, x->head, sizeof(n));
	return t->head_bufs + (size_t)n * SHARD_HEAD_SLOT_MAX;
}
/* Where transaction x keeps its request's source address (SHARD_TXN_SRC):
 * the end of its head's room, the record's or its long-head slot's; NULL
 * when its head leaves no room for it. */
static inline char *shard_txn_src_room(const struct shard_table *t, const struct shard_txn *x)
{
	size_t room = x->head_len <= SHARD_TXN_HEAD_MAX ? SHARD_TXN_HEAD_MAX : SHARD_HEAD_SLOT_MAX;

	if (x->head_len + SHARD_TXN_SRC_SIZE > room)
		return NULL;
	return (char *)shard_txn_head(t, x) + room - SHARD_TXN_SRC_SIZE;
}
/* The final response of slot's request has come (final_class: 2 for 2xx, 3,
 * 4, 5 or 6): the record moves from the waiting transactions, in creation
 * order, to the answered ones, in the order their finals come; it stays for
 * retransmissions until it expires, or gives way when the table is full. */
void shard_txn_answered(struct shard_table *t, uint32_t slot, uint8_t final_class);
/* Frees the oldest waiting or the first answered transaction if created more
 * than timeout_ms ago: 0 when one was freed, -EAGAIN otherwise. (The answered
 * ones are in the order their finals came, nearly that of creation: one may
 * wait behind a younger one for a moment longer.) */
int shard_txn_expire(struct shard_table *t, uint64_t now_ms, uint64_t timeout_ms);
/* The slot of the transaction shard_txn_expire would free now (it stays),
 * or -EAGAIN. */
int shard_txn_expired(const struct shard_table *t, uint64_t now_ms, uint64_t timeout_ms);

/* ---- tokens ---- */

/* Encoders write a NUL-terminated token and return its length (SHARD_TAG_LEN
 * or SHARD_BRANCH_LEN), or -ENOSPC when cap is too small. Decoders take any
 * bytes of any length (s may be NULL when len is 0) and accept exactly what
 * the encoders write: anything else is -EINVAL and the outputs are untouched.
 * The salt (tags) or extra (branches) should be random; extra is given back. */
int shard_tag_encode(char *out, size_t cap, uint8_t shard, uint32_t slot, uint32_t gen,
		     uint32_t salt);
int shard_tag_decode(const char *s, size_t len, uint8_t *shard, uint32_t *slot, uint32_t *gen);
/* The caller-side To tag of a forked call's early dialog other than the
 * first fork's (controller_forks.c: RFC 3261 12.1, 13.2.2.4, one early dialog
 * toward the caller per fork of leg B): it names the call's slot and
 * generation, as the call's own tag does, so that the call's requests and
 * those of its callee find the slot the confirmed dialog will be in; its
 * salt names the slot that holds the fork's early dialog meanwhile
 * (fork_slot + 1 in its low 24 bits: slots stay below 2^24), with high's
 * 8 bits above them (the controller's fork_tag_bits and ctl_fork_add: no two
 * forks of a call share a tag). */
#define SHARD_FORK_SLOT_BITS 24
int shard_fork_tag_encode(char *out, size_t cap, uint8_t shard, uint32_t slot, uint32_t gen,
			  uint32_t fork_slot, uint32_t high);
/* The call's shard, slot and generation, and the fork's slot, that fork tag
 * s (len bytes) names (shard_fork_tag_encode): 0, or -EINVAL for anything
 * else (a call's own tag included, unless its random salt happens to name a
 * slot but its own: only the record that holds a tag tells which it is).
 * The outputs are untouched on failure. */
int shard_fork_tag_decode(const char *s, size_t len, uint8_t *shard, uint32_t *slot, uint32_t *gen,
			  uint32_t *fork_slot);
/* The early dialog of t that tag s (len bytes; one of this shard's tags)
 * names in its salt as a fork's (shard_fork_tag_encode), when that dialog's
 * leg A has this very tag as its own: NULL for any other tag. */
struct shard_dialog *shard_dialog_of_fork_tag(struct shard_table *t, const char *s, size_t len);
/* Whether another fork of the call in slot holds an early dialog of its own
 * (linked to the call's slot). */
bool shard_dialog_has_forks(const struct shard_table *t, uint32_t slot);
/* The call's own early dialog d (the first fork's) ended by a BYE while
 * other forks ring in early dialogs of their own: the slot stays the call's,
 * for the 2xx of one of them to confirm (shard_dialog_install_packed takes
 * that fork's legs into it, its leg A tag being another), and the forks stay
 * found through it; no request is matched to the first fork's any more, as
 * its tags (leg A's local, leg B's remote) are emptied. Leg A's tag length
 * is emptied first and marks the slot so (shard_dialog_first_fork_retired):
 * a kill after that store leaves a record re-attach takes up and finishes
 * emptying; a kill before it leaves the early dialog as it was, its BYE not
 * yet answered (the worker queues the 200 it relays to the caller,
 * net_tx_queue, and sends the batch's datagrams after this: worker.c
 * ended_by_bye). (Written between shard_dialog_write_begin and _end, a kill
 * there had the record freed at re-attach, and the controller's install of
 * the call again brought the first fork's tags back.) */
void shard_dialog_retire_first_fork(struct shard_dialog *d);
/* Whether d is such a kept slot: an early dialog whose first fork's tags
 * shard_dialog_retire_first_fork emptied. Inline: the relay asks it of
 * every in-dialog request's record. */
static inline bool shard_dialog_first_fork_retired(const struct shard_dialog *d)
{
	/* leg A's local tag is set at every install */
	return d->state == SHARD_DLG_EARLY && d->legs[SHARD_LEG_A].local_tag_len == 0;
}
/* The early dialog of a fork of call (an early dialog in its own slot)
 * whose callee To tag, leg B's remote tag, is tag (len bytes): the fork a
 * request of the callee's with that From tag comes from (RFC 3261 12.2.2,
 * RFC 3311). NULL when none of call's forks has it. Walks the call's forks
 * only (at most a few, struct shard_table's fork_next). */
struct shard_dialog *shard_dialog_of_fork_callee(struct shard_table *t,
						 const struct shard_dialog *call, const char *tag,
						 size_t len);
int shard_branch_encode(char *out, size_t cap, uint8_t shard, uint32_t slot, uint32_t gen,
			uint32_t extra);
int shard_branch_decode(const char *s, size_t len, uint8_t *shard, uint32_t *slot, uint32_t *gen,
			uint32_t *extra);
/* The same for the branches of requests sipshard sends itself: another prefix
 * and check, so that neither kind ever decodes as the other. */
int shard_orig_encode(char *out, size_t cap, uint8_t shard, uint32_t slot, uint32_t gen,
		      uint32_t extra);
int shard_orig_decode(const char *s, size_t len, uint8_t *shard, uint32_t *slot, uint32_t *gen,
		      uint32_t *extra);
/* The same for the OPTIONS of the keep-alive: the dialog's slot and
 * generation, the leg (SHARD_LEG_A or _B) and the request's CSeq number. */
int shard_keepalive_encode(char *out, size_t cap, uint8_t shard, uint32_t slot, uint32_t gen,
			   int leg, uint32_t cseq);
int shard_keepalive_decode(const char *s, size_t len, uint8_t *shard, uint32_t *slot, uint32_t *gen,
			   int *leg, uint32_t *cseq);
/* True when a branch (a response's top Via's) has the keep-alive's prefix. */
static inline bool shard_keepalive_branch(const char *buf, sip_view branch)
{
	size_t n = sizeof(SHARD_KEEPALIVE_PREFIX) - 1;
	return branch.len > n && memcmp(buf + branch.off, SHARD_KEEPALIVE_PREFIX, n) == 0;
}
/* The dialog and leg (*leg) that a response to an OPTIONS of the keep-alive
 * is for: its top Via branch is a keep-alive token of shard's leading to a
 * confirmed dialog, and its CSeq (OPTIONS, the number in the token) and
 * Call-ID are that leg's. NULL for anything else (a stray or forged answer). */
struct shard_dialog *shard_keepalive_match(struct shard_table *t, uint8_t shard,
					   const struct sip_msg *m, int *leg);

#endif
