/*
 * write.c - builds outgoing datagrams from parsed messages: the one-pass
 * rewriting writer (sip_write) and stateless responses (sip_respond, RFC 3261
 * section 8.2.6, with the request's Timestamp in a 100: sip_timestamp_line;
 * sip_respond_from with the request's source in the top Via's received and
 * rport, RFC 3261 18.2.1, RFC 3581 section 4).
 *
 * Owns: output layout, Content-Length recomputation, bounds of the caller's
 * buffer, the match of extension header names a rewrite leaves out
 * (sip_names_has). Does not own: deciding what to rewrite (the worker and controller do).
 * Never writes past the capacity it is given; never allocates.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
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

int sip_names_add(struct sip_names *s, const char *name, size_t len)
{
	if (!len || len >= SIP_NAME_MAX)
		return -EINVAL;
	if (s->n >= SIP_NAMES_MAX)
		return -ENOSPC;
	memcpy(s->name[s->n], name, len);
	s->name[s->n][len] = '\0';
	s->len[s->n++] = (uint8_t)len;
	s->lens |= UINT64_C(1) << len;
	return 0;
}

/* Both the names of a list and those of parsed header lines are tokens, and
 * OR 0x20 maps no token character onto another's but for a letter's case:
 * compared a word at a time (lex_tok_ieq). */
