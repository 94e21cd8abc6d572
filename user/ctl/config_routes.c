/*
 * config_routes.c - routes[], as written (cfg_route).
 *
 * Owns: each route's keys (name, match, rewrite, target or targets with
 * their limits and weights, failover_on, failover_ms, down_s, probe_s,
 * keepalive_s, select), its defaults and what its keys must agree on, the
 * Request-URI user parts of match.user_prefix and rewrite.prefix, and the
 * route's tag (cfg_route_tag: the hash of its name and targets that a call
 * setting up keeps).
 * Does not own: a target's address (config_addr.c) and its resolution
 * (config_dns.c), the credentials (config_auth.c), which route a call takes
 * (policy.c).
 */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "ctl/config_int.h"

/* A byte a Request-URI user may hold as it is (RFC 3261 25.1: unreserved,
 * user-unreserved); any other is written as a %HH escape. */
static bool is_user_char(unsigned char ch)
{
	return isalnum(ch) || (ch && strchr("-_.!~*'()&=+$,;?/", ch));
}

/* A piece of a Request-URI's user part (RFC 3261 25.1), for a match
 * (user_prefix) or to be sent (rewrite.prefix). Anything else would make
 * leg B's Request-URI malformed, or a prefix that no Request-URI that parses
 * can start with. A '#' is kept as %23, as 25.1 writes it and as sipshard
 * sends it: policy_route reads a bare '#' of a Request-URI (which equipment
 * sends and the parser takes) as %23. A prefix to match may end inside an
 * escape ("%2" for "%2B..." and "%23..."); one to send must not
 * (whole_escapes), since the called number's digits would complete it. */
static int get_user_part(struct cfg_parse *p, const char *path, json_t *v, char *out, size_t cap,
			 bool whole_escapes)
{
	char b[80], in[64];
	int rc = cfg_get_str(p, path, v, in, sizeof(in) < cap ? sizeof(in) : cap);
	if (rc)
		return rc;
	size_t n = 0;
	for (const unsigned char *q = (const unsigned char *)in; *q; q++) {
		const char *piece = (const char *)q;
		size_t len = 1;
		if (*q == '#') {
			piece = "%23";
			len = 3;
		} else if (*q == '%' &&
			   ((isxdigit(q[1]) && isxdigit(q[2])) ||
			    (!whole_escapes && (!q[1] || (isxdigit(q[1]) && !q[2]))))) {
			len = q[1] ? (q[2] ? 3 : 2) : 1;
			q += len - 1;
		} else if (!is_user_char(*q)) {
			return cfg_fail(
			    p, path,
			    "expected the start of a Request-URI user: letters, digits, "
			    "-_.!~*'()&=+$,;?/# and %%XX escapes (RFC 3261 25.1), "
			    "got \"%s\"",
			    cfg_shown(in, b, sizeof(b)));
		}
		if (n + len >= cap)
			return cfg_fail(p, path,
					"longer than %zu characters with each '#' written %%23",
					cap - 1);
		memcpy(out + n, piece, len);
		n += len;
	}
	out[n] = '\0';
	return 0;
}

static int match_member(struct cfg_parse *p, const char *path, const char *k, json_t *v, void *arg)
{
	struct config_route *r = arg;
	if (!strcmp(k, "user_prefix")) {
		r->user_prefix[0] = '\0';
		if (json_is_null(v)) /* CONFIG.md: a null condition always holds */
			return 0;
		return get_user_part(p, path, v, r->user_prefix, sizeof(r->user_prefix), false);
	}
	if (!strcmp(k, "domain")) {
		char b[80];
		r->domain[0] = '\0';
		if (json_is_null(v))
			return 0;
		if (!json_is_string(v))
			return cfg_fail(p, path, "expected a host name, IP address or null, got %s",
					cfg_type_name(v));
		const char *s = json_string_value(v);
		if (!cfg_normalize_host(s, json_string_length(v), r->domain, sizeof(r->domain)))
			return cfg_fail(
			    p, path,
			    "expected a host name or IP address such as \"example.com\", "
			    "got \"%s\"",
			    cfg_shown(s, b, sizeof(b)));
		return 0;
	}
	if (!strcmp(k, "source")) {
		r->has_source = false;
		if (json_is_null(v))
			return 0;
		r->has_source = true;
		return cfg_get_cidr(p, path, v, &r->source);
	}
	return -ENOENT;
}

