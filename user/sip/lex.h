/*
 * lex.h - character classes and small scanners shared by the SIP parser files.
 *
 * Internal to user/sip/. Every scanner takes [p, end) and never reads at or past
 * end; none allocates. Character classes follow RFC 3261 section 25.1. The hot
 * scanners are inline so that the header parsers keep their state in registers:
 * each has a fast path for what real traffic sends (one SP, no fold, no quote)
 * and falls back to the general loop for anything else.
 */
#ifndef SIPSHARD_SIP_LEX_H
#define SIPSHARD_SIP_LEX_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "sipshard/sip.h"

enum {
	LEX_ALPHA = 1 << 0,
	LEX_DIGIT = 1 << 1,
	LEX_TOKEN = 1 << 2,	 /* token chars: alphanum -.!%*_+`'~ */
	LEX_UNRESERVED = 1 << 3, /* alphanum mark: -_.!~*'() */
	LEX_USER = 1 << 4,	 /* user-unreserved &=+$,;?/ and '#' (used with LEX_UNRESERVED) */
	LEX_PARAM = 1 << 5,	 /* param-unreserved []/:&+$ (used with LEX_UNRESERVED) */
	LEX_HNV = 1 << 6,	 /* hnv-unreserved []/?:+$ (used with LEX_UNRESERVED) */
	LEX_HEX = 1 << 7,
	LEX_WORD = 1 << 8,	/* word chars for Call-ID: token plus ()<>:\"/[]?{} */
	LEX_HOST = 1 << 9,	/* hostname chars: alphanum - . and '_' (lex.c) */
	LEX_PASSWORD = 1 << 10, /* &=+$, (used with LEX_UNRESERVED) */
	LEX_SCHEME = 1 << 11,	/* alphanum + - . */
	/* Unions, so that a scan tests one bit (see lex_span). */
	LEX_UINFO = 1 << 12, /* userinfo bytes but '%': unreserved, user-unreserved, '#', ':' */
	LEX_PCHAR = 1 << 13, /* uri-parameter bytes but '%': unreserved, param-unreserved */
	LEX_PVAL = 1 << 14,  /* unquoted header parameter value: token and ':' */
	LEX_DISP = 1 << 15, /* display-name as tokens and LWS: token, SP, HTAB, CR, LF, 0x80-0xFF */
	LEX_LWS = 1 << 16,  /* SP, HTAB, CR, LF: bytes that may start LWS */
	LEX_HCHAR = 1 << 17,	 /* URI header bytes but '%': unreserved, hnv-, user-unreserved */
	LEX_ALNUM_DOT = 1 << 18, /* alphanum - . : what lex_span_alnum reads */
	LEX_WSP = 1 << 19,	 /* SP and HTAB */
};

extern const uint32_t sip_lex_class[256];

static inline bool lex_is(unsigned char c, uint32_t cls)
{
	return (sip_lex_class[c] & cls) != 0;
}

/* The value of a hex digit already checked to be one (LEX_HEX), either case. */
static inline unsigned lex_hex_value(char c)
{
	return c <= '9' ? (unsigned)(c - '0') : (unsigned)((c | 0x20) - 'a' + 10);
}

