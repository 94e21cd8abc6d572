/*
 * uri.c - URIs (sip, sips, tel, any other scheme kept opaque) and name-addr /
 * addr-spec values with header parameters (RFC 3261 sections 19.1, 20.10, 25.1).
 *
 * Owns: splitting a URI into views and checking its characters, display names,
 * the tag parameter. Does not own: which header a value came from.
 */
#include <string.h>

#include "sip/lex.h"

/* True when [p, end) is an escaped-or-class run: chars of cls or %HEXHEX. */
static bool uri_run_ok(const char *p, const char *end, uint16_t cls)
{
	while (p < end) {
		unsigned char c = (unsigned char)*p;
		if (c == '%') {
			if (end - p < 3 || !lex_is((unsigned char)p[1], LEX_HEX) ||
			    !lex_is((unsigned char)p[2], LEX_HEX))
				return false;
			p += 3;
			continue;
		}
		if (!lex_is(c, cls))
			return false;
		p++;
	}
	return true;
}

static bool uri_ipv4(const char *p, const char *end)
{
	int parts = 0;

	while (p < end) {
		uint32_t v;
		const char *q = lex_uint(p, end, 255, &v);
		if (!q || q - p > 3)
			return false;
		parts++;
		p = q;
		if (p < end) {
			if (*p != '.' || parts == 4)
				return false;
			p++;
			if (p == end)
				return false;
		}
	}
	return parts == 4;
}

static bool uri_hostname(const char *p, const char *end)
{
	if (p == end || *p == '.' || *p == '-')
		return false;
	for (; p < end; p++)
		if (!lex_is((unsigned char)*p, LEX_HOST))
			return false;
	return true;
}

static bool uri_ipv6_body(const char *p, const char *end)
{
	int colons = 0;

	if (p == end)
		return false;
	for (; p < end; p++) {
		if (*p == ':')
			colons++;
		else if (!lex_is((unsigned char)*p, LEX_HEX) && *p != '.')
			return false;
	}
	return colons >= 2 && colons <= 7;
}

/* Parses host[:port] at p; returns the end of host/port or NULL. */
static const char *uri_hostport(const char *base, const char *p, const char *end, sip_view *host,
				uint8_t *host_type, uint16_t *port)
{
	const char *h = p;

	if (p < end && *p == '[') {
		const char *close = memchr(p, ']', (size_t)(end - p));
		if (!close || !uri_ipv6_body(p + 1, close))
			return NULL;
		p = close + 1;
		*host_type = SIP_HOST_IPV6;
	} else {
		while (p < end && lex_is((unsigned char)*p, LEX_HOST))
			p++;
		if (uri_ipv4(h, p))
			*host_type = SIP_HOST_IPV4;
		else if (uri_hostname(h, p))
			*host_type = SIP_HOST_NAME;
		else
			return NULL;
	}
	*host = lex_view(base, h, p);
	*port = 0;
	if (p < end && *p == ':') {
		uint32_t v;
		const char *q = lex_uint(p + 1, end, 65535, &v);
		if (!q || q - (p + 1) > 5)
			return NULL;
		*port = (uint16_t)v;
		p = q;
	}
	return p;
}

/* URI parameters: ;name[=value] with paramchar sets; notes the known ones. */
static const char *uri_params(const char *base, const char *p, const char *end, struct sip_uri *u)
{
	const char *start = p;

	while (p < end && *p == ';') {
		const char *name = ++p;
		while (p < end && *p != '=' && *p != ';' && *p != '?')
			p++;
		const char *name_end = p;
		const char *val = NULL, *val_end = NULL;
		if (name == name_end || !uri_run_ok(name, name_end, LEX_UNRESERVED | LEX_PARAM))
			return NULL;
		if (p < end && *p == '=') {
			val = ++p;
			while (p < end && *p != ';' && *p != '?')
				p++;
			val_end = p;
			if (val == val_end || !uri_run_ok(val, val_end, LEX_UNRESERVED | LEX_PARAM))
				return NULL;
		}
		size_t nlen = (size_t)(name_end - name);
		if (lex_ieq(name, nlen, "lr", 2))
			u->lr = true;
		else if (val && lex_ieq(name, nlen, "transport", 9))
			u->transport = lex_view(base, val, val_end);
		else if (val && lex_ieq(name, nlen, "maddr", 5))
			u->maddr = lex_view(base, val, val_end);
		else if (val && lex_ieq(name, nlen, "user", 4))
			u->user_param = lex_view(base, val, val_end);
	}
	if (p > start)
		u->params = lex_view(base, start + 1, p);
	return p;
}

static int uri_sip(const char *base, const char *p, const char *end, struct sip_uri *u)
{
	const char *at = memchr(p, '@', (size_t)(end - p));

	if (at) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		const char *user_end = colon ? colon : at;
		if (user_end == p || !uri_run_ok(p, user_end, LEX_UNRESERVED | LEX_USER))
			return -SIP_ERR_URI;
		u->user = lex_view(base, p, user_end);
		if (colon) {
			if (!uri_run_ok(colon + 1, at, LEX_UNRESERVED | LEX_PASSWORD))
				return -SIP_ERR_URI;
			u->password = lex_view(base, colon + 1, at);
		}
		p = at + 1;
	}
	p = uri_hostport(base, p, end, &u->host, &u->host_type, &u->port);
	if (!p)
		return -SIP_ERR_URI;
	p = uri_params(base, p, end, u);
	if (!p)
		return -SIP_ERR_URI;
	if (p < end && *p == '?') {
		p++;
		if (p == end || !uri_run_ok(p, end, LEX_UNRESERVED | LEX_HNV | LEX_USER))
			return -SIP_ERR_URI;
		u->headers = lex_view(base, p, end);
		p = end;
	}
	return p == end ? 0 : -SIP_ERR_URI;
}

