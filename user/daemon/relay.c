/*
 * relay.c - the in-dialog fast path (see relay.h).
 *
 * A request's To-tag is one sipshard generated: it decodes to the dialog slot
 * and generation. The dialog holds two legs; the request's Call-ID and tags say
 * which leg it came from, and the other leg is where it goes. Each relayed
 * request takes a transaction slot whose index and generation are encoded in
 * the branch of our Via, so that the response finds its way back in O(1) and
 * gets the original Via lines (the top one with received and rport from the
 * request's source, relay_ctx.src), From, To, Call-ID and CSeq back: kept in
 * the transaction's record, or, longer than it holds, in a slot of the shard's
 * long-head pool (shard/table.h).
 *
 * One kind of in-dialog request is not relayed: a NOTIFY about a REFER that
 * sipshard sent for the operator (a transfer) belongs to sipshard's own
 * subscription (RFC 3515 2.4.4), so it is answered here and its progress kept
 * on the dialog (481 once Timer N gave that subscription up, worker.c).
 *
 * A REFER relayed from one leg to the other names, in its Refer-To, where
 * the transferee is to send its INVITE: written by the party on one side,
 * usually a host of that side's network. With rewrite_refer_to its URI's
 * host and port become our advertise, as in our Contact, and its maddr and
 * a transport but UDP go (put_refer_to), so that the INVITE comes here: one with Replaces (kept in
 * the URI's headers) is matched to the call it names (worker.c,
 * replacing_invite), any other is routed as a new call. The user part, the
 * other parameters, the headers, the display name and the header
 * parameters cross as they came, but for maddr and transport header
 * parameters, which a lax transferee reads as the URI's; a tel: or other
 * scheme, or no Refer-To read as one URI, crosses unchanged
 * (refer_to_kept), and a sips: one, which cannot name us, has the REFER
 * answered 403, as is one with no Refer-To or two (400, RFC 3515 2.4.1:
 * refer_to_refusal; counted in refer_to_refused and refer_to_malformed). Its Referred-By, the
 * transferor's address (RFC 3892), names us the same way, sips: too
 * (put_referred_by, referred_by_rewritten), but for one with a cid, whose
 * signed token a rewrite would no longer match (referred_by_kept). The
 * operator's REFER (relay_write_request) names the target it was given.
 *
 * A dialog can end while requests in it still wait for their finals (a BYE
 * crossing a re-INVITE, the operator's BYE): their senders are answered here
 * (relay_end_pending; each final, a BYE's 200 or another request's 487,
 * kept in ended[] for its retransmissions, as the final of a BYE that
 * crossed is, a re-INVITE's 487 resent by Timer G until its ACK, which is
 * absorbed here, and a CANCEL of it answered 200, RFC 3261 17.2.1, 9.2:
 * resent_keep), and a final that
 * comes after the end is no longer
 * relayed, since the dialog held its sender's address, but a final to an
 * INVITE is ACKed, built from the final itself, as the INVITE's UAC must
 * (RFC 3261 13.2.2.4, 17.1.1.3; late_response).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/counter.h"
#include "core/keyhash.h"
#include "core/wbuf.h"
#include "daemon/relay.h"
#include "daemon/setup_msg.h"
#include "sip/wput.h"

bool relay_branch_is_controller(const char *buf, sip_view branch)
{
	size_t n = sizeof(RELAY_CTL_BRANCH_PREFIX) - 1;
	return branch.len > n && memcmp(buf + branch.off, RELAY_CTL_BRANCH_PREFIX, n) == 0;
}

int64_t relay_hex_digits(const char *b, size_t n)
{
	uint32_t x = 0;
	for (size_t i = 0; i < n; i++) {
		int d = b[i] >= '0' && b[i] <= '9'   ? b[i] - '0'
			: b[i] >= 'a' && b[i] <= 'f' ? b[i] - 'a' + 10
						     : -1;
		if (d < 0)
			return -1;
		x = x << 4 | (uint32_t)d;
	}
	return x;
}

static bool str_eq_view(const char *s, size_t slen, const struct sip_msg *m, sip_view v)
{
	return v.len == slen && memcmp(m->buf + v.off, s, slen) == 0;
}

/* Which leg of d a request came from: 0 (A), 1 (B) or -1 when it matches none. */
static int leg_of_request(const struct shard_dialog *d, const struct sip_msg *m)
{
	/* a slot kept for the call's other forks holds no dialog of its own:
	 * the first fork's tags are emptied (shard_dialog_retire_first_fork),
	 * and an empty tag would match a request that carries none */
	if (shard_dialog_first_fork_retired(d))
		return -1;
	for (int i = 0; i < 2; i++) {
		const struct sip_session *s = &d->legs[i];
		if (str_eq_view(s->call_id, s->call_id_len, m, m->call_id) &&
		    str_eq_view(s->local_tag, s->local_tag_len, m, m->to.tag) &&
		    str_eq_view(s->remote_tag, s->remote_tag_len, m, m->from.tag))
			return i;
	}
	return -1;
}

static void answer(struct relay_ctx *rc, const struct sip_msg *m, int status, const char *extra,
		   char *out, size_t cap, struct relay_result *res)
{
	int n = sip_respond_from(m, status, NULL, NULL, extra, rc->src, rc->src_len, out, cap);
	if (n < 0) {
		res->outcome = RELAY_DROP;
		res->drop = RELAY_DROP_NO_BUFFER;
		counter_inc(&rc->drops[RELAY_DROP_NO_BUFFER]);
		return;
	}
	res->outcome = RELAY_ANSWER;
	res->status = status;
	res->len = n;
	counter_inc(&rc->answered[status / 100]);
}

/* out[0..n) goes to the peer of leg to. */
static void send_to_leg(struct relay_result *res, const struct sip_session *to, int n)
{
	res->outcome = RELAY_SEND;
	res->len = n;
	res->dst = (const struct sockaddr *)&to->peer;
	res->dst_len = to->peer_len;
}

/* A request from leg s came from another address than s's peer: kept with
 * its transaction t, for its response (SHARD_TXN_SRC). Only when the head
 * leaves room for it (nearly always): else the response goes to the peer. */
static void keep_source(struct relay_ctx *rc, struct shard_txn *t, const struct sip_session *s)
{
	uint32_t len = (uint32_t)rc->src_len;
	char *room;

	if (!rc->src || !len || len > sizeof(struct sockaddr_in6) ||
	    (len == s->peer_len && memcmp(rc->src, &s->peer, len) == 0))
		return;
	room = shard_txn_src_room(rc->table, t);
	if (!room)
		return;
	memset(room, 0, SHARD_TXN_SRC_SIZE);
	memcpy(room, rc->src, len);
	memcpy(room + sizeof(struct sockaddr_in6), &len, sizeof(len));
	t->leg |= SHARD_TXN_SRC;
}

/* The address request t came from when it was not its leg's peer
 * (SHARD_TXN_SRC), into *to and *to_len; false when t keeps none. */
static bool txn_source(const struct relay_ctx *rc, const struct shard_txn *t,
		       struct sockaddr_in6 *to, socklen_t *to_len)
{
	const char *room = (t->leg & SHARD_TXN_SRC) ? shard_txn_src_room(rc->table, t) : NULL;
	uint32_t len;

	if (!room)
		return false;
	memcpy(&len, room + sizeof(struct sockaddr_in6), sizeof(len));
	if (!len || len > sizeof(*to))
		return false;
	memcpy(to, room, sizeof(*to));
	*to_len = (socklen_t)len;
	return true;
}

/* Where a response to request t of leg s goes (RFC 3261 18.2.2): the
 * address t came from (SHARD_TXN_SRC), else s's peer. */
static void txn_reply_to(const struct relay_ctx *rc, const struct shard_txn *t,
			 const struct sip_session *s, struct sockaddr_in6 *to, socklen_t *to_len)
{
	if (txn_source(rc, t, to, to_len))
		return;
	memcpy(to, &s->peer, sizeof(*to));
	*to_len = s->peer_len;
}

/* A response to request t, n bytes in out, goes back to its sender: the
 * address it came from (SHARD_TXN_SRC), else leg `back`'s peer. */
static void send_back(struct relay_ctx *rc, struct relay_result *res, const struct shard_txn *t,
		      const struct sip_session *back, int n)
{
	socklen_t len;

	send_to_leg(res, back, n);
	if (txn_source(rc, t, &rc->resp_dst, &len)) {
		res->dst = (const struct sockaddr *)&rc->resp_dst;
		res->dst_len = len;
	}
}

static void drop(struct relay_ctx *rc, enum relay_drop why, struct relay_result *res)
{
	res->outcome = RELAY_DROP;
	res->drop = why;
	counter_inc(&rc->drops[why]);
}

/* The status code of a message/sipfrag body's status line, or 0. */
static uint16_t sipfrag_status(const struct sip_msg *m)
{
	const char *b = m->buf + m->body.off;

	if (m->body.len < 12 || memcmp(b, "SIP/2.0 ", 8) != 0)
		return 0;
	uint16_t v = 0;
	for (int i = 8; i < 11; i++) {
		if (b[i] < '0' || b[i] > '9')
			return 0;
		v = (uint16_t)(v * 10 + (b[i] - '0'));
	}
	return v >= 100 && v <= 699 ? v : 0;
}

/* True when the Subscription-State of m says terminated (RFC 6665 8.2.3). */
static bool subscription_terminated(const struct sip_msg *m)
{
	static const char name[] = "Subscription-State";
	sip_view state, none;

	for (uint16_t i = 0; i < m->nhdrs; i++) {
		const struct sip_hdr_line *h = &m->hdrs[i];
		if (sip_view_ieq(m->buf, h->name, name, sizeof(name) - 1))
			return sip_token_params(m->buf, h->value, NULL, &state, &none) == 0 &&
			       sip_view_ieq(m->buf, state, "terminated", 10);
	}
	return false;
}

/* The digits of v as a number, or -1 when v is not 1 to 10 digits within 32
 * bits. */
static int64_t view_u32(const char *buf, sip_view v)
{
	uint64_t x = 0;

	if (!v.len || v.len > 10)
		return -1;
	for (uint16_t i = 0; i < v.len; i++) {
		unsigned c = (unsigned)(unsigned char)buf[v.off + i] - '0';
		if (c > 9)
			return -1;
		x = x * 10 + c;
	}
	return x <= UINT32_MAX ? (int64_t)x : -1;
}

/*
 * True when m, from leg from_leg of d, is a NOTIFY about the operator's REFER:
 * that REFER went to this leg, and the Event is refer with the REFER's CSeq
 * as id, or with no id when ours was the first REFER this leg was sent (RFC
 * 3515 2.4.6: only the first REFER a UA receives in a dialog may go without).
 * A NOTIFY about a REFER that one side sent the other (relayed) carries that
 * REFER's CSeq on this leg instead, or no id when that REFER came first.
 */
static bool is_refer_notify(const struct shard_dialog *d, int from_leg, const struct sip_msg *m)
{
	sip_view package, id;

	if (m->method_id != SIP_METHOD_NOTIFY || !(d->refer & SHARD_REFER_STATE) ||
	    !!(d->refer & SHARD_REFER_LEG_B) != (from_leg == SHARD_LEG_B) ||
	    sip_token_params(m->buf, m->event, "id", &package, &id) != 0 ||
	    !sip_view_ieq(m->buf, package, "refer", 5))
		return false;
	if (!id.len) {
		/* Once the transfer is done, only a retransmission (a CSeq not
		 * above that leg's last) is still ours: a newer NOTIFY without id
		 * is about a REFER relayed later, against the RFC but not ours.
		 * After Timer N, ours is the subscription given up (481). */
		if (d->refer & SHARD_REFER_NOT_FIRST)
			return false;
		const struct sip_session *s = &d->legs[from_leg];
		return (d->refer & SHARD_REFER_STATE) == SHARD_REFER_ACTIVE ||
		       shard_refer_failed(d) ||
		       (s->remote_cseq_set && m->cseq.num <= s->remote_cseq);
	}
	/* an id past 32 bits names no REFER of ours */
	return view_u32(m->buf, id) == (int64_t)d->refer_cseq;
}