static inline uint16_t lex_load16(const char *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

static inline uint32_t lex_load32(const char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static inline uint64_t lex_load64(const char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/* The end of the run of cls bytes at p: four bytes to a bounds check. */
static inline const char *lex_span(const char *p, const char *end, uint32_t cls)
{
	/* one compare a step: p may take four bytes while it is below end - 3 (as
	 * an address: end - 3 may lie before the buffer) */
	const uintptr_t last = (uintptr_t)end - 3;

	while ((uintptr_t)p < last) {
		if (!lex_is((unsigned char)p[0], cls))
			return p;
		if (!lex_is((unsigned char)p[1], cls))
			return p + 1;
		if (!lex_is((unsigned char)p[2], cls))
			return p + 2;
		if (!lex_is((unsigned char)p[3], cls))
			return p + 3;
		p += 4;
	}
	while (p < end && lex_is((unsigned char)*p, cls))
		p++;
	return p;
}

/*
 * lex_span(p, end, LEX_ALNUM_DOT): the first byte in [p, end) that is not a
 * letter, digit, '-' or '.'. With SSE2, sixteen bytes a step while sixteen bytes from
 * p lie before limit (the end of the readable bytes, at or after end: the
 * datagram's end), then a byte at a time. Branches, tags and Call-IDs are
 * mostly such bytes, and their lengths change from one datagram to the next:
 * a mask and a bit scan find their end where a byte loop would mispredict its
 * exit (parse_bench's varied round: an in-dialog BYE 296-312 -> 244-248 ns).
 */
static inline const char *lex_span_alnum(const char *p, const char *end, const char *limit)
{
#if defined(__SSE2__)
	while (limit - p >= 16 && p < end) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
		__m128i y = _mm_or_si128(x, _mm_set1_epi8(0x20));
		/* 'a'..'z' after folding: y - 'a' + 128 below 128 + 26, signed */
		__m128i alpha = _mm_cmplt_epi8(_mm_add_epi8(y, _mm_set1_epi8((char)(128 - 'a'))),
					       _mm_set1_epi8((char)(-128 + 26)));
		/* '-' .. '9' but '/' */
		__m128i dig = _mm_cmplt_epi8(_mm_add_epi8(x, _mm_set1_epi8((char)(128 - '-'))),
					     _mm_set1_epi8((char)(-128 + ('9' - '-' + 1))));
		dig = _mm_andnot_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('/')), dig);
		unsigned ok = (unsigned)_mm_movemask_epi8(_mm_or_si128(alpha, dig));
		if (ok != 0xFFFF) {
			const char *q = p + __builtin_ctz(~ok);
			return q < end ? q : end;
		}
		p += 16;
	}
	if (p >= end)
		return end;
#else
	(void)limit;
#endif
	while (p < end && lex_is((unsigned char)*p, LEX_ALNUM_DOT))
		p++;
	return p;
}

/* lex_span(p, end, cls) for a class that holds every letter, digit, '-' and
 * '.' (LEX_PVAL, LEX_WORD ...): its run of those read by lex_span_alnum, up to
 * limit, then the rest a byte at a time. */
static inline const char *lex_span_long(const char *p, const char *end, const char *limit,
					uint32_t cls)
{
	return lex_span(lex_span_alnum(p, end, limit), end, cls);
}

static inline bool lex_ws(char c)
{
	return lex_is((unsigned char)c, LEX_WSP);
}

/* SP, HTAB, CR or LF: a byte that may start linear white space. */
static inline bool lex_lws_char(char c)
{
	return lex_is((unsigned char)c, LEX_LWS);
}

static inline char lex_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

/* Skips SP, HTAB and folds (CRLF or LF followed by SP/HTAB). */
const char *lex_skip_lws_slow(const char *p, const char *end);

static inline const char *lex_skip_lws(const char *p, const char *end)
{
	/* Most fields are separated by nothing or by one SP. */
	if (p < end && *p == ' ')
		p++;
	if (p >= end || !lex_lws_char(*p))
		return p;
	return lex_skip_lws_slow(p, end);
}

/* Trims LWS (including folds) from the right end of [p, end). */
static inline const char *lex_trim_right(const char *p, const char *end)
{
	while (end > p && lex_lws_char(end[-1]))
		end--;
	return end;
}

static inline sip_view lex_view(const char *base, const char *p, const char *end)
{
	sip_view v = {(uint16_t)(p - base), (uint16_t)(end - p)};
	return v;
}

static inline bool lex_ieq(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++)
		if (lex_lower(a[i]) != lex_lower(b[i]))
			return false;
	return true;
}

/*
 * Case-insensitive equality of n token characters s with lit (litlen bytes of
 * letters, digits and '-', readable up to litlen). OR 0x20 folds a letter's
 * case and maps no other token character onto a letter, a digit or '-' (only
 * CR would become '-', and CR is no token character), so whole words are
 * compared at once. When lit holds letters only, s may hold any bytes.
 */
static inline bool lex_tok_ieq(const char *s, size_t n, const char *lit, size_t litlen)
{
	if (n != litlen)
		return false;
	if (n >= 8) {
		const uint64_t f = 0x2020202020202020u;
		for (size_t i = 0; i + 8 < n; i += 8)
			if ((lex_load64(s + i) | f) != (lex_load64(lit + i) | f))
				return false;
		return (lex_load64(s + n - 8) | f) == (lex_load64(lit + n - 8) | f);
	}
	if (n >= 4) {
		const uint32_t f = 0x20202020u;
		return (lex_load32(s) | f) == (lex_load32(lit) | f) &&
		       (lex_load32(s + n - 4) | f) == (lex_load32(lit + n - 4) | f);
	}
	if (n >= 2) {
		const uint16_t f = 0x2020u;
		return (lex_load16(s) | f) == (lex_load16(lit) | f) &&
		       (lex_load16(s + n - 2) | f) == (lex_load16(lit + n - 2) | f);
	}
	return n == 0 || (s[0] | 0x20) == (lit[0] | 0x20);
}
#define LEX_TOK_IEQ(s, n, lit) lex_tok_ieq((s), (n), (lit), sizeof(lit) - 1)

