/*
 * test_sip_pack.c - a parse handed to another thread (sip_msg_pack,
 * sip_msg_unpack): for every message of the seed corpus, valid or not, the
 * parse taken over is the parse made again, field for field, and gives the
 * same result; a parse cut short, with a byte too many, for a datagram of
 * another length or counting more than an array holds is refused; a buffer
 * too small is -ENOSPC.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../common/same_parse.h"
#include "sipshard/sip.h"

#define CORPUS "tests/data/corpus" /* the tests run from the repository's top */

/* Large: on the heap, zeroed, so that padding compares equal. */
struct fixture {
	struct sip_msg parsed, taken;
	char datagram[SIP_MAX_DATAGRAM];
	char packed[sizeof(struct sip_msg)];
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

static size_t read_file(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	size_t n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

static void test_every_corpus_parse_taken_over_whole(void **state)
{
	struct fixture *x = *state;
	DIR *dir = opendir(CORPUS);
	struct dirent *e;
	char path[512];
	unsigned files = 0, valid = 0;

	assert_non_null(dir);
	while ((e = readdir(dir)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", CORPUS, e->d_name);
		size_t len = read_file(path, x->datagram, sizeof(x->datagram));
		memset(&x->parsed, 0, sizeof(x->parsed));
		memset(&x->taken, 0, sizeof(x->taken));
		int rc = sip_parse(&x->parsed, x->datagram, len, NULL);
		int n = sip_msg_pack(&x->parsed, x->packed, sizeof(x->packed));
		assert_true(n > 0);
		assert_int_equal(sip_msg_unpack(&x->taken, x->datagram, len, x->packed, (size_t)n),
				 rc);
		if (!test_same_parse(&x->taken, &x->parsed))
			fail_msg("%s: the parse taken over differs from the parse", e->d_name);
		files++;
		valid += rc == 0;
	}
	closedir(dir);
	assert_true(files >= 30 && valid >= 15 && valid < files);
}

static const char bye[] = "BYE sip:bob@192.0.2.4 SIP/2.0\r\n"
			  "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\n"
			  "Via: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK2\r\n"
			  "Route: <sip:198.51.100.17;lr>\r\n"
			  "Max-Forwards: 70\r\n"
			  "From: <sip:alice@example.com>;tag=a1\r\n"
			  "To: <sip:bob@example.com>;tag=b1\r\n"
			  "Call-ID: c1@192.0.2.1\r\n"
			  "CSeq: 3 BYE\r\n"
			  "Content-Length: 0\r\n\r\n";

static void test_refused_parses(void **state)
{
	struct fixture *x = *state;
	size_t len = sizeof(bye) - 1;

	assert_int_equal(sip_parse(&x->parsed, bye, len, NULL), 0);
	int n = sip_msg_pack(&x->parsed, x->packed, sizeof(x->packed));
	assert_true(n > 0 && (size_t)n < sizeof(struct sip_msg) / 10);
	assert_int_equal(sip_msg_pack(&x->parsed, x->packed, (size_t)n - 1), -ENOSPC);
	for (int cut = 0; cut < n; cut++)
		assert_int_equal(sip_msg_unpack(&x->taken, bye, len, x->packed, (size_t)cut),
				 -EINVAL);
	assert_int_equal(sip_msg_unpack(&x->taken, bye, len, x->packed, (size_t)n + 1), -EINVAL);
	assert_int_equal(sip_msg_unpack(&x->taken, bye, len - 1, x->packed, (size_t)n), -EINVAL);
	/* more Vias than the array holds (the count sits in the fixed part) */
	uint8_t many = SIP_MAX_VIAS + 1;
	memcpy(x->packed + offsetof(struct sip_msg, nvias), &many, 1);
	assert_int_equal(sip_msg_unpack(&x->taken, bye, len, x->packed, (size_t)n), -EINVAL);
	/* the genuine one still goes through, pointing at the datagram given */
	n = sip_msg_pack(&x->parsed, x->packed, sizeof(x->packed));
	assert_int_equal(sip_msg_unpack(&x->taken, bye, len, x->packed, (size_t)n), 0);
	assert_ptr_equal(x->taken.buf, bye);
	assert_int_equal(x->taken.nvias, 2);
	assert_int_equal(x->taken.cseq.num, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_every_corpus_parse_taken_over_whole, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_refused_parses, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
