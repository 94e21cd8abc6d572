/*
 * relay.h - the in-dialog fast path: rewrites a request from one leg for the
 * other, and a response back to the leg that sent the request.
 *
 * Owns: the B2BUA mapping rules of RFC 3261 section 12.2 (Request-URI from the
 * remote target, Route from the route set, Call-ID, tags and CSeq in the other
 * leg's space, our Via and Contact, Max-Forwards; the header fields of
 * strip_headers left out; with rewrite_refer_to, the host and port of a
 * REFER's Refer-To and Referred-By), CSeq checks, transaction
 * records that map a relayed request's branch back to its origin, dialog
 * teardown after BYE, the answers to requests still open when a dialog ends
 * (and to their retransmissions after it: ended[]; a re-INVITE's 487 resent
 * until its ACK: resent[], Timer G) and the ACKs of the
 * finals to re-INVITEs that come after that end. Does
 * not own: sockets (worker.c), dialog creation (controller.c), table memory
 * (shard/table.c).
 *
 * Everything here runs on the worker that owns the shard: single writer, no
 * locks, no allocation; output goes into a caller buffer.
 */
#ifndef SIPSHARD_RELAY_H
#define SIPSHARD_RELAY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "shard/table.h"
#include "sipshard/sip.h"

struct wbuf;
/* Our Contact's URI in angle brackets, "<sip:sipshard@ADVERTISE>", into w: the
 * one every leg sees, in-dialog and at call set-up. */
void relay_put_contact(struct wbuf *w, const char *advertise);
/* The whole header line "Contact: <sip:sipshard@ADVERTISE>\r\n" into w. */
void relay_put_contact_line(struct wbuf *w, const char *advertise);
/* A response of status relayed to the other side: a 503 goes as 500 without
 * its Retry-After (w's start line and removals set), and true is returned.
 * A 503 speaks of the server that sends it: from sipshard, upstream, it
 * would say sipshard is unavailable, and a proxy in front that honours it
 * (and its Retry-After) would send it no request at all, not just none for
 * that peer (RFC 3261 16.7 item 6, 21.5.4). At call set-up and in a dialog. */
bool relay_503_as_500(struct sip_wspec *w, int status);

/* What the worker must do with a datagram after relay_request/relay_response. */
enum relay_outcome {
	RELAY_SEND, /* send out[0..len) to *dst */
	/* send out to the datagram's source: a stateless response, or the
	 * ACK of a final to a re-INVITE whose dialog has ended (status 0) */
	RELAY_ANSWER,
	RELAY_DROP,	     /* dropped on purpose; reason says why */
	RELAY_TO_CONTROLLER, /* not ours: hand to the controller */
};

enum relay_drop {
	RELAY_DROP_NONE = 0,
	RELAY_DROP_ACK_NO_DIALOG,
	RELAY_DROP_RESP_NO_TXN,
	RELAY_DROP_RESP_STALE,
	RELAY_DROP_LATE_RETRANS,
	RELAY_DROP_NO_BUFFER,
	RELAY_DROP_ACK_MAX_FORWARDS, /* an ACK with Max-Forwards 0: no response can say so */
	RELAY_DROP_ACK_LOCAL_ANSWER, /* the ACK of a final response sipshard gave itself */
	RELAY_DROP_CANCEL_ANSWER,    /* the answer to a CANCEL of ours: ends here */
	/* a provisional, or a final to a non-INVITE, whose dialog has ended:
	 * its sender was answered 487 when it ended (relay_end_pending) */
	RELAY_DROP_RESP_DIALOG_ENDED,
	RELAY_DROP_COUNT_
};