void relay_take_remote_target(struct relay_ctx *rc, struct shard_dialog *d, int leg,
			      const struct sip_msg *m)
{
	if (!m->ncontacts)
		return;
	const sip_view u = m->contacts[0].uri.whole;
	if (!shard_leg_set_target(rc->table, d, leg, m->buf + u.off, u.len))
		counter_inc(&rc->target_refresh_too_long);
}

/* Answers a NOTIFY about the operator's REFER and keeps what it says. One
 * that comes after Timer N gave the subscription up (no NOTIFY within 64*T1
 * of the 2xx, worker.c) is for a subscription that no longer exists: 481
 * (RFC 6665 4.1.3), and the transfer stays failed. */
static void answer_refer_notify(struct relay_ctx *rc, struct shard_dialog *d,
				struct sip_session *src, const struct sip_msg *m, char *out,
				size_t cap, struct relay_result *res)
{
	struct relay_notified *e = &rc->notified[d->slot % RELAY_NOTIFIED_SLOTS];
	int leg = (int)(src - d->legs);

	/* the sender's CSeq space is the one relayed requests use (RFC 3261
	 * 12.2.2); but a NOTIFY answered here before is a retransmission, which
	 * gets its answer again and changes nothing (17.2.2) */
	if (src->remote_cseq_set && m->cseq.num < src->remote_cseq) {
		if (e->status && e->slot == d->slot && e->gen == d->gen && e->leg == leg &&
		    e->cseq == m->cseq.num)
			answer(rc, m, e->status, NULL, out, cap, res);
		else
			answer(rc, m, 500, "Retry-After: 1\r\n", out, cap, res);
	} else if (shard_refer_failed(d)) {
		answer(rc, m, 481, NULL, out, cap, res);
	} else {
		src->remote_cseq = m->cseq.num;
		src->remote_cseq_set = true;
		/* a NOTIFY is a target refresh (RFC 3261 12.2.2), answered here
		 * or relayed: the sender's next request from us goes to its
		 * Contact */
		relay_take_remote_target(rc, d, leg, m);
		/* the transfer's state and status agree (table.h) */
		shard_dialog_write_begin(d);
		shard_refer_notified(d, sipfrag_status(m));
		if (subscription_terminated(m))
			shard_refer_set(d, SHARD_REFER_DONE);
		shard_dialog_write_end(rc->table, d);
		answer(rc, m, 200, NULL, out, cap, res);
	}
	if (res->outcome == RELAY_ANSWER && res->status != 500)
		*e = (struct relay_notified){d->slot, d->gen, m->cseq.num, (uint8_t)leg,
					     (uint16_t)res->status};
	if (res->outcome == RELAY_ANSWER)
		counter_inc(&rc->refer_notifies);
}

bool relay_is_target_refresh(uint8_t method)
{
	return method == SIP_METHOD_INVITE || method == SIP_METHOD_UPDATE ||
	       method == SIP_METHOD_NOTIFY || method == SIP_METHOD_REFER ||
	       method == SIP_METHOD_SUBSCRIBE;
}

/* "<uri>;tag=tag" into w. */
static void put_name_addr(struct wbuf *w, const char *uri, size_t uri_len, const char *tag,
			  size_t tag_len)
{
	wbuf_put(w, "<", 1);
	wbuf_put(w, uri, uri_len);
	wbuf_put(w, ">;tag=", 6);
	wbuf_put(w, tag, tag_len);
}

void relay_put_contact(struct wbuf *w, const char *advertise)
{
	wbuf_put(w, "<sip:sipshard@", 14);
	wbuf_puts(w, advertise);
	wbuf_put(w, ">", 1);
}

bool relay_503_as_500(struct sip_wspec *w, int status)
{
	static const char line[] = "SIP/2.0 500 Server Internal Error";

	if (status != 503)
		return false;
	w->start_line = line;
	w->start_line_len = sizeof(line) - 1;
	w->remove |= SIP_HBIT(SIP_HDR_RETRY_AFTER);
	return true;
}

void relay_put_contact_line(struct wbuf *w, const char *advertise)
{
	wbuf_put(w, "Contact: ", 9);
	relay_put_contact(w, advertise);
	wbuf_put(w, "\r\n", 2);
}

/* The same line into buf (cap bytes), NUL-terminated; its length, 0 when it
 * does not fit. */
static size_t contact_line(const struct relay_ctx *rc, char *buf, size_t cap)
{
	struct wbuf w = {buf, 0, cap, false};

	relay_put_contact_line(&w, rc->advertise);
	wbuf_put(&w, "", 1);
	return w.overflow ? 0 : w.len - 1;
}

uint32_t relay_session_asked(const struct sip_msg *req)
{
	if (!req->session_expires.len || !sip_has_option_tag(req, SIP_HDR_SUPPORTED, "timer"))
		return 0;
	return req->session_expires_secs;
}

void relay_put_session_expires(struct wbuf *w, uint32_t secs)
{
	wbuf_put(w, "Session-Expires: ", 17);
	wbuf_put_uint(w, secs);
	wbuf_puts(w, ";refresher=uac\r\nRequire: timer\r\n");
}

static bool is_session_refresh(uint8_t method)
{
	return method == SIP_METHOD_INVITE || method == SIP_METHOD_UPDATE;
}

/* Whether a body of this method (or of a final response to it) is an offer or
 * an answer of the session model's offer/answer state (RFC 3264, RFC 6337):
 * INVITE, UPDATE and PRACK. In an early dialog too: a PRACK may carry an
 * offer when the reliable 18x had the answer, or the answer to the 18x's
 * offer (RFC 3262 5, RFC 6337 2.2), an UPDATE an offer (RFC 3311 5.1), their
 * 2xx the answer. The call's own INVITE and its responses are the
 * controller's (a re-INVITE in an early dialog is refused before this); its
 * install at the 2xx keeps what these set (shard_dialog_install_packed). An
 * INFO's or MESSAGE's body is no session description. */
static bool carries_session(uint8_t method)
{
	return is_session_refresh(method) || method == SIP_METHOD_PRACK;
}

/* The branch of an ACK of ours to a 2xx to the INVITE with CSeq cseq in the
 * dialog in slot/gen: a transaction of its own (RFC 3261 17.1.1.3), apart
 * from every request's by the generation's top bit, the same for each copy of
 * that ACK, and unique across calls and processes (8.1.1.7) by salt, random
 * (a transaction's, or a hash of the leg's local tag, which holds one). The
 * slot, generation and CSeq alone were the same in every process that
 * started with empty tables. */
static void ack_branch(const struct relay_ctx *rc, char *branch, size_t cap, uint32_t slot,
		       uint32_t gen, uint32_t cseq, uint32_t salt)
{
	shard_branch_encode(branch, cap, rc->shard, slot, gen ^ 0x80000000u, cseq ^ salt);
}

/* Whether a 408 or 481 to a request of this method says the dialog is gone
 * (RFC 3261 12.2.1.2): those of the call's session. A NOTIFY, SUBSCRIBE or
 * REFER belongs to a subscription of its own, which such an answer ends
 * alone (RFC 5057 5.1); a BYE's final ends the call anyway; a PRACK's 481
 * says its RAck matched no provisional still sent (RFC 3262 3: one that
 * crossed the 2xx), nothing of the dialog. */
static bool ends_on_gone(uint8_t method)
{
	return method == SIP_METHOD_INVITE || method == SIP_METHOD_UPDATE ||
	       method == SIP_METHOD_INFO || method == SIP_METHOD_MESSAGE ||
	       method == SIP_METHOD_OPTIONS;
}

/* Request t failed (a final of 300 or more, one too large to relay that
 * sipshard answered 500, or none before it expired), sent from leg back to
 * leg resp: the offer it made is refused, the session as it was (RFC 3264
 * 5, RFC 3261 14.1), unless a reliable provisional made its exchange
 * already, which stays (RFC 6141 5). The one place for the three: expiry
 * once undid such an exchange. */
static void offer_failed(struct relay_ctx *rc, struct shard_dialog *d, const struct shard_txn *t,
			 struct sip_session *resp, struct sip_session *back)
{
	if (!(t->leg & SHARD_TXN_OFFER) || (t->leg & SHARD_TXN_EARLY_SDP))
		return;
	/* bodies and both legs' states agree (table.h) */
	shard_dialog_write_begin(d);
	session_offer_rejected(resp, back);
	shard_dialog_write_end(rc->table, d);
}

/* The first final response m to request t that carries_session, from leg
 * resp to leg back: its body is the answer to the request's offer, or the
 * offer of a request that had none (its ACK answers it); a failure rejects
 * the offer the request made, and only that one (RFC 3264 5: the session
 * stays as it was). A request without one (a bodiless PRACK, an answer in
 * a PRACK) rejects none when it fails: the offer open then, the INVITE's
 * or an UPDATE's, waits for its own answer. */
static void final_offer_answer(struct relay_ctx *rc, struct shard_dialog *d,
			       const struct sip_msg *m, const struct shard_txn *t,
			       struct sip_session *resp, struct sip_session *back)
{
	if (m->status >= 300) {
		offer_failed(rc, d, t, resp, back);
	} else if (m->body.len && !(t->leg & SHARD_TXN_EARLY_SDP)) {
		/* bodies and both legs' states agree: written as an install
		 * is (table.h) */
		shard_dialog_write_begin(d);
		relay_sdp_from_peer(m, resp, back);
		shard_dialog_write_end(rc->table, d);
	}
}

/* An Event id to write with another number (build_request). */
struct event_id {
	sip_view id; /* the id parameter's value in the Event; len 0: none to change */
	uint32_t to;
};

/*
 * A request of the subscription of the REFER one side sent the other (the
 * last relayed that was not refused, d->refer_fwd_*) names it by Event id
 * with the REFER's CSeq (RFC 3515 2.4.6), which differs between the legs:
 * the NOTIFYs from the leg it went to carry our CSeq there, and its sender
 * knows the REFER by its own (a NOTIFY with another id is for no
 * subscription of its: 481 and the transfer's progress is lost); a
 * SUBSCRIBE from the sender (refreshing or ending it) the other way round.
 * Fills *ev when m, from leg from_leg, is one such; its id then crosses
 * mapped. A REFER relayed before that one is not mapped any more (one pair
 * per call: table.h).
 */
static void refer_event_id(const struct shard_dialog *d, int from_leg, const struct sip_msg *m,
			   struct event_id *ev)
{
	sip_view package, id;

	ev->id.len = 0;
	if (!d->refer_fwd_out ||
	    (m->method_id != SIP_METHOD_NOTIFY && m->method_id != SIP_METHOD_SUBSCRIBE) ||
	    sip_token_params(m->buf, m->event, "id", &package, &id) != 0 ||
	    !sip_view_ieq(m->buf, package, "refer", 5))
		return;
	int went_to = (d->refer_fwd_out & SHARD_REFER_FWD_LEG_B) ? SHARD_LEG_B : SHARD_LEG_A;
	uint32_t ours = d->refer_fwd_out & ~SHARD_REFER_FWD_LEG_B;
	int64_t v = view_u32(m->buf, id);
	if (m->method_id == SIP_METHOD_NOTIFY && from_leg == went_to && v == ours)
		*ev = (struct event_id){id, d->refer_fwd_in};
	else if (m->method_id == SIP_METHOD_SUBSCRIBE && from_leg != went_to &&
		 v == d->refer_fwd_in)
		*ev = (struct event_id){id, ours};
}

/* Whether the parameter name..name_end (=val..val_end, an empty range when
 * it has no value) is one an address rewritten to ours leaves out: maddr
 * (RFC 3261 19.1.1: the request would go there instead), or a transport
 * other than UDP, the only one sipshard listens on (transport=udp is kept as
 * written; a header parameter's value may be a quoted string, RFC 3261 25.1
 * gen-value, and "udp" is udp there). */
static bool addr_param_dropped(const char *name, const char *name_end, const char *val,
			       const char *val_end)
{
	if (sip_unescaped_ieq(name, name_end, "maddr"))
		return true;
	if (val_end - val >= 2 && val[0] == '"' && val_end[-1] == '"') {
		val++;
		val_end--;
	}
	return sip_unescaped_ieq(name, name_end, "transport") &&
	       !sip_unescaped_ieq(val, val_end, "udp");
}

