/*
 * uac.c - the calling side of sipshard-load: sets up --calls calls at --rate,
 * drives in-dialog requests from --mix for --duration, then ends every call
 * with BYE, counting every outcome.
 *
 * Owns, per worker thread: its source sockets (one net_io each), the call
 * table (one slot per call, used once), the transaction table, the RFC 3261
 * client transaction timers over UDP (A/E retransmissions from T1 doubling,
 * non-INVITE capped at T2, B/F timeout at 64*T1, an INVITE that rang given
 * up after 181 s) and the per-phase pacing.
 * Does not own: message text (msg.c), counting layout (stats.c), the command
 * line and the output (main.c).
 *
 * Tokens we generate carry the slot they belong to, so that a datagram finds
 * its state in O(1):
 *   Call-ID  NNNNNNNN-TT-CCCCCCCC-GGGGGGGG@sipshard-load  (run nonce, thread,
 *            call, the call slot's incarnation: --requests-per-call reuses slots)
 *   From tag lTTCCCCCCCC
 *   branch   z9hG4bKlTTSSSSSSSSGGGGGGGG          (transaction slot, generation)
 *   ACK      z9hG4bKaTTCCCCCCCCQQQQQQQQGGGGGGGG  (call, CSeq, incarnation: ACK is no
 *            transaction, but its branch is unique over time, RFC 3261 8.1.1.7)
 *   ACK      z9hG4bKfTTFFFFFFFFNNNNNNNN          (of another fork's 2xx: its record, serial)
 * A call has at most one transaction in flight, so CSeq numbers reach the
 * peer in order and a re-INVITE never meets another INVITE (no 491 by design).
 * Everything is sent to --target (the next hop, as a trunk would); the route
 * set and the remote target shape the Request-URI and Route of in-dialog
 * requests as RFC 3261 12.2.1.1 says; the Contact of a re-INVITE's 2xx is
 * the remote target from then on (12.2.1.2: refresh_target).
 *
 * With --requests-per-call K the mix phase ends each call with BYE after K
 * in-dialog requests and sets up a new call in the same slot (a new Call-ID),
 * so that --calls stay established at once while calls come and go.
 *
 * A 2xx to a call's INVITE from another fork than the one the call took (a
 * forking proxy forwards every 2xx, RFC 3261 16.7 item 5) is a dialog of its
 * own (13.2.2.4): it is ACKed with its To tag to its Contact and ended with a
 * BYE in it, both built from a fork record (FORK_MAX a thread) that holds its
 * dialog while that BYE is out, then stays until reused so that a repeat of
 * that 2xx is ACKed again rather than ended twice. So too when the 2xx comes
 * after --requests-per-call gave the call's slot to a new call (its Call-ID
 * names an earlier incarnation: earlier_answer), where a repeat of the 2xx
 * the call took is known by what names its dialog, the Call-ID (slot and
 * incarnation) and the To tag, in the thread's memory of the dialogs its
 * calls took (taken_put, taken_has), and only ACKed again. A slot keeps the
 * remote target and route set of two incarnations, by their parity
 * (call_target, call_route), so that the dialog of the call before the
 * current one is at hand to ACK a 2xx to its re-INVITE that comes late.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/keyhash.h"

#include "load.h"
#include "msg.h"
#include "worker.h"

#define CALLID_LEN    43
#define CALLID_SUFFIX "@sipshard-load"
#define LTAG_LEN      11
#define BRANCH_LEN    26
#define RTAG_MAX      64
#define TARGET_MAX    192
#define ROUTE_MAX     512
#define NCLASSES      LOAD_RT_CLASSES
#define L_TIMEOUT     NCLASSES
/* An INVITE that got a provisional is no longer given up at Timer B (RFC 3261
 * 17.1.1.2: B runs in the Calling state only): it waits for its final as long
 * as a proxy's Timer C (16.6: more than 3 minutes) would let it ring. */
#define L_RINGING   (NCLASSES + 1)
#define RINGING_NS  (181 * 1000000000ull)
#define NLISTS	    (NCLASSES + 2)
#define START_BURST 512 /* call starts per loop pass, so receiving keeps up */
#define FORK_MAX    64	/* other forks' dialogs whose BYE is out at once, a thread */
#define INVITE_CSEQ 1	/* the CSeq of every call's dialog-creating INVITE */
/* The thread's memory of the dialogs its calls took (--requests-per-call;
 * taken_put): buckets of TAKEN_WAYS entries, at first TAKEN_PER_CALL entries
 * a call slot (a power of two of them, TAKEN_MIN at least), doubled when a
 * bucket is full of entries still needed, up to TAKEN_CAP entries (16 MiB);
 * each kept TAKEN_KEEP_T1 * T1 */
#define TAKEN_WAYS     8
#define TAKEN_PER_CALL 4
#define TAKEN_MIN      1024
#define TAKEN_CAP      (1u << 20)
/* 64*T1 from when the call's slot starts its next call: a callee resends a
 * 2xx for 64*T1 at most from when it first sent it (RFC 3261 13.3.1.4),
 * which was before the call took it and ended */
#define TAKEN_KEEP_T1 64

/* C_IDLE: not started, or (--requests-per-call) ended and waiting in the idle
 * ring to be set up again */
enum call_state { C_IDLE = 0, C_INVITING, C_UP, C_DONE, C_FAILED };
/* An INVITE that timed out, or that had a non-2xx final (a 503 from a proxy,
 * or one fork's rejection: a forking proxy forwards every 2xx even after a
 * final, RFC 3261 16.7 item 5), may still be answered: a 2xx to it is ACKed
 * (13.2.2.4) and the call it set up in the callee, which the run counted
 * failed, is ended with a BYE (calls.late_answers). */
enum call_late { LATE_NONE = 0, LATE_OPEN, LATE_BYE };
enum tx_state { TX_FREE = 0, TX_CALLING, TX_PROCEEDING };
enum phase { P_SETUP = 1, P_MIX, P_BYE, P_DONE };

struct uac_call {
	uint32_t cseq, invite_cseq, peer_cseq, sdp_ver;
	uint32_t gen;  /* incarnation of the slot, in the Call-ID */
	uint32_t reqs; /* in-dialog requests started in the mix phase */
	uint32_t tx;   /* transaction in flight, or TL_NIL */
	uint8_t state; /* enum call_state */
	uint8_t src;
	uint8_t rtag_len;
	bool has_peer_cseq, terminal;
	bool peer_bye; /* the peer's BYE (CSeq peer_cseq) ended this incarnation */
	uint8_t late;  /* enum call_late */
	/* the length of the remote target and route set of the dialog the
	 * slot's previous incarnation took (--requests-per-call), which stay in
	 * the slot's other half (call_target, call_route) */
	uint16_t prev_target_len, prev_route_len;
	/* the last other fork's 2xx to an INVITE in this slot that found no
	 * fork record free (dlg_key; 0: none), so that its BYE, which could
	 * not go, counts once (late_byes_no_slot), not once a copy */
	uint64_t noslot_fork;
	uint16_t target_len, route_len; /* of call_target, call_route */
	/* where the remote target starts in call_route when the first route is
	 * strict (save_dialog_in: it goes last in Route); 0: it is call_target */
	uint16_t remote_at;
	char rtag[RTAG_MAX];
};

struct uac_tx {
	uint64_t t0;	/* first send */
	uint64_t t_due; /* when it was due: t0, or earlier for a paced request sent late */
	uint32_t gen, call, cseq;
	uint16_t retrans;
	uint8_t method; /* enum load_method */
	uint8_t state;	/* enum tx_state */
	uint8_t klass;	/* current retransmission interval class */
	bool in_mix;
	/* its first send found no send buffer (tx_open keep): the retransmission
	 * timer sends it, counted sent then, and its Timer F runs from then */
	bool unsent;
	uint8_t fork; /* a fork's BYE: its record + 1 (0: a request of the call) */
};

/* The dialog of another fork's 2xx to a call's INVITE (fork_answer). */
struct uac_fork {
	uint32_t call, gen; /* the call slot and its incarnation (the Call-ID) */
	uint32_t seq;	    /* serial of this dialog in the thread: its ACK's branch */
	uint32_t cseq;	    /* its BYE's */
	uint32_t tx;	    /* its BYE in flight, or TL_NIL */
	uint32_t rec;	    /* its index in the thread's records; FORK_MAX: on the stack */
	bool used;
	bool peer_bye; /* the fork's callee ended its dialog with a BYE of its own */
	uint8_t rtag_len;
	uint16_t target_len, route_len;
	char rtag[RTAG_MAX];
	char target[TARGET_MAX];
	char route[ROUTE_MAX];
};

struct uac;

struct uac_src {
	struct uac *u;
	struct load_ep ep;
};

struct uac {
	struct load_ctx x; /* first: load_worker_run fills it in */
	struct uac_src src[LOAD_MAX_SOURCES];
	unsigned nsrc;

	struct uac_call *calls;
	/* two halves, one for the call slots' even incarnations and one for
	 * their odd ones (call_target, call_route): the Request-URI of
	 * in-dialog requests, 2 * ncalls * TARGET_MAX, and the route set, 2 *
	 * ncalls * ROUTE_MAX. Memory is touched only where used: the odd half
	 * by --requests-per-call, a route set by a dialog that has one */
	char *targets, *routes;
	/* the dialogs calls took whose 2xx may still come again (taken_put):
	 * taken_mask + 1 buckets of TAKEN_WAYS, touched only by
	 * --requests-per-call; taken_full: it may grow no more */
	struct uac_taken {
		uint64_t key;	/* taken_key; 0: free */
		uint64_t until; /* its 2xx can no longer come after then (ns) */
	} * taken;
	uint32_t taken_mask;
	bool taken_full;
	uint64_t taken_keep_ns;
	uint64_t ncalls;
	struct uac_tx *tx;
	uint32_t ntx, *tx_free, tx_nfree;
	struct tl_node *nodes;	/* 2 per transaction: retransmission, timeout */
	struct uac_fork *forks; /* FORK_MAX */
	uint32_t fork_next, fork_seq;
	struct tl_list lists[NLISTS];
	unsigned kcap; /* non-INVITE class cap: T1 << kcap <= T2 */

