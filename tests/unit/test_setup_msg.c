/*
 * test_setup_msg.c - the controller's call-setup datagrams hide each leg's
 * topology (the fields strip_headers names too) and stay valid SIP.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/setup_msg.h"

static const char invite_a[] = "INVITE sip:bob@sbc.example.com SIP/2.0\r\n"
			       "Via: SIP/2.0/UDP 192.0.2.10:5061;branch=z9hG4bKcaller1;rport\r\n"
			       "Via: SIP/2.0/UDP 192.0.2.99:5070;branch=z9hG4bKedge\r\n"
			       "Max-Forwards: 70\r\n"
			       "Record-Route: <sip:192.0.2.99:5070;lr>\r\n"
			       "From: \"Alice\" <sip:alice@192.0.2.10:5061>;tag=atag1\r\n"
			       "To: <sip:bob@sbc.example.com>\r\n"
			       "Call-ID: callerid-123@192.0.2.10\r\n"
			       "CSeq: 7 INVITE\r\n"
			       "Contact: <sip:alice@192.0.2.10:5061>\r\n"
			       "Content-Type: application/sdp\r\n"
			       "Content-Length: 4\r\n"
			       "\r\n"
			       "v=0\n";

static const struct setup_leg_b leg_b = {
    .advertise = "127.0.0.1:5060",
    .target = "127.0.0.1:5080",
    .call_id = "legb-abc",
    .from_tag = "ftagB",
    .branch = "z9hG4bKscB1",
    .max_forwards = 69,
    .cseq = 1,
};

static struct sip_msg a, b, r;
static char out[4096], out2[4096];

/* View v of the datagram in out holds the string literal lit, whose length
 * the compiler counts. */
#define assert_out_view(v, lit) assert_true(sip_view_eq(out, (v), (lit), sizeof(lit) - 1))

static void parse_ok(struct sip_msg *m, const char *s, size_t n)
{
	int rc = sip_parse(m, s, n, NULL);
	char why[200];
	sip_strerror(m, why, sizeof(why));
	if (rc)
		fail_msg("parse failed: %s\n%.*s", why, (int)n, s);
}

static void test_invite_hides_caller(void **state)
{
	(void)state;
	parse_ok(&a, invite_a, sizeof(invite_a) - 1);
	int n = setup_build_invite(&a, &leg_b, out, sizeof(out));
	assert_true(n > 0);
	parse_ok(&b, out, (size_t)n);
	/* nothing of the caller's topology or dialog identifiers */
	assert_null(memmem(out, (size_t)n, "192.0.2", 7));
	assert_null(memmem(out, (size_t)n, "callerid-123", 12));
	assert_null(memmem(out, (size_t)n, "atag1", 5));
	assert_null(memmem(out, (size_t)n, "z9hG4bKcaller1", 14));
	assert_int_equal(b.nvias, 1);
	assert_out_view(b.vias[0].branch, "z9hG4bKscB1");
	assert_out_view(b.call_id, "legb-abc");
	assert_out_view(b.from.tag, "ftagB");
	assert_false(b.to.has_tag);
	assert_int_equal(b.cseq.num, 1);
	assert_int_equal(b.max_forwards, 69);
	assert_int_equal(b.nrecord_routes, 0);
	assert_out_view(b.ruri.user, "bob");
	assert_int_equal(b.ruri.port, 5080);
	assert_int_equal(b.body.len, 4);
	assert_memory_equal(out + b.body.off, "v=0\n", 4);
}

/* Leg B's INVITE built from a under rb into out, and parsed into b; its length. */
static int build_b(const struct setup_leg_b *rb)
{
	int n = setup_build_invite(&a, rb, out, sizeof(out));
	assert_true(n > 0);
	parse_ok(&b, out, (size_t)n);
	return n;
}

/* A route's rewritten user stands in the Request-URI and To; From keeps the
 * caller's; an empty one leaves the URIs without a user part. */
static void test_invite_rewritten_user(void **state)
{
	(void)state;
	struct setup_leg_b rb = leg_b;
	parse_ok(&a, invite_a, sizeof(invite_a) - 1);
	rb.user = "0044bob";
	build_b(&rb);
	assert_out_view(b.ruri.whole, "sip:0044bob@127.0.0.1:5080");
	assert_out_view(b.to.uri.whole, "sip:0044bob@127.0.0.1:5080");
	assert_out_view(b.from.uri.user, "alice");
	rb.user = "";
	build_b(&rb);
	assert_out_view(b.ruri.whole, "sip:127.0.0.1:5080");
	assert_out_view(b.to.uri.whole, "sip:127.0.0.1:5080");
}

/* A '#' the caller wrote bare (the parser takes it; Teams Direct Routing
 * sends "sip:#123@...") goes to the callee as RFC 3261 25.1 writes it, %23,
 * in the Request-URI, To and From, and in a route's rewritten user. */
