/*
 * test_register.c - registering with a registrar (daemon/register.c, RFC 3261
 * 10.2 and 17.1.2), driven through reg_tick and reg_on_response with a clock
 * of its own and the datagrams it sends captured.
 *
 * Covers: the REGISTER as sent (Request-URI, To, From, Contact, Expires,
 * CSeq, branch), Timer E's retransmissions and Timer F's end, a digest
 * challenge answered (the response checked by tests/common/digest_check.h,
 * not by the code under test) and the credentials refused, a proxy's 407
 * and the registrar's 401 answered in one REGISTER (either order) and where
 * such chains end, the reason a challenge was refused as logged, the expiry
 * a 2xx grants (Contact parameter, Expires header, none, zero; our Contact
 * found among every one listed as RFC 3261 19.1.4 compares URIs, and a 2xx
 * that does not list it counted and logged once), the refresh
 * at half of it with the same Call-ID and From tag, a 423's Min-Expires (and
 * why one is not asked again, as logged) and the refreshes that keep asking
 * for it (two 423s an attempt), the retry after a failure (and the
 * Retry-After that lengthens it), responses to no REGISTER of ours, what a
 * reload keeps, and the unregistering (Expires: 0)
 * of the bindings a reload removes or points elsewhere: answered, challenged,
 * refused, unanswered, never registered, brought back meanwhile, bounded.
 * Does not cover: the controller's wiring (integration tests register.sh,
 * register_reload.sh).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/digest_check.h"
#include "ctl/config.h"
#include "daemon/log.h"
#include "daemon/register.h"

#define MAX_SENT 64

static struct config cfg;
static struct reg_set rs;
static struct {
	char buf[REG_REQUEST_MAX];
	size_t len;
	uint16_t port; /* where it went */
} sent[MAX_SENT];
static unsigned nsent;
static uint64_t rng = 0x9e3779b97f4a7c15u;
static struct sip_msg out, in_msg;
static char in[4096];

static void hook_send(void *arg, const char *buf, size_t len, const struct sockaddr *to,
		      socklen_t tolen)
{
	(void)arg;
	assert_true(nsent < MAX_SENT);
	assert_true(len <= sizeof(sent[0].buf));
	assert_int_equal(tolen, sizeof(struct sockaddr_in));
	memcpy(sent[nsent].buf, buf, len);
	sent[nsent].port = ntohs(((const struct sockaddr_in *)(const void *)to)->sin_port);
	sent[nsent++].len = len;
}

