/*
 * test_sip_respond.c - stateless responses (RFC 3261 8.2.6) from sip_respond()
 * and the sip_can_respond() gate.
 *
 * Covers: 400, 481, 500 and 503 (with Retry-After through `extra`) formed from
 * valid requests and from invalid requests that sip_can_respond() accepts; every
 * Via copied in order (own lines, shared lines, compact form), From, To, Call-ID
 * and CSeq copied, the To tag added when absent and kept when present, no tag on
 * 100, the request's Timestamp in a 100 only (RFC 3261 8.2.6.1), Content-Length: 0
 * and no body, custom and standard reason phrases; that each response parses as
 * a valid response with the right status; refusals (ACK, responses, requests
 * missing what a response needs); and buffer exhaustion. With the request's
 * source (sip_respond_from, sip_response_head_from): received= added to the top
 * via-parm when its sent-by is not the source or it has rport, not when equal;
 * a valueless rport filled (odd case, LWS around ';' and '='); a second value
 * on the top Via line and the other Via lines kept byte for byte; an IPv6
 * source without brackets; -ENOSPC for a small buffer; -EMSGSIZE when the
 * top Via (received, rport) or To (its tag) would grow past the parser's line
 * limit, and a response that parses one byte short of it.
 * Does not cover: which status the daemon picks (that is the worker's policy).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sipshard/sip.h"

struct fixture {
	struct sip_msg req, resp;
	char out[4096];
};

static int setup(void **state)
{
	*state = calloc(1, sizeof(struct fixture));
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

static const char invite[] =
    "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds, SIP/2.0/UDP "
    "192.0.2.5:5070;branch=z9hG4bKx1;received=192.0.2.5\r\n"
    "Max-Forwards: 70\r\n"
    "To: Bob <sip:bob@biloxi.example.com>\r\n"
    "Via: SIP/2.0/TCP [2001:db8::1]:5061;branch=z9hG4bKy2;rport\r\n"
    "From: \"Alice \\\"A\\\"\" <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
    "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Record-Route: <sip:p1.example.com;lr>\r\n"
    "Contact: <sip:alice@pc33.atlanta.example.com>\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: 5\r\n"
    "\r\n"
    "v=0\r\n";

static const char bye_tagged[] = "BYE sip:alice@pc33.atlanta.example.com SIP/2.0\r\n"
				 "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bKnashds10\r\n"
				 "Max-Forwards: 70\r\n"
				 "From: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n"
				 "To: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
				 "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
				 "CSeq: 231 BYE\r\n"
				 "Content-Length: 0\r\n"
				 "\r\n";

static void parse_req(struct sip_msg *m, const char *buf, size_t len, int want_rc)
{
	int rc = sip_parse(m, buf, len, NULL);
	if (rc != want_rc) {
		char why[256];
		sip_strerror(m, why, sizeof(why));
		fail_msg("request parse returned %d (%s), want %d", rc, why, want_rc);
	}
}

static bool view_same(const struct sip_msg *a, sip_view va, const struct sip_msg *b, sip_view vb)
{
	return va.len == vb.len && memcmp(a->buf + va.off, b->buf + vb.off, va.len) == 0;
}

static bool view_is(const struct sip_msg *m, sip_view v, const char *s)
{
	return sip_view_eq(m->buf, v, s, strlen(s));
}

/* The values of every line with this id, in order; returns how many. */
static int line_values(const struct sip_msg *m, enum sip_hdr id, sip_view *out, int max)
{
	int n = 0;
	for (uint16_t i = 0; i < m->nhdrs && n < max; i++)
		if (m->hdrs[i].id == id)
			out[n++] = m->hdrs[i].value;
	return n;
}

static void same_lines(const struct sip_msg *q, const struct sip_msg *r, enum sip_hdr id)
{
	sip_view a[64], b[64];
	int na = line_values(q, id, a, 64), nb = line_values(r, id, b, 64);
	if (na != nb)
		fail_msg("%s: %d lines in the request, %d in the response", sip_hdr_name(id), na,
			 nb);
	for (int i = 0; i < na; i++)
		if (!view_same(q, a[i], r, b[i]))
			fail_msg("%s line %d: \"%.*s\" became \"%.*s\"", sip_hdr_name(id), i,
				 a[i].len, q->buf + a[i].off, b[i].len, r->buf + b[i].off);
}

/*
 * Forms the response, parses it and checks everything 8.2.6 asks to copy. The
 * request side is read from its header lines only, which stay indexed even when
 * the request failed to parse.
 */
static int respond_and_check(struct fixture *f, int status, const char *reason, const char *to_tag,
			     const char *extra)
{
	int n = sip_respond(&f->req, status, reason, to_tag, extra, f->out, sizeof(f->out));
	if (n <= 0)
		fail_msg("sip_respond(%d) returned %d", status, n);
	int rc = sip_parse(&f->resp, f->out, (size_t)n, NULL);
	if (rc != 0) {
		char why[256];
		sip_strerror(&f->resp, why, sizeof(why));
		fail_msg("response does not parse (%d: %s):\n%.*s", rc, why, n, f->out);
	}
	struct sip_msg *q = &f->req, *r = &f->resp;
	assert_false(r->is_request);
	assert_int_equal(r->status, status);
	assert_true(view_is(r, r->reason, reason ? reason : sip_reason_phrase(status)));
	/* Every Via line, in order, byte for byte; From, Call-ID and CSeq likewise. */
	same_lines(q, r, SIP_HDR_VIA);
	same_lines(q, r, SIP_HDR_FROM);
	same_lines(q, r, SIP_HDR_CALL_ID);
	same_lines(q, r, SIP_HDR_CSEQ);
	if (q->err == SIP_OK) {
		assert_int_equal(r->nvias, q->nvias);
		for (int i = 0; i < q->nvias; i++)
			assert_true(view_same(q, q->vias[i].whole, r, r->vias[i].whole));
		assert_int_equal(r->cseq.num, q->cseq.num);
	}
	/* To: copied, with ";tag=to_tag" added only when it had none and status > 100. */
	const struct sip_hdr_line *qt = sip_find_hdr(q, SIP_HDR_TO),
				  *rt = sip_find_hdr(r, SIP_HDR_TO);
	assert_non_null(qt);
	assert_non_null(rt);
	struct sip_addr qa;
	assert_int_equal(sip_parse_addr(&qa, q->buf, qt->value.off, qt->value.len), 0);
	char want_to[512];
	if (!qa.has_tag && status > 100 && to_tag)
		snprintf(want_to, sizeof(want_to), "%.*s;tag=%s", qt->value.len,
			 q->buf + qt->value.off, to_tag);
	else
		snprintf(want_to, sizeof(want_to), "%.*s", qt->value.len, q->buf + qt->value.off);
	if (!view_is(r, rt->value, want_to))
		fail_msg("To is \"%.*s\", want \"%s\"", rt->value.len, r->buf + rt->value.off,
			 want_to);
	assert_int_equal(r->content_length, 0);
	assert_int_equal(r->body.len, 0);
	assert_int_equal((size_t)n, (size_t)r->headers_end + 2);
	/* Nothing a stateless response must not carry. */
	assert_null(sip_find_hdr(r, SIP_HDR_CONTACT));
	assert_null(sip_find_hdr(r, SIP_HDR_RECORD_ROUTE));
	assert_null(sip_find_hdr(r, SIP_HDR_CONTENT_TYPE));
	assert_null(sip_find_hdr(r, SIP_HDR_MAX_FORWARDS));
	return n;
}

