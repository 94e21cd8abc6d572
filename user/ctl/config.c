/*
 * config.c - loading, validating and printing the configuration (see config.h).
 *
 * Owns: turning one JSON document into a struct config, or an error that
 * names the key path. Values start from config_defaults(); the document then
 * overrides what it names; finish() checks what spans several keys and fills
 * in derived values (advertise, management_socket,
 * capacity.long_heads_per_shard). Everything is parsed into
 * a scratch copy that replaces the caller's only on success, so a bad reload
 * never half-applies.
 *
 * Beside it, each with what it owns (config_int.h holds the parse context
 * and the functions one of these files calls in another, cfg_ prefixed):
 * - config_routes.c: routes[] (match, rewrite, targets as written,
 *   failover, select) and each route's tag;
 * - config_registrations.c: registrations[];
 * - config_auth.c: the digest credentials of routes and registrations
 *   (auth), and whether two are one account;
 * - config_addr.c: addresses as written ("IP:port", hosts, CIDR, a
 *   target's address or name) and which target an operator's text names;
 * - config_dns.c: target names and their SRV records resolved (RFC
 *   3263) and checked reachable from listen, at a load and again while
 *   running (dns_refresh_s), and which targets go into service;
 * - config_print.c: the effective configuration as JSON.
 * Does not own: what the daemon does with the values.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ctl/config_int.h"
#include "sipshard/hash.h"

_Static_assert(CONFIG_MAX_WORKERS == SHARD_MAX_WORKERS, "workers bound = shard bound");

const char config_default_json[] =
    "{\n"
    "  \"listen\": \"127.0.0.1:5060\",\n"
    "  \"routes\": [ { \"name\": \"local-callee\", \"target\": \"127.0.0.1:5080\" } ]\n"
    "}\n";

#define MGMT_SOCKET_NAME "sipshardd.sock"

void config_default_run_dir(uid_t euid, char *out, size_t cap)
{
	/* root owns /run; anyone else gets a private directory in /tmp, which the
	 * daemon must create 0700 and refuse if someone else owns it */
	if (euid == 0)
		snprintf(out, cap, "/run/sipshard");
	else
		snprintf(out, cap, "/tmp/sipshard-%u", (unsigned)euid);
}

static void config_defaults(struct config *c)
{
	static const struct config_ood ood[] = {
	    {"OPTIONS", 200}, {"REGISTER", 403}, {"SUBSCRIBE", 405},
	    {"PUBLISH", 405}, {"MESSAGE", 405},
	};

	memset(c, 0, sizeof(*c));
	snprintf(c->listen, sizeof(c->listen), "127.0.0.1:5060");
	c->bpf = true;
	c->io_uring = true;
	c->persist_dialogs = true;
	snprintf(c->log_level, sizeof(c->log_level), "info");
	c->tx_buffer_size = 8192;
	config_default_run_dir(geteuid(), c->run_dir, sizeof(c->run_dir));
	c->capacity.dialogs_per_shard = 65536;
	c->capacity.transactions_per_shard = 65536;
	c->capacity.setups = 16384;
	c->capacity.long_heads_per_shard = 1024; /* finish(): transactions_per_shard / 64 */
	c->timers.t1_ms = 500;
	c->timers.t2_ms = 4000;
	c->timers.transaction_timeout_ms = 32000;
	c->timers.dialog_idle_s = 7200;
	c->timers.dialog_max_s = 86400;
	c->timers.drain_s = 30;
	c->timers.no_answer_s = 120;
	c->timers.session_timer = true;
	c->timers.dialog_keepalive_misses = 3;
	c->limits.max_calls = 1000000;
	c->limits.retry_after_s = 5;
	c->limits.rate_sources = 65536;
	c->acl_default_allow = true;
	c->no_route_status = 404;
	c->dns_refresh_s = 60;
	c->ood_default_status = 405;
	memcpy(c->ood, ood, sizeof(ood));
	c->nood = sizeof(ood) / sizeof(ood[0]);
}

/* ---- parse context and error reporting ------------------------------------ */

