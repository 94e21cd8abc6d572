/*
 * test_sip_parse.c - sip_parse() against include/sipshard/sip.h and RFC 3261
 * (sections 7, 18.3, 20, 25) plus the compact forms of later RFCs.
 *
 * Covers: start lines (requests, responses, extension methods, versions),
 * header lines (compact forms, folding, case-insensitive names, order, comma
 * lists vs repeated lines), every header the message model decodes (Call-ID,
 * From/To, CSeq, Via, Max-Forwards, Content-Length/-Type, Route, Record-Route,
 * Contact, RSeq, RAck, Require, Supported, Event, Refer-To, Session-Expires),
 * limits (header count, datagram size, line and URI length), body framing,
 * NUL bytes, missing and duplicate headers, and bounded reads: every prefix of
 * a message parses from a malloc'd buffer of exactly that size, so the ASan
 * build catches any read past the end.
 * Does not cover: URIs on their own (test_sip_uri.c), the writer
 * (test_sip_write.c), stateless responses (test_sip_respond.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sip/lex.h"
#include "sipshard/sip.h"

/* ---- helpers ------------------------------------------------------------ */

static void check_view(const struct sip_msg *m, sip_view v, const char *want, const char *file,
		       int line)
{
	size_t n = strlen(want);
	if ((uint32_t)v.off + v.len > m->len) {
		print_error("%s:%d: view off %u len %u runs past the datagram (%u bytes); want "
			    "\"%s\"\n",
			    file, line, v.off, v.len, m->len, want);
		_fail(file, line);
	}
	if (v.len != n || memcmp(m->buf + v.off, want, n) != 0) {
		print_error("%s:%d: view is \"%.*s\" (off %u len %u), want \"%s\"\n", file, line,
			    (int)v.len, m->buf + v.off, v.off, v.len, want);
		_fail(file, line);
	}
}
#define assert_view(m, v, s) check_view((m), (v), (s), __FILE__, __LINE__)

/* A view compared to a string that starts it (for values whose extent the header leaves open). */
static void check_view_prefix(const struct sip_msg *m, sip_view v, const char *want,
			      const char *file, int line)
{
	size_t n = strlen(want);
	if ((uint32_t)v.off + v.len > m->len || v.len < n || memcmp(m->buf + v.off, want, n)) {
		print_error("%s:%d: view \"%.*s\" (off %u len %u) does not start with \"%s\"\n",
			    file, line, (uint32_t)v.off + v.len > m->len ? 0 : (int)v.len,
			    m->buf + v.off, v.off, v.len, want);
		_fail(file, line);
	}
}
#define assert_view_prefix(m, v, s) check_view_prefix((m), (v), (s), __FILE__, __LINE__)

static int parse_lim(struct sip_msg *m, const char *buf, size_t len, const struct sip_limits *lim)
{
	memset(m, 0xA5, offsetof(struct sip_msg, hdrs)); /* garbage: the parser must set all */
	return sip_parse(m, buf, len, lim);
}

/* Prints a datagram with CR, LF and other control bytes escaped, for failure reports. */
static void print_input(const char *buf, size_t len)
{
	char out[480];
	size_t n = 0;
	for (size_t i = 0; i < len && n + 8 < sizeof(out); i++) {
		unsigned char c = (unsigned char)buf[i];
		if (c == '\r')
			n += (size_t)snprintf(out + n, sizeof(out) - n, "\\r");
		else if (c == '\n')
			n += (size_t)snprintf(out + n, sizeof(out) - n, "\\n");
		else if (c < 0x20 || c == 0x7f)
			n += (size_t)snprintf(out + n, sizeof(out) - n, "\\x%02x", c);
		else
			out[n++] = (char)c;
	}
	out[n] = 0;
	print_error("    input (%zu bytes): %s%s\n", len, out, n + 8 >= sizeof(out) ? "..." : "");
}

static void check_ok(struct sip_msg *m, const char *buf, size_t len, const char *file, int line)
{
	int rc = parse_lim(m, buf, len, NULL);
	if (rc != 0 || m->err != SIP_OK) {
		char why[256];
		sip_strerror(m, why, sizeof(why));
		print_error("%s:%d: sip_parse returned %d (err %u %s): %s\n", file, line, rc,
			    m->err, sip_err_name(-rc), why);
		print_input(buf, len);
		_fail(file, line);
	}
}
#define must_parse_n(m, buf, len) check_ok((m), (buf), (len), __FILE__, __LINE__)
#define must_parse(m, s)	  check_ok((m), (s), strlen(s), __FILE__, __LINE__)

/*
 * Asserts that parsing fails with `code`, that m->err agrees, that err_hdr is
 * `hdr` (when hdr >= 0), and that sip_strerror's text contains `name` (when
 * not NULL). code2 is an accepted alternative (0 for none) where the header
 * genuinely allows two codes (sip_parse_addr: URI or BAD_VALUE).
 */
static void check_err(struct sip_msg *m, const char *buf, size_t len, const struct sip_limits *lim,
		      int code, int code2, int hdr, const char *name, const char *file, int line)
{
	char why[512];
	int rc = parse_lim(m, buf, len, lim);
	sip_strerror(m, why, sizeof(why));
	if (!(rc == -code || (code2 && rc == -code2))) {
		print_error("%s:%d: sip_parse returned %d (%s: %s), want -%d (%s)\n", file, line,
			    rc, rc < 0 ? sip_err_name(-rc) : "ok", why, code, sip_err_name(code));
		print_input(buf, len);
		_fail(file, line);
	}
	if (m->err != -rc) {
		print_error("%s:%d: m->err %u disagrees with return %d\n", file, line, m->err, rc);
		_fail(file, line);
	}
	if (m->err_reason == NULL || why[0] == '\0') {
		print_error("%s:%d: no error text\n", file, line);
		_fail(file, line);
	}
	if (hdr >= 0 && m->err_hdr != hdr) {
		print_error("%s:%d: err_hdr %u, want %d (%s); text \"%s\"\n", file, line,
			    m->err_hdr, hdr, sip_hdr_name(hdr) ? sip_hdr_name(hdr) : "other", why);
		print_input(buf, len);
		_fail(file, line);
	}
	if (name && strstr(why, name) == NULL) {
		print_error("%s:%d: sip_strerror \"%s\" does not name \"%s\"\n", file, line, why,
			    name);
		print_input(buf, len);
		_fail(file, line);
	}
}
#define expect_err(m, s, code, hdr, name)                                                          \
	check_err((m), (s), strlen(s), NULL, (code), 0, (hdr), (name), __FILE__, __LINE__)
#define expect_err2(m, s, code, code2, hdr, name)                                                  \
	check_err((m), (s), strlen(s), NULL, (code), (code2), (hdr), (name), __FILE__, __LINE__)
#define expect_err_n(m, buf, len, lim, code, hdr, name)                                            \
	check_err((m), (buf), (len), (lim), (code), 0, (hdr), (name), __FILE__, __LINE__)

/* Messages are ~20 KiB: allocated per test and freed by the teardown, so that a
 * failing assertion (which longjmps out of the test) leaks nothing under LSan. */
#define MAX_MSGS 16
static struct {
	struct sip_msg *m[MAX_MSGS];
	int n;
} msgs;

static struct sip_msg *new_msg(void)
{
	assert_true(msgs.n < MAX_MSGS);
	struct sip_msg *m = malloc(sizeof(*m));
	assert_non_null(m);
	msgs.m[msgs.n++] = m;
	return m;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < msgs.n; i++)
		free(msgs.m[i]);
	msgs.n = 0;
	return 0;
}

/* Finds the n-th (0-based) header line with this name as written. */
static const struct sip_hdr_line *line_named(const struct sip_msg *m, const char *name)
{
	for (uint16_t i = 0; i < m->nhdrs; i++)
		if (sip_view_ieq(m->buf, m->hdrs[i].name, name, strlen(name)))
			return &m->hdrs[i];
	return NULL;
}

/* ---- messages ----------------------------------------------------------- */

/* RFC 3261 section 24.2 F1, with an SDP body. */
#define INVITE_HEAD                                                                                \
	"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"                                            \
	"Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n"                    \
	"Max-Forwards: 70\r\n"                                                                     \
	"To: Bob <sip:bob@biloxi.example.com>\r\n"                                                 \
	"From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"                           \
	"Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"                                     \
	"CSeq: 314159 INVITE\r\n"                                                                  \
	"Contact: <sip:alice@pc33.atlanta.example.com>\r\n"                                        \
	"Content-Type: application/sdp\r\n"
#define SDP                                                                                        \
	"v=0\r\n"                                                                                  \
	"o=alice 2890844526 2890844526 IN IP4 pc33.atlanta.example.com\r\n"                        \
	"s=-\r\n"                                                                                  \
	"c=IN IP4 192.0.2.101\r\n"                                                                 \
	"t=0 0\r\n"                                                                                \
	"m=audio 49172 RTP/AVP 0\r\n"                                                              \
	"a=rtpmap:0 PCMU/8000\r\n"
/* strlen(SDP) == 149 */
static const char invite_sdp[] = INVITE_HEAD "Content-Length: 149\r\n"
					     "\r\n" SDP;

static const char bye[] = "BYE sip:alice@pc33.atlanta.example.com SIP/2.0\r\n"
			  "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bKnashds10\r\n"
			  "Max-Forwards: 70\r\n"
			  "From: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n"
			  "To: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
			  "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
			  "CSeq: 231 BYE\r\n"
			  "Content-Length: 0\r\n"
			  "\r\n";

static const char ok200[] =
    "SIP/2.0 200 OK\r\n"
    "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bKnashds10;received=192.0.2.4\r\n"
    "From: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n"
    "To: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
    "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
    "CSeq: 231 BYE\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

/* ---- library tables ----------------------------------------------------- */

static void test_hdr_lookup_compact_forms(void **state)
{
	(void)state;
	static const struct {
		const char *compact;
		enum sip_hdr id;
		const char *name;
	} forms[] = {
	    {"i", SIP_HDR_CALL_ID, "Call-ID"},
	    {"f", SIP_HDR_FROM, "From"},
	    {"t", SIP_HDR_TO, "To"},
	    {"v", SIP_HDR_VIA, "Via"},
	    {"m", SIP_HDR_CONTACT, "Contact"},
	    {"l", SIP_HDR_CONTENT_LENGTH, "Content-Length"},
	    {"c", SIP_HDR_CONTENT_TYPE, "Content-Type"},
	    {"k", SIP_HDR_SUPPORTED, "Supported"},
	    {"s", SIP_HDR_SUBJECT, "Subject"},
	    {"e", SIP_HDR_CONTENT_ENCODING, "Content-Encoding"},
	    {"o", SIP_HDR_EVENT, "Event"},
	    {"u", SIP_HDR_ALLOW_EVENTS, "Allow-Events"},
	    {"r", SIP_HDR_REFER_TO, "Refer-To"},
	    {"b", SIP_HDR_REFERRED_BY, "Referred-By"},
	    {"x", SIP_HDR_SESSION_EXPIRES, "Session-Expires"},
	    {"y", SIP_HDR_IDENTITY, "Identity"},
	    {"a", SIP_HDR_ACCEPT_CONTACT, "Accept-Contact"},
	    {"j", SIP_HDR_REJECT_CONTACT, "Reject-Contact"},
	    {"d", SIP_HDR_REQUEST_DISPOSITION, "Request-Disposition"},
	};
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		char up[2] = {(char)(forms[i].compact[0] - 'a' + 'A'), 0};
		assert_int_equal(sip_hdr_lookup(forms[i].compact, 1), forms[i].id);
		assert_int_equal(sip_hdr_lookup(up, 1), forms[i].id);
		assert_int_equal(sip_hdr_lookup(forms[i].name, strlen(forms[i].name)), forms[i].id);
		assert_non_null(sip_hdr_name(forms[i].id));
		assert_string_equal(sip_hdr_name(forms[i].id), forms[i].name);
	}
	/* Letters that are not compact forms are unknown headers. */
	assert_int_equal(sip_hdr_lookup("g", 1), SIP_HDR_OTHER);
	assert_int_equal(sip_hdr_lookup("z", 1), SIP_HDR_OTHER);
	assert_int_equal(sip_hdr_lookup("n", 1), SIP_HDR_OTHER);
	assert_null(sip_hdr_name(SIP_HDR_OTHER));
}

static void test_hdr_lookup_long_names(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		enum sip_hdr id;
	} names[] = {
	    {"Accept", SIP_HDR_ACCEPT},
	    {"Allow", SIP_HDR_ALLOW},
	    {"Authorization", SIP_HDR_AUTHORIZATION},
	    {"CSeq", SIP_HDR_CSEQ},
	    {"Expires", SIP_HDR_EXPIRES},
	    {"Max-Forwards", SIP_HDR_MAX_FORWARDS},
	    {"Min-SE", SIP_HDR_MIN_SE},
	    {"Proxy-Authorization", SIP_HDR_PROXY_AUTHORIZATION},
	    {"Proxy-Require", SIP_HDR_PROXY_REQUIRE},
	    {"RAck", SIP_HDR_RACK},
	    {"Record-Route", SIP_HDR_RECORD_ROUTE},
	    {"Require", SIP_HDR_REQUIRE},
	    {"Retry-After", SIP_HDR_RETRY_AFTER},
	    {"Route", SIP_HDR_ROUTE},
	    {"RSeq", SIP_HDR_RSEQ},
	    {"Unsupported", SIP_HDR_UNSUPPORTED},
	    {"User-Agent", SIP_HDR_USER_AGENT},
	    {"WWW-Authenticate", SIP_HDR_WWW_AUTHENTICATE},
	    {"Proxy-Authenticate", SIP_HDR_PROXY_AUTHENTICATE},
	    {"Server", SIP_HDR_SERVER},
	    {"Warning", SIP_HDR_WARNING},
	    {"Timestamp", SIP_HDR_TIMESTAMP},
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char buf[64];
		size_t n = strlen(names[i].name);
		assert_int_equal(sip_hdr_lookup(names[i].name, n), names[i].id);
		assert_string_equal(sip_hdr_name(names[i].id), names[i].name);
		for (size_t k = 0; k < n; k++) /* upper case */
			buf[k] = (char)(names[i].name[k] >= 'a' && names[i].name[k] <= 'z'
					    ? names[i].name[k] - 32
					    : names[i].name[k]);
		assert_int_equal(sip_hdr_lookup(buf, n), names[i].id);
		for (size_t k = 0; k < n; k++) /* lower case */
			buf[k] = (char)(names[i].name[k] >= 'A' && names[i].name[k] <= 'Z'
					    ? names[i].name[k] + 32
					    : names[i].name[k]);
		assert_int_equal(sip_hdr_lookup(buf, n), names[i].id);
	}
	assert_int_equal(sip_hdr_lookup("cAlL-iD", 7), SIP_HDR_CALL_ID);
	/* Prefixes and extensions of known names are not the name. */
	assert_int_equal(sip_hdr_lookup("Call-I", 6), SIP_HDR_OTHER);
	assert_int_equal(sip_hdr_lookup("Call-IDs", 8), SIP_HDR_OTHER);
	assert_int_equal(sip_hdr_lookup("Vias", 4), SIP_HDR_OTHER);
	assert_int_equal(sip_hdr_lookup("X-Call-ID", 9), SIP_HDR_OTHER);
	assert_int_equal(sip_hdr_lookup("", 0), SIP_HDR_OTHER);
	/* The length bounds the name: the bytes after it are not read. */
	assert_int_equal(sip_hdr_lookup("Toolbar", 2), SIP_HDR_TO);
	assert_int_equal(sip_hdr_lookup("Via", 1), SIP_HDR_VIA);
}

/* RFC 3261 25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" /
 * "+" / "`" / "'" / "~"); what config_keys.c checks method and header names by */
static void test_is_token(void **state)
{
	(void)state;
	assert_true(sip_is_token("X-Internal-Route", 16));
	assert_true(sip_is_token("a.b!c%d*e_f+g`h'i~9", 19));
	assert_false(sip_is_token("", 0));
	assert_false(sip_is_token("X Route", 7));
	assert_false(sip_is_token("X:", 2));
	assert_false(sip_is_token("X\"", 2));
	assert_false(sip_is_token("a\0b", 3));
	assert_false(sip_is_token("caf\xc3\xa9", 5));
	assert_true(sip_is_token("abc;", 3)); /* only the len bytes count */
}

static void test_method_lookup(void **state)
{
	(void)state;
	for (int id = SIP_METHOD_OTHER + 1; id < SIP_METHOD_COUNT_; id++) {
		const char *name = sip_method_name((enum sip_method)id);
		assert_non_null(name);
		assert_int_equal(sip_method_lookup(name, strlen(name)), id);
	}
	assert_string_equal(sip_method_name(SIP_METHOD_INVITE), "INVITE");
	assert_string_equal(sip_method_name(SIP_METHOD_PRACK), "PRACK");
	assert_null(sip_method_name(SIP_METHOD_OTHER));
	/* Methods are case-sensitive (RFC 3261 7.1). */
	assert_int_equal(sip_method_lookup("invite", 6), SIP_METHOD_OTHER);
	assert_int_equal(sip_method_lookup("Bye", 3), SIP_METHOD_OTHER);
	assert_int_equal(sip_method_lookup("INVITEX", 7), SIP_METHOD_OTHER);
	assert_int_equal(sip_method_lookup("INVIT", 5), SIP_METHOD_OTHER);
	assert_int_equal(sip_method_lookup("BYEBYE", 3), SIP_METHOD_BYE);
}

