/*
 * policy.c - ACL, routes, limits (see policy.h).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctl/policy.h"
#include "sipshard/hash.h"

#define RATE_PROBES 8

struct rate_entry {
	uint8_t key[16]; /* IPv6 or v4-mapped address */
	bool used;
	uint64_t tokens_milli; /* tokens x 1000 */
	uint64_t last_ns;
};

struct policy {
	const struct config *cfg;
	uint32_t calls;
	uint32_t nrate;
	struct rate_entry *rate;
};

int policy_create(struct policy **out, const struct config *cfg, char *err, size_t errlen)
{
	struct policy *p = calloc(1, sizeof(*p));
	(void)err;
	(void)errlen;
	if (!p)
		return -ENOMEM;
	p->cfg = cfg;
	p->nrate = cfg->limits.rate_sources;
	if (cfg->limits.calls_per_second_per_source) {
		p->rate = calloc(p->nrate, sizeof(*p->rate));
		if (!p->rate) {
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

int policy_acl_check(const struct policy *p, const struct sockaddr *src)
{
	for (unsigned i = 0; i < p->cfg->nacl; i++)
		if (config_cidr_match(&p->cfg->acl[i].cidr, src))
			return p->cfg->acl[i].allow ? 0 : -EACCES;
	return p->cfg->acl_default_allow ? 0 : -EACCES;
}

int policy_route(const struct policy *p, const char *user, size_t ulen, const char *host,
		 size_t hlen, const struct sockaddr *src)
{
	for (unsigned i = 0; i < p->cfg->nroutes; i++) {
		const struct config_route *r = &p->cfg->routes[i];
		size_t plen = strlen(r->user_prefix);
		if (plen > ulen || memcmp(user, r->user_prefix, plen) != 0)
			continue;
		if (r->domain[0] && (strlen(r->domain) != hlen || strncasecmp(r->domain, host, hlen)))
			continue;
		if (r->has_source && !config_cidr_match(&r->source, src))
			continue;
		return (int)i;
	}
	return -ENOENT;
}

static void addr_key(const struct sockaddr *sa, uint8_t key[16])
{
	memset(key, 0, 16);
	if (sa->sa_family == AF_INET) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		memcpy(key, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	}
}

int policy_rate_take(struct policy *p, const struct sockaddr *src, uint64_t now_ns)
{
	const struct config *c = p->cfg;
	uint64_t rate = c->limits.calls_per_second_per_source;
	uint64_t cap = (c->limits.burst ? c->limits.burst : rate) * 1000;
	uint8_t key[16];
	struct rate_entry *e = NULL, *stalest = NULL;

	if (!rate)
		return 0;
	addr_key(src, key);
	uint32_t h = SHARD_FNV_OFFSET;
	for (int i = 0; i < 16; i++)
		h = shard_hash_step(h, key[i]);
	for (uint32_t i = 0; i < RATE_PROBES; i++) {
		struct rate_entry *x = &p->rate[(h + i) % p->nrate];
		if (x->used && !memcmp(x->key, key, 16)) {
			e = x;
			break;
		}
		if (!x->used) {
			if (!stalest || stalest->used)
				stalest = x;
		} else if (!stalest || (stalest->used && x->last_ns < stalest->last_ns)) {
			stalest = x;
		}
	}
	if (!e) {
		/* new source, or the table is full here: the stalest neighbour goes */
		e = stalest;
		memcpy(e->key, key, 16);
		e->used = true;
		e->tokens_milli = cap;
		e->last_ns = now_ns;
	}
	uint64_t elapsed = now_ns > e->last_ns ? now_ns - e->last_ns : 0;
	e->tokens_milli += elapsed * rate / 1000000; /* rate/s = rate*1000 milli per 1e9 ns */
	if (e->tokens_milli > cap)
		e->tokens_milli = cap;
	e->last_ns = now_ns;
	if (e->tokens_milli < 1000)
		return -EAGAIN;
	e->tokens_milli -= 1000;
	return 0;
}

int policy_call_admit(struct policy *p)
{
	if (p->calls >= p->cfg->limits.max_calls)
		return -EBUSY;
	p->calls++;
	return 0;
}

void policy_call_release(struct policy *p)
{
	if (p->calls)
		p->calls--;
}

uint32_t policy_calls(const struct policy *p)
{
	return p->calls;
}

int policy_ood_status(const struct policy *p, const char *method, size_t len)
{
	for (unsigned i = 0; i < p->cfg->nood; i++)
		if (strlen(p->cfg->ood[i].method) == len && !memcmp(p->cfg->ood[i].method, method, len))
			return p->cfg->ood[i].status;
	return p->cfg->ood_default_status;
}
