/*
 * uri.c - URIs (sip, sips, tel, any other scheme kept opaque) and name-addr /
 * addr-spec values with header parameters (RFC 3261 sections 19.1, 20.10, 25.1).
 *
 * Owns: splitting a URI into views and checking its characters, display names,
 * the tag parameter. Does not own: which header a value came from.
 *
 * A URI is read in one forward pass that stops at the first byte that cannot
 * continue it (sip_uri_scan). sip_parse_uri then requires that byte to be the end
 * of its range; a name-addr requires it to be the '>', so that the URI between
 * '<' and '>' is parsed without first searching for the '>'. Every scan is
 * bounded by the end of the value, never by the byte it expects to stop at.
 */
#include <arpa/inet.h>
#include <string.h>

#include "sip/lex.h"

/* True when [p, end) is an escaped-or-class run: chars of cls or %HEXHEX. */
static bool uri_run_ok(const char *p, const char *end, uint32_t cls)
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

/* Skips a run of cls bytes and %HEXHEX escapes from p; returns its end, or
 * NULL when a '%' does not start a valid escape. */
static inline const char *uri_run(const char *p, const char *end, uint32_t cls)
{
	for (;;) {
		p = lex_span(p, end, cls);
		if (p >= end || *p != '%')
			return p;
		if (end - p < 3 || !lex_is((unsigned char)p[1], LEX_HEX) ||
		    !lex_is((unsigned char)p[2], LEX_HEX))
			return NULL;
		p += 3;
	}
}

/* True when [p, end) is exactly an IPv4address. */
static bool uri_ipv4(const char *p, const char *end)
{
	return lex_ipv4_scan(p, end) == end;
}

/* host [":" port] at h, whose hostname run (LEX_HOST characters) ends at q when
 * the caller has scanned it already, or q == NULL. Returns the end or NULL. */
static inline __attribute__((always_inline)) const char *
uri_hostport(const char *base, const char *h, const char *q, const char *end, struct sip_uri *u)
{
	const char *p = h, *v4;

	if (!q && p < end && (unsigned)(*p - '0') < 10 && (v4 = lex_ipv4_scan(p, end)) &&
	    (v4 == end || !lex_is((unsigned char)*v4, LEX_HOST))) {
		/* an address not yet spanned: read once, as what it is */
		p = v4;
		u->host_type = SIP_HOST_IPV4;
	} else if (!q && p < end && *p == '[') {
		p = lex_ipv6_ref(p, end);
		if (!p)
			return NULL;
		u->host_type = SIP_HOST_IPV6;
	} else {
		p = q ? q : lex_span(p, end, LEX_HOST);
		if (p > h && (unsigned)(*h - '0') < 10 && uri_ipv4(h, p))
			u->host_type = SIP_HOST_IPV4;
		else if (p > h && *h != '.' && *h != '-')
			u->host_type = SIP_HOST_NAME;
		else
			return NULL;
	}
	u->host = lex_view(base, h, p);
	if (p < end && *p == ':') {
		uint32_t v;
		const char *d = lex_uint(p + 1, end, 65535, &v);
		if (!d || d - (p + 1) > 5)
			return NULL;
		u->port = (uint16_t)v;
		u->has_port = true;
		p = d;
	}
	return p;
}

bool sip_unescaped_ieq(const char *p, const char *end, const char *s)
{
	while (p < end) {
		unsigned c = (unsigned char)*p++;
		if (c == '%' && end - p >= 2 && lex_is((unsigned char)p[0], LEX_HEX) &&
		    lex_is((unsigned char)p[1], LEX_HEX)) {
			c = (unsigned)lex_hex_value(p[0]) << 4 | lex_hex_value(p[1]);
			p += 2;
		}
		/* OR 0x20 folds a letter's case, and only a letter's matches s */
		if (!*s || (c | 0x20) != (unsigned char)*s)
			return false;
		s++;
	}
	return !*s;
}

/* A parameter name with an escape, which none of uri_params' plain compares
 * matched, may still be one of them (";m%61ddr=", RFC 3261 19.1.4). Rare, so
 * out of the loop. The value stays as written. */