static uint64_t hook_rand(void *arg)
{
	(void)arg;
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static const struct reg_ops ops = {hook_send, hook_rand, NULL};

#define REG_CONFIG(extra)                                                                          \
	"{\"listen\": \"127.0.0.1:5060\", \"routes\": [{\"target\": \"127.0.0.1:5080\"}],"         \
	" \"registrations\": [{\"name\": \"carrier\", \"registrar\": \"127.0.0.1:5070\","          \
	" \"aor\": \"sip:acct-4471@trunk.example.net\", \"expires_s\": 600, \"retry_s\": 20" extra \
	"}]}"

static void load(const char *json)
{
	char err[256];
	if (config_load_string(&cfg, json, err, sizeof(err)) != 0)
		fail_msg("%s", err);
}

static int setup_with(const char *json)
{
	log_set_level(LOG_LVL_ERROR);
	memset(&rs, 0, sizeof(rs));
	nsent = 0;
	load(json);
	reg_configure(&rs, &cfg, cfg.advertise, cfg.timers.t1_ms, cfg.timers.t2_ms, 0, &ops);
	return 0;
}

static int setup(void **state)
{
	return setup_with(*state ? (const char *)*state
				 : REG_CONFIG(", \"auth\": {\"username\": \"acct-4471\", "
					      "\"password\": \"s3cret\"}"));
}

static const struct sip_msg *sent_msg(unsigned i)
{
	assert_true(i < nsent);
	if (sip_parse(&out, sent[i].buf, sent[i].len, NULL) != 0)
		fail_msg("sent datagram %u does not parse:\n%.*s", i, (int)sent[i].len,
			 sent[i].buf);
	return &out;
}

/* The text of line id of sent[i] ("" when absent). */
static void sent_line(unsigned i, enum sip_hdr id, char *val, size_t cap)
{
	const struct sip_msg *x = sent_msg(i);
	const struct sip_hdr_line *h = sip_find_hdr(x, id);
	snprintf(val, cap, "%.*s", h ? (int)h->value.len : 0, h ? sent[i].buf + h->value.off : "");
}

/* A response to sent[i] with status and extra lines, at now; returns what
 * reg_on_response says. */
static bool respond(unsigned i, int status, const char *extra, uint64_t now)
{
	char via[256], from[256], to[256], cid[128];
	const struct sip_msg *x = sent_msg(i);
	snprintf(via, sizeof(via), "%.*s", (int)x->vias[0].whole.len,
		 sent[i].buf + x->vias[0].whole.off);
	sent_line(i, SIP_HDR_FROM, from, sizeof(from));
	sent_line(i, SIP_HDR_TO, to, sizeof(to));
	sent_line(i, SIP_HDR_CALL_ID, cid, sizeof(cid));
	int n = snprintf(
	    in, sizeof(in),
	    "SIP/2.0 %d %s\r\nVia: %s\r\nFrom: %s\r\nTo: %s;tag=reg1\r\nCall-ID: %s\r\n"
	    "CSeq: %u REGISTER\r\n%sContent-Length: 0\r\n\r\n",
	    status, sip_reason_phrase(status), via, from, to, cid, (unsigned)x->cseq.num, extra);
	assert_int_equal(sip_parse(&in_msg, in, (size_t)n, NULL), 0);
	return reg_on_response(&rs, &in_msg, now, &ops);
}

static void test_register_as_sent(void **state)
{
	char v[256];
	(void)state;
	assert_int_equal(rs.n, 1);
	assert_int_equal(reg_tick(&rs, 1000, &ops), 1500);
	assert_int_equal(nsent, 1);
	const struct sip_msg *x = sent_msg(0);
	assert_int_equal(x->method_id, SIP_METHOD_REGISTER);
	assert_true(sip_view_eq(sent[0].buf, x->ruri.whole, "sip:trunk.example.net", 21));
	assert_true(
	    sip_view_eq(sent[0].buf, x->from.uri.whole, "sip:acct-4471@trunk.example.net", 31));
	assert_true(
	    sip_view_eq(sent[0].buf, x->to.uri.whole, "sip:acct-4471@trunk.example.net", 31));
	assert_true(x->from.has_tag);
	assert_false(x->to.has_tag);
	assert_int_equal(x->cseq.num, 1);
	assert_int_equal(x->ncontacts, 1);
	assert_true(
	    sip_view_eq(sent[0].buf, x->contacts[0].uri.whole, "sip:acct-4471@127.0.0.1:5060", 28));
	assert_true(sip_view_eq(sent[0].buf, x->contacts[0].params, "expires=600", 11));
	sent_line(0, SIP_HDR_EXPIRES, v, sizeof(v));
	assert_string_equal(v, "600");
	assert_true(sip_view_eq(sent[0].buf, x->vias[0].host, "127.0.0.1", 9));
	assert_int_equal(x->vias[0].port, 5060);
	assert_true(x->vias[0].has_rport);
	assert_int_equal(x->max_forwards, 70);
	assert_null(sip_find_hdr(x, SIP_HDR_AUTHORIZATION));
	assert_int_equal(rs.st.sent, 1);
	assert_false(reg_is_registered(&rs.e[0], 1000));
}

/* Timer E: T1, doubling to T2 (500, 1000, 2000, 4000, 4000 ...); Timer F
 * (64*T1 = 32 s) ends the attempt as a 408, and the next one is retry_s on. */
static void test_retransmissions_and_timer_f(void **state)
{
	(void)state;
	reg_tick(&rs, 0, &ops);
	const uint64_t at[] = {500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500};
	uint64_t t = 0;
	for (size_t k = 0; k < sizeof(at) / sizeof(at[0]); k++) {
		reg_tick(&rs, at[k] - 1, &ops);
		assert_int_equal(nsent, 1 + k);
		t = reg_tick(&rs, at[k], &ops);
		assert_int_equal(nsent, 2 + k);
		assert_memory_equal(sent[1 + k].buf, sent[0].buf, sent[0].len);
	}
	assert_int_equal(t, 32000);
	t = reg_tick(&rs, 32000, &ops);
	assert_int_equal(nsent, 11);
	assert_int_equal(rs.e[0].last_status, 408);
	assert_int_equal(rs.st.failed, 1);
	assert_int_equal(rs.st.retransmitted, 10);
	assert_int_equal(t, 32000 + 20000);
	reg_tick(&rs, 51999, &ops);
	assert_int_equal(nsent, 11);
	reg_tick(&rs, 52000, &ops);
	assert_int_equal(nsent, 12);
	assert_int_equal(sent_msg(11)->cseq.num, 2);
}

#define CHALLENGE(nonce, stale)                                                                    \
	"WWW-Authenticate: Digest realm=\"trunk.example.net\", nonce=\"" nonce                     \
	"\", qop=\"auth\"" stale "\r\n"

/* The lines of sent[i] with header id. */
static unsigned count_lines(unsigned i, enum sip_hdr id)
{
	return sip_hdr_lines(sent_msg(i), id);
}

/* sent[i]'s line id (one of its kind) answers nonce of realm with
 * acct-4471's password, for REGISTER, with nonce-count nc. */
static void assert_answer(unsigned i, enum sip_hdr id, const char *realm, const char *nonce,
			  const char *want_nc)
{
	char line[1024], v[128], cnonce[64], nc[16], want[33];
	assert_int_equal(count_lines(i, id), 1);
	sent_line(i, id, line, sizeof(line));
	assert_true(line[0]);
	test_credential_param(line, "username", v, sizeof(v));
	assert_string_equal(v, "acct-4471");
	test_credential_param(line, "realm", v, sizeof(v));
	assert_string_equal(v, realm);
	test_credential_param(line, "nonce", v, sizeof(v));
	assert_string_equal(v, nonce);
	test_credential_param(line, "uri", v, sizeof(v));
	assert_string_equal(v, "sip:trunk.example.net");
	test_credential_param(line, "cnonce", cnonce, sizeof(cnonce));
	test_credential_param(line, "nc", nc, sizeof(nc));
	assert_string_equal(nc, want_nc);
	test_digest_response("acct-4471", realm, "s3cret", "REGISTER", "sip:trunk.example.net",
			     nonce, nc, cnonce, want);
	test_credential_param(line, "response", v, sizeof(v));
	assert_string_equal(v, want);
}

/* sent[i] answers the registrar's nonce with acct-4471's password. */
static void assert_credentials(unsigned i, const char *nonce)
{
	assert_answer(i, SIP_HDR_AUTHORIZATION, "trunk.example.net", nonce, "00000001");
}

static void test_challenge_registered_refreshed(void **state)
{
	char cid[128], cid2[128], tag[128], tag2[128];
	(void)state;
	reg_tick(&rs, 0, &ops);
	assert_true(respond(0, 100, "", 50));
	reg_tick(&rs, 500, &ops); /* proceeding: Timer E is T2 now */
	assert_int_equal(nsent, 1);
	assert_true(respond(0, 401, CHALLENGE("abc", ""), 100));
	assert_int_equal(nsent, 2);
	assert_int_equal(sent_msg(1)->cseq.num, 2);
	assert_credentials(1, "abc");
	assert_int_equal(rs.st.auth_answered, 1);
	/* the 401 again (a retransmission): not the transaction in flight */
	assert_true(respond(0, 401, CHALLENGE("abc", ""), 120));
	assert_int_equal(rs.st.dropped_stale, 1);
	assert_int_equal(nsent, 2);
	assert_true(respond(1, 200,
			    "Contact: <sip:other@192.0.2.1>;expires=3000\r\n"
			    "Contact: <sip:acct-4471@127.0.0.1:50600>;expires=3000\r\n"
			    "Contact: <sip:acct-4471@127.0.0.1:5060;transport=udp>;q=0.5 ; "
			    "expires = 120\r\n",
			    200));
	assert_true(reg_is_registered(&rs.e[0], 200));
	assert_int_equal(rs.e[0].granted_s, 120);
	assert_int_equal(rs.e[0].last_status, 200);
	assert_true(reg_is_registered(&rs.e[0], 120199));
	assert_false(reg_is_registered(&rs.e[0], 120200));
	/* refreshed at half the time: the same Call-ID and From tag, the next CSeq */
	assert_int_equal(reg_tick(&rs, 1000, &ops), 60200);
	reg_tick(&rs, 60199, &ops);
	assert_int_equal(nsent, 2);
	reg_tick(&rs, 60200, &ops);
	assert_int_equal(nsent, 3);
	assert_int_equal(sent_msg(2)->cseq.num, 3);
	assert_null(sip_find_hdr(sent_msg(2), SIP_HDR_AUTHORIZATION));
	sent_line(0, SIP_HDR_CALL_ID, cid, sizeof(cid));
	sent_line(2, SIP_HDR_CALL_ID, cid2, sizeof(cid2));
	assert_string_equal(cid, cid2);
	sent_line(0, SIP_HDR_FROM, tag, sizeof(tag));
	sent_line(2, SIP_HDR_FROM, tag2, sizeof(tag2));
	assert_string_equal(tag, tag2);
	/* the refresh's 200 with an Expires header only */
	assert_true(respond(2, 200, "Expires: 90\r\n", 60300));
	assert_int_equal(rs.e[0].granted_s, 90);
	assert_int_equal(rs.st.registered, 2);
	assert_int_equal(rs.st.sent, 3);
}

/* A second challenge that does not say stale: the password is wrong. */
/* A registrar given as a name without a port: its SRV records (as the load
 * makes them, config_dns.c; the records themselves need a DNS server:
 * tests/integration/srv.sh) are tried in turn. An attempt answered 503, or
 * given up at Timer F, moves the next one to the next record, round the
 * list; one refused otherwise (403, 500) stays at its record. */
static void test_registrar_srv_records(void **state)
{
	(void)state;
	struct config_registration *g = &cfg.registrations[0];
	snprintf(g->registrar.domain, sizeof(g->registrar.domain), "trunk.example.net");
	for (unsigned t = 0; t < 2; t++) {
		g->registrar_srv[t] = g->registrar;
		struct sockaddr_in *in4 = (struct sockaddr_in *)&g->registrar_srv[t].addr;
		in4->sin_port = htons((uint16_t)(5070 + t));
		snprintf(g->registrar_srv[t].text, sizeof(g->registrar_srv[t].text),
			 "sip%u.trunk.example.net:%u", t + 1, 5070 + t);
		g->registrar_srv[t].srv = true;
	}
	g->nregistrar_srv = 2;
	memset(&rs, 0, sizeof(rs));
	reg_configure(&rs, &cfg, cfg.advertise, cfg.timers.t1_ms, cfg.timers.t2_ms, 0, &ops);

	reg_tick(&rs, 0, &ops);
	assert_int_equal(sent[0].port, 5070);
	assert_string_equal(reg_registrar(&rs.e[0])->text, "sip1.trunk.example.net:5070");
	respond(0, 503, "", 10);
	reg_tick(&rs, 20010, &ops);
	assert_int_equal(nsent, 2);
	assert_int_equal(sent[1].port, 5071);
	respond(1, 403, "", 20020);
	reg_tick(&rs, 40020, &ops);
	assert_int_equal(nsent, 3);
	assert_int_equal(sent[2].port, 5071);
	respond(2, 500, "", 40030);
	reg_tick(&rs, 60030, &ops);
	assert_int_equal(nsent, 4);
	assert_int_equal(sent[3].port, 5071);
	/* Timer F (32 s): on to the first record again */
	for (uint64_t t = 60030; t <= 60030 + 32000; t += 500)
		reg_tick(&rs, t, &ops);
	assert_int_equal(rs.e[0].last_status, 408);
	unsigned before = nsent;
	reg_tick(&rs, 60030 + 32000 + 20000, &ops);
	assert_int_equal(nsent, before + 1);
	assert_int_equal(sent[before].port, 5070);
	/* a reload with the same records keeps the place (and the binding) */
	uint8_t at = rs.e[0].srv_at;
	reg_configure(&rs, &cfg, cfg.advertise, cfg.timers.t1_ms, cfg.timers.t2_ms, 0, &ops);
	assert_int_equal(rs.e[0].srv_at, at);
	assert_int_equal(rs.e[0].cseq, sent_msg(before)->cseq.num);
}

static void test_credentials_refused(void **state)
{
	(void)state;
	reg_tick(&rs, 0, &ops);
	respond(0, 401, CHALLENGE("one", ""), 10);
	respond(1, 401, CHALLENGE("two", ", stale=TRUE"), 20);
	assert_int_equal(nsent, 3);
	assert_credentials(2, "two");
	respond(2, 401, CHALLENGE("three", ", stale=TRUE"), 30);
	assert_int_equal(nsent, 3);
	assert_false(rs.e[0].in_flight);
	assert_int_equal(rs.e[0].last_status, 401);
	assert_int_equal(rs.st.failed, 1);
	assert_int_equal(rs.st.auth_answered, 2);
	/* the next attempt, retry_s later, is answered afresh */
	reg_tick(&rs, 20030, &ops);
	assert_int_equal(nsent, 4);
	respond(3, 401, CHALLENGE("four", ""), 20040);
	assert_int_equal(nsent, 5);
	respond(4, 403, "", 20050);
	assert_int_equal(rs.e[0].last_status, 403);
	assert_int_equal(rs.st.failed, 2);
}

#define PROXY_CHALLENGE(realm, nonce, stale)                                                       \
	"Proxy-Authenticate: Digest realm=\"" realm "\", nonce=\"" nonce "\", qop=\"auth\"" stale  \
	"\r\n"

/* An outbound proxy's 407, then the registrar's 401 behind it (RFC 3261
 * 22.3): the second REGISTER carries the proxy's answer, the third both, the
 * proxy's with its nonce-count one higher; then, the other way round, a 401
 * and the proxy's 407. */
static void test_proxy_then_registrar_challenge(void **state)
{
	(void)state;
	reg_tick(&rs, 0, &ops);
	respond(0, 407, PROXY_CHALLENGE("proxy.example.net", "p1", ""), 10);
	assert_int_equal(nsent, 2);
	assert_answer(1, SIP_HDR_PROXY_AUTHORIZATION, "proxy.example.net", "p1", "00000001");
	assert_int_equal(count_lines(1, SIP_HDR_AUTHORIZATION), 0);
	respond(1, 401, CHALLENGE("r1", ""), 20);
	assert_int_equal(nsent, 3);
	assert_true(rs.e[0].in_flight);
	assert_int_equal(sent_msg(2)->cseq.num, 3);
	assert_answer(2, SIP_HDR_PROXY_AUTHORIZATION, "proxy.example.net", "p1", "00000002");
	assert_answer(2, SIP_HDR_AUTHORIZATION, "trunk.example.net", "r1", "00000001");
	respond(2, 200, "Expires: 600\r\n", 30);
	assert_true(reg_is_registered(&rs.e[0], 40));
	assert_int_equal(rs.st.auth_answered, 2);
	assert_int_equal(rs.st.failed, 0);

	/* the refresh: the registrar first, then the proxy */
	reg_tick(&rs, 300030, &ops);
	assert_int_equal(nsent, 4);
	respond(3, 401, CHALLENGE("r2", ""), 300040);
	assert_credentials(4, "r2");
	respond(4, 407, PROXY_CHALLENGE("proxy.example.net", "p2", ""), 300050);
	assert_int_equal(nsent, 6);
	assert_answer(5, SIP_HDR_AUTHORIZATION, "trunk.example.net", "r2", "00000002");
	assert_answer(5, SIP_HDR_PROXY_AUTHORIZATION, "proxy.example.net", "p2", "00000001");
	respond(5, 200, "Expires: 600\r\n", 300060);
	assert_int_equal(rs.st.registered, 2);
}

/* Chained challenges end: the same realm again without stale is a refusal
 * (the registrar's, with the proxy's answer kept, or the proxy's); stale
 * gets one new answer with the other line kept; a third kind or realm is not
 * answered, so a server cannot keep one attempt going. */
static void test_chained_challenges_end(void **state)
{
	(void)state;
	reg_tick(&rs, 0, &ops);
	respond(0, 407, PROXY_CHALLENGE("proxy.example.net", "p1", ""), 10);
	respond(1, 401, CHALLENGE("r1", ""), 20);
	respond(2, 401, CHALLENGE("r2", ", stale=true"), 30);
	assert_int_equal(nsent, 4);
	assert_answer(3, SIP_HDR_PROXY_AUTHORIZATION, "proxy.example.net", "p1", "00000003");
	assert_answer(3, SIP_HDR_AUTHORIZATION, "trunk.example.net", "r2", "00000001");
	respond(3, 401, CHALLENGE("r3", ", stale=true"), 40);
	assert_int_equal(nsent, 4);
	assert_false(rs.e[0].in_flight);
	assert_int_equal(rs.e[0].last_status, 401);
	assert_int_equal(rs.st.failed, 1);
	assert_int_equal(rs.st.auth_answered, 3);

	/* the proxy refusing, after the registrar's challenge */
	reg_tick(&rs, 20040, &ops);
	assert_int_equal(nsent, 5);
	respond(4, 407, PROXY_CHALLENGE("proxy.example.net", "p2", ""), 20050);
	respond(5, 401, CHALLENGE("r4", ""), 20060);
	assert_int_equal(nsent, 7);
	respond(6, 407, PROXY_CHALLENGE("proxy.example.net", "p3", ""), 20070);
	assert_int_equal(nsent, 7);
	assert_int_equal(rs.e[0].last_status, 407);
	assert_int_equal(rs.st.failed, 2);

	/* a third realm */
	reg_tick(&rs, 40070, &ops);
	assert_int_equal(nsent, 8);
	respond(7, 407, PROXY_CHALLENGE("proxy.example.net", "p4", ""), 40080);
	respond(8, 401, CHALLENGE("r5", ""), 40090);
	assert_int_equal(nsent, 10);
	respond(9, 407, PROXY_CHALLENGE("edge.example.net", "e1", ""), 40100);
	assert_int_equal(nsent, 10);
	assert_int_equal(rs.e[0].last_status, 407);
	assert_int_equal(rs.st.failed, 3);
	assert_int_equal(rs.st.auth_answered, 3 + 2 + 2);
}

/* stderr, with what is written to it from now on going to a file (the log
 * lines), until read_log. */
static int saved_stderr = -1;
static FILE *log_file;

static void capture_log(void)
{
	fflush(stderr);
	log_file = tmpfile();
	assert_non_null(log_file);
	saved_stderr = dup(STDERR_FILENO);
	assert_true(saved_stderr >= 0);
	assert_true(dup2(fileno(log_file), STDERR_FILENO) >= 0);
}

static void read_log(char *text, size_t cap)
{
	fflush(stderr);
	assert_true(dup2(saved_stderr, STDERR_FILENO) >= 0);
	close(saved_stderr);
	saved_stderr = -1;
	rewind(log_file);
	size_t n = fread(text, 1, cap - 1, log_file);
	text[n] = '\0';
	fclose(log_file);
}

/* After a test that failed while the log went to a file: stderr back, and
 * what went to the file (the failure's message among it) written there. */
static int end_capture(void **state)
{
	char text[4096];
	(void)state;
	if (saved_stderr >= 0) {
		read_log(text, sizeof(text));
		fputs(text, stderr);
	}
	log_set_level(LOG_LVL_ERROR);
	return 0;
}

/* A registrar by SRV whose records a dns_refresh_s found all "." (RFC 2782:
 * config_dns.c leaves one entry standing for the name, no_service, without an
 * address): each attempt fails without a REGISTER, logged with the reason,
 * and again retry_s later (before: the REGISTER went to an address of
 * length 0); when records come back (the refresh's new configuration) it
 * registers at once. */
static void test_registrar_srv_no_service(void **state)
{
	char text[4096];
	(void)state;
	struct config_registration *g = &cfg.registrations[0];
	struct config_target *t = &g->registrar_srv[0];
	snprintf(g->registrar.domain, sizeof(g->registrar.domain), "trunk.example.net");
	*t = g->registrar;
	memcpy(t->text, g->registrar.domain, sizeof(t->text));
	memset(&t->addr, 0, sizeof(t->addr));
	t->addr_len = 0;
	t->no_service = true;
	g->nregistrar_srv = 1;
	memset(&rs, 0, sizeof(rs));
	reg_configure(&rs, &cfg, cfg.advertise, cfg.timers.t1_ms, cfg.timers.t2_ms, 0, &ops);

	log_set_level(LOG_LVL_WARN);
	capture_log();
	assert_int_equal(reg_tick(&rs, 0, &ops), 20000);
	reg_tick(&rs, 10000, &ops);
	read_log(text, sizeof(text));
	log_set_level(LOG_LVL_ERROR);
	assert_int_equal(nsent, 0);
	assert_false(rs.e[0].in_flight);
	assert_int_equal(rs.st.sent, 0);
	assert_int_equal(rs.st.failed, 1);
	if (!strstr(text, "registration carrier: no REGISTER sent: _sip._udp.trunk.example.net "
			  "says no SIP over UDP (its SRV records are all \".\", RFC 2782); next "
			  "attempt in 20 s"))
		fail_msg("the log does not say so:\n%s", text);
	reg_tick(&rs, 20000, &ops);
	assert_int_equal(nsent, 0);
	assert_int_equal(rs.st.failed, 2);

	/* records again: registered at once, at the record */
	*t = g->registrar;
	snprintf(t->text, sizeof(t->text), "sip1.trunk.example.net:5071");
	((struct sockaddr_in *)&t->addr)->sin_port = htons(5071);
	t->srv = true;
	reg_configure(&rs, &cfg, cfg.advertise, cfg.timers.t1_ms, cfg.timers.t2_ms, 21000, &ops);
	reg_tick(&rs, 21000, &ops);
	assert_int_equal(nsent, 1);
	assert_int_equal(sent[0].port, 5071);
	assert_true(respond(0, 200, "Expires: 600\r\n", 21010));
	assert_true(reg_is_registered(&rs.e[0], 21010));
}

/* A challenge refused for a backslash escape in its nonce, or for its
 * algorithm: the log line says which. */
static void test_refusal_reason_logged(void **state)
{
	char text[2048];
	(void)state;
	log_set_level(LOG_LVL_WARN);
	capture_log();
	reg_tick(&rs, 0, &ops);
	respond(0, 401, "WWW-Authenticate: Digest realm=\"r\", nonce=\"a\\\"b\"\r\n", 10);
	reg_tick(&rs, 20010, &ops);
	respond(1, 401, "WWW-Authenticate: Digest realm=\"r\", nonce=\"n\", algorithm=MD5-sess\r\n",
		20020);
	read_log(text, sizeof(text));
	log_set_level(LOG_LVL_ERROR);
	assert_int_equal(nsent, 2);
	assert_int_equal(rs.st.failed, 2);
	const char *first = strstr(text, "401 (");
	assert_non_null(first);
	const char *second = strstr(first + 1, "401 (");
	assert_non_null(second);
	if (!strstr(first, "backslash escape") || strstr(first, "backslash escape") > second ||
	    strstr(first, "scheme, algorithm or qop") < second)
		fail_msg("the escape's refusal is not logged as such:\n%s", text);
	if (!strstr(second, "scheme, algorithm or qop"))
		fail_msg("the algorithm's refusal is not logged as such:\n%s", text);
}

/* A challenge whose answer would be longer than a credentials line (a
 * 1500-byte nonce): the attempt fails, nothing is sent cut short. */
static void test_answer_too_long(void **state)
{
	char lines[1700];
	(void)state;
	memset(lines, 0, sizeof(lines));
	int n = snprintf(lines, sizeof(lines), "WWW-Authenticate: Digest realm=\"r\", nonce=\"");
	memset(lines + n, 'n', 1500);
	strcat(lines, "\"\r\n");
	reg_tick(&rs, 0, &ops);
	respond(0, 401, lines, 10);
	assert_int_equal(nsent, 1);
	assert_false(rs.e[0].in_flight);
	assert_int_equal(rs.e[0].last_status, 401);
	assert_int_equal(rs.st.failed, 1);
	assert_int_equal(rs.st.auth_answered, 0);
}

/* Without credentials a challenge fails the attempt; a 2xx that grants no
 * time is no binding. */
static void test_no_credentials_and_no_time(void **state)
{
	(void)state;
	reg_tick(&rs, 0, &ops);
	respond(0, 407, "Proxy-Authenticate: Digest realm=\"r\", nonce=\"n\"\r\n", 10);
	assert_int_equal(nsent, 1);
	assert_int_equal(rs.e[0].last_status, 407);
	reg_tick(&rs, 20010, &ops);
	assert_int_equal(nsent, 2);
	respond(1, 200, "Expires: 0\r\n", 20020);
	assert_false(reg_is_registered(&rs.e[0], 20020));
	assert_int_equal(rs.st.failed, 2);
	/* a 2xx that names no expiry: what was asked */
	reg_tick(&rs, 40020, &ops);
	respond(2, 200, "", 40030);
	assert_int_equal(rs.e[0].granted_s, 600);
}

/* A refresh whose 2xx grants our Contact no time (expires=0: the registrar
 * removed the binding, RFC 3261 10.2.4 and 10.3 step 7) leaves no binding:
 * the one the earlier attempt got is gone at the registrar, and calls to the
 * Contact stop, so sipshardctl registrations must not say registered. */
static void test_refresh_granted_no_time(void **state)
{
	(void)state;
	reg_tick(&rs, 0, &ops);
	respond(0, 401, CHALLENGE("abc", ""), 10);
	respond(1, 200, "Expires: 600\r\n", 20);
	assert_true(reg_is_registered(&rs.e[0], 30));
	reg_tick(&rs, 300020, &ops); /* the refresh, at half the time */
	assert_int_equal(nsent, 3);
	respond(2, 200, "Contact: <sip:acct-4471@127.0.0.1:5060>;expires=0\r\n", 300030);
	assert_int_equal(rs.st.failed, 1);
	assert_false(reg_is_registered(&rs.e[0], 300040));
	assert_int_equal(reg_expires_in_s(&rs.e[0], 300040), 0);
	/* and the next attempt comes retry_s later */
	reg_tick(&rs, 320029, &ops);
	assert_int_equal(nsent, 3);
	reg_tick(&rs, 320030, &ops);
	assert_int_equal(nsent, 4);
}

static void test_interval_too_brief(void **state)
{
	char v[32];
	(void)state;
	reg_tick(&rs, 0, &ops);
	respond(0, 423, "Min-Expires: 1800\r\n", 10);
	assert_int_equal(nsent, 2);
	sent_line(1, SIP_HDR_EXPIRES, v, sizeof(v));
	assert_string_equal(v, "1800");
	assert_true(sip_view_eq(sent[1].buf, sent_msg(1)->contacts[0].params, "expires=1800", 12));
	/* the same again: no loop */
	respond(1, 423, "Min-Expires: 1800\r\n", 20);
	assert_int_equal(nsent, 2);
	assert_int_equal(rs.e[0].last_status, 423);
	/* the next attempt asks for the registrar's Min-Expires at once (RFC
	 * 3261 10.2.8), not for expires_s, which it refused (this test asserted
	 * 600 before: each refresh met the 423 again) */
	reg_tick(&rs, 20020, &ops);
	sent_line(2, SIP_HDR_EXPIRES, v, sizeof(v));
	assert_string_equal(v, "1800");
}

/* A 423 that cannot be met says why in the log, as a challenge refused
 * does: without a Min-Expires, with one no higher than what was asked, or
 * with one above a day, the most expires_s may ask (before, each was "423
 * (refused)", the same words as a 403's, which left the operator to guess
 * that the registrar wants a longer expires_s). */
static void test_interval_too_brief_refusals_logged(void **state)
{
	static const struct {
		const char *lines, *why;
	} cases[] = {
	    {"", "without a Min-Expires"},
	    {"Min-Expires: soon\r\n", "without a Min-Expires"},
	    {"Min-Expires: 600\r\n", "Min-Expires 600 s is not above the 600 s asked"},
	    {"Min-Expires: 90000\r\n", "Min-Expires 90000 s is above 86400 s"},
	    /* 0 is seconds too, and more than a year is more than a day */
	    {"Min-Expires: 0\r\n", "Min-Expires 0 s is not above the 600 s asked"},
	    {"Min-Expires: 99999999999999999999\r\n", "Min-Expires, more than a year, is above"},
	};
	char text[2048];
	uint64_t now = 0;
	(void)state;
	log_set_level(LOG_LVL_WARN);
	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		capture_log();
		reg_tick(&rs, now, &ops);
		assert_int_equal(nsent, k + 1);
		respond(k, 423, cases[k].lines, now + 10);
		read_log(text, sizeof(text));
		assert_int_equal(nsent, k + 1);
		assert_false(rs.e[0].in_flight);
		assert_int_equal(rs.e[0].last_status, 423);
		if (!strstr(text, "423 (") || !strstr(text, cases[k].why))
			fail_msg("case %u: the log does not say \"%s\":\n%s", k, cases[k].why,
				 text);
		now += 20010;
	}
	log_set_level(LOG_LVL_ERROR);
}

