/*
 * msg.h - the SIP text sipshard-load sends: requests of the uac, responses of
 * both roles, the NOTIFY a uas sends after a REFER and the BYE it sends for a
 * 2xx never ACKed, and their bodies.
 *
 * Owns: the layout of every message and body we generate, written straight
 * into a send buffer without allocating. Does not own: which message to send
 * or when (uac.c, uas.c), parsing (sip.h), the tokens (branch, tags, Call-ID)
 * which the roles encode and hand in as text.
 */
#ifndef SIPSHARD_LOAD_MSG_H
#define SIPSHARD_LOAD_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/wbuf.h"

#include "sipshard/sip.h"
#include "stats.h"

/* Messages are written with core/wbuf.h: once something does not fit,
 * `overflow` sticks and the caller gets -ENOSPC from msg_end. */

/* A string with its length (views into a datagram or our own buffers). */
struct msg_str {
	const char *p;
	size_t len;
};

#define MSG_STR(s) ((struct msg_str){(s), sizeof(s) - 1})

/* What a uac request needs. method LM_ACK builds an ACK for the INVITE with
 * CSeq number `cseq`. */
struct msg_req {
	enum load_method method;
	struct msg_str ruri;   /* "sip:user@host:port" */
	struct msg_str local;  /* "IP:PORT" or "[IPv6]:PORT" of the sending socket */
	struct msg_str branch; /* including "z9hG4bK" */
	struct msg_str call_id;
	struct msg_str from_user, ltag;
	struct msg_str to_uri; /* the To URI, without brackets */
	struct msg_str rtag;   /* len 0: no To tag */
	struct msg_str route;  /* whole "Route: ...\r\n" line(s), or len 0 */
	struct msg_str sdp_ip; /* "127.0.0.1" */
	bool ipv6;
	uint32_t cseq;
	uint32_t sdp_version; /* o= version of an offer */
	uint32_t rack_cseq;   /* PRACK: the INVITE's CSeq in RAck */
	uint16_t rtp_port;
};

/* Writes a request. Returns the length or -ENOSPC. */
int msg_request(const struct msg_req *r, char *out, size_t cap);

/* An SDP answer or offer into w (no headers). */
void msg_sdp(struct wbuf *w, struct msg_str ip, bool ipv6, uint32_t version, uint16_t port);

/* A response to a parsed request: Via/From/To/Call-ID/CSeq copied (To gets
 * ";tag=to_tag" when it has none and status > 100), then `extra` raw header
 * lines, then an SDP body when sdp_ip.len > 0, or a message/sipfrag body
 * "SIP/2.0 200 OK" when sipfrag. Returns the length or -ENOSPC / -EINVAL. */
struct msg_resp {
	int status;
	const char *to_tag;   /* NUL-terminated, or NULL */
	struct msg_str extra; /* e.g. "Contact: <sip:...>\r\n" */
	struct msg_str sdp_ip;
	bool ipv6;
	uint32_t sdp_version;
	uint16_t rtp_port;
};
int msg_response(const struct sip_msg *req, const struct msg_resp *r, char *out, size_t cap);

/* The NOTIFY a uas sends in the dialog of a REFER it accepted (RFC 3515):
 * Request-URI = the REFER's Contact (its From URI when it has none), From =
 * the REFER's To, To = the REFER's From, Event: refer, a terminated
 * subscription and a message/sipfrag body "SIP/2.0 200 OK".
 * route: "Route: ...\r\n" or len 0. Returns the length or -ENOSPC. */
int msg_notify(const struct sip_msg *refer, struct msg_str local, struct msg_str branch,
	       uint32_t cseq, struct msg_str route, char *out, size_t cap);

/* The BYE with which a uas ends a call whose 2xx was never ACKed (RFC 3261
 * 13.3.1.4, 14.2), from that stored 2xx `ok` as parsed: Request-URI = ruri
 * (the remote target, the INVITE's Contact), From = the 2xx's To (our tag),
 * To = its From, its Call-ID, CSeq `cseq` BYE, then route ("Route: ...\r\n"
 * or len 0). Returns the length or -ENOSPC / -EINVAL. */
int msg_bye(const struct sip_msg *ok, struct msg_str ruri, struct msg_str local,
	    struct msg_str branch, uint32_t cseq, struct msg_str route, char *out, size_t cap);

/* The value of a header line of a parsed message as a string. */
static inline struct msg_str msg_view(const struct sip_msg *m, sip_view v)
{
	return (struct msg_str){m->buf + v.off, v.len};
}

#endif
