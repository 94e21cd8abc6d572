/*
 * uas.c - the called side of sipshard-load: answers INVITEs (100, 180, then
 * 200 with an SDP answer after --answer-delay-ms, or 486/603 for a
 * --reject-share of them, or 487 when CANCELled, or ended by a BYE in the
 * early dialog, before the delayed 200),
 * answers every in-dialog request, sends the NOTIFY
 * a REFER calls for, and forgets a call after its BYE. A 2xx to an INVITE
 * whose ACK never comes (64*T1) ends its call with a BYE of our own (RFC 3261
 * 13.3.1.4, 14.2), and the call is forgotten once that BYE has its final
 * response or times out.
 *
 * Owns, per worker thread: one socket (with --threads > 1 one of a SO_REUSEPORT
 * group that main.c binds whole before any thread runs: a thread knows only
 * the calls whose datagrams its socket gets), the
 * leg table (preallocated slots, an open-addressing index keyed by Call-ID
 * and the peer's tag, backward-shift deletion so no tombstones build up),
 * a pool of stored datagrams for what must be retransmitted (final responses
 * to INVITEs until their ACK, RFC 3261 13.3.1.4 and 17.2.1; our NOTIFYs until
 * their response, 17.1.2.2; our BYEs the same), and the timers for all of
 * that. Does not own:
 * message text (msg.c), counting layout (stats.c), output (main.c).
 *
 * Retransmitted requests (same CSeq as the last one of the leg) are answered
 * again with a response rebuilt from the retransmission itself and counted
 * apart, so that "received" per method counts each request once. After a BYE
 * the leg lingers for 64*T1 to answer a retransmitted BYE with 200 again;
 * any other request in it, or in a call whose INVITE got a non-2xx final
 * (which leaves no dialog, early or not), gets 481.
 * In-dialog requests and responses go back to the address the request came
 * from (symmetric, as to a trunk), not to the Contact.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "load.h"
#include "msg.h"
#include "worker.h"

#define CALLID_MAX  128
#define RTAG_MAX    64
#define LTAG_LEN    19 /* sTTSSSSSSSSGGGGGGGG */
#define NBRANCH_LEN 34 /* z9hG4bKsTTSSSSSSSSGGGGGGGGQQQQQQQQ */
#define ROUTE_MAX   512
#define TARGET_MAX  256 /* the remote target kept with a stored 2xx */
#define NCLASSES    LOAD_RT_CLASSES
#define LST_ANSWER  NCLASSES
#define LST_LINGER  (NCLASSES + 1)
#define NLISTS	    (NCLASSES + 2)

enum leg_state {
	L_FREE = 0,
	L_EARLY,    /* 100/180 sent, 200 waits for --answer-delay-ms */
	L_WAIT_ACK, /* final response to an INVITE sent, retransmitted until ACK */
	L_CONFIRMED,
	L_LINGER, /* after BYE (or a rejection's ACK): absorbs retransmissions */
	L_BYE,	  /* our BYE for a 2xx never ACKed, retransmitted until its final */
};

struct uas_leg {
	uint64_t hash;
	uint64_t resp_t0, notify_t0; /* first send of what is being retransmitted */
	uint32_t gen;
	uint32_t rcseq;			 /* CSeq of the peer's last new request */
	uint32_t invite_cseq;		 /* CSeq of the INVITE whose final response awaits ACK */
	uint32_t lcseq;			 /* our CSeq (NOTIFY, BYE) */
	uint32_t resp_pend, notify_pend; /* stored datagrams (resp: or our BYE), or TL_NIL */
	uint16_t invite_status; /* final status of the initial INVITE (for its retransmissions) */
	uint16_t route_len;
	uint8_t state; /* enum leg_state */
	uint8_t callid_len, rtag_len;
	bool rejected;	  /* the INVITE's final is not a 2xx: no dialog stays */
	bool cancel_seen; /* a CANCEL of its INVITE came (a next one is a repeat) */
	bool bye;	  /* rcseq is the BYE that ended the call */
	/* a stored datagram whose first send failed (no send buffer): counted
	 * when a retransmission takes it out (resend_resp, resend_notify), as
	 * the first send would have been */
	bool resp_unsent, notify_unsent;
	uint8_t resp_meth;    /* the stored final's request (enum load_method) */
	uint16_t resp_status; /* and its status */
	socklen_t peer_len;
	struct sockaddr_in6 peer;
	char callid[CALLID_MAX];
	char rtag[RTAG_MAX];
};

struct uas_pend {
	uint32_t len;
	uint16_t target_len; /* a 2xx: the Request-URI of the BYE if no ACK comes */
	char data[LOAD_TX_SIZE];
	char target[TARGET_MAX]; /* touched only for a stored 2xx */
};

struct uas {
	struct load_ctx x; /* first: load_worker_run fills it in */
	struct load_ep ep;
	char sdp_ip[64];
	size_t sdp_ip_len;
	bool ipv6;
	char contact[128];
	size_t contact_len;

	struct uas_leg *legs;
	char *routes; /* ncap * ROUTE_MAX, touched only for legs with a route set */
	uint32_t ncap, *leg_free, leg_nfree, active;
	uint32_t *index; /* leg + 1, or 0 */
	uint32_t index_mask;
	struct uas_pend *pend;
	uint32_t npend, *pend_free, pend_nfree;
	struct tl_node *nodes; /* 2 per leg: response (or our BYE), NOTIFY */
	struct tl_list lists[NLISTS];
	unsigned kcap;
	uint64_t t1_ns;

	double reject_acc;
	unsigned reject_flip;
	uint64_t now, t_start;
	struct sip_msg msg;
};

static void leg_linger(struct uas *u, uint32_t li);
static void leg_free(struct uas *u, uint32_t li);

/* ---- the leg table ----------------------------------------------------------- */

static uint64_t leg_hash(const char *cid, size_t clen, const char *tag, size_t tlen)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < clen; i++)
		h = (h ^ (uint8_t)cid[i]) * 1099511628211ull;
	h = (h ^ 0xff) * 1099511628211ull; /* separator: "ab"+"c" differs from "a"+"bc" */
	for (size_t i = 0; i < tlen; i++)
		h = (h ^ (uint8_t)tag[i]) * 1099511628211ull;
	return h ^ (h >> 29);
}

