/*
 * same_parse.h - whether two struct sip_msg hold the same parse: the fields
 * before the arrays and the used prefix of each array (what sip.h calls a
 * parse; a failed parse may have begun an entry past a count). For the tests
 * and fuzzers of sip_msg_pack/unpack (test_sip_pack.c, fuzz_sip.c).
 * Header-only.
 */
#ifndef SIPSHARD_TESTS_SAME_PARSE_H
#define SIPSHARD_TESTS_SAME_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "sipshard/sip.h"

static inline bool test_same_parse(const struct sip_msg *a, const struct sip_msg *b)
{
	return memcmp(a, b, offsetof(struct sip_msg, hdrs)) == 0 &&
	       memcmp(a->hdrs, b->hdrs, a->nhdrs * sizeof(a->hdrs[0])) == 0 &&
	       memcmp(a->vias, b->vias, a->nvias * sizeof(a->vias[0])) == 0 &&
	       memcmp(a->routes, b->routes, a->nroutes * sizeof(a->routes[0])) == 0 &&
	       memcmp(a->record_routes, b->record_routes,
		      a->nrecord_routes * sizeof(a->record_routes[0])) == 0 &&
	       memcmp(a->contacts, b->contacts, a->ncontacts * sizeof(a->contacts[0])) == 0;
}

#endif
