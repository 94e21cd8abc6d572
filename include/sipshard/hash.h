/*
 * hash.h - the Call-ID hash that decides which shard owns a call.
 *
 * Shared by kern/steer.bpf.c and userspace (invariant 1 in README.md): the
 * shard of a datagram is bucket_table[shard_hash_callid(Call-ID) % SHARD_NBUCKETS].
 * The hashed bytes are the Call-ID value without leading white space, up to the
 * first CR, LF, SP or HTAB (a Call-ID holds none), and at most SHARD_CALLID_MAX
 * bytes. This file must compile both with clang -target bpf and in userspace,
 * so it uses only __u32/__u8 arithmetic and no library calls.
 */
#ifndef SIPSHARD_HASH_H
#define SIPSHARD_HASH_H

#include <linux/types.h>

#define SHARD_NBUCKETS	  256
#define SHARD_CALLID_MAX  128
#define SHARD_MAX_WORKERS 64

#define SHARD_FNV_OFFSET 2166136261u
#define SHARD_FNV_PRIME	 16777619u

/* One step of 32-bit FNV-1a. */
static inline __u32 shard_hash_step(__u32 h, __u8 c)
{
	return (h ^ c) * SHARD_FNV_PRIME;
}

/* True for a byte that ends the hashed part of a Call-ID value. */
static inline int shard_callid_end(__u8 c)
{
	return c == '\r' || c == '\n' || c == ' ' || c == '\t';
}

/* Hashes a Call-ID value as the BPF program does: p points at the first byte
 * after the header's colon (leading white space is skipped here). */
static inline __u32 shard_hash_callid(const char *p, __u32 len)
{
	__u32 h = SHARD_FNV_OFFSET;
	__u32 i = 0, n = 0;

	while (i < len && (p[i] == ' ' || p[i] == '\t'))
		i++;
	for (; i < len && n < SHARD_CALLID_MAX; i++, n++) {
		if (shard_callid_end((__u8)p[i]))
			break;
		h = shard_hash_step(h, (__u8)p[i]);
	}
	return h;
}

static inline __u32 shard_bucket_of(__u32 hash)
{
	return hash % SHARD_NBUCKETS;
}

#endif