static uint32_t leg_find(struct uas *u, const struct sip_msg *m, uint64_t *hash_out)
{
	const char *cid = m->buf + m->call_id.off, *tag = m->buf + m->from.tag.off;
	size_t clen = m->call_id.len, tlen = m->from.has_tag ? m->from.tag.len : 0;
	uint64_t h = leg_hash(cid, clen, tag, tlen);
	if (hash_out)
		*hash_out = h;
	for (uint32_t i = (uint32_t)h & u->index_mask;; i = (i + 1) & u->index_mask) {
		uint32_t e = u->index[i];
		if (!e)
			return TL_NIL;
		struct uas_leg *l = &u->legs[e - 1];
		if (l->hash == h && l->callid_len == clen && l->rtag_len == tlen &&
		    !memcmp(l->callid, cid, clen) && !memcmp(l->rtag, tag, tlen))
			return e - 1;
	}
}

static void index_insert(struct uas *u, uint32_t li)
{
	uint32_t i = (uint32_t)u->legs[li].hash & u->index_mask;
	while (u->index[i])
		i = (i + 1) & u->index_mask;
	u->index[i] = li + 1;
}

/* Backward-shift deletion for linear probing: later entries of the run move
 * up into the hole when their home slot allows it. */
static void index_remove(struct uas *u, uint32_t li)
{
	uint32_t i = (uint32_t)u->legs[li].hash & u->index_mask;
	while (u->index[i] != li + 1)
		i = (i + 1) & u->index_mask;
	uint32_t hole = i;
	for (uint32_t j = (hole + 1) & u->index_mask; u->index[j]; j = (j + 1) & u->index_mask) {
		uint32_t home = (uint32_t)u->legs[u->index[j] - 1].hash & u->index_mask;
		/* j may fill the hole when home is not cyclically in (hole, j] */
		bool in_range = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
		if (!in_range) {
			u->index[hole] = u->index[j];
			hole = j;
		}
	}
	u->index[hole] = 0;
}

static void make_ltag(const struct uas *u, uint32_t li, char out[LTAG_LEN + 1])
{
	out[0] = 's';
	memcpy(out + 1, u->x.th_hex, 2);
	load_put_hex(out + 3, li, 8);
	load_put_hex(out + 11, u->legs[li].gen, 8);
	out[LTAG_LEN] = '\0';
}

/* ---- stored datagrams ------------------------------------------------------------ */

static uint32_t pend_get(struct uas *u)
{
	if (!u->pend_nfree) {
		u->x.c->pending_pool_empty++;
		return TL_NIL;
	}
	return u->pend_free[--u->pend_nfree];
}

static void pend_put(struct uas *u, uint32_t *p)
{
	if (*p != TL_NIL) {
		u->pend_free[u->pend_nfree++] = *p;
		*p = TL_NIL;
	}
}

/* Keeps with a stored 2xx the remote target (RFC 3261 12.1.1: the request's
 * Contact, its From URI when it has none) for the BYE that ends the call if
 * the ACK never comes. One too long for the store is left empty: that BYE
 * then fails to build (send.errors). */
static void pend_note_target(struct uas *u, uint32_t pe, const struct sip_msg *m)
{
	struct uas_pend *pd = &u->pend[pe];
	struct msg_str t =
	    m->ncontacts ? msg_view(m, m->contacts[0].uri.whole) : msg_view(m, m->from.uri.whole);
	pd->target_len = t.len <= sizeof(pd->target) ? (uint16_t)t.len : 0;
	memcpy(pd->target, t.p, pd->target_len);
}

/* Queues a copy of data for `to`; false when it did not go out (no send
 * buffer: tx_pool_empty; refused: send_errors). */
static bool send_raw(struct uas *u, const char *data, uint32_t len, const struct sockaddr *to,
		     socklen_t tolen)
{
	char *buf = net_tx_alloc(u->ep.io);
	if (!buf) {
		u->x.c->tx_pool_empty++;
		return false;
	}
	memcpy(buf, data, len);
	if (net_tx_queue(u->ep.io, buf, len, to, tolen) != 0) {
		u->x.c->send_errors++;
		return false;
	}
	u->ep.queued = true;
	return true;
}

static bool send_pend(struct uas *u, struct uas_leg *l, uint32_t p)
{
	return send_raw(u, u->pend[p].data, u->pend[p].len, (const struct sockaddr *)&l->peer,
			l->peer_len);
}

/* ---- responses ------------------------------------------------------------------- */

/* Writes a response to m for leg li (TL_NIL: no leg, no tag added) into out. */
static int build_resp(struct uas *u, const struct sip_msg *m, uint32_t li, int status, bool sdp,
		      char *out, size_t cap)
{
	char ltag[LTAG_LEN + 1], extra[sizeof(u->contact) + 32];
	struct msg_resp r = {.status = status};
	if (li != TL_NIL) {
		make_ltag(u, li, ltag);
		r.to_tag = ltag;
		r.extra = (struct msg_str){u->contact, u->contact_len};
	}
	if (li != TL_NIL && status == 500) {
		/* each 500 in a dialog: the one to an INVITE while the first
		 * has no final must carry a Retry-After of 0 to 10 s (RFC 3261
		 * 14.2), and one to a request out of order may (12.2.2, 21.5.1) */
		int n = snprintf(extra, sizeof(extra), "%.*sRetry-After: %u\r\n",
				 (int)u->contact_len, u->contact, (unsigned)(m->cseq.num % 11));
		if (n > 0 && (size_t)n < sizeof(extra))
			r.extra = (struct msg_str){extra, (size_t)n};
	}
	if (sdp) {
		r.sdp_ip = (struct msg_str){u->sdp_ip, u->sdp_ip_len};
		r.ipv6 = u->ipv6;
		r.sdp_version = m->cseq.num;
		r.rtp_port = (uint16_t)(20000 + (li % 20000) * 2);
	}
	return msg_response(m, &r, out, cap);
}

