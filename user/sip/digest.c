/*
 * digest.c - HTTP Digest authentication as SIP uses it, client side (RFC 3261
 * 22.4, RFC 7616, RFC 2617 for the forms without qop).
 *
 * Owns: reading a WWW-Authenticate / Proxy-Authenticate challenge into views
 * and writing the credentials that answer it. Does not own: which challenge to
 * answer or how often (daemon/credentials.c), the hashes themselves (nettle).
 *
 * Only what a callee may ask of sipshard's INVITE is answered: MD5 and SHA-256,
 * with qop "auth" or without qop. A challenge asking for anything else is
 * refused with -ENOTSUP rather than answered wrongly.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <nettle/md5.h>
#include <nettle/sha2.h>

#include "sip/lex.h"

/* ---- reading the challenge ---------------------------------------------- */

/* One auth-param: name, and its value without the quotes when quoted. */
struct auth_param {
	const char *name;
	size_t nlen;
	const char *val;
	size_t vlen;
	bool quoted;
};

/* Reads `name LWS? = LWS? (token | quoted-string)` at *pp; 0, or -EINVAL. */
static int auth_param_next(const char **pp, const char *end, struct auth_param *ap)
{
	const char *p = *pp;
	const char *n = lex_span(p, end, LEX_TOKEN);
	if (n == p)
		return -EINVAL;
	ap->name = p;
	ap->nlen = (size_t)(n - p);
	p = lex_skip_lws(n, end);
	if (p >= end || *p != '=')
		return -EINVAL;
	p = lex_skip_lws(p + 1, end);
	if (p < end && *p == '"') {
		const char *q = lex_quoted(p, end);
		if (!q)
			return -EINVAL;
		ap->val = p + 1;
		ap->vlen = (size_t)(q - 1 - (p + 1));
		ap->quoted = true;
		p = q;
	} else {
		const char *q = lex_span(p, end, LEX_TOKEN);
		if (q == p)
			return -EINVAL;
		ap->val = p;
		ap->vlen = (size_t)(q - p);
		ap->quoted = false;
		p = q;
	}
	*pp = p;
	return 0;
}

/* qop-options: "auth", "auth-int" or a list of them, quoted (a bare token,
 * which some servers send, is taken too). True when "auth" is offered. */
static bool offers_qop_auth(const char *v, size_t n)
{
	const char *p = v, *end = v + n;
	while (p < end) {
		p = lex_skip_lws(p, end);
		const char *q = lex_span(p, end, LEX_TOKEN);
		if (LEX_TOK_IEQ(p, (size_t)(q - p), "auth"))
			return true;
		p = lex_skip_lws(q, end);
		if (p >= end || *p != ',')
			return false;
		p++;
	}
	return false;
}

/* A value sent back as it came, inside quotes, and hashed as it is: no
 * escape (its bytes would differ from the value hashed) and no control byte
 * (a folded line's CRLF would end our header line). */
static bool sendable(const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == '\\' || (unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return false;
	return true;
}

/* Sets *seen for name, or says it was set already. */
static int first_time(bool *seen)
{
	if (*seen)
		return -EINVAL;
	*seen = true;
	return 0;
}

int sip_digest_challenge_parse(const char *buf, sip_view value, struct sip_digest_challenge *ch)
{
	const char *p = buf + value.off, *end = p + value.len;
	bool realm = false, nonce = false, alg = false, qop = false, opaque = false, stale = false;
	bool unsendable = false;

	memset(ch, 0, sizeof(*ch));
	ch->alg = SIP_DIGEST_MD5;
	const char *s = lex_span(p, end, LEX_TOKEN);
	if (s == p)
		return -EINVAL;
	if (!LEX_TOK_IEQ(p, (size_t)(s - p), "Digest"))
		return -ENOTSUP;
	p = lex_skip_lws(s, end);
	if (p == s)
		return -EINVAL; /* the scheme and the first parameter need LWS between */
	int unsupported = 0;
	for (;;) {
		struct auth_param ap;
		if (auth_param_next(&p, end, &ap))
			return -EINVAL;
		sip_view v = lex_view(buf, ap.val, ap.val + ap.vlen);
		bool odd = !sendable(ap.val, ap.vlen);
		int rc = 0;
		if (LEX_TOK_IEQ(ap.name, ap.nlen, "realm")) {
			rc = first_time(&realm);
			ch->realm = v;
			unsendable |= odd;
		} else if (LEX_TOK_IEQ(ap.name, ap.nlen, "nonce")) {
			rc = first_time(&nonce);
			ch->nonce = v;
			unsendable |= odd;
		} else if (LEX_TOK_IEQ(ap.name, ap.nlen, "opaque")) {
			rc = first_time(&opaque);
			ch->opaque = v;
			ch->has_opaque = true;
			unsendable |= odd;
		} else if (LEX_TOK_IEQ(ap.name, ap.nlen, "algorithm")) {
			rc = first_time(&alg);
			/* lex_ieq, not LEX_TOK_IEQ: these names hold a digit and
			 * a '-', and a quoted value any byte, which OR 0x20 could
			 * fold onto them ("SHA-\x12\x15\x16") */
			if (lex_ieq(ap.val, ap.vlen, "MD5", 3))
				ch->alg = SIP_DIGEST_MD5;
			else if (lex_ieq(ap.val, ap.vlen, "SHA-256", 7))
				ch->alg = SIP_DIGEST_SHA256;
			else
				unsupported = -ENOTSUP;
		} else if (LEX_TOK_IEQ(ap.name, ap.nlen, "qop")) {
			rc = first_time(&qop);
			ch->qop_auth = offers_qop_auth(ap.val, ap.vlen);
			if (!ch->qop_auth)
				unsupported = -ENOTSUP; /* auth-int only */
		} else if (LEX_TOK_IEQ(ap.name, ap.nlen, "stale")) {
			rc = first_time(&stale);
			ch->stale = LEX_TOK_IEQ(ap.val, ap.vlen, "true");
		} /* domain, charset, userhash and extensions: not needed */
		if (rc)
			return rc;
		p = lex_skip_lws(p, end);
		if (p >= end)
			break;
		if (*p != ',')
			return -EINVAL;
		p = lex_skip_lws(p + 1, end);
	}
	if (!realm || !nonce)
		return -EINVAL;
	if (unsupported)
		return unsupported;
	ch->unsendable = unsendable;
	return unsendable ? -ENOTSUP : 0;
}

/* ---- answering it ---------------------------------------------------------- */

/* Longest hex digest: SHA-256's 64 digits and a NUL. */
#define DIGEST_HEX_MAX (2 * SHA256_DIGEST_SIZE + 1)

struct digest_hash {
	uint8_t alg;
	union {
		struct md5_ctx md5;
		struct sha256_ctx sha256;
	} u;
};

static void hash_init(struct digest_hash *h, uint8_t alg)
{
	h->alg = alg;
	if (alg == SIP_DIGEST_SHA256)
		sha256_init(&h->u.sha256);
	else
		md5_init(&h->u.md5);
}

static void hash_put(struct digest_hash *h, const char *p, size_t n)
{
	if (h->alg == SIP_DIGEST_SHA256)
		sha256_update(&h->u.sha256, n, (const uint8_t *)p);
	else
		md5_update(&h->u.md5, n, (const uint8_t *)p);
}

/* The parts joined by ':' */
static void hash_parts(struct digest_hash *h, const char *const *parts, const size_t *lens,
		       unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (i)
			hash_put(h, ":", 1);
		hash_put(h, parts[i], lens[i]);
	}
}

