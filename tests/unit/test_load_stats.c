/*
 * test_load_stats.c - sipshard-load's counting (bench/load/stats.c): the
 * log-linear histogram's buckets, percentiles against known distributions,
 * clamping, the merge of per-thread histograms and counters, the error
 * definitions, and the JSON figures the benchmark scripts read.
 *
 * stats.c lives with sipshard-load, outside the library, so it is compiled
 * into this test directly.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../bench/load/stats.c"

#define US 1000ull
#define MS (1000ull * US)
#define S  (1000ull * MS)

/* |got - want| <= rel * want */
static void assert_near(double got, double want, double rel)
{
	if (fabs(got - want) > rel * want)
		fail_msg("got %.3f, want %.3f within %.2f%%", got, want, rel * 100);
}

static struct load_hist *new_hist(void)
{
	struct load_hist *h = malloc(sizeof(*h));
	assert_non_null(h);
	load_hist_init(h);
	return h;
}

/* Every value falls in a bucket whose bounds hold it; buckets are contiguous,
 * ordered, and at most 1/128 of their values wide; the range reaches 60 s. */
static void test_buckets(void **state)
{
	(void)state;
	assert_true(load_hist_index(LOAD_HIST_MAX_NS) < LOAD_HIST_BUCKETS);
	for (size_t i = 0; i + 1 < LOAD_HIST_BUCKETS; i++) {
		assert_true(load_hist_bucket_lo(i) <= load_hist_bucket_hi(i));
		assert_int_equal(load_hist_bucket_hi(i) + 1, load_hist_bucket_lo(i + 1));
		assert_int_equal(load_hist_index(load_hist_bucket_lo(i)), i);
		assert_int_equal(load_hist_index(load_hist_bucket_hi(i)), i);
		uint64_t width = load_hist_bucket_hi(i) - load_hist_bucket_lo(i) + 1;
		if (i >= 2 * LOAD_HIST_SUB)
			assert_true(width * LOAD_HIST_SUB <= load_hist_bucket_lo(i));
		else
			assert_int_equal(width, 1);
	}
	/* a spread of values, including powers of two and their neighbours */
	for (unsigned e = 0; e < 36; e++) {
		for (int d = -1; d <= 1; d++) {
			uint64_t v = (UINT64_C(1) << e) + (uint64_t)d;
			if ((int64_t)v < 0)
				continue;
			size_t i = load_hist_index(v);
			assert_true(load_hist_bucket_lo(i) <= v && v <= load_hist_bucket_hi(i));
		}
	}
}

/* Below 256 ns every value has its own bucket, so percentiles are exact. */
static void test_exact_small(void **state)
{
	(void)state;
	struct load_hist *h = new_hist();
	for (uint64_t v = 1; v <= 200; v++)
		load_hist_record(h, v);
	assert_int_equal(h->count, 200);
	assert_int_equal(h->min_ns, 1);
	assert_int_equal(h->max_ns, 200);
	assert_int_equal(h->sum_ns, 200 * 201 / 2);
	assert_int_equal(load_hist_percentile(h, 50), 100);
	assert_int_equal(load_hist_percentile(h, 90), 180);
	assert_int_equal(load_hist_percentile(h, 99), 198);
	assert_int_equal(load_hist_percentile(h, 99.9), 200); /* rank ceil(199.8) = 200 */
	assert_int_equal(load_hist_percentile(h, 100), 200);
	free(h);
}

/* The nearest rank of p over n samples is ceil(p/100 * n) in exact
 * arithmetic. p/100 * n in doubles can land just above a whole number (99.9
 * over 1000 samples gives 999.0000000000001), and its ceiling is then one rank
 * too far: p99.9 of 1000 samples was their maximum. Values below 256 ns have a
 * bucket each, so the rank taken shows in the value returned. */
static void test_rank_exact(void **state)
{
	(void)state;
	static const struct {
		double p;
		uint64_t n, want;
	} cases[] = {
	    {99.9, 1000, 999}, {99.9, 2000, 1998}, {99.9, 3000, 2997}, {99, 100, 99},
	    {90, 10, 9},       {50, 2, 1},	   {99.9, 200, 200}, /* ceil(199.8) */
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		/* ranks below the wanted one at 10 ns, it at 20 ns, above at 30 ns */
		struct load_hist *h = new_hist();
		for (uint64_t i = 1; i <= cases[k].n; i++)
			load_hist_record(h, i < cases[k].want ? 10 : i == cases[k].want ? 20 : 30);
		if (load_hist_percentile(h, cases[k].p) != 20)
			fail_msg("p%g of %llu samples: got the value of rank %s, want rank %llu",
				 cases[k].p, (unsigned long long)cases[k].n,
				 load_hist_percentile(h, cases[k].p) == 30 ? "above" : "below",
				 (unsigned long long)cases[k].want);
		free(h);
	}
}