static __attribute__((noinline, cold)) void uri_param_escaped(const char *base, const char *name,
							      const char *name_end, const char *val,
							      const char *val_end,
							      struct sip_uri *u)
{
	if (sip_unescaped_ieq(name, name_end, "lr"))
		u->lr = true;
	else if (!val)
		return;
	else if (sip_unescaped_ieq(name, name_end, "transport"))
		u->transport = lex_view(base, val, val_end);
	else if (sip_unescaped_ieq(name, name_end, "maddr"))
		u->maddr = lex_view(base, val, val_end);
	else if (sip_unescaped_ieq(name, name_end, "user"))
		u->user_param = lex_view(base, val, val_end);
}

/* URI parameters: ;name[=value] with paramchar sets; notes the known ones. */
static const char *uri_params(const char *base, const char *p, const char *end, struct sip_uri *u)
{
	const char *start = p;

	while (p < end && *p == ';') {
		const char *name = ++p;
		p = lex_span(p, end, LEX_PCHAR);
		bool escaped = p < end && *p == '%'; /* known here at no cost */
		if (escaped)
			p = uri_run(p, end, LEX_PCHAR);
		if (!p || p == name)
			return NULL;
		const char *name_end = p, *val = NULL;
		if (p < end && *p == '=') {
			val = ++p;
			p = uri_run(p, end, LEX_PCHAR);
			if (!p || p == val)
				return NULL;
		}
		/* The names compared hold letters only, so OR 0x20 matches any byte exactly. */
		size_t nlen = (size_t)(name_end - name);
		if (LEX_TOK_IEQ(name, nlen, "lr"))
			u->lr = true;
		else if (!val) {
			if (escaped)
				uri_param_escaped(base, name, name_end, NULL, NULL, u);
		} else if (LEX_TOK_IEQ(name, nlen, "transport"))
			u->transport = lex_view(base, val, p);
		else if (LEX_TOK_IEQ(name, nlen, "maddr"))
			u->maddr = lex_view(base, val, p);
		else if (LEX_TOK_IEQ(name, nlen, "user"))
			u->user_param = lex_view(base, val, p);
		else if (escaped)
			uri_param_escaped(base, name, name_end, val, p, u);
	}
	if (p > start)
		u->params = lex_view(base, start + 1, p);
	return p;
}

/* The part of a sip/sips URI after "sip:"; returns where it stops or NULL. */
static inline __attribute__((always_inline)) const char *uri_sip(const char *base, const char *p,
								 const char *end, struct sip_uri *u)
{
	/* userinfo is everything up to an '@' (RFC 3261 19.1.1): the user part may
	 * hold ';', '?', '=' and ',', so a host with parameters and a user with
	 * them look alike until an '@' shows up or a byte no userinfo may hold. A
	 * hostname run comes first: it settles "user@" and "host" alone at once. */
	const char *q = lex_span(p, end, LEX_HOST);
	const char *h = p, *hq = q; /* the host, and the end of its run when known */

	if (q < end && *q == '@') {
		if (q == p)
			return NULL;
		u->user = lex_view(base, p, q);
		h = q + 1;
		hq = NULL;
	} else if (q < end && (lex_is((unsigned char)*q, LEX_UINFO) || *q == '%')) {
		/* the user, up to a ':' that may start a password */
		const char *at = uri_run(q, end, LEX_UNRESERVED | LEX_USER), *colon = NULL;
		if (at && at < end && *at == ':') {
			colon = at;
			at = uri_run(at, end, LEX_UINFO);
		}
		if (!at)
			return NULL;
		if (at < end && *at == '@') {
			const char *user_end = colon ? colon : at;
			if (user_end == p)
				return NULL;
			u->user = lex_view(base, p, user_end);
			if (colon) {
				if (!uri_run_ok(colon + 1, at, LEX_UNRESERVED | LEX_PASSWORD))
					return NULL;
				u->password = lex_view(base, colon + 1, at);
				u->has_password = true;
			}
			h = at + 1;
			hq = NULL;
		}
	} else if (q == p) {
		hq = NULL; /* an IPv6 reference, or no host at all */
	}
	p = uri_hostport(base, h, hq, end, u);
	if (!p)
		return NULL;
	if (end - p >= 4 && (lex_load32(p) | lex_load32("\0\x20\x20\0")) == lex_load32(";lr>")) {
		/* what closes nearly every Route and Record-Route, in one load */
		u->lr = true;
		u->params = lex_view(base, p + 1, p + 3);
		p += 3;
	} else if (p < end && *p == ';') {
		p = uri_params(base, p, end, u);
		if (!p)
			return NULL;
	}
	if (p < end && *p == '?') {
		const char *hs = ++p;
		p = uri_run(p, end, LEX_HCHAR);
		if (!p || p == hs)
			return NULL;
		u->headers = lex_view(base, hs, p);
	}
	return p;
}