static int target_member(struct cfg_parse *p, const char *path, const char *k, json_t *v, void *arg)
{
	struct config_target *t = arg;
	if (!strcmp(k, "address"))
		return cfg_target_address(p, path, v, t);
	if (!strcmp(k, "max_calls"))
		return cfg_get_uint(p, path, v, 0, 2147483647u, &t->max_calls);
	if (!strcmp(k, "max_cps"))
		return cfg_get_uint(p, path, v, 0, 1000000, &t->max_cps);
	if (!strcmp(k, "weight"))
		return cfg_get_uint(p, path, v, 1, 1000, &t->weight);
	return -ENOENT;
}

/* One of a route's targets: "IP:port", or {"address": "IP:port",
 * "max_calls": N, "max_cps": R, "weight": W}; "target" is targets[0]
 * written alone. */
static int route_target(struct cfg_parse *p, const char *path, size_t i, json_t *v)
{
	struct config_route *r = p->route;
	struct config_target *t = &r->targets[i];
	int rc;

	memset(t, 0, sizeof(*t));
	t->weight = 1;
	if (json_is_object(v)) {
		rc = cfg_each_member(p, path, v, target_member, t);
		if (!rc && !json_object_get(v, "address"))
			rc = cfg_fail(p, path, "missing \"address\"");
	} else if (json_is_string(v)) {
		rc = cfg_target_address(p, path, v, t);
	} else {
		rc =
		    cfg_fail(p, path,
			     "expected \"IP:port\" or {\"address\": \"IP:port\", \"max_calls\": N, "
			     "\"max_cps\": R, \"weight\": W}, got %s",
			     cfg_type_name(v));
	}
	if (rc)
		return rc;
	r->ntargets = (unsigned)i + 1; /* two at one address: cfg_resolve_targets */
	return 0;
}

/* A final status that sends the call on to the next target: 4xx-6xx. */
static int route_failover(struct cfg_parse *p, const char *path, size_t i, json_t *v)
{
	struct config_route *r = p->route;
	uint32_t s = 0;
	int rc = cfg_get_uint(p, path, v, 400, 699, &s);
	if (rc)
		return rc;
	r->failover_on[i] = (uint16_t)s;
	r->nfailover = (unsigned)i + 1;
	return 0;
}

static int rewrite_member(struct cfg_parse *p, const char *path, const char *k, json_t *v,
			  void *arg)
{
	struct config_route *r = arg;
	if (!strcmp(k, "strip"))
		return cfg_get_uint(p, path, v, 0, 64, &r->rewrite_strip);
	if (!strcmp(k, "prefix"))
		return get_user_part(p, path, v, r->rewrite_prefix, sizeof(r->rewrite_prefix),
				     true);
	return -ENOENT;
}

static int route_member(struct cfg_parse *p, const char *path, const char *k, json_t *v, void *arg)
{
	struct config_route *r = arg;
	if (!strcmp(k, "name"))
		return cfg_get_name(p, path, v, r->name, sizeof(r->name));
	if (!strcmp(k, "match"))
		return cfg_each_member(p, path, v, match_member, r);
	if (!strcmp(k, "rewrite"))
		return cfg_each_member(p, path, v, rewrite_member, r);
	if (!strcmp(k, "auth"))
		return cfg_get_auth(p, path, v, &r->auth);
	if (!strcmp(k, "target")) {
		r->ntargets = 0;
		return route_target(p, path, 0, v);
	}
	if (!strcmp(k, "targets")) {
		r->ntargets = 0;
		r->targets_array = true;
		int rc = cfg_each_element(p, path, v, CONFIG_MAX_TARGETS, "targets", route_target);
		if (!rc && r->ntargets == 0)
			return cfg_fail(p, path, "at least one target is required");
		return rc;
	}
	if (!strcmp(k, "failover_on")) {
		r->nfailover = 0;
		return cfg_each_element(p, path, v, CONFIG_MAX_FAILOVER, "statuses",
					route_failover);
	}
	if (!strcmp(k, "failover_ms"))
		return cfg_get_uint(p, path, v, 100, 600000, &r->failover_ms);
	if (!strcmp(k, "down_s"))
		return cfg_get_uint(p, path, v, 0, 86400, &r->down_s);
	if (!strcmp(k, "probe_s"))
		return cfg_get_uint(p, path, v, 0, 3600, &r->probe_s);
	if (!strcmp(k, "keepalive_s"))
		return cfg_get_uint(p, path, v, 0, 3600, &r->keepalive_s);
	if (!strcmp(k, "select")) {
		static const char *const names[] = {"order", "round_robin", NULL};
		int i = 0;
		int rc = cfg_get_choice(p, path, v, names, "\"order\" or \"round_robin\"", &i);
		r->round_robin = i == 1;
		return rc;
	}
	return -ENOENT;
}

