/*
 * credentials.c - answering a digest challenge with configured credentials
 * (see credentials.h).
 *
 * The challenges a request answered before are not kept here but read back
 * from the lines of the request as sent (their realm, nonce, opaque,
 * algorithm and qop are all there, as the challenge gave them): a record
 * keeps a few bytes per challenge (struct cred_state) instead of a copy of
 * each nonce and opaque.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/keyhash.h"
#include "daemon/credentials.h"

const char cred_why_refused[] = "the credentials were refused";

uint32_t cred_route_key(const char *name)
{
	uint64_t h = keyhash_bytes(UINT64_C(0x73697073686175), name, strlen(name));
	uint32_t k = (uint32_t)(h ^ h >> 32);
	return k ? k : 1;
}

static const char auth_name[] = "Authorization: ";
static const char proxy_name[] = "Proxy-Authorization: ";

/* The challenge of 401 (WWW-Authenticate) or 407 (Proxy-Authenticate) m
 * that a can answer: 0, or -EACCES with *why. */
static int pick_challenge(const struct config_auth *a, const struct sip_msg *m,
			  struct sip_digest_challenge *out, const char **why)
{
	const uint8_t id = m->status == 401 ? SIP_HDR_WWW_AUTHENTICATE : SIP_HDR_PROXY_AUTHENTICATE;
	size_t rl = strlen(a->realm);
	bool found = false;

	*why = "no challenge line";
	for (uint16_t i = 0; i < m->nhdrs; i++) {
		struct sip_digest_challenge ch;
		if (m->hdrs[i].id != id)
			continue;
		int rc = sip_digest_challenge_parse(m->buf, m->hdrs[i].value, &ch);
		if (rc) {
			if (!found)
				*why = rc != -ENOTSUP ? "a malformed challenge"
				       : ch.unsendable
					   ? "a challenge whose realm, nonce or opaque holds a "
					     "backslash escape or a control byte"
					   : "a challenge of a kind not answered "
					     "(scheme, algorithm or qop)";
			continue;
		}
		if (rl && !sip_view_eq(m->buf, ch.realm, a->realm, rl)) {
			if (!found)
				*why = "a realm other than the configured auth.realm";
			continue;
		}
		if (!found || (ch.alg == SIP_DIGEST_SHA256 && out->alg != SIP_DIGEST_SHA256))
			*out = ch;
		found = true;
	}
	return found ? 0 : -EACCES;
}

static bool starts_with(const char *p, size_t n, const char *s, size_t sn)
{
	return n >= sn && !memcmp(p, s, sn);
}

/* The value of the want-th credentials line in the request as sent, and
 * whether it is a Proxy-Authorization; false when it has fewer. Every such
 * line there is one cred_answer wrote (a REGISTER has no others, and a route
 * with auth drops the caller's), so they are found in the form written; only
 * the header section is looked at. */
static bool sent_line(const struct cred_request *rq, unsigned want, bool *proxy, sip_view *v)
{
	const char *p = rq->sent, *end = rq->sent + rq->sent_len;
	const size_t an = sizeof(auth_name) - 1, pn = sizeof(proxy_name) - 1;
	unsigned i = 0;

	if (rq->sent_len > SIP_MAX_DATAGRAM)
		return false;
	for (;;) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			return false;
		size_t n = (size_t)(eol - p) - (eol > p && eol[-1] == '\r');
		if (n == 0)
			return false; /* the end of the headers */
		size_t name = starts_with(p, n, proxy_name, pn)	 ? pn
			      : starts_with(p, n, auth_name, an) ? an
								 : 0;
		if (name && i++ == want) {
			*proxy = name == pn;
			*v = (sip_view){(uint16_t)(p + name - rq->sent), (uint16_t)(n - name)};
			return true;
		}
		p = eol + 1;
	}
}

/* "Authorization: Digest ...\r\n" (Proxy-Authorization for proxy) answering
 * ch, read from buf, with nonce-count nc, into out: its length, or -ENOSPC
 * when it is longer than cap or than a credentials line may be. */
static int put_line(const struct config_auth *a, const struct cred_request *rq, bool proxy,
		    const char *buf, const struct sip_digest_challenge *ch, unsigned nc,
		    uint64_t cnonce_bits, char *out, size_t cap)
{
	char cnonce[17];

	snprintf(cnonce, sizeof(cnonce), "%016" PRIx64, cnonce_bits);
	const struct sip_digest_creds cr = {
	    .username = a->username,
	    .password = a->password,
	    .method = rq->method,
	    .uri = rq->uri,
	    .uri_len = rq->uri_len,
	    .cnonce = cnonce,
	    .nc = nc,
	};
	const char *name = proxy ? proxy_name : auth_name;
	size_t nl = strlen(name);
	if (cap > CRED_LINE_MAX)
		cap = CRED_LINE_MAX;
	if (cap < nl + 3)
		return -ENOSPC;
	memcpy(out, name, nl);
	int n = sip_digest_answer(buf, ch, &cr, out + nl, cap - nl - 2);
	if (n < 0)
		return -ENOSPC;
	memcpy(out + nl + (size_t)n, "\r\n", 3);
	return (int)nl + n + 2;
}

