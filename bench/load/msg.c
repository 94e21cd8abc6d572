/*
 * msg.c - writing the SIP messages sipshard-load sends (see msg.h).
 *
 * Owns: layouts and bodies. A request is a pure function of struct msg_req,
 * so that a retransmission rebuilt from the same fields is byte-identical to
 * the first send (RFC 3261 17.1.1.1: a retransmission is the same message).
 * Does not own: tokens and dialog state (the roles), parsing (sip.h).
 */
#include <errno.h>

#include "msg.h"

static void put_str(struct wbuf *w, struct msg_str s)
{
	wbuf_put(w, s.p, s.len);
}

void msg_sdp(struct wbuf *w, struct msg_str ip, bool ipv6, uint32_t version, uint16_t port)
{
	const char *fam = ipv6 ? " IN IP6 " : " IN IP4 ";
	wbuf_puts(w, "v=0\r\no=sipshard-load 1 ");
	wbuf_put_uint(w, version);
	wbuf_puts(w, fam);
	put_str(w, ip);
	wbuf_puts(w, "\r\ns=-\r\nc=");
	wbuf_puts(w, fam + 1);
	put_str(w, ip);
	wbuf_puts(w, "\r\nt=0 0\r\nm=audio ");
	wbuf_put_uint(w, port);
	wbuf_puts(w, " RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n");
}

/* Method-specific headers and body of a request. The body is written to a
 * scratch buffer first so that Content-Length can precede it. */
static void put_tail(struct wbuf *w, const struct msg_req *r)
{
	char body[512];
	struct wbuf b = {body, 0, sizeof(body), false};
	const char *ctype = NULL;

	switch (r->method) {
	case LM_INVITE:
	case LM_REINVITE:
	case LM_UPDATE:
		ctype = "application/sdp";
		msg_sdp(&b, r->sdp_ip, r->ipv6, r->sdp_version, r->rtp_port);
		break;
	case LM_INFO:
		ctype = "application/dtmf-relay";
		wbuf_puts(&b, "Signal=5\r\nDuration=160\r\n");
		break;
	case LM_MESSAGE:
		ctype = "text/plain";
		wbuf_puts(&b, "sipshard-load in-dialog MESSAGE");
		break;
	case LM_NOTIFY:
		wbuf_puts(w, "Event: refer\r\nSubscription-State: active;expires=60\r\n");
		ctype = "message/sipfrag;version=2.0";
		wbuf_puts(&b, "SIP/2.0 100 Trying\r\n");
		break;
	case LM_PRACK:
		wbuf_puts(w, "RAck: 1 ");
		wbuf_put_uint(w, r->rack_cseq);
		wbuf_puts(w, " INVITE\r\n");
		break;
	case LM_REFER:
		wbuf_puts(w, "Refer-To: <sip:transfer@");
		put_str(w, r->local);
		wbuf_puts(w, ">\r\nReferred-By: <sip:");
		put_str(w, r->from_user);
		wbuf_puts(w, "@");
		put_str(w, r->local);
		wbuf_puts(w, ">\r\n");
		break;
	case LM_OPTIONS:
		wbuf_puts(w, "Accept: application/sdp\r\n");
		break;
	default:
		break;
	}
	if (b.overflow) {
		w->overflow = true;
		return;
	}
	if (ctype) {
		wbuf_puts(w, "Content-Type: ");
		wbuf_puts(w, ctype);
		wbuf_puts(w, "\r\n");
	}
	wbuf_puts(w, "Content-Length: ");
	wbuf_put_uint(w, (uint32_t)b.len);
	wbuf_puts(w, "\r\n\r\n");
	wbuf_put(w, body, b.len);
}

int msg_request(const struct msg_req *r, char *out, size_t cap)
{
	struct wbuf w = {out, 0, cap, false};
	const char *name = r->method == LM_ACK ? "ACK" : load_method_wire(r->method);

	wbuf_puts(&w, name);
	wbuf_puts(&w, " ");
	put_str(&w, r->ruri);
	wbuf_puts(&w, " SIP/2.0\r\nVia: SIP/2.0/UDP ");
	put_str(&w, r->local);
	wbuf_puts(&w, ";branch=");
	put_str(&w, r->branch);
	wbuf_puts(&w, ";rport\r\nMax-Forwards: 70\r\nFrom: <sip:");
	put_str(&w, r->from_user);
	wbuf_puts(&w, "@");
	put_str(&w, r->local);
	wbuf_puts(&w, ">;tag=");
	put_str(&w, r->ltag);
	wbuf_puts(&w, "\r\nTo: <");
	put_str(&w, r->to_uri);
	wbuf_puts(&w, ">");
	if (r->rtag.len) {
		wbuf_puts(&w, ";tag=");
		put_str(&w, r->rtag);
	}
	wbuf_puts(&w, "\r\nCall-ID: ");
	put_str(&w, r->call_id);
	wbuf_puts(&w, "\r\nCSeq: ");
	wbuf_put_uint(&w, r->cseq);
	wbuf_puts(&w, " ");
	wbuf_puts(&w, name);
	wbuf_puts(&w, "\r\n");
	put_str(&w, r->route);
	if (r->method != LM_ACK && r->method != LM_BYE) {
		wbuf_puts(&w, "Contact: <sip:");
		put_str(&w, r->from_user);
		wbuf_puts(&w, "@");
		put_str(&w, r->local);
		wbuf_puts(&w, ">\r\n");
	}
	wbuf_puts(&w, "User-Agent: sipshard-load\r\n");
	put_tail(&w, r);
	return w.overflow ? -ENOSPC : (int)w.len;
}

