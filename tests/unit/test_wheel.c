/*
 * test_wheel.c - the timing wheel: timers fire in order at the right tick and
 * never early, cancel and re-arm work and stale handles are refused, far
 * timers (hours, days, beyond the top level) fire, 100k timers fit in bounded
 * memory, one advance over a long gap fires everything due exactly once, and a
 * randomised comparison against a plain list model.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "shard/wheel.h"

#define HOUR_MS (3600ull * 1000)

/* What fired, in order, with the clock of the advance that fired it. */
struct log {
	uint64_t now;
	uint32_t n, cap;
	uint64_t *cookie;
	uint64_t *at; /* now of the advance call */
};

static void log_init(struct log *l, uint32_t cap)
{
	memset(l, 0, sizeof(*l));
	l->cap = cap;
	l->cookie = calloc(cap, sizeof(*l->cookie));
	l->at = calloc(cap, sizeof(*l->at));
	assert_non_null(l->cookie);
	assert_non_null(l->at);
}

static void log_free(struct log *l)
{
	free(l->cookie);
	free(l->at);
}

static void record(void *arg, uint64_t cookie, wheel_handle h)
{
	struct log *l = arg;
	(void)h;
	assert_true(l->n < l->cap);
	l->cookie[l->n] = cookie;
	l->at[l->n] = l->now;
	l->n++;
}

static uint32_t advance(struct wheel *w, struct log *l, uint64_t now)
{
	l->now = now;
	return wheel_advance(w, now, record, l);
}

static uint64_t rng_state = 0x243f6a8885a308d3ull;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void test_fire_at_the_right_tick_in_order(void **state)
{
	struct wheel w;
	struct log l;
	wheel_handle h;
	(void)state;

	/* tick 10 ms, clock starting at an arbitrary point */
	const uint64_t t0 = 1000003;
	assert_int_equal(wheel_init(&w, 64, 10, t0), 0);
	log_init(&l, 64);
	/* cookie = expiry offset; added out of order */
	static const uint64_t offs[] = {250, 5, 10, 11, 640, 639, 641, 4096 * 10, 19, 20, 1};
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
		assert_int_equal(wheel_add(&w, t0 + offs[i], offs[i], &h), 0);
	assert_int_equal(wheel_armed(&w), 11);
	/* one millisecond at a time: each fires on the first tick at or past its
	 * expiry, i.e. at its expiry rounded up to 10 ms */
	for (uint64_t now = t0; now <= t0 + 41000; now++)
		advance(&w, &l, now);
	assert_int_equal(l.n, 11);
	for (uint32_t i = 0; i < l.n; i++) {
		uint64_t due = t0 + (l.cookie[i] + 9) / 10 * 10;
		assert_int_equal(l.at[i], due);
		if (i)
			assert_true(l.cookie[i - 1] <= l.cookie[i] ||
				    (l.cookie[i - 1] + 9) / 10 == (l.cookie[i] + 9) / 10);
	}
	assert_int_equal(wheel_armed(&w), 0);
	assert_int_equal(w.fired, 11);
	log_free(&l);
	wheel_destroy(&w);
}

static void test_never_early_and_past_times(void **state)
{
	struct wheel w;
	struct log l;
	wheel_handle h;
	(void)state;

	assert_int_equal(wheel_init(&w, 8, 10, 0), 0);
	log_init(&l, 8);
	assert_int_equal(advance(&w, &l, 1005), 0); /* tick 100 done */
	/* a time already past fires on the next tick, not in a later turn */
	assert_int_equal(wheel_add(&w, 3, 1, &h), 0);
	assert_int_equal(wheel_add(&w, 1005, 2, &h), 0);
	assert_int_equal(advance(&w, &l, 1009), 0);
	assert_int_equal(advance(&w, &l, 1010), 2);
	/* 1011 is due at 1020, not before */
	assert_int_equal(wheel_add(&w, 1011, 3, &h), 0);
	assert_int_equal(advance(&w, &l, 1019), 0);
	assert_int_equal(advance(&w, &l, 1020), 1);
	/* a clock going backwards is ignored */
	assert_int_equal(wheel_add(&w, 1100, 4, &h), 0);
	assert_int_equal(advance(&w, &l, 500), 0);
	assert_int_equal(advance(&w, &l, 1100), 1);
	log_free(&l);
	wheel_destroy(&w);
}