	uint32_t *idle; /* ring of established calls with nothing in flight */
	uint64_t idle_head, idle_count;
	/* --requests-per-call: slots whose call failed in the mix phase (a
	 * non-2xx final to its INVITE, a timeout, a 481 or 408), in the order
	 * they failed, each set up again (back in the idle ring) 4*T1 after,
	 * once a late 2xx to its INVITE had time to come (late_answer). Once
	 * such a slot was lost for the rest of the run, and every rejection
	 * took one call off the calls up. */
	uint32_t *retry;
	uint64_t *retry_at;
	uint64_t retry_head, retry_count;

	enum phase phase;
	uint64_t now, t_start, t_mix0, t_mix_end;
	uint64_t last_rx; /* when the last datagram arrived */
	/* the run does not end before: 4*T1 after the last non-2xx final to an
	 * INVITE, for a 2xx a forking proxy forwards after it (RFC 3261 16.7
	 * item 5) to be ACKed and ended, not left to its callee's Timer H */
	uint64_t linger_until;
	uint64_t started, terminal, up;
	uint64_t invites_out, out_win, out_all;
	uint64_t mix_issued;
	double rate_t, req_rate_t;
	uint64_t window_t;
	uint32_t mix_cum[LOAD_MAX_MIX], mix_total;
	uint8_t mix_method[LOAD_MAX_MIX];
	unsigned nmix;
	uint64_t rng;
	uint64_t idle_sleep_ns;

	char to_uri[160];
	size_t to_uri_len;
	char sdp_ip[64];
	size_t sdp_ip_len;
	bool ipv6;
	char nonce_hex[8];

	struct sip_msg msg;
};

/* ---- tokens --------------------------------------------------------------- */

static void make_callid(const struct uac *u, uint32_t call, uint32_t gen, char out[CALLID_LEN])
{
	memcpy(out, u->nonce_hex, 8);
	out[8] = '-';
	memcpy(out + 9, u->x.th_hex, 2);
	out[11] = '-';
	load_put_hex(out + 12, call, 8);
	out[20] = '-';
	load_put_hex(out + 21, gen, 8);
	memcpy(out + 29, CALLID_SUFFIX, sizeof(CALLID_SUFFIX) - 1);
}

/* The call a Call-ID of ours names; -2 when it names an earlier incarnation
 * of the call's slot, -1 when it is not ours. *slot, *gen: the call's slot
 * and the incarnation it names (when ours). */
static int64_t parse_callid(const struct uac *u, const char *p, size_t len, uint32_t *slot,
			    uint32_t *gen)
{
	uint64_t call, g;
	if (len != CALLID_LEN || memcmp(p, u->nonce_hex, 8) || p[8] != '-' ||
	    memcmp(p + 9, u->x.th_hex, 2) || p[11] != '-' || p[20] != '-' ||
	    memcmp(p + 29, CALLID_SUFFIX, sizeof(CALLID_SUFFIX) - 1) ||
	    !load_get_hex(p + 12, 8, &call) || call >= u->ncalls || !load_get_hex(p + 21, 8, &g))
		return -1;
	*slot = (uint32_t)call;
	*gen = (uint32_t)g;
	return g == u->calls[call].gen ? (int64_t)call : -2;
}

/* A To tag, hashed. */
static uint64_t tag_hash(const struct uac *u, const char *tag, size_t len)
{
	return keyhash_bytes(u->x.cfg->nonce, tag, len);
}

/* A dialog of incarnation gen of a call slot, by its remote (To) tag: the
 * incarnation's low 16 bits over 48 bits of the tag's hash; never 0 (0: no
 * dialog, in noslot_fork). */
static uint64_t dlg_key(const struct uac *u, uint32_t gen, const char *tag, size_t len)
{
	return (uint64_t)(gen & 0xffff) << 48 | tag_hash(u, tag, len) >> 16 | 1;
}

static void make_ltag(const struct uac *u, uint32_t call, char out[LTAG_LEN])
{
	out[0] = 'l';
	memcpy(out + 1, u->x.th_hex, 2);
	load_put_hex(out + 3, call, 8);
}

static void make_branch(const struct uac *u, char kind, uint32_t a, uint32_t b,
			char out[BRANCH_LEN])
{
	memcpy(out, "z9hG4bK", 7);
	out[7] = kind;
	memcpy(out + 8, u->x.th_hex, 2);
	load_put_hex(out + 10, a, 8);
	load_put_hex(out + 18, b, 8);
}

/* Transaction slot and generation from a branch of ours; false otherwise. */
static bool parse_branch(const struct uac *u, const char *p, size_t len, uint32_t *slot,
			 uint32_t *gen)
{
	uint64_t s, g;
	if (len != BRANCH_LEN || memcmp(p, "z9hG4bKl", 8) || memcmp(p + 8, u->x.th_hex, 2) ||
	    !load_get_hex(p + 10, 8, &s) || !load_get_hex(p + 18, 8, &g) || s >= u->ntx)
		return false;
	*slot = (uint32_t)s;
	*gen = (uint32_t)g;
	return true;
}

/* The remote target (Request-URI of in-dialog requests) and the route set of
 * incarnation gen of call slot ci: the slot holds two, the current call's
 * and the one's before it (--requests-per-call), so that a 2xx to that one's
 * re-INVITE is still ACKed in its dialog (earlier_answer). */
static char *call_target(const struct uac *u, uint32_t ci, uint32_t gen)
{
	return u->targets + ((gen & 1) * u->ncalls + ci) * TARGET_MAX;
}

static char *call_route(const struct uac *u, uint32_t ci, uint32_t gen)
{
	return u->routes + ((gen & 1) * u->ncalls + ci) * ROUTE_MAX;
}

/* What names the dialog incarnation gen of call slot ci took: its Call-ID
 * (the slot and the incarnation, with the run's nonce) and the callee's To
 * tag, hashed (never 0). Its CSeq is the INVITE's, INVITE_CSEQ, for every
 * call; a 2xx with another is a re-INVITE's in that dialog. */
static uint64_t taken_key(const struct uac *u, uint32_t ci, uint32_t gen, const char *tag,
			  size_t len)
{
	uint64_t h = keyhash_mix(u->x.cfg->nonce ^ keyhash_mix((uint64_t)ci << 32 | gen));
	h = keyhash_bytes(h, tag, len);
	return h ? h : 1;
}

static struct uac_taken *taken_bucket(const struct uac *u, uint64_t key)
{
	return &u->taken[(size_t)(key & u->taken_mask) * TAKEN_WAYS];
}

/* The entry of bucket b for key: its own, a free one, else the one whose
 * time is up first. */
static struct uac_taken *taken_slot(struct uac_taken *b, uint64_t key)
{
	struct uac_taken *at = &b[0];
	for (unsigned k = 0; k < TAKEN_WAYS; k++) {
		if (!b[k].key || b[k].key == key)
			return &b[k];
		if (b[k].until < at->until)
			at = &b[k];
	}
	return at;
}

/* The memory twice as large, its entries still needed moved in; false when
 * it is at TAKEN_CAP or no memory is left (it stays as it was). Rare: a
 * bucket full of entries still needed, log2(TAKEN_CAP / TAKEN_MIN) times a
 * run at most. */
static bool taken_grow(struct uac *u)
{
	size_t n = ((size_t)u->taken_mask + 1) * TAKEN_WAYS;
	struct uac_taken *old = u->taken, *t;
	if (u->taken_full || n * 2 > TAKEN_CAP || !(t = calloc(n * 2, sizeof(*t)))) {
		u->taken_full = true;
		return false;
	}
	u->taken = t;
	u->taken_mask = (uint32_t)(n * 2 / TAKEN_WAYS - 1);
	for (size_t i = 0; i < n; i++)
		if (old[i].key && old[i].until > u->now)
			*taken_slot(taken_bucket(u, old[i].key), old[i].key) = old[i];
	free(old);
	return true;
}

/* Remembers that incarnation gen of slot ci took the dialog of To tag `tag`
 * (call_restart, as the slot's next call starts), for a repeat of its 2xx
 * to be known as one (earlier_answer) however many calls the slot has had
 * since, for as long as it may come. Bounded: an entry whose time is up
 * gives its place; a bucket full of entries still needed makes the memory
 * grow, up to TAKEN_CAP; past that the oldest of the bucket is forgotten
 * before its time (repeats.dialogs_forgotten: a repeat of its 2xx would be
 * taken for another fork's). */
static void taken_put(struct uac *u, uint32_t ci, uint32_t gen, const char *tag, size_t len)
{
	uint64_t key = taken_key(u, ci, gen, tag, len);
	struct uac_taken *at = taken_slot(taken_bucket(u, key), key);
	if (at->key && at->key != key && at->until > u->now && taken_grow(u))
		at = taken_slot(taken_bucket(u, key), key);
	if (at->key && at->key != key && at->until > u->now)
		u->x.c->taken_forgotten++;
	at->key = key;
	at->until = u->now + u->taken_keep_ns;
}

/* Whether incarnation gen of slot ci took the dialog of To tag `tag`. */
static bool taken_has(const struct uac *u, uint32_t ci, uint32_t gen, const char *tag, size_t len)
{
	uint64_t key = taken_key(u, ci, gen, tag, len);
	const struct uac_taken *b = taken_bucket(u, key);
	for (unsigned k = 0; k < TAKEN_WAYS; k++)
		if (b[k].key == key)
			return true;
	return false;
}

/* ---- sending -------------------------------------------------------------- */

static void send_buf(struct uac *u, struct uac_src *s, char *buf, int len)
{
	if (len < 0) {
		net_tx_release(s->ep.io, buf);
		u->x.c->send_errors++;
		return;
	}
	if (net_tx_queue(s->ep.io, buf, (uint32_t)len, (const struct sockaddr *)&u->x.cfg->target,
			 u->x.cfg->target_len) != 0) {
		u->x.c->send_errors++;
		return;
	}
	s->ep.queued = true;
}

static void flush_all(struct uac *u)
{
	for (unsigned i = 0; i < u->nsrc; i++)
		load_ep_flush(&u->src[i].ep);
}