/*
 * The address a, header value `value` of buf, into w naming us: its URI's
 * host and port replaced by advertise, the host:port of our Contact
 * (relay_put_contact), and its maddr and non-UDP transport parameters left
 * out (addr_param_dropped). Those of its header parameters too: without
 * '<' and '>' every parameter after the URI is a header parameter, not the
 * URI's (RFC 3261 20.10, RFC 3515 2.1), and should cross as it came, but a
 * recipient that reads them as the URI's would send to the maddr, a host of
 * the sender's network; after a name-addr's '>' nobody reads them as the
 * URI's, but a maddr there names that host all the same, and neither
 * Refer-To nor Referred-By gives those names a meaning of their own.
 * Everything else as it came: the display name, the scheme and user part,
 * the other parameters in order, the ?headers part (RFC 3515 2.1: an
 * attended transfer's Replaces), the other header parameters byte for byte.
 * False, and nothing written, for a scheme other than sip and sips: a tel:
 * URI names no host. A sips: Refer-To never comes here (refer_to_refusal).
 */
static bool put_addr_ours(struct wbuf *w, const char *b, sip_view value, const struct sip_addr *a,
			  const char *advertise)
{
	const struct sip_uri *u = &a->uri;

	if ((u->scheme != SIP_SCHEME_SIP && u->scheme != SIP_SCHEME_SIPS) || !u->host.len)
		return false;
	size_t start = w->len;
	size_t uri_end = (size_t)u->whole.off + u->whole.len;
	size_t end = (size_t)value.off + value.len;
	size_t p = (size_t)u->host.off + u->host.len;
	/* the port as written: ":0" is one too, with u->port 0 */
	if (p < uri_end && b[p] == ':')
		for (p++; p < uri_end && b[p] >= '0' && b[p] <= '9'; p++)
			;
	wbuf_put(w, b + value.off, (size_t)(u->host.off - value.off));
	wbuf_puts(w, advertise);
	if (u->params.len) {
		/* up to the first parameter's ';' (nothing in a URI that parsed) */
		wbuf_put(w, b + p, (size_t)(u->params.off - 1 - p));
		size_t q = u->params.off, params_end = q + u->params.len;
		while (q < params_end) {
			const char *semi = memchr(b + q, ';', params_end - q);
			size_t e = semi ? (size_t)(semi - b) : params_end;
			const char *eq = memchr(b + q, '=', e - q);
			if (!addr_param_dropped(b + q, eq ? eq : b + e, eq ? eq + 1 : b + e,
						b + e)) {
				wbuf_put(w, ";", 1);
				wbuf_put(w, b + q, e - q);
			}
			q = e + 1;
		}
		p = params_end;
	}
	if (a->params.len) {
		/* the rest of the URI (and a name-addr's '>'), then each
		 * header parameter kept, with the LWS before its ';' */
		size_t after = uri_end;
		if (u->whole.off != value.off) {
			const char *gt = memchr(b + uri_end, '>', a->params.off - uri_end);
			if (!gt) {
				w->len = start;
				return false;
			}
			after = (size_t)(gt + 1 - b);
		}
		uint16_t pos = (uint16_t)after;
		struct sip_param prm;
		int rc;
		wbuf_put(w, b + p, after - p);
		while ((rc = sip_param_next(b, a->params, &pos, &prm)) > 0) {
			const char *val = b + prm.value.off;
			if (!addr_param_dropped(b + prm.name.off, b + prm.name.off + prm.name.len,
						val, val + prm.value.len))
				wbuf_put(w, b + prm.start, (size_t)(prm.end - prm.start));
		}
		if (rc < 0) {
			w->len = start;
			return false;
		}
		p = pos;
	}
	wbuf_put(w, b + p, end - p);
	return true;
}

/* The Refer-To of REFER m (rewrite_refer_to) into w naming us
 * (put_addr_ours). False, and nothing written, when it crosses unchanged:
 * no Refer-To, more than one (RFC 3515 2.4.1: the recipient refuses it), or
 * no sip URI. */
static bool put_refer_to(struct wbuf *w, const struct sip_msg *m, const char *advertise)
{
	return m->refer_to.len && sip_hdr_lines(m, SIP_HDR_REFER_TO) == 1 &&
	       m->refer_to_addr.uri.scheme == SIP_SCHEME_SIP &&
	       put_addr_ours(w, m->buf, m->refer_to, &m->refer_to_addr, advertise);
}

/* The status REFER m, relayed with rewrite_refer_to, is answered with
 * instead, or 0. 403 when its one Refer-To is a sips: URI. That asks the
 * transferee for TLS to its host (RFC 3261 19.1, 26.2), which sipshard,
 * listening on UDP only, cannot be; our address there would leave the
 * transferee nowhere to go, and the sender's would show the other side a
 * host of the sender's network and send the transferee there, past us:
 * what the key is set to prevent. Refused, the transferor learns at once
 * that this transfer cannot be made (RFC 3515 2.4.2) and may make it
 * another way. 400 when it has no Refer-To or more than one (RFC 3515
 * 2.4.1: the recipient rejects it so): relayed unchanged, the other side
 * would see the hosts they name before rejecting it. */
static int refer_to_refusal(const struct relay_ctx *rc, const struct sip_msg *m)
{
	if (m->method_id != SIP_METHOD_REFER || !rc->rewrite_refer_to)
		return 0;
	if (sip_hdr_lines(m, SIP_HDR_REFER_TO) != 1)
		return 400;
	return m->refer_to.len && m->refer_to_addr.uri.scheme == SIP_SCHEME_SIPS ? 403 : 0;
}

/* A Refer-To as long as the parser takes (a 2048-byte URI and 1024 bytes
 * around it, parse.c) with an advertise of up to 255 bytes in its host and
 * port's place. */
#define RELAY_REFER_TO_MAX (2048 + 1024 + 256)

/*
 * The Referred-By of REFER m (RFC 3892 3: the referrer's address, a
 * name-addr or addr-spec with header parameters) into w naming us, as the
 * Refer-To is (put_addr_ours): the transferor's host is no more the other
 * side's to see than the caller's is in leg B's From (setup_msg.c). False,
 * and nothing written, when it crosses unchanged: more than one line, a
 * value that is no one address or is longer than a Refer-To may be, no sip
 * or sips URI (no host of ours to name: a sips: one here is read, not
 * dialled), or a cid parameter: that names the Referred-By token of the body
 * (RFC 3892 2.1, an S/MIME-signed copy of this value), which the refer
 * target checks this value against, and a rewrite would make it fail.
 */
static bool put_referred_by(struct wbuf *w, const struct sip_msg *m, const char *advertise)
{
	const struct sip_hdr_line *h = sip_find_hdr(m, SIP_HDR_REFERRED_BY);
	struct sip_addr a;
	struct sip_param prm;

	if (sip_hdr_lines(m, SIP_HDR_REFERRED_BY) != 1 || h->value.len > RELAY_REFER_TO_MAX - 256 ||
	    sip_parse_addr(&a, m->buf, h->value.off, h->value.len) != 0)
		return false;
	/* the name read as addr_param_dropped reads one: escapes too */
	uint16_t pos = a.params.off ? (uint16_t)(a.params.off - 1) : 0;
	while (a.params.len && sip_param_next(m->buf, a.params, &pos, &prm) > 0) {
		const char *name = m->buf + prm.name.off;
		if (sip_unescaped_ieq(name, name + prm.name.len, "cid"))
			return false;
	}
	return put_addr_ours(w, m->buf, h->value, &a, advertise);
}

/* Writes the request for leg `to` into out. Its new header values are put
 * one after another into one scratch buffer with wbuf rather than snprintf:
 * this runs for every relayed request. */
static int build_request(struct relay_ctx *rc, const struct sip_msg *m,
			 const struct sip_session *to, const char *branch, uint32_t cseq_out,
			 const struct event_id *ev, char *out, size_t cap)
{
	/* Via and Contact with an advertise of up to 255 bytes, From and To with
	 * URIs of up to SESSION_URI_MAX and tags of SESSION_TAG_MAX, CSeq with
	 * its method (a method too long for the rest: -ENOSPC, answered 513) */
	char scratch[2048];
	/* and a REFER's Refer-To and Referred-By rewritten, apart (no room
	 * taken from those) */
	char addrs[2 * RELAY_REFER_TO_MAX];
	struct wbuf r = {addrs, 0, sizeof(addrs), false};
	struct wbuf v = {scratch, 0, sizeof(scratch), false};
	struct sip_wspec w = {0};
	size_t from, tohdr, cseq, mf, rack, contact;

	w.ruri = to->remote_target;
	w.ruri_len = to->remote_target_len;
	wbuf_put(&v, "Via: SIP/2.0/UDP ", 17);
	wbuf_puts(&v, rc->advertise);
	wbuf_put(&v, ";branch=", 8);
	wbuf_puts(&v, branch);
	wbuf_put(&v, ";rport\r\n", 8);
	w.prepend = scratch;
	w.prepend_len = v.len;
	if (to->route_set_len) {
		/* route set stored pre-formatted as "Route: <...>,<...>\r\n" */
		w.append = to->route_set;
		w.append_len = to->route_set_len;
	}
	w.remove = SIP_HBIT(SIP_HDR_VIA) | SIP_HBIT(SIP_HDR_ROUTE) | SIP_HBIT(SIP_HDR_RECORD_ROUTE);
	sip_wspec_strip(&w, &rc->strip);
	from = v.len;
	put_name_addr(&v, to->local_uri, to->local_uri_len, to->local_tag, to->local_tag_len);
	tohdr = v.len;
	put_name_addr(&v, to->remote_uri, to->remote_uri_len, to->remote_tag, to->remote_tag_len);
	cseq = v.len;
	wbuf_put_uint(&v, cseq_out);
	wbuf_put(&v, " ", 1);
	wput_view(&v, m->buf, m->cseq.method);
	mf = v.len;
	/* at least 0: relay_request answered or dropped anything lower */
	wbuf_put_uint(&v, (uint32_t)(m->max_forwards - 1));
	rack = v.len;
	/* RFC 3262 7.2: a PRACK's RAck names the INVITE by its CSeq on the leg
	 * it is sent on, the INVITE this leg was last sent (the RSeq crosses
	 * unchanged in the relayed provisional response) */
	bool with_rack = m->method_id == SIP_METHOD_PRACK && m->has_rack;
	if (with_rack) {
		wbuf_put_uint(&v, m->rack.rseq);
		wbuf_put(&v, " ", 1);
		wbuf_put_uint(&v, to->invite_cseq);
		wbuf_put(&v, " ", 1);
		wput_view(&v, m->buf, m->rack.method);
	}
	contact = v.len;
	bool with_contact = m->first[SIP_HDR_CONTACT] || relay_is_target_refresh(m->method_id);
	if (with_contact)
		relay_put_contact(&v, rc->advertise);
	size_t event = v.len;
	bool with_event = ev && ev->id.len;
	if (with_event) {
		/* the Event as it came, but for its id's number */
		wbuf_put(&v, m->buf + m->event.off, (size_t)(ev->id.off - m->event.off));
		wbuf_put_uint(&v, ev->to);
		wbuf_put(&v, m->buf + ev->id.off + ev->id.len,
			 (size_t)(m->event.off + m->event.len - (ev->id.off + ev->id.len)));
	}
	/* (a Refer-To strip_headers left out stays out: config_keys.c refuses it) */
	bool rewrite = m->method_id == SIP_METHOD_REFER && rc->rewrite_refer_to &&
		       !(w.remove & SIP_HBIT(SIP_HDR_REFER_TO));
	bool with_refer_to = false, with_referred_by = false, has_referred_by = false;
	size_t referred_by = 0;
	if (rewrite) {
		with_refer_to = put_refer_to(&r, m, rc->advertise);
		referred_by = r.len;
		has_referred_by =
		    m->first[SIP_HDR_REFERRED_BY] && !(w.remove & SIP_HBIT(SIP_HDR_REFERRED_BY));
		with_referred_by = has_referred_by && put_referred_by(&r, m, rc->advertise);
	}
	if (v.overflow || r.overflow)
		return -ENOSPC;
	w.replace[0] = (struct sip_replace){SIP_HDR_FROM, scratch + from, (uint16_t)(tohdr - from)};
	w.replace[1] = (struct sip_replace){SIP_HDR_TO, scratch + tohdr, (uint16_t)(cseq - tohdr)};
	w.replace[2] = (struct sip_replace){SIP_HDR_CALL_ID, to->call_id, to->call_id_len};
	w.replace[3] = (struct sip_replace){SIP_HDR_CSEQ, scratch + cseq, (uint16_t)(mf - cseq)};
	w.replace[4] =
	    (struct sip_replace){SIP_HDR_MAX_FORWARDS, scratch + mf, (uint16_t)(rack - mf)};
	w.nreplace = 5;
	if (with_rack)
		w.replace[w.nreplace++] =
		    (struct sip_replace){SIP_HDR_RACK, scratch + rack, (uint16_t)(contact - rack)};
	if (with_contact)
		w.replace[w.nreplace++] = (struct sip_replace){SIP_HDR_CONTACT, scratch + contact,
							       (uint16_t)(event - contact)};
	if (with_event)
		w.replace[w.nreplace++] =
		    (struct sip_replace){SIP_HDR_EVENT, scratch + event, (uint16_t)(v.len - event)};
	if (rewrite) {
		if (with_refer_to)
			w.replace[w.nreplace++] =
			    (struct sip_replace){SIP_HDR_REFER_TO, addrs, (uint16_t)referred_by};
		if (with_referred_by)
			w.replace[w.nreplace++] =
			    (struct sip_replace){SIP_HDR_REFERRED_BY, addrs + referred_by,
						 (uint16_t)(r.len - referred_by)};
	}
	int n = sip_write(m, &w, out, cap);
	/* counted as relayed, retransmissions too (relayed_req) */
	if (n >= 0 && rewrite) {
		if (with_refer_to)
			counter_inc(&rc->refer_to_rewritten);
		else
			counter_inc(&rc->refer_to_kept);
		if (with_referred_by)
			counter_inc(&rc->referred_by_rewritten);
		else if (has_referred_by)
			counter_inc(&rc->referred_by_kept);
	}
	return n;
}

