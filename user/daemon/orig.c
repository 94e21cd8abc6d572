/*
 * orig.c - in-dialog requests that sipshard itself sends (see orig.h).
 *
 * A transaction's slot index, generation and a random salt are written into
 * the branch of our Via as a shard token, so that a response finds its
 * transaction in O(1), a response to an earlier use of the slot is told apart,
 * and a forged one must guess 32 bits.
 *
 * A retry that answers a challenge is the datagram kept, edited: the branch
 * (of a fixed length) and the CSeq number replaced, and the credentials lines
 * put at the end of the header section, where a later retry (a challenge of
 * another kind or realm: RFC 3261 22.3) finds and replaces them. The dialog
 * a BYE of ours ended is gone by then, so the request is not written anew.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/counter.h"
#include "core/rng.h"
#include "daemon/log.h"
#include "daemon/orig.h"
#include "net/udp.h"

void orig_init(struct orig_table *t, uint8_t shard, uint64_t seed, uint32_t t1_ms, uint32_t t2_ms)
{
	memset(t, 0, sizeof(*t));
	t->shard = shard;
	t->gen_seed = (uint32_t)seed;
	t->t1_ms = t1_ms;
	t->t2_ms = t2_ms;
	t->tx_cap = ORIG_KEEP_MAX;
}

void orig_set_creds(struct orig_table *t, uint32_t index, uint32_t count, const struct orig_cred *c)
{
	if (count > ORIG_CREDS_MAX)
		count = ORIG_CREDS_MAX;
	if (c && index < count) {
		struct orig_cred *e = &t->creds[index];
		*e = *c;
		/* from another thread's copy: its strings end where ours do, and
		 * its counts stay within their arrays */
		e->auth.username[sizeof(e->auth.username) - 1] = '\0';
		e->auth.password[sizeof(e->auth.password) - 1] = '\0';
		if (e->auth.nrealms > CONFIG_AUTH_REALMS_MAX)
			e->auth.nrealms = CONFIG_AUTH_REALMS_MAX;
		for (uint32_t i = 0; i < CONFIG_AUTH_REALMS_MAX; i++)
			e->auth.realm[i][sizeof(e->auth.realm[i]) - 1] = '\0';
		if (e->ntargets > CONFIG_MAX_TARGETS)
			e->ntargets = CONFIG_MAX_TARGETS;
		for (uint32_t i = 0; i < e->ntargets; i++)
			if (e->targets[i].len > sizeof(e->targets[i].addr))
				e->targets[i].len = 0;
	}
	t->ncreds = count;
}

/* The target of e at peer (len bytes), or NULL */
static const struct orig_cred_target *target_at(const struct orig_cred *e, const void *peer,
						socklen_t len)
{
	for (uint32_t i = 0; i < e->ntargets; i++)
		if (e->targets[i].len && e->targets[i].len == len &&
		    !memcmp(&e->targets[i].addr, peer, len))
			return &e->targets[i];
	return NULL;
}

static bool has_key(const struct orig_cred *e, uint32_t key)
{
	for (uint32_t i = 0; i < e->ntargets; i++)
		if (e->targets[i].key == key)
			return true;
	return false;
}

void orig_cred_of_route(const struct config_route *r, struct orig_cred *e)
{
	memset(e, 0, sizeof(*e)); /* sent whole over the command ring */
	e->auth = r->auth;
	for (unsigned k = 0; k < r->ntargets && k < CONFIG_MAX_TARGETS; k++) {
		struct orig_cred_target *ot = &e->targets[e->ntargets];
		if (r->targets[k].addr_len > sizeof(ot->addr))
			continue;
		ot->key = cred_route_key(r->name, &r->targets[k]);
		/* an IPv4-mapped target as the IPv4 peer the worker sees
		 * answering from it (udp_addr_unmap), as its key is */
		struct sockaddr_in v4;
		const struct sockaddr *sa = (const struct sockaddr *)&r->targets[k].addr;
		socklen_t len = r->targets[k].addr_len;
		if (udp_addr_unmap(sa, len, &v4)) {
			sa = (const struct sockaddr *)&v4;
			len = sizeof(v4);
		}
		memcpy(&ot->addr, sa, len);
		ot->len = len;
		e->ntargets++;
	}
}