/* Fills the parts of a request common to every message of a call. */
static void req_base(struct uac *u, uint32_t ci, struct msg_req *r, char *callid, char *ltag)
{
	struct uac_call *c = &u->calls[ci];
	struct uac_src *s = &u->src[c->src];

	make_callid(u, ci, c->gen, callid);
	make_ltag(u, ci, ltag);
	memset(r, 0, sizeof(*r));
	r->local = (struct msg_str){s->ep.local, s->ep.local_len};
	r->call_id = (struct msg_str){callid, CALLID_LEN};
	r->from_user = (struct msg_str){u->x.cfg->from_user, strlen(u->x.cfg->from_user)};
	r->ltag = (struct msg_str){ltag, LTAG_LEN};
	r->to_uri = (struct msg_str){u->to_uri, u->to_uri_len};
	r->sdp_ip = (struct msg_str){u->sdp_ip, u->sdp_ip_len};
	r->ipv6 = u->ipv6;
	r->rtp_port = (uint16_t)(10000 + (ci % 20000) * 2);
	r->sdp_version = c->sdp_ver;
	r->rack_cseq = c->invite_cseq;
	if (c->rtag_len) { /* in a dialog: remote target, route set, To tag */
		r->rtag = (struct msg_str){c->rtag, c->rtag_len};
		r->ruri = (struct msg_str){call_target(u, ci, c->gen), c->target_len};
		if (c->route_len)
			r->route = (struct msg_str){call_route(u, ci, c->gen), c->route_len};
	} else {
		r->ruri = r->to_uri;
	}
}

/* Puts fork f's dialog in r in place of its call's: the Call-ID of the
 * call's incarnation it answered (the slot may hold a new one since), its To
 * tag, remote target and route set. */
static void fork_req(const struct uac *u, const struct uac_fork *f, struct msg_req *r, char *callid)
{
	make_callid(u, f->call, f->gen, callid);
	r->rtag = (struct msg_str){f->rtag, f->rtag_len};
	r->ruri = (struct msg_str){f->target, f->target_len};
	r->route = (struct msg_str){f->route, f->route_len};
}

/* Builds transaction t's request into a fresh buffer and queues it. The same
 * call state gives the same bytes: that is what makes it a retransmission. */
static bool send_tx(struct uac *u, uint32_t t)
{
	struct uac_tx *x = &u->tx[t];
	struct uac_call *c = &u->calls[x->call];
	struct uac_src *s = &u->src[c->src];
	char callid[CALLID_LEN], ltag[LTAG_LEN], branch[BRANCH_LEN];
	struct msg_req r;

	char *buf = net_tx_alloc(s->ep.io);
	if (!buf) {
		u->x.c->tx_pool_empty++;
		return false;
	}
	req_base(u, x->call, &r, callid, ltag);
	if (x->fork)
		fork_req(u, &u->forks[x->fork - 1], &r, callid);
	if (x->method == LM_INVITE) { /* the dialog-creating INVITE: no dialog yet */
		r.rtag.len = 0;
		r.route.len = 0;
		r.ruri = r.to_uri;
	}
	make_branch(u, 'l', t, x->gen, branch);
	r.branch = (struct msg_str){branch, BRANCH_LEN};
	r.method = (enum load_method)x->method;
	r.cseq = x->cseq;
	send_buf(u, s, buf, msg_request(&r, buf, LOAD_TX_SIZE));
	return true;
}

/* ACK for a final response to an INVITE with CSeq cseq: a new branch for a
 * 2xx (end to end, RFC 3261 13.2.2.4), the INVITE's branch otherwise (hop by
 * hop, 17.1.1.3). initial: the ACK belongs to the dialog-creating INVITE, so
 * its Request-URI and Route are the INVITE's. f: the 2xx is another fork's,
 * ACKed in that fork's dialog (13.2.2.4), on a branch of its own. */
static void send_ack(struct uac *u, uint32_t ci, uint32_t cseq, bool is2xx, bool initial,
		     uint32_t tslot, uint32_t tgen, const struct sip_msg *final,
		     const struct uac_fork *f)
{
	struct uac_call *c = &u->calls[ci];
	struct uac_src *s = &u->src[c->src];
	char callid[CALLID_LEN], ltag[LTAG_LEN], branch[BRANCH_LEN + 8];
	size_t branch_len = BRANCH_LEN;
	struct msg_req r;

	char *buf = net_tx_alloc(s->ep.io);
	if (!buf) {
		u->x.c->tx_pool_empty++;
		return;
	}
	req_base(u, ci, &r, callid, ltag);
	if (f)
		fork_req(u, f, &r, callid);
	if (initial && !is2xx) {
		r.ruri = r.to_uri;
		r.route.len = 0;
	}
	/* the ACK of a non-2xx carries that response's To (17.1.1.3): a repeat
	 * of a 503 after a late 2xx (whose tag the call now holds) too */
	if (!is2xx && final)
		r.rtag =
		    final->to.has_tag ? msg_view(final, final->to.tag) : (struct msg_str){NULL, 0};
	if (f)
		make_branch(u, 'f', f->rec, f->seq, branch);
	else if (is2xx) {
		/* every call in the slot (--requests-per-call) starts at the
		 * same CSeq: its incarnation makes the branch its own (8.1.1.7) */
		make_branch(u, 'a', ci, cseq, branch);
		load_put_hex(branch + BRANCH_LEN, c->gen, 8);
		branch_len += 8;
	} else
		make_branch(u, 'l', tslot, tgen, branch);
	r.branch = (struct msg_str){branch, branch_len};
	r.method = LM_ACK;
	r.cseq = cseq;
	send_buf(u, s, buf, msg_request(&r, buf, LOAD_TX_SIZE));
}

/* ---- calls and transactions ------------------------------------------------ */

static void idle_push(struct uac *u, uint32_t ci)
{
	u->idle[(u->idle_head + u->idle_count) % u->ncalls] = ci;
	u->idle_count++;
}

static uint32_t idle_pop(struct uac *u)
{
	uint32_t ci = u->idle[u->idle_head];
	u->idle_head = (u->idle_head + 1) % u->ncalls;
	u->idle_count--;
	return ci;
}

/* Call ci failed (C_FAILED, set_terminal): with --requests-per-call in the
 * mix phase its slot is set up again later (struct uac, retry). */
static void call_failed(struct uac *u, uint32_t ci)
{
	if (!u->x.cfg->requests_per_call || u->phase != P_MIX || u->retry_count >= u->ncalls)
		return;
	uint64_t at = (u->retry_head + u->retry_count) % u->ncalls;
	u->retry[at] = ci;
	u->retry_at[at] = u->now + 4 * (uint64_t)u->x.cfg->t1_ms * 1000000;
	u->retry_count++;
}

/* The failed slots whose time came join the idle ring, to be set up again
 * (C_IDLE: call_restart); returns when the next one is due, or next. */
static uint64_t retry_due(struct uac *u, uint64_t next)
{
	while (u->retry_count) {
		uint64_t at = u->retry_at[u->retry_head];
		if (at > u->now)
			return at < next ? at : next;
		uint32_t ci = u->retry[u->retry_head];
		u->retry_head = (u->retry_head + 1) % u->ncalls;
		u->retry_count--;
		struct uac_call *c = &u->calls[ci];
		if (c->state != C_FAILED)
			continue;
		if (c->tx != TL_NIL) { /* a late answer's BYE in flight: later */
			call_failed(u, ci);
			continue;
		}
		c->state = C_IDLE;
		idle_push(u, ci);
	}
	return next;
}

static void set_terminal(struct uac *u, struct uac_call *c, enum call_state s)
{
	if (c->state == C_UP)
		u->up--;
	c->state = (uint8_t)s;
	if (!c->terminal) {
		c->terminal = true;
		u->terminal++;
	}
}

/* Takes a transaction slot for a request m of call ci and sends it. f: the
 * BYE of fork f's dialog (fork_answer), beside its call's transaction (which
 * may be in flight), in no window. A first send that finds no send buffer
 * undoes it all (TL_NIL: drive() tries again on a later pass), unless keep:
 * then the transaction stays, unsent, and its retransmission timer sends it
 * (fire_timers), counted sent when it goes. keep is for what nothing would
 * try again: a late answer's BYE and a fork's, whose dialog the callee holds,
 * ACKed, until a BYE comes. TL_NIL too when no slot is free. */
static uint32_t tx_open(struct uac *u, uint32_t ci, enum load_method m, struct uac_fork *f,
			bool keep)
{
	if (!u->tx_nfree)
		return TL_NIL;
	uint32_t t = u->tx_free[--u->tx_nfree];
	struct uac_tx *x = &u->tx[t];
	struct uac_call *c = &u->calls[ci];

	x->gen++;
	x->call = ci;
	x->method = (uint8_t)m;
	x->state = TX_CALLING;
	x->klass = 0;
	x->retrans = 0;
	x->fork = f ? (uint8_t)(f->rec + 1) : 0;
	x->in_mix = !f && u->phase == P_MIX && m != LM_INVITE;
	if (f) {
		x->cseq = f->cseq;
	} else if (m == LM_INVITE) {
		x->cseq = c->invite_cseq = c->cseq;
	} else {
		x->cseq = ++c->cseq;
		if (m == LM_REINVITE || m == LM_UPDATE)
			c->sdp_ver++;
	}
	x->t0 = x->t_due = u->now;
	x->unsent = !send_tx(u, t);
	if (x->unsent && !keep) {
		/* no send buffer: undo, try again on a later pass */
		if (!f && m != LM_INVITE) {
			c->cseq--;
			if (m == LM_REINVITE || m == LM_UPDATE)
				c->sdp_ver--;
		}
		x->state = TX_FREE;
		u->tx_free[u->tx_nfree++] = t;
		return TL_NIL;
	}
	tl_arm(u->lists, u->nodes, 0, 2 * t, u->now);
	tl_arm(u->lists, u->nodes, L_TIMEOUT, 2 * t + 1, u->now);
	if (!x->unsent)
		u->x.c->m[m].sent++;
	u->out_all++;
	if (f) {
		f->tx = t;
		return t;
	}
	c->tx = t;
	if (m == LM_INVITE)
		u->invites_out++;
	else
		u->out_win++;
	return t;
}

static uint32_t tx_start(struct uac *u, uint32_t ci, enum load_method m)
{
	return tx_open(u, ci, m, NULL, false);
}

static void tx_free(struct uac *u, uint32_t t)
{
	struct uac_tx *x = &u->tx[t];
	tl_cancel(u->lists, u->nodes, 2 * t);
	tl_cancel(u->lists, u->nodes, 2 * t + 1);
	x->state = TX_FREE; /* gen stays, so a repeat of the final response is known */
	u->tx_free[u->tx_nfree++] = t;
	u->out_all--;
	if (x->fork) { /* a fork's BYE: no request of its call, out of the window */
		u->forks[x->fork - 1].tx = TL_NIL;
		return;
	}
	u->calls[x->call].tx = TL_NIL;
	if (x->method == LM_INVITE)
		u->invites_out--;
	else
		u->out_win--;
}

