/*
 * config_dns.c - the targets and registrars written by name, resolved.
 *
 * Owns: at a load, each "name:port" looked up (the system's resolver:
 * /etc/hosts, then DNS), each name without a port made into the targets
 * its SRV records name (RFC 3263 4.2, RFC 2782), each target checked
 * reachable from listen (one UDP socket family per daemon) and named once
 * per route (cfg_resolve_targets, cfg_srv_targets); at a reload, the check
 * against the listen the process has (config_check_reachable); while
 * running, the names and SRV records looked up again (dns_refresh_s:
 * config_resolve_names, config_refresh_srv) and which targets then go into
 * service (config_in_service); the key of a target in the document
 * (cfg_target_path).
 * Does not own: what a target's text may be (config_addr.c), when to
 * refresh (sipshardd.c), the routes and registrations as written
 * (config_routes.c, config_registrations.c).
 */
#include <arpa/nameser.h>
#include <errno.h>
#include <netdb.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctl/config_int.h"
#include "net/udp.h"

/* The key of target t of route i, as the document has it. */
void cfg_target_path(const struct config *c, unsigned i, unsigned t, char *out, size_t cap)
{
	if (!c->routes[i].targets_array)
		snprintf(out, cap, "routes[%u].target", i);
	else
		snprintf(out, cap, "routes[%u].targets[%u]", i, t);
}

/* A dual-stack [::] listen reaches targets of either family; the IPv4
 * wildcard written IPv4-mapped ([::ffff:0.0.0.0], a wildcard too) only
 * IPv4 ones (listen_family). */
static bool listen_dual(const struct config *c)
{
	return c->listen_addr.ss_family == AF_INET6 &&
	       IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)&c->listen_addr)->sin6_addr);
}

/* The family of the targets listen reaches: its own, but for an
 * IPv4-mapped address ([::ffff:a.b.c.d]: a socket bound so, never
 * IPv6-only, talks to IPv4 peers alone), which reaches IPv4 ones, as a
 * target written so is held (udp_addr_unmap). */
static int listen_family(const struct config *c)
{
	struct sockaddr_in v4;
	if (udp_addr_unmap((const struct sockaddr *)&c->listen_addr, c->listen_addr_len, &v4))
		return AF_INET;
	return c->listen_addr.ss_family;
}

/* The first address the system's resolver (/etc/hosts, then DNS) gives
 * target ct's name in listen's family (either, for a dual-stack [::]), into
 * *addr; 0, or -EHOSTUNREACH with why. */
int cfg_resolve_name(const struct config *c, const struct config_target *ct,
		     struct sockaddr_storage *addr, socklen_t *len, char *why, size_t cap)
{
	char host[CONFIG_TARGET_MAX];
	bool dual = listen_dual(c);
	struct addrinfo hints = {.ai_family = dual ? AF_UNSPEC : listen_family(c),
				 .ai_socktype = SOCK_DGRAM};
	struct addrinfo *res = NULL;
	const char *colon = strrchr(ct->text, ':');

