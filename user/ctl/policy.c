/*
 * policy.c - ACL, routes, limits, out-of-dialog answers (see policy.h).
 *
 * Owns: the compiled form of the configuration's rules and the per-source
 * rate table. Addresses are compared as 16-byte IPv6 keys (IPv4 as
 * ::ffff:a.b.c.d), so one masked compare of two 64-bit words serves both
 * families. Does not own: the configuration's validation (config.c and the
 * config_*.c files beside it).
 *
 * The rate limiter is GCRA, the "virtual scheduling" form of a token bucket:
 * each source keeps one theoretical arrival time (TAT). A call at `now` is
 * admitted when TAT - now <= (burst - 1) * interval, and then TAT advances by
 * one interval (1 s / rate). It needs no fractional tokens, loses nothing to
 * rounding however often it is called, and cannot overflow. A source whose
 * TAT is in the past has a full bucket, which is the same as having no entry,
 * so such slots are free to reuse.
 *
 * The table is open addressing over a preallocated array, probing at most
 * RATE_PROBES slots from the key's hash. Slots are never emptied, so a lookup
 * stops at the first empty slot. A new source takes an empty slot in its
 * window or else the one with the earliest TAT: the stalest, whose loss forgets
 * the least debt. The hash is keyed per policy so that senders cannot choose
 * addresses that crowd one window.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/keyhash.h"
#include "core/rng.h"
#include "ctl/policy.h"

#define RATE_PROBES 16
#define NS_PER_S    1000000000ull
#define NS_PER_MS   1000000ull

struct addr_key {
	uint64_t w[2];
};

struct net_rule {
	struct addr_key net, mask;
	bool allow;
};

struct rate_entry {
	struct addr_key key;
	uint64_t tat; /* 0 = empty slot */
};

struct route_match {
	uint32_t plen, dlen; /* user_prefix and domain lengths */
	bool has_source;
	/* domain is an IPv6 reference: compared by address, not text */
	bool domain_v6;
	struct in6_addr v6;
	struct net_rule source;
};

struct policy {
	struct config cfg;
	struct net_rule acl[CONFIG_MAX_ACL_RULES];
	struct route_match routes[CONFIG_MAX_ROUTES];
	uint32_t calls;
	/* rate limiter; rate == NULL when limits.calls_per_second_per_source is 0 */
	struct rate_entry *rate;
	uint32_t nrate, probes;
	uint64_t interval_ns, tau_ns, seed[2];
	struct policy_rate_stats rs;
};

