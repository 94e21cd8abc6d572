/*
 * config_addr.c - addresses as an operator writes them.
 *
 * Owns: a port, "IP:port" and "[IPv6]:port" (listen, metrics_listen), a
 * SIP host (routes[].match.domain, advertise), a CIDR
 * (config_parse_cidr, config_cidr_match: acl.rules[].cidr,
 * routes[].match.source and policy's), a target's address (a route's
 * target or a registrar: "IP:port", "name:port", or a name alone for its
 * SRV records), and which target an operator's text names, in one spelling
 * (config_target_named, config_target_canonical).
 * Does not own: looking names up (config_dns.c), the keys that hold these
 * values (config_keys.c, config_routes.c, config_registrations.c).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "ctl/config_int.h"
#include "net/udp.h"

/* Port: 1 to 5 digits, 1-65535, nothing else (strtol would take "+5" or " 5"). */
bool cfg_parse_port(const char *s, uint16_t *out)
{
	uint32_t v = 0;
	size_t n = 0;
	for (; s[n]; n++) {
		if (!isdigit((unsigned char)s[n]) || n >= 5)
			return false;
		v = v * 10 + (uint32_t)(s[n] - '0');
	}
	if (n == 0 || v == 0 || v > 65535)
		return false;
	*out = (uint16_t)v;
	return true;
}

/* "IPv4:port" or "[IPv6]:port", numeric only (a target may also be
 * "name:port": cfg_target_address). */
int cfg_parse_ipport(const char *s, struct sockaddr_storage *ss, socklen_t *len, char *why,
		     size_t cap)
{
	char host[64], b[80];
	const char *port_s;
	size_t hlen;
	uint16_t port;

	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':') {
			snprintf(why, cap, "expected \"[IPv6]:port\", got \"%s\"",
				 cfg_shown(s, b, sizeof(b)));
			return -EINVAL;
		}
		hlen = (size_t)(close - s - 1);
		port_s = close + 2;
		if (hlen >= sizeof(host))
			hlen = sizeof(host) - 1;
		memcpy(host, s + 1, hlen);
		host[hlen] = '\0';
		/* no zone is parsed (no sin6_scope_id kept): "not a numeric
		 * address" sent operators looking at a numeric one */
		if (strchr(host, '%')) {
			snprintf(why, cap,
				 "\"%s\": scope ids (a link-local address with %%zone) are not "
				 "supported; give a global or unique-local IPv6 address",
				 cfg_shown(host, b, sizeof(b)));
			return -EINVAL;
		}
		if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)ss)->sin6_addr) != 1) {
			snprintf(why, cap, "\"%s\" is not a numeric IPv6 address",
				 cfg_shown(host, b, sizeof(b)));
			return -EINVAL;
		}
		ss->ss_family = AF_INET6;
		*len = sizeof(struct sockaddr_in6);
	} else {
		const char *colon = strrchr(s, ':');
		if (!colon) {
			snprintf(why, cap, "expected \"IP:port\", got \"%s\"",
				 cfg_shown(s, b, sizeof(b)));
			return -EINVAL;
		}
		hlen = (size_t)(colon - s);
		port_s = colon + 1;
		if (memchr(s, ':', hlen)) {
			snprintf(why, cap,
				 "an IPv6 address needs brackets: expected \"[IPv6]:port\", "
				 "got \"%s\"",
				 cfg_shown(s, b, sizeof(b)));
			return -EINVAL;
		}
		if (hlen >= sizeof(host))
			hlen = sizeof(host) - 1;
		memcpy(host, s, hlen);
		host[hlen] = '\0';
		if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) != 1) {
			snprintf(why, cap, "\"%s\" is not a numeric IPv4 or IPv6 address",
				 cfg_shown(host, b, sizeof(b)));
			return -EINVAL;
		}
		ss->ss_family = AF_INET;
		*len = sizeof(struct sockaddr_in);
	}
	if (!cfg_parse_port(port_s, &port)) {
		snprintf(why, cap, "port must be 1-65535 in \"%s\"", cfg_shown(s, b, sizeof(b)));
		return -EINVAL;
	}
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
	return 0;
}