__attribute__((format(printf, 3, 4))) int cfg_fail(struct cfg_parse *p, const char *path,
						   const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(p->err, p->errlen, "%s: ", *path ? path : "(top level)");
	if (n < 0 || (size_t)n >= p->errlen)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* management_socket when the file names none: RUN_DIR/sipshardd.sock. */
static int default_mgmt_socket(struct cfg_parse *p, struct config *c)
{
	int n = snprintf(c->management_socket, sizeof(c->management_socket), "%s/%s",
			 strcmp(c->run_dir, "/") ? c->run_dir : "", MGMT_SOCKET_NAME);
	if (n < 0 || (size_t)n >= sizeof(c->management_socket))
		return cfg_fail(p, "management_socket",
				"run_dir + \"/" MGMT_SOCKET_NAME "\" is longer than %zu "
				"characters, the limit of a Unix socket path; set "
				"management_socket explicitly",
				sizeof(c->management_socket) - 1);
	return 0;
}

/* Copies s for an error message: control and non-ASCII bytes become '?' and a
 * long value is cut with "...", so a message is always one readable line. */
const char *cfg_shown(const char *s, char *buf, size_t cap)
{
	size_t i = 0;
	for (; s[i] && i + 4 < cap; i++)
		buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (s[i]) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

const char *cfg_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

/* ---- typed readers -------------------------------------------------------- */

int cfg_get_uint(struct cfg_parse *p, const char *path, json_t *v, uint32_t lo, uint32_t hi,
		 uint32_t *out)
{
	if (!json_is_integer(v))
		return cfg_fail(p, path, "expected an integer from %u to %u, got %s", lo, hi,
				cfg_type_name(v));
	json_int_t x = json_integer_value(v);
	if (x < (json_int_t)lo || x > (json_int_t)hi)
		return cfg_fail(p, path, "expected an integer from %u to %u, got %lld", lo, hi,
				(long long)x);
	*out = (uint32_t)x;
	return 0;
}

static int get_bool(struct cfg_parse *p, const char *path, json_t *v, bool *out)
{
	if (!json_is_boolean(v))
		return cfg_fail(p, path, "expected true or false, got %s", cfg_type_name(v));
	*out = json_is_true(v);
	return 0;
}

int cfg_get_str(struct cfg_parse *p, const char *path, json_t *v, char *out, size_t cap)
{
	if (!json_is_string(v))
		return cfg_fail(p, path, "expected a string, got %s", cfg_type_name(v));
	if (json_string_length(v) >= cap)
		return cfg_fail(p, path, "longer than %zu characters", cap - 1);
	snprintf(out, cap, "%s", json_string_value(v));
	return 0;
}

int cfg_get_choice(struct cfg_parse *p, const char *path, json_t *v, const char *const *names,
		   const char *expected, int *out)
{
	char s[32], b[48];
	int rc = cfg_get_str(p, path, v, s, sizeof(s));
	if (rc)
		return cfg_fail(p, path, "expected %s, got %s", expected,
				json_is_string(v) ? cfg_shown(json_string_value(v), b, sizeof(b))
						  : cfg_type_name(v));
	for (int i = 0; names[i]; i++)
		if (!strcmp(s, names[i])) {
			*out = i;
			return 0;
		}
	return cfg_fail(p, path, "expected %s, got \"%s\"", expected, cfg_shown(s, b, sizeof(b)));
}

/* A route's or a registration's name, for logs, statistics and CDRs: not
 * empty, no control character. */
int cfg_get_name(struct cfg_parse *p, const char *path, json_t *v, char *out, size_t cap)
{
	char b[80];
	int rc = cfg_get_str(p, path, v, out, cap);
	if (rc)
		return rc;
	if (!out[0])
		return cfg_fail(p, path, "must not be empty");
	for (const char *q = out; *q; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			return cfg_fail(p, path, "control character in \"%s\"",
					cfg_shown(out, b, sizeof(b)));
	return 0;
}

static int get_allow(struct cfg_parse *p, const char *path, json_t *v, bool *allow)
{
	static const char *const names[] = {"deny", "allow", NULL};
	int i = 0;
	int rc = cfg_get_choice(p, path, v, names, "\"allow\" or \"deny\"", &i);
	*allow = i == 1;
	return rc;
}

/* A final status a policy answer may carry. 3xx is refused: a redirect needs
 * a Contact, and policy has none to give. */
static int get_status(struct cfg_parse *p, const char *path, json_t *v, uint32_t lo, int *out)
{
	uint32_t s = 0;
	int rc = cfg_get_uint(p, path, v, lo, 699, &s);
	if (rc)
		return rc;
	if (s >= 300 && s < 400)
		return cfg_fail(p, path,
				"a 3xx answer needs a Contact, which policy does not give; "
				"expected 2xx, 4xx, 5xx or 6xx, got %u",
				s);
	*out = (int)s;
	return 0;
}

/* ---- paths ---------------------------------------------------------------- */

static int get_path(struct cfg_parse *p, const char *path, json_t *v, char *out, size_t cap,
		    bool nullable)
{
	char b[80];
	if (nullable && json_is_null(v)) {
		out[0] = '\0';
		return 0;
	}
	if (!json_is_string(v))
		return cfg_fail(p, path, "expected an absolute path%s, got %s",
				nullable ? " or null" : "", cfg_type_name(v));
	const char *s = json_string_value(v);
	/* the daemon and sipshardctl may start in different directories */
	if (s[0] != '/')
		return cfg_fail(p, path, "expected an absolute path, got \"%s\"",
				cfg_shown(s, b, sizeof(b)));
	for (const char *q = s; *q; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			return cfg_fail(p, path, "control character in \"%s\"",
					cfg_shown(s, b, sizeof(b)));
	if (json_string_length(v) >= cap)
		return cfg_fail(p, path, "longer than %zu characters", cap - 1);
	snprintf(out, cap, "%s", s);
	/* "/run/x/" and "/run/x" are one directory; keep "/" itself */
	size_t n = strlen(out);
	while (n > 1 && out[n - 1] == '/')
		out[--n] = '\0';
	return 0;
}

/* ---- objects -------------------------------------------------------------- */

static void sub_path(char *out, size_t cap, const char *path, const char *key)
{
	char b[80];
	snprintf(out, cap, "%s%s%s", path, *path ? "." : "", cfg_shown(key, b, sizeof(b)));
}

int cfg_each_member(struct cfg_parse *p, const char *path, json_t *obj, member_fn fn, void *arg)
{
	const char *key;
	json_t *v;
	char sub[300];

	if (!json_is_object(obj))
		return cfg_fail(p, path, "expected an object, got %s", cfg_type_name(obj));
	json_object_foreach(obj, key, v)
	{
		sub_path(sub, sizeof(sub), path, key);
		int rc = fn(p, sub, key, v, arg);
		if (rc == -ENOENT)
			return cfg_fail(p, sub, "unknown key");
		if (rc)
			return rc;
	}
	return 0;
}

int cfg_each_element(struct cfg_parse *p, const char *path, json_t *arr, size_t max,
		     const char *what, element_fn fn)
{
	size_t i;
	json_t *v;
	char sub[300];

	if (!json_is_array(arr))
		return cfg_fail(p, path, "expected an array, got %s", cfg_type_name(arr));
	if (json_array_size(arr) > max)
		return cfg_fail(p, path, "at most %zu %s, got %zu", max, what,
				json_array_size(arr));
	json_array_foreach(arr, i, v)
	{
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		int rc = fn(p, sub, i, v);
		if (rc)
			return rc;
	}
	return 0;
}

/* Entry v at path (routes[i] or registrations[i]) has name, already the name
 * of what[j]. One that wrote no "name" has the default "routeN" or
 * "registrationN", which an earlier entry may have been given: the message
 * then names the entry, not a key the document does not have. */
int cfg_name_taken(struct cfg_parse *p, const char *path, json_t *v, const char *name,
		   const char *what, size_t j)
{
	char sub[320];
	if (!json_object_get(v, "name"))
		return cfg_fail(
		    p, path,
		    "its default name \"%s\" is already the name of %s[%zu]: give either "
		    "a \"name\"",
		    name, what, j);
	snprintf(sub, sizeof(sub), "%s.name", path);
	return cfg_fail(p, sub, "\"%s\" is already the name of %s[%zu]", name, what, j);
}

/* ---- sections ------------------------------------------------------------- */

static int capacity_member(struct cfg_parse *p, const char *path, const char *k, json_t *v,
			   void *arg)
{
	struct config *c = p->c;
	(void)arg;
	if (!strcmp(k, "dialogs_per_shard"))
		return cfg_get_uint(p, path, v, 16, 1u << 24, &c->capacity.dialogs_per_shard);
	if (!strcmp(k, "transactions_per_shard"))
		return cfg_get_uint(p, path, v, 16, 1u << 24, &c->capacity.transactions_per_shard);
	if (!strcmp(k, "setups"))
		return cfg_get_uint(p, path, v, 16, 1u << 20, &c->capacity.setups);
	if (!strcmp(k, "long_heads_per_shard")) {
		p->have_long_heads = true;
		return cfg_get_uint(p, path, v, 0, 1u << 24, &c->capacity.long_heads_per_shard);
	}
	return -ENOENT;
}

static int timers_member(struct cfg_parse *p, const char *path, const char *k, json_t *v, void *arg)
{
	struct config *c = p->c;
	(void)arg;
	if (!strcmp(k, "t1_ms"))
		return cfg_get_uint(p, path, v, 10, 60000, &c->timers.t1_ms);
	if (!strcmp(k, "t2_ms"))
		return cfg_get_uint(p, path, v, 10, 600000, &c->timers.t2_ms);
	if (!strcmp(k, "transaction_timeout_ms"))
		return cfg_get_uint(p, path, v, 100, 3600000, &c->timers.transaction_timeout_ms);
	if (!strcmp(k, "dialog_idle_s"))
		return cfg_get_uint(p, path, v, 0, 30 * 86400, &c->timers.dialog_idle_s);
	if (!strcmp(k, "dialog_max_s"))
		return cfg_get_uint(p, path, v, 0, 30 * 86400, &c->timers.dialog_max_s);
	if (!strcmp(k, "drain_s"))
		return cfg_get_uint(p, path, v, 0, 86400, &c->timers.drain_s);
	if (!strcmp(k, "no_answer_s"))
		return cfg_get_uint(p, path, v, 1, 86400, &c->timers.no_answer_s);
	if (!strcmp(k, "session_timer"))
		return get_bool(p, path, v, &c->timers.session_timer);
	if (!strcmp(k, "dialog_keepalive_s"))
		return cfg_get_uint(p, path, v, 0, 86400, &c->timers.dialog_keepalive_s);
	if (!strcmp(k, "dialog_keepalive_misses"))
		return cfg_get_uint(p, path, v, 1, 100, &c->timers.dialog_keepalive_misses);
	if (!strcmp(k, "min_se_s")) {
		if (json_is_integer(v) && json_integer_value(v) > 0 && json_integer_value(v) < 90)
			return cfg_fail(
			    p, path,
			    "expected 0 (none) or at least 90 (RFC 4028's smallest Min-SE), "
			    "got %" JSON_INTEGER_FORMAT,
			    json_integer_value(v));
		return cfg_get_uint(p, path, v, 0, 86400, &c->timers.min_se_s);
	}
	if (!strcmp(k, "session_expires_s")) {
		/* RFC 4028's smallest interval is 90 s: a callee refuses less */
		if (json_is_integer(v) && json_integer_value(v) > 0 && json_integer_value(v) < 90)
			return cfg_fail(
			    p, path,
			    "expected 0 (never) or at least 90 (RFC 4028's Min-SE), got "
			    "%" JSON_INTEGER_FORMAT,
			    json_integer_value(v));
		return cfg_get_uint(p, path, v, 0, 86400, &c->timers.session_expires_s);
	}
	return -ENOENT;
}

static int limits_member(struct cfg_parse *p, const char *path, const char *k, json_t *v, void *arg)
{
	struct config *c = p->c;
	(void)arg;
	if (!strcmp(k, "max_calls"))
		return cfg_get_uint(p, path, v, 1, INT32_MAX, &c->limits.max_calls);
	if (!strcmp(k, "calls_per_second_per_source"))
		return cfg_get_uint(p, path, v, 0, 1000000, &c->limits.calls_per_second_per_source);
	if (!strcmp(k, "burst"))
		return cfg_get_uint(p, path, v, 0, 1000000, &c->limits.burst);
	if (!strcmp(k, "retry_after_s"))
		return cfg_get_uint(p, path, v, 0, 3600, &c->limits.retry_after_s);
	if (!strcmp(k, "rate_sources"))
		return cfg_get_uint(p, path, v, 16, 1u << 20, &c->limits.rate_sources);
	return -ENOENT;
}

static int acl_rule_member(struct cfg_parse *p, const char *path, const char *k, json_t *v,
			   void *arg)
{
	struct config_acl_rule *r = arg;
	if (!strcmp(k, "cidr"))
		return cfg_get_cidr(p, path, v, &r->cidr);
	if (!strcmp(k, "action"))
		return get_allow(p, path, v, &r->allow);
	return -ENOENT;
}

static int acl_rule(struct cfg_parse *p, const char *path, size_t i, json_t *v)
{
	struct config_acl_rule *rule = &p->c->acl[i];
	memset(rule, 0, sizeof(*rule));
	int rc = cfg_each_member(p, path, v, acl_rule_member, rule);
	if (rc)
		return rc;
	if (!json_object_get(v, "action"))
		return cfg_fail(p, path, "missing \"action\"");
	if (!json_object_get(v, "cidr"))
		return cfg_fail(p, path, "missing \"cidr\"");
	p->c->nacl = (unsigned)i + 1;
	return 0;
}

static int acl_member(struct cfg_parse *p, const char *path, const char *k, json_t *v, void *arg)
{
	(void)arg;
	if (!strcmp(k, "default"))
		return get_allow(p, path, v, &p->c->acl_default_allow);
	if (!strcmp(k, "rules")) {
		p->c->nacl = 0;
		return cfg_each_element(p, path, v, CONFIG_MAX_ACL_RULES, "rules", acl_rule);
	}
	return -ENOENT;
}

/* Out-of-dialog methods: a SIP token in upper case. Methods are
 * case-sensitive on the wire (RFC 3261 7.1), so "register" would never match
 * anything and is refused rather than silently ignored. */
static int ood_member(struct cfg_parse *p, const char *path, const char *k, json_t *v, void *arg)
{
	struct config *c = p->c;
	(void)arg;
	if (!strcmp(k, "default"))
		return get_status(p, path, v, 200, &c->ood_default_status);
	if (!k[0] || strlen(k) >= sizeof(c->ood[0].method))
		return cfg_fail(p, path, "expected a method name of 1 to %zu characters",
				sizeof(c->ood[0].method) - 1);
	if (!sip_is_token(k, strlen(k)))
		return cfg_fail(p, path, "expected a method name (a SIP token)");
	for (const char *q = k; *q; q++)
		if (islower((unsigned char)*q))
			return cfg_fail(p, path,
					"expected a method name in upper case (SIP methods "
					"are case-sensitive)");
	if (!strcmp(k, "INVITE") || !strcmp(k, "ACK") || !strcmp(k, "CANCEL"))
		return cfg_fail(p, path, "not a method policy can answer");
	for (unsigned i = 0; i < c->nood; i++)
		if (!strcmp(c->ood[i].method, k))
			return get_status(p, path, v, 200, &c->ood[i].status);
	if (c->nood >= CONFIG_MAX_OOD)
		return cfg_fail(p, path, "at most %d methods (with the defaults)", CONFIG_MAX_OOD);
	snprintf(c->ood[c->nood].method, sizeof(c->ood[0].method), "%s", k);
	int rc = get_status(p, path, v, 200, &c->ood[c->nood].status);
	if (!rc)
		c->nood++;
	return rc;
}

/* Header fields sipshard needs on the messages it relays, which
 * strip_headers may not name (examples/CONFIG.md gives the reasons): those
 * it rewrites or adds on each leg (Via, From, To, Call-ID, CSeq,
 * Max-Forwards, Contact, Route, Record-Route, RAck, Event, Session-Expires,
 * Min-SE, Replaces, Join, a route's Authorization and Proxy-Authorization),
 * those it reads to keep a call's state or that carry a feature it relays
 * end to end (RSeq, Require, Supported, Refer-To, Subscription-State, the
 * challenges WWW-Authenticate and Proxy-Authenticate), and every Content-*
 * field: the body crosses, so what describes it must. */
static const uint64_t strip_refused_ids =
    SIP_HBIT(SIP_HDR_VIA) | SIP_HBIT(SIP_HDR_FROM) | SIP_HBIT(SIP_HDR_TO) |
    SIP_HBIT(SIP_HDR_CALL_ID) | SIP_HBIT(SIP_HDR_CSEQ) | SIP_HBIT(SIP_HDR_MAX_FORWARDS) |
    SIP_HBIT(SIP_HDR_CONTACT) | SIP_HBIT(SIP_HDR_ROUTE) | SIP_HBIT(SIP_HDR_RECORD_ROUTE) |
    SIP_HBIT(SIP_HDR_CONTENT_LENGTH) | SIP_HBIT(SIP_HDR_CONTENT_TYPE) |
    SIP_HBIT(SIP_HDR_CONTENT_ENCODING) | SIP_HBIT(SIP_HDR_RSEQ) | SIP_HBIT(SIP_HDR_RACK) |
    SIP_HBIT(SIP_HDR_EVENT) | SIP_HBIT(SIP_HDR_REFER_TO) | SIP_HBIT(SIP_HDR_REPLACES) |
    SIP_HBIT(SIP_HDR_JOIN) | SIP_HBIT(SIP_HDR_SESSION_EXPIRES) | SIP_HBIT(SIP_HDR_MIN_SE) |
    SIP_HBIT(SIP_HDR_REQUIRE) | SIP_HBIT(SIP_HDR_SUPPORTED) | SIP_HBIT(SIP_HDR_AUTHORIZATION) |
    SIP_HBIT(SIP_HDR_PROXY_AUTHORIZATION) | SIP_HBIT(SIP_HDR_WWW_AUTHENTICATE) |
    SIP_HBIT(SIP_HDR_PROXY_AUTHENTICATE);

static bool strip_refused(const char *name, size_t len, enum sip_hdr id)
{
	static const char subscription_state[] = "Subscription-State";
	if (id != SIP_HDR_OTHER)
		return (strip_refused_ids & SIP_HBIT(id)) != 0;
	return (len == sizeof(subscription_state) - 1 && !strcasecmp(name, subscription_state)) ||
	       (len >= 8 && !strncasecmp(name, "Content-", 8));
}

/* One entry of strip_headers: a header field name (RFC 3261 25.1: a token),
 * its long or compact form for a header sipshard knows, named once. */
static int strip_header(struct cfg_parse *p, const char *path, size_t i, json_t *v)
{
	struct config_strip *st = &p->c->strip_headers;
	char b[80];
	(void)i;

	if (!json_is_string(v))
		return cfg_fail(p, path, "expected a header name, got %s", cfg_type_name(v));
	const char *name = json_string_value(v);
	size_t len = json_string_length(v);
	if (!sip_is_token(name, len))
		return cfg_fail(p, path, "expected a header name (a SIP token), got \"%s\"",
				cfg_shown(name, b, sizeof(b)));
	if (len >= SIP_NAME_MAX)
		return cfg_fail(p, path, "longer than %d characters", SIP_NAME_MAX - 1);
	enum sip_hdr id = sip_hdr_lookup(name, len);
	if (strip_refused(name, len, id))
		return cfg_fail(p, path,
				"sipshard needs \"%s\" to relay calls: it cannot be stripped "
				"(examples/CONFIG.md, strip_headers)",
				name);
	for (unsigned k = 0; k < st->n; k++) {
		const char *w = st->written[k];
		if (id != SIP_HDR_OTHER ? sip_hdr_lookup(w, strlen(w)) == id : !strcasecmp(w, name))
			return cfg_fail(p, path,
					"\"%s\" is already named by strip_headers[%u] (\"%s\")",
					name, k, w);
	}
	memcpy(st->written[st->n], name, len + 1);
	st->n++;
	if (id != SIP_HDR_OTHER) {
		st->known |= SIP_HBIT(id);
		return 0;
	}
	/* cannot fail: the name is 1 to 63 bytes and the list as long as the key's */
	return sip_names_add(&st->other, name, len) == 0 ? 0 : cfg_fail(p, path, "too many names");
}

static int top_member(struct cfg_parse *p, const char *path, const char *k, json_t *v, void *arg)
{
	struct config *c = p->c;
	(void)arg;
	if (!strcmp(k, "listen")) {
		p->have_listen = true;
		return cfg_get_ipport(p, path, v, c->listen, sizeof(c->listen), &c->listen_addr,
				      &c->listen_addr_len);
	}
	if (!strcmp(k, "advertise")) {
		c->advertise[0] = '\0';
		p->have_advertise = !json_is_null(v);
		if (!p->have_advertise)
			return 0;
		return cfg_get_str(p, path, v, c->advertise, sizeof(c->advertise));
	}
	if (!strcmp(k, "workers"))
		return cfg_get_uint(p, path, v, 0, CONFIG_MAX_WORKERS, &c->workers);
	if (!strcmp(k, "bpf"))
		return get_bool(p, path, v, &c->bpf);
	if (!strcmp(k, "io_uring"))
		return get_bool(p, path, v, &c->io_uring);
	if (!strcmp(k, "persist_dialogs"))
		return get_bool(p, path, v, &c->persist_dialogs);
	if (!strcmp(k, "log_level")) {
		static const char *const names[] = {"error", "warn", "info", "debug", NULL};
		int i = 0;
		int rc = cfg_get_choice(p, path, v, names, "error, warn, info or debug", &i);
		if (!rc)
			snprintf(c->log_level, sizeof(c->log_level), "%s", names[i]);
		return rc;
	}
	if (!strcmp(k, "log_target")) {
		static const char *const names[] = {"stderr", "syslog", NULL};
		int i = 0;
		int rc = cfg_get_choice(p, path, v, names, "stderr or syslog", &i);
		if (!rc)
			c->log_to_syslog = i == 1;
		return rc;
	}
	if (!strcmp(k, "tx_buffer_size"))
		return cfg_get_uint(p, path, v, 1500, 65535, &c->tx_buffer_size);
	if (!strcmp(k, "management_socket")) {
		p->have_mgmt = true;
		return get_path(p, path, v, c->management_socket, sizeof(c->management_socket),
				true);
	}
	if (!strcmp(k, "run_dir"))
		return get_path(p, path, v, c->run_dir, sizeof(c->run_dir), false);
	if (!strcmp(k, "cdr_file"))
		return get_path(p, path, v, c->cdr_file, sizeof(c->cdr_file), true);
	if (!strcmp(k, "metrics_listen")) {
		c->metrics_listen[0] = '\0';
		if (json_is_null(v))
			return 0;
		return cfg_get_ipport(p, path, v, c->metrics_listen, sizeof(c->metrics_listen),
				      &c->metrics_addr, &c->metrics_addr_len);
	}
	if (!strcmp(k, "capacity"))
		return cfg_each_member(p, path, v, capacity_member, NULL);
	if (!strcmp(k, "timers"))
		return cfg_each_member(p, path, v, timers_member, NULL);
	if (!strcmp(k, "limits"))
		return cfg_each_member(p, path, v, limits_member, NULL);
	if (!strcmp(k, "acl"))
		return cfg_each_member(p, path, v, acl_member, NULL);
	if (!strcmp(k, "no_route_status"))
		return get_status(p, path, v, 400, &c->no_route_status);
	if (!strcmp(k, "dns_refresh_s"))
		return cfg_get_uint(p, path, v, 0, 86400, &c->dns_refresh_s);
	if (!strcmp(k, "out_of_dialog"))
		return cfg_each_member(p, path, v, ood_member, NULL);
	if (!strcmp(k, "strip_headers")) {
		memset(&c->strip_headers, 0, sizeof(c->strip_headers));
		return cfg_each_element(p, path, v, CONFIG_MAX_STRIP_HEADERS, "header names",
					strip_header);
	}
	if (!strcmp(k, "rewrite_refer_to"))
		return get_bool(p, path, v, &c->rewrite_refer_to);
	if (!strcmp(k, "registrations")) {
		c->nregistrations = 0;
		return cfg_each_element(p, path, v, CONFIG_MAX_REGISTRATIONS, "registrations",
					cfg_registration);
	}
	if (!strcmp(k, "routes")) {
		c->nroutes = 0;
		int rc = cfg_each_element(p, path, v, CONFIG_MAX_ROUTES, "routes", cfg_route);
		if (!rc && c->nroutes == 0)
			return cfg_fail(p, path, "at least one route is required");
		return rc;
	}
	return -ENOENT;
}

/* ---- the document as a whole -------------------------------------------- */

static uint16_t addr_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

/* What spans several keys, and values derived from others. */
static int finish(struct cfg_parse *p)
{
	struct config *c = p->c;
	char b[80], why[200];

	if (!p->have_listen &&
	    cfg_parse_ipport(c->listen, &c->listen_addr, &c->listen_addr_len, why, sizeof(why)))
		return cfg_fail(p, "listen", "%s", why);
	if (!c->nroutes)
		return cfg_fail(p, "routes", "at least one route is required");
	if (c->timers.t2_ms < c->timers.t1_ms)
		return cfg_fail(p, "timers.t2_ms", "must not be smaller than timers.t1_ms");
	/* a transaction holds one long head at most: more slots are never used */
	if (!p->have_long_heads)
		c->capacity.long_heads_per_shard = (c->capacity.transactions_per_shard + 63) / 64;
	else if (c->capacity.long_heads_per_shard > c->capacity.transactions_per_shard)
		return cfg_fail(
		    p, "capacity.long_heads_per_shard",
		    "must not exceed capacity.transactions_per_shard (%u): a transaction "
		    "keeps one long head at most",
		    c->capacity.transactions_per_shard);
	/* sipshard would ask the callee for what it refuses callers */
	if (c->timers.session_expires_s && c->timers.session_expires_s < c->timers.min_se_s)
		return cfg_fail(p, "timers.session_expires_s",
				"must not be smaller than timers.min_se_s (%u)",
				c->timers.min_se_s);

	/* advertise: what peers send to, so it must be a host they can reach and
	 * must be safe to paste into a header line */
	if (!p->have_advertise) {
		if (cfg_addr_is_wildcard(&c->listen_addr))
			return cfg_fail(p, "advertise",
					"required when listen is a wildcard address (\"%s\")",
					c->listen);
		snprintf(c->advertise, sizeof(c->advertise), "%s", c->listen);
	} else {
		const char *s = c->advertise, *port_s = NULL, *hend;
		char host[CONFIG_STR_MAX];
		uint16_t port;
		bool ok;
		if (s[0] == '[') {
			const char *close = strchr(s, ']');
			hend = close ? close + 1 : s;
			ok = close && (!close[1] || close[1] == ':');
		} else {
			/* a second colon means a bare IPv6 address: ambiguous */
			hend = strchr(s, ':');
			ok = !hend || !strchr(hend + 1, ':');
			if (!hend)
				hend = s + strlen(s);
		}
		if (ok && *hend == ':')
			port_s = hend + 1;
		ok = ok && cfg_normalize_host(s, (size_t)(hend - s), host, sizeof(host)) &&
		     (!port_s || cfg_parse_port(port_s, &port));
		if (!ok && s[0] == '[' && memchr(s, '%', (size_t)(hend - s)))
			return cfg_fail(p, "advertise",
					"\"%s\": scope ids (a link-local address with %%zone) are "
					"not supported; give a global or unique-local IPv6 address",
					cfg_shown(s, b, sizeof(b)));
		if (!ok)
			return cfg_fail(p, "advertise",
					"expected \"host\" or \"host:port\" (an IPv6 address in "
					"brackets), got \"%s\"",
					cfg_shown(s, b, sizeof(b)));
		/* it goes into Via, Contact and From for peers to send to: a
		 * wildcard there sends their responses and requests nowhere */
		struct in6_addr a6;
		if (!strcmp(host, "0.0.0.0") ||
		    (host[0] == '[' && sscanf(host, "[%45[^]]", b) == 1 &&
		     inet_pton(AF_INET6, b, &a6) == 1 && IN6_IS_ADDR_UNSPECIFIED(&a6)))
			return cfg_fail(
			    p, "advertise",
			    "\"%s\" is a wildcard address: peers cannot send to it (give "
			    "the address or name they reach this host at)",
			    host);
		if (!port_s) {
			/* without a port, peers would use 5060, whatever we listen on */
			size_t n = strlen(c->advertise);
			if (n + 7 > sizeof(c->advertise))
				return cfg_fail(p, "advertise", "too long to add the listen port");
			snprintf(c->advertise + n, sizeof(c->advertise) - n, ":%u",
				 addr_port(&c->listen_addr));
		}
	}

	/* route targets resolved, checked reachable (one UDP socket family per
	 * daemon) and made of SRV records; then the registrars */
	int rc = cfg_resolve_targets(p);
	if (rc)
		return rc;
	for (unsigned i = 0; i < c->nregistrations; i++) {
		struct config_registration *g = &c->registrations[i];
		struct config_target *ct = &g->registrar;
		char path[48], swhy[512];
		snprintf(path, sizeof(path), "registrations[%u].registrar", i);
		if (ct->domain[0]) {
			int n = cfg_srv_targets(c, NULL, ct, g->registrar_srv,
						CONFIG_MAX_REGISTRAR_SRV, swhy, sizeof(swhy));
			if (n < 0)
				return cfg_fail(p, path, "%s", swhy);
			g->nregistrar_srv = (unsigned)n;
			continue;
		}
		if (ct->by_name &&
		    cfg_resolve_name(c, ct, &ct->addr, &ct->addr_len, why, sizeof(why)))
			return cfg_fail(p, path, "%s", why);
		rc = cfg_reachable(p, path, "registrar", ct);
		if (rc)
			return rc;
	}

	if (!p->have_mgmt)
		return default_mgmt_socket(p, c);
	return 0;
}

static int load_json(struct config *out, json_t *root, char *err, size_t errlen)
{
	struct config *c = malloc(sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	struct cfg_parse p = {.c = c, .err = err, .errlen = errlen};
	config_defaults(c);
	int rc = cfg_each_member(&p, "", root, top_member, NULL);
	if (!rc)
		rc = finish(&p);
	if (!rc)
		memcpy(out, c, sizeof(*c));
	free(c);
	return rc;
}

/* The key of a secret: a document that holds it is not quoted in errors. */
static const char password_key[] = "\"password\"";

/* Whether the file at path holds needle (true when it cannot be read: the
 * caller then shows less, never more). */
static bool file_holds(const char *path, const char *needle)
{
	const size_t nl = strlen(needle);
	char buf[4096];
	size_t keep = 0;
	bool found = false;
	FILE *f = fopen(path, "r");
	if (!f)
		return true;
	for (;;) {
		size_t n = fread(buf + keep, 1, sizeof(buf) - keep, f);
		if (!n)
			break;
		n += keep;
		if (memmem(buf, n, needle, nl)) {
			found = true;
			break;
		}
		/* a needle cut by the buffer's end is found in the next round */
		keep = n < nl - 1 ? n : nl - 1;
		memmove(buf, buf + n - keep, keep);
	}
	fclose(f);
	return found;
}

/* jansson's syntax error ("PROBLEM near 'TEXT'"). TEXT is the document's
 * own bytes where the parse stopped: in a file with credentials they may be
 * the password (a raw backslash or tab in it, or no quotes), and the error
 * goes to the log, to sipshardctl reload and to --check-config, which never
 * show a password. Such a file's errors keep the problem, line and column
 * only. */
static const char *syntax_error(const json_error_t *je, bool secret, char *buf, size_t cap)
{
	const char *near = strstr(je->text, " near '");
	if (secret && near) {
		snprintf(buf, cap, "%.*s (the text there is not shown: the file holds a password)",
			 (int)(near - je->text), je->text);
		return buf;
	}
	/* TEXT may hold control bytes (a raw newline after a backslash): the
	 * error is one line of a log or of sipshardctl's answer, so they are
	 * written as \xHH */
	size_t n = 0;
	for (const char *t = je->text; *t && n + 5 < cap; t++) {
		unsigned char ch = (unsigned char)*t;
		if (ch < 0x20 || ch == 0x7f)
			n += (size_t)snprintf(buf + n, cap - n, "\\x%02x", ch);
		else
			buf[n++] = (char)ch;
	}
	buf[n] = '\0';
	return buf;
}

int config_load_string(struct config *c, const char *json, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		char text[JSON_ERROR_TEXT_LENGTH + 80];
		snprintf(err, errlen, "line %d, column %d: %s", je.line, je.column,
			 syntax_error(&je, strstr(json, password_key) != NULL, text, sizeof(text)));
		return -EINVAL;
	}
	int rc = load_json(c, root, err, errlen);
	json_decref(root);
	return rc;
}

/* The JSON document in the file at path, or NULL with why in err
 * ("FILE:LINE:COLUMN: problem"). On success err starts with "FILE: " for
 * what the caller finds wrong next, and *prefix is that prefix's length. */
static json_t *load_file_root(const char *path, char *err, size_t errlen, size_t *prefix)
{
	json_error_t je;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		if (je.line < 1) /* could not open or read; jansson names the file */
			snprintf(err, errlen, "%s: cannot read: %s", path, je.text);
		else {
			char text[JSON_ERROR_TEXT_LENGTH + 80];
			snprintf(
			    err, errlen, "%s:%d:%d: %s", path, je.line, je.column,
			    syntax_error(&je, file_holds(path, password_key), text, sizeof(text)));
		}
		return NULL;
	}
	int n = snprintf(err, errlen, "%s: ", path);
	*prefix = n < 0 || (size_t)n >= errlen ? 0 : (size_t)n;
	return root;
}

int config_management_socket(const char *path, char *out, size_t cap, char *err, size_t errlen)
{
	size_t n;
	json_t *root = load_file_root(path, err, errlen, &n);
	if (!root)
		return -EINVAL;
	struct config *c = malloc(sizeof(*c));
	if (!c) {
		json_decref(root);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	struct cfg_parse p = {.c = c, .err = err + n, .errlen = errlen - n};
	config_defaults(c);
	json_t *rd = json_object_get(root, "run_dir");
	json_t *ms = json_object_get(root, "management_socket");
	int rc = 0;
	if (!json_is_object(root))
		rc = cfg_fail(&p, "", "expected an object, got %s", cfg_type_name(root));
	if (!rc && rd)
		rc = get_path(&p, "run_dir", rd, c->run_dir, sizeof(c->run_dir), false);
	if (!rc && ms) {
		rc = get_path(&p, "management_socket", ms, c->management_socket,
			      sizeof(c->management_socket), true);
		if (!rc && !c->management_socket[0])
			rc = cfg_fail(&p, "management_socket",
				      "null: the daemon has no management socket");
	} else if (!rc) {
		rc = default_mgmt_socket(&p, c);
	}
	if (!rc) {
		snprintf(out, cap, "%s", c->management_socket);
		if (errlen)
			err[0] = '\0';
	}
	free(c);
	json_decref(root);
	return rc;
}

int config_load_file(struct config *c, const char *path, char *err, size_t errlen)
{
	size_t n;
	json_t *root = load_file_root(path, err, errlen, &n);
	if (!root)
		return -EINVAL;
	int rc = load_json(c, root, err + n, errlen - n);
	json_decref(root);
	if (!rc && errlen)
		err[0] = '\0';
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

/* ---- reload ------------------------------------------------------------- */

/* The keys a reload cannot change, each as the bytes that hold it (a config
 * is zeroed before it is filled, so whole fields compare with memcmp). */
#define RESTART_KEY(name, field)                                                                   \
	{                                                                                          \
		name, offsetof(struct config, field), sizeof(((struct config *)0)->field)          \
	}
static const struct restart_key {
	const char *name;
	size_t off, size;
} restart_keys[] = {
    RESTART_KEY("listen", listen),
    RESTART_KEY("listen", listen_addr),
    RESTART_KEY("listen", listen_addr_len),
    RESTART_KEY("advertise", advertise),
    RESTART_KEY("workers", workers),
    RESTART_KEY("bpf", bpf),
    RESTART_KEY("io_uring", io_uring),
    RESTART_KEY("log_target", log_to_syslog),
    RESTART_KEY("tx_buffer_size", tx_buffer_size),
    RESTART_KEY("management_socket", management_socket),
    RESTART_KEY("run_dir", run_dir),
    RESTART_KEY("persist_dialogs", persist_dialogs),
    RESTART_KEY("cdr_file", cdr_file),
    RESTART_KEY("metrics_listen", metrics_listen),
    RESTART_KEY("metrics_listen", metrics_addr),
    RESTART_KEY("metrics_listen", metrics_addr_len),
    RESTART_KEY("capacity.dialogs_per_shard", capacity.dialogs_per_shard),
    RESTART_KEY("capacity.transactions_per_shard", capacity.transactions_per_shard),
    RESTART_KEY("capacity.setups", capacity.setups),
    RESTART_KEY("capacity.long_heads_per_shard", capacity.long_heads_per_shard),
    RESTART_KEY("timers.t1_ms", timers.t1_ms),
    RESTART_KEY("timers.t2_ms", timers.t2_ms),
    RESTART_KEY("timers.transaction_timeout_ms", timers.transaction_timeout_ms),
    RESTART_KEY("timers.dialog_idle_s", timers.dialog_idle_s),
    RESTART_KEY("timers.dialog_max_s", timers.dialog_max_s),
    RESTART_KEY("timers.drain_s", timers.drain_s),
    RESTART_KEY("timers.no_answer_s", timers.no_answer_s),
    RESTART_KEY("timers.session_timer", timers.session_timer),
    RESTART_KEY("timers.session_expires_s", timers.session_expires_s),
    RESTART_KEY("timers.min_se_s", timers.min_se_s),
    RESTART_KEY("timers.dialog_keepalive_s", timers.dialog_keepalive_s),
    RESTART_KEY("timers.dialog_keepalive_misses", timers.dialog_keepalive_misses),
    RESTART_KEY("strip_headers", strip_headers),
    RESTART_KEY("rewrite_refer_to", rewrite_refer_to),
};
#undef RESTART_KEY

size_t config_restart_changes(const struct config *running, const struct config *next,
			      const char **names, size_t cap)
{
	const char *a = (const char *)running, *b = (const char *)next, *last = NULL;
	size_t n = 0;

	for (size_t i = 0; i < sizeof(restart_keys) / sizeof(restart_keys[0]); i++) {
		const struct restart_key *k = &restart_keys[i];
		/* one name per key, though a key may span several (adjacent) fields */
		if ((last && strcmp(last, k->name) == 0) ||
		    memcmp(a + k->off, b + k->off, k->size) == 0)
			continue;
		last = k->name;
		if (n < cap)
			names[n] = k->name;
		n++;
	}
	return n;
}

void config_keep_restart_keys(struct config *next, const struct config *running)
{
	for (size_t i = 0; i < sizeof(restart_keys) / sizeof(restart_keys[0]); i++) {
		const struct restart_key *k = &restart_keys[i];
		memcpy((char *)next + k->off, (const char *)running + k->off, k->size);
	}
}