/* After an in-dialog transaction: back in the rotation unless the call ended. */
static void call_idle(struct uac *u, uint32_t ci)
{
	if (u->calls[ci].state == C_UP)
		idle_push(u, ci);
}

/* After the BYE: the call is done, or with --requests-per-call in the mix
 * phase its slot waits in the idle ring to be set up again. */
static void call_over(struct uac *u, uint32_t ci)
{
	struct uac_call *c = &u->calls[ci];
	if (!u->x.cfg->requests_per_call || u->phase != P_MIX) {
		set_terminal(u, c, C_DONE);
		return;
	}
	if (c->state == C_UP)
		u->up--;
	c->state = C_IDLE;
	idle_push(u, ci);
}

/* A slot of an ended call starts its next incarnation: a new INVITE. */
static bool call_restart(struct uac *u, uint32_t ci)
{
	struct uac_call *c = &u->calls[ci];
	if (c->terminal) { /* its last call ended by the peer's BYE mid-transaction */
		c->terminal = false;
		u->terminal--;
	}
	if (c->rtag_len) { /* else a retry of this restart: it is in already */
		taken_put(u, ci, c->gen, c->rtag, c->rtag_len);
		c->prev_target_len = c->target_len;
		c->prev_route_len = c->route_len;
	}
	c->gen++;
	c->cseq = INVITE_CSEQ;
	c->sdp_ver = 1;
	c->reqs = 0;
	c->rtag_len = 0;
	c->route_len = 0;
	c->target_len = 0;
	c->has_peer_cseq = false;
	c->peer_bye = false;
	c->late = LATE_NONE;
	c->state = C_INVITING;
	if (tx_start(u, ci, LM_INVITE) == TL_NIL) {
		c->gen--;
		c->state = C_IDLE;
		return false;
	}
	u->x.c->calls_attempted++;
	return true;
}

static bool copy_str(char *dst, size_t cap, const char *src, size_t len)
{
	if (len > cap)
		return false;
	memcpy(dst, src, len);
	return true;
}

/* Where save_dialog puts a dialog: a call's, or a fork's. */
struct dlg_store {
	char *rtag, *target, *route; /* RTAG_MAX, TARGET_MAX, ROUTE_MAX */
	uint8_t *rtag_len;
	uint16_t *target_len, *route_len;
	uint16_t *remote_at; /* a call's (uac_call), or NULL */
};

/* Remembers the dialog a 2xx to the INVITE established: the remote tag, the
 * remote target (Contact) and the route set (Record-Route, reversed). With a
 * strict first route (no ;lr) the Request-URI is that route and the remote
 * target goes last in Route (RFC 3261 12.2.1.1). False when something does not
 * fit our fixed storage. */
static bool save_dialog_in(const struct uac *u, const struct dlg_store *d, const struct sip_msg *m)
{
	const char *b = m->buf;

	if (!m->to.has_tag || !m->to.tag.len ||
	    !copy_str(d->rtag, RTAG_MAX, b + m->to.tag.off, m->to.tag.len))
		return false;
	*d->rtag_len = (uint8_t)m->to.tag.len;
	struct msg_str target = m->ncontacts ? msg_view(m, m->contacts[0].uri.whole)
					     : (struct msg_str){u->to_uri, u->to_uri_len};
	*d->route_len = 0;
	if (d->remote_at)
		*d->remote_at = 0;
	if (!m->nrecord_routes) {
		if (!copy_str(d->target, TARGET_MAX, target.p, target.len))
			return false;
		*d->target_len = (uint16_t)target.len;
		return true;
	}
	char *route = d->route;
	struct wbuf w = {route, 0, ROUTE_MAX, false};
	int last = m->nrecord_routes - 1;
	const struct sip_addr *first = &m->record_routes[last];
	bool strict = !first->uri.lr;
	int from = last;
	if (strict) { /* the first route becomes the Request-URI */
		struct msg_str r = msg_view(m, first->uri.whole);
		if (!copy_str(d->target, TARGET_MAX, r.p, r.len))
			return false;
		*d->target_len = (uint16_t)r.len;
		from = last - 1;
	} else {
		if (!copy_str(d->target, TARGET_MAX, target.p, target.len))
			return false;
		*d->target_len = (uint16_t)target.len;
	}
	bool any = false;
	for (int i = from; i >= 0; i--) {
		wbuf_puts(&w, any ? ", " : "Route: ");
		struct msg_str v = msg_view(m, m->record_routes[i].whole);
		wbuf_put(&w, v.p, v.len);
		any = true;
	}
	if (strict) {
		wbuf_puts(&w, any ? ", <" : "Route: <");
		if (d->remote_at)
			*d->remote_at = (uint16_t)w.len;
		wbuf_put(&w, target.p, target.len);
		wbuf_puts(&w, ">");
		any = true;
	}
	if (any)
		wbuf_puts(&w, "\r\n");
	if (w.overflow)
		return false;
	*d->route_len = (uint16_t)w.len;
	return true;
}

static bool save_dialog(struct uac *u, uint32_t ci, const struct sip_msg *m)
{
	struct uac_call *c = &u->calls[ci];
	struct dlg_store d = {c->rtag,
			      call_target(u, ci, c->gen),
			      call_route(u, ci, c->gen),
			      &c->rtag_len,
			      &c->target_len,
			      &c->route_len,
			      &c->remote_at};
	return save_dialog_in(u, &d, m);
}

/* A 2xx to call ci's re-INVITE, a target refresh request: its Contact
 * replaces the dialog's remote target, the route set stays (RFC 3261
 * 12.2.1.2), so that the ACK and the requests after it go to where the
 * callee now is. One that does not fit our storage leaves the target as it
 * was. */
static void refresh_target(struct uac *u, uint32_t ci, const struct sip_msg *m)
{
	struct uac_call *c = &u->calls[ci];
	if (!m->ncontacts || !c->rtag_len)
		return;
	struct msg_str t = msg_view(m, m->contacts[0].uri.whole);
	if (!c->remote_at) {
		if (copy_str(call_target(u, ci, c->gen), TARGET_MAX, t.p, t.len))
			c->target_len = (uint16_t)t.len;
		return;
	}
	/* a strict first route: the remote target is Route's last entry */
	char *route = call_route(u, ci, c->gen);
	if ((size_t)c->remote_at + t.len + 3 > ROUTE_MAX)
		return;
	memcpy(route + c->remote_at, t.p, t.len);
	memcpy(route + c->remote_at + t.len, ">\r\n", 3);
	c->route_len = (uint16_t)(c->remote_at + t.len + 3);
}

/* A final response to an active transaction. */
static void tx_final(struct uac *u, uint32_t t, int status, const struct sip_msg *m)
{
	struct uac_tx *x = &u->tx[t];
	uint32_t ci = x->call, gen = x->gen, cseq = x->cseq;
	struct uac_call *c = &u->calls[ci];
	enum load_method meth = (enum load_method)x->method;
	uint64_t lat = u->now - x->t0;

	load_hist_record(&u->x.st->lat[meth], lat);
	if (x->fork) { /* a fork's BYE (fork_answer): nothing of its call's */
		u->x.c->m[meth].completed++;
		tx_free(u, t);
		return;
	}
	if (x->in_mix) {
		load_hist_record(&u->x.st->lat_mix, lat);
		load_hist_record(&u->x.st->lat_mix_sched, u->now - x->t_due);
	}
	bool in_window = u->phase == P_MIX && u->now <= u->t_mix_end && c->late != LATE_BYE;
	if (in_window && meth != LM_INVITE)
		u->x.c->mix_completed++;
	else if (in_window)
		u->x.c->mix_setups_completed++;
	u->x.c->m[meth].completed++;
	tx_free(u, t);

	bool ok = status < 300;
	switch (meth) {
	case LM_INVITE:
		if (ok && (u->x.cfg->echo || save_dialog(u, ci, m))) {
			send_ack(u, ci, cseq, true, true, t, gen, m, NULL);
			u->x.c->acks_sent++;
			u->x.c->calls_established++;
			c->state = C_UP;
			u->up++;
			idle_push(u, ci);
		} else if (ok) {
			/* a 2xx we cannot hold a dialog for: count it, do not ACK */
			u->x.c->mismatched++;
			u->x.c->calls_failed++;
			set_terminal(u, c, C_FAILED);
		} else {
			/* hop-by-hop ACK carries the response's To tag */
			if (m->to.has_tag &&
			    copy_str(c->rtag, RTAG_MAX, m->buf + m->to.tag.off, m->to.tag.len))
				c->rtag_len = (uint8_t)m->to.tag.len;
			send_ack(u, ci, cseq, false, true, t, gen, m, NULL);
			u->x.c->acks_sent++;
			if (status / 100 == 4 || status / 100 == 6)
				u->x.c->calls_rejected++;
			else
				u->x.c->calls_failed++;
			c->late = LATE_OPEN; /* a 2xx may still follow (16.7 item 5) */
			u->linger_until = u->now + 4 * (uint64_t)u->x.cfg->t1_ms * 1000000;
			set_terminal(u, c, C_FAILED);
			call_failed(u, ci);
		}
		break;
	case LM_REINVITE:
		if (!u->x.cfg->echo) {
			if (ok)
				refresh_target(u, ci, m);
			send_ack(u, ci, cseq, ok, false, t, gen, m, NULL);
			u->x.c->acks_sent++;
		}
		goto in_dialog;
	case LM_BYE:
		if (c->late == LATE_BYE) /* a late answer's: the call stays failed */
			break;
		if (ok)
			u->x.c->calls_ended++;
		if (ok && in_window)
			u->x.c->mix_calls_completed++;
		call_over(u, ci);
		break;
	default:
	in_dialog:
		if (c->state == C_DONE) {
			/* ended by the peer's BYE while this request was out: not
			 * lost; with --requests-per-call its slot is set up again */
			call_over(u, ci);
		} else if (status == 481 || status == 408) {
			u->x.c->calls_lost++;
			set_terminal(u, c, C_FAILED);
			call_failed(u, ci);
		} else {
			call_idle(u, ci);
		}
		break;
	}
}

