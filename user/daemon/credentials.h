/*
 * credentials.h - sipshard answering a 401 or 407 with configured digest
 * credentials (routes[].auth for leg B's INVITE, registrations[].auth for
 * REGISTER).
 *
 * Owns: which challenge of a response the credentials answer, when a second
 * challenge is answered, and the header line that answers it. Does not own:
 * the digest itself (sip/digest.c), resending the request (controller.c,
 * register.c).
 */
#ifndef SIPSHARD_CREDENTIALS_H
#define SIPSHARD_CREDENTIALS_H

#include <stddef.h>
#include <stdint.h>

#include "ctl/config.h"
#include "sipshard/sip.h"

/* "Proxy-Authorization: Digest ..." with a SHA-256 response, a nonce and an
 * opaque of a few hundred bytes each, and its CRLF */
#define CRED_LINE_MAX 1536

/*
 * The line that answers 401 or 407 m to a request (method, sent to uri) with
 * credentials a, for the tries-th challenge of the same request to the same
 * peer (0 for the first): an Authorization line for a 401, Proxy-Authorization
 * for a 407, with nc 1 and cnonce made of cnonce_bits. Of several challenges,
 * the first with SHA-256 is taken, else the first with MD5, and only in a's
 * realm when it names one. A second challenge is answered only when it says
 * stale=true (its nonce had expired), once; otherwise the credentials were
 * refused. Returns the line's length, or -EACCES (not answered) or -ENOSPC
 * (the answer would not fit in cap), with *why saying which.
 */
int cred_answer(const struct config_auth *a, const struct sip_msg *m, unsigned tries,
		const char *method, const char *uri, size_t uri_len, uint64_t cnonce_bits,
		char *out, size_t cap, const char **why);

#endif
