/*
 * controller_targets.c - the targets of the routes as the controller sees
 * them (struct target_state in controller_int.h; routes[].targets in
 * examples/CONFIG.md).
 *
 * Owns: which target a new call goes to (ctl_pick_target, with the smooth
 * weighted round robin of select round_robin and of SRV tiers:
 * ctl_rr_first, ctl_rr_commit) and the order it fails over in (target_at,
 * ctl_target_pos); the calls counting on each target and its INVITE rate
 * (targets[].max_calls, max_cps: ctl_target_take, ctl_target_drop,
 * ctl_target_invited, target_full); a target that sent nothing marked down
 * for routes[].down_s (ctl_target_silent, target_down), one that answered
 * 503 with Retry-After out of service that long (ctl_target_hold), and
 * either up again (ctl_target_answers, target_up); the OPTIONS probes of a
 * down target and keep-alives of an up one (routes[].probe_s, keepalive_s:
 * ctl_targets_tick, ctl_probe_response); each target's counters and the
 * operator's disable (ctl_get_targets, ctl_set_target_disabled); the
 * entries of a policy's targets, kept across reloads by address
 * (ctl_map_targets); the route and credentials a call in set-up still has
 * after a reload (ctl_call_route, ctl_call_auth).
 * Does not own: the routes and targets configured (ctl/config_routes.c,
 * ctl/policy.c), sending leg B's INVITE on to the next target (next_target,
 * invite_again: controller.c), the set-up records.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/rng.h"
#include "core/wbuf.h"
#include "daemon/controller_int.h"
#include "daemon/log.h"
#include "daemon/orig.h"
#include "daemon/relay.h"
#include "net/udp.h"

/* The longest a 503's Retry-After takes a target out of service: a server
 * asking for hours (maintenance) is tried again after 5 minutes, the next
 * 503 taking it out again, so that a wrong value cannot keep a route's
 * capacity away for long */
#define CTL_RETRY_AFTER_MAX_S 300

/* The call on a slot counts on target entry i (CTL_NO_TARGET: none). */
void ctl_target_take(struct ctl *c, unsigned shard, uint32_t slot, uint32_t i)
{
	if (i == CTL_NO_TARGET)
		return;
	c->pools[shard].target_of[slot] = (uint16_t)(i + 1);
	c->targets[i].calls++;
}

/* The call on a slot ended, or left its target. */
void ctl_target_drop(struct ctl *c, unsigned shard, uint32_t slot)
{
	struct slot_pool *p = &c->pools[shard];
	uint16_t i = p->target_of[slot];
	if (!i)
		return;
	if (c->targets[i - 1].calls)
		c->targets[i - 1].calls--;
	p->target_of[slot] = 0;
}

/* ctl_targets_tick has work at `when`. */
static void targets_due_at(struct ctl *c, uint64_t when)
{
	c->targets_due = clock_earlier(c->targets_due, when);
}

/* Target entry s is up again: no more probes; keep-alives from now on. */
static void target_up(struct ctl *c, struct target_state *s)
{
	s->down_until = 0;
	s->held_until = 0;
	if (s->probe_ms) {
		s->probe_ms = 0;
		c->probing--;
	}
	if (s->keepalive_ms) {
		s->keepalive_deadline = 0;
		s->next_keepalive = c->tick_now + s->keepalive_ms;
		targets_due_at(c, s->next_keepalive);
	}
}

/* Target entry s sent nothing to `what` in time: down for route r's down_s,
 * and probed every probe_s meanwhile. A target already down stays down at
 * least as long as it was: the entry is shared by every route naming its
 * address, and another route's shorter down_s once cut short the down time
 * a longer one had set, sending the first route's new calls to the silent
 * target again. */