/* The entry whose credentials orig_creds_find answers with (its auth may be
 * empty when it is the key's own), or NULL, with *key_found the key it
 * answers by: key, or that of its target at peer. Keys are hashes of route
 * names and targets: two routes that share one (never seen, but possible)
 * give neither's, since the wrong pick would send one carrier's password to
 * another; the targets of one route made from one SRV domain share theirs.
 * Only a challenge pays the walk over every entry. */
static const struct orig_cred *creds_entry(const struct orig_cred *creds, uint32_t n, uint32_t key,
					   const void *peer, socklen_t len, uint32_t *key_found)
{
	const struct orig_cred *found = NULL;
	const struct orig_cred_target *at = NULL;

	*key_found = 0;
	for (uint32_t i = 0; key && i < n; i++) {
		if (!has_key(&creds[i], key))
			continue;
		if (found)
			return NULL;
		found = &creds[i];
	}
	if (found)
		*key_found = key;
	if (found || !key || !peer)
		return found;
	for (uint32_t i = 0; i < n; i++) {
		const struct orig_cred *e = &creds[i];
		const struct orig_cred_target *t = target_at(e, peer, len);
		if (!e->auth.username[0] || !t)
			continue;
		if (found && !config_auth_same(&found->auth, &e->auth))
			return NULL;
		found = e;
		at = t;
	}
	if (at)
		*key_found = at->key;
	return found;
}

const struct config_auth *orig_creds_find(const struct orig_cred *creds, uint32_t n, uint32_t key,
					  const void *peer, socklen_t len)
{
	uint32_t key_found;
	const struct orig_cred *e = creds_entry(creds, n, key, peer, len, &key_found);
	return e && e->auth.username[0] ? &e->auth : NULL;
}

uint32_t orig_creds_key_at(const struct orig_cred *creds, uint32_t n, uint32_t key,
			   const void *peer, socklen_t len)
{
	uint32_t key_found;
	return creds_entry(creds, n, key, peer, len, &key_found) ? key_found : 0;
}

/* A 401 or 407 (status) to our method not answered, for why (detail: the
 * words of cred_answer): counted, and logged the first time for each why, so
 * that a carrier that challenges every call's BYE says so once, not per call
 * (the counters go on). */
static void refused(struct orig_table *t, enum orig_auth_refusal why, int status, uint8_t method,
		    const char *detail)
{
	static const char *const what[ORIG_AUTH_REFUSAL_COUNT_] = {
	    [ORIG_AUTH_NO_CREDENTIALS] =
		("no credentials for it (leg A, a route without auth, or a route renamed or "
		 "removed whose target no route in service gives one set of credentials)"),
	    [ORIG_AUTH_UNANSWERABLE] = "not one the route's credentials answer",
	    [ORIG_AUTH_REFUSED] = "a second challenge of a kind and realm answered",
	};
	counter_inc(&t->st.challenges_refused[why]);
	if (t->refusals_logged & (1u << why))
		return;
	t->refusals_logged |= (uint8_t)(1u << why);
	log_warn("worker %u: %d to our %s not answered: %s%s%s (logged once a kind; "
		 "originated.challenges_*)",
		 (unsigned)t->shard, status, sip_method_name((enum sip_method)method), what[why],
		 detail ? ": " : "", detail ? detail : "");
}

/* The lines that answer challenge m to the request sent to peer (len bytes,
 * the lines of *st's challenges in it) with dlg's credentials, into out:
 * their length with *st updated, or -EACCES (counted and logged). */
static int answer_lines(struct orig_table *t, const struct orig_dlg *dlg,
			const struct sockaddr_in6 *peer, socklen_t peer_len,
			const struct sip_msg *m, uint8_t method, const char *sent, size_t len,
			struct cred_state *st, char *out, size_t cap)
{
	const struct config_auth *a =
	    dlg ? orig_creds_find(t->creds, t->ncreds, dlg->auth_key, peer, peer_len) : NULL;
	const char *why = NULL;