static void test_reason_and_err_names(void **state)
{
	(void)state;
	assert_string_equal(sip_reason_phrase(100), "Trying");
	assert_string_equal(sip_reason_phrase(180), "Ringing");
	assert_string_equal(sip_reason_phrase(200), "OK");
	assert_string_equal(sip_reason_phrase(400), "Bad Request");
	assert_string_equal(sip_reason_phrase(404), "Not Found");
	assert_string_equal(sip_reason_phrase(502), "Bad Gateway");
	assert_string_equal(sip_reason_phrase(481), "Call/Transaction Does Not Exist");
	assert_string_equal(sip_reason_phrase(422), "Session Interval Too Small");
	assert_string_equal(sip_reason_phrase(491), "Request Pending");
	assert_string_equal(sip_reason_phrase(500), "Server Internal Error");
	assert_string_equal(sip_reason_phrase(503), "Service Unavailable");
	assert_string_equal(sip_reason_phrase(999), "Unknown");
	for (int e = SIP_OK; e < SIP_ERR_COUNT_; e++) {
		assert_non_null(sip_err_name(e));
		assert_true(strlen(sip_err_name(e)) > 0);
		for (int f = SIP_OK; f < e; f++)
			assert_string_not_equal(sip_err_name(e), sip_err_name(f));
	}
}

static void test_view_eq(void **state)
{
	(void)state;
	const char *buf = "xxCall-IDyy";
	sip_view v = {2, 7};
	assert_true(sip_view_eq(buf, v, "Call-ID", 7));
	assert_false(sip_view_eq(buf, v, "call-id", 7));
	assert_true(sip_view_ieq(buf, v, "call-id", 7));
	assert_false(sip_view_eq(buf, v, "Call-I", 6));
	assert_false(sip_view_ieq(buf, v, "Call-IDy", 8));
	sip_view empty = {5, 0};
	assert_true(sip_view_eq(buf, empty, "", 0));
	assert_ptr_equal(sip_ptr(buf, v), buf + 2);
}

/* ---- start line --------------------------------------------------------- */

static void test_request_basic(void **state)
{
	(void)state;
	struct sip_msg *m = new_msg();
	must_parse(m, invite_sdp);
	assert_ptr_equal(m->buf, invite_sdp);
	assert_int_equal(m->len, strlen(invite_sdp));
	assert_true(m->is_request);
	assert_int_equal(m->method_id, SIP_METHOD_INVITE);
	assert_view(m, m->method, "INVITE");
	assert_view(m, m->ruri.whole, "sip:bob@biloxi.example.com");
	assert_int_equal(m->ruri.scheme, SIP_SCHEME_SIP);
	assert_view(m, m->ruri.user, "bob");
	assert_view(m, m->ruri.host, "biloxi.example.com");
	assert_int_equal(m->start_end, strlen("INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"));
	assert_view(m, m->call_id, "a84b4c76e66710@pc33.atlanta.example.com");
	assert_int_equal(m->cseq.num, 314159);
	assert_view(m, m->cseq.method, "INVITE");
	assert_int_equal(m->cseq.method_id, SIP_METHOD_INVITE);
	assert_int_equal(m->max_forwards, 70);
	assert_int_equal(m->content_length, 149);
	assert_view(m, m->content_type, "application/sdp");
	assert_view(m, m->body, SDP);
	assert_int_equal(m->nvias, 1);
	assert_int_equal(m->ncontacts, 1);
	assert_false(m->contact_star);
	assert_int_equal(m->nroutes, 0);
	assert_int_equal(m->nrecord_routes, 0);
	assert_int_equal(m->rseq, 0);
	assert_false(m->has_rack);
	assert_int_equal(m->session_expires_secs, 0);
	assert_int_equal(m->err, SIP_OK);
	/* headers_end is the CRLF of the empty line; the body follows it. */
	assert_memory_equal(m->buf + m->headers_end, "\r\n", 2);
	assert_int_equal(m->body.off, m->headers_end + 2);
	assert_memory_equal(m->buf + m->headers_end - 2, "\r\n\r\n", 4);
}

static void test_response_basic(void **state)
{
	(void)state;
	struct sip_msg *m = new_msg();
	must_parse(m, ok200);
	assert_false(m->is_request);
	assert_int_equal(m->status, 200);
	assert_view(m, m->reason, "OK");
	assert_int_equal(m->start_end, strlen("SIP/2.0 200 OK\r\n"));
	/* Responses need no Max-Forwards. */
	assert_int_equal(m->max_forwards, -1);
	assert_int_equal(m->cseq.num, 231);
	assert_int_equal(m->cseq.method_id, SIP_METHOD_BYE);
	assert_view(m, m->to.tag, "1928301774");
	assert_view(m, m->from.tag, "a6c85cf");
	assert_int_equal(m->content_length, 0);
	assert_int_equal(m->body.len, 0);
}

static void test_response_reason_phrases(void **state)
{
	(void)state;
	struct sip_msg *m = new_msg();
	const char *tail = "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1\r\n"
			   "From: <sip:a@example.com>;tag=1\r\n"
			   "To: <sip:b@example.com>;tag=2\r\n"
			   "Call-ID: x1\r\n"
			   "CSeq: 1 INVITE\r\n"
			   "Content-Length: 0\r\n\r\n";
	char buf[1024];

	/* Empty reason phrase: the SP stays, the phrase is empty (RFC 3261 25.1). */
	snprintf(buf, sizeof(buf), "SIP/2.0 180 \r\n%s", tail);
	must_parse(m, buf);
	assert_int_equal(m->status, 180);
	assert_int_equal(m->reason.len, 0);

	/* A phrase with spaces, UTF-8 and punctuation. */
	snprintf(buf, sizeof(buf), "SIP/2.0 481 Call/Transaction Does Not Exist \xc3\xa9!\r\n%s",
		 tail);
	must_parse(m, buf);
	assert_int_equal(m->status, 481);
	assert_view_prefix(m, m->reason, "Call/Transaction Does Not Exist \xc3\xa9!");

	/* Status classes 1xx..6xx. */
	static const int codes[] = {100, 183, 202, 302, 404, 491, 503, 603, 699};
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		snprintf(buf, sizeof(buf), "SIP/2.0 %d Whatever\r\n%s", codes[i], tail);
		must_parse(m, buf);
		assert_int_equal(m->status, codes[i]);
		assert_view(m, m->reason, "Whatever");
	}
}

static void test_bad_status_lines(void **state)
{
	(void)state;
	struct sip_msg *m = new_msg();
	const char *tail = "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1\r\n"
			   "From: <sip:a@example.com>;tag=1\r\n"
			   "To: <sip:b@example.com>;tag=2\r\n"
			   "Call-ID: x1\r\n"
			   "CSeq: 1 INVITE\r\n"
			   "Content-Length: 0\r\n\r\n";
	static const char *bad[] = {
	    "SIP/2.0 20 OK",   "SIP/2.0 2000 OK", "SIP/2.0 abc OK", "SIP/2.0  200 OK",
	    "SIP/2.0 099 Low", "SIP/2.0",	  "SIP/2.0 -20 OK", "SIP/2.0 2x0 OK",
	};
	char buf[1024];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "%s\r\n%s", bad[i], tail);
		expect_err(m, buf, SIP_ERR_START_LINE, SIP_HDR_OTHER, NULL);
	}
}

static const char req_tail[] = "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1\r\n"
			       "Max-Forwards: 70\r\n"
			       "From: <sip:a@example.com>;tag=1\r\n"
			       "To: <sip:b@example.com>\r\n"
			       "Call-ID: x1\r\n";

static void test_versions(void **state)
{
	(void)state;
	struct sip_msg *m = new_msg();
	char buf[1024];
	static const char *bad_req[] = {"SIP/3.0", "SIP/1.0", "SIP/2.1", "SIP/20", "SIP/2.00"};
	for (size_t i = 0; i < sizeof(bad_req) / sizeof(bad_req[0]); i++) {
		snprintf(buf, sizeof(buf),
			 "OPTIONS sip:b@example.com %s\r\n%sCSeq: 1 OPTIONS\r\n\r\n", bad_req[i],
			 req_tail);
		expect_err(m, buf, SIP_ERR_VERSION, SIP_HDR_OTHER, NULL);
	}
	/* Not a SIP version at all: a version or start-line error are both fair. */
	static const char *odd[] = {"HTTP/1.1", "SIP/2.0x", "SIP/2.0 "};
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		snprintf(buf, sizeof(buf),
			 "OPTIONS sip:b@example.com %s\r\n%sCSeq: 1 OPTIONS\r\n\r\n", odd[i],
			 req_tail);
		expect_err2(m, buf, SIP_ERR_VERSION, SIP_ERR_START_LINE, SIP_HDR_OTHER, NULL);
	}
	snprintf(buf, sizeof(buf),
		 "SIP/3.0 200 OK\r\n%sCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n", req_tail);
	expect_err(m, buf, SIP_ERR_VERSION, SIP_HDR_OTHER, NULL);
	snprintf(buf, sizeof(buf),
		 "SIP/1.0 200 OK\r\n%sCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n", req_tail);
	expect_err(m, buf, SIP_ERR_VERSION, SIP_HDR_OTHER, NULL);

	/* RFC 3261 7.1: the SIP-Version string is case-insensitive. */
	snprintf(buf, sizeof(buf), "OPTIONS sip:b@example.com sip/2.0\r\n%sCSeq: 1 OPTIONS\r\n\r\n",
		 req_tail);
	must_parse(m, buf);
	assert_int_equal(m->method_id, SIP_METHOD_OPTIONS);
}

static void test_bad_request_lines(void **state)
{
	(void)state;
	struct sip_msg *m = new_msg();
	char buf[1024];
	static const char *bad[] = {
	    "OPTIONS sip:b@example.com",	   /* no version */
	    "OPTIONS  sip:b@example.com SIP/2.0",  /* two spaces */
	    "OPTIONS sip:b@example.com  SIP/2.0",  /* two spaces */
	    " OPTIONS sip:b@example.com SIP/2.0",  /* leading space */
	    "OPT(ONS sip:b@example.com SIP/2.0",   /* not a token */
	    "OPTIONS",				   /* method only */
	    "",					   /* empty line first */
	    "OPTIONS\tsip:b@example.com\tSIP/2.0", /* tabs are not SP */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "%s\r\n%sCSeq: 1 OPTIONS\r\n\r\n", bad[i], req_tail);
		expect_err(m, buf, SIP_ERR_START_LINE, SIP_HDR_OTHER, NULL);
	}
	/* A bad Request-URI is a URI error. */
	snprintf(buf, sizeof(buf),
		 "OPTIONS sip:b@exa<mple.com SIP/2.0\r\n%sCSeq: 1 OPTIONS\r\n\r\n", req_tail);
	expect_err(m, buf, SIP_ERR_URI, SIP_HDR_OTHER, NULL);
	snprintf(buf, sizeof(buf), "OPTIONS sip: SIP/2.0\r\n%sCSeq: 1 OPTIONS\r\n\r\n", req_tail);
	expect_err(m, buf, SIP_ERR_URI, SIP_HDR_OTHER, NULL);
}

static void test_extension_method(void **state)
{
	(void)state;
	struct sip_msg *m = new_msg();
	char buf[1024];
	snprintf(
	    buf, sizeof(buf),
	    "FOOBAR sip:b@example.com SIP/2.0\r\n%sCSeq: 7 FOOBAR\r\nContent-Length: 0\r\n\r\n",
	    req_tail);
	must_parse(m, buf);
	assert_true(m->is_request);
	assert_int_equal(m->method_id, SIP_METHOD_OTHER);
	assert_view(m, m->method, "FOOBAR");
	assert_int_equal(m->cseq.method_id, SIP_METHOD_OTHER);
	assert_view(m, m->cseq.method, "FOOBAR");
	assert_int_equal(m->cseq.num, 7);

	/* Token characters beyond letters (RFC 3261 25.1 token). */
	snprintf(buf, sizeof(buf),
		 "X-Foo.b!%%*_+`'~ sip:b@example.com SIP/2.0\r\n%sCSeq: 7 X-Foo.b!%%*_+`'~\r\n\r\n",
		 req_tail);
	must_parse(m, buf);
	assert_view(m, m->method, "X-Foo.b!%*_+`'~");

	/* Lower-case "invite" is an extension method, not INVITE. */
	snprintf(buf, sizeof(buf), "invite sip:b@example.com SIP/2.0\r\n%sCSeq: 7 invite\r\n\r\n",
		 req_tail);
	must_parse(m, buf);
	assert_int_equal(m->method_id, SIP_METHOD_OTHER);

	/* Every known method is recognised in the request line and CSeq. */
	for (int id = SIP_METHOD_OTHER + 1; id < SIP_METHOD_COUNT_; id++) {
		const char *name = sip_method_name((enum sip_method)id);
		snprintf(buf, sizeof(buf), "%s sip:b@example.com SIP/2.0\r\n%sCSeq: 9 %s%s\r\n\r\n",
			 name, req_tail, name,
			 id == SIP_METHOD_PRACK ? "\r\nRAck: 1 9 INVITE" : "");
		must_parse(m, buf);
		assert_int_equal(m->method_id, id);
		assert_int_equal(m->cseq.method_id, id);
	}
}

/* ---- header lines ------------------------------------------------------- */

static void test_header_order_and_lines(void **state)
{
	(void)state;
	struct sip_msg *m = new_msg();
	must_parse(m, invite_sdp);
	static const char *names[] = {"Via",	 "Max-Forwards", "To",
				      "From",	 "Call-ID",	 "CSeq",
				      "Contact", "Content-Type", "Content-Length"};
	static const enum sip_hdr ids[] = {
	    SIP_HDR_VIA,     SIP_HDR_MAX_FORWARDS, SIP_HDR_TO,
	    SIP_HDR_FROM,    SIP_HDR_CALL_ID,	   SIP_HDR_CSEQ,
	    SIP_HDR_CONTACT, SIP_HDR_CONTENT_TYPE, SIP_HDR_CONTENT_LENGTH};
	assert_int_equal(m->nhdrs, 9);
	uint16_t at = m->start_end;
	for (int i = 0; i < 9; i++) {
		assert_view(m, m->hdrs[i].name, names[i]);
		assert_int_equal(m->hdrs[i].id, ids[i]);
		assert_int_equal(m->hdrs[i].start, at);
		assert_memory_equal(m->buf + m->hdrs[i].end - 2, "\r\n", 2);
		at = m->hdrs[i].end;
		assert_int_equal(m->first[ids[i]], i + 1);
		assert_ptr_equal(sip_find_hdr(m, ids[i]), &m->hdrs[i]);
	}
	assert_int_equal(at, m->headers_end);
	assert_view(m, m->hdrs[5].value, "314159 INVITE");
	assert_view(m, m->hdrs[2].value, "Bob <sip:bob@biloxi.example.com>");
	assert_int_equal(m->first[SIP_HDR_ROUTE], 0);
	assert_null(sip_find_hdr(m, SIP_HDR_ROUTE));
	assert_null(sip_find_hdr(m, SIP_HDR_SUBJECT));
}

static void test_header_whitespace_and_case(void **state)
{
	(void)state;
	struct sip_msg *m = new_msg();
	/* HCOLON = *(SP / HTAB) ":" SWS; names are case-insensitive; values trimmed. */
	const char *msg = "OPTIONS sip:b@example.com SIP/2.0\r\n"
			  "vIA  :   SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1   \r\n"
			  "MAX-FORWARDS\t:\t70\r\n"
			  "from:<sip:a@example.com>;tag=1\r\n"
			  "TO : <sip:b@example.com>\r\n"
			  "call-id:   x1@host  \r\n"
			  "cseq:1 OPTIONS\r\n"
			  "X-Empty:\r\n"
			  "X-Spaces:    \r\n"
			  "x-custom-header: some value\r\n"
			  "CONTENT-LENGTH: 0\r\n"
			  "\r\n";
	must_parse(m, msg);
	assert_int_equal(m->nhdrs, 10);
	assert_int_equal(m->hdrs[0].id, SIP_HDR_VIA);
	assert_view(m, m->hdrs[0].name, "vIA");
	assert_view(m, m->hdrs[0].value, "SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1");
	assert_view(m, m->vias[0].branch, "z9hG4bK1");
	assert_int_equal(m->max_forwards, 70);
	assert_view(m, m->from.tag, "1");
	assert_view(m, m->to.uri.whole, "sip:b@example.com");
	assert_view(m, m->call_id, "x1@host");
	assert_int_equal(m->cseq.num, 1);
	assert_int_equal(m->hdrs[6].id, SIP_HDR_OTHER);
	assert_int_equal(m->hdrs[6].value.len, 0);
	assert_int_equal(m->hdrs[7].value.len, 0);
	assert_view(m, m->hdrs[8].name, "x-custom-header");
	assert_view(m, m->hdrs[8].value, "some value");
	assert_int_equal(m->content_length, 0);
}

/*
 * The value's bounds next to the colon and the line's end, where the parser
 * takes ": " followed by a byte above SP as the value's start and a byte above
 * SP before the CRLF as its end without reading the LWS rules: every byte at
 * or below SP in those places must still take the LWS rules (a fold, HTAB, a
 * lone SP, nothing at all), known header or not.
 */