/* The number of a tel URI and its parameters. RFC 3966's number has '*' and
 * '#' (phonedigit-hex); '#' is no parameter byte, so it is taken here only. */
static const char *uri_tel(const char *base, const char *p, const char *end, struct sip_uri *u)
{
	const char *num = p;

	for (;;) {
		p = uri_run(p, end, LEX_PCHAR);
		if (!p || p == end || *p != '#')
			break;
		p++;
	}
	if (!p || p == num)
		return NULL;
	u->user = lex_view(base, num, p);
	if (p < end && *p == ';')
		p = uri_params(base, p, end, u);
	return p;
}

/* True when the 4 bytes at p are c0 c1 c2 ':' with the letters in any case. */
static inline bool uri_scheme4(const char *p, const char *lit)
{
	const uint32_t fold = lex_load32("\x20\x20\x20\x00");
	return (lex_load32(p) | fold) == lex_load32(lit);
}

static inline __attribute__((always_inline)) const char *
uri_scan(struct sip_uri *u, const char *base, const char *p, const char *end)
{
	const char *s = p, *stop;

	if (end - p >= 4 && uri_scheme4(p, "sip:")) {
		/* the common case, decided without scanning the scheme */
		p += 4;
		u->scheme = SIP_SCHEME_SIP;
		stop = uri_sip(base, p, end, u);
	} else {
		if (p == end || !lex_is((unsigned char)*p, LEX_ALPHA))
			return NULL;
		while (p < end && lex_is((unsigned char)*p, LEX_SCHEME))
			p++;
		if (p == end || *p != ':')
			return NULL;
		size_t slen = (size_t)(p - s);
		p++;
		if (LEX_TOK_IEQ(s, slen, "sip")) {
			u->scheme = SIP_SCHEME_SIP;
			stop = uri_sip(base, p, end, u);
		} else if (LEX_TOK_IEQ(s, slen, "sips")) {
			u->scheme = SIP_SCHEME_SIPS;
			stop = uri_sip(base, p, end, u);
		} else if (LEX_TOK_IEQ(s, slen, "tel")) {
			u->scheme = SIP_SCHEME_TEL;
			stop = uri_tel(base, p, end, u);
		} else {
			/* Any other scheme: kept opaque, but only printable, non-space bytes. */
			u->scheme = SIP_SCHEME_OTHER;
			stop = p;
			while (stop < end && (unsigned char)*stop > ' ' &&
			       (unsigned char)*stop < 0x7f && *stop != '<' && *stop != '>' &&
			       *stop != '"')
				stop++;
			if (stop == p)
				return NULL;
		}
	}
	if (stop) {
		u->whole = lex_view(base, s, stop);
		u->opaque = lex_view(base, p, stop);
	}
	return stop;
}

const char *sip_uri_scan(struct sip_uri *u, const char *base, const char *p, const char *end)
{
	return uri_scan(u, base, p, end);
}

int sip_parse_uri(struct sip_uri *u, const char *buf, uint16_t off, uint16_t len)
{
	const char *p = buf + off, *end = p + len;

	memset(u, 0, sizeof(*u));
	const char *stop = uri_scan(u, buf, p, end);
	u->whole.off = off;
	u->whole.len = len;
	return stop == end ? 0 : -SIP_ERR_URI;
}