	if (!a) {
		refused(t, ORIG_AUTH_NO_CREDENTIALS, m->status, method, NULL);
		return -EACCES;
	}
	/* the Request-URI, as sent: between the method and the version */
	const char *sp = memchr(sent, ' ', len), *uri = sp ? sp + 1 : NULL;
	const char *eol = uri ? memchr(uri, '\r', len - (size_t)(uri - sent)) : NULL;
	const char *ver = eol ? memrchr(uri, ' ', (size_t)(eol - uri)) : NULL;
	if (!ver) {
		refused(t, ORIG_AUTH_UNANSWERABLE, m->status, method, "no Request-URI");
		return -EACCES;
	}
	const struct cred_request rq = {sip_method_name((enum sip_method)method), uri,
					(size_t)(ver - uri), sent, len};
	int n = cred_answer(a, m, &rq, st, rng_secure(), out, cap, &why);
	if (n < 0) {
		refused(t, why == cred_why_refused ? ORIG_AUTH_REFUSED : ORIG_AUTH_UNANSWERABLE,
			m->status, method, why);
		return -EACCES;
	}
	return n;
}

bool orig_branch_is_ours(const char *buf, sip_view branch)
{
	size_t n = sizeof(SHARD_ORIG_PREFIX) - 1;
	return branch.len > n && memcmp(buf + branch.off, SHARD_ORIG_PREFIX, n) == 0;
}

/* Whether the end of its dialog stops o (orig_end_dialog): a BYE of ours
 * goes on, as it ends the call on the far side. */
static bool ends_with_dialog(const struct orig_txn *o)
{
	return o->method != SIP_METHOD_BYE && o->dlg.leg <= SHARD_LEG_B;
}

static void finish(struct orig_table *t, struct orig_txn *o)
{
	o->busy = false;
	t->busy--;
	if (ends_with_dialog(o))
		t->busy_in_dialog--;
}

/* The slot the next request takes: the first free one from t->next on; only
 * when every slot is busy, the oldest transaction's (the earliest Timer F).
 * Taking t->next whatever its state would end a transaction still within
 * Timer F whenever ORIG_SLOTS requests followed it, however few are busy. */
static uint32_t pick_slot(const struct orig_table *t)
{
	uint32_t oldest = t->next;

	for (uint32_t k = 0; k < ORIG_SLOTS; k++) {
		uint32_t i = (t->next + k) % ORIG_SLOTS;
		if (!t->out[i].busy)
			return i;
		if (t->out[i].deadline_ms < t->out[oldest].deadline_ms)
			oldest = i;
	}
	return oldest;
}

/* Keeps scratch (n bytes, written with the branch of slot index, gen and
 * salt) as transaction index and sends it. */
static void take_slot(struct orig_table *t, uint32_t index, uint32_t gen, uint32_t salt,
		      const struct sockaddr_in6 *peer, socklen_t peer_len, uint8_t method,
		      uint32_t cseq, const struct orig_dlg *dlg, uint64_t cookie, uint64_t now_ms,
		      const char *scratch, int n, orig_send_fn send, orig_done_fn done, void *arg)
{
	struct orig_txn *o = &t->out[index];

	if (o->busy) {
		/* every slot is busy: the oldest transaction gives its slot up,
		 * and its sender hears so, as at Timer F (else an operator's INFO
		 * or REFER would show no outcome for ever) */
		counter_inc(&t->st.overwritten);
		finish(t, o);
		if (done)
			done(arg, o->cookie, o->method, o->dlg.leg, o->cseq, 408, NULL);
	}
	t->gen_seed = gen;
	t->next = (index + 1) % ORIG_SLOTS;
	o->gen = gen;
	o->salt = salt;
	o->method = method;
	o->cseq = cseq;
	o->cookie = cookie;
	o->busy = true;
	o->proceeding = false;
	o->interval_ms = t->t1_ms;
	o->next_ms = now_ms + t->t1_ms;
	o->deadline_ms = now_ms + 64ull * t->t1_ms; /* Timer F */
	memcpy(&o->peer, peer, sizeof(o->peer));
	o->peer_len = peer_len;
	o->auth_off = 0;
	o->cred = (struct cred_state){0};
	o->dlg = dlg ? *dlg : (struct orig_dlg){0};
	/* kept for retransmission when it fits; sent once either way */
	o->len = (size_t)n <= sizeof(o->data) ? (uint16_t)n : 0;
	if (o->len)
		memcpy(o->data, scratch, (size_t)n);
	t->busy++;
	if (ends_with_dialog(o))
		t->busy_in_dialog++;
	counter_inc(&t->st.sent);
	send(arg, scratch, (size_t)n, (const struct sockaddr *)&o->peer, o->peer_len);
}

