/*
 * controller.c - call setup and out-of-dialog policy (see controller.h).
 *
 * Owns: the set-up records and their indexes, the INVITE from leg A (ACL,
 * rate and call limits, route, leg B's INVITE), what each response to leg
 * B's INVITE does (relayed, failed over, a challenge answered, given up),
 * the caller's CANCEL and ACK, each record's timers, the entry points, and
 * opening and closing the controller.
 *
 * A call in setup lives in a preallocated ctl_call record found two ways: by
 * leg B's INVITE branch (which encodes the record's index and generation) for
 * the callee's responses, and by leg A's Call-ID + From-tag (a chained hash)
 * for CANCEL, retransmitted INVITEs and the ACK of a non-2xx final. A record
 * lingers a few seconds after the call is answered so that retransmitted 2xx
 * responses still reach the caller. Lingering records wait in answer order on
 * a list of their own, so that a tick looks only at those whose time is up
 * (not at thousands of answered calls every 10 ms), and so that a new INVITE
 * finding no free record takes the oldest lingering one: a new call matters
 * more than covering a 2xx retransmission of a call already answered. Every
 * other record has one timer in a timing wheel (shard/wheel.c), armed for
 * the next time it needs the controller (call_due: Timer A or B, G or H, the
 * give-up time of a ringing call, the next tick while its early dialog waits
 * for a full ring), so that a tick costs what is due and not the thousands of
 * calls ringing (walking them all on every pass made 10000 ringing calls cost
 * the controller 5x the CPU per call).
 *
 * Why leg B's INVITE is given up travels with its CANCEL (RFC 3326): the
 * caller's CANCEL's Reason lines, or sipshard's own at timers.no_answer_s,
 * are kept in the record, as the CANCEL may have to wait for a provisional
 * and Timer E resends it (each time the same).
 *
 * Requests sent for a response that belongs to no record any more (the
 * CANCEL of a target left after failover that rings, the BYE ending a 2xx
 * nobody will use) are transactions of their own in detached.c.
 *
 * Beside it, each with what it owns (controller_int.h holds the types they
 * share, and the functions one calls in another, ctl_ prefixed):
 * - controller_targets.c: the routes' targets (which one a call goes to and
 *   fails over to, the calls on each, down or out of service, the OPTIONS
 *   sent to them);
 * - controller_forks.c: the forks of leg B (RFC 3261 13.2.2.4), an early
 *   dialog toward the caller per fork (ctl_fork_*, ctl_forks_end,
 *   ctl_answer_from_fork), called from invite_response, which decides what
 *   each response of leg B does;
 * - controller_cdr.c: the call detail records (ctl_cdr_*);
 * - controller_restore.c: the records' memory, and with persist_dialogs what
 *   a new process makes of the records the last one left in run_dir
 *   (ctl_restore, ctl_adopt): a restart drops neither the calls up nor the
 *   ones ringing.
 * Does not own: the shard tables (it never writes them: it sends commands
 * to the workers), sockets (it sends through ctl_hooks), in-dialog relay
 * (relay.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h> /* atomic_signal_fence: the given-up ring's write marker */
#include <stddef.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/keyhash.h"
#include "core/mem.h"
#include "core/rng.h" /* rng_secure: Call-IDs, tags, branches a forger must guess */
#include "core/wbuf.h"
#include "daemon/controller.h"
#include "daemon/controller_int.h"
#include "daemon/credentials.h"
#include "daemon/detached.h"
#include "daemon/log.h"
#include "daemon/orig.h" /* orig_creds_find: a changed route's calls' credentials */
#include "daemon/register.h"
#include "daemon/relay.h"
#include "daemon/setup_msg.h"
#include "net/udp.h"
#include "shard/wheel.h"
#include "sipshard/hash.h"
#include "steer/steer.h"

/* The Reason of the CANCEL sent at timers.no_answer_s: the status the caller
 * gets for it */
#define CTL_NO_ANSWER_REASON "Reason: SIP;cause=408;text=\"Request Timeout\"\r\n"

static bool copy_view(char *dst, size_t cap, const struct sip_msg *m, sip_view v)
{
	if (v.len >= cap)
		return false;
	memcpy(dst, m->buf + v.off, v.len);
	dst[v.len] = '\0';
	return true;
}

/* The CDR disposition of a call that ends before any 2xx: timeout (Timer B
 * or no_answer_s), the caller's CANCEL, else a failure. */
static const char *unanswered_disposition(const struct ctl_call *k, bool timeout)
{
	return timeout ? "timeout" : k->cancelled ? "cancelled" : "failed";
}

/* A call that ended before any 2xx, as the caller was told status: counted
 * by why (Timer B or no_answer_s, the caller's CANCEL, else a failure) and
 * its CDR written. */
static void call_unanswered(struct ctl *c, const struct ctl_call *k, bool timeout, int status)
{
	if (timeout)
		c->st.calls_timeout++;
	else if (k->cancelled)
		c->st.calls_cancelled++;
	else
		c->st.calls_failed++;
	ctl_cdr_unanswered(c, k, unanswered_disposition(k, timeout), status);
}

/* ---- record pool, indexes ------------------------------------------------ */

static struct ctl_call *call_alloc(struct ctl *c)
{
	if (!c->free_head)
		return NULL;
	struct ctl_call *k = &c->calls[c->free_head - 1];
	c->free_head = k->next_by_a;
	uint32_t gen = k->gen + 1;
	memset(k, 0, offsetof(struct ctl_call, head));
	k->gen = gen;
	return k;
}

/* A list of records through prev/next_active (index + 1), appended at the tail. */
void ctl_list_append(struct ctl *c, struct call_list *l, struct ctl_call *k)
{
	uint32_t i = call_index(c, k) + 1;
	k->next_active = 0;
	k->prev_active = l->tail;
	if (l->tail)
		c->calls[l->tail - 1].next_active = i;
	else
		l->head = i;
	l->tail = i;
}

static void list_unlink(struct ctl *c, struct call_list *l, struct ctl_call *k)
{
	if (k->prev_active)
		c->calls[k->prev_active - 1].next_active = k->next_active;
	else
		l->head = k->next_active;
	if (k->next_active)
		c->calls[k->next_active - 1].prev_active = k->prev_active;
	else
		l->tail = k->prev_active;
}

void ctl_by_a_link(struct ctl *c, struct ctl_call *k)
{
	uint32_t b = k->a_key % c->nby_a;
	k->next_by_a = c->by_a[b];
	c->by_a[b] = call_index(c, k) + 1;
}

static void by_a_unlink(struct ctl *c, struct ctl_call *k)
{
	uint32_t b = k->a_key % c->nby_a, i = call_index(c, k) + 1;
	for (uint32_t *p = &c->by_a[b]; *p; p = &c->calls[*p - 1].next_by_a) {
		if (*p == i) {
			*p = k->next_by_a;
			return;
		}
	}
}

static struct ctl_call *find_by_a(struct ctl *c, const struct sip_msg *m)
{
	uint32_t h = key_hash(c, m->buf + m->call_id.off, m->call_id.len, m->buf + m->from.tag.off,
			      m->from.tag.len);
	for (uint32_t i = c->by_a[h % c->nby_a]; i; i = c->calls[i - 1].next_by_a) {
		struct ctl_call *k = &c->calls[i - 1];
		if (k->a_key == h &&
		    sip_view_eq(m->buf, m->call_id, k->a_call_id, strlen(k->a_call_id)) &&
		    sip_view_eq(m->buf, m->from.tag, k->a_from_tag, strlen(k->a_from_tag)))
			return k;
	}
	return NULL;
}

/* Branch of leg B's INVITE: prefix, record index and generation in hex, then
 * 32 random bits, so that a forged response (a 486 ending someone's call, a
 * 2xx) must guess them and not only two small counters. */
static void make_branch(struct ctl *c, struct ctl_call *k)
{
	snprintf(k->b_branch, sizeof(k->b_branch),
		 RELAY_CTL_BRANCH_PREFIX "%08" PRIx32 "%08" PRIx32 "%08" PRIx32, call_index(c, k),
		 k->gen, (uint32_t)rng_secure());
}

/* The record in set-up whose index and generation m's top branch carries
 * (make_branch: the random part is not checked here), or NULL. */
static struct ctl_call *record_of_branch(struct ctl *c, const struct sip_msg *m)
{
	const struct sip_via *v = &m->vias[0];
	size_t plen = sizeof(RELAY_CTL_BRANCH_PREFIX) - 1;

	if (m->nvias == 0 || v->branch.len != plen + 24)
		return NULL;
	const char *b = m->buf + v->branch.off + plen;
	int64_t idx = relay_hex_digits(b, 8), gen = relay_hex_digits(b + 8, 8);
	if (idx < 0 || gen < 0 || (uint64_t)idx >= c->ncalls)
		return NULL;
	struct ctl_call *k = &c->calls[idx];
	if (k->state == CALL_FREE || k->gen != (uint64_t)gen)
		return NULL;
	return k;
}

/* The record whose current INVITE transaction m answers: its whole branch. */
static struct ctl_call *find_by_branch(struct ctl *c, const struct sip_msg *m)
{
	struct ctl_call *k = record_of_branch(c, m);
	if (!k || !sip_view_eq(m->buf, m->vias[0].branch, k->b_branch, strlen(k->b_branch)))
		return NULL;
	return k;
}

/* Frees a setup record. A slot the worker holds (installed) comes back later
 * through ctl_on_dialog_ended; one it never saw returns to the pool here. */
static void call_free(struct ctl *c, struct ctl_call *k)
{
	struct slot_pool *p = &c->pools[k->shard];

	ctl_forks_end(c, k);
	if (p->holder[k->slot] == call_index(c, k) + 1)
		p->holder[k->slot] = 0;
	if (!k->installed && !k->slot_gone) {
		/* never reached the worker: the slot returns to the pool with a new
		 * generation so tags already sent cannot match a later call */
		if (p->count < p->cap)
			p->items[p->count++] = (uint64_t)k->slot << 32 | (k->slot_gen + 1);
		if (c->st.calls_active)
			c->st.calls_active--;
		policy_call_release(c->pol);
		ctl_target_drop(c, k->shard, k->slot);
	}
	if (k->state == CALL_ANSWERED)
		list_unlink(c, &c->linger, k);
	else if (k->state == CALL_COMPLETED)
		list_unlink(c, &c->completed, k);
	wheel_cancel(&c->timers, c->timer_of[call_index(c, k)]);
	c->timer_of[call_index(c, k)] = WHEEL_NO_TIMER;
	by_a_unlink(c, k);
	k->state = CALL_FREE;
	k->next_by_a = c->free_head;
	c->free_head = call_index(c, k) + 1;
}

/* Tells the worker to free the early dialog of record k; when its ring is
 * full, the release waits for the next tick (release_retry): a release never
 * made would hold the slot and a max_calls place until the idle timeout. */
static void release_dialog(struct ctl *c, const struct ctl_call *k)
{
	struct slot_pool *p = &c->pools[k->shard];
	if (c->hooks.release(c->hooks.arg, k->shard, k->slot, k->slot_gen) != 0 &&
	    p->nreleases < p->cap)
		p->releases[p->nreleases++] = (uint64_t)k->slot << 32 | k->slot_gen;
}

static void release_retry(struct ctl *c)
{
	for (unsigned s = 0; s < c->nshards; s++) {
		struct slot_pool *p = &c->pools[s];
		while (p->nreleases) {
			uint64_t it = p->releases[p->nreleases - 1];
			if (c->hooks.release(c->hooks.arg, s, (uint32_t)(it >> 32), (uint32_t)it))
				break; /* still full */
			p->nreleases--;
		}
	}
}

/* ---- sending ---------------------------------------------------------------- */

static void detached_send_hook(void *arg, unsigned shard, const char *buf, size_t len,
			       const struct sockaddr_storage *to, socklen_t tolen)
{
	send_to(arg, shard, buf, (int)len, to, tolen);
}

/* Sends request n bytes of c->out (negative: it could not be built) as a
 * transaction of its own, retransmitted until answered (detached.h). */
static void send_detached(struct ctl *c, unsigned shard, int n, const char *branch,
			  size_t branch_len, enum sip_method method,
			  const struct sockaddr_storage *to, socklen_t tolen, uint64_t now)
{
	if (n > 0)
		detached_send(&c->detached, c->out, (size_t)n, branch, branch_len, method, shard,
			      to, tolen, now, detached_send_hook, c);
}

/* A 2xx for the caller (and each retransmission of it) goes out through the
 * call's worker, after the install (ctl_hooks.send_after_install): it is what
 * lets the caller use the dialog, and a crash between a 2xx sent directly and
 * the install still waiting in the worker's ring lost the call. When that
 * ring is full the 2xx is not sent at all (counted): the callee sends it
 * again until ACKed. Provisional and failure responses go directly: the
 * worker applies its commands before it handles the caller's next request (a
 * PRACK finds the early dialog), and an early dialog whose install was
 * refused (a full ring) or lost at a restart is pushed again on the next tick
 * (retry_early_install). The hook sends everything given to send before
 * first, so an 18x cannot arrive after its 2xx; when some of that still
 * waits for room in the socket's send buffer, the 2xx is not sent either
 * (counted the same) and its retransmission tries again. */
static void send_2xx_to_a(struct ctl *c, struct ctl_call *k, const char *buf, int len)
{
	if (len <= 0)
		return;
	if (k->installed && c->hooks.send_after_install) {
		int rc = c->hooks.send_after_install(c->hooks.arg, k->shard, buf, (size_t)len,
						     (const struct sockaddr *)&k->a_peer, k->a_len);
		if (rc == 0)
			return;
		if (rc != -EMSGSIZE) {
			c->st.answers_deferred++;
			return;
		}
		/* larger than a ring message (DMSG_DATA_MAX): sent at once from
		 * here, never held back for good */
	}
	send_to(c, k->shard, buf, len, &k->a_peer, k->a_len);
}

static void answer_stateless(struct ctl *c, unsigned shard, const struct sip_msg *m, int status,
			     const char *extra, const struct sockaddr *src, socklen_t srclen)
{
	/* the same request gets the same tag each time it comes (RFC 3261
	 * 8.2.7: a stateless UAS keeps no state to remember one by), another
	 * request another: keyed by its Call-ID and top Via branch, which the
	 * sender cannot aim at another's */
	char tag[24];
	sip_view br = m->nvias ? m->vias[0].branch : (sip_view){0, 0};
	snprintf(tag, sizeof(tag), "ss%08" PRIx32,
		 key_hash(c, m->buf + m->call_id.off, m->call_id.len, m->buf + br.off, br.len));
	int n = sip_respond_from(m, status, NULL, tag, extra, src, srclen, c->out, sizeof(c->out));
	if (n > 0)
		c->hooks.send(c->hooks.arg, shard, c->out, (size_t)n, src, srclen);
}

static void respond_a(struct ctl *c, struct ctl_call *k, int status, const char *extra)
{
	int n = setup_local_response(status, k->head, k->head_len, extra, c->out, sizeof(c->out));
	send_to(c, k->shard, c->out, n, &k->a_peer, k->a_len);
}

/* The 100 (Trying) to the caller's INVITE m (the first, or a retransmission
 * before any provisional), with m's Timestamp (RFC 3261 8.2.6.1): the head
 * kept in k has none, each INVITE brings its own. */
static void trying_to_a(struct ctl *c, struct ctl_call *k, const struct sip_msg *m)
{
	char ts[128]; /* "Timestamp: 1*DIGIT [.*DIGIT] [delay]"; a longer one is not copied */
	int n = sip_timestamp_line(m, ts, sizeof(ts));
	respond_a(c, k, 100, n > 0 ? ts : NULL);
}

/* ---- the dialog record the worker will hold ---------------------------- */

/* false when u does not fit the field (nothing written then) */
static bool set_uri(char *field, uint16_t *len, size_t cap, const struct sip_msg *m,
		    const struct sip_uri *u)
{
	return sip_session_set(field, len, cap, m->buf + u->whole.off, u->whole.len);
}

/* The bytes the route set of m's Record-Route takes as set_route_set writes
 * it, with its NUL; 0 when m has none. */