static void target_down(struct ctl *c, struct target_state *s, const struct config_route *r,
			const char *what, uint64_t now)
{
	char addr[UDP_ADDR_STRLEN];

	if (s->down_until <= now) {
		c->st.targets_marked_down++;
		udp_format_addr((const struct sockaddr *)&s->addr, addr, sizeof(addr));
		log_warn("target %s sent nothing to %s: new calls of route %s skip it for %u s",
			 addr, what, r->name, r->down_s);
	}
	s->down_until =
	    clock_later(s->down_until, clock_later(now + 1000ull * r->down_s, s->held_until));
	s->keepalive_deadline = 0;
	targets_due_at(c, s->down_until);
	if (r->probe_s && !s->probe_ms) {
		c->probing++;
		s->probe_ms = 1000u * r->probe_s;
		s->next_probe = clock_later(now + s->probe_ms, s->held_until);
		targets_due_at(c, s->next_probe);
	}
}

bool ctl_target_is(const struct ctl *c, uint32_t i, const void *addr, socklen_t len)
{
	return i < c->ntargets && c->targets[i].len == len &&
	       memcmp(&c->targets[i].addr, addr, len) == 0;
}

uint32_t ctl_target_find(const struct ctl *c, const void *addr, socklen_t len)
{
	for (uint32_t i = 0; i < c->ntargets; i++)
		if (ctl_target_is(c, i, addr, len))
			return i;
	return CTL_NO_TARGET;
}

/* An entry for addr: a free one (named by no configuration, no call on it),
 * or a new one; CTL_NO_TARGET when every entry is in use. */
static uint32_t target_make(struct ctl *c, const struct sockaddr_storage *addr, socklen_t len)
{
	uint32_t i;
	for (i = 0; i < c->ntargets; i++)
		if (!c->targets[i].named && !c->targets[i].calls)
			break;
	if (i == c->ntargets) {
		if (c->ntargets == CTL_TARGETS_MAX)
			return CTL_NO_TARGET;
		c->ntargets++;
	}
	struct target_state *t = &c->targets[i];
	memset(t, 0, sizeof(*t)); /* not probing: ctl_map_targets stopped it */
	memcpy(&t->addr, addr, len);
	t->len = len;
	t->rtt_ms = -1;
	return i;
}

/* Route r (index ri) of the policy in force names target entry s: its
 * keep-alive, when r's is the shortest so far. */
static void target_named_by(struct target_state *s, const struct config_route *r, unsigned ri)
{
	s->named = true;
	if (r->keepalive_s && (!s->keepalive_ms || 1000u * r->keepalive_s < s->keepalive_ms)) {
		s->keepalive_ms = 1000u * r->keepalive_s;
		s->keepalive_route = (uint16_t)ri;
	}
}

/* Finds or makes the entry of every target of the policy in force: first
 * the addresses it names that have an entry keep it (their calls, their
 * down time), then the others stop being probed (no configuration sends
 * calls to them), then a new address takes a free entry. */
void ctl_map_targets(struct ctl *c)
{
	const struct config *pc = policy_config(c->pol);

	for (uint32_t i = 0; i < c->ntargets; i++) {
		c->targets[i].named = false;
		c->targets[i].keepalive_ms = 0;
	}
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned r = 0; r < pc->nroutes; r++)
			for (unsigned t = 0; t < pc->routes[r].ntargets; t++) {
				const struct config_target *ct = &pc->routes[r].targets[t];
				uint32_t i = ctl_target_find(c, &ct->addr, ct->addr_len);
				if (i == CTL_NO_TARGET && pass == 1) {
					i = target_make(c, &ct->addr, ct->addr_len);
					if (i == CTL_NO_TARGET)
						log_warn("target %s: no room to count its calls "
							 "(every entry has calls on it)",
							 ct->text);
				}
				if (i != CTL_NO_TARGET)
					target_named_by(&c->targets[i], &pc->routes[r], r);
				c->target_of_route[r][t] = (uint16_t)i;
			}
		for (uint32_t i = 0; pass == 0 && i < c->ntargets; i++)
			if (!c->targets[i].named)
				target_up(c, &c->targets[i]);
	}
	c->keeping = 0;
	for (uint32_t i = 0; i < c->ntargets; i++) {
		struct target_state *s = &c->targets[i];
		if (!s->keepalive_ms) {
			s->next_keepalive = s->keepalive_deadline = 0;
			continue;
		}
		c->keeping++;
		if (s->next_keepalive > c->tick_now + s->keepalive_ms)
			s->next_keepalive = c->tick_now + s->keepalive_ms; /* made shorter */
	}
	c->targets_due = 0;
}