/* FNV-1a over the route's name and targets, each with its terminating NUL. */
uint32_t cfg_route_tag(const struct config_route *r)
{
	uint32_t h = 2166136261u;
	const char *texts[1 + CONFIG_MAX_TARGETS] = {r->name};
	for (unsigned t = 0; t < r->ntargets; t++)
		texts[1 + t] = r->targets[t].text;
	for (unsigned i = 0; i < 1 + r->ntargets; i++)
		for (const char *q = texts[i];; q++) {
			h = (h ^ (uint8_t)*q) * 16777619u;
			if (!*q)
				break;
		}
	return h ? h : 1;
}

int cfg_route(struct cfg_parse *p, const char *path, size_t i, json_t *v)
{
	struct config_route *r = &p->c->routes[i];
	char sub[320];

	static const uint16_t default_failover[] = {408, 500, 502, 503, 504};
	memset(r, 0, sizeof(*r));
	r->nfailover = sizeof(default_failover) / sizeof(default_failover[0]);
	memcpy(r->failover_on, default_failover, sizeof(default_failover));
	r->failover_ms = 2000;
	r->down_s = 30;
	r->probe_s = 5;
	p->route = r;
	int rc = cfg_each_member(p, path, v, route_member, r);
	if (rc)
		return rc;
	bool one = json_object_get(v, "target"), many = json_object_get(v, "targets");
	if (one == many)
		return cfg_fail(p, path,
				one ? "\"target\" and \"targets\" both given: use one"
				    : "missing \"target\" (or \"targets\")");
	if (!r->name[0])
		snprintf(r->name, sizeof(r->name), "route%zu", i);
	/* names appear in logs, CDRs and statistics: two alike would mislead */
	for (size_t j = 0; j < i; j++)
		if (!strcmp(p->c->routes[j].name, r->name))
			return cfg_name_taken(p, path, v, r->name, "routes", j);
	/* a name without a port takes its SRV records' priorities and weights */
	for (unsigned t = 0; t < r->ntargets; t++) {
		if (!r->targets[t].domain[0])
			continue;
		cfg_target_path(p->c, (unsigned)i, t, sub, sizeof(sub) - 8);
		if (r->round_robin)
			return cfg_fail(
			    p, sub,
			    "a name without a port is shared out by its SRV records' "
			    "priorities and weights: not with \"select\": \"round_robin\"");
		if (r->targets[t].weight != 1) {
			strcat(sub, ".weight");
			return cfg_fail(p, sub,
					"a name without a port takes its SRV records' weights");
		}
	}
	/* a weight given to an "order" route would silently do nothing */
	for (unsigned t = 0; t < r->ntargets && !r->round_robin; t++)
		if (r->targets[t].weight != 1) {
			cfg_target_path(p->c, (unsigned)i, t, sub, sizeof(sub) - 8);
			strcat(sub, ".weight");
			return cfg_fail(p, sub,
					"calls are shared by weight only with \"select\": "
					"\"round_robin\"");
		}
	r->tag = cfg_route_tag(r);
	p->c->nroutes = (unsigned)i + 1;
	return 0;
}