int relay_write_request(struct relay_ctx *rc, struct sip_session *s, const struct relay_req *req,
			const char *branch, char *out, size_t cap)
{
	const char *method = sip_method_name((enum sip_method)req->method);
	if (!method)
		return -EINVAL;
	/* a REFER, like every request that may refresh the target, names ours
	 * (RFC 3515 2: exactly one Contact) */
	char contact[300] = ""; /* an advertise of up to 255 bytes */
	if (relay_is_target_refresh(req->method) && !contact_line(rc, contact, sizeof(contact)))
		return -ENOSPC;
	int n = snprintf(out, cap,
			 "%s %.*s SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP %s;branch=%s;rport\r\n"
			 "Max-Forwards: 70\r\n"
			 "%.*s"
			 "From: <%.*s>;tag=%.*s\r\n"
			 "To: <%.*s>;tag=%.*s\r\n"
			 "Call-ID: %.*s\r\n"
			 "CSeq: %u %s\r\n"
			 "%s%s%s%s%s"
			 "Content-Length: %zu\r\n\r\n",
			 method, (int)s->remote_target_len, s->remote_target, rc->advertise, branch,
			 (int)s->route_set_len, s->route_set, (int)s->local_uri_len, s->local_uri,
			 (int)s->local_tag_len, s->local_tag, (int)s->remote_uri_len, s->remote_uri,
			 (int)s->remote_tag_len, s->remote_tag, (int)s->call_id_len, s->call_id,
			 s->local_cseq + 1, method, contact, req->extra ? req->extra : "",
			 req->ctype ? "Content-Type: " : "", req->ctype ? req->ctype : "",
			 req->ctype ? "\r\n" : "", req->ctype ? req->body_len : 0);
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	size_t len = (size_t)n;
	if (req->ctype && req->body_len) {
		if (req->body_len > cap - len)
			return -ENOSPC;
		memcpy(out + len, req->body, req->body_len);
		len += req->body_len;
	}
	s->local_cseq++;
	return (int)len;
}

/*
 * How ended[] finds the final of a request whose dialog has ended: by the
 * dialog's tags, ours toward its sender (the request's To tag, len bytes)
 * and the sender's (its From tag, their_len bytes), which no dialog of the
 * shard shares with another while an entry lingers: ours name slot,
 * generation and salt, and the forks of a call, which share ours toward the
 * callee (leg B's From tag), have To tags of their own (RFC 3261 12.1).
 * Hashed under rc->ended_seed, so that a peer cannot compute the key of its
 * own tags, nor aim its entries (ended_at) at another dialog's. A hash: a
 * request whose tags had another's key would only be told how that other
 * request was answered.
 */
static uint64_t ended_key(const struct relay_ctx *rc, const char *ours, size_t len,
			  const char *theirs, size_t their_len)
{
	return keyhash_bytes(keyhash_bytes(rc->ended_seed, ours, len), theirs, their_len);
}

/* The entry of ended[] for the request with this CSeq under the tags of
 * key: the key plus the CSeq, so that the requests one side had open at
 * an end (CSeqs a few apart) never take each other's place, and the two
 * sides' (keys of their own) seldom do. */
static struct relay_ended *ended_at(struct relay_ctx *rc, uint64_t key, uint32_t cseq)
{
	return &rc->ended[(key + cseq) % RELAY_ENDED_SLOTS];
}

/* ended_key of the tags of request m: its To tag (ours), its From tag. */
static uint64_t request_key(const struct relay_ctx *rc, const struct sip_msg *m)
{
	return ended_key(rc, m->buf + m->to.tag.off, m->to.tag.len, m->buf + m->from.tag.off,
			 m->from.tag.len);
}

/* ended_final for the request with this key, CSeq and method. */
static uint16_t ended_final_at(struct relay_ctx *rc, uint64_t key, uint32_t cseq, uint8_t method)
{
	const struct relay_ended *e = ended_at(rc, key, cseq);

	if (!e->status || e->tag_key != key || e->cseq != cseq || e->method != method ||
	    rc->now_ms - e->at_ms > RELAY_ENDED_LINGER_MS)
		return 0;
	return e->status;
}

/*
 * The final that the request m, of method `method` (m's, or INVITE for the
 * ACK of one), under a To tag of ours that matches no dialog held, had
 * from sipshard or crossing as its dialog ended, for the same tags, CSeq
 * and method: a BYE's that ended its dialog (ended_by_a_bye) or was
 * answered 200 as its dialog ended, another request's 487 then
 * (relay_end_pending). Else 0: a new request (another CSeq) to the ended
 * dialog, or one whose end is no longer known, is for no dialog, 481 (RFC
 * 3261 15.1.2). Each entry answers its own tags only, whatever the slot
 * their dialog was in holds since: a forked call's dialogs share the slot
 * our tags name (the call's own early or confirmed one, the confirmed one
 * a fork answered, which takes that fork's tag there, each fork's early
 * one through the fork's tag or the callee's: controller_forks.c), and a
 * fork's BYE and the first fork's may have the same CSeq (each early
 * dialog counts its own, RFC 3261 12.2.1.1) and other finals.
 */
static uint16_t ended_final(struct relay_ctx *rc, const struct sip_msg *m, uint8_t method)
{
	return ended_final_at(rc, request_key(rc, m), m->cseq.num, method);
}

static struct relay_recent *recent_entry(struct relay_ctx *rc, uint32_t slot, int leg,
					 uint32_t cseq)
{
	uint32_t h = (slot * 2u + (uint32_t)leg) * 0x9e3779b1u ^ cseq * 0x85ebca6bu;
	return &rc->recent[(h ^ h >> 16) % RELAY_RECENT_SLOTS];
}

/* The transaction through which leg from_leg of dialog slot/gen sent a
 * request with this CSeq and method, when its record is still kept: the
 * leg's last, or one of the recent ones; NULL otherwise. */
static struct shard_txn *txn_of_request(struct relay_ctx *rc, const struct sip_session *src,
					uint32_t slot, uint32_t gen, int from_leg, uint32_t cseq,
					uint8_t method)
{
	struct shard_txn *t = shard_txn_get(rc->table, src->last_txn, src->last_txn_gen);

	if (!t || t->in_cseq != cseq || t->method_id != method) {
		const struct relay_recent *r = recent_entry(rc, slot, from_leg, cseq);
		t = shard_txn_get(rc->table, r->txn, r->txn_gen);
	}
	if (!t || t->dialog != slot || t->dialog_gen != gen || shard_txn_from_leg(t) != from_leg ||
	    t->in_cseq != cseq || t->method_id != method)
		return NULL;
	return t;
}

/*
 * The REFER relayed through t was refused (a non-2xx final) or got no final:
 * it made no subscription (RFC 3515 2.4.2), and d's Event id pair goes back
 * to the one in force before it (shard_refer_refused). When a later REFER
 * took the pair while this one waited, that one keeps this one's as the
 * pair to put back: it is given this one's own instead, so that its refusal
 * in turn does not bring back a REFER that made no subscription. The later
 * ones are found through their transactions while they are kept (each
 * names the one before it), RELAY_PENDING_LOOKBACK of them at most.
 */
static void refer_refused(struct relay_ctx *rc, struct shard_dialog *d, const struct shard_txn *t)
{
	if (shard_refer_refused(d, t))
		return;
	uint32_t out = d->refer_fwd_out, in = d->refer_fwd_in;
	for (int k = 0; out && k < RELAY_PENDING_LOOKBACK; k++) {
		int sender = (out & SHARD_REFER_FWD_LEG_B) ? SHARD_LEG_A : SHARD_LEG_B;
		struct shard_txn *later = txn_of_request(rc, &d->legs[sender], d->slot, d->gen,
							 sender, in, SIP_METHOD_REFER);
		if (!later || later == t || shard_refer_fwd_out(later) != out)
			return;
		if (later->refer_prev_out == shard_refer_fwd_out(t) &&
		    later->refer_prev_in == t->in_cseq) {
			later->refer_prev_out = t->refer_prev_out;
			later->refer_prev_in = t->refer_prev_in;
			return;
		}
		out = later->refer_prev_out;
		in = later->refer_prev_in;
	}
}

/*
 * A CANCEL in a dialog, from leg from_leg (src) of dialog slot/gen: it
 * cancels a re-INVITE that leg sent (RFC 3261 9.1). While that INVITE waits
 * for its final, the other leg (dst) is sent a CANCEL with the branch, CSeq
 * number, Request-URI, tags and route the INVITE went with, so that its
 * INVITE server transaction matches it (9.2) and answers 487, which crosses
 * back as any final; the worker answers the sender's CANCEL 200. Once the
 * INVITE has its final, the CANCEL has no effect: 200. One that names no
 * INVITE relayed here goes to the controller, as before (the call's own
 * INVITE is the controller's; it answers 481 for anything else).
 */
static void relay_cancel(struct relay_ctx *rc, const struct sip_msg *m,
			 const struct sip_session *src, const struct sip_session *dst,
			 uint32_t slot, uint32_t gen, int from_leg, char *out, size_t cap,
			 struct relay_result *res)
{
	const struct shard_txn *t =
	    txn_of_request(rc, src, slot, gen, from_leg, m->cseq.num, SIP_METHOD_INVITE);
	if (!t) {
		res->outcome = RELAY_TO_CONTROLLER;
		return;
	}
	if (t->final_class) {
		answer(rc, m, 200, NULL, out, cap, res);
		return;
	}
	char branch[SHARD_BRANCH_MAX];
	shard_branch_encode(branch, sizeof(branch), rc->shard, (uint32_t)(t - rc->table->txns),
			    t->gen, t->salt);
	int n = build_request(rc, m, dst, branch, t->out_cseq, NULL, out, cap);
	if (n < 0) {
		/* like a lost datagram: the sender sends its CANCEL again */
		drop(rc, RELAY_DROP_NO_BUFFER, res);
		return;
	}
	send_to_leg(res, dst, n);
	res->answer_200 = true;
	counter_inc(&rc->answered[2]);
	counter_inc(&rc->relayed_req[SIP_METHOD_CANCEL]);
}

