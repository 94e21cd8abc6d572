/*
 * parse.c - parses one SIP datagram into views (RFC 3261 sections 7, 18.3, 20).
 *
 * Owns: the start line, splitting header lines (folding, compact forms), the
 * per-header rules the fast path relies on, mandatory-header and body-length
 * checks, and the error text. Does not own: URI grammar (uri.c), writing
 * (write.c).
 *
 * One pass over the header block: each line is indexed, then the value of a
 * known header is parsed while the line is still in cache. Every line is
 * indexed even after a value fails, and an error in the line structure
 * outranks an earlier value error, so that a message rejected for a value
 * still has its Via, From, To, Call-ID and CSeq lines indexed and can be
 * answered with 400, and the error a message gets is the one a pass that
 * indexes everything before reading any value would give.
 *
 * Speed: a line's name is found by its colon and a perfect hash, a word at a
 * time; its value is skipped sixteen bytes at a time up to the first control
 * byte, which is where the line ends in all but folded, damaged or hostile
 * lines. Those take the same rules on slower paths, so the outcome does not
 * depend on the path.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/wbuf.h"
#include "sip/lex.h"

const struct sip_limits sip_default_limits = {
    .max_headers = SIP_MAX_HEADERS,
    .max_line = 8192,
    .max_uri = 2048,
    .max_datagram = SIP_MAX_DATAGRAM,
};

/* Canonical long names by id (RFC 3261 7.3.3, 3515, 3841, 3891, 3911, 4028, 4474, 6665),
 * as written and in lower case, zero-padded so that they are read a word at a
 * time. */
struct hdr_def {
	char name[24];
	char lower[24];
	uint8_t len;
	uint8_t pad_[15]; /* 64 bytes: an entry is found with a shift */
};

static const struct hdr_def hdr_defs[SIP_HDR_COUNT] = {
    [SIP_HDR_ACCEPT] = {"Accept", "accept", 6},
    [SIP_HDR_ACCEPT_CONTACT] = {"Accept-Contact", "accept-contact", 14},
    [SIP_HDR_ALLOW] = {"Allow", "allow", 5},
    [SIP_HDR_ALLOW_EVENTS] = {"Allow-Events", "allow-events", 12},
    [SIP_HDR_AUTHORIZATION] = {"Authorization", "authorization", 13},
    [SIP_HDR_CALL_ID] = {"Call-ID", "call-id", 7},
    [SIP_HDR_CONTACT] = {"Contact", "contact", 7},
    [SIP_HDR_CONTENT_ENCODING] = {"Content-Encoding", "content-encoding", 16},
    [SIP_HDR_CONTENT_LENGTH] = {"Content-Length", "content-length", 14},
    [SIP_HDR_CONTENT_TYPE] = {"Content-Type", "content-type", 12},
    [SIP_HDR_CSEQ] = {"CSeq", "cseq", 4},
    [SIP_HDR_EVENT] = {"Event", "event", 5},
    [SIP_HDR_EXPIRES] = {"Expires", "expires", 7},
    [SIP_HDR_FROM] = {"From", "from", 4},
    [SIP_HDR_IDENTITY] = {"Identity", "identity", 8},
    [SIP_HDR_MAX_FORWARDS] = {"Max-Forwards", "max-forwards", 12},
    [SIP_HDR_MIN_SE] = {"Min-SE", "min-se", 6},
    [SIP_HDR_PROXY_AUTHORIZATION] = {"Proxy-Authorization", "proxy-authorization", 19},
    [SIP_HDR_PROXY_REQUIRE] = {"Proxy-Require", "proxy-require", 13},
    [SIP_HDR_RACK] = {"RAck", "rack", 4},
    [SIP_HDR_RECORD_ROUTE] = {"Record-Route", "record-route", 12},
    [SIP_HDR_REFER_TO] = {"Refer-To", "refer-to", 8},
    [SIP_HDR_REFERRED_BY] = {"Referred-By", "referred-by", 11},
    [SIP_HDR_REJECT_CONTACT] = {"Reject-Contact", "reject-contact", 14},
    [SIP_HDR_REQUEST_DISPOSITION] = {"Request-Disposition", "request-disposition", 19},
    [SIP_HDR_REQUIRE] = {"Require", "require", 7},
    [SIP_HDR_RETRY_AFTER] = {"Retry-After", "retry-after", 11},
    [SIP_HDR_ROUTE] = {"Route", "route", 5},
    [SIP_HDR_RSEQ] = {"RSeq", "rseq", 4},
    [SIP_HDR_SESSION_EXPIRES] = {"Session-Expires", "session-expires", 15},
    [SIP_HDR_SUBJECT] = {"Subject", "subject", 7},
    [SIP_HDR_SUPPORTED] = {"Supported", "supported", 9},
    [SIP_HDR_TO] = {"To", "to", 2},
    [SIP_HDR_UNSUPPORTED] = {"Unsupported", "unsupported", 11},
    [SIP_HDR_USER_AGENT] = {"User-Agent", "user-agent", 10},
    [SIP_HDR_VIA] = {"Via", "via", 3},
    [SIP_HDR_WWW_AUTHENTICATE] = {"WWW-Authenticate", "www-authenticate", 16},
    [SIP_HDR_PROXY_AUTHENTICATE] = {"Proxy-Authenticate", "proxy-authenticate", 18},
    [SIP_HDR_SERVER] = {"Server", "server", 6},
    [SIP_HDR_WARNING] = {"Warning", "warning", 7},
    [SIP_HDR_TIMESTAMP] = {"Timestamp", "timestamp", 9},
    [SIP_HDR_REPLACES] = {"Replaces", "replaces", 8},
    [SIP_HDR_JOIN] = {"Join", "join", 4},
};

/*
 * Long names by a perfect hash of their length and first eight bytes in lower
 * case (zero-padded), read as a little-endian word: the one candidate in a
 * slot is then compared in full. HDR_KEY builds that word from characters, so
 * the slots below are computed by the compiler; two names in one slot would be
 * an "initialized field overwritten" error (-Woverride-init, part of -Wextra).
 * The multiplier is one of many odd numbers that separate these 43 names.
 */
#define HDR_KEY(a, b, c, d, e, f, g, h)                                                            \
	((uint64_t)(a) | (uint64_t)(b) << 8 | (uint64_t)(c) << 16 | (uint64_t)(d) << 24 |          \
	 (uint64_t)(e) << 32 | (uint64_t)(f) << 40 | (uint64_t)(g) << 48 | (uint64_t)(h) << 56)
