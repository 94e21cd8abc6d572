/*
 * session.h - one call leg, shaped after the SIP.js Session interface.
 *
 * Owns: the record of a leg (dialog ID parts, URIs, remote target, route set,
 * CSeq spaces, session and offer/answer state, peer address) and the names of
 * its states. Every string is stored inline with its length and no pointer
 * appears, so that a record can live in a file-backed shared mapping and be
 * re-attached by a new process (DESIGN.md invariant 7).
 *
 * SIP.js Session        | here
 * id                    | sip_session_id(): call_id + local_tag + remote_tag
 * callId, localTag,     | call_id, local_tag, remote_tag
 *   remoteTag           |
 * localURI, remoteURI,  | local_uri, remote_uri, remote_target
 *   remoteTarget        |
 * sessionState          | session_state
 * signalingState        | signaling_state
 * offer, answer         | offer, answer (kept up to SESSION_BODY_MAX bytes)
 * bye/info/invite/...   | relayed by the worker; originated by the controller
 */
#ifndef SIPSHARD_SESSION_H
#define SIPSHARD_SESSION_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define SESSION_CALL_ID_MAX   128
#define SESSION_TAG_MAX	      64
#define SESSION_URI_MAX	      256
#define SESSION_ROUTE_SET_MAX 512
#define SESSION_BODY_MAX      0 /* offer/answer bodies: kept by a later change */

enum session_state {
	SESSION_STATE_INITIAL = 0,
	SESSION_STATE_EARLY,
	SESSION_STATE_ACK_WAIT,
	SESSION_STATE_CONFIRMED,
	SESSION_STATE_TERMINATED,
};

enum signaling_state {
	SIGNALING_STATE_INITIAL = 0,
	SIGNALING_STATE_HAVE_LOCAL_OFFER,
	SIGNALING_STATE_HAVE_REMOTE_OFFER,
	SIGNALING_STATE_STABLE,
	SIGNALING_STATE_CLOSED,
};

struct sip_session {
	char call_id[SESSION_CALL_ID_MAX];
	char local_tag[SESSION_TAG_MAX];
	char remote_tag[SESSION_TAG_MAX];
	char local_uri[SESSION_URI_MAX];
	char remote_uri[SESSION_URI_MAX];
	char remote_target[SESSION_URI_MAX];
	/* the route set, pre-formatted as "Route: <a>,<b>\r\n" or empty */
	char route_set[SESSION_ROUTE_SET_MAX];
	uint16_t call_id_len, local_tag_len, remote_tag_len;
	uint16_t local_uri_len, remote_uri_len, remote_target_len, route_set_len;

	uint32_t local_cseq; /* last CSeq we sent on this leg */
	uint32_t remote_cseq; /* last CSeq received on this leg */
	bool remote_cseq_set;
	uint32_t invite_cseq; /* CSeq of the last INVITE we sent (ACK maps to it) */
	uint32_t last_txn, last_txn_gen; /* transaction of the last request received */

	uint8_t session_state; /* enum session_state */
	uint8_t signaling_state; /* enum signaling_state */

	/* where this leg's peer is reached: a sockaddr_in or sockaddr_in6 */
	struct sockaddr_in6 peer;
	socklen_t peer_len;
};

const char *session_state_name(enum session_state s);
const char *signaling_state_name(enum signaling_state s);

/* Writes the session id (Call-ID + local tag + remote tag) into out; returns
 * its length, or -ENOSPC. */
int sip_session_id(const struct sip_session *s, char *out, size_t cap);

/* Copies a string into one of the record's inline fields; false when too long. */
bool sip_session_set(char *field, uint16_t *len, size_t cap, const char *s, size_t n);
#define SESSION_SET(sess, field, s, n)                                                       \
	sip_session_set((sess)->field, &(sess)->field##_len, sizeof((sess)->field), (s), (n))

#endif