static void test_cancel_rearm_and_stale_handles(void **state)
{
	struct wheel w;
	struct log l;
	wheel_handle h[6], again;
	(void)state;

	assert_int_equal(wheel_init(&w, 6, 1, 0), 0);
	log_init(&l, 16);
	for (int i = 0; i < 6; i++)
		assert_int_equal(wheel_add(&w, 100 + (uint64_t)i * 100, (uint64_t)i, &h[i]), 0);
	assert_int_equal(wheel_add(&w, 50, 99, &again), -ENOSPC); /* bounded */
	assert_int_equal(w.full, 1);
	assert_int_equal(wheel_cancel(&w, h[1]), 0);
	assert_int_equal(wheel_cancel(&w, h[1]), -ENOENT);
	assert_int_equal(wheel_cancel(&w, WHEEL_NO_TIMER), -ENOENT);
	assert_int_equal(wheel_cancel(&w, (wheel_handle)7), -ENOENT); /* index out of range */
	assert_int_equal(wheel_cancel(&w, h[2] + (UINT64_C(1) << 32)), -ENOENT); /* wrong gen */
	/* the freed node is reused; the old handle must not reach the new timer */
	assert_int_equal(wheel_add(&w, 150, 42, &again), 0);
	assert_int_equal((uint32_t)again, (uint32_t)h[1]);
	assert_int_equal(wheel_cancel(&w, h[1]), -ENOENT);
	/* re-arm moves a timer, keeping its handle */
	assert_int_equal(wheel_rearm(&w, h[5], 120), 0);
	assert_int_equal(wheel_rearm(&w, h[1], 120), -ENOENT);
	assert_int_equal(wheel_rearm(&w, h[0], 5000), 0);
	for (uint64_t now = 1; now <= 1000; now++)
		advance(&w, &l, now);
	assert_int_equal(l.n, 5);
	static const uint64_t order[] = {5, 42, 2, 3, 4};
	static const uint64_t when[] = {120, 150, 300, 400, 500};
	for (int i = 0; i < 5; i++) {
		assert_int_equal(l.cookie[i], order[i]);
		assert_int_equal(l.at[i], when[i]);
	}
	assert_int_equal(wheel_cancel(&w, h[2]), -ENOENT); /* fired */
	assert_int_equal(wheel_armed(&w), 1);
	assert_int_equal(wheel_cancel(&w, h[0]), 0);
	assert_int_equal(advance(&w, &l, 10000), 0);
	assert_int_equal(wheel_armed(&w), 0);
	assert_int_equal(w.cancelled, 2);
	log_free(&l);
	wheel_destroy(&w);
}

/* Callback that re-arms itself once at "now" and cancels a sibling. */
struct chain {
	struct wheel *w;
	wheel_handle victim, self;
	uint64_t now;
	int calls, victim_fired, rearmed_fired;
};

static void chain_fn(void *arg, uint64_t cookie, wheel_handle h)
{
	struct chain *c = arg;
	c->calls++;
	if (cookie == 1) {
		assert_int_equal(h, c->self);
		assert_int_equal(wheel_cancel(c->w, h), -ENOENT); /* already stale */
		wheel_cancel(c->w, c->victim);			  /* may be in this very slot */
		assert_int_equal(wheel_add(c->w, c->now, 3, &c->self), 0);
	} else if (cookie == 2) {
		c->victim_fired++;
	} else if (cookie == 3) {
		c->rearmed_fired++;
	}
}

