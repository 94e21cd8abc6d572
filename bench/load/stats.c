/*
 * stats.c - histogram, counters and their JSON (see stats.h).
 *
 * Owns: bucket arithmetic, percentiles, merges, the error definitions and the
 * JSON layout of the counters. Does not own: the run's parameters, the
 * per-second throughput series or the I/O figures (main.c adds those).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "stats.h"

/* ---- histogram ------------------------------------------------------------ */

size_t load_hist_index(uint64_t v)
{
	if (v < 2 * LOAD_HIST_SUB)
		return (size_t)v;
	unsigned e = 63u - (unsigned)__builtin_clzll(v); /* >= SUB_BITS + 1 */
	unsigned shift = e - LOAD_HIST_SUB_BITS;
	return (size_t)(shift + 1) * LOAD_HIST_SUB + (size_t)((v >> shift) - LOAD_HIST_SUB);
}

uint64_t load_hist_bucket_lo(size_t idx)
{
	if (idx < 2 * LOAD_HIST_SUB)
		return idx;
	unsigned shift = (unsigned)(idx / LOAD_HIST_SUB) - 1;
	uint64_t m = (uint64_t)(idx % LOAD_HIST_SUB) + LOAD_HIST_SUB;
	return m << shift;
}

uint64_t load_hist_bucket_hi(size_t idx)
{
	if (idx < 2 * LOAD_HIST_SUB)
		return idx;
	unsigned shift = (unsigned)(idx / LOAD_HIST_SUB) - 1;
	return load_hist_bucket_lo(idx) + (UINT64_C(1) << shift) - 1;
}

void load_hist_init(struct load_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min_ns = UINT64_MAX;
}

void load_hist_record(struct load_hist *h, uint64_t ns)
{
	if (ns > LOAD_HIST_MAX_NS) {
		ns = LOAD_HIST_MAX_NS;
		h->clamped++;
	}
	h->b[load_hist_index(ns)]++;
	h->count++;
	h->sum_ns += ns;
	if (ns < h->min_ns)
		h->min_ns = ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
}

void load_hist_merge(struct load_hist *dst, const struct load_hist *src)
{
	if (!src->count)
		return;
	for (size_t i = 0; i < LOAD_HIST_BUCKETS; i++)
		dst->b[i] += src->b[i];
	dst->count += src->count;
	dst->sum_ns += src->sum_ns;
	dst->clamped += src->clamped;
	if (src->min_ns < dst->min_ns)
		dst->min_ns = src->min_ns;
	if (src->max_ns > dst->max_ns)
		dst->max_ns = src->max_ns;
}

uint64_t load_hist_percentile(const struct load_hist *h, double p)
{
	if (!h->count)
		return 0;
	if (p <= 0)
		return h->min_ns;
	if (p >= 100)
		return h->max_ns;
	/* rank = ceil(p/100 * count), at least 1. p/100 * count in doubles may
	 * land a rounding error above a whole number (99.9 over 1000 samples:
	 * 999.0000000000001), whose ceiling would be one rank too far (p99.9 of
	 * 1000 samples would be their maximum): a fraction below 1e-9 is such an
	 * error, not a part of a rank. */
	double r = p / 100.0 * (double)h->count;
	uint64_t rank = (uint64_t)r;
	if (r - (double)rank > 1e-9 * (r > 1 ? r : 1))
		rank++;
	if (rank < 1)
		rank = 1;
	uint64_t seen = 0;
	for (size_t i = 0; i < LOAD_HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= rank) {
			uint64_t lo = load_hist_bucket_lo(i), hi = load_hist_bucket_hi(i);
			uint64_t v = lo + (hi - lo) / 2;
			if (v < h->min_ns)
				v = h->min_ns;
			if (v > h->max_ns)
				v = h->max_ns;
			return v;
		}
	}
	return h->max_ns;
}

static double us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

json_t *load_hist_json(const struct load_hist *h)
{
	return json_pack("{s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:I}", "count",
			 (json_int_t)h->count, "min", h->count ? us(h->min_ns) : 0.0, "mean",
			 h->count ? us(h->sum_ns) / (double)h->count : 0.0, "p50",
			 us(load_hist_percentile(h, 50)), "p90", us(load_hist_percentile(h, 90)),
			 "p99", us(load_hist_percentile(h, 99)), "p99_9",
			 us(load_hist_percentile(h, 99.9)), "max", us(h->max_ns), "clamped",
			 (json_int_t)h->clamped);
}

/* ---- methods ---------------------------------------------------------------- */

