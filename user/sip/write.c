/*
 * write.c - builds outgoing datagrams from parsed messages: the one-pass
 * rewriting writer (sip_write) and stateless responses (sip_respond, RFC 3261
 * section 8.2.6, with the request's Timestamp in a 100: sip_timestamp_line).
 *
 * Owns: output layout, Content-Length recomputation, bounds of the caller's
 * buffer. Does not own: deciding what to rewrite (the worker and controller do).
 * Never writes past the capacity it is given; never allocates.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sip/lex.h"
#include "sip/wput.h"

/* The start line's first byte: the parser skipped leading CR/LF keep-alives. */
static const char *start_line(const struct sip_msg *m)
{
	const char *p = m->buf, *end = m->buf + m->start_end;

	while (p < end && (*p == '\r' || *p == '\n'))
		p++;
	return p;
}

static const struct sip_replace *find_replace(const struct sip_wspec *s, uint8_t id)
{
	for (uint8_t i = 0; i < s->nreplace; i++)
		if (s->replace[i].id == id)
			return &s->replace[i];
	return NULL;
}

static void put_replaced(struct wbuf *w, const struct sip_replace *r)
{
	wbuf_puts(w, sip_hdr_name((enum sip_hdr)r->id));
	wbuf_put(w, ": ", 2);
	wbuf_put(w, r->value, r->len);
	wbuf_put(w, "\r\n", 2);
}

/* Writes a Via line minus the values that strip_vias removes. *left counts the
 * values still to strip across lines. */
static void put_via_line(struct wbuf *w, const struct sip_msg *m, uint16_t line, unsigned *left)
{
	const struct sip_hdr_line *h = &m->hdrs[line];
	const struct sip_via *keep = NULL;

	for (uint8_t i = 0; i < m->nvias; i++) {
		if (m->vias[i].line != line)
			continue;
		if (*left) {
			(*left)--;
			continue;
		}
		keep = &m->vias[i];
		break;
	}
	if (!keep)
		return; /* every value of this line was stripped */
	if (keep->whole.off == h->value.off) {
		wput_line(w, m, h);
		return;
	}
	wput_view(w, m->buf, h->name);
	wbuf_put(w, ": ", 2);
	wbuf_put(w, m->buf + keep->whole.off,
		 (size_t)(h->value.off + h->value.len - keep->whole.off));
	wbuf_put(w, "\r\n", 2);
}

