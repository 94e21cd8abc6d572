/*
 * parse.c - parses one SIP datagram into views (RFC 3261 sections 7, 18.3, 20).
 *
 * Owns: the start line, splitting header lines (folding, compact forms), the
 * per-header rules the fast path relies on, mandatory-header and body-length
 * checks, and the error text. Two passes: the first indexes every header line,
 * the second parses the known ones, so that a message rejected in the second
 * pass still has its Via, From, To, Call-ID and CSeq lines indexed and can be
 * answered with 400. Does not own: URI grammar (uri.c), writing (write.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sip/lex.h"

const struct sip_limits sip_default_limits = {
	.max_headers = SIP_MAX_HEADERS,
	.max_line = 8192,
	.max_uri = 2048,
	.max_datagram = SIP_MAX_DATAGRAM,
};

struct hdr_name {
	const char *name;
	uint8_t len;
	uint8_t id;
};

/* Long names, then compact forms (RFC 3261 7.3.3, 3515, 3841, 3891, 4028, 4474, 6665). */
static const struct hdr_name hdr_names[] = {
	{"Accept", 6, SIP_HDR_ACCEPT},
	{"Accept-Contact", 14, SIP_HDR_ACCEPT_CONTACT},
	{"Allow", 5, SIP_HDR_ALLOW},
	{"Allow-Events", 12, SIP_HDR_ALLOW_EVENTS},
	{"Authorization", 13, SIP_HDR_AUTHORIZATION},
	{"Call-ID", 7, SIP_HDR_CALL_ID},
	{"Contact", 7, SIP_HDR_CONTACT},
	{"Content-Encoding", 16, SIP_HDR_CONTENT_ENCODING},
	{"Content-Length", 14, SIP_HDR_CONTENT_LENGTH},
	{"Content-Type", 12, SIP_HDR_CONTENT_TYPE},
	{"CSeq", 4, SIP_HDR_CSEQ},
	{"Event", 5, SIP_HDR_EVENT},
	{"Expires", 7, SIP_HDR_EXPIRES},
	{"From", 4, SIP_HDR_FROM},
	{"Identity", 8, SIP_HDR_IDENTITY},
	{"Max-Forwards", 12, SIP_HDR_MAX_FORWARDS},
	{"Min-SE", 6, SIP_HDR_MIN_SE},
	{"Proxy-Authorization", 19, SIP_HDR_PROXY_AUTHORIZATION},
	{"Proxy-Require", 13, SIP_HDR_PROXY_REQUIRE},
	{"RAck", 4, SIP_HDR_RACK},
	{"Record-Route", 12, SIP_HDR_RECORD_ROUTE},
	{"Refer-To", 8, SIP_HDR_REFER_TO},
	{"Referred-By", 11, SIP_HDR_REFERRED_BY},
	{"Reject-Contact", 14, SIP_HDR_REJECT_CONTACT},
	{"Request-Disposition", 19, SIP_HDR_REQUEST_DISPOSITION},
	{"Require", 7, SIP_HDR_REQUIRE},
	{"Retry-After", 11, SIP_HDR_RETRY_AFTER},
	{"Route", 5, SIP_HDR_ROUTE},
	{"RSeq", 4, SIP_HDR_RSEQ},
	{"Session-Expires", 15, SIP_HDR_SESSION_EXPIRES},
	{"Subject", 7, SIP_HDR_SUBJECT},
	{"Supported", 9, SIP_HDR_SUPPORTED},
	{"To", 2, SIP_HDR_TO},
	{"Unsupported", 11, SIP_HDR_UNSUPPORTED},
	{"User-Agent", 10, SIP_HDR_USER_AGENT},
	{"Via", 3, SIP_HDR_VIA},
	{"WWW-Authenticate", 16, SIP_HDR_WWW_AUTHENTICATE},
	{"Proxy-Authenticate", 18, SIP_HDR_PROXY_AUTHENTICATE},
	{"Server", 6, SIP_HDR_SERVER},
	{"Warning", 7, SIP_HDR_WARNING},
};

/* Compact forms, indexed by lower-case letter. */
static const uint8_t hdr_compact[26] = {
	['a' - 'a'] = SIP_HDR_ACCEPT_CONTACT,
	['b' - 'a'] = SIP_HDR_REFERRED_BY,
	['c' - 'a'] = SIP_HDR_CONTENT_TYPE,
	['d' - 'a'] = SIP_HDR_REQUEST_DISPOSITION,
	['e' - 'a'] = SIP_HDR_CONTENT_ENCODING,
	['f' - 'a'] = SIP_HDR_FROM,
	['i' - 'a'] = SIP_HDR_CALL_ID,
	['j' - 'a'] = SIP_HDR_REJECT_CONTACT,
	['k' - 'a'] = SIP_HDR_SUPPORTED,
	['l' - 'a'] = SIP_HDR_CONTENT_LENGTH,
	['m' - 'a'] = SIP_HDR_CONTACT,
	['o' - 'a'] = SIP_HDR_EVENT,
	['r' - 'a'] = SIP_HDR_REFER_TO,
	['s' - 'a'] = SIP_HDR_SUBJECT,
	['t' - 'a'] = SIP_HDR_TO,
	['u' - 'a'] = SIP_HDR_ALLOW_EVENTS,
	['v' - 'a'] = SIP_HDR_VIA,
	['x' - 'a'] = SIP_HDR_SESSION_EXPIRES,
	['y' - 'a'] = SIP_HDR_IDENTITY,
};