static void test_invite_user_hash_escaped(void **state)
{
	static const char hashed[] = "INVITE sip:#31#123@sbc.example SIP/2.0\r\n"
				     "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKa1\r\n"
				     "Max-Forwards: 70\r\n"
				     "From: <sip:*97#@10.0.0.1>;tag=at\r\n"
				     "To: <sip:#31#123@sbc.example>\r\n"
				     "Call-ID: c1@10.0.0.1\r\n"
				     "CSeq: 1 INVITE\r\n"
				     "Content-Length: 0\r\n\r\n";
	struct setup_leg_b rb = leg_b;
	(void)state;

	parse_ok(&a, hashed, sizeof(hashed) - 1);
	int n = build_b(&rb);
	assert_null(memchr(out, '#', (size_t)n));
	assert_out_view(b.ruri.user, "%2331%23123");
	assert_out_view(b.to.uri.user, "%2331%23123");
	assert_out_view(b.from.uri.user, "*97%23");

	rb.user = "0#1";
	build_b(&rb);
	assert_out_view(b.ruri.user, "0%231");
	assert_out_view(b.to.uri.user, "0%231");

	/* a user of 2000 '#', which the parser takes (a URI of up to max_uri
	 * bytes), is three times as long written %23: the INVITE does not fit
	 * and is refused whole (the controller answers 513), never cut */
	static char big[8192];
	char user[2001];
	memset(user, '#', 2000);
	user[2000] = '\0';
	int len = snprintf(big, sizeof(big),
			   "INVITE sip:%s@sbc.example SIP/2.0\r\n"
			   "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKa1\r\n"
			   "Max-Forwards: 70\r\nFrom: <sip:a@10.0.0.1>;tag=at\r\n"
			   "To: <sip:%s@sbc.example>\r\nCall-ID: c1@10.0.0.1\r\nCSeq: 1 INVITE\r\n"
			   "Content-Length: 0\r\n\r\n",
			   user, user);
	assert_true(len > 0 && (size_t)len < sizeof(big));
	parse_ok(&a, big, (size_t)len);
	rb = leg_b;
	static char roomy[65536]; /* not what stops it */
	assert_int_equal(setup_build_invite(&a, &rb, roomy, sizeof(roomy)), -ENOSPC);
}

/* The lines of m with header id. */
static unsigned lines_of(const struct sip_msg *m, enum sip_hdr id)
{
	unsigned n = 0;
	for (uint16_t h = 0; h < m->nhdrs; h++)
		n += m->hdrs[h].id == id;
	return n;
}

/* routes[].auth: the caller's credentials stay with it and ours go in; a
 * route without credentials passes the caller's on. */
/* The start of a caller's INVITE to sipshard, up to its own header lines. */
#define INVITE_TO_SBC                                                                              \
	"INVITE sip:bob@sbc.example SIP/2.0\r\n"                                                   \
	"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKa1\r\n"                                      \
	"Max-Forwards: 70\r\n"                                                                     \
	"From: <sip:alice@10.0.0.1>;tag=at\r\n"                                                    \
	"To: <sip:bob@sbc.example>\r\n"                                                            \
	"Call-ID: c1@10.0.0.1\r\n"                                                                 \
	"CSeq: 1 INVITE\r\n"

/* Leg B's INVITE rebuilt from the n bytes of the one in out (a failover, the
 * answer to a challenge), as the controller does: parsed into again, built
 * into out and parsed into b; its length. */
static int build_again(struct sip_msg *again, const struct setup_leg_b *rb, int n)
{
	memcpy(out2, out, (size_t)n);
	parse_ok(again, out2, (size_t)n);
	n = setup_build_invite(again, rb, out, sizeof(out));
	assert_true(n > 0);
	parse_ok(&b, out, (size_t)n);
	return n;
}

static void test_invite_credentials(void **state)
{
	static const char with_creds[] = INVITE_TO_SBC
	    "Authorization: Digest username=\"alice\", realm=\"sbc\", nonce=\"x\", "
	    "uri=\"sip:bob@sbc.example\", response=\"00\"\r\n"
	    "Proxy-Authorization: Digest username=\"alice\", realm=\"edge\", nonce=\"y\", "
	    "uri=\"sip:bob@sbc.example\", response=\"11\"\r\n"
	    "Content-Length: 0\r\n\r\n";
	(void)state;
	struct setup_leg_b rb = leg_b;
	parse_ok(&a, with_creds, sizeof(with_creds) - 1);
	int n = setup_build_invite(&a, &rb, out, sizeof(out));
	assert_true(n > 0);
	parse_ok(&b, out, (size_t)n);
	assert_int_equal(lines_of(&b, SIP_HDR_AUTHORIZATION), 1);
	assert_int_equal(lines_of(&b, SIP_HDR_PROXY_AUTHORIZATION), 1);
	rb.own_credentials = true;
	n = setup_build_invite(&a, &rb, out, sizeof(out));
	assert_true(n > 0);
	parse_ok(&b, out, (size_t)n);
	assert_int_equal(lines_of(&b, SIP_HDR_AUTHORIZATION), 0);
	assert_int_equal(lines_of(&b, SIP_HDR_PROXY_AUTHORIZATION), 0);
	rb.credentials = "Proxy-Authorization: Digest username=\"trunk7\", realm=\"c\", "
			 "nonce=\"n\", uri=\"sip:bob@127.0.0.1:5080\", response=\"22\"\r\n";
	n = setup_build_invite(&a, &rb, out, sizeof(out));
	assert_true(n > 0);
	parse_ok(&b, out, (size_t)n);
	assert_int_equal(lines_of(&b, SIP_HDR_AUTHORIZATION), 0);
	assert_int_equal(lines_of(&b, SIP_HDR_PROXY_AUTHORIZATION), 1);
	const struct sip_hdr_line *h = sip_find_hdr(&b, SIP_HDR_PROXY_AUTHORIZATION);
	assert_true(sip_view_eq(out, h->value, rb.credentials + 21, strlen(rb.credentials) - 23));
	/* rebuilt from that INVITE (a failover, or the next challenge): ours
	 * are replaced, never doubled */
	struct sip_msg again;
	n = build_again(&again, &rb, n);
	assert_int_equal(lines_of(&b, SIP_HDR_PROXY_AUTHORIZATION), 1);
	assert_int_equal(lines_of(&b, SIP_HDR_SESSION_EXPIRES), 0);

	/* timers.session_expires_s: the callee is asked for a session timer
	 * beside our credentials; rebuilt, it is not asked twice */
	rb.session_expires_s = 1800;
	n = build_again(&again, &rb, n);
	assert_int_equal(lines_of(&b, SIP_HDR_PROXY_AUTHORIZATION), 1);
	assert_int_equal(lines_of(&b, SIP_HDR_SESSION_EXPIRES), 1);
	assert_int_equal(b.session_expires_secs, 1800);
	assert_false(sip_has_option_tag(&b, SIP_HDR_SUPPORTED, "timer")); /* the callee refreshes */
	build_again(&again, &rb, n);
	assert_int_equal(lines_of(&b, SIP_HDR_SESSION_EXPIRES), 1);
}

