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

uint32_t cred_route_key(const char *name, const struct config_target *t)
{
	char where[CONFIG_TARGET_MAX];
	config_target_canonical(t, where, sizeof(where));
	uint64_t h = keyhash_bytes(UINT64_C(0x73697073686175), name, strlen(name));
	h = keyhash_bytes(h, where, strlen(where));
	uint32_t k = (uint32_t)(h ^ h >> 32);
	return k ? k : 1;
}

static const char auth_name[] = "Authorization: ";
static const char proxy_name[] = "Proxy-Authorization: ";

/* Why challenge line value of m was passed over, or NULL when it is one
 * that a answers, read into ch. */
static const char *unusable(const struct config_auth *a, const struct sip_msg *m, sip_view value,
			    struct sip_digest_challenge *ch)
{
	int rc = sip_digest_challenge_parse(m->buf, value, ch);
	if (rc)
		return rc != -ENOTSUP ? "a malformed challenge"
		       : ch->unsendable
			   ? "a challenge whose realm, nonce or opaque holds a backslash escape or "
			     "a control byte"
			   : "a challenge of a kind not answered (scheme, algorithm or qop)";
	for (uint32_t i = 0; i < a->nrealms; i++)
		if (sip_view_eq(m->buf, ch->realm, a->realm[i], strlen(a->realm[i])))
			return NULL;
	return a->nrealms ? "a realm the configured auth.realm does not list" : NULL;
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
 * at i answers fresh[i] of m when that is not NULL, else its line in the
 * request as sent (had[i]). Returns their length, or -ENOSPC with *why. */
static int put_lines(const struct config_auth *a, const struct cred_request *rq,
		     struct cred_state *next, unsigned n, const struct sip_msg *m,
		     const struct sip_digest_challenge *const fresh[CRED_CHALLENGES_MAX],
		     const struct sip_digest_challenge *had, uint64_t cnonce_bits, char *out,
		     size_t cap, const char **why)
{
	size_t len = 0;
	for (unsigned i = 0; i < n; i++) {
		struct cred_answered *e = &next->a[i];
		const bool is_fresh = fresh && fresh[i];
		e->nc++;
		/* a cnonce of each line's own, all of them from the caller's bits */
		int k = put_line(
		    a, rq, e->proxy, is_fresh ? m->buf : rq->sent, is_fresh ? fresh[i] : &had[i],
		    e->nc, cnonce_bits + i * UINT64_C(0x9e3779b97f4a7c15), out + len, cap - len);
		if (k < 0) {
			*why = "the answer is longer than a credentials line may be";
			return -ENOSPC;
		}
		len += (size_t)k;
	}
	return (int)len;
}

/* The realm of entry i of the challenges being answered: a fresh one's in
 * m, else the one answered before, in the request as sent. */
static bool same_realm(const struct cred_request *rq, const struct sip_msg *m,
		       const struct sip_digest_challenge *fresh,
		       const struct sip_digest_challenge *had,
		       const struct sip_digest_challenge *ch)
{
	const char *buf = fresh ? m->buf : rq->sent;
	const sip_view r = fresh ? fresh->realm : had->realm;
	return r.len == ch->realm.len && !memcmp(buf + r.off, m->buf + ch->realm.off, r.len);
}

int cred_answer(const struct config_auth *a, const struct sip_msg *m, const struct cred_request *rq,
		struct cred_state *st, uint64_t cnonce_bits, char *out, size_t cap,
		const char **why)
{
	struct sip_digest_challenge had[CRED_CHALLENGES_MAX], ch[CRED_CHALLENGES_MAX], c;
	const struct sip_digest_challenge *fresh[CRED_CHALLENGES_MAX] = {NULL};
	struct cred_state next = *st;
	const unsigned had_n = answered(st);
	unsigned n_next = had_n;
	/* why challenges were passed over: a refusal says the most */
	const char *passed = NULL;
	bool refused = false;

	if (!a->username[0]) {
		*why = "no credentials configured";
		return -EACCES;
	}
	if (read_answered(rq, st, had_n, had, why) != 0)
		return -EACCES;
	/* the challenges of the response's own kind first, then those of the
	 * other kind a proxy put with them (RFC 3261 16.7 item 7: a 407 may
	 * carry the WWW-Authenticate of a 401 forked beside it) */
	const bool first_proxy = m->status == 407;
	for (unsigned pass = 0; pass < 2; pass++) {
		const bool proxy = pass == 0 ? first_proxy : !first_proxy;
		const uint8_t id = proxy ? SIP_HDR_PROXY_AUTHENTICATE : SIP_HDR_WWW_AUTHENTICATE;
		for (uint16_t h = 0; h < m->nhdrs; h++) {
			if (m->hdrs[h].id != id)
				continue;
			const char *no = unusable(a, m, m->hdrs[h].value, &c);
			if (no) {
				passed = no;
				continue;
			}
			unsigned at = 0;
			while (at < n_next && (next.a[at].proxy != proxy ||
					       !same_realm(rq, m, fresh[at], &had[at], &c)))
				at++;
			if (at < n_next && fresh[at]) {
				/* a realm taken in this response already: SHA-256
				 * rather than MD5 when it offers both */
				if (c.alg == SIP_DIGEST_SHA256 &&
				    fresh[at]->alg != SIP_DIGEST_SHA256 && (at >= had_n || c.stale))
					ch[at] = c;
			} else if (at < n_next) {
				/* answered before: stale=true says only the nonce
				 * was refused (RFC 7616 3.3), once; without it, the
				 * credentials were, and this one is not answered
				 * again (another in the response may be new) */
				if (!c.stale || st->a[at].tries >= 2) {
					refused = true;
					continue;
				}
				next.a[at].tries++;
				next.a[at].nc = 0;
				ch[at] = c;
				fresh[at] = &ch[at];
			} else if (n_next >= CRED_CHALLENGES_MAX) {
				passed = "a challenge of yet another kind or realm (two are "
					 "answered per request)";
			} else {
				/* a kind and realm not answered yet (RFC 7235 4.1, RFC
				 * 3261 22.3: each realm the response names) */
				next.a[n_next] = (struct cred_answered){.tries = 1, .proxy = proxy};
				ch[n_next] = c;
				fresh[n_next] = &ch[n_next];
				n_next++;
			}
		}
	}
	bool any = false;
	for (unsigned i = 0; i < n_next; i++)
		any = any || fresh[i];
	if (!any) {
		*why = refused ? cred_why_refused : passed ? passed : "no challenge line";
		return -EACCES;
	}
	int len = put_lines(a, rq, &next, n_next, m, fresh, had, cnonce_bits, out, cap, why);
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
	int len = put_lines(a, rq, &next, n, NULL, NULL, had, cnonce_bits, out, cap, why);
	if (len < 0)
		return len;
	*st = next;
	return len;
}