static struct target_state *route_target_state(struct ctl *c, unsigned route, unsigned t)
{
	uint16_t i = c->target_of_route[route][t];
	return i == CTL_NO_TARGET ? NULL : &c->targets[i];
}

/* Whether max_cps lets no INVITE go to target s now: a cell rate (GCRA)
 * of one INVITE per 1/max_cps s, with a second's worth at once. */
static bool target_over_rate(const struct config_target *ct, const struct target_state *s,
			     uint64_t now)
{
	if (!ct->max_cps || !s)
		return false;
	uint64_t interval = 1000000u / ct->max_cps, now_us = now * 1000u;
	return s->cps_tat_us > now_us + 1000000u - interval;
}

/* A target at its max_calls, whose max_cps allows no INVITE now, or that
 * the operator disabled. */
static bool target_full(struct ctl *c, unsigned route, unsigned t, uint64_t now)
{
	const struct config_target *ct = &policy_config(c->pol)->routes[route].targets[t];
	const struct target_state *s = route_target_state(c, route, t);
	return (s && s->disabled) || (ct->max_calls && s && s->calls >= ct->max_calls) ||
	       target_over_rate(ct, s, now);
}

/* An INVITE goes to the target now: counted, and against its max_cps. */
void ctl_target_invited(struct ctl *c, unsigned route, unsigned t, uint64_t now)
{
	const struct config_target *ct = &policy_config(c->pol)->routes[route].targets[t];
	struct target_state *s = route_target_state(c, route, t);
	if (s)
		s->invites++;
	if (!ct->max_cps || !s)
		return;
	uint64_t now_us = now * 1000u;
	s->cps_tat_us = (s->cps_tat_us > now_us ? s->cps_tat_us : now_us) + 1000000u / ct->max_cps;
}

static bool target_is_down(struct ctl *c, unsigned route, unsigned t, uint64_t now)
{
	const struct target_state *s = route_target_state(c, route, t);
	return s && s->down_until > now;
}

/* The target at position pos of the order in which a call that started at
 * target `first` tries route r's: from `first` on, wrapping around; on a
 * route with SRV targets, `first` and then the others in their order (their
 * records' priorities), so that a call fails over to its tier's other
 * records before a higher priority's. ctl_target_pos is the inverse. */
static unsigned target_at(const struct config_route *r, unsigned first, unsigned pos)
{
	if (!r->srv)
		return (first + pos) % r->ntargets;
	return pos == 0 ? first : pos <= first ? pos - 1 : pos;
}

unsigned ctl_target_pos(const struct config_route *r, unsigned first, unsigned t)
{
	if (!r->srv)
		return (t + r->ntargets - first) % r->ntargets;
	return t == first ? 0 : t < first ? t + 1 : t;
}

/* The first target of the route a call may take, in the order that starts
 * at target `first` (target_at), from position `from` of that order
 * on: not full, and not down unless *all_down. When it was false and every
 * target of the route not full is down (those before `from` included: a
 * call failing over was at them or passed them over), *all_down becomes
 * true and the first not full from `from` on is taken: a call that finds
 * every target down as it fails over tries the rest in order as one that
 * found them so at its start does (a call whose target went silent when the route's others were
 * down already once waited on it until Timer B, its caller getting 408).
 * -1 when each from `from` on is full, or is down while another target of
 * the route is up. */
