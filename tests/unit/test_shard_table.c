/*
 * test_shard_table.c - per-shard tables and tokens: allocation is bounded and
 * counted, freeing and reusing a slot changes its generation so old tokens
 * stop matching, installing at a chosen slot keeps the free list whole, a
 * file-backed table closed and reopened keeps its dialogs and transactions
 * (and drops malformed records), a long-head pool gives its slots only to
 * the transactions that ask and takes them back wherever they are freed or
 * are lost at a re-attach, and the token decoders round-trip every
 * value and reject every one-byte mutation, wrong length and stray byte.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/mem.h"
#include "core/clock.h"
#include "shard/table.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd32(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

static void temp_path(char *path, size_t cap)
{
	snprintf(path, cap, "/tmp/sipshard-shard-table-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	unlink(path); /* shard_table_open creates it */
}

/* ---- dialogs ------------------------------------------------------------- */

static void test_dialog_alloc_until_full(void **state)
{
	enum { N = 100 };
	struct shard_table t;
	struct shard_table_usage u;
	uint32_t gen, gens[N];
	bool taken[N] = {false};
	(void)state;

	assert_int_equal(shard_table_open(&t, NULL, N, 8), 0);
	for (int i = 0; i < N; i++) {
		int s = shard_dialog_alloc(&t, 1000, &gen);
		assert_true(s >= 0 && s < N);
		assert_false(taken[s]);
		taken[s] = true;
		gens[s] = gen;
		struct shard_dialog *d = shard_dialog_get(&t, (uint32_t)s, gen);
		assert_non_null(d);
		assert_int_equal(d->state, SHARD_DLG_NEW);
		assert_int_equal(d->slot, (uint32_t)s);
		assert_int_equal(d->created_ms, 1000);
		assert_int_equal(d->timer, 0);
	}
	/* full: a bounded refusal, counted, never growth */
	for (int i = 0; i < 3; i++)
		assert_int_equal(shard_dialog_alloc(&t, 1000, &gen), -ENOSPC);
	shard_table_usage(&t, &u);
	assert_int_equal(u.dialogs_cap, N);
	assert_int_equal(u.dialogs_used, N);
	assert_int_equal(u.dialogs_peak, N);
	assert_int_equal(u.dialogs_full, 3);
	/* free and reuse: the slot comes back with another generation, and the
	 * old (slot, generation) no longer leads anywhere */
	shard_dialog_free(&t, 17);
	shard_dialog_free(&t, 17); /* twice is harmless */
	shard_dialog_free(&t, N);  /* out of range is ignored */
	assert_null(shard_dialog_get(&t, 17, gens[17]));
	shard_table_usage(&t, &u);
	assert_int_equal(u.dialogs_used, N - 1);
	int s = shard_dialog_alloc(&t, 2000, &gen);
	assert_int_equal(s, 17);
	assert_int_not_equal(gen, gens[17]);
	assert_null(shard_dialog_get(&t, 17, gens[17]));
	assert_non_null(shard_dialog_get(&t, 17, gen));
	/* many cycles on one slot: never a repeated generation */
	uint32_t prev = gen;
	for (int i = 0; i < 1000; i++) {
		shard_dialog_free(&t, 17);
		assert_int_equal(shard_dialog_alloc(&t, 3000, &gen), 17);
		assert_int_equal(gen, prev + 1);
		prev = gen;
	}
	/* hostile lookups */
	assert_null(shard_dialog_get(&t, N, gens[0]));
	assert_null(shard_dialog_get(&t, UINT32_MAX, gens[0]));
	assert_null(shard_dialog_get(&t, 0, gens[0] + 1));
	shard_table_usage(&t, &u);
	assert_int_equal(u.dialogs_peak, N);
	shard_table_close(&t);
}

static void fill_dialog(struct shard_dialog *d, uint32_t slot, uint32_t gen, const char *call_id)
{
	memset(d, 0, sizeof(*d));
	d->slot = slot;
	d->gen = gen;
	d->state = SHARD_DLG_EARLY;
	assert_true(SESSION_SET(&d->legs[SHARD_LEG_A], call_id, call_id, strlen(call_id)));
	/* the tag sipshard gives the caller: every install has one (an early
	 * dialog without it is a kept slot, shard_dialog_first_fork_retired) */
	assert_true(SESSION_SET(&d->legs[SHARD_LEG_A], local_tag, "a-tag", 5));
	assert_true(SESSION_SET(&d->legs[SHARD_LEG_B], call_id, "b-leg", 5));
}

/* A dialog as a real call has it: every string and both bodies of each leg. */
static void fill_call(struct shard_dialog *d, uint32_t slot, uint32_t gen)
{
	static const char *const sdp = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n"
				       "c=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
	fill_dialog(d, slot, gen, "3c26700e8a1f4b2d9e5c@10.20.30.40");
	d->refer_cseq = 17;
	d->requests[SIP_METHOD_INFO] = 3;
	for (int l = 0; l < 2; l++) {
		struct sip_session *s = &d->legs[l];
		s->local_cseq = 100u + (uint32_t)l;
		s->session_state = SESSION_STATE_EARLY;
		s->signaling_state = SIGNALING_STATE_HAVE_REMOTE_OFFER;
		s->peer.sin6_family = AF_INET6;
		s->peer.sin6_port = htons(5060);
		s->peer_len = sizeof(s->peer);
		assert_true(SESSION_SET(s, local_tag, l ? "lb" : "la", 2));
		assert_true(SESSION_SET(s, remote_tag, "8ab3d7c2", 8));
		assert_true(SESSION_SET(s, local_uri, "sip:+14155550123@sbc.example.net", 32));
		assert_true(SESSION_SET(s, remote_uri, "sip:+14085550199@carrier.example", 32));
		assert_true(SESSION_SET(s, remote_target, "sip:10.20.30.40:5080", 20));
		assert_true(SESSION_SET(s, route_set, "Route: <sip:198.51.100.17;lr>\r\n", 31));
		assert_true(session_body_set(&s->offer, "application/sdp", 15, sdp, strlen(sdp),
					     SESSION_BODY_MAX));
		assert_true(
		    session_body_set(&s->answer, "application/sdp", 15, sdp, 40, SESSION_BODY_MAX));
	}
}

/* Every field the packed form carries, compared by what is used. */
static void assert_same_session(const struct sip_session *x, const struct sip_session *y)
{
	assert_memory_equal(x, y, offsetof(struct sip_session, call_id));
	assert_string_equal(x->call_id, y->call_id);
	assert_string_equal(x->local_tag, y->local_tag);
	assert_string_equal(x->remote_tag, y->remote_tag);
	assert_string_equal(x->local_uri, y->local_uri);
	assert_string_equal(x->remote_uri, y->remote_uri);
	assert_string_equal(x->remote_target, y->remote_target);
	assert_string_equal(x->route_set, y->route_set);
	const struct session_body *bx[] = {&x->offer, &x->answer}, *by[] = {&y->offer, &y->answer};
	for (int i = 0; i < 2; i++) {
		assert_int_equal(bx[i]->len, by[i]->len);
		assert_int_equal(bx[i]->type_len, by[i]->type_len);
		assert_int_equal(bx[i]->dropped, by[i]->dropped);
		assert_memory_equal(bx[i]->type, by[i]->type, bx[i]->type_len);
		assert_memory_equal(bx[i]->data, by[i]->data, bx[i]->len);
	}
}

/* RFC 4028 section 10: the side that does not refresh ends the session
 * min(32, interval/3) s before the interval is over; whole seconds, never
 * early; 0 turns the timer off; a huge interval saturates. */
static void test_session_timer(void **state)
{
	struct shard_dialog d = {.created_ms = 5000};
	(void)state;

	shard_session_timer_start(&d, 5000, 90);
	assert_int_equal(shard_session_deadline(&d), 5000 + 60 * 1000);
	shard_session_timer_start(&d, 5001, 90); /* 1 ms in counts as 1 s */
	assert_int_equal(shard_session_deadline(&d), 5000 + 61 * 1000);
	shard_session_timer_start(&d, 5000, 1800);
	assert_int_equal(shard_session_deadline(&d), 5000 + 1768 * 1000);
	shard_session_timer_start(&d, 5000, 6);
	assert_int_equal(shard_session_deadline(&d), 5000 + 4 * 1000);
	shard_session_timer_start(&d, 5000, 2); /* a third is 0 s */
	assert_int_equal(shard_session_deadline(&d), 5000 + 2 * 1000);
	shard_session_timer_start(&d, 5000 + 3600000, 0);
	assert_int_equal(shard_session_deadline(&d), 0);
	shard_session_timer_start(&d, 5000 + 1000ull * UINT32_MAX, INT32_MAX);
	assert_int_equal(d.session_expires_at_s, UINT32_MAX);
	/* a clock behind the record's creation (a re-attached table) */
	shard_session_timer_start(&d, 1000, 90);
	assert_int_equal(shard_session_deadline(&d), 5000 + 60 * 1000);
}

/*
 * The in-dialog keep-alive's rounds (timers.dialog_keepalive_s): due a period
 * after the last activity, one period later for each round a leg is behind;
 * a leg that misses misses_max in a row ends the call; answers from both legs
 * count as activity, from one only do not.
 */
static void test_keepalive_rounds(void **state)
{
	struct shard_dialog d = {.state = SHARD_DLG_CONFIRMED, .last_activity_ms = 10000};
	uint64_t missed = 0;
	(void)state;

	assert_int_equal(shard_keepalive_deadline(&d, 0), 0); /* off */
	d.state = SHARD_DLG_EARLY;
	assert_int_equal(shard_keepalive_deadline(&d, 1000), 0); /* not a call yet */
	d.state = SHARD_DLG_CONFIRMED;
	assert_int_equal(shard_keepalive_deadline(&d, 1000), 11000);

	/* round 1: nothing owed yet; both legs are sent their OPTIONS */
	assert_false(shard_keepalive_round(&d, 2, 11000, 1000, &missed));
	assert_int_equal(missed, 0);
	assert_int_equal(shard_keepalive_behind(&d.legs[SHARD_LEG_A]), 1);
	assert_int_equal(shard_keepalive_behind(&d.legs[SHARD_LEG_B]), 1);
	assert_int_equal(shard_keepalive_deadline(&d, 1000), 12000);
	/* both answer: the call was active then, the next round a period later */
	shard_keepalive_answered(&d, SHARD_LEG_B, 11020);
	assert_int_equal(d.last_activity_ms, 10000); /* leg A still owes its answer */
	shard_keepalive_answered(&d, SHARD_LEG_A, 11030);
	assert_int_equal(d.last_activity_ms, 11030);
	assert_int_equal(shard_keepalive_deadline(&d, 1000), 12030);

	/* leg B goes silent: one round missed, then the second ends the call */
	assert_false(shard_keepalive_round(&d, 2, 12030, 1000, &missed));
	shard_keepalive_answered(&d, SHARD_LEG_A, 12040);
	assert_int_equal(d.last_activity_ms, 11030);
	assert_int_equal(shard_keepalive_behind(&d.legs[SHARD_LEG_B]), 1);
	assert_int_equal(shard_keepalive_deadline(&d, 1000), 13030);
	assert_false(shard_keepalive_round(&d, 2, 13030, 1000, &missed));
	assert_int_equal(missed, 1);
	assert_int_equal(shard_keepalive_behind(&d.legs[SHARD_LEG_A]), 1);
	assert_int_equal(shard_keepalive_behind(&d.legs[SHARD_LEG_B]), 2);
	assert_int_equal(shard_keepalive_deadline(&d, 1000), 14030);
	/* a late answer from leg B puts it right again; leg A, now the one
	 * furthest behind, must still get a whole period for this round */
	shard_keepalive_answered(&d, SHARD_LEG_B, 13500);
	assert_int_equal(shard_keepalive_behind(&d.legs[SHARD_LEG_B]), 0);
	assert_int_equal(d.last_activity_ms, 11030);		     /* leg A owes one */
	assert_int_equal(shard_keepalive_deadline(&d, 1000), 13030); /* its timer: 14030 */
	assert_false(shard_keepalive_round(&d, 2, 14030, 1000, &missed));
	assert_int_equal(missed, 2);
	assert_int_equal(shard_keepalive_behind(&d.legs[SHARD_LEG_A]), 2);
	assert_int_equal(shard_keepalive_deadline(&d, 1000), 15030); /* not 14030: at once */
	/* then nothing from either: the second round missed in a row ends it */
	assert_true(shard_keepalive_round(&d, 2, 15030, 1000, &missed));
	assert_int_equal(missed, 4);

	/* a round that comes late (a worker stalled, or a new process after a
	 * restart): the next is still a whole period after it */
	struct shard_dialog late = {.state = SHARD_DLG_CONFIRMED, .last_activity_ms = 10000};
	assert_false(shard_keepalive_round(&late, 3, 25000, 1000, &missed));
	assert_int_equal(shard_keepalive_deadline(&late, 1000), 26000);
	assert_false(shard_keepalive_round(&late, 3, 26000, 1000, &missed));
	assert_int_equal(shard_keepalive_deadline(&late, 1000), 27000);
	assert_true(late.last_activity_ms <= 26000); /* never ahead of the last round */

	/* a leg answering resets only itself */
	d.legs[SHARD_LEG_A].keepalive = SESSION_KEEPALIVE_PENDING | 5;
	d.legs[SHARD_LEG_B].keepalive = 0;
	shard_keepalive_answered(&d, SHARD_LEG_A, 20000);
	assert_int_equal(d.legs[SHARD_LEG_A].keepalive, 0);
	assert_int_equal(d.last_activity_ms, 20000);
	/* the count stops at its field's top: a limit above it still ends calls */
	d.legs[SHARD_LEG_A].keepalive = SESSION_KEEPALIVE_PENDING | SESSION_KEEPALIVE_MISSED;
	assert_true(shard_keepalive_round(&d, SESSION_KEEPALIVE_MISSED, 21000, 1000, &missed));
	assert_int_equal(d.legs[SHARD_LEG_A].keepalive, SESSION_KEEPALIVE_MISSED);
}

/*
 * A leg whose OPTIONS is challenged and goes again with credentials: the
 * round no longer waits (a copy of the challenge finds it over), the rounds
 * it missed before stay counted, and an OPTIONS again lost at Timer F is a
 * round missed, so that a proxy challenging each round in front of a phone
 * that is gone does not keep the call up for good.
 */
static void test_keepalive_challenged_retry_lost(void **state)
{
	struct shard_dialog d = {.state = SHARD_DLG_CONFIRMED, .last_activity_ms = 10000};
	uint64_t missed = 0;
	(void)state;

	for (int round = 1; round <= 3; round++) {
		uint64_t now = 10000 + 1000ull * (uint64_t)round;
		assert_false(shard_keepalive_round(&d, 3, now, 1000, &missed));
		shard_keepalive_answered(&d, SHARD_LEG_A, now + 10);
		/* leg B's proxy challenges: the round is over for leg B... */
		shard_keepalive_challenged(&d, SHARD_LEG_B);
		assert_false(d.legs[SHARD_LEG_B].keepalive & SESSION_KEEPALIVE_PENDING);
		assert_int_equal(shard_keepalive_behind(&d.legs[SHARD_LEG_B]), round - 1);
		/* ...and its OPTIONS again gets nothing: one more missed */
		shard_keepalive_retry_lost(&d, SHARD_LEG_B);
		assert_int_equal(shard_keepalive_behind(&d.legs[SHARD_LEG_B]), round);
	}
	assert_int_equal(missed, 0); /* no round found a leg waiting */
	/* three lost: the next round ends the call */
	assert_true(shard_keepalive_round(&d, 3, 14000, 1000, &missed));

	/* an OPTIONS again that is answered puts the leg right */
	d.legs[SHARD_LEG_B].keepalive = 2;
	shard_keepalive_answered(&d, SHARD_LEG_B, 15000);
	assert_int_equal(d.legs[SHARD_LEG_B].keepalive, 0);
	/* the count stops at its field's top, the waiting bit untouched */
	d.legs[SHARD_LEG_B].keepalive = SESSION_KEEPALIVE_MISSED;
	shard_keepalive_retry_lost(&d, SHARD_LEG_B);
	assert_int_equal(d.legs[SHARD_LEG_B].keepalive, SESSION_KEEPALIVE_MISSED);
}

/*
 * The packed install (what the controller sends a worker): a call's record
 * arrives whole in a fraction of its size, over a slot whose last occupant
 * left longer strings behind; every message cut short, with a length beyond
 * its field or with a byte too many is refused and leaves the table as it was;
 * unpacked (a query's answer) it is the record again.
 */