/* timers.session_expires_s asks the callee only when the caller asked for
 * nothing: a caller's own interval goes as it is. */
/* Leg B's INVITE (into out and b, its length returned) made from the caller's
 * INVITE msg (parsed into a) with rb. */
static int build_leg_b(const char *msg, size_t len, const struct setup_leg_b *rb)
{
	parse_ok(&a, msg, len);
	int n = setup_build_invite(&a, rb, out, sizeof(out));
	assert_true(n > 0);
	parse_ok(&b, out, (size_t)n);
	return n;
}

static void test_invite_session_expires(void **state)
{
	static const char asks[] = INVITE_TO_SBC "Supported: timer\r\n"
						 "Session-Expires: 600;refresher=uac\r\n"
						 "Content-Length: 0\r\n\r\n";
	(void)state;
	struct setup_leg_b rb = leg_b;
	rb.session_expires_s = 1800;
	build_leg_b(invite_a, sizeof(invite_a) - 1, &rb);
	assert_out_view(b.session_expires, "1800");
	int n = build_leg_b(asks, sizeof(asks) - 1, &rb);
	assert_int_equal(lines_of(&b, SIP_HDR_SESSION_EXPIRES), 1);
	assert_out_view(b.session_expires, "600;refresher=uac");

	/* a caller's Min-SE above timers.session_expires_s: the callee is
	 * asked for the Min-SE (RFC 4028 8.1), and gets the Min-SE line too;
	 * one below it changes nothing */
	static const char min_se_a[] = INVITE_TO_SBC "Min-SE: 2400\r\n"
						     "Content-Length: 0\r\n\r\n";
	static const char low_min_se_a[] = INVITE_TO_SBC "Min-SE: 90\r\n"
							 "Content-Length: 0\r\n\r\n";
	build_leg_b(min_se_a, sizeof(min_se_a) - 1, &rb);
	assert_out_view(b.session_expires, "2400");
	uint32_t caller_min_se = 0;
	assert_true(sip_hdr_delta_seconds(&b, SIP_HDR_MIN_SE, &caller_min_se));
	assert_int_equal(caller_min_se, 2400);
	build_leg_b(low_min_se_a, sizeof(low_min_se_a) - 1, &rb);
	assert_out_view(b.session_expires, "1800");
	n = build_leg_b(asks, sizeof(asks) - 1, &rb);

	/* rebuilt after a 422 with Min-SE: 1800: that interval, said twice */
	struct sip_msg again;
	rb.min_se_s = 1800;
	build_again(&again, &rb, n);
	assert_int_equal(lines_of(&b, SIP_HDR_SESSION_EXPIRES), 1);
	assert_int_equal(lines_of(&b, SIP_HDR_MIN_SE), 1);
	assert_out_view(b.session_expires, "1800");
	uint32_t min_se = 0;
	assert_true(sip_hdr_delta_seconds(&b, SIP_HDR_MIN_SE, &min_se));
	assert_int_equal(min_se, 1800);
}

static void test_relay_response_hides_callee(void **state)
{
	(void)state;
	static const char ok_b[] = "SIP/2.0 200 OK\r\n"
				   "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKscB1;rport\r\n"
				   "Record-Route: <sip:198.51.100.7;lr>\r\n"
				   "From: <sip:alice@127.0.0.1:5060>;tag=ftagB\r\n"
				   "To: <sip:bob@127.0.0.1:5080>;tag=calleetag\r\n"
				   "Call-ID: legb-abc\r\n"
				   "CSeq: 1 INVITE\r\n"
				   "Contact: <sip:bob@198.51.100.7:5080>\r\n"
				   "Content-Length: 0\r\n\r\n";
	char head[SETUP_HEAD_MAX];
	parse_ok(&a, invite_a, sizeof(invite_a) - 1);
	int hl = sip_response_head(&a, "ourAtag", head, sizeof(head));
	assert_true(hl > 0);
	parse_ok(&b, ok_b, sizeof(ok_b) - 1);
	int n = setup_relay_response(&b, head, (size_t)hl, "127.0.0.1:5060", 0, NULL, out2,
				     sizeof(out2));
	assert_true(n > 0);
	parse_ok(&r, out2, (size_t)n);
	assert_int_equal(r.status, 200);
	assert_null(memmem(out2, (size_t)n, "198.51.100.7", 12));
	assert_null(memmem(out2, (size_t)n, "calleetag", 9));
	assert_null(memmem(out2, (size_t)n, "legb-abc", 8));
	assert_int_equal(r.nvias, 2);
	assert_true(sip_view_eq(out2, r.vias[0].branch, "z9hG4bKcaller1", 14));
	assert_true(sip_view_eq(out2, r.to.tag, "ourAtag", 7));
	assert_true(sip_view_eq(out2, r.from.tag, "atag1", 5));
	assert_true(sip_view_eq(out2, r.call_id, "callerid-123@192.0.2.10", 23));
	assert_int_equal(r.cseq.num, 7);
	assert_int_equal(r.ncontacts, 1);
	assert_true(sip_view_eq(out2, r.contacts[0].uri.host, "127.0.0.1", 9));
}