static void tx_timeout(struct uac *u, uint32_t t)
{
	struct uac_tx *x = &u->tx[t];
	uint32_t ci = x->call;
	enum load_method meth = (enum load_method)x->method;

	if (x->unsent) /* a late answer's or fork's BYE no send buffer took out */
		u->x.c->late_byes_no_buffer++;
	else
		u->x.c->m[meth].timeouts++;
	bool fork = x->fork;
	tx_free(u, t);
	if (fork)
		return;
	if (meth == LM_INVITE) {
		u->x.c->setup_timeouts++;
		u->x.c->calls_failed++;
		u->calls[ci].late = LATE_OPEN;
		set_terminal(u, &u->calls[ci], C_FAILED);
		call_failed(u, ci);
	} else if (meth == LM_BYE) {
		if (u->calls[ci].late != LATE_BYE)
			call_over(u, ci);
	} else if (u->calls[ci].state == C_DONE) {
		/* ended by the peer's BYE while this request was out */
		call_over(u, ci);
	} else {
		/* no response at all ends the dialog as a 408 or 481 does
		 * (RFC 3261 12.2.1.2): the call is lost, as in tx_final */
		u->x.c->calls_lost++;
		set_terminal(u, &u->calls[ci], C_FAILED);
		call_failed(u, ci);
	}
}

static void fire_timers(struct uac *u)
{
	uint32_t id;

	while ((id = tl_due(u->lists, u->nodes, L_TIMEOUT, u->now)) != TL_NIL)
		tx_timeout(u, id / 2);
	while ((id = tl_due(u->lists, u->nodes, L_RINGING, u->now)) != TL_NIL)
		tx_timeout(u, id / 2);
	for (int k = 0; k < NCLASSES; k++) {
		while ((id = tl_due(u->lists, u->nodes, k, u->now)) != TL_NIL) {
			uint32_t t = id / 2;
			struct uac_tx *x = &u->tx[t];
			if (x->unsent) {
				/* its first send, which found no send buffer: sent
				 * and counted now, its Timer F from now; else again
				 * at the next T1, until its Timer F (tx_timeout) */
				if (send_tx(u, t)) {
					x->unsent = false;
					x->t0 = x->t_due = u->now;
					u->x.c->m[x->method].sent++;
					tl_arm(u->lists, u->nodes, L_TIMEOUT, 2 * t + 1, u->now);
				}
				tl_arm(u->lists, u->nodes, 0, id, u->now);
				continue;
			}
			x->retrans++;
			u->x.c->m[x->method].retrans++;
			send_tx(u, t); /* a missing buffer is like a lost datagram */
			unsigned next;
			if (x->method == LM_INVITE || x->method == LM_REINVITE)
				next = (unsigned)k + 1 < NCLASSES ? (unsigned)k + 1 : NCLASSES - 1;
			else if (x->state == TX_PROCEEDING)
				next = u->kcap; /* 17.1.2.2: T2 once a provisional came */
			else
				next = (unsigned)k + 1 < u->kcap ? (unsigned)k + 1 : u->kcap;
			x->klass = (uint8_t)next;
			tl_arm(u->lists, u->nodes, (int)next, id, u->now);
		}
	}
}

/* ---- receiving -------------------------------------------------------------- */

/* A 2xx to call ci's INVITE after that INVITE timed out (a callee or proxy
 * slower than 64*T1, or its 2xx retransmitted past our Timer B), or after
 * its non-2xx final (an overloaded proxy's 503 to a retransmission while the
 * first copy reached the callee; a forking proxy forwards every 2xx, even
 * after it forwarded a final: RFC 3261 16.7 item 5). The callee
 * holds a dialog and retransmits its 2xx until an ACK comes (13.3.1.4), so it
 * is ACKed as any 2xx (13.2.2.4), and the call, counted failed at the
 * timeout, is ended with a BYE at once (13.2.2.4: a UAC that does not want
 * the session sends BYE after the ACK). It counts as a late answer, not as
 * an established call, and its BYE's final not as a call ended. Before, the
 * 2xx was taken for a repeat and left unACKed: the callee gave up on it at
 * 64*T1, and an SBC in between kept the dialog until then (after a non-2xx
 * final too, until this was extended to it). */
static void late_answer(struct uac *u, uint32_t ci, const struct sip_msg *m)
{
	struct uac_call *c = &u->calls[ci];
	if (!save_dialog(u, ci, m)) {
		/* as a first 2xx we cannot hold a dialog for: not ACKed */
		c->rtag_len = 0;
		c->route_len = 0;
		c->target_len = 0;
		u->x.c->mismatched++;
		return;
	}
	c->late = LATE_BYE;
	u->x.c->calls_late_answers++;
	send_ack(u, ci, c->invite_cseq, true, true, 0, 0, m, NULL);
	u->x.c->acks_sent++;
	/* kept when no send buffer is free: it goes at T1 (fire_timers), or
	 * counts late_byes_no_buffer at its Timer F. A slot is always free:
	 * the call has no transaction in flight */
	uint32_t t = tx_open(u, ci, LM_BYE, NULL, true);
	if (t != TL_NIL)
		u->tx[t].in_mix = false; /* no request of the mix */
	else
		u->x.c->late_byes_no_slot++;
}

/* The record of call ci's (incarnation gen) fork whose dialog has the remote
 * tag `tag` (the To tag of its 2xx); NULL when none is. */
static struct uac_fork *fork_find(struct uac *u, uint32_t ci, uint32_t gen, struct msg_str tag)
{
	for (uint32_t i = 0; i < FORK_MAX; i++) {
		struct uac_fork *f = &u->forks[i];
		if (f->used && f->call == ci && f->gen == gen && f->rtag_len == tag.len &&
		    !memcmp(f->rtag, tag.p, tag.len))
			return f;
	}
	return NULL;
}

/* A record for a new fork's dialog: the next in turn whose BYE is not out
 * (an ended fork's is reused, the oldest first); NULL when every one has its
 * BYE out. */
static struct uac_fork *fork_take(struct uac *u)
{
	for (uint32_t k = 0; k < FORK_MAX; k++) {
		uint32_t i = (u->fork_next + k) % FORK_MAX;
		if (u->forks[i].tx == TL_NIL) {
			u->fork_next = (i + 1) % FORK_MAX;
			return &u->forks[i];
		}
	}
	return NULL;
}

/* A 2xx to call ci's INVITE with another To tag than the dialog the call
 * took: another fork's answer (a forking proxy forwards every 2xx, RFC 3261
 * 16.7 item 5), a dialog of its own. It is ACKed in that dialog (13.2.2.4:
 * its To tag, to its Contact, by its route set) and ended with a BYE in it,
 * counted as a late answer (calls.late_answers): the call goes on in the
 * dialog it took. Before, it was ACKed with the call's To tag and
 * Request-URI: the other fork never had its ACK, resent its 2xx until 64*T1
 * and held the dialog until then (and an SBC in between with it). A repeat
 * of it (our ACK lost, or crossing it) is ACKed again from its record. gen:
 * the incarnation of the call's slot the 2xx answers (on_pkt: the slot may
 * hold a new call since). One that comes while every record's BYE is out is
 * ACKed all the same and its BYE, which cannot go, is an error
 * (late_byes_no_slot), counted once for that fork: the slot remembers it
 * (noslot_fork), and a repeat of it is ACKed again and counted a duplicate
 * (before, each copy counted a late answer and late_byes_no_slot again); a
 * repeat that finds a record free takes it and its BYE goes after all, the
 * error withdrawn. One whose dialog does not fit our storage is counted
 * mismatched and not ACKed, as a first 2xx we cannot hold a dialog for. */
static void fork_answer(struct uac *u, uint32_t ci, uint32_t gen, const struct sip_msg *m)
{
	struct uac_fork *f = fork_find(u, ci, gen, msg_view(m, m->to.tag));
	if (f) {
		u->x.c->duplicate_responses++;
		send_ack(u, ci, m->cseq.num, true, true, 0, 0, m, f);
		u->x.c->reacks_sent++;
		return;
	}
	struct uac_call *c = &u->calls[ci];
	uint64_t key = dlg_key(u, gen, m->buf + m->to.tag.off, m->to.tag.len);
	bool again = key == c->noslot_fork; /* its BYE counted as one that cannot go */
	/* every record's BYE out: the 2xx is ACKed all the same from one on
	 * the stack (13.2.2.4), and its BYE counted as one that cannot go */
	struct uac_fork spare;
	f = fork_take(u);
	bool kept = f != NULL;
	if (!kept) {
		f = &spare;
		f->rec = FORK_MAX;
		f->tx = TL_NIL;
	}
	struct dlg_store d = {f->rtag,	      f->target,     f->route, &f->rtag_len,
			      &f->target_len, &f->route_len, NULL};
	f->used = false; /* until its dialog is in */
	if (!save_dialog_in(u, &d, m)) {
		u->x.c->mismatched++;
		return;
	}
	f->used = kept;
	f->peer_bye = false;
	f->call = ci;
	f->gen = gen;
	f->seq = ++u->fork_seq;
	f->cseq = m->cseq.num + 1; /* above the INVITE's, the dialog's only one */
	if (again)
		u->x.c->duplicate_responses++;
	else
		u->x.c->calls_late_answers++;
	send_ack(u, ci, m->cseq.num, true, true, 0, 0, m, f);
	if (again)
		u->x.c->reacks_sent++;
	else
		u->x.c->acks_sent++;
	/* kept when no send buffer is free: it goes at T1, or counts
	 * late_byes_no_buffer at its Timer F. A slot is always free: ntx counts
	 * one a record */
	if (kept && tx_open(u, ci, LM_BYE, f, true) != TL_NIL) {
		if (again) { /* its BYE goes after all: no longer one that could not */
			u->x.c->late_byes_no_slot--;
			c->noslot_fork = 0;
		}
	} else if (!again) {
		u->x.c->late_byes_no_slot++;
		c->noslot_fork = key;
	}
}

/* A 2xx to an INVITE of an earlier call in slot ci (incarnation gen), which
 * --requests-per-call has since ended and replaced (on_pkt: its Call-ID names
 * an earlier incarnation). A 2xx is always ACKed (RFC 3261 13.2.2.4), and the
 * dialog ended when unwanted. One in the dialog that call took (its Call-ID
 * and To tag in the thread's memory of the dialogs taken, taken_has, however
 * many calls the slot has had since) is a repeat of that call's 2xx or of the 2xx to one of its
 * re-INVITEs (our ACK was lost and the callee resends it; or the re-INVITE
 * had timed out): it is ACKed again in that dialog, which our BYE ended, and
 * counted a late response. For the call before the current one the ACK goes
 * by the remote target and route set the slot keeps for it (a re-INVITE's
 * 2xx need not carry the Record-Route: the route set is fixed, 12.2.1.2);
 * for one further back it is built from the 2xx itself (its Contact, its own
 * Record-Route). Any other 2xx to a call's INVITE (a second fork's, that a
 * forking proxy forwarded late; or a repeat of one; or a repeat of the 2xx
 * of a call that memory had to forget, calls.taken_forgotten) is a dialog of its own, ACKed and
 * ended with a BYE as fork_answer does for the slot's current call. Any
 * other 2xx to a re-INVITE (no fork has one) is ACKed from itself, counted a
 * late response as well. Before, such a 2xx was counted a late response and
 * left unACKed (a re-INVITE's until this was extended to it): the callee
 * resent it until 64*T1 and held a call nobody was on (an SBC in between
 * with it), or, a re-INVITE's, ended its dialog with a BYE then (13.3.1.4);
 * and only the call just before the current one was known, then only the
 * slot's last 16, so that the repeat of an earlier call's 2xx was taken for
 * a fork's and ended with a second BYE, whose 481 counted an error. */
