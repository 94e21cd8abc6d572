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

/* The earlier of two times (or the shorter of two intervals); UINT64_MAX
 * stands for "never" wherever a due time is kept. */
static inline uint64_t clock_earlier(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* The later of two times (a time out of service extended, never shortened). */
static inline uint64_t clock_later(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* Milliseconds from then to now, 0 when then is later: a time another
 * thread took after the reader took now (a worker's last activity read by
 * the controller) is not a negative age. */
static inline uint64_t clock_since(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

#endif
