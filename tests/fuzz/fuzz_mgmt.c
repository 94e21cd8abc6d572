/*
 * fuzz_mgmt.c - libFuzzer target for the management interfaces' parsing: the
 * request framing of the Unix socket and of the HTTP metrics endpoint (which
 * may face a network), and the status an HTTP head gets.
 *
 * Owns: the properties every byte stream must keep. The first byte picks the
 * format (odd: HTTP). mgmt_request_end finds a request only within the bytes
 * given, finds the same one however many bytes follow it (the stream may
 * arrive in pieces, or with more behind), and finds none in any shorter
 * prefix; an HTTP head gets 200, 400, 404 or 405, and 200 only for a GET of
 * /metrics on an HTTP/1.x request line.
 * A first byte with its top bit set makes the rest a configuration document
 * (what an operator writes, and what sipshardctl reload loads): it loads or
 * is refused with one line in err that leaves the configuration as it was;
 * one that loads prints (config_to_json, what --check-config shows) as a
 * document that loads again and prints the same (config.h says so). No name
 * is resolved here: getaddrinfo and the SRV query below fail as a host
 * without DNS does. Any violation abort()s.
 * Does not own: the management module itself (user/daemon/mgmt.c), the
 * configuration's meaning (user/ctl/config.c, test_config.c).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netdb.h>
#include <resolv.h>

#include "ctl/config.h"
#include "daemon/mgmt.h"

/* Names resolve nowhere: a fuzzer must not ask the network. */
int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		struct addrinfo **res)
{
	(void)node;
	(void)service;
	(void)hints;
	*res = NULL;
	return EAI_NONAME;
}

int res_ninit(res_state statp)
{
	(void)statp;
	return -1;
}

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_mgmt: %s\n", what);
		abort();
	}
}

/* Each 237 KiB: static, and compared or cleared rather than copied, so that
 * a document costs little more than its loads. cfg is all zeros between
 * inputs. */
static struct config cfg, cfg_again, zeros;

/* A configuration document: loaded, or refused leaving cfg as it was; one
 * loaded prints as a document that loads to what prints the same. */
static void check_config(const char *doc)
{
	char err[512];

	memset(err, 0, sizeof(err));
	if (config_load_string(&cfg, doc, err, sizeof(err)) != 0) {
		check(err[0] && !memchr(err, '\n', strlen(err)),
		      "a refused configuration without one line saying why");
		check(!memcmp(&cfg, &zeros, sizeof(cfg)),
		      "a refused configuration changed the one in force");
		return;
	}
	char *j1 = config_to_json(&cfg);
	check(j1 != NULL, "config_to_json failed");
	int rc = config_load_string(&cfg_again, j1, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "--- printed:\n%s\n--- reloading it: %s\n", j1, err);
	check(rc == 0, "a configuration printed does not load again");
	char *j2 = config_to_json(&cfg_again);
	check(j2 != NULL, "config_to_json failed");
	if (strcmp(j1, j2))
		fprintf(stderr, "--- printed:\n%s\n--- reloaded, printed:\n%s\n", j1, j2);
	check(strcmp(j1, j2) == 0, "a configuration printed loads as another");
	free(j1);
	free(j2);
	memset(&cfg, 0, sizeof(cfg));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > MGMT_REQUEST_MAX + 1)
		return 0;
	if (data[0] & 0x80) {
		/* a NUL-terminated copy: the loader takes a C string */
		char *doc = malloc(size);
		memcpy(doc, data + 1, size - 1);
		doc[size - 1] = '\0';
		check_config(doc);
		free(doc);
		return 0;
	}
	bool http = data[0] & 1;
	/* a copy of exactly the bytes, so that ASan sees any read past them */
	size_t len = size - 1;
	char *buf = malloc(len ? len : 1);
	memcpy(buf, data + 1, len);

	bool found;
	size_t end = mgmt_request_end(buf, len, http, &found);
	check(!found || end <= len, "request end past the bytes");
	if (found) {
		/* the terminator is part of what was received */
		size_t term = http ? (buf[end] == '\n' ? 1 : 2) : 1;
		check(end + term <= len, "terminator past the bytes");
		/* a prefix that stops before the terminator holds no request */
		bool f2;
		mgmt_request_end(buf, end + term - 1, http, &f2);
		check(!f2, "a request found before its terminator");
		/* bytes after it do not move it */
		size_t e3 = mgmt_request_end(buf, len, http, &f2);
		check(f2 && e3 == end, "request end not stable");
		if (http) {
			int st = mgmt_http_status(buf, end);
			check(st == 200 || st == 400 || st == 404 || st == 405, "unknown status");
			if (st == 200)
				check(end >= 22 && memcmp(buf, "GET /metrics", 12) == 0 &&
					  memmem(buf, end, " HTTP/1.", 8) != NULL,
				      "200 for something else than GET /metrics");
		}
	}
	free(buf);
	return 0;
}