/* A registrar whose every 423 asks for a little more (Min-Expires one
 * second above the last) is asked again twice in an attempt, not until its
 * Min-Expires reaches a day: each 423 was answered at once by another
 * REGISTER, with the credentials repeated at the next nonce-count, so one
 * attempt went on for tens of thousands of REGISTERs without a pause (42
 * here, for the 40 423s this test sends, where it asserts 4), and a
 * challenge that came after the 30th repeat wrapped the line's 5-bit
 * nonce-count to nc=00000000 (RFC 7616 3.4: it starts at 1 and grows). The
 * third 423 fails the attempt; its Min-Expires is what the next one, retry_s
 * later, asks for. */
static void test_min_expires_raised_twice_an_attempt(void **state)
{
	char v[32], ex[64], line[1024], nc[16];
	(void)state;
	reg_tick(&rs, 0, &ops);
	respond(0, 401, CHALLENGE("a", ""), 10);
	for (unsigned k = 0; k < 40 && rs.e[0].in_flight; k++) {
		unsigned before = nsent;
		snprintf(ex, sizeof(ex), "Min-Expires: %u\r\n", 601 + k);
		respond(nsent - 1, 423, ex, 20 + k);
		for (unsigned i = before; i < nsent; i++) {
			sent_line(i, SIP_HDR_AUTHORIZATION, line, sizeof(line));
			test_credential_param(line, "nc", nc, sizeof(nc));
			assert_string_not_equal(nc, "00000000");
		}
	}
	/* the REGISTER without credentials, its answer, two with a Min-Expires */
	assert_int_equal(nsent, 4);
	assert_false(rs.e[0].in_flight);
	assert_int_equal(rs.st.failed, 1);
	assert_int_equal(rs.e[0].last_status, 423);
	reg_tick(&rs, 20021, &ops); /* retry_s after the third 423 */
	assert_int_equal(nsent, 4);
	reg_tick(&rs, 20022, &ops);
	assert_int_equal(nsent, 5);
	sent_line(4, SIP_HDR_EXPIRES, v, sizeof(v));
	assert_string_equal(v, "603");
	/* a new attempt: two again */
	respond(4, 423, "Min-Expires: 700\r\n", 20030);
	respond(5, 423, "Min-Expires: 800\r\n", 20040);
	assert_int_equal(nsent, 7);
	respond(6, 200, "Expires: 800\r\n", 20050);
	assert_true(reg_is_registered(&rs.e[0], 20060));
}