/* Header ids grouped by the lower-cased first letter of their long name, so that
 * a lookup compares against two or three candidates, not all of them. */
static uint8_t hdr_by_letter[26][8];

static void hdr_index_build(void)
{
	for (size_t i = 0; i < sizeof(hdr_names) / sizeof(hdr_names[0]); i++) {
		int c = lex_lower(hdr_names[i].name[0]) - 'a';
		uint8_t *slot = hdr_by_letter[c];
		while (*slot)
			slot++;
		*slot = (uint8_t)(i + 1);
	}
}

/* Built once before main: a constant table in all but syntax. */
__attribute__((constructor)) static void hdr_index_init(void)
{
	hdr_index_build();
}

enum sip_hdr sip_hdr_lookup(const char *name, size_t len)
{
	char c = lex_lower(name[0]);

	if (len == 0 || c < 'a' || c > 'z')
		return SIP_HDR_OTHER;
	if (len == 1)
		return (enum sip_hdr)hdr_compact[c - 'a'];
	for (const uint8_t *slot = hdr_by_letter[c - 'a']; *slot; slot++) {
		const struct hdr_name *h = &hdr_names[*slot - 1];
		if (h->len != len)
			continue;
		/* name holds token characters only; OR 0x20 folds their case and maps
		 * no other token character onto a letter or '-'. */
		size_t i = 1;
		while (i < len && (name[i] | 0x20) == (h->name[i] | 0x20))
			i++;
		if (i == len)
			return (enum sip_hdr)h->id;
	}
	return SIP_HDR_OTHER;
}

const char *sip_hdr_name(enum sip_hdr id)
{
	for (size_t i = 0; i < sizeof(hdr_names) / sizeof(hdr_names[0]); i++)
		if (hdr_names[i].id == id)
			return hdr_names[i].name;
	return NULL;
}

static const char *const method_names[SIP_METHOD_COUNT_] = {
	[SIP_METHOD_INVITE] = "INVITE",	  [SIP_METHOD_ACK] = "ACK",
	[SIP_METHOD_BYE] = "BYE",	  [SIP_METHOD_CANCEL] = "CANCEL",
	[SIP_METHOD_OPTIONS] = "OPTIONS", [SIP_METHOD_REGISTER] = "REGISTER",
	[SIP_METHOD_INFO] = "INFO",	  [SIP_METHOD_MESSAGE] = "MESSAGE",
	[SIP_METHOD_NOTIFY] = "NOTIFY",	  [SIP_METHOD_PRACK] = "PRACK",
	[SIP_METHOD_REFER] = "REFER",	  [SIP_METHOD_SUBSCRIBE] = "SUBSCRIBE",
	[SIP_METHOD_UPDATE] = "UPDATE",	  [SIP_METHOD_PUBLISH] = "PUBLISH",
};

static const uint8_t method_lens[SIP_METHOD_COUNT_] = {
	[SIP_METHOD_INVITE] = 6,  [SIP_METHOD_ACK] = 3,	    [SIP_METHOD_BYE] = 3,
	[SIP_METHOD_CANCEL] = 6,  [SIP_METHOD_OPTIONS] = 7, [SIP_METHOD_REGISTER] = 8,
	[SIP_METHOD_INFO] = 4,	  [SIP_METHOD_MESSAGE] = 7, [SIP_METHOD_NOTIFY] = 6,
	[SIP_METHOD_PRACK] = 5,	  [SIP_METHOD_REFER] = 5,   [SIP_METHOD_SUBSCRIBE] = 9,
	[SIP_METHOD_UPDATE] = 6,  [SIP_METHOD_PUBLISH] = 7,
};

enum sip_method sip_method_lookup(const char *s, size_t len)
{
	/* The first letter and the length single out one candidate at most. */
	static const uint8_t by_first[26][3] = {
		['A' - 'A'] = {SIP_METHOD_ACK},
		['B' - 'A'] = {SIP_METHOD_BYE},
		['C' - 'A'] = {SIP_METHOD_CANCEL},
		['I' - 'A'] = {SIP_METHOD_INVITE, SIP_METHOD_INFO},
		['M' - 'A'] = {SIP_METHOD_MESSAGE},
		['N' - 'A'] = {SIP_METHOD_NOTIFY},
		['O' - 'A'] = {SIP_METHOD_OPTIONS},
		['P' - 'A'] = {SIP_METHOD_PRACK, SIP_METHOD_PUBLISH},
		['R' - 'A'] = {SIP_METHOD_REGISTER, SIP_METHOD_REFER},
		['S' - 'A'] = {SIP_METHOD_SUBSCRIBE},
		['U' - 'A'] = {SIP_METHOD_UPDATE},
	};