int msg_response(const struct sip_msg *req, const struct msg_resp *r, char *out, size_t cap)
{
	static const char tail0[] = "Content-Length: 0\r\n\r\n";
	const size_t tail0_len = sizeof(tail0) - 1;
	char extra[2048];
	struct wbuf e = {extra, 0, sizeof(extra) - 1, false};
	bool sdp = r->sdp_ip.len > 0;

	put_str(&e, r->extra);
	/* RFC 3261 12.1.1: a response that can set up a dialog carries the
	 * request's Record-Route, so that proxies in the path stay in it */
	if (req->method_id == SIP_METHOD_INVITE && r->status > 100 && r->status < 300)
		for (uint16_t i = 0; i < req->nhdrs; i++)
			if (req->hdrs[i].id == SIP_HDR_RECORD_ROUTE)
				wbuf_put(&e, req->buf + req->hdrs[i].start,
					 (size_t)(req->hdrs[i].end - req->hdrs[i].start));
	if (sdp)
		wbuf_puts(&e, "Content-Type: application/sdp\r\n");
	if (e.overflow)
		return -ENOSPC;
	extra[e.len] = '\0';
	/* sip_respond writes the copied headers and ends with Content-Length: 0
	 * and the empty line; with a body, that end is replaced. */
	int n = sip_respond(req, r->status, NULL, r->to_tag, e.len ? extra : NULL, out, cap);
	if (n < 0 || !sdp)
		return n;
	if ((size_t)n < tail0_len || memcmp(out + n - tail0_len, tail0, tail0_len) != 0)
		return -EINVAL;
	char body[512];
	struct wbuf b = {body, 0, sizeof(body), false};
	msg_sdp(&b, r->sdp_ip, r->ipv6, r->sdp_version, r->rtp_port);
	if (b.overflow)
		return -ENOSPC;
	struct wbuf w = {out, (size_t)n - tail0_len, cap, false};
	wbuf_puts(&w, "Content-Length: ");
	wbuf_put_uint(&w, (uint32_t)b.len);
	wbuf_puts(&w, "\r\n\r\n");
	wbuf_put(&w, body, b.len);
	return w.overflow ? -ENOSPC : (int)w.len;
}

/* Request line to Route of a request the uas sends in the dialog of dlg (a
 * request of the peer's, or our response to one: either has the peer's From
 * and our To with its tag): From = dlg's To, To = dlg's From. */
static void put_dialog_head(struct wbuf *w, const char *method, const struct sip_msg *dlg,
			    const struct sip_hdr_line *from, const struct sip_hdr_line *to,
			    struct msg_str ruri, struct msg_str local, struct msg_str branch,
			    uint32_t cseq, struct msg_str route)
{
	wbuf_puts(w, method);
	wbuf_puts(w, " ");
	put_str(w, ruri);
	wbuf_puts(w, " SIP/2.0\r\nVia: SIP/2.0/UDP ");
	put_str(w, local);
	wbuf_puts(w, ";branch=");
	put_str(w, branch);
	wbuf_puts(w, ";rport\r\nMax-Forwards: 70\r\nFrom: ");
	put_str(w, msg_view(dlg, to->value));
	wbuf_puts(w, "\r\nTo: ");
	put_str(w, msg_view(dlg, from->value));
	wbuf_puts(w, "\r\nCall-ID: ");
	put_str(w, msg_view(dlg, dlg->call_id));
	wbuf_puts(w, "\r\nCSeq: ");
	wbuf_put_uint(w, cseq);
	wbuf_puts(w, " ");
	wbuf_puts(w, method);
	wbuf_puts(w, "\r\n");
	put_str(w, route);
}

int msg_notify(const struct sip_msg *refer, struct msg_str local, struct msg_str branch,
	       uint32_t cseq, struct msg_str route, char *out, size_t cap)
{
	static const char frag[] = "SIP/2.0 200 OK\r\n";
	struct wbuf w = {out, 0, cap, false};
	const struct sip_hdr_line *from = sip_find_hdr(refer, SIP_HDR_FROM);
	const struct sip_hdr_line *to = sip_find_hdr(refer, SIP_HDR_TO);

	if (!from || !to)
		return -EINVAL;
	struct msg_str ruri = refer->ncontacts ? msg_view(refer, refer->contacts[0].uri.whole)
					       : msg_view(refer, refer->from.uri.whole);
	put_dialog_head(&w, "NOTIFY", refer, from, to, ruri, local, branch, cseq, route);
	wbuf_puts(&w, "Contact: <sip:uas@");
	put_str(&w, local);
	wbuf_puts(&w, ">\r\nEvent: refer\r\nSubscription-State: terminated;reason=noresource\r\n"
		      "Content-Type: message/sipfrag;version=2.0\r\nContent-Length: ");
	wbuf_put_uint(&w, sizeof(frag) - 1);
	wbuf_puts(&w, "\r\n\r\n");
	wbuf_puts(&w, frag);
	return w.overflow ? -ENOSPC : (int)w.len;
}

int msg_bye(const struct sip_msg *ok, struct msg_str ruri, struct msg_str local,
	    struct msg_str branch, uint32_t cseq, struct msg_str route, char *out, size_t cap)
{
	struct wbuf w = {out, 0, cap, false};
	const struct sip_hdr_line *from = sip_find_hdr(ok, SIP_HDR_FROM);
	const struct sip_hdr_line *to = sip_find_hdr(ok, SIP_HDR_TO);

	if (!from || !to || !ruri.len)
		return -EINVAL;
	put_dialog_head(&w, "BYE", ok, from, to, ruri, local, branch, cseq, route);
	wbuf_puts(&w, "User-Agent: sipshard-load\r\nContent-Length: 0\r\n\r\n");
	return w.overflow ? -ENOSPC : (int)w.len;
}