static int uri_tel(const char *base, const char *p, const char *end, struct sip_uri *u)
{
	const char *num = p;

	while (p < end && *p != ';')
		p++;
	if (p == num || !uri_run_ok(num, p, LEX_UNRESERVED | LEX_PARAM))
		return -SIP_ERR_URI;
	u->user = lex_view(base, num, p);
	p = uri_params(base, p, end, u);
	return p == end ? 0 : -SIP_ERR_URI;
}

int sip_parse_uri(struct sip_uri *u, const char *buf, uint16_t off, uint16_t len)
{
	const char *p = buf + off, *end = p + len;
	const char *s = p;

	memset(u, 0, sizeof(*u));
	u->whole.off = off;
	u->whole.len = len;
	if (p == end || !lex_is((unsigned char)*p, LEX_ALPHA))
		return -SIP_ERR_URI;
	while (p < end && lex_is((unsigned char)*p, LEX_SCHEME))
		p++;
	if (p == end || *p != ':')
		return -SIP_ERR_URI;
	size_t slen = (size_t)(p - s);
	p++;
	u->opaque = lex_view(buf, p, end);
	if (lex_ieq(s, slen, "sip", 3)) {
		u->scheme = SIP_SCHEME_SIP;
		return uri_sip(buf, p, end, u);
	}
	if (lex_ieq(s, slen, "sips", 4)) {
		u->scheme = SIP_SCHEME_SIPS;
		return uri_sip(buf, p, end, u);
	}
	if (lex_ieq(s, slen, "tel", 3)) {
		u->scheme = SIP_SCHEME_TEL;
		return uri_tel(buf, p, end, u);
	}
	/* Any other scheme: kept opaque, but still only printable, non-space bytes. */
	u->scheme = SIP_SCHEME_OTHER;
	if (p == end)
		return -SIP_ERR_URI;
	for (; p < end; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f || *p == '<' || *p == '>' ||
		    *p == '"')
			return -SIP_ERR_URI;
	return 0;
}

struct addr_params {
	const char *base;
	struct sip_addr *a;
};

static void addr_param(void *arg, const char *name, size_t nlen, const char *val, size_t vlen,
		       bool has_val)
{
	struct addr_params *ap = arg;

	if (lex_ieq(name, nlen, "tag", 3) && has_val) {
		ap->a->tag = lex_view(ap->base, val, val + vlen);
		ap->a->has_tag = true;
	}
}

int sip_parse_addr(struct sip_addr *a, const char *buf, uint16_t off, uint16_t len)
{
	const char *start = buf + off, *end = start + len;
	const char *p = lex_skip_lws(start, end);
	const char *uri_start, *uri_end;
	int rc;

	memset(a, 0, sizeof(*a));
	end = lex_trim_right(p, end);
	a->whole = lex_view(buf, p, end);
	if (p == end)
		return -SIP_ERR_BAD_VALUE;

	const char *lt = NULL;
	if (*p == '"') {
		const char *q = lex_quoted(p, end);
		if (!q)
			return -SIP_ERR_BAD_VALUE;
		a->display = lex_view(buf, p + 1, q - 1);
		p = lex_skip_lws(q, end);
		if (p >= end || *p != '<')
			return -SIP_ERR_BAD_VALUE;
		lt = p;
	} else {
		/* display-name as tokens and LWS, then '<'; or a bare addr-spec */
		const char *q = p;
		while (q < end && (lex_is((unsigned char)*q, LEX_TOKEN) || lex_ws(*q) || *q == '\r' ||
				   *q == '\n'))
			q++;
		if (q < end && *q == '<') {
			lt = q;
			const char *dend = lex_trim_right(p, q);
			if (dend > p)
				a->display = lex_view(buf, p, dend);
		}
	}

	if (lt) {
		uri_start = lt + 1;
		const char *gt = memchr(uri_start, '>', (size_t)(end - uri_start));
		if (!gt)
			return -SIP_ERR_BAD_VALUE;
		uri_end = gt;
		p = gt + 1;
	} else {
		/* addr-spec: the URI ends at the first ';' (RFC 3261 20.10), or LWS */
		uri_start = p;
		while (p < end && *p != ';' && !lex_ws(*p) && *p != '\r' && *p != '\n' && *p != ',')
			p++;
		uri_end = p;
	}
	if (uri_end - uri_start > UINT16_MAX)
		return -SIP_ERR_URI;
	rc = sip_parse_uri(&a->uri, buf, (uint16_t)(uri_start - buf), (uint16_t)(uri_end - uri_start));
	if (rc)
		return rc;

	struct addr_params ap = {buf, a};
	const char *pstart = lex_skip_lws(p, end);
	p = lex_params(pstart, end, addr_param, &ap);
	if (!p)
		return -SIP_ERR_BAD_VALUE;
	if (p > pstart)
		a->params = lex_view(buf, pstart + 1, p);
	p = lex_skip_lws(p, end);
	return p == end ? 0 : -SIP_ERR_BAD_VALUE;
}