static const char *const method_names[LM_COUNT] = {
    [LM_INVITE] = "INVITE", [LM_REINVITE] = "REINVITE", [LM_BYE] = "BYE",
    [LM_INFO] = "INFO",	    [LM_MESSAGE] = "MESSAGE",	[LM_UPDATE] = "UPDATE",
    [LM_NOTIFY] = "NOTIFY", [LM_OPTIONS] = "OPTIONS",	[LM_PRACK] = "PRACK",
    [LM_REFER] = "REFER",   [LM_ACK] = "ACK",		[LM_CANCEL] = "CANCEL",
    [LM_OTHER] = "OTHER",
};

const char *load_method_name(enum load_method m)
{
	return m < LM_COUNT ? method_names[m] : "?";
}

const char *load_method_wire(enum load_method m)
{
	return m == LM_REINVITE ? "INVITE" : load_method_name(m);
}

int load_method_lookup(const char *s, size_t len)
{
	for (int m = 0; m < LM_COUNT; m++)
		if (strlen(method_names[m]) == len && !strncasecmp(method_names[m], s, len))
			return m;
	return -1;
}

/* ---- counters --------------------------------------------------------------- */

void load_stats_init(struct load_stats *s)
{
	memset(&s->c, 0, sizeof(s->c));
	for (int m = 0; m < LM_COUNT; m++)
		load_hist_init(&s->lat[m]);
	load_hist_init(&s->lat_mix);
	load_hist_init(&s->lat_mix_sched);
	load_hist_init(&s->lag_setup);
	load_hist_init(&s->lag_mix);
	atomic_init(&s->live.calls_up, 0);
	atomic_init(&s->live.completed, 0);
	atomic_init(&s->live.outstanding, 0);
	atomic_init(&s->live.errors, 0);
	atomic_init(&s->live.retrans, 0);
	atomic_init(&s->live.phase, 0);
}

void load_counters_merge(struct load_counters *dst, const struct load_counters *src)
{
	_Static_assert(sizeof(struct load_counters) % sizeof(uint64_t) == 0,
		       "load_counters holds only uint64_t");
	uint64_t *d = (uint64_t *)dst;
	const uint64_t *s = (const uint64_t *)src;
	for (size_t i = 0; i < sizeof(*dst) / sizeof(uint64_t); i++)
		d[i] += s[i];
}

void load_stats_merge(struct load_stats *dst, const struct load_stats *src)
{
	load_counters_merge(&dst->c, &src->c);
	for (int m = 0; m < LM_COUNT; m++)
		load_hist_merge(&dst->lat[m], &src->lat[m]);
	load_hist_merge(&dst->lat_mix, &src->lat_mix);
	load_hist_merge(&dst->lat_mix_sched, &src->lat_mix_sched);
	load_hist_merge(&dst->lag_setup, &src->lag_setup);
	load_hist_merge(&dst->lag_mix, &src->lag_mix);
}

void load_count_code(struct load_counters *c, enum load_method m, int status)
{
	if (status < 100 || status > 699)
		return;
	c->codes[status - 100]++;
	c->m[m].cls[status / 100]++;
}

static uint64_t sum_timeouts(const struct load_counters *c)
{
	uint64_t t = 0;
	for (int m = 0; m < LM_COUNT; m++)
		t += c->m[m].timeouts;
	return t;
}

static uint64_t uac_unexpected(const struct load_counters *c)
{
	return c->unknown_transaction + c->malformed + c->mismatched + c->truncated +
	       c->unexpected_requests;
}

uint64_t load_uac_failed_responses(const struct load_counters *c)
{
	uint64_t n = 0;
	for (int m = 0; m < LM_COUNT; m++) {
		if (m == LM_INVITE)
			continue;
		n += c->m[m].cls[3] + c->m[m].cls[4] + c->m[m].cls[5] + c->m[m].cls[6];
	}
	return n;
}

static uint64_t uac_setup_failures(const struct load_counters *c)
{
	return c->m[LM_INVITE].cls[3] + c->m[LM_INVITE].cls[5];
}

static uint64_t sum_abandoned(const struct load_counters *c)
{
	uint64_t t = 0;
	for (int m = 0; m < LM_COUNT; m++)
		t += c->m[m].abandoned;
	return t;
}

uint64_t load_uac_errors(const struct load_counters *c)
{
	return sum_timeouts(c) + sum_abandoned(c) + uac_unexpected(c) +
	       load_uac_failed_responses(c) + uac_setup_failures(c) + c->late_byes_no_buffer +
	       c->late_byes_no_slot;
}

uint64_t load_uas_errors(const struct load_counters *c)
{
	return c->malformed + c->truncated + c->unknown_transaction + c->unknown_dialog +
	       c->out_of_order + c->legs_table_full + c->ack_timeouts + c->notify_timeouts +
	       c->bad_requests + c->send_errors;
}