static size_t route_set_need(const struct sip_msg *m)
{
	size_t n = 0;
	if (!m->nrecord_routes)
		return 0;
	for (uint8_t i = 0; i < m->nrecord_routes; i++)
		n += (size_t)m->record_routes[i].uri.whole.len + 2 + (i ? 1 : 0);
	return sizeof("Route: ") - 1 + n + sizeof("\r\n");
}

/* Formats a route set as one "Route: <a>,<b>\r\n" line; reverse for the UAC side
 * (RFC 3261 12.1.2: a UAC's route set is the Record-Route list reversed). */
static bool set_route_set(struct sip_session *s, const struct sip_msg *m, bool reverse)
{
	size_t len = 0, cap = sizeof(s->route_set);
	s->route_set_len = 0;
	if (!m->nrecord_routes)
		return true;
	/* too long: refused by the callers (no route set would send the
	 * dialog's requests past every proxy that record-routed, RFC 3261
	 * 12.2.1.1; a cut one would lose the last hops) */
	if (route_set_need(m) > cap)
		return false;
	len = (size_t)snprintf(s->route_set, cap, "Route: ");
	for (uint8_t i = 0; i < m->nrecord_routes; i++) {
		const struct sip_addr *a =
		    &m->record_routes[reverse ? m->nrecord_routes - 1 - i : i];
		len += (size_t)snprintf(s->route_set + len, cap - len, "%s<%.*s>", i ? "," : "",
					(int)a->uri.whole.len, m->buf + a->uri.whole.off);
	}
	memcpy(s->route_set + len, "\r\n", 3);
	s->route_set_len = (uint16_t)(len + 2);
	return true;
}

static void set_peer(struct sip_session *s, const struct sockaddr *sa, socklen_t len)
{
	memset(&s->peer, 0, sizeof(s->peer));
	if (len > sizeof(s->peer))
		len = sizeof(s->peer);
	memcpy(&s->peer, sa, len);
	s->peer_len = len;
}

/* The callee's URI of leg B's INVITE to b (m's To user, or b->user, at
 * b->target) into uri (SESSION_URI_MAX bytes): its length, or -1 when it
 * does not fit. */
static int leg_b_uri(char *uri, const struct sip_msg *m, const struct setup_leg_b *b)
{
	const struct sip_uri *tu = &m->to.uri;
	int ulen = b->user ? (int)strlen(b->user) : (int)tu->user.len;
	int n = snprintf(uri, SESSION_URI_MAX, "sip:%.*s%s%s", ulen,
			 b->user ? b->user : m->buf + tu->user.off, ulen ? "@" : "", b->target);
	return n < 0 || n >= SESSION_URI_MAX ? -1 : n;
}

/* Leg B's side that depends on the target its INVITE goes to: the callee's
 * URI (leg_b_uri, or b->ruri and b->to_uri), its address and the INVITE's
 * CSeq. m is the caller's INVITE, or leg B's previous one when the call
 * fails over (the same To user). False, and nothing written, when a URI
 * does not fit the record. */
static bool leg_b_target(struct sip_session *lb, const struct sip_msg *m,
			 const struct setup_leg_b *b, const struct sockaddr *dst, socklen_t dstlen)
{
	char uri[SESSION_URI_MAX];
	/* the party of the dialog replaced or joined, where it is */
	const char *to_uri = b->to_uri, *ruri = b->ruri;
	if (!ruri) {
		if (leg_b_uri(uri, m, b) < 0)
			return false;
		to_uri = ruri = uri;
	}
	if (strlen(to_uri) >= sizeof(lb->remote_uri) || strlen(ruri) >= sizeof(lb->remote_target))
		return false;
	SESSION_SET(lb, remote_uri, to_uri, strlen(to_uri));
	SESSION_SET(lb, remote_target, ruri, strlen(ruri));
	lb->local_cseq = b->cseq;
	lb->invite_cseq = b->cseq;
	set_peer(lb, dst, dstlen);
	return true;
}

/* Leg A from the caller's INVITE; leg B from what we send the callee. The
 * name of what does not fit the record (the caller's To or From URI, its
 * Contact, its Record-Route set, leg B's To or From URI), or NULL: each
 * field is as long as the record keeps, and one left empty would have the
 * dialog's requests malformed (an empty Request-URI, To or From) or sent
 * past the proxies that record-routed (RFC 3261 12.2.1.1). The Call-ID and
 * tags were checked before (on_invite). */
static const char *dialog_from_invite(struct shard_dialog *d, const struct sip_msg *m,
				      const struct sockaddr *src, socklen_t srclen,
				      const char *a_tag, const struct setup_leg_b *b,
				      const struct sockaddr *dst, socklen_t dstlen)
{
	struct sip_session *a = &d->legs[SHARD_LEG_A], *lb = &d->legs[SHARD_LEG_B];
	char uri[SESSION_URI_MAX];
	int n;

	/* the record's dialog once held another call: cleared, not zeroed (a
	 * memset of its 7.7 KiB was 2% of the controller's samples at 20000
	 * calls/s) */
	shard_dialog_clear(d);
	d->state = SHARD_DLG_EARLY;
	SESSION_SET(a, call_id, m->buf + m->call_id.off, m->call_id.len);
	SESSION_SET(a, local_tag, a_tag, strlen(a_tag));
	SESSION_SET(a, remote_tag, m->buf + m->from.tag.off, m->from.tag.len);
	if (!set_uri(a->local_uri, &a->local_uri_len, sizeof(a->local_uri), m, &m->to.uri))
		return "To URI";
	if (!set_uri(a->remote_uri, &a->remote_uri_len, sizeof(a->remote_uri), m, &m->from.uri))
		return "From URI";
	if (m->ncontacts && !set_uri(a->remote_target, &a->remote_target_len,
				     sizeof(a->remote_target), m, &m->contacts[0].uri))
		return "Contact";
	if (!m->ncontacts)
		set_uri(a->remote_target, &a->remote_target_len, sizeof(a->remote_target), m,
			&m->from.uri);
	if (!set_route_set(a, m, false))
		return "Record-Route";
	a->remote_cseq = m->cseq.num;
	a->remote_cseq_set = true;
	a->invite_cseq_tag = session_cseq_tag(m->cseq.num);
	a->local_cseq = 0;
	a->session_state = SESSION_STATE_EARLY;
	a->signaling_state = SIGNALING_STATE_INITIAL;
	set_peer(a, src, srclen);

	SESSION_SET(lb, call_id, b->call_id, strlen(b->call_id));
	SESSION_SET(lb, local_tag, b->from_tag, strlen(b->from_tag));
	const struct sip_uri *fu = &m->from.uri;
	n = snprintf(uri, sizeof(uri), "sip:%.*s%s%s", (int)fu->user.len, m->buf + fu->user.off,
		     fu->user.len ? "@" : "", b->advertise);
	if (n < 0 || (size_t)n >= sizeof(uri))
		return "From URI"; /* the caller's user at our advertise */
	SESSION_SET(lb, local_uri, uri, (size_t)n);
	lb->session_state = SESSION_STATE_EARLY;
	lb->signaling_state = SIGNALING_STATE_INITIAL;
	if (m->body.len) /* the INVITE's offer (RFC 3261 13.2.1) */
		relay_sdp_from_peer(m, a, lb);
	if (!leg_b_target(lb, m, b, dst, dstlen))
		return "To URI"; /* the callee's user at the target */
	return NULL;
}

/* Offer/answer of the INVITE (RFC 3261 13.2.1, RFC 3262 5): a body in a 2xx
 * or a reliable provisional r is the answer to the INVITE's offer, or the
 * offer of an INVITE that had none; once the answer came, the bodies of
 * later responses to that INVITE are ignored, as is one that comes while the
 * callee's own offer (an earlier reliable 18x) waits for the caller's answer
 * in a PRACK. An unreliable 18x's body is a preview, no answer (RFC 6337
 * 3.1.1). */
static bool invite_sdp_in(const struct shard_dialog *d, const struct sip_msg *r, bool confirmed)
{
	const struct sip_session *lb = &d->legs[SHARD_LEG_B];

	return r->body.len && (confirmed || sip_is_reliable_provisional(r)) &&
	       (lb->signaling_state == SIGNALING_STATE_HAVE_LOCAL_OFFER ||
		lb->signaling_state == SIGNALING_STATE_INITIAL);
}

const char *ctl_callee_unfit(const struct sip_msg *r)
{
	if (r->ncontacts && r->contacts[0].uri.whole.len >= SESSION_URI_MAX)
		return "Contact";
	if (route_set_need(r) > SESSION_ROUTE_SET_MAX)
		return "Record-Route";
	if (r->to.tag.len >= SESSION_TAG_MAX)
		return "To tag";
	return NULL;
}

/* The callee's side from its 1xx (early) or 2xx (confirmed); r fits the
 * record (ctl_callee_unfit: ctl_install and ctl_fork_install check). */
void ctl_dialog_set_callee(struct shard_dialog *d, const struct sip_msg *r,
			   const struct sockaddr *src, socklen_t srclen, bool confirmed)
{
	struct sip_session *a = &d->legs[SHARD_LEG_A], *lb = &d->legs[SHARD_LEG_B];

	SESSION_SET(lb, remote_tag, r->buf + r->to.tag.off, r->to.tag.len);
	if (r->ncontacts)
		set_uri(lb->remote_target, &lb->remote_target_len, sizeof(lb->remote_target), r,
			&r->contacts[0].uri);
	set_route_set(lb, r, true);
	set_peer(lb, src, srclen);
	if (invite_sdp_in(d, r, confirmed))
		relay_sdp_from_peer(r, lb, a);
	if (confirmed) {
		d->state = SHARD_DLG_CONFIRMED;
		a->session_state = SESSION_STATE_ACK_WAIT;
		lb->session_state = SESSION_STATE_ACK_WAIT;
	}
}

/* ---- INVITE from leg A ------------------------------------------------------ */

/* Picks leg B's Call-ID so that it hashes into leg A's bucket (invariant 1). */
static void make_b_call_id(struct ctl_call *k, uint32_t bucket)
{
	/* cannot fail: a bucket from shard_bucket_of, a constant suffix that fits */
	(void)steer_callid_for_bucket(k->b_call_id, sizeof(k->b_call_id), rng_secure(), bucket,
				      "@sipshard");
}

static bool reserve_slot(struct ctl *c, struct ctl_call *k, unsigned shard)
{
	struct slot_pool *p = &c->pools[shard];
	if (!p->count)
		return false;
	uint64_t it = p->items[--p->count];
	k->slot = (uint32_t)(it >> 32);
	k->slot_gen = (uint32_t)it;
	k->shard = (uint8_t)shard;
	p->holder[k->slot] = call_index(c, k) + 1;
	return true;
}

static void retry_after(struct ctl *c, char *buf, size_t cap)
{
	snprintf(buf, cap, "Retry-After: %u\r\n", policy_config(c->pol)->limits.retry_after_s);
}

/* The session interval leg B's INVITE asks the callee for when the caller
 * asks for none (timers.session_expires_s, when session timers are on), or 0. */
static uint32_t session_asked_of_callee(const struct ctl *c)
{
	return c->cfg->timers.session_timer ? c->cfg->timers.session_expires_s : 0;
}

/* The room leg B's INVITE may take: the record's, and no more than
 * tx_buffer_size, the bytes of one datagram sipshard sends (CONFIG.md): a
 * copy larger is answered 513, as a rewrite by a worker that does not fit. */
static size_t invite_cap(const struct ctl *c)
{
	return c->cfg->tx_buffer_size < CTL_INVITE_MAX ? c->cfg->tx_buffer_size : CTL_INVITE_MAX;
}

/* What record k's INVITE to target t of route r is made of (the user part
 * is the message's own unless the caller sets b.user; r NULL: no
 * credentials of the route's, t NULL: the caller sets b.target). */
static struct setup_leg_b leg_b_invite(const struct ctl *c, const struct ctl_call *k,
				       const struct config_route *r, const struct config_target *t,
				       unsigned max_forwards, unsigned cseq)
{
	return (struct setup_leg_b){
	    .own_credentials = r && r->auth.username[0] != '\0',
	    .advertise = c->cfg->advertise,
	    .target = !t	     ? NULL
		      : t->domain[0] ? t->domain
				     : t->text,
	    .call_id = k->b_call_id,
	    .from_tag = k->b_from_tag,
	    .branch = k->b_branch,
	    .max_forwards = max_forwards,
	    .cseq = cseq,
	    .session_expires_s = session_asked_of_callee(c),
	    .strip = &c->strip,
	};
}

/* Leg B's user part under route r's rewrite (its first rewrite_strip
 * characters of the Request-URI user removed, rewrite_prefix in front), in
 * out; NULL when the route rewrites nothing. An escape ("%2B", "%23") is one
 * character (RFC 3261 19.1.2): cutting it in half would send another number
 * ("B..."). Failover rebuilds leg B's INVITE from the one sent, which
 * already has it. */
static const char *rewrite_user(const struct config_route *r, const struct sip_msg *m, char *out,
				size_t cap)
{
	if (!r->rewrite_strip && !r->rewrite_prefix[0])
		return NULL;
	sip_view u = m->ruri.user;
	const char *p = m->buf + u.off;
	size_t skip = 0;
	for (uint32_t n = 0; n < r->rewrite_strip && skip < u.len; n++)
		skip += p[skip] == '%' && u.len - skip >= 3 ? 3 : 1; /* the parser checked %HH */
	snprintf(out, cap, "%s%.*s", r->rewrite_prefix, (int)(u.len - skip), p + skip);
	return out;
}

/* How INVITE m (or the ACK of a non-2xx final, which has its INVITE's
 * branch and CSeq number, RFC 3261 17.1.1.3), with the Call-ID and From tag
 * of record k, stands to the caller's INVITE that k holds (17.2.3: its top
 * Via branch, kept in k's response head, and CSeq). */
enum invite_txn { INVITE_SAME, INVITE_MERGED, INVITE_OTHER };
static enum invite_txn invite_txn_of(struct ctl *c, const struct ctl_call *k,
				     const struct sip_msg *m)
{
	const struct sip_msg *h = &c->scratch;
	static const char cookie[] = "z9hG4bK";

	if (m->cseq.num != k->dlg.legs[SHARD_LEG_A].remote_cseq)
		return INVITE_OTHER;
	/* a branch without the RFC 3261 cookie names no transaction: the
	 * same Call-ID, From tag and CSeq are a retransmission (RFC 2543) */
	int n = setup_local_response(100, k->head, k->head_len, NULL, c->out, sizeof(c->out));
	if (n <= 0 || sip_parse(&c->scratch, c->out, (size_t)n, NULL) != 0 || !h->nvias ||
	    !m->nvias || m->vias[0].branch.len < sizeof(cookie) - 1 ||
	    memcmp(m->buf + m->vias[0].branch.off, cookie, sizeof(cookie) - 1) != 0)
		return INVITE_SAME;
	return sip_view_eq(m->buf, m->vias[0].branch, h->buf + h->vias[0].branch.off,
			   h->vias[0].branch.len)
		   ? INVITE_SAME
		   : INVITE_MERGED;
}

/* Frees the oldest record whose call has its non-2xx final and waits only
 * for the caller's ACK (Timer G and H, RFC 3261 17.2.1): a new call matters
 * more than resending a final that may already have arrived. Such a record
 * keeps its place under limits.max_calls and its dialog slot until Timer H
 * (64*T1, 32 s), so INVITEs from addresses that never ACK (spoofed ones; a
 * target that refuses at once) filled capacity.setups or max_calls at
 * capacity/32 s each and refused every other caller 503. The caller's late
 * ACK is then a counted drop (dropped_unmatched); its INVITE sent again, a
 * new call. With place, only one that still holds a max_calls place (never
 * installed: an installed one gave its place back with its early dialog, or
 * will when the worker's release comes). False: there is none. */
static bool evict_completed(struct ctl *c, bool place)
{
	uint32_t i = c->completed.head;
	while (i && place && (c->calls[i - 1].installed || c->calls[i - 1].slot_gone))
		i = c->calls[i - 1].next_active;
	if (!i)
		return false;
	call_free(c, &c->calls[i - 1]);
	c->st.completed_evicted++;
	return true;
}