/* Where the blank line that ends the header section of buf (len bytes)
 * starts, or 0. */
static size_t header_end(const char *buf, size_t len)
{
	const char *e = memmem(buf, len, "\r\n\r\n", 4);
	return e ? (size_t)(e - buf) + 2 : 0;
}

/* A new transaction's slot (*index), generation and salt, and req written
 * into scratch with the branch they make: its length, or what
 * relay_write_request returned. Nothing is taken yet (take_slot does). */
static int write_new(struct orig_table *t, struct relay_ctx *rc, struct sip_session *s,
		     const struct relay_req *req, char *scratch, size_t cap, uint32_t *index,
		     uint32_t *gen, uint32_t *salt)
{
	char branch[SHARD_ORIG_MAX];

	*index = pick_slot(t);
	*gen = t->gen_seed + 1;
	*salt = (uint32_t)rng_secure(); /* in the branch: unpredictable */
	shard_orig_encode(branch, sizeof(branch), t->shard, *index, *gen, *salt);
	return relay_write_request(rc, s, req, branch, scratch, cap);
}

int orig_start(struct orig_table *t, struct relay_ctx *rc, struct sip_session *s,
	       const struct relay_req *req, const struct orig_dlg *dlg, uint64_t cookie,
	       uint64_t now_ms, char *scratch, size_t cap, orig_send_fn send, orig_done_fn done,
	       void *arg)
{
	uint32_t index, gen, salt;
	int n = write_new(t, rc, s, req, scratch, cap, &index, &gen, &salt);

	if (n < 0)
		return n;
	take_slot(t, index, gen, salt, &s->peer, s->peer_len, req->method, s->local_cseq, dlg,
		  cookie, now_ms, scratch, n, send, done, arg);
	return 0;
}

int orig_start_answering(struct orig_table *t, struct relay_ctx *rc, struct sip_session *s,
			 const struct relay_req *req, const struct orig_dlg *dlg,
			 const struct sip_msg *challenge, uint64_t cookie, uint64_t now_ms,
			 char *scratch, size_t cap, orig_send_fn send, orig_done_fn done, void *arg)
{
	uint32_t index, gen, salt;
	char lines[CRED_LINES_MAX];
	struct cred_state st = {0};

	/* writing the request takes the leg's next CSeq: a leg with nothing to
	 * answer with (leg A, a route without auth) keeps it */
	if (!dlg || !orig_creds_find(t->creds, t->ncreds, dlg->auth_key, &s->peer, s->peer_len)) {
		refused(t, ORIG_AUTH_NO_CREDENTIALS, challenge->status, req->method, NULL);
		return -EACCES;
	}
	int n = write_new(t, rc, s, req, scratch, cap, &index, &gen, &salt);
	if (n < 0)
		return n;
	/* the request as first sent had no credentials lines: none are read
	 * back, so this copy of it stands for it */
	int k = answer_lines(t, dlg, &s->peer, s->peer_len, challenge, req->method, scratch,
			     (size_t)n, &st, lines, sizeof(lines));
	if (k < 0)
		return k;
	size_t at = header_end(scratch, (size_t)n);
	if (!at || (size_t)n + (size_t)k > cap || (size_t)n + (size_t)k > t->tx_cap) {
		refused(t, ORIG_AUTH_UNANSWERABLE, challenge->status, req->method,
			"the request with the answer does not fit");
		return -ENOSPC;
	}
	memmove(scratch + at + k, scratch + at, (size_t)n - at);
	memcpy(scratch + at, lines, (size_t)k);
	take_slot(t, index, gen, salt, &s->peer, s->peer_len, req->method, s->local_cseq, dlg,
		  cookie, now_ms, scratch, n + k, send, done, arg);
	struct orig_txn *o = &t->out[index];
	o->auth_off = (uint16_t)at;
	o->cred = st;
	counter_inc(&t->st.challenges_answered);
	return 0;
}