/* The request of leg `leg` of d with this CSeq and method had its final,
 * status, as d ended: ended[] answers its retransmissions with that final,
 * under that leg's tags (the request's), for RELAY_ENDED_LINGER_MS
 * (ended_final). */
static void final_kept(struct relay_ctx *rc, const struct shard_dialog *d, int leg, uint32_t cseq,
		       uint8_t method, int status)
{
	const struct sip_session *s = &d->legs[leg];
	uint64_t key =
	    ended_key(rc, s->local_tag, s->local_tag_len, s->remote_tag, s->remote_tag_len);

	*ended_at(rc, key, cseq) = (struct relay_ended){
	    .cseq = cseq,
	    .status = (uint16_t)status,
	    .method = method,
	    .at_ms = rc->now_ms,
	    .tag_key = key,
	};
}

/* A BYE of leg from_leg of d with this CSeq and final status ends d, in
 * slot/gen: the worker frees it (res), and ended[] answers the BYE's
 * retransmissions (final_kept). */
static void ended_by_a_bye(struct relay_ctx *rc, struct relay_result *res,
			   const struct shard_dialog *d, uint32_t slot, uint32_t gen, int from_leg,
			   uint32_t cseq, int status)
{
	res->dialog_ended = true;
	res->ended_by_leg = (uint8_t)from_leg;
	res->ended_slot = slot;
	res->ended_gen = gen;
	final_kept(rc, d, from_leg, cseq, SIP_METHOD_BYE, status);
}

/* A BYE whose Via, From, To, Call-ID and CSeq lines (a chain of proxies) do
 * not fit the record its response would be written from, and find the
 * long-head pool full, or that does not fit the send buffer once written
 * for the other leg: answered 200 here,
 * as a B2BUA may answer it, and the dialog ends; the worker sends the other
 * leg a BYE of its own (bye_other_leg). A 513 instead left the other leg up
 * until the idle timer, the caller having taken it as the call's end (RFC
 * 3261 15.1.1). ended[] answers its retransmissions. */
static void bye_answered_here(struct relay_ctx *rc, const struct sip_msg *m,
			      const struct shard_dialog *d, uint32_t slot, uint32_t gen,
			      int from_leg, char *out, size_t cap, struct relay_result *res)
{
	answer(rc, m, 200, NULL, out, cap, res);
	if (res->outcome != RELAY_ANSWER)
		return;
	ended_by_a_bye(rc, res, d, slot, gen, from_leg, m->cseq.num, 200);
	res->bye_other_leg = true;
}

/* The transaction of the request with this CSeq that leg `leg` of d sent and
 * that still waits for its final, or NULL. */
static struct shard_txn *waiting_txn(struct relay_ctx *rc, const struct shard_dialog *d, int leg,
				     uint32_t cseq)
{
	const struct sip_session *s = &d->legs[leg];
	struct shard_txn *t = shard_txn_get(rc->table, s->last_txn, s->last_txn_gen);

	if (!t || t->in_cseq != cseq) {
		const struct relay_recent *r = recent_entry(rc, d->slot, leg, cseq);
		t = shard_txn_get(rc->table, r->txn, r->txn_gen);
	}
	if (!t || t->dialog != d->slot || t->dialog_gen != d->gen || shard_txn_from_leg(t) != leg ||
	    t->in_cseq != cseq || t->final_class)
		return NULL;
	return t;
}

/* The entry of resent[] a new 487 takes: the first free one from resent_next
 * on; only when every one waits, the oldest's (the earliest Timer H), which
 * is then resent no more (counted). */
static struct relay_resent *resent_take(struct relay_ctx *rc)
{
	uint32_t pick = rc->resent_next;

	for (uint32_t k = 0; k < RELAY_RESENT_SLOTS; k++) {
		uint32_t i = (rc->resent_next + k) % RELAY_RESENT_SLOTS;
		if (!rc->resent[i].busy) {
			pick = i;
			break;
		}
		if (rc->resent[i].deadline_ms < rc->resent[pick].deadline_ms)
			pick = i;
	}
	struct relay_resent *e = &rc->resent[pick];
	if (e->busy)
		counter_inc(&rc->pending_487_overwritten);
	else
		rc->resent_busy++;
	e->busy = true;
	rc->resent_next = (pick + 1) % RELAY_RESENT_SLOTS;
	return e;
}

static void resent_free(struct relay_ctx *rc, struct relay_resent *e)
{
	e->busy = false;
	rc->resent_busy--;
}

/* Timer G's next wait after one of ms: doubled, at most T2 (RFC 3261 17.2.1). */
static uint32_t resent_interval(const struct relay_ctx *rc, uint32_t ms)
{
	return (uint32_t)clock_earlier(2ull * ms, rc->t2_ms);
}

/* The ACK of the 487 in resent[] for the request with this key and CSeq came:
 * its INVITE server transaction is confirmed, Timer G stops (RFC 3261
 * 17.2.1). False when none waits for it. */
static bool resent_acked(struct relay_ctx *rc, uint64_t key, uint32_t cseq)
{
	for (uint32_t i = 0; i < RELAY_RESENT_SLOTS && rc->resent_busy; i++) {
		struct relay_resent *e = &rc->resent[i];
		if (e->busy && e->tag_key == key && e->cseq == cseq) {
			resent_free(rc, e);
			return true;
		}
	}
	return false;
}

/* The ACK m, under a To tag of ours that matches no dialog held, is that of
 * the 487 a re-INVITE got as its dialog ended (relay_end_pending): its final
 * is in ended[], or its Timer G still runs, which the ACK stops. */
static bool ack_of_ended_487(struct relay_ctx *rc, const struct sip_msg *m)
{
	uint64_t key = request_key(rc, m);
	bool acked = resent_acked(rc, key, m->cseq.num);

	return ended_final_at(rc, key, m->cseq.num, SIP_METHOD_INVITE) || acked;
}

/* The bytes of resent[] are copied from the 487 as written, unchecked: the
 * longest one relay_end_pending writes, a head of SHARD_HEAD_SLOT_MAX (a
 * record with a longer one is dropped at re-attach: table.c head_slot_of)
 * between its status line and Content-Length, must fit. */
_Static_assert(sizeof(((struct relay_resent *)0)->data) >=
		   SHARD_HEAD_SLOT_MAX + sizeof("SIP/2.0 487 Request Terminated\r\n") +
		       sizeof("Content-Length: 0\r\n\r\n"),
	       "resent[] holds any 487 relay_end_pending writes");

/*
 * Keeps the final (487 at a call's end, 504 at a re-INVITE given up) to
 * re-INVITE t of leg s in resent[] for Timer G, sent where t's responses go
 * (txn_reply_to): the copy sent (sent, n bytes), resent after T1; or, when
 * none could go (no send buffer, or none asked for: sent NULL), written here
 * from t's lines (at most cap bytes) with this status and first sent at the
 * next tick, rather than waiting for a retransmission of the INVITE that
 * will not come once its sender had a provisional.
 */
static void resent_keep(struct relay_ctx *rc, const struct sip_session *s,
			const struct shard_txn *t, const char *sent, int n, size_t cap, int status)
{
	struct relay_resent *e = resent_take(rc);

	if (sent)
		memcpy(e->data, sent, (size_t)n);
	else
		n = setup_local_response(status, shard_txn_head(rc->table, t), t->head_len, NULL,
					 e->data, cap < sizeof(e->data) ? cap : sizeof(e->data));
	if (n < 0) {
		resent_free(rc, e);
		return;
	}
	e->len = (uint16_t)n;
	e->cseq = t->in_cseq;
	e->tag_key =
	    ended_key(rc, s->local_tag, s->local_tag_len, s->remote_tag, s->remote_tag_len);
	txn_reply_to(rc, t, s, &e->peer, &e->peer_len);
	e->deadline_ms = rc->now_ms + 64ull * rc->t1_ms; /* Timer H */
	e->next_ms = sent ? rc->now_ms + rc->t1_ms : rc->now_ms;
	e->interval_ms = sent ? resent_interval(rc, rc->t1_ms) : rc->t1_ms;
}

void relay_resent_tick(struct relay_ctx *rc, uint64_t now_ms, relay_send_fn send, void *arg)
{
	for (uint32_t i = 0; i < RELAY_RESENT_SLOTS && rc->resent_busy; i++) {
		struct relay_resent *e = &rc->resent[i];
		if (!e->busy || now_ms < e->next_ms)
			continue;
		if (now_ms >= e->deadline_ms) {
			counter_inc(&rc->pending_487_unacknowledged);
			resent_free(rc, e);
			continue;
		}
		send(arg, e->data, e->len, (const struct sockaddr *)&e->peer, e->peer_len);
		counter_inc(&rc->pending_487_resent);
		e->next_ms = clock_earlier(now_ms + e->interval_ms, e->deadline_ms);
		e->interval_ms = resent_interval(rc, e->interval_ms);
	}
}

int relay_end_pending(struct relay_ctx *rc, struct shard_dialog *d, int leg, char *out, size_t cap,
		      struct sockaddr_in6 *to, socklen_t *to_len)
{
	const struct sip_session *s = &d->legs[leg];
	struct shard_txn *t = NULL;

	if (!s->remote_cseq_set)
		return 0;
	for (uint32_t k = 0; !t && k < RELAY_PENDING_LOOKBACK && k <= s->remote_cseq; k++)
		t = waiting_txn(rc, d, leg, s->remote_cseq - k);
	/* the leg's last INVITE, whatever came after it: its sender, once a
	 * provisional came, resends it no more (17.1.1.2), so a final from
	 * here is the only one it gets (the other leg's is ACKed here):
	 * Timer G resends it until its ACK (resent_keep) */
	if (!t)
		t = shard_txn_open_invite(rc->table, d, leg);
	/* and its last BYE: left open, its late final, or its expiry, would
	 * end the dialog in d's slot then, which may be another fork's call
	 * since (worker.c drain_commands) */
	if (!t)
		t = shard_txn_open_bye(rc->table, d, leg);
	if (!t)
		return 0;
	int status = t->method_id == SIP_METHOD_BYE ? 200 : 487;
	/* back to where the request came from, as its final would have gone */
	if (to)
		txn_reply_to(rc, t, s, to, to_len);
	shard_txn_answered(rc->table, (uint32_t)(t - rc->table->txns), (uint8_t)(status / 100));
	/* the final of its server transaction, which is sipshard's: sent
	 * again, the request gets it again (RFC 3261 17.2.2, 17.2.1), not 481
	 * for the dialog gone, or in the slot another fork's 2xx took
	 * (worker.c drain_commands); a BYE's 200 as much as one that crossed;
	 * whether or not this copy fits */
	final_kept(rc, d, leg, t->in_cseq, t->method_id, status);
	counter_inc(&rc->pending_ended);
	/* the lines may be in the long-head pool: the record then holds
	 * only the slot's number */
	const char *head = shard_txn_head(rc->table, t);
	/* no send buffer (out NULL): as if lost on the wire */
	int n = out ? setup_local_response(status, head, t->head_len, NULL, out, cap) : -ENOSPC;
	if (n >= 0)
		counter_inc(&rc->answered[status / 100]);
	/* a re-INVITE's 487 is resent until its ACK (Timer G), or first sent
	 * at the next tick; one that does not fit cap never would */
	if (t->method_id == SIP_METHOD_INVITE && (n >= 0 || !out))
		resent_keep(rc, s, t, n >= 0 ? out : NULL, n, cap, 487);
	return n < 0 ? -ENOSPC : n;
}

/* Whether t is a request of leg `leg` of d whose offer still waits for its
 * answer: it carried one and has had neither its final nor a reliable
 * provisional with the answer. */
static bool offer_waits(const struct shard_txn *t, const struct shard_dialog *d, int leg)
{
	return t && t->used && t->dialog == d->slot && t->dialog_gen == d->gen &&
	       shard_txn_from_leg(t) == leg && (t->leg & SHARD_TXN_OFFER) &&
	       !(t->leg & SHARD_TXN_EARLY_SDP) && !t->final_class;
}