/* A registrar that challenges and wants at least 1800 s: the first attempt
 * learns both (3 REGISTERs: the one after the 423 keeps its credentials);
 * each refresh then costs one challenge and its answer (2), not another 423
 * and challenge (4). A reload that keeps the registration keeps what it
 * learnt; one that changes it starts afresh. */
static void test_min_expires_remembered(void **state)
{
	char v[32];
	(void)state;
	reg_tick(&rs, 0, &ops);
	respond(0, 401, CHALLENGE("a", ""), 10);
	respond(1, 423, "Min-Expires: 1800\r\n", 20);
	assert_int_equal(nsent, 3);
	/* RFC 3261 22.3: the credentials go again, with the next nonce-count
	 * (this REGISTER went without them, and met the 401 again) */
	assert_answer(2, SIP_HDR_AUTHORIZATION, "trunk.example.net", "a", "00000002");
	sent_line(2, SIP_HDR_EXPIRES, v, sizeof(v));
	assert_string_equal(v, "1800");
	respond(2, 200, "Expires: 1800\r\n", 40);
	assert_int_equal(nsent, 3);
	assert_true(reg_is_registered(&rs.e[0], 50));
	/* the refresh, at half the time */
	reg_tick(&rs, 900040, &ops);
	assert_int_equal(nsent, 4);
	sent_line(3, SIP_HDR_EXPIRES, v, sizeof(v));
	assert_string_equal(v, "1800");
	respond(3, 401, CHALLENGE("c", ""), 900050);
	assert_int_equal(nsent, 5);
	assert_credentials(4, "c");
	sent_line(4, SIP_HDR_EXPIRES, v, sizeof(v));
	assert_string_equal(v, "1800");
	respond(4, 200, "Expires: 1800\r\n", 900060);
	assert_int_equal(nsent, 5);
	assert_int_equal(rs.st.registered, 2);
	/* a reload that changes nothing: still 1800 */
	load(REG_CONFIG(", \"auth\": {\"username\": \"acct-4471\", \"password\": \"s3cret\"}"));
	reg_configure(&rs, &cfg, cfg.advertise, cfg.timers.t1_ms, cfg.timers.t2_ms, 0, &ops);
	reg_tick(&rs, 1800060, &ops);
	assert_int_equal(nsent, 6);
	sent_line(5, SIP_HDR_EXPIRES, v, sizeof(v));
	assert_string_equal(v, "1800");
	/* another expires_s: a registration of its own, which asks for it */
	load("{\"listen\": \"127.0.0.1:5060\", \"routes\": [{\"target\": \"127.0.0.1:5080\"}],"
	     " \"registrations\": [{\"name\": \"carrier\", \"registrar\": \"127.0.0.1:5070\","
	     " \"aor\": \"sip:acct-4471@trunk.example.net\", \"expires_s\": 3600}]}");
	reg_configure(&rs, &cfg, cfg.advertise, cfg.timers.t1_ms, cfg.timers.t2_ms, 0, &ops);
	reg_tick(&rs, 1800070, &ops);
	assert_int_equal(nsent, 7);
	sent_line(6, SIP_HDR_EXPIRES, v, sizeof(v));
	assert_string_equal(v, "3600");
}

/* A registrar that takes each nonce once: the REGISTER after the 423 that
 * repeats the credentials meets a 401 without stale=true for the same realm,
 * which is answered afresh (its new nonce, nc 1), not taken as the
 * credentials refused. A second such 401 to that fresh answer is a refusal. */
static void test_repeated_credentials_refused_nonce(void **state)
{
	(void)state;
	reg_tick(&rs, 0, &ops);
	respond(0, 401, CHALLENGE("a", ""), 10);
	respond(1, 423, "Min-Expires: 1800\r\n", 20);
	assert_answer(2, SIP_HDR_AUTHORIZATION, "trunk.example.net", "a", "00000002");
	respond(2, 401, CHALLENGE("b", ""), 30);
	assert_int_equal(nsent, 4);
	assert_credentials(3, "b");
	respond(3, 200, "Expires: 1800\r\n", 40);
	assert_true(reg_is_registered(&rs.e[0], 50));
	assert_int_equal(rs.st.failed, 0);
	/* the refresh: a fresh 401, then one refusing its answer */
	reg_tick(&rs, 900040, &ops);
	respond(4, 401, CHALLENGE("c", ""), 900050);
	assert_credentials(5, "c");
	respond(5, 401, CHALLENGE("d", ""), 900060);
	assert_int_equal(nsent, 6);
	assert_int_equal(rs.st.failed, 1);
	assert_int_equal(rs.e[0].last_status, 401);
}

/* After a 423, a REGISTER whose 407 and 401 were both answered sends both
 * lines again, each with the next nonce-count. */