/* A target's 503 relayed to the caller is a 500 without the Retry-After
 * (RFC 3261 16.7 item 6), the rest of it as any final relayed: its Reason,
 * Warning and body cross, the callee's lines do not. A 500 with a
 * Retry-After keeps it: only the 503 speaks of the server. */
static void test_relay_response_503_as_500(void **state)
{
	(void)state;
	static const char busy_b[] = "SIP/2.0 503 Service Unavailable\r\n"
				     "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKscB1;rport\r\n"
				     "From: <sip:alice@127.0.0.1:5060>;tag=ftagB\r\n"
				     "To: <sip:bob@127.0.0.1:5080>;tag=calleetag\r\n"
				     "Call-ID: legb-abc\r\n"
				     "CSeq: 1 INVITE\r\n"
				     "Retry-After: 60 (overloaded);duration=30\r\n"
				     "Reason: Q.850;cause=42\r\n"
				     "Warning: 399 pbx-b \"full\"\r\n"
				     "Content-Type: text/plain\r\n"
				     "Content-Length: 4\r\n\r\nfull";
	char head[SETUP_HEAD_MAX];
	parse_ok(&a, invite_a, sizeof(invite_a) - 1);
	int hl = sip_response_head(&a, "ourAtag", head, sizeof(head));
	assert_true(hl > 0);
	parse_ok(&b, busy_b, sizeof(busy_b) - 1);
	int n = setup_relay_response(&b, head, (size_t)hl, "127.0.0.1:5060", 0, NULL, out2,
				     sizeof(out2));
	assert_true(n > 0);
	parse_ok(&r, out2, (size_t)n);
	assert_int_equal(r.status, 500);
	assert_true(sip_view_eq(out2, r.reason, "Server Internal Error", 21));
	assert_null(sip_find_hdr(&r, SIP_HDR_RETRY_AFTER));
	assert_null(memmem(out2, (size_t)n, "overloaded", 10));
	assert_non_null(memmem(out2, (size_t)n, "\r\nReason: Q.850;cause=42\r\n", 26));
	assert_non_null(memmem(out2, (size_t)n, "\r\nWarning: 399 pbx-b \"full\"\r\n", 29));
	assert_true(sip_view_eq(out2, r.body, "full", 4));
	assert_null(memmem(out2, (size_t)n, "calleetag", 9));
	assert_true(sip_view_eq(out2, r.to.tag, "ourAtag", 7));
	assert_true(sip_view_eq(out2, r.vias[0].branch, "z9hG4bKcaller1", 14));

	/* a 500 of the target's own goes as it came, Retry-After and all */
	static const char err_b[] = "SIP/2.0 500 Oops\r\n"
				    "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKscB1;rport\r\n"
				    "From: <sip:alice@127.0.0.1:5060>;tag=ftagB\r\n"
				    "To: <sip:bob@127.0.0.1:5080>;tag=calleetag\r\n"
				    "Call-ID: legb-abc\r\n"
				    "CSeq: 1 INVITE\r\n"
				    "Retry-After: 5\r\n"
				    "Content-Length: 0\r\n\r\n";
	parse_ok(&b, err_b, sizeof(err_b) - 1);
	n = setup_relay_response(&b, head, (size_t)hl, "127.0.0.1:5060", 0, NULL, out2,
				 sizeof(out2));
	assert_true(n > 0);
	parse_ok(&r, out2, (size_t)n);
	assert_int_equal(r.status, 500);
	assert_true(sip_view_eq(out2, r.reason, "Oops", 4));
	assert_non_null(sip_find_hdr(&r, SIP_HDR_RETRY_AFTER));
}

/* strip_headers at call set-up: leg B's INVITE (built again from the one
 * sent, too) and each response relayed to the caller leave out the fields it
 * names, known ones by id and extension ones by name, case ignored; the rest
 * crosses; without it (NULL) they all cross. */
