/*
 * lex.c - character class table and the out-of-line scanners behind lex.h.
 *
 * Owns: byte classification (RFC 3261 section 25.1), quoted-string, comma and
 * the rare branches of LWS and parameter scanning. Does not own: any header's
 * meaning.
 */
#include <stdbool.h>
#include <string.h>

#include "sip/lex.h"

/*
 * Bit i of each entry is set when the byte is in the i-th set of the enum in
 * lex.h, built from the RFC 3261 section 25.1 character sets:
 *   alphanum = A-Z a-z 0-9          mark = - _ . ! ~ * ' ( )
 *   token = alphanum - . ! % * _ + ` ' ~       user-unreserved = & = + $ , ; ? /
 *   param-unreserved = [ ] / : & + $           hnv-unreserved = [ ] / ? : + $
 *   word = token ( ) < > : \ " / [ ] ? { }     password extras = & = + $ ,
 *   host = alphanum - . _ (see below)          scheme = alphanum + - .
 *   alnum-dot = alphanum - . (lex_span_alnum's class)
 * and the unions listed with their bits. Some bytes outside 25.1 are taken on
 * purpose, since equipment sends them and a dialog's From, To and Contact
 * carry them in every request of the call, and none has a role where it is
 * taken, so nothing is misread:
 *   '#' in a user part (LEX_USER, LEX_UINFO), which 25.1 writes %23: feature
 *   codes such as "*97#", Microsoft Teams Direct Routing's "sip:#123@...";
 *   '_' in a host name (LEX_HOST), which 25.1's hostname has not: machines
 *   named so ("pbx_1", a PBX's own name in its Contact, Via and From);
 *   0x80-0xFF in a display name not in quotes (LEX_DISP), which 25.1 writes
 *   as tokens: a name in UTF-8 ("Jürgen <sip:...>"), as it may stand quoted.
 */
/* clang-format off */
const uint32_t sip_lex_class[256] = {
	/* 0x00 */ 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000,
	/* 0x08 */ 0x00000, 0x98000, 0x18000, 0x00000, 0x00000, 0x18000, 0x00000, 0x00000,
	/* 0x10 */ 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000,
	/* 0x18 */ 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000, 0x00000,
	/* 0x20 */ 0x98000, 0x2f10c, 0x00100, 0x01010, 0x23470, 0x0c104, 0x23430, 0x2f10c,
	/* 0x28 */ 0x23108, 0x23108, 0x2f10c, 0x2fd74, 0x21410, 0x6fb0c, 0x6fb0c, 0x23170,
	/* 0x30 */ 0x6fb8e, 0x6fb8e, 0x6fb8e, 0x6fb8e, 0x6fb8e, 0x6fb8e, 0x6fb8e, 0x6fb8e,
	/* 0x38 */ 0x6fb8e, 0x6fb8e, 0x27160, 0x21010, 0x00100, 0x21410, 0x00100, 0x21150,
	/* 0x40 */ 0x00000, 0x6fb8d, 0x6fb8d, 0x6fb8d, 0x6fb8d, 0x6fb8d, 0x6fb8d, 0x6fb0d,
	/* 0x48 */ 0x6fb0d, 0x6fb0d, 0x6fb0d, 0x6fb0d, 0x6fb0d, 0x6fb0d, 0x6fb0d, 0x6fb0d,
	/* 0x50 */ 0x6fb0d, 0x6fb0d, 0x6fb0d, 0x6fb0d, 0x6fb0d, 0x6fb0d, 0x6fb0d, 0x6fb0d,
	/* 0x58 */ 0x6fb0d, 0x6fb0d, 0x6fb0d, 0x22160, 0x00100, 0x22160, 0x00000, 0x2f30c,
	/* 0x60 */ 0x0c104, 0x6fb8d, 0x6fb8d, 0x6fb8d, 0x6fb8d, 0x6fb8d, 0x6fb8d, 0x6fb0d,
	/* 0x68 */ 0x6fb0d, 0x6fb0d, 0x6fb0d, 0x6fb0d, 0x6fb0d, 0x6fb0d, 0x6fb0d, 0x6fb0d,
	/* 0x70 */ 0x6fb0d, 0x6fb0d, 0x6fb0d, 0x6fb0d, 0x6fb0d, 0x6fb0d, 0x6fb0d, 0x6fb0d,
	/* 0x78 */ 0x6fb0d, 0x6fb0d, 0x6fb0d, 0x00100, 0x00000, 0x00100, 0x2f10c, 0x00000,
	/* 0x80 */ 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000,
	/* 0x88 */ 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000,
	/* 0x90 */ 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000,
	/* 0x98 */ 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000,
	/* 0xa0 */ 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000,
	/* 0xa8 */ 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000,
	/* 0xb0 */ 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000,
	/* 0xb8 */ 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000,
	/* 0xc0 */ 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000,
	/* 0xc8 */ 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000,
	/* 0xd0 */ 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000,
	/* 0xd8 */ 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000,
	/* 0xe0 */ 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000,
	/* 0xe8 */ 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000,
	/* 0xf0 */ 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000,
	/* 0xf8 */ 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000, 0x08000,
};
/* clang-format on */

