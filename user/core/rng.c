/*
 * rng.c - rng_secure (rng.h): its per-thread ChaCha20 pool, defined once so
 * that every file of a thread draws from the same pool and key.
 */
#include "core/rng.h"

#include <stdbool.h>
#include <string.h>

#include <nettle/chacha.h>

uint64_t rng_secure(void)
{
	static _Thread_local struct chacha_ctx ctx;
	static _Thread_local uint64_t pool[RNG_SECURE_WORDS];
	static _Thread_local unsigned left;
	static _Thread_local bool keyed;
	static _Thread_local uint64_t fallback;

	if (!left) {
		if (!keyed) {
			uint64_t key[CHACHA_KEY_SIZE / 8];
			static const uint8_t nonce[CHACHA_NONCE_SIZE];
			keyed = getrandom(key, sizeof(key), GRND_NONBLOCK) == (ssize_t)sizeof(key);
			if (!keyed) {
				if (!fallback)
					fallback = rng_seed((uint64_t)(uintptr_t)&left);
				for (unsigned i = 0; i < CHACHA_KEY_SIZE / 8; i++)
					key[i] = rng_next(&fallback);
			}
			chacha_set_key(&ctx, (const uint8_t *)key);
			chacha_set_nonce(&ctx, nonce);
		}
		memset(pool, 0, sizeof(pool));
		chacha_crypt(&ctx, sizeof(pool), (uint8_t *)pool, (const uint8_t *)pool);
		left = RNG_SECURE_WORDS;
	}
	return pool[--left];
}