static void test_value_bounds_at_colon_and_eol(void **state)
{
	(void)state;
	static const struct {
		const char *line, *value;
	} cases[] = {
	    {"X-A: v", "v"},	  {"X-A:v", "v"},
	    {"X-A: ", ""},	  {"X-A:", ""},
	    {"X-A:  v", "v"},	  {"X-A: \tv", "v"},
	    {"X-A:\t v", "v"},	  {"X-A: v ", "v"},
	    {"X-A: v\t", "v"},	  {"X-A: v \t ", "v"},
	    {"X-A: \r\n v", "v"}, {"X-A: v\r\n w", "v\r\n w"},
	    {"X-A: v\r\n ", "v"}, {"X-A: !", "!"},
	    {"X-A: ~ ~", "~ ~"},  {"Subject: \tv w\t", "v w"},
	    {"Subject:  ", ""},	  {"Subject: s", "s"},
	};
	struct sip_msg *m = new_msg();
	char buf[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = snprintf(buf, sizeof(buf),
				 "OPTIONS sip:b@example.com SIP/2.0\r\n"
				 "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1\r\n"
				 "Max-Forwards: 70\r\n"
				 "From: <sip:a@example.com>;tag=1\r\n"
				 "To: <sip:b@example.com>\r\n"
				 "Call-ID: x1@host\r\n"
				 "CSeq: 1 OPTIONS\r\n"
				 "%s\r\n"
				 "Content-Length: 0\r\n\r\n",
				 cases[i].line);
		must_parse_n(m, buf, (size_t)n);
		assert_int_equal(m->nhdrs, 8);
		assert_view(m, m->hdrs[6].value, cases[i].value);
	}
}

static void test_compact_forms_in_message(void **state)
{
	(void)state;
	struct sip_msg *m = new_msg();
	const char *msg = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
			  "v: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKnashds8\r\n"
			  "Max-Forwards: 70\r\n"
			  "t: Bob <sip:bob@biloxi.example.com>\r\n"
			  "f: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
			  "i: a84b4c76e66710\r\n"
			  "CSeq: 314159 INVITE\r\n"
			  "m: <sip:alice@pc33.atlanta.example.com>\r\n"
			  "k: 100rel, timer\r\n"
			  "s: lunch\r\n"
			  "e: gzip\r\n"
			  "o: presence\r\n"
			  "u: presence, dialog\r\n"
			  "r: <sip:carol@chicago.example.com>\r\n"
			  "b: <sip:alice@atlanta.example.com>\r\n"
			  "x: 1800;refresher=uac\r\n"
			  "y: c2lnbmF0dXJl;info=<https://cert.example.org/a.cer>;alg=ES256\r\n"
			  "a: *;audio\r\n"
			  "j: *;video\r\n"
			  "d: proxy, recurse\r\n"
			  "c: text/plain\r\n"
			  "l: 5\r\n"
			  "\r\n"
			  "hello";
	static const enum sip_hdr ids[] = {
	    SIP_HDR_VIA,
	    SIP_HDR_MAX_FORWARDS,
	    SIP_HDR_TO,
	    SIP_HDR_FROM,
	    SIP_HDR_CALL_ID,
	    SIP_HDR_CSEQ,
	    SIP_HDR_CONTACT,
	    SIP_HDR_SUPPORTED,
	    SIP_HDR_SUBJECT,
	    SIP_HDR_CONTENT_ENCODING,
	    SIP_HDR_EVENT,
	    SIP_HDR_ALLOW_EVENTS,
	    SIP_HDR_REFER_TO,
	    SIP_HDR_REFERRED_BY,
	    SIP_HDR_SESSION_EXPIRES,
	    SIP_HDR_IDENTITY,
	    SIP_HDR_ACCEPT_CONTACT,
	    SIP_HDR_REJECT_CONTACT,
	    SIP_HDR_REQUEST_DISPOSITION,
	    SIP_HDR_CONTENT_TYPE,
	    SIP_HDR_CONTENT_LENGTH,
	};
	must_parse(m, msg);
	assert_int_equal(m->nhdrs, sizeof(ids) / sizeof(ids[0]));
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		assert_int_equal(m->hdrs[i].id, ids[i]);
		assert_int_equal(m->first[ids[i]], i + 1);
	}
	assert_view(m, m->hdrs[0].name, "v");
	assert_int_equal(m->nvias, 1);
	assert_view(m, m->vias[0].branch, "z9hG4bKnashds8");
	assert_view(m, m->to.uri.whole, "sip:bob@biloxi.example.com");
	assert_view(m, m->from.tag, "1928301774");
	assert_view(m, m->call_id, "a84b4c76e66710");
	assert_int_equal(m->ncontacts, 1);
	assert_view(m, m->supported, "100rel, timer");
	assert_view_prefix(m, m->event, "presence");
	assert_view_prefix(m, m->refer_to, "<sip:carol@chicago.example.com>");
	assert_view(m, m->refer_to_addr.uri.user, "carol");
	assert_int_equal(m->session_expires_secs, 1800);
	assert_view_prefix(m, m->session_expires, "1800");
	assert_view(m, m->content_type, "text/plain");
	assert_int_equal(m->content_length, 5);
	assert_view(m, m->body, "hello");
}

static void test_folding(void **state)
{
	(void)state;
	struct sip_msg *m = new_msg();
	/* RFC 3261 7.3.1: a line starting with SP or HTAB continues the previous one. */
	const char *msg = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
			  "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bKa,\r\n"
			  "   SIP/2.0/UDP b.example.com;branch=z9hG4bKb\r\n"
			  "Max-Forwards:\r\n 70\r\n"
			  "To:\r\n\tBob\r\n <sip:bob@biloxi.example.com>\r\n"
			  "From: Alice <sip:alice@atlanta.example.com>\r\n"
			  " ;tag=1928301774\r\n"
			  "Call-ID: a84b4c76e66710\r\n"
			  "CSeq: 314159\r\n INVITE\r\n"
			  "Subject: I know you're there,\r\n"
			  "         pick up the phone\r\n"
			  "         and talk to me!\r\n"
			  "Content-Length: 0\r\n"
			  "\r\n";
	must_parse(m, msg);
	assert_int_equal(m->nhdrs, 8);
	assert_int_equal(m->nvias, 2);
	assert_view(m, m->vias[0].branch, "z9hG4bKa");
	assert_view(m, m->vias[1].host, "b.example.com");
	assert_view(m, m->vias[1].branch, "z9hG4bKb");
	assert_int_equal(m->vias[0].line, m->vias[1].line);
	assert_int_equal(m->max_forwards, 70);
	assert_view(m, m->to.uri.whole, "sip:bob@biloxi.example.com");
	assert_view_prefix(m, m->to.display, "Bob");
	assert_view(m, m->from.tag, "1928301774");
	assert_int_equal(m->cseq.num, 314159);
	assert_int_equal(m->cseq.method_id, SIP_METHOD_INVITE);
	const struct sip_hdr_line *subj = sip_find_hdr(m, SIP_HDR_SUBJECT);
	assert_non_null(subj);
	assert_view(m, subj->value,
		    "I know you're there,\r\n         pick up the phone\r\n"
		    "         and talk to me!");
	assert_memory_equal(m->buf + subj->start, "Subject:", 8);
	assert_memory_equal(m->buf + subj->end - 8, "to me!\r\n", 8);
	assert_int_equal(m->hdrs[7].id, SIP_HDR_CONTENT_LENGTH);
	assert_int_equal(m->content_length, 0);
}

/* A continuation line with nothing before it cannot fold into anything. */
static void test_fold_without_header(void **state)
{
	(void)state;
	struct sip_msg *m = new_msg();
	char buf[1024];
	snprintf(buf, sizeof(buf),
		 "OPTIONS sip:b@example.com SIP/2.0\r\n folded: x\r\n%sCSeq: 1 OPTIONS\r\n\r\n",
		 req_tail);
	expect_err(m, buf, SIP_ERR_HEADER_SYNTAX, -1, NULL);
}

static void test_bad_header_lines(void **state)
{
	(void)state;
	struct sip_msg *m = new_msg();
	char buf[1024];
	static const char *bad[] = {
	    "No colon here",	  ": no name",		"X Foo: space in name",
	    "X@Foo: not a token", "X-Foo\x01: control",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf),
			 "OPTIONS sip:b@example.com SIP/2.0\r\n%s%s\r\nCSeq: 1 OPTIONS\r\n\r\n",
			 req_tail, bad[i]);
		expect_err(m, buf, SIP_ERR_HEADER_SYNTAX, -1, NULL);
		/* The headers before the bad line stay indexed. */
		assert_int_equal(m->first[SIP_HDR_VIA], 1);
		assert_int_equal(m->first[SIP_HDR_CALL_ID], 5);
	}
	/* A bare LF or CR inside the header block is not a line end. */
	snprintf(buf, sizeof(buf),
		 "OPTIONS sip:b@example.com SIP/2.0\r\n%sSubject: a\rb\r\nCSeq: 1 OPTIONS\r\n\r\n",
		 req_tail);
	expect_err(m, buf, SIP_ERR_HEADER_SYNTAX, SIP_HDR_SUBJECT, "Subject");
}

/* ---- comma lists vs repeated lines ------------------------------------- */

static void test_comma_lists_vs_lines(void **state)
{
	(void)state;
	struct sip_msg *a = new_msg(), *b = new_msg();
	const char *one =
	    "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bK1, SIP/2.0/TCP "
	    "p2.example.com:5070;branch=z9hG4bK2 ,SIP/2.0/UDP 192.0.2.3;branch=z9hG4bK3\r\n"
	    "Route: <sip:r1.example.com;lr>, <sip:r2.example.com;lr>,<sip:r3.example.com>\r\n"
	    "Record-Route: <sip:rr1.example.com;lr>, <sip:rr2.example.com;lr>\r\n"
	    "Contact: \"Smith, John\" <sip:j@192.0.2.7>;q=0.7, <sip:k@192.0.2.8>;q=0.1\r\n"
	    "Max-Forwards: 70\r\n"
	    "To: <sip:bob@biloxi.example.com>\r\n"
	    "From: <sip:alice@atlanta.example.com>;tag=88\r\n"
	    "Call-ID: list1\r\n"
	    "CSeq: 1 INVITE\r\n"
	    "Content-Length: 0\r\n\r\n";
	const char *lines = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
			    "Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bK1\r\n"
			    "Via: SIP/2.0/TCP p2.example.com:5070;branch=z9hG4bK2\r\n"
			    "Route: <sip:r1.example.com;lr>\r\n"
			    "Via: SIP/2.0/UDP 192.0.2.3;branch=z9hG4bK3\r\n"
			    "Route: <sip:r2.example.com;lr>\r\n"
			    "Record-Route: <sip:rr1.example.com;lr>\r\n"
			    "Route: <sip:r3.example.com>\r\n"
			    "Record-Route: <sip:rr2.example.com;lr>\r\n"
			    "Contact: \"Smith, John\" <sip:j@192.0.2.7>;q=0.7\r\n"
			    "Contact: <sip:k@192.0.2.8>;q=0.1\r\n"
			    "Max-Forwards: 70\r\n"
			    "To: <sip:bob@biloxi.example.com>\r\n"
			    "From: <sip:alice@atlanta.example.com>;tag=88\r\n"
			    "Call-ID: list1\r\n"
			    "CSeq: 1 INVITE\r\n"
			    "Content-Length: 0\r\n\r\n";
	must_parse(a, one);
	must_parse(b, lines);
	static const char *branches[] = {"z9hG4bK1", "z9hG4bK2", "z9hG4bK3"};
	static const char *hosts[] = {"p1.example.com", "p2.example.com", "192.0.2.3"};
	static const char *routes[] = {"r1.example.com", "r2.example.com", "r3.example.com"};
	for (int k = 0; k < 2; k++) {
		struct sip_msg *m = k ? b : a;
		assert_int_equal(m->nvias, 3);
		assert_int_equal(m->nroutes, 3);
		assert_int_equal(m->nrecord_routes, 2);
		assert_int_equal(m->ncontacts, 2);
		for (int i = 0; i < 3; i++) {
			assert_view(m, m->vias[i].branch, branches[i]);
			assert_view(m, m->vias[i].host, hosts[i]);
			assert_int_equal(m->hdrs[m->vias[i].line].id, SIP_HDR_VIA);
			assert_view(m, m->routes[i].uri.host, routes[i]);
			assert_int_equal(m->routes[i].uri.lr, i < 2);
		}
		assert_view(m, m->vias[1].transport, "TCP");
		assert_int_equal(m->vias[1].port, 5070);
		assert_view(m, m->record_routes[0].uri.host, "rr1.example.com");
		assert_view(m, m->record_routes[1].uri.host, "rr2.example.com");
		assert_view(m, m->contacts[0].display, "Smith, John");
		assert_view(m, m->contacts[0].uri.user, "j");
		assert_view(m, m->contacts[0].params, "q=0.7");
		assert_view(m, m->contacts[1].uri.user, "k");
		assert_view(m, m->contacts[1].params, "q=0.1");
	}
	/* One line holds all three Vias in the first message; three lines in the second. */
	assert_int_equal(a->vias[0].line, a->vias[2].line);
	assert_int_equal(a->vias[0].line, 0);
	assert_int_equal(b->vias[0].line, 0);
	assert_int_equal(b->vias[1].line, 1);
	assert_int_equal(b->vias[2].line, 3);
	/* The via-parm views cover one value each, for relaying unchanged. */
	assert_view(a, a->vias[0].whole, "SIP/2.0/UDP p1.example.com;branch=z9hG4bK1");
	assert_view(a, a->vias[1].whole, "SIP/2.0/TCP p2.example.com:5070;branch=z9hG4bK2");
	assert_view(a, a->vias[2].whole, "SIP/2.0/UDP 192.0.2.3;branch=z9hG4bK3");
	assert_view(a, a->routes[1].whole, "<sip:r2.example.com;lr>");
}

/* ---- Call-ID, From, To -------------------------------------------------- */

/* Option tags (Supported, Require): any line, any place in its comma list,
 * compact form, case and LWS aside; a tag only part of another is not it. */
static void test_option_tags(void **state)
{
	(void)state;
	struct sip_msg *m = new_msg();
	must_parse(m, "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
		      "Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bK1\r\n"
		      "Max-Forwards: 70\r\n"
		      "To: <sip:bob@biloxi.example.com>\r\n"
		      "From: <sip:alice@atlanta.example.com>;tag=88\r\n"
		      "Call-ID: tags1\r\n"
		      "CSeq: 1 INVITE\r\n"
		      "Supported: 100rel, replaces\r\n"
		      "Require: timers\r\n"
		      "k:norefersub ,  TIMER \r\n"
		      "Content-Length: 0\r\n\r\n");
	assert_true(sip_has_option_tag(m, SIP_HDR_SUPPORTED, "timer"));
	assert_true(sip_has_option_tag(m, SIP_HDR_SUPPORTED, "100rel"));
	assert_true(sip_has_option_tag(m, SIP_HDR_SUPPORTED, "replaces"));
	assert_true(sip_has_option_tag(m, SIP_HDR_SUPPORTED, "norefersub"));
	assert_false(sip_has_option_tag(m, SIP_HDR_SUPPORTED, "100"));
	assert_false(sip_has_option_tag(m, SIP_HDR_REQUIRE, "timer"));
	assert_true(sip_has_option_tag(m, SIP_HDR_REQUIRE, "timers"));
	assert_false(sip_has_option_tag(m, SIP_HDR_PROXY_REQUIRE, "timer"));
}

/* Min-SE and the like: delta-seconds, parameters after it allowed; a
 * Retry-After's comment too. */
/* sip_hdr_lines counts the lines of one id wherever they stand, and none for
 * an id the message lacks. */
static void test_hdr_lines(void **state)
{
	(void)state;
	struct sip_msg *m = new_msg();
	must_parse(m, "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
		      "Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bK1\r\n"
		      "Replaces: a@h;to-tag=1;from-tag=2\r\n"
		      "Max-Forwards: 70\r\n"
		      "To: <sip:bob@biloxi.example.com>\r\n"
		      "From: <sip:alice@atlanta.example.com>;tag=88\r\n"
		      "Call-ID: hl1\r\n"
		      "CSeq: 1 INVITE\r\n"
		      "Via: SIP/2.0/UDP p2.example.com;branch=z9hG4bK2, SIP/2.0/UDP "
		      "p3.example.com;branch=z9hG4bK3\r\n"
		      "Replaces: b@h;to-tag=3;from-tag=4\r\n"
		      "Content-Length: 0\r\n\r\n");
	assert_int_equal(sip_hdr_lines(m, SIP_HDR_REPLACES), 2);
	assert_int_equal(sip_hdr_lines(m, SIP_HDR_VIA), 2); /* lines, not values */
	assert_int_equal(sip_hdr_lines(m, SIP_HDR_CALL_ID), 1);
	assert_int_equal(sip_hdr_lines(m, SIP_HDR_JOIN), 0);
}

