/*
 * setup_msg.h - the datagrams the controller builds while it sets a call up:
 * leg B's INVITE, relayed and locally generated responses to leg A, the
 * hop-by-hop ACK and the CANCEL towards leg B.
 *
 * Owns: topology hiding at call setup (nothing of the caller's Via, Contact,
 * Record-Route or Call-ID reaches the callee, and the reverse, nor the header
 * fields strip_headers names; a Replaces or Join naming a dialog of ours is
 * written as its other leg's party knows it), and which of the caller's
 * CANCEL's Reason lines leg B's CANCEL carries (RFC 3326: the callee's phone
 * learns the call was answered elsewhere). Does not own:
 * transaction state or timers (controller.c), in-dialog relay (relay.c).
 * Pure functions: parsed messages and strings in, bytes out, -ENOSPC when the
 * output does not fit.
 */
#ifndef SIPSHARD_SETUP_MSG_H
#define SIPSHARD_SETUP_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "sipshard/sip.h"

/* Bound of the saved "response head" of leg A: its Via lines, From, To (with
 * our tag), Call-ID, CSeq and Record-Route lines (setup_response_head),
 * replayed on every response to leg A. */
#define SETUP_HEAD_MAX 2048

/* What leg B's INVITE is made of. Strings are NUL-terminated. */
struct setup_leg_b {
	const char *advertise; /* our host:port (Via, Contact, From host) */
	const char *target;    /* callee host:port from the route */
	const char *call_id;   /* leg B Call-ID, same bucket as leg A's */
	const char *from_tag;  /* ours on leg B; encodes the dialog slot */
	const char *branch;    /* our Via branch for the INVITE transaction */
	unsigned max_forwards; /* already decremented */
	unsigned cseq;
	/* the Request-URI's and To's user part, when not the caller's (a
	 * route's rewrite); NULL = the Request-URI's and To's own */
	const char *user;
	/* the route authenticates leg B itself: the caller's Authorization and
	 * Proxy-Authorization lines are not passed on (nor those of the INVITE
	 * rebuilt from); credentials, when not NULL, are the lines of ours to
	 * send (with their CRLFs) */
	bool own_credentials;
	const char *credentials;
	/* when not 0 and the caller's INVITE names no Session-Expires: a
	 * "Session-Expires: N" line asks the callee for a session timer that
	 * it refreshes itself (RFC 4028 section 8.1; no Supported: timer of
	 * ours, so the callee is the refresher) */
	uint32_t session_expires_s;
	/* when not 0: the callee refused the interval asked for with 422 and
	 * this Min-SE: the INVITE rebuilt from the one sent asks for it instead
	 * (Session-Expires replaced, a Min-SE line added; RFC 4028 section 7.4) */
	uint32_t min_se_s;
	/* a call that replaces or joins a dialog of ours (RFC 3891, 3911: the
	 * controller's ctl_on_replacing_invite) goes where that dialog's other
	 * leg goes, not to a route's target: when ruri is not NULL, it is the
	 * Request-URI and to_uri the To URI (target and user unused),
	 * route_set the Route line ("Route: <a>,<b>\r\n", or ""), and
	 * dialog_ref the value of the Replaces or Join line (the caller's
	 * header's id, dialog_ref_hdr) that names that leg's dialog */
	const char *ruri, *to_uri, *route_set, *dialog_ref;
	uint8_t dialog_ref_hdr;
	/* strip_headers: the caller's header fields that do not cross (NULL:
	 * none is left out) */
	const struct sip_strip *strip;
};

/* Leg B's INVITE from leg A's: Request-URI sip:USER@target (or b->ruri), our
 * Via, Contact, Call-ID, tags and CSeq; the caller's Via, Route, Record-Route,
 * Contact and Call-ID removed (and its credentials, with own_credentials, and
 * the fields of b->strip);
 * with b->ruri, b->route_set after our Via and the Replaces or Join value
 * replaced; body and other headers kept; our credentials and
 * Session-Expires appended. */
int setup_build_invite(const struct sip_msg *a, const struct setup_leg_b *b, char *out, size_t cap);

/* The head of every response to leg A (SETUP_HEAD_MAX bytes at most):
 * sip_response_head_from's lines of the caller's INVITE a from src (its top
 * Via with received and rport, RFC 3261 18.2.1, RFC 3581), with to_tag, and
 * its Record-Route lines, in order (RFC 3261 12.1.1: the 18x and 2xx that set
 * the dialog up copy them; the other responses carry them unused).
 * Returns length or -ENOSPC / -EINVAL. */
int setup_response_head(const struct sip_msg *a, const char *to_tag, const struct sockaddr *src,
			socklen_t srclen, char *out, size_t cap);

/* A response to leg A from leg B's response: status line kept, B's Via, From,
 * To, Call-ID, CSeq, Contact and Record-Route replaced by the saved head and,
 * for 1xx/2xx, our Contact (a 3xx keeps its Contacts: the redirect's
 * targets); the fields of strip (strip_headers; NULL: none) left out; body
 * kept. A 503 goes as "500 Server Internal Error" without its Retry-After
 * (RFC 3261 16.7 item 6: upstream, a 503 would say that sipshard itself is
 * unavailable), the rest of it as any final. session_s (a 2xx's; 0 = none): the
 * session interval the caller asked for, told to it with refresher=uac and
 * Require: timer (relay_put_session_expires). */
