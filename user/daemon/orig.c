/*
 * orig.c - in-dialog requests that sipshard itself sends (see orig.h).
 *
 * A transaction's slot index, generation and a random salt are written into
 * the branch of our Via as a shard token, so that a response finds its
 * transaction in O(1), a response to an earlier use of the slot is told apart,
 * and a forged one must guess 32 bits.
 */
#include <errno.h>
#include <string.h>

#include "core/rng.h"
#include "daemon/orig.h"

void orig_init(struct orig_table *t, uint8_t shard, uint64_t seed, uint32_t t1_ms, uint32_t t2_ms)
{
	memset(t, 0, sizeof(*t));
	t->shard = shard;
	t->gen_seed = (uint32_t)seed;
	t->t1_ms = t1_ms;
	t->t2_ms = t2_ms;
}

bool orig_branch_is_ours(const char *buf, sip_view branch)
{
	size_t n = sizeof(SHARD_ORIG_PREFIX) - 1;
	return branch.len > n && memcmp(buf + branch.off, SHARD_ORIG_PREFIX, n) == 0;
}

static void finish(struct orig_table *t, struct orig_txn *o)
{
	o->busy = false;
	t->busy--;
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

int orig_start(struct orig_table *t, struct relay_ctx *rc, struct sip_session *s,
	       const struct relay_req *req, uint64_t cookie, uint64_t now_ms, char *scratch,
	       size_t cap, orig_send_fn send, orig_done_fn done, void *arg)
{
	uint32_t index = pick_slot(t), gen = t->gen_seed + 1,
		 salt = (uint32_t)rng_secure(); /* in the branch: unpredictable */
	struct orig_txn *o = &t->out[index];
	char branch[SHARD_ORIG_MAX];

	shard_orig_encode(branch, sizeof(branch), t->shard, index, gen, salt);
	int n = relay_write_request(rc, s, req, branch, scratch, cap);
	if (n < 0)
		return n;
	if (o->busy) {
		/* every slot is busy: the oldest transaction gives its slot up,
		 * and its sender hears so, as at Timer F (else an operator's INFO
		 * or REFER would show no outcome for ever) */
		t->st.overwritten++;
		finish(t, o);
		if (done)
			done(arg, o->cookie, o->method, 408);
	}
	t->gen_seed = gen;
	t->next = (index + 1) % ORIG_SLOTS;
	o->gen = gen;
	o->salt = salt;
	o->method = req->method;
	o->cookie = cookie;
	o->busy = true;
	o->proceeding = false;
	o->interval_ms = t->t1_ms;
	o->next_ms = now_ms + t->t1_ms;
	o->deadline_ms = now_ms + 64ull * t->t1_ms; /* Timer F */
	memcpy(&o->peer, &s->peer, sizeof(o->peer));
	o->peer_len = s->peer_len;
	/* kept for retransmission when it fits; sent once either way */
	o->len = (size_t)n <= sizeof(o->data) ? (uint16_t)n : 0;
	if (o->len)
		memcpy(o->data, scratch, (size_t)n);
	t->busy++;
	t->st.sent++;
	send(arg, scratch, (size_t)n, (const struct sockaddr *)&o->peer, o->peer_len);
	return 0;
}

void orig_on_response(struct orig_table *t, const struct sip_msg *m, orig_done_fn done, void *arg)
{
	uint32_t index, gen, salt;
	uint8_t shard;
	const struct sip_via *v = &m->vias[0];

	if (shard_orig_decode(m->buf + v->branch.off, v->branch.len, &shard, &index, &gen, &salt) !=
		0 ||
	    shard != t->shard || index >= ORIG_SLOTS) {
		t->st.stray++;
		return;
	}
	struct orig_txn *o = &t->out[index];
	if (!o->busy || o->gen != gen || o->salt != salt || m->cseq.method_id != o->method) {
		t->st.stray++; /* a retransmitted final, or one for a slot used again */
		return;
	}
	if (m->status < 200) {
		o->proceeding = true;
		return;
	}
	t->st.answered++;
	finish(t, o);
	if (done)
		done(arg, o->cookie, o->method, m->status);
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
			t->st.unanswered++;
			finish(t, o);
			if (done)
				done(arg, o->cookie, o->method, 408);
			continue;
		}
		if (o->len) {
			send(arg, o->data, o->len, (const struct sockaddr *)&o->peer, o->peer_len);
			t->st.retransmitted++;
		}
		/* Timer E: doubling up to T2; every T2 once proceeding */
		o->interval_ms =
		    o->proceeding || o->interval_ms * 2 > t->t2_ms ? t->t2_ms : o->interval_ms * 2;
		o->next_ms = now_ms + o->interval_ms;
		if (o->next_ms > o->deadline_ms)
			o->next_ms = o->deadline_ms;
	}
}