static void test_callback_may_add_and_cancel(void **state)
{
	struct wheel w;
	struct chain c = {.w = &w};
	(void)state;

	assert_int_equal(wheel_init(&w, 4, 10, 0), 0);
	/* both due on the same tick; whichever runs first, the victim must not
	 * fire after being cancelled, and the re-armed timer waits one tick */
	assert_int_equal(wheel_add(&w, 100, 2, &c.victim), 0);
	assert_int_equal(wheel_add(&w, 100, 1, &c.self), 0);
	c.now = 100;
	uint32_t n = wheel_advance(&w, 100, chain_fn, &c);
	assert_int_equal(c.rearmed_fired, 0);
	assert_true(n == 1 || n == 2);
	assert_true(c.victim_fired == (int)n - 1);
	c.now = 110;
	assert_int_equal(wheel_advance(&w, 110, chain_fn, &c), 1);
	assert_int_equal(c.rearmed_fired, 1);
	wheel_destroy(&w);
}

/* A callback that re-arms its timer 64 ticks on, the span of level 0: the
 * timer must wait those 64 ticks, not land in the slot being emptied and fire
 * again in the same advance (which, re-armed each time, never ended). */
struct rearm64 {
	struct wheel *w;
	uint64_t now;
	int fired;
	uint64_t at[4];
};

static void rearm64_fn(void *arg, uint64_t cookie, wheel_handle h)
{
	struct rearm64 *r = arg;
	wheel_handle again;
	(void)cookie;
	(void)h;
	assert_true(r->fired < 4);
	r->at[r->fired++] = r->now;
	/* 64 ticks of 10 ms after this one: level 0 spans 64 */
	assert_int_equal(wheel_add(r->w, r->now + 640, 1, &again), 0);
}

static void test_callback_rearms_a_level_apart(void **state)
{
	struct wheel w;
	struct rearm64 r = {.w = &w};
	(void)state;

	for (uint64_t start = 0; start < 130; start += 7) {
		assert_int_equal(wheel_init(&w, 4, 10, 0), 0);
		wheel_handle h;
		r.fired = 0;
		assert_int_equal(wheel_add(&w, 100 + start * 10, 1, &h), 0);
		r.now = 100 + start * 10;
		assert_int_equal(wheel_advance(&w, r.now, rearm64_fn, &r), 1);
		r.now += 630;
		assert_int_equal(wheel_advance(&w, r.now, rearm64_fn, &r), 0);
		r.now += 10;
		assert_int_equal(wheel_advance(&w, r.now, rearm64_fn, &r), 1);
		assert_int_equal(r.at[1] - r.at[0], 640);
		wheel_destroy(&w);
	}
}

static void test_far_timers(void **state)
{
	struct wheel w;
	struct log l;
	wheel_handle h;
	(void)state;

	/* 10 ms ticks: the top level reaches 2^30 ticks, about 124 days; 200 days
	 * is parked at the far end and placed again */
	static const uint64_t offs[] = {HOUR_MS,	  2 * HOUR_MS + 7, 24 * HOUR_MS,
					24 * HOUR_MS + 1, 30 * HOUR_MS,	   200 * 24 * HOUR_MS};
	const size_t n = sizeof(offs) / sizeof(offs[0]);
	assert_int_equal(wheel_init(&w, 16, 10, 0), 0);
	log_init(&l, 16);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(wheel_add(&w, offs[i], offs[i], &h), 0);
	/* walk the clock by the wheel's own hint, checking it never skips a
	 * timer: each fires at the exact tick of its expiry */
	uint64_t steps = 0;
	while (wheel_armed(&w)) {
		uint64_t next = wheel_next_ms(&w);
		assert_true(next > l.now);
		advance(&w, &l, next);
		assert_true(++steps < 100000);
	}
	assert_int_equal(l.n, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(l.cookie[i], offs[i]);
		assert_int_equal(l.at[i], (offs[i] + 9) / 10 * 10);
	}
	assert_int_equal(wheel_next_ms(&w), UINT64_MAX);
	log_free(&l);
	wheel_destroy(&w);

	/* the same with coarse advances of one minute: due within the minute */
	assert_int_equal(wheel_init(&w, 16, 10, 0), 0);
	log_init(&l, 16);
	for (size_t i = 0; i + 1 < n; i++)
		assert_int_equal(wheel_add(&w, offs[i], offs[i], &h), 0);
	for (uint64_t now = 0; now <= 31 * HOUR_MS; now += 60000)
		advance(&w, &l, now);
	assert_int_equal(l.n, n - 1);
	for (size_t i = 0; i + 1 < n; i++) {
		assert_true(l.at[i] >= offs[i]);
		assert_true(l.at[i] < offs[i] + 60000 + 10);
	}
	log_free(&l);
	wheel_destroy(&w);
}

