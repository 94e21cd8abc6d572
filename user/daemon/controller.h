/*
 * controller.h - the controller: out-of-dialog requests, policy, call setup.
 *
 * Owns: ACL, rate and call limits, routes (through ctl/policy), the INVITE
 * server transaction towards leg A and the INVITE client transaction towards
 * leg B with RFC 3261 timers (A/B on leg B, G/H for non-2xx finals on leg A),
 * CANCEL, choosing leg B's Call-ID in leg A's bucket, reserving dialog slots
 * and telling the owning worker to install the dialog. Does not own: shard
 * tables (it never writes them: it sends commands, invariant 2), sockets
 * (it sends through a callback), in-dialog relay.
 *
 * It is driven by ctl_on_datagram() and ctl_on_tick() from one thread; the
 * effects leave through the hooks, which makes it testable without threads.
 */
#ifndef SIPSHARD_CONTROLLER_H
#define SIPSHARD_CONTROLLER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ctl/config.h"
#include "ctl/policy.h"
#include "shard/table.h"
#include "sipshard/sip.h"

struct ctl_hooks {
	void *arg;
	/* sends a datagram from shard's socket */
	void (*send)(void *arg, unsigned shard, const char *buf, size_t len,
		     const struct sockaddr *to, socklen_t tolen);
	/* tells shard's worker to install (or update) a dialog at dlg->slot */
	int (*install)(void *arg, unsigned shard, const struct shard_dialog *dlg);
	/* tells shard's worker to free a dialog that was installed early */
	int (*release)(void *arg, unsigned shard, uint32_t slot, uint32_t gen);
};

/* Counters, all monotonic. */
struct ctl_stats {
	uint64_t invites, calls_answered, calls_failed, calls_cancelled, calls_timeout;
	uint64_t rejected_acl, rejected_rate, rejected_limit, rejected_no_route, rejected_capacity,
	    rejected_loop;
	uint64_t options, ood_answered, acks_absorbed, dropped_unknown_response, dropped_unmatched,
	    invite_retrans;
	uint64_t calls_active, dialogs_ended;
};

struct ctl;

int ctl_open(struct ctl **out, const struct config *cfg, struct policy *pol, unsigned nshards,
	     uint32_t dialogs_per_shard, const struct ctl_hooks *hooks);
void ctl_close(struct ctl *c);

/* One datagram a worker handed over (already parsed by the caller into m). */
void ctl_on_datagram(struct ctl *c, unsigned shard, const struct sip_msg *m,
		     const struct sockaddr *src, socklen_t srclen, uint64_t now_ms);
/* Timers: call at least every 10 ms. */
void ctl_on_tick(struct ctl *c, uint64_t now_ms);
/* A worker freed a dialog (BYE completed or expiry): slot back to the pool. */
void ctl_on_dialog_ended(struct ctl *c, unsigned shard, uint32_t slot, uint32_t next_gen);
/* Swap the policy (reload); the old one is the caller's to free. */
void ctl_set_policy(struct ctl *c, struct policy *pol);

void ctl_get_stats(const struct ctl *c, struct ctl_stats *st);

#endif