/* Tested as the address unmapped (udp_addr_unmap), as the workers take a
 * peer: [::ffff:0.0.0.0] is the IPv4 wildcard too, which a socket bound to
 * it takes IPv4 datagrams to any address of this host at, and which, as a
 * destination, is 0.0.0.0: this host, not a peer. */
bool cfg_addr_is_wildcard(const struct sockaddr_storage *ss)
{
	struct sockaddr_in v4;

	if (udp_addr_unmap((const struct sockaddr *)ss, sizeof(*ss), &v4))
		return v4.sin_addr.s_addr == htonl(INADDR_ANY);
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

bool cfg_host_is_wildcard(const char *host)
{
	struct sockaddr_storage ss = {0};
	char ip[64];
	size_t n = strlen(host);

	if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof(ip)) {
		memcpy(ip, host + 1, n - 2);
		ip[n - 2] = '\0';
		ss.ss_family = AF_INET6;
		return inet_pton(AF_INET6, ip, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1 &&
		       cfg_addr_is_wildcard(&ss);
	}
	ss.ss_family = AF_INET;
	return inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) == 1 &&
	       cfg_addr_is_wildcard(&ss);
}

int cfg_get_ipport(struct cfg_parse *p, const char *path, json_t *v, char *str, size_t cap,
		   struct sockaddr_storage *addr, socklen_t *len)
{
	char why[200];
	int rc = cfg_get_str(p, path, v, str, cap);
	if (rc)
		return rc;
	if (cfg_parse_ipport(str, addr, len, why, sizeof(why)) != 0)
		return cfg_fail(p, path, "%s", why);
	return 0;
}

/* A DNS name: dot-separated labels of letters, digits and inner hyphens. */
static bool is_hostname(const char *s, size_t n)
{
	size_t label = 0;
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
		} else if (isalnum(ch) || ch == '-') {
			if (label == 0 && ch == '-')
				return false;
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return label > 0 && s[n - 1] != '-';
}

/* A SIP host as it appears in a URI: name, IPv4 or [IPv6]. A bare IPv6
 * address is accepted and put in brackets, as a Request-URI carries it. */
bool cfg_normalize_host(const char *s, size_t n, char *out, size_t cap)
{
	char tmp[64];
	struct in6_addr a6;

	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		if (n - 2 >= sizeof(tmp))
			return false;
		memcpy(tmp, s + 1, n - 2);
		tmp[n - 2] = '\0';
		if (inet_pton(AF_INET6, tmp, &a6) != 1 || n >= cap)
			return false;
		memcpy(out, s, n);
		out[n] = '\0';
		return true;
	}
	if (n < sizeof(tmp) && memchr(s, ':', n)) {
		memcpy(tmp, s, n);
		tmp[n] = '\0';
		if (inet_pton(AF_INET6, tmp, &a6) != 1 || n + 2 >= cap)
			return false;
		snprintf(out, cap, "[%s]", tmp);
		return true;
	}
	if (!is_hostname(s, n) || n >= cap)
		return false;
	/* a name whose last label is all digits can only be an IPv4 address
	 * (no top-level domain is numeric): "10.0.0.300" is a typo, not a name */
	size_t last = n;
	while (last > 0 && s[last - 1] != '.')
		last--;
	bool numeric = true;
	for (size_t i = last; i < n; i++)
		numeric = numeric && isdigit((unsigned char)s[i]);
	if (numeric) {
		struct in_addr a4;
		memcpy(tmp, s, n < sizeof(tmp) ? n : sizeof(tmp) - 1);
		tmp[n < sizeof(tmp) ? n : sizeof(tmp) - 1] = '\0';
		if (n >= sizeof(tmp) || inet_pton(AF_INET, tmp, &a4) != 1)
			return false;
	}
	memcpy(out, s, n);
	out[n] = '\0';
	return true;
}

/* ---- CIDR ----------------------------------------------------------------- */

