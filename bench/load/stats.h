/*
 * stats.h - what sipshard-load counts: a log-linear latency histogram and the
 * per-thread counters of every role, their merge, and their JSON form.
 *
 * Owns: the histogram (fixed memory, values in nanoseconds, relative error
 * below 0.4% from 256 ns up to 60 s, exact below 256 ns), the counter layout
 * shared by the uac, uas and drop-proxy roles, the live figures a worker
 * publishes for the progress line, and turning all of it into JSON (jansson).
 * Does not own: when anything is counted (uac.c, uas.c, lossy_proxy.c decide),
 * the run's parameters (main.c adds them to the document).
 *
 * A worker writes only its own struct load_stats; main reads the counters and
 * histograms after joining the worker, and only the `live` atomics while it runs.
 */
#ifndef SIPSHARD_LOAD_STATS_H
#define SIPSHARD_LOAD_STATS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* ---- histogram -------------------------------------------------------------
 * Values below 2*LOAD_HIST_SUB ns have one bucket each; above, every power of
 * two is split into LOAD_HIST_SUB linear buckets, so a bucket is at most
 * 1/LOAD_HIST_SUB of its values wide. Values above LOAD_HIST_MAX_NS are
 * recorded as LOAD_HIST_MAX_NS and counted in `clamped`. */
#define LOAD_HIST_SUB_BITS 7
#define LOAD_HIST_SUB	   (1u << LOAD_HIST_SUB_BITS)
#define LOAD_HIST_MAX_NS   UINT64_C(60000000000)
/* 60 s < 2^36 ns: the top bucket group starts at 2^35 (shift 28) */
#define LOAD_HIST_BUCKETS ((35 - LOAD_HIST_SUB_BITS + 2) * LOAD_HIST_SUB)

struct load_hist {
	uint64_t count, sum_ns, min_ns, max_ns, clamped;
	uint64_t b[LOAD_HIST_BUCKETS];
};

void load_hist_init(struct load_hist *h);
void load_hist_record(struct load_hist *h, uint64_t ns);
/* Adds src into dst (per-thread histograms into the run's). */
void load_hist_merge(struct load_hist *dst, const struct load_hist *src);
/* The value at percentile p (0 < p <= 100) in ns: the midpoint of the bucket
 * that holds the rank ceil(p/100 * count), kept within [min, max]. 0 when empty. */
uint64_t load_hist_percentile(const struct load_hist *h, double p);
/* Bucket index of a value, and the lowest and highest value of a bucket. */
size_t load_hist_index(uint64_t ns);
uint64_t load_hist_bucket_lo(size_t idx);
uint64_t load_hist_bucket_hi(size_t idx);
/* {"count","min","mean","p50","p90","p99","p99_9","max"} in microseconds. */
json_t *load_hist_json(const struct load_hist *h);

/* ---- counters --------------------------------------------------------------*/

/* Transaction kinds. LM_INVITE is the dialog-creating INVITE, LM_REINVITE an
 * INVITE inside a dialog; both are "INVITE" on the wire. */
enum load_method {
	LM_INVITE = 0,
	LM_REINVITE,
	LM_BYE,
	LM_INFO,
	LM_MESSAGE,
	LM_UPDATE,
	LM_NOTIFY,
	LM_OPTIONS,
	LM_PRACK,
	LM_REFER,
	LM_ACK,
	LM_CANCEL,
	LM_OTHER,
	LM_COUNT
};
/* "INVITE", "REINVITE", ... (the JSON keys and --mix names) */
const char *load_method_name(enum load_method m);
/* The name on the wire ("INVITE" for LM_REINVITE). */
const char *load_method_wire(enum load_method m);
/* --mix name (case-insensitive) to method; -1 when unknown. */
int load_method_lookup(const char *s, size_t len);

/* Per transaction kind. uac: sent = new transactions started, completed =
 * final responses, retrans = retransmissions sent, timeouts = no final response
 * within 64*T1, abandoned = still waiting for one when a second stop signal
 * ended the run (sent = completed + timeouts + abandoned once the run is
 * over), cls = responses by class (cls[1] 1xx ... cls[6] 6xx).
 * uas: sent = new requests received, completed = final responses sent for
 * them, retrans = retransmitted requests received, cls = responses sent. */
struct load_mstat {
	uint64_t sent, completed, retrans, timeouts, abandoned;
	uint64_t cls[7];
};