/* Uniform 1 us .. 100 ms: every percentile within 1% of the true one. */
static void test_uniform(void **state)
{
	(void)state;
	struct load_hist *h = new_hist();
	const uint64_t n = 100000;
	for (uint64_t i = 1; i <= n; i++)
		load_hist_record(h, i * US);
	assert_int_equal(h->count, n);
	assert_int_equal(h->min_ns, 1 * US);
	assert_int_equal(h->max_ns, n * US);
	static const double ps[] = {1, 10, 25, 50, 75, 90, 99, 99.9, 99.99};
	for (size_t k = 0; k < sizeof(ps) / sizeof(ps[0]); k++) {
		double want = ceil(ps[k] / 100.0 * (double)n) * (double)US;
		assert_near((double)load_hist_percentile(h, ps[k]), want, 0.01);
	}
	/* mean is kept exactly, not from buckets */
	assert_int_equal(h->sum_ns, n * (n + 1) / 2 * US);
	free(h);
}

/* A bimodal latency: 90% at 100 us, 9% at 10 ms, 1% at 2 s. The percentiles
 * must land on the right mode, not between them. */
static void test_bimodal(void **state)
{
	(void)state;
	struct load_hist *h = new_hist();
	for (int i = 0; i < 9000; i++)
		load_hist_record(h, 100 * US);
	for (int i = 0; i < 900; i++)
		load_hist_record(h, 10 * MS);
	for (int i = 0; i < 100; i++)
		load_hist_record(h, 2 * S);
	assert_near((double)load_hist_percentile(h, 50), 100 * US, 0.005);
	assert_near((double)load_hist_percentile(h, 90), 100 * US, 0.005);
	assert_near((double)load_hist_percentile(h, 90.01), 10 * MS, 0.005);
	assert_near((double)load_hist_percentile(h, 99), 10 * MS, 0.005);
	assert_near((double)load_hist_percentile(h, 99.9), 2 * S, 0.005);
	assert_int_equal(load_hist_percentile(h, 100), 2 * S);
	free(h);
}

/* Beyond 60 s a value is recorded as 60 s and counted as clamped. */
static void test_clamp(void **state)
{
	(void)state;
	struct load_hist *h = new_hist();
	load_hist_record(h, 5 * US);
	load_hist_record(h, 120 * S);
	assert_int_equal(h->clamped, 1);
	assert_int_equal(h->max_ns, LOAD_HIST_MAX_NS);
	assert_int_equal(load_hist_percentile(h, 100), LOAD_HIST_MAX_NS);
	assert_near((double)load_hist_percentile(h, 99), (double)LOAD_HIST_MAX_NS, 0.005);
	free(h);
}

static void test_empty(void **state)
{
	(void)state;
	struct load_hist *h = new_hist();
	assert_int_equal(load_hist_percentile(h, 50), 0);
	json_t *j = load_hist_json(h);
	assert_int_equal(json_integer_value(json_object_get(j, "count")), 0);
	assert_true(json_real_value(json_object_get(j, "p99")) == 0.0);
	json_decref(j);
	free(h);
}

/* Per-thread histograms merged give the very histogram one thread would have. */
static void test_merge(void **state)
{
	(void)state;
	struct load_hist *one = new_hist(), *sum = new_hist(), *part[4];
	for (int t = 0; t < 4; t++)
		part[t] = new_hist();
	uint64_t x = 88172645463325252ull;
	for (int i = 0; i < 50000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		uint64_t v = x % (5 * S) + 1;
		load_hist_record(one, v);
		load_hist_record(part[i % 4], v);
	}
	struct load_hist *empty = new_hist();
	load_hist_merge(sum, empty); /* an idle thread changes nothing, min included */
	for (int t = 0; t < 4; t++)
		load_hist_merge(sum, part[t]);
	load_hist_merge(sum, empty);
	assert_int_equal(sum->count, one->count);
	assert_int_equal(sum->sum_ns, one->sum_ns);
	assert_int_equal(sum->min_ns, one->min_ns);
	assert_int_equal(sum->max_ns, one->max_ns);
	assert_memory_equal(sum->b, one->b, sizeof(one->b));
	for (double p = 1; p < 100; p += 7.5)
		assert_int_equal(load_hist_percentile(sum, p), load_hist_percentile(one, p));
	free(one);
	free(sum);
	free(empty);
	for (int t = 0; t < 4; t++)
		free(part[t]);
}

