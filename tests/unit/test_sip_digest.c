/*
 * test_sip_digest.c - sip_digest_challenge_parse() and sip_digest_answer()
 * (RFC 3261 22.4, RFC 7616, RFC 2617).
 *
 * Covers: the published examples of RFC 2617 (MD5, qop auth) and RFC 7616
 * (MD5 and SHA-256, qop auth), the form without qop (checked against a value
 * computed outside this project), challenge syntax (case, spacing, token and
 * quoted values, qop lists, stale, unknown parameters) and what is refused:
 * another scheme, unsupported algorithms and qop, escapes, missing or repeated
 * parameters, bad syntax, every prefix of a challenge, output too small; and
 * which of the two kinds of -ENOTSUP a refusal was (unsendable).
 * Every challenge is read from a heap buffer of exactly its size, so that the
 * ASan build catches reads past its end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sipshard/sip.h"

/* Parses text from an exact-size heap copy, kept in *copy for the views. */
static int parse_copy(const char *text, size_t len, struct sip_digest_challenge *ch, char **copy)
{
	*copy = malloc(len ? len : 1);
	assert_non_null(*copy);
	memcpy(*copy, text, len);
	return sip_digest_challenge_parse(*copy, (sip_view){0, (uint16_t)len}, ch);
}

static int parse(const char *text, struct sip_digest_challenge *ch, char **copy)
{
	return parse_copy(text, strlen(text), ch, copy);
}

static void assert_view(const char *buf, sip_view v, const char *want)
{
	assert_int_equal(v.len, strlen(want));
	assert_memory_equal(buf + v.off, want, v.len);
}

/* Answers text with the credentials and returns the response="..." value. */
static void answer_and_check(const char *text, const struct sip_digest_creds *cr,
			     const char *want_response, const char *want_alg)
{
	struct sip_digest_challenge ch;
	char *copy, out[1024], want[128];

	assert_int_equal(parse(text, &ch, &copy), 0);
	int n = sip_digest_answer(copy, &ch, cr, out, sizeof(out));
	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(out));
	snprintf(want, sizeof(want), "response=\"%s\"", want_response);
	assert_non_null(strstr(out, want));
	snprintf(want, sizeof(want), "algorithm=%s", want_alg);
	assert_non_null(strstr(out, want));
	snprintf(want, sizeof(want), "username=\"%s\"", cr->username);
	assert_true(strncmp(out, "Digest ", 7) == 0 && strstr(out, want));
	free(copy);
}

