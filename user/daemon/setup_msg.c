/*
 * setup_msg.c - builds the controller's call-setup datagrams (see setup_msg.h).
 *
 * Every datagram is appended piece by piece into a bounded buffer (core/wbuf.h):
 * no format string is parsed per call, and a piece that does not fit makes the
 * whole datagram -ENOSPC, never a header cut short.
 */
#include <errno.h>
#include <string.h>

#include "core/wbuf.h"
#include "daemon/credentials.h"
#include "daemon/relay.h"
#include "daemon/setup_msg.h"
#include "sip/wput.h"

/* The pieces of leg B's rewritten headers: three URIs (each at most a
 * max_uri user part and a host), a few short values and the appended lines
 * (credentials lines of up to CRED_LINES_MAX bytes, a Session-Expires). */
#define SETUP_PIECES_MAX (8192 + CRED_LINES_MAX + 64)

/* A user part as sipshard sends it: a bare '#', which the parser takes
 * (equipment sends "sip:#123@..."), written %23 as RFC 3261 25.1 has it; the
 * two are one character (19.1.4), and a peer as strict as 25.1 takes this. */
static void put_user(struct wbuf *w, const char *s, size_t n)
{
	const char *hash;
	while ((hash = memchr(s, '#', n)) != NULL) {
		wbuf_put(w, s, (size_t)(hash - s));
		wbuf_puts(w, "%23");
		n -= (size_t)(hash + 1 - s);
		s = hash + 1;
	}
	wbuf_put(w, s, n);
}

/* "sip:USER@host", or "sip:host" when user is empty; user is `over` when
 * that is not NULL. */
static void put_sip_uri(struct wbuf *w, const struct sip_msg *m, sip_view user, const char *over,
			const char *host)
{
	wbuf_puts(w, "sip:");
	if (over ? *over : user.len) {
		if (over)
			put_user(w, over, strlen(over));
		else
			put_user(w, m->buf + user.off, user.len);
		wbuf_puts(w, "@");
	}
	wbuf_puts(w, host);
}

/* The bytes appended to w since start, as a replacement value. */
static struct sip_replace piece(const struct wbuf *w, uint8_t id, size_t start)
{
	return (struct sip_replace){id, w->p + start, (uint16_t)(w->len - start)};
}