int config_parse_cidr(const char *s, struct config_cidr *out)
{
	char ip[64];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	unsigned prefix = 0;

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
	unsigned max = out->family == AF_INET ? 32 : 128;
	if (slash) {
		const char *d = slash + 1;
		size_t nd = strlen(d);
		if (nd == 0 || nd > 3 || (nd > 1 && d[0] == '0'))
			return -EINVAL;
		for (size_t i = 0; i < nd; i++) {
			if (!isdigit((unsigned char)d[i]))
				return -EINVAL;
			prefix = prefix * 10 + (unsigned)(d[i] - '0');
		}
		if (prefix > max)
			return -EINVAL;
	} else {
		prefix = max;
	}
	out->prefix = (uint8_t)prefix;
	/* host bits set usually means a typo in the address or the length */
	unsigned len = max / 8;
	for (unsigned bit = prefix; bit < len * 8; bit++)
		if (out->addr[bit / 8] & (0x80u >> (bit % 8)))
			return -ERANGE;
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
			static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0,    0,
							     0, 0, 0, 0, 0xff, 0xff};
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

int cfg_get_cidr(struct cfg_parse *p, const char *path, json_t *v, struct config_cidr *out)
{
	char s[80], b[80];
	if (!json_is_string(v))
		return cfg_fail(p, path,
				"expected a CIDR such as \"10.0.0.0/8\" or \"::1/128\", got %s",
				cfg_type_name(v));
	int rc = json_string_length(v) < sizeof(s) ? 0 : -EINVAL;
	if (!rc) {
		snprintf(s, sizeof(s), "%s", json_string_value(v));
		rc = config_parse_cidr(s, out);
	}
	if (rc == -ERANGE) {
		char ip[INET6_ADDRSTRLEN];
		struct config_cidr net = *out;
		unsigned max = net.family == AF_INET ? 32 : 128;
		for (unsigned bit = net.prefix; bit < max; bit++)
			net.addr[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
		inet_ntop(net.family, net.addr, ip, sizeof(ip));
		return cfg_fail(p, path, "host bits set in \"%s\" (the network is %s/%u)", s, ip,
				net.prefix);
	}
	if (rc)
		return cfg_fail(p, path,
				"expected a CIDR such as \"10.0.0.0/8\" or \"::1/128\", got \"%s\"",
				cfg_shown(json_string_value(v), b, sizeof(b)));
	return 0;
}

/* ---- targets ------------------------------------------------------------ */

/* "name:port" with a DNS name: the name in host, and whether the port is
 * 1-65535 in *port_ok. */
static bool name_and_port(const char *s, char *host, size_t cap, bool *port_ok)
{
	const char *colon = strrchr(s, ':');
	uint16_t port;
	if (!colon || (size_t)(colon - s) >= cap || !is_hostname(s, (size_t)(colon - s)))
		return false;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	*port_ok = cfg_parse_port(colon + 1, &port);
	/* all digits and dots: a mistyped IPv4 address, not a name */
	return strspn(host, "0123456789.") != strlen(host);
}

/* A name without a port, not a mistyped IPv4 address: its SRV records say
 * where its SIP servers are (RFC 3263 4.2). */
static bool is_srv_domain(const char *s)
{
	size_t n = strlen(s);
	return !strchr(s, ':') && is_hostname(s, n) && strspn(s, "0123456789.") != n;
}

/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d) in *a made the IPv4 one it
 * stands for, as the workers take such a peer (udp_addr_unmap): a target
 * written so is the host whose answers come from a.b.c.d, and a socket
 * bound to IPv4 can send to it only so. */
static void addr_unmap(struct sockaddr_storage *a, socklen_t *len)
{
	struct sockaddr_in v4;
	if (udp_addr_unmap((const struct sockaddr *)a, *len, &v4)) {
		memset(a, 0, sizeof(*a));
		memcpy(a, &v4, sizeof(v4));
		*len = sizeof(v4);
	}
}

/* A target's address: numeric, or a host name that cfg_resolve_targets resolves
 * once listen is known (a route target's name without a port: its SRV
 * records); not a wildcard. */