/* Whether the offer open on leg s of d (session_offer_open) was made by a
 * request that still waits for its answer: 491 when it came from the other
 * leg (s has it from us: have-local-offer), 500 when from s's own peer;
 * else 0. The request is the leg's last one or its open re-INVITE: an INFO,
 * MESSAGE or PRACK sent after the re-INVITE hid it, and an UPDATE offer
 * crossing it was relayed and taken for its answer. In an early dialog the
 * first offer, the call's INVITE's (the controller's: no transaction here)
 * or a reliable provisional's, is open until its answer (RFC 3311 5.2: an
 * UPDATE with an offer before it is answered is refused). Otherwise only a
 * request in progress is trusted: an offer left open by a peer that broke
 * the rules (a 2xx without the answer) must not get every later offer of the
 * call refused. */
static int offer_in_progress(struct relay_ctx *rc, struct shard_dialog *d,
			     const struct sip_session *s)
{
	int leg = (int)(s - d->legs);
	bool local = s->signaling_state == SIGNALING_STATE_HAVE_LOCAL_OFFER;

	if (!session_offer_open(s))
		return 0;
	/* the offer's sender is the other leg's peer when s has it from us */
	int by_leg = local ? !leg : leg;
	const struct sip_session *by = &d->legs[by_leg];
	if (offer_waits(shard_txn_get(rc->table, by->last_txn, by->last_txn_gen), d, by_leg) ||
	    offer_waits(shard_txn_open_invite(rc->table, d, by_leg), d, by_leg) ||
	    (d->state == SHARD_DLG_EARLY && !session_answered(s)))
		return local ? 491 : 500;
	return 0;
}

void relay_request(struct relay_ctx *rc, const struct sip_msg *m, char *out, size_t cap,
		   struct relay_result *res)
{
	uint8_t shard;
	uint32_t slot, gen;
	struct shard_dialog *d = NULL;
	int from_leg = -1;
	bool ours = false; /* the To-tag is one this shard issued */

	memset(res, 0, sizeof(*res));
	if (shard_tag_decode(m->buf + m->to.tag.off, m->to.tag.len, &shard, &slot, &gen) == 0 &&
	    shard == rc->shard) {
		ours = true;
		d = shard_dialog_get(rc->table, slot, gen);
	}
	if (d)
		from_leg = leg_of_request(d, m);
	if (from_leg < 0 && d && d->state == SHARD_DLG_EARLY) {
		/* the caller's request in the early dialog of another fork of
		 * leg B than the first, under that fork's tag (controller_forks.c):
		 * that fork's early dialog, in a slot of its own; */
		struct shard_dialog *f =
		    shard_dialog_of_fork_tag(rc->table, m->buf + m->to.tag.off, m->to.tag.len);
		/* the callee's (UPDATE, INFO: RFC 3311, 3261 12.2.2) in that
		 * early dialog: its To tag, leg B's From tag, is the same for
		 * every fork and names the call's slot; its From tag, the
		 * fork's, leads to that fork's early dialog */
		if (!f && m->from.has_tag)
			f = shard_dialog_of_fork_callee(rc->table, d, m->buf + m->from.tag.off,
							m->from.tag.len);
		int leg = f ? leg_of_request(f, m) : -1;
		if (leg >= 0) {
			d = f;
			slot = f->slot;
			gen = f->gen;
			from_leg = leg;
		}
	}
	if (from_leg < 0) {
		if (m->method_id == SIP_METHOD_ACK) {
			/* the ACK of the 487 a re-INVITE got as its dialog
			 * ended (relay_end_pending): ends here, as the ACK of
			 * any final sipshard gave (RFC 3261 17.2.1), and
			 * stops that 487's Timer G */
			if (ours && ack_of_ended_487(rc, m)) {
				drop(rc, RELAY_DROP_ACK_LOCAL_ANSWER, res);
				return;
			}
			/* maybe the ACK of a non-2xx the controller sent */
			res->outcome = RELAY_TO_CONTROLLER;
			return;
		}
		/* the retransmission of a request that ended with its dialog:
		 * a BYE that ended it, or any request answered as it ended;
		 * the dialog freed, or kept for the call's other forks with
		 * its tags emptied (shard_dialog_retire_first_fork), or the
		 * early dialog of another fork than the first, in a slot of
		 * its own, freed or given out again since (ended_final) */
		bool cancel = m->method_id == SIP_METHOD_CANCEL;
		uint16_t final =
		    ours ? ended_final(rc, m, cancel ? SIP_METHOD_INVITE : m->method_id) : 0;
		/* the CANCEL of a re-INVITE answered 487 as its dialog ended:
		 * it matches a server transaction that has its final, so it
		 * has no effect and is answered 200 (RFC 3261 9.2), as in a
		 * dialog still held (relay_cancel), not 481 */
		if (final && cancel) {
			answer(rc, m, 200, NULL, out, cap, res);
			return;
		}
		if (final) {
			if (m->method_id == SIP_METHOD_BYE)
				counter_inc(&rc->bye_replayed);
			else
				counter_inc(&rc->pending_replayed);
			answer(rc, m, final, NULL, out, cap, res);
			return;
		}
		answer(rc, m, 481, NULL, out, cap, res);
		return;
	}
	struct sip_session *src = &d->legs[from_leg];
	struct sip_session *dst = &d->legs[!from_leg];

	/* RFC 3261 16.3 item 3: not forwarded at 0 (483, but an ACK gets no
	 * response); 1 goes on with 0 (16.6 item 3) */
	if (m->max_forwards <= 0) {
		if (m->method_id == SIP_METHOD_ACK)
			drop(rc, RELAY_DROP_ACK_MAX_FORWARDS, res);
		else
			answer(rc, m, 483, NULL, out, cap, res);
		return;
	}
	d->last_activity_ms = rc->now_ms;

	if (m->method_id == SIP_METHOD_CANCEL) {
		relay_cancel(rc, m, src, dst, slot, gen, from_leg, out, cap, res);
		return;
	}
	if (is_refer_notify(d, from_leg, m)) {
		answer_refer_notify(rc, d, src, m, out, cap, res);
		return;
	}
	if (m->method_id == SIP_METHOD_ACK) {
		/* the ACK of the 504 given to a re-INVITE given up: ends here,
		 * its Timer G stops */
		if (rc->resent_busy && resent_acked(rc, request_key(rc, m), m->cseq.num)) {
			drop(rc, RELAY_DROP_ACK_LOCAL_ANSWER, res);
			return;
		}
		/* the ACK of a 422, 500 or 503 given here: ends here (RFC 3261
		 * 17.2.1), the other leg knows nothing of its INVITE */
		if (src->invite_cseq_tag && src->invite_cseq_tag != session_cseq_tag(m->cseq.num)) {
			drop(rc, RELAY_DROP_ACK_LOCAL_ANSWER, res);
			return;
		}
		/* nor when the other leg was never sent an INVITE: the callee's
		 * first re-INVITE answered here (its invite_cseq_tag is still 0)
		 * would have its ACK reach the caller with CSeq 0, for an INVITE
		 * the caller never saw */
		if (!dst->invite_cseq) {
			drop(rc, RELAY_DROP_ACK_LOCAL_ANSWER, res);
			return;
		}
		/* ACK for a 2xx: its own transaction, no response; CSeq maps to the
		 * other leg's INVITE number. */
		char branch[SHARD_BRANCH_MAX];
		/* the ACK of a non-2xx final belongs to the INVITE's transaction
		 * (RFC 3261 17.1.1.3): on the other leg it takes the branch the
		 * INVITE went with, or that leg's INVITE server transaction never
		 * matches it (17.2.3) and resends its final until Timer H */
		const struct shard_txn *it =
		    txn_of_request(rc, src, slot, gen, from_leg, m->cseq.num, SIP_METHOD_INVITE);
		if (it && it->final_class >= 3)
			shard_branch_encode(branch, sizeof(branch), rc->shard,
					    (uint32_t)(it - rc->table->txns), it->gen, it->salt);
		else
			ack_branch(rc, branch, sizeof(branch), slot, gen, dst->invite_cseq,
				   (uint32_t)keyhash_bytes(0, dst->local_tag, dst->local_tag_len));
		/* the legs' states, bodies and offer/answer states agree:
		 * written as an install is (table.h) */
		shard_dialog_write_begin(d);
		if (dst->session_state == SESSION_STATE_ACK_WAIT)
			dst->session_state = SESSION_STATE_CONFIRMED;
		if (src->session_state == SESSION_STATE_ACK_WAIT)
			src->session_state = SESSION_STATE_CONFIRMED;
		/* the answer to an offer in a 2xx (RFC 3261 13.2.1) */
		if (m->body.len && src->signaling_state == SIGNALING_STATE_HAVE_LOCAL_OFFER)
			relay_sdp_from_peer(m, src, dst);
		shard_dialog_write_end(rc->table, d);
		int n = build_request(rc, m, dst, branch, dst->invite_cseq, NULL, out, cap);
		if (n < 0) {
			drop(rc, RELAY_DROP_NO_BUFFER, res);
			return;
		}
		send_to_leg(res, dst, n);
		counter_inc(&rc->relayed_req[SIP_METHOD_ACK]);
		return;
	}

	if (is_session_refresh(m->method_id) && relay_session_too_brief(m, rc->min_se_s)) {
		char min_se[32];
		snprintf(min_se, sizeof(min_se), "Min-SE: %u\r\n", rc->min_se_s);
		counter_inc(&rc->session_too_brief);
		answer(rc, m, 422, min_se, out, cap, res);
		return;
	}
	/* a target refresh whose Contact the record cannot keep as the
	 * sender's remote target: refused here, as at the call's set-up (400,
	 * the controller), rather than relayed while sipshard's requests to
	 * its sender go on to the old one; its ACK ends here as a 422's does */
	if (relay_is_target_refresh(m->method_id) && m->ncontacts &&
	    m->contacts[0].uri.whole.len >= sizeof(src->remote_target)) {
		counter_inc(&rc->target_refresh_too_long);
		answer(rc, m, 400, "Warning: 399 sipshard \"Contact too long\"\r\n", out, cap, res);
		return;
	}