/* ---- JSON --------------------------------------------------------------------- */

static void set_u(json_t *o, const char *k, uint64_t v)
{
	json_object_set_new(o, k, json_integer((json_int_t)v));
}

static json_t *codes_json(const struct load_counters *c)
{
	json_t *o = json_object();
	char k[16];
	for (int i = 0; i < 600; i++) {
		if (!c->codes[i])
			continue;
		snprintf(k, sizeof(k), "%d", i + 100);
		set_u(o, k, c->codes[i]);
	}
	return o;
}

static json_t *classes_json(const uint64_t cls[7])
{
	json_t *o = json_object();
	char k[4] = "1xx";
	for (int i = 1; i <= 6; i++) {
		k[0] = (char)('0' + i);
		set_u(o, k, cls[i]);
	}
	return o;
}

static json_t *uac_json(const struct load_stats *s, double mix_seconds)
{
	const struct load_counters *c = &s->c;
	json_t *root = json_object();
	uint64_t sent = 0, completed = 0, retrans = 0, timeouts = 0, abandoned = 0, indlg = 0;
	uint64_t cls[7] = {0};
	json_t *bym = json_object(), *latm = json_object();

	for (int m = 0; m < LM_COUNT; m++) {
		const struct load_mstat *ms = &c->m[m];
		sent += ms->sent;
		completed += ms->completed;
		retrans += ms->retrans;
		timeouts += ms->timeouts;
		abandoned += ms->abandoned;
		if (m != LM_INVITE)
			indlg += ms->completed;
		for (int k = 1; k <= 6; k++)
			cls[k] += ms->cls[k];
		if (!ms->sent && !ms->completed && !ms->timeouts)
			continue;
		json_t *o = json_object();
		set_u(o, "sent", ms->sent);
		set_u(o, "completed", ms->completed);
		set_u(o, "retransmissions", ms->retrans);
		set_u(o, "timeouts", ms->timeouts);
		set_u(o, "abandoned", ms->abandoned);
		json_object_set_new(o, "responses", classes_json(ms->cls));
		json_object_set_new(o, "latency_us", load_hist_json(&s->lat[m]));
		json_object_set_new(bym, load_method_name((enum load_method)m), o);
		json_object_set_new(latm, load_method_name((enum load_method)m),
				    load_hist_json(&s->lat[m]));
	}

	json_t *calls = json_object();
	set_u(calls, "attempted", c->calls_attempted);
	set_u(calls, "established", c->calls_established);
	set_u(calls, "rejected", c->calls_rejected);
	set_u(calls, "failed", c->calls_failed);
	set_u(calls, "ended", c->calls_ended);
	set_u(calls, "lost", c->calls_lost);
	set_u(calls, "ended_by_peer", c->peer_byes);
	set_u(calls, "late_answers", c->calls_late_answers);
	set_u(calls, "mix_completed", c->mix_calls_completed);
	json_object_set_new(
	    calls, "per_second",
	    json_real(mix_seconds > 0 ? (double)c->mix_calls_completed / mix_seconds : 0.0));
	json_object_set_new(root, "calls", calls);

	json_t *req = json_object();
	set_u(req, "sent", sent);
	set_u(req, "completed", completed);
	set_u(req, "in_dialog_completed", indlg);
	set_u(req, "mix_completed", c->mix_completed);
	json_object_set_new(req, "mix_seconds", json_real(mix_seconds));
	json_object_set_new(
	    req, "per_second",
	    json_real(mix_seconds > 0 ? (double)c->mix_completed / mix_seconds : 0.0));
	set_u(req, "mix_setups_completed", c->mix_setups_completed);
	json_object_set_new(
	    req, "transactions_per_second",
	    json_real(mix_seconds > 0
			  ? (double)(c->mix_completed + c->mix_setups_completed) / mix_seconds
			  : 0.0));
	set_u(req, "retransmissions", retrans);
	set_u(req, "timeouts", timeouts);
	set_u(req, "abandoned", abandoned);
	set_u(req, "outstanding", sent - completed - timeouts - abandoned);
	json_object_set_new(root, "requests", req);
	json_object_set_new(root, "by_method", bym);

	json_t *resp = json_object();
	json_object_set_new(resp, "by_class", classes_json(cls));
	json_object_set_new(resp, "by_code", codes_json(c));
	json_object_set_new(root, "responses", resp);

	json_t *unx = json_object();
	set_u(unx, "total", uac_unexpected(c));
	set_u(unx, "unknown_transaction", c->unknown_transaction);
	set_u(unx, "malformed", c->malformed);
	set_u(unx, "mismatched", c->mismatched);
	set_u(unx, "truncated", c->truncated);
	set_u(unx, "requests", c->unexpected_requests);
	json_object_set_new(root, "unexpected", unx);

	json_t *benign = json_object();
	set_u(benign, "duplicate_responses", c->duplicate_responses);
	set_u(benign, "late_responses", c->late_responses);
	set_u(benign, "dialogs_forgotten", c->taken_forgotten);
	json_object_set_new(root, "repeats", benign);

	json_t *ack = json_object();
	set_u(ack, "sent", c->acks_sent);
	set_u(ack, "resent", c->reacks_sent);
	json_object_set_new(root, "acks", ack);

	json_t *peer = json_object();
	set_u(peer, "requests", c->peer_requests);
	set_u(peer, "retransmissions", c->peer_retrans);
	set_u(peer, "responses_sent", c->responses_sent);
	json_object_set_new(root, "peer", peer);

	json_t *send = json_object();
	set_u(send, "pool_empty", c->tx_pool_empty);
	set_u(send, "errors", c->send_errors);
	json_object_set_new(root, "send", send);

	json_t *err = json_object();
	set_u(err, "total", load_uac_errors(c));
	set_u(err, "timeouts", timeouts);
	set_u(err, "abandoned", abandoned);
	set_u(err, "unexpected", uac_unexpected(c));
	set_u(err, "failed_responses", load_uac_failed_responses(c));
	set_u(err, "setup_failures", uac_setup_failures(c));
	set_u(err, "late_byes_no_buffer", c->late_byes_no_buffer);
	set_u(err, "late_byes_no_slot", c->late_byes_no_slot);
	json_object_set_new(root, "errors", err);

	json_object_set_new(root, "latency_us", load_hist_json(&s->lat_mix));
	json_object_set_new(root, "latency_us_from_schedule", load_hist_json(&s->lat_mix_sched));
	json_object_set_new(root, "latency_us_by_method", latm);
	return root;
}