static void test_strip_headers(void **state)
{
	static const char invite[] = "INVITE sip:bob@sbc.example.com SIP/2.0\r\n"
				     "Via: SIP/2.0/UDP 192.0.2.10:5061;branch=z9hG4bKcaller1\r\n"
				     "Max-Forwards: 70\r\n"
				     "From: <sip:alice@192.0.2.10:5061>;tag=atag1\r\n"
				     "To: <sip:bob@sbc.example.com>\r\n"
				     "Call-ID: callerid-123@192.0.2.10\r\n"
				     "CSeq: 7 INVITE\r\n"
				     "User-Agent: phone-a/1.0\r\n"
				     "x-internal-route: core-7\r\n"
				     "X-Keep: 1\r\n"
				     "Contact: <sip:alice@192.0.2.10:5061>\r\n"
				     "Content-Length: 0\r\n\r\n";
	static const char ringing[] = "SIP/2.0 180 Ringing\r\n"
				      "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKscB1;rport\r\n"
				      "From: <sip:alice@127.0.0.1:5060>;tag=ftagB\r\n"
				      "To: <sip:bob@127.0.0.1:5080>;tag=calleetag\r\n"
				      "Call-ID: legb-abc\r\n"
				      "CSeq: 1 INVITE\r\n"
				      "Server: pbx-b/2.0\r\n"
				      "X-Internal-Route: edge-1\r\n"
				      "X-Keep: 2\r\n"
				      "Content-Length: 0\r\n\r\n";
	static struct sip_names named;
	const struct sip_strip strip = {SIP_HBIT(SIP_HDR_USER_AGENT) | SIP_HBIT(SIP_HDR_SERVER),
					&named};
	struct setup_leg_b rb = leg_b;
	char head[SETUP_HEAD_MAX];
	(void)state;

	if (!named.n)
		assert_int_equal(sip_names_add(&named, "X-Internal-Route", 16), 0);

	parse_ok(&a, invite, sizeof(invite) - 1);
	int n = setup_build_invite(&a, &rb, out, sizeof(out));
	assert_true(n > 0);
	assert_non_null(memmem(out, (size_t)n, "User-Agent: phone-a", 19));
	assert_non_null(memmem(out, (size_t)n, "x-internal-route", 16));
	rb.strip = &strip;
	n = setup_build_invite(&a, &rb, out, sizeof(out));
	assert_true(n > 0);
	parse_ok(&b, out, (size_t)n);
	assert_null(memmem(out, (size_t)n, "User-Agent", 10));
	assert_null(memmem(out, (size_t)n, "internal-route", 14));
	assert_non_null(memmem(out, (size_t)n, "X-Keep: 1\r\n", 11));
	struct sip_msg again;
	n = build_again(&again, &rb, n);
	assert_null(memmem(out, (size_t)n, "User-Agent", 10));
	assert_non_null(memmem(out, (size_t)n, "X-Keep: 1\r\n", 11));

	parse_ok(&a, invite, sizeof(invite) - 1);
	int hl = sip_response_head(&a, "ourAtag", head, sizeof(head));
	assert_true(hl > 0);
	parse_ok(&b, ringing, sizeof(ringing) - 1);
	n = setup_relay_response(&b, head, (size_t)hl, "127.0.0.1:5060", 0, NULL, out2,
				 sizeof(out2));
	assert_non_null(memmem(out2, (size_t)n, "Server: pbx-b", 13));
	assert_non_null(memmem(out2, (size_t)n, "X-Internal-Route: edge-1", 24));
	n = setup_relay_response(&b, head, (size_t)hl, "127.0.0.1:5060", 0, &strip, out2,
				 sizeof(out2));
	assert_true(n > 0);
	parse_ok(&r, out2, (size_t)n);
	assert_int_equal(r.status, 180);
	assert_null(memmem(out2, (size_t)n, "Server", 6));
	assert_null(memmem(out2, (size_t)n, "Internal-Route", 14));
	assert_non_null(memmem(out2, (size_t)n, "X-Keep: 2\r\n", 11));
}

static void test_local_response_and_ack_cancel(void **state)
{
	(void)state;
	char head[SETUP_HEAD_MAX];
	parse_ok(&a, invite_a, sizeof(invite_a) - 1);
	int hl = sip_response_head(&a, "t1", head, sizeof(head));
	int n = setup_local_response(503, head, (size_t)hl, "Retry-After: 5\r\n", out, sizeof(out));
	assert_true(n > 0);
	parse_ok(&r, out, (size_t)n);
	assert_int_equal(r.status, 503);
	assert_non_null(sip_find_hdr(&r, SIP_HDR_RETRY_AFTER));
	assert_int_equal(setup_local_response(503, head, (size_t)hl, NULL, out, 40), -ENOSPC);

	n = setup_build_invite(&a, &leg_b, out, sizeof(out));
	parse_ok(&b, out, (size_t)n);
	static const char busy[] =
	    "SIP/2.0 486 Busy Here\r\n"
	    "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKscB1;rport\r\n"
	    "From: <sip:alice@127.0.0.1:5060>;tag=ftagB\r\n"
	    "To: <sip:bob@127.0.0.1:5080>;tag=busytag\r\n"
	    "Call-ID: legb-abc\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
	parse_ok(&r, busy, sizeof(busy) - 1);
	int m = setup_build_ack(&b, &r, out2, sizeof(out2));
	assert_true(m > 0);
	struct sip_msg *ack = &a;
	parse_ok(ack, out2, (size_t)m);
	assert_int_equal(ack->method_id, SIP_METHOD_ACK);
	assert_true(sip_view_eq(out2, ack->to.tag, "busytag", 7));
	assert_true(sip_view_eq(out2, ack->vias[0].branch, "z9hG4bKscB1", 11));
	assert_int_equal(ack->cseq.num, 1);
	m = setup_build_cancel(&b, NULL, 0, out2, sizeof(out2));
	parse_ok(ack, out2, (size_t)m);
	assert_int_equal(ack->method_id, SIP_METHOD_CANCEL);
	assert_false(ack->to.has_tag);
	assert_true(sip_view_eq(out2, ack->vias[0].branch, "z9hG4bKscB1", 11));
}

/* The ACK of a non-2xx final to leg B's INVITE has that INVITE's
 * Request-URI and Route lines (RFC 3261 17.1.1.3), not the final's To URI,
 * when built once the INVITE is gone: from the INVITE's CANCEL kept (the
 * controller's given-up INVITEs), or from the final with the INVITE's
 * Request-URI. The To URI stood for the Request-URI before. */