int setup_build_invite(const struct sip_msg *a, const struct setup_leg_b *b, char *out, size_t cap)
{
	char pieces[SETUP_PIECES_MAX];
	struct wbuf w = {pieces, 0, sizeof(pieces), false};
	struct sip_wspec spec = {0};
	size_t at;

	if (b->ruri)
		wbuf_puts(&w, b->ruri);
	else
		put_sip_uri(&w, a, a->ruri.user, b->user, b->target);
	size_t ruri_len = w.len;

	at = w.len;
	wbuf_puts(&w, "Via: SIP/2.0/UDP ");
	wbuf_puts(&w, b->advertise);
	wbuf_puts(&w, ";branch=");
	wbuf_puts(&w, b->branch);
	wbuf_puts(&w, ";rport\r\n");
	if (b->ruri)
		wbuf_puts(&w, b->route_set); /* the dialog's other leg's (RFC 3261 12.2.1.1) */
	size_t via = at, via_len = w.len - at;

	/* From keeps the caller's user part but names our host: the callee sees
	 * who calls, not where from. */
	at = w.len;
	wbuf_puts(&w, "<");
	put_sip_uri(&w, a, a->from.uri.user, NULL, b->advertise);
	wbuf_puts(&w, ">;tag=");
	wbuf_puts(&w, b->from_tag);
	spec.replace[spec.nreplace++] = piece(&w, SIP_HDR_FROM, at);

	at = w.len;
	wbuf_puts(&w, "<");
	if (b->ruri)
		wbuf_puts(&w, b->to_uri);
	else
		put_sip_uri(&w, a, a->to.uri.user, b->user, b->target);
	wbuf_puts(&w, ">");
	spec.replace[spec.nreplace++] = piece(&w, SIP_HDR_TO, at);

	if (b->ruri)
		spec.replace[spec.nreplace++] = (struct sip_replace){
		    b->dialog_ref_hdr, b->dialog_ref, (uint16_t)strlen(b->dialog_ref)};

	spec.replace[spec.nreplace++] =
	    (struct sip_replace){SIP_HDR_CALL_ID, b->call_id, (uint16_t)strlen(b->call_id)};

	at = w.len;
	wbuf_put_uint(&w, b->cseq);
	wbuf_puts(&w, " INVITE");
	spec.replace[spec.nreplace++] = piece(&w, SIP_HDR_CSEQ, at);

	at = w.len;
	wbuf_put_uint(&w, b->max_forwards);
	spec.replace[spec.nreplace++] = piece(&w, SIP_HDR_MAX_FORWARDS, at);

	at = w.len;
	relay_put_contact(&w, b->advertise);
	spec.replace[spec.nreplace++] = piece(&w, SIP_HDR_CONTACT, at);

	if (b->min_se_s) {
		at = w.len;
		wbuf_put_uint(&w, b->min_se_s);
		spec.replace[spec.nreplace++] = piece(&w, SIP_HDR_SESSION_EXPIRES, at);
		spec.replace[spec.nreplace++] = piece(&w, SIP_HDR_MIN_SE, at);
	}

	size_t appended = w.len;
	if (b->credentials)
		wbuf_puts(&w, b->credentials);
	if (b->session_expires_s && !a->session_expires.len && !b->min_se_s) {
		/* never below the caller's Min-SE (RFC 4028 section 8.1), which the
		 * INVITE carries on to the callee */
		uint32_t min_se = 0, asked = b->session_expires_s;
		if (sip_hdr_delta_seconds(a, SIP_HDR_MIN_SE, &min_se) && min_se > asked)
			asked = min_se;
		wbuf_puts(&w, "Session-Expires: ");
		wbuf_put_uint(&w, asked);
		wbuf_puts(&w, "\r\n");
	}

	if (w.overflow)
		return -ENOSPC;
	spec.ruri = pieces;
	spec.ruri_len = ruri_len;
	spec.prepend = pieces + via;
	spec.prepend_len = via_len;
	spec.remove =
	    SIP_HBIT(SIP_HDR_VIA) | SIP_HBIT(SIP_HDR_ROUTE) | SIP_HBIT(SIP_HDR_RECORD_ROUTE);
	if (b->own_credentials)
		spec.remove |=
		    SIP_HBIT(SIP_HDR_AUTHORIZATION) | SIP_HBIT(SIP_HDR_PROXY_AUTHORIZATION);
	sip_wspec_strip(&spec, b->strip);
	spec.append = pieces + appended;
	spec.append_len = w.len - appended;
	return sip_write(a, &spec, out, cap);
}

int setup_response_head(const struct sip_msg *a, const char *to_tag, const struct sockaddr *src,
			socklen_t srclen, char *out, size_t cap)
{
	int n = sip_response_head_from(a, to_tag, src, srclen, out, cap);
	if (n < 0)
		return n;
	struct wbuf w = {out, (size_t)n, cap, false};
	/* RFC 3261 12.1.1: the responses that set the caller's dialog up carry
	 * its Record-Route as it came, or the proxies that record-routed fall
	 * off the caller's route set. Its own topology: leg B never sees it. */
	for (uint16_t i = 0; i < a->nhdrs; i++)
		if (a->hdrs[i].id == SIP_HDR_RECORD_ROUTE)
			wput_line(&w, a, &a->hdrs[i]);
	return wbuf_result(&w);
}

