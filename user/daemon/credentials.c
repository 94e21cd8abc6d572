/*
 * credentials.c - answering a digest challenge with configured credentials
 * (see credentials.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "daemon/credentials.h"

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

int cred_answer(const struct config_auth *a, const struct sip_msg *m, unsigned tries,
		const char *method, const char *uri, size_t uri_len, uint64_t cnonce_bits,
		char *out, size_t cap, const char **why)
{
	struct sip_digest_challenge ch;
	char cnonce[17];

	if (!a->username[0]) {
		*why = "no credentials configured";
		return -EACCES;
	}
	if (pick_challenge(a, m, &ch, why) != 0)
		return -EACCES;
	if (tries >= (ch.stale ? 2u : 1u)) {
		*why = "the credentials were refused";
		return -EACCES;
	}
	snprintf(cnonce, sizeof(cnonce), "%016" PRIx64, cnonce_bits);
	const struct sip_digest_creds cr = {
	    .username = a->username,
	    .password = a->password,
	    .method = method,
	    .uri = uri,
	    .uri_len = uri_len,
	    .cnonce = cnonce,
	    .nc = 1,
	};
	const char *name = m->status == 401 ? "Authorization: " : "Proxy-Authorization: ";
	size_t nl = strlen(name);
	*why = "the answer is longer than a credentials line may be";
	if (cap < nl + 3)
		return -ENOSPC;
	memcpy(out, name, nl);
	int n = sip_digest_answer(m->buf, &ch, &cr, out + nl, cap - nl - 2);
	if (n < 0)
		return -ENOSPC;
	memcpy(out + nl + (size_t)n, "\r\n", 3);
	return (int)nl + n + 2;
}
