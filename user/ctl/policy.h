/*
 * policy.h - what the controller decides from the configuration: ACL, routes,
 * per-source new-call rate, concurrent call limit, answers to out-of-dialog
 * requests.
 *
 * Owns: those decisions and their state, all allocated by policy_create and
 * bounded by the configuration (the rate table never grows: when full, the
 * stalest source is evicted). A policy keeps its own copy of the configuration
 * it was built from, so the caller may free or reload its struct config.
 * Does not own: SIP parsing (callers hand in strings and socket addresses),
 * the config model (config.h), answering (the controller sends the responses).
 *
 * Used by one thread (the controller); no locking. A reload builds a new
 * policy from the new configuration, calls policy_inherit(new, old, now) so
 * that calls in progress and rate state carry over, swaps the pointer and
 * destroys the old one.
 */
#ifndef SIPSHARD_POLICY_H
#define SIPSHARD_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ctl/config.h"

struct policy;

/* 0, or -ENOMEM / -EINVAL (a configuration no loader would produce) with why
 * in err. */
int policy_create(struct policy **out, const struct config *cfg, char *err, size_t errlen);
void policy_destroy(struct policy *p);

/* The configuration this policy was built from (route targets, statuses,
 * retry_after_s...): use it rather than another copy, so that a reload swaps
 * both at once. */
const struct config *policy_config(const struct policy *p);

/* Carries the concurrent call count and every rate bucket still in debt from
 * `from` into a freshly created `to` (re-hashed into to's table; a bucket is
 * clamped to to's burst when the limits changed). */
void policy_inherit(struct policy *to, const struct policy *from, uint64_t now_ns);

/* 0 when the source may send calls, -EACCES when the ACL denies it. First
 * matching rule wins, else acl.default. An IPv4 source also matches
 * ::ffff:a.b.c.d rules and a v4-mapped IPv6 source also matches IPv4 rules; a
 * source that is neither IPv4 nor IPv6 matches no rule. */
int policy_acl_check(const struct policy *p, const struct sockaddr *src);

/* Index into policy_config(p)->routes of the first route whose user_prefix
 * starts user (bytes compared exactly), whose domain equals host (ASCII case
 * ignored; an IPv6 host as the URI has it, in brackets) and whose source
 * network holds src; or -ENOENT. user and host may be NULL when their length
 * is 0; src may be NULL (then no route with a source matches). */
int policy_route(const struct policy *p, const char *user, size_t ulen, const char *host,
		 size_t hlen, const struct sockaddr *src);

/* Takes one new-call token for src's IP address (port ignored): 0, or -EAGAIN
 * over limits.calls_per_second_per_source (bucket depth limits.burst, 0 = one
 * second's worth). Always 0 when the rate is 0 (unlimited). now_ns is any
 * monotonic clock in nanoseconds; it is never read here. */
int policy_rate_take(struct policy *p, const struct sockaddr *src, uint64_t now_ns);

struct policy_rate_stats {
	uint32_t capacity;  /* limits.rate_sources, or 0 when there is no rate limit */
	uint32_t occupied;  /* slots holding a source (never more than capacity) */
	uint64_t admitted;  /* tokens taken */
	uint64_t refused;   /* -EAGAIN answers */
	uint64_t evictions; /* sources dropped while their bucket was not yet full */
};
void policy_rate_stats(const struct policy *p, struct policy_rate_stats *out);

/* Counts a concurrent call: 0, or -EBUSY at limits.max_calls. Every 0 must be
 * paired with one policy_call_release; an unpaired release is ignored at 0. */
int policy_call_admit(struct policy *p);
void policy_call_release(struct policy *p);
/* Counts a call that is already up (carried over a restart), whatever the
 * limit: it was admitted by the process before. */
void policy_call_carry(struct policy *p);
uint32_t policy_calls(const struct policy *p);

/* Final status for an out-of-dialog request that is not INVITE, ACK or CANCEL:
 * out_of_dialog[METHOD] (case-sensitive, OPTIONS 200 by default), else
 * out_of_dialog.default. */
int policy_ood_status(const struct policy *p, const char *method, size_t len);

#endif