int setup_relay_response(const struct sip_msg *b_resp, const char *head, size_t head_len,
			 const char *advertise, uint32_t session_s, const struct sip_strip *strip,
			 char *out, size_t cap)
{
	struct sip_wspec spec = {0};
	char contact[360]; /* an advertise of up to 256 bytes, the session lines */
	struct wbuf w = {contact, 0, sizeof(contact), false};

	spec.prepend = head;
	spec.prepend_len = head_len;
	spec.remove = SIP_HBIT(SIP_HDR_VIA) | SIP_HBIT(SIP_HDR_FROM) | SIP_HBIT(SIP_HDR_TO) |
		      SIP_HBIT(SIP_HDR_CALL_ID) | SIP_HBIT(SIP_HDR_CSEQ) |
		      SIP_HBIT(SIP_HDR_RECORD_ROUTE);
	sip_wspec_strip(&spec, strip);
	/* a 3xx's Contacts are where the caller is to try next (RFC 3261
	 * 8.1.3.4, 21.3), not the callee's address: without them the
	 * redirect says nothing */
	if (b_resp->status < 300 || b_resp->status >= 400)
		spec.remove |= SIP_HBIT(SIP_HDR_CONTACT);
	/* a target's 503: the caller gets 500 */
	relay_503_as_500(&spec, b_resp->status);
	if (b_resp->status < 300) {
		relay_put_contact_line(&w, advertise);
		if (session_s)
			relay_put_session_expires(&w, session_s);
		if (w.overflow)
			return -ENOSPC;
		spec.append = contact;
		spec.append_len = w.len;
	}
	return sip_write(b_resp, &spec, out, cap);
}

int setup_local_response(int status, const char *head, size_t head_len, const char *extra,
			 char *out, size_t cap)
{
	struct wbuf w = {out, 0, cap, false};

	wbuf_puts(&w, "SIP/2.0 ");
	wbuf_put_uint(&w, (uint32_t)status);
	wbuf_puts(&w, " ");
	wbuf_puts(&w, sip_reason_phrase(status));
	wbuf_puts(&w, "\r\n");
	wbuf_put(&w, head, head_len);
	if (extra)
		wbuf_puts(&w, extra);
	wbuf_puts(&w, "Content-Length: 0\r\n\r\n");
	return wbuf_result(&w);
}

/* ACK and CANCEL share the INVITE's Request-URI, top Via, Route lines, From,
 * Call-ID and CSeq number (RFC 3261 9.1, 17.1.1.3). inv may be a response to
 * it when the INVITE is gone: its Via, From, Call-ID and CSeq are the
 * INVITE's; the Request-URI is then ruri (ruri_len bytes) when not NULL,
 * else its To URI stands for it (servers match the ACK by the branch,
 * 17.2.3). */
static int build_same_txn(const struct sip_msg *inv, const char *method,
			  const struct sip_msg *to_src, const char *ruri, size_t ruri_len,
			  const char *extra, size_t extra_len, char *out, size_t cap)
{
	struct wbuf w = {out, 0, cap, false};

	wbuf_puts(&w, method);
	wbuf_puts(&w, " ");
	if (inv->is_request)
		wput_view(&w, inv->buf, inv->ruri.whole);
	else if (ruri)
		wbuf_put(&w, ruri, ruri_len);
	else
		wput_view(&w, inv->buf, inv->to.uri.whole);
	wbuf_puts(&w, " SIP/2.0\r\n");
	wput_line(&w, inv, sip_find_hdr(inv, SIP_HDR_VIA));
	/* an INVITE sent by a route set (one that replaces or joins a dialog
	 * of ours) has its CANCEL and its non-2xx ACK carry it too (RFC 3261
	 * 9.1, 17.1.1.3): the proxies on it see the same route */
	if (inv->is_request)
		for (uint16_t i = 0; i < inv->nhdrs; i++)
			if (inv->hdrs[i].id == SIP_HDR_ROUTE)
				wput_line(&w, inv, &inv->hdrs[i]);
	wbuf_puts(&w, "Max-Forwards: 70\r\n");
	wput_line(&w, inv, sip_find_hdr(inv, SIP_HDR_FROM));
	if (to_src) {
		wput_line(&w, to_src, sip_find_hdr(to_src, SIP_HDR_TO));
	} else { /* the INVITE's To, which had no tag */
		wbuf_puts(&w, "To: <");
		wput_view(&w, inv->buf, inv->to.uri.whole);
		wbuf_puts(&w, ">\r\n");
	}
	wput_line(&w, inv, sip_find_hdr(inv, SIP_HDR_CALL_ID));
	wbuf_puts(&w, "CSeq: ");
	wbuf_put_uint(&w, inv->cseq.num);
	wbuf_puts(&w, " ");
	wbuf_puts(&w, method);
	wbuf_puts(&w, "\r\n");
	if (extra_len)
		wbuf_put(&w, extra, extra_len);
	wbuf_puts(&w, "Content-Length: 0\r\n\r\n");
	return wbuf_result(&w);
}