/* RFC 3261 8.2.6.1: a 100 (Trying) carries the request's Timestamp as it
 * came (the name as written, the delay included); no other status does. */
static void test_100_copies_timestamp(void **state)
{
	struct fixture *f = *state;
	static const char with_ts[] = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
				      "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bKts1\r\n"
				      "Max-Forwards: 70\r\n"
				      "From: <sip:alice@atlanta.example.com>;tag=88\r\n"
				      "To: <sip:bob@biloxi.example.com>\r\n"
				      "timestamp: 54.30 0.5\r\n"
				      "Call-ID: ts1@192.0.2.4\r\n"
				      "CSeq: 1 INVITE\r\n"
				      "Content-Length: 0\r\n"
				      "\r\n";
	char line[64];

	parse_req(&f->req, with_ts, sizeof(with_ts) - 1, 0);
	int n = respond_and_check(f, 100, NULL, "x", NULL);
	assert_non_null(memmem(f->out, (size_t)n, "\r\ntimestamp: 54.30 0.5\r\n", 24));
	const struct sip_hdr_line *ts = sip_find_hdr(&f->resp, SIP_HDR_TIMESTAMP);
	assert_non_null(ts);
	assert_true(view_is(&f->resp, ts->value, "54.30 0.5"));
	n = respond_and_check(f, 180, NULL, "x", NULL);
	assert_null(memmem(f->out, (size_t)n, "54.30", 5));
	n = respond_and_check(f, 200, NULL, "x", NULL);
	assert_null(memmem(f->out, (size_t)n, "54.30", 5));

	/* the line alone, for a 100 made from a saved head */
	assert_int_equal(sip_timestamp_line(&f->req, line, sizeof(line)), 22);
	assert_string_equal(line, "timestamp: 54.30 0.5\r\n");
	assert_int_equal(sip_timestamp_line(&f->req, line, 22), 0); /* no room: none */
	assert_string_equal(line, "");

	/* none in the request: none in the 100 */
	parse_req(&f->req, invite, sizeof(invite) - 1, 0);
	n = respond_and_check(f, 100, NULL, NULL, NULL);
	assert_null(sip_find_hdr(&f->resp, SIP_HDR_TIMESTAMP));
	assert_int_equal(sip_timestamp_line(&f->req, line, sizeof(line)), 0);
	assert_string_equal(line, "");
}

static void test_503_retry_after(void **state)
{
	struct fixture *f = *state;
	parse_req(&f->req, invite, sizeof(invite) - 1, 0);
	assert_int_equal(f->req.nvias, 3);
	assert_true(sip_can_respond(&f->req));
	respond_and_check(f, 503, NULL, "sbc1", "Retry-After: 5\r\n");
	assert_true(view_is(&f->resp, f->resp.reason, "Service Unavailable"));
	const struct sip_hdr_line *ra = sip_find_hdr(&f->resp, SIP_HDR_RETRY_AFTER);
	assert_non_null(ra);
	assert_true(view_is(&f->resp, ra->value, "5"));
	/* The start line is exact. */
	assert_memory_equal(f->out, "SIP/2.0 503 Service Unavailable\r\n", 33);
	assert_int_equal(f->resp.start_end, 33);
}

static void test_standard_statuses(void **state)
{
	struct fixture *f = *state;
	static const struct {
		int status;
		const char *phrase;
	} st[] = {{400, "Bad Request"},
		  {481, "Call/Transaction Does Not Exist"},
		  {500, "Server Internal Error"},
		  {503, "Service Unavailable"},
		  {491, "Request Pending"},
		  {404, "Not Found"},
		  {180, "Ringing"}};
	for (size_t i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
		parse_req(&f->req, invite, sizeof(invite) - 1, 0);
		respond_and_check(f, st[i].status, NULL, "t1", NULL);
		assert_true(view_is(&f->resp, f->resp.reason, st[i].phrase));
		parse_req(&f->req, bye_tagged, sizeof(bye_tagged) - 1, 0);
		respond_and_check(f, st[i].status, NULL, "t1", NULL);
	}
}

static void test_custom_reason_and_extras(void **state)
{
	struct fixture *f = *state;
	parse_req(&f->req, bye_tagged, sizeof(bye_tagged) - 1, 0);
	respond_and_check(f, 500, "Shard Busy", "x",
			  "Retry-After: 10\r\nWarning: 399 sbc \"ring full\"\r\n");
	assert_true(view_is(&f->resp, f->resp.reason, "Shard Busy"));
	assert_non_null(sip_find_hdr(&f->resp, SIP_HDR_WARNING));
	const struct sip_hdr_line *ra = sip_find_hdr(&f->resp, SIP_HDR_RETRY_AFTER);
	assert_non_null(ra);
	assert_true(view_is(&f->resp, ra->value, "10"));
	/* An unknown status gets "Unknown" by default. */
	respond_and_check(f, 499, NULL, "x", NULL);
	assert_true(view_is(&f->resp, f->resp.reason, "Unknown"));
}

