/*
 * detached.c - the controller's stand-alone non-INVITE client transactions
 * (see detached.h). The table is small and such requests are rare (they
 * follow failovers and forked answers), so each tick and each response scans
 * it; due keeps a tick with nothing to do from even that.
 */
#include <string.h>

#include "core/clock.h"
#include "daemon/detached.h"

void detached_init(struct detached_set *s, uint32_t t1_ms, uint32_t t2_ms)
{
	memset(s, 0, sizeof(*s));
	s->t1_ms = t1_ms;
	s->t2_ms = t2_ms;
	s->due = UINT64_MAX;
}

static void end_txn(struct detached_set *s, struct detached_txn *t)
{
	t->live = false;
	s->live--;
}

/* A free entry, or the Completed one nearest its Timer K (it only absorbs
 * copies of a final), ended; NULL when every entry is in progress. */
static struct detached_txn *free_entry(struct detached_set *s)
{
	struct detached_txn *done = NULL;

	for (unsigned i = 0; i < DETACHED_MAX; i++) {
		struct detached_txn *t = &s->t[i];
		if (!t->live)
			return t;
		if (t->completed && (!done || t->t_deadline < done->t_deadline))
			done = t;
	}
	if (done)
		end_txn(s, done);
	return done;
}

void detached_send(struct detached_set *s, const char *request, size_t len, const char *branch,
		   size_t branch_len, enum sip_method method_id, unsigned shard,
		   const struct sockaddr_storage *to, socklen_t tolen, uint64_t now,
		   detached_send_fn send, void *arg)
{
	/* one that cannot be kept takes no place, nor a Completed one's */
	bool fits = len <= DETACHED_REQUEST_MAX && branch_len <= DETACHED_BRANCH_MAX &&
		    tolen <= sizeof(struct sockaddr_storage);
	struct detached_txn *t = fits ? free_entry(s) : NULL;

	send(arg, shard, request, len, to, tolen);
	if (!t) {
		s->st.untracked++;
		return;
	}
	t->live = true;
	t->completed = false;
	t->method_id = (uint8_t)method_id;
	t->shard = (uint8_t)shard;
	t->branch_len = (uint8_t)branch_len;
	memcpy(t->branch, branch, branch_len);
	memcpy(&t->peer, to, tolen);
	t->peer_len = tolen;
	t->len = (uint16_t)len;
	memcpy(t->request, request, len);
	t->t_interval = s->t1_ms;
	t->t_next = now + s->t1_ms;
	t->t_deadline = now + 64ull * s->t1_ms;
	s->live++;
	s->st.started++;
	s->due = clock_earlier(s->due, t->t_next);
}

static struct detached_txn *find_txn(struct detached_set *s, const char *branch, size_t len,
				     unsigned method_id)
{
	for (unsigned i = 0; i < DETACHED_MAX && s->live; i++) {
		struct detached_txn *t = &s->t[i];
		if (t->live && t->method_id == method_id && t->branch_len == len &&
		    memcmp(t->branch, branch, len) == 0)
			return t;
	}
	return NULL;
}

bool detached_pending(struct detached_set *s, const char *branch, size_t branch_len,
		      enum sip_method method_id)
{
	return find_txn(s, branch, branch_len, method_id) != NULL;
}

bool detached_on_response(struct detached_set *s, const struct sip_msg *r, uint64_t now)
{
	if (r->nvias == 0)
		return false;
	struct detached_txn *t =
	    find_txn(s, r->buf + r->vias[0].branch.off, r->vias[0].branch.len, r->cseq.method_id);
	if (!t)
		return false;
	if (t->completed) {
		s->st.absorbed++; /* a copy of its final, or a provisional late */
		return true;
	}
	if (r->status >= 200) {
		t->completed = true;
		t->t_deadline = now + DETACHED_T4_MS;
		s->due = clock_earlier(s->due, t->t_deadline);
		s->st.answered++;
	} else {
		/* Proceeding: retransmissions at T2 (RFC 3261 17.1.2.2) */
		t->t_interval = s->t2_ms;
		t->t_next = now + s->t2_ms;
	}
	return true;
}

void detached_tick(struct detached_set *s, uint64_t now, detached_send_fn send, void *arg)
{
	uint64_t due = UINT64_MAX;

	if (now < s->due)
		return;
	for (unsigned i = 0; i < DETACHED_MAX && s->live; i++) {
		struct detached_txn *t = &s->t[i];
		if (!t->live)
			continue;
		if (now >= t->t_deadline) {
			if (!t->completed)
				s->st.unanswered++;
			end_txn(s, t);
			continue;
		}
		if (t->completed) {
			due = clock_earlier(due, t->t_deadline);
			continue;
		}
		if (now >= t->t_next) {
			send(arg, t->shard, t->request, t->len, &t->peer, t->peer_len);
			s->st.retransmitted++;
			t->t_interval = clock_earlier(t->t_interval * 2, s->t2_ms);
			t->t_next = now + t->t_interval;
		}
		due = clock_earlier(due, clock_earlier(t->t_next, t->t_deadline));
	}
	s->due = due;
}