static void test_hdr_delta_seconds(void **state)
{
	(void)state;
	struct sip_msg *m = new_msg();
	static const char *const values[] = {"1800", "90;x=1", "120 ;y", "",
					     "abc",  "12a",    "-5",	 "2147483648"};
	static const int ok[] = {1800, 90, 120, -1, -1, -1, -1, -1};
	char msg[512];
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		snprintf(msg, sizeof(msg),
			 "SIP/2.0 422 Session Interval Too Small\r\n"
			 "Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bK1\r\n"
			 "To: <sip:bob@biloxi.example.com>;tag=9\r\n"
			 "From: <sip:alice@atlanta.example.com>;tag=88\r\n"
			 "Call-ID: se1\r\n"
			 "CSeq: 1 INVITE\r\n"
			 "Min-SE: %s\r\n"
			 "Content-Length: 0\r\n\r\n",
			 values[i]);
		must_parse(m, msg);
		uint32_t v = 0;
		bool got = sip_hdr_delta_seconds(m, SIP_HDR_MIN_SE, &v);
		if (got != (ok[i] >= 0) || (got && v != (uint32_t)ok[i]))
			fail_msg("Min-SE: %s read as %d %u", values[i], got, v);
	}
	assert_false(sip_hdr_delta_seconds(m, SIP_HDR_SESSION_EXPIRES, &(uint32_t){0}));

	/* Retry-After alone may have a comment after its seconds (RFC 3261 20.33:
	 * delta-seconds [ comment ] *( SEMI retry-param )) */
	static const char *const retry[] = {"120 (I'm in a meeting)", "60;duration=10",
					    "18000 (off) ;duration=3600", "(5)", "5x"};
	static const int retry_ok[] = {120, 60, 18000, -1, -1};
	for (size_t i = 0; i < sizeof(retry) / sizeof(retry[0]); i++) {
		snprintf(msg, sizeof(msg),
			 "SIP/2.0 503 Service Unavailable\r\n"
			 "Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bK1\r\n"
			 "To: <sip:bob@biloxi.example.com>;tag=9\r\n"
			 "From: <sip:alice@atlanta.example.com>;tag=88\r\n"
			 "Call-ID: ra1\r\n"
			 "CSeq: 1 INVITE\r\n"
			 "Retry-After: %s\r\n"
			 "Min-SE: %s\r\n"
			 "Content-Length: 0\r\n\r\n",
			 retry[i], retry[i]);
		must_parse(m, msg);
		uint32_t v = 0;
		bool got = sip_hdr_delta_seconds(m, SIP_HDR_RETRY_AFTER, &v);
		if (got != (retry_ok[i] >= 0) || (got && v != (uint32_t)retry_ok[i]))
			fail_msg("Retry-After: %s read as %d %u", retry[i], got, v);
		/* not for another header */
		if (strchr(retry[i], '('))
			assert_false(sip_hdr_delta_seconds(m, SIP_HDR_MIN_SE, &v));
	}
}

static void test_call_id(void **state)
{
	(void)state;
	struct sip_msg *m = new_msg();
	char buf[1024];
	const char *head = "OPTIONS sip:b@example.com SIP/2.0\r\n"
			   "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1\r\n"
			   "Max-Forwards: 70\r\n"
			   "From: <sip:a@example.com>;tag=1\r\n"
			   "To: <sip:b@example.com>\r\n"
			   "CSeq: 1 OPTIONS\r\n";
	/* callid = word ["@" word]; word holds many punctuation characters. */
	static const char *good[] = {"f81d4fae-7dec-11d0-a765-00a0c91e6bf6@foo.bar.com", "abc",
				     "a.b!c%d*e_f+g`h'i~j(k)l<m>n:o\\p\"q/r[s]t?u{v}w@x",
				     "12345678901234567890123456789012345678901234567890"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(buf, sizeof(buf), "%sCall-ID: %s\r\n\r\n", head, good[i]);
		must_parse(m, buf);
		assert_view(m, m->call_id, good[i]);
	}
	static const char *bad[] = {"", "a b", "a@b@c", "@x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "%sCall-ID: %s\r\n\r\n", head, bad[i]);
		expect_err(m, buf, SIP_ERR_BAD_VALUE, SIP_HDR_CALL_ID, "Call-ID");
	}
}

static void test_from_to(void **state)
{
	(void)state;
	struct sip_msg *m = new_msg();
	const char *msg = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
			  "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1\r\n"
			  "Max-Forwards: 70\r\n"
			  "From: \"Alice \\\"the\\\" Liddell\\\\\" "
			  "<sip:alice@atlanta.example.com;transport=tcp>;TAG=a1;x-p=\"q;r\"\r\n"
			  "To: sip:bob@biloxi.example.com;tag=b2\r\n"
			  "Call-ID: ft1\r\n"
			  "CSeq: 1 INVITE\r\n"
			  "Content-Length: 0\r\n\r\n";
	must_parse(m, msg);
	assert_view(m, m->from.display, "Alice \\\"the\\\" Liddell\\\\");
	assert_view(m, m->from.uri.whole, "sip:alice@atlanta.example.com;transport=tcp");
	assert_view(m, m->from.uri.transport, "tcp");
	assert_true(m->from.has_tag);
	assert_view(m, m->from.tag, "a1");
	assert_view(m, m->from.params, "TAG=a1;x-p=\"q;r\"");
	/* addr-spec form: ";tag" after the URI is a header parameter (RFC 3261 20.10). */
	assert_int_equal(m->to.display.len, 0);
	assert_view(m, m->to.uri.whole, "sip:bob@biloxi.example.com");
	assert_int_equal(m->to.uri.params.len, 0);
	assert_true(m->to.has_tag);
	assert_view(m, m->to.tag, "b2");

	const char *msg2 = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
			   "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1\r\n"
			   "Max-Forwards: 70\r\n"
			   "From: Alice Liddell   <sip:alice@atlanta.example.com> ; tag = a1\r\n"
			   "To: \"\" <sip:bob@biloxi.example.com;tag=not-a-header-tag>\r\n"
			   "Call-ID: ft2\r\n"
			   "CSeq: 1 INVITE\r\n"
			   "Content-Length: 0\r\n\r\n";
	must_parse(m, msg2);
	assert_view(m, m->from.display, "Alice Liddell");
	assert_view(m, m->from.tag, "a1");
	/* A tag inside the URI is a URI parameter, not the To tag. */
	assert_false(m->to.has_tag);
	assert_int_equal(m->to.tag.len, 0);
	assert_int_equal(m->to.display.len, 0);
	assert_view(m, m->to.uri.params, "tag=not-a-header-tag");

	/* Display names may hold '<', ',', ';' and '@' inside quotes. */
	const char *msg3 = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
			   "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1\r\n"
			   "Max-Forwards: 70\r\n"
			   "From: \"<sip:mallory@evil.example.com>; tag=x, y@z\" "
			   "<sip:alice@atlanta.example.com>;tag=real\r\n"
			   "To: <sip:bob@biloxi.example.com>\r\n"
			   "Call-ID: ft3\r\n"
			   "CSeq: 1 INVITE\r\n"
			   "Content-Length: 0\r\n\r\n";
	must_parse(m, msg3);
	assert_view(m, m->from.display, "<sip:mallory@evil.example.com>; tag=x, y@z");
	assert_view(m, m->from.uri.host, "atlanta.example.com");
	assert_view(m, m->from.tag, "real");
}

/* A '#' bare in a user part (RFC 3261 25.1 writes %23), as Teams Direct
 * Routing's INVITE to "#123" sends it: the dialog's To keeps it, so every
 * request of the call carries it and must parse, as must a tel number's. */
static void test_user_part_hash(void **state)
{
	(void)state;
	struct sip_msg *m = new_msg();
	const char *invite =
	    "INVITE sip:#123@sbc.example.com:5081;user=phone;transport=udp SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1\r\n"
	    "Max-Forwards: 70\r\n"
	    "From: <sip:+15551234@teams.example.com;user=phone>;tag=a1\r\n"
	    "To: <sip:#123@sbc.example.com;user=phone>\r\n"
	    "Call-ID: hash1\r\n"
	    "CSeq: 1 INVITE\r\n"
	    "Content-Length: 0\r\n\r\n";
	must_parse(m, invite);
	assert_view(m, m->ruri.user, "#123");
	assert_view(m, m->ruri.host, "sbc.example.com");
	assert_view(m, m->to.uri.user, "#123");

	const char *in_dialog = "BYE sip:10.0.0.7:5060 SIP/2.0\r\n"
				"Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK2\r\n"
				"Max-Forwards: 70\r\n"
				"From: <sip:+15551234@teams.example.com;user=phone>;tag=a1\r\n"
				"To: <tel:*97#;phone-context=example.com>;tag=b2\r\n"
				"Call-ID: hash1\r\n"
				"CSeq: 2 BYE\r\n"
				"Content-Length: 0\r\n\r\n";
	must_parse(m, in_dialog);
	assert_int_equal(m->to.uri.scheme, SIP_SCHEME_TEL);
	assert_view(m, m->to.uri.user, "*97#");
	assert_view(m, m->to.tag, "b2");

	/* not in a host: the Request-URI is refused */
	const char *bad = "BYE sip:10.0.0.7#5060 SIP/2.0\r\n"
			  "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK2\r\n"
			  "Max-Forwards: 70\r\n"
			  "From: <sip:a@h>;tag=a1\r\n"
			  "To: <sip:b@h>;tag=b2\r\n"
			  "Call-ID: hash1\r\n"
			  "CSeq: 2 BYE\r\n"
			  "Content-Length: 0\r\n\r\n";
	expect_err(m, bad, SIP_ERR_URI, SIP_HDR_OTHER, NULL);
}

static void test_bad_from_to(void **state)
{
	(void)state;
	struct sip_msg *m = new_msg();
	char buf[1024];
	const char *head = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
			   "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1\r\n"
			   "Max-Forwards: 70\r\n"
			   "To: <sip:bob@biloxi.example.com>\r\n"
			   "Call-ID: bf1\r\n"
			   "CSeq: 1 INVITE\r\n";
	static const char *bad[] = {
	    "<sip:alice@atlanta.example.com;tag=1",	     /* no '>' */
	    "\"Alice <sip:alice@atlanta.example.com>;tag=1", /* no closing quote */
	    "Alice sip:alice@atlanta.example.com",	     /* display without <> */
	    "<>;tag=1",					     /* empty URI */
	    "",						     /* empty */
	    "<sip:alice@atlanta.example.com>garbage;tag=1",  /* junk after '>' */
	    "<sip:al ice@atlanta.example.com>;tag=1",	     /* space in URI */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "%sFrom: %s\r\n\r\n", head, bad[i]);
		expect_err2(m, buf, SIP_ERR_BAD_VALUE, SIP_ERR_URI, SIP_HDR_FROM, "From");
	}
}

/* ---- CSeq --------------------------------------------------------------- */

static void test_cseq(void **state)
{
	(void)state;
	struct sip_msg *m = new_msg();
	char buf[1024];
	const char *head = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
			   "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1\r\n"
			   "Max-Forwards: 70\r\n"
			   "To: <sip:bob@biloxi.example.com>\r\n"
			   "From: <sip:alice@atlanta.example.com>;tag=1\r\n"
			   "Call-ID: cs1\r\n";
	static const struct {
		const char *v;
		uint32_t num;
	} good[] = {{"0 INVITE", 0},
		    {"1 INVITE", 1},
		    {"2147483647 INVITE", 2147483647u},
		    {"00000000000000000042 INVITE", 42},
		    {"  17    INVITE  ", 17},
		    {"17\tINVITE", 17}};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(buf, sizeof(buf), "%sCSeq: %s\r\n\r\n", head, good[i].v);
		must_parse(m, buf);
		assert_int_equal(m->cseq.num, good[i].num);
		assert_view(m, m->cseq.method, "INVITE");
		assert_int_equal(m->cseq.method_id, SIP_METHOD_INVITE);
	}
	static const char *bad[] = {
	    "2147483648 INVITE",	   /* 2^31: RFC 3261 8.1.1.5 says < 2^31 */
	    "4294967295 INVITE",	   /* 2^32 - 1 */
	    "4294967296 INVITE",	   /* wraps a 32-bit counter to 0 */
	    "99999999999999999999 INVITE", /* wraps 64 bits */
	    "-1 INVITE",		   /* not 1*DIGIT */
	    "1INVITE",			   /* no LWS */
	    "INVITE",			   /* no number */
	    "1",			   /* no method */
	    "1 BYE",			   /* method of another request */
	    "1 invite",			   /* methods are case-sensitive */
	    "1 INVITE x",		   /* trailing junk */
	    "0x10 INVITE",		   /* not decimal */
	    "",				   /* empty */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "%sCSeq: %s\r\n\r\n", head, bad[i]);
		expect_err(m, buf, SIP_ERR_BAD_VALUE, SIP_HDR_CSEQ, "CSeq");
		/* Still indexed, so that a 400 can be formed. */
		assert_int_equal(m->first[SIP_HDR_CSEQ], 6);
	}
	/* In a response the method is whatever the request's was. */
	must_parse(m, "SIP/2.0 200 OK\r\n"
		      "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1\r\n"
		      "To: <sip:bob@biloxi.example.com>;tag=2\r\n"
		      "From: <sip:alice@atlanta.example.com>;tag=1\r\n"
		      "Call-ID: cs1\r\n"
		      "CSeq: 2147483647 SUBSCRIBE\r\n\r\n");
	assert_int_equal(m->cseq.method_id, SIP_METHOD_SUBSCRIBE);
	assert_int_equal(m->cseq.num, 2147483647u);
	expect_err(m,
		   "SIP/2.0 200 OK\r\n"
		   "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1\r\n"
		   "To: <sip:bob@biloxi.example.com>;tag=2\r\n"
		   "From: <sip:alice@atlanta.example.com>;tag=1\r\n"
		   "Call-ID: cs1\r\n"
		   "CSeq: 2147483648 SUBSCRIBE\r\n\r\n",
		   SIP_ERR_BAD_VALUE, SIP_HDR_CSEQ, "CSeq");
	/* ACK and CANCEL carry the INVITE's number with their own method. */
	must_parse(m, "ACK sip:bob@biloxi.example.com SIP/2.0\r\n"
		      "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1\r\n"
		      "Max-Forwards: 70\r\n"
		      "To: <sip:bob@biloxi.example.com>;tag=2\r\n"
		      "From: <sip:alice@atlanta.example.com>;tag=1\r\n"
		      "Call-ID: cs1\r\n"
		      "CSeq: 314159 ACK\r\n\r\n");
	assert_int_equal(m->method_id, SIP_METHOD_ACK);
	assert_int_equal(m->cseq.method_id, SIP_METHOD_ACK);
}

/* ---- Via ---------------------------------------------------------------- */

static const char via_head[] = "OPTIONS sip:b@example.com SIP/2.0\r\n"
			       "Max-Forwards: 70\r\n"
			       "From: <sip:a@example.com>;tag=1\r\n"
			       "To: <sip:b@example.com>\r\n"
			       "Call-ID: via1\r\n"
			       "CSeq: 1 OPTIONS\r\n";

/* The views of m point into a static buffer that lives until the next call. */
static void parse_via(struct sip_msg *m, const char *via)
{
	static char buf[2048];
	snprintf(buf, sizeof(buf), "%sVia: %s\r\n\r\n", via_head, via);
	must_parse(m, buf);
}

static void test_via_fields(void **state)
{
	(void)state;
	struct sip_msg *m = new_msg();

	parse_via(m, "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds");
	assert_int_equal(m->nvias, 1);
	assert_view(m, m->vias[0].protocol, "SIP/2.0/UDP");
	assert_view(m, m->vias[0].transport, "UDP");
	assert_view(m, m->vias[0].host, "pc33.atlanta.example.com");
	assert_int_equal(m->vias[0].port, 0);
	assert_view(m, m->vias[0].branch, "z9hG4bK776asdhds");
	assert_int_equal(m->vias[0].received.len, 0);
	assert_int_equal(m->vias[0].rport.len, 0);
	assert_false(m->vias[0].has_rport);
	assert_int_equal(m->vias[0].maddr.len, 0);
	assert_int_equal(m->vias[0].ttl.len, 0);
	assert_int_equal(m->vias[0].line, 5);
	assert_view(m, m->vias[0].whole,
		    "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds");

	parse_via(m, "SIP/2.0/TCP 192.0.2.1:5070;rport;branch=z9hG4bKx;received=192.0.2.200");
	assert_view(m, m->vias[0].transport, "TCP");
	assert_view(m, m->vias[0].host, "192.0.2.1");
	assert_int_equal(m->vias[0].port, 5070);
	assert_true(m->vias[0].has_rport);
	assert_int_equal(m->vias[0].rport.len, 0);
	assert_view(m, m->vias[0].branch, "z9hG4bKx");
	assert_view(m, m->vias[0].received, "192.0.2.200");

	parse_via(m, "SIP/2.0/UDP [2001:db8::9:1]:5061;branch=z9hG4bKas3;received=2001:db8::9:255;"
		     "rport=5071;ttl=16;maddr=224.2.0.1");
	assert_view(m, m->vias[0].host, "[2001:db8::9:1]");
	assert_int_equal(m->vias[0].port, 5061);
	assert_view(m, m->vias[0].branch, "z9hG4bKas3");
	assert_view(m, m->vias[0].received, "2001:db8::9:255");
	assert_true(m->vias[0].has_rport);
	assert_view(m, m->vias[0].rport, "5071");
	assert_view(m, m->vias[0].ttl, "16");
	assert_view(m, m->vias[0].maddr, "224.2.0.1");

	parse_via(m, "SIP/2.0/UDP [2001:db8::10];branch=z9hG4bKv6");
	assert_view(m, m->vias[0].host, "[2001:db8::10]");
	assert_int_equal(m->vias[0].port, 0);

	parse_via(m, "SIP/2.0/UDP [::1]:65535;branch=z9hG4bKlo");
	assert_view(m, m->vias[0].host, "[::1]");
	assert_int_equal(m->vias[0].port, 65535);

	/* Transports are tokens: TLS, SCTP, WS, WSS and unknown ones. */
	static const char *tr[] = {"TLS", "SCTP", "WS", "WSS", "DCCP"};
	for (size_t i = 0; i < sizeof(tr) / sizeof(tr[0]); i++) {
		char v[128];
		snprintf(v, sizeof(v), "SIP/2.0/%s h.example.com;branch=z9hG4bK%zu", tr[i], i);
		parse_via(m, v);
		assert_view(m, m->vias[0].transport, tr[i]);
	}

	/* Parameter names are case-insensitive; LWS is allowed around ';' and '='. */
	parse_via(
	    m, "SIP/2.0/UDP h.example.com:5060 ; BRANCH = z9hG4bKup ; RPort ; Received=192.0.2.9");
	assert_int_equal(m->vias[0].port, 5060);
	assert_view(m, m->vias[0].branch, "z9hG4bKup");
	assert_true(m->vias[0].has_rport);
	assert_view(m, m->vias[0].received, "192.0.2.9");

	/* a '_' in the sent-by host, as a machine named so writes it */
	parse_via(m, "SIP/2.0/UDP my_host.local:5062;branch=z9hG4bKus;rport");
	assert_view(m, m->vias[0].host, "my_host.local");
	assert_int_equal(m->vias[0].port, 5062);
	assert_view(m, m->vias[0].branch, "z9hG4bKus");

	/* LWS around the slashes of sent-protocol (RFC 3261 25.1 SLASH). */
	parse_via(m, "SIP / 2.0 / UDP h.example.com;branch=z9hG4bKsl");
	assert_view(m, m->vias[0].transport, "UDP");
	assert_view(m, m->vias[0].host, "h.example.com");

	/* Unknown parameters and a parameter whose name starts like a known one. */
	parse_via(m, "SIP/2.0/UDP h.example.com;branchy=no;x-branch=no;branch=z9hG4bKyes;rports");
	assert_view(m, m->vias[0].branch, "z9hG4bKyes");
	assert_false(m->vias[0].has_rport);
}