int ctl_pick_target(struct ctl *c, unsigned route, unsigned first, unsigned from, bool *all_down,
		    uint64_t now)
{
	const struct config_route *r = &policy_config(c->pol)->routes[route];
	int first_not_full = -1;

	for (unsigned pos = from; pos < r->ntargets; pos++) {
		unsigned t = target_at(r, first, pos);
		if (target_full(c, route, t, now))
			continue;
		if (*all_down || !target_is_down(c, route, t, now))
			return (int)t;
		if (first_not_full < 0)
			first_not_full = (int)t;
	}
	if (first_not_full < 0)
		return -1;
	for (unsigned pos = 0; pos < from && pos < r->ntargets; pos++) {
		unsigned t = target_at(r, first, pos);
		if (!target_full(c, route, t, now) && !target_is_down(c, route, t, now))
			return -1; /* that one is up: the route is not all down */
	}
	*all_down = true;
	return first_not_full;
}

/*
 * The target a new call of the route starts at, by smooth weighted round
 * robin: each target's current weight grows by its weight, the largest (the
 * first of equals) is taken and lowered by the sum of the weights. Targets
 * get calls in proportion to their weights, interleaved rather than in runs
 * (5, 1, 1: a a b a c a a), and with equal weights one after the other.
 * Targets that are down or full take no turn while another can, so that
 * their share goes to all the others, not to the next in line. select
 * round_robin: every target takes turns; a route with SRV targets: those of
 * the first tier (config_same_tier) that has one to take (RFC 2782: the
 * lowest priority, by weight, a record of weight 0 as though of 1). The
 * turn is worked out in cw, a copy of the route's current weights, which
 * the caller puts back into c->rr_weight only once the call goes out
 * (ctl_rr_commit): a call that policy then refuses (the source over its rate,
 * limits.max_calls) takes no turn, or a source refused every other INVITE
 * would send every call it may make to one target.
 */
unsigned ctl_rr_first(struct ctl *c, unsigned route, uint64_t now, int32_t cw[CONFIG_MAX_TARGETS])
{
	const struct config_route *r = &policy_config(c->pol)->routes[route];
	bool usable[CONFIG_MAX_TARGETS];
	bool any = false;
	unsigned lead = 0; /* a target of the tier that takes turns (r->srv) */

	for (unsigned t = 0; t < r->ntargets; t++) {
		usable[t] = !target_full(c, route, t, now) && !target_is_down(c, route, t, now);
		if (usable[t] && !any)
			lead = t;
		any |= usable[t];
	}
	int32_t total = 0;
	unsigned best = CONFIG_MAX_TARGETS;
	for (unsigned t = 0; t < r->ntargets; t++) {
		if (any && !usable[t])
			continue;
		if (r->srv && !config_same_tier(&r->targets[t], &r->targets[lead]))
			continue;
		/* an SRV record of weight 0 among heavier ones: RFC 2782 gives it
		 * "a very small chance", a random number of 0, as weight 1 would
		 * have (with 0, it would never be chosen while another is up) */
		int32_t w = r->targets[t].weight ? (int32_t)r->targets[t].weight : 1;
		cw[t] += w;
		total += w;
		if (best == CONFIG_MAX_TARGETS || cw[t] > cw[best])
			best = t;
	}
	cw[best] -= total;
	return best;
}

/* The turn ctl_rr_first worked out in cw is taken: the call went to the route. */
void ctl_rr_commit(struct ctl *c, unsigned route, const int32_t cw[CONFIG_MAX_TARGETS])
{
	memcpy(c->rr_weight[route], cw, sizeof(c->rr_weight[route]));
}

/* The route record k took, or NULL when it is gone or not the same any more
 * (a reload or restart changed its name or targets). Found where it was in
 * the list, else by its tag (name and targets) where a reload moved it: a
 * route added or removed in front of it (the more specific route first, as
 * examples/CONFIG.md has it) once ended the failover of its calls setting
 * up, as if it had been renamed. */