static void earlier_answer(struct uac *u, uint32_t ci, uint32_t gen, const struct sip_msg *m)
{
	const struct uac_call *c = &u->calls[ci];
	if (!m->to.has_tag || !m->to.tag.len) {
		u->x.c->mismatched++; /* a 2xx with no dialog to ACK in */
		return;
	}
	/* gen < c->gen: a Call-ID of a later one (made up) names no call */
	bool taken = gen < c->gen && taken_has(u, ci, gen, m->buf + m->to.tag.off, m->to.tag.len);
	bool prev = taken && gen + 1 == c->gen;
	if (!taken && m->cseq.num == INVITE_CSEQ) {
		fork_answer(u, ci, gen, m);
		return;
	}
	struct uac_fork d1;
	struct dlg_store d = {d1.rtag,	      d1.target,     d1.route, &d1.rtag_len,
			      &d1.target_len, &d1.route_len, NULL};
	u->x.c->late_responses++;
	if (prev && c->prev_target_len &&
	    copy_str(d1.rtag, RTAG_MAX, m->buf + m->to.tag.off, m->to.tag.len)) {
		d1.rtag_len = (uint8_t)m->to.tag.len;
		d1.target_len = c->prev_target_len;
		d1.route_len = c->prev_route_len;
		memcpy(d1.target, call_target(u, ci, gen), d1.target_len);
		memcpy(d1.route, call_route(u, ci, gen), d1.route_len);
	} else if (!save_dialog_in(u, &d, m)) {
		return; /* no dialog of ours fits it */
	}
	d1.rec = FORK_MAX;
	d1.call = ci;
	d1.gen = gen;
	d1.seq = ++u->fork_seq;
	send_ack(u, ci, m->cseq.num, true, true, 0, 0, m, &d1);
	u->x.c->reacks_sent++;
}

static void respond(struct uac *u, struct uac_src *s, const struct sip_msg *m, int status, bool sdp,
		    const struct net_pkt *p)
{
	if (!sip_can_respond(m))
		return;
	char *buf = net_tx_alloc(s->ep.io);
	if (!buf) {
		u->x.c->tx_pool_empty++;
		return;
	}
	char contact[128];
	struct wbuf cw = {contact, 0, sizeof(contact), false};
	wbuf_puts(&cw, "Contact: <sip:");
	wbuf_puts(&cw, u->x.cfg->from_user);
	wbuf_puts(&cw, "@");
	wbuf_put(&cw, s->ep.local, s->ep.local_len);
	wbuf_puts(&cw, ">\r\n");
	struct msg_resp r = {.status = status, .extra = {contact, cw.overflow ? 0 : cw.len}};
	if (sdp) {
		r.sdp_ip = (struct msg_str){u->sdp_ip, u->sdp_ip_len};
		r.ipv6 = u->ipv6;
		r.sdp_version = 1;
		r.rtp_port = 10000;
	}
	int n = msg_response(m, &r, buf, LOAD_TX_SIZE);
	if (n < 0) {
		net_tx_release(s->ep.io, buf);
		u->x.c->send_errors++;
		return;
	}
	if (net_tx_queue(s->ep.io, buf, (uint32_t)n, p->peer, p->peer_len) == 0) {
		s->ep.queued = true;
		u->x.c->responses_sent++;
	} else {
		u->x.c->send_errors++;
	}
}

/* A request from the far end: NOTIFY after our REFER, a BYE, a re-INVITE... */
static void on_request(struct uac *u, struct uac_src *s, const struct sip_msg *m,
		       const struct net_pkt *p)
{
	if (m->method_id == SIP_METHOD_ACK)
		return; /* for a 2xx we sent to a peer's INVITE: nothing to do */
	uint32_t cslot, cgen;
	int64_t ci = parse_callid(u, m->buf + m->call_id.off, m->call_id.len, &cslot, &cgen);
	char ltag[LTAG_LEN];
	struct uac_call *c = ci >= 0 ? &u->calls[ci] : NULL;
	/* A repeat of the BYE with which the peer ended a call of ours: our 200
	 * was lost, and its UAC resends the BYE until it has one (RFC 3261
	 * 17.1.2.2). A server transaction answers a retransmission with the same
	 * final (17.2.2), so it gets 200 again and counts as a retransmission, not
	 * as a request for no call (481, an error of the run). With
	 * --requests-per-call the slot may hold a new call by then: the Call-ID of
	 * an earlier incarnation (-2) can name only a call that is over. */
	if (m->method_id == SIP_METHOD_BYE &&
	    (ci == -2 || (c && c->peer_bye && m->cseq.num == c->peer_cseq))) {
		u->x.c->peer_retrans++;
		respond(u, s, m, 200, false, p);
		return;
	}
	if (c)
		make_ltag(u, (uint32_t)ci, ltag);
	bool to_us = c && m->to.has_tag && m->to.tag.len == LTAG_LEN &&
		     !memcmp(m->buf + m->to.tag.off, ltag, LTAG_LEN);
	struct msg_str from_tag =
	    m->from.has_tag ? msg_view(m, m->from.tag) : (struct msg_str){"", 0};
	/* A request matches a dialog by Call-ID and both tags (RFC 3261 12.2.2):
	 * one from another fork's callee (its From tag a fork record's) is in
	 * that fork's dialog, not in the call's. Its BYE, crossing ours, gets 200
	 * and ends it (our BYE's 481 is no failure then); anything else in it
	 * 481, as we are ending it. Before, such a request was taken for one of
	 * the call's dialog: a fork's BYE ended the call, whose callee kept it. */
	struct uac_fork *f = to_us ? fork_find(u, (uint32_t)ci, c->gen, from_tag) : NULL;
	if (f && m->method_id == SIP_METHOD_BYE) {
		u->x.c->peer_requests++;
		if (f->peer_bye)
			u->x.c->peer_retrans++;
		f->peer_bye = true;
		respond(u, s, m, 200, false, p);
		return;
	}
	if (!to_us || f || !c->rtag_len || c->state != C_UP || from_tag.len != c->rtag_len ||
	    memcmp(from_tag.p, c->rtag, c->rtag_len)) {
		u->x.c->unexpected_requests++;
		respond(u, s, m, 481, false, p);
		return;
	}
	u->x.c->peer_requests++;
	if (c->has_peer_cseq && m->cseq.num == c->peer_cseq)
		u->x.c->peer_retrans++;
	c->has_peer_cseq = true;
	c->peer_cseq = m->cseq.num;
	bool sdp = (m->method_id == SIP_METHOD_INVITE || m->method_id == SIP_METHOD_UPDATE) &&
		   m->body.len > 0;
	respond(u, s, m, 200, sdp, p);
	if (m->method_id == SIP_METHOD_BYE) {
		/* the dialog is over: its slot may wait in the idle ring, where
		 * drive() passes over it (or, with --requests-per-call in the mix
		 * phase and nothing in flight, sets a new call up in it) */
		u->x.c->peer_byes++;
		c->peer_bye = true;
		if (u->x.cfg->requests_per_call && u->phase == P_MIX && c->tx == TL_NIL) {
			u->up--;
			c->state = C_IDLE;
		} else {
			set_terminal(u, c, C_DONE);
		}
	}
}

static int wire_method(enum load_method m)
{
	switch (m) {
	case LM_INVITE:
	case LM_REINVITE:
		return SIP_METHOD_INVITE;
	case LM_BYE:
		return SIP_METHOD_BYE;
	case LM_INFO:
		return SIP_METHOD_INFO;
	case LM_MESSAGE:
		return SIP_METHOD_MESSAGE;
	case LM_UPDATE:
		return SIP_METHOD_UPDATE;
	case LM_NOTIFY:
		return SIP_METHOD_NOTIFY;
	case LM_OPTIONS:
		return SIP_METHOD_OPTIONS;
	case LM_PRACK:
		return SIP_METHOD_PRACK;
	case LM_REFER:
		return SIP_METHOD_REFER;
	default:
		return SIP_METHOD_OTHER;
	}
}