static void test_bad_vias(void **state)
{
	(void)state;
	struct sip_msg *m = new_msg();
	char buf[2048];
	static const char *bad[] = {
	    "SIP/2.0/UDP",				       /* no sent-by */
	    "SIP/2.0/UDP ;branch=z9hG4bK1",		       /* empty host */
	    "SIP/2.0 h.example.com;branch=z9hG4bK1",	       /* no transport */
	    "SIP/2.0/UDP h.example.com:99999;branch=z9hG4bK1", /* port > 65535 */
	    "SIP/2.0/UDP h.example.com:;branch=z9hG4bK1",      /* empty port */
	    "SIP/2.0/UDP h.example.com:50a;branch=z9hG4bK1",   /* port not digits */
	    "SIP/2.0/UDP [2001:db8::1;branch=z9hG4bK1",	       /* unclosed IPv6 */
	    "SIP/2.0/UDP h.example.com;branch=z9hG4bK1,",      /* empty last value */
	    "SIP/2.0/UDP h.example.com;branch=z9hG4bK1,,SIP/2.0/UDP b.example.com", /* empty */
	    "",						       /* empty value */
	    "SIP/2.0/UDP h.exa mple.com;branch=z9hG4bK1",      /* space in host */
	    "SIP/2.0/UDP h_1.example.com:5_0;branch=z9hG4bK1", /* '_' in the port */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "%sVia: %s\r\n\r\n", via_head, bad[i]);
		expect_err(m, buf, SIP_ERR_BAD_VALUE, SIP_HDR_VIA, "Via");
	}
}

/*
 * A sent-by host that starts with '[' is an IPv6reference (RFC 3261 25.1 as
 * RFC 5954 4 corrects it), and so is a parameter value that starts with '['
 * (gen-value = token / host / quoted-string): not any text up to a ']'. A
 * relayed Via keeps its bytes, and a parser downstream that reads ';' or ','
 * inside the brackets as separators would see other parameters or another
 * Via than sipshard did.
 */
static void test_via_ipv6_references(void **state)
{
	(void)state;
	struct sip_msg *m = new_msg();
	char buf[2048];

	parse_via(m, "SIP/2.0/UDP [1:2:3:4:5:6:7::]:5062;branch=z9hG4bK1;received=[::1]");
	assert_view(m, m->vias[0].host, "[1:2:3:4:5:6:7::]");
	assert_int_equal(m->vias[0].port, 5062);
	assert_view(m, m->vias[0].received, "[::1]");

	static const struct {
		const char *via, *why;
	} bad[] = {
	    {"SIP/2.0/UDP [not an address];branch=z9hG4bK1", "malformed IPv6 reference"},
	    {"SIP/2.0/UDP [x\"y<z>];branch=z9hG4bK1", "malformed IPv6 reference"},
	    {"SIP/2.0/UDP [1::2::3];branch=z9hG4bK1", "malformed IPv6 reference"},
	    {"SIP/2.0/UDP [2001:db8::1;branch=z9hG4bK1", "unterminated IPv6 reference"},
	    {"SIP/2.0/UDP h.example.com;branch=z9hG4bK1;received=[;branch=z9hG4bK2]",
	     "bad Via parameter"},
	    {"SIP/2.0/UDP h.example.com;x=[a;branch=z9hG4bK2];branch=z9hG4bK1",
	     "bad Via parameter"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "%sVia: %s\r\n\r\n", via_head, bad[i].via);
		expect_err(m, buf, SIP_ERR_BAD_VALUE, SIP_HDR_VIA, bad[i].why);
	}
	/* the same in an address's parameters */
	snprintf(buf, sizeof(buf),
		 "%sVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
		 "Contact: <sip:c@h>;x=[a;b]\r\n\r\n",
		 via_head);
	expect_err(m, buf, SIP_ERR_BAD_VALUE, SIP_HDR_CONTACT, "Contact");
	snprintf(buf, sizeof(buf),
		 "%sVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
		 "Contact: <sip:c@[::2:3:4:5:6:7:8]>;x=[2001:db8::1]\r\n\r\n",
		 via_head);
	must_parse(m, buf);
	assert_int_equal(m->contacts[0].uri.host_type, SIP_HOST_IPV6);
}

/*
 * RFC 4475 3.1.1.7 (longreq) is a well-formed request with 34 Via values, each
 * on a line of its own under every spelling of the name; RFC 3261 lets a
 * request gather one Via per hop of its Max-Forwards (70 by default). All of
 * them are kept, in order.
 */
static void test_many_vias(void **state)
{
	(void)state;
	struct sip_msg *m = new_msg();
	static const char *const names[] = {"Via: ", "v: ", "V: ", "ViA: ", "V :  ", "Via  : "};
	static char buf[8192];
	size_t n = (size_t)snprintf(buf, sizeof(buf),
				    "INVITE sip:user@example.com SIP/2.0\r\n"
				    "To: sip:user@example.com\r\n"
				    "From: sip:caller@example.net;tag=1\r\n"
				    "Call-ID: longreq.vias\r\n"
				    "CSeq: 3882340 INVITE\r\n");
	for (int i = 33; i >= 1; i--)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
				      "%sSIP/2.0/TCP sip%d.example.com\r\n", names[i % 6], i);
	snprintf(buf + n, sizeof(buf) - n,
		 "Via: SIP/2.0/TCP host.example.com;received=192.0.2.5;branch=z9hG4bKlong\r\n"
		 "Max-Forwards: 70\r\n"
		 "l: 0\r\n\r\n");
	must_parse(m, buf);
	assert_int_equal(m->nvias, 34);
	for (int i = 0; i < m->nvias; i++) {
		char host[32];
		snprintf(host, sizeof(host), i < 33 ? "sip%d.example.com" : "host.example.com",
			 33 - i);
		assert_view(m, m->vias[i].host, host);
		assert_view(m, m->vias[i].branch, i < 33 ? "" : "z9hG4bKlong");
	}
	assert_int_equal(m->nhdrs, 4 + 34 + 2);
}

static void test_too_many_values(void **state)
{
	(void)state;
	struct sip_msg *m = new_msg();
	static char buf[8192];
	size_t n;

	/* SIP_MAX_VIAS Vias fit, one more does not. */
	for (int extra = 0; extra < 2; extra++) {
		n = (size_t)snprintf(buf, sizeof(buf), "%s", via_head);
		for (int i = 0; i < SIP_MAX_VIAS + extra; i++)
			n += (size_t)snprintf(
			    buf + n, sizeof(buf) - n,
			    "Via: SIP/2.0/UDP h%d.example.com;branch=z9hG4bK%d\r\n", i, i);
		snprintf(buf + n, sizeof(buf) - n, "\r\n");
		if (!extra) {
			must_parse(m, buf);
			assert_int_equal(m->nvias, SIP_MAX_VIAS);
			char last[32];
			snprintf(last, sizeof(last), "h%d.example.com", SIP_MAX_VIAS - 1);
			assert_view(m, m->vias[SIP_MAX_VIAS - 1].host, last);
		} else {
			expect_err(m, buf, SIP_ERR_TOO_MANY_VALUES, SIP_HDR_VIA, "Via");
		}
	}
	/* The same on a single line. */
	n = (size_t)snprintf(buf, sizeof(buf), "%sVia: ", via_head);
	for (int i = 0; i <= SIP_MAX_VIAS; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
				      "%sSIP/2.0/UDP h%d.example.com;branch=z9hG4bK%d",
				      i ? "," : "", i, i);
	snprintf(buf + n, sizeof(buf) - n, "\r\n\r\n");
	expect_err(m, buf, SIP_ERR_TOO_MANY_VALUES, SIP_HDR_VIA, "Via");

	/* Routes: SIP_MAX_ROUTES fit, one more does not. */
	n = (size_t)snprintf(buf, sizeof(buf),
			     "%sVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nRoute: ", via_head);
	for (int i = 0; i <= SIP_MAX_ROUTES; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s<sip:r%d.example.com;lr>",
				      i ? ", " : "", i);
	snprintf(buf + n, sizeof(buf) - n, "\r\n\r\n");
	expect_err(m, buf, SIP_ERR_TOO_MANY_VALUES, SIP_HDR_ROUTE, "Route");
}

/* ---- Max-Forwards, Content-Length, Content-Type ------------------------ */

static void test_max_forwards(void **state)
{
	(void)state;
	struct sip_msg *m = new_msg();
	char buf[1024];
	const char *head = "OPTIONS sip:b@example.com SIP/2.0\r\n"
			   "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1\r\n"
			   "From: <sip:a@example.com>;tag=1\r\n"
			   "To: <sip:b@example.com>\r\n"
			   "Call-ID: mf1\r\n"
			   "CSeq: 1 OPTIONS\r\n";
	static const struct {
		const char *v;
		int n;
	} good[] = {{"0", 0}, {"1", 1}, {"70", 70}, {"255", 255}, {"  69  ", 69}};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(buf, sizeof(buf), "%sMax-Forwards: %s\r\n\r\n", head, good[i].v);
		must_parse(m, buf);
		assert_int_equal(m->max_forwards, good[i].n);
	}
	static const char *bad[] = {"", "abc", "-1", "7 0", "70x", "99999999999999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "%sMax-Forwards: %s\r\n\r\n", head, bad[i]);
		expect_err(m, buf, SIP_ERR_BAD_VALUE, SIP_HDR_MAX_FORWARDS, "Max-Forwards");
	}
}

static void test_content_length_and_type(void **state)
{
	(void)state;
	struct sip_msg *m = new_msg();
	char buf[1024];
	const char *head = "MESSAGE sip:b@example.com SIP/2.0\r\n"
			   "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1\r\n"
			   "Max-Forwards: 70\r\n"
			   "From: <sip:a@example.com>;tag=1\r\n"
			   "To: <sip:b@example.com>\r\n"
			   "Call-ID: cl1\r\n"
			   "CSeq: 1 MESSAGE\r\n";

	snprintf(buf, sizeof(buf),
		 "%sContent-Type: multipart/mixed;boundary=unique-boundary-1\r\n"
		 "Content-Length:   11  \r\n\r\nhello world",
		 head);
	must_parse(m, buf);
	assert_int_equal(m->content_length, 11);
	assert_view(m, m->body, "hello world");
	assert_view(m, m->content_type, "multipart/mixed;boundary=unique-boundary-1");

	/* Exactly matching zero. */
	snprintf(buf, sizeof(buf), "%sContent-Length: 0\r\n\r\n", head);
	must_parse(m, buf);
	assert_int_equal(m->content_length, 0);
	assert_int_equal(m->body.len, 0);
	assert_int_equal(m->content_type.len, 0);

	/* Smaller than the rest of the datagram: the extra bytes are not the body. */
	snprintf(buf, sizeof(buf), "%sContent-Length: 5\r\n\r\nhello, trailing junk\r\n", head);
	must_parse(m, buf);
	assert_int_equal(m->content_length, 5);
	assert_view(m, m->body, "hello");

	/* Larger than the rest: truncated (RFC 3261 18.3). */
	snprintf(buf, sizeof(buf), "%sContent-Length: 12\r\n\r\nhello world", head);
	expect_err(m, buf, SIP_ERR_BODY_TRUNCATED, SIP_HDR_CONTENT_LENGTH, "Content-Length");
	snprintf(buf, sizeof(buf), "%sContent-Length: 1\r\n\r\n", head);
	expect_err(m, buf, SIP_ERR_BODY_TRUNCATED, SIP_HDR_CONTENT_LENGTH, "Content-Length");
	snprintf(buf, sizeof(buf), "%sContent-Length: 4294967297\r\n\r\nx", head);
	expect_err2(m, buf, SIP_ERR_BAD_VALUE, SIP_ERR_BODY_TRUNCATED, SIP_HDR_CONTENT_LENGTH,
		    "Content-Length");

	/* Absent: the body runs to the end of the datagram. */
	snprintf(buf, sizeof(buf), "%s\r\nhello world\r\nmore", head);
	must_parse(m, buf);
	assert_int_equal(m->content_length, -1);
	assert_view(m, m->body, "hello world\r\nmore");
	snprintf(buf, sizeof(buf), "%s\r\n", head);
	must_parse(m, buf);
	assert_int_equal(m->content_length, -1);
	assert_int_equal(m->body.len, 0);
	assert_int_equal(m->body.off, strlen(buf));

	/* Compact form. */
	snprintf(buf, sizeof(buf), "%sc: text/plain\r\nl: 2\r\n\r\nhi", head);
	must_parse(m, buf);
	assert_int_equal(m->content_length, 2);
	assert_view(m, m->body, "hi");
	assert_view(m, m->content_type, "text/plain");

	static const char *bad[] = {"", "abc", "-1", "1 2", "5x", "+5"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "%sContent-Length: %s\r\n\r\nhello", head, bad[i]);
		expect_err(m, buf, SIP_ERR_BAD_VALUE, SIP_HDR_CONTENT_LENGTH, "Content-Length");
	}
}

/* ---- Route, Record-Route, Contact -------------------------------------- */

static void test_route_record_route(void **state)
{
	(void)state;
	struct sip_msg *m = new_msg();
	const char *msg = "BYE sip:alice@192.0.2.101:5060;transport=udp SIP/2.0\r\n"
			  "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1\r\n"
			  "Max-Forwards: 70\r\n"
			  "Route: <sip:p1.example.com;lr>,\r\n"
			  "  \"Proxy Two\" <sip:192.0.2.20:5070;lr;transport=tcp>\r\n"
			  "Route: <sip:[2001:db8::20];lr>\r\n"
			  "Record-Route: <sip:rr.example.com;lr;ftag=abc>\r\n"
			  "From: <sip:b@example.com>;tag=1\r\n"
			  "To: <sip:alice@example.com>;tag=2\r\n"
			  "Call-ID: rt1\r\n"
			  "CSeq: 2 BYE\r\n"
			  "Content-Length: 0\r\n\r\n";
	must_parse(m, msg);
	assert_int_equal(m->nroutes, 3);
	assert_view(m, m->routes[0].uri.whole, "sip:p1.example.com;lr");
	assert_true(m->routes[0].uri.lr);
	assert_view(m, m->routes[1].display, "Proxy Two");
	assert_view(m, m->routes[1].uri.host, "192.0.2.20");
	assert_int_equal(m->routes[1].uri.host_type, SIP_HOST_IPV4);
	assert_int_equal(m->routes[1].uri.port, 5070);
	assert_view(m, m->routes[1].uri.transport, "tcp");
	assert_true(m->routes[1].uri.lr);
	assert_view(m, m->routes[2].uri.host, "[2001:db8::20]");
	assert_int_equal(m->routes[2].uri.host_type, SIP_HOST_IPV6);
	assert_int_equal(m->nrecord_routes, 1);
	assert_view(m, m->record_routes[0].uri.params, "lr;ftag=abc");
	assert_view(m, m->ruri.transport, "udp");
	assert_int_equal(m->ruri.port, 5060);

	/* A Route entry that is not a name-addr is invalid. */
	char buf[1024];
	snprintf(buf, sizeof(buf),
		 "%sVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nRoute: <sip:p1;lr\r\n\r\n", via_head);
	expect_err2(m, buf, SIP_ERR_BAD_VALUE, SIP_ERR_URI, SIP_HDR_ROUTE, "Route");
}