int setup_build_ack(const struct sip_msg *invite, const struct sip_msg *final_resp, char *out,
		    size_t cap)
{
	return build_same_txn(invite, "ACK", final_resp, NULL, 0, NULL, 0, out, cap);
}

int setup_build_ack_of_final(const struct sip_msg *final_resp, const char *ruri, size_t ruri_len,
			     char *out, size_t cap)
{
	return build_same_txn(final_resp, "ACK", final_resp, ruri_len ? ruri : NULL, ruri_len, NULL,
			      0, out, cap);
}

int setup_build_cancel_of_provisional(const struct sip_msg *prov, const char *ruri, size_t ruri_len,
				      char *out, size_t cap)
{
	if (prov->is_request || !ruri_len)
		return -EINVAL;
	return build_same_txn(prov, "CANCEL", NULL, ruri, ruri_len, NULL, 0, out, cap);
}

int setup_build_cancel(const struct sip_msg *invite, const char *reasons, size_t reasons_len,
		       char *out, size_t cap)
{
	return build_same_txn(invite, "CANCEL", invite, NULL, 0, reasons, reasons ? reasons_len : 0,
			      out, cap);
}

size_t setup_cancel_reasons(const struct sip_msg *m, char *out, size_t cap, unsigned *dropped)
{
	struct wbuf w = {out, 0, cap < SETUP_REASON_MAX ? cap : SETUP_REASON_MAX, false};
	static const char name[] = "Reason: ";

	for (uint16_t i = 0; i < m->nhdrs; i++) {
		const struct sip_hdr_line *h = &m->hdrs[i];
		if (h->id != SIP_HDR_OTHER || !sip_view_ieq(m->buf, h->name, "Reason", 6))
			continue;
		/* the value comes from the network and goes to the callee: only
		 * one that reads as RFC 3326 says, and whole or not at all */
		size_t need = sizeof(name) - 1 + h->value.len + 2;
		if (!sip_reason_ok(m->buf, h->value) || need > w.cap - w.len) {
			(*dropped)++;
			continue;
		}
		wbuf_put(&w, name, sizeof(name) - 1);
		wput_view(&w, m->buf, h->value);
		wbuf_put(&w, "\r\n", 2);
	}
	return w.len;
}

/* A request of ours in the dialog (early or confirmed) that response r made,
 * from r alone, up to its CSeq line: Request-URI r's Contact (else its To
 * URI), a Via of ours with `branch`, the dialog's route set (r's
 * Record-Route in reverse order, RFC 3261 12.1.2, 12.2.1.1), r's From, To
 * and Call-ID. */
