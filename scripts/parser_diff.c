/*
 * parser_diff.c - libFuzzer target that runs two builds of the SIP parser on the
 * same bytes and aborts when they disagree (scripts/parser-diff.sh builds it).
 *
 * Owns: the comparison. The reference build's symbols carry the prefix ref_
 * (objcopy --redefine-syms); the build under test keeps the real names. Both
 * parse into a message filled with the same garbage first, so a field one of
 * them forgets to set shows as a difference too. Compared: the return value,
 * the error text, every byte of the message's scalar part and of the used
 * part of each array, and sip_parse_uri and sip_parse_addr on the whole input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sipshard/sip.h"

int ref_sip_parse(struct sip_msg *m, const char *buf, size_t len, const struct sip_limits *lim);
int ref_sip_parse_uri(struct sip_uri *u, const char *buf, uint16_t off, uint16_t len);
int ref_sip_parse_addr(struct sip_addr *a, const char *buf, uint16_t off, uint16_t len);

static struct sip_msg ref_msg, new_msg;

#define SAME(cond)                                                                                 \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "parser_diff: builds disagree: %s\n", #cond);              \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define SAME_PREFIX(field, count)                                                                  \
	SAME(memcmp(ref_msg.field, new_msg.field, (size_t)(count) * sizeof(ref_msg.field[0])) == 0)

static void compare_uri_and_addr(const char *buf, size_t size)
{
	struct sip_uri ru, nu;
	struct sip_addr ra, na;
	uint16_t n = (uint16_t)size;

	memset(&ru, 0xA5, sizeof(ru));
	memset(&nu, 0xA5, sizeof(nu));
	SAME(ref_sip_parse_uri(&ru, buf, 0, n) == sip_parse_uri(&nu, buf, 0, n));
	SAME(memcmp(&ru, &nu, sizeof(ru)) == 0);
	memset(&ra, 0xA5, sizeof(ra));
	memset(&na, 0xA5, sizeof(na));
	SAME(ref_sip_parse_addr(&ra, buf, 0, n) == sip_parse_addr(&na, buf, 0, n));
	SAME(memcmp(&ra, &na, sizeof(ra)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > SIP_MAX_DATAGRAM)
		return 0;
	/* a copy of exactly size bytes, so that ASan sees any read past it */
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);

	memset(&ref_msg, 0xA5, sizeof(ref_msg));
	memset(&new_msg, 0xA5, sizeof(new_msg));
	int ref_rc = ref_sip_parse(&ref_msg, buf, size, NULL);
	int new_rc = sip_parse(&new_msg, buf, size, NULL);
	SAME(ref_rc == new_rc);
	SAME((ref_msg.err_reason == NULL) == (new_msg.err_reason == NULL));
	if (ref_msg.err_reason)
		SAME(strcmp(ref_msg.err_reason, new_msg.err_reason) == 0);
	ref_msg.err_reason = new_msg.err_reason = NULL; /* the texts live in each build */
	SAME(memcmp(&ref_msg, &new_msg, offsetof(struct sip_msg, hdrs)) == 0);
	SAME_PREFIX(hdrs, ref_msg.nhdrs);
	SAME_PREFIX(vias, ref_msg.nvias);
	SAME_PREFIX(routes, ref_msg.nroutes);
	SAME_PREFIX(record_routes, ref_msg.nrecord_routes);
	SAME_PREFIX(contacts, ref_msg.ncontacts);

	compare_uri_and_addr(buf, size);
	free(buf);
	return 0;
}