static json_t *uas_json(const struct load_stats *s, double seconds)
{
	const struct load_counters *c = &s->c;
	json_t *root = json_object();
	json_t *bym = json_object();
	uint64_t received = 0, answered = 0, retrans = 0;

	for (int m = 0; m < LM_COUNT; m++) {
		const struct load_mstat *ms = &c->m[m];
		received += ms->sent;
		answered += ms->completed;
		retrans += ms->retrans;
		if (!ms->sent && !ms->retrans)
			continue;
		json_t *o = json_object();
		set_u(o, "received", ms->sent);
		set_u(o, "answered", ms->completed);
		set_u(o, "retransmissions_received", ms->retrans);
		json_object_set_new(o, "responses", classes_json(ms->cls));
		json_object_set_new(bym, load_method_name((enum load_method)m), o);
	}
	json_t *calls = json_object();
	set_u(calls, "created", c->legs_created);
	set_u(calls, "rejected", c->rejects);
	set_u(calls, "cancelled", c->cancels);
	set_u(calls, "answers_delayed", c->answers_delayed);
	set_u(calls, "table_full", c->legs_table_full);
	json_object_set_new(root, "calls", calls);

	json_t *req = json_object();
	set_u(req, "received", received);
	set_u(req, "answered", answered);
	set_u(req, "retransmissions_received", retrans);
	json_object_set_new(req, "per_second",
			    json_real(seconds > 0 ? (double)answered / seconds : 0.0));
	json_object_set_new(root, "requests", req);
	json_object_set_new(root, "by_method", bym);

	json_t *resp = json_object();
	set_u(resp, "sent", c->responses_sent);
	set_u(resp, "resent", c->responses_resent);
	json_object_set_new(resp, "by_code", codes_json(c));
	json_object_set_new(root, "responses", resp);

	json_t *ack = json_object();
	set_u(ack, "received", c->acks_received);
	set_u(ack, "unmatched", c->acks_unmatched);
	set_u(ack, "timeouts", c->ack_timeouts);
	json_object_set_new(root, "acks", ack);

	json_t *nt = json_object();
	set_u(nt, "sent", c->notify_sent);
	set_u(nt, "completed", c->notify_completed);
	set_u(nt, "retransmissions", c->notify_retrans);
	set_u(nt, "timeouts", c->notify_timeouts);
	set_u(nt, "duplicate_responses", c->notify_duplicates);
	set_u(nt, "abandoned", c->notify_abandoned);
	json_object_set_new(root, "notify", nt);

	json_t *ob = json_object();
	set_u(ob, "sent", c->byes_sent);
	set_u(ob, "answered", c->byes_answered);
	set_u(ob, "failed", c->byes_failed);
	set_u(ob, "retransmissions", c->byes_retrans);
	set_u(ob, "timeouts", c->byes_timeouts);
	set_u(ob, "duplicate_responses", c->byes_duplicates);
	json_object_set_new(root, "own_byes", ob);

	json_t *send = json_object();
	set_u(send, "pool_empty", c->tx_pool_empty);
	set_u(send, "pending_pool_empty", c->pending_pool_empty);
	set_u(send, "errors", c->send_errors);
	json_object_set_new(root, "send", send);

	json_t *err = json_object();
	set_u(err, "total", load_uas_errors(c));
	set_u(err, "malformed", c->malformed);
	set_u(err, "truncated", c->truncated);
	set_u(err, "bad_requests", c->bad_requests);
	set_u(err, "unknown_transaction", c->unknown_transaction);
	set_u(err, "unknown_dialog", c->unknown_dialog);
	set_u(err, "out_of_order", c->out_of_order);
	set_u(err, "table_full", c->legs_table_full);
	set_u(err, "ack_timeouts", c->ack_timeouts);
	set_u(err, "notify_timeouts", c->notify_timeouts);
	set_u(err, "send_errors", c->send_errors);
	json_object_set_new(root, "errors", err);
	return root;
}