	if (len < 3 || s[0] < 'A' || s[0] > 'Z')
		return SIP_METHOD_OTHER;
	for (int i = 0; i < 3 && by_first[s[0] - 'A'][i]; i++) {
		uint8_t id = by_first[s[0] - 'A'][i];
		if (method_lens[id] == len && memcmp(method_names[id], s, len) == 0)
			return (enum sip_method)id;
	}
	return SIP_METHOD_OTHER;
}

const char *sip_method_name(enum sip_method id)
{
	return (id > 0 && id < SIP_METHOD_COUNT_) ? method_names[id] : NULL;
}

bool sip_view_eq(const char *buf, sip_view v, const char *s, size_t len)
{
	return v.len == len && memcmp(buf + v.off, s, len) == 0;
}

bool sip_view_ieq(const char *buf, sip_view v, const char *s, size_t len)
{
	return lex_ieq(buf + v.off, v.len, s, len);
}

static const char *const err_names[SIP_ERR_COUNT_] = {
	[SIP_OK] = "ok",
	[SIP_ERR_TOO_SHORT] = "too-short",
	[SIP_ERR_TOO_LONG] = "too-long",
	[SIP_ERR_START_LINE] = "start-line",
	[SIP_ERR_VERSION] = "version",
	[SIP_ERR_HEADER_SYNTAX] = "header-syntax",
	[SIP_ERR_TOO_MANY_HEADERS] = "too-many-headers",
	[SIP_ERR_LINE_TOO_LONG] = "line-too-long",
	[SIP_ERR_URI] = "uri",
	[SIP_ERR_MISSING_HEADER] = "missing-header",
	[SIP_ERR_DUPLICATE_HEADER] = "duplicate-header",
	[SIP_ERR_BAD_VALUE] = "bad-value",
	[SIP_ERR_BODY_TRUNCATED] = "body-truncated",
	[SIP_ERR_TOO_MANY_VALUES] = "too-many-values",
};

const char *sip_err_name(int err)
{
	if (err < 0)
		err = -err;
	return (err >= 0 && err < SIP_ERR_COUNT_) ? err_names[err] : "unknown";
}

size_t sip_strerror(const struct sip_msg *m, char *out, size_t cap)
{
	int n;

	if (cap == 0)
		return 0;
	if (m->err == SIP_OK)
		n = snprintf(out, cap, "valid");
	else if (m->err_name.len)
		n = snprintf(out, cap, "%.*s: %s", (int)m->err_name.len, m->buf + m->err_name.off,
			     m->err_reason);
	else if (m->err_hdr != SIP_HDR_OTHER)
		n = snprintf(out, cap, "%s: %s", sip_hdr_name((enum sip_hdr)m->err_hdr),
			     m->err_reason);
	else
		n = snprintf(out, cap, "%s", m->err_reason);
	if (n < 0)
		n = 0;
	return (size_t)n < cap ? (size_t)n : cap - 1;
}

/* ---- parse state -------------------------------------------------------- */

struct parser {
	struct sip_msg *m;
	const char *buf, *end;
	const struct sip_limits *lim;
};

static int fail(struct parser *ps, int err, const char *reason)
{
	if (ps->m->err == SIP_OK) {
		ps->m->err = (uint8_t)err;
		ps->m->err_reason = reason;
	}
	return -err;
}

static int fail_hdr(struct parser *ps, const struct sip_hdr_line *h, int err, const char *reason)
{
	if (ps->m->err == SIP_OK) {
		ps->m->err_name = h->name;
		ps->m->err_hdr = h->id;
	}
	return fail(ps, err, reason);
}

static int fail_missing(struct parser *ps, enum sip_hdr id)
{
	if (ps->m->err == SIP_OK)
		ps->m->err_hdr = (uint8_t)id;
	return fail(ps, SIP_ERR_MISSING_HEADER, "mandatory header missing");
}

/* End of the line starting at p: pointer to its CR (or LF), or NULL at end. */
static const char *line_end(const char *p, const char *end)
{
	const char *lf = memchr(p, '\n', (size_t)(end - p));

	if (!lf)
		return NULL;
	return (lf > p && lf[-1] == '\r') ? lf - 1 : lf;
}

/* Pointer after the line terminator at e (CRLF or LF). */
static const char *after_eol(const char *e)
{
	return *e == '\r' ? e + 2 : e + 1;
}