const struct config_route *ctl_call_route(const struct ctl *c, const struct ctl_call *k)
{
	const struct config *pc = policy_config(c->pol);
	const struct config_route *r = NULL;
	if (k->route < pc->nroutes && pc->routes[k->route].tag == k->route_tag)
		r = &pc->routes[k->route];
	for (unsigned i = 0; !r && k->route != UINT8_MAX && i < pc->nroutes; i++)
		if (pc->routes[i].tag == k->route_tag)
			r = &pc->routes[i];
	return r && k->target < r->ntargets ? r : NULL;
}

/* The credentials that answer a challenge to record k's leg B INVITE, or
 * NULL: its route's while the route is the one the call took; once a reload
 * or restart renamed the route or changed its targets, those of the route
 * now of its name while it still has the target the INVITE went to (the
 * call's key names both), or else of the routes with a target at the
 * INVITE's peer when they agree (orig_creds_find: what
 * the workers answer the challenges to sipshard's in-dialog requests of
 * such a call with). A call that replaces or joins a dialog took no route:
 * the same, by the key of the dialog it names, whose party it went to (a
 * carrier behind the route that dialog's call took), and none when that
 * party is no route's target (a caller). */
const struct config_auth *ctl_call_auth(const struct ctl *c, const struct ctl_call *k)
{
	const struct config_route *r = ctl_call_route(c, k);
	if (r)
		return r->auth.username[0] ? &r->auth : NULL;
	return orig_creds_find(c->creds, c->ncreds, k->dlg.auth_key, &k->b_peer, k->b_len);
}

/* The entry record k's call counts on, or NULL. Once the worker gave its
 * slot back (slot_gone: the caller ended the early dialog with a BYE, RFC
 * 3261 15, or it expired), the slot's count was dropped and the slot may be
 * another call's: the target is then the entry of the address its INVITE
 * went to (whatever a reload did to its route), for what its final says of
 * it (a 503's Retry-After, the answer counts). */
static struct target_state *call_target(struct ctl *c, const struct ctl_call *k)
{
	if (k->slot_gone) {
		uint32_t i = ctl_target_find(c, &k->b_peer, k->b_len);
		return i == CTL_NO_TARGET ? NULL : &c->targets[i];
	}
	uint16_t i = c->pools[k->shard].target_of[k->slot];
	return i ? &c->targets[i - 1] : NULL;
}

/* Record k's call leaves its target: its slot's count dropped, unless the
 * worker gave the slot back already (ctl_on_dialog_ended dropped it then,
 * and the slot may count another call by now). */
void ctl_call_target_drop(struct ctl *c, const struct ctl_call *k)
{
	if (!k->slot_gone)
		ctl_target_drop(c, k->shard, k->slot);
}

/* A route of the policy in force that lists target entry i among two or
 * more targets and marks a silent target down (down_s), the first in the
 * configuration's order; NULL when none does. */
static const struct config_route *route_listing(const struct ctl *c, uint32_t i)
{
	const struct config *pc = policy_config(c->pol);
	for (unsigned r = 0; r < pc->nroutes; r++) {
		if (pc->routes[r].ntargets < 2 || !pc->routes[r].down_s)
			continue;
		for (unsigned t = 0; t < pc->routes[r].ntargets; t++)
			if (c->target_of_route[r][t] == i)
				return &pc->routes[r];
	}
	return NULL;
}

/* Record k's target sent nothing to its INVITE for failover_ms, or until
 * Timer B: down for its route's down_s, when the route has another target
 * to send new calls to. A call whose route a reload or restart changed
 * (ctl_call_route NULL) marks its target's entry (call_target: by its address
 * once its slot is gone) down for the down_s of a route that lists that
 * entry now among two or more (route_listing), when one does. */