static void test_ack_of_final_takes_invites_request_uri(void **state)
{
	(void)state;
	struct setup_leg_b rb = leg_b;
	rb.ruri = "sip:bob@192.0.2.77:5090;transport=udp";
	rb.to_uri = "sip:bob@sbc.example.com";
	rb.route_set = "Route: <sip:192.0.2.5;lr>,<sip:192.0.2.6;lr>\r\n";
	rb.dialog_ref = "legb-other;to-tag=t2;from-tag=f2";
	rb.dialog_ref_hdr = SIP_HDR_REPLACES;
	parse_ok(&a, invite_a, sizeof(invite_a) - 1);
	int n = setup_build_invite(&a, &rb, out, sizeof(out));
	assert_true(n > 0);
	parse_ok(&b, out, (size_t)n);
	static const char busy[] =
	    "SIP/2.0 486 Busy Here\r\n"
	    "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKscB1;rport\r\n"
	    "From: <sip:alice@127.0.0.1:5060>;tag=ftagB\r\n"
	    "To: <sip:bob@sbc.example.com>;tag=busytag\r\n"
	    "Call-ID: legb-abc\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
	parse_ok(&r, busy, sizeof(busy) - 1);
	char inv_ruri[128];
	assert_true(b.ruri.whole.len < sizeof(inv_ruri));
	memcpy(inv_ruri, out + b.ruri.whole.off, b.ruri.whole.len);
	inv_ruri[b.ruri.whole.len] = '\0';
	assert_string_equal(inv_ruri, rb.ruri);

	/* from the CANCEL kept */
	static char cancel[4096], ack[4096];
	int cn = setup_build_cancel(&b, "Reason: SIP;cause=408\r\n", 23, cancel, sizeof(cancel));
	assert_true(cn > 0);
	static struct sip_msg cm, am;
	parse_ok(&cm, cancel, (size_t)cn);
	int m = setup_build_ack(&cm, &r, ack, sizeof(ack));
	assert_true(m > 0);
	parse_ok(&am, ack, (size_t)m);
	assert_int_equal(am.method_id, SIP_METHOD_ACK);
	assert_true(sip_view_eq(ack, am.ruri.whole, inv_ruri, strlen(inv_ruri)));
	assert_non_null(
	    memmem(ack, (size_t)m, "Route: <sip:192.0.2.5;lr>,<sip:192.0.2.6;lr>\r\n", 46));
	assert_null(memmem(ack, (size_t)m, "Reason", 6));
	assert_true(sip_view_eq(ack, am.to.tag, "busytag", 7));
	assert_true(sip_view_eq(ack, am.vias[0].branch, "z9hG4bKscB1", 11));
	assert_int_equal(am.cseq.num, 1);
	assert_int_equal(am.cseq.method_id, SIP_METHOD_ACK);

	/* from the final and the INVITE's Request-URI */
	m = setup_build_ack_of_final(&r, inv_ruri, strlen(inv_ruri), ack, sizeof(ack));
	assert_true(m > 0);
	parse_ok(&am, ack, (size_t)m);
	assert_true(sip_view_eq(ack, am.ruri.whole, inv_ruri, strlen(inv_ruri)));
	assert_true(sip_view_eq(ack, am.to.tag, "busytag", 7));
	assert_true(sip_view_eq(ack, am.vias[0].branch, "z9hG4bKscB1", 11));
	/* none known: the To URI stands for it */
	m = setup_build_ack_of_final(&r, NULL, 0, ack, sizeof(ack));
	assert_true(m > 0);
	parse_ok(&am, ack, (size_t)m);
	assert_true(sip_view_eq(ack, am.ruri.whole, "sip:bob@sbc.example.com", 23));
}

/* A CANCEL from alice with these header lines before its Content-Length. */
static void parse_cancel_with(struct sip_msg *m, char *buf, size_t cap, const char *lines)
{
	int n = snprintf(buf, cap,
			 "CANCEL sip:bob@sbc.example.com SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 192.0.2.10:5061;branch=z9hG4bKcaller1\r\n"
			 "Max-Forwards: 70\r\n"
			 "From: <sip:alice@192.0.2.10>;tag=atag1\r\n"
			 "To: <sip:bob@sbc.example.com>\r\n"
			 "Call-ID: callerid-123@192.0.2.10\r\n"
			 "CSeq: 7 CANCEL\r\n"
			 "%s"
			 "Content-Length: 0\r\n\r\n",
			 lines);
	assert_true(n > 0 && (size_t)n < cap);
	parse_ok(m, buf, (size_t)n);
}

static char cancel_a[4096];

/* Leg B's CANCEL carries the caller's Reason lines, in order, after its
 * CSeq, whatever case or spacing the caller wrote the name in; with none it
 * has none. */
static void test_cancel_reasons(void **state)
{
	(void)state;
	char reasons[SETUP_REASON_MAX];
	unsigned dropped = 0;

	parse_cancel_with(&r, cancel_a, sizeof(cancel_a),
			  "reason:SIP ;cause=200 ;text=\"Call completed elsewhere\"\r\n"
			  "User-Agent: x\r\n"
			  "REASON: Q.850;cause=16, SIP;cause=480;ext\r\n");
	size_t rl = setup_cancel_reasons(&r, reasons, sizeof(reasons), &dropped);
	static const char want[] = "Reason: SIP ;cause=200 ;text=\"Call completed elsewhere\"\r\n"
				   "Reason: Q.850;cause=16, SIP;cause=480;ext\r\n";
	assert_int_equal(dropped, 0);
	assert_int_equal(rl, sizeof(want) - 1);
	assert_memory_equal(reasons, want, rl);

	parse_ok(&a, invite_a, sizeof(invite_a) - 1);
	int n = setup_build_invite(&a, &leg_b, out, sizeof(out));
	parse_ok(&b, out, (size_t)n);
	int m = setup_build_cancel(&b, reasons, rl, out2, sizeof(out2));
	assert_true(m > 0);
	parse_ok(&r, out2, (size_t)m);
	assert_int_equal(r.method_id, SIP_METHOD_CANCEL);
	assert_int_equal(r.cseq.num, 1);
	assert_non_null(memmem(out2, (size_t)m, "CANCEL\r\nReason: SIP ;cause=200", 30));
	/* read back from the CANCEL as they went in */
	char back[SETUP_REASON_MAX];
	assert_int_equal(setup_cancel_reasons(&r, back, sizeof(back), &dropped), rl);
	assert_memory_equal(back, reasons, rl);

	/* no Reason: none, and the CANCEL as before */
	parse_cancel_with(&r, cancel_a, sizeof(cancel_a), "");
	assert_int_equal(setup_cancel_reasons(&r, reasons, sizeof(reasons), &dropped), 0);
	int plain = setup_build_cancel(&b, NULL, 0, out2, sizeof(out2));
	assert_true(plain > 0);
	assert_null(memmem(out2, (size_t)plain, "Reason", 6));
	assert_int_equal(setup_build_cancel(&b, reasons, 0, out2, sizeof(out2)), plain);
	assert_int_equal(setup_build_cancel(&b, want, sizeof(want) - 1, out2, (size_t)plain + 20),
			 -ENOSPC);
	assert_int_equal(dropped, 0);
}