/* The 16-byte key of an address; false for a family that is not IP. */
static bool addr_key_of(const struct sockaddr *sa, struct addr_key *k)
{
	uint8_t b[16];

	if (!sa)
		return false;
	if (sa->sa_family == AF_INET) {
		memset(b, 0, 10);
		b[10] = b[11] = 0xff;
		memcpy(b + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		memcpy(b, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	} else {
		return false;
	}
	memcpy(k->w, b, 16);
	return true;
}

static void net_rule_of(const struct config_cidr *c, bool allow, struct net_rule *r)
{
	uint8_t net[16] = {0}, mask[16] = {0};
	unsigned prefix = c->prefix;

	if (c->family == AF_INET) {
		net[10] = net[11] = 0xff;
		memcpy(net + 12, c->addr, 4);
		prefix += 96;
	} else {
		memcpy(net, c->addr, 16);
	}
	for (unsigned bit = 0; bit < prefix; bit++)
		mask[bit / 8] |= (uint8_t)(0x80u >> (bit % 8));
	for (unsigned i = 0; i < 16; i++)
		net[i] &= mask[i];
	memcpy(r->net.w, net, 16);
	memcpy(r->mask.w, mask, 16);
	r->allow = allow;
}

static bool net_match(const struct net_rule *r, const struct addr_key *k)
{
	return ((k->w[0] & r->mask.w[0]) == r->net.w[0]) &&
	       ((k->w[1] & r->mask.w[1]) == r->net.w[1]);
}

/* The address of "[IPv6]" (a URI's IPv6 reference), or false for any other
 * host. Its text may be written many ways ("[2001:db8::1]",
 * "[2001:DB8:0:0:0:0:0:1]"), all one host (RFC 5954 section 4). */
static bool ipv6_reference(const char *h, size_t n, struct in6_addr *out)
{
	char tmp[INET6_ADDRSTRLEN];

	if (n < 3 || n - 2 >= sizeof(tmp) || h[0] != '[' || h[n - 1] != ']')
		return false;
	memcpy(tmp, h + 1, n - 2);
	tmp[n - 2] = '\0';
	return inet_pton(AF_INET6, tmp, out) == 1;
}

/* The keyed words (core/keyhash.h): an attacker who cannot see the seed
 * cannot aim at one probe window. */
static uint32_t rate_slot(const struct policy *p, const struct addr_key *k)
{
	uint64_t h = keyhash_mix(k->w[0] ^ p->seed[0]);
	h = keyhash_mix(h ^ k->w[1] ^ p->seed[1]);
	return (uint32_t)(h % p->nrate);
}

int policy_create(struct policy **out, const struct config *cfg, char *err, size_t errlen)
{
	struct policy *p;

	*out = NULL;
	if (cfg->nroutes == 0 || cfg->nroutes > CONFIG_MAX_ROUTES ||
	    cfg->nacl > CONFIG_MAX_ACL_RULES || cfg->nood > CONFIG_MAX_OOD ||
	    cfg->limits.calls_per_second_per_source > 1000000 ||
	    (cfg->limits.calls_per_second_per_source && cfg->limits.rate_sources == 0)) {
		snprintf(err, errlen, "configuration out of bounds (not from config_load_*)");
		return -EINVAL;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	memcpy(&p->cfg, cfg, sizeof(*cfg));
	for (unsigned i = 0; i < cfg->nacl; i++)
		net_rule_of(&cfg->acl[i].cidr, cfg->acl[i].allow, &p->acl[i]);
	for (unsigned i = 0; i < cfg->nroutes; i++) {
		const struct config_route *r = &cfg->routes[i];
		p->routes[i].plen = (uint32_t)strnlen(r->user_prefix, sizeof(r->user_prefix));
		p->routes[i].dlen = (uint32_t)strnlen(r->domain, sizeof(r->domain));
		p->routes[i].domain_v6 =
		    ipv6_reference(r->domain, p->routes[i].dlen, &p->routes[i].v6);
		p->routes[i].has_source = r->has_source;
		if (r->has_source)
			net_rule_of(&r->source, true, &p->routes[i].source);
	}
	uint32_t rate = cfg->limits.calls_per_second_per_source;
	if (rate) {
		uint32_t burst = cfg->limits.burst ? cfg->limits.burst : rate;
		p->nrate = cfg->limits.rate_sources;
		p->probes = p->nrate < RATE_PROBES ? p->nrate : RATE_PROBES;
		p->interval_ns = NS_PER_S / rate; /* >= 1000 ns: rate <= 10^6 */
		p->tau_ns = (uint64_t)(burst - 1) * p->interval_ns;
		/* The controller reads its clock in whole milliseconds, so every
		 * INVITE of one millisecond arrives at the same instant: a burst
		 * below one millisecond's calls would admit only the burst each
		 * millisecond (rate 4000, burst 2: 2000 a second). It is raised
		 * to that; the rate over time is the same. */
		if (p->interval_ns < NS_PER_MS && p->tau_ns < NS_PER_MS - p->interval_ns)
			p->tau_ns = NS_PER_MS - p->interval_ns;
		p->rs.capacity = p->nrate;
		p->seed[0] = rng_seed((uint64_t)(uintptr_t)p);
		p->seed[1] = rng_seed(p->seed[0]);
		p->rate = calloc(p->nrate, sizeof(*p->rate));
		if (!p->rate) {
			snprintf(err, errlen, "out of memory for %u rate-limited sources",
				 p->nrate);
			free(p);
			return -ENOMEM;
		}
	}
	*out = p;
	return 0;
}

void policy_destroy(struct policy *p)
{
	if (!p)
		return;
	free(p->rate);
	free(p);
}

const struct config *policy_config(const struct policy *p)
{
	return &p->cfg;
}

int policy_acl_check(const struct policy *p, const struct sockaddr *src)
{
	struct addr_key k;

	if (addr_key_of(src, &k))
		for (unsigned i = 0; i < p->cfg.nacl; i++)
			if (net_match(&p->acl[i], &k))
				return p->acl[i].allow ? 0 : -EACCES;
	return p->cfg.acl_default_allow ? 0 : -EACCES;
}

/* Host names compare without case (RFC 3261 19.1.4), in ASCII whatever the
 * locale; a NUL in a hostile host simply fails to match. */
static bool ascii_case_equal(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x + 32);
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y + 32);
		if (x != y)
			return false;
	}
	return true;
}

/* Whether Request-URI user (ulen bytes) starts with prefix (plen), a bare '#'
 * of user read as the %23 the configuration keeps it as (get_user_part). */
static bool user_has_prefix(const char *user, size_t ulen, const char *prefix, size_t plen)
{
	size_t i = 0;
	for (size_t u = 0; i < plen; u++) {
		if (u == ulen)
			return false;
		if (user[u] != '#') {
			if (user[u] != prefix[i++])
				return false;
			continue;
		}
		for (const char *e = "%23"; *e && i < plen; e++)
			if (prefix[i++] != *e)
				return false;
	}
	return true;
}