struct relay_result {
	enum relay_outcome outcome;
	enum relay_drop drop;
	int status; /* for RELAY_ANSWER: the status sent */
	int len;    /* bytes in out */
	const struct sockaddr *dst;
	socklen_t dst_len;
	bool dialog_ended;    /* a BYE's final response passed: dialog freed */
	uint8_t ended_by_leg; /* SHARD_LEG_A or SHARD_LEG_B: who sent that BYE */
	uint32_t ended_slot, ended_gen;
	/* with dialog_ended and RELAY_ANSWER 200: a BYE sipshard answered
	 * itself (its header lines did not fit a transaction record); the
	 * worker ends the other leg with a BYE of its own */
	bool bye_other_leg;
	/* with RELAY_SEND of a CANCEL of a re-INVITE to the other leg: the
	 * worker also answers the CANCEL 200 to its sender (RFC 3261 9.2) */
	bool answer_200;
	/* a 408 or 481 final to a request of the call's session (a re-INVITE,
	 * UPDATE, INFO, MESSAGE or OPTIONS) passed in a confirmed call:
	 * the answering side's dialog is gone (RFC 3261 12.2.1.2, 14.1; RFC
	 * 5057 5.1), and the side that asked was told so; the worker ends the
	 * call (ended_slot, ended_gen; ended_by_leg the side that answered).
	 * Relayed alone, it left the call up until dialog_idle_s, whose BYEs
	 * went into dialogs already gone and whose CDR billed the idle time. */
	uint16_t gone_status;
	/* a 2xx to a re-INVITE or UPDATE passed: its dialog's session timer
	 * (shard_session_timer_start) moved; arm the dialog's deadline again */
	struct shard_dialog *session_refreshed;
};

/* The finals of the requests that ended with their dialogs lately: a BYE's
 * that ended one (a final that crossed, the BYE's timeout, or the 200
 * sipshard gave a BYE still open as its dialog ended), and the 487 sipshard
 * gave any other request still open then (relay_end_pending: an INFO, a
 * re-INVITE, an UPDATE, a PRACK...). Sent again because that final was
 * lost, the request gets it again, as its server transaction would for
 * 64*T1 (RFC 3261 17.2.2, and 17.2.1 for an INVITE), instead of 481 for a
 * dialog already freed (a re-INVITE's 487 is resent on its own too, until
 * its ACK: resent[]); the ACK of a re-INVITE's 487 ends here
 * (RELAY_DROP_ACK_LOCAL_ANSWER) instead of going to the controller, which
 * knows nothing of it. An entry answers only the request's own To and From
 * tags, CSeq and method (relay.c, ended_final): the dialog's two tags are
 * hashed under ended_seed (tag_key), and the entry is at that key plus the
 * CSeq modulo RELAY_ENDED_SLOTS. So the requests one side had open at one
 * end, whose CSeqs differ by less than RELAY_ENDED_SLOTS, each have an
 * entry of their own; a forked call's dialogs, which share our tag toward
 * the callee, have theirs by their other tag; and a peer, who does not
 * know the seed, can neither compute where its own entries go nor aim them
 * at another dialog's. The table does not grow: a later end whose entry
 * falls on a place still held (about one end in RELAY_ENDED_SLOTS per
 * request kept, the two sides of one end included) takes it over, and the
 * request that entry answered gets 481 when sent again, which RFC 3261
 * 15.1.2 lets its sender take as the dialog ended; so does any request
 * once RELAY_ENDED_LINGER_MS have passed. */
#define RELAY_ENDED_SLOTS     1024
#define RELAY_ENDED_LINGER_MS 32000
struct relay_ended {
	uint32_t cseq;	 /* the request's, as its sender numbered it */
	uint16_t status; /* its final; 0 = entry unused */
	uint8_t method;	 /* enum sip_method: the request's */
	uint64_t at_ms;
	uint64_t tag_key; /* relay.c ended_key of the request's To and From tags */
};

/* The transactions of the requests relayed lately, one entry per hash of
 * dialog slot, leg and CSeq modulo RELAY_RECENT_SLOTS: a leg's retransmission
 * of a request that is no longer its last (an INFO sent again after the
 * next one went out, the ACK of a re-INVITE's failure after an INFO) finds
 * its transaction here (RFC 3261 17.2.2, 17.1.1.3) instead of being taken
 * for a request out of order. An entry is trusted only once the record it
 * names matches the request; one taken over by another request leaves the
 * older one to the CSeq check (500), as before. */