/* To tag: added when absent and status > 100, kept when present, never doubled. */
static void test_to_tag(void **state)
{
	struct fixture *f = *state;
	parse_req(&f->req, invite, sizeof(invite) - 1, 0);
	assert_false(f->req.to.has_tag);
	respond_and_check(f, 481, NULL, "abc-123", NULL);
	assert_true(view_is(&f->resp, f->resp.to.tag, "abc-123"));
	respond_and_check(f, 100, NULL, "abc-123", NULL);
	assert_false(f->resp.to.has_tag);

	parse_req(&f->req, bye_tagged, sizeof(bye_tagged) - 1, 0);
	respond_and_check(f, 481, NULL, "other", NULL);
	assert_true(view_is(&f->resp, f->resp.to.tag, "1928301774"));

	/* A To whose URI carries a "tag" URI parameter has no header tag yet. */
	static const char uri_tag[] = "OPTIONS sip:bob@biloxi.example.com SIP/2.0\r\n"
				      "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK5\r\n"
				      "Max-Forwards: 70\r\n"
				      "From: <sip:a@example.com>;tag=1\r\n"
				      "To: <sip:bob@biloxi.example.com;tag=uri>\r\n"
				      "Call-ID: tt1\r\n"
				      "CSeq: 1 OPTIONS\r\n"
				      "\r\n";
	parse_req(&f->req, uri_tag, sizeof(uri_tag) - 1, 0);
	respond_and_check(f, 500, NULL, "hdr", NULL);
	assert_true(view_is(&f->resp, f->resp.to.tag, "hdr"));
	assert_true(view_is(&f->resp, f->resp.to.uri.params, "tag=uri"));

	/* Found by fuzz_sip: a header parameter whose name merely ends in "tag" is not a
	 * tag, so the response must still add one. */
	static const char xtag[] = "OPTIONS sip:bob@biloxi.example.com SIP/2.0\r\n"
				   "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK7\r\n"
				   "Max-Forwards: 70\r\n"
				   "From: <sip:a@example.com>;tag=1\r\n"
				   "To: Bob <sip:bob@biloxi.example.com>;gtag=a6c85cf;x-tag=2\r\n"
				   "Call-ID: tt3\r\n"
				   "CSeq: 1 OPTIONS\r\n"
				   "\r\n";
	parse_req(&f->req, xtag, sizeof(xtag) - 1, 0);
	assert_false(f->req.to.has_tag);
	respond_and_check(f, 400, NULL, "added", NULL);
	assert_true(view_is(&f->resp, f->resp.to.tag, "added"));

	/* addr-spec To without <>: the tag is appended as a header parameter. */
	static const char addr_spec[] = "OPTIONS sip:bob@biloxi.example.com SIP/2.0\r\n"
					"Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK6\r\n"
					"Max-Forwards: 70\r\n"
					"From: sip:a@example.com;tag=1\r\n"
					"To: sip:bob@biloxi.example.com\r\n"
					"Call-ID: tt2\r\n"
					"CSeq: 1 OPTIONS\r\n"
					"\r\n";
	parse_req(&f->req, addr_spec, sizeof(addr_spec) - 1, 0);
	respond_and_check(f, 400, NULL, "z9", NULL);
	assert_true(view_is(&f->resp, f->resp.to.tag, "z9"));

	/* ";tag=" inside a quoted parameter value (gen-value = quoted-string, RFC
	 * 3261 25.1) is not a tag: the response must still add one (8.2.6.2), here
	 * and in the saved head a 180/200 is made from. */
	static const char qtag[] = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
				   "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK8\r\n"
				   "Max-Forwards: 70\r\n"
				   "From: <sip:a@example.com>;tag=1\r\n"
				   "To: <sip:bob@biloxi.example.com>;x=\"y;tag=z\"\r\n"
				   "Call-ID: tt4\r\n"
				   "CSeq: 1 INVITE\r\n"
				   "\r\n";
	parse_req(&f->req, qtag, sizeof(qtag) - 1, 0);
	assert_false(f->req.to.has_tag);
	respond_and_check(f, 486, NULL, "qt", NULL);
	assert_true(view_is(&f->resp, f->resp.to.tag, "qt"));
	int n = sip_response_head(&f->req, "qt", f->out, sizeof(f->out));
	assert_true(n > 0);
	assert_non_null(
	    strstr(f->out, "To: <sip:bob@biloxi.example.com>;x=\"y;tag=z\";tag=qt\r\n"));
	/* the same To in a request that failed on another line is read textually */
	static const char qtag_bad[] = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
				       "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK9\r\n"
				       "Max-Forwards: 70x\r\n"
				       "From: <sip:a@example.com>;tag=1\r\n"
				       "To: <sip:bob@biloxi.example.com>;x=\"y;tag=z\"\r\n"
				       "Call-ID: tt5\r\n"
				       "CSeq: 1 INVITE\r\n"
				       "\r\n";
	parse_req(&f->req, qtag_bad, sizeof(qtag_bad) - 1, -SIP_ERR_BAD_VALUE);
	respond_and_check(f, 400, NULL, "qb", NULL);
	assert_true(view_is(&f->resp, f->resp.to.tag, "qb"));
}

/* A request that failed before its To line, whose To is an addr-spec with a
 * quoted parameter value holding '<' and '>': the brackets are no URI of
 * their own, so a tag before them is the request's (kept, no second one
 * added) and a ";tag=" inside the quotes is none (ours added). Both were
 * read wrongly when '<' and '>' were looked for anywhere in the value. */
static void test_to_tag_beside_quoted_brackets(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *to, *want_line, *want_tag; /* want_tag: NULL, To unparsable */
	} cases[] = {
	    {"sip:bob@biloxi.example.com;tag=theirs;x=\"<>\"",
	     "To: sip:bob@biloxi.example.com;tag=theirs;x=\"<>\"\r\n", "theirs"},
	    {"sip:bob@biloxi.example.com;x=\"<>;tag=t\"",
	     "To: sip:bob@biloxi.example.com;x=\"<>;tag=t\";tag=ours\r\n", "ours"},
	    {"\"A <b>\" <sip:bob@biloxi.example.com;tag=uri>;x=\"<;tag=q>\"",
	     "To: \"A <b>\" <sip:bob@biloxi.example.com;tag=uri>;x=\"<;tag=q>\";tag=ours\r\n",
	     "ours"},
	    /* a To that does not parse on its own either: read textually */
	    {"<sip:bob@[bad>;x=\"<>\";tag=kept", "To: <sip:bob@[bad>;x=\"<>\";tag=kept\r\n", NULL},
	    {"<sip:bob@[bad>;x=\"<>;tag=q\"", "To: <sip:bob@[bad>;x=\"<>;tag=q\";tag=ours\r\n",
	     NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char req[512];
		int len = snprintf(req, sizeof(req),
				   "OPTIONS sip:bob@[bad SIP/2.0\r\n"
				   "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK9\r\n"
				   "Max-Forwards: 70\r\n"
				   "From: <sip:a@example.com>;tag=1\r\n"
				   "To: %s\r\n"
				   "Call-ID: tt6\r\n"
				   "CSeq: 1 OPTIONS\r\n"
				   "\r\n",
				   cases[i].to);
		assert_true(len > 0 && (size_t)len < sizeof(req));
		parse_req(&f->req, req, (size_t)len, -SIP_ERR_URI);
		int n = sip_respond(&f->req, 400, NULL, "ours", NULL, f->out, sizeof(f->out));
		assert_true(n > 0);
		f->out[n] = '\0';
		assert_non_null(strstr(f->out, cases[i].want_line));
		if (!cases[i].want_tag)
			continue;
		/* the response's To line parses back as a name with one tag */
		struct sip_msg *r = &f->resp;
		assert_int_equal(sip_parse(r, f->out, (size_t)n, NULL), 0);
		assert_true(r->to.has_tag);
		assert_true(view_is(r, r->to.tag, cases[i].want_tag));
	}
}

/* Compact forms and folded lines in the request; Vias on one line. */
static void test_compact_request(void **state)
{
	struct fixture *f = *state;
	static const char req[] = "MESSAGE sip:b@example.com SIP/2.0\r\n"
				  "v: SIP/2.0/UDP a.example.com;branch=z9hG4bKa,\r\n"
				  "  SIP/2.0/UDP b.example.com;branch=z9hG4bKb\r\n"
				  "Max-Forwards: 70\r\n"
				  "f: <sip:a@example.com>;tag=1\r\n"
				  "t: <sip:b@example.com>\r\n"
				  "i: cmp@example.com\r\n"
				  "CSeq: 9\r\n MESSAGE\r\n"
				  "c: text/plain\r\n"
				  "l: 2\r\n"
				  "\r\n"
				  "hi";
	parse_req(&f->req, req, sizeof(req) - 1, 0);
	respond_and_check(f, 503, NULL, "q", "Retry-After: 1\r\n");
	assert_int_equal(f->resp.nvias, 2);
	assert_int_equal(f->resp.cseq.method_id, SIP_METHOD_MESSAGE);
}