/* o's request again into out (cap bytes) as a new transaction's: branch in
 * place of its own, CSeq number cseq, lines (k bytes) in place of the
 * credentials lines it had. Its length (*auth_off: where the lines start), or
 * -ENOSPC. */
static int write_retry(const struct orig_txn *o, const char *branch, uint32_t cseq,
		       const char *lines, size_t k, char *out, size_t cap, uint16_t *auth_off)
{
	static const char vkey[] = "\r\nVia: ", bkey[] = ";branch=" SHARD_ORIG_PREFIX,
			  ckey[] = "\r\nCSeq: ";
	const char *d = o->data;
	size_t len = o->len, end = header_end(d, len);
	/* the branch is looked for in the top Via only, the line after the
	 * request line (relay_write_request): the Request-URI before it is the
	 * peer's Contact, whose URI parameters may spell a branch of ours */
	const char *rl = end ? memmem(d, end, "\r\n", 2) : NULL;
	if (!rl || end - (size_t)(rl - d) < sizeof(vkey) - 1 ||
	    memcmp(rl, vkey, sizeof(vkey) - 1) != 0)
		return -ENOSPC;
	size_t vs = (size_t)(rl - d) + 2;
	const char *ve = memmem(d + vs, end - vs, "\r\n", 2);
	const char *b = ve ? memmem(d + vs, (size_t)(ve - d) - vs, bkey, sizeof(bkey) - 1) : NULL;
	const char *c = b ? memmem(ve, end - (size_t)(ve - d), ckey, sizeof(ckey) - 1) : NULL;
	if (!c)
		return -ENOSPC;
	size_t br = (size_t)(b - d) + 8, cs = (size_t)(c - d) + sizeof(ckey) - 1, ce = cs;
	while (ce < end && d[ce] >= '0' && d[ce] <= '9')
		ce++;
	/* our lines are the header section's last (auth_off); else it ends there */
	size_t base = o->auth_off && o->auth_off <= end ? o->auth_off : end;
	char num[11];
	int nl = snprintf(num, sizeof(num), "%u", cseq);
	size_t total = len - (ce - cs) + (size_t)nl - (end - base) + k;
	if (br + SHARD_ORIG_LEN > (size_t)(ve - d) || ce == cs || ce > base || total > cap)
		return -ENOSPC;
	char *p = out;
	memcpy(p, d, br);
	p += br;
	memcpy(p, branch, SHARD_ORIG_LEN);
	p += SHARD_ORIG_LEN;
	memcpy(p, d + br + SHARD_ORIG_LEN, cs - br - SHARD_ORIG_LEN);
	p += cs - br - SHARD_ORIG_LEN;
	memcpy(p, num, (size_t)nl);
	p += nl;
	memcpy(p, d + ce, base - ce);
	p += base - ce;
	*auth_off = (uint16_t)(p - out);
	memcpy(p, lines, k);
	p += k;
	memcpy(p, d + end, len - end);
	p += len - end;
	return (int)(p - out);
}

/* A 401 or 407 m ended transaction o: its request again with the lines that
 * answer it, as a new transaction in the same slot. False when it is not
 * answered (counted): m is then o's outcome. */
