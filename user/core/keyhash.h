/*
 * keyhash.h - keyed hashing for tables whose keys come from the network.
 *
 * Owns: the mixer and the byte-string hash. A table indexed by a public hash
 * of what a peer sends (a Call-ID and tag, an address) can be aimed at: a
 * sender who computes the hash picks keys that all land in one bucket, and
 * every lookup then walks them all. Seeded per table from the kernel
 * (rng_seed), the bucket of a key cannot be computed off the host. Not
 * cryptographic: a defence against chosen collisions, not a MAC.
 * Does not own: the tables (controller.c, policy.c), the BPF steering hash
 * (sipshard/hash.h), which must be the same in the kernel and cannot be keyed
 * per process.
 */
#ifndef SIPSHARD_KEYHASH_H
#define SIPSHARD_KEYHASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* splitmix64's finaliser: a bijection of 64-bit words in which each input bit
 * moves each output bit with probability near 1/2. */
static inline uint64_t keyhash_mix(uint64_t x)
{
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	x ^= x >> 31;
	return x;
}

/* The hash of n bytes at p, continuing from h (a seed, or the hash of the key's
 * earlier parts): eight bytes a step, then the last ones with their count, so
 * that the parts "ab" + "c" and "a" + "bc" differ. */
static inline uint64_t keyhash_bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t w;

	for (; n >= 8; n -= 8, b += 8) {
		memcpy(&w, b, 8);
		h = keyhash_mix(h ^ w);
	}
	w = 0;
	if (n)
		memcpy(&w, b, n);
	return keyhash_mix(h ^ w ^ (uint64_t)n << 56);
}

#endif
