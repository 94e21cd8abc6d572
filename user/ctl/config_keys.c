/*
 * config_keys.c - the top level of the document, and the keys that hold
 * for the whole daemon.
 *
 * Owns: which reader each top-level key goes to (cfg_top_member); listen,
 * advertise, workers and the other single values, capacity, timers,
 * limits, acl, no_route_status, out_of_dialog, strip_headers (and which
 * header fields it may not name).
 * Does not own: routes (config_routes.c), registrations
 * (config_registrations.c), what spans several keys and the values derived
 * from others (finish: config.c).
 */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ctl/config_int.h"

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
		return cfg_get_bool(p, path, v, &c->timers.session_timer);
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

int cfg_top_member(struct cfg_parse *p, const char *path, const char *k, json_t *v, void *arg)
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
		return cfg_get_bool(p, path, v, &c->bpf);
	if (!strcmp(k, "io_uring"))
		return cfg_get_bool(p, path, v, &c->io_uring);
	if (!strcmp(k, "persist_dialogs"))
		return cfg_get_bool(p, path, v, &c->persist_dialogs);
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
		return cfg_get_path(p, path, v, c->management_socket, sizeof(c->management_socket),
				    true);
	}
	if (!strcmp(k, "run_dir"))
		return cfg_get_path(p, path, v, c->run_dir, sizeof(c->run_dir), false);
	if (!strcmp(k, "cdr_file"))
		return cfg_get_path(p, path, v, c->cdr_file, sizeof(c->cdr_file), true);
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
		return cfg_get_bool(p, path, v, &c->rewrite_refer_to);
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