#define RELAY_RECENT_SLOTS 4096
struct relay_recent {
	uint32_t txn, txn_gen;
};

/* The NOTIFYs about the operator's REFER answered here lately, one entry per
 * dialog slot modulo RELAY_NOTIFIED_SLOTS: they have no transaction record,
 * so a retransmission that comes after its sender's next request (our answer
 * lost, a re-INVITE or INFO sent meanwhile) is told apart from a NOTIFY out
 * of order by this and answered again (RFC 3261 17.2.2), not 500. */
#define RELAY_NOTIFIED_SLOTS 1024
struct relay_notified {
	uint32_t slot, gen;
	uint32_t cseq;	 /* the NOTIFY's, as its sender numbered it */
	uint8_t leg;	 /* its sender's */
	uint16_t status; /* what it was answered; 0 = entry unused */
};

/*
 * The 487s sipshard gave re-INVITEs as their dialogs ended (relay_end_pending),
 * waiting for their ACK. sipshard is the UAS of each, and an INVITE server
 * transaction resends its non-2xx final over UDP (RFC 3261 17.2.1): Timer G,
 * T1 doubling up to T2 (timers.t1_ms, t2_ms), until the ACK comes (relay_request,
 * where it ends as ack_of_local_answer) or Timer H, 64*T1 after the 487, gives
 * up (pending_487_unacknowledged). Once a provisional came, the re-INVITE's
 * sender resends it no more (17.1.1.2): a 487 lost on the wire reaches it only
 * so. One that found no send buffer at the end goes at the next tick. An entry
 * is known by the keys of ended[] (the request's To and From tags under
 * ended_key, its CSeq). The bytes are kept, not the transaction: the request's
 * lines may be in the long-head pool, whose slot goes with the record. Bounded:
 * RELAY_RESENT_SLOTS a worker, in its memory only (a restart forgets them);
 * when every one waits, the oldest gives its place to the new one
 * (pending_487_overwritten) and is resent no more.
 */
#define RELAY_RESENT_SLOTS 64
#define RELAY_RESENT_MAX   (SHARD_HEAD_SLOT_MAX + 64) /* any 487 relay_end_pending writes */
struct relay_resent {
	bool busy;
	uint32_t cseq;	      /* the re-INVITE's, as its sender numbered it */
	uint64_t tag_key;     /* relay.c ended_key of its To and From tags */
	uint32_t interval_ms; /* the wait after the next send */
	uint64_t next_ms;     /* the next send (Timer G) */
	uint64_t deadline_ms; /* Timer H */
	struct sockaddr_in6 peer;
	socklen_t peer_len;
	uint16_t len;
	char data[RELAY_RESENT_MAX];
};

/* Sends the datagram at buf (len bytes) to dst (the worker's send_copy). */
typedef void (*relay_send_fn)(void *arg, const char *buf, size_t len, const struct sockaddr *dst,
			      socklen_t dst_len);

/* Per-worker relay context: the shard's table plus what is written into every
 * relayed message. */