/* Invalid requests that still carry what a response needs get a 400. */
static void test_invalid_requests_get_400(void **state)
{
	struct fixture *f = *state;
	static const char bad_cseq_method[] = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
					      "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK7\r\n"
					      "Max-Forwards: 70\r\n"
					      "From: <sip:a@example.com>;tag=1\r\n"
					      "To: <sip:bob@biloxi.example.com>\r\n"
					      "Call-ID: inv1\r\n"
					      "CSeq: 7 BYE\r\n"
					      "Content-Length: 0\r\n"
					      "\r\n";
	parse_req(&f->req, bad_cseq_method, sizeof(bad_cseq_method) - 1, -SIP_ERR_BAD_VALUE);
	assert_true(sip_can_respond(&f->req));
	assert_int_equal(sip_error_status(&f->req), 400);
	respond_and_check(f, 400, NULL, "e1", NULL);

	/* another SIP version: 505 (RFC 3261 21.5.6, RFC 4475 3.1.2.16), not 400;
	 * SIP/2.0 with spaces after it is a malformed line (3.1.2.10): 400 */
#define VERSION_REQ(version, call_id)                                                              \
	"OPTIONS sip:bob@biloxi.example.com " version "\r\n"                                       \
	"Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK6\r\n"                                           \
	"Max-Forwards: 70\r\n"                                                                     \
	"From: <sip:a@example.com>;tag=1\r\n"                                                      \
	"To: <sip:bob@biloxi.example.com>\r\n"                                                     \
	"Call-ID: " call_id "\r\n"                                                                 \
	"CSeq: 6 OPTIONS\r\n"                                                                      \
	"\r\n"
	static const char other_version[] = VERSION_REQ("SIP/7.0", "ver7");
	parse_req(&f->req, other_version, sizeof(other_version) - 1, -SIP_ERR_VERSION);
	assert_true(sip_can_respond(&f->req));
	assert_int_equal(sip_error_status(&f->req), 505);
	respond_and_check(f, 505, NULL, "e0", NULL);
	static const char trailing_sp[] = VERSION_REQ("SIP/2.0  ", "ver8");
	parse_req(&f->req, trailing_sp, sizeof(trailing_sp) - 1, -SIP_ERR_START_LINE);
	assert_int_equal(sip_error_status(&f->req), 400);
#undef VERSION_REQ

	static const char no_max_forwards[] = "OPTIONS sip:bob@biloxi.example.com SIP/2.0\r\n"
					      "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK8\r\n"
					      "From: <sip:a@example.com>;tag=1\r\n"
					      "To: <sip:bob@biloxi.example.com>\r\n"
					      "Call-ID: inv2\r\n"
					      "CSeq: 8 OPTIONS\r\n"
					      "\r\n";
	parse_req(&f->req, no_max_forwards, sizeof(no_max_forwards) - 1, -SIP_ERR_MISSING_HEADER);
	assert_true(sip_can_respond(&f->req));
	respond_and_check(f, 400, NULL, "e2", NULL);

	static const char bad_max_forwards[] = "OPTIONS sip:bob@biloxi.example.com SIP/2.0\r\n"
					       "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK9\r\n"
					       "Max-Forwards: lots\r\n"
					       "From: <sip:a@example.com>;tag=1\r\n"
					       "To: <sip:bob@biloxi.example.com>\r\n"
					       "Call-ID: inv3\r\n"
					       "CSeq: 9 OPTIONS\r\n"
					       "\r\n";
	parse_req(&f->req, bad_max_forwards, sizeof(bad_max_forwards) - 1, -SIP_ERR_BAD_VALUE);
	assert_true(sip_can_respond(&f->req));
	respond_and_check(f, 400, NULL, "e3", NULL);

	static const char truncated_body[] = "MESSAGE sip:bob@biloxi.example.com SIP/2.0\r\n"
					     "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK10\r\n"
					     "Max-Forwards: 70\r\n"
					     "From: <sip:a@example.com>;tag=1\r\n"
					     "To: <sip:bob@biloxi.example.com>\r\n"
					     "Call-ID: inv4\r\n"
					     "CSeq: 10 MESSAGE\r\n"
					     "Content-Length: 100\r\n"
					     "\r\n"
					     "short";
	parse_req(&f->req, truncated_body, sizeof(truncated_body) - 1, -SIP_ERR_BODY_TRUNCATED);
	assert_true(sip_can_respond(&f->req));
	respond_and_check(f, 400, NULL, "e4", NULL);

	/* A bad CSeq number: a response can be formed, it repeats the request's CSeq line. */
	static const char bad_cseq_num[] = "OPTIONS sip:bob@biloxi.example.com SIP/2.0\r\n"
					   "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK11\r\n"
					   "Max-Forwards: 70\r\n"
					   "From: <sip:a@example.com>;tag=1\r\n"
					   "To: <sip:bob@biloxi.example.com>\r\n"
					   "Call-ID: inv5\r\n"
					   "CSeq: 99999999999 OPTIONS\r\n"
					   "\r\n";
	parse_req(&f->req, bad_cseq_num, sizeof(bad_cseq_num) - 1, -SIP_ERR_BAD_VALUE);
	assert_true(sip_can_respond(&f->req));
	int n = sip_respond(&f->req, 400, NULL, "e5", NULL, f->out, sizeof(f->out));
	assert_true(n > 0);
	assert_memory_equal(f->out, "SIP/2.0 400 Bad Request\r\n", 25);
	assert_non_null(memmem(f->out, (size_t)n, "99999999999 OPTIONS", 19));
	assert_non_null(memmem(f->out, (size_t)n, "Call-ID: inv5\r\n", 15));
	assert_non_null(memmem(f->out, (size_t)n, "branch=z9hG4bK11", 16));
	assert_non_null(memmem(f->out, (size_t)n, "Content-Length: 0\r\n\r\n", 21));
	assert_memory_equal(f->out + n - 4, "\r\n\r\n", 4);
}

/* RFC 3261 8.2.6.2: a response carries every Via of the request, in order. A
 * request whose header lines stopped being indexed at a line the parser could
 * not take (no name and colon, one past the limit of lines, too long, a NUL,
 * an unterminated last line) may hold Via lines past it, or that line may be a
 * damaged Via: a 400 with the Vias before it only would go up a path that is
 * not the request's. None is formed (the worker counts a drop); one whose
 * lines were all indexed still gets its 400. */