static json_t *proxy_json(const struct load_stats *s)
{
	const struct load_counters *c = &s->c;
	json_t *root = json_object();
	static const char *const dir[2] = {"to_server", "to_client"};
	for (int d = 0; d < 2; d++) {
		json_t *o = json_object();
		set_u(o, "requests_forwarded", c->fwd_requests[d]);
		set_u(o, "requests_dropped", c->dropped_requests[d]);
		set_u(o, "responses_forwarded", c->fwd_responses[d]);
		set_u(o, "responses_dropped", c->dropped_responses[d]);
		json_object_set_new(root, dir[d], o);
	}
	json_t *err = json_object();
	set_u(err, "total", c->send_errors + c->truncated);
	set_u(err, "send_errors", c->send_errors);
	set_u(err, "truncated", c->truncated);
	json_object_set_new(root, "errors", err);
	return root;
}

bool load_pace_short(double asked, double achieved)
{
	return asked > 0 && achieved < asked * (1.0 - LOAD_PACE_SHORT);
}

void load_setup_pace_add(struct load_setup_pace *p, double share, uint64_t n, uint64_t first_ns,
			 uint64_t last_ns)
{
	/* one INVITE, or all in the same instant, give no rate to judge */
	if (n < 2 || last_ns <= first_ns)
		return;
	double offered = (double)(n - 1) / ((double)(last_ns - first_ns) / 1e9);
	p->offered += offered;
	p->asked += share;
	p->judged++;
	if (load_pace_short(share, offered))
		p->is_short = true;
}

json_t *load_pacing_json(const struct load_stats *s, double rate, const struct load_setup_pace *sp,
			 double req_rate, double mix_s)
{
	const struct load_counters *c = &s->c;
	json_t *setup = json_object();
	json_object_set_new(setup, "asked_per_second", json_real(rate));
	set_u(setup, "invites", c->setup_invites);
	json_object_set_new(setup, "seconds", json_real(sp->seconds));
	json_object_set_new(setup, "offered_per_second", json_real(sp->offered));
	set_u(setup, "threads_judged", sp->judged);
	json_object_set_new(setup, "judged_asked_per_second", json_real(sp->asked));
	json_object_set_new(setup, "short", json_boolean(sp->is_short));
	json_object_set_new(setup, "lag_us", load_hist_json(&s->lag_setup));

	double issued = mix_s > 0 ? (double)c->mix_issued / mix_s : 0.0;
	json_t *mix = json_object();
	json_object_set_new(mix, "asked_per_second", json_real(req_rate));
	set_u(mix, "issued", c->mix_issued);
	json_object_set_new(mix, "issued_per_second", json_real(issued));
	json_object_set_new(mix, "short",
			    json_boolean(mix_s > 0 && load_pace_short(req_rate, issued)));
	json_object_set_new(mix, "lag_us", load_hist_json(&s->lag_mix));

	json_t *o = json_object();
	json_object_set_new(o, "setup", setup);
	json_object_set_new(o, "mix", mix);
	return o;
}

json_t *load_stats_json(const struct load_stats *s, const char *role, double mix_seconds)
{
	if (!strcmp(role, "uac"))
		return uac_json(s, mix_seconds);
	if (!strcmp(role, "uas"))
		return uas_json(s, mix_seconds);
	return proxy_json(s);
}