/* Leg B's INVITE of a call that replaces or joins the dialog whose other leg
 * is y (ctl_on_replacing_invite): to y's party, as a request in y's dialog
 * would go, naming y's dialog in the Replaces or Join value kept in ref
 * (cap bytes). */
static struct setup_leg_b leg_b_replacing(const struct ctl *c, const struct ctl_call *k,
					  const struct sip_msg *m, const struct sip_session *y,
					  char *ref, size_t cap)
{
	const struct sip_hdr_line *h = sip_find_hdr(m, SIP_HDR_REPLACES);
	uint8_t id = h ? SIP_HDR_REPLACES : SIP_HDR_JOIN;
	struct sip_dialog_ref r;

	if (!h)
		h = sip_find_hdr(m, SIP_HDR_JOIN);
	/* RFC 3891 3: the recipient compares the to-tag with its local tag, the
	 * from-tag with its remote tag; y's party's local tag is y's remote one */
	if (!h || sip_dialog_ref_parse(m->buf, h->value, &r) != 0 ||
	    sip_dialog_ref_write(m->buf, &r, y->call_id, y->remote_tag, y->local_tag, ref, cap) < 0)
		ref[0] = '\0'; /* parameters too long for ref: on_invite answers 513 */
	return (struct setup_leg_b){
	    .advertise = c->cfg->advertise,
	    .call_id = k->b_call_id,
	    .from_tag = k->b_from_tag,
	    .branch = k->b_branch,
	    .max_forwards = (unsigned)m->max_forwards - 1,
	    .cseq = 1,
	    .session_expires_s = session_asked_of_callee(c),
	    .ruri = y->remote_target,
	    .to_uri = y->remote_uri,
	    .route_set = y->route_set,
	    .dialog_ref = ref,
	    .dialog_ref_hdr = id,
	    .strip = &c->strip,
	};
}

/* An INVITE without To-tag; y: the other leg of the dialog its Replaces or
 * Join names (ctl_on_replacing_invite), or NULL, and y_auth_key that
 * dialog's credentials key. */
static void on_invite(struct ctl *c, unsigned shard, const struct sip_msg *m,
		      const struct sip_session *y, uint32_t y_auth_key, const struct sockaddr *src,
		      socklen_t srclen, uint64_t now)
{
	char extra[64];
	char ref[SESSION_CALL_ID_MAX + 2 * SESSION_TAG_MAX + 512];
	struct ctl_call *k;

	c->st.invites++;
	k = find_by_a(c, m);
	enum invite_txn txn = k ? invite_txn_of(c, k, m) : INVITE_SAME;
	if (k && txn == INVITE_MERGED) {
		/* the same request by another path (RFC 3261 8.2.2.2) */
		c->st.rejected_loop++;
		answer_stateless(c, shard, m, 482, NULL, src, srclen);
		return;
	}
	if (k && txn == INVITE_OTHER && (k->state == CALL_CALLING || k->state == CALL_PROCEEDING)) {
		/* a second INVITE while the first has no final (as RFC 3261
		 * 14.2 has it for a dialog): 500 with Retry-After */
		c->st.rejected_loop++;
		retry_after(c, extra, sizeof(extra));
		answer_stateless(c, shard, m, 500, extra, src, srclen);
		return;
	}
	if (k && txn == INVITE_OTHER) {
		/* a new transaction once the last one had its final (the INVITE
		 * again after a 401/407 whose ACK was lost, a Call-ID reused
		 * after an answered call): the caller is done with that one,
		 * and so is its record (an answered call's dialog is the
		 * worker's) */
		call_free(c, k);
		k = NULL;
	}
	if (k) {
		/* a retransmission: repeat where we are */
		c->st.invite_retrans++;
		if (k->state == CALL_COMPLETED && k->invite_len)
			/* the final as relayed (Timer G's): its challenge, Retry-After, body */
			send_to(c, k->shard, k->invite, k->invite_len, &k->a_peer, k->a_len);
		else if (k->state == CALL_COMPLETED)
			respond_a(c, k, k->final_status, NULL);
		else if (k->state != CALL_ANSWERED && k->tail_len)
			/* the last provisional (RFC 3261 17.2.1): a 180 or 183
			 * lost on the way is sent again, with its To tag */
			send_to(c, k->shard, k->invite + k->invite_len, k->tail_len, &k->a_peer,
				k->a_len);
		else if (k->state != CALL_ANSWERED)
			trying_to_a(c, k, m);
		return;
	}
	if (c->draining) {
		c->st.rejected_draining++;
		retry_after(c, extra, sizeof(extra));
		answer_stateless(c, shard, m, 503, extra, src, srclen);
		return;
	}
	if (policy_acl_check(c->pol, src) != 0) {
		c->st.rejected_acl++;
		log_debug("INVITE from a denied source: 403");
		answer_stateless(c, shard, m, 403, NULL, src, srclen);
		return;
	}
	/* RFC 3261 16.3 item 3: only 0 is not forwarded; leg B's INVITE carries
	 * one less (16.6 item 3), 0 for a 1 */
	if (m->max_forwards <= 0) {
		c->st.rejected_loop++;
		answer_stateless(c, shard, m, 483, NULL, src, srclen);
		return;
	}
	if (relay_session_too_brief(m, c->cfg->timers.min_se_s)) {
		c->st.rejected_session_too_brief++;
		snprintf(extra, sizeof(extra), "Min-SE: %u\r\n", c->cfg->timers.min_se_s);
		answer_stateless(c, shard, m, 422, extra, src, srclen);
		return;
	}
	/* a call replacing or joining a dialog goes where that dialog goes: no
	 * route, no target of one */
	int route = -1, first = 0;
	const struct config_route *r = NULL;
	unsigned turn = 0;
	bool all_down = false, rr = false;
	int32_t rr_next[CONFIG_MAX_TARGETS];
	if (!y) {
		route = policy_route(c->pol, m->buf + m->ruri.user.off, m->ruri.user.len,
				     m->buf + m->ruri.host.off, m->ruri.host.len, src);
		if (route < 0) {
			c->st.rejected_no_route++;
			answer_stateless(c, shard, m, policy_config(c->pol)->no_route_status, NULL,
					 src, srclen);
			return;
		}
		/* routes come from the policy's own copy, so that a reload swaps them */
		r = &policy_config(c->pol)->routes[route];
		if (!r->ntargets) {
			/* a refresh left it none in service: its SRV records say
			 * "." (config_in_service) */
			c->st.rejected_no_target++;
			retry_after(c, extra, sizeof(extra));
			answer_stateless(c, shard, m, 503, extra, src, srclen);
			return;
		}
		rr = r->round_robin || r->srv;
		if (rr) {
			memcpy(rr_next, c->rr_weight[route], sizeof(rr_next));
			turn = ctl_rr_first(c, (unsigned)route, now, rr_next);
		}
		first = ctl_pick_target(c, (unsigned)route, turn, 0, &all_down, now);
		if (first < 0) {
			/* every target of the route is full (max_calls or max_cps) */
			c->st.rejected_target_full++;
			retry_after(c, extra, sizeof(extra));
			answer_stateless(c, shard, m, 503, extra, src, srclen);
			return;
		}
	}
	if (policy_rate_take(c->pol, src, now * 1000000ull) != 0) {
		c->st.rejected_rate++;
		retry_after(c, extra, sizeof(extra));
		answer_stateless(c, shard, m, 503, extra, src, srclen);
		return;
	}
	if (policy_call_admit(c->pol) != 0 &&
	    (!evict_completed(c, true) || policy_call_admit(c->pol) != 0)) {
		c->st.rejected_limit++;
		retry_after(c, extra, sizeof(extra));
		answer_stateless(c, shard, m, 503, extra, src, srclen);
		return;
	}
	k = call_alloc(c);
	if (!k && c->linger.head) {
		call_free(c, &c->calls[c->linger.head - 1]);
		c->st.linger_evicted++;
		k = call_alloc(c);
	}
	if (!k && evict_completed(c, false))
		k = call_alloc(c);
	if (!k || !reserve_slot(c, k, shard)) {
		if (k) {
			k->next_by_a = c->free_head;
			c->free_head = call_index(c, k) + 1;
		}
		policy_call_release(c->pol);
		c->st.rejected_capacity++;
		retry_after(c, extra, sizeof(extra));
		answer_stateless(c, shard, m, 503, extra, src, srclen);
		return;
	}
	c->st.calls_active++;
	if (!copy_view(k->a_call_id, sizeof(k->a_call_id), m, m->call_id) ||
	    !copy_view(k->a_from_tag, sizeof(k->a_from_tag), m, m->from.tag)) {
		k->installed = false;
		k->state = CALL_CALLING;
		call_free(c, k);
		c->st.rejected_too_large++;
		answer_stateless(c, shard, m, 400,
				 "Warning: 399 sipshard \"Call-ID or tag too long\"\r\n", src,
				 srclen);
		return;
	}
	k->a_key = key_hash(c, m->buf + m->call_id.off, m->call_id.len, m->buf + m->from.tag.off,
			    m->from.tag.len);
	k->session_asked_s = relay_session_asked(m);
	k->session_ours = !m->session_expires.len && session_asked_of_callee(c);
	memcpy(&k->a_peer, src, srclen);
	k->a_len = srclen;
	k->state = CALL_CALLING;
	ctl_by_a_link(c, k);

	shard_tag_encode(k->a_tag, sizeof(k->a_tag), (uint8_t)shard, k->slot, k->slot_gen,
			 (uint32_t)rng_secure());
	shard_tag_encode(k->b_from_tag, sizeof(k->b_from_tag), (uint8_t)shard, k->slot, k->slot_gen,
			 (uint32_t)rng_secure());
	make_branch(c, k);
	uint32_t bucket =
	    shard_bucket_of(shard_hash_callid(k->a_call_id, (uint32_t)strlen(k->a_call_id)));
	make_b_call_id(k, bucket);

	int hl = setup_response_head(m, k->a_tag, src, srclen, k->head, sizeof(k->head));
	const struct config_target *t = r ? &r->targets[first] : NULL;
	struct setup_leg_b b;
	uint32_t auth_key = r ? cred_route_key(r->name, t) : 0;
	if (r) {
		b = leg_b_invite(c, k, r, t, (unsigned)m->max_forwards - 1, 1);
		b.user = rewrite_user(r, m, c->rewritten, sizeof(c->rewritten));
	} else {
		b = leg_b_replacing(c, k, m, y, ref, sizeof(ref));
		/* the named dialog's credentials while its route still has the
		 * target that dialog's call went to (its key names both; else
		 * those of the routes with a target at y's party):
		 * the workers answer the new call's requests by this key alone,
		 * and a route a reload moved to another carrier must not answer
		 * the old one's challenges with the new one's account */
		auth_key =
		    orig_creds_key_at(c->creds, c->ncreds, y_auth_key, &y->peer, y->peer_len);
		/* a party sipshard answers with a route's credentials (ctl_call_auth)
		 * is not sent the caller's, as for a route with auth */
		b.own_credentials =
		    orig_creds_find(c->creds, c->ncreds, auth_key, &y->peer, y->peer_len) != NULL;
	}
	int n = hl < 0			 ? hl
		: !r && !b.dialog_ref[0] ? -ENOSPC
					 : setup_build_invite(m, &b, k->invite, invite_cap(c));
	if (hl < 0 || n < 0) {
		call_free(c, k);
		c->st.rejected_too_large++;
		answer_stateless(c, shard, m, 513, NULL, src, srclen);
		return;
	}
	k->head_len = (uint16_t)hl;
	k->invite_len = (uint16_t)n;
	if (t) {
		memcpy(&k->b_peer, &t->addr, t->addr_len);
		k->b_len = t->addr_len;
	} else {
		memcpy(&k->b_peer, &y->peer, y->peer_len);
		k->b_len = y->peer_len;
	}
	/* the dialog's record before leg B is tried: a field it cannot keep
	 * is refused as a Call-ID or tag too long is (above), rather than a
	 * call whose requests go malformed or past the caller's proxies */
	const char *unfit = dialog_from_invite(&k->dlg, m, src, srclen, k->a_tag, &b,
					       (const struct sockaddr *)&k->b_peer, k->b_len);
	if (unfit) {
		char warning[96];
		call_free(c, k);
		c->st.rejected_too_large++;
		log_info("INVITE refused 400: its %s is longer than a dialog's record keeps "
			 "(%d bytes for a URI, %d for the Route set)",
			 unfit, SESSION_URI_MAX - 1, SESSION_ROUTE_SET_MAX - 1);
		snprintf(warning, sizeof(warning), "Warning: 399 sipshard \"%s too long\"\r\n",
			 unfit);
		answer_stateless(c, shard, m, 400, warning, src, srclen);
		return;
	}
	/* no route (UINT8_MAX names none: ctl_call_route finds none, so the call
	 * does not fail over; ctl_call_auth answers challenges by its dlg.auth_key) */
	k->route = r ? (uint8_t)route : UINT8_MAX;
	k->target = (uint8_t)first;
	k->first = (uint8_t)turn;
	k->attempts = 1;
	k->creds = (struct cred_state){0};
	k->all_down = all_down;
	k->b_rang = false;
	k->route_tag = r ? r->tag : 0;
	k->failover_ms = r && r->ntargets > 1 ? r->failover_ms : 0;
	if (r) {
		if (rr)
			ctl_rr_commit(c, (unsigned)route, rr_next);
		ctl_target_take(c, k->shard, k->slot, c->target_of_route[route][first]);
		ctl_target_invited(c, (unsigned)route, (unsigned)first, now);
	}
	k->dlg.slot = k->slot;
	k->dlg.gen = k->slot_gen;
	/* the worker answers a challenge to its own requests on leg B with
	 * the route's credentials, which it knows by this key (orig.h); a call
	 * that replaces or joins a dialog goes to that dialog's party, and
	 * answers it (ctl_call_auth) as that dialog's requests do, by that
	 * dialog's key while its route still has the target the key names */
	k->dlg.auth_key = auth_key;
	/* what the CDR names besides the legs, for the one a restart writes */
	shard_cdr_set(&k->dlg.cdr, r ? r->name : NULL, m->buf + m->ruri.whole.off,
		      m->ruri.whole.len, k->attempts);
	ctl_cdr_begin(c, k, m, r);

	trying_to_a(c, k, m);
	send_to(c, k->shard, k->invite, n, &k->b_peer, k->b_len);
	k->t_interval = c->cfg->timers.t1_ms;
	k->t_next = now + k->t_interval;
	k->t_deadline = now + 64ull * c->cfg->timers.t1_ms;
	ctl_call_schedule(c, k, now);
}

/* ---- responses from leg B --------------------------------------------------- */

/* ACKs a non-2xx final hop by hop (RFC 3261 17.1.1.3), built from leg B's
 * INVITE, which k->invite must still hold; the ACK is left in ack (cap bytes).
 * Returns its length, or a negative code when none could be built. */
static int ack_leg_b(struct ctl *c, struct ctl_call *k, const struct sip_msg *final, char *ack,
		     size_t cap)
{
	if (sip_parse(&c->scratch, k->invite, k->invite_len, NULL) != 0)
		return -EINVAL;
	int n = setup_build_ack(&c->scratch, final, ack, cap);
	send_to(c, k->shard, ack, n, &k->b_peer, k->b_len);
	return n;
}

/* The session interval (RFC 4028) of a call that the callee's 2xx r
 * answers: the one r names; else the one the caller asked for, which
 * sipshard then tells it (session_told), as a proxy does (RFC 4028 section
 * 8.2); else 0, none. */
static uint32_t session_told(const struct ctl *c, const struct ctl_call *k, const struct sip_msg *r)
{
	return !r->session_expires.len && c->cfg->timers.session_timer ? k->session_asked_s : 0;
}

static uint32_t session_interval(const struct ctl *c, const struct ctl_call *k,
				 const struct sip_msg *r)
{
	return r->session_expires.len ? r->session_expires_secs : session_told(c, k, r);
}