static void test_packed_install(void **state)
{
	static struct shard_dialog d, before, old;
	static char msg[SHARD_DIALOG_PACKED_MAX], bad[SHARD_DIALOG_PACKED_MAX + 1];
	struct shard_table t;
	struct shard_dialog *got = NULL;
	(void)state;

	assert_int_equal(shard_table_open(&t, NULL, 8, 8), 0);
	/* the slot's last occupant: longer strings, then freed */
	fill_call(&old, 3, 1);
	old.auth_key = 0x99; /* its route's credentials: not the next call's */
	memset(old.legs[SHARD_LEG_A].remote_target, 'x', 200);
	old.legs[SHARD_LEG_A].remote_target_len = 200;
	char uri[SHARD_CDR_URI_MAX + 50];
	memset(uri, 'u', sizeof(uri));
	shard_cdr_set(&old.cdr, "an-older-route-with-a-long-name", uri, sizeof(uri), 4);
	assert_int_equal(old.cdr.request_uri_len, SHARD_CDR_URI_MAX); /* cut, as CDRs cut */
	assert_int_equal(shard_dialog_install(&t, &old, 10), 0);
	shard_session_timer_start(&t.dialogs[3], 10, 90);
	shard_dialog_free(&t, 3);

	fill_call(&d, 3, 2);
	d.session_expires_at_s = 77; /* a query's answer carries it */
	d.auth_key = 0x5151;	     /* the controller's, for the worker */
	shard_cdr_set(&d.cdr, "carrier", "sip:+4420@sbc", 13, 1); /* for a restart's CDR */
	int n = shard_dialog_pack(&d, msg, sizeof(msg));
	assert_true(n > 0 && (size_t)n < sizeof(struct shard_dialog) / 4);
	assert_int_equal(shard_dialog_pack(&d, msg, sizeof(msg) - 1), -ENOSPC);

	memcpy(&before, &t.dialogs[3], sizeof(before));
	for (int cut = 0; cut < n; cut++)
		assert_int_equal(shard_dialog_install_packed(&t, msg, (size_t)cut, 20, NULL),
				 -EINVAL);
	memcpy(bad, msg, (size_t)n);
	assert_int_equal(shard_dialog_install_packed(&t, bad, (size_t)n + 1, 20, NULL), -EINVAL);
	/* a length beyond its field: leg B's call_id, then leg A's offer */
	const struct sip_session *a = &d.legs[SHARD_LEG_A];
	size_t leg_a = offsetof(struct shard_dialog, legs);
	size_t offer = leg_a + offsetof(struct sip_session, call_id) + a->call_id_len +
		       a->local_tag_len + a->remote_tag_len + a->local_uri_len + a->remote_uri_len +
		       a->remote_target_len + a->route_set_len;
	size_t leg_b = offer + 2 * offsetof(struct session_body, type) + a->offer.type_len +
		       a->offer.len + a->answer.type_len + a->answer.len;
	uint16_t huge = SESSION_CALL_ID_MAX, was;
	memcpy(&was, msg + leg_b + offsetof(struct sip_session, call_id_len), sizeof(was));
	assert_int_equal(was, d.legs[SHARD_LEG_B].call_id_len); /* the place is right */
	memcpy(bad + leg_b + offsetof(struct sip_session, call_id_len), &huge, sizeof(huge));
	assert_int_equal(shard_dialog_install_packed(&t, bad, (size_t)n, 20, NULL), -EINVAL);
	memcpy(bad, msg, (size_t)n);
	huge = SESSION_BODY_MAX + 1;
	memcpy(&was, msg + offer, sizeof(was)); /* session_body.len comes first */
	assert_int_equal(was, a->offer.len);
	memcpy(bad + offer, &huge, sizeof(huge));
	assert_int_equal(shard_dialog_install_packed(&t, bad, (size_t)n, 20, NULL), -EINVAL);
	/* the CDR's members, last: their lengths, then their bytes */
	size_t cdr = (size_t)n - offsetof(struct shard_dialog_cdr, route) - 7 - 13;
	memcpy(bad, msg, (size_t)n);
	assert_int_equal(bad[cdr + offsetof(struct shard_dialog_cdr, route_len)], 7);
	bad[cdr + offsetof(struct shard_dialog_cdr, route_len)] = SHARD_CDR_ROUTE_MAX;
	assert_int_equal(shard_dialog_install_packed(&t, bad, (size_t)n, 20, NULL), -EINVAL);
	memcpy(bad, msg, (size_t)n);
	bad[cdr + offsetof(struct shard_dialog_cdr, request_uri_len)] = SHARD_CDR_URI_MAX + 1;
	assert_int_equal(shard_dialog_install_packed(&t, bad, (size_t)n, 20, NULL), -EINVAL);
	memcpy(bad, msg, (size_t)n);
	bad[cdr + offsetof(struct shard_dialog_cdr, request_uri_len)] = 12; /* a byte left over */
	assert_int_equal(shard_dialog_install_packed(&t, bad, (size_t)n, 20, NULL), -EINVAL);
	assert_memory_equal(&t.dialogs[3], &before, sizeof(before));

	/* what a query's answer is unpacked into: a record left dirty by another */
	memcpy(&before, &old, sizeof(before));
	assert_int_equal(shard_dialog_unpack(&before, msg, (size_t)n - 1), -EINVAL);
	assert_int_equal(shard_dialog_unpack(&before, msg, (size_t)n), 0);
	assert_memory_equal(&before, &d, offsetof(struct shard_dialog, legs));
	for (int l = 0; l < 2; l++)
		assert_same_session(&before.legs[l], &d.legs[l]);
	assert_int_equal(before.session_expires_at_s, 77);
	assert_int_equal(before.auth_key, 0x5151);
	assert_string_equal(before.cdr.route, "carrier");
	assert_string_equal(before.cdr.request_uri, "sip:+4420@sbc");
	assert_int_equal(before.cdr.attempts, 1);

	assert_int_equal(shard_dialog_install_packed(&t, msg, (size_t)n, 20, &got), 0);
	assert_ptr_equal(got, &t.dialogs[3]);
	assert_int_equal(got->gen, 2);
	assert_int_equal(got->state, SHARD_DLG_EARLY);
	assert_int_equal(got->refer_cseq, 0); /* the worker's, afresh */
	assert_int_equal(got->requests[SIP_METHOD_INFO], 0);
	assert_int_equal(got->created_ms, 20);
	assert_int_equal(got->auth_key, 0x5151); /* the controller's, installed */
	/* so are the CDR's members, over the last occupant's longer ones */
	assert_string_equal(got->cdr.route, "carrier");
	assert_int_equal(got->cdr.route_len, 7);
	assert_string_equal(got->cdr.request_uri, "sip:+4420@sbc");
	assert_int_equal(got->cdr.request_uri_len, 13);
	assert_int_equal(got->cdr.attempts, 1);
	for (int l = 0; l < 2; l++)
		assert_same_session(&got->legs[l], &d.legs[l]);
	/* the session timer is the worker's: neither the last occupant's nor
	 * the packed one; an update (the 2xx) leaves the one the worker set */
	assert_int_equal(got->session_expires_at_s, 0);
	shard_session_timer_start(got, 1020, 90); /* 1 s in, 60 s of 90 */
	assert_int_equal(shard_session_deadline(got), 20 + 61 * 1000);
	/* the update (the 2xx) brings leg A's states and its offer and answer
	 * while the worker's copy waits for the INVITE's answer (none kept),
	 * not the CSeqs the worker took since */
	got->legs[SHARD_LEG_A].local_cseq = 9;
	session_body_clear(&got->legs[SHARD_LEG_A].answer);
	session_body_clear(&got->legs[SHARD_LEG_B].answer);
	d.state = SHARD_DLG_CONFIRMED;
	d.legs[SHARD_LEG_A].signaling_state = SIGNALING_STATE_STABLE;
	assert_true(session_body_set(&d.legs[SHARD_LEG_A].answer, "application/sdp", 15,
				     "v=0\r\no=callee\r\n", 16, SESSION_BODY_MAX));
	d.cdr.attempts = 2; /* the 2xx came from the second target */
	assert_int_equal(shard_dialog_install(&t, &d, 2000), 0);
	assert_int_equal(got->state, SHARD_DLG_CONFIRMED);
	assert_int_equal(got->cdr.attempts, 2);
	assert_string_equal(got->cdr.route, "carrier");
	assert_int_equal(shard_session_deadline(got), 20 + 61 * 1000);
	assert_int_equal(got->legs[SHARD_LEG_A].signaling_state, SIGNALING_STATE_STABLE);
	assert_int_equal(got->legs[SHARD_LEG_A].answer.len, 16);
	assert_memory_equal(got->legs[SHARD_LEG_A].answer.data, "v=0\r\no=callee\r\n", 16);
	assert_int_equal(got->legs[SHARD_LEG_A].offer.len, d.legs[SHARD_LEG_A].offer.len);
	assert_int_equal(got->legs[SHARD_LEG_A].local_cseq, 9);
	/* once the worker's copy has an answer, what the early dialog's PRACK or
	 * UPDATE set since is the worker's: an update leaves both legs' */
	for (int l = 0; l < 2; l++) {
		got->legs[l].signaling_state = SIGNALING_STATE_HAVE_REMOTE_OFFER - l;
		assert_true(session_body_set(&got->legs[l].offer, "application/sdp", 15,
					     "v=0\r\no=prack\r\n", 15, SESSION_BODY_MAX));
	}
	assert_int_equal(shard_dialog_install(&t, &d, 2100), 0);
	for (int l = 0; l < 2; l++) {
		assert_int_equal(got->legs[l].signaling_state,
				 SIGNALING_STATE_HAVE_REMOTE_OFFER - l);
		assert_int_equal(got->legs[l].offer.len, 15);
		assert_memory_equal(got->legs[l].offer.data, "v=0\r\no=prack\r\n", 15);
	}
	assert_int_equal(got->legs[SHARD_LEG_A].answer.len, 16);
	/* but a 2xx from another fork (another to-tag than the early dialog's)
	 * confirms another dialog: the offer/answer of the first fork's early
	 * dialog (its PRACK or UPDATE offer still open) is not that one's, and
	 * the controller's copy is taken, as for the CSeqs (update_leg_b) */
	assert_true(SESSION_SET(&d.legs[SHARD_LEG_B], remote_tag, "fork2", 5));
	assert_int_equal(shard_dialog_install(&t, &d, 2200), 0);
	assert_string_equal(got->legs[SHARD_LEG_B].remote_tag, "fork2");
	for (int l = 0; l < 2; l++) {
		assert_int_equal(got->legs[l].signaling_state, d.legs[l].signaling_state);
		assert_int_equal(got->legs[l].offer.len, d.legs[l].offer.len);
		assert_memory_equal(got->legs[l].offer.data, d.legs[l].offer.data,
				    d.legs[l].offer.len);
		assert_int_equal(got->legs[l].answer.len, d.legs[l].answer.len);
	}
	shard_table_close(&t);
}

/* A record cleared over another call reads and packs as a zeroed one: what
 * the controller does for each new call instead of a memset. */
static void test_clear_is_zero_to_every_reader(void **state)
{
	static struct shard_dialog d, zero;
	static char packed[SHARD_DIALOG_PACKED_MAX], packed_zero[SHARD_DIALOG_PACKED_MAX];
	(void)state;

	fill_call(&d, 3, 2);
	shard_cdr_set(&d.cdr, "route", "sip:x@y", 7, 2);
	shard_dialog_clear(&d);
	assert_memory_equal(&d, &zero, offsetof(struct shard_dialog, legs));
	for (int l = 0; l < 2; l++)
		assert_same_session(&d.legs[l], &zero.legs[l]);
	int n = shard_dialog_pack(&d, packed, sizeof(packed));
	assert_int_equal(n, shard_dialog_pack(&zero, packed_zero, sizeof(packed_zero)));
	assert_memory_equal(packed, packed_zero, (size_t)n);
}

static void test_install_keeps_free_list_whole(void **state)
{
	struct shard_table t;
	struct shard_dialog d;
	struct shard_table_usage u;
	uint32_t gen;
	(void)state;

	assert_int_equal(shard_table_open(&t, NULL, 8, 8), 0);
	/* another owner chose slots 0, 5 and 7 (head, middle and tail of the
	 * free list): alloc must never hand them out */
	uint32_t chosen[] = {0, 5, 7};
	for (int i = 0; i < 3; i++) {
		fill_dialog(&d, chosen[i], 40 + (uint32_t)i, "x@h");
		/* what only a worker sets starts afresh, whatever the record says */
		d.created_ms = d.timer = 99;
		d.requests[SIP_METHOD_BYE] = 4;
		d.sent_method = SIP_METHOD_INFO;
		d.sent_seq = 8;
		d.refer = SHARD_REFER_ACTIVE;
		d.refer_cseq = 6;
		assert_int_equal(shard_dialog_install(&t, &d, 500), 0);
		const struct shard_dialog *n = &t.dialogs[chosen[i]];
		assert_int_equal(n->created_ms, 500);
		assert_int_equal(n->timer, 0);
		assert_int_equal(n->requests[SIP_METHOD_BYE], 0);
		assert_int_equal(n->sent_method, 0);
		assert_int_equal(n->sent_seq, 0);
		assert_int_equal(n->refer, SHARD_REFER_NONE);
		assert_int_equal(n->refer_cseq, 0);
	}
	bool seen[8] = {false};
	for (int i = 0; i < 5; i++) {
		int s = shard_dialog_alloc(&t, 600, &gen);
		assert_true(s > 0 && s < 8 && s != 5 && s != 7);
		assert_false(seen[s]);
		seen[s] = true;
	}
	assert_int_equal(shard_dialog_alloc(&t, 600, &gen), -ENOSPC);
	shard_table_usage(&t, &u);
	assert_int_equal(u.dialogs_used, 8);
	/* install refuses what it must */
	fill_dialog(&d, 5, 99, "y@h");
	assert_int_equal(shard_dialog_install(&t, &d, 700), -EBUSY);
	fill_dialog(&d, 8, 1, "y@h");
	assert_int_equal(shard_dialog_install(&t, &d, 700), -EINVAL);
	fill_dialog(&d, 3, 1, "y@h");
	d.state = SHARD_DLG_FREE;
	assert_int_equal(shard_dialog_install(&t, &d, 700), -EINVAL);
	d.state = 200;
	assert_int_equal(shard_dialog_install(&t, &d, 700), -EINVAL);

	/* an update keeps leg A but for its states, creation time, counters
	 * and timer */
	struct shard_dialog *cur = shard_dialog_get(&t, 5, 41);
	assert_non_null(cur);
	cur->legs[SHARD_LEG_A].remote_cseq = 77;
	cur->legs[SHARD_LEG_A].session_state = SESSION_STATE_EARLY;
	cur->timer = 1234;
	shard_dialog_count(cur, SIP_METHOD_INFO);
	shard_dialog_count(cur, SIP_METHOD_INFO);
	shard_dialog_count(cur, SIP_METHOD_COUNT_ + 3); /* out of range: ignored */
	cur->sent_method = SIP_METHOD_INFO; /* the worker's: an INFO it sent, answered */
	cur->sent_leg = SHARD_LEG_B;
	cur->sent_status = 200;
	cur->sent_seq = 3;
	shard_refer_start(cur, SHARD_LEG_B, 9); /* the operator's transfer */
	cur->refer_status = 180;
	uint8_t refer = cur->refer;
	fill_dialog(&d, 5, 41, "other@h");
	d.state = SHARD_DLG_CONFIRMED;
	assert_true(SESSION_SET(&d.legs[SHARD_LEG_B], remote_tag, "callee", 6));
	/* the 2xx: the caller's side waits for its ACK, the offer was answered */
	d.legs[SHARD_LEG_A].session_state = SESSION_STATE_ACK_WAIT;
	d.legs[SHARD_LEG_A].signaling_state = SIGNALING_STATE_STABLE;
	assert_int_equal(shard_dialog_install(&t, &d, 900), 0);
	cur = shard_dialog_get(&t, 5, 41);
	assert_non_null(cur);
	assert_int_equal(cur->state, SHARD_DLG_CONFIRMED);
	assert_string_equal(cur->legs[SHARD_LEG_A].call_id, "x@h");
	assert_int_equal(cur->legs[SHARD_LEG_A].remote_cseq, 77);
	assert_int_equal(cur->legs[SHARD_LEG_A].session_state, SESSION_STATE_ACK_WAIT);
	assert_int_equal(cur->legs[SHARD_LEG_A].signaling_state, SIGNALING_STATE_STABLE);
	assert_string_equal(cur->legs[SHARD_LEG_B].remote_tag, "callee");
	assert_int_equal(cur->created_ms, 500);
	assert_int_equal(cur->last_activity_ms, 900);
	assert_int_equal(cur->timer, 1234);
	assert_int_equal(cur->requests[SIP_METHOD_INFO], 2);
	assert_int_equal(cur->sent_method, SIP_METHOD_INFO);
	assert_int_equal(cur->sent_leg, SHARD_LEG_B);
	assert_int_equal(cur->sent_status, 200);
	assert_int_equal(cur->sent_seq, 3);
	assert_int_equal(cur->refer, refer);
	assert_int_equal(cur->refer_status, 180);
	assert_int_equal(cur->refer_cseq, 9);
	/* freeing an installed slot puts it back for alloc */
	shard_dialog_free(&t, 7);
	assert_int_equal(shard_dialog_alloc(&t, 1000, &gen), 7);
	assert_int_not_equal(gen, 42);
	shard_table_close(&t);
}

/* ---- transactions ---------------------------------------------------------- */

/* A full table: the record answered longest ago gives way (answered ones
 * are kept only for retransmissions); one still waiting for its answer
 * never does, wherever it stands. Both lists expire by age, and a re-attach
 * puts each record back on its own list. */
static void test_txn_full_evicts_answered_only(void **state)
{
	enum { N = 8 };
	struct shard_table t;
	struct shard_table_usage u;
	uint32_t gens[N], gen;
	int slots[N];
	char path[64];
	(void)state;

	temp_path(path, sizeof(path));
	assert_int_equal(shard_table_open(&t, path, 4, N), 0);
	for (int i = 0; i < N; i++)
		slots[i] = shard_txn_alloc(&t, 100 + (uint64_t)i, &gens[i]);
	/* every one waits: refused, nothing evicted */
	assert_int_equal(shard_txn_alloc(&t, 200, &gen), -ENOSPC);
	/* 3, then 1, answered; 0, the oldest, still waits (a peer that is gone) */
	shard_txn_answered(&t, (uint32_t)slots[3], 2);
	shard_txn_answered(&t, (uint32_t)slots[1], 4);
	shard_txn_answered(&t, (uint32_t)slots[1], 2); /* once only */
	assert_int_equal(shard_txn_get(&t, (uint32_t)slots[1], gens[1])->final_class, 4);
	/* the first answered gives way first */
	int s3 = shard_txn_alloc(&t, 300, &gen);
	assert_int_equal(s3, slots[3]);
	assert_null(shard_txn_get(&t, (uint32_t)slots[3], gens[3]));
	assert_int_equal(shard_txn_get(&t, (uint32_t)s3, gen)->final_class, 0);
	/* a new process finds each record on its list (the answered ones in
	 * creation order: the order of their finals is not kept) */
	shard_table_close(&t);
	assert_int_equal(shard_table_open(&t, path, 4, N), 0);
	assert_int_equal(shard_txn_alloc(&t, 300, &gen), slots[1]);
	assert_non_null(shard_txn_get(&t, (uint32_t)slots[0], gens[0]));
	assert_int_equal(shard_txn_alloc(&t, 300, &gen), -ENOSPC);
	shard_table_usage(&t, &u);
	assert_int_equal(u.txns_evicted, 1); /* this process's; txns_full is the table's */
	assert_int_equal(u.txns_full, 2);
	assert_int_equal(u.txns_used, N);
	/* expiry by age on both lists: at 105 the waiting 0, 2 and 4 (100, 102,
	 * 104); at 106 the answered 5 (105), not yet the waiting 6 (106) */
	shard_txn_answered(&t, (uint32_t)slots[5], 2);
	for (int k = 0; k < 3; k++)
		assert_int_equal(shard_txn_expire(&t, 105, 0), 0);
	assert_int_equal(shard_txn_expire(&t, 105, 0), -EAGAIN);
	assert_null(shard_txn_get(&t, (uint32_t)slots[4], gens[4]));
	assert_int_equal(shard_txn_expire(&t, 106, 0), 0);
	assert_int_equal(shard_txn_expire(&t, 106, 0), -EAGAIN);
	assert_null(shard_txn_get(&t, (uint32_t)slots[5], gens[5]));
	assert_non_null(shard_txn_get(&t, (uint32_t)slots[6], gens[6]));
	/* freed from the middle of the answered list, then its last one */
	shard_txn_answered(&t, (uint32_t)slots[6], 2);
	shard_txn_answered(&t, (uint32_t)slots[7], 2);
	shard_txn_answered(&t, (uint32_t)s3, 2);
	shard_txn_free(&t, (uint32_t)slots[7]);
	shard_txn_free(&t, (uint32_t)s3);
	assert_int_equal(shard_txn_expire(&t, 107, 0), 0);
	assert_null(shard_txn_get(&t, (uint32_t)slots[6], gens[6]));
	while (shard_txn_expire(&t, UINT64_MAX, 0) == 0)
		;
	shard_table_usage(&t, &u);
	assert_int_equal(u.txns_used, 0);
	shard_table_close(&t);
	unlink(path);
}