/* Sends a response to the address the request came from and counts it.
 * False when none went out: a request that cannot have one (sip_can_respond),
 * no send buffer (tx_pool_empty), a response larger than a send buffer (an
 * INFO with many or long Vias) or one the io refused (send_errors). The
 * callers count a request answered only when this is true. */
static bool reply(struct uas *u, const struct sip_msg *m, const struct net_pkt *p, uint32_t li,
		  int status, bool sdp, enum load_method meth)
{
	if (!sip_can_respond(m))
		return false;
	char *buf = net_tx_alloc(u->ep.io);
	if (!buf) {
		u->x.c->tx_pool_empty++;
		return false;
	}
	int n = build_resp(u, m, li, status, sdp, buf, LOAD_TX_SIZE);
	if (n < 0) {
		net_tx_release(u->ep.io, buf);
		u->x.c->send_errors++;
		return false;
	}
	if (net_tx_queue(u->ep.io, buf, (uint32_t)n, p->peer, p->peer_len) != 0) {
		u->x.c->send_errors++;
		return false;
	}
	u->ep.queued = true;
	u->x.c->responses_sent++;
	load_count_code(u->x.c, meth, status);
	return true;
}

/* Answers with a rejection a request that takes no part in a call (no leg, a
 * leg not of its dialog, out of order): a new request received all the same,
 * answered once its response went out, as any other (it once counted only
 * as an error: requests.received fell short of what came in). A rejection
 * keeps nothing, so its retransmission, which cannot be told from a new
 * request, counts received again. */
static void reject(struct uas *u, const struct sip_msg *m, const struct net_pkt *p, uint32_t li,
		   int status, enum load_method meth)
{
	u->x.c->m[meth].sent++;
	if (reply(u, m, p, li, status, false, meth))
		u->x.c->m[meth].completed++;
}

/* Stores a final response to an INVITE for retransmission until its ACK, sends
 * it and arms the retransmission timer (13.3.1.4 for 2xx, 17.2.1 otherwise).
 * Without a free store the response still goes out once. True when it went
 * out now (the caller counts the request answered then); false when it did
 * not: a stored one waits for its retransmission timer, and one that cannot
 * be written (larger than a send buffer: an INVITE with many or long Vias)
 * never goes out (send.errors), and a leg the INVITE had just created is
 * freed, as no call can come of it (it used to keep its slot for the run,
 * in the L_FREE state no timer frees, and answer nothing to the INVITE's
 * retransmissions: enough such INVITEs filled the table, 503 to every call). */
static bool send_final_stored(struct uas *u, uint32_t li, const struct sip_msg *m,
			      const struct net_pkt *p, int status, bool sdp, enum load_method meth)
{
	struct uas_leg *l = &u->legs[li];
	uint32_t pe = pend_get(u);
	if (pe == TL_NIL) {
		bool sent = reply(u, m, p, li, status, sdp, meth);
		l->state = L_CONFIRMED;
		if (l->rejected)
			leg_linger(u, li);
		return sent;
	}
	int n = build_resp(u, m, li, status, sdp, u->pend[pe].data, LOAD_TX_SIZE);
	if (n < 0) {
		pend_put(u, &pe);
		u->x.c->send_errors++;
		if (l->state == L_FREE) { /* the INVITE's leg, counted as a call up */
			u->active--;
			leg_free(u, li);
		}
		return false;
	}
	u->pend[pe].len = (uint32_t)n;
	if (status < 300)
		pend_note_target(u, pe, m);
	l->resp_pend = pe;
	l->state = L_WAIT_ACK;
	l->invite_cseq = m->cseq.num;
	l->resp_meth = (uint8_t)meth;
	l->resp_status = (uint16_t)status;
	bool sent = send_pend(u, l, pe);
	if (sent) {
		u->x.c->responses_sent++;
		load_count_code(u->x.c, meth, status);
	}
	l->resp_unsent = !sent;
	l->resp_t0 = u->now;
	tl_arm(u->lists, u->nodes, 0, 2 * li, u->now);
	return sent;
}

/* Sends leg li's stored final (or our BYE, L_BYE) again. One whose first
 * send failed is counted now as that send would have been: the final as a
 * response sent and its request answered (`completed`), the BYE as sent; it
 * used to count nowhere though the peer had it. RESEND_FIRST when it went
 * out for the first time, RESEND_AGAIN when again (a retransmission),
 * RESEND_NONE when it did not. */
enum { RESEND_NONE = 0, RESEND_FIRST, RESEND_AGAIN };
static int resend_resp(struct uas *u, uint32_t li)
{
	struct uas_leg *l = &u->legs[li];
	if (!send_pend(u, l, l->resp_pend))
		return RESEND_NONE;
	if (!l->resp_unsent)
		return RESEND_AGAIN;
	l->resp_unsent = false;
	if (l->state == L_BYE) {
		u->x.c->byes_sent++;
	} else {
		u->x.c->responses_sent++;
		load_count_code(u->x.c, (enum load_method)l->resp_meth, l->resp_status);
		u->x.c->m[l->resp_meth].completed++;
	}
	return RESEND_FIRST;
}

/* ---- legs -------------------------------------------------------------------------- */

static void leg_stop_resp(struct uas *u, uint32_t li)
{
	tl_cancel(u->lists, u->nodes, 2 * li);
	pend_put(u, &u->legs[li].resp_pend);
	u->legs[li].resp_unsent = false;
}

/* Stops a NOTIFY still waiting for its response: the dialog ended first. */
static void leg_drop_notify(struct uas *u, uint32_t li)
{
	struct uas_leg *l = &u->legs[li];
	tl_cancel(u->lists, u->nodes, 2 * li + 1);
	if (l->notify_pend != TL_NIL)
		u->x.c->notify_abandoned++;
	pend_put(u, &l->notify_pend);
	l->notify_unsent = false;
}

/* Whether the leg counts as a call up (`active`): not once it is over. */
static bool leg_active(const struct uas_leg *l)
{
	return l->state != L_FREE && l->state != L_LINGER && l->state != L_BYE;
}