/* Both legs of d back to the offer/answer leg B's INVITE left (its offer,
 * or none): for the early dialog of another fork than the first, and for
 * the call answered by one (forget_other_fork_session). */
void ctl_session_from_invite(struct ctl *c, const struct ctl_call *k, struct shard_dialog *d)
{
	struct sip_session *a = &d->legs[SHARD_LEG_A], *lb = &d->legs[SHARD_LEG_B];
	struct sip_session *legs[] = {a, lb};
	for (size_t i = 0; i < 2; i++) {
		legs[i]->signaling_state = SIGNALING_STATE_INITIAL;
		session_body_clear(&legs[i]->offer);
		session_body_clear(&legs[i]->answer);
	}
	/* k->invite is leg B's INVITE while the call sets up; its body is the
	 * caller's, as it came */
	if (sip_parse(&c->scratch, k->invite, k->invite_len, NULL) == 0 && c->scratch.body.len)
		relay_sdp_from_peer(&c->scratch, a, lb);
}

/* The 2xx r answers the call from another fork than the one whose early
 * dialog k->dlg holds (another To tag, RFC 3261 13.2.2.4): the offer/answer
 * the early dialog had (a reliable 18x's answer or offer, RFC 3262 5) is
 * that fork's, no part of the session r confirms. Both legs go back to what
 * leg B's INVITE left, for r's body to answer or offer (ctl_dialog_set_callee);
 * the worker takes the pair, as it does another fork's
 * (shard_dialog_install_packed), unless that fork's own early dialog, which
 * the worker merges into the call's, has an answer already (from its
 * reliable 18x and PRACKs). A 2xx without a body from a fork with no early
 * dialog of its own (refused one: forks_refused) is left the state it
 * finds: that fork answered (or offered) in a reliable 18x PRACKed here and
 * unknown to the record, and an offer left open would have the callee's
 * next offer taken for its answer. */
static void forget_other_fork_session(struct ctl *c, struct ctl_call *k, const struct sip_msg *r)
{
	if (r->body.len && !same_callee(k, r))
		ctl_session_from_invite(c, k, &k->dlg);
}

/* Hands the dialog to the worker; returns 0, or negative when its command
 * ring is full (nothing changed there). */
int ctl_install(struct ctl *c, struct ctl_call *k, const struct sip_msg *r,
		const struct sockaddr *src, socklen_t srclen, bool confirmed)
{
	if (k->slot_gone)
		return 0; /* its slot may hold another call by now */
	/* a field the record cannot keep: nothing changed, the caller ends
	 * the call (end_unfit_answer) or, for an unreliable provisional, the
	 * 2xx will decide */
	if (ctl_callee_unfit(r))
		return -E2BIG;
	if (confirmed)
		forget_other_fork_session(c, k, r);
	ctl_dialog_set_callee(&k->dlg, r, src, srclen, confirmed);
	int rc = c->hooks.install(c->hooks.arg, k->shard, &k->dlg,
				  confirmed ? session_interval(c, k, r) : 0);
	if (rc == 0)
		k->installed = true;
	return rc;
}

/* ---- failover, challenges, given-up INVITEs, finals from leg B ------------- */

static bool fails_over_on(const struct config_route *r, int status)
{
	for (unsigned i = 0; i < r->nfailover; i++)
		if (r->failover_on[i] == status)
			return true;
	return false;
}

/* View v of m as a string in out (cap bytes); false when it does not fit. */
static bool view_to_str(const struct sip_msg *m, sip_view v, char *out, size_t cap)
{
	uint16_t len;
	return sip_session_set(out, &len, cap, m->buf + v.off, v.len);
}

/* The strings leg_b_replacing_again gives b, sized as the fields they came
 * from (the ref as on_invite's). */
struct replacing_again {
	char ruri[SESSION_URI_MAX], to_uri[SESSION_URI_MAX], route_set[SESSION_ROUTE_SET_MAX];
	char ref[SESSION_CALL_ID_MAX + 2 * SESSION_TAG_MAX + 512];
};

/* What leg B's INVITE s of a call that replaces or joins a dialog went to
 * and named (leg_b_replacing: its Request-URI, To URI, Route lines and
 * Replaces or Join value), copied into x for b, so that the INVITE again
 * goes where it went. -ENOSPC when one does not fit (cannot happen: each
 * came from a field of that size). */
static int leg_b_replacing_again(const struct sip_msg *s, struct setup_leg_b *b,
				 struct replacing_again *x)
{
	const struct sip_hdr_line *h = sip_find_hdr(s, SIP_HDR_REPLACES);
	uint8_t id = h ? SIP_HDR_REPLACES : SIP_HDR_JOIN;
	size_t at = 0;

	if (!h)
		h = sip_find_hdr(s, SIP_HDR_JOIN);
	if (!h || !view_to_str(s, s->ruri.whole, x->ruri, sizeof(x->ruri)) ||
	    !view_to_str(s, s->to.uri.whole, x->to_uri, sizeof(x->to_uri)) ||
	    !view_to_str(s, h->value, x->ref, sizeof(x->ref)))
		return -ENOSPC;
	/* the Route lines whole, as leg_b_replacing wrote them */
	for (uint16_t i = 0; i < s->nhdrs; i++) {
		const struct sip_hdr_line *r = &s->hdrs[i];
		size_t n = (size_t)(r->end - r->start);
		if (r->id != SIP_HDR_ROUTE)
			continue;
		if (at + n >= sizeof(x->route_set))
			return -ENOSPC;
		memcpy(x->route_set + at, s->buf + r->start, n);
		at += n;
	}
	x->route_set[at] = '\0';
	b->ruri = x->ruri;
	b->to_uri = x->to_uri;
	b->route_set = x->route_set;
	b->dialog_ref = x->ref;
	b->dialog_ref_hdr = id;
	return 0;
}

/* Leg B's INVITE again, to target t of the call's route r (the one it went
 * to, or the next), as a new transaction (a branch, a CSeq one higher) in the
 * same leg B call, with credentials (a header line with its CRLF) or none,
 * and asking for a session interval of min_se_s (0: as before); Timer A and
 * B start again. r and t NULL (a reload or restart changed the call's
 * route): to the same peer and Request-URI host as before, credentials
 * making the INVITE's own ones replace any sent before; for a call that
 * took no route (one that replaces or joins a dialog), to the same peer,
 * Request-URI, To and Route set, naming the same dialog. 0, or -ENOSPC
 * when the INVITE would not fit (nothing changed then). */
static int invite_again(struct ctl *c, struct ctl_call *k, const struct config_route *r,
			const struct config_target *t, const char *credentials, uint32_t min_se_s,
			uint64_t now)
{
	char old_branch[CTL_TAG_MAX];
	char host[sizeof(((struct config_target *)0)->text) + 8];
	struct replacing_again x;

	if (sip_parse(&c->scratch, k->invite, k->invite_len, NULL) != 0)
		return -ENOSPC; /* cannot happen: we built it */
	struct setup_leg_b b =
	    leg_b_invite(c, k, r, t, c->scratch.max_forwards, c->scratch.cseq.num + 1);
	if (!t && k->route == UINT8_MAX) {
		if (leg_b_replacing_again(&c->scratch, &b, &x) != 0)
			return -ENOSPC;
		b.own_credentials = credentials || k->creds.a[0].tries;
	} else if (!t) {
		/* the host and port the route's target gave the Request-URI */
		const struct sip_uri *u = &c->scratch.ruri;
		int n = snprintf(host, sizeof(host), "%.*s", (int)u->host.len,
				 c->scratch.buf + u->host.off);
		if (n > 0 && (size_t)n < sizeof(host) && u->port)
			n += snprintf(host + n, sizeof(host) - (size_t)n, ":%u", u->port);
		if (n <= 0 || (size_t)n >= sizeof(host))
			return -ENOSPC;
		b.target = host;
		b.own_credentials = credentials || k->creds.a[0].tries;
	}
	memcpy(old_branch, k->b_branch, sizeof(old_branch));
	make_branch(c, k);
	b.credentials = credentials;
	b.min_se_s = min_se_s;
	int n = setup_build_invite(&c->scratch, &b, c->out, sizeof(c->out));
	/* a callee's URI the record cannot keep (leg_b_target): as an INVITE
	 * too large, rather than a dialog whose requests would have none */
	char uri[SESSION_URI_MAX];
	if (n < 0 || (size_t)n > invite_cap(c) ||
	    (!b.ruri && leg_b_uri(uri, &c->scratch, &b) < 0)) {
		memcpy(k->b_branch, old_branch, sizeof(old_branch));
		return -ENOSPC;
	}
	/* before the copy: the views of scratch are into the old INVITE */
	if (t) {
		memcpy(&k->b_peer, &t->addr, t->addr_len);
		k->b_len = t->addr_len;
		/* the carrier the call now goes to answers by its own key */
		k->dlg.auth_key = cred_route_key(r->name, t);
	}
	(void)leg_b_target(&k->dlg.legs[SHARD_LEG_B], &c->scratch, &b,
			   (const struct sockaddr *)&k->b_peer, k->b_len); /* fits: above */
	memcpy(k->invite, c->out, (size_t)n);
	k->invite_len = (uint16_t)n;
	k->tail_len = 0;
	k->state = CALL_CALLING;
	k->silence_noted = false; /* a new INVITE transaction */
	send_to(c, k->shard, k->invite, k->invite_len, &k->b_peer, k->b_len);
	k->t_interval = c->cfg->timers.t1_ms;
	k->t_next = now + k->t_interval;
	k->t_deadline = now + 64ull * c->cfg->timers.t1_ms;
	return 0;
}

/* Sends leg B's INVITE on to the route's next target after the current one
 * answered status (0: it sent nothing in failover_ms, or by Timer B), as a
 * new transaction (a branch, a CSeq one higher) in the same leg B call. 0, or
 * -ENOENT when the call does not fail over: the callee rang, the caller
 * cancelled, the call timed out ringing, status is not in the route's
 * failover_on, no target is left, or the route is not the one the call took
 * (a reload or restart renamed it or changed its targets: the call's place
 * in the list, the target it started at, all_down, belong to the old list,
 * and going on by the new one could send the INVITE again to a target that
 * refused it, or to the one it is at; a renamed route has none of its name.
 * The call stays at the target it is at, whose final the caller gets);
 * -ENOSPC when the INVITE would not fit. */
static int next_target(struct ctl *c, struct ctl_call *k, int status, uint64_t now)
{
	const struct config_route *r = ctl_call_route(c, k);

	if (!r || k->b_rang || k->cancelled || k->timed_out || k->installed ||
	    (status && !fails_over_on(r, status)))
		return -ENOENT;
	/* where a reload moved the route in the list (ctl_call_route) */
	k->route = (uint8_t)(r - policy_config(c->pol)->routes);
	bool all_down = k->all_down;
	unsigned pos = ctl_target_pos(r, k->first, k->target);
	int next = ctl_pick_target(c, k->route, k->first, pos + 1, &all_down, now);
	if (next < 0)
		return -ENOENT;
	const struct config_target *t = &r->targets[next];
	if (invite_again(c, k, r, t, NULL, 0, now) != 0)
		return -ENOSPC;
	k->all_down = all_down; /* every target down now: the rest tried in turn */
	ctl_call_target_drop(c, k);
	if (!k->slot_gone)
		ctl_target_take(c, k->shard, k->slot, c->target_of_route[k->route][next]);
	ctl_target_invited(c, k->route, (unsigned)next, now);
	k->target = (uint8_t)next;
	k->attempts++;
	k->dlg.cdr.attempts = k->attempts;
	k->creds = (struct cred_state){0};
	pos = ctl_target_pos(r, k->first, k->target);
	k->failover_ms = pos + 1u < r->ntargets ? r->failover_ms : 0;
	ctl_cdr_retarget(c, k, t->text);
	c->st.failovers++;
	if (status)
		log_debug("call %s: %d from the target, INVITE to %s (target %d of route %s)",
			  k->a_call_id, status, t->text, next + 1, r->name);
	else
		log_debug("call %s: nothing from the target, INVITE to %s (target %d of route %s)",
			  k->a_call_id, t->text, next + 1, r->name);
	return 0;
}

/* Answers a target's 401 or 407 r to leg B's INVITE with the route's
 * credentials (routes[].auth, cred_answer; those ctl_call_auth finds once a
 * reload changed the route: the call rang across it): the INVITE again to
 * the same target with the line that answers it, and the lines of the
 * challenges of other kinds or realms it answered before (a proxy's 407,
 * then the callee's 401: RFC 3261 22.3). 0; -ENOENT when there are no
 * credentials or the call is past asking (as for next_target); -EACCES when
 * the challenge is not one to answer, -ENOSPC when the answer or the INVITE
 * would not fit (both logged and counted as refused). */
static int answer_challenge(struct ctl *c, struct ctl_call *k, const struct sip_msg *r,
			    uint64_t now)
{
	const struct config_route *route = ctl_call_route(c, k);
	const struct config_auth *auth = ctl_call_auth(c, k);
	const char *why = NULL;
	char lines[CRED_LINES_MAX], peer[UDP_ADDR_STRLEN];

	if (!auth || k->b_rang || k->cancelled || k->timed_out || k->installed)
		return -ENOENT;
	const struct config_target *t = route ? &route->targets[k->target] : NULL;
	udp_format_addr((const struct sockaddr *)&k->b_peer, peer, sizeof(peer));
	if (sip_parse(&c->scratch, k->invite, k->invite_len, NULL) != 0)
		return -ENOSPC;
	/* the INVITE as sent holds the lines of the challenges answered so far */
	const struct cred_request rq = {"INVITE", k->invite + c->scratch.ruri.whole.off,
					c->scratch.ruri.whole.len, k->invite, k->invite_len};
	struct cred_state creds = k->creds;
	int n = cred_answer(auth, r, &rq, &creds, rng_secure(), lines, sizeof(lines), &why);
	if (n >= 0 && invite_again(c, k, route, t, lines, 0, now) != 0) {
		n = -ENOSPC;
		why = "the INVITE with the answer does not fit";
	}
	if (n < 0) {
		log_info("call %s: %d from %s (route %s) not answered: %s", k->a_call_id, r->status,
			 peer,
			 route			 ? route->name
			 : k->route == UINT8_MAX ? "none: it replaces or joins a dialog"
						 : "changed by a reload",
			 why);
		c->st.auth_refused++;
		return n;
	}
	k->creds = creds;
	c->st.auth_answered++;
	log_debug("call %s: %d from %s answered with the credentials of route %s", k->a_call_id,
		  r->status, peer,
		  route			  ? route->name
		  : k->route == UINT8_MAX ? "of the dialog it replaces or joins"
					  : "now of its name or at its target");
	return 0;
}

/* The callee refused with 422 the session interval sipshard asked it for
 * (the caller asked for none: timers.session_expires_s): leg B's INVITE goes
 * to it again asking for its Min-SE (RFC 4028 section 7.4), once; the
 * credentials of an answered challenge are not sent again (the INVITE is a
 * new transaction: a challenge to it is answered afresh). 0, or -ENOENT when
 * the 422 is not sipshard's to answer: it goes to the caller. */
static int raise_session_interval(struct ctl *c, struct ctl_call *k, const struct sip_msg *r,
				  uint64_t now)
{
	const struct config_route *route = ctl_call_route(c, k);
	uint32_t min_se;

	if (!k->session_ours || k->session_raised || k->b_rang || k->cancelled || k->timed_out ||
	    k->installed || !sip_hdr_delta_seconds(r, SIP_HDR_MIN_SE, &min_se) || min_se < 90 ||
	    min_se > 86400)
		return -ENOENT;
	k->session_raised = true;
	/* the same target, also when a reload changed the call's route */
	if (invite_again(c, k, route, route ? &route->targets[k->target] : NULL, NULL, min_se,
			 now) != 0)
		return -ENOENT;
	k->creds = (struct cred_state){0};
	c->st.session_interval_raised++;
	log_debug("call %s: 422: session interval raised to its Min-SE %u", k->a_call_id, min_se);
	return 0;
}