static void test_txn_alloc_until_full_and_generations(void **state)
{
	enum { N = 64 };
	struct shard_table t;
	struct shard_table_usage u;
	uint32_t gen, gens[N], salts[N];
	int slots[N];
	(void)state;

	assert_int_equal(shard_table_open(&t, NULL, 4, N), 0);
	for (int i = 0; i < N; i++) {
		slots[i] = shard_txn_alloc(&t, 100, &gens[i]);
		assert_true(slots[i] >= 0 && slots[i] < N);
		struct shard_txn *x = shard_txn_get(&t, (uint32_t)slots[i], gens[i]);
		assert_non_null(x);
		assert_true(x->used);
		assert_int_equal(x->created_ms, 100);
		assert_int_equal(x->head_len, 0);
		salts[i] = x->salt;
	}
	/* salts are random-looking: not all equal, not sequential */
	int same = 0;
	for (int i = 1; i < N; i++)
		same += salts[i] == salts[i - 1] || salts[i] == salts[i - 1] + 1;
	assert_true(same < 2);
	assert_int_equal(shard_txn_alloc(&t, 100, &gen), -ENOSPC);
	shard_table_usage(&t, &u);
	assert_int_equal(u.txns_used, N);
	assert_int_equal(u.txns_full, 1);
	shard_txn_free(&t, (uint32_t)slots[3]);
	shard_txn_free(&t, (uint32_t)slots[3]);
	shard_txn_free(&t, UINT32_MAX);
	assert_null(shard_txn_get(&t, (uint32_t)slots[3], gens[3]));
	int again = shard_txn_alloc(&t, 200, &gen);
	assert_int_equal(again, slots[3]);
	assert_int_not_equal(gen, gens[3]);
	assert_null(shard_txn_get(&t, (uint32_t)again, gens[3]));
	assert_non_null(shard_txn_get(&t, (uint32_t)again, gen));
	assert_null(shard_txn_get(&t, N, gen));
	assert_null(shard_txn_get(&t, UINT32_MAX, gen));
	shard_table_close(&t);
}

static void test_txn_expiry_in_creation_order(void **state)
{
	struct shard_table t;
	uint32_t g[4];
	int s[4];
	(void)state;

	assert_int_equal(shard_table_open(&t, NULL, 4, 16), 0);
	for (int i = 0; i < 4; i++)
		s[i] = shard_txn_alloc(&t, 1000 + (uint64_t)i * 1000, &g[i]);
	shard_txn_free(&t, (uint32_t)s[1]);		       /* finished normally */
	assert_int_equal(shard_txn_expire(&t, 2500, 1000), 0); /* s[0], created 1000 */
	assert_null(shard_txn_get(&t, (uint32_t)s[0], g[0]));
	assert_int_equal(shard_txn_expire(&t, 2500, 1000), -EAGAIN); /* s[2] is young */
	assert_non_null(shard_txn_get(&t, (uint32_t)s[2], g[2]));
	assert_int_equal(shard_txn_expire(&t, 10000, 1000), 0);
	assert_non_null(shard_txn_get(&t, (uint32_t)s[3], g[3]));
	assert_int_equal(shard_txn_expire(&t, 10000, 1000), 0);
	assert_int_equal(shard_txn_expire(&t, 10000, 1000), -EAGAIN);
	assert_int_equal(t.hdr->txns_used, 0);
	shard_table_close(&t);
}

/* ---- file-backed tables ---------------------------------------------------- */

static void test_file_backed_reopen_keeps_dialogs(void **state)
{
	struct shard_table t, t2;
	struct shard_table_usage u;
	struct shard_dialog d;
	char path[64];
	uint32_t gen_a, gen_b, tg[3];
	int ts[3];
	(void)state;

	temp_path(path, sizeof(path));
	assert_int_equal(shard_table_open(&t, path, 64, 16), 0);
	/* one allocated here, one installed at a chosen slot */
	int sa = shard_dialog_alloc(&t, 1000, &gen_a);
	assert_true(sa >= 0);
	struct shard_dialog *da = shard_dialog_get(&t, (uint32_t)sa, gen_a);
	da->state = SHARD_DLG_CONFIRMED;
	assert_true(SESSION_SET(&da->legs[SHARD_LEG_A], call_id, "abc@h", 5));
	assert_true(SESSION_SET(&da->legs[SHARD_LEG_B], remote_target, "sip:b@127.0.0.1", 15));
	da->legs[SHARD_LEG_A].session_state = SESSION_STATE_CONFIRMED;
	da->legs[SHARD_LEG_B].signaling_state = SIGNALING_STATE_STABLE;
	assert_true(session_body_set(&da->legs[SHARD_LEG_B].offer, "application/sdp", 15, "v=0\r\n",
				     5, 512));
	da->timer = 99; /* belonged to this process's wheel */
	da->requests[SIP_METHOD_BYE] = 1;
	da->sent_method = SIP_METHOD_MESSAGE;
	da->sent_status = 408;
	shard_session_timer_start(da, 1000, 1800);
	shard_cdr_set(&da->cdr, "trunk", "sip:+15551234@sbc", 17, 3); /* the record's last field */
	fill_dialog(&d, 42, 3, "def@h");
	assert_int_equal(shard_dialog_install(&t, &d, 1000), 0);
	gen_b = 3;
	/* transactions in flight, created out of slot order */
	for (int i = 0; i < 3; i++)
		ts[i] = shard_txn_alloc(&t, 5000 - (uint64_t)i * 1000, &tg[i]);
	shard_txn_free(&t, (uint32_t)ts[0]);
	ts[0] = shard_txn_alloc(&t, 9000, &tg[0]);
	struct shard_txn *x = shard_txn_get(&t, (uint32_t)ts[1], tg[1]);
	memcpy(x->head, "Via: SIP/2.0/UDP a\r\n", 20);
	x->head_len = 20;
	x->in_cseq = 314;
	x->session_asked_s = 600;
	uint32_t salt1 = x->salt;

	/* the same path cannot be attached twice (one writer per shard), nor
	 * removed from under its writer */
	assert_int_equal(shard_table_open(&t2, path, 64, 16), -EBUSY);
	assert_int_equal(mem_file_remove(path), -EBUSY);
	assert_int_equal(access(path, F_OK), 0);
	shard_table_close(&t);

	/* a new process (here: a new open) finds everything where it was */
	assert_int_equal(shard_table_open(&t, path, 64, 16), 0);
	da = shard_dialog_get(&t, (uint32_t)sa, gen_a);
	assert_non_null(da);
	assert_string_equal(da->legs[SHARD_LEG_A].call_id, "abc@h");
	assert_string_equal(da->legs[SHARD_LEG_B].remote_target, "sip:b@127.0.0.1");
	assert_int_equal(da->legs[SHARD_LEG_B].offer.len, 5);
	assert_memory_equal(da->legs[SHARD_LEG_B].offer.data, "v=0\r\n", 5);
	assert_int_equal(da->legs[SHARD_LEG_B].signaling_state, SIGNALING_STATE_STABLE);
	assert_int_equal(da->requests[SIP_METHOD_BYE], 1);
	assert_int_equal(da->sent_method, SIP_METHOD_MESSAGE);
	assert_int_equal(da->sent_status, 408);
	assert_int_equal(da->timer, 0); /* the old wheel is gone */
	assert_int_equal(shard_session_deadline(da), 1000 + 1768 * 1000);
	assert_string_equal(da->cdr.route, "trunk");
	assert_string_equal(da->cdr.request_uri, "sip:+15551234@sbc");
	assert_int_equal(da->cdr.attempts, 3);
	assert_non_null(shard_dialog_get(&t, 42, gen_b));
	assert_string_equal(shard_dialog_get(&t, 42, gen_b)->legs[0].call_id, "def@h");
	x = shard_txn_get(&t, (uint32_t)ts[1], tg[1]);
	assert_non_null(x);
	assert_int_equal(x->in_cseq, 314);
	assert_int_equal(x->salt, salt1);
	assert_int_equal(x->session_asked_s, 600);
	assert_memory_equal(x->head, "Via: SIP/2.0/UDP a\r\n", 20);
	shard_table_usage(&t, &u);
	assert_int_equal(u.dialogs_used, 2);
	assert_int_equal(u.txns_used, 3);
	assert_int_equal(u.reattach_dropped, 0);
	/* free lists were rebuilt: new allocations avoid the used slots */
	for (int i = 0; i < 62; i++) {
		uint32_t g;
		int s = shard_dialog_alloc(&t, 2000, &g);
		assert_true(s >= 0 && s != sa && s != 42);
	}
	/* expiry order is creation order, not slot order: 3000, 4000, 9000 */
	assert_int_equal(shard_txn_expire(&t, 100000, 10), 0);
	assert_null(shard_txn_get(&t, (uint32_t)ts[2], tg[2]));
	assert_non_null(shard_txn_get(&t, (uint32_t)ts[1], tg[1]));
	assert_int_equal(shard_txn_expire(&t, 100000, 10), 0);
	assert_null(shard_txn_get(&t, (uint32_t)ts[1], tg[1]));
	assert_non_null(shard_txn_get(&t, (uint32_t)ts[0], tg[0]));
	shard_table_close(&t);

	/* a layout that does not match is refused, not misread */
	assert_int_equal(shard_table_open(&t, path, 128, 16), -EINVAL);
	assert_int_equal(shard_table_open(&t, path, 64, 17), -EINVAL);
	/* so is a file with the right size and a foreign header */
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	uint64_t junk = 0x1122334455667788ull;
	assert_int_equal(pwrite(fd, &junk, sizeof(junk), 0), sizeof(junk));
	close(fd);
	assert_int_equal(shard_table_open(&t, path, 64, 16), -EINVAL);
	/* with no writer it can be removed (--discard-dialogs), once */
	assert_int_equal(mem_file_remove(path), 0);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(mem_file_remove(path), -ENOENT);
}

/* The long-head pool: a slot only for a transaction that asks, given back
 * wherever the transaction is freed (free, expiry, eviction), none when every
 * slot is taken or there is no pool. */
static void test_long_heads_alloc_free_full(void **state)
{
	enum { NTXN = 16, NHEADS = 3 };
	struct shard_table t;
	struct shard_table_usage u;
	uint32_t g[NTXN];
	int s[NTXN];
	char *room[NHEADS];
	(void)state;

	/* no pool: every long head is refused */
	assert_int_equal(shard_table_open(&t, NULL, 4, NTXN), 0);
	s[0] = shard_txn_alloc(&t, 10, &g[0]);
	assert_null(shard_txn_long_head(&t, (uint32_t)s[0]));
	shard_table_usage(&t, &u);
	assert_int_equal(u.heads_cap, 0);
	shard_table_close(&t);

	assert_int_equal(shard_table_open_heads(&t, NULL, NULL, 4, NTXN, NHEADS), 0);
	for (int i = 0; i < 5; i++)
		s[i] = shard_txn_alloc(&t, 10 + (uint64_t)i, &g[i]);
	for (int i = 0; i < NHEADS; i++) {
		room[i] = shard_txn_long_head(&t, (uint32_t)s[i]);
		assert_non_null(room[i]);
		for (int j = 0; j < i; j++)
			assert_ptr_not_equal(room[i], room[j]);
		memset(room[i], 'a' + i, SHARD_HEAD_SLOT_MAX); /* the whole slot is its own */
		struct shard_txn *x = shard_txn_get(&t, (uint32_t)s[i], g[i]);
		assert_int_equal(x->head_len, SHARD_HEAD_SLOT_MAX);
		x->head_len = 5000;
		assert_ptr_equal(shard_txn_head(&t, x), room[i]);
		/* asked again, the same slot */
		assert_ptr_equal(shard_txn_long_head(&t, (uint32_t)s[i]), room[i]);
	}
	/* full, none answered: nothing gives way */
	assert_null(shard_txn_long_head(&t, (uint32_t)s[3]));
	assert_int_equal(shard_txn_get(&t, (uint32_t)s[3], g[3])->head_len, 0);
	shard_table_usage(&t, &u);
	assert_int_equal(u.heads_cap, NHEADS);
	assert_int_equal(u.heads_used, NHEADS);
	assert_int_equal(u.heads_peak, NHEADS);
	/* an inline head stays in its record */
	struct shard_txn *x3 = shard_txn_get(&t, (uint32_t)s[3], g[3]);
	x3->head_len = 20;
	assert_ptr_equal(shard_txn_head(&t, x3), x3->head);
	/* a slot not in use gets none */
	assert_null(shard_txn_long_head(&t, NTXN - 1));
	assert_null(shard_txn_long_head(&t, NTXN + 5));

	/* freed with its transaction: the next one takes it */
	shard_txn_free(&t, (uint32_t)s[1]);
	shard_table_usage(&t, &u);
	assert_int_equal(u.heads_used, NHEADS - 1);
	assert_ptr_equal(shard_txn_long_head(&t, (uint32_t)s[4]), room[1]);
	shard_txn_get(&t, (uint32_t)s[4], g[4])->head_len = 4000;
	/* the record freed and taken again has an inline head: it holds no slot */
	uint32_t g1;
	assert_int_equal(shard_txn_alloc(&t, 20, &g1), s[1]);
	assert_int_equal(shard_txn_get(&t, (uint32_t)s[1], g1)->head_len, 0);
	shard_txn_free(&t, (uint32_t)s[1]);
	shard_table_usage(&t, &u);
	assert_int_equal(u.heads_used, NHEADS);

	/* expiry frees the oldest (s[0], created at 10) and its slot */
	assert_int_equal(shard_txn_expire(&t, 1000, 100), 0);
	assert_null(shard_txn_get(&t, (uint32_t)s[0], g[0]));
	shard_table_usage(&t, &u);
	assert_int_equal(u.heads_used, NHEADS - 1);
	assert_ptr_equal(shard_txn_long_head(&t, (uint32_t)s[3]), room[0]);
	shard_txn_get(&t, (uint32_t)s[3], g[3])->head_len = 2000;

	/* eviction: with every record taken, the answered one gives way, and
	 * its slot with it */
	shard_txn_answered(&t, (uint32_t)s[2], 2);
	uint32_t gx;
	while (shard_txn_get(&t, (uint32_t)s[2], g[2]) && shard_txn_alloc(&t, 30, &gx) >= 0)
		;
	assert_null(shard_txn_get(&t, (uint32_t)s[2], g[2]));
	shard_table_usage(&t, &u);
	assert_int_equal(u.heads_used, NHEADS - 1);
	assert_int_equal(u.heads_peak, NHEADS);
	shard_table_close(&t);
}

/* With every slot taken, the transaction answered longest ago that holds
 * one gives it way (it is kept only for retransmissions); answered ones with
 * inline heads and unanswered ones keep theirs. Before, a peer whose every
 * request had long lines got 513 until the answered ones expired. */
static void test_long_heads_answered_give_way(void **state)
{
	enum { NTXN = 16, NHEADS = 2 };
	struct shard_table t;
	struct shard_table_usage u;
	uint32_t g[6];
	int s[6];
	(void)state;

	assert_int_equal(shard_table_open_heads(&t, NULL, NULL, 4, NTXN, NHEADS), 0);
	for (int i = 0; i < 6; i++)
		s[i] = shard_txn_alloc(&t, 10 + (uint64_t)i, &g[i]);
	/* s[0] answered with an inline head, s[1] and s[2] hold the slots */
	shard_txn_get(&t, (uint32_t)s[0], g[0])->head_len = 100;
	shard_txn_answered(&t, (uint32_t)s[0], 2);
	char *r1 = shard_txn_long_head(&t, (uint32_t)s[1]);
	char *r2 = shard_txn_long_head(&t, (uint32_t)s[2]);
	assert_non_null(r1);
	assert_non_null(r2);
	/* none holding a slot is answered: full */
	assert_null(shard_txn_long_head(&t, (uint32_t)s[3]));
	/* s[2] answered: it gives its slot to s[3]; s[0] keeps its record */
	shard_txn_answered(&t, (uint32_t)s[2], 2);
	assert_ptr_equal(shard_txn_long_head(&t, (uint32_t)s[3]), r2);
	assert_null(shard_txn_get(&t, (uint32_t)s[2], g[2]));
	assert_non_null(shard_txn_get(&t, (uint32_t)s[0], g[0]));
	assert_non_null(shard_txn_get(&t, (uint32_t)s[1], g[1]));
	shard_table_usage(&t, &u);
	assert_int_equal(u.heads_used, NHEADS);
	assert_int_equal(u.heads_evicted, 1);
	/* s[1] and s[3] unanswered: full again */
	assert_null(shard_txn_long_head(&t, (uint32_t)s[4]));
	shard_table_close(&t);
}

/* A long head kept in RUN_DIR's pool file is taken over with its table; a
 * slot and a transaction that do not name each other (a process killed
 * between the two writes, a slot lost) free what is left; a pool file of
 * another size is made anew, its transactions dropped as malformed; a build
 * without the pool (shard_table_open) drops them the same way. */