int setup_relay_response(const struct sip_msg *b_resp, const char *head, size_t head_len,
			 const char *advertise, uint32_t session_s, const struct sip_strip *strip,
			 char *out, size_t cap);

/* A locally generated response to leg A (408, 487, 503 ...): status line, the
 * saved head, optional extra raw header lines, Content-Length: 0. */
int setup_local_response(int status, const char *head, size_t head_len, const char *extra,
			 char *out, size_t cap);

/* ACK (for a non-2xx final) or CANCEL for leg B's INVITE, built from the INVITE
 * as sent (re-parsed; for ACK, the INVITE's CANCEL as built here will do, it
 * has the same lines) and, for ACK, the To of the final response (RFC 3261
 * 17.1.1.3 and 9.1). The CANCEL carries reasons (reasons_len bytes of
 * "Reason: ...\r\n" lines, setup_cancel_reasons; NULL or 0 = none) after
 * its CSeq: why the call is given up (RFC 3326), the same on every
 * retransmission of it. */
int setup_build_ack(const struct sip_msg *invite, const struct sip_msg *final_resp, char *out,
		    size_t cap);
int setup_build_cancel(const struct sip_msg *invite, const char *reasons, size_t reasons_len,
		       char *out, size_t cap);

/* Bound of the Reason lines a caller's CANCEL passes on to leg B's: room for
 * the usual pair (a SIP cause and a Q.850 one, with their texts). */
#define SETUP_REASON_MAX 256

/* The Reason lines of m (the caller's CANCEL) that go on to leg B's CANCEL,
 * into out (cap bytes, at most SETUP_REASON_MAX are used): each one whose
 * value is well formed (sip_reason_ok) and fits whole in what is left, in
 * order, written "Reason: VALUE\r\n". A line that is malformed or does not
 * fit is left out whole, never cut, and counted in *dropped.
 * Returns the bytes written (0: none). */
size_t setup_cancel_reasons(const struct sip_msg *m, char *out, size_t cap, unsigned *dropped);

/* The same ACK from the non-2xx final alone, once the INVITE it answers is
 * gone: the final's Via, From, To, Call-ID and CSeq number, and ruri
 * (ruri_len bytes), the INVITE's Request-URI, which the ACK's must equal
 * (RFC 3261 17.1.1.3). When the INVITE is known no more (ruri NULL: the
 * set-up record, or the dialog of a re-INVITE, is gone), its To URI stands
 * for it: the server matches the ACK by its branch (17.2.3) and a proxy on
 * the way routes it by that URI, not always as the INVITE went. Where the
 * INVITE's CANCEL is kept (it has the INVITE's Request-URI, Via, Route
 * lines, From, Call-ID and CSeq number: 9.1), setup_build_ack of that
 * CANCEL and the final is the exact ACK, Route lines included. */
int setup_build_ack_of_final(const struct sip_msg *final_resp, const char *ruri, size_t ruri_len,
			     char *out, size_t cap);

/* A CANCEL from a provisional response to leg B's INVITE once that INVITE
 * is gone, and ruri (ruri_len bytes), the INVITE's Request-URI, which the
 * CANCEL's must equal (RFC 3261 9.1; the To URI is not it when the
 * Request-URI user is not the To user): the provisional's Via, From,
 * Call-ID and CSeq number, its To URI without the tag as the To (the
 * INVITE's To). -EINVAL without a Request-URI. */
int setup_build_cancel_of_provisional(const struct sip_msg *prov, const char *ruri, size_t ruri_len,
				      char *out, size_t cap);

/* ACK or BYE in the dialog a 2xx to our INVITE set up, from the 2xx alone
 * (RFC 3261 13.2.2.4, 15.1.1): Request-URI the 2xx's Contact (else its To
 * URI), a Via of ours with `branch`, the 2xx's From, To and Call-ID, CSeq
 * the INVITE's number (ACK) or setup_bye_cseq of it (BYE); no route set. For a 2xx
 * the controller does not want: the callee is not left with a call. */
int setup_build_after_2xx(const struct sip_msg *ok, const char *method, const char *advertise,
			  const char *branch, char *out, size_t cap);

/* The CSeq of setup_build_after_2xx's BYE in the dialog of a 2xx to leg B's
 * INVITE of CSeq invite_cseq: above any request sent in it before. */
uint32_t setup_bye_cseq(uint32_t invite_cseq);

/* A PRACK (RFC 3262 7.1) of reliable provisional prov, in the early dialog
 * it made, built from it alone as setup_build_after_2xx builds a BYE: CSeq
 * above the INVITE's by one plus the low 30 bits of its RSeq (a later
 * reliable provisional of the same fork gets a higher one), RAck its RSeq
 * and the INVITE's CSeq. For the 18x of a fork that the caller's one early
 * dialog does not stand for. */
int setup_build_prack(const struct sip_msg *prov, const char *advertise, const char *branch,
		      char *out, size_t cap);
/* The CSeq of setup_build_prack's PRACK of prov: the fork that answers
 * after it must get a higher one in that dialog (RFC 3261 12.2.2). */
uint32_t setup_prack_cseq(const struct sip_msg *prov);

#endif
