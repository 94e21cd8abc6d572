/*
 * test_credentials.c - which challenges of a 401 or 407 cred_answer answers
 * (daemon/credentials.c): of several in one response, each kind and realm
 * not answered yet, even after one already answered (RFC 7235 4.1, RFC 3261
 * 22.3), and a 407 that also carries WWW-Authenticate (a proxy's and a
 * server's challenges together: RFC 3261 16.7 item 7) answered with both an
 * Authorization and a Proxy-Authorization line in one retry. The digests
 * are checked by tests/common/digest_check.h, not by the code under test.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../common/digest_check.h"
#include "daemon/credentials.h"

static const char URI[] = "sip:bob@192.0.2.7:5060";
static struct sip_msg m;
static char resp[4096], sent[8192], lines[CRED_LINES_MAX];

static const struct config_auth *auth(void)
{
	static struct config_auth a;
	memset(&a, 0, sizeof(a));
	snprintf(a.username, sizeof(a.username), "alice");
	snprintf(a.password, sizeof(a.password), "secret");
	return &a;
}

/* Parses a response of status with these challenge lines into m. */
static void challenge(int status, const char *challenge_lines)
{
	int n = snprintf(resp, sizeof(resp),
			 "SIP/2.0 %d Unauthorized\r\n"
			 "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx\r\n"
			 "From: <sip:alice@a>;tag=1\r\nTo: <sip:bob@b>;tag=2\r\n"
			 "Call-ID: c\r\nCSeq: 1 INVITE\r\n%sContent-Length: 0\r\n\r\n",
			 status, challenge_lines);
	assert_true(n > 0 && (size_t)n < sizeof(resp));
	assert_int_equal(sip_parse(&m, resp, (size_t)n, NULL), 0);
}

/* The request as sent with these credentials lines, for the next answer. */
static struct cred_request request(const char *creds, size_t len)
{
	int n = snprintf(sent, sizeof(sent),
			 "INVITE %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKy\r\n"
			 "CSeq: 1 INVITE\r\n%.*sContent-Length: 0\r\n\r\n",
			 URI, (int)len, creds);
	return (struct cred_request){"INVITE", URI, strlen(URI), sent, (size_t)n};
}

/* Line `want` (0, 1) of lines (len bytes): its header name and value. */
static void line_of(const char *all, size_t len, unsigned want, char *name, size_t ncap,
		    char *value, size_t vcap)
{
	const char *p = all, *end = all + len;
	for (unsigned i = 0; i < want; i++) {
		p = memchr(p, '\n', (size_t)(end - p));
		assert_non_null(p);
		p++;
	}
	const char *colon = memchr(p, ':', (size_t)(end - p));
	const char *eol = memchr(p, '\r', (size_t)(end - p));
	assert_non_null(colon);
	assert_non_null(eol);
	snprintf(name, ncap, "%.*s", (int)(colon - p), p);
	snprintf(value, vcap, "%.*s", (int)(eol - colon - 2), colon + 2);
}

/* Line `want` of lines is name's, answers realm and nonce, with a digest
 * that checks, nc 00000001. */
static void assert_answers(const char *all, size_t len, unsigned want, const char *name,
			   const char *realm, const char *nonce)
{
	char n[64], v[CRED_LINE_MAX], got[128], cnonce[64], want_resp[33];
	line_of(all, len, want, n, sizeof(n), v, sizeof(v));
	assert_string_equal(n, name);
	test_credential_param(v, "realm", got, sizeof(got));
	assert_string_equal(got, realm);
	test_credential_param(v, "nonce", got, sizeof(got));
	assert_string_equal(got, nonce);
	test_credential_param(v, "nc", got, sizeof(got));
	assert_string_equal(got, "00000001");
	test_credential_param(v, "cnonce", cnonce, sizeof(cnonce));
	test_digest_response("alice", realm, "secret", "INVITE", URI, nonce, "00000001", cnonce,
			     want_resp);
	test_credential_param(v, "response", got, sizeof(got));
	assert_string_equal(got, want_resp);
}

static unsigned count_lines(const char *all, size_t len)
{
	unsigned n = 0;
	for (size_t i = 0; i < len; i++)
		n += all[i] == '\n';
	return n;
}

