/*
 * setup_msg.c - builds the controller's call-setup datagrams (see setup_msg.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daemon/setup_msg.h"

/* Appends to a bounded buffer; *len becomes > cap on overflow. */
static void cat(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
	if (*len <= cap && n <= cap - *len)
		memcpy(out + *len, s, n);
	*len += n;
}

static void cat_view(char *out, size_t cap, size_t *len, const struct sip_msg *m, sip_view v)
{
	cat(out, cap, len, m->buf + v.off, v.len);
}

static void cat_line(char *out, size_t cap, size_t *len, const struct sip_msg *m,
		     const struct sip_hdr_line *h)
{
	cat(out, cap, len, m->buf + h->start, (size_t)(h->end - h->start));
}

static void cat_str(char *out, size_t cap, size_t *len, const char *s)
{
	cat(out, cap, len, s, strlen(s));
}

int setup_build_invite(const struct sip_msg *a, const struct setup_leg_b *b, char *out, size_t cap)
{
	char ruri[512], via[512], from[512], to[512], cseq[32], mf[16], contact[300];
	const char *user = a->buf + a->ruri.user.off;
	int ulen = a->ruri.user.len;
	struct sip_wspec w = {0};
	int n;

	n = snprintf(ruri, sizeof(ruri), "sip:%.*s%s%s", ulen, user, ulen ? "@" : "", b->target);
	if (n < 0 || (size_t)n >= sizeof(ruri))
		return -ENOSPC;
	w.ruri = ruri;
	w.ruri_len = (size_t)n;
	n = snprintf(via, sizeof(via), "Via: SIP/2.0/UDP %s;branch=%s;rport\r\n", b->advertise,
		     b->branch);
	if (n < 0 || (size_t)n >= sizeof(via))
		return -ENOSPC;
	w.prepend = via;
	w.prepend_len = (size_t)n;
	w.remove = SIP_HBIT(SIP_HDR_VIA) | SIP_HBIT(SIP_HDR_ROUTE) | SIP_HBIT(SIP_HDR_RECORD_ROUTE);

	/* From keeps the caller's user part but names our host: the callee sees
	 * who calls, not where from. */
	const struct sip_uri *fu = &a->from.uri;
	snprintf(from, sizeof(from), "<sip:%.*s%s%s>;tag=%s", (int)fu->user.len,
		 a->buf + fu->user.off, fu->user.len ? "@" : "", b->advertise, b->from_tag);
	const struct sip_uri *tu = &a->to.uri;
	snprintf(to, sizeof(to), "<sip:%.*s%s%s>", (int)tu->user.len, a->buf + tu->user.off,
		 tu->user.len ? "@" : "", b->target);
	snprintf(cseq, sizeof(cseq), "%u INVITE", b->cseq);
	snprintf(mf, sizeof(mf), "%u", b->max_forwards);
	snprintf(contact, sizeof(contact), "<sip:sipshard@%s>", b->advertise);
	const struct sip_replace rep[] = {
	    {SIP_HDR_FROM, from, (uint16_t)strlen(from)},
	    {SIP_HDR_TO, to, (uint16_t)strlen(to)},
	    {SIP_HDR_CALL_ID, b->call_id, (uint16_t)strlen(b->call_id)},
	    {SIP_HDR_CSEQ, cseq, (uint16_t)strlen(cseq)},
	    {SIP_HDR_MAX_FORWARDS, mf, (uint16_t)strlen(mf)},
	    {SIP_HDR_CONTACT, contact, (uint16_t)strlen(contact)},
	};
	memcpy(w.replace, rep, sizeof(rep));
	w.nreplace = sizeof(rep) / sizeof(rep[0]);
	return sip_write(a, &w, out, cap);
}