const char *lex_skip_lws_slow(const char *p, const char *end)
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

const char *lex_quoted(const char *p, const char *end)
{
	p++; /* opening quote */
	while (p < end) {
		if (*p == '"')
			return p + 1;
		if (*p == '\\') {
			if (p + 1 >= end)
				return NULL;
			p += 2;
			continue;
		}
		if (*p == '\0')
			return NULL;
		p++;
	}
	return NULL;
}

const char *lex_next_comma(const char *p, const char *end)
{
	bool in_angle = false;

	/* Most values hold no comma at all: one memchr settles them. */
	if (!memchr(p, ',', (size_t)(end - p)))
		return end;

	while (p < end) {
		switch (*p) {
		case '"':
			p = lex_quoted(p, end);
			if (!p)
				return NULL;
			continue;
		case '<':
			in_angle = true;
			break;
		case '>':
			in_angle = false;
			break;
		case ',':
			if (!in_angle)
				return p;
			break;
		default:
			break;
		}
		p++;
	}
	return end;
}

/* A quoted-string, or an IPv6 reference as a parameter value (received=,
 * maddr=): gen-value = token / host / quoted-string (RFC 3261 25.1), and the
 * only host that starts with '[' is an IPv6reference. Any other bracketed
 * text (";x=[;branch=y]") would be one parameter here and two to a parser
 * that stops at the ';', in a line relayed as it came. */
const char *lex_param_value_slow(const char *q, const char *end)
{
	if (*q == '"')
		return lex_quoted(q, end);
	return lex_ipv6_ref(q, end);
}

const char *lex_ipv6_ref(const char *p, const char *end)
{
	unsigned groups = 0;
	bool dcolon = false, after_dcolon = false;

	p++; /* '[' */
	if (p < end && *p == ':') {
		if (end - p < 2 || p[1] != ':')
			return NULL;
		dcolon = after_dcolon = true;
		p += 2;
	}
	for (;;) {
		if (p >= end || *p == ']')
			break; /* at the start, or right after "::" */
		/* RFC 3261's own rule wrote "hexseq ':::' IPv4address" for what
		 * RFC 4291 writes with "::"; RFC 5118 4.10 asks that both be
		 * taken */
		const char *v = after_dcolon && *p == ':' ? p + 1 : p, *v4 = NULL;
		if (v < end && lex_is((unsigned char)*v, LEX_DIGIT))
			v4 = lex_ipv4_scan(v, end);
		if (v4 && v4 < end && *v4 == ']') {
			groups += 2;
			p = v4;
			break;
		}
		const char *g = p;
		while (p < end && p - g < 5 && lex_is((unsigned char)*p, LEX_HEX))
			p++;
		if (p == g || p - g > 4)
			return NULL;
		groups++;
		after_dcolon = false;
		if (p >= end || *p != ':')
			break;
		p++;
		if (p < end && *p == ':') {
			if (dcolon)
				return NULL;
			dcolon = after_dcolon = true;
			p++;
		} else if (p < end && *p == ']') {
			return NULL; /* a ':' with no group after it */
		}
	}
	if (p >= end || *p != ']' || (dcolon ? groups > 7 : groups != 8))
		return NULL;
	return p + 1;
}
