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
 * /metrics on an HTTP/1.x request line. Any violation abort()s.
 * Does not own: the management module itself (user/daemon/mgmt.c).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/mgmt.h"

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_mgmt: %s\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > MGMT_REQUEST_MAX + 1)
		return 0;
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
