/*
 * steer_ref.h - the steering scanner's rule, fed one byte at a time: the
 * reference the scanner's shortcuts (sipshard/steer.h: lines passed over
 * eight bytes at a time, the "Call-ID:" line and its value taken whole) must
 * agree with on every datagram. For tests and fuzz targets only.
 */
#ifndef SIPSHARD_TESTS_STEER_REF_H
#define SIPSHARD_TESTS_STEER_REF_H

#include <stddef.h>
#include <stdint.h>

#include "sipshard/steer.h"

/* As steer_callid_hash, but every byte of the window through
 * steer_scan_step. */
static inline int steer_ref_callid_hash(const char *buf, size_t len, uint32_t *hash)
{
	struct steer_scan st;
	size_t n = len < STEER_SCAN_MAX ? len : STEER_SCAN_MAX;

	if (!buf || len < STEER_MIN_PAYLOAD)
		return 0;
	steer_scan_init(&st);
	for (size_t i = 0; i < n; i++)
		if (steer_scan_step(&st, (uint8_t)buf[i]))
			break;
	if (!steer_scan_finish(&st, len <= STEER_SCAN_MAX))
		return 0;
	if (hash)
		*hash = st.hash;
	return 1;
}

#endif