static void test_many_timers_bounded(void **state)
{
	enum { N = 100000 };
	struct wheel w;
	struct log l;
	wheel_handle h;
	(void)state;

	assert_int_equal(wheel_init(&w, N, 10, 0), 0);
	/* all memory is taken at init: 32 bytes a node plus the slots */
	assert_true(wheel_bytes(N) <= sizeof(struct wheel) + (size_t)N * 32);
	log_init(&l, N);
	for (uint32_t i = 0; i < N; i++)
		assert_int_equal(wheel_add(&w, 1 + rnd() % (6 * HOUR_MS), i, &h), 0);
	assert_int_equal(wheel_add(&w, 1, N, &h), -ENOSPC);
	for (uint64_t now = 0; now <= 6 * HOUR_MS + 10; now += 1000)
		advance(&w, &l, now);
	assert_int_equal(l.n, N);
	/* each exactly once */
	uint8_t *seen = calloc(N, 1);
	assert_non_null(seen);
	for (uint32_t i = 0; i < N; i++) {
		assert_true(l.cookie[i] < N);
		assert_int_equal(seen[l.cookie[i]], 0);
		seen[l.cookie[i]] = 1;
	}
	free(seen);
	/* and the pool is whole again */
	for (uint32_t i = 0; i < N; i++)
		assert_int_equal(wheel_add(&w, 7 * HOUR_MS, i, &h), 0);
	assert_int_equal(wheel_add(&w, 1, N, &h), -ENOSPC);
	log_free(&l);
	wheel_destroy(&w);
}

static void test_one_advance_over_a_long_gap(void **state)
{
	enum { N = 20000 };
	struct wheel w;
	struct log l;
	wheel_handle h;
	(void)state;

	assert_int_equal(wheel_init(&w, N, 10, 5), 0);
	log_init(&l, N);
	uint64_t *due = calloc(N, sizeof(*due));
	assert_non_null(due);
	for (uint32_t i = 0; i < N; i++) {
		due[i] = 5 + rnd() % (48 * HOUR_MS);
		assert_int_equal(wheel_add(&w, due[i], i, &h), 0);
	}
	/* half of them are due after 24 h: exactly those fire, once, in order */
	uint64_t now = 5 + 24 * HOUR_MS;
	uint32_t expect = 0;
	for (uint32_t i = 0; i < N; i++)
		expect += (due[i] - 5 + 9) / 10 * 10 + 5 <= now;
	assert_int_equal(advance(&w, &l, now), expect);
	for (uint32_t i = 0; i < l.n; i++) {
		assert_true(due[l.cookie[i]] <= now);
		if (i)
			assert_true((due[l.cookie[i - 1]] - 5 + 9) / 10 <=
				    (due[l.cookie[i]] - 5 + 9) / 10);
	}
	assert_int_equal(advance(&w, &l, now), 0);
	assert_int_equal(advance(&w, &l, 5 + 48 * HOUR_MS), N - expect);
	assert_int_equal(l.n, N);
	assert_int_equal(wheel_armed(&w), 0);
	free(due);
	log_free(&l);
	wheel_destroy(&w);
}

/* Randomised: random adds, cancels, re-arms and advances (small steps and long
 * jumps) against a list that knows each live timer's due tick. After every
 * advance, exactly the timers due by then must have fired. */
struct model {
	uint32_t n;
	uint64_t cookie[512], due_ms[512];
	wheel_handle h[512];
	uint8_t fired[4096];
};

static void model_fn(void *arg, uint64_t cookie, wheel_handle h)
{
	struct model *m = arg;
	(void)h;
	assert_true(cookie < sizeof(m->fired));
	assert_int_equal(m->fired[cookie], 0);
	m->fired[cookie] = 1;
}

