/*
 * clock.h - the monotonic millisecond clock every timer in sipshardd reads.
 *
 * Owns: nothing but the conversion; wall-clock times (CDRs) are not this.
 */
#ifndef SIPSHARD_CLOCK_H
#define SIPSHARD_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

#endif