	memcpy(host, ct->text, (size_t)(colon - ct->text));
	host[colon - ct->text] = '\0';
	int rc = getaddrinfo(host, colon + 1, &hints, &res);
	if (rc != 0) {
		snprintf(why, cap, "\"%s\": %s has no %s address (%s)", ct->text, host,
			 dual				? "IPv4 or IPv6"
			 : listen_family(c) == AF_INET6 ? "IPv6"
							: "IPv4",
			 gai_strerror(rc));
		return -EHOSTUNREACH;
	}
	memset(addr, 0, sizeof(*addr));
	memcpy(addr, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	if (cfg_addr_is_wildcard(addr)) {
		snprintf(why, cap, "\"%s\" resolves to a wildcard address, not a destination",
			 ct->text);
		return -EHOSTUNREACH;
	}
	return 0;
}

/* One UDP socket family per daemon: an address of the other family could
 * never be reached, except from a dual-stack [::] socket. */
int cfg_reachable(struct cfg_parse *p, const char *path, const char *what,
		  const struct config_target *ct)
{
	const struct config *c = p->c;
	int family = ct->addr.ss_family;
	/* a name whose SRV records say "." has no address to reach (no_service) */
	if (ct->no_service || listen_dual(c) || family == listen_family(c))
		return 0;
	return cfg_fail(p, path, "an %s %s cannot be reached from listen \"%s\" (%s)",
			family == AF_INET6 ? "IPv6" : "IPv4", what, c->listen,
			listen_family(c) == AF_INET6 ? "IPv6" : "IPv4");
}

/* One SRV record (RFC 2782). */
struct srv_record {
	uint16_t priority, weight, port;
	bool too_long;			/* target did not fit: the record cannot be used */
	char target[CONFIG_TARGET_MAX]; /* as a target's "name:port" must fit */
};

/* Lower priorities first; of one priority the heavier first, then by name
 * and port, so that a load of the same records gives the same order. */
static int srv_record_order(const void *a, const void *b)
{
	const struct srv_record *x = a, *y = b;
	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	if (x->weight != y->weight)
		return x->weight > y->weight ? -1 : 1;
	int rc = strcmp(x->target, y->target);
	return rc ? rc : (int)x->port - (int)y->port;
}

/*
 * The SRV records of _sip._udp.DOMAIN (at most cap, in srv_record_order),
 * asked of the system's resolver (/etc/resolv.conf). Returns how many; 0
 * when the name has none (NXDOMAIN, or no SRV answer: RFC 3263 then takes
 * its A/AAAA at port 5060); -EAGAIN with why when no server answered.
 */
static int srv_lookup(const char *domain, struct srv_record *recs, unsigned cap, char *why,
		      size_t whycap)
{
	char qname[CONFIG_TARGET_MAX + 16];
	unsigned char answer[8192]; /* CONFIG_MAX_SRV_RECORDS records with long names */
	struct __res_state rs;
	ns_msg msg;
	int n = 0;

	snprintf(qname, sizeof(qname), "_sip._udp.%.*s", CONFIG_TARGET_MAX - 1, domain);
	memset(&rs, 0, sizeof(rs));
	if (res_ninit(&rs) != 0) {
		snprintf(why, whycap, "%s: the resolver could not be set up", qname);
		return -EAGAIN;
	}
	int len = res_nquery(&rs, qname, ns_c_in, ns_t_srv, answer, sizeof(answer));
	int herr = rs.res_h_errno;
	res_nclose(&rs);
	if (len < 0) {
		if (herr == HOST_NOT_FOUND || herr == NO_DATA)
			return 0;
		snprintf(why, whycap, "SRV lookup of %s failed (%s)", qname, hstrerror(herr));
		return -EAGAIN;
	}
	/* res_nquery gives the whole answer's length, which may exceed the buffer */
	if (len > (int)sizeof(answer) || ns_initparse(answer, len, &msg) != 0) {
		snprintf(why, whycap, "SRV lookup of %s: the answer cannot be read", qname);
		return -EAGAIN;
	}
	for (int i = 0; i < ns_msg_count(msg, ns_s_an) && (unsigned)n < cap; i++) {
		ns_rr rr;
		if (ns_parserr(&msg, ns_s_an, i, &rr) != 0)
			break;
		/* an answer may hold the CNAME that led to the records */
		if (ns_rr_type(rr) != ns_t_srv || ns_rr_rdlen(rr) < 7)
			continue;
		const unsigned char *rd = ns_rr_rdata(rr);
		struct srv_record *r = &recs[n];
		r->priority = ns_get16(rd);
		r->weight = ns_get16(rd + 2);
		r->port = ns_get16(rd + 4);
		r->too_long = dn_expand(ns_msg_base(msg), ns_msg_end(msg), rd + 6, r->target,
					sizeof(r->target)) < 0;
		if (r->too_long)
			r->target[0] = '\0';
		n++;
	}
	qsort(recs, (size_t)n, sizeof(*recs), srv_record_order);
	return n;
}

/* An address of route r (none when NULL) other than target `self` that is
 * addr already. */
static bool route_has_addr(const struct config_route *r, const struct config_target *self,
			   const struct sockaddr_storage *addr, socklen_t len)
{
	for (unsigned t = 0; r && t < r->ntargets; t++)
		if (&r->targets[t] != self && r->targets[t].addr_len == len &&
		    memcmp(&r->targets[t].addr, addr, len) == 0)
			return true;
	return false;
}

/*
 * The targets that the name written as target w of route r (NULL for a
 * registrar, or for a refresh, where config_in_service keeps one target per
 * address instead) stands for (RFC 3263 4.2), into out (at most room): one per SRV record of the
 * name whose target resolves (cfg_resolve_name) to an address the route has no target at yet, each
 * with w's limits, the record's priority and weight (of a priority whose records all weigh 0, each
 * 1: RFC 2782 shares them alike); with no SRV records, the name's own address at port 5060. "." (no
 * service) and names too long for a target are passed over. Returns how many, or -EHOSTUNREACH with
 * why; -ENOENT (why says so) when every record is "." (RFC 2782: the service is decidedly not
 * available at this domain).
 */
int cfg_srv_targets(const struct config *c, const struct config_route *r,
		    const struct config_target *w, struct config_target *out, unsigned room,
		    char *why, size_t whycap)
{
	struct srv_record recs[CONFIG_MAX_SRV_RECORDS];
	char skipped[CONFIG_TARGET_MAX + 160] = "";
	int nrec = srv_lookup(w->domain, recs, CONFIG_MAX_SRV_RECORDS, why, whycap);
	unsigned n = 0, dots = 0;

	if (nrec < 0)
		return -EHOSTUNREACH;
	if (nrec == 0) {
		out[0] = *w;
		if (snprintf(out[0].text, sizeof(out[0].text), "%.*s:5060",
			     (int)sizeof(out[0].text) - 1, w->domain) >= (int)sizeof(out[0].text)) {
			snprintf(why, whycap,
				 "no SRV records (_sip._udp.%s), and \"%s:5060\" is "
				 "longer than %zu bytes",
				 w->domain, w->domain, sizeof(out[0].text) - 1);
			return -EHOSTUNREACH;
		}
		out[0].by_name = true;
		char a[CONFIG_TARGET_MAX + 160];
		if (cfg_resolve_name(c, &out[0], &out[0].addr, &out[0].addr_len, a, sizeof(a)) !=
		    0) {
			snprintf(why, whycap, "no SRV records (_sip._udp.%s), and %s", w->domain,
				 a);
			return -EHOSTUNREACH;
		}
		return 1;
	}
	for (int i = 0; i < nrec && n < room; i++) {
		struct config_target *t = &out[n];
		*t = *w;
		if (!recs[i].too_long &&
		    (!strcmp(recs[i].target, ".") || !recs[i].target[0] || !recs[i].port)) {
			snprintf(skipped, sizeof(skipped), "_sip._udp.%s says no SIP over UDP",
				 w->domain);
			dots++;
			continue;
		}
		if (recs[i].too_long || snprintf(t->text, sizeof(t->text), "%s:%u", recs[i].target,
						 recs[i].port) >= (int)sizeof(t->text)) {
			snprintf(skipped, sizeof(skipped),
				 "a record's name and port are longer than %zu bytes",
				 sizeof(t->text) - 1);
			continue;
		}
		t->by_name = true;
		t->srv = true;
		t->srv_priority = recs[i].priority;
		t->weight = recs[i].weight;
		if (cfg_resolve_name(c, t, &t->addr, &t->addr_len, skipped, sizeof(skipped)) != 0)
			continue;
		bool dup = route_has_addr(r, w, &t->addr, t->addr_len);
		for (unsigned u = 0; u < n && !dup; u++)
			dup = out[u].addr_len == t->addr_len &&
			      memcmp(&out[u].addr, &t->addr, t->addr_len) == 0;
		if (!dup)
			n++;
	}
	if (!n) {
		snprintf(why, whycap, "no SRV record of _sip._udp.%s can be used%s%s", w->domain,
			 skipped[0] ? ": " : "", skipped);
		return dots == (unsigned)nrec ? -ENOENT : -EHOSTUNREACH;
	}
	/* a priority whose records all weigh 0 shares its calls alike */
	for (unsigned t = 0; t < n; t++) {
		bool all_zero = true;
		for (unsigned u = 0; u < n; u++)
			if (out[u].srv_priority == out[t].srv_priority && out[u].weight)
				all_zero = false;
		if (all_zero)
			out[t].weight = 1;
	}
	return (int)n;
}

/* The one entry that stands for named's domain while its SRV records all
 * say "." at a refresh (no_service): the name as its text, no address, so
 * that a route leaves it out of service and a registration sends nothing,
 * until a later refresh finds records again. */
static struct config_target no_service_entry(const struct config_target *named)
{
	struct config_target e = *named;
	e.by_name = e.srv = false;
	e.no_service = true;
	memcpy(e.text, e.domain, sizeof(e.text));
	memset(&e.addr, 0, sizeof(e.addr));
	e.addr_len = 0;
	return e;
}

/* Route i's targets written as names without a port made into the targets
 * their SRV records name (cfg_srv_targets), in place: targets after one move
 * on. A route holds CONFIG_MAX_TARGETS at most, so the records that would
 * come past that (the higher priorities, the lighter weights) are not
 * used; each name keeps room for the targets written after it. A refresh
 * (dns_refresh_s) leaves a record at the address of another target of the
 * route to config_in_service, and a name whose records all say "." there as
 * it is, marked no_service (the load refuses it). */
static int expand_srv_targets(struct cfg_parse *p, unsigned i, bool refresh)
{
	struct config_route *r = &p->c->routes[i];
	char path[48], why[512];
	unsigned written = 0;

	for (unsigned t = 0; t < r->ntargets; written++) {
		if (!r->targets[t].domain[0] || r->targets[t].by_name) {
			t++;
			continue;
		}
		struct config_target got[CONFIG_MAX_TARGETS];
		unsigned room = CONFIG_MAX_TARGETS - (r->ntargets - 1);
		cfg_target_path(p->c, i, written, path, sizeof(path));
		int n = cfg_srv_targets(p->c, refresh ? NULL : r, &r->targets[t], got, room, why,
					sizeof(why));
		if (n == -ENOENT && refresh) {
			got[0] = no_service_entry(&r->targets[t]);
			n = 1;
		}
		if (n < 0)
			return cfg_fail(p, path, "%s", why);
		memmove(&r->targets[t + (unsigned)n], &r->targets[t + 1],
			(r->ntargets - t - 1) * sizeof(r->targets[0]));
		memcpy(&r->targets[t], got, (unsigned)n * sizeof(got[0]));
		r->ntargets += (unsigned)n - 1;
		r->srv |= got[0].srv;
		t += (unsigned)n;
	}
	/* the targets are others than the ones written: a reload that finds
	 * other records is another route for the calls setting up */
	r->tag = cfg_route_tag(r);
	return 0;
}

/* Every target given by name gets its address (cfg_resolve_name), and must be
 * reachable from listen; then no route may name one address twice; then
 * names without a port become the targets of their SRV records
 * (expand_srv_targets). */
int cfg_resolve_targets(struct cfg_parse *p)
{
	struct config *c = p->c;
	char path[48], why[CONFIG_TARGET_MAX + 160], addr[UDP_ADDR_STRLEN];

	for (unsigned i = 0; i < c->nroutes; i++) {
		for (unsigned t = 0; t < c->routes[i].ntargets; t++) {
			struct config_target *ct = &c->routes[i].targets[t];
			cfg_target_path(c, i, t, path, sizeof(path));
			if (ct->by_name && cfg_resolve_name(c, ct, &ct->addr, &ct->addr_len, why,
							    sizeof(why)) != 0)
				return cfg_fail(p, path, "%s", why);
			/* here, while t is the target's index as written */
			if (!ct->domain[0] && cfg_reachable(p, path, "target", ct) != 0)
				return -EINVAL;
			if (ct->domain[0]) {
				/* no address until expand_srv_targets */
				for (unsigned u = 0; u < t; u++)
					if (!strcasecmp(c->routes[i].targets[u].domain, ct->domain))
						return cfg_fail(
						    p, path,
						    "\"%s\" is already target %u of this "
						    "route",
						    ct->text, u);
				continue;
			}
			for (unsigned u = 0; u < t; u++) {
				const struct config_target *cu = &c->routes[i].targets[u];
				if (cu->addr_len != ct->addr_len ||
				    memcmp(&cu->addr, &ct->addr, ct->addr_len) != 0)
					continue;
				if (!strcmp(cu->text, ct->text))
					return cfg_fail(p, path,
							"\"%s\" is already target %u of this route",
							ct->text, u);
				udp_format_addr((const struct sockaddr *)&ct->addr, addr,
						sizeof(addr));
				return cfg_fail(
				    p, path,
				    "\"%s\" is %s, already target %u of this route (\"%s\")",
				    ct->text, addr, u, cu->text);
			}
		}
		int rc = expand_srv_targets(p, i, false);
		if (rc)
			return rc;
	}
	return 0;
}

int config_check_reachable(const struct config *c, char *err, size_t errlen)
{
	struct cfg_parse p = {.c = (struct config *)c, .err = err, .errlen = errlen};
	char path[64];

	for (unsigned i = 0; i < c->nroutes; i++)
		for (unsigned t = 0; t < c->routes[i].ntargets; t++) {
			cfg_target_path(c, i, t, path, sizeof(path));
			if (cfg_reachable(&p, path, "target", &c->routes[i].targets[t]) != 0)
				return -EINVAL;
		}
	for (unsigned i = 0; i < c->nregistrations; i++) {
		const struct config_registration *g = &c->registrations[i];
		snprintf(path, sizeof(path), "registrations[%u].registrar", i);
		if (!g->nregistrar_srv && cfg_reachable(&p, path, "registrar", &g->registrar) != 0)
			return -EINVAL;
		for (unsigned t = 0; t < g->nregistrar_srv; t++)
			if (cfg_reachable(&p, path, "registrar", &g->registrar_srv[t]) != 0)
				return -EINVAL;
	}
	return 0;
}

/* ---- again, while running (dns_refresh_s) ------------------------------- */

/* One target or registrar given by name, resolved again (config_resolve_names). */
static void resolve_again(const struct config *c, struct config_target *ct,
			  const struct config_target **changed, size_t cap, int *n, char *err,
			  size_t errlen)
{
	char why[CONFIG_TARGET_MAX + 160];
	struct sockaddr_storage addr;
	socklen_t len;

	if (!ct->by_name)
		return;
	if (cfg_resolve_name(c, ct, &addr, &len, why, sizeof(why)) != 0) {
		if (errlen && !err[0])
			snprintf(err, errlen, "%s", why);
		return;
	}
	if (len == ct->addr_len && memcmp(&addr, &ct->addr, len) == 0)
		return;
	memcpy(&ct->addr, &addr, sizeof(addr));
	ct->addr_len = len;
	if ((size_t)*n < cap)
		changed[*n] = ct;
	(*n)++;
}

/* Route r's targets as written: each run of targets made from one name
 * without a port is that name again, not yet looked up. False when r has
 * no such name. */
static bool collapse_srv_targets(struct config_route *r)
{
	unsigned n = 0;
	bool any = false;

	for (unsigned t = 0; t < r->ntargets; t++) {
		const struct config_target *ct = &r->targets[t];
		struct config_target *prev = n ? &r->targets[n - 1] : NULL;
		if (ct->domain[0] && prev && !prev->by_name && !strcmp(prev->domain, ct->domain))
			continue; /* the same name's next record */
		struct config_target *w = &r->targets[n++];
		*w = *ct;
		if (!w->domain[0])
			continue;
		memcpy(w->text, w->domain, sizeof(w->text));
		w->by_name = w->srv = w->no_service = false;
		w->srv_priority = 0;
		w->weight = 1;
		memset(&w->addr, 0, sizeof(w->addr));
		w->addr_len = 0;
		any = true;
	}
	r->ntargets = n;
	r->srv = false;
	return any;
}

/* The same targets, in the same order, with the same addresses and shares. */
static bool same_targets(const struct config_target *a, unsigned na, const struct config_target *b,
			 unsigned nb)
{
	if (na != nb)
		return false;
	for (unsigned t = 0; t < na; t++) {
		const struct config_target *x = &a[t], *y = &b[t];
		if (strcmp(x->text, y->text) || x->weight != y->weight ||
		    x->srv_priority != y->srv_priority || x->addr_len != y->addr_len ||
		    memcmp(&x->addr, &y->addr, x->addr_len))
			return false;
	}
	return true;
}

static void note_srv_change(struct config_srv_change *changed, size_t cap, int *n, const char *kind,
			    const char *name, unsigned ntargets, const char *no_service)
{
	if ((size_t)*n < cap)
		changed[*n] = (struct config_srv_change){kind, name, ntargets, no_service};
	(*n)++;
}

int config_refresh_srv(struct config *c, struct config_srv_change *changed, size_t cap, char *err,
		       size_t errlen)
{
	struct config_route was;
	char why[512];
	struct cfg_parse p = {.c = c, .err = why, .errlen = sizeof(why)};
	int n = 0;

	if (errlen)
		err[0] = '\0';
	for (unsigned i = 0; i < c->nroutes; i++) {
		struct config_route *r = &c->routes[i];
		was = *r;
		if (!collapse_srv_targets(r))
			continue;
		int rc = expand_srv_targets(&p, i, true);
		if (rc == 0 && !same_targets(was.targets, was.ntargets, r->targets, r->ntargets)) {
			const char *none = NULL;
			unsigned in_service = 0;
			for (unsigned t = 0; t < r->ntargets; t++) {
				if (r->targets[t].no_service && !none)
					none = r->targets[t].domain;
				in_service += !r->targets[t].no_service;
			}
			note_srv_change(changed, cap, &n, "route", r->name, in_service, none);
			continue;
		}
		if (rc != 0 && errlen && !err[0])
			snprintf(err, errlen, "%s", why);
		*r = was; /* unchanged, or kept for want of an answer */
	}
	for (unsigned i = 0; i < c->nregistrations; i++) {
		struct config_registration *g = &c->registrations[i];
		struct config_target got[CONFIG_MAX_REGISTRAR_SRV];
		if (!g->registrar.domain[0])
			continue;
		int k = cfg_srv_targets(c, NULL, &g->registrar, got, CONFIG_MAX_REGISTRAR_SRV, why,
					sizeof(why));
		bool none = k == -ENOENT;
		if (none) {
			/* all "." (RFC 2782): one entry that stands for the name,
			 * as a route's target gets (expand_srv_targets), so that
			 * the attempts fail until records come back */
			got[0] = no_service_entry(&g->registrar);
			k = 1;
		}
		if (k < 0) {
			if (errlen && !err[0])
				snprintf(err, errlen, "registrations[%u].registrar: %s", i, why);
			continue;
		}
		if (same_targets(g->registrar_srv, g->nregistrar_srv, got, (unsigned)k))
			continue;
		memcpy(g->registrar_srv, got, (size_t)k * sizeof(got[0]));
		g->nregistrar_srv = (unsigned)k;
		note_srv_change(changed, cap, &n, "registration", g->name, none ? 0 : (unsigned)k,
				none ? g->registrar.domain : NULL);
	}
	return n;
}

int config_resolve_names(struct config *c, const struct config_target **changed, size_t cap,
			 char *err, size_t errlen)
{
	int n = 0;

	if (errlen)
		err[0] = '\0';
	for (unsigned i = 0; i < c->nroutes; i++)
		for (unsigned t = 0; t < c->routes[i].ntargets; t++)
			resolve_again(c, &c->routes[i].targets[t], changed, cap, &n, err, errlen);
	for (unsigned i = 0; i < c->nregistrations; i++)
		resolve_again(c, &c->registrations[i].registrar, changed, cap, &n, err, errlen);
	return n;
}

int config_in_service(const struct config *c, struct config *out, struct config_left_out *left,
		      size_t cap)
{
	int n = 0;

	memcpy(out, c, sizeof(*out));
	for (unsigned i = 0; i < out->nroutes; i++) {
		const struct config_route *from = &c->routes[i];
		struct config_route *r = &out->routes[i];
		const struct config_target *kept_from[CONFIG_MAX_TARGETS];
		unsigned kept = 0;
		r->srv = false;
		for (unsigned t = 0; t < from->ntargets; t++) {
			const struct config_target *ct = &from->targets[t], *same = NULL;
			for (unsigned u = 0; u < kept && !same && !ct->no_service; u++)
				if (kept_from[u]->addr_len == ct->addr_len &&
				    !memcmp(&kept_from[u]->addr, &ct->addr, ct->addr_len))
					same = kept_from[u];
			if (ct->no_service || same) {
				if ((size_t)n < cap)
					left[n] = (struct config_left_out){from, ct, same};
				n++;
				continue;
			}
			kept_from[kept] = ct;
			r->targets[kept++] = *ct;
			r->srv |= ct->srv;
		}
		if (kept == from->ntargets)
			continue;
		r->ntargets = kept;
		r->tag = cfg_route_tag(r);
	}
	return n;
}