int sip_addr_scan(struct sip_addr *a, const char *buf, const char *p, const char *end,
		  const char *limit)
{
	const char *lt = NULL;
	int rc;

	memset(a, 0, sizeof(*a));
	a->whole = lex_view(buf, p, end);
	if (p == end)
		return -SIP_ERR_BAD_VALUE;

	if (*p == '<') {
		lt = p;
	} else if (*p == '"') {
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
		const char *q = lex_span(p, end, LEX_DISP);
		if (q < end && *q == '<') {
			lt = q;
			const char *dend = lex_trim_right(p, q);
			if (dend > p)
				a->display = lex_view(buf, p, dend);
		}
	}

	if (lt) {
		const char *stop = uri_scan(&a->uri, buf, lt + 1, end);
		if (stop && stop < end && *stop == '>') {
			p = stop + 1;
		} else {
			/* Not a URI up to a '>': tell a missing '>' from a bad URI. */
			const char *gt = memchr(lt + 1, '>', (size_t)(end - lt - 1));
			if (!gt)
				return -SIP_ERR_BAD_VALUE;
			rc = sip_parse_uri(&a->uri, buf, (uint16_t)(lt + 1 - buf),
					   (uint16_t)(gt - lt - 1));
			if (rc)
				return rc;
			p = gt + 1;
		}
	} else {
		/* addr-spec: the URI ends at the first ';' (RFC 3261 20.10), or LWS */
		const char *uri_start = p;
		while (p < end && *p != ';' && !lex_lws_char(*p) && *p != ',')
			p++;
		rc = sip_parse_uri(&a->uri, buf, (uint16_t)(uri_start - buf),
				   (uint16_t)(p - uri_start));
		if (rc)
			return rc;
	}

	const char *pstart = lex_skip_lws(p, end);
	struct lex_param prm;
	p = pstart;
	/* the tag first, where From and To nearly always have it */
	const char *tv, *te = lex_param_fast(p, end, limit, ";tag=\0\0", 5, &tv);
	if (te) {
		a->tag = lex_view(buf, tv, te);
		a->has_tag = true;
		p = te;
	}
	while ((rc = lex_param_next(&p, end, &prm)) > 0) {
		if (prm.val && LEX_TOK_IEQ(prm.name, prm.nlen, "tag")) {
			/* a token (RFC 3261 25.1); quoted, as some write it, it may
			 * not hold the NUL a quoted-pair allows: tags are compared
			 * and kept as C strings further on */
			if (memchr(prm.val, '\0', prm.vlen))
				return -SIP_ERR_BAD_VALUE;
			a->tag = lex_view(buf, prm.val, prm.val + prm.vlen);
			a->has_tag = true;
		}
	}
	if (rc < 0)
		return -SIP_ERR_BAD_VALUE;
	if (p > pstart)
		a->params = lex_view(buf, pstart + 1, p);
	/* lex_param_next stops after any LWS, and end follows none */
	return p == end ? 0 : -SIP_ERR_BAD_VALUE;
}

int sip_parse_addr(struct sip_addr *a, const char *buf, uint16_t off, uint16_t len)
{
	const char *p = lex_skip_lws(buf + off, buf + off + len);

	const char *end = lex_trim_right(p, buf + off + len);

	return sip_addr_scan(a, buf, p, end, end);
}

int sip_param_next(const char *buf, sip_view params, uint16_t *pos, struct sip_param *out)
{
	const char *p = buf + *pos, *end = buf + params.off + params.len;
	struct lex_param prm;

	if (!params.len || p >= end)
		return 0;
	int rc = lex_param_next(&p, end, &prm);
	if (rc <= 0)
		return rc < 0 || p != end ? -SIP_ERR_BAD_VALUE : 0;
	out->name = lex_view(buf, prm.name, prm.name + prm.nlen);
	out->value = prm.val ? lex_view(buf, prm.val, prm.val + prm.vlen) : (sip_view){0, 0};
	out->start = *pos;
	out->end = (uint16_t)(p - buf);
	*pos = out->end;
	return 1;
}

