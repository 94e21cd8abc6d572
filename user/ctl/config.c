/*
 * config.c - loading, validating and printing the configuration (see config.h).
 *
 * Values start from the defaults in config_defaults(); the JSON document then
 * overrides what it names. Each reader takes the key's path so that every
 * error says exactly where it is.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ctl/config.h"
#include "net/udp.h"

const char config_default_json[] =
	"{\n"
	"  \"listen\": \"127.0.0.1:5060\",\n"
	"  \"routes\": [ { \"name\": \"local-callee\", \"target\": \"127.0.0.1:5080\" } ]\n"
	"}\n";

static void config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->listen, sizeof(c->listen), "127.0.0.1:5060");
	c->bpf = true;
	c->io_uring = true;
	snprintf(c->log_level, sizeof(c->log_level), "info");
	c->tx_buffer_size = 8192;
	c->capacity.dialogs_per_shard = 65536;
	c->capacity.transactions_per_shard = 65536;
	c->capacity.setups = 16384;
	c->timers.t1_ms = 500;
	c->timers.t2_ms = 4000;
	c->timers.transaction_timeout_ms = 32000;
	c->timers.dialog_idle_s = 7200;
	c->timers.dialog_max_s = 86400;
	c->limits.max_calls = 1000000;
	c->limits.retry_after_s = 5;
	c->limits.rate_sources = 65536;
	c->acl_default_allow = true;
	c->no_route_status = 404;
	c->ood_default_status = 405;
	static const struct config_ood ood[] = {{"REGISTER", 403}, {"SUBSCRIBE", 405},
						{"PUBLISH", 405}, {"MESSAGE", 405}};
	memcpy(c->ood, ood, sizeof(ood));
	c->nood = sizeof(ood) / sizeof(ood[0]);
}

/* ---- error reporting ----------------------------------------------------- */

struct cfg_err {
	char *buf;
	size_t len;
};

__attribute__((format(printf, 3, 4))) static int fail(struct cfg_err *e, const char *path,
						       const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(e->buf, e->len, "%s: ", path);
	if (n < 0 || (size_t)n >= e->len)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(e->buf + n, e->len - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

/* ---- typed readers ----------------------------------------------------------- */

static int get_uint(struct cfg_err *e, const char *path, json_t *v, uint32_t lo, uint32_t hi,
		    uint32_t *out)
{
	if (!json_is_integer(v))
		return fail(e, path, "expected an integer from %u to %u, got %s", lo, hi,
			    type_name(v));
	json_int_t x = json_integer_value(v);
	if (x < lo || x > hi)
		return fail(e, path, "expected an integer from %u to %u, got %lld", lo, hi,
			    (long long)x);
	*out = (uint32_t)x;
	return 0;
}

static int get_bool(struct cfg_err *e, const char *path, json_t *v, bool *out)
{
	if (!json_is_boolean(v))
		return fail(e, path, "expected true or false, got %s", type_name(v));
	*out = json_is_true(v);
	return 0;
}

static int get_str(struct cfg_err *e, const char *path, json_t *v, char *out, size_t cap)
{
	if (!json_is_string(v))
		return fail(e, path, "expected a string, got %s", type_name(v));
	if (json_string_length(v) >= cap)
		return fail(e, path, "longer than %zu characters", cap - 1);
	snprintf(out, cap, "%s", json_string_value(v));
	return 0;
}

static int get_status(struct cfg_err *e, const char *path, json_t *v, int *out)
{
	uint32_t s;
	int rc = get_uint(e, path, v, 200, 699, &s);
	*out = (int)s;
	return rc;
}

static int get_addr(struct cfg_err *e, const char *path, json_t *v, char *str, size_t cap,
		    struct sockaddr_storage *addr, socklen_t *len)
{
	char why[160];
	int rc = get_str(e, path, v, str, cap);
	if (rc)
		return rc;
	if (udp_parse_addr(str, addr, len, why, sizeof(why)) != 0)
		return fail(e, path, "%s", why);
	const struct sockaddr_in *v4 = (const struct sockaddr_in *)addr;
	if (v4->sin_port == 0)
		return fail(e, path, "port must be 1-65535 in \"%s\"", str);
	return 0;
}

int config_parse_cidr(const char *s, struct config_cidr *out)
{
	char ip[64];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	long prefix = -1;

	if (n >= sizeof(ip))
		return -EINVAL;
	memcpy(ip, s, n);
	ip[n] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, ip, out->addr) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, ip, out->addr) == 1)
		out->family = AF_INET6;
	else
		return -EINVAL;
	long max = out->family == AF_INET ? 32 : 128;
	if (slash) {
		char *end;
		prefix = strtol(slash + 1, &end, 10);
		if (!slash[1] || *end || prefix < 0 || prefix > max)
			return -EINVAL;
	} else {
		prefix = max;
	}
	out->prefix = (uint8_t)prefix;
	return 0;
}