#define HDR_HASH_KEY(key, len)                                                                     \
	((((uint64_t)(key) ^ (uint64_t)(len)) * UINT64_C(0xa6e31b4866748f47)) >> 57)
#define HDR_HASH(len, ...) HDR_HASH_KEY(HDR_KEY(__VA_ARGS__), len)

static const uint8_t hdr_slots[128] = {
    [HDR_HASH(6, 'a', 'c', 'c', 'e', 'p', 't', 0, 0)] = SIP_HDR_ACCEPT,
    [HDR_HASH(14, 'a', 'c', 'c', 'e', 'p', 't', '-', 'c')] = SIP_HDR_ACCEPT_CONTACT,
    [HDR_HASH(5, 'a', 'l', 'l', 'o', 'w', 0, 0, 0)] = SIP_HDR_ALLOW,
    [HDR_HASH(12, 'a', 'l', 'l', 'o', 'w', '-', 'e', 'v')] = SIP_HDR_ALLOW_EVENTS,
    [HDR_HASH(13, 'a', 'u', 't', 'h', 'o', 'r', 'i', 'z')] = SIP_HDR_AUTHORIZATION,
    [HDR_HASH(7, 'c', 'a', 'l', 'l', '-', 'i', 'd', 0)] = SIP_HDR_CALL_ID,
    [HDR_HASH(7, 'c', 'o', 'n', 't', 'a', 'c', 't', 0)] = SIP_HDR_CONTACT,
    [HDR_HASH(16, 'c', 'o', 'n', 't', 'e', 'n', 't', '-')] = SIP_HDR_CONTENT_ENCODING,
    [HDR_HASH(14, 'c', 'o', 'n', 't', 'e', 'n', 't', '-')] = SIP_HDR_CONTENT_LENGTH,
    [HDR_HASH(12, 'c', 'o', 'n', 't', 'e', 'n', 't', '-')] = SIP_HDR_CONTENT_TYPE,
    [HDR_HASH(4, 'c', 's', 'e', 'q', 0, 0, 0, 0)] = SIP_HDR_CSEQ,
    [HDR_HASH(5, 'e', 'v', 'e', 'n', 't', 0, 0, 0)] = SIP_HDR_EVENT,
    [HDR_HASH(7, 'e', 'x', 'p', 'i', 'r', 'e', 's', 0)] = SIP_HDR_EXPIRES,
    [HDR_HASH(4, 'f', 'r', 'o', 'm', 0, 0, 0, 0)] = SIP_HDR_FROM,
    [HDR_HASH(8, 'i', 'd', 'e', 'n', 't', 'i', 't', 'y')] = SIP_HDR_IDENTITY,
    [HDR_HASH(12, 'm', 'a', 'x', '-', 'f', 'o', 'r', 'w')] = SIP_HDR_MAX_FORWARDS,
    [HDR_HASH(6, 'm', 'i', 'n', '-', 's', 'e', 0, 0)] = SIP_HDR_MIN_SE,
    [HDR_HASH(19, 'p', 'r', 'o', 'x', 'y', '-', 'a', 'u')] = SIP_HDR_PROXY_AUTHORIZATION,
    [HDR_HASH(13, 'p', 'r', 'o', 'x', 'y', '-', 'r', 'e')] = SIP_HDR_PROXY_REQUIRE,
    [HDR_HASH(4, 'r', 'a', 'c', 'k', 0, 0, 0, 0)] = SIP_HDR_RACK,
    [HDR_HASH(12, 'r', 'e', 'c', 'o', 'r', 'd', '-', 'r')] = SIP_HDR_RECORD_ROUTE,
    [HDR_HASH(8, 'r', 'e', 'f', 'e', 'r', '-', 't', 'o')] = SIP_HDR_REFER_TO,
    [HDR_HASH(11, 'r', 'e', 'f', 'e', 'r', 'r', 'e', 'd')] = SIP_HDR_REFERRED_BY,
    [HDR_HASH(14, 'r', 'e', 'j', 'e', 'c', 't', '-', 'c')] = SIP_HDR_REJECT_CONTACT,
    [HDR_HASH(19, 'r', 'e', 'q', 'u', 'e', 's', 't', '-')] = SIP_HDR_REQUEST_DISPOSITION,
    [HDR_HASH(7, 'r', 'e', 'q', 'u', 'i', 'r', 'e', 0)] = SIP_HDR_REQUIRE,
    [HDR_HASH(11, 'r', 'e', 't', 'r', 'y', '-', 'a', 'f')] = SIP_HDR_RETRY_AFTER,
    [HDR_HASH(5, 'r', 'o', 'u', 't', 'e', 0, 0, 0)] = SIP_HDR_ROUTE,
    [HDR_HASH(4, 'r', 's', 'e', 'q', 0, 0, 0, 0)] = SIP_HDR_RSEQ,
    [HDR_HASH(15, 's', 'e', 's', 's', 'i', 'o', 'n', '-')] = SIP_HDR_SESSION_EXPIRES,
    [HDR_HASH(7, 's', 'u', 'b', 'j', 'e', 'c', 't', 0)] = SIP_HDR_SUBJECT,
    [HDR_HASH(9, 's', 'u', 'p', 'p', 'o', 'r', 't', 'e')] = SIP_HDR_SUPPORTED,
    [HDR_HASH(2, 't', 'o', 0, 0, 0, 0, 0, 0)] = SIP_HDR_TO,
    [HDR_HASH(11, 'u', 'n', 's', 'u', 'p', 'p', 'o', 'r')] = SIP_HDR_UNSUPPORTED,
    [HDR_HASH(10, 'u', 's', 'e', 'r', '-', 'a', 'g', 'e')] = SIP_HDR_USER_AGENT,
    [HDR_HASH(3, 'v', 'i', 'a', 0, 0, 0, 0, 0)] = SIP_HDR_VIA,
    [HDR_HASH(16, 'w', 'w', 'w', '-', 'a', 'u', 't', 'h')] = SIP_HDR_WWW_AUTHENTICATE,
    [HDR_HASH(18, 'p', 'r', 'o', 'x', 'y', '-', 'a', 'u')] = SIP_HDR_PROXY_AUTHENTICATE,
    [HDR_HASH(6, 's', 'e', 'r', 'v', 'e', 'r', 0, 0)] = SIP_HDR_SERVER,
    [HDR_HASH(7, 'w', 'a', 'r', 'n', 'i', 'n', 'g', 0)] = SIP_HDR_WARNING,
    [HDR_HASH(9, 't', 'i', 'm', 'e', 's', 't', 'a', 'm')] = SIP_HDR_TIMESTAMP,
    [HDR_HASH(8, 'r', 'e', 'p', 'l', 'a', 'c', 'e', 's')] = SIP_HDR_REPLACES,
    [HDR_HASH(4, 'j', 'o', 'i', 'n', 0, 0, 0, 0)] = SIP_HDR_JOIN,
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

/* Bytes 0 to n-1 of a little-endian word, by n (n >= 8: all of them). */
static const uint64_t hdr_word_mask[9] = {
    0,
    UINT64_C(0xff),
    UINT64_C(0xffff),
    UINT64_C(0xffffff),
    UINT64_C(0xffffffff),
    UINT64_C(0xffffffffff),
    UINT64_C(0xffffffffffff),
    UINT64_C(0xffffffffffffff),
    ~UINT64_C(0),
};

/* The first n bytes (all eight when n >= 8) of the little-endian word x, letters
 * folded to lower case: a name's hash key. */
static inline uint64_t hdr_word(uint64_t x, size_t n)
{
	return (x | 0x2020202020202020u) & hdr_word_mask[n < 8 ? n : 8];
}

/* Lookup of a name made of token characters only (len >= 1), of which avail
 * bytes (at least len) may be read. */
static inline enum sip_hdr hdr_lookup_token(const char *name, size_t len, size_t avail)
{
	unsigned first = (unsigned char)name[0] | 0x20;

	if (len == 1)
		return (first >= 'a' && first <= 'z') ? (enum sip_hdr)hdr_compact[first - 'a']
						      : SIP_HDR_OTHER;
	uint64_t key = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (avail >= 8) {
		key = hdr_word(lex_load64(name), len);
	} else
#endif
	{
		for (size_t i = 0; i < len && i < 8; i++)
			key |= (uint64_t)((unsigned char)name[i] | 0x20) << (8 * i);
	}
	uint8_t id = hdr_slots[HDR_HASH_KEY(key, len)];
	return lex_tok_ieq(name, len, hdr_defs[id].lower, hdr_defs[id].len) ? (enum sip_hdr)id
									    : SIP_HDR_OTHER;
}

#if defined(__SSE2__) && defined(__x86_64__)
#define HDR_FAST_NAMES 1
/*
 * The start of a header line written as it should be: a name of 2 to 15 token
 * bytes, known or not, then ':' with no space before it. One 16-byte load
 * gives the colon, the control bytes and the commas; the name, ORed with 0x20,
 * is hashed and compared to the one candidate in lower case (no match: an
 * extension header, SIP_HDR_OTHER). OR 0x20 maps onto a letter only that
 * letter in either case, and onto '-' only '-' and CR, which cannot match here
 * because no control byte may precede the colon. Returns the colon and sets
 * *id and *q, the first control byte after the colon (or the point from which
 * to look for it, sixteen bytes in), and *comma when the bytes read hold a
 * ','. Returns NULL for anything else (compact forms, long names, odd spacing,
 * fewer than 16 bytes left), which then takes the byte-wise path.
 */
static inline const char *hdr_line_fast(const char *line, const char *end, uint8_t *id,
					const char **q, bool *comma)
{
	if (end - line < 16)
		return NULL;
	__m128i x = _mm_loadu_si128((const __m128i *)(const void *)line);
	unsigned ctl = 0xFFFF & ~(unsigned)_mm_movemask_epi8(
				    _mm_cmpeq_epi8(_mm_max_epu8(x, _mm_set1_epi8(0x0E)), x));
	unsigned col = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8(':')));
	unsigned k = (unsigned)__builtin_ctz(col | 0x10000);
	unsigned before = (1u << k) - 1; /* bits of the name */
	if (k < 2 || k == 16 || (ctl & before))
		return NULL;
	uint64_t key = hdr_word((uint64_t)_mm_cvtsi128_si64(x), k);
	uint8_t i = hdr_slots[HDR_HASH_KEY(key, k)];
	const struct hdr_def *d = &hdr_defs[i];
	if (d->len != k || key != lex_load64(d->lower) ||
	    (k > 8 && hdr_word(lex_load64(line + 8), k - 8) != lex_load64(d->lower + 8))) {
		/* not a known name: an extension header, if its bytes are a token */
		if (lex_span(line, line + k, LEX_TOKEN) != line + k)
			return NULL;
		i = SIP_HDR_OTHER;
	}
	*id = i;
	*comma = _mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8(','))) != 0;
	ctl &= ~before;
	*q = ctl ? line + __builtin_ctz(ctl) : line + 16;
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
	return hdr_lookup_token(name, len, len);
}