struct relay_ctx {
	struct shard_table *table;
	uint8_t shard;
	const char *advertise; /* host:port in our Via and Contact */
	/* timers.session_timer: a 2xx that leaves a sender's asked-for session
	 * timer out gets it (RFC 4028 section 8.2) */
	bool session_timer;
	/* timers.min_se_s: a re-INVITE or UPDATE asking for less gets 422 */
	uint32_t min_se_s;
	/* strip_headers: the header fields no relayed request or response
	 * carries across (config_strip_set) */
	struct sip_strip strip;
	/* rewrite_refer_to: a relayed REFER's Refer-To and Referred-By name
	 * our advertise as their URI's host and port, without maddr (relay.c,
	 * put_addr_ours) */
	bool rewrite_refer_to;
	uint64_t now_ms;
	uint32_t t1_ms, t2_ms; /* timers.t1_ms and t2_ms: resent[]'s Timer G and H */
	/* where the datagram being handled came from (NULL: unknown), for the
	 * received and rport of the top Via of the responses to a request
	 * (RFC 3261 18.2.1, RFC 3581 4); the worker sets it per datagram */
	const struct sockaddr *src;
	socklen_t src_len;
	/* where the response being relayed goes when its request came from
	 * another address than its leg's peer (relay_result.dst points here
	 * until the next message) */
	struct sockaddr_in6 resp_dst;
	/* the counters from here to referred_by_kept are read by the
	 * controller thread for stats: written with counter_inc or counter_add
	 * (core/counter.h) */
	uint64_t drops[RELAY_DROP_COUNT_];
	uint64_t relayed_req[SIP_METHOD_COUNT_];
	uint64_t relayed_resp;
	uint64_t resp_503_as_500; /* of relayed_resp: 503s sent on as 500 */
	uint64_t answered[7];	  /* by status class: [4] = 4xx ... */
	uint64_t bye_replayed;	  /* retransmitted BYEs answered from ended[] */
	/* retransmitted requests but BYE answered 487 again from ended[] */
	uint64_t pending_replayed;
	uint64_t refer_notifies;    /* NOTIFYs about the operator's REFER, answered here */
	uint64_t session_too_brief; /* re-INVITEs and UPDATEs refused 422 (min_se_s) */
	/* requests whose response lines needed a slot of the long-head pool
	 * (capacity.long_heads_per_shard) when every one was taken: 513, a BYE
	 * 200 and a BYE to the other leg */
	uint64_t long_head_full;
	/* first finals too large for the send buffer once written for their
	 * request's sender: answered 500 here (relay.c, final_too_large) */
	uint64_t responses_too_large;
	/* re-INVITEs whose transaction expired with no final: 504 to their
	 * sender (relay_expire) */
	uint64_t invites_given_up;
	uint64_t pending_ended;		     /* requests answered 487 as their dialog ended */
	uint64_t pending_487_resent;	     /* of re-INVITEs, sent by Timer G (resent[]) */
	uint64_t pending_487_unacknowledged; /* given up at Timer H, no ACK came */
	uint64_t pending_487_overwritten;    /* gave their place to a newer one while waiting */
	uint64_t late_finals_acked; /* finals to re-INVITEs whose dialog had ended, ACKed here */
	/* target refreshes whose Contact is longer than the record keeps: a
	 * request answered 400, a 2xx or reliable 1xx relayed with the old
	 * remote target kept */
	uint64_t target_refresh_too_long;
	/* with rewrite_refer_to: relayed REFERs whose Refer-To names us, and
	 * those that crossed as they came (no Refer-To read as one sip URI:
	 * a tel: one), and REFERs answered 403 for a sips: one, which cannot
	 * name us, or 400 for none or two (relay.c, refer_to_refusal) */
	uint64_t refer_to_rewritten, refer_to_kept;
	uint64_t refer_to_refused;   /* a sips: Refer-To, answered 403 */
	uint64_t refer_to_malformed; /* no Refer-To or two, answered 400 */
	/* likewise for their Referred-By, when they have one (relay.c,
	 * put_referred_by: one with a cid is kept) */
	uint64_t referred_by_rewritten, referred_by_kept;
	uint64_t ended_seed; /* of ended[]'s hash: the worker's, from the kernel */
	struct relay_ended ended[RELAY_ENDED_SLOTS];
	struct relay_recent recent[RELAY_RECENT_SLOTS];
	struct relay_notified notified[RELAY_NOTIFIED_SLOTS];
	uint32_t resent_busy; /* entries of resent[] waiting: none costs a tick nothing */
	uint32_t resent_next; /* where the search for a free entry starts */
	struct relay_resent resent[RELAY_RESENT_SLOTS];
};

/* The session interval a request asks for and whose refreshes its sender
 * says it will do: its Session-Expires when it also says Supported: timer
 * (RFC 4028), else 0. */
uint32_t relay_session_asked(const struct sip_msg *req);

/* Whether req asks for a session interval below min_se_s (0: none is) and
 * says it can refresh (relay_session_asked), so that it is refused 422
 * with Min-SE: min_se_s (RFC 4028 section 8.1; one that cannot refresh is
 * never refused for it). */
