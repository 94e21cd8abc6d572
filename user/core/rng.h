/*
 * rng.h - the one pseudo-random generator of sipshard (xorshift64*).
 *
 * Owns: the step and the seed. Used for what must not repeat and should not
 * be guessable by an off-path peer: transaction salts, leg-B Call-IDs and
 * tags, the load generator's mixes. Not for secrets: it is not cryptographic.
 * Each user keeps its own state (a context field), so nothing here is shared.
 */
#ifndef SIPSHARD_RNG_H
#define SIPSHARD_RNG_H

#include <stdint.h>
#include <sys/random.h>
#include <time.h>

/* The next number; the state must not be 0 (rng_seed never returns 0). */
static inline uint64_t rng_next(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * UINT64_C(2685821657736338717);
}

/* A seed from the kernel; when getrandom cannot give one without blocking
 * (early boot), the clock mixed with salt, the caller's address or index. */
static inline uint64_t rng_seed(uint64_t salt)
{
	uint64_t s = 0;

	if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != (ssize_t)sizeof(s)) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		s = (uint64_t)ts.tv_nsec * UINT64_C(0x9e3779b97f4a7c15) ^ (uint64_t)ts.tv_sec ^
		    salt;
	}
	return s ? s : UINT64_C(0x9e3779b97f4a7c15);
}

#endif
