/*
 * config_print.c - the effective configuration as JSON: every key, the
 * defaults filled in, in a document config_load_string turns into the same
 * configuration (config_to_object: sipshardctl config; config_to_json:
 * sipshardd --check-config).
 *
 * Owns: how each value is written back: a route's targets as written (a
 * name without a port once, not the targets its SRV records made), a
 * target as "IP:port" or as an object when it has a limit or a weight,
 * credentials without their password.
 * Does not own: reading or checking the values (config.c and the
 * config_*.c files beside it).
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "ctl/config.h"

static json_t *cidr_json(const struct config_cidr *cidr)
{
	char ip[INET6_ADDRSTRLEN], s[INET6_ADDRSTRLEN + 8];
	inet_ntop(cidr->family, cidr->addr, ip, sizeof(ip));
	snprintf(s, sizeof(s), "%s/%u", ip, cidr->prefix);
	return json_string(s);
}

static json_t *str_or_null(const char *s)
{
	return s[0] ? json_string(s) : json_null();
}

/* Credentials as printed: the password never (it would end up in logs). */
static json_t *auth_json(const struct config_auth *a)
{
	if (!a->username[0])
		return json_null();
	json_t *realm = NULL;
	if (a->nrealms == 1)
		realm = json_string(a->realm[0]);
	else if (a->nrealms > 1) {
		realm = json_array();
		for (uint32_t i = 0; i < a->nrealms; i++)
			json_array_append_new(realm, json_string(a->realm[i]));
	}
	return json_pack("{s:s, s:s, s:o?}", "username", a->username, "password", "(set)", "realm",
			 realm);
}

/* "IP:port", or the object form when the target has a limit or a weight. */
static json_t *target_json(const struct config_target *t)
{
	/* a target made from a name without a port prints as the name */
	const char *written = t->domain[0] ? t->domain : t->text;
	uint32_t weight = t->domain[0] ? 1 : t->weight;
	if (!t->max_calls && !t->max_cps && weight == 1)
		return json_string(written);
	json_t *o = json_object();
	json_object_set_new(o, "address", json_string(written));
	json_object_set_new(o, "max_calls", json_integer(t->max_calls));
	json_object_set_new(o, "max_cps", json_integer(t->max_cps));
	json_object_set_new(o, "weight", json_integer(weight));
	return o;
}

/* json_object_set_new on a NULL object or value fails cleanly (and frees the
 * value), so out-of-memory anywhere shows up as a NULL from json_dumps. */