static void leg_free(struct uas *u, uint32_t li)
{
	struct uas_leg *l = &u->legs[li];
	if (leg_active(l))
		u->active--;
	leg_stop_resp(u, li);
	leg_drop_notify(u, li);
	index_remove(u, li);
	l->state = L_FREE;
	u->leg_free[u->leg_nfree++] = li;
}

static void leg_linger(struct uas *u, uint32_t li)
{
	struct uas_leg *l = &u->legs[li];
	if (leg_active(l))
		u->active--;
	leg_stop_resp(u, li);
	leg_drop_notify(u, li);
	l->state = L_LINGER;
	tl_arm(u->lists, u->nodes, LST_LINGER, 2 * li, u->now);
}

static enum load_method method_of(const struct sip_msg *m, bool in_dialog)
{
	switch (m->method_id) {
	case SIP_METHOD_INVITE:
		return in_dialog ? LM_REINVITE : LM_INVITE;
	case SIP_METHOD_ACK:
		return LM_ACK;
	case SIP_METHOD_BYE:
		return LM_BYE;
	case SIP_METHOD_CANCEL:
		return LM_CANCEL;
	case SIP_METHOD_OPTIONS:
		return LM_OPTIONS;
	case SIP_METHOD_INFO:
		return LM_INFO;
	case SIP_METHOD_MESSAGE:
		return LM_MESSAGE;
	case SIP_METHOD_NOTIFY:
		return LM_NOTIFY;
	case SIP_METHOD_PRACK:
		return LM_PRACK;
	case SIP_METHOD_REFER:
		return LM_REFER;
	case SIP_METHOD_UPDATE:
		return LM_UPDATE;
	default:
		return LM_OTHER;
	}
}

/* The final status for a new INVITE: reject a --reject-share of them, spread
 * evenly (error diffusion), alternating 486 and 603. */
static int invite_status(struct uas *u)
{
	u->reject_acc += u->x.cfg->reject_share;
	if (u->reject_acc >= 1.0 - 1e-9) {
		u->reject_acc -= 1.0;
		return (u->reject_flip++ & 1) ? 603 : 486;
	}
	return 200;
}

static void on_new_invite(struct uas *u, const struct sip_msg *m, const struct net_pkt *p)
{
	uint64_t h;
	uint32_t li = leg_find(u, m, &h);

	if (li != TL_NIL) {
		struct uas_leg *l = &u->legs[li];
		if (m->cseq.num != l->rcseq || l->state == L_LINGER || l->state == L_BYE) {
			u->x.c->out_of_order++;
			reject(u, m, p, TL_NIL, 500, LM_INVITE);
			return;
		}
		/* a retransmission: repeat where we are */
		u->x.c->m[LM_INVITE].retrans++;
		if (l->state == L_EARLY)
			reply(u, m, p, li, 180, false, LM_INVITE);
		else if (l->resp_pend != TL_NIL) {
			if (resend_resp(u, li) == RESEND_AGAIN)
				u->x.c->responses_resent++;
		} else
			reply(u, m, p, li, l->invite_status, l->invite_status == 200, LM_INVITE);
		return;
	}
	if (!u->leg_nfree || m->call_id.len > CALLID_MAX || !m->from.has_tag ||
	    m->from.tag.len > RTAG_MAX || p->peer_len > sizeof(struct sockaddr_in6)) {
		if (!u->leg_nfree)
			u->x.c->legs_table_full++;
		else
			u->x.c->bad_requests++;
		reject(u, m, p, TL_NIL, u->leg_nfree ? 400 : 503, LM_INVITE);
		return;
	}
	li = u->leg_free[--u->leg_nfree];
	struct uas_leg *l = &u->legs[li];
	l->hash = h;
	l->gen++;
	l->rcseq = m->cseq.num;
	l->invite_cseq = m->cseq.num;
	l->lcseq = 0;
	l->resp_pend = l->notify_pend = TL_NIL;
	l->resp_unsent = l->notify_unsent = false;
	l->rejected = false;
	l->cancel_seen = false;
	l->bye = false;
	l->callid_len = (uint8_t)m->call_id.len;
	memcpy(l->callid, m->buf + m->call_id.off, m->call_id.len);
	l->rtag_len = (uint8_t)m->from.tag.len;
	memcpy(l->rtag, m->buf + m->from.tag.off, m->from.tag.len);
	memcpy(&l->peer, p->peer, p->peer_len);
	l->peer_len = p->peer_len;
	/* the route set for our requests: Record-Route as received (12.1.1) */
	l->route_len = 0;
	if (m->nrecord_routes) {
		struct wbuf rw = {u->routes + (size_t)li * ROUTE_MAX, 0, ROUTE_MAX, false};
		for (int i = 0; i < m->nrecord_routes; i++) {
			wbuf_puts(&rw, i ? ", " : "Route: ");
			struct msg_str v = msg_view(m, m->record_routes[i].whole);
			wbuf_put(&rw, v.p, v.len);
		}
		wbuf_puts(&rw, "\r\n");
		if (!rw.overflow)
			l->route_len = (uint16_t)rw.len;
	}
	index_insert(u, li);
	u->active++;
	u->x.c->legs_created++;
	u->x.c->m[LM_INVITE].sent++;

	reply(u, m, p, li, 100, false, LM_INVITE);
	int st = invite_status(u);
	l->invite_status = (uint16_t)st;
	if (st != 200) {
		l->rejected = true;
		u->x.c->rejects++;
		if (send_final_stored(u, li, m, p, st, false, LM_INVITE))
			u->x.c->m[LM_INVITE].completed++;
		return;
	}
	reply(u, m, p, li, 180, false, LM_INVITE);
	if (u->x.cfg->answer_delay_ms) {
		uint32_t pe = pend_get(u);
		if (pe != TL_NIL) {
			int n = build_resp(u, m, li, 200, true, u->pend[pe].data, LOAD_TX_SIZE);
			if (n > 0) {
				u->pend[pe].len = (uint32_t)n;
				pend_note_target(u, pe, m);
				l->resp_pend = pe;
				l->invite_cseq = m->cseq.num;
				l->state = L_EARLY;
				u->x.c->answers_delayed++;
				tl_arm(u->lists, u->nodes, LST_ANSWER, 2 * li, u->now);
				return;
			}
			pend_put(u, &pe);
		}
		/* no store for the delayed answer: answer now */
	}
	if (send_final_stored(u, li, m, p, 200, true, LM_INVITE))
		u->x.c->m[LM_INVITE].completed++;
}

