/*
 * credentials.h - sipshard answering a 401 or 407 with configured digest
 * credentials (routes[].auth for leg B's INVITE and the in-dialog requests
 * sipshard sends on leg B, registrations[].auth for REGISTER).
 *
 * Owns: which challenge of a response the credentials answer, when a second
 * challenge is answered, the challenges a request answered so far (one per
 * kind and realm: a proxy's and the server's behind it) and the header lines
 * that answer them, and the key that names a route's credentials to the
 * workers (cred_route_key). Does not own: the digest itself (sip/digest.c),
 * resending the request (controller.c, register.c, orig.c).
 */
#ifndef SIPSHARD_CREDENTIALS_H
#define SIPSHARD_CREDENTIALS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctl/config.h"
#include "sipshard/sip.h"

/* "Proxy-Authorization: Digest ..." with a SHA-256 response, a nonce and an
 * opaque of a few hundred bytes each, and its CRLF */
#define CRED_LINE_MAX 1536

/* Different challenges answered for one request at most: a proxy's 407 and
 * the 401 of the registrar or callee behind it (RFC 3261 22.3), or two
 * proxies'. A bound, so that a server that challenges again in a new realm
 * each time cannot keep the request going. */
#define CRED_CHALLENGES_MAX 2

/* The credentials lines of a request: one per challenge answered */
#define CRED_LINES_MAX (CRED_CHALLENGES_MAX * CRED_LINE_MAX)

/* One challenge answered: its kind (401 or 407) and realm are those of the
 * line at the same place in the request as sent (cred_answer). A byte, so
 * that the state takes the place of the one-byte count of answers the
 * controller's set-up records had. */
struct cred_answered {
	uint8_t tries : 2; /* times answered afresh: 1, 2 after a stale nonce; 0 = none */
	uint8_t proxy : 1; /* a 407's, answered by Proxy-Authorization; else a 401's */
	uint8_t nc : 5;	   /* requests its nonce was sent in so far (qop's nonce-count) */
};

/* The challenges a request answered so far, in the order of its lines: the
 * first entries with tries (all zero: none). Kept in the controller's set-up
 * records (setups.tbl): a change of its layout is a new CTL_FILE_VERSION. */
struct cred_state {
	struct cred_answered a[CRED_CHALLENGES_MAX];
};

/* The request a challenge came for. */
struct cred_request {
	const char *method; /* "INVITE", "REGISTER" */
	const char *uri;    /* its Request-URI, as sent */
	size_t uri_len;
	/* the request as last sent: its credentials lines, written here, are
	 * those of the state given to cred_answer (and no others) */
	const char *sent;
	size_t sent_len;
};

/* The key of route name's credentials toward its target t: kept in each of
 * the route's calls' dialog records (shard_dialog.auth_key) for the target
 * its leg B INVITE went to last, and beside each target in the workers'
 * copies of the routes' credentials (orig.h), never 0. A hash of the name
 * and of the target in its one spelling (config_target_canonical: its SRV
 * domain for a target made from an SRV record, else its "IP:port" or
 * "name:port"; an IP literal as inet_ntop writes it, a name in lower case,
 * the port as a number), with a fixed seed: it must be the same after a
 * restart (the records live in RUN_DIR). So a reload that changes a route's
 * password, adds a target, or writes a target another way ("[0::1]:5080"
 * for "[::1]:5080", "Carrier.Example" for "carrier.example") keeps its
 * calls' credentials current, and a DNS refresh that moves a name's address
 * keeps them too (the name is hashed, not its address); a reload that points the route's name at
 * other targets (another carrier) leaves its calls without a key: their
 * carrier is then found by its address, and is not sent the new carrier's
 * account. (A call whose key no route has any more, its route renamed or
 * removed, is matched by its target: orig.h.) */
uint32_t cred_route_key(const char *name, const struct config_target *t);

/* The *why of cred_answer when a challenge of a kind and realm answered
 * before comes again without stale=true: the credentials were refused. */
extern const char cred_why_refused[];

/* False for a state no cred_answer left (a record read back torn). */
bool cred_state_ok(const struct cred_state *s);

/*
 * The lines that answer 401 or 407 m to request rq with credentials a, given
 * the challenges *st answered so far (none at first): an Authorization line
 * for a 401, Proxy-Authorization for a 407, with nc 1 and a cnonce made of
 * cnonce_bits; and the line of each other challenge answered before, sent
 * again in its place with its nonce and the next nc (RFC 3261 22.3: a UAC
 * keeps the credentials of the realms it has answered). Every challenge in m
 * counts (RFC 7235 4.1), those of m's own kind first, then those of the
 * other kind a proxy put with them (a 407 carrying a forked 401's
 * WWW-Authenticate, RFC 3261 16.7 item 7: both answered in one request),
 * only in a realm a lists when it lists any (auth.realm); of one kind and
 * realm, SHA-256 is taken over MD5. A challenge of a kind and realm answered before is
 * answered again only when it says stale=true (its nonce had expired),
 * once; otherwise the credentials were refused, and it is passed over (a
 * new realm beside it is still answered). Each of another kind or realm is
 * answered, up to CRED_CHALLENGES_MAX in all. -EACCES when none of m's
 * challenges is answered (*why cred_why_refused when one was refused).
 * Returns
 * the lines' length (each at most CRED_LINE_MAX) with *st updated, or -EACCES
 * (not answered) or -ENOSPC (the answer would not fit in cap) with *st as it
 * was, and *why saying which.
 */
int cred_answer(const struct config_auth *a, const struct sip_msg *m, const struct cred_request *rq,
		struct cred_state *st, uint64_t cnonce_bits, char *out, size_t cap,
		const char **why);

/*
 * The lines of every challenge *st answered, read back from the request as
 * sent (rq), each sent again with its nonce and the next nc, for the next
 * request of the same series when no new challenge came (RFC 3261 22.3: a
 * REGISTER sent again after a 423 keeps its credentials). Returns their
 * length (0 when none was answered) with *st updated, or -EACCES / -ENOSPC
 * with *st as it was and *why saying which.
 */
int cred_repeat(const struct config_auth *a, const struct cred_request *rq, struct cred_state *st,
		uint64_t cnonce_bits, char *out, size_t cap, const char **why);

#endif