static void test_long_heads_reattach(void **state)
{
	struct shard_table t;
	struct shard_table_usage u;
	char path[64], heads[80];
	uint32_t g[4];
	int s[4];
	char *room;
	(void)state;

	temp_path(path, sizeof(path));
	snprintf(heads, sizeof(heads), "%s.heads", path);
	assert_int_equal(shard_table_open_heads(&t, path, heads, 4, 8, 4), 0);
	assert_false(t.heads_renewed);
	for (int i = 0; i < 4; i++)
		s[i] = shard_txn_alloc(&t, 10, &g[i]);
	/* s[0]: a long head, whole */
	room = shard_txn_long_head(&t, (uint32_t)s[0]);
	for (int i = 0; i < 3000; i++)
		room[i] = (char)('A' + i % 26);
	shard_txn_get(&t, (uint32_t)s[0], g[0])->head_len = 3000;
	/* s[1]: the slot was taken, the length never written */
	assert_non_null(shard_txn_long_head(&t, (uint32_t)s[1]));
	shard_txn_get(&t, (uint32_t)s[1], g[1])->head_len = 0;
	/* s[2]: names a slot that names another transaction */
	assert_non_null(shard_txn_long_head(&t, (uint32_t)s[2]));
	t.head_meta[2].txn_gen++;
	/* s[3]: names a slot past the pool */
	struct shard_txn *x3 = shard_txn_get(&t, (uint32_t)s[3], g[3]);
	uint32_t far = 77;
	memcpy(x3->head, &far, sizeof(far));
	x3->head_len = 1500;
	shard_table_close(&t);

	assert_int_equal(shard_table_open_heads(&t, path, heads, 4, 8, 4), 0);
	assert_false(t.heads_renewed);
	shard_table_usage(&t, &u);
	assert_int_equal(u.reattach_dropped, 2); /* s[2], s[3] */
	assert_int_equal(u.txns_used, 2);
	assert_int_equal(u.heads_used, 1);
	struct shard_txn *x0 = shard_txn_get(&t, (uint32_t)s[0], g[0]);
	assert_non_null(x0);
	assert_int_equal(x0->head_len, 3000);
	const char *h = shard_txn_head(&t, x0);
	for (int i = 0; i < 3000; i++)
		assert_int_equal(h[i], 'A' + i % 26);
	assert_non_null(shard_txn_get(&t, (uint32_t)s[1], g[1]));
	/* the three slots left are free again */
	for (int i = 0; i < 3; i++) {
		uint32_t gi;
		int si = shard_txn_alloc(&t, 20, &gi);
		assert_non_null(shard_txn_long_head(&t, (uint32_t)si));
		shard_txn_get(&t, (uint32_t)si, gi)->head_len = 2000;
	}
	uint32_t gl;
	int sl = shard_txn_alloc(&t, 20, &gl);
	assert_null(shard_txn_long_head(&t, (uint32_t)sl));
	shard_txn_free(&t, (uint32_t)sl);
	shard_table_close(&t);

	/* another capacity.long_heads_per_shard: the pool is made anew */
	assert_int_equal(shard_table_open_heads(&t, path, heads, 4, 8, 2), 0);
	assert_true(t.heads_renewed);
	shard_table_usage(&t, &u);
	assert_int_equal(u.heads_cap, 2);
	assert_int_equal(u.heads_used, 0);
	assert_int_equal(u.txns_used, 1);	 /* s[1], whose head was inline */
	assert_int_equal(u.reattach_dropped, 4); /* this start's: s[0] and the 3 taken since */
	room = shard_txn_long_head(&t, (uint32_t)s[1]);
	assert_non_null(room);
	shard_txn_get(&t, (uint32_t)s[1], g[1])->head_len = 1200;
	shard_table_close(&t);

	/* the same file with the same size and a foreign header: anew too */
	int fd = open(heads, O_RDWR);
	assert_true(fd >= 0);
	uint64_t junk = 0x1122334455667788ull;
	assert_int_equal(pwrite(fd, &junk, sizeof(junk), 0), sizeof(junk));
	close(fd);
	assert_int_equal(shard_table_open_heads(&t, path, heads, 4, 8, 2), 0);
	assert_true(t.heads_renewed);
	shard_table_usage(&t, &u);
	assert_int_equal(u.txns_used, 0);
	sl = shard_txn_alloc(&t, 30, &gl);
	assert_non_null(shard_txn_long_head(&t, (uint32_t)sl));
	shard_txn_get(&t, (uint32_t)sl, gl)->head_len = 1300;
	shard_table_close(&t);

	/* the table alone, as a build without the pool takes it over */
	assert_int_equal(shard_table_open(&t, path, 4, 8), 0);
	shard_table_usage(&t, &u);
	assert_int_equal(u.txns_used, 0);
	shard_table_close(&t);
	unlink(path);
	unlink(heads);
}

/* A confirmed call with this Call-ID installed in slot/gen of t; its record. */
static struct shard_dialog *install_call(struct shard_table *t, uint32_t slot, uint32_t gen,
					 const char *call_id)
{
	struct shard_dialog d;
	fill_dialog(&d, slot, gen, call_id);
	d.state = SHARD_DLG_CONFIRMED;
	assert_int_equal(shard_dialog_install(t, &d, 10), 0);
	struct shard_dialog *dl = shard_dialog_get(t, slot, gen);
	assert_non_null(dl);
	return dl;
}

/* The transaction of the last INVITE each leg of a dialog sent on
 * (shard_leg_take_request) is found while it waits for its final, whatever
 * that leg sent after it, and no more once answered, once its record is
 * another request's, or for another generation of the slot; a re-attach
 * finds it again from the transactions it keeps (the index is in the
 * process's memory). */
static void test_open_invite_found_by_its_leg(void **state)
{
	struct shard_table t;
	char path[64];
	uint32_t ginv, ginfo;
	(void)state;

	temp_path(path, sizeof(path));
	assert_int_equal(shard_table_open(&t, path, 4, 8), 0);
	struct shard_dialog *dl = install_call(&t, 2, 5, "open-invite");
	int inv = shard_txn_alloc(&t, 10, &ginv);
	assert_true(inv >= 0);
	struct shard_txn *x = shard_txn_get(&t, (uint32_t)inv, ginv);
	*x = (struct shard_txn){.gen = x->gen,
				.used = true,
				.leg = SHARD_LEG_B,
				.method_id = SIP_METHOD_INVITE,
				.dialog = 2,
				.dialog_gen = 5,
				.in_cseq = 7,
				.salt = x->salt,
				.created_ms = x->created_ms,
				.prev = x->prev,
				.next = x->next};
	shard_leg_take_request(&t, dl, SHARD_LEG_B, 7, SIP_METHOD_INVITE, (uint32_t)inv, ginv);
	int info = shard_txn_alloc(&t, 10, &ginfo);
	assert_true(info >= 0);
	shard_leg_take_request(&t, dl, SHARD_LEG_B, 8, SIP_METHOD_INFO, (uint32_t)info, ginfo);
	assert_ptr_equal(shard_txn_open_invite(&t, dl, SHARD_LEG_B), x);
	assert_null(shard_txn_open_invite(&t, dl, SHARD_LEG_A));
	shard_table_close(&t);

	assert_int_equal(shard_table_open(&t, path, 4, 8), 0);
	dl = shard_dialog_get(&t, 2, 5);
	assert_non_null(dl);
	x = shard_txn_get(&t, (uint32_t)inv, ginv);
	assert_ptr_equal(shard_txn_open_invite(&t, dl, SHARD_LEG_B), x);
	assert_null(shard_txn_open_invite(&t, dl, SHARD_LEG_A));
	/* another generation of the slot */
	dl->gen = 6;
	assert_null(shard_txn_open_invite(&t, dl, SHARD_LEG_B));
	dl->gen = 5;
	/* answered */
	shard_txn_answered(&t, (uint32_t)inv, 4);
	assert_null(shard_txn_open_invite(&t, dl, SHARD_LEG_B));
	/* freed, then its record another request's of that leg */
	shard_txn_free(&t, (uint32_t)inv);
	assert_null(shard_txn_open_invite(&t, dl, SHARD_LEG_B));
	assert_int_equal(shard_txn_alloc(&t, 20, &ginv), inv);
	x->leg = SHARD_LEG_B;
	x->method_id = SIP_METHOD_INFO;
	x->dialog = 2;
	x->dialog_gen = 5;
	assert_null(shard_txn_open_invite(&t, dl, SHARD_LEG_B));
	shard_table_close(&t);
	unlink(path);
}

/* A request of leg leg of dl with this CSeq and method through a new
 * transaction record of t, as relay.c takes it; its record. */
static struct shard_txn *leg_sends(struct shard_table *t, struct shard_dialog *dl, int leg,
				   uint32_t cseq, uint8_t method)
{
	uint32_t gen;
	int i = shard_txn_alloc(t, 10, &gen);
	assert_true(i >= 0);
	struct shard_txn *x = shard_txn_get(t, (uint32_t)i, gen);
	x->leg = (uint8_t)leg;
	x->method_id = method;
	x->dialog = dl->slot;
	x->dialog_gen = dl->gen;
	x->in_cseq = cseq;
	shard_leg_take_request(t, dl, leg, cseq, method, (uint32_t)i, gen);
	return x;
}

/* The last BYE of each leg is found as its last INVITE is (above), apart
 * from it: an INVITE, a BYE and an INFO after them, each found by its own
 * method and leg, again after a re-attach, and the BYE still once the
 * INVITE is answered, no more once answered itself. */
static void test_open_bye_found_by_its_leg(void **state)
{
	struct shard_table t;
	char path[64];
	(void)state;

	temp_path(path, sizeof(path));
	assert_int_equal(shard_table_open(&t, path, 4, 8), 0);
	struct shard_dialog *dl = install_call(&t, 2, 5, "open-bye");
	struct shard_txn *inv = leg_sends(&t, dl, SHARD_LEG_A, 7, SIP_METHOD_INVITE);
	struct shard_txn *bye = leg_sends(&t, dl, SHARD_LEG_A, 8, SIP_METHOD_BYE);
	leg_sends(&t, dl, SHARD_LEG_A, 9, SIP_METHOD_INFO);
	uint32_t inv_slot = (uint32_t)(inv - t.txns), bye_slot = (uint32_t)(bye - t.txns);
	uint32_t inv_gen = inv->gen, bye_gen = bye->gen;
	assert_ptr_equal(shard_txn_open_invite(&t, dl, SHARD_LEG_A), inv);
	assert_ptr_equal(shard_txn_open_bye(&t, dl, SHARD_LEG_A), bye);
	assert_null(shard_txn_open_bye(&t, dl, SHARD_LEG_B));
	shard_table_close(&t);

	assert_int_equal(shard_table_open(&t, path, 4, 8), 0);
	dl = shard_dialog_get(&t, 2, 5);
	assert_non_null(dl);
	inv = shard_txn_get(&t, inv_slot, inv_gen);
	bye = shard_txn_get(&t, bye_slot, bye_gen);
	assert_ptr_equal(shard_txn_open_invite(&t, dl, SHARD_LEG_A), inv);
	assert_ptr_equal(shard_txn_open_bye(&t, dl, SHARD_LEG_A), bye);
	assert_null(shard_txn_open_bye(&t, dl, SHARD_LEG_B));
	shard_txn_answered(&t, inv_slot, 4);
	assert_null(shard_txn_open_invite(&t, dl, SHARD_LEG_A));
	assert_ptr_equal(shard_txn_open_bye(&t, dl, SHARD_LEG_A), bye);
	shard_txn_answered(&t, bye_slot, 2);
	assert_null(shard_txn_open_bye(&t, dl, SHARD_LEG_A));
	shard_table_close(&t);
	unlink(path);
}

/* Each leg's last INVITE and last BYE in dialog slot 2 of t, as the index
 * names them while open: their record numbers, -1 where it names none.
 * Numbers, not pointers: a table opened again may be mapped elsewhere. */
static void open_of(struct shard_table *t, uint32_t gen, long got[2][2])
{
	struct shard_dialog *dl = shard_dialog_get(t, 2, gen);
	assert_non_null(dl);
	for (int leg = 0; leg < 2; leg++) {
		struct shard_txn *inv = shard_txn_open_invite(t, dl, leg);
		struct shard_txn *bye = shard_txn_open_bye(t, dl, leg);
		got[leg][0] = inv ? inv - t->txns : -1;
		got[leg][1] = bye ? bye - t->txns : -1;
	}
}

/* A re-attach names, for each leg, the transaction the running process
 * named: that leg's last INVITE and last BYE of the dialog the slot holds,
 * by CSeq, not by slot. Not a BYE of the slot's call before, still waiting
 * in a lower slot; not an earlier BYE of the leg still waiting, in a lower
 * slot, nor one hidden behind a later BYE answered since; and a later
 * INVITE in a lower slot than an earlier one answered is still found. */
static void test_reattach_names_each_legs_last_request(void **state)
{
	struct shard_table t;
	long before[2][2], after[2][2];
	char path[64];
	uint32_t gf;
	(void)state;

	temp_path(path, sizeof(path));
	assert_int_equal(shard_table_open(&t, path, 4, 16), 0);
	/* the slot's call before: its caller's BYE waits in record 0 */
	struct shard_txn *stale = leg_sends(&t, install_call(&t, 2, 5, "reattach-last-old"),
					    SHARD_LEG_A, 8, SIP_METHOD_BYE);
	assert_int_equal(stale - t.txns, 0);
	shard_dialog_free(&t, 2);
	struct shard_dialog *dl = install_call(&t, 2, 6, "reattach-last-new");
	/* this call's caller's BYE, in record 1 */
	struct shard_txn *bye_a = leg_sends(&t, dl, SHARD_LEG_A, 3, SIP_METHOD_BYE);
	/* the callee's two BYEs, both waiting, the earlier in the lower slot */
	struct shard_txn *bye_b1 = leg_sends(&t, dl, SHARD_LEG_B, 4, SIP_METHOD_BYE);
	struct shard_txn *bye_b2 = leg_sends(&t, dl, SHARD_LEG_B, 5, SIP_METHOD_BYE);
	assert_true(bye_b1 < bye_b2);
	/* the callee's INVITE answered, then its next one in a lower slot */
	int filler = shard_txn_alloc(&t, 10, &gf);
	assert_true(filler >= 0);
	struct shard_txn *inv_b1 = leg_sends(&t, dl, SHARD_LEG_B, 1, SIP_METHOD_INVITE);
	shard_txn_answered(&t, (uint32_t)(inv_b1 - t.txns), 2);
	shard_txn_free(&t, (uint32_t)filler);
	struct shard_txn *inv_b2 = leg_sends(&t, dl, SHARD_LEG_B, 2, SIP_METHOD_INVITE);
	assert_int_equal(inv_b2 - t.txns, filler);
	assert_true(inv_b2 < inv_b1);

	open_of(&t, 6, before);
	assert_int_equal(before[SHARD_LEG_A][1], bye_a - t.txns);
	assert_int_equal(before[SHARD_LEG_B][1], bye_b2 - t.txns);
	assert_int_equal(before[SHARD_LEG_B][0], inv_b2 - t.txns);
	assert_int_equal(before[SHARD_LEG_A][0], -1);
	shard_table_close(&t);

	assert_int_equal(shard_table_open(&t, path, 4, 16), 0);
	open_of(&t, 6, after);
	for (int leg = 0; leg < 2; leg++)
		for (int bye = 0; bye < 2; bye++)
			assert_int_equal(after[leg][bye], before[leg][bye]);
	/* the callee's later BYE answered: the earlier one, still waiting,
	 * is not named, before a re-attach nor after it */
	shard_txn_answered(&t, (uint32_t)before[SHARD_LEG_B][1], 2);
	open_of(&t, 6, before);
	assert_int_equal(before[SHARD_LEG_B][1], -1);
	shard_table_close(&t);
	assert_int_equal(shard_table_open(&t, path, 4, 16), 0);
	open_of(&t, 6, after);
	assert_int_equal(after[SHARD_LEG_B][1], -1);
	assert_int_equal(after[SHARD_LEG_A][1], before[SHARD_LEG_A][1]);
	shard_table_close(&t);
	unlink(path);
}

/* A table kept across a reboot (run_dir on a disk) holds times of the old
 * boot's monotonic clock, which restarts near 0: a transaction of that boot
 * must expire by this clock, not hold every newer one behind it (only the
 * oldest is looked at) until this boot's clock catches up. */
static void test_reattach_after_reboot_txns_expire(void **state)
{
	struct shard_table t;
	char path[64];
	uint32_t g_old, g_new;
	(void)state;

	temp_path(path, sizeof(path));
	assert_int_equal(shard_table_open(&t, path, 4, 16), 0);
	/* the old boot had been up 30 days more than this one has */
	uint64_t before = clock_mono_ms() + 30ull * 86400 * 1000;
	int s_old = shard_txn_alloc(&t, before, &g_old);
	assert_true(s_old >= 0);
	shard_table_close(&t);

	assert_int_equal(shard_table_open(&t, path, 4, 16), 0);
	uint64_t now = clock_mono_ms();
	int s_new = shard_txn_alloc(&t, now, &g_new); /* never answered: a peer gone */
	assert_true(s_new >= 0);
	/* 32 s later both are past the transaction timeout */
	uint64_t later = now + 32000;
	assert_int_equal(shard_txn_expire(&t, later, 32000 - 1), 0);
	assert_int_equal(shard_txn_expire(&t, later, 32000 - 1), 0);
	assert_null(shard_txn_get(&t, (uint32_t)s_new, g_new));
	assert_null(shard_txn_get(&t, (uint32_t)s_old, g_old));
	shard_table_close(&t);
	unlink(path);
}

/* Re-opens the n-slot (dialogs and transactions) table at path and checks
 * what its re-attach freed and kept. */
static void reopen_counting(struct shard_table *t, const char *path, uint32_t n, uint32_t dropped,
			    uint32_t dialogs, uint32_t txns)
{
	struct shard_table_usage u;

	assert_int_equal(shard_table_open(t, path, n, n), 0);
	shard_table_usage(t, &u);
	assert_int_equal(u.reattach_dropped, dropped);
	assert_int_equal(u.dialogs_used, dialogs);
	assert_int_equal(u.txns_used, txns);
}

/* Every flag a transaction record may hold is kept by a re-attach: one
 * whose request came from another address than its leg's peer
 * (SHARD_TXN_SRC) was dropped as malformed, its response lost at every
 * restart while it waited. A bit no flag has is still dropped. */
static void test_reattach_keeps_every_transaction_flag(void **state)
{
	struct shard_table t;
	struct shard_table_usage u;
	char path[64];
	uint32_t g1, g2;
	(void)state;

	temp_path(path, sizeof(path));
	assert_int_equal(shard_table_open(&t, path, 8, 8), 0);
	int a = shard_txn_alloc(&t, 10, &g1), b = shard_txn_alloc(&t, 10, &g2);
	t.txns[a].leg = SHARD_TXN_LEG_BITS;
	t.txns[b].leg = 0x80;
	shard_table_close(&t);

	assert_int_equal(shard_table_open(&t, path, 8, 8), 0);
	shard_table_usage(&t, &u);
	assert_int_equal(u.reattach_dropped, 1);
	assert_non_null(shard_txn_get(&t, (uint32_t)a, g1));
	assert_int_equal(shard_txn_get(&t, (uint32_t)a, g1)->leg, SHARD_TXN_LEG_BITS);
	assert_null(shard_txn_get(&t, (uint32_t)b, g2));
	shard_table_close(&t);
	unlink(path);
}