static inline bool relay_session_too_brief(const struct sip_msg *req, uint32_t min_se_s)
{
	uint32_t asked = min_se_s ? relay_session_asked(req) : 0;
	return asked && asked < min_se_s;
}
/* "Session-Expires: N;refresher=uac" and "Require: timer" lines into w: what
 * RFC 4028 section 8.2 has a proxy add to a 2xx to a request that asked for
 * N when the answerer named no interval (it does not do session timers),
 * so that the asker refreshes and the timer runs. */
void relay_put_session_expires(struct wbuf *w, uint32_t secs);

/* m's body is a session description from the peer of leg x, the other leg
 * being y: session_sdp_from_peer with m's Content-Type and body, an offer
 * whatever the legs' states when m is an INVITE or UPDATE request (true: it
 * was an offer). */
static inline bool relay_sdp_from_peer(const struct sip_msg *m, struct sip_session *x,
				       struct sip_session *y)
{
	bool offer_only = m->is_request &&
			  (m->method_id == SIP_METHOD_INVITE || m->method_id == SIP_METHOD_UPDATE);
	return session_sdp_from_peer(x, y, sip_ptr(m->buf, m->content_type), m->content_type.len,
				     sip_ptr(m->buf, m->body), m->body.len, offer_only);
}

/* Whether method is a target refresh request: one whose 2xx, and which
 * itself, replace the remote target of the dialog it is sent in by their
 * Contact (RFC 3261 12.2.1.2, 12.2.2). INVITE (re-INVITE, RFC 3261 12.2),
 * UPDATE (RFC 3311 5.1), SUBSCRIBE and NOTIFY (RFC 6665 3.1, 3.2), and
 * REFER, which creates a subscription as a SUBSCRIBE does, implicitly (RFC
 * 3515 2.4.4). */
bool relay_is_target_refresh(uint8_t method);

/* A target refresh (RFC 3261 12.2.1.2, 12.2.2): m's first Contact becomes
 * the remote target of leg `leg` of d (a dialog of rc's table), where
 * requests to its peer go from now on; none leaves the old one, and so does
 * one longer than the record keeps (SESSION_URI_MAX), counted
 * (target_refresh_too_long): a response has been relayed or taken by then
 * (a request with such a Contact is answered 400 before: relay_request). For a relayed request and
 * the 2xx or reliable 1xx to it (relay.c: an unreliable 1xx refreshes nothing), and the 2xx to a
 * REFER of sipshard's own (worker.c). Safe across a SIGKILL (shard_leg_set_target). */
void relay_take_remote_target(struct relay_ctx *rc, struct shard_dialog *d, int leg,
			      const struct sip_msg *m);

/* A request carrying a To-tag. out must hold SIP_MAX_DATAGRAM bytes. */
void relay_request(struct relay_ctx *rc, const struct sip_msg *m, char *out, size_t cap,
		   struct relay_result *res);

/* A response whose top Via branch is one of ours (worker transaction). */
void relay_response(struct relay_ctx *rc, const struct sip_msg *m, char *out, size_t cap,
		    struct relay_result *res);

/* Forgets one transaction created more than timeout_ms before rc->now_ms
 * (shard_txn_expire): 0, or -EAGAIN when none is due. A BYE that never had
 * a final response ends its dialog as one answered would (res->dialog_ended,
 * its sender in ended_by_leg; its retransmissions get 408): its sender took
 * the call as over when its transaction timed out (RFC 3261 15.1.1). */
int relay_expire(struct relay_ctx *rc, uint64_t timeout_ms, struct relay_result *res);