/* Rewrites the stored 200 of an L_EARLY leg into a 487 to the same INVITE:
 * the status line replaced, the SDP and the lines that go with it (Content-
 * Type, Content-Length) and the Record-Route a 2xx carries dropped; Via, From,
 * To (with our tag), Call-ID, CSeq and Contact stay as the INVITE had them.
 * Built from the 200 rather than from the CANCEL, whose Via is only the top
 * one of the INVITE's (RFC 3261 9.1). False when the text is not as we wrote
 * it. */
static bool pend_to_487(struct uas_pend *pd)
{
	static const char status[] = "SIP/2.0 487 Request Terminated\r\n";
	static const char tail[] = "Content-Length: 0\r\n\r\n";
	static const char *const drop[] = {"Content-Type:", "Content-Length:", "Record-Route:"};
	char out[LOAD_TX_SIZE];
	const char *p = pd->data, *end = pd->data + pd->len;
	const char *eol = memmem(p, pd->len, "\r\n", 2);
	if (!eol)
		return false;
	size_t n = sizeof(status) - 1;
	memcpy(out, status, n);
	for (p = eol + 2; p < end;) {
		eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		if (!eol)
			return false;
		size_t len = (size_t)(eol - p) + 2;
		if (len == 2) /* the empty line: the body follows */
			break;
		bool keep = true;
		for (size_t i = 0; keep && i < sizeof(drop) / sizeof(drop[0]); i++)
			keep = strncasecmp(p, drop[i], strlen(drop[i])) != 0;
		if (keep) {
			if (n + len + sizeof(tail) > sizeof(out))
				return false;
			memcpy(out + n, p, len);
			n += len;
		}
		p = eol + 2;
	}
	memcpy(out + n, tail, sizeof(tail) - 1);
	n += sizeof(tail) - 1;
	memcpy(pd->data, out, n);
	pd->len = (uint32_t)n;
	return true;
}

/* A CANCEL (RFC 3261 9.2) or a BYE in the early dialog (15.1.2) while the
 * leg rings (--answer-delay-ms): the INVITE gets a 487 at once instead of its
 * delayed 200, stored and retransmitted until its ACK (17.2.1) as any
 * rejection. False when the stored 200 could not be rewritten: it stays due,
 * a call answered, as before. */
static bool cancel_ringing(struct uas *u, uint32_t li)
{
	struct uas_leg *l = &u->legs[li];
	if (!pend_to_487(&u->pend[l->resp_pend])) {
		u->x.c->send_errors++;
		return false;
	}
	tl_cancel(u->lists, u->nodes, 2 * li); /* the delayed 200's timer */
	l->rejected = true;
	l->invite_status = 487;
	l->state = L_WAIT_ACK;
	l->resp_meth = LM_INVITE;
	l->resp_status = 487;
	l->resp_unsent = true;
	resend_resp(u, li); /* its first send, counted when it goes */
	l->resp_t0 = u->now;
	tl_arm(u->lists, u->nodes, 0, 2 * li, u->now);
	return true;
}

/* The delayed 200 of an L_EARLY leg is due. */
static void answer_now(struct uas *u, uint32_t li)
{
	struct uas_leg *l = &u->legs[li];
	l->state = L_WAIT_ACK;
	l->resp_meth = LM_INVITE;
	l->resp_status = 200;
	l->resp_unsent = true;
	resend_resp(u, li); /* its first send, counted when it goes */
	l->resp_t0 = u->now;
	tl_arm(u->lists, u->nodes, 0, 2 * li, u->now);
}

static void on_ack(struct uas *u, const struct sip_msg *m)
{
	uint32_t li = leg_find(u, m, NULL);
	u->x.c->m[LM_ACK].sent++;
	if (li == TL_NIL) {
		u->x.c->acks_unmatched++;
		return;
	}
	struct uas_leg *l = &u->legs[li];
	u->x.c->acks_received++;
	if (l->state != L_WAIT_ACK || m->cseq.num != l->invite_cseq)
		return; /* a repeated ACK: the peer answered our 2xx retransmission */
	leg_stop_resp(u, li);
	if (l->rejected)
		leg_linger(u, li);
	else
		l->state = L_CONFIRMED;
}

/* The branch of our request with CSeq l->lcseq in leg li: on_response finds
 * the leg and the request from it. */
static void make_nbranch(const struct uas *u, uint32_t li, char out[NBRANCH_LEN])
{
	const struct uas_leg *l = &u->legs[li];
	memcpy(out, "z9hG4bKs", 8);
	memcpy(out + 8, u->x.th_hex, 2);
	load_put_hex(out + 10, li, 8);
	load_put_hex(out + 18, l->gen, 8);
	load_put_hex(out + 26, l->lcseq, 8);
}

/* Sends leg li's NOTIFY (again); one whose first send failed is counted
 * sent when a retransmission takes it out (it was counted sent at once).
 * As resend_resp. */
static int resend_notify(struct uas *u, uint32_t li)
{
	struct uas_leg *l = &u->legs[li];
	if (!send_pend(u, l, l->notify_pend))
		return RESEND_NONE;
	if (!l->notify_unsent)
		return RESEND_AGAIN;
	l->notify_unsent = false;
	u->x.c->notify_sent++;
	return RESEND_FIRST;
}

