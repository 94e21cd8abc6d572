/*
 * parse.c - parses one SIP datagram into views (RFC 3261 sections 7, 18.3, 20).
 *
 * Owns: the start line, splitting header lines (folding, compact forms), the
 * per-header rules the fast path relies on, mandatory-header and body-length
 * checks, and the error text. Two passes: the first indexes every header line,
 * the second parses the known ones, so that a message rejected in the second
 * pass still has its Via, From, To, Call-ID and CSeq lines indexed and can be
 * answered with 400. Does not own: URI grammar (uri.c), writing (write.c).
 *
 * Speed: the first pass reads each byte once. A line's name is scanned as a
 * token and looked up by a perfect hash; its value is skipped eight bytes at a
 * time up to the first control byte (lex_find_ctl), which is where the line
 * ends in all but folded, damaged or hostile lines. Those take the same rules
 * on slower paths, so the error a message gets does not depend on the path.
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

/* Canonical long names by id (RFC 3261 7.3.3, 3515, 3841, 3891, 4028, 4474, 6665).
 * Zero-padded arrays of 24, so that names are read a word at a time. */
struct hdr_def {
	char name[24];
	uint8_t len;
};

static const struct hdr_def hdr_defs[SIP_HDR_COUNT] = {
	[SIP_HDR_ACCEPT] = {"Accept", 6},
	[SIP_HDR_ACCEPT_CONTACT] = {"Accept-Contact", 14},
	[SIP_HDR_ALLOW] = {"Allow", 5},
	[SIP_HDR_ALLOW_EVENTS] = {"Allow-Events", 12},
	[SIP_HDR_AUTHORIZATION] = {"Authorization", 13},
	[SIP_HDR_CALL_ID] = {"Call-ID", 7},
	[SIP_HDR_CONTACT] = {"Contact", 7},
	[SIP_HDR_CONTENT_ENCODING] = {"Content-Encoding", 16},
	[SIP_HDR_CONTENT_LENGTH] = {"Content-Length", 14},
	[SIP_HDR_CONTENT_TYPE] = {"Content-Type", 12},
	[SIP_HDR_CSEQ] = {"CSeq", 4},
	[SIP_HDR_EVENT] = {"Event", 5},
	[SIP_HDR_EXPIRES] = {"Expires", 7},
	[SIP_HDR_FROM] = {"From", 4},
	[SIP_HDR_IDENTITY] = {"Identity", 8},
	[SIP_HDR_MAX_FORWARDS] = {"Max-Forwards", 12},
	[SIP_HDR_MIN_SE] = {"Min-SE", 6},
	[SIP_HDR_PROXY_AUTHORIZATION] = {"Proxy-Authorization", 19},
	[SIP_HDR_PROXY_REQUIRE] = {"Proxy-Require", 13},
	[SIP_HDR_RACK] = {"RAck", 4},
	[SIP_HDR_RECORD_ROUTE] = {"Record-Route", 12},
	[SIP_HDR_REFER_TO] = {"Refer-To", 8},
	[SIP_HDR_REFERRED_BY] = {"Referred-By", 11},
	[SIP_HDR_REJECT_CONTACT] = {"Reject-Contact", 14},
	[SIP_HDR_REQUEST_DISPOSITION] = {"Request-Disposition", 19},
	[SIP_HDR_REQUIRE] = {"Require", 7},
	[SIP_HDR_RETRY_AFTER] = {"Retry-After", 11},
	[SIP_HDR_ROUTE] = {"Route", 5},
	[SIP_HDR_RSEQ] = {"RSeq", 4},
	[SIP_HDR_SESSION_EXPIRES] = {"Session-Expires", 15},
	[SIP_HDR_SUBJECT] = {"Subject", 7},
	[SIP_HDR_SUPPORTED] = {"Supported", 9},
	[SIP_HDR_TO] = {"To", 2},
	[SIP_HDR_UNSUPPORTED] = {"Unsupported", 11},
	[SIP_HDR_USER_AGENT] = {"User-Agent", 10},
	[SIP_HDR_VIA] = {"Via", 3},
	[SIP_HDR_WWW_AUTHENTICATE] = {"WWW-Authenticate", 16},
	[SIP_HDR_PROXY_AUTHENTICATE] = {"Proxy-Authenticate", 18},
	[SIP_HDR_SERVER] = {"Server", 6},
	[SIP_HDR_WARNING] = {"Warning", 7},
};