/* Only uint64_t members, so that a merge is a loop over words. */
struct load_counters {
	struct load_mstat m[LM_COUNT];
	uint64_t codes[600]; /* 100..699: received (uac) or sent (uas) */

	/* uac: calls */
	uint64_t calls_attempted, calls_established, calls_rejected, calls_failed;
	uint64_t calls_ended, calls_lost, peer_byes;
	/* 2xx to an INVITE that had timed out (RFC 3261 13.2.2.4: ACKed all
	 * the same, then ended with a BYE); neither established nor ended */
	uint64_t calls_late_answers;
	/* the BYE of a late answer or of another fork's 2xx that could not be
	 * sent (an error: the callee holds the dialog, ACKed): no send buffer
	 * until its Timer F; no fork record free (FORK_MAX with their BYE out) */
	uint64_t late_byes_no_buffer, late_byes_no_slot;
	/* uac: what did not belong */
	uint64_t unknown_transaction; /* response whose branch is not ours */
	uint64_t malformed;	      /* sip_parse failed */
	uint64_t mismatched;	      /* our branch but wrong Call-ID/CSeq */
	uint64_t truncated;	      /* datagram larger than a receive buffer */
	uint64_t unexpected_requests; /* request for no call of ours */
	/* uac: benign repeats */
	uint64_t duplicate_responses; /* final response to a finished transaction */
	uint64_t late_responses;      /* response for a slot that was since reused */
	/* dialogs taken (--requests-per-call) that the thread's memory of them
	 * gave up while their 2xx could still come again: a repeat of such a
	 * 2xx is taken for another fork's (the memory is too small for the
	 * rate of calls) */
	uint64_t taken_forgotten;
	uint64_t acks_sent, reacks_sent;
	uint64_t peer_requests, peer_retrans; /* requests from the far end (NOTIFY ...) */
	uint64_t mix_completed;	       /* in-dialog transactions completed inside the mix window */
	uint64_t mix_setups_completed; /* INVITEs completed inside it (--requests-per-call) */
	uint64_t mix_calls_completed;  /* calls ended by a 2xx to BYE inside it (same) */
	uint64_t mix_issued; /* in-dialog transactions started in the mix (--req-rate paces them) */
	uint64_t
	    setup_invites; /* dialog-creating INVITEs of the set-up phase (--rate paces them) */
	uint64_t setup_timeouts; /* INVITE timeouts (also in m[LM_INVITE].timeouts) */

	/* both */
	uint64_t responses_sent, tx_pool_empty, send_errors;
	uint64_t responses_resent; /* uas: stored final responses sent again */

	/* uas */
	uint64_t legs_created, legs_table_full, unknown_dialog, out_of_order;
	uint64_t acks_received, acks_unmatched, ack_timeouts, pending_pool_empty, cancels;
	uint64_t answers_delayed, rejects;
	uint64_t notify_sent, notify_completed, notify_retrans, notify_timeouts;
	uint64_t notify_duplicates, notify_abandoned; /* abandoned: the dialog ended first */
	/* our BYEs, each for a 2xx whose ACK timed out (no error of their own:
	 * the ACK timeout is); failed: a final >= 300 (481: the peer had no
	 * dialog either); duplicates: a final after the first, or late */
	uint64_t byes_sent, byes_answered, byes_failed, byes_retrans, byes_timeouts;
	uint64_t byes_duplicates;
	uint64_t bad_requests; /* well-formed, answered 400 (malformed ones: `malformed`) */

	/* drop-proxy: [0] client to server, [1] server to client */
	uint64_t fwd_requests[2], fwd_responses[2], dropped_requests[2], dropped_responses[2];
};

/* Figures a worker publishes for the progress line (relaxed stores, one writer). */
struct load_live {
	_Atomic uint64_t calls_up, completed, outstanding, errors, retrans, phase;
};

/* Latency is measured from a request's first send (the service time). A paced
 * request (an INVITE of the set-up phase at --rate, an in-dialog request of
 * the mix at --req-rate) also has the time it was due: when the uac falls
 * behind its schedule (a window full of requests a stalled peer holds, no call
 * idle, its own CPU) the requests it could not send on time are sent late, and
 * their service time leaves out the wait (coordinated omission). `lag_*` is
 * how late each paced request went out; `lat_mix_sched` the mix's latency from
 * the time each request was due (equal to lat_mix when the mix is not paced). */