/* The digest in lower-case hex, NUL-terminated. */
static void hash_hex(struct digest_hash *h, char out[DIGEST_HEX_MAX])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t d[SHA256_DIGEST_SIZE];
	size_t n = h->alg == SIP_DIGEST_SHA256 ? SHA256_DIGEST_SIZE : MD5_DIGEST_SIZE;

	if (h->alg == SIP_DIGEST_SHA256)
		sha256_digest(&h->u.sha256, n, d);
	else
		md5_digest(&h->u.md5, n, d);
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[2 * n] = '\0';
}

static void hash_of(uint8_t alg, const char *const *parts, const size_t *lens, unsigned n,
		    char out[DIGEST_HEX_MAX])
{
	struct digest_hash h;
	hash_init(&h, alg);
	hash_parts(&h, parts, lens, n);
	hash_hex(&h, out);
}

static bool quotable(const char *s)
{
	for (; *s; s++)
		if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

int sip_digest_answer(const char *buf, const struct sip_digest_challenge *ch,
		      const struct sip_digest_creds *cr, char *out, size_t cap)
{
	char ha1[DIGEST_HEX_MAX], ha2[DIGEST_HEX_MAX], response[DIGEST_HEX_MAX], nc[9];
	const char *realm = buf + ch->realm.off, *nonce = buf + ch->nonce.off;

	if (!quotable(cr->username) || memchr(cr->uri, '"', cr->uri_len) ||
	    (ch->qop_auth && !quotable(cr->cnonce)))
		return -EINVAL;
	{
		const char *parts[] = {cr->username, realm, cr->password};
		const size_t lens[] = {strlen(cr->username), ch->realm.len, strlen(cr->password)};
		hash_of(ch->alg, parts, lens, 3, ha1);
	}
	{
		const char *parts[] = {cr->method, cr->uri};
		const size_t lens[] = {strlen(cr->method), cr->uri_len};
		hash_of(ch->alg, parts, lens, 2, ha2);
	}
	snprintf(nc, sizeof(nc), "%08x", cr->nc);
	if (ch->qop_auth) {
		const char *parts[] = {ha1, nonce, nc, cr->cnonce, "auth", ha2};
		const size_t lens[] = {strlen(ha1), ch->nonce.len, 8, strlen(cr->cnonce),
				       4,	    strlen(ha2)};
		hash_of(ch->alg, parts, lens, 6, response);
	} else {
		const char *parts[] = {ha1, nonce, ha2};
		const size_t lens[] = {strlen(ha1), ch->nonce.len, strlen(ha2)};
		hash_of(ch->alg, parts, lens, 3, response);
	}

	int n = snprintf(out, cap,
			 "Digest username=\"%s\", realm=\"%.*s\", nonce=\"%.*s\", uri=\"%.*s\", "
			 "response=\"%s\", algorithm=%s",
			 cr->username, (int)ch->realm.len, realm, (int)ch->nonce.len, nonce,
			 (int)cr->uri_len, cr->uri, response,
			 ch->alg == SIP_DIGEST_SHA256 ? "SHA-256" : "MD5");
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	size_t len = (size_t)n;
	if (ch->qop_auth) {
		n = snprintf(out + len, cap - len, ", qop=auth, nc=%s, cnonce=\"%s\"", nc,
			     cr->cnonce);
		if (n < 0 || (size_t)n >= cap - len)
			return -ENOSPC;
		len += (size_t)n;
	}
	if (ch->has_opaque) {
		n = snprintf(out + len, cap - len, ", opaque=\"%.*s\"", (int)ch->opaque.len,
			     buf + ch->opaque.off);
		if (n < 0 || (size_t)n >= cap - len)
			return -ENOSPC;
		len += (size_t)n;
	}
	return (int)len;
}