	/* RFC 3261 12.2.2: a lower CSeq is out of order (500); the same CSeq is a
	 * retransmission, relayed again through the same transaction. */
	struct shard_txn *t = NULL;
	uint32_t tslot = 0, tgen = 0;
	bool fresh = false; /* t allocated for this request */
	/* what a fresh INVITE changes before it is written, put back if it
	 * cannot be: the other leg never sees it */
	uint16_t was_invite_tag = src->invite_cseq_tag;
	uint32_t was_invite_cseq = dst->invite_cseq;
	/* before any transaction: its retransmissions get 403 again, and a
	 * REFER that reuses the CSeq of one relayed, as if sent again, is
	 * not relayed through that one's transaction with a sips: URI */
	int refusal = refer_to_refusal(rc, m);
	if (refusal) {
		answer(rc, m, refusal, NULL, out, cap, res);
		if (res->outcome == RELAY_ANSWER && refusal == 403)
			counter_inc(&rc->refer_to_refused);
		else if (res->outcome == RELAY_ANSWER)
			counter_inc(&rc->refer_to_malformed);
		return;
	}
	if (src->remote_cseq_set && m->cseq.num <= src->remote_cseq) {
		/* a retransmission belongs to its transaction (17.2.2), the
		 * leg's last or an older one still kept, and never meets the
		 * check of 12.2.2 */
		t = txn_of_request(rc, src, slot, gen, from_leg, m->cseq.num, m->method_id);
		if (!t && m->cseq.num < src->remote_cseq) {
			answer(rc, m, 500, "Retry-After: 1\r\n", out, cap, res);
			return;
		}
		if (!t || (t->method_id == SIP_METHOD_INVITE && t->final_class == 2)) {
			/* an INVITE answered 2xx ends here: its 2xx is the UAS
			 * core's to send again until the ACK (13.3.1.4), and
			 * crosses through t */
			drop(rc, RELAY_DROP_LATE_RETRANS, res);
			return;
		}
		tslot = (uint32_t)(t - rc->table->txns);
		tgen = t->gen;
	} else {
		if (m->method_id == SIP_METHOD_INVITE) {
			/* RFC 3261 14.2: an INVITE while one this leg was sent is in
			 * progress is glare (491); one while this leg's previous
			 * INVITE has no final yet is out of order (500). Each
			 * leg's last INVITE, not its last request: an INFO or a
			 * PRACK after a re-INVITE leaves the re-INVITE open */
			const struct shard_txn *theirs =
			    shard_txn_open_invite(rc->table, d, from_leg ^ 1);
			const struct shard_txn *mine =
			    shard_txn_open_invite(rc->table, d, from_leg);
			/* in an early dialog the call's own INVITE has no final
			 * yet (14.1): the caller's is out of order (500), the
			 * callee's crosses ours (491); relayed, the ACK of the
			 * call's 2xx would no longer match the caller's INVITE */
			if (d->state == SHARD_DLG_EARLY) {
				if (from_leg == SHARD_LEG_A)
					answer(rc, m, 500, "Retry-After: 1\r\n", out, cap, res);
				else
					answer(rc, m, 491, NULL, out, cap, res);
				return;
			}
			if (theirs) {
				answer(rc, m, 491, NULL, out, cap, res);
				return;
			}
			if (mine) {
				answer(rc, m, 500, "Retry-After: 1\r\n", out, cap, res);
				return;
			}
		}
		/* an offer while the request that made the open one waits for
		 * its final (RFC 3264 4: no new offer before the last has its
		 * answer): the other side's crossing it is glare, 491, and the
		 * sender's second one gets 500 with Retry-After (RFC 3311 5.2;
		 * RFC 3261 14.2 for INVITEs). Relayed, its body was taken for
		 * the answer to the open offer (the 491 to that offer then
		 * rejected nothing): the session model kept an exchange that
		 * never happened and read the next answer as an offer. A
		 * PRACK's body may be the answer to a reliable 18x's offer
		 * (RFC 3262 5): not refused here. */
		int busy = m->body.len && is_session_refresh(m->method_id)
			       ? offer_in_progress(rc, d, src)
			       : 0;
		if (busy) {
			answer(rc, m, busy, busy == 500 ? "Retry-After: 1\r\n" : NULL, out, cap,
			       res);
			return;
		}
		int ts = shard_txn_alloc(rc->table, rc->now_ms, &tgen);
		if (ts < 0) {
			answer(rc, m, 503, "Retry-After: 1\r\n", out, cap, res);
			return;
		}
		tslot = (uint32_t)ts;
		fresh = true;
		t = shard_txn_get(rc->table, tslot, tgen);
		/* the response goes back with these lines (no tag: To is tagged);
		 * lines too long for the record (a chain of proxies) take a slot
		 * of the long-head pool, which a full pool refuses */
		int hl =
		    sip_response_head_from(m, NULL, rc->src, rc->src_len, t->head, sizeof(t->head));
		if (hl == -ENOSPC) {
			char *room = shard_txn_long_head(rc->table, tslot);
			if (room)
				hl = sip_response_head_from(m, NULL, rc->src, rc->src_len, room,
							    SHARD_HEAD_SLOT_MAX);
			else
				counter_inc(&rc->long_head_full);
		}
		if (hl < 0) {
			shard_txn_free(rc->table, tslot);
			if (m->method_id == SIP_METHOD_BYE)
				bye_answered_here(rc, m, d, slot, gen, from_leg, out, cap, res);
			else
				answer(rc, m, 513, NULL, out, cap, res);
			return;
		}
		t->head_len = (uint16_t)hl;
		t->dialog = slot;
		t->dialog_gen = gen;
		t->leg = (uint8_t)from_leg;
		t->method_id = m->method_id;
		if (is_session_refresh(m->method_id))
			t->session_asked_s = relay_session_asked(m);
		t->in_cseq = m->cseq.num;
		keep_source(rc, t, src);
		/* written so that a SIGKILL cannot tear them (table.h) */
		t->out_cseq = shard_leg_take_request(rc->table, d, from_leg, m->cseq.num,
						     m->method_id, tslot, tgen);
		*recent_entry(rc, slot, from_leg, m->cseq.num) = (struct relay_recent){tslot, tgen};
	}
	char branch[SHARD_BRANCH_MAX];
	/* the transaction's random salt makes a forged response guess 32 bits */
	shard_branch_encode(branch, sizeof(branch), rc->shard, tslot, tgen, t->salt);
	struct event_id ev;
	refer_event_id(d, from_leg, m, &ev);
	int n = build_request(rc, m, dst, branch, t->out_cseq, &ev, out, cap);
	if (n < 0) {
		/* 513 is final: no response can come for a request never sent, so
		 * the record goes now instead of holding a slot until it expires */
		if (fresh) {
			shard_txn_free(rc->table, tslot);
			/* its ACK then ends here like that of any local answer */
			shard_dialog_write_begin(d);
			src->invite_cseq_tag = was_invite_tag;
			dst->invite_cseq = was_invite_cseq;
			dst->local_cseq--;
			shard_dialog_write_end(rc->table, d);
		}
		/* a BYE that cannot go on ends the call all the same: a 513
		 * ended it on its sender's side only (RFC 3261 15.1.1) */
		if (fresh && m->method_id == SIP_METHOD_BYE)
			bye_answered_here(rc, m, d, slot, gen, from_leg, out, cap, res);
		else
			answer(rc, m, 513, NULL, out, cap, res);
		return;
	}
	/* an offer or answer in the request (RFC 3264; not its retransmission) */
	if (fresh && m->body.len && carries_session(m->method_id)) {
		/* bodies and both legs' states agree (table.h) */
		shard_dialog_write_begin(d);
		bool offer = relay_sdp_from_peer(m, src, dst);
		shard_dialog_write_end(rc->table, d);
		if (offer)
			t->leg |= SHARD_TXN_OFFER;
	}
	/* a target refresh replaces the sender's remote target, once relayed */
	if (fresh && relay_is_target_refresh(m->method_id))
		relay_take_remote_target(rc, d, from_leg, m);
	send_to_leg(res, dst, n);
	counter_inc(&rc->relayed_req[m->method_id]);
	/* the call's own count (`dialogs --json` "requests"): a request once,
	 * when it takes its transaction, not each copy the worker's counter
	 * above sees; ACK and CANCEL, which belong to their INVITE's
	 * transaction, and the requests answered here never come this far. A
	 * word of the record's head, beside last_activity_ms written above */
	if (fresh)
		shard_dialog_count(d, m->method_id);
	/* its sender took the session as over when it sent the BYE, and the
	 * other side does on receiving it (RFC 3261 15.1.1, 15.1.2): the record
	 * waits for the BYE's final (transaction_timeout_ms at most), and
	 * `dialogs` must not show the call as up meanwhile */
	if (fresh && m->method_id == SIP_METHOD_BYE) {
		shard_dialog_write_begin(d);
		session_terminate(src);
		session_terminate(dst);
		shard_dialog_write_end(rc->table, d);
	}
	if (fresh && m->method_id == SIP_METHOD_REFER)
		shard_refer_relayed(d, t);
}

/* The ACK sipshard owes final m to an INVITE of its own (CSeq m's) in the
 * dialog in slot/gen whose dialog or transaction is gone (late_response,
 * ack_untracked_final): a 2xx's its own transaction (ack_branch, with salt),
 * a non-2xx's hop by hop with the INVITE's branch (RFC 3261 17.1.1.3);
 * answered to m's sender and counted. False when it does not fit cap. */
static bool ack_late_final(struct relay_ctx *rc, const struct sip_msg *m, uint32_t slot,
			   uint32_t gen, uint32_t salt, char *out, size_t cap,
			   struct relay_result *res)
{
	int n;

	if (m->status < 300) {
		char branch[SHARD_BRANCH_MAX];
		ack_branch(rc, branch, sizeof(branch), slot, gen, m->cseq.num, salt);
		n = setup_build_after_2xx(m, "ACK", rc->advertise, branch, out, cap);
	} else {
		n = setup_build_ack_of_final(m, NULL, 0, out, cap);
	}
	if (n < 0)
		return false;
	res->outcome = RELAY_ANSWER;
	res->len = n;
	counter_inc(&rc->late_finals_acked);
	return true;
}

/* A response to transaction t (at tslot) of a dialog that has ended. Its
 * sender had its answer when the dialog ended (relay_end_pending) and its
 * address went with the dialog: nothing crosses. But the UAC of an INVITE
 * ACKs every final (RFC 3261 13.2.2.4: a 2xx, even after its BYE; 17.1.1.3:
 * a non-2xx, hop by hop), or the callee resends it for 64*T1 and may take
 * the call for failed: the ACK is built from the final alone, as the
 * controller ACKs a stale final at set-up (setup_msg.h), and goes back where
 * the final came from, the hop the re-INVITE went to. The dialog's route set
 * and remote target are gone with it; the 2xx's Contact is the remote target
 * a re-INVITE's 2xx refreshes, and its Record-Route is not made a Route: a
 * dialog's route set is fixed at its creation (12.2.1.2), and the hop the
 * ACK goes to routes it by its Request-URI. A 2xx's ACK takes the branch
 * the ACK of the dialog's last re-INVITE would have, so that each
 * retransmission of the 2xx gets the same ACK again. */
static void late_response(struct relay_ctx *rc, const struct sip_msg *m, struct shard_txn *t,
			  uint32_t tslot, char *out, size_t cap, struct relay_result *res)
{
	if (t->method_id != SIP_METHOD_INVITE || m->status < 200 ||
	    m->cseq.method_id != SIP_METHOD_INVITE || m->cseq.num != t->out_cseq) {
		drop(rc, RELAY_DROP_RESP_DIALOG_ENDED, res);
		return;
	}
	if (!ack_late_final(rc, m, t->dialog, t->dialog_gen, t->salt, out, cap, res)) {
		drop(rc, RELAY_DROP_NO_BUFFER, res);
		return;
	}
	shard_txn_answered(rc->table, tslot, (uint8_t)(m->status / 100));
}

/* A final to an INVITE sipshard sent in a dialog it still holds, whose
 * transaction is gone (given up at transaction_timeout_ms, its sender
 * answered 504; or expired since, its ACK lost): ACKed here, a 2xx as every
 * 2xx must be (RFC 3261 13.2.2.4), or its sender resends it for 64*T1 and
 * then ends the call (13.3.1.4), a non-2xx hop by hop with its own branch
 * (17.1.1.3), or its sender resends it until Timer H. It is named by our
 * From tag, the leg's Call-ID and remote tag, and a CSeq we sent. False
 * when it is no such final. */
static bool ack_untracked_final(struct relay_ctx *rc, const struct sip_msg *m, char *out,
				size_t cap, struct relay_result *res)
{
	uint8_t shard;
	uint32_t slot, gen;

	if (m->status < 200 || m->cseq.method_id != SIP_METHOD_INVITE ||
	    shard_tag_decode(m->buf + m->from.tag.off, m->from.tag.len, &shard, &slot, &gen) != 0 ||
	    shard != rc->shard)
		return false;
	const struct shard_dialog *d = shard_dialog_get(rc->table, slot, gen);
	const struct sip_session *s = NULL;
	for (int leg = 0; d && !s && leg < 2; leg++) {
		const struct sip_session *x = &d->legs[leg];
		if (str_eq_view(x->local_tag, x->local_tag_len, m, m->from.tag) &&
		    str_eq_view(x->remote_tag, x->remote_tag_len, m, m->to.tag) &&
		    str_eq_view(x->call_id, x->call_id_len, m, m->call_id) &&
		    m->cseq.num <= x->local_cseq)
			s = x;
	}
	return s && ack_late_final(rc, m, slot, gen,
				   (uint32_t)keyhash_bytes(0, s->local_tag, s->local_tag_len), out,
				   cap, res);
}