/* Counters: merging sums every field; the uac's error definition. */
static void test_counters(void **state)
{
	(void)state;
	struct load_stats *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	load_stats_init(a);
	load_stats_init(b);

	load_count_code(&a->c, LM_INVITE, 100);
	load_count_code(&a->c, LM_INVITE, 200);
	load_count_code(&a->c, LM_INVITE, 486); /* a rejection: not an error */
	load_count_code(&a->c, LM_INVITE, 603); /* neither */
	assert_int_equal(load_uac_errors(&a->c), 0);
	load_count_code(&b->c, LM_INVITE, 503); /* a failed setup: an error */
	load_count_code(&b->c, LM_INFO, 200);
	load_count_code(&b->c, LM_INFO, 481); /* in-dialog failure: an error */
	load_count_code(&b->c, LM_BYE, 408);
	b->c.m[LM_INFO].timeouts = 2;
	b->c.unknown_transaction = 1;
	b->c.malformed = 1;
	b->c.duplicate_responses = 5; /* repeats are not errors */
	b->c.late_responses = 5;
	assert_int_equal(load_uac_failed_responses(&b->c), 2);
	assert_int_equal(load_uac_errors(&b->c), 1 + 2 + 2 + 1 + 1);
	load_hist_record(&a->lat[LM_INFO], 10 * US);
	load_hist_record(&b->lat[LM_INFO], 20 * US);

	load_stats_merge(a, b);
	assert_int_equal(a->c.codes[200 - 100], 2);
	assert_int_equal(a->c.codes[486 - 100], 1);
	assert_int_equal(a->c.m[LM_INVITE].cls[1], 1);
	assert_int_equal(a->c.m[LM_INVITE].cls[2], 1);
	assert_int_equal(a->c.m[LM_INVITE].cls[5], 1);
	assert_int_equal(a->c.m[LM_INFO].timeouts, 2);
	assert_int_equal(a->c.duplicate_responses, 5);
	assert_int_equal(a->lat[LM_INFO].count, 2);
	assert_int_equal(a->lat[LM_INFO].min_ns, 10 * US);
	assert_int_equal(load_uac_errors(&a->c), 7);

	/* codes out of range are ignored, not written out of bounds */
	load_count_code(&a->c, LM_INFO, 99);
	load_count_code(&a->c, LM_INFO, 700);
	assert_int_equal(a->c.m[LM_INFO].cls[2], 1);
	free(a);
	free(b);
}

static void test_method_names(void **state)
{
	(void)state;
	assert_int_equal(load_method_lookup("info", 4), LM_INFO);
	assert_int_equal(load_method_lookup("REINVITE", 8), LM_REINVITE);
	assert_int_equal(load_method_lookup("REINVIT", 7), -1);
	assert_string_equal(load_method_wire(LM_REINVITE), "INVITE");
	assert_string_equal(load_method_name(LM_REINVITE), "REINVITE");
}