int cfg_target_address(struct cfg_parse *p, const char *path, json_t *v, struct config_target *t)
{
	char why[200], host[CONFIG_TARGET_MAX], b[80];
	bool port_ok = false;
	int rc = cfg_get_str(p, path, v, t->text, sizeof(t->text));
	if (rc)
		return rc;
	if (cfg_parse_ipport(t->text, &t->addr, &t->addr_len, why, sizeof(why)) != 0) {
		if (is_srv_domain(t->text)) {
			/* made into its SRV records' targets once listen is known */
			memcpy(t->domain, t->text, sizeof(t->domain));
			return 0;
		}
		if (!name_and_port(t->text, host, sizeof(host), &port_ok))
			return cfg_fail(p, path, "%s", why);
		if (!port_ok)
			return cfg_fail(p, path, "port must be 1-65535 in \"%s\"",
					cfg_shown(t->text, b, sizeof(b)));
		t->by_name = true;
		return 0;
	}
	/* unmapped first: [::ffff:0.0.0.0] is 0.0.0.0, this host, as the
	 * workers would send to it */
	addr_unmap(&t->addr, &t->addr_len);
	if (cfg_addr_is_wildcard(&t->addr))
		return cfg_fail(p, path, "\"%s\" is a wildcard address, not a destination",
				t->text);
	return 0;
}

/* Name text ("name:port", or a name alone) into out in one spelling: in
 * lower case (RFC 4343; no trailing dot: is_hostname refuses one) and its
 * port, if any, as a number. False when that does not fit in cap bytes
 * (out then holds as much as fits): text an operator wrote may be of any
 * length, and a cut spelling would compare equal to a shorter one. */
static bool canonical_name(const char *text, bool with_port, char *out, size_t cap)
{
	const char *colon = with_port ? strrchr(text, ':') : NULL;
	size_t n = colon ? (size_t)(colon - text) : strlen(text), i;
	uint16_t port = 0;
	int w = 0;

	if (!cap)
		return false;
	for (i = 0; i < n && i + 1 < cap; i++)
		out[i] = (char)tolower((unsigned char)text[i]);
	out[i] = '\0';
	if (colon && cfg_parse_port(colon + 1, &port))
		w = snprintf(out + i, cap - i, ":%u", port);
	else if (colon)
		w = snprintf(out + i, cap - i, "%s", colon);
	return i == n && w >= 0 && (size_t)w < cap - i;
}

bool config_target_named(const struct config_target *t, const char *text)
{
	struct sockaddr_storage a;
	socklen_t len;
	char why[200], want[CONFIG_TARGET_MAX], have[CONFIG_TARGET_MAX];

	if (!strcmp(text, t->text))
		return true;
	/* both parsed into zeroed storage (getaddrinfo's for a name fills no
	 * more), so equal addresses are equal bytes, as the controller finds
	 * its targets */
	if (cfg_parse_ipport(text, &a, &len, why, sizeof(why)) == 0) {
		addr_unmap(&a, &len); /* as the target's (cfg_target_address) */
		return len == t->addr_len && !memcmp(&a, &t->addr, len);
	}
	/* a name: in any letter case, its port in any spelling; one whose
	 * spelling is longer than any target's names none */
	return canonical_name(text, true, want, sizeof(want)) &&
	       canonical_name(t->text, true, have, sizeof(have)) && !strcmp(want, have);
}

void config_target_canonical(const struct config_target *t, char *out, size_t cap)
{
	struct sockaddr_storage a;
	socklen_t len;
	char why[200];

	if (!cap)
		return;
	/* an IP literal: parsed as config_target_named parses what an
	 * operator writes, and written back as inet_ntop gives it; an
	 * IPv4-mapped IPv6 one (::ffff:a.b.c.d) as the IPv4 address it stands
	 * for, as the workers take such a peer (udp_addr_unmap) */
	if (!t->domain[0] && cfg_parse_ipport(t->text, &a, &len, why, sizeof(why)) == 0) {
		struct sockaddr_in v4;
		const struct sockaddr *sa = (const struct sockaddr *)&a;
		if (udp_addr_unmap(sa, len, &v4))
			sa = (const struct sockaddr *)&v4;
		udp_format_addr(sa, out, cap);
		return;
	}
	if (t->domain[0])
		canonical_name(t->domain, false, out, cap);
	else
		canonical_name(t->text, true, out, cap);
}