static void test_no_answer_when_a_via_may_be_missing(void **state)
{
	struct fixture *f = *state;
#define HEAD                                                                                       \
	"OPTIONS sip:b@example.com SIP/2.0\r\n"                                                    \
	"From: <sip:a@example.com>;tag=1\r\n"                                                      \
	"To: <sip:b@example.com>\r\n"                                                              \
	"Call-ID: partial-vias\r\n"                                                                \
	"CSeq: 1 OPTIONS\r\n"                                                                      \
	"Via: SIP/2.0/UDP 1.1.1.1;branch=z9hG4bK1\r\n"                                             \
	"Max-Forwards: 70\r\n"
#define VIA2 "Via: SIP/2.0/UDP 2.2.2.2;branch=z9hG4bK2\r\n"
	static const char bad_line[] = HEAD "Bad line\r\n" VIA2 "Content-Length: 0\r\n\r\n";
	static const char via_no_colon[] = HEAD "Via SIP/2.0/UDP 2.2.2.2;branch=z9hG4bK2\r\n"
						"Content-Length: 0\r\n\r\n";
	static const char nul_line[] = HEAD "X-A: a\0b\r\n" VIA2 "Content-Length: 0\r\n\r\n";
	static const char lone_cr[] = HEAD "\rX-A: a\r\n" VIA2 "Content-Length: 0\r\n\r\n";
	static const char unterminated_via[] = HEAD "Via: SIP/2.0/UDP 2.2.2.2;branch=z9hG4bK2";
	static const struct {
		const char *msg;
		size_t len;
	} refused[] = {
	    {bad_line, sizeof(bad_line) - 1},
	    {via_no_colon, sizeof(via_no_colon) - 1},
	    {nul_line, sizeof(nul_line) - 1},
	    {lone_cr, sizeof(lone_cr) - 1},
	    {unterminated_via, sizeof(unterminated_via) - 1},
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		assert_int_not_equal(sip_parse(&f->req, refused[i].msg, refused[i].len, NULL), 0);
		if (sip_can_respond(&f->req))
			fail_msg("message %zu: a response could be formed with %u of its Via "
				 "lines",
				 i, (unsigned)sip_hdr_lines(&f->req, SIP_HDR_VIA));
		assert_int_equal(sip_respond(&f->req, 400, NULL, "x", NULL, f->out, sizeof(f->out)),
				 -EINVAL);
	}

	/* a line longer than the limit, and a line past the limit of lines */
	struct sip_limits lim = sip_default_limits;
	lim.max_line = 64;
	static const char long_line[] =
	    HEAD "X-Long: "
		 "0123456789012345678901234567890123456789012345678901234567890123456789\r\n" VIA2
		 "Content-Length: 0\r\n\r\n";
	assert_int_equal(sip_parse(&f->req, long_line, sizeof(long_line) - 1, &lim),
			 -SIP_ERR_LINE_TOO_LONG);
	assert_false(sip_can_respond(&f->req));
	lim = sip_default_limits;
	lim.max_headers = 6;
	static const char many[] = HEAD VIA2 "Content-Length: 0\r\n\r\n";
	assert_int_equal(sip_parse(&f->req, many, sizeof(many) - 1, &lim),
			 -SIP_ERR_TOO_MANY_HEADERS);
	assert_false(sip_can_respond(&f->req));

	/* every line indexed: answered, both Vias in order. Without the empty
	 * line (RFC 4475 3.1.2.15's baddn.dat ends so) ... */
	static const char no_empty_line[] = HEAD VIA2 "Content-Length: 0\r\n";
	parse_req(&f->req, no_empty_line, sizeof(no_empty_line) - 1, -SIP_ERR_HEADER_SYNTAX);
	assert_true(sip_can_respond(&f->req));
	respond_and_check(f, 400, NULL, "e6", NULL);
	assert_int_equal(f->resp.nvias, 2);
	/* ... and with a duplicate line (the structure is whole) */
	static const char bad_value[] = HEAD VIA2 "Max-Forwards: 1\r\n\r\n";
	parse_req(&f->req, bad_value, sizeof(bad_value) - 1, -SIP_ERR_DUPLICATE_HEADER);
	respond_and_check(f, 400, NULL, "e7", NULL);
	assert_int_equal(f->resp.nvias, 2);
#undef VIA2
#undef HEAD
}

static void test_refusals(void **state)
{
	struct fixture *f = *state;
	static const char ack[] = "ACK sip:bob@192.0.2.4 SIP/2.0\r\n"
				  "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK12\r\n"
				  "Max-Forwards: 70\r\n"
				  "From: <sip:a@example.com>;tag=1\r\n"
				  "To: <sip:bob@biloxi.example.com>;tag=2\r\n"
				  "Call-ID: ack1\r\n"
				  "CSeq: 1 ACK\r\n"
				  "\r\n";
	parse_req(&f->req, ack, sizeof(ack) - 1, 0);
	assert_false(sip_can_respond(&f->req));
	assert_int_equal(sip_respond(&f->req, 400, NULL, "x", NULL, f->out, sizeof(f->out)),
			 -EINVAL);
	assert_int_equal(sip_respond(&f->req, 481, NULL, "x", NULL, f->out, sizeof(f->out)),
			 -EINVAL);

	/* An invalid ACK is not answered either. */
	static const char bad_ack[] = "ACK sip:bob@192.0.2.4 SIP/2.0\r\n"
				      "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK13\r\n"
				      "From: <sip:a@example.com>;tag=1\r\n"
				      "To: <sip:bob@biloxi.example.com>;tag=2\r\n"
				      "Call-ID: ack2\r\n"
				      "CSeq: 1 ACK\r\n"
				      "\r\n";
	parse_req(&f->req, bad_ack, sizeof(bad_ack) - 1, -SIP_ERR_MISSING_HEADER);
	assert_false(sip_can_respond(&f->req));
	assert_int_equal(sip_respond(&f->req, 400, NULL, "x", NULL, f->out, sizeof(f->out)),
			 -EINVAL);

	/* A response is never answered. */
	static const char resp[] = "SIP/2.0 200 OK\r\n"
				   "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK14\r\n"
				   "From: <sip:a@example.com>;tag=1\r\n"
				   "To: <sip:bob@biloxi.example.com>;tag=2\r\n"
				   "Call-ID: r1\r\n"
				   "CSeq: 1 INVITE\r\n"
				   "\r\n";
	parse_req(&f->req, resp, sizeof(resp) - 1, 0);
	assert_false(sip_can_respond(&f->req));
	assert_int_equal(sip_respond(&f->req, 400, NULL, "x", NULL, f->out, sizeof(f->out)),
			 -EINVAL);

	/* Each of Via, From, To, Call-ID, CSeq missing: nothing to answer with. */
	static const char *lines[] = {"Via:", "From:", "To:", "Call-ID:", "CSeq:"};
	static const char full[] = "OPTIONS sip:bob@biloxi.example.com SIP/2.0\r\n"
				   "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK15\r\n"
				   "Max-Forwards: 70\r\n"
				   "From: <sip:a@example.com>;tag=1\r\n"
				   "To: <sip:bob@biloxi.example.com>\r\n"
				   "Call-ID: miss1\r\n"
				   "CSeq: 1 OPTIONS\r\n"
				   "\r\n";
	static char buf[1024];
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		const char *p = strstr(full, lines[i]);
		const char *e = strstr(p, "\r\n") + 2;
		int n = snprintf(buf, sizeof(buf), "%.*s%s", (int)(p - full), full, e);
		parse_req(&f->req, buf, (size_t)n, -SIP_ERR_MISSING_HEADER);
		assert_false(sip_can_respond(&f->req));
		assert_int_equal(sip_respond(&f->req, 400, NULL, "x", NULL, f->out, sizeof(f->out)),
				 -EINVAL);
	}

	/* A request whose start line is garbage has nothing to answer. */
	static const char garbage[] = "\x01\x02\x03 junk\r\n\r\n";
	sip_parse(&f->req, garbage, sizeof(garbage) - 1, NULL);
	assert_false(sip_can_respond(&f->req));

	/* Status codes outside 100..699 are a bad argument. */
	parse_req(&f->req, bye_tagged, sizeof(bye_tagged) - 1, 0);
	assert_int_equal(sip_respond(&f->req, 99, NULL, "x", NULL, f->out, sizeof(f->out)),
			 -EINVAL);
	assert_int_equal(sip_respond(&f->req, 700, NULL, "x", NULL, f->out, sizeof(f->out)),
			 -EINVAL);
}

