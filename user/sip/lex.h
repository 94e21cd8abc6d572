/*
 * lex.h - character classes and small scanners shared by the SIP parser files.
 *
 * Internal to user/sip/. Every scanner takes [p, end) and never reads at or past
 * end; none allocates. Character classes follow RFC 3261 section 25.1.
 */
#ifndef SIPSHARD_SIP_LEX_H
#define SIPSHARD_SIP_LEX_H

#include <stdbool.h>
#include <stdint.h>

#include "sipshard/sip.h"

enum {
	LEX_ALPHA = 1 << 0,
	LEX_DIGIT = 1 << 1,
	LEX_TOKEN = 1 << 2, /* token chars: alphanum -.!%*_+`'~ */
	LEX_UNRESERVED = 1 << 3, /* alphanum mark: -_.!~*'() */
	LEX_USER = 1 << 4, /* user-unreserved &=+$,;?/ (plus unreserved) */
	LEX_PARAM = 1 << 5, /* param-unreserved []/:&+$ (plus unreserved) */
	LEX_HNV = 1 << 6, /* hnv-unreserved []/?:+$ (plus unreserved) */
	LEX_HEX = 1 << 7,
	LEX_WORD = 1 << 8, /* word chars for Call-ID: token plus ()<>:\"/[]?{} */
	LEX_HOST = 1 << 9, /* hostname chars: alphanum - . */
	LEX_PASSWORD = 1 << 10, /* &=+$, plus unreserved */
	LEX_SCHEME = 1 << 11, /* alphanum + - . */
};

extern const uint16_t sip_lex_class[256];

static inline bool lex_is(unsigned char c, uint16_t cls)
{
	return (sip_lex_class[c] & cls) != 0;
}

static inline bool lex_ws(char c)
{
	return c == ' ' || c == '\t';
}

static inline char lex_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

/* Skips SP, HTAB and folds (CRLF or LF followed by SP/HTAB). */
static inline const char *lex_skip_lws(const char *p, const char *end)
{
	for (;;) {
		if (p < end && lex_ws(*p)) {
			p++;
		} else if (p + 2 < end && p[0] == '\r' && p[1] == '\n' && lex_ws(p[2])) {
			p += 3;
		} else if (p + 1 < end && p[0] == '\n' && lex_ws(p[1])) {
			p += 2;
		} else {
			return p;
		}
	}
}

/* Trims LWS (including folds) from the right end of [p, end). */
static inline const char *lex_trim_right(const char *p, const char *end)
{
	while (end > p && (lex_ws(end[-1]) || end[-1] == '\r' || end[-1] == '\n'))
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

/* Parses 1*DIGIT in [p, end) up to max; returns pointer after the digits or NULL
 * when there are none or the value exceeds max. */
const char *lex_uint(const char *p, const char *end, uint32_t max, uint32_t *out);

/* Given p at an opening '"', returns the pointer just after the closing quote, or
 * NULL when the string is not terminated. Backslash escapes are honoured. */
const char *lex_quoted(const char *p, const char *end);

/* Finds the next top-level ',' in [p, end) (not inside quotes or <>); returns end
 * when none. Returns NULL for an unterminated quote. */
const char *lex_next_comma(const char *p, const char *end);

/* Generic ;name[=value] parameter walker. Starting at p (which must point at ';'
 * or be end), calls back for each parameter. Returns the end of the parameters
 * (first char that cannot continue them) or NULL on a syntax error. */
typedef void (*lex_param_fn)(void *arg, const char *name, size_t nlen, const char *val,
			     size_t vlen, bool has_val);
const char *lex_params(const char *p, const char *end, lex_param_fn fn, void *arg);

#endif