/* A 401 whose first challenge names the realm answered before (not stale)
 * and whose second a new one: the new one is answered, the first's line sent
 * again. It was refused: the first challenge was the only one looked at. */
static void test_new_realm_after_an_answered_one(void **state)
{
	(void)state;
	const char *why = NULL;
	struct cred_state st = {0};

	challenge(401, "WWW-Authenticate: Digest realm=\"one\", nonce=\"n1\", qop=\"auth\"\r\n");
	struct cred_request rq = request("", 0);
	int n = cred_answer(auth(), &m, &rq, &st, 1, lines, sizeof(lines), &why);
	assert_true(n > 0);
	assert_answers(lines, (size_t)n, 0, "Authorization", "one", "n1");

	static char first[CRED_LINES_MAX];
	memcpy(first, lines, (size_t)n);
	rq = request(first, (size_t)n);
	challenge(401, "WWW-Authenticate: Digest realm=\"one\", nonce=\"n2\", qop=\"auth\"\r\n"
		       "WWW-Authenticate: Digest realm=\"two\", nonce=\"n3\", qop=\"auth\"\r\n");
	n = cred_answer(auth(), &m, &rq, &st, 2, lines, sizeof(lines), &why);
	if (n < 0)
		fail_msg("refused: %s", why);
	assert_int_equal(count_lines(lines, (size_t)n), 2);
	assert_answers(lines, (size_t)n, 1, "Authorization", "two", "n3");
	char name[64], v[CRED_LINE_MAX], got[64];
	line_of(lines, (size_t)n, 0, name, sizeof(name), v, sizeof(v));
	test_credential_param(v, "nonce", got, sizeof(got));
	assert_string_equal(got, "n1"); /* the realm answered before: its line again */
	test_credential_param(v, "nc", got, sizeof(got));
	assert_string_equal(got, "00000002");

	/* the same again, both answered and neither stale: refused */
	memcpy(first, lines, (size_t)n);
	rq = request(first, (size_t)n);
	struct cred_state was = st;
	assert_int_equal(cred_answer(auth(), &m, &rq, &st, 3, lines, sizeof(lines), &why), -EACCES);
	assert_ptr_equal(why, cred_why_refused);
	assert_memory_equal(&st, &was, sizeof(st));
}

/* A 407 that carries a proxy's challenge and a WWW-Authenticate (a forked
 * 401 the proxy put with it) is answered with a Proxy-Authorization and an
 * Authorization line in one retry. It answered the proxy's alone, and the
 * callee's 401 came a round trip later. */
static void test_407_with_www_authenticate_answers_both(void **state)
{
	(void)state;
	const char *why = NULL;
	struct cred_state st = {0};

	challenge(407, "Proxy-Authenticate: Digest realm=\"proxy\", nonce=\"p1\", qop=\"auth\"\r\n"
		       "WWW-Authenticate: Digest realm=\"server\", nonce=\"s1\", qop=\"auth\"\r\n");
	struct cred_request rq = request("", 0);
	int n = cred_answer(auth(), &m, &rq, &st, 1, lines, sizeof(lines), &why);
	if (n < 0)
		fail_msg("refused: %s", why);
	assert_int_equal(count_lines(lines, (size_t)n), 2);
	assert_answers(lines, (size_t)n, 0, "Proxy-Authorization", "proxy", "p1");
	assert_answers(lines, (size_t)n, 1, "Authorization", "server", "s1");
	assert_true(cred_state_ok(&st));
	assert_true(st.a[0].proxy);
	assert_false(st.a[1].proxy);

	/* the server's nonce expired: its line afresh, the proxy's again */
	static char first[CRED_LINES_MAX];
	memcpy(first, lines, (size_t)n);
	rq = request(first, (size_t)n);
	challenge(401, "WWW-Authenticate: Digest realm=\"server\", nonce=\"s2\", qop=\"auth\", "
		       "stale=true\r\n");
	n = cred_answer(auth(), &m, &rq, &st, 2, lines, sizeof(lines), &why);
	if (n < 0)
		fail_msg("refused: %s", why);
	assert_int_equal(count_lines(lines, (size_t)n), 2);
	assert_answers(lines, (size_t)n, 1, "Authorization", "server", "s2");
	assert_true(cred_state_ok(&st));
}