/* For every cap below the needed length: -ENOSPC and nothing written at or after cap. */
/* sip_response_head writes exactly the lines between a response's status line
 * and its Content-Length, for a response made after the request is gone; it
 * refuses what sip_respond refuses and says -ENOSPC when it does not fit. */
static void test_response_head(void **state)
{
	struct fixture *f = *state;
	char head[2048];
	parse_req(&f->req, invite, sizeof(invite) - 1, 0);
	int n = sip_respond(&f->req, 180, NULL, "t9", NULL, f->out, sizeof(f->out));
	assert_true(n > 0);
	int h = sip_response_head(&f->req, "t9", head, sizeof(head));
	const char *first_eol = memchr(f->out, '\n', (size_t)n);
	assert_non_null(first_eol);
	size_t start = (size_t)(first_eol + 1 - f->out);
	assert_int_equal((size_t)h, (size_t)n - start - strlen("Content-Length: 0\r\n\r\n"));
	assert_memory_equal(head, f->out + start, (size_t)h);
	assert_non_null(memmem(head, (size_t)h, ";tag=t9\r\n", 9));
	/* without a tag, To as it came */
	h = sip_response_head(&f->req, NULL, head, sizeof(head));
	assert_true(h > 0);
	static const char to_as_sent[] = "To: Bob <sip:bob@biloxi.example.com>\r\n";
	assert_non_null(memmem(head, (size_t)h, to_as_sent, sizeof(to_as_sent) - 1));
	assert_int_equal(sip_response_head(&f->req, "t9", head, 40), -ENOSPC);
	/* ACK gets no response, hence no head */
	parse_req(&f->req, bye_tagged, sizeof(bye_tagged) - 1, 0);
	f->req.method_id = SIP_METHOD_ACK;
	assert_int_equal(sip_response_head(&f->req, "t9", head, sizeof(head)), -EINVAL);
}

static void test_enospc(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *msg;
		size_t len;
		int rc;
	} reqs[] = {
	    {invite, sizeof(invite) - 1, 0},
	    {bye_tagged, sizeof(bye_tagged) - 1, 0},
	};
	for (size_t k = 0; k < sizeof(reqs) / sizeof(reqs[0]); k++) {
		parse_req(&f->req, reqs[k].msg, reqs[k].len, reqs[k].rc);
		int need = sip_respond(&f->req, 503, NULL, "tag1", "Retry-After: 5\r\n", f->out,
				       sizeof(f->out));
		assert_true(need > 0);
		char full[4096];
		memcpy(full, f->out, (size_t)need);
		unsigned char *out = malloc((size_t)need + 64);
		assert_non_null(out);
		for (size_t cap = 0; cap < (size_t)need; cap++) {
			memset(out, 0x3C, (size_t)need + 64);
			int rc = sip_respond(&f->req, 503, NULL, "tag1", "Retry-After: 5\r\n",
					     (char *)out, cap);
			if (rc != -ENOSPC)
				fail_msg("cap %zu of %d: returned %d, want -ENOSPC", cap, need, rc);
			for (size_t i = cap; i < (size_t)need + 64; i++)
				if (out[i] != 0x3C)
					fail_msg("cap %zu of %d: byte %zu written past cap", cap,
						 need, i);
		}
		memset(out, 0x3C, (size_t)need + 64);
		assert_int_equal(sip_respond(&f->req, 503, NULL, "tag1", "Retry-After: 5\r\n",
					     (char *)out, (size_t)need),
				 need);
		assert_memory_equal(out, full, (size_t)need);
		assert_int_equal(out[need], 0x3C);
		free(out);
	}
}

/* ---- the top Via of a response to a request from a known source ---------- */

static const char *const via_tail = "Max-Forwards: 70\r\n"
				    "From: <sip:a@example.com>;tag=f1\r\n"
				    "To: <sip:b@example.com>\r\n"
				    "Call-ID: via-src-1\r\n"
				    "CSeq: 1 OPTIONS\r\n"
				    "Content-Length: 0\r\n"
				    "\r\n";

static struct sockaddr_in v4(const char *ip, uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	assert_int_equal(inet_pton(AF_INET, ip, &a.sin_addr), 1);
	return a;
}

/* Responds (200) to "OPTIONS ... <via_lines> <via_tail>" from src and checks
 * the response's Via lines are want_vias, byte for byte; returns its length. */
static int via_from(struct fixture *f, const char *via_lines, const struct sockaddr *src,
		    socklen_t srclen, const char *want_vias)
{
	static char req[2048];
	int len = snprintf(req, sizeof(req), "OPTIONS sip:b@example.com SIP/2.0\r\n%s%s", via_lines,
			   via_tail);
	parse_req(&f->req, req, (size_t)len, 0);
	int n =
	    sip_respond_from(&f->req, 200, NULL, "t", NULL, src, srclen, f->out, sizeof(f->out));
	if (n <= 0)
		fail_msg("sip_respond_from returned %d", n);
	const char *vias = strstr(f->out, "\r\n") + 2;
	const char *from = strstr(f->out, "\r\nFrom:");
	assert_non_null(from);
	size_t vlen = (size_t)(from + 2 - vias);
	if (vlen != strlen(want_vias) || memcmp(vias, want_vias, vlen))
		fail_msg("Via lines:\n%.*s\nwant:\n%s", (int)vlen, vias, want_vias);
	assert_int_equal(sip_parse(&f->resp, f->out, (size_t)n, NULL), 0);
	/* the head alone says the same */
	char head[2048];
	int h = sip_response_head_from(&f->req, "t", src, srclen, head, sizeof(head));
	assert_true(h > 0 && (size_t)h >= vlen);
	assert_memory_equal(head, vias, vlen);
	return n;
}

static void test_received_when_sent_by_differs(void **state)
{
	struct sockaddr_in a = v4("127.0.0.1", 5062);
	const struct sockaddr *sa = (const struct sockaddr *)&a;
	via_from(*state, "Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKa1\r\n", sa, sizeof(a),
		 "Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKa1;received=127.0.0.1\r\n");
	/* a domain name is never the source */
	via_from(*state, "Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bKa2\r\n", sa, sizeof(a),
		 "Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bKa2;received=127.0.0.1\r\n");
	/* a received with another value gets the source's; one with it stays */
	via_from(*state, "Via: SIP/2.0/UDP 10.0.0.5;received=10.9.9.9;branch=z9hG4bKa3\r\n", sa,
		 sizeof(a), "Via: SIP/2.0/UDP 10.0.0.5;received=127.0.0.1;branch=z9hG4bKa3\r\n");
	via_from(*state, "Via: SIP/2.0/UDP 10.0.0.5;branch=z9hG4bKa4;received=127.0.0.1\r\n", sa,
		 sizeof(a), "Via: SIP/2.0/UDP 10.0.0.5;branch=z9hG4bKa4;received=127.0.0.1\r\n");
}