int sip_addr_list_next(const char *buf, sip_view value, uint16_t *pos, struct sip_addr *out)
{
	const char *start = buf + value.off, *end = start + value.len, *p = buf + *pos;

	if (p < start || p > end)
		return -SIP_ERR_BAD_VALUE;
	if (p == end)
		return 0;
	const char *c = lex_next_comma(p, end);
	if (!c)
		return -SIP_ERR_BAD_VALUE;
	const char *vs = lex_skip_lws(p, c), *ve = lex_trim_right(vs, c);
	if (vs == ve)
		return -SIP_ERR_BAD_VALUE;
	/* a Contact of "*" alone (RFC 3261 10.2.2, the parser's contact_star)
	 * lists no address: an end, not an error, for a caller looking for one
	 * among those listed; among others it is no address (20.10) */
	if (ve - vs == 1 && *vs == '*' && p == start && c == end) {
		*pos = (uint16_t)(end - buf);
		return 0;
	}
	int rc = sip_addr_scan(out, buf, vs, ve, c);
	if (rc)
		return rc;
	*pos = (uint16_t)((c == end ? c : c + 1) - buf);
	return 1;
}

/* ---- comparing URIs (RFC 3261 19.1.4) -------------------------------------- */

/* The next character of an escaped run at *p (before end), moving *p past
 * it: a %HH escape is the byte it stands for (RFC 3261 19.1.4: "characters
 * other than those in the reserved set are equivalent to their %HH
 * encoding"), but for an escaped reserved character, which is not the
 * character (0x100 set: a ';' escaped in a user part is no separator). */
static unsigned uri_char(const char **p, const char *end)
{
	const char *q = *p;
	unsigned c = (unsigned char)*q++;
	if (c == '%' && end - q >= 2 && lex_is((unsigned char)q[0], LEX_HEX) &&
	    lex_is((unsigned char)q[1], LEX_HEX)) {
		c = (unsigned)lex_hex_value(q[0]) << 4 | lex_hex_value(q[1]);
		q += 2;
		if (c && strchr(";/?:@&=+$,", (int)c))
			c |= 0x100;
	}
	*p = q;
	return c;
}

/* Whether the views x of a and y of b hold the same characters, escapes
 * read as uri_char reads them; letters in any case when icase. */
static bool uri_text_eq(const char *a, sip_view x, const char *b, sip_view y, bool icase)
{
	const char *p = a + x.off, *pe = p + x.len, *q = b + y.off, *qe = q + y.len;
	while (p < pe && q < qe) {
		unsigned c = uri_char(&p, pe), d = uri_char(&q, qe);
		if (icase && c < 0x80 && d < 0x80) {
			c = (unsigned char)lex_lower((char)c);
			d = (unsigned char)lex_lower((char)d);
		}
		if (c != d)
			return false;
	}
	return p == pe && q == qe;
}

/* The hosts of two sip or sips URIs: an IPv6 reference as the address it
 * names (RFC 5954 4.1: "[::1]" is "[0:0:0:0:0:0:0:1]"), any other, and one
 * inet_pton does not read (the parser's "[2001:db8:::192.0.2.1]", RFC 5118
 * 4.10), without case. */
static bool uri_host_eq(const char *a, const struct sip_uri *x, const char *b,
			const struct sip_uri *y)
{
	if (x->host_type != y->host_type)
		return false;
	if (x->host_type != SIP_HOST_IPV6)
		return uri_text_eq(a, x->host, b, y->host, true);
	struct in6_addr ax, ay;
	char tx[64], ty[64];
	bool ok = x->host.len >= 3 && y->host.len >= 3 && x->host.len - 2u < sizeof(tx) &&
		  y->host.len - 2u < sizeof(ty);
	if (ok) {
		memcpy(tx, a + x->host.off + 1, x->host.len - 2u);
		tx[x->host.len - 2u] = '\0';
		memcpy(ty, b + y->host.off + 1, y->host.len - 2u);
		ty[y->host.len - 2u] = '\0';
		ok = inet_pton(AF_INET6, tx, &ax) == 1 && inet_pton(AF_INET6, ty, &ay) == 1;
	}
	if (!ok)
		return uri_text_eq(a, x->host, b, y->host, true);
	return !memcmp(&ax, &ay, sizeof(ax));
}

/* One name[=value] of a ';' (params) or '&' (headers) separated list at *p
 * (before end), moving *p past it and its separator; false when only
 * separators are left. An empty item is none, wherever it is: the parser
 * takes "?&a=1" and "?a=1&", the same header, which 19.1.4 (whose grammar
 * has no empty one) cannot tell apart. */
