// SPDX-License-Identifier: GPL-2.0
/*
 * steer.bpf.c - sk_reuseport program that sends each SIP/UDP datagram to the
 * worker socket owning its Call-ID (invariant 1 of DESIGN.md).
 *
 * Owns: reading the first STEER_SCAN_MAX payload bytes, running the shared
 * scanner of sipshard/steer.h over them, bucket -> worker lookup, socket
 * selection, and per-reason / per-worker counters. Does not own: the maps'
 * contents (userspace fills steer_socks and steer_buckets, user/steer/) or
 * what happens when no socket is selected: every path returns SK_PASS, so a
 * datagram the program cannot place gets the kernel's default reuseport
 * choice and the worker hands it over in userspace (invariant 6). Nothing is
 * ever dropped here (an empty datagram is counted here and dropped by the
 * chosen socket's filter, user/net/udp.c).
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>

#include "sipshard/hash.h"
#include "sipshard/steer.h"

struct {
	__uint(type, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY);
	__uint(max_entries, SHARD_MAX_WORKERS);
	__type(key, __u32);
	__type(value, __u64);
} steer_socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SHARD_NBUCKETS);
	__type(key, __u32);
	__type(value, __u32);
} steer_buckets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STEER_CNT_NR);
	__type(key, __u32);
	__type(value, __u64);
} steer_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SHARD_MAX_WORKERS);
	__type(key, __u32);
	__type(value, __u64);
} steer_wcounts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct steer_last);
} steer_last SEC(".maps");

/* The window does not fit the 512-byte BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct steer_scratch);
} steer_scratch SEC(".maps");

struct scan_ctx {
	struct steer_scratch *scratch;
	struct steer_scan st;
};

static __always_inline void count(__u32 reason)
{
	__u64 *v = bpf_map_lookup_elem(&steer_counts, &reason);

	if (v)
		*v += 1; /* per-CPU slot: no atomics needed */
}

static __always_inline void record(__u32 reason, __u32 found, __u32 hash, __u32 worker)
{
	__u32 zero = 0;
	struct steer_last *l = bpf_map_lookup_elem(&steer_last, &zero);

	count(reason);
	if (!l)
		return;
	l->ns = bpf_ktime_get_ns();
	l->hash = hash;
	l->found = found;
	l->reason = reason;
	l->worker = worker;
}

/* bpf_loop body: one byte per call, so the verifier checks it once whatever
 * STEER_SCAN_MAX is. Returns 1 to stop the loop. */
static long scan_byte(__u32 index, void *data)
{
	struct scan_ctx *c = data;

	if (index >= STEER_SCAN_MAX)
		return 1;
	return steer_scan_step(&c->st, c->scratch->buf[index & (STEER_SCAN_MAX - 1)]);
}

SEC("sk_reuseport")
int steer_select(struct sk_reuseport_md *ctx)
{
	struct scan_ctx c;
	__u32 zero = 0, payload, bucket, worker;
	__u64 n;
	__u32 *slot;
	__u64 *wc;

	if (ctx->ip_protocol != IPPROTO_UDP) {
		record(STEER_CNT_NOT_UDP, 0, 0, 0);
		return SK_PASS;
	}
	payload = ctx->len;
	if (payload <= STEER_UDP_HDR) {
		record(STEER_CNT_EMPTY, 0, 0, 0);
		return SK_PASS;
	}
	if (payload < STEER_UDP_HDR + STEER_MIN_PAYLOAD) {
		record(STEER_CNT_TOO_SHORT, 0, 0, 0);
		return SK_PASS;
	}
	payload -= STEER_UDP_HDR;

	c.scratch = bpf_map_lookup_elem(&steer_scratch, &zero);
	if (!c.scratch) {
		record(STEER_CNT_LOAD_FAILED, 0, 0, 0);
		return SK_PASS;
	}
	/* 64-bit and re-checked after an optimisation barrier: clang 14 would
	 * otherwise compare a zero-extended copy and pass the unbounded
	 * original register as the length, which the verifier rejects. */
	n = payload;
	asm volatile("" : "+r"(n));
	if (n > STEER_SCAN_MAX)
		n = STEER_SCAN_MAX;
	asm volatile("" : "+r"(n));
	if (n < STEER_MIN_PAYLOAD || n > STEER_SCAN_MAX) {
		record(STEER_CNT_LOAD_FAILED, 0, 0, 0);
		return SK_PASS;
	}
	if (bpf_skb_load_bytes(ctx, STEER_UDP_HDR, c.scratch->buf, n) < 0) {
		record(STEER_CNT_LOAD_FAILED, 0, 0, 0);
		return SK_PASS;
	}

	steer_scan_init(&c.st);
	bpf_loop(n, scan_byte, &c, 0);
	if (!steer_scan_finish(&c.st, payload <= STEER_SCAN_MAX)) {
		record(STEER_CNT_NO_CALLID, 0, 0, 0);
		return SK_PASS;
	}

	bucket = shard_bucket_of(c.st.hash);
	slot = bpf_map_lookup_elem(&steer_buckets, &bucket);
	if (!slot) {
		record(STEER_CNT_SELECT_FAILED, 1, c.st.hash, 0);
		return SK_PASS;
	}
	worker = *slot;
	if (bpf_sk_select_reuseport(ctx, &steer_socks, &worker, 0) < 0) {
		record(STEER_CNT_SELECT_FAILED, 1, c.st.hash, worker);
		return SK_PASS;
	}
	wc = bpf_map_lookup_elem(&steer_wcounts, &worker);
	if (wc)
		*wc += 1;
	record(STEER_CNT_STEERED, 1, c.st.hash, worker);
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