static void test_no_received_when_sent_by_is_source(void **state)
{
	struct sockaddr_in a = v4("127.0.0.1", 5062);
	const char *via = "Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bKb1\r\n";
	via_from(*state, via, (const struct sockaddr *)&a, sizeof(a), via);
	/* and without a source, nothing changes at all */
	via = "Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKb2;rport\r\n";
	via_from(*state, via, NULL, 0, via);
}

static void test_rport_filled(void **state)
{
	struct sockaddr_in a = v4("127.0.0.1", 5062);
	const struct sockaddr *sa = (const struct sockaddr *)&a;
	/* rport asks for received even when sent-by is the source */
	via_from(
	    *state, "Via: SIP/2.0/UDP 127.0.0.1:5060;rport;branch=z9hG4bKc1\r\n", sa, sizeof(a),
	    "Via: SIP/2.0/UDP 127.0.0.1:5060;rport=5062;branch=z9hG4bKc1;received=127.0.0.1\r\n");
	via_from(
	    *state, "Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKc2;rport\r\n", sa, sizeof(a),
	    "Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKc2;rport=5062;received=127.0.0.1\r\n");
	/* an rport with a value is left as it came */
	via_from(*state, "Via: SIP/2.0/UDP 10.0.0.5;rport=7;branch=z9hG4bKc3\r\n", sa, sizeof(a),
		 "Via: SIP/2.0/UDP 10.0.0.5;rport=7;branch=z9hG4bKc3;received=127.0.0.1\r\n");
}

static void test_rport_lws_and_case(void **state)
{
	struct sockaddr_in a = v4("127.0.0.1", 5062);
	const struct sockaddr *sa = (const struct sockaddr *)&a;
	via_from(
	    *state, "Via: SIP/2.0/UDP 10.0.0.5:5060 ; RPort ;branch=z9hG4bKd1\r\n", sa, sizeof(a),
	    "Via: SIP/2.0/UDP 10.0.0.5:5060 ; RPort=5062 ;branch=z9hG4bKd1;received=127.0.0.1\r\n");
	via_from(*state, "Via: SIP/2.0/UDP 10.0.0.5 ;branch=z9hG4bKd2; rPORT\r\n", sa, sizeof(a),
		 "Via: SIP/2.0/UDP 10.0.0.5 ;branch=z9hG4bKd2; rPORT=5062;received=127.0.0.1\r\n");
	/* a RECEIVED in another case with LWS around '=' is the one replaced */
	via_from(*state, "Via: SIP/2.0/UDP 10.0.0.5;ReCeived = 10.1.1.1;rport\r\n", sa, sizeof(a),
		 "Via: SIP/2.0/UDP 10.0.0.5;ReCeived = 127.0.0.1;rport=5062\r\n");
}

static void test_top_line_with_two_values(void **state)
{
	struct sockaddr_in a = v4("127.0.0.1", 5062);
	via_from(*state,
		 "Via: SIP/2.0/UDP 10.0.0.5;rport;branch=z9hG4bKe1 , SIP/2.0/UDP "
		 "10.0.0.6;rport;branch=z9hG4bKe0\r\n"
		 "v: SIP/2.0/UDP 10.0.0.7;rport;branch=z9hG4bKe9\r\n",
		 (const struct sockaddr *)&a, sizeof(a),
		 "Via: SIP/2.0/UDP 10.0.0.5;rport=5062;branch=z9hG4bKe1;received=127.0.0.1 , "
		 "SIP/2.0/UDP 10.0.0.6;rport;branch=z9hG4bKe0\r\n"
		 "v: SIP/2.0/UDP 10.0.0.7;rport;branch=z9hG4bKe9\r\n");
}

static void test_ipv6_source(void **state)
{
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(5070)};
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::9", &a.sin6_addr), 1);
	const struct sockaddr *sa = (const struct sockaddr *)&a;
	via_from(*state, "Via: SIP/2.0/UDP [2001:db8::1]:5060;rport;branch=z9hG4bKg1\r\n", sa,
		 sizeof(a),
		 "Via: SIP/2.0/UDP "
		 "[2001:db8::1]:5060;rport=5070;branch=z9hG4bKg1;received=2001:db8::9\r\n");
	/* the same address in another spelling is the source */
	const char *same = "Via: SIP/2.0/UDP [2001:DB8:0::9]:5060;branch=z9hG4bKg2\r\n";
	via_from(*state, same, sa, sizeof(a), same);
	/* an IPv4-mapped source is its IPv4 address */
	assert_int_equal(inet_pton(AF_INET6, "::ffff:127.0.0.1", &a.sin6_addr), 1);
	const char *v4same = "Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKg3\r\n";
	via_from(*state, v4same, sa, sizeof(a), v4same);
	via_from(*state, "Via: SIP/2.0/UDP 10.0.0.5;branch=z9hG4bKg4\r\n", sa, sizeof(a),
		 "Via: SIP/2.0/UDP 10.0.0.5;branch=z9hG4bKg4;received=127.0.0.1\r\n");
}

/* RFC 3261 18.2.1 and RFC 3581 4 hold for every response, a 400 or 505 to a
 * request that failed too: received= and the rport value go into the top Via
 * even when the request failed before its first Via line was reached (on its
 * start line, or on a value above it). */
static void test_received_when_failed_before_the_via(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_in a = v4("127.0.0.1", 5062);
	const struct sockaddr *sa = (const struct sockaddr *)&a;
	static const char *const heads[] = {
	    "OPTIONS sip:b@example.com SIP/7.0\r\nMax-Forwards: 70\r\n",
	    "OPTIONS sip:b@example.com SIP/2.0\r\nMax-Forwards: lots\r\n",
	};
	static const int want_status[] = {505, 400};
	static char req[1024];

	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		int len = snprintf(req, sizeof(req),
				   "%sVia: SIP/2.0/UDP 10.0.0.5;rport;branch=z9hG4bKf%zu\r\n"
				   "From: <sip:a@example.com>;tag=f1\r\n"
				   "To: <sip:b@example.com>\r\n"
				   "Call-ID: failed-before-via\r\n"
				   "CSeq: 1 OPTIONS\r\n"
				   "\r\n",
				   heads[i], i);
		assert_int_not_equal(sip_parse(&f->req, req, (size_t)len, NULL), 0);
		assert_true(sip_can_respond(&f->req));
		int status = sip_error_status(&f->req);
		assert_int_equal(status, want_status[i]);
		int n = sip_respond_from(&f->req, status, NULL, "t", NULL, sa, sizeof(a), f->out,
					 sizeof(f->out));
		assert_true(n > 0);
		char want[128];
		snprintf(want, sizeof(want),
			 "\r\nVia: SIP/2.0/UDP "
			 "10.0.0.5;rport=5062;branch=z9hG4bKf%zu;received=127.0.0.1\r\n",
			 i);
		if (!memmem(f->out, (size_t)n, want, strlen(want)))
			fail_msg("case %zu: no received/rport in\n%.*s", i, n, f->out);
	}
}