static void put_request_in_dialog_of(struct wbuf *w, const struct sip_msg *r, const char *method,
				     uint32_t cseq, const char *advertise, const char *branch)
{
	wbuf_puts(w, method);
	wbuf_puts(w, " ");
	wput_view(w, r->buf, r->ncontacts ? r->contacts[0].uri.whole : r->to.uri.whole);
	wbuf_puts(w, " SIP/2.0\r\nVia: SIP/2.0/UDP ");
	wbuf_puts(w, advertise);
	wbuf_puts(w, ";branch=");
	wbuf_puts(w, branch);
	wbuf_puts(w, ";rport\r\nMax-Forwards: 70\r\n");
	for (uint8_t i = 0; i < r->nrecord_routes; i++) {
		wbuf_puts(w, i ? ",<" : "Route: <");
		wput_view(w, r->buf, r->record_routes[r->nrecord_routes - 1 - i].uri.whole);
		wbuf_puts(w, i + 1 < r->nrecord_routes ? ">" : ">\r\n");
	}
	wput_line(w, r, sip_find_hdr(r, SIP_HDR_FROM));
	wput_line(w, r, sip_find_hdr(r, SIP_HDR_TO));
	wput_line(w, r, sip_find_hdr(r, SIP_HDR_CALL_ID));
	wbuf_puts(w, "CSeq: ");
	wbuf_put_uint(w, cseq);
	wbuf_puts(w, " ");
	wbuf_puts(w, method);
	wbuf_puts(w, "\r\n");
}

/* How far above the INVITE's CSeq the BYE that ends an unwanted 2xx goes: past
 * every request sent in that fork's early dialog (RFC 3261 12.2.1.1; the
 * callee answers a lower CSeq 500, 12.2.2, and stays in a call with nobody),
 * sipshard's own PRACKs (setup_prack_cseq: the INVITE's + 1 + RSeq's low 30
 * bits) and the caller's PRACKs and UPDATEs a worker relayed there (the
 * INVITE's + 1 each). It once took the INVITE's + 1, below the PRACK sent
 * before it. */
#define SETUP_BYE_CSEQ_ABOVE (UINT32_C(1) << 30)

uint32_t setup_bye_cseq(uint32_t invite_cseq)
{
	/* leg B's INVITEs count from 1 (and up by one a retry): far below
	 * 2^31 - 2^30, the most a CSeq may be (RFC 3261 8.1.1.5) */
	return invite_cseq < (UINT32_C(1) << 31) - SETUP_BYE_CSEQ_ABOVE - 1
		   ? invite_cseq + 1 + SETUP_BYE_CSEQ_ABOVE
		   : invite_cseq + 1;
}

int setup_build_after_2xx(const struct sip_msg *ok, const char *method, const char *advertise,
			  const char *branch, char *out, size_t cap)
{
	struct wbuf w = {out, 0, cap, false};
	uint32_t cseq = strcmp(method, "BYE") ? ok->cseq.num : setup_bye_cseq(ok->cseq.num);

	put_request_in_dialog_of(&w, ok, method, cseq, advertise, branch);
	wbuf_puts(&w, "Content-Length: 0\r\n\r\n");
	return wbuf_result(&w);
}

uint32_t setup_prack_cseq(const struct sip_msg *prov)
{
	return prov->cseq.num + 1u + (prov->rseq & 0x3fffffffu);
}

int setup_build_prack(const struct sip_msg *prov, const char *advertise, const char *branch,
		      char *out, size_t cap)
{
	struct wbuf w = {out, 0, cap, false};
	/* one PRACK per reliable provisional, each with a higher CSeq (RFC 3261
	 * 12.2.1.1) and no state kept: a fork's RSeqs go up by one from a random
	 * start (RFC 3262 3), so their low 30 bits do too, but at a wrap */
	uint32_t cseq = setup_prack_cseq(prov);

	put_request_in_dialog_of(&w, prov, "PRACK", cseq, advertise, branch);
	wbuf_puts(&w, "RAck: ");
	wbuf_put_uint(&w, prov->rseq);
	wbuf_puts(&w, " ");
	wbuf_put_uint(&w, prov->cseq.num);
	wbuf_puts(&w, " INVITE\r\nContent-Length: 0\r\n\r\n");
	return wbuf_result(&w);
}