/*
 * Long names by a perfect hash of (length, first letter, last letter), letters
 * folded to lower case. A slot names one candidate, which the lookup compares
 * in full. Two names in one slot would be an "initialized field overwritten"
 * error (-Woverride-init, part of -Wextra), so a new name that collides needs
 * other multipliers: 1, 15 and 18 are the smallest that separate these 40.
 */
#define HDR_SLOT(len, first, last) (((len) + 15 * ((first) | 0x20) + 18 * ((last) | 0x20)) & 127)

static const uint8_t hdr_slots[128] = {
	[HDR_SLOT(6, 'a', 't')] = SIP_HDR_ACCEPT,
	[HDR_SLOT(14, 'a', 't')] = SIP_HDR_ACCEPT_CONTACT,
	[HDR_SLOT(5, 'a', 'w')] = SIP_HDR_ALLOW,
	[HDR_SLOT(12, 'a', 's')] = SIP_HDR_ALLOW_EVENTS,
	[HDR_SLOT(13, 'a', 'n')] = SIP_HDR_AUTHORIZATION,
	[HDR_SLOT(7, 'c', 'd')] = SIP_HDR_CALL_ID,
	[HDR_SLOT(7, 'c', 't')] = SIP_HDR_CONTACT,
	[HDR_SLOT(16, 'c', 'g')] = SIP_HDR_CONTENT_ENCODING,
	[HDR_SLOT(14, 'c', 'h')] = SIP_HDR_CONTENT_LENGTH,
	[HDR_SLOT(12, 'c', 'e')] = SIP_HDR_CONTENT_TYPE,
	[HDR_SLOT(4, 'c', 'q')] = SIP_HDR_CSEQ,
	[HDR_SLOT(5, 'e', 't')] = SIP_HDR_EVENT,
	[HDR_SLOT(7, 'e', 's')] = SIP_HDR_EXPIRES,
	[HDR_SLOT(4, 'f', 'm')] = SIP_HDR_FROM,
	[HDR_SLOT(8, 'i', 'y')] = SIP_HDR_IDENTITY,
	[HDR_SLOT(12, 'm', 's')] = SIP_HDR_MAX_FORWARDS,
	[HDR_SLOT(6, 'm', 'e')] = SIP_HDR_MIN_SE,
	[HDR_SLOT(19, 'p', 'n')] = SIP_HDR_PROXY_AUTHORIZATION,
	[HDR_SLOT(13, 'p', 'e')] = SIP_HDR_PROXY_REQUIRE,
	[HDR_SLOT(4, 'r', 'k')] = SIP_HDR_RACK,
	[HDR_SLOT(12, 'r', 'e')] = SIP_HDR_RECORD_ROUTE,
	[HDR_SLOT(8, 'r', 'o')] = SIP_HDR_REFER_TO,
	[HDR_SLOT(11, 'r', 'y')] = SIP_HDR_REFERRED_BY,
	[HDR_SLOT(14, 'r', 't')] = SIP_HDR_REJECT_CONTACT,
	[HDR_SLOT(19, 'r', 'n')] = SIP_HDR_REQUEST_DISPOSITION,
	[HDR_SLOT(7, 'r', 'e')] = SIP_HDR_REQUIRE,
	[HDR_SLOT(11, 'r', 'r')] = SIP_HDR_RETRY_AFTER,
	[HDR_SLOT(5, 'r', 'e')] = SIP_HDR_ROUTE,
	[HDR_SLOT(4, 'r', 'q')] = SIP_HDR_RSEQ,
	[HDR_SLOT(15, 's', 's')] = SIP_HDR_SESSION_EXPIRES,
	[HDR_SLOT(7, 's', 't')] = SIP_HDR_SUBJECT,
	[HDR_SLOT(9, 's', 'd')] = SIP_HDR_SUPPORTED,
	[HDR_SLOT(2, 't', 'o')] = SIP_HDR_TO,
	[HDR_SLOT(11, 'u', 'd')] = SIP_HDR_UNSUPPORTED,
	[HDR_SLOT(10, 'u', 't')] = SIP_HDR_USER_AGENT,
	[HDR_SLOT(3, 'v', 'a')] = SIP_HDR_VIA,
	[HDR_SLOT(16, 'w', 'e')] = SIP_HDR_WWW_AUTHENTICATE,
	[HDR_SLOT(18, 'p', 'e')] = SIP_HDR_PROXY_AUTHENTICATE,
	[HDR_SLOT(6, 's', 'r')] = SIP_HDR_SERVER,
	[HDR_SLOT(7, 'w', 'g')] = SIP_HDR_WARNING,
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

static inline const struct hdr_def *hdr_candidate(size_t len, unsigned first, unsigned last)
{
	return &hdr_defs[hdr_slots[HDR_SLOT(len, first, last)]];
}

/* Lookup of a name made of token characters only (len >= 1). */
static inline enum sip_hdr hdr_lookup_token(const char *name, size_t len)
{
	unsigned first = (unsigned char)name[0] | 0x20;

	if (len == 1)
		return (first >= 'a' && first <= 'z') ? (enum sip_hdr)hdr_compact[first - 'a']
						       : SIP_HDR_OTHER;
	const struct hdr_def *d = hdr_candidate(len, first, (unsigned char)name[len - 1]);
	return lex_tok_ieq(name, len, d->name, d->len) ? (enum sip_hdr)(d - hdr_defs)
						      : SIP_HDR_OTHER;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HDR_FAST_NAMES 1
/* Index of the first ':' among the 8 bytes of x (memory order), or 8. */
static inline unsigned colon_at(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
	uint64_t y = x ^ (ones * ':');
	uint64_t t = (y - ones) & ~y & highs;
	return t ? (unsigned)__builtin_ctzll(t) >> 3 : 8;
}

/*
 * A known long name written as it should be, "Name:" with no space before the
 * colon, read a word at a time: the colon is found in the first 24 bytes, the
 * hash of (length, first, last byte) names the one candidate, and the words
 * are compared to it with 0x20 ORed in at its letters only, so that nothing but
 * the letters of that name in either case (and its '-' and digits exactly)
 * compares equal: a match proves the bytes are that name. Returns the colon,
 * or NULL for anything else (compact forms, unknown names, odd spacing,
 * fewer than 24 bytes left), which then takes the byte-wise path.
 */
static inline const char *hdr_name_fast(const char *line, const char *end, uint8_t *id)
{
	uint64_t w[3];
	unsigned k;

	if (end - line < 24)
		return NULL;
	w[0] = lex_load64(line);
	w[1] = lex_load64(line + 8);
	w[2] = lex_load64(line + 16);
	k = colon_at(w[0]);
	if (k == 8) {
		k = 8 + colon_at(w[1]);
		if (k == 16)
			k = 16 + colon_at(w[2]);
	}
	if (k < 2 || k == 24)
		return NULL;
	const struct hdr_def *d =
	    hdr_candidate(k, (unsigned char)line[0] | 0x20, (unsigned char)line[k - 1] | 0x20);
	if (d->len != k)
		return NULL;
	for (unsigned i = 0; i * 8 < k; i++) {
		uint64_t c = lex_load64(d->name + 8 * i);
		uint64_t fold = (c & 0x4040404040404040u) >> 1; /* 0x20 at letters */
		uint64_t keep = k - 8 * i >= 8 ? ~(uint64_t)0 : ~(~(uint64_t)0 << (8 * (k - 8 * i)));
		if (((w[i] | fold) & keep) != ((c | fold) & keep))
			return NULL;
	}
	*id = (uint8_t)(d - hdr_defs);
	return line + k;
}
#endif

enum sip_hdr sip_hdr_lookup(const char *name, size_t len)
{
	if (len == 0)
		return SIP_HDR_OTHER;
	for (size_t i = 0; i < len; i++)
		if (!lex_is((unsigned char)name[i], LEX_TOKEN))
			return SIP_HDR_OTHER; /* no header name holds it */
	return hdr_lookup_token(name, len);
}

const char *sip_hdr_name(enum sip_hdr id)
{
	return ((unsigned)id < SIP_HDR_COUNT && hdr_defs[id].len) ? hdr_defs[id].name : NULL;
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

enum sip_method sip_method_lookup(const char *s, size_t len)
{
/* memcmp with a constant length compiles to one or two word compares. */
#define M(name, id)                                                                                \
	if (memcmp(s, name, sizeof(name) - 1) == 0)                                                \
	return id
	switch (len) {
	case 3:
		M("ACK", SIP_METHOD_ACK);
		M("BYE", SIP_METHOD_BYE);
		break;
	case 4:
		M("INFO", SIP_METHOD_INFO);
		break;
	case 5:
		M("PRACK", SIP_METHOD_PRACK);
		M("REFER", SIP_METHOD_REFER);
		break;
	case 6:
		M("INVITE", SIP_METHOD_INVITE);
		M("CANCEL", SIP_METHOD_CANCEL);
		M("NOTIFY", SIP_METHOD_NOTIFY);
		M("UPDATE", SIP_METHOD_UPDATE);
		break;
	case 7:
		M("OPTIONS", SIP_METHOD_OPTIONS);
		M("MESSAGE", SIP_METHOD_MESSAGE);
		M("PUBLISH", SIP_METHOD_PUBLISH);
		break;
	case 8:
		M("REGISTER", SIP_METHOD_REGISTER);
		break;
	case 9:
		M("SUBSCRIBE", SIP_METHOD_SUBSCRIBE);
		break;
	default:
		break;
	}
#undef M
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
	/* RFC 3261 7.1: the SIP-Version string is case-insensitive: "SIP/" with
	 * its letters folded, then "/2.0" exactly. */
	if (end - p >= 7 && (lex_load32(p) | lex_load32("\x20\x20\x20\x00")) == lex_load32("sip/") &&
	    lex_load32(p + 3) == lex_load32("/2.0"))
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
	/* m->ruri is zeroed: read the URI in place and expect the SP after it. */
	p = sip_uri_scan(&m->ruri, ps->buf, s, eol);
	if (!p || p >= eol || *p != ' ') {
		/* not a URI up to a SP: tell a missing SP from a bad URI */
		p = s;
		while (p < eol && *p != ' ')
			p++;
		if (p == s || p >= eol)
			return fail(ps, SIP_ERR_START_LINE,
				    "request line must be METHOD SP URI SP SIP/2.0");
		if (p - s > ps->lim->max_uri)
			return fail(ps, SIP_ERR_URI, "Request-URI too long");
		if (sip_parse_uri(&m->ruri, ps->buf, (uint16_t)(s - ps->buf), (uint16_t)(p - s)))
			return fail(ps, SIP_ERR_URI, "malformed Request-URI");
	}
	if (p - s > ps->lim->max_uri)
		return fail(ps, SIP_ERR_URI, "Request-URI too long");
	p++;
	const char *v = sip_version(p, eol, &bad);
	if (!v || v != eol)
		return fail(ps, (bad || (eol - p >= 3 && lex_ieq(p, 3, "SIP", 3))) ? SIP_ERR_VERSION
									 : SIP_ERR_START_LINE,
			    "request line must end with SIP/2.0");
	return 0;
}

/* The end of the logical line at p (folds included) and, through *e, the start of
 * its terminator; NULL when the headers end before its terminator. Slow: only
 * for lines the one-pass scanner rejects, to report what the first error is. */
static const char *logical_line_end(const char *p, const char *end, const char **e)
{
	for (;;) {
		*e = line_end(p, end);
		if (!*e)
			return NULL;
		p = after_eol(*e);
		if (p < end && lex_ws(*p))
			continue;
		return p;
	}
}

/* A line that the one-pass scanner could not take: the first error for it, in
 * the order unterminated, too many lines, no name and colon. */
static int bad_line(struct parser *ps, const char *line, bool too_many)
{
	const char *e;

	if (!logical_line_end(line, ps->end, &e))
		return fail(ps, SIP_ERR_HEADER_SYNTAX, "headers not terminated by an empty line");
	if (too_many)
		return fail(ps, SIP_ERR_TOO_MANY_HEADERS, "more header lines than the limit");
	return fail(ps, SIP_ERR_HEADER_SYNTAX, "header line without name and colon");
}

/* Pass 1: index header lines from p; sets *body_start. */
static int index_headers(struct parser *ps, const char *p, const char **body_start)
{
	struct sip_msg *m = ps->m;
	const char *end = ps->end;
	const uint16_t max_headers = ps->lim->max_headers;
	const uint16_t max_line = ps->lim->max_line;

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
		if (m->nhdrs >= max_headers)
			return bad_line(ps, p, true);

		/* name, optional WS, colon: within the first physical line */
		const char *line = p, *n = NULL, *colon;
		uint8_t id = SIP_HDR_OTHER;
#ifdef HDR_FAST_NAMES
		n = hdr_name_fast(line, end, &id);
#endif
		if (n) {
			colon = n;
		} else {
			n = lex_span(line, end, LEX_TOKEN);
			colon = n;
			while (colon < end && lex_ws(*colon))
				colon++;
			if (n == line || colon >= end || *colon != ':')
				return bad_line(ps, line, false);
			id = (uint8_t)hdr_lookup_token(line, (size_t)(n - line));
		}

		/* the value up to the end of the logical line: this line plus folded
		 * continuations. NUL and a CR without LF are noted, not yet reported:
		 * an unterminated line or an overlong one is the error to give first. */
		const char *q = colon + 1, *eol, *bad = NULL, *why = NULL;
		for (;;) {
			q = lex_find_ctl(q, end);
			if (q >= end)
				return fail(ps, SIP_ERR_HEADER_SYNTAX,
					    "headers not terminated by an empty line");
			if (*q == '\n') {
				eol = q;
				p = q + 1;
			} else if (*q == '\r' && q + 1 < end && q[1] == '\n') {
				eol = q;
				p = q + 2;
			} else {
				if (*q == '\r' && q + 1 >= end)
					return fail(ps, SIP_ERR_HEADER_SYNTAX,
						    "headers not terminated by an empty line");
				if (!bad && (*q == '\r' || *q == '\0')) {
					bad = q;
					why = *q ? "CR without LF" : "NUL byte in a header line";
				}
				q++;
				continue;
			}
			if (p < end && lex_ws(*p)) {
				q = p;
				continue;
			}
			break;
		}

		struct sip_hdr_line *h = &m->hdrs[m->nhdrs];
		h->name = lex_view(ps->buf, line, n);
		h->id = id;
		if (p - line > max_line)
			return fail_hdr(ps, h, SIP_ERR_LINE_TOO_LONG, "header line longer than the limit");
		if (bad)
			return fail_hdr(ps, h, SIP_ERR_HEADER_SYNTAX, why);
		const char *vs = lex_skip_lws(colon + 1, eol);
		const char *ve = lex_trim_right(vs, eol);
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
	/* callid = word [ "@" word ] */
	const char *q = lex_span(p, e, LEX_WORD);
	if (q < e && *q == '@' && q > p && q + 1 < e)
		q = lex_span(q + 1, e, LEX_WORD);
	if (q != e)
		return fail_hdr(ps, h, SIP_ERR_BAD_VALUE, "invalid character in Call-ID");
	ps->m->call_id = h->value;
	return 0;
}

/* A token (a method) at p that must run to e. */
static const char *token_to_end(const char *p, const char *e)
{
	return lex_span(p, e, LEX_TOKEN);
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
	p = token_to_end(s, e);
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

	p = lex_uint(p, e, UINT32_MAX, &r->rseq); /* an RSeq value */
	const char *s = p ? lex_skip_lws(p, e) : NULL;
	if (!p || s == p)
		return fail_hdr(ps, h, SIP_ERR_BAD_VALUE, why);
	p = lex_uint(s, e, INT32_MAX, &r->cseq);
	s = p ? lex_skip_lws(p, e) : NULL;
	if (!p || s == p)
		return fail_hdr(ps, h, SIP_ERR_BAD_VALUE, why);
	p = token_to_end(s, e);
	if (p == s || p != e)
		return fail_hdr(ps, h, SIP_ERR_BAD_VALUE, why);
	r->method = lex_view(ps->buf, s, p);
	r->method_id = (uint8_t)sip_method_lookup(s, (size_t)(p - s));
	ps->m->has_rack = true;
	return 0;
}

/* sent-protocol = protocol-name SLASH protocol-version SLASH transport, where
 * SLASH may carry LWS on either side; returns the end or NULL. */
static const char *via_protocol(const char *p, const char *e, struct sip_via *v, const char *base)
{
	/* What everyone sends: "SIP/2.0/" then the transport token. */
	if (e - p > 8 && lex_load64(p) == lex_load64("SIP/2.0/") &&
	    lex_is((unsigned char)p[8], LEX_TOKEN)) {
		const char *s = p + 8;
		p = token_to_end(s, e);
		v->transport = lex_view(base, s, p);
		return p;
	}
	for (int part = 0; part < 3; part++) {
		const char *s = p;
		p = token_to_end(p, e);
		if (p == s)
			return NULL;
		if (part == 2) {
			v->transport = lex_view(base, s, p);
			break;
		}
		p = lex_skip_lws(p, e);
		if (p >= e || *p != '/')
			return NULL;
		p = lex_skip_lws(p + 1, e);
	}
	return p;
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
	p = via_protocol(p, e, v, ps->buf);
	if (!p)
		return fail_hdr(ps, h, SIP_ERR_BAD_VALUE, why);
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
		p = lex_span(p, e, LEX_HOST);
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

	struct lex_param prm;
	int rc;
	while ((rc = lex_param_next(&p, e, &prm)) > 0) {
		sip_view val = prm.val ? lex_view(ps->buf, prm.val, prm.val + prm.vlen)
				       : (sip_view){0, 0};
		switch (prm.nlen) {
		case 3:
			if (LEX_TOK_IEQ(prm.name, 3, "ttl"))
				v->ttl = val;
			break;
		case 5:
			if (LEX_TOK_IEQ(prm.name, 5, "rport")) {
				v->rport = val;
				v->has_rport = true;
			} else if (LEX_TOK_IEQ(prm.name, 5, "maddr")) {
				v->maddr = val;
			}
			break;
		case 6:
			if (LEX_TOK_IEQ(prm.name, 6, "branch"))
				v->branch = val;
			break;
		case 8:
			if (LEX_TOK_IEQ(prm.name, 8, "received"))
				v->received = val;
			break;
		default:
			break;
		}
	}
	if (rc < 0 || lex_skip_lws(p, e) != e)
		return fail_hdr(ps, h, SIP_ERR_BAD_VALUE, "bad Via parameter");
	m->nvias++;
	return 0;
}

/* Calls fn for each comma-separated value of a header line. */
typedef int (*value_fn)(struct parser *ps, const struct sip_hdr_line *h, uint16_t line,
			const char *p, const char *e);

static inline int each_value(struct parser *ps, const struct sip_hdr_line *h, uint16_t line,
			     value_fn fn)
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
#define SINGLE_VALUED                                                                              \
	(SIP_HBIT(SIP_HDR_CALL_ID) | SIP_HBIT(SIP_HDR_TO) | SIP_HBIT(SIP_HDR_FROM) |                 \
	 SIP_HBIT(SIP_HDR_CSEQ) | SIP_HBIT(SIP_HDR_CONTENT_LENGTH) | SIP_HBIT(SIP_HDR_MAX_FORWARDS))

static int parse_header(struct parser *ps, uint16_t i)
{
	struct sip_msg *m = ps->m;
	const struct sip_hdr_line *h = &m->hdrs[i];
	uint32_t n;
	int rc;

	if ((SINGLE_VALUED & SIP_HBIT(h->id)) && m->first[h->id] != i + 1)
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
		if (!rc)
			m->max_forwards = (int32_t)n;
		return rc;
	case SIP_HDR_CONTENT_LENGTH:
		rc = parse_number(ps, h, INT32_MAX, &n, "expected a number");
		if (!rc)
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
		/* RFC 3262 7.1: starts below 2^31 and counts up, so 1 to 2^32-1 */
		rc = parse_number(ps, h, UINT32_MAX, &n, "expected a number 1 to 2^32-1");
		if (!rc && n == 0)
			return fail_hdr(ps, h, SIP_ERR_BAD_VALUE, "expected a number 1 to 2^32-1");
		if (!rc)
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
		/* Methods are case-sensitive: one known id on both sides means one name. */
		bool same = m->method_id != SIP_METHOD_OTHER ? m->cseq.method_id == m->method_id
			    : sip_view_eq(ps->buf, m->cseq.method, ps->buf + m->method.off,
					  m->method.len);
		if (!same)
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

/* The start line's terminator at or after p, checked the way the header lines
 * are (unterminated, too long, NUL), or NULL after failing. */
static const char *start_line_end(struct parser *ps, const char *p)
{
	/* Fast: the first control byte is its CRLF (or LF), so no NUL precedes it. */
	const char *q = lex_find_ctl(p, ps->end);
	const char *eol = NULL;
	if (q < ps->end && (*q == '\n' || (*q == '\r' && q + 1 < ps->end && q[1] == '\n')))
		eol = q;
	else
		eol = line_end(p, ps->end);
	if (!eol) {
		fail(ps, SIP_ERR_START_LINE, "start line not terminated");
		return NULL;
	}
	if (eol - p > ps->lim->max_line) {
		fail(ps, SIP_ERR_LINE_TOO_LONG, "start line longer than the limit");
		return NULL;
	}
	if (q < eol && memchr(q, '\0', (size_t)(eol - q))) {
		fail(ps, SIP_ERR_START_LINE, "NUL byte in the start line");
		return NULL;
	}
	return eol;
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

	eol = start_line_end(&ps, p);
	if (!eol)
		return -m->err;
	m->is_request = !(eol - p >= 4 && lex_ieq(p, 4, "SIP/", 4));
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