static void send_notify(struct uas *u, uint32_t li, const struct sip_msg *refer)
{
	struct uas_leg *l = &u->legs[li];
	char branch[NBRANCH_LEN];

	leg_drop_notify(u, li); /* a REFER before the last NOTIFY finished */
	uint32_t pe = pend_get(u);
	if (pe == TL_NIL)
		return;
	l->lcseq++;
	make_nbranch(u, li, branch);
	struct msg_str route = {u->routes + (size_t)li * ROUTE_MAX, l->route_len};
	int n = msg_notify(refer, (struct msg_str){u->ep.local, u->ep.local_len},
			   (struct msg_str){branch, NBRANCH_LEN}, l->lcseq, route, u->pend[pe].data,
			   LOAD_TX_SIZE);
	if (n < 0) {
		pend_put(u, &pe);
		u->x.c->send_errors++;
		return;
	}
	u->pend[pe].len = (uint32_t)n;
	l->notify_pend = pe;
	l->notify_t0 = u->now;
	l->notify_unsent = true;
	resend_notify(u, li); /* its first send, counted when it goes */
	tl_arm(u->lists, u->nodes, 0, 2 * li + 1, u->now);
}

/* The ACK of our 2xx did not come within 64*T1: the dialog is confirmed,
 * but the session SHOULD end with a BYE (RFC 3261 13.3.1.4; 14.2 for a
 * re-INVITE's 2xx). Kept as it was, the call held its slot here and its
 * dialog in the SBC until the run ended. The BYE is built from the stored 2xx
 * (its From and To swapped, the remote target noted with it) and takes that
 * 2xx's store and timer; it is retransmitted as our NOTIFY is (17.1.2.2), and
 * the leg is freed at its final response or timeout. */
static void send_bye(struct uas *u, uint32_t li)
{
	struct uas_leg *l = &u->legs[li];
	struct uas_pend *pd = &u->pend[l->resp_pend];
	char out[LOAD_TX_SIZE], branch[NBRANCH_LEN];

	leg_drop_notify(u, li); /* a REFER's NOTIFY still going: the dialog ends */
	tl_cancel(u->lists, u->nodes, 2 * li);
	u->active--;
	l->state = L_BYE;
	int n = -EINVAL;
	if (sip_parse(&u->msg, pd->data, pd->len, NULL) == 0) {
		l->lcseq++;
		make_nbranch(u, li, branch);
		struct msg_str route = {u->routes + (size_t)li * ROUTE_MAX, l->route_len};
		n = msg_bye(&u->msg, (struct msg_str){pd->target, pd->target_len},
			    (struct msg_str){u->ep.local, u->ep.local_len},
			    (struct msg_str){branch, NBRANCH_LEN}, l->lcseq, route, out,
			    sizeof(out));
	}
	if (n < 0) {
		u->x.c->send_errors++;
		leg_free(u, li);
		return;
	}
	memcpy(pd->data, out, (size_t)n);
	pd->len = (uint32_t)n;
	l->resp_t0 = u->now;
	l->resp_unsent = true;
	resend_resp(u, li); /* its first send, counted when it goes (L_BYE) */
	tl_arm(u->lists, u->nodes, 0, 2 * li, u->now);
}

static void on_in_dialog(struct uas *u, const struct sip_msg *m, const struct net_pkt *p)
{
	enum load_method meth = method_of(m, true);
	uint32_t li = leg_find(u, m, NULL);
	char ltag[LTAG_LEN + 1];

	if (li != TL_NIL)
		make_ltag(u, li, ltag);
	if (li == TL_NIL || m->to.tag.len != LTAG_LEN ||
	    memcmp(m->buf + m->to.tag.off, ltag, LTAG_LEN)) {
		u->x.c->unknown_dialog++;
		reject(u, m, p, TL_NIL, 481, meth);
		return;
	}
	struct uas_leg *l = &u->legs[li];
	/* No dialog left: the BYE ended it (L_LINGER), or the INVITE got a
	 * non-2xx final, which ends the early dialog of its 180 (RFC 3261
	 * 12.1, 15.1.2: after a CANCEL, a BYE in the early dialog, or a
	 * rejection) while the leg still waits for that final's ACK, or our
	 * own BYE is ending it (L_BYE). A new request matches no dialog
	 * (12.2.2: 481); only a repeat of the BYE that ended the call gets
	 * that BYE's 200 again, and a BYE of the peer's that crossed ours gets
	 * 200 (both end the same dialog). */
	if (l->state == L_LINGER || l->state == L_BYE || l->rejected) {
		if (meth == LM_BYE && l->bye && m->cseq.num == l->rcseq) {
			u->x.c->m[LM_BYE].retrans++;
			reply(u, m, p, li, 200, false, LM_BYE);
		} else if (meth == LM_BYE && l->state == L_BYE && m->cseq.num > l->rcseq) {
			l->bye = true;
			l->rcseq = m->cseq.num;
			u->x.c->m[LM_BYE].sent++;
			if (reply(u, m, p, li, 200, false, LM_BYE))
				u->x.c->m[LM_BYE].completed++;
		} else {
			u->x.c->unknown_dialog++;
			reject(u, m, p, TL_NIL, 481, meth);
		}
		return;
	}
	int status = meth == LM_REFER ? 202 : 200;
	bool sdp = meth == LM_REINVITE || (meth == LM_UPDATE && m->body.len > 0);
	if (m->cseq.num == l->rcseq) { /* retransmission: answer the same again */
		u->x.c->m[meth].retrans++;
		if (meth == LM_REINVITE && l->resp_pend != TL_NIL) {
			if (resend_resp(u, li) == RESEND_AGAIN)
				u->x.c->responses_resent++;
		} else
			reply(u, m, p, li, status, sdp, meth);
		return;
	}
	if (m->cseq.num < l->rcseq) {
		u->x.c->out_of_order++;
		reject(u, m, p, li, 500, meth);
		return;
	}
	l->rcseq = m->cseq.num;
	u->x.c->m[meth].sent++;
	/* answered (`completed`) counts the answers that went out, below */
	bool sent;
	/* a newer request means the peer has our 2xx even if its ACK got lost */
	if (l->state == L_WAIT_ACK && !l->rejected) {
		leg_stop_resp(u, li);
		l->state = L_CONFIRMED;
	}
	/* the peer's address may change (a new source port of a trunk) */
	if (p->peer_len <= sizeof(l->peer)) {
		memcpy(&l->peer, p->peer, p->peer_len);
		l->peer_len = p->peer_len;
	}
	switch (meth) {
	case LM_REINVITE:
		/* RFC 3261 14.2: an INVITE in the early dialog of one still
		 * waiting for its final gets 500; it once took the ringing
		 * INVITE's stored 200 and its timer, so that INVITE never got its
		 * final and the store entry was lost for the run */
		if (l->state == L_EARLY)
			sent = reply(u, m, p, li, 500, false, meth);
		else
			sent = send_final_stored(u, li, m, p, 200, true, meth);
		break;
	case LM_BYE:
		l->bye = true;
		sent = reply(u, m, p, li, 200, false, meth);
		/* in the early dialog the INVITE still waits for its final: it
		 * was left with none (RFC 3261 15.1.2: 487); the leg lingers
		 * once that 487 is ACKed, and a repeated BYE gets 200 again */
		if (l->state == L_EARLY && cancel_ringing(u, li))
			break;
		leg_linger(u, li);
		break;
	case LM_REFER:
		sent = reply(u, m, p, li, 202, false, meth);
		send_notify(u, li, m);
		break;
	default:
		sent = reply(u, m, p, li, status, sdp, meth);
		break;
	}
	if (sent)
		u->x.c->m[meth].completed++;
}