bool config_cidr_match(const struct config_cidr *c, const struct sockaddr *sa)
{
	const uint8_t *a;
	uint8_t mapped[16];

	if (sa->sa_family == AF_INET) {
		a = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
		if (c->family == AF_INET6) {
			/* an IPv4 peer matches ::ffff:a.b.c.d/96+n rules */
			memset(mapped, 0, 10);
			mapped[10] = mapped[11] = 0xff;
			memcpy(mapped + 12, a, 4);
			a = mapped;
		}
	} else if (sa->sa_family == AF_INET6) {
		a = (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (c->family == AF_INET) {
			static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
			if (memcmp(a, v4mapped, 12) != 0)
				return false;
			a += 12;
		}
	} else {
		return false;
	}
	unsigned full = c->prefix / 8, rest = c->prefix % 8;
	if (memcmp(a, c->addr, full) != 0)
		return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));
		if ((a[full] & mask) != (c->addr[full] & mask))
			return false;
	}
	return true;
}

static int get_cidr(struct cfg_err *e, const char *path, json_t *v, struct config_cidr *out)
{
	char s[80];
	int rc = get_str(e, path, v, s, sizeof(s));
	if (rc)
		return rc;
	if (config_parse_cidr(s, out) != 0)
		return fail(e, path, "expected a CIDR such as \"10.0.0.0/8\" or \"::1/128\", got \"%s\"",
			    s);
	return 0;
}

/* Walks an object's members: calls fn for each, which returns -ENOENT for a
 * key it does not know. */
typedef int (*member_fn)(struct config *c, struct cfg_err *e, const char *path, const char *key,
			 json_t *v, void *arg);