/* The figures bench/report.py and the integration tests read are there. */
static void test_json(void **state)
{
	(void)state;
	struct load_stats *s = calloc(1, sizeof(*s));
	load_stats_init(s);
	s->c.m[LM_INFO].sent = 1000;
	s->c.m[LM_INFO].completed = 990;
	s->c.m[LM_INFO].timeouts = 10;
	s->c.mix_completed = 900;
	s->c.calls_established = 7;
	for (int i = 1; i <= 1000; i++)
		load_hist_record(&s->lat_mix, (uint64_t)i * US);
	json_t *j = load_stats_json(s, "uac", 2.0);
	assert_non_null(j);
	json_t *req = json_object_get(j, "requests");
	assert_int_equal(json_integer_value(json_object_get(req, "completed")), 990);
	assert_int_equal(json_integer_value(json_object_get(req, "timeouts")), 10);
	assert_int_equal(json_integer_value(json_object_get(req, "outstanding")), 0);
	assert_true(json_real_value(json_object_get(req, "per_second")) == 450.0);
	json_t *lat = json_object_get(j, "latency_us");
	assert_near(json_real_value(json_object_get(lat, "p50")), 500.0, 0.01);
	assert_near(json_real_value(json_object_get(lat, "p99")), 990.0, 0.01);
	assert_near(json_real_value(json_object_get(lat, "p99_9")), 999.0, 0.01);
	assert_true(json_real_value(json_object_get(lat, "max")) == 1000.0);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "errors"), "total")),
			 10);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(j, "calls"), "established")), 7);
	json_t *info = json_object_get(json_object_get(j, "by_method"), "INFO");
	assert_non_null(info);
	assert_int_equal(json_integer_value(json_object_get(info, "sent")), 1000);
	assert_null(json_object_get(json_object_get(j, "by_method"), "MESSAGE"));
	json_decref(j);

	j = load_stats_json(s, "uas", 2.0);
	assert_non_null(json_object_get(j, "acks"));
	assert_non_null(json_object_get(json_object_get(j, "by_method"), "INFO"));
	json_decref(j);
	free(s);
}

/* The uas's own BYEs (for a 2xx whose ACK timed out) have their JSON object;
 * their timeouts are no error of their own: the ACK timeout was one. */
static void test_uas_own_byes(void **state)
{
	(void)state;
	struct load_stats *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	load_stats_init(s);
	s->c.ack_timeouts = 3;
	s->c.byes_sent = 3;
	s->c.byes_answered = 2;
	s->c.byes_failed = 1;
	s->c.byes_retrans = 5;
	s->c.byes_timeouts = 1;
	s->c.byes_duplicates = 4;
	assert_int_equal(load_uas_errors(&s->c), 3);
	json_t *j = load_stats_json(s, "uas", 1.0);
	json_t *b = json_object_get(j, "own_byes");
	assert_non_null(b);
	assert_int_equal(json_integer_value(json_object_get(b, "sent")), 3);
	assert_int_equal(json_integer_value(json_object_get(b, "answered")), 2);
	assert_int_equal(json_integer_value(json_object_get(b, "failed")), 1);
	assert_int_equal(json_integer_value(json_object_get(b, "retransmissions")), 5);
	assert_int_equal(json_integer_value(json_object_get(b, "timeouts")), 1);
	assert_int_equal(json_integer_value(json_object_get(b, "duplicate_responses")), 4);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "errors"), "total")),
			 3);
	json_decref(j);
	free(s);
}

/* A response the uas could not send (too large for a send buffer, refused by
 * the io) left its request unanswered: an error in the total and in the JSON
 * (send.errors was counted, but the total left it out, so --max-errors did
 * not see it); a send buffer missing is the generator's limit, no error. */
static void test_uas_send_errors(void **state)
{
	(void)state;
	struct load_stats *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	load_stats_init(s);
	s->c.send_errors = 2;
	s->c.tx_pool_empty = 5;
	s->c.out_of_order = 1;
	assert_int_equal(load_uas_errors(&s->c), 3);
	json_t *j = load_stats_json(s, "uas", 1.0);
	json_t *err = json_object_get(j, "errors");
	assert_int_equal(json_integer_value(json_object_get(err, "total")), 3);
	assert_int_equal(json_integer_value(json_object_get(err, "send_errors")), 2);
	json_decref(j);
	free(s);
}

/* The pacing figures: asked against achieved, flagged short past 5%, and how
 * late paced sends went out; the stats merge carries the lag histograms and
 * the latency from when due. */
