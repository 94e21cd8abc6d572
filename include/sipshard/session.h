/*
 * session.h - one call leg, shaped after the SIP.js Session interface.
 *
 * Owns: the record of a leg (dialog ID parts, URIs, remote target, route set,
 * CSeq spaces, session and offer/answer state, the current offer and answer
 * bodies, peer address) and the names of its states. Every string is stored
 * inline in a fixed-size array with its length and no pointer appears, so
 * that a record can live in a file-backed shared mapping and be re-attached by
 * a new process (README.md's invariant 7). Does not own: where records live
 * (user/shard/table.h), parsing or writing SIP.
 *
 * SIP.js Session        | here
 * id                    | sip_session_id(): call_id + local_tag + remote_tag
 * callId, localTag,     | call_id, local_tag, remote_tag
 *   remoteTag           |
 * localURI, remoteURI,  | local_uri, remote_uri, remote_target
 *   remoteTarget        |
 * sessionState          | session_state (enum session_state)
 * signalingState        | signaling_state (enum signaling_state)
 * offer, answer         | offer, answer: the last session description of each
 *                       | kind, kept up to SESSION_BODY_MAX bytes (a build
 *                       | setting); len 0 means "undefined" (with dropped set:
 *                       | it was larger). Both legs keep the same bodies:
 *                       | sipshard passes them on as they came. While an
 *                       | offer is open the answer is undefined
 *                       | (session_answer_shown), and the have-local-offer
 *                       | leg's answer slot keeps the offer in force before
 *                       | it (the rollback SIP.js keeps apart)
 * bye/info/invite/...   | relayed by the worker. bye, info and message are
 *                       | also sent by the worker that owns the dialog, when
 *                       | policy or the operator asks (user/daemon/orig.c):
 *                       | that worker is the only writer of the leg's CSeq
 *                       | space, so it, not the controller, originates them
 * dispose               | the dialog slot is freed (shard_dialog_free)
 *
 * As in SIP.js, `offer` is meaningful while signaling_state is neither Initial
 * nor Closed, and `answer` while it is Stable. An offer refused (a failure to
 * the request that made it) brings back the offer and answer in force before
 * it (RFC 3261 14.1: "as if no re-INVITE had been issued"; RFC 3311 5.1).
 * The record has no room for a third body (struct shard_dialog must fit
 * DMSG_DATA_MAX), but its four slots only ever hold two distinct bodies: in
 * Stable both legs' offers are the same, and so are their answers. While an
 * offer is open the answer slot of the have-local-offer leg holds the offer
 * in force before it (session_sdp_from_peer), the other leg's the answer
 * then in force; an answer overwrites both, a rejection puts them back
 * (session_offer_rejected).
 */
#ifndef SIPSHARD_SESSION_H
#define SIPSHARD_SESSION_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

/* Field capacities in bytes. The text fields keep room for a terminating NUL
 * (so that they print with %s); bodies are bytes with a length and no NUL. A
 * value that does not fit is refused, never cut. Changing one changes the
 * table file layout (table.h checks the record size when it re-attaches). */
#define SESSION_CALL_ID_MAX   128
#define SESSION_TAG_MAX	      64
#define SESSION_URI_MAX	      256
#define SESSION_ROUTE_SET_MAX 512
#define SESSION_BODY_TYPE_MAX 64 /* Content-Type of a kept body */
/* Largest offer or answer body kept per leg (session_body_set may be given
 * a lower limit); a larger body is relayed as usual but not kept (len stays 0 and
 * `dropped` is set). 1024 holds a typical audio or audio+video SDP and keeps
 * a whole dialog record under the 8 KiB the controller -> worker ring carries. */
#ifndef SESSION_BODY_MAX
#define SESSION_BODY_MAX 1024
#endif

enum session_state {
	SESSION_STATE_INITIAL = 0,
	SESSION_STATE_EARLY,
	SESSION_STATE_ACK_WAIT,
	SESSION_STATE_CONFIRMED,
	SESSION_STATE_TERMINATED,
};