static void test_from_enospc(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_in a = v4("127.0.0.1", 5062);
	const struct sockaddr *sa = (const struct sockaddr *)&a;
	int need = via_from(
	    f, "Via: SIP/2.0/UDP 10.0.0.5;rport;branch=z9hG4bKh1\r\n", sa, sizeof(a),
	    "Via: SIP/2.0/UDP 10.0.0.5;rport=5062;branch=z9hG4bKh1;received=127.0.0.1\r\n");
	char out[1024];
	for (size_t cap = 0; cap < (size_t)need; cap++) {
		memset(out, 0x3C, sizeof(out));
		int rc = sip_respond_from(&f->req, 200, NULL, "t", NULL, sa, sizeof(a), out, cap);
		if (rc != -ENOSPC)
			fail_msg("cap %zu of %d: returned %d, want -ENOSPC", cap, need, rc);
		for (size_t i = cap; i < sizeof(out); i++)
			if (out[i] != 0x3C)
				fail_msg("cap %zu: byte %zu written past cap", cap, i);
	}
	int h = sip_response_head_from(&f->req, "t", sa, sizeof(a), out, sizeof(out));
	assert_true(h > 0);
	assert_int_equal(sip_response_head_from(&f->req, "t", sa, sizeof(a), out, (size_t)h - 1),
			 -ENOSPC);
	assert_int_equal(sip_response_head_from(&f->req, "t", sa, sizeof(a), out, (size_t)h), h);
}

/* A request whose line lengths are as wanted: a top Via line of via_len
 * bytes (rport, a sent-by that is not the source) and a To line of to_len
 * (no tag), each with its CRLF, padded in a parameter. */
static const char *long_lines_request(size_t via_len, size_t to_len, size_t *len)
{
	static char req[3 * 8192];
	static const char via[] = "Via: SIP/2.0/UDP 10.0.0.5;rport;branch=z9hG4bKl1;p=";
	static const char to[] = "To: <sip:b@example.com>;p=";
	int n = snprintf(req, sizeof(req),
			 "OPTIONS sip:b@example.com SIP/2.0\r\n%s%0*d\r\n"
			 "Max-Forwards: 70\r\nFrom: <sip:a@example.com>;tag=f1\r\n%s%0*d\r\n"
			 "Call-ID: long-lines\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
			 via, (int)(via_len - strlen(via) - 2), 0, to,
			 (int)(to_len - strlen(to) - 2), 0);
	assert_true(n > 0 && (size_t)n < sizeof(req));
	*len = (size_t)n;
	return req;
}

/* The top Via grown by received and rport, or To by its tag, past the
 * parser's line limit makes no response (-EMSGSIZE): sipshard's own parser
 * (and any with the same limit) would refuse it; one byte less is a
 * response whose lines parse. The rport value (=5062) and
 * ";received=127.0.0.1" add 24 bytes to the Via, ";tag=t" 6 to To. */
static void test_line_grown_past_limit(void **state)
{
	struct fixture *f = *state;
	static char out[3 * 8192], head[3 * 8192];
	struct sockaddr_in a = v4("127.0.0.1", 5062);
	const struct sockaddr *sa = (const struct sockaddr *)&a;
	const size_t max = sip_default_limits.max_line;
	size_t len;

	for (size_t over = 0; over <= 1; over++) {
		const char *req = long_lines_request(max + over - 24, 100, &len);
		parse_req(&f->req, req, len, 0);
		int n = sip_respond_from(&f->req, 400, NULL, "t", NULL, sa, sizeof(a), out,
					 sizeof(out));
		int h = sip_response_head_from(&f->req, "t", sa, sizeof(a), head, sizeof(head));
		if (over) {
			assert_int_equal(n, -EMSGSIZE);
			assert_int_equal(h, -EMSGSIZE);
			/* without a source the top Via goes as it came */
			n = sip_respond(&f->req, 400, NULL, "t", NULL, out, sizeof(out));
		} else {
			assert_true(h > 0);
		}
		assert_true(n > 0);
		assert_int_equal(sip_parse(&f->resp, out, (size_t)n, NULL), 0);

		/* a To that long is past the address limit: a 400's, to a
		 * request sip_can_respond still answers */
		req = long_lines_request(100, max + over - 6, &len);
		parse_req(&f->req, req, len, -SIP_ERR_URI);
		assert_true(sip_can_respond(&f->req));
		n = sip_respond(&f->req, 400, NULL, "t", NULL, out, sizeof(out));
		h = sip_response_head(&f->req, "t", head, sizeof(head));
		if (over) {
			assert_int_equal(n, -EMSGSIZE);
			assert_int_equal(h, -EMSGSIZE);
			/* a 100 adds no tag */
			n = sip_respond(&f->req, 100, NULL, "t", NULL, out, sizeof(out));
		} else {
			assert_true(h > 0);
		}
		assert_true(n > 0);
		/* the response's own lines parse; its To does not (the URI
		 * limit) */
		assert_int_equal(sip_parse(&f->resp, out, (size_t)n, NULL), -SIP_ERR_URI);
	}
}

/* A To within the parser's bound on an address (max_uri + 1024 bytes) that
 * its tag takes past it: the response's To would not parse, so none is made
 * (-EMSGSIZE); one byte less parses (found by fuzz_sip: a 3000-byte display
 * name). ";tag=t" adds 6 bytes. */
static void test_to_grown_past_address_limit(void **state)
{
	struct fixture *f = *state;
	static char req[8192], out[8192], name[4096];
	const size_t bound = sip_default_limits.max_uri + 1024u;

	for (size_t over = 0; over <= 1; over++) {
		/* "NAME<sip:b@example.com>": the value, bound - 6 + over bytes */
		size_t nlen = bound - 6 + over - strlen("<sip:b@example.com>");
		memset(name, 'x', nlen);
		name[nlen] = '\0';
		int len =
		    snprintf(req, sizeof(req),
			     "MESSAGE sip:b@example.com SIP/2.0\r\n"
			     "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bKjnk\r\n"
			     "Max-Forwards: 70\r\n"
			     "From: <sip:a@example.com>;tag=1\r\n"
			     "To: %s<sip:b@example.com>\r\n"
			     "Call-ID: junk-1\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n",
			     name);
		parse_req(&f->req, req, (size_t)len, 0);
		int n = sip_respond(&f->req, 400, NULL, "t", NULL, out, sizeof(out));
		if (over) {
			assert_int_equal(n, -EMSGSIZE);
		} else {
			assert_true(n > 0);
			assert_int_equal(sip_parse(&f->resp, out, (size_t)n, NULL), 0);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_100_copies_timestamp, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_503_retry_after, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_standard_statuses, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_custom_reason_and_extras, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_to_tag, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_to_tag_beside_quoted_brackets, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_compact_request, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_invalid_requests_get_400, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_answer_when_a_via_may_be_missing, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_enospc, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_response_head, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_received_when_sent_by_differs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_received_when_sent_by_is_source, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_rport_filled, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rport_lws_and_case, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_top_line_with_two_values, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ipv6_source, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_from_enospc, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_line_grown_past_limit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_to_grown_past_address_limit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_received_when_failed_before_the_via, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