static void on_request(struct uas *u, const struct sip_msg *m, const struct net_pkt *p)
{
	if (m->method_id == SIP_METHOD_ACK) {
		on_ack(u, m);
		return;
	}
	if (m->to.has_tag) {
		on_in_dialog(u, m, p);
		return;
	}
	enum load_method meth = method_of(m, false);
	switch (m->method_id) {
	case SIP_METHOD_INVITE:
		on_new_invite(u, m, p);
		break;
	case SIP_METHOD_CANCEL: {
		/* an answered INVITE stays answered; one still ringing
		 * (--answer-delay-ms) gets 487 after the CANCEL's 200. A
		 * CANCEL again (its 200 lost) gets 200 again, counted apart as
		 * a retransmission; each once counted a call cancelled */
		uint32_t li = leg_find(u, m, NULL);
		bool again = li != TL_NIL && u->legs[li].cancel_seen;
		if (again) {
			u->x.c->m[LM_CANCEL].retrans++;
			reply(u, m, p, li, 200, false, LM_CANCEL);
			break;
		}
		u->x.c->m[LM_CANCEL].sent++;
		if (li != TL_NIL)
			u->legs[li].cancel_seen = true;
		if (reply(u, m, p, li, li == TL_NIL ? 481 : 200, false, LM_CANCEL))
			u->x.c->m[LM_CANCEL].completed++;
		if (li != TL_NIL && u->legs[li].state == L_EARLY && cancel_ringing(u, li))
			u->x.c->cancels++;
		break;
	}
	case SIP_METHOD_OPTIONS:
	case SIP_METHOD_MESSAGE:
		u->x.c->m[meth].sent++;
		if (reply(u, m, p, TL_NIL, 200, false, meth))
			u->x.c->m[meth].completed++;
		break;
	default:
		u->x.c->unknown_dialog++;
		reject(u, m, p, TL_NIL, 481, meth);
		break;
	}
}

/* A response: only to our NOTIFYs and BYEs. */
static void on_response(struct uas *u, const struct sip_msg *m)
{
	uint64_t li, gen, cseq;
	if (!m->nvias || m->vias[0].branch.len != NBRANCH_LEN) {
		u->x.c->unknown_transaction++;
		return;
	}
	const char *b = m->buf + m->vias[0].branch.off;
	if (memcmp(b, "z9hG4bKs", 8) || memcmp(b + 8, u->x.th_hex, 2) ||
	    !load_get_hex(b + 10, 8, &li) || !load_get_hex(b + 18, 8, &gen) ||
	    !load_get_hex(b + 26, 8, &cseq) || li >= u->ncap) {
		u->x.c->unknown_transaction++;
		return;
	}
	struct uas_leg *l = &u->legs[li];
	if (m->cseq.method_id == SIP_METHOD_BYE) {
		/* our BYE's final after an earlier one (our retransmission
		 * crossed it), or after the timeout: the leg is gone */
		if (l->gen != gen || l->state != L_BYE || l->lcseq != cseq) {
			u->x.c->byes_duplicates++;
			return;
		}
		if (m->status < 200)
			return;
		u->x.c->byes_answered++;
		if (m->status >= 300) /* 481: the peer has no dialog either */
			u->x.c->byes_failed++;
		leg_free(u, (uint32_t)li);
		return;
	}
	if (l->gen != gen || l->notify_pend == TL_NIL || l->lcseq != cseq ||
	    m->cseq.method_id != SIP_METHOD_NOTIFY) {
		u->x.c->notify_duplicates++;
		return;
	}
	if (m->status < 200)
		return;
	tl_cancel(u->lists, u->nodes, 2 * (uint32_t)li + 1);
	pend_put(u, &l->notify_pend);
	u->x.c->notify_completed++;
}

static void on_pkt(void *arg, const struct net_pkt *p)
{
	struct uas *u = arg;
	struct sip_msg *m = &u->msg;

	u->now = load_now_ns();
	if (sip_parse(m, p->data, p->len, NULL) != 0) {
		/* one error: counted here only, not in bad_requests too (the
		 * errors' total adds both, and one bad datagram made two) */
		u->x.c->malformed++;
		if (m->is_request && sip_can_respond(m))
			reject(u, m, p, TL_NIL, 400, LM_OTHER);
		return;
	}
	if (m->is_request)
		on_request(u, m, p);
	else
		on_response(u, m);
}

/* ---- timers ---------------------------------------------------------------------- */