static void test_contact(void **state)
{
	(void)state;
	struct sip_msg *m = new_msg();
	const char *reg =
	    "REGISTER sip:registrar.biloxi.example.com SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP bobspc.biloxi.example.com:5060;branch=z9hG4bKnashds7\r\n"
	    "Max-Forwards: 70\r\n"
	    "To: Bob <sip:bob@biloxi.example.com>\r\n"
	    "From: Bob <sip:bob@biloxi.example.com>;tag=456248\r\n"
	    "Call-ID: 843817637684230@998sdasdh09\r\n"
	    "CSeq: 1826 REGISTER\r\n"
	    "Contact: *\r\n"
	    "Expires: 0\r\n"
	    "Content-Length: 0\r\n\r\n";
	must_parse(m, reg);
	assert_true(m->contact_star);
	assert_int_equal(m->method_id, SIP_METHOD_REGISTER);

	const char *reg2 =
	    "REGISTER sip:registrar.biloxi.example.com SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP bobspc.biloxi.example.com:5060;branch=z9hG4bKnashds7\r\n"
	    "Max-Forwards: 70\r\n"
	    "To: Bob <sip:bob@biloxi.example.com>\r\n"
	    "From: Bob <sip:bob@biloxi.example.com>;tag=456248\r\n"
	    "Call-ID: 843817637684230@998sdasdh09\r\n"
	    "CSeq: 1827 REGISTER\r\n"
	    "m: <sip:bob@192.0.2.4>;expires=3600;+sip.instance=\"<urn:uuid:00000000-"
	    "0000-1000-8000-AABBCCDDEEFF>\", sip:bob@[2001:db8::4]:5062;q=0.5\r\n"
	    "Contact: tel:+1-201-555-0123\r\n"
	    "Content-Length: 0\r\n\r\n";
	must_parse(m, reg2);
	assert_false(m->contact_star);
	assert_int_equal(m->ncontacts, 3);
	assert_view(m, m->contacts[0].uri.host, "192.0.2.4");
	assert_view_prefix(m, m->contacts[0].params, "expires=3600;+sip.instance=");
	assert_view(m, m->contacts[1].uri.host, "[2001:db8::4]");
	assert_int_equal(m->contacts[1].uri.port, 5062);
	assert_view(m, m->contacts[1].params, "q=0.5");
	assert_int_equal(m->contacts[2].uri.scheme, SIP_SCHEME_TEL);
	assert_view(m, m->contacts[2].uri.user, "+1-201-555-0123");

	/* '*' mixed with addresses is not a valid Contact. */
	char buf[1024];
	snprintf(buf, sizeof(buf),
		 "%sVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nContact: *, <sip:a@b>\r\n\r\n", via_head);
	expect_err2(m, buf, SIP_ERR_BAD_VALUE, SIP_ERR_URI, SIP_HDR_CONTACT, "Contact");
}

/* ---- RSeq, RAck, Require, Supported, Event, Refer-To, Session-Expires -- */

static void test_reliable_provisional(void **state)
{
	(void)state;
	struct sip_msg *m = new_msg();
	const char *r183 = "SIP/2.0 183 Session Progress\r\n"
			   "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1\r\n"
			   "From: <sip:a@example.com>;tag=1\r\n"
			   "To: <sip:b@example.com>;tag=2\r\n"
			   "Call-ID: rel1\r\n"
			   "CSeq: 1 INVITE\r\n"
			   "Require: 100rel\r\n"
			   "RSeq: 988789\r\n"
			   "Content-Length: 0\r\n\r\n";
	must_parse(m, r183);
	assert_int_equal(m->rseq, 988789);
	assert_view(m, m->require, "100rel");

	const char *prack = "PRACK sip:b@192.0.2.5 SIP/2.0\r\n"
			    "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK2\r\n"
			    "Max-Forwards: 70\r\n"
			    "From: <sip:a@example.com>;tag=1\r\n"
			    "To: <sip:b@example.com>;tag=2\r\n"
			    "Call-ID: rel1\r\n"
			    "CSeq: 2 PRACK\r\n"
			    "RAck: 988789   1 INVITE\r\n"
			    "Content-Length: 0\r\n\r\n";
	must_parse(m, prack);
	assert_true(m->has_rack);
	assert_int_equal(m->rack.rseq, 988789);
	assert_int_equal(m->rack.cseq, 1);
	assert_view(m, m->rack.method, "INVITE");
	assert_int_equal(m->rack.method_id, SIP_METHOD_INVITE);

	/* RSeq is 1 .. 2^32 - 1 (RFC 3262 7.1). */
	char buf[1024];
	snprintf(buf, sizeof(buf), "%s", r183);
	char *p = strstr(buf, "988789");
	memcpy(p, "abcdef", 6);
	expect_err(m, buf, SIP_ERR_BAD_VALUE, SIP_HDR_RSEQ, "RSeq");
	const char *big = "SIP/2.0 183 Session Progress\r\n"
			  "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1\r\n"
			  "From: <sip:a@example.com>;tag=1\r\n"
			  "To: <sip:b@example.com>;tag=2\r\n"
			  "Call-ID: rel1\r\n"
			  "CSeq: 1 INVITE\r\n"
			  "RSeq: 4294967295\r\n\r\n";
	must_parse(m, big);
	assert_int_equal(m->rseq, 4294967295u);
	snprintf(buf, sizeof(buf), "%s", big);
	memcpy(strstr(buf, "4294967295"), "4294967296", 10);
	expect_err(m, buf, SIP_ERR_BAD_VALUE, SIP_HDR_RSEQ, "RSeq");

	/* RAck with a missing part. */
	snprintf(buf, sizeof(buf), "%s", prack);
	memcpy(strstr(buf, "RAck: 988789   1 INVITE"), "RAck: 988789   1       ", 23);
	expect_err(m, buf, SIP_ERR_BAD_VALUE, SIP_HDR_RACK, "RAck");
}

static void test_refer_event_timers(void **state)
{
	(void)state;
	struct sip_msg *m = new_msg();
	const char *refer = "REFER sip:b@192.0.2.5 SIP/2.0\r\n"
			    "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK3\r\n"
			    "Max-Forwards: 70\r\n"
			    "From: <sip:a@example.com>;tag=1\r\n"
			    "To: <sip:b@example.com>;tag=2\r\n"
			    "Call-ID: ref1\r\n"
			    "CSeq: 3 REFER\r\n"
			    "Refer-To: \"Carol\" "
			    "<sip:carol@chicago.example.com?Replaces=12345%40192.0.2.7%3Bto-tag%"
			    "3D1%3Bfrom-tag%3D2>\r\n"
			    "Referred-By: <sip:a@example.com>\r\n"
			    "Event: refer;id=93809824\r\n"
			    "Supported: timer, 100rel,\r\n norefersub\r\n"
			    "Session-Expires: 1800;refresher=uac\r\n"
			    "Min-SE: 90\r\n"
			    "Content-Length: 0\r\n\r\n";
	must_parse(m, refer);
	assert_int_equal(m->method_id, SIP_METHOD_REFER);
	assert_view(m, m->refer_to_addr.display, "Carol");
	assert_view(m, m->refer_to_addr.uri.user, "carol");
	assert_view(m, m->refer_to_addr.uri.host, "chicago.example.com");
	assert_view(m, m->refer_to_addr.uri.headers,
		    "Replaces=12345%40192.0.2.7%3Bto-tag%3D1%3Bfrom-tag%3D2");
	assert_view(m, m->refer_to,
		    "\"Carol\" "
		    "<sip:carol@chicago.example.com?Replaces=12345%40192.0.2.7%3Bto-tag%3D1%3Bfrom-"
		    "tag%3D2>");
	assert_view_prefix(m, m->event, "refer");
	assert_view(m, m->supported, "timer, 100rel,\r\n norefersub");
	assert_int_equal(m->session_expires_secs, 1800);
	assert_view_prefix(m, m->session_expires, "1800");
	assert_int_equal(m->require.len, 0);
	assert_non_null(sip_find_hdr(m, SIP_HDR_MIN_SE));
	assert_non_null(sip_find_hdr(m, SIP_HDR_REFERRED_BY));

	/* Session-Expires must be a number of seconds. */
	char buf[1024];
	snprintf(buf, sizeof(buf), "%s", refer);
	memcpy(strstr(buf, "1800;refresher"), "18x0", 4);
	expect_err(m, buf, SIP_ERR_BAD_VALUE, SIP_HDR_SESSION_EXPIRES, "Session-Expires");
	/* Refer-To must be an address. */
	snprintf(buf, sizeof(buf), "%s", refer);
	memcpy(strstr(buf, "<sip:carol"), "(sip:carol", 10);
	expect_err2(m, buf, SIP_ERR_BAD_VALUE, SIP_ERR_URI, SIP_HDR_REFER_TO, "Refer-To");
}

/* ---- limits ------------------------------------------------------------- */

static const char limit_head[] = "OPTIONS sip:b@example.com SIP/2.0\r\n"
				 "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1\r\n"
				 "Max-Forwards: 70\r\n"
				 "From: <sip:a@example.com>;tag=1\r\n"
				 "To: <sip:b@example.com>\r\n"
				 "Call-ID: lim1\r\n"
				 "CSeq: 1 OPTIONS\r\n"; /* 6 header lines */

/* A message with `total` header lines (6 mandatory + fillers), no body. */
static size_t build_many(char *buf, size_t cap, int total)
{
	size_t n = (size_t)snprintf(buf, cap, "%s", limit_head);
	for (int i = 6; i < total; i++)
		n += (size_t)snprintf(buf + n, cap - n, "X-H-%d: v%d\r\n", i, i);
	n += (size_t)snprintf(buf + n, cap - n, "\r\n");
	assert_true(n < cap);
	return n;
}

static void test_thousand_headers(void **state)
{
	(void)state;
	struct sip_msg *m = new_msg();
	static char buf[SIP_MAX_DATAGRAM];
	size_t n = build_many(buf, sizeof(buf), 1000);
	must_parse_n(m, buf, n);
	assert_int_equal(m->nhdrs, 1000);
	assert_view(m, m->hdrs[999].name, "X-H-999");
	assert_view(m, m->hdrs[999].value, "v999");
	assert_int_equal(m->hdrs[999].end, m->headers_end);

	struct sip_limits lim = sip_default_limits;
	lim.max_headers = 100;
	expect_err_n(m, buf, n, &lim, SIP_ERR_TOO_MANY_HEADERS, -1, NULL);
	/* Exactly at the limit is fine; one over is not. */
	n = build_many(buf, sizeof(buf), 100);
	memset(m, 0, offsetof(struct sip_msg, hdrs));
	assert_int_equal(sip_parse(m, buf, n, &lim), 0);
	assert_int_equal(m->nhdrs, 100);
	n = build_many(buf, sizeof(buf), 101);
	expect_err_n(m, buf, n, &lim, SIP_ERR_TOO_MANY_HEADERS, -1, NULL);
	/* The compile-time capacity with default limits. */
	n = build_many(buf, sizeof(buf), SIP_MAX_HEADERS);
	must_parse_n(m, buf, n);
	assert_int_equal(m->nhdrs, SIP_MAX_HEADERS);
	n = build_many(buf, sizeof(buf), SIP_MAX_HEADERS + 1);
	expect_err_n(m, buf, n, NULL, SIP_ERR_TOO_MANY_HEADERS, -1, NULL);
}

static void test_default_limits(void **state)
{
	(void)state;
	assert_int_equal(sip_default_limits.max_headers, 1024);
	assert_int_equal(sip_default_limits.max_line, 8192);
	assert_int_equal(sip_default_limits.max_uri, 2048);
	assert_int_equal(sip_default_limits.max_datagram, 65535);
}

static void test_big_datagram(void **state)
{
	(void)state;
	struct sip_msg *m = new_msg();
	size_t total = 60 * 1024;
	char *buf = malloc(total);
	assert_non_null(buf);
	size_t h = (size_t)snprintf(buf, total,
				    "%sContent-Type: text/plain\r\n"
				    "Content-Length: 00000\r\n\r\n",
				    limit_head);
	size_t body = total - h;
	char num[8];
	snprintf(num, sizeof(num), "%05zu", body);
	memcpy(strstr(buf, "00000"), num, 5);
	for (size_t i = 0; i < body; i++)
		buf[h + i] = (char)('a' + i % 26);
	must_parse_n(m, buf, total);
	assert_int_equal(m->content_length, (int32_t)body);
	assert_int_equal(m->body.off, h);
	assert_int_equal(m->body.len, body);
	assert_int_equal(m->len, total);
	free(buf);

	/* SIP_MAX_DATAGRAM bytes fit; one more is too long. */
	total = SIP_MAX_DATAGRAM + 1;
	buf = malloc(total);
	assert_non_null(buf);
	h = (size_t)snprintf(buf, total, "%s\r\n", limit_head);
	memset(buf + h, 'x', total - h);
	must_parse_n(m, buf, total - 1);
	assert_int_equal(m->body.len, total - 1 - h);
	expect_err_n(m, buf, total, NULL, SIP_ERR_TOO_LONG, -1, NULL);
	/* A lower runtime limit. */
	struct sip_limits lim = sip_default_limits;
	lim.max_datagram = 1000;
	expect_err_n(m, buf, 1001, &lim, SIP_ERR_TOO_LONG, -1, NULL);
	memset(m, 0, offsetof(struct sip_msg, hdrs));
	assert_int_equal(sip_parse(m, buf, 1000, &lim), 0);
	free(buf);
}

static void test_line_and_uri_limits(void **state)
{
	(void)state;
	struct sip_msg *m = new_msg();
	static char buf[20000];
	/* A header line of 8000 bytes fits under the default 8192; 8300 does not. (Whether
	 * the CRLF counts towards max_line is left open by the header, so no exact edge.) */
	for (int extra = 0; extra < 2; extra++) {
		size_t line = extra ? 8300 : 8000;
		size_t n = (size_t)snprintf(buf, sizeof(buf), "%sX-Long: ", limit_head);
		size_t want = line - strlen("X-Long: ") - 2;
		memset(buf + n, 'a', want);
		n += want;
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\r\n\r\n");
		if (!extra) {
			must_parse_n(m, buf, n);
			const struct sip_hdr_line *l = line_named(m, "X-Long");
			assert_non_null(l);
			assert_int_equal(l->end - l->start, line);
			assert_int_equal(l->value.len, want);
		} else {
			expect_err_n(m, buf, n, NULL, SIP_ERR_LINE_TOO_LONG, -1, "X-Long");
		}
	}
	/* A lower runtime limit on a folded known header. */
	struct sip_limits lim = sip_default_limits;
	lim.max_line = 64;
	snprintf(buf, sizeof(buf),
		 "%sSubject: 0123456789012345678901234567890123456789\r\n 0123456789012345\r\n\r\n",
		 limit_head);
	expect_err_n(m, buf, strlen(buf), &lim, SIP_ERR_LINE_TOO_LONG, SIP_HDR_SUBJECT, "Subject");

	/* URI length limit on the Request-URI. */
	lim = sip_default_limits;
	lim.max_uri = 32;
	snprintf(buf, sizeof(buf),
		 "OPTIONS sip:bob@a-very-long-host-name.example.com SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1\r\n"
		 "Max-Forwards: 70\r\n"
		 "From: <sip:a@example.com>;tag=1\r\n"
		 "To: <sip:b@example.com>\r\n"
		 "Call-ID: lim1\r\n"
		 "CSeq: 1 OPTIONS\r\n\r\n");
	expect_err_n(m, buf, strlen(buf), &lim, SIP_ERR_URI, -1, NULL);
	memset(m, 0, offsetof(struct sip_msg, hdrs));
	assert_int_equal(sip_parse(m, buf, strlen(buf), NULL), 0);
}

static void test_too_short(void **state)
{
	(void)state;
	struct sip_msg *m = new_msg();
	char *empty = malloc(1);
	expect_err_n(m, empty, 0, NULL, SIP_ERR_TOO_SHORT, -1, NULL);
	free(empty);
}

/* ---- duplicates and missing headers ------------------------------------ */

static const char dup_base[] = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
			       "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1\r\n"
			       "Max-Forwards: 70\r\n"
			       "To: <sip:bob@biloxi.example.com>\r\n"
			       "From: <sip:alice@atlanta.example.com>;tag=1\r\n"
			       "Call-ID: dup1@example.com\r\n"
			       "CSeq: 1 INVITE\r\n"
			       "Content-Length: 0\r\n";

static void test_duplicate_headers(void **state)
{
	(void)state;
	struct sip_msg *m = new_msg();
	char buf[2048];
	static const struct {
		const char *line;
		enum sip_hdr id;
		const char *name;
	} dups[] = {
	    {"Call-ID: other@example.com", SIP_HDR_CALL_ID, "Call-ID"},
	    {"Call-ID: dup1@example.com", SIP_HDR_CALL_ID, "Call-ID"}, /* even identical */
	    {"To: <sip:carol@example.com>", SIP_HDR_TO, "To"},
	    {"From: <sip:mallory@example.com>;tag=2", SIP_HDR_FROM, "From"},
	    {"CSeq: 2 INVITE", SIP_HDR_CSEQ, "CSeq"},
	    {"Content-Length: 0", SIP_HDR_CONTENT_LENGTH, "Content-Length"},
	    {"Max-Forwards: 69", SIP_HDR_MAX_FORWARDS, "Max-Forwards"},
	    {"i: other@example.com", SIP_HDR_CALL_ID, NULL},
	    {"t: <sip:carol@example.com>", SIP_HDR_TO, NULL},
	    {"f: <sip:mallory@example.com>;tag=2", SIP_HDR_FROM, NULL},
	    {"l: 0", SIP_HDR_CONTENT_LENGTH, NULL},
	};
	for (size_t i = 0; i < sizeof(dups) / sizeof(dups[0]); i++) {
		snprintf(buf, sizeof(buf), "%s%s\r\n\r\n", dup_base, dups[i].line);
		expect_err(m, buf, SIP_ERR_DUPLICATE_HEADER, dups[i].id, dups[i].name);
		/* Also when the second one is on a line before the first. */
		snprintf(buf, sizeof(buf),
			 "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n%s\r\n%s\r\n", dups[i].line,
			 dup_base + strlen("INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"));
		expect_err(m, buf, SIP_ERR_DUPLICATE_HEADER, dups[i].id, dups[i].name);
	}
	/* Comma-separated second values in a single-value header. */
	snprintf(buf, sizeof(buf),
		 "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1\r\n"
		 "Max-Forwards: 70\r\n"
		 "To: <sip:bob@biloxi.example.com>, <sip:carol@example.com>\r\n"
		 "From: <sip:alice@atlanta.example.com>;tag=1\r\n"
		 "Call-ID: dup1@example.com\r\n"
		 "CSeq: 1 INVITE\r\n\r\n");
	expect_err2(m, buf, SIP_ERR_BAD_VALUE, SIP_ERR_DUPLICATE_HEADER, SIP_HDR_TO, "To");
}