static void test_pacing(void **state)
{
	(void)state;
	assert_false(load_pace_short(1000, 960));
	assert_true(load_pace_short(1000, 940));
	assert_false(load_pace_short(0, 10)); /* not paced: nothing asked */

	struct load_stats *s = calloc(2, sizeof(*s));
	assert_non_null(s);
	load_stats_init(&s[0]);
	load_stats_init(&s[1]);
	s[1].c.setup_invites = 100;
	s[1].c.mix_issued = 300;
	for (int i = 1; i <= 100; i++) {
		load_hist_record(&s[1].lag_setup, (uint64_t)i * US);
		load_hist_record(&s[1].lag_mix, (uint64_t)i * MS);
		load_hist_record(&s[1].lat_mix_sched, (uint64_t)i * MS);
	}
	load_stats_merge(&s[0], &s[1]);
	assert_int_equal(s[0].lag_setup.count, 100);
	assert_int_equal(s[0].lag_mix.max_ns, 100 * MS);
	assert_int_equal(s[0].lat_mix_sched.count, 100);

	struct load_setup_pace sp = {0.198, 0, 0, 0, false};
	load_setup_pace_add(&sp, 500, 100, 0, 198 * MS); /* 99 intervals in 0.198 s */
	assert_int_equal(sp.judged, 1);
	assert_false(sp.is_short);
	json_t *j = load_pacing_json(&s[0], 500, &sp, 200, 2.0);
	json_t *su = json_object_get(j, "setup"), *mx = json_object_get(j, "mix");
	assert_int_equal(json_integer_value(json_object_get(su, "invites")), 100);
	assert_true(json_is_false(json_object_get(su, "short")));
	assert_true(json_real_value(json_object_get(json_object_get(su, "lag_us"), "max")) ==
		    100.0);
	assert_int_equal(json_integer_value(json_object_get(mx, "issued")), 300);
	assert_true(json_real_value(json_object_get(mx, "issued_per_second")) == 150.0);
	assert_true(json_is_true(json_object_get(mx, "short"))); /* 150 of 200 asked */
	json_decref(j);
	/* no span to judge (one INVITE), an open-loop mix: never short */
	struct load_setup_pace none = {0};
	load_setup_pace_add(&none, 500, 1, 5 * MS, 5 * MS);
	load_setup_pace_add(&none, 500, 100, 5 * MS, 5 * MS);
	assert_int_equal(none.judged, 0);
	j = load_pacing_json(&s[0], 500, &none, 0, 2.0);
	assert_true(json_is_false(json_object_get(json_object_get(j, "setup"), "short")));
	assert_true(json_is_false(json_object_get(json_object_get(j, "mix"), "short")));
	json_decref(j);
	j = load_stats_json(&s[0], "uac", 2.0);
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(j, "latency_us_from_schedule"), "count")),
			 100);
	json_decref(j);
	free(s);
}

/* The set-up's pace over threads whose shares of --calls differ, each paced
 * at --rate / --threads from its own start: each thread that sent 2 INVITEs
 * or more is judged against its own share, and the figures are their sums.
 * 5 calls over 4 threads at 100/s: one thread sent 2, 40 ms apart, at its
 * 25/s, the others 1, which give no rate; not short. Taken as one stream
 * over all threads (as before), that was 1 interval in 40 ms against 100/s:
 * "offered 25/s", short. One thread of several slower than its share makes
 * the set-up short, though the sum may look held. */
static void test_setup_pace_per_thread(void **state)
{
	(void)state;
	struct load_setup_pace sp = {0};
	load_setup_pace_add(&sp, 25, 2, 1 * MS, 41 * MS);
	for (int i = 0; i < 3; i++)
		load_setup_pace_add(&sp, 25, 1, 1 * MS, 1 * MS);
	assert_int_equal(sp.judged, 1);
	assert_true(sp.asked == 25.0);
	assert_true(sp.offered > 24.9 && sp.offered < 25.1);
	assert_false(sp.is_short);

	struct load_setup_pace two = {0};
	load_setup_pace_add(&two, 50, 11, 0, 200 * MS); /* 50/s: held */
	load_setup_pace_add(&two, 50, 11, 0, 250 * MS); /* 40/s: short of 50 */
	load_setup_pace_add(&two, 50, 13, 0, 200 * MS); /* 60/s */
	assert_int_equal(two.judged, 3);
	assert_true(two.asked == 150.0);
	assert_true(two.offered > 149.9 && two.offered < 150.1); /* the sum is held */
	assert_true(two.is_short);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_buckets),
	    cmocka_unit_test(test_exact_small),
	    cmocka_unit_test(test_rank_exact),
	    cmocka_unit_test(test_uniform),
	    cmocka_unit_test(test_bimodal),
	    cmocka_unit_test(test_clamp),
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_merge),
	    cmocka_unit_test(test_counters),
	    cmocka_unit_test(test_method_names),
	    cmocka_unit_test(test_json),
	    cmocka_unit_test(test_uas_own_byes),
	    cmocka_unit_test(test_uas_send_errors),
	    cmocka_unit_test(test_pacing),
	    cmocka_unit_test(test_setup_pace_per_thread),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
