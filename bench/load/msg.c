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

void msg_put_u32(struct msg_w *w, uint32_t v)
{
	char tmp[10];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	char out[10];
	for (int i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	msg_put(w, out, (size_t)n);
}

static void put_str(struct msg_w *w, struct msg_str s)
{
	msg_put(w, s.p, s.len);
}

void msg_sdp(struct msg_w *w, struct msg_str ip, bool ipv6, uint32_t version, uint16_t port)
{
	const char *fam = ipv6 ? " IN IP6 " : " IN IP4 ";
	msg_puts(w, "v=0\r\no=sipshard-load 1 ");
	msg_put_u32(w, version);
	msg_puts(w, fam);
	put_str(w, ip);
	msg_puts(w, "\r\ns=-\r\nc=");
	msg_puts(w, fam + 1);
	put_str(w, ip);
	msg_puts(w, "\r\nt=0 0\r\nm=audio ");
	msg_put_u32(w, port);
	msg_puts(w, " RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n");
}

/* Method-specific headers and body of a request. The body is written to a
 * scratch buffer first so that Content-Length can precede it. */
static void put_tail(struct msg_w *w, const struct msg_req *r)
{
	char body[512];
	struct msg_w b = {body, 0, sizeof(body), false};
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
		msg_puts(&b, "Signal=5\r\nDuration=160\r\n");
		break;
	case LM_MESSAGE:
		ctype = "text/plain";
		msg_puts(&b, "sipshard-load in-dialog MESSAGE");
		break;
	case LM_NOTIFY:
		msg_puts(w, "Event: refer\r\nSubscription-State: active;expires=60\r\n");
		ctype = "message/sipfrag;version=2.0";
		msg_puts(&b, "SIP/2.0 100 Trying\r\n");
		break;
	case LM_PRACK:
		msg_puts(w, "RAck: 1 ");
		msg_put_u32(w, r->rack_cseq);
		msg_puts(w, " INVITE\r\n");
		break;
	case LM_REFER:
		msg_puts(w, "Refer-To: <sip:transfer@");
		put_str(w, r->local);
		msg_puts(w, ">\r\nReferred-By: <sip:");
		put_str(w, r->from_user);
		msg_puts(w, "@");
		put_str(w, r->local);
		msg_puts(w, ">\r\n");
		break;
	case LM_OPTIONS:
		msg_puts(w, "Accept: application/sdp\r\n");
		break;
	default:
		break;
	}
	if (b.overflow) {
		w->overflow = true;
		return;
	}
	if (ctype) {
		msg_puts(w, "Content-Type: ");
		msg_puts(w, ctype);
		msg_puts(w, "\r\n");
	}
	msg_puts(w, "Content-Length: ");
	msg_put_u32(w, (uint32_t)b.len);
	msg_puts(w, "\r\n\r\n");
	msg_put(w, body, b.len);
}

int msg_request(const struct msg_req *r, char *out, size_t cap)
{
	struct msg_w w = {out, 0, cap, false};
	const char *name = r->method == LM_ACK ? "ACK" : load_method_wire(r->method);

	msg_puts(&w, name);
	msg_puts(&w, " ");
	put_str(&w, r->ruri);
	msg_puts(&w, " SIP/2.0\r\nVia: SIP/2.0/UDP ");
	put_str(&w, r->local);
	msg_puts(&w, ";branch=");
	put_str(&w, r->branch);
	msg_puts(&w, ";rport\r\nMax-Forwards: 70\r\nFrom: <sip:");
	put_str(&w, r->from_user);
	msg_puts(&w, "@");
	put_str(&w, r->local);
	msg_puts(&w, ">;tag=");
	put_str(&w, r->ltag);
	msg_puts(&w, "\r\nTo: <");
	put_str(&w, r->to_uri);
	msg_puts(&w, ">");
	if (r->rtag.len) {
		msg_puts(&w, ";tag=");
		put_str(&w, r->rtag);
	}
	msg_puts(&w, "\r\nCall-ID: ");
	put_str(&w, r->call_id);
	msg_puts(&w, "\r\nCSeq: ");
	msg_put_u32(&w, r->cseq);
	msg_puts(&w, " ");
	msg_puts(&w, name);
	msg_puts(&w, "\r\n");
	put_str(&w, r->route);
	if (r->method != LM_ACK && r->method != LM_BYE) {
		msg_puts(&w, "Contact: <sip:");
		put_str(&w, r->from_user);
		msg_puts(&w, "@");
		put_str(&w, r->local);
		msg_puts(&w, ">\r\n");
	}
	msg_puts(&w, "User-Agent: sipshard-load\r\n");
	put_tail(&w, r);
	return w.overflow ? -ENOSPC : (int)w.len;
}