json_t *config_to_object(const struct config *c)
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
	json_object_set_new(o, "log_target", json_string(c->log_to_syslog ? "syslog" : "stderr"));
	json_object_set_new(o, "tx_buffer_size", json_integer(c->tx_buffer_size));
	json_object_set_new(o, "management_socket", str_or_null(c->management_socket));
	json_object_set_new(o, "run_dir", json_string(c->run_dir));
	json_object_set_new(o, "persist_dialogs", json_boolean(c->persist_dialogs));
	json_object_set_new(o, "cdr_file", str_or_null(c->cdr_file));
	json_object_set_new(o, "metrics_listen", str_or_null(c->metrics_listen));
	json_object_set_new(cap, "dialogs_per_shard", json_integer(c->capacity.dialogs_per_shard));
	json_object_set_new(cap, "transactions_per_shard",
			    json_integer(c->capacity.transactions_per_shard));
	json_object_set_new(cap, "setups", json_integer(c->capacity.setups));
	json_object_set_new(cap, "long_heads_per_shard",
			    json_integer(c->capacity.long_heads_per_shard));
	json_object_set_new(o, "capacity", cap);
	json_object_set_new(tm, "t1_ms", json_integer(c->timers.t1_ms));
	json_object_set_new(tm, "t2_ms", json_integer(c->timers.t2_ms));
	json_object_set_new(tm, "transaction_timeout_ms",
			    json_integer(c->timers.transaction_timeout_ms));
	json_object_set_new(tm, "dialog_idle_s", json_integer(c->timers.dialog_idle_s));
	json_object_set_new(tm, "dialog_max_s", json_integer(c->timers.dialog_max_s));
	json_object_set_new(tm, "drain_s", json_integer(c->timers.drain_s));
	json_object_set_new(tm, "no_answer_s", json_integer(c->timers.no_answer_s));
	json_object_set_new(tm, "session_timer", json_boolean(c->timers.session_timer));
	json_object_set_new(tm, "dialog_keepalive_s", json_integer(c->timers.dialog_keepalive_s));
	json_object_set_new(tm, "dialog_keepalive_misses",
			    json_integer(c->timers.dialog_keepalive_misses));
	json_object_set_new(tm, "session_expires_s", json_integer(c->timers.session_expires_s));
	json_object_set_new(tm, "min_se_s", json_integer(c->timers.min_se_s));
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
		json_object_set_new(m, "domain", str_or_null(r->domain));
		json_object_set_new(m, "source",
				    r->has_source ? cidr_json(&r->source) : json_null());
		json_object_set_new(ro, "match", m);
		/* as written: the targets of one name without a port are the name,
		 * once (sipshardctl targets and the log show what it became) */
		json_t *ts = json_array();
		for (unsigned t = 0; t < r->ntargets; t++)
			if (!r->targets[t].domain[0] || t == 0 ||
			    strcmp(r->targets[t - 1].domain, r->targets[t].domain))
				json_array_append_new(ts, target_json(&r->targets[t]));
		if (!r->targets_array && json_array_size(ts)) {
			json_object_set(ro, "target", json_array_get(ts, 0));
			json_decref(ts);
		} else { /* (none: a route config_in_service left without any) */
			json_object_set_new(ro, "targets", ts);
		}
		json_t *fo = json_array();
		for (unsigned f = 0; f < r->nfailover; f++)
			json_array_append_new(fo, json_integer(r->failover_on[f]));
		json_object_set_new(ro, "failover_on", fo);
		json_object_set_new(ro, "failover_ms", json_integer(r->failover_ms));
		json_object_set_new(ro, "down_s", json_integer(r->down_s));
		json_object_set_new(ro, "probe_s", json_integer(r->probe_s));
		json_object_set_new(ro, "keepalive_s", json_integer(r->keepalive_s));
		json_object_set_new(ro, "select",
				    json_string(r->round_robin ? "round_robin" : "order"));
		json_object_set_new(ro, "rewrite",
				    json_pack("{s:i, s:s}", "strip", (int)r->rewrite_strip,
					      "prefix", r->rewrite_prefix));
		json_object_set_new(ro, "auth", auth_json(&r->auth));
		json_array_append_new(routes, ro);
	}
	json_object_set_new(o, "routes", routes);
	json_t *regs = json_array();
	for (unsigned i = 0; i < c->nregistrations; i++) {
		const struct config_registration *g = &c->registrations[i];
		json_t *ro = json_object();
		json_object_set_new(ro, "name", json_string(g->name));
		json_object_set_new(ro, "registrar", json_string(g->registrar.text));
		json_object_set_new(ro, "aor", json_string(g->aor));
		json_object_set_new(ro, "auth", auth_json(&g->auth));
		json_object_set_new(ro, "expires_s", json_integer(g->expires_s));
		json_object_set_new(ro, "retry_s", json_integer(g->retry_s));
		json_array_append_new(regs, ro);
	}
	json_object_set_new(o, "registrations", regs);
	json_object_set_new(o, "no_route_status", json_integer(c->no_route_status));
	json_object_set_new(o, "dns_refresh_s", json_integer(c->dns_refresh_s));
	for (unsigned i = 0; i < c->nood; i++)
		json_object_set_new(ood, c->ood[i].method, json_integer(c->ood[i].status));
	json_object_set_new(ood, "default", json_integer(c->ood_default_status));
	json_object_set_new(o, "out_of_dialog", ood);
	json_t *strip = json_array();
	for (unsigned i = 0; i < c->strip_headers.n; i++)
		json_array_append_new(strip, json_string(c->strip_headers.written[i]));
	json_object_set_new(o, "strip_headers", strip);
	json_object_set_new(o, "rewrite_refer_to", json_boolean(c->rewrite_refer_to));
	return o;
}

char *config_to_json(const struct config *c)
{
	json_t *o = config_to_object(c);
	char *s = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	return s;
}