static void start_cancel(struct ctl *c, struct ctl_call *k, uint64_t now);

/* The call ends with a final response to the caller that is not a 2xx,
 * relayed or made here, in c->out (n bytes): sent, and kept for Timer G's
 * retransmissions until the caller's ACK or Timer H (CALL_COMPLETED, RFC
 * 3261 17.2.1); the INVITE it replaces in k->invite is no longer needed. */
static void complete_call(struct ctl *c, struct ctl_call *k, int status, int n, uint64_t now)
{
	if (k->state != CALL_COMPLETED)
		ctl_list_append(c, &c->completed, k);
	k->state = CALL_COMPLETED;
	k->final_status = status;
	if (n > 0 && (size_t)n <= sizeof(k->invite)) {
		memcpy(k->invite, c->out, (size_t)n);
		k->invite_len = (uint16_t)n;
	} else {
		k->invite_len = 0;
	}
	k->tail_len = 0;
	send_to(c, k->shard, c->out, n, &k->a_peer, k->a_len);
	k->t_interval = c->cfg->timers.t1_ms;
	k->t_next = now + k->t_interval;
	k->t_deadline = now + 64ull * c->cfg->timers.t1_ms;
}

/* Leg B's INVITE that k holds, to be given up with no final from its callee
 * (struct given_up), and its CANCEL (reasons_len bytes of Reason lines, or
 * none), written aside: before k->invite is replaced. */
/* An entry's key of a Call-ID and From tag: keyed by the ring's seed, which
 * the records' file keeps, not the process's (key_hash). */
static uint32_t given_up_ids(const struct ctl *c, const char *a, size_t alen, const char *b,
			     size_t blen)
{
	return (uint32_t)keyhash_bytes(keyhash_bytes(c->gu->seed, a, alen), b, blen);
}

static void given_up_stage(struct ctl *c, const struct ctl_call *k, const char *reasons,
			   size_t reasons_len)
{
	struct given_up *g = &c->given_up_staged;
	size_t blen = strlen(k->b_branch);

	g->until = 0;
	if (blen > sizeof(g->branch) || k->b_len > sizeof(g->peer))
		return; /* cannot happen: make_branch, a target's address */
	g->shard = k->shard;
	g->cancel_sent = g->bye_sent = false;
	g->branch_len = (uint8_t)blen;
	memcpy(g->branch, k->b_branch, blen);
	g->ids = given_up_ids(c, k->b_call_id, strlen(k->b_call_id), k->b_from_tag,
			      strlen(k->b_from_tag));
	memcpy(&g->peer, &k->b_peer, k->b_len);
	g->peer_len = k->b_len;
	g->cancel_len = g->ruri_len = 0;
	if (sip_parse(&c->scratch, k->invite, k->invite_len, NULL) == 0) {
		int n = setup_build_cancel(&c->scratch, reasons, reasons_len, g->cancel,
					   sizeof(g->cancel));
		const sip_view u = c->scratch.ruri.whole;
		if (n > 0) {
			g->cancel_len = (uint16_t)n;
		} else if (u.len <= sizeof(g->cancel)) {
			memcpy(g->cancel, k->invite + u.off, u.len);
			g->ruri_len = u.len;
		}
	}
	g->until = 1; /* written, not kept yet: given_up_commit sets the time */
}

/* The INVITE given_up_stage wrote is given up at now: kept for 64*T1, in
 * the place of the oldest entry. */
static void given_up_commit(struct ctl *c, uint64_t now)
{
	struct given_up_ring *gu = c->gu;
	struct given_up *g = &gu->e[gu->next % CTL_GIVEN_UP_MAX];
	const size_t at = offsetof(struct given_up, until) + sizeof(g->until);

	if (!c->given_up_staged.until)
		return;
	if (g->until > now)
		c->st.given_up_forgotten++;
	gu->next = (gu->next + 1) % CTL_GIVEN_UP_MAX;
	/* unused while written, until set last (a kill half way: unused) */
	g->until = 0;
	atomic_signal_fence(memory_order_seq_cst);
	memcpy((char *)g + at, (const char *)&c->given_up_staged + at, sizeof(*g) - at);
	atomic_signal_fence(memory_order_seq_cst);
	c->given_up_staged.until = 0;
	g->until = now + 64ull * c->cfg->timers.t1_ms;
	if (g->until > gu->until)
		gu->until = g->until;
}

/* The entry of the given-up INVITE that r, from src, answers: its branch,
 * Call-ID and From tag, from where the INVITE went; NULL for none. */
static struct given_up *given_up_find(struct ctl *c, const struct sip_msg *r,
				      const struct sockaddr *src, socklen_t srclen, uint64_t now)
{
	if (now >= c->gu->until || !r->nvias || r->cseq.method_id != SIP_METHOD_INVITE)
		return NULL;
	const sip_view b = r->vias[0].branch;
	for (uint32_t i = 0; i < CTL_GIVEN_UP_MAX; i++) {
		struct given_up *g = &c->gu->e[i];
		if (g->until > now && g->branch_len == b.len &&
		    memcmp(g->branch, r->buf + b.off, b.len) == 0 && g->peer_len == srclen &&
		    memcmp(&g->peer, src, srclen) == 0)
			return g->ids == given_up_ids(c, r->buf + r->call_id.off, r->call_id.len,
						      r->buf + r->from.tag.off, r->from.tag.len)
				   ? g
				   : NULL;
	}
	return NULL;
}

/* The ACK of 2xx r to leg B's INVITE, and with bye a BYE after it (a
 * transaction of its own), to `to`: what the INVITE's UAC owes a 2xx it does
 * not take (RFC 3261 13.2.2.4), so that its callee is not left with a call
 * nobody is on. The BYE's branch is the dialog's (keyed hash of r's Call-ID
 * and tags): a retransmission of r (our ACK was lost, 13.3.1.4) while that
 * BYE is resent gets the ACK alone. Returns whether a BYE went. */
static bool ack_and_bye(struct ctl *c, unsigned shard, const struct sip_msg *r,
			const struct sockaddr_storage *to, socklen_t tolen, bool bye, uint64_t now)
{
	char branch[CTL_TAG_MAX];

	snprintf(branch, sizeof(branch), RELAY_CTL_BRANCH_PREFIX "e%016" PRIx64, rng_secure());
	int n = setup_build_after_2xx(r, "ACK", c->cfg->advertise, branch, c->out, sizeof(c->out));
	send_to(c, shard, c->out, n, to, tolen);
	if (!bye)
		return false;
	uint32_t ids = key_hash(c, r->buf + r->call_id.off, r->call_id.len, r->buf + r->to.tag.off,
				r->to.tag.len);
	uint32_t from = key_hash(c, r->buf + r->from.tag.off, r->from.tag.len, "", 0);
	int bl = snprintf(branch, sizeof(branch),
			  RELAY_CTL_BRANCH_PREFIX "e%08" PRIx32 "%08" PRIx32, ids, from);
	if (detached_pending(&c->detached, branch, (size_t)bl, SIP_METHOD_BYE))
		return false;
	n = setup_build_after_2xx(r, "BYE", c->cfg->advertise, branch, c->out, sizeof(c->out));
	/* the BYE is a transaction: resent until answered */
	send_detached(c, shard, n, branch, (size_t)bl, SIP_METHOD_BYE, to, tolen, now);
	return true;
}

/* The CANCEL of given-up INVITE g, for provisional r of its callee: sent to
 * where the INVITE went, a transaction of its own (detached.h). The one
 * kept, else built from r with the INVITE's Request-URI; false when neither
 * could be (a Request-URI too long to keep: nothing RFC 3261 9.1 allows). */
static bool given_up_cancel(struct ctl *c, struct given_up *g, const struct sip_msg *r,
			    uint64_t now)
{
	const char *req = g->cancel;
	int n = g->cancel_len;

	g->cancel_sent = true; /* one CANCEL, or none */
	if (!n) {
		n = setup_build_cancel_of_provisional(r, g->cancel, g->ruri_len, c->out,
						      sizeof(c->out));
		req = c->out;
	}
	if (n <= 0)
		return false;
	detached_send(&c->detached, req, (size_t)n, g->branch, g->branch_len, SIP_METHOD_CANCEL,
		      g->shard, &g->peer, g->peer_len, now, detached_send_hook, c);
	return true;
}

/* The ACK of non-2xx final r to leg B's INVITE given up as g (NULL: none
 * found), into out: from g's CANCEL, which has the INVITE's Request-URI,
 * Via, Route lines, From, Call-ID and CSeq number (RFC 3261 17.1.1.3: the
 * ACK's Request-URI and Route set are the INVITE's), else with the
 * INVITE's Request-URI kept, else from r alone (setup_msg.h). */
static int ack_of_given_up(struct ctl *c, const struct given_up *g, const struct sip_msg *r,
			   char *out, size_t cap)
{
	if (g && g->cancel_len && sip_parse(&c->scratch, g->cancel, g->cancel_len, NULL) == 0)
		return setup_build_ack(&c->scratch, r, out, cap);
	return setup_build_ack_of_final(r, g ? g->cancel : NULL, g ? g->ruri_len : 0, out, cap);
}

/* A response r from src to a leg B INVITE given up (struct given_up): a
 * provisional but 100 gets the INVITE's CANCEL, the first one (the others
 * find it on its way), and a 2xx the ACK, with a BYE in each dialog; a 100
 * is a counted drop, nobody rings yet. False when r answers no such INVITE,
 * or is a non-2xx final (ACKed where the record, or ack_final_of_gone_call,
 * takes it). */
static bool given_up_response(struct ctl *c, const struct sip_msg *r, const struct sockaddr *src,
			      socklen_t srclen, uint64_t now)
{
	struct given_up *g;

	if (r->status >= 300 || (r->status >= 200 && !r->to.has_tag) ||
	    !(g = given_up_find(c, r, src, srclen, now)))
		return false;
	if (r->status >= 200) {
		/* each dialog a 2xx makes gets its BYE (RFC 3261 13.2.2.4: a
		 * forking proxy passes on every fork's, 16.7), copies of one
		 * 2xx the ACK alone (ack_and_bye: the BYE's branch is the
		 * dialog's). One BYE for the INVITE left a second fork's callee
		 * in a call nobody was on */
		if (ack_and_bye(c, g->shard, r, &g->peer, g->peer_len, true, now))
			c->st.stale_answers_ended++;
		return true;
	}
	if (r->status == 100 || g->cancel_sent || !given_up_cancel(c, g, r, now)) {
		c->st.late_provisionals++;
		return true;
	}
	c->st.late_provisionals_cancelled++;
	log_debug("a callee rang after its INVITE was given up: CANCEL sent");
	return true;
}

/* The call ends here with status to the caller (408 or 487: leg B answered
 * nothing), counted and written to the CDR; the target has no call any more.
 * Leg B's INVITE is kept as given up, with its CANCEL: the caller's Reason
 * lines, or (Timer B) ours, the 408 the caller got. */
static void give_up_call(struct ctl *c, struct ctl_call *k, uint64_t now)
{
	if (k->reason_len || k->cancelled)
		given_up_stage(c, k, k->reason, k->reason_len);
	else
		given_up_stage(c, k, CTL_NO_ANSWER_REASON, sizeof(CTL_NO_ANSWER_REASON) - 1);
	given_up_commit(c, now);
	int status = k->cancelled ? 487 : 408;
	call_unanswered(c, k, !k->cancelled, status);
	ctl_call_target_drop(c, k);
	if (k->installed)
		release_dialog(c, k);
	ctl_forks_end(c, k);
	complete_call(
	    c, k, status,
	    setup_local_response(status, k->head, k->head_len, NULL, c->out, sizeof(c->out)), now);
}

/* A 2xx to leg B's INVITE that the call does not take (a target it failed
 * over from, a second fork, one after the final): ACKed and ended with a BYE
 * where it came from (RFC 3261 13.2.2.4), so that its callee is not left
 * with a call nobody is on. */
static void end_2xx(struct ctl *c, const struct ctl_call *k, const struct sip_msg *r,
		    const struct sockaddr *src, socklen_t srclen, uint64_t now)
{
	if (ack_and_bye(c, k->shard, r, (const struct sockaddr_storage *)src, srclen, true, now))
		c->st.stale_answers_ended++;
}

/* A fork answered (2xx r, ended by end_2xx) after the caller's early dialog
 * with it had ended (the caller's BYE in it, RFC 3261 15, or its expiry). A
 * 2xx is leg B's final: a forking proxy forwards no other final after it
 * but another 2xx, and cancels its other branches (RFC 3261 16.7 steps 5
 * and 10), whose 487s it keeps; the call would ring on until no_answer_s
 * for nothing. The caller's INVITE gets the final its callee would have
 * sent for that BYE, 487 (15.1.2), or 408 once sipshard had given the call
 * up (no_answer_s), counted and written to the CDR as that final from the
 * callee would have been; the 2xx counts as its target's answer. Another
 * fork's 2xx sent at the same moment finds the call ended, and is ended as
 * a second answer is. */
static void end_after_early_dialog(struct ctl *c, struct ctl_call *k, const struct sip_msg *r,
				   uint64_t now)
{
	bool timeout = k->timed_out && !k->cancelled;
	int status = timeout ? 408 : 487;
	ctl_target_count_final(c, k, r->status);
	ctl_call_target_drop(c, k);
	if (k->installed) /* the call's own early dialog, when another fork's ended */
		release_dialog(c, k);
	ctl_forks_end(c, k);
	call_unanswered(c, k, timeout, status);
	complete_call(
	    c, k, status,
	    setup_local_response(status, k->head, k->head_len, NULL, c->out, sizeof(c->out)), now);
}

/* The callee's 2xx or reliable provisional r, which makes leg B's dialog,
 * has a field the dialog's record cannot keep (ctl_callee_unfit: its
 * Contact, Record-Route set or To tag): a call made of it would send its
 * requests to the wrong place, malformed, or past the callee's proxies
 * (RFC 3261 12.2.1.1). The call ends, as for a 2xx it does not take: a 2xx
 * is ACKed and ended with a BYE (end_2xx), a provisional has leg B's INVITE
 * given up with its CANCEL, sent at once (RFC 3261 9.1: a provisional
 * came; its 487 is ACKed, a 2xx crossing it ended, as for any INVITE given
 * up). The caller gets 502 (21.5.3: an invalid response from the next hop;
 * 487 once it had CANCELled), counted (answers_too_large), logged with the
 * field and written to the CDR; every fork's early dialog is released. */
static void end_unfit_answer(struct ctl *c, struct ctl_call *k, const struct sip_msg *r,
			     const struct sockaddr *src, socklen_t srclen, uint64_t now)
{
	const char *field = ctl_callee_unfit(r);
	int status = k->cancelled ? 487 : 502;
	char warning[96];

	c->st.answers_too_large++;
	log_info("call %s: the callee's %s is longer than a dialog's record keeps (%d bytes for "
		 "a URI, %d for the Route set): call ended, %d to the caller",
		 k->a_call_id, field, SESSION_URI_MAX - 1, SESSION_ROUTE_SET_MAX - 1, status);
	if (r->status >= 200) {
		end_2xx(c, k, r, src, srclen, now);
		ctl_target_count_final(c, k, r->status);
	} else {
		given_up_stage(c, k, NULL, 0);
		if (c->given_up_staged.until) {
			given_up_commit(c, now);
			struct given_up_ring *gu = c->gu;
			(void)given_up_cancel(
			    c, &gu->e[(gu->next + CTL_GIVEN_UP_MAX - 1) % CTL_GIVEN_UP_MAX], r,
			    now);
		}
	}
	ctl_call_target_drop(c, k);
	if (k->installed)
		release_dialog(c, k);
	ctl_forks_end(c, k);
	call_unanswered(c, k, false, status);
	snprintf(warning, sizeof(warning), "Warning: 399 sipshard \"callee's %s too long\"\r\n",
		 field);
	complete_call(
	    c, k, status,
	    setup_local_response(status, k->head, k->head_len, warning, c->out, sizeof(c->out)),
	    now);
}