static uint64_t due_of(const struct wheel *w, uint64_t expires_ms, uint64_t last_now)
{
	uint64_t base = 1000, tick = w->tick_ms;
	uint64_t e = expires_ms <= base ? 0 : (expires_ms - base + tick - 1) / tick;
	uint64_t cur = last_now < base ? 0 : (last_now - base) / tick;
	if (e <= cur)
		e = cur + 1;
	return base + e * tick;
}

static void run_model(uint32_t tick)
{
	struct wheel w;
	static struct model m;
	uint64_t now = 1000, next_cookie = 0;

	memset(&m, 0, sizeof(m));
	assert_int_equal(wheel_init(&w, 512, tick, now), 0);
	for (int step = 0; step < 3000 && next_cookie < sizeof(m.fired); step++) {
		uint64_t r = rnd() % 10;
		if (r < 5 && m.n < 512) {
			uint64_t span = (rnd() & 1) ? 500 : (rnd() & 1) ? 200000 : 40 * HOUR_MS;
			uint64_t x = now - (now > 50 ? rnd() % 50 : 0) + rnd() % span;
			m.cookie[m.n] = next_cookie;
			m.due_ms[m.n] = due_of(&w, x, now);
			assert_int_equal(wheel_add(&w, x, next_cookie, &m.h[m.n]), 0);
			m.n++;
			next_cookie++;
		} else if (r < 6 && m.n) {
			uint32_t k = (uint32_t)(rnd() % m.n);
			assert_int_equal(wheel_cancel(&w, m.h[k]), 0);
			m.n--;
			m.cookie[k] = m.cookie[m.n];
			m.due_ms[k] = m.due_ms[m.n];
			m.h[k] = m.h[m.n];
		} else if (r < 7 && m.n) {
			uint32_t k = (uint32_t)(rnd() % m.n);
			uint64_t x = now + rnd() % 100000;
			m.due_ms[k] = due_of(&w, x, now);
			assert_int_equal(wheel_rearm(&w, m.h[k], x), 0);
		} else {
			uint64_t jump = (rnd() % 8 == 0) ? rnd() % (30 * HOUR_MS) : rnd() % 300;
			now += jump;
			wheel_advance(&w, now, model_fn, &m);
			for (uint32_t k = 0; k < m.n;) {
				bool due = m.due_ms[k] <= now;
				assert_int_equal(m.fired[m.cookie[k]], due);
				assert_true(wheel_next_ms(&w) > now);
				if (due) {
					assert_int_equal(wheel_cancel(&w, m.h[k]), -ENOENT);
					m.n--;
					m.cookie[k] = m.cookie[m.n];
					m.due_ms[k] = m.due_ms[m.n];
					m.h[k] = m.h[m.n];
				} else {
					assert_true(wheel_next_ms(&w) <= m.due_ms[k]);
					k++;
				}
			}
			assert_int_equal(wheel_armed(&w), m.n);
		}
	}
	wheel_destroy(&w);
}

static void test_against_a_model(void **state)
{
	(void)state;
	run_model(1);
	run_model(7);
	run_model(10);
}

static void test_bad_init(void **state)
{
	struct wheel w;
	(void)state;
	assert_int_equal(wheel_init(&w, 0, 10, 0), -EINVAL);
	assert_int_equal(wheel_init(&w, 8, 0, 0), -EINVAL);
	assert_int_equal(wheel_init(&w, WHEEL_MAX_NODES + 1, 10, 0), -EINVAL);
	wheel_destroy(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fire_at_the_right_tick_in_order),
	    cmocka_unit_test(test_never_early_and_past_times),
	    cmocka_unit_test(test_cancel_rearm_and_stale_handles),
	    cmocka_unit_test(test_callback_may_add_and_cancel),
	    cmocka_unit_test(test_callback_rearms_a_level_apart),
	    cmocka_unit_test(test_far_timers),
	    cmocka_unit_test(test_many_timers_bounded),
	    cmocka_unit_test(test_one_advance_over_a_long_gap),
	    cmocka_unit_test(test_against_a_model),
	    cmocka_unit_test(test_bad_init),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