int policy_route(const struct policy *p, const char *user, size_t ulen, const char *host,
		 size_t hlen, const struct sockaddr *src)
{
	struct addr_key k;
	bool have_src = addr_key_of(src, &k);

	for (unsigned i = 0; i < p->cfg.nroutes; i++) {
		const struct config_route *r = &p->cfg.routes[i];
		const struct route_match *m = &p->routes[i];
		/* length checks first: user or host may be NULL with length 0 */
		if (m->plen && !user_has_prefix(user, ulen, r->user_prefix, m->plen))
			continue;
		if (m->domain_v6) {
			struct in6_addr a;
			if (!ipv6_reference(host, hlen, &a) || memcmp(&a, &m->v6, sizeof(a)) != 0)
				continue;
		} else if (m->dlen &&
			   (m->dlen != hlen || !ascii_case_equal(r->domain, host, hlen))) {
			continue;
		}
		if (m->has_source && (!have_src || !net_match(&m->source, &k)))
			continue;
		return (int)i;
	}
	return -ENOENT;
}

/* The slot for key: its own, or the one it may take (an empty slot, else the
 * earliest TAT in its window). *found says which. */
static struct rate_entry *rate_find(struct policy *p, const struct addr_key *k, bool *found)
{
	uint32_t at = rate_slot(p, k);
	struct rate_entry *victim = NULL;

	*found = false;
	for (uint32_t i = 0; i < p->probes; i++, at = at + 1 == p->nrate ? 0 : at + 1) {
		struct rate_entry *e = &p->rate[at];
		if (e->tat == 0)
			return e; /* slots are never emptied: k is not further on */
		if (e->key.w[0] == k->w[0] && e->key.w[1] == k->w[1]) {
			*found = true;
			return e;
		}
		if (!victim || e->tat < victim->tat)
			victim = e;
	}
	return victim;
}

/* Puts key in the slot rate_find gave (not found), counting what it cost. */
static void rate_claim(struct policy *p, struct rate_entry *e, const struct addr_key *k,
		       uint64_t now_ns)
{
	if (e->tat == 0)
		p->rs.occupied++;
	else if (e->tat > now_ns)
		p->rs.evictions++; /* its bucket was not full yet: that debt is forgotten */
	e->key = *k;
	e->tat = 0;
}

int policy_rate_take(struct policy *p, const struct sockaddr *src, uint64_t now_ns)
{
	struct addr_key k = {{0, 0}}; /* every non-IP source shares one bucket */
	bool found;

	if (!p->rate)
		return 0;
	addr_key_of(src, &k);
	struct rate_entry *e = rate_find(p, &k, &found);
	if (!found)
		rate_claim(p, e, &k, now_ns);
	uint64_t tat = e->tat > now_ns ? e->tat : now_ns;
	if (tat - now_ns > p->tau_ns) {
		p->rs.refused++;
		return -EAGAIN;
	}
	/* never 0, which marks an empty slot: interval_ns >= 1000 */
	e->tat = tat + p->interval_ns;
	p->rs.admitted++;
	return 0;
}

void policy_rate_stats(const struct policy *p, struct policy_rate_stats *out)
{
	*out = p->rs;
}

void policy_inherit(struct policy *to, const struct policy *from, uint64_t now_ns)
{
	to->calls = from->calls;
	if (!to->rate || !from->rate)
		return;
	/* a debt beyond the new burst would refuse longer than the new limits
	 * allow: clamp it to a bucket that is just empty */
	uint64_t max_tat = now_ns + to->tau_ns + to->interval_ns;
	for (uint32_t i = 0; i < from->nrate; i++) {
		const struct rate_entry *old = &from->rate[i];
		bool found;
		if (old->tat <= now_ns) /* full bucket: same as no entry */
			continue;
		struct rate_entry *e = rate_find(to, &old->key, &found);
		if (!found)
			rate_claim(to, e, &old->key, now_ns);
		e->tat = old->tat < max_tat ? old->tat : max_tat;
	}
}

int policy_call_admit(struct policy *p)
{
	if (p->calls >= p->cfg.limits.max_calls)
		return -EBUSY;
	p->calls++;
	return 0;
}

void policy_call_release(struct policy *p)
{
	if (p->calls)
		p->calls--;
}

void policy_call_carry(struct policy *p)
{
	p->calls++;
}

uint32_t policy_calls(const struct policy *p)
{
	return p->calls;
}

int policy_ood_status(const struct policy *p, const char *method, size_t len)
{
	for (unsigned i = 0; i < p->cfg.nood; i++) {
		const char *m = p->cfg.ood[i].method;
		if (len && strnlen(m, sizeof(p->cfg.ood[i].method)) == len &&
		    !memcmp(m, method, len))
			return p->cfg.ood[i].status;
	}
	return p->cfg.ood_default_status;
}