/* The challenges st answered. */
static unsigned answered(const struct cred_state *st)
{
	unsigned n = 0;
	while (n < CRED_CHALLENGES_MAX && st->a[n].tries)
		n++;
	return n;
}

bool cred_state_ok(const struct cred_state *s)
{
	unsigned n = answered(s);
	for (unsigned i = 0; i < CRED_CHALLENGES_MAX; i++) {
		const struct cred_answered *e = &s->a[i];
		/* nc grows by one for each request the line went in: at most one
		 * per challenge answered */
		if (i < n ? e->tries > 2 || e->nc < 1 || e->nc > 2 * CRED_CHALLENGES_MAX
			  : e->tries || e->proxy || e->nc)
			return false;
	}
	return true;
}

/* Reads back the lines of the challenges st answered from the request as
 * sent into had: 0, or -EACCES with *why. */
static int read_answered(const struct cred_request *rq, const struct cred_state *st, unsigned n,
			 struct sip_digest_challenge had[CRED_CHALLENGES_MAX], const char **why)
{
	for (unsigned i = 0; i < n; i++) {
		bool p;
		sip_view v;
		if (!sent_line(rq, i, &p, &v) || p != st->a[i].proxy ||
		    sip_digest_challenge_parse(rq->sent, v, &had[i]) != 0) {
			*why = "the credentials sent before are not in the request";
			return -EACCES;
		}
	}
	return 0;
}

/* The lines of the n challenges of *next, each with its nc raised: the one
 * at fresh (if below n) answers ch of m, the others their line in the request
 * as sent (had). Returns their length, or -ENOSPC with *why. */
static int put_lines(const struct config_auth *a, const struct cred_request *rq,
		     struct cred_state *next, unsigned n, unsigned fresh, const struct sip_msg *m,
		     const struct sip_digest_challenge *ch, const struct sip_digest_challenge *had,
		     uint64_t cnonce_bits, char *out, size_t cap, const char **why)
{
	size_t len = 0;
	for (unsigned i = 0; i < n; i++) {
		struct cred_answered *e = &next->a[i];
		const bool is_fresh = i == fresh;
		e->nc++;
		/* a cnonce of each line's own, all of them from the caller's bits */
		int k = put_line(
		    a, rq, e->proxy, is_fresh ? m->buf : rq->sent, is_fresh ? ch : &had[i], e->nc,
		    cnonce_bits + i * UINT64_C(0x9e3779b97f4a7c15), out + len, cap - len);
		if (k < 0) {
			*why = "the answer is longer than a credentials line may be";
			return -ENOSPC;
		}
		len += (size_t)k;
	}
	return (int)len;
}

int cred_answer(const struct config_auth *a, const struct sip_msg *m, const struct cred_request *rq,
		struct cred_state *st, uint64_t cnonce_bits, char *out, size_t cap,
		const char **why)
{
	struct sip_digest_challenge ch, had[CRED_CHALLENGES_MAX];
	struct cred_state next = *st;
	const bool proxy = m->status == 407;
	const unsigned had_n = answered(st);
	unsigned at, n_next = had_n;

	if (!a->username[0]) {
		*why = "no credentials configured";
		return -EACCES;
	}
	if (pick_challenge(a, m, &ch, why) != 0)
		return -EACCES;
	if (read_answered(rq, st, had_n, had, why) != 0)
		return -EACCES;
	for (at = 0; at < had_n; at++)
		if (st->a[at].proxy == proxy && had[at].realm.len == ch.realm.len &&
		    !memcmp(rq->sent + had[at].realm.off, m->buf + ch.realm.off, ch.realm.len))
			break;
	if (at < had_n) {
		/* the same server again: stale=true says only the nonce was
		 * refused (RFC 7616 3.3); without it, the credentials were */
		if (!ch.stale || st->a[at].tries >= 2) {
			*why = cred_why_refused;
			return -EACCES;
		}
		next.a[at].tries++;
		next.a[at].nc = 0;
	} else if (had_n >= CRED_CHALLENGES_MAX) {
		*why = "a challenge of yet another kind or realm (two are answered per request)";
		return -EACCES;
	} else {
		next.a[n_next++] = (struct cred_answered){.tries = 1, .proxy = proxy};
	}
	int len = put_lines(a, rq, &next, n_next, at, m, &ch, had, cnonce_bits, out, cap, why);
	if (len < 0)
		return len;
	*st = next;
	return len;
}

int cred_repeat(const struct config_auth *a, const struct cred_request *rq, struct cred_state *st,
		uint64_t cnonce_bits, char *out, size_t cap, const char **why)
{
	struct sip_digest_challenge had[CRED_CHALLENGES_MAX];
	struct cred_state next = *st;
	const unsigned n = answered(st);

	if (read_answered(rq, st, n, had, why) != 0)
		return -EACCES;
	/* nc counts to 31: a line sent that often is not repeated again */
	for (unsigned i = 0; i < n; i++)
		if (st->a[i].nc >= 31) {
			*why = "the nonce was sent too often";
			return -EACCES;
		}
	int len = put_lines(a, rq, &next, n, CRED_CHALLENGES_MAX, NULL, NULL, had, cnonce_bits, out,
			    cap, why);
	if (len < 0)
		return len;
	*st = next;
	return len;
}
