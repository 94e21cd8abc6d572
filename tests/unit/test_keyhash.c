/*
 * test_keyhash.c - keyed hashing (core/keyhash.h): keys a sender chose to
 * share one bucket of a public hash (FNV-1a, what the controller's leg-A
 * index used) spread over the buckets once the hash is keyed; the same key
 * lands elsewhere under another seed; where a key's parts end counts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/keyhash.h"
#include "core/rng.h"
#include "sipshard/hash.h"

enum { BUCKETS = 32769, CHOSEN = 200 }; /* the index of 16384 set-up records */

/* What a sender can compute: the unkeyed FNV-1a of Call-ID, 0, tag. */
static uint32_t public_hash(const char *call_id, const char *tag)
{
	uint32_t h = SHARD_FNV_OFFSET;
	for (const char *p = call_id; *p; p++)
		h = shard_hash_step(h, (uint8_t)*p);
	h = shard_hash_step(h, 0);
	for (const char *p = tag; *p; p++)
		h = shard_hash_step(h, (uint8_t)*p);
	return h;
}

static uint32_t keyed_bucket(uint64_t seed, const char *call_id, const char *tag)
{
	uint64_t h = keyhash_bytes(seed, call_id, strlen(call_id));
	return (uint32_t)keyhash_bytes(h, tag, strlen(tag)) % BUCKETS;
}

static char chosen[CHOSEN][32];

/* CHOSEN Call-IDs that all fall in bucket 0 of the public hash. */
static void choose_colliding_call_ids(void)
{
	unsigned found = 0;
	for (uint64_t i = 0; found < CHOSEN; i++) {
		char id[32];
		snprintf(id, sizeof(id), "%llx@192.0.2.66", (unsigned long long)i);
		if (public_hash(id, "t") % BUCKETS == 0)
			memcpy(chosen[found++], id, sizeof(id));
		assert_true(i < 100000000); /* about 6.6 million tries */
	}
}

static void test_chosen_collisions_spread(void **state)
{
	(void)state;
	static uint16_t count[BUCKETS];
	choose_colliding_call_ids();
	uint64_t seed = rng_seed(1);
	unsigned most = 0;
	for (unsigned i = 0; i < CHOSEN; i++) {
		uint32_t b = keyed_bucket(seed, chosen[i], "t");
		if (++count[b] > most)
			most = count[b];
	}
	/* 200 keys in 32769 buckets: two in one bucket happens (p about 0.45),
	 * four would be one chance in a few hundred thousand */
	assert_true(most <= 3);
}

static void test_seed_moves_keys(void **state)
{
	(void)state;
	uint64_t a = rng_seed(2), b = rng_seed(3);
	unsigned same = 0;
	assert_true(a != b);
	for (unsigned i = 0; i < 1000; i++) {
		char id[32];
		snprintf(id, sizeof(id), "call-%u@198.51.100.1", i);
		same += keyed_bucket(a, id, "tag") == keyed_bucket(b, id, "tag");
	}
	assert_true(same <= 3); /* expected 1000/32769 */
}

static void test_part_boundaries_count(void **state)
{
	(void)state;
	const uint64_t s = 42;
	uint64_t ab_c = keyhash_bytes(keyhash_bytes(s, "ab", 2), "c", 1);
	uint64_t a_bc = keyhash_bytes(keyhash_bytes(s, "a", 1), "bc", 2);
	assert_true(ab_c != a_bc);
	uint64_t word_empty = keyhash_bytes(keyhash_bytes(s, "abcdefgh", 8), "", 0);
	uint64_t seven_one = keyhash_bytes(keyhash_bytes(s, "abcdefg", 7), "h", 1);
	assert_true(word_empty != seven_one);
	/* a NUL byte is a byte: "abc" and "abc\0" differ */
	assert_true(keyhash_bytes(s, "abc", 3) != keyhash_bytes(s, "abc\0", 4));
	/* every prefix of a 40-byte key hashes apart, and each byte counts */
	static const char key[] = "0123456789abcdef0123456789abcdef01234567";
	uint64_t seen[41];
	for (size_t n = 0; n <= 40; n++) {
		seen[n] = keyhash_bytes(s, key, n);
		for (size_t j = 0; j < n; j++)
			assert_true(seen[j] != seen[n]);
	}
	char flip[41];
	memcpy(flip, key, sizeof(flip));
	for (size_t i = 0; i < 40; i++) {
		flip[i] ^= 1;
		assert_true(keyhash_bytes(s, flip, 40) != seen[40]);
		flip[i] ^= 1;
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_chosen_collisions_spread),
	    cmocka_unit_test(test_seed_moves_keys),
	    cmocka_unit_test(test_part_boundaries_count),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