/*
 * The first byte below 0x0E (NUL, HTAB, LF, CR and other controls) in [p, end),
 * or end. With SSE2 (every x86-64) sixteen bytes a step: max(x, 0x0E) == x
 * exactly where x >= 0x0E. Otherwise eight: (x - 0x0E..) & ~x & 0x80.. is
 * non-zero exactly when some byte of x is below 0x0E, and its lowest set bit
 * marks the first such byte (a borrow only travels upwards, past the byte that
 * caused it).
 */
static inline const char *lex_find_ctl(const char *p, const char *end)
{
#if defined(__SSE2__)
	const __m128i lim = _mm_set1_epi8(0x0E);
	/* one compare a step: p may take sixteen bytes while it is at or below
	 * end - 16 (as an address: that may lie before the buffer, as in lex_span) */
	const uintptr_t last = (uintptr_t)end - 16;
	while ((uintptr_t)p <= last) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
		unsigned ok = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(x, lim), x));
		if (ok != 0xFFFF)
			return p + __builtin_ctz(~ok);
		p += 16;
	}
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
	while (end - p >= 8) {
		uint64_t x = lex_load64(p);
		uint64_t t = (x - ones * 0x0E) & ~x & highs;
		if (t)
			return p + (__builtin_ctzll(t) >> 3);
		p += 8;
	}
#endif
	while (p < end && (unsigned char)*p >= 0x0E)
		p++;
	return p;
}

/* Parses 1*DIGIT in [p, end) up to max; returns pointer after the digits or NULL
 * when there are none or the value exceeds max. Leading zeros are allowed, so
 * any number of digits may be valid. Up to 19 digits fit in 64 bits, and the
 * value only grows, so the bound is checked once at the end; a longer run
 * (leading zeros, or an attack) is read again one digit at a time. */
static inline const char *lex_uint(const char *p, const char *end, uint32_t max, uint32_t *out)
{
	const char *start = p;
	uint64_t v = 0;
	unsigned d;

	while (p < end && (d = (unsigned)(unsigned char)*p - '0') < 10) {
		v = v * 10 + d;
		p++;
	}
	if (p - start > 19) {
		v = 0;
		for (const char *q = start; q < p; q++) {
			v = v * 10 + (unsigned)(*q - '0');
			if (v > max)
				return NULL;
		}
	}
	if (p == start || v > max)
		return NULL;
	*out = (uint32_t)v;
	return p;
}

/* One part of a dotted quad at p: 1 to 3 digits worth at most 255 (leading
 * zeros allowed). Returns its end, or NULL. Written out digit by digit: the
 * Request-URI and Route of most in-dialog requests hold an address. */
static inline const char *lex_ipv4_part(const char *p, const char *end)
{
	unsigned d0, d1, d2;

	if (p >= end || (d0 = (unsigned)(unsigned char)p[0] - '0') > 9)
		return NULL;
	if (end - p < 2 || (d1 = (unsigned)(unsigned char)p[1] - '0') > 9)
		return p + 1;
	if (end - p < 3 || (d2 = (unsigned)(unsigned char)p[2] - '0') > 9)
		return p + 2;
	return d0 * 100 + d1 * 10 + d2 <= 255 ? p + 3 : NULL;
}

/* The end of the IPv4address (RFC 3261 25.1) that starts at p, or NULL. */
static inline const char *lex_ipv4_scan(const char *p, const char *end)
{
	for (int part = 0; part < 3; part++) {
		p = lex_ipv4_part(p, end);
		if (!p || p >= end || *p != '.')
			return NULL;
		p++;
	}
	return lex_ipv4_part(p, end);
}

/* The end of the IPv6reference "[" IPv6address "]" at p (p[0] is '['), or
 * NULL when its text is not one. IPv6address is RFC 3986's (RFC 5954 section
 * 4 puts it in RFC 3261 25.1 in place of the earlier rule, which let any run
 * of hex groups through): one to eight groups of one to four hex digits, the
 * last two of which may be written as an IPv4address, and at most one "::"
 * standing for one or more groups; and the ":::" before an IPv4address that
 * the earlier rule made (RFC 5118 4.10). Rare (IPv6 hosts only), so out of
 * line. */
