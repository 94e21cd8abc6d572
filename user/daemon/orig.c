/*
 * orig.c - in-dialog requests that sipshard itself sends (see orig.h).
 *
 * A transaction's slot index and generation are written into the branch of
 * our Via, so that a response finds its transaction in O(1) and a response to
 * an earlier use of the slot is told apart.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daemon/orig.h"

void orig_init(struct orig_table *t, uint32_t seed)
{
	memset(t, 0, sizeof(*t));
	t->gen_seed = seed;
}

static void write_branch(char *out, size_t cap, uint32_t index, uint32_t gen)
{
	snprintf(out, cap, "%s%04x%08x", ORIG_BRANCH_PREFIX, (unsigned)index, (unsigned)gen);
}

bool orig_branch_is_ours(const char *buf, sip_view branch)
{
	size_t n = sizeof(ORIG_BRANCH_PREFIX) - 1;
	return branch.len > n && memcmp(buf + branch.off, ORIG_BRANCH_PREFIX, n) == 0;
}

/* The index and generation in a branch of ours; false unless it is exactly
 * prefix + 12 lower-case hex digits with an index in range. */
static bool read_branch(const char *s, size_t len, uint32_t *index, uint32_t *gen)
{
	size_t n = sizeof(ORIG_BRANCH_PREFIX) - 1;
	uint64_t v = 0;

	if (len != n + 12)
		return false;
	for (size_t i = n; i < len; i++) {
		char c = s[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else
			return false;
		v = v << 4 | d;
	}
	*index = (uint32_t)(v >> 32);
	*gen = (uint32_t)v;
	return *index < ORIG_SLOTS;
}

static void finish(struct orig_table *t, struct orig_txn *o)
{
	o->busy = false;
	t->busy--;
}

int orig_start(struct orig_table *t, struct relay_ctx *rc, struct sip_session *s,
	       const struct relay_req *req, uint64_t now_ms, char *scratch, size_t cap,
	       orig_send_fn send, void *arg)
{
	uint32_t index = t->next, gen = t->gen_seed + 1;
	struct orig_txn *o = &t->out[index];
	char branch[ORIG_BRANCH_MAX];

	write_branch(branch, sizeof(branch), index, gen);
	int n = relay_write_request(rc, s, req, branch, scratch, cap);
	if (n < 0)
		return n;
	if (o->busy) {
		/* every slot is busy: the oldest transaction gives its slot up */
		t->st.overwritten++;
		finish(t, o);
	}
	t->gen_seed = gen;
	t->next = (index + 1) % ORIG_SLOTS;
	o->gen = gen;
	o->method = req->method;
	o->busy = true;
	o->proceeding = false;
	o->interval_ms = ORIG_T1_MS;
	o->next_ms = now_ms + ORIG_T1_MS;
	o->deadline_ms = now_ms + ORIG_TIMER_F_MS;
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

void orig_on_response(struct orig_table *t, const struct sip_msg *m)
{
	uint32_t index, gen;
	const struct sip_via *v = &m->vias[0];

	if (!read_branch(m->buf + v->branch.off, v->branch.len, &index, &gen)) {
		t->st.stray++;
		return;
	}
	struct orig_txn *o = &t->out[index];
	if (!o->busy || o->gen != gen || m->cseq.method_id != o->method) {
		t->st.stray++; /* a retransmitted final, or one for a slot used again */
		return;
	}
	if (m->status < 200) {
		o->proceeding = true;
		return;
	}
	t->st.answered++;
	finish(t, o);
}

void orig_tick(struct orig_table *t, uint64_t now_ms, orig_send_fn send, void *arg)
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
			continue;
		}
		if (o->len) {
			send(arg, o->data, o->len, (const struct sockaddr *)&o->peer, o->peer_len);
			t->st.retransmitted++;
		}
		/* Timer E: doubling up to T2; every T2 once proceeding */
		o->interval_ms =
		    o->proceeding
			? ORIG_T2_MS
			: (o->interval_ms * 2 < ORIG_T2_MS ? o->interval_ms * 2 : ORIG_T2_MS);
		o->next_ms = now_ms + o->interval_ms;
		if (o->next_ms > o->deadline_ms)
			o->next_ms = o->deadline_ms;
	}
}
