/*
 * steer.h - loader for the sk_reuseport Call-ID steering program, and the
 * userspace twin of its scanner.
 *
 * Owns: loading kern/steer.bpf.c (through its bpftool skeleton), filling its
 * socket and bucket maps, attaching it to a SO_REUSEPORT group, moving
 * buckets, reading its counters; and steer_callid_hash() /
 * steer_bucket_of_datagram(), which find the Call-ID of a datagram exactly
 * as the BPF program does (same code: sipshard/steer.h), so that a worker
 * can compute a datagram's owner without BPF (the fallback handoff path);
 * and steer_callid_for_bucket(), which makes a Call-ID that lands in a given
 * bucket (leg B's, invariant 1 in README.md).
 * Does not own: the worker sockets (the caller creates, binds and closes
 * them) or the policy that decides which worker owns a bucket.
 *
 * All functions but the pure scanners return 0 or a negative errno; when one
 * fails, steer_error() holds a sentence saying why (for the daemon's log
 * before it falls back to userspace handoff). None is meant for the fast
 * path except the scanners, which neither allocate nor make syscalls.
 */
#ifndef SIPSHARD_USER_STEER_H
#define SIPSHARD_USER_STEER_H

#include <stddef.h>
#include <stdint.h>

#include "sipshard/hash.h"
#include "sipshard/steer.h"

struct steer_ctx;

/* Counters summed over all CPUs. */
struct steer_counters {
	uint64_t reason[STEER_CNT_NR];	    /* indexed by enum steer_counter */
	uint64_t worker[SHARD_MAX_WORKERS]; /* datagrams steered to each worker */
};

/* Loads the program and its maps into the kernel; nothing is attached yet.
 * On failure *out is NULL, the return is a negative errno (-EPERM without
 * CAP_BPF, or without CAP_PERFMON, which is checked before the kernel's
 * verifier is asked: it would spend seconds and give up with -E2BIG) and, if
 * err is not NULL, err holds why. */
int steer_open(struct steer_ctx **out, char *err, size_t errlen);

/* Puts fds[i] (a bound SO_REUSEPORT UDP socket of one group) in worker slot
 * i, sets bucket b -> worker b % nworkers, then attaches the program to the
 * group through fds[0]. 1 <= nworkers <= SHARD_MAX_WORKERS. Tables are
 * filled before attaching, so the program never sees an empty table. The
 * sockets stay owned by the caller; closing one empties its slot in the
 * kernel (its buckets then count as select_failed and get the default
 * choice). Attaching again replaces the previous program on the group. */
int steer_attach(struct steer_ctx *s, const int *fds, unsigned nworkers);

/* Routes bucket (< SHARD_NBUCKETS) to worker (< the nworkers attached). One
 * atomic 4-byte map write: datagrams switch owner from the next one on. */
int steer_set_bucket(struct steer_ctx *s, unsigned bucket, unsigned worker);

/* Reads the bucket -> worker table (SHARD_NBUCKETS entries) from the kernel. */
int steer_get_buckets(struct steer_ctx *s, uint32_t table[SHARD_NBUCKETS]);

/* Sums the per-CPU counters. */
int steer_read_counters(struct steer_ctx *s, struct steer_counters *out);

/* The newest per-CPU steer_last record (what the program decided for the
 * last datagram it scanned, on any CPU); out->ns == 0 if none yet. For
 * tests and debugging. */
int steer_read_last(struct steer_ctx *s, struct steer_last *out);

/* The kernel's count of the program's runs and their summed run time (ns):
 * both stay 0 unless BPF run-time statistics are on (bpf_enable_stats, or
 * the sysctl kernel.bpf_stats_enabled), which cost a clock read per run. */
int steer_read_run_time(struct steer_ctx *s, uint64_t *run_ns, uint64_t *runs);

/* Detaches the program from the group it was attached to (through the fds[0]
 * given to steer_attach, which must still be open). */
int steer_detach(struct steer_ctx *s);

/* Why the last failing call on s failed ("" if none). */
const char *steer_error(const struct steer_ctx *s);

/* Frees the context and unloads the program's fds. Does not touch the
 * sockets: a program still attached stays attached to the group (the kernel
 * holds it) until steer_detach() or until the group's sockets close. */
void steer_close(struct steer_ctx *s);

/* Finds the Call-ID in a UDP payload as the BPF program does (first
 * STEER_SCAN_MAX bytes, header at a line start, see sipshard/steer.h).
 * Returns 1 and sets *hash to shard_hash_callid() of it, or 0 if the BPF
 * program would find none (including payloads shorter than
 * STEER_MIN_PAYLOAD). */
int steer_callid_hash(const char *buf, size_t len, uint32_t *hash);

/* shard_bucket_of(hash) of the datagram's Call-ID; *found (may be NULL) is
 * set to 1 if there was one, else 0 and the return is 0. */
unsigned steer_bucket_of_datagram(const char *buf, size_t len, int *found);

/* Writes into out a NUL-terminated Call-ID of 16 lower-case hex digits then
 * suffix, whose shard_hash_callid() falls in bucket: the first 13 digits come
 * from rnd, the last 3 are chosen. Returns its length, or -EINVAL for a
 * bucket out of range, a suffix holding a byte that ends a Call-ID (CR, LF,
 * SP, HTAB) or too long to be hashed whole, or an out too small. */
int steer_callid_for_bucket(char *out, size_t cap, uint64_t rnd, uint32_t bucket,
			    const char *suffix);

#endif