/* Offer/answer state (RFC 3264, RFC 6337). */
enum signaling_state {
	SIGNALING_STATE_INITIAL = 0,
	SIGNALING_STATE_HAVE_LOCAL_OFFER,
	SIGNALING_STATE_HAVE_REMOTE_OFFER,
	SIGNALING_STATE_STABLE,
	SIGNALING_STATE_CLOSED,
};

/* One offer or answer. */
struct session_body {
	uint16_t len;	  /* bytes in data; 0 = none kept */
	uint8_t type_len; /* bytes in type */
	uint8_t dropped;  /* 1: the last body was larger than the limit and not kept */
	char type[SESSION_BODY_TYPE_MAX];
	char data[SESSION_BODY_MAX];
};

#define SESSION_KEEPALIVE_PENDING 0x80
#define SESSION_KEEPALIVE_MISSED  0x7f

struct sip_session {
	/* Small, hot fields first: the fast path reads these on every request,
	 * the long strings after them only when it rewrites a message. */
	uint16_t call_id_len, local_tag_len, remote_tag_len;
	uint16_t local_uri_len, remote_uri_len, remote_target_len, route_set_len;

	uint8_t session_state;	 /* enum session_state */
	uint8_t signaling_state; /* enum signaling_state */
	bool remote_cseq_set;
	/* worker's: the in-dialog keep-alive of this leg (timers.dialog_keepalive_s):
	 * SESSION_KEEPALIVE_PENDING while its last OPTIONS is unanswered, and
	 * in the low bits the rounds it left unanswered in a row. It sits where
	 * padding was (the shard tables' layout stays the same). */
	uint8_t keepalive;
	/* worker's: the CSeq of the last INVITE this leg's peer sent that went
	 * on to the other leg, as session_cseq_tag gives it (0: not known, as
	 * in a table written before it was kept). An ACK with another CSeq
	 * answers a final response sipshard gave itself (a 422, 500 or 503 to
	 * a re-INVITE): the other leg never saw that INVITE. In what was
	 * padding (the shard tables' layout stays the same). */
	uint16_t invite_cseq_tag;

	uint32_t local_cseq;		 /* last CSeq we sent on this leg */
	uint32_t remote_cseq;		 /* last CSeq received on this leg */
	uint32_t invite_cseq;		 /* CSeq of the last INVITE we sent (ACK maps to it) */
	uint32_t last_txn, last_txn_gen; /* transaction of the last request received */

	/* where this leg's peer is reached: a sockaddr_in or sockaddr_in6 */
	struct sockaddr_in6 peer;
	socklen_t peer_len;

	char call_id[SESSION_CALL_ID_MAX];
	char local_tag[SESSION_TAG_MAX];
	char remote_tag[SESSION_TAG_MAX];
	char local_uri[SESSION_URI_MAX];
	char remote_uri[SESSION_URI_MAX];
	char remote_target[SESSION_URI_MAX];
	/* the route set, pre-formatted as "Route: <a>,<b>\r\n" or empty */
	char route_set[SESSION_ROUTE_SET_MAX];

	struct session_body offer, answer;
};

/* A CSeq number folded into 1..65535 (sip_session.invite_cseq_tag). */
static inline uint16_t session_cseq_tag(uint32_t cseq)
{
	return (uint16_t)(cseq % 65535u + 1u);
}

/* Keeps a body of n bytes with its Content-Type if it fits both limit (the
 * caller's) and SESSION_BODY_MAX; otherwise forgets the previous one and
 * marks it dropped. Returns true when kept. */
static inline bool session_body_set(struct session_body *b, const char *type, size_t type_len,
				    const char *data, size_t n, size_t limit)
{
	if (limit > SESSION_BODY_MAX)
		limit = SESSION_BODY_MAX;
	if (n == 0 || n > limit || type_len > SESSION_BODY_TYPE_MAX) {
		b->len = 0;
		b->type_len = 0;
		b->dropped = n != 0;
		return false;
	}
	memcpy(b->type, type, type_len);
	memcpy(b->data, data, n);
	b->type_len = (uint8_t)type_len;
	b->len = (uint16_t)n;
	b->dropped = 0;
	return true;
}

static inline void session_body_clear(struct session_body *b)
{
	b->len = 0;
	b->type_len = 0;
	b->dropped = 0;
}