static void test_reattach_drops_malformed_records(void **state)
{
	struct shard_table t;
	struct shard_table_usage u;
	char path[64];
	uint32_t g[7];
	int s[7];
	(void)state;

	temp_path(path, sizeof(path));
	assert_int_equal(shard_table_open(&t, path, 8, 8), 0);
	for (int i = 0; i < 7; i++) {
		s[i] = shard_dialog_alloc(&t, 10, &g[i]);
		assert_true(SESSION_SET(&t.dialogs[s[i]].legs[0], call_id, "c@h", 3));
	}
	/* what a torn write or a stray byte could leave behind */
	t.dialogs[s[0]].legs[0].call_id_len = SESSION_CALL_ID_MAX;
	t.dialogs[s[1]].legs[1].offer.len = SESSION_BODY_MAX + 1;
	t.dialogs[s[2]].slot = 7;
	t.dialogs[s[4]].sent_leg = 7; /* a leg no call has */
	t.dialogs[s[5]].cdr.route_len = SHARD_CDR_ROUTE_MAX;
	t.dialogs[s[6]].cdr.request_uri_len = SHARD_CDR_URI_MAX + 1;
	uint32_t tg;
	int x = shard_txn_alloc(&t, 10, &tg);
	t.txns[x].head_len = SHARD_TXN_HEAD_MAX + 1;
	/* a bool holding a byte that is no bool */
	uint32_t tg2;
	int x2 = shard_txn_alloc(&t, 10, &tg2);
	memset(&t.txns[x2].used, 7, 1);
	/* and a list header pointing nowhere: it is rebuilt, not trusted */
	t.hdr->dlg_free = 12345;
	t.hdr->txn_oldest = 999;
	shard_table_close(&t);

	reopen_counting(&t, path, 8, 8, 1, 0);
	assert_non_null(shard_dialog_get(&t, (uint32_t)s[3], g[3]));
	assert_null(shard_dialog_get(&t, (uint32_t)s[0], g[0]));
	for (int i = 0; i < 7; i++) {
		uint32_t gg;
		assert_true(shard_dialog_alloc(&t, 20, &gg) >= 0);
	}
	uint32_t gg;
	assert_int_equal(shard_dialog_alloc(&t, 20, &gg), -ENOSPC);
	assert_int_equal(shard_txn_expire(&t, 1000000, 1), -EAGAIN);
	shard_table_close(&t);

	/* the next start finds nothing malformed: it says so, not the last
	 * start's count again (the daemon logs it as freed at this start) */
	assert_int_equal(shard_table_open(&t, path, 8, 8), 0);
	shard_table_usage(&t, &u);
	assert_int_equal(u.reattach_dropped, 0);
	assert_int_equal(u.dialogs_used, 8);
	shard_table_close(&t);
	unlink(path);
}

/*
 * The high-water marks in a re-attached header are no more trusted than the
 * records: records past a mark are walked too when the file holds data
 * there. A damaged header with marks below the records in use once left
 * those records unchecked (a malformed one handed out by slot), freed into
 * the free list (dialogs_used wrapped below zero) and given out twice when
 * the mark rose over them again.
 */
static void test_reattach_walks_records_past_a_low_mark(void **state)
{
	struct shard_table t;
	struct shard_table_usage u;
	char path[64];
	uint32_t g[4], tg[2];
	int s[4], x[2];
	(void)state;

	temp_path(path, sizeof(path));
	assert_int_equal(shard_table_open(&t, path, 8, 8), 0);
	for (int i = 0; i < 4; i++) {
		s[i] = shard_dialog_alloc(&t, 10, &g[i]);
		assert_int_equal(s[i], i);
		assert_true(SESSION_SET(&t.dialogs[i].legs[0], call_id, "c@h", 3));
	}
	for (int i = 0; i < 2; i++) {
		x[i] = shard_txn_alloc(&t, 10, &tg[i]);
		assert_int_equal(x[i], i);
	}
	t.dialogs[3].legs[1].remote_target_len = 60000; /* malformed */
	t.txns[1].head_len = 8000;			/* names a long head, with no pool */
	t.hdr->dlg_hwm = 2;
	t.hdr->txn_hwm = 1;
	shard_table_close(&t);

	reopen_counting(&t, path, 8, 2, 3, 1);
	assert_non_null(shard_dialog_get(&t, 2, g[2]));
	assert_null(shard_dialog_get(&t, 3, g[3]));
	assert_non_null(shard_txn_get(&t, 0, tg[0]));
	assert_null(shard_txn_get(&t, 1, tg[1]));
	for (int i = 0; i < 3; i++)
		shard_dialog_free(&t, (uint32_t)i);
	shard_table_usage(&t, &u);
	assert_int_equal(u.dialogs_used, 0);
	/* eight slots, each given out once */
	bool taken[8] = {false};
	for (int i = 0; i < 8; i++) {
		uint32_t gg;
		int k = shard_dialog_alloc(&t, 20, &gg);
		assert_true(k >= 0 && k < 8);
		assert_false(taken[k]);
		taken[k] = true;
	}
	uint32_t gg;
	assert_int_equal(shard_dialog_alloc(&t, 20, &gg), -ENOSPC);
	shard_table_close(&t);
	unlink(path);
}

/* The operator's requests still waiting for their finals when the process
 * stopped: their transactions went with it (orig.c), so a re-attach says
 * they are lost instead of leaving them waiting for ever; a REFER's
 * transfer then starts its Timer N, so that it ends too when no NOTIFY
 * comes. Finals that came, and a transfer a NOTIFY reached, stay. */
static void test_reattach_resolves_requests_sent_before(void **state)
{
	enum {
		INFO_WAITING,
		MESSAGE_ANSWERED,
		REFER_WAITING,
		REFER_NOTIFIED,
		NOTHING_SENT,
		REFER_THEN_INFO,
		N
	};
	struct shard_table t;
	char path[64];
	uint32_t g[N];
	int s[N];
	(void)state;

	temp_path(path, sizeof(path));
	assert_int_equal(shard_table_open(&t, path, 8, 8), 0);
	for (int i = 0; i < N; i++) {
		s[i] = shard_dialog_alloc(&t, 10, &g[i]);
		assert_true(s[i] >= 0);
		t.dialogs[s[i]].state = SHARD_DLG_CONFIRMED;
	}
	struct shard_dialog *d = &t.dialogs[s[INFO_WAITING]];
	d->sent_method = SIP_METHOD_INFO;
	d->sent_leg = SHARD_LEG_B;
	d->sent_seq = 4;
	d = &t.dialogs[s[MESSAGE_ANSWERED]];
	d->sent_method = SIP_METHOD_MESSAGE;
	d->sent_status = 200;
	d = &t.dialogs[s[REFER_WAITING]];
	d->sent_method = SIP_METHOD_REFER;
	shard_refer_start(d, SHARD_LEG_A, 7);
	d = &t.dialogs[s[REFER_NOTIFIED]];
	d->sent_method = SIP_METHOD_REFER;
	shard_refer_start(d, SHARD_LEG_B, 3);
	shard_refer_notified(d, 100); /* its NOTIFY overtook the 2xx */
	/* a REFER still waiting when the operator sent an INFO (answered) */
	d = &t.dialogs[s[REFER_THEN_INFO]];
	shard_refer_start(d, SHARD_LEG_A, 5);
	d->sent_method = SIP_METHOD_INFO;
	d->sent_status = 200;
	shard_table_close(&t);

	uint64_t before = clock_mono_ms();
	assert_int_equal(shard_table_open(&t, path, 8, 8), 0);
	const struct shard_dialog *info =
	    shard_dialog_get(&t, (uint32_t)s[INFO_WAITING], g[INFO_WAITING]);
	assert_non_null(info);
	assert_int_equal(info->sent_status, SHARD_SENT_LOST);
	assert_int_equal(info->sent_method, SIP_METHOD_INFO); /* what it was, kept */
	assert_int_equal(info->sent_leg, SHARD_LEG_B);
	assert_int_equal(info->sent_seq, 4);
	assert_int_equal(t.dialogs[s[MESSAGE_ANSWERED]].sent_status, 200);
	assert_int_equal(t.dialogs[s[NOTHING_SENT]].sent_method, 0);
	assert_int_equal(t.dialogs[s[NOTHING_SENT]].sent_status, 0);
	/* the REFER: lost, its transfer still active, with Timer N from the
	 * re-attach (64*T1 = 32 s here) */
	const struct shard_dialog *refer = &t.dialogs[s[REFER_WAITING]];
	assert_int_equal(refer->sent_status, SHARD_SENT_LOST);
	assert_int_equal(refer->refer & SHARD_REFER_STATE, SHARD_REFER_ACTIVE);
	assert_true(refer->refer & SHARD_REFER_TIMER_N);
	uint64_t now = clock_mono_ms();
	uint64_t at = shard_refer_deadline(refer, now, 32000);
	assert_true(at >= before + 32000 && at <= now + 33000);
	assert_int_equal(shard_refer_status(refer), 0); /* "status": null, no NOTIFY yet */
	/* one a NOTIFY reached: lost too, its transfer as the NOTIFY left it */
	refer = &t.dialogs[s[REFER_NOTIFIED]];
	assert_int_equal(refer->sent_status, SHARD_SENT_LOST);
	assert_false(refer->refer & SHARD_REFER_TIMER_N);
	assert_int_equal(shard_refer_status(refer), 100);
	/* a REFER without its final, an INFO sent after it: its transfer's
	 * Timer N starts too, or it is shown active for the rest of the call */
	refer = &t.dialogs[s[REFER_THEN_INFO]];
	assert_int_equal(refer->sent_status, 200);
	assert_int_equal(refer->refer & SHARD_REFER_STATE, SHARD_REFER_ACTIVE);
	assert_true(refer->refer & SHARD_REFER_TIMER_N);
	shard_table_close(&t);

	/* a later start finds nothing more to resolve: all stays */
	assert_int_equal(shard_table_open(&t, path, 8, 8), 0);
	assert_int_equal(t.dialogs[s[INFO_WAITING]].sent_status, SHARD_SENT_LOST);
	assert_int_equal(t.dialogs[s[MESSAGE_ANSWERED]].sent_status, 200);
	assert_int_equal(t.dialogs[s[NOTHING_SENT]].sent_status, 0);
	shard_table_close(&t);
	unlink(path);
}

static void test_open_rejects_bad_arguments(void **state)
{
	struct shard_table t;
	(void)state;
	assert_int_equal(shard_table_open(&t, NULL, 0, 8), -EINVAL);
	assert_int_equal(shard_table_open(&t, NULL, 8, 0), -EINVAL);
	assert_int_equal(shard_table_open(&t, NULL, UINT32_MAX, 8), -EINVAL);
	assert_true(shard_table_open(&t, "/nonexistent-dir/x/table", 8, 8) < 0);
	assert_true(shard_table_bytes(8, 8) >= 8 * shard_dialog_bytes() + 8 * shard_txn_bytes());
}

/* Only the pages of slots in use are touched: a big table costs address
 * space, not memory, and its file stays sparse (also across a re-attach). */
static long rss_pages(void)
{
	long size = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%ld %ld", &size, &rss), 2);
	fclose(f);
	return rss;
}

static void test_big_tables_touch_only_used_pages(void **state)
{
	struct shard_table t;
	struct stat st;
	char path[64];
	uint32_t gen;
	const long page = sysconf(_SC_PAGESIZE);
	(void)state;

	long before = rss_pages();
	assert_int_equal(shard_table_open(&t, NULL, 65536, 65536), 0);
	assert_true(t.map_len > 500u * 1024 * 1024);
	for (int i = 0; i < 10; i++) {
		assert_true(shard_dialog_alloc(&t, 1, &gen) >= 0);
		assert_true(shard_txn_alloc(&t, 1, &gen) >= 0);
	}
	long grown = (rss_pages() - before) * page;
	assert_true(grown < 8 * 1024 * 1024);
	shard_table_close(&t);

	temp_path(path, sizeof(path));
	assert_int_equal(shard_table_open(&t, path, 16384, 16384), 0);
	for (int i = 0; i < 3; i++)
		assert_true(shard_dialog_alloc(&t, 1, &gen) >= 0);
	shard_table_close(&t);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size > 100 * 1024 * 1024);
	assert_true((long long)st.st_blocks * 512 < 4 * 1024 * 1024);
	assert_int_equal(shard_table_open(&t, path, 16384, 16384), 0);
	/* the re-attach looks past the marks for data (a damaged header's
	 * marks, test_reattach_walks_records_past_a_low_mark), not through the
	 * holes: the mark covers what the file system holds as data (a page
	 * on tmpfs, an extent on ext4), and stays there from one start to the
	 * next */
	uint32_t mark = t.hdr->dlg_hwm;
	assert_true(mark >= 3 && (size_t)mark * shard_dialog_bytes() < 4 * 1024 * 1024);
	assert_int_equal(t.hdr->txn_hwm, 0);
	shard_table_close(&t);
	assert_int_equal(shard_table_open(&t, path, 16384, 16384), 0);
	assert_int_equal(t.hdr->dlg_hwm, mark);
	shard_table_close(&t);
	assert_int_equal(stat(path, &st), 0);
	assert_true((long long)st.st_blocks * 512 < 4 * 1024 * 1024);
	unlink(path);
}

/* ---- tokens ----------------------------------------------------------------- */

typedef int (*decode_fn)(const char *s, size_t len, uint8_t *sh, uint32_t *slot, uint32_t *gen,
			 uint32_t *extra);

static int tag_dec(const char *s, size_t len, uint8_t *sh, uint32_t *slot, uint32_t *gen,
		   uint32_t *extra)
{
	*extra = 0;
	return shard_tag_decode(s, len, sh, slot, gen);
}

static int tag_enc(char *out, size_t cap, uint8_t sh, uint32_t slot, uint32_t gen, uint32_t x)
{
	return shard_tag_encode(out, cap, sh, slot, gen, x);
}

/* The keep-alive's token with its leg as the slot's top bit, so that the
 * round trip covers the leg and every slot below 2^31. */
static int ka_enc(char *out, size_t cap, uint8_t sh, uint32_t slot, uint32_t gen, uint32_t x)
{
	return shard_keepalive_encode(out, cap, sh, slot & 0x7fffffff, gen,
				      slot >> 31 ? SHARD_LEG_B : SHARD_LEG_A, x);
}

static int ka_dec(const char *s, size_t len, uint8_t *sh, uint32_t *slot, uint32_t *gen,
		  uint32_t *extra)
{
	uint8_t sh2;
	uint32_t slot2, gen2, extra2;
	int leg, rc = shard_keepalive_decode(s, len, &sh2, &slot2, &gen2, &leg, &extra2);
	if (rc)
		return rc;
	*sh = sh2;
	*slot = slot2 | (leg == SHARD_LEG_B ? 1u << 31 : 0);
	*gen = gen2;
	*extra = extra2;
	return 0;
}

struct kind {
	const char *name;
	int (*enc)(char *, size_t, uint8_t, uint32_t, uint32_t, uint32_t);
	decode_fn dec;
	size_t len;
	const char *prefix;
};

static const struct kind kinds[] = {
    {"tag", tag_enc, tag_dec, SHARD_TAG_LEN, "k"},
    {"branch", shard_branch_encode, shard_branch_decode, SHARD_BRANCH_LEN, "z9hG4bK"},
    {"orig", shard_orig_encode, shard_orig_decode, SHARD_ORIG_LEN, "z9hG4bKsb"},
    {"keepalive", ka_enc, ka_dec, SHARD_KEEPALIVE_LEN, "z9hG4bKsk"},
};

static void test_tokens_round_trip(void **state)
{
	char tok[SHARD_BRANCH_MAX + 8];
	uint8_t sh;
	uint32_t slot, gen, extra;
	static const uint32_t edge[] = {0,   1,		 2,	     15,	 16,	    255,
					256, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff};
	const size_t ne = sizeof(edge) / sizeof(edge[0]);
	(void)state;

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		const struct kind *K = &kinds[k];
		for (uint32_t i = 0; i < 20000; i++) {
			uint8_t s_in = (uint8_t)rnd32();
			uint32_t sl = i < ne * ne ? edge[i % ne] : rnd32();
			uint32_t g = i < ne * ne ? edge[i / ne] : rnd32();
			uint32_t x = rnd32();
			assert_int_equal(K->enc(tok, sizeof(tok), s_in, sl, g, x), (int)K->len);
			assert_int_equal(strlen(tok), K->len);
			assert_memory_equal(tok, K->prefix, strlen(K->prefix));
			for (size_t j = strlen(K->prefix); j < K->len; j++)
				assert_true((tok[j] >= '0' && tok[j] <= '9') ||
					    (tok[j] >= 'a' && tok[j] <= 'z'));
			assert_int_equal(K->dec(tok, K->len, &sh, &slot, &gen, &extra), 0);
			assert_int_equal(sh, s_in);
			assert_int_equal(slot, sl);
			assert_int_equal(gen, g);
			if (k != 0)
				assert_int_equal(extra, x);
		}
		/* exactly len + 1 bytes are needed */
		assert_int_equal(K->enc(tok, K->len, 1, 2, 3, 4), -ENOSPC);
		assert_int_equal(K->enc(NULL, 0, 1, 2, 3, 4), -ENOSPC);
		assert_int_equal(K->enc(tok, K->len + 1, 1, 2, 3, 4), (int)K->len);
	}
	/* the branch carries the RFC 3261 magic cookie */
	shard_branch_encode(tok, sizeof(tok), 1, 2, 3, 4);
	assert_memory_equal(tok, "z9hG4bK", 7);
	/* the same slot and generation with other salts gives other tokens, and
	 * consecutive slots do not give tokens that differ in one digit */
	char a[SHARD_TAG_MAX], b[SHARD_TAG_MAX];
	shard_tag_encode(a, sizeof(a), 0, 100, 1, 0x1111);
	shard_tag_encode(b, sizeof(b), 0, 100, 1, 0x1112);
	assert_string_not_equal(a, b);
	shard_tag_encode(b, sizeof(b), 0, 101, 1, 0x1111);
	int diff = 0;
	for (size_t i = 0; i < SHARD_TAG_LEN; i++)
		diff += a[i] != b[i];
	assert_true(diff > 4);
}