static void rfc2617_example(void **state)
{
	(void)state;
	const struct sip_digest_creds cr = {
	    .username = "Mufasa",
	    .password = "Circle Of Life",
	    .method = "GET",
	    .uri = "/dir/index.html",
	    .uri_len = 15,
	    .cnonce = "0a4f113b",
	    .nc = 1,
	};
	const char *text = "Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", "
			   "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", "
			   "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"";
	answer_and_check(text, &cr, "6629fae49393a05397450978507c4ef1", "MD5");

	struct sip_digest_challenge ch;
	char *copy, out[1024];
	assert_int_equal(parse(text, &ch, &copy), 0);
	assert_true(ch.qop_auth);
	assert_false(ch.stale);
	assert_view(copy, ch.realm, "testrealm@host.com");
	assert_view(copy, ch.nonce, "dcd98b7102dd2f0e8b11d0f600bfb0c093");
	assert_true(ch.has_opaque);
	assert_view(copy, ch.opaque, "5ccc069c403ebaf9f0171e9517f40e41");
	assert_true(sip_digest_answer(copy, &ch, &cr, out, sizeof(out)) > 0);
	assert_non_null(strstr(out, ", qop=auth, nc=00000001, cnonce=\"0a4f113b\""));
	assert_non_null(strstr(out, ", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""));
	assert_non_null(strstr(out, "uri=\"/dir/index.html\""));
	free(copy);
}

static const char rfc7616_md5[] =
    "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm=MD5, "
    "nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", "
    "opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";

static const struct sip_digest_creds rfc7616_creds = {
    .username = "Mufasa",
    .password = "Circle of Life",
    .method = "GET",
    .uri = "/dir/index.html",
    .uri_len = 15,
    .cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    .nc = 1,
};

static void rfc7616_md5_example(void **state)
{
	(void)state;
	answer_and_check(rfc7616_md5, &rfc7616_creds, "8ca523f5e9506fed4657c9700eebdbec", "MD5");
}

static void rfc7616_sha256_example(void **state)
{
	(void)state;
	const char *text =
	    "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm=SHA-256, "
	    "nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", "
	    "opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";
	answer_and_check(text, &rfc7616_creds,
			 "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
			 "SHA-256");
}

/* No qop: response = H(H(A1):nonce:H(A2)) (RFC 2617 3.2.2.1); the value was
 * computed with Python's hashlib. No cnonce or nc is sent then. */
static void without_qop(void **state)
{
	(void)state;
	const char *uri = "sip:+15551230000@127.0.0.1:5080";
	const struct sip_digest_creds cr = {
	    .username = "alice",
	    .password = "s3cret",
	    .method = "INVITE",
	    .uri = uri,
	    .uri_len = strlen(uri),
	};
	const char *text = "digest  NONCE=abc123 ,REALM = \"sipshard.test\"";
	answer_and_check(text, &cr, "488cc6a9ee0f97614cd5574973f490b6", "MD5");

	struct sip_digest_challenge ch;
	char *copy, out[512];
	assert_int_equal(parse(text, &ch, &copy), 0);
	assert_false(ch.qop_auth);
	assert_false(ch.has_opaque);
	assert_true(sip_digest_answer(copy, &ch, &cr, out, sizeof(out)) > 0);
	assert_null(strstr(out, "cnonce"));
	assert_null(strstr(out, "qop"));
	assert_null(strstr(out, "opaque"));
	free(copy);
}

static void challenge_fields(void **state)
{
	(void)state;
	struct sip_digest_challenge ch;
	char *copy;

	/* stale, a bare qop token, unknown and domain parameters */
	assert_int_equal(parse("Digest realm=\"r\",nonce=\"n\",stale=TRUE,qop=auth,"
			       "domain=\"sip:a.example\",x-ext=1",
			       &ch, &copy),
			 0);
	assert_true(ch.stale);
	assert_true(ch.qop_auth);
	assert_int_equal(ch.alg, SIP_DIGEST_MD5);
	free(copy);
	assert_int_equal(
	    parse("Digest realm=\"r\", nonce=\"n\", stale=false, algorithm=sha-256", &ch, &copy),
	    0);
	assert_false(ch.stale);
	assert_int_equal(ch.alg, SIP_DIGEST_SHA256);
	free(copy);
	/* an empty realm is a realm */
	assert_int_equal(parse("Digest realm=\"\", nonce=\"n\"", &ch, &copy), 0);
	assert_int_equal(ch.realm.len, 0);
	free(copy);
}

static void challenge_refused(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		int rc;
	} cases[] = {
	    {"Basic realm=\"r\"", -ENOTSUP},
	    {"Digest realm=\"r\", nonce=\"n\", algorithm=MD5-sess", -ENOTSUP},
	    {"Digest realm=\"r\", nonce=\"n\", algorithm=SHA-512-256", -ENOTSUP},
	    /* bytes that OR 0x20 folds onto '2', '5', '6': no algorithm name */
	    {"Digest realm=\"r\", nonce=\"n\", algorithm=\"SHA-\x12\x15\x16\"", -ENOTSUP},
	    {"Digest realm=\"r\", nonce=\"n\", algorithm=\"MD\x15\"", -ENOTSUP},
	    {"Digest realm=\"r\", nonce=\"n\", qop=\"auth-int\"", -ENOTSUP},
	    {"Digest realm=\"a\\\"b\", nonce=\"n\"", -ENOTSUP},
	    {"Digest realm=\"r\", nonce=\"n\\n\"", -ENOTSUP},
	    {"Digest realm=\"r\r\n x\", nonce=\"n\"", -ENOTSUP},
	    {"Digest realm=\"r\", nonce=\"n\", opaque=\"o\tp\"", -ENOTSUP},
	    {"Digest realm=\"r\"", -EINVAL},
	    {"Digest nonce=\"n\"", -EINVAL},
	    {"Digest realm=\"r\", realm=\"s\", nonce=\"n\"", -EINVAL},
	    {"Digest realm=\"r\", nonce=\"n\", nonce=\"m\"", -EINVAL},
	    {"Digest realm=\"r\" nonce=\"n\"", -EINVAL},
	    {"Digest realm=\"r\", nonce=\"n\",", -EINVAL},
	    {"Digest realm=\"r, nonce=\"n\"", -EINVAL},
	    {"Digest realm=, nonce=\"n\"", -EINVAL},
	    {"Digest realm \"r\", nonce=\"n\"", -EINVAL},
	    {"Digestrealm=\"r\", nonce=\"n\"", -ENOTSUP},
	    {"Digest", -EINVAL},
	    {"", -EINVAL},
	    {"Digest ,realm=\"r\", nonce=\"n\"", -EINVAL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sip_digest_challenge ch;
		char *copy;
		int rc = parse(cases[i].text, &ch, &copy);
		if (rc != cases[i].rc)
			fail_msg("%s: %d, expected %d", cases[i].text, rc, cases[i].rc);
		free(copy);
	}
}

/* A refusal says whether the challenge asked for something not answered
 * (scheme, algorithm, qop) or held bytes that cannot be sent back as they
 * came (an escape, a control byte): still -ENOTSUP both, and the first when
 * both hold. */
static void refusal_kind(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		bool unsendable;
	} cases[] = {
	    {"Basic realm=\"a\\\"b\"", false},
	    {"Digest realm=\"r\", nonce=\"n\", algorithm=MD5-sess", false},
	    {"Digest realm=\"r\", nonce=\"n\", qop=\"auth-int\"", false},
	    {"Digest realm=\"a\\\"b\", nonce=\"n\", algorithm=SHA-512-256", false},
	    {"Digest realm=\"a\\\"b\", nonce=\"n\"", true},
	    {"Digest realm=\"r\", nonce=\"n\\n\"", true},
	    {"Digest realm=\"r\r\n x\", nonce=\"n\"", true},
	    {"Digest realm=\"r\", nonce=\"n\", opaque=\"o\tp\"", true},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sip_digest_challenge ch;
		char *copy;
		assert_int_equal(parse(cases[i].text, &ch, &copy), -ENOTSUP);
		if (ch.unsendable != cases[i].unsendable)
			fail_msg("%s: unsendable %d", cases[i].text, ch.unsendable);
		free(copy);
	}
	/* and a challenge taken says nothing of the kind */
	struct sip_digest_challenge ch;
	char *copy;
	assert_int_equal(parse("Digest realm=\"r\", nonce=\"n\"", &ch, &copy), 0);
	assert_false(ch.unsendable);
	free(copy);
}

/* Every prefix of a challenge is read within its bytes, and none but the
 * whole is taken with its opaque. */
static void every_prefix(void **state)
{
	(void)state;
	size_t len = strlen(rfc7616_md5);
	for (size_t n = 0; n <= len; n++) {
		struct sip_digest_challenge ch;
		char *copy;
		int rc = parse_copy(rfc7616_md5, n, &ch, &copy);
		if (n == len)
			assert_int_equal(rc, 0);
		else
			assert_true(rc != 0 || !ch.has_opaque ||
				    ch.opaque.len <
					strlen("FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"));
		free(copy);
	}
}

static void answer_bounds(void **state)
{
	(void)state;
	struct sip_digest_challenge ch;
	char *copy, out[1024];

	assert_int_equal(parse(rfc7616_md5, &ch, &copy), 0);
	int full = sip_digest_answer(copy, &ch, &rfc7616_creds, out, sizeof(out));
	assert_true(full > 0);
	/* one byte short of the NUL: refused, never cut */
	assert_int_equal(sip_digest_answer(copy, &ch, &rfc7616_creds, out, (size_t)full), -ENOSPC);
	assert_int_equal(sip_digest_answer(copy, &ch, &rfc7616_creds, out, (size_t)full + 1), full);
	assert_int_equal(sip_digest_answer(copy, &ch, &rfc7616_creds, out, 10), -ENOSPC);
	/* a username that would break out of its quotes */
	struct sip_digest_creds bad = rfc7616_creds;
	bad.username = "a\"b";
	assert_int_equal(sip_digest_answer(copy, &ch, &bad, out, sizeof(out)), -EINVAL);
	bad.username = "a\r\nb";
	assert_int_equal(sip_digest_answer(copy, &ch, &bad, out, sizeof(out)), -EINVAL);
	free(copy);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(rfc2617_example),	      cmocka_unit_test(rfc7616_md5_example),
	    cmocka_unit_test(rfc7616_sha256_example), cmocka_unit_test(without_qop),
	    cmocka_unit_test(challenge_fields),	      cmocka_unit_test(challenge_refused),
	    cmocka_unit_test(every_prefix),	      cmocka_unit_test(answer_bounds),
	    cmocka_unit_test(refusal_kind),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