struct load_stats {
	struct load_counters c;
	struct load_hist lat[LM_COUNT];	     /* first send to final response, per kind */
	struct load_hist lat_mix;	     /* in-dialog transactions of the mix window */
	struct load_hist lat_mix_sched;	     /* the same from the time each was due */
	struct load_hist lag_setup, lag_mix; /* send time minus due time of paced sends */
	struct load_live live;
};

void load_stats_init(struct load_stats *s);
void load_counters_merge(struct load_counters *dst, const struct load_counters *src);
/* Merges counters and histograms (not `live`). */
void load_stats_merge(struct load_stats *dst, const struct load_stats *src);

static inline void load_live_set(_Atomic uint64_t *a, uint64_t v)
{
	atomic_store_explicit(a, v, memory_order_relaxed);
}
static inline uint64_t load_live_get(_Atomic uint64_t *a)
{
	return atomic_load_explicit(a, memory_order_relaxed);
}

/* Counts a response code: codes[] and the kind's class. */
void load_count_code(struct load_counters *c, enum load_method m, int status);

/* What the uac counts as errors: timeouts, transactions abandoned at a
 * second stop signal (never seen through), unexpected datagrams (unknown
 * transaction, malformed, mismatched, truncated, requests for no call), final
 * responses >= 300 to in-dialog requests (BYE included), >= 500 to the
 * dialog-creating INVITE, calls lost to 481, and the BYEs of late answers that
 * could not be sent (late_byes_no_buffer, late_byes_no_slot). 4xx/6xx to an INVITE are
 * rejections (the uas's --reject-share), not errors. */
uint64_t load_uac_errors(const struct load_counters *c);
/* uas: malformed, responses to no transaction of ours, unknown dialog,
 * out-of-order, table full, ACK and NOTIFY timeouts, and send errors (a
 * response or request of ours that could not be written or queued: its
 * request went unanswered; a send buffer missing, send.pool_empty, is the
 * generator's own limit and no error). An ACK for no leg is
 * counted (acks.unmatched) but is no error: it answers a stateless 4xx/5xx. */
uint64_t load_uas_errors(const struct load_counters *c);
/* In-dialog final responses >= 300 (the uac's "failed_responses"). */
uint64_t load_uac_failed_responses(const struct load_counters *c);

/* A paced phase: the rate asked (0: not paced), the rate achieved, and whether
 * that fell short of the asked one by more than LOAD_PACE_SHORT. */
#define LOAD_PACE_SHORT 0.05
bool load_pace_short(double asked, double achieved);
/* The set-up phase of a run. Each uac thread sends its share of --calls at
 * its share of --rate (--rate / --threads) from its own start, and the
 * shares of --calls need not be equal (5 calls over 4 threads: 2, 1, 1, 1),
 * so each thread is judged on its own: one that sent 2 INVITEs or more, not
 * all at once, against its share of the rate. Taken as one stream paced at
 * --rate, 5 calls over 4 threads at 100/s were "offered 25/s", short, with
 * every INVITE on time. */
struct load_setup_pace {
	double seconds;	 /* from the run's first set-up INVITE to its last */
	double offered;	 /* the sum of the rates the threads judged sent at */
	double asked;	 /* the sum of their shares of --rate */
	unsigned judged; /* the threads judged */
	bool is_short;	 /* one of them fell short of its share by more than LOAD_PACE_SHORT */
};
/* Adds a thread that sent n set-up INVITEs, the first at first_ns and the last
 * at last_ns, asked `share` per second. */
void load_setup_pace_add(struct load_setup_pace *p, double share, uint64_t n, uint64_t first_ns,
			 uint64_t last_ns);
/* The uac's "pacing" object: {"setup": {"asked_per_second", "invites",
 * "seconds", "offered_per_second", "threads_judged",
 * "judged_asked_per_second", "short", "lag_us"}, "mix": {"asked_per_second",
 * "issued", "issued_per_second", "short", "lag_us"}}. rate: --rate; sp: the
 * set-up over the threads; mix_s: the mix window. */
json_t *load_pacing_json(const struct load_stats *s, double rate, const struct load_setup_pace *sp,
			 double req_rate, double mix_s);

/* JSON of the counters for a role ("uac", "uas", "drop-proxy"): the objects
 * "calls", "requests", "by_method", "responses", "unexpected", "errors",
 * "latency_us", "latency_us_by_method" (uac); see load --help and main.c. */
json_t *load_stats_json(const struct load_stats *s, const char *role, double mix_seconds);

#endif