static void test_tokens_reject_mutations(void **state)
{
	char tok[SHARD_BRANCH_MAX], bad[SHARD_BRANCH_MAX + 16];
	uint8_t sh;
	uint32_t slot, gen, extra;
	(void)state;

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		const struct kind *K = &kinds[k];
		sh = 0xaa;
		slot = gen = extra = 0xaaaaaaaa;
		for (int round = 0; round < 8; round++) {
			K->enc(tok, sizeof(tok), (uint8_t)rnd32(), rnd32() % 4096, rnd32(),
			       rnd32());
			/* every byte value at every position: every change is refused,
			 * and a refused decode leaves the outputs alone */
			for (size_t i = 0; i < K->len; i++) {
				for (int c = 0; c < 256; c++) {
					if (tok[i] == (char)c)
						continue;
					memcpy(bad, tok, K->len);
					bad[i] = (char)c;
					assert_int_equal(
					    K->dec(bad, K->len, &sh, &slot, &gen, &extra), -EINVAL);
				}
			}
			assert_int_equal(sh, 0xaa);
			assert_int_equal(slot, 0xaaaaaaaa);
			assert_int_equal(gen, 0xaaaaaaaa);
			assert_int_equal(extra, k == 0 ? 0 : 0xaaaaaaaa);
			/* every wrong length: cut short, or with anything after it */
			memcpy(bad, tok, K->len);
			memset(bad + K->len, '0', 16);
			for (size_t n = 0; n < K->len + 16; n++)
				if (n != K->len)
					assert_int_equal(K->dec(bad, n, &sh, &slot, &gen, &extra),
							 -EINVAL);
			/* swapping two different neighbouring digits */
			size_t p0 = strlen(K->prefix);
			for (size_t i = p0; i + 1 < K->len; i++) {
				if (tok[i] == tok[i + 1])
					continue;
				memcpy(bad, tok, K->len);
				bad[i] = tok[i + 1];
				bad[i + 1] = tok[i];
				assert_int_equal(K->dec(bad, K->len, &sh, &slot, &gen, &extra),
						 -EINVAL);
			}
			/* upper case is not what we write */
			memcpy(bad, tok, K->len);
			for (size_t i = p0; i < K->len; i++)
				if (bad[i] >= 'a' && bad[i] <= 'f')
					bad[i] = (char)(bad[i] - 'a' + 'A');
			if (memcmp(bad, tok, K->len) != 0)
				assert_int_equal(K->dec(bad, K->len, &sh, &slot, &gen, &extra),
						 -EINVAL);
		}
		/* empty, NULL, all zero bytes, all '0' digits */
		assert_int_equal(K->dec(NULL, 0, &sh, &slot, &gen, &extra), -EINVAL);
		assert_int_equal(K->dec("", 0, &sh, &slot, &gen, &extra), -EINVAL);
		memset(bad, 0, sizeof(bad));
		assert_int_equal(K->dec(bad, K->len, &sh, &slot, &gen, &extra), -EINVAL);
		memcpy(bad, K->prefix, strlen(K->prefix));
		memset(bad + strlen(K->prefix), '0', K->len - strlen(K->prefix));
		assert_int_equal(K->dec(bad, K->len, &sh, &slot, &gen, &extra), -EINVAL);
	}

	/* a tag's digits behind the branch prefix (and the reverse) are refused */
	char t[SHARD_TAG_MAX], b[SHARD_BRANCH_MAX];
	shard_tag_encode(t, sizeof(t), 1, 2, 3, 4);
	snprintf(b, sizeof(b), "z9hG4bKw%s", t + 1);
	assert_int_equal(shard_branch_decode(b, SHARD_BRANCH_LEN, &sh, &slot, &gen, &extra),
			 -EINVAL);
	shard_branch_encode(b, sizeof(b), 1, 2, 3, 4);
	snprintf(t, sizeof(t), "k%s", b + 8);
	assert_int_equal(shard_tag_decode(t, SHARD_TAG_LEN, &sh, &slot, &gen), -EINVAL);
	/* nor does a relayed request's branch pass behind the prefix of our own
	 * requests' branches */
	char o[SHARD_ORIG_MAX];
	snprintf(o, sizeof(o), "z9hG4bKsb%s", b + 8);
	assert_int_equal(shard_orig_decode(o, SHARD_ORIG_LEN, &sh, &slot, &gen, &extra), -EINVAL);
	/* nor one of those behind the keep-alive's prefix */
	char k[SHARD_KEEPALIVE_MAX];
	int leg;
	shard_orig_encode(o, sizeof(o), 1, 2, 3, 4);
	snprintf(k, sizeof(k), "z9hG4bKsk%s", o + 9);
	assert_int_equal(
	    shard_keepalive_decode(k, SHARD_KEEPALIVE_LEN, &sh, &slot, &gen, &leg, &extra),
	    -EINVAL);

	/* random strings of the right shape: none passes the check (fixed seed,
	 * so this cannot flake) */
	for (int i = 0; i < 200000; i++) {
		static const char hex[] = "0123456789abcdef";
		bad[0] = 'k';
		for (size_t j = 1; j < SHARD_TAG_LEN; j++)
			bad[j] = hex[rnd32() & 15];
		assert_int_equal(shard_tag_decode(bad, SHARD_TAG_LEN, &sh, &slot, &gen), -EINVAL);
	}
}

/* Tokens lead to slots, and only live generations are found. */
static void test_tokens_lead_to_live_slots_only(void **state)
{
	struct shard_table t;
	char tag[SHARD_TAG_MAX], branch[SHARD_BRANCH_MAX];
	uint8_t sh;
	uint32_t slot, gen, tgen, extra;
	(void)state;

	assert_int_equal(shard_table_open(&t, NULL, 16, 16), 0);
	int s = shard_dialog_alloc(&t, 1, &gen);
	shard_tag_encode(tag, sizeof(tag), 3, (uint32_t)s, gen, 0xabcdef01);
	int x = shard_txn_alloc(&t, 1, &tgen);
	struct shard_txn *tx = shard_txn_get(&t, (uint32_t)x, tgen);
	shard_branch_encode(branch, sizeof(branch), 3, (uint32_t)x, tgen, tx->salt);

	assert_int_equal(shard_tag_decode(tag, strlen(tag), &sh, &slot, &gen), 0);
	assert_int_equal(sh, 3);
	assert_non_null(shard_dialog_get(&t, slot, gen));
	assert_int_equal(shard_branch_decode(branch, strlen(branch), &sh, &slot, &gen, &extra), 0);
	tx = shard_txn_get(&t, slot, gen);
	assert_non_null(tx);
	assert_int_equal(extra, tx->salt);

	/* after free and reuse, the old tokens decode but find nothing */
	shard_dialog_free(&t, (uint32_t)s);
	uint32_t g2;
	assert_int_equal(shard_dialog_alloc(&t, 2, &g2), s);
	assert_int_equal(shard_tag_decode(tag, strlen(tag), &sh, &slot, &gen), 0);
	assert_null(shard_dialog_get(&t, slot, gen));
	shard_txn_free(&t, (uint32_t)x);
	assert_int_equal(shard_txn_alloc(&t, 2, &g2), x);
	assert_int_equal(shard_branch_decode(branch, strlen(branch), &sh, &slot, &gen, &extra), 0);
	assert_null(shard_txn_get(&t, slot, gen));
	shard_table_close(&t);
}

/* ---- session helpers -------------------------------------------------------- */

static void test_session_record(void **state)
{
	struct sip_session s;
	char id[SESSION_CALL_ID_MAX + 2 * SESSION_TAG_MAX];
	char big[SESSION_BODY_MAX + 1];
	(void)state;

	memset(&s, 0, sizeof(s));
	assert_true(SESSION_SET(&s, call_id, "c1@h", 4));
	assert_true(SESSION_SET(&s, local_tag, "L", 1));
	assert_true(SESSION_SET(&s, remote_tag, "R", 1));
	assert_int_equal(sip_session_id(&s, id, sizeof(id)), 6);
	assert_string_equal(id, "c1@hLR");
	assert_int_equal(sip_session_id(&s, id, 6), -ENOSPC);
	/* a value that does not fit is refused, not cut */
	memset(big, 'x', sizeof(big));
	assert_false(SESSION_SET(&s, call_id, big, SESSION_CALL_ID_MAX));
	assert_int_equal(s.call_id_len, 4);
	/* bodies: kept up to the configured limit, never past SESSION_BODY_MAX */
	assert_true(session_body_set(&s.offer, "application/sdp", 15, big, 100, 200));
	assert_int_equal(s.offer.len, 100);
	assert_false(session_body_set(&s.offer, "application/sdp", 15, big, 201, 200));
	assert_int_equal(s.offer.len, 0);
	assert_int_equal(s.offer.dropped, 1);
	assert_false(
	    session_body_set(&s.offer, "application/sdp", 15, big, SESSION_BODY_MAX + 1, SIZE_MAX));
	assert_true(
	    session_body_set(&s.offer, "application/sdp", 15, big, SESSION_BODY_MAX, SIZE_MAX));
	assert_false(session_body_set(&s.answer, big, SESSION_BODY_TYPE_MAX + 1, big, 10, 100));
	session_body_clear(&s.offer);
	assert_int_equal(s.offer.len, 0);
	assert_string_equal(session_state_name(SESSION_STATE_ACK_WAIT), "AckWait");
	assert_string_equal(signaling_state_name(SIGNALING_STATE_HAVE_REMOTE_OFFER),
			    "HaveRemoteOffer");
	assert_string_equal(session_state_name((enum session_state)99), "?");
}

/* A start that cannot map the long-head pool (here a directory in its
 * place; a file of another user's, mode 0600, does the same) must say so of
 * that file: the daemon named shard-N.tbl with the pool's error ("Is a
 * directory"), sending the operator to a file that is fine. */
static void test_a_pool_that_cannot_be_opened_is_told_apart(void **state)
{
	struct shard_table t;
	char path[64], heads[80];
	(void)state;

	temp_path(path, sizeof(path));
	snprintf(heads, sizeof(heads), "%s.heads", path);
	assert_int_equal(shard_table_open_heads(&t, path, heads, 4, 8, 2), 0);
	shard_table_close(&t);
	assert_int_equal(unlink(heads), 0);
	assert_int_equal(mkdir(heads, 0700), 0);
	assert_int_equal(shard_table_open_heads(&t, path, heads, 4, 8, 2), -EISDIR);
	assert_true(t.heads_failed);
	assert_int_equal(rmdir(heads), 0);

	/* the table's own failure is the table's: a file cut short */
	assert_int_equal(truncate(path, 4096), 0);
	assert_int_equal(shard_table_open_heads(&t, path, heads, 4, 8, 2), -EINVAL);
	assert_false(t.heads_failed);
	unlink(path);
	unlink(heads);
}

/* A first start whose long-head pool could not be opened made the table's
 * file at its full size but never wrote its header: once the pool was put
 * right, every start refused that file as "written with other capacities or
 * by another build", though it never held a call. */
static void test_a_first_start_that_failed_leaves_a_table_the_next_takes(void **state)
{
	struct shard_table t;
	char path[64], heads[80];
	(void)state;

	temp_path(path, sizeof(path));
	snprintf(heads, sizeof(heads), "%s.heads", path);
	assert_int_equal(mkdir(heads, 0700), 0);
	assert_true(shard_table_open_heads(&t, path, heads, 4, 8, 2) < 0);
	assert_int_equal(rmdir(heads), 0);
	assert_int_equal(shard_table_open_heads(&t, path, heads, 4, 8, 2), 0);
	struct shard_table_usage u;
	shard_table_usage(&t, &u);
	assert_int_equal(u.dialogs_used, 0);
	shard_table_close(&t);
	unlink(path);
	unlink(heads);
}

/* mem_file_map makes the file at its full size before it maps it and the
 * header is written: a start that failed to map it (ENOMEM under a limit on
 * address space) or was killed in between left a file of zeros, which every
 * later start refused as "written with other capacities or by another
 * build", though it never held a call. */
static void test_a_file_whose_header_was_never_written_is_taken(void **state)
{
	struct shard_table t;
	char path[64];
	(void)state;

	temp_path(path, sizeof(path));
	int fd = open(path, O_RDWR | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)shard_table_bytes(4, 8)), 0);
	close(fd);
	assert_int_equal(shard_table_open(&t, path, 4, 8), 0);
	uint32_t gen;
	assert_true(shard_dialog_alloc(&t, 10, &gen) >= 0);
	shard_table_close(&t);
	/* the header it has now is checked as any other */
	assert_int_equal(shard_table_open(&t, path, 4, 8), 0);
	struct shard_table_usage u;
	shard_table_usage(&t, &u);
	assert_int_equal(u.dialogs_used, 1);
	shard_table_close(&t);
	assert_int_equal(shard_table_open(&t, path, 4, 9), -EINVAL);
	unlink(path);
}

/* The same for the long-head pool: a pool file of zeros at its size was
 * made anew with the warning for a pool "written for another
 * capacity.long_heads_per_shard or build" (heads_renewed), which it was not. */
static void test_a_pool_whose_header_was_never_written_is_new(void **state)
{
	struct shard_table t;
	char path[64], heads[80];
	(void)state;

	temp_path(path, sizeof(path));
	snprintf(heads, sizeof(heads), "%s.heads", path);
	int fd = open(heads, O_RDWR | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)shard_heads_bytes(4)), 0);
	close(fd);
	assert_int_equal(shard_table_open_heads(&t, path, heads, 4, 8, 4), 0);
	assert_false(t.heads_renewed);
	struct shard_table_usage u;
	shard_table_usage(&t, &u);
	assert_int_equal(u.heads_cap, 4);
	shard_table_close(&t);
	/* and its header is written: the next open takes it as it is */
	assert_int_equal(shard_table_open_heads(&t, path, heads, 4, 8, 4), 0);
	assert_false(t.heads_renewed);
	shard_table_close(&t);
	unlink(path);
	unlink(heads);
}

/* ---- installs a SIGKILL catches half way --------------------------------- */

/* The dialog gen of slot s, made so that each part of the record says which
 * gen wrote it: the early one, or the confirmed one (leg B's target). */
static void torn_dialog(struct shard_dialog *d, uint32_t s, uint32_t gen, bool confirmed)
{
	char a[32], b[32], target[32], body[SESSION_BODY_MAX];
	int n = snprintf(a, sizeof(a), "a%u", gen), m = snprintf(b, sizeof(b), "b%u", gen);
	int k = snprintf(target, sizeof(target), "sip:%c%u@h", confirmed ? 'u' : 't', gen);

	fill_dialog(d, s, gen, a);
	d->state = confirmed ? SHARD_DLG_CONFIRMED : SHARD_DLG_EARLY;
	assert_true(SESSION_SET(&d->legs[SHARD_LEG_B], call_id, b, (size_t)m));
	assert_true(SESSION_SET(&d->legs[SHARD_LEG_B], remote_target, target, (size_t)k));
	memset(body, 'A' + (int)(gen % 26), sizeof(body));
	for (int l = 0; l < 2; l++) {
		assert_true(SESSION_SET(&d->legs[l], remote_uri, a, (size_t)n));
		assert_true(session_body_set(&d->legs[l].offer, "application/sdp", 15, body,
					     sizeof(body), SESSION_BODY_MAX));
		assert_true(session_body_set(&d->legs[l].answer, "application/sdp", 15, body,
					     sizeof(body), SESSION_BODY_MAX));
	}
}

/* Whether the used record d is all of one install: the one its generation
 * and state name. */
static bool torn_whole(const struct shard_dialog *d)
{
	struct shard_dialog want;
	torn_dialog(&want, d->slot, d->gen, d->state == SHARD_DLG_CONFIRMED);
	for (int l = 0; l < 2; l++) {
		const struct sip_session *x = &d->legs[l], *y = &want.legs[l];
		if (strcmp(x->call_id, y->call_id) || strcmp(x->remote_uri, y->remote_uri) ||
		    x->offer.len != y->offer.len ||
		    memcmp(x->offer.data, y->offer.data, y->offer.len) ||
		    x->answer.len != y->answer.len ||
		    memcmp(x->answer.data, y->answer.data, y->answer.len))
			return false;
	}
	return strcmp(d->legs[SHARD_LEG_B].remote_target, want.legs[SHARD_LEG_B].remote_target) ==
	       0;
}

/* A worker killed (SIGKILL) while it installs a dialog in a slot that held
 * another call left a record whose state and generation were the new call's
 * and whose legs were still the old call's, or an early dialog marked
 * confirmed with the early leg B: re-attached as the new call, it relayed
 * that call's requests to the old call's peers. Here a child installs,
 * confirms and frees dialogs in a few slots of a file table until it is
 * killed at a random moment; each re-attach must find every record whole or
 * free, and the install the kill caught must go in again (not be taken for
 * one of a generation that ended, -ESTALE). */
static void test_install_killed_half_way_is_not_reattached(void **state)
{
	enum { SLOTS = 4, KILLS = 300 };
	struct shard_table t;
	char path[64];
	/* what the child is doing, for the parent to check after the kill */
	struct progress {
		volatile uint32_t ready, slot, gen, phase; /* 1: installing, 2: confirming */
	} *pr = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	unsigned torn = 0, dropped = 0;
	(void)state;

	assert_true(pr != MAP_FAILED);
	temp_path(path, sizeof(path));
	for (int kill_no = 0; kill_no < KILLS; kill_no++) {
		pr->ready = 0;
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			struct shard_dialog d;
			if (shard_table_open(&t, path, 64, 8) != 0)
				_exit(2);
			for (uint32_t n = 0;; n++) {
				uint32_t s = n % SLOTS, gen = t.dialogs[s].gen + 1;
				pr->slot = s;
				pr->gen = gen;
				torn_dialog(&d, s, gen, false);
				pr->phase = 1;
				if (shard_dialog_install(&t, &d, 10) != 0)
					_exit(3);
				torn_dialog(&d, s, gen, true);
				pr->phase = 2;
				if (shard_dialog_install(&t, &d, 10) != 0)
					_exit(4);
				pr->phase = 0;
				shard_dialog_free(&t, s);
				pr->ready = 1;
			}
		}
		while (!pr->ready)
			usleep(50);
		usleep(rnd32() % 400);
		kill(pid, SIGKILL);
		int st;
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFSIGNALED(st));

		assert_int_equal(shard_table_open(&t, path, 64, 8), 0);
		struct shard_table_usage u;
		shard_table_usage(&t, &u);
		dropped += u.reattach_dropped;
		for (uint32_t s = 0; s < SLOTS; s++) {
			const struct shard_dialog *d = &t.dialogs[s];
			if (d->state != SHARD_DLG_FREE && !torn_whole(d)) {
				torn++;
				print_message("kill %d: slot %u gen %u state %u holds another "
					      "install's legs\n",
					      kill_no, s, d->gen, d->state);
			}
		}
		/* the controller, taking the call up, installs it again */
		if (pr->phase == 1) {
			struct shard_dialog d;
			torn_dialog(&d, pr->slot, pr->gen, false);
			assert_int_equal(shard_dialog_install(&t, &d, 10), 0);
			assert_true(torn_whole(shard_dialog_get(&t, pr->slot, pr->gen)));
		}
		/* the next child starts on free slots */
		for (uint32_t s = 0; s < SLOTS; s++)
			shard_dialog_free(&t, s);
		shard_table_close(&t);
	}
	print_message("%d kills, %u records freed as half written\n", KILLS, dropped);
	assert_int_equal(torn, 0);
	munmap(pr, 4096);
	unlink(path);
}