const char *sip_hdr_name(enum sip_hdr id)
{
	return ((unsigned)id < SIP_HDR_COUNT && hdr_defs[id].len) ? hdr_defs[id].name : NULL;
}

static const char *const method_names[SIP_METHOD_COUNT_] = {
    [SIP_METHOD_INVITE] = "INVITE",   [SIP_METHOD_ACK] = "ACK",
    [SIP_METHOD_BYE] = "BYE",	      [SIP_METHOD_CANCEL] = "CANCEL",
    [SIP_METHOD_OPTIONS] = "OPTIONS", [SIP_METHOD_REGISTER] = "REGISTER",
    [SIP_METHOD_INFO] = "INFO",	      [SIP_METHOD_MESSAGE] = "MESSAGE",
    [SIP_METHOD_NOTIFY] = "NOTIFY",   [SIP_METHOD_PRACK] = "PRACK",
    [SIP_METHOD_REFER] = "REFER",     [SIP_METHOD_SUBSCRIBE] = "SUBSCRIBE",
    [SIP_METHOD_UPDATE] = "UPDATE",   [SIP_METHOD_PUBLISH] = "PUBLISH",
};

bool sip_is_token(const char *s, size_t len)
{
	return len > 0 && lex_span(s, s + len, LEX_TOKEN) == s + len;
}

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