int msg_response(const struct sip_msg *req, const struct msg_resp *r, char *out, size_t cap)
{
	static const char tail0[] = "Content-Length: 0\r\n\r\n";
	const size_t tail0_len = sizeof(tail0) - 1;
	char extra[2048];
	struct msg_w e = {extra, 0, sizeof(extra) - 1, false};
	bool sdp = r->sdp_ip.len > 0;

	put_str(&e, r->extra);
	/* RFC 3261 12.1.1: a response that can set up a dialog carries the
	 * request's Record-Route, so that proxies in the path stay in it */
	if (req->method_id == SIP_METHOD_INVITE && r->status > 100 && r->status < 300)
		for (uint16_t i = 0; i < req->nhdrs; i++)
			if (req->hdrs[i].id == SIP_HDR_RECORD_ROUTE)
				msg_put(&e, req->buf + req->hdrs[i].start,
					(size_t)(req->hdrs[i].end - req->hdrs[i].start));
	if (sdp)
		msg_puts(&e, "Content-Type: application/sdp\r\n");
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
	struct msg_w b = {body, 0, sizeof(body), false};
	msg_sdp(&b, r->sdp_ip, r->ipv6, r->sdp_version, r->rtp_port);
	if (b.overflow)
		return -ENOSPC;
	struct msg_w w = {out, (size_t)n - tail0_len, cap, false};
	msg_puts(&w, "Content-Length: ");
	msg_put_u32(&w, (uint32_t)b.len);
	msg_puts(&w, "\r\n\r\n");
	msg_put(&w, body, b.len);
	return w.overflow ? -ENOSPC : (int)w.len;
}

int msg_notify(const struct sip_msg *refer, struct msg_str local, struct msg_str branch,
	       uint32_t cseq, struct msg_str route, char *out, size_t cap)
{
	static const char frag[] = "SIP/2.0 200 OK\r\n";
	struct msg_w w = {out, 0, cap, false};
	const struct sip_hdr_line *from = sip_find_hdr(refer, SIP_HDR_FROM);
	const struct sip_hdr_line *to = sip_find_hdr(refer, SIP_HDR_TO);

	if (!from || !to)
		return -EINVAL;
	struct msg_str ruri = refer->ncontacts ? msg_view(refer, refer->contacts[0].uri.whole)
					       : msg_view(refer, refer->from.uri.whole);
	msg_puts(&w, "NOTIFY ");
	put_str(&w, ruri);
	msg_puts(&w, " SIP/2.0\r\nVia: SIP/2.0/UDP ");
	put_str(&w, local);
	msg_puts(&w, ";branch=");
	put_str(&w, branch);
	msg_puts(&w, ";rport\r\nMax-Forwards: 70\r\nFrom: ");
	put_str(&w, msg_view(refer, to->value));
	msg_puts(&w, "\r\nTo: ");
	put_str(&w, msg_view(refer, from->value));
	msg_puts(&w, "\r\nCall-ID: ");
	put_str(&w, msg_view(refer, refer->call_id));
	msg_puts(&w, "\r\nCSeq: ");
	msg_put_u32(&w, cseq);
	msg_puts(&w, " NOTIFY\r\n");
	put_str(&w, route);
	msg_puts(&w, "Contact: <sip:uas@");
	put_str(&w, local);
	msg_puts(&w, ">\r\nEvent: refer\r\nSubscription-State: terminated;reason=noresource\r\n"
		     "Content-Type: message/sipfrag;version=2.0\r\nContent-Length: ");
	msg_put_u32(&w, sizeof(frag) - 1);
	msg_puts(&w, "\r\n\r\n");
	msg_puts(&w, frag);
	return w.overflow ? -ENOSPC : (int)w.len;
}