static void fire_timers(struct uas *u)
{
	uint32_t id;
	uint64_t give_up = 64 * u->t1_ns;

	while ((id = tl_due(u->lists, u->nodes, LST_ANSWER, u->now)) != TL_NIL)
		answer_now(u, id / 2);
	while ((id = tl_due(u->lists, u->nodes, LST_LINGER, u->now)) != TL_NIL)
		leg_free(u, id / 2);
	for (int k = 0; k < NCLASSES; k++) {
		while ((id = tl_due(u->lists, u->nodes, k, u->now)) != TL_NIL) {
			uint32_t li = id / 2;
			struct uas_leg *l = &u->legs[li];
			bool notify = id & 1;
			uint64_t t0 = notify ? l->notify_t0 : l->resp_t0;
			if (u->now - t0 >= give_up) {
				if (notify) {
					u->x.c->notify_timeouts++;
					tl_cancel(u->lists, u->nodes, id);
					pend_put(u, &l->notify_pend);
				} else if (l->state == L_BYE) {
					u->x.c->byes_timeouts++;
					leg_free(u, li);
				} else {
					u->x.c->ack_timeouts++;
					if (l->rejected)
						leg_linger(u, li);
					else
						send_bye(u, li);
				}
				continue;
			}
			/* one that does not go out is as a lost datagram: the
			 * next interval sends it again; one going out for the
			 * first time is counted as sent, not as a retransmission */
			if ((notify ? resend_notify(u, li) : resend_resp(u, li)) != RESEND_AGAIN)
				;
			else if (notify)
				u->x.c->notify_retrans++;
			else if (l->state == L_BYE)
				u->x.c->byes_retrans++;
			else
				u->x.c->responses_resent++;
			unsigned next = (unsigned)k + 1 < u->kcap ? (unsigned)k + 1 : u->kcap;
			tl_arm(u->lists, u->nodes, (int)next, id, u->now);
		}
	}
}

/* ---- setup and the loop ---------------------------------------------------------- */

static int uas_setup(void *state)
{
	struct uas *u = state;
	struct load_worker *w = u->x.w;
	const struct load_cfg *cfg = w->cfg;

	uint64_t cap = cfg->max_calls / cfg->threads;
	if (cap < 16)
		cap = 16;
	if (cap > 0x7fffffffu) {
		snprintf(w->err, sizeof(w->err), "--max-calls is too large");
		return -EINVAL;
	}
	u->ncap = (uint32_t)cap;
	uint32_t isz = 1;
	while (isz < 2 * u->ncap)
		isz <<= 1;
	u->index_mask = isz - 1;
	u->npend = cfg->pending;
	u->legs = calloc(u->ncap, sizeof(*u->legs));
	u->routes = calloc(u->ncap, ROUTE_MAX);
	u->leg_free = calloc(u->ncap, sizeof(*u->leg_free));
	u->index = calloc(isz, sizeof(*u->index));
	u->pend = calloc(u->npend, sizeof(*u->pend));
	u->pend_free = calloc(u->npend, sizeof(*u->pend_free));
	u->nodes = calloc((size_t)u->ncap * 2, sizeof(*u->nodes));
	if (!u->legs || !u->routes || !u->leg_free || !u->index || !u->pend || !u->pend_free ||
	    !u->nodes) {
		snprintf(w->err, sizeof(w->err), "out of memory for %u legs", u->ncap);
		return -ENOMEM;
	}
	/* free stacks pop low indices first, so memory is touched as it is used */
	for (uint32_t i = 0; i < u->ncap; i++)
		u->leg_free[u->leg_nfree++] = u->ncap - 1 - i;
	for (uint32_t i = 0; i < u->npend; i++)
		u->pend_free[u->pend_nfree++] = u->npend - 1 - i;
	tl_init_nodes(u->nodes, u->ncap * 2);
	u->t1_ns = (uint64_t)cfg->t1_ms * 1000000;
	u->kcap = load_rt_lists(u->lists, cfg);
	tl_init_list(&u->lists[LST_ANSWER], (uint64_t)cfg->answer_delay_ms * 1000000);
	tl_init_list(&u->lists[LST_LINGER], 64 * u->t1_ns);

	int rc = load_ep_open(&u->ep, w, &cfg->local, cfg->local_len, cfg->threads > 1,
			      LOAD_TX_BUFS * 2);
	if (rc)
		return rc;
	u->contact_len = (size_t)snprintf(u->contact, sizeof(u->contact),
					  "Contact: <sip:uas@%s>\r\n", u->ep.local);
	u->ipv6 = cfg->local.ss_family == AF_INET6;
	u->sdp_ip_len = load_sdp_ip(u->ep.local, u->ipv6, u->sdp_ip, sizeof(u->sdp_ip));
	return 0;
}

static void uas_teardown(void *state)
{
	struct uas *u = state;
	load_ep_close(&u->ep, u->x.w);
	free(u->legs);
	free(u->routes);
	free(u->leg_free);
	free(u->index);
	free(u->pend);
	free(u->pend_free);
	free(u->nodes);
}

static void publish(struct uas *u, bool force)
{
	load_publish(&u->x, u->now, force, u->active, u->ncap - u->leg_nfree,
		     load_uas_errors(u->x.c));
}

static void uas_loop(void *state)
{
	struct uas *u = state;
	const struct load_worker *w = u->x.w;

	u->now = u->t_start = load_now_ns();
	uint64_t end =
	    w->cfg->duration > 0 ? u->t_start + (uint64_t)(w->cfg->duration * 1e9) : UINT64_MAX;
	while (!atomic_load_explicit(w->stop, memory_order_relaxed)) {
		u->now = load_now_ns();
		if (u->now >= end)
			break;
		fire_timers(u);
		load_ep_flush(&u->ep);
		publish(u, false);
		uint64_t t = tl_next(u->lists, u->nodes, NLISTS);
		if (t > end)
			t = end;
		uint64_t delta = t > u->now ? t - u->now : 0;
		if (delta > 100000000ull)
			delta = 100000000ull; /* look at the stop flag now and then */
		int ms = (int)(delta / 1000000);
		if (delta && !ms)
			ms = 1;
		net_io_poll(u->ep.io, ms, on_pkt, u);
		u->ep.queued = false; /* net_io_poll submitted what the callbacks queued */
	}
	u->now = load_now_ns();
	publish(u, true);
	u->x.w->mix_seconds = (double)(u->now - u->t_start) / 1e9;
}

void *load_uas_main(void *arg)
{
	static const struct load_role_ops ops = {sizeof(struct uas), uas_setup, uas_loop,
						 uas_teardown};
	load_worker_run(arg, &ops);
	return NULL;
}