static bool uri_pair(const char **p, const char *end, char sep, sip_view *name, sip_view *value,
		     const char *base)
{
	const char *s = *p;
	while (s < end && *s == sep)
		s++;
	if (s == end) {
		*p = end;
		return false;
	}
	const char *e = memchr(s, sep, (size_t)(end - s));
	if (!e)
		e = end;
	const char *eq = memchr(s, '=', (size_t)(e - s));
	*name = lex_view(base, s, eq ? eq : e);
	*value = eq ? lex_view(base, eq + 1, e) : (sip_view){0, 0};
	*p = e < end ? e + 1 : end;
	return true;
}

/* Whether list l (of buf b) holds a pair named name (of buf na): 0 none, 1
 * one with value v (len 0 for none; letters in any case when icase), -1
 * only with other values. A name given twice in a URI (which 19.1.4 does
 * not speak of) matches when either has the value, so that a URI is always
 * equal to itself. */
static int uri_find(const char *na, sip_view name, sip_view v, const char *b, sip_view l, char sep,
		    bool icase)
{
	const char *p = b + l.off, *end = p + l.len;
	int found = 0;
	while (p < end) {
		sip_view n, w;
		if (!uri_pair(&p, end, sep, &n, &w, b))
			break;
		if (!uri_text_eq(na, name, b, n, true))
			continue;
		if (uri_text_eq(na, v, b, w, icase))
			return 1;
		found = -1;
	}
	return found;
}

/* Whether every uri-parameter of x (in a) matches in y (in b) as RFC 3261
 * 19.1.4 says: one in both has the same value (without case); user, ttl,
 * method and maddr in x alone never match; any other in x alone is passed
 * over. */
static bool uri_params_in(const char *a, sip_view x, const char *b, sip_view y)
{
	static const char *const named[] = {"user", "ttl", "method", "maddr"};
	const char *p = a + x.off, *end = p + x.len;
	while (p < end) {
		sip_view n, v;
		if (!uri_pair(&p, end, ';', &n, &v, a))
			break;
		int in = uri_find(a, n, v, b, y, ';', true);
		if (in < 0)
			return false;
		if (in > 0)
			continue;
		for (size_t k = 0; k < sizeof(named) / sizeof(named[0]); k++)
			if (sip_unescaped_ieq(a + n.off, a + n.off + n.len, named[k]))
				return false;
	}
	return true;
}

/* Whether every header of x (in a) is in y (in b) with the same value. The
 * values are compared as escaped text, not by the rules of each header
 * field (section 20): a URI of ours has none, and one that has any is
 * another URI (19.1.4: headers are never passed over). */
static bool uri_headers_in(const char *a, sip_view x, const char *b, sip_view y)
{
	const char *p = a + x.off, *end = p + x.len;
	while (p < end) {
		sip_view n, v;
		if (!uri_pair(&p, end, '&', &n, &v, a))
			break;
		if (uri_find(a, n, v, b, y, '&', false) <= 0)
			return false;
	}
	return true;
}

bool sip_uri_equal(const char *a, const struct sip_uri *x, const char *b, const struct sip_uri *y)
{
	if (x->scheme != y->scheme)
		return false;
	if (x->scheme != SIP_SCHEME_SIP && x->scheme != SIP_SCHEME_SIPS)
		/* tel and others: as written, but for the letter case */
		return x->whole.len == y->whole.len &&
		       sip_view_ieq(b, y->whole, a + x->whole.off, x->whole.len);
	/* userinfo with case; present in both or in neither */
	if (!x->user.len != !y->user.len || !uri_text_eq(a, x->user, b, y->user, false))
		return false;
	if (x->has_password != y->has_password ||
	    !uri_text_eq(a, x->password, b, y->password, false))
		return false;
	if (x->port != y->port || x->has_port != y->has_port || !uri_host_eq(a, x, b, y))
		return false;
	return uri_params_in(a, x->params, b, y->params) &&
	       uri_params_in(b, y->params, a, x->params) &&
	       uri_headers_in(a, x->headers, b, y->headers) &&
	       uri_headers_in(b, y->headers, a, x->headers);
}