/* One realm offered with MD5 and SHA-256: one line, SHA-256; a realm other
 * than the configured auth.realm is passed over for the one that is. */
static void test_one_line_per_realm(void **state)
{
	(void)state;
	const char *why = NULL;
	struct cred_state st = {0};
	struct config_auth a = *auth();

	challenge(401, "WWW-Authenticate: Digest realm=\"one\", nonce=\"n1\", qop=\"auth\"\r\n"
		       "WWW-Authenticate: Digest realm=\"one\", nonce=\"n2\", qop=\"auth\", "
		       "algorithm=SHA-256\r\n");
	struct cred_request rq = request("", 0);
	int n = cred_answer(&a, &m, &rq, &st, 1, lines, sizeof(lines), &why);
	assert_true(n > 0);
	assert_int_equal(count_lines(lines, (size_t)n), 1);
	assert_non_null(memmem(lines, (size_t)n, "algorithm=SHA-256", 17));

	snprintf(a.realm[0], sizeof(a.realm[0]), "two");
	a.nrealms = 1;
	st = (struct cred_state){0};
	challenge(401, "WWW-Authenticate: Digest realm=\"one\", nonce=\"n1\", qop=\"auth\"\r\n"
		       "WWW-Authenticate: Digest realm=\"two\", nonce=\"n3\", qop=\"auth\"\r\n");
	n = cred_answer(&a, &m, &rq, &st, 1, lines, sizeof(lines), &why);
	assert_true(n > 0);
	assert_int_equal(count_lines(lines, (size_t)n), 1);
	assert_answers(lines, (size_t)n, 0, "Authorization", "two", "n3");
}

/* auth.realm a list: a 407 of the proxy's realm carrying its server's 401
 * (RFC 3261 16.7 item 7) is answered in both, in order; a third realm is
 * passed over, and a challenge in none of the list's is not answered.
 * Before, auth.realm named one realm: an account that a proxy and the
 * server behind it challenge in two realms had to answer any realm. */
static void test_realm_list(void **state)
{
	(void)state;
	const char *why = NULL;
	struct cred_state st = {0};
	struct config_auth a = *auth();
	snprintf(a.realm[0], sizeof(a.realm[0]), "proxy.example");
	snprintf(a.realm[1], sizeof(a.realm[1]), "server.example");
	a.nrealms = 2;

	challenge(407, "Proxy-Authenticate: Digest realm=\"proxy.example\", nonce=\"p1\", "
		       "qop=\"auth\"\r\n"
		       "WWW-Authenticate: Digest realm=\"server.example\", nonce=\"s1\", "
		       "qop=\"auth\"\r\n"
		       "WWW-Authenticate: Digest realm=\"elsewhere.example\", nonce=\"e1\", "
		       "qop=\"auth\"\r\n");
	struct cred_request rq = request("", 0);
	int n = cred_answer(&a, &m, &rq, &st, 1, lines, sizeof(lines), &why);
	assert_true(n > 0);
	assert_int_equal(count_lines(lines, (size_t)n), 2);
	assert_answers(lines, (size_t)n, 0, "Proxy-Authorization", "proxy.example", "p1");
	assert_answers(lines, (size_t)n, 1, "Authorization", "server.example", "s1");
	assert_null(memmem(lines, (size_t)n, "elsewhere", 9));

	st = (struct cred_state){0};
	challenge(401, "WWW-Authenticate: Digest realm=\"elsewhere.example\", nonce=\"e2\", "
		       "qop=\"auth\"\r\n");
	why = NULL;
	assert_int_equal(cred_answer(&a, &m, &rq, &st, 1, lines, sizeof(lines), &why), -EACCES);
	assert_non_null(why);
	assert_non_null(strstr(why, "auth.realm"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_new_realm_after_an_answered_one),
	    cmocka_unit_test(test_407_with_www_authenticate_answers_both),
	    cmocka_unit_test(test_one_line_per_realm),
	    cmocka_unit_test(test_realm_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