static void on_pkt(void *arg, const struct net_pkt *p)
{
	struct uac_src *s = arg;
	struct uac *u = s->u;
	struct sip_msg *m = &u->msg;

	u->now = u->last_rx = load_now_ns();
	if (sip_parse(m, p->data, p->len, NULL) != 0) {
		u->x.c->malformed++;
		return;
	}
	/* --echo: the target sends our own requests back; each stands for a 200 */
	if (m->is_request && !u->x.cfg->echo) {
		on_request(u, s, m, p);
		return;
	}
	int status = m->is_request ? 200 : m->status;
	uint32_t t, gen;
	if (!m->nvias ||
	    !parse_branch(u, m->buf + m->vias[0].branch.off, m->vias[0].branch.len, &t, &gen)) {
		u->x.c->unknown_transaction++;
		return;
	}
	uint32_t cslot = 0, cgen = 0;
	int64_t ci = parse_callid(u, m->buf + m->call_id.off, m->call_id.len, &cslot, &cgen);
	struct uac_tx *x = &u->tx[t];
	if (ci == -2 && x->gen == gen && x->state != TX_FREE && x->fork &&
	    u->forks[x->fork - 1].gen == cgen)
		ci = x->call; /* a fork's BYE, whose call's slot holds a new call since */
	if (ci == -2 && status >= 200 && status < 300 && m->cseq.method_id == SIP_METHOD_INVITE &&
	    !u->x.cfg->echo) {
		earlier_answer(u, cslot, cgen, m); /* a 2xx must be ACKed (13.2.2.4) */
		return;
	}
	if (ci == -2) { /* a repeat for a call that ended since; its slot lives on */
		u->x.c->late_responses++;
		return;
	}
	if (ci < 0) {
		u->x.c->mismatched++;
		return;
	}
	if (x->gen != gen || x->state == TX_FREE) {
		/* a repeat of a final response (ours went missing, or the peer's
		 * 2xx retransmission crossed our ACK), or a late provisional */
		struct uac_call *c = &u->calls[ci];
		/* a 2xx with another To tag than the call's dialog (a 2xx's, not
		 * the tag of a non-2xx final: LATE_OPEN) is another fork's */
		if (status >= 200 && status < 300 && m->cseq.method_id == SIP_METHOD_INVITE &&
		    m->cseq.num == c->invite_cseq && !u->x.cfg->echo && c->late != LATE_OPEN &&
		    c->target_len && m->to.has_tag &&
		    (m->to.tag.len != c->rtag_len ||
		     memcmp(m->buf + m->to.tag.off, c->rtag, c->rtag_len))) {
			fork_answer(u, (uint32_t)ci, c->gen, m);
			return;
		}
		if (status >= 200 && status < 300 && m->cseq.method_id == SIP_METHOD_INVITE &&
		    c->late == LATE_OPEN && m->cseq.num == c->invite_cseq && !u->x.cfg->echo) {
			late_answer(u, (uint32_t)ci, m);
			return;
		}
		if (x->gen == gen)
			u->x.c->duplicate_responses++;
		else
			u->x.c->late_responses++;
		if (status >= 200 && m->cseq.method_id == SIP_METHOD_INVITE && !u->x.cfg->echo) {
			bool initial = m->cseq.num == c->invite_cseq;
			if (status >= 300) {
				/* 17.1.1.2: each repeat of a non-2xx final gets the ACK
				 * again, on the INVITE's branch (the one in this Via) */
				send_ack(u, (uint32_t)ci, m->cseq.num, false, initial, t, gen, m,
					 NULL);
				u->x.c->reacks_sent++;
			} else if (c->rtag_len && c->target_len) {
				/* a dialog of ours (or of a late answer, LATE_BYE):
				 * ACK the 2xx again. The first 2xx after a non-2xx
				 * final or a timeout is a late answer, and one of
				 * another fork (another To tag) a dialog of its own,
				 * above */
				send_ack(u, (uint32_t)ci, m->cseq.num, true, initial, 0, 0, m,
					 NULL);
				u->x.c->reacks_sent++;
			}
		}
		return;
	}
	if (x->call != (uint32_t)ci || m->cseq.num != x->cseq ||
	    m->cseq.method_id != wire_method((enum load_method)x->method)) {
		u->x.c->mismatched++;
		return;
	}
	/* the peer ended the dialog with a BYE while this request was out: a 481
	 * (or 408) to it crossed that BYE and is no failure of the peer. A
	 * fork's BYE is of another dialog than the call's (whose slot may hold a
	 * new call since): its final goes by that fork's callee's BYE, not by the
	 * call's state (before, a 481 to it after the call ended counted nowhere) */
	bool crossed = x->fork ? u->forks[x->fork - 1].peer_bye
			       : u->calls[ci].state == C_DONE && x->method != LM_INVITE;
	if (!(crossed && (status == 481 || status == 408)))
		load_count_code(u->x.c, (enum load_method)x->method, status);
	if (status < 200) {
		if (x->state == TX_CALLING) {
			x->state = TX_PROCEEDING;
			/* 17.1.1.2: an INVITE is no longer retransmitted after a 1xx,
			 * and Timer B no longer runs: it may ring */
			if (x->method == LM_INVITE || x->method == LM_REINVITE) {
				tl_cancel(u->lists, u->nodes, 2 * t);
				tl_arm(u->lists, u->nodes, L_RINGING, 2 * t + 1, u->now);
			}
		}
		return;
	}
	tx_final(u, t, status, m);
}

/* ---- driving the phases -------------------------------------------------------- */

static enum load_method pick_method(struct uac *u)
{
	uint32_t r = (uint32_t)(load_rand(&u->rng) % u->mix_total);
	for (unsigned i = 0; i < u->nmix; i++)
		if (r < u->mix_cum[i])
			return (enum load_method)u->mix_method[i];
	return (enum load_method)u->mix_method[u->nmix - 1];
}

static void enter_bye(struct uac *u)
{
	if (u->phase == P_MIX && u->now < u->t_mix_end)
		u->t_mix_end = u->now; /* stopped early: the window is what ran */
	u->phase = P_BYE;
}

static void enter_mix(struct uac *u)
{
	u->phase = P_MIX;
	u->t_mix0 = u->now;
	u->t_mix_end = u->now + (uint64_t)(u->x.cfg->duration * 1e9);
	u->mix_issued = 0;
}

/* Transaction t, just started, is the n-th (from 0) of a schedule of `rate`
 * a second from t0 (rate 0: not paced, due when sent): records in lag how
 * late it went out, and takes the time it was due as the start of its latency
 * from schedule (stats.h: coordinated omission). */
static void paced(struct uac *u, struct load_hist *lag, uint64_t t0, uint64_t n, double rate,
		  uint32_t t)
{
	if (rate <= 0)
		return;
	uint64_t due = t0 + (uint64_t)((double)n / rate * 1e9);
	if (due > u->now)
		due = u->now; /* the rounding of the schedule, not an early send */
	load_hist_record(lag, u->now - due);
	u->tx[t].t_due = due;
}

/* Starts due work; returns the time of the next paced event (or UINT64_MAX). */
static uint64_t drive(struct uac *u)
{
	uint64_t next = UINT64_MAX;

	if (u->phase == P_SETUP) {
		if (u->x.cfg->echo) { /* nothing to set up: the echo stands for the callee */
			for (; u->started < u->ncalls; u->started++) {
				struct uac_call *c = &u->calls[u->started];
				c->state = C_UP;
				c->rtag_len = 4;
				memcpy(c->rtag, "echo", 4);
				memcpy(call_target(u, (uint32_t)u->started, c->gen), u->to_uri,
				       u->to_uri_len);
				c->target_len = (uint16_t)u->to_uri_len;
				u->up++;
				u->x.c->calls_attempted++;
				u->x.c->calls_established++;
				idle_push(u, (uint32_t)u->started);
			}
		}
		double el = (double)(u->now - u->t_start) / 1e9;
		uint64_t due = u->rate_t > 0 ? (uint64_t)(el * u->rate_t) + 1 : u->ncalls;
		if (due > u->ncalls)
			due = u->ncalls;
		unsigned burst = 0;
		while (u->started < due && burst < START_BURST) {
			uint32_t ci = (uint32_t)u->started;
			struct uac_call *c = &u->calls[ci];
			c->src = (uint8_t)(ci % u->nsrc);
			c->cseq = INVITE_CSEQ;
			c->sdp_ver = 1;
			c->tx = TL_NIL;
			c->state = C_INVITING;
			if (tx_start(u, ci, LM_INVITE) == TL_NIL) {
				c->state = C_IDLE;
				break;
			}
			paced(u, &u->x.st->lag_setup, u->t_start, u->started, u->rate_t, c->tx);
			if (!u->x.c->setup_invites++)
				u->x.w->setup_first_ns = u->now;
			u->x.w->setup_last_ns = u->now;
			u->x.c->calls_attempted++;
			u->started++;
			burst++;
		}
		if (u->started < u->ncalls) {
			next = u->rate_t > 0
				   ? u->t_start + (uint64_t)((double)u->started / u->rate_t * 1e9)
				   : u->now;
			if (burst == START_BURST || next < u->now)
				next = u->now;
		} else if (!u->invites_out) {
			/* with no call up (every set-up failed) the mix would send
			 * nothing for --duration: the run goes on to its end */
			if (u->x.cfg->duration > 0 && u->up)
				enter_mix(u);
			else
				enter_bye(u);
		}
	}
	if (u->phase == P_MIX) {
		if (u->now >= u->t_mix_end) {
			enter_bye(u);
		} else {
			next = retry_due(u, u->t_mix_end);
			while (u->out_win < u->window_t && u->idle_count) {
				if (u->req_rate_t > 0) {
					double el = (double)(u->now - u->t_mix0) / 1e9;
					uint64_t allowed = (uint64_t)(el * u->req_rate_t) + 1;
					if (u->mix_issued >= allowed) {
						uint64_t t =
						    u->t_mix0 + (uint64_t)((double)u->mix_issued /
									   u->req_rate_t * 1e9);
						if (t < next)
							next = t;
						break;
					}
				}
				uint32_t ci = idle_pop(u);
				struct uac_call *c = &u->calls[ci];
				if (c->state == C_DONE || c->state == C_FAILED)
					continue;	  /* ended by the peer's BYE while idle */
				if (c->state == C_IDLE) { /* --requests-per-call: a new call */
					if (!call_restart(u, ci)) {
						idle_push(u, ci);
						next = u->now;
						break;
					}
					continue;
				}
				unsigned k = u->x.cfg->requests_per_call;
				enum load_method m = k && c->reqs >= k ? LM_BYE : pick_method(u);
				if (tx_start(u, ci, m) == TL_NIL) {
					idle_push(u, ci);
					next = u->now;
					break;
				}
				if (m != LM_BYE)
					c->reqs++;
				paced(u, &u->x.st->lag_mix, u->t_mix0, u->mix_issued, u->req_rate_t,
				      c->tx);
				u->mix_issued++;
				u->x.c->mix_issued++;
			}
		}
	}
	if (u->phase == P_BYE) {
		/* A peer that has sent nothing for 64*T1, a BYE's whole life (Timer
		 * F), is gone: the window would let it time out W BYEs at a time,
		 * 64*T1 for each W calls (1000 calls, W 64: 8.5 minutes), and the
		 * run would not end. The BYEs left go out at once and time out
		 * together, each still counted. */
		bool peer_gone = u->now - u->last_rx >= u->lists[L_TIMEOUT].ival_ns;
		while ((u->out_win < u->window_t || peer_gone) && u->idle_count) {
			uint32_t ci = idle_pop(u);
			if (u->calls[ci].state == C_DONE || u->calls[ci].state == C_FAILED)
				continue; /* ended by the peer's BYE while idle */
			/* no dialog on the far side to end: --echo, or a slot whose
			 * call ended in the mix phase and was not set up again */
			if (u->x.cfg->echo || u->calls[ci].state == C_IDLE) {
				set_terminal(u, &u->calls[ci], C_DONE);
				continue;
			}
			if (tx_start(u, ci, LM_BYE) == TL_NIL) {
				idle_push(u, ci);
				next = u->now;
				break;
			}
		}
		if (u->terminal == u->started && !u->out_all) {
			if (u->now >= u->linger_until)
				u->phase = P_DONE;
			else if (u->linger_until < next)
				next = u->linger_until;
		}
	}
	return next;
}