static void test_min_expires_keeps_both_lines(void **state)
{
	(void)state;
	reg_tick(&rs, 0, &ops);
	respond(0, 407, PROXY_CHALLENGE("proxy.example.net", "p", ""), 10);
	respond(1, 401, CHALLENGE("s", ""), 20);
	respond(2, 423, "Min-Expires: 1800\r\n", 30);
	assert_int_equal(nsent, 4);
	assert_answer(3, SIP_HDR_PROXY_AUTHORIZATION, "proxy.example.net", "p", "00000003");
	assert_answer(3, SIP_HDR_AUTHORIZATION, "trunk.example.net", "s", "00000002");
	respond(3, 200, "Expires: 1800\r\n", 40);
	assert_true(reg_is_registered(&rs.e[0], 50));
}

/* A registrar that is overloaded or down for maintenance says for how long
 * with Retry-After (RFC 3261 21.5.4, 20.33): the next attempt waits that
 * long (retry_s when it says less, 3600 s at most) instead of coming back
 * every retry_s. A failure without it keeps retry_s. */
static void test_retry_after_honoured(void **state)
{
	(void)state;
	reg_tick(&rs, 0, &ops);
	respond(0, 503, "Retry-After: 120 (maintenance)\r\n", 10);
	assert_int_equal(rs.st.failed, 1);
	reg_tick(&rs, 20010, &ops); /* retry_s (20 s) later: too early */
	assert_int_equal(nsent, 1);
	reg_tick(&rs, 120009, &ops);
	assert_int_equal(nsent, 1);
	reg_tick(&rs, 120010, &ops);
	assert_int_equal(nsent, 2);
	/* a 500 asking for less than retry_s: retry_s */
	respond(1, 500, "Retry-After: 5\r\n", 120020);
	reg_tick(&rs, 140019, &ops);
	assert_int_equal(nsent, 2);
	reg_tick(&rs, 140020, &ops);
	assert_int_equal(nsent, 3);
	/* a day: an hour at most */
	respond(2, 503, "Retry-After: 86400\r\n", 140030);
	reg_tick(&rs, 140030 + 3600000 - 1, &ops);
	assert_int_equal(nsent, 3);
	reg_tick(&rs, 140030 + 3600000, &ops);
	assert_int_equal(nsent, 4);
	/* none: retry_s */
	respond(3, 503, "", 3740040);
	reg_tick(&rs, 3760040, &ops);
	assert_int_equal(nsent, 5);
}

/* The 2xx of a REGISTER lists every binding of the address of record (RFC
 * 3261 10.3 step 8): other devices or SBC nodes registered with it make it
 * list more Contacts than a message keeps (SIP_MAX_CONTACTS). Such a 2xx
 * still registers: it was refused whole by the parser, so the REGISTER
 * looked unanswered, met Timer F and was logged as a 408 while the registrar
 * had granted it every time. */
static void test_many_bindings_listed(void **state)
{
	char extra[1024];
	size_t n = 0;
	(void)state;
	n += (size_t)snprintf(extra + n, sizeof(extra) - n,
			      "Contact: <sip:acct-4471@127.0.0.1:5060>;expires=120\r\n");
	for (unsigned c = 0; c < SIP_MAX_CONTACTS + 4; c++)
		n +=
		    (size_t)snprintf(extra + n, sizeof(extra) - n,
				     "Contact: <sip:node%u@192.0.2.%u>;expires=3000\r\n", c, c + 1);
	reg_tick(&rs, 0, &ops);
	respond(0, 200, extra, 10);
	assert_true(reg_is_registered(&rs.e[0], 20));
	assert_int_equal(rs.e[0].granted_s, 120);
	/* ours past the ones the parser keeps: read all the same */
	reg_tick(&rs, 60010, &ops);
	n = 0;
	for (unsigned c = 0; c < SIP_MAX_CONTACTS + 1; c++)
		n +=
		    (size_t)snprintf(extra + n, sizeof(extra) - n,
				     "Contact: <sip:node%u@192.0.2.%u>;expires=3000\r\n", c, c + 1);
	snprintf(extra + n, sizeof(extra) - n,
		 "Contact: <sip:acct-4471@127.0.0.1:5060>;expires=90\r\nExpires: 300\r\n");
	respond(1, 200, extra, 60020);
	assert_int_equal(rs.e[0].granted_s, 90);
	assert_int_equal(rs.st.contact_unlisted, 0);
	assert_int_equal(rs.st.registered, 2);
}

/* The expiry a fresh registration (config json, no auth) is granted by a
 * 2xx with these header lines and "Expires: 3000" (what is taken when our
 * Contact is not among those listed). */
static uint32_t granted_by(const char *json, const char *lines)
{
	char extra[2048];
	setup_with(json);
	snprintf(extra, sizeof(extra), "%sExpires: 3000\r\n", lines);
	reg_tick(&rs, 0, &ops);
	assert_true(respond(0, 200, extra, 10));
	assert_true(reg_is_registered(&rs.e[0], 20));
	return rs.e[0].granted_s;
}

/* A 2xx lists the bindings the registrar holds (RFC 3261 10.2.4, 10.3 step
 * 8), and ours is found among them as RFC 3261 19.1.4 compares URIs:
 * scheme, user (case and all, an escaped unreserved character being that
 * character), host (without case; an IPv6 reference as the address it is,
 * RFC 5954 4.1), port (absent is not 5060); a URI parameter in one of them
 * only is passed over but for user, ttl, method and maddr; headers must be
 * in both. So the spellings registrars rewrite our Contact into (letter
 * case of the scheme, transport and ob parameters added, header parameters
 * such as received, an addr-spec without <>, escapes) are still ours, every
 * Contact listed is read (not the parser's first 8 alone), and a URI that
 * is another binding is not taken for ours: its expires parameter is not
 * ours to take (the Expires header is, as for no Contact of ours). Before,
 * the text up to a ';' was compared without case: "ACCT-4471" and a maddr
 * passed for ours, an escape or an IPv6 address written otherwise did not,
 * and ours past the eighth Contact was not read. */
static void test_contact_compared_as_uri(void **state)
{
	(void)state;
	static const char *const ours[] = {
	    "Contact: <sip:acct-4471@127.0.0.1:5060>;expires=120\r\n",
	    "Contact: <SIP:acct-4471@127.0.0.1:5060;transport=UDP;ob>;expires=120;"
	    "received=\"sip:192.0.2.9:40000\"\r\n",
	    "Contact: <sip:acct%2D4471@127.0.0.1:5060>;expires=120\r\n",
	    "Contact: sip:acct-4471@127.0.0.1:5060;expires=120\r\n",
	    "Contact: \"a, b\" <sip:other@192.0.2.1>;expires=10, "
	    "<sip:acct-4471@127.0.0.1:5060> ; EXPIRES = 120\r\n",
	    "Contact: <sip:n1@192.0.2.1>;expires=10, <sip:n2@192.0.2.2>;expires=10, "
	    "<sip:n3@192.0.2.3>;expires=10\r\nContact: <sip:n4@192.0.2.4>;expires=10\r\n"
	    "Contact: <sip:n5@192.0.2.5>, <sip:n6@192.0.2.6>, <sip:n7@192.0.2.7>, "
	    "<sip:n8@192.0.2.8>, <sip:n9@192.0.2.9>;expires=10\r\n"
	    "Contact: <sip:acct-4471@127.0.0.1:5060>;expires=120\r\n",
	};
	static const char *const others[] = {
	    "Contact: <sip:ACCT-4471@127.0.0.1:5060>;expires=120\r\n",
	    "Contact: <sip:acct-4471@127.0.0.1>;expires=120\r\n",
	    "Contact: <sip:acct-4471@127.0.0.1:5060;maddr=192.0.2.1>;expires=120\r\n",
	    "Contact: <sip:acct-4471@127.0.0.1:5060;user=phone>;expires=120\r\n",
	    "Contact: <sip:acct-4471@127.0.0.1:5060;method=INVITE>;expires=120\r\n",
	    "Contact: <sips:acct-4471@127.0.0.1:5060>;expires=120\r\n",
	    "Contact: <sip:acct-4471@127.0.0.1:5060?Subject=x>;expires=120\r\n",
	    "Contact: <sip:acct-4471@127.0.0.2:5060>;expires=120\r\n",
	    "Contact: <sip:acct-4471:pw@127.0.0.1:5060>;expires=120\r\n",
	    "Contact: <tel:+15551234567>;expires=120\r\n",
	};
	for (size_t k = 0; k < sizeof(ours) / sizeof(ours[0]); k++) {
		uint32_t g = granted_by(REG_CONFIG(""), ours[k]);
		if (g != 120)
			fail_msg("ours, granted %u s, not 120: %s", g, ours[k]);
		assert_int_equal(rs.st.contact_unlisted, 0);
		assert_false(rs.e[0].contact_unlisted);
	}
	for (size_t k = 0; k < sizeof(others) / sizeof(others[0]); k++) {
		uint32_t g = granted_by(REG_CONFIG(""), others[k]);
		if (g != 3000)
			fail_msg("not ours, granted %u s, not 3000: %s", g, others[k]);
		assert_int_equal(rs.st.contact_unlisted, 1);
		assert_true(rs.e[0].contact_unlisted);
	}

	/* advertise an IPv6 address: the address, in any spelling */
	const char *v6 = "{\"listen\": \"[::]:5060\", \"advertise\": \"[::1]:5060\", "
			 "\"routes\": [{\"target\": \"127.0.0.1:5080\"}], \"registrations\": "
			 "[{\"registrar\": \"127.0.0.1:5070\", \"aor\": "
			 "\"sip:acct-4471@trunk.example.net\", \"expires_s\": 600}]}";
	assert_int_equal(granted_by(v6, "Contact: <sip:acct-4471@[::1]:5060>;expires=120\r\n"),
			 120);
	assert_int_equal(
	    granted_by(v6, "Contact: <sip:acct-4471@[0:0:0:0:0:0:0:1]:5060>;expires=120\r\n"), 120);
	assert_int_equal(granted_by(v6, "Contact: <sip:acct-4471@[::2]:5060>;expires=120\r\n"),
			 3000);
}

/* A 2xx that does not list our Contact is still taken as our binding (for
 * its Expires header, else what was asked): registrars that rewrite the
 * Contact past recognition (a NAT's address for ours) or list none are in
 * service and route calls to us, and failing them would take working trunks
 * down. But the operator is told: each such 2xx is counted
 * (register_2xx_contact_unlisted; registration_contact_unlisted by name
 * while the last 2xx did not), and the log says so once when it starts and
 * once when the registrar lists it again, not at every refresh. */