/* A fork's caller-side tag (controller_forks.c) names the call's slot and
 * generation, as any tag of ours does, and leads to the fork's early dialog
 * only when that dialog is early and holds that very tag as leg A's own: a
 * tag of the call itself, another fork's, or one whose salt names a slot
 * out of range, a freed or a confirmed dialog leads nowhere. */
static void test_fork_tag_names_the_call_and_its_fork(void **state)
{
	struct shard_table t;
	struct shard_dialog d;
	char tag[SHARD_TAG_MAX], own[SHARD_TAG_MAX], other[SHARD_TAG_MAX];
	uint8_t shard;
	uint32_t slot, gen;
	(void)state;

	assert_int_equal(shard_table_open(&t, NULL, 8, 8), 0);
	assert_int_equal(shard_fork_tag_encode(tag, sizeof(tag), 2, 1, 7, 5, 0xabcdef12u),
			 SHARD_TAG_LEN);
	assert_int_equal(shard_tag_decode(tag, strlen(tag), &shard, &slot, &gen), 0);
	assert_int_equal(shard, 2);
	assert_int_equal(slot, 1);
	assert_int_equal(gen, 7);
	/* read back whole (controller_restore.c checks a fork's against its
	 * record); a salt naming no slot, or the call's own, is no fork's */
	uint32_t fork = 0;
	shard = 0;
	slot = gen = 0;
	assert_int_equal(shard_fork_tag_decode(tag, strlen(tag), &shard, &slot, &gen, &fork), 0);
	assert_int_equal(shard, 2);
	assert_int_equal(slot, 1);
	assert_int_equal(gen, 7);
	assert_int_equal(fork, 5);
	assert_int_equal(shard_tag_encode(own, sizeof(own), 2, 1, 7, 0xab000000u), SHARD_TAG_LEN);
	assert_int_equal(shard_fork_tag_decode(own, strlen(own), &shard, &slot, &gen, &fork),
			 -EINVAL);
	assert_int_equal(shard_tag_encode(own, sizeof(own), 2, 1, 7, 0xab000002u), SHARD_TAG_LEN);
	assert_int_equal(shard_fork_tag_decode(own, strlen(own), &shard, &slot, &gen, &fork),
			 -EINVAL);
	assert_int_equal(shard_fork_tag_decode(tag, strlen(tag) - 1, &shard, &slot, &gen, &fork),
			 -EINVAL);
	assert_int_equal(fork, 5);
	assert_int_equal(shard_fork_tag_encode(other, sizeof(other), 2, 1, 7, 5, 0x12345678u),
			 SHARD_TAG_LEN);
	assert_int_equal(shard_tag_encode(own, sizeof(own), 2, 1, 7, 0x00000006u), SHARD_TAG_LEN);
	assert_int_equal(shard_fork_tag_encode(tag, sizeof(tag), 2, 1, 7, 1u << 24, 0), -EINVAL);
	assert_int_equal(shard_fork_tag_encode(tag, sizeof(tag), 2, 1, 7, 5, 0xabcdef12u),
			 SHARD_TAG_LEN);

	/* nothing in slot 5 yet */
	assert_null(shard_dialog_of_fork_tag(&t, tag, strlen(tag)));
	memset(&d, 0, sizeof(d));
	d.slot = 5;
	d.gen = 3;
	d.state = SHARD_DLG_EARLY;
	SESSION_SET(&d.legs[SHARD_LEG_A], local_tag, tag, strlen(tag));
	assert_int_equal(shard_dialog_install(&t, &d, 1000), 0);
	struct shard_dialog *f = shard_dialog_of_fork_tag(&t, tag, strlen(tag));
	assert_non_null(f);
	assert_int_equal(f->slot, 5);
	/* another fork's tag naming the same slot, a tag of the call's own whose
	 * salt names slot 5 too, a cut tag */
	assert_null(shard_dialog_of_fork_tag(&t, other, strlen(other)));
	assert_null(shard_dialog_of_fork_tag(&t, own, strlen(own)));
	assert_null(shard_dialog_of_fork_tag(&t, tag, strlen(tag) - 1));
	/* freed (a BYE in it: relay.c answers that BYE's retransmission from
	 * what it kept of the end), and another fork's early dialog there since */
	shard_dialog_free(&t, 5);
	assert_null(shard_dialog_of_fork_tag(&t, tag, strlen(tag)));
	SESSION_SET(&d.legs[SHARD_LEG_A], local_tag, other, strlen(other));
	d.gen = 4;
	assert_int_equal(shard_dialog_install(&t, &d, 1000), 0);
	assert_null(shard_dialog_of_fork_tag(&t, tag, strlen(tag)));
	assert_non_null(shard_dialog_of_fork_tag(&t, other, strlen(other)));
	shard_dialog_free(&t, 5);
	SESSION_SET(&d.legs[SHARD_LEG_A], local_tag, tag, strlen(tag));
	d.gen = 5;
	/* a confirmed dialog is no fork's early one */
	d.state = SHARD_DLG_CONFIRMED;
	assert_int_equal(shard_dialog_install(&t, &d, 1000), 0);
	assert_null(shard_dialog_of_fork_tag(&t, tag, strlen(tag)));
	/* a slot beyond the table */
	assert_int_equal(shard_fork_tag_encode(tag, sizeof(tag), 2, 1, 7, 8, 0), SHARD_TAG_LEN);
	assert_null(shard_dialog_of_fork_tag(&t, tag, strlen(tag)));
	shard_table_close(&t);
}

/* An early dialog in slot fork (generation 3) whose tag toward the caller
 * is that of a fork of the call in slot call, generation call_gen
 * (shard_fork_tag_encode), with the callee's To tag b_tag. */
static void install_fork_of(struct shard_table *t, uint32_t call, uint32_t call_gen, uint32_t fork,
			    const char *b_tag)
{
	struct shard_dialog d;
	char tag[SHARD_TAG_MAX];

	assert_int_equal(
	    shard_fork_tag_encode(tag, sizeof(tag), 0, call, call_gen, fork, 0x5a000000u),
	    SHARD_TAG_LEN);
	memset(&d, 0, sizeof(d));
	d.slot = fork;
	d.gen = 3;
	d.state = SHARD_DLG_EARLY;
	SESSION_SET(&d.legs[SHARD_LEG_A], local_tag, tag, strlen(tag));
	SESSION_SET(&d.legs[SHARD_LEG_B], remote_tag, b_tag, strlen(b_tag));
	assert_int_equal(shard_dialog_install(t, &d, 1000), 0);
}

/* A fork's early dialog, for the table's fork index: in slot fork, of the
 * call in slot call (generation 7), with the callee's To tag b_tag. */
static void install_fork(struct shard_table *t, uint32_t call, uint32_t fork, const char *b_tag)
{
	install_fork_of(t, call, 7, fork, b_tag);
}

/* A new table at a temporary path with two calls ringing: call in slot 1
 * (generation 7, the callee's tag fork1) and other in slot 2 (generation
 * other_gen), as the fork index tests start. */
static void open_with_two_early_calls(struct shard_table *t, char *path, size_t path_cap,
				      struct shard_dialog *call, struct shard_dialog *other,
				      uint32_t other_gen)
{
	temp_path(path, path_cap);
	assert_int_equal(shard_table_open(t, path, 16, 8), 0);
	memset(call, 0, sizeof(*call));
	call->slot = 1;
	call->gen = 7;
	call->state = SHARD_DLG_EARLY;
	SESSION_SET(&call->legs[SHARD_LEG_B], remote_tag, "fork1", 5);
	assert_int_equal(shard_dialog_install(t, call, 1000), 0);
	*other = *call;
	other->slot = 2;
	other->gen = other_gen;
	assert_int_equal(shard_dialog_install(t, other, 1000), 0);
}

/* The callee's requests in a fork's early dialog name the call's slot (leg
 * B's From tag is one for all forks) and the fork by their From tag:
 * shard_dialog_of_fork_callee finds the fork's early dialog among the
 * call's forks, not another call's, nor a freed one, and again after a
 * re-attach (the index is in the process's memory). */
static void test_fork_found_by_the_callee_tag(void **state)
{
	struct shard_table t;
	struct shard_dialog call, other;
	char path[64];
	(void)state;

	open_with_two_early_calls(&t, path, sizeof(path), &call, &other, 7);
	install_fork(&t, 1, 5, "fork2");
	install_fork(&t, 1, 9, "fork3");
	install_fork(&t, 2, 6, "fork2"); /* the other call's */

	struct shard_dialog *f = shard_dialog_of_fork_callee(&t, &t.dialogs[1], "fork2", 5);
	assert_non_null(f);
	assert_int_equal(f->slot, 5);
	f = shard_dialog_of_fork_callee(&t, &t.dialogs[1], "fork3", 5);
	assert_non_null(f);
	assert_int_equal(f->slot, 9);
	f = shard_dialog_of_fork_callee(&t, &t.dialogs[2], "fork2", 5);
	assert_non_null(f);
	assert_int_equal(f->slot, 6);
	assert_null(shard_dialog_of_fork_callee(&t, &t.dialogs[2], "fork3", 5));
	assert_null(
	    shard_dialog_of_fork_callee(&t, &t.dialogs[1], "fork1", 5)); /* the call's own */
	assert_null(shard_dialog_of_fork_callee(&t, &t.dialogs[1], "fork", 4));

	/* a fork freed leaves its call's other forks found */
	shard_dialog_free(&t, 5);
	assert_null(shard_dialog_of_fork_callee(&t, &t.dialogs[1], "fork2", 5));
	f = shard_dialog_of_fork_callee(&t, &t.dialogs[1], "fork3", 5);
	assert_non_null(f);
	assert_int_equal(f->slot, 9);

	/* re-attached by the next process */
	shard_table_close(&t);
	assert_int_equal(shard_table_open(&t, path, 16, 8), 0);
	f = shard_dialog_of_fork_callee(&t, &t.dialogs[1], "fork3", 5);
	assert_non_null(f);
	assert_int_equal(f->slot, 9);
	assert_null(shard_dialog_of_fork_callee(&t, &t.dialogs[1], "fork2", 5));

	/* the call's slot freed and taken by a new call: none of the old forks */
	shard_dialog_free(&t, 1);
	call.gen = 8;
	assert_int_equal(shard_dialog_install(&t, &call, 1000), 0);
	assert_null(shard_dialog_of_fork_callee(&t, &t.dialogs[1], "fork3", 5));
	shard_table_close(&t);
	unlink(path);
}

/*
 * A kill inside an update of a ringing call leaves its record torn: the
 * re-attach frees it, and the controller installs that call again, in its
 * slot and generation, from what it kept. Its other forks' early dialogs
 * and its open re-INVITE's transaction, kept by the re-attach, had nothing
 * to join then and joined nothing at that install: until the next restart
 * the callee's requests in a fork were not found, the call counted as one
 * without forks (a BYE freed its slot under them), and its open INVITE was
 * not found at its end. The install links them, as a re-attach would.
 */
static void test_torn_call_installed_again_takes_its_forks_and_requests(void **state)
{
	struct shard_table t;
	struct shard_table_usage u;
	struct shard_dialog call, other;
	char path[64];
	uint32_t ginv;
	(void)state;

	open_with_two_early_calls(&t, path, sizeof(path), &call, &other, 4);
	install_fork_of(&t, 1, 7, 5, "fork2");
	install_fork_of(&t, 2, 4, 6, "other2"); /* another call's fork */
	struct shard_dialog *dl = shard_dialog_get(&t, 1, 7);
	int inv = shard_txn_alloc(&t, 10, &ginv);
	assert_true(inv >= 0);
	struct shard_txn *x = shard_txn_get(&t, (uint32_t)inv, ginv);
	x->leg = SHARD_LEG_A;
	x->method_id = SIP_METHOD_INVITE;
	x->dialog = 1;
	x->dialog_gen = 7;
	x->in_cseq = 3;
	shard_leg_take_request(&t, dl, SHARD_LEG_A, 3, SIP_METHOD_INVITE, (uint32_t)inv, ginv);
	assert_true(shard_dialog_has_forks(&t, 1));
	/* killed inside an update of the call */
	shard_dialog_write_begin(dl);
	shard_table_close(&t);

	assert_int_equal(shard_table_open(&t, path, 16, 8), 0);
	shard_table_usage(&t, &u);
	assert_int_equal(u.reattach_dropped, 1);
	assert_null(shard_dialog_get(&t, 1, 7));
	/* freed as torn in an update, which the controller tells apart from
	 * a torn install (controller_restore.c) */
	assert_true(shard_dialog_torn_in_update(&t.dialogs[1]));
	assert_false(shard_dialog_has_forks(&t, 1));
	/* the controller's install of the call again */
	assert_int_equal(shard_dialog_install(&t, &call, 1000), 0);
	dl = shard_dialog_get(&t, 1, 7);
	assert_non_null(dl);
	assert_true(shard_dialog_has_forks(&t, 1));
	struct shard_dialog *f = shard_dialog_of_fork_callee(&t, dl, "fork2", 5);
	assert_non_null(f);
	assert_int_equal(f->slot, 5);
	assert_null(shard_dialog_of_fork_callee(&t, dl, "other2", 6));
	assert_ptr_equal(shard_txn_open_invite(&t, dl, SHARD_LEG_A),
			 shard_txn_get(&t, (uint32_t)inv, ginv));
	/* the other call's fork is its own still */
	assert_non_null(shard_dialog_of_fork_callee(&t, shard_dialog_get(&t, 2, 4), "other2", 6));
	assert_int_equal(t.nrelink, 0);
	shard_table_close(&t);

	/* the next start finds the same */
	assert_int_equal(shard_table_open(&t, path, 16, 8), 0);
	dl = shard_dialog_get(&t, 1, 7);
	assert_non_null(dl);
	assert_non_null(shard_dialog_of_fork_callee(&t, dl, "fork2", 5));
	assert_ptr_equal(shard_txn_open_invite(&t, dl, SHARD_LEG_A),
			 shard_txn_get(&t, (uint32_t)inv, ginv));
	shard_table_close(&t);

	/* a torn call whose slot goes to another call: its forks stay out */
	assert_int_equal(shard_table_open(&t, path, 16, 8), 0);
	shard_dialog_write_begin(shard_dialog_get(&t, 1, 7));
	shard_table_close(&t);
	assert_int_equal(shard_table_open(&t, path, 16, 8), 0);
	assert_true(t.nrelink > 0);
	call.gen = 8;
	assert_int_equal(shard_dialog_install(&t, &call, 1000), 0);
	assert_false(shard_dialog_has_forks(&t, 1));
	assert_null(shard_txn_open_invite(&t, shard_dialog_get(&t, 1, 8), SHARD_LEG_A));
	assert_int_equal(t.nrelink, 0);
	shard_table_close(&t);
	unlink(path);
}

/*
 * A fork's early dialog names its call's slot and generation in its tag
 * toward the caller (shard_fork_tag_encode). Re-attached, it joins that
 * slot's list of forks only while the slot holds that call: a dialog in
 * that generation, not a fork's itself. One naming a slot freed since, or
 * given to another call or to another call's fork, was linked there all
 * the same, and the callee's requests in that other call then reached it
 * (shard_dialog_of_fork_callee; a slot that is a fork's took the fork into
 * its own call's list), or the freed slot counted as a call with forks
 * (shard_dialog_has_forks). Those may be left by a run (a kill between a
 * call's release and its forks'): kept, for the controller to keep or free
 * (ctl_keeps_dialog). One naming a slot past the table is a damaged or
 * hostile record: freed and counted as malformed. A tag naming its own
 * slot is no fork's: a call's own tag names its slot, and its random salt
 * may too.
 */
