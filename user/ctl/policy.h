/*
 * policy.h - what the controller decides from the configuration: ACL, routes,
 * per-source call rate, concurrent call limit, answers to out-of-dialog requests.
 *
 * Owns: those decisions and their preallocated state (the rate table is
 * bounded: when full, the stalest source is evicted, never grown). Does not
 * own: SIP parsing (callers pass strings and addresses) or the config model.
 * Used by the controller thread only; a reload builds a new policy.
 */
#ifndef SIPSHARD_POLICY_H
#define SIPSHARD_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ctl/config.h"

struct policy;

int policy_create(struct policy **out, const struct config *cfg, char *err, size_t errlen);
void policy_destroy(struct policy *p);

/* 0 when the source may send calls, -EACCES when the ACL denies it. */
int policy_acl_check(const struct policy *p, const struct sockaddr *src);
/* Index into cfg->routes of the first route matching, or -ENOENT. */
int policy_route(const struct policy *p, const char *user, size_t ulen, const char *host,
		 size_t hlen, const struct sockaddr *src);
/* Takes one new-call token for src's address: 0, or -EAGAIN over the rate. */
int policy_rate_take(struct policy *p, const struct sockaddr *src, uint64_t now_ns);
/* Counts a concurrent call: 0, or -EBUSY at limits.max_calls. */
int policy_call_admit(struct policy *p);
void policy_call_release(struct policy *p);
uint32_t policy_calls(const struct policy *p);
/* Status for an out-of-dialog request other than INVITE/ACK/CANCEL/OPTIONS. */
int policy_ood_status(const struct policy *p, const char *method, size_t len);

#endif