void ctl_target_silent(struct ctl *c, struct ctl_call *k, uint64_t now)
{
	const struct config_route *r = ctl_call_route(c, k);
	struct target_state *s = call_target(c, k);

	if (k->silence_noted)
		return; /* at failover_ms, this INVITE still in flight: once is its count */
	k->silence_noted = true;
	if (s)
		s->unanswered++;
	if (!r && s)
		r = route_listing(c, (uint32_t)(s - c->targets));
	if (r && s && r->ntargets >= 2 && r->down_s)
		target_down(c, s, r, "an INVITE", now);
}

/* Record k's target sent the first final response to its INVITE there. */
void ctl_target_count_final(struct ctl *c, const struct ctl_call *k, int status)
{
	struct target_state *s = call_target(c, k);
	if (!s)
		return;
	if (status < 300)
		s->answered++;
	else
		s->rejected++;
}

/* Record k's target answered its INVITE: it is not down. */
void ctl_target_answers(struct ctl *c, const struct ctl_call *k, uint64_t now)
{
	struct target_state *s = call_target(c, k);
	char addr[UDP_ADDR_STRLEN];

	if (!s || s->down_until <= now || s->held_until > now)
		return; /* up, or its Retry-After is not over */
	target_up(c, s);
	udp_format_addr((const struct sockaddr *)&s->addr, addr, sizeof(addr));
	log_info("target %s answers again", addr);
}

/*
 * Target entry s answered an INVITE with 503 r (a call's target, or one the
 * call left after failover: close_left_target). With a Retry-After of N
 * seconds (RFC 3261 21.5.4, RFC 3263 4.3: send it nothing for that long) it
 * is out of service for N s, CTL_RETRY_AFTER_MAX_S at most, whatever the
 * route's failover_on and down_s: new calls skip it as a down one. Unlike a
 * silent target's down time, no answer ends it sooner (a server that asks
 * for time usually still answers OPTIONS, and the calls it had), and it gets
 * no OPTIONS meanwhile (a probe of an earlier down time waits for its end).
 * A 503 without Retry-After, or with 0, changes nothing.
 */
void ctl_target_hold(struct ctl *c, struct target_state *s, const struct sip_msg *r, uint64_t now)
{
	char addr[UDP_ADDR_STRLEN];
	uint32_t asked, secs;

	if (!s || r->status != 503 || !sip_hdr_delta_seconds(r, SIP_HDR_RETRY_AFTER, &asked) ||
	    !asked)
		return;
	secs = asked < CTL_RETRY_AFTER_MAX_S ? asked : CTL_RETRY_AFTER_MAX_S;
	c->st.targets_retry_after++;
	if (s->held_until <= now) {
		udp_format_addr((const struct sockaddr *)&s->addr, addr, sizeof(addr));
		log_warn("target %s answered 503 with Retry-After %" PRIu32
			 ": new calls skip it for %" PRIu32 " s",
			 addr, asked, secs);
	}
	/* the longest it asked for: every 503 that comes now answers an
	 * INVITE sent before the first */
	s->held_until = clock_later(s->held_until, now + 1000ull * secs);
	s->down_until = clock_later(s->down_until, s->held_until);
	s->keepalive_deadline = 0;
	if (s->probe_ms)
		s->next_probe = clock_later(s->next_probe, s->held_until);
	targets_due_at(c, s->down_until);
}

void ctl_target_retry_after(struct ctl *c, const struct ctl_call *k, const struct sip_msg *r,
			    uint64_t now)
{
	ctl_target_hold(c, call_target(c, k), r, now);
}

/* The branch of the last probe of target entry i: our prefix, 'p', the
 * entry in 4 hex digits, its nonce in 16. */
#define PROBE_BRANCH_LEN (sizeof(RELAY_CTL_BRANCH_PREFIX) - 1 + 1 + 4 + 16)
static void probe_branch(const struct ctl *c, uint32_t i, char out[PROBE_BRANCH_LEN + 1])
{
	snprintf(out, PROBE_BRANCH_LEN + 1, RELAY_CTL_BRANCH_PREFIX "p%04x%016" PRIx64,
		 (unsigned)(uint16_t)i, c->targets[i].probe_nonce);
}

