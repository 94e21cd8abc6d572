/*
 * fuzz_exchange.h - what the exchange fuzzers (fuzz_relay, fuzz_controller)
 * share: splitting one input into datagrams, and the placeholders that put
 * values only the system under test knows (our tags, our branches) into them.
 *
 * An input is datagrams separated by the three bytes "\0\n\0". A placeholder
 * such as "@BRANCH@" is replaced, wherever it appears, by the current value
 * the fuzzer keeps for it, so that mutations reach past the identity checks.
 * Header-only: each fuzzer includes it once.
 */
#ifndef SIPSHARD_TESTS_FUZZ_EXCHANGE_H
#define SIPSHARD_TESTS_FUZZ_EXCHANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sipshard/sip.h"

/* A value learnt from what the system under test sent (a branch, a tag), to
 * put back through a placeholder. */
struct fuzz_token {
	char s[128];
	size_t len;
};

/* Keeps the view v of buf in t (left as it was when too long). */
static inline void fuzz_keep(struct fuzz_token *t, const char *buf, sip_view v)
{
	if (v.len < sizeof(t->s)) {
		memcpy(t->s, buf + v.off, v.len);
		t->len = v.len;
	}
}

struct fuzz_placeholder {
	const char *name; /* "@NAME@" */
	const char *value;
	size_t len;
};

/* Takes the next datagram off the input (data, size) into (dg, dglen) and moves
 * the input past it; false when none is left. */
static inline bool fuzz_next_datagram(const uint8_t **data, size_t *size, const uint8_t **dg,
				      size_t *dglen)
{
	static const uint8_t sep[3] = {0, '\n', 0};

	if (!*data)
		return false;
	const uint8_t *s = *size ? memmem(*data, *size, sep, sizeof(sep)) : NULL;
	*dg = *data;
	*dglen = s ? (size_t)(s - *data) : *size;
	if (s) {
		*size -= *dglen + sizeof(sep);
		*data = s + sizeof(sep);
	} else {
		*data = NULL; /* this was the last one */
		*size = 0;
	}
	return true;
}

/* Copies src into out (cap bytes) with every placeholder replaced; returns the
 * length written, cut at cap. */
static inline size_t fuzz_expand(const uint8_t *src, size_t len, char *out, size_t cap,
				 const struct fuzz_placeholder *ph, size_t nph)
{
	size_t n = 0;

	for (size_t i = 0; i < len;) {
		const struct fuzz_placeholder *hit = NULL;
		for (size_t k = 0; k < nph && !hit && src[i] == '@'; k++) {
			size_t nl = strlen(ph[k].name);
			if (len - i >= nl && memcmp(src + i, ph[k].name, nl) == 0)
				hit = &ph[k];
		}
		if (hit) {
			if (n + hit->len > cap)
				break;
			memcpy(out + n, hit->value, hit->len);
			n += hit->len;
			i += strlen(hit->name);
			continue;
		}
		if (n == cap)
			break;
		out[n++] = (char)src[i++];
	}
	return n;
}

#endif
