// SPDX-License-Identifier: GPL-2.0
/*
 * steer.bpf.c - sk_reuseport program that sends each SIP/UDP datagram to the
 * worker socket owning its Call-ID (invariant 1 in README.md).
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
 *
 * Cost: bench/steer_bench measures the program's run time per datagram
 * (BPF statistics) beside a loopback datagram's trip with and without it.
 * The scan runs as bpf_loop calls of scan_steps, each passing over whole
 * lines or feeding a few bytes, so that a datagram costs a handful of calls
 * (one call a byte cost 3.5-4.6 times as much: README, "Call-ID steering"). The loops inside a call
 * are bound by what the verifier accepts quickly: it walks each bounded loop iteration by
 * iteration, and the program must load in well under a second (a daemon loads it at every start).
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

/* In one call of scan_steps, at most: the words a skipping scan reads, the
 * bytes fed one by one, the bytes of a Call-ID hashed. Larger, the verifier
 * walks more paths, and the datagram is no faster (SKIP_WORDS 32,
 * STEP_BYTES 2, VALUE_BYTES 32: 35k instructions, a 28-45 ms BPF_PROG_LOAD on
 * the 2-core test machine; 16 bytes a step: 140k, and no faster). */
#define SKIP_WORDS  32
#define STEP_BYTES  2
#define VALUE_BYTES 32

/* bpf_loop body, one kind of work a call: passes over the lines the scan
 * does not look into (up to SKIP_WORDS words of them); or takes a line that
 * starts "Call-ID:" whole; or hashes up to VALUE_BYTES bytes of the value;
 * or else feeds up to STEP_BYTES bytes one by one (a '\n', the first bytes
 * of a line that may matter, the white space before a value). Two kinds in
 * one call would have the verifier walk the second once for each way out
 * of the first. The scan's state and place live in the map value (struct
 * steer_scratch). Returns 1 to stop. */
static long scan_steps(__u32 index, void *data)
{
	struct steer_scratch *w = *(struct steer_scratch **)data;
	__u32 i = w->pos, n = w->n;

	(void)index;
	if (n > STEER_SCAN_MAX || i >= n)
		return 1;
	if (steer_scan_skipping(&w->st)) {
		if (i + 8 <= n && w->buf[i & (STEER_SCAN_MAX - 1)] != '\n') {
			/* a skip that moves on: at least the rest of this line */
			steer_scan_skip(&w->st, w->buf, &w->pos, n, SKIP_WORDS);
			return 0;
		}
		steer_scan_call_id_line(&w->st, w->buf, &w->pos, n);
		if (w->pos != i)
			return 0;
	}
	if (w->st.state == STEER_ST_VALUE) {
		steer_scan_value_run(&w->st, w->buf, &w->pos, n, VALUE_BYTES);
		return w->st.state == STEER_ST_FOUND;
	}
	for (int k = 0; k < STEP_BYTES; k++) {
		i = w->pos; /* read back: see steer_scan_skip */
		if (i >= n)
			return 1;
		w->pos = i + 1;
		if (steer_scan_step(&w->st, w->buf[i & (STEER_SCAN_MAX - 1)]))
			return 1;
		if (steer_scan_skipping(&w->st) ? k > 0 : w->st.state == STEER_ST_VALUE)
			break;
	}
	return 0;
}

SEC("sk_reuseport")
int steer_select(struct sk_reuseport_md *ctx)
{
	struct steer_scratch *w;
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

	w = bpf_map_lookup_elem(&steer_scratch, &zero);
	if (!w) {
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
	if (bpf_skb_load_bytes(ctx, STEER_UDP_HDR, w->buf, n) < 0) {
		record(STEER_CNT_LOAD_FAILED, 0, 0, 0);
		return SK_PASS;
	}

	steer_scan_init(&w->st);
	w->pos = 0;
	w->n = (__u32)n;
	/* each call feeds at least one byte; bpf_loop takes a pointer to
	 * the stack only */
	bpf_loop(n, scan_steps, &w, 0);
	if (!steer_scan_finish(&w->st, payload <= STEER_SCAN_MAX)) {
		record(STEER_CNT_NO_CALLID, 0, 0, 0);
		return SK_PASS;
	}

	bucket = shard_bucket_of(w->st.hash);
	slot = bpf_map_lookup_elem(&steer_buckets, &bucket);
	if (!slot) {
		record(STEER_CNT_SELECT_FAILED, 1, w->st.hash, 0);
		return SK_PASS;
	}
	worker = *slot;
	if (bpf_sk_select_reuseport(ctx, &steer_socks, &worker, 0) < 0) {
		record(STEER_CNT_SELECT_FAILED, 1, w->st.hash, worker);
		return SK_PASS;
	}
	wc = bpf_map_lookup_elem(&steer_wcounts, &worker);
	if (wc)
		*wc += 1;
	record(STEER_CNT_STEERED, 1, w->st.hash, worker);
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