int sip_write(const struct sip_msg *m, const struct sip_wspec *spec, char *out, size_t cap)
{
	static const struct sip_wspec none;
	/* nothing larger than one UDP datagram is ever a valid output */
	struct wbuf w = {out, 0, cap < SIP_MAX_DATAGRAM ? cap : SIP_MAX_DATAGRAM, false};
	const char *body;
	size_t body_len;
	unsigned strip;
	bool wrote_cl = false, wrote_append = false;
	uint64_t replaced_done = 0;

	if (!spec)
		spec = &none;
	if (spec->nreplace > SIP_WSPEC_MAX_REPLACE)
		return -EINVAL;
	for (uint8_t i = 0; i < spec->nreplace; i++)
		if (spec->replace[i].id == SIP_HDR_OTHER || spec->replace[i].id >= SIP_HDR_COUNT ||
		    spec->replace[i].id == SIP_HDR_CONTENT_LENGTH)
			return -EINVAL;
	if (spec->replace_body && !spec->body && spec->body_len)
		return -EINVAL;
	if (spec->replace_body) {
		body = spec->body;
		body_len = spec->body_len;
	} else {
		body = m->buf + m->body.off;
		body_len = m->body.len;
	}
	strip = spec->strip_vias;

	/* start line */
	if (spec->start_line) {
		wbuf_put(&w, spec->start_line, spec->start_line_len);
		wbuf_put(&w, "\r\n", 2);
	} else if (spec->ruri && m->is_request) {
		wput_view(&w, m->buf, m->method);
		wbuf_put(&w, " ", 1);
		wbuf_put(&w, spec->ruri, spec->ruri_len);
		wbuf_put(&w, " SIP/2.0\r\n", 10);
	} else {
		const char *s = start_line(m);
		wbuf_put(&w, s, (size_t)(m->buf + m->start_end - s));
	}
	if (spec->prepend)
		wbuf_put(&w, spec->prepend, spec->prepend_len);

	for (uint16_t i = 0; i < m->nhdrs; i++) {
		const struct sip_hdr_line *h = &m->hdrs[i];
		const struct sip_replace *r;

		if (h->id && (spec->remove & SIP_HBIT(h->id)))
			continue;
		if (h->id && (r = find_replace(spec, h->id)) != NULL) {
			if (!(replaced_done & SIP_HBIT(h->id)))
				put_replaced(&w, r);
			replaced_done |= SIP_HBIT(h->id);
			continue;
		}
		if (h->id == SIP_HDR_VIA && strip) {
			put_via_line(&w, m, i, &strip);
			continue;
		}
		if (h->id == SIP_HDR_CONTENT_LENGTH) {
			if (wrote_cl)
				continue;
			wrote_cl = true;
			if (spec->append && !wrote_append) {
				wbuf_put(&w, spec->append, spec->append_len);
				wrote_append = true;
			}
			if (!spec->replace_body && (size_t)m->content_length == body_len) {
				wput_line(&w, m, h);
			} else {
				wput_view(&w, m->buf, h->name);
				wbuf_put(&w, ": ", 2);
				wbuf_put_uint(&w, (uint32_t)body_len);
				wbuf_put(&w, "\r\n", 2);
			}
			continue;
		}
		wput_line(&w, m, h);
	}
	for (uint8_t i = 0; i < spec->nreplace; i++)
		if (!(replaced_done & SIP_HBIT(spec->replace[i].id))) {
			put_replaced(&w, &spec->replace[i]);
			replaced_done |= SIP_HBIT(spec->replace[i].id);
		}
	if (spec->append && !wrote_append)
		wbuf_put(&w, spec->append, spec->append_len);
	/* A message without Content-Length gets one only when its body changes:
	 * an untouched message stays byte-identical (over UDP its body runs to the
	 * end of the datagram either way). */
	if (!wrote_cl && spec->replace_body && !(spec->remove & SIP_HBIT(SIP_HDR_CONTENT_LENGTH))) {
		wbuf_puts(&w, "Content-Length: ");
		wbuf_put_uint(&w, (uint32_t)body_len);
		wbuf_put(&w, "\r\n", 2);
	}
	/* the empty line as it was written (CRLF, or a bare LF the parser accepts) */
	if (m->body.off > m->headers_end && m->body.off - m->headers_end <= 2)
		wbuf_put(&w, m->buf + m->headers_end, (size_t)(m->body.off - m->headers_end));
	else
		wbuf_put(&w, "\r\n", 2);
	wbuf_put(&w, body, body_len);
	if (w.overflow)
		return -ENOSPC;
	return (int)w.len;
}

/* ---- stateless responses ------------------------------------------------- */

const char *sip_reason_phrase(int status)
{
	switch (status) {
	case 100:
		return "Trying";
	case 180:
		return "Ringing";
	case 181:
		return "Call Is Being Forwarded";
	case 182:
		return "Queued";
	case 183:
		return "Session Progress";
	case 200:
		return "OK";
	case 202:
		return "Accepted";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 415:
		return "Unsupported Media Type";
	case 420:
		return "Bad Extension";
	case 422:
		return "Session Interval Too Small"; /* RFC 4028 */
	case 480:
		return "Temporarily Unavailable";
	case 481:
		return "Call/Transaction Does Not Exist";
	case 482:
		return "Loop Detected";
	case 483:
		return "Too Many Hops";
	case 486:
		return "Busy Here";
	case 487:
		return "Request Terminated";
	case 488:
		return "Not Acceptable Here";
	case 491:
		return "Request Pending";
	case 500:
		return "Server Internal Error";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Server Time-out";
	case 513:
		return "Message Too Large";
	case 603:
		return "Decline";
	default:
		return "Unknown";
	}
}

int sip_error_status(const struct sip_msg *m)
{
	return m->err == SIP_ERR_VERSION ? 505 : 400;
}

bool sip_can_respond(const struct sip_msg *m)
{
	return m->is_request && m->method.len > 0 && m->method_id != SIP_METHOD_ACK &&
	       m->first[SIP_HDR_VIA] && m->first[SIP_HDR_FROM] && m->first[SIP_HDR_TO] &&
	       m->first[SIP_HDR_CALL_ID] && m->first[SIP_HDR_CSEQ];
}

/* True when a To value already carries a tag parameter. A To that parsed
 * says so itself; one that did not (a request that failed on this or an
 * earlier line) is read textually: skips a quoted display name, then looks at
 * each ;parameter after the URI for exactly "tag", passing over quoted
 * parameter values, whose bytes (x="a;tag=b") are no parameter of their own. */
