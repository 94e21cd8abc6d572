/*
 * digest_check.h - what a registrar or carrier computes to check sipshard's
 * digest credentials (RFC 7616 3.4.1, MD5, qop auth), composed here from
 * nettle's MD5 and not from the code under test; and the reading of one
 * parameter of a credentials line. For test_controller.c and test_register.c.
 * Header-only.
 */
#ifndef SIPSHARD_TESTS_DIGEST_CHECK_H
#define SIPSHARD_TESTS_DIGEST_CHECK_H

#include <stdio.h>
#include <string.h>

#include <nettle/md5.h>

static inline void test_md5_hex(const char *text, char hex[33])
{
	struct md5_ctx ctx;
	uint8_t d[MD5_DIGEST_SIZE];
	md5_init(&ctx);
	md5_update(&ctx, strlen(text), (const uint8_t *)text);
	md5_digest(&ctx, sizeof(d), d);
	for (int i = 0; i < MD5_DIGEST_SIZE; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

/* The response value for qop auth: H(H(A1):nonce:nc:cnonce:auth:H(A2)). */
static inline void test_digest_response(const char *user, const char *realm, const char *password,
					const char *method, const char *uri, const char *nonce,
					const char *nc, const char *cnonce, char out[33])
{
	char a1[512], a2[512], all[1024], ha1[33], ha2[33];
	snprintf(a1, sizeof(a1), "%s:%s:%s", user, realm, password);
	snprintf(a2, sizeof(a2), "%s:%s", method, uri);
	test_md5_hex(a1, ha1);
	test_md5_hex(a2, ha2);
	snprintf(all, sizeof(all), "%s:%s:%s:%s:auth:%s", ha1, nonce, nc, cnonce, ha2);
	test_md5_hex(all, out);
}

/* Parameter name's value (without quotes) in a credentials line's value
 * ("Digest a=\"x\", b=y"), or "" when absent. */
static inline void test_credential_param(const char *value, const char *name, char *out, size_t cap)
{
	char key[40];
	snprintf(key, sizeof(key), " %s=", name);
	const char *p = strstr(value, key);
	out[0] = '\0';
	if (!p)
		return;
	p += strlen(key);
	int quoted = *p == '"';
	p += quoted;
	size_t n = strcspn(p, quoted ? "\"" : ",");
	snprintf(out, cap, "%.*s", (int)n, p);
}

#endif