/* An OPTIONS to target entry i, as RFC 3261 11 has it (a probe while it is
 * down, a keep-alive while it is up): its branch carries the entry and a
 * nonce (the response comes back to the controller as any response with our
 * branch prefix does). */
static void probe_send(struct ctl *c, uint32_t i, uint64_t now)
{
	struct target_state *s = &c->targets[i];
	char addr[UDP_ADDR_STRLEN], branch[PROBE_BRANCH_LEN + 1], buf[1024];
	struct wbuf w = {buf, 0, sizeof(buf), false};

	s->probe_nonce = rng_secure();
	probe_branch(c, i, branch);
	udp_format_addr((const struct sockaddr *)&s->addr, addr, sizeof(addr));
	wbuf_puts(&w, "OPTIONS sip:");
	wbuf_puts(&w, addr);
	wbuf_puts(&w, " SIP/2.0\r\nVia: SIP/2.0/UDP ");
	wbuf_puts(&w, c->cfg->advertise);
	wbuf_puts(&w, ";branch=");
	wbuf_puts(&w, branch);
	wbuf_puts(&w, ";rport\r\nMax-Forwards: 70\r\nFrom: <sip:sipshard@");
	wbuf_puts(&w, c->cfg->advertise);
	wbuf_puts(&w, ">;tag=");
	wbuf_puts(&w, branch + sizeof(RELAY_CTL_BRANCH_PREFIX));
	wbuf_puts(&w, "\r\nTo: <sip:");
	wbuf_puts(&w, addr);
	wbuf_puts(&w, ">\r\nCall-ID: ");
	wbuf_puts(&w, branch + sizeof(RELAY_CTL_BRANCH_PREFIX));
	wbuf_puts(&w, "@sipshard\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n");
	s->options_sent = now;
	send_to(c, 0, buf, wbuf_result(&w), &s->addr, s->len);
}

/* Up target entry i's keep-alive: its answer is awaited, or its time came
 * to send one. Returns when it next needs the tick. */
static uint64_t keepalive_tick(struct ctl *c, uint32_t i, uint64_t now)
{
	struct target_state *s = &c->targets[i];
	const struct config_route *r = &policy_config(c->pol)->routes[s->keepalive_route];
	char addr[UDP_ADDR_STRLEN];

	if (s->keepalive_deadline && now >= s->keepalive_deadline) {
		c->st.keepalives_missed++;
		if (r->down_s) {
			target_down(c, s, r, "an OPTIONS", now);
			return s->probe_ms ? s->next_probe : s->down_until;
		}
		udp_format_addr((const struct sockaddr *)&s->addr, addr, sizeof(addr));
		log_warn("target %s sent nothing to an OPTIONS (route %s has down_s 0: "
			 "still in use)",
			 addr, r->name);
		s->keepalive_deadline = 0;
	}
	if (!s->keepalive_deadline && now >= s->next_keepalive) {
		probe_send(c, i, now);
		c->st.keepalives_sent++;
		s->keepalive_deadline = now + r->failover_ms;
		s->next_keepalive = now + s->keepalive_ms;
	}
	return s->keepalive_deadline ? s->keepalive_deadline : s->next_keepalive;
}

/* Probes each down target whose time has come, and sends each up target
 * with a keep-alive its next one; a target whose down_s has passed is up
 * without an answer (next call tries it). A tick before targets_due, the
 * soonest of those times, does nothing. */
void ctl_targets_tick(struct ctl *c, uint64_t now)
{
	uint64_t due = UINT64_MAX;

	c->targets_due = UINT64_MAX; /* what the walk changes moves it back */
	for (uint32_t i = 0; i < c->ntargets; i++) {
		struct target_state *s = &c->targets[i];
		if (s->probe_ms && s->down_until <= now)
			target_up(c, s);
		if (s->probe_ms) {
			if (now >= s->next_probe) {
				probe_send(c, i, now);
				c->st.probes_sent++;
				s->next_probe = now + s->probe_ms;
			}
			due = clock_earlier(due, clock_earlier(s->next_probe, s->down_until));
		} else if (s->keepalive_ms) {
			due = clock_earlier(due, s->down_until > now ? s->down_until
								     : keepalive_tick(c, i, now));
		}
	}
	targets_due_at(c, due);
}