static void publish(struct uac *u, bool force)
{
	if (load_publish(&u->x, u->now, force, u->up, u->out_all, load_uac_errors(u->x.c)))
		load_live_set(&u->x.st->live.phase, u->phase);
}

/* Receives until `until` or the first datagrams. With one socket the wait
 * blocks in net_io_poll, at least 1 ms when anything is pending: a datagram
 * ends the wait at once, so latencies stay exact and a paced send is at most
 * 1 ms late (the schedule catches up). With several sockets each is polled
 * without blocking and an idle pass sleeps up to IDLE_SLEEP_MAX_NS, because
 * net_io offers no descriptor to wait on all of them together; a datagram
 * arriving meanwhile is timed up to that much late (only when idle). */
#define IDLE_SLEEP_MAX_NS 50000
static void wait_io(struct uac *u, uint64_t until)
{
	uint64_t now = load_now_ns();
	uint64_t delta = until > now ? until - now : 0;
	int got = 0;

	if (delta > 100000000ull)
		delta = 100000000ull; /* look at the stop flag now and then */
	if (u->nsrc == 1) {
		int ms = (int)(delta / 1000000);
		if (delta && !ms)
			ms = 1;
		net_io_poll(u->src[0].ep.io, ms, on_pkt, &u->src[0]);
		return;
	}
	for (unsigned i = 0; i < u->nsrc; i++) {
		int n = net_io_poll(u->src[i].ep.io, 0, on_pkt, &u->src[i]);
		if (n > 0)
			got += n;
	}
	if (got > 0 || !delta) {
		u->idle_sleep_ns = 2000;
		return;
	}
	uint64_t sl = u->idle_sleep_ns;
	if (sl > delta)
		sl = delta;
	struct timespec ts = {0, (long)sl};
	nanosleep(&ts, NULL);
	if (u->idle_sleep_ns < IDLE_SLEEP_MAX_NS)
		u->idle_sleep_ns *= 2;
}

/* ---- setup and the loop ------------------------------------------------------ */

static int open_sources(struct uac *u)
{
	const struct load_cfg *cfg = u->x.cfg;
	int base = 0;
	if (cfg->local.ss_family == AF_INET)
		base = ntohs(((const struct sockaddr_in *)&cfg->local)->sin_port);
	else
		base = ntohs(((const struct sockaddr_in6 *)&cfg->local)->sin6_port);

	for (unsigned k = 0; k < u->nsrc; k++) {
		struct uac_src *s = &u->src[k];
		struct sockaddr_storage a = cfg->local;
		int port = base ? base + (int)(u->x.th * u->nsrc + k) : 0;
		if (port > 65535) {
			snprintf(u->x.w->err, sizeof(u->x.w->err), "source port %d is out of range",
				 port);
			return -EINVAL;
		}
		if (a.ss_family == AF_INET)
			((struct sockaddr_in *)&a)->sin_port = htons((uint16_t)port);
		else
			((struct sockaddr_in6 *)&a)->sin6_port = htons((uint16_t)port);
		s->u = u;
		int rc = load_ep_open(&s->ep, u->x.w, &a, cfg->local_len, false, LOAD_TX_BUFS);
		if (rc)
			return rc;
	}
	return 0;
}

static void share(uint64_t total, unsigned n, unsigned i, uint64_t *out)
{
	*out = total / n + (i < total % n ? 1 : 0);
}

static int uac_setup(void *state)
{
	struct uac *u = state;
	struct load_worker *w = u->x.w;
	const struct load_cfg *cfg = w->cfg;
	u->nsrc = cfg->sources;
	load_put_hex(u->nonce_hex, cfg->nonce, 8);
	u->rng = cfg->seed * 0x9E3779B97F4A7C15ull + u->x.th + 1;

	share(cfg->calls, cfg->threads, u->x.th, &u->ncalls);
	/* --window is the total over threads: main.c refuses one below
	 * --threads, so every share is 1 at least (a share of 0 taken as 1
	 * let --window 1 --threads 2 have 2 requests outstanding) */
	share(cfg->window, cfg->threads, u->x.th, &u->window_t);
	u->rate_t = cfg->rate / cfg->threads;
	u->req_rate_t = cfg->req_rate / cfg->threads;
	if (u->ncalls == 0)
		return 0;
	if (u->ncalls > 0xffffffffu - 1 - FORK_MAX) {
		snprintf(w->err, sizeof(w->err), "too many calls per thread");
		return -EINVAL;
	}

	/* one transaction per call at most, so ncalls slots always suffice,
	 * and one for each fork record's BYE */
	u->ntx = (uint32_t)u->ncalls + 1 + FORK_MAX;
	u->calls = calloc(u->ncalls, sizeof(*u->calls));
	u->targets = calloc(u->ncalls * 2, TARGET_MAX);
	u->routes = calloc(u->ncalls * 2, ROUTE_MAX);
	uint64_t nt = TAKEN_MIN;
	while (nt < TAKEN_CAP && nt < u->ncalls * TAKEN_PER_CALL)
		nt <<= 1;
	u->taken = calloc(nt, sizeof(*u->taken));
	u->taken_mask = (uint32_t)(nt / TAKEN_WAYS - 1);
	u->taken_keep_ns = TAKEN_KEEP_T1 * (uint64_t)cfg->t1_ms * 1000000;
	u->idle = calloc(u->ncalls, sizeof(*u->idle));
	u->retry = calloc(u->ncalls, sizeof(*u->retry));
	u->retry_at = calloc(u->ncalls, sizeof(*u->retry_at));
	u->tx = calloc(u->ntx, sizeof(*u->tx));
	u->tx_free = calloc(u->ntx, sizeof(*u->tx_free));
	u->nodes = calloc((size_t)u->ntx * 2, sizeof(*u->nodes));
	u->forks = calloc(FORK_MAX, sizeof(*u->forks));
	if (!u->calls || !u->targets || !u->routes || !u->taken || !u->idle || !u->retry ||
	    !u->retry_at || !u->tx || !u->tx_free || !u->nodes || !u->forks) {
		snprintf(w->err, sizeof(w->err), "out of memory for %llu calls",
			 (unsigned long long)u->ncalls);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < u->ntx; i++)
		u->tx_free[u->tx_nfree++] = u->ntx - 1 - i;
	for (uint32_t i = 0; i < FORK_MAX; i++) {
		u->forks[i].tx = TL_NIL;
		u->forks[i].rec = i;
	}
	tl_init_nodes(u->nodes, u->ntx * 2);
	u->kcap = load_rt_lists(u->lists, cfg);
	tl_init_list(&u->lists[L_TIMEOUT], 64 * (uint64_t)cfg->t1_ms * 1000000);
	tl_init_list(&u->lists[L_RINGING], RINGING_NS);

	u->nmix = cfg->nmix;
	for (unsigned i = 0; i < cfg->nmix; i++) {
		u->mix_total += cfg->mix[i].weight;
		u->mix_cum[i] = u->mix_total;
		u->mix_method[i] = cfg->mix[i].method;
	}

	u->to_uri_len = (size_t)snprintf(u->to_uri, sizeof(u->to_uri), "sip:%s@%s", cfg->to_user,
					 cfg->target_s);
	u->ipv6 = cfg->local.ss_family == AF_INET6;
	u->sdp_ip_len = load_sdp_ip(cfg->local_s, u->ipv6, u->sdp_ip, sizeof(u->sdp_ip));
	return open_sources(u);
}

static void uac_teardown(void *state)
{
	struct uac *u = state;
	for (unsigned i = 0; i < u->nsrc; i++)
		load_ep_close(&u->src[i].ep, u->x.w);
	free(u->calls);
	free(u->targets);
	free(u->routes);
	free(u->taken);
	free(u->idle);
	free(u->retry);
	free(u->retry_at);
	free(u->tx);
	free(u->tx_free);
	free(u->nodes);
	free(u->forks);
}

/* A second stop signal ends the run at once: each transaction still waiting
 * for its final is abandoned, counted by its method (sent = completed +
 * timeouts + abandoned) and an error, as the run did not see it through;
 * before, it was counted nowhere and such a run could end "errors 0: ok". A
 * late answer's or fork's BYE that never found a send buffer was never sent:
 * it counts as at its Timer F (late_byes_no_buffer). */
static void abandon_all(struct uac *u)
{
	for (uint32_t t = 0; t < u->ntx && u->out_all; t++) {
		struct uac_tx *x = &u->tx[t];
		if (x->state == TX_FREE)
			continue;
		if (x->unsent)
			u->x.c->late_byes_no_buffer++;
		else
			u->x.c->m[x->method].abandoned++;
		tx_free(u, t);
	}
}

static void uac_loop(void *state)
{
	struct uac *u = state;
	const struct load_worker *w = u->x.w;

	if (!u->ncalls)
		return;
	u->idle_sleep_ns = 2000;
	u->now = u->t_start = load_now_ns();
	u->phase = P_SETUP;
	for (;;) {
		u->now = load_now_ns();
		int stop = atomic_load_explicit(w->stop, memory_order_relaxed);
		if (stop >= 2) {
			abandon_all(u);
			break;
		}
		if (stop == 1 && u->phase < P_BYE)
			enter_bye(u);
		fire_timers(u);
		uint64_t next = drive(u);
		flush_all(u);
		publish(u, false);
		if (u->phase == P_DONE)
			break;
		uint64_t t = tl_next(u->lists, u->nodes, NLISTS);
		if (next < t)
			t = next;
		if (t > u->now + 100000000ull)
			t = u->now + 100000000ull; /* look at the stop flag now and then */
		wait_io(u, t);
	}
	u->now = load_now_ns();
	flush_all(u);
	publish(u, true);
	if (u->t_mix0) {
		uint64_t end = u->t_mix_end < u->now ? u->t_mix_end : u->now;
		u->x.w->mix_seconds = (double)(end - u->t_mix0) / 1e9;
	}
}

void *load_uac_main(void *arg)
{
	static const struct load_role_ops ops = {sizeof(struct uac), uac_setup, uac_loop,
						 uac_teardown};
	load_worker_run(arg, &ops);
	return NULL;
}