static bool to_has_tag(const struct sip_msg *m, const struct sip_hdr_line *h)
{
	const char *p = m->buf + h->value.off, *e = p + h->value.len;

	if (m->to.has_tag)
		return true;
	if (m->err == SIP_OK)
		return false; /* a valid request: its To parsed without a tag */
	p = lex_skip_lws(p, e);
	if (p < e && *p == '"') {
		p = lex_quoted(p, e);
		if (!p)
			return false;
	}
	if (p >= e)
		return false;
	const char *gt = memchr(p, '<', (size_t)(e - p)) ? memchr(p, '>', (size_t)(e - p)) : NULL;
	if (gt)
		p = gt + 1;
	while (p < e) {
		if (*p == '"') {
			p = lex_quoted(p, e);
			if (!p)
				return false;
			continue;
		}
		if (*p++ != ';')
			continue;
		p = lex_skip_lws(p, e);
		const char *n = p;
		while (p < e && lex_is((unsigned char)*p, LEX_TOKEN))
			p++;
		if (lex_ieq(n, (size_t)(p - n), "tag", 3) && (p = lex_skip_lws(p, e)) < e &&
		    *p == '=')
			return true;
	}
	return false;
}

/* Every Via line, From, To (with ";tag=to_tag" added when to_tag is set and To
 * has none), Call-ID and CSeq of req, as sip_respond and sip_response_head
 * write them. */
static void response_head(struct wbuf *w, const struct sip_msg *req, const char *to_tag)
{
	for (uint16_t i = 0; i < req->nhdrs; i++)
		if (req->hdrs[i].id == SIP_HDR_VIA)
			wput_line(w, req, &req->hdrs[i]);
	wput_line(w, req, sip_find_hdr(req, SIP_HDR_FROM));
	const struct sip_hdr_line *to = sip_find_hdr(req, SIP_HDR_TO);
	if (to_tag && *to_tag && !to_has_tag(req, to)) {
		wput_view(w, req->buf, to->name);
		wbuf_put(w, ": ", 2);
		wput_view(w, req->buf, to->value);
		wbuf_puts(w, ";tag=");
		wbuf_puts(w, to_tag);
		wbuf_put(w, "\r\n", 2);
	} else {
		wput_line(w, req, to);
	}
	wput_line(w, req, sip_find_hdr(req, SIP_HDR_CALL_ID));
	wput_line(w, req, sip_find_hdr(req, SIP_HDR_CSEQ));
}

int sip_response_head(const struct sip_msg *req, const char *to_tag, char *out, size_t cap)
{
	struct wbuf w = {out, 0, cap, false};

	if (!sip_can_respond(req))
		return -EINVAL;
	response_head(&w, req, to_tag);
	return wbuf_result(&w);
}

int sip_timestamp_line(const struct sip_msg *req, char *out, size_t cap)
{
	const struct sip_hdr_line *ts = sip_find_hdr(req, SIP_HDR_TIMESTAMP);
	struct wbuf w = {out, 0, cap ? cap - 1 : 0, false};

	if (!cap)
		return 0;
	if (ts)
		wput_line(&w, req, ts);
	int n = wbuf_result(&w);
	n = n < 0 ? 0 : n; /* a line too long for out: none rather than a cut one */
	out[n] = '\0';
	return n;
}

int sip_respond(const struct sip_msg *req, int status, const char *reason, const char *to_tag,
		const char *extra, char *out, size_t cap)
{
	struct wbuf w = {out, 0, cap, false};
	char line[64];

	if (status < 100 || status > 699 || !sip_can_respond(req))
		return -EINVAL;
	int n = snprintf(line, sizeof(line), "SIP/2.0 %d ", status);
	wbuf_put(&w, line, (size_t)n);
	wbuf_puts(&w, reason ? reason : sip_reason_phrase(status));
	wbuf_put(&w, "\r\n", 2);

	response_head(&w, req, status > 100 ? to_tag : NULL);
	if (status == 100) { /* RFC 3261 8.2.6.1 */
		const struct sip_hdr_line *ts = sip_find_hdr(req, SIP_HDR_TIMESTAMP);
		if (ts)
			wput_line(&w, req, ts);
	}
	if (extra)
		wbuf_puts(&w, extra);
	wbuf_puts(&w, "Content-Length: 0\r\n\r\n");
	return wbuf_result(&w);
}