int setup_save_head(const struct sip_msg *a, const char *to_tag, char *head, size_t cap)
{
	const struct sip_hdr_line *to = sip_find_hdr(a, SIP_HDR_TO);
	size_t len = 0;

	for (uint16_t i = 0; i < a->nhdrs; i++)
		if (a->hdrs[i].id == SIP_HDR_VIA)
			cat_line(head, cap, &len, a, &a->hdrs[i]);
	cat_line(head, cap, &len, a, sip_find_hdr(a, SIP_HDR_FROM));
	if (a->to.has_tag) {
		cat_line(head, cap, &len, a, to);
	} else {
		cat_str(head, cap, &len, "To: ");
		cat_view(head, cap, &len, a, to->value);
		cat_str(head, cap, &len, ";tag=");
		cat_str(head, cap, &len, to_tag);
		cat_str(head, cap, &len, "\r\n");
	}
	cat_line(head, cap, &len, a, sip_find_hdr(a, SIP_HDR_CALL_ID));
	cat_line(head, cap, &len, a, sip_find_hdr(a, SIP_HDR_CSEQ));
	return len <= cap ? (int)len : -ENOSPC;
}

int setup_relay_response(const struct sip_msg *b_resp, const char *head, size_t head_len,
			 const char *advertise, char *out, size_t cap)
{
	struct sip_wspec w = {0};
	char contact[300];

	w.prepend = head;
	w.prepend_len = head_len;
	w.remove = SIP_HBIT(SIP_HDR_VIA) | SIP_HBIT(SIP_HDR_FROM) | SIP_HBIT(SIP_HDR_TO) |
		   SIP_HBIT(SIP_HDR_CALL_ID) | SIP_HBIT(SIP_HDR_CSEQ) |
		   SIP_HBIT(SIP_HDR_RECORD_ROUTE) | SIP_HBIT(SIP_HDR_CONTACT);
	if (b_resp->status < 300) {
		int n =
		    snprintf(contact, sizeof(contact), "Contact: <sip:sipshard@%s>\r\n", advertise);
		w.append = contact;
		w.append_len = (size_t)n;
	}
	return sip_write(b_resp, &w, out, cap);
}

int setup_local_response(int status, const char *head, size_t head_len, const char *extra,
			 char *out, size_t cap)
{
	char line[80];
	size_t len = 0;

	snprintf(line, sizeof(line), "SIP/2.0 %d %s\r\n", status, sip_reason_phrase(status));
	cat_str(out, cap, &len, line);
	cat(out, cap, &len, head, head_len);
	if (extra)
		cat_str(out, cap, &len, extra);
	cat_str(out, cap, &len, "Content-Length: 0\r\n\r\n");
	return len <= cap ? (int)len : -ENOSPC;
}

/* ACK and CANCEL share the INVITE's Request-URI, top Via, From, Call-ID and CSeq
 * number (RFC 3261 9.1, 17.1.1.3). */
static int build_same_txn(const struct sip_msg *inv, const char *method,
			  const struct sip_msg *to_src, char *out, size_t cap)
{
	const struct sip_hdr_line *via = sip_find_hdr(inv, SIP_HDR_VIA);
	char num[32];
	size_t len = 0;

	cat_str(out, cap, &len, method);
	cat_str(out, cap, &len, " ");
	cat_view(out, cap, &len, inv, inv->ruri.whole);
	cat_str(out, cap, &len, " SIP/2.0\r\n");
	cat_line(out, cap, &len, inv, via);
	cat_str(out, cap, &len, "Max-Forwards: 70\r\n");
	cat_line(out, cap, &len, inv, sip_find_hdr(inv, SIP_HDR_FROM));
	cat_line(out, cap, &len, to_src, sip_find_hdr(to_src, SIP_HDR_TO));
	cat_line(out, cap, &len, inv, sip_find_hdr(inv, SIP_HDR_CALL_ID));
	snprintf(num, sizeof(num), "CSeq: %u ", inv->cseq.num);
	cat_str(out, cap, &len, num);
	cat_str(out, cap, &len, method);
	cat_str(out, cap, &len, "\r\nContent-Length: 0\r\n\r\n");
	return len <= cap ? (int)len : -ENOSPC;
}

int setup_build_ack(const struct sip_msg *invite, const struct sip_msg *final_resp, char *out,
		    size_t cap)
{
	return build_same_txn(invite, "ACK", final_resp, out, cap);
}

int setup_build_cancel(const struct sip_msg *invite, char *out, size_t cap)
{
	return build_same_txn(invite, "CANCEL", invite, out, cap);
}