/* A response to leg B's INVITE, for its record k. */
static void invite_response(struct ctl *c, struct ctl_call *k, const struct sip_msg *r,
			    const struct sockaddr *src, socklen_t srclen, uint64_t now)
{
	if (k->state == CALL_CALLING) {
		k->state = CALL_PROCEEDING; /* any response stops Timer A */
		k->t_next = 0;
		ctl_target_answers(c, k, now);
		/* the CANCEL that waited for it: only in a record restored from
		 * a process that kept a CANCEL before any provisional waiting
		 * here (on_cancel now gives such an INVITE up at once) */
		if (k->cancelled && !k->timed_out && r->status < 200)
			start_cancel(c, k, now);
	}
	if (r->status < 200 && k->state != CALL_PROCEEDING) {
		/* the call has its final: nothing to ring, but a callee whose
		 * INVITE was given up (Timer B) gets its CANCEL at a provisional
		 * but 100 (a 100 is hop by hop, no callee's); each is counted,
		 * a 100 too (it was not, while the record was there) */
		if (r->status == 100 || k->state != CALL_COMPLETED ||
		    !given_up_response(c, r, src, srclen, now))
			c->st.late_provisionals++;
		return;
	}
	if (r->status == 100) {
		c->st.provisionals_100++; /* hop by hop: never relayed */
		return;
	}
	if (r->status < 200) {
		k->b_rang = true;
		const char *head = k->head;
		if (r->to.has_tag && k->installed && !same_callee(k, r)) {
			/* another fork (RFC 3261 13.2.2.4): relayed in an early
			 * dialog of its own toward the caller, under its tag, where
			 * the caller PRACKs its reliable provisionals (the worker
			 * relays them to it) and gets its SDP. The answer (or
			 * offer) of a reliable 18x after its first one goes to the
			 * worker's copy as for the first fork (below); a full ring
			 * leaves it to the 2xx. A fork whose early dialog ended
			 * (the caller's BYE, expiry) gets nothing more relayed.
			 * A copy of a reliable 18x that sipshard PRACKed goes as
			 * that 18x did (below), whatever room there is now and
			 * whether the fork has an early dialog of its own since. */
			const bool copy = ctl_fork_pracked_copy(k, r);
			struct ctl_fork *f = copy ? NULL : ctl_fork_of_response(k, r);
			if (f && f->gone) {
				c->st.late_provisionals++;
				return;
			}
			if (f && r->body.len && sip_is_reliable_provisional(r))
				(void)ctl_fork_install(c, k, f, r, src, srclen);
			else if (!f && !copy)
				f = ctl_fork_add(c, k, r, src, srclen);
			if (f)
				head = ctl_head_with_tag(c, k, f->a_tag);
		}
		/* (not only while installed: while the first fork's install
		 * waits for room in the ring, or for the tick after a restart,
		 * k->dlg names that fork already, and another fork's provisional,
		 * a copy of one PRACKed here included, is no first fork's
		 * either: never installed nor relayed as the call's own. Once
		 * the call's early dialog ended, slot_gone, it goes nowhere, as
		 * any provisional there, below) */
		if (head == k->head && r->to.has_tag && !k->slot_gone && !same_callee(k, r) &&
		    sip_is_reliable_provisional(r)) {
			/* a reliable provisional of a fork refused an early dialog
			 * of its own (ctl_fork_add): the caller's early dialog (and
			 * RSeq space) is the first fork's, where it would look like
			 * a retransmission and its PRACK would go to the first
			 * fork. Acknowledged here, in its own early dialog, so
			 * that this fork goes on ringing (RFC 3262 3) and may still
			 * answer; the caller is not told twice that it rings.
			 * Its copies come here too (ctl_fork_pracked_copy, above,
			 * with the fork noted below), as long as the call sets
			 * up: while our PRACK is resent, or Completed until
			 * Timer K, a copy is absorbed (RFC 3262 4: not PRACKed
			 * again while the PRACK's transaction does what it is
			 * for); once that transaction is over, or was never
			 * kept (a restart, a full table: detached.h), a copy
			 * may be the fork's resend of an 18x whose PRACK it
			 * never had, and it gets a PRACK again (in one run the
			 * same: one branch per fork and RSeq; a fork that had
			 * it answers it again, or 481, RFC 3262 3: a final
			 * either way, which ends ours). */
			char branch[CTL_TAG_MAX];
			int bl = ctl_fork_prack_branch(c, k, r, branch);
			if (detached_pending(&c->detached, branch, (size_t)bl, SIP_METHOD_PRACK))
				return;
			int pn =
			    setup_build_prack(r, c->cfg->advertise, branch, c->out, sizeof(c->out));
			if (pn > 0)
				ctl_fork_pracked_note(c, k, r);
			/* that fork may answer and be the call's dialog: the
			 * worker's requests there go on above this PRACK's
			 * CSeq (RFC 3261 12.2.2: a lower one gets 500, so the
			 * caller's BYE would not end it); a gap is allowed */
			struct sip_session *lb = &k->dlg.legs[SHARD_LEG_B];
			uint32_t pc = setup_prack_cseq(r);
			if (pn > 0 && pc > lb->local_cseq)
				lb->local_cseq = pc;
			send_detached(c, k->shard, pn, branch, (size_t)bl, SIP_METHOD_PRACK,
				      (const struct sockaddr_storage *)src, srclen, now);
			c->st.fork_provisionals_pracked++;
			return;
		}
		if (head == k->head && r->to.has_tag && (k->slot_gone || k->first_fork_ended)) {
			/* the call's early dialog toward the caller ended (the
			 * caller's BYE in it, expiry): a provisional that would go
			 * in it (the first fork's, a fork refused one of its own,
			 * or any once the slot is gone) would have the caller ring
			 * again where nothing is held (481), nor is it installed
			 * again; that fork's 2xx is ended */
			c->st.late_provisionals++;
			return;
		}
		/* the first fork's early dialog, pushed again here while the
		 * ring refused it; another fork's provisional in that time goes
		 * in it as a refused fork's does, never taking its place (its
		 * callee would then get the caller's PRACKs and UPDATEs of the
		 * first fork's, and retry_early_install would push it) */
		int irc = 0;
		if (r->to.has_tag && !k->installed && same_callee(k, r))
			irc = ctl_install(c, k, r, src, srclen, false); /* else the 2xx will */
		else if (r->to.has_tag && same_callee(k, r) && invite_sdp_in(&k->dlg, r, false))
			/* the answer (or offer) in a reliable 18x after the one
			 * that installed the early dialog: the worker's copy
			 * learns it, or it would take the early dialog's PRACKs
			 * and UPDATEs as answering the INVITE's offer. A full
			 * ring leaves it to the 2xx's install. */
			irc = ctl_install(c, k, r, src, srclen, false);
		if (irc == -E2BIG && sip_is_reliable_provisional(r)) {
			/* the caller would PRACK (and UPDATE) in an early dialog
			 * the record cannot hold; an unreliable one is relayed,
			 * not installed: its callee's 2xx decides */
			end_unfit_answer(c, k, r, src, srclen, now);
			return;
		}
		int n = setup_relay_response(r, head, k->head_len, c->cfg->advertise, 0, &c->strip,
					     c->out, sizeof(c->out));
		send_to(c, k->shard, c->out, n, &k->a_peer, k->a_len);
		/* kept for the caller's retransmitted INVITE; one that does not
		 * fit leaves none (a 100 then), never an older one */
		k->tail_len = 0;
		if (n > 0 && (size_t)k->invite_len + (size_t)n <= sizeof(k->invite)) {
			memcpy(k->invite + k->invite_len, c->out, (size_t)n);
			k->tail_len = (uint16_t)n;
		}
		return;
	}
	if (r->status < 300) {
		if (k->state == CALL_COMPLETED && given_up_response(c, r, src, srclen, now))
			return;
		/* a 2xx without a To tag (an RFC 2543 callee: RFC 3261 12.1.2
		 * takes its remote tag as empty) is ended alike; it was once
		 * dropped here uncounted, and after the call's own early dialog
		 * ended it reached the caller with no dialog behind it */
		if (k->state == CALL_COMPLETED ||
		    (k->state == CALL_ANSWERED && !same_callee(k, r))) {
			end_2xx(c, k, r, src, srclen, now);
			return;
		}
		const struct ctl_fork *f = k->state != CALL_ANSWERED && !same_callee(k, r)
					       ? ctl_fork_of_response(k, r)
					       : NULL;
		/* the call's own early dialog ended: with its slot
		 * (slot_gone: expiry, or a BYE while no other fork had one of
		 * its own) no 2xx has a dialog to confirm; kept for the other
		 * forks (first_fork_ended), the 2xx of one of them still has,
		 * not the first fork's, nor that of a fork refused an early
		 * dialog of its own, which rang in the call's */
		bool own_ended =
		    k->state != CALL_ANSWERED &&
		    (k->slot_gone || (k->first_fork_ended && (same_callee(k, r) || !f)));
		if ((f && f->gone) || own_ended) {
			/* a fork whose early dialog ended (the caller's BYE in it,
			 * expiry), the first fork's (the call's own) included: the
			 * caller holds no dialog under its tag to confirm. ACKed
			 * and ended as the UAC side of leg B (RFC 3261 13.2.2.4),
			 * not relayed, and the caller's INVITE gets its final */
			end_2xx(c, k, r, src, srclen, now);
			end_after_early_dialog(c, k, r, now);
			return;
		}
		if (k->state != CALL_ANSWERED) {
			int arc = ctl_answer_from_fork(c, k, r, src, srclen);
			if (arc == -E2BIG) {
				end_unfit_answer(c, k, r, src, srclen, now);
				return;
			}
			if (arc != 0) {
				/* the worker's ring is full: relaying this 2xx would
				 * give the caller a dialog nobody holds. The callee
				 * sends it again until it is ACKed (RFC 3261
				 * 13.3.1.4), and the next one tries again. */
				c->st.answers_deferred++;
				return;
			}
			k->state = CALL_ANSWERED;
			ctl_target_count_final(c, k, r->status);
			k->t_deadline = now + ctl_answer_linger_ms(c);
			ctl_list_append(c, &c->linger, k);
			c->st.calls_answered++;
			ctl_cdr_answered(c, k, r->status);
		}
		/* the 2xx and its retransmissions go to A end to end */
		int n =
		    setup_relay_response(r, k->head, k->head_len, c->cfg->advertise,
					 session_told(c, k, r), &c->strip, c->out, sizeof(c->out));
		send_2xx_to_a(c, k, c->out, n);
		return;
	}
	/* non-2xx final: ACK it hop by hop, relay it, wait for A's ACK */
	char ack[CTL_INVITE_MAX];
	if (k->state == CALL_COMPLETED) {
		/* a retransmission of the final: the same ACK again; the INVITE
		 * it was built from is gone */
		if (k->tail_len) {
			send_to(c, k->shard, k->invite + k->invite_len, k->tail_len, &k->b_peer,
				k->b_len);
			c->st.stale_finals_acked++;
			return;
		}
		/* none kept: the call ended here first (Timer B, or a CANCEL
		 * left unanswered) and this is leg B's first final, late; it
		 * is ACKed all the same (17.1.1.2), from the INVITE given up
		 * then, as once the record has left (ack_final_of_gone_call) */
		const struct given_up *g = given_up_find(c, r, src, srclen, now);
		int n = ack_of_given_up(c, g, r, ack, sizeof(ack));
		send_to(c, k->shard, ack, n, &k->b_peer, k->b_len);
		c->st.stale_finals_acked++;
		return;
	}
	int an = ack_leg_b(c, k, r, ack, sizeof(ack));
	if (k->state == CALL_ANSWERED) {
		/* another fork's final after the call's 2xx: ACKed, no more */
		c->st.stale_finals_acked++;
		return;
	}
	/* a challenge the route has credentials for: the call goes on, as
	 * though the target had not answered yet */
	if (r->status == 422 && raise_session_interval(c, k, r, now) == 0)
		return;
	bool refused = false;
	if (r->status == 401 || r->status == 407) {
		int arc = answer_challenge(c, k, r, now);
		if (arc == 0)
			return;
		refused = arc != -ENOENT; /* -EACCES or -ENOSPC: no answer sent */
	}
	ctl_target_retry_after(c, k, r, now);
	ctl_target_count_final(c, k, r->status);
	if (next_target(c, k, r->status, now) == 0)
		return;
	ctl_call_target_drop(c, k); /* the target has no call any more */
	if (k->installed) /* the worker frees it and reports through ctl_on_dialog_ended */
		release_dialog(c, k);
	ctl_forks_end(c, k);
	/* the 487 to our CANCEL of a call nobody answered: the caller gets 408 */
	bool timeout = k->timed_out && !k->cancelled;
	int status = timeout ? 408 : refused ? 403 : r->status;
	/* the target's 503 goes as 500 (setup_relay_response, RFC 3261 16.7
	 * item 6): the caller and the CDR get 500 */
	bool sent_as_500 = status == 503;
	if (sent_as_500) {
		status = 500;
		c->st.target_503_sent_as_500++;
	}
	call_unanswered(c, k, timeout, status);
	/* a challenge for credentials the caller cannot give (those sipshard
	 * gave were refused): the caller is told no, not asked */
	int n =
	    status != r->status && !sent_as_500
		? setup_local_response(status, k->head, k->head_len, NULL, c->out, sizeof(c->out))
		: setup_relay_response(r, k->head, k->head_len, c->cfg->advertise, 0, &c->strip,
				       c->out, sizeof(c->out));
	complete_call(c, k, status, n, now);
	if (an > 0 && (size_t)k->invite_len + (size_t)an <= sizeof(k->invite)) {
		memcpy(k->invite + k->invite_len, ack, (size_t)an);
		k->tail_len = (uint16_t)an;
	}
}

/* The record in set-up whose leg B call r belongs to, though not to its
 * current INVITE transaction (find_by_branch found none): the index and
 * generation in its branch, leg B's Call-ID and From tag. That is the
 * answer of a target the call has left after failover. */
static struct ctl_call *record_left_by(struct ctl *c, const struct sip_msg *r)
{
	if (r->cseq.method_id != SIP_METHOD_INVITE)
		return NULL;
	struct ctl_call *k = record_of_branch(c, r);
	if (!k || !sip_view_eq(r->buf, r->call_id, k->b_call_id, strlen(k->b_call_id)) ||
	    !sip_view_eq(r->buf, r->from.tag, k->b_from_tag, strlen(k->b_from_tag)))
		return NULL;
	return k;
}

/* A response from a target the call has left, sent back to where it came
 * from: a 2xx (a slow answer) gets an ACK and a BYE, so that its callee is
 * not left with a call nobody is on; a non-2xx (retransmitted: our ACK was
 * lost, or the first from a target left after failover_ms) gets its ACK,
 * with the INVITE's Request-URI and Route lines (ack_of_given_up); a
 * provisional (the target left after failover_ms rings after all) gets the
 * CANCEL of the INVITE given up there (given_up_cancel), so that its callee
 * does not ring on. Returns false when r is no such response. */