/* A response to a probe: the target is up, whatever the status (a SIP
 * stack answered). Returns false when r is no probe's. */
bool ctl_probe_response(struct ctl *c, const struct sip_msg *r, uint64_t now)
{
	size_t plen = sizeof(RELAY_CTL_BRANCH_PREFIX) - 1;
	char addr[UDP_ADDR_STRLEN], want[PROBE_BRANCH_LEN + 1];

	if (r->cseq.method_id != SIP_METHOD_OPTIONS || !r->nvias ||
	    r->vias[0].branch.len != PROBE_BRANCH_LEN)
		return false;
	int64_t i = relay_hex_digits(r->buf + r->vias[0].branch.off + plen + 1, 4);
	if (i < 0 || (uint64_t)i >= c->ntargets ||
	    !(c->targets[i].probe_ms || c->targets[i].keepalive_deadline))
		return false;
	struct target_state *s = &c->targets[i];
	probe_branch(c, (uint32_t)i, want);
	if (!sip_view_eq(r->buf, r->vias[0].branch, want, PROBE_BRANCH_LEN))
		return false;
	uint64_t rtt = now > s->options_sent ? now - s->options_sent : 0;
	s->rtt_ms = rtt > INT32_MAX ? INT32_MAX : (int32_t)rtt;
	/* a 503 with Retry-After asks for no requests for that long, an
	 * OPTIONS as much as an INVITE (RFC 3263 4.3): out of service then */
	ctl_target_hold(c, s, r, now);
	if (!s->probe_ms) { /* a keep-alive's: still up, unless it asked for time */
		s->keepalive_deadline = 0;
		targets_due_at(c, s->next_keepalive);
		c->st.keepalives_answered++;
		return true;
	}
	c->st.probes_answered++;
	if (s->held_until > now)
		return true; /* a 503's (this one's, or an INVITE's): down until its Retry-After is
				over */
	target_up(c, s);
	udp_format_addr((const struct sockaddr *)&s->addr, addr, sizeof(addr));
	log_info("target %s answers OPTIONS (%d): back in use", addr, r->status);
	return true;
}

int ctl_set_target_disabled(struct ctl *c, const struct sockaddr *addr, socklen_t len,
			    bool disabled, uint32_t *calls)
{
	uint32_t i = ctl_target_find(c, addr, len);
	if (i == CTL_NO_TARGET || !c->targets[i].named)
		return -ENOENT;
	c->targets[i].disabled = disabled;
	*calls = c->targets[i].calls;
	return 0;
}

/* The seconds, rounded up, left at now of the time target t is out of
 * service for a 503's Retry-After; 0 when none. */
static uint32_t retry_after_left(const struct target_state *t, uint64_t now)
{
	return t->held_until > now ? (uint32_t)((t->held_until - now + 999) / 1000) : 0;
}

size_t ctl_get_targets(const struct ctl *c, struct ctl_target_info *out, size_t cap)
{
	size_t n = 0;
	for (uint32_t i = 0; i < c->ntargets; i++) {
		const struct target_state *t = &c->targets[i];
		if (!t->named)
			continue;
		if (n < cap)
			out[n] = (struct ctl_target_info){.addr = t->addr,
							  .len = t->len,
							  .calls = t->calls,
							  .down = t->down_until > c->tick_now,
							  .retry_after_s =
							      retry_after_left(t, c->tick_now),
							  .rtt_ms = t->rtt_ms,
							  .invites = t->invites,
							  .answered = t->answered,
							  .rejected = t->rejected,
							  .unanswered = t->unanswered,
							  .disabled = t->disabled};
		n++;
	}
	return n;
}