int sip_token_params(const char *buf, sip_view value, const char *name, sip_view *token,
		     sip_view *param)
{
	const char *p = buf + value.off, *end = p + value.len, *t = p;
	struct lex_param prm;
	int rc;

	p = lex_span(p, end, LEX_TOKEN);
	if (p == t)
		return -SIP_ERR_BAD_VALUE;
	*token = lex_view(buf, t, p);
	*param = (sip_view){0, 0};
	while ((rc = lex_param_next(&p, end, &prm)) > 0)
		if (name && prm.val && lex_ieq(prm.name, prm.nlen, name, strlen(name)))
			*param = lex_view(buf, prm.val, prm.val + prm.vlen);
	return rc < 0 || p != end ? -SIP_ERR_BAD_VALUE : 0;
}

bool sip_reason_ok(const char *buf, sip_view value)
{
	const char *p = buf + value.off, *end = p + value.len;
	struct lex_param prm;
	int rc;

	/* no control byte anywhere (so no fold, which the copy would carry as
	 * it came): a value that passed here is written on one line as read */
	for (const char *q = p; q < end; q++)
		if ((unsigned char)*q < 0x20 ? *q != '\t' : *q == 0x7f)
			return false;
	for (;;) {
		const char *t = p;
		p = lex_span(p, end, LEX_TOKEN);
		if (p == t)
			return false;
		while ((rc = lex_param_next(&p, end, &prm)) > 0) {
			/* protocol-cause = "cause" EQUAL 1*DIGIT, reason-text =
			 * "text" EQUAL quoted-string (RFC 3326 2); other
			 * parameters are generic-params, as the lexer read them */
			if (LEX_TOK_IEQ(prm.name, prm.nlen, "cause") &&
			    (!prm.val || lex_span(prm.val, prm.val + prm.vlen, LEX_DIGIT) !=
					     prm.val + prm.vlen))
				return false;
			if (LEX_TOK_IEQ(prm.name, prm.nlen, "text") &&
			    (!prm.val || *prm.val != '"'))
				return false;
		}
		if (rc < 0)
			return false;
		if (p == end)
			return true;
		if (*p != ',')
			return false;
		p++;
		if (p < end && lex_lws_char(*p))
			p = lex_skip_lws_slow(p, end);
	}
}

int sip_dialog_ref_parse(const char *buf, sip_view value, struct sip_dialog_ref *r)
{
	const char *p = buf + value.off, *end = p + value.len, *t = p;
	struct lex_param prm;
	int rc, to = 0, from = 0;

	/* callid = word [ "@" word ] (RFC 3261 25.1) */
	p = lex_span(p, end, LEX_WORD);
	if (p < end && *p == '@')
		p = lex_span(p + 1, end, LEX_WORD);
	if (p == t || (p[-1] == '@'))
		return -SIP_ERR_BAD_VALUE;
	*r = (struct sip_dialog_ref){.call_id = lex_view(buf, t, p)};
	r->params = lex_view(buf, p, end);
	while ((rc = lex_param_next(&p, end, &prm)) > 0) {
		bool is_to = LEX_TOK_IEQ(prm.name, prm.nlen, "to-tag");
		if (LEX_TOK_IEQ(prm.name, prm.nlen, "early-only")) {
			r->early_only = true;
		} else if (is_to || LEX_TOK_IEQ(prm.name, prm.nlen, "from-tag")) {
			/* to-tag EQUAL token, from-tag EQUAL token: a tag without a value
			 * makes the header malformed, and taking it for an extension
			 * would let the rewrite send a second to-tag or from-tag on. */
			if (!prm.val)
				return -SIP_ERR_BAD_VALUE;
			if (is_to) {
				r->to_tag = lex_view(buf, prm.val, prm.val + prm.vlen);
				to++;
			} else {
				r->from_tag = lex_view(buf, prm.val, prm.val + prm.vlen);
				from++;
			}
		}
	}
	return rc < 0 || p != end || to != 1 || from != 1 ? -SIP_ERR_BAD_VALUE : 0;
}

int sip_dialog_ref_write(const char *buf, const struct sip_dialog_ref *r, const char *call_id,
			 const char *to_tag, const char *from_tag, char *out, size_t cap)
{
	const char *p = buf + r->params.off, *end = p + r->params.len;
	struct lex_param prm;
	struct wbuf w = {out, 0, cap, false};

	wbuf_puts(&w, call_id);
	wbuf_puts(&w, ";to-tag=");
	wbuf_puts(&w, to_tag);
	wbuf_puts(&w, ";from-tag=");
	wbuf_puts(&w, from_tag);
	while (lex_param_next(&p, end, &prm) > 0) {
		/* by name: the parse took one of each, with a value */
		if (LEX_TOK_IEQ(prm.name, prm.nlen, "to-tag") ||
		    LEX_TOK_IEQ(prm.name, prm.nlen, "from-tag"))
			continue;
		wbuf_put(&w, ";", 1);
		wbuf_put(&w, prm.name, prm.nlen);
		if (prm.val) {
			wbuf_put(&w, "=", 1);
			wbuf_put(&w, prm.val, prm.vlen);
		}
	}
	wbuf_put(&w, "", 1);
	return w.overflow ? -ENOSPC : (int)w.len - 1;
}

/* A trimmed value that is delta-seconds (up to 2^31-1), then parameters or
 * nothing (Session-Expires, Min-SE). */
static bool delta_seconds(const char *p, const char *e, uint32_t *out)
{
	const char *q = lex_uint(p, e, INT32_MAX, out);
	return q && (q == e || *lex_skip_lws(q, e) == ';');
}

bool sip_has_option_tag(const struct sip_msg *m, enum sip_hdr id, const char *tag)
{
	size_t tlen = strlen(tag);

	for (unsigned i = m->first[id] ? m->first[id] - 1u : m->nhdrs; i < m->nhdrs; i++) {
		if (m->hdrs[i].id != id)
			continue;
		const char *p = m->buf + m->hdrs[i].value.off, *end = p + m->hdrs[i].value.len;
		while (p < end) {
			const char *comma = memchr(p, ',', (size_t)(end - p));
			const char *e = comma ? comma : end;
			const char *t = lex_skip_lws(p, e);
			if (lex_ieq(t, (size_t)(lex_trim_right(t, e) - t), tag, tlen))
				return true;
			p = comma ? comma + 1 : end;
		}
	}
	return false;
}