static bool close_left_target(struct ctl *c, const struct sip_msg *r, const struct sockaddr *src,
			      socklen_t srclen, uint64_t now)
{
	struct ctl_call *k;

	if ((r->status >= 200 && r->status < 300 && !r->to.has_tag) || !(k = record_left_by(c, r)))
		return false;
	const struct sockaddr_storage *to = (const struct sockaddr_storage *)src;
	/* the INVITE left, kept as given up for when the record is gone */
	struct given_up *g = given_up_find(c, r, src, srclen, now);
	/* the branch's random part is known for the current INVITE alone
	 * (make_branch): a response from the call's own target on another
	 * branch is an earlier INVITE's there (one challenged, or refused 422,
	 * and sent again: its final again, our ACK lost), or one with a branch
	 * none of our INVITEs had (a broken or hostile peer). Neither is a 2xx
	 * (that INVITE had its final), nor a reason to take the target down:
	 * such a 2xx ended the callee's side of the live call with a BYE, the
	 * caller's left up, and such a 503 with Retry-After took the target
	 * out. Nor is one from no route target a target's left. */
	bool own_target = !g && srclen == k->b_len && memcmp(src, &k->b_peer, srclen) == 0;
	if (!g && (ctl_target_find(c, src, srclen) == CTL_NO_TARGET ||
		   (own_target && r->status >= 200 && r->status < 300))) {
		c->st.dropped_unknown_response++;
		return true;
	}
	if (r->status < 200) {
		/* its CANCEL, the INVITE's own (RFC 3261 9.1: its Request-URI).
		 * None without the entry: the INVITE left had its final (a
		 * failover on status, a challenge answered), so a CANCEL would
		 * do nothing, or its entry was forgotten (given_up_forgotten) */
		if (!g || g->cancel_sent || !given_up_cancel(c, g, r, now)) {
			c->st.late_provisionals++;
			return true;
		}
		c->st.stale_provisionals_cancelled++;
		return true;
	}
	if (r->status >= 300) {
		int n = ack_of_given_up(c, g, r, c->out, sizeof(c->out));
		send_to(c, k->shard, c->out, n, to, srclen);
		c->st.stale_finals_acked++;
		/* a server that answers late with 503 and Retry-After asks for
		 * no requests for that long all the same (RFC 3263 4.3): found
		 * silent, it would be back after down_s, or at a probe's answer */
		uint32_t i = own_target ? CTL_NO_TARGET : ctl_target_find(c, src, srclen);
		if (i != CTL_NO_TARGET)
			ctl_target_hold(c, &c->targets[i], r, now);
		return true;
	}
	end_2xx(c, k, r, src, srclen, now);
	log_info("call %s: a target it failed over from answered %d: ACKed and ended with a BYE",
		 k->a_call_id, r->status);
	return true;
}

/* A non-2xx final to a leg B INVITE of ours whose record is gone (the
 * caller ACKed its copy of the final, or Timer H or an eviction freed it),
 * sent again by the callee because our ACK was lost: leg B's INVITE client
 * transaction ACKs each retransmission of its final for Timer D, 32 s at
 * least over UDP (RFC 3261 17.1.1.2), longer than the record lives, and the
 * callee's server transaction resends it until then (17.2.1). The ACK is
 * built as for a target left (ack_of_given_up: from the INVITE's CANCEL
 * while the INVITE is kept as given up, else from the final alone, the
 * record with its INVITE being gone). Only a branch of the
 * form make_branch writes is so answered, and never a 2xx: one that comes
 * after its record left is an answered call's, whose dialog is the
 * worker's. Nor one from an address that is no route target: with the
 * record gone nothing ties the branch to a peer, and anyone could have the
 * ACK sent where they like. Returns false when r is no such response. */
static bool ack_final_of_gone_call(struct ctl *c, unsigned shard, const struct sip_msg *r,
				   const struct sockaddr *src, socklen_t srclen, uint64_t now)
{
	size_t plen = sizeof(RELAY_CTL_BRANCH_PREFIX) - 1;

	if (r->status < 300 || r->cseq.method_id != SIP_METHOD_INVITE || !r->nvias ||
	    !r->to.has_tag || ctl_target_find(c, src, srclen) == CTL_NO_TARGET)
		return false;
	const sip_view b = r->vias[0].branch;
	const char *p = r->buf + b.off;
	if (b.len != plen + 24 || memcmp(p, RELAY_CTL_BRANCH_PREFIX, plen) != 0 ||
	    relay_hex_digits(p + plen, 8) < 0 || relay_hex_digits(p + plen + 8, 8) < 0 ||
	    relay_hex_digits(p + plen + 16, 8) < 0)
		return false;
	int n =
	    ack_of_given_up(c, given_up_find(c, r, src, srclen, now), r, c->out, sizeof(c->out));
	send_to(c, shard, c->out, n, (const struct sockaddr_storage *)src, srclen);
	c->st.stale_finals_acked++;
	return true;
}

static void on_response(struct ctl *c, unsigned shard, const struct sip_msg *r,
			const struct sockaddr *src, socklen_t srclen, uint64_t now)
{
	struct ctl_call *k = find_by_branch(c, r);

	if (!k || r->cseq.method_id != SIP_METHOD_INVITE) {
		if (k && r->cseq.method_id == SIP_METHOD_CANCEL) {
			/* an answer to our CANCEL (or a copy of one): it ends here */
			c->st.cancel_responses++;
			/* 200 to our CANCEL: the 487 follows; no more CANCELs */
			if (r->status >= 200 && k->state == CALL_PROCEEDING && k->t_next) {
				k->t_next = 0;
				ctl_call_schedule(c, k, now);
			}
			return;
		}
		if (!k &&
		    (detached_on_response(&c->detached, r, now) || ctl_probe_response(c, r, now) ||
		     close_left_target(c, r, src, srclen, now) ||
		     given_up_response(c, r, src, srclen, now) ||
		     reg_on_response(&c->regs, r, now, &c->reg_ops) ||
		     ack_final_of_gone_call(c, shard, r, src, srclen, now)))
			return;
		c->st.dropped_unknown_response++;
		return;
	}
	invite_response(c, k, r, src, srclen, now);
	/* Timer A stops, Timer G starts, a refused early install retries, an
	 * answered call leaves for the linger list */
	ctl_call_schedule(c, k, now);
}

/* ---- CANCEL and ACK from leg A ------------------------------------------ */

/* A CANCEL for leg B's INVITE, built from the INVITE as sent (RFC 3261 9.1),
 * with the record's Reason lines. */
static void cancel_leg_b(struct ctl *c, struct ctl_call *k)
{
	char cancel[CTL_INVITE_MAX];

	if (sip_parse(&c->scratch, k->invite, k->invite_len, NULL) != 0)
		return;
	int n = setup_build_cancel(&c->scratch, k->reason, k->reason_len, cancel, sizeof(cancel));
	send_to(c, k->shard, cancel, n, &k->b_peer, k->b_len);
}

/* Leg B's INVITE is given up (the caller's CANCEL, or timers.no_answer_s):
 * a CANCEL, resent by Timer E (T1 doubling to T2, t_next; 0 once answered)
 * until leg B answers it or its INVITE, which it has until Timer F (64*T1,
 * t_deadline); then the call ends without it (call_timer). Only once a
 * provisional came (RFC 3261 9.1). */
static void start_cancel(struct ctl *c, struct ctl_call *k, uint64_t now)
{
	k->timed_out = true; /* the call ends at t_deadline at the latest */
	cancel_leg_b(c, k);
	k->t_interval = c->cfg->timers.t1_ms;
	k->t_next = now + k->t_interval;
	k->t_deadline = now + 64ull * c->cfg->timers.t1_ms;
}

static void on_cancel(struct ctl *c, unsigned shard, const struct sip_msg *m,
		      const struct sockaddr *src, socklen_t srclen, uint64_t now)
{
	struct ctl_call *k = find_by_a(c, m);

	/* only the CANCEL of the INVITE k holds (RFC 3261 9.2, by 17.2.3: its
	 * branch and CSeq number): that of a merged copy answered 482, or of
	 * another transaction, matches none and must not end this call */
	if (!k || invite_txn_of(c, k, m) != INVITE_SAME) {
		c->st.answered_481++;
		answer_stateless(c, shard, m, 481, NULL, src, srclen);
		return;
	}
	/* with the To tag of the INVITE's responses (RFC 3261 9.2) */
	int n = sip_respond_from(m, 200, NULL, k->a_tag, NULL, src, srclen, c->out, sizeof(c->out));
	if (n > 0)
		c->hooks.send(c->hooks.arg, shard, c->out, (size_t)n, src, srclen);
	if (k->state != CALL_CALLING && k->state != CALL_PROCEEDING)
		return;
	/* the first CANCEL's Reason (RFC 3326: "call completed elsewhere" keeps
	 * the callee's phone from showing a missed call); not once a CANCEL of
	 * ours (timers.no_answer_s) is on its way with its own, nor from a
	 * retransmission; none when strip_headers names Reason */
	if (!k->cancelled && !k->timed_out && !c->strip_reason) {
		unsigned dropped = 0;
		k->reason_len =
		    (uint16_t)setup_cancel_reasons(m, k->reason, sizeof(k->reason), &dropped);
		c->st.cancel_reasons_dropped += dropped;
	}
	k->cancelled = true;
	if (k->state == CALL_CALLING) {
		/* no provisional yet: leg B's CANCEL may not go (RFC 3261 9.1),
		 * but the caller need not wait for one (9.2: its UAS answers the
		 * INVITE 487 at once). Leg B's INVITE is given up, with its
		 * CANCEL and the caller's Reason, for a provisional to send it
		 * at (given_up_response; a 2xx gets ACK and BYE); its Timer A
		 * stops with the record's INVITE: the call is over */
		give_up_call(c, k, now);
		ctl_call_schedule(c, k, now);
	} else if (!k->timed_out) {
		start_cancel(c, k, now);
		ctl_call_schedule(c, k, now);
	}
}

static void on_ack(struct ctl *c, const struct sip_msg *m)
{
	struct ctl_call *k = find_by_a(c, m);

	/* only the ACK of the final k sent ends it: that of a 482 answered to
	 * a merged copy of the INVITE (another branch) left the call waiting
	 * for its own, unACKed final resent by Timer G to no record */
	if (k && k->state == CALL_COMPLETED && invite_txn_of(c, k, m) == INVITE_SAME) {
		c->st.acks_absorbed++;
		call_free(c, k);
		return;
	}
	c->st.dropped_unmatched++;
}

/* ---- entry points -------------------------------------------------------- */

/* out_of_dialog names BYE: the operator's answer to a BYE with no To tag. */
static bool ood_names_bye(struct ctl *c)
{
	const struct config *p = policy_config(c->pol);
	for (unsigned i = 0; i < p->nood; i++)
		if (!strcmp(p->ood[i].method, "BYE"))
			return true;
	return false;
}

void ctl_on_datagram(struct ctl *c, unsigned shard, const struct sip_msg *m,
		     const struct sockaddr *src, socklen_t srclen, uint64_t now_ms)
{
	if (!m->is_request) {
		on_response(c, shard, m, src, srclen, now_ms);
		return;
	}
	switch (m->method_id) {
	case SIP_METHOD_INVITE:
		if (m->to.has_tag) {
			/* a re-INVITE for a dialog the worker does not know */
			c->st.answered_481++;
			answer_stateless(c, shard, m, 481, NULL, src, srclen);
			return;
		}
		on_invite(c, shard, m, NULL, 0, src, srclen, now_ms);
		return;
	case SIP_METHOD_CANCEL:
		on_cancel(c, shard, m, src, srclen, now_ms);
		return;
	case SIP_METHOD_ACK:
		on_ack(c, m);
		return;
	case SIP_METHOD_OPTIONS:
		if (!m->to.has_tag) {
			int st = policy_ood_status(c->pol, "OPTIONS", 7);
			c->st.options++;
			if (c->draining) {
				/* a load balancer's keep-alive: send new calls elsewhere */
				char extra[64];
				retry_after(c, extra, sizeof(extra));
				answer_stateless(c, shard, m, 503, extra, src, srclen);
				return;
			}
			/* a 405 must say what is allowed (RFC 3261 8.2.1), and an
			 * operator may answer OPTIONS so (out_of_dialog.OPTIONS) */
			answer_stateless(c, shard, m, st,
					 st == 200
					     ? "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, "
					       "MESSAGE, NOTIFY, PRACK, REFER, UPDATE\r\n"
					       "Accept: application/sdp\r\n"
					 : st == 405 ? "Allow: INVITE, ACK, CANCEL, BYE\r\n"
						     : NULL,
					 src, srclen);
			return;
		}
		break;
	default:
		break;
	}
	/* a BYE without a To tag names no dialog: 481 (RFC 3261 15.1.2), not
	 * a 405 whose Allow lists BYE; unless out_of_dialog names BYE */
	if (m->to.has_tag || (m->method_id == SIP_METHOD_BYE && !ood_names_bye(c))) {
		c->st.answered_481++;
		answer_stateless(c, shard, m, 481, NULL, src, srclen);
		return;
	}
	c->st.ood_answered++;
	int status = policy_ood_status(c->pol, m->buf + m->method.off, m->method.len);
	/* a 405's Allow lists the valid methods (RFC 3261 21.4.6): never the
	 * one refused (a BYE out_of_dialog answers 405), nor OPTIONS when
	 * out_of_dialog answers it 405 too */
	char allow[64] = "";
	if (status == 405)
		snprintf(allow, sizeof(allow), "Allow: INVITE, ACK, CANCEL%s%s\r\n",
			 m->method_id == SIP_METHOD_BYE ? "" : ", BYE",
			 policy_ood_status(c->pol, "OPTIONS", 7) == 405 ? "" : ", OPTIONS");
	answer_stateless(c, shard, m, status, status == 405 ? allow : NULL, src, srclen);
}

void ctl_on_replacing_invite(struct ctl *c, unsigned shard, const struct sip_msg *m,
			     const struct sip_session *y, uint32_t y_auth_key,
			     const struct sockaddr *src, socklen_t srclen, uint64_t now_ms)
{
	if (!m->is_request || m->method_id != SIP_METHOD_INVITE || m->to.has_tag ||
	    !y->remote_target_len || !y->peer_len) {
		ctl_on_datagram(c, shard, m, src, srclen, now_ms);
		return;
	}
	on_invite(c, shard, m, y, y_auth_key, src, srclen, now_ms);
}

/* The caller may hold an early dialog that no worker does: its 18x went out
 * at once, while the install was refused (a full ring) or lost with the last
 * process. Until a worker holds it, the caller's PRACK, UPDATE or INFO in it
 * would get 481, and a callee that sends one 18x and then waits for the PRACK
 * (RFC 3262) would never answer. */
static bool early_install_pending(const struct ctl_call *k)
{
	return !k->installed && !k->slot_gone && k->dlg.state == SHARD_DLG_EARLY &&
	       k->dlg.legs[SHARD_LEG_B].remote_tag_len;
}

static void retry_early_install(struct ctl *c, struct ctl_call *k)
{
	if (early_install_pending(k) && c->hooks.install(c->hooks.arg, k->shard, &k->dlg, 0) == 0) {
		k->installed = true;
		c->st.early_installs_retried++;
	}
}

/* When a proceeding call is given up: timers.no_answer_s after its INVITE
 * (sent at Timer B's start, t_deadline - 64*T1, which a provisional leaves
 * as it was), then, once leg B was sent a CANCEL, at t_deadline. */
static uint64_t no_answer_due(const struct ctl *c, const struct ctl_call *k)
{
	if (k->timed_out)
		return k->t_deadline;
	return k->t_deadline - 64ull * c->cfg->timers.t1_ms + 1000ull * c->cfg->timers.no_answer_s;
}

/* When a calling record gives up its target: Timer B, or failover_ms after
 * the INVITE (sent at Timer B's start) when another target is left. */
static uint64_t give_up_due(const struct ctl *c, const struct ctl_call *k)
{
	if (!k->failover_ms)
		return k->t_deadline;
	uint64_t sent = k->t_deadline - 64ull * c->cfg->timers.t1_ms;
	return clock_earlier(k->t_deadline, sent + k->failover_ms);
}

/* When record k next needs the controller, or UINT64_MAX for never: Timer A
 * or B (or the failover time) while calling; while proceeding, the next
 * tick when its early dialog waits for a worker, else its no-answer time; Timer G or H once
 * completed. Answered records wait on the linger list instead. */
static uint64_t call_due(const struct ctl *c, const struct ctl_call *k, uint64_t now)
{
	switch (k->state) {
	case CALL_CALLING:
		return clock_earlier(k->t_next, give_up_due(c, k));
	case CALL_PROCEEDING:
		if (early_install_pending(k))
			return now + 1;
		return k->timed_out && k->t_next ? clock_earlier(k->t_next, no_answer_due(c, k))
						 : no_answer_due(c, k);
	case CALL_COMPLETED:
		return k->invite_len ? clock_earlier(k->t_next, k->t_deadline) : k->t_deadline;
	default:
		return UINT64_MAX;
	}
}

/* Arms (or moves, or cancels) record k's one timer for call_due. Called after
 * anything that can bring that time nearer; a timer that fires early, because
 * the time moved away, only finds nothing due and is armed again. */