static const char *sip_version(const char *p, const char *end, int *bad)
{
	static const char v[] = "SIP/2.0";

	if (end - p >= 7 && memcmp(p, v, 7) == 0)
		return p + 7;
	*bad = (end - p >= 4 && lex_ieq(p, 4, "SIP/", 4));
	return NULL;
}

static int parse_status_line(struct parser *ps, const char *p, const char *eol)
{
	struct sip_msg *m = ps->m;
	int bad = 0;

	p = sip_version(p, eol, &bad);
	if (!p || p >= eol || *p != ' ')
		return fail(ps, bad || !p ? SIP_ERR_VERSION : SIP_ERR_START_LINE,
			    "status line must start with SIP/2.0");
	p++;
	if (eol - p < 3 || !lex_is((unsigned char)p[0], LEX_DIGIT) ||
	    !lex_is((unsigned char)p[1], LEX_DIGIT) || !lex_is((unsigned char)p[2], LEX_DIGIT) ||
	    p[0] == '0' || (eol - p > 3 && p[3] != ' '))
		return fail(ps, SIP_ERR_START_LINE, "status code must be 3 digits, 100-699");
	m->status = (uint16_t)((p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0'));
	if (m->status > 699)
		return fail(ps, SIP_ERR_START_LINE, "status code must be 3 digits, 100-699");
	p += 3;
	if (p < eol)
		p++;
	for (const char *q = p; q < eol; q++)
		if ((unsigned char)*q < ' ' && *q != '\t')
			return fail(ps, SIP_ERR_START_LINE, "control character in reason phrase");
	m->reason = lex_view(ps->buf, p, eol);
	return 0;
}

static int parse_request_line(struct parser *ps, const char *p, const char *eol)
{
	struct sip_msg *m = ps->m;
	const char *s = p;
	int bad = 0;

	while (p < eol && lex_is((unsigned char)*p, LEX_TOKEN))
		p++;
	if (p == s || p >= eol || *p != ' ')
		return fail(ps, SIP_ERR_START_LINE, "request line must be METHOD SP URI SP SIP/2.0");
	m->method = lex_view(ps->buf, s, p);
	m->method_id = (uint8_t)sip_method_lookup(s, (size_t)(p - s));
	s = ++p;
	while (p < eol && *p != ' ')
		p++;
	if (p == s || p >= eol)
		return fail(ps, SIP_ERR_START_LINE, "request line must be METHOD SP URI SP SIP/2.0");
	if (p - s > ps->lim->max_uri)
		return fail(ps, SIP_ERR_URI, "Request-URI too long");
	if (sip_parse_uri(&m->ruri, ps->buf, (uint16_t)(s - ps->buf), (uint16_t)(p - s)))
		return fail(ps, SIP_ERR_URI, "malformed Request-URI");
	p++;
	const char *v = sip_version(p, eol, &bad);
	if (!v || v != eol)
		return fail(ps, (bad || (eol - p >= 3 && lex_ieq(p, 3, "SIP", 3))) ? SIP_ERR_VERSION
									 : SIP_ERR_START_LINE,
			    "request line must end with SIP/2.0");
	return 0;
}

/* Pass 1: index header lines from p; sets *body_start. */
static int index_headers(struct parser *ps, const char *p, const char **body_start)
{
	struct sip_msg *m = ps->m;
	const char *end = ps->end;

	for (;;) {
		if (p >= end)
			return fail(ps, SIP_ERR_HEADER_SYNTAX,
				    "headers not terminated by an empty line");
		if (*p == '\r' || *p == '\n') {
			if (*p == '\r' && (p + 1 >= end || p[1] != '\n'))
				return fail(ps, SIP_ERR_HEADER_SYNTAX, "CR without LF");
			m->headers_end = (uint16_t)(p - ps->buf);
			*body_start = after_eol(p);
			return 0;
		}
		if (lex_ws(*p))
			return fail(ps, SIP_ERR_HEADER_SYNTAX, "continuation line before first header");

		/* the logical line: this line plus folded continuations */
		const char *line = p, *e;
		for (;;) {
			e = line_end(p, end);
			if (!e)
				return fail(ps, SIP_ERR_HEADER_SYNTAX,
					    "headers not terminated by an empty line");
			p = after_eol(e);
			if (p < end && lex_ws(*p))
				continue;
			break;
		}
		if (p - line > ps->lim->max_line)
			return fail(ps, SIP_ERR_LINE_TOO_LONG, "header line longer than the limit");
		if (memchr(line, '\0', (size_t)(e - line)))
			return fail(ps, SIP_ERR_HEADER_SYNTAX, "NUL byte in a header line");
		if (m->nhdrs >= ps->lim->max_headers)
			return fail(ps, SIP_ERR_TOO_MANY_HEADERS, "more header lines than the limit");

		const char *n = line;
		while (n < e && lex_is((unsigned char)*n, LEX_TOKEN))
			n++;
		const char *colon = n;
		while (colon < e && lex_ws(*colon))
			colon++;
		if (n == line || colon >= e || *colon != ':')
			return fail(ps, SIP_ERR_HEADER_SYNTAX, "header line without name and colon");

		struct sip_hdr_line *h = &m->hdrs[m->nhdrs];
		h->name = lex_view(ps->buf, line, n);
		h->id = (uint8_t)sip_hdr_lookup(line, (size_t)(n - line));
		const char *vs = lex_skip_lws(colon + 1, e);
		const char *ve = lex_trim_right(vs, e);
		h->value = lex_view(ps->buf, vs, ve);
		h->start = (uint16_t)(line - ps->buf);
		h->end = (uint16_t)(p - ps->buf);
		m->nhdrs++;
		if (h->id && !m->first[h->id])
			m->first[h->id] = m->nhdrs;
	}
}

/* ---- pass 2: header values --------------------------------------------- */

static const char *vstart(struct parser *ps, const struct sip_hdr_line *h)
{
	return ps->buf + h->value.off;
}

static const char *vend(struct parser *ps, const struct sip_hdr_line *h)
{
	return ps->buf + h->value.off + h->value.len;
}

static int parse_call_id(struct parser *ps, const struct sip_hdr_line *h)
{
	const char *p = vstart(ps, h), *e = vend(ps, h);

	if (p == e)
		return fail_hdr(ps, h, SIP_ERR_BAD_VALUE, "empty Call-ID");
	for (const char *q = p; q < e; q++)
		if (!lex_is((unsigned char)*q, LEX_WORD) && *q != '@')
			return fail_hdr(ps, h, SIP_ERR_BAD_VALUE, "invalid character in Call-ID");
	ps->m->call_id = h->value;
	return 0;
}

static int parse_cseq(struct parser *ps, const struct sip_hdr_line *h)
{
	const char *p = vstart(ps, h), *e = vend(ps, h);
	struct sip_cseq *c = &ps->m->cseq;

	p = lex_uint(p, e, INT32_MAX, &c->num);
	if (!p)
		return fail_hdr(ps, h, SIP_ERR_BAD_VALUE, "sequence number must be 0 to 2^31-1");
	const char *s = lex_skip_lws(p, e);
	if (s == p)
		return fail_hdr(ps, h, SIP_ERR_BAD_VALUE, "expected number SP method");
	p = s;
	while (p < e && lex_is((unsigned char)*p, LEX_TOKEN))
		p++;
	if (p == s || p != e)
		return fail_hdr(ps, h, SIP_ERR_BAD_VALUE, "expected number SP method");
	c->method = lex_view(ps->buf, s, p);
	c->method_id = (uint8_t)sip_method_lookup(s, (size_t)(p - s));
	return 0;
}

static int parse_number(struct parser *ps, const struct sip_hdr_line *h, uint32_t max,
			uint32_t *out, const char *what)
{
	const char *p = vstart(ps, h), *e = vend(ps, h);

	p = lex_uint(p, e, max, out);
	if (!p || p != e)
		return fail_hdr(ps, h, SIP_ERR_BAD_VALUE, what);
	return 0;
}

static int parse_rack(struct parser *ps, const struct sip_hdr_line *h)
{
	const char *p = vstart(ps, h), *e = vend(ps, h);
	struct sip_rack *r = &ps->m->rack;
	static const char why[] = "expected response-num SP CSeq-num SP method";

	p = lex_uint(p, e, INT32_MAX, &r->rseq);
	const char *s = p ? lex_skip_lws(p, e) : NULL;
	if (!p || s == p)
		return fail_hdr(ps, h, SIP_ERR_BAD_VALUE, why);
	p = lex_uint(s, e, INT32_MAX, &r->cseq);
	s = p ? lex_skip_lws(p, e) : NULL;
	if (!p || s == p)
		return fail_hdr(ps, h, SIP_ERR_BAD_VALUE, why);
	p = s;
	while (p < e && lex_is((unsigned char)*p, LEX_TOKEN))
		p++;
	if (p == s || p != e)
		return fail_hdr(ps, h, SIP_ERR_BAD_VALUE, why);
	r->method = lex_view(ps->buf, s, p);
	r->method_id = (uint8_t)sip_method_lookup(s, (size_t)(p - s));
	ps->m->has_rack = true;
	return 0;
}

struct via_params {
	const char *base;
	struct sip_via *v;
};

static void via_param(void *arg, const char *name, size_t nlen, const char *val, size_t vlen,
		      bool has_val)
{
	struct via_params *vp = arg;
	struct sip_via *v = vp->v;
	sip_view view = has_val ? lex_view(vp->base, val, val + vlen) : (sip_view){0, 0};

	if (lex_ieq(name, nlen, "branch", 6))
		v->branch = view;
	else if (lex_ieq(name, nlen, "received", 8))
		v->received = view;
	else if (lex_ieq(name, nlen, "rport", 5)) {
		v->rport = view;
		v->has_rport = true;
	} else if (lex_ieq(name, nlen, "maddr", 5))
		v->maddr = view;
	else if (lex_ieq(name, nlen, "ttl", 3))
		v->ttl = view;
}

/* via-parm = sent-protocol LWS sent-by *( SEMI via-params ) */
static int parse_via_parm(struct parser *ps, const struct sip_hdr_line *h, uint16_t line,
			  const char *p, const char *e)
{
	struct sip_msg *m = ps->m;
	static const char why[] = "expected SIP/2.0/TRANSPORT host[:port] params";

	if (m->nvias >= SIP_MAX_VIAS)
		return fail_hdr(ps, h, SIP_ERR_TOO_MANY_VALUES, "more Via values than the limit");
	struct sip_via *v = &m->vias[m->nvias];
	memset(v, 0, sizeof(*v));
	v->line = line;
	v->whole = lex_view(ps->buf, p, e);

	const char *proto = p;
	for (int part = 0; part < 3; part++) {
		const char *s = p;
		while (p < e && lex_is((unsigned char)*p, LEX_TOKEN))
			p++;
		if (p == s)
			return fail_hdr(ps, h, SIP_ERR_BAD_VALUE, why);
		if (part == 2) {
			v->transport = lex_view(ps->buf, s, p);
			break;
		}
		p = lex_skip_lws(p, e);
		if (p >= e || *p != '/')
			return fail_hdr(ps, h, SIP_ERR_BAD_VALUE, why);
		p = lex_skip_lws(p + 1, e);
	}
	v->protocol = lex_view(ps->buf, proto, p);
	const char *s = lex_skip_lws(p, e);
	if (s == p)
		return fail_hdr(ps, h, SIP_ERR_BAD_VALUE, why);
	p = s;
	if (p < e && *p == '[') {
		const char *close = memchr(p, ']', (size_t)(e - p));
		if (!close)
			return fail_hdr(ps, h, SIP_ERR_BAD_VALUE, "unterminated IPv6 reference");
		p = close + 1;
	} else {
		while (p < e && lex_is((unsigned char)*p, LEX_HOST))
			p++;
	}
	if (p == s)
		return fail_hdr(ps, h, SIP_ERR_BAD_VALUE, "missing sent-by host");
	v->host = lex_view(ps->buf, s, p);
	p = lex_skip_lws(p, e);
	if (p < e && *p == ':') {
		uint32_t port;
		const char *q = lex_uint(lex_skip_lws(p + 1, e), e, 65535, &port);
		if (!q)
			return fail_hdr(ps, h, SIP_ERR_BAD_VALUE, "bad sent-by port");
		v->port = (uint16_t)port;
		p = q;
	}
	struct via_params vp = {ps->buf, v};
	p = lex_params(p, e, via_param, &vp);
	if (!p || lex_skip_lws(p, e) != e)
		return fail_hdr(ps, h, SIP_ERR_BAD_VALUE, "bad Via parameter");
	m->nvias++;
	return 0;
}

/* Calls fn for each comma-separated value of a header line. */
typedef int (*value_fn)(struct parser *ps, const struct sip_hdr_line *h, uint16_t line,
			const char *p, const char *e);

static int each_value(struct parser *ps, const struct sip_hdr_line *h, uint16_t line, value_fn fn)
{
	const char *p = vstart(ps, h), *e = vend(ps, h);

	for (;;) {
		const char *c = lex_next_comma(p, e);
		if (!c)
			return fail_hdr(ps, h, SIP_ERR_BAD_VALUE, "unterminated quoted string");
		const char *vs = lex_skip_lws(p, c);
		const char *ve = lex_trim_right(vs, c);
		if (vs == ve)
			return fail_hdr(ps, h, SIP_ERR_BAD_VALUE, "empty value in a list");
		int rc = fn(ps, h, line, vs, ve);
		if (rc)
			return rc;
		if (c == e)
			return 0;
		p = c + 1;
	}
}

static int parse_addr_into(struct parser *ps, const struct sip_hdr_line *h, struct sip_addr *a,
			   const char *p, const char *e)
{
	if (e - p > ps->lim->max_uri + 1024)
		return fail_hdr(ps, h, SIP_ERR_URI, "address longer than the limit");
	int rc = sip_parse_addr(a, ps->buf, (uint16_t)(p - ps->buf), (uint16_t)(e - p));
	if (rc == -SIP_ERR_URI)
		return fail_hdr(ps, h, SIP_ERR_URI, "malformed URI");
	if (rc)
		return fail_hdr(ps, h, SIP_ERR_BAD_VALUE, "malformed name-addr or parameters");
	if (a->uri.whole.len > ps->lim->max_uri)
		return fail_hdr(ps, h, SIP_ERR_URI, "URI longer than the limit");
	return 0;
}

static int parse_route_value(struct parser *ps, const struct sip_hdr_line *h, uint16_t line,
			     const char *p, const char *e)
{
	struct sip_msg *m = ps->m;
	(void)line;

	if (h->id == SIP_HDR_ROUTE) {
		if (m->nroutes >= SIP_MAX_ROUTES)
			return fail_hdr(ps, h, SIP_ERR_TOO_MANY_VALUES,
					"more Route values than the limit");
		return parse_addr_into(ps, h, &m->routes[m->nroutes++], p, e);
	}
	if (m->nrecord_routes >= SIP_MAX_ROUTES)
		return fail_hdr(ps, h, SIP_ERR_TOO_MANY_VALUES,
				"more Record-Route values than the limit");
	return parse_addr_into(ps, h, &m->record_routes[m->nrecord_routes++], p, e);
}

static int parse_contact_value(struct parser *ps, const struct sip_hdr_line *h, uint16_t line,
			       const char *p, const char *e)
{
	struct sip_msg *m = ps->m;
	(void)line;

	if (e - p == 1 && *p == '*') {
		if (m->ncontacts || m->contact_star)
			return fail_hdr(ps, h, SIP_ERR_BAD_VALUE, "'*' must be the only Contact");
		m->contact_star = true;
		return 0;
	}
	if (m->contact_star)
		return fail_hdr(ps, h, SIP_ERR_BAD_VALUE, "'*' must be the only Contact");
	if (m->ncontacts >= SIP_MAX_CONTACTS)
		return fail_hdr(ps, h, SIP_ERR_TOO_MANY_VALUES, "more Contact values than the limit");
	return parse_addr_into(ps, h, &m->contacts[m->ncontacts++], p, e);
}

/* Headers that may appear once only (RFC 3261 7.3.1 and 20). */
static bool single_valued(uint8_t id)
{
	switch (id) {
	case SIP_HDR_CALL_ID:
	case SIP_HDR_TO:
	case SIP_HDR_FROM:
	case SIP_HDR_CSEQ:
	case SIP_HDR_CONTENT_LENGTH:
	case SIP_HDR_MAX_FORWARDS:
		return true;
	default:
		return false;
	}
}

static int parse_header(struct parser *ps, uint16_t i)
{
	struct sip_msg *m = ps->m;
	const struct sip_hdr_line *h = &m->hdrs[i];
	uint32_t n;
	int rc;

	if (single_valued(h->id) && m->first[h->id] != i + 1)
		return fail_hdr(ps, h, SIP_ERR_DUPLICATE_HEADER, "header must appear only once");

	switch (h->id) {
	case SIP_HDR_CALL_ID:
		return parse_call_id(ps, h);
	case SIP_HDR_FROM:
		return parse_addr_into(ps, h, &m->from, vstart(ps, h), vend(ps, h));
	case SIP_HDR_TO:
		return parse_addr_into(ps, h, &m->to, vstart(ps, h), vend(ps, h));
	case SIP_HDR_CSEQ:
		return parse_cseq(ps, h);
	case SIP_HDR_VIA:
		return each_value(ps, h, i, parse_via_parm);
	case SIP_HDR_MAX_FORWARDS:
		rc = parse_number(ps, h, 255, &n, "expected a number 0-255");
		m->max_forwards = (int32_t)n;
		return rc;
	case SIP_HDR_CONTENT_LENGTH:
		rc = parse_number(ps, h, INT32_MAX, &n, "expected a number");
		m->content_length = (int32_t)n;
		return rc;
	case SIP_HDR_CONTENT_TYPE:
		if (m->first[h->id] == i + 1) {
			if (!h->value.len || !memchr(vstart(ps, h), '/', h->value.len))
				return fail_hdr(ps, h, SIP_ERR_BAD_VALUE, "expected type/subtype");
			m->content_type = h->value;
		}
		return 0;
	case SIP_HDR_ROUTE:
	case SIP_HDR_RECORD_ROUTE:
		return each_value(ps, h, i, parse_route_value);
	case SIP_HDR_CONTACT:
		return each_value(ps, h, i, parse_contact_value);
	case SIP_HDR_RSEQ:
		rc = parse_number(ps, h, INT32_MAX, &n, "expected a number 1 to 2^31-1");
		if (!rc && n == 0)
			return fail_hdr(ps, h, SIP_ERR_BAD_VALUE, "expected a number 1 to 2^31-1");
		m->rseq = n;
		return rc;
	case SIP_HDR_RACK:
		return parse_rack(ps, h);
	case SIP_HDR_REQUIRE:
		if (m->first[h->id] == i + 1)
			m->require = h->value;
		return 0;
	case SIP_HDR_SUPPORTED:
		if (m->first[h->id] == i + 1)
			m->supported = h->value;
		return 0;
	case SIP_HDR_EVENT:
		if (m->first[h->id] == i + 1)
			m->event = h->value;
		return 0;
	case SIP_HDR_REFER_TO:
		if (m->first[h->id] != i + 1)
			return 0;
		m->refer_to = h->value;
		return parse_addr_into(ps, h, &m->refer_to_addr, vstart(ps, h), vend(ps, h));
	case SIP_HDR_SESSION_EXPIRES: {
		if (m->first[h->id] != i + 1)
			return 0;
		const char *p = vstart(ps, h), *e = vend(ps, h);
		p = lex_uint(p, e, INT32_MAX, &m->session_expires_secs);
		if (!p || (p < e && *lex_skip_lws(p, e) != ';'))
			return fail_hdr(ps, h, SIP_ERR_BAD_VALUE, "expected delta-seconds");
		m->session_expires = h->value;
		return 0;
	}
	default:
		return 0;
	}
}

static int check_mandatory(struct parser *ps)
{
	static const uint8_t common[] = {SIP_HDR_VIA, SIP_HDR_FROM, SIP_HDR_TO, SIP_HDR_CALL_ID,
					 SIP_HDR_CSEQ};
	struct sip_msg *m = ps->m;

	for (size_t i = 0; i < sizeof(common); i++)
		if (!m->first[common[i]])
			return fail_missing(ps, (enum sip_hdr)common[i]);
	if (m->is_request && !m->first[SIP_HDR_MAX_FORWARDS])
		return fail_missing(ps, SIP_HDR_MAX_FORWARDS);
	if (m->is_request) {
		if (!sip_view_eq(ps->buf, m->cseq.method, ps->buf + m->method.off, m->method.len))
			return fail_hdr(ps, sip_find_hdr(m, SIP_HDR_CSEQ), SIP_ERR_BAD_VALUE,
					"method does not match the request method");
	}
	return 0;
}

static int parse_body(struct parser *ps, const char *body)
{
	struct sip_msg *m = ps->m;
	size_t avail = (size_t)(ps->end - body);

	if (m->content_length < 0) {
		/* UDP without Content-Length: the body runs to the end of the datagram */
		m->body = lex_view(ps->buf, body, ps->end);
		return 0;
	}
	if ((size_t)m->content_length > avail)
		return fail_hdr(ps, sip_find_hdr(m, SIP_HDR_CONTENT_LENGTH), SIP_ERR_BODY_TRUNCATED,
				"larger than the bytes that follow the headers");
	m->body = lex_view(ps->buf, body, body + m->content_length);
	return 0;
}

int sip_parse(struct sip_msg *m, const char *buf, size_t len, const struct sip_limits *lim)
{
	struct parser ps = {m, buf, buf + len, lim ? lim : &sip_default_limits};
	const char *p = buf, *eol, *body = NULL;
	int rc;

	/* Only the scalar part is cleared; arrays are filled up to their counts. */
	memset(m, 0, offsetof(struct sip_msg, hdrs));
	m->buf = buf;
	m->len = (uint32_t)(len > SIP_MAX_DATAGRAM ? SIP_MAX_DATAGRAM : len);
	m->max_forwards = -1;
	m->content_length = -1;

	if (len > ps.lim->max_datagram || len > SIP_MAX_DATAGRAM)
		return fail(&ps, SIP_ERR_TOO_LONG, "datagram larger than the limit");
	/* RFC 3261 7.5: CRLFs before the start line are ignored (keep-alives). */
	while (p < ps.end && (*p == '\r' || *p == '\n'))
		p++;
	if (ps.end - p < 12)
		return fail(&ps, SIP_ERR_TOO_SHORT, "too short to be a SIP message");

	eol = line_end(p, ps.end);
	if (!eol)
		return fail(&ps, SIP_ERR_START_LINE, "start line not terminated");
	if (eol - p > ps.lim->max_line)
		return fail(&ps, SIP_ERR_LINE_TOO_LONG, "start line longer than the limit");
	if (memchr(p, '\0', (size_t)(eol - p)))
		return fail(&ps, SIP_ERR_START_LINE, "NUL byte in the start line");
	m->is_request = !(eol - p >= 4 && memcmp(p, "SIP/", 4) == 0);
	rc = m->is_request ? parse_request_line(&ps, p, eol) : parse_status_line(&ps, p, eol);
	m->start_end = (uint16_t)(after_eol(eol) - buf);
	if (rc) {
		/* keep indexing headers so that a 400 can still be formed */
		index_headers(&ps, after_eol(eol), &body);
		return rc;
	}
	rc = index_headers(&ps, after_eol(eol), &body);
	if (rc)
		return rc;
	for (uint16_t i = 0; i < m->nhdrs; i++) {
		rc = parse_header(&ps, i);
		if (rc)
			return rc;
	}
	rc = check_mandatory(&ps);
	if (rc)
		return rc;
	return parse_body(&ps, body);
}