static void test_contact_unlisted_counted_and_logged(void **state)
{
	char text[4096];
	(void)state;
	log_set_level(LOG_LVL_INFO);
	capture_log();
	reg_tick(&rs, 0, &ops);
	respond(0, 401, CHALLENGE("abc", ""), 10);
	respond(1, 200, "Contact: <sip:acct-4471@192.0.2.80:40000>;expires=300\r\n", 20);
	assert_int_equal(rs.e[0].granted_s, 600); /* what was asked */
	reg_tick(&rs, 300020, &ops);
	respond(2, 200, "Expires: 400\r\n", 300030); /* none listed at all */
	assert_int_equal(rs.e[0].granted_s, 400);
	reg_tick(&rs, 500030, &ops);
	respond(3, 200, "Contact: <sip:acct-4471@127.0.0.1:5060>;expires=500\r\n", 500040);
	assert_false(rs.e[0].contact_unlisted);
	reg_tick(&rs, 750040, &ops);
	respond(4, 200, "", 750050);
	read_log(text, sizeof(text));
	log_set_level(LOG_LVL_ERROR);
	assert_int_equal(rs.st.registered, 4);
	assert_int_equal(rs.st.contact_unlisted, 3);
	assert_true(rs.e[0].contact_unlisted);
	assert_true(reg_is_registered(&rs.e[0], 750060));
	const char *want = "registration carrier: the 2xx of 127.0.0.1:5070 does not list our "
			   "Contact <sip:acct-4471@127.0.0.1:5060>";
	const char *first = strstr(text, want), *back, *again;
	if (!first)
		fail_msg("no warning in:\n%s", text);
	assert_non_null(strstr(first, "1 other binding listed"));
	back = strstr(first, "registration carrier: 127.0.0.1:5070 lists our Contact again");
	assert_non_null(back);
	assert_true(strstr(first + 1, want) == strstr(back, want)); /* none between */
	again = strstr(back, want);
	assert_non_null(again);
	assert_non_null(strstr(again, "none listed"));
	assert_null(strstr(again + 1, want));
}