bool sip_is_reliable_provisional(const struct sip_msg *m)
{
	return !m->is_request && m->status > 100 && m->status < 200 && m->rseq != 0 &&
	       sip_has_option_tag(m, SIP_HDR_REQUIRE, "100rel");
}

bool sip_hdr_delta_seconds(const struct sip_msg *m, enum sip_hdr id, uint32_t *out)
{
	const struct sip_hdr_line *h = sip_find_hdr(m, id);
	if (!h)
		return false;
	const char *p = m->buf + h->value.off, *e = p + h->value.len;
	if (id != SIP_HDR_RETRY_AFTER)
		return delta_seconds(p, e, out);
	/* RFC 3261 20.33: delta-seconds [ comment ] *( SEMI retry-param ) */
	const char *q = lex_uint(p, e, INT32_MAX, out);
	if (q)
		q = lex_skip_lws(q, e);
	return q && (q == e || *q == ';' || *q == '(');
}

unsigned sip_hdr_lines(const struct sip_msg *m, enum sip_hdr id)
{
	unsigned n = 0;
	for (uint16_t i = m->first[id] ? m->first[id] - 1 : m->nhdrs; i < m->nhdrs; i++)
		n += m->hdrs[i].id == id;
	return n;
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
	if (end - p >= 7 &&
	    (lex_load32(p) | lex_load32("\x20\x20\x20\x00")) == lex_load32("sip/") &&
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

	p = lex_span(p, eol, LEX_TOKEN);
	if (p == s || p >= eol || *p != ' ')
		return fail(ps, SIP_ERR_START_LINE,
			    "request line must be METHOD SP URI SP SIP/2.0");
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
	/* another version (SIP/3.0, SIP/2.00) is answered 505
	 * (sip_error_status); SIP/2.0 with anything but digits after it (RFC
	 * 4475 3.1.2.10: spaces) is a malformed line, 400 */
	if (!v || v != eol) {
		bool version = v ? lex_is((unsigned char)*v, LEX_DIGIT)
				 : bad || (eol - p >= 3 && lex_ieq(p, 3, "SIP", 3));
		return fail(ps, version ? SIP_ERR_VERSION : SIP_ERR_START_LINE,
			    "request line must end with SIP/2.0");
	}
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

/* ---- header values ------------------------------------------------------ */

static int parse_call_id(struct parser *ps, const struct sip_hdr_line *h, const char *p,
			 const char *e)
{

	if (p == e)
		return fail_hdr(ps, h, SIP_ERR_BAD_VALUE, "empty Call-ID");
	/* callid = word [ "@" word ] */
	const char *q = lex_span_long(p, e, ps->end, LEX_WORD);
	if (q < e && *q == '@' && q > p && q + 1 < e)
		q = lex_span_long(q + 1, e, ps->end, LEX_WORD);
	if (q != e)
		return fail_hdr(ps, h, SIP_ERR_BAD_VALUE, "invalid character in Call-ID");
	ps->m->call_id = h->value;
	return 0;
}

/* The end of the token (a method, a transport) at p. */
static const char *token_to_end(const char *p, const char *e)
{
	return lex_span(p, e, LEX_TOKEN);
}

static int parse_cseq(struct parser *ps, const struct sip_hdr_line *h, const char *p, const char *e)
{
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

static int parse_number(struct parser *ps, const struct sip_hdr_line *h, const char *p,
			const char *e, uint32_t max, uint32_t *out, const char *what)
{

	p = lex_uint(p, e, max, out);
	if (!p || p != e)
		return fail_hdr(ps, h, SIP_ERR_BAD_VALUE, what);
	return 0;
}

static int parse_rack(struct parser *ps, const struct sip_hdr_line *h, const char *p, const char *e)
{
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
	/* What everyone sends: "SIP/2.0/" then the transport token, nearly always
	 * "UDP " (the SP is the caller's), which two loads settle. */
	if (e - p > 8 && lex_load64(p) == lex_load64("SIP/2.0/")) {
		const char *s = p + 8;
		if (e - p > 12 && lex_load32(s) == lex_load32("UDP ")) {
			v->transport = lex_view(base, s, s + 3);
			return s + 3;
		}
		if (lex_is((unsigned char)*s, LEX_TOKEN)) {
			p = token_to_end(s, e);
			v->transport = lex_view(base, s, p);
			return p;
		}
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

/* The error for a sent-by that starts with '[' and is no IPv6reference. */
static __attribute__((noinline, cold)) int
via_bad_ipv6(struct parser *ps, const struct sip_hdr_line *h, const char *p, const char *e)
{
	return fail_hdr(ps, h, SIP_ERR_BAD_VALUE,
			memchr(p, ']', (size_t)(e - p)) ? "malformed IPv6 reference"
							: "unterminated IPv6 reference");
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
		/* sent-by's host is an IPv6reference (RFC 3261 25.1, RFC 5954
		 * 4): not any text up to a ']', which a relayed Via would carry
		 * on to parsers that read it otherwise */
		const char *ref = lex_ipv6_ref(p, e);
		if (!ref)
			return via_bad_ipv6(ps, h, p, e);
		p = ref;
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

	/* the branch first, as nearly every Via has it; a later one still wins */
	const char *bv, *be = lex_param_fast(p, e, ps->end, ";branch=", 8, &bv);
	if (be) {
		v->branch = lex_view(ps->buf, bv, be);
		p = be;
	}
	struct lex_param prm;
	int rc;
	while ((rc = lex_param_next(&p, e, &prm)) > 0) {
		sip_view val =
		    prm.val ? lex_view(ps->buf, prm.val, prm.val + prm.vlen) : (sip_view){0, 0};
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
			if (LEX_TOK_IEQ(prm.name, 6, "branch")) {
				/* a token; quoted, no NUL (see sip_addr_scan's tag) */
				if (prm.val && memchr(prm.val, '\0', prm.vlen))
					return fail_hdr(ps, h, SIP_ERR_BAD_VALUE,
							"NUL in the branch");
				v->branch = val;
			}
			break;
		case 8:
			if (LEX_TOK_IEQ(prm.name, 8, "received"))
				v->received = val;
			break;
		default:
			break;
		}
	}
	/* lex_param_next stops after any LWS, and e ends in none */
	if (rc < 0 || p != e)
		return fail_hdr(ps, h, SIP_ERR_BAD_VALUE, "bad Via parameter");
	m->nvias++;
	return 0;
}

/* Calls fn for each comma-separated value of a header line; comma is false when
 * the line is known to hold no ',' at all. */
typedef int (*value_fn)(struct parser *ps, const struct sip_hdr_line *h, uint16_t line,
			const char *p, const char *e);

static inline int each_value(struct parser *ps, const struct sip_hdr_line *h, uint16_t line,
			     const char *p, const char *e, bool comma, value_fn fn)
{

	if (!comma) {
		/* the value is trimmed already: it is the one list element */
		if (p == e)
			return fail_hdr(ps, h, SIP_ERR_BAD_VALUE, "empty value in a list");
		return fn(ps, h, line, p, e);
	}
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

/* Inlined into its four callers: the call frames cost 1-2% of a BYE. */
static inline __attribute__((always_inline)) int parse_addr_into(struct parser *ps,
								 const struct sip_hdr_line *h,
								 struct sip_addr *a, const char *p,
								 const char *e)
{
	if (e - p > ps->lim->max_uri + 1024)
		return fail_hdr(ps, h, SIP_ERR_URI, "address longer than the limit");
	int rc = sip_addr_scan(a, ps->buf, p, e, ps->end);
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
	if (m->ncontacts >= SIP_MAX_CONTACTS) {
		if (m->is_request)
			return fail_hdr(ps, h, SIP_ERR_TOO_MANY_VALUES,
					"more Contact values than the limit");
		/* a response may list more than a message keeps: a REGISTER's 2xx
		 * names every binding of the address of record (RFC 3261 10.3 step
		 * 8), a 3xx every alternative. Refusing it whole would leave the
		 * transaction unanswered (a registration failing at Timer F that
		 * the registrar granted); those past the limit are checked, not
		 * kept, and the response is relayed as it came. */
		struct sip_addr spare;
		return parse_addr_into(ps, h, &spare, p, e);
	}
	return parse_addr_into(ps, h, &m->contacts[m->ncontacts++], p, e);
}

/* Headers whose values RFC 3261 (25.1) and its extensions write with
 * quoted-string: name-addr display names, gen-value and auth-param values,
 * warn-text. Only in these may a NUL appear, and only as the byte a
 * quoted-pair escapes (RFC 4475 3.1.1.2). */
#define QUOTED_STRING_HDRS                                                                         \
	(SIP_HBIT(SIP_HDR_FROM) | SIP_HBIT(SIP_HDR_TO) | SIP_HBIT(SIP_HDR_CONTACT) |               \
	 SIP_HBIT(SIP_HDR_ROUTE) | SIP_HBIT(SIP_HDR_RECORD_ROUTE) | SIP_HBIT(SIP_HDR_REFER_TO) |   \
	 SIP_HBIT(SIP_HDR_REFERRED_BY) | SIP_HBIT(SIP_HDR_ACCEPT_CONTACT) |                        \
	 SIP_HBIT(SIP_HDR_REJECT_CONTACT) | SIP_HBIT(SIP_HDR_VIA) |                                \
	 SIP_HBIT(SIP_HDR_CONTENT_TYPE) | SIP_HBIT(SIP_HDR_ACCEPT) | SIP_HBIT(SIP_HDR_EVENT) |     \
	 SIP_HBIT(SIP_HDR_SESSION_EXPIRES) | SIP_HBIT(SIP_HDR_MIN_SE) |                            \
	 SIP_HBIT(SIP_HDR_RETRY_AFTER) | SIP_HBIT(SIP_HDR_WARNING) |                               \
	 SIP_HBIT(SIP_HDR_AUTHORIZATION) | SIP_HBIT(SIP_HDR_PROXY_AUTHORIZATION) |                 \
	 SIP_HBIT(SIP_HDR_WWW_AUTHENTICATE) | SIP_HBIT(SIP_HDR_PROXY_AUTHENTICATE))

/*
 * The first byte of the value [p, e) of a logical header line that it may not
 * hold: a CR not followed by LF, or a NUL other than the byte a quoted-pair
 * escapes inside a quoted-string (quoted-pair = "\" (%x00-09 / %x0B-0C /
 * %x0E-7F)); NULL when there is none. e is the line's final CR or LF, so p[1]
 * can be read. Slow: only for lines of a QUOTED_STRING_HDRS id holding a NUL.
 */
static const char *quoted_line_bad_byte(const char *p, const char *e)
{
	bool quoted = false;

	for (; p < e; p++) {
		if (*p == '\0' || (*p == '\r' && p[1] != '\n'))
			return p;
		if (*p == '"')
			quoted = !quoted;
		else if (*p == '\\' && quoted && p + 1 < e && p[1] != '\r' && p[1] != '\n')
			p++; /* the escaped byte, a NUL included */
	}
	return NULL;
}

/* Headers that may appear once only (RFC 3261 7.3.1 and 20). */
#define SINGLE_VALUED                                                                              \
	(SIP_HBIT(SIP_HDR_CALL_ID) | SIP_HBIT(SIP_HDR_TO) | SIP_HBIT(SIP_HDR_FROM) |               \
	 SIP_HBIT(SIP_HDR_CSEQ) | SIP_HBIT(SIP_HDR_CONTENT_LENGTH) |                               \
	 SIP_HBIT(SIP_HDR_MAX_FORWARDS))

/* The value [p, e) of line i (h, known id), right after it was indexed; comma
 * is false when the line holds no ','; first is true for the first line with
 * this id. */
static inline int parse_header(struct parser *ps, const struct sip_hdr_line *h, uint16_t i,
			       uint8_t id, const char *p, const char *e, bool comma, bool first)
{
	struct sip_msg *m = ps->m;
	uint32_t n;
	int rc;

	if ((SINGLE_VALUED & SIP_HBIT(id)) && !first)
		return fail_hdr(ps, h, SIP_ERR_DUPLICATE_HEADER, "header must appear only once");

	switch (id) {
	case SIP_HDR_CALL_ID:
		return parse_call_id(ps, h, p, e);
	case SIP_HDR_FROM:
		return parse_addr_into(ps, h, &m->from, p, e);
	case SIP_HDR_TO:
		return parse_addr_into(ps, h, &m->to, p, e);
	case SIP_HDR_CSEQ:
		return parse_cseq(ps, h, p, e);
	case SIP_HDR_VIA:
		return each_value(ps, h, i, p, e, comma, parse_via_parm);
	case SIP_HDR_MAX_FORWARDS:
		rc = parse_number(ps, h, p, e, 255, &n, "expected a number 0-255");
		if (!rc)
			m->max_forwards = (int32_t)n;
		return rc;
	case SIP_HDR_CONTENT_LENGTH:
		rc = parse_number(ps, h, p, e, INT32_MAX, &n, "expected a number");
		if (!rc)
			m->content_length = (int32_t)n;
		return rc;
	case SIP_HDR_CONTENT_TYPE:
		if (first) {
			if (!h->value.len || !memchr(p, '/', h->value.len))
				return fail_hdr(ps, h, SIP_ERR_BAD_VALUE, "expected type/subtype");
			m->content_type = h->value;
		}
		return 0;
	case SIP_HDR_ROUTE:
	case SIP_HDR_RECORD_ROUTE:
		return each_value(ps, h, i, p, e, comma, parse_route_value);
	case SIP_HDR_CONTACT:
		return each_value(ps, h, i, p, e, comma, parse_contact_value);
	case SIP_HDR_RSEQ:
		/* RFC 3262 7.1: starts below 2^31 and counts up, so 1 to 2^32-1 */
		rc = parse_number(ps, h, p, e, UINT32_MAX, &n, "expected a number 1 to 2^32-1");
		if (!rc && n == 0)
			return fail_hdr(ps, h, SIP_ERR_BAD_VALUE, "expected a number 1 to 2^32-1");
		if (!rc)
			m->rseq = n;
		return rc;
	case SIP_HDR_RACK:
		return parse_rack(ps, h, p, e);
	case SIP_HDR_REQUIRE:
		if (first)
			m->require = h->value;
		return 0;
	case SIP_HDR_SUPPORTED:
		if (first)
			m->supported = h->value;
		return 0;
	case SIP_HDR_EVENT:
		if (first)
			m->event = h->value;
		return 0;
	case SIP_HDR_REFER_TO:
		if (!first)
			return 0;
		m->refer_to = h->value;
		return parse_addr_into(ps, h, &m->refer_to_addr, p, e);
	case SIP_HDR_SESSION_EXPIRES: {
		if (!first)
			return 0;
		if (!delta_seconds(p, e, &m->session_expires_secs))
			return fail_hdr(ps, h, SIP_ERR_BAD_VALUE, "expected delta-seconds");
		m->session_expires = h->value;
		return 0;
	}
	default:
		return 0;
	}
}

/* The first control byte (below 0x0E) at or after p, or end, as lex_find_ctl;
 * *comma is set when a ',' may lie between p and it (never cleared). */
static inline const char *line_scan(const char *p, const char *end, bool *comma)
{
#if defined(__SSE2__)
	const __m128i lim = _mm_set1_epi8(0x0E), cm = _mm_set1_epi8(',');
	__m128i seen = _mm_setzero_si128();
	/* one compare a step, as in lex_find_ctl */
	const uintptr_t last = (uintptr_t)end - 16;
	while ((uintptr_t)p <= last) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
		unsigned ok = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(x, lim), x));
		seen = _mm_or_si128(seen, _mm_cmpeq_epi8(x, cm));
		if (ok != 0xFFFF) {
			/* a ',' past the control byte only costs the slow list split */
			*comma |= _mm_movemask_epi8(seen) != 0;
			return p + __builtin_ctz(~ok);
		}
		p += 16;
	}
	*comma |= _mm_movemask_epi8(seen) != 0;
	/* fewer than 16 bytes left: a byte at a time, noting commas on the way */
	while (p < end && (unsigned char)*p >= 0x0E) {
		*comma |= *p == ',';
		p++;
	}
	return p;
#else
	const char *q = lex_find_ctl(p, end);
	if (q > p && memchr(p, ',', (size_t)(q - p)))
		*comma = true;
	return q;
#endif
}

/* Before reporting an error in the line structure: such an error outranks a
 * value error of an earlier line, which is dropped. */
static void drop_value_error(struct parser *ps, bool values)
{
	struct sip_msg *m = ps->m;

	if (values && m->err != SIP_OK) {
		m->err = SIP_OK;
		m->err_reason = NULL;
		m->err_name = (sip_view){0, 0};
		m->err_hdr = SIP_HDR_OTHER;
	}
}

/*
 * Indexes every header line from p and, when values is true, parses the value
 * of each known one right after indexing it; sets *body_start. Every line is
 * indexed even after a value fails, and an error in the line structure (found
 * while indexing) is the one reported, as if all lines were indexed before any
 * value was read. A value error is the one m->err holds when the lines end;
 * values is false when the start line failed already. The line count lives
 * in a local until the end.
 */
/* The top Via of a request whose start line or an earlier value failed: the
 * 400 or 505 to it gets received= and rport in it (RFC 3261 18.2.1, RFC 3581
 * 4); m->err is set, so its own error is not recorded. Kept out of line, and
 * not through parse_header: a second call of that made gcc stop inlining it
 * into the header loop, 7% more instructions for every valid message
 * (callgrind, the benchmark's BYE). */
static __attribute__((noinline, cold)) void top_via_after_failure(struct parser *ps,
								  const struct sip_hdr_line *h,
								  uint16_t i, const char *vs,
								  const char *ve, bool comma)
{
	(void)each_value(ps, h, i, vs, ve, comma, parse_via_parm);
}

static int parse_headers(struct parser *ps, const char *p, const char **body_start, bool values)
{
	struct sip_msg *m = ps->m;
	const char *buf = ps->buf, *end = ps->end;
	const uint16_t max_headers = ps->lim->max_headers;
	const uint16_t max_line = ps->lim->max_line;
	uint16_t nh = m->nhdrs;
	bool reading = m->err == SIP_OK; /* no value has failed yet */
	int rc;

	for (;;) {
		if (p >= end) {
			drop_value_error(ps, values);
			rc = fail(ps, SIP_ERR_HEADER_SYNTAX,
				  "headers not terminated by an empty line");
			break;
		}
		if ((unsigned char)*p <= ' ') {
			if (*p == '\r' || *p == '\n') {
				if (*p == '\r' && (p + 1 >= end || p[1] != '\n')) {
					drop_value_error(ps, values);
					rc = fail(ps, SIP_ERR_HEADER_SYNTAX, "CR without LF");
					break;
				}
				m->headers_end = (uint16_t)(p - buf);
				*body_start = after_eol(p);
				rc = -(int)m->err; /* a value error, if any */
				break;
			}
			if (lex_ws(*p)) {
				drop_value_error(ps, values);
				rc = fail(ps, SIP_ERR_HEADER_SYNTAX,
					  "continuation line before first header");
				break;
			}
		}
		if (nh >= max_headers) {
			drop_value_error(ps, values);
			rc = bad_line(ps, p, true);
			break;
		}

		/* name, optional WS, colon: within the first physical line */
		const char *line = p, *n = NULL, *colon, *q = NULL;
		uint8_t id = SIP_HDR_OTHER;
		bool comma = false;
#ifdef HDR_FAST_NAMES
		n = hdr_line_fast(line, end, &id, &q, &comma);
		if (n && q == line + 16)
			q = line_scan(q, end, &comma);
#endif
		if (n) {
			colon = n;
		} else {
			n = lex_span(line, end, LEX_TOKEN);
			colon = n;
			while (colon < end && lex_ws(*colon))
				colon++;
			if (n == line || colon >= end || *colon != ':') {
				drop_value_error(ps, values);
				rc = bad_line(ps, line, false);
				break;
			}
			id = (uint8_t)hdr_lookup_token(line, (size_t)(n - line),
						       (size_t)(end - line));
			q = NULL;
		}

		/* the value up to the end of the logical line: this line plus folded
		 * continuations. NUL and a CR without LF are noted, not yet reported:
		 * an unterminated line or an overlong one is the error to give first. */
		const char *eol = NULL, *bad = NULL;
		if (!q) {
			comma = false;
			q = line_scan(colon + 1, end, &comma);
		}
		for (;;) {
			if (q >= end)
				break;
			if (end - q >= 2 && lex_load16(q) == lex_load16("\r\n")) {
				eol = q;
				p = q + 2;
			} else if (*q == '\n') {
				eol = q;
				p = q + 1;
			} else {
				if (*q == '\r' && q + 1 >= end) {
					q = end;
					break;
				}
				if (!bad && (*q == '\r' || *q == '\0'))
					bad = q;
				q = line_scan(q + 1, end, &comma);
				continue;
			}
			if (p < end && lex_ws(*p)) {
				q = line_scan(p, end, &comma);
				continue;
			}
			break;
		}
		if (q >= end) {
			drop_value_error(ps, values);
			rc = fail(ps, SIP_ERR_HEADER_SYNTAX,
				  "headers not terminated by an empty line");
			break;
		}

		struct sip_hdr_line *h = &m->hdrs[nh];
		h->name = lex_view(buf, line, n);
		h->id = id;
		if (__builtin_expect(p - line > max_line, 0)) {
			drop_value_error(ps, values);
			rc = fail_hdr(ps, h, SIP_ERR_LINE_TOO_LONG,
				      "header line longer than the limit");
			break;
		}
		if (__builtin_expect(bad != NULL, 0) && *bad == '\0' &&
		    (QUOTED_STRING_HDRS >> id & 1))
			bad = quoted_line_bad_byte(colon + 1, eol);
		if (__builtin_expect(bad != NULL, 0)) {
			drop_value_error(ps, values);
			rc = fail_hdr(ps, h, SIP_ERR_HEADER_SYNTAX,
				      *bad ? "CR without LF" : "NUL byte in a header line");
			break;
		}
		/* ": " then a byte above SP starts nearly every value. colon[1] is
		 * at or before eol (a CR or LF), so when it is SP colon[2] is too. */
		const char *vs = colon[1] == ' ' && (unsigned char)colon[2] > ' '
				     ? colon + 2
				     : lex_skip_lws(colon + 1, eol);
		/* no LWS byte (SP, HTAB, CR, LF) lies above SP */
		const char *ve = (unsigned char)eol[-1] > ' ' ? eol : lex_trim_right(vs, eol);
		h->value = lex_view(buf, vs, ve);
		h->start = (uint16_t)(line - buf);
		h->end = (uint16_t)(p - buf);
		nh++;
		if (id) {
			bool first = !m->first[id];
			if (first)
				m->first[id] = nh;
			/* values are read until one fails (or the start line did) */
			if (reading)
				reading = parse_header(ps, h, (uint16_t)(nh - 1), id, vs, ve, comma,
						       first) == 0;
			else if (__builtin_expect(id == SIP_HDR_VIA && first, 0))
				top_via_after_failure(ps, h, (uint16_t)(nh - 1), vs, ve, comma);
		}
	}
	m->nhdrs = nh;
	return rc;
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
		bool same = m->method_id != SIP_METHOD_OTHER
				? m->cseq.method_id == m->method_id
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

/*
 * Clears the scalar part of m; the arrays after it are filled up to their
 * counts. Eight-byte stores, as the fields after them are read: for these
 * ~460 bytes, the 'rep stos' that the compiler makes of a memset takes longer
 * to start than the stores take (4% of a BYE's parse). The empty asm keeps
 * the compiler from turning the loop back into that memset.
 */
static inline void msg_clear(struct sip_msg *m)
{
	enum { n = offsetof(struct sip_msg, hdrs) };
	_Static_assert(_Alignof(struct sip_msg) >= 8, "eight-byte stores must be aligned");
	char *p = (char *)m;
	size_t i = 0;
	for (; i + 32 <= n; i += 32) {
		/* four stores a step; the asm between them also keeps them from
		 * being merged into sixteen-byte stores, which were slower still */
		memset(p + i, 0, 8);
		__asm__("" : "+r"(p));
		memset(p + i + 8, 0, 8);
		__asm__("" : "+r"(p));
		memset(p + i + 16, 0, 8);
		__asm__("" : "+r"(p));
		memset(p + i + 24, 0, 8);
		__asm__("" : "+r"(p));
	}
	memset(p + i, 0, n - i);
}

int sip_parse(struct sip_msg *m, const char *buf, size_t len, const struct sip_limits *lim)
{
	struct parser ps = {m, buf, buf + len, lim ? lim : &sip_default_limits};
	const char *p = buf, *eol, *body = NULL;
	int rc;

	msg_clear(m);
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
		parse_headers(&ps, after_eol(eol), &body, false);
		return rc;
	}
	rc = parse_headers(&ps, after_eol(eol), &body, true);
	if (rc)
		return rc;
	rc = check_mandatory(&ps);
	if (rc)
		return rc;
	return parse_body(&ps, body);
}