/* Copies body src into dst: its header and the bytes it uses. */
static inline void session_body_copy(struct session_body *dst, const struct session_body *src)
{
	if (dst == src)
		return;
	dst->len = src->len;
	dst->type_len = src->type_len;
	dst->dropped = src->dropped;
	memcpy(dst->type, src->type, src->type_len);
	memcpy(dst->data, src->data, src->len);
}

/* Whether leg s has an offer open (have-local-offer or have-remote-offer). */
static inline bool session_offer_open(const struct sip_session *s)
{
	return s->signaling_state == SIGNALING_STATE_HAVE_LOCAL_OFFER ||
	       s->signaling_state == SIGNALING_STATE_HAVE_REMOTE_OFFER;
}

/* The answer of leg s as SIP.js has it, or NULL: none while an offer is open
 * (on the have-local-offer leg the slot holds the offer to go back to). A
 * Closed leg's is the last answer (session_terminate saw to it). */
static inline const struct session_body *session_answer_shown(const struct sip_session *s)
{
	return session_offer_open(s) ? NULL : &s->answer;
}

/* A session description (sdp, n bytes, of Content-Type type) came from the
 * peer of leg x, the other leg being y (RFC 3264 with RFC 3261 13.2.1): the
 * answer when x had an offer of ours open (have-local-offer), and both legs
 * are stable; else a new offer, which x has from its peer and y from us.
 * offer_only: it came in an INVITE or UPDATE request, whose body is always
 * an offer (RFC 3261 13.2.1, RFC 3311 5.1), even with x have-local-offer (a
 * peer that left our offer unanswered, a 2xx's offer its ACK did not
 * answer): taken for the answer, it left the model reading every later
 * exchange the wrong way round. Both legs keep it as their answer or offer:
 * sipshard passes it on as it came. A new offer made from Initial or Stable
 * first stashes the offer in force (none from Initial) in y's answer slot,
 * for a rejection to bring back; a second offer from the same side while one
 * is open keeps the stash it finds, and one from the other side moves it
 * there. Returns true when it was an offer. */
static inline bool session_sdp_from_peer(struct sip_session *x, struct sip_session *y,
					 const char *type, size_t type_len, const char *sdp,
					 size_t n, bool offer_only)
{
	struct session_body *kept_x, *kept_y;
	bool offer = offer_only || x->signaling_state != SIGNALING_STATE_HAVE_LOCAL_OFFER;

	/* a BYE ended the session (session_terminate): nothing is negotiated */
	if (x->signaling_state == SIGNALING_STATE_CLOSED ||
	    y->signaling_state == SIGNALING_STATE_CLOSED)
		return false;

	if (!offer) {
		x->signaling_state = SIGNALING_STATE_STABLE;
		y->signaling_state = SIGNALING_STATE_STABLE;
		kept_x = &x->answer, kept_y = &y->answer;
	} else {
		if (x->signaling_state == SIGNALING_STATE_HAVE_LOCAL_OFFER) {
			/* the other side's offer, never answered, gives way: x's
			 * answer slot holds the stash, y's the answer in force,
			 * and the have-local-offer leg is now y */
			struct session_body answer;
			session_body_copy(&answer, &y->answer);
			session_body_copy(&y->answer, &x->answer);
			session_body_copy(&x->answer, &answer);
		} else if (!session_offer_open(x)) {
			/* x open here is have-remote-offer: y already has the stash */
			session_body_copy(&y->answer, &y->offer);
		}
		x->signaling_state = SIGNALING_STATE_HAVE_REMOTE_OFFER;
		y->signaling_state = SIGNALING_STATE_HAVE_LOCAL_OFFER;
		kept_x = &x->offer, kept_y = &y->offer;
	}
	session_body_set(kept_x, type, type_len, sdp, n, SESSION_BODY_MAX);
	session_body_set(kept_y, type, type_len, sdp, n, SESSION_BODY_MAX);
	return offer;
}