/* Lines beyond SETUP_REASON_MAX bytes are left out whole, each counted; a
 * later one that still fits goes. */
static void test_cancel_reasons_oversize(void **state)
{
	(void)state;
	char lines[1024], reasons[SETUP_REASON_MAX + 64];
	unsigned dropped = 0;
	char text[300];

	memset(text, 'a', sizeof(text));
	/* 8 + 20 + 200 + 1 + 2 = 231 bytes written: fits alone */
	int n = snprintf(lines, sizeof(lines),
			 "Reason: SIP;cause=200;text=\"%.200s\"\r\n"
			 "Reason: Q.850;cause=16;text=\"%.40s\"\r\n"
			 "Reason: Q.850;cause=31\r\n"
			 "Reason: SIP;cause=200;text=\"%.260s\"\r\n",
			 text, text, text);
	assert_true(n > 0 && (size_t)n < sizeof(lines));
	parse_cancel_with(&r, cancel_a, sizeof(cancel_a), lines);
	memset(reasons, 'z', sizeof(reasons));
	size_t rl = setup_cancel_reasons(&r, reasons, sizeof(reasons), &dropped);
	assert_true(rl <= SETUP_REASON_MAX);
	assert_int_equal(dropped, 2); /* the Q.850 with its 40-byte text, and the 300-byte one */
	assert_int_equal(rl, 231 + 24);
	assert_memory_equal(reasons + 231, "Reason: Q.850;cause=31\r\n", 24);
	assert_int_equal(reasons[rl], 'z'); /* nothing cut short written past them */

	/* a smaller buffer bounds it too */
	dropped = 0;
	assert_int_equal(setup_cancel_reasons(&r, reasons, 30, &dropped), 24);
	assert_int_equal(dropped, 3);
}

/* Values that are not what RFC 3326 says a Reason is do not reach the
 * callee; the parser's own rules drop whole messages, these are lines it
 * takes as extension headers. */
static void test_cancel_reasons_hostile(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "Reason: SIP;cause=2x0\r\n",
	    "Reason: SIP;cause=\r\n",
	    "Reason: SIP;cause\r\n",
	    "Reason: SIP;text=unquoted\r\n",
	    "Reason: SIP;text=\"open\r\n",
	    "Reason: ;cause=1\r\n",
	    "Reason: SIP;cause=200 junk\r\n",
	    "Reason: SIP;cause=200,\r\n",
	    "Reason: SIP;cause=200,,Q.850\r\n",
	    "Reason: SIP;;cause=200\r\n",
	    "Reason: SIP;cause=200\r\n <folded>\r\n",
	    "Reason: SIP;cause=200;text=\"a\x7f\"\r\n",
	    "Reason: SIP;cause=200;text=\"a\tb\"\r\n\tQ.850\r\n",
	    "Reason: \"SIP\"\r\n",
	};
	char reasons[SETUP_REASON_MAX];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		unsigned dropped = 0;
		parse_cancel_with(&r, cancel_a, sizeof(cancel_a), bad[i]);
		size_t rl = setup_cancel_reasons(&r, reasons, sizeof(reasons), &dropped);
		if (rl || dropped != 1)
			fail_msg("kept %zu bytes, dropped %u of: %s", rl, dropped, bad[i]);
	}
	/* the good one beside a bad one goes */
	unsigned dropped = 0;
	parse_cancel_with(
	    &r, cancel_a, sizeof(cancel_a),
	    "Reason: SIP;text=\"x\";cause=1a\r\nReason: SIP;cause=487;x=\"\\\"q\"\r\n");
	assert_int_equal(setup_cancel_reasons(&r, reasons, sizeof(reasons), &dropped), 31);
	assert_memory_equal(reasons, "Reason: SIP;cause=487;x=\"\\\"q\"\r\n", 31);
	assert_int_equal(dropped, 1);
}

/* An INVITE whose From and To user parts are `user`, its Request-URI's ruri_user. */
static int long_invite(char *msg, size_t cap, const char *ruri_user, const char *user)
{
	int len = snprintf(msg, cap,
			   "INVITE sip:%s@sbc.example.com SIP/2.0\r\n"
			   "Via: SIP/2.0/UDP 192.0.2.10:5061;branch=z9hG4bKlong\r\n"
			   "Max-Forwards: 70\r\n"
			   "From: <sip:%s@192.0.2.10>;tag=atag1\r\n"
			   "To: <sip:%s@sbc.example.com>\r\n"
			   "Call-ID: long-1@192.0.2.10\r\n"
			   "CSeq: 1 INVITE\r\n"
			   "Content-Length: 0\r\n\r\n",
			   ruri_user, user, user);
	assert_true(len > 0 && (size_t)len < cap);
	return len;
}