static bool answer_challenge(struct orig_table *t, struct orig_txn *o, const struct sip_msg *m,
			     uint64_t now_ms, const struct orig_io *io)
{
	char lines[CRED_LINES_MAX], out[ORIG_KEEP_MAX], branch[SHARD_ORIG_MAX];
	struct cred_state st = o->cred;

	if (!o->dlg.auth_key) {
		refused(t, ORIG_AUTH_NO_CREDENTIALS, m->status, o->method, NULL);
		return false;
	}
	if (!o->len) {
		refused(t, ORIG_AUTH_UNANSWERABLE, m->status, o->method,
			"the request was too long to keep");
		return false;
	}
	int k = answer_lines(t, &o->dlg, &o->peer, o->peer_len, m, o->method, o->data, o->len, &st,
			     lines, sizeof(lines));
	if (k < 0)
		return false;
	uint32_t index = (uint32_t)(o - t->out), gen = t->gen_seed + 1,
		 salt = (uint32_t)rng_secure();
	uint32_t cseq = io->cseq ? io->cseq(io->arg, &o->dlg, m->cseq.num) : m->cseq.num + 1;
	uint16_t auth_off;
	shard_orig_encode(branch, sizeof(branch), t->shard, index, gen, salt);
	size_t cap = t->tx_cap < sizeof(out) ? t->tx_cap : sizeof(out);
	int n = write_retry(o, branch, cseq, lines, (size_t)k, out, cap, &auth_off);
	if (n < 0) {
		refused(t, ORIG_AUTH_UNANSWERABLE, m->status, o->method,
			"the request with the answer does not fit");
		return false;
	}
	/* the challenged transaction ended; the retry is a new one, which a
	 * late copy of the challenge (the old generation) no longer matches */
	struct orig_dlg dlg = o->dlg;
	struct sockaddr_in6 peer = o->peer;
	uint64_t cookie = o->cookie;
	uint8_t method = o->method;
	counter_inc(&t->st.answered);
	finish(t, o);
	take_slot(t, index, gen, salt, &peer, o->peer_len, method, cseq, &dlg, cookie, now_ms, out,
		  n, io->send, io->done, io->arg);
	o->auth_off = auth_off;
	o->cred = st;
	counter_inc(&t->st.challenges_answered);
	return true;
}

void orig_on_response(struct orig_table *t, const struct sip_msg *m, uint64_t now_ms,
		      const struct orig_io *io)
{
	uint32_t index, gen, salt;
	uint8_t shard;
	const struct sip_via *v = &m->vias[0];

	if (shard_orig_decode(m->buf + v->branch.off, v->branch.len, &shard, &index, &gen, &salt) !=
		0 ||
	    shard != t->shard || index >= ORIG_SLOTS) {
		counter_inc(&t->st.stray);
		return;
	}
	struct orig_txn *o = &t->out[index];
	if (!o->busy || o->gen != gen || o->salt != salt || m->cseq.method_id != o->method) {
		counter_inc(&t->st.stray); /* a retransmitted final, or one for a slot used again */
		return;
	}
	if (m->status < 200) {
		/* Timer E goes to T2 (RFC 3261 17.1.2.2); the 1xx ends here */
		o->proceeding = true;
		counter_inc(&t->st.provisional);
		return;
	}
	if ((m->status == 401 || m->status == 407) && io && io->send &&
	    answer_challenge(t, o, m, now_ms, io))
		return;
	counter_inc(&t->st.answered);
	finish(t, o);
	if (io && io->done)
		io->done(io->arg, o->cookie, o->method, o->dlg.leg, o->cseq, m->status, m);
}

unsigned orig_end_dialog(struct orig_table *t, uint32_t slot, uint32_t gen)
{
	unsigned n = 0;

	for (uint32_t i = 0; i < ORIG_SLOTS && t->busy_in_dialog; i++) {
		struct orig_txn *o = &t->out[i];
		if (!o->busy || !ends_with_dialog(o) || o->dlg.slot != slot || o->dlg.gen != gen)
			continue;
		finish(t, o);
		n++;
	}
	counter_add(&t->st.call_ended, n);
	return n;
}

void orig_tick(struct orig_table *t, uint64_t now_ms, orig_send_fn send, orig_done_fn done,
	       void *arg)
{
	if (!t->busy)
		return;
	for (uint32_t i = 0; i < ORIG_SLOTS && t->busy; i++) {
		struct orig_txn *o = &t->out[i];
		if (!o->busy || now_ms < o->next_ms)
			continue;
		if (now_ms >= o->deadline_ms) {
			counter_inc(&t->st.unanswered);
			finish(t, o);
			if (done)
				done(arg, o->cookie, o->method, o->dlg.leg, o->cseq, 408, NULL);
			continue;
		}
		if (o->len) {
			send(arg, o->data, o->len, (const struct sockaddr *)&o->peer, o->peer_len);
			counter_inc(&t->st.retransmitted);
		}
		/* Timer E: doubling up to T2; every T2 once proceeding */
		o->interval_ms =
		    o->proceeding || o->interval_ms * 2 > t->t2_ms ? t->t2_ms : o->interval_ms * 2;
		o->next_ms = now_ms + o->interval_ms;
		if (o->next_ms > o->deadline_ms)
			o->next_ms = o->deadline_ms;
	}
}