/* The offer leg x had from us (have-local-offer), leg y's from its peer,
 * refused by x's peer (a failure to the request that made it, RFC 3264 5,
 * RFC 3261 14.1, RFC 3311 5.1): the session stays as it was before it, so
 * both legs get back the offer in force then (x's answer slot) and the
 * answer (y's, which the offer left alone), and the state it had: Stable,
 * or Initial when no offer was in force (none had been made). */
static inline void session_offer_rejected(struct sip_session *x, struct sip_session *y)
{
	if (x->signaling_state == SIGNALING_STATE_HAVE_LOCAL_OFFER &&
	    y->signaling_state == SIGNALING_STATE_HAVE_REMOTE_OFFER) {
		bool none = !x->answer.len && !x->answer.dropped;
		x->signaling_state = none ? SIGNALING_STATE_INITIAL : SIGNALING_STATE_STABLE;
		y->signaling_state = x->signaling_state;
		session_body_copy(&x->offer, &x->answer);
		session_body_copy(&y->offer, &x->answer);
		session_body_copy(&x->answer, &y->answer);
	}
}

/* Leg s's session is over (a BYE was sent or received on it, RFC 3261
 * 15.1.1, 15.1.2), as SIP.js's dispose leaves it: Terminated, offer/answer
 * Closed. Its record stays until the BYE's final; the last offer and answer
 * stay in it for the listing, and no answer when an offer was open (as
 * session_answer_shown had it: on the have-local-offer leg the slot held the
 * stash, which Closed would show as an answer). */
static inline void session_terminate(struct sip_session *s)
{
	if (session_offer_open(s))
		session_body_clear(&s->answer);
	s->session_state = SESSION_STATE_TERMINATED;
	s->signaling_state = SIGNALING_STATE_CLOSED;
}

/* Whether leg s has had an answer (kept, or too large to keep): the first
 * offer/answer exchange, the one of the call's INVITE, is done. Also while a
 * later offer is open: the have-local-offer leg's slot then holds the offer
 * in force, which an exchange made, and the other leg's the answer; while
 * the first is open both are empty (the stash of Initial is no offer). A
 * refused offer brings back the last answer (session_offer_rejected). A leg
 * terminated with an offer open has none. */
static inline bool session_answered(const struct sip_session *s)
{
	return s->answer.len || s->answer.dropped;
}

const char *session_state_name(enum session_state s);
const char *signaling_state_name(enum signaling_state s);

/* Writes the session id (Call-ID + local tag + remote tag) into out; returns
 * its length, or -ENOSPC. */
int sip_session_id(const struct sip_session *s, char *out, size_t cap);

/* Copies a string into one of the record's inline fields; false when too long. */
bool sip_session_set(char *field, uint16_t *len, size_t cap, const char *s, size_t n);
#define SESSION_SET(sess, field, s, n)                                                             \
	sip_session_set((sess)->field, &(sess)->field##_len, sizeof((sess)->field), (s), (n))

/*
 * A session as it travels between threads: its fields before call_id as they
 * are, then the used bytes of each string (call_id to route_set, in that
 * order) and of each body (its len, type_len and dropped, then the type and
 * data bytes): 80 bytes for an empty leg, about 800 for one with usual URIs
 * and an SDP offer and answer of 300 and 250 bytes, against the 3792 of
 * struct sip_session. Native layout: for one build's threads, never for
 * files or the network.
 */
#define SESSION_PACKED_MAX sizeof(struct sip_session)
/* Writes s packed at out (SESSION_PACKED_MAX bytes of room are enough);
 * returns the bytes written. */
size_t sip_session_pack(const struct sip_session *s, char *out);
/* Reads one packed session from p, of which end - p bytes are there, into s
 * (strings NUL-terminated; the bytes after a string's or body's length are
 * left as they were), or only checks it when s is NULL. Returns the byte
 * after it, or NULL when it is cut short or a length exceeds its field. */
const char *sip_session_unpack(struct sip_session *s, const char *p, const char *end);

/* Empties s for every reader as zeroing it would: the fields before call_id
 * zero (every length with them), each string "" and no body. The bytes after
 * each string's NUL and each body's header are left as they were, which is
 * what makes it cheaper than a memset of the 3792 bytes. */
void sip_session_clear(struct sip_session *s);

#endif