/* User parts longer than any fixed piece buffer: leg B's Request-URI, From
 * and To carry them whole, From with its tag, or the INVITE is refused as too
 * large; never a header cut short (a 600-digit From user made a From of 511
 * bytes with no '>' and no tag, and a 600-digit Request-URI user a 513). */
static void test_invite_long_user_parts(void **state)
{
	(void)state;
	static char msg[4096], user[601];
	memset(user, '5', 600);
	user[600] = '\0';
	const char *ruri_users[] = {"bob", user};

	for (size_t i = 0; i < 2; i++) {
		int len = long_invite(msg, sizeof(msg), ruri_users[i], user);
		parse_ok(&a, msg, (size_t)len);
		int n = setup_build_invite(&a, &leg_b, out, sizeof(out));
		assert_true(n > 0);
		parse_ok(&b, out, (size_t)n);
		assert_true(sip_view_eq(out, b.ruri.user, ruri_users[i], strlen(ruri_users[i])));
		assert_true(sip_view_eq(out, b.from.uri.user, user, 600));
		assert_out_view(b.from.uri.host, "127.0.0.1");
		assert_out_view(b.from.tag, "ftagB");
		assert_true(sip_view_eq(out, b.to.uri.user, user, 600));
		assert_out_view(b.to.uri.host, "127.0.0.1");

		/* one byte short of the whole INVITE: refused */
		assert_int_equal(setup_build_invite(&a, &leg_b, out2, (size_t)n - 1), -ENOSPC);
		assert_int_equal(setup_build_invite(&a, &leg_b, out2, (size_t)n), n);
		assert_memory_equal(out, out2, (size_t)n);
	}
}

/* The requests the controller makes in a dialog a response of leg B's
 * INVITE made (the ACK and BYE of a 2xx it does not take, the PRACK of
 * another fork's reliable provisional) follow that dialog's route set: the
 * response's Record-Route in reverse order (RFC 3261 12.1.2, 12.2.1.1). A
 * forking proxy record-routes; without its Route a request it gets names
 * only the callee's Contact. */
static void test_requests_in_dialog_follow_its_route_set(void **state)
{
	static const char resp[] =
	    "SIP/2.0 183 Session Progress\r\n"
	    "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKscB1;rport\r\n"
	    "Record-Route: <sip:p2.example.com;lr>\r\n"
	    "Record-Route: <sip:p1.example.com;lr>,<sip:p0.example.com;lr>\r\n"
	    "From: <sip:alice@127.0.0.1:5060>;tag=ftagB\r\n"
	    "To: <sip:bob@127.0.0.1:5080>;tag=fork2\r\n"
	    "Call-ID: legb-abc\r\n"
	    "CSeq: 1 INVITE\r\n"
	    "Require: 100rel\r\n"
	    "RSeq: 9\r\n"
	    "Contact: <sip:bob@192.0.2.50:5080>\r\n"
	    "Content-Length: 0\r\n\r\n";
	static const char *const methods[] = {"ACK", "BYE", "PRACK"};
	struct sip_msg q;
	(void)state;

	parse_ok(&r, resp, sizeof(resp) - 1);
	for (int i = 0; i < 3; i++) {
		int n = i < 2
			    ? setup_build_after_2xx(&r, methods[i], "127.0.0.1:5060", "z9hG4bKx",
						    out, sizeof(out))
			    : setup_build_prack(&r, "127.0.0.1:5060", "z9hG4bKx", out, sizeof(out));
		assert_true(n > 0);
		parse_ok(&q, out, (size_t)n);
		const char *want[] = {"sip:p0.example.com;lr", "sip:p1.example.com;lr",
				      "sip:p2.example.com;lr"};
		if (q.nroutes != 3)
			fail_msg("%s with %u Route entries, not the 3 of the route set:\n%.*s",
				 methods[i], q.nroutes, n, out);
		for (int j = 0; j < 3; j++)
			if (q.routes[j].uri.whole.len != strlen(want[j]) ||
			    memcmp(out + q.routes[j].uri.whole.off, want[j], strlen(want[j])))
				fail_msg("%s: Route %d is %.*s, not %s", methods[i], j,
					 (int)q.routes[j].uri.whole.len,
					 out + q.routes[j].uri.whole.off, want[j]);
		assert_memory_equal(out + q.ruri.whole.off, "sip:bob@192.0.2.50:5080", 23);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_invite_hides_caller),
	    cmocka_unit_test(test_invite_rewritten_user),
	    cmocka_unit_test(test_invite_user_hash_escaped),
	    cmocka_unit_test(test_invite_credentials),
	    cmocka_unit_test(test_invite_session_expires),
	    cmocka_unit_test(test_relay_response_hides_callee),
	    cmocka_unit_test(test_relay_response_503_as_500),
	    cmocka_unit_test(test_strip_headers),
	    cmocka_unit_test(test_local_response_and_ack_cancel),
	    cmocka_unit_test(test_ack_of_final_takes_invites_request_uri),
	    cmocka_unit_test(test_cancel_reasons),
	    cmocka_unit_test(test_cancel_reasons_oversize),
	    cmocka_unit_test(test_cancel_reasons_hostile),
	    cmocka_unit_test(test_invite_long_user_parts),
	    cmocka_unit_test(test_requests_in_dialog_follow_its_route_set),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