/*
 * A dialog ends (a BYE's final passed, the operator, a timer) while requests
 * of its legs still wait for their final: sipshard, the UAS of each (a
 * B2BUA), answers them 487 (RFC 3261 15.1.2), since their finals can no
 * longer cross (the dialog held the sender's address). Writes the 487 for
 * the next such request of leg `leg` of d into out and takes it as answered
 * (a BYE gets 200: the end it asked for came): returns its length, to be
 * sent to *to (to_len bytes), where the request came from (RFC 3261 18.2.2:
 * the leg's peer, or the address its transaction kept, SHARD_TXN_SRC; to
 * may be NULL); 0 when none is left; -ENOSPC when it does not
 * fit cap bytes (the send buffers' size), or out is NULL (the worker has no
 * send buffer). Either way the final is kept in ended[] (a BYE's as any
 * BYE's final) and counted (pending_ended): the answer may be lost, as a
 * datagram on the wire, but the request's retransmissions get it (RFC 3261
 * 17.2.2), and the ACK of a re-INVITE's 487 ends here. A re-INVITE's 487
 * that fits cap is also kept in resent[], whose Timer G sends it again
 * until that ACK (relay_resent_tick), or first when out was NULL: its sender
 * may resend the INVITE no more (17.1.1.2). A BYE's 200, a non-INVITE
 * transaction's final, is not resent on its own (17.2.2). Looks at the
 * leg's last RELAY_PENDING_LOOKBACK CSeqs (in-dialog CSeqs go up by one,
 * 12.2.1.1), its last INVITE and its last BYE (shard_txn_open_invite,
 * shard_txn_open_bye, however many requests came after them), so that
 * ending a call costs no walk over the table: at most RELAY_PENDING_MAX
 * answers a leg. Another request still open (a leg with more open at
 * once, or one open more CSeqs below its last: 12.2.2 lets them skip) is
 * not answered here; its sender, a non-INVITE's, resends it until its
 * final (17.1.2.2) and gets 481, the dialog being gone. A late final from
 * the other leg then ends in relay_response: a final to an INVITE is ACKed
 * there, as its UAC must (13.2.2.4, 17.1.1.3), anything else is a counted
 * drop (RELAY_DROP_RESP_DIALOG_ENDED); a BYE's, answered here, ends
 * nothing, whatever dialog its slot holds by then.
 */
#define RELAY_PENDING_LOOKBACK 4
#define RELAY_PENDING_MAX      (RELAY_PENDING_LOOKBACK + 2)
int relay_end_pending(struct relay_ctx *rc, struct shard_dialog *d, int leg, char *out, size_t cap,
		      struct sockaddr_in6 *to, socklen_t *to_len);

/* resent[]'s timers at now_ms: each 487 whose Timer G is due goes through
 * send, and one whose Timer H passed is forgotten (pending_487_unacknowledged).
 * Nothing to do while none waits. The worker's timer tick calls it. */
void relay_resent_tick(struct relay_ctx *rc, uint64_t now_ms, relay_send_fn send, void *arg);

/* An in-dialog request that sipshard itself sends on a leg. */
struct relay_req {
	uint8_t method;	   /* enum sip_method: BYE, INFO, MESSAGE, REFER */
	const char *extra; /* header lines, each ending in CRLF, or NULL */
	const char *ctype; /* the body's Content-Type, or NULL for no body */
	const char *body;
	size_t body_len;
};

/*
 * Writes req for leg s (RFC 3261 12.2.1.1: a request within a dialog) into
 * out: Request-URI from the remote target, Route from the route set,
 * From/To/Call-ID of the leg, our Via with branch, Max-Forwards 70, a CSeq one
 * above the last we sent on the leg (which it takes), req's extra header lines
 * and body. Returns the length, or -ENOSPC when out is too small, -EINVAL for
 * a method without a name (no CSeq is taken then).
 */
int relay_write_request(struct relay_ctx *rc, struct sip_session *s, const struct relay_req *req,
			const char *branch, char *out, size_t cap);

/* True when a branch (the top Via's) names a controller transaction. */
bool relay_branch_is_controller(const char *buf, sip_view branch);

#define RELAY_CTL_BRANCH_PREFIX "z9hG4bKsc"

/* The n (at most 8) lower-case hex digits at b as a number, or -1: the
 * indexes and nonces the controller writes into its branches, read back
 * without the sign, space or 0x that strtoul would take. */
int64_t relay_hex_digits(const char *b, size_t n);

#endif