bool sip_names_has(const struct sip_names *s, const char *name, size_t len)
{
	/* most extension lines of a message are named by none of the list */
	if (len >= SIP_NAME_MAX || !(s->lens & (UINT64_C(1) << len)))
		return false;
	for (uint8_t i = 0; i < s->n && i < SIP_NAMES_MAX; i++)
		if (s->len[i] == len && lex_tok_ieq(name, len, s->name[i], len))
			return true;
	return false;
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
		/* only extension lines pay for a name list, and only when given */
		if (!h->id && spec->remove_named &&
		    sip_names_has(spec->remove_named, m->buf + h->name.off, h->name.len))
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
	case 502:
		return "Bad Gateway"; /* a callee's answer the call cannot take (controller) */
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

/* True when every header line of m was indexed: up to the empty line, or, for
 * a datagram without one, up to its last byte. The parser stops indexing at a
 * line it cannot take (no name and colon, past max_headers or max_line, a NUL,
 * a CR without LF, an unterminated last line); the lines after it, or that
 * line itself (a "Via" without its colon), may be Vias of the request. */
static bool headers_whole(const struct sip_msg *m)
{
	if (m->headers_end)
		return true;
	uint32_t last = m->nhdrs ? m->hdrs[m->nhdrs - 1].end : m->start_end;
	return last == m->len;
}

bool sip_can_respond(const struct sip_msg *m)
{
	/* RFC 3261 8.2.6.2: the response carries the request's Via values, all of
	 * them in order, and goes back along them; one with the Vias before a
	 * damaged line only would reach an upstream hop without its own Via, so
	 * none is formed then (the caller counts a drop) */
	return m->is_request && m->method.len > 0 && m->method_id != SIP_METHOD_ACK &&
	       m->first[SIP_HDR_VIA] && m->first[SIP_HDR_FROM] && m->first[SIP_HDR_TO] &&
	       m->first[SIP_HDR_CALL_ID] && m->first[SIP_HDR_CSEQ] && headers_whole(m);
}

/* True when a To value already carries a tag parameter. A To that parsed
 * says so itself; one that did not (a request that failed on this or an
 * earlier line) is parsed here on its own (sip_parse_addr), and one that does
 * not parse even so is read textually: each ;parameter outside the URI's
 * <...> is looked at for exactly "tag", quoted strings passed over whole
 * wherever they stand (a display name, a value x="a;tag=b" or x="<>" whose
 * bytes are no parameter and no bracket of their own). */
static bool to_has_tag(const struct sip_msg *m, const struct sip_hdr_line *h)
{
	const char *p = m->buf + h->value.off, *e = p + h->value.len;

	if (m->to.has_tag)
		return true;
	if (m->err == SIP_OK)
		return false; /* a valid request: its To parsed without a tag */
	struct sip_addr a;
	if (sip_parse_addr(&a, m->buf, h->value.off, h->value.len) == 0)
		return a.has_tag;
	bool in_uri = false;
	while (p < e) {
		if (*p == '"') {
			p = lex_quoted(p, e);
			if (!p)
				return false;
			continue;
		}
		if (*p == '<' && !in_uri) {
			/* the URI's own parameters are not the header's */
			in_uri = true;
			p = memchr(p, '>', (size_t)(e - p));
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

/* The source address: the bytes a sent-by host is compared with, written as
 * text for received= only when one is added (RFC 3261 25.1: an IPv6 address
 * without brackets; an IPv4-mapped one as the IPv4 address it is). */
struct src_addr {
	int family;
	unsigned char addr[16];
	uint16_t port;
};

static bool src_addr_of(const struct sockaddr *sa, socklen_t len, struct src_addr *s)
{
	if (!sa)
		return false;
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *v4 = (const struct sockaddr_in *)sa;
		s->family = AF_INET;
		memcpy(s->addr, &v4->sin_addr, 4);
		s->port = ntohs(v4->sin_port);
	} else if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)sa;
		s->port = ntohs(v6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
			s->family = AF_INET;
			memcpy(s->addr, v6->sin6_addr.s6_addr + 12, 4);
		} else {
			s->family = AF_INET6;
			memcpy(s->addr, &v6->sin6_addr, 16);
		}
	} else {
		return false;
	}
	return true;
}

/* Whether text [p, p+n) (a sent-by host, IPv6 in brackets, or a received
 * value, IPv6 bare) is the address of s. A domain name never is. */
static bool host_is_src(const char *p, size_t n, const struct src_addr *s)
{
	char tmp[INET6_ADDRSTRLEN + 2];
	unsigned char a[16];

	if (n >= 2 && p[0] == '[' && p[n - 1] == ']') {
		p++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof(tmp))
		return false;
	memcpy(tmp, p, n);
	tmp[n] = '\0';
	if (s->family == AF_INET)
		return inet_pton(AF_INET, tmp, a) == 1 && memcmp(a, s->addr, 4) == 0;
	return inet_pton(AF_INET6, tmp, a) == 1 && memcmp(a, s->addr, 16) == 0;
}

/* One change to the top via-parm: bytes [at, skip) are replaced by text. */
struct via_edit {
	const char *at, *skip;
	const char *pre; /* ";received=" or "=" or "" */
	const char *text;
};

/* The top Via line of req as RFC 3261 18.2.1 and RFC 3581 4 have a server
 * send it back: received=<source IP> when the sent-by host is not the source
 * or rport was asked, and a valueless rport filled with the source port.
 * Only the top via-parm changes; the rest of the line goes as it came. */
static void put_top_via(struct wbuf *w, const struct sip_msg *req, const struct src_addr *s)
{
	const struct sip_via *v = &req->vias[0];
	const struct sip_hdr_line *h = &req->hdrs[v->line];
	const char *ws = req->buf + v->whole.off, *we = ws + v->whole.len;
	char port[8];
	struct via_edit ed[2];
	int ne = 0;

	bool want_received =
	    v->has_rport || !host_is_src(sip_ptr(req->buf, v->host), v->host.len, s);
	/* the parameters start at the first ';' after the sent-by host (the
	 * parser takes anything up to ']' as an IPv6 reference, ';' too) */
	const char *hend = sip_ptr(req->buf, v->host) + v->host.len;
	const char *p = memchr(hend, ';', (size_t)(we - hend));
	const char *rcv_name = NULL, *rcv_val = NULL, *rcv_end = NULL, *rport_end = NULL;
	struct lex_param prm;
	while (p && lex_param_next(&p, we, &prm) > 0) {
		const char *end = prm.val ? prm.val + prm.vlen : prm.name + prm.nlen;
		if (lex_ieq(prm.name, prm.nlen, "received", 8)) {
			rcv_name = prm.name + prm.nlen;
			rcv_val = prm.val;
			rcv_end = end;
		} else if (lex_ieq(prm.name, prm.nlen, "rport", 5) && !prm.val) {
			rport_end = prm.name + prm.nlen;
		}
	}
	/* the text of the port and address only for the edits that need them:
	 * most peers' sent-by is the address they send from, and ask no rport */
	if (rport_end && v->has_rport && !v->rport.len) {
		snprintf(port, sizeof(port), "%u", (unsigned)s->port);
		ed[ne++] = (struct via_edit){rport_end, rport_end, "=", port};
	}
	char ip[INET6_ADDRSTRLEN];
	if (want_received && !inet_ntop(s->family, s->addr, ip, sizeof(ip)))
		want_received = false;
	if (want_received) {
		if (!rcv_name)
			ed[ne++] = (struct via_edit){we, we, ";received=", ip};
		else if (!rcv_val) /* a valueless received: give it the value */
			ed[ne++] = (struct via_edit){rcv_name, rcv_end, "=", ip};
		else if (!host_is_src(rcv_val, (size_t)(rcv_end - rcv_val), s))
			ed[ne++] = (struct via_edit){rcv_val, rcv_end, "", ip};
	}
	if (ne == 2 && ed[1].at < ed[0].at) {
		struct via_edit t = ed[0];
		ed[0] = ed[1];
		ed[1] = t;
	}
	const char *q = req->buf + h->start;
	for (int i = 0; i < ne; i++) {
		wbuf_put(w, q, (size_t)(ed[i].at - q));
		wbuf_puts(w, ed[i].pre);
		wbuf_puts(w, ed[i].text);
		q = ed[i].skip;
	}
	wbuf_put(w, q, (size_t)(req->buf + h->end - q));
}

/* Whether the line written to w since at (its CRLF and folds included, as
 * the parser counts it) is one a parser with the default limits takes. */
static bool line_fits(const struct wbuf *w, size_t at)
{
	return w->len - at <= sip_default_limits.max_line;
}

/* Every Via line, From, To (with ";tag=to_tag" added when to_tag is set and To
 * has none), Call-ID and CSeq of req, as sip_respond and sip_response_head
 * write them; with a source s, the top Via as put_top_via writes it. The
 * lines copied as they came are within the parser's limit; the two that
 * grow (the top Via by received and rport, To by its tag) may pass it, or
 * To the parser's bound on an address: false then, and the caller forms no
 * response (-EMSGSIZE). */
static bool response_head(struct wbuf *w, const struct sip_msg *req, const char *to_tag,
			  const struct src_addr *s)
{
	/* a request that failed to parse before its first Via value goes back
	 * as it came: there is no via-parm to add to */
	int top = s && req->nvias ? req->vias[0].line : -1;
	bool fits = true;

	for (uint16_t i = 0; i < req->nhdrs; i++) {
		if (req->hdrs[i].id != SIP_HDR_VIA)
			continue;
		if (i == top) {
			size_t at = w->len;
			put_top_via(w, req, s);
			fits = line_fits(w, at);
		} else {
			wput_line(w, req, &req->hdrs[i]);
		}
	}
	wput_line(w, req, sip_find_hdr(req, SIP_HDR_FROM));
	const struct sip_hdr_line *to = sip_find_hdr(req, SIP_HDR_TO);
	if (to_tag && *to_tag && !to_has_tag(req, to)) {
		size_t at = w->len;
		wput_view(w, req->buf, to->name);
		wbuf_put(w, ": ", 2);
		wput_view(w, req->buf, to->value);
		wbuf_puts(w, ";tag=");
		wbuf_puts(w, to_tag);
		wbuf_put(w, "\r\n", 2);
		/* the parser also bounds an address (parse_addr_into): a To
		 * within it may pass it by its tag (one past it already, of a
		 * request refused for it, goes as the other lines do) */
		size_t bound = sip_default_limits.max_uri + 1024u;
		fits = fits && line_fits(w, at) &&
		       !(to->value.len <= bound && to->value.len + 5 + strlen(to_tag) > bound);
	} else {
		wput_line(w, req, to);
	}
	wput_line(w, req, sip_find_hdr(req, SIP_HDR_CALL_ID));
	wput_line(w, req, sip_find_hdr(req, SIP_HDR_CSEQ));
	return fits;
}

/* What a response writer returns: -ENOSPC when anything did not fit out,
 * else -EMSGSIZE when a line grew past the parser's limit, else the length. */
static int response_result(const struct wbuf *w, bool fits)
{
	return w->overflow || fits ? wbuf_result(w) : -EMSGSIZE;
}

int sip_response_head_from(const struct sip_msg *req, const char *to_tag,
			   const struct sockaddr *src, socklen_t srclen, char *out, size_t cap)
{
	struct wbuf w = {out, 0, cap, false};
	struct src_addr s;

	if (!sip_can_respond(req))
		return -EINVAL;
	bool fits = response_head(&w, req, to_tag, src_addr_of(src, srclen, &s) ? &s : NULL);
	return response_result(&w, fits);
}

int sip_response_head(const struct sip_msg *req, const char *to_tag, char *out, size_t cap)
{
	return sip_response_head_from(req, to_tag, NULL, 0, out, cap);
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

int sip_respond_from(const struct sip_msg *req, int status, const char *reason, const char *to_tag,
		     const char *extra, const struct sockaddr *src, socklen_t srclen, char *out,
		     size_t cap)
{
	struct wbuf w = {out, 0, cap, false};
	struct src_addr s;
	char line[64];

	if (status < 100 || status > 699 || !sip_can_respond(req))
		return -EINVAL;
	int n = snprintf(line, sizeof(line), "SIP/2.0 %d ", status);
	wbuf_put(&w, line, (size_t)n);
	wbuf_puts(&w, reason ? reason : sip_reason_phrase(status));
	wbuf_put(&w, "\r\n", 2);

	bool fits = response_head(&w, req, status > 100 ? to_tag : NULL,
				  src_addr_of(src, srclen, &s) ? &s : NULL);
	if (status == 100) { /* RFC 3261 8.2.6.1 */
		const struct sip_hdr_line *ts = sip_find_hdr(req, SIP_HDR_TIMESTAMP);
		if (ts)
			wput_line(&w, req, ts);
	}
	if (extra)
		wbuf_puts(&w, extra);
	wbuf_puts(&w, "Content-Length: 0\r\n\r\n");
	return response_result(&w, fits);
}

int sip_respond(const struct sip_msg *req, int status, const char *reason, const char *to_tag,
		const char *extra, char *out, size_t cap)
{
	return sip_respond_from(req, status, reason, to_tag, extra, NULL, 0, out, cap);
}
