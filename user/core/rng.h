/*
 * rng.h - sipshard's random numbers: xorshift64* and rng_secure (ChaCha20).
 *
 * Owns: the step and the seed, and rng_secure. xorshift64* is for what must
 * not repeat but may be guessed (the load generator's mixes, test data); it
 * must not make what an off-path peer would have to guess (branches, tags,
 * Call-IDs, salts): each output is its state times an odd constant, so the
 * low 32 bits of three outputs (a tag "ss%08x") are linear over GF(2) in the
 * state and give it whole, and with it every later output. Those come from
 * rng_secure. Each xorshift user keeps its own state (a context field).
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

/* A number an off-path peer cannot predict from the others it sees: the
 * keystream of ChaCha20 (nettle) under a key from the kernel's generator,
 * made RNG_SECURE_WORDS at a time into a pool of the calling thread
 * (user/core/rng.c: one pool per thread, not one per file that calls it). No
 * system call after the first: the workers draw a salt for each relayed
 * transaction. Before the kernel's pool is ready (early boot) the key comes
 * from xorshift64* seeded by rng_seed, and getrandom is asked again at each
 * refill until it answers. */
#define RNG_SECURE_WORDS 64 /* 512 bytes of keystream: 8 ChaCha blocks */
uint64_t rng_secure(void);

#endif