static void remove_line(char *dst, size_t cap, const char *src, const char *line_prefix)
{
	const char *p = strstr(src, line_prefix);
	assert_non_null(p);
	const char *e = strstr(p, "\r\n");
	assert_non_null(e);
	snprintf(dst, cap, "%.*s%s", (int)(p - src), src, e + 2);
}

static void test_missing_headers(void **state)
{
	(void)state;
	struct sip_msg *m = new_msg();
	char buf[2048], src[2048];
	static const struct {
		const char *prefix;
		enum sip_hdr id;
		const char *name;
	} req[] = {
	    {"To:", SIP_HDR_TO, "To"},
	    {"From:", SIP_HDR_FROM, "From"},
	    {"CSeq:", SIP_HDR_CSEQ, "CSeq"},
	    {"Call-ID:", SIP_HDR_CALL_ID, "Call-ID"},
	    {"Max-Forwards:", SIP_HDR_MAX_FORWARDS, "Max-Forwards"},
	    {"Via:", SIP_HDR_VIA, "Via"},
	};
	snprintf(src, sizeof(src), "%s\r\n", dup_base);
	for (size_t i = 0; i < sizeof(req) / sizeof(req[0]); i++) {
		remove_line(buf, sizeof(buf), src, req[i].prefix);
		expect_err(m, buf, SIP_ERR_MISSING_HEADER, req[i].id, req[i].name);
		/* The other headers stay indexed. */
		assert_int_equal(m->first[req[i].id], 0);
	}
	snprintf(src, sizeof(src), "%s", ok200);
	for (size_t i = 0; i < sizeof(req) / sizeof(req[0]); i++) {
		if (req[i].id == SIP_HDR_MAX_FORWARDS)
			continue;
		remove_line(buf, sizeof(buf), src, req[i].prefix);
		expect_err(m, buf, SIP_ERR_MISSING_HEADER, req[i].id, req[i].name);
	}
	/* Content-Length and Contact are optional over UDP for these. */
	remove_line(buf, sizeof(buf), src, "Content-Length:");
	must_parse(m, buf);
}

/* ---- NUL bytes ---------------------------------------------------------- */

static void test_nul_bytes(void **state)
{
	(void)state;
	struct sip_msg *m = new_msg();
	static const char in_hdr[] = "OPTIONS sip:b@example.com SIP/2.0\r\n"
				     "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1\r\n"
				     "Max-Forwards: 70\r\n"
				     "From: <sip:a@example.com>;tag=1\r\n"
				     "To: <sip:b@example.com>\r\n"
				     "Call-ID: nul1\r\n"
				     "CSeq: 1 OPTIONS\r\n"
				     "Subject: a\0b\r\n"
				     "Content-Length: 0\r\n\r\n";
	expect_err_n(m, in_hdr, sizeof(in_hdr) - 1, NULL, SIP_ERR_HEADER_SYNTAX, SIP_HDR_SUBJECT,
		     "Subject");

	static const char in_callid[] = "OPTIONS sip:b@example.com SIP/2.0\r\n"
					"Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1\r\n"
					"Max-Forwards: 70\r\n"
					"From: <sip:a@example.com>;tag=1\r\n"
					"To: <sip:b@example.com>\r\n"
					"Call-ID: nul\0hidden\r\n"
					"CSeq: 1 OPTIONS\r\n"
					"Content-Length: 0\r\n\r\n";
	expect_err_n(m, in_callid, sizeof(in_callid) - 1, NULL, SIP_ERR_HEADER_SYNTAX,
		     SIP_HDR_CALL_ID, "Call-ID");

	static const char in_name[] = "OPTIONS sip:b@example.com SIP/2.0\r\n"
				      "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1\r\n"
				      "Max-Forwards: 70\r\n"
				      "From: <sip:a@example.com>;tag=1\r\n"
				      "To: <sip:b@example.com>\r\n"
				      "Call-ID: nul1\r\n"
				      "CSeq: 1 OPTIONS\r\n"
				      "X-\0Evil: x\r\n"
				      "Content-Length: 0\r\n\r\n";
	expect_err_n(m, in_name, sizeof(in_name) - 1, NULL, SIP_ERR_HEADER_SYNTAX, -1, NULL);

	static const char in_start[] = "OPTIONS sip:b@exa\0mple.com SIP/2.0\r\n"
				       "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1\r\n"
				       "Max-Forwards: 70\r\n"
				       "From: <sip:a@example.com>;tag=1\r\n"
				       "To: <sip:b@example.com>\r\n"
				       "Call-ID: nul1\r\n"
				       "CSeq: 1 OPTIONS\r\n\r\n";
	assert_true(parse_lim(m, in_start, sizeof(in_start) - 1, NULL) < 0);

	static const char in_body[] = "MESSAGE sip:b@example.com SIP/2.0\r\n"
				      "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1\r\n"
				      "Max-Forwards: 70\r\n"
				      "From: <sip:a@example.com>;tag=1\r\n"
				      "To: <sip:b@example.com>\r\n"
				      "Call-ID: nul1\r\n"
				      "CSeq: 1 MESSAGE\r\n"
				      "Content-Type: application/octet-stream\r\n"
				      "Content-Length: 7\r\n\r\n"
				      "a\0b\0\0\r\n";
	must_parse_n(m, in_body, sizeof(in_body) - 1);
	assert_int_equal(m->body.len, 7);
	assert_memory_equal(m->buf + m->body.off, "a\0b\0\0\r\n", 7);
}

/*
 * RFC 3261 25.1: quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F), so a NUL is
 * legal as the byte a quoted-pair escapes inside a quoted-string (RFC 4475
 * 3.1.1.2, intmeth: To: "BEL:\<07> NUL:\<00> DEL:\<7F>" <sip:...>). Anywhere
 * else in a header line it is not: outside the quotes, unescaped inside them,
 * after a '\' outside quotes, and in headers whose grammar has no quoted-string
 * (Call-ID, where '"' and '\' are plain word bytes; an unknown header).
 */
static void test_nul_in_quoted_pair(void **state)
{
	(void)state;
	struct sip_msg *m = new_msg();
#define QP_HEAD                                                                                    \
	"OPTIONS sip:b@example.com SIP/2.0\r\n"                                                    \
	"Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1\r\n"                                           \
	"Max-Forwards: 70\r\n"                                                                     \
	"From: <sip:a@example.com>;tag=1\r\n"                                                      \
	"CSeq: 1 OPTIONS\r\n"
	static const char ok_to[] =
	    QP_HEAD "Call-ID: qp1\r\n"
		    "To: \"BEL:\\\a NUL:\\\0 DEL:\\\x7f\" <sip:b@example.com>\r\n"
		    "Content-Length: 0\r\n\r\n";
	must_parse_n(m, ok_to, sizeof(ok_to) - 1);
	assert_int_equal(m->to.display.len, 20);
	assert_memory_equal(m->buf + m->to.display.off, "BEL:\\\a NUL:\\\0 DEL:\\\x7f", 20);
	assert_view(m, m->to.uri.host, "example.com");

	/* folded, in a Contact parameter's quoted value, after an escaped '"' */
	static const char ok_contact[] = QP_HEAD "Call-ID: qp2\r\n"
						 "To: <sip:b@example.com>\r\n"
						 "Contact: \"a\\\"\r\n \\\0\" <sip:c@example.com>"
						 ";x=\"\\\0\"\r\n"
						 "Content-Length: 0\r\n\r\n";
	must_parse_n(m, ok_contact, sizeof(ok_contact) - 1);
	assert_int_equal(m->ncontacts, 1);
	assert_view(m, m->contacts[0].uri.host, "example.com");

	static const char bare[] = QP_HEAD "Call-ID: qp3\r\n"
					   "To: \"a\0\" <sip:b@example.com>\r\n"
					   "Content-Length: 0\r\n\r\n";
	expect_err_n(m, bare, sizeof(bare) - 1, NULL, SIP_ERR_HEADER_SYNTAX, SIP_HDR_TO, "NUL");

	static const char unquoted[] = QP_HEAD "Call-ID: qp4\r\n"
					       "To: a\\\0 <sip:b@example.com>\r\n"
					       "Content-Length: 0\r\n\r\n";
	expect_err_n(m, unquoted, sizeof(unquoted) - 1, NULL, SIP_ERR_HEADER_SYNTAX, SIP_HDR_TO,
		     "NUL");

	/* '\"' does not close the string, so the NUL after it is unescaped */
	static const char after_esc[] = QP_HEAD "Call-ID: qp5\r\n"
						"To: \"a\\\"\0\" <sip:b@example.com>\r\n"
						"Content-Length: 0\r\n\r\n";
	expect_err_n(m, after_esc, sizeof(after_esc) - 1, NULL, SIP_ERR_HEADER_SYNTAX, SIP_HDR_TO,
		     "NUL");

	/* a legal NUL does not hide a CR without LF later in the line */
	static const char lone_cr[] = QP_HEAD "Call-ID: qp6\r\n"
					      "To: \"\\\0\" <sip:b@example.com>;x=1\ry\r\n"
					      "Content-Length: 0\r\n\r\n";
	expect_err_n(m, lone_cr, sizeof(lone_cr) - 1, NULL, SIP_ERR_HEADER_SYNTAX, SIP_HDR_TO,
		     "CR without LF");

	/* nor in a tag or a branch, which are tokens, even written quoted */
#define QP_PARAMS(branch, tag, call_id)                                                            \
	"OPTIONS sip:b@example.com SIP/2.0\r\n"                                                    \
	"Via: SIP/2.0/UDP 192.0.2.4;branch" branch "\r\n"                                          \
	"Max-Forwards: 70\r\n"                                                                     \
	"From: <sip:a@example.com>;tag=" tag "\r\n"                                                \
	"CSeq: 1 OPTIONS\r\nCall-ID: " call_id "\r\n"                                              \
	"To: <sip:b@example.com>\r\nContent-Length: 0\r\n\r\n"
	static const char tag[] = QP_PARAMS("=z9hG4bK1", "\"a\\\0b\"", "qp8");
	expect_err_n(m, tag, sizeof(tag) - 1, NULL, SIP_ERR_BAD_VALUE, SIP_HDR_FROM, "From");
	static const char branch[] = QP_PARAMS("=\"z9hG4bK\\\0\"", "1", "qp9");
	expect_err_n(m, branch, sizeof(branch) - 1, NULL, SIP_ERR_BAD_VALUE, SIP_HDR_VIA, "Via");
	/* and a branch without a value is no NUL (the check once read through a
	 * NULL value: fuzz_sip's UBSan build) */
	static const char bare_branch[] = QP_PARAMS("", "1", "qp10");
	must_parse_n(m, bare_branch, sizeof(bare_branch) - 1);
	assert_int_equal(m->vias[0].branch.len, 0);
#undef QP_PARAMS

	static const char callid[] = QP_HEAD "Call-ID: \"\\\0\"@x\r\n"
					     "To: <sip:b@example.com>\r\n"
					     "Content-Length: 0\r\n\r\n";
	expect_err_n(m, callid, sizeof(callid) - 1, NULL, SIP_ERR_HEADER_SYNTAX, SIP_HDR_CALL_ID,
		     "Call-ID");

	static const char unknown[] = QP_HEAD "Call-ID: qp7\r\n"
					      "To: <sip:b@example.com>\r\n"
					      "X-Name: \"\\\0\" <sip:c@example.com>\r\n"
					      "Content-Length: 0\r\n\r\n";
	expect_err_n(m, unknown, sizeof(unknown) - 1, NULL, SIP_ERR_HEADER_SYNTAX, SIP_HDR_OTHER,
		     "X-Name");
#undef QP_HEAD
}

/* ---- sip_strerror ------------------------------------------------------- */

/*
 * A Via's branch and an address's tag are read in one load when written
 * ";branch=" / ";tag=" then a plain value. Every other spelling must reach the
 * same views the long way: any case, quoted values, LWS, a repeated parameter
 * (the last one wins), a name that only starts alike, a value at the very end
 * of the line, and a control byte where OR 0x20 would make a ';'.
 */
static void test_branch_and_tag_spellings(void **state)
{
	(void)state;
	struct sip_msg *m = new_msg();
	char buf[1024];
	static const struct {
		const char *via_params, *branch;
		const char *from_params, *tag;
	} cases[] = {
	    {";branch=z9hG4bK1", "z9hG4bK1", ";tag=a1", "a1"},
	    {";BRANCH=z9hG4bK2", "z9hG4bK2", ";TAG=a2", "a2"},
	    {";Branch=z9hG4bK3;rport", "z9hG4bK3", ";Tag=a3;x=y", "a3"},
	    {";branch=\"z9hG4bK4\"", "\"z9hG4bK4\"", ";tag=\"a4\"", "\"a4\""},
	    {" ; branch = z9hG4bK5", "z9hG4bK5", " ; tag = a5", "a5"},
	    {";branch= z9hG4bK6", "z9hG4bK6", ";tag= a6", "a6"},
	    {";branch=one;branch=z9hG4bK7", "z9hG4bK7", ";tag=one;tag=a7", "a7"},
	    {";rport;branch=z9hG4bK8", "z9hG4bK8", ";x;tag=a8", "a8"},
	    {";branchx=no;branch=z9hG4bK9", "z9hG4bK9", ";tagx=no;tag=a9", "a9"},
	    {";branch=z", "z", ";tag=z", "z"},
	    {";branch=[::1]", "[::1]", ";tag=[::2]", "[::2]"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(buf, sizeof(buf),
			 "BYE sip:b@example.com SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 192.0.2.4%s\r\n"
			 "Max-Forwards: 70\r\n"
			 "From: <sip:a@example.com>%s\r\n"
			 "To: <sip:b@example.com>\r\n"
			 "Call-ID: x1\r\n"
			 "CSeq: 1 BYE\r\n\r\n",
			 cases[i].via_params, cases[i].from_params);
		must_parse(m, buf);
		assert_view(m, m->vias[0].branch, cases[i].branch);
		assert_view(m, m->from.tag, cases[i].tag);
		assert_true(m->from.has_tag);
		assert_false(m->to.has_tag);
	}

	/* An empty value is an error on either path. */
	static const char *const empty[] = {";branch=", ";branch=;rport", ";BRANCH= "};
	for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
		snprintf(buf, sizeof(buf),
			 "BYE sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.4%s\r\n%s"
			 "CSeq: 1 BYE\r\n\r\n",
			 empty[i], req_tail);
		expect_err(m, buf, SIP_ERR_BAD_VALUE, SIP_HDR_VIA, "Via");
	}
	snprintf(buf, sizeof(buf),
		 "BYE sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1\r\n"
		 "Max-Forwards: 70\r\nFrom: <sip:a@example.com>;tag=;x=yy\r\n"
		 "To: <sip:b@example.com>\r\nCall-ID: x1\r\nCSeq: 1 BYE\r\n\r\n");
	expect_err(m, buf, SIP_ERR_BAD_VALUE, SIP_HDR_FROM, "From");

	/* ESC | 0x20 is ';': a control byte before the name is no separator. */
	snprintf(buf, sizeof(buf),
		 "BYE sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.4\x1b"
		 "branch=z9hG4bK1\r\n%sCSeq: 1 BYE\r\n\r\n",
		 req_tail);
	assert_int_not_equal(parse_lim(m, buf, strlen(buf), NULL), 0);
	assert_int_equal(m->vias[0].branch.len, 0);
}

/*
 * lex_span_alnum reads sixteen bytes a step, up to a limit that may lie past
 * the end of the run it is asked for: it must stop where the byte loop over
 * LEX_ALNUM_DOT stops, for every byte at every place in and around a step,
 * and never at or past end.
 */
static void test_span_alnum_is_alnum_dot_class(void **state)
{
	(void)state;
	char buf[80];
	for (int b = 0; b < 256; b++) {
		for (size_t k = 0; k < 48; k++) {
			for (size_t i = 0; i < sizeof(buf); i++)
				buf[i] = "a7Z.-q"[i % 6];
			buf[k] = (char)b;
			for (size_t end = 0; end <= 48; end += 1) {
				const char *want = lex_span(buf, buf + end, LEX_ALNUM_DOT);
				const char *tight = lex_span_alnum(buf, buf + end, buf + end);
				const char *wide =
				    lex_span_alnum(buf, buf + end, buf + sizeof(buf));
				if (tight != want || wide != want) {
					print_error(
					    "byte 0x%02x at %zu, end %zu: byte loop stops at "
					    "%td, limit end at %td, limit +%zu at %td\n",
					    b, k, end, want - buf, tight - buf, sizeof(buf) - end,
					    wide - buf);
					fail();
				}
			}
		}
	}
}

/* value: len bytes of pattern, repeated, with c at k. */
static void value_with(char *value, size_t len, const char *pattern, size_t k, char c)
{
	for (size_t i = 0; i < len; i++)
		value[i] = pattern[i % strlen(pattern)];
	value[len] = 0;
	value[k] = c;
}