static void test_reattach_links_a_fork_to_its_call_only(void **state)
{
	struct shard_table t;
	struct shard_table_usage u;
	struct shard_dialog call, other;
	char path[64];
	(void)state;

	open_with_two_early_calls(&t, path, sizeof(path), &call, &other, 8);
	/* slot 3 held a call in generation 7, freed since (a free slot keeps
	 * its generation: only its state tells it from the call) */
	other.slot = 3;
	other.gen = 7;
	assert_int_equal(shard_dialog_install(&t, &other, 1000), 0);
	shard_dialog_free(&t, 3);
	install_fork_of(&t, 1, 7, 8, "forkA");	  /* the call's */
	install_fork_of(&t, 2, 7, 6, "forkB");	  /* slot 2 is another call's now */
	install_fork_of(&t, 8, 3, 4, "forkC");	  /* slot 8 is forkA's */
	install_fork_of(&t, 3, 7, 10, "forkD");	  /* slot 3 is free */
	install_fork_of(&t, 200, 7, 11, "forkE"); /* past the table's 16 */
	install_fork_of(&t, 12, 7, 12, "forkF");  /* its own */
	shard_table_close(&t);

	assert_int_equal(shard_table_open(&t, path, 16, 8), 0);
	shard_table_usage(&t, &u);
	assert_int_equal(u.reattach_dropped, 1);
	assert_int_equal(t.dialogs[11].state, SHARD_DLG_FREE);
	assert_int_equal(u.dialogs_used, 7);
	const uint32_t kept[] = {1, 2, 4, 6, 8, 10, 12};
	for (unsigned i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		assert_int_equal(t.dialogs[kept[i]].state, SHARD_DLG_EARLY);
	struct shard_dialog *f = shard_dialog_of_fork_callee(&t, &t.dialogs[1], "forkA", 5);
	assert_non_null(f);
	assert_int_equal(f->slot, 8);
	assert_true(shard_dialog_has_forks(&t, 1));
	assert_null(shard_dialog_of_fork_callee(&t, &t.dialogs[2], "forkB", 5));
	assert_false(shard_dialog_has_forks(&t, 2));
	assert_null(shard_dialog_of_fork_callee(&t, &t.dialogs[8], "forkC", 5));
	assert_null(shard_dialog_of_fork_callee(&t, &t.dialogs[1], "forkC", 5));
	assert_false(shard_dialog_has_forks(&t, 3));
	assert_false(shard_dialog_has_forks(&t, 12));
	shard_table_close(&t);
	unlink(path);
}

/* A new table at path (cap bytes; t) holding a call ringing in slot 1, generation 7
 * (call: its first fork's early dialog, tags "calltag" and "fork1"), and a
 * second fork's early dialog in slot 5 (callee tag "fork2"), whose leg A tag
 * goes into tag (SHARD_TAG_MAX bytes). */
static void call_with_a_fork(struct shard_table *t, char *path, size_t cap,
			     struct shard_dialog *call, char *tag)
{
	temp_path(path, cap);
	assert_int_equal(shard_table_open(t, path, 16, 8), 0);
	memset(call, 0, sizeof(*call));
	call->slot = 1;
	call->gen = 7;
	call->state = SHARD_DLG_EARLY;
	SESSION_SET(&call->legs[SHARD_LEG_A], local_tag, "calltag", 7);
	SESSION_SET(&call->legs[SHARD_LEG_B], remote_tag, "fork1", 5);
	assert_int_equal(shard_dialog_install(t, call, 1000), 0);
	install_fork(t, 1, 5, "fork2");
	assert_int_equal(shard_fork_tag_encode(tag, SHARD_TAG_MAX, 0, 1, 7, 5, 0x5a000000u),
			 SHARD_TAG_LEN);
}

/* The 2xx of another fork than the first takes the call's early dialog
 * (take_fork_dialog): shard_dialog_packed_takes_fork names that dialog, so
 * that the worker answers what is open in it first, and only for such an
 * update: not for the first fork's own 2xx or provisional, another
 * generation, nor a slot whose first fork's tags are gone already. */
static void test_packed_update_taking_a_fork(void **state)
{
	struct shard_table t;
	struct shard_dialog call, up;
	char path[64], tag[SHARD_TAG_MAX], msg[SHARD_DIALOG_PACKED_MAX];
	(void)state;

	call_with_a_fork(&t, path, sizeof(path), &call, tag);

	/* fork 2's 2xx */
	up = call;
	up.state = SHARD_DLG_CONFIRMED;
	SESSION_SET(&up.legs[SHARD_LEG_A], local_tag, tag, strlen(tag));
	SESSION_SET(&up.legs[SHARD_LEG_B], remote_tag, "fork2", 5);
	int n = shard_dialog_pack(&up, msg, sizeof(msg));
	assert_true(n > 0);
	assert_ptr_equal(shard_dialog_packed_takes_fork(&t, msg, (size_t)n), &t.dialogs[1]);
	/* cut short */
	assert_null(shard_dialog_packed_takes_fork(&t, msg, (size_t)n - 1));
	/* another generation */
	up.gen = 8;
	n = shard_dialog_pack(&up, msg, sizeof(msg));
	assert_null(shard_dialog_packed_takes_fork(&t, msg, (size_t)n));
	up.gen = 7;
	/* an early update under that tag (none is sent) */
	up.state = SHARD_DLG_EARLY;
	n = shard_dialog_pack(&up, msg, sizeof(msg));
	assert_null(shard_dialog_packed_takes_fork(&t, msg, (size_t)n));
	/* the first fork's own 2xx */
	up = call;
	up.state = SHARD_DLG_CONFIRMED;
	n = shard_dialog_pack(&up, msg, sizeof(msg));
	assert_null(shard_dialog_packed_takes_fork(&t, msg, (size_t)n));

	/* the first fork's early dialog ended, its slot kept for fork 2 */
	shard_dialog_retire_first_fork(&t.dialogs[1]);
	up.state = SHARD_DLG_CONFIRMED;
	SESSION_SET(&up.legs[SHARD_LEG_A], local_tag, tag, strlen(tag));
	n = shard_dialog_pack(&up, msg, sizeof(msg));
	assert_null(shard_dialog_packed_takes_fork(&t, msg, (size_t)n));
	/* confirmed: nothing early to take */
	assert_int_equal(shard_dialog_install_packed(&t, msg, (size_t)n, 1000, NULL), 0);
	assert_null(shard_dialog_packed_takes_fork(&t, msg, (size_t)n));
	shard_table_close(&t);
	unlink(path);
}

/* The caller ended the first fork's early dialog and the worker kept the
 * call's slot for the other forks, its first fork's tags emptied
 * (shard_dialog_retire_first_fork). An early update the controller sent
 * before it read of that end (the first fork's reliable provisional)
 * brought those tags back: the ended early dialog lived again and the first
 * fork's requests reached the caller in it. It is refused; another fork's
 * 2xx, and the first fork's own 2xx (the call is then that dialog's, which
 * the caller ends with a BYE of its own), still take the slot. */
static void test_early_update_into_kept_slot_refused(void **state)
{
	struct shard_table t;
	struct shard_dialog call, up;
	char path[64], tag[SHARD_TAG_MAX], msg[SHARD_DIALOG_PACKED_MAX];
	(void)state;

	call_with_a_fork(&t, path, sizeof(path), &call, tag);
	shard_dialog_retire_first_fork(&t.dialogs[1]);

	/* the first fork's reliable 18x, as the controller had the call */
	up = call;
	int n = shard_dialog_pack(&up, msg, sizeof(msg));
	assert_true(n > 0);
	assert_int_equal(shard_dialog_install_packed(&t, msg, (size_t)n, 1000, NULL), -ESTALE);
	assert_int_equal(t.dialogs[1].state, SHARD_DLG_EARLY);
	assert_int_equal(t.dialogs[1].legs[SHARD_LEG_A].local_tag_len, 0);
	assert_int_equal(t.dialogs[1].legs[SHARD_LEG_B].remote_tag_len, 0);
	assert_int_equal(t.dialogs[1].slot, 1); /* committed, not left half written */

	/* fork 2's 2xx takes the slot */
	up = call;
	up.state = SHARD_DLG_CONFIRMED;
	SESSION_SET(&up.legs[SHARD_LEG_A], local_tag, tag, strlen(tag));
	SESSION_SET(&up.legs[SHARD_LEG_B], remote_tag, "fork2", 5);
	n = shard_dialog_pack(&up, msg, sizeof(msg));
	assert_int_equal(shard_dialog_install_packed(&t, msg, (size_t)n, 1000, NULL), 0);
	assert_int_equal(t.dialogs[1].state, SHARD_DLG_CONFIRMED);
	assert_int_equal(t.dialogs[1].legs[SHARD_LEG_B].remote_tag_len, 5);
	assert_memory_equal(t.dialogs[1].legs[SHARD_LEG_B].remote_tag, "fork2", 5);

	/* the first fork's own 2xx, into a slot kept again */
	shard_dialog_free(&t, 1);
	call.gen = 8;
	assert_int_equal(shard_dialog_install(&t, &call, 1000), 0);
	shard_dialog_retire_first_fork(&t.dialogs[1]);
	up = call;
	up.state = SHARD_DLG_CONFIRMED;
	n = shard_dialog_pack(&up, msg, sizeof(msg));
	assert_int_equal(shard_dialog_install_packed(&t, msg, (size_t)n, 1000, NULL), 0);
	assert_int_equal(t.dialogs[1].state, SHARD_DLG_CONFIRMED);
	assert_memory_equal(t.dialogs[1].legs[SHARD_LEG_A].local_tag, "calltag", 7);
	shard_table_close(&t);
	unlink(path);
}

/* A kill inside the retirement of a call's first fork
 * (shard_dialog_retire_first_fork) leaves leg A's tag length emptied and
 * leg B's tag as it was (its first store, then the rest): re-attach takes
 * the record up as a slot kept for the other forks and empties leg B's tag
 * too. Written between shard_dialog_write_begin and _end before, such a
 * record was freed at re-attach, and the controller's install of the call
 * again brought the first fork's tags back. */
static void test_retirement_killed_half_way_is_finished_at_reattach(void **state)
{
	struct shard_table t;
	struct shard_dialog call;
	struct shard_table_usage u;
	char path[64], tag[SHARD_TAG_MAX];
	(void)state;

	call_with_a_fork(&t, path, sizeof(path), &call, tag);
	t.dialogs[1].legs[SHARD_LEG_A].local_tag_len = 0; /* the first store alone */
	shard_table_close(&t);
	assert_int_equal(shard_table_open(&t, path, 16, 8), 0);
	shard_table_usage(&t, &u);
	assert_int_equal(u.reattach_dropped, 0);
	struct shard_dialog *d = shard_dialog_get(&t, 1, 7);
	if (!d)
		fail_msg("the call's slot was freed at re-attach");
	assert_int_equal(d->state, SHARD_DLG_EARLY);
	assert_true(shard_dialog_first_fork_retired(d));
	assert_int_equal(d->legs[SHARD_LEG_B].remote_tag_len, 0);
	/* the second fork is still found through it, the first no more */
	assert_true(shard_dialog_has_forks(&t, 1));
	assert_non_null(shard_dialog_of_fork_callee(&t, d, "fork2", 5));
	assert_null(shard_dialog_of_fork_callee(&t, d, "fork1", 5));

	/* the whole retirement, then a re-attach: the same */
	shard_dialog_free(&t, 1);
	call.gen = 8;
	assert_int_equal(shard_dialog_install(&t, &call, 1000), 0);
	shard_dialog_retire_first_fork(&t.dialogs[1]);
	assert_int_equal(t.dialogs[1].slot, 1);
	shard_table_close(&t);
	assert_int_equal(shard_table_open(&t, path, 16, 8), 0);
	d = shard_dialog_get(&t, 1, 8);
	assert_non_null(d);
	assert_true(shard_dialog_first_fork_retired(d));
	assert_int_equal(d->legs[SHARD_LEG_B].remote_tag_len, 0);
	shard_table_close(&t);
	unlink(path);
}

/* The remote targets the update test moves between: of different lengths,
 * and two of one length that differ in their bytes. */
static const char *const kill_targets[] = {
    "sip:alice@phone-of-alice.example.com:5060;transport=udp",
    "sip:b@192.0.2.7",
    "sip:carol@phone-of-carol.example.net:5062;transport=udp",
};

/* Whether leg A's remote target is one of kill_targets, whole, and its last
 * CSeq and transaction are of one request (shard_leg_take_request as the
 * update test calls it: CSeq n, transaction n % 8 of generation n). */
static bool update_whole(const struct shard_dialog *d, char *why, size_t cap)
{
	const struct sip_session *a = &d->legs[SHARD_LEG_A];
	bool target = false;
	for (size_t i = 0; i < sizeof(kill_targets) / sizeof(kill_targets[0]); i++)
		target |= a->remote_target_len == strlen(kill_targets[i]) &&
			  !memcmp(a->remote_target, kill_targets[i], a->remote_target_len);
	if (!target) {
		snprintf(why, cap, "remote target '%.*s' (%u bytes)", (int)a->remote_target_len,
			 a->remote_target, a->remote_target_len);
		return false;
	}
	if (a->remote_cseq_set &&
	    (a->last_txn != a->remote_cseq % 8 || a->last_txn_gen != a->remote_cseq)) {
		snprintf(why, cap, "CSeq %u with the transaction %u/%u of another", a->remote_cseq,
			 a->last_txn, a->last_txn_gen);
		return false;
	}
	return true;
}

/* The worker updates a kept dialog in place (a target refresh's remote
 * target, the CSeqs and last transaction a relayed request moves), in the
 * file a restart re-attaches. A SIGKILL in the middle left a target whose
 * length was the old one's and bytes partly the new one's, or a leg whose
 * last CSeq was a request's that its last transaction was not (that
 * request's retransmission was dropped as late for ever). Here a child
 * updates one dialog of a file table until it is killed at a random moment;
 * each re-attach must find the dialog whole (old or new values) or freed as
 * half written, never torn. */
static void test_update_killed_half_way_is_not_reattached(void **state)
{
	enum { KILLS = 300 };
	struct shard_table t;
	char path[64], why[160];
	volatile uint32_t *ready =
	    mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	unsigned torn = 0, dropped = 0;
	uint32_t gen = 1;
	(void)state;

	assert_true(ready != MAP_FAILED);
	temp_path(path, sizeof(path));
	for (int kill_no = 0; kill_no < KILLS; kill_no++) {
		assert_int_equal(shard_table_open(&t, path, 64, 8), 0);
		if (!shard_dialog_get(&t, 0, gen)) { /* first, or freed at the last re-attach */
			struct shard_dialog d;
			fill_dialog(&d, 0, ++gen, "update-kill");
			d.state = SHARD_DLG_CONFIRMED;
			assert_true(SESSION_SET(&d.legs[SHARD_LEG_A], remote_target,
						kill_targets[0], strlen(kill_targets[0])));
			assert_int_equal(shard_dialog_install(&t, &d, 10), 0);
		}
		shard_table_close(&t);
		*ready = 0;
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			if (shard_table_open(&t, path, 64, 8) != 0)
				_exit(2);
			struct shard_dialog *d = shard_dialog_get(&t, 0, gen);
			if (!d)
				_exit(3);
			for (uint32_t n = d->legs[SHARD_LEG_A].remote_cseq + 1;; n++) {
				const char *u = kill_targets[n % 3];
				shard_leg_set_target(&t, d, SHARD_LEG_A, u, strlen(u));
				shard_leg_take_request(&t, d, SHARD_LEG_A, n,
						       n & 1 ? SIP_METHOD_INVITE : SIP_METHOD_INFO,
						       n % 8, n);
				*ready = 1;
			}
		}
		while (!*ready)
			usleep(50);
		usleep(rnd32() % 400);
		kill(pid, SIGKILL);
		int st;
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFSIGNALED(st));

		assert_int_equal(shard_table_open(&t, path, 64, 8), 0);
		struct shard_table_usage u;
		shard_table_usage(&t, &u);
		dropped += u.reattach_dropped;
		const struct shard_dialog *d = shard_dialog_get(&t, 0, gen);
		if (d && !update_whole(d, why, sizeof(why))) {
			torn++;
			print_message("kill %d: re-attached torn: %s\n", kill_no, why);
		}
		shard_table_close(&t);
	}
	print_message("%d kills, %u records freed as half written, %u torn\n", KILLS, dropped,
		      torn);
	assert_int_equal(torn, 0);
	munmap((void *)ready, 4096);
	unlink(path);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* What the safe in-place updates cost the fast path: a target refresh that
 * changes the target, and a relayed request's CSeqs, per update (printed;
 * the bound asserted is loose, against a machine shared with others). */
static void test_update_cost(void **state)
{
	enum { N = 2000000 };
	struct shard_table t;
	struct shard_dialog d0;
	uint32_t gen;
	(void)state;

	assert_int_equal(shard_table_open(&t, NULL, 4, 4), 0);
	int s = shard_dialog_alloc(&t, 10, &gen);
	assert_true(s >= 0);
	fill_dialog(&d0, (uint32_t)s, gen, "update-cost");
	d0.state = SHARD_DLG_CONFIRMED;
	assert_int_equal(shard_dialog_install(&t, &d0, 10), 0);
	struct shard_dialog *d = shard_dialog_get(&t, (uint32_t)s, gen);
	size_t len[3];
	for (int i = 0; i < 3; i++)
		len[i] = strlen(kill_targets[i]);

	uint64_t t0 = mono_ns();
	for (uint32_t n = 1; n <= N; n++)
		shard_leg_set_target(&t, d, SHARD_LEG_A, kill_targets[n % 3], len[n % 3]);
	uint64_t t1 = mono_ns();
	for (uint32_t n = 1; n <= N; n++)
		shard_leg_take_request(&t, d, n & 1, n,
				       n % 4 == 0 ? SIP_METHOD_INVITE : SIP_METHOD_INFO, n % 8, n);
	uint64_t t2 = mono_ns();
	for (uint32_t n = 1; n <= N; n++)
		shard_leg_set_target(&t, d, SHARD_LEG_A, kill_targets[0], len[0]);
	uint64_t t3 = mono_ns();
	double target_ns = (double)(t1 - t0) / N, cseq_ns = (double)(t2 - t1) / N,
	       same_ns = (double)(t3 - t2) / N;
	print_message("per update: target changed %.2f ns, target the same %.2f ns, "
		      "request's CSeqs %.2f ns\n",
		      target_ns, same_ns, cseq_ns);
	assert_true(shard_dialog_committed(d, (uint32_t)s));
	assert_true(update_whole(d, (char[160]){0}, 160));
	assert_true(target_ns < 1000 && cseq_ns < 1000);
	shard_table_close(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dialog_alloc_until_full),
	    cmocka_unit_test(test_fork_tag_names_the_call_and_its_fork),
	    cmocka_unit_test(test_fork_found_by_the_callee_tag),
	    cmocka_unit_test(test_reattach_links_a_fork_to_its_call_only),
	    cmocka_unit_test(test_torn_call_installed_again_takes_its_forks_and_requests),
	    cmocka_unit_test(test_packed_update_taking_a_fork),
	    cmocka_unit_test(test_early_update_into_kept_slot_refused),
	    cmocka_unit_test(test_retirement_killed_half_way_is_finished_at_reattach),
	    cmocka_unit_test(test_install_keeps_free_list_whole),
	    cmocka_unit_test(test_packed_install),
	    cmocka_unit_test(test_session_timer),
	    cmocka_unit_test(test_keepalive_rounds),
	    cmocka_unit_test(test_keepalive_challenged_retry_lost),
	    cmocka_unit_test(test_clear_is_zero_to_every_reader),
	    cmocka_unit_test(test_txn_alloc_until_full_and_generations),
	    cmocka_unit_test(test_txn_full_evicts_answered_only),
	    cmocka_unit_test(test_txn_expiry_in_creation_order),
	    cmocka_unit_test(test_file_backed_reopen_keeps_dialogs),
	    cmocka_unit_test(test_reattach_drops_malformed_records),
	    cmocka_unit_test(test_reattach_keeps_every_transaction_flag),
	    cmocka_unit_test(test_reattach_walks_records_past_a_low_mark),
	    cmocka_unit_test(test_reattach_resolves_requests_sent_before),
	    cmocka_unit_test(test_open_invite_found_by_its_leg),
	    cmocka_unit_test(test_open_bye_found_by_its_leg),
	    cmocka_unit_test(test_reattach_names_each_legs_last_request),
	    cmocka_unit_test(test_reattach_after_reboot_txns_expire),
	    cmocka_unit_test(test_long_heads_alloc_free_full),
	    cmocka_unit_test(test_long_heads_answered_give_way),
	    cmocka_unit_test(test_long_heads_reattach),
	    cmocka_unit_test(test_open_rejects_bad_arguments),
	    cmocka_unit_test(test_big_tables_touch_only_used_pages),
	    cmocka_unit_test(test_tokens_round_trip),
	    cmocka_unit_test(test_tokens_reject_mutations),
	    cmocka_unit_test(test_tokens_lead_to_live_slots_only),
	    cmocka_unit_test(test_session_record),
	    cmocka_unit_test(test_a_pool_that_cannot_be_opened_is_told_apart),
	    cmocka_unit_test(test_a_first_start_that_failed_leaves_a_table_the_next_takes),
	    cmocka_unit_test(test_install_killed_half_way_is_not_reattached),
	    cmocka_unit_test(test_update_killed_half_way_is_not_reattached),
	    cmocka_unit_test(test_update_cost),
	    cmocka_unit_test(test_a_file_whose_header_was_never_written_is_taken),
	    cmocka_unit_test(test_a_pool_whose_header_was_never_written_is_new),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