static int each_member(struct config *c, struct cfg_err *e, const char *path, json_t *obj,
		       member_fn fn, void *arg)
{
	const char *key;
	json_t *v;
	char sub[256];

	if (!json_is_object(obj))
		return fail(e, path, "expected an object, got %s", type_name(obj));
	json_object_foreach(obj, key, v)
	{
		snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", key);
		int rc = fn(c, e, sub, key, v, arg);
		if (rc == -ENOENT)
			return fail(e, sub, "unknown key");
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- sections --------------------------------------------------------------- */

static int capacity_member(struct config *c, struct cfg_err *e, const char *path, const char *k,
			   json_t *v, void *arg)
{
	(void)arg;
	if (!strcmp(k, "dialogs_per_shard"))
		return get_uint(e, path, v, 16, 1u << 24, &c->capacity.dialogs_per_shard);
	if (!strcmp(k, "transactions_per_shard"))
		return get_uint(e, path, v, 16, 1u << 24, &c->capacity.transactions_per_shard);
	if (!strcmp(k, "setups"))
		return get_uint(e, path, v, 16, 1u << 20, &c->capacity.setups);
	return -ENOENT;
}

static int timers_member(struct config *c, struct cfg_err *e, const char *path, const char *k,
			 json_t *v, void *arg)
{
	(void)arg;
	if (!strcmp(k, "t1_ms"))
		return get_uint(e, path, v, 10, 60000, &c->timers.t1_ms);
	if (!strcmp(k, "t2_ms"))
		return get_uint(e, path, v, 10, 600000, &c->timers.t2_ms);
	if (!strcmp(k, "transaction_timeout_ms"))
		return get_uint(e, path, v, 100, 3600000, &c->timers.transaction_timeout_ms);
	if (!strcmp(k, "dialog_idle_s"))
		return get_uint(e, path, v, 0, 30 * 86400, &c->timers.dialog_idle_s);
	if (!strcmp(k, "dialog_max_s"))
		return get_uint(e, path, v, 0, 30 * 86400, &c->timers.dialog_max_s);
	return -ENOENT;
}

static int limits_member(struct config *c, struct cfg_err *e, const char *path, const char *k,
			 json_t *v, void *arg)
{
	(void)arg;
	if (!strcmp(k, "max_calls"))
		return get_uint(e, path, v, 1, UINT32_MAX / 2, &c->limits.max_calls);
	if (!strcmp(k, "calls_per_second_per_source"))
		return get_uint(e, path, v, 0, 1000000, &c->limits.calls_per_second_per_source);
	if (!strcmp(k, "burst"))
		return get_uint(e, path, v, 0, 1000000, &c->limits.burst);
	if (!strcmp(k, "retry_after_s"))
		return get_uint(e, path, v, 0, 3600, &c->limits.retry_after_s);
	if (!strcmp(k, "rate_sources"))
		return get_uint(e, path, v, 16, 1u << 22, &c->limits.rate_sources);
	return -ENOENT;
}

static int acl_rule_member(struct config *c, struct cfg_err *e, const char *path, const char *k,
			   json_t *v, void *arg)
{
	struct config_acl_rule *r = arg;
	char action[16];
	(void)c;
	if (!strcmp(k, "cidr"))
		return get_cidr(e, path, v, &r->cidr);
	if (!strcmp(k, "action")) {
		int rc = get_str(e, path, v, action, sizeof(action));
		if (rc)
			return rc;
		if (strcmp(action, "allow") && strcmp(action, "deny"))
			return fail(e, path, "expected \"allow\" or \"deny\", got \"%s\"", action);
		r->allow = !strcmp(action, "allow");
		return 0;
	}
	return -ENOENT;
}

static int acl_member(struct config *c, struct cfg_err *e, const char *path, const char *k,
		      json_t *v, void *arg)
{
	char s[16], sub[300];
	(void)arg;
	if (!strcmp(k, "default")) {
		int rc = get_str(e, path, v, s, sizeof(s));
		if (rc)
			return rc;
		if (strcmp(s, "allow") && strcmp(s, "deny"))
			return fail(e, path, "expected \"allow\" or \"deny\", got \"%s\"", s);
		c->acl_default_allow = !strcmp(s, "allow");
		return 0;
	}
	if (!strcmp(k, "rules")) {
		size_t i;
		json_t *r;
		if (!json_is_array(v))
			return fail(e, path, "expected an array, got %s", type_name(v));
		if (json_array_size(v) > CONFIG_MAX_ACL_RULES)
			return fail(e, path, "at most %d rules", CONFIG_MAX_ACL_RULES);
		c->nacl = 0;
		json_array_foreach(v, i, r)
		{
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			struct config_acl_rule *rule = &c->acl[c->nacl];
			memset(rule, 0, sizeof(*rule));
			int rc = each_member(c, e, sub, r, acl_rule_member, rule);
			if (rc)
				return rc;
			if (!rule->cidr.family)
				return fail(e, sub, "missing \"cidr\"");
			if (!json_object_get(r, "action"))
				return fail(e, sub, "missing \"action\"");
			c->nacl++;
		}
		return 0;
	}
	return -ENOENT;
}

static int match_member(struct config *c, struct cfg_err *e, const char *path, const char *k,
			json_t *v, void *arg)
{
	struct config_route *r = arg;
	(void)c;
	if (!strcmp(k, "user_prefix"))
		return get_str(e, path, v, r->user_prefix, sizeof(r->user_prefix));
	if (!strcmp(k, "domain")) {
		if (json_is_null(v))
			return 0;
		return get_str(e, path, v, r->domain, sizeof(r->domain));
	}
	if (!strcmp(k, "source")) {
		if (json_is_null(v))
			return 0;
		r->has_source = true;
		return get_cidr(e, path, v, &r->source);
	}
	return -ENOENT;
}

static int route_member(struct config *c, struct cfg_err *e, const char *path, const char *k,
			json_t *v, void *arg)
{
	struct config_route *r = arg;
	if (!strcmp(k, "name"))
		return get_str(e, path, v, r->name, sizeof(r->name));
	if (!strcmp(k, "match"))
		return each_member(c, e, path, v, match_member, r);
	if (!strcmp(k, "target"))
		return get_addr(e, path, v, r->target, sizeof(r->target), &r->addr, &r->addr_len);
	return -ENOENT;
}

static int ood_member(struct config *c, struct cfg_err *e, const char *path, const char *k,
		      json_t *v, void *arg)
{
	(void)arg;
	if (!strcmp(k, "default"))
		return get_status(e, path, v, &c->ood_default_status);
	for (unsigned i = 0; i < c->nood; i++)
		if (!strcmp(c->ood[i].method, k))
			return get_status(e, path, v, &c->ood[i].status);
	if (c->nood >= CONFIG_MAX_OOD)
		return fail(e, path, "at most %d methods", CONFIG_MAX_OOD);
	if (strlen(k) >= sizeof(c->ood[0].method) || !strcmp(k, "INVITE") || !strcmp(k, "ACK") ||
	    !strcmp(k, "CANCEL"))
		return fail(e, path, "not a method policy can answer");
	snprintf(c->ood[c->nood].method, sizeof(c->ood[0].method), "%s", k);
	return get_status(e, path, v, &c->ood[c->nood++].status);
}

static int top_member(struct config *c, struct cfg_err *e, const char *path, const char *k,
		      json_t *v, void *arg)
{
	char sub[300];
	(void)arg;
	if (!strcmp(k, "listen"))
		return get_addr(e, path, v, c->listen, sizeof(c->listen), &c->listen_addr,
				&c->listen_addr_len);
	if (!strcmp(k, "advertise")) {
		if (json_is_null(v))
			return 0;
		return get_str(e, path, v, c->advertise, sizeof(c->advertise));
	}
	if (!strcmp(k, "workers"))
		return get_uint(e, path, v, 0, 64, &c->workers);
	if (!strcmp(k, "bpf"))
		return get_bool(e, path, v, &c->bpf);
	if (!strcmp(k, "io_uring"))
		return get_bool(e, path, v, &c->io_uring);
	if (!strcmp(k, "log_level")) {
		int rc = get_str(e, path, v, c->log_level, sizeof(c->log_level));
		if (!rc && strcmp(c->log_level, "error") && strcmp(c->log_level, "warn") &&
		    strcmp(c->log_level, "info") && strcmp(c->log_level, "debug"))
			return fail(e, path, "expected error, warn, info or debug, got \"%s\"",
				    c->log_level);
		return rc;
	}
	if (!strcmp(k, "tx_buffer_size"))
		return get_uint(e, path, v, 1500, 65535, &c->tx_buffer_size);
	if (!strcmp(k, "capacity"))
		return each_member(c, e, path, v, capacity_member, NULL);
	if (!strcmp(k, "timers"))
		return each_member(c, e, path, v, timers_member, NULL);
	if (!strcmp(k, "limits"))
		return each_member(c, e, path, v, limits_member, NULL);
	if (!strcmp(k, "acl"))
		return each_member(c, e, path, v, acl_member, NULL);
	if (!strcmp(k, "no_route_status"))
		return get_status(e, path, v, &c->no_route_status);
	if (!strcmp(k, "out_of_dialog"))
		return each_member(c, e, path, v, ood_member, NULL);
	if (!strcmp(k, "routes")) {
		size_t i;
		json_t *r;
		if (!json_is_array(v))
			return fail(e, path, "expected an array, got %s", type_name(v));
		if (json_array_size(v) == 0)
			return fail(e, path, "at least one route is required");
		if (json_array_size(v) > CONFIG_MAX_ROUTES)
			return fail(e, path, "at most %d routes", CONFIG_MAX_ROUTES);
		c->nroutes = 0;
		json_array_foreach(v, i, r)
		{
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			struct config_route *route = &c->routes[c->nroutes];
			memset(route, 0, sizeof(*route));
			int rc = each_member(c, e, sub, r, route_member, route);
			if (rc)
				return rc;
			if (!route->addr_len)
				return fail(e, sub, "missing \"target\"");
			if (!route->name[0])
				snprintf(route->name, sizeof(route->name), "route%zu", i);
			c->nroutes++;
		}
		return 0;
	}
	return -ENOENT;
}

static int load_json(struct config *c, json_t *root, char *err, size_t errlen)
{
	struct cfg_err e = {err, errlen};
	char why[160];

	config_defaults(c);
	if (udp_parse_addr(c->listen, &c->listen_addr, &c->listen_addr_len, why, sizeof(why)))
		return fail(&e, "listen", "%s", why);
	int rc = each_member(c, &e, "", root, top_member, NULL);
	if (rc)
		return rc;
	if (!c->nroutes)
		return fail(&e, "routes", "at least one route is required");
	if (!c->advertise[0])
		snprintf(c->advertise, sizeof(c->advertise), "%s", c->listen);
	if (c->timers.t2_ms < c->timers.t1_ms)
		return fail(&e, "timers.t2_ms", "must not be smaller than timers.t1_ms");
	return 0;
}

int config_load_string(struct config *c, const char *json, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		snprintf(err, errlen, "line %d, column %d: %s", je.line, je.column, je.text);
		return -EINVAL;
	}
	int rc = load_json(c, root, err, errlen);
	json_decref(root);
	return rc;
}

int config_load_file(struct config *c, const char *path, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		if (je.line < 1)
			snprintf(err, errlen, "cannot read: %s", je.text);
		else
			snprintf(err, errlen, "line %d, column %d: %s", je.line, je.column, je.text);
		return -EINVAL;
	}
	int rc = load_json(c, root, err, errlen);
	json_decref(root);
	return rc;
}