/* The first final to request t (slot tslot) does not fit the send buffer
 * once written for its sender (its Vias back, a proxy's long lines, a small
 * tx_buffer_size): the sender gets 500 from here, written from the lines
 * kept for it, and the request ends as failed (an offer it made refused,
 * RFC 3264 5; a BYE's end of the dialog as for any final). Dropped, it left
 * the sender without a final for good: its re-INVITE, once a provisional
 * came, is resent no more. A 2xx to an INVITE so stands at the other side:
 * the sender's ACK of the 500 crosses with the INVITE's branch, and that
 * side takes it for its 2xx's ACK (by dialog and CSeq), so it may run the
 * new session the sender was told failed (README). */
static void final_too_large(struct relay_ctx *rc, struct shard_dialog *d, struct shard_txn *t,
			    uint32_t tslot, struct sip_session *resp, struct sip_session *back,
			    char *out, size_t cap, struct relay_result *res)
{
	int n =
	    setup_local_response(500, shard_txn_head(rc->table, t), t->head_len,
				 "Warning: 399 - \"response too large to relay\"\r\n", out, cap);
	counter_inc(&rc->responses_too_large);
	if (n < 0) {
		drop(rc, RELAY_DROP_NO_BUFFER, res);
		return;
	}
	send_back(rc, res, t, back, n);
	counter_inc(&rc->answered[5]);
	offer_failed(rc, d, t, resp, back);
	if (t->method_id == SIP_METHOD_BYE) {
		ended_by_a_bye(rc, res, d, t->dialog, t->dialog_gen, shard_txn_from_leg(t),
			       t->in_cseq, 500);
		shard_txn_free(rc->table, tslot);
	} else {
		shard_txn_answered(rc->table, tslot, 5);
	}
}

void relay_response(struct relay_ctx *rc, const struct sip_msg *m, char *out, size_t cap,
		    struct relay_result *res)
{
	uint8_t shard;
	uint32_t tslot, tgen, extra;
	struct shard_txn *t = NULL;
	struct sip_wspec w = {0};
	/* our Contact (an advertise of up to 256 bytes) and the session lines */
	char appended[360];

	memset(res, 0, sizeof(*res));
	const struct sip_via *v = &m->vias[0];
	if (shard_branch_decode(m->buf + v->branch.off, v->branch.len, &shard, &tslot, &tgen,
				&extra) != 0 ||
	    shard != rc->shard) {
		drop(rc, RELAY_DROP_RESP_NO_TXN, res);
		return;
	}
	t = shard_txn_get(rc->table, tslot, tgen);
	if (!t || extra != t->salt) {
		if (!ack_untracked_final(rc, m, out, cap, res))
			drop(rc, RELAY_DROP_RESP_STALE, res);
		return;
	}
	/* the answer to the CANCEL of a re-INVITE (relay_cancel) has the
	 * INVITE's branch: it ends here, the INVITE's final follows */
	if (m->cseq.method_id == SIP_METHOD_CANCEL && t->method_id == SIP_METHOD_INVITE) {
		drop(rc, RELAY_DROP_CANCEL_ANSWER, res);
		return;
	}
	struct shard_dialog *d = shard_dialog_get(rc->table, t->dialog, t->dialog_gen);
	if (!d) {
		late_response(rc, m, t, tslot, out, cap, res);
		return;
	}
	/* once answered, only that final again (a retransmission) crosses: a
	 * late provisional or another final is stale */
	if (t->final_class && (m->status < 200 || m->status / 100 != t->final_class)) {
		drop(rc, RELAY_DROP_RESP_STALE, res);
		return;
	}
	/* a response matches a client transaction by its branch and by its
	 * CSeq method (RFC 3261 17.1.3), the number checked too */
	if (m->cseq.num != t->out_cseq || m->cseq.method_id != t->method_id) {
		drop(rc, RELAY_DROP_RESP_STALE, res);
		return;
	}
	struct sip_session *back = &d->legs[shard_txn_from_leg(t)];
	struct sip_session *resp_leg = &d->legs[!shard_txn_from_leg(t)];
	if (!str_eq_view(resp_leg->call_id, resp_leg->call_id_len, m, m->call_id)) {
		drop(rc, RELAY_DROP_RESP_STALE, res);
		return;
	}
	d->last_activity_ms = rc->now_ms;
	w.prepend = shard_txn_head(rc->table, t);
	w.prepend_len = t->head_len;
	w.remove = SIP_HBIT(SIP_HDR_VIA) | SIP_HBIT(SIP_HDR_FROM) | SIP_HBIT(SIP_HDR_TO) |
		   SIP_HBIT(SIP_HDR_CALL_ID) | SIP_HBIT(SIP_HDR_CSEQ) |
		   SIP_HBIT(SIP_HDR_RECORD_ROUTE);
	sip_wspec_strip(&w, &rc->strip);
	/* a 3xx's Contacts are where the sender is to try next (RFC 3261
	 * 8.1.3.4, 21.3), not the responder's address: they cross as they
	 * came, as the controller keeps them at call set-up
	 * (setup_relay_response); ours instead would send the retry back
	 * here, out of any dialog */
	bool redirect = m->status >= 300 && m->status < 400;
	bool our_contact = m->first[SIP_HDR_CONTACT] && !redirect;
	if (!redirect)
		w.remove |= SIP_HBIT(SIP_HDR_CONTACT);
	/* a session refresh (RFC 4028) of a confirmed call: its 2xx sets the
	 * interval, or turns the timer off when it names none and the sender
	 * did not ask for one it would refresh (else that one, told to it) */
	bool refresh = m->status >= 200 && m->status < 300 && d->state == SHARD_DLG_CONFIRMED &&
		       is_session_refresh(t->method_id);
	uint32_t interval = m->session_expires.len ? m->session_expires_secs : 0;
	bool tell_asker =
	    refresh && !m->session_expires.len && t->session_asked_s && rc->session_timer;
	if (tell_asker)
		interval = t->session_asked_s;
	if (our_contact || tell_asker) {
		struct wbuf lines = {appended, 0, sizeof(appended), false};
		if (our_contact)
			relay_put_contact_line(&lines, rc->advertise);
		if (tell_asker)
			relay_put_session_expires(&lines, interval);
		w.append = appended;
		w.append_len = lines.overflow ? 0 : lines.len;
	}
	/* a 2xx to a target refresh updates the responder's remote target (RFC
	 * 3261 12.2.1.2), and so does a reliable provisional one (RFC 6141 4,
	 * kept if the request then fails); an unreliable 1xx, which RFC 3261
	 * lets update only an early dialog's, changes nothing */
	if (relay_is_target_refresh(t->method_id) &&
	    (m->status >= 200 || sip_is_reliable_provisional(m)))
		relay_take_remote_target(rc, d, !shard_txn_from_leg(t), m);
	bool as_500 = relay_503_as_500(&w, m->status);
	int n = sip_write(m, &w, out, cap);
	if (n < 0) {
		if (m->status >= 200 && !t->final_class)
			final_too_large(rc, d, t, tslot, resp_leg, back, out, cap, res);
		else
			drop(rc, RELAY_DROP_NO_BUFFER, res);
		return;
	}
	send_back(rc, res, t, back, n);
	counter_inc(&rc->relayed_resp);
	counter_add(&rc->resp_503_as_500, as_500);
	/* the first 2xx starts the interval (RFC 4028 10); its copies, sent
	 * until the ACK comes (up to 64*T1), would each put the end later */
	if (refresh && !t->final_class) {
		shard_session_timer_start(d, rc->now_ms, interval);
		res->session_refreshed = d;
	}
	if (m->status >= 200 && !t->final_class && carries_session(t->method_id))
		final_offer_answer(rc, d, m, t, resp_leg, back);
	/* the answer to a re-INVITE's offer, or the offer of one that had
	 * none, may come in its first reliable provisional with a body (RFC
	 * 3262 5, RFC 6337 2.2); the later ones and the 2xx repeat it (RFC 3261
	 * 13.2.1). It was left out, and the call's model kept an offer open
	 * from then on, reading each later exchange the wrong way round */
	else if (t->method_id == SIP_METHOD_INVITE && !t->final_class && m->body.len &&
		 !(t->leg & SHARD_TXN_EARLY_SDP) && sip_is_reliable_provisional(m)) {
		shard_dialog_write_begin(d);
		relay_sdp_from_peer(m, resp_leg, back);
		shard_dialog_write_end(rc->table, d);
		t->leg |= SHARD_TXN_EARLY_SDP;
	}
	if (m->status >= 300 && !t->final_class && t->method_id == SIP_METHOD_REFER)
		refer_refused(rc, d, t);
	if ((m->status == 408 || m->status == 481) && !t->final_class &&
	    d->state == SHARD_DLG_CONFIRMED && ends_on_gone(t->method_id)) {
		res->gone_status = (uint16_t)m->status;
		res->ended_slot = d->slot;
		res->ended_gen = d->gen;
		res->ended_by_leg = (uint8_t)!shard_txn_from_leg(t);
	}
	if (m->status >= 200) {
		/* a BYE challenged (401, 407) is sent again with credentials
		 * (RFC 3261 22.2, 22.3): the peer that asked keeps its dialog */
		if (t->method_id == SIP_METHOD_BYE && m->status != 401 && m->status != 407) {
			/* one answered here already (relay_end_pending: the
			 * early dialog it was sent in ended, or another fork's
			 * 2xx took the call's slot) ended what it was sent for;
			 * the dialog in the slot now is not that one */
			if (!t->final_class)
				ended_by_a_bye(rc, res, d, t->dialog, t->dialog_gen,
					       shard_txn_from_leg(t), t->in_cseq, m->status);
			shard_txn_free(rc->table, tslot);
		} else {
			/* kept until it expires (transaction_timeout_ms): a final lost
			 * on the way back is asked for again by the request's
			 * retransmission, which must reach the other leg through the
			 * same branch, and a 2xx to an INVITE is retransmitted until
			 * its ACK; both would be dropped without the record */
			shard_txn_answered(rc->table, tslot, (uint8_t)(m->status / 100));
		}
	}
}

int relay_expire(struct relay_ctx *rc, uint64_t timeout_ms, struct relay_result *res)
{
	memset(res, 0, sizeof(*res));
	int slot = shard_txn_expired(rc->table, rc->now_ms, timeout_ms);
	if (slot < 0)
		return slot;
	const struct shard_txn *t = &rc->table->txns[slot];
	/* the other leg never answered the BYE (its phone is gone): the sender
	 * has ended the call, and the dialog would otherwise stay up until the
	 * idle timer, its CDR then saying idle_timeout with that much added */
	struct shard_dialog *d = shard_dialog_get(rc->table, t->dialog, t->dialog_gen);
	if (t->method_id == SIP_METHOD_BYE && !t->final_class && d)
		ended_by_a_bye(rc, res, d, t->dialog, t->dialog_gen, shard_txn_from_leg(t),
			       t->in_cseq, 408);
	/* nor the request that made an offer: a timeout is a failure (RFC
	 * 3261 8.1.3.1, as a 408) and rejects it (14.1, RFC 3311 5.1), and no
	 * final crosses after this. Left open, the legs showed the offer for
	 * the rest of the call and the other side's next offer was read as
	 * its answer. */
	if (!t->final_class && d)
		offer_failed(rc, d, t, &d->legs[!shard_txn_from_leg(t)],
			     &d->legs[shard_txn_from_leg(t)]);
	/* a re-INVITE past its provisional is resent no more by its sender
	 * (RFC 3261 17.1.1.2), which had no final for good: it gets 504 from
	 * here (the other side did not answer in time), resent until its ACK
	 * as a 487 at a call's end; a 2xx that comes after is ACKed here
	 * (ack_untracked_final). 504 fails the re-INVITE alone; a 408 would ask
	 * the sender to end the call (12.2.1.2). */
	if (t->method_id == SIP_METHOD_INVITE && !t->final_class && d) {
		resent_keep(rc, &d->legs[shard_txn_from_leg(t)], t, NULL, 0,
			    sizeof(rc->resent[0].data), 504);
		counter_inc(&rc->invites_given_up);
	}
	/* nor a REFER: it made no subscription (RFC 3515 2.4.2) */
	if (t->method_id == SIP_METHOD_REFER && !t->final_class && d)
		refer_refused(rc, d, t);
	shard_txn_free(rc->table, (uint32_t)slot);
	return 0;
}