/* Responses to no REGISTER of ours: another method, another branch. */
static void test_foreign_responses(void **state)
{
	(void)state;
	reg_tick(&rs, 0, &ops);
	int n =
	    snprintf(in, sizeof(in),
		     "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKscr00"
		     "0000000000000000\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\n"
		     "CSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(sip_parse(&in_msg, in, (size_t)n, NULL), 0);
	assert_true(reg_on_response(&rs, &in_msg, 10, &ops)); /* ours in form: counted */
	assert_int_equal(rs.st.dropped_stale, 1);
	n = snprintf(in, sizeof(in),
		     "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKscr05"
		     "0000000000000000\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\n"
		     "CSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(sip_parse(&in_msg, in, (size_t)n, NULL), 0);
	assert_true(reg_on_response(&rs, &in_msg, 10, &ops)); /* no entry 5 */
	assert_int_equal(rs.st.dropped_stale, 2);
	n = snprintf(in, sizeof(in),
		     "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKother\r\n"
		     "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\n"
		     "CSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(sip_parse(&in_msg, in, (size_t)n, NULL), 0);
	assert_false(reg_on_response(&rs, &in_msg, 10, &ops));
	assert_true(rs.e[0].in_flight);
}

/* A reload keeps a registration whose settings did not change, binding and
 * all; one whose credentials changed registers again at once, in the same
 * Call-ID and From tag with the next CSeq (test_reload_keeps_call_id). */
static void test_reload(void **state)
{
	char cid[128], cid2[128];
	(void)state;
	reg_tick(&rs, 0, &ops);
	respond(0, 401, CHALLENGE("abc", ""), 10);
	respond(1, 200, "Expires: 600\r\n", 20);
	assert_true(reg_is_registered(&rs.e[0], 30));
	load(REG_CONFIG(", \"auth\": {\"username\": \"acct-4471\", \"password\": \"s3cret\"}"));
	reg_configure(&rs, &cfg, cfg.advertise, cfg.timers.t1_ms, cfg.timers.t2_ms, 0, &ops);
	assert_true(reg_is_registered(&rs.e[0], 30));
	reg_tick(&rs, 40, &ops);
	assert_int_equal(nsent, 2);
	load(REG_CONFIG(", \"auth\": {\"username\": \"acct-4471\", \"password\": \"n3w\"}"));
	reg_configure(&rs, &cfg, cfg.advertise, cfg.timers.t1_ms, cfg.timers.t2_ms, 0, &ops);
	reg_tick(&rs, 50, &ops);
	assert_int_equal(nsent, 3);
	assert_int_equal(sent_msg(2)->cseq.num, 3);
	sent_line(0, SIP_HDR_CALL_ID, cid, sizeof(cid));
	sent_line(2, SIP_HDR_CALL_ID, cid2, sizeof(cid2));
	assert_string_equal(cid, cid2);
	/* and without registrations, none are kept (the binding, kept through
	 * the password's change, is unregistered) */
	load("{\"routes\": [{\"target\": \"127.0.0.1:5080\"}]}");
	reg_configure(&rs, &cfg, cfg.advertise, cfg.timers.t1_ms, cfg.timers.t2_ms, 0, &ops);
	assert_int_equal(rs.n, 0);
	assert_int_equal(rs.st.unreg_started, 1);
	assert_true(respond(3, 200, "", 60));
	assert_int_equal(reg_tick(&rs, 60, &ops), UINT64_MAX);
}

/* A reload that lists auth.realm's realms in another order keeps the
 * registration and its binding: the same realms are answered. Compared
 * byte for byte (memcmp of the credentials), it started again with a new
 * Call-ID. */
static void test_reload_realms_reordered(void **state)
{
	(void)state;
	load(REG_CONFIG(", \"auth\": {\"username\": \"acct-4471\", \"password\": \"s3cret\","
			" \"realm\": [\"proxy.example\", \"server.example\"]}"));
	reg_configure(&rs, &cfg, cfg.advertise, cfg.timers.t1_ms, cfg.timers.t2_ms, 0, &ops);
	reg_tick(&rs, 0, &ops);
	respond(0, 200, "Expires: 600\r\n", 20);
	assert_true(reg_is_registered(&rs.e[0], 30));
	load(REG_CONFIG(", \"auth\": {\"username\": \"acct-4471\", \"password\": \"s3cret\","
			" \"realm\": [\"server.example\", \"proxy.example\"]}"));
	reg_configure(&rs, &cfg, cfg.advertise, cfg.timers.t1_ms, cfg.timers.t2_ms, 0, &ops);
	if (!reg_is_registered(&rs.e[0], 30))
		fail_msg("a reload that reordered auth.realm started the registration again");
	reg_tick(&rs, 40, &ops);
	assert_int_equal(nsent, 1);
	/* another realm is other credentials: registered again at once, in the
	 * same Call-ID (test_reload_keeps_call_id) */
	load(REG_CONFIG(", \"auth\": {\"username\": \"acct-4471\", \"password\": \"s3cret\","
			" \"realm\": [\"server.example\", \"other.example\"]}"));
	reg_configure(&rs, &cfg, cfg.advertise, cfg.timers.t1_ms, cfg.timers.t2_ms, 0, &ops);
	assert_true(reg_is_registered(&rs.e[0], 50));
	reg_tick(&rs, 50, &ops);
	assert_int_equal(nsent, 2);
	assert_int_equal(sent_msg(1)->cseq.num, 2);
}

/* A registration of name at registrar with aor (and extra members), alone. */
#define REG_AT(name, registrar, aor, extra)                                                        \
	"{\"listen\": \"127.0.0.1:5060\", \"routes\": [{\"target\": \"127.0.0.1:5080\"}],"         \
	" \"registrations\": [{\"name\": \"" name "\", \"registrar\": \"" registrar "\","          \
	" \"aor\": \"" aor "\", \"expires_s\": 600, \"retry_s\": 20" extra "}]}"
#define AUTH		 ", \"auth\": {\"username\": \"acct-4471\", \"password\": \"s3cret\"}"
#define NO_REGISTRATIONS "{\"routes\": [{\"target\": \"127.0.0.1:5080\"}]}"

/* The configuration json in service at now, as a reload does it. */
static void reload_at(const char *json, uint64_t now)
{
	load(json);
	reg_configure(&rs, &cfg, cfg.advertise, cfg.timers.t1_ms, cfg.timers.t2_ms, now, &ops);
}

/* Registers entry 0: challenged (sent[0]), answered (sent[1]), granted 600 s
 * at 20. */
static void register_entry0(void)
{
	reg_tick(&rs, 0, &ops);
	assert_true(respond(0, 401, CHALLENGE("abc", ""), 10));
	assert_true(respond(1, 200, "Expires: 600\r\n", 20));
	assert_true(reg_is_registered(&rs.e[0], 30));
	assert_int_equal(nsent, 2);
}

/* sent[i] unregisters what sent[of] registered, to port: its Call-ID, From
 * tag, To and Contact, CSeq cseq, asking for 0 s (RFC 3261 10.2.2). */
static void assert_unregister(unsigned i, unsigned of, uint32_t cseq, uint16_t port)
{
	char a[256], b[256];
	const char *lines[] = {"Call-ID", "From", "To"};
	const enum sip_hdr ids[] = {SIP_HDR_CALL_ID, SIP_HDR_FROM, SIP_HDR_TO};
	for (unsigned k = 0; k < 3; k++) {
		sent_line(of, ids[k], a, sizeof(a));
		sent_line(i, ids[k], b, sizeof(b));
		if (strcmp(a, b) != 0)
			fail_msg("%s: %s, not %s", lines[k], b, a);
	}
	assert_int_equal(sent[i].port, port);
	const struct sip_msg *x = sent_msg(i);
	assert_int_equal(x->method_id, SIP_METHOD_REGISTER);
	assert_int_equal(x->cseq.num, cseq);
	assert_int_equal(x->ncontacts, 1);
	assert_true(
	    sip_view_eq(sent[i].buf, x->contacts[0].uri.whole, "sip:acct-4471@127.0.0.1:5060", 28));
	assert_true(sip_view_eq(sent[i].buf, x->contacts[0].params, "expires=0", 9));
	sent_line(i, SIP_HDR_EXPIRES, a, sizeof(a));
	assert_string_equal(a, "0");
}

/* Whether sent[a] and sent[b] have the same line id. */
static bool same_line(unsigned a, unsigned b, enum sip_hdr id)
{
	char x[256], y[256];
	sent_line(a, id, x, sizeof(x));
	sent_line(b, id, y, sizeof(y));
	return !strcmp(x, y);
}

/* RFC 3261 10.2: a UA SHOULD use one Call-ID for all its registrations to a
 * registrar in a boot cycle, and CSeq grows by one with each REGISTER in it.
 * A reload that changes a registration's auth, expires_s, retry_s or name,
 * not its registrar or address of record, keeps its Call-ID, From tag and
 * CSeq, and its binding, and registers again at once (the new credentials
 * and expiry at work now): a REGISTER in flight is given up, its late final
 * dropped. Another address of record is another binding, unregistered in
 * its own Call-ID beside the new one's (test_unregister_repointed). Before,
 * any change but retry_s started a new Call-ID at CSeq 1. */
static void test_reload_keeps_call_id(void **state)
{
	(void)state;
	reg_tick(&rs, 0, &ops);
	assert_true(respond(0, 401, CHALLENGE("abc", ""), 10));
	assert_true(respond(1, 200, "Expires: 600\r\n", 20));
	assert_int_equal(sent_msg(1)->cseq.num, 2);

	/* another password */
	reload_at(REG_CONFIG(", \"auth\": {\"username\": \"acct-4471\", \"password\": \"n3w\"}"),
		  100);
	assert_true(reg_is_registered(&rs.e[0], 100)); /* the registrar still holds it */
	assert_int_equal(rs.st.unreg_started, 0);
	reg_tick(&rs, 100, &ops);
	assert_int_equal(nsent, 3);
	assert_true(same_line(0, 2, SIP_HDR_CALL_ID));
	assert_true(same_line(0, 2, SIP_HDR_FROM));
	assert_int_equal(sent_msg(2)->cseq.num, 3);
	assert_null(sip_find_hdr(sent_msg(2), SIP_HDR_AUTHORIZATION));
	assert_true(respond(2, 401, CHALLENGE("def", ""), 110));
	assert_int_equal(nsent, 4);
	assert_int_equal(sent_msg(3)->cseq.num, 4);
	assert_true(respond(3, 200, "Expires: 600\r\n", 120));

	/* another expiry: asked for at once, in the same Call-ID */
	reload_at("{\"listen\": \"127.0.0.1:5060\", \"routes\": [{\"target\": "
		  "\"127.0.0.1:5080\"}], \"registrations\": [{\"name\": \"carrier\", "
		  "\"registrar\": \"127.0.0.1:5070\", \"aor\": "
		  "\"sip:acct-4471@trunk.example.net\", \"expires_s\": 900, \"retry_s\": 20, "
		  "\"auth\": {\"username\": \"acct-4471\", \"password\": \"n3w\"}}]}",
		  200);
	reg_tick(&rs, 200, &ops);
	assert_int_equal(nsent, 5);
	assert_true(same_line(0, 4, SIP_HDR_CALL_ID));
	assert_true(same_line(0, 4, SIP_HDR_FROM));
	assert_int_equal(sent_msg(4)->cseq.num, 5);
	char v[32];
	sent_line(4, SIP_HDR_EXPIRES, v, sizeof(v));
	assert_string_equal(v, "900");

	/* a reload while that REGISTER is in flight: given up, the next CSeq */
	reload_at(REG_CONFIG(AUTH), 300);
	reg_tick(&rs, 300, &ops);
	assert_int_equal(nsent, 6);
	assert_true(same_line(0, 5, SIP_HDR_CALL_ID));
	assert_int_equal(sent_msg(5)->cseq.num, 6);
	assert_true(respond(4, 200, "Expires: 900\r\n", 310)); /* the late one */
	assert_int_equal(rs.st.dropped_stale, 1);
	assert_true(respond(5, 401, CHALLENGE("ghi", ""), 320));
	assert_true(respond(6, 200, "Expires: 600\r\n", 330));
	assert_int_equal(sent_msg(6)->cseq.num, 7);

	/* another name alone: the same registration */
	reload_at(REG_AT("trunk", "127.0.0.1:5070", "sip:acct-4471@trunk.example.net", AUTH), 400);
	assert_true(reg_is_registered(&rs.e[0], 400));
	reg_tick(&rs, 400, &ops);
	assert_int_equal(nsent, 8);
	assert_true(same_line(0, 7, SIP_HDR_CALL_ID));
	assert_int_equal(sent_msg(7)->cseq.num, 8);
	assert_int_equal(rs.st.unreg_started, 0);

	/* another address of record: a new Call-ID, CSeq 1 (the old binding
	 * unregistered in its own) */
	reload_at(REG_AT("trunk", "127.0.0.1:5070", "sip:acct-9@trunk.example.net", AUTH), 500);
	assert_int_equal(rs.st.unreg_started, 1);
	reg_tick(&rs, 500, &ops);
	assert_false(same_line(0, nsent - 1, SIP_HDR_CALL_ID));
	assert_int_equal(sent_msg(nsent - 1)->cseq.num, 1);
}

/* A registrar by name that a dns_refresh_s finds at another address: the
 * same registrar as written, so the same Call-ID, its CSeq going on; but
 * the binding was at the old address, so none is known at the new one
 * until its 2xx, and nothing is unregistered. */
static void test_registrar_moved_keeps_call_id(void **state)
{
	(void)state;
	reload_at(REG_AT("carrier", "localhost:5070", "sip:acct-4471@trunk.example.net", AUTH), 0);
	register_entry0();
	struct config_registration *g = &cfg.registrations[0];
	((struct sockaddr_in *)&g->registrar.addr)->sin_addr.s_addr = htonl(0x7f000002);
	reg_configure(&rs, &cfg, cfg.advertise, cfg.timers.t1_ms, cfg.timers.t2_ms, 100, &ops);
	assert_false(reg_is_registered(&rs.e[0], 100));
	assert_int_equal(rs.st.unreg_started, 0);
	reg_tick(&rs, 100, &ops);
	assert_int_equal(nsent, 3);
	assert_true(same_line(0, 2, SIP_HDR_CALL_ID));
	assert_true(same_line(0, 2, SIP_HDR_FROM));
	assert_int_equal(sent_msg(2)->cseq.num, 3);
}

/* A registration that a reload removes while it holds its binding sends
 * one REGISTER more, in its Call-ID, asking for 0 s, retransmitted by Timer
 * E until its 2xx; then nothing more is sent. */
static void test_unregister_removed(void **state)
{
	char text[2048];
	(void)state;
	register_entry0();
	log_set_level(LOG_LVL_INFO);
	capture_log();
	reload_at(NO_REGISTRATIONS, 1000);
	assert_int_equal(rs.n, 0);
	assert_int_equal(nsent, 3); /* at once */
	assert_unregister(2, 1, 3, 5070);
	assert_null(sip_find_hdr(sent_msg(2), SIP_HDR_AUTHORIZATION));
	assert_int_equal(rs.st.unreg_started, 1);
	assert_int_equal(reg_tick(&rs, 1000, &ops), 1500);
	reg_tick(&rs, 1500, &ops); /* Timer E */
	assert_int_equal(nsent, 4);
	assert_memory_equal(sent[3].buf, sent[2].buf, sent[2].len);
	assert_true(respond(2, 200, "", 1600));
	read_log(text, sizeof(text));
	log_set_level(LOG_LVL_ERROR);
	assert_int_equal(rs.st.unreg_done, 1);
	assert_int_equal(rs.st.unreg_failed, 0);
	assert_int_equal(rs.st.registered, 1); /* the 2xx granted no binding */
	if (!strstr(text, "registration carrier: unregistered from 127.0.0.1:5070"))
		fail_msg("the log does not say so:\n%s", text);
	assert_int_equal(reg_tick(&rs, 1700, &ops), UINT64_MAX);
	reg_tick(&rs, 40000, &ops);
	assert_int_equal(nsent, 4);
	/* its 2xx again: no REGISTER in flight */
	assert_true(respond(2, 200, "", 1800));
	assert_int_equal(rs.st.dropped_stale, 1);
}

/* A reload that points a registration at another registrar, or gives it
 * another address of record, unregisters the binding at the registrar that
 * holds it, and registers anew; one that changes its credentials, expiry or
 * name only leaves the binding to the new registration's REGISTERs, which
 * update it. */
static void test_unregister_repointed(void **state)
{
	(void)state;
	register_entry0();
	/* the password: the same binding */
	reload_at(REG_AT("carrier", "127.0.0.1:5070", "sip:acct-4471@trunk.example.net",
			 ", \"auth\": {\"username\": \"acct-4471\", \"password\": \"n3w\"}"),
		  100);
	assert_int_equal(nsent, 2);
	assert_int_equal(rs.st.unreg_started, 0);
	reg_tick(&rs, 100, &ops);
	assert_int_equal(nsent, 3);
	assert_int_equal(sent[2].port, 5070);
	assert_true(respond(2, 200, "Expires: 600\r\n", 110));
	/* another registrar: the old one is told, the new one asked */
	reload_at(REG_AT("carrier", "127.0.0.1:5071", "sip:acct-4471@trunk.example.net", AUTH),
		  200);
	assert_int_equal(nsent, 4);
	assert_unregister(3, 2, 4, 5070); /* the Call-ID the password change kept */
	assert_int_equal(rs.st.unreg_started, 1);
	reg_tick(&rs, 200, &ops);
	assert_int_equal(nsent, 5);
	assert_int_equal(sent[4].port, 5071);
	assert_int_equal(sent_msg(4)->cseq.num, 1);
	assert_int_equal(sip_find_hdr(sent_msg(4), SIP_HDR_EXPIRES)->value.len, 3);
	assert_true(respond(3, 200, "", 210));
	assert_true(respond(4, 200, "Expires: 600\r\n", 220));
	assert_int_equal(rs.st.unreg_done, 1);
	assert_true(reg_is_registered(&rs.e[0], 230));
	/* another address of record at that registrar, and another name */
	reload_at(REG_AT("other", "127.0.0.1:5071", "sip:acct-9@trunk.example.net", AUTH), 300);
	assert_int_equal(nsent, 6);
	assert_unregister(5, 4, 2, 5071);
	assert_int_equal(rs.st.unreg_started, 2);
	/* the registrar's name written as its address: the same binding */
	reg_tick(&rs, 300, &ops);
	assert_int_equal(nsent, 7);
	assert_true(respond(6, 200, "Expires: 600\r\n", 310));
	reload_at(REG_AT("other", "localhost:5071", "sip:acct-9@trunk.example.net", AUTH), 400);
	assert_int_equal(nsent, 7);
	assert_int_equal(rs.st.unreg_started, 2);
}

/* The unregistering REGISTER challenged: answered with the credentials of
 * the registration as it was, in the next CSeq, still asking for 0 s; the
 * 2xx ends it. A second challenge (or Timer F) ends it unregistered not. */
static void test_unregister_challenged(void **state)
{
	char text[2048];
	(void)state;
	register_entry0();
	reload_at(NO_REGISTRATIONS, 1000);
	assert_int_equal(nsent, 3);
	assert_true(respond(2, 401, CHALLENGE("def", ""), 1010));
	assert_int_equal(nsent, 4);
	assert_unregister(3, 1, 4, 5070);
	assert_credentials(3, "def");
	assert_int_equal(rs.st.auth_answered, 2);
	assert_true(respond(3, 200, "", 1020));
	assert_int_equal(rs.st.unreg_done, 1);
	assert_int_equal(reg_tick(&rs, 1030, &ops), UINT64_MAX);

	/* again, and the answer refused: given up, the binding left to lapse */
	memset(&rs, 0, sizeof(rs));
	nsent = 0;
	reload_at(REG_CONFIG(AUTH), 0);
	register_entry0();
	log_set_level(LOG_LVL_WARN);
	capture_log();
	reload_at(NO_REGISTRATIONS, 1000);
	assert_true(respond(2, 401, CHALLENGE("def", ""), 1010));
	assert_true(respond(3, 401, CHALLENGE("ghi", ""), 1020));
	read_log(text, sizeof(text));
	log_set_level(LOG_LVL_ERROR);
	assert_int_equal(nsent, 4);
	assert_int_equal(rs.st.unreg_failed, 1);
	assert_int_equal(rs.st.unreg_done, 0);
	assert_int_equal(rs.st.failed, 0); /* no registration attempt failed */
	if (!strstr(text, "registration carrier: not unregistered from 127.0.0.1:5070: 401 ("))
		fail_msg("the log does not say so:\n%s", text);
	assert_int_equal(reg_tick(&rs, 1030, &ops), UINT64_MAX);

	/* and no answer at all: Timer F (32 s), nothing tried again */
	reload_at(REG_CONFIG(AUTH), 2000);
	reg_tick(&rs, 2000, &ops);
	assert_true(respond(4, 200, "Expires: 600\r\n", 2010));
	reload_at(NO_REGISTRATIONS, 3000);
	assert_int_equal(nsent, 6);
	for (uint64_t t = 3000; t < 3000 + 32000; t += 500)
		reg_tick(&rs, t, &ops);
	assert_true(rs.leaving[0].in_flight);
	assert_int_equal(reg_tick(&rs, 35000, &ops), UINT64_MAX);
	assert_int_equal(rs.st.unreg_failed, 2);
	assert_int_equal(rs.leaving[0].last_status, 200); /* the registration's, untouched */
	unsigned before = nsent;
	reg_tick(&rs, 100000, &ops);
	assert_int_equal(nsent, before);
}

/* A registration removed before any 2xx (or after its binding lapsed) has
 * nothing to unregister: it goes without a word to the registrar. */
static void test_unregister_never_registered(void **state)
{
	char text[2048];
	(void)state;
	reg_tick(&rs, 0, &ops);
	assert_true(respond(0, 403, "", 10));
	log_set_level(LOG_LVL_INFO);
	capture_log();
	reload_at(NO_REGISTRATIONS, 100);
	read_log(text, sizeof(text));
	log_set_level(LOG_LVL_ERROR);
	assert_int_equal(nsent, 1);
	assert_int_equal(rs.st.unreg_started, 0);
	assert_int_equal(reg_tick(&rs, 100, &ops), UINT64_MAX);
	if (!strstr(text, "registration carrier: removed; it holds no binding at 127.0.0.1:5070, "
			  "nothing to unregister"))
		fail_msg("the log does not say so:\n%s", text);
	/* a binding that lapsed is none either */
	reload_at(REG_CONFIG(AUTH), 200);
	reg_tick(&rs, 200, &ops);
	assert_true(respond(1, 200, "Expires: 60\r\n", 210));
	reload_at(NO_REGISTRATIONS, 210 + 60000);
	assert_int_equal(nsent, 2);
	assert_int_equal(rs.st.unreg_started, 0);
}

/* A reload that brings back a registration while it unregisters stops the
 * unregistering (it would undo the new binding), and registers in its
 * Call-ID with a higher CSeq. A reload that leaves it out again meanwhile
 * does not touch it. */
static void test_unregister_undone(void **state)
{
	char cid[128], cid2[128];
	(void)state;
	register_entry0();
	reload_at(NO_REGISTRATIONS, 1000);
	assert_int_equal(nsent, 3);
	reload_at(NO_REGISTRATIONS, 1100); /* again: no second REGISTER */
	assert_int_equal(nsent, 3);
	reload_at(REG_CONFIG(AUTH), 1200);
	assert_false(rs.leaving[0].in_flight);
	assert_int_equal(rs.st.unreg_superseded, 1);
	reg_tick(&rs, 1200, &ops);
	assert_int_equal(nsent, 4);
	sent_line(0, SIP_HDR_CALL_ID, cid, sizeof(cid));
	sent_line(3, SIP_HDR_CALL_ID, cid2, sizeof(cid2));
	assert_string_equal(cid, cid2);
	assert_int_equal(sent_msg(3)->cseq.num, 4);
	/* the unregistering's late 200: no longer waited for */
	assert_true(respond(2, 200, "", 1210));
	assert_int_equal(rs.st.dropped_stale, 1);
	assert_int_equal(rs.st.unreg_done, 0);
	assert_true(respond(3, 200, "Expires: 600\r\n", 1220));
	assert_true(reg_is_registered(&rs.e[0], 1230));
}

/* At most REG_LEAVING_MAX unregister at once: one more gives up the one
 * that started first. */
static void test_unregister_bounded(void **state)
{
	char json[512], name[16], reg[32];
	(void)state;
	for (unsigned k = 0; k <= REG_LEAVING_MAX; k++) {
		snprintf(name, sizeof(name), "r%u", k);
		snprintf(reg, sizeof(reg), "127.0.0.1:%u", 6000 + k);
		snprintf(
		    json, sizeof(json),
		    "{\"listen\": \"127.0.0.1:5060\", \"routes\": [{\"target\": "
		    "\"127.0.0.1:5080\"}], \"registrations\": [{\"name\": \"%s\", \"registrar\": "
		    "\"%s\", \"aor\": \"sip:a%u@trunk.example.net\"}]}",
		    name, reg, k);
		reload_at(json, 10 * k);
		reg_tick(&rs, 10 * k, &ops);
		assert_true(respond(nsent - 1, 200, "", 10 * k + 1));
	}
	reload_at(NO_REGISTRATIONS, 1000);
	assert_int_equal(rs.st.unreg_started, REG_LEAVING_MAX + 1);
	assert_int_equal(rs.st.unreg_failed, 1);
	for (unsigned k = 0; k < REG_LEAVING_MAX; k++)
		assert_true(rs.leaving[k].in_flight);
	assert_string_equal(rs.leaving[0].cfg.name, "r16");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_register_as_sent, setup),
	    cmocka_unit_test_setup(test_retransmissions_and_timer_f, setup),
	    cmocka_unit_test_setup(test_challenge_registered_refreshed, setup),
	    cmocka_unit_test_setup(test_credentials_refused, setup),
	    cmocka_unit_test_setup(test_registrar_srv_records, setup),
	    cmocka_unit_test_setup_teardown(test_registrar_srv_no_service, setup, end_capture),
	    cmocka_unit_test_setup(test_answer_too_long, setup),
	    cmocka_unit_test_prestate_setup_teardown(test_no_credentials_and_no_time, setup, NULL,
						     (void *)REG_CONFIG("")),
	    cmocka_unit_test_setup(test_refresh_granted_no_time, setup),
	    cmocka_unit_test_setup(test_interval_too_brief, setup),
	    cmocka_unit_test_setup_teardown(test_interval_too_brief_refusals_logged, setup,
					    end_capture),
	    cmocka_unit_test_setup(test_min_expires_remembered, setup),
	    cmocka_unit_test_setup(test_min_expires_raised_twice_an_attempt, setup),
	    cmocka_unit_test_setup(test_proxy_then_registrar_challenge, setup),
	    cmocka_unit_test_setup(test_chained_challenges_end, setup),
	    cmocka_unit_test_setup(test_repeated_credentials_refused_nonce, setup),
	    cmocka_unit_test_setup(test_min_expires_keeps_both_lines, setup),
	    cmocka_unit_test_setup(test_refusal_reason_logged, setup),
	    cmocka_unit_test_setup(test_foreign_responses, setup),
	    cmocka_unit_test_setup(test_reload, setup),
	    cmocka_unit_test_setup(test_reload_keeps_call_id, setup),
	    cmocka_unit_test_setup(test_registrar_moved_keeps_call_id, setup),
	    cmocka_unit_test_setup(test_reload_realms_reordered, setup),
	    cmocka_unit_test_setup(test_retry_after_honoured, setup),
	    cmocka_unit_test_setup(test_many_bindings_listed, setup),
	    cmocka_unit_test_setup(test_contact_compared_as_uri, setup),
	    cmocka_unit_test_setup_teardown(test_contact_unlisted_counted_and_logged, setup,
					    end_capture),
	    cmocka_unit_test_setup_teardown(test_unregister_removed, setup, end_capture),
	    cmocka_unit_test_setup_teardown(test_unregister_repointed, setup, end_capture),
	    cmocka_unit_test_setup_teardown(test_unregister_challenged, setup, end_capture),
	    cmocka_unit_test_setup_teardown(test_unregister_never_registered, setup, end_capture),
	    cmocka_unit_test_setup_teardown(test_unregister_undone, setup, end_capture),
	    cmocka_unit_test_setup_teardown(test_unregister_bounded, setup, end_capture),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