int config_load_default(struct config *c, char *err, size_t errlen)
{
	return config_load_string(c, config_default_json, err, errlen);
}

void config_free(struct config *c)
{
	(void)c; /* everything is inline today; kept for callers */
}

static json_t *cidr_json(const struct config_cidr *cidr)
{
	char ip[INET6_ADDRSTRLEN], s[INET6_ADDRSTRLEN + 8];
	inet_ntop(cidr->family, cidr->addr, ip, sizeof(ip));
	snprintf(s, sizeof(s), "%s/%u", ip, cidr->prefix);
	return json_string(s);
}

char *config_to_json(const struct config *c)
{
	json_t *o = json_object(), *cap = json_object(), *tm = json_object(), *lim = json_object(),
	       *acl = json_object(), *rules = json_array(), *routes = json_array(),
	       *ood = json_object();

	json_object_set_new(o, "listen", json_string(c->listen));
	json_object_set_new(o, "advertise", json_string(c->advertise));
	json_object_set_new(o, "workers", json_integer(c->workers));
	json_object_set_new(o, "bpf", json_boolean(c->bpf));
	json_object_set_new(o, "io_uring", json_boolean(c->io_uring));
	json_object_set_new(o, "log_level", json_string(c->log_level));
	json_object_set_new(o, "tx_buffer_size", json_integer(c->tx_buffer_size));
	json_object_set_new(cap, "dialogs_per_shard", json_integer(c->capacity.dialogs_per_shard));
	json_object_set_new(cap, "transactions_per_shard",
			    json_integer(c->capacity.transactions_per_shard));
	json_object_set_new(cap, "setups", json_integer(c->capacity.setups));
	json_object_set_new(o, "capacity", cap);
	json_object_set_new(tm, "t1_ms", json_integer(c->timers.t1_ms));
	json_object_set_new(tm, "t2_ms", json_integer(c->timers.t2_ms));
	json_object_set_new(tm, "transaction_timeout_ms",
			    json_integer(c->timers.transaction_timeout_ms));
	json_object_set_new(tm, "dialog_idle_s", json_integer(c->timers.dialog_idle_s));
	json_object_set_new(tm, "dialog_max_s", json_integer(c->timers.dialog_max_s));
	json_object_set_new(o, "timers", tm);
	json_object_set_new(lim, "max_calls", json_integer(c->limits.max_calls));
	json_object_set_new(lim, "calls_per_second_per_source",
			    json_integer(c->limits.calls_per_second_per_source));
	json_object_set_new(lim, "burst", json_integer(c->limits.burst));
	json_object_set_new(lim, "retry_after_s", json_integer(c->limits.retry_after_s));
	json_object_set_new(lim, "rate_sources", json_integer(c->limits.rate_sources));
	json_object_set_new(o, "limits", lim);
	json_object_set_new(acl, "default", json_string(c->acl_default_allow ? "allow" : "deny"));
	for (unsigned i = 0; i < c->nacl; i++) {
		json_t *r = json_object();
		json_object_set_new(r, "action", json_string(c->acl[i].allow ? "allow" : "deny"));
		json_object_set_new(r, "cidr", cidr_json(&c->acl[i].cidr));
		json_array_append_new(rules, r);
	}
	json_object_set_new(acl, "rules", rules);
	json_object_set_new(o, "acl", acl);
	for (unsigned i = 0; i < c->nroutes; i++) {
		const struct config_route *r = &c->routes[i];
		json_t *ro = json_object(), *m = json_object();
		json_object_set_new(ro, "name", json_string(r->name));
		json_object_set_new(m, "user_prefix", json_string(r->user_prefix));
		json_object_set_new(m, "domain", r->domain[0] ? json_string(r->domain) : json_null());
		json_object_set_new(m, "source", r->has_source ? cidr_json(&r->source) : json_null());
		json_object_set_new(ro, "match", m);
		json_object_set_new(ro, "target", json_string(r->target));
		json_array_append_new(routes, ro);
	}
	json_object_set_new(o, "routes", routes);
	json_object_set_new(o, "no_route_status", json_integer(c->no_route_status));
	for (unsigned i = 0; i < c->nood; i++)
		json_object_set_new(ood, c->ood[i].method, json_integer(c->ood[i].status));
	json_object_set_new(ood, "default", json_integer(c->ood_default_status));
	json_object_set_new(o, "out_of_dialog", ood);
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}