/* A BYE with this Via branch, From tag (";tag=1" when NULL) and Call-ID. */
static void bye_with(char *buf, size_t cap, const char *branch, const char *tag,
		     const char *call_id)
{
	snprintf(buf, cap,
		 "BYE sip:b@example.com SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 192.0.2.4;branch=%s\r\n"
		 "Max-Forwards: 70\r\n"
		 "From: <sip:a@example.com>;tag=%s\r\n"
		 "To: <sip:b@example.com>;tag=%s;x=1\r\n"
		 "Call-ID: %s\r\nCSeq: 1 BYE\r\n\r\n",
		 branch, tag ? tag : "1", tag ? tag : "2", call_id);
}

/*
 * Branches, tags and Call-IDs are read a sixteen-byte step at a time while
 * letters, digits, '-' and '.' last, then a byte at a time: each byte their
 * grammar allows (or refuses) must be taken (or refused) wherever it falls,
 * before, on and after a step's edge.
 */
static void test_long_values_any_byte_anywhere(void **state)
{
	(void)state;
	struct sip_msg *m = new_msg();
	static const char pval_extra[] = "!%*_+`'~:"; /* token and ':' (RFC 3261 gen-value) */
	static const char word_extra[] = "!%*_+`'~()<>:\\\"/[]?{}";
	static const char refused[] = "@,\"</"; /* not in a branch; some are word bytes */
	char buf[1024], value[48], call_id[100];
	for (size_t len = 1; len <= 40; len++) {
		for (size_t k = 0; k < len; k++) {
			for (const char *c = pval_extra; *c; c++) {
				value_with(value, len, "z9hG4bK-0.x", k, *c);
				bye_with(buf, sizeof(buf), value, value, "x1");
				must_parse(m, buf);
				assert_view(m, m->vias[0].branch, value);
				assert_view(m, m->from.tag, value);
				assert_view(m, m->to.tag, value);
			}
			for (const char *c = word_extra; *c; c++) {
				value_with(value, len, "3c26700e8a.f4b-", k, *c);
				snprintf(call_id, sizeof(call_id), "%s@%s", value, value);
				bye_with(buf, sizeof(buf), "z9hG4bK1", NULL, call_id);
				must_parse(m, buf);
				assert_view(m, m->call_id, call_id);
			}
			for (const char *c = refused; *c; c++) {
				value_with(value, len, "z9hG4bK-0.x", k, *c);
				bye_with(buf, sizeof(buf), value, NULL, "x1");
				expect_err(m, buf, SIP_ERR_BAD_VALUE, SIP_HDR_VIA, "Via");
				snprintf(call_id, sizeof(call_id), "x%s", value);
				bye_with(buf, sizeof(buf), "z9hG4bK1", NULL, call_id);
				if (strchr(word_extra, *c) || (*c == '@' && k + 1 < len)) {
					/* a word byte, or an '@' with a word after it */
					must_parse(m, buf);
					continue;
				}
				expect_err(m, buf, SIP_ERR_BAD_VALUE, SIP_HDR_CALL_ID, "Call-ID");
			}
		}
	}
}

static void test_strerror(void **state)
{
	(void)state;
	struct sip_msg *m = new_msg();
	char src[2048];
	snprintf(src, sizeof(src), "%sCall-ID: second\r\n\r\n", dup_base);
	assert_int_equal(parse_lim(m, src, strlen(src), NULL), -SIP_ERR_DUPLICATE_HEADER);
	char out[256];
	size_t n = sip_strerror(m, out, sizeof(out));
	assert_int_equal(n, strlen(out));
	assert_true(strncmp(out, "Call-ID", 7) == 0);
	assert_view(m, m->err_name, "Call-ID");

	/* Small buffers: always NUL-terminated, never written past cap. */
	for (size_t cap = 1; cap < n + 2; cap++) {
		memset(out, 0x5A, sizeof(out));
		size_t k = sip_strerror(m, out, cap);
		assert_true(k < cap);
		assert_int_equal(strlen(out), k);
		for (size_t i = cap; i < sizeof(out); i++)
			assert_int_equal((unsigned char)out[i], 0x5A);
	}
	/* A valid message's text is not an error text but still a string. */
	must_parse(m, bye);
	out[0] = 'x';
	n = sip_strerror(m, out, sizeof(out));
	assert_int_equal(n, strlen(out));
}

/* ---- bounded reads ------------------------------------------------------ */

/*
 * Parses every prefix of msg from a heap buffer of exactly that size: the ASan
 * build reports any byte read past it. A message with a Content-Length > 0 or
 * ending in the empty line is invalid at every shorter length; once the
 * header block is complete, the error is a truncated body.
 */
static void parse_every_prefix(const char *msg, size_t len)
{
	static const char empty[1];
	struct sip_msg *m = new_msg();
	const char *eoh = strstr(msg, "\r\n\r\n");
	assert_non_null(eoh);
	size_t hdr_len = (size_t)(eoh - msg) + 4;
	for (size_t i = 0; i <= len; i++) {
		char *p = malloc(i);
		const char *in = p ? p : empty; /* malloc(0) may return NULL */
		if (i)
			assert_non_null(p);
		memcpy(p ? p : (char *)empty, msg, i);
		int rc = parse_lim(m, in, i, NULL);
		if (i == len) {
			if (rc != 0)
				fail_msg("full message failed: %d", rc);
		} else {
			if (rc == 0)
				fail_msg("prefix of %zu/%zu bytes parsed as valid", i, len);
			assert_int_equal(m->err, -rc);
			if (i >= hdr_len && rc != -SIP_ERR_BODY_TRUNCATED)
				fail_msg("prefix of %zu/%zu bytes (headers %zu): %d, want "
					 "BODY_TRUNCATED",
					 i, len, hdr_len, rc);
		}
		char why[128];
		sip_strerror(m, why, sizeof(why));
		free(p);
	}
}

static void test_truncated_everywhere(void **state)
{
	(void)state;
	parse_every_prefix(invite_sdp, sizeof(invite_sdp) - 1);
	parse_every_prefix(bye, sizeof(bye) - 1);
	parse_every_prefix(ok200, sizeof(ok200) - 1);
	static const char compact[] = "INVITE sips:[2001:db8::1]:5061;transport=tls SIP/2.0\r\n"
				      "v: SIP/2.0/TLS [2001:db8::2]:5061;branch=z9hG4bK9;rport\r\n"
				      "Max-Forwards: 70\r\n"
				      "t: \"B \\\"b\\\"\" <sips:b@[2001:db8::1]>\r\n"
				      "f: <sips:a@example.com>;tag=9\r\n"
				      "i: trunc\r\n"
				      "CSeq: 1\r\n INVITE\r\n"
				      "m: <sips:a@[2001:db8::2]:5061>;expires=60\r\n"
				      "Route: <sip:r;lr>, <sip:s;lr>\r\n"
				      "RAck: 1 1 INVITE\r\n"
				      "RSeq: 5\r\n"
				      "x: 90\r\n"
				      "r: <sip:c@d?x=y>\r\n"
				      /* names looked up byte-wise, with 8 or more bytes
				       * left and with fewer */
				      "Reason : Q.850;cause=16\r\n"
				      "Xy :z\r\n"
				      "l: 3\r\n\r\nabc";
	parse_every_prefix(compact, sizeof(compact) - 1);

	/* Without Content-Length, any prefix that holds the empty line is valid. */
	static const char nocl[] = "MESSAGE sip:b@example.com SIP/2.0\r\n"
				   "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1\r\n"
				   "Max-Forwards: 70\r\n"
				   "From: <sip:a@example.com>;tag=1\r\n"
				   "To: <sip:b@example.com>\r\n"
				   "Call-ID: nocl\r\n"
				   "CSeq: 1 MESSAGE\r\n\r\n"
				   "hello";
	struct sip_msg *m = new_msg();
	size_t hdr_len = strlen(nocl) - 5;
	for (size_t i = 1; i <= sizeof(nocl) - 1; i++) {
		char *p = malloc(i);
		assert_non_null(p);
		memcpy(p, nocl, i);
		int rc = parse_lim(m, p, i, NULL);
		if (i >= hdr_len) {
			assert_int_equal(rc, 0);
			assert_int_equal(m->body.len, i - hdr_len);
		} else {
			assert_true(rc < 0);
		}
		free(p);
	}
}

/* Regressions found by fuzzing the faster lookup: a name that shares a table
 * bucket with another is not mistaken for it, and a CR never matches '-'. */
static void test_hdr_lookup_no_false_matches(void **state)
{
	(void)state;
	assert_int_equal(sip_hdr_lookup("Soute", 5), SIP_HDR_OTHER);
	assert_int_equal(sip_hdr_lookup("Call\rID", 7), SIP_HDR_OTHER);
	assert_int_equal(sip_hdr_lookup("Route", 5), SIP_HDR_ROUTE);
	assert_int_equal(sip_hdr_lookup("Call-ID", 7), SIP_HDR_CALL_ID);
}

/* RAck's first number echoes an RSeq, which RFC 3262 lets run to 2^32-1. */
static void test_rack_full_range(void **state)
{
	(void)state;
	struct sip_msg *m = new_msg();
	must_parse(m, "PRACK sip:b@example.com SIP/2.0\r\n"
		      "Via: SIP/2.0/UDP h.example.com;branch=z9hG4bK1\r\n"
		      "Max-Forwards: 70\r\nFrom: <sip:a@example.com>;tag=1\r\n"
		      "To: <sip:b@example.com>;tag=2\r\nCall-ID: c@h\r\nCSeq: 3 PRACK\r\n"
		      "RAck: 4294967295 2 INVITE\r\nContent-Length: 0\r\n\r\n");
	assert_true(m->has_rack);
	assert_int_equal(m->rack.rseq, 4294967295u);
	assert_int_equal(m->rack.cseq, 2);
}

/* A token with parameters (Event, Subscription-State): LWS around ';' and '=',
 * a parameter without a value, names without case, and what is not one. */
/* Replaces (RFC 3891 6.1) and Join (RFC 3911 7.1) values: the Call-ID with
 * its '@', both tags exactly once, early-only, other parameters kept by the
 * rewrite. */
static void test_dialog_ref(void **state)
{
	(void)state;
	struct sip_dialog_ref r;
	char out[128];
	static const char v[] = "98732@sip.example.com ;from-tag=r33th4x0r; to-tag=ff87ff;"
				"early-only;x=\"1;2\"";
	assert_int_equal(sip_dialog_ref_parse(v, (sip_view){0, sizeof(v) - 1}, &r), 0);
	assert_true(sip_view_eq(v, r.call_id, "98732@sip.example.com", 21));
	assert_true(sip_view_eq(v, r.to_tag, "ff87ff", 6));
	assert_true(sip_view_eq(v, r.from_tag, "r33th4x0r", 9));
	assert_true(r.early_only);
	assert_int_equal(sip_dialog_ref_write(v, &r, "c@h", "t", "f", out, sizeof(out)),
			 (int)strlen("c@h;to-tag=t;from-tag=f;early-only;x=\"1;2\""));
	assert_string_equal(out, "c@h;to-tag=t;from-tag=f;early-only;x=\"1;2\"");
	assert_int_equal(sip_dialog_ref_write(v, &r, "c@h", "t", "f", out, 10), -ENOSPC);
	static const char *const bad[] = {
	    "",
	    "abc;to-tag=1",			/* no from-tag */
	    "abc;to-tag=1;from-tag=2;to-tag=3", /* a tag twice */
	    "abc@;to-tag=1;from-tag=2",		/* nothing after '@' */
	    ";to-tag=1;from-tag=2",		/* no Call-ID */
	    "abc;to-tag=1;from-tag=2 junk",
	    "abc;to-tag=1;from-tag=2;to-tag", /* a tag without a value */
	    "abc;to-tag=1;From-Tag;from-tag=2",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(
		    sip_dialog_ref_parse(bad[i], (sip_view){0, (uint16_t)strlen(bad[i])}, &r),
		    -SIP_ERR_BAD_VALUE);
	/* the parser knows the names: the worker looks them up in m->first */
	assert_int_equal(sip_hdr_lookup("replaces", 8), SIP_HDR_REPLACES);
	assert_int_equal(sip_hdr_lookup("JOIN", 4), SIP_HDR_JOIN);
}

static void test_token_params(void **state)
{
	(void)state;
	static const char v[] = "refer ; Id = 17;x;id2=3";
	sip_view tok, val;

	assert_int_equal(sip_token_params(v, (sip_view){0, sizeof(v) - 1}, "id", &tok, &val), 0);
	assert_true(sip_view_eq(v, tok, "refer", 5));
	assert_true(sip_view_eq(v, val, "17", 2));
	assert_int_equal(sip_token_params(v, (sip_view){0, sizeof(v) - 1}, "x", &tok, &val), 0);
	assert_int_equal(val.len, 0); /* present without a value */
	assert_int_equal(sip_token_params(v, (sip_view){0, 5}, NULL, &tok, &val), 0);
	assert_true(sip_view_eq(v, tok, "refer", 5));
	static const char bad1[] = "refer;=5", bad2[] = ";id=5", bad3[] = "refer id=5";
	assert_int_equal(sip_token_params(bad1, (sip_view){0, 8}, "id", &tok, &val),
			 -SIP_ERR_BAD_VALUE);
	assert_int_equal(sip_token_params(bad2, (sip_view){0, 5}, "id", &tok, &val),
			 -SIP_ERR_BAD_VALUE);
	assert_int_equal(sip_token_params(bad3, (sip_view){0, 10}, "id", &tok, &val),
			 -SIP_ERR_BAD_VALUE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_hdr_lookup_compact_forms, teardown),
	    cmocka_unit_test(test_token_params),
	    cmocka_unit_test(test_dialog_ref),
	    cmocka_unit_test(test_is_token),
	    cmocka_unit_test(test_span_alnum_is_alnum_dot_class),
	    cmocka_unit_test_teardown(test_long_values_any_byte_anywhere, teardown),
	    cmocka_unit_test_teardown(test_hdr_lookup_no_false_matches, teardown),
	    cmocka_unit_test_teardown(test_rack_full_range, teardown),
	    cmocka_unit_test_teardown(test_hdr_lookup_long_names, teardown),
	    cmocka_unit_test_teardown(test_method_lookup, teardown),
	    cmocka_unit_test_teardown(test_reason_and_err_names, teardown),
	    cmocka_unit_test_teardown(test_view_eq, teardown),
	    cmocka_unit_test_teardown(test_request_basic, teardown),
	    cmocka_unit_test_teardown(test_response_basic, teardown),
	    cmocka_unit_test_teardown(test_response_reason_phrases, teardown),
	    cmocka_unit_test_teardown(test_bad_status_lines, teardown),
	    cmocka_unit_test_teardown(test_versions, teardown),
	    cmocka_unit_test_teardown(test_bad_request_lines, teardown),
	    cmocka_unit_test_teardown(test_extension_method, teardown),
	    cmocka_unit_test_teardown(test_header_order_and_lines, teardown),
	    cmocka_unit_test_teardown(test_header_whitespace_and_case, teardown),
	    cmocka_unit_test_teardown(test_value_bounds_at_colon_and_eol, teardown),
	    cmocka_unit_test_teardown(test_compact_forms_in_message, teardown),
	    cmocka_unit_test_teardown(test_folding, teardown),
	    cmocka_unit_test_teardown(test_fold_without_header, teardown),
	    cmocka_unit_test_teardown(test_bad_header_lines, teardown),
	    cmocka_unit_test_teardown(test_comma_lists_vs_lines, teardown),
	    cmocka_unit_test_teardown(test_option_tags, teardown),
	    cmocka_unit_test_teardown(test_hdr_lines, teardown),
	    cmocka_unit_test_teardown(test_hdr_delta_seconds, teardown),
	    cmocka_unit_test_teardown(test_call_id, teardown),
	    cmocka_unit_test_teardown(test_from_to, teardown),
	    cmocka_unit_test_teardown(test_user_part_hash, teardown),
	    cmocka_unit_test_teardown(test_bad_from_to, teardown),
	    cmocka_unit_test_teardown(test_cseq, teardown),
	    cmocka_unit_test_teardown(test_via_fields, teardown),
	    cmocka_unit_test_teardown(test_bad_vias, teardown),
	    cmocka_unit_test_teardown(test_via_ipv6_references, teardown),
	    cmocka_unit_test_teardown(test_many_vias, teardown),
	    cmocka_unit_test_teardown(test_too_many_values, teardown),
	    cmocka_unit_test_teardown(test_max_forwards, teardown),
	    cmocka_unit_test_teardown(test_content_length_and_type, teardown),
	    cmocka_unit_test_teardown(test_route_record_route, teardown),
	    cmocka_unit_test_teardown(test_contact, teardown),
	    cmocka_unit_test_teardown(test_reliable_provisional, teardown),
	    cmocka_unit_test_teardown(test_refer_event_timers, teardown),
	    cmocka_unit_test_teardown(test_default_limits, teardown),
	    cmocka_unit_test_teardown(test_thousand_headers, teardown),
	    cmocka_unit_test_teardown(test_big_datagram, teardown),
	    cmocka_unit_test_teardown(test_line_and_uri_limits, teardown),
	    cmocka_unit_test_teardown(test_too_short, teardown),
	    cmocka_unit_test_teardown(test_duplicate_headers, teardown),
	    cmocka_unit_test_teardown(test_missing_headers, teardown),
	    cmocka_unit_test_teardown(test_nul_bytes, teardown),
	    cmocka_unit_test_teardown(test_nul_in_quoted_pair, teardown),
	    cmocka_unit_test_teardown(test_branch_and_tag_spellings, teardown),
	    cmocka_unit_test_teardown(test_strerror, teardown),
	    cmocka_unit_test_teardown(test_truncated_everywhere, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