__attribute__((cold)) const char *lex_ipv6_ref(const char *p, const char *end);

/* Given p at an opening '"', returns the pointer just after the closing quote, or
 * NULL when the string is not terminated. Backslash escapes are honoured. */
const char *lex_quoted(const char *p, const char *end);

/* Finds the next top-level ',' in [p, end) (not inside quotes or <>); returns end
 * when none. Returns NULL for an unterminated quote. */
const char *lex_next_comma(const char *p, const char *end);

/*
 * One ;name[=value] header parameter (RFC 3261 generic-param). lex_param_next
 * skips LWS at *pp; when a ';' follows it fills *out, moves *pp past the
 * parameter and returns 1. Otherwise it leaves *pp at the first byte that
 * cannot continue the parameters (after the LWS) and returns 0. Returns -1 on
 * a syntax error: an empty name, '=' without a value, an unterminated quote.
 */
struct lex_param {
	const char *name;
	size_t nlen;
	const char *val; /* NULL when the parameter has no '=' */
	size_t vlen;
};

const char *lex_param_value_slow(const char *q, const char *end);

static inline int lex_param_next(const char **pp, const char *end, struct lex_param *out)
{
	const char *p = *pp;

	/* LWS is legal around ';' and '=' but rare: look before calling for it. */
	if (p < end && *p != ';' && lex_lws_char(*p))
		p = lex_skip_lws_slow(p, end);
	if (p >= end || *p != ';') {
		*pp = p;
		return 0;
	}
	p++;
	if (p < end && lex_lws_char(*p))
		p = lex_skip_lws_slow(p, end);
	out->name = p;
	p = lex_span(p, end, LEX_TOKEN);
	out->nlen = (size_t)(p - out->name);
	out->val = NULL;
	out->vlen = 0;
	if (!out->nlen)
		return -1;
	const char *q = p;
	if (q < end && lex_lws_char(*q))
		q = lex_skip_lws_slow(q, end);
	if (q < end && *q == '=') {
		q++;
		if (q < end && lex_lws_char(*q))
			q = lex_skip_lws_slow(q, end);
		const char *val = q;
		if (q < end && (*q == '"' || *q == '[')) {
			q = lex_param_value_slow(q, end);
			if (!q)
				return -1;
		} else {
			q = lex_span(q, end, LEX_PVAL);
		}
		if (q == val)
			return -1;
		out->val = val;
		out->vlen = (size_t)(q - val);
		p = q;
	}
	*pp = p;
	return 1;
}

/*
 * The value of the parameter at p when it is written ";name=" then a plain
 * value, the way nearly every Via branch and tag is: lit is ";name=" (n <= 8
 * bytes, the name in lower-case letters, zero-padded to eight). Returns the
 * end of the value and sets *val, or NULL for anything else (another name,
 * LWS, a quoted value, fewer than eight bytes left), which lex_param_next
 * then reads the long way to the same result. One load settles the name: OR
 * 0x20 maps onto a letter only that letter in either case, and ';' and '='
 * are compared exactly. The value may be read sixteen bytes a step up to
 * limit (the end of the readable bytes, at or after end: lex_span_alnum).
 */
static inline const char *lex_param_fast(const char *p, const char *end, const char *limit,
					 const char *lit, size_t n, const char **val)
{
	const uint64_t mask = n >= 8 ? ~UINT64_C(0) : (UINT64_C(1) << (8 * n)) - 1;
	const uint64_t fold = UINT64_C(0x2020202020202020) & mask & ~UINT64_C(0xff) &
			      ~(UINT64_C(0xff) << (8 * (n - 1)));

	if (end - p < 8 || ((lex_load64(p) | fold) & mask) != lex_load64(lit))
		return NULL;
	const char *q = lex_span_long(p + n, end, limit, LEX_PVAL);
	if (q == p + n)
		return NULL;
	*val = p + n;
	return q;
}

/* Parses a URI at p (uri.c); fills u, which the caller has zeroed, and returns
 * the first byte after it: the URI ends at the first byte that cannot continue
 * it. Returns NULL when what precedes that byte is no URI. */
const char *sip_uri_scan(struct sip_uri *u, const char *base, const char *p, const char *end);
/* sip_parse_addr for the bytes [p, end) of base, which begin and end with no LWS;
 * bytes up to limit (at or after end) may be read, never taken. */
int sip_addr_scan(struct sip_addr *a, const char *base, const char *p, const char *end,
		  const char *limit);

#endif