void ctl_call_schedule(struct ctl *c, struct ctl_call *k, uint64_t now)
{
	uint32_t i = call_index(c, k);
	uint64_t due = call_due(c, k, now);

	if (due == UINT64_MAX) {
		wheel_cancel(&c->timers, c->timer_of[i]);
		c->timer_of[i] = WHEEL_NO_TIMER;
	} else if (wheel_rearm(&c->timers, c->timer_of[i], due) != 0 &&
		   wheel_add(&c->timers, due, i, &c->timer_of[i]) != 0) {
		/* cannot happen: the wheel has a node for every record */
		log_error("no timer for set-up record %u", i);
	}
}

/* Record k's timer fired at now: what is due of Timer A, B, G, H or the retry. */
static void call_timer(struct ctl *c, struct ctl_call *k, uint64_t now)
{
	switch (k->state) {
	case CALL_CALLING:
		if (now >= give_up_due(c, k)) {
			ctl_target_silent(c, k, now);
			/* the INVITE left behind is given up: kept, with its
			 * CANCEL (no Reason: the call goes on elsewhere) */
			given_up_stage(c, k, NULL, 0);
			if (next_target(c, k, 0, now) == 0) {
				given_up_commit(c, now);
				break;
			}
			if (now < k->t_deadline) {
				/* no failover after all (every later target full,
				 * or down while another target of the route is
				 * up, or a reload changed the route): this target
				 * has until Timer B */
				k->failover_ms = 0;
				break;
			}
		}
		if (now >= k->t_deadline) {
			/* Timer B: the callee never answered */
			give_up_call(c, k, now);
		} else if (now >= k->t_next) {
			/* Timer A: retransmit the INVITE */
			send_to(c, k->shard, k->invite, k->invite_len, &k->b_peer, k->b_len);
			k->t_interval *= 2;
			k->t_next = now + k->t_interval;
		}
		break;
	case CALL_PROCEEDING:
		if (now >= no_answer_due(c, k) && !k->timed_out) {
			/* ringing too long: CANCEL leg B; its 487 (invite_response)
			 * ends the call with a 408 to the caller, and the CANCEL
			 * says so (RFC 3326), as a proxy's Timer C would (RFC 3261
			 * 16.8) */
			if (!k->cancelled) {
				memcpy(k->reason, CTL_NO_ANSWER_REASON,
				       sizeof(CTL_NO_ANSWER_REASON) - 1);
				k->reason_len = sizeof(CTL_NO_ANSWER_REASON) - 1;
			}
			start_cancel(c, k, now);
		} else if (now >= no_answer_due(c, k)) {
			/* leg B answered neither the INVITE nor the CANCEL: the
			 * caller's CANCEL gets its 487 (RFC 3261 9.2), else 408 */
			give_up_call(c, k, now);
		} else {
			if (k->timed_out && k->t_next && now >= k->t_next) {
				/* Timer E: the CANCEL again */
				cancel_leg_b(c, k);
				k->t_interval *= 2;
				if (k->t_interval > c->cfg->timers.t2_ms)
					k->t_interval = c->cfg->timers.t2_ms;
				k->t_next = now + k->t_interval;
			}
			retry_early_install(c, k);
		}
		break;
	case CALL_COMPLETED:
		if (now >= k->t_deadline) {
			/* Timer H: A never ACKed */
			call_free(c, k);
		} else if (now >= k->t_next && k->invite_len) {
			/* Timer G: retransmit the final response */
			send_to(c, k->shard, k->invite, k->invite_len, &k->a_peer, k->a_len);
			k->t_interval *= 2;
			if (k->t_interval > c->cfg->timers.t2_ms)
				k->t_interval = c->cfg->timers.t2_ms;
			k->t_next = now + k->t_interval;
		}
		break;
	default:
		break;
	}
}

static void on_call_timer(void *arg, uint64_t cookie, wheel_handle h)
{
	struct ctl *c = arg;
	uint32_t i = (uint32_t)cookie;

	if (i >= c->ncalls || c->timer_of[i] != h)
		return;
	c->timer_of[i] = WHEEL_NO_TIMER; /* it fired: the handle is spent */
	struct ctl_call *k = &c->calls[i];
	call_timer(c, k, c->tick_now);
	if (k->state != CALL_FREE)
		ctl_call_schedule(c, k, c->tick_now);
}

void ctl_on_tick(struct ctl *c, uint64_t now)
{
	/* answered calls: the dialog is the worker's from here */
	while (c->linger.head && now >= c->calls[c->linger.head - 1].t_deadline)
		call_free(c, &c->calls[c->linger.head - 1]);

	c->tick_now = now;
	release_retry(c);
	wheel_advance(&c->timers, now, on_call_timer, c);
	if ((c->probing || c->keeping) && now >= c->targets_due)
		ctl_targets_tick(c, now);
	/* with no registration left, some may still be unregistering */
	if (now >= c->regs.due)
		reg_tick(&c->regs, now, &c->reg_ops);
	detached_tick(&c->detached, now, detached_send_hook, c);
}

static const char *const end_reason_names[CTL_END_COUNT_] = {
    [CTL_END_RELEASED] = "released",
    [CTL_END_BYE_CALLER] = "bye_caller",
    [CTL_END_BYE_CALLEE] = "bye_callee",
    [CTL_END_IDLE] = "idle_timeout",
    [CTL_END_MAX_DURATION] = "max_duration",
    [CTL_END_OPERATOR] = "operator",
    [CTL_END_SESSION_EXPIRED] = "session_expired",
    [CTL_END_KEEPALIVE] = "keepalive_failed",
    [CTL_END_DIALOG_GONE] = "dialog_gone",
};

void ctl_on_dialog_ended(struct ctl *c, unsigned shard, uint32_t slot, uint32_t next_gen,
			 enum ctl_end_reason why)
{
	struct slot_pool *p;

	if (shard >= c->nshards)
		return;
	p = &c->pools[shard];
	if (slot < p->cap && p->fork_of[slot]) {
		/* a fork's early dialog (struct ctl_fork): no call of its own */
		struct ctl_call *k = &c->calls[p->fork_of[slot] - 1];
		for (unsigned i = 0; i < k->nforks; i++)
			if (k->forks[i].slot == slot && k->forks[i].gen + 1 == next_gen)
				k->forks[i].gone = true;
		p->fork_of[slot] = 0;
		if (p->count < p->cap)
			p->items[p->count++] = (uint64_t)slot << 32 | next_gen;
		c->st.fork_dialogs_ended++;
		return;
	}
	if (p->cdr && slot < p->cap && p->cdr[slot].line && p->cdr[slot].gen + 1 == next_gen)
		ctl_cdr_close_open(c, &p->cdr[slot],
				   (unsigned)why < CTL_END_COUNT_ ? end_reason_names[why]
								  : "released");
	/* an early dialog that ended during set-up (a BYE from the caller, or
	 * expiry): its record must neither release nor return the slot again */
	if (slot < p->cap && p->holder[slot]) {
		struct ctl_call *k = &c->calls[p->holder[slot] - 1];
		if (k->installed && k->slot_gen + 1 == next_gen) {
			k->installed = false;
			k->slot_gone = true;
			p->holder[slot] = 0;
		}
	}
	if (p->count < p->cap)
		p->items[p->count++] = (uint64_t)slot << 32 | next_gen;
	c->st.dialogs_ended++;
	if (c->st.calls_active)
		c->st.calls_active--;
	policy_call_release(c->pol);
	if (slot < p->cap)
		ctl_target_drop(c, shard, slot);
}

void ctl_on_first_fork_ended(struct ctl *c, unsigned shard, uint32_t slot, uint32_t gen)
{
	if (shard >= c->nshards || slot >= c->pools[shard].cap || !c->pools[shard].holder[slot])
		return;
	struct ctl_call *k = &c->calls[c->pools[shard].holder[slot] - 1];
	if (k->installed && k->slot_gen == gen && k->state != CALL_ANSWERED) {
		k->first_fork_ended = true;
		c->st.first_forks_ended++;
	}
}

/* ---- policy, statistics, open and close ---------------------------------- */

void ctl_set_draining(struct ctl *c, bool on)
{
	c->draining = on;
}

/* A REGISTER leaves through the first worker's socket, as an OPTIONS does. */
static void reg_send(void *arg, const char *buf, size_t len, const struct sockaddr *to,
		     socklen_t tolen)
{
	struct ctl *c = arg;
	c->hooks.send(c->hooks.arg, 0, buf, len, to, tolen);
}

static uint64_t reg_rand(void *arg)
{
	(void)arg;
	return rng_secure();
}

const struct reg_set *ctl_registrations(const struct ctl *c)
{
	return &c->regs;
}

/* The registrations of the policy in force (a reload keeps those unchanged,
 * and unregisters the bindings of those it removes or points elsewhere). */
static void map_registrations(struct ctl *c)
{
	reg_configure(&c->regs, policy_config(c->pol), c->cfg->advertise, c->cfg->timers.t1_ms,
		      c->cfg->timers.t2_ms, clock_mono_ms(), &c->reg_ops);
}

/* The controller's copy of the routes' credentials (ctl_call_auth). */
static void map_creds(struct ctl *c)
{
	const struct config *pc = policy_config(c->pol);

	c->ncreds = pc->nroutes < ORIG_CREDS_MAX ? pc->nroutes : ORIG_CREDS_MAX;
	for (uint32_t i = 0; i < c->ncreds; i++)
		orig_cred_of_route(&pc->routes[i], &c->creds[i]);
}

void ctl_set_policy(struct ctl *c, struct policy *pol)
{
	c->pol = pol;
	ctl_map_targets(c);
	map_creds(c);
	map_registrations(c);
	memset(c->rr_weight, 0, sizeof(c->rr_weight)); /* the routes may be others */
}

void ctl_get_stats(const struct ctl *c, struct ctl_stats *st)
{
	*st = c->st;
	st->stale_requests_retransmitted = c->detached.st.retransmitted;
	st->stale_requests_answered = c->detached.st.answered;
	st->stale_requests_unanswered = c->detached.st.unanswered;
	st->stale_requests_untracked = c->detached.st.untracked;
	st->stale_responses_absorbed = c->detached.st.absorbed;
	st->targets_down = 0;
	for (uint32_t i = 0; i < c->ntargets; i++)
		st->targets_down += c->targets[i].named && c->targets[i].down_until > c->tick_now;
}

void ctl_get_pool(const struct ctl *c, struct ctl_pool *out)
{
	out->base = c->map;
	out->records = c->ncalls;
	out->record_bytes = sizeof(*c->calls);
}

int ctl_open(struct ctl **out, const struct config *cfg, struct policy *pol, unsigned nshards,
	     uint32_t dialogs_per_shard, const struct ctl_hooks *hooks, const char *setups_path,
	     uint64_t now_mono_ms)
{
	struct ctl *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->cfg = cfg;
	c->strip = config_strip_set(cfg);
	c->strip_reason = c->strip.named && sip_names_has(c->strip.named, "Reason", 6);
	c->pol = pol;
	c->hooks = *hooks;
	c->nshards = nshards;
	c->fd = -1;
	c->ncalls = cfg->capacity.setups;
	c->nby_a = c->ncalls * 2 + 1;
	detached_init(&c->detached, cfg->timers.t1_ms, cfg->timers.t2_ms);
	int rc = ctl_map_records(c, setups_path);
	if (rc) {
		ctl_close(c);
		return rc;
	}
	c->by_a = calloc(c->nby_a, sizeof(*c->by_a));
	c->pools = calloc(nshards, sizeof(*c->pools));
	c->timer_of = calloc(c->ncalls, sizeof(*c->timer_of));
	c->cdr_text = json_string("");
	if (!c->by_a || !c->pools || !c->timer_of || !c->cdr_text) {
		ctl_close(c);
		return -ENOMEM;
	}
	/* a node per record, 1 ms ticks: SIP's timers are multiples of T1 */
	rc = wheel_init(&c->timers, c->ncalls, 1, now_mono_ms);
	if (rc) {
		ctl_close(c);
		return rc;
	}
	/* records left by the last run are threaded by ctl_restore */
	for (uint32_t i = 0; i < c->ncalls && !c->restore_pending; i++)
		c->calls[i].next_by_a = i + 2 <= c->ncalls ? i + 2 : 0;
	c->free_head = c->ncalls && !c->restore_pending ? 1 : 0;
	for (unsigned s = 0; s < nshards; s++) {
		struct slot_pool *p = &c->pools[s];
		p->items = calloc(dialogs_per_shard, sizeof(*p->items));
		p->holder = calloc(dialogs_per_shard, sizeof(*p->holder));
		p->target_of = calloc(dialogs_per_shard, sizeof(*p->target_of));
		p->releases = calloc(dialogs_per_shard, sizeof(*p->releases));
		p->fork_of = calloc(dialogs_per_shard, sizeof(*p->fork_of));
		if (hooks->cdr)
			p->cdr = calloc(dialogs_per_shard, sizeof(*p->cdr));
		if (!p->items || !p->holder || !p->target_of || !p->releases || !p->fork_of ||
		    (hooks->cdr && !p->cdr)) {
			ctl_close(c);
			return -ENOMEM;
		}
		p->cap = dialogs_per_shard;
		/* hand out low slots first: they are the ones already touched */
		for (uint32_t i = 0; i < dialogs_per_shard; i++)
			p->items[i] = (uint64_t)(dialogs_per_shard - 1 - i) << 32 | 1;
		p->count = dialogs_per_shard;
	}
	ctl_map_targets(c);
	map_creds(c);
	c->key_seed = rng_seed((uint64_t)(uintptr_t)c);
	c->reg_ops = (struct reg_ops){reg_send, reg_rand, c};
	map_registrations(c);
	*out = c;
	return 0;
}

void ctl_end_open_cdrs(struct ctl *c)
{
	if (!c)
		return;
	for (unsigned s = 0; c->pools && s < c->nshards; s++) {
		struct slot_pool *p = &c->pools[s];
		for (uint32_t i = 0; p->cdr && i < p->cap; i++)
			if (p->cdr[i].line)
				ctl_cdr_close_open(c, &p->cdr[i], "daemon_stopped");
	}
	/* The calls still setting up reached the callee (leg B's INVITE went)
	 * and have no final. With the records in a file (persist_dialogs) the
	 * next process takes them up and writes each one's record when it
	 * ends: one written here too would make two. In memory nothing takes
	 * them up, and they got none: theirs is written now, once (the record
	 * forgets its CDR), with the disposition their end so far gives. */
	for (uint32_t i = 0; c->fd < 0 && c->calls && i < c->ncalls; i++) {
		struct ctl_call *k = &c->calls[i];
		if (k->state != CALL_CALLING && k->state != CALL_PROCEEDING)
			continue;
		ctl_cdr_stopped_in_setup(c, k,
					 unanswered_disposition(k, k->timed_out && !k->cancelled));
		k->cdr_len = 0;
	}
}

void ctl_close(struct ctl *c)
{
	if (!c)
		return;
	if (c->pools)
		for (unsigned s = 0; s < c->nshards; s++) {
			struct slot_pool *p = &c->pools[s];
			for (uint32_t i = 0; p->cdr && i < p->cap; i++)
				free(p->cdr[i].line); /* unwritten: ctl_close's comment */
			free(p->items);
			free(p->holder);
			free(p->fork_of);
			free(p->target_of);
			free(p->releases);
			free(p->cdr);
		}
	free(c->pools);
	/* a file's records stay for the next run: calls still setting up; the
	 * given-up ring too while an entry of it has time left */
	if (c->fd >= 0 && c->calls)
		ctl_release_free_records(c);
	if (c->fd >= 0 && c->gu && c->gu->until <= c->tick_now)
		mem_file_release(c->fd, CTL_FILE_HDR, CTL_RING_BYTES);
	mem_pool_free(c->map, c->map_len);
	if (c->fd >= 0)
		close(c->fd);
	free(c->by_a);
	free(c->timer_of);
	json_decref(c->cdr_text);
	wheel_destroy(&c->timers);
	free(c);
}
